//! Application-layer emitters (public API, used by the parser crate's round-trip tests).

pub mod dnp3;
pub mod dns;
pub mod modbus;
