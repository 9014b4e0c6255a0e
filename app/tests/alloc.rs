//! Allocation discipline: once a flow is warm, a transaction whose record is
//! suppressed by the rate limit allocates nothing (the hot path of a 10 Hz
//! poll), for Modbus and DNP3; and once the output buffers have grown, a
//! logged transaction allocates nothing either (records are written
//! straight into the reused output lines).
#![allow(unsafe_code)] // a GlobalAlloc impl is unsafe by definition; it only forwards to System.

mod common;

use centinela_app::{AppConfig, AppFlowState, AppOutput, AppProto, Direction, L4};
use centinela_pcapgen::proto::{dnp3 as d3, modbus as mb};
// The per-thread counting allocator of the parsers' zero-allocation tests
// (one implementation for the workspace's allocation tests).
#[path = "../../parsers/tests/common/alloc.rs"]
#[allow(unreachable_pub)] // written for `pub` use from the parsers' test helpers
mod counting;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

#[test]
fn suppressed_polls_allocate_nothing() {
    // The counter sees this thread's allocations.
    let (n, v) = counting::count(|| std::hint::black_box(Vec::<u8>::with_capacity(64)));
    assert!(n > 0, "the counting allocator must count");
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
    out.clear_records();
    let (n, ()) = counting::count(|| {
        for i in 20..200 {
            st.on_stream_data(Direction::ToServer, &reqs[i], &p, &flow, &mut out);
            st.on_stream_data(Direction::ToClient, &rsps[i], &p, &flow, &mut out);
        }
    });
    assert_eq!(n, 0, "modbus: allocations while suppressed");
    assert!(out.has_no_records());
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
    out.clear_records();
    let (n, ()) = counting::count(|| {
        for (dir, f) in &frames[40..] {
            st.on_stream_data(*dir, f, &p, &flow, &mut out);
        }
    });
    assert_eq!(n, 0, "dnp3: allocations while suppressed");
    assert!(out.has_no_records());
}

#[test]
fn logged_records_allocate_nothing_once_the_buffers_are_warm() {
    // Every transaction logged: records are written straight into the
    // reused output lines (no event, no body buffer), so once the buffers
    // have grown, logging a Modbus transaction or a DNP3 response
    // allocates nothing either.
    let cfg = AppConfig { log_all: true, ..AppConfig::default() };
    let flow = common::flow(L4::Tcp, 502);
    let reqs: Vec<Vec<u8>> = (0..200u16)
        .map(|i| mb::request(i, 1, &mb::Request::ReadHoldingRegisters { start: i, qty: 10 }))
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
        out.clear_records();
    }
    let (n, logged) = counting::count(|| {
        let mut logged = 0;
        for i in 20..200 {
            st.on_stream_data(Direction::ToServer, &reqs[i], &p, &flow, &mut out);
            st.on_stream_data(Direction::ToClient, &rsps[i], &p, &flow, &mut out);
            logged += out.lines.recs.len();
            out.clear_records();
        }
        logged
    });
    assert_eq!(logged, 180, "every transaction logged");
    assert_eq!(n, 0, "modbus: allocations while logging");

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
        out.clear_records();
    }
    let (n, logged) = counting::count(|| {
        let mut logged = 0;
        for (dir, f) in &frames[40..] {
            st.on_stream_data(*dir, f, &p, &flow, &mut out);
            logged += out.lines.recs.len();
            out.clear_records();
        }
        logged
    });
    assert!(logged >= 180, "{logged} DNP3 records");
    assert_eq!(n, 0, "dnp3: allocations while logging");
}

#[test]
fn dns_lookups_on_fresh_flows_allocate_nothing_once_the_buffers_are_warm() {
    // Each lookup is its own UDP flow (a fresh source port): a fresh flow
    // state, the query and response records, and both observations for the
    // detectors (reused slots, names and addresses included) allocate
    // nothing once the output buffers are warm.
    use centinela_pcapgen::proto::dns as g;
    let cfg = AppConfig::default();
    let flow = common::flow(L4::Udp, 53);
    let lookups: Vec<(Vec<u8>, Vec<u8>)> = (0..200u16)
        .map(|i| {
            let name = format!("host{i}.plant.example");
            let rsp = g::response(
                i,
                &name,
                1,
                0,
                &[g::Record::new(&name, 60, g::Rdata::A([192, 0, 2, (i % 250) as u8]))],
            );
            (g::query(i, &name, 1), rsp)
        })
        .collect();
    let mut out = AppOutput::default();
    let p = common::pkt(0, 1);
    let lookup = |(q, r): &(Vec<u8>, Vec<u8>), out: &mut AppOutput| {
        let mut st = AppFlowState::new(AppProto::Dns, L4::Udp, &cfg);
        st.on_datagram(Direction::ToServer, q, &p, &flow, out);
        st.on_datagram(Direction::ToClient, r, &p, &flow, out);
        let n = (out.lines.recs.len(), out.dns.len(), out.dns.last().map(|o| o.answer_addrs.len()));
        out.clear_records();
        out.dns.clear();
        n
    };
    for l in &lookups[..20] {
        lookup(l, &mut out);
    }
    let mut seen = Vec::with_capacity(lookups.len());
    let (n, ()) = counting::count(|| seen.extend(lookups[20..].iter().map(|l| lookup(l, &mut out))));
    assert_eq!(n, 0, "dns: allocations once warm");
    assert_eq!(seen.len(), 180);
    assert!(seen.iter().all(|s| *s == (2, 2, Some(1))), "two records, two observations, one address each");
}
