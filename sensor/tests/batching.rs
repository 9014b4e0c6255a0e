//! A worker's output does not depend on how its input is cut into batches.
//! `Worker::run_batch` looks ahead within a batch (it asks the CPU for the
//! bytes of packets a few entries ahead) and marks sit between packets in
//! the same batch: every cut of the same entries must give the same
//! records, byte for byte.

mod common;

use centinela::batch::{Batch, Entry, Mark, PktMeta};
use centinela::config::Config;
use centinela::worker::Worker;
use centinela_events::Timestamp;
use std::sync::Arc;

/// A DNS message: one question for `name` (type A); a response carries one
/// A record.
fn dns(id: u16, name: &str, response: bool) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(if response { &[0x81, 0x80] } else { &[0x01, 0x00] });
    m.extend_from_slice(&[0, 1, 0, u8::from(response), 0, 0, 0, 0]);
    for label in name.split('.') {
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    if response {
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 51, 100, 7]);
    }
    m
}

/// A Modbus/TCP read-holding-registers request or its response.
fn modbus(tid: u16, response: bool) -> Vec<u8> {
    let pdu: &[u8] = if response { &[3, 4, 0, 1, 0, 2] } else { &[3, 0, 0, 0, 2] };
    let mut m = Vec::new();
    m.extend_from_slice(&tid.to_be_bytes());
    m.extend_from_slice(&[0, 0]);
    m.extend_from_slice(&(pdu.len() as u16 + 1).to_be_bytes());
    m.push(1);
    m.extend_from_slice(pdu);
    m
}

/// Frames of several flows interleaved, with frames that have no flow.
fn frames() -> Vec<Vec<u8>> {
    let (c, s, r) = ([10, 0, 0, 1], [10, 0, 0, 2], [10, 0, 0, 53]);
    let mut v = vec![
        common::tcp(c, s, 40000, 502, 0, "S", b""),
        common::tcp(s, c, 502, 40000, 1000, "SA", b""),
        common::tcp(c, s, 40000, 502, 1, "A", b""),
    ];
    let (mut cseq, mut sseq) = (1u32, 1001u32);
    for i in 0..40u16 {
        let q = modbus(i, false);
        v.push(common::tcp(c, s, 40000, 502, cseq, "A", &q));
        cseq += q.len() as u32;
        // A DNS lookup from a fresh port between request and response.
        v.push(common::udp(c, r, 50000 + i, 53, &dns(i, &format!("h{i}.example.com"), false)));
        let a = modbus(i, true);
        v.push(common::tcp(s, c, 502, 40000, sseq, "A", &a));
        sseq += a.len() as u32;
        v.push(common::udp(r, c, 53, 50000 + i, &dns(i, &format!("h{i}.example.com"), true)));
        match i % 4 {
            // Not IP (ARP).
            0 => v.push([&[2u8; 6][..], &[1; 6], &[0x08, 0x06], &[0; 28]].concat()),
            // Cut inside the IPv4 header.
            1 => v.push(common::udp(c, s, 1, 2, b"x")[..20].to_vec()),
            // A TCP segment cut inside its header.
            2 => v.push(common::tcp(c, s, 40000, 502, cseq, "A", b"")[..40].to_vec()),
            _ => v.push(common::udp(c, s, 7000, 7001, &[0x5a; 64])),
        }
    }
    v.push(common::tcp(c, s, 40000, 502, cseq, "FA", b""));
    v.push(common::tcp(s, c, 502, 40000, sseq, "FA", b""));
    v
}

/// The frames as entries, with marks at fixed places (every 37 packets,
/// running timeouts every other time) and a last mark.
fn entries(frames: &[Vec<u8>]) -> (Vec<u8>, Vec<Entry>) {
    let mut data = Vec::new();
    let mut out = Vec::new();
    let mut marks = 0;
    for (i, f) in frames.iter().enumerate() {
        let ts = Timestamp::from_micros(1_700_000_000 + i as i64 / 20, (i as u32 % 20) * 1000);
        if i > 0 && i % 37 == 0 {
            marks += 1;
            out.push(Entry::Mark(Mark {
                id: marks,
                seq: i as u64,
                ts,
                tick: marks % 2 == 0,
                stats: None,
                last: false,
            }));
        }
        out.push(Entry::Pkt(PktMeta {
            off: data.len() as u64,
            len: f.len() as u32,
            orig_len: f.len() as u32,
            ts,
            seq: i as u64,
            linktype: 1,
            iface: 0,
            mapped: false,
        }));
        data.extend_from_slice(f);
    }
    out.push(Entry::Mark(Mark {
        id: marks + 1,
        seq: frames.len() as u64,
        ts: Timestamp::from_micros(1_700_000_100, 0),
        tick: true,
        stats: None,
        last: true,
    }));
    (data, out)
}

/// Every record the worker writes when the entries come in batches of
/// `size` entries.
fn run(data: &[u8], all: &[Entry], size: usize) -> Vec<String> {
    let mut w = Worker::new(0, 1, Arc::new(Config::default()), Arc::from(Vec::<Arc<str>>::new()), false);
    let mut recs = Vec::new();
    for chunk in all.chunks(size) {
        let mut b = Batch::with_capacity(chunk.len(), data.len());
        b.data.extend_from_slice(data);
        b.entries.extend(chunk.iter().cloned());
        b.packets = chunk.iter().filter(|e| matches!(e, Entry::Pkt(_))).count();
        w.run_batch(&b, &mut |r| {
            recs.extend(r.recs.iter().map(|x| String::from_utf8_lossy(r.rec_bytes(x)).into_owned()));
        });
    }
    recs
}

#[test]
fn every_cut_into_batches_gives_the_same_records() {
    let frames = frames();
    let (data, all) = entries(&frames);
    let whole = run(&data, &all, all.len());
    // The run did real work: DNS and Modbus records, flow records, and
    // anomalies for the cut frames.
    let kinds = |t: &str| whole.iter().filter(|r| r.contains(&format!("\"event_type\":\"{t}\""))).count();
    assert_eq!(kinds("dns"), 80, "{whole:#?}");
    assert!(kinds("flow") >= 42, "{whole:#?}");
    assert!(kinds("anomaly") >= 10, "{whole:#?}");
    assert!(whole.iter().any(|r| r.contains("\"modbus\"")), "{whole:#?}");
    for size in [1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 64] {
        assert_eq!(run(&data, &all, size), whole, "batches of {size} entries");
    }
}
