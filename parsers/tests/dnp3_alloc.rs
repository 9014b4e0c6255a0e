//! Zero allocation: decoding every DNP3 frame of the captures (framer,
//! datagram iterator, link parse, transport assembly, application parse,
//! semantic checks, object and point iteration) allocates nothing. The
//! assemblers' buffers are allocated once, before the measurement.
#![cfg(feature = "dnp3")]
#![allow(clippy::unwrap_used)]

#[allow(clippy::unnested_or_patterns, clippy::collapsible_if)]
mod common;
mod dnp3_support;

use centinela_parsers::dnp3::{app, link, transport::Assembler};
use centinela_parsers::stream::drive;
use dnp3_support as sup;

#[global_allocator]
static A: common::alloc::Counting = common::alloc::Counting;

/// Decode `payloads` (one direction each) and return (frames, points).
fn decode_all(payloads: &[(usize, &[u8])], asms: &mut [Assembler]) -> (u64, u64) {
    let mut out = [0u8; link::MAX_USER_DATA];
    let (mut frames, mut points) = (0u64, 0u64);
    for &(dir, payload) in payloads {
        let Some(a) = asms.get_mut(dir) else { continue };
        for f in link::frames(payload).flatten() {
            frames += 1;
            let (h, ud) = link::Frame::parse(f.as_bytes(), &mut out).unwrap();
            if !h.control.function.has_user_data() {
                continue;
            }
            if let Ok(Some(frag)) = a.push(ud)
                && let Ok(fr) = app::Fragment::parse(frag)
            {
                let flags = fr.flags | fr.check(Some(h.control.dir));
                points += flags.names().count() as u64;
                for o in fr.objects() {
                    for p in o.points() {
                        points += u64::from(p.value.state().is_some()) + 1;
                    }
                }
            }
        }
    }
    (frames, points)
}

#[test]
fn decoding_captures_allocates_nothing() {
    let caps = sup::captures();
    let (mut total_frames, mut total_framed) = (0u64, 0u64);
    for path in &caps {
        let pkts = sup::dnp3_packets(path);
        let mut keys: Vec<(bool, (u16, u16))> = pkts.iter().map(|p| (p.tcp, p.key)).collect();
        keys.sort_unstable();
        keys.dedup();
        let payloads: Vec<(usize, &[u8])> =
            pkts.iter().map(|p| (keys.binary_search(&(p.tcp, p.key)).unwrap(), &p.payload[..])).collect();
        let mut asms: Vec<Assembler> = keys.iter().map(|_| Assembler::default()).collect();
        let streams = sup::tcp_streams(&pkts);
        let (n, (frames, _)) = common::alloc::count(|| decode_all(&payloads, &mut asms));
        assert_eq!(n, 0, "{}: {n} allocations", path.display());
        let (n, framed) = common::alloc::count(|| {
            let mut framed = 0u64;
            for s in &streams {
                let mut framer = link::Framer::new();
                let _ = drive(&mut framer, s, |_| framed += 1, |_, _| {});
            }
            framed
        });
        assert_eq!(n, 0, "{}: framer allocated {n} times", path.display());
        total_frames += frames;
        total_framed += framed;
    }
    eprintln!(
        "dnp3 zero-alloc: {} captures, {total_frames} datagram-path frames and {total_framed} TCP-framer frames decoded with 0 allocations",
        caps.len()
    );
    if common::corpus_dir().is_some() {
        assert!(total_frames > 4000 && total_framed > 4000);
    }
}

#[test]
fn decoding_fixtures_allocates_nothing() {
    let frag = [0xc0, 0x81, 0x00, 0x00, 0x1e, 0x02, 0x00, 0x00, 0x01, 0x01, 0xfb, 0xff, 0x01, 0x05, 0x00];
    let frames = sup::frames_for_fragment(&frag, 0, false, 5);
    let mut asm = Assembler::default();
    let (n, pts) = common::alloc::count(|| {
        let mut out = [0u8; link::MAX_USER_DATA];
        let mut pts = 0;
        for f in &frames {
            let (_, ud) = link::Frame::parse(f, &mut out).unwrap();
            if let Some(fr) = asm.push(ud).unwrap() {
                let fr = app::Fragment::parse(fr).unwrap();
                pts += fr.objects().flat_map(|o| o.points()).count();
            }
        }
        pts
    });
    assert_eq!((n, pts), (0, 2));
}
