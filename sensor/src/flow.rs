//! Flow keys, Community ID v1, deterministic flow ids and the per-worker flow
//! table.
//!
//! A [`FlowKey`] is direction-less: the (address, port) pair that sorts first
//! is stored first, so both directions of a conversation find the same entry.
//! The [`FlowTable`] is a slab of entries indexed by a compact open-addressing
//! hash index (8 bytes per flow: the key is compared in the slot), with one
//! intrusive least-recently-used list per timeout class: expiring flows is a
//! walk from the head of each list that stops at the first flow still alive,
//! and the oldest idle flow (the eviction victim when the table is full) is
//! the oldest of the list heads. All expiry is driven by packet time.

use base64::Engine as _;
use centinela_events::mix64;
use centinela_events::{CommunityId, Timestamp};
use sha1::{Digest, Sha1};
use std::hash::{BuildHasher, Hasher};
use std::net::IpAddr;

/// A fast keyed hasher for the flow index: a multiply-rotate mix over the
/// key's words with a per-table random seed (so crafted flow keys cannot
/// aim at one bucket across runs), finished with a full avalanche. The
/// index is never iterated, so the seed does not affect output order.
#[derive(Debug, Clone, Copy)]
pub struct SeededState(u64);

impl SeededState {
    /// A state with a random seed.
    pub fn random() -> Self {
        Self(std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64) | 1)
    }
}

impl BuildHasher for SeededState {
    type Hasher = SeededHasher;
    fn build_hasher(&self) -> SeededHasher {
        SeededHasher(self.0)
    }
}

/// Hasher of [`SeededState`].
#[derive(Debug, Clone, Copy)]
pub struct SeededHasher(u64);

impl SeededHasher {
    #[inline]
    fn mix(&mut self, w: u64) {
        self.0 = (self.0 ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29);
    }
}

impl Hasher for SeededHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.mix(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 56));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.mix(u64::from(i));
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.mix(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.mix(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.mix(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.mix(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        mix64(self.0)
    }
}

/// A direction-less flow key: the two (address, port) ends in a fixed
/// order (`lo` ≤ `hi` as `(IpAddr, u16)` values compare), the IP protocol
/// and the VLAN ids. Each address is kept as two 64-bit words (an IPv4
/// address in the low half of the second word) with its family, so that
/// building, comparing and hashing a key, on every packet, are a few word
/// operations (a key of `IpAddr`s compared and moved enum by enum, 17-byte
/// fields at odd offsets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowKey {
    lo_addr: [u64; 2],
    hi_addr: [u64; 2],
    lo_port: u16,
    hi_port: u16,
    /// IP protocol number.
    pub proto: u8,
    /// Bit 0: the `lo` address is IPv6; bit 1: the `hi` one.
    v6: u8,
    /// VLAN ids (0 = absent).
    pub vlan: [u16; 2],
}

/// An address as two words and whether it is IPv6.
#[inline]
fn addr_words(ip: IpAddr) -> ([u64; 2], bool) {
    match ip {
        IpAddr::V4(a) => ([0, u64::from(u32::from(a))], false),
        IpAddr::V6(a) => {
            let v = u128::from(a);
            ([(v >> 64) as u64, v as u64], true)
        }
    }
}

/// The address of [`addr_words`]'s result.
fn addr_of(w: [u64; 2], v6: bool) -> IpAddr {
    if v6 {
        IpAddr::from(std::net::Ipv6Addr::from((u128::from(w[0]) << 64) | u128::from(w[1])))
    } else {
        IpAddr::from((w[1] as u32).to_be_bytes())
    }
}

/// Hashed as a few whole words, every compared field included (consistent
/// with `Eq`). Only the flow table's index uses it; `flow_id` has its own
/// hash.
impl std::hash::Hash for FlowKey {
    #[inline]
    fn hash<H: Hasher>(&self, h: &mut H) {
        let tail = (u64::from(self.lo_port) << 48)
            | (u64::from(self.hi_port) << 32)
            | (u64::from(self.vlan[0]) << 20)
            | (u64::from(self.vlan[1]) << 8)
            | u64::from(self.proto);
        if self.v6 == 0 {
            h.write_u64((self.lo_addr[1] << 32) | self.hi_addr[1]);
        } else {
            h.write_u64(u64::from(self.v6));
            h.write_u64(self.lo_addr[0]);
            h.write_u64(self.lo_addr[1]);
            h.write_u64(self.hi_addr[0]);
            h.write_u64(self.hi_addr[1]);
        }
        h.write_u64(tail);
    }
}

impl FlowKey {
    /// Build the key of a packet; returns the key and whether the packet's
    /// source is the `lo` end.
    #[inline]
    pub fn new(src: (IpAddr, u16), dst: (IpAddr, u16), proto: u8, vlan: [u16; 2]) -> (Self, bool) {
        let (sw, s6) = addr_words(src.0);
        let (dw, d6) = addr_words(dst.0);
        // The order of `(IpAddr, u16)`: IPv4 before IPv6, then the address
        // as a big-endian number (the words in order), then the port.
        let src_is_lo = (s6, sw, src.1) <= (d6, dw, dst.1);
        let (lo, hi) =
            if src_is_lo { ((sw, s6, src.1), (dw, d6, dst.1)) } else { ((dw, d6, dst.1), (sw, s6, src.1)) };
        let key = Self {
            lo_addr: lo.0,
            hi_addr: hi.0,
            lo_port: lo.2,
            hi_port: hi.2,
            proto,
            v6: u8::from(lo.1) | (u8::from(hi.1) << 1),
            vlan,
        };
        (key, src_is_lo)
    }

    /// The lower (address, port) end.
    pub fn lo(&self) -> (IpAddr, u16) {
        (addr_of(self.lo_addr, self.v6 & 1 != 0), self.lo_port)
    }

    /// The higher (address, port) end.
    pub fn hi(&self) -> (IpAddr, u16) {
        (addr_of(self.hi_addr, self.v6 & 2 != 0), self.hi_port)
    }

    /// The shard of a packet: a hash of the unordered IP pair and VLANs (so
    /// all flows between two hosts, and all their fragments, land on one
    /// worker). Deterministic across runs.
    pub fn shard(a: IpAddr, b: IpAddr, vlan: [u16; 2], n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        // Order-free: the sum of the two addresses' avalanched words.
        let word = |ip: IpAddr| match ip {
            IpAddr::V4(x) => mix64(u64::from(u32::from(x))),
            IpAddr::V6(x) => {
                let v = u128::from(x);
                mix64((v >> 64) as u64 ^ mix64(v as u64 ^ 0x6a09_e667_f3bc_c908))
            }
        };
        let v = (u64::from(vlan[0]) << 16) | u64::from(vlan[1]);
        let h = mix64(word(a).wrapping_add(word(b)) ^ v.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        (h % n as u64) as usize
    }

    /// Deterministic flow id: hash of the key and the flow's first packet
    /// time, kept to 53 bits so every JSON reader represents it exactly.
    pub fn flow_id(&self, first: Timestamp) -> u64 {
        let (lo, hi) = (self.lo(), self.hi());
        let mut h = Fnv::new();
        h.ip(lo.0);
        h.bytes(&lo.1.to_be_bytes());
        h.ip(hi.0);
        h.bytes(&hi.1.to_be_bytes());
        h.bytes(&[self.proto]);
        h.bytes(&self.vlan[0].to_be_bytes());
        h.bytes(&self.vlan[1].to_be_bytes());
        h.bytes(&first.secs.to_be_bytes());
        h.bytes(&first.nanos.to_be_bytes());
        let v = mix64(h.0) & ((1 << 53) - 1);
        if v == 0 { 1 } else { v }
    }
}

struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
    fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 ^= u64::from(x);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn ip(&mut self, ip: IpAddr) {
        match ip {
            IpAddr::V4(a) => self.bytes(&a.octets()),
            IpAddr::V6(a) => self.bytes(&a.octets()),
        }
    }
}

/// ICMP type pairs that Community ID treats as two-way (request → reply).
fn icmp_counterpart(v6: bool, ty: u8) -> Option<u8> {
    let pairs: &[(u8, u8)] = if v6 {
        &[
            (128, 129),
            (129, 128),
            (133, 134),
            (134, 133),
            (135, 136),
            (136, 135),
            (130, 131),
            (131, 130),
            (144, 145),
            (145, 144),
        ]
    } else {
        &[(8, 0), (0, 8), (13, 14), (14, 13), (15, 16), (16, 15), (10, 9), (9, 10), (17, 18), (18, 17)]
    };
    pairs.iter().find(|(a, _)| *a == ty).map(|(_, b)| *b)
}

/// Community ID v1 (seed 0) of a flow, as `1:<base64 sha1>`.
///
/// `sport`/`dport` are the transport ports; for ICMP pass the type and code
/// of the first packet (`icmp = Some(v6)`): they are mapped to the spec's
/// virtual ports.
pub fn community_id(
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    sport: u16,
    dport: u16,
    icmp: Option<bool>,
) -> CommunityId {
    let (mut sp, mut dp) = (sport, dport);
    let mut one_way = false;
    if let Some(v6) = icmp {
        let ty = sport as u8;
        match icmp_counterpart(v6, ty) {
            Some(other) => {
                sp = u16::from(ty);
                dp = u16::from(other);
            }
            None => {
                sp = u16::from(ty);
                dp = dport;
                one_way = true;
            }
        }
    }
    let (a, ap, b, bp) =
        if one_way || (src, sp) <= (dst, dp) { (src, sp, dst, dp) } else { (dst, dp, src, sp) };
    let mut h = Sha1::new();
    h.update(0u16.to_be_bytes());
    match (a, b) {
        (IpAddr::V4(x), IpAddr::V4(y)) => {
            h.update(x.octets());
            h.update(y.octets());
        }
        (x, y) => {
            h.update(v6_octets(x));
            h.update(v6_octets(y));
        }
    }
    h.update([proto, 0]);
    if matches!(proto, 1 | 6 | 17 | 58 | 132) {
        h.update(ap.to_be_bytes());
        h.update(bp.to_be_bytes());
    }
    let digest = h.finalize();
    // `1:` and the 28 base64 characters of the 20-byte digest, assembled on
    // the stack and kept inline (no allocation per flow).
    let mut text = [0u8; 30];
    text[..2].copy_from_slice(b"1:");
    let n = base64::engine::general_purpose::STANDARD.encode_slice(digest, &mut text[2..]).unwrap_or(0);
    // Base64 output is ASCII, 30 bytes in all: it fits.
    CommunityId::new(core::str::from_utf8(&text[..2 + n]).unwrap_or("1:")).unwrap_or_default()
}

fn v6_octets(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(x) => x.to_ipv6_mapped().octets(),
        IpAddr::V6(x) => x.octets(),
    }
}

/// Timeout classes: one LRU list each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// TCP before the handshake completed.
    TcpNew = 0,
    /// TCP established.
    TcpEstablished = 1,
    /// TCP after FIN/RST.
    TcpClosed = 2,
    /// UDP.
    Udp = 3,
    /// ICMP and others.
    Other = 4,
}

/// Number of timeout classes.
pub const CLASSES: usize = 5;

const NIL: u32 = u32::MAX;

struct Slot<V> {
    key: FlowKey,
    last: Timestamp,
    class: Class,
    prev: u32,
    next: u32,
    val: Option<V>,
}

/// The flow table's index: open addressing with linear probing over 8-byte
/// entries (32 bits of the key's hash, then the slot id + 1; 0 is empty),
/// at most half full (it doubles before), deletion by backward shift (no
/// tombstones). Only the hash is stored: a candidate's key is compared in
/// its slot, which the caller reads next anyway. For tens of thousands of
/// flows the index fits the L2 cache, where a map holding whole keys (56
/// bytes a bucket) missed it on most packets. Capacity: the next power of two
/// of twice the flows held, so at most 16 bytes per flow of the table's cap.
struct Index {
    entries: Vec<u64>,
    len: usize,
    hasher: SeededState,
}

/// Entries of a new index.
const INDEX_MIN: usize = 64;

impl Index {
    fn new() -> Self {
        Self { entries: vec![0; INDEX_MIN], len: 0, hasher: SeededState::random() }
    }

    #[inline]
    fn hash(&self, key: &FlowKey) -> u32 {
        self.hasher.hash_one(key) as u32
    }

    fn mask(&self) -> usize {
        self.entries.len() - 1
    }

    /// The position and slot id of `key`, whose hash is `h`; `is` says
    /// whether a slot holds it.
    #[inline]
    fn find(&self, h: u32, mut is: impl FnMut(u32) -> bool) -> Option<(usize, u32)> {
        let mask = self.mask();
        let mut i = h as usize & mask;
        loop {
            let e = *self.entries.get(i)?;
            if e == 0 {
                return None;
            }
            let id = (e as u32).wrapping_sub(1);
            if (e >> 32) as u32 == h && is(id) {
                return Some((i, id));
            }
            i = (i + 1) & mask;
        }
    }

    /// Add slot `id` under hash `h` (not present yet).
    fn insert(&mut self, h: u32, id: u32) {
        if (self.len + 1) * 2 > self.entries.len() {
            self.grow();
        }
        self.place((u64::from(h) << 32) | u64::from(id.wrapping_add(1)));
        self.len += 1;
    }

    fn place(&mut self, e: u64) {
        let mask = self.mask();
        let mut i = (e >> 32) as usize & mask;
        while let Some(slot) = self.entries.get_mut(i) {
            if *slot == 0 {
                *slot = e;
                return;
            }
            i = (i + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let doubled = vec![0; self.entries.len() * 2];
        let old = std::mem::replace(&mut self.entries, doubled);
        for e in old.into_iter().filter(|&e| e != 0) {
            self.place(e);
        }
    }

    /// Remove the entry at `pos`, shifting back the entries of its probe
    /// run that may move closer to their home position.
    fn remove_at(&mut self, pos: usize) {
        let mask = self.mask();
        let mut hole = pos;
        if let Some(e) = self.entries.get_mut(hole) {
            *e = 0;
        }
        self.len = self.len.saturating_sub(1);
        let mut j = (hole + 1) & mask;
        loop {
            let e = self.entries[j];
            if e == 0 {
                return;
            }
            let home = (e >> 32) as usize & mask;
            // `e` stays if its home lies cyclically in (hole, j].
            let stays = if hole <= j { hole < home && home <= j } else { hole < home || home <= j };
            if !stays {
                self.entries[hole] = e;
                self.entries[j] = 0;
                hole = j;
            }
            j = (j + 1) & mask;
        }
    }
}

/// A bounded flow table: slab + index + LRU lists per timeout class.
pub struct FlowTable<V> {
    slots: Vec<Slot<V>>,
    free: Vec<u32>,
    index: Index,
    heads: [u32; CLASSES],
    tails: [u32; CLASSES],
    cap: usize,
    len: usize,
    /// The slot last found or inserted: consecutive packets of one flow
    /// (half of an ICS mix's packets) skip the hash and the index probe.
    /// Only a hint: it is used when that slot is live and holds the key.
    last: u32,
}

impl<V> std::fmt::Debug for FlowTable<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowTable").field("len", &self.len).field("cap", &self.cap).finish()
    }
}

impl<V> FlowTable<V> {
    /// A table holding at most `cap` flows.
    pub fn new(cap: usize) -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            index: Index::new(),
            heads: [NIL; CLASSES],
            tails: [NIL; CLASSES],
            cap: cap.max(1),
            len: 0,
            last: NIL,
        }
    }

    /// Flows held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no flow is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when inserting needs an eviction first.
    pub fn is_full(&self) -> bool {
        self.len >= self.cap
    }

    /// Look a flow up.
    pub fn get(&mut self, key: &FlowKey) -> Option<u32> {
        let slots = &self.slots;
        let live = |id: u32| slots.get(id as usize).is_some_and(|s| s.val.is_some() && s.key == *key);
        // A live slot holding `key` is the only one: the index would find it.
        if live(self.last) {
            return Some(self.last);
        }
        let id = self.index.find(self.index.hash(key), live).map(|(_, id)| id)?;
        self.last = id;
        Some(id)
    }

    /// The value of a slot.
    pub fn val_mut(&mut self, id: u32) -> Option<&mut V> {
        self.slots.get_mut(id as usize).and_then(|s| s.val.as_mut())
    }

    /// The value of a slot.
    pub fn val(&self, id: u32) -> Option<&V> {
        self.slots.get(id as usize).and_then(|s| s.val.as_ref())
    }

    /// The flow after `id` in its class's list: the next one to time out.
    pub fn newer(&self, id: u32) -> Option<u32> {
        self.slots.get(id as usize).map(|s| s.next).filter(|&n| n != NIL)
    }

    /// Ask the CPU to fetch slot `id` (every line of it), without reading
    /// it: a hint before the slot is used, no effect on results.
    pub fn prefetch_slot(&self, id: u32) {
        if let Some(s) = self.slots.get(id as usize) {
            crate::batch::prefetch_value(s);
        }
    }

    /// Ask the CPU to fetch the index entry that leads to slot `id` (read
    /// by [`Self::remove`]); reads the slot's key.
    pub fn prefetch_index(&self, id: u32) {
        if let Some(s) = self.slots.get(id as usize) {
            let i = self.index.hash(&s.key) as usize & self.index.mask();
            if let Some(e) = self.index.entries.get(i) {
                crate::batch::prefetch_value(e);
            }
        }
    }

    /// The key of a slot.
    pub fn key(&self, id: u32) -> Option<&FlowKey> {
        self.slots.get(id as usize).filter(|s| s.val.is_some()).map(|s| &s.key)
    }

    fn unlink(&mut self, id: u32) {
        let (prev, next, class) = {
            let s = &self.slots[id as usize];
            (s.prev, s.next, s.class as usize)
        };
        if prev == NIL {
            self.heads[class] = next;
        } else {
            self.slots[prev as usize].next = next;
        }
        if next == NIL {
            self.tails[class] = prev;
        } else {
            self.slots[next as usize].prev = prev;
        }
        let s = &mut self.slots[id as usize];
        s.prev = NIL;
        s.next = NIL;
    }

    fn push_tail(&mut self, id: u32, class: Class) {
        let c = class as usize;
        let tail = self.tails[c];
        {
            let s = &mut self.slots[id as usize];
            s.class = class;
            s.prev = tail;
            s.next = NIL;
        }
        if tail == NIL {
            self.heads[c] = id;
        } else {
            self.slots[tail as usize].next = id;
        }
        self.tails[c] = id;
    }

    /// Insert a new flow (the caller evicts first when [`Self::is_full`]).
    /// Returns `None` when the table is full.
    pub fn insert(&mut self, key: FlowKey, now: Timestamp, class: Class, val: V) -> Option<u32> {
        if self.is_full() {
            return None;
        }
        let id = if let Some(id) = self.free.pop() {
            let s = &mut self.slots[id as usize];
            s.key = key;
            s.last = now;
            s.val = Some(val);
            id
        } else {
            let id = u32::try_from(self.slots.len()).ok()?;
            self.slots.push(Slot { key, last: now, class, prev: NIL, next: NIL, val: Some(val) });
            id
        };
        let h = self.index.hash(&key);
        self.index.insert(h, id);
        self.push_tail(id, class);
        self.len += 1;
        self.last = id;
        Some(id)
    }

    /// Record activity at `now` (moves the flow to its class tail, possibly
    /// changing class).
    pub fn touch(&mut self, id: u32, now: Timestamp, class: Class) {
        let Some(s) = self.slots.get_mut(id as usize).filter(|s| s.val.is_some()) else {
            return;
        };
        // Already the most recent of its class (consecutive packets of one
        // flow): the order stays as it is, so the neighbours' slots (other
        // flows, likely not in cache) are not touched.
        if s.class == class && self.tails[class as usize] == id {
            if now > s.last {
                s.last = now;
            }
            return;
        }
        self.unlink(id);
        let s = &mut self.slots[id as usize];
        if now > s.last {
            s.last = now;
        }
        self.push_tail(id, class);
    }

    /// Remove a flow and return its key and value.
    pub fn remove(&mut self, id: u32) -> Option<(FlowKey, V)> {
        let val = self.slots.get_mut(id as usize)?.val.take()?;
        self.unlink(id);
        let key = self.slots[id as usize].key;
        if let Some((pos, _)) = self.index.find(self.index.hash(&key), |i| i == id) {
            self.index.remove_at(pos);
        }
        self.free.push(id);
        self.len -= 1;
        Some((key, val))
    }

    /// The head (least recently active) flow of a class and its last time.
    pub fn oldest_in(&self, class: Class) -> Option<(u32, Timestamp)> {
        let h = self.heads[class as usize];
        (h != NIL).then(|| (h, self.slots[h as usize].last))
    }

    /// The least recently active flow across all classes.
    pub fn oldest(&self) -> Option<u32> {
        let mut best: Option<(u32, Timestamp)> = None;
        for c in [Class::TcpClosed, Class::Udp, Class::Other, Class::TcpNew, Class::TcpEstablished] {
            if let Some((id, t)) = self.oldest_in(c)
                && best.is_none_or(|(_, bt)| t < bt)
            {
                best = Some((id, t));
            }
        }
        best.map(|(id, _)| id)
    }

    /// Every flow id, in class order then least-recent first (deterministic).
    pub fn ids(&self) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.len);
        for c in 0..CLASSES {
            let mut cur = self.heads[c];
            while cur != NIL {
                out.push(cur);
                cur = self.slots[cur as usize].next;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn community_id_matches_spec_vectors() {
        // Vectors from the Community ID spec (corelight/community-id-spec).
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            community_id(ip("128.232.110.120"), ip("66.35.250.204"), 6, 34855, 80, None),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg=".into()
        );
        assert_eq!(
            community_id(ip("66.35.250.204"), ip("128.232.110.120"), 6, 80, 34855, None),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg=".into()
        );
        assert_eq!(
            community_id(ip("192.168.1.52"), ip("8.8.8.8"), 17, 54585, 53, None),
            "1:d/FP5EW3wiY1vCndhwleRRKHowQ=".into()
        );
        assert_eq!(
            community_id(ip("192.168.0.89"), ip("192.168.0.1"), 1, 8, 0, Some(false)),
            "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=".into()
        );
        assert_eq!(
            community_id(ip("192.168.0.1"), ip("192.168.0.89"), 1, 0, 0, Some(false)),
            "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=".into()
        );
        assert_eq!(
            community_id(
                ip("fe80::200:86ff:fe05:80da"),
                ip("fe80::260:97ff:fe07:69ea"),
                58,
                135,
                0,
                Some(true)
            ),
            "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=".into()
        );
    }

    #[test]
    fn key_is_direction_less_and_ids_are_stable() {
        let a = ("10.0.0.1".parse().unwrap(), 1000);
        let b = ("10.0.0.2".parse().unwrap(), 502);
        let (k1, f1) = FlowKey::new(a, b, 6, [0, 0]);
        let (k2, f2) = FlowKey::new(b, a, 6, [0, 0]);
        assert_eq!(k1, k2);
        assert_ne!(f1, f2);
        let t = Timestamp::from_micros(100, 5);
        assert_eq!(k1.flow_id(t), k2.flow_id(t));
        assert_ne!(k1.flow_id(t), k1.flow_id(Timestamp::from_micros(100, 6)));
        assert_eq!(FlowKey::shard(a.0, b.0, [0, 0], 4), FlowKey::shard(b.0, a.0, [0, 0], 4));
    }

    /// The IPv4 integer comparison orients keys exactly as the derived
    /// `(IpAddr, u16)` order does (addresses differing in any octet, equal
    /// addresses with any ports, mixed families).
    #[test]
    fn key_orientation_matches_the_derived_order() {
        let addrs: Vec<IpAddr> = [
            "0.0.0.0",
            "0.0.0.1",
            "1.0.0.0",
            "10.0.0.1",
            "10.0.1.0",
            "127.255.255.255",
            "128.0.0.0",
            "192.168.1.1",
            "255.255.255.255",
            "::1",
            "fe80::1",
        ]
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
        for &a in &addrs {
            for &b in &addrs {
                for (pa, pb) in [(0u16, 0u16), (1, 0), (0, 1), (502, 40000), (65535, 65535)] {
                    let (k, src_is_lo) = FlowKey::new((a, pa), (b, pb), 6, [0, 0]);
                    assert_eq!(src_is_lo, (a, pa) <= (b, pb), "{a}:{pa} {b}:{pb}");
                    assert!(k.lo() <= k.hi());
                    assert_eq!(
                        if src_is_lo { ((a, pa), (b, pb)) } else { ((b, pb), (a, pa)) },
                        (k.lo(), k.hi())
                    );
                }
            }
        }
    }

    #[test]
    fn shards_spread_pairs_evenly() {
        let mut n = [0u32; 4];
        let server: IpAddr = "10.0.0.1".parse().unwrap();
        for i in 0..4000u32 {
            let client = IpAddr::from((0x0a01_0000u32 + i).to_be_bytes());
            n[FlowKey::shard(client, server, [0, 0], 4)] += 1;
            let v6 = IpAddr::from(std::net::Ipv6Addr::from((u128::from(i) << 64) | 7));
            n[FlowKey::shard(v6, server, [0, 5], 4)] += 1;
            assert_eq!(FlowKey::shard(client, server, [0, 0], 1), 0);
        }
        assert!(n.iter().all(|c| (1600..2400).contains(c)), "{n:?}");
    }

    #[test]
    fn table_lru_and_cap() {
        let mut t: FlowTable<u32> = FlowTable::new(2);
        let k = |p: u16| {
            FlowKey::new(("1.1.1.1".parse().unwrap(), p), ("2.2.2.2".parse().unwrap(), 1), 17, [0, 0]).0
        };
        let a = t.insert(k(1), Timestamp::from_micros(1, 0), Class::Udp, 1).unwrap();
        let b = t.insert(k(2), Timestamp::from_micros(2, 0), Class::Udp, 2).unwrap();
        assert!(t.insert(k(3), Timestamp::from_micros(3, 0), Class::Udp, 3).is_none());
        assert_eq!(t.oldest(), Some(a));
        t.touch(a, Timestamp::from_micros(4, 0), Class::Udp);
        assert_eq!(t.oldest(), Some(b));
        assert_eq!(t.remove(b).map(|x| x.1), Some(2));
        assert_eq!(t.len(), 1);
        let c = t.insert(k(3), Timestamp::from_micros(5, 0), Class::Other, 3).unwrap();
        assert_eq!(c, b, "slot reused");
        assert_eq!(t.ids(), vec![a, c]);
        assert_eq!(t.get(&k(3)), Some(c));
        assert_eq!(t.get(&k(2)), None);
    }

    /// A deterministic xorshift64 sequence from `seed`.
    fn xorshift(mut rng: u64) -> impl FnMut() -> u64 {
        move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        }
    }

    /// The index against a `HashMap`, through the table: random inserts,
    /// lookups and removals of keys from a small pool (so that probe runs
    /// collide, wrap around the end and are shifted back), over several
    /// doublings and back down to empty.
    #[test]
    fn index_matches_a_hash_map() {
        use std::collections::HashMap;
        let mut t: FlowTable<u16> = FlowTable::new(5_000);
        let mut model: HashMap<FlowKey, u32> = HashMap::new();
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
        let k = |p: u16| {
            FlowKey::new(("10.0.0.1".parse().unwrap(), p), ("10.0.0.2".parse().unwrap(), 502), 6, [0, 0]).0
        };
        let now = Timestamp::from_micros(1, 0);
        for step in 0..60_000u32 {
            let r = next();
            // Grow for the first half, then mostly remove.
            let insert_bias = if step < 30_000 { 6 } else { 2 };
            let port = (r >> 8) as u16 % 6_000;
            let key = k(port);
            if r % 10 < insert_bias {
                model.entry(key).or_insert_with(|| t.insert(key, now, Class::TcpEstablished, port).unwrap());
            } else if let Some(id) = model.remove(&key) {
                assert_eq!(t.remove(id).map(|x| x.1), Some(port));
            }
            assert_eq!(t.get(&key), model.get(&key).copied(), "step {step}");
            if step % 997 == 0 {
                for (key, id) in &model {
                    assert_eq!(t.get(key), Some(*id));
                }
                assert_eq!(t.len(), model.len());
            }
        }
        for (_, id) in model.drain() {
            assert!(t.remove(id).is_some());
        }
        assert!(t.is_empty());
        assert_eq!(t.index.len, 0);
        assert!(t.index.entries.iter().all(|&e| e == 0));
        assert!(t.index.entries.len() >= 8_192, "grew: {}", t.index.entries.len());
    }

    /// The last-found hint never answers for a flow that left: the slot it
    /// names is removed, then reused by another flow.
    #[test]
    fn last_found_hint_follows_removal_and_reuse() {
        let mut t: FlowTable<u16> = FlowTable::new(8);
        let k = |p: u16| {
            FlowKey::new(("10.0.0.1".parse().unwrap(), p), ("10.0.0.2".parse().unwrap(), 502), 6, [0, 0]).0
        };
        let now = Timestamp::from_micros(1, 0);
        let a = t.insert(k(1), now, Class::Udp, 1).unwrap();
        let b = t.insert(k(2), now, Class::Udp, 2).unwrap();
        assert_eq!(t.get(&k(1)), Some(a));
        assert_eq!(t.get(&k(1)), Some(a), "hint hit");
        assert_eq!(t.get(&k(2)), Some(b), "hint miss, index hit");
        assert_eq!(t.remove(b).map(|x| x.1), Some(2));
        assert_eq!(t.get(&k(2)), None, "the hinted slot is empty");
        let c = t.insert(k(3), now, Class::Udp, 3).unwrap();
        assert_eq!(c, b, "the freed slot is reused");
        assert_eq!(t.get(&k(2)), None, "the hinted slot holds another key");
        assert_eq!(t.get(&k(3)), Some(c));
        assert_eq!(t.get(&k(1)), Some(a));
    }

    /// Random inserts, touches (often of the flow touched last, which keeps
    /// the order without relinking), class changes and removals, against a
    /// model that orders flows by class, then by last touch: the lists, the
    /// oldest flow and every flow's last time always agree.
    #[test]
    fn lru_order_matches_a_model() {
        const CLS: [Class; 3] = [Class::Udp, Class::TcpNew, Class::TcpEstablished];
        let mut t: FlowTable<u32> = FlowTable::new(64);
        // (id, class, touch sequence number, last time)
        let mut model: Vec<(u32, Class, u64, Timestamp)> = Vec::new();
        let mut next = xorshift(0x2545_f491_4f6c_dd1d);
        let k = |p: u16| {
            FlowKey::new(("1.1.1.1".parse().unwrap(), p), ("2.2.2.2".parse().unwrap(), 1), 17, [0, 0]).0
        };
        let mut last_touched = None;
        for step in 0..20_000u64 {
            let now = Timestamp::from_micros(1_000 + (step / 7) as i64, (step % 7) as u32);
            let r = next();
            let class = CLS[(r % 3) as usize];
            match (r >> 8) % 10 {
                0 | 1 if model.len() < 64 => {
                    let port = (r >> 16) as u16;
                    if t.get(&k(port)).is_none() {
                        let id = t.insert(k(port), now, class, u32::from(port)).unwrap();
                        model.push((id, class, step, now));
                        last_touched = Some(id);
                    }
                }
                2 if !model.is_empty() => {
                    let i = (r >> 16) as usize % model.len();
                    let (id, ..) = model.remove(i);
                    assert!(t.remove(id).is_some());
                }
                _ if !model.is_empty() => {
                    // Mostly the flow touched last, with its class kept.
                    let (id, class) = match (last_touched, (r >> 20) % 4) {
                        (Some(id), 0..=2) if model.iter().any(|m| m.0 == id) => {
                            let c = model.iter().find(|m| m.0 == id).map(|m| m.1).unwrap();
                            (id, if (r >> 24).is_multiple_of(8) { class } else { c })
                        }
                        _ => (model[(r >> 16) as usize % model.len()].0, class),
                    };
                    t.touch(id, now, class);
                    let m = model.iter_mut().find(|m| m.0 == id).unwrap();
                    *m = (id, class, step, now.max(m.3));
                    last_touched = Some(id);
                }
                _ => {}
            }
            let mut want = model.clone();
            want.sort_by_key(|m| (m.1 as usize, m.2));
            assert_eq!(t.ids(), want.iter().map(|m| m.0).collect::<Vec<_>>(), "step {step}");
            for c in CLS {
                let head = want.iter().find(|m| m.1 == c).map(|m| (m.0, m.3));
                assert_eq!(t.oldest_in(c), head, "step {step}");
                // `newer` walks the class from its oldest, as timeouts do.
                let order: Vec<u32> = want.iter().filter(|m| m.1 == c).map(|m| m.0).collect();
                let walked: Vec<u32> = std::iter::successors(head.map(|h| h.0), |&id| t.newer(id)).collect();
                assert_eq!(walked, order, "step {step}");
            }
        }
    }
}
