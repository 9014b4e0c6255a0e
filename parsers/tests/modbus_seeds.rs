//! Capture-driven checks on every Modbus frame of the project's captures and
//! the corpus: the probe agrees with the framing the port implies, every
//! frame re-frames to itself, and no frame fails to parse. With
//! `CENTINELA_WRITE_FUZZ_SEEDS=1` it also writes the frames as seeds under
//! `fuzz/corpus/{modbus_adu,modbus_stream,modbus_rtu_probe}/` (gitignored).
#![cfg(feature = "modbus")]
#![allow(clippy::unwrap_used)]

#[allow(clippy::unnested_or_patterns, clippy::collapsible_if)] // shared helper, not ours to restyle
mod common;
mod modbus_support;

use centinela_parsers::modbus::{Adu, MbapFramer, ModbusFraming, RtuFramer, rtu};
use centinela_parsers::stream::{FrameStep, StreamFramer};
use modbus_support::{all_capture_files, capture_frames, fixtures, mbap, rtu_frame};

#[test]
fn capture_frames_reframe_and_parse() {
    let files = all_capture_files();
    let frames = capture_frames(&files);
    eprintln!("{} Modbus ADUs in {} capture files", frames.len(), files.len());
    assert!(!frames.is_empty(), "no Modbus frame found in the captures");
    let (mut mbap_n, mut rtu_n) = (0, 0);
    for c in &frames {
        match c.framing {
            ModbusFraming::Mbap => {
                mbap_n += 1;
                let step = MbapFramer::new().frame(&c.adu);
                assert_eq!(step, FrameStep::Frame { frame: &c.adu[..], consumed: c.adu.len() });
                Adu::parse(&c.adu, c.dir).unwrap_or_else(|e| panic!("{} #{}: {e}", c.file, c.frame));
            }
            ModbusFraming::Rtu => {
                rtu_n += 1;
                let step = RtuFramer::new(c.dir).frame(&c.adu);
                assert_eq!(step, FrameStep::Frame { frame: &c.adu[..], consumed: c.adu.len() });
                rtu::parse(&c.adu, c.dir).unwrap_or_else(|e| panic!("{} #{}: {e}", c.file, c.frame));
            }
        }
    }
    eprintln!("MBAP ADUs: {mbap_n}, RTU ADUs: {rtu_n}");
    if std::env::var_os("CENTINELA_WRITE_FUZZ_SEEDS").is_some() {
        write_seeds(&frames);
    }
}

fn write_seeds(frames: &[modbus_support::CaptureFrame]) {
    use std::collections::BTreeSet;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let mut unique: BTreeSet<(u8, Vec<u8>)> = BTreeSet::new();
    for c in frames {
        let sel = u8::from(c.dir == centinela_parsers::modbus::Direction::Response);
        unique.insert((sel, c.adu.clone()));
    }
    for (i, f) in fixtures().iter().enumerate() {
        let sel = u8::from(f.dir == centinela_parsers::modbus::Direction::Response);
        unique.insert((sel, mbap(i as u16, 0, 1, f.pdu)));
        unique.insert((sel, rtu_frame(1, f.pdu)));
    }
    for t in ["modbus_adu", "modbus_stream", "modbus_rtu_probe"] {
        std::fs::create_dir_all(root.join(t)).unwrap();
    }
    let mut stream = Vec::new();
    for (i, (sel, adu)) in unique.iter().enumerate().take(4000) {
        let mut seed = vec![*sel];
        seed.extend_from_slice(adu);
        std::fs::write(root.join("modbus_adu").join(format!("s{i:05}")), &seed).unwrap();
        std::fs::write(root.join("modbus_rtu_probe").join(format!("s{i:05}")), adu).unwrap();
        stream.extend_from_slice(adu);
        if stream.len() > 200 {
            let mut s = vec![(i % 32) as u8 | (sel << 6)];
            s.append(&mut stream);
            std::fs::write(root.join("modbus_stream").join(format!("s{i:05}")), &s).unwrap();
        }
    }
    eprintln!("wrote {} seeds", unique.len().min(4000));
}
