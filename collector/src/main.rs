//! `centinela-collector`: the CSIRT-side ingest service.
//!
//! ```text
//! centinela-collector init   --dir DIR [--host NAME]...   CA + server certificate + collector.toml
//! centinela-collector enroll SENSOR --dir DIR [--url URL] [--spool DIR]  client certificate + sensor config snippet
//! centinela-collector token  SENSOR                        bearer token + its hash for collector.toml
//! centinela-collector serve  --config FILE                 run the HTTPS service
//! ```

use centinela_collector::{config::CollectorConfig, pki, server};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage:
  centinela-collector init   --dir DIR [--host NAME]...     create a CA, a server certificate and DIR/collector.toml
  centinela-collector enroll SENSOR --dir DIR [--url URL] [--spool DIR]
                                                             issue a client certificate for SENSOR and print its [forward] config
  centinela-collector token  SENSOR                          print a new bearer token for SENSOR and the collector.toml entry
  centinela-collector serve  --config FILE                   run the HTTPS ingest and query service";

/// Name of the query-API client certificate that `init` issues.
const ADMIN_NAME: &str = "admin";

fn opt(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn opts(args: &[String], name: &str) -> Vec<String> {
    args.windows(2)
        .filter(|w| w.first().is_some_and(|a| a == name))
        .filter_map(|w| w.get(1).cloned())
        .collect()
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
}

fn abs(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

fn init(args: &[String]) -> Result<(), String> {
    let dir = PathBuf::from(opt(args, "--dir").ok_or("init: --dir DIR is required")?);
    let mut hosts = opts(args, "--host");
    if hosts.is_empty() {
        hosts = vec!["localhost".into(), "127.0.0.1".into()];
    }
    let files = pki::init(&dir, &hosts)?;
    let (admin_cert, admin_key) = pki::enroll(&dir, ADMIN_NAME)?;
    let admin = pki::random_token()?;
    let listen = opt(args, "--listen").unwrap_or_else(|| "127.0.0.1:8443".into());
    let cfg = format!(
        "# centinela-collector configuration (see docs/COLLECTOR.md); relative paths are relative to this file\n\
         listen = \"{listen}\"\n\
         db = \"events.db\"\n\
         client_ca_file = \"ca.pem\"\n\
         cert_file = \"server.pem\"\n\
         key_file = \"server.key\"\n\
         require_client_cert = true\n\
         admin_token_sha256 = \"{}\"\n\
         admin_cert_names = [\"{ADMIN_NAME}\"]\n",
        pki::token_hash(&admin)
    );
    let cfg_path = dir.join("collector.toml");
    std::fs::write(&cfg_path, cfg).map_err(|e| format!("{}: {e}", cfg_path.display()))?;
    let tok_path = dir.join("admin.token");
    std::fs::write(&tok_path, format!("{admin}\n")).map_err(|e| format!("{}: {e}", tok_path.display()))?;
    println!("CA certificate:     {}", abs(&files.ca_cert).display());
    println!("server certificate: {} (names: {})", abs(&files.server_cert).display(), hosts.join(", "));
    println!("server key:         {}", abs(&files.server_key).display());
    println!("configuration:      {}", abs(&cfg_path).display());
    println!(
        "admin token:        {} (also in {}; only its hash is in the configuration)",
        admin,
        abs(&tok_path).display()
    );
    println!("admin client cert:  {} (key {})", abs(&admin_cert).display(), abs(&admin_key).display());
    println!("next: centinela-collector enroll SENSOR --dir {}", dir.display());
    Ok(())
}

fn enroll(args: &[String]) -> Result<(), String> {
    let sensor = args.first().filter(|s| !s.starts_with("--")).ok_or("enroll: SENSOR name is required")?;
    if !valid_name(sensor) {
        return Err(format!("{sensor:?}: use 1-63 characters of a-z, 0-9, '-' and '.'"));
    }
    if sensor == ADMIN_NAME {
        return Err(format!("{ADMIN_NAME:?} is reserved for the query API client certificate"));
    }
    let dir = PathBuf::from(opt(args, "--dir").ok_or("enroll: --dir DIR is required")?);
    let url = opt(args, "--url").unwrap_or_else(|| "https://127.0.0.1:8443".into());
    let (cert, key) = pki::enroll(&dir, sensor)?;
    println!("# sensor configuration for {sensor} (centinela.toml)");
    let spool = opt(args, "--spool").unwrap_or_else(|| "/var/lib/centinela/spool".into());
    println!("[sensor]\nid = \"{sensor}\"\n");
    println!("[spool]\ndir = \"{spool}\"\n");
    println!("[forward]\nenabled = true\nurl = \"{url}\"");
    println!("ca_file = \"{}\"", abs(&dir.join("ca.pem")).display());
    println!("cert_file = \"{}\"", abs(&cert).display());
    println!("key_file = \"{}\"", abs(&key).display());
    Ok(())
}

fn token(args: &[String]) -> Result<(), String> {
    let sensor = args.first().ok_or("token: SENSOR name is required")?;
    if !valid_name(sensor) {
        return Err(format!("{sensor:?}: use 1-63 characters of a-z, 0-9, '-' and '.'"));
    }
    let t = pki::random_token()?;
    println!("# sensor side: put this line in the file named by [forward] token_file");
    println!("{t}");
    println!(
        "# collector side: add to collector.toml (set require_client_cert = false to allow token-only sensors)"
    );
    println!("[[sensors]]\nname = \"{sensor}\"\ntoken_sha256 = \"{}\"", pki::token_hash(&t));
    Ok(())
}

fn serve(args: &[String]) -> Result<(), String> {
    let path = PathBuf::from(opt(args, "--config").ok_or("serve: --config FILE is required")?);
    let cfg = CollectorConfig::load(&path)?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(server::serve(cfg))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or_default();
    let r = match args.first().map(String::as_str) {
        Some("init") => init(rest),
        Some("enroll") => enroll(rest),
        Some("token") => token(rest),
        Some("serve") => serve(rest),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("centinela-collector: error: {e}");
            ExitCode::from(2)
        }
    }
}
