//! DNS decoding throughput on real messages from the captures: queries
//! (parse + question name, as the app layer and the exfiltration detector
//! use them) and typical responses (parse + every answer's rdata decoded),
//! plus the DNS-over-TCP framer over a stream of framed responses.
use centinela_benches::dns;
use centinela_parsers::dns::{Message, RData, TcpFramer};
use centinela_parsers::stream::drive;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

/// What the app layer reads from a query: id, flags, first question's name
/// (length, labels, a suffix check) and type.
fn use_query(b: &[u8]) -> u64 {
    let Ok(m) = Message::parse(b) else { return 0 };
    let mut acc = u64::from(m.id()) + u64::from(m.anomalies().bits());
    if let Some(q) = m.question() {
        acc += q.name.len() as u64 + q.name.label_count() as u64 + u64::from(q.qtype.code());
        acc += q.name.labels().map(|l| l.len() as u64).max().unwrap_or(0);
    }
    acc
}

/// What the app layer reads from a response: rcode, question, and every
/// answer decoded (addresses, names).
fn use_response(b: &[u8]) -> u64 {
    let Ok(m) = Message::parse(b) else { return 0 };
    let mut acc = u64::from(m.rcode().code());
    if let Some(q) = m.question() {
        acc += q.name.len() as u64;
    }
    for r in m.answers() {
        acc += r.rdata().len() as u64;
        acc += match r.data() {
            RData::A(a) => u64::from(a.octets()[3]),
            RData::Aaaa(a) => u64::from(a.octets()[15]),
            RData::Cname(n) | RData::Ns(n) | RData::Ptr(n) => n.len() as u64,
            RData::Mx { exchange, .. } => exchange.len() as u64,
            RData::Txt(t) => t.count() as u64,
            _ => 1,
        };
    }
    acc
}

fn bench(c: &mut Criterion) {
    let s = dns::load();
    let qbytes: usize = s.queries.iter().map(Vec::len).sum();
    let rbytes: usize = s.responses.iter().map(Vec::len).sum();
    println!(
        "dns bench samples: {} queries ({qbytes} bytes), {} typical responses ({rbytes} bytes) from {:?}",
        s.queries.len(),
        s.responses.len(),
        s.sources
    );
    let mut g = c.benchmark_group("dns");
    g.throughput(Throughput::Elements(s.queries.len() as u64));
    g.bench_function("query_parse_and_qname", |b| {
        b.iter(|| s.queries.iter().map(|q| use_query(black_box(q))).sum::<u64>());
    });
    g.throughput(Throughput::Elements(s.responses.len() as u64));
    g.bench_function("response_parse_and_answers", |b| {
        b.iter(|| s.responses.iter().map(|r| use_response(black_box(r))).sum::<u64>());
    });
    g.throughput(Throughput::Bytes(rbytes as u64));
    g.bench_function("response_parse_and_answers_bytes", |b| {
        b.iter(|| s.responses.iter().map(|r| use_response(black_box(r))).sum::<u64>());
    });
    let stream: Vec<u8> = s
        .responses
        .iter()
        .flat_map(|r| (r.len() as u16).to_be_bytes().into_iter().chain(r.iter().copied()))
        .collect();
    g.throughput(Throughput::Elements(s.responses.len() as u64));
    g.bench_function("tcp_framer_and_parse", |b| {
        b.iter(|| {
            let mut f = TcpFramer::new();
            let mut acc = 0u64;
            let _ = drive(&mut f, black_box(&stream), |fr| acc += use_response(fr), |_, _| {});
            acc
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
