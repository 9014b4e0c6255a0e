//! DNP3 link layer: smoltcp's per-file set on annotated fixtures
//! (deconstruct, construct, impossible lengths, parse, emit), every
//! truncation length, the framer split at every offset and byte by byte,
//! bad-CRC-then-resync, gaps, UDP datagrams with several frames, and every
//! DNP3 stream of the captures.
#![cfg(feature = "dnp3")]
#![allow(clippy::unwrap_used)]

#[allow(clippy::unnested_or_patterns, clippy::collapsible_if)]
mod common;
mod dnp3_support;

use centinela_parsers::dnp3::link::{self, Control, Error, Frame, Framer, Function, Header};
use centinela_parsers::stream::{DriveEnd, FrameStep, StreamFramer, drive};
use dnp3_support as sup;

/// READ class 0 (g60v1, qualifier 0x06), master 1 → outstation 10.
const READ: [u8; 18] = [
    0x05, 0x64, // sync
    0x0b, // LENGTH = 5 + 6
    0xc4, // DIR=1 PRM=1 FCB=0 FCV=0, UNCONFIRMED_USER_DATA
    0x0a, 0x00, // destination 10
    0x01, 0x00, // source 1
    0xac, 0xd1, // header CRC
    0xc0, // transport: FIR FIN seq 0
    0xc1, 0x01, 0x3c, 0x01, 0x06, // app: FIR FIN seq 1, READ, g60v1 all
    0xf9, 0x73, // block CRC
];

/// RESET_LINK_STATES, master 1 → outstation 10, no user data.
const RESET: [u8; 10] = [0x05, 0x64, 0x05, 0xc0, 0x0a, 0x00, 0x01, 0x00, 0xb1, 0xac];

/// ACK, outstation 10 → master 1.
const ACK: [u8; 10] = [0x05, 0x64, 0x05, 0x00, 0x01, 0x00, 0x0a, 0x00, 0x2e, 0xdd];

/// Two-block response: g30v2 points 0..1 = -5, 5 and g1v2 point 0 = on.
const RESPONSE: [u8; 36] = [
    0x05, 0x64, 0x1b, 0x44, 0x01, 0x00, 0x0a, 0x00, 0x48, 0xe8, // LENGTH 27, PRM, 10 → 1
    0xc1, // transport FIR FIN seq 1
    0xc1, 0x81, 0x00, 0x00, // app control, RESPONSE, IIN 0000
    0x1e, 0x02, 0x00, 0x00, 0x01, // g30v2, start-stop 8-bit 0..1
    0x01, 0xfb, 0xff, 0x01, 0x05, 0x00, // (online, -5) (online, 5)
    0x98, 0x4b, // CRC of block 0
    0x01, 0x02, 0x00, 0x00, 0x00, 0x81, // g1v2 0..0: online + state
    0xf6, 0x9c, // CRC of block 1
];

fn fixtures() -> Vec<Vec<u8>> {
    let max = sup::frame(0xc4, 0xfffe, 0x0400, &(0..250u32).map(|i| i as u8).collect::<Vec<u8>>());
    vec![READ.to_vec(), RESET.to_vec(), ACK.to_vec(), RESPONSE.to_vec(), max]
}

#[test]
fn deconstruct() {
    let h = Header::parse(&RESPONSE).unwrap();
    assert_eq!(h.length, 27);
    assert_eq!(
        h.control,
        Control {
            dir: false,
            prm: true,
            fcb: false,
            fcv_dfc: false,
            function: Function::UnconfirmedUserData
        }
    );
    assert_eq!((h.destination, h.source), (1, 10));
    assert_eq!(h.user_data_len(), 22);
    assert_eq!(h.frame_len(), RESPONSE.len());
    let r = Header::parse(&RESET).unwrap();
    assert_eq!(r.control.function, Function::ResetLinkStates);
    let a = Header::parse(&ACK).unwrap();
    assert_eq!(a.control.function, Function::Ack);
    assert!(!a.control.prm && !a.control.dir);
    assert_eq!(Function::from_bits(false, 11), Function::LinkStatus);
    assert_eq!(Function::from_bits(true, 7), Function::Unknown { prm: true, code: 7 });
}

#[test]
fn parse_copies_user_data_without_crcs() {
    let mut out = [0u8; link::MAX_USER_DATA];
    let (h, ud) = Frame::parse(&RESPONSE, &mut out).unwrap();
    assert_eq!(h.source, 10);
    let mut want = RESPONSE[10..26].to_vec();
    want.extend_from_slice(&RESPONSE[28..34]);
    assert_eq!(ud, &want[..]);
    let f = Frame::new_checked(&RESPONSE).unwrap();
    let mut out2 = [0u8; link::MAX_USER_DATA];
    assert_eq!(f.copy_user_data(&mut out2), &want[..]);
    assert_eq!(f.as_bytes(), &RESPONSE[..]);
    // Trailing octets after the frame are ignored.
    let mut longer = RESPONSE.to_vec();
    longer.extend_from_slice(&[1, 2, 3]);
    assert_eq!(Frame::parse(&longer, &mut out).unwrap().1, &want[..]);
}

#[test]
fn construct_and_emit() {
    let mut out = [0u8; link::MAX_FRAME];
    let n = link::emit(Control::from_u8(0xc4), 10, 1, &READ[10..16], &mut out).unwrap();
    assert_eq!(&out[..n], &READ);
    let n = link::emit(Control::from_u8(0xc0), 10, 1, &[], &mut out).unwrap();
    assert_eq!(&out[..n], &RESET);
    let mut ud = RESPONSE[10..26].to_vec();
    ud.extend_from_slice(&RESPONSE[28..34]);
    let n = link::emit(Control::from_u8(0x44), 1, 10, &ud, &mut out).unwrap();
    assert_eq!(&out[..n], &RESPONSE);
    let h = Header::parse(&RESPONSE).unwrap();
    let mut hb = [0u8; 10];
    h.emit(&mut hb).unwrap();
    assert_eq!(hb, RESPONSE[..10]);
    assert_eq!(link::emit(Control::from_u8(0xc4), 1, 1, &[0; 251], &mut out), Err(Error::BufferTooSmall));
    assert_eq!(
        link::emit(Control::from_u8(0xc4), 1, 1, &[0; 20], &mut out[..20]),
        Err(Error::BufferTooSmall)
    );
}

#[test]
fn impossible_lengths() {
    for length in 0..5u8 {
        let mut b = RESET;
        b[2] = length;
        let crc = centinela_crc(&b[..8]);
        b[8..10].copy_from_slice(&crc);
        assert_eq!(Header::parse(&b), Err(Error::BadLength { length }));
    }
    assert_eq!(link::frame_len(255), link::MAX_FRAME);
    assert_eq!(link::frame_len(5), link::HEADER_LEN);
    let mut bad = READ;
    bad[0] = 0x06;
    assert_eq!(Header::parse(&bad), Err(Error::BadSync));
    assert_eq!(Header::parse(&[0x05, 0x65]), Err(Error::BadSync));
}

fn centinela_crc(b: &[u8]) -> [u8; 2] {
    // Re-emit a header with the same fields to obtain its CRC.
    let mut out = [0u8; link::MAX_FRAME];
    let _ = link::emit(
        Control::from_u8(b[3]),
        u16::from_le_bytes([b[4], b[5]]),
        u16::from_le_bytes([b[6], b[7]]),
        &[],
        &mut out,
    );
    let mut h = [0u8; 8];
    h.copy_from_slice(&b[..8]);
    // The emitter always writes LENGTH = 5; recompute over the given header.
    crc_dnp(&h).to_le_bytes()
}

fn crc_dnp(data: &[u8]) -> u16 {
    let mut c: u16 = 0;
    for &b in data {
        c ^= u16::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 { (c >> 1) ^ 0xA6BC } else { c >> 1 };
        }
    }
    !c
}

#[test]
fn bitwise_reference_crc_agrees_with_table() {
    for f in fixtures() {
        let h = Header::parse(&f).unwrap();
        assert_eq!(crc_dnp(&f[..8]).to_le_bytes(), [f[8], f[9]]);
        let body = &f[10..];
        for block in body.chunks(18) {
            let (d, c) = block.split_at(block.len() - 2);
            assert_eq!(crc_dnp(d).to_le_bytes(), [c[0], c[1]]);
        }
        assert_eq!(h.frame_len(), f.len());
    }
}

#[test]
fn every_truncation_is_incomplete_with_exact_need() {
    let mut out = [0u8; link::MAX_USER_DATA];
    for f in fixtures() {
        for len in 0..f.len() {
            let want = Error::Incomplete { needed: if len < 10 { 10 - len } else { f.len() - len } };
            assert_eq!(Frame::parse(&f[..len], &mut out).map(|_| ()), Err(want), "len {len}");
            assert_eq!(Frame::new_checked(&f[..len]).map(|_| ()), Err(want), "len {len}");
            if len < 10 {
                assert_eq!(Header::parse(&f[..len]).map(|_| ()), Err(want));
            }
            let mut framer = Framer::new();
            assert_eq!(
                framer.frame(&f[..len]),
                if len == 0 { FrameStep::Incomplete { needed: 1 } } else { step_incomplete(want) }
            );
        }
        assert!(Frame::parse(&f, &mut out).is_ok());
    }
}

fn step_incomplete(e: Error) -> FrameStep<'static, Error> {
    match e {
        Error::Incomplete { needed } => FrameStep::Incomplete { needed },
        _ => unreachable!(),
    }
}

/// Frames produced by driving `framer` over `stream` cut into `chunk`-sized
/// pieces, the caller keeping unconsumed bytes like the TCP reassembler.
fn drive_chunked(stream: &[u8], cuts: &[usize]) -> (Vec<Vec<u8>>, Vec<Error>) {
    let mut framer = Framer::new();
    let mut pending = Vec::new();
    let mut frames = Vec::new();
    let mut errors = Vec::new();
    let mut last = 0;
    for &cut in cuts.iter().chain(std::iter::once(&stream.len())) {
        pending.extend_from_slice(&stream[last..cut]);
        last = cut;
        let (used, end) = drive(&mut framer, &pending, |f| frames.push(f.to_vec()), |_, e| errors.push(e));
        assert_ne!(end, DriveEnd::Stalled);
        pending.drain(..used);
    }
    (frames, errors)
}

fn stream_of_fixtures() -> Vec<u8> {
    let mut s = vec![0xff, 0x05, 0x00]; // leading garbage, a lone 0x05
    for f in fixtures() {
        s.extend_from_slice(&f);
    }
    s.extend_from_slice(&READ);
    s
}

#[test]
fn framer_split_at_every_offset_and_byte_by_byte() {
    let s = stream_of_fixtures();
    let (whole, errs) = drive_chunked(&s, &[]);
    let mut want = fixtures();
    want.push(READ.to_vec());
    assert_eq!(whole, want);
    assert!(errs.iter().all(|e| matches!(e, Error::Garbage { .. })));
    for cut in 0..=s.len() {
        assert_eq!(drive_chunked(&s, &[cut]).0, whole, "cut at {cut}");
    }
    let bytes: Vec<usize> = (1..s.len()).collect();
    assert_eq!(drive_chunked(&s, &bytes).0, whole);
}

#[test]
fn bad_crc_then_resync() {
    let mut s = Vec::new();
    let mut bad_header = READ;
    bad_header[8] ^= 0x01;
    let mut bad_body = RESPONSE;
    bad_body[30] ^= 0x40; // a data octet of block 1
    s.extend_from_slice(&bad_header);
    s.extend_from_slice(&bad_body);
    s.extend_from_slice(&RESPONSE);
    s.extend_from_slice(&READ);
    for cuts in [vec![], (1..s.len()).collect::<Vec<_>>()] {
        let (frames, errors) = drive_chunked(&s, &cuts);
        assert_eq!(frames, vec![RESPONSE.to_vec(), READ.to_vec()]);
        assert!(errors.contains(&Error::BadHeaderCrc));
        assert!(errors.contains(&Error::BadBodyCrc { block: 1 }));
    }
    let mut framer = Framer::new();
    let mut off = 0;
    let mut seen = Vec::new();
    while off < s.len() {
        match framer.frame(&s[off..]) {
            FrameStep::Frame { consumed, .. } => off += consumed,
            FrameStep::Discard { consumed, error } => {
                seen.push(error);
                off += consumed;
            }
            FrameStep::Incomplete { .. } => break,
        }
    }
    assert_eq!(seen[0], Error::BadHeaderCrc);
    assert_eq!(framer.stats().frames, 2);
    assert_eq!(framer.stats().bad_header_crc, 1);
    assert_eq!(framer.stats().bad_body_crc, 1);
}

#[test]
fn gap_resyncs_mid_frame() {
    // A stream that starts in the middle of a frame (after a TCP gap).
    let mut s = RESPONSE[13..].to_vec();
    s.extend_from_slice(&READ);
    let mut framer = Framer::new();
    framer.gap();
    let mut frames = Vec::new();
    let (used, _) = drive(&mut framer, &s, |f| frames.push(f.to_vec()), |_, _| {});
    assert_eq!(used, s.len());
    assert_eq!(frames, vec![READ.to_vec()]);
    assert_eq!(framer.state(), link::State::FindSync);
}

#[test]
fn udp_datagram_with_several_frames() {
    let mut d = RESPONSE.to_vec();
    d.extend_from_slice(&ACK);
    d.extend_from_slice(&READ);
    let got: Vec<Result<Vec<u8>, Error>> =
        link::frames(&d).map(|r| r.map(|f| f.as_bytes().to_vec())).collect();
    assert_eq!(got, vec![Ok(RESPONSE.to_vec()), Ok(ACK.to_vec()), Ok(READ.to_vec())]);
    d.extend_from_slice(&READ[..12]);
    let last = link::frames(&d).last().unwrap();
    assert_eq!(last.map(|_| ()), Err(Error::Incomplete { needed: 6 }));
    let mut bad = READ;
    bad[12] ^= 1;
    let mut d2 = bad.to_vec();
    d2.extend_from_slice(&ACK);
    let got: Vec<_> = link::frames(&d2).map(|r| r.map(|f| f.header().source)).collect();
    assert_eq!(got, vec![Err(Error::BadBodyCrc { block: 0 }), Err(Error::Garbage { len: 16 }), Ok(10)]);
}

#[test]
fn error_flags_map() {
    use centinela_parsers::dnp3::Flags;
    assert_eq!(Error::BadHeaderCrc.flag(), Flags::BAD_HEADER_CRC);
    assert_eq!(Error::BadBodyCrc { block: 3 }.flag(), Flags::BAD_BODY_CRC);
    assert_eq!(Error::BadHeaderCrc.flag().names().next(), Some("bad_header_crc"));
    assert_eq!(Error::Incomplete { needed: 1 }.flag(), Flags::NONE);
}

/// Every DNP3 TCP stream of the captures: one-shot, 1-octet and 7-octet
/// chunks yield the same frames; every UDP datagram's frames parse.
#[test]
fn capture_streams_split_identically() {
    let caps = sup::captures();
    assert!(!caps.is_empty() || common::corpus_dir().is_none(), "no DNP3 captures found");
    let (mut frames, mut discards, mut udp_frames) = (0usize, 0usize, 0usize);
    let mut out = [0u8; link::MAX_USER_DATA];
    for path in &caps {
        let pkts = sup::dnp3_packets(path);
        for stream in sup::tcp_streams(&pkts) {
            let (whole, errs) = drive_chunked(&stream, &[]);
            for f in &whole {
                assert!(Frame::parse(f, &mut out).is_ok());
            }
            let sevens: Vec<usize> = (7..stream.len()).step_by(7).collect();
            assert_eq!(drive_chunked(&stream, &sevens).0, whole, "{}", path.display());
            if stream.len() < 20_000 {
                let ones: Vec<usize> = (1..stream.len()).collect();
                assert_eq!(drive_chunked(&stream, &ones).0, whole, "{}", path.display());
            }
            frames += whole.len();
            discards += errs.len();
        }
        for p in pkts.iter().filter(|p| !p.tcp) {
            udp_frames += link::frames(&p.payload).filter(Result::is_ok).count();
        }
    }
    eprintln!(
        "dnp3 link: {} captures, {frames} TCP frames, {discards} discards, {udp_frames} UDP frames",
        caps.len()
    );
    if common::corpus_dir().is_some() {
        assert!(frames > 3000, "expected the corpus' DNP3 frames, got {frames}");
        assert!(udp_frames > 20, "expected Zeek's DNP3-over-UDP frames, got {udp_frames}");
    }
}
