//! The committed cases under `pcaps/` are exactly what the generator writes, and the
//! generator is deterministic (two runs, same bytes).

use std::path::Path;

use centinela_pcapgen::{cases, pcap};

fn pcaps_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[test]
fn committed_cases_are_byte_identical() {
    let mut differing = Vec::new();
    for c in cases::CASES {
        for (file, ok) in cases::check_case(c, &pcaps_dir().join(c.name)) {
            if !ok {
                differing.push(format!("{}/{}", c.name, file));
            }
        }
    }
    let index = std::fs::read(pcaps_dir().join("README.md")).unwrap_or_default();
    if index != cases::index_readme().as_bytes() {
        differing.push("README.md".to_owned());
    }
    assert!(
        differing.is_empty(),
        "differ from the generator (run `cargo run -p centinela-pcapgen --release -- regen`): {differing:?}"
    );
}

#[test]
fn generation_is_deterministic_and_well_formed() {
    for c in cases::CASES {
        let (a, ta) = cases::generate(c);
        let (b, tb) = cases::generate(c);
        assert_eq!(a, b, "{}: two runs differ", c.name);
        assert_eq!(ta, tb);
        let recs = pcap::records(&a).unwrap_or_else(|| panic!("{}: unreadable pcap", c.name));
        assert!(!recs.is_empty(), "{}: empty", c.name);
        assert_eq!(recs.len() as u64, ta["frames"]);
        assert!(recs.windows(2).all(|w| w[0].ts_us <= w[1].ts_us), "{}: time goes back", c.name);
        assert!(recs[0].ts_us >= centinela_pcapgen::scenario::EPOCH_US);
    }
}

#[test]
fn case_names_are_unique_and_seeds_distinct() {
    let mut names: Vec<&str> = cases::CASES.iter().map(|c| c.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases::CASES.len());
    let mut seeds: Vec<u64> = cases::CASES.iter().map(|c| c.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    assert_eq!(seeds.len(), cases::CASES.len());
}
