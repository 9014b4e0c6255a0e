//! The reader side of the pipeline: shard packets to workers in batches and
//! insert synchronisation marks.
//!
//! Backpressure policy (per source):
//! * [`Policy::Block`] (replay): when a worker queue is full the reader
//!   waits until the worker has taken half of it — nothing is lost, the
//!   replay runs at the speed of the slowest worker.
//! * [`Policy::Drop`] (live capture): the reader never blocks; a packet for
//!   a worker whose queue and pending batch are full is dropped and counted
//!   (`drops.queue_full`). Marks are never dropped: they are folded into the
//!   worker's pending batch (or owed to its next one).

use crate::batch::{Batch, Entry, Mark, PktMeta};
use crate::decode;
use crate::flow::FlowKey;
use crate::mmap::MappedFile;
use crate::source::RawPacket;
use crate::stats::ReaderCounters;
use centinela_events::Timestamp;
use crossbeam_channel::{Receiver, Sender, TrySendError};
use std::sync::Arc;

/// How often a replay reader waiting for a full queue looks at it again.
const DRAIN_POLL: std::time::Duration = std::time::Duration::from_micros(50);

/// What the reader does when a worker queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Wait (replay).
    Block,
    /// Drop the packet and count it (live capture).
    Drop,
}

/// Dispatcher settings.
#[derive(Debug, Clone, Copy)]
pub struct DispatchCfg {
    /// Packets per batch.
    pub batch_packets: usize,
    /// Bytes per batch.
    pub batch_bytes: usize,
    /// Packets are cut to this length.
    pub max_packet: usize,
    /// A mark every this many packets.
    pub mark_packets: u64,
    /// Seconds of packet time between stats marks (0 = no stats).
    pub stats_interval: i64,
    /// Policy.
    pub policy: Policy,
}

/// Shards packets to workers.
#[derive(Debug)]
pub struct Dispatcher {
    cfg: DispatchCfg,
    senders: Vec<Sender<Batch>>,
    pool: Receiver<Batch>,
    pending: Vec<Option<Batch>>,
    owed: Vec<Option<Mark>>,
    seq: u64,
    mark_id: u64,
    since_mark: u64,
    last_tick: Option<i64>,
    next_stats: i64,
    max_ts: Timestamp,
    /// The mapped file packets are read from, if any: packets inside it are
    /// passed by offset instead of copied.
    map: Option<Arc<MappedFile>>,
    /// Reader counters.
    pub counters: ReaderCounters,
    /// A worker hung up (it panicked or stopped).
    pub disconnected: bool,
}

impl Dispatcher {
    /// A dispatcher over these worker queues and batch pool.
    pub fn new(cfg: DispatchCfg, senders: Vec<Sender<Batch>>, pool: Receiver<Batch>) -> Self {
        let n = senders.len();
        Self {
            cfg,
            senders,
            pool,
            pending: (0..n).map(|_| None).collect(),
            owed: (0..n).map(|_| None).collect(),
            seq: 0,
            mark_id: 0,
            since_mark: 0,
            last_tick: None,
            next_stats: i64::MAX,
            max_ts: Timestamp::default(),
            map: None,
            counters: ReaderCounters::default(),
            disconnected: false,
        }
    }

    /// Packets dispatched so far.
    pub fn packets(&self) -> u64 {
        self.seq
    }

    /// The mapped file the next packets come from (`None`: copy every
    /// packet). Batches hold one file at most, so pending batches are sent
    /// first.
    pub fn set_map(&mut self, map: Option<Arc<MappedFile>>) {
        for w in 0..self.pending.len() {
            if self.pending[w].as_ref().is_some_and(|b| b.map.is_some()) {
                self.flush(w, true);
            }
        }
        self.map = map;
    }

    /// Latest packet time.
    pub fn now(&self) -> Timestamp {
        self.max_ts
    }

    fn acquire(&mut self, w: usize, force_block: bool) -> bool {
        if self.pending[w].is_none() {
            let got = if self.cfg.policy == Policy::Block || force_block {
                self.pool.recv().ok()
            } else {
                self.pool.try_recv().ok()
            };
            let Some(mut b) = got else { return false };
            b.clear();
            if let Some(m) = self.owed[w].take() {
                b.push_mark(m);
            }
            self.pending[w] = Some(b);
        }
        true
    }

    fn flush(&mut self, w: usize, force_block: bool) {
        let Some(b) = self.pending[w].take() else { return };
        if self.cfg.policy == Policy::Block {
            self.send_when_drained(w, b);
            return;
        }
        if force_block {
            if self.senders[w].send(b).is_err() {
                self.disconnected = true;
            }
            return;
        }
        match self.senders[w].try_send(b) {
            Ok(()) => {}
            Err(TrySendError::Full(b)) => self.pending[w] = Some(b),
            Err(TrySendError::Disconnected(_)) => self.disconnected = true,
        }
    }

    /// Replay's blocking send, with hysteresis: when the worker's queue is
    /// full, wait until it has taken half of it, then go on. A reader
    /// blocked inside `send` is woken by the worker after every single batch
    /// the worker takes (a futex wake on the worker's time, and a context
    /// switch each way, per batch); polling the queue length costs the
    /// worker nothing and still keeps half a queue ahead of it. The wait
    /// uses the wall clock for pacing only: what is sent, and in which
    /// order, does not change.
    fn send_when_drained(&mut self, w: usize, mut b: Batch) {
        let tx = &self.senders[w];
        let low = tx.capacity().unwrap_or(0) / 2;
        loop {
            match tx.try_send(b) {
                Ok(()) => return,
                Err(TrySendError::Disconnected(_)) => {
                    self.disconnected = true;
                    return;
                }
                Err(TrySendError::Full(back)) => b = back,
            }
            // A worker that hung up empties its queue (crossbeam discards
            // the messages of a channel without receivers), so this ends.
            while tx.len() > low {
                std::thread::sleep(DRAIN_POLL);
            }
        }
    }

    fn drop_packet(&mut self) {
        *self.counters.drops.entry("queue_full").or_default() += 1;
    }

    /// Dispatch one packet. Returns false when the workers are gone.
    pub fn push(&mut self, p: RawPacket<'_>) -> bool {
        if self.disconnected {
            return false;
        }
        // A new second of packet time: tick (and maybe stats) before it.
        match self.last_tick {
            None => {
                self.last_tick = Some(p.ts.secs);
                self.counters.start = Some(p.ts);
                self.next_stats = if self.cfg.stats_interval > 0 {
                    p.ts.secs.saturating_add(self.cfg.stats_interval)
                } else {
                    i64::MAX
                };
            }
            Some(t) if p.ts.secs > t => {
                self.last_tick = Some(p.ts.secs);
                let stats = p.ts.secs >= self.next_stats;
                if stats {
                    while self.next_stats <= p.ts.secs {
                        self.next_stats = self.next_stats.saturating_add(self.cfg.stats_interval.max(1));
                    }
                }
                self.mark(Timestamp::new(p.ts.secs, 0), true, stats, false);
            }
            _ => {}
        }
        if self.since_mark >= self.cfg.mark_packets {
            self.mark(self.max_ts, false, false, false);
        }
        if p.ts > self.max_ts {
            self.max_ts = p.ts;
        }
        self.seq += 1;
        self.since_mark += 1;
        self.counters.packets += 1;
        self.counters.bytes += u64::from(p.orig_len);
        let n = self.senders.len();
        let w = if n == 1 {
            0
        } else {
            match decode::shard_key(p.linktype, p.data) {
                Some((a, b, vlan)) => FlowKey::shard(a, b, vlan, n),
                None => 0,
            }
        };
        let data = if p.data.len() > self.cfg.max_packet {
            self.counters.truncated += 1;
            &p.data[..self.cfg.max_packet]
        } else {
            p.data
        };
        // Inside the mapped file: passed by offset, takes no batch bytes.
        let mapped = self.map.as_deref().and_then(|m| m.offset_of(data));
        let bytes = if mapped.is_some() { 0 } else { data.len() };
        // Make room in the worker's batch.
        if let Some(b) = &self.pending[w]
            && (b.packets >= self.cfg.batch_packets || b.data.len() + bytes > self.cfg.batch_bytes)
        {
            self.flush(w, false);
        }
        if !self.acquire(w, false) {
            self.drop_packet();
            return !self.disconnected;
        }
        let Some(b) = self.pending[w].as_mut() else { return false };
        if b.packets >= self.cfg.batch_packets || b.data.len() + bytes > self.cfg.batch_bytes {
            // Live capture with the queue still full.
            self.drop_packet();
            return true;
        }
        let off = match mapped {
            Some(off) => {
                if b.map.is_none() {
                    b.map.clone_from(&self.map);
                }
                off as u64
            }
            None => {
                let off = b.data.len() as u64;
                b.data.extend_from_slice(data);
                off
            }
        };
        b.entries.push(Entry::Pkt(PktMeta {
            off,
            len: data.len() as u32,
            orig_len: p.orig_len,
            ts: p.ts,
            seq: self.seq,
            linktype: p.linktype,
            iface: p.iface,
            mapped: mapped.is_some(),
        }));
        b.packets += 1;
        !self.disconnected
    }

    /// Insert a mark into every worker's stream and flush the batches.
    pub fn mark(&mut self, ts: Timestamp, tick: bool, stats: bool, last: bool) {
        self.mark_id += 1;
        self.since_mark = 0;
        let reader = stats.then(|| {
            let mut c = self.counters.clone();
            c.queue_depths =
                (self.cfg.policy == Policy::Drop).then(|| self.senders.iter().map(Sender::len).collect());
            Arc::new(c)
        });
        let reader = if last {
            let mut c = self.counters.clone();
            c.queue_depths = None;
            Some(Arc::new(c))
        } else {
            reader
        };
        for w in 0..self.senders.len() {
            let m = Mark { id: self.mark_id, seq: self.seq + 1, ts, tick, stats: reader.clone(), last };
            if self.acquire(w, last) {
                if let Some(b) = self.pending[w].as_mut() {
                    b.push_mark(m);
                }
            } else {
                match &mut self.owed[w] {
                    Some(o) => {
                        let stats = m.stats.clone().or(o.stats.take());
                        *o = Mark { tick: o.tick || m.tick, stats, ..m };
                    }
                    slot @ None => *slot = Some(m),
                }
            }
            self.flush(w, last);
        }
    }

    /// A tick from the wall clock while a live source is idle (so flows
    /// time out on a quiet link). Ignored unless a new second began.
    pub fn idle_tick(&mut self, now: Timestamp) {
        if let Some(t) = self.last_tick
            && now.secs > t
        {
            self.last_tick = Some(now.secs);
            if now > self.max_ts {
                self.max_ts = Timestamp::new(now.secs, 0);
            }
            let stats = now.secs >= self.next_stats;
            if stats {
                while self.next_stats <= now.secs {
                    self.next_stats = self.next_stats.saturating_add(self.cfg.stats_interval.max(1));
                }
            }
            self.mark(Timestamp::new(now.secs, 0), true, stats, false);
        }
    }

    /// End of input: the last mark (blocking until every worker got it).
    pub fn finish(&mut self) {
        let ts = self.max_ts;
        self.mark(ts, true, true, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbeam_channel::unbounded;
    use std::io::Write;

    fn pkt(data: &[u8], usec: u32) -> RawPacket<'_> {
        RawPacket {
            ts: Timestamp::from_micros(1_700_000_000, usec),
            linktype: 1,
            data,
            orig_len: data.len() as u32,
            iface: 0,
        }
    }

    fn mapped(bytes: &[u8]) -> Arc<MappedFile> {
        let mut f = tempfile::NamedTempFile::new().expect("tempfile");
        f.write_all(bytes).expect("write");
        Arc::new(MappedFile::new(f.as_file()).expect("map"))
    }

    /// The packets of every batch sent, as (mapped, bytes).
    fn sent(rx: &Receiver<Batch>) -> Vec<(bool, Vec<u8>)> {
        let mut out = Vec::new();
        while let Ok(b) = rx.try_recv() {
            for e in &b.entries {
                if let Entry::Pkt(m) = e {
                    out.push((m.mapped, b.bytes(m).to_vec()));
                }
            }
        }
        out
    }

    #[test]
    fn packets_inside_the_mapped_file_are_passed_by_offset_and_others_copied() {
        let file: Vec<u8> = (0..4000u32).map(|i| (i % 253) as u8).collect();
        let map = mapped(&file);
        let cfg = DispatchCfg {
            batch_packets: 4,
            batch_bytes: 1000,
            max_packet: 300,
            mark_packets: 1 << 20,
            stats_interval: 0,
            policy: Policy::Block,
        };
        let (tx, rx) = unbounded();
        let (pool_tx, pool_rx) = unbounded();
        for _ in 0..64 {
            pool_tx.send(Batch::with_capacity(4, 1000)).expect("pool");
        }
        let mut d = Dispatcher::new(cfg, vec![tx], pool_rx);
        d.set_map(Some(Arc::clone(&map)));
        let m = map.bytes();
        let outside = vec![9u8; 50];
        assert!(d.push(pkt(&m[10..70], 1)));
        assert!(d.push(pkt(&outside, 2)));
        // Longer than max_packet: cut, still by offset.
        assert!(d.push(pkt(&m[100..900], 3)));
        // The map's last bytes.
        assert!(d.push(pkt(&m[m.len() - 20..], 4)));
        for i in 0..8 {
            assert!(d.push(pkt(&m[1000 + i * 100..1100 + i * 100], 5 + i as u32)));
        }
        // A new file: pending batches holding the old map are sent first.
        d.set_map(None);
        assert!(d.push(pkt(&m[3000..3010], 20)));
        d.finish();
        let got = sent(&rx);
        let mut want = vec![
            (true, m[10..70].to_vec()),
            (false, outside.clone()),
            (true, m[100..400].to_vec()),
            (true, m[m.len() - 20..].to_vec()),
        ];
        want.extend((0..8).map(|i| (true, m[1000 + i * 100..1100 + i * 100].to_vec())));
        want.push((false, m[3000..3010].to_vec()));
        assert_eq!(got, want);
        // Batches hold the map only while they live: with all of them gone,
        // the test's handle is the last.
        drop(d);
        assert_eq!(Arc::strong_count(&map), 1);
    }
}
