//! DNS through the app layer: query and response records (Suricata 8
//! "version 3" shape), observations for the detectors, TCP framing split at
//! every offset, anomalies, rate limiting (records only; observations are
//! never limited), probing.

mod common;

use centinela_app::{AppConfig, AppProto, Decision, Direction, L4, detect_protocol};
use centinela_pcapgen::proto::dns as g;
use common::{Harness, strip};
use serde_json::json;

const C2S: Direction = Direction::ToServer;
const S2C: Direction = Direction::ToClient;

fn answer() -> Vec<u8> {
    g::response(
        0x1234,
        "www.example.com",
        1,
        0,
        &[
            g::Record::new("www.example.com", 300, g::Rdata::Cname("web.example.com".into())),
            g::Record::new("web.example.com", 60, g::Rdata::A([192, 0, 2, 7])),
        ],
    )
}

#[test]
fn query_and_response_records_and_observations() {
    let mut h = Harness::new(AppProto::Dns, L4::Udp, 53, &AppConfig::default());
    h.datagram(C2S, &g::query(0x1234, "www.example.com", 1), 0);
    h.datagram(S2C, &answer(), 0);
    let r = h.records("dns");
    assert_eq!(r.len(), 2);
    assert_eq!(r[0]["version"], 3);
    assert_eq!(r[0]["type"], "request");
    assert_eq!(r[0]["id"], 0x1234);
    assert_eq!(r[0]["flags"], "100");
    assert_eq!(r[0]["rd"], true);
    assert_eq!(r[0]["queries"], json!([{"rrname": "www.example.com", "rrtype": "A"}]));
    assert_eq!(r[1]["type"], "response");
    assert_eq!(r[1]["rcode"], "NOERROR");
    assert_eq!(r[1]["qr"], true);
    assert_eq!(r[1]["answers"][0]["rrtype"], "CNAME");
    assert_eq!(r[1]["answers"][0]["rdata"], "web.example.com");
    assert_eq!(r[1]["answers"][1]["rdata"], "192.0.2.7");
    assert_eq!(r[1]["grouped"]["A"], json!(["192.0.2.7"]));
    assert_eq!(h.events[1]["src_port"], 53);
    // Observations: both messages, client = the querier.
    assert_eq!(h.out.dns.len(), 2);
    let q = &h.out.dns[0];
    assert!(!q.is_response);
    assert_eq!(q.qname, "www.example.com");
    assert_eq!(q.qtype, 1);
    assert_eq!(q.client.to_string(), "10.0.0.1");
    assert_eq!(q.server.to_string(), "10.0.0.2");
    let a = &h.out.dns[1];
    assert!(a.is_response);
    assert_eq!(a.client.to_string(), "10.0.0.1");
    assert_eq!(a.answer_addrs, vec!["192.0.2.7".parse::<std::net::IpAddr>().expect("ip")]);
    assert_eq!(a.answer_count, 2);
    assert!(h.anomalies().is_empty());
}

#[test]
fn tcp_every_split_gives_identical_records() {
    let client =
        [g::tcp_frame(&g::query(1, "a.example", 16)), g::tcp_frame(&g::query(2, "b.example", 1))].concat();
    let server = g::tcp_frame(&answer());
    let run = |cs: &[&[u8]]| {
        let mut h =
            Harness::new(AppProto::Dns, L4::Tcp, 53, &AppConfig { log_all: true, ..AppConfig::default() });
        for c in cs {
            h.stream(C2S, c, 0);
        }
        h.stream(S2C, &server, 0);
        h.close(1);
        (strip(&h.events), h.out.dns.len())
    };
    let whole = run(&[&client]);
    assert_eq!(whole.0.len(), 3);
    assert_eq!(whole.1, 3);
    for i in 0..=client.len() {
        let (a, b) = client.split_at(i);
        assert_eq!(run(&[a, b]), whole, "split at {i}");
    }
}

#[test]
fn repeated_lookups_are_rate_limited_but_always_observed() {
    let mut h = Harness::new(AppProto::Dns, L4::Udp, 53, &AppConfig::default());
    for i in 0..50u16 {
        h.datagram(C2S, &g::query(i, "poll.example", 1), 0);
    }
    assert_eq!(h.records("dns").len(), 6);
    assert_eq!(h.out.stats.dns.records_rate_limited, 44);
    assert_eq!(h.out.dns.len(), 50, "detectors see every message");
    // Distinct names (as a tunnel would use) are not limited.
    for i in 0..50u16 {
        h.datagram(C2S, &g::query(i, &format!("x{i}.t.example"), 16), 1);
    }
    assert_eq!(h.records("dns").len(), 56);
}

#[test]
fn malformed_messages_raise_anomalies() {
    let mut h = Harness::new(AppProto::Dns, L4::Udp, 53, &AppConfig::default());
    let mut q = g::query(9, "z.example", 1);
    q[3] |= 0x40; // Z bit
    h.datagram(C2S, &q, 0);
    let mut t = g::query(10, "t.example", 1);
    t[5] = 3; // qdcount 3, only one present
    h.datagram(C2S, &t, 0);
    h.datagram(C2S, &[1, 2, 3], 0);
    let a = h.anomalies();
    assert!(a.contains(&"dns.z_flag_set".to_string()), "{a:?}");
    assert!(a.contains(&"dns.truncated".to_string()), "{a:?}");
    assert!(a.contains(&"dns.malformed_header".to_string()), "{a:?}");
    let r = h.records("dns");
    assert_eq!(r.len(), 2);
    assert_eq!(r[0]["anomalies"], json!(["z_flag_set"]));
}

#[test]
fn probe_recognises_dns_on_odd_ports() {
    let cfg = AppConfig::default();
    let q = g::query(7, "www.example.org", 28);
    assert!(matches!(
        detect_protocol(&cfg, L4::Udp, 40000, 5353, C2S, &q),
        Decision::Proto(AppProto::Dns, _)
    ));
    assert!(matches!(
        detect_protocol(&cfg, L4::Tcp, 40000, 5353, C2S, &g::tcp_frame(&q)),
        Decision::Proto(AppProto::Dns, _)
    ));
    assert_eq!(detect_protocol(&cfg, L4::Udp, 40000, 53, C2S, b""), Decision::Proto(AppProto::Dns, 100));
    // A UDP response picked up first: the service port is the "client" port.
    assert_eq!(
        detect_protocol(&cfg, L4::Udp, 53, 40000, S2C, &answer()),
        Decision::Proto(AppProto::Dns, 100)
    );
    assert_eq!(detect_protocol(&cfg, L4::Udp, 40000, 9999, C2S, &[0u8; 40]), Decision::None);
}
