#![no_main]
//! MBAP/RTU probe: classify arbitrary first payloads; whatever it answers,
//! decoding with either parser (both directions) must not panic. An MBAP
//! verdict on a payload holding the whole ADU must parse as MBAP; an RTU
//! verdict must let the RTU framer frame a unit at offset 0 in some direction.
use centinela_parsers::modbus::{Adu, Direction, ModbusFraming, RtuFramer, probe, rtu};
use centinela_parsers::stream::{FrameStep, StreamFramer};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let verdict = probe(data);
    for dir in [Direction::Request, Direction::Response] {
        let m = Adu::parse(data, dir);
        let _ = rtu::parse(data, dir);
        let _ = rtu::expected_len(data, dir);
        if verdict == Some(ModbusFraming::Mbap) && data.len() >= 6 {
            let total = 6 + usize::from(u16::from_be_bytes([data[4], data[5]]));
            if data.len() >= total {
                assert!(m.is_ok(), "probe said MBAP but parse failed: {m:?}");
            }
        }
    }
    if verdict == Some(ModbusFraming::Rtu) {
        let frames = [Direction::Request, Direction::Response]
            .into_iter()
            .any(|d| matches!(RtuFramer::new(d).frame(data), FrameStep::Frame { .. }));
        assert!(frames, "probe said RTU but the framer does not frame offset 0");
    }
});
