//! Test driver (lives in the collector package so its fault tests can run it): submits synthetic EVE records through [`Delivery`] exactly as
//! the sensor's event writer does, then drains. Used by the collector's fault
//! tests and by the forwarding benchmark.
//!
//! ```text
//! spool_feeder --spool DIR [--url URL --ca F --cert F --key F | --token-file F] [--sensor ID]
//!              [--start N] [--count N] [--rate EV_PER_S] [--commit-every N] [--priority-every N]
//!              [--pad BYTES] [--max-bytes N] [--segment-bytes N] [--fsync batch|always|never]
//!              [--drain-secs S] [--heartbeat-s S] [--linger-secs S] [--garbage-at I]
//! ```
//! Record `i` is `{"timestamp":…,"event_type":"flow"|"alert","flow_id":i,…}`
//! (every `priority-every`-th record is an alert). Prints `committed <n>` after
//! each commit and a final `stats <json>` line.

use centinela_forward::{Delivery, ForwardConfig, FsyncPolicy, SensorMeta, SpoolConfig};
use std::io::Write;
use std::time::{Duration, Instant};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn num(args: &[String], name: &str, default: u64) -> u64 {
    arg(args, name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The synthetic record with id `i`.
fn record(i: u64, priority_every: u64, pad: &str) -> String {
    let secs = 1_700_000_000 + i / 1000;
    let micros = (i % 1000) * 1000;
    if priority_every > 0 && i.is_multiple_of(priority_every) {
        format!(
            r#"{{"timestamp":"{}","flow_id":{i},"src_ip":"10.0.0.{}","src_port":1502,"dest_ip":"10.0.1.1","dest_port":502,"proto":"TCP","app_proto":"modbus","event_type":"alert","alert":{{"action":"allowed","gid":1,"signature_id":9000001,"rev":1,"signature":"synthetic","category":"test","severity":2}},"pad":"{pad}"}}"#,
            ts(secs, micros),
            i % 250
        )
    } else {
        format!(
            r#"{{"timestamp":"{}","flow_id":{i},"src_ip":"10.0.0.{}","src_port":1502,"dest_ip":"10.0.1.1","dest_port":502,"proto":"TCP","app_proto":"modbus","event_type":"flow","flow":{{"pkts_toserver":3,"pkts_toclient":2}},"pad":"{pad}"}}"#,
            ts(secs, micros),
            i % 250
        )
    }
}

fn ts(secs: u64, micros: u64) -> String {
    let v = serde_json::to_value(centinela_events::Timestamp::from_micros(secs as i64, micros as u32))
        .unwrap_or_default();
    v.as_str().unwrap_or_default().to_string()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = arg(&args, "--spool") else {
        eprintln!("spool_feeder: --spool DIR is required");
        std::process::exit(2);
    };
    let spool = SpoolConfig {
        dir: dir.into(),
        max_bytes: num(&args, "--max-bytes", 256 << 20),
        segment_bytes: num(&args, "--segment-bytes", 8 << 20),
        fsync: match arg(&args, "--fsync").as_deref() {
            Some("always") => FsyncPolicy::Always,
            Some("never") => FsyncPolicy::Never,
            _ => FsyncPolicy::Batch,
        },
        ..SpoolConfig::default()
    };
    let fwd = match arg(&args, "--url") {
        Some(url) => ForwardConfig {
            enabled: true,
            url,
            ca_file: arg(&args, "--ca").unwrap_or_default().into(),
            cert_file: arg(&args, "--cert").map(Into::into),
            key_file: arg(&args, "--key").map(Into::into),
            token_file: arg(&args, "--token-file").map(Into::into),
            backoff_initial_ms: num(&args, "--backoff-ms", 100),
            backoff_max_ms: num(&args, "--backoff-max-ms", 1000),
            batch_max_latency_ms: num(&args, "--latency-ms", 200),
            batch_max_events: num(&args, "--batch-events", 5000) as usize,
            heartbeat_interval_s: num(&args, "--heartbeat-s", 0),
            ..ForwardConfig::default()
        },
        None => ForwardConfig::default(),
    };
    let meta = SensorMeta {
        sensor_id: arg(&args, "--sensor").unwrap_or_else(|| "sensor-1".into()),
        version: env!("CARGO_PKG_VERSION").into(),
        config_hash: "feeder".into(),
    };
    let mut d = match Delivery::start(&spool, &fwd, meta) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("spool_feeder: error: {e}");
            std::process::exit(2);
        }
    };
    let start = num(&args, "--start", 0);
    let count = num(&args, "--count", 1000);
    let rate = num(&args, "--rate", 0);
    let commit_every = num(&args, "--commit-every", 100).max(1);
    let prio = num(&args, "--priority-every", 10);
    let garbage_at = arg(&args, "--garbage-at").and_then(|v| v.parse::<u64>().ok());
    let pad = "x".repeat(num(&args, "--pad", 0) as usize);
    let t0 = Instant::now();
    let mut out = std::io::stdout().lock();
    for i in start..start + count {
        if Some(i) == garbage_at {
            // A record the collector must refuse (tests the dead-letter path).
            d.submit(false, b"{not json");
        } else {
            let r = record(i, prio, &pad);
            d.submit(prio > 0 && i.is_multiple_of(prio), r.as_bytes());
        }
        let done = i - start + 1;
        if done.is_multiple_of(commit_every) || done == count {
            d.commit();
            let _ = writeln!(out, "committed {}", i + 1);
            let _ = out.flush();
        }
        if rate > 0 {
            let due = t0 + Duration::from_secs_f64(done as f64 / rate as f64);
            if let Some(w) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(w);
            }
        }
    }
    d.commit();
    let written = t0.elapsed();
    let _ = writeln!(out, "spooled {count} in {:.3}s", written.as_secs_f64());
    let _ = out.flush();
    std::thread::sleep(Duration::from_secs(num(&args, "--linger-secs", 0)));
    let stats = d.stats();
    let drain = Duration::from_secs(num(&args, "--drain-secs", 30));
    let t1 = Instant::now();
    // Wait for the spool to empty (or the drain deadline), then stop.
    while t1.elapsed() < drain {
        let s = d.stats();
        if s["spool"]["depth"].as_u64() == Some(0) || !fwd.enabled {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let final_stats = d.stats();
    d.shutdown(Duration::from_millis(500));
    let _ = writeln!(out, "drained in {:.3}s", t1.elapsed().as_secs_f64());
    let _ = writeln!(out, "stats {}", serde_json::json!({"before_drain": stats, "final": final_stats}));
}
