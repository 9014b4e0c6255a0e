//! Every hard limit of the decoders, in one place. `ARCHITECTURE.md`'s limits
//! table lists (and must agree with) these constants. Protocol modules refer
//! to them by name; no magic numbers in parsers.

/// Modbus limits (Modbus Application Protocol Specification V1.1b3).
pub mod modbus {}

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
    /// DNS-over-TCP resynchronisation after a gap: the most questions a
    /// probed header may announce (RFC 9619: QDCOUNT is 0 or 1 for
    /// QUERY/NOTIFY/UPDATE in practice).
    pub const RESYNC_MAX_QDCOUNT: u16 = 1;
}
