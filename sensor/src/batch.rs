//! What crosses the channels: packet batches (reader → worker) and event
//! reports (worker → writer).
//!
//! A [`Batch`] holds a list of [`Entry`]s: packets and [`Mark`]s. A packet
//! is an offset either into the batch's own byte buffer, into which the
//! reader copied it (live capture, compressed or streamed files), or into
//! the memory-mapped capture file the batch shares with the reader (replay
//! of plain files: no copy at all, and bytes no one looks at, such as the
//! payload of a bypassed flow, are never read). Batches are allocated once
//! and recycled through a pool channel, so the steady state allocates
//! nothing per packet.
//!
//! Marks are the synchronisation points that make the output deterministic:
//! the reader puts the same mark, at the same position of the packet
//! sequence, into every worker's stream (every second of packet time — a
//! *tick*, when timeouts run — and every `pipeline.mark_packets` packets).
//! At a mark a worker sends a [`Report`] with the records it produced since
//! the previous one; the writer merges the reports of one mark from all
//! workers in a fixed order before writing.

use crate::mmap::MappedFile;
use crate::stats::{ReaderCounters, WorkerSnapshot};
use centinela_events::Timestamp;
use std::sync::Arc;

/// One captured packet inside a batch.
#[derive(Debug, Clone, Copy)]
pub struct PktMeta {
    /// Offset of the bytes in [`Batch::data`], or in [`Batch::map`] when
    /// `mapped`.
    pub off: u64,
    /// Captured length.
    pub len: u32,
    /// Original length on the wire.
    pub orig_len: u32,
    /// Packet time.
    pub ts: Timestamp,
    /// Packet sequence number (1-based; `pcap_cnt` in replay).
    pub seq: u64,
    /// Link type.
    pub linktype: i32,
    /// Interface index (live capture), into the interface name table.
    pub iface: u16,
    /// The bytes are in the mapped file, not in the batch's buffer.
    pub mapped: bool,
}

/// A synchronisation mark.
#[derive(Debug, Clone)]
pub struct Mark {
    /// Mark number (increasing from 1).
    pub id: u64,
    /// Sequence number of the next packet (records produced at the mark
    /// sort before that packet's records).
    pub seq: u64,
    /// Packet time of the mark.
    pub ts: Timestamp,
    /// Run timeouts (a new second of packet time began).
    pub tick: bool,
    /// Report counters for a `stats` record.
    pub stats: Option<Arc<ReaderCounters>>,
    /// End of input: flush everything and stop.
    pub last: bool,
}

/// A batch entry.
#[derive(Debug, Clone)]
pub enum Entry {
    /// A packet.
    Pkt(PktMeta),
    /// A mark.
    Mark(Mark),
}

/// A batch of packets and marks for one worker.
#[derive(Debug, Default)]
pub struct Batch {
    /// Packet bytes copied in.
    pub data: Vec<u8>,
    /// The mapped capture file that `mapped` packets point into.
    pub map: Option<Arc<MappedFile>>,
    /// Entries in order.
    pub entries: Vec<Entry>,
    /// Packets among the entries.
    pub packets: usize,
}

impl Batch {
    /// A batch with room for `packets` packets and `bytes` bytes.
    pub fn with_capacity(packets: usize, bytes: usize) -> Self {
        Self {
            data: Vec::with_capacity(bytes),
            map: None,
            entries: Vec::with_capacity(packets + 2),
            packets: 0,
        }
    }

    /// Empty it for reuse (keeps the allocations; lets go of the mapped
    /// file, which is unmapped once no batch and not the reader holds it).
    pub fn clear(&mut self) {
        self.data.clear();
        self.map = None;
        self.entries.clear();
        self.packets = 0;
    }

    /// The bytes of a packet.
    pub fn bytes(&self, m: &PktMeta) -> &[u8] {
        self.sources().bytes(m)
    }

    /// Where this batch's packets are, resolved once for a loop over them.
    #[inline]
    pub fn sources(&self) -> Sources<'_> {
        Sources { copied: &self.data, mapped: self.map.as_deref().map_or(&[], MappedFile::bytes) }
    }

    /// Append a mark, folding it into a trailing mark (live capture may
    /// coalesce marks while a queue is full; the newest id wins).
    pub fn push_mark(&mut self, m: Mark) {
        if let Some(Entry::Mark(last)) = self.entries.last_mut() {
            let stats = m.stats.or(last.stats.take());
            *last = Mark { tick: last.tick || m.tick, stats, ..m };
            return;
        }
        self.entries.push(Entry::Mark(m));
    }
}

/// A batch's two byte sources: its own buffer and the mapped file.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    copied: &'a [u8],
    mapped: &'a [u8],
}

impl<'a> Sources<'a> {
    /// The bytes of a packet.
    #[inline]
    pub fn bytes(self, m: &PktMeta) -> &'a [u8] {
        let src = if m.mapped { self.mapped } else { self.copied };
        let s = usize::try_from(m.off).unwrap_or(usize::MAX);
        src.get(s..s.saturating_add(m.len as usize)).unwrap_or(&[])
    }

    /// Start loading the first bytes of the packet `ahead` entries after
    /// entry `i` of `entries` into the cache (see [`prefetch`]); nothing
    /// when there is no such packet.
    #[inline]
    pub fn prefetch_ahead(self, entries: &[Entry], i: usize, ahead: usize) {
        if let Some(Entry::Pkt(m)) = entries.get(i + ahead) {
            prefetch(self.bytes(m));
        }
    }
}

/// One serialized record in a [`Report`].
#[derive(Debug, Clone, Copy)]
pub struct Rec {
    /// Packet sequence number the record sorts at.
    pub seq: u64,
    /// 0: produced at a mark (before packet `seq`); 1: produced by packet `seq`.
    pub phase: u8,
    /// Spool priority (alerts, anomalies).
    pub priority: bool,
    /// Byte range in [`Report::buf`].
    pub start: u32,
    /// Length.
    pub len: u32,
}

/// What a worker sends at a mark.
#[derive(Debug, Default)]
pub struct Report {
    /// Worker index.
    pub worker: usize,
    /// The mark this report ends at.
    pub mark: u64,
    /// Packet time of the mark.
    pub ts: Timestamp,
    /// Serialized records (JSON objects, back to back).
    pub buf: Vec<u8>,
    /// The records.
    pub recs: Vec<Rec>,
    /// Counters, when the mark asked for stats (or at the end).
    pub snapshot: Option<Box<WorkerSnapshot>>,
    /// Reader counters carried by the mark.
    pub reader: Option<Arc<ReaderCounters>>,
    /// Last report of this worker.
    pub last: bool,
}

impl Report {
    /// The bytes of a record.
    pub fn rec_bytes(&self, r: &Rec) -> &[u8] {
        let s = r.start as usize;
        self.buf.get(s..s + r.len as usize).unwrap_or(&[])
    }
}

/// Packets ahead of the one being processed whose first bytes a worker asks
/// the CPU to fetch (the first read of a packet's headers was the costliest
/// load of the worker: the reader wrote the batch on another core).
pub const PREFETCH_AHEAD: usize = 8;

/// Ask the CPU to start loading the first two cache lines of `bytes` (the
/// L2–L4 headers and the start of the payload), so that decoding them later
/// does not wait for memory. A hint only: no effect on the program's
/// results.
#[inline(always)]
pub fn prefetch(bytes: &[u8]) {
    let p = bytes.as_ptr();
    hint(p);
    if bytes.len() > 64 {
        hint(p.wrapping_add(64));
    }
}

/// Ask the CPU to start loading the cache line holding `bytes[0]`. A hint
/// only, as [`prefetch`].
#[inline(always)]
pub fn prefetch_line(bytes: &[u8]) {
    hint(bytes.as_ptr());
}

/// Ask the CPU to start loading every cache line of `x` (a structure about
/// to be used whose memory is likely cold). A hint only, as [`prefetch`].
#[inline(always)]
pub fn prefetch_value<T: ?Sized>(x: &T) {
    let p = std::ptr::from_ref(x).cast::<u8>();
    let n = std::mem::size_of_val(x);
    let mut off = 0;
    while off < n {
        hint(p.wrapping_add(off));
        off += 64;
    }
    // The last line, when `x` does not start on a line boundary.
    if n > 0 {
        hint(p.wrapping_add(n - 1));
    }
}

/// Ask the CPU to start loading the heap block holding `bytes`, with the 16
/// bytes before it (an `Arc`'s counts, the allocator's chunk header: what
/// dropping it touches first). A hint only, as [`prefetch`].
#[inline(always)]
pub fn prefetch_block(bytes: &[u8]) {
    let p = bytes.as_ptr();
    hint(p.wrapping_sub(16));
    hint(p.wrapping_add(bytes.len().saturating_sub(1)));
}

/// The prefetch instruction on the cache line holding `p`.
#[inline(always)]
fn hint(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        #[allow(unsafe_code)]
        // SAFETY: PREFETCHT0 is a hint: it never faults, whatever the
        // address (callers pass addresses inside or next to live objects,
        // formed with `wrapping_*` arithmetic, never dereferenced), and it
        // changes no architectural state (no register, no memory). SSE
        // (which provides the instruction) is part of the x86_64 baseline.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
