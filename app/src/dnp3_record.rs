//! The `dnp3` EVE record as typed views that borrow from the parsed
//! fragment (object headers and points are walked lazily from the parser's
//! validated iterators while the record is serialised, no intermediate
//! `Vec`, `String` or `serde_json::Value`) and from `&'static str` tables.
//! Serialised once into a `RawJson` by the caller.
//!
//! Byte-identical to the former `serde_json::Map` records: fields are
//! declared (or, in hand-written `Serialize` impls, written) in bytewise
//! sorted key order, absent keys are skipped, numbers keep their types.

use crate::dnp3::DNP3_MAX_POINTS_PER_RECORD;
use centinela_events::{JsonObject, JsonWriter};
use centinela_parsers::dnp3::app::{self, Analog, Iin, ObjectHeader, Prefix, Range, Value};
use centinela_parsers::dnp3::{Flags, link};
use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Suricata's `start`, `stop`, `count` for a range.
pub(crate) fn range_fields(r: Range) -> (u32, u32, u64) {
    match r {
        Range::StartStop { start, stop } => (start, stop, r.count()),
        Range::All => (0, 0, 0),
        Range::Count(n) => (0, 0, u64::from(n)),
    }
}

/// One object header of a remembered request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ObjSummary {
    pub(crate) group: u8,
    pub(crate) variation: u8,
    pub(crate) qualifier: u8,
    pub(crate) range: Range,
}

/// The `dnp3` record body.
#[derive(Debug, Serialize)]
pub(crate) struct Dnp3Record<'a> {
    #[serde(skip_serializing_if = "FlagNames::is_empty")]
    pub(crate) anomalies: FlagNames,
    pub(crate) application: Application<'a>,
    #[serde(skip_serializing_if = "is_false")]
    pub(crate) continuation: bool,
    pub(crate) control: LinkControl,
    pub(crate) dst: u16,
    pub(crate) id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) iin: Option<IinRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) request: Option<Request<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) select_operate: Option<SelectOperate>,
    pub(crate) src: u16,
    #[serde(skip_serializing_if = "is_zero")]
    pub(crate) suppressed: u64,
    pub(crate) transport: &'static str,
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    #[serde(skip_serializing_if = "is_false")]
    pub(crate) unmatched: bool,
}

/// The parser flags of a message, by name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FlagNames(pub(crate) Flags);

impl FlagNames {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for FlagNames {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.names())
    }
}

/// The link control octet.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct LinkControl {
    dir: bool,
    fcb: bool,
    fcv: bool,
    function_code: u8,
    pri: bool,
}

impl From<link::Control> for LinkControl {
    fn from(c: link::Control) -> Self {
        Self { dir: c.dir, fcb: c.fcb, fcv: c.fcv_dfc, function_code: c.function.code(), pri: c.prm }
    }
}

/// The application control octet.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct AppControl {
    con: bool,
    fin: bool,
    fir: bool,
    sequence: u8,
    uns: bool,
}

impl From<app::Control> for AppControl {
    fn from(c: app::Control) -> Self {
        Self { con: c.con, fin: c.fin, fir: c.fir, sequence: c.seq, uns: c.uns }
    }
}

/// The application layer of a message.
#[derive(Debug, Serialize)]
pub(crate) struct Application<'a> {
    pub(crate) complete: bool,
    pub(crate) control: AppControl,
    pub(crate) function: &'static str,
    pub(crate) function_code: u8,
    #[serde(skip_serializing_if = "Objects::is_empty")]
    pub(crate) objects: Objects<'a>,
}

/// The object headers of a fragment with their points, at most
/// [`DNP3_MAX_POINTS_PER_RECORD`] points in the whole record (the rest are
/// counted in each object's `points_truncated`).
#[derive(Debug, Clone)]
pub(crate) struct Objects<'a>(pub(crate) app::Objects<'a>);

impl Objects<'_> {
    fn is_empty(&self) -> bool {
        self.0.clone().next().is_none()
    }
}

fn has_value(p: &app::Point<'_>) -> bool {
    !matches!(p.value, Value::None)
}

impl Serialize for Objects<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut budget = DNP3_MAX_POINTS_PER_RECORD;
        let mut seq = s.serialize_seq(None)?;
        for h in self.0.clone() {
            let valid = h.points().filter(has_value).count();
            let logged = valid.min(budget);
            budget -= logged;
            let points = (logged > 0).then_some(PointList { header: h, limit: logged });
            let truncated = (valid - logged) as u64;
            seq.serialize_element(&Object::new(
                h.group,
                h.variation,
                h.qualifier.raw(),
                h.range,
                points,
                truncated,
            ))?;
        }
        seq.end()
    }
}

/// One object header (and its points, in a message's own objects).
#[derive(Debug, Serialize)]
struct Object<'a> {
    count: u64,
    group: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    points: Option<PointList<'a>>,
    #[serde(skip_serializing_if = "is_zero")]
    points_truncated: u64,
    prefix_code: u8,
    qualifier: u8,
    range_code: u8,
    start: u32,
    stop: u32,
    variation: u8,
}

impl<'a> Object<'a> {
    fn new(
        group: u8,
        variation: u8,
        qualifier: u8,
        range: Range,
        points: Option<PointList<'a>>,
        points_truncated: u64,
    ) -> Self {
        let (start, stop, count) = range_fields(range);
        Self {
            count,
            group,
            points,
            points_truncated,
            prefix_code: (qualifier >> 4) & 0x07,
            qualifier,
            range_code: qualifier & 0x0f,
            start,
            stop,
            variation,
        }
    }
}

/// The first `limit` valued points of a header.
#[derive(Debug)]
struct PointList<'a> {
    header: ObjectHeader<'a>,
    limit: usize,
}

impl Serialize for PointList<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let h = &self.header;
        let index_prefixed = matches!(h.qualifier.prefix(), Prefix::Index(_));
        s.collect_seq(h.points().filter(has_value).take(self.limit).map(|p| PointRecord {
            index: p.index,
            prefix: if index_prefixed { p.index } else { 0 },
            group: h.group,
            variation: h.variation,
            value: p.value,
        }))
    }
}

/// One decoded point: `index`, `prefix` and the value's fields.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PointRecord<'a> {
    pub(crate) index: u32,
    pub(crate) prefix: u32,
    pub(crate) group: u8,
    pub(crate) variation: u8,
    pub(crate) value: Value<'a>,
}

fn bit(flags: u8, n: u8) -> u8 {
    (flags >> n) & 1
}

/// An analog value: integers as integers, finite floats as floats, NaN and
/// infinities as their text.
#[derive(Debug, Clone, Copy)]
struct AnalogJson(Analog);

impl Serialize for AnalogJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Analog::I16(x) => s.serialize_i16(x),
            Analog::I32(x) => s.serialize_i32(x),
            Analog::F32(x) if x.is_finite() => s.serialize_f64(f64::from(x)),
            Analog::F64(x) if x.is_finite() => s.serialize_f64(x),
            other => s.collect_str(&other),
        }
    }
}

/// Lower-case hex of raw octets, written without an intermediate `String`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hex<'a>(pub(crate) &'a [u8]);

impl core::fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut buf = [0u8; 128];
        for chunk in self.0.chunks(buf.len() / 2) {
            let mut n = 0;
            for (&b, out) in chunk.iter().zip(buf.chunks_exact_mut(2)) {
                if let [hi, lo] = out {
                    *hi = DIGITS[usize::from(b >> 4)];
                    *lo = DIGITS[usize::from(b & 0x0f)];
                    n += 2;
                }
            }
            // Hex digits are ASCII: always valid UTF-8.
            f.write_str(
                core::str::from_utf8(buf.get(..n).unwrap_or_default()).map_err(|_| core::fmt::Error)?,
            )?;
        }
        Ok(())
    }
}

impl Serialize for Hex<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Serialize for PointRecord<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        let (index, prefix) = (&self.index, &self.prefix);
        // Keys in bytewise order for every shape (the former map's order).
        match self.value {
            Value::Bit(b) => {
                m.serialize_entry("index", index)?;
                m.serialize_entry("prefix", prefix)?;
                m.serialize_entry("state", &u8::from(b))?;
            }
            Value::DoubleBit(d) => {
                m.serialize_entry("index", index)?;
                m.serialize_entry("prefix", prefix)?;
                m.serialize_entry("state", &d)?;
            }
            Value::Binary { flags: f, time, relative } => {
                let old = matches!(self.group, 10 | 11);
                if !old {
                    m.serialize_entry("chatter_filter", &bit(f, 5))?;
                }
                m.serialize_entry("comm_lost", &bit(f, 2))?;
                m.serialize_entry("index", index)?;
                m.serialize_entry("local_forced", &bit(f, 4))?;
                m.serialize_entry("online", &bit(f, 0))?;
                m.serialize_entry("prefix", prefix)?;
                if let Some(r) = relative {
                    m.serialize_entry("relative_time_ms", &r)?;
                }
                m.serialize_entry("remote_forced", &bit(f, 3))?;
                if old {
                    m.serialize_entry("reserved0", &bit(f, 5))?;
                    m.serialize_entry("reserved1", &bit(f, 6))?;
                } else {
                    m.serialize_entry("reserved", &bit(f, 6))?;
                }
                m.serialize_entry("restart", &bit(f, 1))?;
                m.serialize_entry("state", &bit(f, 7))?;
                if let Some(t) = time {
                    m.serialize_entry("timestamp", &t)?;
                }
            }
            Value::DoubleBitBinary { flags: f, time, relative } => {
                m.serialize_entry("chatter_filter", &bit(f, 5))?;
                m.serialize_entry("comm_lost", &bit(f, 2))?;
                m.serialize_entry("index", index)?;
                m.serialize_entry("local_forced", &bit(f, 4))?;
                m.serialize_entry("online", &bit(f, 0))?;
                m.serialize_entry("prefix", prefix)?;
                if let Some(r) = relative {
                    m.serialize_entry("relative_time_ms", &r)?;
                }
                m.serialize_entry("remote_forced", &bit(f, 3))?;
                m.serialize_entry("restart", &bit(f, 1))?;
                m.serialize_entry("state", &(f >> 6))?;
                if let Some(t) = time {
                    m.serialize_entry("timestamp", &t)?;
                }
            }
            Value::Crob { code, count, on_ms, off_ms, status } => {
                m.serialize_entry("count", &count)?;
                m.serialize_entry("cr", &bit(code, 5))?;
                m.serialize_entry("index", index)?;
                m.serialize_entry("offtime", &off_ms)?;
                m.serialize_entry("ontime", &on_ms)?;
                m.serialize_entry("op_type", &(code & 0x0f))?;
                m.serialize_entry("prefix", prefix)?;
                m.serialize_entry("qu", &bit(code, 4))?;
                m.serialize_entry("reserved", &(status >> 7))?;
                m.serialize_entry("status_code", &(status & 0x7f))?;
                m.serialize_entry("tcc", &(code >> 6))?;
            }
            Value::Counter { flags, value, time } => {
                if let Some(f) = flags {
                    m.serialize_entry("comm_lost", &bit(f, 2))?;
                    m.serialize_entry("count", &value)?;
                    m.serialize_entry("discontinuity", &bit(f, 6))?;
                    m.serialize_entry("index", index)?;
                    m.serialize_entry("local_forced", &bit(f, 4))?;
                    m.serialize_entry("online", &bit(f, 0))?;
                    m.serialize_entry("prefix", prefix)?;
                    m.serialize_entry("remote_forced", &bit(f, 3))?;
                    m.serialize_entry("reserved0", &bit(f, 7))?;
                    m.serialize_entry("restart", &bit(f, 1))?;
                    m.serialize_entry("rollover", &bit(f, 5))?;
                } else {
                    m.serialize_entry("count", &value)?;
                    m.serialize_entry("index", index)?;
                    m.serialize_entry("prefix", prefix)?;
                }
                if let Some(t) = time {
                    m.serialize_entry("timestamp", &t)?;
                }
            }
            Value::Analog { flags, value, time } => {
                match flags {
                    Some(f) if self.group == 43 => {
                        m.serialize_entry("control_status", &f)?;
                        m.serialize_entry("index", index)?;
                        m.serialize_entry("prefix", prefix)?;
                    }
                    Some(f) => {
                        m.serialize_entry("comm_lost", &bit(f, 2))?;
                        m.serialize_entry("index", index)?;
                        m.serialize_entry("local_forced", &bit(f, 4))?;
                        m.serialize_entry("online", &bit(f, 0))?;
                        m.serialize_entry("over_range", &bit(f, 5))?;
                        m.serialize_entry("prefix", prefix)?;
                        m.serialize_entry("reference_err", &bit(f, 6))?;
                        m.serialize_entry("remote_forced", &bit(f, 3))?;
                        m.serialize_entry("reserved0", &bit(f, 7))?;
                        m.serialize_entry("restart", &bit(f, 1))?;
                    }
                    None => {
                        m.serialize_entry("index", index)?;
                        m.serialize_entry("prefix", prefix)?;
                    }
                }
                if let Some(t) = time {
                    m.serialize_entry("timestamp", &t)?;
                }
                m.serialize_entry("value", &AnalogJson(value))?;
            }
            Value::AnalogCommand { value, status } => {
                m.serialize_entry("control_status", &status)?;
                m.serialize_entry("index", index)?;
                m.serialize_entry("prefix", prefix)?;
                m.serialize_entry("value", &AnalogJson(value))?;
            }
            Value::Deadband(v) => {
                m.serialize_entry("index", index)?;
                m.serialize_entry("prefix", prefix)?;
                m.serialize_entry("value", &AnalogJson(v))?;
            }
            Value::Time(t) => {
                m.serialize_entry("index", index)?;
                m.serialize_entry("prefix", prefix)?;
                m.serialize_entry("timestamp", &t)?;
            }
            Value::TimeInterval { time, interval } => {
                m.serialize_entry("index", index)?;
                m.serialize_entry("interval_ms", &interval)?;
                m.serialize_entry("prefix", prefix)?;
                m.serialize_entry("timestamp", &time)?;
            }
            Value::Delay(d) => {
                let key = if self.variation == 1 { "delay_secs" } else { "delay_ms" };
                m.serialize_entry(key, &d)?;
                m.serialize_entry("index", index)?;
                m.serialize_entry("prefix", prefix)?;
            }
            Value::Attribute { data_type, value } => {
                m.serialize_entry("data", &Hex(value))?;
                m.serialize_entry("data_type", &data_type)?;
                m.serialize_entry("index", index)?;
                m.serialize_entry("prefix", prefix)?;
            }
            Value::Bytes(b) => {
                m.serialize_entry("data", &Hex(b))?;
                m.serialize_entry("index", index)?;
                m.serialize_entry("prefix", prefix)?;
            }
            Value::None => {
                m.serialize_entry("index", index)?;
                m.serialize_entry("prefix", prefix)?;
            }
        }
        m.end()
    }
}

/// `iin` of a response: the set indications by name (`broadcast` is
/// Suricata's `all_stations`); `None` when none is set.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct IinRecord {
    indicators: IinNames,
}

impl IinRecord {
    pub(crate) fn new(iin: Iin) -> Option<Self> {
        iin.names().next().is_some().then_some(Self { indicators: IinNames(iin) })
    }
}

#[derive(Debug, Clone, Copy)]
struct IinNames(Iin);

impl Serialize for IinNames {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.names().map(|n| if n == "broadcast" { "all_stations" } else { n }))
    }
}

/// The paired request's summary under a response's `request`.
#[derive(Debug, Serialize)]
pub(crate) struct Request<'a> {
    pub(crate) application: RequestApplication<'a>,
    pub(crate) dst: u16,
    pub(crate) src: u16,
}

/// The application layer of a remembered request (no points).
#[derive(Debug, Serialize)]
pub(crate) struct RequestApplication<'a> {
    pub(crate) control: AppControl,
    pub(crate) function: &'static str,
    pub(crate) function_code: u8,
    #[serde(skip_serializing_if = "Summaries::is_empty")]
    pub(crate) objects: Summaries<'a>,
    #[serde(skip_serializing_if = "is_zero")]
    pub(crate) objects_truncated: u64,
}

/// Remembered object headers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Summaries<'a>(pub(crate) &'a [Option<ObjSummary>]);

impl Summaries<'_> {
    fn is_empty(&self) -> bool {
        self.0.iter().flatten().next().is_none()
    }
}

impl Serialize for Summaries<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            self.0.iter().flatten().map(|o| Object::new(o.group, o.variation, o.qualifier, o.range, None, 0)),
        )
    }
}

/// How an OPERATE relates to the last SELECT between the same stations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct SelectOperate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) elapsed_ms: Option<i128>,
    #[serde(rename = "match")]
    pub(crate) matched: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) select_sequence: Option<u8>,
}

// ------------------------------------------------------------ hand-written
//
// The same bytes as the `Serialize` impls above, which stay as the
// reference: tests compare both for every point shape, header, control and
// whole records with every optional part; the replay snapshots hold the
// DNP3 records' bytes. Without serde's per-key dynamic steps.

impl Dnp3Record<'_> {
    /// The record body through `w` (the hot path of every DNP3 message).
    pub(crate) fn write(&self, w: &mut JsonWriter<'_>) {
        w.raw("{");
        if !self.anomalies.is_empty() {
            w.raw("\"anomalies\":");
            self.anomalies.write(w);
            w.raw(",");
        }
        w.raw("\"application\":");
        self.application.write(w);
        if self.continuation {
            w.raw(",\"continuation\":true");
        }
        w.raw(",\"control\":");
        self.control.write(w);
        w.raw(",\"dst\":");
        w.int(self.dst);
        w.raw(",\"id\":");
        w.int(self.id);
        if let Some(iin) = &self.iin {
            w.raw(",\"iin\":");
            iin.write(w);
        }
        if let Some(r) = &self.request {
            w.raw(",\"request\":");
            r.write(w);
        }
        if let Some(so) = &self.select_operate {
            w.raw(",\"select_operate\":");
            so.write(w);
        }
        w.raw(",\"src\":");
        w.int(self.src);
        if self.suppressed != 0 {
            w.raw(",\"suppressed\":");
            w.int(self.suppressed);
        }
        w.raw(",\"transport\":");
        w.plain(self.transport);
        w.raw(",\"type\":");
        w.plain(self.kind);
        if self.unmatched {
            w.raw(",\"unmatched\":true");
        }
        w.raw("}");
    }
}

impl FlagNames {
    fn write(&self, w: &mut JsonWriter<'_>) {
        w.raw("[");
        for (i, name) in self.0.names().enumerate() {
            if i > 0 {
                w.raw(",");
            }
            w.string(name);
        }
        w.raw("]");
    }
}

impl LinkControl {
    fn write(&self, w: &mut JsonWriter<'_>) {
        w.raw("{\"dir\":");
        w.bool(self.dir);
        w.raw(",\"fcb\":");
        w.bool(self.fcb);
        w.raw(",\"fcv\":");
        w.bool(self.fcv);
        w.raw(",\"function_code\":");
        w.int(self.function_code);
        w.raw(",\"pri\":");
        w.bool(self.pri);
        w.raw("}");
    }
}

impl AppControl {
    fn write(&self, w: &mut JsonWriter<'_>) {
        w.raw("{\"con\":");
        w.bool(self.con);
        w.raw(",\"fin\":");
        w.bool(self.fin);
        w.raw(",\"fir\":");
        w.bool(self.fir);
        w.raw(",\"sequence\":");
        w.int(self.sequence);
        w.raw(",\"uns\":");
        w.bool(self.uns);
        w.raw("}");
    }
}

impl Application<'_> {
    fn write(&self, w: &mut JsonWriter<'_>) {
        w.raw("{\"complete\":");
        w.bool(self.complete);
        w.raw(",\"control\":");
        self.control.write(w);
        w.raw(",\"function\":");
        w.plain(self.function);
        w.raw(",\"function_code\":");
        w.int(self.function_code);
        if !self.objects.is_empty() {
            w.raw(",\"objects\":");
            self.objects.write(w);
        }
        w.raw("}");
    }
}

impl Objects<'_> {
    fn write(&self, w: &mut JsonWriter<'_>) {
        let mut budget = DNP3_MAX_POINTS_PER_RECORD;
        w.raw("[");
        for (i, h) in self.0.clone().enumerate() {
            if i > 0 {
                w.raw(",");
            }
            let valid = h.points().filter(has_value).count();
            let logged = valid.min(budget);
            budget -= logged;
            let points = (logged > 0).then_some(PointList { header: h, limit: logged });
            let truncated = (valid - logged) as u64;
            Object::new(h.group, h.variation, h.qualifier.raw(), h.range, points, truncated).write(w);
        }
        w.raw("]");
    }
}

impl Object<'_> {
    fn write(&self, w: &mut JsonWriter<'_>) {
        w.raw("{\"count\":");
        w.int(self.count);
        w.raw(",\"group\":");
        w.int(self.group);
        if let Some(p) = &self.points {
            w.raw(",\"points\":");
            p.write(w);
        }
        if self.points_truncated != 0 {
            w.raw(",\"points_truncated\":");
            w.int(self.points_truncated);
        }
        w.raw(",\"prefix_code\":");
        w.int(self.prefix_code);
        w.raw(",\"qualifier\":");
        w.int(self.qualifier);
        w.raw(",\"range_code\":");
        w.int(self.range_code);
        w.raw(",\"start\":");
        w.int(self.start);
        w.raw(",\"stop\":");
        w.int(self.stop);
        w.raw(",\"variation\":");
        w.int(self.variation);
        w.raw("}");
    }
}

impl PointList<'_> {
    fn write(&self, w: &mut JsonWriter<'_>) {
        let h = &self.header;
        let index_prefixed = matches!(h.qualifier.prefix(), Prefix::Index(_));
        w.raw("[");
        for (i, p) in h.points().filter(has_value).take(self.limit).enumerate() {
            if i > 0 {
                w.raw(",");
            }
            PointRecord {
                index: p.index,
                prefix: if index_prefixed { p.index } else { 0 },
                group: h.group,
                variation: h.variation,
                value: p.value,
            }
            .write(w);
        }
        w.raw("]");
    }
}

impl AnalogJson {
    fn write(&self, w: &mut JsonWriter<'_>) {
        match self.0 {
            Analog::I16(x) => w.int(x),
            Analog::I32(x) => w.int(x),
            // Floats and their text forms through serde (its float format).
            _ => {
                let _ = w.value(self);
            }
        }
    }
}

impl PointRecord<'_> {
    /// Keys in bytewise order for every shape, as the `Serialize` impl.
    pub(crate) fn write(&self, w: &mut JsonWriter<'_>) {
        let (index, prefix) = (self.index, self.prefix);
        let mut o = JsonObject::open(w);
        match self.value {
            Value::Bit(b) => {
                o.key("\"index\":").int(index);
                o.key("\"prefix\":").int(prefix);
                o.key("\"state\":").int(u8::from(b));
            }
            Value::DoubleBit(d) => {
                o.key("\"index\":").int(index);
                o.key("\"prefix\":").int(prefix);
                o.key("\"state\":").int(d);
            }
            Value::Binary { flags: f, time, relative } => {
                let old = matches!(self.group, 10 | 11);
                if !old {
                    o.key("\"chatter_filter\":").int(bit(f, 5));
                }
                o.key("\"comm_lost\":").int(bit(f, 2));
                o.key("\"index\":").int(index);
                o.key("\"local_forced\":").int(bit(f, 4));
                o.key("\"online\":").int(bit(f, 0));
                o.key("\"prefix\":").int(prefix);
                if let Some(r) = relative {
                    o.key("\"relative_time_ms\":").int(r);
                }
                o.key("\"remote_forced\":").int(bit(f, 3));
                if old {
                    o.key("\"reserved0\":").int(bit(f, 5));
                    o.key("\"reserved1\":").int(bit(f, 6));
                } else {
                    o.key("\"reserved\":").int(bit(f, 6));
                }
                o.key("\"restart\":").int(bit(f, 1));
                o.key("\"state\":").int(bit(f, 7));
                if let Some(t) = time {
                    o.key("\"timestamp\":").int(t);
                }
            }
            Value::DoubleBitBinary { flags: f, time, relative } => {
                o.key("\"chatter_filter\":").int(bit(f, 5));
                o.key("\"comm_lost\":").int(bit(f, 2));
                o.key("\"index\":").int(index);
                o.key("\"local_forced\":").int(bit(f, 4));
                o.key("\"online\":").int(bit(f, 0));
                o.key("\"prefix\":").int(prefix);
                if let Some(r) = relative {
                    o.key("\"relative_time_ms\":").int(r);
                }
                o.key("\"remote_forced\":").int(bit(f, 3));
                o.key("\"restart\":").int(bit(f, 1));
                o.key("\"state\":").int(f >> 6);
                if let Some(t) = time {
                    o.key("\"timestamp\":").int(t);
                }
            }
            Value::Crob { code, count, on_ms, off_ms, status } => {
                o.key("\"count\":").int(count);
                o.key("\"cr\":").int(bit(code, 5));
                o.key("\"index\":").int(index);
                o.key("\"offtime\":").int(off_ms);
                o.key("\"ontime\":").int(on_ms);
                o.key("\"op_type\":").int(code & 0x0f);
                o.key("\"prefix\":").int(prefix);
                o.key("\"qu\":").int(bit(code, 4));
                o.key("\"reserved\":").int(status >> 7);
                o.key("\"status_code\":").int(status & 0x7f);
                o.key("\"tcc\":").int(code >> 6);
            }
            Value::Counter { flags, value, time } => {
                if let Some(f) = flags {
                    o.key("\"comm_lost\":").int(bit(f, 2));
                    o.key("\"count\":").int(value);
                    o.key("\"discontinuity\":").int(bit(f, 6));
                    o.key("\"index\":").int(index);
                    o.key("\"local_forced\":").int(bit(f, 4));
                    o.key("\"online\":").int(bit(f, 0));
                    o.key("\"prefix\":").int(prefix);
                    o.key("\"remote_forced\":").int(bit(f, 3));
                    o.key("\"reserved0\":").int(bit(f, 7));
                    o.key("\"restart\":").int(bit(f, 1));
                    o.key("\"rollover\":").int(bit(f, 5));
                } else {
                    o.key("\"count\":").int(value);
                    o.key("\"index\":").int(index);
                    o.key("\"prefix\":").int(prefix);
                }
                if let Some(t) = time {
                    o.key("\"timestamp\":").int(t);
                }
            }
            Value::Analog { flags, value, time } => {
                match flags {
                    Some(f) if self.group == 43 => {
                        o.key("\"control_status\":").int(f);
                        o.key("\"index\":").int(index);
                        o.key("\"prefix\":").int(prefix);
                    }
                    Some(f) => {
                        o.key("\"comm_lost\":").int(bit(f, 2));
                        o.key("\"index\":").int(index);
                        o.key("\"local_forced\":").int(bit(f, 4));
                        o.key("\"online\":").int(bit(f, 0));
                        o.key("\"over_range\":").int(bit(f, 5));
                        o.key("\"prefix\":").int(prefix);
                        o.key("\"reference_err\":").int(bit(f, 6));
                        o.key("\"remote_forced\":").int(bit(f, 3));
                        o.key("\"reserved0\":").int(bit(f, 7));
                        o.key("\"restart\":").int(bit(f, 1));
                    }
                    None => {
                        o.key("\"index\":").int(index);
                        o.key("\"prefix\":").int(prefix);
                    }
                }
                if let Some(t) = time {
                    o.key("\"timestamp\":").int(t);
                }
                AnalogJson(value).write(o.key("\"value\":"));
            }
            Value::AnalogCommand { value, status } => {
                o.key("\"control_status\":").int(status);
                o.key("\"index\":").int(index);
                o.key("\"prefix\":").int(prefix);
                AnalogJson(value).write(o.key("\"value\":"));
            }
            Value::Deadband(v) => {
                o.key("\"index\":").int(index);
                o.key("\"prefix\":").int(prefix);
                AnalogJson(v).write(o.key("\"value\":"));
            }
            Value::Time(t) => {
                o.key("\"index\":").int(index);
                o.key("\"prefix\":").int(prefix);
                o.key("\"timestamp\":").int(t);
            }
            Value::TimeInterval { time, interval } => {
                o.key("\"index\":").int(index);
                o.key("\"interval_ms\":").int(interval);
                o.key("\"prefix\":").int(prefix);
                o.key("\"timestamp\":").int(time);
            }
            Value::Delay(d) => {
                let key = if self.variation == 1 { "\"delay_secs\":" } else { "\"delay_ms\":" };
                o.key(key).int(d);
                o.key("\"index\":").int(index);
                o.key("\"prefix\":").int(prefix);
            }
            Value::Attribute { data_type, value } => {
                o.key("\"data\":").hex(value);
                o.key("\"data_type\":").int(data_type);
                o.key("\"index\":").int(index);
                o.key("\"prefix\":").int(prefix);
            }
            Value::Bytes(b) => {
                o.key("\"data\":").hex(b);
                o.key("\"index\":").int(index);
                o.key("\"prefix\":").int(prefix);
            }
            Value::None => {
                o.key("\"index\":").int(index);
                o.key("\"prefix\":").int(prefix);
            }
        }
        o.close();
    }
}

impl IinRecord {
    fn write(&self, w: &mut JsonWriter<'_>) {
        w.raw("{\"indicators\":[");
        for (i, n) in self.indicators.0.names().enumerate() {
            if i > 0 {
                w.raw(",");
            }
            w.string(if n == "broadcast" { "all_stations" } else { n });
        }
        w.raw("]}");
    }
}

impl Request<'_> {
    fn write(&self, w: &mut JsonWriter<'_>) {
        w.raw("{\"application\":");
        self.application.write(w);
        w.raw(",\"dst\":");
        w.int(self.dst);
        w.raw(",\"src\":");
        w.int(self.src);
        w.raw("}");
    }
}

impl RequestApplication<'_> {
    fn write(&self, w: &mut JsonWriter<'_>) {
        w.raw("{\"control\":");
        self.control.write(w);
        w.raw(",\"function\":");
        w.plain(self.function);
        w.raw(",\"function_code\":");
        w.int(self.function_code);
        if !self.objects.is_empty() {
            w.raw(",\"objects\":[");
            for (i, o) in self.objects.0.iter().flatten().enumerate() {
                if i > 0 {
                    w.raw(",");
                }
                Object::new(o.group, o.variation, o.qualifier, o.range, None, 0).write(w);
            }
            w.raw("]");
        }
        if self.objects_truncated != 0 {
            w.raw(",\"objects_truncated\":");
            w.int(self.objects_truncated);
        }
        w.raw("}");
    }
}

impl SelectOperate {
    fn write(&self, w: &mut JsonWriter<'_>) {
        let mut o = JsonObject::open(w);
        if let Some(e) = self.elapsed_ms {
            o.key("\"elapsed_ms\":").int(e);
        }
        o.key("\"match\":").bool(self.matched);
        if let Some(r) = self.reason {
            o.key("\"reason\":").string(r);
        }
        if let Some(q) = self.select_sequence {
            o.key("\"select_sequence\":").int(q);
        }
        o.close();
    }
}

#[cfg(test)]
mod tests {
    //! The typed views against the former `serde_json::Map` builders (kept
    //! here as the oracle): same text for every value shape.
    use super::*;
    use serde_json::{Map, Value as Json, json};

    fn legacy_analog(v: Analog) -> Json {
        match v {
            Analog::I16(x) => json!(x),
            Analog::I32(x) => json!(x),
            Analog::F32(x) if x.is_finite() => json!(f64::from(x)),
            Analog::F64(x) if x.is_finite() => json!(x),
            other => json!(other.to_string()),
        }
    }

    fn legacy_hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn quality(p: &mut Map<String, Json>, f: u8) {
        for (n, k) in
            ["online", "restart", "comm_lost", "remote_forced", "local_forced"].into_iter().enumerate()
        {
            p.insert(k.into(), json!(bit(f, n as u8)));
        }
    }

    /// The former `point_fields` (plus `index`/`prefix`), verbatim.
    fn legacy_point(index: u32, prefix: u32, group: u8, variation: u8, v: Value<'_>) -> Json {
        let mut p = Map::new();
        p.insert("prefix".into(), json!(prefix));
        p.insert("index".into(), json!(index));
        match v {
            Value::Bit(b) => {
                p.insert("state".into(), json!(u8::from(b)));
            }
            Value::DoubleBit(d) => {
                p.insert("state".into(), json!(d));
            }
            Value::Binary { flags, time, relative } => {
                quality(&mut p, flags);
                if matches!(group, 10 | 11) {
                    p.insert("reserved0".into(), json!(bit(flags, 5)));
                    p.insert("reserved1".into(), json!(bit(flags, 6)));
                } else {
                    p.insert("chatter_filter".into(), json!(bit(flags, 5)));
                    p.insert("reserved".into(), json!(bit(flags, 6)));
                }
                p.insert("state".into(), json!(bit(flags, 7)));
                if let Some(t) = time {
                    p.insert("timestamp".into(), json!(t));
                }
                if let Some(r) = relative {
                    p.insert("relative_time_ms".into(), json!(r));
                }
            }
            Value::DoubleBitBinary { flags, time, relative } => {
                quality(&mut p, flags);
                p.insert("chatter_filter".into(), json!(bit(flags, 5)));
                p.insert("state".into(), json!(flags >> 6));
                if let Some(t) = time {
                    p.insert("timestamp".into(), json!(t));
                }
                if let Some(r) = relative {
                    p.insert("relative_time_ms".into(), json!(r));
                }
            }
            Value::Crob { code, count, on_ms, off_ms, status } => {
                p.insert("op_type".into(), json!(code & 0x0f));
                p.insert("qu".into(), json!(bit(code, 4)));
                p.insert("cr".into(), json!(bit(code, 5)));
                p.insert("tcc".into(), json!(code >> 6));
                p.insert("count".into(), json!(count));
                p.insert("ontime".into(), json!(on_ms));
                p.insert("offtime".into(), json!(off_ms));
                p.insert("status_code".into(), json!(status & 0x7f));
                p.insert("reserved".into(), json!(status >> 7));
            }
            Value::Counter { flags, value, time } => {
                if let Some(f) = flags {
                    quality(&mut p, f);
                    p.insert("rollover".into(), json!(bit(f, 5)));
                    p.insert("discontinuity".into(), json!(bit(f, 6)));
                    p.insert("reserved0".into(), json!(bit(f, 7)));
                }
                p.insert("count".into(), json!(value));
                if let Some(t) = time {
                    p.insert("timestamp".into(), json!(t));
                }
            }
            Value::Analog { flags, value, time } => {
                if let Some(f) = flags {
                    if group == 43 {
                        p.insert("control_status".into(), json!(f));
                    } else {
                        quality(&mut p, f);
                        p.insert("over_range".into(), json!(bit(f, 5)));
                        p.insert("reference_err".into(), json!(bit(f, 6)));
                        p.insert("reserved0".into(), json!(bit(f, 7)));
                    }
                }
                p.insert("value".into(), legacy_analog(value));
                if let Some(t) = time {
                    p.insert("timestamp".into(), json!(t));
                }
            }
            Value::AnalogCommand { value, status } => {
                p.insert("value".into(), legacy_analog(value));
                p.insert("control_status".into(), json!(status));
            }
            Value::Deadband(v) => {
                p.insert("value".into(), legacy_analog(v));
            }
            Value::Time(t) => {
                p.insert("timestamp".into(), json!(t));
            }
            Value::TimeInterval { time, interval } => {
                p.insert("timestamp".into(), json!(time));
                p.insert("interval_ms".into(), json!(interval));
            }
            Value::Delay(d) => {
                let key = if variation == 1 { "delay_secs" } else { "delay_ms" };
                p.insert(key.into(), json!(d));
            }
            Value::Attribute { data_type, value } => {
                p.insert("data_type".into(), json!(data_type));
                p.insert("data".into(), json!(legacy_hex(value)));
            }
            Value::Bytes(b) => {
                p.insert("data".into(), json!(legacy_hex(b)));
            }
            Value::None => {}
        }
        Json::Object(p)
    }

    fn analogs() -> Vec<Analog> {
        vec![
            Analog::I16(-5),
            Analog::I16(i16::MAX),
            Analog::I32(i32::MIN),
            Analog::I32(7),
            Analog::F32(1.5),
            Analog::F32(-0.1),
            Analog::F32(f32::NAN),
            Analog::F32(f32::INFINITY),
            Analog::F64(1e300),
            Analog::F64(-2.25),
            Analog::F64(f64::NEG_INFINITY),
            Analog::F64(0.0),
        ]
    }

    fn values(bytes: &[u8]) -> Vec<Value<'_>> {
        let mut v = vec![Value::Bit(true), Value::Bit(false), Value::DoubleBit(0), Value::DoubleBit(3)];
        for flags in [0x00, 0x01, 0x81, 0xff, 0x5a, 0xa5] {
            for (time, relative) in [(None, None), (Some(1_700_000_000_123), None), (None, Some(65_535))] {
                v.push(Value::Binary { flags, time, relative });
                v.push(Value::DoubleBitBinary { flags, time, relative });
            }
            for time in [None, Some(42)] {
                v.push(Value::Counter { flags: Some(flags), value: u32::MAX, time });
                for a in analogs() {
                    v.push(Value::Analog { flags: Some(flags), value: a, time });
                }
            }
            v.push(Value::Crob { code: flags, count: 3, on_ms: 100, off_ms: u32::MAX, status: flags });
            v.push(Value::AnalogCommand { value: Analog::F32(2.5), status: flags });
        }
        v.push(Value::Counter { flags: None, value: 9, time: None });
        for a in analogs() {
            v.push(Value::Analog { flags: None, value: a, time: None });
            v.push(Value::Deadband(a));
            v.push(Value::AnalogCommand { value: a, status: 0 });
        }
        v.push(Value::Time(u64::from(u32::MAX) * 1000));
        v.push(Value::TimeInterval { time: 1, interval: 2 });
        v.push(Value::Delay(500));
        v.push(Value::Attribute { data_type: 1, value: bytes });
        v.push(Value::Attribute { data_type: 6, value: &[] });
        v.push(Value::Bytes(bytes));
        v.push(Value::Bytes(&[]));
        v
    }

    #[test]
    fn points_match_the_former_maps_for_every_shape() {
        let bytes: Vec<u8> = (0..=255u8).chain(0..77).collect();
        let mut checked = 0;
        for value in values(&bytes) {
            for (group, variation) in [(2, 1), (10, 2), (11, 1), (43, 1), (30, 1), (52, 1), (52, 2), (0, 240)]
            {
                for (index, prefix) in [(0, 0), (7, 7), (u32::MAX, 0)] {
                    let rec = PointRecord { index, prefix, group, variation, value };
                    let typed = serde_json::to_string(&rec).expect("serialise");
                    let legacy = serde_json::to_string(&legacy_point(index, prefix, group, variation, value))
                        .expect("serialise");
                    assert_eq!(typed, legacy, "{value:?} g{group}v{variation}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 1000, "{checked}");
    }

    fn written(f: impl FnOnce(&mut JsonWriter<'_>)) -> String {
        let mut v = Vec::new();
        f(&mut JsonWriter::new(&mut v));
        String::from_utf8(v).expect("utf-8")
    }

    #[test]
    fn hand_written_parts_equal_their_serialisation() {
        let bytes: Vec<u8> = (0..=255u8).chain(0..77).collect();
        let mut checked = 0;
        for value in values(&bytes) {
            for (group, variation) in [(2, 1), (10, 2), (11, 1), (43, 1), (30, 1), (52, 1), (52, 2), (0, 240)]
            {
                for (index, prefix) in [(0, 0), (7, 7), (u32::MAX, 0)] {
                    let rec = PointRecord { index, prefix, group, variation, value };
                    let want = serde_json::to_string(&rec).expect("serialise");
                    assert_eq!(written(|w| rec.write(w)), want, "{value:?} g{group}v{variation}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 1000, "{checked}");
        for q in [0x00, 0x01, 0x06, 0x07, 0x17, 0x28, 0x5b] {
            for range in [Range::StartStop { start: 3, stop: 9 }, Range::All, Range::Count(65_535)] {
                let o = Object::new(30, 2, q, range, None, 0);
                assert_eq!(written(|w| o.write(w)), serde_json::to_string(&o).expect("serialise"));
                let t = Object::new(1, 2, q, range, None, 7);
                assert_eq!(written(|w| t.write(w)), serde_json::to_string(&t).expect("serialise"));
            }
        }
        for b in 0..=255u8 {
            let a = AppControl::from(app::Control::from_u8(b));
            assert_eq!(written(|w| a.write(w)), serde_json::to_string(&a).expect("serialise"));
            let l = LinkControl::from(link::Control::from_u8(b));
            assert_eq!(written(|w| l.write(w)), serde_json::to_string(&l).expect("serialise"));
        }
        for elapsed_ms in [None, Some(-1), Some(i128::MAX)] {
            for reason in [None, Some("no_select")] {
                for select_sequence in [None, Some(15)] {
                    for matched in [false, true] {
                        let so = SelectOperate { elapsed_ms, matched, reason, select_sequence };
                        assert_eq!(written(|w| so.write(w)), serde_json::to_string(&so).expect("serialise"));
                    }
                }
            }
        }
        for bits in [0u16, 1, 0x0100, 0x8000, 0xffff, 0x1234] {
            if let Some(iin) = IinRecord::new(Iin { iin1: bits as u8, iin2: (bits >> 8) as u8 }) {
                assert_eq!(written(|w| iin.write(w)), serde_json::to_string(&iin).expect("serialise"));
            }
        }
    }

    #[test]
    fn whole_records_by_hand_equal_their_serialisation() {
        // A response with IIN bits and points (binary inputs with flags,
        // 32-bit analogs with flags, a float), and a READ request.
        let response: Vec<u8> = [
            &[0xC3u8, 0x81, 0x92, 0x04][..],
            &[0x01, 0x02, 0x00, 0x00, 0x03, 0x81, 0x01, 0x80, 0x00],
            &[0x1E, 0x01, 0x00, 0x02, 0x03, 0x01, 0x10, 0x00, 0x00, 0x00, 0x01, 0xFF, 0xFF, 0xFF, 0xFF],
            &[0x1E, 0x05, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0xC0, 0x3F],
        ]
        .concat();
        let read = [0xC1u8, 0x01, 0x3C, 0x02, 0x06, 0x3C, 0x01, 0x06];
        let rsp = app::Fragment::parse(&response).expect("response");
        let req = app::Fragment::parse(&read).expect("request");
        assert!(rsp.objects().clone().count() >= 3);
        let summaries = [
            Some(ObjSummary { group: 60, variation: 2, qualifier: 6, range: Range::All }),
            None,
            Some(ObjSummary {
                group: 1,
                variation: 0,
                qualifier: 0,
                range: Range::StartStop { start: 0, stop: 7 },
            }),
        ];
        let mut checked = 0;
        for frag in [&rsp, &req] {
            for full in [false, true] {
                let rec = Dnp3Record {
                    anomalies: FlagNames(if full {
                        Flags::UNKNOWN_FUNCTION | Flags::UNEXPECTED_OBJECTS
                    } else {
                        frag.flags
                    }),
                    application: Application {
                        complete: full,
                        control: frag.control.into(),
                        function: frag.function.name(),
                        function_code: frag.function.to_u8(),
                        objects: Objects(frag.objects()),
                    },
                    continuation: full,
                    control: link::Control::from_u8(if full { 0xC4 } else { 0x44 }).into(),
                    dst: 10,
                    id: u64::MAX,
                    iin: frag.iin.and_then(IinRecord::new),
                    request: full.then(|| Request {
                        application: RequestApplication {
                            control: req.control.into(),
                            function: req.function.name(),
                            function_code: req.function.to_u8(),
                            objects: Summaries(&summaries),
                            objects_truncated: 3,
                        },
                        dst: 10,
                        src: 1,
                    }),
                    select_operate: full.then_some(SelectOperate {
                        elapsed_ms: Some(250),
                        matched: true,
                        reason: None,
                        select_sequence: Some(4),
                    }),
                    src: 1,
                    suppressed: if full { 12 } else { 0 },
                    transport: if full { "udp" } else { "tcp" },
                    kind: if full { "unsolicited_response" } else { "response" },
                    unmatched: full,
                };
                let want = serde_json::to_string(&rec).expect("serialise");
                assert_eq!(written(|w| rec.write(w)), want);
                checked += 1;
            }
        }
        assert_eq!(checked, 4);
    }

    #[test]
    fn hex_writes_every_octet_across_chunks() {
        let bytes: Vec<u8> = (0..=255u8).chain(0..=255).collect();
        assert_eq!(Hex(&bytes).to_string(), legacy_hex(&bytes));
        assert_eq!(Hex(&[]).to_string(), "");
        assert_eq!(serde_json::to_string(&Hex(&[0xab, 0x01])).expect("serialise"), "\"ab01\"");
    }

    #[test]
    fn headers_and_controls_match_the_former_maps() {
        for q in [0x00, 0x01, 0x06, 0x07, 0x17, 0x28, 0x5b] {
            for range in [Range::StartStop { start: 3, stop: 9 }, Range::All, Range::Count(65_535)] {
                let (start, stop, count) = range_fields(range);
                let legacy = json!({"group": 30, "variation": 2, "qualifier": q, "prefix_code": (q >> 4) & 7,
                    "range_code": q & 0x0f, "start": start, "stop": stop, "count": count});
                let typed = Object::new(30, 2, q, range, None, 0);
                assert_eq!(serde_json::to_string(&typed).ok(), serde_json::to_string(&legacy).ok());
            }
        }
        for b in 0..=255u8 {
            let c = app::Control::from_u8(b);
            let legacy = json!({"fir": c.fir, "fin": c.fin, "con": c.con, "uns": c.uns, "sequence": c.seq});
            assert_eq!(serde_json::to_string(&AppControl::from(c)).ok(), serde_json::to_string(&legacy).ok());
            let l = link::Control::from_u8(b);
            let legacy = json!({"dir": l.dir, "pri": l.prm, "fcb": l.fcb, "fcv": l.fcv_dfc,
                "function_code": l.function.code()});
            assert_eq!(
                serde_json::to_string(&LinkControl::from(l)).ok(),
                serde_json::to_string(&legacy).ok()
            );
        }
        let so =
            SelectOperate { elapsed_ms: Some(12), matched: true, reason: None, select_sequence: Some(3) };
        let legacy = json!({"select_sequence": 3, "match": true, "elapsed_ms": 12});
        assert_eq!(serde_json::to_string(&so).ok(), serde_json::to_string(&legacy).ok());
        let so = SelectOperate {
            elapsed_ms: None,
            matched: false,
            reason: Some("no_select"),
            select_sequence: None,
        };
        assert_eq!(serde_json::to_value(so).ok(), Some(json!({"match": false, "reason": "no_select"})));
    }
}
