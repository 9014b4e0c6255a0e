//! L2–L4 decoding with etherparse's lax slicing.
//!
//! [`decode`] takes one captured frame and its link type and returns what it
//! could parse — VLAN ids, the IP layer (addresses, protocol, payload,
//! fragment info) and the transport header — plus, when parsing stopped early,
//! a stable anomaly name saying where. Nothing here allocates: every slice
//! borrows the frame.
//!
//! The commonest shape on an ICS SPAN port — IPv4 without options, not a
//! fragment, carrying TCP or UDP — is decoded by hand (`plain_ipv4`);
//! everything else goes through etherparse. The test
//! `fast_decoder_agrees_with_the_lax_packet_decoder` holds the result of
//! [`decode`] to etherparse's own `LaxSlicedPacket` on every truncation and
//! on random corruptions aimed at the IP and transport headers.
//!
//! Link types: Ethernet (with 802.1Q / QinQ), Linux cooked SLL and SLL2, raw
//! IPv4/IPv6 (`RAW`, `IPV4`, `IPV6`), BSD null/loopback.

use etherparse::err::Layer;
use etherparse::{EtherType, LaxNetSlice, LaxSlicedPacket, TransportSlice};
use std::net::IpAddr;

/// Link types we decode (pcap LINKTYPE_* values).
pub mod linktype {
    /// BSD loopback, host byte order family.
    pub const NULL: i32 = 0;
    /// Ethernet.
    pub const ETHERNET: i32 = 1;
    /// Raw IP (OpenBSD value).
    pub const RAW_OPENBSD: i32 = 14;
    /// Raw IP (some BSDs).
    pub const RAW_12: i32 = 12;
    /// Raw IP.
    pub const RAW: i32 = 101;
    /// OpenBSD loopback, network byte order family.
    pub const LOOP: i32 = 108;
    /// Linux cooked capture v1.
    pub const LINUX_SLL: i32 = 113;
    /// Raw IPv4.
    pub const IPV4: i32 = 228;
    /// Raw IPv6.
    pub const IPV6: i32 = 229;
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: i32 = 276;

    /// Whether [`super::decode`] knows this link type.
    pub fn supported(lt: i32) -> bool {
        matches!(
            lt,
            NULL | ETHERNET | RAW_OPENBSD | RAW_12 | RAW | LOOP | LINUX_SLL | IPV4 | IPV6 | LINUX_SLL2
        )
    }
}

/// IP fragment facts (from the IPv4 header or the IPv6 fragment header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragInfo {
    /// Identification (16 bits for IPv4, 32 for IPv6).
    pub id: u32,
    /// Offset of this fragment's payload in the datagram, bytes.
    pub offset: u32,
    /// More fragments follow.
    pub more: bool,
}

/// The IP layer of a packet.
#[derive(Debug, Clone, Copy)]
pub struct Ip<'a> {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Transport protocol number (after IPv6 extension headers).
    pub proto: u8,
    /// IP payload (possibly cut short by the snaplen).
    pub payload: &'a [u8],
    /// Set when this packet is a fragment.
    pub frag: Option<FragInfo>,
    /// False when the payload is shorter than the IP header said.
    pub complete: bool,
    /// The IPv4 header checksum was verified and is wrong.
    pub checksum_bad: bool,
}

/// TCP header facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tcp {
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Flags byte (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20, ECE 0x40, CWR 0x80).
    pub flags: u8,
}

/// TCP flag bits.
pub mod tcpflag {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
}

/// The transport layer.
#[derive(Debug, Clone, Copy)]
pub enum L4<'a> {
    /// TCP header and payload.
    Tcp(Tcp, &'a [u8]),
    /// UDP ports and payload.
    Udp {
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
        /// Payload.
        payload: &'a [u8],
    },
    /// ICMP (v4 or v6) type and code.
    Icmp {
        /// Type.
        ty: u8,
        /// Code.
        code: u8,
        /// True for ICMPv6.
        v6: bool,
    },
    /// Another protocol, or a transport header that did not parse.
    Other,
}

/// VLAN ids, outermost first (at most [`MAX_VLANS`]).
pub const MAX_VLANS: usize = 2;

/// What [`decode`] found.
#[derive(Debug, Clone, Copy)]
pub struct Decoded<'a> {
    /// VLAN ids, `vlan[..nvlan]`.
    pub vlan: [u16; MAX_VLANS],
    /// Number of VLAN ids.
    pub nvlan: u8,
    /// The IP layer, if any.
    pub ip: Option<Ip<'a>>,
    /// The transport layer (only for unfragmented IP).
    pub l4: L4<'a>,
    /// Where decoding stopped early (stable anomaly name), if it did.
    pub stop: Option<&'static str>,
}

impl Decoded<'_> {
    /// Nothing decoded yet (what [`decode_into`] starts from).
    pub fn empty() -> Self {
        Self { vlan: [0; MAX_VLANS], nvlan: 0, ip: None, l4: L4::Other, stop: None }
    }

    /// The VLAN ids.
    pub fn vlans(&self) -> &[u16] {
        &self.vlan[..usize::from(self.nvlan).min(MAX_VLANS)]
    }
}

/// Decode one frame of link type `linktype`; `verify` checks IPv4 header
/// checksums.
///
/// Layer by layer with etherparse's component slicers (Ethernet, VLAN,
/// [`etherparse::LaxIpSlice`], TCP/UDP/ICMP), following exactly the steps of
/// etherparse's lax packet cursor but without building a
/// `LaxSlicedPacket` (a large value that the cursor moves at every layer:
/// those moves were the biggest decode cost). The rare MACsec frames take the
/// `LaxSlicedPacket` path ([`decode_lax`]); a test checks that both paths
/// agree on every frame.
pub fn decode(linktype: i32, frame: &[u8], verify: bool) -> Decoded<'_> {
    let mut d = Decoded::empty();
    decode_into(&mut d, linktype, frame, verify);
    d
}

/// [`decode`] into `d` (which must be [`Decoded::empty`]): the worker's
/// per-packet path, with no copy of the large `Decoded` on return.
pub fn decode_into<'a>(d: &mut Decoded<'a>, linktype: i32, frame: &'a [u8], verify: bool) {
    // Built in place: `Decoded` is large, and returning it layer by layer
    // (wrapped in `Option`) cost a copy per layer.
    let fast = match linktype {
        linktype::ETHERNET => match etherparse::Ethernet2Slice::from_slice_without_fcs(frame) {
            Ok(e) => from_ether_payload(d, e.ether_type(), e.payload_slice(), verify),
            Err(_) => stopped(d, "decoder.ethernet.pkt_too_small"),
        },
        linktype::LINUX_SLL => match (be16(frame, 14), frame.get(16..)) {
            (Some(et), Some(rest)) => from_ether_payload(d, EtherType(et), rest, verify),
            _ => stopped(d, "decoder.sll.pkt_too_small"),
        },
        linktype::LINUX_SLL2 => match (be16(frame, 0), frame.get(20..)) {
            (Some(et), Some(rest)) => from_ether_payload(d, EtherType(et), rest, verify),
            _ => stopped(d, "decoder.sll2.pkt_too_small"),
        },
        linktype::NULL | linktype::LOOP => match null_family(linktype, frame) {
            Some(Some(rest)) => {
                from_ip_layer(d, rest, verify);
                true
            }
            Some(None) => stopped(d, "decoder.null.unsupported_type"),
            None => stopped(d, "decoder.null.pkt_too_small"),
        },
        linktype::RAW | linktype::RAW_12 | linktype::RAW_OPENBSD | linktype::IPV4 | linktype::IPV6 => {
            from_ip_layer(d, frame, verify);
            true
        }
        _ => stopped(d, "decoder.unsupported_linktype"),
    };
    if !fast {
        *d = decode_lax(linktype, frame, verify);
    }
}

/// Decoding stopped at the link layer with `name` (always handled here).
fn stopped(d: &mut Decoded<'_>, name: &'static str) -> bool {
    d.stop = Some(name);
    true
}

/// The payload of a BSD null/loopback frame: `None` when shorter than the
/// family field, `Some(None)` for a family that is not IP.
fn null_family(lt: i32, frame: &[u8]) -> Option<Option<&[u8]>> {
    let raw: [u8; 4] = frame.get(..4)?.try_into().ok()?;
    let rest = frame.get(4..)?;
    // The family is in the capturing host's byte order for NULL: accept
    // either order (AF values are small).
    let fam = if lt == linktype::LOOP {
        u32::from_be_bytes(raw)
    } else {
        let le = u32::from_le_bytes(raw);
        if le < 256 { le } else { u32::from_be_bytes(raw) }
    };
    Some(matches!(fam, 2 | 10 | 24 | 28 | 30).then_some(rest))
}

/// Walk the ether types (VLAN tags) down to the IP layer, like etherparse's
/// lax cursor, into `d`. `false` for MACsec and ARP (left to [`decode_lax`]).
fn from_ether_payload<'a>(d: &mut Decoded<'a>, mut et: EtherType, mut data: &'a [u8], verify: bool) -> bool {
    const LINK_EXTS: usize = LaxSlicedPacket::LINK_EXTS_CAP;
    let mut exts = 0usize;
    loop {
        match et {
            EtherType::VLAN_TAGGED_FRAME
            | EtherType::PROVIDER_BRIDGING
            | EtherType::VLAN_DOUBLE_TAGGED_FRAME => {
                if exts >= LINK_EXTS {
                    return true;
                }
                let Ok(v) = etherparse::SingleVlanSlice::from_slice(data) else {
                    d.stop = Some(layer_name(Layer::VlanHeader, true));
                    return true;
                };
                exts += 1;
                if usize::from(d.nvlan) < MAX_VLANS {
                    d.vlan[usize::from(d.nvlan)] = v.vlan_identifier().value();
                    d.nvlan += 1;
                }
                let p = v.payload();
                et = p.ether_type;
                data = p.payload;
            }
            EtherType::MACSEC | EtherType::ARP => return false,
            EtherType::IPV4 | EtherType::IPV6 => {
                from_ip_layer(d, data, verify);
                return true;
            }
            _ => return true,
        }
    }
}

/// The IP layer and what follows, on top of what the link layers found.
fn from_ip_layer<'a>(d: &mut Decoded<'a>, data: &'a [u8], verify: bool) {
    use etherparse::err::ip::LaxHeaderSliceError;
    if plain_ipv4(d, data, verify) {
        return;
    }
    let (ip, ip_stop) = match etherparse::LaxIpSlice::from_slice(data) {
        Ok(x) => x,
        Err(e) => {
            d.stop = Some(layer_name(Layer::IpHeader, matches!(e, LaxHeaderSliceError::Len(_))));
            return;
        }
    };
    if let Some((err, layer)) = &ip_stop {
        d.stop =
            Some(layer_name(*layer, matches!(err, etherparse::err::ipv6_exts::HeaderSliceError::Len(_))));
    }
    let mut checksum_bad = false;
    let (src, dst, pl, frag) = match &ip {
        etherparse::LaxIpSlice::Ipv4(v4) => {
            let h = v4.header();
            checksum_bad = verify && !ipv4_header_checksum_ok(h.slice());
            let frag = v4.is_payload_fragmented().then(|| FragInfo {
                id: u32::from(h.identification()),
                offset: u32::from(h.fragments_offset().value()) * 8,
                more: h.more_fragments(),
            });
            (IpAddr::from(h.source()), IpAddr::from(h.destination()), v4.payload(), frag)
        }
        etherparse::LaxIpSlice::Ipv6(v6) => {
            let h = v6.header();
            let mut frag = None;
            if v6.is_payload_fragmented() {
                for ext in v6.extensions().clone() {
                    if let etherparse::Ipv6ExtensionSlice::Fragment(fh) = ext {
                        frag = Some(FragInfo {
                            id: fh.identification(),
                            offset: u32::from(fh.fragment_offset().value()) * 8,
                            more: fh.more_fragments(),
                        });
                    }
                }
            }
            (IpAddr::from(h.source()), IpAddr::from(h.destination()), v6.payload(), frag)
        }
    };
    d.ip = Some(Ip {
        src,
        dst,
        proto: pl.ip_number.0,
        payload: pl.payload,
        frag,
        complete: !pl.incomplete,
        checksum_bad,
    });
    // Like the lax cursor: no transport after an error or in a fragment.
    if pl.fragmented || d.stop.is_some() {
        return;
    }
    let payload = pl.payload;
    let (l4, stop) = match pl.ip_number.0 {
        1 => match etherparse::Icmpv4Slice::from_slice(payload) {
            Ok(i) => (L4::Icmp { ty: i.type_u8(), code: i.code_u8(), v6: false }, None),
            Err(_) => (L4::Other, Some(layer_name(Layer::Icmpv4, true))),
        },
        17 => match etherparse::UdpSlice::from_slice_lax(payload) {
            Ok(u) => {
                (L4::Udp { sport: u.source_port(), dport: u.destination_port(), payload: u.payload() }, None)
            }
            Err(_) => (L4::Other, Some(layer_name(Layer::UdpHeader, true))),
        },
        6 => match etherparse::TcpSlice::from_slice(payload) {
            Ok(t) => (L4::Tcp(tcp_of(&t), t.payload()), None),
            Err(e) => (
                L4::Other,
                Some(layer_name(
                    Layer::TcpHeader,
                    matches!(e, etherparse::err::tcp::HeaderSliceError::Len(_)),
                )),
            ),
        },
        58 => match etherparse::Icmpv6Slice::from_slice(payload) {
            Ok(i) => (L4::Icmp { ty: i.type_u8(), code: i.code_u8(), v6: true }, None),
            Err(_) => (L4::Other, Some(layer_name(Layer::Icmpv6, true))),
        },
        2 => match etherparse::IgmpSlice::from_slice(payload) {
            Ok(_) => (L4::Other, None),
            Err(_) => (L4::Other, Some(layer_name(Layer::Igmp, true))),
        },
        _ => (L4::Other, None),
    };
    if frag.is_none() {
        d.l4 = l4;
    }
    d.stop = stop;
}

/// The shape of almost every packet on an ICS SPAN port, decoded by hand:
/// IPv4 without options, not a fragment, its total length within the
/// captured bytes, carrying a TCP header that fits or a UDP header. Fills
/// `d` exactly as the etherparse path below would (the test
/// `fast_decoder_agrees_with_the_lax_packet_decoder` holds both to
/// etherparse's `LaxSlicedPacket` on every truncation and on random
/// corruptions) and returns true; anything else — options, fragments, a
/// short or inconsistent header, another protocol — returns false untouched
/// and takes the etherparse path. This skips etherparse's general IP
/// slicing (extension headers, length sources, error layers), about a third
/// of the per-packet decode cost.
#[inline]
fn plain_ipv4<'a>(d: &mut Decoded<'a>, data: &'a [u8], verify: bool) -> bool {
    const IHL: usize = 20;
    let Some(h) = data.first_chunk::<IHL>() else { return false };
    // Version 4, header length 5 words; no MF flag, no fragment offset
    // (DF and the reserved bit do not change the slicing).
    if h[0] != 0x45 || h[6] & 0x3f != 0 || h[7] != 0 {
        return false;
    }
    let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
    let Some(payload) = data.get(IHL..total) else { return false };
    let l4 = match h[9] {
        6 => {
            let Some(t) = payload.first_chunk::<20>() else { return false };
            let header_len = usize::from(t[12] >> 4) * 4;
            if header_len < 20 {
                return false;
            }
            let Some(body) = payload.get(header_len..) else { return false };
            let w = |i: usize| u32::from_be_bytes([t[i], t[i + 1], t[i + 2], t[i + 3]]);
            let tcp = Tcp {
                sport: u16::from_be_bytes([t[0], t[1]]),
                dport: u16::from_be_bytes([t[2], t[3]]),
                seq: w(4),
                ack: w(8),
                flags: t[13],
            };
            L4::Tcp(tcp, body)
        }
        17 => {
            let Some(u) = payload.first_chunk::<8>() else { return false };
            // etherparse's lax UDP: the length field when it is consistent,
            // else the whole IP payload.
            let len = usize::from(u16::from_be_bytes([u[4], u[5]]));
            let datagram = if len < 8 || len > payload.len() { payload } else { &payload[..len] };
            L4::Udp {
                sport: u16::from_be_bytes([u[0], u[1]]),
                dport: u16::from_be_bytes([u[2], u[3]]),
                payload: datagram.get(8..).unwrap_or_default(),
            }
        }
        _ => return false,
    };
    d.ip = Some(Ip {
        src: IpAddr::V4(std::net::Ipv4Addr::new(h[12], h[13], h[14], h[15])),
        dst: IpAddr::V4(std::net::Ipv4Addr::new(h[16], h[17], h[18], h[19])),
        proto: h[9],
        payload,
        frag: None,
        complete: true,
        checksum_bad: verify && !ipv4_header_checksum_ok(h),
    });
    d.l4 = l4;
    true
}

/// The reference decoder over etherparse's `LaxSlicedPacket` (used for
/// MACsec frames, and by the tests as the oracle of [`decode`]).
pub fn decode_lax(linktype: i32, frame: &[u8], verify: bool) -> Decoded<'_> {
    match linktype {
        linktype::ETHERNET => match LaxSlicedPacket::from_ethernet(frame) {
            Ok(p) => from_lax(&p, verify),
            Err(_) => Decoded { stop: Some("decoder.ethernet.pkt_too_small"), ..Decoded::empty() },
        },
        linktype::LINUX_SLL => {
            if frame.len() < 16 {
                return Decoded { stop: Some("decoder.sll.pkt_too_small"), ..Decoded::empty() };
            }
            let et = u16::from_be_bytes([frame[14], frame[15]]);
            from_ether_type(et, &frame[16..], verify)
        }
        linktype::LINUX_SLL2 => {
            if frame.len() < 20 {
                return Decoded { stop: Some("decoder.sll2.pkt_too_small"), ..Decoded::empty() };
            }
            let et = u16::from_be_bytes([frame[0], frame[1]]);
            from_ether_type(et, &frame[20..], verify)
        }
        linktype::NULL | linktype::LOOP => match null_family(linktype, frame) {
            Some(Some(rest)) => from_ip(rest, verify),
            Some(None) => Decoded { stop: Some("decoder.null.unsupported_type"), ..Decoded::empty() },
            None => Decoded { stop: Some("decoder.null.pkt_too_small"), ..Decoded::empty() },
        },
        linktype::RAW | linktype::RAW_12 | linktype::RAW_OPENBSD | linktype::IPV4 | linktype::IPV6 => {
            from_ip(frame, verify)
        }
        _ => Decoded { stop: Some("decoder.unsupported_linktype"), ..Decoded::empty() },
    }
}

fn from_ether_type(et: u16, data: &[u8], verify: bool) -> Decoded<'_> {
    from_lax(&LaxSlicedPacket::from_ether_type(EtherType(et), data), verify)
}

fn from_ip(data: &[u8], verify: bool) -> Decoded<'_> {
    match LaxSlicedPacket::from_ip(data) {
        Ok(p) => from_lax(&p, verify),
        Err(etherparse::err::ip::LaxHeaderSliceError::Len(_)) => {
            Decoded { stop: Some("decoder.ip.trunc_pkt"), ..Decoded::empty() }
        }
        Err(etherparse::err::ip::LaxHeaderSliceError::Content(_)) => {
            Decoded { stop: Some("decoder.ip.invalid_header"), ..Decoded::empty() }
        }
    }
}

fn layer_name(layer: Layer, len: bool) -> &'static str {
    match (layer, len) {
        (Layer::Ethernet2Header, _) => "decoder.ethernet.pkt_too_small",
        (Layer::LinuxSllHeader, _) => "decoder.sll.pkt_too_small",
        (Layer::VlanHeader, _) => "decoder.vlan.truncated",
        (Layer::MacsecHeader | Layer::MacsecPacket, _) => "decoder.macsec.invalid",
        (Layer::IpHeader, true) => "decoder.ip.trunc_pkt",
        (Layer::IpHeader, false) => "decoder.ip.invalid_header",
        (Layer::Ipv4Header | Layer::Ipv4Packet, true) => "decoder.ipv4.trunc_pkt",
        (Layer::Ipv4Header | Layer::Ipv4Packet, false) => "decoder.ipv4.invalid_header",
        (Layer::IpAuthHeader, _) => "decoder.ip.auth_header_invalid",
        (Layer::Ipv6Header | Layer::Ipv6Packet, true) => "decoder.ipv6.trunc_pkt",
        (Layer::Ipv6Header | Layer::Ipv6Packet, false) => "decoder.ipv6.invalid_header",
        (
            Layer::Ipv6ExtHeader
            | Layer::Ipv6HopByHopHeader
            | Layer::Ipv6DestOptionsHeader
            | Layer::Ipv6RouteHeader
            | Layer::Ipv6FragHeader,
            true,
        ) => "decoder.ipv6.exthdr_truncated",
        (
            Layer::Ipv6ExtHeader
            | Layer::Ipv6HopByHopHeader
            | Layer::Ipv6DestOptionsHeader
            | Layer::Ipv6RouteHeader
            | Layer::Ipv6FragHeader,
            false,
        ) => "decoder.ipv6.exthdr_invalid",
        (Layer::UdpHeader | Layer::UdpPayload, _) => "decoder.udp.pkt_too_small",
        (Layer::TcpHeader, true) => "decoder.tcp.pkt_too_small",
        (Layer::TcpHeader, false) => "decoder.tcp.hlen_invalid",
        (Layer::Icmpv4 | Layer::Icmpv4Timestamp | Layer::Icmpv4TimestampReply, _) => {
            "decoder.icmpv4.pkt_too_small"
        }
        (Layer::Icmpv6, _) => "decoder.icmpv6.pkt_too_small",
        (Layer::Arp, _) => "decoder.arp.invalid",
        _ => "decoder.invalid",
    }
}

fn from_lax<'a>(p: &LaxSlicedPacket<'a>, verify: bool) -> Decoded<'a> {
    let mut d = Decoded::empty();
    for ext in &p.link_exts {
        if let etherparse::LaxLinkExtSlice::Vlan(v) = ext
            && usize::from(d.nvlan) < MAX_VLANS
        {
            d.vlan[usize::from(d.nvlan)] = v.vlan_identifier().value();
            d.nvlan += 1;
        }
    }
    if let Some((err, layer)) = &p.stop_err {
        let len = matches!(err, etherparse::err::packet::SliceError::Len(_));
        d.stop = Some(layer_name(*layer, len));
    }
    let mut checksum_bad = false;
    let (src, dst, pl, frag) = match &p.net {
        Some(LaxNetSlice::Ipv4(v4)) => {
            let h = v4.header();
            checksum_bad = verify && !ipv4_header_checksum_ok(h.slice());
            let frag = if v4.is_payload_fragmented() {
                Some(FragInfo {
                    id: u32::from(h.identification()),
                    offset: u32::from(h.fragments_offset().value()) * 8,
                    more: h.more_fragments(),
                })
            } else {
                None
            };
            (IpAddr::from(h.source()), IpAddr::from(h.destination()), v4.payload(), frag)
        }
        Some(LaxNetSlice::Ipv6(v6)) => {
            let h = v6.header();
            let mut frag = None;
            if v6.is_payload_fragmented() {
                for ext in v6.extensions().clone() {
                    if let etherparse::Ipv6ExtensionSlice::Fragment(fh) = ext {
                        frag = Some(FragInfo {
                            id: fh.identification(),
                            offset: u32::from(fh.fragment_offset().value()) * 8,
                            more: fh.more_fragments(),
                        });
                    }
                }
            }
            (IpAddr::from(h.source()), IpAddr::from(h.destination()), v6.payload(), frag)
        }
        _ => return d,
    };
    d.ip = Some(Ip {
        src,
        dst,
        proto: pl.ip_number.0,
        payload: pl.payload,
        frag,
        complete: !pl.incomplete,
        checksum_bad,
    });
    if frag.is_none() {
        d.l4 = match &p.transport {
            Some(TransportSlice::Tcp(t)) => L4::Tcp(tcp_of(t), t.payload()),
            Some(TransportSlice::Udp(u)) => {
                L4::Udp { sport: u.source_port(), dport: u.destination_port(), payload: u.payload() }
            }
            Some(TransportSlice::Icmpv4(i)) => L4::Icmp { ty: i.type_u8(), code: i.code_u8(), v6: false },
            Some(TransportSlice::Icmpv6(i)) => L4::Icmp { ty: i.type_u8(), code: i.code_u8(), v6: true },
            _ => L4::Other,
        };
    }
    d
}

fn tcp_of(t: &etherparse::TcpSlice<'_>) -> Tcp {
    // Byte 13 of the header holds the eight classic flags.
    let flags = t.header_slice().get(13).copied().unwrap_or(0);
    Tcp {
        sport: t.source_port(),
        dport: t.destination_port(),
        seq: t.sequence_number(),
        ack: t.acknowledgment_number(),
        flags,
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn ip_addrs(b: &[u8]) -> Option<(IpAddr, IpAddr)> {
    match b.first()? >> 4 {
        4 => {
            let s: [u8; 4] = b.get(12..16)?.try_into().ok()?;
            let d: [u8; 4] = b.get(16..20)?.try_into().ok()?;
            Some((IpAddr::from(s), IpAddr::from(d)))
        }
        6 => {
            let s: [u8; 16] = b.get(8..24)?.try_into().ok()?;
            let d: [u8; 16] = b.get(24..40)?.try_into().ok()?;
            Some((IpAddr::from(s), IpAddr::from(d)))
        }
        _ => None,
    }
}

/// The IP pair and VLAN ids of a frame, for sharding: a cheap bounds-checked
/// peek (no validation); `None` for non-IP frames.
pub fn shard_key(lt: i32, frame: &[u8]) -> Option<(IpAddr, IpAddr, [u16; MAX_VLANS])> {
    let (mut et, mut off) = match lt {
        linktype::ETHERNET => (be16(frame, 12)?, 14),
        linktype::LINUX_SLL => (be16(frame, 14)?, 16),
        linktype::LINUX_SLL2 => (be16(frame, 0)?, 20),
        linktype::NULL | linktype::LOOP => {
            let (s, d) = ip_addrs(frame.get(4..)?)?;
            return Some((s, d, [0; MAX_VLANS]));
        }
        _ => {
            let (s, d) = ip_addrs(frame)?;
            return Some((s, d, [0; MAX_VLANS]));
        }
    };
    let mut vlan = [0u16; MAX_VLANS];
    let mut n = 0;
    let mut hops = 0;
    while matches!(et, 0x8100 | 0x88a8 | 0x9100) && hops < 3 {
        if n < MAX_VLANS {
            vlan[n] = be16(frame, off)? & 0x0fff;
            n += 1;
        }
        et = be16(frame, off + 2)?;
        off += 4;
        hops += 1;
    }
    match et {
        0x0800 | 0x86dd => {
            let (s, d) = ip_addrs(frame.get(off..)?)?;
            Some((s, d, vlan))
        }
        _ => None,
    }
}

/// Parse the transport layer of a reassembled datagram. Returns the L4 view
/// and an anomaly name when the header did not parse.
pub fn l4_from_payload(proto: u8, data: &[u8]) -> (L4<'_>, Option<&'static str>) {
    match proto {
        6 => match etherparse::TcpSlice::from_slice(data) {
            Ok(t) => (L4::Tcp(tcp_of(&t), t.payload()), None),
            Err(_) => (L4::Other, Some("decoder.tcp.pkt_too_small")),
        },
        17 => match etherparse::UdpSlice::from_slice_lax(data) {
            Ok(u) => {
                (L4::Udp { sport: u.source_port(), dport: u.destination_port(), payload: u.payload() }, None)
            }
            Err(_) => (L4::Other, Some("decoder.udp.pkt_too_small")),
        },
        1 => match data {
            [ty, code, ..] if data.len() >= 8 => (L4::Icmp { ty: *ty, code: *code, v6: false }, None),
            _ => (L4::Other, Some("decoder.icmpv4.pkt_too_small")),
        },
        58 => match data {
            [ty, code, ..] if data.len() >= 8 => (L4::Icmp { ty: *ty, code: *code, v6: true }, None),
            _ => (L4::Other, Some("decoder.icmpv6.pkt_too_small")),
        },
        _ => (L4::Other, None),
    }
}

/// Verify an IPv4 header checksum (used when `decode.checksum_validation`).
pub fn ipv4_header_checksum_ok(frame_ip: &[u8]) -> bool {
    let Some(&vihl) = frame_ip.first() else { return false };
    let hl = usize::from(vihl & 0x0f) * 4;
    let Some(h) = frame_ip.get(..hl) else { return false };
    let mut sum: u32 = 0;
    for c in h.chunks(2) {
        let w = match c {
            [a, b] => u16::from_be_bytes([*a, *b]),
            [a] => u16::from_be_bytes([*a, 0]),
            _ => 0,
        };
        sum += u32::from(w);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum == 0xffff
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn eth_tcp(payload: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([1; 6], [2; 6])
            .single_vlan(etherparse::VlanId::try_new(7).unwrap())
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(1234, 502, 1000, 4096)
            .syn();
        let mut v = Vec::new();
        b.write(&mut v, payload).unwrap();
        v
    }

    #[test]
    fn ethernet_vlan_ipv4_tcp() {
        let f = eth_tcp(b"abc");
        let d = decode(linktype::ETHERNET, &f, false);
        assert_eq!(d.vlans(), &[7]);
        let ip = d.ip.unwrap();
        assert_eq!(ip.src, "10.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(ip.proto, 6);
        match d.l4 {
            L4::Tcp(t, p) => {
                assert_eq!((t.sport, t.dport, t.seq), (1234, 502, 1000));
                assert_eq!(t.flags & tcpflag::SYN, tcpflag::SYN);
                assert_eq!(p, b"abc");
            }
            other => panic!("{other:?}"),
        }
        assert!(d.stop.is_none());
    }

    #[test]
    fn every_truncation_is_safe_and_reported() {
        let f = eth_tcp(b"abcdef");
        for n in 0..f.len() {
            let d = decode(linktype::ETHERNET, &f[..n], false);
            if n < 18 + 20 + 20 {
                assert!(d.stop.is_some() || matches!(d.l4, L4::Other), "len {n}");
            }
        }
        for lt in [0, 12, 14, 101, 108, 113, 228, 229, 276, 9999] {
            for n in 0..f.len() {
                let _ = decode(lt, &f[..n], false);
            }
        }
    }

    #[test]
    fn sll_and_raw() {
        let f = eth_tcp(b"x");
        // Ethernet(14) + VLAN(4): the IP packet starts at 18.
        let ip = &f[18..];
        let d = decode(linktype::RAW, ip, false);
        assert!(matches!(d.l4, L4::Tcp(..)));
        let mut sll = vec![0u8; 16];
        sll[14] = 0x08;
        sll.extend_from_slice(ip);
        assert!(matches!(decode(linktype::LINUX_SLL, &sll, false).l4, L4::Tcp(..)));
        let mut sll2 = vec![0u8; 20];
        sll2[0] = 0x08;
        sll2.extend_from_slice(ip);
        assert!(matches!(decode(linktype::LINUX_SLL2, &sll2, false).l4, L4::Tcp(..)));
        let mut null = 2u32.to_le_bytes().to_vec();
        null.extend_from_slice(ip);
        assert!(matches!(decode(linktype::NULL, &null, false).l4, L4::Tcp(..)));
        assert_eq!(decode(147, ip, false).stop, Some("decoder.unsupported_linktype"));
    }

    #[test]
    fn fragment_is_flagged_and_not_transport_parsed() {
        let mut f = eth_tcp(b"0123456789");
        // Set MF in the IPv4 header (offset 18 + 6).
        f[18 + 6] |= 0x20;
        let d = decode(linktype::ETHERNET, &f, false);
        let ip = d.ip.unwrap();
        assert_eq!(ip.frag.map(|x| (x.offset, x.more)), Some((0, true)));
        assert!(matches!(d.l4, L4::Other));
    }

    /// Frames of many shapes: link types, VLAN stacks, IPv4/IPv6,
    /// fragments, extension headers, every transport.
    fn sample_frames() -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let vlan = |id| etherparse::VlanId::try_new(id).unwrap();
        let mut push = |b: etherparse::PacketBuilderStep<etherparse::TcpHeader>, p: &[u8]| {
            let mut v = Vec::new();
            b.write(&mut v, p).unwrap();
            out.push(v);
        };
        push(
            PacketBuilder::ethernet2([1; 6], [2; 6]).ipv4([1, 2, 3, 4], [5, 6, 7, 8], 9).tcp(1, 2, 3, 4),
            b"tcp",
        );
        push(
            PacketBuilder::ethernet2([1; 6], [2; 6]).ipv6([1; 16], [2; 16], 9).tcp(1, 2, 3, 4).syn().ack(7),
            b"v6",
        );
        push(
            PacketBuilder::ethernet2([1; 6], [2; 6])
                .double_vlan(vlan(3), vlan(4))
                .ipv4([1, 2, 3, 4], [5, 6, 7, 8], 9)
                .tcp(1, 2, 3, 4)
                .fin(),
            b"qinq",
        );
        let mut udp = Vec::new();
        PacketBuilder::ethernet2([1; 6], [2; 6])
            .single_vlan(vlan(9))
            .ipv4([1, 2, 3, 4], [5, 6, 7, 8], 9)
            .udp(53, 5353)
            .write(&mut udp, b"dns payload")
            .unwrap();
        out.push(udp.clone());
        // Every UDP length field around the datagram's real size (the lax
        // fallback to the IP payload below 8 and beyond the end), and every
        // IPv4 total length around the frame's.
        let ip_at = 18;
        let udp_len = udp.len() - ip_at - 20;
        for len in 0..=udp_len + 2 {
            let mut g = udp.clone();
            g[ip_at + 24..ip_at + 26].copy_from_slice(&(len as u16).to_be_bytes());
            out.push(g);
        }
        for total in 0..=udp.len() - ip_at + 2 {
            let mut g = udp.clone();
            g[ip_at + 2..ip_at + 4].copy_from_slice(&(total as u16).to_be_bytes());
            out.push(g);
        }
        let mut icmp = Vec::new();
        PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([1, 2, 3, 4], [5, 6, 7, 8], 9)
            .icmpv4_echo_request(1, 2)
            .write(&mut icmp, b"ping")
            .unwrap();
        out.push(icmp);
        let mut icmp6 = Vec::new();
        PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv6([1; 16], [2; 16], 9)
            .icmpv6_echo_request(1, 2)
            .write(&mut icmp6, b"ping6")
            .unwrap();
        out.push(icmp6);
        // TCP with options and payload, with DF, with the reserved flag,
        // and padded by an Ethernet trailer.
        let mut opts = Vec::new();
        PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(502, 40000, 7, 100)
            .options(&[
                etherparse::TcpOptionElement::MaximumSegmentSize(1460),
                etherparse::TcpOptionElement::Noop,
            ])
            .unwrap()
            .ack(9)
            .psh()
            .write(&mut opts, &[0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 10])
            .unwrap();
        for flags in [0x00u8, 0x40, 0x80] {
            let mut g = opts.clone();
            g[14 + 6] = flags;
            out.push(g);
        }
        let mut tcp_pad = opts.clone();
        tcp_pad.extend_from_slice(&[0; 6]);
        out.push(tcp_pad);
        // IPv4 fragment (MF set), IPv4 with a padded Ethernet trailer, IGMP,
        // another protocol, a triple VLAN stack, ARP and MACsec ether types.
        let mut frag = udp.clone();
        frag[18 + 6] |= 0x20;
        out.push(frag);
        let mut padded = udp.clone();
        padded.extend_from_slice(&[0; 12]);
        out.push(padded);
        for proto in [2u8, 47] {
            let mut g = udp.clone();
            g[18 + 9] = proto;
            out.push(g);
        }
        let mut triple = vec![1u8; 12];
        for _ in 0..4 {
            triple.extend_from_slice(&[0x81, 0x00, 0x00, 0x05]);
        }
        triple.extend_from_slice(&[0x08, 0x00]);
        triple.extend_from_slice(&udp[18..]);
        out.push(triple);
        for et in [[0x08, 0x06], [0x88, 0xe5], [0x12, 0x34]] {
            let mut f = udp.clone();
            f[12..14].copy_from_slice(&et);
            f[16..18].copy_from_slice(&et);
            out.push(f);
        }
        // IPv6 with a hop-by-hop header, then UDP; and with a fragment header.
        for (next, ext) in [(0u8, [17u8, 0, 1, 4, 0, 0, 0, 0]), (44, [17, 0, 0, 0x09, 0, 0, 0, 7])] {
            let mut f = vec![2u8; 12];
            f.extend_from_slice(&[0x86, 0xdd]);
            let udp_part = &udp[18 + 20..];
            let plen = (8 + udp_part.len()) as u16;
            f.extend_from_slice(&[0x60, 0, 0, 0]);
            f.extend_from_slice(&plen.to_be_bytes());
            f.extend_from_slice(&[next, 64]);
            f.extend_from_slice(&[1; 16]);
            f.extend_from_slice(&[2; 16]);
            f.extend_from_slice(&ext);
            f.extend_from_slice(udp_part);
            out.push(f);
        }
        out
    }

    #[test]
    fn fast_decoder_agrees_with_the_lax_packet_decoder() {
        let frames = sample_frames();
        let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut checked = 0usize;
        for f in &frames {
            let mut variants = vec![f.clone()];
            // Every truncation, and random byte corruptions.
            variants.extend((0..f.len()).map(|n| f[..n].to_vec()));
            for _ in 0..300 {
                let mut g = f.clone();
                for _ in 0..1 + next() % 3 {
                    let i = (next() as usize) % g.len();
                    g[i] = next() as u8;
                }
                variants.push(g);
            }
            // Corruptions aimed at the IP and transport headers (bytes 14
            // to 74 of an Ethernet frame): lengths, flags, offsets and
            // protocol numbers at the edges of the hand-written IPv4 path.
            for _ in 0..600 {
                let mut g = f.clone();
                for _ in 0..1 + next() % 2 {
                    let span = g.len().saturating_sub(14).clamp(1, 60);
                    let i = (14 + (next() as usize) % span).min(g.len() - 1);
                    g[i] = match next() % 4 {
                        0 => g[i] ^ (1 << (next() % 8)),
                        1 => g[i].wrapping_add(1),
                        2 => g[i].wrapping_sub(1),
                        _ => next() as u8,
                    };
                }
                variants.push(g);
            }
            for v in &variants {
                // As Ethernet, and from each later offset under the other link types.
                for (lt, off) in [
                    (linktype::ETHERNET, 0usize),
                    (linktype::RAW, 14),
                    (linktype::LINUX_SLL, 0),
                    (linktype::LINUX_SLL2, 0),
                    (linktype::NULL, 10),
                    (linktype::LOOP, 10),
                    (9999, 0),
                ] {
                    let frame = v.get(off..).unwrap_or(&[]);
                    for verify in [false, true] {
                        let a = format!("{:?}", decode(lt, frame, verify));
                        let b = format!("{:?}", decode_lax(lt, frame, verify));
                        assert_eq!(a, b, "link type {lt}, frame {frame:02x?}");
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 50_000, "{checked}");
    }

    #[test]
    fn checksum() {
        let f = eth_tcp(b"");
        assert!(ipv4_header_checksum_ok(&f[18..]));
        let mut g = f.clone();
        g[18 + 8] ^= 1;
        assert!(!ipv4_header_checksum_ok(&g[18..]));
    }
}
