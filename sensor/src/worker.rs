//! A worker: decode → defragment → flow → TCP reassembly → app layer →
//! detectors → serialized records, for the flows of one shard.
//!
//! Each worker owns its flow table, reassembly buffers, app-layer states and
//! detector instance: nothing on the packet path is shared or locked. Time
//! is the packet time; timeouts run at the reader's tick marks, so a flow
//! ends at the same point of the packet sequence whatever the number of
//! workers.

use crate::batch::{Batch, Entry, Mark, PktMeta, Rec, Report};
use crate::config::Config;
use crate::decode::{self, Decoded, Ip, L4, tcpflag};
use crate::defrag::{Defrag, DefragLimits, DgKey, Outcome};
use crate::flow::{CLASSES, Class, FlowKey, FlowTable, community_id};
use crate::stats::{Counters, WorkerSnapshot};
use crate::stream::{Budget, HalfStream, Limits, Sink};
use centinela_app::{
    AppConfig, AppFlowState, AppOutput, Decision, Direction, FlowInfo, Line, PacketCtx, Placed,
};
use centinela_detect::dns_exfil::DnsExfilDetector;
use centinela_events::{Anomaly, Event, EventBody, Head, JsonWriter, Timestamp, write_line};
#[cfg(test)]
use serde::Serialize;
use serde_json::json;
use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Bytes of early payload kept per flow while its protocol is undecided.
pub const PROBE_BUF_MAX: usize = 2048;
/// Most bytes of record buffer reserved ahead for the next mark interval
/// (address space: pages are only touched as records are written).
pub const OUT_RESERVE_BYTES: usize = 4 << 20;

/// Output buffers the writer hands back to a worker once written (so a
/// worker's next report reuses memory that is already mapped instead of
/// growing a fresh allocation: page faults and regrowth copies were ~10% of
/// worker time in log-everything mode). Recycled per worker at most.
pub const RECYCLED_PER_WORKER: usize = 2;
/// A spent output buffer larger than this is freed, not recycled (bounds
/// what the recycling channel can hold: `RECYCLED_PER_WORKER` ×
/// `RECYCLE_MAX_BYTES` per worker).
pub const RECYCLE_MAX_BYTES: usize = 16 << 20;

/// A spent report's buffers on their way back to their worker.
pub type Recycled = (Vec<u8>, Vec<Rec>);
/// Distinct anomaly names remembered per flow for rate limiting.
pub const FLOW_ANOMALY_NAMES: usize = 8;

/// TCP connection state (coarse, for timeouts and the flow record).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TcpState {
    New,
    Established,
    Closed,
}

#[derive(Debug)]
enum AppSlot {
    /// Undecided: payloads offered so far, and the bytes kept to replay.
    Probing {
        tries: u32,
        chunks: Vec<(Direction, u32)>,
        bytes: Vec<u8>,
    },
    Active(Box<AppFlowState>),
    Nothing,
}

#[derive(Debug)]
struct Flow {
    info: FlowInfo,
    proto: u8,
    /// The flow key's `lo` end is the client.
    client_is_lo: bool,
    start: Timestamp,
    last: Timestamp,
    pkts: [u64; 2],
    bytes: [u64; 2],
    flags: [u8; 2],
    streams: Option<Box<[HalfStream; 2]>>,
    tcp: TcpState,
    fin: [bool; 2],
    app: AppSlot,
    app_closed: bool,
    anomalies: Vec<(&'static str, u32)>,
}

impl Flow {
    fn class(&self) -> Class {
        match self.proto {
            6 => match self.tcp {
                TcpState::New => Class::TcpNew,
                TcpState::Established => Class::TcpEstablished,
                TcpState::Closed => Class::TcpClosed,
            },
            17 => Class::Udp,
            _ => Class::Other,
        }
    }

    fn app_name(&self) -> Option<&'static str> {
        match &self.app {
            AppSlot::Active(s) => Some(s.proto().as_str()),
            _ => None,
        }
    }
}

/// The worker's output buffer for the current mark interval.
#[derive(Debug, Default)]
struct Out {
    // The bytes are `Worker::app_out.lines.buf`: the app layer writes its
    // records straight into the output buffer.
    recs: Vec<Rec>,
    seq: u64,
    phase: u8,
}

/// A worker.
pub struct Worker {
    id: usize,
    cfg: Arc<Config>,
    ifaces: Arc<[Arc<str>]>,
    live: bool,
    lim: Limits,
    timeouts: [i64; CLASSES],
    table: FlowTable<Flow>,
    defrag: Defrag,
    budget: Budget,
    counters: Counters,
    out: Out,
    recycle: Option<crossbeam_channel::Receiver<Recycled>>,
    app_out: AppOutput,
    exfil: DnsExfilDetector,
    det_events: Vec<Event>,
    stream_anoms: Vec<(&'static str, bool)>,
    flowless: Vec<(&'static str, u32)>,
    now: Timestamp,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").field("id", &self.id).field("flows", &self.table.len()).finish()
    }
}

fn proto_name(p: u8) -> Cow<'static, str> {
    Cow::Borrowed(match p {
        6 => "TCP",
        17 => "UDP",
        1 => "ICMP",
        58 => "IPv6-ICMP",
        132 => "SCTP",
        47 => "GRE",
        n => return Cow::Owned(n.to_string()),
    })
}

/// The EVE `flow` object (Suricata's shape; fields in the order the record
/// has always been written: alphabetical). Written by hand (one record per
/// flow, and most DNS lookups are a flow of their own); the derived
/// serialisation it replaced is the oracle of its test.
#[cfg_attr(test, derive(Serialize))]
struct FlowRecord {
    age: i64,
    alerted: bool,
    bytes_toclient: u64,
    bytes_toserver: u64,
    end: Timestamp,
    pkts_toclient: u64,
    pkts_toserver: u64,
    reason: &'static str,
    start: Timestamp,
    state: &'static str,
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    tcp: Option<TcpFlagsRecord>,
}

/// The `flow.tcp` object: the flags seen either way (`tcp_flags`), to the
/// server (`_ts`) and to the client (`_tc`).
#[cfg_attr(test, derive(Serialize))]
struct TcpFlagsRecord {
    ack: bool,
    fin: bool,
    psh: bool,
    rst: bool,
    syn: bool,
    tcp_flags: Hex8,
    tcp_flags_tc: Hex8,
    tcp_flags_ts: Hex8,
}

/// A byte written as two lower-case hex digits.
struct Hex8(u8);

#[cfg(test)]
impl Serialize for Hex8 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:02x}", self.0))
    }
}

impl FlowRecord {
    fn write(&self, w: &mut JsonWriter<'_>) {
        w.raw("{\"age\":");
        w.int(self.age);
        w.raw(if self.alerted { ",\"alerted\":true" } else { ",\"alerted\":false" });
        w.raw(",\"bytes_toclient\":");
        w.int(self.bytes_toclient);
        w.raw(",\"bytes_toserver\":");
        w.int(self.bytes_toserver);
        w.raw(",\"end\":");
        w.timestamp(&self.end);
        w.raw(",\"pkts_toclient\":");
        w.int(self.pkts_toclient);
        w.raw(",\"pkts_toserver\":");
        w.int(self.pkts_toserver);
        w.raw(",\"reason\":");
        w.plain(self.reason);
        w.raw(",\"start\":");
        w.timestamp(&self.start);
        w.raw(",\"state\":");
        w.plain(self.state);
        if let Some(t) = &self.tcp {
            w.raw(",\"tcp\":{\"ack\":");
            w.bool(t.ack);
            w.raw(",\"fin\":");
            w.bool(t.fin);
            w.raw(",\"psh\":");
            w.bool(t.psh);
            w.raw(",\"rst\":");
            w.bool(t.rst);
            w.raw(",\"syn\":");
            w.bool(t.syn);
            w.raw(",\"tcp_flags\":");
            w.hex(&[t.tcp_flags.0]);
            w.raw(",\"tcp_flags_tc\":");
            w.hex(&[t.tcp_flags_tc.0]);
            w.raw(",\"tcp_flags_ts\":");
            w.hex(&[t.tcp_flags_ts.0]);
            w.raw("}");
        }
        w.raw("}");
    }
}

fn dir_of(from_client: bool) -> Direction {
    if from_client { Direction::ToServer } else { Direction::ToClient }
}

impl Worker {
    /// A worker for shard `id` of `n`.
    pub fn new(id: usize, n: usize, cfg: Arc<Config>, ifaces: Arc<[Arc<str>]>, live: bool) -> Self {
        let n = n.max(1);
        let f = &cfg.flow;
        let s = &cfg.stream;
        let d = &cfg.decode;
        let lim = Limits {
            bytes: s.max_ooo_kib_per_flow * 1024,
            segments: s.max_ooo_segments_per_flow,
            midstream: s.midstream,
        };
        let timeouts = [
            i64::from(f.tcp_new_timeout_s),
            i64::from(f.tcp_established_timeout_s),
            i64::from(f.tcp_closed_timeout_s),
            i64::from(f.udp_timeout_s),
            i64::from(f.other_timeout_s),
        ];
        let defrag = Defrag::new(DefragLimits {
            max_datagrams: d.defrag_max_datagrams.div_ceil(n),
            max_bytes: (d.defrag_max_mib << 20) / n,
            max_fragments: d.defrag_max_fragments,
            timeout_s: i64::from(d.defrag_timeout_s),
        });
        let exfil = DnsExfilDetector::new(&cfg.detect);
        Self {
            id,
            table: FlowTable::new(f.max_flows.div_ceil(n)),
            budget: Budget { used: 0, cap: (s.max_ooo_mib << 20) / n },
            cfg,
            ifaces,
            live,
            lim,
            timeouts,
            defrag,
            counters: Counters::default(),
            out: Out::default(),
            recycle: None,
            app_out: AppOutput::default(),
            exfil,
            det_events: Vec::new(),
            stream_anoms: Vec::new(),
            flowless: Vec::new(),
            now: Timestamp::default(),
        }
    }

    /// Process one batch; reports produced at marks go to `send`. Returns
    /// true when the last mark was seen.
    pub fn run_batch(&mut self, batch: &Batch, send: &mut dyn FnMut(Report)) -> bool {
        let mut done = false;
        let src = batch.sources();
        for (i, e) in batch.entries.iter().enumerate() {
            src.prefetch_ahead(&batch.entries, i, crate::batch::PREFETCH_AHEAD);
            match e {
                Entry::Pkt(m) => self.packet(m, src.bytes(m)),
                Entry::Mark(mark) => {
                    let r = self.mark(mark);
                    done |= r.last;
                    send(r);
                }
            }
        }
        done
    }

    // ---------------------------------------------------------------- output

    fn emit(&mut self, ev: &Event) {
        let buf = &mut self.app_out.lines.buf;
        let start = buf.len();
        match ev.write_json(buf) {
            Ok(()) => {
                let len = buf.len() - start;
                self.out.recs.push(Rec {
                    seq: self.out.seq,
                    phase: self.out.phase,
                    priority: ev.body.is_priority(),
                    start: start as u32,
                    len: len as u32,
                });
            }
            Err(_) => {
                buf.truncate(start);
                self.counters.serialize_errors += 1;
            }
        }
    }

    /// Record an EVE line the app layer wrote into the output buffer.
    fn emit_line(&mut self, line: &Line) {
        self.out.recs.push(Rec {
            seq: self.out.seq,
            phase: self.out.phase,
            priority: false,
            start: line.start as u32,
            len: line.len as u32,
        });
    }

    /// Emit what the app layer and the detectors produced (nothing, for
    /// most packets: only the emptiness checks are inlined).
    #[inline]
    fn take_app_output(&mut self) {
        if !(self.app_out.dns.is_empty() && self.app_out.has_no_records() && self.det_events.is_empty()) {
            self.take_app_output_slow();
        }
    }

    #[inline(never)]
    fn take_app_output_slow(&mut self) {
        if !self.app_out.dns.is_empty() {
            let dns = std::mem::take(&mut self.app_out.dns);
            for obs in dns.iter() {
                self.exfil.observe(obs, &mut self.det_events);
            }
            self.app_out.dns = dns;
            self.app_out.dns.clear();
        }
        if !self.app_out.has_no_records() {
            // The lines stay where they were written (the output buffer);
            // events are serialised after them, each in its place in order.
            let (mut evs, mut recs) =
                (std::mem::take(&mut self.app_out.events), std::mem::take(&mut self.app_out.lines.recs));
            centinela_app::for_each_placed(&evs, &recs, |r| match r {
                Placed::Event(ev) => self.emit(ev),
                Placed::Line(l) => self.emit_line(l),
            });
            evs.clear();
            recs.clear();
            self.app_out.events = evs;
            self.app_out.lines.recs = recs;
        }
        if !self.det_events.is_empty() {
            let evs = std::mem::take(&mut self.det_events);
            for ev in &evs {
                self.emit(ev);
            }
            self.det_events = evs;
            self.det_events.clear();
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn header(
        &self,
        info: &FlowInfo,
        proto: u8,
        from_client: bool,
        ts: Timestamp,
        pcap_cnt: Option<u64>,
        app: Option<&'static str>,
        body: EventBody,
    ) -> Event {
        let (src, dst) = if from_client { (info.client, info.server) } else { (info.server, info.client) };
        let ports = matches!(proto, 6 | 17 | 132);
        Event {
            timestamp: ts,
            flow_id: Some(info.flow_id),
            in_iface: info.in_iface.clone(),
            pcap_cnt,
            src_ip: Some(src.ip()),
            src_port: ports.then_some(src.port()),
            dest_ip: Some(dst.ip()),
            dest_port: ports.then_some(dst.port()),
            proto: Some(proto_name(proto)),
            app_proto: app.map(Cow::Borrowed),
            vlan: info.vlan.clone(),
            community_id: Some(Arc::from(info.community_id.as_str())),
            host: None,
            body,
        }
    }

    fn pcap_cnt(&self, seq: u64) -> Option<u64> {
        (!self.live).then_some(seq)
    }

    /// A flowless anomaly (decode errors before a flow exists), limited per
    /// second of packet time and name.
    #[allow(clippy::too_many_arguments)]
    fn flowless_anomaly(
        &mut self,
        kind: &'static str,
        name: &'static str,
        layer: &'static str,
        m: &PktMeta,
        ip: Option<(IpAddr, IpAddr)>,
        vlan: &[u16],
        detail: Option<serde_json::Value>,
    ) {
        self.counters.anomaly(name);
        let limit = self.cfg.anomaly.per_second;
        let slot = match self.flowless.iter_mut().find(|(n, _)| *n == name) {
            Some(s) => s,
            None => {
                self.flowless.push((name, 0));
                let i = self.flowless.len() - 1;
                &mut self.flowless[i]
            }
        };
        if slot.1 >= limit {
            self.counters.anomaly_suppressed += 1;
            return;
        }
        slot.1 += 1;
        self.counters.anomaly_records += 1;
        let ev = Event {
            timestamp: m.ts,
            flow_id: None,
            in_iface: if self.live { self.ifaces.get(usize::from(m.iface)).cloned() } else { None },
            pcap_cnt: self.pcap_cnt(m.seq),
            src_ip: ip.map(|x| x.0),
            src_port: None,
            dest_ip: ip.map(|x| x.1),
            dest_port: None,
            proto: None,
            app_proto: None,
            vlan: vlan.to_vec(),
            community_id: None,
            host: None,
            body: EventBody::Anomaly {
                anomaly: Anomaly {
                    kind: kind.into(),
                    event: name.into(),
                    layer: Some(layer.into()),
                    app_proto: None,
                    count: 1,
                    detail,
                },
            },
        };
        self.emit(&ev);
    }

    /// An anomaly on a flow, limited per flow and name.
    fn flow_anomaly(
        &mut self,
        id: u32,
        kind: &'static str,
        name: &'static str,
        from_client: bool,
        ts: Timestamp,
        pcap_cnt: Option<u64>,
    ) {
        self.counters.anomaly(name);
        let limit = self.cfg.anomaly.per_flow;
        let Some(flow) = self.table.val_mut(id) else { return };
        let slot = match flow.anomalies.iter().position(|(n, _)| *n == name) {
            Some(i) => Some(i),
            None if flow.anomalies.len() < FLOW_ANOMALY_NAMES => {
                flow.anomalies.push((name, 0));
                Some(flow.anomalies.len() - 1)
            }
            None => None,
        };
        let allowed = match slot {
            Some(i) if flow.anomalies[i].1 < limit => {
                flow.anomalies[i].1 += 1;
                true
            }
            _ => false,
        };
        if !allowed {
            self.counters.anomaly_suppressed += 1;
            return;
        }
        self.counters.anomaly_records += 1;
        let Some(flow) = self.table.val_mut(id) else { return };
        let (info, proto, app) = (flow.info.clone(), flow.proto, flow.app_name());
        let body = EventBody::Anomaly {
            anomaly: Anomaly {
                kind: kind.into(),
                event: name.into(),
                layer: Some(kind.into()),
                app_proto: None,
                count: 1,
                detail: None,
            },
        };
        let ev = self.header(&info, proto, from_client, ts, pcap_cnt, app, body);
        self.emit(&ev);
    }

    // --------------------------------------------------------------- packets

    fn packet(&mut self, m: &PktMeta, frame: &[u8]) {
        self.out.seq = m.seq;
        self.out.phase = 1;
        if m.ts > self.now {
            self.now = m.ts;
        }
        self.counters.pkts += 1;
        self.counters.bytes += u64::from(m.orig_len);
        let mut d = Decoded::empty();
        decode::decode_into(&mut d, m.linktype, frame, self.cfg.decode.checksum_validation);
        if d.nvlan > 0 {
            self.counters.vlan += 1;
        }
        if let Some(stop) = d.stop {
            self.counters.invalid += 1;
            let ip = d.ip.map(|i| (i.src, i.dst));
            let detail = json!({ "caplen": m.len, "len": m.orig_len });
            self.flowless_anomaly("decode", stop, "decoder", m, ip, d.vlans(), Some(detail));
        }
        let Some(ip) = d.ip.as_ref() else {
            self.counters.non_ip += 1;
            return;
        };
        if ip.src.is_ipv4() {
            self.counters.ipv4 += 1;
        } else {
            self.counters.ipv6 += 1;
        }
        if ip.checksum_bad {
            self.counters.checksum_bad += 1;
            self.flowless_anomaly(
                "decode",
                "decoder.ipv4.checksum_invalid",
                "ipv4",
                m,
                Some((ip.src, ip.dst)),
                d.vlans(),
                None,
            );
        }
        let Some(frag) = ip.frag else {
            self.transport(m, &d, ip, d.l4);
            return;
        };
        let key = DgKey { src: ip.src, dst: ip.dst, proto: ip.proto, id: frag.id, vlan: d.vlan };
        let mut overlap = false;
        let outcome = self.defrag.add(key, frag, ip.payload, m.ts, &mut overlap);
        let v6 = ip.src.is_ipv6();
        if overlap {
            let name = if v6 { "decoder.ipv6.frag_overlap" } else { "decoder.ipv4.frag_overlap" };
            self.flowless_anomaly(
                "decode",
                name,
                if v6 { "ipv6" } else { "ipv4" },
                m,
                Some((ip.src, ip.dst)),
                d.vlans(),
                None,
            );
        }
        match outcome {
            Outcome::Held => {}
            Outcome::Dropped(why) => {
                let name = match (why, v6) {
                    ("frag_too_large", false) => "decoder.ipv4.frag_too_large",
                    ("frag_too_large", true) => "decoder.ipv6.frag_too_large",
                    (_, false) => "decoder.ipv4.frag_dropped",
                    (_, true) => "decoder.ipv6.frag_dropped",
                };
                let detail = json!({ "reason": why });
                self.flowless_anomaly(
                    "decode",
                    name,
                    "defrag",
                    m,
                    Some((ip.src, ip.dst)),
                    d.vlans(),
                    Some(detail),
                );
            }
            Outcome::Complete(buf) => {
                let (l4, err) = decode::l4_from_payload(ip.proto, &buf);
                if let Some(e) = err {
                    self.counters.invalid += 1;
                    self.flowless_anomaly("decode", e, "decoder", m, Some((ip.src, ip.dst)), d.vlans(), None);
                }
                let whole = Ip { payload: &buf, frag: None, ..*ip };
                self.transport(m, &d, &whole, l4);
            }
        }
    }

    fn transport(&mut self, m: &PktMeta, d: &Decoded<'_>, ip: &Ip<'_>, l4: L4<'_>) {
        let (sport, dport, icmp) = match l4 {
            L4::Tcp(t, _) => {
                self.counters.tcp += 1;
                (t.sport, t.dport, None)
            }
            L4::Udp { sport, dport, .. } => {
                self.counters.udp += 1;
                (sport, dport, None)
            }
            L4::Icmp { ty, code, v6 } => {
                self.counters.icmp += 1;
                (u16::from(ty), u16::from(code), Some(v6))
            }
            L4::Other => {
                if matches!(ip.proto, 1 | 6 | 17 | 58) {
                    // Transport header did not parse: already reported.
                    return;
                }
                self.counters.other_ip += 1;
                (0, 0, None)
            }
        };
        // ICMP flows are keyed by address pair only (type/code vary by direction).
        let (kp_s, kp_d) = if icmp.is_some() { (0, 0) } else { (sport, dport) };
        let (key, src_is_lo) = FlowKey::new((ip.src, kp_s), (ip.dst, kp_d), ip.proto, d.vlan);
        let pcap_cnt = self.pcap_cnt(m.seq);
        let pkt = PacketCtx { ts: m.ts, pcap_cnt };
        let id = match self.table.get(&key) {
            Some(id) => {
                // TCP port reuse: a new SYN on a closed connection.
                let reuse = matches!(l4, L4::Tcp(t, _) if t.flags & (tcpflag::SYN | tcpflag::ACK) == tcpflag::SYN)
                    && self.table.val_mut(id).is_some_and(|f| f.tcp == TcpState::Closed);
                if reuse {
                    self.counters.flows_reused += 1;
                    self.end_flow(id, "tcp_reuse", m.ts, pcap_cnt);
                    match self.new_flow(m, key, src_is_lo, ip, sport, dport, icmp, l4) {
                        Some(id) => id,
                        None => return,
                    }
                } else {
                    id
                }
            }
            None => match self.new_flow(m, key, src_is_lo, ip, sport, dport, icmp, l4) {
                Some(id) => id,
                None => return,
            },
        };
        let Some(flow) = self.table.val_mut(id) else { return };
        let from_client = src_is_lo == flow.client_is_lo;
        let di = usize::from(!from_client);
        flow.pkts[di] += 1;
        flow.bytes[di] += u64::from(m.orig_len);
        if m.ts > flow.last {
            flow.last = m.ts;
        }
        match l4 {
            L4::Tcp(t, payload) => self.tcp(id, from_client, t, payload, &pkt),
            L4::Udp { payload, .. } if !payload.is_empty() => {
                self.app_payload(id, from_client, payload, &pkt, false);
            }
            _ => {}
        }
        if let Some(flow) = self.table.val_mut(id) {
            let class = flow.class();
            self.table.touch(id, m.ts, class);
        }
        self.take_app_output();
    }

    #[allow(clippy::too_many_arguments)]
    fn new_flow(
        &mut self,
        m: &PktMeta,
        key: FlowKey,
        src_is_lo: bool,
        ip: &Ip<'_>,
        sport: u16,
        dport: u16,
        icmp: Option<bool>,
        l4: L4<'_>,
    ) -> Option<u32> {
        if self.table.is_full()
            && let Some(victim) = self.table.oldest()
        {
            self.counters.flows_evicted += 1;
            let pcap_cnt = self.pcap_cnt(m.seq);
            self.end_flow(victim, "forced", m.ts, pcap_cnt);
            self.flowless_anomaly(
                "pipeline",
                "flow.evicted",
                "flow",
                m,
                None,
                &[],
                Some(json!({ "max_flows": self.cfg.flow.max_flows })),
            );
        }
        // Who is the client: the sender of the first packet, except a SYN-ACK
        // (we missed the SYN) or a packet from a well-known/ICS port to an
        // ephemeral one (picked up midstream).
        let mut src_is_client = true;
        if let L4::Tcp(t, _) = l4 {
            let syn_ack = t.flags & (tcpflag::SYN | tcpflag::ACK) == (tcpflag::SYN | tcpflag::ACK);
            let midstream_from_server = t.flags & tcpflag::SYN == 0 && looks_like_server(sport, dport);
            if syn_ack || midstream_from_server {
                src_is_client = false;
            }
        } else if matches!(l4, L4::Udp { .. }) && looks_like_server(sport, dport) {
            src_is_client = false;
        }
        let (client, server) = if src_is_client {
            (SocketAddr::new(ip.src, sport), SocketAddr::new(ip.dst, dport))
        } else {
            (SocketAddr::new(ip.dst, dport), SocketAddr::new(ip.src, sport))
        };
        let cid = community_id(ip.src, ip.dst, ip.proto, sport, dport, icmp);
        let l4k = if ip.proto == 6 { centinela_app::L4::Tcp } else { centinela_app::L4::Udp };
        let vlan: Vec<u16> = key.vlan.iter().copied().filter(|v| *v != 0).collect();
        let in_iface = if self.live { self.ifaces.get(usize::from(m.iface)).cloned() } else { None };
        let info = FlowInfo {
            flow_id: key.flow_id(m.ts),
            community_id: cid,
            l4: l4k,
            client,
            server,
            vlan,
            in_iface,
        };
        let proto = ip.proto;
        let streams = (proto == 6).then(|| Box::new([HalfStream::default(), HalfStream::default()]));
        let app = if matches!(proto, 6 | 17) {
            AppSlot::Probing { tries: 0, chunks: Vec::new(), bytes: Vec::new() }
        } else {
            AppSlot::Nothing
        };
        let flow = Flow {
            info,
            proto,
            client_is_lo: src_is_lo == src_is_client,
            start: m.ts,
            last: m.ts,
            pkts: [0; 2],
            bytes: [0; 2],
            flags: [0; 2],
            streams,
            tcp: TcpState::New,
            fin: [false; 2],
            app,
            app_closed: false,
            anomalies: Vec::new(),
        };
        let class = flow.class();
        if matches!(proto, 6 | 17) && server.port() != 53 {
            self.exfil.on_flow_start(m.ts, client.ip(), server.ip(), server.port());
        }
        self.counters.flows_created += 1;
        match proto {
            6 => self.counters.flows_tcp += 1,
            17 => self.counters.flows_udp += 1,
            _ => self.counters.flows_other += 1,
        }
        self.table.insert(key, m.ts, class, flow)
    }

    fn tcp(&mut self, id: u32, from_client: bool, t: decode::Tcp, payload: &[u8], pkt: &PacketCtx) {
        let di = usize::from(!from_client);
        let app_cfg: &AppConfig = &self.cfg.app;
        let Some(flow) = self.table.val_mut(id) else { return };
        flow.flags[di] |= t.flags;
        let Flow { streams, app, info, app_closed, tcp, fin, .. } = flow;
        let Some(streams) = streams.as_mut() else { return };
        let [s0, s1] = &mut **streams;
        let (mine, peer) = if from_client { (s0, s1) } else { (s1, s0) };
        if t.flags & tcpflag::SYN != 0 {
            mine.on_syn(t.seq);
        }
        if t.flags & tcpflag::RST != 0 {
            *tcp = TcpState::Closed;
        }
        let stream_closed = *app_closed;
        if matches!(app, AppSlot::Nothing) {
            // Bypass: no parser consumes this flow's bytes (probing gave up
            // or a gap came first), so reassembling them is wasted work and
            // buffered memory. The segments are counted; whatever is still
            // buffered out of order is released once.
            if !payload.is_empty() && t.flags & tcpflag::RST == 0 {
                self.counters.stream.segments += 1;
                self.counters.stream.bypassed += 1;
            }
            if mine.memory() + peer.memory() != 0 {
                mine.release(&mut self.budget);
                peer.release(&mut self.budget);
            }
        } else {
            let mut sink = StreamSink {
                app: &mut *app,
                dir: dir_of(from_client),
                pkt,
                info,
                out: &mut self.app_out,
                cfg: app_cfg,
                anoms: &mut self.stream_anoms,
                closed: stream_closed,
                from_client,
            };
            if !payload.is_empty() && t.flags & tcpflag::RST == 0 {
                mine.on_data(
                    t.seq,
                    payload,
                    self.lim,
                    &mut self.budget,
                    &mut self.counters.stream,
                    &mut sink,
                );
            }
            if t.flags & tcpflag::ACK != 0 {
                let mut peer_sink =
                    StreamSink { dir: dir_of(!from_client), from_client: !from_client, ..sink };
                peer.on_peer_ack(t.ack, &mut self.budget, &mut self.counters.stream, &mut peer_sink);
            }
        }
        if t.flags & tcpflag::FIN != 0 {
            mine.on_fin(t.seq, payload.len());
            fin[di] = true;
        }
        let Some(flow) = self.table.val_mut(id) else { return };
        if flow.tcp == TcpState::New {
            // Established once both sides acknowledged something, or on data
            // of a connection picked up without its handshake.
            let acked_both = flow.flags[0] & tcpflag::ACK != 0 && flow.flags[1] & tcpflag::ACK != 0;
            let no_syn = (flow.flags[0] | flow.flags[1]) & tcpflag::SYN == 0;
            if acked_both || (no_syn && !payload.is_empty()) {
                flow.tcp = TcpState::Established;
            }
        }
        if flow.fin[0] && flow.fin[1] {
            flow.tcp = TcpState::Closed;
        }
        let close_now = flow.tcp == TcpState::Closed && !flow.app_closed;
        self.flush_stream_anomalies(id, pkt);
        if close_now {
            self.close_app(id, pkt);
        }
    }

    #[inline]
    fn flush_stream_anomalies(&mut self, id: u32, pkt: &PacketCtx) {
        if !self.stream_anoms.is_empty() {
            self.flush_stream_anomalies_slow(id, pkt);
        }
    }

    #[inline(never)]
    fn flush_stream_anomalies_slow(&mut self, id: u32, pkt: &PacketCtx) {
        let anoms = std::mem::take(&mut self.stream_anoms);
        for (name, from_client) in &anoms {
            self.flow_anomaly(id, "stream", name, *from_client, pkt.ts, pkt.pcap_cnt);
        }
        self.stream_anoms = anoms;
        self.stream_anoms.clear();
    }

    /// Flush reassembly (remaining holes are gaps) and let the app layer
    /// flush its pending transactions.
    fn close_app(&mut self, id: u32, pkt: &PacketCtx) {
        let app_cfg: &AppConfig = &self.cfg.app;
        let Some(flow) = self.table.val_mut(id) else { return };
        if flow.app_closed {
            return;
        }
        flow.app_closed = true;
        let Flow { streams, app, info, .. } = flow;
        if let Some(streams) = streams.as_mut() {
            for (i, s) in streams.iter_mut().enumerate() {
                let from_client = i == 0;
                let mut sink = StreamSink {
                    app: &mut *app,
                    dir: dir_of(from_client),
                    pkt,
                    info,
                    out: &mut self.app_out,
                    cfg: app_cfg,
                    anoms: &mut self.stream_anoms,
                    closed: false,
                    from_client,
                };
                s.flush(&mut self.budget, &mut self.counters.stream, &mut sink);
            }
        }
        if let AppSlot::Active(s) = app {
            s.on_close(pkt, info, &mut self.app_out);
        }
        self.flush_stream_anomalies(id, pkt);
        self.take_app_output();
    }

    fn app_payload(&mut self, id: u32, from_client: bool, payload: &[u8], pkt: &PacketCtx, tcp: bool) {
        let app_cfg: &AppConfig = &self.cfg.app;
        let Some(flow) = self.table.val_mut(id) else { return };
        if flow.app_closed {
            return;
        }
        let Flow { app, info, .. } = flow;
        feed_app(app, app_cfg, info, dir_of(from_client), payload, pkt, tcp, &mut self.app_out);
    }

    /// End a flow: flush, close the app layer, write the flow record.
    /// Before ending a flow when `next` is the one to end after it (then the
    /// flow after `next` in its list): ask the CPU for the memory they
    /// touch, which is cold for a flow that idled until its timeout. Two
    /// steps ahead for the slot, one step ahead for what the slot points to
    /// (read from the slot requested one step earlier): each flow's lines
    /// arrive while the one before it ends. Hints only: no effect on the
    /// records.
    fn prefetch_ending(&self, next: Option<u32>) {
        let Some(n) = next else { return };
        if let Some(after) = self.table.newer(n) {
            self.table.prefetch_slot(after);
        }
        self.table.prefetch_index(n);
        let Some(f) = self.table.val(n) else { return };
        if let AppSlot::Active(s) = &f.app {
            crate::batch::prefetch_value(&**s);
        }
        if let Some(s) = &f.streams {
            crate::batch::prefetch_value(&**s);
        }
    }

    fn end_flow(&mut self, id: u32, reason: &'static str, ts: Timestamp, pcap_cnt: Option<u64>) {
        let pkt = PacketCtx { ts, pcap_cnt };
        self.close_app(id, &pkt);
        let Some((_key, mut flow)) = self.table.remove(id) else { return };
        if let Some(s) = flow.streams.as_mut() {
            s[0].release(&mut self.budget);
            s[1].release(&mut self.budget);
        }
        match reason {
            "timeout" => self.counters.flows_timeout += 1,
            "shutdown" => self.counters.flows_shutdown += 1,
            _ => {}
        }
        if !self.cfg.flow.records {
            self.recycle_app(&mut flow);
            return;
        }
        let state = match (flow.proto, flow.tcp) {
            (6, TcpState::New) => "new",
            (6, TcpState::Established) => "established",
            (6, TcpState::Closed) => "closed",
            _ if flow.pkts[1] > 0 => "established",
            _ => "new",
        };
        let age = flow.last.secs.saturating_sub(flow.start.secs).max(0);
        let tcp = (flow.proto == 6).then(|| {
            let f = flow.flags[0] | flow.flags[1];
            TcpFlagsRecord {
                ack: f & tcpflag::ACK != 0,
                fin: f & tcpflag::FIN != 0,
                psh: f & tcpflag::PSH != 0,
                rst: f & tcpflag::RST != 0,
                syn: f & tcpflag::SYN != 0,
                tcp_flags: Hex8(f),
                tcp_flags_tc: Hex8(flow.flags[1]),
                tcp_flags_ts: Hex8(flow.flags[0]),
            }
        });
        let record = FlowRecord {
            age,
            alerted: false,
            bytes_toclient: flow.bytes[1],
            bytes_toserver: flow.bytes[0],
            end: flow.last,
            pkts_toclient: flow.pkts[1],
            pkts_toserver: flow.pkts[0],
            reason,
            start: flow.start,
            state,
            tcp,
        };
        // Written straight into the output buffer (the header as
        // `Worker::header` would build it, from the client's side).
        let info = &flow.info;
        let ports = matches!(flow.proto, 6 | 17 | 132);
        let proto = proto_name(flow.proto);
        let head = Head {
            timestamp: ts,
            flow_id: Some(info.flow_id),
            in_iface: info.in_iface.as_deref(),
            pcap_cnt: None,
            src_ip: Some(info.client.ip()),
            src_port: ports.then_some(info.client.port()),
            dest_ip: Some(info.server.ip()),
            dest_port: ports.then_some(info.server.port()),
            proto: Some(&proto),
            app_proto: flow.app_name(),
            vlan: &info.vlan,
            community_id: Some(info.community_id.as_str()),
            host: None,
        };
        // The app layer's records from the client have the same header tail
        // (their app_proto is this flow's): copied, not rendered again.
        let tail = match &flow.app {
            AppSlot::Active(s) => s.client_tail(),
            _ => None,
        };
        #[cfg(debug_assertions)]
        if let Some(t) = tail {
            let mut fresh = Vec::new();
            head.write_tail(&mut fresh);
            debug_assert_eq!(t, &fresh[..], "the app's client tail is the flow record's");
        }
        let buf = &mut self.app_out.lines.buf;
        let start = buf.len();
        let written = write_line(buf, &head, tail, "flow", |w| {
            record.write(w);
            Ok(())
        });
        match written {
            Ok(()) => self.out.recs.push(Rec {
                seq: self.out.seq,
                phase: self.out.phase,
                priority: false,
                start: start as u32,
                len: (buf.len() - start) as u32,
            }),
            Err(_) => self.counters.serialize_errors += 1,
        }
        self.recycle_app(&mut flow);
        flow.anomalies.clear();
    }

    /// Give an ended flow's app-layer state box back for the next flows.
    fn recycle_app(&mut self, flow: &mut Flow) {
        if let AppSlot::Active(s) = std::mem::replace(&mut flow.app, AppSlot::Nothing) {
            self.app_out.recycle(s);
        }
    }

    // ----------------------------------------------------------------- marks

    /// Take spent output buffers back from the writer through `rx`
    /// (see [`RECYCLED_PER_WORKER`]).
    pub fn recycle_from(&mut self, rx: crossbeam_channel::Receiver<Recycled>) {
        self.recycle = Some(rx);
    }

    fn mark(&mut self, mark: &Mark) -> Report {
        self.out.seq = mark.seq;
        self.out.phase = 0;
        // Every packet before a tick mark is older than it, so the mark's
        // time is the same "now" in every worker.
        let now = mark.ts;
        if now > self.now {
            self.now = now;
        }
        if mark.tick || mark.last {
            self.flowless.clear();
            for c in [Class::TcpNew, Class::TcpEstablished, Class::TcpClosed, Class::Udp, Class::Other] {
                let to = self.timeouts[c as usize];
                while let Some((id, last)) = self.table.oldest_in(c) {
                    if now.secs.saturating_sub(last.secs) < to {
                        break;
                    }
                    // The next flows to time out are the next ones in the
                    // list, and idle ones are cold: requested ahead.
                    self.prefetch_ending(self.table.newer(id));
                    self.end_flow(id, "timeout", now, None);
                }
            }
            self.defrag.expire(now);
        }
        if mark.last {
            let ids = self.table.ids();
            for (i, &id) in ids.iter().enumerate() {
                self.prefetch_ending(ids.get(i + 1).copied());
                self.end_flow(id, "shutdown", now, None);
            }
        }
        if mark.tick || mark.last {
            self.exfil.tick(now, mark.last, &mut self.det_events);
            self.take_app_output();
        }
        self.counters.defrag = self.defrag.counters.clone();
        let snapshot = (mark.stats.is_some() || mark.last).then(|| {
            Box::new(WorkerSnapshot {
                counters: self.counters.clone(),
                flows_active: self.table.len() as u64,
                reassembly_memory: self.budget.used as u64,
                defrag_memory: self.defrag.memory() as u64,
                app: self.app_out.stats.clone(),
                detect: self.exfil.stats(),
                detect_memory: self.exfil.memory() as u64,
            })
        });
        // Every line written so far is placed before the buffer leaves.
        self.take_app_output();
        // The next interval likely produces as much: reserve it now rather
        // than regrowing the buffers record by record (capped).
        let (next_buf, next_recs) = match self.recycle.as_ref().and_then(|r| r.try_recv().ok()) {
            Some((mut b, mut r)) => {
                b.clear();
                r.clear();
                (b, r)
            }
            None => {
                // As much as the spent buffer had grown to (not just what
                // it holds): a fresh buffer sized by one interval's output
                // regrew, copying itself, whenever the next one was larger.
                let buf_hint = self.app_out.lines.buf.capacity().min(OUT_RESERVE_BYTES);
                let recs_hint = self.out.recs.capacity().min(OUT_RESERVE_BYTES / 256);
                (Vec::with_capacity(buf_hint), Vec::with_capacity(recs_hint))
            }
        };
        Report {
            worker: self.id,
            mark: mark.id,
            ts: mark.ts,
            buf: std::mem::replace(&mut self.app_out.lines.buf, next_buf),
            recs: std::mem::replace(&mut self.out.recs, next_recs),
            snapshot,
            reader: mark.stats.clone(),
            last: mark.last,
        }
    }
}

fn looks_like_server(sport: u16, dport: u16) -> bool {
    const SERVICES: [u16; 4] = [502, 20000, 53, 2404];
    let s_svc = SERVICES.contains(&sport) || sport < 1024;
    let d_svc = SERVICES.contains(&dport) || dport < 1024;
    s_svc && !d_svc
}

/// Offer payload to the app layer: decide the protocol on the first
/// payloads (keeping them to replay once decided), then feed the state.
#[allow(clippy::too_many_arguments)]
fn feed_app(
    app: &mut AppSlot,
    cfg: &AppConfig,
    info: &FlowInfo,
    dir: Direction,
    payload: &[u8],
    pkt: &PacketCtx,
    tcp: bool,
    out: &mut AppOutput,
) {
    let l4 = if tcp { centinela_app::L4::Tcp } else { centinela_app::L4::Udp };
    match app {
        AppSlot::Nothing => {}
        AppSlot::Active(s) => {
            if tcp {
                s.on_stream_data(dir, payload, pkt, info, out);
            } else {
                s.on_datagram(dir, payload, pkt, info, out);
            }
        }
        AppSlot::Probing { tries, chunks, bytes } => {
            *tries += 1;
            // TCP probes see everything this direction sent so far; UDP
            // probes see one datagram.
            let decision = if tcp && chunks.iter().any(|(d, _)| *d == dir) {
                let mut acc: Vec<u8> = Vec::new();
                let mut at = 0usize;
                for (d, len) in chunks.iter() {
                    let len = *len as usize;
                    if *d == dir {
                        acc.extend_from_slice(&bytes[at..at + len]);
                    }
                    at += len;
                }
                acc.extend_from_slice(payload);
                centinela_app::detect_protocol(cfg, l4, info.client.port(), info.server.port(), dir, &acc)
            } else {
                centinela_app::detect_protocol(cfg, l4, info.client.port(), info.server.port(), dir, payload)
            };
            match decision {
                Decision::Proto(p, _) => {
                    let mut state = AppFlowState::boxed(p, l4, cfg, out);
                    let mut at = 0usize;
                    for (d, len) in chunks.iter() {
                        let len = *len as usize;
                        let chunk = &bytes[at..at + len];
                        if tcp {
                            state.on_stream_data(*d, chunk, pkt, info, out);
                        } else {
                            state.on_datagram(*d, chunk, pkt, info, out);
                        }
                        at += len;
                    }
                    if tcp {
                        state.on_stream_data(dir, payload, pkt, info, out);
                    } else {
                        state.on_datagram(dir, payload, pkt, info, out);
                    }
                    *app = AppSlot::Active(state);
                }
                Decision::NotYet
                    if *tries < centinela_app::PROBE_MAX_PACKETS
                        && bytes.len() + payload.len() <= PROBE_BUF_MAX =>
                {
                    chunks.push((dir, payload.len() as u32));
                    bytes.extend_from_slice(payload);
                }
                _ => *app = AppSlot::Nothing,
            }
        }
    }
}

/// Reassembly output for one direction of one flow.
struct StreamSink<'a> {
    app: &'a mut AppSlot,
    dir: Direction,
    pkt: &'a PacketCtx,
    info: &'a FlowInfo,
    out: &'a mut AppOutput,
    cfg: &'a AppConfig,
    anoms: &'a mut Vec<(&'static str, bool)>,
    closed: bool,
    from_client: bool,
}

impl Sink for StreamSink<'_> {
    fn data(&mut self, data: &[u8]) {
        if !self.closed {
            feed_app(self.app, self.cfg, self.info, self.dir, data, self.pkt, true, self.out);
        }
    }
    fn gap(&mut self, lost: u64) {
        match self.app {
            AppSlot::Active(s) if !self.closed => s.on_gap(self.dir, lost, self.pkt, self.info, self.out),
            // A gap before the protocol is known: give up probing.
            AppSlot::Probing { .. } => *self.app = AppSlot::Nothing,
            _ => {}
        }
        self.anoms.push(("stream.gap", self.from_client));
    }
    fn anomaly(&mut self, name: &'static str) {
        self.anoms.push((name, self.from_client));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The hand-written `flow` object against the derived serialisation it
    /// replaced: every flag byte, both optional shapes, extreme counters and
    /// timestamps (including a year outside 0000–9999).
    #[test]
    fn flow_record_text_equals_the_derived_serialisation() {
        let times = [
            Timestamp::from_micros(0, 0),
            Timestamp::from_micros(1_470_763_727, 123_456),
            Timestamp::from_micros(-1, 999_999),
            Timestamp::from_micros(253_402_300_800, 7),
        ];
        for f in 0..=255u8 {
            for (i, with_tcp) in [true, false].into_iter().enumerate() {
                let big = if f % 2 == 0 { u64::MAX } else { u64::from(f) };
                let rec = FlowRecord {
                    age: if f % 3 == 0 { i64::MAX } else { i64::from(f) - 7 },
                    alerted: f % 5 == 0,
                    bytes_toclient: big,
                    bytes_toserver: u64::from(f) * 1000,
                    end: times[usize::from(f) % 4],
                    pkts_toclient: big / 3,
                    pkts_toserver: 0,
                    reason: ["timeout", "shutdown", "tcp_reuse", "evicted"][usize::from(f) % 4],
                    start: times[(usize::from(f) + i) % 4],
                    state: ["new", "established", "closed"][usize::from(f) % 3],
                    tcp: with_tcp.then(|| TcpFlagsRecord {
                        ack: f & tcpflag::ACK != 0,
                        fin: f & tcpflag::FIN != 0,
                        psh: f & tcpflag::PSH != 0,
                        rst: f & tcpflag::RST != 0,
                        syn: f & tcpflag::SYN != 0,
                        tcp_flags: Hex8(f),
                        tcp_flags_tc: Hex8(f.rotate_left(3)),
                        tcp_flags_ts: Hex8(!f),
                    }),
                };
                let want = serde_json::to_string(&rec).unwrap();
                let got = centinela_events::RawJson::from_writer(|w| {
                    rec.write(w);
                    Ok(())
                })
                .unwrap();
                assert_eq!(got.get(), want);
            }
        }
    }
}
