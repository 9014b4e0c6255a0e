//! DNP3 decoding throughput on real link frames from the captures:
//! link parse (header + every block CRC + de-CRC copy), the full
//! link → transport → application pipeline (fragment parse, semantic checks,
//! every object header and point), and the TCP stream framer (sync scan and
//! every CRC) over the concatenated frames. Throughput in frame bytes; the
//! pipeline is also reported per on-CPU second (the machine may be shared).
use centinela_benches::dnp3;
use centinela_parsers::dnp3::{app, link, transport::Assembler};
use centinela_parsers::stream::drive;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

/// Link parse (CRCs, copy), transport assembly, fragment parse with its
/// one-pass object validation and the semantic checks; with `points`, also
/// iterate every object header and decode every point.
fn pipeline(samples: &[dnp3::Sample], asms: &mut [Assembler], points: bool) -> u64 {
    let mut out = [0u8; link::MAX_USER_DATA];
    let mut acc = 0u64;
    for a in asms.iter_mut() {
        a.reset();
    }
    for s in samples {
        let Ok((h, ud)) = link::Frame::parse(black_box(&s.frame), &mut out) else { continue };
        if !h.control.function.has_user_data() {
            continue;
        }
        let Some(a) = asms.get_mut(s.dir) else { continue };
        if let Ok(Some(frag)) = a.push(ud)
            && let Ok(f) = app::Fragment::parse(frag)
        {
            acc += u64::from((f.flags | f.check(Some(h.control.dir))).bits()) + f.object_count as u64;
            if !points {
                continue;
            }
            for o in f.objects() {
                for p in o.points() {
                    acc += u64::from(p.index) + u64::from(p.value.state().unwrap_or(0));
                }
            }
        }
    }
    acc
}

/// Run the full pipeline for about two seconds and print frame bytes and
/// frames per on-CPU second of this thread.
fn cpu_throughput(name: &str, samples: &[dnp3::Sample], asms: &mut [Assembler], bytes: usize, points: bool) {
    let (Some(t0), start) = (dnp3::thread_cpu_ns(), std::time::Instant::now()) else { return };
    let mut rounds = 0u64;
    let mut acc = 0u64;
    while start.elapsed().as_millis() < 2000 {
        acc = acc.wrapping_add(pipeline(samples, asms, points));
        rounds += 1;
    }
    let Some(t1) = dnp3::thread_cpu_ns() else { return };
    let cpu_s = (t1.saturating_sub(t0)) as f64 / 1e9;
    if cpu_s <= 0.0 {
        return;
    }
    let total = rounds as f64 * bytes as f64;
    let frames = rounds as f64 * samples.len() as f64;
    println!(
        "dnp3 {name} (points: {points}): link+transport+app {:.0} MB/s, {:.2} M frames/s per CPU second \
         ({rounds} rounds, {cpu_s:.2} s on CPU in {:.2} s wall, check {acc})",
        total / cpu_s / 1e6,
        frames / cpu_s / 1e6,
        start.elapsed().as_secs_f64()
    );
}

fn bench(c: &mut Criterion) {
    let (source, ndirs, samples) = dnp3::load();
    let bytes: usize = samples.iter().map(|s| s.frame.len()).sum();
    println!(
        "dnp3 bench frames from {source:?}: {} link frames, {bytes} bytes, {ndirs} directions",
        samples.len()
    );
    let mut asms: Vec<Assembler> = (0..ndirs).map(|_| Assembler::default()).collect();
    let stream: Vec<u8> = samples.iter().flat_map(|s| s.frame.iter().copied()).collect();
    cpu_throughput(&format!("{source:?}"), &samples, &mut asms, bytes, false);
    cpu_throughput(&format!("{source:?}"), &samples, &mut asms, bytes, true);

    let mut g = c.benchmark_group("dnp3");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("link_parse_crc_copy", |b| {
        let mut out = [0u8; link::MAX_USER_DATA];
        b.iter(|| {
            let mut acc = 0usize;
            for s in &samples {
                if let Ok((_, ud)) = link::Frame::parse(black_box(&s.frame), &mut out) {
                    acc += ud.len();
                }
            }
            acc
        });
    });
    g.bench_function("link_transport_app", |b| b.iter(|| pipeline(&samples, &mut asms, false)));
    g.bench_function("link_transport_app_points", |b| b.iter(|| pipeline(&samples, &mut asms, true)));
    g.bench_function("tcp_framer", |b| {
        b.iter(|| {
            let mut framer = link::Framer::new();
            let mut n = 0u64;
            let _ = drive(&mut framer, black_box(&stream), |_| n += 1, |_, _| {});
            n
        });
    });
    g.finish();
    let mut g = c.benchmark_group("dnp3_frames");
    g.throughput(Throughput::Elements(samples.len() as u64));
    g.bench_function("link_transport_app_points", |b| b.iter(|| pipeline(&samples, &mut asms, true)));
    g.finish();

    if let Some((cdirs, corpus)) = dnp3::load_corpus() {
        let cbytes: usize = corpus.iter().map(|s| s.frame.len()).sum();
        println!("dnp3 corpus frames: {} link frames, {cbytes} bytes, {cdirs} directions", corpus.len());
        let mut casms: Vec<Assembler> = (0..cdirs).map(|_| Assembler::default()).collect();
        cpu_throughput("Corpus", &corpus, &mut casms, cbytes, false);
        cpu_throughput("Corpus", &corpus, &mut casms, cbytes, true);
        let mut g = c.benchmark_group("dnp3_corpus");
        g.throughput(Throughput::Bytes(cbytes as u64));
        g.bench_function("link_transport_app", |b| b.iter(|| pipeline(&corpus, &mut casms, false)));
        g.bench_function("link_transport_app_points", |b| b.iter(|| pipeline(&corpus, &mut casms, true)));
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
