//! Dump every detector event (EVE JSON, one per line) and the final stats
//! for each capture given, with the default configuration: a byte-exact
//! regression check for changes that must not alter results.
//!
//! ```text
//! cargo run -p centinela-detect --release --example dns_golden -- <pcap>... > before.txt
//! # change the detector, rebuild, run again, then: cmp before.txt after.txt
//! ```
#[path = "../tests/support/eval.rs"]
mod eval;

use centinela_detect::{DetectConfig, DnsExfilDetector};
use std::collections::HashSet;
use std::io::Write;
use std::net::IpAddr;
use std::path::Path;

fn main() -> std::io::Result<()> {
    let cfg = DetectConfig::default();
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    for a in std::env::args().skip(1) {
        let path = Path::new(&a);
        let mut det = DnsExfilDetector::new(&cfg);
        let mut out = Vec::new();
        let mut flows: HashSet<(IpAddr, IpAddr, u16, u16, u8)> = HashSet::new();
        let mut last_tick = i64::MIN;
        let mut name_buf = String::new();
        let mut last_ts = centinela_events::Timestamp::default();
        let mut n = 0u64;
        let r = eval::for_each_frame(path, |ts, lt, data| {
            last_ts = last_ts.max(ts);
            if ts.secs != last_tick {
                last_tick = ts.secs;
                det.tick(ts, false, &mut out);
            }
            let Some((src, dst, proto, sp, dp, syn, payload)) = eval::l3l4_pub(lt, data) else { return };
            if proto == 17 && (sp == 53 || dp == 53) {
                if let Some(o) = eval::observation(ts, src, dst, sp, dp, payload, &mut name_buf) {
                    n += 1;
                    det.observe(&o, &mut out);
                }
            } else if (proto == 6 && syn)
                || (proto == 17 && flows.len() < 1_000_000 && flows.insert((src, dst, sp, dp, proto)))
            {
                det.on_flow_start(ts, src, dst, dp);
            }
        });
        if let Err(e) = r {
            writeln!(w, "# {a}: read error: {e}")?;
        }
        det.tick(last_ts, true, &mut out);
        writeln!(w, "# {a}: {n} dns messages, {} events", out.len())?;
        for ev in &out {
            writeln!(w, "{}", serde_json::to_string(ev)?)?;
        }
        writeln!(w, "stats {}", det.stats())?;
    }
    w.flush()
}
