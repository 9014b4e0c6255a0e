//! MBAP: the Modbus Application Protocol header used on TCP and UDP
//! (Modbus Messaging on TCP/IP Implementation Guide V1.0b §3.1.3).
//!
//! ```text
//!  0      2      4      6    7
//! +------+------+------+----+-----------------------+
//! | tid  | pid  | len  |unit| PDU (len - 1 bytes)   |
//! +------+------+------+----+-----------------------+
//! ```
//! `len` counts the unit id and the PDU, so 2 ≤ len ≤ 254.

use super::flags::Flags;
use super::pdu::{Pdu, RequestSummary};
use super::values::AddressedValues;
use super::{Direction, Error, Invalid};
use crate::limits::modbus as lim;

/// Field offsets of the MBAP header.
pub mod field {
    use core::ops::Range;
    /// Transaction identifier.
    pub const TRANSACTION_ID: Range<usize> = 0..2;
    /// Protocol identifier (0 = Modbus).
    pub const PROTOCOL_ID: Range<usize> = 2..4;
    /// Length of unit id + PDU.
    pub const LENGTH: Range<usize> = 4..6;
    /// Unit identifier.
    pub const UNIT_ID: usize = 6;
    /// First byte of the PDU (the function code).
    pub const PDU_START: usize = 7;
}

/// Bytes of the header counted *before* the length field's scope.
const LENGTH_BASE: usize = field::UNIT_ID;
const _: () = assert!(field::PDU_START == lim::MBAP_HEADER_LEN);
/// The smallest ADU: header + function code.
pub const MIN_ADU_LEN: usize = LENGTH_BASE + lim::MBAP_MIN_LENGTH as usize;

/// A read/write view of an MBAP ADU over any buffer.
///
/// Once [`MbapPacket::check_len`] returned `Ok`, no accessor panics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MbapPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> MbapPacket<T> {
    /// Wrap a buffer without checks (accessors may panic until
    /// [`check_len`](Self::check_len) succeeds).
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wrap a buffer and check it with [`check_len`](Self::check_len).
    ///
    /// # Errors
    /// As [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Check that the buffer holds the whole header and the whole ADU the
    /// length field announces, and that the length field is in 2..=254.
    /// A longer buffer is accepted (see [`has_trailing_bytes`](Self::has_trailing_bytes)).
    ///
    /// # Errors
    /// `Incomplete { needed }` with a lower bound of the missing bytes, or
    /// `Invalid(MbapLength)`.
    pub fn check_len(&self) -> Result<(), Error> {
        let len = self.buffer.as_ref().len();
        if len < field::LENGTH.end {
            return Err(Error::Incomplete { needed: MIN_ADU_LEN - len });
        }
        let length = self.length();
        if !(lim::MBAP_MIN_LENGTH..=lim::MBAP_MAX_LENGTH).contains(&length) {
            return Err(Error::Invalid(Invalid::MbapLength(length)));
        }
        let total = self.total_len();
        if len < total {
            return Err(Error::Incomplete { needed: total - len });
        }
        Ok(())
    }

    /// Consume the view, returning the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Transaction identifier.
    #[must_use]
    pub fn transaction_id(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Protocol identifier.
    #[must_use]
    pub fn protocol_id(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[2], b[3]])
    }

    /// Length field (unit id + PDU).
    #[must_use]
    pub fn length(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[4], b[5]])
    }

    /// Unit identifier.
    #[must_use]
    pub fn unit_id(&self) -> u8 {
        self.buffer.as_ref()[field::UNIT_ID]
    }

    /// Whole ADU length the header announces (6 + length).
    #[must_use]
    pub fn total_len(&self) -> usize {
        LENGTH_BASE + usize::from(self.length())
    }

    /// True when the buffer holds bytes after the announced ADU.
    #[must_use]
    pub fn has_trailing_bytes(&self) -> bool {
        self.buffer.as_ref().len() > self.total_len()
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> MbapPacket<&'a T> {
    /// The PDU (function code + data), borrowed from the buffer.
    #[must_use]
    pub fn pdu(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::PDU_START..self.total_len()]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> MbapPacket<T> {
    /// Set the transaction identifier.
    pub fn set_transaction_id(&mut self, v: u16) {
        self.buffer.as_mut()[field::TRANSACTION_ID].copy_from_slice(&v.to_be_bytes());
    }
    /// Set the protocol identifier.
    pub fn set_protocol_id(&mut self, v: u16) {
        self.buffer.as_mut()[field::PROTOCOL_ID].copy_from_slice(&v.to_be_bytes());
    }
    /// Set the length field.
    pub fn set_length(&mut self, v: u16) {
        self.buffer.as_mut()[field::LENGTH].copy_from_slice(&v.to_be_bytes());
    }
    /// Set the unit identifier.
    pub fn set_unit_id(&mut self, v: u8) {
        self.buffer.as_mut()[field::UNIT_ID] = v;
    }
    /// The PDU, mutably (per the current length field).
    pub fn pdu_mut(&mut self) -> &mut [u8] {
        let end = self.total_len();
        &mut self.buffer.as_mut()[field::PDU_START..end]
    }
}

/// The MBAP header as a compact `Repr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MbapHeader {
    /// Transaction identifier.
    pub transaction_id: u16,
    /// Protocol identifier.
    pub protocol_id: u16,
    /// Length field.
    pub length: u16,
    /// Unit identifier.
    pub unit_id: u8,
}

impl MbapHeader {
    /// Read the header of a checked packet.
    pub fn parse<T: AsRef<[u8]>>(p: &MbapPacket<T>) -> Self {
        Self {
            transaction_id: p.transaction_id(),
            protocol_id: p.protocol_id(),
            length: p.length(),
            unit_id: p.unit_id(),
        }
    }

    /// Header for a PDU of `pdu_len` bytes (length = pdu_len + 1).
    ///
    /// # Errors
    /// `Invalid(MbapLength)` when the PDU does not fit 1..=253 bytes.
    pub fn for_pdu(transaction_id: u16, unit_id: u8, pdu_len: usize) -> Result<Self, Error> {
        let length = u16::try_from(pdu_len.saturating_add(1)).unwrap_or(u16::MAX);
        if !(lim::MBAP_MIN_LENGTH..=lim::MBAP_MAX_LENGTH).contains(&length) {
            return Err(Error::Invalid(Invalid::MbapLength(length)));
        }
        Ok(Self { transaction_id, protocol_id: 0, length, unit_id })
    }

    /// Bytes of the whole ADU.
    #[must_use]
    pub fn adu_len(&self) -> usize {
        LENGTH_BASE + usize::from(self.length)
    }

    /// Write the header into `p` (whose buffer must hold ≥ 7 bytes).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut MbapPacket<T>) {
        p.set_transaction_id(self.transaction_id);
        p.set_protocol_id(self.protocol_id);
        p.set_length(self.length);
        p.set_unit_id(self.unit_id);
    }
}

/// A parsed MBAP ADU (Modbus/TCP or Modbus/UDP), borrowing the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adu<'a> {
    /// Transaction identifier.
    pub transaction_id: u16,
    /// Protocol identifier (0; anything else is flagged).
    pub protocol_id: u16,
    /// Unit identifier.
    pub unit_id: u8,
    /// The PDU.
    pub pdu: Pdu<'a>,
    /// Every anomaly of the ADU: the MBAP ones and `pdu.flags`.
    pub flags: Flags,
}

impl<'a> Adu<'a> {
    /// Parse one ADU from the start of `frame` (a framed TCP unit from
    /// [`MbapFramer`](super::MbapFramer) or a UDP datagram).
    ///
    /// # Errors
    /// `Incomplete { needed }` if `frame` ends before the ADU does;
    /// `Invalid(MbapLength)` if the length field is outside 2..=254. Bytes
    /// after the announced length are flagged `invalid_length`.
    pub fn parse(frame: &'a [u8], dir: Direction) -> Result<Adu<'a>, Error> {
        let p = MbapPacket::new_checked(frame)?;
        let pdu = Pdu::parse(p.pdu(), dir)?;
        let protocol_id = p.protocol_id();
        let mut flags = pdu.flags;
        flags.set_if(protocol_id != 0, Flags::INVALID_PROTOCOL_ID);
        flags.set_if(p.has_trailing_bytes(), Flags::INVALID_LENGTH);
        Ok(Adu { transaction_id: p.transaction_id(), protocol_id, unit_id: p.unit_id(), pdu, flags })
    }

    /// Summary of this request for the per-flow queue (`None` if the ADU is
    /// not a request).
    #[must_use]
    pub fn request_summary(&self) -> Option<RequestSummary> {
        self.pdu.summary(self.transaction_id, self.unit_id)
    }

    /// True if this ADU answers `req` (same transaction id, unit and
    /// function).
    #[must_use]
    pub fn matches(&self, req: &RequestSummary) -> bool {
        self.transaction_id == req.transaction_id
            && self.unit_id == req.unit_id
            && self.pdu.function == req.function
    }

    /// Register or coil values of a read response, with addresses from the
    /// matched request. `None` if the ADU does not answer `req` or carries
    /// no values.
    #[must_use]
    pub fn values_with_addresses(&self, req: &RequestSummary) -> Option<AddressedValues<'a>> {
        if !self.matches(req) {
            return None;
        }
        self.pdu.values_with_addresses(req)
    }

    /// Flags found by checking this response against its request (see
    /// [`Pdu::check_response`]); `response_mismatch` if it does not match.
    #[must_use]
    pub fn check_response(&self, req: &RequestSummary) -> Flags {
        if self.transaction_id != req.transaction_id || self.unit_id != req.unit_id {
            return Flags::RESPONSE_MISMATCH;
        }
        self.pdu.check_response(req)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::modbus::{PduBody, Request, Response, Value};

    // Read Holding Registers, spec §6.3 example, tid 0x1501, unit 0x11.
    static REQUEST_BYTES: [u8; 12] = [0x15, 0x01, 0x00, 0x00, 0x00, 0x06, 0x11, 0x03, 0x00, 0x6B, 0x00, 0x03];
    static RESPONSE_BYTES: [u8; 15] =
        [0x15, 0x01, 0x00, 0x00, 0x00, 0x09, 0x11, 0x03, 0x06, 0x02, 0x2B, 0x00, 0x00, 0x00, 0x64];

    #[test]
    fn deconstruct() {
        let p = MbapPacket::new_checked(&REQUEST_BYTES[..]).unwrap();
        assert_eq!(p.transaction_id(), 0x1501);
        assert_eq!(p.protocol_id(), 0);
        assert_eq!(p.length(), 6);
        assert_eq!(p.unit_id(), 0x11);
        assert_eq!(p.pdu(), &[0x03, 0x00, 0x6B, 0x00, 0x03]);
        assert!(!p.has_trailing_bytes());
    }

    #[test]
    fn construct() {
        let mut bytes = [0xA5u8; 12];
        let mut p = MbapPacket::new_unchecked(&mut bytes[..]);
        p.set_transaction_id(0x1501);
        p.set_protocol_id(0);
        p.set_length(6);
        p.set_unit_id(0x11);
        p.pdu_mut().copy_from_slice(&[0x03, 0x00, 0x6B, 0x00, 0x03]);
        assert_eq!(bytes, REQUEST_BYTES);
    }

    #[test]
    fn impossible_lengths() {
        for length in [0u16, 1, 255, 0xFFFF] {
            let mut b = REQUEST_BYTES;
            b[4..6].copy_from_slice(&length.to_be_bytes());
            assert_eq!(
                MbapPacket::new_checked(&b[..]).unwrap_err(),
                Error::Invalid(Invalid::MbapLength(length))
            );
        }
        assert_eq!(
            MbapPacket::new_checked(&REQUEST_BYTES[..11]).unwrap_err(),
            Error::Incomplete { needed: 1 }
        );
        assert_eq!(
            MbapPacket::new_checked(&REQUEST_BYTES[..3]).unwrap_err(),
            Error::Incomplete { needed: 5 }
        );
        assert_eq!(MbapPacket::new_checked(&[][..]).unwrap_err(), Error::Incomplete { needed: 8 });
    }

    #[test]
    fn parse() {
        let req = Adu::parse(&REQUEST_BYTES, Direction::Request).unwrap();
        assert_eq!((req.transaction_id, req.protocol_id, req.unit_id), (0x1501, 0, 0x11));
        assert_eq!(req.pdu.body, PduBody::Request(Request::ReadRegisters { address: 0x6B, quantity: 3 }));
        assert!(req.flags.is_empty());
        let summary = req.request_summary().unwrap();
        let rsp = Adu::parse(&RESPONSE_BYTES, Direction::Response).unwrap();
        let PduBody::Response(Response::ReadRegisters { byte_count: 6, values }) = rsp.pdu.body else {
            panic!("{rsp:?}")
        };
        assert_eq!(values.iter().collect::<Vec<_>>(), [0x022B, 0, 0x64]);
        assert!(rsp.check_response(&summary).is_empty());
        let v: Vec<_> = rsp.values_with_addresses(&summary).unwrap().collect();
        assert_eq!(v[2], (0x6D, Value::Register(0x64)));
        // trailing byte and non-zero protocol id are flags, not errors
        let mut long = [0u8; 13];
        long[..12].copy_from_slice(&REQUEST_BYTES);
        long[3] = 1;
        let adu = Adu::parse(&long, Direction::Request).unwrap();
        assert_eq!(adu.flags, Flags::INVALID_LENGTH | Flags::INVALID_PROTOCOL_ID);
    }

    #[test]
    fn emit() {
        let h = MbapHeader::for_pdu(0x1501, 0x11, 5).unwrap();
        let mut bytes = [0u8; 12];
        h.emit(&mut MbapPacket::new_unchecked(&mut bytes[..]));
        bytes[7..].copy_from_slice(&REQUEST_BYTES[7..]);
        assert_eq!(bytes, REQUEST_BYTES);
        assert_eq!(MbapHeader::parse(&MbapPacket::new_checked(&bytes[..]).unwrap()), h);
        assert_eq!(h.adu_len(), 12);
        assert!(MbapHeader::for_pdu(0, 0, 254).is_err());
        assert!(MbapHeader::for_pdu(0, 0, 0).is_err());
    }
}
