//! Shared helpers for the benchmarks: loading real PDUs out of the captures
//! under `pcaps/`.

pub mod dns;
pub mod modbus;
