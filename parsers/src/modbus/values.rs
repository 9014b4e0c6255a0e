//! Borrowed, lazy views of register and coil values.

use core::iter::FusedIterator;

/// Big-endian 16-bit register values borrowed from the frame. Iterating
/// yields `u16`s; nothing is copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Registers<'a> {
    bytes: &'a [u8],
}

impl<'a> Registers<'a> {
    /// View `bytes` as registers. An odd trailing byte is not a register and
    /// is ignored (the parser flags it as `byte_count_mismatch`).
    #[must_use]
    pub fn new(bytes: &'a [u8]) -> Self {
        let even = bytes.len() & !1;
        Self { bytes: &bytes[..even] }
    }

    /// Number of registers.
    #[must_use]
    pub fn len(&self) -> usize {
        self.bytes.len() / 2
    }

    /// True when there is no register.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Register `i`, if present.
    #[must_use]
    pub fn get(&self, i: usize) -> Option<u16> {
        let b = self.bytes.get(i.checked_mul(2)?..i.checked_mul(2)?.checked_add(2)?)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }

    /// The raw big-endian bytes (even length).
    #[must_use]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// A lazy iterator of the values.
    #[must_use]
    pub fn iter(&self) -> RegisterIter<'a> {
        RegisterIter { chunks: self.bytes.chunks_exact(2) }
    }
}

impl<'a> IntoIterator for Registers<'a> {
    type Item = u16;
    type IntoIter = RegisterIter<'a>;
    fn into_iter(self) -> RegisterIter<'a> {
        self.iter()
    }
}

/// Iterator over [`Registers`].
#[derive(Debug, Clone)]
pub struct RegisterIter<'a> {
    chunks: core::slice::ChunksExact<'a, u8>,
}

impl Iterator for RegisterIter<'_> {
    type Item = u16;
    #[inline]
    fn next(&mut self) -> Option<u16> {
        self.chunks.next().map(|c| u16::from_be_bytes([c[0], c[1]]))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}
impl ExactSizeIterator for RegisterIter<'_> {}
impl FusedIterator for RegisterIter<'_> {}

/// Packed coil / discrete-input bits borrowed from the frame (LSB of the
/// first byte is the first bit, §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bits<'a> {
    bytes: &'a [u8],
    count: usize,
}

impl<'a> Bits<'a> {
    /// All `8 × bytes.len()` bits of `bytes` (a response does not say how many
    /// are meaningful; see [`Bits::with_len`]).
    #[must_use]
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, count: bytes.len().saturating_mul(8) }
    }

    /// The first `count` bits (capped at the bits present).
    #[must_use]
    pub fn with_len(self, count: usize) -> Self {
        Self { bytes: self.bytes, count: count.min(self.bytes.len().saturating_mul(8)) }
    }

    /// Number of bits.
    #[must_use]
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when there is no bit.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bit `i`, if present.
    #[must_use]
    pub fn get(&self, i: usize) -> Option<bool> {
        if i >= self.count {
            return None;
        }
        let byte = *self.bytes.get(i / 8)?;
        Some(byte >> (i % 8) & 1 == 1)
    }

    /// The packed bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// A lazy iterator of the bits.
    #[must_use]
    pub fn iter(&self) -> BitIter<'a> {
        BitIter { bits: *self, pos: 0 }
    }
}

impl<'a> IntoIterator for Bits<'a> {
    type Item = bool;
    type IntoIter = BitIter<'a>;
    fn into_iter(self) -> BitIter<'a> {
        self.iter()
    }
}

/// Iterator over [`Bits`].
#[derive(Debug, Clone)]
pub struct BitIter<'a> {
    bits: Bits<'a>,
    pos: usize,
}

impl Iterator for BitIter<'_> {
    type Item = bool;
    #[inline]
    fn next(&mut self) -> Option<bool> {
        let b = self.bits.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.bits.count.saturating_sub(self.pos);
        (n, Some(n))
    }
}
impl ExactSizeIterator for BitIter<'_> {}
impl FusedIterator for BitIter<'_> {}

/// One data value: a coil/discrete input or a register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// A coil or discrete input.
    Bit(bool),
    /// A holding or input register.
    Register(u16),
}

/// Values paired with their data-model addresses (start address + index).
/// Stops at address 0xFFFF: values that would wrap past it are not yielded
/// (the request is flagged `address_overflow`).
#[derive(Debug, Clone)]
pub struct AddressedValues<'a> {
    inner: Inner<'a>,
    next_address: Option<u16>,
}

#[derive(Debug, Clone)]
enum Inner<'a> {
    Bits(BitIter<'a>),
    Registers(RegisterIter<'a>),
}

impl<'a> AddressedValues<'a> {
    /// Registers starting at `address`.
    #[must_use]
    pub fn registers(address: u16, values: Registers<'a>) -> Self {
        Self { inner: Inner::Registers(values.iter()), next_address: Some(address) }
    }

    /// Bits starting at `address`.
    #[must_use]
    pub fn bits(address: u16, values: Bits<'a>) -> Self {
        Self { inner: Inner::Bits(values.iter()), next_address: Some(address) }
    }
}

impl Iterator for AddressedValues<'_> {
    type Item = (u16, Value);
    #[inline]
    fn next(&mut self) -> Option<(u16, Value)> {
        let address = self.next_address?;
        let value = match &mut self.inner {
            Inner::Bits(it) => Value::Bit(it.next()?),
            Inner::Registers(it) => Value::Register(it.next()?),
        };
        self.next_address = address.checked_add(1);
        Some((address, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // As many values as are left, but no more than addresses are left.
        let addresses = self.next_address.map_or(0, |a| 0x1_0000 - usize::from(a));
        let (lo, hi) = match &self.inner {
            Inner::Bits(it) => it.size_hint(),
            Inner::Registers(it) => it.size_hint(),
        };
        (lo.min(addresses), Some(hi.map_or(addresses, |h| h.min(addresses))))
    }
}
impl FusedIterator for AddressedValues<'_> {}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn registers_are_big_endian_and_ignore_odd_byte() {
        let r = Registers::new(&[0x00, 0x0A, 0xFF, 0xFE, 0x01]);
        assert_eq!(r.len(), 2);
        assert_eq!(r.iter().collect::<Vec<_>>(), [10, 0xFFFE]);
        assert_eq!(r.get(1), Some(0xFFFE));
        assert_eq!(r.get(2), None);
        assert_eq!(r.get(usize::MAX), None);
    }

    #[test]
    fn bits_are_lsb_first() {
        // §6.1 example: 0xCD = 1100 1101 → coils 20..27 = 1,0,1,1,0,0,1,1
        let b = Bits::new(&[0xCD, 0x01]).with_len(9);
        assert_eq!(b.iter().collect::<Vec<_>>(), [true, false, true, true, false, false, true, true, true]);
        assert_eq!(b.iter().len(), 9);
        assert_eq!(Bits::new(&[0x01]).with_len(100).len(), 8);
    }

    #[test]
    fn addresses_stop_at_ffff() {
        let v: Vec<_> = AddressedValues::registers(0xFFFE, Registers::new(&[0, 1, 0, 2, 0, 3])).collect();
        assert_eq!(v, [(0xFFFE, Value::Register(1)), (0xFFFF, Value::Register(2))]);
        let it = AddressedValues::registers(0xFFFE, Registers::new(&[0, 1, 0, 2, 0, 3]));
        assert_eq!(it.size_hint(), (2, Some(2)));
        let it = AddressedValues::bits(0, Bits::new(&[0xff, 0x01]).with_len(9));
        assert_eq!(it.size_hint(), (9, Some(9)));
        assert_eq!(it.count(), 9);
    }
}
