//! Domain names with compression (RFC 1035 §3.1, §4.1.4), read without
//! allocating and without any possibility of looping.
//!
//! # The walking rule
//!
//! Reading starts at the name's first octet with the *segment* `[start, ..)`
//! and a *limit* (the end of the message or of the rdata holding the name).
//! A label must end before the limit. A pointer at `p` to `t` is followed
//! only if `t` is strictly before the current segment's start; the limit
//! then becomes that segment's start and the segment restarts at `t`. Each
//! segment therefore lies wholly before the previous one: no octet is read
//! twice, cycles and forward pointers are impossible to follow, and at most
//! [`MAX_POINTERS`] jumps are made. The 255-octet and 127-label caps stop
//! the *labels* of the name (flagged); the walk still finds where the name
//! ends in place so the rest of the message stays readable.

use super::Anomalies;
use crate::limits::dns::{MAX_LABELS, MAX_NAME_WIRE_LEN, MAX_POINTERS};

const POINTER: u8 = 0xC0;
const LABEL_TYPE_MASK: u8 = 0xC0;

/// What one walk of a name found.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Walk {
    /// Offset just after the name's in-place octets (its terminating zero or
    /// first pointer); `None` when that cannot be known (the name runs off
    /// its limit in place, or an in-place label has a reserved type).
    pub(crate) end: Option<usize>,
    /// Labels that belong to the name (up to the caps).
    pub(crate) labels: u8,
    /// Wire length of those labels plus the root octet.
    pub(crate) wire_len: u16,
    /// Compression pointers followed (≤ `MAX_POINTERS`).
    pub(crate) pointers: u8,
    /// Name anomalies; `TRUNCATED` means "ran off its limit in place".
    pub(crate) flags: Anomalies,
}

/// Walk the name at `start`, whose in-place octets must end by `limit`.
#[inline]
pub(crate) fn walk(msg: &[u8], start: usize, limit: usize) -> Walk {
    let mut lim = limit.min(msg.len());
    let mut pos = start;
    let mut seg = start;
    let mut end: Option<usize> = None;
    let mut labels = 0usize;
    let mut wire = 1usize;
    let mut pointers = 0usize;
    let mut capped = false;
    let mut flags = Anomalies::empty();
    // Flag for running into the limit: off the end in place, overlap after a jump.
    let overrun =
        |end: Option<usize>| if end.is_none() { Anomalies::TRUNCATED } else { Anomalies::NAME_BAD_POINTER };
    loop {
        let Some(&b) = msg.get(pos).filter(|_| pos < lim) else {
            flags |= overrun(end);
            break;
        };
        match b & LABEL_TYPE_MASK {
            0 if b == 0 => {
                if end.is_none() {
                    end = Some(pos + 1);
                }
                break;
            }
            0 => {
                let len = usize::from(b);
                let next = pos + 1 + len;
                if next > lim {
                    flags |= overrun(end);
                    break;
                }
                if !capped {
                    if labels >= MAX_LABELS {
                        flags |= Anomalies::NAME_TOO_MANY_LABELS;
                        capped = true;
                    } else if wire + 1 + len > MAX_NAME_WIRE_LEN {
                        flags |= Anomalies::NAME_TOO_LONG;
                        capped = true;
                    } else {
                        labels += 1;
                        wire += 1 + len;
                    }
                }
                if capped && end.is_some() {
                    break;
                }
                pos = next;
            }
            POINTER => {
                let Some(&lo) = msg.get(pos + 1).filter(|_| pos + 1 < lim) else {
                    flags |= overrun(end);
                    break;
                };
                if end.is_none() {
                    end = Some(pos + 2);
                }
                if capped {
                    break;
                }
                let target = (usize::from(b & !POINTER) << 8) | usize::from(lo);
                if target >= seg {
                    flags |= Anomalies::NAME_BAD_POINTER;
                    break;
                }
                if pointers == MAX_POINTERS {
                    flags |= Anomalies::NAME_TOO_MANY_POINTERS;
                    break;
                }
                pointers += 1;
                lim = seg;
                seg = target;
                pos = target;
            }
            _ => {
                flags |= Anomalies::NAME_BAD_LABEL_TYPE;
                break;
            }
        }
    }
    // labels ≤ 127, wire ≤ 255 and pointers ≤ 127 by the caps above.
    Walk { end, labels: labels as u8, wire_len: wire as u16, pointers: pointers as u8, flags }
}

/// [`walk`], with a shortcut for the commonest name of a response: an owner
/// name that is nothing but a pointer to the question name (`0xC0 0x0C`).
///
/// `known` is the walk of the name at offset `at`, done with a limit that
/// its in-place octets met. When the name at `start` is exactly one pointer
/// to `at`, `known` is clean (no flag) and `at`'s in-place octets end at or
/// before `start`, [`walk`] would follow the pointer and then repeat
/// `known`'s steps one for one: every check it makes after the jump (the
/// limit becomes `start`, beyond `known`'s in-place end; pointers strictly
/// backwards; one more pointer than `known`, still under the cap; the same
/// labels against the same caps) passes as it did for `known`. So the result
/// is `known`'s counts, this name's end and one more pointer, without
/// walking the labels again. In every other case this is [`walk`].
#[inline]
pub(crate) fn walk_known(msg: &[u8], start: usize, limit: usize, known: Option<(usize, Walk)>) -> Walk {
    if let Some((at, k)) = known
        && k.flags.is_empty()
        && usize::from(k.pointers) < MAX_POINTERS
        && k.end.is_some_and(|e| e <= start)
        && start.checked_add(2).is_some_and(|e| e <= limit)
        && let Some(&[hi, lo]) = msg.get(start..start + 2)
        && hi & LABEL_TYPE_MASK == POINTER
        && (usize::from(hi & !POINTER) << 8 | usize::from(lo)) == at
        && at < start
    {
        return Walk {
            end: Some(start + 2),
            labels: k.labels,
            wire_len: k.wire_len,
            pointers: k.pointers + 1,
            flags: Anomalies::empty(),
        };
    }
    walk(msg, start, limit)
}

/// A domain name inside a message: a `Copy` handle (message, offset, and
/// what validation found). Comparing and printing never allocate.
#[derive(Clone, Copy)]
pub struct Name<'a> {
    msg: &'a [u8],
    start: usize,
    limit: usize,
    labels: u8,
    wire_len: u16,
    flags: Anomalies,
}

impl<'a> Name<'a> {
    /// Read the name at `start` of `msg` (a whole DNS message, so that
    /// compression pointers resolve). Returns the name and the offset just
    /// after its in-place octets, or `None` if that end cannot be found
    /// (truncated in place, reserved label type in place).
    pub fn parse(msg: &'a [u8], start: usize) -> Option<(Name<'a>, usize)> {
        let w = walk(msg, start, msg.len());
        let end = w.end?;
        Some((Name::from_walk(msg, start, msg.len(), &w), end))
    }

    #[inline]
    pub(crate) fn from_walk(msg: &'a [u8], start: usize, limit: usize, w: &Walk) -> Name<'a> {
        Name { msg, start, limit, labels: w.labels, wire_len: w.wire_len, flags: w.flags }
    }

    /// The labels, first (leftmost) to last, each without its length octet.
    #[inline]
    pub fn labels(&self) -> Labels<'a> {
        Labels { msg: self.msg, pos: self.start, seg: self.start, lim: self.limit, remaining: self.labels }
    }

    /// Number of labels (root excluded), at most 127.
    #[inline]
    pub fn label_count(&self) -> usize {
        usize::from(self.labels)
    }

    /// Whether this is the root name (no label).
    #[inline]
    pub fn is_root(&self) -> bool {
        self.labels == 0
    }

    /// Uncompressed wire length: every length octet, every label octet and
    /// the root octet (1 for the root, at most 255).
    #[inline]
    pub fn wire_len(&self) -> usize {
        usize::from(self.wire_len)
    }

    /// Octets of the name in dotted form without escapes or trailing dot:
    /// label octets plus the dots between labels (0 for the root).
    #[inline]
    pub fn len(&self) -> usize {
        if self.labels == 0 { 0 } else { self.wire_len() - 2 }
    }

    /// Whether [`len`](Self::len) is 0 (the root).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.labels == 0
    }

    /// Anomalies met while reading this name (`name_*`, `truncated`).
    #[inline]
    pub fn anomalies(&self) -> Anomalies {
        self.flags
    }

    /// Offset of the name's first octet in the message.
    pub fn offset(&self) -> usize {
        self.start
    }

    /// The name's uncompressed wire octets where they lie in the message —
    /// every label's length octet and octets, then the root octet — when
    /// the name is stored in place in full (no compression pointer, every
    /// label counted, inside its limit); `None` otherwise (then walk
    /// [`labels`](Self::labels)). Lets a printer copy a name in one piece.
    pub fn in_place_wire(&self) -> Option<&'a [u8]> {
        if self.labels == 0 || !self.flags.is_empty() {
            return None;
        }
        let end = self.start.checked_add(self.wire_len())?;
        let w = self.msg.get(..self.limit)?.get(self.start..end)?;
        let (mut pos, mut n) = (0usize, 0u8);
        while let Some(&len) = w.get(pos) {
            if len == 0 {
                break;
            }
            if len & LABEL_TYPE_MASK != 0 {
                return None;
            }
            pos += 1 + usize::from(len);
            n = n.checked_add(1)?;
        }
        (pos + 1 == w.len() && n == self.labels).then_some(w)
    }

    /// Length of [`write_to`](Self::write_to)'s output.
    pub fn presentation_len(&self) -> usize {
        if self.labels == 0 {
            return 1;
        }
        let mut n = self.labels().count() - 1;
        for l in self.labels() {
            n += l.iter().map(|&b| escaped_len(b)).sum::<usize>();
        }
        n
    }

    /// Write the name in presentation form (RFC 1035 §5.1, RFC 4343 §2.1):
    /// labels joined by `.`, no trailing dot, `.` and `\` inside labels as
    /// `\.` and `\\`, octets outside `!`..=`~` as `\DDD` (decimal). The root
    /// is written `.`.
    pub fn write_to<W: core::fmt::Write + ?Sized>(&self, w: &mut W) -> core::fmt::Result {
        if self.labels == 0 {
            return w.write_char('.');
        }
        for (i, label) in self.labels().enumerate() {
            if i > 0 {
                w.write_char('.')?;
            }
            for &b in label {
                match b {
                    b'.' | b'\\' => {
                        w.write_char('\\')?;
                        w.write_char(char::from(b))?;
                    }
                    0x21..=0x7E => w.write_char(char::from(b))?,
                    _ => {
                        let d = [b'\\', b'0' + b / 100, b'0' + (b / 10) % 10, b'0' + b % 10];
                        for c in d {
                            w.write_char(char::from(c))?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Case-insensitive (ASCII, RFC 4343) equality with a name given in
    /// presentation form: `www.example.com`, with or without the trailing
    /// dot, `\.`/`\\`/`\DDD` escapes understood; `.` or `` is the root.
    /// A malformed pattern (dangling `\`, `\DDD` > 255, empty label) is
    /// never equal.
    pub fn eq_ignore_case(&self, presentation: &[u8]) -> bool {
        let Some(n) = pattern_label_count(presentation) else { return false };
        n == self.label_count() && self.tail_eq(presentation, 0)
    }

    /// Whether the name ends with `suffix` (presentation form, as in
    /// [`eq_ignore_case`](Self::eq_ignore_case)) on a label boundary:
    /// `www.Example.com` ends with `example.com`, not with `ample.com`.
    pub fn ends_with_ignore_case(&self, suffix: &[u8]) -> bool {
        let Some(n) = pattern_label_count(suffix) else { return false };
        match self.label_count().checked_sub(n) {
            Some(skip) => self.tail_eq(suffix, skip),
            None => false,
        }
    }

    /// Compare our labels after the first `skip` with the pattern's labels.
    fn tail_eq(&self, pattern: &[u8], skip: usize) -> bool {
        let mut pat = Pattern { s: strip_root(pattern), i: 0 };
        for label in self.labels().skip(skip) {
            let mut it = label.iter();
            loop {
                match (pat.next_in_label(), it.next()) {
                    (Ok(Some(p)), Some(&b)) if p.eq_ignore_ascii_case(&b) => {}
                    (Ok(None), None) => break,
                    _ => return false,
                }
            }
        }
        pat.i >= pat.s.len()
    }
}

impl core::fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.write_to(f)
    }
}

impl core::fmt::Debug for Name<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Name(\"{self}\"")?;
        if !self.flags.is_empty() {
            write!(f, ", {:?}", self.flags)?;
        }
        f.write_str(")")
    }
}

impl PartialEq for Name<'_> {
    /// Case-insensitive label-wise equality (RFC 4343), whatever the
    /// compression used.
    fn eq(&self, other: &Self) -> bool {
        self.labels == other.labels
            && self.labels().zip(other.labels()).all(|(a, b)| a.eq_ignore_ascii_case(b))
    }
}

impl Eq for Name<'_> {}

fn escaped_len(b: u8) -> usize {
    match b {
        b'.' | b'\\' => 2,
        0x21..=0x7E => 1,
        _ => 4,
    }
}

/// The labels of a [`Name`], following compression pointers.
#[derive(Debug, Clone)]
pub struct Labels<'a> {
    msg: &'a [u8],
    pos: usize,
    seg: usize,
    lim: usize,
    remaining: u8,
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        // Re-walks a name that `walk` already validated, yielding at most the
        // `remaining` labels it counted. The same strictly-backwards rule is
        // re-checked, so even a misuse cannot loop: `seg` only decreases.
        while self.remaining > 0 {
            let b = *self.msg.get(self.pos).filter(|_| self.pos < self.lim)?;
            match b & LABEL_TYPE_MASK {
                0 if b != 0 => {
                    let next = self.pos + 1 + usize::from(b);
                    let label = self.msg.get(self.pos + 1..next).filter(|_| next <= self.lim)?;
                    self.pos = next;
                    self.remaining -= 1;
                    return Some(label);
                }
                POINTER => {
                    let lo = *self.msg.get(self.pos + 1)?;
                    let target = (usize::from(b & !POINTER) << 8) | usize::from(lo);
                    if target >= self.seg {
                        break;
                    }
                    self.lim = self.seg;
                    self.seg = target;
                    self.pos = target;
                }
                _ => break,
            }
        }
        self.remaining = 0;
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(usize::from(self.remaining)))
    }
}

/// Cursor over a presentation-form name pattern.
struct Pattern<'p> {
    s: &'p [u8],
    i: usize,
}

impl Pattern<'_> {
    /// Next decoded octet of the current label; `Ok(None)` at the label's
    /// end (consuming the `.`), `Err` on a malformed escape.
    fn next_in_label(&mut self) -> Result<Option<u8>, ()> {
        let Some(&c) = self.s.get(self.i) else { return Ok(None) };
        match c {
            b'.' => {
                self.i += 1;
                Ok(None)
            }
            b'\\' => {
                let d = self.s.get(self.i + 1..self.i + 4).filter(|d| d.iter().all(u8::is_ascii_digit));
                if let Some(d) = d {
                    let v = d.iter().fold(0u16, |v, &x| v * 10 + u16::from(x - b'0'));
                    self.i += 4;
                    u8::try_from(v).map(Some).map_err(|_| ())
                } else {
                    let e = *self.s.get(self.i + 1).ok_or(())?;
                    self.i += 2;
                    Ok(Some(e))
                }
            }
            _ => {
                self.i += 1;
                Ok(Some(c))
            }
        }
    }
}

/// Drop one unescaped trailing dot; `.` becomes the empty (root) pattern.
fn strip_root(p: &[u8]) -> &[u8] {
    if p == b"." {
        return &[];
    }
    match p.strip_suffix(b".") {
        // "a\." ends with an escaped dot: keep it. Count the backslashes.
        Some(rest) if rest.iter().rev().take_while(|&&c| c == b'\\').count() % 2 == 0 => rest,
        _ => p,
    }
}

/// Labels in a presentation pattern; `None` if malformed (bad escape,
/// empty label, label over 63 octets).
fn pattern_label_count(p: &[u8]) -> Option<usize> {
    let s = strip_root(p);
    if s.is_empty() {
        return Some(0);
    }
    let mut pat = Pattern { s, i: 0 };
    let mut n = 0;
    while pat.i < s.len() {
        let mut len = 0usize;
        while pat.next_in_label().ok()?.is_some() {
            len += 1;
        }
        if len == 0 || len > crate::limits::dns::MAX_LABEL_LEN {
            return None;
        }
        n += 1;
    }
    // A pattern ending in an unescaped '.' after stripping ("a..") has an
    // empty last label.
    if s.last() == Some(&b'.') && strip_root(s).len() != s.len() {
        return None;
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(msg: &[u8], at: usize) -> (Name<'_>, usize) {
        Name::parse(msg, at).expect("name end")
    }

    fn fields(w: &Walk) -> (Option<usize>, u8, u16, u8, Anomalies) {
        (w.end, w.labels, w.wire_len, w.pointers, w.flags)
    }

    #[test]
    fn in_place_wire_is_the_name_only_when_stored_whole() {
        let msg = b"\x03www\x07example\x03com\x00\x03cdn\xc0\x04\xc0\x00\x00";
        // In place: the octets from the first length octet to the root.
        let (www, _) = name(msg, 0);
        assert_eq!(www.in_place_wire(), Some(&msg[..17]));
        // A suffix of it is in place too.
        let (example, _) = name(msg, 4);
        assert_eq!(example.in_place_wire(), Some(&msg[4..17]));
        // Labels then a pointer, or only a pointer: not in place.
        let (cdn, _) = name(msg, 17);
        assert_eq!(cdn.to_string(), "cdn.example.com");
        assert_eq!(cdn.in_place_wire(), None);
        let (ptr, _) = name(msg, 23);
        assert_eq!(ptr.to_string(), "www.example.com");
        assert_eq!(ptr.in_place_wire(), None);
        // The root has no label to copy.
        let (root, _) = name(msg, 25);
        assert_eq!(root.in_place_wire(), None);
        // Capped names (too many labels) are not whole: their labels were
        // not all counted.
        let mut long = Vec::new();
        for _ in 0..130 {
            long.extend_from_slice(b"\x01a");
        }
        long.push(0);
        let (capped, _) = name(&long, 0);
        assert!(!capped.anomalies().is_empty());
        assert_eq!(capped.in_place_wire(), None);
        // A name running past its limit (rdata end) is not in place either.
        let w = walk(msg, 0, 10);
        assert_eq!(Name::from_walk(msg, 0, 10, &w).in_place_wire(), None);
    }

    #[test]
    fn walk_known_is_walk() {
        // Messages made of labels, pointers (backwards, forwards, into
        // labels), zeros and reserved types, plus a long pointer chain for
        // the pointer cap; every (name, known name, limit) triple.
        let mut msgs: Vec<Vec<u8>> = vec![
            b"\x03www\x07example\x03com\x00\xc0\x00\xc0\x04\x03cdn\xc0\x04\xc0\x11\xc0\x00".to_vec(),
            b"\x01a\xc0\x00\xc0\x02\xc0\x00\x00\x41\xc0\x08\xc0\x09".to_vec(),
        ];
        let mut chain = vec![1, b'x', 0];
        for i in 0..130u16 {
            let back = if i == 0 { 0 } else { chain.len() - 2 };
            chain.extend_from_slice(&(0xc000 | back as u16).to_be_bytes());
        }
        msgs.push(chain);
        let mut x = 0x9e37_79b9u32;
        for _ in 0..40 {
            let mut m = Vec::new();
            for _ in 0..24 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                match x % 5 {
                    0 => m.push(0),
                    1 => m.extend_from_slice(&[0xc0, (x >> 8) as u8 % 40]),
                    2 => m.push((x >> 8) as u8),
                    _ => m.extend_from_slice(&[2, b'a', b'b']),
                }
            }
            msgs.push(m);
        }
        for m in &msgs {
            for at in 0..m.len() {
                for klimit in [m.len(), at + 3] {
                    let k = walk(m, at, klimit);
                    for start in 0..m.len() {
                        for limit in [m.len(), start + 1, start + 2] {
                            let want = walk(m, start, limit);
                            let got = walk_known(m, start, limit, Some((at, k)));
                            assert_eq!(
                                fields(&got),
                                fields(&want),
                                "{m:?} at {at} start {start} limit {limit}"
                            );
                        }
                    }
                }
            }
        }
        // The shortcut is taken for the usual owner name.
        let m = &msgs[0];
        let k = walk(m, 0, m.len());
        let w = walk_known(m, 17, m.len(), Some((0, k)));
        assert_eq!(fields(&w), (Some(19), 3, 17, 1, Anomalies::empty()));
    }

    fn text(n: &Name<'_>) -> String {
        let mut s = String::new();
        n.write_to(&mut s).expect("write");
        assert_eq!(s.len(), n.presentation_len());
        s
    }

    #[test]
    fn plain_and_compressed() {
        // 0: 3www7example3com0  17: 4mail ptr->4 (example.com)
        let mut m = b"\x03www\x07example\x03com\x00".to_vec();
        m.extend_from_slice(b"\x04mail\xc0\x04");
        let (n, end) = name(&m, 0);
        assert_eq!(end, 17);
        assert_eq!(text(&n), "www.example.com");
        assert_eq!((n.label_count(), n.wire_len(), n.len()), (3, 17, 15));
        assert!(n.anomalies().is_empty());
        let (c, end) = name(&m, 17);
        assert_eq!(end, m.len());
        assert_eq!(text(&c), "mail.example.com");
        assert!(c.eq_ignore_case(b"MAIL.Example.com."));
        assert!(!c.eq_ignore_case(b"mail.example"));
        assert!(c.ends_with_ignore_case(b"example.COM"));
        assert!(c.ends_with_ignore_case(b"."));
        assert!(!c.ends_with_ignore_case(b"ample.com"));
        assert!(!c.ends_with_ignore_case(b"x.mail.example.com"));
        assert_ne!(n, c);
    }

    #[test]
    fn root_and_escapes() {
        let (r, end) = name(b"\x00", 0);
        assert_eq!(end, 1);
        assert!(r.is_root() && r.is_empty());
        assert_eq!(text(&r), ".");
        assert!(r.eq_ignore_case(b".") && r.eq_ignore_case(b""));
        let m = b"\x04a.b\\\x03\x00\xff \x00";
        let (n, _) = name(m, 0);
        assert_eq!(text(&n), "a\\.b\\\\.\\000\\255\\032");
        assert!(n.eq_ignore_case(b"a\\.b\\\\.\\000\\255\\032"));
        assert!(n.eq_ignore_case(b"a\\.b\\\\.\\000\\255\\ ."));
        assert!(!n.eq_ignore_case(b"a\\.b\\\\.\\000\\256\\032"));
        assert!(!n.eq_ignore_case(b"a\\"));
    }

    #[test]
    fn bad_pointers_terminate_with_flag() {
        // self pointer
        let (n, end) = name(b"\xc0\x00", 0);
        assert_eq!(end, 2);
        assert!(n.anomalies().contains(Anomalies::NAME_BAD_POINTER));
        assert_eq!(n.labels().count(), 0);
        // forward pointer
        let m = b"\x01a\xc0\x04\x01b\x00";
        let (n, _) = name(m, 0);
        assert!(n.anomalies().contains(Anomalies::NAME_BAD_POINTER));
        assert_eq!(text(&n), "a");
        // A -> B -> A: at 0 "x" ptr->6 ; at 6 "y" ptr->0
        let m = b"\x01x\xc0\x06\x00\x00\x01y\xc0\x00";
        let (n, _) = name(m, 6);
        assert!(n.anomalies().contains(Anomalies::NAME_BAD_POINTER));
        assert_eq!(text(&n), "y.x");
        // a pointer back to a complete name is fine
        let m = b"\x05abcde\x00\xc0\x00";
        let (n, _) = name(m, 7);
        assert!(n.anomalies().is_empty());
        // labels after a jump running into the jumping segment: overlap
        let m = b"\x00\x05ab\xc0\x01";
        let (n, _) = name(m, 4);
        assert!(n.anomalies().contains(Anomalies::NAME_BAD_POINTER));
        assert_eq!(n.label_count(), 0);
        let m2 = b"\x01a\x05\xc0\x00xyz";
        // at 2: label len 5 covering the pointer at 3..5: in place, fine, then runs off
        assert!(Name::parse(m2, 2).is_none());
    }

    #[test]
    fn reserved_label_types() {
        assert!(Name::parse(b"\x41\x00", 0).is_none());
        let (n, _) = name(b"\x80\x00\x01a\xc0\x00", 2);
        assert!(n.anomalies().contains(Anomalies::NAME_BAD_LABEL_TYPE));
        assert_eq!(text(&n), "a");
    }

    #[test]
    fn caps() {
        // 127 one-octet labels: wire 255, fine.
        let mut m: Vec<u8> = (0..127).flat_map(|_| [1u8, b'a']).collect();
        m.push(0);
        let (n, end) = name(&m, 0);
        assert_eq!((n.label_count(), n.wire_len(), end), (127, 255, 255));
        assert!(n.anomalies().is_empty());
        // 128 labels: flagged, 127 kept, end still found.
        let mut m: Vec<u8> = (0..128).flat_map(|_| [1u8, b'a']).collect();
        m.push(0);
        let (n, end) = name(&m, 0);
        assert_eq!((n.label_count(), end), (127, 257));
        assert!(n.anomalies().contains(Anomalies::NAME_TOO_MANY_LABELS));
        assert_eq!(n.labels().count(), 127);
        // 4 × 63-octet labels = 257 octets > 255.
        let mut m: Vec<u8> = (0..4).flat_map(|_| core::iter::once(63u8).chain([b'x'; 63])).collect();
        m.push(0);
        let (n, end) = name(&m, 0);
        assert_eq!((n.label_count(), n.wire_len(), end), (3, 193, 257));
        assert!(n.anomalies().contains(Anomalies::NAME_TOO_LONG));
    }

    #[test]
    fn pointer_chain_cap() {
        // 0: "\x01a\x00", then a chain of pointers each to the previous one.
        let build = |hops: usize| {
            let mut m = b"\x01a\x00".to_vec();
            let mut prev = 0usize;
            for _ in 0..hops {
                let here = m.len();
                m.extend_from_slice(&[0xC0 | (prev >> 8) as u8, prev as u8]);
                prev = here;
            }
            (m, prev)
        };
        let (m, last) = build(MAX_POINTERS);
        let (n, _) = name(&m, last);
        assert!(n.anomalies().is_empty(), "{:?}", n.anomalies());
        assert_eq!(text(&n), "a");
        let (m, last) = build(MAX_POINTERS + 1);
        let (n, _) = name(&m, last);
        assert!(n.anomalies().contains(Anomalies::NAME_TOO_MANY_POINTERS));
        assert_eq!(n.label_count(), 0);
    }

    #[test]
    fn truncated_in_place() {
        let full = b"\x03www\x07example\x00";
        for cut in 0..full.len() {
            let w = walk(&full[..cut], 0, cut);
            assert_eq!(w.end, None);
            assert!(w.flags.contains(Anomalies::TRUNCATED));
        }
    }

    #[test]
    fn patterns() {
        assert_eq!(pattern_label_count(b"a.b.c"), Some(3));
        assert_eq!(pattern_label_count(b"a.b.c."), Some(3));
        assert_eq!(pattern_label_count(b"a\\."), Some(1));
        assert_eq!(pattern_label_count(b"a..b"), None);
        assert_eq!(pattern_label_count(b".a"), None);
        assert_eq!(pattern_label_count(b"a.."), None);
        assert_eq!(pattern_label_count(&[b'x'; 64]), None);
    }
}
