//! One worker on its own: the capacity of a single worker thread, measured
//! without the reader and the writer competing for the same cores (on a
//! 2-core machine the end-to-end `pipeline` bench runs three busy threads on
//! two cores, so its per-worker figure mixes in scheduling and cache
//! contention).
//!
//! The capture is read and sharded into batches by the real dispatcher
//! beforehand (held in memory), then one `Worker` runs every batch on this
//! thread: decode, flows, reassembly, app layer, detectors and EVE encoding
//! into its output buffers, which are handed back for reuse as the writer
//! does. Reported: packets per second of worker wall time, ns per packet and
//! the EVE bytes and records produced (the same records `centinela replay`
//! writes for the capture).
//!
//! Run: `cargo bench -p centinela-benches --bench worker` (the `pipeline`
//! bench's captures: `CENTINELA_BENCH_SIZE`, default 256M, or
//! `CENTINELA_BENCH_PCAP`; generated when missing). `CENTINELA_BENCH_RUNS`
//! sets the runs per mode (default 3).

#[path = "../src/pipeline.rs"]
#[allow(dead_code)]
mod pipeline;

use centinela::batch::{Batch, Entry};
use centinela::dispatch::{DispatchCfg, Dispatcher, Policy};
use centinela::pipeline::BATCH_BYTES;
use centinela::worker::{RECYCLED_PER_WORKER, Recycled, Worker};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

/// Every batch of `pcap` for one worker, as the reader would send them.
fn load(pcap: &Path, cfg: &centinela::config::Config) -> Result<(Vec<Batch>, u64), String> {
    let p = &cfg.pipeline;
    let max_packet = cfg.decode.max_packet_bytes as usize;
    let batch_bytes = BATCH_BYTES.max(max_packet);
    let dcfg = DispatchCfg {
        batch_packets: p.batch_packets,
        batch_bytes,
        max_packet,
        mark_packets: p.mark_packets,
        stats_interval: if cfg.stats.enabled { i64::from(cfg.stats.interval_s) } else { 0 },
        policy: Policy::Block,
    };
    let (tx, rx) = crossbeam_channel::unbounded::<Batch>();
    let (pool_tx, pool_rx) = crossbeam_channel::unbounded::<Batch>();
    let fresh = move || Batch::with_capacity(dcfg.batch_packets, dcfg.batch_bytes);
    let _ = pool_tx.send(fresh());
    // Each batch the dispatcher sends is kept; a fresh one replaces it in
    // the pool.
    let keeper = std::thread::spawn(move || {
        let mut kept = Vec::new();
        while let Ok(b) = rx.recv() {
            let _ = pool_tx.send(fresh());
            kept.push(b);
        }
        kept
    });
    let mut d = Dispatcher::new(dcfg, vec![tx], pool_rx);
    let input = centinela::source::open(pcap, Arc::new(AtomicU64::new(0))).map_err(|e| format!("{e:?}"))?;
    let packets =
        centinela::source::read_pcap(input, &mut |pkt| d.push(pkt)).map_err(|e| format!("{e:?}"))?;
    d.finish();
    drop(d);
    let kept = keeper.join().map_err(|_| "batch keeper panicked".to_string())?;
    Ok((kept, packets))
}

/// Minor page faults of this thread so far (`/proc/thread-self/stat`).
fn minor_faults() -> u64 {
    let s = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; minflt is field 10.
    s.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(7)?.parse().ok()).unwrap_or(0)
}

struct Run {
    faults: u64,
    secs: f64,
    bytes: u64,
    records: u64,
}

/// One fresh worker over every batch, output buffers recycled.
fn run(batches: &[Batch], cfg: &Arc<centinela::config::Config>) -> Run {
    let mut w = Worker::new(0, 1, Arc::clone(cfg), Arc::from(Vec::new()), false);
    let (back_tx, back_rx) = crossbeam_channel::bounded::<Recycled>(RECYCLED_PER_WORKER);
    w.recycle_from(back_rx);
    let (mut bytes, mut records) = (0u64, 0u64);
    let f0 = minor_faults();
    let t = Instant::now();
    for b in batches {
        w.run_batch(b, &mut |r| {
            bytes += r.buf.len() as u64;
            records += r.recs.len() as u64;
            let _ = back_tx.try_send((r.buf, r.recs));
        });
    }
    let secs = t.elapsed().as_secs_f64();
    Run { faults: minor_faults() - f0, secs, bytes, records }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("worker: bench");
        return;
    }
    let size = std::env::var("CENTINELA_BENCH_SIZE").unwrap_or_else(|_| "256M".into());
    let pcap = std::env::var_os("CENTINELA_BENCH_PCAP").map_or_else(
        || pipeline::root().join(format!("pcaps/big/ics-mix-{}.pcap", size.to_lowercase())),
        Into::into,
    );
    if !pcap.exists() {
        let made = pipeline::build_release().and_then(|bin| pipeline::ensure_mix(&bin, &pcap, &size));
        if let Err(e) = made {
            eprintln!("worker bench: {e}");
            std::process::exit(1);
        }
    }
    let runs: usize = std::env::var("CENTINELA_BENCH_RUNS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    println!("worker: one worker alone on {} (batches in memory, EVE encoded, not written)", pcap.display());
    println!("host: {}", centinela_benches::host_summary());
    println!(
        "{:<26} {:>9} {:>10} {:>9} {:>10} {:>8} {:>12}",
        "mode", "packets", "packets/s", "ns/packet", "EVE MiB", "records", "page faults"
    );
    for log_all in [true, false] {
        let text = format!("[app]\nlog_all = {log_all}\n");
        let cfg = match centinela::config::parse(&text) {
            Ok(c) => Arc::new(c),
            Err((k, m)) => {
                eprintln!("worker bench: config {k}: {m}");
                std::process::exit(1);
            }
        };
        let (batches, packets) = match load(&pcap, &cfg) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("worker bench: {}: {e}", pcap.display());
                std::process::exit(1);
            }
        };
        let in_batches: usize =
            batches.iter().map(|b| b.entries.iter().filter(|e| matches!(e, Entry::Pkt(_))).count()).sum();
        assert_eq!(in_batches as u64, packets, "every packet read is in a batch");
        let label = if log_all { "every transaction logged" } else { "default limits" };
        for _ in 0..runs {
            let r = run(&batches, &cfg);
            assert!(r.records > 0, "the worker produced records");
            let pps = packets as f64 / r.secs;
            println!(
                "{:<26} {:>9} {:>10.0} {:>9.1} {:>10.1} {:>8} {:>12}",
                label,
                packets,
                pps,
                1e9 / pps,
                r.bytes as f64 / f64::from(1 << 20),
                r.records,
                r.faults
            );
        }
    }
}
