//! DNP3 through the app layer: request/response pairing by application
//! sequence, unsolicited responses, SELECT→OPERATE, signed/float point
//! values, split invariance, bad CRC resync, transport reassembly, pending
//! cap, UDP, probing. Byte streams from the generator's emitters.

mod common;

use centinela_app::{AppConfig, AppProto, Decision, Direction, L4, detect_protocol};
use centinela_pcapgen::proto::dnp3 as d3;
use common::{Harness, strip};
use serde_json::json;

const C2S: Direction = Direction::ToServer;
const S2C: Direction = Direction::ToClient;

fn log_all() -> AppConfig {
    AppConfig { log_all: true, ..AppConfig::default() }
}

#[test]
fn read_and_response_pair_with_signed_values() {
    let mut h = Harness::new(AppProto::Dnp3, L4::Tcp, 20000, &AppConfig::default());
    let mut a = d3::Association::new(1, 1024);
    h.stream(C2S, &a.request(d3::func::READ, &d3::class_poll(true, true, true, true)), 0);
    h.stream(S2C, &a.response(d3::iin::NEED_TIME, &d3::analog_inputs_32(0, &[-5, 100, i32::MIN])), 0);
    let r = h.records("dnp3");
    assert_eq!(r.len(), 2, "{:?}", h.events);
    assert_eq!(r[0]["type"], "request");
    assert_eq!(r[0]["src"], 1);
    assert_eq!(r[0]["dst"], 1024);
    assert_eq!(r[0]["application"]["function_code"], 1);
    assert_eq!(r[0]["application"]["function"], "READ");
    assert_eq!(r[0]["application"]["objects"][0]["group"], 60);
    assert_eq!(r[0]["control"]["dir"], true);
    assert_eq!(r[1]["type"], "response");
    assert_eq!(r[1]["application"]["function_code"], 129);
    assert_eq!(r[1]["iin"]["indicators"], json!(["need_time"]));
    // Paired: the response carries its request.
    assert_eq!(r[1]["request"]["application"]["function_code"], 1);
    assert_eq!(r[1]["request"]["src"], 1);
    let pts = &r[1]["application"]["objects"][0]["points"];
    let values: Vec<_> = pts.as_array().expect("points").iter().map(|p| p["value"].clone()).collect();
    assert_eq!(values, vec![json!(-5), json!(100), json!(i32::MIN)]);
    assert_eq!(pts[0]["index"], 0);
    assert_eq!(pts[0]["online"], 1);
    assert_eq!(h.out.stats.dnp3.txs_paired, 1);
    assert!(h.anomalies().is_empty(), "{:?}", h.anomalies());
}

#[test]
fn unsolicited_responses_are_marked() {
    let mut h = Harness::new(AppProto::Dnp3, L4::Tcp, 20000, &log_all());
    let mut a = d3::Association::new(1, 1024);
    h.stream(S2C, &a.unsolicited(d3::iin::CLASS1_EVENTS, &d3::binary_events(&[(3, true)])), 0);
    h.stream(C2S, &a.confirm_unsolicited(), 0);
    let r = h.records("dnp3");
    assert_eq!(r.len(), 2);
    assert_eq!(r[0]["type"], "unsolicited_response");
    assert_eq!(r[0]["application"]["control"]["uns"], true);
    assert_eq!(r[0]["application"]["objects"][0]["points"][0]["index"], 3);
    assert_eq!(r[0]["application"]["objects"][0]["points"][0]["state"], 1);
    assert_eq!(r[1]["application"]["function"], "CONFIRM");
    assert!(h.anomalies().is_empty(), "{:?}", h.anomalies());
}

#[test]
fn select_then_operate_is_recognised() {
    let mut h = Harness::new(AppProto::Dnp3, L4::Tcp, 20000, &AppConfig::default());
    let mut a = d3::Association::new(1, 1024);
    let crob = d3::crob(7, 0x03, 1, 100, 200, 0);
    h.stream(C2S, &a.request(d3::func::SELECT, &crob), 0);
    h.stream(S2C, &a.response(0, &crob), 0);
    h.stream(C2S, &a.request(d3::func::OPERATE, &crob), 0);
    h.stream(S2C, &a.response(0, &crob), 0);
    // An OPERATE of other objects without a SELECT.
    h.stream(C2S, &a.request(d3::func::OPERATE, &d3::crob(8, 0x03, 1, 100, 200, 0)), 1);
    let r = h.records("dnp3");
    let ops: Vec<_> = r.iter().filter(|m| m["application"]["function_code"] == 4).collect();
    assert_eq!(ops.len(), 2);
    assert_eq!(ops[0]["select_operate"]["match"], true);
    assert_eq!(ops[0]["select_operate"]["select_sequence"], 0);
    assert_eq!(ops[1]["select_operate"]["match"], false);
    assert_eq!(h.anomalies(), vec!["dnp3.operate_without_select"]);
    let detail =
        h.events.iter().find(|e| e["event_type"] == "anomaly").map(|e| e["anomaly"]["detail"].clone());
    assert_eq!(detail, Some(ops[1]["select_operate"].clone()));
    let p = &ops[0]["application"]["objects"][0]["points"][0];
    assert_eq!(
        (p["index"].clone(), p["op_type"].clone(), p["ontime"].clone()),
        (json!(7), json!(3), json!(100))
    );
}

#[test]
fn every_split_gives_identical_records() {
    let mut a = d3::Association::new(3, 4);
    let big: Vec<i32> = (0..90).map(|i| i * -1000).collect();
    let client = [a.request(d3::func::READ, &d3::class_poll(true, false, false, false))].concat();
    let server = [a.response(0, &d3::analog_inputs_32(10, &big))].concat();
    let run = |cs: &[&[u8]], ss: &[&[u8]]| {
        let mut h = Harness::new(AppProto::Dnp3, L4::Tcp, 20000, &log_all());
        for c in cs {
            h.stream(C2S, c, 0);
        }
        for s in ss {
            h.stream(S2C, s, 0);
        }
        h.close(1);
        strip(&h.events)
    };
    let whole = run(&[&client], &[&server]);
    assert_eq!(whole.len(), 2, "{whole:?}");
    assert_eq!(whole[1]["dnp3"]["application"]["objects"][0]["points"].as_array().map(Vec::len), Some(90));
    for j in 0..=server.len() {
        let (x, y) = server.split_at(j);
        assert_eq!(run(&[&client], &[x, y]), whole, "server split at {j}");
    }
    let sb: Vec<&[u8]> = server.chunks(1).collect();
    assert_eq!(run(&[&client], &sb), whole);
}

#[test]
fn bad_crc_is_reported_and_the_next_frame_decoded() {
    let mut h = Harness::new(AppProto::Dnp3, L4::Tcp, 20000, &log_all());
    let mut a = d3::Association::new(1, 2);
    let mut bad = a.request(d3::func::READ, &d3::class_poll(true, false, false, false));
    d3::corrupt_block_crc(&mut bad, 0);
    let good = a.request(d3::func::READ, &d3::class_poll(false, true, false, false));
    h.stream(C2S, &[bad, good].concat(), 0);
    assert_eq!(h.records("dnp3").len(), 1);
    assert!(h.anomalies().contains(&"dnp3.bad_body_crc".to_string()), "{:?}", h.anomalies());
    assert!(h.out.stats.anomalies.contains_key("dnp3.bad_body_crc"));
}

#[test]
fn gap_resets_transport_and_resyncs() {
    let mut h = Harness::new(AppProto::Dnp3, L4::Tcp, 20000, &log_all());
    let mut a = d3::Association::new(1, 2);
    let first = a.request(d3::func::READ, &d3::class_poll(true, false, false, false));
    h.stream(C2S, &first[..7], 0);
    h.gap(C2S, 50, 0);
    let second = a.request(d3::func::READ, &d3::class_poll(false, true, false, false));
    h.stream(C2S, &[&first[7..], &second[..]].concat(), 0);
    let r = h.records("dnp3");
    assert_eq!(r.len(), 1, "{:?}", h.events);
    assert_eq!(r[0]["application"]["control"]["sequence"], 1);
}

#[test]
fn multi_frame_fragment_is_reassembled() {
    let mut h = Harness::new(AppProto::Dnp3, L4::Tcp, 20000, &log_all());
    let mut a = d3::Association::new(1, 2);
    let vals: Vec<bool> = (0..1200).map(|i| i % 3 == 0).collect();
    h.stream(C2S, &a.request(d3::func::READ, &d3::class_poll(true, false, false, false)), 0);
    // Single-segment fragments need no transport buffer.
    let before = h.state.memory();
    assert!(before < 2048, "{before}");
    let rsp = a.response(0, &d3::binary_inputs(0, &vals));
    assert!(rsp.len() > 292, "needs several link frames");
    h.stream(S2C, &rsp, 0);
    let r = h.records("dnp3");
    assert_eq!(r.len(), 2, "{:?}", h.anomalies());
    let pts = r[1]["application"]["objects"][0]["points"].as_array().map(Vec::len);
    assert_eq!(pts, Some(1024), "capped at DNP3_MAX_POINTS_PER_RECORD");
    assert_eq!(r[1]["application"]["objects"][0]["points_truncated"], 1200 - 1024);
    // The responding direction now holds its assembler (2048 bytes).
    assert!(h.state.memory() >= before + 2048);
}

#[test]
fn point_cap_spans_the_objects_of_a_record() {
    let mut h = Harness::new(AppProto::Dnp3, L4::Tcp, 20000, &log_all());
    let mut a = d3::Association::new(1, 2);
    let bits = |n: usize| -> Vec<bool> { (0..n).map(|i| i % 2 == 0).collect() };
    h.stream(C2S, &a.request(d3::func::READ, &d3::class_poll(true, false, false, false)), 0);
    let objs = [
        d3::binary_inputs(0, &bits(600)),
        d3::binary_inputs(1000, &bits(600)),
        d3::binary_inputs(2000, &bits(300)),
    ]
    .concat();
    h.stream(S2C, &a.response(0, &objs), 0);
    let r = h.records("dnp3");
    assert_eq!(r.len(), 2, "{:?}", h.anomalies());
    let o = &r[1]["application"]["objects"];
    let n = |i: usize| o[i]["points"].as_array().map(Vec::len);
    // 600 + 424 = DNP3_MAX_POINTS_PER_RECORD; the rest are counted per object.
    assert_eq!((n(0), n(1), n(2)), (Some(600), Some(424), None));
    assert_eq!(o[0].get("points_truncated"), None);
    assert_eq!(o[1]["points_truncated"], 176);
    assert_eq!(o[2]["points_truncated"], 300);
    assert_eq!(o[2]["count"], 300);
    assert_eq!(o[1]["points"][423]["index"], 1423);
    assert_eq!(o[1]["points"][423]["state"], 0);
    assert_eq!(o[1]["points"][422]["state"], 1);
}

#[test]
fn paired_request_keeps_its_first_object_headers() {
    let mut h = Harness::new(AppProto::Dnp3, L4::Tcp, 20000, &log_all());
    let mut a = d3::Association::new(1, 2);
    let poll = d3::class_poll(true, true, true, true);
    h.stream(C2S, &a.request(d3::func::READ, &[&poll[..], &poll[..], &poll[..]].concat()), 0);
    h.stream(S2C, &a.response(0, &[]), 0);
    let r = h.records("dnp3");
    assert_eq!(r.len(), 2, "{:?}", h.anomalies());
    assert_eq!(r[0]["application"]["objects"].as_array().map(Vec::len), Some(12));
    let req = &r[1]["request"];
    assert_eq!(
        req["application"]["objects"].as_array().map(Vec::len),
        Some(centinela_app::DNP3_PENDING_OBJECTS)
    );
    assert_eq!(req["application"]["objects_truncated"], 12 - centinela_app::DNP3_PENDING_OBJECTS);
    assert_eq!(req["application"]["objects"][0], r[0]["application"]["objects"][0]);
    assert_eq!(req["application"].get("complete"), None);
    assert_eq!(r[1]["application"].get("objects"), None, "an empty response has no objects");
}

#[test]
fn transport_overflow_is_an_anomaly() {
    let mut cfg = log_all();
    cfg.dnp3.reassembly_max = 300;
    let mut h = Harness::new(AppProto::Dnp3, L4::Tcp, 20000, &cfg);
    let mut a = d3::Association::new(1, 2);
    let vals: Vec<i32> = (0..200).collect();
    h.stream(S2C, &a.response(0, &d3::analog_inputs_32(0, &vals)), 0);
    assert!(h.anomalies().contains(&"dnp3.transport_overflow".to_string()), "{:?}", h.anomalies());
    assert!(h.records("dnp3").is_empty());
}

#[test]
fn pending_requests_are_capped() {
    let mut cfg = log_all();
    cfg.dnp3.max_pending = 4;
    let mut h = Harness::new(AppProto::Dnp3, L4::Tcp, 20000, &cfg);
    let mut a = d3::Association::new(1, 2);
    for _ in 0..40 {
        h.stream(C2S, &a.request(d3::func::READ, &d3::class_poll(true, false, false, false)), 0);
    }
    assert_eq!(h.out.stats.dnp3.floods, 36);
    assert_eq!(h.out.stats.anomalies.get("dnp3.flooded"), Some(&36));
    h.close(1);
    assert_eq!(h.out.stats.dnp3.txs_unanswered, 40);
}

#[test]
fn udp_datagrams_and_polling_rate_limit() {
    let mut h = Harness::new(AppProto::Dnp3, L4::Udp, 20000, &AppConfig::default());
    let mut a = d3::Association::new(1, 2);
    for i in 0..100 {
        h.datagram(C2S, &a.request(d3::func::READ, &d3::class_poll(true, true, true, true)), i / 10);
        h.datagram(S2C, &a.response(0, &d3::analog_inputs_16(0, &[i as i16])), i / 10);
    }
    let r = h.records("dnp3");
    // 6 identical polls and 6 responses with the same object headers.
    assert_eq!(r.len(), 12, "{:?}", r);
    assert_eq!(r[0]["transport"], "udp");
    assert_eq!(h.out.stats.dnp3.txs_paired, 100);
    assert_eq!(h.out.stats.dnp3.records_rate_limited, 188);
}

#[test]
fn probe_finds_dnp3_on_odd_ports() {
    let cfg = AppConfig::default();
    let mut a = d3::Association::new(1, 2);
    let f = a.request(d3::func::READ, &d3::class_poll(true, false, false, false));
    assert_eq!(detect_protocol(&cfg, L4::Tcp, 40000, 20001, C2S, &f), Decision::Proto(AppProto::Dnp3, 95));
    assert_eq!(detect_protocol(&cfg, L4::Udp, 40000, 20001, C2S, &f), Decision::Proto(AppProto::Dnp3, 95));
    assert_eq!(detect_protocol(&cfg, L4::Tcp, 40000, 20001, C2S, &f[..4]), Decision::NotYet);
    let mut bad = f.clone();
    bad[8] ^= 0xff;
    assert_ne!(detect_protocol(&cfg, L4::Tcp, 40000, 20001, C2S, &bad), Decision::Proto(AppProto::Dnp3, 95));
}
