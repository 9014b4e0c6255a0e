use super::*;
use std::net::Ipv4Addr;

fn obs(t_ms: i64, client: u8, name: &str, qtype: u16) -> DnsObservation {
    DnsObservation {
        ts: Timestamp::from_micros(1_700_000_000 + t_ms / 1000, ((t_ms % 1000) * 1000) as u32),
        client: IpAddr::V4(Ipv4Addr::new(10, 0, 0, client)),
        client_port: 40000,
        server: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 53)),
        flow_id: 7,
        community_id: "1:abc".into(),
        pcap_cnt: None,
        is_response: false,
        id: 1,
        qname: name.into(),
        qtype,
        rcode: 0,
        message_len: (name.len() + 30) as u16,
        answer_addrs: Vec::new(),
        answer_rdata_len: 0,
        answer_count: 0,
    }
}

fn response(q: &DnsObservation, addrs: Vec<IpAddr>) -> DnsObservation {
    let mut r = q.clone();
    r.is_response = true;
    r.answer_count = addrs.len() as u16;
    r.answer_rdata_len = 4 * addrs.len() as u32;
    r.answer_addrs = addrs;
    r
}

/// Deterministic pseudo-random generator (xorshift) for test payloads.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn b32(&mut self, n: usize) -> String {
        const A: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
        (0..n).map(|_| A[(self.next() % 32) as usize] as char).collect()
    }
    fn hex(&mut self, n: usize) -> String {
        (0..n).map(|_| b"0123456789abcdef"[(self.next() % 16) as usize] as char).collect()
    }
}

fn alerts_of(out: &[Event]) -> Vec<&Alert> {
    out.iter()
        .filter_map(|e| match &e.body {
            EventBody::Alert { alert } => Some(alert),
            _ => None,
        })
        .collect()
}

#[test]
fn high_rate_base32_tunnel_alerts_fast_and_once() {
    let mut d = DnsExfilDetector::new(&DetectConfig::default());
    let mut out = Vec::new();
    let mut rng = Rng(42);
    let mut first = None;
    for i in 0..400 {
        let name = format!("{}.{}.t.tunnel-example.com", rng.b32(60), rng.b32(40));
        d.observe(&obs(i * 100, 1, &name, 10), &mut out);
        if first.is_none() && !out.is_empty() {
            first = Some(i);
        }
    }
    let first = first.expect("tunnel alerted");
    assert!(first < 50, "first alert after {first} queries");
    let a = alerts_of(&out);
    // The first alert, plus at most one re-emission when the severity rose.
    assert!(a.len() <= 2, "one alert per episode within the update interval: {}", a.len());
    let ex = a[0].explanation.as_ref().expect("explanation");
    assert_eq!(ex["domain"], "tunnel-example.com");
    assert!(ex["estimated_bytes_exfiltrated"].as_f64().unwrap_or(0.0) > 100.0);
    assert!(!ex["fired"].as_array().expect("fired").is_empty());
    assert_eq!(a[0].signature_id, sid::BURST);
    assert!(a.iter().all(|x| x.explanation.as_ref().map(|e| &e["episode_id"]) == Some(&ex["episode_id"])));
    // Final flush re-emits the updated figures once.
    out.clear();
    d.tick(Timestamp::from_micros(1_700_000_100, 0), true, &mut out);
    let a = alerts_of(&out);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].explanation.as_ref().expect("ex")["query_count"], 400);
}

#[test]
fn updates_are_rate_limited_by_packet_time() {
    let mut cfg = DetectConfig::default();
    cfg.dns_exfil.update_interval_s = 60;
    let mut d = DnsExfilDetector::new(&cfg);
    let mut out = Vec::new();
    let mut rng = Rng(7);
    // 10 minutes at 1 q/s.
    for i in 0..600 {
        let name = format!("{}.x.exfil-example.net", rng.hex(62));
        d.observe(&obs(i * 1000, 2, &name, 16), &mut out);
    }
    let n = alerts_of(&out).len();
    assert!((9..=11).contains(&n), "{n} alerts for 10 min with 60 s updates");
    let ids: HashSet<u64> = alerts_of(&out)
        .iter()
        .filter_map(|a| a.explanation.as_ref().and_then(|e| e["episode_id"].as_u64()))
        .collect();
    assert_eq!(ids.len(), 1, "one episode");
}

#[test]
fn ordinary_browsing_is_quiet() {
    let mut d = DnsExfilDetector::new(&DetectConfig::default());
    let mut out = Vec::new();
    let hosts = ["www", "mail", "api", "static", "cdn", "login", "images", "news", "shop", "docs"];
    let doms = ["example.com", "siemens.com", "bbc.co.uk", "github.io", "wikipedia.org", "plant.corp"];
    for i in 0..20000i64 {
        let n = format!("{}.{}", hosts[(i % 10) as usize], doms[(i % 6) as usize]);
        let q = obs(i * 250, (i % 50) as u8, &n, 1);
        d.observe(&q, &mut out);
        d.observe(&response(&q, vec![IpAddr::V4(Ipv4Addr::new(93, 184, 216, (i % 200) as u8))]), &mut out);
    }
    assert!(out.is_empty(), "{out:?}");
}

fn beacon_run(connect: bool, idle: Ipv4Addr) -> Option<i64> {
    let mut d = DnsExfilDetector::new(&DetectConfig::default());
    let mut out = Vec::new();
    let mut rng = Rng(99);
    let mut t = 0i64;
    let name = "4f2a9c1e.ns1.beacon-example.org";
    for _ in 0..150 {
        let q = obs(t, 3, name, 1);
        d.observe(&q, &mut out);
        d.observe(&response(&q, vec![IpAddr::V4(idle)]), &mut out);
        if connect {
            d.on_flow_start(q.ts, q.client, IpAddr::V4(idle), 443);
        }
        if !out.is_empty() {
            return Some(t / 1000);
        }
        // 60 s sleep, 20 % jitter.
        t += 48_000 + (rng.next() % 12_000) as i64;
    }
    None
}

#[test]
fn heartbeat_beacon_alerts_within_two_hours() {
    let t = beacon_run(false, Ipv4Addr::new(0, 0, 0, 0)).expect("beacon alerted");
    assert!(t <= 7200, "alert after {t} s");
    let t =
        beacon_run(false, Ipv4Addr::new(74, 125, 196, 113)).expect("beacon with public idle address alerted");
    assert!(t <= 7200, "alert after {t} s");
}

#[test]
fn periodic_lookup_followed_by_connections_is_quiet() {
    assert_eq!(beacon_run(true, Ipv4Addr::new(74, 125, 196, 113)), None);
}

#[test]
fn allowlist_lowers_but_does_not_exempt() {
    let run = |allow: bool, rate_ms: i64, n: i64| {
        let mut cfg = DetectConfig::default();
        cfg.dns_exfil.allowlist_enabled = allow;
        let mut d = DnsExfilDetector::new(&cfg);
        let mut out = Vec::new();
        let mut rng = Rng(5);
        for i in 0..n {
            let name = format!("{}.{}.t.avqs.mcafee.com", rng.b32(55), rng.b32(55));
            d.observe(&obs(i * rate_ms, 4, &name, 16), &mut out);
        }
        alerts_of(&out).len()
    };
    // A moderate stream alerts without the allowlist and not with it.
    assert!(run(false, 3000, 25) > 0);
    assert_eq!(run(true, 3000, 25), 0);
    // A real tunnel under an allowlisted name still alerts.
    assert!(run(true, 50, 2000) > 0);
}

#[test]
fn deterministic_output() {
    let go = || {
        let mut d = DnsExfilDetector::new(&DetectConfig::default());
        let mut out = Vec::new();
        let mut rng = Rng(1);
        for i in 0..3000 {
            let name = format!("{}.d{}.example{}.com", rng.b32(50), i % 3, i % 7);
            d.observe(&obs(i * 20, (i % 5) as u8, &name, 16), &mut out);
            d.tick(obs(i * 20, 0, "", 1).ts, false, &mut out);
        }
        d.tick(Timestamp::from_micros(1_800_000_000, 0), true, &mut out);
        serde_json::to_string(&out).expect("json")
    };
    let a = go();
    assert!(a.contains("alert"));
    assert_eq!(a, go());
}

#[test]
fn memory_is_bounded_at_a_scaled_cap() {
    // 1/16 of the production scale: 62,500 pairs cap, 125,000 distinct pairs offered.
    let mut cfg = DetectConfig::default();
    cfg.dns_exfil.max_pairs = 62_500;
    cfg.dns_exfil.max_suspects = 512;
    cfg.dns_exfil.max_resolved = 16_384;
    let mut d = DnsExfilDetector::new(&cfg);
    let mut out = Vec::new();
    let mut rng = Rng(3);
    for i in 0..125_000i64 {
        let client = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + (i % 4000) as u32));
        let name = if i % 10 == 0 { format!("{}.s{i}.org", rng.b32(40)) } else { format!("www.site{i}.com") };
        let mut q = obs(i, 0, &name, 1);
        q.client = client;
        d.observe(&q, &mut out);
        d.observe(&response(&q, vec![IpAddr::V4(Ipv4Addr::from(i as u32))]), &mut out);
    }
    assert!(d.pairs() <= 62_500);
    let st = d.stats();
    assert!(st["pairs_evicted"].as_u64().unwrap_or(0) > 0);
    assert!(st["suspects"].as_u64().unwrap_or(u64::MAX) <= 512);
    let per_pair = d.memory() as f64 / 62_500.0;
    // Scaled to 1 M pairs (with the default suspect and resolved-address caps
    // accounted separately) the light tier must fit well under 256 MB.
    assert!(per_pair * 1e6 < 200e6, "{per_pair} bytes per pair");
}

#[test]
fn hostile_names_do_not_panic() {
    let mut d = DnsExfilDetector::new(&DetectConfig::default());
    let mut out = Vec::new();
    for (i, n) in ["", ".", "\\", "\\999\\", "a..b", &"\\255".repeat(400), &"x.".repeat(600), "_.__.___"]
        .iter()
        .enumerate()
    {
        d.observe(&obs(i as i64, 1, n, 0), &mut out);
        d.observe(&response(&obs(i as i64, 1, n, 0), vec![]), &mut out);
    }
    d.tick(Timestamp::from_micros(0, 0), false, &mut out);
    d.tick(Timestamp::from_micros(i64::MAX / 2_000_000, 0), true, &mut out);
    // Hostile timestamps: extremes in both directions, out of order.
    let mut rng = Rng(11);
    for secs in [i64::MAX, i64::MIN, 0, i64::MAX, -1, i64::MIN] {
        let mut q = obs(0, 9, &format!("{}.x.example.com", rng.b32(60)), 16);
        q.ts = Timestamp { secs, nanos: 999_999_999 };
        d.observe(&q, &mut out);
        d.on_flow_start(q.ts, q.client, q.server, 443);
        d.tick(q.ts, false, &mut out);
    }
    d.tick(Timestamp { secs: i64::MIN, nanos: 0 }, true, &mut out);
}

#[test]
fn worst_case_memory_at_defaults_fits_the_budget() {
    let cfg = DetectConfig::default();
    assert_eq!(cfg.dns_exfil.max_pairs, 1_000_000);
    let w = DnsExfilDetector::worst_case_memory(&cfg);
    assert!(w <= 256 * 1024 * 1024, "{w} bytes for 1 M pairs");
    // The estimate dominates what a filled detector reports.
    let mut small = DetectConfig::default();
    small.dns_exfil.max_pairs = 2_000;
    small.dns_exfil.max_suspects = 64;
    let mut d = DnsExfilDetector::new(&small);
    let mut out = Vec::new();
    let mut rng = Rng(8);
    for i in 0..20_000i64 {
        let name = format!("{}.s{}.org", rng.b32(50), i % 3000);
        d.observe(&obs(i, (i % 200) as u8, &name, 16), &mut out);
    }
    assert!(d.memory() <= DnsExfilDetector::worst_case_memory(&small), "{} > bound", d.memory());
}

#[test]
fn random_bytes_never_panic_and_stay_bounded() {
    let mut cfg = DetectConfig::default();
    cfg.dns_exfil.max_pairs = 256;
    cfg.dns_exfil.max_suspects = 16;
    cfg.dns_exfil.max_resolved = 64;
    let mut d = DnsExfilDetector::new(&cfg);
    let mut out = Vec::new();
    let mut rng = Rng(0x5eed);
    for i in 0..20_000i64 {
        let len = (rng.next() % 300) as usize;
        // Arbitrary bytes rendered the way the app layer renders names.
        let name: String = (0..len)
            .map(|_| match (rng.next() % 256) as u8 {
                c @ (b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'=') => (c as char).to_string(),
                c => format!("\\{c:03}"),
            })
            .collect();
        let mut q = obs(i * 37, (rng.next() % 300) as u8, &name, (rng.next() % 70) as u16);
        q.is_response = rng.next().is_multiple_of(3);
        q.rcode = (rng.next() % 16) as u8;
        if q.is_response {
            q.answer_addrs = vec![IpAddr::V4(Ipv4Addr::from(rng.next() as u32))];
        }
        d.observe(&q, &mut out);
        if i % 97 == 0 {
            d.on_flow_start(q.ts, q.client, IpAddr::V4(Ipv4Addr::from(rng.next() as u32)), 443);
            d.tick(q.ts, false, &mut out);
        }
    }
    d.tick(Timestamp::from_micros(1_800_000_000, 0), true, &mut out);
    assert!(d.pairs() <= 256);
    assert!(d.memory() <= DnsExfilDetector::worst_case_memory(&cfg));
    let st = d.stats();
    assert!(st["suspects"].as_u64().unwrap_or(u64::MAX) <= 16);
    assert_eq!(st["queries"].as_u64().unwrap_or(0) + st["responses"].as_u64().unwrap_or(0), 20_000);
}
