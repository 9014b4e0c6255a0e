//! Packet sources: pcap/pcapng files (optionally gzip-compressed).
//!
//! A plain file is memory-mapped ([`crate::mmap`]) and its records are
//! parsed in place by [`SliceReader`]; gzip-compressed files, pipes and
//! anything that cannot be mapped go through pcap-parser's streaming reader
//! over a fixed buffer. Both give the same packets and the same errors for
//! the same bytes (tested on every truncation of sample files). Each packet
//! is handed to a callback as a [`RawPacket`] borrowing the map or the
//! buffer (the dispatcher copies it into a batch). Corrupt or truncated
//! input ends the file with a [`SourceError`] after every packet before the
//! damage was delivered.

use crate::mmap::{MappedFile, Window};
use centinela_events::Timestamp;
use pcap_parser::nom::{self, Needed};
use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapBlock, PcapBlockOwned, PcapError, PcapHeader, create_reader};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Reader buffer; a block larger than this is reported as corrupt (by the
/// mapped reader too, so both readers agree).
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

/// An opened capture file.
pub enum Input {
    /// A plain file, memory-mapped, with the progress counter to update.
    Mapped(Arc<MappedFile>, Arc<AtomicU64>),
    /// A gzip-compressed file, a pipe, or a file that could not be mapped.
    Stream(Box<dyn Read + Send>),
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Input::Mapped(..) => "Input::Mapped",
            Input::Stream(_) => "Input::Stream",
        })
    }
}

/// Open a file: plain regular files are memory-mapped, gzip-compressed ones
/// are decompressed as a stream, anything else (pipes, devices, files that
/// cannot be mapped) is streamed. `consumed` counts the file bytes read (for
/// the progress bar).
pub fn open(path: &Path, consumed: Arc<AtomicU64>) -> Result<Input, SourceError> {
    let io = |e: std::io::Error| SourceError::Io(format!("{}: {e}", path.display()));
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut magic = [0u8; 2];
    let n = f.read(&mut magic).map_err(|e| SourceError::Io(e.to_string()))?;
    if n == 2 && magic == [0x1f, 0x8b] {
        let f = std::fs::File::open(path).map_err(io)?;
        let counted = Counting { inner: f, n: consumed };
        return Ok(Input::Stream(Box::new(std::io::BufReader::with_capacity(
            1 << 16,
            flate2::read::MultiGzDecoder::new(counted),
        ))));
    }
    let regular = f.metadata().is_ok_and(|m| m.is_file() && m.len() > 0);
    if regular && let Ok(m) = MappedFile::new(&f) {
        return Ok(Input::Mapped(Arc::new(m), consumed));
    }
    let f = std::fs::File::open(path).map_err(io)?;
    Ok(Input::Stream(Box::new(Counting { inner: f, n: consumed })))
}

/// A [`PcapReaderIterator`] over bytes already in memory (a memory-mapped
/// file): records are parsed in place, nothing is copied or refilled. It
/// answers as pcap-parser's streaming readers do at the end of their input
/// (`UnexpectedEof` for a truncated record) and reports a record of
/// `limit` ([`READ_BUFFER`]) bytes or more as `BufferTooSmall`, the
/// streaming readers' limit.
pub struct SliceReader<'a> {
    data: &'a [u8],
    pos: usize,
    limit: usize,
    format: Format,
}

/// pcap-parser's legacy record parsers (one per magic).
type LegacyParser = fn(&[u8]) -> nom::IResult<&[u8], LegacyPcapBlock<'_>, PcapError<&[u8]>>;

enum Format {
    /// Legacy pcap: its header (returned first, as the streaming reader
    /// does) and the record parser its magic selects.
    Legacy { header: Option<PcapHeader>, parse: LegacyParser },
    /// pcapng: the current section's byte order.
    Ng { big_endian: bool },
}

impl<'a> SliceReader<'a> {
    /// Recognise the format as `create_reader` does (pcapng section header
    /// first, then a legacy header), looking at the first `limit` bytes
    /// only, as a streaming reader with a buffer of `limit` bytes does.
    pub fn new(data: &'a [u8], limit: usize) -> Result<Self, PcapError<&'static [u8]>> {
        if data.is_empty() {
            return Err(PcapError::Eof);
        }
        let head = data.get(..limit).unwrap_or(data);
        if pcap_parser::pcapng::parse_sectionheaderblock(head).is_ok() {
            return Ok(Self { data, pos: 0, limit, format: Format::Ng { big_endian: false } });
        }
        match pcap_parser::parse_pcap_header(head) {
            Ok((_, h)) => {
                let parse = if h.is_modified_format() {
                    pcap_parser::parse_pcap_frame_modified
                } else if h.is_bigendian() {
                    pcap_parser::parse_pcap_frame_be
                } else {
                    pcap_parser::parse_pcap_frame
                };
                Ok(Self { data, pos: 0, limit, format: Format::Legacy { header: Some(h), parse } })
            }
            Err(nom::Err::Incomplete(Needed::Size(n))) => Err(PcapError::Incomplete(n.into())),
            Err(nom::Err::Incomplete(Needed::Unknown)) => Err(PcapError::Incomplete(0)),
            Err(_) => Err(PcapError::HeaderNotRecognized),
        }
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> usize {
        self.pos
    }
}

impl std::fmt::Debug for SliceReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SliceReader").field("len", &self.data.len()).field("pos", &self.pos).finish()
    }
}

impl PcapReaderIterator for SliceReader<'_> {
    fn next(&mut self) -> Result<(usize, PcapBlockOwned<'_>), PcapError<&[u8]>> {
        let rest = self.data.get(self.pos..).unwrap_or_default();
        let parsed = match &mut self.format {
            Format::Legacy { header, .. } if header.is_some() => {
                return match header.take() {
                    Some(h) => Ok((h.size(), PcapBlockOwned::from(h))),
                    None => Err(PcapError::Eof),
                };
            }
            _ if rest.is_empty() => return Err(PcapError::Eof),
            Format::Legacy { parse, .. } => parse(rest).map(|(rem, b)| (rem, PcapBlockOwned::from(b))),
            Format::Ng { big_endian } => {
                let parse =
                    if *big_endian { pcap_parser::parse_block_be } else { pcap_parser::parse_block_le };
                parse(rest).map(|(rem, b)| {
                    if let Block::SectionHeader(shb) = &b {
                        *big_endian = shb.big_endian();
                    }
                    (rem, PcapBlockOwned::from(b))
                })
            }
        };
        match parsed {
            Ok((rem, b)) => {
                let size = rest.len().saturating_sub(rem.len());
                if size >= self.limit { Err(PcapError::BufferTooSmall) } else { Ok((size, b)) }
            }
            Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(e),
            Err(nom::Err::Incomplete(n)) => {
                let needed = match n {
                    Needed::Size(n) => n.get(),
                    Needed::Unknown => 0,
                };
                if rest.len().saturating_add(needed) >= self.limit {
                    Err(PcapError::BufferTooSmall)
                } else {
                    Err(PcapError::UnexpectedEof)
                }
            }
        }
    }

    fn consume(&mut self, offset: usize) {
        self.pos = self.pos.saturating_add(offset).min(self.data.len());
    }

    fn consume_noshift(&mut self, offset: usize) {
        self.consume(offset);
    }

    fn consumed(&self) -> usize {
        self.pos
    }

    fn refill(&mut self) -> Result<(), PcapError<&[u8]>> {
        Ok(())
    }

    fn position(&self) -> usize {
        self.pos
    }

    fn grow(&mut self, _new_size: usize) -> bool {
        false
    }

    fn data(&self) -> &[u8] {
        self.data.get(self.pos..).unwrap_or_default()
    }

    fn reader_exhausted(&self) -> bool {
        true
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
pub fn read_pcap(input: Input, f: &mut dyn FnMut(RawPacket<'_>) -> bool) -> Result<u64, SourceError> {
    match input {
        Input::Stream(r) => read_stream(r, READ_BUFFER, f),
        Input::Mapped(m, consumed) => {
            let mut window = Window::new(&m);
            let after = |pos: usize| {
                if window.advance(pos) {
                    consumed.store(pos as u64, Ordering::Relaxed);
                }
            };
            let r = read_slice(m.bytes(), READ_BUFFER, f, after);
            consumed.store(m.bytes().len() as u64, Ordering::Relaxed);
            r
        }
    }
}

/// Read a stream through pcap-parser's reader with a `buffer`-byte buffer.
fn read_stream(
    r: Box<dyn Read + Send>,
    buffer: usize,
    f: &mut dyn FnMut(RawPacket<'_>) -> bool,
) -> Result<u64, SourceError> {
    match create_reader(buffer, r) {
        Ok(mut reader) => read_records(reader.as_mut(), f, |_| {}),
        Err(e) => start_error(&e),
    }
}

/// Read a capture in memory (a mapped file) with [`SliceReader`].
fn read_slice(
    bytes: &[u8],
    limit: usize,
    f: &mut dyn FnMut(RawPacket<'_>) -> bool,
    after: impl FnMut(usize),
) -> Result<u64, SourceError> {
    match SliceReader::new(bytes, limit) {
        Ok(mut reader) => read_records(&mut reader, f, after),
        Err(e) => start_error(&e),
    }
}

/// The outcome of a file whose format could not be recognised.
fn start_error(e: &PcapError<&[u8]>) -> Result<u64, SourceError> {
    match e {
        PcapError::Eof => Ok(0),
        PcapError::HeaderNotRecognized | PcapError::NomError(..) | PcapError::OwnedNomError(..) => {
            Err(SourceError::NotPcap)
        }
        PcapError::Incomplete(_) | PcapError::UnexpectedEof => Err(SourceError::Truncated { packets: 0 }),
        e => Err(SourceError::Io(format!("{e:?}"))),
    }
}

/// The record loop shared by both readers; `after` sees the reader's
/// offset after each block.
fn read_records<R: PcapReaderIterator + ?Sized>(
    reader: &mut R,
    f: &mut dyn FnMut(RawPacket<'_>) -> bool,
    mut after: impl FnMut(usize),
) -> Result<u64, SourceError> {
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
                after(reader.consumed());
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
        let r = read_pcap(Input::Stream(Box::new(std::io::Cursor::new(bytes))), &mut |p| {
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

    /// Everything a packet carries, owned.
    type Got = (Timestamp, i32, Vec<u8>, u32, u16);

    /// The limit both readers get in the differential tests: a 4 MiB
    /// buffer per read would make them slow in debug builds.
    const SMALL: usize = 64 << 10;

    fn stream_with(bytes: &[u8], buffer: usize) -> (Vec<Got>, Result<u64, SourceError>) {
        let mut got = Vec::new();
        let r = read_stream(Box::new(std::io::Cursor::new(bytes.to_vec())), buffer, &mut |p| {
            got.push((p.ts, p.linktype, p.data.to_vec(), p.orig_len, p.iface));
            true
        });
        (got, r)
    }

    fn sliced_with(bytes: &[u8], limit: usize) -> (Vec<Got>, Result<u64, SourceError>) {
        let mut got = Vec::new();
        let r = read_slice(
            bytes,
            limit,
            &mut |p| {
                got.push((p.ts, p.linktype, p.data.to_vec(), p.orig_len, p.iface));
                true
            },
            |_| {},
        );
        (got, r)
    }

    fn stream(bytes: &[u8]) -> (Vec<Got>, Result<u64, SourceError>) {
        stream_with(bytes, SMALL)
    }

    fn sliced(bytes: &[u8]) -> (Vec<Got>, Result<u64, SourceError>) {
        sliced_with(bytes, SMALL)
    }

    /// A legacy pcap with the given magic, written in big- or little-endian.
    fn legacy(magic: u32, be: bool, linktype: u32, records: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let u32b = |v: u32| if be { v.to_be_bytes() } else { v.to_le_bytes() };
        let u16b = |v: u16| if be { v.to_be_bytes() } else { v.to_le_bytes() };
        let mut v = Vec::new();
        v.extend_from_slice(&u32b(magic));
        v.extend_from_slice(&u16b(2));
        v.extend_from_slice(&u16b(4));
        v.extend_from_slice(&[0; 8]);
        v.extend_from_slice(&u32b(65535));
        v.extend_from_slice(&u32b(linktype));
        for (sec, frac, d) in records {
            v.extend_from_slice(&u32b(*sec));
            v.extend_from_slice(&u32b(*frac));
            v.extend_from_slice(&u32b(d.len() as u32));
            v.extend_from_slice(&u32b(d.len() as u32 + 10));
            v.extend_from_slice(d);
        }
        v
    }

    /// pcapng blocks of one section in one byte order.
    struct Ng {
        be: bool,
        out: Vec<u8>,
    }

    impl Ng {
        fn u32(&self, v: u32) -> [u8; 4] {
            if self.be { v.to_be_bytes() } else { v.to_le_bytes() }
        }

        fn block(&mut self, kind: u32, body: &[u8]) {
            let mut body = body.to_vec();
            while !body.len().is_multiple_of(4) {
                body.push(0);
            }
            let total = 12 + body.len() as u32;
            let (k, t) = (self.u32(kind), self.u32(total));
            self.out.extend_from_slice(&k);
            self.out.extend_from_slice(&t);
            self.out.extend_from_slice(&body);
            self.out.extend_from_slice(&t);
        }

        fn section(be: bool, out: Vec<u8>) -> Self {
            let mut ng = Ng { be, out };
            let mut body = ng.u32(0x1A2B_3C4D).to_vec();
            let (major, minor) = if be {
                (1u16.to_be_bytes(), 0u16.to_be_bytes())
            } else {
                (1u16.to_le_bytes(), 0u16.to_le_bytes())
            };
            body.extend_from_slice(&major);
            body.extend_from_slice(&minor);
            body.extend_from_slice(&[0xff; 8]);
            ng.block(0x0A0D_0D0A, &body);
            ng
        }

        fn interface(&mut self, linktype: u16, tsresol: Option<u8>) {
            let u16b = |v: u16| if self.be { v.to_be_bytes() } else { v.to_le_bytes() };
            let mut body = Vec::new();
            body.extend_from_slice(&u16b(linktype));
            body.extend_from_slice(&[0, 0]);
            body.extend_from_slice(&self.u32(65535));
            if let Some(r) = tsresol {
                body.extend_from_slice(&u16b(9));
                body.extend_from_slice(&u16b(1));
                body.extend_from_slice(&[r, 0, 0, 0]);
                body.extend_from_slice(&[0, 0, 0, 0]);
            }
            self.block(1, &body);
        }

        fn packet(&mut self, iface: u32, ts: u64, data: &[u8]) {
            let mut body = Vec::new();
            for v in [iface, (ts >> 32) as u32, ts as u32, data.len() as u32, data.len() as u32 + 4] {
                body.extend_from_slice(&self.u32(v));
            }
            body.extend_from_slice(data);
            self.block(6, &body);
        }

        fn simple(&mut self, data: &[u8]) {
            let mut body = self.u32(data.len() as u32).to_vec();
            body.extend_from_slice(data);
            self.block(3, &body);
        }
    }

    fn samples() -> Vec<(&'static str, Vec<u8>)> {
        let recs: [(u32, u32, &[u8]); 3] =
            [(1_700_000_000, 5, b"abcdefgh"), (1_700_000_001, 999_999, b"ijk"), (1_700_000_002, 7, b"")];
        let mut ng = Ng::section(false, Vec::new());
        ng.interface(1, None);
        ng.interface(113, Some(9));
        ng.packet(0, 1_700_000_000_123_456, b"first packet");
        ng.packet(1, 1_700_000_000_123_456_789, b"second, nanoseconds");
        ng.simple(b"simple packet block");
        ng.packet(7, 5, b"unknown interface");
        // A second section, big-endian, with its own interfaces.
        let mut be = Ng::section(true, ng.out);
        be.interface(101, Some(3));
        be.packet(0, 1_700_000_000_250, b"big-endian, milliseconds");
        vec![
            ("legacy", legacy(0xa1b2_c3d4, false, 1, &recs)),
            ("legacy big-endian", legacy(0xa1b2_c3d4, true, 1, &recs)),
            ("legacy nanoseconds", legacy(0xa1b2_3c4d, false, 113, &recs)),
            ("pcapng", be.out),
        ]
    }

    #[test]
    fn the_mapped_reader_reads_what_the_streaming_reader_reads() {
        for (name, bytes) in samples() {
            let (got, r) = sliced(&bytes);
            assert!(r.is_ok(), "{name}: {r:?}");
            assert!(got.len() >= 3, "{name}: {got:?}");
            assert_eq!((got, r), stream(&bytes), "{name}");
        }
        let (got, _) = sliced(&samples()[3].1);
        // Interfaces, resolutions and byte orders as written.
        assert_eq!(got[0].0, Timestamp::from_micros(1_700_000_000, 123_456));
        assert_eq!((got[1].0, got[1].1, got[1].4), (Timestamp::new(1_700_000_000, 123_456_789), 113, 1));
        assert_eq!((got[4].0, got[4].1), (Timestamp::new(1_700_000_000, 250_000_000), 101));
    }

    #[test]
    fn both_readers_agree_on_every_truncation_and_corruption() {
        for (name, bytes) in samples() {
            for n in 0..bytes.len() {
                assert_eq!(sliced(&bytes[..n]), stream(&bytes[..n]), "{name} cut at {n}");
            }
            for i in 0..bytes.len() {
                for v in [0x00, 0xff, 0x80] {
                    let mut bad = bytes.clone();
                    bad[i] = v;
                    assert_eq!(sliced(&bad), stream(&bad), "{name}: byte {i} set to {v:#x}");
                }
            }
        }
    }

    #[test]
    fn both_readers_reject_a_record_larger_than_the_read_buffer() {
        // At the real limit, and at the small one the other tests use.
        for limit in [READ_BUFFER, SMALL] {
            let big = vec![7u8; limit + 10];
            let mut bytes =
                legacy(0xa1b2_c3d4, false, 1, &[(1, 0, b"small"), (2, 0, &big), (3, 0, b"after")]);
            let (got, r) = sliced_with(&bytes, limit);
            assert_eq!(got.len(), 1);
            assert!(matches!(&r, Err(SourceError::Corrupt { packets: 1, .. })), "{r:?}");
            assert_eq!((got, r), stream_with(&bytes, limit));
            // A caplen far beyond the end of the file.
            bytes.truncate(24 + 16 + 5 + 16);
            bytes[24 + 16 + 5 + 8..24 + 16 + 5 + 12].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
            assert_eq!(sliced_with(&bytes, limit), stream_with(&bytes, limit));
        }
    }

    #[test]
    fn plain_files_are_mapped_and_compressed_ones_streamed() {
        use std::io::Write;
        let bytes = &samples()[0].1;
        let dir = tempfile::tempdir().expect("tempdir");
        let plain = dir.path().join("c.pcap");
        std::fs::write(&plain, bytes).expect("write");
        let gz = dir.path().join("c.pcap.gz");
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).expect("gzip");
        std::fs::write(&gz, e.finish().expect("gzip")).expect("write");
        let empty = dir.path().join("empty.pcap");
        std::fs::write(&empty, b"").expect("write");
        let counter = Arc::new(AtomicU64::new(0));
        let mut results = Vec::new();
        for (path, mapped) in [(&plain, true), (&gz, false), (&empty, false)] {
            let input = open(path, Arc::clone(&counter)).expect("open");
            assert_eq!(matches!(input, Input::Mapped(..)), mapped, "{}", path.display());
            let mut got = Vec::new();
            let r = read_pcap(input, &mut |p| {
                got.push((p.ts, p.data.to_vec()));
                true
            });
            results.push((got, r));
        }
        assert_eq!(results[0], results[1]);
        assert_eq!(results[2], (Vec::new(), Ok(0)));
    }
}
