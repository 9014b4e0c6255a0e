//! Resource data (RFC 1035 §3.3, RFC 2782, RFC 3596, RFC 4034, RFC 6891,
//! RFC 9460), decoded on demand from a validated record.

use super::name::{Name, walk};
use super::{Anomalies, Type, be16, be32};
use core::net::{Ipv4Addr, Ipv6Addr};

/// Decoded rdata. Names borrow the message (compression resolved lazily).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RData<'a> {
    /// IPv4 address.
    A(Ipv4Addr),
    /// IPv6 address.
    Aaaa(Ipv6Addr),
    /// Canonical name.
    Cname(Name<'a>),
    /// Name server.
    Ns(Name<'a>),
    /// Pointer.
    Ptr(Name<'a>),
    /// Mail exchange.
    Mx {
        /// Preference (lower is preferred).
        preference: u16,
        /// Exchange host.
        exchange: Name<'a>,
    },
    /// Text: one or more character-strings.
    Txt(CharacterStrings<'a>),
    /// NULL: anything up to 65 535 octets.
    Null(&'a [u8]),
    /// Service location.
    Srv {
        /// Priority.
        priority: u16,
        /// Weight.
        weight: u16,
        /// Port.
        port: u16,
        /// Target host.
        target: Name<'a>,
    },
    /// Start of authority.
    Soa(Soa<'a>),
    /// KEY (type 25) or DNSKEY (type 48): same layout.
    Key(Key<'a>),
    /// EDNS(0) OPT pseudo-record.
    Opt(Edns<'a>),
    /// SVCB (64) or HTTPS (65). Kept when only the SvcParams are malformed
    /// (then flagged `rdata_malformed`; the parameters stop before the bad one).
    Svcb(Svcb<'a>),
    /// A type this decoder does not interpret: the raw rdata.
    Other(&'a [u8]),
    /// A decoded type whose rdata does not match its format: the raw rdata
    /// (the record carries `rdata_malformed`).
    Malformed(&'a [u8]),
}

/// SOA rdata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Soa<'a> {
    /// Primary name server.
    pub mname: Name<'a>,
    /// Responsible mailbox.
    pub rname: Name<'a>,
    /// Zone serial.
    pub serial: u32,
    /// Refresh interval.
    pub refresh: u32,
    /// Retry interval.
    pub retry: u32,
    /// Expiry.
    pub expire: u32,
    /// Negative-caching TTL (RFC 2308).
    pub minimum: u32,
}

/// KEY / DNSKEY rdata (RFC 2535 §3.1, RFC 4034 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key<'a> {
    /// Flags.
    pub flags: u16,
    /// Protocol (3 for DNSSEC).
    pub protocol: u8,
    /// Algorithm.
    pub algorithm: u8,
    /// Public key octets.
    pub public_key: &'a [u8],
}

/// The EDNS(0) OPT pseudo-record (RFC 6891 §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edns<'a> {
    /// Requestor's UDP payload size (the CLASS field).
    pub udp_payload_size: u16,
    /// Upper 8 bits of the 12-bit RCODE (the TTL's first octet).
    pub extended_rcode: u8,
    /// EDNS version.
    pub version: u8,
    /// DO: DNSSEC answer OK (RFC 3225).
    pub dnssec_ok: bool,
    /// The 15 remaining (reserved) flag bits.
    pub z: u16,
    /// The options.
    pub options: EdnsOptions<'a>,
}

impl<'a> Edns<'a> {
    pub(crate) fn from_fields(class: u16, ttl: u32, rdata: &'a [u8]) -> Edns<'a> {
        Edns {
            udp_payload_size: class,
            extended_rcode: (ttl >> 24) as u8,
            version: (ttl >> 16) as u8,
            dnssec_ok: ttl & 0x8000 != 0,
            z: (ttl & 0x7FFF) as u16,
            options: EdnsOptions { rest: rdata },
        }
    }
}

/// One EDNS option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdnsOption<'a> {
    /// OPTION-CODE (e.g. 8 client subnet, 10 cookie, 12 padding).
    pub code: u16,
    /// OPTION-DATA.
    pub data: &'a [u8],
}

/// The options of an OPT record; stops at the first option that does not
/// fit (the record is then flagged `rdata_malformed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdnsOptions<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for EdnsOptions<'a> {
    type Item = EdnsOption<'a>;
    fn next(&mut self) -> Option<EdnsOption<'a>> {
        let (code, data, rest) = split_tlv(self.rest)?;
        self.rest = rest;
        Some(EdnsOption { code, data })
    }
}

/// 2-octet key, 2-octet length, value: the shape of EDNS options and SVCB
/// parameters. `None` if empty or if it does not fit.
fn split_tlv(b: &[u8]) -> Option<(u16, &[u8], &[u8])> {
    let key = be16(b, 0)?;
    let len = usize::from(be16(b, 2)?);
    let data = b.get(4..4 + len)?;
    Some((key, data, b.get(4 + len..)?))
}

/// Whether a TLV sequence is exactly covered by whole TLVs.
fn tlvs_fit(mut b: &[u8]) -> bool {
    while !b.is_empty() {
        match split_tlv(b) {
            Some((_, _, rest)) => b = rest,
            None => return false,
        }
    }
    true
}

/// The character-strings of a TXT record (RFC 1035 §3.3.14): each a length
/// octet and that many octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CharacterStrings<'a> {
    rest: &'a [u8],
}

impl<'a> CharacterStrings<'a> {
    /// The character-strings in `rdata`, raw (for callers that hold TXT-like
    /// rdata from elsewhere).
    pub fn new(rdata: &'a [u8]) -> Self {
        CharacterStrings { rest: rdata }
    }
}

impl<'a> Iterator for CharacterStrings<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let (&len, tail) = self.rest.split_first()?;
        let s = tail.get(..usize::from(len))?;
        self.rest = tail.get(usize::from(len)..)?;
        Some(s)
    }
}

/// SVCB / HTTPS rdata (RFC 9460 §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Svcb<'a> {
    /// SvcPriority (0 = alias mode).
    pub priority: u16,
    /// TargetName.
    pub target: Name<'a>,
    /// SvcParams.
    pub params: SvcParams<'a>,
}

/// One SvcParam.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SvcParam<'a> {
    /// SvcParamKey (1 alpn, 3 port, 4 ipv4hint, 6 ipv6hint, …).
    pub key: u16,
    /// SvcParamValue, raw.
    pub value: &'a [u8],
}

/// The SvcParams of an SVCB/HTTPS record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SvcParams<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for SvcParams<'a> {
    type Item = SvcParam<'a>;
    fn next(&mut self) -> Option<SvcParam<'a>> {
        let (key, value, rest) = split_tlv(self.rest)?;
        self.rest = rest;
        Some(SvcParam { key, value })
    }
}

/// The record fields `decode` needs besides the rdata position.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RrFields {
    pub(crate) rtype: Type,
    pub(crate) class: u16,
    pub(crate) ttl: u32,
}

/// The anomalies [`decode`] reports for the rdata `msg[start..end]`,
/// without building the value when the length alone answers: A and AAAA
/// (the validation pass of `Message::parse` runs this on every record).
#[inline]
pub(crate) fn check(msg: &[u8], rr: RrFields, start: usize, end: usize) -> Anomalies {
    let len_is = |n: usize| {
        if end.checked_sub(start) == Some(n) && end <= msg.len() {
            Anomalies::empty()
        } else {
            Anomalies::RDATA_MALFORMED
        }
    };
    match rr.rtype {
        Type::A => len_is(4),
        Type::Aaaa => len_is(16),
        _ => decode(msg, rr, start, end).1,
    }
}

/// Decode the rdata `msg[start..end]` of a record. Never fails: a format
/// violation gives [`RData::Malformed`] and `RDATA_MALFORMED`; names in the
/// rdata add their own pointer/cap anomalies.
pub(crate) fn decode(msg: &[u8], rr: RrFields, start: usize, end: usize) -> (RData<'_>, Anomalies) {
    let Some(raw) = msg.get(start..end) else {
        return (RData::Malformed(&[]), Anomalies::RDATA_MALFORMED);
    };
    let mut flags = Anomalies::empty();
    // A name at `at` inside the rdata; its in-place octets must end by `end`.
    let mut name_at = |at: usize| {
        let w = walk(msg, at, end);
        flags |= w.flags.difference(Anomalies::TRUNCATED);
        w.end.map(|e| (Name::from_walk(msg, at, end, &w), e))
    };
    let mut partial = false;
    let decoded: Option<RData<'_>> = (|| match rr.rtype {
        Type::A => Some(RData::A(Ipv4Addr::from(<[u8; 4]>::try_from(raw).ok()?))),
        Type::Aaaa => Some(RData::Aaaa(Ipv6Addr::from(<[u8; 16]>::try_from(raw).ok()?))),
        Type::Cname | Type::Ns | Type::Ptr => {
            let (n, e) = name_at(start)?;
            (e == end).then_some(match rr.rtype {
                Type::Cname => RData::Cname(n),
                Type::Ns => RData::Ns(n),
                _ => RData::Ptr(n),
            })
        }
        Type::Mx => {
            let preference = be16(raw, 0)?;
            let (exchange, e) = name_at(start + 2)?;
            (e == end).then_some(RData::Mx { preference, exchange })
        }
        Type::Txt => {
            let mut n = 0usize;
            for s in CharacterStrings::new(raw) {
                n += 1 + s.len();
            }
            (n == raw.len()).then_some(RData::Txt(CharacterStrings::new(raw)))
        }
        Type::Null => Some(RData::Null(raw)),
        Type::Srv => {
            let (priority, weight, port) = (be16(raw, 0)?, be16(raw, 2)?, be16(raw, 4)?);
            let (target, e) = name_at(start + 6)?;
            (e == end).then_some(RData::Srv { priority, weight, port, target })
        }
        Type::Soa => {
            let (mname, e1) = name_at(start)?;
            let (rname, e2) = name_at(e1)?;
            let f = msg.get(e2..end)?;
            (f.len() == 20).then_some(())?;
            Some(RData::Soa(Soa {
                mname,
                rname,
                serial: be32(f, 0)?,
                refresh: be32(f, 4)?,
                retry: be32(f, 8)?,
                expire: be32(f, 12)?,
                minimum: be32(f, 16)?,
            }))
        }
        Type::Key | Type::Dnskey => Some(RData::Key(Key {
            flags: be16(raw, 0)?,
            protocol: *raw.get(2)?,
            algorithm: *raw.get(3)?,
            public_key: raw.get(4..)?,
        })),
        Type::Opt => tlvs_fit(raw).then(|| RData::Opt(Edns::from_fields(rr.class, rr.ttl, raw))),
        Type::Svcb | Type::Https => {
            let priority = be16(raw, 0)?;
            let (target, e) = name_at(start + 2)?;
            let params = msg.get(e..end)?;
            // Priority and target are kept even when the SvcParams do not
            // fit (the iterator stops before the bad one; flagged).
            partial = !tlvs_fit(params);
            Some(RData::Svcb(Svcb { priority, target, params: SvcParams { rest: params } }))
        }
        _ => Some(RData::Other(raw)),
    })();
    match decoded {
        Some(d) if partial => (d, flags | Anomalies::RDATA_MALFORMED),
        Some(d) => (d, flags),
        None => (RData::Malformed(raw), flags | Anomalies::RDATA_MALFORMED),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rr(t: Type) -> RrFields {
        RrFields { rtype: t, class: 1, ttl: 0 }
    }

    #[test]
    fn fixed_size_types() {
        let (d, f) = decode(&[10, 0, 0, 1], rr(Type::A), 0, 4);
        assert_eq!(d, RData::A(Ipv4Addr::new(10, 0, 0, 1)));
        assert!(f.is_empty());
        for n in [0, 3, 5] {
            let b = [0u8; 5];
            let (d, f) = decode(&b, rr(Type::A), 0, n);
            assert!(matches!(d, RData::Malformed(_)));
            assert!(f.contains(Anomalies::RDATA_MALFORMED));
        }
        let (d, _) = decode(&[0u8; 17], rr(Type::Aaaa), 1, 17);
        assert_eq!(d, RData::Aaaa(Ipv6Addr::UNSPECIFIED));
    }

    #[test]
    fn check_is_decode_flags() {
        let msg: Vec<u8> = (0..40u8).map(|i| if i % 7 == 0 { 0 } else { i.wrapping_mul(37) }).collect();
        let types = [Type::A, Type::Aaaa, Type::Cname, Type::Mx, Type::Txt, Type::Opt, Type::Unknown(999)];
        for t in types {
            for start in 0..msg.len() + 2 {
                for end in 0..msg.len() + 2 {
                    assert_eq!(check(&msg, rr(t), start, end), decode(&msg, rr(t), start, end).1, "{t:?}");
                }
            }
        }
    }

    #[test]
    fn txt_strings() {
        let b = b"\x03abc\x00\x02de";
        let (d, f) = decode(b, rr(Type::Txt), 0, b.len());
        assert!(f.is_empty());
        let RData::Txt(s) = d else { panic!("{d:?}") };
        assert_eq!(s.collect::<Vec<_>>(), [&b"abc"[..], b"", b"de"]);
        let (d, f) = decode(b, rr(Type::Txt), 0, b.len() - 1);
        assert!(matches!(d, RData::Malformed(_)) && f.contains(Anomalies::RDATA_MALFORMED));
    }

    #[test]
    fn opt_and_svcb() {
        let b = b"\x00\x0a\x00\x02hi\x00\x0c\x00\x00";
        let (d, f) = decode(b, RrFields { rtype: Type::Opt, class: 1232, ttl: 0x0100_8000 }, 0, b.len());
        assert!(f.is_empty());
        let RData::Opt(e) = d else { panic!("{d:?}") };
        assert_eq!((e.udp_payload_size, e.extended_rcode, e.version, e.dnssec_ok), (1232, 1, 0, true));
        let o: Vec<_> = e.options.collect();
        assert_eq!(o, [EdnsOption { code: 10, data: b"hi" }, EdnsOption { code: 12, data: b"" }]);
        let (_, f) = decode(b, rr(Type::Opt), 0, b.len() - 1);
        assert!(f.contains(Anomalies::RDATA_MALFORMED));
        let s = b"\x00\x01\x00\x00\x01\x00\x03\x02h2";
        let (d, f) = decode(s, rr(Type::Https), 0, s.len());
        assert!(f.is_empty());
        let RData::Svcb(v) = d else { panic!("{d:?}") };
        assert_eq!(v.priority, 1);
        assert!(v.target.is_root());
        assert_eq!(v.params.collect::<Vec<_>>(), [SvcParam { key: 1, value: b"\x02h2" }]);
    }
}
