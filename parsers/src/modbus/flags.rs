//! Anomaly flags carried on parsed Modbus values.
//!
//! A framed but invalid ADU is still returned; what is wrong with it is a set
//! of [`Flags`]. Every flag has a stable snake_case name (see [`Flags::names`])
//! that the sensor uses as the anomaly event name; these names are part of the
//! event schema and must not change.

use core::fmt;

/// A set of anomaly flags (a hand-written, `Copy` bit set).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(u32);

macro_rules! flags {
    ($($(#[$doc:meta])* $name:ident = $bit:expr, $str:literal;)*) => {
        impl Flags {
            $($(#[$doc])* pub const $name: Flags = Flags(1 << $bit);)*

            /// Every flag with its stable name, in bit order.
            pub const ALL: &'static [(Flags, &'static str)] = &[$((Flags::$name, $str),)*];
        }
    };
}

flags! {
    /// The PDU length does not fit the function's layout (too short, trailing
    /// bytes), or the frame holds more bytes than the MBAP length announces.
    INVALID_LENGTH = 0, "invalid_length";
    /// MBAP protocol identifier is not 0 (Modbus).
    INVALID_PROTOCOL_ID = 1, "invalid_protocol_id";
    /// A quantity is outside the function's range (e.g. 1..=125 registers
    /// read, 1..=2000 bits read, 1..=123 registers written).
    QUANTITY_OUT_OF_RANGE = 2, "quantity_out_of_range";
    /// A byte count disagrees with the quantity (2×quantity for registers,
    /// ceil(quantity/8) for coils) or with the bytes present.
    BYTE_COUNT_MISMATCH = 3, "byte_count_mismatch";
    /// Exception code outside {1, 2, 3, 4, 5, 6, 8, 10, 11}.
    INVALID_EXCEPTION_CODE = 4, "invalid_exception_code";
    /// Function code that is neither public, user-defined nor reserved.
    UNKNOWN_FUNCTION = 5, "unknown_function";
    /// Function code reserved for legacy vendor products (e.g. 90 UMAS).
    RESERVED_FUNCTION = 6, "reserved_function";
    /// User-defined function code (65–72, 100–110).
    USER_DEFINED_FUNCTION = 7, "user_defined_function";
    /// RTU frame whose CRC-16/MODBUS does not match.
    BAD_CRC = 8, "bad_crc";
    /// A field holds a value the spec forbids (coil value other than
    /// 0x0000/0xFF00, file reference type other than 6, Read Device ID code
    /// outside 1..=4, FIFO count > 31, …).
    INVALID_VALUE = 9, "invalid_value";
    /// start address + quantity runs past 0xFFFF.
    ADDRESS_OVERFLOW = 10, "address_overflow";
    /// Reserved Diagnostics sub-function or MEI type.
    RESERVED_SUBFUNCTION = 11, "reserved_subfunction";
    /// An exception (function code with bit 0x80) in the request direction.
    EXCEPTION_IN_REQUEST = 12, "exception_in_request";
    /// RTU address outside 0..=247.
    INVALID_UNIT_ID = 13, "invalid_unit_id";
    /// A response that does not answer the request it was matched with
    /// (function, echoed address or quantity).
    RESPONSE_MISMATCH = 14, "response_mismatch";
}

impl Flags {
    /// No flag set.
    pub const EMPTY: Flags = Flags(0);

    /// The raw bits.
    #[must_use]
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Build from raw bits (unknown bits are kept but have no name).
    #[must_use]
    pub const fn from_bits(bits: u32) -> Self {
        Flags(bits)
    }

    /// The union of two sets (usable in `const`).
    #[must_use]
    pub const fn union(self, other: Flags) -> Self {
        Flags(self.0 | other.0)
    }

    /// True when no flag is set.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// True when every flag of `other` is set in `self`.
    #[must_use]
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// True when any flag of `other` is set in `self`.
    #[must_use]
    pub const fn intersects(self, other: Flags) -> bool {
        self.0 & other.0 != 0
    }

    /// Set the flags of `other`.
    pub fn insert(&mut self, other: Flags) {
        self.0 |= other.0;
    }

    /// Set `other` when `cond` holds.
    pub fn set_if(&mut self, cond: bool, other: Flags) {
        if cond {
            self.0 |= other.0;
        }
    }

    /// The stable names of the flags set, in bit order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::ALL.iter().filter(move |(f, _)| self.contains(*f)).map(|(_, n)| *n)
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

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Flags(")?;
        let mut first = true;
        for n in self.names() {
            if !first {
                f.write_str(" | ")?;
            }
            f.write_str(n)?;
            first = false;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_in_bit_order() {
        for (i, (f, n)) in Flags::ALL.iter().enumerate() {
            assert_eq!(f.bits(), 1 << i, "{n}");
            assert!(n.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        }
        let f = Flags::BAD_CRC | Flags::INVALID_LENGTH;
        assert_eq!(f.names().collect::<Vec<_>>(), ["invalid_length", "bad_crc"]);
        assert_eq!(format!("{f:?}"), "Flags(invalid_length | bad_crc)");
        assert!(Flags::EMPTY.is_empty());
        assert!(f.contains(Flags::BAD_CRC) && !f.contains(Flags::ADDRESS_OVERFLOW));
    }
}
