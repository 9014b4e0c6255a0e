//! `centinela-pcapgen`: writes the committed capture cases and the big benchmark mix.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use centinela_pcapgen::{big, cases};
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "centinela-pcapgen", about = "Deterministic pcap case generator for Centinela")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// List the committed cases.
    List,
    /// Rewrite every committed case (capture.pcap + README.md) from its fixed seed.
    Regen {
        /// The pcaps/ folder.
        #[arg(long, default_value_os_t = default_dir())]
        dir: PathBuf,
        /// Only this case.
        #[arg(long)]
        only: Option<String>,
    },
    /// Regenerate in memory and compare byte for byte with the committed files.
    Check {
        /// The pcaps/ folder.
        #[arg(long, default_value_os_t = default_dir())]
        dir: PathBuf,
    },
    /// Write one case's capture to a file.
    Case {
        /// Case name.
        name: String,
        /// Output pcap path.
        #[arg(long)]
        out: PathBuf,
    },
    /// A plain Modbus/TCP polling capture (one session, N request/response pairs).
    Poll {
        /// Request/response pairs.
        #[arg(long, default_value_t = 100_000)]
        pairs: u64,
        /// Output pcap path.
        #[arg(long)]
        out: PathBuf,
        /// Seed.
        #[arg(long, default_value_t = big::DEFAULT_SEED)]
        seed: u64,
        /// The PLC acknowledges each request with a pure ACK before it
        /// answers (4 frames per transaction instead of 3).
        #[arg(long)]
        server_ack: bool,
    },
    /// Stream the big benchmark mix (Modbus + DNP3 + DNS + bulk TCP/UDP background).
    Big {
        /// Target size, e.g. 1G, 200M, 50000K.
        #[arg(long, default_value = "1G")]
        size: String,
        /// Output pcap path.
        #[arg(long)]
        out: PathBuf,
        /// Seed.
        #[arg(long, default_value_t = big::DEFAULT_SEED)]
        seed: u64,
    },
}

fn default_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    d.canonicalize().unwrap_or(d)
}

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::List => {
            for c in cases::CASES {
                println!("{:32} seed {:#x}", c.name, c.seed);
            }
        }
        Cmd::Regen { dir, only } => {
            let mut n = 0;
            for c in cases::CASES.iter().filter(|c| only.as_deref().is_none_or(|o| o == c.name)) {
                let (pcap, tallies) = cases::generate(c);
                let d = dir.join(c.name);
                fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
                fs::write(d.join("capture.pcap"), &pcap)?;
                fs::write(d.join("README.md"), cases::readme(c, &tallies))?;
                println!("{:32} {:>9} bytes  {}", c.name, pcap.len(), d.display());
                n += 1;
            }
            if n == 0 {
                bail!("no such case: {}", only.unwrap_or_default());
            }
            if only.is_none() {
                fs::write(dir.join("README.md"), cases::index_readme())?;
            }
        }
        Cmd::Check { dir } => {
            let mut bad = 0;
            for c in cases::CASES {
                for (file, ok) in cases::check_case(c, &dir.join(c.name)) {
                    if !ok {
                        eprintln!("DIFFERS: {}/{}/{}", dir.display(), c.name, file);
                        bad += 1;
                    }
                }
            }
            if fs::read(dir.join("README.md")).ok().as_deref() != Some(cases::index_readme().as_bytes()) {
                eprintln!("DIFFERS: {}/README.md", dir.display());
                bad += 1;
            }
            if bad > 0 {
                bail!("{bad} file(s) differ from the generator: run `centinela-pcapgen regen`");
            }
            println!("all {} cases byte-identical", cases::CASES.len());
        }
        Cmd::Case { name, out } => {
            let c = cases::find(&name).with_context(|| format!("no such case: {name}"))?;
            fs::write(&out, cases::generate(c).0)?;
        }
        Cmd::Poll { pairs, out, seed, server_ack } => {
            let stats = big::write_poll(&out, pairs, seed, server_ack)?;
            println!(
                "{}: {} bytes, {} frames, {pairs} Modbus transactions",
                out.display(),
                stats.bytes,
                stats.frames
            );
        }
        Cmd::Big { size, out, seed } => {
            let bytes = big::parse_size(&size).with_context(|| format!("bad size: {size}"))?;
            let t0 = Instant::now();
            let stats = big::write(&out, bytes, seed)?;
            let secs = t0.elapsed().as_secs_f64();
            println!(
                "{}: {} bytes, {} frames in {:.1} s ({:.0} MB/s)",
                out.display(),
                stats.bytes,
                stats.frames,
                secs,
                stats.bytes as f64 / 1e6 / secs.max(1e-9)
            );
        }
    }
    Ok(())
}
