//! The resolved-address table: (client, answer address) → the domain hash
//! of the (client, domain) pair whose lookup returned that address, so that
//! a later connection from the client to the address can be tied to the
//! pair.
//!
//! Bounded by `max_resolved` entries in two generations: when the newer one
//! holds half the cap, the older one is emptied and the two swap (a
//! rotation, counted). Every response with addresses inserts here, so the
//! table is on the DNS hot path and its size decides whether it stays in
//! the cache: IPv4 pairs (nearly all of them) are keyed by one 64-bit word
//! in 16-byte entries, a quarter of what a generic entry of two `IpAddr`s
//! and a pair key takes; other pairs keep the generic entry. The IPv4 word
//! is the two addresses packed and put through a bijective mixer, so keys
//! stay exact (no false match) and hash well with the identity.

use super::Fx;
use centinela_events::mix64;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::IpAddr;

/// The identity hash of an already mixed `u64` key.
#[derive(Default)]
pub(super) struct Premixed(u64);

impl Hasher for Premixed {
    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are hashed here; bytes are folded for
        // completeness.
        for &b in bytes {
            self.0 = mix64(self.0 ^ u64::from(b));
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// The exact key of an IPv4 pair.
fn v4_key(client: IpAddr, addr: IpAddr) -> Option<u64> {
    match (client, addr) {
        (IpAddr::V4(c), IpAddr::V4(a)) => {
            Some(mix64((u64::from(u32::from(c)) << 32) | u64::from(u32::from(a))))
        }
        _ => None,
    }
}

/// One generation.
#[derive(Debug, Default)]
struct Gen {
    v4: HashMap<u64, u64, BuildHasherDefault<Premixed>>,
    other: HashMap<(IpAddr, IpAddr), u64, Fx>,
}

impl Gen {
    fn len(&self) -> usize {
        self.v4.len() + self.other.len()
    }

    fn get(&self, client: IpAddr, addr: IpAddr) -> Option<u64> {
        match v4_key(client, addr) {
            Some(k) => self.v4.get(&k).copied(),
            None => self.other.get(&(client, addr)).copied(),
        }
    }
}

/// Bytes of one IPv4 entry and of one other entry (the element and its
/// control byte).
const V4_SLOT: usize = std::mem::size_of::<(u64, u64)>() + 1;
const OTHER_SLOT: usize = std::mem::size_of::<((IpAddr, IpAddr), u64)>() + 1;

/// See the module documentation.
#[derive(Debug, Default)]
pub(super) struct Resolved {
    gens: [Gen; 2],
}

impl Resolved {
    /// Record that `client` got `addr` for the pair whose domain hash is
    /// `domain`, `cap` bounding the entries held. Returns true when the
    /// insert rotated the generations first.
    pub(super) fn insert(&mut self, cap: usize, client: IpAddr, addr: IpAddr, domain: u64) -> bool {
        let rotated = self.gens[0].len() >= cap / 2;
        if rotated {
            self.gens.swap(0, 1);
            self.gens[0].v4.clear();
            self.gens[0].other.clear();
        }
        match v4_key(client, addr) {
            Some(k) => {
                self.gens[0].v4.insert(k, domain);
            }
            None => {
                self.gens[0].other.insert((client, addr), domain);
            }
        }
        rotated
    }

    /// The domain hash `client` last got `addr` for, newer generation
    /// first.
    pub(super) fn get(&self, client: IpAddr, addr: IpAddr) -> Option<u64> {
        self.gens[0].get(client, addr).or_else(|| self.gens[1].get(client, addr))
    }

    /// Entries held.
    pub(super) fn len(&self) -> usize {
        self.gens[0].len() + self.gens[1].len()
    }

    /// Bytes held (tables at their capacity).
    pub(super) fn memory(&self) -> usize {
        self.gens.iter().map(|g| g.v4.capacity() * V4_SLOT + g.other.capacity() * OTHER_SLOT).sum()
    }

    /// Upper bound of [`Self::memory`] for `cap`: in each generation, both
    /// tables at the bucket count of half the cap (an emptied table keeps
    /// its capacity, so each may have reached it in an earlier round).
    pub(super) fn worst_case_memory(cap: usize, buckets: fn(usize) -> usize) -> usize {
        2 * buckets(cap / 2) * (V4_SLOT + OTHER_SLOT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn v4_keys_are_exact_and_distinct_from_swapped_pairs() {
        let mut r = Resolved::default();
        r.insert(100, v4("10.0.0.1"), v4("192.0.2.7"), 11);
        r.insert(100, v4("192.0.2.7"), v4("10.0.0.1"), 22);
        r.insert(100, v4("10.0.0.1"), "2001:db8::7".parse().unwrap(), 33);
        assert_eq!(r.get(v4("10.0.0.1"), v4("192.0.2.7")), Some(11));
        assert_eq!(r.get(v4("192.0.2.7"), v4("10.0.0.1")), Some(22));
        assert_eq!(r.get(v4("10.0.0.1"), "2001:db8::7".parse().unwrap()), Some(33));
        assert_eq!(r.get(v4("10.0.0.1"), v4("192.0.2.8")), None);
        // Another client that got no answer for the address has no entry.
        assert_eq!(r.get(v4("10.0.0.2"), v4("192.0.2.7")), None);
        // An IPv4-mapped IPv6 address is another key than the IPv4 one.
        assert_eq!(r.get(v4("10.0.0.1"), "::ffff:192.0.2.7".parse().unwrap()), None);
        assert_eq!(r.len(), 3);
        // A newer answer replaces the domain.
        r.insert(100, v4("10.0.0.1"), v4("192.0.2.7"), 44);
        assert_eq!(r.get(v4("10.0.0.1"), v4("192.0.2.7")), Some(44));
        assert_eq!(r.len(), 3);
    }

    #[test]
    fn the_cap_rotates_generations_and_keeps_the_newer_half() {
        let mut r = Resolved::default();
        let cap = 8;
        let addr = |i: u32| IpAddr::from(std::net::Ipv4Addr::from(0xc000_0200 + i));
        let mut rotations = 0;
        for i in 0..20u32 {
            rotations += u32::from(r.insert(cap, v4("10.0.0.1"), addr(i), u64::from(i)));
            assert!(r.len() <= cap, "len {} after {i}", r.len());
        }
        // Generations of 4: rotations before inserts 4, 8, 12 and 16.
        assert_eq!(rotations, 4);
        // The last two generations (inserts 12..20) are kept, older ones not.
        for i in 0..20u32 {
            let want = (i >= 12).then_some(u64::from(i));
            assert_eq!(r.get(v4("10.0.0.1"), addr(i)), want, "addr {i}");
        }
        assert!(r.memory() > 0);
        let buckets = |n: usize| (n * 8 / 7 + 1).next_power_of_two();
        assert!(r.memory() <= Resolved::worst_case_memory(cap, buckets));
    }
}
