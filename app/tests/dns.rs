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

// ---------------------------------------------------------------------------
// Byte-identity of the typed record with the former `serde_json::Map`
// builder. `legacy` is that builder, kept here verbatim as the oracle (a map
// with sorted keys, one `String` per name), fed the same parsed message.

mod legacy {
    use centinela_parsers::dns::{Message, Name, RData, Record, Type};
    use serde_json::{Map, Value as Json, json};

    const CAP: usize = centinela_app::DNS_MAX_RECORDS_PER_SECTION;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn name_string(n: &Name<'_>) -> String {
        let mut s = String::with_capacity(n.presentation_len());
        let _ = n.write_to(&mut s);
        s
    }

    fn type_string(t: Type) -> String {
        t.to_string()
    }

    /// The body the former builder wrote for `bytes` (log_all, tx 0).
    pub(super) fn body(bytes: &[u8]) -> Option<String> {
        let m = Message::parse(bytes).ok()?;
        let flags = m.anomalies();
        let is_response = m.is_response();
        let h = m.header();
        let mut o = Map::new();
        o.insert("version".into(), json!(3));
        o.insert("type".into(), json!(if is_response { "response" } else { "request" }));
        o.insert("tx_id".into(), json!(0u64));
        o.insert("id".into(), json!(m.id()));
        o.insert("flags".into(), json!(format!("{:x}", h.flags())));
        for (set, key) in [
            (h.is_response(), "qr"),
            (h.authoritative(), "aa"),
            (h.truncated(), "tc"),
            (h.recursion_desired(), "rd"),
            (h.recursion_available(), "ra"),
            (h.z(), "z"),
            (h.authentic_data(), "ad"),
            (h.checking_disabled(), "cd"),
        ] {
            if set {
                o.insert(key.into(), json!(true));
            }
        }
        o.insert("opcode".into(), json!(h.opcode().code()));
        o.insert("rcode".into(), json!(m.rcode().to_string()));
        let queries: Vec<Json> = m
            .questions()
            .take(CAP)
            .map(|q| json!({"rrname": name_string(&q.name), "rrtype": type_string(q.qtype)}))
            .collect();
        if !queries.is_empty() {
            o.insert("queries".into(), Json::Array(queries));
        }
        if is_response {
            let mut grouped: Map<String, Json> = Map::new();
            for (key, recs, group) in [
                ("answers", m.answers(), true),
                ("authorities", m.authorities(), false),
                ("additionals", m.additionals(), false),
            ] {
                let mut arr = Vec::new();
                let mut extra = 0u64;
                for r in recs {
                    if arr.len() >= CAP {
                        extra += 1;
                        continue;
                    }
                    if let RData::Txt(strings) = r.data() {
                        for st in strings {
                            let v = json!(String::from_utf8_lossy(st));
                            let mut rec = rr_head(&r);
                            rec.insert("rdata".into(), v.clone());
                            if group
                                && let Json::Array(a) = grouped
                                    .entry(type_string(r.rtype))
                                    .or_insert_with(|| Json::Array(Vec::new()))
                            {
                                a.push(v);
                            }
                            arr.push(Json::Object(rec));
                        }
                        continue;
                    }
                    let (rec, simple) = record_json(&r);
                    if group
                        && let Some(v) = simple
                        && let Json::Array(a) =
                            grouped.entry(type_string(r.rtype)).or_insert_with(|| Json::Array(Vec::new()))
                    {
                        a.push(v);
                    }
                    arr.push(rec);
                }
                if !arr.is_empty() {
                    o.insert(key.into(), Json::Array(arr));
                }
                if extra > 0 {
                    o.insert(format!("{key}_truncated"), json!(extra));
                }
            }
            if !grouped.is_empty() {
                o.insert("grouped".into(), Json::Object(grouped));
            }
        }
        if !flags.is_empty() {
            o.insert("anomalies".into(), Json::Array(flags.iter().map(|(_, n)| json!(n)).collect()));
        }
        serde_json::to_string(&Json::Object(o)).ok()
    }

    fn rr_head(r: &Record<'_>) -> Map<String, Json> {
        let mut o = Map::new();
        o.insert("rrname".into(), json!(name_string(&r.name)));
        o.insert("rrtype".into(), json!(type_string(r.rtype)));
        o.insert("ttl".into(), json!(r.ttl));
        o
    }

    fn record_json(r: &Record<'_>) -> (Json, Option<Json>) {
        let mut o = rr_head(r);
        if r.rtype.code() == 44
            && let [algo, fp_type, fp @ ..] = r.rdata()
        {
            let fingerprint: Vec<String> = fp.iter().map(|b| format!("{b:02x}")).collect();
            let v = json!({"algo": algo, "type": fp_type, "fingerprint": fingerprint.join(":")});
            o.insert("sshfp".into(), v.clone());
            return (Json::Object(o), Some(v));
        }
        let simple = match r.data() {
            RData::A(a) => Some(json!(a.to_string())),
            RData::Aaaa(a) => Some(json!(a.to_string())),
            RData::Cname(n) | RData::Ns(n) | RData::Ptr(n) => Some(json!(name_string(&n))),
            RData::Mx { exchange, .. } => Some(json!(name_string(&exchange))),
            RData::Txt(strings) => {
                let parts: Vec<String> = strings.map(|s| String::from_utf8_lossy(s).into_owned()).collect();
                Some(json!(parts.join("")))
            }
            RData::Null(b) | RData::Other(b) | RData::Malformed(b) => Some(json!(hex(b))),
            RData::Srv { priority, weight, port, target } => {
                let v = json!({"priority": priority, "weight": weight, "port": port, "name": name_string(&target)});
                o.insert("srv".into(), v);
                None
            }
            RData::Soa(s) => {
                o.insert(
                    "soa".into(),
                    json!({
                        "mname": name_string(&s.mname),
                        "rname": name_string(&s.rname),
                        "serial": s.serial,
                        "refresh": s.refresh,
                        "retry": s.retry,
                        "expire": s.expire,
                        "minimum": s.minimum,
                    }),
                );
                None
            }
            RData::Key(k) => {
                o.insert(
                    "key".into(),
                    json!({"flags": k.flags, "protocol": k.protocol, "algorithm": k.algorithm, "public_key": hex(k.public_key)}),
                );
                None
            }
            RData::Opt(e) => {
                let opts: Vec<Json> =
                    e.options.map(|op| json!({"code": op.code, "data": hex(op.data)})).collect();
                o.insert("opt".into(), Json::Array(opts));
                None
            }
            RData::Svcb(s) => {
                o.insert(
                    "svcb".into(),
                    json!({"priority": s.priority, "target": name_string(&s.target), "rdata": hex(r.rdata())}),
                );
                None
            }
        };
        if let Some(v) = &simple {
            o.insert("rdata".into(), v.clone());
        }
        (Json::Object(o), simple)
    }
}

/// The `dns` body text the app layer writes for one message (a fresh UDP
/// flow, every record logged), if it writes one.
fn typed_body(msg: &[u8]) -> Option<String> {
    use centinela_app::{AppFlowState, AppOutput};
    use centinela_events::EventBody;
    let cfg = AppConfig { log_all: true, ..AppConfig::default() };
    let flow = common::flow(L4::Udp, 53);
    let mut st = AppFlowState::new(AppProto::Dns, L4::Udp, &cfg);
    let mut out = AppOutput::default();
    st.on_datagram(C2S, msg, &common::pkt(0, 1), &flow, &mut out);
    let events = out.take();
    let mut bodies = events.iter().filter_map(|e| match &e.body {
        EventBody::Dns { dns } => Some(serde_json::to_string(dns).expect("raw json")),
        _ => None,
    });
    let body = bodies.next();
    assert!(bodies.next().is_none(), "one record per message");
    body
}

fn assert_identical(msg: &[u8], what: &str) {
    assert_eq!(typed_body(msg), legacy::body(msg), "{what}: {msg:02x?}");
}

/// Response with explicit sections (EDNS optional).
fn msg(
    flags: u16,
    answers: Vec<g::Record>,
    authority: Vec<g::Record>,
    additional: Vec<g::Record>,
    edns: Option<u16>,
) -> Vec<u8> {
    g::Message {
        id: 0xbeef,
        flags,
        questions: vec![g::Question { name: "Host.Example.COM".into(), qtype: 255 }],
        answers,
        authority,
        additional,
        edns_udp_size: edns,
    }
    .to_bytes()
}

/// Every rdata shape the record writes, in every section.
fn rich_messages() -> Vec<Vec<u8>> {
    use g::{Rdata as R, Record as Rec};
    let sshfp = [1u8, 2, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x7f];
    let svcb = [&[0u8, 1, 0][..], &[0, 1, 0, 3, b'h', b'2', b'3'][..]].concat();
    let key = [1u8, 1, 3, 8, 0xaa, 0xbb, 0xcc];
    let opt_rr = [0u8, 10, 0, 4, 1, 2, 3, 4, 0, 12, 0, 0].to_vec();
    let all = |n: &str| {
        vec![
            Rec::new(n, 60, R::A([192, 0, 2, 1])),
            Rec::new(n, 60, R::Aaaa([0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])),
            Rec::new(n, 61, R::Cname("alias.example.net".into())),
            Rec::new(n, 62, R::Ns("ns1.example.com".into())),
            Rec::new(n, 63, R::Ptr("ptr.example.org".into())),
            Rec::new(n, 64, R::Mx(10, "mx.example.com".into())),
            Rec::new(n, 65, R::Txt(vec![b"v=spf1 -all".to_vec(), b"quote\" back\\slash".to_vec()])),
            Rec::new(
                n,
                66,
                R::Txt(vec![b"\xff\xfe bad utf8 \xc3".to_vec(), "caf\u{e9}".as_bytes().to_vec()]),
            ),
            Rec::new(n, 67, R::Txt(vec![])),
            Rec::new(n, 68, R::Soa("ns1.example.com".into(), "admin.example.com".into(), [1, 2, 3, 4, 5])),
            Rec::new(n, 69, R::Raw(10, b"\x00\x01null data".to_vec())),
            Rec::new(n, 70, R::Raw(33, [0u8, 1, 0, 2, 0x01, 0xbb, 3, b's', b'r', b'v', 0].to_vec())),
            Rec::new(n, 71, R::Raw(44, sshfp.to_vec())),
            Rec::new(n, 72, R::Raw(44, vec![1])),
            Rec::new(n, 73, R::Raw(25, key.to_vec())),
            Rec::new(n, 74, R::Raw(48, key.to_vec())),
            Rec::new(n, 75, R::Raw(64, svcb.clone())),
            Rec::new(n, 76, R::Raw(65, [&svcb[..], &[0, 9]].concat())),
            Rec::new(n, 77, R::Raw(65280, vec![0xff; 200])),
            Rec::new(n, 78, R::Raw(1, vec![1, 2, 3])),
            Rec::new(n, 79, R::Raw(6, vec![0])),
            Rec::new(n, 80, R::Raw(33, vec![0, 1])),
            Rec::new(n, 81, R::Raw(41, opt_rr.clone())),
            Rec::new(n, 82, R::Raw(257, b"\x00\x05issueca.example".to_vec())),
        ]
    };
    let mut out = vec![
        msg(0x8180, all("host.example.com"), vec![], vec![], None),
        msg(0x8580, vec![], all("example.com"), vec![], Some(1232)),
        msg(0x81b0, vec![], vec![], all("x.example.com"), Some(4096)),
        msg(0x8183, vec![], vec![Rec::new("example.com", 5, R::Raw(6, vec![]))], vec![], Some(512)),
        msg(0x0100, vec![], vec![], vec![], Some(1232)),
        msg(0xa9f0, all("a.b"), all("c.d"), all("e.f"), None),
    ];
    // Caps: 70 A records; TXT strings crossing the cap; types to sort.
    let many: Vec<Rec> = (0..70u8).map(|i| Rec::new("m.example", 1, R::A([10, 0, 0, i]))).collect();
    out.push(msg(0x8180, many.clone(), many.clone(), many, None));
    let mut txt: Vec<Rec> = (0..60u8).map(|i| Rec::new("t.example", 1, R::A([10, 0, 1, i]))).collect();
    txt.push(Rec::new("t.example", 1, R::Txt((0..10u8).map(|i| vec![b'a' + i; 3]).collect())));
    txt.push(Rec::new("t.example", 1, R::Txt(vec![b"after".to_vec()])));
    txt.push(Rec::new("t.example", 1, R::Raw(44, sshfp.to_vec())));
    out.push(msg(0x8180, txt.clone(), txt, vec![], None));
    let order = ["TXT", "A", "TYPE999", "AAAA", "MX", "CNAME", "SSHFP", "NULL", "TYPE1000", "PTR"];
    let recs: Vec<Rec> = order
        .iter()
        .map(|t| match *t {
            "TXT" => Rec::new("o.example", 1, R::Txt(vec![b"x".to_vec()])),
            "A" => Rec::new("o.example", 1, R::A([1, 2, 3, 4])),
            "TYPE999" => Rec::new("o.example", 1, R::Raw(999, vec![9])),
            "AAAA" => Rec::new("o.example", 1, R::Aaaa([0; 16])),
            "MX" => Rec::new("o.example", 1, R::Mx(1, "mx.o.example".into())),
            "CNAME" => Rec::new("o.example", 1, R::Cname("c.o.example".into())),
            "SSHFP" => Rec::new("o.example", 1, R::Raw(44, sshfp.to_vec())),
            "NULL" => Rec::new("o.example", 1, R::Raw(10, vec![])),
            "TYPE1000" => Rec::new("o.example", 1, R::Raw(1000, vec![1, 0])),
            _ => Rec::new("o.example", 1, R::Ptr("p.o.example".into())),
        })
        .collect();
    out.push(msg(0x8180, [recs.clone(), recs].concat(), vec![], vec![], None));
    // Queries: plain, several questions (beyond the cap too), header flags.
    out.push(g::query(1, "www.example.com", 1));
    let mut qs = g::Message { id: 2, flags: 0x0130, ..g::Message::default() };
    qs.questions = (0..70).map(|i| g::Question { name: format!("q{i}.example"), qtype: 1 + i }).collect();
    out.push(qs.to_bytes());
    out.push(g::Message { id: 3, flags: 0x7800, ..g::Message::default() }.to_bytes());
    out
}

/// Names with every octet class: escapes, the root, a pointer chain.
fn raw_name_messages() -> Vec<Vec<u8>> {
    let hdr = |flags: u16, qd: u16, an: u16| {
        let mut h = vec![0x12, 0x34];
        h.extend(flags.to_be_bytes());
        h.extend(qd.to_be_bytes());
        h.extend(an.to_be_bytes());
        h.extend([0, 0, 0, 0]);
        h
    };
    let mut out = Vec::new();
    for chunk in (0..=255u8).collect::<Vec<_>>().chunks(60) {
        let mut m = hdr(0x8180, 1, 2);
        m.push(chunk.len() as u8);
        m.extend(chunk);
        m.extend([4, b'a', b'.', b'\\', b'"', 0]);
        m.extend([0, 16, 0, 1]);
        // Answer 1: owner = pointer to the question; CNAME to the root.
        m.extend([0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 9, 0, 1, 0]);
        // Answer 2: owner = root; PTR to a label then the question name.
        m.extend([0, 0, 12, 0, 1, 0, 0, 0, 9, 0, 5, 2, b'x', b'\x00', 0xc0, 12]);
        out.push(m);
    }
    out
}

#[test]
fn typed_record_is_byte_identical_to_the_map_builder() {
    let mut n = 0;
    for m in rich_messages().iter().chain(&raw_name_messages()) {
        assert!(typed_body(m).is_some(), "record written: {m:02x?}");
        assert_identical(m, "generated");
        n += 1;
    }
    assert!(n > 15);
}

#[test]
fn typed_record_is_byte_identical_on_mutated_messages() {
    // Deterministic xorshift mutations: flipped octets, truncations,
    // rewritten counts; anything the parser accepts must match.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let seeds: Vec<Vec<u8>> = rich_messages().into_iter().chain(raw_name_messages()).collect();
    let mut compared = 0;
    for seed in &seeds {
        for _ in 0..300 {
            let mut m = seed.clone();
            match next() % 4 {
                0 => m.truncate((next() as usize) % (m.len() + 1)),
                1 => {
                    for _ in 0..1 + next() % 4 {
                        let i = (next() as usize) % m.len();
                        m[i] ^= 1 << (next() % 8);
                    }
                }
                2 => {
                    let i = 4 + 2 * ((next() as usize) % 4);
                    if i + 1 < m.len() {
                        m[i + 1] = (next() % 80) as u8;
                    }
                }
                _ => {
                    let i = (next() as usize) % m.len();
                    m[i] = next() as u8;
                }
            }
            if legacy::body(&m).is_some() {
                compared += 1;
            }
            assert_identical(&m, "mutated");
        }
    }
    assert!(compared > 1000, "only {compared} mutated messages parsed");
}

/// UDP payloads to or from port 53 in a capture (Ethernet, Linux cooked,
/// raw IP, BSD null; pcap or pcapng).
fn udp53_payloads(path: &std::path::Path, out: &mut Vec<Vec<u8>>) {
    use etherparse::{LaxSlicedPacket, TransportSlice};
    use pcap_parser::{Linktype, PcapBlockOwned, PcapError, create_reader, pcapng::Block};
    let Ok(file) = std::fs::File::open(path) else { return };
    let Ok(mut reader) = create_reader(1 << 20, file) else { return };
    let mut legacy = Linktype::ETHERNET;
    let mut lts: Vec<Linktype> = Vec::new();
    let mut push = |lt: Linktype, d: &[u8]| {
        let sliced = match lt {
            Linktype::ETHERNET => LaxSlicedPacket::from_ethernet(d).ok(),
            Linktype::RAW | Linktype(228 | 229) => LaxSlicedPacket::from_ip(d).ok(),
            Linktype::LINUX_SLL if d.len() >= 16 => Some(LaxSlicedPacket::from_ether_type(
                etherparse::EtherType(u16::from_be_bytes([d[14], d[15]])),
                &d[16..],
            )),
            Linktype::NULL | Linktype(109) if d.len() >= 4 => LaxSlicedPacket::from_ip(&d[4..]).ok(),
            _ => None,
        };
        if let Some(TransportSlice::Udp(u)) = sliced.and_then(|s| s.transport)
            && (u.source_port() == 53 || u.destination_port() == 53)
        {
            out.push(u.payload().to_vec());
        }
    };
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                match block {
                    PcapBlockOwned::LegacyHeader(h) => legacy = h.network,
                    PcapBlockOwned::Legacy(b) => push(legacy, b.data),
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => lts.clear(),
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => lts.push(idb.linktype),
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        let lt = lts.get(epb.if_id as usize).copied().unwrap_or(Linktype::ETHERNET);
                        let len = (epb.caplen as usize).min(epb.data.len());
                        push(lt, &epb.data[..len]);
                    }
                    PcapBlockOwned::NG(_) => {}
                }
                reader.consume(offset);
            }
            Err(PcapError::Incomplete(_)) => {
                if reader.refill().is_err() {
                    break;
                }
            }
            Err(_) => break,
        }
    }
}

#[test]
fn typed_record_is_byte_identical_on_the_corpus() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    let Ok(manifest) = std::fs::read_to_string(root.join("MANIFEST.tsv")) else {
        println!("conformance corpus not found: skipped (NOT RUN)");
        return;
    };
    // Captures the manifest credits with DNS frames (column 11).
    let mut msgs = Vec::new();
    for line in manifest.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.get(10).and_then(|c| c.parse::<u64>().ok()).unwrap_or(0) > 0
            && let Some(path) = cols.first()
        {
            udp53_payloads(&root.join(path), &mut msgs);
        }
        if msgs.len() > 50_000 {
            break;
        }
    }
    let mut compared = 0;
    for m in &msgs {
        if legacy::body(m).is_some() {
            compared += 1;
        }
        assert_identical(m, "corpus");
    }
    println!("corpus: {} UDP/53 payloads, {compared} records compared byte for byte", msgs.len());
    assert!(compared > 1000, "only {compared} corpus messages parsed");
}
