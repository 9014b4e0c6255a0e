//! Shared helpers for the capture-driven tests (differential tests against
//! tshark, corpus robustness): iterate the packets of pcap/pcapng files and
//! slice them down to their transport payload, and run `tshark` as an oracle.
//!
//! Only test code: it allocates freely.
#![allow(dead_code, unreachable_pub)]

use pcap_parser::{Linktype, PcapBlockOwned, PcapError, create_reader};
use std::path::{Path, PathBuf};
use std::process::Command;

/// One packet of a capture, with its transport-layer slice.
#[derive(Debug, Clone)]
pub struct Packet {
    /// 1-based frame number, as tshark counts (`frame.number`).
    pub frame: u64,
    /// The whole link-layer frame.
    pub data: Vec<u8>,
    /// Link type of the interface the packet came from.
    pub linktype: Linktype,
}

/// The transport view of a packet.
#[derive(Debug, Clone)]
pub struct Transport<'a> {
    /// True for TCP, false for UDP.
    pub tcp: bool,
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Transport payload.
    pub payload: &'a [u8],
    /// True when the IP packet is a fragment (payload is partial).
    pub fragmented: bool,
}

/// Read every packet of a pcap or pcapng file. Stops quietly at a truncated
/// tail (as tshark does) and returns what it read.
pub fn read_packets(path: &Path) -> Vec<Packet> {
    let Ok(file) = std::fs::File::open(path) else { return Vec::new() };
    let Ok(mut reader) = create_reader(1 << 20, file) else { return Vec::new() };
    let mut out = Vec::new();
    let mut if_linktypes: Vec<Linktype> = Vec::new();
    let mut legacy_linktype = Linktype::ETHERNET;
    let mut frame = 0u64;
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                match block {
                    PcapBlockOwned::LegacyHeader(h) => legacy_linktype = h.network,
                    PcapBlockOwned::Legacy(b) => {
                        frame += 1;
                        out.push(Packet { frame, data: b.data.to_vec(), linktype: legacy_linktype });
                    }
                    PcapBlockOwned::NG(b) => {
                        use pcap_parser::pcapng::Block;
                        match b {
                            Block::SectionHeader(_) => if_linktypes.clear(),
                            Block::InterfaceDescription(idb) => if_linktypes.push(idb.linktype),
                            Block::EnhancedPacket(epb) => {
                                frame += 1;
                                let lt = if_linktypes
                                    .get(epb.if_id as usize)
                                    .copied()
                                    .unwrap_or(Linktype::ETHERNET);
                                let len = (epb.caplen as usize).min(epb.data.len());
                                out.push(Packet { frame, data: epb.data[..len].to_vec(), linktype: lt });
                            }
                            Block::SimplePacket(spb) => {
                                frame += 1;
                                let lt = if_linktypes.first().copied().unwrap_or(Linktype::ETHERNET);
                                out.push(Packet { frame, data: spb.data.to_vec(), linktype: lt });
                            }
                            _ => {}
                        }
                    }
                }
                reader.consume(offset);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => {
                if reader.refill().is_err() {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    out
}

/// Slice a packet down to TCP/UDP. `None` for anything else.
pub fn transport(p: &Packet) -> Option<Transport<'_>> {
    use etherparse::{LaxSlicedPacket, TransportSlice};
    let sliced = match p.linktype {
        Linktype::ETHERNET => LaxSlicedPacket::from_ethernet(&p.data).ok()?,
        Linktype::RAW | Linktype(228 | 229) => LaxSlicedPacket::from_ip(&p.data).ok()?,
        Linktype::LINUX_SLL => {
            if p.data.len() < 16 {
                return None;
            }
            LaxSlicedPacket::from_ether_type(
                etherparse::EtherType(u16::from_be_bytes([p.data[14], p.data[15]])),
                &p.data[16..],
            )
        }
        Linktype::LINUX_SLL2 => {
            if p.data.len() < 20 {
                return None;
            }
            LaxSlicedPacket::from_ether_type(
                etherparse::EtherType(u16::from_be_bytes([p.data[0], p.data[1]])),
                &p.data[20..],
            )
        }
        Linktype::NULL | Linktype(109) => {
            if p.data.len() < 4 {
                return None;
            }
            LaxSlicedPacket::from_ip(&p.data[4..]).ok()?
        }
        _ => return None,
    };
    let fragmented = sliced
        .net
        .as_ref()
        .map(|n| match n {
            etherparse::LaxNetSlice::Ipv4(v4) => v4.header().is_fragmenting_payload(),
            etherparse::LaxNetSlice::Ipv6(v6) => v6.payload().fragmented,
            _ => false,
        })
        .unwrap_or(false);
    match sliced.transport? {
        TransportSlice::Tcp(t) => Some(Transport {
            tcp: true,
            src_port: t.source_port(),
            dst_port: t.destination_port(),
            payload: t.payload(),
            fragmented,
        }),
        TransportSlice::Udp(u) => Some(Transport {
            tcp: false,
            src_port: u.source_port(),
            dst_port: u.destination_port(),
            payload: u.payload(),
            fragmented,
        }),
        _ => None,
    }
}

/// The captures the project generates itself (`pcaps/**/*.pcap{,ng}`).
pub fn project_pcaps() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../pcaps");
    find_captures(&root)
}

/// The shared conformance corpus (`../shared/corpus` next to the repository),
/// if present. Prints a clear line when it is absent: callers must report
/// "not run", never pass silently.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("CENTINELA_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("conformance corpus not found at {}: skipped (NOT RUN)", dir.display());
        None
    }
}

/// Every capture file under `dir`, sorted, recursively.
pub fn find_captures(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Some(ext) = p.extension().and_then(|e| e.to_str())
                && matches!(ext, "pcap" | "pcapng" | "cap" | "dmp")
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Whether `tshark` is on the PATH.
pub fn have_tshark() -> bool {
    Command::new("tshark").arg("--version").output().map(|o| o.status.success()).unwrap_or(false)
}

/// Run tshark on `path` with a display filter and return its `-T json`
/// output as one JSON array (one element per frame). `extra` are additional
/// arguments (e.g. `-d tcp.port==5020,mbtcp` decode-as rules).
pub fn tshark_json(path: &Path, filter: &str, extra: &[&str]) -> Vec<serde_json::Value> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args(["-n", "-o", "tcp.desegment_tcp_streams:FALSE", "-T", "json", "-Y", filter])
        .args(extra)
        .output()
        .expect("run tshark");
    serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).unwrap_or_default()
}

/// `frame.number` of a tshark JSON frame.
pub fn tshark_frame_number(v: &serde_json::Value) -> Option<u64> {
    v.pointer("/_source/layers/frame/frame.number")?.as_str()?.parse().ok()
}

/// Per-field agreement counters for a differential test.
#[derive(Debug, Default)]
pub struct Agreement {
    fields: std::collections::BTreeMap<String, (u64, u64)>,
    /// Human-readable disagreements (capped).
    pub disagreements: Vec<String>,
}

impl Agreement {
    /// Record one comparison of `field`.
    pub fn check(
        &mut self,
        field: &str,
        ours: impl std::fmt::Debug,
        theirs: impl std::fmt::Debug,
        ctx: &str,
    ) {
        let (a, b) = (format!("{ours:?}"), format!("{theirs:?}"));
        let e = self.fields.entry(field.to_string()).or_default();
        e.0 += 1;
        if a == b {
            e.1 += 1;
        } else if self.disagreements.len() < 200 {
            self.disagreements.push(format!("{ctx}: {field}: ours={a} tshark={b}"));
        }
    }

    /// Total comparisons and agreements.
    pub fn totals(&self) -> (u64, u64) {
        self.fields.values().fold((0, 0), |(n, a), (n2, a2)| (n + n2, a + a2))
    }

    /// Print the per-field table.
    pub fn print(&self, title: &str) {
        eprintln!("== {title}: per-field agreement with tshark");
        for (f, (n, a)) in &self.fields {
            eprintln!(
                "  {f:<32} {a:>8}/{n:<8} {:>7.3}%",
                if *n == 0 { 100.0 } else { *a as f64 * 100.0 / *n as f64 }
            );
        }
        for d in self.disagreements.iter().take(40) {
            eprintln!("  DISAGREE {d}");
        }
    }
}
pub mod alloc;
