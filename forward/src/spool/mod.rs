//! The on-disk spool: every record the sensor emits is appended here before
//! anything else happens to it; the forwarder reads it in order and the
//! acknowledged position advances only on the collector's 2xx.
//!
//! # On-disk format (version 1)
//!
//! A spool is one directory:
//!
//! ```text
//! <dir>/seg-<id:016x>.log     segment files, ids strictly increasing (1, 2, …)
//! <dir>/ledger                the ledger (256 bytes: two slots updated alternately in place)
//! <dir>/ledger.tmp            transient, while the ledger file is created or upgraded
//! <dir>/deadletter/           batches the collector refused permanently (see the forwarder)
//! ```
//!
//! **Segment** = a 16-byte header followed by records, all integers little-endian:
//!
//! ```text
//! segment header:  magic "CNTLSPL1" (8 bytes) | segment id (u64)
//! record:          len (u32) | crc32c (u32) | class (u8) | written_ms (u64) | payload (len bytes)
//! ```
//!
//! `len` is the payload length (at most [`MAX_RECORD_BYTES`]); `crc32c` (Castagnoli)
//! covers `class`, `written_ms` and the payload; `class` is 0 for bulk records
//! (protocol, flow, stats) and 1 for priority records (alerts, anomalies,
//! heartbeats); `written_ms` is the wall-clock time of the append (it only feeds
//! the "oldest unacknowledged age" health figure). The payload is one EVE JSON
//! object without a trailing newline. A segment is closed (sealed) when the next
//! record would push it past `segment_bytes`; a record larger than a whole
//! segment still gets a segment of its own.
//!
//! **Ledger** (version 2) = a 256-byte file of two 128-byte slots, each
//! holding one checksummed record; an update overwrites the older slot in
//! place with the next generation and `fdatasync`s (see `ledger.rs`: either the
//! old or the new version survives a crash, never a mix; one data-block flush
//! per update, no rename):
//!
//! ```text
//! slot (at 0 and 128):  magic "CNTLLDG2" (8) | generation (u64)
//! | ack_seg | ack_off | next_seq | inflight (0/1) | inflight_seq
//! | inflight_end_seg | inflight_end_off | inflight_count | acked_total   (9 × u64)
//! | crc32c of all preceding bytes of the slot (u32) | zero padding
//! ```
//!
//! The valid slot with the highest generation is the ledger. The file is
//! created (and a version-1 ledger, one 84-byte record with magic `CNTLLDG1`
//! replaced by rename, is upgraded) by writing `ledger.tmp`, fsync, rename over
//! `ledger`, fsync of the directory.
//!
//! `ack` is the position (segment, byte offset) before which every record was
//! acknowledged. The writer position is *not* in the ledger: it is recovered by
//! scanning the segments. The batch in flight (`inflight_*`) is written
//! *before* the batch is first sent: a batch always starts at `ack`, so
//! after a crash the forwarder resends exactly the same records under the same
//! sequence number, and the collector's `(sensor, seq)` dedupe turns a resend of
//! an already committed batch into a no-op (exactly once across restarts).
//! `next_seq` of a new spool starts at the wall-clock time in microseconds (so a
//! sensor whose spool is wiped never reuses a sequence number the collector has
//! already seen) and then increases by one per batch.
//!
//! # Invariants
//! - A segment file is deleted only when the ack position is past its end (every
//!   record in it acknowledged or dead-lettered).
//! - The forwarder only sees records up to the *committed* position, which
//!   [`Spool::commit`] advances after the fsync that the policy asks for
//!   ([`FsyncPolicy::Batch`] by default: durable before offered for sending).
//! - Recovery: each segment is scanned from its header; the first record whose
//!   header is impossible, whose length runs past the end of the file, or whose
//!   CRC does not match ends the valid part. In the last segment that is a torn
//!   tail (a crash mid-append): the file is truncated there, and the bytes and
//!   the event are counted (`torn_tail_bytes`, `torn_tails`). In an earlier
//!   segment the rest is unreadable corruption: skipped, counted
//!   (`corrupt_bytes`), and the reader continues with the next segment.
//!
//! # When the spool is full
//! Total size (segment bytes on disk) is capped at `max_bytes`. Bulk records are
//! accepted only while the spool holds less than `max_bytes × (1 −
//! priority_reserve)`; priority records may use the reserve up to `max_bytes`.
//! Beyond that the *new* record is dropped (never an unacknowledged old one) and
//! counted by class and by `event_type`. The first drop of an episode appends
//! one self-alert (gid 3, signature 3000001, priority, so it lands in the
//! reserve); the episode ends when usage falls below 90 % of the bulk limit.

mod ledger;
mod record;

pub use ledger::{Inflight, Pos};
pub use record::{Class, MAX_RECORD_BYTES};

use ledger::{Ledger, LedgerFile, Loaded};
use record::{RECORD_HEADER, SEGMENT_HEADER};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Most distinct `event_type` names tracked in the drop counters; others count as `other`.
const MAX_DROP_TYPES: usize = 32;
/// Write buffer of the active segment.
const WRITE_BUFFER: usize = 256 * 1024;
/// Bytes the reader fetches with one `pread`; records are parsed out of this
/// window, and a record crossing its end starts the next window (sized to hold
/// it: at most [`MAX_RECORD_BYTES`] + header).
const READ_CHUNK: usize = 1 << 20;

/// When the spool calls fsync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FsyncPolicy {
    /// At every [`Spool::commit`] (the writer's batch end), before the records are
    /// offered to the forwarder. Default.
    #[default]
    Batch,
    /// After every record (slow; for tiny event rates on fragile storage).
    Always,
    /// Never: rely on the OS page cache (a power loss may lose the last seconds).
    Never,
}

/// Parameters of a spool (from `[spool]`).
#[derive(Debug, Clone)]
pub struct SpoolOptions {
    /// Directory holding the segments and the ledger.
    pub dir: PathBuf,
    /// Cap on the segment bytes on disk.
    pub max_bytes: u64,
    /// Target size of one segment file.
    pub segment_bytes: u64,
    /// Fraction of `max_bytes` reserved for priority records (0.0 ..= 0.9).
    pub priority_reserve: f64,
    /// fsync policy.
    pub fsync: FsyncPolicy,
    /// Sensor id, written in the `host` field of self-alerts.
    pub sensor_id: String,
}

/// Counters of one spool (exported in stats and heartbeats).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SpoolStats {
    /// Records appended.
    pub appended: u64,
    /// Payload bytes appended.
    pub appended_bytes: u64,
    /// Bulk records dropped because the spool was full.
    pub dropped_bulk: u64,
    /// Priority records dropped because even the reserve was full.
    pub dropped_priority: u64,
    /// Records dropped because they exceed [`MAX_RECORD_BYTES`].
    pub dropped_oversized: u64,
    /// Records dropped on an I/O error while appending.
    pub dropped_io_error: u64,
    /// Drops by `event_type`.
    pub dropped_by_type: BTreeMap<String, u64>,
    /// Spool-full episodes (one self-alert each).
    pub full_episodes: u64,
    /// Torn tails found at recovery.
    pub torn_tails: u64,
    /// Bytes cut off by torn-tail recovery.
    pub torn_tail_bytes: u64,
    /// Corrupt records found while reading (the rest of their segment is skipped).
    pub corrupt_records: u64,
    /// Bytes skipped as corrupt (at recovery or while reading).
    pub corrupt_bytes: u64,
    /// Segment files deleted after full acknowledgement.
    pub segments_deleted: u64,
    /// fsync calls on segments.
    pub fsyncs: u64,
}

/// What happened to an appended record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Append {
    /// Written (visible to the forwarder after the next commit).
    Stored,
    /// Dropped and counted (spool full, oversized, I/O error).
    Dropped,
}

/// One record read back from the spool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its class.
    pub class: Class,
    /// Wall-clock ms of the append.
    pub written_ms: u64,
    /// The EVE JSON object.
    pub payload: Vec<u8>,
}

/// The result of a read: records and the position just after the last one.
#[derive(Debug, Default)]
pub struct ReadBatch {
    /// Records in spool order.
    pub records: Vec<Record>,
    /// Payload bytes in `records`.
    pub bytes: usize,
    /// Position after the last record read (or where reading stopped).
    pub end: Pos,
}

#[derive(Debug, Clone, Copy)]
struct SegInfo {
    /// Valid length (bytes) of the file.
    len: u64,
}

/// A durable, bounded, segment-based record queue with an acknowledged position.
#[derive(Debug)]
pub struct Spool {
    opts: SpoolOptions,
    segments: BTreeMap<u64, SegInfo>,
    writer: BufWriter<File>,
    writer_id: u64,
    writer_off: u64,
    committed: Pos,
    ledger: Ledger,
    ledger_file: LedgerFile,
    disk_bytes: u64,
    pending_records: u64,
    committed_records: u64,
    oldest_unacked_ms: Option<u64>,
    full_episode: bool,
    stats: SpoolStats,
    reader: Option<(u64, File)>,
    /// Read window: bytes `[rbuf_at.off, rbuf_at.off + rbuf.len())` of segment
    /// `rbuf_at.seg`, all committed (committed bytes never change).
    rbuf: Vec<u8>,
    rbuf_at: Pos,
}

fn seg_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("seg-{id:016x}.log"))
}

fn parse_seg_name(name: &str) -> Option<u64> {
    let hex = name.strip_prefix("seg-")?.strip_suffix(".log")?;
    if hex.len() != 16 {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

/// Result of scanning one segment file.
struct Scan {
    valid_end: u64,
    file_len: u64,
    /// Start offsets of the valid records (for counting records after a position).
    starts: Vec<u64>,
    first_ms_after: Option<u64>,
}

fn scan_segment(path: &Path, id: u64, count_from: u64) -> io::Result<Scan> {
    let mut f = File::open(path)?;
    let file_len = f.metadata()?.len();
    let mut data = Vec::new();
    f.read_to_end(&mut data)?;
    let mut scan = Scan { valid_end: 0, file_len, starts: Vec::new(), first_ms_after: None };
    match data.get(..SEGMENT_HEADER as usize).and_then(record::parse_segment_header) {
        Some(h) if h == id => {}
        _ => return Ok(scan),
    }
    let mut off = SEGMENT_HEADER as usize;
    while let Some(raw) = data.get(off..off.saturating_add(RECORD_HEADER)) {
        let Some(hdr) = record::parse_record_header(raw) else { break };
        let pstart = off + RECORD_HEADER;
        let Some(payload) = data.get(pstart..pstart.saturating_add(hdr.len)) else { break };
        if !record::crc_ok(raw, &hdr, payload) {
            break;
        }
        if off as u64 >= count_from {
            scan.starts.push(off as u64);
            if scan.first_ms_after.is_none() {
                scan.first_ms_after = Some(hdr.written_ms);
            }
        }
        off = pstart + hdr.len;
    }
    scan.valid_end = off as u64;
    Ok(scan)
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Finds `"event_type":"<name>"` in a serialized record without parsing it.
pub(crate) fn event_type_of(json: &[u8]) -> &str {
    const KEY: &[u8] = b"\"event_type\":\"";
    let Some(i) = json.windows(KEY.len()).position(|w| w == KEY) else { return "unknown" };
    let rest = json.get(i + KEY.len()..).unwrap_or_default();
    let end = rest.iter().position(|&b| b == b'"').unwrap_or(0);
    std::str::from_utf8(rest.get(..end).unwrap_or_default()).unwrap_or("unknown")
}

impl Spool {
    /// Opens the spool in `opts.dir` (created if missing), recovering from a crash:
    /// torn tails are truncated and counted, fully acknowledged segments deleted.
    pub fn open(opts: SpoolOptions) -> io::Result<Spool> {
        fs::create_dir_all(&opts.dir)?;
        let dir = opts.dir.clone();
        let loaded = LedgerFile::load(&dir)?;
        let mut ids: Vec<u64> = Vec::new();
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            if let Some(id) = entry.file_name().to_str().and_then(parse_seg_name) {
                ids.push(id);
            }
        }
        ids.sort_unstable();
        let mut ledger = match loaded {
            Some(Loaded::V2(l, _) | Loaded::V1(l)) => l,
            None => Ledger {
                ack: Pos { seg: ids.first().copied().unwrap_or(1), off: SEGMENT_HEADER },
                next_seq: (std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_micros() as u64))
                .max(1),
                inflight: None,
                acked_total: 0,
            },
        };
        let mut stats = SpoolStats::default();
        let mut segments = BTreeMap::new();
        let mut disk_bytes = 0u64;
        let mut pending = 0u64;
        let mut oldest = None;
        let last = ids.last().copied();
        for &id in &ids {
            let path = seg_path(&dir, id);
            if id < ledger.ack.seg {
                // Fully acknowledged; the crash came between the ledger update and the unlink.
                fs::remove_file(&path)?;
                stats.segments_deleted += 1;
                continue;
            }
            let count_from = if id == ledger.ack.seg { ledger.ack.off } else { 0 };
            let scan = scan_segment(&path, id, count_from)?;
            if scan.valid_end < SEGMENT_HEADER {
                // Not even a header: a crash right after creating the file, or foreign data.
                if Some(id) == last && scan.file_len < SEGMENT_HEADER {
                    stats.torn_tails += u64::from(scan.file_len > 0);
                    stats.torn_tail_bytes += scan.file_len;
                    fs::remove_file(&path)?;
                } else {
                    stats.corrupt_bytes += scan.file_len;
                    fs::rename(&path, path.with_extension("corrupt"))?;
                }
                continue;
            }
            if scan.valid_end < scan.file_len {
                let cut = scan.file_len - scan.valid_end;
                if Some(id) == last {
                    stats.torn_tails += 1;
                    stats.torn_tail_bytes += cut;
                    let f = OpenOptions::new().write(true).open(&path)?;
                    f.set_len(scan.valid_end)?;
                    f.sync_all()?;
                } else {
                    stats.corrupt_bytes += cut;
                }
            }
            pending += scan.starts.len() as u64;
            if oldest.is_none() {
                oldest = scan.first_ms_after;
            }
            disk_bytes += scan.valid_end;
            segments.insert(id, SegInfo { len: scan.valid_end });
        }
        // Open the writer: append to the last segment if it has room, else start a new one.
        let (writer_id, writer_off, file) = match segments.iter().next_back() {
            Some((&id, info)) if info.len < opts.segment_bytes => {
                let f = OpenOptions::new().append(true).open(seg_path(&dir, id))?;
                (id, info.len, f)
            }
            other => {
                let id = other.map_or(ledger.ack.seg.max(1), |(&id, _)| id + 1);
                let f = Self::create_segment(&dir, id)?;
                segments.insert(id, SegInfo { len: SEGMENT_HEADER });
                disk_bytes += SEGMENT_HEADER;
                (id, SEGMENT_HEADER, f)
            }
        };
        if !segments.contains_key(&ledger.ack.seg) {
            let first = segments.keys().next().copied().unwrap_or(writer_id);
            if (Pos { seg: first, off: SEGMENT_HEADER }) > ledger.ack {
                ledger.ack = Pos { seg: first, off: SEGMENT_HEADER };
            }
        }
        let durable = opts.fsync != FsyncPolicy::Never;
        let ledger_file = match loaded {
            Some(Loaded::V2(_, generation)) => LedgerFile::open(&dir, generation)?,
            // New spool, or a version-1 ledger: (re)written as version 2.
            Some(Loaded::V1(_)) | None => LedgerFile::create(&dir, &ledger, durable)?,
        };
        let committed = Pos { seg: writer_id, off: writer_off };
        Ok(Spool {
            opts,
            segments,
            writer: BufWriter::with_capacity(WRITE_BUFFER, file),
            writer_id,
            writer_off,
            committed,
            ledger,
            ledger_file,
            disk_bytes,
            pending_records: pending,
            committed_records: pending,
            oldest_unacked_ms: oldest,
            full_episode: false,
            stats,
            reader: None,
            rbuf: Vec::new(),
            rbuf_at: Pos::default(),
        })
    }

    fn create_segment(dir: &Path, id: u64) -> io::Result<File> {
        let mut f = OpenOptions::new().create_new(true).append(true).open(seg_path(dir, id))?;
        f.write_all(&record::segment_header(id))?;
        Ok(f)
    }

    fn bulk_limit(&self) -> u64 {
        let reserve = self.opts.priority_reserve.clamp(0.0, 0.9);
        (self.opts.max_bytes as f64 * (1.0 - reserve)) as u64
    }

    fn count_drop(&mut self, class: Class, json: &[u8]) {
        match class {
            Class::Bulk => self.stats.dropped_bulk += 1,
            Class::Priority => self.stats.dropped_priority += 1,
        }
        let et = event_type_of(json);
        let key = if self.stats.dropped_by_type.contains_key(et)
            || self.stats.dropped_by_type.len() < MAX_DROP_TYPES
        {
            et.to_string()
        } else {
            "other".to_string()
        };
        *self.stats.dropped_by_type.entry(key).or_insert(0) += 1;
    }

    /// Appends one record. Never blocks on anything but the local disk; when the
    /// spool is full applies the drop policy (see the module doc) and counts.
    pub fn append(&mut self, class: Class, json: &[u8]) -> Append {
        if json.len() > MAX_RECORD_BYTES {
            self.stats.dropped_oversized += 1;
            self.count_drop(class, json);
            return Append::Dropped;
        }
        let size = (RECORD_HEADER + json.len()) as u64;
        let limit = match class {
            Class::Bulk => self.bulk_limit(),
            Class::Priority => self.opts.max_bytes,
        };
        if self.disk_bytes.saturating_add(size) > limit {
            self.count_drop(class, json);
            if !self.full_episode {
                self.full_episode = true;
                self.stats.full_episodes += 1;
                let alert = self.spool_full_alert(class, json);
                // Goes to the reserve; if even that is full the drop is counted above.
                if self.disk_bytes.saturating_add((RECORD_HEADER + alert.len()) as u64) <= self.opts.max_bytes
                {
                    let _ = self.write_record(Class::Priority, &alert);
                }
            }
            return Append::Dropped;
        }
        if self.full_episode && self.disk_bytes < self.bulk_limit() / 10 * 9 {
            self.full_episode = false;
        }
        match self.write_record(class, json) {
            Ok(()) => Append::Stored,
            Err(_) => {
                self.stats.dropped_io_error += 1;
                self.count_drop(class, json);
                Append::Dropped
            }
        }
    }

    fn spool_full_alert(&self, class: Class, json: &[u8]) -> Vec<u8> {
        let secs = now_ms();
        let ts = centinela_events::Timestamp::new((secs / 1000) as i64, ((secs % 1000) * 1_000_000) as u32);
        let ev = serde_json::json!({
            "timestamp": ts,
            "host": self.opts.sensor_id,
            "event_type": "alert",
            "alert": {
                "action": "allowed", "gid": 3, "signature_id": 3_000_001, "rev": 1,
                "signature": "CENTINELA sensor spool full: dropping records",
                "category": "Sensor Health", "severity": 2,
                "explanation": {
                    "spool_bytes": self.disk_bytes, "max_bytes": self.opts.max_bytes,
                    "bulk_limit": self.bulk_limit(),
                    "first_dropped_class": match class { Class::Bulk => "bulk", Class::Priority => "priority" },
                    "first_dropped_event_type": event_type_of(json),
                    "policy": "bulk records dropped first; priority records use the reserve; newest dropped",
                }
            }
        });
        serde_json::to_vec(&ev).unwrap_or_default()
    }

    fn write_record(&mut self, class: Class, json: &[u8]) -> io::Result<()> {
        let size = (RECORD_HEADER + json.len()) as u64;
        if self.writer_off > SEGMENT_HEADER && self.writer_off + size > self.opts.segment_bytes {
            self.roll()?;
        }
        let ms = now_ms();
        let hdr = record::record_header(class, ms, json);
        self.writer.write_all(&hdr)?;
        self.writer.write_all(json)?;
        self.writer_off += size;
        self.disk_bytes += size;
        if let Some(s) = self.segments.get_mut(&self.writer_id) {
            s.len = self.writer_off;
        }
        self.pending_records += 1;
        self.stats.appended += 1;
        self.stats.appended_bytes += json.len() as u64;
        if self.oldest_unacked_ms.is_none() {
            self.oldest_unacked_ms = Some(ms);
        }
        if self.opts.fsync == FsyncPolicy::Always {
            self.commit()?;
        }
        Ok(())
    }

    fn roll(&mut self) -> io::Result<()> {
        self.writer.flush()?;
        if self.opts.fsync != FsyncPolicy::Never {
            self.writer.get_ref().sync_data()?;
            self.stats.fsyncs += 1;
        }
        let id = self.writer_id + 1;
        let f = Self::create_segment(&self.opts.dir, id)?;
        if self.opts.fsync != FsyncPolicy::Never {
            File::open(&self.opts.dir)?.sync_all()?;
        }
        self.writer = BufWriter::with_capacity(WRITE_BUFFER, f);
        self.writer_id = id;
        self.writer_off = SEGMENT_HEADER;
        self.segments.insert(id, SegInfo { len: SEGMENT_HEADER });
        self.disk_bytes += SEGMENT_HEADER;
        // Everything in the sealed segment is durable now.
        self.committed_records = self.pending_records;
        self.committed = Pos { seg: id, off: SEGMENT_HEADER };
        Ok(())
    }

    /// The durability point: flush, fsync per policy, then make the records
    /// visible to the reader. Returns whether new records became visible.
    pub fn commit(&mut self) -> io::Result<bool> {
        let now = Pos { seg: self.writer_id, off: self.writer_off };
        if now == self.committed {
            return Ok(false);
        }
        self.writer.flush()?;
        if self.opts.fsync != FsyncPolicy::Never {
            self.writer.get_ref().sync_data()?;
            self.stats.fsyncs += 1;
        }
        self.committed = now;
        self.committed_records = self.pending_records;
        Ok(true)
    }

    /// The next position at or after `p` that can hold a record, crossing
    /// sealed segment ends; `None` when `p` is at the end of the data.
    fn normalize(&self, mut p: Pos) -> Pos {
        loop {
            let len = self.segments.get(&p.seg).map(|s| s.len);
            match len {
                Some(len) if p.off < len || p.seg == self.writer_id => return p,
                _ => match self.segments.range(p.seg + 1..).next() {
                    Some((&next, _)) => p = Pos { seg: next, off: SEGMENT_HEADER },
                    None => return p,
                },
            }
        }
    }

    fn read_at(&mut self, seg: u64, off: u64, buf: &mut [u8]) -> io::Result<()> {
        if self.reader.as_ref().map(|(id, _)| *id) != Some(seg) {
            self.reader = Some((seg, File::open(seg_path(&self.opts.dir, seg))?));
        }
        match &self.reader {
            Some((_, f)) => f.read_exact_at(buf, off),
            None => Err(io::Error::other("no reader")),
        }
    }

    /// The index range in `self.rbuf` holding bytes `[off, off + len)` of segment
    /// `seg`, refilling the window with one `pread` of up to [`READ_CHUNK`] bytes
    /// (never past `seg_len`, the committed end) when it does not hold them.
    /// The caller guarantees `off + len <= seg_len`.
    fn window(&mut self, seg: u64, off: u64, len: usize, seg_len: u64) -> io::Result<std::ops::Range<usize>> {
        let have = self.rbuf_at.seg == seg
            && off >= self.rbuf_at.off
            && off + len as u64 <= self.rbuf_at.off + self.rbuf.len() as u64;
        if !have {
            let avail = usize::try_from(seg_len.saturating_sub(off)).unwrap_or(usize::MAX);
            let want = len.max(READ_CHUNK).min(avail).max(len);
            let mut buf = std::mem::take(&mut self.rbuf);
            buf.clear();
            buf.resize(want, 0);
            let r = self.read_at(seg, off, &mut buf);
            self.rbuf = buf;
            if let Err(e) = r {
                self.rbuf.clear();
                return Err(e);
            }
            self.rbuf_at = Pos { seg, off };
        }
        let start = usize::try_from(off - self.rbuf_at.off).unwrap_or(usize::MAX);
        Ok(start..start.saturating_add(len))
    }

    /// Reads committed records from the ack position: up to `max_records`
    /// records and about `max_bytes` payload bytes (at least one record), and
    /// never past `until` when given (to re-read an in-flight batch exactly).
    /// Segment bytes are fetched in windows of up to 1 MiB (one `pread` each).
    pub fn read(
        &mut self,
        max_records: usize,
        max_bytes: usize,
        until: Option<Pos>,
    ) -> io::Result<ReadBatch> {
        self.read_range(self.ledger.ack, max_records, max_bytes, until)
    }

    /// Like [`Spool::read`], but from `from` (a batch end at or after the ack
    /// position): the forwarder reads the batch that will follow the one in
    /// flight while that one is being sent.
    pub fn read_from(&mut self, from: Pos, max_records: usize, max_bytes: usize) -> io::Result<ReadBatch> {
        self.read_range(from.max(self.ledger.ack), max_records, max_bytes, None)
    }

    fn read_range(
        &mut self,
        from: Pos,
        max_records: usize,
        max_bytes: usize,
        until: Option<Pos>,
    ) -> io::Result<ReadBatch> {
        let mut out = ReadBatch::default();
        let stop = until.map_or(self.committed, |u| u.min(self.committed));
        let mut pos = self.normalize(from);
        loop {
            pos = self.normalize(pos);
            if pos >= stop
                || out.records.len() >= max_records
                || (out.bytes >= max_bytes && !out.records.is_empty())
            {
                break;
            }
            let seg_len = if pos.seg == self.committed.seg {
                self.committed.off
            } else {
                self.segments.get(&pos.seg).map_or(0, |s| s.len)
            };
            let skip = |s: &mut Spool, pos: &mut Pos| {
                s.stats.corrupt_records += 1;
                s.stats.corrupt_bytes += seg_len.saturating_sub(pos.off);
                if pos.seg == s.writer_id {
                    *pos = Pos { seg: pos.seg, off: seg_len };
                } else {
                    *pos = Pos { seg: pos.seg, off: u64::MAX };
                }
            };
            if pos.off + RECORD_HEADER as u64 > seg_len {
                skip(self, &mut pos);
                if pos.seg == self.writer_id {
                    break;
                }
                continue;
            }
            let hr = self.window(pos.seg, pos.off, RECORD_HEADER, seg_len)?;
            let Some(hdr) = self.rbuf.get(hr).and_then(record::parse_record_header) else {
                skip(self, &mut pos);
                if pos.seg == self.writer_id {
                    break;
                }
                continue;
            };
            let end = pos.off + (RECORD_HEADER + hdr.len) as u64;
            if end > seg_len {
                skip(self, &mut pos);
                if pos.seg == self.writer_id {
                    break;
                }
                continue;
            }
            let rr = self.window(pos.seg, pos.off, RECORD_HEADER + hdr.len, seg_len)?;
            let ok = self.rbuf.get(rr).and_then(|raw| {
                let (h, payload) = raw.split_at_checked(RECORD_HEADER)?;
                record::crc_ok(h, &hdr, payload).then(|| payload.to_vec())
            });
            let Some(payload) = ok else {
                skip(self, &mut pos);
                if pos.seg == self.writer_id {
                    break;
                }
                continue;
            };
            out.bytes += payload.len();
            out.records.push(Record { class: hdr.class, written_ms: hdr.written_ms, payload });
            pos.off = end;
        }
        out.end = pos;
        Ok(out)
    }

    /// The persisted in-flight batch, if any (to resend after a restart).
    pub fn inflight(&self) -> Option<Inflight> {
        self.ledger.inflight
    }

    /// Persists a new in-flight batch ending at `end` with `count` records and
    /// returns it with its sequence number. Must be called before the first send.
    pub fn begin_batch(&mut self, end: Pos, count: u64) -> io::Result<Inflight> {
        let inf = Inflight { seq: self.ledger.next_seq, end, count };
        let mut l = self.ledger;
        l.inflight = Some(inf);
        self.ledger_file.store(&l, self.opts.fsync != FsyncPolicy::Never)?;
        self.ledger = l;
        Ok(inf)
    }

    /// The collector acknowledged (or permanently refused) the in-flight batch:
    /// advance the ack position, bump the sequence, delete fully acknowledged segments.
    pub fn ack(&mut self, inf: Inflight) -> io::Result<()> {
        self.ack_then(inf, None).map(|_| ())
    }

    /// [`Spool::ack`] of `inf` and [`Spool::begin_batch`] of the batch that
    /// follows it (ending at `next_end`, `next_count` records, read with
    /// [`Spool::read_from`]`(inf.end, ..)`) in **one** ledger update: a crash
    /// leaves either the old ledger (resend `inf`; the collector drops the
    /// duplicate) or the new one (resend the next batch under its sequence).
    /// `None`: `next_end` was not past the new ack position or not committed,
    /// so only the ack was made.
    pub fn ack_and_begin(
        &mut self,
        inf: Inflight,
        next_end: Pos,
        next_count: u64,
    ) -> io::Result<Option<Inflight>> {
        self.ack_then(inf, Some((next_end, next_count)))
    }

    fn ack_then(&mut self, inf: Inflight, next: Option<(Pos, u64)>) -> io::Result<Option<Inflight>> {
        let mut l = self.ledger;
        l.ack = inf.end.max(l.ack);
        l.next_seq = inf.seq.saturating_add(1).max(l.next_seq);
        l.inflight = None;
        l.acked_total = l.acked_total.saturating_add(inf.count);
        let begun = match next {
            Some((end, count)) if end > l.ack && end <= self.committed => {
                let n = Inflight { seq: l.next_seq, end, count };
                l.inflight = Some(n);
                Some(n)
            }
            _ => None,
        };
        self.ledger_file.store(&l, self.opts.fsync != FsyncPolicy::Never)?;
        self.ledger = l;
        self.pending_records = self.pending_records.saturating_sub(inf.count);
        self.committed_records = self.committed_records.saturating_sub(inf.count);
        let ack = self.normalize(l.ack);
        let doomed: Vec<u64> =
            self.segments.range(..ack.seg).map(|(&id, _)| id).filter(|&id| id != self.writer_id).collect();
        for id in doomed {
            match fs::remove_file(seg_path(&self.opts.dir, id)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            if let Some(s) = self.segments.remove(&id) {
                self.disk_bytes = self.disk_bytes.saturating_sub(s.len);
            }
            self.stats.segments_deleted += 1;
            if self.reader.as_ref().map(|(r, _)| *r) == Some(id) {
                self.reader = None;
            }
            if self.rbuf_at.seg == id {
                self.rbuf = Vec::new();
                self.rbuf_at = Pos::default();
            }
        }
        self.oldest_unacked_ms = self.peek_time(ack);
        Ok(begun)
    }

    fn peek_time(&mut self, p: Pos) -> Option<u64> {
        if p >= self.committed {
            return None;
        }
        let mut h = [0u8; RECORD_HEADER];
        self.read_at(p.seg, p.off, &mut h).ok()?;
        record::parse_record_header(&h).map(|h| h.written_ms)
    }

    /// The committed (durable, readable) end position.
    pub fn committed_pos(&self) -> Pos {
        self.committed
    }

    /// The acknowledged position.
    pub fn ack_pos(&self) -> Pos {
        self.ledger.ack
    }

    /// Records appended and not yet acknowledged.
    pub fn depth(&self) -> u64 {
        self.pending_records
    }

    /// Records committed (visible to the reader) and not yet acknowledged.
    pub fn committed_depth(&self) -> u64 {
        self.committed_records
    }

    /// Segment bytes on disk.
    pub fn disk_bytes(&self) -> u64 {
        self.disk_bytes
    }

    /// Wall-clock ms of the oldest unacknowledged record.
    pub fn oldest_unacked_ms(&self) -> Option<u64> {
        self.oldest_unacked_ms
    }

    /// Records acknowledged since the spool was created.
    pub fn acked_total(&self) -> u64 {
        self.ledger.acked_total
    }

    /// Counters.
    pub fn stats(&self) -> &SpoolStats {
        &self.stats
    }

    /// The spool directory.
    pub fn dir(&self) -> &Path {
        &self.opts.dir
    }

    /// Sensor id used in self-events.
    pub fn sensor_id(&self) -> &str {
        &self.opts.sensor_id
    }
}

#[cfg(test)]
mod tests;
