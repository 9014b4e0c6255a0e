//! The big benchmark mix (`ics-mix`), streamed to disk, never committed.
//!
//! Modbus/TCP links polled every 100 ms, DNP3 outstations every 500 ms, DNS clients,
//! UDP background (syslog-like) and bulk TCP transfers (file-transfer-like, 1460-byte
//! segments, ACK every second segment) filling the rest of the link. Every TCP session
//! has a handshake; bulk sessions close with FIN and are replaced every few MB.
//! Traffic is built in 10 ms slices of capture time and drained to the writer after
//! each slice, so memory stays at a few MB whatever the target size.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::cases::normal::{Dnp3Outstation, dnp3_poll_step, dnp3_startup};
use crate::cases::{ModbusLink, Tally, a_rec, dns_lookup, modbus_reply};
use crate::proto::dnp3::{self, Association};
use crate::proto::dns::{rcode, rtype};
use crate::proto::modbus::{self, Request};
use crate::scenario::{Channel, Dir, Host, LINK_DELAY_US, Periodic, Scenario, TcpSession, run_periodic};

/// Seed used when none is given.
pub const DEFAULT_SEED: u64 = 0xB16_0001;
/// Capture time per slice, µs.
const SLICE_US: u64 = 10_000;
/// Inter-segment gap of the bulk background, µs (about 30 Mbit/s of 1514-byte frames,
/// which leaves the ICS protocols a tenth of the bytes and most of the frames).
const BULK_GAP_US: u64 = 400;
/// Bytes per bulk TCP session before it is closed and replaced.
const BULK_SESSION_BYTES: u64 = 8 << 20;
/// Concurrent bulk sessions.
const BULK_SESSIONS: usize = 4;
/// Modbus links, DNP3 outstations and DNS clients in the mix.
const MODBUS_LINKS: usize = 16;
const DNP3_OUTSTATIONS: usize = 8;
const DNS_CLIENTS: usize = 16;
/// Drain to the writer when this many bytes are pending.
const DRAIN_AT: usize = 4 << 20;

/// What [`write()`] and [`stream()`] produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Bytes written (whole file).
    pub bytes: u64,
    /// Frames written.
    pub frames: u64,
}

/// Parses `1G`, `200M`, `64K` or a plain byte count (powers of 1024).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last()? {
        (i, 'G' | 'g') => (&s[..i], 1u64 << 30),
        (i, 'M' | 'm') => (&s[..i], 1 << 20),
        (i, 'K' | 'k') => (&s[..i], 1 << 10),
        _ => (s, 1),
    };
    num.trim().parse::<u64>().ok()?.checked_mul(mult)
}

enum Task {
    Modbus(ModbusLink, [Request; 2]),
    Dnp3(Box<Dnp3Outstation>),
    Dns(Host, u16),
    Syslog(Host, u16),
}

struct Bulk {
    s: TcpSession,
    sent: u64,
}

/// Writes the mix to `path` until at least `target` bytes were written.
pub fn write(path: &Path, target: u64, seed: u64) -> io::Result<Stats> {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let st = stream(&mut w, target, seed)?;
    w.flush()?;
    Ok(st)
}

/// Streams the mix into `w` until at least `target` bytes were written.
pub fn stream(w: &mut impl Write, target: u64, seed: u64) -> io::Result<Stats> {
    let mut sc = Scenario::new(seed);
    sc.server_delay_us = (100, 50);
    let mut t = Tally::new();
    let resolver = Host::v4([10, 90, 0, 2]);
    let collector = Host::v4([10, 90, 0, 5]);
    let mut tasks = Vec::new();
    for i in 0..MODBUS_LINKS {
        let master = Host::v4([10, 91, 0, 10 + (i % 4) as u8]);
        let plc = Host::v4([10, 91, 1, 20 + i as u8]);
        let link = ModbusLink::connect(&mut sc, &master, &plc, 1 + (i % 3) as u8);
        let reqs = [
            Request::ReadHoldingRegisters { start: (i * 10) as u16, qty: 16 },
            Request::ReadCoils { start: 0, qty: 32 },
        ];
        tasks.push(Periodic::new(&sc, (i as u64) * 6_000, 100_000, 2_000, Task::Modbus(link, reqs)));
    }
    for i in 0..DNP3_OUTSTATIONS {
        let master = Host::v4([10, 92, 0, 10]);
        let out = Host::v4([10, 92, 1, 30 + i as u8]);
        let ch = Channel::Tcp(TcpSession::connect(&mut sc, &master, &out, dnp3::PORT));
        let mut o =
            Dnp3Outstation { ch, assoc: Association::new(1, 10 + i as u16), tick: 0, unsolicited: false };
        dnp3_startup(&mut sc, &mut o, &mut t);
        tasks.push(Periodic::new(&sc, (i as u64) * 60_000, 500_000, 5_000, Task::Dnp3(Box::new(o))));
    }
    for i in 0..DNS_CLIENTS {
        let c = Host::v4([10, 93, 0, 50 + i as u8]);
        tasks.push(Periodic::new(&sc, (i as u64) * 12_000, 200_000, 50_000, Task::Dns(c, (i as u16) << 10)));
    }
    for i in 0..4 {
        let c = Host::v4([10, 94, 0, 20 + i as u8]);
        tasks.push(Periodic::new(&sc, (i as u64) * 10_000, 50_000, 10_000, Task::Syslog(c, 0)));
    }
    let mut pattern = vec![0u8; 1 << 16];
    sc.rng.fill(&mut pattern);
    let mut bulks: Vec<Bulk> = (0..BULK_SESSIONS).map(|i| new_bulk(&mut sc, i)).collect();
    let mut written = 0u64;
    let mut next_bulk = 0usize;
    let names =
        ["historian.plant.local", "ntp.ubuntu.com", "time.windows.com", "update.scada-vendor.example"];
    while written + sc.pending_bytes() as u64 <= target {
        let slice_end = sc.now() + SLICE_US;
        run_periodic(&mut sc, &mut tasks, slice_end, |sc, task| match task {
            Task::Modbus(link, reqs) => {
                for r in reqs.iter() {
                    link.transact(sc, r);
                }
            }
            Task::Dnp3(o) => dnp3_poll_step(sc, o, &mut t),
            Task::Dns(c, id) => {
                *id = id.wrapping_add(1);
                let name = names[(*id as usize) % names.len()];
                let ip = [198, 51, 100, (*id & 0xff) as u8];
                dns_lookup(sc, c, &resolver, *id, name, rtype::A, rcode::NOERROR, &[a_rec(name, 60, ip)]);
            }
            Task::Syslog(c, n) => {
                *n = n.wrapping_add(1);
                let msg =
                    format!("<134>Jan  5 08:00:00 rtu{} scada: poll cycle {} ok, 0 errors", c.mac[5], n);
                sc.udp(c, 514, &collector, 514, msg.as_bytes());
            }
        });
        while sc.now() < slice_end {
            let i = next_bulk % BULK_SESSIONS;
            next_bulk += 1;
            let b = &mut bulks[i];
            let off = (b.sent % (pattern.len() as u64 - 1460)) as usize;
            b.s.send_segment(&mut sc, Dir::ToClient, &pattern[off..off + 1460]);
            b.sent += 1460;
            if b.sent.is_multiple_of(2920) {
                b.s.ack(&mut sc, Dir::ToServer);
            }
            sc.advance(BULK_GAP_US);
            if b.sent >= BULK_SESSION_BYTES {
                b.s.close(&mut sc);
                bulks[i] = new_bulk(&mut sc, i);
            }
        }
        if sc.pending_bytes() >= DRAIN_AT {
            written += sc.pending_bytes() as u64;
            sc.drain(w)?;
        }
    }
    for task in &mut tasks {
        match &mut task.state {
            Task::Modbus(link, _) => link.ch.close(&mut sc),
            Task::Dnp3(o) => o.ch.close(&mut sc),
            Task::Dns(..) | Task::Syslog(..) => {}
        }
    }
    for b in &mut bulks {
        b.s.close(&mut sc);
    }
    written += sc.pending_bytes() as u64;
    sc.drain(w)?;
    Ok(Stats { bytes: written, frames: sc.frame_count() })
}

fn new_bulk(sc: &mut Scenario, i: usize) -> Bulk {
    let client = Host::v4([10, 95, 0, 10 + i as u8]);
    let server = Host::v4([10, 95, 1, 10 + i as u8]);
    let port = if i.is_multiple_of(2) { 445 } else { 443 };
    let s = TcpSession::connect(sc, &client, &server, port);
    Bulk { s, sent: 0 }
}

/// Writes a plain Modbus/TCP polling capture to `path`: one master, one
/// PLC, one TCP session (handshake, `pairs` read-holding-registers
/// transactions of 10 registers every 10 ms, each request, response and
/// ACK its own segment, FIN). With `server_ack` the PLC also acknowledges
/// each request with a pure ACK before it answers (4 frames per
/// transaction: the shape of the capture the Suricata figure was
/// taken on, 402 k packets for 100 k pairs), for side-by-side runs.
pub fn write_poll(path: &Path, pairs: u64, seed: u64, server_ack: bool) -> io::Result<Stats> {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut sc = Scenario::new(seed);
    sc.server_delay_us = (300, 100);
    let master = Host::v4([10, 91, 0, 10]);
    let plc = Host::v4([10, 91, 1, 20]);
    let mut link = ModbusLink::connect(&mut sc, &master, &plc, 1);
    let mut written = 0u64;
    for i in 0..pairs {
        let start = ((i % 10) * 10) as u16;
        let req = Request::ReadHoldingRegisters { start, qty: 10 };
        match (&mut link.ch, server_ack) {
            (Channel::Tcp(s), true) => {
                link.tid = link.tid.wrapping_add(1);
                let resp = modbus_reply(&mut sc, &req);
                s.send(&mut sc, Dir::ToServer, &modbus::request(link.tid, link.unit, &req));
                sc.advance(LINK_DELAY_US);
                s.ack(&mut sc, Dir::ToClient);
                let d = sc.jitter(sc.server_delay_us.0, sc.server_delay_us.1);
                sc.advance(d);
                s.send(&mut sc, Dir::ToClient, &modbus::response(link.tid, link.unit, &resp));
                sc.advance(LINK_DELAY_US);
                s.ack(&mut sc, Dir::ToServer);
                sc.advance(LINK_DELAY_US);
            }
            _ => link.transact(&mut sc, &req),
        }
        sc.advance(10_000);
        if sc.pending_bytes() >= DRAIN_AT {
            written += sc.pending_bytes() as u64;
            sc.drain(&mut w)?;
        }
    }
    link.ch.close(&mut sc);
    written += sc.pending_bytes() as u64;
    sc.drain(&mut w)?;
    w.flush()?;
    Ok(Stats { bytes: written, frames: sc.frame_count() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pcap;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("200M"), Some(200 << 20));
        assert_eq!(parse_size("64k"), Some(64 << 10));
        assert_eq!(parse_size("123"), Some(123));
        assert_eq!(parse_size("G"), None);
        assert_eq!(parse_size(""), None);
        assert_eq!(parse_size("99999999999999G"), None);
    }

    #[test]
    fn small_mix_is_valid_deterministic_and_monotonic() {
        let mut a = Vec::new();
        let st = stream(&mut a, 3 << 20, 5).expect("vec write");
        assert_eq!(st.bytes, a.len() as u64);
        assert!(a.len() >= 3 << 20);
        let recs = pcap::records(&a).expect("valid pcap");
        assert_eq!(recs.len() as u64, st.frames);
        assert!(recs.windows(2).all(|w| w[0].ts_us <= w[1].ts_us));
        let mut b = Vec::new();
        stream(&mut b, 3 << 20, 5).expect("vec write");
        assert_eq!(a, b);
    }

    #[test]
    fn poll_capture_has_three_frames_per_transaction_plus_handshake_and_close() {
        let dir = std::env::temp_dir().join(format!("pcapgen-poll-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("poll.pcap");
        let st = write_poll(&p, 10, DEFAULT_SEED, false).unwrap();
        assert_eq!(st.frames, 10 * 3 + 6);
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(bytes.len() as u64, st.bytes);
        assert_eq!(&bytes[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        // Deterministic for a seed.
        let again = write_poll(&dir.join("again.pcap"), 10, DEFAULT_SEED, false).unwrap();
        assert_eq!(again, st);
        assert_eq!(std::fs::read(dir.join("again.pcap")).unwrap(), bytes);
        // With the server's ACK: four frames per transaction, every one in
        // capture-time order, and the same transactions.
        let acked = write_poll(&dir.join("acked.pcap"), 10, DEFAULT_SEED, true).unwrap();
        assert_eq!(acked.frames, 10 * 4 + 6);
        let recs_bytes = std::fs::read(dir.join("acked.pcap")).unwrap();
        let recs = pcap::records(&recs_bytes).unwrap();
        assert_eq!(recs.len() as u64, acked.frames);
        assert!(recs.windows(2).all(|w| w[0].ts_us <= w[1].ts_us));
        let payloads = |b: &[u8]| pcap::records(b).unwrap().iter().filter(|r| r.data.len() > 54).count();
        assert_eq!(payloads(&recs_bytes), payloads(&bytes));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
