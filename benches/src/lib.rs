//! Shared helpers for the benchmarks: loading real PDUs out of the captures
//! under `pcaps/`.

pub mod dnp3;
pub mod dns;
pub mod modbus;
