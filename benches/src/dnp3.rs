//! DNP3 link frames for the benchmarks, loaded from real captures: the
//! project's `pcaps/` first, then the shared corpus next to the repository,
//! else frames emitted in code (the caller prints which).

pub use crate::Source;
use crate::{captures_under, payloads};
use centinela_parsers::dnp3::link;
use std::path::{Path, PathBuf};

/// The DNP3 port.
const PORT: u16 = 20000;

/// One link frame and the direction (index into the loaded directions) it
/// travelled in, in capture order.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Direction index (one per capture file and port pair).
    pub dir: usize,
    /// The whole frame on the wire (header, data, CRCs).
    pub frame: Vec<u8>,
}

fn from_files(files: &[PathBuf]) -> (usize, Vec<Sample>) {
    let mut out = Vec::new();
    let mut dirs: Vec<(usize, u16, u16)> = Vec::new();
    for (fi, f) in files.iter().enumerate() {
        for crate::Payload { src_port: sp, dst_port: dp, bytes: payload, .. } in payloads(f) {
            if (sp != PORT && dp != PORT) || payload.is_empty() {
                continue;
            }
            let key = (fi, sp, dp);
            let dir = dirs.iter().position(|k| *k == key).unwrap_or_else(|| {
                dirs.push(key);
                dirs.len() - 1
            });
            for fr in link::frames(&payload).flatten() {
                out.push(Sample { dir, frame: fr.as_bytes().to_vec() });
            }
        }
    }
    (dirs.len(), out)
}

/// A READ and a two-block response with analogs, emitted in code.
fn emitted() -> (usize, Vec<Sample>) {
    let mut buf = [0u8; link::MAX_FRAME];
    let mut frame = |ctrl: u8, ud: &[u8]| {
        let n = link::emit(link::Control::from_u8(ctrl), 10, 1, ud, &mut buf).unwrap_or(0);
        buf[..n].to_vec()
    };
    let read = frame(0xc4, &[0xc0, 0xc1, 0x01, 0x3c, 0x01, 0x06]);
    let mut resp = vec![0xc0, 0xc1, 0x81, 0x00, 0x00, 0x1e, 0x02, 0x00, 0x00, 0x3f];
    for i in 0..64u16 {
        resp.push(0x01);
        resp.extend_from_slice(&i.wrapping_mul(977).to_le_bytes());
    }
    let resp = frame(0x44, &resp);
    (2, vec![Sample { dir: 0, frame: read }, Sample { dir: 1, frame: resp }])
}

/// The frames of the shared corpus' DNP3 captures (`../shared/corpus`), if
/// present: a larger and more varied set than the project's captures.
pub fn load_corpus() -> Option<(usize, Vec<Sample>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    let files: Vec<PathBuf> = captures_under(&root)
        .into_iter()
        .filter(|p| p.to_string_lossy().to_ascii_lowercase().contains("dnp3"))
        .collect();
    let (n, s) = from_files(&files);
    (!s.is_empty()).then_some((n, s))
}

/// On-CPU time (user + system) of the calling thread in nanoseconds, from
/// Linux `/proc/thread-self/stat` (10 ms resolution), to report throughput
/// per CPU second on a loaded machine where wall-clock figures understate it.
pub fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let after = s.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat(5) are utime and stime; `after` starts at field 3.
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks * 10_000_000)
}

/// Load the benchmark frames (number of directions, frames) and say where
/// they came from.
pub fn load() -> (Source, usize, Vec<Sample>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let project: Vec<PathBuf> = captures_under(&root.join("pcaps"))
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("dnp3"))
        .collect();
    let (n, s) = from_files(&project);
    if !s.is_empty() {
        return (Source::ProjectCaptures, n, s);
    }
    if let Some((n, s)) = load_corpus() {
        return (Source::Corpus, n, s);
    }
    let (n, s) = emitted();
    (Source::Emitted, n, s)
}
