//! Hand-written JSON for the hottest record bodies.
//!
//! Going through serde costs one dynamic step per key and per value (the key
//! scanned for escapes, copied with a variable-length `memcpy`); the busiest
//! records (a Modbus transaction, logged for every poll) have about thirty
//! keys. A [`JsonWriter`] lets a record builder write its fixed keys and
//! punctuation as literals (`,"unit_id":`, copied inline), numbers from
//! fixed-size digit arrays ([`JsonInt`]), strings with the serializer's own
//! escaper and anything rarer through the serializer itself, so the bytes
//! stay exactly those of `serde_json` (each builder checks that byte for
//! byte against its derived or former serialisation in its tests).

use serde::Serialize;

use crate::fastjson;

/// The decimal digits of `v`, left-aligned in 20 bytes, and how many there
/// are (as [`u16_digits`]). Four digits per step from the right: one 64-bit
/// division by 10 000, then two digit pairs in 32-bit arithmetic (a flow id
/// has 16 digits: three steps and a tail, instead of eight divisions by 100).
#[inline(always)]
pub fn u64_digits(v: u64) -> ([u8; 20], usize) {
    let len = v.checked_ilog10().map_or(1, |l| l as usize + 1);
    let mut d = [0u8; 20];
    let (mut v, mut i) = (v, len);
    while v >= 10_000 && i >= 4 {
        let r = (v % 10_000) as u32;
        v /= 10_000;
        i -= 4;
        if let Some(q) = d.get_mut(i..i + 4) {
            let ([a, b], [c, e]) = (DIGIT_PAIRS[(r / 100) as usize], DIGIT_PAIRS[(r % 100) as usize]);
            q.copy_from_slice(&[a, b, c, e]);
        }
    }
    // At most four digits are left (`v` < 10 000), in `d[..i]`.
    let mut v = v as u32;
    if v >= 100 && i >= 3 {
        i -= 2;
        if let Some(q) = d.get_mut(i..i + 2) {
            q.copy_from_slice(&DIGIT_PAIRS[(v % 100) as usize]);
        }
        v /= 100;
    }
    if v >= 10 {
        if let Some(q) = d.get_mut(..2) {
            q.copy_from_slice(&DIGIT_PAIRS[(v % 100) as usize]);
        }
    } else if let Some(first) = d.first_mut() {
        *first = b'0' + v as u8;
    }
    (d, len)
}

/// Integers [`JsonWriter::int`] writes itself: the digits are built in a
/// fixed-size array and appended with one constant-size copy (inline moves)
/// followed by a truncation, not a `memcpy` call for a variable length (a
/// record has a dozen numbers; those calls were a measurable share of the
/// worker's time in log-everything mode).
pub trait JsonInt: Copy {
    /// Append the decimal text.
    fn write_to(self, out: &mut Vec<u8>);
}

#[inline(always)]
fn append_fixed<const N: usize>(out: &mut Vec<u8>, (digits, len): ([u8; N], usize)) {
    let start = out.len();
    out.extend_from_slice(&digits);
    out.truncate(start + len);
}

impl JsonInt for u8 {
    #[inline]
    fn write_to(self, out: &mut Vec<u8>) {
        append_fixed(out, u16_digits(u16::from(self)));
    }
}

impl JsonInt for u16 {
    #[inline]
    fn write_to(self, out: &mut Vec<u8>) {
        append_fixed(out, u16_digits(self));
    }
}

macro_rules! json_int_unsigned {
    ($($t:ty),*) => {$(
        impl JsonInt for $t {
            #[inline]
            fn write_to(self, out: &mut Vec<u8>) {
                append_fixed(out, u64_digits(self as u64));
            }
        }
    )*};
}
json_int_unsigned!(u32, u64, usize);

macro_rules! json_int_signed {
    ($($t:ty),*) => {$(
        impl JsonInt for $t {
            #[inline]
            fn write_to(self, out: &mut Vec<u8>) {
                if self < 0 {
                    out.push(b'-');
                }
                append_fixed(out, u64_digits(self.unsigned_abs() as u64));
            }
        }
    )*};
}
json_int_signed!(i8, i16, i32, i64, isize);

// 128-bit values are rare (DNP3 time differences): itoa as is.
macro_rules! json_int_wide {
    ($($t:ty),*) => {$(
        impl JsonInt for $t {
            fn write_to(self, out: &mut Vec<u8>) {
                out.extend_from_slice(itoa::Buffer::new().format(self).as_bytes());
            }
        }
    )*};
}
json_int_wide!(i128, u128);

/// Appends JSON text to a byte buffer. Only [`JsonWriter::raw`] can break
/// the JSON grammar: its callers pass compile-time punctuation and keys.
#[derive(Debug)]
pub struct JsonWriter<'a> {
    out: &'a mut Vec<u8>,
}

/// `00` to `99`, two ASCII digits each (the fixed-width number writers:
/// timestamps, Modbus `values`).
pub const DIGIT_PAIRS: [[u8; 2]; 100] = {
    let mut t = [[0u8; 2]; 100];
    let mut i = 0;
    while i < 100 {
        t[i] = [b'0' + (i / 10) as u8, b'0' + (i % 10) as u8];
        i += 1;
    }
    t
};

/// The decimal digits of `v`, left-aligned in 5 bytes, and how many there
/// are: the text `itoa` writes, as one fixed-size value (a caller copies all
/// 5 bytes into room it has and advances by the count, with no
/// variable-length copy).
#[inline(always)]
pub fn u16_digits(v: u16) -> ([u8; 5], usize) {
    let v = usize::from(v);
    let pair = |i: usize| DIGIT_PAIRS[i % 100];
    if v < 10 {
        ([b'0' + v as u8, 0, 0, 0, 0], 1)
    } else if v < 100 {
        let [a, b] = pair(v);
        ([a, b, 0, 0, 0], 2)
    } else if v < 1_000 {
        let [b, c] = pair(v % 100);
        ([b'0' + (v / 100) as u8, b, c, 0, 0], 3)
    } else if v < 10_000 {
        let ([a, b], [c, d]) = (pair(v / 100), pair(v % 100));
        ([a, b, c, d, 0], 4)
    } else {
        let ([b, c], [d, f]) = (pair((v / 100) % 100), pair(v % 100));
        ([b'0' + (v / 10_000) as u8, b, c, d, f], 5)
    }
}

/// Input bytes a [`JsonWriter::hex`] encodes per stack chunk.
const HEX_CHUNK: usize = 128;
const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

impl<'a> JsonWriter<'a> {
    /// A writer appending to `out`.
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        Self { out }
    }

    /// `text` verbatim: punctuation and keys known at compile time, such as
    /// `,"unit_id":`. The caller keeps the result valid JSON.
    #[inline]
    pub fn raw(&mut self, text: &str) {
        self.out.extend_from_slice(text.as_bytes());
    }

    /// JSON text the caller assembled as ASCII bytes (a run of array
    /// elements), copied as is. Debug builds check that it is ASCII.
    #[inline]
    pub fn raw_ascii(&mut self, text: &[u8]) {
        debug_assert!(text.is_ascii(), "raw_ascii() got non-ASCII bytes");
        self.out.extend_from_slice(text);
    }

    /// A JSON string, escaped exactly as `serde_json` escapes it.
    #[inline]
    pub fn string(&mut self, s: &str) {
        fastjson::push_str(self.out, s);
    }

    /// A string from a fixed table of names that need no escaping (function
    /// names, categories), quoted and copied without scanning. Callers test
    /// that every value their table can return needs no escaping; debug
    /// builds check each call.
    #[inline]
    pub fn plain(&mut self, s: &'static str) {
        self.plain_text(s);
    }

    /// Text the caller built only from characters that need no escaping
    /// (hex digits, dotted-quad addresses, a fixed mnemonic plus digits),
    /// quoted and copied without scanning, like [`Self::plain`]; callers
    /// test every form their builder can produce, and debug builds check
    /// each call.
    #[inline]
    pub fn plain_text(&mut self, s: &str) {
        debug_assert!(fastjson::find_escape(s.as_bytes()).is_none(), "plain_text() needs escaping: {s:?}");
        self.out.reserve(s.len() + 2);
        self.out.push(b'"');
        self.out.extend_from_slice(s.as_bytes());
        self.out.push(b'"');
    }

    /// [`Self::plain_text`] for text built as ASCII bytes (digits, hex,
    /// dotted quads): the same output, without converting the bytes to
    /// `&str` first (a UTF-8 validation per field). Debug builds check that
    /// the bytes are ASCII and need no escaping.
    #[inline]
    pub fn plain_ascii(&mut self, b: &[u8]) {
        debug_assert!(
            b.is_ascii() && fastjson::find_escape(b).is_none(),
            "plain_ascii() needs escaping: {b:?}"
        );
        self.out.reserve(b.len() + 2);
        self.out.push(b'"');
        self.out.extend_from_slice(b);
        self.out.push(b'"');
    }

    /// An integer, as `serde_json` writes it (the digits `itoa` writes).
    #[inline]
    pub fn int<I: JsonInt>(&mut self, v: I) {
        v.write_to(self.out);
    }

    /// Bytes in the buffer so far: where the next value starts (with
    /// [`Self::truncate`] and [`Self::repeat`], a writer can take back a
    /// tentative key or copy a value it wrote earlier).
    #[inline]
    pub fn position(&self) -> usize {
        self.out.len()
    }

    /// Drops everything written after `position` (a key whose value turned
    /// out to be absent).
    #[inline]
    pub fn truncate(&mut self, position: usize) {
        self.out.truncate(position);
    }

    /// Appends a copy of the bytes at `range`, which the caller wrote as one
    /// whole JSON value earlier (the same value listed twice). A range
    /// outside the buffer appends nothing.
    #[inline]
    pub fn repeat(&mut self, range: core::ops::Range<usize>) {
        if range.start <= range.end && range.end <= self.out.len() {
            self.out.extend_from_within(range);
        }
    }

    /// Room for `additional` more bytes (one growth check up front for a
    /// long array instead of one per piece).
    #[inline]
    pub fn reserve(&mut self, additional: usize) {
        self.out.reserve(additional);
    }

    /// `true` or `false`.
    #[inline]
    pub fn bool(&mut self, v: bool) {
        self.raw(if v { "true" } else { "false" });
    }

    /// A [`crate::Timestamp`] as its EVE text (a quoted string).
    pub fn timestamp(&mut self, t: &crate::Timestamp) {
        if !t.write_quoted(self.out) {
            // Years outside 0000–9999: the formatter's slower layout.
            self.string(&t.to_string());
        }
    }

    /// `bytes` as a quoted lower-case hex string.
    pub fn hex(&mut self, bytes: &[u8]) {
        self.out.reserve(bytes.len() * 2 + 2);
        self.out.push(b'"');
        let mut buf = [0u8; 2 * HEX_CHUNK];
        for chunk in bytes.chunks(HEX_CHUNK) {
            for (&b, pair) in chunk.iter().zip(buf.chunks_exact_mut(2)) {
                pair.copy_from_slice(&[HEX_DIGITS[usize::from(b >> 4)], HEX_DIGITS[usize::from(b & 0x0f)]]);
            }
            self.out.extend_from_slice(buf.get(..chunk.len() * 2).unwrap_or_default());
        }
        self.out.push(b'"');
    }

    /// Any serialisable value, with `serde_json`'s exact bytes (the rare
    /// parts of a record).
    ///
    /// # Errors
    /// When the value's `Serialize` fails; the buffer is left as it was.
    pub fn value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), serde_json::Error> {
        let mark = self.out.len();
        if fastjson::to_writer(self.out, v).is_ok() {
            return Ok(());
        }
        // serde_json again, for its exact error value.
        self.out.truncate(mark);
        let r = serde_json::to_writer(&mut *self.out, v);
        if r.is_err() {
            self.out.truncate(mark);
        }
        r
    }
}

/// An object whose keys may all be absent: `{`, each present key after a
/// comma unless it is the first, `}`.
#[derive(Debug)]
pub struct JsonObject<'w, 'a> {
    w: &'w mut JsonWriter<'a>,
    first: bool,
}

impl<'w, 'a> JsonObject<'w, 'a> {
    /// Writes `{`.
    pub fn open(w: &'w mut JsonWriter<'a>) -> Self {
        w.raw("{");
        Self { w, first: true }
    }

    /// Writes `quoted_key_colon` (a literal such as `"address":`), after a
    /// comma unless it is the first key; returns the writer for the value.
    #[inline]
    pub fn key(&mut self, quoted_key_colon: &str) -> &mut JsonWriter<'a> {
        if !self.first {
            self.w.raw(",");
        }
        self.first = false;
        self.w.raw(quoted_key_colon);
        self.w
    }

    /// Writes `quoted_key_colon` and lets `value` write the value, or
    /// nothing: when it returns `false`, the key is taken back as if it had
    /// never been written (a section whose entries all turn out absent).
    ///
    /// # Errors
    /// What `value` returns; the key stays written then (the caller drops
    /// the whole record).
    pub fn tentative<E>(
        &mut self,
        quoted_key_colon: &str,
        value: impl FnOnce(&mut JsonWriter<'a>) -> Result<bool, E>,
    ) -> Result<(), E> {
        let (mark, first) = (self.w.position(), self.first);
        let written = value(self.key(quoted_key_colon))?;
        if !written {
            self.w.truncate(mark);
            self.first = first;
        }
        Ok(())
    }

    /// Writes `}`.
    pub fn close(self) {
        self.w.raw("}");
    }
}

/// Serialises the text a [`JsonWriter`] closure writes as one raw JSON value
/// (the generic `Serialize` path of hand-written bodies: tests, other
/// serializers through `serde_json`'s raw-value marker).
///
/// # Errors
/// When the closure fails, or the serializer does.
pub fn serialize_written<S, F>(s: S, write: F) -> Result<S::Ok, S::Error>
where
    S: serde::Serializer,
    F: FnOnce(&mut JsonWriter<'_>) -> Result<(), serde_json::Error>,
{
    let mut buf = Vec::new();
    write(&mut JsonWriter::new(&mut buf)).map_err(serde::ser::Error::custom)?;
    let text = std::str::from_utf8(&buf).map_err(serde::ser::Error::custom)?;
    crate::serialize_json_text(s, text)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn written(f: impl FnOnce(&mut JsonWriter<'_>)) -> String {
        let mut v = Vec::new();
        f(&mut JsonWriter::new(&mut v));
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn tentative_keys_are_taken_back_when_nothing_is_written() {
        let text = written(|w| {
            let mut o = JsonObject::open(w);
            // The first key taken back: the next one has no comma.
            o.tentative::<()>("\"a\":", |w| {
                w.raw("[1]");
                Ok(false)
            })
            .unwrap();
            o.tentative::<()>("\"b\":", |w| {
                w.int(2u8);
                Ok(true)
            })
            .unwrap();
            o.tentative::<()>("\"c\":", |_| Ok(false)).unwrap();
            o.key("\"d\":").int(4u8);
            o.close();
        });
        assert_eq!(text, r#"{"b":2,"d":4}"#);
        assert_eq!(
            written(|w| JsonObject::open(w).tentative::<()>("\"x\":", |_| Err(())).unwrap_err()),
            "{\"x\":"
        );
    }

    #[test]
    fn pieces_match_serde_json() {
        for s in ["", "plain", "quote\"back\\slash", "ctl\u{1}\n\t", "ключ😀", "\u{7f}\u{2028}"] {
            assert_eq!(written(|w| w.string(s)), serde_json::to_string(s).unwrap());
        }
        for v in [0u64, 9, 10, 65_535, u64::MAX] {
            assert_eq!(written(|w| w.int(v)), serde_json::to_string(&v).unwrap());
        }
        assert_eq!(written(|w| w.int(-5i32)), "-5");
        // Every digit count and its edges, every width and sign, against itoa.
        let mut edges = vec![0u64, u64::MAX];
        for p in 1..20u32 {
            let t = 10u64.pow(p);
            edges.extend([t - 1, t, t + 1, t + t / 2]);
        }
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..10_000 {
            rng = crate::mix64(rng);
            edges.push(rng >> (rng % 64));
        }
        for &v in &edges {
            let (digits, len) = u64_digits(v);
            assert_eq!(&digits[..len], itoa::Buffer::new().format(v).as_bytes(), "{v}");
            assert!(digits[len..].iter().all(|&b| b == 0));
            assert_eq!(written(|w| w.int(v)), v.to_string());
            assert_eq!(written(|w| w.int(v as u32)), (v as u32).to_string());
            assert_eq!(written(|w| w.int(v as usize)), (v as usize).to_string());
            assert_eq!(written(|w| w.int(v as i64)), (v as i64).to_string());
            assert_eq!(written(|w| w.int(v as i32)), (v as i32).to_string());
            assert_eq!(written(|w| w.int(v as i16)), (v as i16).to_string());
            assert_eq!(written(|w| w.int(v as i8)), (v as i8).to_string());
            assert_eq!(written(|w| w.int(v as u8)), (v as u8).to_string());
            assert_eq!(written(|w| w.int(v as u16)), (v as u16).to_string());
        }
        assert_eq!(written(|w| w.int(i64::MIN)), i64::MIN.to_string());
        // Appending keeps what was there.
        assert_eq!(
            written(|w| {
                w.raw("[1,");
                w.int(22u64);
                w.raw(",");
                w.int(7u8);
                w.raw("]");
            }),
            "[1,22,7]"
        );
        for v in 0..=u16::MAX {
            let (digits, len) = u16_digits(v);
            assert_eq!(&digits[..len], v.to_string().as_bytes());
            assert!(digits[len..].iter().all(|&b| b == 0));
        }
        assert_eq!(written(|w| w.bool(true)), "true");
        assert_eq!(written(|w| w.bool(false)), "false");
        assert_eq!(written(|w| w.plain("READ | COILS")), "\"READ | COILS\"");
        for (secs, micros) in [(0i64, 0u32), (1_470_763_727, 123_456), (-1, 5), (253_402_300_800, 7)] {
            let t = crate::Timestamp::from_micros(secs, micros);
            assert_eq!(written(|w| w.timestamp(&t)), serde_json::to_string(&t).unwrap());
        }
        for n in [0usize, 1, 127, 128, 129, 256, 1000] {
            let bytes: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            let want: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(written(|w| w.hex(&bytes)), format!("\"{want}\""));
        }
        let nested = serde_json::json!({"b": [1, 2.5, null], "a": "x\"y"});
        assert_eq!(written(|w| w.value(&nested).unwrap()), serde_json::to_string(&nested).unwrap());
    }

    #[test]
    fn objects_with_optional_keys() {
        assert_eq!(written(|w| JsonObject::open(w).close()), "{}");
        let both = written(|w| {
            let mut o = JsonObject::open(w);
            o.key("\"a\":").int(1u8);
            o.key("\"b\":").string("x");
            o.close();
        });
        assert_eq!(both, r#"{"a":1,"b":"x"}"#);
    }

    #[test]
    fn failing_value_leaves_the_buffer_and_reports() {
        use std::collections::BTreeMap;
        let bad: BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into_iter().collect();
        let mut v = b"[1,".to_vec();
        let mut w = JsonWriter::new(&mut v);
        assert!(w.value(&bad).is_err());
        assert_eq!(v, b"[1,");
    }

    #[test]
    fn written_text_serialises_verbatim() {
        struct Body;
        impl Serialize for Body {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                serialize_written(s, |w| {
                    w.raw("{\"k\":");
                    w.string("v\"");
                    w.raw("}");
                    Ok(())
                })
            }
        }
        assert_eq!(serde_json::to_string(&[Body, Body]).unwrap(), r#"[{"k":"v\""},{"k":"v\""}]"#);
        assert_eq!(crate::RawJson::from_serialize(&Body).unwrap().get(), r#"{"k":"v\""}"#);
    }
}
