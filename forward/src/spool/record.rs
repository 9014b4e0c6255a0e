//! Segment header and record framing (see the module doc of `spool` for the layout).

/// Magic at the start of every segment file.
pub(crate) const SEGMENT_MAGIC: &[u8; 8] = b"CNTLSPL1";
/// Bytes of the segment header: magic (8) + segment id (u64 LE).
pub(crate) const SEGMENT_HEADER: u64 = 16;
/// Bytes of a record header: len (u32) + crc32c (u32) + class (u8) + written_ms (u64).
pub(crate) const RECORD_HEADER: usize = 17;
/// Largest record payload accepted (1 MiB); larger submissions are dropped and counted.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// Record class: decides the drop order when the spool is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Protocol/flow/stats records: dropped first.
    Bulk,
    /// Alerts, anomalies, heartbeats: kept while the priority reserve lasts.
    Priority,
}

impl Class {
    pub(crate) fn byte(self) -> u8 {
        match self {
            Class::Bulk => 0,
            Class::Priority => 1,
        }
    }
}

/// Encodes the segment header for segment `id`.
pub(crate) fn segment_header(id: u64) -> [u8; SEGMENT_HEADER as usize] {
    let mut h = [0u8; SEGMENT_HEADER as usize];
    h[..8].copy_from_slice(SEGMENT_MAGIC);
    h[8..].copy_from_slice(&id.to_le_bytes());
    h
}

/// Checks a segment header; returns the segment id it names.
pub(crate) fn parse_segment_header(h: &[u8]) -> Option<u64> {
    let magic = h.get(..8)?;
    if magic != SEGMENT_MAGIC {
        return None;
    }
    let id: [u8; 8] = h.get(8..16)?.try_into().ok()?;
    Some(u64::from_le_bytes(id))
}

/// Encodes one record header for `payload`.
pub(crate) fn record_header(class: Class, written_ms: u64, payload: &[u8]) -> [u8; RECORD_HEADER] {
    let mut h = [0u8; RECORD_HEADER];
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    h[0..4].copy_from_slice(&len.to_le_bytes());
    h[8] = class.byte();
    h[9..17].copy_from_slice(&written_ms.to_le_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&h[8..17]), payload);
    h[4..8].copy_from_slice(&crc.to_le_bytes());
    h
}

/// A decoded record header (CRC not yet checked: it covers the payload).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    pub(crate) len: usize,
    pub(crate) crc: u32,
    pub(crate) class: Class,
    pub(crate) written_ms: u64,
}

/// Decodes a record header; `None` when it cannot be a valid header (bad class,
/// length over [`MAX_RECORD_BYTES`]).
pub(crate) fn parse_record_header(h: &[u8]) -> Option<Header> {
    let len = u32::from_le_bytes(h.get(0..4)?.try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(h.get(4..8)?.try_into().ok()?);
    let class = match h.get(8)? {
        0 => Class::Bulk,
        1 => Class::Priority,
        _ => return None,
    };
    let written_ms = u64::from_le_bytes(h.get(9..17)?.try_into().ok()?);
    if len > MAX_RECORD_BYTES {
        return None;
    }
    Some(Header { len, crc, class, written_ms })
}

/// Whether `payload` matches the header's CRC (which also covers class and time).
pub(crate) fn crc_ok(raw_header: &[u8], hdr: &Header, payload: &[u8]) -> bool {
    let Some(covered) = raw_header.get(8..RECORD_HEADER) else {
        return false;
    };
    crc32c::crc32c_append(crc32c::crc32c(covered), payload) == hdr.crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_crc() {
        let p = br#"{"event_type":"alert"}"#;
        let h = record_header(Class::Priority, 1234, p);
        let d = parse_record_header(&h).unwrap();
        assert_eq!(d.len, p.len());
        assert_eq!(d.class, Class::Priority);
        assert_eq!(d.written_ms, 1234);
        assert!(crc_ok(&h, &d, p));
        let mut bad = p.to_vec();
        bad[3] ^= 1;
        assert!(!crc_ok(&h, &d, &bad));
        let mut hb = h;
        hb[8] = 0; // class flipped: CRC covers it
        let d2 = parse_record_header(&hb).unwrap();
        assert!(!crc_ok(&hb, &d2, p));
    }

    #[test]
    fn impossible_headers_rejected() {
        let mut h = record_header(Class::Bulk, 0, b"x");
        h[8] = 7;
        assert!(parse_record_header(&h).is_none());
        let mut h = record_header(Class::Bulk, 0, b"x");
        h[0..4].copy_from_slice(&(MAX_RECORD_BYTES as u32 + 1).to_le_bytes());
        assert!(parse_record_header(&h).is_none());
        assert!(parse_record_header(&h[..5]).is_none());
        assert_eq!(parse_segment_header(&segment_header(9)), Some(9));
        assert_eq!(parse_segment_header(b"XXXXXXXX\0\0\0\0\0\0\0\0"), None);
    }
}
