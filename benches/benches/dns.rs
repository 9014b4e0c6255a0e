//! DNS decoding throughput on real messages from the captures: queries
//! (parse + question name, as the app layer and the exfiltration detector
//! use them) and typical responses (parse + every answer's rdata decoded),
//! plus the DNS-over-TCP framer over a stream of framed responses. Queries,
//! responses and a parse-only pass are also reported per on-CPU second of
//! the benchmark thread (the machine may be shared).
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

/// Run `f` over `msgs` for about two seconds and print messages per on-CPU
/// second of this thread (the machine may be shared: wall-clock figures
/// understate it) and per wall second.
fn cpu_throughput(name: &str, msgs: &[Vec<u8>], f: fn(&[u8]) -> u64) {
    let (Some(t0), start) = (dns::thread_cpu_ns(), std::time::Instant::now()) else { return };
    let mut rounds = 0u64;
    let mut acc = 0u64;
    while start.elapsed().as_millis() < 2000 {
        acc = acc.wrapping_add(msgs.iter().map(|m| f(black_box(m))).sum::<u64>());
        rounds += 1;
    }
    let Some(t1) = dns::thread_cpu_ns() else { return };
    let cpu_s = (t1.saturating_sub(t0)) as f64 / 1e9;
    if cpu_s <= 0.0 {
        return;
    }
    let n = rounds as f64 * msgs.len() as f64;
    let wall = start.elapsed().as_secs_f64();
    println!(
        "dns {name}: {:.2} M messages/s per CPU second, {:.2} M/s wall \
         ({rounds} rounds, {cpu_s:.2} s on CPU in {wall:.2} s wall, check {acc})",
        n / cpu_s / 1e6,
        n / wall / 1e6,
    );
}

/// Parse only (the single validation pass), for the profile split.
fn parse_only(b: &[u8]) -> u64 {
    Message::parse(b).map_or(0, |m| u64::from(m.anomalies().bits()) + m.parsed_len() as u64)
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
    cpu_throughput("queries (parse + qname)", &s.queries, use_query);
    cpu_throughput("typical responses (parse + answers)", &s.responses, use_response);
    cpu_throughput("typical responses (parse only)", &s.responses, parse_only);

    let mut g = c.benchmark_group("dns");
    g.throughput(Throughput::Elements(s.queries.len() as u64));
    g.bench_function("query_parse_and_qname", |b| {
        b.iter(|| s.queries.iter().map(|q| use_query(black_box(q))).sum::<u64>());
    });
    g.throughput(Throughput::Elements(s.responses.len() as u64));
    g.bench_function("response_parse_and_answers", |b| {
        b.iter(|| s.responses.iter().map(|r| use_response(black_box(r))).sum::<u64>());
    });
    g.bench_function("response_parse_only", |b| {
        b.iter(|| s.responses.iter().map(|r| parse_only(black_box(r))).sum::<u64>());
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
