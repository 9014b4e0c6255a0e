//! Modbus decoding throughput on real ADUs from the captures (request and
//! response mix): `Adu::parse` alone, parse + walking every register/coil
//! value, the MBAP stream framer + parse over the concatenated stream, and
//! RTU frames.
use centinela_benches::modbus::{self, Sample};
use centinela_parsers::modbus::{Adu, ModbusFraming, PduBody, Response, rtu};
use centinela_parsers::stream::drive;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn walk_values(adu: &Adu<'_>) -> u64 {
    match adu.pdu.body {
        PduBody::Response(Response::ReadRegisters { values, .. }) => values.iter().map(u64::from).sum(),
        PduBody::Response(Response::ReadBits { values, .. }) => values.iter().filter(|b| *b).count() as u64,
        _ => adu.pdu.written_values().map_or(0, |v| v.count() as u64),
    }
}

/// CPU time this thread has run, in ns (`/proc/thread-self/schedstat`), so
/// the per-core figure is not diluted by other processes on a shared host.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// ADUs parsed per CPU-second of this thread (and per wall second).
fn per_core(name: &str, samples: &[&Sample], walk: bool) {
    let start_cpu = thread_cpu_ns();
    let start = std::time::Instant::now();
    let mut n = 0u64;
    let mut acc = 0u64;
    while start.elapsed() < std::time::Duration::from_secs(2) {
        for s in samples {
            if let Ok(a) = Adu::parse(black_box(&s.adu), s.dir) {
                acc += if walk { walk_values(&a) } else { u64::from(a.flags.bits()) + u64::from(a.unit_id) };
            }
        }
        n += samples.len() as u64;
    }
    let wall = start.elapsed().as_secs_f64();
    black_box(acc);
    match (start_cpu, thread_cpu_ns()) {
        (Some(a), Some(b)) if b > a => {
            let cpu = (b - a) as f64 / 1e9;
            println!(
                "{name}: {:.1} M ADUs per CPU-second (one core), {:.1} M ADUs per wall second ({:.0}% of a core available)",
                n as f64 / cpu / 1e6,
                n as f64 / wall / 1e6,
                cpu / wall * 100.0
            );
        }
        _ => println!("{name}: {:.1} M ADUs per wall second", n as f64 / wall / 1e6),
    }
}

fn bench(c: &mut Criterion) {
    let (source, samples) = modbus::load();
    let mbap: Vec<&Sample> = samples.iter().filter(|s| s.framing == ModbusFraming::Mbap).collect();
    let rtus: Vec<&Sample> = samples.iter().filter(|s| s.framing == ModbusFraming::Rtu).collect();
    let requests = mbap.iter().filter(|s| s.dir == centinela_parsers::modbus::Direction::Request).count();
    let bytes: usize = mbap.iter().map(|s| s.adu.len()).sum();
    println!(
        "modbus bench samples from {source:?}: {} MBAP ADUs ({requests} requests, {} responses, {bytes} bytes), {} RTU ADUs",
        mbap.len(),
        mbap.len() - requests,
        rtus.len()
    );

    per_core("per-core mbap_adu_parse", &mbap, false);
    per_core("per-core mbap_adu_parse_and_values", &mbap, true);

    let mut g = c.benchmark_group("modbus");
    g.throughput(Throughput::Elements(mbap.len() as u64));
    g.bench_function("mbap_adu_parse", |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for s in &mbap {
                if let Ok(a) = Adu::parse(black_box(&s.adu), s.dir) {
                    acc += u64::from(a.pdu.function.code()) + u64::from(a.flags.bits());
                }
            }
            acc
        });
    });
    g.bench_function("mbap_adu_parse_and_values", |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for s in &mbap {
                if let Ok(a) = Adu::parse(black_box(&s.adu), s.dir) {
                    acc += walk_values(&a);
                }
            }
            acc
        });
    });
    let stream: Vec<u8> = mbap
        .iter()
        .filter(|s| s.dir == centinela_parsers::modbus::Direction::Request)
        .flat_map(|s| s.adu.iter().copied())
        .collect();
    g.throughput(Throughput::Bytes(stream.len() as u64));
    g.bench_function("mbap_framer_stream_requests", |b| {
        b.iter(|| {
            let mut n = 0u64;
            let _ = drive(
                &mut centinela_parsers::modbus::MbapFramer::new(),
                black_box(&stream),
                |f| {
                    n += Adu::parse(f, centinela_parsers::modbus::Direction::Request)
                        .map_or(0, |a| u64::from(a.unit_id));
                },
                |_, _| {},
            );
            n
        });
    });
    if !rtus.is_empty() {
        g.throughput(Throughput::Elements(rtus.len() as u64));
        g.bench_function("rtu_adu_parse_with_crc", |b| {
            b.iter(|| {
                let mut acc = 0u64;
                for s in &rtus {
                    if let Ok(a) = rtu::parse(black_box(&s.adu), s.dir) {
                        acc += u64::from(a.flags.bits()) + u64::from(a.address);
                    }
                }
                acc
            });
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
