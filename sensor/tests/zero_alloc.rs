//! The decode → flow → reassembly path allocates nothing per packet on
//! steady-state traffic (established flows, in-order data), and a DNS
//! lookup allocates nothing once warm although each is a new flow (app
//! state boxes reused, Community ID inline): checked with a counting global
//! allocator that counts this thread's allocations only.
#![allow(unsafe_code)] // a GlobalAlloc impl is unsafe by definition; it only forwards to System.

mod common;

use centinela::batch::{Batch, Entry, PktMeta};
use centinela::config::Config;
use centinela::worker::Worker;
use centinela_events::Timestamp;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;

thread_local! {
    static COUNT: Cell<u64> = const { Cell::new(0) };
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
}

struct Counting;

fn bump() {
    let _ = ACTIVE.try_with(|a| {
        if a.get() {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        }
    });
}

// SAFETY: every method forwards unchanged to `System`; the bookkeeping only
// touches const-initialised thread-locals and never allocates.
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
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump();
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn count<R>(f: impl FnOnce() -> R) -> (u64, R) {
    COUNT.with(|c| c.set(0));
    ACTIVE.with(|a| a.set(true));
    let r = f();
    ACTIVE.with(|a| a.set(false));
    (COUNT.with(Cell::get), r)
}

fn batch(frames: &[Vec<u8>], first_seq: u64) -> Batch {
    let mut b = Batch::with_capacity(frames.len(), 1 << 20);
    for (i, f) in frames.iter().enumerate() {
        let off = b.data.len() as u64;
        b.data.extend_from_slice(f);
        b.entries.push(Entry::Pkt(PktMeta {
            off,
            len: f.len() as u32,
            orig_len: f.len() as u32,
            ts: Timestamp::from_micros(1_700_000_000, i as u32),
            seq: first_seq + i as u64,
            linktype: 1,
            iface: 0,
            mapped: false,
        }));
        b.packets += 1;
    }
    b
}

#[test]
fn steady_state_packets_allocate_nothing() {
    let mut w = Worker::new(0, 1, Arc::new(Config::default()), Arc::from(Vec::<Arc<str>>::new()), false);
    let (c, s) = ([10, 5, 0, 1], [10, 5, 0, 2]);
    // Warm-up: a TCP session to a port without an app protocol (probing
    // gives up), and a UDP flow.
    let mut warm = vec![
        common::tcp(c, s, 40000, 7777, 0, "S", b""),
        common::tcp(s, c, 7777, 40000, 1000, "SA", b""),
        common::tcp(c, s, 40000, 7777, 1, "A", b""),
    ];
    let payload = [0x5au8; 200];
    let mut seq = 1u32;
    for _ in 0..10 {
        warm.push(common::tcp(c, s, 40000, 7777, seq, "A", &payload));
        seq += payload.len() as u32;
        warm.push(common::udp(c, s, 5000, 6000, &payload));
    }
    let mut sent = Vec::new();
    w.run_batch(&batch(&warm, 1), &mut |r| sent.push(r));
    // Steady state: in-order data, ACKs and datagrams on the same flows.
    let mut steady = Vec::new();
    for _ in 0..500 {
        steady.push(common::tcp(c, s, 40000, 7777, seq, "A", &payload));
        seq += payload.len() as u32;
        steady.push(common::tcp(s, c, 7777, 40000, 1001, "A", b""));
        steady.push(common::udp(c, s, 5000, 6000, &payload));
    }
    let b = batch(&steady, 1000);
    let (allocs, _) = count(|| w.run_batch(&b, &mut |r| sent.push(r)));
    assert_eq!(allocs, 0, "{allocs} allocations for {} steady-state packets", steady.len());
    // The packets were really processed: end the run and read the flow records.
    let mut end = Batch::default();
    end.entries.push(Entry::Mark(centinela::batch::Mark {
        id: 1,
        seq: 3000,
        ts: Timestamp::from_micros(1_700_000_001, 0),
        tick: true,
        stats: None,
        last: true,
    }));
    w.run_batch(&end, &mut |r| sent.push(r));
    let flows: Vec<serde_json::Value> = sent
        .iter()
        .flat_map(|r| {
            r.recs.iter().map(|x| serde_json::from_slice::<serde_json::Value>(r.rec_bytes(x)).expect("json"))
        })
        .filter(|v| v["event_type"] == "flow")
        .collect();
    assert_eq!(flows.len(), 2, "{flows:?}");
    assert!(flows.iter().all(|f| f["flow"]["pkts_toserver"].as_u64().unwrap_or(0) >= 510), "{flows:?}");
}

/// A DNS query (`example.com`, A) and its answer, with transaction id `id`.
fn dns_lookup(id: u16) -> (Vec<u8>, Vec<u8>) {
    let question: &[u8] = b"\x07example\x03com\x00\x00\x01\x00\x01";
    let [hi, lo] = id.to_be_bytes();
    let mut q = vec![hi, lo, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    q.extend_from_slice(question);
    let mut r = vec![hi, lo, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
    r.extend_from_slice(question);
    r.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 93, 184, 216, 34]);
    (q, r)
}

/// `n` lookups, each a UDP flow of its own (a new client port).
fn lookups(first_port: u16, n: u16) -> Vec<Vec<u8>> {
    let (c, s) = ([10, 5, 0, 1], [10, 5, 0, 53]);
    let mut frames = Vec::new();
    for i in 0..n {
        let (q, r) = dns_lookup(i);
        frames.push(common::udp(c, s, first_port + i, 53, &q));
        frames.push(common::udp(s, c, 53, first_port + i, &r));
    }
    frames
}

fn tick(id: u64, seq: u64, secs: i64, last: bool) -> Batch {
    let mut b = Batch::default();
    b.entries.push(Entry::Mark(centinela::batch::Mark {
        id,
        seq,
        ts: Timestamp::from_micros(secs, 0),
        tick: true,
        stats: None,
        last,
    }));
    b
}

#[test]
fn dns_lookups_on_new_flows_allocate_nothing_once_warm() {
    let mut w = Worker::new(0, 1, Arc::new(Config::default()), Arc::from(Vec::<Arc<str>>::new()), false);
    let mut sent = Vec::new();
    // Warm-up: lookups whose flows then time out, giving their app-layer
    // state boxes back for reuse.
    w.run_batch(&batch(&lookups(20_000, 200), 1), &mut |r| sent.push(r));
    w.run_batch(&tick(1, 1000, 1_700_001_000, false), &mut |r| sent.push(r));
    // Measured: new lookups, each a new flow with its app state, records
    // and detector observations.
    let b = batch(&lookups(30_000, 50), 2000);
    let (allocs, _) = count(|| w.run_batch(&b, &mut |r| sent.push(r)));
    assert_eq!(allocs, 0, "{allocs} allocations for 50 DNS lookups on new flows");
    w.run_batch(&tick(2, 3000, 1_700_002_000, true), &mut |r| sent.push(r));
    let recs: Vec<serde_json::Value> = sent
        .iter()
        .flat_map(|r| {
            r.recs.iter().map(|x| serde_json::from_slice::<serde_json::Value>(r.rec_bytes(x)).expect("json"))
        })
        .collect();
    let count_of = |t: &str| recs.iter().filter(|v| v["event_type"] == t).count();
    // Records are rate limited per flow, never across flows: two per lookup.
    assert_eq!(count_of("dns"), 2 * 250, "dns records");
    assert_eq!(count_of("flow"), 250, "flow records");
}
