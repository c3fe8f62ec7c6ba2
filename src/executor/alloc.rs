//! A counting global allocator. In a worker process it enforces the running tool's memory limit:
//! an allocation that would take the run past its limit ends the worker with [`MEMORY_EXIT_CODE`]
//! before the memory is touched, and the server reports the run as out of memory. In the server
//! process nothing is counted ([`start_counting`] is for workers): a shared counter bumped by
//! every allocation on every thread was 4 % of the server's CPU under load (issue 15), one
//! relaxed load of a flag is not.
//!
//! Hand-written because the policy (exit the process with a known code, checked before the
//! allocation) is the point; allocator crates count but do not enforce.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};

/// Exit code of a worker that hit its run's memory limit.
pub const MEMORY_EXIT_CODE: i32 = 86;

/// Signed: memory allocated before counting started and freed after makes it dip below zero.
static IN_USE: AtomicIsize = AtomicIsize::new(0);
static COUNTING: AtomicBool = AtomicBool::new(false);
/// Highest `IN_USE` allowed; 0 = no limit.
static LIMIT: AtomicUsize = AtomicUsize::new(0);

pub struct CountingAlloc;

#[cold]
fn over_limit() -> ! {
    const MSG: &[u8] = b"cortex-emu worker: memory limit exceeded\n";
    // SAFETY: write(2) and _exit(2) are async-signal-safe and allocate nothing.
    unsafe {
        libc::write(2, MSG.as_ptr().cast(), MSG.len());
        libc::_exit(MEMORY_EXIT_CODE)
    }
}

#[inline]
fn counting() -> bool {
    COUNTING.load(Ordering::Relaxed)
}

#[inline]
fn reserve(size: usize) {
    if !counting() {
        return;
    }
    let now = IN_USE
        .fetch_add(size as isize, Ordering::Relaxed)
        .saturating_add(size as isize);
    let limit = LIMIT.load(Ordering::Relaxed);
    if limit != 0 && now > limit as isize {
        over_limit();
    }
}

#[inline]
fn release(size: usize) {
    if counting() {
        IN_USE.fetch_sub(size as isize, Ordering::Relaxed);
    }
}

/// Worker processes count from here on (call it first thing: limits are relative to
/// [`in_use`] at the start of a run, so what was allocated before does not matter).
pub fn start_counting() {
    COUNTING.store(true, Ordering::Relaxed);
}

// SAFETY: every method forwards to `System` and only keeps a byte count beside it.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        reserve(layout.size());
        let p = unsafe { System.alloc(layout) };
        if p.is_null() {
            release(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        reserve(layout.size());
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() {
            release(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        release(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            reserve(new_size - layout.size());
        }
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() {
            if new_size > layout.size() {
                release(new_size - layout.size());
            }
        } else if new_size < layout.size() {
            release(layout.size() - new_size);
        }
        p
    }
}

/// Bytes allocated through the global allocator since counting started (0 before).
pub fn in_use() -> usize {
    IN_USE.load(Ordering::Relaxed).max(0) as usize
}

/// Allows `bytes` more than what is in use now, until [`clear_limit`].
pub fn limit_from_now(bytes: usize) {
    LIMIT.store(in_use().saturating_add(bytes), Ordering::Relaxed);
}

pub fn clear_limit() {
    LIMIT.store(0, Ordering::Relaxed);
}
