//! The ledger: acknowledged position, batch sequence and the in-flight batch.
//!
//! Format version 2: the file `ledger` is [`LEDGER_FILE_BYTES`] long and holds
//! two slots of [`SLOT_STRIDE`] bytes. Each update writes the *older* slot in
//! place with a generation one higher than the newer one, then `fdatasync`s
//! the file; loading takes the valid slot (magic and CRC) with the highest
//! generation. A crash mid-write leaves at worst a torn slot that fails its
//! CRC, and the other slot holds the previous state, so the ledger is always
//! either the old or the new version. The file never changes size after it is
//! created, so an update is one data-block write and one `fdatasync` (no
//! rename, no directory fsync, no journal commit): about 4× faster than the
//! version-1 scheme (write `ledger.tmp`, fsync, rename, fsync the directory),
//! which is still used once to create the file, and to upgrade a version-1
//! ledger (a single 84-byte record with magic `CNTLLDG1`) on open.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Magic of a version-1 ledger file (one record, replaced by rename).
const LEDGER_MAGIC_V1: &[u8; 8] = b"CNTLLDG1";
/// Size of a version-1 ledger file: magic + 9 × u64 + crc32c.
pub(crate) const LEDGER_BYTES_V1: usize = 8 + 9 * 8 + 4;
/// Magic of a version-2 slot.
const SLOT_MAGIC: &[u8; 8] = b"CNTLLDG2";
/// Bytes of a slot's record: magic + generation + 9 × u64 + crc32c.
pub(crate) const SLOT_BYTES: usize = 8 + 8 + 9 * 8 + 4;
/// Distance between the two slots in the file.
pub(crate) const SLOT_STRIDE: usize = 128;
/// Size of a version-2 ledger file.
pub(crate) const LEDGER_FILE_BYTES: usize = 2 * SLOT_STRIDE;
/// File names inside the spool directory.
pub(crate) const LEDGER_FILE: &str = "ledger";
const LEDGER_TMP: &str = "ledger.tmp";

/// A position in the spool: segment id and byte offset inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    /// Segment id.
    pub seg: u64,
    /// Byte offset in the segment file.
    pub off: u64,
}

/// A batch handed to the network but not yet acknowledged. Persisted before the
/// first send so that a retry after a restart resends exactly the same records
/// under the same sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inflight {
    /// Batch sequence number.
    pub seq: u64,
    /// Position just after the batch's last record (the batch starts at the ack position).
    pub end: Pos,
    /// Number of records in the batch.
    pub count: u64,
}

/// The durable state of the reader side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ledger {
    /// Every record before this position has been acknowledged (or dead-lettered).
    pub(crate) ack: Pos,
    /// Sequence number of the next new batch.
    pub(crate) next_seq: u64,
    /// The batch in flight, if any.
    pub(crate) inflight: Option<Inflight>,
    /// Records acknowledged since the spool was created.
    pub(crate) acked_total: u64,
}

impl Ledger {
    fn words(&self) -> [u64; 9] {
        let inf = self.inflight.unwrap_or(Inflight { seq: 0, end: Pos::default(), count: 0 });
        [
            self.ack.seg,
            self.ack.off,
            self.next_seq,
            u64::from(self.inflight.is_some()),
            inf.seq,
            inf.end.seg,
            inf.end.off,
            inf.count,
            self.acked_total,
        ]
    }

    fn from_words(w: impl Fn(usize) -> Option<u64>) -> Option<Ledger> {
        let inflight = match w(3)? {
            0 => None,
            1 => Some(Inflight { seq: w(4)?, end: Pos { seg: w(5)?, off: w(6)? }, count: w(7)? }),
            _ => return None,
        };
        Some(Ledger { ack: Pos { seg: w(0)?, off: w(1)? }, next_seq: w(2)?, inflight, acked_total: w(8)? })
    }

    /// The version-2 slot record for generation `generation`.
    pub(crate) fn encode_slot(&self, generation: u64) -> [u8; SLOT_BYTES] {
        let mut b = [0u8; SLOT_BYTES];
        b[..8].copy_from_slice(SLOT_MAGIC);
        b[8..16].copy_from_slice(&generation.to_le_bytes());
        for (i, w) in self.words().iter().enumerate() {
            b[16 + i * 8..24 + i * 8].copy_from_slice(&w.to_le_bytes());
        }
        let crc = crc32c::crc32c(&b[..SLOT_BYTES - 4]);
        b[SLOT_BYTES - 4..].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes one slot: `(ledger, generation)`, `None` if torn or empty.
    pub(crate) fn decode_slot(b: &[u8]) -> Option<(Ledger, u64)> {
        let b = b.get(..SLOT_BYTES)?;
        if b.get(..8)? != SLOT_MAGIC {
            return None;
        }
        let crc = u32::from_le_bytes(b.get(SLOT_BYTES - 4..)?.try_into().ok()?);
        if crc32c::crc32c(b.get(..SLOT_BYTES - 4)?) != crc {
            return None;
        }
        let u = |at: usize| -> Option<u64> { Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?)) };
        let generation = u(8)?;
        Some((Ledger::from_words(|i| u(16 + i * 8))?, generation))
    }

    /// Decodes a version-1 ledger file.
    pub(crate) fn decode_v1(b: &[u8]) -> Option<Ledger> {
        if b.len() != LEDGER_BYTES_V1 || b.get(..8)? != LEDGER_MAGIC_V1 {
            return None;
        }
        let crc = u32::from_le_bytes(b.get(LEDGER_BYTES_V1 - 4..)?.try_into().ok()?);
        if crc32c::crc32c(b.get(..LEDGER_BYTES_V1 - 4)?) != crc {
            return None;
        }
        Ledger::from_words(|i| Some(u64::from_le_bytes(b.get(8 + i * 8..16 + i * 8)?.try_into().ok()?)))
    }

    /// Encodes a version-1 ledger file (tests of the upgrade path).
    #[cfg(test)]
    pub(crate) fn encode_v1(&self) -> [u8; LEDGER_BYTES_V1] {
        let mut b = [0u8; LEDGER_BYTES_V1];
        b[..8].copy_from_slice(LEDGER_MAGIC_V1);
        for (i, w) in self.words().iter().enumerate() {
            b[8 + i * 8..16 + i * 8].copy_from_slice(&w.to_le_bytes());
        }
        let crc = crc32c::crc32c(&b[..LEDGER_BYTES_V1 - 4]);
        b[LEDGER_BYTES_V1 - 4..].copy_from_slice(&crc.to_le_bytes());
        b
    }
}

/// What [`LedgerFile::load`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Loaded {
    /// A version-2 file: the newest valid slot and its generation.
    V2(Ledger, u64),
    /// A version-1 file, to be rewritten as version 2.
    V1(Ledger),
}

/// The open version-2 ledger file.
#[derive(Debug)]
pub(crate) struct LedgerFile {
    file: File,
    /// Generation of the newest slot on disk.
    generation: u64,
}

fn corrupt(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "{}: ledger is corrupt (bad magic, size or CRC); the spool cannot know which records \
             were acknowledged: move the spool directory aside to start a new one",
            path.display()
        ),
    )
}

impl LedgerFile {
    /// Reads the ledger in `dir`; `None` when there is none yet.
    pub(crate) fn load(dir: &Path) -> io::Result<Option<Loaded>> {
        let path = dir.join(LEDGER_FILE);
        let b = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        if b.len() == LEDGER_BYTES_V1 {
            return Ledger::decode_v1(&b).map(|l| Some(Loaded::V1(l))).ok_or_else(|| corrupt(&path));
        }
        if b.len() != LEDGER_FILE_BYTES {
            return Err(corrupt(&path));
        }
        let newest = [0, SLOT_STRIDE]
            .iter()
            .filter_map(|&at| b.get(at..).and_then(Ledger::decode_slot))
            .max_by_key(|&(_, generation)| generation);
        newest.map(|(l, g)| Some(Loaded::V2(l, g))).ok_or_else(|| corrupt(&path))
    }

    /// Creates (or replaces, e.g. a version-1 file) the ledger file holding `l`,
    /// atomically: the whole file is written to `ledger.tmp`, fsync'd, renamed
    /// over `ledger`, and the directory fsync'd.
    pub(crate) fn create(dir: &Path, l: &Ledger, durable: bool) -> io::Result<LedgerFile> {
        let tmp = dir.join(LEDGER_TMP);
        let mut image = [0u8; LEDGER_FILE_BYTES];
        image[..SLOT_BYTES].copy_from_slice(&l.encode_slot(1));
        let mut f = File::create(&tmp)?;
        f.write_all(&image)?;
        if durable {
            f.sync_all()?;
        }
        drop(f);
        fs::rename(&tmp, dir.join(LEDGER_FILE))?;
        if durable {
            File::open(dir)?.sync_all()?;
        }
        LedgerFile::open(dir, 1)
    }

    /// Opens an existing version-2 file whose newest slot has `generation`.
    pub(crate) fn open(dir: &Path, generation: u64) -> io::Result<LedgerFile> {
        let file = OpenOptions::new().read(true).write(true).open(dir.join(LEDGER_FILE))?;
        Ok(LedgerFile { file, generation })
    }

    /// Durably replaces the ledger: the older slot is overwritten in place with
    /// the next generation, then (if `durable`) the file is `fdatasync`ed.
    pub(crate) fn store(&mut self, l: &Ledger, durable: bool) -> io::Result<()> {
        let generation = self.generation.saturating_add(1);
        let at = if generation % 2 == 1 { 0 } else { SLOT_STRIDE as u64 };
        self.file.write_all_at(&l.encode_slot(generation), at)?;
        if durable {
            self.file.sync_data()?;
        }
        self.generation = generation;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Ledger {
        Ledger {
            ack: Pos { seg: 3, off: 99 },
            next_seq: 17,
            inflight: Some(Inflight { seq: 17, end: Pos { seg: 4, off: 16 }, count: 5 }),
            acked_total: 1000,
        }
    }

    #[test]
    fn slot_round_trip_and_corruption() {
        let l = sample();
        let b = l.encode_slot(9);
        assert_eq!(Ledger::decode_slot(&b), Some((l, 9)));
        for i in 0..SLOT_BYTES {
            let mut c = b;
            c[i] ^= 0x40;
            assert_eq!(Ledger::decode_slot(&c), None, "flip at {i}");
        }
        assert_eq!(Ledger::decode_slot(&b[..SLOT_BYTES - 1]), None);
        assert_eq!(Ledger::decode_slot(&[0u8; SLOT_BYTES]), None);
    }

    #[test]
    fn alternating_slots_newest_wins_torn_newest_falls_back() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(LedgerFile::load(dir.path()).unwrap(), None);
        let mut l = sample();
        let mut f = LedgerFile::create(dir.path(), &l, true).unwrap();
        assert_eq!(LedgerFile::load(dir.path()).unwrap(), Some(Loaded::V2(l, 1)));
        let mut prev = l;
        for g in 2..6u64 {
            prev = l;
            l.next_seq += 1;
            l.acked_total += 10;
            f.store(&l, true).unwrap();
            assert_eq!(LedgerFile::load(dir.path()).unwrap(), Some(Loaded::V2(l, g)));
            assert_eq!(fs::metadata(dir.path().join(LEDGER_FILE)).unwrap().len(), LEDGER_FILE_BYTES as u64);
        }
        // Tear the newest slot (generation 5 is in slot 0): the previous state is loaded.
        let path = dir.path().join(LEDGER_FILE);
        let mut b = fs::read(&path).unwrap();
        b[20] ^= 0xff;
        fs::write(&path, &b).unwrap();
        assert_eq!(LedgerFile::load(dir.path()).unwrap(), Some(Loaded::V2(prev, 4)));
        // Both slots torn: refuse.
        b[SLOT_STRIDE + 20] ^= 0xff;
        fs::write(&path, &b).unwrap();
        let err = LedgerFile::load(dir.path()).unwrap_err();
        assert!(err.to_string().contains("ledger is corrupt"), "{err}");
        fs::write(&path, b"garbage").unwrap();
        assert!(LedgerFile::load(dir.path()).is_err());
    }

    #[test]
    fn version1_file_is_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let l = sample();
        let v1 = l.encode_v1();
        fs::write(dir.path().join(LEDGER_FILE), v1).unwrap();
        assert_eq!(LedgerFile::load(dir.path()).unwrap(), Some(Loaded::V1(l)));
        for i in 0..LEDGER_BYTES_V1 {
            let mut c = v1;
            c[i] ^= 0x40;
            assert_eq!(Ledger::decode_v1(&c), None, "flip at {i}");
        }
    }
}
