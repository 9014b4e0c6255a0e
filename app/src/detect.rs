//! Deciding a flow's application protocol: configured ports first, then
//! probing the first payload (Modbus MBAP/RTU, DNP3 sync + header CRC, DNS
//! header plausibility). The flow layer calls [`detect_protocol`] on the
//! first non-empty payloads of a new flow until it answers `Proto` or `None`
//! (at most [`PROBE_MAX_PACKETS`] payloads); the decision is then final.

use crate::{AppConfig, AppProto, Direction, L4};

/// Payloads the flow layer may offer to [`detect_protocol`] before giving up
/// on a flow that keeps answering [`Decision::NotYet`].
pub const PROBE_MAX_PACKETS: u32 = 4;

/// Confidence of a decision, in percent (100: configured port).
pub type Confidence = u8;

/// Confidence of a decision taken from the configured ports.
pub const CONFIDENCE_PORT: Confidence = 100;

/// Answer of [`detect_protocol`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The flow speaks this protocol, with this confidence (percent).
    Proto(AppProto, Confidence),
    /// Too few bytes to decide: offer the next payload.
    NotYet,
    /// The flow has no application protocol we decode.
    None,
}

/// What one protocol probe concluded about a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Probe {
    /// Looks like the protocol, with this confidence.
    Yes(Confidence),
    /// Not enough bytes to tell.
    NeedMore,
    /// Not this protocol.
    No,
}

type ProbeFn = fn(L4, Direction, &[u8]) -> Probe;

/// Decide the app protocol of a new flow. `payload` is the first non-empty
/// payload seen (either direction, `dir` says which).
pub fn detect_protocol(
    cfg: &AppConfig,
    l4: L4,
    client_port: u16,
    server_port: u16,
    dir: Direction,
    payload: &[u8],
) -> Decision {
    // Ports: the server port first, then the client port (a UDP flow picked
    // up on a response has the service port as its "client" port).
    for port in [server_port, client_port] {
        if let Some(p) = by_port(cfg, l4, port) {
            return Decision::Proto(p, CONFIDENCE_PORT);
        }
    }
    if !cfg.probe {
        return Decision::None;
    }
    let mut need_more = false;
    let mut best: Option<(AppProto, Confidence)> = None;
    let probes: [(AppProto, bool, ProbeFn); 3] = [
        (AppProto::Dnp3, cfg.dnp3.enabled, crate::dnp3::probe),
        (AppProto::Modbus, cfg.modbus.enabled, crate::modbus::probe),
        (AppProto::Dns, cfg.dns.enabled, crate::dns::probe),
    ];
    for (proto, enabled, probe) in probes {
        if !enabled {
            continue;
        }
        match probe(l4, dir, payload) {
            Probe::Yes(c) if best.is_none_or(|(_, b)| c > b) => best = Some((proto, c)),
            Probe::Yes(_) | Probe::No => {}
            Probe::NeedMore => need_more = true,
        }
    }
    match best {
        Some((p, c)) => Decision::Proto(p, c),
        None if need_more => Decision::NotYet,
        None => Decision::None,
    }
}

/// The protocol configured on `port` for `l4`, if any. The flow layer uses it
/// to orient a flow picked up mid-session (no SYN seen): the side on a
/// configured port is the server, so requests are `ToServer` (the app layer
/// pairs Modbus by direction).
pub fn service_port(cfg: &AppConfig, l4: L4, port: u16) -> Option<AppProto> {
    by_port(cfg, l4, port)
}

fn by_port(cfg: &AppConfig, l4: L4, port: u16) -> Option<AppProto> {
    let pick = |tcp: &[u16], udp: &[u16]| match l4 {
        L4::Tcp => tcp.contains(&port),
        L4::Udp => udp.contains(&port),
    };
    if cfg.modbus.enabled && pick(&cfg.modbus.tcp_ports, &cfg.modbus.udp_ports) {
        Some(AppProto::Modbus)
    } else if cfg.dnp3.enabled && pick(&cfg.dnp3.tcp_ports, &cfg.dnp3.udp_ports) {
        Some(AppProto::Dnp3)
    } else if cfg.dns.enabled && pick(&cfg.dns.tcp_ports, &cfg.dns.udp_ports) {
        Some(AppProto::Dns)
    } else {
        None
    }
}
