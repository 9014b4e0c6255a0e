//! smoltcp-style per-file test set for the DNS decoder on annotated hex
//! fixtures: deconstruct (getters), construct (emitter → exact octets),
//! impossible lengths, every truncation length, hostile names and counts.
#![cfg(feature = "dns")]

mod common;
mod dns_support;

use centinela_parsers::dns::{
    Anomalies, Class, Error, HEADER_LEN, Message, Opcode, RData, Rcode, Section, Type,
};
use dns_support::{EmitRdata, Emitter, describe, fixtures, hex};

fn labels(s: &str) -> Vec<Vec<u8>> {
    if s.is_empty() { Vec::new() } else { s.split('.').map(|l| l.as_bytes().to_vec()).collect() }
}

/// Hex to a leaked slice, so messages can borrow it in one expression.
fn hexl(s: &str) -> &'static [u8] {
    Box::leak(hex(s).into_boxed_slice())
}

fn parse_desc(b: &[u8]) -> String {
    describe(&Message::parse(b).expect("header"))
}

#[test]
fn deconstruct_every_fixture() {
    let expected: &[(&str, &str)] = &[
        (
            "query_a_edns",
            "id=1a2b qr=0 op=QUERY aa=0 tc=0 rd=1 ra=0 ad=0 cd=0 rcode=NOERROR counts=[1, 0, 0, 1] anomalies=Anomalies()\n\
             Q www.example.com A IN\n\
             AR . OPT udp=4096 ercode=0 v=0 do=0 z=0 opts=[10:0102030405060708]\n",
        ),
        (
            "response_cname_a",
            "id=1a2b qr=1 op=QUERY aa=0 tc=0 rd=1 ra=1 ad=0 cd=0 rcode=NOERROR counts=[1, 2, 0, 0] anomalies=Anomalies()\n\
             Q www.example.com A IN\n\
             AN www.example.com CNAME IN 3600 cdn.example.com\n\
             AN cdn.example.com A IN 60 93.184.216.34\n",
        ),
        (
            "response_aaaa",
            "id=0001 qr=1 op=QUERY aa=0 tc=0 rd=1 ra=1 ad=0 cd=0 rcode=NOERROR counts=[1, 1, 0, 0] anomalies=Anomalies()\n\
             Q a.io AAAA IN\n\
             AN a.io AAAA IN 300 2001:db8::1\n",
        ),
        (
            "response_mx_ns",
            "id=0002 qr=1 op=QUERY aa=1 tc=0 rd=1 ra=1 ad=0 cd=0 rcode=NOERROR counts=[1, 1, 1, 0] anomalies=Anomalies()\n\
             Q example.org MX IN\n\
             AN example.org MX IN 3600 10 mail.example.org\n\
             NS example.org NS IN 172800 ns1.example.org\n",
        ),
        (
            "nxdomain_soa",
            "id=0003 qr=1 op=QUERY aa=0 tc=0 rd=1 ra=1 ad=0 cd=0 rcode=NXDOMAIN counts=[1, 0, 1, 0] anomalies=Anomalies()\n\
             Q nox.example.org A IN\n\
             NS example.org SOA IN 900 ns1.example.org hostmaster.example.org 2024010101 7200 3600 1209600 3600\n",
        ),
        (
            "response_ptr",
            "id=0004 qr=1 op=QUERY aa=1 tc=0 rd=1 ra=1 ad=0 cd=0 rcode=NOERROR counts=[1, 1, 0, 0] anomalies=Anomalies()\n\
             Q 1.0.0.127.in-addr.arpa PTR IN\n\
             AN 1.0.0.127.in-addr.arpa PTR IN 3600 localhost\n",
        ),
        (
            "response_txt",
            "id=0005 qr=1 op=QUERY aa=0 tc=0 rd=1 ra=1 ad=0 cd=0 rcode=NOERROR counts=[1, 1, 0, 0] anomalies=Anomalies()\n\
             Q t.example.com TXT IN\n\
             AN t.example.com TXT IN 60 \"hello\" \"\" \"world!\"\n",
        ),
        (
            "response_null",
            "id=0006 qr=1 op=QUERY aa=1 tc=0 rd=0 ra=0 ad=0 cd=0 rcode=NOERROR counts=[1, 1, 0, 0] anomalies=Anomalies()\n\
             Q null.io NULL IN\n\
             AN null.io NULL IN 0 null:deadbeef00\n",
        ),
        (
            "response_srv",
            "id=0007 qr=1 op=QUERY aa=0 tc=0 rd=1 ra=1 ad=0 cd=0 rcode=NOERROR counts=[1, 1, 0, 0] anomalies=Anomalies()\n\
             Q _sip._tcp.example.com SRV IN\n\
             AN _sip._tcp.example.com SRV IN 3600 10 20 5060 sip.example.com\n",
        ),
        (
            "response_key",
            "id=0008 qr=1 op=QUERY aa=0 tc=0 rd=1 ra=1 ad=0 cd=0 rcode=NOERROR counts=[1, 1, 0, 0] anomalies=Anomalies()\n\
             Q key.io KEY IN\n\
             AN key.io KEY IN 3600 256 3 5 01020304\n",
        ),
        (
            "response_https_edns",
            "id=0009 qr=1 op=QUERY aa=0 tc=0 rd=1 ra=1 ad=0 cd=0 rcode=BADVERS counts=[1, 1, 0, 1] anomalies=Anomalies()\n\
             Q w.io HTTPS IN\n\
             AN w.io HTTPS IN 300 1 . 1=026832 3=01bb\n\
             AR . OPT udp=1232 ercode=1 v=0 do=1 z=0 opts=[]\n",
        ),
    ];
    assert_eq!(expected.len(), fixtures::ALL.len());
    for (f, (name, want)) in fixtures::ALL.iter().zip(expected) {
        assert_eq!(f.name, *name);
        let b = f.bytes();
        let got = parse_desc(&b);
        assert_eq!(got, *want, "fixture {name}");
        let m = Message::parse(&b).expect("header");
        assert_eq!(m.parsed_len(), b.len());
        assert_eq!(m.counts(), f.counts_at(b.len()));
    }
}

#[test]
fn getters_on_typed_values() {
    let b = fixtures::RESPONSE_CNAME_A.bytes();
    let m = Message::parse(&b).expect("header");
    let h = m.header();
    assert_eq!((h.id(), h.opcode(), h.rcode()), (0x1a2b, Opcode::Query, Rcode::NoError));
    assert_eq!((h.qdcount(), h.ancount(), h.nscount(), h.arcount()), (1, 2, 0, 0));
    let q = m.question().expect("q");
    assert_eq!((q.qtype, q.qclass), (Type::A, Class::In));
    assert_eq!((q.name.label_count(), q.name.wire_len(), q.name.len(), q.name.offset()), (3, 17, 15, 12));
    let labels: Vec<&[u8]> = q.name.labels().collect();
    assert_eq!(labels, [&b"www"[..], b"example", b"com"]);
    assert!(q.name.eq_ignore_case(b"WWW.EXAMPLE.COM."));
    assert!(q.name.ends_with_ignore_case(b"example.com"));
    let ans: Vec<_> = m.answers().collect();
    assert_eq!(ans.len(), 2);
    assert_eq!(ans[0].section, Section::Answer);
    assert_eq!(ans[0].name, q.name, "compressed owner equals the question name");
    let RData::Cname(target) = ans[0].data() else { panic!("{:?}", ans[0].data()) };
    assert_eq!(ans[1].name, target);
    assert_eq!(ans[0].rdata_offset(), 45);
    assert_eq!(ans[1].rdata(), [93, 184, 216, 34]);
    assert!(ans.iter().all(|r| r.anomalies().is_empty()));
    assert_eq!(m.authorities().len(), 0);
    assert_eq!(m.additionals().len(), 0);
    assert!(m.edns().is_none());
    let mut s = String::new();
    target.write_to(&mut s).expect("fmt");
    assert_eq!(s, "cdn.example.com");
    assert_eq!(target.presentation_len(), s.len());
}

#[test]
fn construct_matches_fixtures() {
    // The emitter, compressing, reproduces the hand-annotated octets.
    let mut e = Emitter::new(0x1a2b, 0x8180, [1, 2, 0, 0], true);
    e.question(&labels("www.example.com"), 1, 1);
    e.record(&labels("www.example.com"), 5, 1, 3600, &EmitRdata::Name(labels("cdn.example.com")));
    e.record(&labels("cdn.example.com"), 1, 1, 60, &EmitRdata::A([93, 184, 216, 34]));
    assert_eq!(e.buf, fixtures::RESPONSE_CNAME_A.bytes());

    let mut e = Emitter::new(3, 0x8183, [1, 0, 1, 0], true);
    e.question(&labels("nox.example.org"), 1, 1);
    e.record(
        &labels("example.org"),
        6,
        1,
        900,
        &EmitRdata::Soa(
            labels("ns1.example.org"),
            labels("hostmaster.example.org"),
            [2024010101, 7200, 3600, 1209600, 3600],
        ),
    );
    assert_eq!(e.buf, fixtures::NXDOMAIN_SOA.bytes());

    let mut e = Emitter::new(7, 0x8180, [1, 1, 0, 0], true);
    e.question(&labels("_sip._tcp.example.com"), 33, 1);
    e.record(
        &labels("_sip._tcp.example.com"),
        33,
        1,
        3600,
        &EmitRdata::Srv(10, 20, 5060, labels("sip.example.com")),
    );
    assert_eq!(e.buf, fixtures::RESPONSE_SRV.bytes());

    let mut e = Emitter::new(5, 0x8180, [1, 1, 0, 0], true);
    e.question(&labels("t.example.com"), 16, 1);
    e.record(
        &labels("t.example.com"),
        16,
        1,
        60,
        &EmitRdata::Txt(vec![b"hello".to_vec(), vec![], b"world!".to_vec()]),
    );
    assert_eq!(e.buf, fixtures::RESPONSE_TXT.bytes());
}

#[test]
fn impossible_lengths() {
    for n in 0..HEADER_LEN {
        assert_eq!(
            Message::parse(&[0u8; HEADER_LEN][..n]).err(),
            Some(Error::Incomplete { needed: HEADER_LEN - n })
        );
    }
    let big = vec![0u8; 65_536];
    assert_eq!(Message::parse(&big).err(), Some(Error::TooLong { len: 65_536 }));
    assert!(Message::parse(&big[..65_535]).is_ok());
    // Counts at their maximum over an empty body: truncated, nothing validated.
    let m = Message::parse(hexl("0000 0000 ffff ffff ffff ffff")).expect("header");
    assert_eq!(m.anomalies(), Anomalies::TRUNCATED);
    assert_eq!(m.counts(), [0; 4]);
}

#[test]
fn every_truncation_length_exact() {
    for f in fixtures::ALL {
        let b = f.bytes();
        for n in 0..b.len() {
            match Message::parse(&b[..n]) {
                Err(e) => {
                    assert!(n < HEADER_LEN, "{} at {n}: {e:?}", f.name);
                    assert_eq!(e, Error::Incomplete { needed: HEADER_LEN - n });
                }
                Ok(m) => {
                    assert!(n >= HEADER_LEN, "{} at {n}", f.name);
                    assert_eq!(m.anomalies(), Anomalies::TRUNCATED, "{} at {n}", f.name);
                    assert_eq!(m.counts(), f.counts_at(n), "{} at {n}", f.name);
                    // What validated is fully iterable.
                    let c = m.counts();
                    assert_eq!(m.questions().count(), usize::from(c[0]));
                    assert_eq!(m.records().count(), usize::from(c[1] + c[2] + c[3]));
                    assert_eq!(
                        m.parsed_len(),
                        f.entry_ends().iter().map(|e| e.1).filter(|&e| e <= n).max().unwrap_or(12)
                    );
                }
            }
        }
    }
}

#[test]
fn trailing_data_and_counts() {
    let mut b = fixtures::RESPONSE_AAAA.bytes();
    b.extend_from_slice(b"junk");
    let m = Message::parse(&b).expect("header");
    assert_eq!(m.anomalies(), Anomalies::TRAILING_DATA);
    assert_eq!(m.counts(), [1, 1, 0, 0]);
    // ancount 1 → 2: truncated, the first answer kept.
    let mut b = fixtures::RESPONSE_AAAA.bytes();
    b[7] = 2;
    let m = Message::parse(&b).expect("header");
    assert_eq!(m.anomalies(), Anomalies::TRUNCATED);
    assert_eq!(m.answers().count(), 1);
    // rdlength 16 → 17: runs past the end.
    let mut b = fixtures::RESPONSE_AAAA.bytes();
    let at = b.len() - 17;
    b[at] = 17;
    let m = Message::parse(&b).expect("header");
    assert_eq!(m.anomalies(), Anomalies::TRUNCATED);
    assert_eq!(m.counts(), [1, 0, 0, 0]);
    // rdlength 16 → 15 plus a trailing octet: AAAA malformed, then trailing.
    let mut b = fixtures::RESPONSE_AAAA.bytes();
    b[at] = 15;
    let m = Message::parse(&b).expect("header");
    assert_eq!(m.anomalies(), Anomalies::RDATA_MALFORMED | Anomalies::TRAILING_DATA);
    let r = m.answers().next().expect("answer");
    assert!(matches!(r.data(), RData::Malformed(d) if d.len() == 15));
    assert_eq!(r.anomalies(), Anomalies::RDATA_MALFORMED);
}

#[test]
fn hostile_pointers_in_messages() {
    // Question name = self pointer (c00c at offset 12).
    let m = Message::parse(hexl("0001 0100 0001 0000 0000 0000 c00c 0001 0001")).expect("header");
    assert_eq!(m.anomalies(), Anomalies::NAME_BAD_POINTER);
    let q = m.question().expect("question is framed");
    assert_eq!((q.name.label_count(), q.qtype), (0, Type::A));
    assert_eq!(q.name.anomalies(), Anomalies::NAME_BAD_POINTER);
    // Forward pointer: question name points at the answer's owner.
    let m = Message::parse(hexl(
        "0001 8100 0001 0001 0000 0000 c012 0001 0001 01 61 00 0001 0001 00000000 0004 01020304",
    ))
    .expect("header");
    assert_eq!(m.anomalies(), Anomalies::NAME_BAD_POINTER);
    assert_eq!(m.counts(), [1, 1, 0, 0]);
    assert_eq!(m.answers().next().map(|r| r.name.to_string()), Some("a".into()));
    // A→B→A: answer owner "x"+ptr→(rdata name "y"+ptr→answer owner).
    // @12 q: root A IN; @17 an: 01 78 c0 23 ...; rdata @31: 01 79 c0 11
    let m = Message::parse(hexl(
        "0001 8100 0001 0001 0000 0000 00 0001 0001 01 78 c01f 0005 0001 00000000 0004 01 79 c011",
    ))
    .expect("header");
    assert!(m.anomalies().contains(Anomalies::NAME_BAD_POINTER), "{:?}", m.anomalies());
    let r = m.answers().next().expect("answer");
    assert_eq!(r.name.to_string(), "x", "the owner's pointer targets a later octet");
    let RData::Cname(n) = r.data() else { panic!("{:?}", r.data()) };
    assert_eq!(n.to_string(), "y.x", "y then back to x, then the loop is refused");
    // Reserved label type in place: the rest of the message is unreadable.
    let m = Message::parse(hexl("0001 0100 0002 0000 0000 0000 01 61 00 0001 0001 41 00 0001 0001"))
        .expect("header");
    assert_eq!(m.anomalies(), Anomalies::NAME_BAD_LABEL_TYPE);
    assert_eq!(m.counts(), [1, 0, 0, 0]);
}

#[test]
fn name_caps_in_messages() {
    // 128 one-octet labels: flagged, 127 labels kept, message still read.
    let mut e = Emitter::new(1, 0x0100, [1, 0, 0, 0], false);
    let many: Vec<Vec<u8>> = (0..128).map(|_| b"a".to_vec()).collect();
    e.question(&many, 16, 1);
    let m = Message::parse(&e.buf).expect("header");
    assert_eq!(m.anomalies(), Anomalies::NAME_TOO_MANY_LABELS);
    let q = m.question().expect("q");
    assert_eq!((q.name.label_count(), q.name.wire_len(), q.qtype), (127, 255, Type::Txt));
    // Exactly 255 octets: fine.
    let mut e = Emitter::new(1, 0x0100, [1, 0, 0, 0], false);
    let mut l: Vec<Vec<u8>> = (0..3).map(|_| vec![b'x'; 63]).collect();
    l.push(vec![b'y'; 61]);
    e.question(&l, 1, 1);
    let m = Message::parse(&e.buf).expect("header");
    assert!(m.anomalies().is_empty());
    assert_eq!(m.question().map(|q| q.name.wire_len()), Some(255));
    // 256: flagged, the last label dropped.
    let mut e = Emitter::new(1, 0x0100, [1, 0, 0, 0], false);
    l[3].push(b'y');
    e.question(&l, 1, 1);
    let m = Message::parse(&e.buf).expect("header");
    assert_eq!(m.anomalies(), Anomalies::NAME_TOO_LONG);
    assert_eq!(m.question().map(|q| (q.name.label_count(), q.name.wire_len())), Some((3, 193)));
    // Compression makes a long name out of short pieces: still capped.
    let mut e = Emitter::new(1, 0x8100, [1, 6, 0, 0], true);
    let base: Vec<Vec<u8>> = (0..2).map(|_| vec![b'z'; 63]).collect();
    e.question(&base, 1, 1);
    let mut name = base.clone();
    for _ in 0..6 {
        name.insert(0, vec![b'w'; 40]);
        e.record(&name, 1, 1, 0, &EmitRdata::A([1, 2, 3, 4]));
    }
    let m = Message::parse(&e.buf).expect("header");
    assert_eq!(m.anomalies(), Anomalies::NAME_TOO_LONG);
    let lens: Vec<usize> = m.answers().map(|r| r.name.wire_len()).collect();
    assert_eq!(lens, [170, 211, 252, 229, 206, 247]);
}

#[test]
fn edns_placement() {
    // OPT in the answer section, then two OPTs in additional.
    let opt = "00 0029 0200 00000000 0000";
    let b = hex(&format!("0001 8100 0000 0001 0000 0002 {opt} {opt} 01 61 00 0029 0200 00000000 0000"));
    let m = Message::parse(&b).expect("header");
    assert_eq!(m.anomalies(), Anomalies::OPT_MISPLACED | Anomalies::MULTIPLE_OPT | Anomalies::OPT_BAD_NAME);
    assert_eq!(m.edns().map(|e| e.udp_payload_size), Some(512));
    // Malformed options: the OPT fixed fields are kept.
    let m = Message::parse(hexl("0001 0100 0000 0000 0000 0001 00 0029 1000 00000000 0003 000a00"))
        .expect("header");
    assert_eq!(m.anomalies(), Anomalies::RDATA_MALFORMED);
    let e = m.edns().expect("edns");
    assert_eq!((e.udp_payload_size, e.options.count()), (4096, 0));
}

#[test]
fn header_anomalies() {
    // Z set, opcode 3 (unassigned).
    let m = Message::parse(hexl("0001 1840 0000 0000 0000 0000")).expect("header");
    assert_eq!(m.anomalies(), Anomalies::Z_FLAG_SET | Anomalies::UNKNOWN_OPCODE);
    assert_eq!(m.header().opcode(), Opcode::Unknown(3));
}
