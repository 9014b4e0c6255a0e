//! CRC-16/DNP (poly 0x3D65, reflected, final XOR 0xFFFF; IEEE 1815-2012
//! §9.2.4.1.3), table-driven slice-by-N.
//!
//! The sixteen 256-entry tables are the `crc` crate's `Table<16>` tables,
//! built at compile time. The crate's own `checksum` runs slice-by-16 over
//! whole 16-octet chunks and then one octet at a time, which is the common
//! case here: the link header CRC covers 8 octets and the last data block of
//! a frame 1..=15. So the update below folds any chunk of 16, 8, 4 or 2
//! octets in one step (all of its table lookups independent), leaving at most
//! one octet for the byte-wise step, and it is inlined into the link parser.

use crc::{Crc, Table};

/// The CRC definition with its slice-by-16 tables (compile time).
const DNP: Crc<u16, Table<16>> = Crc::<u16, Table<16>>::new(&crc::CRC_16_DNP);

/// `TABLES[k][b]`: the CRC register contribution of octet `b` followed by
/// `k` zero octets (reflected), so an `N`-octet chunk folds with
/// `TABLES[N-1..=0]`.
static TABLES: [[u16; 256]; 16] = *DNP.table();

/// Initial register (the algorithm's init, 0; reflected).
const INIT: u16 = crc::CRC_16_DNP.init;
/// Final XOR.
const XOROUT: u16 = crc::CRC_16_DNP.xorout;

// The update below is the reflected form; CRC-16/DNP is reflected in and out.
const _: () = assert!(crc::CRC_16_DNP.refin && crc::CRC_16_DNP.refout && crc::CRC_16_DNP.width == 16);

/// Fold an `N`-octet chunk (2 ≤ `N` ≤ 16) into the register in one step.
#[inline(always)]
fn fold<const N: usize>(crc: u16, chunk: &[u8; N]) -> u16 {
    let [lo, hi] = crc.to_le_bytes();
    let mut acc = 0u16;
    let mut i = 0;
    while i < N {
        let b = match i {
            0 => chunk[0] ^ lo,
            1 => chunk[1] ^ hi,
            _ => chunk[i],
        };
        acc ^= TABLES[N - 1 - i][usize::from(b)];
        i += 1;
    }
    acc
}

/// Fold `data` into the register: 16 octets at a time, then one 8-, 4-, 2-
/// and 1-octet step as the remainder needs.
#[inline(always)]
fn update(mut crc: u16, data: &[u8]) -> u16 {
    let (chunks, mut rest) = data.as_chunks::<16>();
    for c in chunks {
        crc = fold(crc, c);
    }
    if let Some((c, r)) = rest.split_first_chunk::<8>() {
        crc = fold(crc, c);
        rest = r;
    }
    if let Some((c, r)) = rest.split_first_chunk::<4>() {
        crc = fold(crc, c);
        rest = r;
    }
    if let Some((c, r)) = rest.split_first_chunk::<2>() {
        crc = fold(crc, c);
        rest = r;
    }
    if let Some(&b) = rest.first() {
        crc = TABLES[0][usize::from((crc as u8) ^ b)] ^ (crc >> 8);
    }
    crc
}

/// CRC-16/DNP of `data`.
#[inline]
pub(crate) fn checksum(data: &[u8]) -> u16 {
    update(INIT, data) ^ XOROUT
}

/// Whether `data` followed by the little-endian CRC in `crc` is intact.
/// Always true under `cfg(fuzzing)` so that fuzzers reach the bodies.
#[inline]
pub(crate) fn check(data: &[u8], crc: [u8; 2]) -> bool {
    cfg!(fuzzing) || checksum(data) == u16::from_le_bytes(crc)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn catalog_check_value() {
        // CRC-16/DNP check value over "123456789".
        assert_eq!(checksum(b"123456789"), 0xEA82);
    }

    #[test]
    fn every_length_matches_the_crc_crate() {
        // Every remainder path (16/8/4/2/1 steps) against the crate's own
        // implementation, on varied data.
        let data: Vec<u8> = (0..300u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for start in 0..3 {
            for end in start..data.len() {
                let d = &data[start..end];
                assert_eq!(checksum(d), DNP.checksum(d), "len {}", d.len());
            }
        }
    }
}
