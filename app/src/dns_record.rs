//! The `dns` EVE record (Suricata 8's "version 3" shape) written straight
//! from the parsed [`Message`]: queries and resource records are walked
//! once each, from the parser's validated iterators, while the record is
//! written (no intermediate `Vec`, `String` or `serde_json::Value`); names
//! are written from their labels through a stack buffer, hex and TXT text
//! are streamed, and `grouped` repeats the answer values already written
//! (copied, not decoded again).
//!
//! Byte-identical to the former `serde_json::Map` records: fields are
//! declared (or, in hand-written `Serialize` impls, written) in bytewise
//! sorted key order, absent keys are skipped, numbers keep their types,
//! names keep the parser's presentation form ([`Name::write_to`]: `\.`,
//! `\\`, `\DDD`), TXT strings are converted as `String::from_utf8_lossy`
//! does.
//!
//! Per section at most [`DNS_MAX_RECORDS_PER_SECTION`] entries are started
//! (a TXT record gives one entry per character-string, as in Suricata, and
//! all of its strings once it is started); the records left out are counted
//! in `<section>_truncated`. `grouped` lists, per type name, the plain value
//! of every logged answer entry that has one.

use super::DNS_MAX_RECORDS_PER_SECTION;
use centinela_events::{JsonObject, JsonWriter};
use centinela_parsers::dns::{
    Anomalies, CharacterStrings, Edns, Key, Message, Name, Questions, RData, Rcode, Record, Records, Soa,
    Type,
};
use core::fmt::{self, Display, Write as _};
use core::net::{Ipv4Addr, Ipv6Addr};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

/// The `dns` record body of one message. Written by hand ([`DnsRecord::write`]:
/// literal keys in bytewise-sorted order, false flags and zero counts
/// skipped), sections, `grouped` and `queries` included; only the rarer
/// record values (TXT, SOA, SRV, keys, EDNS, …) go through `Serialize`.
pub(crate) struct DnsRecord<'a, 'm> {
    m: &'m Message<'a>,
    qname: Option<QuestionText<'a>>,
    tx_id: u64,
    suppressed: u64,
}

impl<'a, 'm> DnsRecord<'a, 'm> {
    /// The record of `m`. `qname` is the first question's name already in
    /// presentation form (written for the first query, and for owner names
    /// that merely point to it, instead of walking the name again; see
    /// [`QuestionText`]), `tx_id` the flow's transaction index, `suppressed`
    /// the identical records dropped by the rate limit since the last one.
    pub(crate) fn new(
        m: &'m Message<'a>,
        qname: Option<QuestionText<'a>>,
        tx_id: u64,
        suppressed: u64,
    ) -> Self {
        DnsRecord { m, qname, tx_id, suppressed }
    }

    /// Writes the body in one pass over each section: keys in bytewise
    /// order, false flags and zero counts skipped, a section's key taken
    /// back when it logs no entry, and `grouped` copied from the answer
    /// values just written (see [`Captured`]). Byte identity with the former
    /// `Map` builder is tested on generated, mutated and corpus messages
    /// (`app/tests/dns.rs`).
    pub(crate) fn write(&self, w: &mut JsonWriter<'_>) -> Result<(), serde_json::Error> {
        let (m, h) = (self.m, self.m.header());
        let is_response = m.is_response();
        let mut o = JsonObject::open(w);
        if h.authoritative() {
            o.key("\"aa\":").bool(true);
        }
        if h.authentic_data() {
            o.key("\"ad\":").bool(true);
        }
        let mut captured = Captured::new();
        if is_response {
            section(
                &mut o,
                ("\"additionals\":", "\"additionals_truncated\":"),
                m.additionals(),
                self.qname,
                None,
            )?;
        }
        let anomalies = AnomalyNames(m.anomalies());
        if !anomalies.is_empty() {
            o.key("\"anomalies\":").value(&anomalies)?;
        }
        if is_response {
            let answers = ("\"answers\":", "\"answers_truncated\":");
            section(&mut o, answers, m.answers(), self.qname, Some(&mut captured))?;
            let authorities = ("\"authorities\":", "\"authorities_truncated\":");
            section(&mut o, authorities, m.authorities(), self.qname, None)?;
        }
        if h.checking_disabled() {
            o.key("\"cd\":").bool(true);
        }
        LowerHex(h.flags()).write(o.key("\"flags\":"));
        if captured.len > 0 {
            let w = o.key("\"grouped\":");
            if captured.overflow {
                Grouped::of(m.answers()).write(w)?;
            } else {
                captured.write_grouped(w);
            }
        }
        o.key("\"id\":").int(m.id());
        o.key("\"opcode\":").int(h.opcode().code());
        if h.is_response() {
            o.key("\"qr\":").bool(true);
        }
        if let Some(first) = self.qname {
            Queries { questions: m.questions(), first: first.text }.write(o.key("\"queries\":"))?;
        }
        if h.recursion_available() {
            o.key("\"ra\":").bool(true);
        }
        RcodeName(m.rcode()).write(o.key("\"rcode\":"));
        if h.recursion_desired() {
            o.key("\"rd\":").bool(true);
        }
        if self.suppressed != 0 {
            o.key("\"suppressed\":").int(self.suppressed);
        }
        if h.truncated() {
            o.key("\"tc\":").bool(true);
        }
        o.key("\"tx_id\":").int(self.tx_id);
        o.key("\"type\":").plain(if is_response { "response" } else { "request" });
        o.key("\"version\":").int(3u8);
        if h.z() {
            o.key("\"z\":").bool(true);
        }
        o.close();
        Ok(())
    }
}

/// `key` and a section's entries, unless it logs none; then `truncated_key`
/// and the count of records left out, unless none was.
fn section(
    o: &mut JsonObject<'_, '_>,
    (key, truncated_key): (&str, &str),
    records: Records<'_>,
    qname: Option<QuestionText<'_>>,
    captured: Option<&mut Captured>,
) -> Result<(), serde_json::Error> {
    let mut skipped = 0;
    o.tentative(key, |w| {
        let (any, left_out) = write_entries(w, records, qname, captured)?;
        skipped = left_out;
        Ok(any)
    })?;
    if skipped != 0 {
        o.key(truncated_key).int(skipped);
    }
    Ok(())
}

/// Writes a section's entries as a JSON array (nothing at all when it
/// logs none): the plain-value entries (addresses, names: nearly all) and
/// TXT strings by hand, the others through [`EntryJson`]. Returns whether
/// any entry was written and the count of records left out. With
/// `captured`, the byte range of every entry's `grouped` value (the same
/// text as its `rdata`, or its `sshfp` object) is kept for `grouped`.
fn write_entries(
    w: &mut JsonWriter<'_>,
    records: Records<'_>,
    qname: Option<QuestionText<'_>>,
    mut captured: Option<&mut Captured>,
) -> Result<(bool, u64), serde_json::Error> {
    let mut entries = Entries::new(records);
    let mut any = false;
    for e in entries.by_ref() {
        w.raw(if any { "," } else { "[" });
        any = true;
        let (r, value) = match e {
            Entry::Txt(r, text) => (r, Value::Simple(Simple::Text(text))),
            Entry::Rr(r) => (r, Value::of(&r)),
        };
        match value {
            Value::Simple(v) => {
                w.raw("{\"rdata\":");
                let start = w.position();
                v.write(w)?;
                if let Some(c) = captured.as_deref_mut() {
                    c.push(r.rtype, start..w.position());
                }
                w.raw(",\"rrname\":");
                write_owner(w, &r, qname)?;
                w.raw(",\"rrtype\":");
                w.plain_text(TypeName::new(r.rtype).as_str());
            }
            Value::Sshfp(fp) => {
                w.raw("{\"rrname\":");
                write_owner(w, &r, qname)?;
                w.raw(",\"rrtype\":");
                w.plain_text(TypeName::new(r.rtype).as_str());
                w.raw(",\"sshfp\":");
                let start = w.position();
                w.value(&fp)?;
                if let Some(c) = captured.as_deref_mut() {
                    c.push(r.rtype, start..w.position());
                }
            }
            other => {
                // The rarer values: the whole entry through serde, closed
                // by its own `}` (the `ttl` is its last key).
                w.value(&EntryJson(r, other, qname))?;
                continue;
            }
        }
        w.raw(",\"ttl\":");
        w.int(r.ttl);
        w.raw("}");
    }
    if any {
        w.raw("]");
    }
    Ok((any, entries.skipped))
}

/// `rrname`: the question's text when the owner merely points to it.
fn write_owner(
    w: &mut JsonWriter<'_>,
    r: &Record<'_>,
    qname: Option<QuestionText<'_>>,
) -> Result<(), serde_json::Error> {
    match qname.and_then(|q| q.text_if_pointer(&r.name)) {
        Some(text) => {
            w.string(text);
            Ok(())
        }
        None => NameJson(r.name).write(w),
    }
}

/// The header flags word in lower-case hex without leading zeros.
struct LowerHex(u16);

impl LowerHex {
    fn write(&self, w: &mut JsonWriter<'_>) {
        self.with_digits(|t| w.plain_ascii(t));
    }

    fn with_text<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        self.with_digits(|t| f(ascii(t)))
    }

    /// The hex digits (ASCII).
    fn with_digits<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut buf = [0u8; 4];
        let mut at = buf.len();
        let mut v = self.0;
        loop {
            at -= 1;
            if let Some(d) = buf.get_mut(at) {
                *d = DIGITS[usize::from(v & 0xf)];
            }
            v >>= 4;
            if v == 0 || at == 0 {
                break;
            }
        }
        f(buf.get(at..).unwrap_or_default())
    }
}

impl Serialize for LowerHex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.with_text(|t| s.serialize_str(t))
    }
}

/// Bytes known to be ASCII as `&str` (empty if they were not).
fn ascii(b: &[u8]) -> &str {
    core::str::from_utf8(b).unwrap_or_default()
}

/// The RCODE's mnemonic, or `RCODEnnn` for an unnamed code.
struct RcodeName(Rcode);

impl RcodeName {
    fn write(&self, w: &mut JsonWriter<'_>) {
        match self.0.mnemonic() {
            Some(name) => w.plain(name),
            None => w.plain_ascii(generic("RCODE", self.0.code()).as_bytes()),
        }
    }
}

impl Serialize for RcodeName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.mnemonic() {
            Some(name) => s.serialize_str(name),
            None => s.serialize_str(generic("RCODE", self.0.code()).as_str()),
        }
    }
}

/// Text of at most `N` octets in a stack buffer (written through
/// `fmt::Write`; writing past `N` fails).
pub(crate) struct StackStr<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> StackStr<N> {
    fn new() -> Self {
        StackStr { buf: [0; N], len: 0 }
    }

    fn push(&mut self, b: u8) -> Option<()> {
        *self.buf.get_mut(self.len)? = b;
        self.len += 1;
        Some(())
    }

    fn push_slice(&mut self, b: &[u8]) -> Option<()> {
        let end = self.len.checked_add(b.len())?;
        self.buf.get_mut(self.len..end)?.copy_from_slice(b);
        self.len = end;
        Some(())
    }

    /// The bytes written.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    /// The text (only ASCII and whole `&str`s are ever written).
    pub(crate) fn as_str(&self) -> &str {
        core::str::from_utf8(self.buf.get(..self.len).unwrap_or_default()).unwrap_or_default()
    }
}

impl<const N: usize> fmt::Write for StackStr<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push_slice(s.as_bytes()).ok_or(fmt::Error)
    }
}

/// `PREFIXnnn` (RFC 3597 §5 generic names): at most 6 + 5 octets.
type Generic = StackStr<16>;

fn generic(prefix: &str, code: u16) -> Generic {
    let mut g = Generic::new();
    // Fits: the longest prefix is 6 octets, the code at most 5.
    let _ = write!(g, "{prefix}{code}");
    g
}

/// A record type's name as the parser's `Display` writes it: the IANA
/// mnemonic, or `TYPEnnn`.
enum TypeName {
    Mnemonic(&'static str),
    Generic(Generic),
}

impl TypeName {
    fn new(t: Type) -> Self {
        match t.mnemonic() {
            Some(s) => TypeName::Mnemonic(s),
            None => TypeName::Generic(generic("TYPE", t.code())),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            TypeName::Mnemonic(s) => s,
            TypeName::Generic(g) => g.as_str(),
        }
    }
}

impl Serialize for TypeName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The message's anomaly flags, by name.
struct AnomalyNames(Anomalies);

impl AnomalyNames {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for AnomalyNames {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|(_, name)| name))
    }
}

/// Longest presentation form of a name: at most 254 label octets, each
/// written in at most 4 characters, plus the dots (fewer than 128).
pub(crate) const NAME_TEXT_MAX: usize = 1024;

/// Room for the usual name (no escapes needed up to 255 octets) before
/// falling back to [`NAME_TEXT_MAX`].
const NAME_TEXT_SHORT: usize = 256;

/// Write `n` in presentation form exactly as [`Name::write_to`] does:
/// labels joined by `.`, `.` and `\` inside labels as `\.` and `\\`,
/// octets outside `!`..=`~` as `\DDD`, the root as `.`. `None` when it does
/// not fit `N`.
fn name_text<const N: usize>(n: &Name<'_>) -> Option<StackStr<N>> {
    let mut t = StackStr::<N>::new();
    if n.is_root() {
        t.push(b'.')?;
        return Some(t);
    }
    if in_place_text(n, &mut t) {
        return Some(t);
    }
    for (i, label) in n.labels().enumerate() {
        if i > 0 {
            t.push(b'.')?;
        }
        let mut rest = label;
        while !rest.is_empty() {
            let plain = rest.iter().position(|&b| !is_plain(b)).unwrap_or(rest.len());
            let (run, tail) = rest.split_at(plain);
            t.push_slice(run)?;
            let Some((&b, tail)) = tail.split_first() else { break };
            match b {
                b'.' | b'\\' => {
                    t.push(b'\\')?;
                    t.push(b)?;
                }
                _ => {
                    t.push(b'\\')?;
                    t.push(b'0' + b / 100)?;
                    t.push(b'0' + (b / 10) % 10)?;
                    t.push(b'0' + b % 10)?;
                }
            }
            rest = tail;
        }
    }
    Some(t)
}

/// The fast path of [`name_text`]: a name stored in place in full (most
/// question names) whose label octets all print as themselves is its wire
/// octets between the first length octet and the root octet, with each
/// inner length octet turned into `.`: one copy, then one pass that checks
/// every octet (no escape needed, and no `.` but those separators).
/// `false` (and `t` left empty) when the name does not qualify.
fn in_place_text<const N: usize>(n: &Name<'_>, t: &mut StackStr<N>) -> bool {
    let Some(w) = n.in_place_wire() else { return false };
    let (Some(&first), Some(inner)) = (w.first(), w.get(1..w.len().saturating_sub(1))) else {
        return false;
    };
    let len = inner.len();
    // Checked in whole 8-octet words: the tail of the last word is padded
    // with a plain octet.
    let padded = len.next_multiple_of(8);
    let Some(block) = t.buf.get_mut(..padded) else { return false };
    let (dst, pad) = block.split_at_mut(len);
    dst.copy_from_slice(inner);
    pad.fill(b'a');
    // `in_place_wire` checked that the length octets tile the name: the
    // one at `q` (relative to `inner`) says where the next one is.
    let mut q = usize::from(first);
    while let Some(d) = dst.get_mut(q) {
        let l = usize::from(*d);
        *d = b'.';
        q += 1 + l;
    }
    // Eight octets per step (SWAR): any octet outside `!`..=`~` or a `\`
    // makes the name need escapes; the `.` octets are counted exactly.
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const LOWS: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let (mut bad, mut dots) = (0u64, 0u32);
    for word in block.as_chunks::<8>().0 {
        let x = u64::from_le_bytes(*word);
        // Below 0x21, and 0x7F or above: exact as "any" (a borrow or carry
        // only crosses out of a lane that matched itself).
        bad |= x.wrapping_sub(ONES * 0x21) & !x;
        bad |= x.wrapping_add(ONES) | x;
        let bs = x ^ (ONES * u64::from(b'\\'));
        bad |= bs.wrapping_sub(ONES) & !bs;
        // Exact zero lanes of `x ^ '.'` (no borrow across lanes).
        let dot = x ^ (ONES * u64::from(b'.'));
        dots += (!(((dot & LOWS).wrapping_add(LOWS)) | dot) & HIGHS).count_ones();
    }
    let bad = bad & HIGHS;
    if bad != 0 || dots as usize + 1 != n.label_count() {
        return false;
    }
    t.len = inner.len();
    true
}

/// Call `f` with `n` in presentation form, from a stack buffer (a short one
/// first); with `None` only if the name did not fit [`NAME_TEXT_MAX`],
/// which a name the parser validated cannot do.
pub(crate) fn with_name_text<R>(n: &Name<'_>, f: impl FnOnce(Option<&str>) -> R) -> R {
    if n.len() < NAME_TEXT_SHORT
        && let Some(t) = name_text::<NAME_TEXT_SHORT>(n)
    {
        return f(Some(t.as_str()));
    }
    match name_text::<NAME_TEXT_MAX>(n) {
        Some(t) => f(Some(t.as_str())),
        None => f(None),
    }
}

/// Written as is inside a label: printable ASCII except `.` and `\`.
fn is_plain(b: u8) -> bool {
    matches!(b, 0x21..=0x7E) && b != b'.' && b != b'\\'
}

/// A name as a JSON string.
#[derive(Clone, Copy)]
struct NameJson<'a>(Name<'a>);

impl NameJson<'_> {
    fn write(&self, w: &mut JsonWriter<'_>) -> Result<(), serde_json::Error> {
        with_name_text(&self.0, |t| match t {
            Some(t) => {
                w.string(t);
                Ok(())
            }
            None => w.value(self),
        })
    }
}

impl Serialize for NameJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        with_name_text(&self.0, |t| match t {
            Some(t) => s.serialize_str(t),
            None => s.collect_str(&self.0),
        })
    }
}

/// Lower-case hex of raw bytes, streamed in chunks (no `String`).
#[derive(Clone, Copy)]
struct Hex<'a>(&'a [u8]);

impl Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut buf = [0u8; 256];
        for chunk in self.0.chunks(buf.len() / 2) {
            for (&b, out) in chunk.iter().zip(buf.chunks_exact_mut(2)) {
                if let [hi, lo] = out {
                    *hi = DIGITS[usize::from(b >> 4)];
                    *lo = DIGITS[usize::from(b & 0x0f)];
                }
            }
            f.write_str(ascii(buf.get(..chunk.len() * 2).unwrap_or_default()))?;
        }
        Ok(())
    }
}

impl Serialize for Hex<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.len() <= 64 {
            let mut buf = [0u8; 128];
            const DIGITS: &[u8; 16] = b"0123456789abcdef";
            for (&b, out) in self.0.iter().zip(buf.chunks_exact_mut(2)) {
                if let [hi, lo] = out {
                    *hi = DIGITS[usize::from(b >> 4)];
                    *lo = DIGITS[usize::from(b & 0x0f)];
                }
            }
            s.serialize_str(ascii(buf.get(..self.0.len() * 2).unwrap_or_default()))
        } else {
            s.collect_str(self)
        }
    }
}

/// SSHFP fingerprint: colon-separated lower-case hex octets.
#[derive(Clone, Copy)]
struct ColonHex<'a>(&'a [u8]);

impl Display for ColonHex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        // 85 octets per write: "xx:" each.
        let mut buf = [0u8; 255];
        let mut first = true;
        for chunk in self.0.chunks(buf.len() / 3) {
            let mut n = 0;
            for &b in chunk {
                if !first && let Some(c) = buf.get_mut(n) {
                    *c = b':';
                    n += 1;
                }
                first = false;
                if let Some([hi, lo]) = buf.get_mut(n..n + 2) {
                    *hi = DIGITS[usize::from(b >> 4)];
                    *lo = DIGITS[usize::from(b & 0x0f)];
                }
                n += 2;
            }
            f.write_str(ascii(buf.get(..n).unwrap_or_default()))?;
        }
        Ok(())
    }
}

/// A TXT character-string as `String::from_utf8_lossy` converts it.
#[derive(Clone, Copy)]
struct Lossy<'a>(&'a [u8]);

impl Display for Lossy<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            f.write_str(chunk.valid())?;
            if !chunk.invalid().is_empty() {
                f.write_char(char::REPLACEMENT_CHARACTER)?;
            }
        }
        Ok(())
    }
}

impl Serialize for Lossy<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match core::str::from_utf8(self.0) {
            Ok(text) => s.serialize_str(text),
            Err(_) => s.collect_str(self),
        }
    }
}

/// Every character-string of a TXT record, concatenated (lossy).
#[derive(Clone, Copy)]
struct LossyJoined<'a>(CharacterStrings<'a>);

impl Display for LossyJoined<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in self.0 {
            Lossy(s).fmt(f)?;
        }
        Ok(())
    }
}

/// The plain value of a record: its `rdata` and its `grouped` entry.
#[derive(Clone, Copy)]
enum Simple<'a> {
    V4(Ipv4Addr),
    V6(Ipv6Addr),
    Name(Name<'a>),
    Text(&'a [u8]),
    Texts(CharacterStrings<'a>),
    Hex(&'a [u8]),
}

impl Simple<'_> {
    /// Addresses and names by hand; text and hex through `Serialize`.
    fn write(&self, w: &mut JsonWriter<'_>) -> Result<(), serde_json::Error> {
        match *self {
            Simple::V4(a) => {
                let t = v4_text(a);
                w.plain_ascii(t.as_bytes());
                Ok(())
            }
            Simple::Name(n) => NameJson(n).write(w),
            _ => w.value(self),
        }
    }
}

/// Dotted-quad text of `a` (at most 15 octets), from the events crate's
/// octet table.
fn v4_text(a: Ipv4Addr) -> StackStr<16> {
    let (buf, len) = centinela_events::ipv4_text(a);
    StackStr { buf, len }
}

impl Serialize for Simple<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Simple::V4(a) => s.serialize_str(v4_text(a).as_str()),
            Simple::V6(a) => {
                // The longest form is 45 octets (an IPv4-mapped address).
                let mut t = StackStr::<48>::new();
                match write!(t, "{a}") {
                    Ok(()) => s.serialize_str(t.as_str()),
                    Err(_) => s.collect_str(&a),
                }
            }
            Simple::Name(n) => NameJson(n).serialize(s),
            Simple::Text(t) => Lossy(t).serialize(s),
            Simple::Texts(t) => s.collect_str(&LossyJoined(t)),
            Simple::Hex(b) => Hex(b).serialize(s),
        }
    }
}

/// SSHFP (RFC 4255) as Suricata writes it.
#[derive(Clone, Copy, Serialize)]
struct Sshfp<'a> {
    algo: u8,
    fingerprint: ColonHexJson<'a>,
    #[serde(rename = "type")]
    fp_type: u8,
}

#[derive(Clone, Copy)]
struct ColonHexJson<'a>(&'a [u8]);

impl Serialize for ColonHexJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&ColonHex(self.0))
    }
}

#[derive(Serialize)]
struct SrvJson<'a> {
    name: NameJson<'a>,
    port: u16,
    priority: u16,
    weight: u16,
}

#[derive(Serialize)]
struct SoaJson<'a> {
    expire: u32,
    minimum: u32,
    mname: NameJson<'a>,
    refresh: u32,
    retry: u32,
    rname: NameJson<'a>,
    serial: u32,
}

impl<'a> From<&Soa<'a>> for SoaJson<'a> {
    fn from(s: &Soa<'a>) -> Self {
        SoaJson {
            expire: s.expire,
            minimum: s.minimum,
            mname: NameJson(s.mname),
            refresh: s.refresh,
            retry: s.retry,
            rname: NameJson(s.rname),
            serial: s.serial,
        }
    }
}

#[derive(Serialize)]
struct KeyJson<'a> {
    algorithm: u8,
    flags: u16,
    protocol: u8,
    public_key: Hex<'a>,
}

impl<'a> From<&Key<'a>> for KeyJson<'a> {
    fn from(k: &Key<'a>) -> Self {
        KeyJson {
            algorithm: k.algorithm,
            flags: k.flags,
            protocol: k.protocol,
            public_key: Hex(k.public_key),
        }
    }
}

/// The EDNS options: `[{"code":…,"data":hex},…]`.
struct OptJson<'a>(Edns<'a>);

impl Serialize for OptJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Opt<'a> {
            code: u16,
            data: Hex<'a>,
        }
        s.collect_seq(self.0.options.map(|o| Opt { code: o.code, data: Hex(o.data) }))
    }
}

#[derive(Serialize)]
struct SvcbJson<'a> {
    priority: u16,
    rdata: Hex<'a>,
    target: NameJson<'a>,
}

/// What a record logs besides its owner name, type and TTL.
#[derive(Clone, Copy)]
enum Value<'a> {
    /// `rdata` (and a `grouped` entry in the answer section).
    Simple(Simple<'a>),
    /// `sshfp` (and a `grouped` entry).
    Sshfp(Sshfp<'a>),
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: Name<'a>,
    },
    Soa(Soa<'a>),
    Key(Key<'a>),
    Opt(Edns<'a>),
    Svcb {
        priority: u16,
        target: Name<'a>,
        rdata: &'a [u8],
    },
}

impl<'a> Value<'a> {
    /// The value of a record that is not split per TXT string.
    fn of(r: &Record<'a>) -> Self {
        if r.rtype == Type::Sshfp
            && let [algo, fp_type, fp @ ..] = r.rdata()
        {
            return Value::Sshfp(Sshfp { algo: *algo, fingerprint: ColonHexJson(fp), fp_type: *fp_type });
        }
        match r.data() {
            RData::A(a) => Value::Simple(Simple::V4(a)),
            RData::Aaaa(a) => Value::Simple(Simple::V6(a)),
            RData::Cname(n) | RData::Ns(n) | RData::Ptr(n) => Value::Simple(Simple::Name(n)),
            RData::Mx { exchange, .. } => Value::Simple(Simple::Name(exchange)),
            RData::Txt(strings) => Value::Simple(Simple::Texts(strings)),
            RData::Null(b) | RData::Other(b) | RData::Malformed(b) => Value::Simple(Simple::Hex(b)),
            RData::Srv { priority, weight, port, target } => Value::Srv { priority, weight, port, target },
            RData::Soa(s) => Value::Soa(s),
            RData::Key(k) => Value::Key(k),
            RData::Opt(e) => Value::Opt(e),
            RData::Svcb(s) => Value::Svcb { priority: s.priority, target: s.target, rdata: r.rdata() },
        }
    }
}

/// One logged entry of a section.
#[derive(Clone, Copy)]
enum Entry<'a> {
    /// One character-string of a TXT record.
    Txt(Record<'a>, &'a [u8]),
    /// Any other record.
    Rr(Record<'a>),
}

impl<'a> Entry<'a> {
    fn record(&self) -> &Record<'a> {
        match self {
            Entry::Txt(r, _) | Entry::Rr(r) => r,
        }
    }
}

/// The entries of a section, capped at [`DNS_MAX_RECORDS_PER_SECTION`]
/// started entries; `skipped` counts the records left out.
#[derive(Clone)]
struct Entries<'a> {
    records: Records<'a>,
    txt: Option<(Record<'a>, CharacterStrings<'a>)>,
    started: usize,
    skipped: u64,
}

impl<'a> Entries<'a> {
    fn new(records: Records<'a>) -> Self {
        Entries { records, txt: None, started: 0, skipped: 0 }
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        loop {
            if let Some((r, strings)) = &mut self.txt {
                if let Some(s) = strings.next() {
                    self.started += 1;
                    return Some(Entry::Txt(*r, s));
                }
                self.txt = None;
            }
            let r = self.records.next()?;
            if self.started >= DNS_MAX_RECORDS_PER_SECTION {
                self.skipped += 1;
                continue;
            }
            if r.rtype == Type::Txt
                && let RData::Txt(strings) = r.data()
            {
                self.txt = Some((r, strings));
                continue;
            }
            self.started += 1;
            return Some(Entry::Rr(r));
        }
    }
}

/// One entry whose value is not a plain one or an SSHFP (SRV, SOA, keys,
/// EDNS, SVCB) as Suricata writes it, through serde.
struct EntryJson<'a>(Record<'a>, Value<'a>, Option<QuestionText<'a>>);

impl Serialize for EntryJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (r, qname) = (&self.0, self.2);
        let mut m = s.serialize_map(None)?;
        match &self.1 {
            Value::Key(k) => m.serialize_entry("key", &KeyJson::from(k))?,
            Value::Opt(e) => m.serialize_entry("opt", &OptJson(*e))?,
            Value::Simple(simple) => m.serialize_entry("rdata", simple)?,
            _ => {}
        }
        head(&mut m, r, qname)?;
        match self.1 {
            Value::Soa(soa) => m.serialize_entry("soa", &SoaJson::from(&soa))?,
            Value::Srv { priority, weight, port, target } => {
                m.serialize_entry("srv", &SrvJson { name: NameJson(target), port, priority, weight })?;
            }
            Value::Sshfp(fp) => m.serialize_entry("sshfp", &fp)?,
            Value::Svcb { priority, target, rdata } => m.serialize_entry(
                "svcb",
                &SvcbJson { priority, rdata: Hex(rdata), target: NameJson(target) },
            )?,
            Value::Simple(_) | Value::Key(_) | Value::Opt(_) => {}
        }
        m.serialize_entry("ttl", &r.ttl)?;
        m.end()
    }
}

/// `rrname` and `rrtype`.
fn head<M: SerializeMap>(m: &mut M, r: &Record<'_>, qname: Option<QuestionText<'_>>) -> Result<(), M::Error> {
    match qname.and_then(|q| q.text_if_pointer(&r.name)) {
        Some(text) => m.serialize_entry("rrname", text)?,
        None => m.serialize_entry("rrname", &NameJson(r.name))?,
    }
    m.serialize_entry("rrtype", &TypeName::new(r.rtype))
}

/// An entry's `grouped` value, if its type has a plain form.
#[derive(Clone, Copy)]
enum GroupValue<'a> {
    Simple(Simple<'a>),
    Sshfp(Sshfp<'a>),
}

fn grouped_value<'a>(e: &Entry<'a>) -> Option<GroupValue<'a>> {
    match e {
        Entry::Txt(_, text) => Some(GroupValue::Simple(Simple::Text(text))),
        Entry::Rr(r) => match Value::of(r) {
            Value::Simple(v) => Some(GroupValue::Simple(v)),
            Value::Sshfp(v) => Some(GroupValue::Sshfp(v)),
            _ => None,
        },
    }
}

/// The distinct types of the grouped answer entries. Entries are started
/// for at most [`DNS_MAX_RECORDS_PER_SECTION`] records, so there are at most
/// that many distinct types.
struct TypeSet {
    types: [Type; DNS_MAX_RECORDS_PER_SECTION],
    len: usize,
}

impl Default for TypeSet {
    fn default() -> Self {
        TypeSet { types: [Type::A; DNS_MAX_RECORDS_PER_SECTION], len: 0 }
    }
}

impl TypeSet {
    fn as_slice(&self) -> &[Type] {
        self.types.get(..self.len).unwrap_or_default()
    }

    fn insert(&mut self, t: Type) {
        if !self.as_slice().contains(&t)
            && let Some(slot) = self.types.get_mut(self.len)
        {
            *slot = t;
            self.len += 1;
        }
    }

    /// Bytewise order of the type names (the order of the former map keys).
    fn sort_by_name(&mut self) {
        if let Some(types) = self.types.get_mut(..self.len) {
            types.sort_unstable_by(|a, b| TypeName::new(*a).as_str().cmp(TypeName::new(*b).as_str()));
        }
    }
}

/// Values [`Captured`] keeps (more answer entries with a `grouped` value
/// than this, which takes a TXT record of many strings or an unusually long
/// answer section, are grouped by walking the answers again: [`Grouped`]).
const CAPTURED_MAX: usize = 32;

/// The `grouped` values of the answer entries, captured while the answers
/// are written: each entry's type and where its value's text lies in the
/// output. `grouped` lists the same texts (an entry's `rdata`, or its
/// `sshfp` object), so it is written by copying them, without walking and
/// decoding the answers again.
struct Captured {
    items: [(Type, usize, usize); CAPTURED_MAX],
    len: usize,
    /// More values than `items` holds: `grouped` is written by [`Grouped`].
    overflow: bool,
}

impl Captured {
    fn new() -> Self {
        Captured { items: [(Type::A, 0, 0); CAPTURED_MAX], len: 0, overflow: false }
    }

    fn push(&mut self, t: Type, text: core::ops::Range<usize>) {
        match self.items.get_mut(self.len) {
            Some(slot) => *slot = (t, text.start, text.end),
            None => self.overflow = true,
        }
        self.len += 1;
    }

    /// `grouped` from the captured texts: per type name in bytewise order,
    /// the values of that type in entry order.
    fn write_grouped(&self, w: &mut JsonWriter<'_>) {
        let items = self.items.get(..self.len).unwrap_or_default();
        let mut types = TypeSet::default();
        for &(t, ..) in items {
            types.insert(t);
        }
        types.sort_by_name();
        w.raw("{");
        for (i, &t) in types.as_slice().iter().enumerate() {
            w.raw(if i == 0 { "" } else { "," });
            w.plain_text(TypeName::new(t).as_str());
            w.raw(":[");
            for (j, &(_, start, end)) in items.iter().filter(|(it, ..)| *it == t).enumerate() {
                if j > 0 {
                    w.raw(",");
                }
                w.repeat(start..end);
            }
            w.raw("]");
        }
        w.raw("}");
    }
}

/// `grouped`: per type name, the plain values of the answer entries,
/// walked again from the message (when [`Captured`] overflowed).
struct Grouped<'a> {
    answers: Records<'a>,
    types: TypeSet,
}

impl<'a> Grouped<'a> {
    fn of(answers: Records<'a>) -> Self {
        let mut types = TypeSet::default();
        for e in Entries::new(answers.clone()) {
            if grouped_value(&e).is_some() {
                types.insert(e.record().rtype);
            }
        }
        types.sort_by_name();
        Grouped { answers, types }
    }
}

impl Grouped<'_> {
    fn write(&self, w: &mut JsonWriter<'_>) -> Result<(), serde_json::Error> {
        w.raw("{");
        for (i, &t) in self.types.as_slice().iter().enumerate() {
            if i > 0 {
                w.raw(",");
            }
            w.plain_text(TypeName::new(t).as_str());
            w.raw(":[");
            let values = Entries::new(self.answers.clone())
                .filter(|e| e.record().rtype == t)
                .filter_map(|e| grouped_value(&e));
            for (j, v) in values.enumerate() {
                if j > 0 {
                    w.raw(",");
                }
                match v {
                    GroupValue::Simple(v) => v.write(w)?,
                    GroupValue::Sshfp(v) => w.value(&v)?,
                }
            }
            w.raw("]");
        }
        w.raw("}");
        Ok(())
    }
}

/// The first question's name and its presentation form.
#[derive(Clone, Copy)]
pub(crate) struct QuestionText<'a> {
    /// The whole message.
    pub(crate) msg: &'a [u8],
    /// The first question's name.
    pub(crate) name: Name<'a>,
    /// Its presentation form.
    pub(crate) text: &'a str,
}

impl<'a> QuestionText<'a> {
    /// The text of `n` when `n` is exactly one compression pointer to the
    /// question name with as many labels (the commonest owner name of a
    /// response): its labels are then the question's labels, read the same
    /// way (the pointer is followed backwards to the question, whose
    /// in-place octets end before `n`), so its presentation is the same.
    fn text_if_pointer(&self, n: &Name<'_>) -> Option<&'a str> {
        let (at, target) = (n.offset(), self.name.offset());
        let hi = u8::try_from(target >> 8).ok().filter(|hi| *hi < 0x40)?;
        let pointer = [0xC0 | hi, (target & 0xff) as u8];
        (target < at
            && self.msg.get(at..at.checked_add(2)?) == Some(&pointer[..])
            && n.label_count() == self.name.label_count())
        .then_some(self.text)
    }
}

/// `queries`: the questions (capped), the first one's name given as text.
struct Queries<'a> {
    questions: Questions<'a>,
    first: &'a str,
}

impl Queries<'_> {
    fn write(&self, w: &mut JsonWriter<'_>) -> Result<(), serde_json::Error> {
        w.raw("[");
        for (i, q) in self.questions.clone().take(DNS_MAX_RECORDS_PER_SECTION).enumerate() {
            if i == 0 {
                w.raw("{\"rrname\":");
                w.string(self.first);
            } else {
                w.raw(",{\"rrname\":");
                NameJson(q.name).write(w)?;
            }
            w.raw(",\"rrtype\":");
            w.plain_text(TypeName::new(q.qtype).as_str());
            w.raw("}");
        }
        w.raw("]");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name_of(msg: &[u8]) -> Name<'_> {
        Name::parse(msg, 0).map(|(n, _)| n).expect("name")
    }

    /// What `JsonWriter::plain_text` may be given: no byte JSON escapes.
    fn needs_no_escape(t: &str) -> bool {
        t.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\')
    }

    #[test]
    fn unscanned_texts_need_no_escaping() {
        // Every form the record writes with `plain`/`plain_text`: type and
        // rcode names (mnemonic or generic), header flags in hex, addresses.
        for code in 0..=u16::MAX {
            let t = TypeName::new(Type::from(code));
            assert!(needs_no_escape(t.as_str()), "{}", t.as_str());
            LowerHex(code).with_text(|t| assert!(needs_no_escape(t) && !t.is_empty(), "{t}"));
            let mut out = Vec::new();
            RcodeName(Rcode::from(code)).write(&mut JsonWriter::new(&mut out));
            let text = String::from_utf8(out).expect("utf-8");
            assert_eq!(serde_json::from_str::<String>(&text).ok().as_deref(), text.get(1..text.len() - 1));
        }
        for a in [[0, 0, 0, 0], [255, 255, 255, 255], [192, 0, 2, 7], [10, 100, 1, 99]] {
            let t = v4_text(Ipv4Addr::from(a));
            assert_eq!(t.as_str(), Ipv4Addr::from(a).to_string());
        }
    }

    #[test]
    fn name_text_matches_write_to_for_every_octet() {
        for b in 0..=255u8 {
            let msg = [3, b'a', b, b'z', 1, b, 0];
            let n = name_of(&msg);
            assert_eq!(with_name_text(&n, |t| t.map(String::from)), Some(n.to_string()), "octet {b}");
            assert_eq!(name_text::<NAME_TEXT_MAX>(&n).map(|t| t.as_str().to_string()), Some(n.to_string()));
        }
        let root = name_of(&[0]);
        assert_eq!(with_name_text(&root, |t| t.map(String::from)).as_deref(), Some("."));
    }

    #[test]
    fn in_place_fast_path_is_taken_only_for_plain_names() {
        let cases: [(&[u8], Option<&str>); 5] = [
            (b"\x03ntp\x06ubuntu\x03com\x00", Some("ntp.ubuntu.com")),
            (b"\x01x\x00", Some("x")),
            // A literal dot, a backslash, a space: escaped by the slow path.
            (b"\x03a.b\x03com\x00", None),
            (b"\x03a\\b\x00", None),
            (b"\x03a b\x00", None),
        ];
        for (msg, fast) in cases {
            let n = name_of(msg);
            let mut t = StackStr::<NAME_TEXT_SHORT>::new();
            assert_eq!(in_place_text(&n, &mut t), fast.is_some(), "{msg:?}");
            if let Some(text) = fast {
                assert_eq!(t.as_str(), text);
            } else {
                assert!(t.as_bytes().is_empty());
            }
            // Either way the text is the parser's presentation form.
            assert_eq!(with_name_text(&n, |t| t.map(String::from)), Some(n.to_string()));
        }
        // Too long for the buffer: not taken (the caller falls back to the
        // long buffer).
        let n = name_of(b"\x05abcde\x00");
        let mut t = StackStr::<4>::new();
        assert!(!in_place_text(&n, &mut t));
    }

    /// The record body of `msg` (every section logged).
    fn body(msg: &[u8]) -> (String, Captured) {
        let m = Message::parse(msg).expect("message");
        let mut out = Vec::new();
        let mut w = JsonWriter::new(&mut out);
        let mut captured = Captured::new();
        write_entries(&mut w, m.answers(), None, Some(&mut captured)).expect("answers");
        (String::from_utf8(out).expect("utf-8"), captured)
    }

    #[test]
    fn grouped_from_captured_texts_matches_the_walk() {
        use centinela_pcapgen::proto::dns as g;
        let rec = |t: u8| match t % 4 {
            0 => g::Record::new("h.example", 1, g::Rdata::A([10, 0, 0, t])),
            1 => {
                g::Record::new("h.example", 1, g::Rdata::Txt(vec![vec![b'a' + t % 26; 2], b"\\\"".to_vec()]))
            }
            2 => g::Record::new("h.example", 1, g::Rdata::Cname(format!("c{t}.example"))),
            _ => g::Record::new("h.example", 1, g::Rdata::Raw(44, vec![1, 2, t, 0xff])),
        };
        // 1, 12 and 31 records (TXT records give two values): the last
        // ones overflow the capture (more than CAPTURED_MAX values).
        for n in [1u8, 12, 31] {
            let msg = g::Message {
                id: 7,
                flags: 0x8180,
                questions: vec![g::Question { name: "h.example".into(), qtype: 255 }],
                answers: (0..n).map(rec).collect(),
                ..g::Message::default()
            }
            .to_bytes();
            let m = Message::parse(&msg).expect("message");
            let (mut text, captured) = body(&msg);
            let values = usize::from(n) + (usize::from(n) + 2) / 4;
            assert_eq!(captured.len, values);
            assert_eq!(captured.overflow, values > CAPTURED_MAX, "{n} records");
            let mut walked = Vec::new();
            Grouped::of(m.answers()).write(&mut JsonWriter::new(&mut walked)).expect("grouped");
            if !captured.overflow {
                let at = text.len();
                let mut out = text.into_bytes();
                captured.write_grouped(&mut JsonWriter::new(&mut out));
                text = String::from_utf8(out).expect("utf-8");
                assert_eq!(&text[at..], String::from_utf8(walked).expect("utf-8"), "{n} records");
            }
        }
    }

    #[test]
    fn longest_escaped_name_fits() {
        // 4 labels of 63 octets 0x00 (each written \000) and one of 58: 255 wire octets.
        let mut msg = Vec::new();
        for len in [63u8, 63, 63, 61] {
            msg.push(len);
            msg.extend(std::iter::repeat_n(0u8, usize::from(len)));
        }
        msg.push(0);
        let n = name_of(&msg);
        assert_eq!(n.wire_len(), 255);
        let t = with_name_text(&n, |t| t.map(String::from)).expect("fits");
        assert_eq!(t, n.to_string());
        assert!(t.len() > NAME_TEXT_SHORT && t.len() <= NAME_TEXT_MAX);
        assert!(name_text::<NAME_TEXT_SHORT>(&n).is_none());
    }

    #[test]
    fn hex_forms_match_the_formatter() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(700).collect();
        for len in [0, 1, 63, 64, 65, 127, 128, 129, 700] {
            let b = &bytes[..len];
            let want: String = b.iter().map(|x| format!("{x:02x}")).collect();
            assert_eq!(Hex(b).to_string(), want);
            assert_eq!(serde_json::to_string(&Hex(b)).expect("json"), format!("\"{want}\""));
            let colon: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
            assert_eq!(ColonHex(b).to_string(), colon.join(":"), "len {len}");
        }
    }

    #[test]
    fn lossy_matches_std() {
        for s in [&b"plain"[..], b"caf\xc3\xa9", b"\xff\xfeab\xc3", b"\"quote\\", b""] {
            assert_eq!(
                serde_json::to_string(&Lossy(s)).expect("json"),
                serde_json::to_string(&String::from_utf8_lossy(s)).expect("json")
            );
        }
    }

    #[test]
    fn generic_names_and_flags() {
        assert_eq!(TypeName::new(Type::from(65280)).as_str(), "TYPE65280");
        assert_eq!(TypeName::new(Type::A).as_str(), Type::A.to_string());
        assert_eq!(serde_json::to_string(&RcodeName(Rcode::from(4095))).expect("json"), "\"RCODE4095\"");
        for v in [0u16, 1, 0x100, 0x8180, 0xffff, 0x0abc] {
            assert_eq!(serde_json::to_string(&LowerHex(v)).expect("json"), format!("\"{v:x}\""));
        }
    }
}
