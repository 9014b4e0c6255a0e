//! Every committed capture gives the frame counts its README states, as seen by an
//! independent decoder (tshark). Skipped, and said so, when tshark is not installed.

use std::path::Path;
use std::process::Command;

use centinela_pcapgen::cases;

/// Real-stack captures (not generated): `(case, filter, frames)`.
const REALSTACK: &[(&str, &str, u64)] = &[
    ("modbus-pymodbus-polling", "modbus", 84),
    ("modbus-pymodbus-polling", "_ws.malformed", 0),
    ("modbus-pymodbus-writes", "modbus", 18),
    ("modbus-pymodbus-writes", "_ws.malformed", 0),
    ("modbus-pymodbus-diagnostics", "modbus", 26),
    ("modbus-pymodbus-diagnostics", "modbus.exception_code", 4),
    ("modbus-pymodbus-diagnostics", "_ws.malformed", 0),
    // Two integrity responses carry g50v4, unknown to Wireshark (see the README).
    ("dnp3-opendnp3-polling", "_ws.malformed", 2),
];

/// `(filter, frames)` pairs for one capture.
type Expect<'a> = Vec<(&'a str, u64)>;

fn tshark_available() -> bool {
    Command::new("tshark").arg("-v").output().is_ok_and(|o| o.status.success())
}

/// Frame counts for each display filter, from one tshark pass (`-z io,stat,0,...`).
fn counts(pcap: &Path, filters: &[&str]) -> Vec<u64> {
    let mut spec = String::from("io,stat,0");
    for f in filters {
        assert!(!f.contains(','), "a filter with a comma cannot go into io,stat: {f}");
        spec.push(',');
        spec.push_str(f);
    }
    let out = Command::new("tshark")
        .args(["-n", "-q", "-r"])
        .arg(pcap)
        .args(["-z", &spec])
        .output()
        .expect("run tshark");
    assert!(out.status.success(), "tshark failed on {}", pcap.display());
    let text = String::from_utf8_lossy(&out.stdout);
    let row = text.lines().find(|l| l.contains("<>")).unwrap_or_else(|| panic!("no io,stat row: {text}"));
    let cells: Vec<&str> = row.split('|').collect();
    (0..filters.len())
        .map(|i| {
            let cell = cells.get(2 + 2 * i).unwrap_or_else(|| panic!("short io,stat row: {row}"));
            cell.trim().parse().unwrap_or_else(|_| panic!("bad count {cell:?} in {row}"))
        })
        .collect()
}

#[test]
fn committed_captures_give_the_stated_tshark_counts() {
    if !tshark_available() {
        println!("tshark not found: skipped (NOT RUN)");
        return;
    }
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let mut wanted: Vec<(&str, Expect<'_>)> =
        cases::CASES.iter().map(|c| (c.name, c.tshark.to_vec())).collect();
    for &(case, filter, n) in REALSTACK {
        match wanted.iter_mut().find(|(c, _)| *c == case) {
            Some((_, v)) => v.push((filter, n)),
            None => wanted.push((case, vec![(filter, n)])),
        }
    }
    // tshark spends most of its time starting up: run four at a time.
    let results: Vec<(&str, Expect<'_>, Vec<u64>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = wanted
            .chunks(wanted.len().div_ceil(4))
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|(case, list)| {
                            let filters: Vec<&str> = list.iter().map(|(f, _)| *f).collect();
                            (*case, list.clone(), counts(&dir.join(case).join("capture.pcap"), &filters))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("tshark worker")).collect()
    });
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (case, list, got) in results {
        for ((filter, want), got) in list.iter().zip(got) {
            checked += 1;
            if got != *want {
                wrong.push(format!("{case}: -Y '{filter}' gave {got}, README says {want}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    println!("{checked} tshark counts checked");
}
