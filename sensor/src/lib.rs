//! # centinela (sensor library)
//!
//! The sensor's data path, as sources → transforms → sinks with an explicit
//! backpressure policy on every edge (see [`pipeline`] for the table):
//!
//! * **Sources** — [`source`] reads pcap/pcapng files (gzip too) with
//!   pcap-parser's streaming reader; [`live`] captures from interfaces with
//!   libpcap. Both feed a [`dispatch::Dispatcher`], which shards packets by
//!   the unordered IP pair (+VLAN) into [`batch::Batch`]es for the workers
//!   and inserts synchronisation [`batch::Mark`]s.
//! * **Transforms** — each [`worker::Worker`] owns a shard: L2–L4
//!   [`decode`], IP [`defrag`], the [`flow`] table, TCP [`stream`]
//!   reassembly, the app layer (`centinela-app`) and the detectors
//!   (`centinela-detect`). It serialises every record once.
//! * **Sink** — one [`writer`] thread merges the workers' reports mark by
//!   mark (deterministic order), writes EVE lines and hands the same bytes
//!   to `centinela_forward::Delivery`.
//!
//! Architecture invariants: time is packet time on the whole decode/detect
//! path (the wall clock only drives idle ticks of a live source); every
//! buffer, table and queue has a named cap whose hits are counted; the
//! replay output is byte-identical across runs and worker counts while no
//! cap is hit.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod batch;
pub mod config;
pub mod decode;
pub mod defrag;
pub mod dispatch;
pub mod flow;
pub mod live;
pub mod mmap;
pub mod pipeline;
pub mod replay;
pub mod source;
pub mod stats;
pub mod stream;
pub mod worker;
pub mod writer;
