//! Every hard limit of the decoders, in one place. `ARCHITECTURE.md`'s limits
//! table lists (and must agree with) these constants. Protocol modules refer
//! to them by name; no magic numbers in parsers.

/// Modbus limits (Modbus Application Protocol Specification V1.1b3).
pub mod modbus {
    /// MBAP header length: transaction id (2), protocol id (2), length (2),
    /// unit id (1) (Modbus Messaging on TCP/IP Implementation Guide V1.0b §3.1.3).
    pub const MBAP_HEADER_LEN: usize = 7;
    /// Smallest MBAP length field: unit id + function code.
    pub const MBAP_MIN_LENGTH: u16 = 2;
    /// Largest MBAP length field: unit id + 253-byte PDU (ADU ≤ 260 bytes).
    pub const MBAP_MAX_LENGTH: u16 = 254;
    /// Largest PDU: 256-byte serial ADU − address − CRC (§4.1).
    pub const MAX_PDU_LEN: usize = 253;
    /// Largest MBAP ADU (§4.1: 260 bytes).
    pub const MAX_MBAP_ADU_LEN: usize = MBAP_HEADER_LEN - 1 + MBAP_MAX_LENGTH as usize;
    /// Largest RTU ADU: address (1) + PDU (253) + CRC (2) (Modbus over Serial
    /// Line V1.02 §2.5.1.1).
    pub const MAX_RTU_ADU_LEN: usize = 256;
    /// Smallest RTU ADU: address + function code + 2-byte CRC.
    pub const MIN_RTU_ADU_LEN: usize = 4;
    /// Highest individual RTU server address (0 = broadcast, 248–255 reserved).
    pub const MAX_RTU_UNIT_ADDRESS: u8 = 247;
    /// Read Coils / Discrete Inputs quantity (§6.1, §6.2: 1..=0x7D0).
    pub const MAX_READ_BITS: u16 = 2000;
    /// Read Holding / Input Registers quantity (§6.3, §6.4: 1..=0x7D).
    pub const MAX_READ_REGISTERS: u16 = 125;
    /// Write Multiple Coils quantity (§6.11: 1..=0x7B0).
    pub const MAX_WRITE_BITS: u16 = 1968;
    /// Write Multiple Registers quantity (§6.12: 1..=0x7B).
    pub const MAX_WRITE_REGISTERS: u16 = 123;
    /// Read/Write Multiple Registers: read quantity (§6.17: 1..=0x7D).
    pub const MAX_RW_READ_REGISTERS: u16 = 125;
    /// Read/Write Multiple Registers: write quantity (§6.17: 1..=0x79).
    pub const MAX_RW_WRITE_REGISTERS: u16 = 121;
    /// Read FIFO Queue: FIFO count (§6.18: ≤ 31).
    pub const MAX_FIFO_COUNT: u16 = 31;
    /// Read/Write File Record sub-request byte count bounds (§6.14, §6.15).
    pub const FILE_RECORD_READ_BYTE_COUNT: core::ops::RangeInclusive<u8> = 0x07..=0xF5;
    /// Write File Record request byte count bounds (§6.15).
    pub const FILE_RECORD_WRITE_BYTE_COUNT: core::ops::RangeInclusive<u8> = 0x09..=0xFB;
    /// File record reference type (§6.14: must be 6).
    pub const FILE_RECORD_REFERENCE_TYPE: u8 = 6;
    /// Highest file record number (§6.14: 0x0000..=0x270F).
    pub const MAX_FILE_RECORD_NUMBER: u16 = 0x270F;
    /// Resync probe window of the MBAP stream framer: after a gap it scans at
    /// most this many bytes per call for a plausible header before discarding
    /// them (bounded work per call).
    pub const MBAP_RESYNC_WINDOW: usize = 4096;
    /// Resync window of the RTU stream framer: offsets examined per call
    /// while sliding to the next CRC-valid frame (each may cost a CRC scan
    /// of up to [`MAX_RTU_ADU_LEN`] bytes, so this bounds the work per call).
    pub const RTU_RESYNC_WINDOW: usize = 512;
}

/// DNP3 limits (IEEE 1815-2012).
pub mod dnp3 {
    /// Largest link-layer `LENGTH` field value (IEEE 1815-2012 §9.2.4.1.2:
    /// one octet, counting control, destination, source and user data).
    pub const LINK_MAX_LENGTH: u8 = 255;
    /// Smallest legal link-layer `LENGTH` (§9.2.4.1.2: control + addresses).
    pub const LINK_MIN_LENGTH: u8 = 5;
    /// Largest link-layer user data (§9.2.4.1.2: 255 − 5 = 250 octets).
    pub const LINK_MAX_USER_DATA: usize = 250;
    /// Largest link frame on the wire: 10-octet header + 250 data octets +
    /// 16 block CRCs of 2 octets (§9.2.4.1.3).
    pub const LINK_MAX_FRAME: usize = 292;
    /// Data octets per CRC-protected block (§9.2.4.1.3).
    pub const LINK_BLOCK: usize = 16;
    /// Default capacity of a transport reassembly buffer: the usual maximum
    /// application fragment size (§4.2.2.4: 2048 octets recommended).
    pub const TRANSPORT_BUFFER_DEFAULT: usize = 2048;
    /// Hard ceiling for a configured transport buffer (a fragment length
    /// ceiling of 64 KiB; constructing larger is clamped).
    pub const TRANSPORT_BUFFER_MAX: usize = 65_536;
    /// Most object headers validated in one application fragment; a
    /// fragment with more is flagged `too_many_objects` and stops there.
    /// (A 2048-octet fragment holds at most 682 three-octet headers.)
    pub const APP_MAX_OBJECT_HEADERS: usize = 1024;
}

/// DNS limits (RFC 1035, RFC 6891).
pub mod dns {
    /// Longest domain name in wire form, length octets and the root octet
    /// included (RFC 1035 §2.3.4 and §3.1: "255 octets or less"). Labels past
    /// it are not yielded; the name is flagged `name_too_long`.
    pub const MAX_NAME_WIRE_LEN: usize = 255;
    /// Most labels in a name (255 octets hold at most 127 one-octet labels
    /// plus the root, RFC 1035 §3.1). Past it: flag `name_too_many_labels`.
    pub const MAX_LABELS: usize = 127;
    /// Longest label (RFC 1035 §2.3.4: "63 octets or less"; the 6-bit length
    /// field cannot say more).
    pub const MAX_LABEL_LEN: usize = 63;
    /// Compression pointers followed in one name (RFC 1035 §4.1.4). A real
    /// encoder needs at most one per label; every pointer must also point
    /// strictly before the name segment that holds it, so the work per name
    /// is bounded by `MAX_NAME_WIRE_LEN + 2 * MAX_POINTERS` octets.
    pub const MAX_POINTERS: usize = 127;
    /// Largest DNS message: what the two-octet TCP length prefix can say
    /// (RFC 1035 §4.2.2); also above the largest UDP payload (65 507).
    pub const MAX_MESSAGE_LEN: usize = 65_535;
    /// DNS-over-TCP resynchronisation after a gap: the question count a
    /// probed header must announce (RFC 9619: QDCOUNT is 1 in practice; a
    /// header with another count is not trusted as a message boundary).
    pub const RESYNC_QDCOUNT: u16 = 1;
}
