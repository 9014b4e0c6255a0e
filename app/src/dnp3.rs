//! DNP3 per-flow state (being written).
use crate::detect::Probe;
use crate::record::Sink;
use crate::{AppConfig, Direction, L4};

/// Points logged per `dnp3` record.
pub const DNP3_MAX_POINTS_PER_RECORD: usize = 1024;

#[derive(Debug)]
pub(crate) struct Dnp3State {}

pub(crate) fn probe(_l4: L4, _dir: Direction, _payload: &[u8]) -> Probe {
    Probe::No
}

impl Dnp3State {
    pub(crate) fn new(_l4: L4, _cfg: &AppConfig) -> Self {
        Self {}
    }
    pub(crate) fn memory(&self) -> usize {
        0
    }
    pub(crate) fn on_stream(&mut self, _dir: Direction, _data: &[u8], _sink: &mut Sink<'_>) {}
    pub(crate) fn on_gap(&mut self, _dir: Direction, _lost: u64, _sink: &mut Sink<'_>) {}
    pub(crate) fn on_datagram(&mut self, _dir: Direction, _payload: &[u8], _sink: &mut Sink<'_>) {}
    pub(crate) fn on_close(&mut self, _sink: &mut Sink<'_>) {}
}
