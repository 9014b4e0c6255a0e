//! Packet timestamps and their EVE text form.
//!
//! Formatting is hand-written (days-from-civil, Howard Hinnant's algorithm)
//! because it runs once per event on the hot path and must not consult the
//! local time zone: output is always UTC with a `+0000` suffix, as Suricata
//! writes it on a UTC host.

use core::cell::Cell;
use core::fmt;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in packet time: seconds and nanoseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    /// Whole seconds since 1970-01-01T00:00:00Z (may be negative).
    pub secs: i64,
    /// Nanoseconds within the second, `0..1_000_000_000`.
    pub nanos: u32,
}

impl Timestamp {
    /// Build from seconds and microseconds (pcap's classic resolution).
    pub fn from_micros(secs: i64, micros: u32) -> Self {
        Self::new(secs, micros.saturating_mul(1000))
    }

    /// Build from seconds and nanoseconds, normalising an out-of-range
    /// `nanos` into the seconds.
    pub fn new(secs: i64, nanos: u32) -> Self {
        let extra = i64::from(nanos / 1_000_000_000);
        Self { secs: secs.saturating_add(extra), nanos: nanos % 1_000_000_000 }
    }

    /// Total nanoseconds since the epoch (saturating).
    pub fn as_nanos(&self) -> i128 {
        i128::from(self.secs) * 1_000_000_000 + i128::from(self.nanos)
    }

    /// Whole microseconds since the epoch (saturating).
    pub fn as_micros(&self) -> i64 {
        self.secs.saturating_mul(1_000_000).saturating_add(i64::from(self.nanos / 1000))
    }

    /// Parse the EVE text form (`YYYY-MM-DDTHH:MM:SS[.ffffff](+0000|Z|±HH:MM|±HHMM)`).
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        let num = |r: core::ops::Range<usize>| -> Option<i64> {
            let part = b.get(r)?;
            if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
                return None;
            }
            core::str::from_utf8(part).ok()?.parse().ok()
        };
        if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
            return None;
        }
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
            return None;
        }
        let mut i = 19;
        let mut nanos: u32 = 0;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let frac = &b[start..i];
            if frac.is_empty() || frac.len() > 9 {
                return None;
            }
            let mut v: u32 = 0;
            for (k, c) in frac.iter().enumerate() {
                let _ = k;
                v = v * 10 + u32::from(c - b'0');
            }
            nanos = v * 10u32.pow(9 - frac.len() as u32);
        }
        let offset_secs: i64 = match &b[i..] {
            b"Z" | b"" => 0,
            rest if (rest.len() == 5 || rest.len() == 6) && (rest[0] == b'+' || rest[0] == b'-') => {
                let sign = if rest[0] == b'-' { -1 } else { 1 };
                let digits: Option<(i64, i64)> = if rest.len() == 5 {
                    Some((num(i + 1..i + 3)?, num(i + 3..i + 5)?))
                } else if rest[3] == b':' {
                    Some((num(i + 1..i + 3)?, num(i + 4..i + 6)?))
                } else {
                    None
                };
                let (oh, om) = digits?;
                sign * (oh * 3600 + om * 60)
            }
            _ => return None,
        };
        let days = days_from_civil(y, mo as u32, d as u32);
        let secs = days * 86_400 + h * 3600 + mi * 60 + se - offset_secs;
        Some(Self { secs, nanos })
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Proleptic Gregorian date for days since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Length of the EVE text form for years 0000–9999.
const TEXT_LEN: usize = 31;

/// Length of `YYYY-MM-DDTHH:MM:SS`, the part of the text fixed by the second.
const SECOND_LEN: usize = 19;
/// `YYYY-MM-DD`.
const DATE_LEN: usize = 10;

thread_local! {
    /// The second [`Timestamp::text`] formatted last on this thread and its
    /// `YYYY-MM-DDTHH:MM:SS` text (only seconds in the 0000–9999 range).
    static LAST_SECOND: Cell<Option<(i64, [u8; SECOND_LEN])>> = const { Cell::new(None) };
    /// The day (days since the epoch) formatted last on this thread and its
    /// `YYYY-MM-DD` text: a flow record's start and end, and the records of
    /// other seconds, still skip the calendar arithmetic.
    static LAST_DAY: Cell<Option<(i64, [u8; DATE_LEN])>> = const { Cell::new(None) };
}

/// `v` as `width` decimal digits at `b[at..]` (the low digits when wider).
fn put_digits(b: &mut [u8; TEXT_LEN], at: usize, width: usize, mut v: u64) {
    for i in (at..at + width).rev() {
        b[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

impl Timestamp {
    /// The EVE text form written into a stack buffer (years 0000–9999), or
    /// `None` for years outside that range. Runs once per event: no
    /// formatting machinery, no allocation.
    ///
    /// Records come in bursts within one second of packet time, so the
    /// date-and-time part of the last second formatted is kept per thread
    /// and only the microseconds are written when the second repeats.
    pub(crate) fn text(&self) -> Option<[u8; TEXT_LEN]> {
        let mut q = [0u8; TEXT_LEN + 2];
        if !self.quoted_into(&mut q) {
            return None;
        }
        let mut b = [0u8; TEXT_LEN];
        b.copy_from_slice(&q[1..=TEXT_LEN]);
        Some(b)
    }

    /// Append the EVE text form in quotes to `out` (years 0000–9999);
    /// false, with `out` unchanged, for years outside that range. The
    /// hot-path form of [`Self::text`]: assembled on the stack and copied
    /// out once, at a fixed size.
    pub(crate) fn write_quoted(&self, out: &mut Vec<u8>) -> bool {
        let mut q = [0u8; TEXT_LEN + 2];
        if !self.quoted_into(&mut q) {
            return false;
        }
        out.extend_from_slice(&q);
        true
    }

    /// `"<text>"` into `q`; false for years outside 0000–9999.
    fn quoted_into(&self, q: &mut [u8; TEXT_LEN + 2]) -> bool {
        *q = *b"\"0000-00-00T00:00:00.000000+0000\"";
        let Some(b) = q.get_mut(1..=TEXT_LEN).and_then(|b| <&mut [u8; TEXT_LEN]>::try_from(b).ok()) else {
            return false;
        };
        match LAST_SECOND.get() {
            Some((secs, prefix)) if secs == self.secs => b[..SECOND_LEN].copy_from_slice(&prefix),
            _ => {
                let days = self.secs.div_euclid(86_400);
                let sod = self.secs.rem_euclid(86_400);
                match LAST_DAY.get() {
                    Some((day, date)) if day == days => b[..DATE_LEN].copy_from_slice(&date),
                    _ => {
                        let (y, m, d) = civil_from_days(days);
                        if !(0..=9999).contains(&y) {
                            return false;
                        }
                        put_digits(b, 0, 4, y as u64);
                        put_digits(b, 5, 2, u64::from(m));
                        put_digits(b, 8, 2, u64::from(d));
                        let mut date = [0u8; DATE_LEN];
                        date.copy_from_slice(&b[..DATE_LEN]);
                        LAST_DAY.set(Some((days, date)));
                    }
                }
                put_digits(b, 11, 2, (sod / 3600) as u64);
                put_digits(b, 14, 2, ((sod / 60) % 60) as u64);
                put_digits(b, 17, 2, (sod % 60) as u64);
                let mut prefix = [0u8; SECOND_LEN];
                prefix.copy_from_slice(&b[..SECOND_LEN]);
                LAST_SECOND.set(Some((self.secs, prefix)));
            }
        }
        // Microseconds (< 1 000 000): three digit pairs.
        let us = (self.nanos / 1000) % 1_000_000;
        for (i, pair) in [us / 10_000, (us / 100) % 100, us % 100].into_iter().enumerate() {
            let [hi, lo] = crate::jsonw::DIGIT_PAIRS[pair as usize % 100];
            b[20 + 2 * i] = hi;
            b[21 + 2 * i] = lo;
        }
        true
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(b) = self.text() {
            // The buffer holds ASCII digits and punctuation only.
            return f.write_str(core::str::from_utf8(&b).map_err(|_| fmt::Error)?);
        }
        let days = self.secs.div_euclid(86_400);
        let sod = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}+0000",
            sod / 3600,
            (sod / 60) % 60,
            sod % 60,
            self.nanos / 1000
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.text() {
            Some(b) => s.serialize_str(core::str::from_utf8(&b).map_err(serde::ser::Error::custom)?),
            None => s.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Timestamp::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("bad EVE timestamp {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_suricata() {
        assert_eq!(Timestamp::from_micros(0, 0).to_string(), "1970-01-01T00:00:00.000000+0000");
        // 2016-08-09T17:28:47.123456Z
        let t = Timestamp::from_micros(1_470_763_727, 123_456);
        assert_eq!(t.to_string(), "2016-08-09T17:28:47.123456+0000");
        // leap day
        let t = Timestamp::from_micros(1_709_164_800, 1);
        assert_eq!(t.to_string(), "2024-02-29T00:00:00.000001+0000");
        // before the epoch
        let t = Timestamp::from_micros(-1, 0);
        assert_eq!(t.to_string(), "1969-12-31T23:59:59.000000+0000");
        // outside 0000-9999 the slow path keeps the same layout
        let t = Timestamp::from_micros(253_402_300_800, 7);
        assert_eq!(t.to_string(), "10000-01-01T00:00:00.000007+0000");
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"10000-01-01T00:00:00.000007+0000\"");
        // the fast path and the formatter agree on every field boundary
        for secs in [0i64, 59, 60, 3599, 3600, 86_399, 86_400, 951_868_799, 4_102_444_799, -62_135_596_800] {
            for micros in [0u32, 1, 999_999] {
                let t = Timestamp::from_micros(secs, micros);
                let days = secs.div_euclid(86_400);
                let sod = secs.rem_euclid(86_400);
                let (y, m, d) = civil_from_days(days);
                let slow = format!(
                    "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}+0000",
                    sod / 3600,
                    (sod / 60) % 60,
                    sod % 60
                );
                assert_eq!(t.to_string(), slow);
                assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{slow}\""));
            }
        }
    }

    /// The per-thread last-second cache: repeats, alternation between two
    /// seconds, and out-of-range seconds in between all give the text the
    /// uncached formatter gives.
    #[test]
    fn every_microsecond_value_is_written_like_format() {
        let mut out = Vec::new();
        for micros in 0..1_000_000u32 {
            let t = Timestamp::from_micros(1_470_763_727, micros);
            out.clear();
            assert!(t.write_quoted(&mut out));
            let want = format!("\"2016-08-09T17:28:47.{micros:06}+0000\"");
            assert_eq!(out, want.as_bytes());
        }
        // Outside 0000–9999: nothing written, the caller takes the slow path.
        out.clear();
        assert!(!Timestamp::from_micros(-62_167_219_201, 0).write_quoted(&mut out));
        assert!(out.is_empty());
    }

    #[test]
    fn cached_second_never_leaks_into_another() {
        let slow = |secs: i64, micros: u32| {
            let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
            let sod = secs.rem_euclid(86_400);
            format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}+0000",
                sod / 3600,
                (sod / 60) % 60,
                sod % 60
            )
        };
        let seq = [
            (1_470_763_727i64, 1u32),
            (1_470_763_727, 2),
            (1_470_763_728, 3),
            (1_470_763_727, 4),
            (253_402_300_800, 5),
            (1_470_763_727, 6),
            (-1, 7),
            (-1, 8),
            (0, 9),
        ];
        for (secs, micros) in seq {
            assert_eq!(Timestamp::from_micros(secs, micros).to_string(), slow(secs, micros));
        }
        // The day cache: a walk of small and large steps (same second, same
        // day, midnight crossings, other years, out of range), both ways.
        let mut secs = 1_470_700_000i64;
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for i in 0..20_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let step = match x % 8 {
                0 => 0,
                1..=3 => (x >> 8) as i64 % 120 - 60,
                4 | 5 => (x >> 8) as i64 % 172_800 - 86_400,
                6 => (x >> 8) as i64 % 400_000_000 - 200_000_000,
                _ => 86_400 - secs.rem_euclid(86_400) - 1 + (x >> 8) as i64 % 3,
            };
            secs = secs.saturating_add(step);
            if x.is_multiple_of(997) {
                secs = 253_402_300_800 + (x >> 12) as i64 % 100_000;
            } else if !(-62_167_219_200..253_402_300_800).contains(&secs) {
                secs = 1_470_700_000;
            }
            let micros = i % 1_000_000;
            assert_eq!(Timestamp::from_micros(secs, micros).to_string(), slow(secs, micros), "{secs}");
        }
    }

    #[test]
    fn parse_round_trips_and_rejects_garbage() {
        for secs in [-86_401i64, 0, 951_782_400, 1_470_763_727, 4_102_444_800] {
            let t = Timestamp::from_micros(secs, 654_321);
            assert_eq!(Timestamp::parse(&t.to_string()), Some(t));
        }
        assert_eq!(
            Timestamp::parse("2016-08-09T19:28:47.5+02:00"),
            Some(Timestamp::new(1_470_763_727, 500_000_000))
        );
        assert_eq!(Timestamp::parse("2016-08-09T17:28:47Z"), Some(Timestamp::new(1_470_763_727, 0)));
        for bad in [
            "",
            "2016",
            "2016-13-09T17:28:47Z",
            "2016-08-09 17:28:47",
            "2016-08-09T17:28:47.+0000",
            "2016-08-09T17:28:47.1234567890Z",
            "2016-08-09T17:28:47x",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
    }
}
