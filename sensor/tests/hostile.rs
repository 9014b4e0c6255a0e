//! Hostile input and memory bounds: nothing panics, every problem is a clear
//! error or a counted anomaly, and the caps hold.

mod common;

use centinela::config::Config;
use centinela::source::SourceError;
use common::{cases, last_stats, pcap, records, run_cfg, tcp, temp_file, udp};

fn anomalies(recs: &[serde_json::Value], name: &str) -> usize {
    recs.iter().filter(|r| r["event_type"] == "anomaly" && r["anomaly"]["event"] == name).count()
}

#[test]
fn truncated_captures_keep_what_was_read_and_say_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, case) = cases().into_iter().find(|(n, _)| n == "modbus-polling").expect("modbus-polling case");
    let full = std::fs::read(&case).expect("read case");
    for cut in [0, 10, 24, 30, 100, full.len() / 3, full.len() / 2, full.len() - 1] {
        let p = temp_file(&dir, "cut.pcap", &full[..cut]);
        let (out, r) = run_cfg(&[p], 2, Config::default());
        if cut > 24 + 16 {
            assert!(
                matches!(r.errors.as_slice(), [(_, SourceError::Truncated { .. })]),
                "cut {cut}: {:?}",
                r.errors
            );
            assert!(!out.is_empty(), "cut {cut}: no records from the readable part");
        }
    }
}

#[test]
fn garbage_huge_caplen_and_unknown_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = 0x1234_5678_9abc_def0u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let junk: Vec<u8> = (0..100_000).map(|_| next() as u8).collect();
    let p = temp_file(&dir, "junk.pcap", &junk);
    let (_, r) = run_cfg(&[p], 1, Config::default());
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].1, SourceError::NotPcap);
    // A valid header followed by garbage records.
    let mut bad = pcap(1, &[]);
    bad.extend_from_slice(&junk[..5000]);
    let p = temp_file(&dir, "badrec.pcap", &bad);
    let (_, r) = run_cfg(&[p], 1, Config::default());
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    // Huge caplen.
    let mut huge = pcap(1, &[(1, 0, tcp([10, 0, 0, 1], [10, 0, 0, 2], 1, 2, 0, "S", b""))]);
    huge[24 + 8..24 + 12].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    let p = temp_file(&dir, "huge.pcap", &huge);
    let (_, r) = run_cfg(&[p], 1, Config::default());
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    // Missing file.
    let (_, r) = run_cfg(&[dir.path().join("absent.pcap")], 1, Config::default());
    assert!(matches!(r.errors.as_slice(), [(_, SourceError::Io(_))]));
}

#[test]
fn random_bytes_in_valid_records_never_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for lt in [1u32, 0, 12, 101, 113, 228, 229, 276] {
        let mut pkts = Vec::new();
        for i in 0..2000u32 {
            let base = match i % 3 {
                0 => tcp(
                    [10, 0, 0, 1],
                    [10, 0, 0, 2],
                    1000,
                    502,
                    i * 7,
                    "A",
                    b"\x00\x01\x00\x00\x00\x06\x01\x03\x00\x00\x00\x0a",
                ),
                1 => udp(
                    [10, 0, 0, 3],
                    [10, 0, 0, 4],
                    5353,
                    53,
                    b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00",
                ),
                _ => (0..(next() % 200) as usize).map(|_| next() as u8).collect(),
            };
            let mut p = base;
            let flips = next() % 6;
            for _ in 0..flips {
                if !p.is_empty() {
                    let at = (next() as usize) % p.len();
                    p[at] ^= next() as u8;
                }
            }
            let cut = if next() % 4 == 0 && !p.is_empty() { (next() as usize) % p.len() } else { p.len() };
            p.truncate(cut);
            pkts.push((1_700_000_000 + i / 100, i % 1_000_000, p));
        }
        let f = temp_file(&dir, "fuzz.pcap", &pcap(lt, &pkts));
        let (out, r) = run_cfg(&[f], 2, Config::default());
        assert!(r.errors.is_empty(), "linktype {lt}: {:?}", r.errors);
        let recs = records(&out);
        let st = last_stats(&recs);
        assert_eq!(st["decoder"]["pkts"], 2000, "linktype {lt}");
    }
}

#[test]
fn unknown_link_type_is_counted_and_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pkts: Vec<_> = (0..50u32).map(|i| (1_700_000_000, i, vec![0u8; 60])).collect();
    let f = temp_file(&dir, "lt147.pcap", &pcap(147, &pkts));
    let (out, r) = run_cfg(&[f], 1, Config::default());
    assert!(r.errors.is_empty());
    let recs = records(&out);
    // Rate limited to anomaly.per_second records per second, the rest counted.
    assert_eq!(anomalies(&recs, "decoder.unsupported_linktype"), 10);
    let st = last_stats(&recs);
    assert_eq!(st["anomaly"]["by_name"]["decoder.unsupported_linktype"], 50);
    assert_eq!(st["anomaly"]["suppressed"], 40);
}

fn fragment(id: u16, offset_units: u16, more: bool, payload: &[u8]) -> Vec<u8> {
    let mut v = udp([10, 9, 0, 1], [10, 9, 0, 2], 1, 2, b"");
    v.truncate(14);
    let total = (20 + payload.len()) as u16;
    let flags_off = (if more { 0x2000 } else { 0 }) | offset_units;
    let mut h = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 10, 9, 0, 1, 10, 9, 0, 2];
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h[4..6].copy_from_slice(&id.to_be_bytes());
    h[6..8].copy_from_slice(&flags_off.to_be_bytes());
    v.extend_from_slice(&h);
    v.extend_from_slice(payload);
    v
}

#[test]
fn a_capture_of_only_fragments_stays_within_the_defrag_caps() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 20,000 first fragments that are never completed, plus overlapping
    // fragments with different data.
    let mut pkts = Vec::new();
    for i in 0..20_000u32 {
        pkts.push((1_700_000_000 + i / 1000, i % 1000, fragment(i as u16, 0, true, &[0xab; 64])));
    }
    pkts.push((1_700_000_030, 0, fragment(7, 0, true, &[1; 16])));
    pkts.push((1_700_000_030, 1, fragment(7, 1, true, &[2; 16])));
    let f = temp_file(&dir, "frags.pcap", &pcap(1, &pkts));
    let mut cfg = Config::default();
    cfg.decode.defrag_max_datagrams = 1000;
    let (out, r) = run_cfg(&[f], 2, cfg);
    assert!(r.errors.is_empty());
    let recs = records(&out);
    let st = last_stats(&recs);
    assert_eq!(st["defrag"]["fragments"], 20_002);
    assert!(st["defrag"]["cap_drops"].as_u64().unwrap_or(0) >= 18_000, "{}", st["defrag"]);
    assert_eq!(st["defrag"]["reassembled"], 0);
    assert!(anomalies(&recs, "decoder.ipv4.frag_overlap") >= 1);
    assert_eq!(st["flow"]["created"], 0, "fragments alone create no flow");
}

#[test]
fn overlapping_segments_with_different_data_raise_an_anomaly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = [10, 1, 0, 1];
    let s = [10, 1, 0, 2];
    let req = b"\x00\x01\x00\x00\x00\x06\x01\x03\x00\x00\x00\x0a";
    let evil = b"\x00\x01\x00\x00\x00\x06\x01\x06\x00\x00\x00\x0a";
    let pkts = vec![
        (1_700_000_000, 0, tcp(c, s, 40000, 502, 100, "S", b"")),
        (1_700_000_000, 1, tcp(s, c, 502, 40000, 500, "SA", b"")),
        (1_700_000_000, 2, tcp(c, s, 40000, 502, 101, "A", b"")),
        // Out of order: the tail first, then an overlapping conflicting copy.
        (1_700_000_000, 3, tcp(c, s, 40000, 502, 107, "A", &req[6..])),
        (1_700_000_000, 4, tcp(c, s, 40000, 502, 105, "A", &evil[4..])),
        (1_700_000_000, 5, tcp(c, s, 40000, 502, 101, "A", &req[..6])),
        // An exact retransmission with different bytes.
        (1_700_000_000, 6, tcp(c, s, 40000, 502, 101, "A", &evil[..6])),
    ];
    let f = temp_file(&dir, "overlap.pcap", &pcap(1, &pkts));
    let (out, _) = run_cfg(&[f], 1, Config::default());
    let recs = records(&out);
    assert!(anomalies(&recs, "stream.overlap_different_data") >= 1, "{recs:#?}");
    let st = last_stats(&recs);
    assert!(st["tcp"]["overlap_different_data"].as_u64().unwrap_or(0) >= 1);
    // First copy wins: the Modbus request is the read (function 3).
    let mb: Vec<_> = recs.iter().filter(|r| r["event_type"] == "modbus").collect();
    assert!(mb.iter().all(|r| r["modbus"]["request"]["function_raw"] != 6), "{mb:#?}");
}

fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_million_flows_and_endless_out_of_order_segments_stay_under_the_caps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("flood.pcap");
    {
        use std::io::Write;
        let mut w = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
        w.write_all(&pcap(1, &[])).expect("write");
        let mut rec = |sec: u32, usec: u32, d: &[u8]| {
            w.write_all(&sec.to_le_bytes()).expect("write");
            w.write_all(&usec.to_le_bytes()).expect("write");
            w.write_all(&(d.len() as u32).to_le_bytes()).expect("write");
            w.write_all(&(d.len() as u32).to_le_bytes()).expect("write");
            w.write_all(d).expect("write");
        };
        // 1,000,000 distinct UDP flows in 10 s of packet time.
        let mut frame = udp([10, 0, 0, 0], [192, 168, 0, 1], 0, 9999, b"x");
        for i in 0..1_000_000u32 {
            let b = i.to_be_bytes();
            // source address 10.x.y.z and port vary per flow
            frame[26..30].copy_from_slice(&[10, b[1], b[2], b[3]]);
            frame[34..36].copy_from_slice(&(1024 + (i % 60_000) as u16).to_be_bytes());
            rec(1_700_000_000 + i / 100_000, i % 100_000, &frame);
        }
        // One TCP flow with endless out-of-order segments (every other one missing).
        let (c, s) = ([10, 2, 0, 1], [10, 2, 0, 2]);
        rec(1_700_000_010, 0, &tcp(c, s, 40000, 502, 0, "S", b""));
        for i in 0..20_000u32 {
            rec(1_700_000_010, i + 1, &tcp(c, s, 40000, 502, 1 + (2 * i + 1) * 100, "A", &[7u8; 100]));
        }
    }
    let mut cfg = Config::default();
    cfg.flow.max_flows = 10_000;
    cfg.flow.records = false;
    cfg.stream.max_ooo_kib_per_flow = 16;
    cfg.stream.max_ooo_mib = 1;
    let before = peak_rss_kib();
    let (out, r) = run_cfg(&[path], 2, cfg);
    assert!(r.errors.is_empty());
    let recs = records(&out);
    let st = last_stats(&recs);
    let evicted = st["flow"]["evicted"].as_u64().unwrap_or(0);
    assert!(evicted >= 1_000_000 - 10_000, "{}", st["flow"]);
    assert!(st["flow"]["created"].as_u64().unwrap_or(0) >= 1_000_001);
    assert!(st["tcp"]["reassembly_overflow"].as_u64().unwrap_or(0) > 0, "{}", st["tcp"]);
    assert!(st["tcp"]["gaps"].as_u64().unwrap_or(0) > 0);
    // Every periodic stats record shows the caps holding.
    for s in recs.iter().filter(|r| r["event_type"] == "stats") {
        assert!(s["stats"]["flow"]["active"].as_u64().unwrap_or(u64::MAX) <= 10_000);
        assert!(s["stats"]["tcp"]["reassembly_memory"].as_u64().unwrap_or(u64::MAX) <= 1 << 20);
    }
    // Evictions are reported, rate limited, and counted.
    assert!(anomalies(&recs, "flow.evicted") >= 1);
    assert_eq!(st["anomaly"]["by_name"]["flow.evicted"].as_u64(), Some(evicted));
    if let (Some(b), Some(a)) = (before, peak_rss_kib()) {
        // Without the cap 1 M flows take several hundred MiB.
        assert!(a.saturating_sub(b) < 200 * 1024, "peak RSS grew by {} KiB", a.saturating_sub(b));
    }
}

/// A TCP flow no parser recognises is bypassed once probing gives up: its
/// segments are counted but not reassembled, what it had buffered out of
/// order is released at once, and its flow record is unaffected. A flow on
/// a parsed port with the same segments is still reassembled.
#[test]
fn flow_without_a_parser_is_bypassed_not_reassembled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = [10, 3, 0, 1];
    let s = [10, 3, 0, 2];
    let line = b"GET /index.html HTTP/1.1\r\n";
    let mut pkts = vec![
        (1_700_000_000, 0, tcp(c, s, 40000, 8080, 0, "S", b"")),
        (1_700_000_000, 1, tcp(s, c, 8080, 40000, 500, "SA", b"")),
        (1_700_000_000, 2, tcp(c, s, 40000, 8080, 1, "A", b"")),
        // Buffered out of order while the protocol is still undecided.
        (1_700_000_000, 3, tcp(c, s, 40000, 8080, 10_001, "A", &[b'x'; 900])),
    ];
    let mut seq = 1u32;
    for usec in 4..16 {
        pkts.push((1_700_000_000, usec, tcp(c, s, 40000, 8080, seq, "A", line)));
        seq += line.len() as u32;
    }
    // Later, in the next stats interval: one more segment, then the close.
    pkts.push((1_700_000_005, 0, tcp(c, s, 40000, 8080, seq, "A", line)));
    pkts.push((1_700_000_005, 1, tcp(c, s, 40000, 8080, seq + line.len() as u32, "FA", b"")));
    pkts.push((1_700_000_005, 2, tcp(s, c, 8080, 40000, 501, "FA", b"")));
    let data_segments = 1 + 12 + 1;
    let f = temp_file(&dir, "bypass.pcap", &pcap(1, &pkts));
    let mut cfg = Config::default();
    cfg.stats.interval_s = 1;
    let (out, r) = run_cfg(&[f], 1, cfg);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let recs = records(&out);
    let stats: Vec<_> =
        recs.iter().filter(|r| r["event_type"] == "stats").map(|r| &r["stats"]["tcp"]).collect();
    // The periodic record taken while the flow was alive: bypassed, and the
    // out-of-order bytes buffered during probing already released.
    let mid = stats.first().expect("a periodic stats record");
    assert!(mid["bypassed_segments"].as_u64().unwrap_or(0) >= 1, "{mid}");
    assert_eq!(mid["reassembly_memory"], 0, "{mid}");
    let st = last_stats(&recs);
    let tcp_st = &st["tcp"];
    assert_eq!(tcp_st["segments"], data_segments, "{tcp_st}");
    let bypassed = tcp_st["bypassed_segments"].as_u64().unwrap_or(0);
    assert!(bypassed >= 8 && bypassed < data_segments, "{tcp_st}");
    // Nothing reassembled past the probe, so no gap is declared for the hole.
    assert_eq!(tcp_st["gaps"], 0, "{tcp_st}");
    assert_eq!(anomalies(&recs, "stream.gap"), 0);
    let flow = recs.iter().find(|r| r["event_type"] == "flow").expect("flow record");
    assert_eq!(flow["flow"]["pkts_toserver"], 2 + data_segments + 1, "{flow}");
    assert_eq!(flow["flow"]["pkts_toclient"], 2, "{flow}");
    assert!(flow.get("app_proto").is_none_or(|p| p != "modbus"), "{flow}");

    // The same segments to the Modbus port are reassembled (and resync).
    let pkts502: Vec<_> = pkts
        .iter()
        .map(|(sec, usec, frame)| {
            let mut f = frame.clone();
            for at in [34usize, 36] {
                if f[at..at + 2] == 8080u16.to_be_bytes() {
                    f[at..at + 2].copy_from_slice(&502u16.to_be_bytes());
                }
            }
            (*sec, *usec, f)
        })
        .collect();
    let f = temp_file(&dir, "parsed.pcap", &pcap(1, &pkts502));
    let (out, _) = run_cfg(&[f], 1, Config::default());
    let st = last_stats(&records(&out));
    assert_eq!(st["tcp"]["bypassed_segments"], 0, "{}", st["tcp"]);
    assert_eq!(st["tcp"]["segments"], data_segments, "{}", st["tcp"]);
    assert!(st["tcp"]["reassembled_bytes"].as_u64().unwrap_or(0) >= 12 * line.len() as u64, "{}", st["tcp"]);
}
