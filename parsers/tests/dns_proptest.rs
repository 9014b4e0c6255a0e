//! Property tests: random messages emitted (with and without compression)
//! parse back to the model; random streams of them frame back over TCP at
//! random splits; arbitrary octets never panic and never break the
//! validate-once contract.
#![cfg(feature = "dns")]

mod common;
mod dns_support;

use centinela_parsers::dns::{Anomalies, Message, RData, TcpFramer};
use centinela_parsers::stream::drive;
use dns_support::{EmitRdata, Emitter, tcp_frame};
use proptest::prelude::*;
use std::fmt::Write;

type Labels = Vec<Vec<u8>>;

/// Presentation form written independently of the parser.
fn present(l: &Labels) -> String {
    if l.is_empty() {
        return ".".into();
    }
    let mut s = String::new();
    for (i, label) in l.iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        for &b in label {
            match b {
                b'.' | b'\\' => {
                    s.push('\\');
                    s.push(b as char);
                }
                0x21..=0x7e => s.push(b as char),
                _ => write!(s, "\\{b:03}").expect("write to a String"),
            }
        }
    }
    s
}

fn label() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => proptest::collection::vec(prop_oneof![b'a'..=b'z', b'0'..=b'9', Just(b'-')], 1..20),
        1 => proptest::collection::vec(any::<u8>(), 1..64),
    ]
}

/// Names kept within 255 octets by construction (≤ 3 labels of ≤ 63).
fn name() -> impl Strategy<Value = Labels> {
    prop_oneof![
        // Shared suffixes make compression kick in.
        (
            proptest::collection::vec(label(), 0..2),
            prop_oneof![Just(vec![]), Just(vec![b"example".to_vec(), b"com".to_vec()])]
        )
            .prop_map(|(mut a, b)| {
                a.extend(b);
                a
            }),
        proptest::collection::vec(label(), 0..4),
    ]
}

#[derive(Debug, Clone)]
struct Rr {
    name: Labels,
    rtype: u16,
    ttl: u32,
    data: EmitRdata,
}

fn rr() -> impl Strategy<Value = Rr> {
    let data = prop_oneof![
        any::<[u8; 4]>().prop_map(|a| (1u16, EmitRdata::A(a))),
        any::<[u8; 16]>().prop_map(|a| (28, EmitRdata::Aaaa(a))),
        name().prop_map(|n| (5, EmitRdata::Name(n))),
        name().prop_map(|n| (2, EmitRdata::Name(n))),
        name().prop_map(|n| (12, EmitRdata::Name(n))),
        (any::<u16>(), name()).prop_map(|(p, n)| (15, EmitRdata::Mx(p, n))),
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..4)
            .prop_map(|t| (16, EmitRdata::Txt(t))),
        proptest::collection::vec(any::<u8>(), 0..60).prop_map(|r| (10, EmitRdata::Raw(r))),
        (any::<u16>(), any::<u16>(), any::<u16>(), name())
            .prop_map(|(a, b, c, n)| (33, EmitRdata::Srv(a, b, c, n))),
        (name(), name(), any::<[u32; 5]>()).prop_map(|(m, r, x)| (6, EmitRdata::Soa(m, r, x))),
        proptest::collection::vec(any::<u8>(), 0..30).prop_map(|r| (999, EmitRdata::Raw(r))),
    ];
    (name(), any::<u32>(), data).prop_map(|(name, ttl, (rtype, data))| Rr { name, rtype, ttl, data })
}

#[derive(Debug, Clone)]
struct Msg {
    id: u16,
    flags: u16,
    questions: Vec<(Labels, u16)>,
    sections: [Vec<Rr>; 3],
}

fn msg() -> impl Strategy<Value = Msg> {
    (
        any::<u16>(),
        // Opcode 0..=2 or 4..=6, Z clear.
        (any::<u16>(), prop_oneof![Just(0u16), Just(1), Just(2), Just(4), Just(5), Just(6)])
            .prop_map(|(f, op)| (f & !0x7840) | (op << 11)),
        proptest::collection::vec((name(), any::<u16>().prop_filter("not OPT", |t| *t != 41)), 0..3),
        proptest::collection::vec(rr(), 0..4),
        proptest::collection::vec(rr(), 0..3),
        proptest::collection::vec(rr(), 0..3),
    )
        .prop_map(|(id, flags, questions, an, ns, ar)| Msg {
            id,
            flags,
            questions,
            sections: [an, ns, ar],
        })
}

fn emit(m: &Msg, compress: bool) -> Vec<u8> {
    let c = |v: &Vec<Rr>| v.len() as u16;
    let counts = [m.questions.len() as u16, c(&m.sections[0]), c(&m.sections[1]), c(&m.sections[2])];
    let mut e = Emitter::new(m.id, m.flags, counts, compress);
    for (n, t) in &m.questions {
        e.question(n, *t, 1);
    }
    for s in &m.sections {
        for r in s {
            e.record(&r.name, r.rtype, 1, r.ttl, &r.data);
        }
    }
    e.buf
}

/// The model's rdata, formatted as the check below formats parsed rdata.
fn model_rdata(d: &EmitRdata) -> String {
    match d {
        EmitRdata::A(a) => std::net::Ipv4Addr::from(*a).to_string(),
        EmitRdata::Aaaa(a) => std::net::Ipv6Addr::from(*a).to_string(),
        EmitRdata::Name(n) => present(n),
        EmitRdata::Mx(p, n) => format!("{p} {}", present(n)),
        EmitRdata::Txt(t) => format!("{t:?}"),
        EmitRdata::Srv(a, b, c, n) => format!("{a} {b} {c} {}", present(n)),
        EmitRdata::Soa(m, r, x) => format!("{} {} {x:?}", present(m), present(r)),
        EmitRdata::Raw(r) => format!("{r:?}"),
    }
}

fn parsed_rdata(d: RData<'_>) -> String {
    match d {
        RData::A(a) => a.to_string(),
        RData::Aaaa(a) => a.to_string(),
        RData::Cname(n) | RData::Ns(n) | RData::Ptr(n) => n.to_string(),
        RData::Mx { preference, exchange } => format!("{preference} {exchange}"),
        RData::Txt(t) => format!("{:?}", t.map(<[u8]>::to_vec).collect::<Vec<_>>()),
        RData::Srv { priority, weight, port, target } => format!("{priority} {weight} {port} {target}"),
        RData::Soa(s) => {
            format!("{} {} {:?}", s.mname, s.rname, [s.serial, s.refresh, s.retry, s.expire, s.minimum])
        }
        RData::Null(r) | RData::Other(r) => format!("{:?}", r.to_vec()),
        other => format!("unexpected {other:?}"),
    }
}

fn check(m: &Msg, bytes: &[u8]) -> Result<(), TestCaseError> {
    let p = Message::parse(bytes).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
    prop_assert_eq!(p.anomalies(), Anomalies::empty());
    prop_assert_eq!(p.id(), m.id);
    prop_assert_eq!(p.header().flags(), m.flags);
    prop_assert_eq!(p.parsed_len(), bytes.len());
    let qs: Vec<_> = p.questions().collect();
    prop_assert_eq!(qs.len(), m.questions.len());
    for (q, (n, t)) in qs.iter().zip(&m.questions) {
        prop_assert_eq!(q.name.to_string(), present(n));
        prop_assert_eq!(q.name.label_count(), n.len());
        prop_assert_eq!(q.name.labels().map(<[u8]>::to_vec).collect::<Vec<_>>(), n.clone());
        prop_assert_eq!(q.name.wire_len(), 1 + n.iter().map(|l| 1 + l.len()).sum::<usize>());
        prop_assert!(
            q.name.eq_ignore_case(present(n).to_uppercase().as_bytes())
                || n.iter().flatten().any(|b| *b > 0x7f)
        );
        prop_assert_eq!(q.qtype.code(), *t);
    }
    let model: Vec<&Rr> = m.sections.iter().flatten().collect();
    let recs: Vec<_> = p.records().collect();
    prop_assert_eq!(recs.len(), model.len());
    for (r, x) in recs.iter().zip(model) {
        prop_assert_eq!(r.name.to_string(), present(&x.name));
        prop_assert_eq!(r.rtype.code(), x.rtype);
        prop_assert_eq!(r.ttl, x.ttl);
        prop_assert_eq!(r.anomalies(), Anomalies::empty());
        prop_assert_eq!(parsed_rdata(r.data()), model_rdata(&x.data));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn round_trip_compressed_and_not(m in msg()) {
        let plain = emit(&m, false);
        let packed = emit(&m, true);
        prop_assert!(packed.len() <= plain.len());
        check(&m, &plain)?;
        check(&m, &packed)?;
    }

    #[test]
    fn tcp_stream_round_trip(ms in proptest::collection::vec(msg(), 1..5), cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6)) {
        let msgs: Vec<Vec<u8>> = ms.iter().map(|m| emit(m, true)).collect();
        let stream: Vec<u8> = msgs.iter().flat_map(|m| tcp_frame(m)).collect();
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        points.sort_unstable();
        let mut f = TcpFramer::new();
        let mut pending = Vec::new();
        let mut frames = Vec::new();
        let mut last = 0;
        for p in points.into_iter().chain([stream.len()]) {
            pending.extend_from_slice(&stream[last..p]);
            last = p;
            let (used, _) = drive(&mut f, &pending, |fr| frames.push(fr.to_vec()), |_, e| panic!("{e:?}"));
            pending.drain(..used);
        }
        prop_assert_eq!(frames, msgs);
    }

    #[test]
    fn arbitrary_octets_keep_the_contract(b in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(m) = Message::parse(&b) {
            let c = m.counts();
            prop_assert_eq!(m.questions().count(), usize::from(c[0]));
            prop_assert_eq!(m.records().count(), usize::from(c[1]) + usize::from(c[2]) + usize::from(c[3]));
            for q in m.questions() {
                prop_assert!(q.name.label_count() <= 127 && q.name.wire_len() <= 255);
                prop_assert_eq!(q.name.labels().count(), q.name.label_count());
                prop_assert_eq!(q.name.to_string().len(), q.name.presentation_len());
            }
            for r in m.records() {
                prop_assert_eq!(r.name.labels().count(), r.name.label_count());
                let _ = (r.data(), r.anomalies());
                prop_assert!(r.rdata_offset() + r.rdata().len() <= b.len());
            }
        }
        let mut f = TcpFramer::new();
        let _ = drive(&mut f, &b, |_| {}, |_, _| {});
        f = TcpFramer::new();
        f.gap_then(&b);
    }
}

/// Drive after a gap (helper so the property covers the probing path).
trait GapThen {
    fn gap_then(&mut self, b: &[u8]);
}

impl GapThen for TcpFramer {
    fn gap_then(&mut self, b: &[u8]) {
        use centinela_parsers::stream::StreamFramer;
        self.gap();
        let _ = drive(self, b, |_| {}, |_, _| {});
    }
}
