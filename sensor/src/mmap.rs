//! Read-only memory maps of capture files: the replay reader parses records
//! straight out of the page cache instead of copying the file through
//! `read()` into a buffer first.
//!
//! Measured need (1 GiB ICS mix, one worker): with `read()` the reader
//! thread spent half its time in the kernel's page-cache copy
//! (`_copy_to_iter`) and used as much CPU per packet as the worker, on a
//! 2-core machine where both compete for the cores. The two `unsafe` calls
//! of the sensor's reader live here and nowhere else.
//!
//! Hazard, documented for operators: a file truncated by another process
//! *while* it is being replayed makes the next access to the lost pages
//! raise `SIGBUS`. Captures at rest are not changed under the sensor;
//! compressed files, pipes and other non-regular files are streamed
//! instead (see [`crate::source::open`]).

use std::fs::File;
use std::ops::Range;

/// A read-only, private memory map of a whole file.
#[derive(Debug)]
pub struct MappedFile {
    map: memmap2::Mmap,
}

impl MappedFile {
    /// Map `file` read-only. Fails for files that cannot be mapped (the
    /// caller streams those instead).
    pub fn new(file: &File) -> std::io::Result<Self> {
        #[allow(unsafe_code)]
        // SAFETY: `Mmap::map` is unsafe because the mapped bytes could change
        // under live references if the file were modified by another process
        // (or vanish, raising SIGBUS, if it were truncated). The mapping is
        // PROT_READ and MAP_PRIVATE: this process never writes to it, so the
        // only writer would be another process changing a capture file while
        // it is replayed, which the module documentation rules out for
        // replay inputs (plain files at rest). Everything read from the map
        // is treated as hostile bytes by the parsers anyway: changed bytes
        // can only change what is decoded, never memory safety of Rust code
        // reading a `&[u8]` whose length is fixed at map time.
        let map = unsafe { memmap2::Mmap::map(file)? };
        Ok(Self { map })
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Where `bytes` starts in the map, when it lies wholly inside it.
    pub fn offset_of(&self, bytes: &[u8]) -> Option<usize> {
        // Address arithmetic only: nothing is dereferenced.
        let off = (bytes.as_ptr() as usize).checked_sub(self.map.as_ptr() as usize)?;
        (off.checked_add(bytes.len())? <= self.map.len()).then_some(off)
    }

    /// Map the pages of `range` in one call (`MADV_POPULATE_READ`, Linux
    /// 5.14+) instead of one page fault per 64 KiB as the reader reaches
    /// them. Advice only: an older kernel refuses it and the pages fault in
    /// as before.
    fn populate(&self, range: Range<usize>) {
        let end = range.end.min(self.map.len());
        if range.start < end {
            let _ = self.map.advise_range(memmap2::Advice::PopulateRead, range.start, end - range.start);
        }
    }

    /// Give back the pages of `range` (page-aligned by the caller): they
    /// leave this process's resident set and stay in the page cache.
    /// Reading them again later is still correct, only slower (a page
    /// fault maps them back).
    fn release(&self, range: Range<usize>) -> bool {
        let end = range.end.min(self.map.len());
        if range.start >= end {
            return false;
        }
        #[allow(unsafe_code)]
        // SAFETY: `unchecked_advise_range(DontNeed)` is unsafe because on a
        // private mapping with modified (copy-on-write) pages it would throw
        // the modifications away, changing memory under live references.
        // This mapping is PROT_READ and never written, so it holds no private
        // pages: dropping the page-table entries only makes the next access
        // fault the same file bytes back in from the page cache. The range
        // lies inside the map (memmap2 checks it and aligns its start to the
        // page).
        let r = unsafe {
            self.map.unchecked_advise_range(
                memmap2::UncheckedAdvice::DontNeed,
                range.start,
                end - range.start,
            )
        };
        r.is_ok()
    }
}

/// The replay reader's window over a mapped file, moved forward after each
/// record: cache lines requested [`FETCH_AHEAD`] bytes ahead, pages
/// populated a [`STEP`] ahead, pages given back [`LAG`] behind. At most
/// about `2 * STEP + LAG` bytes of the file are resident in the process at
/// a time, however large the file.
#[derive(Debug)]
pub struct Window<'a> {
    file: &'a MappedFile,
    fetched: usize,
    next_step: usize,
    released: usize,
}

/// The reader asks for the cache lines this far ahead of it: it reads one
/// record header after another, each a cache miss the hardware prefetcher
/// does not predict (record lengths vary).
const FETCH_AHEAD: usize = 4 << 10;
/// Pages are populated and given back every this many bytes read.
pub const STEP: usize = 4 << 20;
/// Pages are given back this far behind the reader: batches in flight may
/// still point a little behind it (a released page read again is correct,
/// only slower).
const LAG: usize = 8 << 20;
/// Release granularity: 64 KiB, a multiple of the 4 KiB and 16 KiB and equal
/// to the 64 KiB page sizes Linux uses.
const PAGE: usize = 64 << 10;

impl<'a> Window<'a> {
    /// A window at the start of `file`.
    pub fn new(file: &'a MappedFile) -> Self {
        // Advice only: the kernel reads ahead more.
        let _ = file.map.advise(memmap2::Advice::Sequential);
        file.populate(0..2 * STEP);
        Self { file, fetched: 0, next_step: STEP, released: 0 }
    }

    /// The reader is at `pos`. Returns true when a step was taken (every
    /// [`STEP`] bytes: the moment to report progress).
    #[inline]
    pub fn advance(&mut self, pos: usize) -> bool {
        let bytes = self.file.bytes();
        let end = pos.saturating_add(FETCH_AHEAD).min(bytes.len());
        while self.fetched < end {
            crate::batch::prefetch_line(bytes.get(self.fetched..).unwrap_or_default());
            self.fetched += 64;
        }
        if pos < self.next_step {
            return false;
        }
        self.next_step = pos.saturating_add(STEP);
        self.file.populate(self.next_step..self.next_step.saturating_add(STEP));
        let behind = pos.saturating_sub(LAG) / PAGE * PAGE;
        if behind > self.released && self.file.release(self.released..behind) {
            self.released = behind;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn the_window_gives_pages_back_behind_the_reader_and_the_bytes_stay_readable() {
        let mut f = tempfile::NamedTempFile::new().expect("tempfile");
        let data: Vec<u8> = (0..3 * STEP + LAG + 123).map(|i| (i % 251) as u8).collect();
        f.write_all(&data).expect("write");
        let m = MappedFile::new(f.as_file()).expect("map");
        assert_eq!(m.bytes(), &data[..]);
        let mut w = Window::new(&m);
        assert!(!w.advance(10));
        assert_eq!((w.fetched, w.released), ((10 + FETCH_AHEAD).div_ceil(64) * 64, 0));
        assert!(w.advance(STEP + 10));
        assert_eq!(w.released, 0, "nothing is {LAG} bytes behind yet");
        assert!(!w.advance(STEP + 20), "one step per STEP bytes");
        assert!(w.advance(LAG + PAGE + 10));
        assert_eq!(w.released, PAGE);
        assert!(w.advance(data.len()));
        assert_eq!(w.released, (data.len() - LAG) / PAGE * PAGE);
        assert_eq!(w.fetched, data.len().div_ceil(64) * 64);
        // Released pages fault back in with the same bytes.
        assert_eq!(m.bytes(), &data[..]);
        assert_eq!(m.offset_of(&m.bytes()[5..9]), Some(5));
        assert_eq!(m.offset_of(&data[5..9]), None);
    }
}
