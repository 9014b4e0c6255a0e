//! Per-worker application-layer counters ([`AppStats`]).
//!
//! Every counter is a plain integer bumped on the hot path; anomaly counters
//! are keyed by their stable `&'static str` name, so after the first
//! occurrence of a name nothing allocates. `to_json` is called once per
//! stats period by the sensor.

use crate::AppProto;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Counters of one protocol.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProtoStats {
    /// Flows handled with this protocol.
    pub flows: u64,
    /// PDUs decoded (Modbus ADUs, DNP3 link frames, DNS messages).
    pub pdus: u64,
    /// Application messages (DNP3 application fragments; equals `pdus` for
    /// Modbus and DNS).
    pub messages: u64,
    /// Transactions completed (request paired with its response).
    pub txs_paired: u64,
    /// Requests flushed without a response (flow end, flood, timeout).
    pub txs_unanswered: u64,
    /// Responses without a matching request (or unsolicited DNP3 responses).
    pub txs_unmatched: u64,
    /// Protocol records emitted.
    pub records: u64,
    /// Protocol records suppressed by the per-flow rate limit.
    pub records_rate_limited: u64,
    /// Pending-transaction queue overflows (`flooded`).
    pub floods: u64,
    /// Bytes dropped by framers (garbage, bad CRC, resync after a gap).
    pub bytes_discarded: u64,
    /// Leftover-buffer overflows (a PDU larger than the buffer cap).
    pub leftover_overflows: u64,
    /// Gaps signalled by the stream layer.
    pub gaps: u64,
}

/// Application-layer counters of one worker; lives in
/// [`AppOutput::stats`](crate::AppOutput) and accumulates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppStats {
    /// Modbus counters.
    pub modbus: ProtoStats,
    /// DNP3 counters.
    pub dnp3: ProtoStats,
    /// DNS counters.
    pub dns: ProtoStats,
    /// Occurrences of each anomaly (every occurrence, logged or folded).
    pub anomalies: BTreeMap<&'static str, u64>,
    /// Anomaly occurrences folded into a later counted record instead of
    /// being logged one by one.
    pub anomalies_folded: u64,
}

impl AppStats {
    /// The counters of one protocol.
    pub fn proto_mut(&mut self, p: AppProto) -> &mut ProtoStats {
        match p {
            AppProto::Modbus => &mut self.modbus,
            AppProto::Dnp3 => &mut self.dnp3,
            AppProto::Dns => &mut self.dns,
        }
    }

    /// Count one anomaly occurrence.
    pub fn count_anomaly(&mut self, name: &'static str) {
        *self.anomalies.entry(name).or_insert(0) += 1;
    }

    /// Add another worker's counters to these.
    pub fn merge(&mut self, other: &AppStats) {
        self.modbus.merge(&other.modbus);
        self.dnp3.merge(&other.dnp3);
        self.dns.merge(&other.dns);
        for (k, v) in &other.anomalies {
            *self.anomalies.entry(k).or_insert(0) += v;
        }
        self.anomalies_folded += other.anomalies_folded;
    }

    /// The counters as the `app_layer` part of the sensor's `stats` event.
    pub fn to_json(&self) -> Value {
        let mut anomalies = Map::new();
        for (k, v) in &self.anomalies {
            anomalies.insert((*k).to_string(), json!(v));
        }
        json!({
            "modbus": self.modbus.to_json(),
            "dnp3": self.dnp3.to_json(),
            "dns": self.dns.to_json(),
            "anomalies": anomalies,
            "anomalies_folded": self.anomalies_folded,
        })
    }
}

impl ProtoStats {
    fn merge(&mut self, o: &ProtoStats) {
        self.flows += o.flows;
        self.pdus += o.pdus;
        self.messages += o.messages;
        self.txs_paired += o.txs_paired;
        self.txs_unanswered += o.txs_unanswered;
        self.txs_unmatched += o.txs_unmatched;
        self.records += o.records;
        self.records_rate_limited += o.records_rate_limited;
        self.floods += o.floods;
        self.bytes_discarded += o.bytes_discarded;
        self.leftover_overflows += o.leftover_overflows;
        self.gaps += o.gaps;
    }

    fn to_json(&self) -> Value {
        json!({
            "flows": self.flows,
            "pdus": self.pdus,
            "messages": self.messages,
            "txs_paired": self.txs_paired,
            "txs_unanswered": self.txs_unanswered,
            "txs_unmatched": self.txs_unmatched,
            "records": self.records,
            "records_rate_limited": self.records_rate_limited,
            "floods": self.floods,
            "bytes_discarded": self.bytes_discarded,
            "leftover_overflows": self.leftover_overflows,
            "gaps": self.gaps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_and_json_lists_anomalies() {
        let mut a = AppStats::default();
        a.modbus.pdus = 3;
        a.count_anomaly("modbus.flooded");
        let mut b = AppStats::default();
        b.modbus.pdus = 4;
        b.dns.records = 2;
        b.count_anomaly("modbus.flooded");
        b.count_anomaly("dns.z_flag_set");
        b.anomalies_folded = 5;
        a.merge(&b);
        assert_eq!(a.modbus.pdus, 7);
        assert_eq!(a.dns.records, 2);
        assert_eq!(a.anomalies.get("modbus.flooded"), Some(&2));
        let j = a.to_json();
        assert_eq!(j["modbus"]["pdus"], 7);
        assert_eq!(j["anomalies"]["dns.z_flag_set"], 1);
        assert_eq!(j["anomalies_folded"], 5);
    }
}
