//! One direction of a TCP byte stream in front of a protocol framer.
//!
//! The reassembler delivers each byte exactly once, in order, in slices of
//! arbitrary size. Whole PDUs inside a delivered slice are framed straight
//! out of it (zero copy, through [`centinela_parsers::stream::drive`]); only
//! the tail of a PDU that is split across deliveries is copied into a
//! bounded *leftover* buffer. When the leftover holds a partial PDU, the next
//! deliveries top it up with exactly the number of bytes the framer asked
//! for, so the leftover never holds more than one PDU and the rest of the
//! slice is again framed in place.
//!
//! A PDU that would not fit in the cap is an overflow: the leftover is
//! dropped, the framer is told to resynchronise (as after a gap) and the
//! caller reports an anomaly. Consecutive framer discards are coalesced into
//! one run (reported when the next PDU is framed, at a gap or at flow end),
//! so the events do not depend on how the stream was segmented.

use centinela_parsers::stream::{DriveEnd, StreamFramer, drive};
use std::cell::RefCell;

/// What a [`DirStream`] reports to its owner, in stream order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamEvent<'a, E> {
    /// One framed PDU (borrowed from the delivered slice or the leftover).
    Frame(&'a [u8]),
    /// A run of `bytes` discarded by the framer; `error` is the first reason.
    Discarded { bytes: u64, error: E },
    /// A PDU larger than the leftover cap: `bytes` dropped, framer resyncing.
    Overflow { bytes: usize },
    /// The framer broke the progress contract; `bytes` abandoned.
    Stalled { bytes: usize },
}

/// Per-direction stream state: leftover buffer, pending discard run.
#[derive(Debug, Clone)]
pub(crate) struct DirStream<E> {
    left: Vec<u8>,
    cap: usize,
    needed: usize,
    discard: Option<(u64, E)>,
}

impl<E: Copy> DirStream<E> {
    /// A stream whose leftover buffer holds at most `cap` bytes.
    pub(crate) fn new(cap: usize) -> Self {
        Self { left: Vec::new(), cap, needed: 0, discard: None }
    }

    /// Bytes held in the leftover buffer (capacity).
    pub(crate) fn memory(&self) -> usize {
        self.left.capacity()
    }

    /// Bytes currently buffered.
    #[cfg(test)]
    pub(crate) fn buffered(&self) -> usize {
        self.left.len()
    }

    /// Feed newly delivered bytes.
    pub(crate) fn feed<F>(&mut self, framer: &mut F, mut data: &[u8], on: &mut dyn FnMut(StreamEvent<'_, E>))
    where
        F: StreamFramer<Error = E>,
    {
        // 1. Top up a partial PDU held in the leftover.
        while !self.left.is_empty() && !data.is_empty() {
            let take = self.needed.max(1).min(data.len());
            if self.left.len().saturating_add(take) > self.cap {
                let bytes = self.left.len();
                self.left.clear();
                self.needed = 0;
                framer.gap();
                on(StreamEvent::Overflow { bytes });
                break;
            }
            self.left.extend_from_slice(&data[..take]);
            data = &data[take..];
            let left = core::mem::take(&mut self.left);
            let (consumed, end) = self.run(framer, &left, on);
            self.left = left;
            self.left.drain(..consumed.min(self.left.len()));
            match end {
                DriveEnd::Incomplete(n) => self.needed = n,
                DriveEnd::Stalled => {
                    let bytes = self.left.len();
                    self.left.clear();
                    self.needed = 0;
                    framer.gap();
                    on(StreamEvent::Stalled { bytes });
                }
            }
        }
        if data.is_empty() {
            return;
        }
        // 2. Frame the rest of the slice in place.
        let (consumed, end) = self.run(framer, data, on);
        let rest = data.get(consumed..).unwrap_or_default();
        match end {
            DriveEnd::Incomplete(n) => {
                if rest.is_empty() {
                    return;
                }
                if rest.len().saturating_add(n) > self.cap {
                    framer.gap();
                    on(StreamEvent::Overflow { bytes: rest.len() });
                    return;
                }
                self.left.extend_from_slice(rest);
                self.needed = n;
            }
            DriveEnd::Stalled => {
                framer.gap();
                on(StreamEvent::Stalled { bytes: rest.len() });
            }
        }
    }

    fn run<'b, F>(
        &mut self,
        framer: &mut F,
        buf: &'b [u8],
        on: &mut dyn FnMut(StreamEvent<'_, E>),
    ) -> (usize, DriveEnd)
    where
        F: StreamFramer<Error = E>,
    {
        let discard = RefCell::new(self.discard.take());
        let on = RefCell::new(on);
        let r = drive(
            framer,
            buf,
            |frame: &'b [u8]| {
                if let Some((bytes, error)) = discard.borrow_mut().take() {
                    (on.borrow_mut())(StreamEvent::Discarded { bytes, error });
                }
                (on.borrow_mut())(StreamEvent::Frame(frame));
            },
            |n, error| {
                let mut d = discard.borrow_mut();
                match d.as_mut() {
                    Some((bytes, _)) => *bytes = bytes.saturating_add(n as u64),
                    None => *d = Some((n as u64, error)),
                }
            },
        );
        self.discard = discard.into_inner();
        r
    }

    /// Bytes were lost: drop the partial PDU, flush the discard run and let
    /// the framer resynchronise. Returns the bytes dropped from the leftover.
    pub(crate) fn gap<F>(&mut self, framer: &mut F, on: &mut dyn FnMut(StreamEvent<'_, E>)) -> usize
    where
        F: StreamFramer<Error = E>,
    {
        self.flush(on);
        let dropped = self.left.len();
        self.left.clear();
        self.needed = 0;
        framer.gap();
        dropped
    }

    /// Report a pending discard run (flow end, gap).
    pub(crate) fn flush(&mut self, on: &mut dyn FnMut(StreamEvent<'_, E>)) {
        if let Some((bytes, error)) = self.discard.take() {
            on(StreamEvent::Discarded { bytes, error });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use centinela_parsers::stream::FrameStep;

    /// Test framer: 1-byte length prefix `n`, then `n` bytes; a zero length
    /// byte is garbage (discarded one byte at a time).
    #[derive(Debug, Default)]
    struct LenFramer {
        gaps: usize,
    }

    impl StreamFramer for LenFramer {
        type Error = u8;
        fn frame<'a>(&mut self, buf: &'a [u8]) -> FrameStep<'a, u8> {
            match buf.first() {
                None => FrameStep::Incomplete { needed: 1 },
                Some(0) => FrameStep::Discard { consumed: 1, error: 0 },
                Some(&n) => {
                    let total = 1 + usize::from(n);
                    if buf.len() < total {
                        FrameStep::Incomplete { needed: total - buf.len() }
                    } else {
                        FrameStep::Frame { frame: &buf[1..total], consumed: total }
                    }
                }
            }
        }
        fn gap(&mut self) {
            self.gaps += 1;
        }
    }

    #[derive(Debug, PartialEq, Eq)]
    enum Ev {
        F(Vec<u8>),
        D(u64),
        O(usize),
        S(usize),
    }

    fn collect(chunks: &[&[u8]], cap: usize) -> (Vec<Ev>, usize) {
        let mut s = DirStream::new(cap);
        let mut f = LenFramer::default();
        let mut evs = Vec::new();
        let mut on = |e: StreamEvent<'_, u8>| {
            evs.push(match e {
                StreamEvent::Frame(b) => Ev::F(b.to_vec()),
                StreamEvent::Discarded { bytes, .. } => Ev::D(bytes),
                StreamEvent::Overflow { bytes } => Ev::O(bytes),
                StreamEvent::Stalled { bytes } => Ev::S(bytes),
            });
        };
        let mut max_buf = 0;
        for c in chunks {
            s.feed(&mut f, c, &mut on);
            max_buf = max_buf.max(s.buffered());
        }
        s.flush(&mut on);
        (evs, max_buf)
    }

    #[test]
    fn every_split_gives_the_same_frames() {
        let stream: Vec<u8> = vec![3, 1, 2, 3, 0, 0, 0, 2, 9, 9, 1, 7, 5, 1, 2, 3, 4, 5];
        let (whole, _) = collect(&[&stream], 64);
        assert_eq!(
            whole,
            vec![
                Ev::F(vec![1, 2, 3]),
                Ev::D(3),
                Ev::F(vec![9, 9]),
                Ev::F(vec![7]),
                Ev::F(vec![1, 2, 3, 4, 5])
            ]
        );
        for cut in 0..=stream.len() {
            let (a, b) = stream.split_at(cut);
            assert_eq!(collect(&[a, b], 64).0, whole, "cut at {cut}");
        }
        for c1 in 0..=stream.len() {
            for c2 in c1..=stream.len() {
                let (a, rest) = stream.split_at(c1);
                let (b, c) = rest.split_at(c2 - c1);
                assert_eq!(collect(&[a, b, c], 64).0, whole, "cuts {c1} {c2}");
            }
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        let (bb, max_buf) = collect(&bytes, 64);
        assert_eq!(bb, whole);
        // The leftover never holds more than one PDU.
        assert!(max_buf <= 6, "{max_buf}");
    }

    #[test]
    fn whole_pdus_are_not_copied() {
        let mut s = DirStream::new(64);
        let mut f = LenFramer::default();
        let data = [2u8, 1, 2, 2, 3, 4, 5];
        let mut ptrs = Vec::new();
        s.feed(&mut f, &data, &mut |e| {
            if let StreamEvent::Frame(b) = e {
                ptrs.push(b.as_ptr());
            }
        });
        assert_eq!(ptrs, vec![data[1..].as_ptr(), data[4..].as_ptr()]);
        // Only the tail of the split third PDU is copied.
        assert_eq!(s.buffered(), 1);
        assert!(s.memory() >= 1);
    }

    #[test]
    fn overflow_drops_and_resyncs() {
        // A 200-byte PDU announced with a cap of 16: dropped; the framer is
        // told to resync; the following PDU is framed.
        let mut stream = vec![200u8];
        stream.extend(std::iter::repeat_n(0xAA, 5));
        let (evs, max_buf) = collect(&[&stream], 16);
        assert_eq!(evs, vec![Ev::O(6)]);
        assert_eq!(max_buf, 0);
        // Split: the first part is buffered, the overflow is seen on top-up.
        let (evs, _) = collect(&[&stream[..3], &stream[3..]], 4);
        assert_eq!(evs, vec![Ev::O(3), Ev::O(3)]);
    }

    #[test]
    fn gap_drops_partial_pdu() {
        let mut s = DirStream::new(64);
        let mut f = LenFramer::default();
        let mut n = 0;
        s.feed(&mut f, &[5, 1, 2], &mut |_| n += 1);
        assert_eq!(s.gap(&mut f, &mut |_| n += 1), 3);
        assert_eq!(f.gaps, 1);
        let mut frames = Vec::new();
        s.feed(&mut f, &[1, 9], &mut |e| {
            if let StreamEvent::Frame(b) = e {
                frames.push(b.to_vec());
            }
        });
        assert_eq!(frames, vec![vec![9]]);
        assert_eq!(n, 0);
    }

    /// A framer that violates the progress contract.
    #[derive(Debug)]
    struct Stuck;
    impl StreamFramer for Stuck {
        type Error = u8;
        fn frame<'a>(&mut self, buf: &'a [u8]) -> FrameStep<'a, u8> {
            FrameStep::Frame { frame: buf, consumed: 0 }
        }
        fn gap(&mut self) {}
    }

    #[test]
    fn stalled_framer_cannot_loop() {
        let mut s = DirStream::new(64);
        let mut evs = 0;
        s.feed(&mut Stuck, &[1, 2, 3], &mut |e| {
            assert_eq!(e, StreamEvent::Stalled { bytes: 0 });
            evs += 1;
        });
        assert_eq!(evs, 1);
    }
}
