//! DNS (RFC 1035 and friends): header, questions, resource records, names
//! with compression, EDNS(0) and DNS over TCP framing.
//!
//! # Contract
//!
//! *Validate once, then iterate.* [`Message::parse`] reads the 12-octet
//! [`Header`] (the only thing that can fail: [`Error::Incomplete`] when fewer
//! than 12 octets are given) and then walks every question and every resource
//! record of every section exactly once, following every compression pointer
//! and checking every rdata of a decoded type. What it finds wrong becomes an
//! [`Anomalies`] flag on the message: a count that promises more entries than
//! the message holds (`truncated`), an rdlength running past the end, bytes
//! after the last record, names breaking the 255-octet / 127-label caps or
//! using bad pointers, malformed rdata, misplaced EDNS OPT records… A framed
//! but hostile message is still returned with what could be read.
//!
//! The accessors then hand out *lazy, borrowing* iterators ([`Questions`],
//! [`Records`]) over the entries that validated; they cannot fail later and
//! never allocate. Resource data is decoded on demand into [`RData`].
//!
//! # Names
//!
//! A [`Name`] is a handle on a name inside the message; its labels are read
//! with [`Name::labels`], an iterator that follows compression pointers under
//! one rule that makes loops impossible: a pointer must point strictly before
//! the start of the segment it ends, and labels after a jump must end before
//! that segment, so every octet of the message is visited at most once per
//! name and the number of pointers is capped ([`limits::dns::MAX_POINTERS`]).
//! Forward pointers, self pointers and cycles (A→B→A) all end the name with
//! the `name_bad_pointer` flag. Names are compared ([`Name::eq_ignore_case`],
//! [`Name::ends_with_ignore_case`]) and written in presentation form
//! ([`Name::write_to`], `\DDD` escapes) without allocating.
//!
//! # TCP
//!
//! [`TcpFramer`] implements [`StreamFramer`](crate::stream::StreamFramer) for
//! the two-octet length framing of RFC 1035 §4.2.2 / RFC 7766, and
//! resynchronises after a gap by probing for a plausible header.
//!
//! [`limits::dns::MAX_POINTERS`]: crate::limits::dns::MAX_POINTERS

mod header;
mod message;
mod name;
mod rdata;
mod tcp;
mod types;

pub use header::{HEADER_LEN, Header, Opcode, Rcode};
pub use message::{Message, Question, Questions, Record, Records, Section};
pub use name::{Labels, Name};
pub use rdata::{
    CharacterStrings, Edns, EdnsOption, EdnsOptions, Key, RData, Soa, SvcParam, SvcParams, Svcb,
};
pub use tcp::{TcpFramer, TcpFramerError};
pub use types::{Class, Type};

/// Why a DNS message could not be parsed at all. Everything else is an
/// [`Anomalies`] flag on a returned [`Message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Fewer octets than the 12-octet header; at least `needed` more.
    Incomplete {
        /// How many more octets the header needs.
        needed: usize,
    },
    /// More octets than any DNS message can have (65 535).
    TooLong {
        /// The length given.
        len: usize,
    },
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::Incomplete { needed } => write!(f, "DNS header incomplete: {needed} more octets needed"),
            Error::TooLong { len } => write!(f, "DNS message of {len} octets exceeds 65535"),
        }
    }
}

/// Anomalies found in a message, a name or a record: a small bit set.
///
/// Names (`as_str`) are stable, snake_case, and meant for EVE anomaly events.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Anomalies(u32);

macro_rules! anomalies {
    ($($(#[$m:meta])* $name:ident = $bit:expr, $s:expr;)*) => {
        impl Anomalies {
            $($(#[$m])* pub const $name: Anomalies = Anomalies(1 << $bit);)*
            /// Every flag with its name, in bit order.
            pub const ALL: &'static [(Anomalies, &'static str)] = &[$((Anomalies::$name, $s),)*];
        }
    };
}

anomalies! {
    /// A section count promised more entries than the message holds, or an
    /// entry (name, fixed fields, rdata) runs past the end of the message.
    TRUNCATED = 0, "truncated";
    /// Octets follow the last record the counts announced.
    TRAILING_DATA = 1, "trailing_data";
    /// A compression pointer points forward, at itself, into a cycle, or
    /// labels after a jump overlap the segment that jumped (RFC 1035 §4.1.4:
    /// a pointer refers to a *prior* occurrence).
    NAME_BAD_POINTER = 2, "name_bad_pointer";
    /// A name is longer than 255 octets in wire form (RFC 1035 §3.1).
    NAME_TOO_LONG = 3, "name_too_long";
    /// A name has more than 127 labels.
    NAME_TOO_MANY_LABELS = 4, "name_too_many_labels";
    /// A label type 0x40/0x80 (extended/reserved, RFC 6891 §5) was met.
    NAME_BAD_LABEL_TYPE = 5, "name_bad_label_type";
    /// More than `MAX_POINTERS` compression pointers in one name.
    NAME_TOO_MANY_POINTERS = 6, "name_too_many_pointers";
    /// Rdata does not match its type's format (wrong length, a name running
    /// past rdlength, a character-string or option overrunning).
    RDATA_MALFORMED = 7, "rdata_malformed";
    /// The reserved Z header bit is set (RFC 1035 §4.1.1).
    Z_FLAG_SET = 8, "z_flag_set";
    /// The opcode is unassigned (IANA DNS OpCodes: 3, 7–15).
    UNKNOWN_OPCODE = 9, "unknown_opcode";
    /// An OPT record outside the additional section (RFC 6891 §6.1.1).
    OPT_MISPLACED = 10, "opt_misplaced";
    /// More than one OPT record (RFC 6891 §6.1.1: FORMERR).
    MULTIPLE_OPT = 11, "multiple_opt";
    /// The OPT owner name is not the root (RFC 6891 §6.1.2).
    OPT_BAD_NAME = 12, "opt_bad_name";
}

impl Anomalies {
    /// No flag.
    pub const fn empty() -> Self {
        Anomalies(0)
    }
    /// The raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }
    /// Whether no flag is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// Whether every flag of `other` is set in `self`.
    pub const fn contains(self, other: Anomalies) -> bool {
        self.0 & other.0 == other.0
    }
    /// Whether any flag of `other` is set in `self`.
    pub const fn intersects(self, other: Anomalies) -> bool {
        self.0 & other.0 != 0
    }
    /// `self` with the flags of `other` added.
    pub const fn union(self, other: Anomalies) -> Anomalies {
        Anomalies(self.0 | other.0)
    }
    /// `self` without the flags of `other`.
    pub const fn difference(self, other: Anomalies) -> Anomalies {
        Anomalies(self.0 & !other.0)
    }
    /// Add the flags of `other`.
    pub fn insert(&mut self, other: Anomalies) {
        self.0 |= other.0;
    }
    /// The set flags with their names, in bit order.
    pub fn iter(self) -> impl Iterator<Item = (Anomalies, &'static str)> {
        Anomalies::ALL.iter().copied().filter(move |(a, _)| self.contains(*a))
    }
}

impl core::ops::BitOr for Anomalies {
    type Output = Anomalies;
    fn bitor(self, rhs: Anomalies) -> Anomalies {
        self.union(rhs)
    }
}

impl core::ops::BitOrAssign for Anomalies {
    fn bitor_assign(&mut self, rhs: Anomalies) {
        self.insert(rhs);
    }
}

impl core::fmt::Debug for Anomalies {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Anomalies(")?;
        let mut first = true;
        for (_, n) in self.iter() {
            if !first {
                f.write_str(" | ")?;
            }
            first = false;
            f.write_str(n)?;
        }
        f.write_str(")")
    }
}

/// Big-endian u16 at `at`, if the octets are there.
#[inline]
fn be16(b: &[u8], at: usize) -> Option<u16> {
    match b.get(at..at.checked_add(2)?) {
        Some(&[x, y]) => Some(u16::from_be_bytes([x, y])),
        _ => None,
    }
}

/// Big-endian u32 at `at`, if the octets are there.
#[inline]
fn be32(b: &[u8], at: usize) -> Option<u32> {
    match b.get(at..at.checked_add(4)?) {
        Some(&[w, x, y, z]) => Some(u32::from_be_bytes([w, x, y, z])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anomalies_set_ops_and_names() {
        let a = Anomalies::TRUNCATED | Anomalies::Z_FLAG_SET;
        assert!(a.contains(Anomalies::TRUNCATED));
        assert!(!a.contains(Anomalies::TRAILING_DATA));
        assert_eq!(a.iter().map(|(_, n)| n).collect::<Vec<_>>(), ["truncated", "z_flag_set"]);
        assert_eq!(format!("{a:?}"), "Anomalies(truncated | z_flag_set)");
        assert!(a.difference(Anomalies::TRUNCATED).contains(Anomalies::Z_FLAG_SET));
        assert!(Anomalies::empty().is_empty());
        // Names are unique.
        for (i, (x, n)) in Anomalies::ALL.iter().enumerate() {
            for (y, m) in &Anomalies::ALL[i + 1..] {
                assert_ne!(x, y);
                assert_ne!(n, m);
            }
        }
    }

    #[test]
    fn be_helpers_never_panic() {
        assert_eq!(be16(&[1, 2, 3], 1), Some(0x0203));
        assert_eq!(be16(&[1, 2, 3], 2), None);
        assert_eq!(be16(&[1], usize::MAX), None);
        assert_eq!(be32(&[0, 0, 1, 2], 0), Some(0x102));
        assert_eq!(be32(&[0, 0, 1], 0), None);
    }
}
