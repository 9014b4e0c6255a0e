//! Pipeline counters and the `stats` record.
//!
//! Each worker keeps a [`Counters`]; at a stats mark it sends a
//! [`WorkerSnapshot`] (cumulative counters plus gauges) to the writer, which
//! merges the snapshots of all workers with the reader's counters into one
//! EVE `stats` record. Every value is derived from packet contents and packet
//! time, so a replay gives the same record for any number of workers
//! (queue depths, which depend on thread timing, are only reported in live
//! capture).

use crate::defrag::DefragCounters;
use crate::stream::StreamCounters;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Per-worker counters (cumulative).
#[derive(Debug, Clone, Default)]
pub struct Counters {
    /// Packets processed.
    pub pkts: u64,
    /// Bytes (original length).
    pub bytes: u64,
    /// IPv4 packets.
    pub ipv4: u64,
    /// IPv6 packets.
    pub ipv6: u64,
    /// TCP packets.
    pub tcp: u64,
    /// UDP packets.
    pub udp: u64,
    /// ICMP packets.
    pub icmp: u64,
    /// Other IP protocols.
    pub other_ip: u64,
    /// Frames without IP.
    pub non_ip: u64,
    /// Frames with VLAN tags.
    pub vlan: u64,
    /// Frames whose decoding stopped early.
    pub invalid: u64,
    /// IPv4 headers with a bad checksum (only when validation is on).
    pub checksum_bad: u64,
    /// Flows created.
    pub flows_created: u64,
    /// Flows ended by timeout.
    pub flows_timeout: u64,
    /// Flows evicted by the table cap.
    pub flows_evicted: u64,
    /// Flows ended at shutdown.
    pub flows_shutdown: u64,
    /// Flows ended by TCP port reuse.
    pub flows_reused: u64,
    /// TCP flows created.
    pub flows_tcp: u64,
    /// UDP flows created.
    pub flows_udp: u64,
    /// Other flows created.
    pub flows_other: u64,
    /// Reassembly.
    pub stream: StreamCounters,
    /// Defragmentation.
    pub defrag: DefragCounters,
    /// Anomalies by name (all occurrences).
    pub anomalies: BTreeMap<&'static str, u64>,
    /// Anomaly records written.
    pub anomaly_records: u64,
    /// Anomaly occurrences not written (rate limited), counted here.
    pub anomaly_suppressed: u64,
    /// Events that failed to serialise.
    pub serialize_errors: u64,
}

/// What a worker reports at a stats mark.
#[derive(Debug, Clone, Default)]
pub struct WorkerSnapshot {
    /// Counters.
    pub counters: Counters,
    /// Flows in the table now.
    pub flows_active: u64,
    /// Out-of-order bytes buffered now.
    pub reassembly_memory: u64,
    /// Fragment bytes held now.
    pub defrag_memory: u64,
    /// App-layer counters.
    pub app: centinela_app::AppStats,
    /// Detector counters (JSON, merged by summing numbers).
    pub detect: Value,
    /// Detector memory.
    pub detect_memory: u64,
}

/// The reader's counters.
#[derive(Debug, Clone, Default)]
pub struct ReaderCounters {
    /// Packets read.
    pub packets: u64,
    /// Bytes read (original length).
    pub bytes: u64,
    /// Packets cut to `decode.max_packet_bytes`.
    pub truncated: u64,
    /// Drops by reason (`queue_full`, …).
    pub drops: BTreeMap<&'static str, u64>,
    /// Kernel counters (live capture): received, dropped, interface dropped.
    pub kernel: Option<(u64, u64, u64)>,
    /// Worker queue depths in batches (live capture only).
    pub queue_depths: Option<Vec<usize>>,
    /// Capture errors (corrupt or truncated files, capture failures).
    pub errors: u64,
    /// Time of the first packet.
    pub start: Option<centinela_events::Timestamp>,
}

macro_rules! add_fields {
    ($dst:expr, $src:expr, $($f:ident),*) => { $( $dst.$f += $src.$f; )* };
}

impl Counters {
    /// Add another worker's counters.
    pub fn merge(&mut self, o: &Counters) {
        add_fields!(
            self,
            o,
            pkts,
            bytes,
            ipv4,
            ipv6,
            tcp,
            udp,
            icmp,
            other_ip,
            non_ip,
            vlan,
            invalid,
            checksum_bad,
            flows_created,
            flows_timeout,
            flows_evicted,
            flows_shutdown,
            flows_reused,
            flows_tcp,
            flows_udp,
            flows_other,
            anomaly_records,
            anomaly_suppressed,
            serialize_errors
        );
        add_fields!(
            self.stream,
            o.stream,
            segments,
            delivered,
            retransmissions,
            ooo_segments,
            gaps,
            gap_bytes,
            overlap_different,
            overflows,
            midstream,
            ignored,
            bypassed
        );
        add_fields!(self.defrag, o.defrag, fragments, reassembled, timeouts, cap_drops, overlaps, too_large);
        for (k, v) in &o.anomalies {
            *self.anomalies.entry(k).or_default() += v;
        }
    }

    /// Count one anomaly occurrence.
    pub fn anomaly(&mut self, name: &'static str) {
        *self.anomalies.entry(name).or_default() += 1;
    }
}

/// Sum two JSON values: numbers add, objects merge key by key, anything
/// else keeps the first value.
pub fn sum_json(a: &mut Value, b: &Value) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in y {
                match x.get_mut(k) {
                    Some(slot) => sum_json(slot, v),
                    None => {
                        x.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (a @ Value::Number(_), Value::Number(n)) => {
            if let (Some(p), Some(q)) = (a.as_u64(), n.as_u64()) {
                *a = json!(p.saturating_add(q));
            } else if let (Some(p), Some(q)) = (a.as_f64(), n.as_f64()) {
                *a = json!(p + q);
            }
        }
        (a @ Value::Null, b) => *a = b.clone(),
        _ => {}
    }
}

/// Build the `stats` body from merged worker snapshots and reader counters.
pub fn stats_json(
    uptime_s: i64,
    w: &WorkerSnapshot,
    r: &ReaderCounters,
    extra: Option<(&str, Value)>,
) -> Value {
    let c = &w.counters;
    let mut drops: Map<String, Value> = r.drops.iter().map(|(k, v)| ((*k).to_string(), json!(v))).collect();
    drops.insert("defrag_cap".into(), json!(c.defrag.cap_drops));
    let mut capture = json!({
        "packets": r.packets,
        "bytes": r.bytes,
        "truncated": r.truncated,
        "errors": r.errors,
        "drops": drops,
    });
    if let Some((recv, drop, ifdrop)) = r.kernel {
        capture["kernel_packets"] = json!(recv);
        capture["kernel_drops"] = json!(drop);
        capture["kernel_ifdrops"] = json!(ifdrop);
    }
    let anomalies: Map<String, Value> =
        c.anomalies.iter().map(|(k, v)| ((*k).to_string(), json!(v))).collect();
    let mut v = json!({
        "uptime": uptime_s.max(0),
        "capture": capture,
        "decoder": {
            "pkts": c.pkts,
            "bytes": c.bytes,
            "ipv4": c.ipv4,
            "ipv6": c.ipv6,
            "tcp": c.tcp,
            "udp": c.udp,
            "icmp": c.icmp,
            "other_ip": c.other_ip,
            "non_ip": c.non_ip,
            "vlan": c.vlan,
            "invalid": c.invalid,
            "checksum_bad": c.checksum_bad,
        },
        "defrag": {
            "fragments": c.defrag.fragments,
            "reassembled": c.defrag.reassembled,
            "timeouts": c.defrag.timeouts,
            "cap_drops": c.defrag.cap_drops,
            "overlaps": c.defrag.overlaps,
            "too_large": c.defrag.too_large,
            "memory": w.defrag_memory,
        },
        "flow": {
            "active": w.flows_active,
            "created": c.flows_created,
            "tcp": c.flows_tcp,
            "udp": c.flows_udp,
            "other": c.flows_other,
            "timeout": c.flows_timeout,
            "evicted": c.flows_evicted,
            "reused": c.flows_reused,
            "shutdown": c.flows_shutdown,
        },
        "tcp": {
            "segments": c.stream.segments,
            "reassembled_bytes": c.stream.delivered,
            "retransmissions": c.stream.retransmissions,
            "ooo_segments": c.stream.ooo_segments,
            "gaps": c.stream.gaps,
            "gap_bytes": c.stream.gap_bytes,
            "overlap_different_data": c.stream.overlap_different,
            "reassembly_overflow": c.stream.overflows,
            "midstream": c.stream.midstream,
            "ignored": c.stream.ignored,
            "bypassed_segments": c.stream.bypassed,
            "reassembly_memory": w.reassembly_memory,
        },
        "anomaly": {
            "records": c.anomaly_records,
            "suppressed": c.anomaly_suppressed,
            "by_name": anomalies,
        },
        "app_layer": w.app.to_json(),
        "detect": w.detect,
    });
    v["detect"]["memory"] = json!(w.detect_memory);
    if let Some(q) = &r.queue_depths {
        v["pipeline"] = json!({ "queue_depths": q });
    }
    if c.serialize_errors > 0 {
        v["pipeline"]["serialize_errors"] = json!(c.serialize_errors);
    }
    if let Some((k, e)) = extra {
        v[k] = e;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_and_sum() {
        let mut a = Counters { pkts: 1, ..Default::default() };
        a.anomaly("x");
        let mut b = Counters { pkts: 2, ..Default::default() };
        b.anomaly("x");
        b.anomaly("y");
        a.merge(&b);
        assert_eq!(a.pkts, 3);
        assert_eq!(a.anomalies.get("x"), Some(&2));
        let mut j = json!({"a": 1, "o": {"b": 2}});
        sum_json(&mut j, &json!({"a": 2, "o": {"b": 3, "c": 1}, "s": "x"}));
        assert_eq!(j, json!({"a": 3, "o": {"b": 5, "c": 1}, "s": "x"}));
    }
}
