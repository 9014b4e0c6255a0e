//! Evaluation of the DNS exfiltration detector on labelled captures.
//!
//! ```text
//! cargo run -p centinela-detect --release --example dns_eval -- <dir>...            # table, allowlist on and off
//! cargo run -p centinela-detect --release --example dns_eval -- --heldout <dir>     # per-file alerts, no labels
//! cargo run -p centinela-detect --release --example dns_eval -- --throughput <pcap> # parse+score msgs/s
//! ```
//! Directory layout and labels: `pcaps/dns-exfil/README.md`.

#[path = "../tests/support/eval.rs"]
mod eval;

use centinela_detect::{DetectConfig, DnsExfilDetector};
use std::path::{Path, PathBuf};

fn heldout(dir: &Path, cfg: &DetectConfig) {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Ok(rd) = std::fs::read_dir(&d) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
                    files.push(p);
                }
            }
        }
    }
    files.sort();
    for f in files {
        match eval::run_file(&f, cfg) {
            Ok(run) => {
                let first = run.first_ts.unwrap_or(0.0);
                let mut eps: Vec<&eval::SeenAlert> = Vec::new();
                for a in &run.alerts {
                    if !eps.iter().any(|e| e.episode == a.episode) {
                        eps.push(a);
                    }
                }
                let rel = f.strip_prefix(dir).unwrap_or(&f).display().to_string();
                if eps.is_empty() {
                    println!("{rel}: {} DNS msgs, {} queries, no alert", run.dns_messages, run.queries);
                }
                for a in eps {
                    let qn = run
                        .query_log
                        .iter()
                        .filter(|(ts, c, n)| {
                            *c == a.client
                                && *ts <= a.ts + 1e-9
                                && (n == &a.domain || n.ends_with(&format!(".{}", a.domain)))
                        })
                        .count();
                    println!(
                        "{rel}: {} DNS msgs, {} queries; ALERT sid {} sev {} {} -> {} after {:.1}s / {} queries, score {}, fp {}",
                        run.dns_messages,
                        run.queries,
                        a.sid,
                        a.severity,
                        a.client,
                        a.domain,
                        a.ts - first,
                        qn,
                        a.explanation["score"],
                        a.explanation["fingerprints"]
                    );
                }
            }
            Err(e) => println!("{}: error {e}", f.display()),
        }
    }
}

/// One captured DNS datagram, kept in memory for the throughput run.
struct Datagram {
    ts: centinela_events::Timestamp,
    src: std::net::IpAddr,
    dst: std::net::IpAddr,
    sport: u16,
    dport: u16,
    payload: Vec<u8>,
}

fn throughput(path: &Path) {
    // Collect the DNS payloads once, then time parse + observation + score.
    let mut msgs: Vec<Datagram> = Vec::new();
    let r = eval::for_each_frame(path, |ts, lt, data| {
        if let Some((src, dst, 17, sport, dport, _, p)) = eval_l3l4(lt, data)
            && (sport == 53 || dport == 53)
        {
            msgs.push(Datagram { ts, src, dst, sport, dport, payload: p.to_vec() });
        }
    });
    if let Err(e) = r {
        eprintln!("{e}");
        return;
    }
    let mut det = DnsExfilDetector::new(&DetectConfig::default());
    let mut out = Vec::new();
    let mut name = String::new();
    let start = std::time::Instant::now();
    let cpu0 = cpu_ns();
    let mut n = 0u64;
    for m in &msgs {
        if let Some(o) = eval::observation(m.ts, m.src, m.dst, m.sport, m.dport, &m.payload, &mut name) {
            det.observe(&o, &mut out);
            n += 1;
        }
    }
    let el = start.elapsed().as_secs_f64();
    let cpu = cpu0.zip(cpu_ns()).map(|(a, b)| (b - a) as f64 / 1e9);
    let mut doms: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for e in &out {
        if let centinela_events::EventBody::Alert { alert } = &e.body {
            let d = alert.explanation.as_ref().and_then(|x| x["domain"].as_str()).unwrap_or("").to_string();
            *doms.entry(format!("{d} sid {}", alert.signature_id)).or_default() += 1;
        }
    }
    println!("alerting domains (DNS only, no flow information): {doms:?}");
    if let Some(cpu) = cpu {
        println!(
            "{n} DNS messages: {cpu:.3} s on-CPU = {:.0} msgs per CPU-second (thread CPU time, immune to host load)",
            n as f64 / cpu
        );
    }
    println!(
        "{n} DNS messages parsed+scored in {el:.3}s wall = {:.0} msgs/s on one core, {} alert records, detector memory {} B",
        n as f64 / el,
        out.len(),
        det.memory()
    );
}

fn rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()
}

/// Fill the detector with `n` distinct (client, domain) pairs (one in ten
/// with an encoded name, so suspects fill to their cap) and report memory.
fn memory(n: u64) {
    let rss0 = rss_kib().unwrap_or(0);
    let mut cfg = DetectConfig::default();
    cfg.dns_exfil.max_pairs = n as usize;
    let mut det = DnsExfilDetector::new(&cfg);
    let mut out = Vec::new();
    for i in 0..n {
        let client = std::net::IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + (i % 65_000) as u32));
        let qname = if i % 10 == 0 {
            format!("mzxw6ytboi2dkmrz{i:x}gq3tsnbvgu4tembrgi3dsnzq.site{i}.com")
        } else {
            format!("www.site{i}.com")
        };
        let o = centinela_detect::DnsObservation {
            ts: centinela_events::Timestamp::from_micros(1_700_000_000 + (i / 1000) as i64, 0),
            client,
            client_port: 40000,
            server: std::net::IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 53)),
            flow_id: i,
            community_id: "".into(),
            pcap_cnt: None,
            is_response: false,
            id: 0,
            qname,
            qtype: 1,
            rcode: 0,
            message_len: 60,
            answer_addrs: Vec::new(),
            answer_rdata_len: 0,
            answer_count: 0,
        };
        det.observe(&o, &mut out);
    }
    let rss1 = rss_kib().unwrap_or(0);
    println!(
        "worst case at this configuration (every table and suspect full): {:.1} MB",
        DnsExfilDetector::worst_case_memory(&cfg) as f64 / 1e6
    );
    let st = det.stats();
    println!(
        "{} pairs ({} suspects, cap {}): detector.memory() = {:.1} MB ({:.0} B/pair), process RSS grew {:.1} MB",
        det.pairs(),
        st["suspects"],
        cfg.dns_exfil.max_suspects,
        det.memory() as f64 / 1e6,
        det.memory() as f64 / det.pairs().max(1) as f64,
        (rss1.saturating_sub(rss0)) as f64 / 1024.0
    );
}

/// Time this thread spent on a CPU (Linux `/proc/thread-self/schedstat`).
fn cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat").ok()?.split_whitespace().next()?.parse().ok()
}

fn eval_l3l4(lt: pcap_parser::Linktype, data: &[u8]) -> Option<eval::L4<'_>> {
    eval::l3l4_pub(lt, data)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cfg = DetectConfig::default();
    match args.first().map(String::as_str) {
        Some("--heldout") => {
            for d in &args[1..] {
                heldout(Path::new(d), &cfg);
            }
        }
        Some("--memory") => {
            for a in &args[1..] {
                memory(a.parse().unwrap_or(1_000_000));
            }
        }
        Some("--throughput") => {
            for f in &args[1..] {
                throughput(Path::new(f));
            }
        }
        Some(_) => {
            let dirs: Vec<PathBuf> = args.iter().map(PathBuf::from).collect();
            match eval::evaluate(&dirs, &cfg) {
                Ok(rep) => {
                    println!("== allowlist on (default configuration)");
                    print!("{}", eval::table(&rep));
                }
                Err(e) => {
                    eprintln!("{e}");
                    std::process::exit(1);
                }
            }
            let mut off = cfg.clone();
            off.dns_exfil.allowlist_enabled = false;
            match eval::evaluate(&dirs, &off) {
                Ok(rep) => {
                    println!("== allowlist off");
                    print!("{}", eval::table(&rep));
                }
                Err(e) => eprintln!("{e}"),
            }
        }
        None => eprintln!("usage: dns_eval <dir>... | --heldout <dir>... | --throughput <pcap>..."),
    }
}
