//! TCP reassembly, one [`HalfStream`] per direction.
//!
//! Contract with the app layer: every byte of a direction is delivered
//! exactly once and in order ([`Sink::data`]), or declared lost
//! ([`Sink::gap`]). Segments are delivered straight from the packet
//! (zero-copy) when they are in order; only out-of-order segments are copied
//! into a per-direction buffer, bounded in bytes and segments per direction
//! and globally per worker ([`Budget`]).
//!
//! Policies:
//! * **Midstream pickup**: the first data segment of a direction without a
//!   SYN fixes its starting sequence number.
//! * **Retransmissions** of delivered bytes are dropped; when a retransmitted
//!   segment has exactly the boundaries of one of the last
//!   [`FINGERPRINTS`] delivered segments, a sampled fingerprint of its bytes is
//!   compared and a difference raises `stream.overlap_different_data`
//!   (the first copy wins, as in Suricata's default policy).
//! * **Overlaps** between buffered out-of-order segments are compared
//!   byte-for-byte; differing bytes raise the same anomaly.
//! * **Gaps**: a hole is declared lost when the receiver acknowledges past
//!   it (the sender will never retransmit it), when the buffer caps are
//!   reached (`stream.reassembly_overflow`), and when the flow closes.
//! * **Bypass** (in the worker): once a flow's app protocol is decided as
//!   none, its segments are no longer given to reassembly (nothing would
//!   consume the bytes); they are counted as `bypassed_segments` and any
//!   out-of-order buffer is released.

use std::collections::BTreeMap;

/// Delivered-segment fingerprints kept per direction.
pub const FINGERPRINTS: usize = 4;
/// Bookkeeping bytes charged per buffered segment (map node share).
pub const SEGMENT_OVERHEAD: usize = 64;
/// Segments starting further than this ahead of the expected byte are ignored.
pub const MAX_AHEAD: u64 = 64 << 20;

/// Receives what reassembly produces.
pub trait Sink {
    /// In-order bytes.
    fn data(&mut self, data: &[u8]);
    /// `lost` bytes will never arrive.
    fn gap(&mut self, lost: u64);
    /// A stream anomaly (stable name).
    fn anomaly(&mut self, name: &'static str);
}

/// Worker-wide out-of-order buffer budget.
#[derive(Debug, Clone, Default)]
pub struct Budget {
    /// Bytes charged now.
    pub used: usize,
    /// Cap.
    pub cap: usize,
}

/// Per-direction limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes buffered per direction.
    pub bytes: usize,
    /// Segments buffered per direction.
    pub segments: usize,
    /// Pick up streams without a SYN.
    pub midstream: bool,
}

/// Counters kept by reassembly (per worker).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamCounters {
    /// Data segments seen.
    pub segments: u64,
    /// Bytes delivered in order.
    pub delivered: u64,
    /// Segments entirely retransmitted.
    pub retransmissions: u64,
    /// Segments buffered out of order.
    pub ooo_segments: u64,
    /// Gaps declared.
    pub gaps: u64,
    /// Bytes declared lost.
    pub gap_bytes: u64,
    /// Overlaps with different data.
    pub overlap_different: u64,
    /// Times a cap forced a gap or a drop.
    pub overflows: u64,
    /// Streams picked up mid-session.
    pub midstream: u64,
    /// Segments ignored (out of window, before the stream start, no SYN with midstream off).
    pub ignored: u64,
    /// Data segments of flows no parser consumes (app protocol undetected):
    /// counted in `segments` too, but not reassembled.
    pub bypassed: u64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Fingerprint {
    start: u64,
    len: u32,
    hash: u64,
}

/// One direction of a TCP connection.
#[derive(Debug, Default)]
pub struct HalfStream {
    init: bool,
    isn: u32,
    next: u64,
    ooo: BTreeMap<u64, Vec<u8>>,
    ooo_bytes: usize,
    fps: [Fingerprint; FINGERPRINTS],
    fp_at: usize,
    /// A FIN was seen at this absolute offset.
    pub fin_at: Option<u64>,
}

/// Sampled fingerprint: length plus up to 32 words spread over the data
/// (and the last word), so it costs the same for any segment size. Four
/// independent multiply lanes (combined at the end) let the CPU overlap the
/// multiplications: this runs on every delivered segment.
fn fingerprint(d: &[u8]) -> u64 {
    const K: u64 = 0x0000_0100_0000_01b3;
    let seed = 0xcbf2_9ce4_8422_2325 ^ d.len() as u64;
    let word = |at: usize| -> u64 {
        let mut w = [0u8; 8];
        if let Some(s) = d.get(at..at + 8) {
            w.copy_from_slice(s);
        }
        u64::from_le_bytes(w)
    };
    if d.len() < 8 {
        let mut w = [0u8; 8];
        w[..d.len()].copy_from_slice(d);
        return (seed ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(17);
    }
    let last = d.len() - 8;
    let step = (d.len() / 32).max(8);
    let mut lanes = [seed, seed.rotate_left(16), seed.rotate_left(32), seed.rotate_left(48)];
    let mut i = 0;
    let mut n = 0usize;
    while i < last {
        let l = &mut lanes[n & 3];
        *l = (*l ^ word(i)).wrapping_mul(K).rotate_left(17);
        n += 1;
        i += step;
    }
    let mut h = (lanes[0] ^ word(last)).wrapping_mul(K).rotate_left(17);
    for l in &lanes[1..] {
        h = (h ^ *l).wrapping_mul(K).rotate_left(17);
    }
    h
}

impl HalfStream {
    /// Bytes charged to the budget by this direction.
    pub fn memory(&self) -> usize {
        self.ooo_bytes
    }

    /// Whether the direction has a known start.
    pub fn is_init(&self) -> bool {
        self.init
    }

    /// Absolute offset of a wire sequence number (nearest to `next`).
    fn abs(&self, seq: u32) -> Option<u64> {
        let rel = seq.wrapping_sub(self.isn);
        let diff = i64::from(rel.wrapping_sub(self.next as u32) as i32);
        let v = (self.next as i64).checked_add(diff)?;
        u64::try_from(v).ok()
    }

    /// A SYN (or SYN-ACK) with sequence `seq`.
    pub fn on_syn(&mut self, seq: u32) {
        if !self.init {
            self.init = true;
            self.isn = seq.wrapping_add(1);
            self.next = 0;
        }
    }

    /// A FIN at `seq` after `len` payload bytes.
    pub fn on_fin(&mut self, seq: u32, len: usize) {
        if self.init
            && let Some(a) = self.abs(seq)
        {
            self.fin_at = Some(a + len as u64);
        }
    }

    /// A data segment.
    pub fn on_data(
        &mut self,
        seq: u32,
        data: &[u8],
        lim: Limits,
        budget: &mut Budget,
        c: &mut StreamCounters,
        sink: &mut dyn Sink,
    ) {
        if data.is_empty() {
            return;
        }
        c.segments += 1;
        if !self.init {
            if !lim.midstream {
                c.ignored += 1;
                return;
            }
            self.init = true;
            self.isn = seq;
            self.next = 0;
            c.midstream += 1;
        }
        let Some(start) = self.abs(seq) else {
            c.ignored += 1;
            return;
        };
        let end = start + data.len() as u64;
        if end <= self.next {
            c.retransmissions += 1;
            self.check_retransmission(start, data, c, sink);
            return;
        }
        if start <= self.next {
            let skip = (self.next - start) as usize;
            let fresh = &data[skip..];
            self.deliver(fresh, c, sink);
            self.drain(budget, c, sink);
            return;
        }
        if start - self.next > MAX_AHEAD {
            c.ignored += 1;
            return;
        }
        self.buffer(start, data, lim, budget, c, sink);
    }

    fn check_retransmission(&self, start: u64, data: &[u8], c: &mut StreamCounters, sink: &mut dyn Sink) {
        for fp in &self.fps {
            if fp.len != 0 && fp.start == start && fp.len as usize == data.len() {
                if fp.hash != fingerprint(data) {
                    c.overlap_different += 1;
                    sink.anomaly("stream.overlap_different_data");
                }
                return;
            }
        }
    }

    fn deliver(&mut self, data: &[u8], c: &mut StreamCounters, sink: &mut dyn Sink) {
        if data.is_empty() {
            return;
        }
        self.fps[self.fp_at] =
            Fingerprint { start: self.next, len: data.len() as u32, hash: fingerprint(data) };
        self.fp_at = (self.fp_at + 1) % FINGERPRINTS;
        self.next += data.len() as u64;
        c.delivered += data.len() as u64;
        sink.data(data);
    }

    fn charge(len: usize) -> usize {
        len + SEGMENT_OVERHEAD
    }

    /// Deliver buffered segments that became contiguous.
    fn drain(&mut self, budget: &mut Budget, c: &mut StreamCounters, sink: &mut dyn Sink) {
        while let Some(entry) = self.ooo.first_entry() {
            let start = *entry.key();
            if start > self.next {
                break;
            }
            let seg = entry.remove();
            let charge = Self::charge(seg.len());
            self.ooo_bytes -= charge;
            budget.used = budget.used.saturating_sub(charge);
            let end = start + seg.len() as u64;
            if end > self.next {
                let skip = (self.next - start) as usize;
                self.deliver(&seg[skip..], c, sink);
            }
        }
    }

    /// Declare the hole before the first buffered segment lost and deliver
    /// what follows it. Returns false when nothing was buffered.
    fn skip_hole(&mut self, budget: &mut Budget, c: &mut StreamCounters, sink: &mut dyn Sink) -> bool {
        let Some((&first, _)) = self.ooo.first_key_value() else { return false };
        if first > self.next {
            let lost = first - self.next;
            c.gaps += 1;
            c.gap_bytes += lost;
            sink.gap(lost);
            self.next = first;
        }
        self.drain(budget, c, sink);
        true
    }

    fn buffer(
        &mut self,
        start: u64,
        data: &[u8],
        lim: Limits,
        budget: &mut Budget,
        c: &mut StreamCounters,
        sink: &mut dyn Sink,
    ) {
        // Compare with every buffered segment it overlaps; keep only the
        // uncovered parts of the new segment (first copy wins).
        let end = start + data.len() as u64;
        let mut pieces: [(u64, u64); 8] = [(0, 0); 8];
        let mut npieces = 0usize;
        let mut cursor = start;
        let mut different = false;
        let mut too_fragmented = false;
        // The segment starting before `start` may overlap it.
        let lower = self.ooo.range(..start).next_back().map(|(k, v)| (*k, v.len()));
        let overlapping = lower.into_iter().chain(self.ooo.range(start..end).map(|(k, v)| (*k, v.len())));
        for (s, len) in overlapping {
            let e = s + len as u64;
            if e <= cursor {
                continue;
            }
            if s > cursor {
                if npieces < pieces.len() {
                    pieces[npieces] = (cursor, s.min(end));
                    npieces += 1;
                } else {
                    too_fragmented = true;
                }
            }
            let os = s.max(start);
            let oe = e.min(end);
            if os < oe
                && let Some(old) = self.ooo.get(&s)
            {
                let a = &old[(os - s) as usize..(oe - s) as usize];
                let b = &data[(os - start) as usize..(oe - start) as usize];
                if a != b {
                    different = true;
                }
            }
            cursor = cursor.max(e);
            if cursor >= end {
                break;
            }
        }
        if cursor < end {
            if npieces < pieces.len() {
                pieces[npieces] = (cursor, end);
                npieces += 1;
            } else {
                too_fragmented = true;
            }
        }
        if different {
            c.overlap_different += 1;
            sink.anomaly("stream.overlap_different_data");
        }
        if too_fragmented {
            c.ignored += 1;
        }
        for &(ps, pe) in &pieces[..npieces] {
            let bytes = &data[(ps - start) as usize..(pe - start) as usize];
            let charge = Self::charge(bytes.len());
            // Make room: declare holes lost until the piece fits.
            let mut overflowed = false;
            while self.ooo_bytes + charge > lim.bytes.max(SEGMENT_OVERHEAD + 1)
                || self.ooo.len() >= lim.segments
                || budget.used + charge > budget.cap
            {
                if !overflowed {
                    overflowed = true;
                    c.overflows += 1;
                    sink.anomaly("stream.reassembly_overflow");
                }
                if !self.skip_hole(budget, c, sink) {
                    break;
                }
            }
            if ps < self.next {
                // The hole skipping moved past (part of) this piece.
                let skip = (self.next - ps).min(bytes.len() as u64) as usize;
                if ps + bytes.len() as u64 > self.next {
                    let rest = &bytes[skip..];
                    if !rest.is_empty() && ps + skip as u64 == self.next {
                        self.deliver(rest, c, sink);
                        self.drain(budget, c, sink);
                    }
                }
                continue;
            }
            if ps == self.next {
                self.deliver(bytes, c, sink);
                self.drain(budget, c, sink);
                continue;
            }
            if self.ooo_bytes + charge > lim.bytes.max(SEGMENT_OVERHEAD + 1)
                || self.ooo.len() >= lim.segments
                || budget.used + charge > budget.cap
            {
                // Alone it does not fit: drop it (counted above).
                continue;
            }
            self.ooo.insert(ps, bytes.to_vec());
            self.ooo_bytes += charge;
            budget.used += charge;
            c.ooo_segments += 1;
        }
    }

    /// The peer acknowledged `ack`: holes before it will never be filled.
    pub fn on_peer_ack(
        &mut self,
        ack: u32,
        budget: &mut Budget,
        c: &mut StreamCounters,
        sink: &mut dyn Sink,
    ) {
        if !self.init || self.ooo.is_empty() {
            return;
        }
        let Some(a) = self.abs(ack) else { return };
        if a <= self.next || a - self.next > MAX_AHEAD {
            return;
        }
        while let Some((&first, _)) = self.ooo.first_key_value() {
            if first >= a && first > self.next {
                break;
            }
            self.skip_hole(budget, c, sink);
        }
    }

    /// Flush everything buffered (flow end): remaining holes are gaps.
    pub fn flush(&mut self, budget: &mut Budget, c: &mut StreamCounters, sink: &mut dyn Sink) {
        while self.skip_hole(budget, c, sink) {}
    }

    /// Release the buffer without delivering (flow dropped).
    pub fn release(&mut self, budget: &mut Budget) {
        budget.used = budget.used.saturating_sub(self.ooo_bytes);
        self.ooo_bytes = 0;
        self.ooo.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Rec {
        data: Vec<u8>,
        gaps: Vec<u64>,
        anomalies: Vec<&'static str>,
    }
    impl Sink for Rec {
        fn data(&mut self, d: &[u8]) {
            self.data.extend_from_slice(d);
        }
        fn gap(&mut self, lost: u64) {
            self.gaps.push(lost);
            self.data.extend(std::iter::repeat_n(b'?', lost as usize));
        }
        fn anomaly(&mut self, n: &'static str) {
            self.anomalies.push(n);
        }
    }

    const LIM: Limits = Limits { bytes: 1 << 20, segments: 1024, midstream: true };

    fn run(segs: &[(u32, &[u8])], lim: Limits, cap: usize) -> (Rec, StreamCounters, Budget, HalfStream) {
        let mut h = HalfStream::default();
        let mut b = Budget { used: 0, cap };
        let mut c = StreamCounters::default();
        let mut r = Rec::default();
        h.on_syn(99);
        for (s, d) in segs {
            h.on_data(*s, d, lim, &mut b, &mut c, &mut r);
        }
        (r, c, b, h)
    }

    #[test]
    fn in_order_and_reordered() {
        let (r, c, b, _) = run(&[(100, b"abc"), (106, b"ghi"), (103, b"def")], LIM, 1 << 20);
        assert_eq!(r.data, b"abcdefghi");
        assert_eq!(c.ooo_segments, 1);
        assert_eq!(b.used, 0);
    }

    #[test]
    fn every_permutation_of_split_delivers_once() {
        let msg = b"0123456789abcdefghij";
        for cut1 in 1..msg.len() - 1 {
            for cut2 in cut1 + 1..msg.len() {
                let parts = [(0, cut1), (cut1, cut2), (cut2, msg.len())];
                for order in [[0, 1, 2], [2, 1, 0], [1, 0, 2], [2, 0, 1], [0, 2, 1], [1, 2, 0]] {
                    let segs: Vec<(u32, &[u8])> = order
                        .iter()
                        .map(|&i| (100 + parts[i].0 as u32, &msg[parts[i].0..parts[i].1]))
                        .collect();
                    let (r, _, b, _) = run(&segs, LIM, 1 << 20);
                    assert_eq!(r.data, msg, "{cut1} {cut2} {order:?}");
                    assert_eq!(b.used, 0);
                }
            }
        }
    }

    #[test]
    fn retransmission_same_and_different() {
        let (r, c, _, _) = run(&[(100, b"abc"), (100, b"abc")], LIM, 1 << 20);
        assert_eq!(r.data, b"abc");
        assert_eq!(c.retransmissions, 1);
        assert!(r.anomalies.is_empty());
        let (r, c, _, _) = run(&[(100, b"abc"), (100, b"abX")], LIM, 1 << 20);
        assert_eq!(r.data, b"abc");
        assert_eq!(c.overlap_different, 1);
        assert_eq!(r.anomalies, vec!["stream.overlap_different_data"]);
    }

    #[test]
    fn overlap_between_buffered_segments() {
        let (r, c, _, _) = run(&[(110, b"KLMNO"), (112, b"mnopq"), (100, b"0123456789")], LIM, 1 << 20);
        assert_eq!(r.data, b"0123456789KLMNOpq");
        assert_eq!(c.overlap_different, 1);
        let (r, _, _, _) = run(&[(110, b"KLMNO"), (112, b"MNOPQ"), (100, b"0123456789")], LIM, 1 << 20);
        assert!(r.anomalies.is_empty());
        assert_eq!(r.data, b"0123456789KLMNOPQ");
    }

    #[test]
    fn ack_past_hole_is_a_gap() {
        let mut h = HalfStream::default();
        let mut b = Budget { used: 0, cap: 1 << 20 };
        let mut c = StreamCounters::default();
        let mut r = Rec::default();
        h.on_syn(99);
        h.on_data(100, b"abc", LIM, &mut b, &mut c, &mut r);
        h.on_data(110, b"xyz", LIM, &mut b, &mut c, &mut r);
        h.on_peer_ack(113, &mut b, &mut c, &mut r);
        assert_eq!(r.gaps, vec![7]);
        assert_eq!(r.data, b"abc???????xyz");
        assert_eq!(b.used, 0);
    }

    #[test]
    fn caps_hold_under_endless_out_of_order() {
        let lim = Limits { bytes: 4096, segments: 16, midstream: true };
        let mut h = HalfStream::default();
        let mut b = Budget { used: 0, cap: 8192 };
        let mut c = StreamCounters::default();
        let mut r = Rec::default();
        h.on_syn(0);
        // Every second 100-byte segment is missing, forever.
        let seg = [7u8; 100];
        for i in 0..10_000u32 {
            h.on_data(1 + (2 * i + 1) * 100, &seg, lim, &mut b, &mut c, &mut r);
            assert!(h.memory() <= 4096 && b.used <= 8192);
        }
        assert!(c.overflows > 0 && c.gaps > 0);
        assert!(r.anomalies.contains(&"stream.reassembly_overflow"));
        // Global cap shared with another stream.
        let mut h2 = HalfStream::default();
        h2.on_syn(0);
        for i in 0..1000u32 {
            h2.on_data(1 + (2 * i + 1) * 100, &seg, lim, &mut b, &mut c, &mut r);
            assert!(b.used <= 8192);
        }
        h.flush(&mut b, &mut c, &mut r);
        h2.release(&mut b);
        assert_eq!(b.used, 0);
    }

    #[test]
    fn midstream_and_wraparound() {
        let mut h = HalfStream::default();
        let mut b = Budget { used: 0, cap: 1 << 20 };
        let mut c = StreamCounters::default();
        let mut r = Rec::default();
        h.on_data(u32::MAX - 1, b"ab", LIM, &mut b, &mut c, &mut r);
        h.on_data(0, b"cd", LIM, &mut b, &mut c, &mut r);
        assert_eq!(r.data, b"abcd");
        assert_eq!(c.midstream, 1);
        let mut h = HalfStream::default();
        let lim = Limits { midstream: false, ..LIM };
        h.on_data(5, b"ab", lim, &mut b, &mut c, &mut r);
        assert_eq!(c.ignored, 1);
    }
}
