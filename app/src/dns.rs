//! DNS per-flow state: one `dns` record per query and per response
//! (Suricata 8's EVE "version 3" shape) and one
//! [`DnsObservation`] per message for the
//! detectors (never rate limited: detectors see every message).
//!
//! DNS over TCP goes through the parser's two-octet-length framer behind a
//! per-direction leftover buffer of [`DNS_TCP_LEFTOVER_CAP`] bytes.
//!
//! The record body is a typed view over the parsed message (`dns_record`),
//! written straight into the output lines; the first question's name is
//! rendered once, on the stack, for the record, the rate-limit key and the
//! observation, which is written into a reused slot
//! ([`crate::Observations`]): a lookup allocates nothing once warm
//! (`app/tests/alloc.rs`).

use crate::detect::Probe;
use crate::limit::KeyHasher;
use crate::record::Sink;
use crate::streambuf::{DirStream, StreamEvent};
use crate::{Direction, L4};
use centinela_detect::DnsObservation;
use centinela_parsers::dns::{Message, Name, RData, TcpFramer, TcpFramerError, Type};
use dns_record::{DnsRecord, QuestionText, with_name_text};
use serde_json::json;
use std::net::IpAddr;

// The record body lives beside this file; declared here so that the crate
// root stays untouched.
#[path = "dns_record.rs"]
mod dns_record;

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

/// One DNS message of `dir`'s side.
fn message(dir: Direction, bytes: &[u8], sink: &mut Sink<'_>) {
    let Ok(m) = Message::parse(bytes) else {
        sink.anomaly(dir, "dns.malformed_header", || Some(json!({"bytes": bytes.len()})));
        return;
    };
    sink.out.stats.dns.pdus += 1;
    sink.out.stats.dns.messages += 1;
    for (_, name) in m.anomalies().iter() {
        sink.anomaly(dir, flag_anomaly(name), || Some(json!({"id": m.id()})));
    }
    // The first question's name in presentation form, on the stack (a
    // name the parser validated always fits; the heap is the fallback).
    match m.question() {
        Some(q) => with_name_text(&q.name, |t| match t {
            Some(t) => named(dir, bytes, &m, Some((q.name, t)), sink),
            None => {
                let mut s = String::with_capacity(q.name.presentation_len());
                // Writing into a String cannot fail.
                let _ = q.name.write_to(&mut s);
                named(dir, bytes, &m, Some((q.name, &s)), sink);
            }
        }),
        None => named(dir, bytes, &m, None, sink),
    }
}

/// The record and the observation of message `m` (`bytes`), whose first
/// question's name is `q` with its text.
fn named(dir: Direction, bytes: &[u8], m: &Message<'_>, q: Option<(Name<'_>, &str)>, sink: &mut Sink<'_>) {
    let qname = q.map_or("", |(_, t)| t);
    let qtype = m.question().map_or(0, |q| q.qtype.code());
    let is_response = m.is_response();
    if is_response {
        sink.out.stats.dns.txs_paired += 1;
    }

    // The record, rate limited per (type, name, qtype, rcode); the name is
    // hashed case-folded octet by octet (no lower-cased copy).
    let mut k = KeyHasher::new(3);
    k.byte(u8::from(is_response));
    for &b in qname.as_bytes() {
        k.byte(b.to_ascii_lowercase());
    }
    k.u16(qtype);
    k.u16(if is_response { m.rcode().code() } else { 0 });
    if let Some(suppressed) = sink.rate(k.finish(), !m.anomalies().is_empty()) {
        let tx = sink.next_tx().saturating_sub(1);
        let first = q.map(|(name, text)| QuestionText { msg: bytes, name, text });
        let record = DnsRecord::new(m, first, tx, suppressed);
        sink.record_written(dir, |w| record.write(w));
    }

    // Observation for the detectors (every message), built with the
    // buffers of a reused slot.
    let (src, dst) = match dir {
        Direction::ToServer => (sink.flow.client, sink.flow.server),
        Direction::ToClient => (sink.flow.server, sink.flow.client),
    };
    let (client, server) = if is_response { (dst, src) } else { (src, dst) };
    let (mut qname_buf, mut answer_addrs) = sink.out.dns.buffers();
    qname_buf.push_str(qname);
    let mut answer_rdata_len = 0u32;
    for r in m.answers() {
        answer_rdata_len = answer_rdata_len.saturating_add(r.rdata().len() as u32);
        // Only A/AAAA records decode to addresses: other rdata (names to
        // walk) is not decoded.
        if answer_addrs.len() < DNS_MAX_ANSWER_ADDRS && matches!(r.rtype, Type::A | Type::Aaaa) {
            match r.data() {
                RData::A(a) => answer_addrs.push(IpAddr::V4(a)),
                RData::Aaaa(a) => answer_addrs.push(IpAddr::V6(a)),
                _ => {}
            }
        }
    }
    let obs = DnsObservation {
        ts: sink.pkt.ts,
        client: client.ip(),
        client_port: client.port(),
        server: server.ip(),
        flow_id: sink.flow.flow_id,
        community_id: sink.flow.community_id,
        pcap_cnt: sink.pkt.pcap_cnt,
        is_response,
        id: m.id(),
        qname: qname_buf,
        qtype,
        rcode: if is_response { u8::try_from(m.rcode().code() & 0xff).unwrap_or(u8::MAX) } else { 0 },
        message_len: u16::try_from(bytes.len()).unwrap_or(u16::MAX),
        answer_addrs,
        answer_rdata_len,
        answer_count: m.header().ancount(),
    };
    sink.out.dns.push(obs);
}
