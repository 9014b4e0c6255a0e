//! Helpers for the sensor's integration tests: run the pipeline in-process
//! into memory, and write small pcaps.
#![allow(dead_code, unreachable_pub)]

use centinela::config::Config;
use centinela::replay::{ReplayOpts, ReplayResult, replay};
use centinela::writer::EveSink;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `pcaps/<case>/capture.pcap`, sorted.
pub fn cases() -> Vec<(String, PathBuf)> {
    let mut v = Vec::new();
    if let Ok(rd) = std::fs::read_dir(root().join("pcaps")) {
        for e in rd.flatten() {
            let p = e.path().join("capture.pcap");
            if p.is_file() {
                v.push((e.file_name().to_string_lossy().into_owned(), p));
            }
        }
    }
    v.sort();
    v
}

/// Replay files with `workers` workers into memory.
pub fn run_cfg(files: &[PathBuf], workers: usize, cfg: Config) -> (Vec<u8>, ReplayResult) {
    let mut r = replay(ReplayOpts {
        cfg: Arc::new(cfg),
        workers,
        files: files.to_vec(),
        sink: EveSink::Memory(Vec::new()),
        delivery: None,
        stop: Arc::new(AtomicBool::new(false)),
        hup: Arc::new(AtomicBool::new(false)),
        progress: false,
    })
    .expect("pipeline starts");
    let out = std::mem::take(&mut r.writer.memory);
    (out, r)
}

/// Replay with the default configuration.
pub fn run(files: &[PathBuf], workers: usize) -> Vec<u8> {
    run_cfg(files, workers, Config::default()).0
}

/// Parse EVE lines.
pub fn records(out: &[u8]) -> Vec<serde_json::Value> {
    out.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).expect("each line is one JSON object"))
        .collect()
}

/// A classic little-endian pcap with microsecond timestamps.
pub fn pcap(linktype: u32, packets: &[(u32, u32, Vec<u8>)]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&4u16.to_le_bytes());
    v.extend_from_slice(&[0; 8]);
    v.extend_from_slice(&65535u32.to_le_bytes());
    v.extend_from_slice(&linktype.to_le_bytes());
    for (sec, usec, d) in packets {
        v.extend_from_slice(&sec.to_le_bytes());
        v.extend_from_slice(&usec.to_le_bytes());
        v.extend_from_slice(&(d.len() as u32).to_le_bytes());
        v.extend_from_slice(&(d.len() as u32).to_le_bytes());
        v.extend_from_slice(d);
    }
    v
}

/// An Ethernet/IPv4/TCP frame.
pub fn tcp(
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    seq: u32,
    flags: &str,
    payload: &[u8],
) -> Vec<u8> {
    let mut b =
        etherparse::PacketBuilder::ethernet2([1; 6], [2; 6]).ipv4(src, dst, 64).tcp(sport, dport, seq, 65535);
    if flags.contains('S') {
        b = b.syn();
    }
    if flags.contains('A') {
        b = b.ack(1);
    }
    if flags.contains('F') {
        b = b.fin();
    }
    if flags.contains('R') {
        b = b.rst();
    }
    let mut v = Vec::new();
    b.write(&mut v, payload).expect("builds");
    v
}

/// An Ethernet/IPv4/UDP frame.
pub fn udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let b = etherparse::PacketBuilder::ethernet2([1; 6], [2; 6]).ipv4(src, dst, 64).udp(sport, dport);
    let mut v = Vec::new();
    b.write(&mut v, payload).expect("builds");
    v
}

/// Write bytes to a temp file and return its path (kept alive by the dir).
pub fn temp_file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).expect("write temp file");
    p
}

/// The last `stats` record.
pub fn last_stats(recs: &[serde_json::Value]) -> serde_json::Value {
    recs.iter()
        .rev()
        .find(|r| r["event_type"] == "stats")
        .map(|r| r["stats"].clone())
        .expect("a stats record")
}
