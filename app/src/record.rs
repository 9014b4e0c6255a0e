//! Building EVE records: headers from the flow and packet, anomaly records
//! through the per-flow anomaly limiter (built as `Event`s: allocation
//! happens here), protocol records through the record limiter (written
//! straight into the reused output lines: no allocation once they have
//! grown).

use crate::limit::{AnomalyLimiter, RateVerdict, RecordLimiter};
use crate::{AppConfig, AppOutput, AppProto, Direction, FlowInfo, L4, Line, PacketCtx};
use centinela_events::{Anomaly, Event, EventBody, Head, JsonWriter, write_line};
use serde_json::Value;
use std::borrow::Cow;

/// The configuration values a flow needs, copied out of [`AppConfig`] when
/// the flow starts (no allocation per flow).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FlowCfg {
    pub(crate) log_all: bool,
    pub(crate) rate_limit_window_s: u64,
    pub(crate) rate_limit_max_identical: u32,
    pub(crate) anomaly_max_per_window: u32,
}

impl From<&AppConfig> for FlowCfg {
    fn from(c: &AppConfig) -> Self {
        Self {
            log_all: c.log_all,
            rate_limit_window_s: c.rate_limit_window_s,
            rate_limit_max_identical: c.rate_limit_max_identical,
            anomaly_max_per_window: c.anomaly_max_per_window,
        }
    }
}

/// Per-flow state shared by every protocol: limiters and the transaction
/// counter (Suricata's per-flow `tx_id`, 1-based in records).
#[derive(Debug, Clone, Default)]
pub(crate) struct FlowCommon {
    pub(crate) anomalies: AnomalyLimiter,
    pub(crate) records: RecordLimiter,
    pub(crate) next_tx: u64,
    /// Per direction (to server, to client): the header tail
    /// (`Head::write_tail`) of this flow's records, copied into every record
    /// after it is rendered. Fixed for the flow's life: addresses, ports,
    /// transport, app protocol, VLANs, interface and community id do not
    /// change. The client's side is rendered at its first record, because
    /// the flow record reuses it ([`crate::AppFlowState::client_tail`]); the
    /// server's side at its second (a DNS lookup's single answer never pays
    /// for keeping it). At most one short header (about 150 bytes) per
    /// direction.
    pub(crate) tails: [HeadTail; 2],
}

/// Bytes of a header tail kept inside the flow state (an IPv4 flow's with
/// the longest addresses, ports, app protocol name and two VLAN ids fits);
/// a longer one (IPv6) is kept in a heap buffer of its size.
pub(crate) const TAIL_INLINE: usize = 200;

/// See [`FlowCommon::tails`].
#[derive(Debug, Clone, Default)]
pub(crate) enum HeadTail {
    /// No record sent this way yet.
    #[default]
    None,
    /// One record sent this way (tail written inline).
    Once,
    /// The rendered tail, kept inline (`text[..len]`).
    Inline { len: u8, text: [u8; TAIL_INLINE] },
    /// The rendered tail, too long to keep inline.
    Boxed(Box<[u8]>),
}

impl HeadTail {
    /// Keep `tail`.
    fn keep(tail: &[u8]) -> Self {
        match u8::try_from(tail.len()) {
            Ok(len) if tail.len() <= TAIL_INLINE => {
                let mut text = [0u8; TAIL_INLINE];
                text[..tail.len()].copy_from_slice(tail);
                Self::Inline { len, text }
            }
            _ => Self::Boxed(tail.into()),
        }
    }

    /// The rendered tail, once kept.
    pub(crate) fn text(&self) -> Option<&[u8]> {
        match self {
            Self::Inline { len, text } => text.get(..usize::from(*len)),
            Self::Boxed(t) => Some(t),
            Self::None | Self::Once => None,
        }
    }

    /// Heap bytes held.
    pub(crate) fn heap(&self) -> usize {
        match self {
            Self::Boxed(t) => t.len(),
            _ => 0,
        }
    }
}

/// Everything a protocol handler needs to emit records for one call.
#[derive(Debug)]
pub(crate) struct Sink<'a> {
    pub(crate) out: &'a mut AppOutput,
    pub(crate) flow: &'a FlowInfo,
    pub(crate) pkt: &'a PacketCtx,
    pub(crate) cfg: &'a FlowCfg,
    pub(crate) common: &'a mut FlowCommon,
    pub(crate) proto: AppProto,
}

/// The EVE header of a record about `flow`, sent by the `dir` side.
pub(crate) fn header(
    flow: &FlowInfo,
    pkt: &PacketCtx,
    app: Option<AppProto>,
    dir: Direction,
    body: EventBody,
) -> Event {
    let (src, dst) = match dir {
        Direction::ToServer => (flow.client, flow.server),
        Direction::ToClient => (flow.server, flow.client),
    };
    Event {
        timestamp: pkt.ts,
        flow_id: Some(flow.flow_id),
        in_iface: flow.in_iface.clone(),
        pcap_cnt: pkt.pcap_cnt,
        src_ip: Some(src.ip()),
        src_port: Some(src.port()),
        dest_ip: Some(dst.ip()),
        dest_port: Some(dst.port()),
        proto: Some(Cow::Borrowed(l4_name(flow.l4))),
        app_proto: app.map(|p| Cow::Borrowed(p.as_str())),
        vlan: flow.vlan.clone(),
        community_id: Some(std::sync::Arc::from(flow.community_id.as_str())),
        host: None,
        body,
    }
}

impl Sink<'_> {
    /// Next per-flow transaction id.
    pub(crate) fn next_tx(&mut self) -> u64 {
        self.common.next_tx = self.common.next_tx.saturating_add(1);
        self.common.next_tx
    }

    /// One occurrence of the anomaly `name` (a stable `proto.event` name),
    /// raised by `dir`'s side. Counted always; logged, or folded into a
    /// later counted record by the per-flow anomaly limiter.
    /// `detail` is only built when the occurrence is logged.
    pub(crate) fn anomaly(
        &mut self,
        dir: Direction,
        name: &'static str,
        detail: impl FnOnce() -> Option<Value>,
    ) {
        self.out.stats.count_anomaly(name);
        let v = self.common.anomalies.check(
            name,
            self.pkt.ts,
            self.cfg.rate_limit_window_s,
            self.cfg.anomaly_max_per_window,
        );
        if v.flush_folded > 0 {
            self.push_anomaly(dir, name, v.flush_folded, Some(folded_detail(self.cfg)));
        }
        if v.log {
            self.push_anomaly(dir, name, 1, detail());
        } else {
            self.out.stats.anomalies_folded += 1;
        }
    }

    /// Log every folded anomaly count (flow end).
    pub(crate) fn flush_folded_anomalies(&mut self) {
        let pending: Vec<(&'static str, u64)> = self.common.anomalies.drain_folded().collect();
        for (name, n) in pending {
            self.push_anomaly(Direction::ToServer, name, n, Some(folded_detail(self.cfg)));
        }
    }

    fn push_anomaly(&mut self, dir: Direction, name: &'static str, count: u64, detail: Option<Value>) {
        let anomaly = Anomaly {
            kind: Cow::Borrowed("applayer"),
            event: Cow::Borrowed(name),
            layer: Some(Cow::Borrowed("proto_parser")),
            app_proto: Some(Cow::Borrowed(self.proto.as_str())),
            count,
            detail,
        };
        let ev = header(self.flow, self.pkt, Some(self.proto), dir, EventBody::Anomaly { anomaly });
        self.out.events.push(ev);
    }

    /// Ask the record limiter about a record with `key`; `None` means drop
    /// (counted), `Some(n)` means log it, `n` identical records having been
    /// suppressed since the last one. `bypass` (records carrying an
    /// exception or anomaly flags) always logs.
    pub(crate) fn rate(&mut self, key: u64, bypass: bool) -> Option<u64> {
        if self.cfg.log_all || bypass {
            return Some(0);
        }
        match self.common.records.check(
            key,
            self.pkt.ts,
            self.cfg.rate_limit_window_s,
            self.cfg.rate_limit_max_identical,
        ) {
            RateVerdict::Log { suppressed } => Some(suppressed),
            RateVerdict::Suppress => {
                self.out.stats.proto_mut(self.proto).records_rate_limited += 1;
                None
            }
        }
    }

    /// Write this flow's protocol record straight into the output lines:
    /// the header from the flow and packet, then the body written by hand
    /// through a [`JsonWriter`] (the hottest records). Writing these bodies
    /// cannot fail (struct keys, no custom errors); should it ever, the line
    /// is dropped and the failure is an anomaly
    /// (`<proto>.record_encoding_failed`), counted, never silent.
    pub(crate) fn record_written<F>(&mut self, dir: Direction, write: F)
    where
        F: FnOnce(&mut JsonWriter<'_>) -> Result<(), serde_json::Error>,
    {
        let (src, dst) = match dir {
            Direction::ToServer => (self.flow.client, self.flow.server),
            Direction::ToClient => (self.flow.server, self.flow.client),
        };
        let ty = self.proto.as_str();
        let head = Head {
            timestamp: self.pkt.ts,
            flow_id: Some(self.flow.flow_id),
            in_iface: self.flow.in_iface.as_deref(),
            pcap_cnt: self.pkt.pcap_cnt,
            src_ip: Some(src.ip()),
            src_port: Some(src.port()),
            dest_ip: Some(dst.ip()),
            dest_port: Some(dst.port()),
            proto: Some(l4_name(self.flow.l4)),
            app_proto: Some(ty),
            vlan: &self.flow.vlan,
            community_id: Some(self.flow.community_id.as_str()),
            host: None,
        };
        let lines = &mut self.out.lines;
        let start = lines.buf.len();
        let slot = match dir {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        };
        let tail = match self.common.tails.get_mut(slot) {
            Some(t @ HeadTail::None) if slot == 1 => {
                *t = HeadTail::Once;
                None
            }
            Some(t @ (HeadTail::None | HeadTail::Once)) => {
                lines.scratch.clear();
                head.write_tail(&mut lines.scratch);
                *t = HeadTail::keep(&lines.scratch);
                t.text()
            }
            Some(t) => t.text(),
            None => None,
        };
        match write_line(&mut lines.buf, &head, tail, ty, write) {
            Ok(()) => {
                lines.recs.push(Line {
                    start,
                    len: lines.buf.len() - start,
                    events_before: self.out.events.len(),
                });
                self.out.stats.proto_mut(self.proto).records += 1;
            }
            Err(_) => {
                let name = match self.proto {
                    AppProto::Modbus => "modbus.record_encoding_failed",
                    AppProto::Dnp3 => "dnp3.record_encoding_failed",
                    AppProto::Dns => "dns.record_encoding_failed",
                };
                self.anomaly(dir, name, || None);
            }
        }
    }
}

/// Suricata's `proto` text for a flow's transport.
fn l4_name(l4: L4) -> &'static str {
    match l4 {
        L4::Tcp => "TCP",
        L4::Udp => "UDP",
    }
}

fn folded_detail(cfg: &FlowCfg) -> Value {
    serde_json::json!({"folded": true, "window_s": cfg.rate_limit_window_s})
}

/// Lower-case hex of `bytes` (the former `data` field builder; the record
/// builders now write hex without allocating, and tests compare with this).
#[cfg(test)]
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn tail_of(src: &str, dst: &str, app: &'static str, vlan: &[u16]) -> Vec<u8> {
        let head = Head {
            timestamp: centinela_events::Timestamp::from_micros(0, 0),
            flow_id: Some(u64::MAX),
            in_iface: None,
            pcap_cnt: None,
            src_ip: Some(src.parse().unwrap()),
            src_port: Some(65535),
            dest_ip: Some(dst.parse().unwrap()),
            dest_port: Some(65535),
            proto: Some("TCP"),
            app_proto: Some(app),
            vlan,
            community_id: Some("1:LQU9qZlK+B5F3KDmev6m5PMibrg="),
            host: None,
        };
        let mut t = Vec::new();
        head.write_tail(&mut t);
        t
    }

    #[test]
    fn an_ipv4_tail_is_kept_inline_and_an_ipv6_one_on_the_heap() {
        // The longest IPv4 tail: widest addresses and ports, the longest app
        // protocol name, two VLAN ids.
        let longest = [AppProto::Modbus, AppProto::Dnp3, AppProto::Dns]
            .iter()
            .map(|p| tail_of("255.255.255.255", "255.255.255.255", p.as_str(), &[4095, 4095]))
            .max_by_key(Vec::len)
            .unwrap();
        let kept = HeadTail::keep(&longest);
        assert!(matches!(kept, HeadTail::Inline { .. }), "{} bytes", longest.len());
        assert_eq!(kept.text(), Some(&longest[..]));
        assert_eq!(kept.heap(), 0);
        let v6 = tail_of("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe80::1", "modbus", &[4095, 4095]);
        let kept = HeadTail::keep(&v6);
        assert!(matches!(kept, HeadTail::Boxed(_)));
        assert_eq!(kept.text(), Some(&v6[..]));
        assert_eq!(kept.heap(), v6.len());
        assert_eq!(HeadTail::None.text(), None);
        assert_eq!(HeadTail::Once.text(), None);
    }

    #[test]
    fn hex_encodes() {
        assert_eq!(hex(&[0x00, 0xab, 0x10]), "00ab10");
        assert_eq!(hex(&[]), "");
    }
}
