//! Modbus ADUs for the benchmarks, loaded from real captures: the project's
//! `pcaps/` first, then the shared corpus next to the repository, else a
//! small emitted request/response mix (the caller prints which).

pub use crate::Source;
use crate::{captures_under, payloads};
use centinela_parsers::modbus::{Direction, MbapFramer, ModbusFraming, RtuFramer, probe};
use centinela_parsers::stream::drive;
use std::path::{Path, PathBuf};

/// One ADU and who sent it.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Client → server (request) or server → client (response).
    pub dir: Direction,
    /// MBAP or RTU framing.
    pub framing: ModbusFraming,
    /// The ADU bytes.
    pub adu: Vec<u8>,
}

fn from_files(files: &[PathBuf]) -> Vec<Sample> {
    let mut out = Vec::new();
    for f in files {
        for crate::Payload { src_port: sp, dst_port: dp, bytes: payload, .. } in payloads(f) {
            let dir = match (sp, dp) {
                (_, 502) => Direction::Request,
                (502, _) => Direction::Response,
                _ => continue,
            };
            let Some(framing) = probe(&payload) else { continue };
            let mut push = |a: &[u8]| out.push(Sample { dir, framing, adu: a.to_vec() });
            let _ = match framing {
                ModbusFraming::Mbap => drive(&mut MbapFramer::new(), &payload, &mut push, |_, _| {}),
                ModbusFraming::Rtu => drive(&mut RtuFramer::new(dir), &payload, &mut push, |_, _| {}),
            };
        }
    }
    out
}

/// A spec-example request/response mix (FC 3, 1, 16, 6 and an exception).
fn emitted() -> Vec<Sample> {
    let mbap = |dir, pdu: &[u8]| {
        let mut v = vec![0, 1, 0, 0, 0, pdu.len() as u8 + 1, 1];
        v.extend_from_slice(pdu);
        Sample { dir, framing: ModbusFraming::Mbap, adu: v }
    };
    vec![
        mbap(Direction::Request, &[0x03, 0x00, 0x6B, 0x00, 0x03]),
        mbap(Direction::Response, &[0x03, 0x06, 0x02, 0x2B, 0x00, 0x00, 0x00, 0x64]),
        mbap(Direction::Request, &[0x01, 0x00, 0x13, 0x00, 0x13]),
        mbap(Direction::Response, &[0x01, 0x03, 0xCD, 0x6B, 0x05]),
        mbap(Direction::Request, &[0x10, 0x00, 0x01, 0x00, 0x02, 0x04, 0x00, 0x0A, 0x01, 0x02]),
        mbap(Direction::Response, &[0x10, 0x00, 0x01, 0x00, 0x02]),
        mbap(Direction::Request, &[0x06, 0x00, 0x01, 0x00, 0x03]),
        mbap(Direction::Response, &[0x83, 0x02]),
    ]
}

/// Load the benchmark samples and say where they came from.
pub fn load() -> (Source, Vec<Sample>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let project = from_files(&captures_under(&root.join("pcaps")));
    if !project.is_empty() {
        return (Source::ProjectCaptures, project);
    }
    let corpus = from_files(&captures_under(&root.join("../shared/corpus")));
    if !corpus.is_empty() {
        return (Source::Corpus, corpus);
    }
    (Source::Emitted, emitted())
}
