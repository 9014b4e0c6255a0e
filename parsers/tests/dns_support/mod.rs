//! Test support for the DNS tests: annotated hex fixtures, a small message
//! emitter (with name compression) for round trips, and DNS payloads out of
//! the captures. Test code only: allocates freely.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

/// Decode a hex string; whitespace and `_` are ignored.
pub fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    assert_eq!(digits.len() % 2, 0, "odd hex in {s:?}");
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).expect("ascii"), 16).expect("hex"))
        .collect()
}

/// Kind of one annotated part of a fixture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The 12-octet header.
    Header,
    /// One question.
    Question,
    /// One answer record.
    Answer,
    /// One authority record.
    Authority,
    /// One additional record.
    Additional,
}

/// An annotated fixture: the message as a list of (part, hex) entries.
#[derive(Debug, Clone, Copy)]
pub struct Fixture {
    /// Name for messages.
    pub name: &'static str,
    /// The parts, in wire order.
    pub parts: &'static [(Part, &'static str)],
}

impl Fixture {
    /// The message octets.
    pub fn bytes(&self) -> Vec<u8> {
        self.parts.iter().flat_map(|(_, h)| hex(h)).collect()
    }

    /// (section index 0..4, end offset) of every question/record.
    pub fn entry_ends(&self) -> Vec<(usize, usize)> {
        let mut off = 0;
        let mut out = Vec::new();
        for (p, h) in self.parts {
            off += hex(h).len();
            let s = match p {
                Part::Header => continue,
                Part::Question => 0,
                Part::Answer => 1,
                Part::Authority => 2,
                Part::Additional => 3,
            };
            out.push((s, off));
        }
        out
    }

    /// Validated counts expected when the message is cut to `len` octets.
    pub fn counts_at(&self, len: usize) -> [u16; 4] {
        let mut c = [0u16; 4];
        for (s, end) in self.entry_ends() {
            if end > len {
                break;
            }
            c[s] += 1;
        }
        c
    }
}

/// The fixtures, annotated. Offsets in comments are message offsets.
pub mod fixtures {
    use super::{Fixture, Part::*};

    /// Query `www.example.com A`, RD, EDNS(0) udp 4096 with a client cookie.
    pub const QUERY_A_EDNS: Fixture = Fixture {
        name: "query_a_edns",
        parts: &[
            (Header, "1a2b 0100 0001 0000 0000 0001"), // id, RD, qd=1 ar=1
            (Question, "03 777777 07 6578616d706c65 03 636f6d 00 0001 0001"), // @12 www.example.com A IN
            // OPT: root, type 41, udp 4096, ext-rcode 0 ver 0 DO=0, rdlen 12, COOKIE(10) 8 octets
            (Additional, "00 0029 1000 00000000 000c 000a 0008 0102030405060708"),
        ],
    };

    /// Response: www.example.com CNAME cdn.example.com, cdn.example.com A 93.184.216.34.
    pub const RESPONSE_CNAME_A: Fixture = Fixture {
        name: "response_cname_a",
        parts: &[
            (Header, "1a2b 8180 0001 0002 0000 0000"), // QR RD RA, an=2
            (Question, "03 777777 07 6578616d706c65 03 636f6d 00 0001 0001"), // @12
            // @33 ptr->12, CNAME, IN, ttl 3600, rdlen 6, "cdn" + ptr->16 (example.com); rdata @45
            (Answer, "c00c 0005 0001 00000e10 0006 03 63646e c010"),
            // @51 ptr->45 (cdn.example.com), A, IN, ttl 60, 93.184.216.34
            (Answer, "c02d 0001 0001 0000003c 0004 5db8d822"),
        ],
    };

    /// Response: a.io AAAA 2001:db8::1.
    pub const RESPONSE_AAAA: Fixture = Fixture {
        name: "response_aaaa",
        parts: &[
            (Header, "0001 8180 0001 0001 0000 0000"),
            (Question, "01 61 02 696f 00 001c 0001"),
            (Answer, "c00c 001c 0001 0000012c 0010 20010db8000000000000000000000001"),
        ],
    };

    /// Response: example.org MX 10 mail.example.org, authority NS ns1.example.org.
    pub const RESPONSE_MX_NS: Fixture = Fixture {
        name: "response_mx_ns",
        parts: &[
            (Header, "0002 8580 0001 0001 0001 0000"), // QR AA RD RA
            (Question, "07 6578616d706c65 03 6f7267 00 000f 0001"),
            (Answer, "c00c 000f 0001 00000e10 0009 000a 04 6d61696c c00c"),
            (Authority, "c00c 0002 0001 0002a300 0006 03 6e7331 c00c"),
        ],
    };

    /// NXDOMAIN for nox.example.org with the zone's SOA in authority.
    pub const NXDOMAIN_SOA: Fixture = Fixture {
        name: "nxdomain_soa",
        parts: &[
            (Header, "0003 8183 0001 0000 0001 0000"),
            (Question, "03 6e6f78 07 6578616d706c65 03 6f7267 00 0001 0001"), // @12; example.org @16
            // SOA: ns1.example.org hostmaster.example.org 2024010101 7200 3600 1209600 3600
            (
                Authority,
                "c010 0006 0001 00000384 0027 03 6e7331 c010 0a 686f73746d6173746572 c010 \
                 78a3f175 00001c20 00000e10 00127500 00000e10",
            ),
        ],
    };

    /// PTR: 1.0.0.127.in-addr.arpa PTR localhost.
    pub const RESPONSE_PTR: Fixture = Fixture {
        name: "response_ptr",
        parts: &[
            (Header, "0004 8580 0001 0001 0000 0000"),
            (Question, "01 31 01 30 01 30 03 313237 07 696e2d61646472 04 61727061 00 000c 0001"),
            (Answer, "c00c 000c 0001 00000e10 000b 09 6c6f63616c686f7374 00"),
        ],
    };

    /// TXT: t.example.com TXT "hello" "" "world!".
    pub const RESPONSE_TXT: Fixture = Fixture {
        name: "response_txt",
        parts: &[
            (Header, "0005 8180 0001 0001 0000 0000"),
            (Question, "01 74 07 6578616d706c65 03 636f6d 00 0010 0001"),
            (Answer, "c00c 0010 0001 0000003c 000e 05 68656c6c6f 00 06 776f726c6421"),
        ],
    };

    /// NULL: null.io NULL de ad be ef 00 (the iodine downstream shape).
    pub const RESPONSE_NULL: Fixture = Fixture {
        name: "response_null",
        parts: &[
            (Header, "0006 8400 0001 0001 0000 0000"),
            (Question, "04 6e756c6c 02 696f 00 000a 0001"),
            (Answer, "c00c 000a 0001 00000000 0005 deadbeef00"),
        ],
    };

    /// SRV: _sip._tcp.example.com SRV 10 20 5060 sip.example.com.
    pub const RESPONSE_SRV: Fixture = Fixture {
        name: "response_srv",
        parts: &[
            (Header, "0007 8180 0001 0001 0000 0000"),
            (Question, "04 5f736970 04 5f746370 07 6578616d706c65 03 636f6d 00 0021 0001"), // example @22
            (Answer, "c00c 0021 0001 00000e10 000c 000a 0014 13c4 03 736970 c016"),
        ],
    };

    /// KEY: key.io KEY 256 3 5 01020304.
    pub const RESPONSE_KEY: Fixture = Fixture {
        name: "response_key",
        parts: &[
            (Header, "0008 8180 0001 0001 0000 0000"),
            (Question, "03 6b6579 02 696f 00 0019 0001"),
            (Answer, "c00c 0019 0001 00000e10 0008 0100 03 05 01020304"),
        ],
    };

    /// HTTPS: w.io HTTPS 1 . alpn=h2 port=443, and EDNS in additional
    /// with extended rcode 1 (BADVERS with header rcode 0), DO set.
    pub const RESPONSE_HTTPS_EDNS: Fixture = Fixture {
        name: "response_https_edns",
        parts: &[
            (Header, "0009 8180 0001 0001 0000 0001"),
            (Question, "01 77 02 696f 00 0041 0001"),
            (Answer, "c00c 0041 0001 0000012c 0010 0001 00 0001 0003 02 6832 0003 0002 01bb"),
            (Additional, "00 0029 04d0 01008000 0000"),
        ],
    };

    /// Every fixture.
    pub const ALL: &[Fixture] = &[
        QUERY_A_EDNS,
        RESPONSE_CNAME_A,
        RESPONSE_AAAA,
        RESPONSE_MX_NS,
        NXDOMAIN_SOA,
        RESPONSE_PTR,
        RESPONSE_TXT,
        RESPONSE_NULL,
        RESPONSE_SRV,
        RESPONSE_KEY,
        RESPONSE_HTTPS_EDNS,
    ];
}

/// Prefix a message with its two-octet TCP length.
pub fn tcp_frame(msg: &[u8]) -> Vec<u8> {
    let mut v = (msg.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(msg);
    v
}

/// A small DNS message emitter with suffix compression (RFC 1035 §4.1.4).
#[derive(Debug, Default)]
pub struct Emitter {
    /// The message so far.
    pub buf: Vec<u8>,
    /// (offset, labels) of every name suffix written in place, for compression.
    written: Vec<(usize, Vec<Vec<u8>>)>,
    /// Whether to compress names.
    pub compress: bool,
}

/// Rdata to emit.
#[derive(Debug, Clone, PartialEq)]
pub enum EmitRdata {
    /// A.
    A([u8; 4]),
    /// AAAA.
    Aaaa([u8; 16]),
    /// CNAME / NS / PTR (type given separately).
    Name(Vec<Vec<u8>>),
    /// MX.
    Mx(u16, Vec<Vec<u8>>),
    /// TXT.
    Txt(Vec<Vec<u8>>),
    /// SRV.
    Srv(u16, u16, u16, Vec<Vec<u8>>),
    /// SOA.
    Soa(Vec<Vec<u8>>, Vec<Vec<u8>>, [u32; 5]),
    /// Anything raw (NULL, unknown types).
    Raw(Vec<u8>),
}

impl Emitter {
    /// A new emitter with a header.
    pub fn new(id: u16, flags: u16, counts: [u16; 4], compress: bool) -> Self {
        let mut buf = Vec::new();
        buf.extend_from_slice(&id.to_be_bytes());
        buf.extend_from_slice(&flags.to_be_bytes());
        for c in counts {
            buf.extend_from_slice(&c.to_be_bytes());
        }
        Emitter { buf, written: Vec::new(), compress }
    }

    /// Write a name (labels), compressing against earlier names.
    pub fn name(&mut self, labels: &[Vec<u8>]) {
        for i in 0..labels.len() {
            let suffix = &labels[i..];
            if self.compress
                && let Some((off, _)) =
                    self.written.iter().find(|(o, l)| l.as_slice() == suffix && *o < 0x3FFF)
            {
                let p = 0xC000 | *off as u16;
                self.buf.extend_from_slice(&p.to_be_bytes());
                return;
            }
            self.written.push((self.buf.len(), suffix.to_vec()));
            self.buf.push(labels[i].len() as u8);
            self.buf.extend_from_slice(&labels[i]);
        }
        self.buf.push(0);
    }

    /// Write a question.
    pub fn question(&mut self, name: &[Vec<u8>], qtype: u16, qclass: u16) {
        self.name(name);
        self.buf.extend_from_slice(&qtype.to_be_bytes());
        self.buf.extend_from_slice(&qclass.to_be_bytes());
    }

    /// Write a record.
    pub fn record(&mut self, name: &[Vec<u8>], rtype: u16, class: u16, ttl: u32, data: &EmitRdata) {
        self.name(name);
        self.buf.extend_from_slice(&rtype.to_be_bytes());
        self.buf.extend_from_slice(&class.to_be_bytes());
        self.buf.extend_from_slice(&ttl.to_be_bytes());
        let len_at = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        match data {
            EmitRdata::A(a) => self.buf.extend_from_slice(a),
            EmitRdata::Aaaa(a) => self.buf.extend_from_slice(a),
            EmitRdata::Name(n) => self.name(n),
            EmitRdata::Mx(p, n) => {
                self.buf.extend_from_slice(&p.to_be_bytes());
                self.name(n);
            }
            EmitRdata::Txt(strings) => {
                for s in strings {
                    self.buf.push(s.len() as u8);
                    self.buf.extend_from_slice(s);
                }
            }
            EmitRdata::Srv(p, w, port, n) => {
                for v in [p, w, port] {
                    self.buf.extend_from_slice(&v.to_be_bytes());
                }
                self.name(n);
            }
            EmitRdata::Soa(m, r, nums) => {
                self.name(m);
                self.name(r);
                for v in nums {
                    self.buf.extend_from_slice(&v.to_be_bytes());
                }
            }
            EmitRdata::Raw(r) => self.buf.extend_from_slice(r),
        }
        let len = (self.buf.len() - len_at - 2) as u16;
        self.buf[len_at..len_at + 2].copy_from_slice(&len.to_be_bytes());
    }
}

/// One DNS payload from a capture.
#[derive(Debug, Clone)]
pub struct CapturedDns {
    /// Capture file.
    pub file: PathBuf,
    /// 1-based frame number.
    pub frame: u64,
    /// Carried over TCP.
    pub tcp: bool,
    /// Transport payload (for TCP: the segment, length prefix included).
    pub payload: Vec<u8>,
}

/// Ports that carry DNS-format messages (DNS, mDNS, LLMNR).
pub fn is_dns_port(p: u16) -> bool {
    matches!(p, 53 | 5353 | 5355)
}

/// Every UDP/TCP payload on a DNS port in the project captures and the
/// corpus (when present). Prints which sources were read.
pub fn captured_dns(common_files: Vec<PathBuf>) -> Vec<CapturedDns> {
    let mut out = Vec::new();
    for file in common_files {
        for pkt in crate::common::read_packets(&file) {
            let Some(t) = crate::common::transport(&pkt) else { continue };
            if t.fragmented || t.payload.is_empty() || !(is_dns_port(t.src_port) || is_dns_port(t.dst_port)) {
                continue;
            }
            out.push(CapturedDns {
                file: file.clone(),
                frame: pkt.frame,
                tcp: t.tcp,
                payload: t.payload.to_vec(),
            });
        }
    }
    out
}

/// Every capture to read: `pcaps/` and the corpus.
pub fn all_capture_files() -> Vec<PathBuf> {
    let mut files = crate::common::project_pcaps();
    if let Some(dir) = crate::common::corpus_dir() {
        files.extend(crate::common::find_captures(&dir));
    }
    files
}

/// A canonical one-line-per-entry description of a parsed message, used by
/// the fixture tests (exact expected strings) and the round trips.
pub fn describe(m: &centinela_parsers::dns::Message<'_>) -> String {
    use centinela_parsers::dns::{RData, Section};
    use std::fmt::Write;
    let h = m.header();
    let mut s = format!(
        "id={:04x} qr={} op={} aa={} tc={} rd={} ra={} ad={} cd={} rcode={} counts={:?} anomalies={:?}\n",
        h.id(),
        u8::from(h.is_response()),
        h.opcode(),
        u8::from(h.authoritative()),
        u8::from(h.truncated()),
        u8::from(h.recursion_desired()),
        u8::from(h.recursion_available()),
        u8::from(h.authentic_data()),
        u8::from(h.checking_disabled()),
        m.rcode(),
        m.counts(),
        m.anomalies(),
    );
    for q in m.questions() {
        writeln!(s, "Q {} {} {}", q.name, q.qtype, q.qclass).expect("write to a String");
    }
    for r in m.records() {
        let sec = match r.section {
            Section::Answer => "AN",
            Section::Authority => "NS",
            Section::Additional => "AR",
        };
        write!(s, "{sec} {} {} ", r.name, r.rtype).expect("write to a String");
        if !matches!(r.data(), RData::Opt(_)) {
            write!(s, "{} {} ", r.class, r.ttl).expect("write to a String");
        }
        match r.data() {
            RData::A(a) => write!(s, "{a}"),
            RData::Aaaa(a) => write!(s, "{a}"),
            RData::Cname(n) | RData::Ns(n) | RData::Ptr(n) => write!(s, "{n}"),
            RData::Mx { preference, exchange } => write!(s, "{preference} {exchange}"),
            RData::Txt(t) => {
                let v: Vec<String> = t.map(|x| format!("{:?}", String::from_utf8_lossy(x))).collect();
                write!(s, "{}", v.join(" "))
            }
            RData::Null(b) => write!(s, "null:{}", hexs(b)),
            RData::Srv { priority, weight, port, target } => write!(s, "{priority} {weight} {port} {target}"),
            RData::Soa(x) => write!(
                s,
                "{} {} {} {} {} {} {}",
                x.mname, x.rname, x.serial, x.refresh, x.retry, x.expire, x.minimum
            ),
            RData::Key(k) => write!(s, "{} {} {} {}", k.flags, k.protocol, k.algorithm, hexs(k.public_key)),
            RData::Opt(e) => {
                let o: Vec<String> = e.options.map(|o| format!("{}:{}", o.code, hexs(o.data))).collect();
                write!(
                    s,
                    "udp={} ercode={} v={} do={} z={} opts=[{}]",
                    e.udp_payload_size,
                    e.extended_rcode,
                    e.version,
                    u8::from(e.dnssec_ok),
                    e.z,
                    o.join(",")
                )
            }
            RData::Svcb(v) => {
                let p: Vec<String> = v.params.map(|p| format!("{}={}", p.key, hexs(p.value))).collect();
                write!(s, "{} {} {}", v.priority, v.target, p.join(" "))
            }
            RData::Other(b) => write!(s, "other:{}", hexs(b)),
            RData::Malformed(b) => write!(s, "malformed:{}", hexs(b)),
        }
        .expect("write to a String");
        s.push('\n');
    }
    s
}

/// Lower-case hex of some octets.
pub fn hexs(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
