//! What leaves the site: payload bytes are stripped unless enabled per
//! protocol, and internal addresses can be replaced by a keyed pseudonym.
//!
//! Applied by the forwarder to each record just before batching (the local EVE
//! file and the spool keep the original). The transform is deterministic, so a
//! retried batch is byte-identical.
//!
//! Pseudonym format: `pseudo:` followed by the first 16 hex digits of
//! HMAC-SHA256(key, address bytes) (the 4 or 16 network-order bytes). The same
//! address always maps to the same pseudonym under one key, so the CSIRT can
//! still correlate, but cannot reverse it without the key that stays on site.

use memchr::memmem;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::net::IpAddr;
use std::path::Path;
use std::sync::LazyLock;

/// Keys holding raw packet/payload bytes (Suricata's names).
pub const PAYLOAD_KEYS: [&str; 3] = ["payload", "payload_printable", "packet"];
/// Keys holding addresses that pseudonymization rewrites (nested up to 4 objects deep).
pub const ADDRESS_KEYS: [&str; 5] = ["src_ip", "dest_ip", "ip", "client_ip", "server_ip"];
/// Deepest object nesting the transform walks.
const MAX_DEPTH: usize = 4;

/// An IPv4 or IPv6 network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n` or `x::y/n` (a bare address is a /32 or /128).
    pub fn parse(s: &str) -> Option<Cidr> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let net: IpAddr = a.trim().parse().ok()?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p.trim().parse::<u8>().ok()?,
            None => max,
        };
        (prefix <= max).then_some(Cidr { net, prefix })
    }

    /// Whether `ip` lies in the network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// HMAC-SHA256 (RFC 2104).
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(msg);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// Reads a pseudonymization key file (at least 16 bytes after trimming).
pub(crate) fn read_key(p: &Path) -> Result<Vec<u8>, String> {
    let k = std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
    let k = k.trim_ascii().to_vec();
    if k.len() < 16 {
        return Err(format!("{}: key must be at least 16 bytes (e.g. `openssl rand -hex 32`)", p.display()));
    }
    Ok(k)
}

/// The per-record privacy transform.
#[derive(Debug, Clone, Default)]
pub struct Privacy {
    /// Protocols whose payload fields may leave (`modbus`, `dnp3`, `dns`, `other`).
    pub send_payload: Vec<String>,
    /// Networks to pseudonymize.
    pub cidrs: Vec<Cidr>,
    /// HMAC key.
    pub key: Vec<u8>,
}

impl Privacy {
    fn pseudonym(&self, ip: IpAddr) -> String {
        let bytes: Vec<u8> = match ip {
            IpAddr::V4(a) => a.octets().to_vec(),
            IpAddr::V6(a) => a.octets().to_vec(),
        };
        let mac = hmac_sha256(&self.key, &bytes);
        format!("pseudo:{}", hex::encode(mac.get(..8).unwrap_or_default()))
    }

    fn payload_allowed(&self, proto: &str) -> bool {
        let p = match proto {
            "modbus" | "dnp3" | "dns" => proto,
            _ => "other",
        };
        self.send_payload.iter().any(|s| s == p)
    }

    fn walk(&self, v: &mut Value, strip: bool, depth: usize, changed: &mut bool) {
        let Value::Object(map) = v else { return };
        if strip {
            for k in PAYLOAD_KEYS {
                *changed |= map.remove(k).is_some();
            }
        }
        for (k, val) in map.iter_mut() {
            match val {
                Value::String(s) if !self.cidrs.is_empty() && ADDRESS_KEYS.contains(&k.as_str()) => {
                    if let Ok(ip) = s.parse::<IpAddr>()
                        && self.cidrs.iter().any(|c| c.contains(ip))
                    {
                        *s = self.pseudonym(ip);
                        *changed = true;
                    }
                }
                Value::Object(_) if depth < MAX_DEPTH => self.walk(val, strip, depth + 1, changed),
                Value::Array(items) if depth < MAX_DEPTH => {
                    for it in items {
                        self.walk(it, strip, depth + 1, changed);
                    }
                }
                _ => {}
            }
        }
    }

    /// Applies the policy to one serialized record. Records that are not valid
    /// JSON objects are passed through unchanged (the collector will reject them
    /// loudly rather than the sensor dropping them silently).
    pub fn apply<'a>(&self, json: &'a [u8]) -> Cow<'a, [u8]> {
        // `payload_printable` contains `payload`: two SIMD substring searches
        // (searchers built once) cover the three keys.
        static PAYLOAD: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(b"payload"));
        static PACKET: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(b"packet"));
        let may_have_payload = PAYLOAD.find(json).is_some() || PACKET.find(json).is_some();
        if !may_have_payload && self.cidrs.is_empty() {
            return Cow::Borrowed(json);
        }
        let Ok(mut v) = serde_json::from_slice::<Value>(json) else { return Cow::Borrowed(json) };
        let proto = v
            .get("app_proto")
            .and_then(Value::as_str)
            .or_else(|| v.get("event_type").and_then(Value::as_str))
            .unwrap_or("other")
            .to_string();
        let strip = may_have_payload && !self.payload_allowed(&proto);
        let mut changed = false;
        self.walk(&mut v, strip, 0, &mut changed);
        if !changed {
            return Cow::Borrowed(json);
        }
        match serde_json::to_vec(&v) {
            Ok(b) => Cow::Owned(b),
            Err(_) => Cow::Borrowed(json),
        }
    }
}

#[cfg(test)]
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memmem::find(hay, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_rfc4231_case2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex::encode(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn payload_precheck_covers_every_payload_key() {
        for k in PAYLOAD_KEYS {
            assert!(k.contains("payload") || k.contains("packet"), "{k}");
        }
    }

    #[test]
    fn cidr_contains() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains("10.1.2.3".parse().unwrap()));
        assert!(!c.contains("11.1.2.3".parse().unwrap()));
        assert!(!c.contains("::1".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains("1.2.3.4".parse().unwrap()));
        assert!(Cidr::parse("fd00::/8").unwrap().contains("fd12::1".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("nope/8").is_none());
        assert_eq!(Cidr::parse("192.168.1.1").unwrap().prefix, 32);
    }

    #[test]
    fn strips_payload_unless_enabled() {
        let p = Privacy::default();
        let rec = br#"{"event_type":"alert","app_proto":"modbus","payload":"AAEC","payload_printable":"..","packet":"xx","alert":{"signature_id":1}}"#;
        let out = p.apply(rec);
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert!(
            v.get("payload").is_none() && v.get("packet").is_none() && v.get("payload_printable").is_none()
        );
        assert_eq!(v["alert"]["signature_id"], 1);
        let p = Privacy { send_payload: vec!["modbus".into()], ..Privacy::default() };
        assert_eq!(&*p.apply(rec), &rec[..]);
        // Enabling DNS payloads does not let Modbus payloads out.
        let p = Privacy { send_payload: vec!["dns".into()], ..Privacy::default() };
        assert!(!contains(&p.apply(rec), b"AAEC"));
        // Records without payload keys are passed through untouched (no reparse).
        let plain = br#"{"event_type":"flow","flow":{}}"#;
        assert!(matches!(p.apply(plain), Cow::Borrowed(_)));
    }

    #[test]
    fn pseudonymizes_only_configured_networks_deterministically() {
        let p = Privacy {
            cidrs: vec![Cidr::parse("10.0.0.0/8").unwrap()],
            key: b"0123456789abcdef".to_vec(),
            ..Privacy::default()
        };
        let rec = br#"{"event_type":"dns","src_ip":"10.0.0.5","dest_ip":"8.8.8.8","dns":{"answers":[{"ip":"10.9.9.9"}]}}"#;
        let out = p.apply(rec);
        let v: Value = serde_json::from_slice(&out).unwrap();
        let s = v["src_ip"].as_str().unwrap();
        assert!(s.starts_with("pseudo:") && s.len() == 7 + 16, "{s}");
        assert_eq!(v["dest_ip"], "8.8.8.8");
        assert!(v["dns"]["answers"][0]["ip"].as_str().unwrap().starts_with("pseudo:"));
        assert_eq!(p.apply(rec), out, "deterministic");
        let other = Privacy { key: b"fedcba9876543210".to_vec(), ..p.clone() };
        assert_ne!(other.apply(rec), out, "keyed");
        assert!(!contains(&out, b"10.0.0.5"));
    }
}
