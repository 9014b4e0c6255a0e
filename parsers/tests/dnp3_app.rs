//! DNP3 application layer: annotated fragments for every qualifier family,
//! the point decoders (negative analogs, floats, CROB, counters, time,
//! packed bits, attributes, octet strings, free-format), unknown objects,
//! bad qualifiers and ranges, every truncation length, semantic checks.
#![cfg(feature = "dnp3")]
#![allow(clippy::unwrap_used)]

use centinela_parsers::dnp3::Flags;
use centinela_parsers::dnp3::app::{
    Analog, Control, Error, Fragment, FunctionCode, Iin, Kind, Point, Prefix, Range, Value,
};

fn points(f: &Fragment<'_>) -> Vec<Vec<Point<'static>>> {
    // Detach from the fragment's lifetime for comparisons (values that
    // borrow octets are compared separately).
    f.objects().map(|h| h.points().map(|p| detach(p)).collect()).collect()
}

fn detach(p: Point<'_>) -> Point<'static> {
    // Byte-carrying values are compared separately; map them to None here.
    match p.value {
        Value::Bytes(_) | Value::Attribute { .. } => Point { index: p.index, value: Value::None },
        Value::Bit(b) => Point { index: p.index, value: Value::Bit(b) },
        Value::DoubleBit(b) => Point { index: p.index, value: Value::DoubleBit(b) },
        Value::Binary { flags, time, relative } => {
            Point { index: p.index, value: Value::Binary { flags, time, relative } }
        }
        Value::DoubleBitBinary { flags, time, relative } => {
            Point { index: p.index, value: Value::DoubleBitBinary { flags, time, relative } }
        }
        Value::Crob { code, count, on_ms, off_ms, status } => {
            Point { index: p.index, value: Value::Crob { code, count, on_ms, off_ms, status } }
        }
        Value::Counter { flags, value, time } => {
            Point { index: p.index, value: Value::Counter { flags, value, time } }
        }
        Value::Analog { flags, value, time } => {
            Point { index: p.index, value: Value::Analog { flags, value, time } }
        }
        Value::AnalogCommand { value, status } => {
            Point { index: p.index, value: Value::AnalogCommand { value, status } }
        }
        Value::Deadband(a) => Point { index: p.index, value: Value::Deadband(a) },
        Value::Time(t) => Point { index: p.index, value: Value::Time(t) },
        Value::TimeInterval { time, interval } => {
            Point { index: p.index, value: Value::TimeInterval { time, interval } }
        }
        Value::Delay(d) => Point { index: p.index, value: Value::Delay(d) },
        Value::None => Point { index: p.index, value: Value::None },
    }
}

fn pt(index: u32, value: Value<'static>) -> Point<'static> {
    Point { index, value }
}

/// READ class 1, 2, 3, 0 (g60v2..v4, g60v1), qualifier 0x06.
const READ_CLASSES: &[u8] = &[
    0xc1, 0x01, // FIR FIN seq 1, READ
    0x3c, 0x02, 0x06, 0x3c, 0x03, 0x06, 0x3c, 0x04, 0x06, 0x3c, 0x01, 0x06,
];

#[test]
fn read_request_headers_only() {
    let f = Fragment::parse(READ_CLASSES).unwrap();
    assert_eq!(f.control, Control { fir: true, fin: true, con: false, uns: false, seq: 1 });
    assert_eq!(f.function, FunctionCode::Read);
    assert_eq!(f.iin, None);
    assert!(f.flags.is_empty() && f.complete());
    assert_eq!(f.object_count, 4);
    let hs: Vec<(u8, u8, u8, Range)> =
        f.objects().map(|h| (h.group, h.variation, h.qualifier.raw(), h.range)).collect();
    assert_eq!(
        hs,
        vec![(60, 2, 6, Range::All), (60, 3, 6, Range::All), (60, 4, 6, Range::All), (60, 1, 6, Range::All)]
    );
    assert!(f.objects().all(|h| h.points().next().is_none() && h.kind == Kind::NoData));
    assert!(f.check(Some(true)).is_empty());
}

#[test]
fn read_with_index_list_0x17_and_ranges() {
    let frag = [
        0xc2, 0x01, // READ
        0x1e, 0x02, 0x17, 0x02, 0x03, 0x07, // g30v2, count 2, indexes 3 and 7
        0x01, 0x02, 0x01, 0x0a, 0x00, 0x14, 0x00, // g1v2, 16-bit start-stop 10..20
        0x14, 0x00, 0x08, 0x05, 0x00, // g20v0 (any variation), 16-bit count 5
    ];
    let f = Fragment::parse(&frag).unwrap();
    assert!(f.flags.is_empty(), "{}", f.flags);
    let hs: Vec<_> = f.objects().collect();
    assert_eq!(hs.len(), 3);
    assert_eq!(hs[0].range, Range::Count(2));
    assert_eq!(hs[0].qualifier.prefix(), Prefix::Index(1));
    assert_eq!(points(&f)[0], vec![pt(3, Value::None), pt(7, Value::None)]);
    assert_eq!(hs[1].range, Range::StartStop { start: 10, stop: 20 });
    assert_eq!(hs[1].count(), 11);
    assert_eq!(hs[2].range, Range::Count(5));
    assert!(hs[1].points().next().is_none());
}

/// RESPONSE with g30v2 (-5, 5) and g1v2 (on), IIN1 = need time + restart.
const RESPONSE: &[u8] = &[
    0xc1, 0x81, 0x90, 0x00, // FIR FIN seq 1, RESPONSE, IIN1=0x90 IIN2=0x00
    0x1e, 0x02, 0x00, 0x00, 0x01, // g30v2 start-stop 0..1
    0x01, 0xfb, 0xff, 0x01, 0x05, 0x00, // (online, -5) (online, 5)
    0x01, 0x02, 0x00, 0x04, 0x04, 0x81, // g1v2 4..4: online + state 1
];

#[test]
fn response_negative_analog_and_iin() {
    let f = Fragment::parse(RESPONSE).unwrap();
    assert_eq!(f.function, FunctionCode::Response);
    let iin = f.iin.unwrap();
    assert_eq!(iin, Iin { iin1: 0x90, iin2: 0 });
    assert_eq!(iin.names().collect::<Vec<_>>(), vec!["need_time", "device_restart"]);
    assert!(f.flags.is_empty());
    let p = points(&f);
    assert_eq!(
        p[0],
        vec![
            pt(0, Value::Analog { flags: Some(1), value: Analog::I16(-5), time: None }),
            pt(1, Value::Analog { flags: Some(1), value: Analog::I16(5), time: None }),
        ]
    );
    assert_eq!(format!("{}", Analog::I16(-5)), "-5");
    assert_eq!(p[1], vec![pt(4, Value::Binary { flags: 0x81, time: None, relative: None })]);
    assert_eq!(p[1][0].value.state(), Some(1));
}

#[test]
fn every_truncation_of_the_response() {
    for len in 0..=RESPONSE.len() {
        let r = Fragment::parse(&RESPONSE[..len]);
        match len {
            0 | 1 => assert_eq!(r, Err(Error::Incomplete { needed: 2 - len })),
            2 | 3 => assert_eq!(r, Err(Error::Incomplete { needed: 4 - len })),
            _ => {
                let f = r.unwrap();
                let (flags, count) = match len {
                    4 => (Flags::NONE, 0),
                    5..=14 => (Flags::TRUNCATED_OBJECT, 0),
                    15 => (Flags::NONE, 1),
                    16..=20 => (Flags::TRUNCATED_OBJECT, 1),
                    _ => (Flags::NONE, 2),
                };
                assert_eq!((f.flags, f.object_count), (flags, count), "len {len}");
                assert_eq!(f.objects().count(), count);
                assert_eq!(f.complete(), flags.is_empty());
            }
        }
    }
}

#[test]
fn analog_widths_floats_and_events() {
    let mut frag = vec![0xc0, 0x81, 0x00, 0x00];
    frag.extend_from_slice(&[0x1e, 0x01, 0x01, 0x0a, 0x00, 0x0b, 0x00]); // g30v1, 16-bit 10..11
    frag.extend_from_slice(&[0x01, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00, 0x80]); // -1, i32::MIN
    frag.extend_from_slice(&[0x1e, 0x05, 0x00, 0x02, 0x02, 0x01]); // g30v5 2..2
    frag.extend_from_slice(&(-1.5f32).to_le_bytes());
    frag.extend_from_slice(&[0x1e, 0x06, 0x07, 0x01, 0x01]); // g30v6 count 1
    frag.extend_from_slice(&(-2.25f64).to_le_bytes());
    frag.extend_from_slice(&[0x20, 0x07, 0x28, 0x01, 0x00, 0x05, 0x00, 0x01]); // g32v7, 2-byte index 5
    frag.extend_from_slice(&3.5f32.to_le_bytes());
    frag.extend_from_slice(&[0x10, 0x32, 0x54, 0x76, 0x98, 0x01]); // 48-bit time
    frag.extend_from_slice(&[0x1e, 0x04, 0x00, 0x00, 0x00, 0x00, 0x80]); // g30v4 (no flags) -32768
    let f = Fragment::parse(&frag).unwrap();
    assert!(f.flags.is_empty(), "{}", f.flags);
    let p = points(&f);
    assert_eq!(
        p[0],
        vec![
            pt(10, Value::Analog { flags: Some(1), value: Analog::I32(-1), time: None }),
            pt(11, Value::Analog { flags: Some(1), value: Analog::I32(i32::MIN), time: None }),
        ]
    );
    assert_eq!(p[1], vec![pt(2, Value::Analog { flags: Some(1), value: Analog::F32(-1.5), time: None })]);
    assert_eq!(p[2], vec![pt(0, Value::Analog { flags: Some(1), value: Analog::F64(-2.25), time: None })]);
    assert_eq!(
        p[3],
        vec![pt(
            5,
            Value::Analog { flags: Some(1), value: Analog::F32(3.5), time: Some(0x01_98_76_54_32_10) }
        )]
    );
    assert_eq!(p[4], vec![pt(0, Value::Analog { flags: None, value: Analog::I16(i16::MIN), time: None })]);
}

#[test]
fn crob_select_0x28_and_analog_output_0x17() {
    let frag = [
        0xc3, 0x03, // SELECT
        0x0c, 0x01, 0x28, 0x01, 0x00, // g12v1, 2-octet count 1, 2-octet index prefix
        0x03, 0x00, // index 3
        0x41, 0x01, 0xe8, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, // code, count, on 1000, off 0, status 0
        0x29, 0x02, 0x17, 0x01, 0x09, 0x9c, 0xff, 0x00, // g41v2, index 9, value -100, status 0
    ];
    let f = Fragment::parse(&frag).unwrap();
    assert!(f.flags.is_empty(), "{}", f.flags);
    let p = points(&f);
    assert_eq!(p[0], vec![pt(3, Value::Crob { code: 0x41, count: 1, on_ms: 1000, off_ms: 0, status: 0 })]);
    assert_eq!(p[1], vec![pt(9, Value::AnalogCommand { value: Analog::I16(-100), status: 0 })]);
}

#[test]
fn packed_bits_counters_time_and_0x39() {
    let mut frag = vec![0xc0, 0x81, 0x00, 0x00];
    frag.extend_from_slice(&[0x01, 0x01, 0x00, 0x00, 0x09, 0x0b, 0x01]); // g1v1 0..9: bits 1101 0000 | 1
    frag.extend_from_slice(&[0x03, 0x01, 0x00, 0x00, 0x03, 0xe4]); // g3v1 0..3: 0,1,2,3
    frag.extend_from_slice(&[0x14, 0x01, 0x00, 0x00, 0x00, 0x01, 0x78, 0x56, 0x34, 0x12]); // g20v1
    frag.extend_from_slice(&[0x15, 0x06, 0x39, 0x01, 0x00, 0x00, 0x00]); // g21v6, 4-byte count 1, 4-byte index
    frag.extend_from_slice(&[0x00, 0x00, 0x01, 0x00, 0x01, 0xff, 0xff, 1, 2, 3, 4, 5, 6]); // index 65536, flags, 65535, time
    frag.extend_from_slice(&[0x34, 0x02, 0x07, 0x01, 0x88, 0x13]); // g52v2 count 1: 5000 ms
    let f = Fragment::parse(&frag).unwrap();
    assert!(f.flags.is_empty(), "{}", f.flags);
    let p = points(&f);
    let bits: Vec<bool> = p[0].iter().map(|p| matches!(p.value, Value::Bit(true))).collect();
    assert_eq!(bits, vec![true, true, false, true, false, false, false, false, true, false]);
    assert_eq!(p[0].len(), 10);
    let dbl: Vec<Value<'_>> = p[1].iter().map(|p| p.value).collect();
    assert_eq!(dbl, vec![Value::DoubleBit(0), Value::DoubleBit(1), Value::DoubleBit(2), Value::DoubleBit(3)]);
    assert_eq!(p[2], vec![pt(0, Value::Counter { flags: Some(1), value: 0x1234_5678, time: None })]);
    assert_eq!(
        p[3],
        vec![pt(65536, Value::Counter { flags: Some(1), value: 65535, time: Some(0x0605_0403_0201) })]
    );
    assert_eq!(p[4], vec![pt(0, Value::Delay(5000))]);
}

#[test]
fn write_time_g50v1_count_0x07() {
    let frag = [0xc4, 0x02, 0x32, 0x01, 0x07, 0x01, 0x00, 0x10, 0x20, 0x30, 0x40, 0x01];
    let f = Fragment::parse(&frag).unwrap();
    assert!(f.flags.is_empty());
    assert_eq!(points(&f)[0], vec![pt(0, Value::Time(0x01_40_30_20_10_00))]);
}

#[test]
fn attributes_octet_strings_and_free_format() {
    let mut frag = vec![0xc0, 0x81, 0x00, 0x00];
    frag.extend_from_slice(&[0x00, 0xfc, 0x00, 0xfc, 0xfc, 0x01, 0x04, b'A', b'C', b'M', b'E']); // g0v252 "ACME"
    frag.extend_from_slice(&[0x6e, 0x04, 0x00, 0x00, 0x01]); // g110v4 0..1: two 4-octet strings
    frag.extend_from_slice(b"abcdwxyz");
    frag.extend_from_slice(&[0x78, 0x01, 0x5b, 0x01, 0x03, 0x00, 0xaa, 0xbb, 0xcc]); // g120v1 free format, 3 octets
    frag.extend_from_slice(&[0x29, 0x02, 0x1b, 0x01, 0x02, 0x34, 0x12, 0x00]); // g41v2 0x1B: index 2
    let f = Fragment::parse(&frag).unwrap();
    assert!(f.flags.is_empty(), "{}", f.flags);
    let hs: Vec<_> = f.objects().collect();
    let v0: Vec<_> = hs[0].points().map(|p| p.value).collect();
    assert_eq!(v0, vec![Value::Attribute { data_type: 1, value: b"ACME" }]);
    let v1: Vec<_> = hs[1].points().map(|p| p.value).collect();
    assert_eq!(v1, vec![Value::Bytes(b"abcd"), Value::Bytes(b"wxyz")]);
    assert_eq!(hs[2].qualifier.prefix(), Prefix::Size(2));
    let v2: Vec<_> = hs[2].points().map(|p| p.value).collect();
    assert_eq!(v2, vec![Value::Bytes(&[0xaa, 0xbb, 0xcc])]);
    let v3: Vec<_> = hs[3].points().collect();
    assert_eq!(
        v3,
        vec![Point { index: 2, value: Value::AnalogCommand { value: Analog::I16(0x1234), status: 0 } }]
    );
}

#[test]
fn unknown_object_stops_iteration_safely() {
    let mut frag = RESPONSE.to_vec();
    frag.extend_from_slice(&[0x63, 0x01, 0x00, 0x00, 0x00, 0x01]); // g99v1
    frag.extend_from_slice(&[0x01, 0x02, 0x00, 0x00, 0x00, 0x81]);
    let f = Fragment::parse(&frag).unwrap();
    assert_eq!(f.flags, Flags::UNKNOWN_OBJECT);
    assert_eq!(f.object_count, 2);
    assert_eq!(f.objects().count(), 2);
    assert!(!f.complete());
    // In a READ, an unknown group/variation is flagged but needs no size.
    let f = Fragment::parse(&[0xc0, 0x01, 0x63, 0x01, 0x06, 0x3c, 0x01, 0x06]).unwrap();
    assert_eq!((f.flags, f.object_count), (Flags::UNKNOWN_OBJECT, 2));
}

#[test]
fn bad_qualifiers_and_ranges() {
    for q in [0x0a, 0x0c, 0x0f, 0x70, 0x0b, 0x10, 0x16, 0x46] {
        let frag = [0xc0, 0x81, 0x00, 0x00, 0x1e, 0x02, q, 0x00, 0x00, 0x00];
        let f = Fragment::parse(&frag).unwrap();
        assert_eq!((f.flags, f.object_count), (Flags::BAD_QUALIFIER, 0), "qualifier {q:#04x}");
    }
    // Variable-size objects need a size prefix.
    let f = Fragment::parse(&[0xc0, 0x81, 0, 0, 0x46, 0x03, 0x07, 0x01, 0x00]).unwrap();
    assert_eq!(f.flags, Flags::BAD_QUALIFIER);
    // Data objects with "all" (0x06) in a response.
    let f = Fragment::parse(&[0xc0, 0x81, 0, 0, 0x1e, 0x02, 0x06]).unwrap();
    assert_eq!(f.flags, Flags::BAD_QUALIFIER);
    // start > stop
    let f = Fragment::parse(&[0xc0, 0x01, 0x1e, 0x02, 0x00, 0x05, 0x04]).unwrap();
    assert_eq!(f.flags, Flags::BAD_RANGE);
    // A huge count cannot fit: truncated, not an overflow.
    let f = Fragment::parse(&[0xc0, 0x81, 0, 0, 0x1e, 0x01, 0x09, 0xff, 0xff, 0xff, 0xff, 0x01]).unwrap();
    assert_eq!(f.flags, Flags::TRUNCATED_OBJECT);
    let f =
        Fragment::parse(&[0xc0, 0x81, 0, 0, 0x01, 0x01, 0x02, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]).unwrap();
    assert_eq!(f.flags, Flags::TRUNCATED_OBJECT);
}

#[test]
fn semantic_checks_are_a_separate_step() {
    // UNS on a READ, FIR missing on a request.
    let f = Fragment::parse(&[0x51, 0x01, 0x3c, 0x01, 0x06]).unwrap();
    assert!(f.flags.is_empty());
    assert_eq!(f.check(Some(true)), Flags::BAD_UNS | Flags::BAD_FIR_FIN);
    // Unsolicited response without UNS.
    let f = Fragment::parse(&[0xc0, 0x82, 0x00, 0x00]).unwrap();
    assert_eq!(f.check(Some(false)), Flags::BAD_UNS);
    let f = Fragment::parse(&[0xd0, 0x82, 0x00, 0x00]).unwrap();
    assert!(f.check(Some(false)).is_empty());
    // A response (with IIN) sent by a master; IIN2 reserved bits.
    let f = Fragment::parse(&[0xc0, 0x81, 0x00, 0xc0]).unwrap();
    assert_eq!(f.check(Some(true)), Flags::UNEXPECTED_IIN | Flags::IIN_RESERVED_BITS);
    // A request sent by an outstation.
    let f = Fragment::parse(READ_CLASSES).unwrap();
    assert_eq!(f.check(Some(false)), Flags::REQUEST_FROM_OUTSTATION);
    // Multi-fragment responses are fine.
    let f = Fragment::parse(&[0x80, 0x81, 0x00, 0x00]).unwrap();
    assert!(f.check(Some(false)).is_empty());
    // Confirm (of an unsolicited response) may carry UNS; objects are unexpected.
    let f = Fragment::parse(&[0xd0, 0x00]).unwrap();
    assert!(f.flags.is_empty() && f.check(Some(true)).is_empty());
    let f = Fragment::parse(&[0xc0, 0x00, 0x3c, 0x01, 0x06]).unwrap();
    assert_eq!(f.flags, Flags::UNEXPECTED_OBJECTS);
    // Open enum: an unknown function is a value and a flag.
    let f = Fragment::parse(&[0xc0, 0x70, 0x01, 0x02]).unwrap();
    assert_eq!(f.function, FunctionCode::Unknown(0x70));
    assert_eq!(f.flags, Flags::UNKNOWN_FUNCTION);
    assert_eq!(f.objects().count(), 0);
    assert_eq!(f.flags.names().collect::<Vec<_>>(), vec!["unknown_function"]);
}

#[test]
fn too_many_object_headers_is_bounded() {
    let mut frag = vec![0xc0, 0x01];
    for _ in 0..1100 {
        frag.extend_from_slice(&[0x3c, 0x01, 0x06]);
    }
    let f = Fragment::parse(&frag).unwrap();
    assert_eq!(f.flags, Flags::TOO_MANY_OBJECTS);
    assert_eq!(f.object_count, centinela_parsers::limits::dnp3::APP_MAX_OBJECT_HEADERS);
}

#[test]
fn function_codes_are_an_open_enum() {
    let defined: Vec<u8> =
        (0..=255u8).filter(|&b| !matches!(FunctionCode::from_u8(b), FunctionCode::Unknown(_))).collect();
    let mut want: Vec<u8> = (0x00..=0x21).collect();
    want.extend_from_slice(&[0x81, 0x82, 0x83]);
    assert_eq!(defined, want);
}
