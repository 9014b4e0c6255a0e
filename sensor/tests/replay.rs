//! End-to-end replay tests: snapshots of every `pcaps/<case>`, determinism
//! across runs and worker counts, JSON Schema validation of every record.
//!
//! `CENTINELA_BLESS=1 cargo test -p centinela --test replay` rewrites the
//! `pcaps/<case>/expected.eve.json` snapshots.

mod common;

use common::{cases, records, root, run};

#[test]
fn every_case_matches_its_snapshot() {
    let cases = cases();
    assert!(!cases.is_empty(), "no pcaps/<case>/capture.pcap found");
    let bless = std::env::var_os("CENTINELA_BLESS").is_some_and(|v| v == "1");
    let mut failures = Vec::new();
    for (name, pcap) in &cases {
        let out = run(std::slice::from_ref(pcap), 1);
        let expected_path = pcap.with_file_name("expected.eve.json");
        if bless {
            std::fs::write(&expected_path, &out).expect("write snapshot");
            continue;
        }
        match std::fs::read(&expected_path) {
            Ok(want) if want == out => {}
            Ok(want) => {
                let (w, g) = (records(&want), records(&out));
                let first = w.iter().zip(&g).position(|(a, b)| a != b).unwrap_or(w.len().min(g.len()));
                failures.push(format!(
                    "{name}: output differs from expected.eve.json ({} vs {} records; first difference at record {first}: got {})",
                    g.len(),
                    w.len(),
                    g.get(first).map_or("<none>".to_string(), ToString::to_string)
                ));
            }
            Err(_) => {
                failures
                    .push(format!("{name}: no expected.eve.json (run with CENTINELA_BLESS=1 and review)"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn one_and_four_workers_give_identical_output() {
    for (name, pcap) in cases() {
        let one = run(std::slice::from_ref(&pcap), 1);
        let four = run(std::slice::from_ref(&pcap), 4);
        assert!(!one.is_empty(), "{name}: no output");
        // Byte-identical even before sorting; check the sorted form too, as
        // the contract is stated that way.
        assert_eq!(one, four, "{name}: 1 vs 4 workers differ");
        let key = |v: &serde_json::Value| {
            (v["timestamp"].as_str().map(String::from), v["pcap_cnt"].as_u64(), v.to_string())
        };
        let mut a: Vec<_> = records(&one).iter().map(key).collect();
        let mut b: Vec<_> = records(&four).iter().map(key).collect();
        a.sort();
        b.sort();
        assert_eq!(a, b, "{name}");
    }
}

#[test]
fn two_runs_are_identical_and_one_worker_is_in_packet_order() {
    for (name, pcap) in cases() {
        let a = run(std::slice::from_ref(&pcap), 2);
        let b = run(std::slice::from_ref(&pcap), 2);
        assert_eq!(a, b, "{name}: two runs differ");
        // Detector alerts raised at a tick carry the pcap_cnt of their
        // evidence, so only the other records are checked.
        let mut last = 0;
        for r in records(&run(std::slice::from_ref(&pcap), 1)) {
            if r["event_type"] == "alert" {
                continue;
            }
            if let Some(c) = r["pcap_cnt"].as_u64() {
                assert!(c >= last, "{name}: pcap_cnt {c} after {last}");
                last = c;
            }
        }
    }
}

#[test]
fn all_cases_in_one_replay_and_every_record_matches_the_schema() {
    let schema_path = root().join("events/schema/eve.schema.json");
    let schema: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&schema_path).expect("events/schema/eve.schema.json"))
            .expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let files: Vec<_> = cases().into_iter().map(|(_, p)| p).collect();
    let out = run(&files, 2);
    let recs = records(&out);
    assert!(recs.len() > 100);
    let mut types = std::collections::BTreeSet::new();
    for r in &recs {
        types.insert(r["event_type"].as_str().unwrap_or("").to_string());
        let errors: Vec<String> =
            validator.iter_errors(r).map(|e| format!("{} at {}", e, e.instance_path())).collect();
        assert!(errors.is_empty(), "record {r} violates the schema: {errors:?}");
    }
    for t in ["flow", "stats", "modbus", "dnp3", "dns", "anomaly"] {
        assert!(types.contains(t), "no {t} record in the whole corpus: {types:?}");
    }
}
