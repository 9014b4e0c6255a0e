//! App-layer throughput on a generated Modbus polling stream (100 k
//! request/response pairs, one TCP segment each), in both logging modes,
//! with EVE encoding of every record into a reused buffer:
//! `cargo run --release -p centinela-app --example throughput`.

use centinela_app::{
    AppConfig, AppFlowState, AppOutput, AppProto, Direction, FlowInfo, L4, PacketCtx, Record,
};
use centinela_events::Timestamp;
use centinela_pcapgen::proto::modbus as mb;
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

fn main() {
    // Transactions (first argument), default 100 000; modes (second
    // argument): `both` (default), `default` or `all`.
    let mut args = std::env::args().skip(1);
    let n: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let modes = args.next().unwrap_or_else(|| "both".into());
    let mut segs: Vec<(Direction, Vec<u8>, i64)> = Vec::with_capacity(2 * n as usize);
    for i in 0..n {
        let tid = i as u16;
        let t = i64::from(i / 10);
        segs.push((
            Direction::ToServer,
            mb::request(tid, 1, &mb::Request::ReadHoldingRegisters { start: 0, qty: 10 }),
            t,
        ));
        let vals: Vec<u16> = (0..10).map(|k| (i as u16).wrapping_add(k)).collect();
        segs.push((
            Direction::ToClient,
            mb::response(tid, 1, &mb::Response::ReadHoldingRegisters { values: vals }),
            t,
        ));
    }
    let flow = FlowInfo {
        flow_id: 1,
        community_id: "1:bench".into(),
        l4: L4::Tcp,
        client: "10.0.0.1:40000".parse().expect("addr"),
        server: "10.0.0.2:502".parse().expect("addr"),
        vlan: vec![],
        in_iface: None,
    };
    for (label, log_all) in [("default limits", false), ("every transaction logged", true)] {
        if (modes == "default" && log_all) || (modes == "all" && !log_all) {
            continue;
        }
        let cfg = AppConfig { log_all, ..AppConfig::default() };
        let mut st = AppFlowState::new(AppProto::Modbus, L4::Tcp, &cfg);
        let mut out = AppOutput::default();
        let mut buf = Vec::with_capacity(4096);
        let mut bytes = 0usize;
        let mut records = 0usize;
        let start = Instant::now();
        let cpu0 = cpu_s();
        for (k, (dir, seg, t)) in segs.iter().enumerate() {
            let pkt = PacketCtx { ts: Timestamp::new(1_700_000_000 + t, 0), pcap_cnt: Some(k as u64 + 1) };
            st.on_stream_data(*dir, seg, &pkt, &flow, &mut out);
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
        }
        let el = start.elapsed().as_secs_f64();
        let cpu = (cpu_s() - cpu0).max(0.01);
        let pkts = segs.len() as f64;
        println!(
            "modbus {label}: {} packets, {records} records ({bytes} bytes EVE); wall {el:.3} s ({:.0} ns/packet); \
             CPU {cpu:.2} s ({:.0} ns/packet, {:.2} M packets/s per core)",
            segs.len(),
            el * 1e9 / pkts,
            cpu * 1e9 / pkts,
            pkts / cpu / 1e6
        );
    }
}
