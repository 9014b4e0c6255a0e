//! Modbus application protocol emitters: MBAP (Modbus/TCP) and RTU framings.
//!
//! [`request`] and [`response`] build a whole Modbus/TCP ADU (7-byte MBAP header +
//! PDU); [`request_pdu`] and [`response_pdu`] build the PDU alone; [`rtu`] wraps a PDU
//! in an RTU frame with CRC-16/MODBUS (used for RTU-over-TCP). Counts and byte-count
//! fields are derived from the values given, so the result is well formed unless the
//! caller asks otherwise with [`adu_raw`] or [`Request::Raw`] / [`Response::Raw`].
//! Byte-count fields are one byte: more than 255 bytes of values wrap (useful for
//! malformed cases, never silently clamped).

/// Standard TCP port.
pub const PORT: u16 = 502;
/// Length of the MBAP header.
pub const MBAP_LEN: usize = 7;

/// Function codes.
pub mod fc {
    /// Read Coils.
    pub const READ_COILS: u8 = 0x01;
    /// Read Discrete Inputs.
    pub const READ_DISCRETE_INPUTS: u8 = 0x02;
    /// Read Holding Registers.
    pub const READ_HOLDING_REGISTERS: u8 = 0x03;
    /// Read Input Registers.
    pub const READ_INPUT_REGISTERS: u8 = 0x04;
    /// Write Single Coil.
    pub const WRITE_SINGLE_COIL: u8 = 0x05;
    /// Write Single Register.
    pub const WRITE_SINGLE_REGISTER: u8 = 0x06;
    /// Read Exception Status (serial line only).
    pub const READ_EXCEPTION_STATUS: u8 = 0x07;
    /// Diagnostics (serial line only).
    pub const DIAGNOSTICS: u8 = 0x08;
    /// Get Comm Event Counter.
    pub const GET_COMM_EVENT_COUNTER: u8 = 0x0B;
    /// Get Comm Event Log.
    pub const GET_COMM_EVENT_LOG: u8 = 0x0C;
    /// Write Multiple Coils.
    pub const WRITE_MULTIPLE_COILS: u8 = 0x0F;
    /// Write Multiple Registers.
    pub const WRITE_MULTIPLE_REGISTERS: u8 = 0x10;
    /// Report Server ID.
    pub const REPORT_SERVER_ID: u8 = 0x11;
    /// Read File Record.
    pub const READ_FILE_RECORD: u8 = 0x14;
    /// Write File Record.
    pub const WRITE_FILE_RECORD: u8 = 0x15;
    /// Mask Write Register.
    pub const MASK_WRITE_REGISTER: u8 = 0x16;
    /// Read/Write Multiple Registers.
    pub const READ_WRITE_MULTIPLE_REGISTERS: u8 = 0x17;
    /// Read FIFO Queue.
    pub const READ_FIFO_QUEUE: u8 = 0x18;
    /// Encapsulated Interface Transport (MEI).
    pub const ENCAPSULATED_INTERFACE: u8 = 0x2B;
    /// MEI type: Read Device Identification.
    pub const MEI_READ_DEVICE_ID: u8 = 0x0E;
    /// Bit set in the function code of an exception response.
    pub const EXCEPTION_BIT: u8 = 0x80;
}

/// Diagnostics (FC 8) sub-function codes.
pub mod diag {
    /// Return Query Data (echo).
    pub const RETURN_QUERY_DATA: u16 = 0x0000;
    /// Restart Communications Option.
    pub const RESTART_COMMUNICATIONS: u16 = 0x0001;
    /// Return Diagnostic Register.
    pub const RETURN_DIAGNOSTIC_REGISTER: u16 = 0x0002;
    /// Force Listen Only Mode.
    pub const FORCE_LISTEN_ONLY: u16 = 0x0004;
    /// Clear Counters and Diagnostic Register.
    pub const CLEAR_COUNTERS: u16 = 0x000A;
    /// Return Bus Message Count.
    pub const BUS_MESSAGE_COUNT: u16 = 0x000B;
}

/// Exception codes (open: unknown codes are carried as values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExceptionCode {
    /// 0x01.
    IllegalFunction,
    /// 0x02.
    IllegalDataAddress,
    /// 0x03.
    IllegalDataValue,
    /// 0x04.
    ServerDeviceFailure,
    /// 0x05.
    Acknowledge,
    /// 0x06.
    ServerDeviceBusy,
    /// 0x08.
    MemoryParityError,
    /// 0x0A.
    GatewayPathUnavailable,
    /// 0x0B.
    GatewayTargetFailedToRespond,
    /// Any other value (invalid on the wire).
    Unknown(u8),
}

impl ExceptionCode {
    /// The wire value.
    pub fn code(self) -> u8 {
        match self {
            Self::IllegalFunction => 0x01,
            Self::IllegalDataAddress => 0x02,
            Self::IllegalDataValue => 0x03,
            Self::ServerDeviceFailure => 0x04,
            Self::Acknowledge => 0x05,
            Self::ServerDeviceBusy => 0x06,
            Self::MemoryParityError => 0x08,
            Self::GatewayPathUnavailable => 0x0A,
            Self::GatewayTargetFailedToRespond => 0x0B,
            Self::Unknown(c) => c,
        }
    }
}

/// A request PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// FC 1.
    ReadCoils {
        /// First address.
        start: u16,
        /// Number of coils.
        qty: u16,
    },
    /// FC 2.
    ReadDiscreteInputs {
        /// First address.
        start: u16,
        /// Number of inputs.
        qty: u16,
    },
    /// FC 3.
    ReadHoldingRegisters {
        /// First address.
        start: u16,
        /// Number of registers.
        qty: u16,
    },
    /// FC 4.
    ReadInputRegisters {
        /// First address.
        start: u16,
        /// Number of registers.
        qty: u16,
    },
    /// FC 5 (value written as 0xFF00 / 0x0000).
    WriteSingleCoil {
        /// Address.
        addr: u16,
        /// On / off.
        value: bool,
    },
    /// FC 6.
    WriteSingleRegister {
        /// Address.
        addr: u16,
        /// Value.
        value: u16,
    },
    /// FC 7.
    ReadExceptionStatus,
    /// FC 8.
    Diagnostics {
        /// Sub-function ([`diag`]).
        sub: u16,
        /// Data field (usually one 16-bit word).
        data: Vec<u8>,
    },
    /// FC 11.
    GetCommEventCounter,
    /// FC 12.
    GetCommEventLog,
    /// FC 15.
    WriteMultipleCoils {
        /// First address.
        start: u16,
        /// Values (packed LSB first).
        values: Vec<bool>,
    },
    /// FC 16.
    WriteMultipleRegisters {
        /// First address.
        start: u16,
        /// Values.
        values: Vec<u16>,
    },
    /// FC 17.
    ReportServerId,
    /// FC 20 with one sub-request (reference type 6).
    ReadFileRecord {
        /// File number.
        file: u16,
        /// Record number.
        record: u16,
        /// Record length in registers.
        len: u16,
    },
    /// FC 22.
    MaskWriteRegister {
        /// Address.
        addr: u16,
        /// AND mask.
        and_mask: u16,
        /// OR mask.
        or_mask: u16,
    },
    /// FC 23.
    ReadWriteMultipleRegisters {
        /// First read address.
        read_start: u16,
        /// Registers to read.
        read_qty: u16,
        /// First write address.
        write_start: u16,
        /// Values to write.
        values: Vec<u16>,
    },
    /// FC 24.
    ReadFifoQueue {
        /// FIFO pointer address.
        addr: u16,
    },
    /// FC 43 / MEI 14.
    ReadDeviceIdentification {
        /// Read device ID code (1 basic, 2 regular, 3 extended, 4 one object).
        read_code: u8,
        /// First object id.
        object_id: u8,
    },
    /// Any function code followed by arbitrary bytes.
    Raw {
        /// Function code byte.
        function: u8,
        /// Bytes after the function code.
        data: Vec<u8>,
    },
}

impl Request {
    /// The function code byte.
    pub fn function(&self) -> u8 {
        match self {
            Self::ReadCoils { .. } => fc::READ_COILS,
            Self::ReadDiscreteInputs { .. } => fc::READ_DISCRETE_INPUTS,
            Self::ReadHoldingRegisters { .. } => fc::READ_HOLDING_REGISTERS,
            Self::ReadInputRegisters { .. } => fc::READ_INPUT_REGISTERS,
            Self::WriteSingleCoil { .. } => fc::WRITE_SINGLE_COIL,
            Self::WriteSingleRegister { .. } => fc::WRITE_SINGLE_REGISTER,
            Self::ReadExceptionStatus => fc::READ_EXCEPTION_STATUS,
            Self::Diagnostics { .. } => fc::DIAGNOSTICS,
            Self::GetCommEventCounter => fc::GET_COMM_EVENT_COUNTER,
            Self::GetCommEventLog => fc::GET_COMM_EVENT_LOG,
            Self::WriteMultipleCoils { .. } => fc::WRITE_MULTIPLE_COILS,
            Self::WriteMultipleRegisters { .. } => fc::WRITE_MULTIPLE_REGISTERS,
            Self::ReportServerId => fc::REPORT_SERVER_ID,
            Self::ReadFileRecord { .. } => fc::READ_FILE_RECORD,
            Self::MaskWriteRegister { .. } => fc::MASK_WRITE_REGISTER,
            Self::ReadWriteMultipleRegisters { .. } => fc::READ_WRITE_MULTIPLE_REGISTERS,
            Self::ReadFifoQueue { .. } => fc::READ_FIFO_QUEUE,
            Self::ReadDeviceIdentification { .. } => fc::ENCAPSULATED_INTERFACE,
            Self::Raw { function, .. } => *function,
        }
    }
}

/// A response PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// FC 1.
    ReadCoils {
        /// Coil states (padded with zero bits to a whole byte).
        values: Vec<bool>,
    },
    /// FC 2.
    ReadDiscreteInputs {
        /// Input states.
        values: Vec<bool>,
    },
    /// FC 3.
    ReadHoldingRegisters {
        /// Register values.
        values: Vec<u16>,
    },
    /// FC 4.
    ReadInputRegisters {
        /// Register values.
        values: Vec<u16>,
    },
    /// FC 5 (echo).
    WriteSingleCoil {
        /// Address.
        addr: u16,
        /// On / off.
        value: bool,
    },
    /// FC 6 (echo).
    WriteSingleRegister {
        /// Address.
        addr: u16,
        /// Value.
        value: u16,
    },
    /// FC 7.
    ReadExceptionStatus {
        /// Status byte.
        status: u8,
    },
    /// FC 8 (normally an echo of the request).
    Diagnostics {
        /// Sub-function.
        sub: u16,
        /// Data field.
        data: Vec<u8>,
    },
    /// FC 11.
    GetCommEventCounter {
        /// Status word (0xFFFF busy).
        status: u16,
        /// Event count.
        count: u16,
    },
    /// FC 15.
    WriteMultipleCoils {
        /// First address.
        start: u16,
        /// Number written.
        qty: u16,
    },
    /// FC 16.
    WriteMultipleRegisters {
        /// First address.
        start: u16,
        /// Number written.
        qty: u16,
    },
    /// FC 17.
    ReportServerId {
        /// Server id, run indicator and device-specific data.
        data: Vec<u8>,
    },
    /// FC 22 (echo).
    MaskWriteRegister {
        /// Address.
        addr: u16,
        /// AND mask.
        and_mask: u16,
        /// OR mask.
        or_mask: u16,
    },
    /// FC 23.
    ReadWriteMultipleRegisters {
        /// Registers read.
        values: Vec<u16>,
    },
    /// FC 24.
    ReadFifoQueue {
        /// Queue contents.
        values: Vec<u16>,
    },
    /// FC 43 / MEI 14.
    ReadDeviceIdentification {
        /// Echoed read code.
        read_code: u8,
        /// Conformity level.
        conformity: u8,
        /// 0xFF when more objects follow.
        more_follows: u8,
        /// Next object id to ask for.
        next_object_id: u8,
        /// `(object id, value)` pairs.
        objects: Vec<(u8, Vec<u8>)>,
    },
    /// An exception response.
    Exception {
        /// The request's function code (the 0x80 bit is added).
        function: u8,
        /// Exception code.
        code: ExceptionCode,
    },
    /// Any function code followed by arbitrary bytes.
    Raw {
        /// Function code byte.
        function: u8,
        /// Bytes after the function code.
        data: Vec<u8>,
    },
}

/// Packs bits LSB-first into bytes.
pub fn pack_bits(values: &[bool]) -> Vec<u8> {
    let mut out = vec![0u8; values.len().div_ceil(8)];
    for (i, &v) in values.iter().enumerate() {
        if v {
            out[i / 8] |= 1 << (i % 8);
        }
    }
    out
}

fn push_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn push_regs(out: &mut Vec<u8>, values: &[u16]) {
    for &v in values {
        push_u16(out, v);
    }
}

/// The PDU of a request (function code + data).
pub fn request_pdu(req: &Request) -> Vec<u8> {
    let mut p = vec![req.function()];
    match req {
        Request::ReadCoils { start, qty }
        | Request::ReadDiscreteInputs { start, qty }
        | Request::ReadHoldingRegisters { start, qty }
        | Request::ReadInputRegisters { start, qty } => {
            push_u16(&mut p, *start);
            push_u16(&mut p, *qty);
        }
        Request::WriteSingleCoil { addr, value } => {
            push_u16(&mut p, *addr);
            push_u16(&mut p, if *value { 0xFF00 } else { 0x0000 });
        }
        Request::WriteSingleRegister { addr, value } => {
            push_u16(&mut p, *addr);
            push_u16(&mut p, *value);
        }
        Request::ReadExceptionStatus
        | Request::GetCommEventCounter
        | Request::GetCommEventLog
        | Request::ReportServerId => {}
        Request::Diagnostics { sub, data } => {
            push_u16(&mut p, *sub);
            p.extend_from_slice(data);
        }
        Request::WriteMultipleCoils { start, values } => {
            push_u16(&mut p, *start);
            push_u16(&mut p, values.len() as u16);
            let packed = pack_bits(values);
            p.push(packed.len() as u8);
            p.extend_from_slice(&packed);
        }
        Request::WriteMultipleRegisters { start, values } => {
            push_u16(&mut p, *start);
            push_u16(&mut p, values.len() as u16);
            p.push((values.len() * 2) as u8);
            push_regs(&mut p, values);
        }
        Request::ReadFileRecord { file, record, len } => {
            p.push(7);
            p.push(6);
            push_u16(&mut p, *file);
            push_u16(&mut p, *record);
            push_u16(&mut p, *len);
        }
        Request::MaskWriteRegister { addr, and_mask, or_mask } => {
            push_u16(&mut p, *addr);
            push_u16(&mut p, *and_mask);
            push_u16(&mut p, *or_mask);
        }
        Request::ReadWriteMultipleRegisters { read_start, read_qty, write_start, values } => {
            push_u16(&mut p, *read_start);
            push_u16(&mut p, *read_qty);
            push_u16(&mut p, *write_start);
            push_u16(&mut p, values.len() as u16);
            p.push((values.len() * 2) as u8);
            push_regs(&mut p, values);
        }
        Request::ReadFifoQueue { addr } => push_u16(&mut p, *addr),
        Request::ReadDeviceIdentification { read_code, object_id } => {
            p.extend_from_slice(&[fc::MEI_READ_DEVICE_ID, *read_code, *object_id]);
        }
        Request::Raw { data, .. } => p.extend_from_slice(data),
    }
    p
}

/// The PDU of a response (function code + data).
pub fn response_pdu(resp: &Response) -> Vec<u8> {
    let mut p = Vec::new();
    match resp {
        Response::ReadCoils { values } | Response::ReadDiscreteInputs { values } => {
            p.push(if matches!(resp, Response::ReadCoils { .. }) {
                fc::READ_COILS
            } else {
                fc::READ_DISCRETE_INPUTS
            });
            let packed = pack_bits(values);
            p.push(packed.len() as u8);
            p.extend_from_slice(&packed);
        }
        Response::ReadHoldingRegisters { values }
        | Response::ReadInputRegisters { values }
        | Response::ReadWriteMultipleRegisters { values } => {
            p.push(match resp {
                Response::ReadHoldingRegisters { .. } => fc::READ_HOLDING_REGISTERS,
                Response::ReadInputRegisters { .. } => fc::READ_INPUT_REGISTERS,
                _ => fc::READ_WRITE_MULTIPLE_REGISTERS,
            });
            p.push((values.len() * 2) as u8);
            push_regs(&mut p, values);
        }
        Response::WriteSingleCoil { addr, value } => {
            p.push(fc::WRITE_SINGLE_COIL);
            push_u16(&mut p, *addr);
            push_u16(&mut p, if *value { 0xFF00 } else { 0x0000 });
        }
        Response::WriteSingleRegister { addr, value } => {
            p.push(fc::WRITE_SINGLE_REGISTER);
            push_u16(&mut p, *addr);
            push_u16(&mut p, *value);
        }
        Response::ReadExceptionStatus { status } => {
            p.extend_from_slice(&[fc::READ_EXCEPTION_STATUS, *status]);
        }
        Response::Diagnostics { sub, data } => {
            p.push(fc::DIAGNOSTICS);
            push_u16(&mut p, *sub);
            p.extend_from_slice(data);
        }
        Response::GetCommEventCounter { status, count } => {
            p.push(fc::GET_COMM_EVENT_COUNTER);
            push_u16(&mut p, *status);
            push_u16(&mut p, *count);
        }
        Response::WriteMultipleCoils { start, qty } | Response::WriteMultipleRegisters { start, qty } => {
            p.push(if matches!(resp, Response::WriteMultipleCoils { .. }) {
                fc::WRITE_MULTIPLE_COILS
            } else {
                fc::WRITE_MULTIPLE_REGISTERS
            });
            push_u16(&mut p, *start);
            push_u16(&mut p, *qty);
        }
        Response::ReportServerId { data } => {
            p.push(fc::REPORT_SERVER_ID);
            p.push(data.len() as u8);
            p.extend_from_slice(data);
        }
        Response::MaskWriteRegister { addr, and_mask, or_mask } => {
            p.push(fc::MASK_WRITE_REGISTER);
            push_u16(&mut p, *addr);
            push_u16(&mut p, *and_mask);
            push_u16(&mut p, *or_mask);
        }
        Response::ReadFifoQueue { values } => {
            p.push(fc::READ_FIFO_QUEUE);
            push_u16(&mut p, (2 + values.len() * 2) as u16);
            push_u16(&mut p, values.len() as u16);
            push_regs(&mut p, values);
        }
        Response::ReadDeviceIdentification {
            read_code,
            conformity,
            more_follows,
            next_object_id,
            objects,
        } => {
            p.extend_from_slice(&[
                fc::ENCAPSULATED_INTERFACE,
                fc::MEI_READ_DEVICE_ID,
                *read_code,
                *conformity,
                *more_follows,
                *next_object_id,
                objects.len() as u8,
            ]);
            for (id, value) in objects {
                p.push(*id);
                p.push(value.len() as u8);
                p.extend_from_slice(value);
            }
        }
        Response::Exception { function, code } => {
            p.push(function | fc::EXCEPTION_BIT);
            p.push(code.code());
        }
        Response::Raw { function, data } => {
            p.push(*function);
            p.extend_from_slice(data);
        }
    }
    p
}

/// An ADU with explicit MBAP fields, for malformed cases: `length` is written as
/// given instead of being derived from the PDU.
pub fn adu_raw(tid: u16, protocol_id: u16, length: u16, unit: u8, pdu: &[u8]) -> Vec<u8> {
    let mut a = Vec::with_capacity(MBAP_LEN + pdu.len());
    push_u16(&mut a, tid);
    push_u16(&mut a, protocol_id);
    push_u16(&mut a, length);
    a.push(unit);
    a.extend_from_slice(pdu);
    a
}

/// A well-formed Modbus/TCP ADU around `pdu`.
pub fn adu(tid: u16, unit: u8, pdu: &[u8]) -> Vec<u8> {
    adu_raw(tid, 0, (pdu.len() + 1) as u16, unit, pdu)
}

/// A Modbus/TCP request ADU.
pub fn request(tid: u16, unit: u8, req: &Request) -> Vec<u8> {
    adu(tid, unit, &request_pdu(req))
}

/// A Modbus/TCP response ADU.
pub fn response(tid: u16, unit: u8, resp: &Response) -> Vec<u8> {
    adu(tid, unit, &response_pdu(resp))
}

/// A Modbus/TCP exception response ADU.
pub fn exception(tid: u16, unit: u8, function: u8, code: ExceptionCode) -> Vec<u8> {
    response(tid, unit, &Response::Exception { function, code })
}

/// Modbus RTU framing (address + PDU + CRC-16/MODBUS, low byte first).
pub mod rtu {
    use super::{Request, Response, request_pdu, response_pdu};

    const CRC: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_MODBUS);

    /// CRC-16/MODBUS of `data`.
    pub fn crc16(data: &[u8]) -> u16 {
        CRC.checksum(data)
    }

    /// An RTU frame: `unit`, `pdu`, CRC (little-endian).
    pub fn frame(unit: u8, pdu: &[u8]) -> Vec<u8> {
        let mut f = Vec::with_capacity(pdu.len() + 3);
        f.push(unit);
        f.extend_from_slice(pdu);
        let c = crc16(&f);
        f.extend_from_slice(&c.to_le_bytes());
        f
    }

    /// An RTU request frame.
    pub fn request(unit: u8, req: &Request) -> Vec<u8> {
        frame(unit, &request_pdu(req))
    }

    /// An RTU response frame.
    pub fn response(unit: u8, resp: &Response) -> Vec<u8> {
        frame(unit, &response_pdu(resp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_holding_request_bytes() {
        let a = request(1, 0x11, &Request::ReadHoldingRegisters { start: 0x006B, qty: 3 });
        assert_eq!(a, [0, 1, 0, 0, 0, 6, 0x11, 0x03, 0x00, 0x6B, 0x00, 0x03]);
    }

    #[test]
    fn spec_examples() {
        // Modbus Application Protocol v1.1b3 examples.
        assert_eq!(
            response_pdu(&Response::ReadCoils {
                values: vec![
                    true, false, true, true, false, false, true, true, true, true, false, true, false, true,
                    true, false, true, false, true
                ]
            }),
            [0x01, 0x03, 0xCD, 0x6B, 0x05]
        );
        assert_eq!(
            request_pdu(&Request::WriteMultipleRegisters { start: 1, values: vec![0x000A, 0x0102] }),
            [0x10, 0x00, 0x01, 0x00, 0x02, 0x04, 0x00, 0x0A, 0x01, 0x02]
        );
        assert_eq!(
            request_pdu(&Request::WriteMultipleCoils {
                start: 19,
                values: vec![true, false, true, true, false, false, true, true, true, false]
            }),
            [0x0F, 0x00, 0x13, 0x00, 0x0A, 0x02, 0xCD, 0x01]
        );
        assert_eq!(request_pdu(&Request::WriteSingleCoil { addr: 0xAC, value: true }), [5, 0, 0xAC, 0xFF, 0]);
        assert_eq!(exception(9, 1, fc::READ_COILS, ExceptionCode::IllegalDataAddress)[7..], [0x81, 0x02]);
        assert_eq!(
            request_pdu(&Request::ReadDeviceIdentification { read_code: 1, object_id: 0 }),
            [0x2B, 0x0E, 1, 0]
        );
        assert_eq!(
            response_pdu(&Response::ReadFifoQueue { values: vec![0x01B8, 0x1284] }),
            [0x18, 0x00, 0x06, 0x00, 0x02, 0x01, 0xB8, 0x12, 0x84]
        );
    }

    #[test]
    fn rtu_crc_matches_spec() {
        // Read 2 holding registers from unit 1 at 0: 01 03 00 00 00 02 C4 0B.
        let f = rtu::request(1, &Request::ReadHoldingRegisters { start: 0, qty: 2 });
        assert_eq!(f, [0x01, 0x03, 0x00, 0x00, 0x00, 0x02, 0xC4, 0x0B]);
        assert_eq!(rtu::crc16(b"123456789"), 0x4B37);
    }

    #[test]
    fn mbap_length_counts_unit_and_pdu() {
        for req in [
            Request::ReadExceptionStatus,
            Request::Diagnostics { sub: diag::FORCE_LISTEN_ONLY, data: vec![0, 0] },
            Request::ReadWriteMultipleRegisters {
                read_start: 1,
                read_qty: 2,
                write_start: 3,
                values: vec![4],
            },
            Request::MaskWriteRegister { addr: 4, and_mask: 0xF2, or_mask: 0x25 },
            Request::ReadFileRecord { file: 4, record: 1, len: 2 },
        ] {
            let a = request(7, 1, &req);
            let len = u16::from_be_bytes([a[4], a[5]]) as usize;
            assert_eq!(len, a.len() - 6);
            assert_eq!(a[7], req.function());
        }
    }
}
