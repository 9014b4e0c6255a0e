//! A compact JSON [`serde::Serializer`] that writes exactly the bytes
//! `serde_json::to_writer` (compact formatter) writes, only faster.
//!
//! The record bodies ([`crate::RawJson::from_serialize`]) are typed structs
//! whose field names are static identifiers: `serde_json` escapes every one of
//! them byte by byte through its formatter. Here a string (field name, variant
//! name, map key or value) is scanned eight bytes at a time for the bytes JSON
//! must escape (`"`, `\`, controls below 0x20) and each clean run is copied
//! with one `extend_from_slice`; the escapes themselves are `serde_json`'s
//! (`\"`, `\\`, `\b \f \n \r \t`, other controls as `\u00XX` in lower-case
//! hex; 0x7F and non-ASCII UTF-8 unchanged).
//!
//! Everything else mirrors `serde_json` 1.0 (`ser.rs`) shape for shape:
//! integers with `itoa`, floats with `zmij` (`serde_json`'s own float
//! formatter: NaN and infinities as `null`, `f32` formatted as `f32`), unit
//! and `None` as `null`, newtype structs transparent, variants wrapped in a
//! one-key object, byte slices as arrays of numbers, map keys through
//! `serde_json`'s `MapKeySerializer` rules (strings; integers, bools, finite
//! floats and chars quoted; anything else an error), a declared length of
//! zero closing the seq/map at once (the same `Empty` state machine), and
//! `serde_json`'s raw-value marker struct (`Box<RawValue>`, nested
//! [`crate::RawJson`]) written verbatim. `serde_json`'s `arbitrary_precision`
//! feature is not enabled in this workspace, so `Number` serialises as a plain
//! `u64`/`i64`/`f64` (the differential tests over `serde_json::Value` trees
//! would fail if that ever changed).
//!
//! Errors carry no position: the only caller re-runs `serde_json` on error to
//! return its exact error value, so a failure is indistinguishable.

use std::fmt::{self, Display, Write as _};

use serde::Serialize;
use serde::ser::{self, Impossible};

/// `serde_json`'s marker struct / field name for a raw JSON fragment
/// (`serde_json::value::RawValue`, `raw_value` feature).
pub(crate) const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// A serialisation failure (a `Serialize` impl's custom error, a map key
/// that is not a string, a malformed raw value).
#[derive(Debug)]
pub(crate) struct Error(Box<str>);

impl Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Self(msg.to_string().into_boxed_str())
    }
}

fn key_must_be_a_string() -> Error {
    Error(Box::from("key must be a string"))
}

fn expected_raw_value() -> Error {
    Error(Box::from("expected RawValue"))
}

/// Append the compact JSON text of `value` to `out` (on error, `out` holds a
/// partial text, as with `serde_json::to_writer`).
///
/// # Errors
/// When `value`'s `Serialize` impl fails or a map key is not a string.
pub(crate) fn to_writer<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    value.serialize(&mut Serializer { out })
}

/// The compact JSON text of `value` (tests).
#[cfg(test)]
pub(crate) fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    to_writer(&mut out, value)?;
    Ok(out)
}

/// The serializer: appends to a byte buffer.
#[derive(Debug)]
pub(crate) struct Serializer<'a> {
    out: &'a mut Vec<u8>,
}

// ---- string escaping ---------------------------------------------------

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// A high bit set in each byte lane of `x` that holds `"`, `\` or a control
/// below 0x20. Borrows only run upwards, so the LOWEST set bit is always a
/// true match (lanes above it may be false positives).
#[inline(always)]
fn escape_mask(x: u64) -> u64 {
    let ctl = x.wrapping_sub(ONES * 0x20) & !x;
    let q = x ^ (ONES * u64::from(b'"'));
    let q = q.wrapping_sub(ONES) & !q;
    let b = x ^ (ONES * u64::from(b'\\'));
    let b = b.wrapping_sub(ONES) & !b;
    (ctl | q | b) & HIGHS
}

/// Whether JSON needs `b` escaped.
#[inline(always)]
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Index of the first byte of `bytes` that must be escaped. Eight bytes per
/// step; a ragged end is one overlapping eight-byte load (already-scanned
/// bytes are clean), a string of 4 to 7 bytes two overlapping four-byte
/// loads: field names, variant names and short values cost one or two
/// mask computations and no byte loop.
#[inline]
pub(crate) fn find_escape(bytes: &[u8]) -> Option<usize> {
    let len = bytes.len();
    if len >= 8 {
        let (chunks, tail) = bytes.as_chunks::<8>();
        for (n, chunk) in chunks.iter().enumerate() {
            let m = escape_mask(u64::from_le_bytes(*chunk));
            if m != 0 {
                return Some(n * 8 + (m.trailing_zeros() / 8) as usize);
            }
        }
        if tail.is_empty() {
            return None;
        }
        let last = bytes.last_chunk::<8>()?;
        let m = escape_mask(u64::from_le_bytes(*last));
        (m != 0).then(|| len - 8 + (m.trailing_zeros() / 8) as usize)
    } else if len >= 4 {
        let (Some(head), Some(last)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) else {
            return None;
        };
        let x = u64::from(u32::from_le_bytes(*head)) | (u64::from(u32::from_le_bytes(*last)) << 32);
        let m = escape_mask(x);
        if m == 0 {
            return None;
        }
        // Lanes 0..4 are bytes 0..4, lanes 4..8 bytes len-4..len; a match
        // in the low half is the earliest one.
        let lane = (m.trailing_zeros() / 8) as usize;
        Some(if lane < 4 { lane } else { lane + len - 8 })
    } else {
        bytes.iter().position(|&b| needs_escape(b))
    }
}

/// `serde_json`'s escape for one byte that [`find_escape`] reported.
#[inline]
fn push_escape(out: &mut Vec<u8>, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let c = match byte {
        b'"' => b'"',
        b'\\' => b'\\',
        0x08 => b'b',
        0x0C => b'f',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        _ => {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xF)],
            ]);
            return;
        }
    };
    out.extend_from_slice(&[b'\\', c]);
}

/// The contents of a JSON string (no quotes), escaped like `serde_json`.
#[inline]
fn push_escaped_contents(out: &mut Vec<u8>, s: &str) {
    let mut rest = s.as_bytes();
    while let Some(i) = find_escape(rest) {
        let (run, from) = rest.split_at(i);
        out.extend_from_slice(run);
        let Some((&byte, after)) = from.split_first() else {
            break;
        };
        push_escape(out, byte);
        rest = after;
    }
    out.extend_from_slice(rest);
}

/// A quoted, escaped JSON string: exactly `serde_json`'s bytes for `s`
/// (usable by hand-written writers such as the EVE header).
#[inline]
pub(crate) fn push_str(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    // Most strings (names, addresses, identifiers) need no escape: one scan,
    // one copy, without entering the escaping loop.
    if find_escape(s.as_bytes()).is_none() {
        out.extend_from_slice(s.as_bytes());
    } else {
        push_escaped_contents(out, s);
    }
    out.push(b'"');
}

/// `"key":` (preceded by `,` unless first). Field and variant names are
/// static identifiers: the clean case is one scan (loads straight from the
/// name, no byte loop) and one copy.
#[inline]
fn push_key(out: &mut Vec<u8>, first: bool, key: &str) {
    out.reserve(key.len() + 4);
    if !first {
        out.push(b',');
    }
    out.push(b'"');
    if find_escape(key.as_bytes()).is_none() {
        out.extend_from_slice(key.as_bytes());
    } else {
        push_escaped_contents(out, key);
    }
    out.extend_from_slice(b"\":");
}

/// A `fmt::Write` that escapes into a JSON string (for `collect_str`).
struct EscapeWriter<'o>(&'o mut Vec<u8>);

impl fmt::Write for EscapeWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        push_escaped_contents(self.0, s);
        Ok(())
    }
}

// ---- numbers -----------------------------------------------------------

#[inline]
fn push_int<I: itoa::Integer>(out: &mut Vec<u8>, v: I) {
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(v).as_bytes());
}

/// A finite float, `serde_json`'s formatting (`zmij`, the type's own width).
#[inline]
fn push_finite_float<F: zmij::Float>(out: &mut Vec<u8>, v: F) {
    let mut buf = zmij::Buffer::new();
    out.extend_from_slice(buf.format_finite(v).as_bytes());
}

impl Serializer<'_> {
    fn push_display<T: Display + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.out.push(b'"');
        write!(EscapeWriter(&mut *self.out), "{value}")
            .map_err(|_| ser::Error::custom("a Display implementation returned an error"))?;
        self.out.push(b'"');
        Ok(())
    }

    /// `{"variant":` (the head of every non-unit enum variant).
    fn begin_variant(&mut self, variant: &str) {
        self.out.push(b'{');
        push_key(self.out, true, variant);
    }
}

/// Where a seq or map is: `Empty` (declared length 0, already closed),
/// `First` (nothing written yet), `Rest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Empty,
    First,
    Rest,
}

/// The state of a seq, tuple, map, struct or variant being written.
#[derive(Debug)]
pub(crate) enum Compound<'b, 'a> {
    Map {
        ser: &'b mut Serializer<'a>,
        state: State,
    },
    /// `serde_json`'s raw-value marker struct: its one field is copied verbatim.
    RawValue {
        ser: &'b mut Serializer<'a>,
    },
}

impl<'b, 'a> ser::Serializer for &'b mut Serializer<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'b, 'a>;
    type SerializeTuple = Compound<'b, 'a>;
    type SerializeTupleStruct = Compound<'b, 'a>;
    type SerializeTupleVariant = Compound<'b, 'a>;
    type SerializeMap = Compound<'b, 'a>;
    type SerializeStruct = Compound<'b, 'a>;
    type SerializeStructVariant = Compound<'b, 'a>;

    #[inline]
    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out.extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }

    #[inline]
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        push_int(self.out, v);
        Ok(())
    }

    #[inline]
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        push_int(self.out, v);
        Ok(())
    }

    #[inline]
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        push_int(self.out, v);
        Ok(())
    }

    #[inline]
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        push_int(self.out, v);
        Ok(())
    }

    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        push_int(self.out, v);
        Ok(())
    }

    #[inline]
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        push_int(self.out, v);
        Ok(())
    }

    #[inline]
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        push_int(self.out, v);
        Ok(())
    }

    #[inline]
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        push_int(self.out, v);
        Ok(())
    }

    #[inline]
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        push_int(self.out, v);
        Ok(())
    }

    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        push_int(self.out, v);
        Ok(())
    }

    #[inline]
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        if v.is_finite() {
            push_finite_float(self.out, v);
        } else {
            self.out.extend_from_slice(b"null");
        }
        Ok(())
    }

    #[inline]
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        if v.is_finite() {
            push_finite_float(self.out, v);
        } else {
            self.out.extend_from_slice(b"null");
        }
        Ok(())
    }

    #[inline]
    fn serialize_char(self, v: char) -> Result<(), Error> {
        push_str(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }

    #[inline]
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        push_str(self.out, v);
        Ok(())
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        self.out.push(b'[');
        for (i, b) in v.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            push_int(self.out, *b);
        }
        self.out.push(b']');
        Ok(())
    }

    #[inline]
    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }

    #[inline]
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    #[inline]
    fn serialize_unit(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    #[inline]
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }

    #[inline]
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }

    #[inline]
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.begin_variant(variant);
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }

    #[inline]
    fn serialize_seq(self, len: Option<usize>) -> Result<Compound<'b, 'a>, Error> {
        if len == Some(0) {
            self.out.extend_from_slice(b"[]");
            Ok(Compound::Map { ser: self, state: State::Empty })
        } else {
            self.out.push(b'[');
            Ok(Compound::Map { ser: self, state: State::First })
        }
    }

    #[inline]
    fn serialize_tuple(self, len: usize) -> Result<Compound<'b, 'a>, Error> {
        self.serialize_seq(Some(len))
    }

    #[inline]
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Compound<'b, 'a>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'b, 'a>, Error> {
        self.begin_variant(variant);
        self.serialize_seq(Some(len))
    }

    #[inline]
    fn serialize_map(self, len: Option<usize>) -> Result<Compound<'b, 'a>, Error> {
        if len == Some(0) {
            self.out.extend_from_slice(b"{}");
            Ok(Compound::Map { ser: self, state: State::Empty })
        } else {
            self.out.push(b'{');
            Ok(Compound::Map { ser: self, state: State::First })
        }
    }

    #[inline]
    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Compound<'b, 'a>, Error> {
        if name == RAW_VALUE_TOKEN {
            Ok(Compound::RawValue { ser: self })
        } else {
            self.serialize_map(Some(len))
        }
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'b, 'a>, Error> {
        self.begin_variant(variant);
        self.serialize_map(Some(len))
    }

    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<(), Error> {
        self.push_display(value)
    }
}

impl Compound<'_, '_> {
    /// `,` unless first; the seq is then past its first element.
    #[inline]
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        match self {
            Compound::Map { ser, state } => {
                if *state != State::First {
                    ser.out.push(b',');
                }
                *state = State::Rest;
                value.serialize(&mut **ser)
            }
            Compound::RawValue { .. } => Err(expected_raw_value()),
        }
    }

    /// `close` unless the declared length was zero (already closed).
    #[inline]
    fn close(self, close: u8) -> Result<(), Error> {
        match self {
            Compound::Map { ser, state } => {
                if state != State::Empty {
                    ser.out.push(close);
                }
                Ok(())
            }
            Compound::RawValue { .. } => Ok(()),
        }
    }

    /// Closes a variant body, then the `{"variant":…}` wrapper.
    #[inline]
    fn close_variant(self, close: u8) -> Result<(), Error> {
        match self {
            Compound::Map { ser, state } => {
                if state != State::Empty {
                    ser.out.push(close);
                }
                ser.out.push(b'}');
                Ok(())
            }
            Compound::RawValue { .. } => Err(expected_raw_value()),
        }
    }

    #[inline]
    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        match self {
            Compound::Map { ser, state } => {
                push_key(ser.out, *state == State::First, key);
                *state = State::Rest;
                value.serialize(&mut **ser)
            }
            Compound::RawValue { ser } => {
                if key == RAW_VALUE_TOKEN {
                    value.serialize(RawValueEmitter(ser))
                } else {
                    Err(expected_raw_value())
                }
            }
        }
    }
}

impl ser::SerializeSeq for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;

    #[inline]
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }

    #[inline]
    fn end(self) -> Result<(), Error> {
        self.close(b']')
    }
}

impl ser::SerializeTuple for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;

    #[inline]
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }

    #[inline]
    fn end(self) -> Result<(), Error> {
        self.close(b']')
    }
}

impl ser::SerializeTupleStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;

    #[inline]
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }

    #[inline]
    fn end(self) -> Result<(), Error> {
        self.close(b']')
    }
}

impl ser::SerializeTupleVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;

    #[inline]
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }

    #[inline]
    fn end(self) -> Result<(), Error> {
        self.close_variant(b']')
    }
}

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;

    #[inline]
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        match self {
            Compound::Map { ser, state } => {
                if *state != State::First {
                    ser.out.push(b',');
                }
                *state = State::Rest;
                key.serialize(MapKeySerializer(ser))
            }
            Compound::RawValue { .. } => Err(expected_raw_value()),
        }
    }

    #[inline]
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        match self {
            Compound::Map { ser, .. } => {
                ser.out.push(b':');
                value.serialize(&mut **ser)
            }
            Compound::RawValue { .. } => Err(expected_raw_value()),
        }
    }

    #[inline]
    fn end(self) -> Result<(), Error> {
        self.close(b'}')
    }
}

impl ser::SerializeStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;

    #[inline]
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.field(key, value)
    }

    #[inline]
    fn skip_field(&mut self, _key: &'static str) -> Result<(), Error> {
        Ok(())
    }

    #[inline]
    fn end(self) -> Result<(), Error> {
        self.close(b'}')
    }
}

impl ser::SerializeStructVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;

    #[inline]
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        match self {
            Compound::Map { .. } => self.field(key, value),
            Compound::RawValue { .. } => Err(expected_raw_value()),
        }
    }

    #[inline]
    fn skip_field(&mut self, _key: &'static str) -> Result<(), Error> {
        Ok(())
    }

    #[inline]
    fn end(self) -> Result<(), Error> {
        self.close_variant(b'}')
    }
}

/// `serde_json`'s `MapKeySerializer`: strings as they are; integers, bools,
/// finite floats as quoted strings; chars and unit variants as strings;
/// newtypes and `Some` transparent; everything else an error.
struct MapKeySerializer<'c, 'b, 'a>(&'c mut &'b mut Serializer<'a>);

impl MapKeySerializer<'_, '_, '_> {
    #[inline]
    fn quoted_int<I: itoa::Integer>(self, v: I) -> Result<(), Error> {
        self.0.out.push(b'"');
        push_int(self.0.out, v);
        self.0.out.push(b'"');
        Ok(())
    }

    fn quoted_float<F: zmij::Float>(self, v: F, finite: bool) -> Result<(), Error> {
        if !finite {
            return Err(Error(Box::from("float key must be finite")));
        }
        self.0.out.push(b'"');
        push_finite_float(self.0.out, v);
        self.0.out.push(b'"');
        Ok(())
    }
}

impl ser::Serializer for MapKeySerializer<'_, '_, '_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    #[inline]
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        push_str(self.0.out, v);
        Ok(())
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.0.out.extend_from_slice(if v { b"\"true\"" } else { b"\"false\"" });
        Ok(())
    }

    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.quoted_int(v)
    }

    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.quoted_int(v)
    }

    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.quoted_int(v)
    }

    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.quoted_int(v)
    }

    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.quoted_int(v)
    }

    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.quoted_int(v)
    }

    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.quoted_int(v)
    }

    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.quoted_int(v)
    }

    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.quoted_int(v)
    }

    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.quoted_int(v)
    }

    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.quoted_float(v, v.is_finite())
    }

    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.quoted_float(v, v.is_finite())
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_unit(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_none(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Impossible<(), Error>, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_tuple(self, _len: usize) -> Result<Impossible<(), Error>, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Impossible<(), Error>, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Impossible<(), Error>, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Impossible<(), Error>, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Impossible<(), Error>, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Impossible<(), Error>, Error> {
        Err(key_must_be_a_string())
    }

    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<(), Error> {
        self.0.push_display(value)
    }
}

/// `serde_json`'s `RawValueStrEmitter`: the raw value's text, verbatim.
struct RawValueEmitter<'c, 'b, 'a>(&'c mut &'b mut Serializer<'a>);

impl ser::Serializer for RawValueEmitter<'_, '_, '_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.0.out.extend_from_slice(v.as_bytes());
        Ok(())
    }

    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<(), Error> {
        self.serialize_str(&value.to_string())
    }

    fn serialize_bool(self, _v: bool) -> Result<(), Error> {
        Err(expected_raw_value())
    }

    fn serialize_i8(self, _v: i8) -> Result<(), Error> {
        Err(expected_raw_value())
    }

    fn serialize_i16(self, _v: i16) -> Result<(), Error> {
        Err(expected_raw_value())
    }

    fn serialize_i32(self, _v: i32) -> Result<(), Error> {
        Err(expected_raw_value())
    }

    fn serialize_i64(self, _v: i64) -> Result<(), Error> {
        Err(expected_raw_value())
    }

    fn serialize_i128(self, _v: i128) -> Result<(), Error> {
        Err(expected_raw_value())
    }

    fn serialize_u8(self, _v: u8) -> Result<(), Error> {
        Err(expected_raw_value())
    }

    fn serialize_u16(self, _v: u16) -> Result<(), Error> {
        Err(expected_raw_value())
    }

    fn serialize_u32(self, _v: u32) -> Result<(), Error> {
        Err(expected_raw_value())
    }

    fn serialize_u64(self, _v: u64) -> Result<(), Error> {
        Err(expected_raw_value())
    }

    fn serialize_u128(self, _v: u128) -> Result<(), Error> {
        Err(expected_raw_value())
    }

    fn serialize_f32(self, _v: f32) -> Result<(), Error> {
        Err(expected_raw_value())
    }

    fn serialize_f64(self, _v: f64) -> Result<(), Error> {
        Err(expected_raw_value())
    }

    fn serialize_char(self, _v: char) -> Result<(), Error> {
        Err(expected_raw_value())
    }

    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        Err(expected_raw_value())
    }

    fn serialize_none(self) -> Result<(), Error> {
        Err(expected_raw_value())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<(), Error> {
        Err(expected_raw_value())
    }

    fn serialize_unit(self) -> Result<(), Error> {
        Err(expected_raw_value())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        Err(expected_raw_value())
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
    ) -> Result<(), Error> {
        Err(expected_raw_value())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(expected_raw_value())
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(expected_raw_value())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Impossible<(), Error>, Error> {
        Err(expected_raw_value())
    }

    fn serialize_tuple(self, _len: usize) -> Result<Impossible<(), Error>, Error> {
        Err(expected_raw_value())
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Impossible<(), Error>, Error> {
        Err(expected_raw_value())
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Impossible<(), Error>, Error> {
        Err(expected_raw_value())
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Impossible<(), Error>, Error> {
        Err(expected_raw_value())
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Impossible<(), Error>, Error> {
        Err(expected_raw_value())
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Impossible<(), Error>, Error> {
        Err(expected_raw_value())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct};
    use serde_json::Value;
    use serde_json::value::RawValue;

    use super::*;

    /// Byte-for-byte the same as `serde_json::to_vec`, or both fail.
    fn assert_same<T: Serialize + ?Sized>(v: &T) {
        let ours = to_vec(v).ok();
        let theirs = serde_json::to_vec(v).ok();
        assert_eq!(
            ours.as_deref().map(String::from_utf8_lossy),
            theirs.as_deref().map(String::from_utf8_lossy),
            "fastjson differs from serde_json"
        );
    }

    /// Both must fail (and not only agree on failing).
    fn assert_both_fail<T: Serialize + ?Sized>(v: &T) {
        assert!(serde_json::to_vec(v).is_err(), "serde_json accepted it");
        assert!(to_vec(v).is_err(), "fastjson accepted it");
    }

    #[derive(Serialize, Debug, Clone)]
    struct Unit;

    #[derive(Serialize, Debug, Clone)]
    struct Newtype(u16);

    #[derive(Serialize, Debug, Clone)]
    struct TupleS(i8, String);

    #[derive(Serialize, Debug, Clone)]
    enum Kind {
        Plain,
        #[serde(rename = "re\"named\u{1}")]
        Renamed,
        New(i32),
        Tup(u8, String),
        Struct {
            a: u64,
            #[serde(skip_serializing_if = "Option::is_none")]
            b: Option<String>,
        },
        EmptyTup(),
        EmptyStruct {},
    }

    #[derive(Serialize, Debug, Clone)]
    #[serde(tag = "type")]
    enum Tagged {
        A { x: u8 },
        B(Inner),
        C,
    }

    #[derive(Serialize, Debug, Clone)]
    #[serde(tag = "t", content = "c")]
    enum Adjacent {
        A(u8),
        B { s: String },
        C,
    }

    #[derive(Serialize, Debug, Clone)]
    #[serde(untagged)]
    enum Untagged {
        N(f64),
        S(String),
        U,
    }

    #[derive(Serialize, Debug, Clone)]
    struct Inner {
        k: String,
        #[serde(flatten)]
        extra: BTreeMap<String, i64>,
    }

    /// `serialize_bytes`.
    struct Bytes<'a>(&'a [u8]);

    impl Serialize for Bytes<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(self.0)
        }
    }

    /// `collect_str` of a `Display` that writes in several fragments.
    struct Frags<'a>(&'a [String]);

    impl Display for Frags<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.0.iter().try_for_each(|p| f.write_str(p))
        }
    }

    impl Serialize for Frags<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(self)
        }
    }

    /// A map with float keys (quoted when finite, an error otherwise), and a
    /// `collect_str` key.
    struct FloatKeys<'a>(&'a [(f64, f32)], &'a [String]);

    impl Serialize for FloatKeys<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(None)?;
            for (a, b) in self.0 {
                m.serialize_entry(a, b)?;
                m.serialize_entry(b, a)?;
            }
            m.serialize_entry(&Frags(self.1), &Frags(self.1))?;
            m.end()
        }
    }

    #[derive(Serialize)]
    struct Record<'a> {
        #[serde(rename = "a\"b\\c\n")]
        escaped_key: u8,
        #[serde(rename = "ключ😀")]
        unicode_key: bool,
        s: &'a str,
        owned: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<i64>,
        none: Option<u32>,
        some: Option<&'a str>,
        i8: i8,
        i16: i16,
        i32: i32,
        i64: i64,
        i128: i128,
        u8: u8,
        u16: u16,
        u32: u32,
        u64: u64,
        u128: u128,
        f32: f32,
        f64: f64,
        ch: char,
        unit: (),
        unit_struct: Unit,
        newtype: Newtype,
        tuple: (u8, &'a str, f64),
        tuple_struct: TupleS,
        kinds: Vec<Kind>,
        tagged: Vec<Tagged>,
        adjacent: Vec<Adjacent>,
        untagged: Vec<Untagged>,
        smap: BTreeMap<&'a str, i32>,
        imap: BTreeMap<i64, bool>,
        umap: BTreeMap<u128, u8>,
        bmap: BTreeMap<bool, &'a str>,
        cmap: BTreeMap<char, i8>,
        nmap: BTreeMap<Option<i16>, u8>,
        fkeys: FloatKeys<'a>,
        bytes: Bytes<'a>,
        disp: Frags<'a>,
        value: &'a Value,
        raw: Box<RawValue>,
        raw_json: crate::RawJson,
        inner: Inner,
        #[serde(skip_serializing_if = "Option::is_none")]
        boxed: Option<Box<Inner>>,
        empty_vec: Vec<u8>,
        empty_map: BTreeMap<String, u8>,
        thirteen_char: u8,
        fourteen_chars: u8,
        #[serde(skip)]
        _ignored: u8,
    }

    fn arb_char() -> impl Strategy<Value = char> {
        prop_oneof![
            3 => (0u8..0x20).prop_map(char::from),
            2 => prop::sample::select(vec![
                '"', '\\', '\u{7f}', '/', 'é', '€', '😀', '\u{80}', '\u{2028}', '\u{fffd}', '\u{ffff}', '\u{10ffff}',
            ]),
            4 => (0x20u8..0x7f).prop_map(char::from),
            2 => any::<char>(),
        ]
    }

    fn arb_string() -> impl Strategy<Value = String> {
        prop::collection::vec(arb_char(), 0..40).prop_map(|v| v.into_iter().collect())
    }

    const F64_SPECIALS: [f64; 20] = [
        0.0,
        -0.0,
        1.0,
        -1.5,
        0.1,
        1e15,
        1e16,
        1e21,
        1e300,
        -1e-300,
        123_456_789_012_345_680.0,
        f64::MIN_POSITIVE,
        f64::EPSILON,
        f64::MAX,
        f64::MIN,
        5e-324,
        2.225_073_858_507_201e-308,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ];

    const F32_SPECIALS: [f32; 16] = [
        0.0,
        -0.0,
        1.0,
        0.1,
        16_777_216.0,
        1e-45,
        1.1754942e-38,
        f32::MIN_POSITIVE,
        f32::EPSILON,
        f32::MAX,
        f32::MIN,
        3.4e38,
        1e10,
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
    ];

    fn arb_f64() -> impl Strategy<Value = f64> {
        prop_oneof![any::<f64>(), proptest::num::f64::ANY, prop::sample::select(F64_SPECIALS.to_vec())]
    }

    fn arb_f32() -> impl Strategy<Value = f32> {
        prop_oneof![any::<f32>(), proptest::num::f32::ANY, prop::sample::select(F32_SPECIALS.to_vec())]
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            arb_f64().prop_map(Value::from),
            arb_string().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::btree_map(arb_string(), inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn arb_kind() -> impl Strategy<Value = Kind> {
        prop_oneof![
            Just(Kind::Plain),
            Just(Kind::Renamed),
            any::<i32>().prop_map(Kind::New),
            (any::<u8>(), arb_string()).prop_map(|(a, b)| Kind::Tup(a, b)),
            (any::<u64>(), prop::option::of(arb_string())).prop_map(|(a, b)| Kind::Struct { a, b }),
            Just(Kind::EmptyTup()),
            Just(Kind::EmptyStruct {}),
        ]
    }

    fn arb_inner() -> impl Strategy<Value = Inner> {
        (arb_string(), prop::collection::btree_map(arb_string(), any::<i64>(), 0..4))
            .prop_map(|(k, extra)| Inner { k, extra })
    }

    fn raw(text: String) -> Box<RawValue> {
        RawValue::from_string(text).expect("serde_json wrote valid JSON")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1500))]

        #[test]
        fn typed_records_identical(
            strs in prop::collection::vec(arb_string(), 6),
            ints in (any::<i8>(), any::<i16>(), any::<i32>(), any::<i64>(), any::<i128>()),
            uints in (any::<u8>(), any::<u16>(), any::<u32>(), any::<u64>(), any::<u128>()),
            floats in (arb_f32(), arb_f64(), prop::collection::vec((arb_f64(), arb_f32()), 0..4)),
            opts in (any::<Option<i64>>(), any::<Option<u32>>(), any::<bool>(), any::<char>(), any::<bool>()),
            value in arb_value(),
            bytes in prop::collection::vec(any::<u8>(), 0..12),
            kinds in prop::collection::vec(arb_kind(), 0..5),
            inner in (arb_inner(), prop::option::of(arb_inner()), any::<u8>(), arb_string()),
            maps in (
                prop::collection::btree_map(any::<i64>(), any::<bool>(), 0..4),
                prop::collection::btree_map(any::<u128>(), any::<u8>(), 0..4),
                prop::collection::btree_map(any::<char>(), any::<i8>(), 0..4),
                prop::collection::btree_map(any::<Option<i16>>(), any::<u8>(), 0..4),
                prop::collection::vec(any::<i32>(), 0..4),
            ),
        ) {
            let (i8, i16, i32, i64, i128) = ints;
            let (u8, u16, u32, u64, u128) = uints;
            let (f32, f64, fkeys) = floats;
            let (skipped, none, flag, ch, use_boxed) = opts;
            let (inner, boxed, num, tagged_s) = inner;
            let (imap, umap, cmap, nmap, svals) = maps;
            // Keys both serializers refuse (None, non-finite floats) are
            // tested by hand; here every record must serialise.
            let nmap: BTreeMap<Option<i16>, u8> = nmap.into_iter().filter(|(k, _)| k.is_some()).collect();
            let fkeys: Vec<(f64, f32)> = fkeys.into_iter().filter(|(a, b)| a.is_finite() && b.is_finite()).collect();
            let smap: BTreeMap<&str, i32> = strs.iter().map(String::as_str).zip(svals).collect();
            let rec = Record {
                escaped_key: num,
                unicode_key: flag,
                s: &strs[0],
                owned: strs[1].clone(),
                skipped,
                none,
                some: flag.then_some(strs[2].as_str()),
                i8, i16, i32, i64, i128, u8, u16, u32, u64, u128, f32, f64, ch,
                unit: (),
                unit_struct: Unit,
                newtype: Newtype(u16),
                tuple: (u8, &strs[3], f64),
                tuple_struct: TupleS(i8, strs[4].clone()),
                kinds,
                tagged: vec![Tagged::A { x: num }, Tagged::B(inner.clone()), Tagged::C],
                adjacent: vec![Adjacent::A(num), Adjacent::B { s: tagged_s.clone() }, Adjacent::C],
                untagged: vec![Untagged::N(f64), Untagged::S(tagged_s), Untagged::U],
                smap,
                imap,
                umap,
                bmap: [(flag, strs[5].as_str()), (!flag, strs[0].as_str())].into_iter().collect(),
                cmap,
                nmap,
                fkeys: FloatKeys(&fkeys, &strs),
                bytes: Bytes(&bytes),
                disp: Frags(&strs),
                value: &value,
                raw: raw(serde_json::to_string_pretty(&value).expect("a Value serialises")),
                raw_json: crate::RawJson::from_value(&value),
                inner,
                boxed: if use_boxed { boxed.map(Box::new) } else { None },
                empty_vec: Vec::new(),
                empty_map: BTreeMap::new(),
                thirteen_char: num,
                fourteen_chars: num,
                _ignored: num,
            };
            prop_assert!(serde_json::to_vec(&rec).is_ok());
            assert_same(&rec);
            assert_same(&value);
            for s in &strs {
                assert_same(s);
                assert_same(&[(s.as_str(), s.as_str())].into_iter().collect::<BTreeMap<_, _>>());
            }
            assert_same(&Frags(&strs));
            // `RawJson::from_serialize` (the production entry) agrees too.
            if let Ok(theirs) = serde_json::to_string(&rec) {
                prop_assert_eq!(crate::RawJson::from_serialize(&rec).map(|r| r.get().to_owned()).ok(), Some(theirs));
            }
        }

        #[test]
        fn value_trees_identical(value in arb_value()) {
            assert_same(&value);
            assert_same(&raw(value.to_string()));
            assert_same(&vec![value.clone(), Value::Array(vec![value])]);
        }

        #[test]
        fn strings_identical(s in arb_string(), t in ".*") {
            assert_same(&s);
            assert_same(&t);
            assert_same(&(s.as_str(), t.as_str()));
        }
    }

    /// Every byte value in every lane of the eight-byte scan, around every
    /// kind of neighbour: the first byte needing an escape is found exactly.
    #[test]
    fn escape_scan_every_byte_every_lane() {
        for fill in [b'a', b' ', 0x7F, 0xFF, 0x80, b'!', b'#', b']'] {
            for len in 1..=24 {
                for pos in 0..len {
                    for b in 0..=255u8 {
                        let mut v = vec![fill; len];
                        v[pos] = b;
                        let want = v.iter().position(|&c| c < 0x20 || c == b'"' || c == b'\\');
                        assert_eq!(find_escape(&v), want, "fill {fill:#x} len {len} pos {pos} byte {b:#x}");
                    }
                }
            }
        }
    }

    #[test]
    fn escape_at_every_position_and_chunk_boundary() {
        let specials = [
            "\0", "\u{1}", "\u{8}", "\t", "\n", "\u{b}", "\u{c}", "\r", "\u{1f}", "\"", "\\", "\u{7f}", "é",
            "😀", "/",
        ];
        for len in 0..=40 {
            for pos in 0..=len {
                for sp in specials {
                    let s = format!("{}{sp}{}", "x".repeat(pos), "y".repeat(len - pos));
                    assert_same(&s);
                    for sp2 in specials {
                        assert_same(&format!("{s}{sp2}"));
                    }
                }
            }
        }
        let all: String = (0u8..0x80).map(char::from).collect();
        assert_same(&all);
        for c in (0u32..0x300).chain(0xD7F0..0xE010).chain(0x1_F600..0x1_F610).filter_map(char::from_u32) {
            assert_same(&c);
            assert_same(&c.to_string());
            assert_same(&[(c, c)].into_iter().collect::<BTreeMap<_, _>>());
        }
    }

    #[test]
    fn numbers_at_their_limits() {
        for f in F64_SPECIALS {
            assert_same(&f);
            assert_same(&Value::from(f));
            assert_same(&FloatKeys(&[(f, f as f32)], &[]));
        }
        for f in F32_SPECIALS {
            assert_same(&f);
        }
        for bits in [
            1u64,
            2,
            0x000F_FFFF_FFFF_FFFF,
            0x0010_0000_0000_0000,
            0x7FEF_FFFF_FFFF_FFFF,
            0x8000_0000_0000_0001,
        ] {
            assert_same(&f64::from_bits(bits));
        }
        for bits in [1u32, 0x007F_FFFF, 0x0080_0000, 0x7F7F_FFFF, 0x8000_0001] {
            assert_same(&f32::from_bits(bits));
        }
        assert_same(&(i8::MIN, i8::MAX, i16::MIN, i16::MAX, i32::MIN, i32::MAX, i64::MIN, i64::MAX));
        assert_same(&(u8::MAX, u16::MAX, u32::MAX, u64::MAX, 0u64, i128::MIN, i128::MAX, u128::MAX));
        let keys: BTreeMap<i128, u128> =
            [(i128::MIN, u128::MAX), (0, 0), (i128::MAX, 1)].into_iter().collect();
        assert_same(&keys);
        let keys: BTreeMap<u64, i64> = [(u64::MAX, i64::MIN), (0, i64::MAX)].into_iter().collect();
        assert_same(&keys);
    }

    #[test]
    fn every_serde_shape_by_hand() {
        assert_same(&());
        assert_same(&Unit);
        assert_same(&Newtype(7));
        assert_same(&TupleS(-1, "t\u{0}".into()));
        assert_same(&Some(Some(3u8)));
        assert_same(&None::<u8>);
        assert_same(&(true, false, 'x', "\"", Some(()), None::<()>));
        for k in [
            Kind::Plain,
            Kind::Renamed,
            Kind::New(-5),
            Kind::Tup(1, "a\nb".into()),
            Kind::Struct { a: 1, b: None },
            Kind::Struct { a: 2, b: Some("é".into()) },
            Kind::EmptyTup(),
            Kind::EmptyStruct {},
        ] {
            assert_same(&k);
            assert_same(&vec![k.clone(), k]);
        }
        assert_same(&Bytes(&[]));
        assert_same(&Bytes(&[0, 1, 255]));
        assert_same(&Vec::<u8>::new());
        assert_same(&BTreeMap::<String, u8>::new());
        assert_same(&[[1u8; 0]; 2]);
        assert_same(&serde_json::json!({"a": [1, -2, 3.5, null, true, {"": {}}], "\u{1}": [], "b": "\"\\"}));
        assert_same(&raw(" { \"a\" : [ 1 , 2 ] } ".into()));
        assert_same(&vec![raw("1".into()), raw("\"x\"".into())]);
        let rj = crate::RawJson::from_value(&serde_json::json!({"k": "v"}));
        assert_same(&rj);
    }

    /// A `Serialize` impl that declares length 0 and writes entries anyway:
    /// `serde_json`'s exact (odd) output is reproduced.
    struct Lying;

    impl Serialize for Lying {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut t = s.serialize_tuple(3)?;
            serde::ser::SerializeTuple::serialize_element(&mut t, &LyingSeq)?;
            serde::ser::SerializeTuple::serialize_element(&mut t, &LyingMap)?;
            serde::ser::SerializeTuple::serialize_element(&mut t, &LyingStruct)?;
            serde::ser::SerializeTuple::end(t)
        }
    }

    struct LyingSeq;

    impl Serialize for LyingSeq {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut q = s.serialize_seq(Some(0))?;
            q.serialize_element(&1)?;
            q.serialize_element(&2)?;
            q.end()
        }
    }

    struct LyingMap;

    impl Serialize for LyingMap {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(Some(0))?;
            m.serialize_entry("a", &1)?;
            m.end()
        }
    }

    struct LyingStruct;

    impl Serialize for LyingStruct {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_struct("LyingStruct", 0)?;
            m.serialize_field("a", &1)?;
            m.skip_field("b")?;
            m.end()
        }
    }

    #[test]
    fn declared_lengths_are_honoured_like_serde_json() {
        assert_same(&Lying);
    }

    /// A map whose key is any `Serialize` value.
    struct KeyMap<K>(K);

    impl<K: Serialize> Serialize for KeyMap<K> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(Some(1))?;
            m.serialize_entry(&self.0, &0)?;
            m.end()
        }
    }

    #[test]
    fn map_key_rules_are_serde_json_s() {
        // Accepted, quoted.
        assert_same(&KeyMap("s"));
        assert_same(&KeyMap('c'));
        assert_same(&KeyMap(true));
        assert_same(&KeyMap(-1i8));
        assert_same(&KeyMap(u128::MAX));
        assert_same(&KeyMap(1.5f32));
        assert_same(&KeyMap(-0.0f64));
        assert_same(&KeyMap(Some("x")));
        assert_same(&KeyMap(Newtype(3)));
        assert_same(&KeyMap(Kind::Plain));
        assert_same(&KeyMap(Frags(&["a\"".into(), "b".into()])));
        // Refused by both.
        assert_both_fail(&KeyMap(()));
        assert_both_fail(&KeyMap(Unit));
        assert_both_fail(&KeyMap(None::<u8>));
        assert_both_fail(&KeyMap(f64::NAN));
        assert_both_fail(&KeyMap(f32::INFINITY));
        assert_both_fail(&KeyMap(vec![1u8]));
        assert_both_fail(&KeyMap((1u8, 2u8)));
        assert_both_fail(&KeyMap(Bytes(b"k")));
        assert_both_fail(&KeyMap(Kind::New(1)));
        assert_both_fail(&KeyMap(Kind::Tup(1, String::new())));
        assert_both_fail(&KeyMap(Kind::Struct { a: 1, b: None }));
        assert_both_fail(&KeyMap(TupleS(1, String::new())));
        assert_both_fail(&KeyMap(BTreeMap::<u8, u8>::new()));
        assert_both_fail(&KeyMap(Inner { k: String::new(), extra: BTreeMap::new() }));
    }

    /// A struct named like `serde_json`'s raw-value marker with a wrong
    /// field, or a non-string field, is refused by both.
    struct BadRaw(bool);

    impl Serialize for BadRaw {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_struct(RAW_VALUE_TOKEN, 1)?;
            if self.0 {
                m.serialize_field("other", "1")?;
            } else {
                m.serialize_field(RAW_VALUE_TOKEN, &1u8)?;
            }
            m.end()
        }
    }

    #[test]
    fn raw_value_marker_misuse_fails_like_serde_json() {
        assert_both_fail(&BadRaw(true));
        assert_both_fail(&BadRaw(false));
    }

    #[test]
    fn from_serialize_error_is_serde_json_s() {
        let bad = KeyMap(vec![1u8]);
        let ours = crate::RawJson::from_serialize(&bad).map(|r| r.get().to_owned());
        let theirs = serde_json::to_string(&bad);
        assert_eq!(ours.map_err(|e| e.to_string()), theirs.map_err(|e| e.to_string()));
    }
}
