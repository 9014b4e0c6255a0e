//! DNS per-flow state: one `dns` record per query and per response
//! (Suricata 8's EVE "version 3" shape) and one
//! [`DnsObservation`](centinela_detect::DnsObservation) per message for the
//! detectors (never rate limited: detectors see every message).
//!
//! DNS over TCP goes through the parser's two-octet-length framer behind a
//! per-direction leftover buffer of [`DNS_TCP_LEFTOVER_CAP`] bytes.

use crate::detect::Probe;
use crate::limit::KeyHasher;
use crate::record::{Sink, hex};
use crate::streambuf::{DirStream, StreamEvent};
use crate::{Direction, L4};
use centinela_detect::DnsObservation;
use centinela_events::{EventBody, RawJson};
use centinela_parsers::dns::{Message, Name, RData, Record, TcpFramer, TcpFramerError, Type};
use serde_json::{Map, Value as Json, json};
use std::net::IpAddr;

/// Leftover buffer cap per direction for DNS over TCP: the largest message
/// (65 535 bytes) plus its length prefix.
pub const DNS_TCP_LEFTOVER_CAP: usize = 65_537;
/// A/AAAA addresses kept per observation for the detectors.
pub const DNS_MAX_ANSWER_ADDRS: usize = 16;
/// Records logged per section in one `dns` record (more are counted in
/// `<section>_truncated`).
pub const DNS_MAX_RECORDS_PER_SECTION: usize = 64;

/// Both directions of a DNS-over-TCP flow: framers and leftover buffers.
type TcpDirs = ([TcpFramer; 2], [DirStream<TcpFramerError>; 2]);

/// Per-flow DNS state.
#[derive(Debug)]
pub(crate) struct DnsState {
    tcp: Option<Box<TcpDirs>>,
}

fn idx(dir: Direction) -> usize {
    match dir {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

/// Probe for `detect_protocol`: a header with one question that parses
/// without any anomaly (UDP: the datagram; TCP: the length-prefixed message).
pub(crate) fn probe(l4: L4, _dir: Direction, payload: &[u8]) -> Probe {
    let msg = match l4 {
        L4::Udp => payload,
        L4::Tcp => {
            let Some(&[a, b]) = payload.get(..2) else {
                return Probe::NeedMore;
            };
            let len = usize::from(u16::from_be_bytes([a, b]));
            match payload.get(2..2 + len) {
                Some(m) if 2 + len == payload.len() => m,
                Some(_) => return Probe::No,
                None => return if payload.len() < 14 { Probe::NeedMore } else { Probe::No },
            }
        }
    };
    if msg.len() < 12 {
        return if l4 == L4::Udp { Probe::No } else { Probe::NeedMore };
    }
    match Message::parse(msg) {
        Ok(m) => {
            let h = m.header();
            if m.anomalies().is_empty()
                && h.qdcount() == 1
                && m.question().is_some()
                && m.parsed_len() == msg.len()
            {
                Probe::Yes(if m.is_response() { 60 } else { 50 })
            } else {
                Probe::No
            }
        }
        Err(_) => Probe::No,
    }
}

impl DnsState {
    pub(crate) fn new(l4: L4) -> Self {
        let tcp = match l4 {
            L4::Tcp => Some(Box::new((
                [TcpFramer::new(), TcpFramer::new()],
                [DirStream::new(DNS_TCP_LEFTOVER_CAP), DirStream::new(DNS_TCP_LEFTOVER_CAP)],
            ))),
            L4::Udp => None,
        };
        Self { tcp }
    }

    pub(crate) fn memory(&self) -> usize {
        self.tcp.as_ref().map_or(0, |t| t.1[0].memory() + t.1[1].memory())
    }

    pub(crate) fn on_stream(&mut self, dir: Direction, data: &[u8], sink: &mut Sink<'_>) {
        let i = idx(dir);
        if let Some(t) = self.tcp.as_mut() {
            let (f, s) = &mut **t;
            s[i].feed(&mut f[i], data, &mut |ev| stream_event(dir, ev, sink));
        }
    }

    pub(crate) fn on_gap(&mut self, dir: Direction, _lost: u64, sink: &mut Sink<'_>) {
        let i = idx(dir);
        if let Some(t) = self.tcp.as_mut() {
            let (f, s) = &mut **t;
            s[i].gap(&mut f[i], &mut |ev| stream_event(dir, ev, sink));
        }
    }

    pub(crate) fn on_datagram(&mut self, dir: Direction, payload: &[u8], sink: &mut Sink<'_>) {
        if !payload.is_empty() {
            message(dir, payload, sink);
        }
    }

    pub(crate) fn on_close(&mut self, sink: &mut Sink<'_>) {
        if let Some(t) = self.tcp.as_mut() {
            for (i, dir) in [(0, Direction::ToServer), (1, Direction::ToClient)] {
                t.1[i].flush(&mut |ev| stream_event(dir, ev, sink));
            }
        }
    }
}

fn stream_event(dir: Direction, ev: StreamEvent<'_, TcpFramerError>, sink: &mut Sink<'_>) {
    match ev {
        StreamEvent::Frame(m) => message(dir, m, sink),
        StreamEvent::Discarded { bytes, error } => {
            sink.out.stats.dns.bytes_discarded += bytes;
            let name = match error {
                TcpFramerError::TooShort { .. } => "dns.tcp_length_too_short",
                _ => "dns.resync_discard",
            };
            sink.anomaly(dir, name, || Some(json!({"bytes": bytes})));
        }
        StreamEvent::Overflow { bytes } => {
            sink.out.stats.dns.leftover_overflows += 1;
            sink.anomaly(dir, "dns.reassembly_overflow", || {
                Some(json!({"bytes": bytes, "cap": DNS_TCP_LEFTOVER_CAP}))
            });
        }
        StreamEvent::Stalled { bytes } => {
            sink.anomaly(dir, "dns.framer_stalled", || Some(json!({"bytes": bytes})));
        }
    }
}

/// `dns.<flag>` for every parser anomaly name (stable, `&'static`).
fn flag_anomaly(name: &str) -> &'static str {
    match name {
        "truncated" => "dns.truncated",
        "trailing_data" => "dns.trailing_data",
        "name_bad_pointer" => "dns.name_bad_pointer",
        "name_too_long" => "dns.name_too_long",
        "name_too_many_labels" => "dns.name_too_many_labels",
        "name_bad_label_type" => "dns.name_bad_label_type",
        "name_too_many_pointers" => "dns.name_too_many_pointers",
        "rdata_malformed" => "dns.rdata_malformed",
        "z_flag_set" => "dns.z_flag_set",
        "unknown_opcode" => "dns.unknown_opcode",
        "opt_misplaced" => "dns.opt_misplaced",
        "multiple_opt" => "dns.multiple_opt",
        "opt_bad_name" => "dns.opt_bad_name",
        _ => "dns.other_flag",
    }
}

fn name_string(n: &Name<'_>) -> String {
    let mut s = String::with_capacity(n.presentation_len());
    // Writing into a String cannot fail.
    let _ = n.write_to(&mut s);
    s
}

fn type_string(t: Type) -> String {
    t.to_string()
}

/// One DNS message of `dir`'s side.
fn message(dir: Direction, bytes: &[u8], sink: &mut Sink<'_>) {
    let Ok(m) = Message::parse(bytes) else {
        sink.anomaly(dir, "dns.malformed_header", || Some(json!({"bytes": bytes.len()})));
        return;
    };
    sink.out.stats.dns.pdus += 1;
    sink.out.stats.dns.messages += 1;
    let flags = m.anomalies();
    for (_, name) in flags.iter() {
        sink.anomaly(dir, flag_anomaly(name), || Some(json!({"id": m.id()})));
    }
    let q = m.question();
    let qname = q.map(|q| name_string(&q.name)).unwrap_or_default();
    let qtype = q.map_or(0, |q| q.qtype.code());
    let is_response = m.is_response();
    if is_response {
        sink.out.stats.dns.txs_paired += 1;
    }

    // Observation for the detectors (every message).
    let (src, dst) = match dir {
        Direction::ToServer => (sink.flow.client, sink.flow.server),
        Direction::ToClient => (sink.flow.server, sink.flow.client),
    };
    let (client, server) = if is_response { (dst, src) } else { (src, dst) };
    let mut answer_addrs = Vec::new();
    let mut answer_rdata_len = 0u32;
    for r in m.answers() {
        answer_rdata_len = answer_rdata_len.saturating_add(r.rdata().len() as u32);
        if answer_addrs.len() < DNS_MAX_ANSWER_ADDRS {
            match r.data() {
                RData::A(a) => answer_addrs.push(IpAddr::V4(a)),
                RData::Aaaa(a) => answer_addrs.push(IpAddr::V6(a)),
                _ => {}
            }
        }
    }
    sink.out.dns.push(DnsObservation {
        ts: sink.pkt.ts,
        client: client.ip(),
        client_port: client.port(),
        server: server.ip(),
        flow_id: sink.flow.flow_id,
        community_id: sink.flow.community_id.clone(),
        pcap_cnt: sink.pkt.pcap_cnt,
        is_response,
        id: m.id(),
        qname: qname.clone(),
        qtype,
        rcode: if is_response { u8::try_from(m.rcode().code() & 0xff).unwrap_or(u8::MAX) } else { 0 },
        message_len: u16::try_from(bytes.len()).unwrap_or(u16::MAX),
        answer_addrs,
        answer_rdata_len,
        answer_count: m.header().ancount(),
    });

    // The record, rate limited per (type, name, qtype, rcode).
    let mut k = KeyHasher::new(3);
    k.byte(u8::from(is_response));
    k.bytes(qname.to_ascii_lowercase().as_bytes());
    k.u16(qtype);
    k.u16(if is_response { m.rcode().code() } else { 0 });
    let Some(suppressed) = sink.rate(k.finish(), !flags.is_empty()) else {
        return;
    };
    let h = m.header();
    let mut o = Map::new();
    o.insert("version".into(), json!(3));
    o.insert("type".into(), json!(if is_response { "response" } else { "request" }));
    let tx = sink.next_tx().saturating_sub(1);
    o.insert("tx_id".into(), json!(tx));
    o.insert("id".into(), json!(m.id()));
    o.insert("flags".into(), json!(format!("{:x}", h.flags())));
    for (set, key) in [
        (h.is_response(), "qr"),
        (h.authoritative(), "aa"),
        (h.truncated(), "tc"),
        (h.recursion_desired(), "rd"),
        (h.recursion_available(), "ra"),
        (h.z(), "z"),
        (h.authentic_data(), "ad"),
        (h.checking_disabled(), "cd"),
    ] {
        if set {
            o.insert(key.into(), json!(true));
        }
    }
    o.insert("opcode".into(), json!(h.opcode().code()));
    o.insert("rcode".into(), json!(m.rcode().to_string()));
    let queries: Vec<Json> = m
        .questions()
        .take(DNS_MAX_RECORDS_PER_SECTION)
        .map(|q| json!({"rrname": name_string(&q.name), "rrtype": type_string(q.qtype)}))
        .collect();
    if !queries.is_empty() {
        o.insert("queries".into(), Json::Array(queries));
    }
    if is_response {
        let mut grouped: Map<String, Json> = Map::new();
        for (key, recs, group) in [
            ("answers", m.answers(), true),
            ("authorities", m.authorities(), false),
            ("additionals", m.additionals(), false),
        ] {
            let mut arr = Vec::new();
            let mut extra = 0u64;
            for r in recs {
                if arr.len() >= DNS_MAX_RECORDS_PER_SECTION {
                    extra += 1;
                    continue;
                }
                // Suricata writes one entry per TXT character-string.
                if let RData::Txt(strings) = r.data() {
                    for st in strings {
                        let v = json!(String::from_utf8_lossy(st));
                        let mut rec = rr_head(&r);
                        rec.insert("rdata".into(), v.clone());
                        if group
                            && let Json::Array(a) =
                                grouped.entry(type_string(r.rtype)).or_insert_with(|| Json::Array(Vec::new()))
                        {
                            a.push(v);
                        }
                        arr.push(Json::Object(rec));
                    }
                    continue;
                }
                let (rec, simple) = record_json(&r);
                if group
                    && let Some(v) = simple
                    && let Json::Array(a) =
                        grouped.entry(type_string(r.rtype)).or_insert_with(|| Json::Array(Vec::new()))
                {
                    a.push(v);
                }
                arr.push(rec);
            }
            if !arr.is_empty() {
                o.insert(key.into(), Json::Array(arr));
            }
            if extra > 0 {
                o.insert(format!("{key}_truncated"), json!(extra));
            }
        }
        if !grouped.is_empty() {
            o.insert("grouped".into(), Json::Object(grouped));
        }
    }
    if !flags.is_empty() {
        o.insert("anomalies".into(), Json::Array(flags.iter().map(|(_, n)| json!(n)).collect()));
    }
    if suppressed > 0 {
        o.insert("suppressed".into(), json!(suppressed));
    }
    sink.record(dir, EventBody::Dns { dns: RawJson::from_value(&Json::Object(o)) });
}

/// One resource record as Suricata writes it; the second value is the plain
/// rdata for `grouped` (when the type has a simple form).
fn rr_head(r: &Record<'_>) -> Map<String, Json> {
    let mut o = Map::new();
    o.insert("rrname".into(), json!(name_string(&r.name)));
    o.insert("rrtype".into(), json!(type_string(r.rtype)));
    o.insert("ttl".into(), json!(r.ttl));
    o
}

fn record_json(r: &Record<'_>) -> (Json, Option<Json>) {
    let mut o = rr_head(r);
    // SSHFP (RFC 4255), as Suricata: algorithm, type, colon-separated hex.
    if r.rtype.code() == 44
        && let [algo, fp_type, fp @ ..] = r.rdata()
    {
        let fingerprint: Vec<String> = fp.iter().map(|b| format!("{b:02x}")).collect();
        let v = json!({"algo": algo, "type": fp_type, "fingerprint": fingerprint.join(":")});
        o.insert("sshfp".into(), v.clone());
        return (Json::Object(o), Some(v));
    }
    let simple = match r.data() {
        RData::A(a) => Some(json!(a.to_string())),
        RData::Aaaa(a) => Some(json!(a.to_string())),
        RData::Cname(n) | RData::Ns(n) | RData::Ptr(n) => Some(json!(name_string(&n))),
        RData::Mx { exchange, .. } => Some(json!(name_string(&exchange))),
        RData::Txt(strings) => {
            // Not reached for answers (split per string by the caller).
            let parts: Vec<String> = strings.map(|s| String::from_utf8_lossy(s).into_owned()).collect();
            Some(json!(parts.join("")))
        }
        RData::Null(b) | RData::Other(b) | RData::Malformed(b) => Some(json!(hex(b))),
        RData::Srv { priority, weight, port, target } => {
            let v =
                json!({"priority": priority, "weight": weight, "port": port, "name": name_string(&target)});
            o.insert("srv".into(), v);
            None
        }
        RData::Soa(s) => {
            o.insert(
                "soa".into(),
                json!({
                    "mname": name_string(&s.mname),
                    "rname": name_string(&s.rname),
                    "serial": s.serial,
                    "refresh": s.refresh,
                    "retry": s.retry,
                    "expire": s.expire,
                    "minimum": s.minimum,
                }),
            );
            None
        }
        RData::Key(k) => {
            o.insert(
                "key".into(),
                json!({"flags": k.flags, "protocol": k.protocol, "algorithm": k.algorithm, "public_key": hex(k.public_key)}),
            );
            None
        }
        RData::Opt(e) => {
            let opts: Vec<Json> =
                e.options.map(|op| json!({"code": op.code, "data": hex(op.data)})).collect();
            o.insert("opt".into(), Json::Array(opts));
            None
        }
        RData::Svcb(s) => {
            o.insert(
                "svcb".into(),
                json!({"priority": s.priority, "target": name_string(&s.target), "rdata": hex(r.rdata())}),
            );
            None
        }
    };
    if let Some(v) = &simple {
        o.insert("rdata".into(), v.clone());
    }
    (Json::Object(o), simple)
}
