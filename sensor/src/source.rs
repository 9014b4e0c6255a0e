//! Packet sources: pcap/pcapng files (optionally gzip-compressed) read with
//! pcap-parser's streaming reader over a fixed buffer.
//!
//! A file is read block by block; each packet is handed to a callback as a
//! [`RawPacket`] borrowing the reader's buffer (the dispatcher copies it into
//! a batch). Corrupt or truncated input ends the file with a
//! [`SourceError`] after every packet before the damage was delivered.

use centinela_events::Timestamp;
use pcap_parser::pcapng::Block;
use pcap_parser::{PcapBlockOwned, PcapError, create_reader};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Reader buffer; a block larger than this is reported as corrupt.
pub const READ_BUFFER: usize = 4 << 20;

/// A packet as read from a source.
#[derive(Debug, Clone, Copy)]
pub struct RawPacket<'a> {
    /// Packet time.
    pub ts: Timestamp,
    /// Link type.
    pub linktype: i32,
    /// Captured bytes.
    pub data: &'a [u8],
    /// Length on the wire.
    pub orig_len: u32,
    /// Interface index.
    pub iface: u16,
}

/// Why a file stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceError {
    /// Could not open or read the file.
    Io(String),
    /// Not a pcap or pcapng file.
    NotPcap,
    /// The file ends in the middle of a record.
    Truncated {
        /// Packets delivered before.
        packets: u64,
    },
    /// A record could not be parsed.
    Corrupt {
        /// Packets delivered before.
        packets: u64,
        /// Parser message.
        detail: String,
    },
}

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceError::Io(e) => write!(f, "{e}"),
            SourceError::NotPcap => {
                write!(f, "not a pcap or pcapng file (gzip-compressed ones are accepted too)")
            }
            SourceError::Truncated { packets } => {
                write!(f, "truncated after {packets} packets (last record incomplete)")
            }
            SourceError::Corrupt { packets, detail } => {
                write!(f, "corrupt record after {packets} packets: {detail}")
            }
        }
    }
}

struct Counting<R> {
    inner: R,
    n: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n.fetch_add(k as u64, Ordering::Relaxed);
        Ok(k)
    }
}

/// Open a file, transparently decompressing gzip. `consumed` counts the
/// file bytes read (for the progress bar).
pub fn open(path: &Path, consumed: Arc<AtomicU64>) -> Result<Box<dyn Read + Send>, SourceError> {
    let mut f = std::fs::File::open(path).map_err(|e| SourceError::Io(format!("{}: {e}", path.display())))?;
    let mut magic = [0u8; 2];
    let n = f.read(&mut magic).map_err(|e| SourceError::Io(e.to_string()))?;
    drop(f);
    let f = std::fs::File::open(path).map_err(|e| SourceError::Io(format!("{}: {e}", path.display())))?;
    let counted = Counting { inner: f, n: consumed };
    if n == 2 && magic == [0x1f, 0x8b] {
        Ok(Box::new(std::io::BufReader::with_capacity(1 << 16, flate2::read::MultiGzDecoder::new(counted))))
    } else {
        Ok(Box::new(counted))
    }
}

#[derive(Clone, Copy)]
struct Iface {
    linktype: i32,
    resolution: u64,
    offset: i64,
}

/// Read every packet of `input`, calling `f` for each; `f` returns false to
/// stop early. Returns the number of packets read.
pub fn read_pcap(
    input: Box<dyn Read + Send>,
    f: &mut dyn FnMut(RawPacket<'_>) -> bool,
) -> Result<u64, SourceError> {
    let mut reader = match create_reader(READ_BUFFER, input) {
        Ok(r) => r,
        Err(PcapError::Eof) => return Ok(0),
        Err(PcapError::HeaderNotRecognized | PcapError::NomError(..) | PcapError::OwnedNomError(..)) => {
            return Err(SourceError::NotPcap);
        }
        Err(PcapError::Incomplete(_) | PcapError::UnexpectedEof) => {
            return Err(SourceError::Truncated { packets: 0 });
        }
        Err(e) => return Err(SourceError::Io(format!("{e:?}"))),
    };
    let mut packets = 0u64;
    let mut legacy = Iface { linktype: 1, resolution: 1_000_000, offset: 0 };
    let mut ifaces: Vec<Iface> = Vec::new();
    let mut stalled = 0u32;
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                stalled = 0;
                let mut keep_going = true;
                match block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        legacy.linktype = h.network.0;
                        legacy.resolution =
                            if h.is_nanosecond_precision() { 1_000_000_000 } else { 1_000_000 };
                    }
                    PcapBlockOwned::Legacy(b) => {
                        packets += 1;
                        let frac = u64::from(b.ts_usec);
                        let nanos = if legacy.resolution == 1_000_000 { frac * 1000 } else { frac };
                        let ts = Timestamp::new(i64::from(b.ts_sec), nanos.min(u64::from(u32::MAX)) as u32);
                        let len = (b.caplen as usize).min(b.data.len());
                        keep_going = f(RawPacket {
                            ts,
                            linktype: legacy.linktype,
                            data: &b.data[..len],
                            orig_len: b.origlen.max(len as u32),
                            iface: 0,
                        });
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => ifaces.clear(),
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        ifaces.push(Iface {
                            linktype: idb.linktype.0,
                            resolution: idb.ts_resolution().unwrap_or(1_000_000).max(1),
                            offset: idb.ts_offset(),
                        });
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        packets += 1;
                        let iface = ifaces.get(epb.if_id as usize).copied().unwrap_or(legacy);
                        let raw = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                        let secs = i64::try_from(raw / iface.resolution)
                            .unwrap_or(i64::MAX)
                            .saturating_add(iface.offset);
                        let frac = raw % iface.resolution;
                        let nanos = (u128::from(frac) * 1_000_000_000 / u128::from(iface.resolution)) as u32;
                        let len = (epb.caplen as usize).min(epb.data.len());
                        keep_going = f(RawPacket {
                            ts: Timestamp::new(secs, nanos),
                            linktype: iface.linktype,
                            data: &epb.data[..len],
                            orig_len: epb.origlen.max(len as u32),
                            iface: epb.if_id.min(u32::from(u16::MAX)) as u16,
                        });
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                        packets += 1;
                        let iface = ifaces.first().copied().unwrap_or(legacy);
                        keep_going = f(RawPacket {
                            ts: Timestamp::default(),
                            linktype: iface.linktype,
                            data: spb.data,
                            orig_len: spb.origlen.max(spb.data.len() as u32),
                            iface: 0,
                        });
                    }
                    PcapBlockOwned::NG(_) => {}
                }
                // No shift here: `consume` moves the unread half of the
                // buffer to its start every time half of it was read (the
                // whole file copied once more); `refill` shifts only the
                // partial record left at the end.
                reader.consume_noshift(offset);
                if !keep_going {
                    return Ok(packets);
                }
            }
            Err(PcapError::Eof) => return Ok(packets),
            Err(PcapError::Incomplete(_)) => {
                stalled += 1;
                if stalled > 2 {
                    // No progress after refills: a record larger than the
                    // buffer or a truncated tail.
                    return Err(if reader.reader_exhausted() {
                        SourceError::Truncated { packets }
                    } else {
                        SourceError::Corrupt { packets, detail: "record larger than the read buffer".into() }
                    });
                }
                if reader.refill().is_err() {
                    return Err(SourceError::Corrupt { packets, detail: "refill failed".into() });
                }
            }
            Err(PcapError::BufferTooSmall) => {
                return Err(SourceError::Corrupt {
                    packets,
                    detail: "record larger than the read buffer".into(),
                });
            }
            Err(PcapError::UnexpectedEof) => return Err(SourceError::Truncated { packets }),
            Err(e) => return Err(SourceError::Corrupt { packets, detail: format!("{e:?}") }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn legacy_pcap(records: &[(&[u8], u32)]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        v.extend_from_slice(&2u16.to_le_bytes());
        v.extend_from_slice(&4u16.to_le_bytes());
        v.extend_from_slice(&[0; 8]);
        v.extend_from_slice(&65535u32.to_le_bytes());
        v.extend_from_slice(&1u32.to_le_bytes());
        for (i, (d, caplen)) in records.iter().enumerate() {
            v.extend_from_slice(&(100 + i as u32).to_le_bytes());
            v.extend_from_slice(&5u32.to_le_bytes());
            v.extend_from_slice(&caplen.to_le_bytes());
            v.extend_from_slice(&(d.len() as u32).to_le_bytes());
            v.extend_from_slice(d);
        }
        v
    }

    fn read_all(bytes: Vec<u8>) -> (Vec<(Timestamp, usize)>, Result<u64, SourceError>) {
        let mut got = Vec::new();
        let r = read_pcap(Box::new(std::io::Cursor::new(bytes)), &mut |p| {
            got.push((p.ts, p.data.len()));
            true
        });
        (got, r)
    }

    #[test]
    fn reads_legacy_records() {
        let (got, r) = read_all(legacy_pcap(&[(b"abcd", 4), (b"ef", 2)]));
        assert_eq!(r, Ok(2));
        assert_eq!(got, vec![(Timestamp::from_micros(100, 5), 4), (Timestamp::from_micros(101, 5), 2)]);
    }

    #[test]
    fn truncation_at_every_length_is_an_error_not_a_panic() {
        let full = legacy_pcap(&[(b"abcdefgh", 8), (b"ijkl", 4)]);
        for n in 0..full.len() {
            let (got, r) = read_all(full[..n].to_vec());
            assert!(got.len() <= 2);
            if n > 24 && n < full.len() && n != 24 + 16 + 8 {
                assert!(r.is_err(), "len {n}: {r:?}");
            }
        }
    }

    #[test]
    fn huge_caplen_and_garbage() {
        let mut bad = legacy_pcap(&[(b"abcd", 4)]);
        // caplen field of the first record
        bad[24 + 8..24 + 12].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
        let (_, r) = read_all(bad);
        assert!(r.is_err());
        let (_, r) = read_all(b"this is not a capture file at all".to_vec());
        assert_eq!(r, Err(SourceError::NotPcap));
        let (_, r) = read_all(Vec::new());
        assert_eq!(r, Ok(0));
    }
}
