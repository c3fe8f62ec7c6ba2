# The part of the Python harness that RustPython's (python_prelude.py) and CPython's
# (cpython_driver.py) share: the handler's context object, the log buffer, how a returned value
# becomes the envelope (PLATFORM.md §2.2), tracebacks, and the load-time check. The including
# harness provides `_host_tap(text)` and, for RustPython, `_cpython_wording`.
import io
import json
import sys
import time
import types


def _cortex_check(files):
    """'' when the bundle compiles and defines cortexone_handler, else 'file:line: problem'."""
    import ast
    for path, text in sorted(files.items()):
        if not path.endswith(".py"):
            continue
        try:
            tree = ast.parse(text, path)
        except SyntaxError as e:
            e = globals().get("_cpython_wording", lambda e, s: e)(e, text)
            return "%s:%s: SyntaxError: %s" % (path, e.lineno or 1, e.msg)
        if path == "cortexone_function.py":
            names = set()
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    names.add(node.name)
                elif isinstance(node, ast.Assign):
                    names.update(t.id for t in node.targets if isinstance(t, ast.Name))
                elif isinstance(node, (ast.Import, ast.ImportFrom)):
                    names.update((a.asname or a.name).split(".")[0] for a in node.names)
            if "cortexone_handler" not in names:
                return "cortexone_function.py:1: no top-level cortexone_handler(event, context)"
    if "cortexone_function.py" not in files:
        return "cortexone_function.py: missing"
    return ""


class _Context:
    """Execution metadata (the emulator's choice of attributes; PLATFORM.md §2.1)."""

    def __init__(self, meta, deadline):
        self.function_id = meta.get("function_id")
        self.version = meta.get("version")
        self.activation_id = meta.get("activation_id")
        self.organization = meta.get("organization")
        self._deadline = deadline

    def remaining_time_ms(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def __repr__(self):
        return "<Context function_id=%r version=%r activation_id=%r>" % (
            self.function_id, self.version, self.activation_id)


class _Log(io.StringIO):
    """print() and sys.stdout/stderr output, cut at the log limit (counted in characters of the
    text kept, like the other runtimes' byte limit within a factor of the encoding)."""

    def __init__(self, limit):
        super().__init__()
        self._limit = limit
        self._size = 0
        self._cut = False

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError("write() argument must be str, not %s" % type(s).__name__)
        room = self._limit - self._size
        if s and room >= 0:
            _host_tap(s[:room + 1])  # kept by the server if the run is killed (runtime/tap.rs)
        if len(s) > room:
            if room > 0:
                super().write(s[:room])
                self._size = self._limit
            if not self._cut:
                self._cut = True
                super().write("\n[cortex-emu: output truncated]\n")
            return len(s)
        self._size += len(s)
        return super().write(s)


_NO_STATUS_WARNING = ("[cortex-emu] warning: the handler returned a value without statusCode; "
                      "it was sent as the body with statusCode 200\n")


_INT64 = (-(1 << 63), (1 << 63) - 1)

# json.dumps; RustPython's harness replaces it with one that writes plain data in Rust (its own
# json encoder is pure Python there, ~0.25 ms for a small dict) and leaves the rest to json.dumps.
_json_dumps = json.dumps

# `event` of _call_handler when the caller has only the JSON text.
_UNDECODED = object()


def _normalize(result, log):
    if result is None:
        return 500, None
    if isinstance(result, dict) and "statusCode" in result:
        status = result["statusCode"]
        if isinstance(status, bool) or not isinstance(status, int):
            raise TypeError("statusCode must be an integer, got %s" % type(status).__name__)
        if not _INT64[0] <= status <= _INT64[1]:
            raise OverflowError("statusCode %d does not fit in a 64-bit integer" % status)
        body = result.get("body")
        if body is None:
            return status, None
        if isinstance(body, str):
            return status, body
        return status, _json_dumps(body)
    log.write(_NO_STATUS_WARNING)
    if isinstance(result, str):
        return 200, result
    return 200, _json_dumps(result)


def _exception_str(e):
    """str(e), or CPython's placeholder when the exception's own __str__ fails."""
    try:
        return str(e)
    except BaseException:
        return "<exception str() failed>"


# A traceback longer than this shows its first and last frames (a runaway recursion under a
# raised recursion limit has 100 000 frames, which take seconds to format).
_TRACEBACK_FRAMES = 100


# Frames of this harness are the emulator's, not the user's: tracebacks leave them out.
_HARNESS_FILE = "<cortex-emu harness>"


def _traceback_text(e):
    try:
        import traceback
        depth = 0
        tb = e.__traceback__
        while tb is not None and depth <= _TRACEBACK_FRAMES:
            depth += 1
            tb = tb.tb_next
        limit = None if depth <= _TRACEBACK_FRAMES else _TRACEBACK_FRAMES // 2
        frames = [f for f in traceback.extract_tb(e.__traceback__, limit=limit)
                  if f.filename != _HARNESS_FILE]
        text = ""
        if frames:
            text = "Traceback (most recent call last):\n" + "".join(traceback.format_list(frames))
            if limit is not None:
                text += "  [... more frames not shown ...]\n"
        return text + "".join(traceback.format_exception_only(type(e), e))
    except BaseException:
        return "%s: %s\n" % (type(e).__name__, _exception_str(e))




def _call_handler(main, filename, event_json, meta, deadline, log, modules, memory_mb=None,
                  event=_UNDECODED):
    """Runs the handler module `main` (code, or the SyntaxError compiling it gave) as
    `cortexone_function` and calls its handler with the event: `(status, body, error, failed)`,
    the failure in the platform's words with its traceback in `log`. The module's name goes into
    `modules`, which the caller forgets after the run. With `memory_mb` (CPython, where the limit
    raises MemoryError instead of ending the worker) an empty MemoryError is worded as the
    worker's limit is. `event`, when given, is the event already decoded (`event_json` unused)."""
    try:
        if event is _UNDECODED:
            event = json.loads(event_json)
        if isinstance(main, BaseException):
            raise main
        module = types.ModuleType("cortexone_function")
        module.__file__ = filename
        sys.modules["cortexone_function"] = module
        modules.add("cortexone_function")
        exec(main, module.__dict__)
        handler = module.__dict__.get("cortexone_handler")
        if handler is None:
            raise AttributeError("module 'cortexone_function' has no attribute 'cortexone_handler'")
        status, body = _normalize(handler(event, _Context(meta, deadline)), log)
        return status, body, None, False
    except BaseException as e:
        message = _exception_str(e)
        if memory_mb is not None and isinstance(e, MemoryError) and not message:
            # The words RustPython's runs give when they pass the limit (executor/mod.rs).
            message = "out of memory: the handler exceeded its memory limit of %d MB" % memory_mb
        error = _traceback_text(e)
        log.write(error)
        return 500, _json_dumps({"error": "Runtime error: " + message}), error, True
