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
//!   observations for the detectors, counters.

use centinela_detect::DnsObservation;
use centinela_events::{Event, Timestamp};
use std::net::SocketAddr;
use std::sync::Arc;

pub mod config;
pub use config::AppConfig;

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
    /// Community ID v1 string (`1:…`).
    pub community_id: String,
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
#[derive(Debug, Default)]
pub struct AppOutput {
    /// EVE records to write (protocol records and anomalies).
    pub events: Vec<Event>,
    /// DNS messages for the detectors.
    pub dns: Vec<DnsObservation>,
}
