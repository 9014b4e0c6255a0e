//! The 12-octet message header (RFC 1035 §4.1.1, RFC 2535 §6.1 for AD/CD).

use super::types::open_enum;

/// Field offsets of the header.
mod field {
    use core::ops::Range;
    pub(super) const ID: Range<usize> = 0..2;
    pub(super) const FLAGS: Range<usize> = 2..4;
    pub(super) const QDCOUNT: Range<usize> = 4..6;
    pub(super) const ANCOUNT: Range<usize> = 6..8;
    pub(super) const NSCOUNT: Range<usize> = 8..10;
    pub(super) const ARCOUNT: Range<usize> = 10..12;
}

/// Length of the header.
pub const HEADER_LEN: usize = field::ARCOUNT.end;

const QR: u16 = 0x8000;
const OPCODE_SHIFT: u16 = 11;
const AA: u16 = 0x0400;
const TC: u16 = 0x0200;
const RD: u16 = 0x0100;
const RA: u16 = 0x0080;
const Z: u16 = 0x0040;
const AD: u16 = 0x0020;
const CD: u16 = 0x0010;

open_enum! {
    /// OPCODE (4 bits; IANA "DNS OpCodes").
    Opcode: u8, "OPCODE";
    /// Standard query.
    Query = 0, "QUERY";
    /// Inverse query (obsolete, RFC 3425).
    IQuery = 1, "IQUERY";
    /// Server status request.
    Status = 2, "STATUS";
    /// Zone change notification (RFC 1996).
    Notify = 4, "NOTIFY";
    /// Dynamic update (RFC 2136).
    Update = 5, "UPDATE";
    /// DNS stateful operations (RFC 8490).
    Dso = 6, "DSO";
}

open_enum! {
    /// RCODE: 4 bits in the header, 12 bits with the EDNS extended RCODE
    /// (RFC 6891 §6.1.3).
    Rcode: u16, "RCODE";
    /// No error.
    NoError = 0, "NOERROR";
    /// Format error.
    FormErr = 1, "FORMERR";
    /// Server failure.
    ServFail = 2, "SERVFAIL";
    /// Non-existent domain.
    NxDomain = 3, "NXDOMAIN";
    /// Not implemented.
    NotImp = 4, "NOTIMP";
    /// Query refused.
    Refused = 5, "REFUSED";
    /// Name exists when it should not (RFC 2136).
    YxDomain = 6, "YXDOMAIN";
    /// RR set exists when it should not.
    YxRrset = 7, "YXRRSET";
    /// RR set that should exist does not.
    NxRrset = 8, "NXRRSET";
    /// Not authoritative / not authorized.
    NotAuth = 9, "NOTAUTH";
    /// Name not contained in zone.
    NotZone = 10, "NOTZONE";
    /// DSO-TYPE not implemented (RFC 8490).
    DsoTypeNi = 11, "DSOTYPENI";
    /// Bad OPT version (RFC 6891), 12-bit only.
    BadVers = 16, "BADVERS";
}

/// The message header, copied out of the buffer (12 octets, `Copy`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    raw: [u8; HEADER_LEN],
}

impl Header {
    /// Read the header from the front of `bytes`; `None` if shorter than 12.
    pub fn parse(bytes: &[u8]) -> Option<Header> {
        let raw: [u8; HEADER_LEN] = bytes.get(..HEADER_LEN)?.try_into().ok()?;
        Some(Header { raw })
    }

    /// The header octets.
    pub fn as_bytes(&self) -> &[u8; HEADER_LEN] {
        &self.raw
    }

    fn u16_at(&self, r: core::ops::Range<usize>) -> u16 {
        // The ranges are constants inside `raw`'s 12 octets.
        u16::from_be_bytes([self.raw[r.start], self.raw[r.start + 1]])
    }

    /// Transaction id.
    pub fn id(&self) -> u16 {
        self.u16_at(field::ID)
    }
    /// The 16 flag bits as on the wire.
    pub fn flags(&self) -> u16 {
        self.u16_at(field::FLAGS)
    }
    /// QR: true for a response.
    pub fn is_response(&self) -> bool {
        self.flags() & QR != 0
    }
    /// OPCODE.
    pub fn opcode(&self) -> Opcode {
        Opcode::from(((self.flags() >> OPCODE_SHIFT) & 0xF) as u8)
    }
    /// AA: authoritative answer.
    pub fn authoritative(&self) -> bool {
        self.flags() & AA != 0
    }
    /// TC: truncated by the transport.
    pub fn truncated(&self) -> bool {
        self.flags() & TC != 0
    }
    /// RD: recursion desired.
    pub fn recursion_desired(&self) -> bool {
        self.flags() & RD != 0
    }
    /// RA: recursion available.
    pub fn recursion_available(&self) -> bool {
        self.flags() & RA != 0
    }
    /// Z: the reserved bit (must be zero).
    pub fn z(&self) -> bool {
        self.flags() & Z != 0
    }
    /// AD: authentic data (RFC 4035).
    pub fn authentic_data(&self) -> bool {
        self.flags() & AD != 0
    }
    /// CD: checking disabled (RFC 4035).
    pub fn checking_disabled(&self) -> bool {
        self.flags() & CD != 0
    }
    /// The 4-bit header RCODE (see [`Message::rcode`](super::Message::rcode)
    /// for the 12-bit one with EDNS).
    pub fn rcode(&self) -> Rcode {
        Rcode::from(self.flags() & 0xF)
    }
    /// QDCOUNT as announced.
    pub fn qdcount(&self) -> u16 {
        self.u16_at(field::QDCOUNT)
    }
    /// ANCOUNT as announced.
    pub fn ancount(&self) -> u16 {
        self.u16_at(field::ANCOUNT)
    }
    /// NSCOUNT as announced.
    pub fn nscount(&self) -> u16 {
        self.u16_at(field::NSCOUNT)
    }
    /// ARCOUNT as announced.
    pub fn arcount(&self) -> u16 {
        self.u16_at(field::ARCOUNT)
    }
}

impl core::fmt::Debug for Header {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Header")
            .field("id", &self.id())
            .field("qr", &self.is_response())
            .field("opcode", &self.opcode())
            .field("aa", &self.authoritative())
            .field("tc", &self.truncated())
            .field("rd", &self.recursion_desired())
            .field("ra", &self.recursion_available())
            .field("z", &self.z())
            .field("ad", &self.authentic_data())
            .field("cd", &self.checking_disabled())
            .field("rcode", &self.rcode())
            .field("qdcount", &self.qdcount())
            .field("ancount", &self.ancount())
            .field("nscount", &self.nscount())
            .field("arcount", &self.arcount())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deconstruct() {
        // id 0xbeef, QR|opcode 5|AA|TC|RD|RA|Z|AD|CD|rcode 3, counts 1,2,3,4
        let b = [0xbe, 0xef, 0xaf, 0xf3, 0, 1, 0, 2, 0, 3, 0, 4, 0xff];
        let h = Header::parse(&b).expect("12 octets");
        assert_eq!(h.id(), 0xbeef);
        assert!(h.is_response());
        assert_eq!(h.opcode(), Opcode::Update);
        assert!(h.authoritative() && h.truncated() && h.recursion_desired());
        assert!(h.recursion_available() && h.z() && h.authentic_data() && h.checking_disabled());
        assert_eq!(h.rcode(), Rcode::NxDomain);
        assert_eq!((h.qdcount(), h.ancount(), h.nscount(), h.arcount()), (1, 2, 3, 4));
        let q = Header::parse(&[0; 12]).expect("12 octets");
        assert!(!q.is_response() && !q.z());
        assert_eq!(q.opcode(), Opcode::Query);
    }

    #[test]
    fn impossible_lengths() {
        for n in 0..HEADER_LEN {
            assert!(Header::parse(&[0u8; HEADER_LEN][..n]).is_none());
        }
    }
}
