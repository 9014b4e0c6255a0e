//! The contract between a TCP stream reassembler and a protocol framer.
//!
//! The reassembler (in the sensor) owns the bytes of one direction of one
//! flow, delivered strictly in order. It hands the framer the *unconsumed*
//! bytes and the framer answers with one [`FrameStep`]. The reassembler then
//! drops `consumed` bytes from the front and calls again, until the framer
//! says [`FrameStep::Incomplete`]. Whole PDUs inside one segment are framed
//! straight out of the packet buffer (zero copy); only a PDU split across
//! segments is copied into the reassembler's bounded per-direction buffer.
//!
//! Progress guard: every step that is not `Incomplete` consumes at least one
//! byte, so a caller loop `while let step = framer.frame(buf) {..}` always
//! terminates. Implementations must uphold this; [`drive`] enforces it.

/// One answer from a framer looking at the unconsumed bytes of a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum FrameStep<'a, E> {
    /// `buf[..consumed]` holds one complete frame; `frame` is that frame
    /// (usually `&buf[..consumed]`, but a framer may trim envelopes).
    Frame {
        /// The framed bytes, borrowed from the caller's buffer.
        frame: &'a [u8],
        /// How many bytes to drop from the front of the buffer (≥ 1).
        consumed: usize,
    },
    /// Not enough bytes yet; at least `needed` more are required (≥ 1).
    Incomplete {
        /// Lower bound on the number of additional bytes needed.
        needed: usize,
    },
    /// `buf[..consumed]` cannot start a frame (garbage, bad checksum, after a
    /// gap): drop it and report `error`. `consumed` ≥ 1.
    Discard {
        /// How many bytes to drop (≥ 1).
        consumed: usize,
        /// Why they were dropped.
        error: E,
    },
}

/// A sans-IO framer for one direction of a byte stream.
pub trait StreamFramer {
    /// The error reported with [`FrameStep::Discard`].
    type Error: Copy + core::fmt::Debug;

    /// Look at the unconsumed bytes `buf` and frame the next unit.
    /// Must never allocate, panic or do I/O.
    fn frame<'a>(&mut self, buf: &'a [u8]) -> FrameStep<'a, Self::Error>;

    /// Tell the framer that bytes were lost before the next `buf` (a TCP gap);
    /// it must resynchronise (probe or scan for sync bytes) instead of
    /// trusting the next length field blindly.
    fn gap(&mut self);
}

/// Why [`drive`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriveEnd {
    /// The framer needs at least this many more bytes.
    Incomplete(usize),
    /// The framer broke the progress contract (consumed 0 or more than the
    /// buffer): the rest of the buffer was abandoned.
    Stalled,
}

/// Run `framer` over `buf` until it needs more bytes, calling `on_frame` for
/// each frame and `on_discard` for each discarded run. Returns the number of
/// bytes consumed and why it stopped. Never loops forever.
pub fn drive<'a, F: StreamFramer>(
    framer: &mut F,
    buf: &'a [u8],
    mut on_frame: impl FnMut(&'a [u8]),
    mut on_discard: impl FnMut(usize, F::Error),
) -> (usize, DriveEnd) {
    let mut off = 0usize;
    loop {
        let rest = &buf[off..];
        if rest.is_empty() {
            return (off, DriveEnd::Incomplete(1));
        }
        match framer.frame(rest) {
            FrameStep::Frame { frame, consumed } if consumed >= 1 && consumed <= rest.len() => {
                on_frame(frame);
                off += consumed;
            }
            FrameStep::Discard { consumed, error } if consumed >= 1 && consumed <= rest.len() => {
                on_discard(consumed, error);
                off += consumed;
            }
            FrameStep::Incomplete { needed } => return (off, DriveEnd::Incomplete(needed.max(1))),
            _ => return (buf.len(), DriveEnd::Stalled),
        }
    }
}
