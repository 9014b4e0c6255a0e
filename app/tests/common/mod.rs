//! Shared helpers for the app-layer integration tests: a flow, packet
//! contexts, and a driver that feeds byte streams / datagrams into an
//! `AppFlowState` and returns the produced events as JSON values.
#![allow(dead_code, unreachable_pub)]

use centinela_app::{AppConfig, AppFlowState, AppOutput, AppProto, Direction, FlowInfo, L4, PacketCtx};
use centinela_events::{EventBody, Timestamp};
use serde_json::Value;

pub fn flow(l4: L4, server_port: u16) -> FlowInfo {
    FlowInfo {
        flow_id: 77,
        community_id: "1:test".into(),
        l4,
        client: "10.0.0.1:40000".parse().expect("addr"),
        server: format!("10.0.0.2:{server_port}").parse().expect("addr"),
        vlan: vec![],
        in_iface: None,
    }
}

pub fn pkt(secs: i64, n: u64) -> PacketCtx {
    PacketCtx { ts: Timestamp::new(1_700_000_000 + secs, 0), pcap_cnt: Some(n) }
}

/// Feeds one flow; keeps every event.
pub struct Harness {
    pub state: AppFlowState,
    pub flow: FlowInfo,
    pub out: AppOutput,
    pub events: Vec<Value>,
    pub n: u64,
}

impl Harness {
    pub fn new(proto: AppProto, l4: L4, port: u16, cfg: &AppConfig) -> Self {
        Self {
            state: AppFlowState::new(proto, l4, cfg),
            flow: flow(l4, port),
            out: AppOutput::default(),
            events: vec![],
            n: 0,
        }
    }

    fn take(&mut self) {
        for e in self.out.take() {
            self.events.push(serde_json::to_value(&e).expect("serialise"));
        }
    }

    pub fn stream(&mut self, dir: Direction, data: &[u8], secs: i64) {
        self.n += 1;
        let p = pkt(secs, self.n);
        self.state.on_stream_data(dir, data, &p, &self.flow, &mut self.out);
        self.take();
    }

    pub fn gap(&mut self, dir: Direction, lost: u64, secs: i64) {
        self.n += 1;
        let p = pkt(secs, self.n);
        self.state.on_gap(dir, lost, &p, &self.flow, &mut self.out);
        self.take();
    }

    pub fn datagram(&mut self, dir: Direction, data: &[u8], secs: i64) {
        self.n += 1;
        let p = pkt(secs, self.n);
        self.state.on_datagram(dir, data, &p, &self.flow, &mut self.out);
        self.take();
    }

    pub fn close(&mut self, secs: i64) {
        self.n += 1;
        let p = pkt(secs, self.n);
        self.state.on_close(&p, &self.flow, &mut self.out);
        self.take();
    }

    /// Protocol records (not anomalies), their body object.
    pub fn records(&self, key: &str) -> Vec<&Value> {
        self.events.iter().filter(|e| e["event_type"] == key).map(|e| &e[key]).collect()
    }

    /// Anomaly event names, in order.
    pub fn anomalies(&self) -> Vec<String> {
        self.events
            .iter()
            .filter(|e| e["event_type"] == "anomaly")
            .map(|e| e["anomaly"]["event"].as_str().unwrap_or_default().to_string())
            .collect()
    }
}

/// Events without the per-packet header fields that depend on how the input
/// was split (timestamp, pcap_cnt), for split-invariance comparisons.
pub fn strip(events: &[Value]) -> Vec<Value> {
    events
        .iter()
        .map(|e| {
            let mut e = e.clone();
            if let Some(o) = e.as_object_mut() {
                o.remove("timestamp");
                o.remove("pcap_cnt");
            }
            e
        })
        .collect()
}

pub fn body_kind(b: &EventBody) -> &'static str {
    b.event_type()
}
