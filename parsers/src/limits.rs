//! Every hard limit of the decoders, in one place. `ARCHITECTURE.md`'s limits
//! table is generated from (and must agree with) this file.
//!
//! Protocol modules add their constants here (one section per protocol) and
//! refer to them by name; no magic numbers in parsers.
