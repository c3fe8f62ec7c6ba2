# cortex-emu's Python harness: runs once per worker interpreter.
# It provides the sandbox's small `os`, an `open` that reads the tool's own files, an import hook
# for the tool's sibling modules, and `_cortex_run`, which runs one job and returns a tuple.
import sys
import builtins
import _io

# Without host access RustPython's _io has no FileIO (and possibly other file classes); io.py
# imports them by name, so stand-ins that refuse to open host files take their place.
for _missing in ("FileIO", "BufferedReader", "BufferedWriter", "BufferedRWPair", "BufferedRandom",
                 "TextIOWrapper", "open_code"):
    if not hasattr(_io, _missing):
        def _refuse(*args, **kwargs):
            raise PermissionError(1, "Operation not permitted: host files are not available in the sandbox")
        if _missing == "open_code":
            _io.open_code = _refuse
        else:
            setattr(_io, _missing, type(_missing, (getattr(_io, "_RawIOBase", object),), {"__init__": _refuse}))
import io
import json
import time
import types
import json.encoder as _json_encoder

# RustPython has no C encoder and no cycle collector: pure-Python json.dumps builds nested
# closures that point at each other (_iterencode -> _iterencode_dict -> _iterencode), so every
# call leaked ~36 objects for good. Once encoding ends, the cells are emptied, breaking the cycle.
_make_iterencode = _json_encoder._make_iterencode


def _forget_closures(f, seen):
    if id(f) in seen or getattr(f, "__closure__", None) is None:
        return
    seen.add(id(f))
    for cell in f.__closure__:
        try:
            value = cell.cell_contents
        except ValueError:
            continue
        if callable(value) and getattr(value, "__closure__", None) is not None:
            _forget_closures(value, seen)
        cell.cell_contents = None


def _make_iterencode_without_cycles(*args, **kwargs):
    encode = _make_iterencode(*args, **kwargs)

    def iterencode(o, level):
        try:
            yield from encode(o, level)
        finally:
            _forget_closures(encode, set())
    return iterencode


_json_encoder._make_iterencode = _make_iterencode_without_cycles

_TOOL_ROOT = "/var/task"
_RECURSION_LIMIT = sys.getrecursionlimit()
_files = {}        # the current run's bundle: relative path -> text
_scratch = {}      # files the current run wrote (wiped after the run)
_code_cache = {}   # code hash -> {"main": code or exception, "modules": {name: (code, is_pkg, filename)}}
_tool_module_names = set()
_random_bytes = globals().get("_host_random_bytes")  # native urandom from the host


def _rel(path):
    import posixpath
    if isinstance(path, bytes):
        path = path.decode()
    path = _os.fspath(path)
    if path.startswith(_TOOL_ROOT + "/"):
        path = path[len(_TOOL_ROOT) + 1:]
    elif path.startswith("/"):
        path = path[1:]
    path = posixpath.normpath(path)
    return "" if path == "." else path


class _StatResult:
    def __init__(self, mode, size):
        self.st_mode = mode
        self.st_size = size
        self.st_mtime = 0.0
        self.st_atime = 0.0
        self.st_ctime = 0.0
        self.st_uid = 0
        self.st_gid = 0
        self.st_nlink = 1
        self.st_ino = 0
        self.st_dev = 0


def _all_files():
    merged = dict(_files)
    merged.update(_scratch)
    return merged


def _is_dir(rel):
    if rel == "":
        return True
    prefix = rel + "/"
    return any(p.startswith(prefix) for p in _all_files())


def _stat(path, *args, **kwargs):
    rel = _rel(path)
    files = _all_files()
    if rel in files:
        return _StatResult(0o100444, len(files[rel].encode()))
    if _is_dir(rel):
        return _StatResult(0o040555, 0)
    raise FileNotFoundError(2, "No such file or directory", path)


def _listdir(path="."):
    rel = _rel(path)
    if not _is_dir(rel):
        raise FileNotFoundError(2, "No such file or directory", path)
    prefix = "" if rel == "" else rel + "/"
    names = set()
    for p in _all_files():
        if p.startswith(prefix):
            names.add(p[len(prefix):].split("/")[0])
    return sorted(names)


def _fspath(p):
    if isinstance(p, (str, bytes)):
        return p
    f = getattr(type(p), "__fspath__", None)
    if f is None:
        raise TypeError("expected str, bytes or os.PathLike object, not " + type(p).__name__)
    return f(p)


def _urandom(n):
    return _random_bytes(n)


def _unsupported(name):
    def f(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted: os.%s is not available in the sandbox" % name)
    f.__name__ = name
    return f


_os = types.ModuleType("os")
_os.__file__ = "<cortex-emu sandbox>"
_os.environ = {}
_os.name = "posix"
_os.sep = "/"
_os.altsep = None
_os.curdir = "."
_os.pardir = ".."
_os.extsep = "."
_os.pathsep = ":"
_os.linesep = "\n"
_os.defpath = "/bin:/usr/bin"
_os.devnull = "/dev/null"
_os.supports_bytes_environ = False
_os.getenv = lambda key, default=None: _os.environ.get(key, default)
_os.fspath = _fspath
_os.fsencode = lambda p: _fspath(p).encode() if isinstance(_fspath(p), str) else _fspath(p)
_os.fsdecode = lambda p: _fspath(p).decode() if isinstance(_fspath(p), bytes) else _fspath(p)
_os.urandom = _urandom
_os.getcwd = lambda: _TOOL_ROOT
_os.getpid = lambda: 1
_os.cpu_count = lambda: 2
_os.stat = _stat
_os.stat_result = _StatResult
_os.lstat = _stat
_os.listdir = _listdir
_os.error = OSError
_os.register_at_fork = lambda **kwargs: None
for _name in ("system", "popen", "remove", "unlink", "rmdir", "mkdir", "makedirs", "rename", "chdir",
              "kill", "execv", "execve", "spawnv", "putenv", "unsetenv", "chmod", "walk", "scandir",
              "open", "close", "read", "write", "fstat", "readlink", "link", "symlink", "utime",
              "chown", "lchown", "access", "lseek", "dup", "dup2", "pipe", "fork", "waitpid",
              "truncate", "ftruncate", "fsync", "replace", "removedirs", "renames", "chroot",
              "fchmod", "fchown", "mkfifo", "mknod", "killpg", "setsid", "getpgid", "nice",
              "get_terminal_size", "statvfs", "fdopen", "isatty", "ttyname", "openpty",
              "sendfile", "copy_file_range", "posix_spawn", "posix_spawnp", "execvp", "execvpe",
              "execl", "execlp", "spawnl", "wait", "wait3", "wait4", "waitstatus_to_exitcode",
              "WIFEXITED", "WEXITSTATUS", "WIFSIGNALED", "WTERMSIG", "WIFSTOPPED", "WSTOPSIG"):
    setattr(_os, _name, _unsupported(_name))
# Constants and capability sets that standard modules (tempfile, shutil, pathlib, subprocess)
# read when they are imported; the calls behind them are refused above.
for _name, _value in dict(
        O_RDONLY=0, O_WRONLY=1, O_RDWR=2, O_CREAT=64, O_EXCL=128, O_NOCTTY=256, O_TRUNC=512,
        O_APPEND=1024, O_NONBLOCK=2048, O_DSYNC=4096, O_SYNC=1052672, O_DIRECTORY=65536,
        O_NOFOLLOW=131072, O_CLOEXEC=524288, O_ACCMODE=3, F_OK=0, R_OK=4, W_OK=2, X_OK=1,
        SEEK_SET=0, SEEK_CUR=1, SEEK_END=2, EX_OK=0, WNOHANG=1, P_NOWAIT=1, P_WAIT=0,
        ST_RDONLY=1).items():
    setattr(_os, _name, _value)
_os.supports_fd = set()
_os.supports_dir_fd = set()
_os.supports_follow_symlinks = set()
_os.supports_effective_ids = set()
_os._have_functions = []
_os.getuid = _os.geteuid = _os.getgid = _os.getegid = lambda: 1000
_os.getppid = lambda: 0
_os.getlogin = lambda: "sbx_user"
_os.umask = lambda mask: 0o022
_os.uname = lambda: ("Linux", "localhost", "", "", "x86_64")
_os.times = lambda: (time.process_time(), 0.0, 0.0, 0.0, time.monotonic())
_os.get_exec_path = lambda env=None: ["/usr/bin", "/bin"]
import abc as _abc


class _PathLike(_abc.ABC):
    @classmethod
    def __subclasshook__(cls, subclass):
        return hasattr(subclass, "__fspath__") or NotImplemented

    # `os.PathLike[str]` in annotations, as on CPython.
    __class_getitem__ = classmethod(types.GenericAlias)


_os.PathLike = _PathLike
sys.modules["os"] = _os
# importlib's path machinery imports `posix` by that name; the sandbox's os stands in for it.
sys.modules["posix"] = _os
import posixpath as _posixpath
_os.path = _posixpath
sys.modules["os.path"] = _posixpath


class _WritableFile(io.StringIO):
    def __init__(self, rel, initial=""):
        super().__init__(initial)
        self.seek(0, 2)
        self._rel = rel

    def close(self):
        if not self.closed:
            _scratch[self._rel] = self.getvalue()
        super().close()


def _open(file, mode="r", buffering=-1, encoding=None, errors=None, newline=None, closefd=True, opener=None):
    rel = _rel(file)
    files = _all_files()
    if any(c in mode for c in "wax+"):
        if "x" in mode and rel in files:
            raise FileExistsError(17, "File exists", file)
        initial = files.get(rel, "") if ("a" in mode or "+" in mode) else ""
        return _WritableFile(rel, initial)
    if rel not in files:
        if _is_dir(rel):
            raise IsADirectoryError(21, "Is a directory", file)
        raise FileNotFoundError(2, "No such file or directory", file)
    if "b" in mode:
        return io.BytesIO(files[rel].encode())
    return io.StringIO(files[rel])


builtins.open = _open
io.open = _open


class _ToolFinder:
    """Finds the tool's own modules (sibling .py files and packages) in the current bundle."""
    modules = {}

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        entry = cls.modules.get(name)
        if entry is None:
            return None
        from importlib.machinery import ModuleSpec
        spec = ModuleSpec(name, cls, origin=entry[2], is_package=entry[1])
        if entry[1]:
            spec.submodule_search_locations = [_TOOL_ROOT + "/" + name.replace(".", "/")]
        # No location: there is no bytecode cache to compute (RustPython has no cache_tag).
        spec.has_location = False
        return spec

    @classmethod
    def create_module(cls, spec):
        return None

    @classmethod
    def get_resource_reader(cls, fullname):
        """`importlib.resources.files(package)`: the package's folder under the tool root, a
        real path whose files the sandbox's `open` and `os.stat` read from the bundle (so
        `as_file` needs no temporary copy, e.g. certifi's `where()`)."""
        entry = cls.modules.get(fullname)
        if entry is None:
            return None
        import pathlib
        folder = entry[2].rsplit("/", 1)[0]

        class _Reader:
            def files(self):
                return pathlib.PosixPath(folder)
        return _Reader()

    @classmethod
    def exec_module(cls, module):
        code, is_pkg, filename = cls.modules[module.__name__]
        if isinstance(code, _Deferred):
            try:
                code = compile(code, filename, "exec")
            except BaseException as e:
                code = _cpython_wording(e, code)
            # Kept for the bundle's later runs in this worker.
            cls.modules[module.__name__] = (code, is_pkg, filename)
        _tool_module_names.add(module.__name__)
        module.__file__ = filename
        if isinstance(code, BaseException):
            raise code
        exec(code, module.__dict__)


sys.meta_path.insert(0, _ToolFinder)


# Packages production preinstalls or real tools use, which the sandbox only has once installed:
# the import error says how, instead of a bare "No module named".
_NATIVE = {"numpy", "pandas", "pydantic_core", "tiktoken", "scipy", "lxml", "orjson", "cryptography"}
_PURE = {"requests", "urllib3", "certifi", "idna", "charset_normalizer", "openai", "httpx",
         "pydantic", "six", "dateutil", "yaml", "boto3", "botocore", "jwt", "bs4"}


class _PackageHint:
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        top = name.partition(".")[0]
        if path is not None or top not in _NATIVE | _PURE:
            return None
        if top in _NATIVE:
            why = ("it has native code, which the emulator's Python (RustPython) cannot load: "
                   "runtime = \"python:cpython\" in tool.toml runs the tool in CPython, which "
                   "can; see README \"Packages\"")
        elif top in ("requests", "urllib3", "certifi", "idna", "charset_normalizer"):
            why = ("the emulator installs requests when a tool's code imports it, when the tool "
                   "loads: that install failed or has not run yet (cortex-emu deps <tool>); see "
                   "README \"Packages\"")
        else:
            why = ("list it in the tool's requirements.txt: the emulator installs it on load "
                   "(or run cortex-emu deps <tool>); see README \"Packages\"")
        raise ModuleNotFoundError("No module named '%s' (%s)" % (name, why), name=name)


sys.meta_path.append(_PackageHint)


# Compound statements whose header ends with ':' (CPython 3.13 says "expected ':'" when it is
# missing; RustPython's parser only says "invalid syntax").
_COMPOUND = ("def", "class", "if", "elif", "else", "for", "while", "try", "except", "finally",
             "with", "async", "match", "case")


def _cpython_wording(e, source):
    """Rewords a SyntaxError as CPython words the common cases RustPython leaves generic."""
    if not isinstance(e, SyntaxError) or e.msg != "invalid syntax" or not e.lineno:
        return e
    lines = source.splitlines()
    if e.lineno > len(lines):
        return e
    line = lines[e.lineno - 1].split("#", 1)[0].rstrip()
    words = line.lstrip().replace("(", " ").replace(":", " : ").split()
    if words and words[0] in _COMPOUND and not line.endswith(":"):
        e.msg = "expected ':'"
        e.args = (e.msg,) + tuple(e.args[1:])
    return e


class _Deferred(str):
    """A module's source, compiled on first import."""


def _compile_bundle(code_hash, files):
    if len(_code_cache) >= 64:
        _code_cache.clear()
    modules = {}
    main = None
    for path, text in files.items():
        if not path.endswith(".py"):
            continue
        filename = _TOOL_ROOT + "/" + path
        if path.startswith(".packages/"):
            # Installed packages are compiled when first imported: a run pays only for the
            # modules it uses (requests and its dependencies are ~80 files).
            code = _Deferred(text)
        else:
            try:
                code = compile(text, filename, "exec")
            except BaseException as e:  # a SyntaxError surfaces when the module is run
                code = _cpython_wording(e, text)
        if path == "cortexone_function.py":
            main = code
            continue
        # Installed packages (`cortex-emu deps`) import by their own names; the tool's own
        # modules of the same name win.
        installed = path.startswith(".packages/")
        parts = path[len(".packages/"):-3].split("/") if installed else path[:-3].split("/")
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        if parts and not (installed and ".".join(parts) in modules):
            modules[".".join(parts)] = (code, is_pkg, filename)
    _code_cache[code_hash] = {"main": main, "modules": modules, "files": dict(files)}


def _has(code_hash):
    return code_hash in _code_cache


def _cortex_run(code_hash, event, meta, env, timeout_ms, log_limit):
    """One run. `event`, `meta` and `env` arrive as Python objects built by the host; the
    answer is a tuple the host reads (status, body, logs, error, failed, duration_ms)."""
    entry = _code_cache[code_hash]
    started = time.monotonic()
    deadline = started + timeout_ms / 1000.0
    log = _Log(log_limit)
    saved = (sys.stdout, sys.stderr)
    sys.stdout = sys.stderr = log
    global _files
    _files = entry["files"]
    _scratch.clear()
    _os.environ.clear()
    _os.environ.update(env)
    # Module-level state never leaks between runs: the tool's modules are executed afresh.
    for name in list(_tool_module_names):
        sys.modules.pop(name, None)
    _tool_module_names.clear()
    _ToolFinder.modules = entry["modules"]
    try:
        status, body, error, failed = _call_handler(
            entry["main"], _TOOL_ROOT + "/cortexone_function.py", None, meta, deadline, log,
            _tool_module_names, event=event)
    finally:
        sys.stdout, sys.stderr = saved
        _scratch.clear()
        _os.environ.clear()
        # RustPython has no cycle collector: a module's functions point back at its namespace,
        # so each run's namespace would stay alive for good. Emptying it breaks those cycles.
        for name in list(_tool_module_names):
            m = sys.modules.pop(name, None)
            if m is not None:
                try:
                    m.__dict__.clear()
                except BaseException:
                    pass
        _tool_module_names.clear()
        sys.setrecursionlimit(_RECURSION_LIMIT)
    return (status, body, log.getvalue(), error, failed, (time.monotonic() - started) * 1000.0)


def _cortex_warm_up():
    """Imports the modules handlers use most, so later runs do not pay for them. The worker's
    template calls it once it has forked its first child (issue 15: done at start it made the
    first answer after start wait ~0.2 s); children forked later inherit the modules."""
    for m in ("re", "math", "datetime", "hashlib", "base64", "random", "collections", "uuid",
              "urllib.parse", "typing", "traceback", "importlib.machinery", "string", "itertools",
              "functools", "decimal", "statistics", "csv"):
        try:
            __import__(m)
        except BaseException as e:
            sys.__stderr__.write("cortex-emu: python warm-up could not import %s: %r\n" % (m, e))
