//! A counting global allocator. In a worker process it enforces the running tool's memory limit:
//! an allocation that would take the run past its limit ends the worker with [`MEMORY_EXIT_CODE`]
//! before the memory is touched, and the server reports the run as out of memory. In the server
//! process no limit is set and the cost is one relaxed atomic add per allocation.
//!
//! Hand-written because the policy (exit the process with a known code, checked before the
//! allocation) is the point; allocator crates count but do not enforce.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Exit code of a worker that hit its run's memory limit.
pub const MEMORY_EXIT_CODE: i32 = 86;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
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
fn reserve(size: usize) {
    let now = IN_USE
        .fetch_add(size, Ordering::Relaxed)
        .saturating_add(size);
    let limit = LIMIT.load(Ordering::Relaxed);
    if limit != 0 && now > limit {
        over_limit();
    }
}

// SAFETY: every method forwards to `System` and only keeps a byte count beside it.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        reserve(layout.size());
        let p = unsafe { System.alloc(layout) };
        if p.is_null() {
            IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        reserve(layout.size());
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() {
            IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            reserve(new_size - layout.size());
        }
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() {
            if new_size > layout.size() {
                IN_USE.fetch_sub(new_size - layout.size(), Ordering::Relaxed);
            }
        } else if new_size < layout.size() {
            IN_USE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        p
    }
}

/// Bytes currently allocated through the global allocator.
pub fn in_use() -> usize {
    IN_USE.load(Ordering::Relaxed)
}

/// Allows `bytes` more than what is in use now, until [`clear_limit`].
pub fn limit_from_now(bytes: usize) {
    LIMIT.store(in_use().saturating_add(bytes), Ordering::Relaxed);
}

pub fn clear_limit() {
    LIMIT.store(0, Ordering::Relaxed);
}
