//! # centinela-parsers
//!
//! Pure, sans-IO decoders for the protocols Centinela watches. Nothing in this
//! crate performs I/O, reads a clock, allocates on the decode path or knows
//! about flows, serde or threads. See `ARCHITECTURE.md` at the repository root.
//!
//! Shape shared by every protocol module (after smoltcp's `wire`):
//! * a *view* over a byte buffer whose `check_len` validates every length
//!   field, after which accessors never panic;
//! * a *parse* step producing borrowed `Repr` values with **anomaly flags** on
//!   them (a framed but invalid PDU is still returned);
//! * a sans-IO stream *framer* for TCP implementing [`stream::StreamFramer`];
//! * a small `Copy` error enum per layer that keeps *incomplete* apart from
//!   *invalid*.
#![forbid(unsafe_code)]

pub mod limits;
pub mod stream;

#[cfg(feature = "modbus")]
pub mod modbus;

#[cfg(feature = "dnp3")]
pub mod dnp3;

#[cfg(feature = "dns")]
pub mod dns;
