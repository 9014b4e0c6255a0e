//! IPv4 and IPv6 fragment reassembly (per worker; the sharding by IP pair
//! sends every fragment of a datagram to the same worker).
//!
//! Bounded: at most `max_datagrams` datagrams in progress, at most
//! `max_bytes` held in all, at most `max_fragments` fragments and 65,535
//! bytes per datagram; incomplete datagrams expire after `timeout` of packet
//! time. Hitting a cap drops the datagram (oldest first for the datagram cap)
//! and is counted. Overlapping fragments are accepted first-wins; when the
//! overlapping bytes differ, the caller gets an `overlap` flag (anomaly
//! `decoder.ipv4.frag_overlap` / `decoder.ipv6.frag_overlap`).

use crate::decode::FragInfo;
use centinela_events::Timestamp;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;

/// Largest reassembled datagram payload.
pub const MAX_DATAGRAM: usize = 65_535;

/// Identity of a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DgKey {
    /// Source.
    pub src: IpAddr,
    /// Destination.
    pub dst: IpAddr,
    /// Protocol (IPv4) / next header after the fragment header (IPv6).
    pub proto: u8,
    /// Identification.
    pub id: u32,
    /// VLAN ids.
    pub vlan: [u16; 2],
}

#[derive(Debug)]
struct Datagram {
    first: Timestamp,
    frags: BTreeMap<u32, Vec<u8>>,
    total: Option<u32>,
    bytes: usize,
    epoch: u64,
}

/// Limits.
#[derive(Debug, Clone, Copy)]
pub struct DefragLimits {
    /// Datagrams in progress.
    pub max_datagrams: usize,
    /// Bytes held.
    pub max_bytes: usize,
    /// Fragments per datagram.
    pub max_fragments: usize,
    /// Seconds before an incomplete datagram is dropped.
    pub timeout_s: i64,
}

/// Counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DefragCounters {
    /// Fragments seen.
    pub fragments: u64,
    /// Datagrams reassembled.
    pub reassembled: u64,
    /// Datagrams dropped on timeout.
    pub timeouts: u64,
    /// Datagrams or fragments dropped by a cap.
    pub cap_drops: u64,
    /// Overlaps with different data.
    pub overlaps: u64,
    /// Fragments that would make a datagram larger than 65,535 bytes.
    pub too_large: u64,
}

/// Outcome of one fragment.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Held; the datagram is not complete.
    Held,
    /// The datagram is complete: its payload.
    Complete(Vec<u8>),
    /// Dropped by a cap or as invalid (counted).
    Dropped(&'static str),
}

/// The reassembler.
#[derive(Debug)]
pub struct Defrag {
    lim: DefragLimits,
    map: HashMap<DgKey, Datagram>,
    order: VecDeque<(DgKey, u64)>,
    epoch: u64,
    bytes: usize,
    /// Counters.
    pub counters: DefragCounters,
}

impl Defrag {
    /// A reassembler with these limits.
    pub fn new(lim: DefragLimits) -> Self {
        Self {
            lim,
            map: HashMap::new(),
            order: VecDeque::new(),
            epoch: 0,
            bytes: 0,
            counters: DefragCounters::default(),
        }
    }

    /// Bytes held.
    pub fn memory(&self) -> usize {
        self.bytes
    }

    /// Datagrams in progress.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    fn drop_dg(&mut self, key: &DgKey) {
        if let Some(d) = self.map.remove(key) {
            self.bytes = self.bytes.saturating_sub(d.bytes);
        }
    }

    /// Drop datagrams older than the timeout.
    pub fn expire(&mut self, now: Timestamp) {
        while let Some((key, epoch)) = self.order.front().copied() {
            match self.map.get(&key) {
                Some(d) if d.epoch == epoch => {
                    if now.secs.saturating_sub(d.first.secs) < self.lim.timeout_s {
                        break;
                    }
                    self.counters.timeouts += 1;
                    self.drop_dg(&key);
                }
                _ => {}
            }
            self.order.pop_front();
        }
    }

    /// Add one fragment. `overlap` is set when it overlapped held bytes with
    /// different content.
    pub fn add(
        &mut self,
        key: DgKey,
        f: FragInfo,
        payload: &[u8],
        now: Timestamp,
        overlap: &mut bool,
    ) -> Outcome {
        self.counters.fragments += 1;
        if self.lim.max_datagrams == 0 {
            self.counters.cap_drops += 1;
            return Outcome::Dropped("defrag.disabled");
        }
        let end = f.offset as usize + payload.len();
        if end > MAX_DATAGRAM {
            self.counters.too_large += 1;
            self.drop_dg(&key);
            return Outcome::Dropped("frag_too_large");
        }
        if !self.map.contains_key(&key) {
            while self.map.len() >= self.lim.max_datagrams {
                let Some((old, epoch)) = self.order.pop_front() else { break };
                if self.map.get(&old).is_some_and(|d| d.epoch == epoch) {
                    self.counters.cap_drops += 1;
                    self.drop_dg(&old);
                }
            }
            self.epoch += 1;
            self.map.insert(
                key,
                Datagram { first: now, frags: BTreeMap::new(), total: None, bytes: 0, epoch: self.epoch },
            );
            self.order.push_back((key, self.epoch));
        }
        if self.bytes + payload.len() > self.lim.max_bytes {
            self.counters.cap_drops += 1;
            self.drop_dg(&key);
            return Outcome::Dropped("defrag.memcap");
        }
        let Some(d) = self.map.get_mut(&key) else { return Outcome::Held };
        if d.frags.len() >= self.lim.max_fragments {
            self.counters.cap_drops += 1;
            self.drop_dg(&key);
            return Outcome::Dropped("defrag.max_fragments");
        }
        if !f.more {
            if d.total.is_some_and(|t| t as usize != end) {
                *overlap = true;
            }
            d.total = Some(end as u32);
        }
        // Keep only bytes not yet held (first wins), comparing overlaps.
        let start = f.offset as usize;
        let mut cursor = start;
        let mut pieces: Vec<(usize, usize)> = Vec::new();
        let lower = d.frags.range(..f.offset).next_back().map(|(k, v)| (*k as usize, v.len()));
        let rest: Vec<(usize, usize)> =
            d.frags.range(f.offset..end as u32).map(|(k, v)| (*k as usize, v.len())).collect();
        for (s, len) in lower.into_iter().chain(rest) {
            let e = s + len;
            if e <= cursor {
                continue;
            }
            if s > cursor {
                pieces.push((cursor, s.min(end)));
            }
            let (os, oe) = (s.max(start), e.min(end));
            if os < oe
                && let Some(old) = d.frags.get(&(s as u32))
                && old[os - s..oe - s] != payload[os - start..oe - start]
            {
                *overlap = true;
            }
            cursor = cursor.max(e);
            if cursor >= end {
                break;
            }
        }
        if cursor < end {
            pieces.push((cursor, end));
        }
        for (ps, pe) in pieces {
            if ps < pe {
                d.frags.insert(ps as u32, payload[ps - start..pe - start].to_vec());
                d.bytes += pe - ps;
                self.bytes += pe - ps;
            }
        }
        if *overlap {
            self.counters.overlaps += 1;
        }
        // Complete when the pieces cover 0..total without holes.
        let Some(total) = d.total else { return Outcome::Held };
        let mut at = 0usize;
        for (s, v) in &d.frags {
            if *s as usize > at {
                return Outcome::Held;
            }
            at = at.max(*s as usize + v.len());
        }
        if at < total as usize {
            return Outcome::Held;
        }
        let mut out = Vec::with_capacity(total as usize);
        for (s, v) in &d.frags {
            let s = *s as usize;
            if s >= total as usize {
                break;
            }
            let from = out.len().saturating_sub(s);
            let upto = v.len().min(total as usize - s);
            if from < upto {
                out.extend_from_slice(&v[from..upto]);
            }
        }
        self.counters.reassembled += 1;
        self.drop_dg(&key);
        Outcome::Complete(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> DgKey {
        DgKey {
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            proto: 17,
            id: 7,
            vlan: [0, 0],
        }
    }
    const LIM: DefragLimits =
        DefragLimits { max_datagrams: 4, max_bytes: 1 << 20, max_fragments: 16, timeout_s: 30 };
    fn fi(offset: u32, more: bool) -> FragInfo {
        FragInfo { id: 7, offset, more }
    }

    #[test]
    fn reassembles_in_any_order() {
        let data: Vec<u8> = (0..48u8).collect();
        for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0]] {
            let mut d = Defrag::new(LIM);
            let mut last = Outcome::Held;
            for i in order {
                let mut ov = false;
                last = d.add(
                    key(),
                    fi(i * 16, i != 2),
                    &data[i as usize * 16..i as usize * 16 + 16],
                    Timestamp::default(),
                    &mut ov,
                );
                assert!(!ov);
            }
            assert_eq!(last, Outcome::Complete(data.clone()));
            assert_eq!(d.memory(), 0);
        }
    }

    #[test]
    fn overlap_with_different_data_is_flagged() {
        let mut d = Defrag::new(LIM);
        let mut ov = false;
        d.add(key(), fi(0, true), &[1; 16], Timestamp::default(), &mut ov);
        assert!(!ov);
        d.add(key(), fi(8, true), &[2; 16], Timestamp::default(), &mut ov);
        assert!(ov);
        let mut ov = false;
        let r = d.add(key(), fi(24, false), &[3; 8], Timestamp::default(), &mut ov);
        let mut want = vec![1u8; 16];
        want.extend([2; 8]);
        want.extend([3; 8]);
        assert_eq!(r, Outcome::Complete(want));
    }

    #[test]
    fn caps_and_timeouts() {
        let mut d = Defrag::new(LIM);
        for id in 0..100u32 {
            let mut ov = false;
            let k = DgKey { id, ..key() };
            d.add(k, fi(0, true), &[0; 8], Timestamp::from_micros(1, 0), &mut ov);
            assert!(d.len() <= 4);
        }
        assert_eq!(d.counters.cap_drops, 96);
        d.expire(Timestamp::from_micros(100, 0));
        assert_eq!(d.len(), 0);
        assert_eq!(d.memory(), 0);
        let mut ov = false;
        assert_eq!(
            d.add(key(), fi(65_530, false), &[0; 16], Timestamp::default(), &mut ov),
            Outcome::Dropped("frag_too_large")
        );
        let mut small = Defrag::new(DefragLimits { max_bytes: 10, ..LIM });
        assert_eq!(
            small.add(key(), fi(0, true), &[0; 16], Timestamp::default(), &mut ov),
            Outcome::Dropped("defrag.memcap")
        );
    }
}
