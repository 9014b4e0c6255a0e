#![no_main]
//! Modbus stream framers (MBAP and RTU-over-TCP): the input is one direction
//! of a TCP stream fed in chunks whose sizes come from the first octet, with
//! an optional gap. Checks the framer contract (progress, bounds, honest
//! `needed`), that every frame parses, and — without a gap — that chunked
//! feeding yields exactly the frames of a one-shot drive: always for RTU,
//! and for MBAP up to its first loss of sync (MBAP resync is segment-aware:
//! a candidate ending exactly where the buffered bytes end is accepted).
use centinela_parsers::modbus::{Adu, Direction, MbapFramer, RtuFramer, rtu};
use centinela_parsers::stream::{FrameStep, StreamFramer};

/// Frames, and how many were framed before the first discard.
fn feed<F: StreamFramer>(
    framer: &mut F,
    stream: &[u8],
    chunk: usize,
    gap_at: Option<usize>,
) -> (Vec<Vec<u8>>, usize) {
    let mut buf: Vec<u8> = Vec::new();
    let mut frames = Vec::new();
    let mut before_discard = None;
    let mut need_until = 0usize;
    for (i, c) in stream.chunks(chunk).enumerate() {
        if gap_at == Some(i) {
            buf.clear();
            framer.gap();
            need_until = 0;
            continue; // this chunk is lost
        }
        buf.extend_from_slice(c);
        loop {
            if buf.is_empty() {
                break;
            }
            match framer.frame(&buf) {
                FrameStep::Frame { frame, consumed } => {
                    assert!(consumed >= 1 && consumed <= buf.len());
                    assert!(buf.len() >= need_until, "framed before the promised bytes");
                    frames.push(frame.to_vec());
                    buf.drain(..consumed);
                    need_until = 0;
                }
                FrameStep::Discard { consumed, .. } => {
                    assert!(consumed >= 1 && consumed <= buf.len());
                    before_discard.get_or_insert(frames.len());
                    buf.drain(..consumed);
                    need_until = 0;
                }
                FrameStep::Incomplete { needed } => {
                    assert!(needed >= 1);
                    need_until = buf.len() + needed;
                    break;
                }
            }
        }
        assert!(buf.len() <= 1 << 16, "unbounded buffering");
    }
    let n = before_discard.unwrap_or(frames.len());
    (frames, n)
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&sel, stream)) = data.split_first() else { return };
    let chunk = usize::from(sel % 32) + 1;
    let gap = (sel & 0x80 != 0).then_some(usize::from(sel >> 5 & 3) + 1);
    let dir = if sel & 0x40 == 0 { Direction::Request } else { Direction::Response };

    let (one_shot, n1) = feed(&mut MbapFramer::new(), stream, stream.len().max(1), None);
    let (chunked, n2) = feed(&mut MbapFramer::new(), stream, chunk, gap);
    if gap.is_none() {
        assert_eq!(n1, n2, "first loss of sync at a different frame");
        assert_eq!(one_shot[..n1], chunked[..n2]);
        if n1 == one_shot.len() && n2 == chunked.len() {
            assert_eq!(one_shot, chunked);
        }
    }
    for f in one_shot.iter().chain(&chunked) {
        let adu = Adu::parse(f, dir).expect("a framed MBAP ADU parses");
        let _ = adu.flags.names().count();
    }

    let (one_shot, _) = feed(&mut RtuFramer::new(dir), stream, stream.len().max(1), None);
    let (chunked, _) = feed(&mut RtuFramer::new(dir), stream, chunk, gap);
    if gap.is_none() {
        assert_eq!(one_shot, chunked);
    }
    for f in one_shot.iter().chain(&chunked) {
        let adu = rtu::parse(f, dir).expect("a framed RTU ADU parses");
        let _ = adu.flags.names().count();
    }
});
