//! Shared Modbus test support: annotated fixtures (one request, response and
//! exception per public function code, plus anomalies), ADU builders and a
//! small byte emitter for the round-trip proptests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use centinela_parsers::modbus::{
    DiagnosticSubFunction as D, Direction, ExceptionCode as E, Flags, MbapFramer, ModbusFraming,
    PduBody as B, Request as Q, Response as R, RtuFramer, probe, rtu,
};

/// One annotated PDU.
pub struct Fixture {
    /// What it is (spec section / example).
    pub name: &'static str,
    /// Who sent it.
    pub dir: Direction,
    /// Function code + data.
    pub pdu: &'static [u8],
    /// Exactly the anomaly flags expected.
    pub flags: Flags,
    /// Field-level expectation on the decoded body.
    pub check: fn(&B<'_>) -> bool,
}

const REQ: Direction = Direction::Request;
const RSP: Direction = Direction::Response;
const OK: Flags = Flags::EMPTY;

macro_rules! fx {
    ($name:literal, $dir:expr, [$($b:expr),* $(,)?], $flags:expr, $pat:pat $(if $guard:expr)?) => {
        Fixture { name: $name, dir: $dir, pdu: &[$($b),*], flags: $flags, check: |b| matches!(b, $pat $(if $guard)?) }
    };
}

/// The fixtures. Examples are from the Modbus Application Protocol
/// Specification V1.1b3 §6 where it gives one.
pub fn fixtures() -> Vec<Fixture> {
    vec![
        // §6.1 Read Coils 20-38
        fx!(
            "fc01 req",
            REQ,
            [0x01, 0x00, 0x13, 0x00, 0x13],
            OK,
            B::Request(Q::ReadBits { address: 0x13, quantity: 0x13 })
        ),
        fx!("fc01 rsp", RSP, [0x01, 0x03, 0xCD, 0x6B, 0x05], OK,
            B::Response(R::ReadBits { byte_count: 3, values }) if values.as_bytes() == [0xCD, 0x6B, 0x05]),
        // §6.2 Read Discrete Inputs 197-218
        fx!(
            "fc02 req",
            REQ,
            [0x02, 0x00, 0xC4, 0x00, 0x16],
            OK,
            B::Request(Q::ReadBits { address: 0xC4, quantity: 0x16 })
        ),
        fx!(
            "fc02 rsp",
            RSP,
            [0x02, 0x03, 0xAC, 0xDB, 0x35],
            OK,
            B::Response(R::ReadBits { byte_count: 3, .. })
        ),
        // §6.3 Read Holding Registers 108-110
        fx!(
            "fc03 req",
            REQ,
            [0x03, 0x00, 0x6B, 0x00, 0x03],
            OK,
            B::Request(Q::ReadRegisters { address: 0x6B, quantity: 3 })
        ),
        fx!("fc03 rsp", RSP, [0x03, 0x06, 0x02, 0x2B, 0x00, 0x00, 0x00, 0x64], OK,
            B::Response(R::ReadRegisters { byte_count: 6, values }) if values.iter().eq([0x022B, 0, 0x64])),
        // §6.4 Read Input Register 9
        fx!(
            "fc04 req",
            REQ,
            [0x04, 0x00, 0x08, 0x00, 0x01],
            OK,
            B::Request(Q::ReadRegisters { address: 8, quantity: 1 })
        ),
        fx!("fc04 rsp", RSP, [0x04, 0x02, 0x00, 0x0A], OK,
            B::Response(R::ReadRegisters { byte_count: 2, values }) if values.iter().eq([10])),
        // §6.5 Write Single Coil 173 ON
        fx!(
            "fc05 req",
            REQ,
            [0x05, 0x00, 0xAC, 0xFF, 0x00],
            OK,
            B::Request(Q::WriteSingleCoil { address: 0xAC, value: 0xFF00 })
        ),
        fx!(
            "fc05 rsp",
            RSP,
            [0x05, 0x00, 0xAC, 0xFF, 0x00],
            OK,
            B::Response(R::WriteSingleCoil { address: 0xAC, value: 0xFF00 })
        ),
        // §6.6 Write Single Register 2 = 3
        fx!(
            "fc06 req",
            REQ,
            [0x06, 0x00, 0x01, 0x00, 0x03],
            OK,
            B::Request(Q::WriteSingleRegister { address: 1, value: 3 })
        ),
        fx!(
            "fc06 rsp",
            RSP,
            [0x06, 0x00, 0x01, 0x00, 0x03],
            OK,
            B::Response(R::WriteSingleRegister { address: 1, value: 3 })
        ),
        // §6.7 Read Exception Status
        fx!("fc07 req", REQ, [0x07], OK, B::Request(Q::ReadExceptionStatus)),
        fx!("fc07 rsp", RSP, [0x07, 0x6D], OK, B::Response(R::ReadExceptionStatus { status: 0x6D })),
        // §6.8 Diagnostics: every sub-function
        fx!(
            "fc08/00 req",
            REQ,
            [0x08, 0x00, 0x00, 0xA5, 0x37],
            OK,
            B::Request(Q::Diagnostics { sub_function: D::ReturnQueryData, data: [0xA5, 0x37] })
        ),
        fx!(
            "fc08/00 rsp",
            RSP,
            [0x08, 0x00, 0x00, 0xA5, 0x37],
            OK,
            B::Response(R::Diagnostics { sub_function: D::ReturnQueryData, .. })
        ),
        fx!(
            "fc08/00 long echo",
            REQ,
            [0x08, 0x00, 0x00, 1, 2, 3, 4, 5],
            OK,
            B::Request(Q::Diagnostics { sub_function: D::ReturnQueryData, data: [1, 2, 3, 4, 5] })
        ),
        fx!(
            "fc08/01 req",
            REQ,
            [0x08, 0x00, 0x01, 0xFF, 0x00],
            OK,
            B::Request(Q::Diagnostics { sub_function: D::RestartCommunications, .. })
        ),
        fx!(
            "fc08/01 bad value",
            REQ,
            [0x08, 0x00, 0x01, 0x12, 0x34],
            Flags::INVALID_VALUE,
            B::Request(Q::Diagnostics { sub_function: D::RestartCommunications, .. })
        ),
        fx!(
            "fc08/02 rsp",
            RSP,
            [0x08, 0x00, 0x02, 0x12, 0x34],
            OK,
            B::Response(R::Diagnostics { sub_function: D::ReturnDiagnosticRegister, data: [0x12, 0x34] })
        ),
        fx!(
            "fc08/03 req",
            REQ,
            [0x08, 0x00, 0x03, 0x3A, 0x00],
            OK,
            B::Request(Q::Diagnostics { sub_function: D::ChangeAsciiInputDelimiter, .. })
        ),
        fx!(
            "fc08/04 req",
            REQ,
            [0x08, 0x00, 0x04, 0x00, 0x00],
            OK,
            B::Request(Q::Diagnostics { sub_function: D::ForceListenOnlyMode, .. })
        ),
        fx!(
            "fc08/0a req",
            REQ,
            [0x08, 0x00, 0x0A, 0x00, 0x00],
            OK,
            B::Request(Q::Diagnostics { sub_function: D::ClearCountersAndDiagnosticRegister, .. })
        ),
        fx!(
            "fc08/0b rsp",
            RSP,
            [0x08, 0x00, 0x0B, 0x01, 0x00],
            OK,
            B::Response(R::Diagnostics { sub_function: D::ReturnBusMessageCount, .. })
        ),
        fx!(
            "fc08/0c rsp",
            RSP,
            [0x08, 0x00, 0x0C, 0x00, 0x02],
            OK,
            B::Response(R::Diagnostics { sub_function: D::ReturnBusCommunicationErrorCount, .. })
        ),
        fx!(
            "fc08/0d rsp",
            RSP,
            [0x08, 0x00, 0x0D, 0x00, 0x03],
            OK,
            B::Response(R::Diagnostics { sub_function: D::ReturnBusExceptionErrorCount, .. })
        ),
        fx!(
            "fc08/0e rsp",
            RSP,
            [0x08, 0x00, 0x0E, 0x00, 0x04],
            OK,
            B::Response(R::Diagnostics { sub_function: D::ReturnServerMessageCount, .. })
        ),
        fx!(
            "fc08/0f rsp",
            RSP,
            [0x08, 0x00, 0x0F, 0x00, 0x05],
            OK,
            B::Response(R::Diagnostics { sub_function: D::ReturnServerNoResponseCount, .. })
        ),
        fx!(
            "fc08/10 rsp",
            RSP,
            [0x08, 0x00, 0x10, 0x00, 0x06],
            OK,
            B::Response(R::Diagnostics { sub_function: D::ReturnServerNakCount, .. })
        ),
        fx!(
            "fc08/11 rsp",
            RSP,
            [0x08, 0x00, 0x11, 0x00, 0x07],
            OK,
            B::Response(R::Diagnostics { sub_function: D::ReturnServerBusyCount, .. })
        ),
        fx!(
            "fc08/12 rsp",
            RSP,
            [0x08, 0x00, 0x12, 0x00, 0x08],
            OK,
            B::Response(R::Diagnostics { sub_function: D::ReturnBusCharacterOverrunCount, .. })
        ),
        fx!(
            "fc08/14 req",
            REQ,
            [0x08, 0x00, 0x14, 0x00, 0x00],
            OK,
            B::Request(Q::Diagnostics { sub_function: D::ClearOverrunCounterAndFlag, .. })
        ),
        fx!(
            "fc08/13 reserved",
            REQ,
            [0x08, 0x00, 0x13, 0x00, 0x00],
            Flags::RESERVED_SUBFUNCTION,
            B::Request(Q::Diagnostics { sub_function: D::Reserved(0x13), .. })
        ),
        fx!(
            "fc08/0b short data",
            REQ,
            [0x08, 0x00, 0x0B, 0x00],
            Flags::INVALID_LENGTH,
            B::Request(Q::Diagnostics { sub_function: D::ReturnBusMessageCount, .. })
        ),
        // §6.9 Get Comm Event Counter
        fx!("fc11 req", REQ, [0x0B], OK, B::Request(Q::GetCommEventCounter)),
        fx!(
            "fc11 rsp",
            RSP,
            [0x0B, 0xFF, 0xFF, 0x01, 0x08],
            OK,
            B::Response(R::GetCommEventCounter { status: 0xFFFF, event_count: 0x0108 })
        ),
        // §6.10 Get Comm Event Log
        fx!("fc12 req", REQ, [0x0C], OK, B::Request(Q::GetCommEventLog)),
        fx!(
            "fc12 rsp",
            RSP,
            [0x0C, 0x08, 0x00, 0x00, 0x01, 0x08, 0x01, 0x21, 0x20, 0x00],
            OK,
            B::Response(R::GetCommEventLog {
                byte_count: 8,
                status: 0,
                event_count: 0x108,
                message_count: 0x121,
                events: [0x20, 0x00]
            })
        ),
        // §6.11 Write Multiple Coils 20-29
        fx!("fc15 req", REQ, [0x0F, 0x00, 0x13, 0x00, 0x0A, 0x02, 0xCD, 0x01], OK,
            B::Request(Q::WriteMultipleCoils { address: 0x13, quantity: 10, byte_count: 2, values }) if values.len() == 10),
        fx!(
            "fc15 rsp",
            RSP,
            [0x0F, 0x00, 0x13, 0x00, 0x0A],
            OK,
            B::Response(R::WriteMultipleCoils { address: 0x13, quantity: 10 })
        ),
        // §6.12 Write Multiple Registers 2-3
        fx!("fc16 req", REQ, [0x10, 0x00, 0x01, 0x00, 0x02, 0x04, 0x00, 0x0A, 0x01, 0x02], OK,
            B::Request(Q::WriteMultipleRegisters { address: 1, quantity: 2, byte_count: 4, values }) if values.iter().eq([10, 0x102])),
        fx!(
            "fc16 rsp",
            RSP,
            [0x10, 0x00, 0x01, 0x00, 0x02],
            OK,
            B::Response(R::WriteMultipleRegisters { address: 1, quantity: 2 })
        ),
        // §6.13 Report Server ID
        fx!("fc17 req", REQ, [0x11], OK, B::Request(Q::ReportServerId)),
        fx!(
            "fc17 rsp",
            RSP,
            [0x11, 0x03, 0x2A, 0xFF, 0x01],
            OK,
            B::Response(R::ReportServerId { byte_count: 3, data: [0x2A, 0xFF, 0x01] })
        ),
        // §6.14 Read File Record (two groups)
        fx!("fc20 req", REQ, [0x14, 0x0E, 0x06, 0x00, 0x04, 0x00, 0x01, 0x00, 0x02, 0x06, 0x00, 0x03, 0x00, 0x09, 0x00, 0x02], OK,
            B::Request(Q::ReadFileRecord { byte_count: 14, sub_requests }) if sub_requests.len() == 2
                && sub_requests.iter().nth(1).is_some_and(|s| s.file_number == 3 && s.record_number == 9 && s.record_length == 2)),
        fx!("fc20 rsp", RSP, [0x14, 0x0C, 0x05, 0x06, 0x0D, 0xFE, 0x00, 0x20, 0x05, 0x06, 0x33, 0xCD, 0x00, 0x40], OK,
            B::Response(R::ReadFileRecord { byte_count: 12, records })
                if records.iter().map(|r| r.values.iter().collect::<Vec<_>>()).eq([vec![0x0DFE, 0x20], vec![0x33CD, 0x40]])),
        // §6.15 Write File Record
        fx!("fc21 req", REQ, [0x15, 0x0D, 0x06, 0x00, 0x04, 0x00, 0x07, 0x00, 0x03, 0x06, 0xAF, 0x04, 0xBE, 0x10, 0x0D], OK,
            B::Request(Q::WriteFileRecord { byte_count: 13, records })
                if records.iter().next().is_some_and(|r| r.file_number == 4 && r.record_number == 7 && r.values.iter().eq([0x06AF, 0x04BE, 0x100D]))),
        fx!(
            "fc21 rsp",
            RSP,
            [0x15, 0x0D, 0x06, 0x00, 0x04, 0x00, 0x07, 0x00, 0x03, 0x06, 0xAF, 0x04, 0xBE, 0x10, 0x0D],
            OK,
            B::Response(R::WriteFileRecord { byte_count: 13, .. })
        ),
        // §6.16 Mask Write Register
        fx!(
            "fc22 req",
            REQ,
            [0x16, 0x00, 0x04, 0x00, 0xF2, 0x00, 0x25],
            OK,
            B::Request(Q::MaskWriteRegister { address: 4, and_mask: 0xF2, or_mask: 0x25 })
        ),
        fx!(
            "fc22 rsp",
            RSP,
            [0x16, 0x00, 0x04, 0x00, 0xF2, 0x00, 0x25],
            OK,
            B::Response(R::MaskWriteRegister { address: 4, and_mask: 0xF2, or_mask: 0x25 })
        ),
        // §6.17 Read/Write Multiple Registers
        fx!("fc23 req", REQ, [0x17, 0x00, 0x03, 0x00, 0x06, 0x00, 0x0E, 0x00, 0x03, 0x06, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF], OK,
            B::Request(Q::ReadWriteMultipleRegisters { read_address: 3, read_quantity: 6, write_address: 0x0E, write_quantity: 3, byte_count: 6, values })
                if values.iter().eq([0xFF, 0xFF, 0xFF])),
        fx!("fc23 rsp", RSP, [0x17, 0x0C, 0x00, 0xFE, 0x0A, 0xCD, 0x00, 0x01, 0x00, 0x03, 0x00, 0x0D, 0x00, 0xFF], OK,
            B::Response(R::ReadRegisters { byte_count: 12, values }) if values.len() == 6),
        // §6.18 Read FIFO Queue
        fx!("fc24 req", REQ, [0x18, 0x04, 0xDE], OK, B::Request(Q::ReadFifoQueue { address: 0x04DE })),
        fx!("fc24 rsp", RSP, [0x18, 0x00, 0x06, 0x00, 0x02, 0x01, 0xB8, 0x12, 0x84], OK,
            B::Response(R::ReadFifoQueue { byte_count: 6, fifo_count: 2, values }) if values.iter().eq([0x01B8, 0x1284])),
        // §6.19 / §6.20 CANopen General Reference
        fx!(
            "fc43/13 req",
            REQ,
            [0x2B, 0x0D, 0x01, 0x02, 0x03],
            OK,
            B::Request(Q::CanOpen { data: [1, 2, 3] })
        ),
        fx!("fc43/13 rsp", RSP, [0x2B, 0x0D, 0x04], OK, B::Response(R::CanOpen { data: [4] })),
        // §6.21 Read Device Identification
        fx!(
            "fc43/14 req",
            REQ,
            [0x2B, 0x0E, 0x01, 0x00],
            OK,
            B::Request(Q::ReadDeviceId { read_device_id_code: 1, object_id: 0 })
        ),
        fx!("fc43/14 rsp", RSP, [0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, 0x03,
            0x00, 0x06, b'A', b'c', b'm', b'e', b' ', b'X',
            0x01, 0x04, b'P', b'C', b'0', b'1',
            0x02, 0x05, b'V', b'2', b'.', b'1', b'1'], OK,
            B::Response(R::ReadDeviceId { read_device_id_code: 1, conformity_level: 1, more_follows: 0, next_object_id: 0, number_of_objects: 3, objects })
                if objects.iter().map(|o| (o.id, o.value.len())).eq([(0, 6), (1, 4), (2, 5)])),
        fx!("fc43/14 rsp missing object", RSP, [0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, 0x02, 0x00, 0x01, b'A'], Flags::BYTE_COUNT_MISMATCH,
            B::Response(R::ReadDeviceId { objects, .. }) if objects.iter().count() == 1),
        fx!(
            "fc43/0x99 reserved mei",
            REQ,
            [0x2B, 0x99, 0x01],
            Flags::RESERVED_SUBFUNCTION,
            B::Request(Q::Mei { mei_type: 0x99, .. })
        ),
        fx!(
            "fc43/14 bad code",
            REQ,
            [0x2B, 0x0E, 0x07, 0x00],
            Flags::INVALID_VALUE,
            B::Request(Q::ReadDeviceId { read_device_id_code: 7, .. })
        ),
        // §7 exception responses: every defined code
        fx!("exc 01", RSP, [0x81, 0x01], OK, B::Exception(E::IllegalFunction)),
        fx!("exc 02", RSP, [0x82, 0x02], OK, B::Exception(E::IllegalDataAddress)),
        fx!("exc 03", RSP, [0x83, 0x03], OK, B::Exception(E::IllegalDataValue)),
        fx!("exc 04", RSP, [0x84, 0x04], OK, B::Exception(E::ServerDeviceFailure)),
        fx!("exc 05", RSP, [0x85, 0x05], OK, B::Exception(E::Acknowledge)),
        fx!("exc 06", RSP, [0x86, 0x06], OK, B::Exception(E::ServerDeviceBusy)),
        fx!("exc 08", RSP, [0x94, 0x08], OK, B::Exception(E::MemoryParityError)),
        fx!("exc 0a", RSP, [0x8F, 0x0A], OK, B::Exception(E::GatewayPathUnavailable)),
        fx!("exc 0b", RSP, [0x90, 0x0B], OK, B::Exception(E::GatewayTargetFailedToRespond)),
        fx!("exc fc07", RSP, [0x87, 0x01], OK, B::Exception(E::IllegalFunction)),
        fx!("exc fc08", RSP, [0x88, 0x01], OK, B::Exception(E::IllegalFunction)),
        fx!("exc fc11", RSP, [0x8B, 0x01], OK, B::Exception(E::IllegalFunction)),
        fx!("exc fc12", RSP, [0x8C, 0x01], OK, B::Exception(E::IllegalFunction)),
        fx!("exc fc17", RSP, [0x91, 0x01], OK, B::Exception(E::IllegalFunction)),
        fx!("exc fc20", RSP, [0x95, 0x02], OK, B::Exception(E::IllegalDataAddress)),
        fx!("exc fc22", RSP, [0x96, 0x02], OK, B::Exception(E::IllegalDataAddress)),
        fx!("exc fc23", RSP, [0x97, 0x02], OK, B::Exception(E::IllegalDataAddress)),
        fx!("exc fc24", RSP, [0x98, 0x03], OK, B::Exception(E::IllegalDataValue)),
        fx!("exc fc43", RSP, [0xAB, 0x01], OK, B::Exception(E::IllegalFunction)),
        fx!(
            "exc invalid code",
            RSP,
            [0x83, 0x07],
            Flags::INVALID_EXCEPTION_CODE,
            B::Exception(E::Unknown(7))
        ),
        fx!("exc no code", RSP, [0x83], Flags::INVALID_LENGTH, B::Malformed { data: [] }),
        fx!(
            "exc in request",
            REQ,
            [0x83, 0x02],
            Flags::EXCEPTION_IN_REQUEST,
            B::Exception(E::IllegalDataAddress)
        ),
        // user-defined, reserved and unknown codes
        fx!(
            "fc90 umas req",
            REQ,
            [0x5A, 0x00, 0x02],
            Flags::RESERVED_FUNCTION,
            B::Other { data: [0x00, 0x02] }
        ),
        fx!(
            "fc90 umas rsp",
            RSP,
            [0x5A, 0x00, 0xFE, 0x01, 0x02],
            Flags::RESERVED_FUNCTION,
            B::Other { data: [0x00, 0xFE, 0x01, 0x02] }
        ),
        fx!("fc90 exception", RSP, [0xDA, 0x01], Flags::RESERVED_FUNCTION, B::Exception(E::IllegalFunction)),
        fx!("fc65 user", REQ, [0x41, 0x01, 0x02], Flags::USER_DEFINED_FUNCTION, B::Other { data: [1, 2] }),
        fx!("fc100 user", RSP, [0x64], Flags::USER_DEFINED_FUNCTION, B::Other { data: [] }),
        fx!("fc31 unknown", REQ, [0x1F, 0xAA], Flags::UNKNOWN_FUNCTION, B::Other { data: [0xAA] }),
        fx!("fc00 unknown", REQ, [0x00], Flags::UNKNOWN_FUNCTION, B::Other { data: [] }),
        // anomalies on public codes
        fx!(
            "fc03 q=0",
            REQ,
            [0x03, 0x00, 0x00, 0x00, 0x00],
            Flags::QUANTITY_OUT_OF_RANGE,
            B::Request(Q::ReadRegisters { quantity: 0, .. })
        ),
        fx!(
            "fc03 q=126",
            REQ,
            [0x03, 0x00, 0x00, 0x00, 0x7E],
            Flags::QUANTITY_OUT_OF_RANGE,
            B::Request(Q::ReadRegisters { quantity: 126, .. })
        ),
        fx!(
            "fc01 q=2001",
            REQ,
            [0x01, 0x00, 0x00, 0x07, 0xD1],
            Flags::QUANTITY_OUT_OF_RANGE,
            B::Request(Q::ReadBits { quantity: 2001, .. })
        ),
        fx!(
            "fc01 q=2000",
            REQ,
            [0x01, 0x00, 0x00, 0x07, 0xD0],
            OK,
            B::Request(Q::ReadBits { quantity: 2000, .. })
        ),
        fx!(
            "fc03 wraps",
            REQ,
            [0x03, 0xFF, 0xFF, 0x00, 0x02],
            Flags::ADDRESS_OVERFLOW,
            B::Request(Q::ReadRegisters { address: 0xFFFF, .. })
        ),
        fx!(
            "fc03 trailing",
            REQ,
            [0x03, 0x00, 0x00, 0x00, 0x01, 0x00],
            Flags::INVALID_LENGTH,
            B::Request(Q::ReadRegisters { .. })
        ),
        fx!(
            "fc03 short",
            REQ,
            [0x03, 0x00, 0x00, 0x00],
            Flags::INVALID_LENGTH,
            B::Malformed { data: [0, 0, 0] }
        ),
        fx!("fc03 rsp odd count", RSP, [0x03, 0x03, 0x00, 0x01, 0x02], Flags::BYTE_COUNT_MISMATCH,
            B::Response(R::ReadRegisters { byte_count: 3, values }) if values.len() == 1),
        fx!("fc03 rsp count > data", RSP, [0x03, 0x04, 0x00, 0x01], Flags::BYTE_COUNT_MISMATCH,
            B::Response(R::ReadRegisters { byte_count: 4, values }) if values.len() == 1),
        fx!(
            "fc05 bad value",
            REQ,
            [0x05, 0x00, 0x01, 0x12, 0x34],
            Flags::INVALID_VALUE,
            B::Request(Q::WriteSingleCoil { value: 0x1234, .. })
        ),
        fx!("fc15 count mismatch", REQ, [0x0F, 0x00, 0x13, 0x00, 0x0A, 0x01, 0xCD], Flags::BYTE_COUNT_MISMATCH,
            B::Request(Q::WriteMultipleCoils { values, .. }) if values.len() == 8),
        fx!(
            "fc16 q=124",
            REQ,
            [0x10, 0x00, 0x01, 0x00, 0x7C, 0x02, 0x00, 0x0A],
            Flags::QUANTITY_OUT_OF_RANGE | Flags::BYTE_COUNT_MISMATCH,
            B::Request(Q::WriteMultipleRegisters { quantity: 124, .. })
        ),
        fx!(
            "fc23 wq=122",
            REQ,
            [0x17, 0x00, 0x03, 0x00, 0x06, 0x00, 0x0E, 0x00, 0x7A, 0x02, 0x00, 0xFF],
            Flags::QUANTITY_OUT_OF_RANGE | Flags::BYTE_COUNT_MISMATCH,
            B::Request(Q::ReadWriteMultipleRegisters { write_quantity: 122, .. })
        ),
        fx!(
            "fc23 rq=126",
            REQ,
            [0x17, 0x00, 0x03, 0x00, 0x7E, 0x00, 0x0E, 0x00, 0x01, 0x02, 0x00, 0xFF],
            Flags::QUANTITY_OUT_OF_RANGE,
            B::Request(Q::ReadWriteMultipleRegisters { read_quantity: 126, .. })
        ),
        fx!(
            "fc20 bad ref",
            REQ,
            [0x14, 0x07, 0x05, 0x00, 0x04, 0x00, 0x01, 0x00, 0x02],
            Flags::INVALID_VALUE,
            B::Request(Q::ReadFileRecord { .. })
        ),
        fx!(
            "fc24 fifo 32",
            RSP,
            [0x18, 0x00, 0x42, 0x00, 0x20],
            Flags::QUANTITY_OUT_OF_RANGE | Flags::BYTE_COUNT_MISMATCH,
            B::Response(R::ReadFifoQueue { fifo_count: 32, .. })
        ),
    ]
}

/// MBAP ADU bytes for a PDU.
pub fn mbap(tid: u16, protocol_id: u16, unit: u8, pdu: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(7 + pdu.len());
    v.extend_from_slice(&tid.to_be_bytes());
    v.extend_from_slice(&protocol_id.to_be_bytes());
    v.extend_from_slice(&(pdu.len() as u16 + 1).to_be_bytes());
    v.push(unit);
    v.extend_from_slice(pdu);
    v
}

/// RTU ADU bytes for a PDU (with a valid CRC).
pub fn rtu_frame(address: u8, pdu: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(3 + pdu.len());
    v.push(address);
    v.extend_from_slice(pdu);
    let c = rtu::crc16(&v);
    v.extend_from_slice(&c.to_le_bytes());
    v
}

/// One Modbus frame found in a capture.
#[derive(Debug, Clone)]
pub struct CaptureFrame {
    /// Capture file (for messages).
    pub file: String,
    /// 1-based frame number.
    pub frame: u64,
    /// Client → server?
    pub dir: Direction,
    /// How it is framed.
    pub framing: ModbusFraming,
    /// The ADU bytes (one framer output).
    pub adu: Vec<u8>,
}

/// Modbus ports seen in the project's captures and the corpus.
pub const PORTS: [u16; 2] = [502, 5020];

/// Every Modbus ADU of the given capture files: per packet (no reassembly),
/// TCP/UDP payloads to or from a Modbus port, classified with `probe` and cut
/// with the matching framer.
pub fn capture_frames(files: &[std::path::PathBuf]) -> Vec<CaptureFrame> {
    use centinela_parsers::stream::{DriveEnd, drive};
    let mut out = Vec::new();
    for path in files {
        let file = path.display().to_string();
        for pkt in crate::common::read_packets(path) {
            let Some(t) = crate::common::transport(&pkt) else { continue };
            if t.payload.is_empty() || t.fragmented {
                continue;
            }
            let dir = if PORTS.contains(&t.dst_port) {
                Direction::Request
            } else if PORTS.contains(&t.src_port) {
                Direction::Response
            } else {
                continue;
            };
            let Some(framing) = probe(t.payload) else { continue };
            let mut frames = Vec::new();
            let end = match framing {
                ModbusFraming::Mbap => {
                    drive(&mut MbapFramer::new(), t.payload, |f| frames.push(f.to_vec()), |_, _| {})
                }
                ModbusFraming::Rtu => {
                    drive(&mut RtuFramer::new(dir), t.payload, |f| frames.push(f.to_vec()), |_, _| {})
                }
            };
            let _: (usize, DriveEnd) = end;
            for adu in frames {
                out.push(CaptureFrame { file: file.clone(), frame: pkt.frame, dir, framing, adu });
            }
        }
    }
    out
}

/// Project captures plus the shared corpus (when present).
pub fn all_capture_files() -> Vec<std::path::PathBuf> {
    let mut files = crate::common::project_pcaps();
    if let Some(dir) = crate::common::corpus_dir() {
        files.extend(crate::common::find_captures(&dir));
    }
    files
}
