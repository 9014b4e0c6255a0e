//! # centinela-app
//!
//! The application layer of the sensor pipeline: given the in-order bytes of
//! a flow (from TCP reassembly) or its datagrams (UDP), it frames PDUs with
//! the `centinela-parsers` framers, keeps per-flow protocol state with
//! bounded transaction queues, pairs requests with responses and builds the
//! EVE records (`modbus`, `dnp3`, `dns`, `anomaly`).
//!
//! Interface with the flow layer (the sensor's workers), fixed so both sides
//! can be built independently:
//! * [`detect_protocol`] decides a flow's application protocol once (ports,
//!   then probing);
//! * [`AppFlowState`] is created per flow and fed with
//!   [`AppFlowState::on_stream_data`], [`AppFlowState::on_gap`],
//!   [`AppFlowState::on_datagram`] and [`AppFlowState::on_close`];
//! * everything produced goes into an [`AppOutput`]: events, DNS
//!   observations for the detectors, counters ([`AppStats`]).
//!
//! Inside, each protocol has one module (`modbus`, `dnp3`, `dns`) holding its
//! per-flow state: per-direction [`streambuf`] leftover buffers in front of
//! the parser's sans-IO framers, bounded transaction queues, and the record
//! builders. Shared pieces: [`limit`] (per-flow rate limiting of records and
//! folding of repeated anomalies, in packet time), [`record`] (EVE headers,
//! anomaly emission) and [`stats`].
//!
//! Architecture invariants: no I/O, no clock (time is `PacketCtx::ts`), no
//! panics on any input, every buffer and queue capped by a named constant or
//! a validated config value; allocation happens only when a record is built
//! (and once per flow direction for a leftover buffer).

use centinela_detect::DnsObservation;
use centinela_events::{Event, Timestamp};
use std::net::SocketAddr;
use std::sync::Arc;

pub mod config;
mod detect;
mod dnp3;
mod dnp3_record;
mod dns;
mod limit;
mod modbus;
mod record;
mod stats;
mod streambuf;

pub use config::AppConfig;
pub use detect::{CONFIDENCE_PORT, Confidence, Decision, PROBE_MAX_PACKETS, detect_protocol, service_port};
pub use dnp3::{DNP3_LEFTOVER_CAP, DNP3_MAX_POINTS_PER_RECORD, DNP3_PENDING_OBJECTS};
pub use dns::{DNS_MAX_ANSWER_ADDRS, DNS_MAX_RECORDS_PER_SECTION, DNS_TCP_LEFTOVER_CAP};
pub use limit::{MAX_ANOMALY_NAMES_PER_FLOW, MAX_RATE_KEYS_PER_FLOW};
pub use modbus::MODBUS_LEFTOVER_CAP;
pub use stats::{AppStats, ProtoStats};

/// Which way a packet or byte run travels within its flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client (the flow's initiator) to the server.
    ToServer,
    /// From the server to the client.
    ToClient,
}

/// Transport of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum L4 {
    /// TCP (byte stream, reassembled).
    Tcp,
    /// UDP (datagrams).
    Udp,
}

/// Application protocols the app layer decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppProto {
    /// Modbus: MBAP over TCP/UDP, or RTU framing over TCP.
    Modbus,
    /// DNP3 (IEEE 1815) over TCP or UDP.
    Dnp3,
    /// DNS over UDP or TCP.
    Dns,
}

impl AppProto {
    /// The EVE `app_proto` string.
    pub fn as_str(self) -> &'static str {
        match self {
            AppProto::Modbus => "modbus",
            AppProto::Dnp3 => "dnp3",
            AppProto::Dns => "dns",
        }
    }
}

/// Immutable facts about a flow, built by the flow layer when it creates the
/// flow and passed by reference with every call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowInfo {
    /// Flow id (see `centinela_events::Event::flow_id`).
    pub flow_id: u64,
    /// Community ID v1 (`1:…`) of every record of the flow, inline.
    pub community_id: centinela_events::CommunityId,
    /// Transport.
    pub l4: L4,
    /// Initiator address and port.
    pub client: SocketAddr,
    /// Responder address and port.
    pub server: SocketAddr,
    /// VLAN ids, outermost first.
    pub vlan: Vec<u16>,
    /// Capture interface (live capture only).
    pub in_iface: Option<Arc<str>>,
}

/// Per-packet context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketCtx {
    /// Packet time.
    pub ts: Timestamp,
    /// Packet index in the pcap (1-based), replay only.
    pub pcap_cnt: Option<u64>,
}

/// Where the app layer puts what it produces. Owned by the worker, reused
/// across packets (cleared by the worker after it has taken the contents).
///
/// Protocol records are written straight into [`AppOutput::lines`] as EVE
/// JSON (no [`Event`] built, no body copied twice); anomalies, rarer, are
/// built as [`Event`]s. Each line remembers how many events came before
/// it, so the original order of both can be restored ([`AppOutput::take`]
/// and the worker's writer do).
#[derive(Debug, Default)]
pub struct AppOutput {
    /// Anomaly records to write.
    pub events: Vec<Event>,
    /// Protocol records, written.
    pub lines: Lines,
    /// DNS messages for the detectors.
    pub dns: Observations,
    /// Counters (accumulate; the worker does not clear them).
    pub stats: AppStats,
    /// Boxes of closed flows' states, emptied, for the next flows
    /// ([`AppFlowState::boxed`], [`AppOutput::recycle`]): at most
    /// [`STATE_POOL_MAX`].
    // The boxes themselves are what is reused (a flow's slot holds one).
    #[allow(clippy::vec_box)]
    state_pool: Vec<Box<AppFlowState>>,
}

/// Most emptied flow-state boxes an [`AppOutput`] keeps for reuse (a DNS
/// lookup is a flow of its own: one box per lookup otherwise).
pub const STATE_POOL_MAX: usize = 256;

/// Most bytes of record lines an [`AppOutput`] keeps allocated between
/// packets.
pub const LINES_KEEP_BYTES: usize = 1 << 20;

/// Most DNS observation slots an [`Observations`] keeps (with their name
/// and address buffers) between packets.
pub const OBSERVATION_SLOTS_KEEP: usize = 64;

/// The DNS observations of one packet, in order. Slots are reused from
/// packet to packet, name and address buffers included, so that observing
/// a message allocates nothing once warm; read them as a slice
/// (`Deref<Target = [DnsObservation]>`).
#[derive(Debug, Default)]
pub struct Observations {
    slots: Vec<DnsObservation>,
    len: usize,
}

impl Observations {
    /// The name and address buffers of the slot the next [`Self::push`]
    /// fills, emptied (new empty ones when there is no such slot yet): build
    /// the observation with them so that their memory is reused.
    pub fn buffers(&mut self) -> (String, Vec<std::net::IpAddr>) {
        match self.slots.get_mut(self.len) {
            Some(slot) => {
                let (mut name, mut addrs) =
                    (std::mem::take(&mut slot.qname), std::mem::take(&mut slot.answer_addrs));
                name.clear();
                addrs.clear();
                (name, addrs)
            }
            None => (String::new(), Vec::new()),
        }
    }

    /// Add `obs` (into a kept slot when there is one).
    pub fn push(&mut self, obs: DnsObservation) {
        match self.slots.get_mut(self.len) {
            Some(slot) => *slot = obs,
            None => self.slots.push(obs),
        }
        self.len += 1;
    }

    /// Forget every observation. Slots are kept for the next packet, at
    /// most [`OBSERVATION_SLOTS_KEEP`] of them.
    pub fn clear(&mut self) {
        self.len = 0;
        self.slots.truncate(OBSERVATION_SLOTS_KEEP);
    }
}

impl core::ops::Deref for Observations {
    type Target = [DnsObservation];
    fn deref(&self) -> &[DnsObservation] {
        self.slots.get(..self.len).unwrap_or_default()
    }
}

/// EVE lines (no newlines) in one buffer, in the order they were written.
#[derive(Debug, Default)]
pub struct Lines {
    /// The lines' bytes, back to back.
    pub buf: Vec<u8>,
    /// Where each line is.
    pub recs: Vec<Line>,
    /// Where a record header's tail is rendered before a flow keeps it
    /// (reused: keeping it inline allocates nothing).
    pub(crate) scratch: Vec<u8>,
}

/// One line of a [`Lines`] buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    /// Offset in [`Lines::buf`].
    pub start: usize,
    /// Length in bytes.
    pub len: usize,
    /// How many of [`AppOutput::events`] were pushed before this line.
    pub events_before: usize,
}

impl Lines {
    /// Whether no line is held.
    pub fn is_empty(&self) -> bool {
        self.recs.is_empty()
    }

    /// Forget every line. The buffers are kept for the next packet, unless
    /// one packet's records grew them beyond [`LINES_KEEP_BYTES`] (a burst
    /// of frames delivered at once): then they are released.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.recs.clear();
        if self.buf.capacity() > LINES_KEEP_BYTES {
            self.buf = Vec::new();
            self.recs = Vec::new();
        }
    }

    /// The bytes of `line`.
    pub fn get(&self, line: &Line) -> &[u8] {
        self.buf.get(line.start..line.start + line.len).unwrap_or_default()
    }
}

/// One record of an [`AppOutput`], in output order.
#[derive(Debug, Clone, Copy)]
pub enum Record<'a> {
    /// A built event (anomalies).
    Event(&'a Event),
    /// A written EVE line (protocol records).
    Line(&'a [u8]),
}

/// Call `f` on every record of `events` and `lines` (taken from an
/// [`AppOutput`]) in the order the app layer produced them.
pub fn for_each_record(events: &[Event], lines: &Lines, mut f: impl FnMut(Record<'_>)) {
    for_each_placed(events, &lines.recs, |r| match r {
        Placed::Event(ev) => f(Record::Event(ev)),
        Placed::Line(line) => f(Record::Line(lines.get(line))),
    });
}

/// One record of an [`AppOutput`] in output order, a line given by its
/// place in [`Lines::buf`] (see [`for_each_placed`]).
#[derive(Debug, Clone, Copy)]
pub enum Placed<'a> {
    /// A built event (anomalies).
    Event(&'a Event),
    /// Where a written line is.
    Line(&'a Line),
}

/// [`for_each_record`] over the lines' places (`recs`, taken out of
/// [`Lines::recs`]) instead of their bytes: for a caller that keeps the
/// lines where the app layer wrote them and appends to the same buffer
/// while it walks them (the sensor's worker, whose output buffer is
/// [`Lines::buf`]).
pub fn for_each_placed(events: &[Event], recs: &[Line], mut f: impl FnMut(Placed<'_>)) {
    let mut events = events.iter();
    let mut done = 0;
    for line in recs {
        for ev in events.by_ref().take(line.events_before.saturating_sub(done)) {
            f(Placed::Event(ev));
        }
        done = done.max(line.events_before);
        f(Placed::Line(line));
    }
    for ev in events {
        f(Placed::Event(ev));
    }
}

impl AppOutput {
    /// Keep the box of a closed flow's state for a later flow (see
    /// [`AppFlowState::boxed`]). Its protocol state is dropped now, buffers
    /// included, so a kept box holds no more than its own bytes; beyond
    /// [`STATE_POOL_MAX`] boxes it is freed.
    pub fn recycle(&mut self, mut state: Box<AppFlowState>) {
        if self.state_pool.len() < STATE_POOL_MAX {
            state.inner = Inner::Dns(dns::DnsState::new(L4::Udp));
            self.state_pool.push(state);
        }
    }

    /// Whether there is no record to take.
    pub fn has_no_records(&self) -> bool {
        self.events.is_empty() && self.lines.is_empty()
    }

    /// Call `f` on every record in the order the app layer produced them.
    pub fn for_each_record(&self, f: impl FnMut(Record<'_>)) {
        for_each_record(&self.events, &self.lines, f);
    }

    /// Forget every record (buffers kept; stats and DNS observations are
    /// left alone).
    pub fn clear_records(&mut self) {
        self.events.clear();
        self.lines.clear();
    }

    /// Every record as an [`Event`], in order, lines parsed back (tests and
    /// tools; the sensor copies lines verbatim). Clears the records.
    pub fn take(&mut self) -> Vec<Event> {
        let mut v = Vec::with_capacity(self.events.len() + self.lines.recs.len());
        self.for_each_record(|r| match r {
            Record::Event(e) => v.push(e.clone()),
            // Lines are written by this crate: always one EVE record.
            Record::Line(l) => {
                if let Ok(e) = serde_json::from_slice(l) {
                    v.push(e);
                }
            }
        });
        self.clear_records();
        v
    }
}

/// Per-flow application-layer state: created once the flow's protocol is
/// decided, fed by the flow layer, dropped with the flow.
#[derive(Debug)]
pub struct AppFlowState {
    cfg: record::FlowCfg,
    common: record::FlowCommon,
    inner: Inner,
    counted: bool,
}

#[derive(Debug)]
enum Inner {
    Modbus(Box<modbus::ModbusState>),
    Dnp3(Box<dnp3::Dnp3State>),
    // One pointer (TCP framing boxed inside): not boxed again, so that a
    // UDP lookup's flow state allocates nothing.
    Dns(dns::DnsState),
}

impl AppFlowState {
    /// State for a flow of protocol `proto` over `l4`.
    pub fn new(proto: AppProto, l4: L4, cfg: &AppConfig) -> Self {
        let inner = match proto {
            AppProto::Modbus => Inner::Modbus(Box::new(modbus::ModbusState::new(l4, cfg))),
            AppProto::Dnp3 => Inner::Dnp3(Box::new(dnp3::Dnp3State::new(l4, cfg))),
            AppProto::Dns => Inner::Dns(dns::DnsState::new(l4)),
        };
        Self { cfg: record::FlowCfg::from(cfg), common: record::FlowCommon::default(), inner, counted: false }
    }

    /// [`Self::new`] in a box, reusing one a closed flow gave back to `out`
    /// ([`AppOutput::recycle`]): no allocation per flow once warm.
    pub fn boxed(proto: AppProto, l4: L4, cfg: &AppConfig, out: &mut AppOutput) -> Box<Self> {
        let state = Self::new(proto, l4, cfg);
        match out.state_pool.pop() {
            Some(mut b) => {
                *b = state;
                b
            }
            None => Box::new(state),
        }
    }

    /// The flow's application protocol.
    pub fn proto(&self) -> AppProto {
        match self.inner {
            Inner::Modbus(_) => AppProto::Modbus,
            Inner::Dnp3(_) => AppProto::Dnp3,
            Inner::Dns(_) => AppProto::Dns,
        }
    }

    fn sink<'a>(
        &'a mut self,
        pkt: &'a PacketCtx,
        flow: &'a FlowInfo,
        out: &'a mut AppOutput,
    ) -> (record::Sink<'a>, &'a mut Inner) {
        let proto = match self.inner {
            Inner::Modbus(_) => AppProto::Modbus,
            Inner::Dnp3(_) => AppProto::Dnp3,
            Inner::Dns(_) => AppProto::Dns,
        };
        if !self.counted {
            self.counted = true;
            out.stats.proto_mut(proto).flows += 1;
        }
        let sink = record::Sink { out, flow, pkt, cfg: &self.cfg, common: &mut self.common, proto };
        (sink, &mut self.inner)
    }

    /// New in-order TCP bytes of one direction (each byte delivered exactly
    /// once by the reassembler).
    pub fn on_stream_data(
        &mut self,
        dir: Direction,
        data: &[u8],
        pkt: &PacketCtx,
        flow: &FlowInfo,
        out: &mut AppOutput,
    ) {
        if data.is_empty() {
            return;
        }
        let (mut sink, inner) = self.sink(pkt, flow, out);
        match inner {
            Inner::Modbus(s) => s.on_stream(dir, data, &mut sink),
            Inner::Dnp3(s) => s.on_stream(dir, data, &mut sink),
            Inner::Dns(s) => s.on_stream(dir, data, &mut sink),
        }
    }

    /// `lost` bytes of this direction will never arrive (gap): framers
    /// resync.
    pub fn on_gap(
        &mut self,
        dir: Direction,
        lost: u64,
        pkt: &PacketCtx,
        flow: &FlowInfo,
        out: &mut AppOutput,
    ) {
        let (mut sink, inner) = self.sink(pkt, flow, out);
        sink.out.stats.proto_mut(sink.proto).gaps += 1;
        match inner {
            Inner::Modbus(s) => s.on_gap(dir, lost, &mut sink),
            Inner::Dnp3(s) => s.on_gap(dir, lost, &mut sink),
            Inner::Dns(s) => s.on_gap(dir, lost, &mut sink),
        }
    }

    /// One UDP datagram payload.
    pub fn on_datagram(
        &mut self,
        dir: Direction,
        payload: &[u8],
        pkt: &PacketCtx,
        flow: &FlowInfo,
        out: &mut AppOutput,
    ) {
        let (mut sink, inner) = self.sink(pkt, flow, out);
        match inner {
            Inner::Modbus(s) => s.on_datagram(dir, payload, &mut sink),
            Inner::Dnp3(s) => s.on_datagram(dir, payload, &mut sink),
            Inner::Dns(s) => s.on_datagram(dir, payload, &mut sink),
        }
    }

    /// The flow ends (FIN/RST/timeout/eviction/shutdown): flush pending
    /// transactions as records (unanswered requests) and folded anomalies.
    pub fn on_close(&mut self, pkt: &PacketCtx, flow: &FlowInfo, out: &mut AppOutput) {
        let (mut sink, inner) = self.sink(pkt, flow, out);
        match inner {
            Inner::Modbus(s) => s.on_close(&mut sink),
            Inner::Dnp3(s) => s.on_close(&mut sink),
            Inner::Dns(s) => s.on_close(&mut sink),
        }
        sink.flush_folded_anomalies();
    }

    /// The header tail (`centinela_events::eve::Head::write_tail`) of this
    /// flow's records sent by the client, once one was written: the same
    /// bytes as the tail of the flow's `flow` record (client to server,
    /// this app protocol), which may copy it instead of rendering it again.
    pub fn client_tail(&self) -> Option<&[u8]> {
        self.common.tails[0].text()
    }

    /// Bytes held (buffers + queued transactions + limiter tables).
    pub fn memory(&self) -> usize {
        let inner = match &self.inner {
            Inner::Modbus(s) => s.memory(),
            Inner::Dnp3(s) => s.memory(),
            Inner::Dns(s) => s.memory(),
        };
        let tails: usize = self.common.tails.iter().map(record::HeadTail::heap).sum();
        core::mem::size_of::<Self>()
            + inner
            + self.common.anomalies.memory()
            + self.common.records.memory()
            + tails
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use centinela_events::{EventBody, RawJson};

    fn event(n: u64) -> Event {
        Event {
            timestamp: Timestamp::from_micros(1_700_000_000, 0),
            flow_id: Some(n),
            in_iface: None,
            pcap_cnt: Some(n),
            src_ip: None,
            src_port: None,
            dest_ip: None,
            dest_port: None,
            proto: None,
            app_proto: None,
            vlan: vec![],
            community_id: None,
            host: None,
            body: EventBody::Flow { flow: RawJson::empty_object() },
        }
    }

    fn push_line(out: &mut AppOutput, n: u64) {
        let start = out.lines.buf.len();
        event(n).write_json(&mut out.lines.buf).unwrap();
        let len = out.lines.buf.len() - start;
        out.lines.recs.push(Line { start, len, events_before: out.events.len() });
    }

    #[test]
    fn records_come_back_in_the_order_they_were_produced() {
        // e1 L2 L3 e4 e5 L6 e7: lines and events interleaved every way.
        let mut out = AppOutput::default();
        out.events.push(event(1));
        push_line(&mut out, 2);
        push_line(&mut out, 3);
        out.events.push(event(4));
        out.events.push(event(5));
        push_line(&mut out, 6);
        out.events.push(event(7));
        let mut seen = Vec::new();
        out.for_each_record(|r| {
            seen.push(match r {
                Record::Event(e) => (e.flow_id.unwrap(), 'e'),
                Record::Line(l) => {
                    let e: Event = serde_json::from_slice(l).unwrap();
                    (e.flow_id.unwrap(), 'l')
                }
            });
        });
        assert_eq!(seen, [(1, 'e'), (2, 'l'), (3, 'l'), (4, 'e'), (5, 'e'), (6, 'l'), (7, 'e')]);
        let taken = out.take();
        assert_eq!(taken.iter().map(|e| e.flow_id.unwrap()).collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(taken[1], event(2));
        assert!(out.has_no_records());
    }
}
