//! `[app]` configuration section.
use serde::{Deserialize, Serialize};

/// Application-layer configuration (`[app]` in `centinela.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AppConfig {}
