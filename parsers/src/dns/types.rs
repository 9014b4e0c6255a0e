//! Open enums for resource record types and classes (IANA "Domain Name
//! System (DNS) Parameters"). An unknown code is a value, not an error.

/// Declares an open enum over an integer: named variants plus `Unknown`.
/// `From<int>` never yields `Unknown(v)` for a named `v`.
macro_rules! open_enum {
    (
        $(#[$m:meta])*
        $name:ident : $repr:ty, $fallback:expr;
        $($(#[$vm:meta])* $var:ident = $val:expr, $s:expr;)*
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vm])* $var,)*
            /// A code without a named variant.
            Unknown($repr),
        }

        impl From<$repr> for $name {
            #[inline]
            fn from(v: $repr) -> Self {
                match v {
                    $($val => $name::$var,)*
                    other => $name::Unknown(other),
                }
            }
        }

        impl From<$name> for $repr {
            #[inline]
            fn from(v: $name) -> $repr {
                match v {
                    $($name::$var => $val,)*
                    $name::Unknown(other) => other,
                }
            }
        }

        impl $name {
            /// The numeric code.
            #[inline]
            pub fn code(self) -> $repr {
                <$repr>::from(self)
            }
            /// The IANA mnemonic, if the code has a named variant.
            pub fn mnemonic(self) -> Option<&'static str> {
                match self {
                    $($name::$var => Some($s),)*
                    $name::Unknown(_) => None,
                }
            }
        }

        impl core::fmt::Display for $name {
            /// The mnemonic, or the generic form (`TYPE123`, `CLASS7`, RFC 3597 §5).
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self.mnemonic() {
                    Some(s) => f.write_str(s),
                    None => write!(f, "{}{}", $fallback, self.code()),
                }
            }
        }
    };
}

pub(crate) use open_enum;

open_enum! {
    /// Resource record TYPE / question QTYPE (RFC 1035 §3.2.2, §3.2.3 and later).
    Type: u16, "TYPE";
    /// IPv4 host address (RFC 1035).
    A = 1, "A";
    /// Authoritative name server.
    Ns = 2, "NS";
    /// Canonical name.
    Cname = 5, "CNAME";
    /// Start of authority.
    Soa = 6, "SOA";
    /// Null record (RFC 1035 §3.3.10), a favourite of DNS tunnels.
    Null = 10, "NULL";
    /// Well-known services.
    Wks = 11, "WKS";
    /// Domain name pointer.
    Ptr = 12, "PTR";
    /// Host information.
    Hinfo = 13, "HINFO";
    /// Mail exchange.
    Mx = 15, "MX";
    /// Text strings.
    Txt = 16, "TXT";
    /// Responsible person (RFC 1183).
    Rp = 17, "RP";
    /// Security signature (RFC 2535).
    Sig = 24, "SIG";
    /// Security key (RFC 2535, RFC 3445).
    Key = 25, "KEY";
    /// IPv6 address (RFC 3596).
    Aaaa = 28, "AAAA";
    /// Location (RFC 1876).
    Loc = 29, "LOC";
    /// Service location (RFC 2782).
    Srv = 33, "SRV";
    /// Naming authority pointer (RFC 3403).
    Naptr = 35, "NAPTR";
    /// Delegation name (RFC 6672).
    Dname = 39, "DNAME";
    /// EDNS(0) pseudo-record (RFC 6891).
    Opt = 41, "OPT";
    /// Delegation signer (RFC 4034).
    Ds = 43, "DS";
    /// SSH key fingerprint (RFC 4255).
    Sshfp = 44, "SSHFP";
    /// DNSSEC signature (RFC 4034).
    Rrsig = 46, "RRSIG";
    /// Next secure (RFC 4034).
    Nsec = 47, "NSEC";
    /// DNS key (RFC 4034).
    Dnskey = 48, "DNSKEY";
    /// NSEC3 (RFC 5155).
    Nsec3 = 50, "NSEC3";
    /// TLSA (RFC 6698).
    Tlsa = 52, "TLSA";
    /// Host identity protocol (RFC 8005).
    Hip = 55, "HIP";
    /// Service binding (RFC 9460).
    Svcb = 64, "SVCB";
    /// HTTPS service binding (RFC 9460).
    Https = 65, "HTTPS";
    /// Transaction key (RFC 2930).
    Tkey = 249, "TKEY";
    /// Transaction signature (RFC 8945).
    Tsig = 250, "TSIG";
    /// Incremental zone transfer (RFC 1995).
    Ixfr = 251, "IXFR";
    /// Zone transfer.
    Axfr = 252, "AXFR";
    /// Any type (QTYPE only).
    Any = 255, "ANY";
    /// URI (RFC 7553).
    Uri = 256, "URI";
    /// Certification authority authorisation (RFC 8659).
    Caa = 257, "CAA";
}

open_enum! {
    /// CLASS / QCLASS (RFC 1035 §3.2.4, §3.2.5). The top bit is kept as is
    /// (mDNS uses it for unicast-response / cache-flush).
    Class: u16, "CLASS";
    /// The Internet.
    In = 1, "IN";
    /// Chaos.
    Ch = 3, "CH";
    /// Hesiod.
    Hs = 4, "HS";
    /// QCLASS NONE (RFC 2136).
    None = 254, "NONE";
    /// QCLASS ANY.
    Any = 255, "ANY";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_code() {
        for v in 0..=u16::MAX {
            assert_eq!(u16::from(Type::from(v)), v);
            assert_eq!(u16::from(Class::from(v)), v);
        }
        assert_eq!(Type::from(28), Type::Aaaa);
        assert_eq!(Type::from(999), Type::Unknown(999));
        assert_eq!(Type::Unknown(999).to_string(), "TYPE999");
        assert_eq!(Type::Https.to_string(), "HTTPS");
        assert_eq!(Class::from(1).to_string(), "IN");
        assert_eq!(Class::from(0x8001).to_string(), "CLASS32769");
    }
}
