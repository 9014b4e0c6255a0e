//! The scenario layer: hosts, a deterministic jittered clock, and emitters for TCP
//! sessions, UDP datagrams and fragmented IP packets, all appended to an in-memory
//! pcap. Adding a case is a few lines:
//!
//! ```
//! use centinela_pcapgen::scenario::{Host, Scenario, TcpSession};
//! use centinela_pcapgen::proto::modbus::{self, Request, Response};
//!
//! let mut sc = Scenario::new(42);
//! let hmi = Host::v4([10, 0, 0, 10]);
//! let plc = Host::v4([10, 0, 0, 20]);
//! let mut s = TcpSession::connect(&mut sc, &hmi, &plc, modbus::PORT);
//! let req = modbus::request(1, 1, &Request::ReadHoldingRegisters { start: 0, qty: 2 });
//! let resp = modbus::response(1, 1, &Response::ReadHoldingRegisters { values: vec![1, 2] });
//! s.exchange(&mut sc, &req, &resp);
//! s.close(&mut sc);
//! let pcap_bytes = sc.into_pcap();
//! assert!(pcap_bytes.len() > 24);
//! ```

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::pcap;
use crate::rng::Rng;
use crate::wire::{self, Ipv4Fields, TcpFields, VlanTag, tcp_flags};

/// Start of every scenario's clock: 2026-01-05 08:00:00 UTC, in microseconds.
pub const EPOCH_US: u64 = 1_767_600_000_000_000;
/// Maximum segment size used by [`TcpSession::send`].
pub const MSS: usize = 1460;

/// One station on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// MAC address.
    pub mac: [u8; 6],
    /// IP address.
    pub ip: IpAddr,
}

impl Host {
    /// An IPv4 host with a locally administered MAC derived from its address.
    pub fn v4(o: [u8; 4]) -> Self {
        Self { mac: [0x02, 0x00, o[0], o[1], o[2], o[3]], ip: IpAddr::V4(Ipv4Addr::from(o)) }
    }

    /// An IPv6 host with a MAC derived from the low 32 bits of its address.
    pub fn v6(a: Ipv6Addr) -> Self {
        let o = a.octets();
        Self { mac: [0x02, 0x06, o[12], o[13], o[14], o[15]], ip: IpAddr::V6(a) }
    }
}

/// Which side of a TCP session sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Client to server.
    ToServer,
    /// Server to client.
    ToClient,
}

/// IPv6 extension header inserted before the transport header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ipv6Ext {
    /// Hop-by-Hop options (PadN).
    HopByHop,
    /// Destination options (PadN).
    DestinationOptions,
}

/// Order in which fragments are emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FragmentOrder {
    /// First to last.
    InOrder,
    /// Last to first.
    Reverse,
}

/// How to fragment one IP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmentPlan {
    /// Number of fragments (at least 1; payload pieces are multiples of 8 bytes).
    pub count: usize,
    /// Emission order.
    pub order: FragmentOrder,
    /// Also emit, right after the first fragment, a fragment covering bytes 8..16
    /// of the payload with different data (0xEE): a first-wins reassembler keeps the
    /// original bytes, a last-wins one gets a corrupted payload.
    pub overlap: bool,
}

impl FragmentPlan {
    /// `count` fragments in order, no overlap.
    pub fn split(count: usize) -> Self {
        Self { count, order: FragmentOrder::InOrder, overlap: false }
    }
}

/// A scenario: clock, randomness, link settings and the pcap being written.
#[derive(Debug)]
pub struct Scenario {
    /// The scenario's random source (seeded; use it for every random choice).
    pub rng: Rng,
    /// VLAN tags applied to every frame emitted while set (outermost first).
    pub tags: Vec<VlanTag>,
    /// Extension header applied to every IPv6 packet emitted while set.
    pub ipv6_ext: Option<Ipv6Ext>,
    /// Server think time used by request/response exchanges, µs (base, ± spread).
    pub server_delay_us: (u64, u64),
    now_us: u64,
    out: Vec<u8>,
    frames: u64,
    ip_id: u16,
    next_port: u16,
}

impl Scenario {
    /// A scenario seeded with `seed`, clock at [`EPOCH_US`].
    pub fn new(seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let ip_id = rng.next_u32() as u16;
        let next_port = 49152 + rng.below(8000) as u16;
        Self {
            rng,
            tags: Vec::new(),
            ipv6_ext: None,
            server_delay_us: SERVER_DELAY_US,
            now_us: EPOCH_US,
            out: pcap::global_header().to_vec(),
            frames: 0,
            ip_id,
            next_port,
        }
    }

    /// Current time in microseconds since the Unix epoch.
    pub fn now(&self) -> u64 {
        self.now_us
    }

    /// Advances the clock by `us`.
    pub fn advance(&mut self, us: u64) {
        self.now_us = self.now_us.saturating_add(us);
    }

    /// Moves the clock to `t` unless it is already later (time never goes back).
    pub fn advance_to(&mut self, t: u64) {
        self.now_us = self.now_us.max(t);
    }

    /// `base_us` plus or minus up to `spread_us`, uniformly.
    pub fn jitter(&mut self, base_us: u64, spread_us: u64) -> u64 {
        let lo = base_us.saturating_sub(spread_us);
        self.rng.range(lo, base_us.saturating_add(spread_us))
    }

    /// A fresh ephemeral port (49152..65535, wrapping).
    pub fn ephemeral_port(&mut self) -> u16 {
        let p = self.next_port;
        self.next_port = if p >= 65_000 { 49_152 } else { p + 1 + self.rng.below(7) as u16 };
        p
    }

    /// Frames emitted so far.
    pub fn frame_count(&self) -> u64 {
        self.frames
    }

    /// Bytes of pcap produced so far (including bytes already drained).
    pub fn pending_bytes(&self) -> usize {
        self.out.len()
    }

    /// Appends a raw link-layer frame stamped with the current time.
    pub fn emit_frame(&mut self, frame: &[u8]) {
        pcap::push_record(&mut self.out, self.now_us, frame);
        self.frames += 1;
    }

    fn emit_l3(&mut self, src: &Host, dst: &Host, ethertype: u16, l3: &[u8]) {
        let f = wire::ethernet(dst.mac, src.mac, &self.tags, ethertype, l3);
        self.emit_frame(&f);
    }

    fn next_ip_id(&mut self) -> u16 {
        self.ip_id = self.ip_id.wrapping_add(1);
        self.ip_id
    }

    /// Emits one IP packet carrying `l4` (protocol `proto`) from `src` to `dst`.
    /// IPv4 packets carry DF; IPv6 packets get [`Scenario::ipv6_ext`] when set.
    pub fn emit_ip(&mut self, src: &Host, dst: &Host, proto: u8, l4: &[u8]) {
        match (src.ip, dst.ip) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let id = self.next_ip_id();
                let f = Ipv4Fields { src: s, dst: d, proto, id, flags_frag: wire::IPV4_DF, ttl: 64 };
                let p = wire::ipv4(&f, l4);
                self.emit_l3(src, dst, wire::ETHERTYPE_IPV4, &p);
            }
            (s, d) => {
                let (s, d) = (v6(s), v6(d));
                let p = match self.ipv6_ext {
                    None => wire::ipv6(s, d, proto, 64, 0, l4),
                    Some(ext) => {
                        let nh = match ext {
                            Ipv6Ext::HopByHop => wire::IPPROTO_HOPOPTS,
                            Ipv6Ext::DestinationOptions => wire::IPPROTO_DSTOPTS,
                        };
                        let mut body = wire::ipv6_options_header(proto).to_vec();
                        body.extend_from_slice(l4);
                        wire::ipv6(s, d, nh, 64, 0, &body)
                    }
                };
                self.emit_l3(src, dst, wire::ETHERTYPE_IPV6, &p);
            }
        }
    }

    /// Emits `l4` as a fragmented IP packet following `plan`, one frame per fragment,
    /// 100 µs apart. IPv6 uses a Fragment extension header.
    pub fn emit_ip_fragments(&mut self, src: &Host, dst: &Host, proto: u8, l4: &[u8], plan: FragmentPlan) {
        let count = plan.count.max(1);
        let piece = (l4.len().div_ceil(count)).div_ceil(8).max(1) * 8;
        let mut frags: Vec<(usize, &[u8], bool)> = Vec::new();
        let mut off = 0;
        while off < l4.len() || frags.is_empty() {
            let end = (off + piece).min(l4.len());
            frags.push((off, &l4[off..end], end < l4.len()));
            off = end;
        }
        let overlap_data = [0xEEu8; 8];
        let mut order: Vec<(usize, &[u8], bool)> = match plan.order {
            FragmentOrder::InOrder => frags.clone(),
            FragmentOrder::Reverse => frags.iter().rev().copied().collect(),
        };
        if plan.overlap && l4.len() >= 16 {
            order.insert(1, (8, &overlap_data[..], true));
        }
        let id = self.next_ip_id();
        let ident = u32::from(id) | 0x5A00_0000;
        for (off, data, more) in order {
            match (src.ip, dst.ip) {
                (IpAddr::V4(s), IpAddr::V4(d)) => {
                    let flags_frag = ((off / 8) as u16 & 0x1FFF) | if more { wire::IPV4_MF } else { 0 };
                    let f = Ipv4Fields { src: s, dst: d, proto, id, flags_frag, ttl: 64 };
                    let p = wire::ipv4(&f, data);
                    self.emit_l3(src, dst, wire::ETHERTYPE_IPV4, &p);
                }
                (s, d) => {
                    let mut body = wire::ipv6_fragment_header(proto, (off / 8) as u16, more, ident).to_vec();
                    body.extend_from_slice(data);
                    let p = wire::ipv6(v6(s), v6(d), wire::IPPROTO_FRAGMENT, 64, 0, &body);
                    self.emit_l3(src, dst, wire::ETHERTYPE_IPV6, &p);
                }
            }
            self.advance(100);
        }
    }

    /// Emits one UDP datagram.
    pub fn udp(&mut self, src: &Host, sport: u16, dst: &Host, dport: u16, payload: &[u8]) {
        let d = wire::udp(src.ip, dst.ip, sport, dport, payload);
        self.emit_ip(src, dst, wire::IPPROTO_UDP, &d);
    }

    /// Emits one UDP datagram as IP fragments.
    pub fn udp_fragmented(
        &mut self,
        src: &Host,
        sport: u16,
        dst: &Host,
        dport: u16,
        payload: &[u8],
        plan: FragmentPlan,
    ) {
        let d = wire::udp(src.ip, dst.ip, sport, dport, payload);
        self.emit_ip_fragments(src, dst, wire::IPPROTO_UDP, &d, plan);
    }

    /// Writes the pcap bytes produced so far to `w` and forgets them (streaming use).
    pub fn drain(&mut self, w: &mut impl Write) -> io::Result<()> {
        w.write_all(&self.out)?;
        self.out.clear();
        Ok(())
    }

    /// The whole pcap file (if nothing was drained).
    pub fn into_pcap(self) -> Vec<u8> {
        self.out
    }
}

fn v6(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// Default server think time for exchanges, in µs (base, spread).
pub const SERVER_DELAY_US: (u64, u64) = (4_000, 3_000);
/// One-way latency between the two ends, in µs.
pub const LINK_DELAY_US: u64 = 150;

/// A TCP connection with real sequence/acknowledgement bookkeeping.
#[derive(Debug, Clone)]
pub struct TcpSession {
    /// Client.
    pub client: Host,
    /// Server.
    pub server: Host,
    /// Client port.
    pub cport: u16,
    /// Server port.
    pub sport: u16,
    /// Next sequence number the client sends.
    pub c_next: u32,
    /// Next sequence number the server sends.
    pub s_next: u32,
    /// Window advertised by both ends.
    pub window: u16,
}

impl TcpSession {
    /// Opens a connection with a three-way handshake (client SYN with MSS option,
    /// SYN/ACK, ACK) from a fresh ephemeral port.
    pub fn connect(sc: &mut Scenario, client: &Host, server: &Host, sport: u16) -> Self {
        let cport = sc.ephemeral_port();
        Self::connect_from(sc, client, cport, server, sport)
    }

    /// Like [`TcpSession::connect`] with a chosen client port.
    pub fn connect_from(sc: &mut Scenario, client: &Host, cport: u16, server: &Host, sport: u16) -> Self {
        let c_isn = sc.rng.next_u32();
        let s_isn = sc.rng.next_u32();
        let mut s = Self {
            client: client.clone(),
            server: server.clone(),
            cport,
            sport,
            c_next: c_isn,
            s_next: s_isn,
            window: 64_240,
        };
        let mss = wire::mss_option(MSS as u16);
        s.segment(sc, Dir::ToServer, c_isn, 0, tcp_flags::SYN, &mss, &[]);
        sc.advance(LINK_DELAY_US * 2);
        s.segment(
            sc,
            Dir::ToClient,
            s_isn,
            c_isn.wrapping_add(1),
            tcp_flags::SYN | tcp_flags::ACK,
            &mss,
            &[],
        );
        sc.advance(LINK_DELAY_US * 2);
        s.c_next = c_isn.wrapping_add(1);
        s.s_next = s_isn.wrapping_add(1);
        s.segment(sc, Dir::ToServer, s.c_next, s.s_next, tcp_flags::ACK, &[], &[]);
        sc.advance(LINK_DELAY_US);
        s
    }

    /// Emits one segment with explicit fields, without touching the session state
    /// (for out-of-order, retransmitted and overlapping segments).
    #[allow(clippy::too_many_arguments)]
    pub fn segment(
        &self,
        sc: &mut Scenario,
        dir: Dir,
        seq: u32,
        ack: u32,
        flags: u8,
        options: &[u8],
        data: &[u8],
    ) {
        let (src, dst, sp, dp) = match dir {
            Dir::ToServer => (&self.client, &self.server, self.cport, self.sport),
            Dir::ToClient => (&self.server, &self.client, self.sport, self.cport),
        };
        let f = TcpFields { sport: sp, dport: dp, seq, ack, flags, window: self.window };
        let t = wire::tcp(src.ip, dst.ip, &f, options, data);
        sc.emit_ip(src, dst, wire::IPPROTO_TCP, &t);
    }

    /// The (seq, ack) pair the side sending in `dir` would use now.
    pub fn seq_ack(&self, dir: Dir) -> (u32, u32) {
        match dir {
            Dir::ToServer => (self.c_next, self.s_next),
            Dir::ToClient => (self.s_next, self.c_next),
        }
    }

    /// Advances the sender's sequence number by `n` without emitting (a gap, or data
    /// emitted by hand with [`TcpSession::segment`]).
    pub fn skip(&mut self, dir: Dir, n: usize) {
        match dir {
            Dir::ToServer => self.c_next = self.c_next.wrapping_add(n as u32),
            Dir::ToClient => self.s_next = self.s_next.wrapping_add(n as u32),
        }
    }

    /// Emits one data segment carrying `data` (PSH|ACK) at the current sequence
    /// number and advances it.
    pub fn send_segment(&mut self, sc: &mut Scenario, dir: Dir, data: &[u8]) {
        let (seq, ack) = self.seq_ack(dir);
        self.segment(sc, dir, seq, ack, tcp_flags::PSH | tcp_flags::ACK, &[], data);
        self.skip(dir, data.len());
    }

    /// Sends `data`, segmented at [`MSS`], 20 µs apart.
    pub fn send(&mut self, sc: &mut Scenario, dir: Dir, data: &[u8]) {
        let mut chunks = data.chunks(MSS).peekable();
        while let Some(c) = chunks.next() {
            self.send_segment(sc, dir, c);
            if chunks.peek().is_some() {
                sc.advance(20);
            }
        }
    }

    /// Sends `data` cut at the given offsets (ascending, within the data; others are
    /// ignored), one segment per piece, `gap_us` apart.
    pub fn send_split(&mut self, sc: &mut Scenario, dir: Dir, data: &[u8], cuts: &[usize], gap_us: u64) {
        let mut start = 0;
        for &c in cuts.iter().chain(std::iter::once(&data.len())) {
            if c <= start || c > data.len() {
                continue;
            }
            self.send_segment(sc, dir, &data[start..c]);
            start = c;
            sc.advance(gap_us);
        }
    }

    /// Emits a pure ACK from the side sending in `dir`.
    pub fn ack(&self, sc: &mut Scenario, dir: Dir) {
        let (seq, ack) = self.seq_ack(dir);
        self.segment(sc, dir, seq, ack, tcp_flags::ACK, &[], &[]);
    }

    /// A request/response round trip: request, server think time, response, client
    /// ACK after the link delay.
    pub fn exchange(&mut self, sc: &mut Scenario, req: &[u8], resp: &[u8]) {
        self.send(sc, Dir::ToServer, req);
        let d = sc.jitter(sc.server_delay_us.0, sc.server_delay_us.1);
        sc.advance(d);
        self.send(sc, Dir::ToClient, resp);
        sc.advance(LINK_DELAY_US);
        self.ack(sc, Dir::ToServer);
        sc.advance(LINK_DELAY_US);
    }

    /// A request with no response: request then the server's ACK.
    pub fn one_way(&mut self, sc: &mut Scenario, dir: Dir, data: &[u8]) {
        self.send(sc, dir, data);
        sc.advance(LINK_DELAY_US);
        let back = match dir {
            Dir::ToServer => Dir::ToClient,
            Dir::ToClient => Dir::ToServer,
        };
        self.ack(sc, back);
        sc.advance(LINK_DELAY_US);
    }

    /// Abortive close: an RST|ACK from the side sending in `dir`.
    pub fn reset(&self, sc: &mut Scenario, dir: Dir) {
        let (seq, ack) = self.seq_ack(dir);
        self.segment(sc, dir, seq, ack, tcp_flags::RST | tcp_flags::ACK, &[], &[]);
        sc.advance(LINK_DELAY_US);
    }

    /// Graceful close: client FIN, server FIN/ACK, client ACK.
    pub fn close(&mut self, sc: &mut Scenario) {
        let fa = tcp_flags::FIN | tcp_flags::ACK;
        self.segment(sc, Dir::ToServer, self.c_next, self.s_next, fa, &[], &[]);
        self.c_next = self.c_next.wrapping_add(1);
        sc.advance(LINK_DELAY_US * 2);
        self.segment(sc, Dir::ToClient, self.s_next, self.c_next, fa, &[], &[]);
        self.s_next = self.s_next.wrapping_add(1);
        sc.advance(LINK_DELAY_US * 2);
        self.ack(sc, Dir::ToServer);
        sc.advance(LINK_DELAY_US);
    }
}

/// A request/response carrier: a TCP session, or a UDP port pair.
#[derive(Debug, Clone)]
pub enum Channel {
    /// Over an established TCP session.
    Tcp(TcpSession),
    /// Over UDP datagrams.
    Udp {
        /// Client (initiator).
        client: Host,
        /// Client port.
        cport: u16,
        /// Server.
        server: Host,
        /// Server port.
        sport: u16,
    },
}

impl Channel {
    /// A UDP channel.
    pub fn udp(client: &Host, cport: u16, server: &Host, sport: u16) -> Self {
        Self::Udp { client: client.clone(), cport, server: server.clone(), sport }
    }

    /// A request and its response, with the server's think time between them.
    pub fn exchange(&mut self, sc: &mut Scenario, req: &[u8], resp: &[u8]) {
        match self {
            Self::Tcp(s) => s.exchange(sc, req, resp),
            Self::Udp { client, cport, server, sport } => {
                sc.udp(client, *cport, server, *sport, req);
                let d = sc.jitter(sc.server_delay_us.0, sc.server_delay_us.1);
                sc.advance(d);
                sc.udp(server, *sport, client, *cport, resp);
                sc.advance(LINK_DELAY_US);
            }
        }
    }

    /// One message in direction `dir` with no application reply (TCP: plus the
    /// peer's ACK).
    pub fn send(&mut self, sc: &mut Scenario, dir: Dir, data: &[u8]) {
        match self {
            Self::Tcp(s) => s.one_way(sc, dir, data),
            Self::Udp { client, cport, server, sport } => {
                match dir {
                    Dir::ToServer => sc.udp(client, *cport, server, *sport, data),
                    Dir::ToClient => sc.udp(server, *sport, client, *cport, data),
                }
                sc.advance(LINK_DELAY_US);
            }
        }
    }

    /// Closes a TCP channel gracefully (no-op for UDP).
    pub fn close(&mut self, sc: &mut Scenario) {
        if let Self::Tcp(s) = self {
            s.close(sc);
        }
    }
}

/// A periodic task for [`run_periodic`].
#[derive(Debug, Clone)]
pub struct Periodic<T> {
    /// Next due time (µs since the Unix epoch).
    pub next: u64,
    /// Period in µs.
    pub period: u64,
    /// Jitter added to each period, uniformly in ±`jitter`.
    pub jitter: u64,
    /// The task's own state.
    pub state: T,
}

impl<T> Periodic<T> {
    /// A task first due `offset` µs after the scenario's current time.
    pub fn new(sc: &Scenario, offset: u64, period: u64, jitter: u64, state: T) -> Self {
        Self { next: sc.now() + offset, period, jitter, state }
    }
}

/// Runs the tasks in due order until the scenario clock passes `until`: each time,
/// the earliest task runs with the clock moved to its due time (never backwards),
/// then is rescheduled one jittered period later (or now, when it is that late).
pub fn run_periodic<T>(
    sc: &mut Scenario,
    tasks: &mut [Periodic<T>],
    until: u64,
    mut f: impl FnMut(&mut Scenario, &mut T),
) {
    loop {
        let Some(i) = (0..tasks.len()).min_by_key(|&i| (tasks[i].next, i)) else { return };
        if tasks[i].next >= until {
            return;
        }
        sc.advance_to(tasks[i].next);
        f(sc, &mut tasks[i].state);
        let step = sc.jitter(tasks[i].period, tasks[i].jitter).max(1);
        // A task that fell more than a period behind (the clock was busy elsewhere)
        // skips the missed periods instead of running back to back to catch up.
        tasks[i].next = (tasks[i].next + step).max(sc.now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp_of(frame: &[u8]) -> &[u8] {
        &frame[14 + 20..]
    }

    #[test]
    fn handshake_exchange_close_sequence_numbers() {
        let mut sc = Scenario::new(1);
        let a = Host::v4([10, 0, 0, 1]);
        let b = Host::v4([10, 0, 0, 2]);
        let mut s = TcpSession::connect(&mut sc, &a, &b, 502);
        s.exchange(&mut sc, b"abcd", b"xyz");
        s.close(&mut sc);
        let file = sc.into_pcap();
        let recs = pcap::records(&file).expect("valid pcap");
        assert_eq!(recs.len(), 3 + 3 + 3);
        let seq = |i: usize| u32::from_be_bytes(tcp_of(recs[i].data)[4..8].try_into().expect("4"));
        let ack = |i: usize| u32::from_be_bytes(tcp_of(recs[i].data)[8..12].try_into().expect("4"));
        let flags = |i: usize| tcp_of(recs[i].data)[13];
        assert_eq!(flags(0), tcp_flags::SYN);
        assert_eq!(flags(1), tcp_flags::SYN | tcp_flags::ACK);
        assert_eq!(ack(1), seq(0).wrapping_add(1));
        assert_eq!(seq(3), seq(0).wrapping_add(1));
        assert_eq!(ack(4), seq(3).wrapping_add(4));
        assert_eq!(ack(5), seq(4).wrapping_add(3));
        assert_eq!(flags(6), tcp_flags::FIN | tcp_flags::ACK);
        assert_eq!(ack(8), seq(7).wrapping_add(1));
        assert!(recs.windows(2).all(|w| w[0].ts_us <= w[1].ts_us));
    }

    #[test]
    fn fragments_cover_the_datagram() {
        let mut sc = Scenario::new(2);
        let a = Host::v4([10, 0, 0, 1]);
        let b = Host::v4([10, 0, 0, 2]);
        let payload = vec![7u8; 100];
        sc.udp_fragmented(
            &a,
            1,
            &b,
            2,
            &payload,
            FragmentPlan { count: 3, order: FragmentOrder::Reverse, overlap: true },
        );
        let file = sc.into_pcap();
        let recs = pcap::records(&file).expect("valid pcap");
        assert_eq!(recs.len(), 4);
        let total: usize = recs.iter().map(|r| r.data.len() - 34).sum();
        assert_eq!(total, 108 + 8);
        // Reverse order: the first frame is the last fragment (MF clear, offset > 0).
        let ff = u16::from_be_bytes([recs[0].data[20], recs[0].data[21]]);
        assert_eq!(ff & wire::IPV4_MF, 0);
        assert!(ff & 0x1FFF > 0);
    }

    #[test]
    fn ipv6_extension_and_fragment_headers() {
        let mut sc = Scenario::new(4);
        let a = Host::v6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1));
        let b = Host::v6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2));
        sc.tags = vec![VlanTag::dot1q(7)];
        sc.ipv6_ext = Some(Ipv6Ext::DestinationOptions);
        Channel::udp(&a, 1000, &b, 53).exchange(&mut sc, b"q", b"r");
        sc.ipv6_ext = None;
        sc.udp_fragmented(&a, 1, &b, 2, &[9u8; 40], FragmentPlan::split(2));
        let file = sc.into_pcap();
        let recs = pcap::records(&file).expect("valid pcap");
        assert_eq!(recs.len(), 4);
        let f = recs[0].data;
        assert_eq!(&f[12..18], &[0x81, 0x00, 0x00, 7, 0x86, 0xDD]);
        let ip = &f[18..];
        assert_eq!(ip[6], wire::IPPROTO_DSTOPTS);
        assert_eq!(usize::from(u16::from_be_bytes([ip[4], ip[5]])), 8 + 8 + 1);
        assert_eq!(ip[40], wire::IPPROTO_UDP);
        let frag = &recs[2].data[18..];
        assert_eq!(frag[6], wire::IPPROTO_FRAGMENT);
        assert_eq!(frag[40], wire::IPPROTO_UDP);
        assert_eq!(frag[43] & 1, 1);
        assert_eq!(recs[3].data[18 + 43] & 1, 0);
    }

    #[test]
    fn periodic_tasks_run_in_time_order() {
        let mut sc = Scenario::new(3);
        let mut tasks =
            vec![Periodic::new(&sc, 0, 1_000, 100, 0u32), Periodic::new(&sc, 500, 3_000, 0, 0u32)];
        let mut seen = Vec::new();
        let start = sc.now();
        run_periodic(&mut sc, &mut tasks, start + 10_000, |sc, n| {
            *n += 1;
            seen.push(sc.now());
        });
        assert!(seen.windows(2).all(|w| w[0] <= w[1]));
        assert!((9..=11).contains(&tasks[0].state));
        assert_eq!(tasks[1].state, 4);
    }
}
