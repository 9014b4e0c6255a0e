//! Modbus RTU framing (Modbus over Serial Line V1.02 §2.5.1), as found
//! tunnelled over TCP or UDP by serial gateways ("RTU-over-TCP"):
//!
//! ```text
//! +---------+------------------+---------------------+
//! | address | PDU (1..=253)    | CRC-16/MODBUS (LE)  |
//! +---------+------------------+---------------------+
//! ```
//! There is no length field: the length follows from the function code, the
//! direction and the PDU's own byte counts ([`expected_len`]); functions
//! without a fixed rule (FC 8/0 echo, FC 43/13, user-defined and reserved
//! codes) are delimited by the first position where the CRC matches.

use super::flags::Flags;
use super::pdu::{EXCEPTION_BIT, Pdu, RequestSummary};
use super::values::AddressedValues;
use super::{Direction, Error, FunctionCode, Invalid};
use crate::limits::modbus as lim;

/// CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF), table built at compile
/// time.
pub static CRC: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_MODBUS);

/// CRC-16/MODBUS of `bytes`.
#[must_use]
pub fn crc16(bytes: &[u8]) -> u16 {
    CRC.checksum(bytes)
}

/// What the bytes at hand say about the length of the RTU ADU that starts at
/// `buf[0]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtuLen {
    /// The whole ADU (address..CRC) is this many bytes.
    Known(usize),
    /// At least this many bytes must be present before the length is known.
    NeedAtLeast(usize),
    /// The function has no length rule: delimit by CRC.
    ByCrc,
}

/// Length of the RTU ADU at the start of `buf`, by function code and
/// direction (address + PDU + 2-byte CRC).
#[must_use]
pub fn expected_len(buf: &[u8], dir: Direction) -> RtuLen {
    use FunctionCode as F;
    let Some(&fc) = buf.get(1) else { return RtuLen::NeedAtLeast(2) };
    // total = 1 (address) + pdu + 2 (crc)
    let fixed = |pdu: usize| RtuLen::Known(pdu + 3);
    // byte count `bc` at index `at`; pdu = at + bc (from fc) - 1 + 1
    let counted = |at: usize| match buf.get(at) {
        Some(&bc) => RtuLen::Known(at + 1 + usize::from(bc) + 2),
        None => RtuLen::NeedAtLeast(at + 1),
    };
    let sub = || match buf.get(2..4) {
        Some(s) if s == [0, 0] => RtuLen::ByCrc,
        Some(_) => fixed(5),
        None => RtuLen::NeedAtLeast(4),
    };
    let function = FunctionCode::from_u8(fc & !EXCEPTION_BIT);
    if fc & EXCEPTION_BIT != 0 {
        return if function.is_public() { fixed(2) } else { RtuLen::ByCrc };
    }
    match (dir, function) {
        (_, F::Diagnostics) => sub(),
        (_, F::EncapsulatedInterface) => match buf.get(2) {
            None => RtuLen::NeedAtLeast(3),
            Some(&super::codes::mei::READ_DEVICE_IDENTIFICATION) => match dir {
                Direction::Request => fixed(4),
                Direction::Response => device_id_len(buf),
            },
            Some(_) => RtuLen::ByCrc,
        },
        (_, F::WriteSingleCoil | F::WriteSingleRegister) => fixed(5),
        (_, F::MaskWriteRegister) => fixed(7),
        (_, F::ReadFileRecord | F::WriteFileRecord) => counted(2),
        (
            Direction::Request,
            F::ReadCoils | F::ReadDiscreteInputs | F::ReadHoldingRegisters | F::ReadInputRegisters,
        ) => fixed(5),
        (
            Direction::Request,
            F::ReadExceptionStatus | F::GetCommEventCounter | F::GetCommEventLog | F::ReportServerId,
        ) => fixed(1),
        (Direction::Request, F::WriteMultipleCoils | F::WriteMultipleRegisters) => counted(6),
        (Direction::Request, F::ReadWriteMultipleRegisters) => counted(10),
        (Direction::Request, F::ReadFifoQueue) => fixed(3),
        (
            Direction::Response,
            F::ReadCoils
            | F::ReadDiscreteInputs
            | F::ReadHoldingRegisters
            | F::ReadInputRegisters
            | F::GetCommEventLog
            | F::ReportServerId
            | F::ReadWriteMultipleRegisters,
        ) => counted(2),
        (Direction::Response, F::WriteMultipleCoils | F::WriteMultipleRegisters) => fixed(5),
        (Direction::Response, F::ReadExceptionStatus) => fixed(2),
        (Direction::Response, F::GetCommEventCounter) => fixed(5),
        (Direction::Response, F::ReadFifoQueue) => match buf.get(2..4) {
            Some(s) => RtuLen::Known(4 + usize::from(u16::from_be_bytes([s[0], s[1]])) + 2),
            None => RtuLen::NeedAtLeast(4),
        },
        (_, F::UserDefined(_) | F::Reserved(_) | F::Unknown(_)) => RtuLen::ByCrc,
    }
}

/// Read Device Identification response: walk the object list.
fn device_id_len(buf: &[u8]) -> RtuLen {
    // address, fc, mei, code, conformity, more, next, count, objects…
    const OBJECTS: usize = 8;
    let Some(&count) = buf.get(OBJECTS - 1) else { return RtuLen::NeedAtLeast(OBJECTS) };
    let mut at = OBJECTS;
    for _ in 0..count {
        let Some(&len) = buf.get(at + 1) else { return RtuLen::NeedAtLeast(at + 2) };
        at += 2 + usize::from(len);
        if at > lim::MAX_RTU_ADU_LEN {
            return RtuLen::Known(at + 2);
        }
    }
    RtuLen::Known(at + 2)
}

/// True when the CRC of `adu` (last two bytes, little endian) matches. Under
/// `cfg(fuzzing)` this is not consulted by the framer.
#[must_use]
pub fn crc_ok(adu: &[u8]) -> bool {
    adu.len() >= 2 && CRC.checksum(adu) == 0 // residue of CRC-16/MODBUS is 0
}

/// First length (≥ 4, ≤ 256) at which `buf` ends with a matching CRC.
pub(crate) fn crc_delimit(buf: &[u8]) -> Option<usize> {
    let mut d = CRC.digest();
    let max = buf.len().min(lim::MAX_RTU_ADU_LEN);
    for (i, b) in buf[..max].iter().enumerate() {
        d.update(core::slice::from_ref(b));
        if i + 1 >= lim::MIN_RTU_ADU_LEN && d.clone().finalize() == 0 {
            return Some(i + 1);
        }
    }
    None
}

/// A parsed RTU ADU, borrowing the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtuAdu<'a> {
    /// Server address (0 broadcast, 1..=247).
    pub address: u8,
    /// The PDU.
    pub pdu: Pdu<'a>,
    /// The CRC as sent.
    pub crc: u16,
    /// Every anomaly: `bad_crc`, `invalid_unit_id`, `invalid_length` and
    /// `pdu.flags`.
    pub flags: Flags,
}

/// Parse one RTU ADU from the start of `frame`.
///
/// The length comes from the function code ([`expected_len`]); for functions
/// without a length rule the whole `frame` is the ADU. A CRC mismatch is the
/// flag `bad_crc` (the ADU is still returned); bytes after the ADU are flagged
/// `invalid_length`.
///
/// # Errors
/// `Incomplete { needed }` when `frame` ends before the ADU does,
/// `Invalid(RtuLength)` when the function's byte counts announce more than
/// 256 bytes.
pub fn parse(frame: &[u8], dir: Direction) -> Result<RtuAdu<'_>, Error> {
    if frame.len() < lim::MIN_RTU_ADU_LEN {
        return Err(Error::Incomplete { needed: lim::MIN_RTU_ADU_LEN - frame.len() });
    }
    let total = match expected_len(frame, dir) {
        RtuLen::Known(t) if t > lim::MAX_RTU_ADU_LEN => return Err(Error::Invalid(Invalid::RtuLength(t))),
        RtuLen::Known(t) | RtuLen::NeedAtLeast(t) if t > frame.len() => {
            return Err(Error::Incomplete { needed: t - frame.len() });
        }
        RtuLen::Known(t) => t,
        RtuLen::NeedAtLeast(_) | RtuLen::ByCrc => frame.len(),
    };
    if total > lim::MAX_RTU_ADU_LEN {
        return Err(Error::Invalid(Invalid::RtuLength(total)));
    }
    let adu = &frame[..total];
    let (pdu_bytes, crc_bytes) = adu[1..].split_at(total - 3);
    let address = adu[0];
    let crc = u16::from_le_bytes([crc_bytes[0], crc_bytes[1]]);
    let pdu = Pdu::parse(pdu_bytes, dir)?;
    let mut flags = pdu.flags;
    flags.set_if(!crc_ok(adu), Flags::BAD_CRC);
    flags.set_if(address > lim::MAX_RTU_UNIT_ADDRESS, Flags::INVALID_UNIT_ID);
    flags.set_if(total < frame.len(), Flags::INVALID_LENGTH);
    Ok(RtuAdu { address, pdu, crc, flags })
}

impl<'a> RtuAdu<'a> {
    /// Summary of this request (transaction id 0) for the per-flow queue.
    #[must_use]
    pub fn request_summary(&self) -> Option<RequestSummary> {
        self.pdu.summary(0, self.address)
    }

    /// Register or coil values of a read response with addresses from the
    /// matched request (`None` if address or function differ).
    #[must_use]
    pub fn values_with_addresses(&self, req: &RequestSummary) -> Option<AddressedValues<'a>> {
        if self.address != req.unit_id {
            return None;
        }
        self.pdu.values_with_addresses(req)
    }

    /// See [`Pdu::check_response`]; `response_mismatch` if the address differs.
    #[must_use]
    pub fn check_response(&self, req: &RequestSummary) -> Flags {
        if self.address != req.unit_id {
            return Flags::RESPONSE_MISMATCH;
        }
        self.pdu.check_response(req)
    }
}

/// Try to frame one RTU ADU at the start of `buf`: `Ok(len)` when a whole
/// ADU with a valid CRC is there, `Err(Incomplete)` when it may be but more
/// bytes are needed, `Err(Invalid)` when it cannot start here.
pub(crate) fn frame_at(buf: &[u8], dir: Direction, check_crc: bool) -> Result<usize, Error> {
    let (Some(&address), Some(&fc)) = (buf.first(), buf.get(1)) else {
        return Err(Error::Incomplete { needed: lim::MIN_RTU_ADU_LEN - buf.len() });
    };
    let function = FunctionCode::from_u8(fc & !EXCEPTION_BIT);
    let exception_ok = fc & EXCEPTION_BIT == 0 || dir == Direction::Response;
    if address > lim::MAX_RTU_UNIT_ADDRESS || !function.is_plausible() || !exception_ok || fc == EXCEPTION_BIT
    {
        return Err(Error::Invalid(Invalid::RtuHeader { address, function: fc }));
    }
    match expected_len(buf, dir) {
        RtuLen::Known(t) if t > lim::MAX_RTU_ADU_LEN => Err(Error::Invalid(Invalid::RtuLength(t))),
        RtuLen::Known(t) | RtuLen::NeedAtLeast(t) if t > buf.len() => {
            Err(Error::Incomplete { needed: t - buf.len() })
        }
        RtuLen::Known(t) => {
            if !check_crc || crc_ok(&buf[..t]) {
                Ok(t)
            } else {
                Err(Error::Invalid(Invalid::BadCrc))
            }
        }
        RtuLen::NeedAtLeast(_) | RtuLen::ByCrc => {
            if buf.len() < lim::MIN_RTU_ADU_LEN {
                return Err(Error::Incomplete { needed: lim::MIN_RTU_ADU_LEN - buf.len() });
            }
            if !check_crc {
                return Ok(lim::MIN_RTU_ADU_LEN);
            }
            match crc_delimit(buf) {
                Some(t) => Ok(t),
                None if buf.len() < lim::MAX_RTU_ADU_LEN => Err(Error::Incomplete { needed: 1 }),
                None => Err(Error::Invalid(Invalid::BadCrc)),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::modbus::{PduBody, Request, Response};

    // Read Holding Registers request to server 0x11 (serial line spec example)
    static REQUEST: [u8; 8] = [0x11, 0x03, 0x00, 0x6B, 0x00, 0x03, 0x76, 0x87];

    #[test]
    fn crc_matches_reference() {
        // CRC-16/MODBUS check value for "123456789" is 0x4B37.
        assert_eq!(crc16(b"123456789"), 0x4B37);
        assert!(crc_ok(&REQUEST));
    }

    #[test]
    fn parse_request_and_response() {
        let adu = parse(&REQUEST, Direction::Request).unwrap();
        assert_eq!(adu.address, 0x11);
        assert_eq!(adu.pdu.body, PduBody::Request(Request::ReadRegisters { address: 0x6B, quantity: 3 }));
        assert!(adu.flags.is_empty(), "{:?}", adu.flags);
        let mut rsp = [0x11, 0x03, 0x06, 0x02, 0x2B, 0x00, 0x00, 0x00, 0x64, 0, 0];
        let c = crc16(&rsp[..9]).to_le_bytes();
        rsp[9..].copy_from_slice(&c);
        let r = parse(&rsp, Direction::Response).unwrap();
        assert!(matches!(r.pdu.body, PduBody::Response(Response::ReadRegisters { byte_count: 6, .. })));
        assert!(r.check_response(&adu.request_summary().unwrap()).is_empty());
    }

    #[test]
    fn bad_crc_is_a_flag_and_truncation_is_incomplete() {
        let mut b = REQUEST;
        b[7] ^= 1;
        assert!(parse(&b, Direction::Request).unwrap().flags.contains(Flags::BAD_CRC));
        for t in 0..REQUEST.len() {
            let needed = if t < 4 { 4 - t } else { 8 - t };
            assert_eq!(parse(&REQUEST[..t], Direction::Request).unwrap_err(), Error::Incomplete { needed });
        }
    }

    #[test]
    fn impossible_lengths() {
        // FIFO response announcing 0x1000 bytes.
        let b = [0x01, 0x18, 0x10, 0x00, 0, 0, 0, 0];
        assert_eq!(
            parse(&b, Direction::Response).unwrap_err(),
            Error::Invalid(Invalid::RtuLength(4 + 0x1000 + 2))
        );
    }

    #[test]
    fn crc_delimits_unknown_lengths() {
        let mut f = [0x01, 0x5A, 0x00, 0x02, 0x00, 0x00, 0xAA];
        let c = crc16(&f[..5]).to_le_bytes();
        f[5..7].copy_from_slice(&c);
        assert_eq!(crc_delimit(&f), Some(7));
        assert_eq!(frame_at(&f, Direction::Request, true), Ok(7));
    }
}
