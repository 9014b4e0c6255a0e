//! Per-query features: registered domain split, character-class shape,
//! entropy, benign bigram likelihood, and the two numbers the windows
//! accumulate: *tunnel-likeness* `t ∈ [0, 1]` and the *information estimate*
//! in bytes of the subdomain part.
//!
//! Everything here is a pure function of the query name and type; it works on
//! a caller-provided scratch buffer so the hot path does not allocate.

use super::ngram_table::BIGRAM_COST;

/// Longest presentation-form name we look at (longer input is truncated: a
/// wire name is at most 255 bytes, i.e. at most 1020 presentation bytes).
pub(crate) const MAX_NAME_BYTES: usize = 1024;
/// Labels examined per name (a wire name has at most 127).
pub(crate) const MAX_LABELS: usize = 128;

/// Character-class shape of the subdomain part, from narrowest to widest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Shape {
    /// No subdomain, or nothing to classify.
    Empty,
    /// Ordinary letters-digits-hyphen text that fits none of the encodings.
    Ldh,
    /// Only `0-9a-f` (and dots), with both letters and digits.
    Hex,
    /// Only `a-z2-7` with at least one digit (RFC 4648 base32 alphabet).
    Base32,
    /// Mixed upper and lower case, or `+ / = _` inside labels.
    Base64,
    /// Bytes outside printable ASCII (iodine raw/base128 codecs).
    Base128,
}

impl Shape {
    /// Stable name for explanations.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Shape::Empty => "empty",
            Shape::Ldh => "ldh",
            Shape::Hex => "hex",
            Shape::Base32 => "base32",
            Shape::Base64 => "base64",
            Shape::Base128 => "base128",
        }
    }

    /// Information per character of the alphabet (bits).
    fn bits_per_char(self) -> f32 {
        match self {
            Shape::Empty => 0.0,
            Shape::Ldh => 4.5,
            Shape::Hex => 4.0,
            Shape::Base32 => 5.0,
            Shape::Base64 => 6.0,
            Shape::Base128 => 7.0,
        }
    }
}

/// Bit flags for tool fingerprints found in one name.
pub(crate) mod fp {
    /// iodine: codec probe pattern or raw high-bit bytes with the iodine
    /// downstream-check text.
    pub(crate) const IODINE: u8 = 1;
    /// dns2tcp: `=` inside a label (base64 padding left in the name).
    pub(crate) const DNS2TCP: u8 = 1 << 1;
    /// dnscat2: all-hex subdomain with its packet header layout, or the
    /// `dnscat.` prefix.
    pub(crate) const DNSCAT2: u8 = 1 << 2;
    /// DNSExfiltrator: `init.` first label with a `base32`/`base64` label.
    pub(crate) const DNSEXFILTRATOR: u8 = 1 << 3;
    /// Cobalt Strike default DNS prefixes (`post.`, `api.`, `cdn.`, `www6.`
    /// followed by hex, `aaa.stage.` style staging).
    pub(crate) const COBALT_STRIKE: u8 = 1 << 4;
    /// Names, index = bit position.
    pub(crate) const NAMES: [&str; 5] = ["iodine", "dns2tcp", "dnscat2", "dnsexfiltrator", "cobalt_strike"];
}

/// Features of one query name.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct QueryFeatures {
    /// Byte length of the registered domain at the end of the lower-cased
    /// presentation name.
    pub(crate) reg_len: usize,
    /// Whether the registered domain sits under an unlisted (internal)
    /// suffix such as `.corp` or `.local`.
    pub(crate) internal: bool,
    /// Decoded subdomain length (bytes, dots included).
    pub(crate) sub_len: usize,
    /// Number of subdomain labels.
    pub(crate) labels: usize,
    /// Longest subdomain label (decoded bytes).
    pub(crate) longest_label: usize,
    /// Shape of the subdomain.
    pub(crate) shape: Shape,
    /// Shannon entropy of the subdomain characters (bits/char, dots excluded).
    pub(crate) entropy: f32,
    /// Mean cost of the subdomain under the benign bigram model (bits/char).
    pub(crate) ngram_cost: f32,
    /// Ratio of digits among the subdomain characters.
    pub(crate) digit_ratio: f32,
    /// Bytes outside printable ASCII.
    pub(crate) non_ldh: usize,
    /// Randomness of the subdomain, independent of its length (`[0, 1]`).
    pub(crate) randomness: f32,
    /// Tunnel-likeness: randomness weighted by length (`[0, 1]`).
    pub(crate) tunnel: f32,
    /// Structured shape (embedded IPv4/IPv6 address, content hash) that caps
    /// the weight (see `docs/DETECTION.md`).
    pub(crate) structured: bool,
    /// Tool fingerprint bits (`fp::*`).
    pub(crate) fingerprints: u8,
    /// Grouping key used instead of the registered domain (`dnscat` for
    /// dnscat2's domain-less `dnscat.<hex>` names); `reg_len` is then 0.
    pub(crate) pseudo_domain: Option<&'static str>,
}

/// Lower-case ASCII letters in place; returns the name without a trailing dot.
fn trim_dot(name: &[u8]) -> &[u8] {
    name.strip_suffix(b".").unwrap_or(name)
}

const INTERNAL_DEFAULT: &[&str] = &[
    "corp",
    "local",
    "lan",
    "internal",
    "intranet",
    "private",
    "home",
    "localdomain",
    "test",
    "example",
    "invalid",
    "localhost",
    "home.arpa",
    "domain",
    "ad",
    "grp",
];

/// Default internal (unlisted) suffixes, for the config default.
pub(crate) fn default_internal_suffixes() -> Vec<String> {
    INTERNAL_DEFAULT.iter().map(|s| (*s).to_string()).collect()
}

/// Length of the registered domain at the end of `lower` (lower-case
/// presentation name without trailing dot), and whether it is internal.
///
/// Decisions (argued in `docs/DETECTION.md`):
/// * ICANN *and* private PSL sections are used: `x.duckdns.org` and
///   `abc.cloudfront.net` each are their own registered domain.
/// * Wildcard rules are applied as the PSL says (`*.ck` → `a.b.ck`).
/// * `in-addr.arpa` and `ip6.arpa` trees are one domain each.
/// * A name under a suffix the PSL does not list uses its last two labels
///   (PSL implicit `*` rule); `internal` is set when the suffix is in
///   `internal_suffixes`.
/// * A name that is itself a public suffix or a single label is its own
///   registered domain (empty subdomain).
pub(crate) fn registered_len(lower: &[u8], internal_suffixes: &[String]) -> (usize, bool) {
    for rev in [&b"in-addr.arpa"[..], &b"ip6.arpa"[..]] {
        if ends_with_label(lower, rev) || lower == rev {
            return (rev.len(), false);
        }
    }
    let internal = internal_suffixes.iter().any(|s| ends_with_label(lower, s.as_bytes()));
    use psl::Psl;
    match psl::List.domain(lower) {
        Some(d) => (d.as_bytes().len(), internal),
        None => (lower.len(), internal),
    }
}

/// Whether `name` ends with `.` followed by `suffix` (`suffix` is a whole
/// trailing label sequence). The separator is tested first: most suffixes
/// are rejected there without comparing any bytes.
fn ends_with_label(name: &[u8], suffix: &[u8]) -> bool {
    let Some(dot) = name.len().checked_sub(suffix.len() + 1) else { return false };
    name.get(dot) == Some(&b'.')
        && name.get(dot + 1..).is_some_and(|t| t.iter().rev().zip(suffix.iter().rev()).all(|(a, b)| a == b))
}

/// Decode the presentation subdomain (`\DDD` and `\c` escapes) into `out`.
fn unescape_into(sub: &[u8], out: &mut Vec<u8>) {
    out.clear();
    if !sub.contains(&b'\\') {
        // No escape (the common case): a plain copy.
        out.extend_from_slice(sub);
        return;
    }
    let mut i = 0;
    while i < sub.len() {
        let c = sub[i];
        if c == b'\\' {
            let d = sub.get(i + 1..i + 4);
            if let Some(d) = d.filter(|d| d.iter().all(u8::is_ascii_digit)) {
                let v = u16::from(d[0] - b'0') * 100 + u16::from(d[1] - b'0') * 10 + u16::from(d[2] - b'0');
                out.push(u8::try_from(v).unwrap_or(u8::MAX));
                i += 4;
                continue;
            }
            if let Some(&n) = sub.get(i + 1) {
                // `\.` is a dot inside a label: keep it distinct from a separator.
                out.push(if n == b'.' { 0xff } else { n });
                i += 2;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
}

fn symbol(c: u8) -> Option<usize> {
    match c {
        b'a'..=b'z' => Some(usize::from(c - b'a') + 1),
        b'A'..=b'Z' => Some(usize::from(c - b'A') + 1),
        b'0'..=b'9' => Some(usize::from(c - b'0') + 27),
        b'-' => Some(37),
        _ => None,
    }
}

/// Mean bigram cost in bits per transition of a label (boundary included).
fn label_cost(label: &[u8]) -> (f32, usize) {
    let mut prev = 0usize;
    let mut total = 0u32;
    let mut n = 0usize;
    for &c in label {
        let cost = match symbol(c) {
            Some(s) => {
                let v = BIGRAM_COST.get(prev).and_then(|r| r.get(s)).copied().unwrap_or(255);
                prev = s;
                u32::from(v)
            }
            None => {
                prev = 0;
                128
            }
        };
        total += cost;
        n += 1;
    }
    if n > 0 {
        total += u32::from(BIGRAM_COST.get(prev).map_or(255, |r| r[0]));
        n += 1;
    }
    (total as f32 / 16.0, n)
}

fn clamp01(x: f32) -> f32 {
    x.clamp(0.0, 1.0)
}

fn is_ipv4_shape(labels: &[&[u8]]) -> bool {
    labels.len() >= 4
        && labels.iter().take(4).all(|l| !l.is_empty() && l.len() <= 3 && l.iter().all(u8::is_ascii_digit))
}

fn is_nibble_shape(labels: &[&[u8]]) -> bool {
    labels.len() >= 8
        && labels.iter().filter(|l| l.len() == 1 && l[0].is_ascii_hexdigit()).count() * 10 >= labels.len() * 9
}

fn is_guid_label(l: &[u8]) -> bool {
    l.len() == 36
        && l.iter()
            .enumerate()
            .all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { *c == b'-' } else { c.is_ascii_hexdigit() })
}

fn is_hash_label(l: &[u8]) -> bool {
    matches!(l.len(), 32 | 40 | 64) && l.iter().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
}

/// Compute the features of `qname` (presentation form, any case).
/// `scratch` and `lower` are reused buffers owned by the caller.
pub(crate) fn analyze(
    qname: &str,
    internal_suffixes: &[String],
    lower: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    full: bool,
) -> QueryFeatures {
    let raw = lower_into(qname, lower);
    let (reg_len, internal) = registered_len(lower, internal_suffixes);
    // dnscat2 without a domain sends `dnscat.<hex>` straight to its server:
    // the data is the last label; all such names share the pseudo-domain
    // `dnscat`.
    let dnscat_direct = lower.starts_with(b"dnscat.") && lower.len() > 7 && !lower[7..].contains(&b'.');
    let reg_len = if dnscat_direct { 0 } else { reg_len };
    // Responses only need the grouping key.
    let sub = if full { subdomain(raw, reg_len, dnscat_direct) } else { &[] };
    unescape_into(sub, scratch);
    let dec: &[u8] = scratch;
    let mut f = QueryFeatures::key_only(reg_len, internal, dnscat_direct, dec.len());
    if dec.is_empty() {
        return f;
    }
    // One pass over the decoded subdomain: character histogram (plus a
    // bitmap of the characters present, so the entropy sum visits only
    // those, in the same ascending order), class counts, separators and
    // bytes outside printable ASCII.
    let mut hist = [0u16; 256];
    let mut present = [0u64; 4];
    let (mut lower_n, mut upper_n, mut digit_n, mut other_n, mut b64sym, mut chars) =
        (0usize, 0usize, 0usize, 0usize, 0usize, 0usize);
    let (mut dots, mut non_ldh) = (0usize, 0usize);
    let (mut hex_ok, mut b32_ok, mut b32_digit) = (true, true, false);
    let mut in_service_label = false;
    let mut at_label_start = true;
    for &c in dec {
        if c == b'.' {
            dots += 1;
            at_label_start = true;
            in_service_label = false;
            continue;
        }
        if !(0x21..0x7f).contains(&c) {
            non_ldh += 1;
        }
        if at_label_start {
            in_service_label = c == b'_';
            at_label_start = false;
        }
        if in_service_label {
            // RFC 8552 attribute leaves (`_tcp`, `_dmarc`) are vocabulary,
            // not data: left out of the shape and character statistics.
            continue;
        }
        chars += 1;
        let lc = c.to_ascii_lowercase();
        hist[usize::from(lc)] += 1;
        present[usize::from(lc >> 6)] |= 1u64 << (lc & 63);
        match c {
            b'a'..=b'z' => {
                lower_n += 1;
                if c > b'f' {
                    hex_ok = false;
                }
            }
            b'A'..=b'Z' => {
                upper_n += 1;
                if lc > b'f' {
                    hex_ok = false;
                }
            }
            b'0'..=b'9' => {
                digit_n += 1;
                if matches!(c, b'0' | b'1' | b'8' | b'9') {
                    b32_ok = false;
                } else {
                    b32_digit = true;
                }
            }
            b'-' => {
                hex_ok = false;
                b32_ok = false;
            }
            b'+' | b'/' | b'=' | b'_' => {
                b64sym += 1;
                hex_ok = false;
                b32_ok = false;
            }
            _ => {
                other_n += 1;
                hex_ok = false;
                b32_ok = false;
            }
        }
    }
    f.labels = dots + 1;
    f.non_ldh = non_ldh;
    let non_ldh_printable = other_n.saturating_sub(f.non_ldh);
    f.shape = if f.non_ldh > 0 {
        Shape::Base128
    } else if (upper_n > 0 && lower_n > 0 && chars >= 12)
        || (b64sym > 0 && chars >= 12)
        || non_ldh_printable > 0
    {
        Shape::Base64
    } else if hex_ok && digit_n > 0 && lower_n + upper_n > 0 {
        Shape::Hex
    } else if b32_ok && b32_digit && lower_n + upper_n > 0 {
        Shape::Base32
    } else {
        Shape::Ldh
    };
    if chars > 0 {
        let n = chars as f32;
        // Same terms, same (ascending byte) order as a scan of all 256 bins.
        f.entropy = BitIter::new(present)
            .map(|b| hist.get(b).copied().unwrap_or(0))
            .map(|h| f32::from(h) / n)
            .map(|p| -p * p.log2())
            .sum();
        f.digit_ratio = digit_n as f32 / n;
    }
    let counts = Counts { lower_n, upper_n, chars };
    // Labels on the stack: a wire name has at most 127; beyond MAX_LABELS
    // (hostile presentation input) the rest is not looked at. Names with few
    // labels (nearly all) use a small array: less to initialise per query.
    if f.labels <= INLINE_LABELS {
        let mut label_buf: [&[u8]; INLINE_LABELS] = [&[]; INLINE_LABELS];
        let n = split_labels(dec, &mut label_buf);
        label_features(&mut f, label_buf.get(..n).unwrap_or(&[]), dec, counts, dnscat_direct);
    } else {
        let mut label_buf: [&[u8]; MAX_LABELS] = [&[]; MAX_LABELS];
        let n = split_labels(dec, &mut label_buf);
        label_features(&mut f, label_buf.get(..n).unwrap_or(&[]), dec, counts, dnscat_direct);
    }
    f
}

/// The name analysed: `qname` without a trailing dot, truncated to
/// [`MAX_NAME_BYTES`]; its lower-case copy is left in `lower`.
fn lower_into<'a>(qname: &'a str, lower: &mut Vec<u8>) -> &'a [u8] {
    let raw = qname.as_bytes();
    let raw = trim_dot(raw.get(..MAX_NAME_BYTES.min(raw.len())).unwrap_or(raw));
    lower.clear();
    lower.extend_from_slice(raw);
    // Branch-free per byte: the compiler vectorises it.
    lower.make_ascii_lowercase();
    raw
}

/// Subdomain of `raw` in its original case (shape needs case), without the
/// dot before the registered domain; for a domain-less dnscat2 name, the
/// part after `dnscat.`.
fn subdomain(raw: &[u8], reg_len: usize, dnscat_direct: bool) -> &[u8] {
    if dnscat_direct {
        return raw.get(7..).unwrap_or(&[]);
    }
    let sub_end = raw.len().saturating_sub(reg_len).saturating_sub(1);
    if reg_len < raw.len() { raw.get(..sub_end).unwrap_or(&[]) } else { &[] }
}

impl QueryFeatures {
    /// Features of a name whose subdomain is not examined (a response, or
    /// an empty subdomain): the grouping key only.
    fn key_only(reg_len: usize, internal: bool, dnscat_direct: bool, sub_len: usize) -> Self {
        Self {
            reg_len,
            internal,
            sub_len,
            labels: 0,
            longest_label: 0,
            shape: Shape::Empty,
            entropy: 0.0,
            ngram_cost: 0.0,
            digit_ratio: 0.0,
            non_ldh: 0,
            randomness: 0.0,
            tunnel: 0.0,
            structured: false,
            fingerprints: 0,
            pseudo_domain: if dnscat_direct { Some("dnscat") } else { None },
        }
    }
}

/// Entries of the recent-names cache (see [`FeatureCache`]).
pub(crate) const CACHE_ENTRIES: usize = 8;
/// Longest query name (bytes, presentation form) the cache holds; longer
/// names (encoded data is long and unique) are always analysed.
pub(crate) const CACHE_NAME_MAX: usize = 64;

/// One cached name and its features.
#[derive(Debug, Clone, Copy)]
struct CacheEntry {
    name: [u8; CACHE_NAME_MAX],
    len: usize,
    /// Whether `f` holds the full features (a query), not the key only.
    full: bool,
    f: QueryFeatures,
    /// The caller's grouping-key hash of the name (a function of `f` and
    /// the lower-case name, hence of the name).
    key_hash: u64,
}

/// Features of the last few distinct names, so a name looked up again and
/// again (pollers, NTP, historians: most of an ICS network's DNS) is
/// analysed once. [`analyze`] is a pure function of the name (for a fixed
/// suffix list), so a hit returns exactly what a fresh analysis would, and
/// leaves the same `lower`/`scratch` contents. Fixed size, inline (no heap):
/// [`CACHE_ENTRIES`] names of at most [`CACHE_NAME_MAX`] bytes, replaced
/// round-robin.
#[derive(Debug, Clone)]
pub(crate) struct FeatureCache {
    entries: [Option<CacheEntry>; CACHE_ENTRIES],
    next: usize,
    hits: u64,
    misses: u64,
}

impl Default for FeatureCache {
    fn default() -> Self {
        Self { entries: [None; CACHE_ENTRIES], next: 0, hits: 0, misses: 0 }
    }
}

impl FeatureCache {
    /// [`analyze`] through the cache: same result, same buffers; also
    /// returns `key_hash(&features, lower)`, cached with them.
    pub(crate) fn analyze(
        &mut self,
        qname: &str,
        internal_suffixes: &[String],
        lower: &mut Vec<u8>,
        scratch: &mut Vec<u8>,
        full: bool,
        key_hash: fn(&QueryFeatures, &[u8]) -> u64,
    ) -> (QueryFeatures, u64) {
        let key = qname.as_bytes();
        if key.len() > CACHE_NAME_MAX {
            let f = analyze(qname, internal_suffixes, lower, scratch, full);
            return (f, key_hash(&f, lower));
        }
        let pos = self
            .entries
            .iter()
            .position(|e| e.as_ref().is_some_and(|e| e.len == key.len() && e.name.get(..e.len) == Some(key)));
        if let Some(e) = pos.and_then(|p| self.entries.get(p)).and_then(|e| e.as_ref())
            && (e.full || !full)
        {
            self.hits += 1;
            let dnscat_direct = e.f.pseudo_domain.is_some();
            let raw = lower_into(qname, lower);
            if full {
                unescape_into(subdomain(raw, e.f.reg_len, dnscat_direct), scratch);
                return (e.f, e.key_hash);
            }
            scratch.clear();
            return (QueryFeatures::key_only(e.f.reg_len, e.f.internal, dnscat_direct, 0), e.key_hash);
        }
        self.misses += 1;
        let f = analyze(qname, internal_suffixes, lower, scratch, full);
        let h = key_hash(&f, lower);
        let mut name = [0u8; CACHE_NAME_MAX];
        if let Some(dst) = name.get_mut(..key.len()) {
            dst.copy_from_slice(key);
        }
        let slot = match pos {
            Some(p) => p,
            None => {
                let p = self.next;
                self.next = (self.next + 1) % CACHE_ENTRIES;
                p
            }
        };
        if let Some(e) = self.entries.get_mut(slot) {
            *e = Some(CacheEntry { name, len: key.len(), full, f, key_hash: h });
        }
        (f, h)
    }

    /// (hits, misses) so far.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (self.hits, self.misses)
    }
}

/// Labels a name with up to this many labels keeps in a small stack array.
const INLINE_LABELS: usize = 16;

/// Character-class counts of the subdomain that the label stage needs.
#[derive(Clone, Copy)]
struct Counts {
    lower_n: usize,
    upper_n: usize,
    chars: usize,
}

/// Ascending indices of the set bits of a 256-bit set.
struct BitIter {
    words: [u64; 4],
    word: usize,
}

impl BitIter {
    fn new(words: [u64; 4]) -> Self {
        Self { words, word: 0 }
    }
}

impl Iterator for BitIter {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        while let Some(w) = self.words.get_mut(self.word) {
            if *w != 0 {
                let bit = w.trailing_zeros() as usize;
                *w &= *w - 1;
                return Some(self.word * 64 + bit);
            }
            self.word += 1;
        }
        None
    }
}

/// Split `dec` at dots into `buf` (at most `buf.len()` labels kept);
/// returns how many were stored.
fn split_labels<'a>(dec: &'a [u8], buf: &mut [&'a [u8]]) -> usize {
    let mut n = 0usize;
    for (slot, l) in buf.iter_mut().zip(dec.split(|&c| c == b'.')) {
        *slot = l;
        n += 1;
    }
    n
}

/// The label-level half of [`analyze`]: bigram cost, randomness, tunnel
/// likeness, structured shapes and fingerprints.
fn label_features(f: &mut QueryFeatures, labels: &[&[u8]], dec: &[u8], k: Counts, dnscat_direct: bool) {
    let Counts { lower_n, upper_n, chars } = k;
    f.longest_label = labels.iter().map(|l| l.len()).max().unwrap_or(0);
    let (mut cost, mut trans) = (0.0f32, 0usize);
    for l in labels.iter().filter(|l| l.first() != Some(&b'_')) {
        let (c, n) = label_cost(l);
        cost += c;
        trans += n;
    }
    f.ngram_cost = if trans > 0 { cost / trans as f32 } else { 0.0 };

    // Randomness: the bigram surprise is the main term (ordinary names cost
    // ~3.5-4.2 bits per transition, random encodings 5.5+); entropy relative
    // to its maximum for that length separates long random strings from long
    // repetitive ones; a balanced digit mix adds a little.
    let max_ent = (chars.min(36) as f32).log2().max(1.0);
    let ent_norm = clamp01(f.entropy / max_ent);
    let r_ng = clamp01((f.ngram_cost - 4.3) / 1.5);
    let digit_mix = if (0.1..=0.7).contains(&f.digit_ratio) { 1.0 } else { 0.0 };
    // Short strings give noisy bigram costs: scale down below 10 characters.
    let short = clamp01(chars as f32 / 10.0);
    f.randomness = clamp01(0.7 * r_ng + 0.2 * ent_norm * r_ng.sqrt() + 0.1 * digit_mix) * short;
    if f.shape == Shape::Base64 && upper_n > 2 && lower_n > 2 {
        f.randomness = f.randomness.max(0.8);
    }
    let len_factor =
        clamp01((f.longest_label as f32 - 12.0) / 28.0).max(clamp01((f.sub_len as f32 - 24.0) / 56.0));
    f.tunnel = f.randomness * len_factor;
    if f.non_ldh > 0 {
        f.tunnel = f.tunnel.max(0.75 + 0.25 * len_factor);
        f.randomness = f.randomness.max(0.9);
    }
    // Structured names: an embedded IPv4 (DNSBL, reverse lookups), an IPv6
    // nibble string, or a content-hash label (AV/file reputation): their
    // content is bounded or not attacker data by construction; capped weight.
    if is_ipv4_shape(labels) || is_nibble_shape(labels) || labels.iter().any(|l| is_guid_label(l)) {
        f.structured = true;
        f.tunnel *= 0.2;
    } else if labels.iter().any(|l| is_hash_label(l)) {
        f.structured = true;
        f.tunnel *= 0.5;
    }
    f.fingerprints = fingerprints(labels, f.shape, dec);
    if dnscat_direct {
        f.fingerprints |= fp::DNSCAT2;
    }
}

#[inline]
fn eq_ic(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.eq_ignore_ascii_case(b)
}

fn fingerprints(labels: &[&[u8]], shape: Shape, dec: &[u8]) -> u8 {
    let mut bits = 0u8;
    let first = labels.first().copied().unwrap_or(&[]);
    // iodine: the downstream codec check carries this text; raw/base128
    // upstream puts high-bit bytes in labels; case check uses `zZ+-...`.
    let lower_has = |needle: &[u8]| {
        let first = needle.first().copied();
        dec.windows(needle.len()).any(|w| w.first().map(u8::to_ascii_lowercase) == first && eq_ic(w, needle))
    };
    if lower_has(b"aaahhh-drink-mal-ein") || (shape == Shape::Base128 && labels.iter().any(|l| l.len() > 30))
    {
        bits |= fp::IODINE;
    }
    // dns2tcp: base64 padding inside a label.
    if labels.iter().any(|l| l.len() >= 4 && l.contains(&b'=')) {
        bits |= fp::DNS2TCP;
    }
    // dnscat2: `dnscat.` prefix, or an all-hex subdomain whose 3rd byte (the
    // message type) is SYN/MSG/FIN/ENC (00..03) and long enough for a header.
    if eq_ic(first, b"dnscat") {
        bits |= fp::DNSCAT2;
    } else if shape == Shape::Hex {
        let hexlen: usize = labels.iter().map(|l| l.len()).sum();
        let t = labels.iter().flat_map(|l| l.iter()).nth(4).zip(labels.iter().flat_map(|l| l.iter()).nth(5));
        let hash_like = labels.iter().any(|l| is_hash_label(l));
        if !hash_like
            && hexlen >= 18
            && hexlen.is_multiple_of(2)
            && matches!(t, Some((b'0', b'0' | b'1' | b'2' | b'3')))
        {
            bits |= fp::DNSCAT2;
        }
    }
    // DNSExfiltrator: `init.<base32/64 of name|chunks>.base32|base64.<domain>`.
    if eq_ic(first, b"init") && labels.iter().any(|l| eq_ic(l, b"base32") || eq_ic(l, b"base64")) {
        bits |= fp::DNSEXFILTRATOR;
    }
    // Cobalt Strike: default prefixes followed by hex payload labels, or
    // `aaa.stage.` style stager names.
    let second = labels.get(1).copied().unwrap_or(&[]);
    let is_hexish = |l: &[u8]| l.len() >= 6 && l.iter().all(u8::is_ascii_hexdigit);
    if (["post", "api", "cdn", "www6", "www"].iter().any(|p| eq_ic(first, p.as_bytes()))
        && labels.len() >= 3
        && is_hexish(second))
        || (first.len() == 3 && first.iter().all(u8::is_ascii_alphabetic) && eq_ic(second, b"stage"))
    {
        bits |= fp::COBALT_STRIKE;
    }
    bits
}

/// Information estimate (bytes) of a subdomain given how much of it is new
/// relative to the previous unique subdomain of the same pair.
pub(crate) fn info_bytes(f: &QueryFeatures, novel_chars: usize) -> f32 {
    let bits = novel_chars as f32 * f.shape.bits_per_char();
    let bits = if f.structured { bits.min(128.0) } else { bits };
    bits / 8.0
}

#[cfg(test)]
#[path = "features_ref.rs"]
mod reference;

#[cfg(test)]
mod tests {
    use super::*;

    fn feat(name: &str) -> QueryFeatures {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        analyze(name, &default_internal_suffixes(), &mut a, &mut b, true)
    }

    #[test]
    fn registered_domain_rules() {
        let int = default_internal_suffixes();
        let reg = |n: &str| {
            let l = n.to_ascii_lowercase();
            let (len, internal) = registered_len(l.as_bytes(), &int);
            (l[l.len() - len..].to_string(), internal)
        };
        assert_eq!(reg("a.b.example.co.uk"), ("example.co.uk".into(), false));
        assert_eq!(reg("x.y.foo.github.io"), ("foo.github.io".into(), false));
        assert_eq!(reg("4.3.2.1.in-addr.arpa"), ("in-addr.arpa".into(), false));
        assert_eq!(reg("dc01._msdcs.ad.corp"), ("ad.corp".into(), true));
        assert_eq!(reg("printer.local"), ("printer.local".into(), true));
        assert_eq!(reg("localhost"), ("localhost".into(), false));
        assert_eq!(reg("com"), ("com".into(), false));
        assert_eq!(reg("WWW.Example.COM"), ("example.com".into(), false));
    }

    #[test]
    fn ordinary_names_are_not_random() {
        for n in [
            "www.google.com",
            "mail.example.org",
            "login.microsoftonline.com",
            "update.siemens.com",
            "intranet.plant.corp",
        ] {
            let f = feat(n);
            assert!(f.tunnel < 0.05, "{n}: {f:?}");
            assert!(f.randomness < 0.4, "{n}: {f:?}");
        }
    }

    #[test]
    fn encodings_are_shaped_and_random() {
        let b32 = feat("mzxw6ytboi2dkmrzgq3tsnbvgu4tembrgi3dsnzqgyztamjrhe2tgnzr.t.example.com");
        assert_eq!(b32.shape, Shape::Base32);
        assert!(b32.tunnel > 0.6, "{b32:?}");
        let hex = feat("4a6f0100b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6.example.com");
        assert_eq!(hex.shape, Shape::Hex);
        assert!(hex.tunnel > 0.5, "{hex:?}");
        let b64 = feat("aGVsbG8gd29ybGQgdGhpcyBpcyBhIHRlc3Q9PQ.dGVzdA==.example.com");
        assert_eq!(b64.shape, Shape::Base64);
        assert!(b64.fingerprints & fp::DNS2TCP != 0);
        let raw =
            feat("0\\200\\201\\202abcdefghijklmnopqrstuvwxyz\\250\\251\\252\\253xyzxyzxyzxyz.t.example.com");
        assert_eq!(raw.shape, Shape::Base128);
        assert!(raw.non_ldh >= 7);
        assert!(raw.tunnel >= 0.75);
    }

    #[test]
    fn structured_names_are_capped() {
        let bl = feat("4.3.2.1.zen.spamhaus.org");
        assert!(bl.structured && bl.tunnel < 0.05);
        let av = feat("0123456789abcdef0123456789abcdef.v3.sophosxl.net");
        assert!(av.structured);
        let f2 = info_bytes(&av, 32);
        assert!(f2 <= 16.0);
    }

    #[test]
    fn fingerprints_fire() {
        assert!(feat("init.mzxw6ytb.base32.example.com").fingerprints & fp::DNSEXFILTRATOR != 0);
        assert!(feat("a1b2010203040506070809.example.com").fingerprints & fp::DNSCAT2 != 0);
        assert!(feat("dnscat.0123abcd").fingerprints & fp::DNSCAT2 != 0);
        assert!(feat("post.1a2b3c4d5e.12345678.example.com").fingerprints & fp::COBALT_STRIKE != 0);
        assert!(feat("aaa.stage.12345.example.com").fingerprints & fp::COBALT_STRIKE != 0);
        assert!(
            feat("zaAaahhh-Drink-mal-ein-J\\228germeister-.t.example.com").fingerprints & fp::IODINE != 0
        );
        assert_eq!(feat("www.example.com").fingerprints, 0);
    }

    #[test]
    fn hostile_escapes_do_not_panic() {
        for n in ["\\", "\\1", "\\12", "a\\", ".", "..", "\\256\\999.x.com", "", "\\.\\.\\..com"] {
            let _ = feat(n);
        }
        let long = "a".repeat(5000);
        let f = feat(&long);
        assert!(f.sub_len <= MAX_NAME_BYTES);
    }

    /// Optimised and reference extraction agree bit for bit: features
    /// (floats compared through their exact `Debug` form), the lower-cased
    /// name and the decoded subdomain left in the buffers.
    fn assert_same(name: &str, full: bool) {
        let int = default_internal_suffixes();
        let (mut a, mut b, mut ra, mut rb) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let got = analyze(name, &int, &mut a, &mut b, full);
        let want = reference::analyze(name, &int, &mut ra, &mut rb, full);
        assert_eq!(format!("{got:?}"), format!("{want:?}"), "{name:?} full={full}");
        for (x, y) in [
            (got.entropy, want.entropy),
            (got.ngram_cost, want.ngram_cost),
            (got.randomness, want.randomness),
            (got.tunnel, want.tunnel),
            (got.digit_ratio, want.digit_ratio),
        ] {
            assert_eq!(x.to_bits(), y.to_bits(), "{name:?}");
        }
        assert_eq!(a, ra, "{name:?}");
        assert_eq!(b, rb, "{name:?}");
    }

    #[test]
    fn matches_reference_on_chosen_names() {
        let long_labels = format!("{}example.com", "ab.".repeat(40));
        let many_labels = format!("{}example.com", "a.".repeat(200));
        let hex_labels = format!("{}ip6.arpa", "f.".repeat(32));
        let names = [
            "",
            ".",
            "com",
            "www.example.com",
            "WWW.Example.COM.",
            "4.3.2.1.in-addr.arpa",
            "in-addr.arpa",
            "x.ip6.arpa",
            "dc01._msdcs.ad.corp",
            "_ldap._tcp.dc._msdcs.example.local",
            "printer.local",
            "a.lan",
            "a.b.ck",
            "x.y.foo.github.io",
            "init.mzxw6ytb.base32.example.com",
            "init.MZXW6YTB.BASE64.example.com",
            "a1b2010203040506070809.example.com",
            "dnscat.0123abcd",
            "DNSCAT.0123abcd",
            "post.1a2b3c4d5e.12345678.example.com",
            "WWW6.abcdef.x.example.com",
            "aaa.stage.12345.example.com",
            "zaAaahhh-Drink-mal-ein-J\\228germeister-.t.example.com",
            "paaahhh-drink-mal-einx.example.com",
            "abc\\.def.example.com",
            "\\200\\201\\202\\203\\204\\205\\206\\207\\208\\209\\210\\211\\212\\213\\214\\215\\216\\217\\218\\219\\220\\221\\222\\223\\224\\225\\226\\227\\228\\229\\230.t.example.com",
            "aGVsbG8gd29ybGQ=.dGVzdA==.tunnel.example.net",
            "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43UOV3HO6DZPI.t.example.org",
            "d41d8cd98f00b204e9800998ecf8427e.av.example.com",
            "123e4567-e89b-12d3-a456-426614174000.example.com",
            "10.0.0.1.zen.spamhaus.org",
            "a+b/c=d_e.example.com",
            "\\",
            "\\1",
            "a\\",
            "\\256\\999.x.com",
            "\\.\\.\\..com",
            "host.sub.plant.corp",
            "x.home.arpa",
            long_labels.as_str(),
            many_labels.as_str(),
            hex_labels.as_str(),
        ];
        for n in names {
            assert_same(n, true);
            assert_same(n, false);
        }
        assert_same(&"a".repeat(5000), true);
        assert_same(&format!("{}.example.com", "Zz9".repeat(400)), true);
    }

    /// The cache path returns what the reference returns, for every call
    /// of a sequence with repeats, both directions, and leaves the same
    /// buffers.
    fn test_key_hash(f: &QueryFeatures, lower: &[u8]) -> u64 {
        let d = lower.get(lower.len().saturating_sub(f.reg_len)..).unwrap_or(&[]);
        d.iter()
            .fold(u64::from(f.pseudo_domain.is_some()), |h, &c| h.wrapping_mul(31).wrapping_add(u64::from(c)))
    }

    fn assert_cache_same(seq: &[(&str, bool)]) {
        let int = default_internal_suffixes();
        let mut cache = FeatureCache::default();
        let (mut a, mut b, mut ra, mut rb) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for &(name, full) in seq {
            let (got, h) = cache.analyze(name, &int, &mut a, &mut b, full, test_key_hash);
            let want = reference::analyze(name, &int, &mut ra, &mut rb, full);
            assert_eq!(format!("{got:?}"), format!("{want:?}"), "{name:?} full={full}");
            assert_eq!(h, test_key_hash(&want, &ra), "{name:?}");
            assert_eq!(a, ra, "{name:?}");
            assert_eq!(b, rb, "{name:?}");
        }
    }

    #[test]
    fn cache_matches_reference() {
        let pool = [
            "ntp.ubuntu.com",
            "historian.plant.local",
            "dnscat.0123abcd",
            "Mixed.CASE.example.com",
            "mixed.case.example.com",
            "abc\\.def.example.com",
            "aGVsbG8gd29ybGQ=.t.example.net",
            "com",
            "",
        ];
        let mut seq = Vec::new();
        for round in 0..6 {
            for (i, n) in pool.iter().enumerate() {
                seq.push((*n, (i + round) % 3 != 0));
            }
        }
        let long = format!("{}.example.com", "a".repeat(CACHE_NAME_MAX));
        seq.push((long.as_str(), true));
        seq.push((long.as_str(), true));
        assert_cache_same(&seq);
        let int = default_internal_suffixes();
        let mut cache = FeatureCache::default();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..3 {
            cache.analyze("ntp.ubuntu.com", &int, &mut a, &mut b, true, test_key_hash);
        }
        assert_eq!(cache.counts(), (2, 1));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]

        /// Random names over an alphabet that reaches every branch: case,
        /// digits, hex, base32/64 symbols, escapes, service labels, dots,
        /// internal and reverse suffixes, wildcard PSL entries.
        #[test]
        fn matches_reference_on_random_names(
            parts in proptest::collection::vec(
                "([a-zA-Z0-9]{0,70}|[0-9a-f]{1,64}|[a-z2-7]{1,60}|[A-Za-z0-9+/=_-]{1,60}|_[a-z]{1,8}|\\\\[0-9]{3}|\\\\.|[0-9]{1,3}|[0-9a-f])",
                0..12,
            ),
            suffix in proptest::sample::select(vec![
                "", "com", "example.com", "co.uk", "corp", "local", "in-addr.arpa", "ip6.arpa",
                "github.io", "ck", "home.arpa", "dnscat", "spamhaus.org", "invalid.",
            ]),
            prefix in proptest::sample::select(vec!["", "dnscat.", "init.", "post.", "api.", "aaa.stage.", "www."]),
            full: bool,
        ) {
            let mut name = String::from(prefix);
            name.push_str(&parts.join("."));
            if !suffix.is_empty() {
                if !name.is_empty() {
                    name.push('.');
                }
                name.push_str(suffix);
            }
            assert_same(&name, full);
        }

        /// Sequences drawn from a pool larger than the cache (evictions,
        /// re-insertions, key-only entries upgraded by a query).
        #[test]
        fn cache_matches_reference_on_sequences(
            pool in proptest::collection::vec("[a-zA-Z0-9=_.-]{0,20}\\.(com|corp|co\\.uk|in-addr\\.arpa)", 1..16),
            picks in proptest::collection::vec((0usize..16, proptest::bool::ANY), 1..64),
        ) {
            let seq: Vec<(&str, bool)> =
                picks.iter().map(|&(i, full)| (pool[i % pool.len()].as_str(), full)).collect();
            assert_cache_same(&seq);
        }
    }
}
