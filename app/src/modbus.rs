//! Modbus per-flow state: framing (MBAP over TCP, MBAP over UDP, RTU over
//! TCP), request↔response pairing in a bounded queue, and the `modbus`
//! record (Suricata 8's EVE shape plus Centinela additions).
//!
//! Pairing: MBAP responses match the oldest pending request with the same
//! transaction id and unit id; RTU responses (no transaction id) match the
//! oldest pending request with the same unit address. A request is kept as a
//! `Copy` summary plus its PDU bytes in a fixed array (no allocation); the
//! queue holds at most `[app.modbus] max_pending` requests (default 500, as
//! Suricata): when full, `modbus.flooded` is raised and the oldest request
//! is logged as unanswered.
//!
//! Record: one per transaction (`request` + `response`), or request-only
//! (`unanswered: true`, at flow end or flood), or response-only
//! (`modbus.unsolicited_response` anomaly). The EVE header of a paired
//! record has the client as source (Suricata's convention).

use crate::detect::Probe;
use crate::limit::KeyHasher;
use crate::record::Sink;
use crate::streambuf::{DirStream, StreamEvent};
use crate::{AppConfig, Direction, L4};
use centinela_events::{JsonObject, JsonWriter, serialize_written};
use centinela_parsers::limits::modbus as lim;
use centinela_parsers::modbus::records::DeviceIdObjects;
use centinela_parsers::modbus::{
    self as mb, AddressedValues, Adu, DiagnosticSubFunction, ExceptionCode, Flags, FunctionCode, MbapFramer,
    ModbusFraming, Pdu, PduBody, Request, RequestSummary, Response, RtuFramer, Value,
};
use serde::{Serialize, Serializer};
use serde_json::{Value as Json, json};
use std::collections::VecDeque;

/// Leftover buffer cap per direction for Modbus streams: a whole MBAP ADU
/// (260 bytes) or RTU ADU (256 bytes) with room to spare.
pub const MODBUS_LEFTOVER_CAP: usize = 512;

/// How this flow carries Modbus (the record's `transport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Tcp,
    Udp,
    RtuOverTcp,
}

impl Transport {
    fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
            Transport::RtuOverTcp => "rtu_over_tcp",
        }
    }
}

#[derive(Debug, Clone)]
enum Framing {
    /// TCP, framing not decided yet (decided on the first bytes).
    Undecided,
    Mbap([MbapFramer; 2], [DirStream<mb::Error>; 2]),
    Rtu([RtuFramer; 2], [DirStream<mb::Error>; 2]),
    /// UDP: one ADU per datagram.
    Datagram,
}

/// PDU bytes kept inline in a pending request (reads, single writes, mask
/// writes, diagnostics); longer requests use a pooled buffer.
const INLINE_PDU: usize = 16;

/// A copy of a request PDU: inline when short, else in a buffer taken from
/// the flow's pool (returned when the transaction completes, so the pool
/// never holds more than `max_pending` buffers and steady state allocates
/// nothing).
#[derive(Debug)]
enum ReqBytes {
    Inline([u8; INLINE_PDU]),
    Pooled(Box<[u8; lim::MAX_PDU_LEN]>),
}

/// One pending request: its summary, flags, rate key and PDU copy.
#[derive(Debug)]
struct Pending {
    summary: RequestSummary,
    protocol_id: u16,
    flags: Flags,
    key: u64,
    len: u8,
    bytes: ReqBytes,
}

impl Pending {
    fn pdu(&self) -> &[u8] {
        let n = usize::from(self.len);
        match &self.bytes {
            ReqBytes::Inline(b) => b.get(..n).unwrap_or_default(),
            ReqBytes::Pooled(b) => b.get(..n).unwrap_or_default(),
        }
    }
}

/// The per-flow Modbus state.
#[derive(Debug)]
pub(crate) struct ModbusState {
    framing: Framing,
    // Apart from the framing, so that framing a stream borrows the two
    // separately (no move of the framing state out and back per delivery).
    txs: Transactions,
}

/// Decoding and pairing of framed ADUs: everything but the stream framing.
#[derive(Debug)]
struct Transactions {
    transport: Transport,
    max_pending: usize,
    pending: VecDeque<Pending>,
    // Boxed so a buffer moves between the pool and a pending request
    // without copying its 253 bytes.
    #[allow(clippy::vec_box)]
    pool: Vec<Box<[u8; lim::MAX_PDU_LEN]>>,
}

/// A decoded ADU of either framing.
#[derive(Debug, Clone, Copy)]
struct Parsed<'a> {
    transaction_id: u16,
    protocol_id: u16,
    unit_id: u8,
    pdu: Pdu<'a>,
    flags: Flags,
}

fn idx(dir: Direction) -> usize {
    match dir {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

fn pdir(dir: Direction) -> mb::Direction {
    match dir {
        Direction::ToServer => mb::Direction::Request,
        Direction::ToClient => mb::Direction::Response,
    }
}

/// Probe for `detect_protocol`: whole MBAP ADUs or CRC-valid RTU frames.
pub(crate) fn probe(_l4: L4, _dir: Direction, payload: &[u8]) -> Probe {
    if payload.len() < lim::MBAP_HEADER_LEN + 1 {
        return if payload.len() >= lim::MIN_RTU_ADU_LEN && mb::probe(payload) == Some(ModbusFraming::Rtu) {
            Probe::Yes(70)
        } else {
            Probe::NeedMore
        };
    }
    match mb::probe(payload) {
        Some(ModbusFraming::Mbap) => {
            // Whole ADUs tiling the payload with a clean first PDU are strong
            // evidence; a plausible header of a longer ADU is a start.
            match mb::MbapPacket::new_checked(payload) {
                Ok(p) => {
                    let clean = [mb::Direction::Request, mb::Direction::Response].into_iter().any(|d| {
                        Adu::parse(&payload[..p.total_len().min(payload.len())], d)
                            .is_ok_and(|a| a.flags.is_empty())
                    });
                    if clean { Probe::Yes(90) } else { Probe::Yes(60) }
                }
                Err(mb::Error::Incomplete { .. }) => Probe::NeedMore,
                Err(_) => Probe::No,
            }
        }
        Some(ModbusFraming::Rtu) => Probe::Yes(70),
        None => Probe::No,
    }
}

impl ModbusState {
    pub(crate) fn new(l4: L4, cfg: &AppConfig) -> Self {
        let (framing, transport) = match l4 {
            L4::Tcp => (Framing::Undecided, Transport::Tcp),
            L4::Udp => (Framing::Datagram, Transport::Udp),
        };
        Self {
            framing,
            txs: Transactions {
                transport,
                max_pending: cfg.modbus.max_pending.max(1),
                pending: VecDeque::new(),
                pool: Vec::new(),
            },
        }
    }

    pub(crate) fn memory(&self) -> usize {
        let bufs = match &self.framing {
            Framing::Mbap(_, s) | Framing::Rtu(_, s) => s[0].memory() + s[1].memory(),
            Framing::Undecided | Framing::Datagram => 0,
        };
        let t = &self.txs;
        let pooled =
            t.pending.iter().filter(|p| matches!(p.bytes, ReqBytes::Pooled(_))).count() + t.pool.len();
        bufs + t.pending.capacity() * core::mem::size_of::<Pending>() + pooled * lim::MAX_PDU_LEN
    }

    fn decide(&mut self, first: &[u8]) {
        if !matches!(self.framing, Framing::Undecided) {
            return;
        }
        let streams = [DirStream::new(MODBUS_LEFTOVER_CAP), DirStream::new(MODBUS_LEFTOVER_CAP)];
        if mb::probe(first) == Some(ModbusFraming::Rtu) {
            self.txs.transport = Transport::RtuOverTcp;
            self.framing = Framing::Rtu(
                [RtuFramer::new(mb::Direction::Request), RtuFramer::new(mb::Direction::Response)],
                streams,
            );
        } else {
            // Midstream pickup is possible: probe before trusting lengths.
            self.framing = Framing::Mbap([MbapFramer::new_unsynced(), MbapFramer::new_unsynced()], streams);
        }
    }

    pub(crate) fn on_stream(&mut self, dir: Direction, data: &[u8], sink: &mut Sink<'_>) {
        self.decide(data);
        let i = idx(dir);
        let Self { framing, txs } = self;
        match framing {
            Framing::Mbap(f, s) => {
                s[i].feed(&mut f[i], data, &mut |ev| txs.stream_event(dir, ev, sink));
            }
            Framing::Rtu(f, s) => {
                s[i].feed(&mut f[i], data, &mut |ev| txs.stream_event(dir, ev, sink));
            }
            Framing::Undecided | Framing::Datagram => {}
        }
    }

    pub(crate) fn on_gap(&mut self, dir: Direction, _lost: u64, sink: &mut Sink<'_>) {
        let i = idx(dir);
        let Self { framing, txs } = self;
        match framing {
            Framing::Mbap(f, s) => {
                s[i].gap(&mut f[i], &mut |ev| txs.stream_event(dir, ev, sink));
            }
            Framing::Rtu(f, s) => {
                s[i].gap(&mut f[i], &mut |ev| txs.stream_event(dir, ev, sink));
            }
            Framing::Undecided | Framing::Datagram => {}
        }
    }

    pub(crate) fn on_datagram(&mut self, dir: Direction, payload: &[u8], sink: &mut Sink<'_>) {
        if payload.is_empty() {
            return;
        }
        if matches!(self.framing, Framing::Datagram) {
            self.txs.frame(dir, payload, sink);
        }
    }

    pub(crate) fn on_close(&mut self, sink: &mut Sink<'_>) {
        let Self { framing, txs } = self;
        if let Framing::Mbap(_, s) | Framing::Rtu(_, s) = framing {
            for (i, dir) in [(0, Direction::ToServer), (1, Direction::ToClient)] {
                s[i].flush(&mut |ev| txs.stream_event(dir, ev, sink));
            }
        }
        while let Some(p) = txs.pending.pop_front() {
            txs.unanswered(p, sink);
        }
    }
}

impl Transactions {
    fn stream_event(&mut self, dir: Direction, ev: StreamEvent<'_, mb::Error>, sink: &mut Sink<'_>) {
        match ev {
            StreamEvent::Frame(frame) => self.frame(dir, frame, sink),
            StreamEvent::Discarded { bytes, error } => {
                sink.out.stats.modbus.bytes_discarded += bytes;
                let name = match error {
                    mb::Error::Invalid(mb::Invalid::BadCrc) => "modbus.bad_crc",
                    mb::Error::Invalid(mb::Invalid::MbapLength(_)) => "modbus.invalid_mbap_length",
                    mb::Error::Invalid(mb::Invalid::RtuLength(_)) => "modbus.invalid_rtu_length",
                    _ => "modbus.resync_discard",
                };
                sink.anomaly(dir, name, || Some(json!({"bytes": bytes})));
            }
            StreamEvent::Overflow { bytes } => {
                sink.out.stats.modbus.leftover_overflows += 1;
                sink.anomaly(dir, "modbus.reassembly_overflow", || {
                    Some(json!({"bytes": bytes, "cap": MODBUS_LEFTOVER_CAP}))
                });
            }
            StreamEvent::Stalled { bytes } => {
                sink.anomaly(dir, "modbus.framer_stalled", || Some(json!({"bytes": bytes})));
            }
        }
    }

    /// One framed ADU (or UDP datagram).
    fn frame(&mut self, dir: Direction, frame: &[u8], sink: &mut Sink<'_>) {
        let d = pdir(dir);
        let parsed = if self.transport == Transport::RtuOverTcp {
            mb::rtu::parse(frame, d).map(|a| Parsed {
                transaction_id: 0,
                protocol_id: 0,
                unit_id: a.address,
                pdu: a.pdu,
                flags: a.flags,
            })
        } else {
            Adu::parse(frame, d).map(|a| Parsed {
                transaction_id: a.transaction_id,
                protocol_id: a.protocol_id,
                unit_id: a.unit_id,
                pdu: a.pdu,
                flags: a.flags,
            })
        };
        let p = match parsed {
            Ok(p) => p,
            Err(e) => {
                let name = match e {
                    mb::Error::Incomplete { .. } => "modbus.truncated",
                    _ => "modbus.invalid_adu",
                };
                sink.anomaly(dir, name, || Some(json!({"bytes": frame.len()})));
                return;
            }
        };
        sink.out.stats.modbus.pdus += 1;
        sink.out.stats.modbus.messages += 1;
        if !p.flags.is_empty() {
            for name in p.flags.names() {
                sink.anomaly(dir, flag_anomaly(name), || Some(detail(&p)));
            }
        }
        match dir {
            Direction::ToServer => self.request(p, sink),
            Direction::ToClient => self.response(p, sink),
        }
    }

    fn request(&mut self, p: Parsed<'_>, sink: &mut Sink<'_>) {
        let Some(summary) = p.pdu.summary(p.transaction_id, p.unit_id) else {
            // An exception or other non-request in the request direction:
            // already flagged; log it on its own.
            self.log_single(Direction::ToServer, &p, sink);
            return;
        };
        if self.pending.len() >= self.max_pending {
            sink.out.stats.modbus.floods += 1;
            sink.anomaly(Direction::ToServer, "modbus.flooded", || {
                Some(json!({"max_pending": self.max_pending}))
            });
            if let Some(old) = self.pending.pop_front() {
                self.unanswered(old, sink);
            }
        }
        let raw = p.pdu.as_bytes();
        let raw = raw.get(..lim::MAX_PDU_LEN).unwrap_or(raw);
        let bytes = if raw.len() <= INLINE_PDU {
            let mut b = [0u8; INLINE_PDU];
            b[..raw.len()].copy_from_slice(raw);
            ReqBytes::Inline(b)
        } else {
            let mut b = self.pool.pop().unwrap_or_else(|| Box::new([0u8; lim::MAX_PDU_LEN]));
            b[..raw.len()].copy_from_slice(raw);
            ReqBytes::Pooled(b)
        };
        let key = self.key(&summary, raw);
        self.pending.push_back(Pending {
            summary,
            protocol_id: p.protocol_id,
            flags: p.flags,
            key,
            len: raw.len() as u8,
            bytes,
        });
    }

    /// Give a finished request's buffer back to the pool.
    fn recycle(&mut self, q: Pending) {
        if let ReqBytes::Pooled(b) = q.bytes
            && self.pool.len() < self.max_pending
        {
            self.pool.push(b);
        }
    }

    fn response(&mut self, p: Parsed<'_>, sink: &mut Sink<'_>) {
        let rtu = self.transport == Transport::RtuOverTcp;
        let pos = self.pending.iter().position(|q| {
            q.summary.unit_id == p.unit_id && (rtu || q.summary.transaction_id == p.transaction_id)
        });
        let Some(pending) = pos.and_then(|i| self.pending.remove(i)) else {
            sink.out.stats.modbus.txs_unmatched += 1;
            sink.anomaly(Direction::ToClient, "modbus.unsolicited_response", || Some(detail(&p)));
            self.log_single(Direction::ToClient, &p, sink);
            return;
        };
        sink.out.stats.modbus.txs_paired += 1;
        self.paired(&pending, &p, sink);
        self.recycle(pending);
    }

    fn paired(&self, pending: &Pending, p: &Parsed<'_>, sink: &mut Sink<'_>) {
        let extra = p.pdu.check_response(&pending.summary);
        let mut rsp_flags = p.flags;
        // `check_response` answers for exceptions too (function matches).
        if !p.pdu.is_exception() && !extra.is_empty() {
            // Only the flags the response did not already carry.
            let new = Flags::from_bits(extra.bits() & !p.flags.bits());
            for name in new.names() {
                sink.anomaly(Direction::ToClient, flag_anomaly(name), || Some(detail(p)));
            }
            rsp_flags |= extra;
        }
        let bypass = p.pdu.is_exception() || !rsp_flags.is_empty() || !pending.flags.is_empty();
        let Some(suppressed) = sink.rate(pending.key, bypass) else {
            return;
        };
        let req_pdu = Pdu::parse(pending.pdu(), mb::Direction::Request).ok();
        let rec = ModbusRecord {
            id: sink.next_tx(),
            request: req_pdu.as_ref().map(|req| {
                pdu_record(
                    pending.summary.transaction_id,
                    pending.protocol_id,
                    pending.summary.unit_id,
                    req,
                    req.flags,
                    None,
                )
            }),
            response: Some(pdu_record(
                p.transaction_id,
                p.protocol_id,
                p.unit_id,
                &p.pdu,
                rsp_flags,
                Some(&pending.summary),
            )),
            suppressed,
            transport: self.transport.as_str(),
            unanswered: false,
        };
        sink.record_written(Direction::ToServer, |w| rec.write(w));
    }

    /// A request or response logged without its counterpart.
    fn log_single(&mut self, dir: Direction, p: &Parsed<'_>, sink: &mut Sink<'_>) {
        // Never rate limited: these are anomalous (unmatched) by nature.
        let side = Some(pdu_record(p.transaction_id, p.protocol_id, p.unit_id, &p.pdu, p.flags, None));
        let (request, response) = match dir {
            Direction::ToServer => (side, None),
            Direction::ToClient => (None, side),
        };
        let rec = ModbusRecord {
            id: sink.next_tx(),
            request,
            response,
            suppressed: 0,
            transport: self.transport.as_str(),
            unanswered: false,
        };
        sink.record_written(dir, |w| rec.write(w));
    }

    fn unanswered(&mut self, q: Pending, sink: &mut Sink<'_>) {
        self.log_unanswered(&q, sink);
        self.recycle(q);
    }

    fn log_unanswered(&self, q: &Pending, sink: &mut Sink<'_>) {
        sink.out.stats.modbus.txs_unanswered += 1;
        let Some(suppressed) = sink.rate(q.key ^ 0x5a5a, !q.flags.is_empty()) else {
            return;
        };
        let Ok(req) = Pdu::parse(q.pdu(), mb::Direction::Request) else {
            return;
        };
        let rec = ModbusRecord {
            id: sink.next_tx(),
            request: Some(pdu_record(
                q.summary.transaction_id,
                q.protocol_id,
                q.summary.unit_id,
                &req,
                req.flags,
                None,
            )),
            response: None,
            suppressed,
            transport: self.transport.as_str(),
            unanswered: true,
        };
        sink.record_written(Direction::ToServer, |w| rec.write(w));
    }

    /// Rate-limit key: transport, unit and the request PDU (function,
    /// address, quantity — and the values for writes).
    fn key(&self, s: &RequestSummary, req_pdu: &[u8]) -> u64 {
        let mut h = KeyHasher::new(1);
        h.byte(self.transport as u8);
        h.byte(s.unit_id);
        h.bytes(req_pdu);
        h.finish()
    }
}

fn detail(p: &Parsed<'_>) -> Json {
    json!({
        "transaction_id": p.transaction_id,
        "unit_id": p.unit_id,
        "function_raw": p.pdu.function_byte(),
    })
}

/// `modbus.<flag>` for every parser flag name (stable, `&'static`).
fn flag_anomaly(name: &str) -> &'static str {
    match name {
        "invalid_length" => "modbus.invalid_length",
        "invalid_protocol_id" => "modbus.invalid_protocol_id",
        "quantity_out_of_range" => "modbus.quantity_out_of_range",
        "byte_count_mismatch" => "modbus.byte_count_mismatch",
        "invalid_exception_code" => "modbus.invalid_exception_code",
        "unknown_function" => "modbus.unknown_function",
        "reserved_function" => "modbus.reserved_function",
        "user_defined_function" => "modbus.user_defined_function",
        "bad_crc" => "modbus.bad_crc",
        "invalid_value" => "modbus.invalid_value",
        "address_overflow" => "modbus.address_overflow",
        "reserved_subfunction" => "modbus.reserved_subfunction",
        "exception_in_request" => "modbus.exception_in_request",
        "invalid_unit_id" => "modbus.invalid_unit_id",
        "response_mismatch" => "modbus.response_mismatch",
        _ => "modbus.other_flag",
    }
}

/// Suricata's `function_code` names (sawp-modbus).
fn function_name(f: FunctionCode) -> &'static str {
    use FunctionCode as F;
    match f {
        F::ReadCoils => "RdCoils",
        F::ReadDiscreteInputs => "RdDiscreteInputs",
        F::ReadHoldingRegisters => "RdHoldRegs",
        F::ReadInputRegisters => "RdInputRegs",
        F::WriteSingleCoil => "WrSingleCoil",
        F::WriteSingleRegister => "WrSingleReg",
        F::ReadExceptionStatus => "RdExcStatus",
        F::Diagnostics => "Diagnostic",
        F::GetCommEventCounter => "GetCommEventCtr",
        F::GetCommEventLog => "GetCommEventLog",
        F::WriteMultipleCoils => "WrMultCoils",
        F::WriteMultipleRegisters => "WrMultRegs",
        F::ReportServerId => "ReportServerID",
        F::ReadFileRecord => "RdFileRec",
        F::WriteFileRecord => "WrFileRec",
        F::MaskWriteRegister => "MaskWrReg",
        F::ReadWriteMultipleRegisters => "RdWrMultRegs",
        F::ReadFifoQueue => "RdFIFOQueue",
        F::EncapsulatedInterface => "MEI",
        F::UserDefined(_) | F::Reserved(_) | F::Unknown(_) => "Unknown",
    }
}

fn access_type(f: FunctionCode) -> &'static str {
    use FunctionCode as F;
    match f {
        F::ReadCoils => "READ | COILS",
        F::ReadDiscreteInputs => "READ | DISCRETES",
        F::ReadHoldingRegisters => "READ | HOLDING",
        F::ReadInputRegisters => "READ | INPUT",
        F::WriteSingleCoil => "WRITE | COILS | SINGLE | WRITE_SINGLE",
        F::WriteSingleRegister => "WRITE | HOLDING | SINGLE | WRITE_SINGLE",
        F::WriteMultipleCoils => "WRITE | COILS | MULTIPLE | WRITE_MULTIPLE",
        F::WriteMultipleRegisters => "WRITE | HOLDING | MULTIPLE | WRITE_MULTIPLE",
        F::MaskWriteRegister => "WRITE | HOLDING",
        F::ReadWriteMultipleRegisters => "READ | WRITE | HOLDING | MULTIPLE | WRITE_MULTIPLE",
        _ => "NONE",
    }
}

fn category(f: FunctionCode) -> &'static str {
    match f {
        FunctionCode::UserDefined(_) => "USER_DEFINED",
        FunctionCode::Reserved(_) => "RESERVED",
        FunctionCode::Unknown(_) => "PUBLIC_UNASSIGNED",
        _ => "PUBLIC_ASSIGNED",
    }
}

/// Suricata's `error_flags` string, computed from our (correct) flags: the
/// names of the error classes present, joined by ` | ` in a fixed order.
fn error_flags(f: Flags) -> &'static str {
    // Index bits: 1 FUNC_CODE, 2 DATA_VALUE, 4 DATA_LENGTH, 8 EXC_CODE.
    const NAMES: [&str; 16] = [
        "NONE",
        "FUNC_CODE",
        "DATA_VALUE",
        "FUNC_CODE | DATA_VALUE",
        "DATA_LENGTH",
        "FUNC_CODE | DATA_LENGTH",
        "DATA_VALUE | DATA_LENGTH",
        "FUNC_CODE | DATA_VALUE | DATA_LENGTH",
        "EXC_CODE",
        "FUNC_CODE | EXC_CODE",
        "DATA_VALUE | EXC_CODE",
        "FUNC_CODE | DATA_VALUE | EXC_CODE",
        "DATA_LENGTH | EXC_CODE",
        "FUNC_CODE | DATA_LENGTH | EXC_CODE",
        "DATA_VALUE | DATA_LENGTH | EXC_CODE",
        "FUNC_CODE | DATA_VALUE | DATA_LENGTH | EXC_CODE",
    ];
    let mut i = 0usize;
    if f.intersects(Flags::UNKNOWN_FUNCTION) {
        i |= 1;
    }
    if f.intersects(Flags::QUANTITY_OUT_OF_RANGE | Flags::INVALID_VALUE | Flags::ADDRESS_OVERFLOW) {
        i |= 2;
    }
    if f.intersects(Flags::INVALID_LENGTH | Flags::BYTE_COUNT_MISMATCH) {
        i |= 4;
    }
    if f.intersects(Flags::INVALID_EXCEPTION_CODE) {
        i |= 8;
    }
    NAMES.get(i).copied().unwrap_or("NONE")
}

fn exception_name(c: ExceptionCode) -> &'static str {
    match c {
        ExceptionCode::IllegalFunction => "IllegalFunction",
        ExceptionCode::IllegalDataAddress => "IllegalDataAddr",
        ExceptionCode::IllegalDataValue => "IllegalDataValue",
        ExceptionCode::ServerDeviceFailure => "ServerDeviceFail",
        ExceptionCode::Acknowledge => "Ack",
        ExceptionCode::ServerDeviceBusy => "ServerDeviceBusy",
        ExceptionCode::MemoryParityError => "MemParityErr",
        ExceptionCode::GatewayPathUnavailable => "GatewayPathUnavailable",
        ExceptionCode::GatewayTargetFailedToRespond => "GatewayTargetFailToResp",
        ExceptionCode::Unknown(_) => "Unknown",
    }
}

fn diagnostic_name(s: DiagnosticSubFunction) -> &'static str {
    use DiagnosticSubFunction as D;
    match s {
        D::ReturnQueryData => "RetQueryData",
        D::RestartCommunications => "RestartCommOpt",
        D::ReturnDiagnosticRegister => "RetDiagReg",
        D::ChangeAsciiInputDelimiter => "ChangeInputDelimiter",
        D::ForceListenOnlyMode => "ForceListenOnlyMode",
        D::ClearCountersAndDiagnosticRegister => "ClearCtrDiagReg",
        D::ReturnBusMessageCount => "RetBusMsgCount",
        D::ReturnBusCommunicationErrorCount => "RetBusCommErrCount",
        D::ReturnBusExceptionErrorCount => "RetBusExcErrCount",
        D::ReturnServerMessageCount => "RetServerMsgCount",
        D::ReturnServerNoResponseCount => "RetServerNoRespCount",
        D::ReturnServerNakCount => "RetServerNAKCount",
        D::ReturnServerBusyCount => "RetServerBusyCount",
        D::ReturnBusCharacterOverrunCount => "RetBusCharOverrunCount",
        D::ClearOverrunCounterAndFlag => "ClearOverrunCounterFlag",
        D::Reserved(_) => "Reserved",
    }
}

fn mei_name(t: u8) -> &'static str {
    match t {
        mb::codes::mei::CANOPEN_GENERAL_REFERENCE => "CANOpenGenRefReqResp",
        mb::codes::mei::READ_DEVICE_IDENTIFICATION => "RdDevId",
        _ => "Unknown",
    }
}

// ---------------------------------------------------------------------------
// The `modbus` record, typed and borrowing.
//
// Every record is serialised once, straight from these structs, into the
// event's `RawJson` body: no `serde_json::Value` tree, no per-field `String`.
// They borrow the PDUs (the packet's and the pending request's copy) and
// `&'static str` name tables; `values`, `anomalies` and device objects are
// written from the parser's lazy iterators, hex `data` from a stack buffer.
//
// Field order is the bytes' order: the record was built from a sorted
// `serde_json::Map` before, and the committed snapshots hold that order, so
// every struct declares its fields in bytewise-sorted key order
// (`_` < lowercase, a shorter prefix first). Optional keys that were absent
// are skipped; numbers keep their unsigned type.
// ---------------------------------------------------------------------------

/// The record body (`modbus` object of the EVE event).
#[derive(Debug)]
struct ModbusRecord<'a> {
    id: u64,
    request: Option<PduRecord<'a>>,
    response: Option<PduRecord<'a>>,
    /// Written when not zero.
    suppressed: u64,
    transport: &'static str,
    /// Written when true.
    unanswered: bool,
}

// The two busiest structs (a record per Modbus poll when every transaction is
// logged) are written by hand through a `JsonWriter`: literal keys, no
// per-field serde calls. The tests compare the bytes with the former `Map`
// builder for every function code and 10 000 random PDUs.

impl ModbusRecord<'_> {
    fn write(&self, w: &mut JsonWriter<'_>) -> Result<(), serde_json::Error> {
        w.raw("{\"id\":");
        w.int(self.id);
        if let Some(r) = &self.request {
            w.raw(",\"request\":");
            r.write(w)?;
        }
        if let Some(r) = &self.response {
            w.raw(",\"response\":");
            r.write(w)?;
        }
        if self.suppressed != 0 {
            w.raw(",\"suppressed\":");
            w.int(self.suppressed);
        }
        w.raw(",\"transport\":");
        w.plain(self.transport);
        if self.unanswered {
            w.raw(",\"unanswered\":true");
        }
        w.raw("}");
        Ok(())
    }
}

impl Serialize for ModbusRecord<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_written(s, |w| self.write(w))
    }
}

/// One side of a transaction in Suricata's shape plus additions
/// (`values`, `anomalies`, decoded MEI device identification). Keys are
/// written in bytewise-sorted order; `None` and empty `anomalies` are
/// skipped.
#[derive(Debug)]
struct PduRecord<'a> {
    access_type: &'static str,
    anomalies: FlagNames,
    category: &'static str,
    data: Option<Hex<'a>>,
    device_id: Option<DeviceId<'a>>,
    diagnostic: Option<CodeData<'a>>,
    error_flags: &'static str,
    exception: Option<ExceptionRecord>,
    fifo: Option<FifoRecord>,
    function_code: &'static str,
    function_raw: u8,
    mei: Option<CodeData<'a>>,
    protocol_id: u16,
    read: Option<ReadRecord<'a>>,
    transaction_id: u16,
    unit_id: u8,
    values: Option<Values<'a>>,
    write: Option<WriteRecord<'a>>,
}

impl PduRecord<'_> {
    fn write(&self, w: &mut JsonWriter<'_>) -> Result<(), serde_json::Error> {
        match PduHead::cached(self) {
            Some(head) => w.raw_ascii(head),
            None => self.write_head(w)?,
        }
        if let Some(m) = &self.mei {
            w.raw(",\"mei\":");
            w.value(m)?;
        }
        w.raw(",\"protocol_id\":");
        w.int(self.protocol_id);
        if let Some(r) = &self.read {
            w.raw(",\"read\":");
            r.write(w);
        }
        w.raw(",\"transaction_id\":");
        w.int(self.transaction_id);
        w.raw(",\"unit_id\":");
        w.int(self.unit_id);
        if let Some(v) = &self.values {
            w.raw(",\"values\":");
            write_values(w, v.0.clone());
        }
        if let Some(wr) = &self.write {
            w.raw(",\"write\":");
            wr.write(w);
        }
        w.raw("}");
        Ok(())
    }

    /// From `{` to the `function_raw` value: the part that, for a PDU
    /// without anomalies, data, diagnostic, device identification,
    /// exception or FIFO fields, depends on the function byte only (see
    /// [`PduHead`]).
    fn write_head(&self, w: &mut JsonWriter<'_>) -> Result<(), serde_json::Error> {
        w.raw("{\"access_type\":");
        w.plain(self.access_type);
        if !self.anomalies.is_empty() {
            w.raw(",\"anomalies\":");
            w.value(&self.anomalies)?;
        }
        w.raw(",\"category\":");
        w.plain(self.category);
        if let Some(d) = &self.data {
            w.raw(",\"data\":");
            w.hex(d.0);
        }
        if let Some(d) = &self.device_id {
            w.raw(",\"device_id\":");
            w.value(d)?;
        }
        if let Some(d) = &self.diagnostic {
            w.raw(",\"diagnostic\":");
            w.value(d)?;
        }
        w.raw(",\"error_flags\":");
        w.plain(self.error_flags);
        if let Some(e) = &self.exception {
            w.raw(",\"exception\":{\"code\":");
            w.plain(e.code);
            w.raw(",\"raw\":");
            w.int(e.raw);
            w.raw("}");
        }
        if let Some(f) = &self.fifo {
            w.raw(",\"fifo\":{\"address\":");
            w.int(f.address);
            w.raw("}");
        }
        w.raw(",\"function_code\":");
        w.plain(self.function_code);
        w.raw(",\"function_raw\":");
        w.int(self.function_raw);
        Ok(())
    }

    /// A PDU record with function byte `b`, no anomalies, no optional
    /// field and zero numbers: what [`PduHead`] renders for `b`.
    fn plain(b: u8) -> PduRecord<'static> {
        let f = FunctionCode::from_u8(b);
        PduRecord {
            access_type: access_type(f),
            anomalies: FlagNames(Flags::EMPTY),
            category: category(f),
            data: None,
            device_id: None,
            diagnostic: None,
            error_flags: error_flags(Flags::EMPTY),
            exception: None,
            fifo: None,
            function_code: function_name(f),
            function_raw: b,
            mei: None,
            protocol_id: 0,
            read: None,
            transaction_id: 0,
            unit_id: 0,
            values: None,
            write: None,
        }
    }

    /// True when the head has only the fields every PDU has.
    fn plain_head(&self) -> bool {
        self.anomalies.is_empty()
            && self.data.is_none()
            && self.device_id.is_none()
            && self.diagnostic.is_none()
            && self.exception.is_none()
            && self.fifo.is_none()
    }
}

/// The head of a plain PDU record (see [`PduRecord::write_head`]) for every
/// function byte, rendered once by `write_head` itself: a record writes its
/// head with one copy instead of ten pieces (four table strings, five keys
/// and a number). A record uses the cached head only when its strings are
/// the very ones the head was rendered from, so a cached head is always
/// the bytes `write_head` would write.
struct PduHead {
    text: Box<[u8]>,
    access_type: &'static str,
    category: &'static str,
    error_flags: &'static str,
    function_code: &'static str,
}

impl PduHead {
    fn cached(r: &PduRecord<'_>) -> Option<&'static [u8]> {
        static HEADS: std::sync::LazyLock<Vec<PduHead>> = std::sync::LazyLock::new(|| {
            (0..=u8::MAX)
                .map(|b| {
                    let r = PduRecord::plain(b);
                    let mut text = Vec::new();
                    // Plain heads hold table strings and a number: nothing
                    // here can fail (an error would leave an empty head,
                    // which `cached` never hands out).
                    let _ = r.write_head(&mut JsonWriter::new(&mut text));
                    PduHead {
                        text: text.into_boxed_slice(),
                        access_type: r.access_type,
                        category: r.category,
                        error_flags: r.error_flags,
                        function_code: r.function_code,
                    }
                })
                .collect()
        });
        if !r.plain_head() {
            return None;
        }
        let h = HEADS.get(usize::from(r.function_raw))?;
        let same = std::ptr::eq(h.access_type, r.access_type)
            && std::ptr::eq(h.category, r.category)
            && std::ptr::eq(h.error_flags, r.error_flags)
            && std::ptr::eq(h.function_code, r.function_code);
        (same && !h.text.is_empty()).then_some(&h.text[..])
    }
}

impl Serialize for PduRecord<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_written(s, |w| self.write(w))
    }
}

/// `read`: a request's range, or a response's raw data.
#[derive(Debug, Default)]
struct ReadRecord<'a> {
    address: Option<u16>,
    data: Option<Hex<'a>>,
    quantity: Option<u16>,
}

impl ReadRecord<'_> {
    fn write(&self, w: &mut JsonWriter<'_>) {
        let mut o = JsonObject::open(w);
        if let Some(a) = self.address {
            o.key("\"address\":").int(a);
        }
        if let Some(d) = &self.data {
            o.key("\"data\":").hex(d.0);
        }
        if let Some(q) = self.quantity {
            o.key("\"quantity\":").int(q);
        }
        o.close();
    }
}

impl ReadRecord<'_> {
    fn range(address: u16, quantity: u16) -> Self {
        Self { address: Some(address), quantity: Some(quantity), data: None }
    }
}

/// `write`: single value, multiple values (raw or their quantity), or a
/// mask write.
#[derive(Debug)]
struct WriteRecord<'a> {
    address: u16,
    and_mask: Option<u16>,
    data: Option<WriteData<'a>>,
    or_mask: Option<u16>,
    quantity: Option<u16>,
}

impl WriteRecord<'_> {
    fn write(&self, w: &mut JsonWriter<'_>) {
        w.raw("{\"address\":");
        w.int(self.address);
        if let Some(m) = self.and_mask {
            w.raw(",\"and_mask\":");
            w.int(m);
        }
        match &self.data {
            Some(WriteData::Number(n)) => {
                w.raw(",\"data\":");
                w.int(*n);
            }
            Some(WriteData::Hex(h)) => {
                w.raw(",\"data\":");
                w.hex(h.0);
            }
            None => {}
        }
        if let Some(m) = self.or_mask {
            w.raw(",\"or_mask\":");
            w.int(m);
        }
        if let Some(q) = self.quantity {
            w.raw(",\"quantity\":");
            w.int(q);
        }
        w.raw("}");
    }
}

impl<'a> WriteRecord<'a> {
    fn single(address: u16, value: u16) -> Self {
        Self { address, and_mask: None, data: Some(WriteData::Number(value)), or_mask: None, quantity: None }
    }

    fn multiple(address: u16, quantity: u16, data: WriteData<'a>) -> Self {
        Self { address, and_mask: None, data: Some(data), or_mask: None, quantity: Some(quantity) }
    }

    fn mask(address: u16, and_mask: u16, or_mask: u16) -> Self {
        Self { address, and_mask: Some(and_mask), data: None, or_mask: Some(or_mask), quantity: None }
    }
}

/// `write.data`: a number (single writes, a response's quantity) or the
/// raw values in hex (multiple-write requests).
#[derive(Debug)]
enum WriteData<'a> {
    Number(u16),
    Hex(Hex<'a>),
}

/// `diagnostic` and `mei`: a sub-code, its name and the raw data.
#[derive(Debug, Serialize)]
struct CodeData<'a> {
    code: &'static str,
    data: Hex<'a>,
    raw: u16,
}

impl<'a> CodeData<'a> {
    fn mei(mei_type: u8, data: Hex<'a>) -> Self {
        Self { code: mei_name(mei_type), data, raw: u16::from(mei_type) }
    }

    fn diagnostic(sub: DiagnosticSubFunction, data: &'a [u8]) -> Self {
        Self { code: diagnostic_name(sub), data: Hex(data), raw: sub.code() }
    }
}

/// `exception`.
#[derive(Debug)]
struct ExceptionRecord {
    code: &'static str,
    raw: u8,
}

/// `fifo`.
#[derive(Debug)]
struct FifoRecord {
    address: u16,
}

/// `device_id` (FC 43 / MEI 14) of a request or a response.
#[derive(Debug)]
enum DeviceId<'a> {
    Request(DeviceIdRequest),
    Response(DeviceIdResponse<'a>),
}

impl Serialize for DeviceId<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            DeviceId::Request(r) => r.serialize(s),
            DeviceId::Response(r) => r.serialize(s),
        }
    }
}

#[derive(Debug, Serialize)]
struct DeviceIdRequest {
    object_id: u8,
    read_device_id_code: u8,
}

#[derive(Debug, Serialize)]
struct DeviceIdResponse<'a> {
    conformity_level: u8,
    more_follows: u8,
    next_object_id: u8,
    number_of_objects: u8,
    objects: DeviceObjects<'a>,
    read_device_id_code: u8,
}

/// `device_id.objects`: `{"id", "value"}` from the lazy object iterator;
/// values as text (invalid UTF-8 replaced, which is the only case that
/// allocates).
#[derive(Debug)]
struct DeviceObjects<'a>(DeviceIdObjects<'a>);

impl Serialize for DeviceObjects<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|o| DeviceObject { id: o.id, value: Lossy(o.value) }))
    }
}

#[derive(Serialize)]
struct DeviceObject<'a> {
    id: u8,
    value: Lossy<'a>,
}

/// Bytes written as a string, invalid UTF-8 replaced by U+FFFD.
struct Lossy<'a>(&'a [u8]);

impl Serialize for Lossy<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&String::from_utf8_lossy(self.0))
    }
}

/// `anomalies`: the parser flags' stable names.
#[derive(Debug, Clone, Copy)]
struct FlagNames(Flags);

impl FlagNames {
    // serde's `skip_serializing_if` passes a reference.
    #[allow(clippy::trivially_copy_pass_by_ref)]
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for FlagNames {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.names())
    }
}

/// `values`: `{"address", "value"}` objects written straight from the
/// parser's lazy iterator (registers as numbers, coils as booleans).
#[derive(Debug)]
struct Values<'a>(AddressedValues<'a>);

impl Serialize for Values<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_written(s, |w| {
            write_values(w, self.0.clone());
            Ok(())
        })
    }
}

/// `[{"address":A,"value":V},...]`: registers as numbers, coils as booleans
/// (up to 2 000 values per record). Each element is written straight into
/// a stack chunk, in a slot of [`ELEMENT_MAX`] bytes (the longest element,
/// `,{"address":65535,"value":65535}`, is 32 bytes), and the chunk goes to
/// the output once it holds [`VALUES_CHUNK`] bytes: no growth check, no
/// variable-length copy and no serde call per value.
fn write_values(w: &mut JsonWriter<'_>, values: AddressedValues<'_>) {
    let mut chunk = [0u8; VALUES_CHUNK + ELEMENT_MAX];
    let mut n = 0;
    let mut first = true;
    w.reserve(values.size_hint().0.saturating_mul(ELEMENT_MAX).saturating_add(2));
    for (address, value) in values {
        // `n < VALUES_CHUNK` here: a whole slot is always free.
        let Some(slot) =
            chunk.get_mut(n..n + ELEMENT_MAX).and_then(|s| <&mut [u8; ELEMENT_MAX]>::try_from(s).ok())
        else {
            break;
        };
        n += element(slot, address, value);
        if first {
            // The first element's comma opens the array.
            slot[0] = b'[';
            first = false;
        }
        if n >= VALUES_CHUNK {
            w.raw_ascii(chunk.get(..n).unwrap_or_default());
            n = 0;
        }
    }
    if first {
        w.raw("[");
    }
    w.raw_ascii(chunk.get(..n).unwrap_or_default());
    w.raw("]");
}

/// Bytes of `values` text gathered on the stack before each copy out.
const VALUES_CHUNK: usize = 512;
/// The longest element, `,{"address":65535,"value":65535}`.
const ELEMENT_MAX: usize = 32;

/// `,{"address":A,"value":V}` into `e`; returns its length.
#[inline(always)]
fn element(e: &mut [u8; ELEMENT_MAX], address: u16, value: Value) -> usize {
    e[..12].copy_from_slice(b",{\"address\":");
    let mut p = put_u16(e, 12, address);
    match value {
        Value::Bit(true) => {
            if let Some(d) = e.get_mut(p..p + 14) {
                d.copy_from_slice(b",\"value\":true}");
            }
            p += 14;
        }
        Value::Bit(false) => {
            if let Some(d) = e.get_mut(p..p + 15) {
                d.copy_from_slice(b",\"value\":false}");
            }
            p += 15;
        }
        Value::Register(r) => {
            if let Some(d) = e.get_mut(p..p + 9) {
                d.copy_from_slice(b",\"value\":");
            }
            p = put_u16(e, p + 9, r);
            if let Some(d) = e.get_mut(p) {
                *d = b'}';
            }
            p += 1;
        }
    }
    p
}

/// `v` in decimal at `e[p..]` (room for 5 digits is the caller's); returns
/// the position after it.
#[inline(always)]
fn put_u16(e: &mut [u8; ELEMENT_MAX], p: usize, v: u16) -> usize {
    let (digits, len) = centinela_events::u16_digits(v);
    if let Some(d) = e.get_mut(p..p + 5) {
        d.copy_from_slice(&digits);
    }
    p + len
}

/// Raw bytes written as a lower-case hex string without building a
/// `String`: from a stack buffer up to [`HEX_STACK`] bytes (every Modbus PDU
/// fits), in chunks through `collect_str` beyond.
#[derive(Debug, Clone, Copy)]
struct Hex<'a>(&'a [u8]);

/// Input bytes a [`Hex`] encodes on the stack in one piece.
const HEX_STACK: usize = 256;

/// Input bytes encoded in a small stack buffer (register reads of up to 16
/// registers, single writes: the common case), so that case does not clear
/// the large one.
const HEX_SMALL: usize = 32;

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Hex-encode as much of `bytes` as fits into `buf`; returns the text.
fn hex_into<'b>(bytes: &[u8], buf: &'b mut [u8]) -> &'b str {
    let mut n = 0;
    for (&b, out) in bytes.iter().zip(buf.chunks_exact_mut(2)) {
        out.copy_from_slice(&[HEX_DIGITS[usize::from(b >> 4)], HEX_DIGITS[usize::from(b & 0x0f)]]);
        n += 2;
    }
    // Only ASCII hex digits were written.
    buf.get(..n).and_then(|t| core::str::from_utf8(t).ok()).unwrap_or_default()
}

impl Serialize for Hex<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.len() <= HEX_SMALL {
            let mut buf = [0u8; 2 * HEX_SMALL];
            s.serialize_str(hex_into(self.0, &mut buf))
        } else if self.0.len() <= HEX_STACK {
            let mut buf = [0u8; 2 * HEX_STACK];
            s.serialize_str(hex_into(self.0, &mut buf))
        } else {
            s.collect_str(self)
        }
    }
}

impl core::fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut buf = [0u8; 2 * HEX_STACK];
        for chunk in self.0.chunks(HEX_STACK) {
            f.write_str(hex_into(chunk, &mut buf))?;
        }
        Ok(())
    }
}

/// The bytes after the function code (and after the MEI type for FC 43).
fn after_fc<'a>(pdu: &Pdu<'a>, skip: usize) -> Hex<'a> {
    Hex(pdu.as_bytes().get(1 + skip..).unwrap_or_default())
}

/// One side of a transaction. `req` (responses only) gives the response's
/// values their addresses.
fn pdu_record<'a>(
    transaction_id: u16,
    protocol_id: u16,
    unit_id: u8,
    pdu: &Pdu<'a>,
    flags: Flags,
    req: Option<&RequestSummary>,
) -> PduRecord<'a> {
    let f = pdu.function;
    let mut o = PduRecord {
        access_type: access_type(f),
        anomalies: FlagNames(flags),
        category: category(f),
        data: None,
        device_id: None,
        diagnostic: None,
        error_flags: error_flags(flags),
        exception: None,
        fifo: None,
        function_code: function_name(f),
        function_raw: pdu.function_byte(),
        mei: None,
        protocol_id,
        read: None,
        transaction_id,
        unit_id,
        values: None,
        write: None,
    };
    match pdu.body {
        PduBody::Request(r) => {
            request_fields(&mut o, pdu, r);
            o.values = pdu.written_values().map(Values);
        }
        PduBody::Response(r) => {
            response_fields(&mut o, pdu, r);
            o.values = req.and_then(|q| pdu.values_with_addresses(q)).map(Values);
        }
        PduBody::Exception(c) => {
            o.exception = Some(ExceptionRecord { code: exception_name(c), raw: c.code() });
        }
        PduBody::Other { data } | PduBody::Malformed { data } => o.data = Some(Hex(data)),
    }
    o
}

fn request_fields<'a>(o: &mut PduRecord<'a>, pdu: &Pdu<'a>, r: Request<'a>) {
    match r {
        Request::ReadBits { address, quantity } | Request::ReadRegisters { address, quantity } => {
            o.read = Some(ReadRecord::range(address, quantity));
        }
        Request::WriteSingleCoil { address, value } | Request::WriteSingleRegister { address, value } => {
            o.write = Some(WriteRecord::single(address, value));
        }
        Request::WriteMultipleCoils { address, quantity, values, .. } => {
            o.write = Some(WriteRecord::multiple(address, quantity, WriteData::Hex(Hex(values.as_bytes()))));
        }
        Request::WriteMultipleRegisters { address, quantity, values, .. } => {
            o.write = Some(WriteRecord::multiple(address, quantity, WriteData::Hex(Hex(values.as_bytes()))));
        }
        Request::MaskWriteRegister { address, and_mask, or_mask } => {
            o.write = Some(WriteRecord::mask(address, and_mask, or_mask));
        }
        Request::ReadWriteMultipleRegisters {
            read_address,
            read_quantity,
            write_address,
            write_quantity,
            values,
            ..
        } => {
            o.read = Some(ReadRecord::range(read_address, read_quantity));
            o.write = Some(WriteRecord::multiple(
                write_address,
                write_quantity,
                WriteData::Hex(Hex(values.as_bytes())),
            ));
        }
        Request::Diagnostics { sub_function, data } => {
            o.diagnostic = Some(CodeData::diagnostic(sub_function, data));
        }
        Request::CanOpen { data } => {
            o.mei = Some(CodeData::mei(mb::codes::mei::CANOPEN_GENERAL_REFERENCE, Hex(data)));
        }
        Request::ReadDeviceId { read_device_id_code, object_id } => {
            o.mei = Some(CodeData::mei(mb::codes::mei::READ_DEVICE_IDENTIFICATION, after_fc(pdu, 1)));
            o.device_id = Some(DeviceId::Request(DeviceIdRequest { object_id, read_device_id_code }));
        }
        Request::Mei { mei_type, data } => o.mei = Some(CodeData::mei(mei_type, Hex(data))),
        Request::ReadFifoQueue { address } => {
            o.data = Some(after_fc(pdu, 0));
            o.fifo = Some(FifoRecord { address });
        }
        _ => o.data = Some(after_fc(pdu, 0)),
    }
}

fn response_fields<'a>(o: &mut PduRecord<'a>, pdu: &Pdu<'a>, r: Response<'a>) {
    match r {
        Response::ReadBits { values, .. } => {
            o.read = Some(ReadRecord { data: Some(Hex(values.as_bytes())), ..ReadRecord::default() });
        }
        Response::ReadRegisters { values, .. } => {
            o.read = Some(ReadRecord { data: Some(Hex(values.as_bytes())), ..ReadRecord::default() });
        }
        Response::WriteSingleCoil { address, value } | Response::WriteSingleRegister { address, value } => {
            o.write = Some(WriteRecord::single(address, value));
        }
        Response::WriteMultipleCoils { address, quantity }
        | Response::WriteMultipleRegisters { address, quantity } => {
            o.write = Some(WriteRecord::multiple(address, quantity, WriteData::Number(quantity)));
        }
        Response::MaskWriteRegister { address, and_mask, or_mask } => {
            o.write = Some(WriteRecord::mask(address, and_mask, or_mask));
        }
        Response::Diagnostics { sub_function, data } => {
            o.diagnostic = Some(CodeData::diagnostic(sub_function, data));
        }
        Response::CanOpen { data } => {
            o.mei = Some(CodeData::mei(mb::codes::mei::CANOPEN_GENERAL_REFERENCE, Hex(data)));
        }
        Response::ReadDeviceId {
            read_device_id_code,
            conformity_level,
            more_follows,
            next_object_id,
            number_of_objects,
            objects,
        } => {
            o.mei = Some(CodeData::mei(mb::codes::mei::READ_DEVICE_IDENTIFICATION, after_fc(pdu, 1)));
            o.device_id = Some(DeviceId::Response(DeviceIdResponse {
                conformity_level,
                more_follows,
                next_object_id,
                number_of_objects,
                objects: DeviceObjects(objects),
                read_device_id_code,
            }));
        }
        Response::Mei { mei_type, data } => o.mei = Some(CodeData::mei(mei_type, Hex(data))),
        _ => o.data = Some(after_fc(pdu, 0)),
    }
}

#[cfg(test)]
mod tests {
    //! The typed record against the `serde_json::Map` builder it replaced
    //! (kept here as the oracle): byte-identical text for every function
    //! code, both directions, random and crafted PDUs.

    use super::*;
    use centinela_events::RawJson;
    use std::collections::BTreeSet;

    /// The former `Map`-based builder, verbatim apart from names.
    mod oracle {
        use super::super::*;
        use serde_json::Map;

        fn hex(bytes: &[u8]) -> String {
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        }

        fn error_flags(f: Flags) -> String {
            let mut parts: Vec<&str> = Vec::new();
            if f.intersects(Flags::UNKNOWN_FUNCTION) {
                parts.push("FUNC_CODE");
            }
            if f.intersects(Flags::QUANTITY_OUT_OF_RANGE | Flags::INVALID_VALUE | Flags::ADDRESS_OVERFLOW) {
                parts.push("DATA_VALUE");
            }
            if f.intersects(Flags::INVALID_LENGTH | Flags::BYTE_COUNT_MISMATCH) {
                parts.push("DATA_LENGTH");
            }
            if f.intersects(Flags::INVALID_EXCEPTION_CODE) {
                parts.push("EXC_CODE");
            }
            if parts.is_empty() { "NONE".to_string() } else { parts.join(" | ") }
        }

        fn values_json(it: impl Iterator<Item = (u16, Value)>) -> Json {
            Json::Array(
                it.map(|(address, v)| match v {
                    Value::Bit(b) => json!({"address": address, "value": b}),
                    Value::Register(r) => json!({"address": address, "value": r}),
                })
                .collect(),
            )
        }

        fn after_fc(pdu: &Pdu<'_>, skip: usize) -> String {
            hex(pdu.as_bytes().get(1 + skip..).unwrap_or_default())
        }

        pub(super) fn record(
            id: u64,
            transport: &str,
            request: Option<Json>,
            response: Option<Json>,
            suppressed: u64,
            unanswered: bool,
        ) -> Json {
            let mut m = Map::new();
            m.insert("id".into(), json!(id));
            m.insert("transport".into(), json!(transport));
            if let Some(r) = request {
                m.insert("request".into(), r);
            }
            if let Some(r) = response {
                m.insert("response".into(), r);
            }
            if unanswered {
                m.insert("unanswered".into(), json!(true));
            }
            if suppressed > 0 {
                m.insert("suppressed".into(), json!(suppressed));
            }
            Json::Object(m)
        }

        pub(super) fn pdu_json(
            transaction_id: u16,
            protocol_id: u16,
            unit_id: u8,
            pdu: &Pdu<'_>,
            flags: Flags,
            req: Option<&RequestSummary>,
        ) -> Json {
            let f = pdu.function;
            let mut o = Map::new();
            o.insert("transaction_id".into(), json!(transaction_id));
            o.insert("protocol_id".into(), json!(protocol_id));
            o.insert("unit_id".into(), json!(unit_id));
            o.insert("function_raw".into(), json!(pdu.function_byte()));
            o.insert("function_code".into(), json!(function_name(f)));
            o.insert("access_type".into(), json!(access_type(f)));
            o.insert("category".into(), json!(category(f)));
            o.insert("error_flags".into(), json!(error_flags(flags)));
            match pdu.body {
                PduBody::Request(r) => request_fields(&mut o, pdu, r),
                PduBody::Response(r) => response_fields(&mut o, pdu, r, req),
                PduBody::Exception(c) => {
                    o.insert("exception".into(), json!({"raw": c.code(), "code": exception_name(c)}));
                }
                PduBody::Other { data } | PduBody::Malformed { data } => {
                    o.insert("data".into(), json!(hex(data)));
                }
            }
            if !flags.is_empty() {
                o.insert("anomalies".into(), Json::Array(flags.names().map(|n| json!(n)).collect()));
            }
            Json::Object(o)
        }

        fn request_fields(o: &mut Map<String, Json>, pdu: &Pdu<'_>, r: Request<'_>) {
            match r {
                Request::ReadBits { address, quantity } | Request::ReadRegisters { address, quantity } => {
                    o.insert("read".into(), json!({"address": address, "quantity": quantity}));
                }
                Request::WriteSingleCoil { address, value }
                | Request::WriteSingleRegister { address, value } => {
                    o.insert("write".into(), json!({"address": address, "data": value}));
                }
                Request::WriteMultipleCoils { address, quantity, values, .. } => {
                    o.insert(
                        "write".into(),
                        json!({"address": address, "quantity": quantity, "data": hex(values.as_bytes())}),
                    );
                }
                Request::WriteMultipleRegisters { address, quantity, values, .. } => {
                    o.insert(
                        "write".into(),
                        json!({"address": address, "quantity": quantity, "data": hex(values.as_bytes())}),
                    );
                }
                Request::MaskWriteRegister { address, and_mask, or_mask } => {
                    o.insert(
                        "write".into(),
                        json!({"address": address, "and_mask": and_mask, "or_mask": or_mask}),
                    );
                }
                Request::ReadWriteMultipleRegisters {
                    read_address,
                    read_quantity,
                    write_address,
                    write_quantity,
                    values,
                    ..
                } => {
                    o.insert("read".into(), json!({"address": read_address, "quantity": read_quantity}));
                    o.insert(
                        "write".into(),
                        json!({"address": write_address, "quantity": write_quantity, "data": hex(values.as_bytes())}),
                    );
                }
                Request::Diagnostics { sub_function, data } => {
                    o.insert(
                        "diagnostic".into(),
                        json!({"raw": sub_function.code(), "code": diagnostic_name(sub_function), "data": hex(data)}),
                    );
                }
                Request::CanOpen { data } => {
                    let t = mb::codes::mei::CANOPEN_GENERAL_REFERENCE;
                    o.insert("mei".into(), json!({"raw": t, "code": mei_name(t), "data": hex(data)}));
                }
                Request::ReadDeviceId { read_device_id_code, object_id } => {
                    let t = mb::codes::mei::READ_DEVICE_IDENTIFICATION;
                    o.insert("mei".into(), json!({"raw": t, "code": mei_name(t), "data": after_fc(pdu, 1)}));
                    o.insert(
                        "device_id".into(),
                        json!({"read_device_id_code": read_device_id_code, "object_id": object_id}),
                    );
                }
                Request::Mei { mei_type, data } => {
                    o.insert(
                        "mei".into(),
                        json!({"raw": mei_type, "code": mei_name(mei_type), "data": hex(data)}),
                    );
                }
                Request::ReadFifoQueue { address } => {
                    o.insert("data".into(), json!(after_fc(pdu, 0)));
                    o.insert("fifo".into(), json!({"address": address}));
                }
                _ => {
                    o.insert("data".into(), json!(after_fc(pdu, 0)));
                }
            }
            if let Some(values) = pdu.written_values() {
                o.insert("values".into(), values_json(values));
            }
        }

        fn response_fields(
            o: &mut Map<String, Json>,
            pdu: &Pdu<'_>,
            r: Response<'_>,
            req: Option<&RequestSummary>,
        ) {
            match r {
                Response::ReadBits { values, .. } => {
                    o.insert("read".into(), json!({"data": hex(values.as_bytes())}));
                }
                Response::ReadRegisters { values, .. } => {
                    o.insert("read".into(), json!({"data": hex(values.as_bytes())}));
                }
                Response::WriteSingleCoil { address, value }
                | Response::WriteSingleRegister { address, value } => {
                    o.insert("write".into(), json!({"address": address, "data": value}));
                }
                Response::WriteMultipleCoils { address, quantity }
                | Response::WriteMultipleRegisters { address, quantity } => {
                    o.insert(
                        "write".into(),
                        json!({"address": address, "data": quantity, "quantity": quantity}),
                    );
                }
                Response::MaskWriteRegister { address, and_mask, or_mask } => {
                    o.insert(
                        "write".into(),
                        json!({"address": address, "and_mask": and_mask, "or_mask": or_mask}),
                    );
                }
                Response::Diagnostics { sub_function, data } => {
                    o.insert(
                        "diagnostic".into(),
                        json!({"raw": sub_function.code(), "code": diagnostic_name(sub_function), "data": hex(data)}),
                    );
                }
                Response::CanOpen { data } => {
                    let t = mb::codes::mei::CANOPEN_GENERAL_REFERENCE;
                    o.insert("mei".into(), json!({"raw": t, "code": mei_name(t), "data": hex(data)}));
                }
                Response::ReadDeviceId {
                    read_device_id_code,
                    conformity_level,
                    more_follows,
                    next_object_id,
                    number_of_objects,
                    objects,
                } => {
                    let t = mb::codes::mei::READ_DEVICE_IDENTIFICATION;
                    o.insert("mei".into(), json!({"raw": t, "code": mei_name(t), "data": after_fc(pdu, 1)}));
                    let objs: Vec<Json> = objects
                        .iter()
                        .map(|ob| json!({"id": ob.id, "value": String::from_utf8_lossy(ob.value)}))
                        .collect();
                    o.insert(
                        "device_id".into(),
                        json!({
                            "read_device_id_code": read_device_id_code,
                            "conformity_level": conformity_level,
                            "more_follows": more_follows,
                            "next_object_id": next_object_id,
                            "number_of_objects": number_of_objects,
                            "objects": objs,
                        }),
                    );
                }
                Response::Mei { mei_type, data } => {
                    o.insert(
                        "mei".into(),
                        json!({"raw": mei_type, "code": mei_name(mei_type), "data": hex(data)}),
                    );
                }
                _ => {
                    o.insert("data".into(), json!(after_fc(pdu, 0)));
                }
            }
            if let Some(values) = req.and_then(|q| pdu.values_with_addresses(q)) {
                o.insert("values".into(), values_json(values));
            }
        }
    }

    /// xorshift64*: deterministic test input.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        fn byte(&mut self) -> u8 {
            self.next() as u8
        }
    }

    /// Function codes worth covering: every public one, user-defined,
    /// reserved, unassigned.
    const FCS: &[u8] =
        &[1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 15, 16, 17, 20, 21, 22, 23, 24, 43, 0, 9, 65, 90, 100, 125, 127];

    /// A random PDU of function `fc`: random bytes, half the time with a
    /// consistent byte count, FC 43 with a MEI type of 13, 14 or random,
    /// sometimes the exception bit.
    fn random_pdu(r: &mut Rng, fc: u8, dir: mb::Direction) -> Vec<u8> {
        let len = if r.below(8) == 0 { r.below(253) } else { r.below(24) } as usize;
        let mut b: Vec<u8> = (0..len).map(|_| r.byte()).collect();
        let fc = if r.below(10) == 0 { fc | 0x80 } else { fc };
        b.insert(0, fc);
        if fc == 43 && b.len() > 1 {
            b[1] = [13, 14, 14, r.byte()][r.below(4) as usize];
        }
        if dir == mb::Direction::Response && r.below(2) == 0 && b.len() > 1 {
            // Consistent byte count for the read-style responses.
            b[1] = (b.len() - 2) as u8;
        }
        if dir == mb::Direction::Request && r.below(3) == 0 && b.len() >= 5 && fc <= 4 {
            // A small quantity, so the read request is valid.
            b[3] = 0;
            b[4] = 1 + r.below(40) as u8;
        }
        b
    }

    /// A valid read request of `fc` (1–4) for `quantity` at `address`.
    fn read_request(fc: u8, address: u16, quantity: u16) -> Vec<u8> {
        let [a0, a1] = address.to_be_bytes();
        let [q0, q1] = quantity.to_be_bytes();
        vec![fc, a0, a1, q0, q1]
    }

    /// Serialise both builders and compare the text; returns the keys of
    /// the typed record's object.
    fn same(pdu: &Pdu<'_>, flags: Flags, req: Option<&RequestSummary>, keys: &mut BTreeSet<String>) {
        let rec = pdu_record(7, 0, 9, pdu, flags, req);
        let typed = serde_json::to_string(&rec).unwrap();
        let old = serde_json::to_string(&oracle::pdu_json(7, 0, 9, pdu, flags, req)).unwrap();
        assert_eq!(typed, old, "pdu {:02x?}", pdu.as_bytes());
        // The hot path: written straight into the per-thread buffer.
        assert_eq!(RawJson::from_writer(|w| rec.write(w)).unwrap().get(), old);
        if let Ok(Json::Object(m)) = serde_json::from_str::<Json>(&typed) {
            keys.extend(m.keys().cloned());
        }
    }

    #[test]
    fn plain_pdu_heads_come_from_the_cache_and_others_are_written() {
        for b in 0..=u8::MAX {
            let f = FunctionCode::from_u8(b);
            let mut r = PduRecord { protocol_id: 3, transaction_id: 4, unit_id: 5, ..PduRecord::plain(b) };
            let head = RawJson::from_writer(|w| r.write_head(w).map(|()| w.raw("}"))).unwrap();
            let cached = PduHead::cached(&r).expect("a plain head is cached");
            assert_eq!(format!("{}}}", std::str::from_utf8(cached).unwrap()), head.get(), "function {b}");
            r.fifo = Some(FifoRecord { address: 1 });
            assert!(PduHead::cached(&r).is_none());
            r.fifo = None;
            r.anomalies = FlagNames(Flags::from_bits(1));
            r.error_flags = error_flags(Flags::from_bits(1));
            assert!(PduHead::cached(&r).is_none(), "anomalies are written, not cached");
            r.anomalies = FlagNames(Flags::EMPTY);
            // A record whose function name is not the one its byte gives
            // (an exception response names its base function) is written.
            r.function_code = function_name(FunctionCode::from_u8(b.wrapping_add(1)));
            r.error_flags = error_flags(Flags::EMPTY);
            if r.function_code != function_name(f) {
                assert!(PduHead::cached(&r).is_none(), "function {b}");
            }
        }
    }

    #[test]
    fn typed_pdu_records_equal_the_map_builder() {
        let mut r = Rng(0x9E37_79B9_7F4A_7C15);
        let mut keys = BTreeSet::new();
        let mut with_values = 0;
        for i in 0..10_000u32 {
            let fc = FCS[r.below(FCS.len() as u64) as usize];
            // A request of this function (for the response's addresses).
            let req_bytes = if (1..=4).contains(&fc) && r.below(2) == 0 {
                read_request(fc, r.next() as u16, 1 + r.below(200) as u16)
            } else {
                random_pdu(&mut r, fc, mb::Direction::Request)
            };
            let Ok(req) = Pdu::parse(&req_bytes, mb::Direction::Request) else { continue };
            same(&req, req.flags, None, &mut keys);
            let summary = req.summary(i as u16, 1);
            let rsp_bytes = random_pdu(&mut r, fc, mb::Direction::Response);
            let Ok(rsp) = Pdu::parse(&rsp_bytes, mb::Direction::Response) else { continue };
            let extra = summary.map(|s| rsp.check_response(&s)).unwrap_or(Flags::EMPTY);
            same(&rsp, rsp.flags | extra, summary.as_ref(), &mut keys);
            same(&rsp, rsp.flags, None, &mut keys);
            if summary.is_some_and(|s| rsp.values_with_addresses(&s).is_some_and(|mut v| v.next().is_some()))
            {
                with_values += 1;
            }
        }
        // Crafted: device identification with objects (valid and invalid
        // UTF-8), long multiple writes, a maximal coil read.
        let crafted: [(&[u8], mb::Direction); 5] = [
            (&[43, 14, 1, 0], mb::Direction::Request),
            (
                &[43, 14, 1, 0x81, 0, 0, 3, 0, 3, b'a', b'"', b'\\', 1, 2, 0xff, 0xfe, 2, 1, 0x7f],
                mb::Direction::Response,
            ),
            (&[15, 0, 10, 0, 16, 2, 0xa5, 0x5a], mb::Direction::Request),
            (&[16, 0xff, 0xfe, 0, 3, 6, 0, 1, 0, 2, 0, 3], mb::Direction::Request),
            (&[23, 0, 1, 0, 2, 0, 3, 0, 1, 2, 0xab, 0xcd], mb::Direction::Request),
        ];
        for (bytes, dir) in crafted {
            let pdu = Pdu::parse(bytes, dir).unwrap();
            same(&pdu, pdu.flags, None, &mut keys);
        }
        let coils: Vec<u8> = [1u8, 250].into_iter().chain((0..250).map(|k| k as u8)).collect();
        let rsp = Pdu::parse(&coils, mb::Direction::Response).unwrap();
        let req_bytes = read_request(1, 100, 2000);
        let req = Pdu::parse(&req_bytes, mb::Direction::Request).unwrap();
        let summary = req.summary(1, 1).unwrap();
        same(&rsp, rsp.flags, Some(&summary), &mut keys);

        let all: BTreeSet<String> = [
            "access_type",
            "anomalies",
            "category",
            "data",
            "device_id",
            "diagnostic",
            "error_flags",
            "exception",
            "fifo",
            "function_code",
            "function_raw",
            "mei",
            "protocol_id",
            "read",
            "transaction_id",
            "unit_id",
            "values",
            "write",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        assert_eq!(keys, all, "every key exercised");
        assert!(with_values > 250, "responses with addressed values: {with_values}");
    }

    #[test]
    fn typed_records_equal_the_map_builder() {
        let req_bytes = read_request(3, 40001, 2);
        let req = Pdu::parse(&req_bytes, mb::Direction::Request).unwrap();
        let rsp_bytes = [3, 4, 0, 7, 0xff, 0xff];
        let rsp = Pdu::parse(&rsp_bytes, mb::Direction::Response).unwrap();
        let summary = req.summary(5, 1).unwrap();
        for (with_req, with_rsp, suppressed, unanswered, transport) in [
            (true, true, 0, false, Transport::Tcp),
            (true, true, 12, false, Transport::Udp),
            (false, true, 0, false, Transport::RtuOverTcp),
            (true, false, 0, true, Transport::Tcp),
            (true, false, 3, true, Transport::Tcp),
            (true, false, 0, false, Transport::Udp),
        ] {
            let typed = ModbusRecord {
                id: 42,
                request: with_req.then(|| pdu_record(5, 0, 1, &req, req.flags, None)),
                response: with_rsp.then(|| pdu_record(5, 0, 1, &rsp, rsp.flags, Some(&summary))),
                suppressed,
                transport: transport.as_str(),
                unanswered,
            };
            let old = oracle::record(
                42,
                transport.as_str(),
                with_req.then(|| oracle::pdu_json(5, 0, 1, &req, req.flags, None)),
                with_rsp.then(|| oracle::pdu_json(5, 0, 1, &rsp, rsp.flags, Some(&summary))),
                suppressed,
                unanswered,
            );
            let want = serde_json::to_string(&old).unwrap();
            assert_eq!(RawJson::from_serialize(&typed).unwrap().get(), want);
            assert_eq!(RawJson::from_writer(|w| typed.write(w)).unwrap().get(), want);
        }
    }

    #[test]
    fn hex_writes_lower_case_on_the_stack_and_beyond() {
        let short = [0x00, 0xab, 0x10, 0xff];
        assert_eq!(serde_json::to_string(&Hex(&short)).unwrap(), "\"00ab10ff\"");
        assert_eq!(serde_json::to_string(&Hex(&[])).unwrap(), "\"\"");
        for n in [HEX_SMALL, HEX_SMALL + 1, HEX_STACK - 1, HEX_STACK, HEX_STACK + 1, 3 * HEX_STACK + 7] {
            let bytes: Vec<u8> = (0..n).map(|k| (k * 7) as u8).collect();
            let want: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(serde_json::to_string(&Hex(&bytes)).unwrap(), format!("\"{want}\""), "{n} bytes");
            assert_eq!(Hex(&bytes).to_string(), want);
        }
    }

    /// Every name the tables written with `JsonWriter::plain` can return
    /// needs no JSON escaping.
    #[test]
    fn plain_name_tables_need_no_escaping() {
        let plain = |s: &str| assert_eq!(serde_json::to_string(s).unwrap(), format!("\"{s}\""), "{s:?}");
        for code in 0..=255u8 {
            let f = FunctionCode::from_u8(code);
            plain(function_name(f));
            plain(access_type(f));
            plain(category(f));
            plain(exception_name(ExceptionCode::from_u8(code)));
        }
        for bits in 0..(1u32 << 16) {
            plain(error_flags(Flags::from_bits(bits)));
        }
        for t in [Transport::Tcp, Transport::Udp, Transport::RtuOverTcp] {
            plain(t.as_str());
        }
    }

    #[test]
    fn error_flags_table_matches_the_joined_names() {
        let classes = [
            (Flags::UNKNOWN_FUNCTION, "FUNC_CODE"),
            (Flags::ADDRESS_OVERFLOW, "DATA_VALUE"),
            (Flags::BYTE_COUNT_MISMATCH, "DATA_LENGTH"),
            (Flags::INVALID_EXCEPTION_CODE, "EXC_CODE"),
        ];
        for mask in 0..16usize {
            let mut f = Flags::EMPTY;
            let mut parts = Vec::new();
            for (bit, (flag, name)) in classes.iter().enumerate() {
                if mask & (1 << bit) != 0 {
                    f |= *flag;
                    parts.push(*name);
                }
            }
            let want = if parts.is_empty() { "NONE".to_string() } else { parts.join(" | ") };
            assert_eq!(error_flags(f), want);
        }
        // Flags outside the four classes do not show.
        assert_eq!(error_flags(Flags::INVALID_PROTOCOL_ID | Flags::RESPONSE_MISMATCH), "NONE");
    }

    /// The hand-written `values` text against serde's `collect_seq` over
    /// the derived `AddressedValue` (serde_json and the sensor's serializer),
    /// for registers and bits, empty, short, the protocol maxima, wrapping
    /// at address 0xFFFF, and re-entrant use of the scratch.
    #[test]
    fn values_text_equals_the_derived_serialisation() {
        use centinela_parsers::modbus::{Bits, Registers};
        /// The derived shape the hand-written text replaced.
        #[derive(Serialize)]
        struct AddressedValue {
            address: u16,
            value: ValueRecord,
        }
        struct ValueRecord(Value);
        impl Serialize for ValueRecord {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self.0 {
                    Value::Bit(b) => s.serialize_bool(b),
                    Value::Register(r) => s.serialize_u16(r),
                }
            }
        }
        struct Generic<'a>(AddressedValues<'a>);
        impl Serialize for Generic<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(
                    self.0
                        .clone()
                        .map(|(address, value)| AddressedValue { address, value: ValueRecord(value) }),
                )
            }
        }
        let bytes: Vec<u8> = (0..500u32).map(|i| (i.wrapping_mul(0x9E37_79B9) >> 13) as u8).collect();
        let mut shapes: Vec<AddressedValues<'_>> = Vec::new();
        for address in [0u16, 1, 9, 10, 99, 100, 65_000, 65_530, 0xFFFF] {
            for n in [0usize, 1, 2, 7, 16, 125, 250] {
                shapes
                    .push(AddressedValues::registers(address, Registers::new(&bytes[..n.min(bytes.len())])));
            }
            for nbits in [0usize, 1, 8, 9, 32, 2000] {
                let b = Bits::new(&bytes[..nbits.div_ceil(8)]).with_len(nbits);
                shapes.push(AddressedValues::bits(address, b));
            }
        }
        // Every digit count at its edges, at addresses of every width.
        let edges: Vec<u8> =
            [0u16, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 1001, 9999, 10_000, 10_001, 65_535]
                .iter()
                .flat_map(|v| v.to_be_bytes())
                .collect();
        for address in [0u16, 5, 95, 995, 9995, 65_520] {
            shapes.push(AddressedValues::registers(address, Registers::new(&edges)));
        }
        for v in shapes {
            let want = serde_json::to_string(&Generic(v.clone())).unwrap();
            assert_eq!(serde_json::to_string(&Values(v.clone())).unwrap(), want);
            assert_eq!(RawJson::from_serialize(&Values(v.clone())).unwrap().get(), want);
            let hot = RawJson::from_writer(|w| {
                write_values(w, v.clone());
                Ok(())
            });
            assert_eq!(hot.unwrap().get(), want);
            let pair = RawJson::from_serialize(&[Values(v.clone()), Values(v)]).unwrap();
            assert_eq!(pair.get(), format!("[{want},{want}]"));
        }
    }
}
