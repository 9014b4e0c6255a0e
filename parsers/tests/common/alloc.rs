//! A counting global allocator for the zero-allocation tests.
//!
//! Use from a test file:
//! ```ignore
//! mod common;
//! #[global_allocator]
//! static A: common::alloc::Counting = common::alloc::Counting;
//! let n = common::alloc::count(|| { /* decode */ });
//! assert_eq!(n, 0);
//! ```
//! Counts allocations made *by the current thread* only, so the test
//! harness's other threads do not disturb the measurement.
#![allow(unsafe_code)] // a GlobalAlloc impl is unsafe by definition; it only forwards to System.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static COUNT: Cell<u64> = const { Cell::new(0) };
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
}

/// Forwards to the system allocator and counts allocations on threads that
/// are inside [`count`].
#[derive(Debug)]
pub struct Counting;

// SAFETY: every method forwards unchanged to `System`, which upholds the
// GlobalAlloc contract; the bookkeeping touches only const-initialised
// thread-locals (`try_with`, so it is a no-op during thread teardown) and
// never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump();
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: ptr was allocated by System with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        bump();
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump();
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn bump() {
    let _ = ACTIVE.try_with(|a| {
        if a.get() {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        }
    });
}

/// Run `f` and return how many allocations it made on this thread.
pub fn count<R>(f: impl FnOnce() -> R) -> (u64, R) {
    COUNT.with(|c| c.set(0));
    ACTIVE.with(|a| a.set(true));
    let r = f();
    ACTIVE.with(|a| a.set(false));
    (COUNT.with(Cell::get), r)
}
