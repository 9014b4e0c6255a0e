//! DNS over TCP framing: every fixture split at every offset and fed byte by
//! byte frames the same messages; gaps resynchronise on the next message.
#![cfg(feature = "dns")]

mod common;
mod dns_support;

use centinela_parsers::dns::{Message, TcpFramer, TcpFramerError};
use centinela_parsers::stream::{DriveEnd, FrameStep, StreamFramer, drive};
use dns_support::{fixtures, tcp_frame};

/// What a stream yields: frames and discards, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Out {
    Frame(Vec<u8>),
    Discard(usize, TcpFramerError),
}

/// Feed `chunks` the way the sensor does: keep unconsumed octets, append
/// the next chunk, drive again. `gap_before` marks chunks preceded by a gap.
fn run(chunks: &[&[u8]], gap_before: &[bool]) -> Vec<Out> {
    let mut f = TcpFramer::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    for (i, c) in chunks.iter().enumerate() {
        if gap_before.get(i).copied().unwrap_or(false) {
            pending.clear();
            f.gap();
        }
        pending.extend_from_slice(c);
        let out_cell = std::cell::RefCell::new(&mut out);
        let (used, end) = drive(
            &mut f,
            &pending,
            |fr| out_cell.borrow_mut().push(Out::Frame(fr.to_vec())),
            |n, e| out_cell.borrow_mut().push(Out::Discard(n, e)),
        );
        assert!(matches!(end, DriveEnd::Incomplete(n) if n >= 1), "{end:?}");
        pending.drain(..used);
    }
    out
}

fn stream_of_all_fixtures() -> (Vec<u8>, Vec<Vec<u8>>) {
    let msgs: Vec<Vec<u8>> = fixtures::ALL.iter().map(dns_support::Fixture::bytes).collect();
    let stream = msgs.iter().flat_map(|m| tcp_frame(m)).collect();
    (stream, msgs)
}

#[test]
fn whole_stream_frames_every_fixture() {
    let (stream, msgs) = stream_of_all_fixtures();
    let out = run(&[&stream], &[]);
    let want: Vec<Out> = msgs.iter().cloned().map(Out::Frame).collect();
    assert_eq!(out, want);
    for m in &msgs {
        assert!(Message::parse(m).expect("header").anomalies().is_empty());
    }
}

#[test]
fn split_at_every_offset_is_identical() {
    let (stream, _) = stream_of_all_fixtures();
    let whole = run(&[&stream], &[]);
    for cut in 0..=stream.len() {
        let (a, b) = stream.split_at(cut);
        assert_eq!(run(&[a, b], &[]), whole, "cut at {cut}");
    }
    // Each fixture alone, cut at every pair of offsets.
    for f in fixtures::ALL {
        let s = tcp_frame(&f.bytes());
        let whole = run(&[&s], &[]);
        for i in 0..=s.len() {
            for j in i..=s.len() {
                assert_eq!(run(&[&s[..i], &s[i..j], &s[j..]], &[]), whole, "{} {i} {j}", f.name);
            }
        }
    }
}

#[test]
fn byte_by_byte_is_identical() {
    let (stream, _) = stream_of_all_fixtures();
    let whole = run(&[&stream], &[]);
    let chunks: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(run(&chunks, &[]), whole);
}

#[test]
fn incomplete_needed_is_exact() {
    let s = tcp_frame(&fixtures::RESPONSE_TXT.bytes());
    let mut f = TcpFramer::new();
    for n in 0..s.len() {
        let needed = if n < 2 { 2 - n } else { s.len() - n };
        assert_eq!(f.frame(&s[..n]), FrameStep::Incomplete { needed });
    }
}

#[test]
fn gap_then_resync_at_every_offset() {
    // A gap lands anywhere inside the first message; the framer must drop
    // the tail of that message and frame every later message exactly.
    let (stream, msgs) = stream_of_all_fixtures();
    let first = tcp_frame(&msgs[0]).len();
    for lost in 1..first {
        let rest = &stream[lost..];
        let out = run(&[&[], rest], &[false, true]);
        let frames: Vec<&Vec<u8>> =
            out.iter().filter_map(|o| if let Out::Frame(f) = o { Some(f) } else { None }).collect();
        let dropped: usize = out.iter().map(|o| if let Out::Discard(n, _) = o { *n } else { 0 }).sum();
        assert_eq!(frames.len(), msgs.len() - 1, "lost {lost}: {out:?}");
        assert!(frames.iter().zip(&msgs[1..]).all(|(a, b)| *a == b), "lost {lost}");
        assert_eq!(dropped, first - lost, "lost {lost}");
        // Split after the gap too: same result.
        for cut in [1, 7, 13, rest.len() / 2] {
            let again = run(&[&[], &rest[..cut], &rest[cut..]], &[false, true, false]);
            assert_eq!(again, out, "lost {lost} cut {cut}");
        }
    }
}

#[test]
fn garbage_after_gap_never_loops_and_short_lengths_resync() {
    let (stream, msgs) = stream_of_all_fixtures();
    // Noise that never forms a plausible header (opcode 15), then messages.
    let mut s: Vec<u8> = (0..300u32).map(|i| if i % 3 == 0 { 0x7F } else { 0xF8 }).collect();
    s.extend_from_slice(&stream);
    let out = run(&[&[], &s], &[false, true]);
    let frames = out.iter().filter(|o| matches!(o, Out::Frame(_))).count();
    assert_eq!(frames, msgs.len());
    assert!(out.iter().all(|o| !matches!(o, Out::Discard(n, TcpFramerError::Resync) if *n != 1)));
    // A length below the header size while in sync: dropped, then resync.
    let mut s = vec![0, 3, 1, 2, 3];
    s.extend_from_slice(&stream);
    let out = run(&[&s], &[]);
    assert_eq!(out[0], Out::Discard(5, TcpFramerError::TooShort { len: 3 }));
    assert_eq!(out.len(), 1 + msgs.len());
}

#[test]
fn large_candidate_after_gap_byte_by_byte() {
    // A ~6 KiB response (500 A records), after a gap, fed one octet at a
    // time: the probe decides exactly as with the whole stream.
    let mut e = dns_support::Emitter::new(0x4242, 0x8180, [1, 500, 0, 0], true);
    let name: Vec<Vec<u8>> = vec![b"big".to_vec(), b"example".to_vec(), b"com".to_vec()];
    e.question(&name, 1, 1);
    for i in 0..500u32 {
        e.record(&name, 1, 1, 60, &dns_support::EmitRdata::A(i.to_be_bytes()));
    }
    let msg = e.buf;
    let mut stream = b"\x13\x37junk".to_vec();
    stream.extend_from_slice(&tcp_frame(&msg));
    stream.extend_from_slice(&tcp_frame(&fixtures::RESPONSE_TXT.bytes()));
    let mut f = TcpFramer::new();
    f.gap();
    let mut pending: Vec<u8> = Vec::new();
    let mut frames: Vec<Vec<u8>> = Vec::new();
    let mut dropped = 0;
    for &b in &stream {
        pending.push(b);
        loop {
            match f.frame(&pending) {
                FrameStep::Frame { frame, consumed } => {
                    frames.push(frame.to_vec());
                    pending.drain(..consumed);
                }
                FrameStep::Discard { consumed, .. } => {
                    dropped += consumed;
                    pending.drain(..consumed);
                }
                FrameStep::Incomplete { needed } => {
                    assert!(needed >= 1);
                    break;
                }
            }
        }
    }
    assert_eq!(dropped, 6);
    assert_eq!(frames, [msg, fixtures::RESPONSE_TXT.bytes()]);
}

#[test]
fn fuzz_regression_probe_verdict_is_split_independent() {
    // cargo fuzz dns_tcp crash-c0ef263a: a resync probe that cached its last
    // verdict and skipped re-parsing until the candidate had doubled stayed
    // `Incomplete` at the end of a byte-by-byte stream, where the whole
    // stream rejected the candidate and framed a later message.
    let input = include_bytes!("dns_support/fuzz_dns_tcp_crash_c0ef263a.bin");
    let stream = &input[2..];
    let whole = run(&[stream], &[]);
    let chunks: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(run(&chunks, &[]), whole);
    assert!(whole.iter().any(|o| matches!(o, Out::Frame(_))));
}
