//! Modbus decoder on annotated fixtures: parse, every truncation length,
//! RTU equivalence, request/response matching, zero allocation.
#![cfg(feature = "modbus")]
#![allow(clippy::unwrap_used)]

#[allow(clippy::unnested_or_patterns, clippy::collapsible_if)] // shared helper, not ours to restyle
mod common;
mod modbus_support;

use centinela_parsers::modbus::{
    Adu, Direction, Error, Flags, Invalid, PduBody, RequestSummary, Response, Value, rtu,
};
use modbus_support::{all_capture_files, capture_frames, fixtures, mbap, rtu_frame};

#[global_allocator]
static A: common::alloc::Counting = common::alloc::Counting;

#[test]
fn every_fixture_parses_as_annotated() {
    let fx = fixtures();
    assert!(fx.len() > 100, "{}", fx.len());
    for (i, f) in fx.iter().enumerate() {
        let bytes = mbap(i as u16, 0, 0x11, f.pdu);
        let adu = Adu::parse(&bytes, f.dir).unwrap_or_else(|e| panic!("{}: {e}", f.name));
        assert_eq!((adu.transaction_id, adu.protocol_id, adu.unit_id), (i as u16, 0, 0x11), "{}", f.name);
        assert_eq!(adu.pdu.flags, f.flags, "{}: {:?}", f.name, adu.pdu.body);
        assert_eq!(adu.flags, f.flags, "{}", f.name);
        assert!((f.check)(&adu.pdu.body), "{}: {:?}", f.name, adu.pdu.body);
        assert_eq!(adu.pdu.as_bytes(), f.pdu);
        assert_eq!(adu.pdu.function_byte(), f.pdu[0]);
        assert_eq!(adu.pdu.is_exception(), matches!(adu.pdu.body, PduBody::Exception(_)) || f.pdu == [0x83]);
    }
}

#[test]
fn every_truncation_is_incomplete_with_exact_need() {
    for (i, f) in fixtures().iter().enumerate() {
        let bytes = mbap(i as u16, 0, 1, f.pdu);
        for t in 0..bytes.len() {
            let needed = if t < 6 { 8 - t } else { bytes.len() - t };
            assert_eq!(
                Adu::parse(&bytes[..t], f.dir).unwrap_err(),
                Error::Incomplete { needed },
                "{} truncated to {t}",
                f.name
            );
        }
    }
}

#[test]
fn impossible_mbap_lengths_are_invalid() {
    for length in [0u16, 1, 255, 256, 0xFFFF] {
        let mut b = mbap(1, 0, 1, &[0x03, 0, 0, 0, 1]);
        b[4..6].copy_from_slice(&length.to_be_bytes());
        assert_eq!(
            Adu::parse(&b, Direction::Request).unwrap_err(),
            Error::Invalid(Invalid::MbapLength(length))
        );
    }
    // length 2 = unit + function code: the smallest ADU.
    let smallest = mbap(1, 0, 1, &[0x07]);
    let adu = Adu::parse(&smallest, Direction::Request).unwrap();
    assert!(adu.flags.is_empty());
}

#[test]
fn non_zero_protocol_id_and_trailing_bytes_are_flags() {
    let b = mbap(1, 0x0001, 1, &[0x03, 0, 0, 0, 1]);
    assert_eq!(Adu::parse(&b, Direction::Request).unwrap().flags, Flags::INVALID_PROTOCOL_ID);
    let mut b = mbap(1, 0, 1, &[0x03, 0, 0, 0, 1]);
    b.push(0);
    assert_eq!(Adu::parse(&b, Direction::Request).unwrap().flags, Flags::INVALID_LENGTH);
}

/// Fixtures whose PDU is well formed: their RTU form must decode to the same
/// body. (Malformed ones are delimited differently by RTU's length rules.)
fn rtu_comparable(f: &modbus_support::Fixture) -> bool {
    !f.flags.intersects(Flags::INVALID_LENGTH | Flags::BYTE_COUNT_MISMATCH)
}

#[test]
fn rtu_form_of_every_fixture_decodes_identically() {
    let mut n = 0;
    for f in fixtures().iter().filter(|f| rtu_comparable(f)) {
        let frame = rtu_frame(0x11, f.pdu);
        let adu = rtu::parse(&frame, f.dir).unwrap_or_else(|e| panic!("{}: {e}", f.name));
        assert_eq!(adu.address, 0x11);
        assert_eq!(adu.flags, f.flags, "{}", f.name);
        assert!((f.check)(&adu.pdu.body), "{}: {:?}", f.name, adu.pdu.body);
        assert_eq!(adu.crc, rtu::crc16(&frame[..frame.len() - 2]));
        let mut bad = frame.clone();
        *bad.last_mut().unwrap() ^= 0x40;
        assert!(rtu::parse(&bad, f.dir).unwrap().flags.contains(Flags::BAD_CRC), "{}", f.name);
        n += 1;
    }
    assert!(n > 90, "{n}");
}

#[test]
fn rtu_truncations_never_overshoot() {
    for f in fixtures().iter().filter(|f| rtu_comparable(f)) {
        let frame = rtu_frame(1, f.pdu);
        for t in 0..frame.len() {
            match rtu::parse(&frame[..t], f.dir) {
                Err(Error::Incomplete { needed }) => {
                    assert!(needed >= 1 && t + needed <= frame.len(), "{} at {t}: {needed}", f.name);
                    if t < 4 {
                        assert_eq!(needed, 4 - t);
                    }
                }
                // CRC-delimited functions (FC 8/0, 43/13, user/reserved):
                // a prefix is a (bad-CRC) frame of its own.
                Ok(adu) => assert!(adu.flags.contains(Flags::BAD_CRC), "{} at {t}", f.name),
                Err(e) => panic!("{} at {t}: {e}", f.name),
            }
        }
    }
}

fn parse_pair(req_pdu: &[u8], rsp_pdu: &[u8]) -> (RequestSummary, Vec<u8>) {
    let req = mbap(7, 0, 3, req_pdu);
    let s = Adu::parse(&req, Direction::Request).unwrap().request_summary().unwrap();
    (s, mbap(7, 0, 3, rsp_pdu))
}

#[test]
fn responses_get_addresses_from_their_request() {
    // §6.1: coils 20..=38 (0-based 0x13..), 19 bits.
    let (s, rsp) = parse_pair(&[0x01, 0x00, 0x13, 0x00, 0x13], &[0x01, 0x03, 0xCD, 0x6B, 0x05]);
    let adu = Adu::parse(&rsp, Direction::Response).unwrap();
    assert!(adu.check_response(&s).is_empty());
    let v: Vec<_> = adu.values_with_addresses(&s).unwrap().collect();
    assert_eq!(v.len(), 19);
    assert_eq!(v[0], (0x13, Value::Bit(true)));
    assert_eq!(v[1], (0x14, Value::Bit(false)));
    assert_eq!(v[18], (0x13 + 18, Value::Bit(true)));
    // §6.17: FC 23 values belong to the read range.
    let (s, rsp) = parse_pair(
        &[0x17, 0x00, 0x03, 0x00, 0x06, 0x00, 0x0E, 0x00, 0x03, 0x06, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF],
        &[0x17, 0x0C, 0x00, 0xFE, 0x0A, 0xCD, 0x00, 0x01, 0x00, 0x03, 0x00, 0x0D, 0x00, 0xFF],
    );
    let adu = Adu::parse(&rsp, Direction::Response).unwrap();
    assert!(adu.check_response(&s).is_empty());
    let v: Vec<_> = adu.values_with_addresses(&s).unwrap().collect();
    assert_eq!(v.first(), Some(&(3, Value::Register(0xFE))));
    assert_eq!(v.last(), Some(&(8, Value::Register(0xFF))));
    // A response with another transaction id does not match.
    let other = mbap(8, 0, 3, &[0x17, 0x02, 0x00, 0x01]);
    let adu = Adu::parse(&other, Direction::Response).unwrap();
    assert!(adu.values_with_addresses(&s).is_none());
    assert_eq!(adu.check_response(&s), Flags::RESPONSE_MISMATCH);
}

#[test]
fn write_requests_expose_addressed_values() {
    let req = mbap(1, 0, 1, &[0x10, 0x00, 0x01, 0x00, 0x02, 0x04, 0x00, 0x0A, 0x01, 0x02]);
    let adu = Adu::parse(&req, Direction::Request).unwrap();
    let v: Vec<_> = adu.pdu.written_values().unwrap().collect();
    assert_eq!(v, [(1, Value::Register(10)), (2, Value::Register(0x102))]);
    let req = mbap(1, 0, 1, &[0x05, 0x00, 0xAC, 0xFF, 0x00]);
    let v: Vec<_> = Adu::parse(&req, Direction::Request).unwrap().pdu.written_values().unwrap().collect();
    assert_eq!(v, [(0xAC, Value::Bit(true))]);
    let req = mbap(1, 0, 1, &[0x06, 0x00, 0x01, 0x00, 0x03]);
    let v: Vec<_> = Adu::parse(&req, Direction::Request).unwrap().pdu.written_values().unwrap().collect();
    assert_eq!(v, [(1, Value::Register(3))]);
}

/// Regression for Suricata's bug: register responses are 2×quantity bytes,
/// coil responses ceil(quantity/8); neither is checked with the other's rule.
#[test]
fn byte_count_rule_is_per_function() {
    // 10 holding registers → 20 bytes: no anomaly.
    let mut rsp = vec![0x03, 20];
    rsp.extend_from_slice(&[0u8; 20]);
    let (s, rsp) = parse_pair(&[0x03, 0x00, 0x00, 0x00, 0x0A], &rsp);
    let adu = Adu::parse(&rsp, Direction::Response).unwrap();
    assert!(adu.flags.is_empty() && adu.check_response(&s).is_empty());
    // …but ceil(10/8) = 2 bytes for registers is a mismatch.
    let (s, rsp) = parse_pair(&[0x03, 0x00, 0x00, 0x00, 0x0A], &[0x03, 0x02, 0x00, 0x00]);
    assert_eq!(Adu::parse(&rsp, Direction::Response).unwrap().check_response(&s), Flags::BYTE_COUNT_MISMATCH);
    // 10 coils → 2 bytes: fine; 20 bytes: mismatch.
    let (s, rsp) = parse_pair(&[0x01, 0x00, 0x00, 0x00, 0x0A], &[0x01, 0x02, 0xFF, 0x03]);
    assert!(Adu::parse(&rsp, Direction::Response).unwrap().check_response(&s).is_empty());
    let mut big = vec![0x01, 20];
    big.extend_from_slice(&[0u8; 20]);
    let big = mbap(7, 0, 3, &big);
    assert_eq!(Adu::parse(&big, Direction::Response).unwrap().check_response(&s), Flags::BYTE_COUNT_MISMATCH);
}

#[test]
fn flag_names_are_stable() {
    let names: Vec<_> = Flags::ALL.iter().map(|(_, n)| *n).collect();
    assert_eq!(
        names,
        [
            "invalid_length",
            "invalid_protocol_id",
            "quantity_out_of_range",
            "byte_count_mismatch",
            "invalid_exception_code",
            "unknown_function",
            "reserved_function",
            "user_defined_function",
            "bad_crc",
            "invalid_value",
            "address_overflow",
            "reserved_subfunction",
            "exception_in_request",
            "invalid_unit_id",
            "response_mismatch",
        ]
    );
}

/// Decode an ADU and touch every lazily decoded value.
fn decode_all(bytes: &[u8], dir: Direction, rtu_framed: bool) -> usize {
    let pdu = if rtu_framed {
        match rtu::parse(bytes, dir) {
            Ok(a) => a.pdu,
            Err(_) => return 0,
        }
    } else {
        match Adu::parse(bytes, dir) {
            Ok(a) => a.pdu,
            Err(_) => return 0,
        }
    };
    let mut n = pdu.flags.names().count();
    let summary =
        RequestSummary { transaction_id: 0, unit_id: 0, function: pdu.function, address: 0, quantity: 2000 };
    if let Some(v) = pdu.values_with_addresses(&summary) {
        n += v.count();
    }
    if let Some(v) = pdu.written_values() {
        n += v.count();
    }
    match pdu.body {
        PduBody::Response(Response::ReadDeviceId { objects, .. }) => n += objects.iter().count(),
        PduBody::Response(Response::ReadFileRecord { records, .. }) => {
            n += records.iter().map(|r| r.values.iter().count()).sum::<usize>();
        }
        PduBody::Response(Response::WriteFileRecord { records, .. }) => n += records.iter().count(),
        _ => {}
    }
    n
}

#[test]
fn zero_allocations_on_fixtures_and_captures() {
    let fx = fixtures();
    let mbaps: Vec<_> = fx.iter().enumerate().map(|(i, f)| (mbap(i as u16, 0, 1, f.pdu), f.dir)).collect();
    let rtus: Vec<_> = fx.iter().map(|f| (rtu_frame(1, f.pdu), f.dir)).collect();
    let captured = capture_frames(&all_capture_files());
    let (allocs, touched) = common::alloc::count(|| {
        let mut n = 0usize;
        for (b, d) in &mbaps {
            n += decode_all(b, *d, false);
        }
        for (b, d) in &rtus {
            n += decode_all(b, *d, true);
        }
        for c in &captured {
            n += decode_all(&c.adu, c.dir, c.framing == centinela_parsers::modbus::ModbusFraming::Rtu);
        }
        n
    });
    eprintln!(
        "zero-alloc: {} fixtures ×2 framings, {} capture ADUs, {touched} values touched",
        fx.len(),
        captured.len()
    );
    assert!(touched > 0);
    assert_eq!(allocs, 0);
}
