//! # centinela-forward
//!
//! The sensor side of delivery to the CSIRT: a durable on-disk spool that
//! every emitted event enters first, and a forwarder that ships spooled
//! records in batches over mutually authenticated HTTPS and advances the
//! spool's acknowledged position only on the collector's 2xx.

pub mod spool;
