//! The output tap: what a handler prints is also written, as it is printed, into a memory file
//! the server holds (descriptor [`TAP_FD`] of the worker). A run the server kills at its
//! deadline, or one that crashes its worker, would otherwise lose everything it printed: the
//! logs a run returns live in the worker until the run ends.
//!
//! Hand-written on libc (`pwrite` and `ftruncate` on a memfd): no crate shares a growing log
//! between two processes that survives the writer's SIGKILL; a file the kernel holds does.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The descriptor the server puts the tap on in a worker it starts.
pub const TAP_FD: RawFd = 3;
/// The variable that tells a worker the tap is there (removed once read).
pub const TAP_ENV: &str = "CORTEX_EMU_TAP_FD";

static ON: AtomicBool = AtomicBool::new(false);
static OFFSET: AtomicUsize = AtomicUsize::new(0);
static LIMIT: AtomicUsize = AtomicUsize::new(0);

/// Worker start-up: turns the tap on when the server provided one.
pub fn enable_from_env() {
    if std::env::var_os(TAP_ENV).is_some() {
        std::env::remove_var(TAP_ENV);
        // SAFETY: fcntl F_GETFD only asks whether the descriptor is open.
        let open = unsafe { libc::fcntl(TAP_FD, libc::F_GETFD) } >= 0;
        ON.store(open, Ordering::Relaxed);
    }
}

/// Whether this worker has a tap (a CPython child writes to it directly).
pub fn is_on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// A run starts: empty the tap (what the previous run, of whatever tenant, printed is gone
/// before this handler's code runs). One byte past `limit` is kept, so the server can tell
/// output that was cut.
pub fn begin(limit: usize) {
    if !ON.load(Ordering::Relaxed) {
        return;
    }
    // SAFETY: truncating the tap descriptor this process was given.
    unsafe {
        libc::ftruncate(TAP_FD, 0);
    }
    OFFSET.store(0, Ordering::Relaxed);
    LIMIT.store(limit.saturating_add(1), Ordering::Relaxed);
}

/// Appends printed text (up to the run's limit).
pub fn write(text: &str) {
    if !ON.load(Ordering::Relaxed) || text.is_empty() {
        return;
    }
    let at = OFFSET.load(Ordering::Relaxed);
    let room = LIMIT.load(Ordering::Relaxed).saturating_sub(at);
    let bytes = &text.as_bytes()[..text.len().min(room)];
    if bytes.is_empty() {
        return;
    }
    // SAFETY: writing from a live slice to the tap descriptor at our own offset.
    let n = unsafe {
        libc::pwrite(
            TAP_FD,
            bytes.as_ptr().cast(),
            bytes.len(),
            at as libc::off_t,
        )
    };
    if n > 0 {
        OFFSET.store(at + n as usize, Ordering::Relaxed);
    }
}

/// The server's side: a fresh memory file for a worker it is about to start.
pub fn create() -> std::io::Result<std::fs::File> {
    use std::os::fd::FromRawFd;
    // SAFETY: memfd_create with a constant name; the descriptor is owned by the File.
    let fd = unsafe { libc::memfd_create(c"cortex-emu-tap".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new descriptor nothing else owns.
    Ok(unsafe { std::fs::File::from_raw_fd(fd) })
}

/// In the forked child before exec: put `fd` on [`TAP_FD`], open across exec.
///
/// # Safety
/// Only between fork and exec (it calls async-signal-safe functions only).
pub unsafe fn install(fd: RawFd) -> std::io::Result<()> {
    // SAFETY: fcntl and dup2 on descriptors of this (forked, not yet exec'd) process.
    let failed = unsafe {
        if fd == TAP_FD {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            flags < 0 || libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) < 0
        } else {
            libc::dup2(fd, TAP_FD) < 0
        }
    };
    if failed {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// What a worker's run printed so far, as the server reads it after killing the worker:
/// at most `limit` bytes, with the truncation mark when there was more.
pub fn read(file: &std::fs::File, limit: usize) -> String {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; limit.saturating_add(1).min(64 << 20)];
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], filled as u64) {
            Ok(0) | Err(_) => break,
            Ok(n) => filled += n,
        }
    }
    buf.truncate(filled);
    let mut out = String::new();
    crate::protocol::push_log(&mut out, &String::from_utf8_lossy(&buf), limit);
    out
}
