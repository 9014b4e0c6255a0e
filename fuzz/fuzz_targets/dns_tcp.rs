//! Fuzz the DNS-over-TCP framer: the input is split into chunks (first
//! octet picks the chunk size, second where a gap happens) and fed the way
//! the sensor feeds it. Invariants: no panic, progress on every step, the
//! framed messages are the same as when the stream arrives in one piece
//! (when no gap is injected), and every frame parses.
#![no_main]

use centinela_parsers::dns::{Message, TcpFramer};
use centinela_parsers::stream::{DriveEnd, StreamFramer, drive};

fn run(stream: &[u8], chunk: usize, gap_at: Option<usize>) -> Vec<Vec<u8>> {
    let mut f = TcpFramer::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut frames = Vec::new();
    let mut i = 0;
    while i < stream.len() {
        let end = (i + chunk).min(stream.len());
        if gap_at.is_some_and(|g| g >= i && g < end) {
            pending.clear();
            f.gap();
        }
        pending.extend_from_slice(&stream[i..end]);
        i = end;
        let (used, how) = drive(&mut f, &pending, |fr| frames.push(fr.to_vec()), |n, _| assert!(n >= 1));
        assert!(how != DriveEnd::Stalled);
        assert!(used <= pending.len());
        pending.drain(..used);
    }
    frames
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let [a, b, stream @ ..] = data else { return };
    let chunk = usize::from(*a % 64) + 1;
    let whole = run(stream, stream.len().max(1), None);
    assert_eq!(run(stream, chunk, None), whole);
    for fr in &whole {
        assert!(Message::parse(fr).is_ok());
    }
    let gapped = run(stream, chunk, Some(usize::from(*b) * 4));
    for fr in &gapped {
        assert!(Message::parse(fr).is_ok());
    }
});
