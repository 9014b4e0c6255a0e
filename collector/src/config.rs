//! `collector.toml`: the collector's configuration (documented in `docs/COLLECTOR.md`).

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

/// One known sensor (needed for bearer tokens and for the `site` label; a
/// sensor authenticating with a client certificate needs no entry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensorEntry {
    /// Sensor id (the `x-centinela-sensor` header, the certificate's DNS name).
    pub name: String,
    /// Site label stored with its events.
    #[serde(default)]
    pub site: Option<String>,
    /// Hex SHA-256 of the sensor's bearer token (`centinela-collector token NAME` prints it).
    #[serde(default)]
    pub token_sha256: Option<String>,
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CollectorConfig {
    /// Listen address.
    pub listen: SocketAddr,
    /// SQLite database file.
    pub db: PathBuf,
    /// CA certificate(s) that sign sensor client certificates (PEM).
    pub client_ca_file: PathBuf,
    /// Server certificate chain (PEM).
    pub cert_file: PathBuf,
    /// Server private key (PEM).
    pub key_file: PathBuf,
    /// Refuse TLS connections without a client certificate (tokens then only add a check).
    pub require_client_cert: bool,
    /// Hex SHA-256 of the admin token for the query API.
    pub admin_token_sha256: Option<String>,
    /// Client certificate names (DNS SAN) allowed to use the query API.
    pub admin_cert_names: Vec<String>,
    /// Largest request body on the wire (compressed), bytes.
    pub max_body_bytes: usize,
    /// Largest body after gzip decompression, bytes.
    pub max_decompressed_bytes: usize,
    /// Most records in one batch.
    pub max_batch_records: usize,
    /// Sustained events/s accepted per sensor (burst: 2 s worth); 0 = unlimited.
    pub rate_limit_events_per_s: u64,
    /// Delete events received more than this many days ago (0 = keep).
    pub retention_days: u64,
    /// Delete the oldest events while the database exceeds this size (0 = no cap).
    pub retention_max_bytes: u64,
    /// Heartbeat older than this → sensor status `late`.
    pub late_after_s: u64,
    /// Heartbeat older than this → status `silent` and one `sensor_silent` event.
    pub silent_after_s: u64,
    /// Seconds between retention/silence sweeps.
    pub sweep_interval_s: u64,
    /// Known sensors.
    pub sensors: Vec<SensorEntry>,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        CollectorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            db: PathBuf::from("/var/lib/centinela-collector/events.db"),
            client_ca_file: PathBuf::from("/etc/centinela-collector/ca.pem"),
            cert_file: PathBuf::from("/etc/centinela-collector/server.pem"),
            key_file: PathBuf::from("/etc/centinela-collector/server.key"),
            require_client_cert: true,
            admin_token_sha256: None,
            admin_cert_names: Vec::new(),
            max_body_bytes: 16 << 20,
            max_decompressed_bytes: 128 << 20,
            max_batch_records: 100_000,
            rate_limit_events_per_s: 0,
            retention_days: 90,
            retention_max_bytes: 0,
            late_after_s: 180,
            silent_after_s: 600,
            sweep_interval_s: 30,
            sensors: Vec::new(),
        }
    }
}

impl CollectorConfig {
    /// Loads and checks a configuration file.
    pub fn load(path: &std::path::Path) -> Result<CollectorConfig, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut cfg: CollectorConfig =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        // Relative paths are relative to the config file.
        let base = path.parent().unwrap_or(std::path::Path::new("."));
        for p in [&mut cfg.db, &mut cfg.client_ca_file, &mut cfg.cert_file, &mut cfg.key_file] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        cfg.validate().map_err(|(k, m)| format!("{}: {k}: {m}", path.display()))?;
        Ok(cfg)
    }

    /// Checks values; `Err((key, problem))`.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let hexok = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
        if let Some(h) = &self.admin_token_sha256
            && !hexok(h)
        {
            return Err(("admin_token_sha256".into(), "must be 64 hex digits (SHA-256 of the token)".into()));
        }
        for s in &self.sensors {
            if let Some(h) = &s.token_sha256
                && !hexok(h)
            {
                return Err((format!("sensors.{}.token_sha256", s.name), "must be 64 hex digits".into()));
            }
        }
        if self.max_body_bytes == 0 || self.max_decompressed_bytes < self.max_body_bytes {
            return Err((
                "max_decompressed_bytes".into(),
                "need 0 < max_body_bytes <= max_decompressed_bytes".into(),
            ));
        }
        if self.silent_after_s <= self.late_after_s {
            return Err(("silent_after_s".into(), "must be greater than late_after_s".into()));
        }
        Ok(())
    }
}
