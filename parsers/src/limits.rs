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
pub mod dns {}
