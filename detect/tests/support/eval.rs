//! Evaluation harness for the DNS exfiltration detector, shared by the
//! `dns_eval` example and the `eval_small` test (included with `#[path]`).
//!
//! Reads pcap/pcapng files (Ethernet, Linux SLL, raw IP, BSD loopback),
//! decodes UDP/53 with `centinela_parsers::dns`, builds `DnsObservation`s
//! exactly like the app layer does (qname in presentation form with `\DDD`
//! escapes), feeds non-DNS flow starts (TCP SYN, first UDP datagram of a
//! 5-tuple) to `on_flow_start`, ticks once per second of packet time, and
//! scores the alerts against `truth.tsv` / `traps.tsv` (see
//! `pcaps/dns-exfil/README.md`).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use centinela_detect::{DetectConfig, DnsExfilDetector, DnsObservation};
use centinela_events::{Event, EventBody, Timestamp};
use centinela_parsers::dns::{Message, RData};
use pcap_parser::{Linktype, PcapBlockOwned, PcapError, pcapng::Block};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// One alert as the evaluation sees it.
#[derive(Debug, Clone)]
pub struct SeenAlert {
    pub ts: f64,
    pub client: IpAddr,
    pub domain: String,
    pub sid: u32,
    pub severity: u8,
    pub update: u64,
    pub episode: u64,
    pub explanation: serde_json::Value,
}

/// Result of one file.
#[derive(Debug, Default)]
pub struct FileRun {
    pub dns_messages: u64,
    pub queries: u64,
    pub alerts: Vec<SeenAlert>,
    /// Query timestamps per (client, lower-case qname suffix match later).
    pub query_log: Vec<(f64, IpAddr, String)>,
    pub first_ts: Option<f64>,
}

/// A decoded frame: (src, dst, proto, sport, dport, tcp_syn, payload).
pub type L4<'a> = (IpAddr, IpAddr, u8, u16, u16, bool, &'a [u8]);

/// Public wrapper for the example.
pub fn l3l4_pub(linktype: Linktype, data: &[u8]) -> Option<L4<'_>> {
    l3l4(linktype, data)
}

fn l3l4(linktype: Linktype, data: &[u8]) -> Option<L4<'_>> {
    use etherparse::{InternetSlice, SlicedPacket, TransportSlice};
    let sliced = match linktype {
        Linktype::ETHERNET => SlicedPacket::from_ethernet(data).ok()?,
        Linktype::LINUX_SLL => SlicedPacket::from_ip(data.get(16..)?).ok()?,
        Linktype::RAW | Linktype(12 | 228 | 229) => SlicedPacket::from_ip(data).ok()?,
        Linktype::NULL | Linktype(108) => SlicedPacket::from_ip(data.get(4..)?).ok()?,
        _ => SlicedPacket::from_ethernet(data).ok()?,
    };
    let (src, dst) = match sliced.net.as_ref()? {
        etherparse::NetSlice::Ipv4(v4) => {
            (IpAddr::V4(v4.header().source_addr()), IpAddr::V4(v4.header().destination_addr()))
        }
        etherparse::NetSlice::Ipv6(v6) => {
            (IpAddr::V6(v6.header().source_addr()), IpAddr::V6(v6.header().destination_addr()))
        }
        _ => return None,
    };
    let _ = InternetSlice::Ipv4;
    match sliced.transport.as_ref()? {
        TransportSlice::Udp(u) => {
            Some((src, dst, 17, u.source_port(), u.destination_port(), false, u.payload()))
        }
        TransportSlice::Tcp(t) => {
            Some((src, dst, 6, t.source_port(), t.destination_port(), t.syn() && !t.ack(), t.payload()))
        }
        _ => None,
    }
}

/// Build the observation from a DNS payload (None when not a DNS message).
pub fn observation(
    ts: Timestamp,
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    payload: &[u8],
    name_buf: &mut String,
) -> Option<DnsObservation> {
    let msg = Message::parse(payload).ok()?;
    let q = msg.question()?;
    name_buf.clear();
    q.name.write_to(name_buf).ok()?;
    let is_response = msg.is_response();
    let (client, client_port, server) = if is_response { (dst, dport, src) } else { (src, sport, dst) };
    let mut answer_addrs = Vec::new();
    let (mut rdata_len, mut answer_count) = (0u32, 0u16);
    if is_response {
        for rr in msg.answers() {
            answer_count = answer_count.saturating_add(1);
            rdata_len = rdata_len.saturating_add(rr.rdata().len() as u32);
            if answer_addrs.len() < 8 {
                match rr.data() {
                    RData::A(a) => answer_addrs.push(IpAddr::V4(a)),
                    RData::Aaaa(a) => answer_addrs.push(IpAddr::V6(a)),
                    _ => {}
                }
            }
        }
    }
    let name = name_buf.trim_end_matches('.').to_string();
    Some(DnsObservation {
        ts,
        client,
        client_port,
        server,
        flow_id: u64::from(client_port) << 16 | 53,
        community_id: "".into(),
        pcap_cnt: None,
        is_response,
        id: msg.id(),
        qname: name,
        qtype: q.qtype.code(),
        rcode: msg.rcode().code() as u8,
        message_len: payload.len().min(usize::from(u16::MAX)) as u16,
        answer_addrs,
        answer_rdata_len: rdata_len,
        answer_count,
    })
}

/// Iterate the frames of a capture: (timestamp, linktype, bytes).
pub fn for_each_frame(path: &Path, mut f: impl FnMut(Timestamp, Linktype, &[u8])) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut reader =
        pcap_parser::create_reader(1 << 20, file).map_err(|e| format!("{}: {e:?}", path.display()))?;
    let mut legacy_link = Linktype::ETHERNET;
    let mut ifaces: Vec<(Linktype, u64, i64)> = Vec::new();
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                match block {
                    PcapBlockOwned::LegacyHeader(h) => legacy_link = h.network,
                    PcapBlockOwned::Legacy(b) => {
                        let ts = Timestamp::from_micros(i64::from(b.ts_sec), b.ts_usec.min(999_999));
                        f(ts, legacy_link, b.data);
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => ifaces.clear(),
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        ifaces.push((
                            idb.linktype,
                            idb.ts_resolution().unwrap_or(1_000_000),
                            idb.if_tsoffset,
                        ));
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        let (lt, res, off) = ifaces.get(epb.if_id as usize).copied().unwrap_or((
                            Linktype::ETHERNET,
                            1_000_000,
                            0,
                        ));
                        let (s, frac) = epb.decode_ts(off.max(0) as u64, res);
                        let nanos = (u128::from(frac) * 1_000_000_000 / u128::from(res.max(1))) as u32;
                        let data = epb.data.get(..epb.caplen as usize).unwrap_or(epb.data);
                        f(Timestamp::new(i64::from(s), nanos), lt, data);
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                        let lt = ifaces.first().map_or(Linktype::ETHERNET, |i| i.0);
                        f(Timestamp::default(), lt, spb.data);
                    }
                    _ => {}
                }
                reader.consume(offset);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => {
                if reader.refill().is_err() {
                    break;
                }
            }
            Err(e) => return Err(format!("{}: {e:?}", path.display())),
        }
    }
    Ok(())
}

fn tsf(ts: Timestamp) -> f64 {
    ts.secs as f64 + f64::from(ts.nanos) / 1e9
}

/// Run one detector over one capture.
pub fn run_file(path: &Path, cfg: &DetectConfig) -> Result<FileRun, String> {
    let mut det = DnsExfilDetector::new(cfg);
    let mut out: Vec<Event> = Vec::new();
    let mut run = FileRun::default();
    let mut flows: HashSet<(IpAddr, IpAddr, u16, u16, u8)> = HashSet::new();
    let mut last_tick: i64 = i64::MIN;
    let mut name_buf = String::new();
    let mut last_ts = Timestamp::default();
    for_each_frame(path, |ts, lt, data| {
        last_ts = last_ts.max(ts);
        if run.first_ts.is_none() {
            run.first_ts = Some(tsf(ts));
        }
        if ts.secs != last_tick {
            last_tick = ts.secs;
            det.tick(ts, false, &mut out);
        }
        let Some((src, dst, proto, sp, dp, syn, payload)) = l3l4(lt, data) else { return };
        if proto == 17 && (sp == 53 || dp == 53) {
            if let Some(o) = observation(ts, src, dst, sp, dp, payload, &mut name_buf) {
                run.dns_messages += 1;
                if !o.is_response {
                    run.queries += 1;
                    run.query_log.push((tsf(ts), o.client, o.qname.to_ascii_lowercase()));
                }
                det.observe(&o, &mut out);
            }
        } else if (proto == 6 && syn)
            || (proto == 17 && flows.len() < 1_000_000 && flows.insert((src, dst, sp, dp, proto)))
        {
            det.on_flow_start(ts, src, dst, dp);
        }
    })?;
    det.tick(last_ts, true, &mut out);
    for ev in out {
        if let EventBody::Alert { alert } = ev.body {
            let ex = alert.explanation.clone().unwrap_or_default();
            run.alerts.push(SeenAlert {
                ts: tsf(ev.timestamp),
                client: ev.src_ip.unwrap_or(IpAddr::from([0, 0, 0, 0])),
                domain: ex["domain"].as_str().unwrap_or("").to_string(),
                sid: alert.signature_id,
                severity: alert.severity,
                update: ex["update"].as_u64().unwrap_or(0),
                episode: ex["episode_id"].as_u64().unwrap_or(0),
                explanation: ex,
            });
        }
    }
    Ok(run)
}

/// One ground-truth session.
#[derive(Debug, Clone)]
pub struct Truth {
    pub file: String,
    pub client: IpAddr,
    pub domain: String,
    pub tool: String,
    pub variant: String,
    pub bytes: u64,
}

pub fn read_truth(dir: &Path) -> Vec<Truth> {
    let Ok(s) = std::fs::read_to_string(dir.join("truth.tsv")) else { return Vec::new() };
    s.lines()
        .skip(1)
        .filter_map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            Some(Truth {
                file: c.first()?.to_string(),
                client: c.get(1)?.parse().ok()?,
                domain: c.get(2)?.to_ascii_lowercase(),
                tool: c.get(3)?.to_string(),
                variant: c.get(4)?.to_string(),
                bytes: c.get(5)?.parse().unwrap_or(0),
            })
        })
        .collect()
}

pub fn read_traps(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("traps.tsv"))
        .map(|s| s.lines().skip(1).map(|l| l.trim().to_ascii_lowercase()).filter(|l| !l.is_empty()).collect())
        .unwrap_or_default()
}

fn dom_match(alert_domain: &str, name: &str) -> bool {
    name == alert_domain || name.ends_with(&format!(".{alert_domain}"))
}

/// Per-session outcome.
#[derive(Debug, Clone)]
pub struct SessionResult {
    pub truth: Truth,
    pub queries: usize,
    pub alerted: bool,
    pub secs_to_alert: f64,
    pub queries_to_alert: usize,
    pub bytes_before_alert: f64,
}

/// Aggregate of a directory set.
#[derive(Debug, Default)]
pub struct Report {
    pub sessions: Vec<SessionResult>,
    pub benign_queries: u64,
    pub benign_episodes: Vec<SeenAlert>,
    pub trap_total: usize,
    pub trap_fired: BTreeMap<String, usize>,
    pub files: usize,
}

pub fn pcaps_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Evaluate directories that carry truth.tsv (attack files) and/or traps.tsv
/// (benign files: every file without a truth row is benign).
pub fn evaluate(dirs: &[PathBuf], cfg: &DetectConfig) -> Result<Report, String> {
    let mut rep = Report::default();
    for dir in dirs {
        let truth = read_truth(dir);
        let traps = read_traps(dir);
        let mut trap_seen: HashMap<String, usize> = traps.iter().map(|t| (t.clone(), 0)).collect();
        for path in pcaps_in(dir) {
            let fname = path.file_name().and_then(|f| f.to_str()).unwrap_or("").to_string();
            let run = run_file(&path, cfg)?;
            rep.files += 1;
            let sessions: Vec<&Truth> = truth.iter().filter(|t| t.file == fname).collect();
            if sessions.is_empty() {
                rep.benign_queries += run.queries;
                let mut eps = HashSet::new();
                for a in &run.alerts {
                    if eps.insert(a.episode) {
                        rep.benign_episodes.push(a.clone());
                    }
                    for t in &traps {
                        if dom_match(&a.domain, t) || dom_match(t, &a.domain) {
                            *trap_seen.entry(t.clone()).or_default() += 1;
                        }
                    }
                }
                continue;
            }
            for t in sessions {
                let qs: Vec<f64> = run
                    .query_log
                    .iter()
                    .filter(|(_, c, n)| *c == t.client && dom_match(&t.domain, n))
                    .map(|(ts, _, _)| *ts)
                    .collect();
                let first_alert = run
                    .alerts
                    .iter()
                    .filter(|a| {
                        a.client == t.client
                            && (dom_match(&a.domain, &t.domain) || dom_match(&t.domain, &a.domain))
                    })
                    .map(|a| a.ts)
                    .fold(f64::INFINITY, f64::min);
                let start = qs.first().copied().unwrap_or(0.0);
                let alerted = first_alert.is_finite();
                let qn =
                    if alerted { qs.iter().filter(|&&x| x <= first_alert + 1e-9).count() } else { qs.len() };
                rep.sessions.push(SessionResult {
                    truth: t.clone(),
                    queries: qs.len(),
                    alerted,
                    secs_to_alert: if alerted { first_alert - start } else { f64::NAN },
                    queries_to_alert: qn,
                    bytes_before_alert: if qs.is_empty() {
                        0.0
                    } else {
                        t.bytes as f64 * qn as f64 / qs.len() as f64
                    },
                });
            }
        }
        rep.trap_total += trap_seen.len();
        for (t, n) in trap_seen {
            if n > 0 {
                rep.trap_fired.insert(t, n);
            }
        }
    }
    Ok(rep)
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// The table, one line per tool (+ variant for the real tools).
pub fn table(rep: &Report) -> String {
    let mut groups: BTreeMap<String, Vec<&SessionResult>> = BTreeMap::new();
    for s in &rep.sessions {
        let key = if matches!(s.truth.tool.as_str(), "iodine" | "dns2tcp") {
            format!("{} {}", s.truth.tool, s.truth.variant)
        } else {
            s.truth.tool.clone()
        };
        groups.entry(key).or_default().push(s);
    }
    let mut out = String::new();
    out.push_str(&format!(
        "{:<24} {:>9} {:>8} {:>14} {:>14} {:>18}\n",
        "tool", "sessions", "recall", "t_alert s p50/max", "queries p50/max", "bytes_before p50/max"
    ));
    for (k, v) in &groups {
        let hit: Vec<&&SessionResult> = v.iter().filter(|s| s.alerted).collect();
        let mut t: Vec<f64> = hit.iter().map(|s| s.secs_to_alert).collect();
        let mut q: Vec<f64> = hit.iter().map(|s| s.queries_to_alert as f64).collect();
        let mut b: Vec<f64> = hit.iter().map(|s| s.bytes_before_alert).collect();
        out.push_str(&format!(
            "{:<24} {:>9} {:>7.1}% {:>7.1}/{:<7.1} {:>6.0}/{:<7.0} {:>8.0}/{:<8.0}\n",
            k,
            v.len(),
            100.0 * hit.len() as f64 / v.len().max(1) as f64,
            pct(&mut t, 0.5),
            pct(&mut t, 1.0),
            pct(&mut q, 0.5),
            pct(&mut q, 1.0),
            pct(&mut b, 0.5),
            pct(&mut b, 1.0)
        ));
    }
    let fp = rep.benign_episodes.len();
    out.push_str(&format!(
        "benign: {} queries, {} alert episodes = {:.2} FP per million queries\n",
        rep.benign_queries,
        fp,
        fp as f64 * 1e6 / (rep.benign_queries.max(1) as f64)
    ));
    for a in &rep.benign_episodes {
        out.push_str(&format!(
            "  FP: {} {} sid {} score {}\n",
            a.client, a.domain, a.sid, a.explanation["score"]
        ));
    }
    out.push_str(&format!(
        "trap domains: {} of {} under threshold ({:.1}%)",
        rep.trap_total - rep.trap_fired.len(),
        rep.trap_total,
        100.0 * (rep.trap_total - rep.trap_fired.len()) as f64 / rep.trap_total.max(1) as f64
    ));
    if !rep.trap_fired.is_empty() {
        out.push_str(&format!(" fired: {:?}", rep.trap_fired.keys().collect::<Vec<_>>()));
    }
    out.push('\n');
    out
}
