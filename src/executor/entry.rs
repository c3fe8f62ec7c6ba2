//! The worker process's entry point: `cortex-emu __worker <runtime>` (see [`super::worker`]
//! for JavaScript and Lua, [`super::fork`] for Python).

use std::os::fd::FromRawFd;

use crate::registry::Runtime;
use crate::runtime::engine_for;

/// Stack of the thread that runs handlers: deep enough for the interpreters' own recursion
/// limits. JavaScript gets less: Boa recurses natively through builtins such as `map`, and a
/// stack the size of V8's order of magnitude makes that overflow (and be reported) in
/// milliseconds instead of after a long, quadratic descent.
fn stack_size(runtime: Runtime) -> usize {
    match runtime {
        Runtime::Javascript => 4 << 20,
        Runtime::Python | Runtime::Lua => 256 << 20,
    }
}

/// A worker for `runtime`; for Python with `cpython` set, one that runs tools in that CPython
/// (`cortex-emu __worker python:cpython <interpreter>`, see [`crate::runtime::cpython`]).
pub fn worker_main(runtime: Runtime, cpython: Option<std::path::PathBuf>) -> ! {
    super::alloc::start_counting();
    // Before any descriptor is opened here: the tap sits on fd 3.
    crate::runtime::tap::enable_from_env();
    // SAFETY: plain libc calls on this process's own descriptors and limits.
    let protocol = unsafe {
        // Die with the server, even while a handler spins.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        let no_core = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::setrlimit(libc::RLIMIT_CORE, &no_core);
        // Keep the real stdout for replies; anything else writing to fd 1 lands on stderr.
        let fd = libc::dup(1);
        libc::dup2(2, 1);
        std::fs::File::from_raw_fd(fd)
    };
    let handle = std::thread::Builder::new()
        .name(format!("{}-worker", runtime.name()))
        .stack_size(stack_size(runtime))
        .spawn(move || match (runtime, cpython) {
            (Runtime::Python, Some(interpreter)) => super::worker::serve_with(
                runtime,
                Box::new(crate::runtime::cpython::CpythonEngine::new(interpreter)),
                protocol,
            ),
            (Runtime::Python, None) => super::fork::serve(engine_for(runtime), protocol),
            (Runtime::Javascript | Runtime::Lua, _) => super::worker::serve(runtime, protocol),
        })
        .expect("spawn worker thread");
    let code = match handle.join() {
        Ok(()) => 0,
        Err(_) => 70,
    };
    std::process::exit(code)
}
