//! App-layer DNS throughput: generated UDP lookups (query + response pairs)
//! through one `AppFlowState` per client flow, in both logging modes, with
//! EVE encoding of every record into a reused buffer. Two workloads: the
//! 256 MB mix's shape (A lookups of a few hundred names, one A answer) and
//! a richer one (CNAME chain + A/AAAA answers, TXT, MX, distinct names as a
//! tunnel would use). Prints CPU ns per message and per record, and the DNS
//! observations handed to the detectors:
//! `cargo run --release -p centinela-app --example dns_throughput [N] [mix|rich|both] [default|all|both]`.

use centinela_app::{
    AppConfig, AppFlowState, AppOutput, AppProto, Direction, FlowInfo, L4, PacketCtx, Record,
};
use centinela_events::Timestamp;
use centinela_pcapgen::proto::dns as g;
use std::time::Instant;

/// CPU time of this process in seconds (Linux `/proc/self/stat`, 10 ms
/// resolution); the machine may be shared, so wall time alone misleads.
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

/// `(flow index, direction, message, seconds)` for `n` lookups.
type Msgs = Vec<(usize, Direction, Vec<u8>, i64)>;

/// Clients spread over this many flows (as a resolver sees them).
const FLOWS: usize = 16;

fn mix_like(n: u32) -> Msgs {
    let mut v = Vec::with_capacity(2 * n as usize);
    for i in 0..n {
        let name = format!("host{}.plant{}.example.com", i % 97, i % 5);
        let id = i as u16;
        let t = i64::from(i / 50);
        let f = i as usize % FLOWS;
        v.push((f, Direction::ToServer, g::query(id, &name, 1), t));
        let ip = [10, 1, (i % 251) as u8, (i % 241) as u8];
        v.push((
            f,
            Direction::ToClient,
            g::response(id, &name, 1, 0, &[g::Record::new(&name, 60, g::Rdata::A(ip))]),
            t,
        ));
    }
    v
}

fn rich(n: u32) -> Msgs {
    let mut v = Vec::with_capacity(2 * n as usize);
    for i in 0..n {
        let id = i as u16;
        let t = i64::from(i / 50);
        let f = i as usize % FLOWS;
        let (name, qtype, answers) = match i % 4 {
            0 => {
                let name = format!("www{}.vendor.example", i % 50);
                let cname = format!("edge{}.cdn.example.net", i % 7);
                let recs = vec![
                    g::Record::new(&name, 300, g::Rdata::Cname(cname.clone())),
                    g::Record::new(&cname, 20, g::Rdata::A([192, 0, 2, (i % 250) as u8])),
                    g::Record::new(&cname, 20, g::Rdata::A([192, 0, 2, (i % 250) as u8 + 1])),
                ];
                (name, 1, recs)
            }
            1 => {
                let name = format!("v6-{}.example.org", i % 40);
                let mut a = [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
                a[15] = i as u8;
                (name.clone(), 28, vec![g::Record::new(&name, 60, g::Rdata::Aaaa(a))])
            }
            2 => {
                // Distinct names with encoded data, TXT answers (tunnel-like).
                let name = format!("{:016x}{:08x}.t.example.com", u64::from(i).wrapping_mul(0x9e37_79b9), i);
                let txt = vec![format!("{:040x}", u128::from(i).wrapping_mul(0x1234_5678_9abc)).into_bytes()];
                (name.clone(), 16, vec![g::Record::new(&name, 0, g::Rdata::Txt(txt))])
            }
            _ => {
                let name = format!("site{}.example.com", i % 30);
                let recs = vec![
                    g::Record::new(&name, 3600, g::Rdata::Mx(10, format!("mx1.site{}.example.com", i % 30))),
                    g::Record::new(&name, 3600, g::Rdata::Mx(20, format!("mx2.site{}.example.com", i % 30))),
                ];
                (name, 15, recs)
            }
        };
        v.push((f, Direction::ToServer, g::query(id, &name, qtype), t));
        v.push((f, Direction::ToClient, g::response(id, &name, qtype, 0, &answers), t));
    }
    v
}

fn run(label: &str, msgs: &Msgs, log_all: bool) {
    let cfg = AppConfig { log_all, ..AppConfig::default() };
    let flows: Vec<FlowInfo> = (0..FLOWS)
        .map(|k| FlowInfo {
            flow_id: k as u64 + 1,
            community_id: "1:bench".into(),
            l4: L4::Udp,
            client: format!("10.0.0.{}:{}", k + 1, 40000 + k).parse().expect("addr"),
            server: "10.0.0.254:53".parse().expect("addr"),
            vlan: vec![],
            in_iface: None,
        })
        .collect();
    let mut states: Vec<AppFlowState> =
        (0..FLOWS).map(|_| AppFlowState::new(AppProto::Dns, L4::Udp, &cfg)).collect();
    let mut out = AppOutput::default();
    let mut buf = Vec::with_capacity(4096);
    let (mut bytes, mut records, mut observations) = (0usize, 0usize, 0usize);
    let start = Instant::now();
    let cpu0 = cpu_s();
    for (k, (f, dir, msg, t)) in msgs.iter().enumerate() {
        let pkt = PacketCtx { ts: Timestamp::new(1_700_000_000 + t, 0), pcap_cnt: Some(k as u64 + 1) };
        if let (Some(st), Some(flow)) = (states.get_mut(*f), flows.get(*f)) {
            st.on_datagram(*dir, msg, &pkt, flow, &mut out);
        }
        // Records as the sensor writes them: events encoded, lines as they are.
        out.for_each_record(|r| {
            bytes += match r {
                Record::Event(ev) => {
                    buf.clear();
                    serde_json::to_writer(&mut buf, ev).expect("encode");
                    buf.len()
                }
                Record::Line(l) => l.len(),
            };
            records += 1;
        });
        out.clear_records();
        observations += out.dns.len();
        out.dns.clear();
    }
    let el = start.elapsed().as_secs_f64();
    let cpu = (cpu_s() - cpu0).max(0.01);
    let n = msgs.len() as f64;
    println!(
        "dns {label} ({}): {} messages, {observations} observations, {records} records ({bytes} bytes EVE); \
         wall {:.0} ns/message; CPU {:.0} ns/message, {:.0} ns/record, {:.2} M messages/s per core",
        if log_all { "every message logged" } else { "default limits" },
        msgs.len(),
        el * 1e9 / n,
        cpu * 1e9 / n,
        if records > 0 { cpu * 1e9 / records as f64 } else { 0.0 },
        n / cpu / 1e6
    );
}

fn main() {
    // Lookups per workload (first argument, default 200 000); workloads
    // (second: `mix`, `rich` or `both`, the default); modes (third:
    // `default`, `all` or `both`, the default).
    let mut args = std::env::args().skip(1);
    let n: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let loads = args.next().unwrap_or_else(|| "both".into());
    let modes = args.next().unwrap_or_else(|| "both".into());
    let mut workloads = Vec::new();
    if loads != "rich" {
        workloads.push(("mix-like", mix_like(n)));
    }
    if loads != "mix" {
        workloads.push(("rich", rich(n)));
    }
    for log_all in [false, true] {
        if (modes == "default" && log_all) || (modes == "all" && !log_all) {
            continue;
        }
        for (label, msgs) in &workloads {
            run(label, msgs, log_all);
        }
    }
}
