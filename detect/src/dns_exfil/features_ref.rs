//! Test oracle: the straightforward (pre-optimisation) feature extraction,
//! kept verbatim so the tests can check that the optimised [`super::analyze`]
//! returns bit-identical features for any name.
#![allow(clippy::indexing_slicing)]

use super::super::ngram_table::BIGRAM_COST;
use super::{MAX_LABELS, MAX_NAME_BYTES, QueryFeatures, Shape, fp};

fn trim_dot(name: &[u8]) -> &[u8] {
    name.strip_suffix(b".").unwrap_or(name)
}

fn registered_len(lower: &[u8], internal_suffixes: &[String]) -> (usize, bool) {
    for rev in [&b"in-addr.arpa"[..], &b"ip6.arpa"[..]] {
        if lower.len() > rev.len() && lower.ends_with(rev) && lower[lower.len() - rev.len() - 1] == b'.' {
            return (rev.len(), false);
        }
        if lower == rev {
            return (rev.len(), false);
        }
    }
    let internal = internal_suffixes.iter().any(|s| {
        let s = s.as_bytes();
        lower.len() > s.len() && lower.ends_with(s) && lower[lower.len() - s.len() - 1] == b'.'
    });
    use psl::Psl;
    match psl::List.domain(lower) {
        Some(d) => (d.as_bytes().len(), internal),
        None => (lower.len(), internal),
    }
}

/// Decode the presentation subdomain (`\DDD` and `\c` escapes) into `out`.
fn unescape_into(sub: &[u8], out: &mut Vec<u8>) {
    out.clear();
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
pub(super) fn analyze(
    qname: &str,
    internal_suffixes: &[String],
    lower: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    full: bool,
) -> QueryFeatures {
    let raw = qname.as_bytes();
    let raw = trim_dot(raw.get(..MAX_NAME_BYTES.min(raw.len())).unwrap_or(raw));
    lower.clear();
    lower.extend(raw.iter().map(u8::to_ascii_lowercase));
    let (reg_len, internal) = registered_len(lower, internal_suffixes);
    // Subdomain in the original case (shape needs case), minus the dot.
    let sub_end = raw.len().saturating_sub(reg_len).saturating_sub(1);
    let mut sub = if reg_len < raw.len() { raw.get(..sub_end).unwrap_or(&[]) } else { &[] };
    // dnscat2 without a domain sends `dnscat.<hex>` straight to its server:
    // the data is the last label; all such names share the pseudo-domain
    // `dnscat`.
    let dnscat_direct = lower.starts_with(b"dnscat.") && lower.len() > 7 && !lower[7..].contains(&b'.');
    let reg_len = if dnscat_direct {
        sub = raw.get(7..).unwrap_or(&[]);
        0
    } else {
        reg_len
    };
    if !full {
        // Responses only need the grouping key.
        scratch.clear();
        sub = &[];
    }
    unescape_into(sub, scratch);
    let dec: &[u8] = scratch;
    let mut f = QueryFeatures {
        reg_len,
        internal,
        sub_len: dec.len(),
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
    };
    if dec.is_empty() {
        return f;
    }
    let mut hist = [0u16; 256];
    let (mut lower_n, mut upper_n, mut digit_n, mut other_n, mut b64sym, mut chars) =
        (0usize, 0usize, 0usize, 0usize, 0usize, 0usize);
    let (mut hex_ok, mut b32_ok, mut b32_digit) = (true, true, false);
    let mut in_service_label = false;
    let mut at_label_start = true;
    for &c in dec {
        if c == b'.' {
            at_label_start = true;
            in_service_label = false;
            continue;
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
        hist[usize::from(c.to_ascii_lowercase())] += 1;
        match c {
            b'a'..=b'z' => {
                lower_n += 1;
                if c > b'f' {
                    hex_ok = false;
                }
            }
            b'A'..=b'Z' => {
                upper_n += 1;
                if c.to_ascii_lowercase() > b'f' {
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
    // Labels on the stack: a wire name has at most 127; beyond MAX_LABELS
    // (hostile presentation input) the rest is not looked at.
    let mut label_buf: [&[u8]; MAX_LABELS] = [&[]; MAX_LABELS];
    let mut n_labels = 0usize;
    for (slot, l) in label_buf.iter_mut().zip(dec.split(|&c| c == b'.')) {
        *slot = l;
        n_labels += 1;
    }
    let labels = &label_buf[..n_labels];
    f.labels = dec.split(|&c| c == b'.').count();
    f.longest_label = labels.iter().map(|l| l.len()).max().unwrap_or(0);
    f.non_ldh = dec.iter().filter(|&&c| !(0x21..0x7f).contains(&c) && c != b'.').count();
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
        f.entropy = hist.iter().filter(|&&h| h > 0).map(|&h| f32::from(h) / n).map(|p| -p * p.log2()).sum();
        f.digit_ratio = digit_n as f32 / n;
    }
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
    f
}

fn eq_ic(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn fingerprints(labels: &[&[u8]], shape: Shape, dec: &[u8]) -> u8 {
    let mut bits = 0u8;
    let first = labels.first().copied().unwrap_or(&[]);
    // iodine: the downstream codec check carries this text; raw/base128
    // upstream puts high-bit bytes in labels; case check uses `zZ+-...`.
    let lower_has = |needle: &[u8]| dec.windows(needle.len()).any(|w| eq_ic(w, needle));
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
