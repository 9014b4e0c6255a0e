//! Zero allocations per DNS decode (counting global allocator), over the
//! fixtures and every DNS message in the captures; and no panic, bounded
//! work, on every one of them (hostile ones included).
#![cfg(feature = "dns")]

mod common;
mod dns_support;

use centinela_parsers::dns::{Message, RData, TcpFramer};
use centinela_parsers::stream::drive;
use dns_support::{all_capture_files, captured_dns, fixtures};

#[global_allocator]
static A: common::alloc::Counting = common::alloc::Counting;

/// A `fmt::Write` that only counts: writing names must not allocate.
struct Sink(usize);

impl core::fmt::Write for Sink {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

/// Everything a consumer does with a message: every field, every name
/// written and compared, every rdata decoded. Returns a checksum so the
/// work is not optimised away.
fn consume(b: &[u8]) -> usize {
    let Ok(m) = Message::parse(b) else { return 0 };
    let mut sink = Sink(0);
    let mut n = usize::from(m.id()) + m.anomalies().bits() as usize + u16::from(m.rcode()) as usize;
    for q in m.questions() {
        let _ = q.name.write_to(&mut sink);
        n += q.name.labels().map(<[u8]>::len).sum::<usize>() + usize::from(q.qtype.code());
        n += usize::from(q.name.eq_ignore_case(b"www.example.com"))
            + usize::from(q.name.ends_with_ignore_case(b"com"));
        assert_eq!(q.name.presentation_len(), {
            let before = sink.0;
            let _ = q.name.write_to(&mut sink);
            sink.0 - before
        });
    }
    for r in m.records() {
        let _ = r.name.write_to(&mut sink);
        n += r.rdata().len() + r.anomalies().bits() as usize;
        match r.data() {
            RData::Cname(x) | RData::Ns(x) | RData::Ptr(x) => n += x.labels().count(),
            RData::Mx { exchange, .. } => n += exchange.wire_len(),
            RData::Txt(t) => n += t.map(<[u8]>::len).sum::<usize>(),
            RData::Srv { target, .. } => n += target.len(),
            RData::Soa(s) => n += s.mname.len() + s.rname.len(),
            RData::Opt(e) => n += e.options.map(|o| o.data.len()).sum::<usize>(),
            RData::Svcb(s) => n += s.params.count() + s.target.len(),
            RData::A(a) => n += usize::from(a.octets()[0]),
            _ => n += 1,
        }
    }
    if let Some(e) = m.edns() {
        n += usize::from(e.udp_payload_size);
    }
    n + sink.0
}

fn consume_tcp(seg: &[u8]) -> usize {
    let mut f = TcpFramer::new();
    let n = core::cell::Cell::new(0);
    let _ = drive(&mut f, seg, |fr| n.set(n.get() + consume(fr)), |k, _| n.set(n.get() + k));
    n.get()
}

#[test]
fn fixtures_decode_without_allocating() {
    for f in fixtures::ALL {
        let b = f.bytes();
        let (allocs, n) = common::alloc::count(|| consume(&b));
        assert!(n > 0);
        assert_eq!(allocs, 0, "fixture {}", f.name);
    }
}

#[test]
fn every_captured_dns_message_decodes_without_allocating_or_panicking() {
    let files = all_capture_files();
    let msgs = captured_dns(files);
    let (mut udp, mut tcp, mut parsed) = (0usize, 0usize, 0usize);
    for m in &msgs {
        let (allocs, _) = if m.tcp {
            tcp += 1;
            common::alloc::count(|| consume_tcp(&m.payload))
        } else {
            udp += 1;
            common::alloc::count(|| consume(&m.payload))
        };
        assert_eq!(allocs, 0, "{}#{}", m.file.display(), m.frame);
        parsed += usize::from(!m.tcp && Message::parse(&m.payload).is_ok());
        // After a gap too (probing path).
        let mut f = TcpFramer::new();
        centinela_parsers::stream::StreamFramer::gap(&mut f);
        let (allocs, _) = common::alloc::count(|| drive(&mut f, &m.payload, |_| {}, |_, _| {}));
        assert_eq!(allocs, 0);
    }
    eprintln!(
        "dns_alloc: {udp} UDP and {tcp} TCP DNS payloads from captures, {parsed} UDP parsed, 0 allocations"
    );
    if common::corpus_dir().is_some() {
        assert!(udp > 10_000, "the corpus holds > 10k DNS frames, found {udp}");
    }
}

/// Seed dumper for the fuzz targets: with `CENTINELA_DNS_FUZZ_SEEDS=<dir>`
/// set, writes every captured DNS payload (deduplicated) to
/// `<dir>/dns_message/` (UDP) and `<dir>/dns_tcp/` (TCP segments) plus the
/// fixtures. Without the variable it checks only that the payload list is
/// deterministic.
#[test]
fn dump_fuzz_seeds_when_asked() {
    let Some(dir) = std::env::var_os("CENTINELA_DNS_FUZZ_SEEDS") else {
        assert_eq!(
            fixtures::ALL.len(),
            fixtures::ALL.iter().map(|f| f.name).collect::<std::collections::BTreeSet<_>>().len()
        );
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let (m, t) = (dir.join("dns_message"), dir.join("dns_tcp"));
    std::fs::create_dir_all(&m).expect("mkdir");
    std::fs::create_dir_all(&t).expect("mkdir");
    let mut seen = std::collections::HashSet::new();
    let mut write = |d: &std::path::Path, b: &[u8]| {
        if seen.insert(b.to_vec()) {
            let h =
                b.iter().fold(0xcbf29ce484222325u64, |h, &x| (h ^ u64::from(x)).wrapping_mul(0x100000001b3));
            std::fs::write(d.join(format!("{h:016x}")), b).expect("write seed");
        }
    };
    for f in fixtures::ALL {
        let b = f.bytes();
        write(&m, &b);
        write(&t, &dns_support::tcp_frame(&b));
    }
    for c in captured_dns(all_capture_files()) {
        write(if c.tcp { &t } else { &m }, &c.payload);
    }
}
