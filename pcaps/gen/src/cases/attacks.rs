//! Attack cases: each starts from normal polling (the baseline a detector learns) and
//! then adds the attacker's traffic. Adding one is a `Case` constant plus a function
//! of a few lines over the helpers here.

use super::{Case, ModbusLink, Tally, a_rec, dns_lookup, modbus_reply, tally};
use crate::proto::dnp3::{self, Association, func};
use crate::proto::dns::{Rdata, Record, rcode, rtype};
use crate::proto::modbus::{self, ExceptionCode, Request, Response, diag};
use crate::scenario::{Channel, Dir, Host, Periodic, Scenario, TcpSession, run_periodic};

const SEC: u64 = 1_000_000;
const MS: u64 = 1_000;

fn hmi() -> Host {
    Host::v4([10, 10, 1, 10])
}

fn plc() -> Host {
    Host::v4([10, 10, 2, 21])
}

/// The legitimate HMI's polling: holding registers and coils every second, a
/// set-point write (FC 6, register 3) every 10th cycle, for `secs` seconds.
fn modbus_baseline(sc: &mut Scenario, link: &mut ModbusLink, secs: u64, t: &mut Tally) {
    let mut tasks = vec![Periodic::new(sc, 0, SEC, 20 * MS, 0u64)];
    let end = sc.now() + secs * SEC;
    run_periodic(sc, &mut tasks, end, |sc, cycle| {
        *cycle += 1;
        link.transact(sc, &Request::ReadHoldingRegisters { start: 0, qty: 10 });
        link.transact(sc, &Request::ReadCoils { start: 0, qty: 16 });
        tally(t, "baseline_transactions", 2);
        if *cycle % 10 == 0 {
            let v = 1200 + sc.rng.below(20) as u16;
            link.transact(sc, &Request::WriteSingleRegister { addr: 3, value: v });
            tally(t, "baseline_transactions", 1);
            tally(t, "baseline_writes", 1);
        }
    });
}

/// Function-code scan from a new host.
pub(super) const MODBUS_FC_SCAN: Case = Case {
    name: "modbus-fc-scan",
    summary: "new host sends FC 1..127 to a PLC after normal polling",
    headline: "FC-scan alert for 10.10.9.66",
    seed: 0xa77_0001,
    purpose: "Modbus function-code scan: after 20 s of normal HMI polling (10.10.1.10 -> PLC \
10.10.2.21), a new host 10.10.9.66 connects to the PLC and sends function codes 1 through 127 in \
order, one per transaction every 50 ms, each with the 4 data bytes 00 00 00 01. The PLC answers \
FC 1-4 normally, FC 5, 6, 15, 16 with exception 3 (illegal data value) and everything else with \
exception 1 (illegal function). HMI polling continues for 10 s afterwards.",
    expect: "- A function-code-scan alert for source 10.10.9.66 (127 distinct function codes in \
about 6 s, 123 exception responses; tallies `scan_requests`, `scan_exceptions`).\n\
- No alert for the HMI's traffic (`baseline_transactions`).\n\
- `tshark -r capture.pcap -Y 'modbus && ip.src==10.10.9.66' | wc -l` = 127; tshark marks the \
FC 15, 16, 22 and 23 probes Malformed (4 data bytes are too short for them: intended, that is the \
scanner's payload).",
    tshark: &[("modbus && ip.src==10.10.9.66", 127), ("_ws.malformed", 4)],
    build: modbus_fc_scan,
};

fn modbus_fc_scan(sc: &mut Scenario, t: &mut Tally) {
    let (hmi, plc) = (hmi(), plc());
    let mut link = ModbusLink::connect(sc, &hmi, &plc, 1);
    modbus_baseline(sc, &mut link, 20, t);
    let mut atk = ModbusLink::connect(sc, &Host::v4([10, 10, 9, 66]), &plc, 1);
    for function in 1..=127u8 {
        let req = Request::Raw { function, data: vec![0, 0, 0, 1] };
        let resp = match function {
            1..=4 => {
                let read = match function {
                    1 => Request::ReadCoils { start: 0, qty: 1 },
                    2 => Request::ReadDiscreteInputs { start: 0, qty: 1 },
                    3 => Request::ReadHoldingRegisters { start: 0, qty: 1 },
                    _ => Request::ReadInputRegisters { start: 0, qty: 1 },
                };
                modbus_reply(sc, &read)
            }
            5 | 6 | 15 | 16 => Response::Exception { function, code: ExceptionCode::IllegalDataValue },
            _ => Response::Exception { function, code: ExceptionCode::IllegalFunction },
        };
        if matches!(resp, Response::Exception { .. }) {
            tally(t, "scan_exceptions", 1);
        }
        atk.transact_with(sc, &req, &resp);
        tally(t, "scan_requests", 1);
        sc.advance(50 * MS);
    }
    atk.ch.close(sc);
    modbus_baseline(sc, &mut link, 10, t);
    link.ch.close(sc);
}

/// Writes from a host that never wrote before.
pub(super) const MODBUS_UNAUTHORIZED_WRITE: Case = Case {
    name: "modbus-unauthorized-write",
    summary: "new host writes FC 6/5/16 after normal polling with HMI writes",
    headline: "write-from-new-source alerts for 10.10.9.77 only",
    seed: 0xa77_0002,
    purpose: "Unauthorized Modbus writes: 30 s of normal polling in which the HMI 10.10.1.10 also \
writes set-point register 3 every 10 s; then a new host 10.10.9.77 connects to PLC 10.10.2.21, reads \
holding registers 0-9, writes register 3 = 9999 (FC 6), forces coil 2 on (FC 5) and writes registers \
10-14 (FC 16), and disconnects. 10 s more of normal polling.",
    expect: "- Write-from-new-source alerts for 10.10.9.77 (3 writes: FC 6, FC 5, FC 16; tally \
`attacker_writes`); optionally a new-client/new-flow event for it.\n\
- No alert for the HMI's own set-point writes (tally `baseline_writes`).\n\
- `tshark -r capture.pcap -Y 'modbus && ip.src==10.10.9.77' | wc -l` = 4.",
    tshark: &[("modbus && ip.src==10.10.9.77", 4), ("_ws.malformed", 0)],
    build: modbus_unauthorized_write,
};

fn modbus_unauthorized_write(sc: &mut Scenario, t: &mut Tally) {
    let (hmi, plc) = (hmi(), plc());
    let mut link = ModbusLink::connect(sc, &hmi, &plc, 1);
    modbus_baseline(sc, &mut link, 30, t);
    let mut atk = ModbusLink::connect(sc, &Host::v4([10, 10, 9, 77]), &plc, 1);
    atk.transact(sc, &Request::ReadHoldingRegisters { start: 0, qty: 10 });
    for req in [
        Request::WriteSingleRegister { addr: 3, value: 9999 },
        Request::WriteSingleCoil { addr: 2, value: true },
        Request::WriteMultipleRegisters { start: 10, values: vec![0, 0, 65535, 65535, 1] },
    ] {
        sc.advance(400 * MS);
        atk.transact(sc, &req);
        tally(t, "attacker_writes", 1);
    }
    atk.ch.close(sc);
    modbus_baseline(sc, &mut link, 10, t);
    link.ch.close(sc);
}

/// FrostyGoop-style bursts of write_multiple_registers.
pub(super) const MODBUS_FROSTYGOOP: Case = Case {
    name: "modbus-frostygoop",
    summary: "3 bursts of 40 FC 16 writes from a new host (FrostyGoop-style)",
    headline: "write-burst alert for 10.10.9.99",
    seed: 0xa77_0003,
    purpose: "FrostyGoop-style attack (the 2024 ICS malware that wrote Modbus registers of heating \
controllers): after 20 s of normal polling, host 10.10.9.99 connects to PLC 10.10.2.21, reads \
holding registers 0-99 (FC 3), then sends three bursts of 40 FC 16 write_multiple_registers \
(2-8 registers each, addresses 1000-1099, 20-50 ms apart), 5 s between bursts, and reads the \
registers back. Normal polling continues meanwhile and for 10 s after.",
    expect: "- A write-burst (FrostyGoop-like) alert for 10.10.9.99: 120 FC 16 writes in three \
bursts of 40 within about 2 s each (tally `attacker_writes`).\n\
- Write-from-new-source alerts for 10.10.9.99; none for the HMI (tally `baseline_writes`).\n\
- `tshark -r capture.pcap -Y 'modbus.func_code==16' | wc -l` = 240.",
    tshark: &[("modbus.func_code==16", 240), ("_ws.malformed", 0)],
    build: modbus_frostygoop,
};

fn modbus_frostygoop(sc: &mut Scenario, t: &mut Tally) {
    let (hmi, plc) = (hmi(), plc());
    let mut link = ModbusLink::connect(sc, &hmi, &plc, 1);
    modbus_baseline(sc, &mut link, 20, t);
    let mut atk = ModbusLink::connect(sc, &Host::v4([10, 10, 9, 99]), &plc, 1);
    atk.transact(sc, &Request::ReadHoldingRegisters { start: 0, qty: 100 });
    for _burst in 0..3 {
        for _ in 0..40 {
            let n = sc.rng.range(2, 8) as usize;
            let start = 1000 + sc.rng.below(100 - n as u64) as u16;
            let values = (0..n).map(|_| sc.rng.below(100) as u16).collect();
            atk.transact(sc, &Request::WriteMultipleRegisters { start, values });
            tally(t, "attacker_writes", 1);
            let d = sc.rng.range(20 * MS, 50 * MS);
            sc.advance(d);
        }
        // Legitimate polling goes on between bursts.
        modbus_baseline(sc, &mut link, 5, t);
    }
    atk.transact(sc, &Request::ReadHoldingRegisters { start: 1000, qty: 100 });
    atk.ch.close(sc);
    modbus_baseline(sc, &mut link, 10, t);
    link.ch.close(sc);
}

/// FC 8 sub-function 4: force listen-only mode.
pub(super) const MODBUS_LISTEN_ONLY: Case = Case {
    name: "modbus-listen-only",
    summary: "FC 8/4 force listen-only, then 20 unanswered polls, FC 8/1 restart",
    headline: "listen-only alert, unanswered requests",
    seed: 0xa77_0004,
    purpose: "Modbus Force Listen Only Mode (FC 8, sub-function 4), a denial of service: after 20 s \
of normal polling, host 10.10.9.66 sends FC 8/4 to PLC 10.10.2.21 (no response, as the standard \
says). The PLC then stops answering: the HMI's next 10 polls (one per second) are acknowledged by \
TCP but get no Modbus response. The HMI then sends FC 8/1 (restart communications, data 0x0000), \
which the PLC echoes, and polling resumes for 10 s.",
    expect: "- A listen-only (FC 8/4) alert for 10.10.9.66.\n\
- Unanswered requests from the HMI afterwards (tally `unanswered_requests` = 20: 10 polls x 2 \
requests), seen as transactions without response / response timeouts.\n\
- A restart-communications (FC 8/1) event from the HMI.\n\
- `tshark -r capture.pcap -Y 'modbus.func_code==8' | wc -l` = 3.",
    tshark: &[("modbus.func_code==8", 3), ("_ws.malformed", 0)],
    build: modbus_listen_only,
};

fn modbus_listen_only(sc: &mut Scenario, t: &mut Tally) {
    let (hmi, plc) = (hmi(), plc());
    let mut link = ModbusLink::connect(sc, &hmi, &plc, 1);
    modbus_baseline(sc, &mut link, 20, t);
    let mut atk = TcpSession::connect(sc, &Host::v4([10, 10, 9, 66]), &plc, modbus::PORT);
    let lo = Request::Diagnostics { sub: diag::FORCE_LISTEN_ONLY, data: vec![0, 0] };
    atk.one_way(sc, Dir::ToServer, &modbus::request(1, 1, &lo));
    sc.advance(200 * MS);
    atk.close(sc);
    for _ in 0..10 {
        sc.advance(SEC);
        for req in
            [Request::ReadHoldingRegisters { start: 0, qty: 10 }, Request::ReadCoils { start: 0, qty: 16 }]
        {
            link.tid = link.tid.wrapping_add(1);
            link.ch.send(sc, Dir::ToServer, &modbus::request(link.tid, link.unit, &req));
            tally(t, "unanswered_requests", 1);
            sc.advance(5 * MS);
        }
    }
    sc.advance(SEC);
    link.transact(sc, &Request::Diagnostics { sub: diag::RESTART_COMMUNICATIONS, data: vec![0, 0] });
    modbus_baseline(sc, &mut link, 10, t);
    link.ch.close(sc);
}

/// Points-list scan: a sweep of register addresses from a new host.
pub(super) const MODBUS_POINTS_SCAN: Case = Case {
    name: "modbus-points-scan",
    summary: "new host sweeps holding-register and coil addresses (FC 3 / FC 1)",
    headline: "points-scan alert for 10.10.9.66, ~150 address exceptions",
    seed: 0xa77_0008,
    purpose: "Modbus points-list scan: after 20 s of normal polling, host 10.10.9.66 sweeps PLC \
10.10.2.21 (100 registers, 100 coils): FC 3 reading 10 registers at start addresses 0, 100, 200, \
... 9900 (100 requests), then FC 1 reading 16 coils at 0, 160, ... 7840 (50 requests), one every \
20 ms. Addresses beyond the tables are answered with exception 2 (illegal data address). Normal \
polling continues for 10 s.",
    expect: "- A points/address-scan alert for 10.10.9.66 (150 reads over distinct address \
ranges, 148 illegal-data-address exceptions; tallies `scan_requests`, `scan_exceptions`).\n\
- No alert for the HMI.",
    tshark: &[("modbus && ip.src==10.10.9.66", 150), ("modbus.exception_code==2", 148), ("_ws.malformed", 0)],
    build: modbus_points_scan,
};

fn modbus_points_scan(sc: &mut Scenario, t: &mut Tally) {
    let (hmi, plc) = (hmi(), plc());
    let mut link = ModbusLink::connect(sc, &hmi, &plc, 1);
    modbus_baseline(sc, &mut link, 20, t);
    let mut atk = ModbusLink::connect(sc, &Host::v4([10, 10, 9, 66]), &plc, 1);
    let regs = (0..100u16).map(|i| (Request::ReadHoldingRegisters { start: i * 100, qty: 10 }, i * 100));
    let coils = (0..50u16).map(|i| (Request::ReadCoils { start: i * 160, qty: 16 }, i * 160));
    for (req, start) in regs.chain(coils) {
        let resp = if start < 100 {
            modbus_reply(sc, &req)
        } else {
            tally(t, "scan_exceptions", 1);
            Response::Exception { function: req.function(), code: ExceptionCode::IllegalDataAddress }
        };
        atk.transact_with(sc, &req, &resp);
        tally(t, "scan_requests", 1);
        sc.advance(20 * MS);
    }
    atk.ch.close(sc);
    modbus_baseline(sc, &mut link, 10, t);
    link.ch.close(sc);
}

/// Broadcast writes (unit id 0) over TCP.
pub(super) const MODBUS_BROADCAST: Case = Case {
    name: "modbus-broadcast",
    summary: "writes to unit id 0 (broadcast) through a gateway, unanswered",
    headline: "broadcast-write alerts for 10.10.9.66",
    seed: 0xa77_0009,
    purpose: "Modbus broadcast: after 20 s of normal polling of gateway 10.10.2.50 (units 1 and 2 \
behind it), host 10.10.9.66 sends three writes to unit id 0, the serial-line broadcast address that \
every slave executes and none answers: FC 6 register 3 = 0, FC 5 coil 0 off, FC 16 registers 0-3 = \
0. The gateway acknowledges them at TCP level only. Normal polling continues for 10 s.",
    expect: "- A broadcast-write alert per request from 10.10.9.66 (unit id 0, tally \
`broadcast_writes` = 3); the missing responses are expected for broadcast, not reported as \
timeouts.\n\
- No alert for the HMI.",
    tshark: &[("modbus && mbtcp.unit_id==0", 3), ("_ws.malformed", 0)],
    build: modbus_broadcast,
};

fn modbus_broadcast(sc: &mut Scenario, t: &mut Tally) {
    let gw = Host::v4([10, 10, 2, 50]);
    let mut l1 = ModbusLink::connect(sc, &hmi(), &gw, 1);
    let mut l2 = ModbusLink::connect(sc, &hmi(), &gw, 2);
    modbus_baseline(sc, &mut l1, 10, t);
    modbus_baseline(sc, &mut l2, 10, t);
    let mut atk = TcpSession::connect(sc, &Host::v4([10, 10, 9, 66]), &gw, modbus::PORT);
    for (tid, req) in [
        Request::WriteSingleRegister { addr: 3, value: 0 },
        Request::WriteSingleCoil { addr: 0, value: false },
        Request::WriteMultipleRegisters { start: 0, values: vec![0; 4] },
    ]
    .iter()
    .enumerate()
    {
        atk.one_way(sc, Dir::ToServer, &modbus::request(tid as u16 + 1, 0, req));
        tally(t, "broadcast_writes", 1);
        sc.advance(300 * MS);
    }
    atk.close(sc);
    modbus_baseline(sc, &mut l1, 10, t);
    l1.ch.close(sc);
    l2.ch.close(sc);
}

/// A storm of unsolicited responses.
pub(super) const DNP3_UNSOLICITED_STORM: Case = Case {
    name: "dnp3-unsolicited-storm",
    summary: "outstation floods 200 unsolicited responses in 10 s, each confirmed",
    headline: "unsolicited-storm alert for 10.20.2.32",
    seed: 0xa77_000a,
    purpose: "DNP3 unsolicited storm: master 10.20.1.10 polls outstation 10.20.2.32 (address 11), \
which reports an unsolicited response every 14 s or so, for 40 s; then the outstation sends 200 \
unsolicited responses (binary and analog events) within 10 s, each confirmed by the master, then \
returns to normal for 20 s.",
    expect: "- An unsolicited-storm (rate) alert for 10.20.2.32 (tally `storm_unsolicited` = \
200 in 10 s against `dnp3_unsolicited` in the baseline).\n\
- Every unsolicited response paired with its confirm; 0 malformed.",
    tshark: &[("dnp3.al.func==130", 204), ("_ws.malformed", 0)],
    build: dnp3_unsolicited_storm,
};

fn dnp3_unsolicited_storm(sc: &mut Scenario, t: &mut Tally) {
    let master = Host::v4([10, 20, 1, 10]);
    let out = Host::v4([10, 20, 2, 32]);
    let mut o = dnp3_session(sc, &master, &out, 11, true);
    super::normal::dnp3_startup(sc, &mut o, t);
    dnp3_baseline(sc, &mut o, 40, t);
    for i in 0..200u32 {
        let mut ev = dnp3::binary_events(&[((i % 8) as u8, i % 2 == 0)]);
        ev.extend(dnp3::analog_events(&[(1, -(100 + i as i32))]));
        let u = o.assoc.unsolicited(dnp3::iin::CLASS1_EVENTS, &ev);
        o.ch.send(sc, Dir::ToClient, &u);
        sc.advance(2 * MS);
        let c = o.assoc.confirm_unsolicited();
        o.ch.send(sc, Dir::ToServer, &c);
        tally(t, "storm_unsolicited", 1);
        sc.advance(48 * MS);
    }
    dnp3_baseline(sc, &mut o, 20, t);
    o.ch.close(sc);
}

fn dnp3_session(
    sc: &mut Scenario,
    master: &Host,
    out: &Host,
    addr: u16,
    uns: bool,
) -> super::normal::Dnp3Outstation {
    super::normal::Dnp3Outstation {
        ch: Channel::Tcp(TcpSession::connect(sc, master, out, dnp3::PORT)),
        assoc: Association::new(1, addr),
        tick: 0,
        unsolicited: uns,
    }
}

fn dnp3_baseline(sc: &mut Scenario, o: &mut super::normal::Dnp3Outstation, secs: u64, t: &mut Tally) {
    let mut tasks = vec![Periodic::new(sc, 0, 2 * SEC, 50 * MS, ())];
    let end = sc.now() + secs * SEC;
    run_periodic(sc, &mut tasks, end, |sc, ()| super::normal::dnp3_poll_step(sc, o, t));
}

/// Cold and warm restart commanded by an unknown host.
pub(super) const DNP3_COLD_RESTART: Case = Case {
    name: "dnp3-cold-restart",
    summary: "unknown host sends COLD_RESTART (then RST, IIN1.7) and WARM_RESTART",
    headline: "cold + warm restart alerts for 10.20.9.66",
    seed: 0xa77_0005,
    purpose: "DNP3 restarts: master 10.20.1.10 polls outstation 10.20.2.31 (address 10) every 2 s \
for 30 s. Host 10.20.9.66 connects and sends COLD_RESTART (FC 13) with master address 1; the \
outstation answers with a time-delay-fine object (g52v2, 5000 ms) and resets the master's TCP \
connection (RST) as it reboots. The master reconnects 10 s later: its integrity poll shows IIN1.7 \
DEVICE_RESTART, it clears it (write g80v1) and polling resumes. 20 s later 10.20.9.66 sends \
WARM_RESTART (FC 14), answered with g52v2 (1000 ms).",
    expect: "- A cold-restart alert and a warm-restart alert, both from 10.20.9.66 to \
10.20.2.31 (tally `restart_commands` = 2).\n\
- The outstation's IIN1.7 device-restart indication after reconnection; no alert for the master's \
own startup sequence.\n\
- `tshark -r capture.pcap -Y 'dnp3.al.func==13 || dnp3.al.func==14' | wc -l` = 2.",
    tshark: &[("dnp3.al.func==13 || dnp3.al.func==14", 2), ("_ws.malformed", 0)],
    build: dnp3_cold_restart,
};

fn dnp3_cold_restart(sc: &mut Scenario, t: &mut Tally) {
    let master = Host::v4([10, 20, 1, 10]);
    let out = Host::v4([10, 20, 2, 31]);
    let evil = Host::v4([10, 20, 9, 66]);
    let mut o = dnp3_session(sc, &master, &out, 10, false);
    super::normal::dnp3_startup(sc, &mut o, t);
    dnp3_baseline(sc, &mut o, 30, t);
    let mut atk = Channel::Tcp(TcpSession::connect(sc, &evil, &out, dnp3::PORT));
    let mut a = Association::new(1, 10);
    let req = a.request(func::COLD_RESTART, &[]);
    let resp = a.response(0, &dnp3::time_delay_fine(5000));
    atk.exchange(sc, &req, &resp);
    tally(t, "restart_commands", 1);
    if let Channel::Tcp(s) = &atk {
        s.reset(sc, Dir::ToClient);
    }
    if let Channel::Tcp(s) = &o.ch {
        s.reset(sc, Dir::ToClient);
    }
    sc.advance(10 * SEC);
    let mut o = dnp3_session(sc, &master, &out, 10, false);
    super::normal::dnp3_startup(sc, &mut o, t);
    dnp3_baseline(sc, &mut o, 20, t);
    let mut atk = Channel::Tcp(TcpSession::connect(sc, &evil, &out, dnp3::PORT));
    let req = a.request(func::WARM_RESTART, &[]);
    let resp = a.response(0, &dnp3::time_delay_fine(1000));
    atk.exchange(sc, &req, &resp);
    tally(t, "restart_commands", 1);
    atk.close(sc);
    dnp3_baseline(sc, &mut o, 10, t);
    o.ch.close(sc);
}

/// Stop application and disable unsolicited from an unknown host.
pub(super) const DNP3_STOP_APP_DISABLE_UNSOL: Case = Case {
    name: "dnp3-stop-app-disable-unsol",
    summary: "unknown host sends DISABLE_UNSOLICITED and STOP_APPLICATION",
    headline: "2 alerts for 10.20.9.66",
    seed: 0xa77_0006,
    purpose: "DNP3 reporting suppression: master 10.20.1.10 polls outstation 10.20.2.32 \
(address 11), which also reports confirmed unsolicited responses, for 40 s. Host 10.20.9.66 \
connects and sends DISABLE_UNSOLICITED (FC 21, classes 1-3), then STOP_APPLICATION (FC 18) with a \
g90v1 application identifier; the outstation answers both with null responses. The outstation sends no unsolicited responses afterwards; \
the master keeps polling for 30 s.",
    expect: "- A disable-unsolicited alert and a stop-application alert from 10.20.9.66 \
(tally `suppression_commands` = 2).\n\
- Unsolicited responses only before the attack (tally `dnp3_unsolicited`).\n\
- `tshark -r capture.pcap -Y 'dnp3.al.func==18 || dnp3.al.func==21' | wc -l` = 2.",
    tshark: &[("dnp3.al.func==18 || dnp3.al.func==21", 2), ("_ws.malformed", 0)],
    build: dnp3_stop_app,
};

fn dnp3_stop_app(sc: &mut Scenario, t: &mut Tally) {
    let master = Host::v4([10, 20, 1, 10]);
    let out = Host::v4([10, 20, 2, 32]);
    let mut o = dnp3_session(sc, &master, &out, 11, true);
    super::normal::dnp3_startup(sc, &mut o, t);
    dnp3_baseline(sc, &mut o, 40, t);
    let mut atk = Channel::Tcp(TcpSession::connect(sc, &Host::v4([10, 20, 9, 66]), &out, dnp3::PORT));
    let mut a = Association::new(1, 11);
    let req = a.request(func::DISABLE_UNSOLICITED, &dnp3::class_poll(false, true, true, true));
    let resp = a.response(0, &[]);
    atk.exchange(sc, &req, &resp);
    sc.advance(500 * MS);
    let mut g90 = Vec::new();
    dnp3::object_header(&mut g90, 90, 1, dnp3::Range::All);
    let req = a.request(func::STOP_APPLICATION, &g90);
    let resp = a.response(0, &[]);
    atk.exchange(sc, &req, &resp);
    tally(t, "suppression_commands", 2);
    atk.close(sc);
    o.unsolicited = false;
    dnp3_baseline(sc, &mut o, 30, t);
    o.ch.close(sc);
}

const B32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// RFC 4648 base32, lowercase, no padding (as DNS tunnels use it).
pub fn base32(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    let (mut buf, mut bits) = (0u32, 0u32);
    for &b in data {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(B32[((buf >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(B32[((buf << (5 - bits)) & 31) as usize]));
    }
    out
}

/// A DNS tunnel-like exchange.
pub(super) const DNS_TUNNEL_LIKE: Case = Case {
    name: "dns-tunnel-like",
    summary: "emulated base32 TXT tunnel (300 queries) amid normal lookups",
    headline: "tunnel alert for 10.30.1.66 / tunnel-demo.example only",
    seed: 0xa77_0007,
    purpose: "An emulated DNS tunnel (the shape of iodine/dnscat-style tools, generated, not a real \
tool: the real-tool corpus is in `pcaps/dns-exfil/`): host 10.30.1.66 sends 300 TXT queries, one \
every 100-300 ms, to resolver 10.30.1.2 for `<seq>.<data>.<data>.t.tunnel-demo.example`, where the \
data labels are base32 (lowercase, unpadded) of a 60-byte chunk of a file, 52+44 characters; each \
answer is a TXT record carrying 100 bytes of base32 downstream data. Meanwhile three ordinary \
clients (10.30.1.50-52) make normal lookups every 3-7 s.",
    expect: "- A DNS tunnel / exfiltration alert for 10.30.1.66 and the registered domain \
`tunnel-demo.example` (high-entropy long labels, many unique subdomains, TXT; tally \
`tunnel_queries` = 300).\n\
- No alert for 10.30.1.50-52 (tally `normal_lookups`).\n\
- `tshark -r capture.pcap -Y 'dns.qry.type==16 && ip.src==10.30.1.66' | wc -l` = 300.",
    tshark: &[("dns.qry.type==16 && ip.src==10.30.1.66", 300), ("_ws.malformed", 0)],
    build: dns_tunnel_like,
};

fn dns_tunnel_like(sc: &mut Scenario, t: &mut Tally) {
    let resolver = Host::v4([10, 30, 1, 2]);
    let tunnel = Host::v4([10, 30, 1, 66]);
    enum Who {
        Tunnel(u32),
        Normal(Host, u16),
    }
    let mut tasks = vec![Periodic::new(sc, 0, 200 * MS, 100 * MS, Who::Tunnel(0))];
    for (i, o) in (50..53).enumerate() {
        let w = Who::Normal(Host::v4([10, 30, 1, o]), 0x4000 + 0x100 * i as u16);
        tasks.push(Periodic::new(sc, 500 * MS * i as u64, 5 * SEC, 2 * SEC, w));
    }
    let names = ["ntp.ubuntu.com", "historian.plant.local", "security.debian.org", "www.google.com"];
    let end = sc.now() + 95 * SEC;
    run_periodic(sc, &mut tasks, end, |sc, who| match who {
        Who::Tunnel(seq) if *seq < 300 => {
            *seq += 1;
            let mut chunk = [0u8; 60];
            sc.rng.fill(&mut chunk);
            let enc = base32(&chunk);
            let (l1, l2) = enc.split_at(52);
            let name = format!("{:04x}.{l1}.{l2}.t.tunnel-demo.example", *seq);
            let mut down = [0u8; 62];
            sc.rng.fill(&mut down);
            let txt = Rdata::Txt(vec![base32(&down).into_bytes()]);
            let id = sc.rng.next_u32() as u16;
            dns_lookup(
                sc,
                &tunnel,
                &resolver,
                id,
                &name,
                rtype::TXT,
                rcode::NOERROR,
                &[Record::new(&name, 0, txt)],
            );
            tally(t, "tunnel_queries", 1);
        }
        Who::Tunnel(_) => {}
        Who::Normal(c, id) => {
            *id = id.wrapping_add(1);
            let Some(&name) = sc.rng.pick(&names) else { return };
            let ip = [192, 0, 2, (*id & 0x7f) as u8];
            dns_lookup(sc, c, &resolver, *id, name, rtype::A, rcode::NOERROR, &[a_rec(name, 300, ip)]);
            tally(t, "normal_lookups", 1);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::base32;

    #[test]
    fn base32_rfc4648_vectors() {
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "my");
        assert_eq!(base32(b"fo"), "mzxq");
        assert_eq!(base32(b"foo"), "mzxw6");
        assert_eq!(base32(b"foob"), "mzxw6yq");
        assert_eq!(base32(b"fooba"), "mzxw6ytb");
        assert_eq!(base32(b"foobar"), "mzxw6ytboi");
        assert_eq!(base32(&[0u8; 60]).len(), 96);
    }
}
