//! The sensor configuration: one TOML file (`centinela.toml`).
//!
//! Every section is `deny_unknown_fields` with defaults for every key, so an
//! empty file is a valid configuration and a typo is an error, never a silent
//! default. [`load`] turns any problem into a [`ConfigError`] naming the file,
//! the key path and a fix hint; the binary prints it on one line and exits 2.
//! Every key is documented in `docs/CONFIG.md`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

/// Upper bound on worker threads (`pipeline.workers`).
pub const MAX_WORKERS: usize = 64;

/// The whole configuration file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `[sensor]`: identity.
    pub sensor: SensorConfig,
    /// `[capture]`: live capture.
    pub capture: CaptureConfig,
    /// `[pipeline]`: threads and queues.
    pub pipeline: PipelineConfig,
    /// `[decode]`: L2–L4 decoding and IP defragmentation.
    pub decode: DecodeConfig,
    /// `[flow]`: flow table.
    pub flow: FlowConfig,
    /// `[stream]`: TCP reassembly.
    pub stream: StreamConfig,
    /// `[output]`: EVE output.
    pub output: OutputConfig,
    /// `[stats]`: periodic stats records.
    pub stats: StatsConfig,
    /// `[anomaly]`: anomaly record volume.
    pub anomaly: AnomalyConfig,
    /// `[app]`: application layer (owned by `centinela-app`).
    pub app: centinela_app::AppConfig,
    /// `[detect]`: detectors (owned by `centinela-detect`).
    pub detect: centinela_detect::DetectConfig,
    /// `[spool]`: on-disk spool (owned by `centinela-forward`); records are
    /// spooled only when `[spool]` or `[forward]` is present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spool: Option<centinela_forward::SpoolConfig>,
    /// `[forward]`: forwarding to the collector (owned by `centinela-forward`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forward: Option<centinela_forward::ForwardConfig>,
}

/// `[sensor]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SensorConfig {
    /// Sensor identifier (sent with forwarded batches).
    pub id: String,
}

impl Default for SensorConfig {
    fn default() -> Self {
        Self { id: "centinela".into() }
    }
}

/// `[capture]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaptureConfig {
    /// Interfaces to capture on (`centinela run`).
    pub interfaces: Vec<String>,
    /// Bytes captured per packet.
    pub snaplen: u32,
    /// Put the interfaces in promiscuous mode.
    pub promiscuous: bool,
    /// Kernel capture buffer per interface, MiB.
    pub buffer_mib: u32,
    /// BPF capture filter (tcpdump syntax); empty = everything.
    pub bpf_filter: String,
    /// How long the capture thread sleeps in poll() when idle, ms.
    pub poll_timeout_ms: u32,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        Self {
            interfaces: Vec::new(),
            snaplen: 65_535,
            promiscuous: true,
            buffer_mib: 32,
            bpf_filter: String::new(),
            poll_timeout_ms: 100,
        }
    }
}

/// `[pipeline]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// Worker threads; 0 = one per available core minus one (at least 1).
    pub workers: usize,
    /// Batches each worker queue holds.
    pub queue_batches: usize,
    /// Packets per batch.
    pub batch_packets: usize,
    /// The reader inserts a synchronisation mark every this many packets.
    pub mark_packets: u64,
    /// Events the writer may hold while merging workers' output, MiB.
    pub writer_buffer_mib: usize,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self { workers: 0, queue_batches: 16, batch_packets: 256, mark_packets: 8192, writer_buffer_mib: 64 }
    }
}

impl PipelineConfig {
    /// The number of workers to start.
    pub fn effective_workers(&self) -> usize {
        if self.workers > 0 {
            return self.workers.min(MAX_WORKERS);
        }
        std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1)).min(MAX_WORKERS)
    }
}

/// `[decode]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DecodeConfig {
    /// Verify IPv4 header checksums (off by default: SPAN ports with offload).
    pub checksum_validation: bool,
    /// Largest packet accepted from a capture, bytes (longer ones are cut).
    pub max_packet_bytes: u32,
    /// Datagrams being reassembled at once (all workers together).
    pub defrag_max_datagrams: usize,
    /// Bytes held by fragment reassembly (all workers together), MiB.
    pub defrag_max_mib: usize,
    /// Fragments accepted per datagram.
    pub defrag_max_fragments: usize,
    /// Seconds of packet time before an incomplete datagram is dropped.
    pub defrag_timeout_s: u32,
}

impl Default for DecodeConfig {
    fn default() -> Self {
        Self {
            checksum_validation: false,
            max_packet_bytes: 65_535,
            defrag_max_datagrams: 8192,
            defrag_max_mib: 32,
            defrag_max_fragments: 64,
            defrag_timeout_s: 30,
        }
    }
}

/// `[flow]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlowConfig {
    /// Flows tracked at once (all workers together; split evenly).
    pub max_flows: usize,
    /// TCP flow before the handshake completes, seconds.
    pub tcp_new_timeout_s: u32,
    /// Established TCP flow, seconds idle.
    pub tcp_established_timeout_s: u32,
    /// TCP flow after FIN/RST, seconds.
    pub tcp_closed_timeout_s: u32,
    /// UDP flow, seconds idle.
    pub udp_timeout_s: u32,
    /// ICMP and other protocols, seconds idle.
    pub other_timeout_s: u32,
    /// Write an EVE `flow` record when a flow ends.
    pub records: bool,
}

impl Default for FlowConfig {
    fn default() -> Self {
        Self {
            max_flows: 1 << 20,
            tcp_new_timeout_s: 60,
            tcp_established_timeout_s: 600,
            tcp_closed_timeout_s: 10,
            udp_timeout_s: 120,
            other_timeout_s: 60,
            records: true,
        }
    }
}

/// `[stream]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StreamConfig {
    /// Pick up TCP sessions already in progress (SPAN started mid-session).
    pub midstream: bool,
    /// Out-of-order bytes buffered per flow direction, KiB.
    pub max_ooo_kib_per_flow: usize,
    /// Out-of-order segments buffered per flow direction.
    pub max_ooo_segments_per_flow: usize,
    /// Out-of-order bytes buffered by all flows together, MiB.
    pub max_ooo_mib: usize,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self { midstream: true, max_ooo_kib_per_flow: 256, max_ooo_segments_per_flow: 512, max_ooo_mib: 128 }
    }
}

/// `[output]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputConfig {
    /// EVE file path, or `-` for stdout; empty = no EVE file.
    pub eve: String,
    /// Rotate the EVE file when it reaches this many MiB (0 = never).
    pub rotate_mib: u64,
    /// Rotated files kept (`eve.json.1` … `eve.json.N`).
    pub rotate_keep: u32,
}

impl Default for OutputConfig {
    fn default() -> Self {
        Self { eve: "/var/log/centinela/eve.json".into(), rotate_mib: 256, rotate_keep: 8 }
    }
}

/// `[stats]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatsConfig {
    /// Write `stats` records.
    pub enabled: bool,
    /// Seconds of packet time between `stats` records.
    pub interval_s: u32,
}

impl Default for StatsConfig {
    fn default() -> Self {
        Self { enabled: true, interval_s: 30 }
    }
}

/// `[anomaly]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnomalyConfig {
    /// Records per flow for each decode/stream anomaly name; repeats are
    /// counted (stats) and folded into the flow's last record count.
    pub per_flow: u32,
    /// Records per second of packet time, per worker, for each flowless
    /// decode anomaly name; the rest are counted.
    pub per_second: u32,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        Self { per_flow: 1, per_second: 10 }
    }
}

/// A configuration problem, printed as `error: <file>: <key>: <message>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// Key path (`flow.max_flows`), or `-` when the file itself is the problem.
    pub key: String,
    /// Problem and fix hint.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file.display(), self.key, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Read and validate a configuration file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let err = |key: &str, message: String| ConfigError { file: path.to_path_buf(), key: key.into(), message };
    let text = std::fs::read_to_string(path)
        .map_err(|e| err("-", format!("cannot read: {e} (check the path and permissions)")))?;
    let cfg = parse(&text).map_err(|(k, m)| err(&k, m))?;
    cfg.validate().map_err(|(k, m)| err(&k, m))?;
    Ok(cfg)
}

/// Parse TOML text into a [`Config`] (no semantic validation). Errors are
/// `(key path, message with fix hint)`.
pub fn parse(text: &str) -> Result<Config, (String, String)> {
    let de = toml::Deserializer::parse(text).map_err(|e| ("-".to_string(), one_line(&e.to_string())))?;
    serde_path_to_error::deserialize::<_, Config>(de).map_err(|e| {
        let mut path = e.path().to_string();
        let inner = one_line(&e.inner().to_string());
        let line = inner
            .split("at line ")
            .nth(1)
            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
            .map(|l| format!(" (line {l})"))
            .unwrap_or_default();
        // The message proper follows the source excerpt (`| ^^^ message`).
        let msg = inner.rsplit("^ ").next().unwrap_or(&inner).trim().to_string();
        // serde reports an unknown field at its parent: name the key itself.
        if let Some(i) = msg.find("unknown field `") {
            let rest = &msg[i + "unknown field `".len()..];
            if let Some(end) = rest.find('`') {
                let field = &rest[..end];
                if path == "." || path.is_empty() {
                    path = field.to_string();
                } else if !path.ends_with(field) {
                    path = format!("{path}.{field}");
                }
                let expected = rest[end + 1..].trim_start_matches(',').trim();
                return (path, format!("unknown key{line}; {expected} (see docs/CONFIG.md)"));
            }
        }
        if path == "." || path.is_empty() {
            path = "-".into();
        }
        let inner = format!("{msg}{line}");
        (path, format!("{inner} (see docs/CONFIG.md)"))
    })
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Config {
    /// SHA-256 (hex) of the effective configuration, for heartbeats.
    pub fn hash(&self) -> String {
        use sha2::Digest as _;
        let text = toml::to_string(self).unwrap_or_default();
        let d = sha2::Sha256::digest(text.as_bytes());
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Semantic checks of every section; the first problem is returned as
    /// `(key path, problem and fix)`.
    pub fn validate(&self) -> Result<(), (String, String)> {
        fn bad(key: &str, msg: &str) -> Result<(), (String, String)> {
            Err((key.to_string(), msg.to_string()))
        }
        if self.sensor.id.is_empty() || self.sensor.id.len() > 128 {
            return bad("sensor.id", "must be 1..=128 characters");
        }
        let c = &self.capture;
        if !(64..=262_144).contains(&c.snaplen) {
            return bad("capture.snaplen", "must be between 64 and 262144 (65535 captures whole frames)");
        }
        if !(1..=2048).contains(&c.buffer_mib) {
            return bad("capture.buffer_mib", "must be between 1 and 2048 (32 or 64 recommended)");
        }
        if !(1..=10_000).contains(&c.poll_timeout_ms) {
            return bad("capture.poll_timeout_ms", "must be between 1 and 10000");
        }
        if c.interfaces.iter().any(String::is_empty) {
            return bad("capture.interfaces", "interface names must not be empty");
        }
        let p = &self.pipeline;
        if p.workers > MAX_WORKERS {
            return bad("pipeline.workers", "must be 0 (auto) or at most 64");
        }
        if !(1..=1024).contains(&p.queue_batches) {
            return bad("pipeline.queue_batches", "must be between 1 and 1024");
        }
        if !(1..=8192).contains(&p.batch_packets) {
            return bad("pipeline.batch_packets", "must be between 1 and 8192");
        }
        if !(1..=1 << 24).contains(&p.mark_packets) {
            return bad("pipeline.mark_packets", "must be between 1 and 16777216");
        }
        if !(1..=4096).contains(&p.writer_buffer_mib) {
            return bad("pipeline.writer_buffer_mib", "must be between 1 and 4096");
        }
        let d = &self.decode;
        if !(64..=262_144).contains(&d.max_packet_bytes) {
            return bad("decode.max_packet_bytes", "must be between 64 and 262144");
        }
        if d.defrag_max_datagrams > 1 << 20 {
            return bad("decode.defrag_max_datagrams", "must be at most 1048576 (0 disables reassembly)");
        }
        if d.defrag_max_mib > 4096 {
            return bad("decode.defrag_max_mib", "must be at most 4096");
        }
        if !(2..=8192).contains(&d.defrag_max_fragments) {
            return bad("decode.defrag_max_fragments", "must be between 2 and 8192");
        }
        if !(1..=3600).contains(&d.defrag_timeout_s) {
            return bad("decode.defrag_timeout_s", "must be between 1 and 3600");
        }
        let f = &self.flow;
        if !(1..=1 << 26).contains(&f.max_flows) {
            return bad("flow.max_flows", "must be between 1 and 67108864");
        }
        for (k, v) in [
            ("flow.tcp_new_timeout_s", f.tcp_new_timeout_s),
            ("flow.tcp_established_timeout_s", f.tcp_established_timeout_s),
            ("flow.tcp_closed_timeout_s", f.tcp_closed_timeout_s),
            ("flow.udp_timeout_s", f.udp_timeout_s),
            ("flow.other_timeout_s", f.other_timeout_s),
        ] {
            if !(1..=86_400).contains(&v) {
                return bad(k, "must be between 1 and 86400 seconds");
            }
        }
        let s = &self.stream;
        if !(1..=1 << 20).contains(&s.max_ooo_kib_per_flow) {
            return bad("stream.max_ooo_kib_per_flow", "must be between 1 and 1048576");
        }
        if !(1..=1 << 20).contains(&s.max_ooo_segments_per_flow) {
            return bad("stream.max_ooo_segments_per_flow", "must be between 1 and 1048576");
        }
        if !(1..=1 << 16).contains(&s.max_ooo_mib) {
            return bad("stream.max_ooo_mib", "must be between 1 and 65536");
        }
        if self.output.rotate_keep > 1000 {
            return bad("output.rotate_keep", "must be at most 1000");
        }
        if !(1..=86_400).contains(&self.stats.interval_s) {
            return bad("stats.interval_s", "must be between 1 and 86400 seconds");
        }
        if self.anomaly.per_flow > 1_000_000 {
            return bad("anomaly.per_flow", "must be at most 1000000");
        }
        if self.anomaly.per_second > 1_000_000 {
            return bad("anomaly.per_second", "must be at most 1000000");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_default() {
        let c = parse("").unwrap();
        assert_eq!(c.flow, FlowConfig::default());
        assert!(c.validate().is_ok());
    }

    #[test]
    fn unknown_key_is_named_with_its_section() {
        let (k, m) = parse("[flow]\nmax_flowz = 3\n").unwrap_err();
        assert_eq!(k, "flow.max_flowz");
        assert!(m.contains("unknown key") && m.contains("max_flows"), "{m}");
        let (k, _) = parse("bogus = 1\n").unwrap_err();
        assert_eq!(k, "bogus");
        let (k, _) = parse("[nosuch]\n").unwrap_err();
        assert_eq!(k, "nosuch");
    }

    #[test]
    fn bad_type_is_named() {
        let (k, m) = parse("[flow]\nmax_flows = \"many\"\n").unwrap_err();
        assert_eq!(k, "flow.max_flows");
        assert!(m.contains("invalid type"), "{m}");
    }

    #[test]
    fn bad_value_is_rejected_with_hint() {
        let c = parse("[pipeline]\nworkers = 1000\n").unwrap();
        let (k, m) = c.validate().unwrap_err();
        assert_eq!(k, "pipeline.workers");
        assert!(m.contains("64"));
    }

    #[test]
    fn syntax_error_is_one_line() {
        let (k, m) = parse("[flow\n").unwrap_err();
        assert_eq!(k, "-");
        assert!(!m.contains('\n'));
    }
}
