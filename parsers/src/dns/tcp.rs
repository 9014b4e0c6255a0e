//! DNS over TCP: each message is preceded by a two-octet length (RFC 1035
//! §4.2.2, RFC 7766 §8). A sans-IO [`StreamFramer`].
//!
//! Resynchronisation policy: after [`gap`](StreamFramer::gap) (or after a
//! length below the 12-octet header) the framer no longer trusts the next
//! length field. It *probes* each offset in turn: the length must cover a
//! header, the header must be plausible (assigned opcode, Z clear, exactly
//! [`RESYNC_QDCOUNT`] question, counts that fit the length), and
//! [`Message::parse`] of the candidate must find no anomaly at all. While
//! the candidate is incomplete, the octets already there are parsed: any
//! anomaly other than `truncated` (or a prefix that already holds every
//! entry, which would leave trailing data) rejects it at once. Anomalies of
//! a prefix are a subset of the whole message's, so this decides exactly as
//! waiting would, only sooner. The verdict is recomputed from the octets
//! present at every call (never cached), so every frame and discard depends
//! only on the octets, never on how the stream was split. (Cost: probing a
//! candidate of `L` octets that arrives in `k` pieces parses up to `k·L`
//! octets; it only happens after a gap, and stops at the first anomaly.)
//! A failed probe discards one octet; the first accepted message puts the
//! framer back in sync.

use super::Anomalies;
use super::header::{HEADER_LEN, Header, Opcode};
use super::message::Message;
use crate::limits::dns::RESYNC_QDCOUNT;
use crate::stream::{FrameStep, StreamFramer};
use nom::number::streaming::be_u16;

/// Octets of the length prefix.
const PREFIX_LEN: usize = 2;
/// Smallest question: root name, QTYPE, QCLASS.
const MIN_QUESTION: usize = 5;
/// Smallest resource record: root name, fixed fields, empty rdata.
const MIN_RR: usize = 11;

/// Why the framer dropped octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TcpFramerError {
    /// In sync, a length too small for the 12-octet header: the prefix and
    /// those octets were dropped and the framer went back to probing.
    TooShort {
        /// The length field.
        len: u16,
    },
    /// Probing after a gap: one octet that does not start a plausible
    /// message was dropped.
    Resync,
}

/// Framer for one direction of a DNS-over-TCP connection.
#[derive(Debug, Clone, Default)]
pub struct TcpFramer {
    probing: bool,
}

impl TcpFramer {
    /// A framer at the start of a connection (trusts the first length).
    pub fn new() -> Self {
        TcpFramer { probing: false }
    }

    /// Whether the framer is probing for a message boundary.
    pub fn is_resyncing(&self) -> bool {
        self.probing
    }
}

/// The length prefix, or how many octets are missing for it.
fn prefix(buf: &[u8]) -> Result<u16, usize> {
    match be_u16::<&[u8], nom::error::Error<&[u8]>>(buf) {
        Ok((_, len)) => Ok(len),
        Err(_) => Err(PREFIX_LEN - buf.len().min(PREFIX_LEN - 1)),
    }
}

/// Header-only plausibility for a candidate of `len` octets.
fn plausible_header(h: &Header, len: usize) -> bool {
    let rrs = usize::from(h.ancount()) + usize::from(h.nscount()) + usize::from(h.arcount());
    let min = usize::from(h.qdcount()) * MIN_QUESTION + rrs * MIN_RR;
    !matches!(h.opcode(), Opcode::Unknown(_))
        && !h.z()
        && h.qdcount() == RESYNC_QDCOUNT
        && min <= len - HEADER_LEN
}

impl StreamFramer for TcpFramer {
    type Error = TcpFramerError;

    fn frame<'a>(&mut self, buf: &'a [u8]) -> FrameStep<'a, TcpFramerError> {
        let len = match prefix(buf) {
            Ok(l) => usize::from(l),
            Err(needed) => return FrameStep::Incomplete { needed },
        };
        let total = PREFIX_LEN + len;
        if self.probing {
            let resync = FrameStep::Discard { consumed: 1, error: TcpFramerError::Resync };
            if len < HEADER_LEN {
                return resync;
            }
            let Some(h) = buf.get(PREFIX_LEN..).and_then(Header::parse) else {
                return FrameStep::Incomplete { needed: PREFIX_LEN + HEADER_LEN - buf.len() };
            };
            if !plausible_header(&h, len) {
                return resync;
            }
            let avail = buf.get(PREFIX_LEN..total.min(buf.len())).unwrap_or_default();
            let complete = avail.len() == len;
            return match Message::parse(avail).map(|m| m.anomalies()) {
                Ok(a) if a.is_empty() && complete => {
                    self.probing = false;
                    FrameStep::Frame { frame: avail, consumed: total }
                }
                Ok(a) if a == Anomalies::TRUNCATED && !complete => {
                    FrameStep::Incomplete { needed: total - buf.len() }
                }
                _ => resync,
            };
        }
        let Some(body) = buf.get(PREFIX_LEN..total) else {
            return FrameStep::Incomplete { needed: total - buf.len() };
        };
        if len < HEADER_LEN {
            self.probing = true;
            return FrameStep::Discard {
                consumed: total,
                error: TcpFramerError::TooShort { len: len as u16 },
            };
        }
        FrameStep::Frame { frame: body, consumed: total }
    }

    fn gap(&mut self) {
        self.probing = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"\x00\x1d\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\
        \x07example\x03com\x00\x00\x01\x00\x01";

    #[test]
    fn frames_and_incomplete() {
        let mut f = TcpFramer::new();
        for n in 0..MSG.len() {
            let want = if n < 2 { 2 - n } else { MSG.len() - n };
            assert_eq!(f.frame(&MSG[..n]), FrameStep::Incomplete { needed: want });
        }
        assert_eq!(f.frame(MSG), FrameStep::Frame { frame: &MSG[2..], consumed: MSG.len() });
    }

    #[test]
    fn short_length_discards_then_probes() {
        let mut f = TcpFramer::new();
        let buf = [&b"\x00\x03abc"[..], MSG].concat();
        let mut frames = 0;
        let (used, _) = crate::stream::drive(&mut f, &buf, |_| frames += 1, |_, _| {});
        assert_eq!((frames, used), (1, buf.len()));
        assert!(!f.is_resyncing());
    }

    #[test]
    fn gap_then_resync() {
        let mut f = TcpFramer::new();
        f.gap();
        let buf = [&MSG[5..], MSG, MSG].concat();
        let mut frames = Vec::new();
        let mut dropped = 0;
        let _ = crate::stream::drive(&mut f, &buf, |fr| frames.push(fr), |n, _| dropped += n);
        assert_eq!(frames, [&MSG[2..], &MSG[2..]]);
        assert_eq!(dropped, MSG.len() - 5);
    }
}
