//! The worker side: `cortex-emu __worker <runtime>` reads jobs from stdin, runs them in its
//! runtime and answers on the original stdout. Anything that crashes or hangs the interpreter ends
//! only this process; the server reports the run and starts a new worker.
//!
//! JavaScript and Lua build a fresh VM for every run, so one process serves every tool. Python
//! keeps one warm interpreter, whose standard library and builtins a handler can change, so a
//! Python worker forks (see [`super::fork`]): no run sees what a run of another organization,
//! tool or revision did.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::sync::Arc;

use super::alloc;
use crate::protocol::{RunResult, WireJob, WireReply};
use crate::registry::Runtime;
use crate::runtime::{engine_for, Engine, Files};

/// Code bundles kept per worker.
const CODE_CACHE: usize = 64;

/// What a worker holds between jobs: the engine and the code bundles it was sent.
pub struct Session {
    pub engine: Box<dyn Engine>,
    cache: HashMap<String, Files>,
    runtime: Runtime,
}

impl Session {
    pub fn new(runtime: Runtime, engine: Box<dyn Engine>) -> Self {
        Session {
            engine,
            cache: HashMap::new(),
            runtime,
        }
    }

    /// Runs (or checks) one job line and returns the reply line.
    pub fn handle(&mut self, line: &str) -> String {
        self.reply(serde_json::from_str::<WireJob>(line))
    }

    /// The reply line to a parsed (or unparsable) job.
    pub fn reply(&mut self, job: serde_json::Result<WireJob>) -> String {
        let reply = match job {
            Err(e) => WireReply::Done(RunResult::failed(
                super::failure_body(self.runtime, "Error", "the emulator sent a malformed job"),
                e.to_string(),
                String::new(),
            )),
            Ok(job) => self.handle_job(job),
        };
        serde_json::to_string(&reply).expect("replies serialize")
    }

    fn handle_job(&mut self, mut job: WireJob) -> WireReply {
        let files = match job.files.take() {
            Some(f) => {
                if self.cache.len() >= CODE_CACHE {
                    self.cache.clear();
                }
                let f: Files = Arc::new(f);
                self.cache.insert(job.code_hash.clone(), f.clone());
                Some(f)
            }
            None => self.cache.get(&job.code_hash).cloned(),
        };
        match files {
            None => WireReply::NeedCode,
            Some(files) if job.check => WireReply::Done(match self.engine.check(&files) {
                Ok(()) => RunResult::checked(),
                Err(problem) => RunResult::failed(String::new(), problem, String::new()),
            }),
            Some(files) => {
                crate::runtime::tap::begin(job.log_limit);
                alloc::limit_from_now(job.memory_mb as usize * 1024 * 1024);
                crate::runtime::outbound::begin(&job);
                let mut result = self.engine.run(&files, &job);
                result.exchanges = crate::runtime::outbound::finish();
                alloc::clear_limit();
                WireReply::Done(cap(self.runtime, result, job.log_limit))
            }
        }
    }
}

/// Largest response body a run may return (**choice**: the 6 MiB of a synchronous AWS Lambda
/// response; the platform documents no limit). A larger one fails the run, so it is neither sent
/// through the worker pipe nor stored.
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;

/// Applies the response limit, and cuts the error text (a traceback) to the log limit.
pub(crate) fn cap(runtime: Runtime, mut r: RunResult, log_limit: usize) -> RunResult {
    if let Some(body) = &r.body {
        if body.len() > MAX_RESPONSE_BYTES {
            let details = format!(
                "the response body is {} bytes, over the limit of {MAX_RESPONSE_BYTES} bytes",
                body.len()
            );
            let kind = match runtime {
                Runtime::Lua => "RuntimeError",
                Runtime::Python | Runtime::Javascript => "RangeError",
            };
            let mut failed = RunResult::failed(
                super::failure_body(runtime, kind, &details),
                details.clone(),
                std::mem::take(&mut r.logs),
            );
            crate::protocol::push_log(
                &mut failed.logs,
                &format!("[cortex-emu] {details}\n"),
                log_limit.max(256),
            );
            failed.duration_ms = r.duration_ms;
            return failed;
        }
    }
    if let Some(error) = &mut r.error {
        let limit = log_limit.max(4096);
        if error.len() > limit {
            let mut cut = String::new();
            crate::protocol::push_log(&mut cut, error, limit);
            *error = cut;
        }
    }
    r
}

pub(crate) fn serve(runtime: Runtime, protocol: std::fs::File) {
    serve_with(runtime, engine_for(runtime), protocol)
}

/// [`serve`] with a given engine (CPython's, for Python tools that ask for it).
pub(crate) fn serve_with(runtime: Runtime, engine: Box<dyn Engine>, protocol: std::fs::File) {
    let mut session = Session::new(runtime, engine);
    let mut out = std::io::BufWriter::new(protocol);
    let stdin = std::io::stdin();
    let mut line = String::new();
    let mut input = stdin.lock();
    loop {
        line.clear();
        // The server sends one job at a time and waits for its reply, so nothing is buffered
        // here between jobs: a worker idle for a while gives back its pages of the binary (see
        // `pages`), and maps back what the next run uses.
        if !readable_within(0, IDLE_MS) {
            super::pages::release_binary_pages();
        }
        match input.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let text = session.handle(&line);
        if writeln!(out, "{text}").and_then(|_| out.flush()).is_err() {
            return;
        }
        session.engine.prepare();
    }
}

/// How long a worker (or a forked Python child) waits for its next job before it gives back its
/// pages of the binary.
pub(super) const IDLE_MS: i32 = 2_000;

/// Whether input arrives on `fd` within `ms` (end of input counts).
pub(super) fn readable_within(fd: std::os::fd::RawFd, ms: i32) -> bool {
    let mut pollfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: poll on one descriptor this process owns.
        let n = unsafe { libc::poll(&mut pollfd, 1, ms) };
        if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        return n != 0;
    }
}
