//! Parser and reassembly edge cases: malformed frames, bad CRCs, awkward TCP
//! segmentation, out-of-order and retransmitted segments, IP fragments, VLAN tags, IPv6.

use super::{Case, ModbusLink, Tally, a_rec, modbus_reply, tally};
use crate::proto::dnp3::{self, Association, func, iin};
use crate::proto::dns::{self, rcode, rtype};
use crate::proto::modbus::{self, ExceptionCode, Request, Response, fc};
use crate::scenario::{Channel, Dir, FragmentOrder, FragmentPlan, Host, Ipv6Ext, Scenario, TcpSession};
use crate::wire::{VlanTag, tcp_flags};

const MS: u64 = 1_000;

fn hmi() -> Host {
    Host::v4([10, 10, 1, 10])
}

fn plc() -> Host {
    Host::v4([10, 10, 2, 21])
}

/// Malformed Modbus/TCP ADUs amid good transactions.
pub(super) const MODBUS_MALFORMED: Case = Case {
    name: "modbus-malformed",
    summary: "12 malformed ADUs (protocol id, lengths, counts, exception codes) amid good ones",
    headline: "12 malformed anomalies + 2 unframeable, good ones decoded",
    seed: 0xbad_0001,
    purpose: "Malformed Modbus/TCP ADUs between good transactions, HMI 10.10.1.10 to PLC 10.10.2.21:502. \
Connection 1 (each malformed ADU is framed correctly by its MBAP length, so the stream stays in sync): \
(a) request with protocol id 0x0001; (b) MBAP length 1 (unit id only, no function code); \
(c) FC 3 request with quantity 0 and (d) with quantity 126 (> 125); (e) FC 1 request for 2001 coils \
(> 2000); (f) FC 3 response whose byte count (6) disagrees with the 10 data bytes that follow; \
(g) FC 3 response with an odd byte count (5); (h) exception response with invalid code 0x11 and \
(i) with code 0x00; (j) function code 0x00 request; (k) FC 16 request whose byte count (4) disagrees \
with its quantity (3 registers); (l) exception response whose function code does not match the \
request's. Each is followed by a good FC 3 transaction. Connection 2: MBAP length 0 (unframeable) \
then one more good transaction in the same segment. Connection 3: MBAP length 300 (> 254, \
unframeable) with the connection then closed.",
    expect: "- Good transactions all decoded and paired (tally `good_transactions`); after each \
malformed ADU on connection 1 the next transaction decodes normally.\n\
- One malformed/invalid-field anomaly per item (a)-(l) on connection 1 (tally `malformed_adus` = 12), \
naming the field: protocol id, length, quantity, byte count, exception code, function code, \
request/response mismatch.\n\
- Connection 2: an unframeable-length anomaly; the parser must not guess a frame boundary \
(the transaction after it may be lost; it must not be mis-decoded).\n\
- Connection 3: an oversized-length anomaly; no buffering beyond the Modbus cap.\n\
- `tshark -r capture.pcap -Y modbus | wc -l` = 49 (Wireshark flags one frame Malformed: intended).",
    tshark: &[("modbus", 49), ("_ws.malformed", 1)],
    build: modbus_malformed,
};

fn modbus_malformed(sc: &mut Scenario, t: &mut Tally) {
    let (hmi, plc) = (hmi(), plc());
    let mut link = ModbusLink::connect(sc, &hmi, &plc, 1);
    let good = Request::ReadHoldingRegisters { start: 0, qty: 4 };
    let good_tx = |sc: &mut Scenario, link: &mut ModbusLink, t: &mut Tally| {
        link.transact(sc, &good);
        tally(t, "good_transactions", 1);
        sc.advance(100 * MS);
    };
    good_tx(sc, &mut link, t);
    let rd3 = modbus::request_pdu(&good);
    let ok3 = modbus::response_pdu(&Response::ReadHoldingRegisters { values: vec![1, 2, 3, 4] });
    let illegal = modbus::response_pdu(&Response::Exception {
        function: fc::READ_HOLDING_REGISTERS,
        code: ExceptionCode::IllegalDataValue,
    });
    // (request bytes, response bytes) per malformed item; tids continue the link's.
    let items: Vec<(Vec<u8>, Vec<u8>)> = {
        let mut tid = link.tid;
        let mut next = || {
            tid = tid.wrapping_add(1);
            tid
        };
        let mut v = Vec::new();
        let n = next();
        v.push((modbus::adu_raw(n, 1, 6, 1, &rd3), modbus::adu_raw(n, 1, 11, 1, &ok3)));
        let n = next();
        v.push((modbus::adu_raw(n, 0, 1, 1, &[]), modbus::adu(n, 1, &[0x80, 0x01])));
        let n = next();
        let q0 = modbus::request_pdu(&Request::ReadHoldingRegisters { start: 0, qty: 0 });
        v.push((modbus::adu(n, 1, &q0), modbus::adu(n, 1, &illegal)));
        let n = next();
        let q126 = modbus::request_pdu(&Request::ReadHoldingRegisters { start: 0, qty: 126 });
        v.push((modbus::adu(n, 1, &q126), modbus::adu(n, 1, &illegal)));
        let n = next();
        let c2001 = modbus::request_pdu(&Request::ReadCoils { start: 0, qty: 2001 });
        let exc1 = modbus::response_pdu(&Response::Exception {
            function: fc::READ_COILS,
            code: ExceptionCode::IllegalDataValue,
        });
        v.push((modbus::adu(n, 1, &c2001), modbus::adu(n, 1, &exc1)));
        let n = next();
        let rd5 = modbus::request_pdu(&Request::ReadHoldingRegisters { start: 0, qty: 5 });
        let mut bad_bc = vec![fc::READ_HOLDING_REGISTERS, 6];
        bad_bc.extend_from_slice(&[0, 1, 0, 2, 0, 3, 0, 4, 0, 5]);
        v.push((modbus::adu(n, 1, &rd5), modbus::adu(n, 1, &bad_bc)));
        let n = next();
        let rd2 = modbus::request_pdu(&Request::ReadHoldingRegisters { start: 0, qty: 2 });
        v.push((modbus::adu(n, 1, &rd2), modbus::adu(n, 1, &[fc::READ_HOLDING_REGISTERS, 5, 0, 1, 0, 2, 9])));
        let n = next();
        let exc11 = modbus::response_pdu(&Response::Exception {
            function: fc::READ_HOLDING_REGISTERS,
            code: ExceptionCode::Unknown(0x11),
        });
        v.push((modbus::adu(n, 1, &rd3), modbus::adu(n, 1, &exc11)));
        let n = next();
        let exc0 = modbus::response_pdu(&Response::Exception {
            function: fc::READ_HOLDING_REGISTERS,
            code: ExceptionCode::Unknown(0),
        });
        v.push((modbus::adu(n, 1, &rd3), modbus::adu(n, 1, &exc0)));
        let n = next();
        v.push((modbus::adu(n, 1, &[0x00, 0x00, 0x00]), modbus::adu(n, 1, &[0x80, 0x01])));
        let n = next();
        let fc16 = [fc::WRITE_MULTIPLE_REGISTERS, 0, 10, 0, 3, 4, 0, 1, 0, 2, 0, 3];
        v.push((modbus::adu(n, 1, &fc16), modbus::adu(n, 1, &[0x90, 0x03])));
        let n = next();
        let exc_wrong_fc = modbus::response_pdu(&Response::Exception {
            function: fc::WRITE_SINGLE_COIL,
            code: ExceptionCode::IllegalFunction,
        });
        v.push((modbus::adu(n, 1, &rd3), modbus::adu(n, 1, &exc_wrong_fc)));
        link.tid = tid;
        v
    };
    for (req, resp) in &items {
        link.ch.exchange(sc, req, resp);
        tally(t, "malformed_adus", 1);
        sc.advance(50 * MS);
        good_tx(sc, &mut link, t);
    }
    link.ch.close(sc);

    // Connection 2: MBAP length 0, then a good ADU in the same segment.
    sc.advance(500 * MS);
    let mut s = TcpSession::connect(sc, &hmi, &plc, modbus::PORT);
    let mut bytes = modbus::adu_raw(1, 0, 0, 1, &[]);
    bytes.extend(modbus::request(2, 1, &good));
    s.send(sc, Dir::ToServer, &bytes);
    sc.advance(4 * MS);
    s.send(sc, Dir::ToClient, &modbus::adu(2, 1, &ok3));
    sc.advance(MS);
    s.ack(sc, Dir::ToServer);
    tally(t, "unframeable_adus", 1);
    sc.advance(100 * MS);
    s.close(sc);

    // Connection 3: MBAP length 300, 300 bytes follow, then the client closes.
    sc.advance(500 * MS);
    let mut s = TcpSession::connect(sc, &hmi, &plc, modbus::PORT);
    let mut pdu = vec![fc::WRITE_MULTIPLE_REGISTERS];
    pdu.resize(299, 0x41);
    s.one_way(sc, Dir::ToServer, &modbus::adu_raw(1, 0, 300, 1, &pdu));
    tally(t, "unframeable_adus", 1);
    s.close(sc);
}

/// DNP3 frames with header and body CRC errors amid good ones.
pub(super) const DNP3_BAD_CRC: Case = Case {
    name: "dnp3-bad-crc",
    summary: "header/body CRC errors, garbage before a frame, LEN<5",
    headline: "5 damage anomalies, all later frames decoded",
    seed: 0xbad_0002,
    purpose: "DNP3 over TCP, master 10.20.1.10 (address 1) polling outstation 10.20.2.31 (address 10) \
every second, with link-layer damage: poll 3's request has a bad header CRC (the outstation does \
not answer); poll 6's response (a 3-block integrity response) has a bad CRC in data block 1; \
poll 9's response has a bad CRC in its last block; before poll 12's request, 7 bytes of garbage \
(including a false `05 64` sync) precede the frame in the same segment; poll 15's request is \
preceded by a frame whose LEN byte is 4 (< 5, invalid). All other frames are valid.",
    expect: "- One bad_header_crc anomaly (poll 3), two bad_body_crc anomalies (polls 6 and 9), \
one resync/garbage event (poll 12) and one invalid-length anomaly (poll 15) (tally `damaged_frames` = 5).\n\
- Every other frame decoded, including every frame after each damaged one (tally \
`good_transactions`); requests paired with responses.\n\
- `tshark -r capture.pcap -Y dnp3 | wc -l` = 36; tshark shows the CRC errors as expert warnings \
and the LEN=4 frame as Malformed (intended).",
    tshark: &[("dnp3", 36), ("_ws.malformed", 1)],
    build: dnp3_bad_crc,
};

fn dnp3_bad_crc(sc: &mut Scenario, t: &mut Tally) {
    let master = Host::v4([10, 20, 1, 10]);
    let out = Host::v4([10, 20, 2, 31]);
    let mut s = TcpSession::connect(sc, &master, &out, dnp3::PORT);
    let mut a = Association::new(1, 10);
    for poll in 1..=20u32 {
        let integrity = poll % 3 == 0;
        let objs = if integrity {
            dnp3::class_poll(true, true, true, true)
        } else {
            dnp3::class_poll(false, true, true, true)
        };
        let mut req = a.request(func::READ, &objs);
        let resp_objs =
            if integrity { super::normal::dnp3_static_data(sc, u64::from(poll)) } else { Vec::new() };
        let mut resp = a.response(0, &resp_objs);
        match poll {
            3 => {
                dnp3::corrupt_header_crc(&mut req);
                s.one_way(sc, Dir::ToServer, &req);
                tally(t, "damaged_frames", 1);
                sc.advance(1_000 * MS);
                continue;
            }
            6 => {
                dnp3::corrupt_block_crc(&mut resp, 1);
                tally(t, "damaged_frames", 1);
            }
            9 => {
                let blocks = usize::from(resp[2] - 5).div_ceil(16);
                dnp3::corrupt_block_crc(&mut resp, blocks - 1);
                tally(t, "damaged_frames", 1);
            }
            12 => {
                let mut g = vec![0x00, 0x05, 0x64, 0xFF, 0x13, 0x37, 0x42];
                g.extend_from_slice(&req);
                req = g;
                tally(t, "damaged_frames", 1);
            }
            15 => {
                let mut bad = dnp3::link_frame(dnp3::link::MASTER_UNCONFIRMED, 10, 1, &[]);
                bad[2] = 4;
                let c = dnp3::crc16(&bad[..8]);
                bad[8..10].copy_from_slice(&c.to_le_bytes());
                bad.extend_from_slice(&req);
                req = bad;
                tally(t, "damaged_frames", 1);
            }
            _ => {}
        }
        s.exchange(sc, &req, &resp);
        if !matches!(poll, 6 | 9) {
            tally(t, "good_transactions", 1);
        }
        sc.advance(1_000 * MS);
    }
    s.close(sc);
}

/// Modbus and DNP3 PDUs split at every offset.
pub(super) const TCP_AWKWARD_SPLITS: Case = Case {
    name: "tcp-awkward-splits",
    summary: "Modbus and DNP3 PDUs split at every offset, 1 byte/segment, coalesced",
    headline: "every PDU decoded once, 0 anomalies",
    seed: 0x5e9_0001,
    purpose: "Application PDUs split across TCP segments at every possible offset. Modbus (HMI \
10.10.1.10 -> PLC 10.10.2.21:502): an FC 16 request writing 20 registers (53-byte ADU) sent as two \
segments cut at offset k for every k in 1..=52, each answered normally; then one request sent one \
byte per segment; then three requests coalesced into one segment, and 2.5 requests per segment. \
DNP3 (master 10.20.1.10 -> outstation 10.20.2.31:20000): an integrity response (a multi-block \
link frame) sent as two segments cut at every offset 1..len-1; then one frame one byte per segment; \
then four requests coalesced into one segment.",
    expect: "- Every Modbus and DNP3 PDU decoded exactly once, with the same content as unsplit \
(tallies `modbus_transactions`, `dnp3_transactions`); 0 anomalies, no gaps.\n\
- The TCP byte streams are exact (check with `tshark -r capture.pcap -q -z follow,tcp,raw,0`). \
`tshark -r capture.pcap -Y dnp3 | wc -l` = 200 (one per completing segment); `-Y modbus` = 56 only: \
Wireshark's Modbus/TCP dissector does not reassemble a request whose first segment is split off \
(a Wireshark limitation, not a capture fault); the generator tallies are the truth.",
    tshark: &[("dnp3", 200), ("modbus", 56), ("_ws.malformed", 0)],
    build: tcp_awkward_splits,
};

fn tcp_awkward_splits(sc: &mut Scenario, t: &mut Tally) {
    let (hmi, plc) = (hmi(), plc());
    let mut s = TcpSession::connect(sc, &hmi, &plc, modbus::PORT);
    let values: Vec<u16> = (0..20).map(|i| 100 + i).collect();
    let req = Request::WriteMultipleRegisters { start: 40, values };
    let mut tid = 0u16;
    let mut txn = |sc: &mut Scenario, s: &mut TcpSession, cuts: &[usize], t: &mut Tally| {
        tid = tid.wrapping_add(1);
        let a = modbus::request(tid, 1, &req);
        let b = modbus::response(tid, 1, &modbus_reply(sc, &req));
        s.send_split(sc, Dir::ToServer, &a, cuts, 200);
        sc.advance(3 * MS);
        s.send(sc, Dir::ToClient, &b);
        sc.advance(200);
        s.ack(sc, Dir::ToServer);
        sc.advance(50 * MS);
        tally(t, "modbus_transactions", 1);
        a.len()
    };
    let len = modbus::request(0, 1, &req).len();
    for k in 1..len {
        txn(sc, &mut s, &[k], t);
    }
    let every: Vec<usize> = (1..len).collect();
    txn(sc, &mut s, &every, t);
    // Coalesced: three requests in one segment, then 2.5 per segment.
    let poll = Request::ReadHoldingRegisters { start: 0, qty: 2 };
    let mut batch = Vec::new();
    let mut resps = Vec::new();
    for _ in 0..3 {
        tid = tid.wrapping_add(1);
        batch.extend(modbus::request(tid, 1, &poll));
        resps.extend(modbus::response(tid, 1, &modbus_reply(sc, &poll)));
    }
    s.send(sc, Dir::ToServer, &batch);
    sc.advance(3 * MS);
    s.send(sc, Dir::ToClient, &resps);
    sc.advance(200);
    s.ack(sc, Dir::ToServer);
    tally(t, "modbus_transactions", 3);
    let mut batch = Vec::new();
    let mut resps = Vec::new();
    for _ in 0..5 {
        tid = tid.wrapping_add(1);
        batch.extend(modbus::request(tid, 1, &poll));
        resps.extend(modbus::response(tid, 1, &modbus_reply(sc, &poll)));
    }
    let half = batch.len() / 2;
    s.send_split(sc, Dir::ToServer, &batch, &[half], 300);
    sc.advance(3 * MS);
    let half = resps.len() / 2;
    s.send_split(sc, Dir::ToClient, &resps, &[half], 300);
    s.ack(sc, Dir::ToServer);
    tally(t, "modbus_transactions", 5);
    s.close(sc);

    let master = Host::v4([10, 20, 1, 10]);
    let out = Host::v4([10, 20, 2, 31]);
    let mut s = TcpSession::connect(sc, &master, &out, dnp3::PORT);
    let mut a = Association::new(1, 10);
    let mut n = 0u64;
    let mut one = |sc: &mut Scenario, s: &mut TcpSession, a: &mut Association, cut: Option<&[usize]>| {
        let req = a.request(func::READ, &dnp3::class_poll(true, true, true, true));
        let objs = super::normal::dnp3_static_data(sc, n);
        n += 1;
        let resp = a.response(0, &objs);
        s.send(sc, Dir::ToServer, &req);
        sc.advance(3 * MS);
        match cut {
            Some(c) => s.send_split(sc, Dir::ToClient, &resp, c, 200),
            None => s.send(sc, Dir::ToClient, &resp),
        }
        sc.advance(200);
        s.ack(sc, Dir::ToServer);
        sc.advance(50 * MS);
        resp.len()
    };
    let rlen = one(sc, &mut s, &mut a, None);
    tally(t, "dnp3_transactions", 1);
    for k in 1..rlen {
        one(sc, &mut s, &mut a, Some(&[k]));
        tally(t, "dnp3_transactions", 1);
    }
    let every: Vec<usize> = (1..rlen).collect();
    one(sc, &mut s, &mut a, Some(&every));
    tally(t, "dnp3_transactions", 1);
    let mut batch = Vec::new();
    let mut resps = Vec::new();
    for _ in 0..4 {
        batch.extend(a.request(func::READ, &dnp3::class_poll(false, true, true, true)));
        resps.extend(a.response(0, &[]));
    }
    s.send(sc, Dir::ToServer, &batch);
    sc.advance(3 * MS);
    s.send(sc, Dir::ToClient, &resps);
    s.ack(sc, Dir::ToServer);
    tally(t, "dnp3_transactions", 4);
    s.close(sc);
}

/// Out-of-order, retransmitted and overlapping segments.
pub(super) const TCP_OUT_OF_ORDER_RETRANS: Case = Case {
    name: "tcp-out-of-order-retrans",
    summary: "reordered, duplicated, overlapping and conflicting TCP segments",
    headline: "each PDU once, first copy wins, overlap-conflict anomalies",
    seed: 0x5e9_0002,
    purpose: "TCP delivery disorder on a Modbus session (10.10.1.10 -> 10.10.2.21:502) and a DNP3 \
session (10.20.1.10 -> 10.20.2.31:20000), each between normal transactions: (1) a request in two \
segments, the second captured before the first; (2) a request in three segments captured in order \
1, 3, 2; (3) a response captured twice (exact retransmission); (4) a request retransmitted with a \
partial overlap (first 10 bytes, then the whole PDU again); (5) a request whose retransmission \
overlaps the original with DIFFERENT data (a conflicting copy: unit id and function code changed \
to 0xFF 0x06 for Modbus, application function changed to DIRECT_OPERATE for DNP3), the original \
captured first; (6) a response segment arriving after the client's next request (server late).",
    expect: "- Every PDU decoded exactly once with its original content (tallies \
`modbus_transactions`, `dnp3_transactions`); retransmissions not double-counted.\n\
- Case (5): the first-seen bytes win (the original READ); one overlap-conflict \
(inconsistent retransmission) anomaly per protocol; never a write/operate event from the \
conflicting copy.\n\
- No gap reported. tshark flags the disorder as TCP expert warnings (16: out-of-order, \
retransmission, spurious retransmission) and, unlike Centinela must, decodes only \
`-Y modbus` = 13 and `-Y dnp3` = 1 frames.",
    tshark: &[("modbus", 13), ("dnp3", 1), ("_ws.malformed", 0)],
    build: tcp_ooo,
};

fn tcp_ooo(sc: &mut Scenario, t: &mut Tally) {
    // Modbus.
    let (hmi, plc) = (hmi(), plc());
    let mut s = TcpSession::connect(sc, &hmi, &plc, modbus::PORT);
    let poll = Request::ReadHoldingRegisters { start: 0, qty: 8 };
    let mut tid = 0u16;
    let mut mk = |sc: &mut Scenario| {
        tid += 1;
        (modbus::request(tid, 1, &poll), modbus::response(tid, 1, &modbus_reply(sc, &poll)))
    };
    let normal = |sc: &mut Scenario, s: &mut TcpSession, t: &mut Tally, pair: (Vec<u8>, Vec<u8>)| {
        s.exchange(sc, &pair.0, &pair.1);
        tally(t, "modbus_transactions", 1);
        sc.advance(100 * MS);
    };
    let p = mk(sc);
    normal(sc, &mut s, t, p);
    let p = mk(sc);
    disorder(sc, &mut s, t, &p.0, &p.1, None, "modbus_transactions");
    let p = mk(sc);
    normal(sc, &mut s, t, p);
    let p = mk(sc);
    let mut conflict = p.0.clone();
    conflict[6] = 0xFF;
    conflict[7] = fc::WRITE_SINGLE_REGISTER;
    disorder(sc, &mut s, t, &p.0, &p.1, Some(&conflict), "modbus_transactions");
    let p = mk(sc);
    normal(sc, &mut s, t, p);
    // (6) the response arrives after the client's next request.
    let p1 = mk(sc);
    let p2 = mk(sc);
    let (c0, s0) = (s.c_next, s.s_next);
    s.segment(sc, Dir::ToServer, c0, s0, tcp_flags::PSH | tcp_flags::ACK, &[], &p1.0);
    sc.advance(2 * MS);
    let c1 = c0.wrapping_add(p1.0.len() as u32);
    s.segment(sc, Dir::ToServer, c1, s0, tcp_flags::PSH | tcp_flags::ACK, &[], &p2.0);
    sc.advance(MS);
    let c2 = c1.wrapping_add(p2.0.len() as u32);
    s.segment(sc, Dir::ToClient, s0, c2, tcp_flags::PSH | tcp_flags::ACK, &[], &p1.1);
    let s1 = s0.wrapping_add(p1.1.len() as u32);
    s.segment(sc, Dir::ToClient, s1, c2, tcp_flags::PSH | tcp_flags::ACK, &[], &p2.1);
    s.skip(Dir::ToServer, p1.0.len() + p2.0.len());
    s.skip(Dir::ToClient, p1.1.len() + p2.1.len());
    sc.advance(200);
    s.ack(sc, Dir::ToServer);
    tally(t, "modbus_transactions", 2);
    let p = mk(sc);
    normal(sc, &mut s, t, p);
    s.close(sc);

    // DNP3.
    let master = Host::v4([10, 20, 1, 10]);
    let out = Host::v4([10, 20, 2, 31]);
    let mut s = TcpSession::connect(sc, &master, &out, dnp3::PORT);
    let mut a = Association::new(1, 10);
    for round in 0..3 {
        let req = a.request(func::READ, &dnp3::class_poll(true, true, true, true));
        let objs = super::normal::dnp3_static_data(sc, round);
        let resp = a.response(iin::CLASS1_EVENTS, &objs);
        if round == 1 {
            // Conflicting copy: same link header, function READ (1) -> DIRECT_OPERATE (5),
            // with the block CRC recomputed so the copy is itself a valid frame.
            let mut conflict = req.clone();
            conflict[12] = func::DIRECT_OPERATE;
            let blk_end = (10 + usize::from(conflict[2] - 5)).min(26);
            let c = dnp3::crc16(&conflict[10..blk_end]);
            conflict[blk_end..blk_end + 2].copy_from_slice(&c.to_le_bytes());
            disorder(sc, &mut s, t, &req, &resp, Some(&conflict), "dnp3_transactions");
        } else {
            disorder(sc, &mut s, t, &req, &resp, None, "dnp3_transactions");
        }
    }
    s.close(sc);
}

/// Cases (1)-(5) on one request/response pair, then the same pair shape again so that
/// every disorder kind is exercised: (1) reversed halves, (2) 1-3-2, (3) duplicate
/// response, (4) partial overlap, and (5) a conflicting overlap when `conflict` is set.
fn disorder(
    sc: &mut Scenario,
    s: &mut TcpSession,
    t: &mut Tally,
    req: &[u8],
    resp: &[u8],
    conflict: Option<&[u8]>,
    key: &'static str,
) {
    let pa = tcp_flags::PSH | tcp_flags::ACK;
    let (c0, s0) = (s.c_next, s.s_next);
    let cut = req.len() / 2;
    let at = |o: usize| c0.wrapping_add(o as u32);
    match conflict {
        None => {
            // (1) second half first.
            s.segment(sc, Dir::ToServer, at(cut), s0, pa, &[], &req[cut..]);
            sc.advance(300);
            s.segment(sc, Dir::ToServer, at(0), s0, pa, &[], &req[..cut]);
            sc.advance(300);
            // (4) partial overlap: the first 10 bytes again, then everything again.
            s.segment(sc, Dir::ToServer, at(0), s0, pa, &[], &req[..10.min(req.len())]);
            sc.advance(200);
            s.segment(sc, Dir::ToServer, at(0), s0, pa, &[], req);
        }
        Some(bad) => {
            // (5) the original, then a conflicting copy of the same bytes.
            s.segment(sc, Dir::ToServer, at(0), s0, pa, &[], req);
            sc.advance(300);
            s.segment(sc, Dir::ToServer, at(0), s0, pa, &[], bad);
        }
    }
    s.skip(Dir::ToServer, req.len());
    sc.advance(3 * MS);
    // (2) response in three pieces, captured 1, 3, 2; (3) then retransmitted whole.
    let (r1, r2) = (resp.len() / 3, 2 * resp.len() / 3);
    let c1 = s.c_next;
    let sat = |o: usize| s0.wrapping_add(o as u32);
    s.segment(sc, Dir::ToClient, sat(0), c1, pa, &[], &resp[..r1]);
    sc.advance(100);
    s.segment(sc, Dir::ToClient, sat(r2), c1, pa, &[], &resp[r2..]);
    sc.advance(100);
    s.segment(sc, Dir::ToClient, sat(r1), c1, pa, &[], &resp[r1..r2]);
    sc.advance(200 * MS);
    s.segment(sc, Dir::ToClient, sat(0), c1, pa, &[], resp);
    s.skip(Dir::ToClient, resp.len());
    sc.advance(200);
    s.ack(sc, Dir::ToServer);
    sc.advance(100 * MS);
    tally(t, key, 1);
}

/// Fragmented IPv4.
pub(super) const IPV4_FRAGMENTS: Case = Case {
    name: "ipv4-fragments",
    summary: "fragmented UDP DNS/DNP3 and TCP Modbus, tiny and overlapping fragments",
    headline: "all reassembled, 1 overlapping-fragment anomaly",
    seed: 0xf7a_0001,
    purpose: "IPv4 fragmentation: (1) a 1.4 kB DNS response (60 A records) from resolver 10.30.1.2 \
to 10.30.1.50 in 3 fragments in order; (2) the same size response in 4 fragments in reverse order; \
(3) a DNP3-over-UDP integrity response (10.20.2.31 -> 10.20.1.10, port 20000) in 4 fragments; (4) a \
Modbus FC 3 response of 125 registers on a TCP session (10.10.2.21 -> 10.10.1.10) in 3 fragments; \
(5) a Modbus request whose TCP header itself is split across 8-byte fragments (tiny-fragment \
evasion); (6) a DNS response with an overlapping fragment (bytes 8-15 of the UDP payload sent \
again as 0xEE, right after the first fragment: first-wins reassembly keeps the valid datagram).",
    expect: "- Every datagram/segment reassembled and decoded: 2 DNS responses + 1 overlapping, \
1 DNP3 response, 2 Modbus transactions over fragments (plus the unfragmented queries/requests).\n\
- One overlapping-fragment anomaly for (6) (conflicting data); the DNS message decoded from the \
first-received bytes; optionally a tiny-fragment anomaly for (5).\n\
- `tshark -r capture.pcap -Y dns | wc -l` = 6, `-Y dnp3` = 2, `-Y modbus` = 4 (tshark reassembles).",
    tshark: &[("dns", 6), ("dnp3", 2), ("modbus", 4), ("_ws.malformed", 0)],
    build: ipv4_fragments,
};

fn big_dns_response(id: u16, name: &str) -> Vec<u8> {
    let answers: Vec<_> = (0..60u8).map(|i| a_rec(name, 60, [198, 51, 100, i])).collect();
    dns::response(id, name, rtype::A, rcode::NOERROR, &answers)
}

fn ipv4_fragments(sc: &mut Scenario, t: &mut Tally) {
    let resolver = Host::v4([10, 30, 1, 2]);
    let client = Host::v4([10, 30, 1, 50]);
    for (i, plan) in
        [FragmentPlan::split(3), FragmentPlan { count: 4, order: FragmentOrder::Reverse, overlap: false }]
            .into_iter()
            .enumerate()
    {
        let id = 0x2000 + i as u16;
        let name = "cdn-pool.updates.example";
        let port = sc.ephemeral_port();
        sc.udp(&client, port, &resolver, dns::PORT, &dns::query(id, name, rtype::A));
        sc.advance(5 * MS);
        sc.udp_fragmented(&resolver, dns::PORT, &client, port, &big_dns_response(id, name), plan);
        tally(t, "fragmented_dns", 1);
        sc.advance(500 * MS);
    }
    // DNP3 over UDP.
    let master = Host::v4([10, 20, 1, 10]);
    let out = Host::v4([10, 20, 2, 31]);
    let mut a = Association::new(1, 10);
    let req = a.request(func::READ, &dnp3::class_poll(true, true, true, true));
    let mut objs = super::normal::dnp3_static_data(sc, 1);
    objs.extend(dnp3::analog_inputs_32(6, &[-1, -2, -3, -4, 5, 6, 7, 8, 9, 10]));
    let resp = a.response(0, &objs);
    sc.udp(&master, dnp3::PORT, &out, dnp3::PORT, &req);
    sc.advance(5 * MS);
    sc.udp_fragmented(&out, dnp3::PORT, &master, dnp3::PORT, &resp, FragmentPlan::split(4));
    tally(t, "fragmented_dnp3", 1);
    sc.advance(500 * MS);
    // Modbus over TCP: response fragmented; then a request with a split TCP header.
    let (hmi, plc) = (hmi(), plc());
    let mut s = TcpSession::connect(sc, &hmi, &plc, modbus::PORT);
    let big = Request::ReadHoldingRegisters { start: 0, qty: 125 };
    s.send(sc, Dir::ToServer, &modbus::request(1, 1, &big));
    sc.advance(4 * MS);
    let resp = modbus::response(1, 1, &modbus_reply(sc, &big));
    let (seq, ack) = s.seq_ack(Dir::ToClient);
    let seg = crate::wire::tcp(
        plc.ip,
        hmi.ip,
        &crate::wire::TcpFields {
            sport: s.sport,
            dport: s.cport,
            seq,
            ack,
            flags: tcp_flags::PSH | tcp_flags::ACK,
            window: s.window,
        },
        &[],
        &resp,
    );
    sc.emit_ip_fragments(&plc, &hmi, crate::wire::IPPROTO_TCP, &seg, FragmentPlan::split(3));
    s.skip(Dir::ToClient, resp.len());
    s.ack(sc, Dir::ToServer);
    tally(t, "fragmented_modbus", 1);
    sc.advance(200 * MS);
    let small = Request::ReadCoils { start: 0, qty: 8 };
    let req = modbus::request(2, 1, &small);
    let (seq, ack) = s.seq_ack(Dir::ToServer);
    let seg = crate::wire::tcp(
        hmi.ip,
        plc.ip,
        &crate::wire::TcpFields {
            sport: s.cport,
            dport: s.sport,
            seq,
            ack,
            flags: tcp_flags::PSH | tcp_flags::ACK,
            window: s.window,
        },
        &[],
        &req,
    );
    let count = seg.len().div_ceil(8);
    sc.emit_ip_fragments(&hmi, &plc, crate::wire::IPPROTO_TCP, &seg, FragmentPlan::split(count));
    s.skip(Dir::ToServer, req.len());
    sc.advance(3 * MS);
    let resp = modbus::response(2, 1, &modbus_reply(sc, &small));
    s.send(sc, Dir::ToClient, &resp);
    s.ack(sc, Dir::ToServer);
    tally(t, "fragmented_modbus", 1);
    s.close(sc);
    sc.advance(500 * MS);
    // Overlapping fragment.
    let name = "overlap.updates.example";
    let port = sc.ephemeral_port();
    sc.udp(&client, port, &resolver, dns::PORT, &dns::query(0x3000, name, rtype::A));
    sc.advance(5 * MS);
    let plan = FragmentPlan { count: 3, order: FragmentOrder::InOrder, overlap: true };
    sc.udp_fragmented(&resolver, dns::PORT, &client, port, &big_dns_response(0x3000, name), plan);
    tally(t, "overlapping_fragment_datagrams", 1);
}

/// VLAN tags.
pub(super) const VLAN_QINQ: Case = Case {
    name: "vlan-qinq",
    summary: "802.1Q, QinQ (88a8/8100), double 8100, same IPs on two VLANs",
    headline: "decoded through tags, flows keyed by VLAN, 0 anomalies",
    seed: 0x71a_0001,
    purpose: "802.1Q and QinQ tagging: Modbus polling on VLAN 10 (802.1Q); DNP3 polling in QinQ \
(outer 802.1ad 0x88A8 VLAN 100, inner 802.1Q VLAN 20); DNS on VLAN 30 with priority 5; Modbus on \
double 802.1Q (0x8100/0x8100, VLANs 200/10). Two PLCs with the SAME address 192.168.0.10, one on \
VLAN 11 and one on VLAN 12, are polled by the same HMI address 192.168.0.1 with the same client \
port: the flows differ only by VLAN.",
    expect: "- All traffic decoded through the tags; flows keyed by VLAN: the two 192.168.0.10 \
sessions are two flows with independent transaction ids and sequence numbers (no out-of-window \
or mismatch anomalies).\n\
- 0 anomalies. `tshark -r capture.pcap -Y dnp3 | wc -l` = 20, `-Y dns` = 10, `-Y modbus` = 60: \
Wireshark does not key TCP conversations by VLAN, so it merges the two 192.168.0.10 flows, \
reports \"ACKed unseen segment\" and drops 20 of the 80 Modbus PDUs; Centinela must decode all 80.",
    tshark: &[("modbus", 60), ("dnp3", 20), ("dns", 10), ("vlan.id==12", 36), ("_ws.malformed", 0)],
    build: vlan_qinq,
};

fn vlan_qinq(sc: &mut Scenario, t: &mut Tally) {
    let poll = Request::ReadHoldingRegisters { start: 0, qty: 6 };
    sc.tags = vec![VlanTag::dot1q(10)];
    let mut l = ModbusLink::connect(sc, &hmi(), &plc(), 1);
    for _ in 0..10 {
        l.transact(sc, &poll);
        sc.advance(500 * MS);
    }
    l.ch.close(sc);
    tally(t, "modbus_transactions", 10);

    sc.tags = vec![VlanTag::dot1ad(100), VlanTag::dot1q(20)];
    let master = Host::v4([10, 20, 1, 10]);
    let out = Host::v4([10, 20, 2, 31]);
    let mut o = super::normal::Dnp3Outstation {
        ch: Channel::Tcp(TcpSession::connect(sc, &master, &out, dnp3::PORT)),
        assoc: Association::new(1, 10),
        tick: 0,
        unsolicited: false,
    };
    for _ in 0..10 {
        super::normal::dnp3_poll_step(sc, &mut o, t);
        sc.advance(500 * MS);
    }
    o.ch.close(sc);

    sc.tags = vec![VlanTag { tpid: crate::wire::TPID_8021Q, pcp: 5, vid: 30 }];
    let resolver = Host::v4([10, 30, 1, 2]);
    let client = Host::v4([10, 30, 1, 50]);
    for i in 0..5u16 {
        let name = "historian.plant.local";
        super::dns_lookup(
            sc,
            &client,
            &resolver,
            0x100 + i,
            name,
            rtype::A,
            rcode::NOERROR,
            &[a_rec(name, 300, [10, 10, 1, 11])],
        );
        tally(t, "dns_transactions", 1);
        sc.advance(300 * MS);
    }

    sc.tags = vec![VlanTag::dot1q(200), VlanTag::dot1q(10)];
    let mut l = ModbusLink::connect(sc, &hmi(), &plc(), 1);
    for _ in 0..10 {
        l.transact(sc, &poll);
        sc.advance(500 * MS);
    }
    l.ch.close(sc);
    tally(t, "modbus_transactions", 10);

    // Same addresses and ports on two VLANs, interleaved.
    let h = Host::v4([192, 168, 0, 1]);
    let p = Host::v4([192, 168, 0, 10]);
    let port = sc.ephemeral_port();
    sc.tags = vec![VlanTag::dot1q(11)];
    let mut a = ModbusLink::connect_from(sc, &h, port, &p, 1);
    sc.tags = vec![VlanTag::dot1q(12)];
    let mut b = ModbusLink::connect_from(sc, &h, port, &p, 1);
    for i in 0..10 {
        sc.tags = vec![VlanTag::dot1q(11)];
        a.transact(sc, &poll);
        sc.tags = vec![VlanTag::dot1q(12)];
        b.transact(sc, &Request::ReadCoils { start: i, qty: 8 });
        sc.advance(500 * MS);
    }
    sc.tags = vec![VlanTag::dot1q(11)];
    a.ch.close(sc);
    sc.tags = vec![VlanTag::dot1q(12)];
    b.ch.close(sc);
    sc.tags.clear();
    tally(t, "modbus_transactions", 20);
}

/// IPv6 with extension headers.
pub(super) const IPV6: Case = Case {
    name: "ipv6",
    summary: "Modbus/DNP3/DNS over IPv6 with Hop-by-Hop, Destination options, fragments",
    headline: "all decoded, 0 anomalies",
    seed: 0x1b6_0001,
    purpose: "The three protocols over IPv6 (fd00:c0de::/64 unique-local addresses): Modbus polling \
over plain IPv6; DNP3 polling with a Destination Options extension header before TCP; DNS lookups \
(A and AAAA) with a Hop-by-Hop options header before UDP; one DNS response large enough to be \
sent as IPv6 fragments (Fragment extension header, 3 fragments).",
    expect: "- All traffic decoded through the extension headers and the IPv6 fragments; 0 anomalies.\n\
- `tshark -r capture.pcap -Y modbus | wc -l` = 20, `-Y dnp3` = 20, `-Y dns` = 12.",
    tshark: &[
        ("modbus", 20),
        ("dnp3", 20),
        ("dns", 12),
        ("ipv6.dstopts", 36),
        ("ipv6.hopopts", 10),
        ("ipv6.fraghdr", 3),
        ("_ws.malformed", 0),
    ],
    build: ipv6,
};

fn ipv6(sc: &mut Scenario, t: &mut Tally) {
    let addr = |last: u16| Host::v6(std::net::Ipv6Addr::new(0xfd00, 0xc0de, 0, 0, 0, 0, 0, last));
    let poll = Request::ReadInputRegisters { start: 0, qty: 4 };
    let mut l = ModbusLink::connect(sc, &addr(0x10), &addr(0x21), 1);
    for _ in 0..10 {
        l.transact(sc, &poll);
        sc.advance(500 * MS);
    }
    l.ch.close(sc);
    tally(t, "modbus_transactions", 10);

    sc.ipv6_ext = Some(Ipv6Ext::DestinationOptions);
    let mut o = super::normal::Dnp3Outstation {
        ch: Channel::Tcp(TcpSession::connect(sc, &addr(0x110), &addr(0x131), dnp3::PORT)),
        assoc: Association::new(1, 10),
        tick: 0,
        unsolicited: false,
    };
    for _ in 0..10 {
        super::normal::dnp3_poll_step(sc, &mut o, t);
        sc.advance(500 * MS);
    }
    o.ch.close(sc);

    sc.ipv6_ext = Some(Ipv6Ext::HopByHop);
    let (client, resolver) = (addr(0x250), addr(0x202));
    for i in 0..5u16 {
        let name = "historian.plant.local";
        let (qt, rd) = if i % 2 == 0 {
            (rtype::A, dns::Rdata::A([10, 10, 1, 11]))
        } else {
            (rtype::AAAA, dns::Rdata::Aaaa([0xfd, 0, 0xc0, 0xde, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11]))
        };
        super::dns_lookup(
            sc,
            &client,
            &resolver,
            0x600 + i,
            name,
            qt,
            rcode::NOERROR,
            &[dns::Record::new(name, 300, rd)],
        );
        tally(t, "dns_transactions", 1);
        sc.advance(300 * MS);
    }
    sc.ipv6_ext = None;
    let name = "cdn-pool.updates.example";
    let port = sc.ephemeral_port();
    sc.udp(&client, port, &resolver, dns::PORT, &dns::query(0x6100, name, rtype::A));
    sc.advance(5 * MS);
    sc.udp_fragmented(
        &resolver,
        dns::PORT,
        &client,
        port,
        &big_dns_response(0x6100, name),
        FragmentPlan::split(3),
    );
    tally(t, "dns_transactions", 1);
}
