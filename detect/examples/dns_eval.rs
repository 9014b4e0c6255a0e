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
    let mut n = 0u64;
    for m in &msgs {
        if let Some(o) = eval::observation(m.ts, m.src, m.dst, m.sport, m.dport, &m.payload, &mut name) {
            det.observe(&o, &mut out);
            n += 1;
        }
    }
    let el = start.elapsed().as_secs_f64();
    println!(
        "{n} DNS messages parsed+scored in {el:.3}s = {:.0} msgs/s on one core, {} alert records, detector memory {} B",
        n as f64 / el,
        out.len(),
        det.memory()
    );
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
