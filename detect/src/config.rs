//! `[detect]` configuration section.
use serde::{Deserialize, Serialize};

/// Detector configuration (`[detect]` in `centinela.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {}
