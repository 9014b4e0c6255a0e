//! `centinela replay`: pcap files through the pipeline.

use crate::config::Config;
use crate::pipeline::{Pipeline, Start};
use crate::source::{self, SourceError};
use crate::writer::{EveSink, WriterSummary};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Outcome of a replay.
#[derive(Debug, Default)]
pub struct ReplayResult {
    /// Packets read.
    pub packets: u64,
    /// Per-file problems (the file's packets before the problem were used).
    pub errors: Vec<(PathBuf, SourceError)>,
    /// Writer summary.
    pub writer: WriterSummary,
    /// Stopped by a signal.
    pub interrupted: bool,
    /// CPU time of the reading thread (the caller's), ns (0 when unknown).
    pub reader_cpu_ns: u64,
}

/// Replay options.
#[derive(Debug)]
pub struct ReplayOpts {
    /// Configuration.
    pub cfg: Arc<Config>,
    /// Worker threads.
    pub workers: usize,
    /// Files, in order.
    pub files: Vec<PathBuf>,
    /// Output.
    pub sink: EveSink,
    /// Forwarding.
    pub delivery: Option<centinela_forward::Delivery>,
    /// Stop flag (SIGINT/SIGTERM).
    pub stop: Arc<AtomicBool>,
    /// Reopen flag (SIGHUP).
    pub hup: Arc<AtomicBool>,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

/// Replay files through a fresh pipeline. Packets are numbered across files.
pub fn replay(o: ReplayOpts) -> std::io::Result<ReplayResult> {
    let total: u64 = o.files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
    let consumed = Arc::new(AtomicU64::new(0));
    let bar = o.progress.then(|| {
        let b = indicatif::ProgressBar::new(total);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let mut p = Pipeline::start(Start {
        cfg: Arc::clone(&o.cfg),
        workers: o.workers,
        live: false,
        ifaces: Arc::from(Vec::<Arc<str>>::new()),
        sink: o.sink,
        delivery: o.delivery,
        hup: o.hup,
    })?;
    let mut res = ReplayResult::default();
    let mut warned_linktypes: Vec<i32> = Vec::new();
    for file in &o.files {
        if o.stop.load(Ordering::Relaxed) {
            res.interrupted = true;
            break;
        }
        let input = match source::open(file, Arc::clone(&consumed)) {
            Ok(i) => i,
            Err(e) => {
                res.errors.push((file.clone(), e));
                continue;
            }
        };
        if let source::Input::Mapped(m, _) = &input {
            p.dispatch.set_map(Some(Arc::clone(m)));
        }
        let stop = Arc::clone(&o.stop);
        let mut n = 0u64;
        let r = source::read_pcap(input, &mut |pkt| {
            if !crate::decode::linktype::supported(pkt.linktype) && !warned_linktypes.contains(&pkt.linktype)
            {
                warned_linktypes.push(pkt.linktype);
                tracing::warn!(
                    "{}: link type {} is not supported: packets are counted and reported as decode anomalies",
                    file.display(),
                    pkt.linktype
                );
            }
            n += 1;
            if n.is_multiple_of(65_536) {
                if let Some(b) = &bar {
                    b.set_position(consumed.load(Ordering::Relaxed));
                    b.set_message(format!("{} pkts", p.dispatch.packets()));
                }
                if stop.load(Ordering::Relaxed) {
                    return false;
                }
            }
            p.push(pkt)
        });
        p.dispatch.set_map(None);
        if let Err(e) = r {
            p.dispatch.counters.errors += 1;
            res.errors.push((file.clone(), e));
        }
        if o.stop.load(Ordering::Relaxed) {
            res.interrupted = true;
        }
    }
    res.packets = p.dispatch.packets();
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    res.reader_cpu_ns = crate::pipeline::thread_cpu_ns().unwrap_or(0);
    res.writer = p.finish();
    Ok(res)
}
