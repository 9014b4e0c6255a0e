//! `[detect]` configuration section (documented in `docs/CONFIG.md`, section `[detect]`).
use serde::{Deserialize, Serialize};

/// Detector configuration (`[detect]` in `centinela.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// `[detect.dns_exfil]`: the DNS tunnelling/exfiltration detector.
    pub dns_exfil: DnsExfilConfig,
}

impl DetectConfig {
    /// Check value ranges; on error returns `(key path, problem and fix)`.
    pub fn validate(&self) -> Result<(), (String, String)> {
        self.dns_exfil.validate()
    }
}

/// `[detect.dns_exfil]` keys. Score semantics: see `docs/DETECTION.md`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DnsExfilConfig {
    /// Run the detector.
    pub enabled: bool,
    /// Score at or above which an episode opens and an alert is emitted.
    pub alert_threshold: f64,
    /// Score at or above which the alert severity is 1 (high) instead of 2.
    pub high_threshold: f64,
    /// Burst window (~1 min): tunnel-weighted new information, bytes, that alone reaches score 1.
    pub burst_bytes: f64,
    /// Burst window (~1 min): unique random-looking names that alone reach score 1.
    pub burst_unique_names: f64,
    /// Sustained window (~1 h): tunnel-weighted new information, bytes, that alone reaches score 1.
    pub hour_bytes: f64,
    /// Slow window (~24 h): new information of clearly encoded names, bytes, that alone reaches score 1.
    pub day_bytes: f64,
    /// Minimum regular intervals before the beacon component counts.
    pub beacon_min_intervals: u32,
    /// Re-emit an open episode's alert with updated figures at most this often (packet-time seconds).
    pub update_interval_s: u64,
    /// An episode with no new suspicious query for this long closes (seconds).
    pub episode_idle_s: u64,
    /// Forget a (client, domain) pair idle for this long (seconds); must exceed a day for the slow window.
    pub pair_idle_s: u64,
    /// Cap on tracked (client, registered domain) pairs (light state, ~190 B each).
    pub max_pairs: usize,
    /// Cap on pairs with full state (suspects: exact unique-name sets, samples, episode).
    pub max_suspects: usize,
    /// Cap on remembered (client, resolved address) entries for the connection check.
    pub max_resolved: usize,
    /// Apply the built-in list of legitimate high-entropy services (score multiplier, never an exemption).
    pub allowlist_enabled: bool,
    /// Score multiplier for allowlisted domains.
    pub allowlist_factor: f64,
    /// Extra registered domains or suffixes to treat as allowlisted.
    pub allowlist_add: Vec<String>,
    /// Built-in allowlist entries to drop.
    pub allowlist_remove: Vec<String>,
    /// Unlisted suffixes treated as internal (names the public DNS cannot delegate).
    pub internal_suffixes: Vec<String>,
    /// Score multiplier for domains under an internal suffix.
    pub internal_factor: f64,
}

impl Default for DnsExfilConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            alert_threshold: 1.0,
            high_threshold: 2.5,
            burst_bytes: 1024.0,
            burst_unique_names: 100.0,
            hour_bytes: 4096.0,
            day_bytes: 1024.0,
            beacon_min_intervals: 40,
            update_interval_s: 600,
            episode_idle_s: 3600,
            pair_idle_s: 26 * 3600,
            max_pairs: 1_000_000,
            max_suspects: 8_192,
            max_resolved: 131_072,
            allowlist_enabled: true,
            allowlist_factor: 0.25,
            allowlist_add: Vec::new(),
            allowlist_remove: Vec::new(),
            internal_suffixes: crate::dns_exfil::default_internal_suffixes(),
            internal_factor: 0.5,
        }
    }
}

impl DnsExfilConfig {
    /// Check value ranges; on error returns `(key path, problem and fix)`.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let key = |k: &str| format!("detect.dns_exfil.{k}");
        let pos = [
            ("alert_threshold", self.alert_threshold),
            ("high_threshold", self.high_threshold),
            ("burst_bytes", self.burst_bytes),
            ("burst_unique_names", self.burst_unique_names),
            ("hour_bytes", self.hour_bytes),
            ("day_bytes", self.day_bytes),
        ];
        for (k, v) in pos {
            if !(v.is_finite() && v > 0.0) {
                return Err((
                    key(k),
                    format!("must be a positive number (got {v}); default is used when the key is absent"),
                ));
            }
        }
        if self.high_threshold < self.alert_threshold {
            return Err((key("high_threshold"), "must be >= alert_threshold".into()));
        }
        for (k, v) in [("allowlist_factor", self.allowlist_factor), ("internal_factor", self.internal_factor)]
        {
            if !(0.0..=1.0).contains(&v) {
                return Err((key(k), format!("must be within 0.0..=1.0 (got {v}): it multiplies the score")));
            }
        }
        if self.max_pairs < 16 || self.max_suspects < 4 || self.max_resolved < 16 {
            return Err((
                key("max_pairs"),
                "caps too small: max_pairs >= 16, max_suspects >= 4, max_resolved >= 16".into(),
            ));
        }
        if self.pair_idle_s < self.episode_idle_s {
            return Err((key("pair_idle_s"), "must be >= episode_idle_s".into()));
        }
        if self.update_interval_s == 0 {
            return Err((key("update_interval_s"), "must be >= 1 second".into()));
        }
        if self.beacon_min_intervals < 4 {
            return Err((key("beacon_min_intervals"), "must be >= 4".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_round_trip() {
        let c = DetectConfig::default();
        assert!(c.validate().is_ok());
        let s = serde_json::to_string(&c).expect("ser");
        let back: DetectConfig = serde_json::from_str(&s).expect("de");
        assert_eq!(back, c);
        let partial: DetectConfig =
            serde_json::from_str(r#"{"dns_exfil":{"alert_threshold":2.0}}"#).expect("de");
        assert_eq!(partial.dns_exfil.alert_threshold, 2.0);
        assert_eq!(partial.dns_exfil.burst_bytes, 1024.0);
        assert!(serde_json::from_str::<DetectConfig>(r#"{"dns_exfil":{"bogus":1}}"#).is_err());
    }

    #[test]
    fn bad_values_name_the_key() {
        let mut c = DetectConfig::default();
        c.dns_exfil.allowlist_factor = 2.0;
        assert_eq!(c.validate().map_err(|e| e.0), Err("detect.dns_exfil.allowlist_factor".to_string()));
        let mut c = DetectConfig::default();
        c.dns_exfil.burst_bytes = f64::NAN;
        assert!(c.validate().is_err());
    }
}
