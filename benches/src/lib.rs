//! Shared helpers for the benchmarks: loading real PDUs out of the captures
//! under `pcaps/` (and the shared corpus when present).

use pcap_parser::{Linktype, PcapBlockOwned, PcapError, create_reader};
use std::path::{Path, PathBuf};

pub mod dnp3;
pub mod dns;
pub mod modbus;

/// Where a benchmark's samples came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `pcaps/` of this repository.
    ProjectCaptures,
    /// `../shared/corpus`.
    Corpus,
    /// Emitted in code (no capture found).
    Emitted,
}

/// Every `.pcap`/`.pcapng` file under `dir`, recursively, sorted.
pub fn captures_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// One TCP or UDP payload of a capture.
#[derive(Debug, Clone)]
pub struct Payload {
    /// True for UDP, false for TCP.
    pub udp: bool,
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// The transport payload (may be empty).
    pub bytes: Vec<u8>,
}

/// The TCP/UDP payloads of a capture (Ethernet or raw IP link types), in
/// capture order. Stops quietly at a truncated tail.
pub fn payloads(path: &Path) -> Vec<Payload> {
    let mut out = Vec::new();
    let Ok(file) = std::fs::File::open(path) else { return out };
    let Ok(mut reader) = create_reader(1 << 20, file) else { return out };
    let mut linktype = Linktype::ETHERNET;
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                let data: Option<&[u8]> = match &block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        linktype = h.network;
                        None
                    }
                    PcapBlockOwned::Legacy(b) => Some(b.data),
                    PcapBlockOwned::NG(pcap_parser::pcapng::Block::InterfaceDescription(i)) => {
                        linktype = i.linktype;
                        None
                    }
                    PcapBlockOwned::NG(pcap_parser::pcapng::Block::EnhancedPacket(b)) => Some(b.data),
                    _ => None,
                };
                let sliced = data.and_then(|d| match linktype {
                    Linktype::ETHERNET => etherparse::SlicedPacket::from_ethernet(d).ok(),
                    Linktype::RAW => etherparse::SlicedPacket::from_ip(d).ok(),
                    _ => None,
                });
                match sliced.and_then(|s| s.transport) {
                    Some(etherparse::TransportSlice::Tcp(t)) => out.push(Payload {
                        udp: false,
                        src_port: t.source_port(),
                        dst_port: t.destination_port(),
                        bytes: t.payload().to_vec(),
                    }),
                    Some(etherparse::TransportSlice::Udp(u)) => out.push(Payload {
                        udp: true,
                        src_port: u.source_port(),
                        dst_port: u.destination_port(),
                        bytes: u.payload().to_vec(),
                    }),
                    _ => {}
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
