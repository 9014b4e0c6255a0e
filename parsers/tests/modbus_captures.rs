//! The project's Modbus captures decoded as the sensor will: each TCP
//! direction framed as a stream with `MbapFramer`, requests queued by
//! transaction id and matched with their responses. Checks the expectations
//! written in each case's README.
#![cfg(feature = "modbus")]
#![allow(clippy::unwrap_used)]

#[allow(clippy::unnested_or_patterns, clippy::collapsible_if)] // shared helper, not ours to restyle
mod common;

use centinela_parsers::modbus::{Adu, Direction, Error, Flags, Invalid, MbapFramer, RequestSummary};
use centinela_parsers::stream::{FrameStep, StreamFramer};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

#[derive(Debug, Default)]
struct Tally {
    /// Anomaly names per connection (client port), in stream order.
    anomalies: BTreeMap<u16, Vec<String>>,
    /// Responses matched to a request with no anomaly on either.
    good_transactions: usize,
}

fn decode(path: &Path) -> Tally {
    let mut t = Tally::default();
    let mut bufs: HashMap<(u16, bool), (MbapFramer, Vec<u8>)> = HashMap::new();
    let mut pending: HashMap<(u16, u16), (RequestSummary, bool)> = HashMap::new();
    for pkt in common::read_packets(path) {
        let Some(tr) = common::transport(&pkt) else { continue };
        if !tr.tcp || tr.payload.is_empty() {
            continue;
        }
        let (dir, port) = match (tr.src_port, tr.dst_port) {
            (_, 502) => (Direction::Request, tr.src_port),
            (502, _) => (Direction::Response, tr.dst_port),
            _ => continue,
        };
        let (framer, buf) =
            bufs.entry((port, dir == Direction::Request)).or_insert_with(|| (MbapFramer::new(), Vec::new()));
        buf.extend_from_slice(tr.payload);
        assert!(buf.len() <= 2 * 260, "buffered beyond the Modbus cap");
        loop {
            match framer.frame(buf) {
                FrameStep::Frame { frame, consumed } => {
                    let adu = Adu::parse(frame, dir).unwrap();
                    let mut flags = adu.flags;
                    match dir {
                        Direction::Request => {
                            if let Some(s) = adu.request_summary() {
                                pending.insert((port, s.transaction_id), (s, flags.is_empty()));
                            }
                        }
                        Direction::Response => match pending.remove(&(port, adu.transaction_id)) {
                            Some((req, req_ok)) => {
                                flags |= adu.check_response(&req);
                                if flags.is_empty() && req_ok {
                                    t.good_transactions += 1;
                                }
                            }
                            None => flags |= Flags::RESPONSE_MISMATCH,
                        },
                    }
                    if !flags.is_empty() {
                        t.anomalies
                            .entry(port)
                            .or_default()
                            .push(flags.names().collect::<Vec<_>>().join("+"));
                    }
                    buf.drain(..consumed);
                }
                FrameStep::Discard { consumed, error } => {
                    if let Error::Invalid(Invalid::MbapLength(l)) = error {
                        t.anomalies.entry(port).or_default().push(format!("mbap_length_{l}"));
                    }
                    buf.drain(..consumed);
                }
                FrameStep::Incomplete { .. } => break,
            }
        }
    }
    t
}

#[test]
fn modbus_malformed_case_matches_its_readme() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../pcaps/modbus-malformed/capture.pcap");
    if !path.exists() {
        eprintln!("pcaps/modbus-malformed not generated yet: skipped (NOT RUN)");
        return;
    }
    let t = decode(&path);
    eprintln!("{t:#?}");
    let mut conns = t.anomalies.values();
    // Connection 1: items (a)–(l), in order. Anomalies are per ADU, so an
    // item shows twice when the server's answer is anomalous too.
    let c1 = conns.next().unwrap();
    assert_eq!(
        c1,
        &[
            "invalid_protocol_id",                // (a) request, protocol id 1
            "invalid_protocol_id",                // (a) its response echoes it
            "mbap_length_1",                      // (b) unframeable: discarded
            "unknown_function+response_mismatch", // (b) the server's 0x80 reply answers nothing we framed
            "quantity_out_of_range",              // (c) quantity 0
            "quantity_out_of_range",              // (d) 126 registers
            "quantity_out_of_range",              // (e) 2001 coils
            "byte_count_mismatch",                // (f) byte count 6, 10 data bytes
            "byte_count_mismatch",                // (g) odd byte count
            "invalid_exception_code",             // (h) 0x11
            "invalid_exception_code",             // (i) 0x00
            "unknown_function",                   // (j) FC 0 request
            "unknown_function",                   // (j) its exception response (0x80)
            "byte_count_mismatch",                // (k) FC 16 byte count ≠ 2×quantity
            "response_mismatch",                  // (l) exception for another function
        ]
    );
    // Connection 2: unframeable length 0; connection 3: length 300.
    assert_eq!(conns.next().unwrap().first().map(String::as_str), Some("mbap_length_0"));
    assert_eq!(conns.next().unwrap().first().map(String::as_str), Some("mbap_length_300"));
    // 13 good transactions on connection 1, plus the one that follows the
    // unframeable ADU on connection 2, which the resync recovers.
    assert_eq!(t.good_transactions, 14);
}
