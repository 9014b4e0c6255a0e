//! DNP3 per-flow state: link framing (TCP stream framer behind a leftover
//! buffer, or the frames of each UDP datagram), one transport assembler per
//! direction (`[app.dnp3] reassembly_max`, default 2048 bytes), application
//! fragments, and the `dnp3` record (Suricata 8's EVE shape plus additions).
//!
//! One record per application message, as Suricata logs them. Requests wait
//! in a bounded pending queue (`[app.dnp3] max_pending`, default 32; full →
//! `dnp3.flooded`, the oldest is dropped and counted unanswered); a solicited
//! response is paired with the pending request of the same application
//! sequence between the same two link addresses and carries that request's
//! summary under `request`. Unsolicited responses are `type:
//! unsolicited_response`. An OPERATE is checked against the last SELECT
//! between the same stations (same objects, next sequence) and carries
//! `select_operate`; an OPERATE without its SELECT raises
//! `dnp3.operate_without_select`.
//!
//! Point values come from the parser's typed values: signed analogs stay
//! signed, floats are floats (Suricata prints −5 as 18446744073709551611).

use crate::detect::Probe;
use crate::dnp3_record::{
    Application, Dnp3Record, FlagNames, IinRecord, ObjSummary, Objects, Request, RequestApplication,
    SelectOperate, Summaries, range_fields,
};
use crate::limit::KeyHasher;
use crate::record::Sink;
use crate::streambuf::{DirStream, StreamEvent};
use crate::{AppConfig, Direction, L4};
use centinela_events::Timestamp;
use centinela_parsers::dnp3::app::{self, Fragment, FunctionCode};
use centinela_parsers::dnp3::{Flags, link, transport};
use serde_json::json;
use std::collections::VecDeque;

/// Points logged per `dnp3` record (further points are counted in the
/// object's `points_truncated`).
pub const DNP3_MAX_POINTS_PER_RECORD: usize = 1024;
/// Leftover buffer cap per direction for DNP3 over TCP: a whole link frame
/// (292 bytes) with room to spare.
pub const DNP3_LEFTOVER_CAP: usize = 512;
/// Object headers remembered per pending request (for the paired summary).
pub const DNP3_PENDING_OBJECTS: usize = 8;

/// A pending request (compact, `Copy`, no allocation).
#[derive(Debug, Clone, Copy)]
struct PendingReq {
    master: u16,
    outstation: u16,
    seq: u8,
    function: u8,
    app_control: u8,
    objects: [Option<ObjSummary>; DNP3_PENDING_OBJECTS],
    more_objects: usize,
}

/// The last SELECT between two stations.
#[derive(Debug, Clone, Copy)]
struct LastSelect {
    master: u16,
    outstation: u16,
    seq: u8,
    objects_hash: u64,
    ts: Timestamp,
}

/// Per-direction decode state (everything but the stream framer). The
/// transport assembler (and its buffer) is created only when a direction
/// sends its first multi-segment fragment: single-segment fragments (FIR and
/// FIN, the common case) are parsed straight from the link frame's data.
#[derive(Debug)]
struct DirDecode {
    asm: Option<transport::Assembler>,
    capacity: usize,
}

/// Pairing state of the flow.
#[derive(Debug)]
struct Txs {
    max_pending: usize,
    pending: VecDeque<PendingReq>,
    last_select: Option<LastSelect>,
    l4: L4,
}

/// Per-flow DNP3 state.
#[derive(Debug)]
pub(crate) struct Dnp3State {
    framers: [link::Framer; 2],
    streams: [DirStream<link::Error>; 2],
    decode: [DirDecode; 2],
    txs: Txs,
}

fn idx(dir: Direction) -> usize {
    match dir {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

/// Probe for `detect_protocol`: the link sync and a valid header CRC.
pub(crate) fn probe(_l4: L4, _dir: Direction, payload: &[u8]) -> Probe {
    match payload {
        [] | [0x05] => Probe::NeedMore,
        [0x05, 0x64, ..] => match link::Header::parse(payload) {
            Ok(_) => Probe::Yes(95),
            Err(link::Error::Incomplete { .. }) => Probe::NeedMore,
            Err(_) => Probe::No,
        },
        _ => Probe::No,
    }
}

impl Dnp3State {
    pub(crate) fn new(l4: L4, cfg: &AppConfig) -> Self {
        let dd = || DirDecode { asm: None, capacity: cfg.dnp3.reassembly_max };
        Self {
            framers: [link::Framer::new(), link::Framer::new()],
            streams: [DirStream::new(DNP3_LEFTOVER_CAP), DirStream::new(DNP3_LEFTOVER_CAP)],
            decode: [dd(), dd()],
            txs: Txs {
                max_pending: cfg.dnp3.max_pending.max(1),
                pending: VecDeque::new(),
                last_select: None,
                l4,
            },
        }
    }

    pub(crate) fn memory(&self) -> usize {
        self.streams.iter().map(DirStream::memory).sum::<usize>()
            + self
                .decode
                .iter()
                .map(|d| d.asm.as_ref().map_or(0, transport::Assembler::capacity))
                .sum::<usize>()
            + self.txs.pending.capacity() * core::mem::size_of::<PendingReq>()
    }

    pub(crate) fn on_stream(&mut self, dir: Direction, data: &[u8], sink: &mut Sink<'_>) {
        let i = idx(dir);
        let (decode, txs) = (&mut self.decode[i], &mut self.txs);
        self.streams[i].feed(&mut self.framers[i], data, &mut |ev| stream_event(dir, ev, decode, txs, sink));
    }

    pub(crate) fn on_gap(&mut self, dir: Direction, _lost: u64, sink: &mut Sink<'_>) {
        let i = idx(dir);
        let (decode, txs) = (&mut self.decode[i], &mut self.txs);
        self.streams[i].gap(&mut self.framers[i], &mut |ev| stream_event(dir, ev, decode, txs, sink));
        if let Some(a) = self.decode[i].asm.as_mut() {
            a.reset();
        }
    }

    pub(crate) fn on_datagram(&mut self, dir: Direction, payload: &[u8], sink: &mut Sink<'_>) {
        let i = idx(dir);
        for item in link::frames(payload) {
            match item {
                Ok(frame) => {
                    let mut buf = [0u8; link::MAX_USER_DATA];
                    let user = frame.copy_user_data(&mut buf);
                    link_frame(dir, frame.header(), user, &mut self.decode[i], &mut self.txs, sink);
                }
                Err(link::Error::Incomplete { .. }) => {
                    sink.anomaly(dir, "dnp3.truncated_frame", || Some(json!({"bytes": payload.len()})));
                }
                Err(e) => link_error(dir, e, 0, sink),
            }
        }
    }

    pub(crate) fn on_close(&mut self, sink: &mut Sink<'_>) {
        for (i, dir) in [(0, Direction::ToServer), (1, Direction::ToClient)] {
            let (decode, txs) = (&mut self.decode[i], &mut self.txs);
            self.streams[i].flush(&mut |ev| stream_event(dir, ev, decode, txs, sink));
        }
        sink.out.stats.dnp3.txs_unanswered += self.txs.pending.len() as u64;
        self.txs.pending.clear();
    }
}

fn stream_event(
    dir: Direction,
    ev: StreamEvent<'_, link::Error>,
    d: &mut DirDecode,
    txs: &mut Txs,
    sink: &mut Sink<'_>,
) {
    match ev {
        StreamEvent::Frame(frame) => match link::Frame::parse(frame, &mut [0u8; link::MAX_USER_DATA]) {
            Ok((header, user)) => link_frame(dir, header, user, d, txs, sink),
            Err(e) => link_error(dir, e, frame.len() as u64, sink),
        },
        StreamEvent::Discarded { bytes, error } => link_error(dir, error, bytes, sink),
        StreamEvent::Overflow { bytes } => {
            sink.out.stats.dnp3.leftover_overflows += 1;
            sink.anomaly(dir, "dnp3.reassembly_overflow", || {
                Some(json!({"bytes": bytes, "cap": DNP3_LEFTOVER_CAP}))
            });
        }
        StreamEvent::Stalled { bytes } => {
            sink.anomaly(dir, "dnp3.framer_stalled", || Some(json!({"bytes": bytes})));
        }
    }
}

fn link_error(dir: Direction, e: link::Error, bytes: u64, sink: &mut Sink<'_>) {
    sink.out.stats.dnp3.bytes_discarded += bytes;
    let name = match e {
        link::Error::BadHeaderCrc => "dnp3.bad_header_crc",
        link::Error::BadBodyCrc { .. } => "dnp3.bad_body_crc",
        link::Error::BadLength { .. } => "dnp3.bad_link_length",
        link::Error::Incomplete { .. } => "dnp3.truncated_frame",
        _ => "dnp3.link_garbage",
    };
    sink.anomaly(dir, name, || Some(json!({"bytes": bytes})));
}

/// `dnp3.<flag>` for every parser flag name (stable, `&'static`).
fn flag_anomaly(name: &str) -> &'static str {
    match name {
        "bad_header_crc" => "dnp3.bad_header_crc",
        "bad_body_crc" => "dnp3.bad_body_crc",
        "bad_link_length" => "dnp3.bad_link_length",
        "link_garbage" => "dnp3.link_garbage",
        "transport_out_of_sequence" => "dnp3.transport_out_of_sequence",
        "transport_missing_fir" => "dnp3.transport_missing_fir",
        "transport_overflow" => "dnp3.transport_overflow",
        "unknown_object" => "dnp3.unknown_object",
        "bad_qualifier" => "dnp3.bad_qualifier",
        "truncated_object" => "dnp3.truncated_object",
        "bad_range" => "dnp3.bad_range",
        "unexpected_iin" => "dnp3.unexpected_iin",
        "bad_uns" => "dnp3.bad_uns",
        "bad_fir_fin" => "dnp3.bad_fir_fin",
        "unknown_function" => "dnp3.unknown_function",
        "unexpected_objects" => "dnp3.unexpected_objects",
        "too_many_objects" => "dnp3.too_many_objects",
        "request_from_outstation" => "dnp3.request_from_outstation",
        "iin_reserved_bits" => "dnp3.iin_reserved_bits",
        _ => "dnp3.other_flag",
    }
}

fn link_frame(
    dir: Direction,
    header: link::Header,
    user: &[u8],
    d: &mut DirDecode,
    txs: &mut Txs,
    sink: &mut Sink<'_>,
) {
    sink.out.stats.dnp3.pdus += 1;
    if user.is_empty() {
        // Link-layer service frames (reset, status, ACK): no application data.
        return;
    }
    // A single-segment fragment with nothing in progress: no buffer needed.
    if let Ok((th, data)) = transport::Header::parse(user)
        && th.fir
        && th.fin
        && !d.asm.as_ref().is_some_and(transport::Assembler::in_progress)
    {
        if data.len() > d.capacity {
            sink.anomaly(dir, "dnp3.transport_overflow", || {
                Some(json!({"src": header.source, "dst": header.destination}))
            });
            return;
        }
        app_fragment(dir, &header, data, txs, sink);
        return;
    }
    let asm = d.asm.get_or_insert_with(|| transport::Assembler::new(d.capacity));
    match asm.push(user) {
        Ok(Some(fragment)) => app_fragment(dir, &header, fragment, txs, sink),
        Ok(None) => {}
        Err(transport::Error::Incomplete { .. }) => {}
        Err(e) => {
            for name in e.flag().names() {
                sink.anomaly(dir, flag_anomaly(name), || {
                    Some(json!({"src": header.source, "dst": header.destination}))
                });
            }
        }
    }
}

fn objects_hash(tag: u8, frag: &Fragment<'_>, with_values: bool) -> u64 {
    let mut h = KeyHasher::new(tag);
    if with_values {
        // The object area only (SELECT and OPERATE must carry the same).
        let raw = frag.as_bytes();
        let skip = if frag.iin.is_some() { 4 } else { 2 };
        h.bytes(raw.get(skip..).unwrap_or_default());
    } else {
        h.byte(frag.function.to_u8());
        for o in frag.objects() {
            h.byte(o.group);
            h.byte(o.variation);
            h.byte(o.qualifier.raw());
            let (a, b, c) = range_fields(o.range);
            h.bytes(&a.to_be_bytes());
            h.bytes(&b.to_be_bytes());
            h.bytes(&c.to_be_bytes());
        }
    }
    h.finish()
}

/// Functions whose requests are always logged (control, configuration,
/// restarts, files, authentication): everything but READ and CONFIRM.
fn always_log(f: FunctionCode) -> bool {
    !matches!(
        f,
        FunctionCode::Read
            | FunctionCode::Confirm
            | FunctionCode::Response
            | FunctionCode::UnsolicitedResponse
    )
}

/// Requests that expect an application response.
fn expects_response(f: FunctionCode) -> bool {
    f.is_request()
        && !matches!(
            f,
            FunctionCode::Confirm
                | FunctionCode::DirectOperateNoResponse
                | FunctionCode::ImmediateFreezeNoResponse
                | FunctionCode::FreezeClearNoResponse
                | FunctionCode::FreezeAtTimeNoResponse
                | FunctionCode::AuthenticateRequestNoAck
        )
}

fn app_fragment(dir: Direction, link_hdr: &link::Header, bytes: &[u8], txs: &mut Txs, sink: &mut Sink<'_>) {
    sink.out.stats.dnp3.messages += 1;
    let Ok(frag) = Fragment::parse(bytes) else {
        sink.anomaly(dir, "dnp3.truncated_fragment", || Some(json!({"bytes": bytes.len()})));
        return;
    };
    let flags: Flags = frag.flags | frag.check(Some(link_hdr.control.dir));
    if !flags.is_empty() {
        for name in flags.names() {
            sink.anomaly(
                dir,
                flag_anomaly(name),
                || Some(json!({"src": link_hdr.source, "dst": link_hdr.destination, "function_code": frag.function.to_u8()})),
            );
        }
    }
    let seq = frag.control.seq;
    // Additions, kept compact until the record is known to be logged.
    let mut paired: Option<PendingReq> = None;
    let mut continuation = false;
    let mut unmatched = false;
    let mut select_operate: Option<SelectOperate> = None;
    let kind = match frag.function {
        FunctionCode::UnsolicitedResponse => {
            sink.out.stats.dnp3.txs_unmatched += 1;
            "unsolicited_response"
        }
        f if f.is_response() => {
            let pos = txs.pending.iter().position(|p| {
                p.seq == seq && p.master == link_hdr.destination && p.outstation == link_hdr.source
            });
            match pos.and_then(|i| txs.pending.remove(i)) {
                Some(req) => {
                    sink.out.stats.dnp3.txs_paired += 1;
                    paired = Some(req);
                }
                None if !frag.control.fir => {
                    // A later fragment of a multi-fragment response.
                    continuation = true;
                }
                None => {
                    sink.out.stats.dnp3.txs_unmatched += 1;
                    unmatched = true;
                }
            }
            "response"
        }
        f => {
            if f == FunctionCode::Select {
                txs.last_select = Some(LastSelect {
                    master: link_hdr.source,
                    outstation: link_hdr.destination,
                    seq,
                    objects_hash: objects_hash(4, &frag, true),
                    ts: sink.pkt.ts,
                });
            } else if f == FunctionCode::Operate {
                let h = objects_hash(4, &frag, true);
                let sel = txs
                    .last_select
                    .filter(|s| s.master == link_hdr.source && s.outstation == link_hdr.destination);
                let v = match sel {
                    Some(s) if s.objects_hash == h && (s.seq + 1) & 0x0f == seq => {
                        txs.last_select = None;
                        SelectOperate {
                            elapsed_ms: Some(
                                sink.pkt.ts.as_nanos().saturating_sub(s.ts.as_nanos()) / 1_000_000,
                            ),
                            matched: true,
                            reason: None,
                            select_sequence: Some(s.seq),
                        }
                    }
                    Some(s) => SelectOperate {
                        elapsed_ms: None,
                        matched: false,
                        reason: Some(if s.objects_hash != h { "objects_differ" } else { "sequence" }),
                        select_sequence: Some(s.seq),
                    },
                    None => SelectOperate {
                        elapsed_ms: None,
                        matched: false,
                        reason: Some("no_select"),
                        select_sequence: None,
                    },
                };
                if !v.matched {
                    sink.anomaly(dir, "dnp3.operate_without_select", || serde_json::to_value(v).ok());
                }
                select_operate = Some(v);
            }
            if expects_response(f) {
                if txs.pending.len() >= txs.max_pending {
                    sink.out.stats.dnp3.floods += 1;
                    sink.out.stats.dnp3.txs_unanswered += 1;
                    sink.anomaly(dir, "dnp3.flooded", || Some(json!({"max_pending": txs.max_pending})));
                    txs.pending.pop_front();
                }
                let mut objects = [None; DNP3_PENDING_OBJECTS];
                let mut more_objects = 0;
                for (i, o) in frag.objects().enumerate() {
                    match objects.get_mut(i) {
                        Some(slot) => {
                            *slot = Some(ObjSummary {
                                group: o.group,
                                variation: o.variation,
                                qualifier: o.qualifier.raw(),
                                range: o.range,
                            });
                        }
                        None => more_objects += 1,
                    }
                }
                txs.pending.push_back(PendingReq {
                    master: link_hdr.source,
                    outstation: link_hdr.destination,
                    seq,
                    function: f.to_u8(),
                    app_control: frag.control.to_u8(),
                    objects,
                    more_objects,
                });
            }
            "request"
        }
    };
    // Rate limit repetitive polls and their responses; control functions,
    // unmatched responses and flagged messages are always logged.
    let bypass = !flags.is_empty() || always_log(frag.function) || unmatched;
    let mut k = KeyHasher::new(2);
    k.u16(link_hdr.source);
    k.u16(link_hdr.destination);
    if let Some(iin) = frag.iin {
        k.u16(iin.bits());
    }
    k.bytes(&objects_hash(5, &frag, false).to_be_bytes());
    let Some(suppressed) = sink.rate(k.finish(), bypass) else {
        return;
    };
    let objects = frag.objects();
    let request = paired.as_ref().map(|req| Request {
        application: RequestApplication {
            control: app::Control::from_u8(req.app_control).into(),
            function: FunctionCode::from_u8(req.function).name(),
            function_code: req.function,
            objects: Summaries(&req.objects),
            objects_truncated: req.more_objects as u64,
        },
        dst: req.outstation,
        src: req.master,
    });
    let rec = Dnp3Record {
        anomalies: FlagNames(flags),
        application: Application {
            complete: frag.complete(),
            control: frag.control.into(),
            function: frag.function.name(),
            function_code: frag.function.to_u8(),
            objects: Objects(objects),
        },
        continuation,
        control: link_hdr.control.into(),
        dst: link_hdr.destination,
        id: sink.next_tx(),
        iin: frag.iin.and_then(IinRecord::new),
        request,
        select_operate,
        src: link_hdr.source,
        suppressed,
        transport: if txs.l4 == L4::Udp { "udp" } else { "tcp" },
        kind,
        unmatched,
    };
    sink.record_written(dir, |w| {
        rec.write(w);
        Ok(())
    });
}
