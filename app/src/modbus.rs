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
use crate::record::{Sink, hex};
use crate::streambuf::{DirStream, StreamEvent};
use crate::{AppConfig, Direction, L4};
use centinela_events::{EventBody, RawJson};
use centinela_parsers::limits::modbus as lim;
use centinela_parsers::modbus::{
    self as mb, Adu, DiagnosticSubFunction, ExceptionCode, Flags, FunctionCode, MbapFramer, ModbusFraming,
    Pdu, PduBody, Request, RequestSummary, Response, RtuFramer, Value,
};
use serde_json::{Map, Value as Json, json};
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
            transport,
            max_pending: cfg.modbus.max_pending.max(1),
            pending: VecDeque::new(),
            pool: Vec::new(),
        }
    }

    pub(crate) fn memory(&self) -> usize {
        let bufs = match &self.framing {
            Framing::Mbap(_, s) | Framing::Rtu(_, s) => s[0].memory() + s[1].memory(),
            Framing::Undecided | Framing::Datagram => 0,
        };
        let pooled =
            self.pending.iter().filter(|p| matches!(p.bytes, ReqBytes::Pooled(_))).count() + self.pool.len();
        bufs + self.pending.capacity() * core::mem::size_of::<Pending>() + pooled * lim::MAX_PDU_LEN
    }

    fn decide(&mut self, first: &[u8]) {
        if !matches!(self.framing, Framing::Undecided) {
            return;
        }
        let streams = [DirStream::new(MODBUS_LEFTOVER_CAP), DirStream::new(MODBUS_LEFTOVER_CAP)];
        if mb::probe(first) == Some(ModbusFraming::Rtu) {
            self.transport = Transport::RtuOverTcp;
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
        let mut framing = core::mem::replace(&mut self.framing, Framing::Undecided);
        match &mut framing {
            Framing::Mbap(f, s) => {
                s[i].feed(&mut f[i], data, &mut |ev| self.stream_event(dir, ev, sink));
            }
            Framing::Rtu(f, s) => {
                s[i].feed(&mut f[i], data, &mut |ev| self.stream_event(dir, ev, sink));
            }
            Framing::Undecided | Framing::Datagram => {}
        }
        self.framing = framing;
    }

    pub(crate) fn on_gap(&mut self, dir: Direction, _lost: u64, sink: &mut Sink<'_>) {
        let i = idx(dir);
        let mut framing = core::mem::replace(&mut self.framing, Framing::Undecided);
        match &mut framing {
            Framing::Mbap(f, s) => {
                s[i].gap(&mut f[i], &mut |ev| self.stream_event(dir, ev, sink));
            }
            Framing::Rtu(f, s) => {
                s[i].gap(&mut f[i], &mut |ev| self.stream_event(dir, ev, sink));
            }
            Framing::Undecided | Framing::Datagram => {}
        }
        self.framing = framing;
    }

    pub(crate) fn on_datagram(&mut self, dir: Direction, payload: &[u8], sink: &mut Sink<'_>) {
        if payload.is_empty() {
            return;
        }
        if matches!(self.framing, Framing::Datagram) {
            self.frame(dir, payload, sink);
        }
    }

    pub(crate) fn on_close(&mut self, sink: &mut Sink<'_>) {
        let mut framing = core::mem::replace(&mut self.framing, Framing::Undecided);
        if let Framing::Mbap(_, s) | Framing::Rtu(_, s) = &mut framing {
            for (i, dir) in [(0, Direction::ToServer), (1, Direction::ToClient)] {
                s[i].flush(&mut |ev| self.stream_event(dir, ev, sink));
            }
        }
        self.framing = framing;
        while let Some(p) = self.pending.pop_front() {
            self.unanswered(p, sink);
        }
    }

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
        let req_pdu = Pdu::parse(pending.pdu(), mb::Direction::Request);
        let mut m = Map::new();
        m.insert("id".into(), json!(sink.next_tx()));
        m.insert("transport".into(), json!(self.transport.as_str()));
        if let Ok(req) = req_pdu {
            m.insert(
                "request".into(),
                pdu_json(
                    pending.summary.transaction_id,
                    pending.protocol_id,
                    pending.summary.unit_id,
                    &req,
                    req.flags,
                    None,
                ),
            );
        }
        m.insert(
            "response".into(),
            pdu_json(p.transaction_id, p.protocol_id, p.unit_id, &p.pdu, rsp_flags, Some(&pending.summary)),
        );
        if suppressed > 0 {
            m.insert("suppressed".into(), json!(suppressed));
        }
        sink.record(Direction::ToServer, EventBody::Modbus { modbus: RawJson::from_value(&Json::Object(m)) });
    }

    /// A request or response logged without its counterpart.
    fn log_single(&mut self, dir: Direction, p: &Parsed<'_>, sink: &mut Sink<'_>) {
        // Never rate limited: these are anomalous (unmatched) by nature.
        let mut m = Map::new();
        m.insert("id".into(), json!(sink.next_tx()));
        m.insert("transport".into(), json!(self.transport.as_str()));
        let side = if dir == Direction::ToServer { "request" } else { "response" };
        m.insert(side.into(), pdu_json(p.transaction_id, p.protocol_id, p.unit_id, &p.pdu, p.flags, None));
        sink.record(dir, EventBody::Modbus { modbus: RawJson::from_value(&Json::Object(m)) });
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
        let mut m = Map::new();
        m.insert("id".into(), json!(sink.next_tx()));
        m.insert("transport".into(), json!(self.transport.as_str()));
        m.insert(
            "request".into(),
            pdu_json(q.summary.transaction_id, q.protocol_id, q.summary.unit_id, &req, req.flags, None),
        );
        m.insert("unanswered".into(), json!(true));
        if suppressed > 0 {
            m.insert("suppressed".into(), json!(suppressed));
        }
        sink.record(Direction::ToServer, EventBody::Modbus { modbus: RawJson::from_value(&Json::Object(m)) });
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

/// Suricata's `error_flags` string, computed from our (correct) flags.
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

fn values_json(it: impl Iterator<Item = (u16, Value)>) -> Json {
    Json::Array(
        it.map(|(address, v)| match v {
            Value::Bit(b) => json!({"address": address, "value": b}),
            Value::Register(r) => json!({"address": address, "value": r}),
        })
        .collect(),
    )
}

/// The bytes after the function code (and after the MEI type for FC 43).
fn after_fc(pdu: &Pdu<'_>, skip: usize) -> String {
    hex(pdu.as_bytes().get(1 + skip..).unwrap_or_default())
}

/// One side of a transaction in Suricata's shape plus additions
/// (`values`, `anomalies`, decoded MEI device identification).
fn pdu_json(
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
        Request::WriteSingleCoil { address, value } | Request::WriteSingleRegister { address, value } => {
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
            o.insert("write".into(), json!({"address": address, "and_mask": and_mask, "or_mask": or_mask}));
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
            o.insert("mei".into(), json!({"raw": mei_type, "code": mei_name(mei_type), "data": hex(data)}));
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

fn response_fields(o: &mut Map<String, Json>, pdu: &Pdu<'_>, r: Response<'_>, req: Option<&RequestSummary>) {
    match r {
        Response::ReadBits { values, .. } => {
            o.insert("read".into(), json!({"data": hex(values.as_bytes())}));
        }
        Response::ReadRegisters { values, .. } => {
            o.insert("read".into(), json!({"data": hex(values.as_bytes())}));
        }
        Response::WriteSingleCoil { address, value } | Response::WriteSingleRegister { address, value } => {
            o.insert("write".into(), json!({"address": address, "data": value}));
        }
        Response::WriteMultipleCoils { address, quantity }
        | Response::WriteMultipleRegisters { address, quantity } => {
            o.insert("write".into(), json!({"address": address, "data": quantity, "quantity": quantity}));
        }
        Response::MaskWriteRegister { address, and_mask, or_mask } => {
            o.insert("write".into(), json!({"address": address, "and_mask": and_mask, "or_mask": or_mask}));
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
            o.insert("mei".into(), json!({"raw": mei_type, "code": mei_name(mei_type), "data": hex(data)}));
        }
        _ => {
            o.insert("data".into(), json!(after_fc(pdu, 0)));
        }
    }
    if let Some(values) = req.and_then(|q| pdu.values_with_addresses(q)) {
        o.insert("values".into(), values_json(values));
    }
}
