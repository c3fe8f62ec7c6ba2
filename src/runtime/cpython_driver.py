# cortex-emu's driver for tools with `runtime = "python:cpython"`: the machine's CPython 3.13 runs
# this (after python_common.py and before python_network.py, in one namespace), started by a
# worker process (runtime/cpython.rs) for one isolation key at a time: organization, tool and
# code revision. It reads one JSON message per line on fd 0 and answers on the descriptor that
# was fd 1; anything else written to fd 1 (a native library's printf) goes to stderr.
#
# Messages in: {"op": "check", "files": {...}}, {"op": "run", ...}, {"op": "fetched", "answer"}.
# Messages out: {"op": "checked", "problem"}, {"op": "fetch", "request"}, {"op": "done", "result"}.
import os
import resource

# The protocol moves to private descriptors (not inherited by subprocesses); fd 0 becomes
# /dev/null, so a handler's input() or a child process cannot read the worker's messages.
_PROTOCOL_OUT = os.fdopen(os.dup(1), "w", encoding="utf-8", newline="\n")
os.dup2(2, 1)
_PROTOCOL_IN = os.fdopen(os.dup(0), "r", encoding="utf-8", newline="\n")
_null = os.open(os.devnull, os.O_RDONLY)
os.dup2(_null, 0)
os.close(_null)
sys.stdin = open(os.devnull, "r")
_TAP_FD = 3  # the worker's output tap (runtime/tap.rs), inherited when the server made one
_tap = {"on": False, "at": 0, "room": 0}
_RECURSION_LIMIT = sys.getrecursionlimit()
# The code folders are the emulator's copies: no __pycache__ beside the handler (installed
# packages were compiled by pip).
sys.dont_write_bytecode = True


def _send(message):
    _PROTOCOL_OUT.write(json.dumps(message) + "\n")
    _PROTOCOL_OUT.flush()


def _receive():
    line = _PROTOCOL_IN.readline()
    if not line:
        os._exit(0)  # the worker is gone
    return json.loads(line)


def _host_tap(text):
    """Keeps what the run prints in the tap as it is printed, so a run killed at its deadline
    still shows it (the same contract as the Rust runtimes' `tap::write`)."""
    if not _tap["on"]:
        return
    data = text.encode("utf-8", "replace")[:max(0, _tap["room"] - _tap["at"])]
    if data:
        try:
            _tap["at"] += os.pwrite(_TAP_FD, data, _tap["at"])
        except OSError:
            _tap["on"] = False


def _host_fetch(request_json):
    """An outbound request, answered by the worker through the tool's network mode."""
    _send({"op": "fetch", "request": request_json})
    reply = _receive()
    return reply.get("answer") or json.dumps({"error": "the worker did not answer the request"})


# Bytes of address space a run may add beyond its memory limit (**choice**): native libraries
# reserve address space they do not use (a thread stack, a BLAS buffer; numpy's import alone
# reserves ~76 MB), and the limit is on address space, the only one a process can set on itself.
_RESERVE = 128 << 20


def _address_space():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * resource.getpagesize()


def _limit_memory(memory_mb):
    try:
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        soft = _address_space() + memory_mb * (1 << 20) + _RESERVE
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    except (OSError, ValueError):
        pass


def _unlimit_memory():
    try:
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
    except (OSError, ValueError):
        pass


_BASE_PATH = list(sys.path)
_compiled = {}       # (code dir, module file) -> code object or the SyntaxError
_tool_modules = set()


def _forget_tool_modules():
    """Module-level state never carries over between runs: the tool's own modules are imported
    afresh each run. Installed packages stay imported (numpy cannot be imported twice in one
    process); the process serves one tool revision of one organization only."""
    for name in list(_tool_modules):
        sys.modules.pop(name, None)
    _tool_modules.clear()


def _note_tool_modules(roots):
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None) or ""
        if any(path.startswith(r) for r in roots):
            _tool_modules.add(name)


def _main_code(code_dir):
    key = code_dir
    if key not in _compiled:
        path = os.path.join(code_dir, "cortexone_function.py")
        with open(path, encoding="utf-8") as f:
            source = f.read()
        try:
            _compiled[key] = compile(source, path, "exec")
        except SyntaxError as e:
            _compiled[key] = e
    return _compiled[key]


def _run(job):
    started = time.monotonic()
    deadline = started + job["timeout_ms"] / 1000.0
    _tap.update(on=job.get("tap", False), at=0, room=job["log_limit"] + 1)
    log = _Log(job["log_limit"])
    saved = (sys.stdout, sys.stderr)
    code_dir = job["code_dir"]
    packages = job.get("packages")
    roots = [code_dir + os.sep]
    sys.path[:] = [code_dir] + ([packages] if packages else []) + _BASE_PATH
    os.chdir(code_dir)
    # The handler's environment is the attached secrets alone. The Python-side mapping is
    # replaced without unsetenv, so what the worker set for native libraries at start
    # (OPENBLAS_NUM_THREADS) keeps applying to them without being visible to the handler.
    os.environ._data.clear()
    for k, v in job["env"].items():
        os.environ[k] = v  # putenv too: a subprocess of the handler sees its secrets
    _forget_tool_modules()
    meta = json.loads(job["meta"])
    sys.stdout = sys.stderr = log
    _limit_memory(job["memory_mb"])
    try:
        status, body, error, failed = _call_handler(
            _main_code(code_dir), os.path.join(code_dir, "cortexone_function.py"), job["event"],
            meta, deadline, log, _tool_modules, memory_mb=job["memory_mb"])
    finally:
        _unlimit_memory()
        sys.stdout, sys.stderr = saved
        _note_tool_modules(roots)
        for k in list(os.environ):
            os.unsetenv(k)  # nothing of this run's environment is left for the next one
        os.environ._data.clear()
        sys.setrecursionlimit(_RECURSION_LIMIT)
    return {
        "status_code": status,
        "body": body,
        "logs": log.getvalue(),
        "error": error,
        "failed": failed,
        "duration_ms": (time.monotonic() - started) * 1000.0,
    }


def _serve():
    while True:
        message = _receive()
        op = message.get("op")
        if op == "check":
            _send({"op": "checked", "problem": _cortex_check(message["files"])})
        elif op == "run":
            try:
                result = _run(message)
            except BaseException as e:  # the driver's own failure, reported as the run's
                result = {"status_code": 500, "body": None, "logs": "", "failed": True,
                          "error": "cortex-emu's CPython driver failed: " + _traceback_text(e),
                          "duration_ms": 0.0}
            _send({"op": "done", "result": result})
