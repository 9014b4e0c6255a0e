//! The Modbus PDU (function code + data), shared by MBAP (TCP/UDP) and RTU.
//!
//! Parsing is *syntax first, semantics second*: the body is cut into the
//! function's fields with complete `nom` parsers (the PDU is already framed),
//! then the semantic checks of the spec (quantity ranges, byte counts, value
//! domains) add [`Flags`]. A PDU whose body does not fit its function's layout
//! is still returned, as [`PduBody::Malformed`] with `invalid_length`.

use super::codes::{DiagnosticSubFunction, ExceptionCode, FunctionCode, mei};
use super::flags::Flags;
use super::records::{
    self, DeviceIdObjects, FileRecordReads, FileRecordWrites, FileSubRequests, READ_SUB_REQUEST_LEN,
};
use super::values::{AddressedValues, Bits, Registers};
use super::{Direction, Error, Invalid};
use crate::limits::modbus as lim;
use nom::Parser;
use nom::number::complete::{be_u8, be_u16};

/// The exception bit of a function code byte (§7).
pub const EXCEPTION_BIT: u8 = 0x80;

/// A parsed PDU, borrowing the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pdu<'a> {
    /// Function code (exception bit stripped; see [`Pdu::is_exception`]).
    pub function: FunctionCode,
    /// The decoded body.
    pub body: PduBody<'a>,
    /// Anomalies found in the PDU.
    pub flags: Flags,
    /// Which side sent it (as told by the caller).
    pub direction: Direction,
    raw: &'a [u8],
}

/// The body of a PDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PduBody<'a> {
    /// A request of a public function.
    Request(Request<'a>),
    /// A normal response of a public function.
    Response(Response<'a>),
    /// An exception response (function code | 0x80).
    Exception(ExceptionCode),
    /// A user-defined, reserved (e.g. FC 90 UMAS) or unknown function: the
    /// data after the function code, undecoded.
    Other {
        /// The bytes after the function code.
        data: &'a [u8],
    },
    /// The data does not fit the function's layout (flagged
    /// `invalid_length`): the bytes after the function code.
    Malformed {
        /// The bytes after the function code.
        data: &'a [u8],
    },
}

/// A request of a public function code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    /// FC 1 Read Coils / FC 2 Read Discrete Inputs.
    ReadBits {
        /// Starting address.
        address: u16,
        /// Quantity of bits (1..=2000).
        quantity: u16,
    },
    /// FC 3 Read Holding Registers / FC 4 Read Input Registers.
    ReadRegisters {
        /// Starting address.
        address: u16,
        /// Quantity of registers (1..=125).
        quantity: u16,
    },
    /// FC 5 Write Single Coil.
    WriteSingleCoil {
        /// Output address.
        address: u16,
        /// 0xFF00 = ON, 0x0000 = OFF (anything else flagged `invalid_value`).
        value: u16,
    },
    /// FC 6 Write Single Register.
    WriteSingleRegister {
        /// Register address.
        address: u16,
        /// Register value.
        value: u16,
    },
    /// FC 7 Read Exception Status.
    ReadExceptionStatus,
    /// FC 8 Diagnostics.
    Diagnostics {
        /// Sub-function.
        sub_function: DiagnosticSubFunction,
        /// Data (2 bytes except for Return Query Data).
        data: &'a [u8],
    },
    /// FC 11 Get Comm Event Counter.
    GetCommEventCounter,
    /// FC 12 Get Comm Event Log.
    GetCommEventLog,
    /// FC 15 Write Multiple Coils.
    WriteMultipleCoils {
        /// Starting address.
        address: u16,
        /// Quantity of outputs (1..=1968).
        quantity: u16,
        /// Byte count as sent.
        byte_count: u8,
        /// The output values (at most `quantity` bits).
        values: Bits<'a>,
    },
    /// FC 16 Write Multiple Registers.
    WriteMultipleRegisters {
        /// Starting address.
        address: u16,
        /// Quantity of registers (1..=123).
        quantity: u16,
        /// Byte count as sent.
        byte_count: u8,
        /// The register values.
        values: Registers<'a>,
    },
    /// FC 17 Report Server ID.
    ReportServerId,
    /// FC 20 Read File Record.
    ReadFileRecord {
        /// Byte count as sent.
        byte_count: u8,
        /// The sub-requests.
        sub_requests: FileSubRequests<'a>,
    },
    /// FC 21 Write File Record.
    WriteFileRecord {
        /// Byte count as sent.
        byte_count: u8,
        /// The records written.
        records: FileRecordWrites<'a>,
    },
    /// FC 22 Mask Write Register.
    MaskWriteRegister {
        /// Register address.
        address: u16,
        /// AND mask.
        and_mask: u16,
        /// OR mask.
        or_mask: u16,
    },
    /// FC 23 Read/Write Multiple Registers.
    ReadWriteMultipleRegisters {
        /// Read starting address.
        read_address: u16,
        /// Quantity to read (1..=125).
        read_quantity: u16,
        /// Write starting address.
        write_address: u16,
        /// Quantity to write (1..=121).
        write_quantity: u16,
        /// Byte count as sent.
        byte_count: u8,
        /// The values written.
        values: Registers<'a>,
    },
    /// FC 24 Read FIFO Queue.
    ReadFifoQueue {
        /// FIFO pointer address.
        address: u16,
    },
    /// FC 43 / MEI 13 CANopen General Reference.
    CanOpen {
        /// The CANopen data, undecoded.
        data: &'a [u8],
    },
    /// FC 43 / MEI 14 Read Device Identification.
    ReadDeviceId {
        /// Read Device ID code (1 basic, 2 regular, 3 extended, 4 one object).
        read_device_id_code: u8,
        /// First object requested.
        object_id: u8,
    },
    /// FC 43 with a reserved MEI type (flagged `reserved_subfunction`).
    Mei {
        /// MEI type.
        mei_type: u8,
        /// The bytes after the MEI type.
        data: &'a [u8],
    },
}

/// A normal response of a public function code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response<'a> {
    /// FC 1 / FC 2: packed bits (how many are meaningful depends on the
    /// request; see [`Pdu::values_with_addresses`]).
    ReadBits {
        /// Byte count as sent.
        byte_count: u8,
        /// All bits present.
        values: Bits<'a>,
    },
    /// FC 3 / FC 4 / FC 23: register values.
    ReadRegisters {
        /// Byte count as sent.
        byte_count: u8,
        /// The values.
        values: Registers<'a>,
    },
    /// FC 5 (echo of the request).
    WriteSingleCoil {
        /// Output address.
        address: u16,
        /// 0xFF00 or 0x0000.
        value: u16,
    },
    /// FC 6 (echo of the request).
    WriteSingleRegister {
        /// Register address.
        address: u16,
        /// Register value.
        value: u16,
    },
    /// FC 7.
    ReadExceptionStatus {
        /// The eight exception status outputs.
        status: u8,
    },
    /// FC 8.
    Diagnostics {
        /// Sub-function.
        sub_function: DiagnosticSubFunction,
        /// Data.
        data: &'a [u8],
    },
    /// FC 11.
    GetCommEventCounter {
        /// 0xFFFF when a previous command is still being processed.
        status: u16,
        /// Event counter.
        event_count: u16,
    },
    /// FC 12.
    GetCommEventLog {
        /// Byte count as sent.
        byte_count: u8,
        /// Status word.
        status: u16,
        /// Event counter.
        event_count: u16,
        /// Bus message counter.
        message_count: u16,
        /// Event bytes (0–64), most recent first.
        events: &'a [u8],
    },
    /// FC 15.
    WriteMultipleCoils {
        /// Starting address.
        address: u16,
        /// Quantity written.
        quantity: u16,
    },
    /// FC 16.
    WriteMultipleRegisters {
        /// Starting address.
        address: u16,
        /// Quantity written.
        quantity: u16,
    },
    /// FC 17.
    ReportServerId {
        /// Byte count as sent.
        byte_count: u8,
        /// Server ID, run indicator and device-specific data.
        data: &'a [u8],
    },
    /// FC 20.
    ReadFileRecord {
        /// Byte count as sent.
        byte_count: u8,
        /// The sub-responses.
        records: FileRecordReads<'a>,
    },
    /// FC 21 (echo of the request).
    WriteFileRecord {
        /// Byte count as sent.
        byte_count: u8,
        /// The records.
        records: FileRecordWrites<'a>,
    },
    /// FC 22 (echo of the request).
    MaskWriteRegister {
        /// Register address.
        address: u16,
        /// AND mask.
        and_mask: u16,
        /// OR mask.
        or_mask: u16,
    },
    /// FC 24.
    ReadFifoQueue {
        /// Byte count as sent (FIFO count field + values).
        byte_count: u16,
        /// FIFO count (≤ 31).
        fifo_count: u16,
        /// The queued values.
        values: Registers<'a>,
    },
    /// FC 43 / MEI 13.
    CanOpen {
        /// The CANopen data, undecoded.
        data: &'a [u8],
    },
    /// FC 43 / MEI 14.
    ReadDeviceId {
        /// Read Device ID code echoed.
        read_device_id_code: u8,
        /// Conformity level (0x01–0x03, 0x81–0x83).
        conformity_level: u8,
        /// 0xFF when more objects follow.
        more_follows: u8,
        /// Next object id to ask for.
        next_object_id: u8,
        /// Number of objects announced.
        number_of_objects: u8,
        /// The objects (lazy).
        objects: DeviceIdObjects<'a>,
    },
    /// FC 43 with a reserved MEI type.
    Mei {
        /// MEI type.
        mei_type: u8,
        /// The bytes after the MEI type.
        data: &'a [u8],
    },
}

/// A compact summary of a request, kept by the sensor's per-flow queue so the
/// matching response's values can be given their addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestSummary {
    /// MBAP transaction id (0 for RTU).
    pub transaction_id: u16,
    /// Unit id (RTU: server address).
    pub unit_id: u8,
    /// Function code.
    pub function: FunctionCode,
    /// Starting address the response refers to (FC 23: the read address);
    /// 0 where the function has none.
    pub address: u16,
    /// Quantity the response refers to (FC 23: the read quantity; FC 5/6/22:
    /// 1); 0 where the function has none.
    pub quantity: u16,
}

type PResult<'a, O> = nom::IResult<&'a [u8], O, ()>;

/// Complete big-endian `u16` (the PDU is already framed).
fn w16(i: &[u8]) -> PResult<'_, u16> {
    be_u16(i)
}

/// Complete `u8`.
fn w8(i: &[u8]) -> PResult<'_, u8> {
    be_u8(i)
}

fn u16x2(i: &[u8]) -> PResult<'_, (u16, u16)> {
    (w16, w16).parse(i)
}

/// Complete parse of a fixed layout; trailing bytes set `invalid_length`.
fn fixed<'a, O>(
    data: &'a [u8],
    flags: &mut Flags,
    mut p: impl FnMut(&'a [u8]) -> PResult<'a, O>,
) -> Option<O> {
    let (rest, o) = p(data).ok()?;
    flags.set_if(!rest.is_empty(), Flags::INVALID_LENGTH);
    Some(o)
}

/// A byte count followed by that many bytes. Returns the count and the bytes
/// actually present (at most `count`); flags a mismatch with what is present.
fn counted<'a>(data: &'a [u8], flags: &mut Flags) -> Option<(u8, &'a [u8])> {
    let (rest, n) = w8(data).ok()?;
    flags.set_if(usize::from(n) != rest.len(), Flags::BYTE_COUNT_MISMATCH);
    Some((n, &rest[..usize::from(n).min(rest.len())]))
}

fn check_quantity(q: u16, max: u16, flags: &mut Flags) {
    flags.set_if(q == 0 || q > max, Flags::QUANTITY_OUT_OF_RANGE);
}

fn check_span(address: u16, quantity: u16, flags: &mut Flags) {
    flags.set_if(u32::from(address) + u32::from(quantity) > 0x1_0000, Flags::ADDRESS_OVERFLOW);
}

fn coil_bytes(q: u16) -> usize {
    usize::from(q).div_ceil(8)
}

fn check_coil_value(v: u16, flags: &mut Flags) {
    flags.set_if(v != 0x0000 && v != 0xFF00, Flags::INVALID_VALUE);
}

fn diagnostics<'a>(data: &'a [u8], flags: &mut Flags) -> Option<(DiagnosticSubFunction, &'a [u8])> {
    let (rest, sub) = w16(data).ok()?;
    let sub = DiagnosticSubFunction::from_u16(sub);
    flags.set_if(matches!(sub, DiagnosticSubFunction::Reserved(_)), Flags::RESERVED_SUBFUNCTION);
    if sub != DiagnosticSubFunction::ReturnQueryData {
        flags.set_if(rest.len() != 2, Flags::INVALID_LENGTH);
    }
    if let (DiagnosticSubFunction::RestartCommunications, Some(v)) = (sub, rest.get(..2)) {
        check_coil_value(u16::from_be_bytes([v[0], v[1]]), flags);
    }
    Some((sub, rest))
}

fn read_registers_response<'a>(data: &'a [u8], flags: &mut Flags) -> Option<(u8, Registers<'a>)> {
    let (n, bytes) = counted(data, flags)?;
    flags.set_if(n % 2 == 1, Flags::BYTE_COUNT_MISMATCH);
    flags.set_if(n == 0 || u16::from(n) > lim::MAX_READ_REGISTERS * 2, Flags::QUANTITY_OUT_OF_RANGE);
    Some((n, Registers::new(bytes)))
}

fn parse_request<'a>(f: FunctionCode, data: &'a [u8], flags: &mut Flags) -> Option<Request<'a>> {
    use FunctionCode as F;
    Some(match f {
        F::ReadCoils | F::ReadDiscreteInputs => {
            let (address, quantity) = fixed(data, flags, u16x2)?;
            check_quantity(quantity, lim::MAX_READ_BITS, flags);
            check_span(address, quantity, flags);
            Request::ReadBits { address, quantity }
        }
        F::ReadHoldingRegisters | F::ReadInputRegisters => {
            let (address, quantity) = fixed(data, flags, u16x2)?;
            check_quantity(quantity, lim::MAX_READ_REGISTERS, flags);
            check_span(address, quantity, flags);
            Request::ReadRegisters { address, quantity }
        }
        F::WriteSingleCoil => {
            let (address, value) = fixed(data, flags, u16x2)?;
            check_coil_value(value, flags);
            Request::WriteSingleCoil { address, value }
        }
        F::WriteSingleRegister => {
            let (address, value) = fixed(data, flags, u16x2)?;
            Request::WriteSingleRegister { address, value }
        }
        F::ReadExceptionStatus | F::GetCommEventCounter | F::GetCommEventLog | F::ReportServerId => {
            flags.set_if(!data.is_empty(), Flags::INVALID_LENGTH);
            match f {
                F::ReadExceptionStatus => Request::ReadExceptionStatus,
                F::GetCommEventCounter => Request::GetCommEventCounter,
                F::GetCommEventLog => Request::GetCommEventLog,
                _ => Request::ReportServerId,
            }
        }
        F::Diagnostics => {
            let (sub_function, data) = diagnostics(data, flags)?;
            Request::Diagnostics { sub_function, data }
        }
        F::WriteMultipleCoils => {
            let (rest, (address, quantity)) = u16x2(data).ok()?;
            let (byte_count, bytes) = counted(rest, flags)?;
            check_quantity(quantity, lim::MAX_WRITE_BITS, flags);
            check_span(address, quantity, flags);
            flags.set_if(usize::from(byte_count) != coil_bytes(quantity), Flags::BYTE_COUNT_MISMATCH);
            let values = Bits::new(bytes).with_len(usize::from(quantity));
            Request::WriteMultipleCoils { address, quantity, byte_count, values }
        }
        F::WriteMultipleRegisters => {
            let (rest, (address, quantity)) = u16x2(data).ok()?;
            let (byte_count, bytes) = counted(rest, flags)?;
            check_quantity(quantity, lim::MAX_WRITE_REGISTERS, flags);
            check_span(address, quantity, flags);
            flags.set_if(usize::from(byte_count) != usize::from(quantity) * 2, Flags::BYTE_COUNT_MISMATCH);
            let values = Registers::new(bytes);
            Request::WriteMultipleRegisters { address, quantity, byte_count, values }
        }
        F::ReadFileRecord => {
            let (byte_count, bytes) = counted(data, flags)?;
            flags.set_if(
                !lim::FILE_RECORD_READ_BYTE_COUNT.contains(&byte_count)
                    || usize::from(byte_count) % READ_SUB_REQUEST_LEN != 0,
                Flags::BYTE_COUNT_MISMATCH,
            );
            let whole = bytes.len() - bytes.len() % READ_SUB_REQUEST_LEN;
            let sub_requests = FileSubRequests { bytes: &bytes[..whole] };
            let bad = sub_requests.iter().any(|s| {
                s.reference_type != lim::FILE_RECORD_REFERENCE_TYPE
                    || s.file_number == 0
                    || s.record_number > lim::MAX_FILE_RECORD_NUMBER
            });
            flags.set_if(bad, Flags::INVALID_VALUE);
            Request::ReadFileRecord { byte_count, sub_requests }
        }
        F::WriteFileRecord => {
            let (byte_count, records) = write_file_records(data, flags)?;
            Request::WriteFileRecord { byte_count, records }
        }
        F::MaskWriteRegister => {
            let (address, and_mask, or_mask) = fixed(data, flags, |i| (w16, w16, w16).parse(i))?;
            Request::MaskWriteRegister { address, and_mask, or_mask }
        }
        F::ReadWriteMultipleRegisters => {
            let (rest, (read_address, read_quantity, write_address, write_quantity)) =
                (w16, w16, w16, w16).parse(data).ok()?;
            let (byte_count, bytes) = counted(rest, flags)?;
            check_quantity(read_quantity, lim::MAX_RW_READ_REGISTERS, flags);
            check_quantity(write_quantity, lim::MAX_RW_WRITE_REGISTERS, flags);
            check_span(read_address, read_quantity, flags);
            check_span(write_address, write_quantity, flags);
            flags.set_if(
                usize::from(byte_count) != usize::from(write_quantity) * 2,
                Flags::BYTE_COUNT_MISMATCH,
            );
            Request::ReadWriteMultipleRegisters {
                read_address,
                read_quantity,
                write_address,
                write_quantity,
                byte_count,
                values: Registers::new(bytes),
            }
        }
        F::ReadFifoQueue => Request::ReadFifoQueue { address: fixed(data, flags, w16)? },
        F::EncapsulatedInterface => {
            let (&mei_type, rest) = data.split_first()?;
            match mei_type {
                mei::CANOPEN_GENERAL_REFERENCE => Request::CanOpen { data: rest },
                mei::READ_DEVICE_IDENTIFICATION => {
                    let (read_device_id_code, object_id) = fixed(rest, flags, |i| (w8, w8).parse(i))?;
                    flags.set_if(!(1..=4).contains(&read_device_id_code), Flags::INVALID_VALUE);
                    Request::ReadDeviceId { read_device_id_code, object_id }
                }
                _ => {
                    flags.insert(Flags::RESERVED_SUBFUNCTION);
                    Request::Mei { mei_type, data: rest }
                }
            }
        }
        F::UserDefined(_) | F::Reserved(_) | F::Unknown(_) => return None,
    })
}

fn write_file_records<'a>(data: &'a [u8], flags: &mut Flags) -> Option<(u8, FileRecordWrites<'a>)> {
    let (byte_count, bytes) = counted(data, flags)?;
    flags.set_if(!lim::FILE_RECORD_WRITE_BYTE_COUNT.contains(&byte_count), Flags::BYTE_COUNT_MISMATCH);
    let (whole, ok) = records::validate_record_writes(bytes);
    flags.set_if(whole != bytes.len(), Flags::BYTE_COUNT_MISMATCH);
    flags.set_if(!ok, Flags::INVALID_VALUE);
    Some((byte_count, FileRecordWrites { bytes: &bytes[..whole] }))
}

fn parse_response<'a>(f: FunctionCode, data: &'a [u8], flags: &mut Flags) -> Option<Response<'a>> {
    use FunctionCode as F;
    Some(match f {
        F::ReadCoils | F::ReadDiscreteInputs => {
            let (byte_count, bytes) = counted(data, flags)?;
            flags.set_if(
                byte_count == 0 || usize::from(byte_count) > coil_bytes(lim::MAX_READ_BITS),
                Flags::QUANTITY_OUT_OF_RANGE,
            );
            Response::ReadBits { byte_count, values: Bits::new(bytes) }
        }
        F::ReadHoldingRegisters | F::ReadInputRegisters | F::ReadWriteMultipleRegisters => {
            let (byte_count, values) = read_registers_response(data, flags)?;
            Response::ReadRegisters { byte_count, values }
        }
        F::WriteSingleCoil => {
            let (address, value) = fixed(data, flags, u16x2)?;
            check_coil_value(value, flags);
            Response::WriteSingleCoil { address, value }
        }
        F::WriteSingleRegister => {
            let (address, value) = fixed(data, flags, u16x2)?;
            Response::WriteSingleRegister { address, value }
        }
        F::ReadExceptionStatus => Response::ReadExceptionStatus { status: fixed(data, flags, w8)? },
        F::Diagnostics => {
            let (sub_function, data) = diagnostics(data, flags)?;
            Response::Diagnostics { sub_function, data }
        }
        F::GetCommEventCounter => {
            let (status, event_count) = fixed(data, flags, u16x2)?;
            Response::GetCommEventCounter { status, event_count }
        }
        F::GetCommEventLog => {
            let (byte_count, bytes) = counted(data, flags)?;
            let (events, (status, event_count, message_count)) = (w16, w16, w16).parse(bytes).ok()?;
            Response::GetCommEventLog { byte_count, status, event_count, message_count, events }
        }
        F::WriteMultipleCoils | F::WriteMultipleRegisters => {
            let (address, quantity) = fixed(data, flags, u16x2)?;
            if f == F::WriteMultipleCoils {
                check_quantity(quantity, lim::MAX_WRITE_BITS, flags);
                check_span(address, quantity, flags);
                Response::WriteMultipleCoils { address, quantity }
            } else {
                check_quantity(quantity, lim::MAX_WRITE_REGISTERS, flags);
                check_span(address, quantity, flags);
                Response::WriteMultipleRegisters { address, quantity }
            }
        }
        F::ReportServerId => {
            let (byte_count, data) = counted(data, flags)?;
            Response::ReportServerId { byte_count, data }
        }
        F::ReadFileRecord => {
            let (byte_count, bytes) = counted(data, flags)?;
            flags.set_if(!lim::FILE_RECORD_READ_BYTE_COUNT.contains(&byte_count), Flags::BYTE_COUNT_MISMATCH);
            let (whole, ref_ok, uneven) = records::validate_record_reads(bytes);
            flags.set_if(whole != bytes.len() || uneven, Flags::BYTE_COUNT_MISMATCH);
            flags.set_if(!ref_ok, Flags::INVALID_VALUE);
            Response::ReadFileRecord { byte_count, records: FileRecordReads { bytes: &bytes[..whole] } }
        }
        F::WriteFileRecord => {
            let (byte_count, records) = write_file_records(data, flags)?;
            Response::WriteFileRecord { byte_count, records }
        }
        F::MaskWriteRegister => {
            let (address, and_mask, or_mask) = fixed(data, flags, |i| (w16, w16, w16).parse(i))?;
            Response::MaskWriteRegister { address, and_mask, or_mask }
        }
        F::ReadFifoQueue => {
            let (rest, (byte_count, fifo_count)) = u16x2(data).ok()?;
            flags.set_if(fifo_count > lim::MAX_FIFO_COUNT, Flags::QUANTITY_OUT_OF_RANGE);
            let expected = 2 + 2 * usize::from(fifo_count);
            flags.set_if(
                usize::from(byte_count) != expected || rest.len() + 2 != usize::from(byte_count),
                Flags::BYTE_COUNT_MISMATCH,
            );
            let n = (usize::from(fifo_count) * 2).min(rest.len());
            flags.set_if(rest.len() > n, Flags::INVALID_LENGTH);
            Response::ReadFifoQueue { byte_count, fifo_count, values: Registers::new(&rest[..n]) }
        }
        F::EncapsulatedInterface => {
            let (&mei_type, rest) = data.split_first()?;
            match mei_type {
                mei::CANOPEN_GENERAL_REFERENCE => Response::CanOpen { data: rest },
                mei::READ_DEVICE_IDENTIFICATION => {
                    let (
                        objs,
                        (
                            read_device_id_code,
                            conformity_level,
                            more_follows,
                            next_object_id,
                            number_of_objects,
                        ),
                    ) = (w8, w8, w8, w8, w8).parse(rest).ok()?;
                    flags.set_if(!(1..=4).contains(&read_device_id_code), Flags::INVALID_VALUE);
                    flags
                        .set_if(!matches!(conformity_level, 0x01..=0x03 | 0x81..=0x83), Flags::INVALID_VALUE);
                    flags.set_if(more_follows != 0x00 && more_follows != 0xFF, Flags::INVALID_VALUE);
                    let (whole, n) = records::validate_device_objects(objs, number_of_objects);
                    flags.set_if(n != number_of_objects, Flags::BYTE_COUNT_MISMATCH);
                    flags.set_if(whole != objs.len() && n == number_of_objects, Flags::INVALID_LENGTH);
                    Response::ReadDeviceId {
                        read_device_id_code,
                        conformity_level,
                        more_follows,
                        next_object_id,
                        number_of_objects,
                        objects: DeviceIdObjects { bytes: &objs[..whole] },
                    }
                }
                _ => {
                    flags.insert(Flags::RESERVED_SUBFUNCTION);
                    Response::Mei { mei_type, data: rest }
                }
            }
        }
        F::UserDefined(_) | F::Reserved(_) | F::Unknown(_) => return None,
    })
}

impl<'a> Pdu<'a> {
    /// Parse a PDU (function code + data) sent in direction `dir`.
    ///
    /// # Errors
    /// [`Invalid::EmptyPdu`] when `pdu` is empty. Everything else is a value:
    /// anomalies are [`Flags`] on the result.
    pub fn parse(pdu: &'a [u8], dir: Direction) -> Result<Pdu<'a>, Error> {
        let (&fc, data) = pdu.split_first().ok_or(Error::Invalid(Invalid::EmptyPdu))?;
        let function = FunctionCode::from_u8(fc & !EXCEPTION_BIT);
        let mut flags = Flags::EMPTY;
        match function {
            FunctionCode::UserDefined(_) => flags.insert(Flags::USER_DEFINED_FUNCTION),
            FunctionCode::Reserved(_) => flags.insert(Flags::RESERVED_FUNCTION),
            FunctionCode::Unknown(_) => flags.insert(Flags::UNKNOWN_FUNCTION),
            _ => {}
        }
        let body = if fc & EXCEPTION_BIT != 0 {
            flags.set_if(dir == Direction::Request, Flags::EXCEPTION_IN_REQUEST);
            match fixed(data, &mut flags, w8) {
                Some(code) => {
                    let code = ExceptionCode::from_u8(code);
                    flags.set_if(matches!(code, ExceptionCode::Unknown(_)), Flags::INVALID_EXCEPTION_CODE);
                    PduBody::Exception(code)
                }
                None => {
                    flags.insert(Flags::INVALID_LENGTH);
                    PduBody::Malformed { data }
                }
            }
        } else if !function.is_public() {
            PduBody::Other { data }
        } else {
            let body = match dir {
                Direction::Request => parse_request(function, data, &mut flags).map(PduBody::Request),
                Direction::Response => parse_response(function, data, &mut flags).map(PduBody::Response),
            };
            body.unwrap_or_else(|| {
                flags.insert(Flags::INVALID_LENGTH);
                PduBody::Malformed { data }
            })
        };
        Ok(Pdu { function, body, flags, direction: dir, raw: pdu })
    }

    /// The PDU bytes (function code first).
    #[must_use]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.raw
    }

    /// The function code byte as on the wire (with the exception bit).
    #[must_use]
    pub fn function_byte(&self) -> u8 {
        self.raw.first().copied().unwrap_or(0)
    }

    /// True for an exception response.
    #[must_use]
    pub fn is_exception(&self) -> bool {
        self.function_byte() & EXCEPTION_BIT != 0
    }

    /// The exception code of an exception response.
    #[must_use]
    pub fn exception_code(&self) -> Option<ExceptionCode> {
        match self.body {
            PduBody::Exception(c) => Some(c),
            _ => None,
        }
    }

    /// The (address, quantity) a response to this request refers to, for
    /// [`RequestSummary`]; `(0, 0)` when the function has none, `None` for a
    /// PDU that is not a request.
    #[must_use]
    pub fn request_span(&self) -> Option<(u16, u16)> {
        let PduBody::Request(r) = self.body else {
            return match (self.direction, self.body) {
                (Direction::Request, PduBody::Other { .. } | PduBody::Malformed { .. }) => Some((0, 0)),
                _ => None,
            };
        };
        Some(match r {
            Request::ReadBits { address, quantity }
            | Request::ReadRegisters { address, quantity }
            | Request::WriteMultipleCoils { address, quantity, .. }
            | Request::WriteMultipleRegisters { address, quantity, .. } => (address, quantity),
            Request::WriteSingleCoil { address, .. }
            | Request::WriteSingleRegister { address, .. }
            | Request::MaskWriteRegister { address, .. } => (address, 1),
            Request::ReadWriteMultipleRegisters { read_address, read_quantity, .. } => {
                (read_address, read_quantity)
            }
            Request::ReadFifoQueue { address } => (address, 0),
            _ => (0, 0),
        })
    }

    /// Summarise this request for matching (`None` if it is not a request).
    #[must_use]
    pub fn summary(&self, transaction_id: u16, unit_id: u8) -> Option<RequestSummary> {
        let (address, quantity) = self.request_span()?;
        Some(RequestSummary { transaction_id, unit_id, function: self.function, address, quantity })
    }

    /// The values a read response carries, paired with their addresses taken
    /// from the matched request (coils limited to the requested quantity).
    /// `None` if this is not a read response to `req`'s function.
    #[must_use]
    pub fn values_with_addresses(&self, req: &RequestSummary) -> Option<AddressedValues<'a>> {
        if req.function != self.function {
            return None;
        }
        match self.body {
            PduBody::Response(Response::ReadBits { values, .. }) => {
                Some(AddressedValues::bits(req.address, values.with_len(usize::from(req.quantity))))
            }
            PduBody::Response(Response::ReadRegisters { values, .. }) => {
                Some(AddressedValues::registers(req.address, values))
            }
            _ => None,
        }
    }

    /// The values a write request carries, with their addresses (FC 5, 6, 15,
    /// 16 and the write half of 23). `None` for other PDUs.
    #[must_use]
    pub fn written_values(&self) -> Option<AddressedValues<'a>> {
        const ON: &[u8] = &[1];
        const OFF: &[u8] = &[0];
        match self.body {
            PduBody::Request(Request::WriteSingleCoil { address, value }) => {
                let b = if value == 0xFF00 { ON } else { OFF };
                Some(AddressedValues::bits(address, Bits::new(b).with_len(1)))
            }
            PduBody::Request(Request::WriteSingleRegister { address, .. }) => {
                Some(AddressedValues::registers(address, Registers::new(self.raw.get(3..5)?)))
            }
            PduBody::Request(Request::WriteMultipleCoils { address, values, .. }) => {
                Some(AddressedValues::bits(address, values))
            }
            PduBody::Request(
                Request::WriteMultipleRegisters { address: write_address, values, .. }
                | Request::ReadWriteMultipleRegisters { write_address, values, .. },
            ) => Some(AddressedValues::registers(write_address, values)),
            _ => None,
        }
    }

    /// Checks that need the matched request: byte count against the
    /// requested quantity (2×quantity for registers, ceil(quantity/8) for
    /// bits) and echoed fields of write responses. Returns the flags to add.
    #[must_use]
    pub fn check_response(&self, req: &RequestSummary) -> Flags {
        let mut flags = Flags::EMPTY;
        if req.function != self.function {
            return Flags::RESPONSE_MISMATCH;
        }
        match self.body {
            PduBody::Response(Response::ReadBits { byte_count, .. }) => {
                flags.set_if(usize::from(byte_count) != coil_bytes(req.quantity), Flags::BYTE_COUNT_MISMATCH);
            }
            PduBody::Response(Response::ReadRegisters { byte_count, .. }) => {
                flags.set_if(
                    usize::from(byte_count) != usize::from(req.quantity) * 2,
                    Flags::BYTE_COUNT_MISMATCH,
                );
            }
            PduBody::Response(
                Response::WriteSingleCoil { address, .. }
                | Response::WriteSingleRegister { address, .. }
                | Response::MaskWriteRegister { address, .. },
            ) => flags.set_if(address != req.address, Flags::RESPONSE_MISMATCH),
            PduBody::Response(
                Response::WriteMultipleCoils { address, quantity }
                | Response::WriteMultipleRegisters { address, quantity },
            ) => flags.set_if(address != req.address || quantity != req.quantity, Flags::RESPONSE_MISMATCH),
            _ => {}
        }
        flags
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The app layer keeps one `RequestSummary` per outstanding request in a
    /// bounded per-flow queue: keep it small and `Copy`.
    #[test]
    fn summaries_and_flags_are_small() {
        assert!(core::mem::size_of::<RequestSummary>() <= 10);
        assert_eq!(core::mem::size_of::<Flags>(), 4);
        assert!(core::mem::size_of::<Error>() <= 24);
    }

    #[test]
    fn empty_pdu_is_invalid() {
        assert_eq!(Pdu::parse(&[], Direction::Request).unwrap_err(), Error::Invalid(Invalid::EmptyPdu));
    }

    #[test]
    fn summary_spans() {
        let rw = [0x17, 0x00, 0x03, 0x00, 0x06, 0x00, 0x0E, 0x00, 0x01, 0x02, 0x00, 0xFF];
        let p = Pdu::parse(&rw, Direction::Request).unwrap();
        assert_eq!(p.request_span(), Some((3, 6)));
        let s = p.summary(9, 1).unwrap();
        assert_eq!(
            (s.transaction_id, s.unit_id, s.function),
            (9, 1, FunctionCode::ReadWriteMultipleRegisters)
        );
        let rsp = Pdu::parse(&[0x03, 0x02, 0x00, 0x01], Direction::Response).unwrap();
        assert_eq!(rsp.request_span(), None);
        assert_eq!(rsp.check_response(&s), Flags::RESPONSE_MISMATCH);
    }
}
