//! # centinela (sensor library)
//!
//! The sensor's pipeline: capture → decode → flow → app-layer → detect →
//! event → spool → forwarder. The `centinela` binary is glue over this
//! library. See `ARCHITECTURE.md` at the repository root.
