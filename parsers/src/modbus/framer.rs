//! Sans-IO stream framers ([`StreamFramer`]) for Modbus over TCP, and the
//! probe that tells MBAP from RTU-over-TCP.
//!
//! Resync policy (a named choice, after stepfunc's dnp3 framer):
//! * [`MbapFramer`] trusts the length field while in sync. After a
//!   [`gap`](StreamFramer::gap) or an impossible length it scans forward for a
//!   *plausible MBAP header* — protocol id 0, length 2..=254 and a known-ish
//!   function code (public, user-defined or reserved, with or without the
//!   exception bit) whose ADU ends where the buffered bytes end or is followed
//!   by another plausible header — discarding the bytes before it in one step.
//! * [`RtuFramer`] frames by function-specific length and accepts a frame only
//!   if its CRC matches; on a bad CRC or after a gap it slides forward (at
//!   most [`RTU_RESYNC_WINDOW`](crate::limits::modbus::RTU_RESYNC_WINDOW)
//!   offsets per call) to the first offset where a whole CRC-valid frame
//!   starts.
//! * While resynchronising, both judge offsets in order and wait on the first
//!   candidate that needs more bytes (at most one maximal ADU: 260 bytes for
//!   MBAP, 256 for RTU).
//! * In sync, framing never depends on how the stream was chunked. Neither
//!   does RTU resync (every judgement is final once its bytes are present).
//!   MBAP resync is deliberately *segment-aware*: a candidate whose ADU ends
//!   exactly where the buffered bytes end is accepted at once — the usual
//!   one-ADU-per-segment case — so that the first request after a gap is
//!   framed before its response arrives and can be paired. The fuzz target
//!   `modbus_stream` checks both properties.
//!
//! Both never allocate, never loop unboundedly, and consume ≥ 1 byte on every
//! step that is not `Incomplete`.

use super::mbap::MIN_ADU_LEN;
use super::pdu::EXCEPTION_BIT;
use super::rtu;
use super::{Direction, Error, Flags, FunctionCode, Invalid, Pdu};
use crate::limits::modbus as lim;
use crate::stream::{FrameStep, StreamFramer};
use nom::Parser;
use nom::number::streaming::be_u16;

/// Bytes a probe needs to judge an MBAP header (header + function code).
const MBAP_PROBE_LEN: usize = lim::MBAP_HEADER_LEN + 1;

/// Read the MBAP length field with streaming nom. `Incomplete` carries a
/// lower bound for the whole ADU (header + function code), not just the field.
fn mbap_length(buf: &[u8]) -> Result<u16, Error> {
    let r: nom::IResult<&[u8], (u16, u16, u16), ()> = (be_u16, be_u16, be_u16).parse(buf);
    match r {
        Ok((_, (_tid, _pid, len))) => Ok(len),
        Err(_) => Err(Error::Incomplete { needed: MIN_ADU_LEN.saturating_sub(buf.len()).max(1) }),
    }
}

fn plausible_function(fc: u8) -> bool {
    let f = fc & !EXCEPTION_BIT;
    f != 0 && FunctionCode::from_u8(f).is_plausible()
}

/// True when `buf` starts with a plausible MBAP header (needs 8 bytes).
#[must_use]
pub fn plausible_mbap_header(buf: &[u8]) -> bool {
    let Some(h) = buf.get(..MBAP_PROBE_LEN) else { return false };
    let pid = u16::from_be_bytes([h[2], h[3]]);
    let len = u16::from_be_bytes([h[4], h[5]]);
    pid == 0 && (lim::MBAP_MIN_LENGTH..=lim::MBAP_MAX_LENGTH).contains(&len) && plausible_function(h[7])
}

/// Drop the bytes before a resync candidate.
fn discard_to<'a>(off: usize) -> FrameStep<'a, Error> {
    FrameStep::Discard { consumed: off, error: Error::Invalid(Invalid::NoSync) }
}

/// A candidate at `off` needs `needed` more bytes before it can be judged:
/// drop what precedes it, or wait when it is at the front.
fn wait_or_discard<'a>(off: usize, needed: usize) -> FrameStep<'a, Error> {
    if off == 0 { FrameStep::Incomplete { needed } } else { discard_to(off) }
}

/// True when the (possibly short) `bytes` could be the start of a plausible
/// MBAP header: the protocol id, length and function code bytes present agree.
fn plausible_prefix(bytes: &[u8]) -> bool {
    let b = |i: usize| bytes.get(i).copied();
    let pid_ok = b(2).is_none_or(|x| x == 0) && b(3).is_none_or(|x| x == 0);
    let len_ok = match (b(4), b(5)) {
        (Some(hi), Some(lo)) => {
            (lim::MBAP_MIN_LENGTH..=lim::MBAP_MAX_LENGTH).contains(&u16::from_be_bytes([hi, lo]))
        }
        (Some(hi), None) => hi == 0,
        _ => true,
    };
    let fc_ok = b(lim::MBAP_HEADER_LEN).is_none_or(plausible_function);
    pid_ok && len_ok && fc_ok
}

enum Candidate {
    /// No header starts here.
    No,
    /// A plausible header whose ADU is confirmed by what follows it.
    Yes,
    /// A plausible header, but the bytes that would confirm it have not
    /// arrived yet.
    Undecided { needed: usize },
}

/// Resync test: a plausible header whose whole ADU is buffered, whose PDU
/// fits its function's layout (as a request or a response), and which either
/// ends exactly where the buffered bytes end (the usual one-ADU-per-segment
/// case) or is followed by the (possibly partial) start of another plausible
/// header. Register data that happens to look like a header rarely passes
/// all three.
fn resync_candidate(rest: &[u8]) -> Candidate {
    if !plausible_mbap_header(rest) {
        return Candidate::No;
    }
    let end = lim::MBAP_HEADER_LEN - 1 + usize::from(u16::from_be_bytes([rest[4], rest[5]]));
    let (Some(adu), Some(next)) = (rest.get(..end), rest.get(end..)) else {
        return Candidate::Undecided { needed: end - rest.len() };
    };
    if !pdu_fits(&adu[lim::MBAP_HEADER_LEN..]) || !(next.is_empty() || plausible_prefix(next)) {
        return Candidate::No;
    }
    Candidate::Yes
}

/// True when `pdu` decodes, as a request or as a response, without a
/// length-related anomaly (functions without a layout always fit).
fn pdu_fits(pdu: &[u8]) -> bool {
    const LENGTH_FLAGS: Flags = Flags::INVALID_LENGTH.union(Flags::BYTE_COUNT_MISMATCH);
    [Direction::Request, Direction::Response]
        .into_iter()
        .any(|d| Pdu::parse(pdu, d).is_ok_and(|p| !p.flags.intersects(LENGTH_FLAGS)))
}

/// Framer for MBAP (Modbus/TCP) byte streams: one frame = one whole ADU
/// (header included), to be parsed with [`Adu::parse`](super::Adu::parse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MbapFramer {
    synced: bool,
}

impl Default for MbapFramer {
    fn default() -> Self {
        Self::new()
    }
}

impl MbapFramer {
    /// A framer for a stream seen from its first byte.
    #[must_use]
    pub const fn new() -> Self {
        Self { synced: true }
    }

    /// A framer for a stream joined mid-way: it probes before trusting
    /// anything.
    #[must_use]
    pub const fn new_unsynced() -> Self {
        Self { synced: false }
    }

    /// True while the framer trusts length fields.
    #[must_use]
    pub const fn is_synced(&self) -> bool {
        self.synced
    }

    fn frame_synced<'a>(&mut self, buf: &'a [u8]) -> FrameStep<'a, Error> {
        match mbap_length(buf) {
            Err(Error::Incomplete { needed }) => FrameStep::Incomplete { needed },
            Err(error) => self.lose_sync(error),
            Ok(len) => {
                if !(lim::MBAP_MIN_LENGTH..=lim::MBAP_MAX_LENGTH).contains(&len) {
                    return self.lose_sync(Error::Invalid(Invalid::MbapLength(len)));
                }
                let total = lim::MBAP_HEADER_LEN - 1 + usize::from(len);
                match buf.get(..total) {
                    Some(frame) => FrameStep::Frame { frame, consumed: total },
                    None => FrameStep::Incomplete { needed: total - buf.len() },
                }
            }
        }
    }

    fn lose_sync<'a>(&mut self, error: Error) -> FrameStep<'a, Error> {
        self.synced = false;
        FrameStep::Discard { consumed: 1, error }
    }
}

impl StreamFramer for MbapFramer {
    type Error = Error;

    fn frame<'a>(&mut self, buf: &'a [u8]) -> FrameStep<'a, Error> {
        if buf.is_empty() {
            return FrameStep::Incomplete { needed: MIN_ADU_LEN };
        }
        if self.synced {
            return self.frame_synced(buf);
        }
        let window = buf.len().min(lim::MBAP_RESYNC_WINDOW);
        for off in 0..window {
            let rest = &buf[off..];
            let candidate = if rest.len() < MBAP_PROBE_LEN {
                if plausible_prefix(rest) {
                    Candidate::Undecided { needed: MBAP_PROBE_LEN - rest.len() }
                } else {
                    Candidate::No
                }
            } else {
                resync_candidate(rest)
            };
            match candidate {
                Candidate::No => {}
                Candidate::Yes if off == 0 => {
                    self.synced = true;
                    return self.frame_synced(buf);
                }
                Candidate::Yes => return discard_to(off),
                Candidate::Undecided { needed } => return wait_or_discard(off, needed),
            }
        }
        discard_to(window)
    }

    fn gap(&mut self) {
        self.synced = false;
    }
}

/// Framer for Modbus RTU-over-TCP byte streams (one direction: requests from
/// the client or responses from the server). One frame = address + PDU +
/// CRC, to be parsed with [`rtu::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtuFramer {
    direction: Direction,
    synced: bool,
}

impl RtuFramer {
    /// A framer for the bytes sent in `direction`.
    #[must_use]
    pub const fn new(direction: Direction) -> Self {
        Self { direction, synced: true }
    }

    /// True while the last step framed cleanly.
    #[must_use]
    pub const fn is_synced(&self) -> bool {
        self.synced
    }
}

const CHECK_CRC: bool = !cfg!(fuzzing);

impl StreamFramer for RtuFramer {
    type Error = Error;

    fn frame<'a>(&mut self, buf: &'a [u8]) -> FrameStep<'a, Error> {
        if buf.is_empty() {
            return FrameStep::Incomplete { needed: lim::MIN_RTU_ADU_LEN };
        }
        if self.synced {
            return match rtu::frame_at(buf, self.direction, CHECK_CRC) {
                Ok(t) => FrameStep::Frame { frame: &buf[..t], consumed: t },
                Err(Error::Incomplete { needed }) => FrameStep::Incomplete { needed },
                Err(error) => {
                    self.synced = false;
                    FrameStep::Discard { consumed: 1, error }
                }
            };
        }
        let window = buf.len().min(lim::RTU_RESYNC_WINDOW);
        for off in 0..window {
            match rtu::frame_at(&buf[off..], self.direction, CHECK_CRC) {
                Ok(t) if off == 0 => {
                    self.synced = true;
                    return FrameStep::Frame { frame: &buf[..t], consumed: t };
                }
                Ok(_) => return discard_to(off),
                Err(Error::Incomplete { needed }) => return wait_or_discard(off, needed),
                Err(Error::Invalid(_)) => {}
            }
        }
        discard_to(window)
    }

    fn gap(&mut self) {
        self.synced = false;
    }
}

/// How Modbus is carried on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModbusFraming {
    /// MBAP header (Modbus/TCP, Modbus/UDP).
    Mbap,
    /// Serial RTU frames (address + PDU + CRC) tunnelled over TCP/UDP.
    Rtu,
}

/// Walk whole MBAP ADUs from the start; true if they tile `payload` exactly.
fn mbap_tiles(payload: &[u8]) -> bool {
    let mut off = 0usize;
    while off < payload.len() {
        let rest = &payload[off..];
        if !plausible_mbap_header(rest) {
            return false;
        }
        off += lim::MBAP_HEADER_LEN - 1 + usize::from(u16::from_be_bytes([rest[4], rest[5]]));
    }
    off == payload.len()
}

/// Walk whole CRC-valid RTU ADUs; true if they tile `payload` exactly.
fn rtu_tiles(payload: &[u8], dir: Direction) -> bool {
    let mut off = 0usize;
    while off < payload.len() {
        match rtu::frame_at(&payload[off..], dir, true) {
            Ok(t) => off += t,
            Err(_) => return false,
        }
    }
    !payload.is_empty()
}

/// Tell MBAP from RTU-over-TCP by the first payload of a connection (either
/// direction). Whole MBAP ADUs tiling the payload win, then whole CRC-valid
/// RTU ADUs (tried as requests and as responses), then a plausible MBAP header
/// at the start of a payload that ends early (a first segment). `None` if
/// neither fits.
#[must_use]
pub fn probe(payload: &[u8]) -> Option<ModbusFraming> {
    if payload.len() >= MBAP_PROBE_LEN && mbap_tiles(payload) {
        return Some(ModbusFraming::Mbap);
    }
    if rtu_tiles(payload, Direction::Request) || rtu_tiles(payload, Direction::Response) {
        return Some(ModbusFraming::Rtu);
    }
    if plausible_mbap_header(payload) {
        let len = usize::from(u16::from_be_bytes([payload[4], payload[5]]));
        if payload.len() < lim::MBAP_HEADER_LEN - 1 + len {
            return Some(ModbusFraming::Mbap);
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::stream::{DriveEnd, drive};

    const READ: [u8; 12] = [0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 10];

    #[test]
    fn mbap_frames_and_needs() {
        let mut f = MbapFramer::new();
        assert_eq!(f.frame(&READ[..3]), FrameStep::Incomplete { needed: 5 });
        assert_eq!(f.frame(&READ[..7]), FrameStep::Incomplete { needed: 5 });
        assert_eq!(f.frame(&READ), FrameStep::Frame { frame: &READ[..], consumed: 12 });
        let mut bad = READ;
        bad[5] = 0;
        assert_eq!(
            f.frame(&bad),
            FrameStep::Discard { consumed: 1, error: Error::Invalid(Invalid::MbapLength(0)) }
        );
        assert!(!f.is_synced());
    }

    #[test]
    fn mbap_resyncs_after_gap() {
        let mut stream = [0u8; 5 + 24];
        stream[..5].copy_from_slice(&[0xDE, 0xAD, 0xBE, 0xEF, 0x00]);
        stream[5..17].copy_from_slice(&READ);
        stream[17..].copy_from_slice(&READ);
        let mut f = MbapFramer::new();
        f.gap();
        let mut frames = 0;
        let mut discarded = 0;
        let (used, end) = drive(
            &mut f,
            &stream,
            |fr| {
                assert_eq!(fr, &READ[..]);
                frames += 1;
            },
            |n, _| discarded += n,
        );
        assert_eq!((frames, discarded, used, end), (2, 5, stream.len(), DriveEnd::Incomplete(1)));
    }

    #[test]
    fn rtu_slides_past_garbage() {
        let req = [0x11, 0x03, 0x00, 0x6B, 0x00, 0x03, 0x76, 0x87];
        let mut stream = [0u8; 3 + 16];
        stream[..3].copy_from_slice(&[0xFF, 0x11, 0x03]);
        stream[3..11].copy_from_slice(&req);
        stream[11..].copy_from_slice(&req);
        let mut f = RtuFramer::new(Direction::Request);
        let mut frames = 0;
        let mut discarded = 0;
        let (used, _) = drive(
            &mut f,
            &stream,
            |fr| {
                assert_eq!(fr, &req[..]);
                frames += 1;
            },
            |n, _| discarded += n,
        );
        assert_eq!((frames, discarded, used), (2, 3, stream.len()));
    }

    #[test]
    fn probe_tells_mbap_from_rtu() {
        assert_eq!(probe(&READ), Some(ModbusFraming::Mbap));
        assert_eq!(probe(&READ[..9]), Some(ModbusFraming::Mbap));
        assert_eq!(probe(&[0x11, 0x03, 0x00, 0x6B, 0x00, 0x03, 0x76, 0x87]), Some(ModbusFraming::Rtu));
        assert_eq!(probe(b"GET / HTTP/1.1\r\n"), None);
        assert_eq!(probe(&[]), None);
    }
}
