//! Allocation discipline: once a flow is warm, a transaction whose record is
//! suppressed by the rate limit allocates nothing (the hot path of a 10 Hz
//! poll), for Modbus and DNP3; allocation happens only when a record is
//! built.
#![allow(unsafe_code)] // a GlobalAlloc impl is unsafe by definition; it only forwards to System.

mod common;

use centinela_app::{AppConfig, AppFlowState, AppOutput, AppProto, Direction, L4};
use centinela_pcapgen::proto::{dnp3 as d3, modbus as mb};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Forwards to the system allocator, counting the allocations made by the
/// current thread (the test harness's own threads allocate at times — e.g.
/// under load — and must not count: a process-wide counter made this test
/// flaky on a busy machine).
struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn bump() {
    // `try_with`: a no-op during thread teardown; const-initialised, so it
    // never allocates.
    let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every method forwards unchanged to `System`, which upholds the
// GlobalAlloc contract; the bookkeeping touches only a const-initialised
// thread-local and never allocates.
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
        // SAFETY: ptr was allocated by System with this layout.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by this thread so far.
fn allocs() -> u64 {
    ALLOCS.try_with(Cell::get).unwrap_or(0)
}

#[test]
fn suppressed_polls_allocate_nothing() {
    // The counter sees this thread's allocations.
    let b = allocs();
    let v: Vec<u8> = std::hint::black_box(Vec::with_capacity(64));
    assert!(allocs() > b, "the counting allocator must count");
    drop(v);
    let cfg = AppConfig::default();
    let flow = common::flow(L4::Tcp, 502);
    // Modbus: 10 Hz polling of the same registers within one window.
    let reqs: Vec<Vec<u8>> = (0..200u16)
        .map(|i| mb::request(i, 1, &mb::Request::ReadHoldingRegisters { start: 0, qty: 10 }))
        .collect();
    let rsps: Vec<Vec<u8>> = (0..200u16)
        .map(|i| mb::response(i, 1, &mb::Response::ReadHoldingRegisters { values: vec![i; 10] }))
        .collect();
    let mut st = AppFlowState::new(AppProto::Modbus, L4::Tcp, &cfg);
    let mut out = AppOutput::default();
    let p = common::pkt(0, 1);
    for i in 0..20 {
        st.on_stream_data(Direction::ToServer, &reqs[i], &p, &flow, &mut out);
        st.on_stream_data(Direction::ToClient, &rsps[i], &p, &flow, &mut out);
    }
    out.events.clear();
    let before = allocs();
    for i in 20..200 {
        st.on_stream_data(Direction::ToServer, &reqs[i], &p, &flow, &mut out);
        st.on_stream_data(Direction::ToClient, &rsps[i], &p, &flow, &mut out);
    }
    assert_eq!(allocs() - before, 0, "modbus: allocations while suppressed");
    assert!(out.events.is_empty());
    assert_eq!(out.stats.modbus.records_rate_limited, 194);

    // DNP3: class polls and their responses.
    let flow = common::flow(L4::Tcp, 20000);
    let mut a = d3::Association::new(1, 2);
    let mut frames = Vec::new();
    for i in 0..200 {
        frames
            .push((Direction::ToServer, a.request(d3::func::READ, &d3::class_poll(true, true, true, true))));
        frames.push((Direction::ToClient, a.response(0, &d3::analog_inputs_16(0, &[i as i16, 2, 3]))));
    }
    let mut st = AppFlowState::new(AppProto::Dnp3, L4::Tcp, &cfg);
    for (dir, f) in &frames[..40] {
        st.on_stream_data(*dir, f, &p, &flow, &mut out);
    }
    out.events.clear();
    let before = allocs();
    for (dir, f) in &frames[40..] {
        st.on_stream_data(*dir, f, &p, &flow, &mut out);
    }
    assert_eq!(allocs() - before, 0, "dnp3: allocations while suppressed");
    assert!(out.events.is_empty());
}
