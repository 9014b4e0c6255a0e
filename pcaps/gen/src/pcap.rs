//! Classic libpcap file format (magic `a1b2c3d4`, microsecond timestamps, Ethernet).

/// Link type written in the global header: Ethernet.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// Snapshot length written in the global header.
pub const SNAPLEN: u32 = 65_535;
/// Size of the global header.
pub const GLOBAL_HEADER_LEN: usize = 24;
/// Size of each record header.
pub const RECORD_HEADER_LEN: usize = 16;

/// The 24-byte global header (little-endian, version 2.4).
pub fn global_header() -> [u8; GLOBAL_HEADER_LEN] {
    let mut h = [0u8; GLOBAL_HEADER_LEN];
    h[0..4].copy_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    h[4..6].copy_from_slice(&2u16.to_le_bytes());
    h[6..8].copy_from_slice(&4u16.to_le_bytes());
    // thiszone = 0, sigfigs = 0
    h[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
    h[20..24].copy_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
    h
}

/// Appends one record (header + frame) stamped `ts_us` microseconds since the Unix epoch.
/// Frames longer than [`SNAPLEN`] are truncated to it, with the original length kept.
pub fn push_record(out: &mut Vec<u8>, ts_us: u64, frame: &[u8]) {
    let secs = (ts_us / 1_000_000) as u32;
    let usecs = (ts_us % 1_000_000) as u32;
    let incl = frame.len().min(SNAPLEN as usize);
    out.extend_from_slice(&secs.to_le_bytes());
    out.extend_from_slice(&usecs.to_le_bytes());
    out.extend_from_slice(&(incl as u32).to_le_bytes());
    out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    out.extend_from_slice(&frame[..incl]);
}

/// One record read back by [`records`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Timestamp in microseconds since the Unix epoch.
    pub ts_us: u64,
    /// Captured bytes.
    pub data: &'a [u8],
}

/// Reads back a file written by this module (little-endian, microsecond). Returns `None`
/// on a bad magic or a truncated record. Used by tests and the `check` command.
pub fn records(file: &[u8]) -> Option<Vec<Record<'_>>> {
    let magic = file.get(0..4)?;
    if magic != 0xa1b2_c3d4u32.to_le_bytes() {
        return None;
    }
    let mut rest = file.get(GLOBAL_HEADER_LEN..)?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let hdr = rest.get(..RECORD_HEADER_LEN)?;
        let word =
            |i: usize| -> Option<u32> { Some(u32::from_le_bytes(hdr.get(i..i + 4)?.try_into().ok()?)) };
        let secs = u64::from(word(0)?);
        let usecs = u64::from(word(4)?);
        let incl = word(8)? as usize;
        let data = rest.get(RECORD_HEADER_LEN..RECORD_HEADER_LEN.checked_add(incl)?)?;
        out.push(Record { ts_us: secs * 1_000_000 + usecs, data });
        rest = &rest[RECORD_HEADER_LEN + incl..];
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_bytes() {
        assert_eq!(
            global_header(),
            [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0]
        );
    }

    #[test]
    fn round_trip() {
        let mut f = global_header().to_vec();
        push_record(&mut f, 1_767_225_600_123_456, &[1, 2, 3]);
        push_record(&mut f, 1_767_225_601_000_000, &[]);
        let recs = records(&f).expect("valid");
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].ts_us, 1_767_225_600_123_456);
        assert_eq!(recs[0].data, &[1, 2, 3]);
        assert_eq!(recs[1].data, &[] as &[u8]);
        assert!(records(&f[..f.len() - 1]).is_none());
        assert!(records(&f[..30]).is_none());
        assert!(records(&[0u8; 24]).is_none());
    }
}
