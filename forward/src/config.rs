//! `[spool]` and `[forward]` configuration sections (documented key by key in
//! `docs/CONFIG.md`, sections `[spool]` and `[forward]`).

use crate::spool::FsyncPolicy;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `[spool]`: the on-disk queue every event enters first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpoolConfig {
    /// Directory of segments and ledger.
    pub dir: PathBuf,
    /// Cap on spool bytes on disk.
    pub max_bytes: u64,
    /// Size of one segment file.
    pub segment_bytes: u64,
    /// Fraction of `max_bytes` only priority records (alerts, anomalies, heartbeats) may use.
    pub priority_reserve: f64,
    /// `batch` (default), `always` or `never`.
    pub fsync: FsyncPolicy,
}

impl Default for SpoolConfig {
    fn default() -> Self {
        SpoolConfig {
            dir: PathBuf::from("/var/lib/centinela/spool"),
            max_bytes: 256 << 20,
            segment_bytes: 8 << 20,
            priority_reserve: 0.2,
            fsync: FsyncPolicy::Batch,
        }
    }
}

/// Smallest accepted `segment_bytes`.
pub const MIN_SEGMENT_BYTES: u64 = 64 << 10;
/// Largest accepted `segment_bytes` (recovery holds one segment in memory).
pub const MAX_SEGMENT_BYTES: u64 = 256 << 20;

impl SpoolConfig {
    /// Checks the values; `Err((key, problem and fix))`.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let err = |k: &str, m: String| Err((format!("spool.{k}"), m));
        if self.dir.as_os_str().is_empty() {
            return err("dir", "must name a directory (e.g. /var/lib/centinela/spool)".into());
        }
        if self.dir.exists() && !self.dir.is_dir() {
            return err("dir", format!("{} exists and is not a directory", self.dir.display()));
        }
        if !(MIN_SEGMENT_BYTES..=MAX_SEGMENT_BYTES).contains(&self.segment_bytes) {
            return err(
                "segment_bytes",
                format!(
                    "{} must be between {MIN_SEGMENT_BYTES} and {MAX_SEGMENT_BYTES} (recovery reads one segment at a time)",
                    self.segment_bytes
                ),
            );
        }
        if self.max_bytes < self.segment_bytes.saturating_mul(4) {
            return err(
                "max_bytes",
                format!(
                    "{} must be at least 4 × segment_bytes ({})",
                    self.max_bytes,
                    self.segment_bytes.saturating_mul(4)
                ),
            );
        }
        if !(0.0..=0.9).contains(&self.priority_reserve) {
            return err("priority_reserve", format!("{} must be between 0.0 and 0.9", self.priority_reserve));
        }
        Ok(())
    }
}

/// `[forward]`: shipping spooled events to the CSIRT collector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ForwardConfig {
    /// Start the forwarder thread.
    pub enabled: bool,
    /// Collector base URL, `https://host:port` (the API paths are appended).
    pub url: String,
    /// PEM file with the CA certificate(s) the collector's certificate must chain to.
    pub ca_file: PathBuf,
    /// PEM client certificate of this sensor (mutual TLS).
    pub cert_file: Option<PathBuf>,
    /// PEM private key of `cert_file`.
    pub key_file: Option<PathBuf>,
    /// File holding a bearer token (first line), when the collector uses tokens.
    pub token_file: Option<PathBuf>,
    /// Most records per batch.
    pub batch_max_events: usize,
    /// Most uncompressed bytes per batch.
    pub batch_max_bytes: usize,
    /// Longest a record waits for a batch to fill, in milliseconds.
    pub batch_max_latency_ms: u64,
    /// TCP+TLS connect timeout, milliseconds.
    pub connect_timeout_ms: u64,
    /// Whole-request timeout, milliseconds.
    pub request_timeout_ms: u64,
    /// First retry delay, milliseconds (doubles up to `backoff_max_ms`, ±50 % jitter).
    pub backoff_initial_ms: u64,
    /// Largest retry delay, milliseconds.
    pub backoff_max_ms: u64,
    /// Seconds between heartbeats (0 = none).
    pub heartbeat_interval_s: u64,
    /// gzip level 1..=9.
    pub gzip_level: u32,
    /// Forward payload fields (`payload`, `payload_printable`, `packet`) of Modbus records.
    pub send_payload_modbus: bool,
    /// Same for DNP3.
    pub send_payload_dnp3: bool,
    /// Same for DNS.
    pub send_payload_dns: bool,
    /// Same for records of other/unknown protocols.
    pub send_payload_other: bool,
    /// CIDRs whose addresses are pseudonymized (keyed HMAC-SHA256) before sending.
    pub pseudonymize_cidrs: Vec<String>,
    /// File with the pseudonymization key (≥ 16 bytes); required when `pseudonymize_cidrs` is set.
    pub pseudonymize_key_file: Option<PathBuf>,
}

impl Default for ForwardConfig {
    fn default() -> Self {
        ForwardConfig {
            enabled: false,
            url: String::new(),
            ca_file: PathBuf::new(),
            cert_file: None,
            key_file: None,
            token_file: None,
            batch_max_events: 5000,
            batch_max_bytes: 4 << 20,
            batch_max_latency_ms: 1000,
            connect_timeout_ms: 5000,
            request_timeout_ms: 30_000,
            backoff_initial_ms: 500,
            backoff_max_ms: 60_000,
            heartbeat_interval_s: 60,
            gzip_level: 1,
            send_payload_modbus: false,
            send_payload_dnp3: false,
            send_payload_dns: false,
            send_payload_other: false,
            pseudonymize_cidrs: Vec::new(),
            pseudonymize_key_file: None,
        }
    }
}

fn readable(key: &str, p: &Path) -> Result<Vec<u8>, (String, String)> {
    std::fs::read(p).map_err(|e| (format!("forward.{key}"), format!("cannot read {}: {e}", p.display())))
}

impl ForwardConfig {
    /// Checks the values and that certificates, key, CA and token parse.
    /// Nothing is checked when `enabled = false`.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if !self.enabled {
            return Ok(());
        }
        let err = |k: &str, m: String| Err((format!("forward.{k}"), m));
        let Some(rest) = self.url.strip_prefix("https://") else {
            return err(
                "url",
                format!("{:?} must start with https:// (plain HTTP is not supported)", self.url),
            );
        };
        if rest.is_empty() || rest.starts_with('/') {
            return err("url", format!("{:?} has no host", self.url));
        }
        if self.ca_file.as_os_str().is_empty() {
            return err(
                "ca_file",
                "required: the CSIRT CA certificate (PEM) that signs the collector's certificate".into(),
            );
        }
        let ca = readable("ca_file", &self.ca_file)?;
        crate::tls::parse_certs(&ca)
            .map_err(|m| ("forward.ca_file".to_string(), format!("{}: {m}", self.ca_file.display())))?;
        match (&self.cert_file, &self.key_file) {
            (Some(c), Some(k)) => {
                let cert = readable("cert_file", c)?;
                crate::tls::parse_certs(&cert)
                    .map_err(|m| ("forward.cert_file".to_string(), format!("{}: {m}", c.display())))?;
                let key = readable("key_file", k)?;
                crate::tls::parse_key(&key)
                    .map_err(|m| ("forward.key_file".to_string(), format!("{}: {m}", k.display())))?;
                crate::tls::client_config(&ca, Some((&cert, &key))).map_err(|m| {
                    ("forward.key_file".to_string(), format!("certificate and key do not go together: {m}"))
                })?;
            }
            (Some(_), None) => return err("key_file", "required when cert_file is set".into()),
            (None, Some(_)) => return err("cert_file", "required when key_file is set".into()),
            (None, None) => {
                if self.token_file.is_none() {
                    return err(
                        "cert_file",
                        "set cert_file + key_file (mutual TLS) or token_file (bearer token)".into(),
                    );
                }
            }
        }
        if let Some(t) = &self.token_file {
            crate::forwarder::read_token(t).map_err(|m| ("forward.token_file".to_string(), m))?;
        }
        if self.batch_max_events == 0 || self.batch_max_events > 100_000 {
            return err("batch_max_events", format!("{} must be in 1..=100000", self.batch_max_events));
        }
        if self.batch_max_bytes < 1024 || self.batch_max_bytes > 64 << 20 {
            return err("batch_max_bytes", format!("{} must be in 1024..=67108864", self.batch_max_bytes));
        }
        if !(1..=9).contains(&self.gzip_level) {
            return err("gzip_level", format!("{} must be in 1..=9", self.gzip_level));
        }
        if self.backoff_initial_ms == 0 || self.backoff_max_ms < self.backoff_initial_ms {
            return err("backoff_max_ms", "need 0 < backoff_initial_ms <= backoff_max_ms".into());
        }
        if self.heartbeat_interval_s > 86_400 {
            return err(
                "heartbeat_interval_s",
                format!("{} must be at most 86400 (0 = no heartbeats)", self.heartbeat_interval_s),
            );
        }
        if self.batch_max_latency_ms > 3_600_000 || self.backoff_max_ms > 3_600_000 {
            return err(
                "batch_max_latency_ms",
                "batch_max_latency_ms and backoff_max_ms must be at most 3600000 (1 h)".into(),
            );
        }
        if self.connect_timeout_ms == 0 || self.request_timeout_ms == 0 {
            return err("request_timeout_ms", "timeouts must be > 0".into());
        }
        if !self.pseudonymize_cidrs.is_empty() {
            for c in &self.pseudonymize_cidrs {
                crate::privacy::Cidr::parse(c).ok_or_else(|| {
                    ("forward.pseudonymize_cidrs".to_string(), format!("{c:?} is not a CIDR like 10.0.0.0/8"))
                })?;
            }
            let Some(k) = &self.pseudonymize_key_file else {
                return err("pseudonymize_key_file", "required when pseudonymize_cidrs is set".into());
            };
            crate::privacy::read_key(k).map_err(|m| ("forward.pseudonymize_key_file".to_string(), m))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_round_trip() {
        assert!(SpoolConfig::default().validate().is_ok());
        assert!(ForwardConfig::default().validate().is_ok());
        let s = toml::to_string(&ForwardConfig::default()).unwrap();
        let back: ForwardConfig = toml::from_str(&s).unwrap();
        assert_eq!(back, ForwardConfig::default());
        assert!(toml::from_str::<ForwardConfig>("nope = 1").is_err());
        let sp: SpoolConfig = toml::from_str("dir = \"/tmp/x\"\nfsync = \"never\"").unwrap();
        assert_eq!(sp.fsync, FsyncPolicy::Never);
    }

    #[test]
    fn errors_name_key_and_fix() {
        let mut f = ForwardConfig { enabled: true, url: "http://x".into(), ..ForwardConfig::default() };
        assert_eq!(f.validate().unwrap_err().0, "forward.url");
        f.url = "https://collector:8443".into();
        let e = f.validate().unwrap_err();
        assert_eq!(e.0, "forward.ca_file");
        f.ca_file = "/nonexistent/ca.pem".into();
        let e = f.validate().unwrap_err();
        assert!(e.1.contains("cannot read"), "{e:?}");
        let d = tempfile::tempdir().unwrap();
        let bad = d.path().join("ca.pem");
        std::fs::write(&bad, "not pem").unwrap();
        f.ca_file = bad;
        let e = f.validate().unwrap_err();
        assert_eq!(e.0, "forward.ca_file");
        assert!(e.1.contains("no certificate"), "{e:?}");
        let mut s = SpoolConfig { segment_bytes: 10, ..SpoolConfig::default() };
        assert_eq!(s.validate().unwrap_err().0, "spool.segment_bytes");
        s.segment_bytes = 1 << 30;
        assert_eq!(s.validate().unwrap_err().0, "spool.segment_bytes");
        s.segment_bytes = 1 << 20;
        s.priority_reserve = 2.0;
        assert_eq!(s.validate().unwrap_err().0, "spool.priority_reserve");
    }
}
