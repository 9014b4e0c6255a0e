//! DNS message emitters with name compression (RFC 1035 §4.1.4).
//!
//! [`Message::to_bytes`] writes every owner name and every name inside RDATA
//! (CNAME, NS, PTR, MX, SOA) through one compression table, so a name or a suffix
//! already written is replaced by a pointer. [`query`] and [`response`] cover the
//! common cases; [`tcp_frame`] adds the two-byte length prefix used over TCP.

/// Standard port.
pub const PORT: u16 = 53;

/// Record types.
pub mod rtype {
    /// IPv4 address.
    pub const A: u16 = 1;
    /// Name server.
    pub const NS: u16 = 2;
    /// Canonical name.
    pub const CNAME: u16 = 5;
    /// Start of authority.
    pub const SOA: u16 = 6;
    /// Pointer.
    pub const PTR: u16 = 12;
    /// Mail exchange.
    pub const MX: u16 = 15;
    /// Text.
    pub const TXT: u16 = 16;
    /// IPv6 address.
    pub const AAAA: u16 = 28;
    /// Service locator.
    pub const SRV: u16 = 33;
    /// EDNS(0) OPT pseudo-record.
    pub const OPT: u16 = 41;
    /// Any.
    pub const ANY: u16 = 255;
}

/// Response codes.
pub mod rcode {
    /// No error.
    pub const NOERROR: u8 = 0;
    /// Format error.
    pub const FORMERR: u8 = 1;
    /// Server failure.
    pub const SERVFAIL: u8 = 2;
    /// Name does not exist.
    pub const NXDOMAIN: u8 = 3;
    /// Refused.
    pub const REFUSED: u8 = 5;
}

/// Class IN.
pub const CLASS_IN: u16 = 1;

/// Record data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rdata {
    /// A.
    A([u8; 4]),
    /// AAAA.
    Aaaa([u8; 16]),
    /// CNAME (compressed).
    Cname(String),
    /// NS (compressed).
    Ns(String),
    /// PTR (compressed).
    Ptr(String),
    /// MX preference and exchange (compressed).
    Mx(u16, String),
    /// TXT character-strings (each up to 255 bytes; longer ones are cut).
    Txt(Vec<Vec<u8>>),
    /// SOA: mname, rname, serial, refresh, retry, expire, minimum.
    Soa(String, String, [u32; 5]),
    /// Any type with opaque data.
    Raw(u16, Vec<u8>),
}

impl Rdata {
    /// The record type of this data.
    pub fn rtype(&self) -> u16 {
        match self {
            Self::A(_) => rtype::A,
            Self::Aaaa(_) => rtype::AAAA,
            Self::Cname(_) => rtype::CNAME,
            Self::Ns(_) => rtype::NS,
            Self::Ptr(_) => rtype::PTR,
            Self::Mx(..) => rtype::MX,
            Self::Txt(_) => rtype::TXT,
            Self::Soa(..) => rtype::SOA,
            Self::Raw(t, _) => *t,
        }
    }
}

/// A resource record of class IN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Owner name.
    pub name: String,
    /// Time to live.
    pub ttl: u32,
    /// Data (its variant gives the type).
    pub data: Rdata,
}

impl Record {
    /// A record.
    pub fn new(name: &str, ttl: u32, data: Rdata) -> Self {
        Self { name: name.to_owned(), ttl, data }
    }
}

/// A question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// Queried name.
    pub name: String,
    /// Queried type.
    pub qtype: u16,
}

/// Header flag: response.
pub const FLAG_QR: u16 = 0x8000;
/// Header flag: authoritative answer.
pub const FLAG_AA: u16 = 0x0400;
/// Header flag: truncated.
pub const FLAG_TC: u16 = 0x0200;
/// Header flag: recursion desired.
pub const FLAG_RD: u16 = 0x0100;
/// Header flag: recursion available.
pub const FLAG_RA: u16 = 0x0080;

/// A whole message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// Transaction id.
    pub id: u16,
    /// Flags word (QR, opcode, AA, TC, RD, RA, Z, RCODE).
    pub flags: u16,
    /// Questions.
    pub questions: Vec<Question>,
    /// Answer section.
    pub answers: Vec<Record>,
    /// Authority section.
    pub authority: Vec<Record>,
    /// Additional section.
    pub additional: Vec<Record>,
    /// Append an EDNS(0) OPT record with this UDP payload size.
    pub edns_udp_size: Option<u16>,
}

/// Maximum offset a compression pointer can hold.
const MAX_POINTER: usize = 0x3FFF;

struct Writer {
    buf: Vec<u8>,
    table: Vec<(String, u16)>,
}

impl Writer {
    fn name(&mut self, name: &str) {
        let labels: Vec<&str> = name.trim_end_matches('.').split('.').filter(|l| !l.is_empty()).collect();
        for i in 0..labels.len() {
            let suffix = labels[i..].join(".").to_ascii_lowercase();
            if let Some((_, off)) = self.table.iter().find(|(s, _)| *s == suffix) {
                self.buf.extend_from_slice(&(0xC000 | off).to_be_bytes());
                return;
            }
            if self.buf.len() <= MAX_POINTER {
                self.table.push((suffix, self.buf.len() as u16));
            }
            let label = labels[i].as_bytes();
            let label = &label[..label.len().min(63)];
            self.buf.push(label.len() as u8);
            self.buf.extend_from_slice(label);
        }
        self.buf.push(0);
    }

    fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    fn record(&mut self, r: &Record) {
        self.name(&r.name);
        self.u16(r.data.rtype());
        self.u16(CLASS_IN);
        self.buf.extend_from_slice(&r.ttl.to_be_bytes());
        let len_at = self.buf.len();
        self.u16(0);
        match &r.data {
            Rdata::A(a) => self.buf.extend_from_slice(a),
            Rdata::Aaaa(a) => self.buf.extend_from_slice(a),
            Rdata::Cname(n) | Rdata::Ns(n) | Rdata::Ptr(n) => self.name(n),
            Rdata::Mx(pref, n) => {
                self.u16(*pref);
                self.name(n);
            }
            Rdata::Txt(strings) => {
                for s in strings {
                    let s = &s[..s.len().min(255)];
                    self.buf.push(s.len() as u8);
                    self.buf.extend_from_slice(s);
                }
            }
            Rdata::Soa(m, r, nums) => {
                self.name(m);
                self.name(r);
                for n in nums {
                    self.buf.extend_from_slice(&n.to_be_bytes());
                }
            }
            Rdata::Raw(_, d) => self.buf.extend_from_slice(d),
        }
        let rdlen = (self.buf.len() - len_at - 2) as u16;
        self.buf[len_at..len_at + 2].copy_from_slice(&rdlen.to_be_bytes());
    }
}

impl Message {
    /// The wire bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer { buf: Vec::with_capacity(512), table: Vec::new() };
        w.u16(self.id);
        w.u16(self.flags);
        w.u16(self.questions.len() as u16);
        w.u16(self.answers.len() as u16);
        w.u16(self.authority.len() as u16);
        w.u16((self.additional.len() + usize::from(self.edns_udp_size.is_some())) as u16);
        for q in &self.questions {
            w.name(&q.name);
            w.u16(q.qtype);
            w.u16(CLASS_IN);
        }
        for r in self.answers.iter().chain(&self.authority).chain(&self.additional) {
            w.record(r);
        }
        if let Some(size) = self.edns_udp_size {
            w.buf.push(0);
            w.u16(rtype::OPT);
            w.u16(size);
            w.buf.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        }
        w.buf
    }
}

/// A recursive query (RD set) for one name.
pub fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    Message {
        id,
        flags: FLAG_RD,
        questions: vec![Question { name: name.to_owned(), qtype }],
        ..Message::default()
    }
    .to_bytes()
}

/// A recursive response (QR, RD, RA) with `rcode` and the given answers.
pub fn response(id: u16, name: &str, qtype: u16, rcode: u8, answers: &[Record]) -> Vec<u8> {
    Message {
        id,
        flags: FLAG_QR | FLAG_RD | FLAG_RA | u16::from(rcode & 0x0F),
        questions: vec![Question { name: name.to_owned(), qtype }],
        answers: answers.to_vec(),
        ..Message::default()
    }
    .to_bytes()
}

/// The message with its two-byte length prefix, as sent over TCP.
pub fn tcp_frame(msg: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(msg.len() + 2);
    f.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    f.extend_from_slice(msg);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_bytes() {
        let q = query(0x1234, "example.com", rtype::A);
        assert_eq!(
            q,
            [
                0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 7, b'e', b'x', b'a', b'm', b'p', b'l', b'e',
                3, b'c', b'o', b'm', 0, 0, 1, 0, 1
            ]
        );
    }

    #[test]
    fn answers_point_at_the_question() {
        let r = response(
            1,
            "www.example.com",
            rtype::A,
            rcode::NOERROR,
            &[
                Record::new("www.example.com", 60, Rdata::Cname("web.example.com".into())),
                Record::new("web.example.com", 60, Rdata::A([192, 0, 2, 1])),
            ],
        );
        // Question name at offset 12; first answer owner is a pointer to it.
        let q_end = 12 + 17 + 4;
        assert_eq!(&r[q_end..q_end + 2], &[0xC0, 12]);
        // CNAME rdata: "web" label then a pointer to "example.com" (offset 16).
        let rdata = q_end + 12;
        assert_eq!(&r[rdata - 2..rdata], &[0, 6]);
        assert_eq!(&r[rdata..rdata + 6], &[3, b'w', b'e', b'b', 0xC0, 16]);
        // Second owner points at the CNAME target.
        assert_eq!(&r[rdata + 6..rdata + 8], &[0xC0, rdata as u8]);
        assert_eq!(r.len(), rdata + 8 + 10 + 4);
        assert_eq!(r[3] & 0x0F, 0);
    }

    #[test]
    fn txt_edns_and_tcp() {
        let m = Message {
            id: 9,
            flags: FLAG_QR,
            questions: vec![Question { name: "t.test".into(), qtype: rtype::TXT }],
            answers: vec![Record::new("t.test", 0, Rdata::Txt(vec![b"abc".to_vec(), vec![b'x'; 300]]))],
            edns_udp_size: Some(1232),
            ..Message::default()
        };
        let b = m.to_bytes();
        assert_eq!(&b[10..12], &[0, 1]);
        assert_eq!(&b[b.len() - 11..b.len() - 6], &[0, 0, 41, 0x04, 0xD0]);
        let t = tcp_frame(&b);
        assert_eq!(usize::from(u16::from_be_bytes([t[0], t[1]])), b.len());
        assert_eq!(query(1, "a.", rtype::A)[12..16], [1, b'a', 0, 0]);
        assert_eq!(query(1, "", rtype::NS)[12], 0);
    }
}
