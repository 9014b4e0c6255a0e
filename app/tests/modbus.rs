//! Modbus through the app layer: pairing, values with addresses,
//! exceptions, split invariance, flood cap, gaps, rate limiting, UDP and
//! RTU-over-TCP transports, probing on odd ports. Byte streams come from the
//! generator's emitters (`centinela-pcapgen`).

mod common;

use centinela_app::{
    AppConfig, AppFlowState, AppOutput, AppProto, Decision, Direction, L4, detect_protocol, service_port,
};
use centinela_events::EventBody;
use centinela_pcapgen::proto::modbus as mb;
use common::{Harness, strip};
use serde_json::json;

const C2S: Direction = Direction::ToServer;
const S2C: Direction = Direction::ToClient;

fn read_holding(tid: u16, start: u16, qty: u16) -> Vec<u8> {
    mb::request(tid, 1, &mb::Request::ReadHoldingRegisters { start, qty })
}

fn read_holding_rsp(tid: u16, values: &[u16]) -> Vec<u8> {
    mb::response(tid, 1, &mb::Response::ReadHoldingRegisters { values: values.to_vec() })
}

fn log_all() -> AppConfig {
    AppConfig { log_all: true, ..AppConfig::default() }
}

#[test]
fn request_and_response_pair_with_addressed_values() {
    let mut h = Harness::new(AppProto::Modbus, L4::Tcp, 502, &AppConfig::default());
    h.stream(C2S, &read_holding(7, 40001, 3), 0);
    assert!(h.events.is_empty(), "a request alone is pending: {:?}", h.events);
    h.stream(S2C, &read_holding_rsp(7, &[123, 0xFFFF, 0]), 0);
    let recs = h.records("modbus");
    assert_eq!(recs.len(), 1, "{:?}", h.events);
    let m = recs[0];
    assert_eq!(m["transport"], "tcp");
    assert_eq!(m["request"]["transaction_id"], 7);
    assert_eq!(m["request"]["function_code"], "RdHoldRegs");
    assert_eq!(m["request"]["function_raw"], 3);
    assert_eq!(m["request"]["access_type"], "READ | HOLDING");
    assert_eq!(m["request"]["category"], "PUBLIC_ASSIGNED");
    assert_eq!(m["request"]["read"], json!({"address": 40001, "quantity": 3}));
    // A valid FC 3 response is *not* flagged (Suricata flags it DATA_VALUE).
    assert_eq!(m["response"]["error_flags"], "NONE");
    assert_eq!(m["response"]["read"]["data"], "007bffff0000");
    assert_eq!(
        m["response"]["values"],
        json!([{"address": 40001, "value": 123}, {"address": 40002, "value": 65535}, {"address": 40003, "value": 0}])
    );
    // Paired record: the client is the source (Suricata's convention).
    let ev = &h.events[0];
    assert_eq!(ev["src_port"], 40000);
    assert_eq!(ev["dest_port"], 502);
    assert_eq!(ev["app_proto"], "modbus");
    assert_eq!(ev["proto"], "TCP");
    assert_eq!(h.out.stats.modbus.txs_paired, 1);
    assert_eq!(h.out.stats.modbus.pdus, 2);
    assert!(h.anomalies().is_empty());
}

#[test]
fn out_of_order_responses_pair_by_transaction_id() {
    let mut h = Harness::new(AppProto::Modbus, L4::Tcp, 502, &log_all());
    let reqs = [read_holding(1, 0, 1), read_holding(2, 10, 1), read_holding(3, 20, 1)].concat();
    h.stream(C2S, &reqs, 0);
    h.stream(
        S2C,
        &[read_holding_rsp(3, &[30]), read_holding_rsp(1, &[10]), read_holding_rsp(2, &[20])].concat(),
        0,
    );
    let got: Vec<_> = h
        .records("modbus")
        .iter()
        .map(|m| (m["request"]["transaction_id"].clone(), m["response"]["values"][0]["address"].clone()))
        .collect();
    assert_eq!(got, vec![(json!(3), json!(20)), (json!(1), json!(0)), (json!(2), json!(10))]);
}

#[test]
fn coils_and_writes_carry_addresses() {
    let mut h = Harness::new(AppProto::Modbus, L4::Tcp, 502, &log_all());
    h.stream(C2S, &mb::request(1, 1, &mb::Request::ReadCoils { start: 100, qty: 3 }), 0);
    h.stream(S2C, &mb::response(1, 1, &mb::Response::ReadCoils { values: vec![true, false, true] }), 0);
    h.stream(
        C2S,
        &mb::request(2, 1, &mb::Request::WriteMultipleRegisters { start: 5, values: vec![9, 8] }),
        0,
    );
    h.stream(S2C, &mb::response(2, 1, &mb::Response::WriteMultipleRegisters { start: 5, qty: 2 }), 0);
    h.stream(C2S, &mb::request(3, 1, &mb::Request::WriteSingleCoil { addr: 7, value: true }), 0);
    h.stream(S2C, &mb::response(3, 1, &mb::Response::WriteSingleCoil { addr: 7, value: true }), 0);
    let r = h.records("modbus");
    assert_eq!(r.len(), 3);
    assert_eq!(
        r[0]["response"]["values"],
        json!([{"address": 100, "value": true}, {"address": 101, "value": false}, {"address": 102, "value": true}])
    );
    assert_eq!(r[1]["request"]["write"], json!({"address": 5, "quantity": 2, "data": "00090008"}));
    assert_eq!(r[1]["request"]["values"], json!([{"address": 5, "value": 9}, {"address": 6, "value": 8}]));
    assert_eq!(r[1]["response"]["write"], json!({"address": 5, "data": 2, "quantity": 2}));
    assert_eq!(r[2]["request"]["write"], json!({"address": 7, "data": 0xFF00}));
    assert_eq!(r[2]["request"]["values"], json!([{"address": 7, "value": true}]));
    assert!(h.anomalies().is_empty(), "{:?}", h.anomalies());
}

#[test]
fn exception_response_is_logged_and_never_rate_limited() {
    let mut h = Harness::new(AppProto::Modbus, L4::Tcp, 502, &AppConfig::default());
    for i in 0..20u16 {
        h.stream(C2S, &read_holding(i, 600, 10), 0);
        h.stream(S2C, &mb::exception(i, 1, 3, mb::ExceptionCode::IllegalDataAddress), 0);
    }
    let r = h.records("modbus");
    assert_eq!(r.len(), 20);
    assert_eq!(r[0]["response"]["function_raw"], 0x83);
    assert_eq!(r[0]["response"]["exception"], json!({"raw": 2, "code": "IllegalDataAddr"}));
}

#[test]
fn every_split_gives_identical_records() {
    let client: Vec<u8> = [
        read_holding(1, 0, 2),
        mb::request(2, 1, &mb::Request::WriteMultipleCoils { start: 3, values: vec![true; 11] }),
        mb::request(3, 9, &mb::Request::ReadInputRegisters { start: 7, qty: 1 }),
    ]
    .concat();
    let server: Vec<u8> = [
        read_holding_rsp(1, &[1, 2]),
        mb::response(2, 1, &mb::Response::WriteMultipleCoils { start: 3, qty: 11 }),
        mb::response(3, 9, &mb::Response::ReadInputRegisters { values: vec![77] }),
    ]
    .concat();
    let run = |cs: &[&[u8]], ss: &[&[u8]]| {
        let mut h = Harness::new(AppProto::Modbus, L4::Tcp, 502, &log_all());
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
    assert_eq!(whole.len(), 3);
    for i in 0..=client.len() {
        let (a, b) = client.split_at(i);
        assert_eq!(run(&[a, b], &[&server]), whole, "client split at {i}");
    }
    for j in 0..=server.len() {
        let (a, b) = server.split_at(j);
        assert_eq!(run(&[&client], &[a, b]), whole, "server split at {j}");
    }
    let cb: Vec<&[u8]> = client.chunks(1).collect();
    let sb: Vec<&[u8]> = server.chunks(1).collect();
    assert_eq!(run(&cb, &sb), whole, "byte by byte");
}

#[test]
fn flood_cap_bounds_the_queue_and_flushes_unanswered() {
    let mut cfg = log_all();
    cfg.modbus.max_pending = 5;
    let mut h = Harness::new(AppProto::Modbus, L4::Tcp, 502, &cfg);
    let before = h.state.memory();
    for i in 0..1000u16 {
        h.stream(C2S, &read_holding(i, i, 1), 0);
    }
    assert_eq!(h.out.stats.modbus.floods, 995);
    assert_eq!(h.out.stats.anomalies.get("modbus.flooded"), Some(&995));
    // Bounded: 5 pending requests, whatever the input.
    assert!(h.state.memory() < before + 8 * 300, "{}", h.state.memory());
    let unanswered = h.records("modbus").iter().filter(|m| m["unanswered"] == true).count();
    assert_eq!(unanswered, 995);
    // Repeated anomalies are folded, not dropped: 10 logged, the rest counted.
    let logged = h.anomalies().iter().filter(|a| *a == "modbus.flooded").count();
    assert_eq!(logged, 10);
    assert_eq!(h.out.stats.anomalies_folded, 985);
    h.close(1);
    assert_eq!(h.out.stats.modbus.txs_unanswered, 1000);
    // At close the folded count is logged as one record with `count`.
    let folded: Vec<_> = h
        .events
        .iter()
        .filter(|e| e["event_type"] == "anomaly" && e["anomaly"]["count"].as_u64().unwrap_or(1) > 1)
        .collect();
    assert_eq!(folded.len(), 1);
    assert_eq!(folded[0]["anomaly"]["count"], 985);
}

#[test]
fn unsolicited_response_is_flagged_and_logged() {
    let mut h = Harness::new(AppProto::Modbus, L4::Tcp, 502, &AppConfig::default());
    h.stream(S2C, &read_holding_rsp(9, &[1]), 0);
    assert_eq!(h.anomalies(), vec!["modbus.unsolicited_response"]);
    let r = h.records("modbus");
    assert_eq!(r.len(), 1);
    assert!(r[0].get("request").is_none());
    assert_eq!(r[0]["response"]["transaction_id"], 9);
    assert_eq!(h.out.stats.modbus.txs_unmatched, 1);
}

#[test]
fn gap_resyncs_on_the_next_adu() {
    let mut h = Harness::new(AppProto::Modbus, L4::Tcp, 502, &log_all());
    let r1 = read_holding(1, 0, 1);
    h.stream(C2S, &r1[..5], 0);
    h.gap(C2S, 100, 0);
    // The tail of a lost ADU, then a whole one.
    let mut after = vec![0x13, 0x37, 0x99];
    after.extend_from_slice(&read_holding(2, 50, 1));
    h.stream(C2S, &after, 0);
    h.stream(S2C, &read_holding_rsp(2, &[5]), 0);
    let r = h.records("modbus");
    assert_eq!(r.len(), 1, "{:?}", h.events);
    assert_eq!(r[0]["request"]["read"]["address"], 50);
    assert_eq!(h.out.stats.modbus.gaps, 1);
    assert!(h.out.stats.modbus.bytes_discarded >= 3);
}

#[test]
fn polling_is_rate_limited_with_a_suppressed_count() {
    let cfg = AppConfig::default(); // 6 identical records per 60 s
    let mut h = Harness::new(AppProto::Modbus, L4::Tcp, 502, &cfg);
    // 10 Hz polling for 60 s: 600 transactions, identical requests.
    for i in 0..600u16 {
        let t = i64::from(i / 10);
        h.stream(C2S, &read_holding(i, 0, 10), t);
        h.stream(S2C, &read_holding_rsp(i, &[i; 10]), t);
    }
    assert_eq!(h.records("modbus").len(), 6);
    assert_eq!(h.out.stats.modbus.records_rate_limited, 594);
    assert_eq!(h.out.stats.modbus.txs_paired, 600);
    // The next window's first record carries the suppressed count.
    h.stream(C2S, &read_holding(9999, 0, 10), 61);
    h.stream(S2C, &read_holding_rsp(9999, &[0; 10]), 61);
    let r = h.records("modbus");
    assert_eq!(r.len(), 7);
    assert_eq!(r[6]["suppressed"], 594);
    // A different request is not suppressed by the first one's budget.
    h.stream(C2S, &read_holding(10_000, 100, 10), 62);
    h.stream(S2C, &read_holding_rsp(10_000, &[0; 10]), 62);
    assert_eq!(h.records("modbus").len(), 8);

    // log_all: every transaction.
    let mut h = Harness::new(AppProto::Modbus, L4::Tcp, 502, &log_all());
    for i in 0..600u16 {
        h.stream(C2S, &read_holding(i, 0, 10), i64::from(i / 10));
        h.stream(S2C, &read_holding_rsp(i, &[i; 10]), i64::from(i / 10));
    }
    assert_eq!(h.records("modbus").len(), 600);
}

#[test]
fn anomaly_flags_become_events() {
    let mut h = Harness::new(AppProto::Modbus, L4::Tcp, 502, &log_all());
    // Quantity 0.
    h.stream(C2S, &read_holding(1, 0, 0), 0);
    // Byte count for 2 registers where 0 were asked.
    h.stream(S2C, &mb::adu_raw(1, 0, 7, 1, &[3, 4, 0, 1, 0, 2]), 0);
    let a = h.anomalies();
    assert!(a.contains(&"modbus.quantity_out_of_range".to_string()), "{a:?}");
    assert!(a.contains(&"modbus.byte_count_mismatch".to_string()), "{a:?}");
    let r = h.records("modbus");
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["request"]["error_flags"], "DATA_VALUE");
    assert_eq!(r[0]["response"]["error_flags"], "DATA_LENGTH");
    assert!(
        r[0]["request"]["anomalies"].as_array().is_some_and(|a| a.contains(&json!("quantity_out_of_range")))
    );
    for e in h.events.iter().filter(|e| e["event_type"] == "anomaly") {
        assert_eq!(e["anomaly"]["type"], "applayer");
        assert_eq!(e["anomaly"]["app_proto"], "modbus");
        assert_eq!(e["anomaly"]["layer"], "proto_parser");
    }
    assert_eq!(h.out.stats.anomalies.get("modbus.byte_count_mismatch"), Some(&1));

    // Over UDP the ADU is taken as it is: a non-zero protocol id is flagged.
    let mut h = Harness::new(AppProto::Modbus, L4::Udp, 502, &log_all());
    let pdu = mb::request_pdu(&mb::Request::ReadHoldingRegisters { start: 0, qty: 1 });
    h.datagram(C2S, &mb::adu_raw(1, 5, 6, 1, &pdu), 0);
    assert_eq!(h.anomalies(), vec!["modbus.invalid_protocol_id"]);

    // Over TCP such bytes never synchronise the framer: discarded, reported
    // as one run when the flow ends.
    let mut h = Harness::new(AppProto::Modbus, L4::Tcp, 502, &log_all());
    h.stream(C2S, &mb::adu_raw(1, 5, 6, 1, &pdu), 0);
    h.close(1);
    assert_eq!(h.anomalies(), vec!["modbus.resync_discard"]);
    // The last 2 bytes (too few to probe) are still held when the flow ends.
    assert_eq!(h.out.stats.modbus.bytes_discarded, 10);
}

#[test]
fn udp_transport() {
    let mut h = Harness::new(AppProto::Modbus, L4::Udp, 502, &log_all());
    h.datagram(C2S, &read_holding(4, 1, 1), 0);
    h.datagram(S2C, &read_holding_rsp(4, &[3]), 0);
    let r = h.records("modbus");
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["transport"], "udp");
    assert_eq!(h.events[0]["proto"], "UDP");
}

#[test]
fn rtu_over_tcp_is_detected_and_paired() {
    let mut h = Harness::new(AppProto::Modbus, L4::Tcp, 502, &log_all());
    let req = mb::rtu::request(17, &mb::Request::ReadHoldingRegisters { start: 107, qty: 2 });
    let rsp = mb::rtu::response(17, &mb::Response::ReadHoldingRegisters { values: vec![555, 100] });
    h.stream(C2S, &req, 0);
    h.stream(S2C, &rsp, 0);
    let r = h.records("modbus");
    assert_eq!(r.len(), 1, "{:?}", h.events);
    assert_eq!(r[0]["transport"], "rtu_over_tcp");
    assert_eq!(r[0]["request"]["unit_id"], 17);
    assert_eq!(
        r[0]["response"]["values"],
        json!([{"address": 107, "value": 555}, {"address": 108, "value": 100}])
    );
}

#[test]
fn probe_recognises_modbus_on_odd_ports() {
    let cfg = AppConfig::default();
    let req = read_holding(1, 0, 1);
    assert_eq!(detect_protocol(&cfg, L4::Tcp, 40000, 502, C2S, b"x"), Decision::Proto(AppProto::Modbus, 100));
    assert!(
        matches!(detect_protocol(&cfg, L4::Tcp, 40000, 5020, C2S, &req), Decision::Proto(AppProto::Modbus, c) if c >= 80)
    );
    let rtu = mb::rtu::request(3, &mb::Request::ReadCoils { start: 0, qty: 8 });
    assert!(matches!(
        detect_protocol(&cfg, L4::Tcp, 40000, 6001, C2S, &rtu),
        Decision::Proto(AppProto::Modbus, _)
    ));
    assert_eq!(detect_protocol(&cfg, L4::Tcp, 40000, 5020, C2S, &req[..3]), Decision::NotYet);
    assert_eq!(
        detect_protocol(&cfg, L4::Tcp, 40000, 8080, C2S, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        Decision::None
    );
    assert_eq!(service_port(&cfg, L4::Tcp, 502), Some(AppProto::Modbus));
    assert_eq!(service_port(&cfg, L4::Udp, 20000), Some(AppProto::Dnp3));
    assert_eq!(service_port(&cfg, L4::Tcp, 40000), None);
    let off = AppConfig { probe: false, ..AppConfig::default() };
    assert_eq!(detect_protocol(&off, L4::Tcp, 40000, 5020, C2S, &req), Decision::None);
}

#[test]
fn long_requests_pair_and_their_buffers_are_reused() {
    let mut h = Harness::new(AppProto::Modbus, L4::Tcp, 502, &log_all());
    for round in 0..50u16 {
        // Three long writes in flight at once, answered out of order.
        for k in 0..3u16 {
            let values: Vec<u16> = (0..40).map(|v| v + round + k).collect();
            let tid = round * 3 + k;
            h.stream(
                C2S,
                &mb::request(tid, 1, &mb::Request::WriteMultipleRegisters { start: 100 * k, values }),
                0,
            );
        }
        for k in [2u16, 0, 1] {
            let tid = round * 3 + k;
            h.stream(
                S2C,
                &mb::response(tid, 1, &mb::Response::WriteMultipleRegisters { start: 100 * k, qty: 40 }),
                0,
            );
        }
        assert!(h.state.memory() < 8_000, "{}", h.state.memory());
    }
    let r = h.records("modbus");
    assert_eq!(r.len(), 150);
    let last = r[149];
    assert_eq!(last["request"]["write"]["address"], 100);
    assert_eq!(last["request"]["values"][39], json!({"address": 139, "value": 39 + 49 + 1}));
    assert!(h.anomalies().is_empty());
}

/// The record bodies as written, byte for byte (key order, number types,
/// booleans, skipped keys): the text the EVE snapshots hold. Each segment
/// comes with its packet time (seconds).
fn bodies(cfg: &AppConfig, segs: &[(Direction, Vec<u8>, i64)]) -> Vec<String> {
    let flow = common::flow(L4::Tcp, 502);
    let mut st = AppFlowState::new(AppProto::Modbus, L4::Tcp, cfg);
    let mut out = AppOutput::default();
    let mut last = 0;
    for (k, (dir, seg, secs)) in segs.iter().enumerate() {
        st.on_stream_data(*dir, seg, &common::pkt(*secs, k as u64 + 1), &flow, &mut out);
        last = *secs;
    }
    st.on_close(&common::pkt(last, segs.len() as u64 + 1), &flow, &mut out);
    out.take()
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Modbus { modbus } => Some(modbus.get().to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn record_text_is_exact() {
    let segs = vec![
        (C2S, read_holding(7, 40001, 2), 0),
        (S2C, read_holding_rsp(7, &[123, 0xFFFF]), 0),
        (C2S, mb::request(8, 1, &mb::Request::WriteSingleCoil { addr: 3, value: true }), 0),
        (S2C, mb::response(8, 1, &mb::Response::WriteSingleCoil { addr: 3, value: true }), 0),
        (C2S, read_holding(9, 600, 1), 0),
        (S2C, mb::exception(9, 1, 3, mb::ExceptionCode::IllegalDataAddress), 0),
        (C2S, mb::request(10, 1, &mb::Request::ReadCoils { start: 0xFFFE, qty: 3 }), 0),
    ];
    let got = bodies(&log_all(), &segs);
    let want = [
        concat!(
            r#"{"id":1,"request":{"access_type":"READ | HOLDING","category":"PUBLIC_ASSIGNED","error_flags":"NONE","#,
            r#""function_code":"RdHoldRegs","function_raw":3,"protocol_id":0,"read":{"address":40001,"quantity":2},"#,
            r#""transaction_id":7,"unit_id":1},"response":{"access_type":"READ | HOLDING","category":"PUBLIC_ASSIGNED","#,
            r#""error_flags":"NONE","function_code":"RdHoldRegs","function_raw":3,"protocol_id":0,"#,
            r#""read":{"data":"007bffff"},"transaction_id":7,"unit_id":1,"#,
            r#""values":[{"address":40001,"value":123},{"address":40002,"value":65535}]},"transport":"tcp"}"#
        ),
        concat!(
            r#"{"id":2,"request":{"access_type":"WRITE | COILS | SINGLE | WRITE_SINGLE","category":"PUBLIC_ASSIGNED","#,
            r#""error_flags":"NONE","function_code":"WrSingleCoil","function_raw":5,"protocol_id":0,"#,
            r#""transaction_id":8,"unit_id":1,"values":[{"address":3,"value":true}],"#,
            r#""write":{"address":3,"data":65280}},"response":{"access_type":"WRITE | COILS | SINGLE | WRITE_SINGLE","#,
            r#""category":"PUBLIC_ASSIGNED","error_flags":"NONE","function_code":"WrSingleCoil","function_raw":5,"#,
            r#""protocol_id":0,"transaction_id":8,"unit_id":1,"write":{"address":3,"data":65280}},"transport":"tcp"}"#
        ),
        concat!(
            r#"{"id":3,"request":{"access_type":"READ | HOLDING","category":"PUBLIC_ASSIGNED","error_flags":"NONE","#,
            r#""function_code":"RdHoldRegs","function_raw":3,"protocol_id":0,"read":{"address":600,"quantity":1},"#,
            r#""transaction_id":9,"unit_id":1},"response":{"access_type":"READ | HOLDING","category":"PUBLIC_ASSIGNED","#,
            r#""error_flags":"NONE","exception":{"code":"IllegalDataAddr","raw":2},"function_code":"RdHoldRegs","#,
            r#""function_raw":131,"protocol_id":0,"transaction_id":9,"unit_id":1},"transport":"tcp"}"#
        ),
        // Unanswered at flow end; the range wraps past 0xFFFF (flagged).
        concat!(
            r#"{"id":4,"request":{"access_type":"READ | COILS","anomalies":["address_overflow"],"#,
            r#""category":"PUBLIC_ASSIGNED","error_flags":"DATA_VALUE","function_code":"RdCoils","function_raw":1,"#,
            r#""protocol_id":0,"read":{"address":65534,"quantity":3},"transaction_id":10,"unit_id":1},"#,
            r#""transport":"tcp","unanswered":true}"#
        ),
    ];
    assert_eq!(got, want);
}

#[test]
fn rate_limited_record_text_carries_suppressed() {
    // One identical record per second: 11 polls at t=0 give one record and
    // ten suppressed; the poll at t=5 is logged with that count.
    let mut segs = Vec::new();
    for i in 0..12u16 {
        let t = if i == 11 { 5 } else { 0 };
        segs.push((C2S, read_holding(i, 0, 1), t));
        segs.push((S2C, read_holding_rsp(i, &[5]), t));
    }
    let cfg = AppConfig { rate_limit_max_identical: 1, rate_limit_window_s: 1, ..AppConfig::default() };
    let got = bodies(&cfg, &segs);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(!got[0].contains("suppressed"), "{}", got[0]);
    assert!(got[0].starts_with(r#"{"id":1,"request":{"#), "{}", got[0]);
    assert!(
        got[1].ends_with(r#""values":[{"address":0,"value":5}]},"suppressed":10,"transport":"tcp"}"#),
        "{}",
        got[1]
    );
}

#[test]
fn every_record_of_a_flow_has_its_own_sides_header() {
    // The header tail (addresses to community id) is rendered once per
    // flow and direction from the second record on: paired records (sent
    // by the client) and unsolicited responses (sent by the server),
    // interleaved, must each carry their own side's header, byte for byte
    // the serialisation of what they say.
    let mut h = Harness::new(AppProto::Modbus, L4::Tcp, 502, &log_all());
    for tid in 0..6u16 {
        h.stream(C2S, &read_holding(tid, 10, 1), 0);
        h.stream(S2C, &read_holding_rsp(tid, &[tid]), 0);
        // A response nobody asked for: logged from the server's side.
        h.stream(S2C, &read_holding_rsp(1000 + tid, &[7]), 0);
    }
    let sides: Vec<(u64, u64)> = h
        .events
        .iter()
        .filter(|e| e["event_type"] == "modbus")
        .map(|e| (e["src_port"].as_u64().unwrap_or(0), e["dest_port"].as_u64().unwrap_or(0)))
        .collect();
    assert_eq!(sides.len(), 12, "{:?}", h.events);
    for (i, s) in sides.iter().enumerate() {
        let want = if i % 2 == 0 { (40_000, 502) } else { (502, 40_000) };
        assert_eq!(*s, want, "record {i}");
    }
    for e in h.events.iter().filter(|e| e["event_type"] == "modbus") {
        assert_eq!(e["src_ip"], if e["src_port"] == 502 { "10.0.0.2" } else { "10.0.0.1" });
        assert_eq!(e["community_id"], "1:test");
        assert_eq!(e["proto"], "TCP");
        assert_eq!(e["app_proto"], "modbus");
    }
}
