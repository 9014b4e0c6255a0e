#![no_main]
//! Modbus ADU decoding: MBAP (`Adu::parse`) and RTU (`rtu::parse`) in both
//! directions over arbitrary bytes, touching every lazy iterator and the
//! request/response matching helpers. Must never panic; invariants asserted.
use centinela_parsers::modbus::{Adu, Direction, Error, PduBody, RequestSummary, Response, rtu};

fn touch(pdu: &centinela_parsers::modbus::Pdu<'_>, req: &RequestSummary) -> usize {
    let mut n = pdu.flags.names().count();
    n += pdu.values_with_addresses(req).map_or(0, Iterator::count);
    n += pdu.written_values().map_or(0, Iterator::count);
    let _ = pdu.check_response(req);
    match pdu.body {
        PduBody::Response(Response::ReadDeviceId { objects, .. }) => n += objects.iter().count(),
        PduBody::Response(Response::ReadFileRecord { records, .. }) => {
            n += records.iter().map(|r| r.values.iter().count()).sum::<usize>();
        }
        PduBody::Response(Response::WriteFileRecord { records, .. }) => {
            n += records.iter().map(|r| r.values.len()).sum::<usize>();
        }
        PduBody::Response(Response::ReadBits { values, .. }) => n += values.iter().filter(|b| *b).count(),
        PduBody::Response(Response::ReadRegisters { values, .. }) => n += values.iter().count(),
        _ => {}
    }
    n
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&sel, bytes)) = data.split_first() else { return };
    let dir = if sel & 1 == 0 { Direction::Request } else { Direction::Response };
    let req = RequestSummary {
        transaction_id: u16::from(sel),
        unit_id: sel,
        function: centinela_parsers::modbus::FunctionCode::from(sel >> 1),
        address: u16::from(sel).wrapping_mul(257),
        quantity: u16::from(sel) * 8,
    };
    match Adu::parse(bytes, dir) {
        Ok(adu) => {
            let pdu = adu.pdu.as_bytes();
            assert!(!pdu.is_empty() && pdu.len() + 7 <= bytes.len());
            assert!(adu.flags.contains(adu.pdu.flags));
            let _ = adu.request_summary();
            let _ = adu.values_with_addresses(&req);
            touch(&adu.pdu, &req);
        }
        Err(Error::Incomplete { needed }) => assert!(needed >= 1),
        Err(_) => {}
    }
    match rtu::parse(bytes, dir) {
        Ok(adu) => {
            assert!(adu.pdu.as_bytes().len() + 3 <= bytes.len());
            touch(&adu.pdu, &req);
            let _ = adu.request_summary();
        }
        Err(Error::Incomplete { needed }) => assert!(needed >= 1),
        Err(_) => {}
    }
});
