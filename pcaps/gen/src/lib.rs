//! `centinela-pcapgen`: a deterministic, seeded generator of byte-exact capture scenarios.
//!
//! The crate has four layers, each usable on its own:
//!
//! - [`pcap`]: a classic (libpcap, microsecond) file writer. Timestamps are the
//!   scenario's synthetic packet times, never the wall clock.
//! - [`wire`]: Ethernet / 802.1Q / QinQ, IPv4 (with fragmentation), IPv6 (with
//!   extension and fragment headers), TCP and UDP builders with correct checksums.
//! - [`proto`]: application-layer emitters for Modbus (TCP and RTU), DNP3 (link,
//!   transport, application) and DNS. They are a public API: the parser crate uses
//!   them in round-trip property tests.
//! - [`scenario`]: hosts, a jittered clock, TCP sessions with real handshakes,
//!   sequence/acknowledgement bookkeeping and deliberate mis-segmentation, UDP, and
//!   fragmented datagrams. A [`cases::Case`] is a seed plus a function over a
//!   [`scenario::Scenario`]; [`cases::CASES`] lists every committed case and
//!   [`big`] streams the large benchmark mix.
//!
//! Determinism: the only randomness is [`rng::Rng`] seeded from the case seed, and the
//! clock starts at a fixed epoch, so the same seed always yields a byte-identical file.

pub mod big;
pub mod cases;
pub mod pcap;
pub mod proto;
pub mod rng;
pub mod scenario;
pub mod wire;
