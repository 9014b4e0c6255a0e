//! Thread layout and the run loop shared by replay and live capture.
//!
//! ```text
//!  reader (main thread) ──bounded batch queue per worker──▶ worker 0..N ──bounded report queue──▶ writer
//!        ▲                                                      │                                   │
//!        └──────────────── batch pool (recycled buffers) ◀──────┘                      EVE file/stdout + Delivery
//! ```
//!
//! | edge | capacity | policy |
//! |---|---|---|
//! | reader → worker | `pipeline.queue_batches` batches of `pipeline.batch_packets` packets | replay: block; live: drop + count `queue_full` |
//! | worker → writer | 4 reports per worker | block (workers wait for the writer; in live capture that backs up into `queue_full` drops) |
//! | writer → spool | `[spool] max_bytes` | never blocks; spool drop policy (bulk before priority) |
//! | writer → worker (spent output buffers) | `RECYCLED_PER_WORKER` buffers of ≤ `RECYCLE_MAX_BYTES` | never blocks: a buffer that does not fit is freed |

use crate::batch::{Batch, Report};
use crate::config::Config;
use crate::dispatch::{DispatchCfg, Dispatcher, Policy};
use crate::source::RawPacket;
use crate::worker::{RECYCLED_PER_WORKER, Recycled, Worker};
use crate::writer::{self, EveSink, WriterCfg, WriterSummary};
use crossbeam_channel::{Receiver, Sender, bounded};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::thread::JoinHandle;

/// Bytes of packet data per batch buffer (at least one maximal packet).
pub const BATCH_BYTES: usize = 256 << 10;
/// Reports each worker may have queued for the writer.
pub const REPORTS_PER_WORKER: usize = 4;

/// A running pipeline: feed packets with [`Pipeline::push`], then
/// [`Pipeline::finish`].
#[derive(Debug)]
pub struct Pipeline {
    /// The dispatcher (reader side).
    pub dispatch: Dispatcher,
    workers: Vec<JoinHandle<u64>>,
    writer: Option<JoinHandle<WriterSummary>>,
}

/// How to start a pipeline.
#[derive(Debug)]
pub struct Start {
    /// Configuration.
    pub cfg: Arc<Config>,
    /// Worker count.
    pub workers: usize,
    /// Live capture (drop policy, no pcap_cnt, in_iface set).
    pub live: bool,
    /// Interface names (live).
    pub ifaces: Arc<[Arc<str>]>,
    /// EVE output.
    pub sink: EveSink,
    /// Forwarding.
    pub delivery: Option<centinela_forward::Delivery>,
    /// SIGHUP flag for the writer.
    pub hup: Arc<AtomicBool>,
}

impl Pipeline {
    /// Start the worker and writer threads.
    pub fn start(s: Start) -> std::io::Result<Self> {
        let n = s.workers.clamp(1, crate::config::MAX_WORKERS);
        let p = &s.cfg.pipeline;
        let max_packet = s.cfg.decode.max_packet_bytes as usize;
        let batch_bytes = BATCH_BYTES.max(max_packet);
        let pool_size = n * (p.queue_batches + 2);
        let (pool_tx, pool_rx) = bounded::<Batch>(pool_size);
        for _ in 0..pool_size {
            let _ = pool_tx.try_send(Batch::with_capacity(p.batch_packets, batch_bytes));
        }
        let (rep_tx, rep_rx) = bounded::<Report>(n * REPORTS_PER_WORKER);
        let mut senders = Vec::with_capacity(n);
        let mut workers = Vec::with_capacity(n);
        let mut recycle = Vec::with_capacity(n);
        for id in 0..n {
            let (tx, rx) = bounded::<Batch>(p.queue_batches);
            senders.push(tx);
            let mut worker = Worker::new(id, n, Arc::clone(&s.cfg), Arc::clone(&s.ifaces), s.live);
            let (back_tx, back_rx) = bounded::<Recycled>(RECYCLED_PER_WORKER);
            worker.recycle_from(back_rx);
            recycle.push(back_tx);
            let rep_tx = rep_tx.clone();
            let pool_tx = pool_tx.clone();
            let h = std::thread::Builder::new()
                .name(format!("centinela-w{id}"))
                .spawn(move || worker_loop(worker, &rx, &rep_tx, &pool_tx))?;
            workers.push(h);
        }
        drop(rep_tx);
        let wcfg = WriterCfg {
            workers: n,
            stats: s.cfg.stats.enabled,
            buffer_cap: p.writer_buffer_mib << 20,
            hup: Arc::clone(&s.hup),
            live: s.live,
            recycle,
        };
        let sink = s.sink;
        let delivery = s.delivery;
        let writer = std::thread::Builder::new().name("centinela-writer".into()).spawn(move || {
            let mut summary = writer::run(&rep_rx, sink, delivery, &wcfg);
            summary.writer_cpu_ns = thread_cpu_ns().unwrap_or(0);
            summary
        })?;
        let dcfg = DispatchCfg {
            batch_packets: p.batch_packets,
            batch_bytes,
            max_packet,
            mark_packets: p.mark_packets,
            stats_interval: if s.cfg.stats.enabled { i64::from(s.cfg.stats.interval_s) } else { 0 },
            policy: if s.live { Policy::Drop } else { Policy::Block },
        };
        Ok(Self { dispatch: Dispatcher::new(dcfg, senders, pool_rx), workers, writer: Some(writer) })
    }

    /// Dispatch one packet; false when the pipeline broke down.
    pub fn push(&mut self, p: RawPacket<'_>) -> bool {
        self.dispatch.push(p)
    }

    /// End of input: drain, flush, join. Returns the writer's summary.
    pub fn finish(mut self) -> WriterSummary {
        self.dispatch.finish();
        // Dropping the dispatcher's senders lets workers exit after the last mark.
        let Pipeline { dispatch, workers, writer } = &mut self;
        let _ = dispatch;
        let mut worker_cpu_ns = Vec::with_capacity(workers.len());
        for h in workers.drain(..) {
            match h.join() {
                Ok(ns) => worker_cpu_ns.push(ns),
                Err(_) => tracing::error!("a worker thread panicked"),
            }
        }
        match writer.take().map(JoinHandle::join) {
            Some(Ok(s)) => WriterSummary { worker_cpu_ns, ..s },
            _ => {
                tracing::error!("the writer thread panicked");
                WriterSummary::default()
            }
        }
    }
}

/// CPU time this thread has used so far, in nanoseconds (Linux
/// `/proc/thread-self/schedstat`); `None` where unavailable. For the replay
/// summary: CPU time per packet is the figure that holds on shared cores.
pub fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// A worker's loop; returns the CPU time the worker thread used (ns, 0 when unknown).
fn worker_loop(mut w: Worker, rx: &Receiver<Batch>, rep: &Sender<Report>, pool: &Sender<Batch>) -> u64 {
    worker_batches(&mut w, rx, rep, pool);
    thread_cpu_ns().unwrap_or(0)
}

fn worker_batches(w: &mut Worker, rx: &Receiver<Batch>, rep: &Sender<Report>, pool: &Sender<Batch>) {
    while let Ok(mut batch) = rx.recv() {
        let done = w.run_batch(&batch, &mut |r| {
            let _ = rep.send(r);
        });
        batch.clear();
        let _ = pool.try_send(batch);
        if done {
            break;
        }
    }
}
