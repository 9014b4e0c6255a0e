//! The ledger: acknowledged position, batch sequence and the in-flight batch,
//! stored as one fixed-size checksummed record replaced atomically
//! (write `ledger.tmp`, fsync, rename over `ledger`, fsync the directory).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

/// Magic of the ledger record.
const LEDGER_MAGIC: &[u8; 8] = b"CNTLLDG1";
/// Size of the ledger record: magic + 9 × u64 + crc32c.
pub(crate) const LEDGER_BYTES: usize = 8 + 9 * 8 + 4;
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
    pub(crate) fn encode(&self) -> [u8; LEDGER_BYTES] {
        let mut b = [0u8; LEDGER_BYTES];
        b[..8].copy_from_slice(LEDGER_MAGIC);
        let inf = self.inflight.unwrap_or(Inflight { seq: 0, end: Pos::default(), count: 0 });
        let words = [
            self.ack.seg,
            self.ack.off,
            self.next_seq,
            u64::from(self.inflight.is_some()),
            inf.seq,
            inf.end.seg,
            inf.end.off,
            inf.count,
            self.acked_total,
        ];
        for (i, w) in words.iter().enumerate() {
            b[8 + i * 8..16 + i * 8].copy_from_slice(&w.to_le_bytes());
        }
        let crc = crc32c::crc32c(&b[..LEDGER_BYTES - 4]);
        b[LEDGER_BYTES - 4..].copy_from_slice(&crc.to_le_bytes());
        b
    }

    pub(crate) fn decode(b: &[u8]) -> Option<Ledger> {
        if b.len() != LEDGER_BYTES || b.get(..8)? != LEDGER_MAGIC {
            return None;
        }
        let crc = u32::from_le_bytes(b.get(LEDGER_BYTES - 4..)?.try_into().ok()?);
        if crc32c::crc32c(b.get(..LEDGER_BYTES - 4)?) != crc {
            return None;
        }
        let w = |i: usize| -> Option<u64> {
            Some(u64::from_le_bytes(b.get(8 + i * 8..16 + i * 8)?.try_into().ok()?))
        };
        let inflight = match w(3)? {
            0 => None,
            1 => Some(Inflight { seq: w(4)?, end: Pos { seg: w(5)?, off: w(6)? }, count: w(7)? }),
            _ => return None,
        };
        Some(Ledger { ack: Pos { seg: w(0)?, off: w(1)? }, next_seq: w(2)?, inflight, acked_total: w(8)? })
    }

    /// Loads the ledger; `Ok(None)` when there is none yet; an error when it is corrupt.
    pub(crate) fn load(dir: &Path) -> io::Result<Option<Ledger>> {
        let path = dir.join(LEDGER_FILE);
        match fs::read(&path) {
            Ok(b) => Ledger::decode(&b).map(Some).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{}: ledger is corrupt (bad magic, size or CRC); the spool cannot know which records \
                         were acknowledged: move the spool directory aside to start a new one",
                        path.display()
                    ),
                )
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Atomically replaces the ledger file; `durable` adds the fsyncs.
    pub(crate) fn store(&self, dir: &Path, durable: bool) -> io::Result<()> {
        let tmp = dir.join(LEDGER_TMP);
        let mut f = File::create(&tmp)?;
        f.write_all(&self.encode())?;
        if durable {
            f.sync_all()?;
        }
        drop(f);
        fs::rename(&tmp, dir.join(LEDGER_FILE))?;
        if durable {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption() {
        let l = Ledger {
            ack: Pos { seg: 3, off: 99 },
            next_seq: 17,
            inflight: Some(Inflight { seq: 17, end: Pos { seg: 4, off: 16 }, count: 5 }),
            acked_total: 1000,
        };
        let b = l.encode();
        assert_eq!(Ledger::decode(&b), Some(l));
        for i in 0..LEDGER_BYTES {
            let mut c = b;
            c[i] ^= 0x40;
            assert_eq!(Ledger::decode(&c), None, "flip at {i}");
        }
        assert_eq!(Ledger::decode(&b[..LEDGER_BYTES - 1]), None);
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Ledger::load(dir.path()).unwrap(), None);
        l.store(dir.path(), true).unwrap();
        assert_eq!(Ledger::load(dir.path()).unwrap(), Some(l));
        fs::write(dir.path().join(LEDGER_FILE), b"garbage").unwrap();
        let err = Ledger::load(dir.path()).unwrap_err();
        assert!(err.to_string().contains("ledger is corrupt"), "{err}");
    }
}
