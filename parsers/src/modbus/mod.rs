//! # Modbus: MBAP (TCP/UDP) and RTU-over-TCP
//!
//! Zero-copy, panic-free, allocation-free decoding of the Modbus Application
//! Protocol (V1.1b3), its MBAP encapsulation on TCP and UDP (Messaging on
//! TCP/IP Implementation Guide V1.0b) and serial RTU frames tunnelled over
//! TCP/UDP by gateways (Modbus over Serial Line V1.02).
//!
//! ## Contract (after smoltcp's `wire`)
//! * **View** — [`MbapPacket`] wraps any `AsRef<[u8]>`; its `check_len`
//!   validates the length field against the buffer, after which no accessor
//!   panics. Field offsets live in [`mbap::field`].
//! * **Parse** — [`Adu::parse`] / [`rtu::parse`] / [`Pdu::parse`] return
//!   borrowed `Repr`s: [`Adu`] → [`Pdu`] → [`PduBody`] (`Request`, `Response`,
//!   `Exception`, `Other`, `Malformed`). Register values are a lazy `u16`
//!   iterator ([`Registers`]), coils a lazy bit iterator ([`Bits`]), record
//!   lists and device-identification objects lazy iterators. Nothing is copied.
//! * **Semantics as flags** — a framed but invalid ADU is still returned; what
//!   is wrong is in its [`Flags`] (stable snake_case names via
//!   [`Flags::names`]: `invalid_length`, `invalid_protocol_id`,
//!   `quantity_out_of_range`, `byte_count_mismatch`, `invalid_exception_code`,
//!   `unknown_function`, `reserved_function`, `user_defined_function`,
//!   `bad_crc`, `invalid_value`, `address_overflow`, `reserved_subfunction`,
//!   `exception_in_request`, `invalid_unit_id`, `response_mismatch`).
//!   Byte counts are checked per function: 2×quantity for registers,
//!   ceil(quantity/8) for coils (unlike Suricata, which checks register
//!   responses with the coil formula).
//! * **Errors** — only what cannot be framed is an [`Error`], a `Copy` enum
//!   that keeps [`Error::Incomplete`] (with a lower bound of the bytes
//!   needed) apart from [`Error::Invalid`].
//! * **Open enums** — [`FunctionCode`], [`ExceptionCode`],
//!   [`DiagnosticSubFunction`]: unknown, user-defined and reserved codes
//!   (e.g. FC 90 Schneider UMAS) are values, surfaced with their raw data.
//! * **Streams** — [`MbapFramer`] and [`RtuFramer`] implement
//!   [`StreamFramer`](crate::stream::StreamFramer): fed arbitrary chunks, they
//!   report frames / bytes needed / discarded runs and resynchronise after a
//!   [`gap`](crate::stream::StreamFramer::gap). [`probe`] tells MBAP from RTU
//!   on the same port. `nom` streaming parsers read the MBAP length field;
//!   bodies of framed PDUs use `nom` complete parsers; no `nom` type is public.
//! * **Matching** — [`Adu::request_summary`] gives a small `Copy`
//!   [`RequestSummary`] (transaction id, unit, function, address, quantity)
//!   that the app layer keeps in its bounded per-flow queue;
//!   [`Adu::values_with_addresses`] then yields `(address, Value)` for the
//!   response's registers or coils, and [`Adu::check_response`] adds the
//!   checks that need the request.
//!
//! Every limit is a named constant in [`crate::limits::modbus`].
//!
//! ## Use by the app layer
//! ```
//! use centinela_parsers::modbus::{self, Adu, Direction, MbapFramer, Value};
//! use centinela_parsers::stream::{FrameStep, StreamFramer};
//!
//! let req = [0x00, 0x01, 0, 0, 0, 6, 0x11, 0x03, 0x00, 0x6B, 0x00, 0x02];
//! let rsp = [0x00, 0x01, 0, 0, 0, 7, 0x11, 0x03, 0x04, 0x02, 0x2B, 0x00, 0x64];
//! assert_eq!(modbus::probe(&req), Some(modbus::ModbusFraming::Mbap));
//! let mut framer = MbapFramer::new();
//! let FrameStep::Frame { frame, .. } = framer.frame(&req) else { panic!() };
//! let summary = Adu::parse(frame, Direction::Request).unwrap().request_summary().unwrap();
//! let adu = Adu::parse(&rsp, Direction::Response).unwrap();
//! assert!(adu.flags.is_empty());
//! let values: Vec<_> = adu.values_with_addresses(&summary).unwrap().collect();
//! assert_eq!(values, [(0x6B, Value::Register(0x022B)), (0x6C, Value::Register(0x64))]);
//! ```

pub mod codes;
pub mod flags;
pub mod framer;
pub mod mbap;
pub mod pdu;
pub mod records;
pub mod rtu;
pub mod values;

pub use codes::{DiagnosticSubFunction, ExceptionCode, FunctionCode};
pub use flags::Flags;
pub use framer::{MbapFramer, ModbusFraming, RtuFramer, probe};
pub use mbap::{Adu, MbapHeader, MbapPacket};
pub use pdu::{Pdu, PduBody, Request, RequestSummary, Response};
pub use records::{DeviceIdObject, FileRecordData, FileRecordWrite, FileSubRequest};
pub use rtu::RtuAdu;
pub use values::{AddressedValues, Bits, Registers, Value};

use core::fmt;

/// Which side of the conversation sent a PDU (the caller knows: client →
/// server is a request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client (master) to server (slave).
    Request,
    /// Server to client.
    Response,
}

/// Why bytes could not be decoded as a Modbus ADU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub enum Error {
    /// The buffer ends before the ADU does: at least `needed` more bytes.
    Incomplete {
        /// Lower bound on the additional bytes required (≥ 1).
        needed: usize,
    },
    /// The bytes cannot be (the start of) a Modbus ADU.
    Invalid(Invalid),
}

/// The kinds of [`Error::Invalid`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Invalid {
    /// MBAP length field outside 2..=254.
    MbapLength(u16),
    /// A PDU with no function code.
    EmptyPdu,
    /// RTU byte counts announce an ADU longer than 256 bytes.
    RtuLength(usize),
    /// RTU address > 247, implausible function code, or an exception in the
    /// request direction: no frame starts here.
    RtuHeader {
        /// The address byte.
        address: u8,
        /// The function code byte.
        function: u8,
    },
    /// An RTU frame whose CRC does not match (framer only; [`rtu::parse`]
    /// returns the frame with `bad_crc`).
    BadCrc,
    /// Stream framer resynchronising: bytes before the next plausible header.
    NoSync,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Incomplete { needed } => write!(f, "incomplete Modbus ADU: {needed} more byte(s) needed"),
            Error::Invalid(i) => write!(f, "invalid Modbus ADU: {i}"),
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Invalid::MbapLength(l) => write!(f, "MBAP length {l} outside 2..=254"),
            Invalid::EmptyPdu => f.write_str("empty PDU"),
            Invalid::RtuLength(l) => write!(f, "RTU ADU of {l} bytes exceeds 256"),
            Invalid::RtuHeader { address, function } => {
                write!(f, "no RTU frame starts with address {address} function {function:#04x}")
            }
            Invalid::BadCrc => f.write_str("RTU CRC mismatch"),
            Invalid::NoSync => f.write_str("no plausible Modbus header (resynchronising)"),
        }
    }
}

impl core::error::Error for Error {}
