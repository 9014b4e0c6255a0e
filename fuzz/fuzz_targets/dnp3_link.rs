#![no_main]
//! DNP3 link framer: the input is one direction of a TCP stream, fed in
//! chunks whose sizes come from the first octet; every frame must re-parse
//! and frames must be identical to a one-shot drive over the whole input.
use centinela_parsers::dnp3::link::{self, Framer};
use centinela_parsers::stream::{FrameStep, StreamFramer};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&chunk, stream)) = data.split_first() else { return };
    let chunk = usize::from(chunk % 64) + 1;
    let mut user = [0u8; link::MAX_USER_DATA];
    // One-shot over the whole stream.
    let mut framer = Framer::new();
    let mut off = 0usize;
    let mut whole = 0usize;
    while off < stream.len() {
        match framer.frame(&stream[off..]) {
            FrameStep::Frame { frame, consumed } => {
                assert!(consumed >= 1 && consumed <= stream.len() - off);
                let (h, ud) = link::Frame::parse(frame, &mut user).expect("framed frame parses");
                assert_eq!(ud.len(), h.user_data_len());
                whole += 1;
                off += consumed;
            }
            FrameStep::Discard { consumed, .. } => {
                assert!(consumed >= 1 && consumed <= stream.len() - off);
                off += consumed;
            }
            FrameStep::Incomplete { needed } => {
                assert!(needed >= 1);
                break;
            }
        }
    }
    // Chunked: the caller keeps unconsumed bytes (like the reassembler).
    let mut framer = Framer::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut chunked = 0usize;
    for piece in stream.chunks(chunk) {
        pending.extend_from_slice(piece);
        let (used, _) = centinela_parsers::stream::drive(&mut framer, &pending, |_| chunked += 1, |_, _| {});
        pending.drain(..used);
    }
    assert_eq!(whole, chunked);
    // The datagram iterator never panics and ends.
    for f in link::frames(stream) {
        if let Ok(f) = f {
            let _ = f.copy_user_data(&mut user);
        }
    }
});
