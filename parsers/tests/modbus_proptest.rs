//! Round trips with proptest: random well-formed PDUs are emitted (by the
//! small emitter below, written from the spec independently of the parser),
//! wrapped in MBAP and RTU, parsed back, and every field compared; random
//! ADU sequences chunked at random survive the framers; arbitrary bytes never
//! panic any entry point.
#![cfg(feature = "modbus")]
#![allow(clippy::unwrap_used)]

#[allow(clippy::unnested_or_patterns, clippy::collapsible_if)] // shared helper, not ours to restyle
mod common;
mod modbus_support;

use centinela_parsers::modbus::{
    Adu, Direction, ExceptionCode, Flags, FunctionCode, MbapFramer, PduBody, Request, Response, RtuFramer,
    Value, probe, rtu,
};
use centinela_parsers::stream::drive;
use modbus_support::{mbap, rtu_frame};
use proptest::prelude::*;

/// A random well-formed PDU and what parsing it must give.
#[derive(Debug, Clone)]
enum Gen {
    Read { fc: u8, address: u16, quantity: u16 },
    WriteRegs { address: u16, values: Vec<u16> },
    WriteCoils { address: u16, values: Vec<bool> },
    ReadRegsRsp { fc: u8, values: Vec<u16> },
    ReadBitsRsp { fc: u8, values: Vec<bool> },
    Rw { ra: u16, rq: u16, wa: u16, values: Vec<u16> },
    Single { fc: u8, address: u16, value: u16 },
    Exception { fc: u8, code: u8 },
    Other { fc: u8, data: Vec<u8> },
}

fn pack(bits: &[bool]) -> Vec<u8> {
    let mut out = vec![0u8; bits.len().div_ceil(8)];
    for (i, b) in bits.iter().enumerate() {
        if *b {
            out[i / 8] |= 1 << (i % 8);
        }
    }
    out
}

fn regs(v: &[u16]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_be_bytes()).collect()
}

impl Gen {
    fn dir(&self) -> Direction {
        match self {
            Gen::ReadRegsRsp { .. } | Gen::ReadBitsRsp { .. } | Gen::Exception { .. } => Direction::Response,
            _ => Direction::Request,
        }
    }

    fn emit(&self) -> Vec<u8> {
        let mut p = Vec::new();
        match self {
            Gen::Read { fc, address, quantity } => {
                p.push(*fc);
                p.extend_from_slice(&address.to_be_bytes());
                p.extend_from_slice(&quantity.to_be_bytes());
            }
            Gen::WriteRegs { address, values } => {
                p.push(0x10);
                p.extend_from_slice(&address.to_be_bytes());
                p.extend_from_slice(&(values.len() as u16).to_be_bytes());
                p.push((values.len() * 2) as u8);
                p.extend(regs(values));
            }
            Gen::WriteCoils { address, values } => {
                p.push(0x0F);
                p.extend_from_slice(&address.to_be_bytes());
                p.extend_from_slice(&(values.len() as u16).to_be_bytes());
                let b = pack(values);
                p.push(b.len() as u8);
                p.extend(b);
            }
            Gen::ReadRegsRsp { fc, values } => {
                p.push(*fc);
                p.push((values.len() * 2) as u8);
                p.extend(regs(values));
            }
            Gen::ReadBitsRsp { fc, values } => {
                p.push(*fc);
                let b = pack(values);
                p.push(b.len() as u8);
                p.extend(b);
            }
            Gen::Rw { ra, rq, wa, values } => {
                p.push(0x17);
                for x in [*ra, *rq, *wa, values.len() as u16] {
                    p.extend_from_slice(&x.to_be_bytes());
                }
                p.push((values.len() * 2) as u8);
                p.extend(regs(values));
            }
            Gen::Single { fc, address, value } => {
                p.push(*fc);
                p.extend_from_slice(&address.to_be_bytes());
                p.extend_from_slice(&value.to_be_bytes());
            }
            Gen::Exception { fc, code } => p.extend_from_slice(&[fc | 0x80, *code]),
            Gen::Other { fc, data } => {
                p.push(*fc);
                p.extend_from_slice(data);
            }
        }
        p
    }

    /// Check the parse of `body`/`flags` against what was generated.
    fn check(&self, body: &PduBody<'_>, flags: Flags, function: FunctionCode) {
        let overflow =
            |a: u16, q: usize| if a as usize + q > 0x1_0000 { Flags::ADDRESS_OVERFLOW } else { Flags::EMPTY };
        match (self, body) {
            (Gen::Read { fc, address, quantity }, PduBody::Request(r)) => {
                assert_eq!(function.code(), *fc);
                match r {
                    Request::ReadBits { address: a, quantity: q }
                    | Request::ReadRegisters { address: a, quantity: q } => {
                        assert_eq!((a, q), (address, quantity));
                    }
                    other => panic!("{other:?}"),
                }
                assert_eq!(flags, overflow(*address, *quantity as usize));
            }
            (
                Gen::WriteRegs { address, values },
                PduBody::Request(Request::WriteMultipleRegisters { address: a, quantity, values: v, .. }),
            ) => {
                assert_eq!((*a, *quantity as usize), (*address, values.len()));
                assert!(v.iter().eq(values.iter().copied()));
                assert_eq!(flags, overflow(*address, values.len()));
            }
            (
                Gen::WriteCoils { address, values },
                PduBody::Request(Request::WriteMultipleCoils { address: a, quantity, values: v, .. }),
            ) => {
                assert_eq!((*a, *quantity as usize), (*address, values.len()));
                assert!(v.iter().eq(values.iter().copied()));
                assert_eq!(flags, overflow(*address, values.len()));
            }
            (
                Gen::ReadRegsRsp { fc, values },
                PduBody::Response(Response::ReadRegisters { values: v, .. }),
            ) => {
                assert_eq!(function.code(), *fc);
                assert!(v.iter().eq(values.iter().copied()));
                assert_eq!(flags, Flags::EMPTY);
            }
            (Gen::ReadBitsRsp { fc, values }, PduBody::Response(Response::ReadBits { values: v, .. })) => {
                assert_eq!(function.code(), *fc);
                assert!(v.with_len(values.len()).iter().eq(values.iter().copied()));
                assert_eq!(flags, Flags::EMPTY);
            }
            (
                Gen::Rw { ra, rq, wa, values },
                PduBody::Request(Request::ReadWriteMultipleRegisters {
                    read_address,
                    read_quantity,
                    write_address,
                    write_quantity,
                    values: v,
                    ..
                }),
            ) => {
                assert_eq!((read_address, read_quantity, write_address), (ra, rq, wa));
                assert_eq!(*write_quantity as usize, values.len());
                assert!(v.iter().eq(values.iter().copied()));
                assert_eq!(flags, overflow(*ra, *rq as usize) | overflow(*wa, values.len()));
            }
            (
                Gen::Single { fc: 6, address, value },
                PduBody::Request(Request::WriteSingleRegister { address: a, value: v }),
            ) => {
                assert_eq!((a, v), (address, value));
                assert_eq!(flags, Flags::EMPTY);
            }
            (
                Gen::Single { fc: 5, address, value },
                PduBody::Request(Request::WriteSingleCoil { address: a, value: v }),
            ) => {
                assert_eq!((a, v), (address, value));
                let bad = *value != 0 && *value != 0xFF00;
                assert_eq!(flags, if bad { Flags::INVALID_VALUE } else { Flags::EMPTY });
            }
            (Gen::Exception { fc, code }, PduBody::Exception(e)) => {
                assert_eq!((function.code(), e.code()), (*fc, *code));
                assert_eq!(
                    flags.contains(Flags::INVALID_EXCEPTION_CODE),
                    matches!(e, ExceptionCode::Unknown(_))
                );
            }
            (Gen::Other { fc, data }, PduBody::Other { data: d }) => {
                assert_eq!((function.code(), &d[..]), (*fc, &data[..]));
                assert!(flags.intersects(
                    Flags::USER_DEFINED_FUNCTION | Flags::RESERVED_FUNCTION | Flags::UNKNOWN_FUNCTION
                ));
            }
            (g, b) => panic!("{g:?} parsed as {b:?}"),
        }
    }
}

fn gen_strategy() -> impl Strategy<Value = Gen> {
    prop_oneof![
        (1u8..=2, any::<u16>(), 1u16..=2000).prop_map(|(fc, address, quantity)| Gen::Read {
            fc,
            address,
            quantity
        }),
        (3u8..=4, any::<u16>(), 1u16..=125).prop_map(|(fc, address, quantity)| Gen::Read {
            fc,
            address,
            quantity
        }),
        (any::<u16>(), prop::collection::vec(any::<u16>(), 1..=123))
            .prop_map(|(address, values)| Gen::WriteRegs { address, values }),
        (any::<u16>(), prop::collection::vec(any::<bool>(), 1..=1968))
            .prop_map(|(address, values)| Gen::WriteCoils { address, values }),
        (prop::sample::select(vec![3u8, 4, 23]), prop::collection::vec(any::<u16>(), 1..=125))
            .prop_map(|(fc, values)| Gen::ReadRegsRsp { fc, values }),
        (1u8..=2, prop::collection::vec(any::<bool>(), 1..=2000))
            .prop_map(|(fc, values)| Gen::ReadBitsRsp { fc, values }),
        (any::<u16>(), 1u16..=125, any::<u16>(), prop::collection::vec(any::<u16>(), 1..=121))
            .prop_map(|(ra, rq, wa, values)| Gen::Rw { ra, rq, wa, values }),
        (5u8..=6, any::<u16>(), prop_oneof![Just(0u16), Just(0xFF00u16), any::<u16>()])
            .prop_map(|(fc, address, value)| Gen::Single { fc, address, value }),
        (prop::sample::select(vec![1u8, 2, 3, 4, 5, 6, 15, 16, 23, 43]), any::<u8>())
            .prop_map(|(fc, code)| Gen::Exception { fc, code }),
        (
            prop::sample::select(vec![65u8, 72, 90, 91, 100, 110, 125, 30, 0]),
            prop::collection::vec(any::<u8>(), 0..=200)
        )
            .prop_map(|(fc, data)| Gen::Other { fc, data }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn mbap_round_trip(g in gen_strategy(), tid: u16, unit: u8) {
        let pdu = g.emit();
        let bytes = mbap(tid, 0, unit, &pdu);
        let adu = Adu::parse(&bytes, g.dir()).unwrap();
        prop_assert_eq!((adu.transaction_id, adu.unit_id, adu.protocol_id), (tid, unit, 0));
        g.check(&adu.pdu.body, adu.pdu.flags, adu.pdu.function);
        prop_assert_eq!(adu.flags, adu.pdu.flags);
        // The probe accepts any function code a device may plausibly send.
        let want = adu.pdu.function.is_plausible().then_some(centinela_parsers::modbus::ModbusFraming::Mbap);
        prop_assert_eq!(probe(&bytes), want);
    }

    #[test]
    fn rtu_round_trip(g in gen_strategy(), unit in 1u8..=247) {
        let pdu = g.emit();
        let frame = rtu_frame(unit, &pdu);
        let adu = rtu::parse(&frame, g.dir()).unwrap();
        prop_assert_eq!(adu.address, unit);
        g.check(&adu.pdu.body, adu.pdu.flags, adu.pdu.function);
        prop_assert!(!adu.flags.contains(Flags::BAD_CRC));
    }

    #[test]
    fn request_response_addresses(address in 0u16..=0xFF00, values in prop::collection::vec(any::<u16>(), 1..=125), tid: u16) {
        let req = mbap(tid, 0, 1, &Gen::Read { fc: 3, address, quantity: values.len() as u16 }.emit());
        let rsp = mbap(tid, 0, 1, &Gen::ReadRegsRsp { fc: 3, values: values.clone() }.emit());
        let s = Adu::parse(&req, Direction::Request).unwrap().request_summary().unwrap();
        let r = Adu::parse(&rsp, Direction::Response).unwrap();
        prop_assert!(r.check_response(&s).is_empty());
        let got: Vec<_> = r.values_with_addresses(&s).unwrap().collect();
        let want: Vec<_> = values.iter().enumerate().map(|(i, v)| (address + i as u16, Value::Register(*v))).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn framers_survive_random_chunking(gs in prop::collection::vec(gen_strategy(), 1..12), cuts in prop::collection::vec(1usize..64, 1..40)) {
        let adus: Vec<Vec<u8>> = gs.iter().enumerate().map(|(i, g)| mbap(i as u16, 0, 1, &g.emit())).collect();
        let stream = adus.concat();
        let mut framer = MbapFramer::new();
        let mut buf = Vec::new();
        let mut got = Vec::new();
        let mut pos = 0;
        let mut ci = 0;
        while pos < stream.len() {
            let n = cuts[ci % cuts.len()].min(stream.len() - pos);
            ci += 1;
            buf.extend_from_slice(&stream[pos..pos + n]);
            pos += n;
            let (used, _) = drive(&mut framer, &buf, |f| got.push(f.to_vec()), |_, e| panic!("{e:?}"));
            buf.drain(..used);
        }
        prop_assert_eq!(got, adus);
        // RTU: one direction per stream
        let reqs: Vec<Vec<u8>> = gs.iter().filter(|g| g.dir() == Direction::Request && !matches!(g, Gen::Other { fc: 0 | 30, .. })).map(|g| rtu_frame(1, &g.emit())).collect();
        let stream = reqs.concat();
        let mut framer = RtuFramer::new(Direction::Request);
        let mut got = Vec::new();
        let mut buf = Vec::new();
        for chunk in stream.chunks(cuts[0]) {
            buf.extend_from_slice(chunk);
            let (used, _) = drive(&mut framer, &buf, |f| got.push(f.to_vec()), |_, _| {});
            buf.drain(..used);
        }
        // CRC-delimited (user/reserved) frames have no length field: a frame
        // whose proper prefix happens to end in a valid CRC (probability
        // ~2^-16 per byte) is genuinely ambiguous on the wire, and what
        // follows it may be framed differently. Only unambiguous streams are
        // compared; all of them must come back exactly.
        let ambiguous = reqs.iter().any(|f| {
            (4..f.len()).any(|k| rtu::crc16(&f[..k - 2]).to_le_bytes() == [f[k - 2], f[k - 1]])
        });
        if !ambiguous {
            prop_assert_eq!(got, reqs);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        for dir in [Direction::Request, Direction::Response] {
            let _ = Adu::parse(&bytes, dir).map(|a| a.pdu.written_values().map(Iterator::count));
            let _ = rtu::parse(&bytes, dir);
            let _ = drive(&mut RtuFramer::new(dir), &bytes, |_| {}, |_, _| {});
        }
        let _ = drive(&mut MbapFramer::new(), &bytes, |f| { Adu::parse(f, Direction::Request).unwrap(); }, |_, _| {});
        let _ = probe(&bytes);
    }
}
