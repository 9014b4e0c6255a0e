//! Lazy iterators over the variable-length record lists of File Record
//! (FC 20/21) and Read Device Identification (FC 43/14) PDUs.
//!
//! The parser validates a list in one pass and stores only the prefix made of
//! whole records, so these iterators never see a truncated record; they still
//! use checked access and stop (rather than panic) on anything unexpected.

use super::values::Registers;
use core::iter::FusedIterator;

/// Length of one Read File Record sub-request (§6.14).
pub(crate) const READ_SUB_REQUEST_LEN: usize = 7;
/// Header of one Write File Record sub-request: ref, file, record, length.
pub(crate) const WRITE_SUB_HEADER_LEN: usize = 7;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

/// One Read File Record sub-request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSubRequest {
    /// Reference type (must be 6).
    pub reference_type: u8,
    /// File number (1..=0xFFFF).
    pub file_number: u16,
    /// Starting record number (0..=0x270F).
    pub record_number: u16,
    /// Number of 16-bit registers to read.
    pub record_length: u16,
}

/// The sub-requests of a Read File Record request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileSubRequests<'a> {
    pub(crate) bytes: &'a [u8],
}

impl<'a> FileSubRequests<'a> {
    /// Number of whole sub-requests.
    #[must_use]
    pub fn len(&self) -> usize {
        self.bytes.len() / READ_SUB_REQUEST_LEN
    }
    /// True when there is none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Iterate lazily.
    #[must_use]
    pub fn iter(&self) -> FileSubRequestIter<'a> {
        FileSubRequestIter { chunks: self.bytes.chunks_exact(READ_SUB_REQUEST_LEN) }
    }
}

impl<'a> IntoIterator for FileSubRequests<'a> {
    type Item = FileSubRequest;
    type IntoIter = FileSubRequestIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over [`FileSubRequests`].
#[derive(Debug, Clone)]
pub struct FileSubRequestIter<'a> {
    chunks: core::slice::ChunksExact<'a, u8>,
}

impl Iterator for FileSubRequestIter<'_> {
    type Item = FileSubRequest;
    fn next(&mut self) -> Option<FileSubRequest> {
        let c = self.chunks.next()?;
        Some(FileSubRequest {
            reference_type: *c.first()?,
            file_number: be16(c, 1)?,
            record_number: be16(c, 3)?,
            record_length: be16(c, 5)?,
        })
    }
}
impl FusedIterator for FileSubRequestIter<'_> {}

/// One sub-response of a Read File Record response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileRecordData<'a> {
    /// Reference type (must be 6).
    pub reference_type: u8,
    /// The record's registers.
    pub values: Registers<'a>,
}

/// The sub-responses of a Read File Record response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileRecordReads<'a> {
    pub(crate) bytes: &'a [u8],
}

impl<'a> FileRecordReads<'a> {
    /// Iterate lazily.
    #[must_use]
    pub fn iter(&self) -> FileRecordReadIter<'a> {
        FileRecordReadIter { rest: self.bytes }
    }
}

impl<'a> IntoIterator for FileRecordReads<'a> {
    type Item = FileRecordData<'a>;
    type IntoIter = FileRecordReadIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over [`FileRecordReads`].
#[derive(Debug, Clone)]
pub struct FileRecordReadIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for FileRecordReadIter<'a> {
    type Item = FileRecordData<'a>;
    fn next(&mut self) -> Option<FileRecordData<'a>> {
        let (&len, after) = self.rest.split_first()?;
        let Some(body) = after.get(..usize::from(len)) else {
            self.rest = &[];
            return None;
        };
        self.rest = &after[body.len()..];
        let (&reference_type, data) = body.split_first()?;
        Some(FileRecordData { reference_type, values: Registers::new(data) })
    }
}
impl FusedIterator for FileRecordReadIter<'_> {}

/// Walk Read File Record sub-responses; returns the byte length of the whole
/// ones, whether every reference type was 6, and whether some record has
/// an odd number of data bytes.
pub(crate) fn validate_record_reads(bytes: &[u8]) -> (usize, bool, bool) {
    let mut at = 0usize;
    let mut ref_ok = true;
    let mut uneven = false;
    while let Some(&len) = bytes.get(at) {
        let end = at + 1 + usize::from(len);
        if end > bytes.len() || len == 0 {
            break;
        }
        ref_ok &= bytes[at + 1] == crate::limits::modbus::FILE_RECORD_REFERENCE_TYPE;
        uneven |= len % 2 == 0; // reference byte + whole registers ⇒ odd length
        at = end;
    }
    (at, ref_ok, uneven)
}

/// One sub-request of a Write File Record request (echoed in the response).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileRecordWrite<'a> {
    /// Reference type (must be 6).
    pub reference_type: u8,
    /// File number.
    pub file_number: u16,
    /// Starting record number.
    pub record_number: u16,
    /// The registers written.
    pub values: Registers<'a>,
}

/// The sub-requests of a Write File Record request or response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileRecordWrites<'a> {
    pub(crate) bytes: &'a [u8],
}

impl<'a> FileRecordWrites<'a> {
    /// Iterate lazily.
    #[must_use]
    pub fn iter(&self) -> FileRecordWriteIter<'a> {
        FileRecordWriteIter { rest: self.bytes }
    }
}

impl<'a> IntoIterator for FileRecordWrites<'a> {
    type Item = FileRecordWrite<'a>;
    type IntoIter = FileRecordWriteIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over [`FileRecordWrites`].
#[derive(Debug, Clone)]
pub struct FileRecordWriteIter<'a> {
    rest: &'a [u8],
}

fn write_record_len(b: &[u8]) -> Option<usize> {
    let regs = usize::from(be16(b, 5)?);
    let total = WRITE_SUB_HEADER_LEN + regs * 2;
    (total <= b.len()).then_some(total)
}

impl<'a> Iterator for FileRecordWriteIter<'a> {
    type Item = FileRecordWrite<'a>;
    fn next(&mut self) -> Option<FileRecordWrite<'a>> {
        let Some(total) = write_record_len(self.rest) else {
            self.rest = &[];
            return None;
        };
        let (rec, rest) = self.rest.split_at(total);
        self.rest = rest;
        Some(FileRecordWrite {
            reference_type: *rec.first()?,
            file_number: be16(rec, 1)?,
            record_number: be16(rec, 3)?,
            values: Registers::new(rec.get(WRITE_SUB_HEADER_LEN..)?),
        })
    }
}
impl FusedIterator for FileRecordWriteIter<'_> {}

/// Walk Write File Record sub-requests; returns the byte length of the whole
/// ones, whether every reference type was 6, and whether some record has
/// an odd number of data bytes.and record number in range.
pub(crate) fn validate_record_writes(bytes: &[u8]) -> (usize, bool) {
    let mut at = 0usize;
    let mut ok = true;
    while let Some(total) = bytes.get(at..).and_then(write_record_len) {
        let rec = &bytes[at..at + total];
        ok &= rec[0] == crate::limits::modbus::FILE_RECORD_REFERENCE_TYPE
            && be16(rec, 3).is_some_and(|r| r <= crate::limits::modbus::MAX_FILE_RECORD_NUMBER);
        at += total;
    }
    (at, ok)
}

/// One Read Device Identification object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceIdObject<'a> {
    /// Object id (0x00 VendorName, 0x01 ProductCode, 0x02 MajorMinorRevision,
    /// 0x03 VendorUrl, 0x04 ProductName, 0x05 ModelName,
    /// 0x06 UserApplicationName, 0x80.. private).
    pub id: u8,
    /// The object's value (ASCII for the standard objects, not checked).
    pub value: &'a [u8],
}

/// The objects of a Read Device Identification response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeviceIdObjects<'a> {
    pub(crate) bytes: &'a [u8],
}

impl<'a> DeviceIdObjects<'a> {
    /// Iterate lazily.
    #[must_use]
    pub fn iter(&self) -> DeviceIdObjectIter<'a> {
        DeviceIdObjectIter { rest: self.bytes }
    }
}

impl<'a> IntoIterator for DeviceIdObjects<'a> {
    type Item = DeviceIdObject<'a>;
    type IntoIter = DeviceIdObjectIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over [`DeviceIdObjects`].
#[derive(Debug, Clone)]
pub struct DeviceIdObjectIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for DeviceIdObjectIter<'a> {
    type Item = DeviceIdObject<'a>;
    fn next(&mut self) -> Option<DeviceIdObject<'a>> {
        let (&id, after) = self.rest.split_first()?;
        let Some((&len, after)) = after.split_first() else {
            self.rest = &[];
            return None;
        };
        let Some(value) = after.get(..usize::from(len)) else {
            self.rest = &[];
            return None;
        };
        self.rest = &after[value.len()..];
        Some(DeviceIdObject { id, value })
    }
}
impl FusedIterator for DeviceIdObjectIter<'_> {}

/// Walk at most `count` objects; returns the byte length of the whole ones
/// and how many there were.
pub(crate) fn validate_device_objects(bytes: &[u8], count: u8) -> (usize, u8) {
    let mut at = 0usize;
    let mut n = 0u8;
    while n < count {
        let Some(&len) = bytes.get(at + 1) else { break };
        let end = at + 2 + usize::from(len);
        if end > bytes.len() {
            break;
        }
        at = end;
        n += 1;
    }
    (at, n)
}
