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

/// The machine the figures come from, in one line: CPU model (with its
/// family and model numbers), logical CPUs and cache sizes, read from
/// `/proc/cpuinfo` and sysfs (`unknown` where they cannot be read). Bench
/// figures differ from host to host by more than most changes, so every
/// run names its host.
pub fn host_summary() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    host_summary_from(&cpuinfo, |index, file| {
        std::fs::read_to_string(format!("/sys/devices/system/cpu/cpu0/cache/index{index}/{file}"))
            .ok()
            .map(|s| s.trim().to_owned())
    })
}

/// [`host_summary`] from the text of `/proc/cpuinfo` and a reader of
/// `cpu0/cache/index<N>/<file>`.
pub fn host_summary_from(cpuinfo: &str, cache: impl Fn(u32, &str) -> Option<String>) -> String {
    let field = |name: &str| {
        cpuinfo.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == name).then(|| v.trim().to_owned())
        })
    };
    let cpus =
        cpuinfo.lines().filter(|l| l.split_once(':').is_some_and(|(k, _)| k.trim() == "processor")).count();
    let model = field("model name").unwrap_or_else(|| "unknown CPU".into());
    let ids = match (field("cpu family"), field("model")) {
        (Some(f), Some(m)) => format!(" (family {f}, model {m})"),
        _ => String::new(),
    };
    let mut caches = Vec::new();
    for index in 0..8 {
        let (Some(level), Some(kind), Some(size)) =
            (cache(index, "level"), cache(index, "type"), cache(index, "size"))
        else {
            break;
        };
        let name = match kind.as_str() {
            "Data" => format!("L{level}d"),
            "Instruction" => format!("L{level}i"),
            _ => format!("L{level}"),
        };
        caches.push(format!("{name} {size}"));
    }
    let caches = if caches.is_empty() { "caches unknown".to_owned() } else { caches.join(", ") };
    format!("{model}{ids}, {cpus} logical CPUs, {caches}")
}

#[cfg(test)]
mod tests {
    use super::host_summary_from;

    #[test]
    fn host_summary_names_the_cpu_its_count_and_caches() {
        let cpuinfo = "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 207\n\
                       model name\t: Intel(R) Xeon(R) Processor\n\nprocessor\t: 1\ncpu family\t: 6\nmodel\t\t: 207\n\
                       model name\t: Intel(R) Xeon(R) Processor\n";
        let caches = [("1", "Data", "48K"), ("1", "Instruction", "32K"), ("2", "Unified", "2048K")];
        let line = host_summary_from(cpuinfo, |i, file| {
            let (level, kind, size) = caches.get(i as usize)?;
            Some(match file {
                "level" => (*level).to_owned(),
                "type" => (*kind).to_owned(),
                _ => (*size).to_owned(),
            })
        });
        assert_eq!(
            line,
            "Intel(R) Xeon(R) Processor (family 6, model 207), 2 logical CPUs, L1d 48K, L1i 32K, L2 2048K"
        );
        // Nothing readable: still one line, saying so.
        assert_eq!(host_summary_from("", |_, _| None), "unknown CPU, 0 logical CPUs, caches unknown");
    }
}
