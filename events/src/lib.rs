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

mod cid;
mod eve;
mod fastjson;
mod jsonw;
mod time;
pub mod wire;

pub use cid::{COMMUNITY_ID_MAX, CommunityId};
pub use eve::*;
pub use jsonw::{DIGIT_PAIRS, JsonInt, JsonObject, JsonWriter, serialize_written, u16_digits, u64_digits};
pub use time::Timestamp;

/// SplitMix64's finalizer: a full-avalanche mix of a 64-bit word, and a
/// bijection (xor-shifts and odd multiplications are invertible), so
/// distinct inputs stay distinct. Shared by the sensor's flow hashing and the
/// detectors' premixed table keys.
#[must_use]
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod mix_tests {
    #[test]
    fn mix64_keeps_a_structured_sample_distinct() {
        // Nearby and structured inputs (packed address pairs) give distinct
        // outputs, as a bijection must.
        let mut seen = std::collections::HashSet::new();
        for c in 0..256u64 {
            for a in 0..256u64 {
                assert!(seen.insert(super::mix64((c << 32) | a)));
            }
        }
    }
}
