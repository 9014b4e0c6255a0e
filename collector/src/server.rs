//! The HTTPS server: rustls (ring) with client-certificate verification,
//! hyper HTTP/1.1, the ingest and query endpoints, per-sensor rate limits and
//! the single writer thread that owns the [`Store`].

use crate::config::CollectorConfig;
use crate::ingest::{self, Reject, reject};
use crate::store::{EventQuery, IncomingBatch, QueryStore, SqliteReader, SqliteStore, Store, SweepPolicy};
use bytes::Bytes;
use centinela_events::wire::{self, ApiError, BatchAck};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use sha2::Digest;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;

/// Most concurrent connections; more are closed at accept.
pub const MAX_CONNECTIONS: usize = 1024;
/// Batches waiting for the writer; beyond it ingest answers 503 + Retry-After.
pub const WRITER_QUEUE: usize = 256;
/// Most batches the writer commits in one transaction.
const GROUP_COMMIT_BATCHES: usize = 256;
/// Most rows the writer commits in one transaction.
const GROUP_COMMIT_ROWS: usize = 200_000;
/// Most sensors tracked by the rate limiter.
const MAX_RATE_BUCKETS: usize = 100_000;
/// TLS handshake timeout.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed to receive a whole request body.
const BODY_TIMEOUT: Duration = Duration::from_secs(60);
/// Most bytes of a rejected body read (and discarded) before answering.
const DISCARD_CAP: usize = 64 << 20;
/// Largest page of the events query.
const MAX_PAGE: i64 = 10_000;

fn now_us() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}

type Reply = oneshot::Sender<Result<BatchAck, String>>;
/// A rejection with an optional Retry-After (seconds).
type Rejected = (Reject, Option<u64>);

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Ingest counters.
#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    duplicates: AtomicU64,
    records: AtomicU64,
    rejected: AtomicU64,
}

struct App {
    cfg: CollectorConfig,
    tokens: HashMap<String, String>,
    sites: HashMap<String, String>,
    writer: mpsc::SyncSender<(IncomingBatch, Reply)>,
    reader: Arc<dyn QueryStore>,
    buckets: Mutex<HashMap<String, Bucket>>,
    counters: Counters,
}

fn json_response(status: u16, body: &impl serde::Serialize) -> Response<Full<Bytes>> {
    let b = serde_json::to_vec(body).unwrap_or_default();
    let mut r = Response::new(Full::new(Bytes::from(b)));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert("content-type", hyper::header::HeaderValue::from_static("application/json"));
    r
}

fn error_response(r: &Reject, retry_after: Option<u64>) -> Response<Full<Bytes>> {
    let mut resp = json_response(r.status, &ApiError { error: r.code.to_string(), detail: r.detail.clone() });
    if let Some(s) = retry_after
        && let Ok(v) = hyper::header::HeaderValue::from_str(&s.to_string())
    {
        resp.headers_mut().insert("retry-after", v);
    }
    resp
}

fn header<'a>(req: &'a Request<Incoming>, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

fn bearer(req: &Request<Incoming>) -> Option<&str> {
    header(req, "authorization").and_then(|v| v.strip_prefix("Bearer ")).map(str::trim)
}

fn hash_eq(token: &str, hex_hash: &str) -> bool {
    let h = hex::encode(sha2::Sha256::digest(token.as_bytes()));
    // Constant-time-ish comparison of equal-length hex strings.
    h.len() == hex_hash.len()
        && h.bytes().zip(hex_hash.to_ascii_lowercase().bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

fn cert_valid_for(cert: &CertificateDer<'_>, name: &str) -> bool {
    let Ok(ee) = webpki::EndEntityCert::try_from(cert) else { return false };
    let Ok(sn) = ServerName::try_from(name) else { return false };
    ee.verify_is_valid_for_subject_name(&sn).is_ok()
}

impl App {
    /// Who is this request from? The certificate decides when there is one.
    fn authenticate(
        &self,
        peer: Option<&CertificateDer<'static>>,
        req: &Request<Incoming>,
        sensor: &str,
    ) -> Result<(), Reject> {
        if let Some(cert) = peer {
            if cert_valid_for(cert, sensor) {
                return Ok(());
            }
            return Err(reject(
                403,
                "identity_mismatch",
                format!("the client certificate is not valid for sensor {sensor:?}"),
            ));
        }
        match bearer(req) {
            Some(tok) => match self.tokens.get(sensor) {
                Some(h) if hash_eq(tok, h) => Ok(()),
                _ => Err(reject(
                    401,
                    "unknown_token",
                    format!("the bearer token is not valid for sensor {sensor:?}"),
                )),
            },
            None => Err(reject(401, "unauthenticated", "no client certificate and no bearer token")),
        }
    }

    fn admin(&self, peer: Option<&CertificateDer<'static>>, req: &Request<Incoming>) -> Result<(), Reject> {
        if let Some(cert) = peer
            && self.cfg.admin_cert_names.iter().any(|n| cert_valid_for(cert, n))
        {
            return Ok(());
        }
        if let (Some(tok), Some(h)) = (bearer(req), &self.cfg.admin_token_sha256)
            && hash_eq(tok, h)
        {
            return Ok(());
        }
        Err(reject(
            401,
            "unauthenticated",
            "the query API needs the admin token or an admin client certificate",
        ))
    }

    /// Token bucket per sensor; `Err(seconds to wait)`.
    fn rate_check(&self, sensor: &str, count: u64) -> Result<(), u64> {
        let rate = self.cfg.rate_limit_events_per_s;
        if rate == 0 {
            return Ok(());
        }
        let cap = (rate * 2) as f64;
        let mut m = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if m.len() >= MAX_RATE_BUCKETS && !m.contains_key(sensor) {
            m.clear();
        }
        let now = Instant::now();
        let b = m.entry(sensor.to_string()).or_insert(Bucket { tokens: cap, last: now });
        b.tokens = (b.tokens + now.duration_since(b.last).as_secs_f64() * rate as f64).min(cap);
        b.last = now;
        let need = (count as f64).min(cap);
        if b.tokens >= need {
            b.tokens -= count as f64;
            Ok(())
        } else {
            Err(((need - b.tokens) / rate as f64).ceil().max(1.0) as u64)
        }
    }

    /// Header checks, authentication and rate limit: everything decided before the body is read.
    fn precheck(
        &self,
        peer: Option<&CertificateDer<'static>>,
        req: &Request<Incoming>,
    ) -> Result<(String, u64, u64, bool), Rejected> {
        let ct = header(req, "content-type").unwrap_or("");
        if ct.split(';').next().map(str::trim) != Some(wire::CONTENT_TYPE) {
            return Err((
                reject(
                    415,
                    "wrong_content_type",
                    format!("content-type must be {}, got {ct:?}", wire::CONTENT_TYPE),
                ),
                None,
            ));
        }
        let gzip = match header(req, "content-encoding") {
            None | Some("identity") => false,
            Some("gzip") => true,
            Some(other) => {
                return Err((
                    reject(415, "wrong_content_encoding", format!("content-encoding {other:?}: use gzip")),
                    None,
                ));
            }
        };
        let sensor = header(req, wire::HDR_SENSOR).unwrap_or("").to_string();
        if sensor.is_empty() || sensor.len() > 63 {
            return Err((
                reject(400, "missing_header", format!("{} is required (1-63 characters)", wire::HDR_SENSOR)),
                None,
            ));
        }
        let seq = header(req, wire::HDR_SEQ)
            .and_then(|s| s.parse::<u64>().ok())
            .filter(|&s| s >= 1 && i64::try_from(s).is_ok())
            .ok_or_else(|| {
                (
                    reject(400, "missing_header", format!("{} must be an integer in 1..2^63", wire::HDR_SEQ)),
                    None,
                )
            })?;
        let count = header(req, wire::HDR_COUNT).and_then(|s| s.parse::<u64>().ok()).ok_or_else(|| {
            (reject(400, "missing_header", format!("{} must be an integer", wire::HDR_COUNT)), None)
        })?;
        self.authenticate(peer, req, &sensor).map_err(|r| (r, None))?;
        if count > self.cfg.max_batch_records as u64 {
            return Err((
                reject(
                    413,
                    "too_many_records",
                    format!("{count} records: the limit is {}", self.cfg.max_batch_records),
                ),
                None,
            ));
        }
        if header(req, "content-length")
            .and_then(|s| s.parse::<usize>().ok())
            .is_some_and(|n| n > self.cfg.max_body_bytes)
        {
            return Err((
                reject(413, "body_too_large", format!("body exceeds {} bytes", self.cfg.max_body_bytes)),
                None,
            ));
        }
        self.rate_check(&sensor, count).map_err(|wait| {
            (
                reject(
                    429,
                    "rate_limited",
                    format!("sensor {sensor:?} exceeds {} events/s", self.cfg.rate_limit_events_per_s),
                ),
                Some(wait),
            )
        })?;
        Ok((sensor, seq, count, gzip))
    }

    async fn ingest(
        self: &Arc<Self>,
        peer: Option<&CertificateDer<'static>>,
        req: Request<Incoming>,
    ) -> Result<BatchAck, (Reject, Option<u64>)> {
        let (sensor, seq, count, gzip) = match self.precheck(peer, &req) {
            Ok(p) => p,
            Err(e) => {
                // Read (and discard) a bounded amount of the body so that a client
                // still writing it gets the answer instead of a broken pipe.
                drain(req.into_body()).await;
                return Err(e);
            }
        };
        let max_body = self.cfg.max_body_bytes;
        let collected = tokio::time::timeout(BODY_TIMEOUT, Limited::new(req.into_body(), max_body).collect())
            .await
            .map_err(|_| (reject(408, "body_timeout", "the body did not arrive in time"), None))?;
        let body = match collected {
            Ok(c) => c.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                return Err((reject(413, "body_too_large", format!("body exceeds {max_body} bytes")), None));
            }
            Err(e) => return Err((reject(400, "bad_body", format!("reading the body failed: {e}")), None)),
        };
        let max_out = self.cfg.max_decompressed_bytes;
        let max_rec = self.cfg.max_batch_records;
        let parsed = tokio::task::spawn_blocking(move || {
            let plain = ingest::decode_body(&body, gzip, max_out)?;
            ingest::parse_records(&plain, count, max_rec)
        })
        .await
        .map_err(|e| (reject(500, "internal", e.to_string()), None))?;
        let (rows, heartbeat) = parsed.map_err(|r| (r, None))?;
        let site = self.sites.get(&sensor).cloned();
        let (tx, rx) = oneshot::channel();
        let batch = IncomingBatch { sensor, site, seq, rows, heartbeat };
        match self.writer.try_send((batch, tx)) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Full(_)) => {
                return Err((reject(503, "busy", "the store is busy, retry"), Some(1)));
            }
            Err(mpsc::TrySendError::Disconnected(_)) => {
                return Err((reject(503, "store_down", "the store is not running"), Some(5)));
            }
        }
        match rx.await {
            Ok(Ok(ack)) => Ok(ack),
            Ok(Err(e)) => Err((reject(503, "store_error", e), Some(5))),
            Err(_) => Err((reject(503, "store_down", "the store stopped"), Some(5))),
        }
    }

    fn query_events(&self, query: &str) -> Result<serde_json::Value, Reject> {
        let mut q = EventQuery { limit: 1000, ..EventQuery::default() };
        let int = |k: &str, v: &str| {
            v.parse::<i64>().map_err(|_| reject(400, "bad_query", format!("{k}: not an integer: {v:?}")))
        };
        let time = |k: &str, v: &str| -> Result<i64, Reject> {
            if let Ok(secs) = v.parse::<i64>() {
                return secs
                    .checked_mul(1_000_000)
                    .ok_or_else(|| reject(400, "bad_query", format!("{k}: out of range")));
            }
            centinela_events::Timestamp::parse(v).map(|t| t.as_micros()).ok_or_else(|| {
                reject(400, "bad_query", format!("{k}: use unix seconds or 2024-01-31T12:00:00.000000+0000"))
            })
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = percent_decode(v)
                .ok_or_else(|| reject(400, "bad_query", format!("{k}: bad percent-encoding")))?;
            match k {
                "sensor" => q.sensor = Some(v),
                "site" => q.site = Some(v),
                "event_type" => q.event_type = Some(v),
                "signature_id" => q.signature_id = Some(int(k, &v)?),
                "severity" => q.severity = Some(int(k, &v)?),
                "address" => q.address = Some(v),
                "since" => q.since_us = Some(time(k, &v)?),
                "until" => q.until_us = Some(time(k, &v)?),
                "after_id" => q.after_id = int(k, &v)?,
                "limit" => q.limit = int(k, &v)?.clamp(1, MAX_PAGE),
                _ => {
                    return Err(reject(
                        400,
                        "bad_query",
                        format!(
                            "unknown parameter {k:?} (sensor, site, event_type, signature_id, severity, address, since, until, after_id, limit)"
                        ),
                    ));
                }
            }
        }
        let (events, next) = self.reader.events(&q).map_err(|e| reject(500, "store_error", e))?;
        Ok(serde_json::json!({"events": events, "next_after_id": next}))
    }

    async fn handle(
        self: Arc<Self>,
        peer: Option<CertificateDer<'static>>,
        req: Request<Incoming>,
    ) -> Response<Full<Bytes>> {
        let path = req.uri().path().to_string();
        let query = req.uri().query().unwrap_or("").to_string();
        match (req.method().clone(), path.as_str()) {
            (Method::POST, wire::BATCHES_PATH) => {
                let sensor = header(&req, wire::HDR_SENSOR).unwrap_or("?").to_string();
                let seq = header(&req, wire::HDR_SEQ).unwrap_or("?").to_string();
                match self.ingest(peer.as_ref(), req).await {
                    Ok(ack) => {
                        if ack.duplicate {
                            self.counters.duplicates.fetch_add(1, Ordering::Relaxed);
                        } else {
                            self.counters.accepted.fetch_add(1, Ordering::Relaxed);
                            self.counters.records.fetch_add(ack.stored, Ordering::Relaxed);
                        }
                        json_response(200, &ack)
                    }
                    Err((r, wait)) => {
                        self.counters.rejected.fetch_add(1, Ordering::Relaxed);
                        eprintln!(
                            "centinela-collector: rejected batch sensor={sensor} seq={seq}: {} {}: {}",
                            r.status, r.code, r.detail
                        );
                        error_response(&r, wait)
                    }
                }
            }
            (Method::GET, wire::EVENTS_PATH) => {
                match self.admin(peer.as_ref(), &req).map(|()| Arc::clone(&self)) {
                    Ok(app) => match tokio::task::spawn_blocking(move || app.query_events(&query)).await {
                        Ok(Ok(v)) => json_response(200, &v),
                        Ok(Err(r)) => error_response(&r, None),
                        Err(e) => error_response(&reject(500, "internal", e.to_string()), None),
                    },
                    Err(r) => error_response(&r, None),
                }
            }
            (Method::GET, wire::SENSORS_PATH) => match self.admin(peer.as_ref(), &req) {
                Ok(()) => {
                    let app = Arc::clone(&self);
                    let r = tokio::task::spawn_blocking(move || {
                        app.reader.sensors(
                            now_us(),
                            app.cfg.late_after_s as i64 * 1_000_000,
                            app.cfg.silent_after_s as i64 * 1_000_000,
                        )
                    })
                    .await;
                    match r {
                        Ok(Ok(v)) => json_response(200, &serde_json::json!({"sensors": v})),
                        Ok(Err(e)) => error_response(&reject(500, "store_error", e), None),
                        Err(e) => error_response(&reject(500, "internal", e.to_string()), None),
                    }
                }
                Err(r) => error_response(&r, None),
            },
            (Method::GET, "/api/v1/summary") => match self.admin(peer.as_ref(), &req) {
                Ok(()) => {
                    let app = Arc::clone(&self);
                    match tokio::task::spawn_blocking(move || app.reader.summary()).await {
                        Ok(Ok(v)) => json_response(200, &v),
                        Ok(Err(e)) => error_response(&reject(500, "store_error", e), None),
                        Err(e) => error_response(&reject(500, "internal", e.to_string()), None),
                    }
                }
                Err(r) => error_response(&r, None),
            },
            (Method::GET, "/api/v1/stats") => match self.admin(peer.as_ref(), &req) {
                Ok(()) => {
                    let c = &self.counters;
                    json_response(
                        200,
                        &serde_json::json!({
                            "batches_accepted": c.accepted.load(Ordering::Relaxed),
                            "batches_duplicate": c.duplicates.load(Ordering::Relaxed),
                            "records_stored": c.records.load(Ordering::Relaxed),
                            "requests_rejected": c.rejected.load(Ordering::Relaxed),
                        }),
                    )
                }
                Err(r) => error_response(&r, None),
            },
            _ => error_response(
                &reject(404, "not_found", format!("no route for {} {path}", req.method())),
                None,
            ),
        }
    }
}

/// Reads and discards up to [`DISCARD_CAP`] bytes of a rejected request's body.
async fn drain(mut body: Incoming) {
    let mut seen = 0usize;
    let read = async {
        while let Some(Ok(frame)) = body.frame().await {
            seen = seen.saturating_add(frame.data_ref().map_or(0, Bytes::len));
            if seen > DISCARD_CAP {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), read).await;
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'%' => {
                let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(h, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn writer_thread(
    mut store: Box<dyn Store>,
    rx: &mpsc::Receiver<(IncomingBatch, Reply)>,
    cfg: &CollectorConfig,
) {
    let sweep_every = Duration::from_secs(cfg.sweep_interval_s.max(1));
    let mut next_sweep = Instant::now() + sweep_every;
    loop {
        let first = match rx.recv_timeout(next_sweep.saturating_duration_since(Instant::now())) {
            Ok(j) => Some(j),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        };
        if let Some(first) = first {
            let mut rows = first.0.rows.len();
            let mut jobs = vec![first];
            while jobs.len() < GROUP_COMMIT_BATCHES && rows < GROUP_COMMIT_ROWS {
                match rx.try_recv() {
                    Ok(j) => {
                        rows += j.0.rows.len();
                        jobs.push(j);
                    }
                    Err(_) => break,
                }
            }
            let (batches, replies): (Vec<IncomingBatch>, Vec<Reply>) = jobs.into_iter().unzip();
            match store.commit(&batches, now_us()) {
                Ok(acks) => {
                    for (r, a) in replies.into_iter().zip(acks) {
                        let _ = r.send(Ok(a));
                    }
                }
                Err(e) => {
                    eprintln!("centinela-collector: commit failed: {e}");
                    for r in replies {
                        let _ = r.send(Err(e.clone()));
                    }
                }
            }
        }
        if Instant::now() >= next_sweep {
            next_sweep = Instant::now() + sweep_every;
            let now = now_us();
            let policy = SweepPolicy {
                older_than_us: (cfg.retention_days > 0)
                    .then(|| now - (cfg.retention_days as i64).saturating_mul(86_400_000_000)),
                max_bytes: cfg.retention_max_bytes,
                silent_after_us: cfg.silent_after_s as i64 * 1_000_000,
            };
            match store.sweep(now, &policy) {
                Ok(rep) => {
                    for s in &rep.silent_raised {
                        eprintln!(
                            "centinela-collector: sensor {s} is silent (no heartbeat for {} s): sensor_silent raised",
                            cfg.silent_after_s
                        );
                    }
                }
                Err(e) => eprintln!("centinela-collector: sweep failed: {e}"),
            }
        }
    }
}

fn tls_config(cfg: &CollectorConfig) -> Result<rustls::ServerConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let read = |p: &std::path::Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(&read(&cfg.client_ca_file)?) {
        let c = c.map_err(|e| format!("{}: {e}", cfg.client_ca_file.display()))?;
        roots.add(c).map_err(|e| format!("{}: {e}", cfg.client_ca_file.display()))?;
    }
    if roots.is_empty() {
        return Err(format!("{}: no CA certificate", cfg.client_ca_file.display()));
    }
    let vb = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider));
    let verifier = if cfg.require_client_cert { vb.build() } else { vb.allow_unauthenticated().build() }
        .map_err(|e| e.to_string())?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&read(&cfg.cert_file)?)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", cfg.cert_file.display()))?;
    let key = PrivateKeyDer::from_pem_slice(&read(&cfg.key_file)?)
        .map_err(|e| format!("{}: {e}", cfg.key_file.display()))?;
    let mut sc = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| format!("server certificate/key: {e}"))?;
    sc.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(sc)
}

/// Runs the collector until SIGINT/SIGTERM. Prints `listening on ADDR` once bound.
pub async fn serve(cfg: CollectorConfig) -> Result<(), String> {
    let tls = tokio_rustls::TlsAcceptor::from(Arc::new(tls_config(&cfg)?));
    let store = SqliteStore::open(&cfg.db)?;
    let reader: Arc<dyn QueryStore> = Arc::new(SqliteReader::open(&cfg.db)?);
    let (tx, rx) = mpsc::sync_channel(WRITER_QUEUE);
    let wcfg = cfg.clone();
    std::thread::Builder::new()
        .name("collector-writer".into())
        .spawn(move || writer_thread(Box::new(store), &rx, &wcfg))
        .map_err(|e| e.to_string())?;
    let listener =
        tokio::net::TcpListener::bind(cfg.listen).await.map_err(|e| format!("bind {}: {e}", cfg.listen))?;
    let addr: SocketAddr = listener.local_addr().map_err(|e| e.to_string())?;
    let app = Arc::new(App {
        tokens: cfg.sensors.iter().filter_map(|s| Some((s.name.clone(), s.token_sha256.clone()?))).collect(),
        sites: cfg.sensors.iter().filter_map(|s| Some((s.name.clone(), s.site.clone()?))).collect(),
        cfg,
        writer: tx,
        reader,
        buckets: Mutex::new(HashMap::new()),
        counters: Counters::default(),
    });
    println!("centinela-collector: listening on {addr}");
    let sem = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    loop {
        let (tcp, peer_addr) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    eprintln!("centinela-collector: accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
        };
        let Ok(permit) = Arc::clone(&sem).try_acquire_owned() else {
            continue;
        };
        let tls = tls.clone();
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    eprintln!("centinela-collector: TLS handshake from {peer_addr} failed: {e}");
                    return;
                }
                Err(_) => {
                    eprintln!("centinela-collector: TLS handshake from {peer_addr} timed out");
                    return;
                }
            };
            let peer = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| c.clone().into_owned());
            let svc = service_fn(move |req| {
                let app = Arc::clone(&app);
                let peer = peer.clone();
                async move { Ok::<_, Infallible>(app.handle(peer, req).await) }
            });
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(30))
                .serve_connection(TokioIo::new(stream), svc)
                .await;
            drop(permit);
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b+c").as_deref(), Some("a b c"));
        assert_eq!(percent_decode("10.0.0.1").as_deref(), Some("10.0.0.1"));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%2"), None);
    }

    #[test]
    fn token_hash_compare() {
        let h = hex::encode(sha2::Sha256::digest(b"secret-token-0123456789"));
        assert!(hash_eq("secret-token-0123456789", &h));
        assert!(hash_eq("secret-token-0123456789", &h.to_uppercase()));
        assert!(!hash_eq("secret-token-012345678", &h));
    }
}
