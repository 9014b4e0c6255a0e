//! End-to-end replay benchmark helpers: generate the big ICS mix on demand
//! (`centinela-pcapgen big`), build the release `centinela` binary, replay
//! the mix through it with the EVE output going to `/dev/null`, and read the
//! figures the binary reports (packets, bytes, records, peak RSS).
//!
//! The replay runs the real binary — the same code path an operator runs —
//! so the figures include reading, decoding, flows, reassembly, the app
//! layer, the detectors and event encoding.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// One measured run.
#[derive(Debug, Clone)]
pub(crate) struct Figures {
    /// Label (`workers=1 log_all`, …).
    pub(crate) label: String,
    /// Packets replayed.
    pub(crate) packets: u64,
    /// Packet bytes (original lengths).
    pub(crate) bytes: u64,
    /// EVE records written.
    pub(crate) records: u64,
    /// Wall-clock seconds of the replay process.
    pub(crate) secs: f64,
    /// Peak RSS of the process, KiB.
    pub(crate) peak_rss_kib: u64,
    /// CPU time per packet of the reading thread, ns (0 when unknown).
    pub(crate) reader_cpu_ns: u64,
    /// CPU time per packet of each worker thread, ns (over all packets).
    pub(crate) worker_cpu_ns: Vec<u64>,
}

impl Figures {
    /// Packets per second.
    pub(crate) fn pps(&self) -> f64 {
        self.packets as f64 / self.secs.max(1e-9)
    }
    /// Gigabits per second of packet data.
    pub(crate) fn gbps(&self) -> f64 {
        self.bytes as f64 * 8.0 / self.secs.max(1e-9) / 1e9
    }
    /// Nanoseconds per packet (wall clock, all threads together).
    pub(crate) fn ns_per_packet(&self) -> f64 {
        self.secs * 1e9 / (self.packets.max(1) as f64)
    }
    /// Packets per second one worker processes per CPU-second it gets: all
    /// packets over the workers' CPU time together (independent of how
    /// busy the shared cores were and of how evenly the shards split).
    pub(crate) fn pps_per_worker_cpu(&self) -> f64 {
        let total: u64 = self.worker_cpu_ns.iter().sum();
        if total > 0 { 1e9 / total as f64 } else { 0.0 }
    }
}

/// Workspace root (`benches/..`).
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Build the release binaries and return the path of `centinela`.
pub(crate) fn build_release() -> Result<PathBuf, String> {
    let st = Command::new(cargo())
        .current_dir(root())
        .args(["build", "--release", "-p", "centinela", "-p", "centinela-pcapgen"])
        .status()
        .map_err(|e| format!("cargo: {e}"))?;
    if !st.success() {
        return Err("cargo build --release failed".into());
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from);
    Ok(target.join("release"))
}

/// The big mix at `path`, generated (size like `256M`) when missing.
pub(crate) fn ensure_mix(bin_dir: &Path, path: &Path, size: &str) -> Result<(), String> {
    if path.is_file() {
        return Ok(());
    }
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| e.to_string())?;
    }
    let st = Command::new(bin_dir.join("centinela-pcapgen"))
        .args(["big", "--size", size, "--out"])
        .arg(path)
        .status()
        .map_err(|e| format!("centinela-pcapgen: {e}"))?;
    if st.success() { Ok(()) } else { Err("centinela-pcapgen big failed".into()) }
}

fn field(line: &str, before: &str) -> Option<u64> {
    // "... 1234 <before> ..." → 1234
    let i = line.find(before)?;
    line[..i].split_whitespace().last()?.trim_start_matches('(').parse().ok()
}

/// The Modbus polling capture at `path` (`pairs` transactions), generated
/// when missing.
pub(crate) fn ensure_poll(bin_dir: &Path, path: &Path, pairs: u64, server_ack: bool) -> Result<(), String> {
    if path.is_file() {
        return Ok(());
    }
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| e.to_string())?;
    }
    let st = Command::new(bin_dir.join("centinela-pcapgen"))
        .args(["poll", "--pairs", &pairs.to_string(), "--out"])
        .arg(path)
        .args(server_ack.then_some("--server-ack"))
        .status()
        .map_err(|e| format!("centinela-pcapgen: {e}"))?;
    if st.success() { Ok(()) } else { Err("centinela-pcapgen poll failed".into()) }
}

/// Replay `pcap` with `workers` workers and `log_all` (every transaction
/// logged) or the default log limits.
pub(crate) fn replay(bin_dir: &Path, pcap: &Path, workers: usize, log_all: bool) -> Result<Figures, String> {
    let dir = std::env::temp_dir().join(format!("centinela-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let cfg = dir.join("bench.toml");
    let text =
        format!("[output]\neve = \"/dev/null\"\n[app]\nlog_all = {log_all}\n[stats]\ninterval_s = 30\n");
    std::fs::write(&cfg, text).map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    let out = Command::new(bin_dir.join("centinela"))
        .env("CENTINELA_LOG", "info")
        .args(["replay", "-q", "--workers", &workers.to_string(), "--config"])
        .arg(&cfg)
        .arg(pcap)
        .output()
        .map_err(|e| format!("centinela: {e}"))?;
    let secs = t0.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&dir);
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("centinela replay failed: {err}"));
    }
    let line = err.lines().find(|l| l.contains("replayed ")).ok_or("no summary line")?.to_string();
    if field(&line, "packets").is_none() || field(&line, "KiB").is_none() {
        return Err(format!("unexpected summary line: {line}"));
    }
    // "...; CPU ns per packet: reader 369, workers 338/376, writer 28"
    let cpu_part = line.split_once("CPU ns per packet:").map_or("", |(_, rest)| rest);
    let cpu = |key: &str| -> Option<&str> {
        let at = cpu_part.find(key)? + key.len();
        cpu_part[at..].split([',', ' ']).find(|t| !t.is_empty())
    };
    let reader_cpu_ns = cpu("reader ").and_then(|v| v.parse().ok()).unwrap_or(0);
    let worker_cpu_ns =
        cpu("workers ").map(|v| v.split('/').filter_map(|x| x.parse().ok()).collect()).unwrap_or_default();
    Ok(Figures {
        reader_cpu_ns,
        worker_cpu_ns,
        label: format!("workers={workers} {}", if log_all { "log_all" } else { "default_limits" }),
        packets: field(&line, "packets").unwrap_or(0),
        bytes: field(&line, "bytes)").unwrap_or(0),
        records: field(&line, "records").unwrap_or(0),
        secs,
        peak_rss_kib: field(&line, "KiB").unwrap_or(0),
    })
}
