//! Isolation for a runtime that keeps one warm interpreter (Python): the worker process is a
//! pristine template that never runs handler code. For each isolation key (organization, tool,
//! code revision; see [`WireJob::tenant`]) it forks a child, which reads the jobs from the shared
//! stdin and answers them on the protocol pipe directly, so the hot path has no extra hop. When a
//! job for another key arrives, the child hands that job back through a pipe and exits; the
//! template forks a fresh child for it. Whatever a handler changed (builtins, standard-library
//! modules, the harness) dies with its child.
//!
//! Measured on the 2-core dev machine, dev build (README, "Fidelity notes"): a switch of key
//! adds ~6.8 ms to that run (copy-on-write faults as the child first touches the interpreter)
//! where a new interpreter process costs 160 ms; later runs of the same key pay nothing.
//!
//! Hand-written on libc: the fork server is the point, and no crate does fork servers over an
//! existing line protocol.

use std::io::Write;
use std::os::fd::RawFd;

use serde::Deserialize;

use super::alloc;
use super::worker::Session;
use crate::protocol::WireJob;
use crate::runtime::Engine;

/// The child's stdin was closed: the server is gone, so the template exits too.
const EXIT_STDIN_CLOSED: i32 = 0;
/// The child met a job for another key; the job is on the hand-off pipe.
const EXIT_HANDOFF: i32 = 3;
/// The child retired itself (its run count or memory growth passed the safety net).
const EXIT_RECYCLE: i32 = 4;
/// A Rust panic in the child.
const EXIT_PANIC: i32 = 70;

/// A child retires after this many runs, so nothing a long-lived interpreter leaks piles up.
const MAX_RUNS_PER_CHILD: u32 = 5_000;
/// ... or when what it holds has grown this much since it was forked.
const GROWTH_CEILING: usize = 128 << 20;

/// The fields of a job line that decide its isolation key (the rest is skipped unparsed).
#[derive(Deserialize)]
struct KeyFields {
    code_hash: String,
    #[serde(default)]
    context: crate::protocol::RunContext,
    #[serde(default)]
    check: bool,
}

/// The key of a job line, read without building its files (the template does this once per fork).
fn tenant_of(line: &[u8]) -> String {
    match serde_json::from_slice::<KeyFields>(line) {
        Ok(k) => crate::protocol::tenant_key(&k.context, &k.code_hash, k.check),
        // A malformed job is answered by whichever child gets it.
        Err(_) => String::new(),
    }
}

/// Lines from a raw descriptor, with a buffer this module owns (so a child starts with an empty
/// one and the template can wipe what it read).
struct Lines {
    fd: RawFd,
    buf: Vec<u8>,
}

impl Lines {
    fn stdin() -> Self {
        Lines {
            fd: 0,
            buf: Vec::with_capacity(64 * 1024),
        }
    }

    /// Whether a line is buffered or input arrives within `ms` (end of input counts).
    fn ready_within(&self, ms: i32) -> bool {
        !self.buf.is_empty() || super::worker::readable_within(self.fd, ms)
    }

    /// The next line (with its newline), or `None` at end of input.
    fn next(&mut self) -> Option<Vec<u8>> {
        let mut scanned = 0;
        loop {
            if let Some(i) = self.buf[scanned..].iter().position(|&b| b == b'\n') {
                let rest = self.buf.split_off(scanned + i + 1);
                return Some(std::mem::replace(&mut self.buf, rest));
            }
            scanned = self.buf.len();
            let mut chunk = [0u8; 64 * 1024];
            // SAFETY: reading into a local buffer of the given length.
            let n = unsafe { libc::read(self.fd, chunk.as_mut_ptr().cast(), chunk.len()) };
            if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            if n <= 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n as usize]);
        }
    }
}

/// Overwrites a job's bytes, so the template's memory (which every later child inherits)
/// keeps no other tenant's event or secrets.
fn wipe(bytes: &mut Vec<u8>) {
    bytes.iter_mut().for_each(|b| *b = 0);
    bytes.clear();
}

fn write_all(fd: RawFd, mut data: &[u8]) -> bool {
    while !data.is_empty() {
        // SAFETY: writing from a live slice of the given length.
        let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        if n <= 0 {
            return false;
        }
        data = &data[n as usize..];
    }
    true
}

fn read_to_end(fd: RawFd) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    loop {
        // SAFETY: reading into a local buffer of the given length.
        let n = unsafe { libc::read(fd, chunk.as_mut_ptr().cast(), chunk.len()) };
        if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        if n <= 0 {
            return out;
        }
        out.extend_from_slice(&chunk[..n as usize]);
    }
}

/// Ends this process the way `status` (a child's wait status) says the child ended, so the
/// server reports a crash in the child exactly as it would report one in a plain worker.
fn die_like(status: libc::c_int) -> ! {
    // SAFETY: signal, raise and _exit on this process.
    unsafe {
        if libc::WIFSIGNALED(status) {
            let sig = libc::WTERMSIG(status);
            libc::signal(sig, libc::SIG_DFL);
            libc::raise(sig);
            libc::_exit(128 + sig)
        }
        libc::_exit(if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            EXIT_PANIC
        })
    }
}

/// The template's loop: read a job, fork a child for its key, wait for the child to end, repeat.
pub fn serve(engine: Box<dyn Engine>, protocol: std::fs::File) {
    let mut session = Session::new(crate::registry::Runtime::Python, engine);
    let mut input = Lines::stdin();
    let mut pending: Option<Vec<u8>> = None;
    // SAFETY: getpid has no preconditions.
    let template = unsafe { libc::getpid() };
    let mut warmed = false;
    loop {
        let mut line = match pending.take() {
            Some(l) => l,
            None => match input.next() {
                Some(l) => l,
                None => return,
            },
        };
        let tenant = tenant_of(&line);
        let mut fds = [0 as RawFd; 2];
        // SAFETY: pipe and fork; the child runs only `child`, which never returns.
        unsafe {
            if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
                libc::_exit(71);
            }
            let pid = libc::fork();
            if pid == 0 {
                libc::close(fds[0]);
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                if libc::getppid() != template {
                    libc::_exit(EXIT_STDIN_CLOSED);
                }
                let code = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    child(&mut session, line, &tenant, fds[1], &protocol)
                })) {
                    Ok(code) => code,
                    Err(_) => EXIT_PANIC,
                };
                libc::_exit(code);
            }
            libc::close(fds[1]);
            wipe(&mut line);
            if pid < 0 {
                libc::_exit(71);
            }
            if !warmed && tenant != CHECK_TENANT {
                // While the first child that runs handlers answers: children forked from now on
                // start warm. Not after a checking child: the first run would wait for it.
                session.engine.warm_up();
                warmed = true;
                // The template never runs handlers: what it read of the binary to start and
                // warm up (RustPython's set-up, the frozen modules it imported) is not read
                // again here, and children map back what they use.
                super::pages::release_binary_pages();
            }
            let handoff = read_to_end(fds[0]);
            libc::close(fds[0]);
            let mut status: libc::c_int = 0;
            while libc::waitpid(pid, &mut status, 0) < 0 {
                if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                    libc::_exit(71);
                }
            }
            match libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)) {
                Some(EXIT_HANDOFF) if !handoff.is_empty() => pending = Some(handoff),
                Some(EXIT_HANDOFF) | Some(EXIT_RECYCLE) => {}
                Some(EXIT_STDIN_CLOSED) => return,
                _ => die_like(status),
            }
        }
    }
}

/// A child's life: answer every job of `tenant`, hand back the first job of another key.
/// Returns the exit code.
fn child(
    session: &mut Session,
    first: Vec<u8>,
    tenant: &str,
    handoff: RawFd,
    protocol: &std::fs::File,
) -> i32 {
    let mut out = std::io::BufWriter::new(protocol);
    let mut input = Lines::stdin();
    let base = alloc::in_use();
    let mut line = first;
    let mut runs = 0u32;
    loop {
        // Parsed once: the key is read from the job that is then run.
        let job = serde_json::from_slice::<WireJob>(&line);
        let key = job.as_ref().map(WireJob::tenant).unwrap_or_default();
        if key != tenant {
            return if write_all(handoff, &line) {
                EXIT_HANDOFF
            } else {
                EXIT_STDIN_CLOSED
            };
        }
        let reply = session.reply(job);
        if writeln!(out, "{reply}").and_then(|_| out.flush()).is_err() {
            return EXIT_STDIN_CLOSED;
        }
        session.engine.prepare();
        runs += 1;
        if runs >= MAX_RUNS_PER_CHILD || alloc::in_use() > base.saturating_add(GROWTH_CEILING) {
            return EXIT_RECYCLE;
        }
        // A child that only checks code (start-up, saves) goes once the checks stop coming:
        // the first run of a tool needs a child of its own anyway, and an idle one holds
        // ~16 MB (issue 15). The server sends one job at a time, so nothing is half-read.
        if tenant == CHECK_TENANT && !input.ready_within(CHECK_CHILD_IDLE_MS) {
            return EXIT_RECYCLE;
        }
        if !input.ready_within(super::worker::IDLE_MS) {
            super::pages::release_binary_pages();
        }
        line = match input.next() {
            Some(l) => l,
            None => return EXIT_STDIN_CLOSED,
        };
    }
}

/// The isolation key of check jobs ([`crate::protocol::tenant_key`]).
const CHECK_TENANT: &str = "\u{0}check";
/// How long a checking child waits for the next check before it exits.
const CHECK_CHILD_IDLE_MS: i32 = 2_000;
