//! DNP3 transport function (IEEE 1815-2012 §8).
//!
//! Every link frame's user data starts with one transport octet:
//!
//! ```text
//!   7     6     5..0
//! +-----+-----+--------+------------------------+
//! | FIN | FIR |  SEQ   | ≤ 249 application octets
//! +-----+-----+--------+------------------------+
//! ```
//!
//! [`Assembler`] rebuilds application fragments for one direction of one
//! association in a single buffer allocated once at construction (default
//! [`DEFAULT_CAPACITY`] octets, at most [`MAX_CAPACITY`]). A single-segment
//! fragment (FIR and FIN) is handed back straight from the segment without a
//! copy. Out-of-sequence segments, segments without FIR while idle and
//! fragments larger than the buffer are reported as errors and the partial
//! fragment is dropped; the next FIR starts afresh.

use crate::limits::dnp3 as lim;

/// Default assembler capacity (octets of application fragment).
pub const DEFAULT_CAPACITY: usize = lim::TRANSPORT_BUFFER_DEFAULT;
/// Largest capacity [`Assembler::new`] accepts (larger requests are clamped).
pub const MAX_CAPACITY: usize = lim::TRANSPORT_BUFFER_MAX;
/// FIN bit of the transport header.
pub const FIN: u8 = 0x80;
/// FIR bit of the transport header.
pub const FIR: u8 = 0x40;
/// Sequence number mask.
pub const SEQ_MASK: u8 = 0x3f;

/// Why a transport segment was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The segment is empty: at least `needed` octets (the header) missing.
    Incomplete {
        /// Octets missing (always 1).
        needed: usize,
    },
    /// A non-FIR segment arrived with no fragment in progress.
    MissingFir {
        /// Its sequence number.
        seq: u8,
    },
    /// A non-FIR segment whose sequence is not the expected successor; the
    /// partial fragment was dropped.
    OutOfSequence {
        /// The sequence that was expected.
        expected: u8,
        /// The sequence received.
        got: u8,
    },
    /// The fragment outgrew the buffer; the partial fragment was dropped.
    Overflow {
        /// The assembler's capacity.
        capacity: usize,
    },
}

impl Error {
    /// The anomaly flag this error maps to (empty for `Incomplete`).
    pub fn flag(self) -> super::Flags {
        use super::Flags;
        match self {
            Error::Incomplete { .. } => Flags::NONE,
            Error::MissingFir { .. } => Flags::TRANSPORT_MISSING_FIR,
            Error::OutOfSequence { .. } => Flags::TRANSPORT_OUT_OF_SEQUENCE,
            Error::Overflow { .. } => Flags::TRANSPORT_OVERFLOW,
        }
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::Incomplete { needed } => write!(f, "empty transport segment: {needed} octet needed"),
            Error::MissingFir { seq } => write!(f, "transport segment seq {seq} without FIR"),
            Error::OutOfSequence { expected, got } => {
                write!(f, "transport segment out of sequence: expected {expected}, got {got}")
            }
            Error::Overflow { capacity } => write!(f, "application fragment larger than {capacity} octets"),
        }
    }
}

/// The transport header octet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// FIN: last segment of the fragment.
    pub fin: bool,
    /// FIR: first segment of the fragment.
    pub fir: bool,
    /// Sequence number 0..=63.
    pub seq: u8,
}

impl Header {
    /// Decode the octet.
    pub const fn from_u8(b: u8) -> Header {
        Header { fin: b & FIN != 0, fir: b & FIR != 0, seq: b & SEQ_MASK }
    }

    /// Encode the octet.
    pub const fn to_u8(self) -> u8 {
        (if self.fin { FIN } else { 0 }) | (if self.fir { FIR } else { 0 }) | (self.seq & SEQ_MASK)
    }

    /// Split a segment into its header and application octets.
    pub fn parse(segment: &[u8]) -> Result<(Header, &[u8]), Error> {
        match segment.split_first() {
            Some((&b, rest)) => Ok((Header::from_u8(b), rest)),
            None => Err(Error::Incomplete { needed: 1 }),
        }
    }
}

/// Counters of an [`Assembler`] (saturating).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AssemblerStats {
    /// Fragments completed.
    pub fragments: u64,
    /// Segments rejected for a sequence gap.
    pub out_of_sequence: u64,
    /// Segments rejected for a missing FIR.
    pub missing_fir: u64,
    /// Fragments dropped for overflowing the buffer.
    pub overflow: u64,
    /// Partial fragments abandoned because a new FIR arrived.
    pub abandoned: u64,
}

/// Per-direction transport reassembler with one pre-sized buffer.
#[derive(Debug, Clone)]
pub struct Assembler {
    buf: Box<[u8]>,
    len: usize,
    /// Sequence of the last accepted segment while assembling.
    last_seq: Option<u8>,
    stats: AssemblerStats,
}

impl Default for Assembler {
    fn default() -> Assembler {
        Assembler::new(DEFAULT_CAPACITY)
    }
}

impl Assembler {
    /// An assembler whose fragments may hold up to `capacity` octets
    /// (clamped to 1..=[`MAX_CAPACITY`]). This is its only allocation.
    pub fn new(capacity: usize) -> Assembler {
        let capacity = capacity.clamp(1, MAX_CAPACITY);
        Assembler {
            buf: vec![0u8; capacity].into_boxed_slice(),
            len: 0,
            last_seq: None,
            stats: AssemblerStats::default(),
        }
    }

    /// The buffer's capacity.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Counters.
    pub const fn stats(&self) -> AssemblerStats {
        self.stats
    }

    /// Whether a fragment is in progress.
    pub const fn in_progress(&self) -> bool {
        self.last_seq.is_some()
    }

    /// Drop any partial fragment (after a link-layer gap, a reset…).
    pub fn reset(&mut self) {
        self.len = 0;
        self.last_seq = None;
    }

    /// Feed one transport segment (a link frame's user data). Returns the
    /// complete application fragment when this segment has FIN, borrowed
    /// from the segment itself (FIR+FIN) or from the assembler's buffer.
    #[inline]
    pub fn push<'a>(&'a mut self, segment: &'a [u8]) -> Result<Option<&'a [u8]>, Error> {
        let (h, data) = Header::parse(segment)?;
        if h.fir {
            if self.last_seq.is_some() {
                self.stats.abandoned = self.stats.abandoned.saturating_add(1);
            }
            self.reset();
            if h.fin {
                if data.len() > self.buf.len() {
                    return Err(self.overflow());
                }
                self.stats.fragments = self.stats.fragments.saturating_add(1);
                return Ok(Some(data));
            }
        } else {
            let Some(last) = self.last_seq else {
                self.stats.missing_fir = self.stats.missing_fir.saturating_add(1);
                return Err(Error::MissingFir { seq: h.seq });
            };
            let expected = (last + 1) & SEQ_MASK;
            if h.seq != expected {
                self.reset();
                self.stats.out_of_sequence = self.stats.out_of_sequence.saturating_add(1);
                return Err(Error::OutOfSequence { expected, got: h.seq });
            }
        }
        let end = self.len.checked_add(data.len()).filter(|&e| e <= self.buf.len());
        let Some(end) = end else {
            return Err(self.overflow());
        };
        let Some(dst) = self.buf.get_mut(self.len..end) else {
            return Err(self.overflow());
        };
        dst.copy_from_slice(data);
        self.len = end;
        self.last_seq = Some(h.seq);
        if h.fin {
            let n = self.len;
            self.len = 0;
            self.last_seq = None;
            self.stats.fragments = self.stats.fragments.saturating_add(1);
            return Ok(Some(self.buf.get(..n).unwrap_or_default()));
        }
        Ok(None)
    }

    fn overflow(&mut self) -> Error {
        self.reset();
        self.stats.overflow = self.stats.overflow.saturating_add(1);
        Error::Overflow { capacity: self.buf.len() }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip() {
        for b in 0..=255u8 {
            assert_eq!(Header::from_u8(b).to_u8(), b);
        }
        assert_eq!(Header::parse(&[]), Err(Error::Incomplete { needed: 1 }));
        let (h, rest) = Header::parse(&[0xc5, 1, 2]).unwrap();
        assert_eq!(h, Header { fin: true, fir: true, seq: 5 });
        assert_eq!(rest, &[1, 2]);
    }

    #[test]
    fn single_segment_is_zero_copy() {
        let mut a = Assembler::new(16);
        let seg = [0xc0, 0xc1, 0x01];
        let frag = a.push(&seg).unwrap().unwrap();
        assert_eq!(frag, &[0xc1, 0x01]);
        assert_eq!(frag.as_ptr(), seg[1..].as_ptr());
    }

    #[test]
    fn multi_segment_and_wraparound() {
        let mut a = Assembler::new(16);
        assert_eq!(a.push(&[0x40 | 63, 1, 2]), Ok(None));
        assert_eq!(a.push(&[0x00, 3]), Ok(None));
        assert_eq!(a.push(&[0x80 | 1, 4]), Ok(Some(&[1u8, 2, 3, 4][..])));
        assert_eq!(a.stats().fragments, 1);
    }

    #[test]
    fn errors() {
        let mut a = Assembler::new(4);
        assert_eq!(a.push(&[0x05, 1]), Err(Error::MissingFir { seq: 5 }));
        assert_eq!(a.push(&[0x40, 1]), Ok(None));
        assert_eq!(a.push(&[0x02, 1]), Err(Error::OutOfSequence { expected: 1, got: 2 }));
        assert!(!a.in_progress());
        assert_eq!(a.push(&[0x40, 1, 2, 3]), Ok(None));
        assert_eq!(a.push(&[0x81, 4, 5]), Err(Error::Overflow { capacity: 4 }));
        assert_eq!(a.push(&[0xc0, 1, 2, 3, 4, 5]), Err(Error::Overflow { capacity: 4 }));
        assert_eq!(a.push(&[0xc0, 1, 2, 3, 4]), Ok(Some(&[1u8, 2, 3, 4][..])));
        assert_eq!(Assembler::new(0).capacity(), 1);
        assert_eq!(Assembler::new(usize::MAX).capacity(), MAX_CAPACITY);
    }
}
