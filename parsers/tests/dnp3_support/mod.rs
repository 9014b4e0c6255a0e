//! Test support for the DNP3 tests: fixtures built with the link emitter,
//! and the DNP3 packets of the project's captures and the shared corpus.
//! Test code only: it allocates freely.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use centinela_parsers::dnp3::link::{self, Control};
use std::path::{Path, PathBuf};

use crate::common;

/// The IANA-registered DNP3 TCP/UDP port.
pub const PORT: u16 = 20000;

/// Build one link frame around `user_data`.
pub fn frame(control: u8, dst: u16, src: u16, user_data: &[u8]) -> Vec<u8> {
    let mut out = [0u8; link::MAX_FRAME];
    let n = link::emit(Control::from_u8(control), dst, src, user_data, &mut out).unwrap();
    out[..n].to_vec()
}

/// Cut an application fragment into transport segments of at most 249
/// application octets, starting at sequence `seq`, and wrap each in a link
/// frame (master → outstation when `from_master`).
pub fn frames_for_fragment(fragment: &[u8], seq: u8, from_master: bool, max: usize) -> Vec<Vec<u8>> {
    let chunks: Vec<&[u8]> = fragment.chunks(max.clamp(1, 249)).collect();
    let n = chunks.len();
    let ctrl = if from_master { 0xc4 } else { 0x44 };
    chunks
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let th = (if i == 0 { 0x40 } else { 0 })
                | (if i + 1 == n { 0x80 } else { 0 })
                | (seq.wrapping_add(i as u8) & 0x3f);
            let mut ud = vec![th];
            ud.extend_from_slice(c);
            frame(ctrl, if from_master { 10 } else { 1 }, if from_master { 1 } else { 10 }, &ud)
        })
        .collect()
}

/// One TCP/UDP packet that carries DNP3 (port 20000 or a leading sync).
#[derive(Debug, Clone)]
pub struct Dnp3Packet {
    /// Frame number in the capture (1-based, as tshark).
    pub frame: u64,
    /// TCP (else UDP).
    pub tcp: bool,
    /// Direction key: (source port, destination port).
    pub key: (u16, u16),
    /// Transport payload.
    pub payload: Vec<u8>,
}

/// The DNP3 packets of one capture, in order.
pub fn dnp3_packets(path: &Path) -> Vec<Dnp3Packet> {
    common::read_packets(path)
        .iter()
        .filter_map(|p| {
            let t = common::transport(p)?;
            if t.payload.is_empty() || t.fragmented {
                return None;
            }
            let is = t.src_port == PORT || t.dst_port == PORT || t.payload.starts_with(&link::SYNC);
            is.then(|| Dnp3Packet {
                frame: p.frame,
                tcp: t.tcp,
                key: (t.src_port, t.dst_port),
                payload: t.payload.to_vec(),
            })
        })
        .collect()
}

/// Every capture holding DNP3: the project's `pcaps/` (all captures whose
/// path mentions dnp3) and, when present, the corpus files whose MANIFEST
/// row has `dnp3_frames` > 0.
pub fn captures() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = common::project_pcaps()
        .into_iter()
        .filter(|p| p.to_string_lossy().to_ascii_lowercase().contains("dnp3"))
        .collect();
    if let Some(dir) = common::corpus_dir() {
        out.extend(corpus_dnp3(&dir));
    }
    out
}

/// Corpus files with DNP3 frames per MANIFEST.tsv.
pub fn corpus_dnp3(dir: &Path) -> Vec<PathBuf> {
    let Ok(manifest) = std::fs::read_to_string(dir.join("MANIFEST.tsv")) else { return Vec::new() };
    let mut lines = manifest.lines();
    let Some(head) = lines.next() else { return Vec::new() };
    let cols: Vec<&str> = head.split('\t').collect();
    let Some(c) = cols.iter().position(|c| *c == "dnp3_frames") else { return Vec::new() };
    let mut out: Vec<PathBuf> = lines
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let n: u64 = f.get(c)?.parse().ok()?;
            (n > 0).then(|| dir.join(f[0]))
        })
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

/// Per-direction TCP byte streams of a capture (payloads concatenated in
/// capture order; retransmissions are not removed — the framer must cope).
pub fn tcp_streams(pkts: &[Dnp3Packet]) -> Vec<Vec<u8>> {
    let mut map: std::collections::BTreeMap<(u16, u16), Vec<u8>> = Default::default();
    for p in pkts.iter().filter(|p| p.tcp) {
        map.entry(p.key).or_default().extend_from_slice(&p.payload);
    }
    map.into_values().collect()
}
