//! Store benchmark (not in CI): `cargo run --release -p centinela-collector --example store_bench`
//!
//! Commits `--rows N` (default 600000) Modbus-like rows through the real
//! [`SqliteStore`] (WAL, synchronous=FULL) in batches of `--batch N` rows
//! (default 5000), `--group N` batches per transaction (default 4, as the
//! collector's writer groups what is queued), from 4 sensors, and prints rows
//! per second, rows per CPU-second of this (single writer) thread, and bytes
//! written to storage per row (`/proc/self/io`, WAL and checkpoints: the
//! write amplification of the indexes).

use centinela_collector::store::{IncomingBatch, Row, SqliteStore, Store};
use std::time::Instant;

fn arg(name: &str, default: u64) -> u64 {
    let a: Vec<String> = std::env::args().collect();
    a.iter()
        .position(|x| x == name)
        .and_then(|i| a.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// CPU seconds of the calling thread, from /proc/thread-self/stat.
fn thread_cpu_s() -> f64 {
    let s = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let rest = s.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

/// Bytes this process caused to be written to storage (`/proc/self/io`).
fn write_bytes() -> u64 {
    let s = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
    s.lines().find_map(|l| l.strip_prefix("write_bytes: ")).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

/// CPU seconds of the whole process (writer + checkpointer), from /proc/self/stat.
fn process_cpu_s() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = s.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

fn row(sensor: u64, i: u64) -> Row {
    let src = format!("10.1.{}.{}", (i / 250) % 250, i % 250);
    let json = format!(
        r#"{{"timestamp":"2024-05-01T10:00:{:02}.{:06}+0000","flow_id":{i},"pcap_cnt":{i},"src_ip":"{src}","src_port":49152,"dest_ip":"10.2.0.1","dest_port":502,"proto":"TCP","app_proto":"modbus","event_type":"modbus","modbus":{{"transaction_id":{},"unit_id":1,"function_code":3,"function":"read_holding_registers","request":{{"address":100,"quantity":10}},"response":{{"byte_count":20}}}},"sensor_n":{sensor},"sent_us":0}}"#,
        (i / 1_000_000) % 60,
        i % 1_000_000,
        i % 65536
    );
    Row {
        ts_us: 1_714_557_600_000_000 + i as i64,
        event_type: "modbus".into(),
        signature_id: None,
        severity: None,
        src_ip: Some(src),
        dest_ip: Some("10.2.0.1".into()),
        json,
    }
}

fn main() {
    let Ok(tmp) = tempfile::tempdir() else { return };
    let db = tmp.path().join("events.db");
    let mut store = match SqliteStore::open(&db) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return;
        }
    };
    let rows = arg("--rows", 600_000);
    let batch = arg("--batch", 5000).max(1);
    let group = arg("--group", 4).max(1);
    let sensors = 4u64;
    let mut seq = 1u64;
    let mut i = 0u64;
    let mut work = Vec::new();
    while i < rows {
        let mut txn = Vec::new();
        for _ in 0..group {
            if i >= rows {
                break;
            }
            let s = seq % sensors;
            let n = batch.min(rows - i);
            txn.push(IncomingBatch {
                sensor: format!("s{s}"),
                site: None,
                seq,
                rows: (i..i + n).map(|k| row(s, k)).collect(),
                heartbeat: None,
            });
            seq += 1;
            i += n;
        }
        work.push(txn);
    }
    let pcpu0 = process_cpu_s();
    let cpu0 = thread_cpu_s();
    let w0 = write_bytes();
    let t = Instant::now();
    let mut stored = 0u64;
    for (k, txn) in work.iter().enumerate() {
        match store.commit(txn, k as i64) {
            Ok(acks) => stored += acks.iter().map(|a| a.stored).sum::<u64>(),
            Err(e) => {
                eprintln!("{e}");
                return;
            }
        }
    }
    let el = t.elapsed().as_secs_f64();
    let cpu = thread_cpu_s() - cpu0;
    std::thread::sleep(std::time::Duration::from_millis(500));
    let pcpu = process_cpu_s() - pcpu0;
    let written = write_bytes().saturating_sub(w0);
    println!(
        "store: {stored} rows in {} transactions ({batch} rows/batch, {group} batches/txn) in {el:.2}s = {:.0} rows/s; writer CPU {cpu:.2}s = {:.0} rows per CPU-second (process incl. checkpointer: {pcpu:.2}s); {:.0} bytes written to storage per row (WAL + checkpoints)",
        work.len(),
        stored as f64 / el,
        stored as f64 / cpu.max(0.001),
        written as f64 / stored.max(1) as f64
    );
}
