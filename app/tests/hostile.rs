//! Hostile input: random bytes, random valid-looking PDUs with random
//! corruption, random segmentation and gaps, for every protocol and
//! transport. Nothing may panic, and the per-flow memory stays bounded.

mod common;

use centinela_app::{AppConfig, AppProto, Direction, L4, detect_protocol};
use centinela_pcapgen::proto::{dnp3 as d3, dns as g, modbus as mb};
use common::Harness;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn corpus_for(proto: AppProto, rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..40u16 {
        let pdu = match (proto, rng.below(4)) {
            (AppProto::Modbus, 0) => mb::request(i, 1, &mb::Request::ReadCoils { start: i, qty: 1 + i }),
            (AppProto::Modbus, 1) => {
                mb::response(i, 1, &mb::Response::ReadHoldingRegisters { values: vec![i; 7] })
            }
            (AppProto::Modbus, 2) => {
                mb::rtu::request(3, &mb::Request::WriteSingleRegister { addr: i, value: 9 })
            }
            (AppProto::Modbus, _) => mb::exception(i, 2, 5, mb::ExceptionCode::Unknown(i as u8)),
            (AppProto::Dnp3, k) => {
                let mut a = d3::Association::new(1, 2);
                match k {
                    0 => a.request(d3::func::READ, &d3::class_poll(true, true, false, false)),
                    1 => a.response(0xffff, &d3::analog_inputs_32(0, &[-1, 2, 3])),
                    2 => a.unsolicited(0, &d3::binary_events(&[(1, true)])),
                    _ => a.request(d3::func::OPERATE, &d3::crob(1, 3, 1, 1, 1, 0)),
                }
            }
            (AppProto::Dns, 0) => g::tcp_frame(&g::query(i, "a.b.example", 1)),
            (AppProto::Dns, _) => g::tcp_frame(&g::response(
                i,
                "x.example",
                1,
                3,
                &[g::Record::new("x.example", 5, g::Rdata::A([1, 2, 3, 4]))],
            )),
        };
        out.extend_from_slice(&pdu);
    }
    // Corrupt some bytes.
    for _ in 0..out.len() / 20 {
        let at = rng.below(out.len());
        out[at] = rng.next() as u8;
    }
    out
}

#[test]
fn random_and_corrupted_streams_never_panic_and_stay_bounded() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut cfg = AppConfig::default();
    cfg.modbus.max_pending = 16;
    cfg.dnp3.max_pending = 8;
    for round in 0..60 {
        for proto in [AppProto::Modbus, AppProto::Dnp3, AppProto::Dns] {
            for l4 in [L4::Tcp, L4::Udp] {
                let mut h = Harness::new(proto, l4, 1, &cfg);
                let data = if round % 3 == 0 {
                    (0..4000).map(|_| rng.next() as u8).collect()
                } else {
                    corpus_for(proto, &mut rng)
                };
                let mut off = 0;
                while off < data.len() {
                    let n = 1 + rng.below(300);
                    let end = (off + n).min(data.len());
                    let dir = if rng.below(2) == 0 { Direction::ToServer } else { Direction::ToClient };
                    let chunk = &data[off..end];
                    match l4 {
                        L4::Tcp if rng.below(50) == 0 => h.gap(dir, n as u64, 0),
                        L4::Tcp => h.stream(dir, chunk, (off / 100) as i64),
                        L4::Udp => h.datagram(dir, chunk, (off / 100) as i64),
                    }
                    let _ = detect_protocol(&cfg, l4, 1000, 2000, dir, chunk);
                    off = end;
                    // Two 64 KiB DNS leftovers are the largest legitimate
                    // holding; everything else is far below.
                    assert!(h.state.memory() < 200_000, "{proto:?} {l4:?}: {}", h.state.memory());
                }
                h.close(1000);
                // Never dropped silently: after the flow ends, the anomaly
                // records (with their folded `count`s) account for every
                // counted occurrence.
                let logged: u64 = h
                    .events
                    .iter()
                    .filter(|e| e["event_type"] == "anomaly")
                    .map(|e| e["anomaly"]["count"].as_u64().unwrap_or(1))
                    .sum();
                let counted: u64 = h.out.stats.anomalies.values().sum();
                assert_eq!(logged, counted, "{proto:?} {l4:?}");
            }
        }
    }
}
