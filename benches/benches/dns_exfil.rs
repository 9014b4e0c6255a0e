//! DNS exfiltration detector throughput: parse each DNS datagram with
//! `centinela_parsers::dns`, build the `DnsObservation` the app layer builds
//! (presentation-form qname, answer addresses) and score it with
//! `DnsExfilDetector::observe`. Samples: every UDP/53 datagram of the
//! committed corpus `pcaps/dns-exfil/` (benign traffic with trap classes,
//! real iodine/dns2tcp sessions, emulated dnscat2/DNSExfiltrator/beacons).
//! A second workload, when the generated capture is present (it is not
//! committed: `pcaps/big/`, see `pcaps/README.md`), is every UDP/53 datagram
//! of `pcaps/big/ics-mix-256m.pcap` (the issue 4 benchmark mix: a few names
//! polled over and over).
//! Every iteration replays the whole sample set into a fresh detector
//! (built outside the timed part), so each iteration does the same work a
//! replay does: state, windows and alerts as in production.
//! Target (issue 5): >= 200 k DNS messages/s per core.
use centinela_detect::{DetectConfig, DnsExfilDetector, DnsObservation};
use centinela_events::Timestamp;
use centinela_parsers::dns::{Message, RData};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
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
        load_file(&f, out);
    }
}

fn load_file(f: &Path, out: &mut Vec<Datagram>) {
    let Ok(file) = std::fs::File::open(f) else { return };
    let Ok(mut reader) = pcap_parser::create_reader(1 << 20, file) else { return };
    loop {
        match reader.next() {
            Ok((off, block)) => {
                if let PcapBlockOwned::Legacy(b) = block
                    && let Ok(s) = etherparse::SlicedPacket::from_ethernet(b.data)
                    && let (Some(etherparse::NetSlice::Ipv4(ip)), Some(etherparse::TransportSlice::Udp(u))) =
                        (&s.net, &s.transport)
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

fn fresh() -> DnsExfilDetector {
    DnsExfilDetector::new(&DetectConfig::default())
}

fn workload(c: &mut Criterion, group: &str, msgs: &[Datagram]) {
    let mut name = String::new();
    let obs: Vec<DnsObservation> = msgs.iter().filter_map(|m| observation(m, &mut name)).collect();
    // One untimed replay: what the timed ones produce.
    let mut det = fresh();
    let mut out = Vec::new();
    for o in &obs {
        det.observe(o, &mut out);
    }
    let (hits, misses) = det.feature_cache_counts();
    println!(
        "{group}: {} DNS messages, {} observations, {} alert records per replay, feature cache {hits} hits / {misses} misses",
        msgs.len(),
        obs.len(),
        out.len()
    );
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(obs.len() as u64));
    g.bench_function("parse_observe_score", |b| {
        let mut out = Vec::new();
        let mut name = String::new();
        b.iter_batched(
            fresh,
            |mut det| {
                for m in msgs {
                    if let Some(o) = observation(black_box(m), &mut name) {
                        det.observe(&o, &mut out);
                    }
                }
                out.clear();
                det
            },
            BatchSize::LargeInput,
        );
    });
    g.bench_function("score_only", |b| {
        let mut out = Vec::new();
        b.iter_batched(
            fresh,
            |mut det| {
                for o in &obs {
                    det.observe(black_box(o), &mut out);
                }
                out.clear();
                det
            },
            BatchSize::LargeInput,
        );
    });
    g.finish();
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
    } else {
        workload(c, "dns_exfil", &msgs);
    }
    let big = Path::new(env!("CARGO_MANIFEST_DIR")).join("../pcaps/big/ics-mix-256m.pcap");
    let mut mix = Vec::new();
    load_file(&big, &mut mix);
    if mix.is_empty() {
        println!("{} missing (generate it, see pcaps/README.md): ics-mix workload NOT RUN", big.display());
    } else {
        workload(c, "dns_exfil_ics_mix", &mix);
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
