//! Differential test against Wireshark's `tshark`: every Modbus/TCP frame in
//! `pcaps/` and `../shared/corpus` is decoded by us and by tshark (`mbtcp` and
//! `modbus` fields of `-T json`), field by field.
//!
//! Compared: MBAP transaction id, protocol id, length, unit id; function code,
//! exception code; reference numbers (addresses) and bit/word counts, FC 23
//! read/write ranges, byte counts; register values with their addresses
//! (responses get addresses from the matched request, as tshark does); coil
//! values with their addresses; FC 5/6/15/23 data bytes; FC 22 masks; FC 8
//! sub-function; FC 24 counts; FC 43/14 header and object ids.
//!
//! Per packet, without TCP reassembly on either side (tshark runs with
//! `tcp.desegment_tcp_streams:FALSE`). Frames where tshark reports an expert
//! info or a malformed packet inside `mbtcp`/`modbus` are counted apart and
//! not held to 100%; every other disagreement fails the test unless it is in
//! [`ALLOWLIST`].
#![cfg(feature = "modbus")]
#![allow(clippy::unwrap_used)]

#[allow(clippy::unnested_or_patterns, clippy::collapsible_if)] // shared helper, not ours to restyle
mod common;
mod modbus_support;

use centinela_parsers::modbus::{
    Adu, Direction, Flags, MbapFramer, ModbusFraming, PduBody, Request, RequestSummary, Response, Value,
    probe,
};
use centinela_parsers::stream::drive;
use serde_json::Value as J;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Disagreements where tshark is wrong: (file suffix, frame, field, why).
const ALLOWLIST: &[(&str, u64, &str, &str)] = &[];

fn s(v: &J) -> String {
    match v {
        J::String(x) => x.clone(),
        other => other.to_string(),
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(":")
}

/// The PDU bytes from `off` on, as tshark prints `modbus.data` when it
/// declines to decode a malformed body.
fn raw_after(adu: &Adu<'_>, off: usize) -> String {
    hex(adu.pdu.as_bytes().get(off..).unwrap_or_default())
}

/// Our decode flagged the body's length or byte count: compare raw bytes.
fn malformed(adu: &Adu<'_>) -> bool {
    adu.pdu.flags.intersects(Flags::INVALID_LENGTH | Flags::BYTE_COUNT_MISMATCH)
}

/// Items of a value that may be an object or an array of objects.
fn items(v: Option<&J>) -> Vec<&J> {
    match v {
        Some(J::Array(a)) => a.iter().collect(),
        Some(o @ J::Object(_)) => vec![o],
        _ => Vec::new(),
    }
}

/// `(number, value)` pairs from the "Register N …" / "Bit N : v" subtrees.
fn pairs(m: &J, prefix: &str, num: &str, val: &str) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    if let J::Object(map) = m {
        for (k, v) in map {
            if k.starts_with(prefix) {
                for it in items(Some(v)) {
                    let n = it.get(num).map(s).and_then(|x| x.parse().ok());
                    let x = it.get(val).map(s).and_then(|x| x.parse().ok());
                    if let (Some(n), Some(x)) = (n, x) {
                        out.push((n, x));
                    }
                }
            }
        }
    }
    out.sort_unstable();
    out
}

struct Ctx<'a> {
    agree: &'a mut common::Agreement,
    ctx: String,
    file: String,
    frame: u64,
    allowed: &'a mut u64,
}

impl Ctx<'_> {
    fn cmp(&mut self, field: &str, ours: impl Into<Option<String>>, theirs: Option<&J>) {
        let Some(theirs) = theirs.map(s) else { return };
        let ours = ours.into().unwrap_or_else(|| "<none>".into());
        if ours != theirs
            && let Some(a) =
                ALLOWLIST.iter().find(|a| self.file.ends_with(a.0) && a.1 == self.frame && a.2 == field)
        {
            let _why = a.3;
            *self.allowed += 1;
            return;
        }
        self.agree.check(field, ours, theirs, &self.ctx);
    }
}

fn compare_adu(
    c: &mut Ctx<'_>,
    adu: &Adu<'_>,
    raw: &[u8],
    matched: Option<&RequestSummary>,
    mb: &J,
    m: Option<&J>,
) {
    c.cmp("mbtcp.trans_id", adu.transaction_id.to_string(), mb.get("mbtcp.trans_id"));
    c.cmp("mbtcp.prot_id", adu.protocol_id.to_string(), mb.get("mbtcp.prot_id"));
    c.cmp("mbtcp.len", u16::from_be_bytes([raw[4], raw[5]]).to_string(), mb.get("mbtcp.len"));
    c.cmp("mbtcp.unit_id", adu.unit_id.to_string(), mb.get("mbtcp.unit_id"));
    let Some(m) = m else { return };
    let pdu = &adu.pdu;
    c.cmp("modbus.func_code", pdu.function.code().to_string(), m.get("modbus.func_code"));
    c.cmp(
        "modbus.exception_code",
        pdu.exception_code().map(|e| e.code().to_string()),
        m.get("modbus.exception_code"),
    );
    let g = |k: &str| m.get(k);
    match pdu.body {
        PduBody::Request(r) => match r {
            Request::ReadBits { address, quantity } => {
                c.cmp("modbus.reference_num", address.to_string(), g("modbus.reference_num"));
                c.cmp("modbus.bit_cnt", quantity.to_string(), g("modbus.bit_cnt"));
            }
            Request::ReadRegisters { address, quantity } => {
                c.cmp("modbus.reference_num", address.to_string(), g("modbus.reference_num"));
                c.cmp("modbus.word_cnt", quantity.to_string(), g("modbus.word_cnt"));
            }
            Request::WriteSingleCoil { address, value } | Request::WriteSingleRegister { address, value } => {
                c.cmp("modbus.reference_num", address.to_string(), g("modbus.reference_num"));
                let data = if malformed(adu) { raw_after(adu, 3) } else { hex(&value.to_be_bytes()) };
                c.cmp("modbus.data", data, g("modbus.data"));
            }
            Request::Diagnostics { sub_function, .. } => {
                c.cmp("modbus.diagnostic_code", sub_function.code().to_string(), g("modbus.diagnostic_code"));
            }
            Request::WriteMultipleCoils { address, quantity, byte_count, values } => {
                c.cmp("modbus.reference_num", address.to_string(), g("modbus.reference_num"));
                c.cmp("modbus.bit_cnt", quantity.to_string(), g("modbus.bit_cnt"));
                c.cmp("modbus.byte_cnt", byte_count.to_string(), g("modbus.byte_cnt"));
                let data = if malformed(adu) { raw_after(adu, 6) } else { hex(values.as_bytes()) };
                c.cmp("modbus.data", data, g("modbus.data"));
            }
            Request::WriteMultipleRegisters { address, quantity, byte_count, .. } => {
                c.cmp("modbus.reference_num", address.to_string(), g("modbus.reference_num"));
                c.cmp("modbus.word_cnt", quantity.to_string(), g("modbus.word_cnt"));
                c.cmp("modbus.byte_cnt", byte_count.to_string(), g("modbus.byte_cnt"));
                let ours: Vec<(u64, u64)> = pdu
                    .written_values()
                    .into_iter()
                    .flatten()
                    .filter_map(|(a, v)| match v {
                        Value::Register(x) => Some((u64::from(a), u64::from(x))),
                        Value::Bit(_) => None,
                    })
                    .collect();
                let theirs = pairs(m, "Register ", "modbus.regnum16", "modbus.regval_uint16");
                if malformed(adu) && theirs.is_empty() && g("modbus.data").is_some() {
                    c.cmp("modbus.data", raw_after(adu, 6), g("modbus.data"));
                } else {
                    c.cmp(
                        "register (addr,value)",
                        format!("{ours:?}"),
                        Some(&J::String(format!("{theirs:?}"))),
                    );
                }
            }
            Request::MaskWriteRegister { address, and_mask, or_mask } => {
                c.cmp("modbus.reference_num", address.to_string(), g("modbus.reference_num"));
                c.cmp("modbus.and_mask", format!("0x{and_mask:04x}"), g("modbus.and_mask"));
                c.cmp("modbus.or_mask", format!("0x{or_mask:04x}"), g("modbus.or_mask"));
            }
            Request::ReadWriteMultipleRegisters {
                read_address,
                read_quantity,
                write_address,
                write_quantity,
                byte_count,
                values,
            } => {
                c.cmp("modbus.read_reference_num", read_address.to_string(), g("modbus.read_reference_num"));
                c.cmp("modbus.read_word_cnt", read_quantity.to_string(), g("modbus.read_word_cnt"));
                c.cmp(
                    "modbus.write_reference_num",
                    write_address.to_string(),
                    g("modbus.write_reference_num"),
                );
                c.cmp("modbus.write_word_cnt", write_quantity.to_string(), g("modbus.write_word_cnt"));
                c.cmp("modbus.byte_cnt", byte_count.to_string(), g("modbus.byte_cnt"));
                let data = if malformed(adu) { raw_after(adu, 10) } else { hex(values.as_bytes()) };
                c.cmp("modbus.data", data, g("modbus.data"));
            }
            Request::ReadFifoQueue { address } => {
                c.cmp("modbus.reference_num", address.to_string(), g("modbus.reference_num"));
            }
            Request::ReadDeviceId { read_device_id_code, object_id } => {
                c.cmp("modbus.mei", "14".to_string(), g("modbus.mei"));
                c.cmp("modbus.read_device_id", read_device_id_code.to_string(), g("modbus.read_device_id"));
                c.cmp("modbus.object_id", object_id.to_string(), g("modbus.object_id"));
            }
            _ => {}
        },
        PduBody::Response(r) => match r {
            Response::ReadBits { byte_count, values } => {
                c.cmp("modbus.byte_cnt", byte_count.to_string(), g("modbus.byte_cnt"));
                let theirs = pairs(m, "Bit ", "modbus.bitnum", "modbus.bitval");
                if let (Some(req), true) = (matched, g("modbus.request_frame").is_some()) {
                    let ours: Vec<(u64, u64)> = pdu
                        .values_with_addresses(req)
                        .into_iter()
                        .flatten()
                        .map(|(a, v)| (u64::from(a), u64::from(v == Value::Bit(true))))
                        .collect();
                    c.cmp("bit (addr,value)", format!("{ours:?}"), Some(&J::String(format!("{theirs:?}"))));
                } else {
                    let _ = values;
                }
            }
            Response::ReadRegisters { byte_count, values } => {
                c.cmp("modbus.byte_cnt", byte_count.to_string(), g("modbus.byte_cnt"));
                let theirs = pairs(m, "Register ", "modbus.regnum16", "modbus.regval_uint16");
                if pdu.function.code() == 23
                    || (malformed(adu) && theirs.is_empty() && g("modbus.data").is_some())
                {
                    let data = if malformed(adu) { raw_after(adu, 2) } else { hex(values.as_bytes()) };
                    c.cmp("modbus.data", data, g("modbus.data"));
                } else {
                    let theirs = pairs(m, "Register ", "modbus.regnum16", "modbus.regval_uint16");
                    let tv: Vec<u64> = theirs.iter().map(|p| p.1).collect();
                    let ov: Vec<u64> = values.iter().map(u64::from).collect();
                    if !theirs.is_empty() || g("modbus.request_frame").is_some() {
                        c.cmp("register value", format!("{ov:?}"), Some(&J::String(format!("{tv:?}"))));
                    }
                    if let (Some(req), true) = (matched, g("modbus.request_frame").is_some()) {
                        let ours: Vec<(u64, u64)> = pdu
                            .values_with_addresses(req)
                            .into_iter()
                            .flatten()
                            .filter_map(|(a, v)| match v {
                                Value::Register(x) => Some((u64::from(a), u64::from(x))),
                                Value::Bit(_) => None,
                            })
                            .collect();
                        c.cmp(
                            "register (addr,value)",
                            format!("{ours:?}"),
                            Some(&J::String(format!("{theirs:?}"))),
                        );
                    }
                }
            }
            Response::WriteSingleCoil { address, value }
            | Response::WriteSingleRegister { address, value } => {
                c.cmp("modbus.reference_num", address.to_string(), g("modbus.reference_num"));
                c.cmp("modbus.data", hex(&value.to_be_bytes()), g("modbus.data"));
            }
            Response::WriteMultipleCoils { address, quantity } => {
                c.cmp("modbus.reference_num", address.to_string(), g("modbus.reference_num"));
                c.cmp("modbus.bit_cnt", quantity.to_string(), g("modbus.bit_cnt"));
            }
            Response::WriteMultipleRegisters { address, quantity } => {
                c.cmp("modbus.reference_num", address.to_string(), g("modbus.reference_num"));
                c.cmp("modbus.word_cnt", quantity.to_string(), g("modbus.word_cnt"));
            }
            Response::Diagnostics { sub_function, .. } => {
                c.cmp("modbus.diagnostic_code", sub_function.code().to_string(), g("modbus.diagnostic_code"));
            }
            Response::MaskWriteRegister { address, and_mask, or_mask } => {
                c.cmp("modbus.reference_num", address.to_string(), g("modbus.reference_num"));
                c.cmp("modbus.and_mask", format!("0x{and_mask:04x}"), g("modbus.and_mask"));
                c.cmp("modbus.or_mask", format!("0x{or_mask:04x}"), g("modbus.or_mask"));
            }
            Response::ReadFifoQueue { byte_count, fifo_count, .. } => {
                c.cmp("modbus.byte_cnt_16", byte_count.to_string(), g("modbus.byte_cnt_16"));
                c.cmp("modbus.word_cnt", fifo_count.to_string(), g("modbus.word_cnt"));
            }
            Response::ReadDeviceId {
                read_device_id_code,
                conformity_level,
                more_follows,
                next_object_id,
                number_of_objects,
                objects,
            } => {
                c.cmp("modbus.read_device_id", read_device_id_code.to_string(), g("modbus.read_device_id"));
                c.cmp(
                    "modbus.conformity_level",
                    format!("0x{conformity_level:02x}"),
                    g("modbus.conformity_level"),
                );
                c.cmp("modbus.more_follows", format!("0x{more_follows:02x}"), g("modbus.more_follows"));
                c.cmp("modbus.next_object_id", next_object_id.to_string(), g("modbus.next_object_id"));
                c.cmp("modbus.num_objects", number_of_objects.to_string(), g("modbus.num_objects"));
                if let Some(J::Object(objs)) = g("Objects") {
                    let theirs: Vec<String> = objs
                        .values()
                        .flat_map(|o| items(Some(o)))
                        .filter_map(|o| o.get("modbus.object_id").map(s))
                        .collect();
                    let mut theirs = theirs;
                    theirs.sort();
                    let mut ours: Vec<String> = objects.iter().map(|o| o.id.to_string()).collect();
                    ours.sort();
                    c.cmp("object ids", format!("{ours:?}"), Some(&J::String(format!("{theirs:?}"))));
                }
            }
            _ => {}
        },
        _ => {}
    }
}

/// tshark reported an expert info inside Modbus, a malformed packet, or an
/// unreassembled fragment (top-level `_ws.*` pseudo-protocols).
fn tshark_flagged(layers: &J) -> bool {
    let mb = layers.get("mbtcp").map(J::to_string).unwrap_or_default();
    let m = layers.get("modbus").map(J::to_string).unwrap_or_default();
    let top = layers.as_object().is_some_and(|o| o.keys().any(|k| k.starts_with("_ws.")));
    top || mb.contains("_ws.expert") || m.contains("_ws.expert")
}

/// tshark's JSON for the Modbus frames of `path`, limited to the layers we
/// compare (keeps the JSON small).
fn tshark_modbus(path: &Path) -> Vec<J> {
    common::tshark_json(
        path,
        "mbtcp",
        &["--no-duplicate-keys", "-J", "frame mbtcp modbus _ws.malformed _ws.unreassembled _ws.expert"],
    )
}

#[derive(Default)]
struct Totals {
    frames: u64,
    flagged: u64,
    adus: u64,
    count_mismatch: u64,
    ours_only: u64,
    allowed: u64,
}

fn diff_file(
    path: &Path,
    tshark: &[J],
    agree: &mut common::Agreement,
    flagged_agree: &mut common::Agreement,
    t: &mut Totals,
) {
    let by_frame: HashMap<u64, &J> =
        tshark.iter().filter_map(|v| Some((common::tshark_frame_number(v)?, v))).collect();
    let mut requests: HashMap<(u16, u16, u8), RequestSummary> = HashMap::new();
    let file = path.display().to_string();
    for pkt in common::read_packets(path) {
        let Some(tr) = common::transport(&pkt) else { continue };
        if !tr.tcp || tr.payload.is_empty() || tr.fragmented {
            continue;
        }
        let (dir, client_port) = if tr.dst_port == 502 {
            (Direction::Request, tr.src_port)
        } else if tr.src_port == 502 {
            (Direction::Response, tr.dst_port)
        } else {
            continue;
        };
        if probe(tr.payload) != Some(ModbusFraming::Mbap) {
            continue;
        }
        let mut frames: Vec<&[u8]> = Vec::new();
        let _ = drive(&mut MbapFramer::new(), tr.payload, |f| frames.push(f), |_, _| {});
        let adus: Vec<(Adu<'_>, &[u8])> =
            frames.iter().filter_map(|f| Adu::parse(f, dir).ok().map(|a| (a, *f))).collect();
        let Some(layers) = by_frame.get(&pkt.frame).and_then(|v| v.pointer("/_source/layers")) else {
            t.ours_only += adus.len() as u64;
            continue;
        };
        t.frames += 1;
        let flagged = tshark_flagged(layers);
        t.flagged += u64::from(flagged);
        let mbs = items(layers.get("mbtcp"));
        let ms = items(layers.get("modbus"));
        if mbs.len() != adus.len() {
            t.count_mismatch += 1;
            let a = if flagged { &mut *flagged_agree } else { &mut *agree };
            a.check("ADUs per frame", adus.len(), mbs.len(), &format!("{file}#{}", pkt.frame));
        }
        for (i, (adu, raw)) in adus.iter().enumerate() {
            let Some(mb) = mbs.get(i) else { break };
            t.adus += 1;
            let matched = match dir {
                Direction::Request => {
                    if let Some(sm) = adu.request_summary() {
                        requests.insert((client_port, sm.transaction_id, sm.unit_id), sm);
                    }
                    None
                }
                Direction::Response => requests.get(&(client_port, adu.transaction_id, adu.unit_id)).copied(),
            };
            let mut c = Ctx {
                agree: if flagged { &mut *flagged_agree } else { &mut *agree },
                ctx: format!("{file}#{} adu {i}", pkt.frame),
                file: file.clone(),
                frame: pkt.frame,
                allowed: &mut t.allowed,
            };
            compare_adu(
                &mut c,
                adu,
                raw,
                matched.filter(|r| r.function == adu.pdu.function).as_ref(),
                mb,
                ms.get(i).copied(),
            );
        }
    }
}

#[test]
fn modbus_agrees_with_tshark() {
    if !common::have_tshark() {
        eprintln!("tshark not found: differential test NOT RUN");
        assert!(std::env::var("CENTINELA_REQUIRE_TSHARK").as_deref() != Ok("1"), "tshark required");
        return;
    }
    let mut files: Vec<_> = common::project_pcaps();
    if let Some(dir) = common::corpus_dir() {
        // Only files tshark finds Modbus/TCP in (MANIFEST.tsv column mbtcp_frames).
        let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap_or_default();
        let mut lines = manifest.lines();
        let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
        let col = header.iter().position(|h| *h == "mbtcp_frames");
        for l in lines {
            let cols: Vec<&str> = l.split('\t').collect();
            if let Some(n) = col.and_then(|c| cols.get(c)).and_then(|n| n.parse::<u64>().ok())
                && n > 0
            {
                files.push(dir.join(cols[0]));
            }
        }
    }
    let mut agree = common::Agreement::default();
    let mut flagged_agree = common::Agreement::default();
    let mut t = Totals::default();
    let mut per_file: BTreeMap<String, u64> = BTreeMap::new();
    // tshark once per file, two files at a time.
    let outputs: Vec<Vec<J>> = std::thread::scope(|sc| {
        let half = files.len().div_ceil(2);
        let handles: Vec<_> = files
            .chunks(half.max(1))
            .map(|ch| sc.spawn(move || ch.iter().map(|f| tshark_modbus(f)).collect::<Vec<_>>()))
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    for (f, tshark) in files.iter().zip(&outputs) {
        let before = t.adus;
        diff_file(f, tshark, &mut agree, &mut flagged_agree, &mut t);
        per_file.insert(f.display().to_string(), t.adus - before);
    }
    agree.print("Modbus (frames tshark decodes without expert info)");
    flagged_agree.print("Modbus (frames tshark flags: informational)");
    eprintln!(
        "files {} | tshark frames compared {} (flagged {}) | ADUs compared {} | ADU-count mismatches {} | ADUs only we decode {} | allowlisted {}",
        files.len(),
        t.frames,
        t.flagged,
        t.adus,
        t.count_mismatch,
        t.ours_only,
        t.allowed
    );
    assert!(t.adus > 0, "no Modbus ADU compared");
    let (n, a) = agree.totals();
    assert_eq!(n, a, "disagreements with tshark on frames it decodes cleanly (see table above)");
}
