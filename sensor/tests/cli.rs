//! The `centinela` binary: exit codes, one-line config errors, stdout
//! carrying only EVE lines.

mod common;

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_centinela"))
}

#[test]
fn check_config_accepts_the_example_and_rejects_typos_with_exit_2() {
    let ok = bin()
        .args(["check-config"])
        .arg(common::root().join("systemd/centinela.toml"))
        .output()
        .expect("runs");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let dir = tempfile::tempdir().expect("tempdir");
    for (text, key) in [
        ("[flow]\nmax_flowz = 1\n", "flow.max_flowz"),
        ("[pipeline]\nworkers = 1000\n", "pipeline.workers"),
        ("[capture]\nsnaplen = \"big\"\n", "capture.snaplen"),
        ("[nosuch]\n", "nosuch"),
        ("[app]\nbogus = 1\n", "app.bogus"),
    ] {
        let p = common::temp_file(&dir, "c.toml", text.as_bytes());
        let out = bin().arg("check-config").arg(&p).output().expect("runs");
        assert_eq!(out.status.code(), Some(2), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(lines.len(), 1, "{err}");
        assert!(lines[0].contains(&p.display().to_string()) && lines[0].contains(key), "{err}");
    }
}

#[test]
fn replay_to_stdout_writes_only_eve_lines_and_fails_clearly_on_bad_input() {
    let (_, pcap) = common::cases().into_iter().next().expect("a case");
    let out = bin().args(["replay", "--eve", "-", "--workers", "2"]).arg(&pcap).output().expect("runs");
    assert!(out.status.success());
    let recs = common::records(&out.stdout);
    assert!(!recs.is_empty());
    assert!(recs.iter().all(|r| r["event_type"].is_string()));
    let dir = tempfile::tempdir().expect("tempdir");
    let junk = common::temp_file(&dir, "junk.pcap", b"not a capture file, just text");
    let out = bin().args(["replay", "--eve", "-"]).arg(&junk).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a pcap or pcapng file"));
    let out = bin().args(["replay", "--workers", "0", "x.pcap"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn gzip_compressed_capture_gives_the_same_output() {
    use std::io::Write;
    let (_, pcap) = common::cases().into_iter().next().expect("a case");
    let raw = std::fs::read(&pcap).expect("read");
    let dir = tempfile::tempdir().expect("tempdir");
    let gz = dir.path().join("capture.pcap.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).expect("create"),
        flate2::Compression::fast(),
    );
    enc.write_all(&raw).expect("compress");
    enc.finish().expect("finish");
    assert_eq!(common::run(&[gz], 1), common::run(&[pcap], 1));
}
