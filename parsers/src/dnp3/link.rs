//! DNP3 data link layer: the FT3 frame (IEEE 1815-2012 §9.2).
//!
//! ```text
//!  0      1      2      3      4..6   6..8   8..10
//! +------+------+------+------+------+------+------+---------------------+
//! | 0x05 | 0x64 | LEN  | CTRL | DEST | SRC  | CRC  | ≤16 data | CRC | ... |
//! +------+------+------+------+------+------+------+---------------------+
//! ```
//!
//! `LEN` counts CTRL, DEST, SRC and the user data (not the CRCs), so it is at
//! least 5 and the user data is `LEN − 5` ≤ 250 octets, cut in blocks of 16
//! each followed by a little-endian CRC-16/DNP. Addresses are little-endian.
//!
//! * [`Header::parse`] checks sync, length and the header CRC.
//! * [`Frame::new_checked`] checks a whole frame (every block CRC), without
//!   copying; [`Frame::parse`] checks and copies the de-CRC'd user data into
//!   a caller-provided `[u8; 250]` in one pass — the only copy.
//! * [`Framer`] is the sans-IO [`StreamFramer`] for TCP
//!   (FindSync → Header → Body); a bad CRC is a `Discard` of the two sync
//!   octets after which it scans for the next `0x05 0x64`.
//! * [`frames`] iterates the frames of one UDP datagram.
//! * [`emit`] writes a frame (used by tests and the capture generator).

use super::crc16;
use crate::limits::dnp3 as lim;
use crate::stream::{FrameStep, StreamFramer};

/// The two sync octets that start every frame.
pub const SYNC: [u8; 2] = [0x05, 0x64];
/// Length of the frame header including its CRC.
pub const HEADER_LEN: usize = field::HEADER_CRC.end;
/// Most user-data octets in one frame.
pub const MAX_USER_DATA: usize = lim::LINK_MAX_USER_DATA;
/// Longest frame on the wire.
pub const MAX_FRAME: usize = lim::LINK_MAX_FRAME;
/// User-data octets per CRC block.
pub const BLOCK: usize = lim::LINK_BLOCK;
/// Length of each CRC.
pub const CRC_LEN: usize = 2;

/// Field offsets of the header.
pub mod field {
    use core::ops::Range;
    /// Sync octets.
    pub const START: Range<usize> = 0..2;
    /// Length octet.
    pub const LENGTH: usize = 2;
    /// Control octet.
    pub const CONTROL: usize = 3;
    /// Destination address (little-endian).
    pub const DESTINATION: Range<usize> = 4..6;
    /// Source address (little-endian).
    pub const SOURCE: Range<usize> = 6..8;
    /// Header CRC (little-endian), over octets 0..8.
    pub const HEADER_CRC: Range<usize> = 8..10;
}

/// Why a link frame could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// At least `needed` more octets are required.
    Incomplete {
        /// Lower bound on the octets still missing.
        needed: usize,
    },
    /// The buffer does not start with `0x05 0x64`.
    BadSync,
    /// Octets before the next sync pattern were skipped (framer only).
    Garbage {
        /// How many octets were skipped.
        len: usize,
    },
    /// `LENGTH` below 5 (§9.2.4.1.2).
    BadLength {
        /// The length octet.
        length: u8,
    },
    /// The header CRC does not match.
    BadHeaderCrc,
    /// The CRC of user-data block `block` (0-based) does not match.
    BadBodyCrc {
        /// Index of the failing block.
        block: u8,
    },
    /// The output buffer of [`emit`] is too small or the user data too long.
    BufferTooSmall,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::Incomplete { needed } => write!(f, "incomplete link frame: {needed} more octets needed"),
            Error::BadSync => f.write_str("link frame does not start with 0x05 0x64"),
            Error::Garbage { len } => write!(f, "{len} octets skipped before sync"),
            Error::BadLength { length } => write!(f, "link length {length} < 5"),
            Error::BadHeaderCrc => f.write_str("bad link header CRC"),
            Error::BadBodyCrc { block } => write!(f, "bad link CRC in data block {block}"),
            Error::BufferTooSmall => f.write_str("buffer too small"),
        }
    }
}

impl Error {
    /// The anomaly flag this error maps to (empty for `Incomplete`).
    pub fn flag(self) -> super::Flags {
        use super::Flags;
        match self {
            Error::BadHeaderCrc => Flags::BAD_HEADER_CRC,
            Error::BadBodyCrc { .. } => Flags::BAD_BODY_CRC,
            Error::BadLength { .. } => Flags::BAD_LINK_LENGTH,
            Error::Garbage { .. } | Error::BadSync => Flags::LINK_GARBAGE,
            Error::Incomplete { .. } | Error::BufferTooSmall => Flags::NONE,
        }
    }
}

/// Link function code, interpreted with the PRM bit (Tables 9-1 and 9-2).
/// Open: codes the standard does not define are [`Function::Unknown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    /// PRM=1, 0: RESET_LINK_STATES.
    ResetLinkStates,
    /// PRM=1, 2: TEST_LINK_STATES.
    TestLinkStates,
    /// PRM=1, 3: CONFIRMED_USER_DATA.
    ConfirmedUserData,
    /// PRM=1, 4: UNCONFIRMED_USER_DATA.
    UnconfirmedUserData,
    /// PRM=1, 9: REQUEST_LINK_STATUS.
    RequestLinkStatus,
    /// PRM=0, 0: ACK.
    Ack,
    /// PRM=0, 1: NACK.
    Nack,
    /// PRM=0, 11: LINK_STATUS.
    LinkStatus,
    /// PRM=0, 15: NOT_SUPPORTED.
    NotSupported,
    /// Any other code.
    Unknown {
        /// The PRM bit.
        prm: bool,
        /// The 4-bit code.
        code: u8,
    },
}

impl Function {
    /// Decode the 4-bit `code` for a primary (`prm`) or secondary frame.
    pub const fn from_bits(prm: bool, code: u8) -> Function {
        match (prm, code & 0x0f) {
            (true, 0) => Function::ResetLinkStates,
            (true, 2) => Function::TestLinkStates,
            (true, 3) => Function::ConfirmedUserData,
            (true, 4) => Function::UnconfirmedUserData,
            (true, 9) => Function::RequestLinkStatus,
            (false, 0) => Function::Ack,
            (false, 1) => Function::Nack,
            (false, 11) => Function::LinkStatus,
            (false, 15) => Function::NotSupported,
            (prm, code) => Function::Unknown { prm, code },
        }
    }

    /// The 4-bit code.
    pub const fn code(self) -> u8 {
        match self {
            Function::ResetLinkStates | Function::Ack => 0,
            Function::Nack => 1,
            Function::TestLinkStates => 2,
            Function::ConfirmedUserData => 3,
            Function::UnconfirmedUserData => 4,
            Function::RequestLinkStatus => 9,
            Function::LinkStatus => 11,
            Function::NotSupported => 15,
            Function::Unknown { code, .. } => code & 0x0f,
        }
    }

    /// Whether frames with this function carry user data.
    pub const fn has_user_data(self) -> bool {
        matches!(self, Function::ConfirmedUserData | Function::UnconfirmedUserData)
    }
}

/// The control octet (§9.2.4.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Control {
    /// DIR: set when the frame comes from a master.
    pub dir: bool,
    /// PRM: set on primary (initiating) frames.
    pub prm: bool,
    /// FCB (primary only): frame count bit.
    pub fcb: bool,
    /// FCV on primary frames, DFC (data flow control) on secondary frames.
    pub fcv_dfc: bool,
    /// The function code.
    pub function: Function,
}

impl Control {
    /// Bit masks of the control octet.
    pub const DIR: u8 = 0x80;
    /// PRM bit.
    pub const PRM: u8 = 0x40;
    /// FCB bit.
    pub const FCB: u8 = 0x20;
    /// FCV / DFC bit.
    pub const FCV_DFC: u8 = 0x10;

    /// Decode a control octet.
    pub const fn from_u8(b: u8) -> Control {
        let prm = b & Self::PRM != 0;
        Control {
            dir: b & Self::DIR != 0,
            prm,
            fcb: b & Self::FCB != 0,
            fcv_dfc: b & Self::FCV_DFC != 0,
            function: Function::from_bits(prm, b & 0x0f),
        }
    }

    /// Encode back to the octet.
    pub const fn to_u8(self) -> u8 {
        (if self.dir { Self::DIR } else { 0 })
            | (if self.prm { Self::PRM } else { 0 })
            | (if self.fcb { Self::FCB } else { 0 })
            | (if self.fcv_dfc { Self::FCV_DFC } else { 0 })
            | self.function.code()
    }
}

/// A checked link header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// The `LENGTH` octet (≥ 5).
    pub length: u8,
    /// The control octet.
    pub control: Control,
    /// Destination address.
    pub destination: u16,
    /// Source address.
    pub source: u16,
}

/// Total frame length on the wire for a `LENGTH` octet ≥ 5.
pub const fn frame_len(length: u8) -> usize {
    let data = (length as usize).saturating_sub(5);
    HEADER_LEN + data + CRC_LEN * data.div_ceil(BLOCK)
}

impl Header {
    /// Parse and check the 10-octet header at the start of `buf` (sync,
    /// `LENGTH` ≥ 5, CRC). Octets after the header are ignored.
    #[inline]
    pub fn parse(buf: &[u8]) -> Result<Header, Error> {
        let Some(h) = buf.first_chunk::<HEADER_LEN>() else {
            // report a bad sync as early as it is visible
            if buf.iter().zip(SYNC.iter()).any(|(a, b)| a != b) {
                return Err(Error::BadSync);
            }
            return Err(Error::Incomplete { needed: HEADER_LEN.saturating_sub(buf.len()) });
        };
        if h[field::START] != SYNC {
            return Err(Error::BadSync);
        }
        if !crc16::check(&h[..field::HEADER_CRC.start], [h[8], h[9]]) {
            return Err(Error::BadHeaderCrc);
        }
        let length = h[field::LENGTH];
        if length < lim::LINK_MIN_LENGTH {
            return Err(Error::BadLength { length });
        }
        Ok(Header {
            length,
            control: Control::from_u8(h[field::CONTROL]),
            destination: u16::from_le_bytes([h[4], h[5]]),
            source: u16::from_le_bytes([h[6], h[7]]),
        })
    }

    /// Number of user-data octets (`LENGTH − 5`).
    pub const fn user_data_len(&self) -> usize {
        (self.length as usize).saturating_sub(5)
    }

    /// Length of the whole frame on the wire.
    pub const fn frame_len(&self) -> usize {
        frame_len(self.length)
    }

    /// Write the 10-octet header (with its CRC) into `out[..10]`.
    pub fn emit(&self, out: &mut [u8]) -> Result<(), Error> {
        let h = out.first_chunk_mut::<HEADER_LEN>().ok_or(Error::BufferTooSmall)?;
        h[field::START].copy_from_slice(&SYNC);
        h[field::LENGTH] = self.length;
        h[field::CONTROL] = self.control.to_u8();
        h[field::DESTINATION].copy_from_slice(&self.destination.to_le_bytes());
        h[field::SOURCE].copy_from_slice(&self.source.to_le_bytes());
        let crc = crc16::checksum(&h[..8]).to_le_bytes();
        h[field::HEADER_CRC].copy_from_slice(&crc);
        Ok(())
    }
}

/// A whole link frame whose header and block CRCs were all checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    header: Header,
    bytes: &'a [u8],
}

impl<'a> Frame<'a> {
    /// Check the frame at the start of `buf` (header, length, every CRC)
    /// without copying. Octets after the frame are ignored.
    pub fn new_checked(buf: &'a [u8]) -> Result<Frame<'a>, Error> {
        let header = Header::parse(buf)?;
        let len = header.frame_len();
        let bytes = buf.get(..len).ok_or(Error::Incomplete { needed: len.saturating_sub(buf.len()) })?;
        check_blocks(bytes.get(HEADER_LEN..).unwrap_or_default(), |_, _| ())?;
        Ok(Frame { header, bytes })
    }

    /// Check the frame at the start of `buf` and copy its user data, without
    /// the block CRCs, into `out`, in one pass. Returns the header and the
    /// user data borrowed from `out`.
    #[inline]
    pub fn parse<'b>(buf: &[u8], out: &'b mut [u8; MAX_USER_DATA]) -> Result<(Header, &'b [u8]), Error> {
        let header = Header::parse(buf)?;
        let len = header.frame_len();
        let bytes = buf.get(..len).ok_or(Error::Incomplete { needed: len.saturating_sub(buf.len()) })?;
        let body = bytes.get(HEADER_LEN..).unwrap_or_default();
        let mut n = 0usize;
        let mut fits = true;
        check_blocks(body, |at, data| {
            // `at` is the block's offset in the user data: `n` so far.
            match out.get_mut(at..at + data.len()) {
                Some(dst) => {
                    copy_block(dst, data);
                    n = at + data.len();
                }
                None => fits = false,
            }
        })?;
        if !fits {
            return Err(Error::BufferTooSmall);
        }
        Ok((header, out.get(..n).unwrap_or_default()))
    }

    /// The checked header.
    pub const fn header(&self) -> Header {
        self.header
    }

    /// The frame's octets on the wire (header, data and CRCs).
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Copy the user data (without CRCs) into `out`; the CRCs were already
    /// checked by [`Frame::new_checked`], so this cannot fail.
    pub fn copy_user_data<'b>(&self, out: &'b mut [u8; MAX_USER_DATA]) -> &'b [u8] {
        let body = self.bytes.get(HEADER_LEN..).unwrap_or_default();
        let mut n = 0usize;
        for block in body.chunks(BLOCK + CRC_LEN) {
            let data = block.get(..block.len().saturating_sub(CRC_LEN)).unwrap_or_default();
            if let Some(dst) = out.get_mut(n..n + data.len()) {
                dst.copy_from_slice(data);
                n += data.len();
            }
        }
        out.get(..n).unwrap_or_default()
    }
}

/// `dst.copy_from_slice(src)` for one block (at most 16 octets, equal
/// lengths) without a `memmove` call for the short last block: two
/// overlapping fixed-size copies cover any length from 2 to 16.
#[inline(always)]
fn copy_block(dst: &mut [u8], src: &[u8]) {
    fn two<const N: usize>(dst: &mut [u8], src: &[u8]) -> bool {
        match (dst.first_chunk_mut::<N>(), src.first_chunk::<N>()) {
            (Some(d), Some(s)) => *d = *s,
            _ => return false,
        }
        match (dst.last_chunk_mut::<N>(), src.last_chunk::<N>()) {
            (Some(d), Some(s)) => *d = *s,
            _ => return false,
        }
        true
    }
    let done = dst.len() == src.len()
        && match src.len() {
            8..=16 => two::<8>(dst, src),
            4..=7 => two::<4>(dst, src),
            2..=3 => two::<2>(dst, src),
            _ => false,
        };
    if !done {
        dst.copy_from_slice(src);
    }
}

/// Check every CRC block of a frame body (the octets after the header) and
/// hand each block's data with its offset in the user data to `sink`, in
/// order. Whole 18-octet blocks go through fixed-size code (a 16-octet CRC
/// step, a 16-octet copy); only the last, short block is variable.
#[inline(always)]
fn check_blocks(body: &[u8], mut sink: impl FnMut(usize, &[u8])) -> Result<(), Error> {
    let (blocks, last) = body.as_chunks::<{ BLOCK + CRC_LEN }>();
    let mut i = 0usize;
    for block in blocks {
        let [data @ .., c0, c1] = block;
        if !crc16::check(data, [*c0, *c1]) {
            return Err(Error::BadBodyCrc { block: i as u8 });
        }
        sink(i * BLOCK, data);
        i += 1;
    }
    if !last.is_empty() {
        match last.split_last_chunk::<CRC_LEN>() {
            Some((data, crc)) if crc16::check(data, *crc) => sink(i * BLOCK, data),
            _ => return Err(Error::BadBodyCrc { block: i as u8 }),
        }
    }
    Ok(())
}

/// Write a frame with `control`, `destination`, `source` and `user_data`
/// (≤ 250 octets) into `out`, computing every CRC. Returns the frame length.
pub fn emit(
    control: Control,
    destination: u16,
    source: u16,
    user_data: &[u8],
    out: &mut [u8],
) -> Result<usize, Error> {
    if user_data.len() > MAX_USER_DATA {
        return Err(Error::BufferTooSmall);
    }
    let length = (user_data.len() + 5) as u8;
    let header = Header { length, control, destination, source };
    let total = header.frame_len();
    let out = out.get_mut(..total).ok_or(Error::BufferTooSmall)?;
    header.emit(out)?;
    let mut pos = HEADER_LEN;
    for chunk in user_data.chunks(BLOCK) {
        let end = pos + chunk.len();
        out[pos..end].copy_from_slice(chunk);
        let crc = crc16::checksum(chunk).to_le_bytes();
        out[end..end + CRC_LEN].copy_from_slice(&crc);
        pos = end + CRC_LEN;
    }
    Ok(total)
}

/// Where the [`Framer`] stopped last time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum State {
    /// Scanning for `0x05 0x64`.
    #[default]
    FindSync,
    /// Sync seen, waiting for the rest of the 10-octet header.
    Header,
    /// Header checked, waiting for `frame_len` octets in all.
    Body {
        /// Total frame length expected.
        frame_len: usize,
    },
}

/// Counters of a [`Framer`] (never reset, saturating).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FramerStats {
    /// Frames returned.
    pub frames: u64,
    /// Frames discarded for a bad header CRC.
    pub bad_header_crc: u64,
    /// Frames discarded for a bad block CRC.
    pub bad_body_crc: u64,
    /// Headers discarded for `LENGTH` < 5.
    pub bad_length: u64,
    /// Octets skipped while looking for a sync pattern.
    pub garbage_octets: u64,
}

/// Sans-IO link framer for one direction of a TCP stream
/// (FindSync → Header → Body).
///
/// Resync policy: after garbage, a bad header CRC, a bad length or a bad
/// block CRC the framer discards up to (or the two octets of) the current
/// sync and scans for the next `0x05 0x64`; it never stops decoding a
/// connection. Each call inspects only the caller's unconsumed bytes, so the
/// result does not depend on how the stream was cut into chunks.
#[derive(Debug, Clone, Default)]
pub struct Framer {
    state: State,
    stats: FramerStats,
}

fn find_sync(buf: &[u8]) -> Option<usize> {
    let mut i = 0usize;
    while let Some(rest) = buf.get(i..) {
        let p = rest.iter().position(|&b| b == SYNC[0])?;
        let at = i + p;
        match buf.get(at + 1) {
            Some(&b) if b == SYNC[1] => return Some(at),
            Some(_) => i = at + 1,
            None => return Some(at), // a trailing 0x05 may start a sync
        }
    }
    None
}

impl Framer {
    /// A framer looking for sync.
    pub const fn new() -> Framer {
        Framer {
            state: State::FindSync,
            stats: FramerStats {
                frames: 0,
                bad_header_crc: 0,
                bad_body_crc: 0,
                bad_length: 0,
                garbage_octets: 0,
            },
        }
    }

    /// Where the framer stopped last.
    pub const fn state(&self) -> State {
        self.state
    }

    /// Counters.
    pub const fn stats(&self) -> FramerStats {
        self.stats
    }

    fn discard<'a>(&mut self, consumed: usize, error: Error) -> FrameStep<'a, Error> {
        self.state = State::FindSync;
        match error {
            Error::BadHeaderCrc => self.stats.bad_header_crc = self.stats.bad_header_crc.saturating_add(1),
            Error::BadBodyCrc { .. } => self.stats.bad_body_crc = self.stats.bad_body_crc.saturating_add(1),
            Error::BadLength { .. } => self.stats.bad_length = self.stats.bad_length.saturating_add(1),
            Error::Garbage { .. } => {
                self.stats.garbage_octets = self.stats.garbage_octets.saturating_add(consumed as u64);
            }
            _ => {}
        }
        FrameStep::Discard { consumed, error }
    }
}

impl StreamFramer for Framer {
    type Error = Error;

    fn frame<'a>(&mut self, buf: &'a [u8]) -> FrameStep<'a, Error> {
        // FindSync
        match find_sync(buf) {
            None if buf.is_empty() => return FrameStep::Incomplete { needed: 1 },
            None => return self.discard(buf.len(), Error::Garbage { len: buf.len() }),
            Some(0) => {}
            Some(p) => return self.discard(p, Error::Garbage { len: p }),
        }
        // Header
        self.state = State::Header;
        let header = match Header::parse(buf) {
            Ok(h) => h,
            Err(Error::Incomplete { needed }) => return FrameStep::Incomplete { needed },
            Err(e) => return self.discard(SYNC.len(), e),
        };
        // Body
        let frame_len = header.frame_len();
        self.state = State::Body { frame_len };
        match Frame::new_checked(buf) {
            Ok(f) => {
                self.state = State::FindSync;
                self.stats.frames = self.stats.frames.saturating_add(1);
                FrameStep::Frame { frame: f.as_bytes(), consumed: frame_len }
            }
            Err(Error::Incomplete { needed }) => FrameStep::Incomplete { needed },
            Err(e) => self.discard(SYNC.len(), e),
        }
    }

    fn gap(&mut self) {
        self.state = State::FindSync;
    }
}

/// The frames of one UDP datagram, in order (a datagram may carry several).
/// Yields `Ok(frame)` for each checked frame and `Err(e)` for each discarded
/// run (bad CRC, garbage) or a truncated tail (`Incomplete`, then the
/// iteration ends). Resynchronises like [`Framer`].
pub fn frames(datagram: &[u8]) -> Frames<'_> {
    Frames { rest: datagram, framer: Framer::new() }
}

/// Iterator returned by [`frames`].
#[derive(Debug, Clone)]
pub struct Frames<'a> {
    rest: &'a [u8],
    framer: Framer,
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<Frame<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match self.framer.frame(self.rest) {
            FrameStep::Frame { frame, consumed } => {
                self.rest = self.rest.get(consumed..).unwrap_or_default();
                // The framer checked it; rebuild the view without re-checking.
                Header::parse(frame).ok().map(|header| Ok(Frame { header, bytes: frame }))
            }
            FrameStep::Discard { consumed, error } => {
                self.rest = self.rest.get(consumed.max(1)..).unwrap_or_default();
                Some(Err(error))
            }
            FrameStep::Incomplete { needed } => {
                self.rest = &[];
                Some(Err(Error::Incomplete { needed }))
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn copy_block_every_length() {
        let src: Vec<u8> = (1..=20).collect();
        for len in 0..=16 {
            let mut dst = [0u8; 20];
            copy_block(&mut dst[..len], &src[..len]);
            assert_eq!(&dst[..len], &src[..len]);
            assert!(dst[len..].iter().all(|&b| b == 0), "{len}");
        }
    }

    // READ class 0 from master 1 to outstation 10 (annotated fixture).
    const READ: [u8; 18] = [
        0x05, 0x64, // sync
        0x0b, // length: 5 + 6 user data octets
        0xc4, // DIR=1 PRM=1 UNCONFIRMED_USER_DATA
        0x0a, 0x00, // destination 10
        0x01, 0x00, // source 1
        0xac, 0xd1, // header CRC
        0xc0, 0xc1, 0x01, 0x3c, 0x01, 0x06, // transport + app: READ g60v1 all
        0xf9, 0x73, // block CRC
    ];

    #[test]
    fn deconstruct() {
        let h = Header::parse(&READ).unwrap();
        assert_eq!(h.length, 11);
        assert!(h.control.dir && h.control.prm && !h.control.fcb && !h.control.fcv_dfc);
        assert_eq!(h.control.function, Function::UnconfirmedUserData);
        assert_eq!((h.destination, h.source), (10, 1));
        assert_eq!(h.frame_len(), READ.len());
        let mut out = [0u8; MAX_USER_DATA];
        let (_, data) = Frame::parse(&READ, &mut out).unwrap();
        assert_eq!(data, &READ[10..16]);
    }

    #[test]
    fn construct() {
        let mut out = [0u8; MAX_FRAME];
        let n = emit(Control::from_u8(0xc4), 10, 1, &READ[10..16], &mut out).unwrap();
        assert_eq!(&out[..n], &READ[..]);
    }

    #[test]
    fn impossible_lengths() {
        let mut bad = READ;
        bad[2] = 4;
        let crc = crc16::checksum(&bad[..8]).to_le_bytes();
        bad[8..10].copy_from_slice(&crc);
        assert_eq!(Header::parse(&bad), Err(Error::BadLength { length: 4 }));
        assert_eq!(frame_len(5), 10);
        assert_eq!(frame_len(255), MAX_FRAME);
        assert_eq!(frame_len(21), 10 + 16 + 2);
        assert_eq!(frame_len(22), 10 + 17 + 4);
    }

    #[test]
    fn control_round_trip() {
        for b in 0..=255u8 {
            assert_eq!(Control::from_u8(b).to_u8(), b);
        }
    }

    #[test]
    fn find_sync_cases() {
        assert_eq!(find_sync(&[1, 2, 3]), None);
        assert_eq!(find_sync(&[1, 5]), Some(1));
        assert_eq!(find_sync(&[5, 5, 0x64]), Some(1));
        assert_eq!(find_sync(&[5, 1, 5, 0x64]), Some(2));
    }
}
