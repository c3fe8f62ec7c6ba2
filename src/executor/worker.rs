//! The worker side: `cortex-emu __worker <runtime>` reads jobs from stdin, runs them in its
//! runtime and answers on the original stdout. Anything that crashes or hangs the interpreter ends
//! only this process; the server reports the run and starts a new worker.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::os::fd::FromRawFd;
use std::sync::Arc;

use super::alloc;
use super::protocol::{RunResult, WireJob, WireReply};
use crate::registry::Runtime;
use crate::runtime::{engine_for, Files};

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
/// Code bundles kept per worker.
const CODE_CACHE: usize = 64;

pub fn worker_main(runtime: Runtime) -> ! {
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
        .spawn(move || serve(runtime, protocol))
        .expect("spawn worker thread");
    let code = match handle.join() {
        Ok(()) => 0,
        Err(_) => 70,
    };
    std::process::exit(code)
}

fn serve(runtime: Runtime, protocol: std::fs::File) {
    let mut engine = engine_for(runtime);
    let mut out = std::io::BufWriter::new(protocol);
    let mut cache: HashMap<String, Files> = HashMap::new();
    let stdin = std::io::stdin();
    let mut line = String::new();
    let mut input = stdin.lock();
    loop {
        line.clear();
        match input.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let reply = match serde_json::from_str::<WireJob>(&line) {
            Err(e) => WireReply::Done(RunResult::failed(
                super::failure_body(runtime, "Error", "the emulator sent a malformed job"),
                e.to_string(),
                String::new(),
            )),
            Ok(mut job) => {
                let files = match job.files.take() {
                    Some(f) => {
                        if cache.len() >= CODE_CACHE {
                            cache.clear();
                        }
                        let f: Files = Arc::new(f);
                        cache.insert(job.code_hash.clone(), f.clone());
                        Some(f)
                    }
                    None => cache.get(&job.code_hash).cloned(),
                };
                match files {
                    None => WireReply::NeedCode,
                    Some(files) if job.check => WireReply::Done(match engine.check(&files) {
                        Ok(()) => RunResult::checked(),
                        Err(problem) => RunResult::failed(String::new(), problem, String::new()),
                    }),
                    Some(files) => {
                        alloc::limit_from_now(job.memory_mb as usize * 1024 * 1024);
                        let result = engine.run(&files, &job);
                        alloc::clear_limit();
                        WireReply::Done(result)
                    }
                }
            }
        };
        let text = serde_json::to_string(&reply).expect("replies serialize");
        if writeln!(out, "{text}").and_then(|_| out.flush()).is_err() {
            return;
        }
        engine.prepare();
    }
}
