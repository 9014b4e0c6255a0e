//! Per-flow log-volume limits, in packet time.
//!
//! * [`RecordLimiter`] — at most `max` protocol records per key (a hash of
//!   the fields that make two records "identical", e.g. Modbus unit,
//!   function, address and quantity) per fixed window; the number of
//!   suppressed records is carried on the next record logged for that key.
//! * [`AnomalyLimiter`] — at most `max` anomaly records per name per window;
//!   further occurrences are folded and logged as one record with a `count`
//!   when the next window opens or the flow ends. Nothing is dropped
//!   silently: every occurrence is counted in [`AppStats`](crate::AppStats).
//!
//! Both tables are bounded arrays (the record limiter keeps its first two
//! keys inline and allocates only for a third).

use centinela_events::Timestamp;

/// Keys tracked per flow by the record limiter. A flow with more distinct
/// keys than this evicts the key whose window started longest ago (its
/// pending suppressed count stays in the stats).
pub const MAX_RATE_KEYS_PER_FLOW: usize = 64;
/// Anomaly names tracked per flow by the anomaly limiter; a flow raising more
/// distinct names logs the extra ones unfolded (still bounded by traffic).
pub const MAX_ANOMALY_NAMES_PER_FLOW: usize = 32;

/// FNV-1a 64-bit hasher for record keys (deterministic across runs).
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyHasher(u64);

impl KeyHasher {
    pub(crate) fn new(tag: u8) -> Self {
        let mut h = Self(0xcbf2_9ce4_8422_2325);
        h.byte(tag);
        h
    }
    pub(crate) fn byte(&mut self, b: u8) {
        self.0 ^= u64::from(b);
        self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
    }
    pub(crate) fn bytes(&mut self, bs: &[u8]) {
        for &b in bs {
            self.byte(b);
        }
    }
    pub(crate) fn u16(&mut self, v: u16) {
        self.bytes(&v.to_be_bytes());
    }
    pub(crate) fn finish(self) -> u64 {
        self.0
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct RateEntry {
    key: u64,
    window_start: i64,
    in_window: u32,
    suppressed: u64,
}

/// Verdict of [`RecordLimiter::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RateVerdict {
    /// Log the record; `suppressed` identical records were dropped since the
    /// last one logged for this key.
    Log { suppressed: u64 },
    /// Drop the record (counted).
    Suppress,
}

/// Keys the record limiter keeps inline, before its `Vec` is allocated: a
/// DNS lookup's flow (one query key, one response key) never allocates.
const INLINE_RATE_KEYS: usize = 2;

/// Per-flow rate limiter for repetitive protocol records.
#[derive(Debug, Clone, Default)]
pub(crate) struct RecordLimiter {
    /// The flow's first keys (`inline[..n_inline]`).
    inline: [RateEntry; INLINE_RATE_KEYS],
    n_inline: u8,
    /// Further keys, up to [`MAX_RATE_KEYS_PER_FLOW`] in all.
    entries: Vec<RateEntry>,
}

impl RecordLimiter {
    /// Decide for one record with key `key` at packet time `ts`.
    pub(crate) fn check(&mut self, key: u64, ts: Timestamp, window_s: u64, max: u32) -> RateVerdict {
        let window = i64::try_from(window_s).unwrap_or(i64::MAX);
        let n = usize::from(self.n_inline).min(INLINE_RATE_KEYS);
        let (inline, entries) = (&mut self.inline[..n], &mut self.entries);
        if let Some(e) = inline.iter_mut().chain(entries.iter_mut()).find(|e| e.key == key) {
            if ts.secs.saturating_sub(e.window_start) >= window || ts.secs < e.window_start {
                e.window_start = ts.secs;
                e.in_window = 0;
            }
            if e.in_window < max {
                e.in_window += 1;
                return RateVerdict::Log { suppressed: core::mem::take(&mut e.suppressed) };
            }
            e.suppressed = e.suppressed.saturating_add(1);
            return RateVerdict::Suppress;
        }
        let fresh = RateEntry { key, window_start: ts.secs, in_window: 1, suppressed: 0 };
        if let Some(slot) = self.inline.get_mut(n) {
            *slot = fresh;
            self.n_inline += 1;
        } else if self.len() < MAX_RATE_KEYS_PER_FLOW {
            self.entries.push(fresh);
        } else if let Some(oldest) =
            self.inline.iter_mut().chain(self.entries.iter_mut()).min_by_key(|e| e.window_start)
        {
            *oldest = fresh;
        }
        RateVerdict::Log { suppressed: 0 }
    }

    /// Keys tracked.
    fn len(&self) -> usize {
        usize::from(self.n_inline) + self.entries.len()
    }

    /// Bytes held outside the flow state.
    pub(crate) fn memory(&self) -> usize {
        self.entries.capacity() * core::mem::size_of::<RateEntry>()
    }
}

#[derive(Debug, Clone, Copy)]
struct AnomEntry {
    name: &'static str,
    window_start: i64,
    in_window: u32,
    folded: u64,
}

/// Verdict of [`AnomalyLimiter::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AnomalyVerdict {
    /// Occurrences folded in the previous window that must be logged now as
    /// one record (with `count`) before this occurrence's own record.
    pub(crate) flush_folded: u64,
    /// Whether this occurrence gets its own record (false: folded).
    pub(crate) log: bool,
}

/// Per-flow limiter for anomaly records.
#[derive(Debug, Clone, Default)]
pub(crate) struct AnomalyLimiter {
    entries: Vec<AnomEntry>,
}

impl AnomalyLimiter {
    /// Decide for one occurrence of anomaly `name` at `ts`.
    pub(crate) fn check(
        &mut self,
        name: &'static str,
        ts: Timestamp,
        window_s: u64,
        max: u32,
    ) -> AnomalyVerdict {
        let window = i64::try_from(window_s).unwrap_or(i64::MAX);
        if let Some(e) = self.entries.iter_mut().find(|e| e.name == name) {
            let mut flush_folded = 0;
            if ts.secs.saturating_sub(e.window_start) >= window || ts.secs < e.window_start {
                e.window_start = ts.secs;
                e.in_window = 0;
                flush_folded = core::mem::take(&mut e.folded);
            }
            if e.in_window < max {
                e.in_window += 1;
                return AnomalyVerdict { flush_folded, log: true };
            }
            e.folded = e.folded.saturating_add(1);
            return AnomalyVerdict { flush_folded, log: false };
        }
        if self.entries.len() < MAX_ANOMALY_NAMES_PER_FLOW {
            self.entries.push(AnomEntry { name, window_start: ts.secs, in_window: 1, folded: 0 });
        }
        AnomalyVerdict { flush_folded: 0, log: true }
    }

    /// Take every pending folded count (flow end): `(name, count)` pairs.
    pub(crate) fn drain_folded(&mut self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        self.entries.iter_mut().filter(|e| e.folded > 0).map(|e| (e.name, core::mem::take(&mut e.folded)))
    }

    /// Bytes held.
    pub(crate) fn memory(&self) -> usize {
        self.entries.capacity() * core::mem::size_of::<AnomEntry>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::new(s, 0)
    }

    #[test]
    fn records_limited_per_window_and_count_carried() {
        let mut l = RecordLimiter::default();
        assert_eq!(l.check(7, t(100), 60, 2), RateVerdict::Log { suppressed: 0 });
        assert_eq!(l.check(7, t(101), 60, 2), RateVerdict::Log { suppressed: 0 });
        for s in 102..159 {
            assert_eq!(l.check(7, t(s), 60, 2), RateVerdict::Suppress);
        }
        // Another key is independent.
        assert_eq!(l.check(8, t(150), 60, 2), RateVerdict::Log { suppressed: 0 });
        // New window: the 57 suppressed records are reported once.
        assert_eq!(l.check(7, t(160), 60, 2), RateVerdict::Log { suppressed: 57 });
        assert_eq!(l.check(7, t(161), 60, 2), RateVerdict::Log { suppressed: 0 });
        assert_eq!(l.check(7, t(162), 60, 2), RateVerdict::Suppress);
    }

    #[test]
    fn record_table_is_bounded() {
        let mut l = RecordLimiter::default();
        for k in 0..10_000u64 {
            assert_eq!(l.check(k, t(k as i64), 60, 1), RateVerdict::Log { suppressed: 0 });
        }
        assert!(l.len() <= MAX_RATE_KEYS_PER_FLOW);
        assert!(l.entries.capacity() <= MAX_RATE_KEYS_PER_FLOW);
    }

    #[test]
    fn first_two_keys_are_inline_and_every_key_is_tracked_alike() {
        let mut l = RecordLimiter::default();
        assert_eq!(l.check(1, t(0), 60, 1), RateVerdict::Log { suppressed: 0 });
        assert_eq!(l.check(2, t(0), 60, 1), RateVerdict::Log { suppressed: 0 });
        assert_eq!(l.entries.capacity(), 0, "a DNS lookup's two keys allocate nothing");
        assert_eq!(l.memory(), 0);
        assert_eq!(l.check(3, t(0), 60, 1), RateVerdict::Log { suppressed: 0 });
        assert!(l.memory() > 0);
        // Inline and spilled keys limit and carry counts the same way.
        for k in [1, 2, 3] {
            assert_eq!(l.check(k, t(1), 60, 1), RateVerdict::Suppress);
            assert_eq!(l.check(k, t(61), 60, 1), RateVerdict::Log { suppressed: 1 });
        }
        // Full: the key whose window started longest ago goes, inline or not.
        let mut l = RecordLimiter::default();
        for k in 0..MAX_RATE_KEYS_PER_FLOW as u64 {
            l.check(k, t(10 + k as i64), 60, 1);
        }
        l.check(1000, t(200), 60, 1);
        assert_eq!(l.len(), MAX_RATE_KEYS_PER_FLOW);
        // Key 0 (inline, oldest window) was evicted: it starts afresh.
        assert_eq!(l.check(0, t(201), 60, 1), RateVerdict::Log { suppressed: 0 });
        // Key 1000 is tracked: a second record in its window is suppressed.
        assert_eq!(l.check(1000, t(202), 60, 1), RateVerdict::Suppress);
    }

    #[test]
    fn anomalies_fold_and_flush() {
        let mut l = AnomalyLimiter::default();
        let v: Vec<_> = (0..5).map(|i| l.check("x", t(10 + i), 60, 2)).collect();
        assert!(v[0].log && v[1].log && !v[2].log && !v[3].log && !v[4].log);
        assert!(v.iter().all(|v| v.flush_folded == 0));
        let v = l.check("x", t(75), 60, 2);
        assert_eq!(v, AnomalyVerdict { flush_folded: 3, log: true });
        l.check("x", t(76), 60, 2);
        l.check("x", t(77), 60, 2);
        assert_eq!(l.drain_folded().collect::<Vec<_>>(), vec![("x", 1)]);
        assert_eq!(l.drain_folded().count(), 0);
    }

    #[test]
    fn hasher_is_order_sensitive() {
        let mut a = KeyHasher::new(1);
        a.u16(1);
        a.u16(2);
        let mut b = KeyHasher::new(1);
        b.u16(2);
        b.u16(1);
        assert_ne!(a.finish(), b.finish());
    }
}
