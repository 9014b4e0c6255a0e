//! Fuzz `dns::Message::parse` and everything a consumer does afterwards:
//! iterate every question and record, decode every rdata, walk and write
//! every name. Invariants: no panic, validated counts are exactly what the
//! iterators yield, names respect the 255-octet / 127-label caps.
#![no_main]

use centinela_parsers::dns::{Message, RData};
use core::fmt::Write;

struct Sink(usize);
impl Write for Sink {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

fn check_name(n: &centinela_parsers::dns::Name<'_>) {
    assert!(n.label_count() <= 127 && n.wire_len() <= 255);
    assert_eq!(n.labels().count(), n.label_count());
    let wire = 1 + n.labels().map(|l| 1 + l.len()).sum::<usize>();
    assert_eq!(wire, n.wire_len());
    let mut s = Sink(0);
    n.write_to(&mut s).unwrap();
    assert_eq!(s.0, n.presentation_len());
    let _ = n.eq_ignore_case(b"example.com") | n.ends_with_ignore_case(b"com");
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(m) = Message::parse(data) else { return };
    let c = m.counts();
    assert!(m.parsed_len() <= data.len());
    assert_eq!(m.questions().count(), usize::from(c[0]));
    assert_eq!(m.records().count(), usize::from(c[1]) + usize::from(c[2]) + usize::from(c[3]));
    assert_eq!(m.answers().count(), usize::from(c[1]));
    for q in m.questions() {
        check_name(&q.name);
    }
    for r in m.records() {
        check_name(&r.name);
        assert!(r.rdata_offset() + r.rdata().len() <= data.len());
        let _ = r.anomalies();
        match r.data() {
            RData::Cname(n) | RData::Ns(n) | RData::Ptr(n) => check_name(&n),
            RData::Mx { exchange, .. } => check_name(&exchange),
            RData::Srv { target, .. } => check_name(&target),
            RData::Soa(s) => {
                check_name(&s.mname);
                check_name(&s.rname);
            }
            RData::Txt(t) => assert!(t.map(|s| 1 + s.len()).sum::<usize>() <= r.rdata().len()),
            RData::Opt(e) => assert!(e.options.map(|o| 4 + o.data.len()).sum::<usize>() <= r.rdata().len()),
            RData::Svcb(s) => {
                check_name(&s.target);
                let _ = s.params.count();
            }
            _ => {}
        }
    }
    let _ = (m.edns(), m.rcode());
});
