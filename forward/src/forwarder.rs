//! The forwarder thread: reads the spool in order, sends gzip NDJSON batches to
//! the collector, and advances the spool's ack position only on a 2xx.
//!
//! # Batch life cycle
//! 1. Wait until the committed (durable) part of the spool holds
//!    `batch_max_events` records, or its oldest record is `batch_max_latency_ms`
//!    old, or a drain was requested.
//! 2. Read up to `batch_max_events` / `batch_max_bytes` records from the ack
//!    position and **persist the in-flight batch** (its end position, count and
//!    the next sequence number) in the ledger.
//! 3. Apply the privacy policy, gzip, `POST /api/v1/batches` with the
//!    `x-centinela-*` headers. A retry — in this process or after a restart —
//!    resends the same records under the same sequence number.
//!    While the request is out, if a full batch (or, while draining, any
//!    record) is committed after this one, a scoped thread reads and encodes
//!    that next batch ([`Spool::read_from`](crate::spool::Spool::read_from)).
//! 4. Classify the answer (Vector's retry logic):
//!    - 2xx → ack: the ledger advances past the batch, the sequence increments,
//!      fully acknowledged segments are deleted; a prepared next batch is
//!      persisted as in flight in the same ledger update
//!      ([`Spool::ack_and_begin`](crate::spool::Spool::ack_and_begin)) and sent
//!      at once (one request in flight at a time, so batches arrive in order);
//!    - connect/TLS errors, timeouts, 408, 429, 5xx, 401, 403, 3xx → retry with
//!      exponential backoff (`backoff_initial_ms` doubling to `backoff_max_ms`,
//!      ±50 % jitter), honouring `Retry-After` (seconds) on 429/503; 401/403 are
//!      retried because they describe the sender's credentials, not the batch
//!      (dead-lettering would throw good data away while an operator fixes a
//!      certificate);
//!    - any other 4xx → permanent: the batch is written to
//!      `<spool>/deadletter/batch-<seq>.ndjson` (+ `.reason.json`), counted,
//!      acknowledged in the spool, and a self-alert (gid 3, signature 3000002)
//!      is spooled.
//!
//! Heartbeats (`event_type: heartbeat`) are spooled as priority records every
//! `heartbeat_interval_s`, and once more at shutdown after the drain, so they
//! travel inside batches in order with the events and share their
//! durability.

use crate::config::ForwardConfig;
use crate::privacy::Privacy;
use crate::spool::{Class, Inflight, Pos, Record};
use crate::{HealthSnapshot, Shared};
use centinela_events::wire::{self, BatchAck};
use centinela_events::{Event, EventBody, Heartbeat, Timestamp};
use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Cap on the dead-letter directory; beyond it rejected batches are only counted.
pub const DEADLETTER_MAX_BYTES: u64 = 64 << 20;
/// Longest response body kept for a dead-letter reason.
const MAX_REASON_BYTES: usize = 4096;
/// Longest single wait slice, so stop requests are noticed quickly.
const WAIT_SLICE: Duration = Duration::from_millis(50);

/// Reads a bearer token file: the first line, trimmed, printable ASCII.
pub(crate) fn read_token(p: &Path) -> Result<String, String> {
    let s = std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
    let t = s.lines().next().unwrap_or("").trim().to_string();
    if t.len() < 16 || !t.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "{}: the token must be one line of at least 16 printable characters",
            p.display()
        ));
    }
    Ok(t)
}

pub(crate) fn wall_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn ts_of_ms(ms: u64) -> Timestamp {
    Timestamp::new((ms / 1000) as i64, ((ms % 1000) * 1_000_000) as u32)
}

fn ts_string(ms: u64) -> String {
    serde_json::to_value(ts_of_ms(ms)).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// One encoded batch: gzip body, the NDJSON it holds (kept for the dead
/// letter), its record count.
struct Body {
    gz: Vec<u8>,
    plain: Vec<u8>,
    count: u64,
}

/// The batch following the one in flight (sequence `after_seq`), read and
/// encoded during that one's send; begun in the same ledger update that acks it.
struct Ahead {
    after_seq: u64,
    end: Pos,
    body: Body,
}

/// Outcome of one POST.
enum Outcome {
    Acked(Option<BatchAck>),
    Retry { reason: String, after: Option<Duration> },
    Permanent { status: u16, body: String },
}

/// Everything the thread needs.
pub(crate) struct Forwarder {
    pub(crate) shared: Arc<Shared>,
    pub(crate) cfg: ForwardConfig,
    pub(crate) client: reqwest::blocking::Client,
    pub(crate) token: Option<String>,
    pub(crate) privacy: Privacy,
    pub(crate) url: String,
    pub(crate) rng: u64,
}

impl Forwarder {
    fn jitter(&mut self, d: Duration) -> Duration {
        // xorshift64*: jitter only, not security.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let r = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d);
        let frac = 0.5 + (r >> 11) as f64 / (1u64 << 53) as f64; // 0.5 ..< 1.5
        d.mul_f64(frac)
    }

    fn stopping(&self) -> bool {
        self.shared.stop.load(Ordering::Acquire)
    }

    fn past_deadline(&self) -> bool {
        self.stopping()
            && self
                .shared
                .deadline
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .is_none_or(|d| Instant::now() >= d)
    }

    /// Sleeps up to `d`, returning early when the drain deadline passes.
    fn sleep(&self, d: Duration) {
        let now = Instant::now();
        let end = now.checked_add(d).unwrap_or(now);
        while Instant::now() < end && !self.past_deadline() {
            std::thread::sleep(WAIT_SLICE.min(end.saturating_duration_since(Instant::now())));
        }
    }

    fn heartbeat(&self) {
        let sh = &self.shared;
        let health: HealthSnapshot =
            sh.health.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        let mut spool = sh.spool.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut drops = health.drops;
        let st = spool.stats();
        for (k, v) in [
            ("spool_full_bulk", st.dropped_bulk),
            ("spool_full_priority", st.dropped_priority),
            ("spool_oversized", st.dropped_oversized),
            ("spool_io_error", st.dropped_io_error),
            ("spool_torn_tail", st.torn_tails),
            ("spool_corrupt_records", st.corrupt_records),
            ("deadletter_records", sh.counters.deadletter_records.load(Ordering::Relaxed)),
        ] {
            if v > 0 {
                drops.insert(k.to_string(), v);
            }
        }
        let now = wall_ms();
        let last_ok = sh.counters.last_send_ok_ms.load(Ordering::Relaxed);
        let hb = Heartbeat {
            version: sh.meta.version.clone(),
            uptime_s: sh.started.elapsed().as_secs(),
            packets: health.packets,
            drops,
            spool_depth: spool.depth(),
            spool_bytes: spool.disk_bytes(),
            oldest_unacked_age_s: spool.oldest_unacked_ms().map(|t| now.saturating_sub(t) / 1000),
            last_send_ok: (last_ok > 0).then(|| ts_string(last_ok)),
            config_hash: sh.meta.config_hash.clone(),
        };
        let ev = Event {
            timestamp: ts_of_ms(now),
            flow_id: None,
            in_iface: None,
            pcap_cnt: None,
            src_ip: None,
            src_port: None,
            dest_ip: None,
            dest_port: None,
            proto: None,
            app_proto: None,
            vlan: Vec::new(),
            community_id: None,
            host: Some(sh.meta.sensor_id.clone()),
            body: EventBody::Heartbeat { heartbeat: hb },
        };
        if let Ok(b) = serde_json::to_vec(&ev) {
            spool.append(Class::Priority, &b);
            let _ = spool.commit();
            sh.counters.heartbeats.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Waits for a batch to be due and persists it as in flight; `None` when there
    /// is nothing to send yet (the caller loops). A new batch comes with the
    /// records just read; a batch already in flight (a retry, or one found in the
    /// ledger after a restart) comes without, and is re-read up to its end.
    fn next_batch(&self) -> std::io::Result<Option<(Inflight, Option<Vec<Record>>)>> {
        let sh = &self.shared;
        let mut spool = sh.spool.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(inf) = spool.inflight() {
            return Ok(Some((inf, None)));
        }
        let avail = spool.committed_depth();
        let draining = self.stopping();
        if avail == 0 && spool.ack_pos() >= spool.committed_pos() {
            let _ = sh
                .cv
                .wait_timeout(spool, WAIT_SLICE.saturating_mul(4))
                .map_err(std::sync::PoisonError::into_inner);
            return Ok(None);
        }
        if !draining && (avail as usize) < self.cfg.batch_max_events {
            let age = spool.oldest_unacked_ms().map_or(0, |t| wall_ms().saturating_sub(t));
            if age < self.cfg.batch_max_latency_ms {
                let wait = Duration::from_millis(self.cfg.batch_max_latency_ms - age)
                    .min(WAIT_SLICE.saturating_mul(4));
                let _ = sh.cv.wait_timeout(spool, wait).map_err(std::sync::PoisonError::into_inner);
                return Ok(None);
            }
        }
        let b = spool.read(self.cfg.batch_max_events, self.cfg.batch_max_bytes, None)?;
        if b.records.is_empty() && b.end <= spool.ack_pos() {
            return Ok(None);
        }
        // (An empty batch past the ack position = skipped corruption: acked without sending.)
        let inf = spool.begin_batch(b.end, b.records.len() as u64)?;
        if b.records.is_empty() {
            spool.ack(inf)?;
            return Ok(None);
        }
        Ok(Some((inf, Some(b.records))))
    }

    fn build_body(&self, inf: Inflight, read: Option<Vec<Record>>) -> std::io::Result<Body> {
        let records = match read {
            Some(r) => r,
            None => {
                let mut spool = self.shared.spool.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                spool.read(usize::MAX, usize::MAX, Some(inf.end))?.records
            }
        };
        self.encode(&records)
    }

    /// Privacy transform, NDJSON, gzip.
    fn encode(&self, records: &[Record]) -> std::io::Result<Body> {
        let mut plain = Vec::with_capacity(records.iter().map(|r| r.payload.len() + 1).sum());
        for r in records {
            plain.extend_from_slice(&self.privacy.apply(&r.payload));
            plain.push(b'\n');
        }
        let mut gz =
            GzEncoder::new(Vec::with_capacity(plain.len() / 4 + 64), Compression::new(self.cfg.gzip_level));
        gz.write_all(&plain)?;
        Ok(Body { gz: gz.finish()?, plain, count: records.len() as u64 })
    }

    /// Whether a full batch (or, while draining, any record) is committed
    /// after the batch in flight: then it is worth preparing during the send.
    fn ahead_due(&self, inf: Inflight) -> bool {
        let spool = self.shared.spool.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let avail = spool.committed_depth().saturating_sub(inf.count);
        avail >= self.cfg.batch_max_events as u64 || (self.stopping() && avail > 0)
    }

    /// Reads and encodes the batch that follows `inf` (run while `inf` is sent).
    fn prepare_ahead(&self, inf: Inflight) -> Option<Ahead> {
        let b = {
            let mut spool = self.shared.spool.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            spool.read_from(inf.end, self.cfg.batch_max_events, self.cfg.batch_max_bytes).ok()?
        };
        if b.records.is_empty() {
            return None;
        }
        let body = self.encode(&b.records).ok()?;
        Some(Ahead { after_seq: inf.seq, end: b.end, body })
    }

    /// POSTs the batch in flight; when the next batch is due and not prepared
    /// yet, prepares it on a scoped thread meanwhile (the round trip to the
    /// collector's commit is then no longer idle time for the sensor).
    fn send(&self, inf: Inflight, body: &Body, ahead: &mut Option<Ahead>) -> Outcome {
        if ahead.is_some() || !self.ahead_due(inf) {
            return self.post(inf.seq, body.count, &body.gz);
        }
        std::thread::scope(|sc| {
            let prep = std::thread::Builder::new()
                .name("centinela-fwd-prep".into())
                .spawn_scoped(sc, || self.prepare_ahead(inf));
            let outcome = self.post(inf.seq, body.count, &body.gz);
            *ahead = prep.ok().and_then(|h| h.join().ok()).flatten();
            outcome
        })
    }

    fn post(&self, seq: u64, count: u64, body: &[u8]) -> Outcome {
        let mut req = self
            .client
            .post(&self.url)
            .header("content-type", wire::CONTENT_TYPE)
            .header("content-encoding", "gzip")
            .header(wire::HDR_SENSOR, &self.shared.meta.sensor_id)
            .header(wire::HDR_SEQ, seq.to_string())
            .header(wire::HDR_COUNT, count.to_string())
            .body(body.to_vec());
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = match req.send() {
            Ok(r) => r,
            Err(e) => {
                let mut msg = e.to_string();
                let mut src: Option<&dyn std::error::Error> = std::error::Error::source(&e);
                while let Some(s) = src {
                    msg.push_str(": ");
                    msg.push_str(&s.to_string());
                    src = s.source();
                }
                return Outcome::Retry { reason: msg, after: None };
            }
        };
        let status = resp.status().as_u16();
        let after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = resp.text().unwrap_or_default();
        let text: String = text.chars().take(MAX_REASON_BYTES).collect();
        match status {
            200..=299 => Outcome::Acked(serde_json::from_str(&text).ok()),
            401 | 403 | 408 | 429 => Outcome::Retry { reason: format!("HTTP {status}: {text}"), after },
            400..=499 => Outcome::Permanent { status, body: text },
            _ => Outcome::Retry { reason: format!("HTTP {status}: {text}"), after },
        }
    }

    fn dead_letter(&self, inf: Inflight, plain: &[u8], status: u16, body: &str) {
        let sh = &self.shared;
        let c = &sh.counters;
        c.deadletter_batches.fetch_add(1, Ordering::Relaxed);
        c.deadletter_records.fetch_add(inf.count, Ordering::Relaxed);
        let mut spool = sh.spool.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let dir = spool.dir().join("deadletter");
        let used = c.deadletter_bytes.load(Ordering::Relaxed);
        let written = if used.saturating_add(plain.len() as u64) <= DEADLETTER_MAX_BYTES {
            let reason = serde_json::json!({"seq": inf.seq, "count": inf.count, "status": status, "response": body, "at": ts_string(wall_ms())});
            std::fs::create_dir_all(&dir)
                .and_then(|()| std::fs::write(dir.join(format!("batch-{:020}.ndjson", inf.seq)), plain))
                .and_then(|()| {
                    std::fs::write(dir.join(format!("batch-{:020}.reason.json", inf.seq)), reason.to_string())
                })
                .is_ok()
        } else {
            false
        };
        if written {
            c.deadletter_bytes.fetch_add(plain.len() as u64, Ordering::Relaxed);
        } else {
            c.deadletter_discarded.fetch_add(inf.count, Ordering::Relaxed);
        }
        let alert = serde_json::json!({
            "timestamp": ts_of_ms(wall_ms()), "host": sh.meta.sensor_id, "event_type": "alert",
            "alert": {"action": "allowed", "gid": 3, "signature_id": 3_000_002, "rev": 1,
                "signature": "CENTINELA collector rejected a batch permanently (dead-lettered)",
                "category": "Sensor Health", "severity": 2,
                "explanation": {"seq": inf.seq, "records": inf.count, "status": status,
                    "response": body.chars().take(512).collect::<String>(), "saved": written}}
        });
        if let Err(e) = spool.ack(inf) {
            *sh.last_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = format!("ledger: {e}");
        }
        if let Ok(b) = serde_json::to_vec(&alert) {
            spool.append(Class::Priority, &b);
            let _ = spool.commit();
        }
    }

    /// The thread body.
    pub(crate) fn run(mut self) {
        let sh = Arc::clone(&self.shared);
        let hb_every = Duration::from_secs(self.cfg.heartbeat_interval_s);
        let mut next_hb = Instant::now();
        let mut backoff = Duration::from_millis(self.cfg.backoff_initial_ms);
        let max_backoff = Duration::from_millis(self.cfg.backoff_max_ms);
        let mut cached: Option<(u64, Body)> = None;
        let mut ahead: Option<Ahead> = None;
        let mut last_heartbeat_sent = false;
        loop {
            if self.past_deadline() {
                break;
            }
            if self.stopping() {
                let drained = {
                    let spool = sh.spool.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    spool.inflight().is_none() && spool.committed_depth() == 0
                };
                if drained {
                    // A last heartbeat once everything else is delivered,
                    // with the final counters and an empty spool (a short
                    // replay otherwise leaves only the one sent at start);
                    // the loop delivers it, then stops.
                    if !last_heartbeat_sent && !hb_every.is_zero() {
                        self.heartbeat();
                        last_heartbeat_sent = true;
                        continue;
                    }
                    break;
                }
            }
            if !hb_every.is_zero() && Instant::now() >= next_hb && !self.stopping() {
                self.heartbeat();
                next_hb = Instant::now().checked_add(hb_every).unwrap_or_else(Instant::now);
            }
            let (inf, read) = match self.next_batch() {
                Ok(Some(i)) => i,
                Ok(None) => continue,
                Err(e) => {
                    *sh.last_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
                        format!("spool: {e}");
                    self.sleep(backoff);
                    continue;
                }
            };
            if cached.as_ref().is_none_or(|c| c.0 != inf.seq) {
                match self.build_body(inf, read) {
                    Ok(b) => cached = Some((inf.seq, b)),
                    Err(e) => {
                        *sh.last_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
                            format!("spool read: {e}");
                        self.sleep(backoff);
                        continue;
                    }
                }
            }
            let Some((_, body)) = cached.as_ref() else { continue };
            sh.counters.requests.fetch_add(1, Ordering::Relaxed);
            match self.send(inf, body, &mut ahead) {
                Outcome::Acked(ack) => {
                    let c = &sh.counters;
                    let (n, sent) = (body.count, body.gz.len() as u64);
                    let mut spool = sh.spool.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    let next = match ahead.take().filter(|a| a.after_seq == inf.seq) {
                        Some(a) => {
                            spool.ack_and_begin(inf, a.end, a.body.count).map(|b| b.map(|b| (b, a.body)))
                        }
                        None => spool.ack(inf).map(|()| None),
                    };
                    drop(spool);
                    match next {
                        Ok(next) => cached = next.map(|(b, body)| (b.seq, body)),
                        Err(e) => {
                            *sh.last_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
                                format!("ledger: {e}");
                            self.sleep(backoff);
                            continue;
                        }
                    }
                    c.batches_acked.fetch_add(1, Ordering::Relaxed);
                    c.records_acked.fetch_add(n, Ordering::Relaxed);
                    c.bytes_sent.fetch_add(sent, Ordering::Relaxed);
                    if ack.is_some_and(|a| a.duplicate) {
                        c.duplicates.fetch_add(1, Ordering::Relaxed);
                    }
                    c.last_send_ok_ms.store(wall_ms(), Ordering::Relaxed);
                    backoff = Duration::from_millis(self.cfg.backoff_initial_ms);
                }
                Outcome::Retry { reason, after } => {
                    sh.counters.retries.fetch_add(1, Ordering::Relaxed);
                    *sh.last_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = reason;
                    let j = self.jitter(backoff);
                    let d = after.map_or(j, |a| a.min(max_backoff).max(j));
                    self.sleep(d);
                    backoff = (backoff * 2).min(max_backoff);
                }
                Outcome::Permanent { status, body: reason } => {
                    *sh.last_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
                        format!("HTTP {status} (batch dead-lettered): {reason}");
                    let plain = body.plain.clone();
                    self.dead_letter(inf, &plain, status, &reason);
                    cached = None;
                    ahead = None;
                }
            }
        }
    }
}
