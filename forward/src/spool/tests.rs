use super::*;
use proptest::prelude::*;

fn opts(dir: &Path, max: u64, seg: u64) -> SpoolOptions {
    SpoolOptions {
        dir: dir.to_path_buf(),
        max_bytes: max,
        segment_bytes: seg,
        priority_reserve: 0.25,
        fsync: FsyncPolicy::Batch,
        sensor_id: "s1".into(),
    }
}

fn rec(i: u64) -> Vec<u8> {
    format!(r#"{{"event_type":"flow","id":{i}}}"#).into_bytes()
}

fn id_of(r: &Record) -> u64 {
    let v: serde_json::Value = serde_json::from_slice(&r.payload).unwrap();
    v["id"].as_u64().unwrap()
}

fn last_segment(dir: &Path) -> PathBuf {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    v.sort();
    v.pop().unwrap()
}

#[test]
fn append_commit_read_ack_deletes_segments() {
    let d = tempfile::tempdir().unwrap();
    let mut s = Spool::open(opts(d.path(), 1 << 20, 4096)).unwrap();
    for i in 0..500 {
        assert_eq!(s.append(Class::Bulk, &rec(i)), Append::Stored);
    }
    // Nothing visible before commit.
    assert!(s.read(1000, 1 << 20, None).unwrap().records.is_empty() || s.committed_pos() > Pos::default());
    s.commit().unwrap();
    let segs_before = fs::read_dir(d.path()).unwrap().count();
    assert!(segs_before > 3, "{segs_before}");
    let mut next = 0;
    while s.depth() > 0 {
        let b = s.read(64, 1 << 20, None).unwrap();
        assert!(!b.records.is_empty());
        for r in &b.records {
            assert_eq!(id_of(r), next);
            next += 1;
        }
        let inf = s.begin_batch(b.end, b.records.len() as u64).unwrap();
        s.ack(inf).unwrap();
    }
    assert_eq!(next, 500);
    assert!(s.stats().segments_deleted >= 3);
    let left = fs::read_dir(d.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|e| e == "log"))
        .count();
    assert_eq!(left, 1, "only the active segment remains");
    assert_eq!(s.acked_total(), 500);
}

#[test]
fn uncommitted_records_are_invisible() {
    let d = tempfile::tempdir().unwrap();
    let mut s = Spool::open(opts(d.path(), 1 << 20, 1 << 16)).unwrap();
    s.append(Class::Bulk, &rec(1));
    assert!(s.read(10, 1 << 20, None).unwrap().records.is_empty());
    assert!(s.commit().unwrap());
    assert_eq!(s.read(10, 1 << 20, None).unwrap().records.len(), 1);
    assert!(!s.commit().unwrap());
}

#[test]
fn torn_tail_is_truncated_counted_and_rest_delivered() {
    let d = tempfile::tempdir().unwrap();
    {
        let mut s = Spool::open(opts(d.path(), 1 << 20, 1 << 16)).unwrap();
        for i in 0..10 {
            s.append(Class::Bulk, &rec(i));
        }
        s.commit().unwrap();
    }
    let seg = last_segment(d.path());
    let len = fs::metadata(&seg).unwrap().len();
    // Cut the last record in the middle of its payload.
    OpenOptions::new().write(true).open(&seg).unwrap().set_len(len - 5).unwrap();
    let mut s = Spool::open(opts(d.path(), 1 << 20, 1 << 16)).unwrap();
    assert_eq!(s.stats().torn_tails, 1);
    assert_eq!(s.stats().torn_tail_bytes, (RECORD_HEADER + rec(9).len() - 5) as u64);
    assert_eq!(s.depth(), 9);
    s.append(Class::Bulk, &rec(100));
    s.commit().unwrap();
    let b = s.read(100, 1 << 20, None).unwrap();
    let ids: Vec<u64> = b.records.iter().map(id_of).collect();
    assert_eq!(ids, vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 100]);
}

#[test]
fn garbage_tail_after_crash_is_detected() {
    let d = tempfile::tempdir().unwrap();
    {
        let mut s = Spool::open(opts(d.path(), 1 << 20, 1 << 16)).unwrap();
        s.append(Class::Priority, &rec(0));
        s.commit().unwrap();
    }
    let seg = last_segment(d.path());
    let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
    // A plausible header whose CRC is wrong.
    let mut h = record::record_header(Class::Bulk, 0, b"abc");
    h[4] ^= 0xff;
    f.write_all(&h).unwrap();
    f.write_all(b"abc").unwrap();
    drop(f);
    let mut s = Spool::open(opts(d.path(), 1 << 20, 1 << 16)).unwrap();
    assert_eq!(s.stats().torn_tails, 1);
    assert_eq!(s.stats().torn_tail_bytes, (RECORD_HEADER + 3) as u64);
    let b = s.read(100, 1 << 20, None).unwrap();
    assert_eq!(b.records.len(), 1);
    assert_eq!(b.records[0].class, Class::Priority);
}

#[test]
fn corrupt_sealed_segment_is_skipped_and_counted() {
    let d = tempfile::tempdir().unwrap();
    let mut s = Spool::open(opts(d.path(), 1 << 20, 1024)).unwrap();
    for i in 0..100 {
        s.append(Class::Bulk, &rec(i));
    }
    s.commit().unwrap();
    // Flip a payload byte of the 3rd record in the first segment.
    let first = seg_path(d.path(), 1);
    let mut data = fs::read(&first).unwrap();
    let r0 = RECORD_HEADER + rec(0).len();
    let at = SEGMENT_HEADER as usize + 2 * r0 + RECORD_HEADER + 3;
    data[at] ^= 0x01;
    fs::write(&first, &data).unwrap();
    let b = s.read(1000, 1 << 20, None).unwrap();
    let ids: Vec<u64> = b.records.iter().map(id_of).collect();
    assert_eq!(&ids[..2], &[0, 1]);
    assert!(ids[2] > 2, "rest of the corrupt segment skipped: {:?}", &ids[..4]);
    assert_eq!(*ids.last().unwrap(), 99);
    assert_eq!(s.stats().corrupt_records, 1);
    assert!(s.stats().corrupt_bytes > 0);
    // Reopening finds the same corruption at recovery time and skips it too.
    drop(s);
    let mut s = Spool::open(opts(d.path(), 1 << 20, 1024)).unwrap();
    assert!(s.stats().corrupt_bytes > 0);
    let ids2: Vec<u64> = s.read(1000, 1 << 20, None).unwrap().records.iter().map(id_of).collect();
    assert_eq!(ids, ids2);
}

#[test]
fn full_spool_drops_bulk_first_counts_and_alerts_once() {
    let d = tempfile::tempdir().unwrap();
    let max = 8192u64;
    let mut s = Spool::open(opts(d.path(), max, 4096)).unwrap();
    let mut stored_bulk = 0;
    for i in 0..400 {
        if s.append(Class::Bulk, &rec(i)) == Append::Stored {
            stored_bulk += 1;
        }
    }
    assert!(stored_bulk > 50 && stored_bulk < 400);
    assert!(s.disk_bytes() <= max * 3 / 4 + 1024, "{}", s.disk_bytes());
    assert_eq!(s.stats().dropped_bulk, 400 - stored_bulk);
    assert_eq!(s.stats().dropped_by_type.get("flow"), Some(&(400 - stored_bulk)));
    assert_eq!(s.stats().full_episodes, 1);
    // Priority records still fit in the reserve.
    let alert = br#"{"event_type":"alert","id":1}"#;
    assert_eq!(s.append(Class::Priority, alert), Append::Stored);
    // Fill the reserve: priority drops are counted separately, still one episode.
    for _ in 0..200 {
        s.append(Class::Priority, alert);
    }
    assert!(s.stats().dropped_priority > 0);
    assert!(s.disk_bytes() <= max);
    assert_eq!(s.stats().full_episodes, 1);
    s.commit().unwrap();
    let b = s.read(10_000, 1 << 20, None).unwrap();
    let alerts: Vec<&Record> = b
        .records
        .iter()
        .filter(|r| event_type_of(&r.payload) == "alert" && r.payload.windows(7).any(|w| w == b"3000001"))
        .collect();
    assert_eq!(alerts.len(), 1, "exactly one self-alert per episode");
    assert_eq!(alerts[0].class, Class::Priority);
    // Drain: the episode ends, a new one raises a new alert.
    let inf = s.begin_batch(b.end, b.records.len() as u64).unwrap();
    s.ack(inf).unwrap();
    assert_eq!(s.append(Class::Bulk, &rec(1)), Append::Stored);
    for i in 0..400 {
        s.append(Class::Bulk, &rec(i));
    }
    assert_eq!(s.stats().full_episodes, 2);
}

#[test]
fn oversized_record_dropped() {
    let d = tempfile::tempdir().unwrap();
    let mut s = Spool::open(opts(d.path(), 64 << 20, 1 << 20)).unwrap();
    let big = vec![b'x'; MAX_RECORD_BYTES + 1];
    assert_eq!(s.append(Class::Priority, &big), Append::Dropped);
    assert_eq!(s.stats().dropped_oversized, 1);
    // A record bigger than a segment still gets stored in a segment of its own.
    let large = vec![b'y'; (1 << 20) - 100];
    assert_eq!(s.append(Class::Bulk, &rec(0)), Append::Stored);
    assert_eq!(s.append(Class::Bulk, &large), Append::Stored);
    s.commit().unwrap();
    assert_eq!(s.read(10, 1 << 30, None).unwrap().records.len(), 2);
}

#[test]
fn inflight_batch_survives_restart_with_same_seq_and_records() {
    let d = tempfile::tempdir().unwrap();
    let (seq, first) = {
        let mut s = Spool::open(opts(d.path(), 1 << 20, 1 << 16)).unwrap();
        for i in 0..20 {
            s.append(Class::Bulk, &rec(i));
        }
        s.commit().unwrap();
        let b = s.read(7, 1 << 20, None).unwrap();
        let inf = s.begin_batch(b.end, 7).unwrap();
        (inf.seq, b.records)
    };
    let mut s = Spool::open(opts(d.path(), 1 << 20, 1 << 16)).unwrap();
    let inf = s.inflight().unwrap();
    assert_eq!(inf.seq, seq);
    let again = s.read(1000, 1 << 30, Some(inf.end)).unwrap();
    assert_eq!(again.records, first);
    s.ack(inf).unwrap();
    assert_eq!(s.depth(), 13);
    let b = s.read(100, 1 << 20, None).unwrap();
    assert_eq!(id_of(&b.records[0]), 7);
    assert_eq!(s.begin_batch(b.end, 13).unwrap().seq, seq + 1);
}

#[test]
fn corrupt_ledger_refuses_to_open() {
    let d = tempfile::tempdir().unwrap();
    drop(Spool::open(opts(d.path(), 1 << 20, 1 << 16)).unwrap());
    let mut s = Spool::open(opts(d.path(), 1 << 20, 1 << 16)).unwrap();
    s.append(Class::Bulk, &rec(0));
    s.commit().unwrap();
    let b = s.read(1, 1 << 20, None).unwrap();
    let inf = s.begin_batch(b.end, 1).unwrap();
    s.ack(inf).unwrap();
    drop(s);
    fs::write(d.path().join(ledger::LEDGER_FILE), b"\0\0\0").unwrap();
    let e = Spool::open(opts(d.path(), 1 << 20, 1 << 16)).unwrap_err();
    assert!(e.to_string().contains("ledger is corrupt"));
}

#[test]
fn event_type_scan() {
    assert_eq!(event_type_of(br#"{"a":1,"event_type":"dns","dns":{}}"#), "dns");
    assert_eq!(event_type_of(br#"{"a":1}"#), "unknown");
    assert_eq!(event_type_of(br#"{"event_type":""#), "");
}

#[derive(Debug, Clone)]
enum Op {
    Append(u8, bool),
    Commit,
    Send { received: bool, acked: bool, max: u8 },
    Crash { cut: u16 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1u8..20, any::<bool>()).prop_map(|(n, p)| Op::Append(n, p)),
        2 => Just(Op::Commit),
        3 => (any::<bool>(), any::<bool>(), 1u8..12).prop_map(|(received, acked, max)| Op::Send { received, acked, max }),
        1 => (0u16..400).prop_map(|cut| Op::Crash { cut }),
    ]
}

/// The collector side of the model: dedupe by batch sequence.
#[derive(Default)]
struct Collector {
    seqs: std::collections::HashSet<u64>,
    stored: Vec<u64>,
}

fn send(s: &mut Spool, c: &mut Collector, received: bool, acked: bool, max: usize) {
    let inf = match s.inflight() {
        Some(i) => i,
        None => {
            let b = s.read(max, 1 << 20, None).unwrap();
            if b.records.is_empty() && b.end <= s.ack_pos() {
                return;
            }
            s.begin_batch(b.end, b.records.len() as u64).unwrap()
        }
    };
    let b = s.read(usize::MAX, usize::MAX, Some(inf.end)).unwrap();
    if received && c.seqs.insert(inf.seq) {
        c.stored.extend(b.records.iter().map(id_of));
    }
    if received && acked {
        s.ack(inf).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    /// Random append/commit/send/ack/crash(+torn tail) sequences: every committed
    /// record reaches the collector exactly once and in order; nothing twice.
    #[test]
    fn never_loses_committed_never_duplicates(ops in proptest::collection::vec(op(), 1..80)) {
        let d = tempfile::tempdir().unwrap();
        let o = opts(d.path(), 1 << 30, 700);
        let mut s = Spool::open(o.clone()).unwrap();
        let mut c = Collector::default();
        let mut next_id = 0u64;
        let mut appended: Vec<u64> = Vec::new();
        let mut committed: Vec<u64> = Vec::new();
        for op in ops {
            match op {
                Op::Append(n, prio) => {
                    for _ in 0..n {
                        let class = if prio { Class::Priority } else { Class::Bulk };
                        prop_assert_eq!(s.append(class, &rec(next_id)), Append::Stored);
                        appended.push(next_id);
                        next_id += 1;
                    }
                }
                Op::Commit => {
                    s.commit().unwrap();
                    committed.clone_from(&appended);
                }
                Op::Send { received, acked, max } => send(&mut s, &mut c, received, acked, max as usize),
                Op::Crash { cut } => {
                    let cpos = s.committed_pos();
                    drop(s);
                    // Tear the uncommitted tail of the last segment (never committed data).
                    let seg = last_segment(d.path());
                    let len = fs::metadata(&seg).unwrap().len();
                    let floor = if seg == seg_path(d.path(), cpos.seg) { cpos.off } else { SEGMENT_HEADER };
                    let new_len = len.saturating_sub(u64::from(cut)).max(floor);
                    OpenOptions::new().write(true).open(&seg).unwrap().set_len(new_len).unwrap();
                    s = Spool::open(o.clone()).unwrap();
                    // Whatever survived the crash is now durable-or-not; model it as committed only if it was.
                    appended.clone_from(&committed);
                }
            }
        }
        s.commit().unwrap();
        let mut guard = 0;
        while s.depth() > 0 || s.inflight().is_some() {
            send(&mut s, &mut c, true, true, 50);
            guard += 1;
            prop_assert!(guard < 10_000);
        }
        // Delivered: strictly increasing (in order, no duplicates) ...
        prop_assert!(c.stored.windows(2).all(|w| w[0] < w[1]), "order/dupes: {:?}", c.stored);
        // ... and a superset of everything committed.
        let stored: std::collections::HashSet<u64> = c.stored.iter().copied().collect();
        for id in &committed {
            prop_assert!(stored.contains(id), "lost committed record {}", id);
        }
    }
}

#[test]
fn reads_across_read_windows_and_interleaved_commits() {
    // Records of varying size spanning several READ_CHUNK windows in one
    // segment, a record of almost MAX_RECORD_BYTES (straddles any window it
    // does not start), and commits between reads (the
    // window must not serve bytes past what was committed when it was filled).
    let d = tempfile::tempdir().unwrap();
    let mut s = Spool::open(opts(d.path(), 64 << 20, 16 << 20)).unwrap();
    let payload = |i: u64| {
        let pad = if i == 2500 { MAX_RECORD_BYTES - 100 } else { (i as usize * 37) % 900 };
        format!(r#"{{"event_type":"flow","id":{i},"pad":"{}"}}"#, "x".repeat(pad)).into_bytes()
    };
    let mut next = 0u64;
    let check = |s: &mut Spool, next: &mut u64| {
        loop {
            let b = s.read(700, 1 << 20, None).unwrap();
            if b.records.is_empty() {
                break;
            }
            for r in &b.records {
                assert_eq!(r.payload, payload(*next), "record {next}");
                *next += 1;
            }
            let inf = s.begin_batch(b.end, b.records.len() as u64).unwrap();
            s.ack(inf).unwrap();
        }
    };
    for i in 0..6000 {
        assert_eq!(s.append(Class::Bulk, &payload(i)), Append::Stored);
        if i % 1500 == 1499 {
            s.commit().unwrap();
            check(&mut s, &mut next);
        }
    }
    s.commit().unwrap();
    check(&mut s, &mut next);
    assert_eq!(next, 6000);
    assert_eq!(s.stats().corrupt_records, 0);
}

#[test]
fn ack_and_begin_is_one_ledger_update_that_survives_restart() {
    let d = tempfile::tempdir().unwrap();
    {
        let mut s = Spool::open(opts(d.path(), 1 << 20, 1 << 16)).unwrap();
        for i in 0..20 {
            s.append(Class::Bulk, &rec(i));
        }
        s.commit().unwrap();
        let b1 = s.read(7, 1 << 20, None).unwrap();
        let inf = s.begin_batch(b1.end, 7).unwrap();
        // The next batch is read while the first is in flight.
        let b2 = s.read_from(inf.end, 5, 1 << 20).unwrap();
        assert_eq!(id_of(&b2.records[0]), 7);
        let next = s.ack_and_begin(inf, b2.end, 5).unwrap().unwrap();
        assert_eq!(next.seq, inf.seq + 1);
        assert_eq!(s.inflight(), Some(next));
        assert_eq!(s.depth(), 13);
        // A range that is not past the new ack position begins nothing.
        let none = s.ack_and_begin(next, next.end, 0).unwrap();
        assert_eq!(none, None);
        assert_eq!(s.inflight(), None);
    }
    // Crash after the combined update of a fresh spool: the begun batch is resent.
    let d2 = tempfile::tempdir().unwrap();
    let (seq, second) = {
        let mut s = Spool::open(opts(d2.path(), 1 << 20, 1 << 16)).unwrap();
        for i in 0..20 {
            s.append(Class::Bulk, &rec(i));
        }
        s.commit().unwrap();
        let b1 = s.read(7, 1 << 20, None).unwrap();
        let inf = s.begin_batch(b1.end, 7).unwrap();
        let b2 = s.read_from(inf.end, 5, 1 << 20).unwrap();
        (s.ack_and_begin(inf, b2.end, 5).unwrap().unwrap().seq, b2.records)
    };
    let mut s = Spool::open(opts(d2.path(), 1 << 20, 1 << 16)).unwrap();
    let inf = s.inflight().unwrap();
    assert_eq!((inf.seq, inf.count), (seq, 5));
    let again = s.read(1000, 1 << 30, Some(inf.end)).unwrap();
    assert_eq!(again.records, second);
    assert_eq!(s.depth(), 13);
}

#[test]
fn version1_ledger_is_upgraded_on_open_with_its_inflight_batch() {
    let d = tempfile::tempdir().unwrap();
    let (inf, first, v1) = {
        let mut s = Spool::open(opts(d.path(), 1 << 20, 1 << 16)).unwrap();
        for i in 0..20 {
            s.append(Class::Bulk, &rec(i));
        }
        s.commit().unwrap();
        let b = s.read(7, 1 << 20, None).unwrap();
        let inf = s.begin_batch(b.end, 7).unwrap();
        (inf, b.records, s.ledger.encode_v1())
    };
    // What a spool written by the previous version holds.
    fs::write(d.path().join(ledger::LEDGER_FILE), v1).unwrap();
    let mut s = Spool::open(opts(d.path(), 1 << 20, 1 << 16)).unwrap();
    assert_eq!(s.inflight(), Some(inf));
    let len = fs::metadata(d.path().join(ledger::LEDGER_FILE)).unwrap().len();
    assert_eq!(len, ledger::LEDGER_FILE_BYTES as u64, "rewritten as version 2");
    assert_eq!(s.read(1000, 1 << 30, Some(inf.end)).unwrap().records, first);
    s.ack(inf).unwrap();
    drop(s);
    let s = Spool::open(opts(d.path(), 1 << 20, 1 << 16)).unwrap();
    assert_eq!((s.inflight(), s.depth(), s.acked_total()), (None, 13, 7));
}
