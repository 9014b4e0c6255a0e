//! The event writer: one thread that merges the workers' reports, writes
//! EVE lines (file with size-based rotation, or stdout) and hands the same
//! bytes to `centinela_forward::Delivery` when forwarding is configured.
//!
//! Merge rule: reports are processed mark by mark. The records of one mark
//! from all workers are ordered by (packet sequence, phase) — a packet's
//! records come from the one worker that owns its flow, in the order that
//! worker produced them; records produced at the mark itself (timeouts,
//! detector ticks) are ordered by their bytes. So the output does not
//! depend on thread timing, nor (below the caps) on the number of workers,
//! and with one worker it is in packet order.
//!
//! Bound: the writer holds at most `pipeline.writer_buffer_mib` of reports
//! while waiting for a slow worker; past that (live capture only, since in
//! replay the reader blocks first) it writes what it has, out of order,
//! and counts `writer_forced`.

use crate::batch::{Rec, Report};
use crate::stats::{ReaderCounters, WorkerSnapshot, stats_json, sum_json};
use centinela_events::{Event, EventBody, Timestamp};
use crossbeam_channel::Receiver;
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Where EVE lines go.
#[derive(Debug)]
pub enum EveSink {
    /// Nowhere (forwarding only, or benchmarks).
    Null,
    /// Standard output (only EVE lines; logs go to stderr).
    Stdout(BufWriter<std::io::Stdout>),
    /// A file, rotated by size.
    File {
        /// Path.
        path: PathBuf,
        /// Open file.
        w: BufWriter<File>,
        /// Bytes written to the current file.
        size: u64,
        /// Rotate at this size (0 = never).
        rotate_bytes: u64,
        /// Rotated files kept.
        keep: u32,
    },
    /// In memory (tests, benchmarks).
    Memory(Vec<u8>),
}

fn open_append(path: &PathBuf) -> std::io::Result<File> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    OpenOptions::new().create(true).append(true).open(path)
}

impl EveSink {
    /// Open an EVE target: `-` is stdout, empty is nothing, else a file.
    pub fn open(target: &str, rotate_bytes: u64, keep: u32) -> std::io::Result<Self> {
        match target {
            "" => Ok(EveSink::Null),
            "-" => Ok(EveSink::Stdout(BufWriter::with_capacity(1 << 16, std::io::stdout()))),
            p => {
                let path = PathBuf::from(p);
                let f = open_append(&path)?;
                let meta = f.metadata()?;
                // Never rotate (rename) anything but a regular file (/dev/null, a FIFO).
                let rotate_bytes = if meta.file_type().is_file() { rotate_bytes } else { 0 };
                Ok(EveSink::File {
                    path,
                    w: BufWriter::with_capacity(1 << 16, f),
                    size: meta.len(),
                    rotate_bytes,
                    keep,
                })
            }
        }
    }

    fn write_line(&mut self, b: &[u8]) -> std::io::Result<()> {
        match self {
            EveSink::Null => Ok(()),
            EveSink::Stdout(w) => {
                w.write_all(b)?;
                w.write_all(b"\n")
            }
            EveSink::File { w, size, .. } => {
                w.write_all(b)?;
                w.write_all(b"\n")?;
                *size += b.len() as u64 + 1;
                Ok(())
            }
            EveSink::Memory(v) => {
                v.extend_from_slice(b);
                v.push(b'\n');
                Ok(())
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            EveSink::Stdout(w) => w.flush(),
            EveSink::File { w, .. } => w.flush(),
            _ => Ok(()),
        }
    }

    /// Reopen the file (SIGHUP, after an external rotation).
    pub fn reopen(&mut self) -> std::io::Result<()> {
        if let EveSink::File { path, w, size, .. } = self {
            w.flush()?;
            let f = open_append(path)?;
            *size = f.metadata().map(|m| m.len()).unwrap_or(0);
            *w = BufWriter::with_capacity(1 << 16, f);
        }
        Ok(())
    }

    fn maybe_rotate(&mut self) -> std::io::Result<()> {
        if let EveSink::File { path, w, size, rotate_bytes, keep } = self
            && *rotate_bytes > 0
            && *size >= *rotate_bytes
        {
            w.flush()?;
            let name = |k: u32| {
                let mut p = path.clone().into_os_string();
                p.push(format!(".{k}"));
                PathBuf::from(p)
            };
            if *keep == 0 {
                let f = OpenOptions::new().create(true).write(true).truncate(true).open(&*path)?;
                *w = BufWriter::with_capacity(1 << 16, f);
                *size = 0;
                return Ok(());
            }
            let _ = std::fs::remove_file(name(*keep));
            for k in (1..*keep).rev() {
                let _ = std::fs::rename(name(k), name(k + 1));
            }
            std::fs::rename(&*path, name(1))?;
            let f = open_append(path)?;
            *w = BufWriter::with_capacity(1 << 16, f);
            *size = 0;
        }
        Ok(())
    }
}

/// What the writer did.
#[derive(Debug, Default, Clone)]
pub struct WriterSummary {
    /// Records written.
    pub records: u64,
    /// Write errors (each logged once per kind).
    pub write_errors: u64,
    /// Times the buffer cap forced out-of-order writing.
    pub forced: u64,
    /// The in-memory output (for [`EveSink::Memory`]).
    pub memory: Vec<u8>,
    /// Final merged counters.
    pub last_snapshot: Option<WorkerSnapshot>,
    /// Final reader counters.
    pub last_reader: Option<ReaderCounters>,
    /// CPU time of each worker thread, ns (0 when unknown).
    pub worker_cpu_ns: Vec<u64>,
    /// CPU time of the writer thread, ns (0 when unknown).
    pub writer_cpu_ns: u64,
}

/// Writer settings.
#[derive(Debug)]
pub struct WriterCfg {
    /// Number of workers.
    pub workers: usize,
    /// Emit stats records.
    pub stats: bool,
    /// Buffer cap, bytes.
    pub buffer_cap: usize,
    /// SIGHUP flag.
    pub hup: Arc<AtomicBool>,
    /// Live capture: also report gauges that depend on the number of workers
    /// (per-instance memory overheads), which replay output leaves out to
    /// stay identical for any worker count.
    pub live: bool,
    /// Per worker: where spent report buffers go back (empty: freed).
    pub recycle: Vec<crossbeam_channel::Sender<crate::worker::Recycled>>,
}

/// Run the writer until every worker sent its last report.
pub fn run(
    rx: &Receiver<Report>,
    mut sink: EveSink,
    mut delivery: Option<centinela_forward::Delivery>,
    cfg: &WriterCfg,
) -> WriterSummary {
    let n = cfg.workers.max(1);
    let mut queues: Vec<VecDeque<Report>> = (0..n).map(|_| VecDeque::new()).collect();
    let mut done = vec![false; n];
    let mut latest: Vec<Option<Box<WorkerSnapshot>>> = (0..n).map(|_| None).collect();
    let mut held = 0usize;
    let mut sum = WriterSummary::default();
    let mut line = Vec::with_capacity(4096);
    loop {
        if done.iter().all(|d| *d) {
            break;
        }
        let Ok(r) = rx.recv() else { break };
        let w = r.worker.min(n - 1);
        held += r.buf.len() + r.recs.len() * std::mem::size_of::<Rec>();
        queues[w].push_back(r);
        loop {
            let ready = (0..n).all(|i| done[i] || !queues[i].is_empty());
            let any = queues.iter().any(|q| !q.is_empty());
            if !any || !(ready || held > cfg.buffer_cap) {
                break;
            }
            if !ready {
                sum.forced += 1;
            }
            let Some(e) = queues.iter().filter_map(|q| q.front().map(|r| r.mark)).min() else { break };
            let mut epoch: Vec<Report> = Vec::with_capacity(n);
            for (i, q) in queues.iter_mut().enumerate() {
                if q.front().is_some_and(|r| r.mark == e)
                    && let Some(r) = q.pop_front()
                {
                    held = held.saturating_sub(r.buf.len() + r.recs.len() * std::mem::size_of::<Rec>());
                    if r.last {
                        done[i] = true;
                    }
                    epoch.push(r);
                }
            }
            write_epoch(&epoch, &mut sink, &mut delivery, &mut sum);
            for r in &mut epoch {
                let buf = std::mem::take(&mut r.buf);
                if buf.capacity() <= crate::worker::RECYCLE_MAX_BYTES
                    && let Some(tx) = cfg.recycle.get(r.worker)
                {
                    // Full or gone: the buffer is simply freed.
                    let _ = tx.try_send((buf, std::mem::take(&mut r.recs)));
                }
            }
            // Stats: merge every worker's latest snapshot.
            let mut want_stats = false;
            let mut ts = Timestamp::default();
            let mut reader: Option<Arc<ReaderCounters>> = None;
            for r in &mut epoch {
                if let Some(s) = r.snapshot.take() {
                    want_stats = true;
                    latest[r.worker.min(n - 1)] = Some(s);
                }
                ts = r.ts;
                if r.reader.is_some() {
                    reader = r.reader.clone();
                }
            }
            if want_stats {
                let merged = merge(&latest);
                let rc = reader.as_deref().cloned().unwrap_or_default();
                // No packet at all (empty or unreadable input): nothing to report.
                if cfg.stats && rc.start.is_some() {
                    line.clear();
                    let uptime = rc.start.map_or(0, |s| ts.secs.saturating_sub(s.secs));
                    let extra = delivery.as_ref().map(|d| ("forward", d.stats()));
                    let mut body = stats_json(uptime, &merged, &rc, extra);
                    if !cfg.live
                        && let Some(d) = body.get_mut("detect").and_then(serde_json::Value::as_object_mut)
                    {
                        d.retain(|k, _| !k.starts_with("memory"));
                    }
                    let ev = Event {
                        timestamp: ts,
                        flow_id: None,
                        in_iface: None,
                        pcap_cnt: None,
                        src_ip: None,
                        src_port: None,
                        dest_ip: None,
                        dest_port: None,
                        proto: None,
                        app_proto: None,
                        vlan: Vec::new(),
                        community_id: None,
                        host: None,
                        body: EventBody::Stats { stats: body },
                    };
                    if serde_json::to_writer(&mut line, &ev).is_ok() {
                        put(&line, false, &mut sink, &mut delivery, &mut sum);
                    }
                }
                if let Some(d) = &delivery {
                    let drops = rc.drops.iter().map(|(k, v)| ((*k).to_string(), *v)).collect();
                    d.update_health(centinela_forward::HealthSnapshot { packets: rc.packets, drops });
                }
                sum.last_snapshot = Some(merged);
                sum.last_reader = Some(rc);
            }
            if let Some(d) = delivery.as_mut() {
                d.commit();
            }
            if let Err(e) = sink.flush().and_then(|()| sink.maybe_rotate()) {
                note_error(&mut sum, &e);
            }
            if cfg.hup.swap(false, Ordering::Relaxed)
                && let Err(e) = sink.reopen()
            {
                note_error(&mut sum, &e);
            }
        }
    }
    if let Err(e) = sink.flush() {
        note_error(&mut sum, &e);
    }
    if let Some(d) = delivery {
        d.shutdown(std::time::Duration::from_secs(5));
    }
    if let EveSink::Memory(v) = sink {
        sum.memory = v;
    }
    sum
}

fn note_error(sum: &mut WriterSummary, e: &std::io::Error) {
    if sum.write_errors == 0 {
        tracing::error!("EVE output: {e} (records are still forwarded when forwarding is configured)");
    }
    sum.write_errors += 1;
}

fn put(
    b: &[u8],
    priority: bool,
    sink: &mut EveSink,
    delivery: &mut Option<centinela_forward::Delivery>,
    sum: &mut WriterSummary,
) {
    if let Err(e) = sink.write_line(b) {
        note_error(sum, &e);
    }
    if let Some(d) = delivery.as_mut() {
        d.submit(priority, b);
    }
    sum.records += 1;
}

fn write_epoch(
    epoch: &[Report],
    sink: &mut EveSink,
    delivery: &mut Option<centinela_forward::Delivery>,
    sum: &mut WriterSummary,
) {
    let mut all: Vec<(usize, Rec)> = Vec::with_capacity(epoch.iter().map(|r| r.recs.len()).sum());
    for (i, r) in epoch.iter().enumerate() {
        all.extend(r.recs.iter().map(|x| (i, *x)));
    }
    all.sort_by(|(ia, a), (ib, b)| {
        (a.seq, a.phase).cmp(&(b.seq, b.phase)).then_with(|| {
            if a.phase == 0 {
                epoch[*ia].rec_bytes(a).cmp(epoch[*ib].rec_bytes(b))
            } else {
                std::cmp::Ordering::Equal
            }
        })
    });
    for (i, rec) in &all {
        put(epoch[*i].rec_bytes(rec), rec.priority, sink, delivery, sum);
    }
}

fn merge(latest: &[Option<Box<WorkerSnapshot>>]) -> WorkerSnapshot {
    let mut m = WorkerSnapshot::default();
    for s in latest.iter().flatten() {
        m.counters.merge(&s.counters);
        m.flows_active += s.flows_active;
        m.reassembly_memory += s.reassembly_memory;
        m.defrag_memory += s.defrag_memory;
        m.app.merge(&s.app);
        sum_json(&mut m.detect, &s.detect);
        m.detect_memory += s.detect_memory;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_by_size_and_keeps_n_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("eve.json");
        let mut s = EveSink::open(path.to_str().unwrap(), 100, 2).unwrap();
        for i in 0..10 {
            s.write_line(format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat(40)).as_bytes()).unwrap();
            s.maybe_rotate().unwrap();
        }
        s.flush().unwrap();
        assert!(path.with_extension("json.1").is_file());
        assert!(path.with_extension("json.2").is_file());
        assert!(!path.with_extension("json.3").exists());
        for p in [path.clone(), path.with_extension("json.1")] {
            let len = std::fs::metadata(&p).unwrap().len();
            assert!(len < 200, "{} is {len} bytes", p.display());
        }
        // SIGHUP after an external rename: the sink writes to a new file.
        std::fs::rename(&path, dir.path().join("moved.json")).unwrap();
        s.reopen().unwrap();
        s.write_line(b"{\"after\":1}").unwrap();
        s.flush().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"after\":1}\n");
    }

    #[test]
    fn non_regular_targets_are_never_rotated() {
        let mut s = EveSink::open("/dev/null", 1, 3).unwrap();
        s.write_line(b"{}").unwrap();
        s.maybe_rotate().unwrap();
        assert!(std::path::Path::new("/dev/null").exists());
        assert!(!std::path::Path::new("/dev/null.1").exists());
    }
}
