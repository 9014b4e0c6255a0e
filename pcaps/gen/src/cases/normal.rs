//! Normal polling cases: what a quiet plant looks like.

use super::{Case, ModbusLink, Tally, a_rec, dns_lookup, tally};
use crate::proto::dnp3::{self, Association, func, iin};
use crate::proto::dns::{self, Message, Question, Rdata, Record, rcode, rtype};
use crate::proto::modbus::{self, Request};
use crate::scenario::{Channel, Dir, Host, Periodic, Scenario, TcpSession, run_periodic};

const SEC: u64 = 1_000_000;
const MS: u64 = 1_000;

/// Several Modbus masters polling several PLCs.
pub(super) const MODBUS_POLLING: Case = Case {
    name: "modbus-polling",
    summary: "HMI + historian polling 3 PLCs (FC 1-4, FC 6 set-points), 60 s",
    headline: "617 transactions, 0 anomalies",
    seed: 0x4d42_0001,
    purpose: "Normal Modbus/TCP polling: an HMI (10.10.1.10) and a historian (10.10.1.11) poll three \
PLCs (10.10.2.21-23, unit ids 1, 1 and 5) over long-lived TCP connections with handshakes. The HMI reads \
holding registers and coils every 1 s (±20 ms jitter) and input registers and discrete inputs every 2 s; \
the historian reads 50 holding registers and 20 input registers every 5 s (±100 ms); the HMI writes one \
set-point (FC 6) to PLC 10.10.2.21 every 20 s. 60 s of traffic, then every connection is closed with FIN.",
    expect: "- Every transaction decoded: request and response paired by transaction id \
(see the tally `modbus_transactions`); `tshark -r capture.pcap -Y modbus | wc -l` = 2 x 617 = 1234.\n\
- 0 anomalies, 0 alerts. The write set-points come from the HMI that writes them in every window, \
so a baseline learned on this capture contains them.\n\
- 9 TCP connections (HMI fast loop, HMI slow loop and historian to each PLC), all with three-way handshake and FIN close; no gaps.",
    tshark: &[("modbus", 1234), ("_ws.malformed", 0)],
    build: modbus_polling,
};

fn modbus_polling(sc: &mut Scenario, t: &mut Tally) {
    let hmi = Host::v4([10, 10, 1, 10]);
    let historian = Host::v4([10, 10, 1, 11]);
    let plcs =
        [(Host::v4([10, 10, 2, 21]), 1u8), (Host::v4([10, 10, 2, 22]), 1), (Host::v4([10, 10, 2, 23]), 5)];
    struct Job {
        link: ModbusLink,
        reqs: Vec<Request>,
        setpoint: bool,
        cycle: u64,
    }
    let mut jobs = Vec::new();
    // HMI fast loop (1 s) and slow loop (2 s), each on its own connection per PLC so
    // that every stream stays strictly request/response; then the historian (5 s).
    let loops: [(&Host, u64, u64, u64, [Request; 2]); 3] = [
        (
            &hmi,
            0,
            SEC,
            20 * MS,
            [Request::ReadHoldingRegisters { start: 0, qty: 10 }, Request::ReadCoils { start: 0, qty: 16 }],
        ),
        (
            &hmi,
            300 * MS,
            2 * SEC,
            20 * MS,
            [
                Request::ReadInputRegisters { start: 0, qty: 8 },
                Request::ReadDiscreteInputs { start: 0, qty: 16 },
            ],
        ),
        (
            &historian,
            700 * MS,
            5 * SEC,
            100 * MS,
            [
                Request::ReadHoldingRegisters { start: 100, qty: 50 },
                Request::ReadInputRegisters { start: 30, qty: 20 },
            ],
        ),
    ];
    for (li, (master, offset, period, jitter, reqs)) in loops.iter().enumerate() {
        for (i, (plc, unit)) in plcs.iter().enumerate() {
            let link = ModbusLink::connect(sc, master, plc, *unit);
            let setpoint = li == 0 && i == 0;
            let job = Job { link, reqs: reqs.to_vec(), setpoint, cycle: 0 };
            jobs.push(Periodic::new(sc, offset + 50 * MS * i as u64, *period, *jitter, job));
            sc.advance(3 * MS);
        }
    }
    let end = sc.now() + 60 * SEC;
    let mut writes = 0u64;
    let mut n = 0u64;
    run_periodic(sc, &mut jobs, end, |sc, job| {
        job.cycle += 1;
        for r in &job.reqs {
            job.link.transact(sc, r);
            n += 1;
        }
        if job.setpoint && job.cycle % 20 == 0 {
            let v = 1200 + sc.rng.below(50) as u16;
            job.link.transact(sc, &Request::WriteSingleRegister { addr: 3, value: v });
            writes += 1;
            n += 1;
        }
    });
    for j in &mut jobs {
        j.state.link.ch.close(sc);
    }
    tally(t, "modbus_transactions", n);
    tally(t, "modbus_setpoint_writes", writes);
    tally(t, "tcp_connections", jobs.len() as u64);
}

/// Integrity-poll objects: 8 binaries, 6 analogs (some negative), 4 counters.
pub(crate) fn dnp3_static_data(sc: &mut Scenario, tick: u64) -> Vec<u8> {
    let bins: Vec<bool> = (0..8).map(|i| (tick + i).is_multiple_of(3)).collect();
    let analogs: Vec<i32> = (0..6)
        .map(|i| if i % 2 == 0 { 1500 + sc.rng.below(40) as i32 } else { -(250 + sc.rng.below(20) as i32) })
        .collect();
    let counters: Vec<u32> = (0..4).map(|i| 100_000 + (tick * 17 + i) as u32).collect();
    let mut o = dnp3::binary_inputs(0, &bins);
    o.extend(dnp3::analog_inputs_32(0, &analogs));
    o.extend(dnp3::counters_32(0, &counters));
    o
}

pub(crate) struct Dnp3Outstation {
    pub(crate) ch: Channel,
    pub(crate) assoc: Association,
    pub(crate) tick: u64,
    pub(crate) unsolicited: bool,
}

/// Startup sequence: integrity poll (the outstation reports DEVICE_RESTART), clear
/// the restart bit, enable unsolicited reporting.
pub(crate) fn dnp3_startup(sc: &mut Scenario, o: &mut Dnp3Outstation, t: &mut Tally) {
    let req = o.assoc.request(func::READ, &dnp3::class_poll(true, true, true, true));
    let objs = dnp3_static_data(sc, 0);
    let resp = o.assoc.response(iin::DEVICE_RESTART, &objs);
    o.ch.exchange(sc, &req, &resp);
    sc.advance(20 * MS);
    let req = o.assoc.request(func::WRITE, &dnp3::clear_restart());
    let resp = o.assoc.response(0, &[]);
    o.ch.exchange(sc, &req, &resp);
    sc.advance(20 * MS);
    let req = o.assoc.request(func::ENABLE_UNSOLICITED, &dnp3::class_poll(false, true, true, true));
    let resp = o.assoc.response(0, &[]);
    o.ch.exchange(sc, &req, &resp);
    tally(t, "dnp3_transactions", 3);
}

/// One polling step: an integrity poll every 12th tick, otherwise an event poll
/// (class 1-3) answered with events every 3rd tick; unsolicited responses (confirmed
/// by the master) every 7th tick for outstations that report them.
pub(crate) fn dnp3_poll_step(sc: &mut Scenario, o: &mut Dnp3Outstation, t: &mut Tally) {
    o.tick += 1;
    if o.tick.is_multiple_of(12) {
        let req = o.assoc.request(func::READ, &dnp3::class_poll(true, true, true, true));
        let objs = dnp3_static_data(sc, o.tick);
        let resp = o.assoc.response(0, &objs);
        o.ch.exchange(sc, &req, &resp);
        tally(t, "dnp3_integrity_polls", 1);
    } else {
        let req = o.assoc.request(func::READ, &dnp3::class_poll(false, true, true, true));
        let objs = if o.tick.is_multiple_of(3) {
            let i = (o.tick % 8) as u8;
            let mut e = dnp3::binary_events(&[(i, o.tick.is_multiple_of(2))]);
            e.extend(dnp3::analog_events(&[(1, -(200 + sc.rng.below(100) as i32)), (2, 1510)]));
            e
        } else {
            Vec::new()
        };
        let resp = o.assoc.response(0, &objs);
        o.ch.exchange(sc, &req, &resp);
        tally(t, "dnp3_event_polls", 1);
    }
    tally(t, "dnp3_transactions", 1);
    if o.unsolicited && o.tick.is_multiple_of(7) {
        let d = sc.rng.range(200 * MS, 800 * MS);
        sc.advance(d);
        let u = o.assoc.unsolicited(iin::CLASS1_EVENTS, &dnp3::analog_events(&[(3, 1700)]));
        o.ch.send(sc, Dir::ToClient, &u);
        sc.advance(2 * MS);
        let c = o.assoc.confirm_unsolicited();
        o.ch.send(sc, Dir::ToServer, &c);
        tally(t, "dnp3_unsolicited", 1);
        tally(t, "dnp3_confirms", 1);
    }
}

fn dnp3_polling(sc: &mut Scenario, t: &mut Tally, udp: bool) {
    let master = Host::v4([10, 20, 1, 10]);
    let outs = [(Host::v4([10, 20, 2, 31]), 10u16, false), (Host::v4([10, 20, 2, 32]), 11, true)];
    let mut tasks = Vec::new();
    for (i, (h, addr, uns)) in outs.iter().enumerate() {
        let ch = if udp {
            Channel::udp(&master, dnp3::PORT, h, dnp3::PORT)
        } else {
            Channel::Tcp(TcpSession::connect(sc, &master, h, dnp3::PORT))
        };
        let mut o = Dnp3Outstation { ch, assoc: Association::new(1, *addr), tick: 0, unsolicited: *uns };
        dnp3_startup(sc, &mut o, t);
        tasks.push(Periodic::new(sc, SEC + 500 * MS * i as u64, 5 * SEC, 50 * MS, o));
    }
    let end = sc.now() + 120 * SEC;
    run_periodic(sc, &mut tasks, end, |sc, o| dnp3_poll_step(sc, o, t));
    for task in &mut tasks {
        task.state.ch.close(sc);
    }
}

/// DNP3 over TCP.
pub(super) const DNP3_TCP_POLLING: Case = Case {
    name: "dnp3-tcp-polling",
    summary: "DNP3/TCP master polling 2 outstations: startup, class/integrity polls, unsolicited",
    headline: "all frames decoded, 0 anomalies",
    seed: 0xd0_0001,
    purpose: "Normal DNP3 over TCP (port 20000): master 10.20.1.10 (link address 1) polls outstations \
10.20.2.31 (address 10) and 10.20.2.32 (address 11). Startup per outstation: integrity poll (class 0-3, \
response with g1v2 binaries, g30v1 analogs including negative values, g20v1 counters and IIN1.7 \
DEVICE_RESTART), write g80v1 to clear the restart bit, enable unsolicited. Then every 5 s (±50 ms) a class \
1/2/3 event poll (events g2v1/g32v1 every third poll), an integrity poll every 12th poll; outstation 11 \
sends a confirmed unsolicited response every 7th poll. 120 s, then FIN close.",
    expect: "- Every link frame valid (CRCs good), every application fragment decoded; \
`tshark -r capture.pcap -Y dnp3 | wc -l` = 114.\n\
- Requests paired with their responses by application sequence number; unsolicited responses \
confirmed.\n\
- 0 anomalies, 0 alerts (the restart seen at startup is reported by IIN, not commanded).",
    tshark: &[("dnp3", 114), ("_ws.malformed", 0)],
    build: |sc, t| dnp3_polling(sc, t, false),
};

/// DNP3 over UDP.
pub(super) const DNP3_UDP_POLLING: Case = Case {
    name: "dnp3-udp-polling",
    summary: "the same DNP3 polling over UDP",
    headline: "all datagrams decoded, 0 anomalies",
    seed: 0xd0_0002,
    purpose: "The `dnp3-tcp-polling` scenario carried over UDP (port 20000 at both ends): one link layer \
frame sequence per datagram, no TCP. Same master, outstations, startup, polling periods and \
unsolicited responses.",
    expect: "- Every datagram decoded; `tshark -r capture.pcap -Y dnp3 | wc -l` = 114.\n\
- 0 anomalies, 0 alerts.",
    tshark: &[("dnp3", 114), ("_ws.malformed", 0)],
    build: |sc, t| dnp3_polling(sc, t, true),
};

const DNS_NAMES: &[(&str, u16)] = &[
    ("time.windows.com", rtype::A),
    ("ntp.ubuntu.com", rtype::A),
    ("security.debian.org", rtype::A),
    ("security.debian.org", rtype::AAAA),
    ("historian.plant.local", rtype::A),
    ("hmi01.plant.local", rtype::A),
    ("opc-server.plant.local", rtype::A),
    ("www.google.com", rtype::A),
    ("update.scada-vendor.example", rtype::A),
    ("plant.local", rtype::MX),
    ("21.2.10.10.in-addr.arpa", rtype::PTR),
    ("licensing.scada-vendor.example", rtype::TXT),
    ("printer.plant.local", rtype::A),
];

fn dns_answer(sc: &mut Scenario, name: &str, qtype: u16) -> (u8, Vec<Record>) {
    let ip = [192, 0, 2, 10 + sc.rng.below(200) as u8];
    match (name, qtype) {
        ("time.windows.com", _) => (
            rcode::NOERROR,
            vec![
                Record::new(name, 1800, Rdata::Cname("twc.trafficmanager.net".into())),
                Record::new(
                    "twc.trafficmanager.net",
                    60,
                    Rdata::Cname("time.windows.com.edgekey.net".into()),
                ),
                a_rec("time.windows.com.edgekey.net", 20, [203, 0, 113, 77]),
            ],
        ),
        (_, rtype::AAAA) => {
            let mut a = [0u8; 16];
            a[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
            a[15] = 0x10;
            (rcode::NOERROR, vec![Record::new(name, 300, Rdata::Aaaa(a))])
        }
        (_, rtype::MX) => (
            rcode::NOERROR,
            vec![
                Record::new(name, 3600, Rdata::Mx(10, "mail.plant.local".into())),
                Record::new(name, 3600, Rdata::Mx(20, "mail2.plant.local".into())),
            ],
        ),
        (_, rtype::PTR) => {
            (rcode::NOERROR, vec![Record::new(name, 3600, Rdata::Ptr("plc21.plant.local".into()))])
        }
        (_, rtype::TXT) => (
            rcode::NOERROR,
            vec![Record::new(name, 300, Rdata::Txt(vec![b"v=lic1; seats=4; expires=2027-01-01".to_vec()]))],
        ),
        ("printer.plant.local", _) => (rcode::NXDOMAIN, Vec::new()),
        _ => (rcode::NOERROR, vec![a_rec(name, 300, ip)]),
    }
}

/// Ordinary lookups.
pub(super) const DNS_NORMAL: Case = Case {
    name: "dns-normal",
    summary: "4 clients, ordinary A/AAAA/MX/PTR/TXT lookups, 1 TC->TCP retry",
    headline: "all paired, 0 exfil/tunnel alerts",
    seed: 0xd45_0001,
    purpose: "Ordinary DNS from an operations LAN: four clients (10.30.1.50-53) ask the site resolver \
10.30.1.2 for A, AAAA, MX, PTR and TXT records of everyday names (time sync, OS updates, plant hosts), \
each client every 3-9 s for 120 s. Answers use name compression (CNAME chains, MX). \
`printer.plant.local` is NXDOMAIN. One SRV lookup is truncated (TC) over UDP and retried over TCP \
(handshake, length-prefixed query and response, FIN).",
    expect: "- Every query paired with its response; `tshark -r capture.pcap -Y dns | wc -l` = 168.\n\
- 0 DNS-exfiltration or tunnel alerts; NXDOMAIN responses only for `printer.plant.local`.\n\
- One DNS-over-TCP transaction decoded.",
    tshark: &[("dns", 168), ("dns.flags.rcode==3", 4), ("_ws.malformed", 0)],
    build: dns_normal,
};

fn dns_normal(sc: &mut Scenario, t: &mut Tally) {
    let resolver = Host::v4([10, 30, 1, 2]);
    let clients: Vec<Host> = (50..54).map(|o| Host::v4([10, 30, 1, o])).collect();
    let mut tasks: Vec<Periodic<(Host, u16)>> = clients
        .iter()
        .enumerate()
        .map(|(i, c)| {
            Periodic::new(sc, 300 * MS * i as u64, 6 * SEC, 3 * SEC, (c.clone(), 0x1000 * (i as u16 + 1)))
        })
        .collect();
    let end = sc.now() + 120 * SEC;
    run_periodic(sc, &mut tasks, end, |sc, (client, id)| {
        let Some(&(name, qtype)) = sc.rng.pick(DNS_NAMES) else { return };
        let (code, answers) = dns_answer(sc, name, qtype);
        *id = id.wrapping_add(1 + sc.rng.below(3) as u16);
        dns_lookup(sc, client, &resolver, *id, name, qtype, code, &answers);
        tally(t, "dns_udp_transactions", 1);
        if code == rcode::NXDOMAIN {
            tally(t, "dns_nxdomain", 1);
        }
    });
    // A truncated SRV answer, retried over TCP.
    let client = &clients[0];
    let name = "_ldap._tcp.dc._msdcs.plant.local";
    let port = sc.ephemeral_port();
    let q = dns::query(0x7777, name, rtype::SRV);
    let tc = Message {
        id: 0x7777,
        flags: dns::FLAG_QR | dns::FLAG_RD | dns::FLAG_RA | dns::FLAG_TC,
        questions: vec![Question { name: name.into(), qtype: rtype::SRV }],
        ..Message::default()
    }
    .to_bytes();
    Channel::udp(client, port, &resolver, dns::PORT).exchange(sc, &q, &tc);
    let answers: Vec<Record> = (1..=12)
        .map(|i| {
            let mut d = vec![0, 0, 0, 100, 0x01, 0x85];
            let target = format!("dc{i:02}.plant.local");
            for l in target.split('.') {
                d.push(l.len() as u8);
                d.extend_from_slice(l.as_bytes());
            }
            d.push(0);
            Record::new(name, 600, Rdata::Raw(rtype::SRV, d))
        })
        .collect();
    let r = dns::response(0x7777, name, rtype::SRV, rcode::NOERROR, &answers);
    let mut s = TcpSession::connect(sc, client, &resolver, dns::PORT);
    s.exchange(sc, &dns::tcp_frame(&dns::query(0x7778, name, rtype::SRV)), &dns::tcp_frame(&r));
    s.close(sc);
    tally(t, "dns_udp_transactions", 1);
    tally(t, "dns_tcp_transactions", 1);
}

/// Modbus RTU frames carried over TCP (serial gateways).
pub(super) const MODBUS_RTU_OVER_TCP: Case = Case {
    name: "modbus-rtu-over-tcp",
    summary: "Modbus RTU frames (CRC) tunnelled over TCP 502 by a gateway",
    headline: "detected as RTU-over-TCP, 0 CRC errors",
    seed: 0x7274_0001,
    purpose: "Modbus RTU framing (unit id + PDU + CRC-16/MODBUS, no MBAP header) tunnelled over TCP \
port 502 by a serial-to-Ethernet converter, as many field gateways do: SCADA 10.40.1.10 polls \
three RTU slaves (units 1, 2, 3) behind gateway 10.40.2.50 every 2 s (holding and input registers, \
coils), with one FC 5 coil write. 60 s.",
    expect: "- The flow is recognised as RTU-over-TCP (MBAP parse fails, RTU CRC probe succeeds); every \
frame's CRC is valid; transactions paired in order (tally `rtu_transactions`).\n\
- `tshark -r capture.pcap -Y mbtcp` counts are meaningless here (Wireshark mis-reads RTU as MBAP); \
use the tally.\n\
- 0 bad-CRC anomalies.",
    tshark: &[("_ws.malformed", 0)],
    build: modbus_rtu_over_tcp,
};

fn modbus_rtu_over_tcp(sc: &mut Scenario, t: &mut Tally) {
    let scada = Host::v4([10, 40, 1, 10]);
    let gw = Host::v4([10, 40, 2, 50]);
    let mut s = TcpSession::connect(sc, &scada, &gw, modbus::PORT);
    let reqs = [
        Request::ReadHoldingRegisters { start: 0, qty: 6 },
        Request::ReadInputRegisters { start: 10, qty: 4 },
        Request::ReadCoils { start: 0, qty: 10 },
    ];
    let mut tasks = vec![Periodic::new(sc, 0, 2 * SEC, 30 * MS, 0u32)];
    let end = sc.now() + 60 * SEC;
    run_periodic(sc, &mut tasks, end, |sc, cycle| {
        *cycle += 1;
        for unit in 1..=3u8 {
            for r in &reqs {
                let resp = super::modbus_reply(sc, r);
                s.exchange(sc, &modbus::rtu::request(unit, r), &modbus::rtu::response(unit, &resp));
                tally(t, "rtu_transactions", 1);
                sc.advance(10 * MS);
            }
        }
        if *cycle == 15 {
            let r = Request::WriteSingleCoil { addr: 4, value: true };
            let resp = super::modbus_reply(sc, &r);
            s.exchange(sc, &modbus::rtu::request(2, &r), &modbus::rtu::response(2, &resp));
            tally(t, "rtu_transactions", 1);
        }
    });
    s.close(sc);
}

/// Operator control over DNP3: select/operate and direct operate.
pub(super) const DNP3_CONTROL: Case = Case {
    name: "dnp3-control",
    summary: "DNP3/TCP operator control: CROB select-before-operate, direct operate, analog output",
    headline: "control events from the usual master, 0 anomalies",
    seed: 0xd0_0003,
    purpose: "Normal DNP3 operator control: master 10.20.1.10 (address 1) polls outstation \
10.20.2.31 (address 10) every 5 s for 60 s (startup as in `dnp3-tcp-polling`). At about 20 s it \
closes breaker 3 with select-before-operate (SELECT then OPERATE of a g12v1 CROB, LATCH_ON, each \
echoed with status 0); at about 35 s it trips breaker 4 with DIRECT_OPERATE (CROB TRIP_PULSE_ON, \
100 ms); at about 50 s it sets analog output 1 to 500 with DIRECT_OPERATE (g41v2).",
    expect: "- Control events: SELECT + OPERATE on CROB index 3, DIRECT_OPERATE on CROB index 4, \
DIRECT_OPERATE on analog output 1, all from 10.20.1.10 with status 0 responses (tally \
`dnp3_controls` = 4).\n\
- 0 anomalies; no alert when the baseline knows 10.20.1.10 as the controlling master.",
    tshark: &[("dnp3.al.func==3", 1), ("dnp3.al.func==4", 1), ("dnp3.al.func==5", 2), ("_ws.malformed", 0)],
    build: dnp3_control,
};

fn dnp3_control(sc: &mut Scenario, t: &mut Tally) {
    use crate::proto::dnp3::control_code;
    let master = Host::v4([10, 20, 1, 10]);
    let out = Host::v4([10, 20, 2, 31]);
    let ch = Channel::Tcp(TcpSession::connect(sc, &master, &out, dnp3::PORT));
    let mut o = Dnp3Outstation { ch, assoc: Association::new(1, 10), tick: 0, unsolicited: false };
    dnp3_startup(sc, &mut o, t);
    let mut tasks = vec![Periodic::new(sc, SEC, 5 * SEC, 50 * MS, o)];
    let start = sc.now();
    let mut step = 0u32;
    run_periodic(sc, &mut tasks, start + 60 * SEC, |sc, o| {
        dnp3_poll_step(sc, o, t);
        step += 1;
        sc.advance(300 * MS);
        let controls: Vec<(u8, Vec<u8>)> = match step {
            4 => {
                let c = dnp3::crob(3, control_code::LATCH_ON, 1, 0, 0, 0);
                vec![(func::SELECT, c.clone()), (func::OPERATE, c)]
            }
            7 => vec![(func::DIRECT_OPERATE, dnp3::crob(4, control_code::TRIP_PULSE_ON, 1, 100, 0, 0))],
            10 => vec![(func::DIRECT_OPERATE, dnp3::analog_output_16(1, 500, 0))],
            _ => Vec::new(),
        };
        for (f, objs) in controls {
            let req = o.assoc.request(f, &objs);
            let resp = o.assoc.response(0, &objs);
            o.ch.exchange(sc, &req, &resp);
            tally(t, "dnp3_controls", 1);
            sc.advance(200 * MS);
        }
    });
    for task in &mut tasks {
        task.state.ch.close(sc);
    }
}
