//! # centinela-events
//!
//! The one definition of what leaves a Centinela sensor: EVE-style JSON
//! records (Suricata 8 field names and shapes wherever the concept exists, so
//! EveBox, Elastic's Suricata integration and Splunk read them), plus the wire
//! envelope the forwarder and the collector agree on.
//!
//! * [`Event`] — one EVE record: the common header (time, flow, addresses)
//!   and an [`EventBody`] whose variant decides `event_type` and the key that
//!   carries the details (`"alert"`, `"modbus"`, …).
//! * [`Timestamp`] — packet time, formatted exactly like Suricata
//!   (`2024-05-01T12:00:00.123456+0000`). Never the wall clock on the
//!   decode/detect path.
//! * [`wire`] — the HTTP batch protocol between sensor and collector.
#![forbid(unsafe_code)]

mod eve;
mod fastjson;
mod jsonw;
mod time;
pub mod wire;

pub use eve::*;
pub use jsonw::{DIGIT_PAIRS, JsonObject, JsonWriter, serialize_written, u16_digits};
pub use time::Timestamp;
