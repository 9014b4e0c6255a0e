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
use std::sync::atomic::{AtomicUsize, Ordering};

/// A read-only, private memory map of a whole file.
#[derive(Debug)]
pub struct MappedFile {
    map: memmap2::Mmap,
    /// Bytes before this offset have been given back ([`Self::release_before`]).
    released: AtomicUsize,
}

impl MappedFile {
    /// Map `file` read-only. Fails for empty files and for files that cannot
    /// be mapped (the caller streams those instead).
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
        // Advice only: the kernel reads ahead more and drops pages behind.
        let _ = map.advise(memmap2::Advice::Sequential);
        Ok(Self { map, released: AtomicUsize::new(0) })
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

    /// Give back the pages wholly before `offset`: they leave this process's
    /// resident set (they stay in the page cache), so the resident part of
    /// the file stays a few tens of MiB however large the file is. Reading
    /// them again later is still correct, only slower (a page fault maps
    /// them back).
    pub fn release_before(&self, offset: usize) {
        let page = PAGE;
        let end = offset.min(self.map.len()) / page * page;
        let released = self.released.load(Ordering::Relaxed);
        if end <= released {
            return;
        }
        #[allow(unsafe_code)]
        // SAFETY: `unchecked_advise_range(DontNeed)` is unsafe because on a
        // private mapping with modified (copy-on-write) pages it would throw
        // the modifications away, changing memory under live references.
        // This mapping is PROT_READ and never written, so it holds no private
        // pages: dropping the page-table entries only makes the next access
        // fault the same file bytes back in from the page cache. The range
        // `released..end` is page-aligned (the map starts on a page boundary
        // and both ends are multiples of `PAGE`, a multiple of the page size
        // on every Linux target) and lies inside the map.
        let r = unsafe {
            self.map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, released, end - released)
        };
        if r.is_ok() {
            self.released.store(end, Ordering::Relaxed);
        }
    }
}

/// Release granularity: 64 KiB, a multiple of the 4 KiB and 16 KiB and equal
/// to the 64 KiB page sizes Linux uses.
const PAGE: usize = 64 << 10;

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn maps_a_file_and_releasing_pages_keeps_the_bytes_readable() {
        let mut f = tempfile::NamedTempFile::new().expect("tempfile");
        let data: Vec<u8> = (0..3 * PAGE + 123).map(|i| (i % 251) as u8).collect();
        f.write_all(&data).expect("write");
        let m = MappedFile::new(f.as_file()).expect("map");
        assert_eq!(m.bytes(), &data[..]);
        m.release_before(PAGE + 10);
        assert_eq!(m.released.load(Ordering::Relaxed), PAGE);
        m.release_before(10);
        assert_eq!(m.released.load(Ordering::Relaxed), PAGE, "never moves back");
        m.release_before(usize::MAX);
        assert_eq!(m.released.load(Ordering::Relaxed), 3 * PAGE, "the partial last page stays");
        // Released pages fault back in with the same bytes.
        assert_eq!(m.bytes(), &data[..]);
    }
}
