//! CRC-16/DNP (poly 0x3D65, reflected, final XOR 0xFFFF; IEEE 1815-2012
//! §9.2.4.1.3), table-driven slice-by-16, the tables built at compile time.

use crc::{Crc, Table};

/// The CRC engine: a `const`, so no runtime initialisation or allocation.
static DNP: Crc<u16, Table<16>> = Crc::<u16, Table<16>>::new(&crc::CRC_16_DNP);

/// CRC-16/DNP of `data`.
#[inline]
pub(crate) fn checksum(data: &[u8]) -> u16 {
    DNP.checksum(data)
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
}
