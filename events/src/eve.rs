//! The EVE record: a common header plus one typed body.
//!
//! Field names follow Suricata 8's EVE schema. A record serialises to one JSON
//! object: `{"timestamp":…,"flow_id":…,"event_type":"alert",…,"alert":{…}}`.
//! Centinela-only additions live under clearly named keys inside the body
//! objects (documented in `docs/EVENTS.md`).
//!
//! Protocol bodies (`modbus`, `dnp3`, `dns`, `flow`, `stats`, `anomaly`) are
//! typed structs owned by the pipeline; this module defines the shared header,
//! alerts (produced by every detector) and heartbeats (forwarding).

use crate::{JsonInt, Timestamp};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;

/// One EVE record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Packet time of the packet that caused the record (never wall clock on
    /// the decode/detect path).
    pub timestamp: Timestamp,
    /// Flow identifier, stable within one run (hash of the 5-tuple and the
    /// flow's first packet time, so replays give the same value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_id: Option<u64>,
    /// Capture interface (live capture only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_iface: Option<Arc<str>>,
    /// Index of the packet in the pcap (1-based), replay only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pcap_cnt: Option<u64>,
    /// Source address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src_ip: Option<IpAddr>,
    /// Source port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src_port: Option<u16>,
    /// Destination address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dest_ip: Option<IpAddr>,
    /// Destination port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dest_port: Option<u16>,
    /// Transport protocol name as Suricata writes it (`TCP`, `UDP`, `ICMP`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proto: Option<Cow<'static, str>>,
    /// Application protocol decided for the flow (`modbus`, `dnp3`, `dns`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_proto: Option<Cow<'static, str>>,
    /// VLAN ids, outermost first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vlan: Vec<u16>,
    /// Community ID v1 of the flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub community_id: Option<Arc<str>>,
    /// Sensor-run metadata (sensor id, site): *not* part of the deterministic
    /// replay output; set by the forwarder/collector, omitted in EVE files
    /// unless configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The typed body; decides `event_type`.
    #[serde(flatten)]
    pub body: EventBody,
}

impl Event {
    /// Append this record as one compact JSON object (no newline) to `out`:
    /// the same bytes as `serde_json::to_writer(out, self)`, written without
    /// the generic machinery (the header by hand, [`RawJson`] bodies copied
    /// verbatim). This is the sensor's per-record encoder.
    ///
    /// # Errors
    /// Only when a body's `Serialize` implementation fails; `out` may then
    /// hold a partial record (the caller truncates).
    pub fn write_json(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        self.head().write(out)?;
        write_event_type(out, self.body.event_type());
        match &self.body {
            EventBody::Alert { alert } => serde_json::to_writer(&mut *out, alert)?,
            EventBody::Anomaly { anomaly } => serde_json::to_writer(&mut *out, anomaly)?,
            EventBody::Modbus { modbus: raw }
            | EventBody::Dnp3 { dnp3: raw }
            | EventBody::Dns { dns: raw }
            | EventBody::Flow { flow: raw } => out.extend_from_slice(raw.as_bytes()),
            EventBody::Stats { stats } => serde_json::to_writer(&mut *out, stats)?,
            EventBody::Heartbeat { heartbeat } => serde_json::to_writer(&mut *out, heartbeat)?,
        }
        out.push(b'}');
        Ok(())
    }
}

impl Event {
    /// The header fields, borrowed.
    pub fn head(&self) -> Head<'_> {
        Head {
            timestamp: self.timestamp,
            flow_id: self.flow_id,
            in_iface: self.in_iface.as_deref(),
            pcap_cnt: self.pcap_cnt,
            src_ip: self.src_ip,
            src_port: self.src_port,
            dest_ip: self.dest_ip,
            dest_port: self.dest_port,
            proto: self.proto.as_deref(),
            app_proto: self.app_proto.as_deref(),
            vlan: &self.vlan,
            community_id: self.community_id.as_deref(),
            host: self.host.as_deref(),
        }
    }
}

/// An EVE record's header fields, borrowed from wherever they live (an
/// [`Event`], or a flow's state when a record is written straight into an
/// output buffer with [`write_line`]). Written by one function for both,
/// so the bytes cannot differ.
#[derive(Debug, Clone, Copy)]
pub struct Head<'a> {
    pub timestamp: Timestamp,
    pub flow_id: Option<u64>,
    pub in_iface: Option<&'a str>,
    pub pcap_cnt: Option<u64>,
    pub src_ip: Option<IpAddr>,
    pub src_port: Option<u16>,
    pub dest_ip: Option<IpAddr>,
    pub dest_port: Option<u16>,
    pub proto: Option<&'a str>,
    pub app_proto: Option<&'a str>,
    pub vlan: &'a [u16],
    pub community_id: Option<&'a str>,
    pub host: Option<&'a str>,
}

impl Head<'_> {
    /// `{"timestamp":…` up to and including `host`: exactly the bytes
    /// `serde_json` writes for these fields of an [`Event`].
    ///
    /// # Errors
    /// Only from the generic timestamp path (years outside 0000–9999).
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        self.write_prefix(out)?;
        self.write_tail(out);
        Ok(())
    }

    /// `{"timestamp":…` up to and including `pcap_cnt`: the part of
    /// [`Head::write`] that changes from one record of a flow to the next.
    ///
    /// # Errors
    /// As [`Head::write`].
    pub fn write_prefix(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        out.extend_from_slice(b"{\"timestamp\":");
        if !self.timestamp.write_quoted(out) {
            serde_json::to_writer(&mut *out, &self.timestamp)?;
        }
        if let Some(v) = self.flow_id {
            out.extend_from_slice(b",\"flow_id\":");
            JsonInt::write_to(v, out);
        }
        if let Some(v) = self.in_iface {
            out.extend_from_slice(b",\"in_iface\":");
            crate::fastjson::push_str(out, v);
        }
        if let Some(v) = self.pcap_cnt {
            out.extend_from_slice(b",\"pcap_cnt\":");
            JsonInt::write_to(v, out);
        }
        Ok(())
    }

    /// `src_ip` up to and including `host`: the part of [`Head::write`] that
    /// is the same for every record of one flow sent by one side (a record
    /// writer may render it once per flow and direction and pass it to
    /// [`write_line`]).
    pub fn write_tail(&self, out: &mut Vec<u8>) {
        if let Some(ip) = self.src_ip {
            out.extend_from_slice(b",\"src_ip\":");
            write_ip(out, ip);
        }
        if let Some(v) = self.src_port {
            out.extend_from_slice(b",\"src_port\":");
            JsonInt::write_to(v, out);
        }
        if let Some(ip) = self.dest_ip {
            out.extend_from_slice(b",\"dest_ip\":");
            write_ip(out, ip);
        }
        if let Some(v) = self.dest_port {
            out.extend_from_slice(b",\"dest_port\":");
            JsonInt::write_to(v, out);
        }
        // The usual names as whole literals (constant-size copies, no
        // escape scan); any other text escaped as usual.
        if let Some(v) = self.proto {
            match v {
                "TCP" => out.extend_from_slice(b",\"proto\":\"TCP\""),
                "UDP" => out.extend_from_slice(b",\"proto\":\"UDP\""),
                _ => {
                    out.extend_from_slice(b",\"proto\":");
                    crate::fastjson::push_str(out, v);
                }
            }
        }
        if let Some(v) = self.app_proto {
            match v {
                "modbus" => out.extend_from_slice(b",\"app_proto\":\"modbus\""),
                "dnp3" => out.extend_from_slice(b",\"app_proto\":\"dnp3\""),
                "dns" => out.extend_from_slice(b",\"app_proto\":\"dns\""),
                _ => {
                    out.extend_from_slice(b",\"app_proto\":");
                    crate::fastjson::push_str(out, v);
                }
            }
        }
        if !self.vlan.is_empty() {
            out.extend_from_slice(b",\"vlan\":[");
            for (i, v) in self.vlan.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                JsonInt::write_to(*v, out);
            }
            out.push(b']');
        }
        if let Some(v) = self.community_id {
            out.extend_from_slice(b",\"community_id\":");
            crate::fastjson::push_str(out, v);
        }
        if let Some(v) = self.host {
            out.extend_from_slice(b",\"host\":");
            crate::fastjson::push_str(out, v);
        }
    }
}

/// `,"event_type":"<ty>","<ty>":`.
fn write_event_type(out: &mut Vec<u8>, ty: &str) {
    out.extend_from_slice(b",\"event_type\":\"");
    out.extend_from_slice(ty.as_bytes());
    out.extend_from_slice(b"\",\"");
    out.extend_from_slice(ty.as_bytes());
    out.extend_from_slice(b"\":");
}

/// Append one EVE record straight to `out` (no newline): `head`, then
/// `event_type` and a body written by `body` under the `event_type` key;
/// the same bytes as an [`Event`] with that header and a [`RawJson`] body
/// of what `body` writes, without building either (the hot path of
/// protocol and flow records). `event_type` must need no JSON escaping
/// (the fixed record type names). `tail`, when given, is what
/// [`Head::write_tail`] wrote for `head` earlier, copied instead of written
/// again.
///
/// # Errors
/// What `head` or `body` return; `out` is then left as it was.
pub fn write_line<F>(
    out: &mut Vec<u8>,
    head: &Head<'_>,
    tail: Option<&[u8]>,
    event_type: &'static str,
    body: F,
) -> Result<(), serde_json::Error>
where
    F: FnOnce(&mut crate::JsonWriter<'_>) -> Result<(), serde_json::Error>,
{
    debug_assert!(crate::fastjson::find_escape(event_type.as_bytes()).is_none());
    let start = out.len();
    let r = head.write_prefix(out).and_then(|()| {
        match tail {
            Some(t) => out.extend_from_slice(t),
            None => head.write_tail(out),
        }
        write_event_type(out, event_type);
        body(&mut crate::JsonWriter::new(out))
    });
    match r {
        Ok(()) => {
            out.push(b'}');
            Ok(())
        }
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

/// An address as a JSON string, as serde writes it (`Display` text).
fn write_ip(out: &mut Vec<u8>, ip: IpAddr) {
    out.push(b'"');
    match ip {
        IpAddr::V4(v4) => {
            let (buf, n) = ipv4_text(v4);
            out.extend_from_slice(buf.get(..n).unwrap_or_default());
        }
        IpAddr::V6(v6) => {
            use std::io::Write;
            // `Display` of an IPv6 address is at most 39 ASCII bytes (45
            // with an embedded IPv4 form); no escaping needed.
            let _ = write!(out, "{v6}");
        }
    }
    out.push(b'"');
}

/// The dotted-quad text of `a` (what `Display` writes), assembled on the
/// stack from a table of octet texts: the bytes and how many there are (at
/// most 15).
#[inline]
pub fn ipv4_text(a: std::net::Ipv4Addr) -> ([u8; 16], usize) {
    let mut buf = [0u8; 16];
    let mut n = 0;
    for o in a.octets() {
        let (digits, len) = OCTET_TEXT[usize::from(o)];
        let len = usize::from(len);
        if let Some(d) = buf.get_mut(n..n + 3) {
            d.copy_from_slice(&digits);
        }
        if let Some(dot) = buf.get_mut(n + len) {
            *dot = b'.';
        }
        n += len + 1;
    }
    // The last dot is not part of the text.
    (buf, n - 1)
}

/// Decimal text of every octet value, left-aligned, with its length.
const OCTET_TEXT: [([u8; 3], u8); 256] = {
    let mut t = [([0u8; 3], 0u8); 256];
    let mut i = 0;
    while i < 256 {
        let v = i as u8;
        t[i] = if v >= 100 {
            ([b'0' + v / 100, b'0' + (v / 10) % 10, b'0' + v % 10], 3)
        } else if v >= 10 {
            ([b'0' + v / 10, b'0' + v % 10, 0], 2)
        } else {
            ([b'0' + v, 0, 0], 1)
        };
        i += 1;
    }
    t
};

/// The body of an EVE record. The variant name is the `event_type`; the
/// payload sits under a key of the same name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event_type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventBody {
    /// A detection: signature match, policy violation, DNS exfiltration.
    Alert {
        /// The alert.
        alert: Alert,
    },
    /// A protocol or pipeline anomaly (parser flag, flood, overlap, …).
    Anomaly {
        /// The anomaly.
        anomaly: Anomaly,
    },
    /// A Modbus transaction.
    Modbus {
        /// The transaction.
        modbus: RawJson,
    },
    /// A DNP3 message/transaction.
    Dnp3 {
        /// The message.
        dnp3: RawJson,
    },
    /// A DNS query or answer.
    Dns {
        /// The DNS record.
        dns: RawJson,
    },
    /// A flow record, written when a flow ends.
    Flow {
        /// The flow record.
        flow: RawJson,
    },
    /// Periodic pipeline counters.
    Stats {
        /// The counters.
        stats: serde_json::Value,
    },
    /// Sensor health, sent by the forwarder.
    Heartbeat {
        /// The health report.
        heartbeat: Heartbeat,
    },
}

impl EventBody {
    /// The `event_type` string of this body.
    pub fn event_type(&self) -> &'static str {
        match self {
            EventBody::Alert { .. } => "alert",
            EventBody::Anomaly { .. } => "anomaly",
            EventBody::Modbus { .. } => "modbus",
            EventBody::Dnp3 { .. } => "dnp3",
            EventBody::Dns { .. } => "dns",
            EventBody::Flow { .. } => "flow",
            EventBody::Stats { .. } => "stats",
            EventBody::Heartbeat { .. } => "heartbeat",
        }
    }

    /// Whether this record must survive spool pressure (alerts, anomalies and
    /// health are dropped last).
    pub fn is_priority(&self) -> bool {
        matches!(self, EventBody::Alert { .. } | EventBody::Anomaly { .. } | EventBody::Heartbeat { .. })
    }
}

/// A record body serialised once, when the record is built, by a typed
/// serializer that borrows from the packet (the hot path builds no
/// `serde_json::Value` tree: see `centinela-app`'s record builders). It is
/// written verbatim inside the EVE line by [`Event::write_json`], so its key
/// order is the order of the typed struct's fields.
///
/// Invariant: the text is one valid JSON value in UTF-8 (it is only ever
/// produced by `serde_json`'s serializer, the sensor's own serializer or a
/// [`crate::JsonWriter`], which all write `&str` contents, ASCII punctuation
/// and digits only, or by re-serialising a parsed value). It is kept as
/// bytes, so the hot path neither re-validates it nor converts it: the text
/// is checked only where a `&str` is asked for ([`RawJson::get`], off the
/// hot path), and in debug builds where it is built.
///
/// Deserialising goes through [`serde_json::Value`] (works with any
/// deserializer, including the buffered one `#[serde(flatten)]` uses); the
/// result is the compact re-serialisation of that value.
#[derive(Clone, PartialEq, Eq)]
pub struct RawJson(Box<[u8]>);

/// Scratch buffers larger than this are released after use (the per-thread
/// serialisation buffer stays bounded).
const SCRATCH_KEEP_BYTES: usize = 1 << 20;

thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl RawJson {
    /// Serialise `body` (a JSON object, by convention) once: into a reused
    /// per-thread buffer, then one exact-size allocation.
    ///
    /// # Errors
    /// When `body`'s `Serialize` implementation fails (a map with non-string
    /// keys, a custom error).
    pub fn from_serialize<T: Serialize + ?Sized>(body: &T) -> Result<Self, serde_json::Error> {
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut buf) => {
                buf.clear();
                // `fastjson` writes serde_json's exact bytes; on failure
                // serde_json runs again for its exact error value.
                let r = match crate::fastjson::to_writer(&mut buf, body) {
                    Ok(()) => Ok(Self::from_json_bytes(&buf)),
                    Err(_) => {
                        buf.clear();
                        serde_json::to_writer(&mut *buf, body).map(|()| Self::from_json_bytes(&buf))
                    }
                };
                if buf.capacity() > SCRATCH_KEEP_BYTES {
                    *buf = Vec::new();
                }
                r
            }
            // Re-entered from inside a `Serialize` impl: no shared scratch.
            Err(_) => {
                let mut v = Vec::new();
                match crate::fastjson::to_writer(&mut v, body) {
                    Ok(()) => Ok(Self::from_json_bytes(&v)),
                    Err(_) => serde_json::to_vec(body).map(|v| Self::from_json_bytes(&v)),
                }
            }
        })
    }

    /// A body written by hand through a [`crate::JsonWriter`] (the hottest
    /// records), into the same reused per-thread buffer, then one exact-size
    /// allocation. The closure must write exactly one JSON value.
    ///
    /// # Errors
    /// Whatever the closure returns (a failing [`crate::JsonWriter::value`]).
    pub fn from_writer<F>(write: F) -> Result<Self, serde_json::Error>
    where
        F: FnOnce(&mut crate::JsonWriter<'_>) -> Result<(), serde_json::Error>,
    {
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut buf) => {
                buf.clear();
                let r = write(&mut crate::JsonWriter::new(&mut buf)).map(|()| Self::from_json_bytes(&buf));
                if buf.capacity() > SCRATCH_KEEP_BYTES {
                    *buf = Vec::new();
                }
                r
            }
            // Re-entered from inside a `Serialize` impl: no shared scratch.
            Err(_) => {
                let mut v = Vec::new();
                write(&mut crate::JsonWriter::new(&mut v))?;
                Ok(Self::from_json_bytes(&v))
            }
        })
    }

    fn from_json_bytes(b: &[u8]) -> Self {
        debug_assert!(std::str::from_utf8(b).is_ok(), "record body is not UTF-8");
        Self(Box::from(b))
    }

    /// The body of an already-built [`serde_json::Value`] (rare paths, tests).
    pub fn from_value(value: &serde_json::Value) -> Self {
        // Serialising a `Value` cannot fail (string keys only).
        Self::from_serialize(value).unwrap_or_else(|_| Self::empty_object())
    }

    /// `{}`.
    pub fn empty_object() -> Self {
        Self(Box::from(&b"{}"[..]))
    }

    /// The JSON text (validated here: off the hot path; the writers only
    /// produce UTF-8, so the `null` fallback is unreachable).
    pub fn get(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("null")
    }

    /// The JSON text's bytes, as the EVE line writer copies them.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Parsed back into a [`serde_json::Value`] (tests, tools; never the hot path).
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_slice(&self.0).unwrap_or(serde_json::Value::Null)
    }
}

impl std::fmt::Debug for RawJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.get())
    }
}

/// Writes `json`, a JSON text produced by a specialised encoder, verbatim
/// in place of one value. It goes through `serde_json`'s raw-value marker
/// struct, so `serde_json` (with its `raw_value` feature, enabled in this
/// workspace) and the sensor's own serializer both copy the text unchanged
/// and give the same bytes.
///
/// The caller guarantees that `json` is exactly one valid JSON value: nothing
/// validates it on this path (the record builders that use it are checked
/// byte for byte against `serde_json` output in their tests).
///
/// # Errors
/// Whatever the serializer returns.
pub fn serialize_json_text<S: serde::Serializer>(s: S, json: &str) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeStruct;
    let mut st = s.serialize_struct(crate::fastjson::RAW_VALUE_TOKEN, 1)?;
    st.serialize_field(crate::fastjson::RAW_VALUE_TOKEN, json)?;
    st.end()
}

impl Serialize for RawJson {
    /// Generic path: the sensor's hot path does not come here
    /// ([`Event::write_json`] copies the text verbatim). The text is passed
    /// through as a `serde_json` raw value (one validating parse), so
    /// `serde_json::to_vec(&event)` gives the same bytes as
    /// `Event::write_json`; other serializers are not supported for these
    /// bodies (they would see `serde_json`'s raw-value marker struct).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match serde_json::value::RawValue::from_string(self.get().to_string()) {
            Ok(raw) => raw.serialize(s),
            Err(e) => Err(serde::ser::Error::custom(e)),
        }
    }
}

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Self::from_serialize(&v).map_err(serde::de::Error::custom)
    }
}

/// An anomaly, Suricata's `anomaly` object shape: `type` is `decode`
/// (L2–L4), `stream` (TCP reassembly), `applayer` (protocol parsers) or
/// `pipeline` (caps, floods, drops; Centinela addition); `event` is a stable
/// snake-case name listed in `docs/EVENTS.md` and counted in stats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    /// `decode`, `stream`, `applayer` or `pipeline`.
    #[serde(rename = "type")]
    pub kind: Cow<'static, str>,
    /// Stable event name, e.g. `modbus.invalid_length`, `dnp3.bad_body_crc`.
    pub event: Cow<'static, str>,
    /// Layer that raised it (`proto_parser`, `proto_detect`, `ipv4`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<Cow<'static, str>>,
    /// Application protocol, for `applayer` anomalies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_proto: Option<Cow<'static, str>>,
    /// How many occurrences this record stands for (> 1 when rate limiting
    /// folded repeats into one record).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub count: u64,
    /// Structured detail (offsets, lengths, values that tripped the check).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
}

fn one() -> u64 {
    1
}

fn is_one(n: &u64) -> bool {
    *n == 1
}

/// Alert severity, Suricata's convention: 1 is the most severe.
pub type Severity = u8;

/// An alert (Suricata's `alert` object plus Centinela's `explanation`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// `allowed`, `blocked`: always `allowed` for a passive sensor.
    pub action: String,
    /// Generator id (1 for signatures, see `docs/EVENTS.md` for the others).
    pub gid: u32,
    /// Stable signature id.
    pub signature_id: u32,
    /// Revision of the signature/detector.
    pub rev: u32,
    /// Human-readable signature message.
    pub signature: String,
    /// Classification (e.g. `Potential Corporate Privacy Violation`).
    pub category: String,
    /// 1 (high) … 4 (informational).
    pub severity: Severity,
    /// Free-form metadata (MITRE ATT&CK for ICS ids, tags).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
    /// Why the detector fired: the features with their values, the window,
    /// samples. Centinela addition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<serde_json::Value>,
}

/// Sensor health, carried as `event_type: heartbeat`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Heartbeat {
    /// Sensor software version.
    pub version: String,
    /// Seconds since the sensor started.
    pub uptime_s: u64,
    /// Packets seen.
    pub packets: u64,
    /// Drops by reason (`capture_kernel`, `queue_full`, `spool_full`, …).
    #[serde(default)]
    pub drops: std::collections::BTreeMap<String, u64>,
    /// Records waiting in the spool.
    pub spool_depth: u64,
    /// Bytes waiting in the spool.
    #[serde(default)]
    pub spool_bytes: u64,
    /// Age in seconds of the oldest unacknowledged spooled record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_unacked_age_s: Option<u64>,
    /// Wall-clock time of the last acknowledged batch (RFC 3339), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_send_ok: Option<String>,
    /// SHA-256 of the effective configuration.
    #[serde(default)]
    pub config_hash: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_text_equals_display() {
        // Every octet value in every position, next to short and long ones.
        for v in 0..=255u8 {
            for pos in 0..4 {
                for other in [0u8, 7, 42, 255] {
                    let mut o = [other; 4];
                    o[pos] = v;
                    let ip = IpAddr::from(o);
                    let mut out = Vec::new();
                    write_ip(&mut out, ip);
                    assert_eq!(String::from_utf8(out).unwrap(), format!("\"{ip}\""));
                }
            }
        }
    }

    #[test]
    fn alert_serialises_with_event_type_and_key() {
        let ev = Event {
            timestamp: Timestamp::from_micros(1_470_763_727, 1),
            flow_id: Some(42),
            in_iface: None,
            pcap_cnt: Some(7),
            src_ip: Some("10.0.0.1".parse().unwrap()),
            src_port: Some(1234),
            dest_ip: Some("10.0.0.2".parse().unwrap()),
            dest_port: Some(502),
            proto: Some("TCP".into()),
            app_proto: Some("modbus".into()),
            vlan: vec![],
            community_id: None,
            host: None,
            body: EventBody::Alert {
                alert: Alert {
                    action: "allowed".into(),
                    gid: 1,
                    signature_id: 9_000_001,
                    rev: 1,
                    signature: "test".into(),
                    category: "Attempted Administrator Privilege Gain".into(),
                    severity: 1,
                    metadata: None,
                    explanation: None,
                },
            },
        };
        let s = serde_json::to_string(&ev).unwrap();
        assert!(
            s.starts_with(r#"{"timestamp":"2016-08-09T17:28:47.000001+0000","flow_id":42,"pcap_cnt":7"#),
            "{s}"
        );
        assert!(s.contains(r#""event_type":"alert","alert":{"action":"allowed""#), "{s}");
        let back: Event = serde_json::from_str(&s).unwrap();
        assert_eq!(back, ev);
        assert_eq!(back.body.event_type(), "alert");
        assert!(back.body.is_priority());
    }

    #[derive(Serialize)]
    struct Typed<'a> {
        b: &'a str,
        a: u32,
    }

    #[test]
    fn raw_body_is_written_verbatim_and_reads_back() {
        let body = RawJson::from_serialize(&Typed { b: "x\"y", a: 7 }).unwrap();
        assert_eq!(body.get(), r#"{"b":"x\"y","a":7}"#);
        let ev = Event {
            timestamp: Timestamp::from_micros(1, 0),
            flow_id: None,
            in_iface: Some("eth0".into()),
            pcap_cnt: None,
            src_ip: None,
            src_port: None,
            dest_ip: None,
            dest_port: None,
            proto: Some(Cow::Borrowed("TCP")),
            app_proto: None,
            vlan: vec![],
            community_id: Some("1:abc".into()),
            host: None,
            body: EventBody::Modbus { modbus: body },
        };
        let s = serde_json::to_string(&ev).unwrap();
        assert!(s.ends_with(r#","event_type":"modbus","modbus":{"b":"x\"y","a":7}}"#), "{s}");
        // Through `flatten`'s buffering deserializer: keys come back sorted
        // (via `Value`), the content is the same.
        let back: Event = serde_json::from_str(&s).unwrap();
        let EventBody::Modbus { modbus } = &back.body else { panic!("{back:?}") };
        assert_eq!(modbus.to_value(), serde_json::json!({"a": 7, "b": "x\"y"}));
        assert_eq!(back.in_iface.as_deref(), Some("eth0"));
        assert_eq!(RawJson::empty_object().get(), "{}");
    }

    #[test]
    fn write_line_leaves_the_buffer_as_it_was_on_failure() {
        let ev = Event {
            timestamp: Timestamp::from_micros(1, 0),
            flow_id: Some(7),
            in_iface: None,
            pcap_cnt: Some(1),
            src_ip: None,
            src_port: None,
            dest_ip: None,
            dest_port: None,
            proto: None,
            app_proto: None,
            vlan: vec![],
            community_id: None,
            host: None,
            body: EventBody::Flow { flow: RawJson::empty_object() },
        };
        let mut out = b"kept".to_vec();
        let r = write_line(&mut out, &ev.head(), None, "flow", |w| {
            w.raw("{\"partial\":");
            Err(serde::ser::Error::custom("boom"))
        });
        assert!(r.is_err());
        assert_eq!(out, b"kept");
    }

    fn sample_bodies() -> Vec<EventBody> {
        vec![
            EventBody::Modbus { modbus: RawJson::from_serialize(&Typed { b: "é\u{1}", a: 1 }).unwrap() },
            EventBody::Dnp3 { dnp3: RawJson::empty_object() },
            EventBody::Dns { dns: RawJson::from_value(&serde_json::json!({"z": [1, 2.5, null], "a": "q"})) },
            EventBody::Flow { flow: RawJson::from_value(&serde_json::json!({"age": 0})) },
            EventBody::Stats { stats: serde_json::json!({"x": {"y": 1}}) },
            EventBody::Anomaly {
                anomaly: Anomaly {
                    kind: Cow::Borrowed("decode"),
                    event: Cow::Owned("ipv4.trunc\"ated".to_string()),
                    layer: None,
                    app_proto: Some(Cow::Borrowed("dns")),
                    count: 3,
                    detail: Some(serde_json::json!({"len": 4})),
                },
            },
            EventBody::Alert {
                alert: Alert {
                    action: "allowed".into(),
                    gid: 1,
                    signature_id: 2,
                    rev: 3,
                    signature: "sig \\ \n".into(),
                    category: "c".into(),
                    severity: 2,
                    metadata: Some(serde_json::json!({"k": ["v"]})),
                    explanation: None,
                },
            },
            EventBody::Heartbeat { heartbeat: Heartbeat::default() },
        ]
    }

    #[test]
    fn write_json_matches_serde_for_every_header_shape_and_body() {
        let ips: [Option<IpAddr>; 5] = [
            None,
            Some("10.0.0.1".parse().unwrap()),
            Some("255.255.255.255".parse().unwrap()),
            Some("2001:db8::1".parse().unwrap()),
            Some("::ffff:192.0.2.1".parse().unwrap()),
        ];
        let times = [
            Timestamp::from_micros(1_470_763_727, 1),
            Timestamp::from_micros(0, 0),
            Timestamp::from_micros(-1, 999_999),
            // Outside the stack formatter's year range: generic path.
            Timestamp::from_micros(400_000_000_000, 5),
        ];
        let (mut n, mut lines) = (0, 0);
        for (k, body) in sample_bodies().into_iter().enumerate() {
            for (j, ip) in ips.iter().enumerate() {
                for (t, ts) in times.iter().enumerate() {
                    let on = |bit: usize| (k + j + t) & (1 << bit) != 0;
                    let ev = Event {
                        timestamp: *ts,
                        flow_id: on(0).then_some(u64::MAX - k as u64),
                        in_iface: on(1).then(|| Arc::from("eth\"0")),
                        pcap_cnt: on(2).then_some(j as u64),
                        src_ip: *ip,
                        src_port: on(3).then_some(65_535),
                        dest_ip: ips[(j + 1) % ips.len()],
                        dest_port: on(0).then_some(0),
                        // The names written as literals and others (one
                        // that needs escaping).
                        proto: on(1).then_some(Cow::Borrowed(["TCP", "UDP", "ICMP", "x\"y"][(k + t) % 4])),
                        app_proto: on(2).then(|| {
                            Cow::Owned(["modbus", "dnp3", "dns", "failed", "a\\b"][(j + k) % 5].to_string())
                        }),
                        vlan: if on(3) {
                            vec![10, 4095]
                        } else if on(1) {
                            vec![7]
                        } else {
                            vec![]
                        },
                        community_id: on(0).then(|| Arc::from("1:abc+/=")),
                        host: on(2).then(|| "site-1".to_string()),
                        body: body.clone(),
                    };
                    let mut fast = Vec::new();
                    ev.write_json(&mut fast).unwrap();
                    let slow = serde_json::to_vec(&ev).unwrap();
                    assert_eq!(String::from_utf8_lossy(&fast), String::from_utf8_lossy(&slow));
                    // Written straight from the borrowed header: same bytes.
                    if let EventBody::Modbus { modbus: raw }
                    | EventBody::Dnp3 { dnp3: raw }
                    | EventBody::Dns { dns: raw }
                    | EventBody::Flow { flow: raw } = &ev.body
                    {
                        let mut line = b"prefix".to_vec();
                        write_line(&mut line, &ev.head(), None, ev.body.event_type(), |w| {
                            w.raw(raw.get());
                            Ok(())
                        })
                        .unwrap();
                        assert_eq!(line.get(6..), Some(&fast[..]));
                        // With the tail rendered apart and passed in.
                        let mut tail = Vec::new();
                        ev.head().write_tail(&mut tail);
                        let mut again = Vec::new();
                        write_line(&mut again, &ev.head(), Some(&tail), ev.body.event_type(), |w| {
                            w.raw(raw.get());
                            Ok(())
                        })
                        .unwrap();
                        assert_eq!(again, fast);
                        lines += 1;
                    }
                    n += 1;
                }
            }
        }
        assert_eq!(n, 8 * 5 * 4);
        assert!(lines >= 20, "{lines}");
    }
}
