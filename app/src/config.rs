//! `[app]` configuration section (documented key by key in
//! `docs/CONFIG.md`, section `[app]`).
//!
//! Defaults are chosen for a SCADA SPAN port: every ICS parser **on**
//! (Suricata ships them off), probing of unknown ports on, and protocol
//! records rate limited per flow so a 10 Hz poll does not flood the uplink.
use serde::{Deserialize, Serialize};

/// Largest accepted `max_pending` (per-flow transaction queue) value.
pub const MAX_PENDING_LIMIT: usize = 65_536;
/// Largest accepted DNP3 transport reassembly buffer (bytes).
pub const DNP3_REASSEMBLY_LIMIT: usize = 65_536;
/// Largest accepted rate-limit window (seconds): one day.
pub const RATE_WINDOW_LIMIT_S: u64 = 86_400;

/// Application-layer configuration (`[app]` in `centinela.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AppConfig {
    /// Probe the first payloads of flows on unconfigured ports for Modbus
    /// (MBAP/RTU), DNP3 (sync + header CRC) and DNS (header plausibility).
    pub probe: bool,
    /// Log every protocol transaction (disables the per-flow rate limiting
    /// of repetitive protocol records; anomalies are never rate limited
    /// silently either way).
    pub log_all: bool,
    /// Rate-limit window in seconds of packet time.
    pub rate_limit_window_s: u64,
    /// Identical protocol records (same protocol-specific key, e.g. Modbus
    /// unit/function/address/quantity) logged per flow per window; further
    /// ones are counted and the count is carried on the next logged record.
    pub rate_limit_max_identical: u32,
    /// Anomaly records of one name logged per flow per window; repeats are
    /// folded into one record with a `count` (never dropped silently).
    pub anomaly_max_per_window: u32,
    /// Modbus settings.
    pub modbus: ModbusConfig,
    /// DNP3 settings.
    pub dnp3: Dnp3Config,
    /// DNS settings.
    pub dns: DnsConfig,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            probe: true,
            log_all: false,
            rate_limit_window_s: 60,
            rate_limit_max_identical: 6,
            anomaly_max_per_window: 10,
            modbus: ModbusConfig::default(),
            dnp3: Dnp3Config::default(),
            dns: DnsConfig::default(),
        }
    }
}

/// `[app.modbus]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModbusConfig {
    /// Decode Modbus at all.
    pub enabled: bool,
    /// TCP ports that are Modbus by configuration.
    pub tcp_ports: Vec<u16>,
    /// UDP ports that are Modbus by configuration.
    pub udp_ports: Vec<u16>,
    /// Pending (unanswered) requests kept per flow (Suricata: 500); hitting
    /// it raises `modbus.flooded` and flushes the oldest as unanswered.
    pub max_pending: usize,
}

impl Default for ModbusConfig {
    fn default() -> Self {
        Self { enabled: true, tcp_ports: vec![502], udp_ports: vec![502], max_pending: 500 }
    }
}

/// `[app.dnp3]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Dnp3Config {
    /// Decode DNP3 at all.
    pub enabled: bool,
    /// TCP ports that are DNP3 by configuration.
    pub tcp_ports: Vec<u16>,
    /// UDP ports that are DNP3 by configuration.
    pub udp_ports: Vec<u16>,
    /// Pending (unanswered) requests kept per flow; hitting it raises
    /// `dnp3.flooded`.
    pub max_pending: usize,
    /// Transport-layer reassembly buffer per direction (bytes, IEEE 1815
    /// recommends 2048 for application fragments).
    pub reassembly_max: usize,
}

impl Default for Dnp3Config {
    fn default() -> Self {
        Self {
            enabled: true,
            tcp_ports: vec![20000],
            udp_ports: vec![20000],
            max_pending: 32,
            reassembly_max: 2048,
        }
    }
}

/// `[app.dns]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DnsConfig {
    /// Decode DNS at all.
    pub enabled: bool,
    /// TCP ports that are DNS by configuration.
    pub tcp_ports: Vec<u16>,
    /// UDP ports that are DNS by configuration.
    pub udp_ports: Vec<u16>,
}

impl Default for DnsConfig {
    fn default() -> Self {
        Self { enabled: true, tcp_ports: vec![53], udp_ports: vec![53] }
    }
}

impl AppConfig {
    /// Check values; the error is `(key path, problem and fix hint)`.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.rate_limit_window_s == 0 || self.rate_limit_window_s > RATE_WINDOW_LIMIT_S {
            return Err((
                "app.rate_limit_window_s".into(),
                format!("must be between 1 and {RATE_WINDOW_LIMIT_S} seconds (default 60)"),
            ));
        }
        if self.rate_limit_max_identical == 0 {
            return Err((
                "app.rate_limit_max_identical".into(),
                "must be at least 1; to log every transaction set `log_all = true` instead".into(),
            ));
        }
        if self.anomaly_max_per_window == 0 {
            return Err((
                "app.anomaly_max_per_window".into(),
                "must be at least 1 (repeats beyond it are folded into a counted record)".into(),
            ));
        }
        check_pending("app.modbus.max_pending", self.modbus.max_pending)?;
        check_pending("app.dnp3.max_pending", self.dnp3.max_pending)?;
        if !(292..=DNP3_REASSEMBLY_LIMIT).contains(&self.dnp3.reassembly_max) {
            return Err((
                "app.dnp3.reassembly_max".into(),
                format!("must be between 292 and {DNP3_REASSEMBLY_LIMIT} bytes (default 2048)"),
            ));
        }
        let sets: [(&str, &[u16]); 6] = [
            ("app.modbus.tcp_ports", &self.modbus.tcp_ports),
            ("app.modbus.udp_ports", &self.modbus.udp_ports),
            ("app.dnp3.tcp_ports", &self.dnp3.tcp_ports),
            ("app.dnp3.udp_ports", &self.dnp3.udp_ports),
            ("app.dns.tcp_ports", &self.dns.tcp_ports),
            ("app.dns.udp_ports", &self.dns.udp_ports),
        ];
        for (key, ports) in sets {
            if ports.contains(&0) {
                return Err((key.into(), "port 0 is not a valid port; remove it".into()));
            }
        }
        // A port may belong to one protocol per transport only.
        for (i, j) in [(0, 2), (0, 4), (2, 4), (1, 3), (1, 5), (3, 5)] {
            let ((ka, a), (kb, b)) = (sets[i], sets[j]);
            if let Some(p) = a.iter().find(|p| b.contains(p)) {
                return Err((
                    ka.into(),
                    format!("port {p} is also listed in {kb}: a port maps to one protocol"),
                ));
            }
        }
        Ok(())
    }
}

fn check_pending(key: &str, v: usize) -> Result<(), (String, String)> {
    if v == 0 || v > MAX_PENDING_LIMIT {
        return Err((key.into(), format!("must be between 1 and {MAX_PENDING_LIMIT}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_parsers_on() {
        let c = AppConfig::default();
        assert_eq!(c.validate(), Ok(()));
        assert!(c.modbus.enabled && c.dnp3.enabled && c.dns.enabled && c.probe);
        assert_eq!(c.modbus.max_pending, 500);
        assert_eq!(c.dnp3.reassembly_max, 2048);
    }

    #[test]
    fn empty_toml_gives_defaults_and_unknown_keys_are_rejected() {
        let c: AppConfig = toml::from_str("").expect("empty section");
        assert_eq!(c, AppConfig::default());
        let c: AppConfig =
            toml::from_str("log_all = true\n[modbus]\ntcp_ports = [502, 5020]\n").expect("parse");
        assert!(c.log_all);
        assert_eq!(c.modbus.tcp_ports, vec![502, 5020]);
        assert_eq!(c.modbus.udp_ports, vec![502]);
        assert!(toml::from_str::<AppConfig>("bogus = 1").is_err());
        assert!(toml::from_str::<AppConfig>("[modbus]\nport = 1").is_err());
    }

    #[test]
    fn bad_values_name_their_key() {
        let c = AppConfig { rate_limit_window_s: 0, ..AppConfig::default() };
        assert_eq!(c.validate().map_err(|e| e.0), Err("app.rate_limit_window_s".to_string()));
        let mut c = AppConfig::default();
        c.dnp3.reassembly_max = 10;
        assert_eq!(c.validate().map_err(|e| e.0), Err("app.dnp3.reassembly_max".to_string()));
        let mut c = AppConfig::default();
        c.dns.tcp_ports.push(502);
        assert_eq!(c.validate().map_err(|e| e.0), Err("app.modbus.tcp_ports".to_string()));
        let mut c = AppConfig::default();
        c.modbus.max_pending = 0;
        assert_eq!(c.validate().map_err(|e| e.0), Err("app.modbus.max_pending".to_string()));
    }
}
