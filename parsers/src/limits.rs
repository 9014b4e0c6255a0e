//! Every hard limit of the decoders, in one place. `ARCHITECTURE.md`'s limits
//! table lists (and must agree with) these constants. Protocol modules refer
//! to them by name; no magic numbers in parsers.

/// Modbus limits (Modbus Application Protocol Specification V1.1b3).
pub mod modbus {}

/// DNP3 limits (IEEE 1815-2012).
pub mod dnp3 {}

/// DNS limits (RFC 1035, RFC 6891).
pub mod dns {}
