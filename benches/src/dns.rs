//! DNS messages for the benchmarks, loaded from real captures: the project's
//! `pcaps/dns-normal` and the real resolver traffic of the shared corpus
//! (Zeek and Suricata test traces), else a small emitted set (the caller
//! prints which).
//!
//! Samples are split into *queries* (QR = 0) and *typical responses*
//! (QR = 1, at least one answer, at most 512 octets, no anomaly): the two
//! shapes a sensor sees most on a resolver link.

pub use crate::dnp3::thread_cpu_ns;
use crate::{captures_under, payloads};
use centinela_parsers::dns::Message;
use std::path::{Path, PathBuf};

/// The DNS messages to benchmark.
#[derive(Debug, Default, Clone)]
pub struct Samples {
    /// Query messages (UDP payloads).
    pub queries: Vec<Vec<u8>>,
    /// Typical responses (UDP payloads).
    pub responses: Vec<Vec<u8>>,
    /// Where they came from, for the report line.
    pub sources: Vec<String>,
}

/// Largest response counted as "typical" (the classic UDP limit, RFC 1035 §4.2.1).
const TYPICAL_MAX: usize = 512;

impl Samples {
    fn add(&mut self, msg: Vec<u8>) {
        let Ok(m) = Message::parse(&msg) else { return };
        if !m.anomalies().is_empty() {
            return;
        }
        if !m.is_response() {
            self.queries.push(msg);
        } else if m.counts()[1] > 0 && msg.len() <= TYPICAL_MAX {
            self.responses.push(msg);
        }
    }

    fn add_dir(&mut self, label: &str, dir: &Path) {
        let (q, r) = (self.queries.len(), self.responses.len());
        for f in captures_under(dir) {
            for p in payloads(&f)
                .into_iter()
                .filter(|p| p.udp && (p.src_port == 53 || p.dst_port == 53))
                .map(|p| p.bytes)
            {
                self.add(p);
            }
        }
        let (dq, dr) = (self.queries.len() - q, self.responses.len() - r);
        if dq + dr > 0 {
            self.sources.push(format!("{label}: {dq} queries, {dr} responses"));
        }
    }
}

/// Emitted fallback: one query and one CNAME+A response.
fn emitted() -> Samples {
    let q = b"\x1a\x2b\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x07example\x03com\x00\x00\x01\x00\x01"
        .to_vec();
    let mut r = q.clone();
    r[2] = 0x81;
    r[3] = 0x80;
    r[7] = 2;
    r.extend_from_slice(b"\xc0\x0c\x00\x05\x00\x01\x00\x00\x0e\x10\x00\x06\x03cdn\xc0\x10");
    r.extend_from_slice(b"\xc0\x2d\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x5d\xb8\xd8\x22");
    Samples { queries: vec![q], responses: vec![r], sources: vec!["emitted (no capture found)".into()] }
}

/// Load the samples: `pcaps/dns-normal`, then the corpus's real resolver
/// traces (`zeek/`, `suricata-verify/`) when present.
pub fn load() -> Samples {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut s = Samples::default();
    s.add_dir("pcaps/dns-normal", &root.join("pcaps/dns-normal"));
    let corpus =
        std::env::var_os("CENTINELA_CORPUS").map_or_else(|| root.join("../shared/corpus"), PathBuf::from);
    for sub in ["zeek", "suricata-verify"] {
        s.add_dir(&format!("corpus/{sub}"), &corpus.join(sub));
    }
    if s.queries.is_empty() || s.responses.is_empty() { emitted() } else { s }
}
