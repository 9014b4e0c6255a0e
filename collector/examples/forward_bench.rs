//! Forwarding benchmark (not in CI): `cargo run --release -p centinela-collector --example forward_bench`
//!
//! 1. spool write throughput (MB/s) with the default fsync policy (fsync at each
//!    writer commit of 1000 records);
//! 2. sustained sensor → collector throughput on loopback with the collector's
//!    SQLite durable (WAL, synchronous=FULL), one sensor and four concurrent sensors;
//! 3. end-to-end latency spool write → collector commit at 1 000 events/s.
//!
//! The collector runs in-process (its real HTTPS server on 127.0.0.1 with mutual
//! TLS); each sensor is a real `Delivery` (spool + forwarder thread). Options:
//! `--events N` (per sensor, default 300000), `--spool-mb N` (default 256),
//! `--latency-secs N` (default 10), `--latency-ms N` (batch latency, default 200),
//! `--batch-events N`, `--batch-bytes N` (forwarder batch limits), `--spool-fsync-never 1` (sensor spool and ledger without fsync, to separate fsync cost).

use centinela_collector::{config::CollectorConfig, pki, server};
use centinela_forward::spool::{Class, FsyncPolicy, Spool, SpoolOptions};
use centinela_forward::{Delivery, ForwardConfig, SensorMeta, SpoolConfig};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn arg(name: &str, default: u64) -> u64 {
    let a: Vec<String> = std::env::args().collect();
    a.iter()
        .position(|x| x == name)
        .and_then(|i| a.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// A realistic ~330-byte Modbus record; `sent_us` carries the submit time.
fn record(sensor: usize, i: u64, sent_us: u64) -> Vec<u8> {
    format!(
        r#"{{"timestamp":"2024-05-01T10:00:{:02}.{:06}+0000","flow_id":{i},"pcap_cnt":{i},"src_ip":"10.1.{}.{}","src_port":49152,"dest_ip":"10.2.0.1","dest_port":502,"proto":"TCP","app_proto":"modbus","event_type":"modbus","modbus":{{"transaction_id":{},"unit_id":1,"function_code":3,"function":"read_holding_registers","request":{{"address":100,"quantity":10}},"response":{{"byte_count":20}}}},"sensor_n":{sensor},"sent_us":{sent_us}}}"#,
        (i / 1_000_000) % 60,
        i % 1_000_000,
        (i / 250) % 250,
        i % 250,
        i % 65536
    )
    .into_bytes()
}

fn spool_write(dir: &Path, mb: u64, fsync: FsyncPolicy, commit_every: u64) {
    let mut s = match Spool::open(SpoolOptions {
        dir: dir.to_path_buf(),
        max_bytes: (mb + 64) << 20,
        segment_bytes: 8 << 20,
        priority_reserve: 0.2,
        fsync,
        sensor_id: "bench".into(),
    }) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("spool: {e}");
            return;
        }
    };
    let rec = record(0, 1, 0);
    let n = (mb << 20) / rec.len() as u64;
    let t = Instant::now();
    for i in 0..n {
        s.append(Class::Bulk, &rec);
        if i % commit_every == commit_every - 1 {
            let _ = s.commit();
        }
    }
    let _ = s.commit();
    let el = t.elapsed().as_secs_f64();
    let bytes = n * rec.len() as u64;
    println!(
        "spool write (fsync {fsync:?}, commit every {commit_every} records): {n} records of {} B, {:.1} MB in {el:.2}s = {:.0} MB/s, {:.0} records/s, {} fsyncs",
        rec.len(),
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / el,
        n as f64 / el,
        s.stats().fsyncs
    );
}

fn start_collector(dir: &Path) -> (String, std::path::PathBuf) {
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_or(18443, |a| a.port());
    let cfg = CollectorConfig {
        listen: format!("127.0.0.1:{port}").parse().unwrap_or_else(|_| ([127, 0, 0, 1], port).into()),
        db: dir.join("events.db"),
        client_ca_file: dir.join("ca.pem"),
        cert_file: dir.join("server.pem"),
        key_file: dir.join("server.key"),
        retention_days: 0,
        ..CollectorConfig::default()
    };
    let db = cfg.db.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("collector-http")
            .thread_keep_alive(Duration::from_secs(3600))
            .enable_all()
            .build();
        if let Ok(rt) = rt
            && let Err(e) = rt.block_on(server::serve(cfg))
        {
            eprintln!("collector: {e}");
        }
    });
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    (format!("https://127.0.0.1:{port}"), db)
}

fn delivery(pki_dir: &Path, work: &Path, url: &str, sensor: &str, latency_ms: u64) -> Option<Delivery> {
    let spool = SpoolConfig {
        dir: work.join(format!("spool-{sensor}")),
        max_bytes: 2 << 30,
        ..SpoolConfig::default()
    };
    let fwd = ForwardConfig {
        enabled: true,
        url: url.into(),
        ca_file: pki_dir.join("ca.pem"),
        cert_file: Some(pki_dir.join("sensors").join(format!("{sensor}.pem"))),
        key_file: Some(pki_dir.join("sensors").join(format!("{sensor}.key"))),
        batch_max_latency_ms: latency_ms,
        batch_max_events: arg("--batch-events", ForwardConfig::default().batch_max_events as u64) as usize,
        batch_max_bytes: arg("--batch-bytes", ForwardConfig::default().batch_max_bytes as u64) as usize,
        heartbeat_interval_s: 0,
        ..ForwardConfig::default()
    };
    let meta = SensorMeta { sensor_id: sensor.into(), version: "bench".into(), config_hash: String::new() };
    Delivery::start(&spool, &fwd, meta).map_err(|e| eprintln!("delivery: {e}")).ok()
}

fn stored(db: &Path) -> u64 {
    rusqlite::Connection::open(db)
        .and_then(|c| c.query_row("SELECT count(*) FROM events", [], |r| r.get::<_, i64>(0)))
        .map_or(0, |n| n as u64)
}

/// CPU seconds (user + system) this process used so far, from /proc/self/stat.
fn cpu_s() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = s.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

/// CPU seconds used so far by the live threads whose name starts with one of
/// `prefixes` (from /proc/self/task/*/stat).
fn threads_cpu_s(prefixes: &[&str]) -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else { return 0.0 };
    let mut total = 0.0;
    for e in dir.flatten() {
        let s = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let (Some(open), Some(close)) = (s.find('('), s.rfind(')')) else { continue };
        let comm = s.get(open + 1..close).unwrap_or("");
        if !prefixes.iter().any(|p| comm.starts_with(p)) {
            continue;
        }
        let f: Vec<&str> = s.get(close + 1..).unwrap_or("").split_whitespace().collect();
        let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        total += (tick(11) + tick(12)) / 100.0;
    }
    total
}

/// The collector's threads (`collector-writer`, `collector-ckpt`, and the
/// HTTPS runtime's workers and blocking pool, named `collector-http` here and
/// kept alive for the whole run).
const COLLECTOR_THREADS: [&str; 1] = ["collector-"];
/// The SQLite writer thread alone.
const WRITER_THREAD: [&str; 1] = ["collector-write"];

fn throughput(pki_dir: &Path, work: &Path, url: &str, db: &Path, sensors: usize, per: u64) {
    let base = stored(db);
    let total = per * sensors as u64;
    let cpu0 = cpu_s();
    let (col0, wr0) = (threads_cpu_s(&COLLECTOR_THREADS), threads_cpu_s(&WRITER_THREAD));
    let t = Instant::now();
    let mut handles = Vec::new();
    for k in 0..sensors {
        let (p, w, u) = (pki_dir.to_path_buf(), work.join(format!("run{sensors}")), url.to_string());
        handles.push(std::thread::spawn(move || {
            let Some(mut d) = delivery(&p, &w, &u, &format!("s{k}"), 200) else { return };
            for i in 0..per {
                d.submit(false, &record(k, i, 0));
                if i % 1000 == 999 {
                    d.commit();
                }
            }
            d.commit();
            let t0 = Instant::now();
            while d.stats()["spool"]["depth"].as_u64() != Some(0) && t0.elapsed() < Duration::from_secs(600) {
                std::thread::sleep(Duration::from_millis(5));
            }
            d.shutdown(Duration::from_secs(1));
        }));
    }
    for h in handles {
        let _ = h.join();
    }
    let el = t.elapsed().as_secs_f64();
    let cpu = cpu_s() - cpu0;
    let col = threads_cpu_s(&COLLECTOR_THREADS) - col0;
    let wr = threads_cpu_s(&WRITER_THREAD) - wr0;
    let got = stored(db) - base;
    let bytes = total * record(0, 1, 0).len() as u64;
    let us = |s: f64| s * 1e6 / got.max(1) as f64;
    println!(
        "sensor→collector, {sensors} sensor(s): {got}/{total} events stored in {el:.2}s = {:.0} events/s, {:.1} MB/s (uncompressed NDJSON), SQLite WAL synchronous=FULL; CPU {cpu:.1}s (sensor + collector) = {:.0} events per CPU-second; CPU µs/event: sensor side {:.2} (event generation, spool, forwarder), collector {:.2} (of which SQLite writer {:.2})",
        got as f64 / el,
        bytes as f64 / 1e6 / el,
        got as f64 / cpu.max(0.01),
        us(cpu - col),
        us(col),
        us(wr)
    );
}

fn latency(pki_dir: &Path, work: &Path, url: &str, db: &Path, secs: u64, latency_ms: u64) {
    let Some(mut d) = delivery(pki_dir, work, url, "lat", latency_ms) else { return };
    let n = secs * 1000;
    let t = Instant::now();
    for i in 0..n {
        d.submit(false, &record(99, i, now_us()));
        if i % 10 == 9 {
            d.commit(); // the sensor's writer commits small batches at low rates
        }
        let due = t + Duration::from_micros(i * 1000);
        if let Some(w) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(w);
        }
    }
    d.commit();
    let t0 = Instant::now();
    while d.stats()["spool"]["depth"].as_u64() != Some(0) && t0.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    d.shutdown(Duration::from_secs(1));
    let mut lat: Vec<i64> = rusqlite::Connection::open(db)
        .and_then(|c| {
            let mut st = c.prepare(
                "SELECT received - json_extract(json, '$.sent_us') FROM events WHERE sensor = 'lat'",
            )?;
            st.query_map([], |r| r.get::<_, i64>(0))?.collect::<Result<Vec<_>, _>>()
        })
        .unwrap_or_default();
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or(0)
            as f64
            / 1000.0
    };
    println!(
        "latency spool write → collector commit at 1000 events/s, batch_max_latency_ms={latency_ms}: n={} p50={:.1} ms p99={:.1} ms max={:.1} ms",
        lat.len(),
        pct(0.50),
        pct(0.99),
        pct(1.0)
    );
}

fn main() {
    let Ok(tmp) = tempfile::tempdir() else { return };
    let work = tmp.path();
    let pki_dir = work.join("pki");
    if let Err(e) = pki::init(&pki_dir, &["localhost".into(), "127.0.0.1".into()]) {
        eprintln!("pki: {e}");
        return;
    }
    for s in ["s0", "s1", "s2", "s3", "lat"] {
        if let Err(e) = pki::enroll(&pki_dir, s) {
            eprintln!("enroll: {e}");
            return;
        }
    }
    let mb = arg("--spool-mb", 256);
    spool_write(&work.join("spool-w1"), mb, FsyncPolicy::Batch, 1000);
    spool_write(&work.join("spool-w2"), mb, FsyncPolicy::Batch, 10_000);
    spool_write(&work.join("spool-w3"), mb, FsyncPolicy::Never, 1000);
    let (url, db) = start_collector(&pki_dir);
    let per = arg("--events", 300_000);
    throughput(&pki_dir, work, &url, &db, 1, per);
    throughput(&pki_dir, work, &url, &db, 4, per / 2);
    latency(&pki_dir, work, &url, &db, arg("--latency-secs", 10), arg("--latency-ms", 200));
}
