//! DNP3 record cost through [`AppFlowState`]: the DNP3 captures under
//! `pcaps/` (every `dnp3-*` capture, each flow replayed many times) and a
//! generated class poll whose responses carry 100 analog points, in both
//! logging modes, with EVE encoding of every record into a reused buffer:
//! `cargo run --release -p centinela-app --example dnp3_throughput [rounds]`.
//!
//! Prints, per workload and mode, packets, records, EVE bytes, and the CPU
//! time per packet and per record (process CPU time: the machine may be
//! shared, so wall time alone misleads).

use centinela_app::{
    AppConfig, AppFlowState, AppOutput, AppProto, Direction, FlowInfo, L4, PacketCtx, Record,
};
use centinela_events::Timestamp;
use centinela_pcapgen::proto::dnp3 as d3;
use pcap_parser::{Linktype, PcapBlockOwned, PcapError, create_reader};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The DNP3 port.
const PORT: u16 = 20000;

/// CPU time of this process in seconds (Linux `/proc/self/stat`, 10 ms
/// resolution).
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

/// One packet of a flow: direction, payload, packet time (s).
type Pkt = (Direction, Vec<u8>, i64);

/// One flow to replay.
struct Flow {
    l4: L4,
    pkts: Vec<Pkt>,
}

/// The DNP3 flows of one capture (one per transport and client port), in
/// capture order; packet times relative to the first packet.
fn capture_flows(path: &Path) -> Vec<Flow> {
    let mut flows: Vec<((bool, u16), Flow)> = Vec::new();
    let Ok(file) = std::fs::File::open(path) else { return vec![] };
    let Ok(mut reader) = create_reader(1 << 20, file) else { return vec![] };
    let mut linktype = Linktype::ETHERNET;
    let mut t0: Option<i64> = None;
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                let (data, ts) = match &block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        linktype = h.network;
                        (None, 0)
                    }
                    PcapBlockOwned::Legacy(b) => (Some(b.data), i64::from(b.ts_sec)),
                    _ => (None, 0),
                };
                let sliced = data.and_then(|d| match linktype {
                    Linktype::ETHERNET => etherparse::SlicedPacket::from_ethernet(d).ok(),
                    Linktype::RAW => etherparse::SlicedPacket::from_ip(d).ok(),
                    _ => None,
                });
                let tp = match sliced.and_then(|s| s.transport) {
                    Some(etherparse::TransportSlice::Tcp(t)) => {
                        Some((false, t.source_port(), t.destination_port(), t.payload().to_vec()))
                    }
                    Some(etherparse::TransportSlice::Udp(u)) => {
                        Some((true, u.source_port(), u.destination_port(), u.payload().to_vec()))
                    }
                    _ => None,
                };
                if let Some((udp, sp, dp, bytes)) = tp
                    && (sp == PORT || dp == PORT)
                    && !bytes.is_empty()
                {
                    let (dir, client) =
                        if dp == PORT { (Direction::ToServer, sp) } else { (Direction::ToClient, dp) };
                    let t = ts - *t0.get_or_insert(ts);
                    let key = (udp, client);
                    let i = match flows.iter().position(|(k, _)| *k == key) {
                        Some(i) => i,
                        None => {
                            let l4 = if udp { L4::Udp } else { L4::Tcp };
                            flows.push((key, Flow { l4, pkts: vec![] }));
                            flows.len() - 1
                        }
                    };
                    if let Some((_, f)) = flows.get_mut(i) {
                        f.pkts.push((dir, bytes, t));
                    }
                }
                reader.consume(offset);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => {
                if reader.refill().is_err() {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    flows.into_iter().map(|(_, f)| f).collect()
}

fn dnp3_captures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../pcaps");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&root)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("dnp3-")))
                .map(|p| p.join("capture.pcap"))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// 1000 class polls, each answered with 100 32-bit analog inputs with flags.
fn analog_poll() -> Flow {
    let mut a = d3::Association::new(1, 1024);
    let mut pkts = Vec::new();
    for i in 0..1000i32 {
        let t = i64::from(i / 10);
        pkts.push((
            Direction::ToServer,
            a.request(d3::func::READ, &d3::class_poll(true, true, true, true)),
            t,
        ));
        let vals: Vec<i32> = (0..100).map(|k| i.wrapping_mul(31).wrapping_add(k) - 50).collect();
        pkts.push((Direction::ToClient, a.response(0, &d3::analog_inputs_32(0, &vals)), t));
    }
    Flow { l4: L4::Tcp, pkts }
}

/// Replays `flows` `rounds` times (a fresh flow state each round); returns
/// (packets, records, EVE bytes, CPU s, wall s).
fn run(flows: &[Flow], rounds: u32, log_all: bool) -> (u64, u64, u64, f64, f64) {
    let cfg = AppConfig { log_all, ..AppConfig::default() };
    let mut out = AppOutput::default();
    let mut buf = Vec::with_capacity(1 << 16);
    let (mut pkts, mut records, mut bytes) = (0u64, 0u64, 0u64);
    let start = Instant::now();
    let cpu0 = cpu_s();
    for round in 0..rounds {
        for (fi, f) in flows.iter().enumerate() {
            let flow = FlowInfo {
                flow_id: u64::from(round) << 16 | fi as u64,
                community_id: "1:bench".into(),
                l4: f.l4,
                client: "10.0.0.1:40000".parse().expect("addr"),
                server: "10.0.0.2:20000".parse().expect("addr"),
                vlan: vec![],
                in_iface: None,
            };
            let mut st = AppFlowState::new(AppProto::Dnp3, f.l4, &cfg);
            let base = i64::from(round) * 100_000;
            for (k, (dir, data, t)) in f.pkts.iter().enumerate() {
                let pkt = PacketCtx {
                    ts: Timestamp::new(1_700_000_000 + base + t, 0),
                    pcap_cnt: Some(k as u64 + 1),
                };
                match f.l4 {
                    L4::Tcp => st.on_stream_data(*dir, data, &pkt, &flow, &mut out),
                    L4::Udp => st.on_datagram(*dir, data, &pkt, &flow, &mut out),
                }
                pkts += 1;
                // Records as the sensor writes them: events encoded, lines as they are.
                out.for_each_record(|r| {
                    bytes += match r {
                        Record::Event(ev) => {
                            buf.clear();
                            serde_json::to_writer(&mut buf, ev).expect("encode");
                            buf.len() as u64
                        }
                        Record::Line(l) => l.len() as u64,
                    };
                    records += 1;
                });
                out.clear_records();
            }
            let pkt = PacketCtx { ts: Timestamp::new(1_700_000_000 + base + 99_999, 0), pcap_cnt: None };
            st.on_close(&pkt, &flow, &mut out);
            // Records as the sensor writes them: events encoded, lines as they are.
            out.for_each_record(|r| {
                bytes += match r {
                    Record::Event(ev) => {
                        buf.clear();
                        serde_json::to_writer(&mut buf, ev).expect("encode");
                        buf.len() as u64
                    }
                    Record::Line(l) => l.len() as u64,
                };
                records += 1;
            });
            out.clear_records();
        }
    }
    let wall = start.elapsed().as_secs_f64();
    (pkts, records, bytes, (cpu_s() - cpu0).max(0.01), wall)
}

fn main() {
    let rounds: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let files = dnp3_captures();
    let captures: Vec<Flow> = files.iter().flat_map(|p| capture_flows(p)).collect();
    let poll = analog_poll();
    let workloads = [
        (
            format!("pcaps/dnp3-* ({} captures, {} flows) x{rounds}", files.len(), captures.len()),
            &captures[..],
            rounds,
        ),
        ("100-analog class poll (1000 polls) x20".to_string(), std::slice::from_ref(&poll), 20),
    ];
    for (name, flows, rounds) in workloads {
        for (label, log_all) in [("default limits", false), ("every transaction logged", true)] {
            let (pkts, records, bytes, cpu, wall) = run(flows, rounds, log_all);
            println!(
                "dnp3 {name}, {label}: {pkts} packets, {records} records ({bytes} bytes EVE); \
                 wall {wall:.3} s; CPU {cpu:.2} s: {:.0} ns/packet, {:.0} ns/record",
                cpu * 1e9 / pkts.max(1) as f64,
                cpu * 1e9 / records.max(1) as f64,
            );
        }
    }
}
