//! DNS exfiltration detector throughput: parse each DNS datagram with
//! `centinela_parsers::dns`, build the `DnsObservation` the app layer builds
//! (presentation-form qname, answer addresses) and score it with
//! `DnsExfilDetector::observe`. Samples: every UDP/53 datagram of the
//! committed corpus `pcaps/dns-exfil/` (benign traffic with trap classes,
//! real iodine/dns2tcp sessions, emulated dnscat2/DNSExfiltrator/beacons).
//! Target (issue 5): >= 200 k DNS messages/s per core.
use centinela_detect::{DetectConfig, DnsExfilDetector, DnsObservation};
use centinela_events::Timestamp;
use centinela_parsers::dns::{Message, RData};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pcap_parser::{PcapBlockOwned, PcapError};
use std::hint::black_box;
use std::net::IpAddr;
use std::path::Path;

struct Datagram {
    ts: Timestamp,
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    payload: Vec<u8>,
}

fn load(dir: &Path, out: &mut Vec<Datagram>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut files: Vec<_> =
        rd.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "pcap")).collect();
    files.sort();
    for f in files {
        let Ok(file) = std::fs::File::open(&f) else { continue };
        let Ok(mut reader) = pcap_parser::create_reader(1 << 20, file) else { continue };
        loop {
            match reader.next() {
                Ok((off, block)) => {
                    if let PcapBlockOwned::Legacy(b) = block
                        && let Ok(s) = etherparse::SlicedPacket::from_ethernet(b.data)
                        && let (
                            Some(etherparse::NetSlice::Ipv4(ip)),
                            Some(etherparse::TransportSlice::Udp(u)),
                        ) = (&s.net, &s.transport)
                        && (u.source_port() == 53 || u.destination_port() == 53)
                    {
                        out.push(Datagram {
                            ts: Timestamp::from_micros(i64::from(b.ts_sec), b.ts_usec.min(999_999)),
                            src: IpAddr::V4(ip.header().source_addr()),
                            dst: IpAddr::V4(ip.header().destination_addr()),
                            sport: u.source_port(),
                            dport: u.destination_port(),
                            payload: u.payload().to_vec(),
                        });
                    }
                    reader.consume(off);
                }
                Err(PcapError::Incomplete(_)) => {
                    if reader.refill().is_err() {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
    }
}

/// Parse + observation, as `centinela-app` does for every DNS message.
fn observation(d: &Datagram, name: &mut String) -> Option<DnsObservation> {
    let msg = Message::parse(&d.payload).ok()?;
    let q = msg.question()?;
    name.clear();
    q.name.write_to(name).ok()?;
    let is_response = msg.is_response();
    let (client, client_port, server) =
        if is_response { (d.dst, d.dport, d.src) } else { (d.src, d.sport, d.dst) };
    let mut answer_addrs = Vec::new();
    let (mut rdata, mut count) = (0u32, 0u16);
    if is_response {
        for rr in msg.answers() {
            count = count.saturating_add(1);
            rdata = rdata.saturating_add(rr.rdata().len() as u32);
            match rr.data() {
                RData::A(a) if answer_addrs.len() < 8 => answer_addrs.push(IpAddr::V4(a)),
                RData::Aaaa(a) if answer_addrs.len() < 8 => answer_addrs.push(IpAddr::V6(a)),
                _ => {}
            }
        }
    }
    Some(DnsObservation {
        ts: d.ts,
        client,
        client_port,
        server,
        flow_id: u64::from(client_port),
        community_id: "".into(),
        pcap_cnt: None,
        is_response,
        id: msg.id(),
        qname: name.trim_end_matches('.').to_string(),
        qtype: q.qtype.code(),
        rcode: msg.rcode().code() as u8,
        message_len: d.payload.len().min(usize::from(u16::MAX)) as u16,
        answer_addrs,
        answer_rdata_len: rdata,
        answer_count: count,
    })
}

fn bench(c: &mut Criterion) {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../pcaps/dns-exfil");
    let mut msgs = Vec::new();
    load(&base.join("small"), &mut msgs);
    load(&base.join("real"), &mut msgs);
    msgs.sort_by_key(|m| m.ts);
    println!("dns_exfil bench: {} DNS datagrams from {}", msgs.len(), base.display());
    if msgs.is_empty() {
        println!("no samples: pcaps/dns-exfil missing (NOT RUN)");
        return;
    }
    let mut g = c.benchmark_group("dns_exfil");
    g.throughput(Throughput::Elements(msgs.len() as u64));
    g.bench_function("parse_observe_score", |b| {
        let mut det = DnsExfilDetector::new(&DetectConfig::default());
        let mut out = Vec::new();
        let mut name = String::new();
        b.iter(|| {
            for m in &msgs {
                if let Some(o) = observation(black_box(m), &mut name) {
                    det.observe(&o, &mut out);
                }
            }
            out.clear();
        });
    });
    g.bench_function("score_only", |b| {
        let mut name = String::new();
        let obs: Vec<DnsObservation> = msgs.iter().filter_map(|m| observation(m, &mut name)).collect();
        let mut det = DnsExfilDetector::new(&DetectConfig::default());
        let mut out = Vec::new();
        b.iter(|| {
            for o in &obs {
                det.observe(black_box(o), &mut out);
            }
            out.clear();
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
