//! # centinela-forward
//!
//! The sensor side of delivery to the CSIRT: a durable on-disk [`spool`] that
//! every emitted event enters first, and a [`forwarder`] thread that ships
//! spooled records in batches over mutually authenticated HTTPS and advances
//! the spool's acknowledged position only on the collector's 2xx.
//!
//! Principal types: [`Delivery`] (the handle the sensor's event-writer thread
//! holds: `submit` → `commit` → … → `shutdown`), [`spool::Spool`] (segments +
//! ledger, format in its module doc), [`SpoolConfig`] / [`ForwardConfig`]
//! (`[spool]` / `[forward]`), [`privacy::Privacy`] (payload stripping and
//! address pseudonymization applied just before sending).
//!
//! **Architecture invariants**
//! - `submit` never touches the network: it appends to the spool (or drops by
//!   the documented policy and counts). The network lives on one dedicated
//!   thread with a blocking client.
//! - A record leaves the spool only after the collector answered 2xx for the
//!   batch holding it (or refused it permanently: dead letter + self-alert).
//! - The in-flight batch is persisted before it is sent; a resend after a crash
//!   carries the same records under the same sequence number.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod config;
pub mod forwarder;
pub mod privacy;
pub mod spool;
mod tls;

pub use config::{ForwardConfig, SpoolConfig};
pub use spool::FsyncPolicy;

use spool::{Class, Spool, SpoolOptions};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Identity of the running sensor, carried in heartbeats and batch headers.
#[derive(Debug, Clone, Default)]
pub struct SensorMeta {
    /// Sensor id (must match the client certificate / token at the collector).
    pub sensor_id: String,
    /// Software version.
    pub version: String,
    /// SHA-256 of the effective configuration.
    pub config_hash: String,
}

/// Pipeline counters for heartbeats.
#[derive(Debug, Clone, Default)]
pub struct HealthSnapshot {
    /// Packets seen.
    pub packets: u64,
    /// Drops by reason.
    pub drops: BTreeMap<String, u64>,
}

/// Why [`Delivery::start`] failed.
#[derive(Debug)]
pub enum DeliveryError {
    /// A configuration value is wrong: key path and problem with a fix hint.
    Config(String, String),
    /// The spool could not be opened or recovered.
    Spool(std::io::Error),
    /// The HTTP client could not be built.
    Client(String),
}

impl fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeliveryError::Config(k, m) => write!(f, "{k}: {m}"),
            DeliveryError::Spool(e) => write!(f, "spool: {e}"),
            DeliveryError::Client(m) => write!(f, "forward: {m}"),
        }
    }
}

impl std::error::Error for DeliveryError {}

/// Forwarder counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) requests: AtomicU64,
    pub(crate) batches_acked: AtomicU64,
    pub(crate) records_acked: AtomicU64,
    pub(crate) bytes_sent: AtomicU64,
    pub(crate) duplicates: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) deadletter_batches: AtomicU64,
    pub(crate) deadletter_records: AtomicU64,
    pub(crate) deadletter_bytes: AtomicU64,
    pub(crate) deadletter_discarded: AtomicU64,
    pub(crate) heartbeats: AtomicU64,
    pub(crate) last_send_ok_ms: AtomicU64,
}

/// State shared by the writer side and the forwarder thread.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) spool: Mutex<Spool>,
    pub(crate) cv: Condvar,
    pub(crate) stop: AtomicBool,
    pub(crate) deadline: Mutex<Option<Instant>>,
    pub(crate) health: Mutex<HealthSnapshot>,
    pub(crate) counters: Counters,
    pub(crate) last_error: Mutex<String>,
    pub(crate) meta: SensorMeta,
    pub(crate) started: Instant,
}

/// The sensor's handle on spool + forwarder (see the crate doc).
#[derive(Debug)]
pub struct Delivery {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// Whether `id` is usable as a sensor id: 1–63 characters of `a-z 0-9 - .`,
/// starting with a letter or digit (it becomes a DNS name in the sensor's certificate).
pub fn valid_sensor_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 63
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && id.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
}

impl Delivery {
    /// Opens (or recovers) the spool, starts the forwarder thread if `[forward] enabled`.
    pub fn start(
        spool: &SpoolConfig,
        fwd: &ForwardConfig,
        meta: SensorMeta,
    ) -> Result<Delivery, DeliveryError> {
        spool.validate().map_err(|(k, m)| DeliveryError::Config(k, m))?;
        fwd.validate().map_err(|(k, m)| DeliveryError::Config(k, m))?;
        if fwd.enabled && !valid_sensor_id(&meta.sensor_id) {
            return Err(DeliveryError::Config(
                "sensor.id".into(),
                format!(
                    "{:?}: use 1-63 characters of a-z, 0-9, '-' and '.' (it is the DNS name in the sensor's certificate)",
                    meta.sensor_id
                ),
            ));
        }
        let s = Spool::open(SpoolOptions {
            dir: spool.dir.clone(),
            max_bytes: spool.max_bytes,
            segment_bytes: spool.segment_bytes,
            priority_reserve: spool.priority_reserve,
            fsync: spool.fsync,
            sensor_id: meta.sensor_id.clone(),
        })
        .map_err(DeliveryError::Spool)?;
        let shared = Arc::new(Shared {
            spool: Mutex::new(s),
            cv: Condvar::new(),
            stop: AtomicBool::new(false),
            deadline: Mutex::new(None),
            health: Mutex::new(HealthSnapshot::default()),
            counters: Counters::default(),
            last_error: Mutex::new(String::new()),
            meta,
            started: Instant::now(),
        });
        let thread = if fwd.enabled {
            let fw = build_forwarder(Arc::clone(&shared), fwd)?;
            let t = std::thread::Builder::new()
                .name("centinela-forward".into())
                .spawn(move || fw.run())
                .map_err(|e| DeliveryError::Client(format!("cannot start the forwarder thread: {e}")))?;
            Some(t)
        } else {
            None
        };
        Ok(Delivery { shared, thread })
    }

    fn spool(&self) -> std::sync::MutexGuard<'_, Spool> {
        self.shared.spool.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends one serialized EVE record (one JSON object, no trailing newline).
    /// Never blocks on the network; when the spool is full the drop policy applies.
    pub fn submit(&mut self, priority: bool, json: &[u8]) {
        let class = if priority { Class::Priority } else { Class::Bulk };
        self.spool().append(class, json);
    }

    /// End of a writer batch: the durability point (fsync per policy), after
    /// which the records are offered to the forwarder.
    pub fn commit(&mut self) {
        let r = self.spool().commit();
        match r {
            Ok(true) => self.shared.cv.notify_all(),
            Ok(false) => {}
            Err(e) => {
                *self.shared.last_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
                    format!("spool commit: {e}");
            }
        }
    }

    /// Latest pipeline counters, used in heartbeats.
    pub fn update_health(&self, h: HealthSnapshot) {
        *self.shared.health.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = h;
    }

    /// Spool/forwarder counters for the sensor's stats event.
    pub fn stats(&self) -> serde_json::Value {
        let c = &self.shared.counters;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let spool = self.spool();
        let now = forwarder::wall_ms();
        serde_json::json!({
            "spool": {
                "depth": spool.depth(),
                "bytes": spool.disk_bytes(),
                "oldest_unacked_age_s": spool.oldest_unacked_ms().map(|t| now.saturating_sub(t) / 1000),
                "acked_total": spool.acked_total(),
                "counters": spool.stats(),
            },
            "forward": {
                "enabled": self.thread.is_some(),
                "requests": l(&c.requests),
                "batches_acked": l(&c.batches_acked),
                "records_acked": l(&c.records_acked),
                "bytes_sent": l(&c.bytes_sent),
                "duplicates": l(&c.duplicates),
                "retries": l(&c.retries),
                "deadletter_batches": l(&c.deadletter_batches),
                "deadletter_records": l(&c.deadletter_records),
                "deadletter_discarded": l(&c.deadletter_discarded),
                "heartbeats": l(&c.heartbeats),
                "last_send_ok_ms": l(&c.last_send_ok_ms),
                "last_error": self.shared.last_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone(),
            }
        })
    }

    fn stop(&mut self, drain: Duration) {
        self.commit();
        *self.shared.deadline.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some(Instant::now().checked_add(drain).unwrap_or_else(Instant::now));
        self.shared.stop.store(true, Ordering::Release);
        self.shared.cv.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// Stop: commit, let the forwarder try to drain for up to `drain`, then stop
    /// it. Spooled records not yet acknowledged stay on disk.
    pub fn shutdown(mut self, drain: Duration) {
        self.stop(drain);
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.stop(Duration::ZERO);
        }
    }
}

fn build_forwarder(shared: Arc<Shared>, fwd: &ForwardConfig) -> Result<forwarder::Forwarder, DeliveryError> {
    let read = |key: &str, p: &std::path::Path| {
        std::fs::read(p).map_err(|e| {
            DeliveryError::Config(format!("forward.{key}"), format!("cannot read {}: {e}", p.display()))
        })
    };
    let ca = read("ca_file", &fwd.ca_file)?;
    let ident = match (&fwd.cert_file, &fwd.key_file) {
        (Some(c), Some(k)) => Some((read("cert_file", c)?, read("key_file", k)?)),
        _ => None,
    };
    let tls = tls::client_config(&ca, ident.as_ref().map(|(c, k)| (c.as_slice(), k.as_slice())))
        .map_err(|m| DeliveryError::Config("forward.ca_file".into(), m))?;
    let client = reqwest::blocking::Client::builder()
        .use_preconfigured_tls(tls)
        .connect_timeout(Duration::from_millis(fwd.connect_timeout_ms))
        .timeout(Duration::from_millis(fwd.request_timeout_ms))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .map_err(|e| DeliveryError::Client(format!("cannot build the HTTPS client: {e}")))?;
    let token = match &fwd.token_file {
        Some(p) => Some(
            forwarder::read_token(p).map_err(|m| DeliveryError::Config("forward.token_file".into(), m))?,
        ),
        None => None,
    };
    let mut send_payload = Vec::new();
    for (on, p) in [
        (fwd.send_payload_modbus, "modbus"),
        (fwd.send_payload_dnp3, "dnp3"),
        (fwd.send_payload_dns, "dns"),
        (fwd.send_payload_other, "other"),
    ] {
        if on {
            send_payload.push(p.to_string());
        }
    }
    let cidrs = fwd.pseudonymize_cidrs.iter().filter_map(|c| privacy::Cidr::parse(c)).collect();
    let key = match &fwd.pseudonymize_key_file {
        Some(p) if !fwd.pseudonymize_cidrs.is_empty() => privacy::read_key(p)
            .map_err(|m| DeliveryError::Config("forward.pseudonymize_key_file".into(), m))?,
        _ => Vec::new(),
    };
    let seed = forwarder::wall_ms() ^ u64::from(std::process::id()).rotate_left(32) | 1;
    Ok(forwarder::Forwarder {
        shared,
        cfg: fwd.clone(),
        client,
        token,
        privacy: privacy::Privacy { send_payload, cidrs, key },
        url: format!("{}{}", fwd.url.trim_end_matches('/'), centinela_events::wire::BATCHES_PATH),
        rng: seed,
    })
}
