//! # centinela-collector
//!
//! The CSIRT-side ingest service: sensors POST gzip NDJSON batches over
//! mutually authenticated HTTPS (`centinela_events::wire`); the collector
//! checks them strictly ([`ingest`]), commits them durably with `(sensor, seq)`
//! dedupe ([`store`]), and only then answers 200. A query API serves events and
//! sensor health; a sweep applies retention and raises `sensor_silent` events.
//!
//! Principal parts: [`server`] (rustls + hyper, routing, auth, rate limits, the
//! single writer thread with group commit), [`store`] (the `Store` /
//! `QueryStore` traits and SQLite), [`pki`] (`init` / `enroll` with rcgen),
//! [`config`] (`collector.toml`).
//!
//! **Architecture invariant**: a 200 on `/api/v1/batches` is sent only after the
//! transaction holding the batch and its dedupe row committed with
//! `synchronous = FULL`; any rejected batch stores nothing.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod config;
pub mod ingest;
pub mod pki;
pub mod server;
pub mod store;
