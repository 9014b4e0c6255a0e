//! The batch protocol between a sensor's forwarder and `centinela-collector`.
//!
//! ```text
//! POST /api/v1/batches HTTP/1.1
//! Content-Type: application/x-ndjson
//! Content-Encoding: gzip
//! X-Centinela-Sensor: <sensor id>          (must match the client certificate CN / token owner)
//! X-Centinela-Batch-Seq: <u64>             (strictly increasing per sensor; a new spool starts at the
//!                                           wall-clock time in µs, so a wiped spool never reuses a seq)
//! X-Centinela-Batch-Count: <records in the body>
//! Authorization: Bearer <token>            (optional, when tokens are configured)
//!
//! <one EVE JSON object per line>
//! ```
//!
//! The collector answers `200` with a [`BatchAck`] only after the batch is
//! durably committed; a batch whose `(sensor, seq)` it has already committed
//! gets `200` with `duplicate: true` and is not stored again. Any malformed
//! line rejects the whole batch with `400` and an [`ApiError`]; nothing of it
//! is stored.

use serde::{Deserialize, Serialize};

/// Path of the ingest endpoint.
pub const BATCHES_PATH: &str = "/api/v1/batches";
/// Path of the event query endpoint.
pub const EVENTS_PATH: &str = "/api/v1/events";
/// Path of the sensor status endpoint.
pub const SENSORS_PATH: &str = "/api/v1/sensors";
/// Header naming the sending sensor.
pub const HDR_SENSOR: &str = "x-centinela-sensor";
/// Header carrying the batch sequence number.
pub const HDR_SEQ: &str = "x-centinela-batch-seq";
/// Header carrying the number of records in the batch.
pub const HDR_COUNT: &str = "x-centinela-batch-count";
/// Content type of a batch body (before gzip).
pub const CONTENT_TYPE: &str = "application/x-ndjson";

/// The collector's answer to an accepted batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchAck {
    /// The sensor, as authenticated.
    pub sensor: String,
    /// The batch sequence acknowledged.
    pub seq: u64,
    /// Records stored from this batch (0 for a duplicate).
    pub stored: u64,
    /// True when this `(sensor, seq)` was already committed earlier.
    pub duplicate: bool,
}

/// The collector's answer to a rejected request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable machine-readable code (`malformed_json`, `body_too_large`, …).
    pub error: String,
    /// Human-readable detail (line number, limit, fix).
    pub detail: String,
}
