//! Live capture end to end: a veth pair inside a network namespace created
//! for the test, `centinela run` on one end, `tcpreplay` of a case pcap into
//! the other, and the app-layer records compared with a replay of the same
//! pcap. Needs root (CAP_NET_ADMIN); elsewhere it prints a skip line.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn sh(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = sh(&["ip", "netns", "del", &self.0]);
    }
}

/// The app-layer content of records, without what depends on capture time.
fn projection(recs: &[serde_json::Value]) -> Vec<String> {
    let mut v: Vec<String> = recs
        .iter()
        .filter(|r| matches!(r["event_type"].as_str(), Some("modbus" | "dnp3" | "dns")))
        .map(|r| {
            let t = r["event_type"].as_str().unwrap_or("");
            format!(
                "{t} {} {} {} {} {} {}",
                r["src_ip"], r["src_port"], r["dest_ip"], r["dest_port"], r["community_id"], r[t]
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn live_capture_on_a_veth_pair_matches_replay() {
    if !is_root() {
        println!("skipped: needs CAP_NET_ADMIN (run as root to create a network namespace)");
        return;
    }
    if !sh(&["which", "tcpreplay"]) {
        println!("skipped: tcpreplay not installed (NOT RUN)");
        return;
    }
    let (_, pcap) =
        common::cases().into_iter().find(|(n, _)| n == "modbus-polling").expect("modbus-polling case");
    let ns = Netns(format!("centinela-test-{}", std::process::id()));
    assert!(sh(&["ip", "netns", "add", &ns.0]), "ip netns add");
    assert!(
        sh(&["ip", "-n", &ns.0, "link", "add", "cnt-a", "type", "veth", "peer", "name", "cnt-b"]),
        "veth"
    );
    assert!(sh(&["ip", "-n", &ns.0, "link", "set", "cnt-a", "up"]));
    assert!(sh(&["ip", "-n", &ns.0, "link", "set", "cnt-b", "up"]));
    // No IPv6 chatter (router solicitations) on the test link.
    let _ = sh(&["ip", "netns", "exec", &ns.0, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let eve = dir.path().join("eve.json");
    let cfg = format!(
        "[capture]\ninterfaces = [\"cnt-b\"]\nbuffer_mib = 8\npoll_timeout_ms = 50\nbpf_filter = \"ip\"\n[pipeline]\nworkers = 2\n[output]\neve = \"{}\"\n[stats]\nenabled = false\n",
        eve.display()
    );
    let cfg_path = common::temp_file(&dir, "live.toml", cfg.as_bytes());
    let mut child = Command::new("ip")
        .args(["netns", "exec", &ns.0, env!("CARGO_BIN_EXE_centinela"), "run", "--config"])
        .arg(&cfg_path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start centinela run");
    // Wait until the capture is open (the EVE file is created at start).
    let t0 = Instant::now();
    while !eve.exists() && t0.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let ok = sh(&[
        "ip",
        "netns",
        "exec",
        &ns.0,
        "tcpreplay",
        "-q",
        "-i",
        "cnt-a",
        "--pps",
        "5000",
        &pcap.display().to_string(),
    ]);
    assert!(ok, "tcpreplay failed");
    std::thread::sleep(Duration::from_millis(500));
    assert!(sh(&["kill", "-TERM", &child.id().to_string()]));
    let status = child.wait().expect("wait");
    assert!(status.success(), "centinela run exited with {status}");
    let live = common::records(&std::fs::read(&eve).expect("eve file"));
    assert!(
        live.iter().all(|r| r["in_iface"] == "cnt-b" && r.get("pcap_cnt").is_none()),
        "live records carry in_iface, no pcap_cnt"
    );
    let replayed = common::records(&common::run(&[pcap], 1));
    let (a, b) = (projection(&live), projection(&replayed));
    assert!(!b.is_empty());
    assert_eq!(a, b, "live capture and replay disagree on app-layer records");
}
