//! End-to-end replay benchmark on the generated big ICS mix (Modbus + DNP3 +
//! DNS + background TCP/UDP): packets/s, Gbit/s, ns/packet and peak RSS for
//! 1 and 2 workers, every transaction logged and default log limits, EVE to
//! /dev/null. The mix is generated on demand (`CENTINELA_BENCH_SIZE`,
//! default 256M; `CENTINELA_BENCH_PCAP` to use an existing file).
//!
//! Run: `cargo bench -p centinela-benches --bench pipeline`.
//! Not criterion-sampled: one replay of a large file is itself a sample;
//! `CENTINELA_BENCH_ROUNDS` (default 5) rounds run every configuration once
//! each, and each row reports the median run with the best and worst.

#[path = "../src/pipeline.rs"]
#[allow(dead_code)]
mod pipeline;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("pipeline: bench");
        return;
    }
    let bin = match pipeline::build_release() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("pipeline bench: {e}");
            std::process::exit(1);
        }
    };
    let size = std::env::var("CENTINELA_BENCH_SIZE").unwrap_or_else(|_| "256M".into());
    let pcap = std::env::var_os("CENTINELA_BENCH_PCAP").map_or_else(
        || pipeline::root().join(format!("pcaps/big/ics-mix-{}.pcap", size.to_lowercase())),
        Into::into,
    );
    if let Err(e) = pipeline::ensure_mix(&bin, &pcap, &size) {
        eprintln!("pipeline bench: {e}");
        std::process::exit(1);
    }
    println!("pipeline: replay of {} (EVE to /dev/null)", pcap.display());
    println!("host: {}", centinela_benches::host_summary());
    println!(
        "{:<26} {:>9} {:>10} {:>7} {:>9} {:>8} {:>8} {:>13} {:>15} {:>10}",
        "mode",
        "packets",
        "packets/s",
        "Gbit/s",
        "ns/packet",
        "records",
        "RSS MiB",
        "reader CPU ns",
        "worker CPU ns",
        "pps/worker"
    );
    // Plain Modbus polling, 3 frames per transaction, and with the PLC's ACK
    // of each request (4 frames: the shape of the Suricata figure).
    let poll = pipeline::root().join("pcaps/big/modbus-poll-100k.pcap");
    let poll_ack = pipeline::root().join("pcaps/big/modbus-poll-100k-ack.pcap");
    for (path, server_ack) in [(&poll, false), (&poll_ack, true)] {
        if let Err(e) = pipeline::ensure_poll(&bin, path, 100_000, server_ack) {
            eprintln!("pipeline bench: {e}");
            std::process::exit(1);
        }
    }
    let runs: Vec<(&std::path::Path, usize, bool)> = [true, false]
        .into_iter()
        .flat_map(|log_all| [1usize, 2].map(|w| (pcap.as_path(), w, log_all)))
        .chain([true, false].map(|log_all| (poll.as_path(), 1usize, log_all)))
        .chain([true, false].map(|log_all| (poll_ack.as_path(), 1usize, log_all)))
        .collect();
    // Rounds: every configuration once per round, in the same order, so a
    // busy spell of a shared host spreads over all of them; the figures of
    // a configuration are those of its median run (by worker CPU per
    // packet), with the best and worst runs beside it.
    let rounds: usize = match std::env::var("CENTINELA_BENCH_ROUNDS") {
        Ok(v) => match v.parse() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                eprintln!("pipeline bench: CENTINELA_BENCH_ROUNDS must be a number from 1 to 100, got {v:?}");
                std::process::exit(2);
            }
        },
        Err(_) => 5,
    };
    println!("{rounds} rounds; each row is the median run of its configuration (by worker CPU per packet)");
    let mut results: Vec<Vec<pipeline::Figures>> = vec![Vec::new(); runs.len()];
    for round in 0..rounds {
        for (i, &(file, workers, log_all)) in runs.iter().enumerate() {
            match pipeline::replay(&bin, file, workers, log_all) {
                Ok(f) => results[i].push(f),
                Err(e) => {
                    eprintln!("round {round}, workers={workers} log_all={log_all}: {e}");
                    std::process::exit(1);
                }
            }
        }
    }
    let mut verdict = Vec::new();
    for (i, &(file, workers, log_all)) in runs.iter().enumerate() {
        if (file == poll.as_path() || file == poll_ack.as_path()) && log_all {
            let frames = if file == poll.as_path() { 3 } else { 4 };
            println!(
                "modbus polling capture {} (one session, 100 000 request/response pairs, {frames} frames each):",
                file.display()
            );
        }
        let mut runs_of = results[i].clone();
        runs_of.sort_by(|a, b| a.pps_per_worker_cpu().total_cmp(&b.pps_per_worker_cpu()).reverse());
        let Some(f) = runs_of.get(runs_of.len() / 2) else { continue };
        let best = runs_of.first().map_or(0.0, pipeline::Figures::pps_per_worker_cpu);
        let worst = runs_of.last().map_or(0.0, pipeline::Figures::pps_per_worker_cpu);
        println!(
            "{:<26} {:>9} {:>10.0} {:>7.3} {:>9.1} {:>8} {:>8.1} {:>13} {:>15} {:>10.0}   best {:.0}, worst {:.0}",
            f.label,
            f.packets,
            f.pps(),
            f.gbps(),
            f.ns_per_packet(),
            f.records,
            f.peak_rss_kib as f64 / 1024.0,
            f.reader_cpu_ns,
            f.worker_cpu_ns.iter().map(u64::to_string).collect::<Vec<_>>().join("/"),
            f.pps_per_worker_cpu(),
            best,
            worst,
        );
        if file == pcap.as_path() && workers == 1 {
            let (what, target) =
                if log_all { ("every transaction logged", 3e6) } else { ("default limits", 5e6) };
            let median = f.pps_per_worker_cpu();
            let met = if median >= target { "met" } else { "NOT met" };
            verdict.push(format!(
                "  {what}: median {:.2} M packets per worker CPU-second (best {:.2} M) against {:.0} M: {met}",
                median / 1e6,
                best / 1e6,
                target / 1e6
            ));
        }
    }
    println!("targets (ICS mix, one worker, median of {rounds} runs):");
    for v in verdict {
        println!("{v}");
    }
}
