//! Link, network and transport builders with correct lengths and checksums.
//!
//! Every function returns owned bytes; nothing here reads a clock or a random source.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// EtherType IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86DD;
/// TPID of an 802.1Q (customer) tag.
pub const TPID_8021Q: u16 = 0x8100;
/// TPID of an 802.1ad (QinQ service) tag.
pub const TPID_8021AD: u16 = 0x88A8;

/// IP protocol number of TCP.
pub const IPPROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
pub const IPPROTO_UDP: u8 = 17;
/// IPv6 Hop-by-Hop options header.
pub const IPPROTO_HOPOPTS: u8 = 0;
/// IPv6 Destination options header.
pub const IPPROTO_DSTOPTS: u8 = 60;
/// IPv6 Fragment header.
pub const IPPROTO_FRAGMENT: u8 = 44;

/// TCP flag bits.
pub mod tcp_flags {
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

/// One VLAN tag (outermost first in a tag list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VlanTag {
    /// Tag protocol identifier ([`TPID_8021Q`] or [`TPID_8021AD`]).
    pub tpid: u16,
    /// Priority code point (3 bits).
    pub pcp: u8,
    /// VLAN identifier (12 bits).
    pub vid: u16,
}

impl VlanTag {
    /// An 802.1Q tag with priority 0.
    pub fn dot1q(vid: u16) -> Self {
        Self { tpid: TPID_8021Q, pcp: 0, vid }
    }

    /// An 802.1ad service tag (outer tag of QinQ).
    pub fn dot1ad(vid: u16) -> Self {
        Self { tpid: TPID_8021AD, pcp: 0, vid }
    }
}

/// An Ethernet II frame: `dst`, `src`, the VLAN tags (outermost first), `ethertype`, payload.
pub fn ethernet(dst: [u8; 6], src: [u8; 6], tags: &[VlanTag], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + 4 * tags.len() + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    for t in tags {
        f.extend_from_slice(&t.tpid.to_be_bytes());
        let tci = (u16::from(t.pcp & 0x7) << 13) | (t.vid & 0x0fff);
        f.extend_from_slice(&tci.to_be_bytes());
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// Adds `data` as big-endian 16-bit words to `sum` (odd tail padded with zero).
pub fn sum16(data: &[u8], mut sum: u32) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum = sum.wrapping_add(u32::from(u16::from_be_bytes([c[0], c[1]])));
    }
    if let [last] = chunks.remainder() {
        sum = sum.wrapping_add(u32::from(*last) << 8);
    }
    sum
}

/// Folds a one's-complement sum and complements it.
pub fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The Internet checksum of `data`.
pub fn checksum(data: &[u8]) -> u16 {
    fold(sum16(data, 0))
}

/// IPv4 flag "don't fragment" (in the flags/offset word).
pub const IPV4_DF: u16 = 0x4000;
/// IPv4 flag "more fragments".
pub const IPV4_MF: u16 = 0x2000;

/// Fields of an IPv4 header that vary between packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Fields {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Protocol number.
    pub proto: u8,
    /// Identification.
    pub id: u16,
    /// Flags and fragment offset (offset in 8-byte units in the low 13 bits).
    pub flags_frag: u16,
    /// Time to live.
    pub ttl: u8,
}

/// A 20-byte IPv4 header (no options) with a correct checksum, followed by `payload`.
pub fn ipv4(f: &Ipv4Fields, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut p = Vec::with_capacity(20 + payload.len());
    p.extend_from_slice(&[0x45, 0x00]);
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&f.id.to_be_bytes());
    p.extend_from_slice(&f.flags_frag.to_be_bytes());
    p.extend_from_slice(&[f.ttl, f.proto, 0, 0]);
    p.extend_from_slice(&f.src.octets());
    p.extend_from_slice(&f.dst.octets());
    let c = checksum(&p[..20]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// A 40-byte IPv6 header followed by `payload` (which starts with `next_header`'s data).
pub fn ipv6(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    next_header: u8,
    hop_limit: u8,
    flow: u32,
    payload: &[u8],
) -> Vec<u8> {
    let mut p = Vec::with_capacity(40 + payload.len());
    let first = (6u32 << 28) | (flow & 0x000f_ffff);
    p.extend_from_slice(&first.to_be_bytes());
    p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    p.extend_from_slice(&[next_header, hop_limit]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(payload);
    p
}

/// An 8-byte IPv6 options header (Hop-by-Hop or Destination options) holding one PadN
/// option, preceding data of protocol `next_header`.
pub fn ipv6_options_header(next_header: u8) -> [u8; 8] {
    // Hdr Ext Len 0 => 8 bytes; PadN with 4 bytes of padding fills the remaining 6.
    [next_header, 0, 1, 4, 0, 0, 0, 0]
}

/// An 8-byte IPv6 Fragment header.
pub fn ipv6_fragment_header(next_header: u8, offset_units: u16, more: bool, ident: u32) -> [u8; 8] {
    let off = (offset_units << 3) | u16::from(more);
    let mut h = [next_header, 0, 0, 0, 0, 0, 0, 0];
    h[2..4].copy_from_slice(&off.to_be_bytes());
    h[4..8].copy_from_slice(&ident.to_be_bytes());
    h
}

fn pseudo_sum(src: IpAddr, dst: IpAddr, proto: u8, len: usize) -> u32 {
    let mut s = 0u32;
    match (src, dst) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            s = sum16(&a.octets(), s);
            s = sum16(&b.octets(), s);
        }
        (a, b) => {
            s = sum16(&to_v6(a).octets(), s);
            s = sum16(&to_v6(b).octets(), s);
        }
    }
    s = s.wrapping_add(u32::from(proto));
    s.wrapping_add(len as u32)
}

fn to_v6(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// Fields of a TCP segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpFields {
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number (sent as is; meaningful with ACK).
    pub ack: u32,
    /// Flag bits ([`tcp_flags`]).
    pub flags: u8,
    /// Receive window.
    pub window: u16,
}

/// A TCP segment with `options` (padded to 4 bytes) and a correct checksum for the
/// given address pair.
pub fn tcp(src: IpAddr, dst: IpAddr, f: &TcpFields, options: &[u8], payload: &[u8]) -> Vec<u8> {
    let opt_len = options.len().div_ceil(4) * 4;
    let hlen = 20 + opt_len;
    let mut s = Vec::with_capacity(hlen + payload.len());
    s.extend_from_slice(&f.sport.to_be_bytes());
    s.extend_from_slice(&f.dport.to_be_bytes());
    s.extend_from_slice(&f.seq.to_be_bytes());
    s.extend_from_slice(&f.ack.to_be_bytes());
    s.push(((hlen / 4) as u8) << 4);
    s.push(f.flags);
    s.extend_from_slice(&f.window.to_be_bytes());
    s.extend_from_slice(&[0, 0, 0, 0]);
    s.extend_from_slice(options);
    s.resize(hlen, 0);
    s.extend_from_slice(payload);
    let c = fold(sum16(&s, pseudo_sum(src, dst, IPPROTO_TCP, s.len())));
    s[16..18].copy_from_slice(&c.to_be_bytes());
    s
}

/// A UDP datagram with a correct checksum for the given address pair.
pub fn udp(src: IpAddr, dst: IpAddr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let len = 8 + payload.len();
    let mut d = Vec::with_capacity(len);
    d.extend_from_slice(&sport.to_be_bytes());
    d.extend_from_slice(&dport.to_be_bytes());
    d.extend_from_slice(&(len as u16).to_be_bytes());
    d.extend_from_slice(&[0, 0]);
    d.extend_from_slice(payload);
    let mut c = fold(sum16(&d, pseudo_sum(src, dst, IPPROTO_UDP, len)));
    if c == 0 {
        c = 0xffff;
    }
    d[6..8].copy_from_slice(&c.to_be_bytes());
    d
}

/// TCP MSS option (kind 2).
pub fn mss_option(mss: u16) -> [u8; 4] {
    let b = mss.to_be_bytes();
    [2, 4, b[0], b[1]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_header_checksum_verifies() {
        let f = Ipv4Fields {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 0, 0, 2),
            proto: IPPROTO_UDP,
            id: 0x1234,
            flags_frag: IPV4_DF,
            ttl: 64,
        };
        let p = ipv4(&f, &[1, 2, 3]);
        assert_eq!(p.len(), 23);
        assert_eq!(checksum(&p[..20]), 0);
        assert_eq!(&p[2..4], &[0, 23]);
    }

    #[test]
    fn tcp_and_udp_checksums_verify() {
        let a = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 1));
        let b = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 2));
        let t = tcp(
            a,
            b,
            &TcpFields { sport: 1, dport: 502, seq: 7, ack: 9, flags: tcp_flags::ACK, window: 1000 },
            &mss_option(1460),
            b"hello",
        );
        assert_eq!(t[12] >> 4, 6);
        assert_eq!(fold(sum16(&t, pseudo_sum(a, b, IPPROTO_TCP, t.len()))), 0);
        let u = udp(a, b, 53, 53, b"abc");
        assert_eq!(fold(sum16(&u, pseudo_sum(a, b, IPPROTO_UDP, u.len()))), 0);
        let c = IpAddr::V6(Ipv6Addr::LOCALHOST);
        let u6 = udp(c, c, 1, 2, b"odd");
        assert_eq!(fold(sum16(&u6, pseudo_sum(c, c, IPPROTO_UDP, u6.len()))), 0);
    }

    #[test]
    fn vlan_tags_are_written_outermost_first() {
        let f = ethernet([1; 6], [2; 6], &[VlanTag::dot1ad(100), VlanTag::dot1q(200)], ETHERTYPE_IPV4, &[]);
        assert_eq!(&f[12..22], &[0x88, 0xa8, 0x00, 100, 0x81, 0x00, 0x00, 200, 0x08, 0x00]);
    }

    #[test]
    fn ipv6_fragment_header_layout() {
        let h = ipv6_fragment_header(IPPROTO_UDP, 3, true, 0xdead_beef);
        assert_eq!(h, [17, 0, 0, 0x19, 0xde, 0xad, 0xbe, 0xef]);
    }
}
