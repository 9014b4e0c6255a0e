//! Fault tests with real processes on loopback: the `centinela-collector`
//! binary and the `spool_feeder` example (spool + forwarder exactly as the
//! sensor uses them through `Delivery`). Ports are picked dynamically, every
//! directory is a temp dir, every wait is bounded.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const COLLECTOR: &str = env!("CARGO_BIN_EXE_centinela-collector");

fn feeder_bin() -> PathBuf {
    // Examples are built next to the test binaries' parent (target/<profile>/examples).
    let exe = std::env::current_exe().unwrap();
    let p = exe.parent().unwrap().parent().unwrap().join("examples").join("spool_feeder");
    assert!(
        p.exists(),
        "{} missing: run `cargo test -p centinela-collector` (it builds the examples)",
        p.display()
    );
    p
}

/// A child process whose output lines are collected; killed on drop.
struct Proc {
    child: Child,
    out: Arc<Mutex<Vec<String>>>,
    err: Arc<Mutex<Vec<String>>>,
}

fn collect(r: impl std::io::Read + Send + 'static, into: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        for l in BufReader::new(r).lines() {
            let Ok(l) = l else { break };
            into.lock().unwrap().push(l);
        }
    });
}

impl Proc {
    fn spawn(cmd: &mut Command) -> Proc {
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let out = Arc::new(Mutex::new(Vec::new()));
        let err = Arc::new(Mutex::new(Vec::new()));
        collect(child.stdout.take().unwrap(), Arc::clone(&out));
        collect(child.stderr.take().unwrap(), Arc::clone(&err));
        Proc { child, out, err }
    }

    fn out(&self) -> Vec<String> {
        self.out.lock().unwrap().clone()
    }

    fn err(&self) -> String {
        self.err.lock().unwrap().join("\n")
    }

    fn kill9(&mut self) {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
    }

    /// Waits for exit (bounded); panics with the output on timeout.
    fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let t = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(50)); // let the reader threads finish
                return s;
            }
            assert!(
                t.elapsed() < limit,
                "process did not exit in {limit:?}\nstdout: {:?}\nstderr: {}",
                self.out(),
                self.err()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The `stats {json}` line the feeder prints last.
    fn stats(&self) -> serde_json::Value {
        let line = self.out().into_iter().rev().find(|l| l.starts_with("stats ")).unwrap_or_default();
        serde_json::from_str(line.trim_start_matches("stats "))
            .unwrap_or_else(|_| panic!("no stats line: {:?} / {}", self.out(), self.err()))
    }

    fn last_committed(&self) -> u64 {
        self.out()
            .iter()
            .rev()
            .find_map(|l| l.strip_prefix("committed ").and_then(|n| n.parse().ok()))
            .unwrap_or(0)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_until(limit: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A PKI directory made by `centinela-collector init` with enrolled sensors.
struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn new(dir: &Path, sensors: &[&str]) -> Pki {
        let o = Command::new(COLLECTOR).args(["init", "--dir"]).arg(dir).output().unwrap();
        assert!(o.status.success(), "init: {}", String::from_utf8_lossy(&o.stderr));
        for s in sensors {
            let o = Command::new(COLLECTOR).args(["enroll", s, "--dir"]).arg(dir).output().unwrap();
            assert!(o.status.success(), "enroll: {}", String::from_utf8_lossy(&o.stderr));
            let snippet = String::from_utf8_lossy(&o.stdout);
            assert!(snippet.contains("[forward]") && snippet.contains(&format!("id = \"{s}\"")), "{snippet}");
        }
        Pki { dir: dir.to_path_buf() }
    }
    fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
    fn cert(&self, s: &str) -> PathBuf {
        self.dir.join("sensors").join(format!("{s}.pem"))
    }
    fn key(&self, s: &str) -> PathBuf {
        self.dir.join("sensors").join(format!("{s}.key"))
    }
}

struct Collector {
    port: u16,
    db: PathBuf,
    cfg: PathBuf,
    proc: Option<Proc>,
}

impl Collector {
    fn configure(pki: &Pki, work: &Path, port: u16, extra: &str) -> Collector {
        let db = work.join("events.db");
        let cfg = work.join("collector.toml");
        let text = format!(
            "listen = \"127.0.0.1:{port}\"\ndb = \"{}\"\nclient_ca_file = \"{}\"\ncert_file = \"{}\"\nkey_file = \"{}\"\nsweep_interval_s = 1\n{extra}\n",
            db.display(),
            pki.ca().display(),
            pki.dir.join("server.pem").display(),
            pki.dir.join("server.key").display()
        );
        std::fs::write(&cfg, text).unwrap();
        Collector { port, db, cfg, proc: None }
    }

    fn start(&mut self) {
        let p = Proc::spawn(Command::new(COLLECTOR).arg("serve").arg("--config").arg(&self.cfg));
        wait_until(Duration::from_secs(20), "collector to listen", || {
            p.out().iter().any(|l| l.contains("listening on")) || p.err().contains("error")
        });
        assert!(!p.err().contains("error:"), "collector failed: {}", p.err());
        self.proc = Some(p);
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// `(event_type, flow_id)` of stored events in storage order.
    fn stored(&self) -> Vec<(String, Option<u64>, String)> {
        if !self.db.exists() {
            return Vec::new();
        }
        let c = rusqlite::Connection::open(&self.db).unwrap();
        c.busy_timeout(Duration::from_secs(10)).unwrap();
        let Ok(mut st) = c.prepare("SELECT event_type, json FROM events ORDER BY id") else {
            return Vec::new();
        };
        st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .unwrap()
            .map(|r| {
                let (et, j) = r.unwrap();
                let v: serde_json::Value = serde_json::from_str(&j).unwrap();
                (et, v["flow_id"].as_u64(), j)
            })
            .collect()
    }

    /// Flow ids of stored synthetic records (heartbeats and self-events excluded).
    fn ids(&self) -> Vec<u64> {
        self.stored().into_iter().filter_map(|(_, id, _)| id).collect()
    }
}

fn feeder(pki: &Pki, spool: &Path, url: Option<&str>, sensor: &str, extra: &[&str]) -> Command {
    let mut c = Command::new(feeder_bin());
    c.arg("--spool").arg(spool).args(["--sensor", sensor]);
    if let Some(u) = url {
        c.args(["--url", u])
            .arg("--ca")
            .arg(pki.ca())
            .arg("--cert")
            .arg(pki.cert(sensor))
            .arg("--key")
            .arg(pki.key(sensor));
    }
    c.args(extra);
    c
}

fn assert_exact(ids: &[u64], expected: impl Iterator<Item = u64>) {
    let want: Vec<u64> = expected.collect();
    let mut got = ids.to_vec();
    got.sort_unstable();
    let dupes = got.windows(2).filter(|w| w[0] == w[1]).count();
    assert_eq!(dupes, 0, "duplicates stored");
    assert_eq!(got.len(), want.len(), "stored {} records, sent {}", got.len(), want.len());
    assert_eq!(got, want, "stored set differs from sent set");
}

#[test]
fn f1_exact_equality_of_stored_and_sent() {
    let t = tempfile::tempdir().unwrap();
    let pki = Pki::new(&t.path().join("pki"), &["s1"]);
    let mut col = Collector::configure(&pki, t.path(), 0, "");
    col.start();
    let port_line =
        col.proc.as_ref().unwrap().out().into_iter().find(|l| l.contains("listening on")).unwrap();
    col.port = port_line.rsplit(':').next().unwrap().trim().parse().unwrap();
    let mut f = Proc::spawn(&mut feeder(
        &pki,
        &t.path().join("spool"),
        Some(&col.url()),
        "s1",
        &["--count", "5000", "--heartbeat-s", "1"],
    ));
    assert!(f.wait(Duration::from_secs(120)).success(), "{}", f.err());
    let st = f.stats();
    assert_eq!(st["final"]["spool"]["depth"], 0, "{st}");
    assert_exact(&col.ids(), 0..5000);
    let stored = col.stored();
    assert_eq!(stored.iter().filter(|(et, _, _)| et == "alert").count(), 500);
    assert!(stored.iter().any(|(et, _, _)| et == "heartbeat"), "heartbeats travel inside batches");
    // In order: the spool is drained first-in first-out.
    assert!(col.ids().windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn f2_kill9_sender_mid_forwarding_then_restart() {
    let t = tempfile::tempdir().unwrap();
    let pki = Pki::new(&t.path().join("pki"), &["s1"]);
    let mut col = Collector::configure(&pki, t.path(), free_port(), "");
    col.start();
    let spool = t.path().join("spool");
    let mut f = Proc::spawn(&mut feeder(
        &pki,
        &spool,
        Some(&col.url()),
        "s1",
        &["--count", "20000", "--rate", "5000", "--batch-events", "500"],
    ));
    wait_until(Duration::from_secs(60), "some records stored", || col.ids().len() > 2000);
    f.kill9();
    let committed = f.last_committed();
    assert!(committed > 2000 && committed < 20000, "killed mid-run: {committed}");
    let mut f2 = Proc::spawn(&mut feeder(
        &pki,
        &spool,
        Some(&col.url()),
        "s1",
        &["--start", "20000", "--count", "1000"],
    ));
    assert!(f2.wait(Duration::from_secs(120)).success(), "{}", f2.err());
    assert_eq!(f2.stats()["final"]["spool"]["depth"], 0);
    let ids = col.ids();
    let set: BTreeSet<u64> = ids.iter().copied().collect();
    assert_eq!(set.len(), ids.len(), "no duplicates after the restart");
    for i in (0..committed).chain(20000..21000) {
        assert!(set.contains(&i), "committed record {i} lost");
    }
    assert!(set.iter().all(|&i| i < 21000));
    // What the killed process spooled past its last commit may or may not have
    // reached the disk; whatever did is a contiguous run right after `committed`.
    let extra: Vec<u64> = set.iter().copied().filter(|&i| (committed..20000).contains(&i)).collect();
    assert!(extra.iter().enumerate().all(|(k, &i)| i == committed + k as u64), "gap in the recovered tail");
}

#[test]
fn f3_collector_down_first_then_up_spool_drains_in_order() {
    let t = tempfile::tempdir().unwrap();
    let pki = Pki::new(&t.path().join("pki"), &["s1"]);
    let mut col = Collector::configure(&pki, t.path(), free_port(), "");
    let spool = t.path().join("spool");
    let mut f = Proc::spawn(&mut feeder(
        &pki,
        &spool,
        Some(&col.url()),
        "s1",
        &["--count", "6000", "--rate", "4000", "--drain-secs", "90"],
    ));
    wait_until(Duration::from_secs(30), "half the records spooled", || f.last_committed() >= 3000);
    let spooled: u64 = std::fs::read_dir(&spool).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
    assert!(spooled > 3000 * 200, "the spool grows while the collector is down: {spooled} bytes");
    assert!(col.ids().is_empty());
    col.start();
    assert!(f.wait(Duration::from_secs(120)).success(), "{}", f.err());
    let st = f.stats();
    assert!(st["final"]["forward"]["retries"].as_u64().unwrap() > 0, "{st}");
    let ids = col.ids();
    assert_exact(&ids, 0..6000);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "drained in order");
}

#[test]
fn f4_kill9_collector_during_ingest_then_restart() {
    let t = tempfile::tempdir().unwrap();
    let pki = Pki::new(&t.path().join("pki"), &["s1"]);
    let mut col = Collector::configure(&pki, t.path(), free_port(), "");
    col.start();
    let spool = t.path().join("spool");
    let mut f = Proc::spawn(&mut feeder(
        &pki,
        &spool,
        Some(&col.url()),
        "s1",
        &["--count", "30000", "--rate", "10000", "--batch-events", "300", "--drain-secs", "90"],
    ));
    wait_until(Duration::from_secs(60), "ingest under way", || col.ids().len() > 5000);
    col.proc.as_mut().unwrap().kill9();
    let before = col.ids().len();
    std::thread::sleep(Duration::from_millis(700));
    col.start();
    assert!(f.wait(Duration::from_secs(120)).success(), "{}", f.err());
    assert!(before < 30000, "killed during ingest ({before} stored)");
    assert_exact(&col.ids(), 0..30000);
}

#[test]
fn f5_torn_spool_tail_recovered_counted_rest_delivered() {
    let t = tempfile::tempdir().unwrap();
    let pki = Pki::new(&t.path().join("pki"), &["s1"]);
    let spool = t.path().join("spool");
    let mut f = Proc::spawn(&mut feeder(&pki, &spool, None, "s1", &["--count", "1000"]));
    assert!(f.wait(Duration::from_secs(60)).success());
    let mut segs: Vec<PathBuf> = std::fs::read_dir(&spool)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    segs.sort();
    let last = segs.last().unwrap();
    let len = std::fs::metadata(last).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(last).unwrap().set_len(len - 7).unwrap();
    let mut col = Collector::configure(&pki, t.path(), free_port(), "");
    col.start();
    let mut f2 = Proc::spawn(&mut feeder(&pki, &spool, Some(&col.url()), "s1", &["--count", "0"]));
    assert!(f2.wait(Duration::from_secs(60)).success(), "{}", f2.err());
    let st = f2.stats();
    assert_eq!(st["final"]["spool"]["counters"]["torn_tails"], 1, "{st}");
    assert!(st["final"]["spool"]["counters"]["torn_tail_bytes"].as_u64().unwrap() > 0);
    assert_exact(&col.ids(), 0..999);
}

#[test]
fn f6_spool_full_drop_order_counters_and_self_alert() {
    let t = tempfile::tempdir().unwrap();
    let pki = Pki::new(&t.path().join("pki"), &["s1"]);
    let spool = t.path().join("spool");
    // 256 KiB spool, 64 KiB segments, 20 % reserved for priority records.
    let mut f = Proc::spawn(&mut feeder(
        &pki,
        &spool,
        None,
        "s1",
        &["--count", "2000", "--priority-every", "10", "--max-bytes", "262144", "--segment-bytes", "65536"],
    ));
    assert!(f.wait(Duration::from_secs(60)).success(), "{}", f.err());
    let c = f.stats()["final"]["spool"]["counters"].clone();
    let dropped_bulk = c["dropped_bulk"].as_u64().unwrap();
    assert!(dropped_bulk > 500, "{c}");
    assert_eq!(c["dropped_priority"], 0, "alerts are kept in the reserve: {c}");
    assert_eq!(c["dropped_by_type"]["flow"].as_u64(), Some(dropped_bulk));
    assert_eq!(c["full_episodes"], 1);
    let mut col = Collector::configure(&pki, t.path(), free_port(), "");
    col.start();
    let mut f2 = Proc::spawn(&mut feeder(&pki, &spool, Some(&col.url()), "s1", &["--count", "0"]));
    assert!(f2.wait(Duration::from_secs(60)).success(), "{}", f2.err());
    let stored = col.stored();
    let self_alerts: Vec<&String> =
        stored.iter().filter(|(_, _, j)| j.contains("\"signature_id\":3000001")).map(|(_, _, j)| j).collect();
    assert_eq!(self_alerts.len(), 1, "one self-alert per episode");
    assert!(self_alerts[0].contains("spool full"));
    let ids: BTreeSet<u64> = col.ids().into_iter().collect();
    // Every alert survived; the flows kept are exactly the oldest ones (the newest were dropped).
    assert!((0..2000).step_by(10).all(|i| ids.contains(&i)), "all priority records delivered");
    let flows: Vec<u64> = ids.iter().copied().filter(|i| i % 10 != 0).collect();
    let kept = flows.len() as u64;
    assert_eq!(kept + dropped_bulk, 1800);
    assert!(
        flows.iter().all(|&i| i < *flows.last().unwrap() + 1) && flows.windows(2).all(|w| w[1] - w[0] <= 2),
        "flows kept form a prefix"
    );
}

#[test]
fn f7_wrong_credentials_rejected_both_sides_nothing_stored() {
    let t = tempfile::tempdir().unwrap();
    let pki = Pki::new(&t.path().join("pki"), &["s1", "s2"]);
    let other = Pki::new(&t.path().join("other"), &["s1"]);
    let token = "0123456789abcdef0123456789abcdef";
    let token_hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(token.as_bytes()))
    };
    let mut col = Collector::configure(
        &pki,
        t.path(),
        free_port(),
        &format!(
            "require_client_cert = false\n[[sensors]]\nname = \"s3\"\ntoken_sha256 = \"{token_hash}\"\n"
        ),
    );
    col.start();
    let run = |name: &str, cmd: &mut Command| -> serde_json::Value {
        let mut f = Proc::spawn(cmd.args(["--count", "20", "--drain-secs", "3"]));
        assert!(f.wait(Duration::from_secs(60)).success(), "{name}: {}", f.err());
        let st = f.stats();
        assert_eq!(st["final"]["forward"]["records_acked"], 0, "{name}: {st}");
        assert_eq!(st["final"]["spool"]["depth"], 20, "{name}: records stay spooled: {st}");
        st
    };
    let sp = |n: &str| t.path().join(format!("spool-{n}"));
    // (a) client certificate from another CA.
    let st = run(
        "foreign client cert",
        feeder(&pki, &sp("a"), None, "s1", &[])
            .args(["--url", &col.url()])
            .arg("--ca")
            .arg(pki.ca())
            .arg("--cert")
            .arg(other.cert("s1"))
            .arg("--key")
            .arg(other.key("s1")),
    );
    let e = st["final"]["forward"]["last_error"].as_str().unwrap().to_lowercase();
    assert!(e.contains("certificate") || e.contains("alert") || e.contains("connection"), "sender side: {e}");
    // (b) server certificate from another CA: the sensor refuses the collector.
    let st = run(
        "foreign server cert",
        feeder(&pki, &sp("b"), None, "s1", &[])
            .args(["--url", &col.url()])
            .arg("--ca")
            .arg(other.ca())
            .arg("--cert")
            .arg(pki.cert("s1"))
            .arg("--key")
            .arg(pki.key("s1")),
    );
    let e = st["final"]["forward"]["last_error"].as_str().unwrap();
    assert!(e.contains("UnknownIssuer") || e.contains("invalid peer certificate"), "sender side: {e}");
    // (c) a valid certificate for another sensor id.
    let st = run(
        "cert of another sensor",
        feeder(&pki, &sp("c"), None, "s1", &[])
            .args(["--url", &col.url()])
            .arg("--ca")
            .arg(pki.ca())
            .arg("--cert")
            .arg(pki.cert("s2"))
            .arg("--key")
            .arg(pki.key("s2")),
    );
    assert!(st["final"]["forward"]["last_error"].as_str().unwrap().contains("403"), "{st}");
    // (d) no client certificate and an unknown token.
    let bad = t.path().join("bad.token");
    std::fs::write(&bad, "ffffffffffffffffffffffffffffffff\n").unwrap();
    let st = run(
        "unknown token",
        feeder(&pki, &sp("d"), None, "s3", &[])
            .args(["--url", &col.url()])
            .arg("--ca")
            .arg(pki.ca())
            .arg("--token-file")
            .arg(&bad),
    );
    let e = st["final"]["forward"]["last_error"].as_str().unwrap();
    assert!(e.contains("401") && e.contains("unknown_token"), "sender side: {e}");
    assert!(col.stored().is_empty(), "nothing stored");
    let log = col.proc.as_ref().unwrap().err();
    assert!(log.contains("TLS handshake") && log.contains("failed"), "collector side, TLS: {log}");
    assert!(log.contains("403 identity_mismatch"), "collector side, identity: {log}");
    assert!(log.contains("401 unknown_token"), "collector side, token: {log}");
    // Positive control: the right token is accepted.
    let good = t.path().join("good.token");
    std::fs::write(&good, format!("{token}\n")).unwrap();
    let mut f = Proc::spawn(
        feeder(&pki, &sp("e"), None, "s3", &["--count", "20"])
            .args(["--url", &col.url()])
            .arg("--ca")
            .arg(pki.ca())
            .arg("--token-file")
            .arg(&good),
    );
    assert!(f.wait(Duration::from_secs(60)).success());
    assert_exact(&col.ids(), 0..20);
}

fn client(pki: &Pki, sensor: &str) -> reqwest::blocking::Client {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_file_iter(pki.ca()).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let certs = rustls::pki_types::CertificateDer::pem_file_iter(pki.cert(sensor))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = rustls::pki_types::PrivateKeyDer::from_pem_file(pki.key(sensor)).unwrap();
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(certs, key)
        .unwrap();
    reqwest::blocking::Client::builder().use_preconfigured_tls(cfg).no_proxy().build().unwrap()
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

#[test]
fn f8_hostile_bodies_rejected_nothing_stored() {
    let t = tempfile::tempdir().unwrap();
    let pki = Pki::new(&t.path().join("pki"), &["s1"]);
    let mut col = Collector::configure(
        &pki,
        t.path(),
        free_port(),
        "max_body_bytes = 1048576\nmax_decompressed_bytes = 4194304\n",
    );
    col.start();
    let c = client(&pki, "s1");
    let url = format!("{}/api/v1/batches", col.url());
    let good = r#"{"timestamp":"2024-01-01T00:00:00.000000+0000","event_type":"flow","flow_id":1}"#;
    let post = |seq: u64, count: u64, ct: &str, body: Vec<u8>| -> (u16, serde_json::Value) {
        let r = c
            .post(&url)
            .header("content-type", ct)
            .header("content-encoding", "gzip")
            .header("x-centinela-sensor", "s1")
            .header("x-centinela-batch-seq", seq.to_string())
            .header("x-centinela-batch-count", count.to_string())
            .body(body)
            .send()
            .unwrap();
        let s = r.status().as_u16();
        (s, serde_json::from_str(&r.text().unwrap()).unwrap_or_default())
    };
    let nd = "application/x-ndjson";
    let mut cases: HashMap<&str, (u16, serde_json::Value)> = HashMap::new();
    cases.insert(
        "malformed json",
        post(1, 2, nd, gzip(format!("{good}\n{{\"timestamp\": oops\n").as_bytes())),
    );
    cases.insert("gzip bomb", post(2, 1, nd, gzip(&vec![b' '; 64 << 20])));
    let mut big = String::new();
    let mut rng = 0x1234_5678_u64;
    while big.len() < 2 << 20 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        big.push_str(&format!("{rng:016x}"));
    }
    cases.insert("oversized", post(3, 1, nd, gzip(format!("{{\"timestamp\":\"2024-01-01T00:00:00.000000+0000\",\"event_type\":\"flow\",\"x\":\"{big}\"}}").as_bytes())));
    cases.insert("wrong content type", post(4, 1, "application/json", gzip(good.as_bytes())));
    cases.insert("count mismatch", post(5, 3, nd, gzip(good.as_bytes())));
    cases.insert("not gzip", post(6, 1, nd, good.as_bytes().to_vec()));
    let expect = [
        ("malformed json", 400, "malformed_json"),
        ("gzip bomb", 413, "decompressed_too_large"),
        ("oversized", 413, "body_too_large"),
        ("wrong content type", 415, "wrong_content_type"),
        ("count mismatch", 400, "count_mismatch"),
        ("not gzip", 400, "bad_gzip"),
    ];
    for (name, status, code) in expect {
        let (s, body) = &cases[name];
        assert_eq!(*s, status, "{name}: {body}");
        assert_eq!(body["error"], code, "{name}: {body}");
        assert!(!body["detail"].as_str().unwrap().is_empty(), "{name}: a clear detail");
    }
    assert!(cases["malformed json"].1["detail"].as_str().unwrap().contains("line 2"));
    assert!(col.stored().is_empty(), "nothing stored from hostile bodies");
    // Positive control + dedupe: the same (sensor, seq) twice is stored once.
    let (s, ack) = post(7, 1, nd, gzip(good.as_bytes()));
    assert_eq!((s, ack["stored"].as_u64(), ack["duplicate"].as_bool()), (200, Some(1), Some(false)));
    let (s, ack) = post(7, 1, nd, gzip(good.as_bytes()));
    assert_eq!((s, ack["stored"].as_u64(), ack["duplicate"].as_bool()), (200, Some(0), Some(true)));
    assert_eq!(col.stored().len(), 1);
}

#[test]
fn query_api_needs_admin_and_filters() {
    let t = tempfile::tempdir().unwrap();
    let pki = Pki::new(&t.path().join("pki"), &["s1"]);
    let admin = std::fs::read_to_string(pki.dir.join("admin.token")).unwrap().trim().to_string();
    let hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(admin.as_bytes()))
    };
    let mut col = Collector::configure(
        &pki,
        t.path(),
        free_port(),
        &format!("admin_token_sha256 = \"{hash}\"\nsilent_after_s = 2\nlate_after_s = 1\n"),
    );
    col.start();
    let mut f = Proc::spawn(&mut feeder(
        &pki,
        &t.path().join("spool"),
        Some(&col.url()),
        "s1",
        &["--count", "300", "--heartbeat-s", "1"],
    ));
    assert!(f.wait(Duration::from_secs(60)).success());
    let c = client(&pki, "s1");
    let get = |path: &str, tok: Option<&str>| {
        let mut r = c.get(format!("{}{path}", col.url()));
        if let Some(t) = tok {
            r = r.bearer_auth(t);
        }
        let r = r.send().unwrap();
        (
            r.status().as_u16(),
            serde_json::from_str::<serde_json::Value>(&r.text().unwrap()).unwrap_or_default(),
        )
    };
    assert_eq!(get("/api/v1/events", None).0, 401, "a sensor certificate is not an admin credential");
    let (s, v) = get("/api/v1/events?event_type=alert&limit=1000", Some(&admin));
    assert_eq!(s, 200);
    assert_eq!(v["events"].as_array().unwrap().len(), 30);
    let (_, v) =
        get("/api/v1/events?signature_id=9000001&severity=2&address=10.0.0.10&limit=1000", Some(&admin));
    assert_eq!(v["events"].as_array().unwrap().len(), 2, "flow ids 10 and 260 come from 10.0.0.10: {v}");
    let (_, v) = get("/api/v1/events?event_type=flow&limit=100", Some(&admin));
    let next = v["next_after_id"].as_i64().unwrap();
    let (_, v2) = get(&format!("/api/v1/events?event_type=flow&limit=1000&after_id={next}"), Some(&admin));
    assert_eq!(v["events"].as_array().unwrap().len() + v2["events"].as_array().unwrap().len(), 270);
    assert_eq!(get("/api/v1/events?bogus=1", Some(&admin)).0, 400);
    let (s, v) = get("/api/v1/summary", Some(&admin));
    assert_eq!(s, 200);
    assert_eq!(v["events_by_type"]["alert"], 30);
    assert_eq!(v["events_by_type"]["flow"], 270);
    assert_eq!(v["alerts_by_signature"][0]["signature"], "synthetic");
    let (s, v) = get("/api/v1/sensors", Some(&admin));
    assert_eq!(s, 200);
    assert_eq!(v["sensors"][0]["sensor"], "s1");
    assert_eq!(v["sensors"][0]["version"], env!("CARGO_PKG_VERSION"));
    // Heartbeats stop (the feeder exited): the sensor turns silent and one sensor_silent event is raised.
    wait_until(Duration::from_secs(20), "sensor_silent", || {
        col.stored().iter().any(|(et, _, j)| et == "sensor_silent" && j.contains("\"s1\""))
    });
    let (_, v) = get("/api/v1/sensors", Some(&admin));
    assert_eq!(v["sensors"][0]["status"], "silent");
}

/// The `centinela` sensor binary, when it has been built next to this test
/// (`cargo build -p centinela`); the end-to-end replay cases need it.
fn sensor_bin() -> Option<PathBuf> {
    let exe = std::env::current_exe().unwrap();
    let p = exe.parent().unwrap().parent().unwrap().join("centinela");
    p.exists().then_some(p)
}

fn bundled_pcaps() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("pcaps");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path().join("capture.pcap");
            p.exists().then_some(p)
        })
        .collect();
    v.sort();
    v
}

fn sensor_config(pki: &Pki, work: &Path, name: &str, url: &str) -> PathBuf {
    let cfg = work.join(format!("{name}.toml"));
    let text = format!(
        "[sensor]\nid = \"s1\"\n\n[spool]\ndir = \"{}\"\n\n[forward]\nenabled = true\nurl = \"{url}\"\nca_file = \"{}\"\ncert_file = \"{}\"\nkey_file = \"{}\"\n\
         batch_max_latency_ms = 100\nbackoff_initial_ms = 100\nbackoff_max_ms = 500\nsend_payload_modbus = true\nsend_payload_dnp3 = true\n\
         send_payload_dns = true\nsend_payload_other = true\n",
        work.join("spool").display(),
        pki.ca().display(),
        pki.cert("s1").display(),
        pki.key("s1").display()
    );
    std::fs::write(&cfg, text).unwrap();
    cfg
}

fn replay(bin: &Path, cfg: &Path, eve: &Path, pcaps: &[PathBuf]) -> Vec<String> {
    let mut p = Proc::spawn(
        Command::new(bin).arg("replay").arg("--config").arg(cfg).arg("--eve").arg(eve).args(pcaps),
    );
    let st = p.wait(Duration::from_secs(120));
    assert!(st.success(), "centinela replay failed: {}", p.err());
    std::fs::read_to_string(eve).unwrap().lines().filter(|l| !l.is_empty()).map(str::to_string).collect()
}

fn stored_lines(col: &Collector) -> Vec<String> {
    let mut v: Vec<String> =
        col.stored().into_iter().filter(|(et, _, _)| et != "heartbeat").map(|(_, _, j)| j).collect();
    v.sort();
    v
}

#[test]
fn f9_sensor_replay_stored_equals_eve_output() {
    let Some(bin) = sensor_bin() else {
        eprintln!("centinela sensor binary not built (cargo build -p centinela): skipped (NOT RUN)");
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let pki = Pki::new(&t.path().join("pki"), &["s1"]);
    let mut col = Collector::configure(&pki, t.path(), free_port(), "");
    col.start();
    let cfg = sensor_config(&pki, t.path(), "sensor", &col.url());
    let mut eve = replay(&bin, &cfg, &t.path().join("eve.json"), &bundled_pcaps());
    assert!(eve.len() > 50, "the bundled pcaps produce events: {}", eve.len());
    eprintln!("f9: {} EVE records from {} pcaps", eve.len(), bundled_pcaps().len());
    eve.sort();
    wait_until(Duration::from_secs(30), "all events stored", || stored_lines(&col).len() >= eve.len());
    assert_eq!(stored_lines(&col), eve, "collector set = sensor EVE output, exactly");
    // The last heartbeat, sent once everything else was delivered, carries
    // the replay's final packet count and an empty spool.
    let packets = eve
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event_type"] == "stats")
        .filter_map(|v| v["stats"]["capture"]["packets"].as_u64())
        .max()
        .unwrap();
    let last_hb = || {
        col.stored()
            .into_iter()
            .rev()
            .filter(|(et, _, _)| et == "heartbeat")
            .find_map(|(_, _, j)| serde_json::from_str::<serde_json::Value>(&j).ok())
    };
    wait_until(Duration::from_secs(30), "the last heartbeat stored", || {
        last_hb().is_some_and(|h| h["heartbeat"]["packets"].as_u64() == Some(packets))
    });
    let hb = last_hb().unwrap();
    assert!(packets > 0);
    assert_eq!(hb["heartbeat"]["spool_depth"].as_u64(), Some(0), "{hb}");
}

#[test]
fn f10_sensor_replay_with_collector_down_then_restart_drains() {
    let Some(bin) = sensor_bin() else {
        eprintln!("centinela sensor binary not built (cargo build -p centinela): skipped (NOT RUN)");
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let pki = Pki::new(&t.path().join("pki"), &["s1"]);
    let mut col = Collector::configure(&pki, t.path(), free_port(), "");
    let cfg = sensor_config(&pki, t.path(), "sensor", &col.url());
    let pcaps = bundled_pcaps();
    let (first, second) = pcaps.split_at(pcaps.len() / 2);
    // Collector down: the replay ends, its events stay in the spool.
    let mut eve = replay(&bin, &cfg, &t.path().join("eve1.json"), first);
    assert!(col.stored().is_empty());
    col.start();
    // The next sensor run drains the spool first, then forwards its own events.
    eve.extend(replay(&bin, &cfg, &t.path().join("eve2.json"), second));
    eve.sort();
    wait_until(Duration::from_secs(30), "all events stored", || stored_lines(&col).len() >= eve.len());
    assert_eq!(stored_lines(&col), eve, "both runs stored exactly once");
}

#[test]
fn f11_permanent_rejection_dead_letters_batch_counts_and_alerts() {
    let t = tempfile::tempdir().unwrap();
    let pki = Pki::new(&t.path().join("pki"), &["s1"]);
    let mut col = Collector::configure(&pki, t.path(), free_port(), "");
    col.start();
    let spool = t.path().join("spool");
    let mut f = Proc::spawn(&mut feeder(
        &pki,
        &spool,
        Some(&col.url()),
        "s1",
        &["--count", "3000", "--garbage-at", "1500", "--batch-events", "200", "--commit-every", "50"],
    ));
    assert!(f.wait(Duration::from_secs(120)).success(), "{}", f.err());
    let st = f.stats();
    assert_eq!(st["final"]["forward"]["deadletter_batches"], 1, "{st}");
    assert_eq!(st["final"]["spool"]["depth"], 0, "the rest is delivered: {st}");
    assert!(st["final"]["forward"]["last_error"].as_str().unwrap().contains("400"), "{st}");
    // The refused batch is on disk with its reason; together with what was stored it is every record once.
    let dl = spool.join("deadletter");
    let mut dead_ids = Vec::new();
    let mut reasons = 0;
    for e in std::fs::read_dir(&dl).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        if p.to_string_lossy().ends_with(".reason.json") {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["status"], 400);
            assert!(v["response"].as_str().unwrap().contains("malformed_json"));
            reasons += 1;
        } else {
            assert!(text.contains("{not json"));
            dead_ids.extend(
                text.lines()
                    .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                    .filter_map(|v| v["flow_id"].as_u64()),
            );
        }
    }
    assert_eq!(reasons, 1);
    assert!(!dead_ids.is_empty());
    let mut all = col.ids();
    all.extend(&dead_ids);
    assert_exact(&all, (0..3000).filter(|&i| i != 1500));
    let alerts = col.stored().into_iter().filter(|(_, _, j)| j.contains("\"signature_id\":3000002")).count();
    assert_eq!(alerts, 1, "one self-alert for the dead-lettered batch");
}

#[test]
fn f12_rate_limited_429_retry_after_honoured_nothing_lost() {
    let t = tempfile::tempdir().unwrap();
    let pki = Pki::new(&t.path().join("pki"), &["s1"]);
    let mut col = Collector::configure(&pki, t.path(), free_port(), "rate_limit_events_per_s = 1000\n");
    col.start();
    let mut f = Proc::spawn(&mut feeder(
        &pki,
        &t.path().join("spool"),
        Some(&col.url()),
        "s1",
        &["--count", "6000", "--batch-events", "500", "--drain-secs", "60"],
    ));
    assert!(f.wait(Duration::from_secs(120)).success(), "{}", f.err());
    let st = f.stats();
    assert!(st["final"]["forward"]["retries"].as_u64().unwrap() > 0, "{st}");
    assert_exact(&col.ids(), 0..6000);
    assert!(col.proc.as_ref().unwrap().err().contains("429 rate_limited"));
}
