//! # centinela-detect
//!
//! Detectors that turn application-layer observations into alerts. Pure
//! logic: no I/O, no threads, and **no clock** — time is the packet time
//! carried by every observation, so a replay is deterministic. Every detector
//! has bounded memory (documented caps, counted evictions).
//!
//! Principal types:
//! * [`DnsObservation`] — one DNS query or response as the app layer saw it.
//! * [`DetectConfig`] — the `[detect]` section of the sensor configuration.
//! * [`DnsExfilDetector`] — streaming DNS tunnelling/exfiltration
//!   detector (see `docs/DETECTION.md`).

use centinela_events::Timestamp;
use std::net::IpAddr;

pub mod config;
pub mod dns_exfil;
pub use config::{DetectConfig, DnsExfilConfig};
pub use dns_exfil::DnsExfilDetector;

/// One DNS message, reduced to what detectors need. Built by the app layer
/// (the only allocation is the name, made when the DNS event is built anyway).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsObservation {
    /// Packet time.
    pub ts: Timestamp,
    /// The querying host (source of the query / destination of the response).
    pub client: IpAddr,
    /// The client's port.
    pub client_port: u16,
    /// The DNS server the client talked to.
    pub server: IpAddr,
    /// Flow id of the carrying flow (for the alert header).
    pub flow_id: u64,
    /// Community ID of the carrying flow (inline, copied).
    pub community_id: centinela_events::CommunityId,
    /// Packet index in the pcap, replay only.
    pub pcap_cnt: Option<u64>,
    /// False for a query, true for a response.
    pub is_response: bool,
    /// DNS transaction id.
    pub id: u16,
    /// The first question's name in presentation form without the trailing
    /// dot, labels joined by `.`; bytes outside printable ASCII and `.`/`\`
    /// inside labels are kept as `\DDD` decimal escapes (RFC 4343 style), so
    /// the raw shape is preserved and no information is lost.
    pub qname: String,
    /// The first question's type.
    pub qtype: u16,
    /// Response code (responses only; 0 for queries).
    pub rcode: u8,
    /// Size of the whole DNS message on the wire.
    pub message_len: u16,
    /// A/AAAA addresses in the answer section (responses only, capped).
    pub answer_addrs: Vec<IpAddr>,
    /// Total rdata bytes in the answer section (responses only).
    pub answer_rdata_len: u32,
    /// Number of answer records.
    pub answer_count: u16,
}
