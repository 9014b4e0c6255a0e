//! # DNP3 (IEEE 1815-2012)
//!
//! Three layers, one module each, each with its own constants, `Copy`
//! `#[non_exhaustive]` error enum (`Incomplete { needed }` kept apart from
//! invalid input) and documentation:
//!
//! * [`link`] — the FT3 frame: sync `0x05 0x64`, length, control, addresses,
//!   header CRC and a CRC after every 16 user-data octets (CRC-16/DNP,
//!   slice-by-16 table built at compile time). [`link::Framer`] is the sans-IO
//!   [`StreamFramer`](crate::stream::StreamFramer) for TCP: it scans for the
//!   sync, checks the header CRC, waits for the body, checks every block CRC
//!   and reports a bad CRC as a `Discard` — then resynchronises on the next
//!   `0x05 0x64`. It never gives up on a connection. [`link::frames`] walks the
//!   several frames a UDP datagram may carry.
//! * [`transport`] — the one-octet FIR/FIN/sequence header and a
//!   per-direction [`transport::Assembler`] with one buffer allocated once at
//!   construction (default [`TRANSPORT_BUFFER_DEFAULT`](crate::limits::dnp3::TRANSPORT_BUFFER_DEFAULT)).
//! * [`app`] — the application fragment: control, function code, IIN,
//!   object headers with every qualifier. [`app::Fragment::parse`] validates
//!   the whole object area in *one* pass; later iteration
//!   (`fragment.objects()` → [`app::ObjectHeader`] → `points()`) borrows the
//!   fragment and cannot fail. Semantic checks are a separate step
//!   ([`app::Fragment::check`]).
//!
//! Integration: per direction of a TCP flow, feed the reassembled bytes to a
//! [`link::Framer`] (a UDP datagram to [`link::frames`]); for each frame call
//! [`link::Frame::parse`] with a `[u8; 250]` scratch buffer; when
//! `header.control.function.has_user_data()`, push the user data into that
//! direction's [`transport::Assembler`]; parse each completed fragment with
//! [`app::Fragment::parse`] and report `fragment.flags | fragment.check(dir)`
//! plus the `flag()` of every link/transport error by their stable names.
//!
//! Nothing here allocates on the decode path (the assembler's buffer is
//! allocated once, in [`transport::Assembler::new`]), panics, recurses or does
//! I/O. Codes are open enums: unknown link functions, application functions
//! and object groups are values, not errors.
//!
//! ## The API the sensor uses
//!
//! ```
//! use centinela_parsers::dnp3::{app, link, transport, Flags};
//! use centinela_parsers::stream::{FrameStep, StreamFramer};
//!
//! // A READ of class 0 (g60v1, qualifier 0x06) from master 1 to outstation 10.
//! let bytes = [
//!     0x05, 0x64, 0x0b, 0xc4, 0x0a, 0x00, 0x01, 0x00, 0xac, 0xd1, // header + CRC
//!     0xc0, 0xc1, 0x01, 0x3c, 0x01, 0x06, 0xf9, 0x73,             // data + CRC
//! ];
//! let mut framer = link::Framer::new();
//! let mut user = [0u8; link::MAX_USER_DATA];
//! let mut asm = transport::Assembler::new(transport::DEFAULT_CAPACITY);
//! let FrameStep::Frame { frame, .. } = framer.frame(&bytes) else { panic!() };
//! let (header, data) = link::Frame::parse(frame, &mut user).unwrap();
//! assert_eq!((header.source, header.destination), (1, 10));
//! // Only CONFIRMED/UNCONFIRMED_USER_DATA frames feed the transport layer.
//! assert!(header.control.function.has_user_data());
//! let fragment = asm.push(data).unwrap().unwrap();
//! let frag = app::Fragment::parse(fragment).unwrap();
//! assert_eq!(frag.function, app::FunctionCode::Read);
//! let flags: Flags = frag.flags | frag.check(Some(header.control.dir));
//! assert!(flags.is_empty());
//! let obj = frag.objects().next().unwrap();
//! assert_eq!((obj.group, obj.variation, obj.qualifier.raw()), (60, 1, 0x06));
//! ```
//!
//! Link-layer CRCs are verified except under `cfg(fuzzing)`, where they are
//! bypassed so that a fuzzer reaches the bodies.

pub mod app;
pub mod link;
pub mod transport;

mod crc16;

/// Anomaly flags shared by the three layers: a bit set with stable
/// snake_case names ([`Flags::names`]) used in events and signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(u32);

macro_rules! flags {
    ($($(#[$doc:meta])* $name:ident = $bit:expr, $text:literal;)*) => {
        impl Flags {
            $($(#[$doc])* pub const $name: Flags = Flags(1 << $bit);)*
            /// Every flag with its stable name, in bit order.
            pub const ALL: &'static [(Flags, &'static str)] = &[$((Flags::$name, $text)),*];
        }
    };
}

flags! {
    /// Link header CRC mismatch (§9.2.4.1.3); the frame was discarded.
    BAD_HEADER_CRC = 0, "bad_header_crc";
    /// A link user-data block CRC mismatch (§9.2.4.1.3); frame discarded.
    BAD_BODY_CRC = 1, "bad_body_crc";
    /// Link `LENGTH` below 5 (§9.2.4.1.2).
    BAD_LINK_LENGTH = 2, "bad_link_length";
    /// Bytes before a sync pattern were skipped.
    LINK_GARBAGE = 3, "link_garbage";
    /// Transport sequence number not the expected successor (§8.2.1.3).
    TRANSPORT_OUT_OF_SEQUENCE = 4, "transport_out_of_sequence";
    /// Transport segment without FIR and no fragment in progress (§8.2.1.1).
    TRANSPORT_MISSING_FIR = 5, "transport_missing_fir";
    /// Reassembled fragment larger than the assembler's buffer.
    TRANSPORT_OVERFLOW = 6, "transport_overflow";
    /// Object group/variation absent from the size table (§4.2.2.7, A.*):
    /// iteration of the fragment stops at that header.
    UNKNOWN_OBJECT = 7, "unknown_object";
    /// Qualifier code reserved or not legal with this object (Table 4-5).
    BAD_QUALIFIER = 8, "bad_qualifier";
    /// Object header or its objects run past the end of the fragment.
    TRUNCATED_OBJECT = 9, "truncated_object";
    /// Start index greater than stop index (§4.2.2.7.3).
    BAD_RANGE = 10, "bad_range";
    /// IIN present on a fragment sent by a master (response function
    /// code with DIR = 1), §4.2.2.6.
    UNEXPECTED_IIN = 11, "unexpected_iin";
    /// UNS bit does not match the function code (§4.2.2.4.4).
    BAD_UNS = 12, "bad_uns";
    /// FIR/FIN combination not allowed for this function (§4.2.2.4: every
    /// request and unsolicited response is a single fragment).
    BAD_FIR_FIN = 13, "bad_fir_fin";
    /// Function code not defined by IEEE 1815-2012 Table 4-1/4-2.
    UNKNOWN_FUNCTION = 14, "unknown_function";
    /// Objects after a function code that carries none (confirm, restart…).
    UNEXPECTED_OBJECTS = 15, "unexpected_objects";
    /// More object headers than `APP_MAX_OBJECT_HEADERS`.
    TOO_MANY_OBJECTS = 16, "too_many_objects";
    /// A request function sent by an outstation (DIR = 0), §9.2.4.1.4.
    REQUEST_FROM_OUTSTATION = 17, "request_from_outstation";
    /// IIN2 reserved bits set (§4.2.2.6).
    IIN_RESERVED_BITS = 18, "iin_reserved_bits";
}

impl Flags {
    /// No flag set.
    pub const NONE: Flags = Flags(0);

    /// True when no flag is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// True when every flag of `other` is set in `self`.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Set the flags of `other`.
    pub fn insert(&mut self, other: Flags) {
        self.0 |= other.0;
    }

    /// The stable snake_case names of the set flags, in bit order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Flags::ALL.iter().filter(move |(f, _)| self.contains(*f)).map(|(_, n)| *n)
    }
}

impl core::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl core::ops::BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Flags) {
        self.0 |= rhs.0;
    }
}

impl core::fmt::Display for Flags {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut first = true;
        for n in self.names() {
            if !first {
                f.write_str(",")?;
            }
            f.write_str(n)?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable_and_ordered() {
        let f = Flags::BAD_BODY_CRC | Flags::UNKNOWN_OBJECT;
        let v: [&str; 2] = [f.names().next().unwrap_or(""), f.names().nth(1).unwrap_or("")];
        assert_eq!(v, ["bad_body_crc", "unknown_object"]);
        assert_eq!(format!("{f}"), "bad_body_crc,unknown_object");
        assert!(Flags::NONE.is_empty());
        // every name unique and snake_case
        for (i, (a, n)) in Flags::ALL.iter().enumerate() {
            assert!(n.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
            assert_eq!(a.bits(), 1 << i);
        }
    }
}
