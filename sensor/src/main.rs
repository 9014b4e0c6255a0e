//! The `centinela` binary: glue over the sensor library.
//!
//! Exit codes: 0 success; 1 runtime failure (unreadable or corrupt capture,
//! capture device error); 2 usage or configuration error.

use centinela::config::{self, Config};
use centinela::writer::EveSink;
use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

#[derive(Parser, Debug)]
#[command(
    name = "centinela",
    version,
    about = "ICS network sensor (Modbus/TCP, DNP3, DNS): capture → EVE events"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Replay pcap/pcapng files (gzip too) through the pipeline.
    Replay {
        /// Configuration file (defaults for every key when absent).
        #[arg(long)]
        config: Option<PathBuf>,
        /// EVE output: a file path, or `-` for stdout (overrides `output.eve`).
        #[arg(long)]
        eve: Option<String>,
        /// Worker threads (overrides `pipeline.workers`).
        #[arg(long)]
        workers: Option<usize>,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
        /// Capture files, replayed in order.
        #[arg(required = true)]
        pcaps: Vec<PathBuf>,
    },
    /// Capture live from the interfaces in `[capture]` until SIGINT/SIGTERM.
    Run {
        /// Configuration file.
        #[arg(long, default_value = "/etc/centinela/centinela.toml")]
        config: PathBuf,
        /// EVE output (overrides `output.eve`).
        #[arg(long)]
        eve: Option<String>,
        /// Worker threads (overrides `pipeline.workers`).
        #[arg(long)]
        workers: Option<usize>,
    },
    /// Validate a configuration file and exit (0 valid, 2 invalid).
    CheckConfig {
        /// The file.
        file: PathBuf,
    },
}

fn load(path: Option<&Path>) -> Result<Config, ExitCode> {
    let Some(path) = path else { return Ok(Config::default()) };
    let cfg = config::load(path).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })?;
    for (key, r) in [
        ("app", cfg.app.validate()),
        ("detect", cfg.detect.validate()),
        ("spool", cfg.spool.as_ref().map_or(Ok(()), centinela_forward::SpoolConfig::validate)),
        ("forward", cfg.forward.as_ref().map_or(Ok(()), centinela_forward::ForwardConfig::validate)),
    ] {
        if let Err((k, m)) = r {
            let k = if k.is_empty() { key.to_string() } else { k };
            eprintln!("error: {}: {k}: {m}", path.display());
            return Err(ExitCode::from(2));
        }
    }
    Ok(cfg)
}

fn signals() -> (Arc<AtomicBool>, Arc<AtomicBool>) {
    let stop = Arc::new(AtomicBool::new(false));
    let hup = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(sig, Arc::clone(&stop)) {
            tracing::warn!("cannot install signal handler: {e}");
        }
    }
    if let Err(e) = signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&hup)) {
        tracing::warn!("cannot install SIGHUP handler: {e}");
    }
    (stop, hup)
}

fn delivery(cfg: &Config) -> Result<Option<centinela_forward::Delivery>, ExitCode> {
    if cfg.spool.is_none() && cfg.forward.is_none() {
        return Ok(None);
    }
    let spool = cfg.spool.clone().unwrap_or_default();
    let fwd = cfg.forward.clone().unwrap_or_default();
    let meta = centinela_forward::SensorMeta {
        sensor_id: cfg.sensor.id.clone(),
        version: env!("CARGO_PKG_VERSION").into(),
        config_hash: cfg.hash(),
    };
    match centinela_forward::Delivery::start(&spool, &fwd, meta) {
        Ok(d) => Ok(Some(d)),
        Err(e) => {
            eprintln!("error: {e}");
            Err(ExitCode::from(2))
        }
    }
}

fn open_sink(cfg: &Config) -> Result<EveSink, ExitCode> {
    EveSink::open(&cfg.output.eve, cfg.output.rotate_mib.saturating_mul(1 << 20), cfg.output.rotate_keep)
        .map_err(|e| {
            eprintln!("error: output.eve: {}: {e}", cfg.output.eve);
            ExitCode::from(1)
        })
}

/// Peak resident set size of this process (Linux), KiB; 0 when unknown.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CENTINELA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match cli.cmd {
        Cmd::CheckConfig { file } => match load(Some(&file)) {
            Ok(_) => {
                println!("{}: ok", file.display());
                ExitCode::SUCCESS
            }
            Err(c) => c,
        },
        Cmd::Replay { config, eve, workers, quiet, pcaps } => {
            let mut cfg = match load(config.as_deref()) {
                Ok(c) => c,
                Err(c) => return c,
            };
            if config.is_none() {
                cfg.output.eve = "-".into();
            }
            if let Some(e) = eve {
                cfg.output.eve = e;
            }
            if let Some(w) = workers {
                if w == 0 || w > config::MAX_WORKERS {
                    eprintln!("error: --workers: must be between 1 and {}", config::MAX_WORKERS);
                    return ExitCode::from(2);
                }
                cfg.pipeline.workers = w;
            }
            let sink = match open_sink(&cfg) {
                Ok(s) => s,
                Err(c) => return c,
            };
            let delivery = match delivery(&cfg) {
                Ok(d) => d,
                Err(c) => return c,
            };
            let (stop, hup) = signals();
            let workers = cfg.pipeline.effective_workers();
            let cfg = Arc::new(cfg);
            let started = std::time::Instant::now();
            let r = centinela::replay::replay(centinela::replay::ReplayOpts {
                cfg,
                workers,
                files: pcaps,
                sink,
                delivery,
                stop,
                hup,
                progress: !quiet && std::io::stderr().is_terminal(),
            });
            match r {
                Ok(r) => {
                    let secs = started.elapsed().as_secs_f64();
                    let bytes = r.writer.last_reader.as_ref().map_or(0, |c| c.bytes);
                    let per_pkt = |ns: u64| ns / r.packets.max(1);
                    let workers_cpu: Vec<String> =
                        r.writer.worker_cpu_ns.iter().map(|ns| per_pkt(*ns).to_string()).collect();
                    tracing::info!(
                        "replayed {} packets ({} bytes), {} records in {:.3} s ({:.0} packets/s, {} workers, peak RSS {} KiB); CPU ns per packet: reader {}, workers {}, writer {}",
                        r.packets,
                        bytes,
                        r.writer.records,
                        secs,
                        r.packets as f64 / secs.max(1e-9),
                        workers,
                        peak_rss_kib(),
                        per_pkt(r.reader_cpu_ns),
                        workers_cpu.join("/"),
                        per_pkt(r.writer.writer_cpu_ns)
                    );
                    let mut code = ExitCode::SUCCESS;
                    for (f, e) in &r.errors {
                        match e {
                            centinela::source::SourceError::Truncated { .. } => {
                                tracing::warn!("{}: {e}", f.display());
                            }
                            _ => {
                                eprintln!("error: {}: {e}", f.display());
                                code = ExitCode::from(1);
                            }
                        }
                    }
                    if r.interrupted {
                        tracing::warn!("interrupted: queues drained, output flushed");
                    }
                    code
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Cmd::Run { config, eve, workers } => {
            let mut cfg = match load(Some(&config)) {
                Ok(c) => c,
                Err(c) => return c,
            };
            if let Some(e) = eve {
                cfg.output.eve = e;
            }
            if let Some(w) = workers {
                cfg.pipeline.workers = w.clamp(1, config::MAX_WORKERS);
            }
            let sink = match open_sink(&cfg) {
                Ok(s) => s,
                Err(c) => return c,
            };
            let delivery = match delivery(&cfg) {
                Ok(d) => d,
                Err(c) => return c,
            };
            let (stop, hup) = signals();
            let workers = cfg.pipeline.effective_workers();
            match centinela::live::run(centinela::live::LiveOpts {
                cfg: Arc::new(cfg),
                workers,
                sink,
                delivery,
                stop,
                hup,
            }) {
                Ok(s) => {
                    tracing::info!("stopped: {} records written", s.records);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {}: {e}", config.display());
                    ExitCode::from(1)
                }
            }
        }
    }
}
