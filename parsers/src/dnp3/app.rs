//! DNP3 application layer (IEEE 1815-2012 §4.2.2, object library Annex A).
//!
//! ```text
//! request:  | AC | FC | object header | objects | object header | ...
//! response: | AC | FC | IIN1 | IIN2 | object header | objects | ...
//! object header: | group | variation | qualifier | range (0, 1, 2, 4 or 8 octets) |
//! ```
//!
//! [`Fragment::parse`] reads the application control, the function code,
//! the IIN of responses and then walks the object area **once**, checking
//! every qualifier, range and object size against the table in
//! [`object_kind`]. The walk stops at the first problem (unknown
//! group/variation, bad qualifier, bad range, truncation) and records it as
//! an anomaly flag; the fragment is still returned and the headers before the
//! problem stay iterable. Iterating ([`Fragment::objects`] →
//! [`ObjectHeader::points`]) re-reads only validated octets and cannot fail.
//!
//! Whether objects carry data depends on the function: a READ lists headers
//! only, a WRITE or a response carries the objects (see [`carries_data`]).
//!
//! Semantic checks (UNS against the function, FIR/FIN of requests, IIN sent
//! by a master…) are a separate step: [`Fragment::check`].

use super::Flags;
use crate::limits::dnp3 as lim;

/// Why a fragment could not be parsed at all. Problems inside the object
/// area are not errors: they are [`Flags`] on the returned [`Fragment`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The fragment is shorter than its header (2 octets, 4 for responses).
    Incomplete {
        /// Octets missing.
        needed: usize,
    },
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::Incomplete { needed } => {
                write!(f, "incomplete application header: {needed} more octets needed")
            }
        }
    }
}

/// Application control octet (§4.2.2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Control {
    /// First fragment of a message.
    pub fir: bool,
    /// Final fragment of a message.
    pub fin: bool,
    /// Confirmation requested.
    pub con: bool,
    /// Unsolicited response (or its confirmation).
    pub uns: bool,
    /// Sequence number 0..=15.
    pub seq: u8,
}

impl Control {
    /// Decode the octet.
    pub const fn from_u8(b: u8) -> Control {
        Control {
            fir: b & 0x80 != 0,
            fin: b & 0x40 != 0,
            con: b & 0x20 != 0,
            uns: b & 0x10 != 0,
            seq: b & 0x0f,
        }
    }

    /// Encode the octet.
    pub const fn to_u8(self) -> u8 {
        (if self.fir { 0x80 } else { 0 })
            | (if self.fin { 0x40 } else { 0 })
            | (if self.con { 0x20 } else { 0 })
            | (if self.uns { 0x10 } else { 0 })
            | (self.seq & 0x0f)
    }
}

macro_rules! function_codes {
    ($($(#[$doc:meta])* $name:ident = $code:literal, $text:literal;)*) => {
        /// Application function code (Tables 4-1, 4-2). Open: undefined
        /// codes are [`FunctionCode::Unknown`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum FunctionCode {
            $($(#[$doc])* $name,)*
            /// A code IEEE 1815-2012 does not define.
            Unknown(u8),
        }

        impl FunctionCode {
            /// Decode a function code octet.
            pub const fn from_u8(b: u8) -> FunctionCode {
                match b {
                    $($code => FunctionCode::$name,)*
                    other => FunctionCode::Unknown(other),
                }
            }

            /// The code octet.
            pub const fn to_u8(self) -> u8 {
                match self {
                    $(FunctionCode::$name => $code,)*
                    FunctionCode::Unknown(b) => b,
                }
            }

            /// The standard's upper-case name, or `"UNKNOWN"`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(FunctionCode::$name => $text,)*
                    FunctionCode::Unknown(_) => "UNKNOWN",
                }
            }
        }
    };
}

function_codes! {
    /// 0x00 CONFIRM.
    Confirm = 0x00, "CONFIRM";
    /// 0x01 READ.
    Read = 0x01, "READ";
    /// 0x02 WRITE.
    Write = 0x02, "WRITE";
    /// 0x03 SELECT.
    Select = 0x03, "SELECT";
    /// 0x04 OPERATE.
    Operate = 0x04, "OPERATE";
    /// 0x05 DIRECT_OPERATE.
    DirectOperate = 0x05, "DIRECT_OPERATE";
    /// 0x06 DIRECT_OPERATE_NR.
    DirectOperateNoResponse = 0x06, "DIRECT_OPERATE_NR";
    /// 0x07 IMMED_FREEZE.
    ImmediateFreeze = 0x07, "IMMED_FREEZE";
    /// 0x08 IMMED_FREEZE_NR.
    ImmediateFreezeNoResponse = 0x08, "IMMED_FREEZE_NR";
    /// 0x09 FREEZE_CLEAR.
    FreezeClear = 0x09, "FREEZE_CLEAR";
    /// 0x0A FREEZE_CLEAR_NR.
    FreezeClearNoResponse = 0x0a, "FREEZE_CLEAR_NR";
    /// 0x0B FREEZE_AT_TIME.
    FreezeAtTime = 0x0b, "FREEZE_AT_TIME";
    /// 0x0C FREEZE_AT_TIME_NR.
    FreezeAtTimeNoResponse = 0x0c, "FREEZE_AT_TIME_NR";
    /// 0x0D COLD_RESTART.
    ColdRestart = 0x0d, "COLD_RESTART";
    /// 0x0E WARM_RESTART.
    WarmRestart = 0x0e, "WARM_RESTART";
    /// 0x0F INITIALIZE_DATA (obsolete).
    InitializeData = 0x0f, "INITIALIZE_DATA";
    /// 0x10 INITIALIZE_APPL.
    InitializeApplication = 0x10, "INITIALIZE_APPL";
    /// 0x11 START_APPL.
    StartApplication = 0x11, "START_APPL";
    /// 0x12 STOP_APPL.
    StopApplication = 0x12, "STOP_APPL";
    /// 0x13 SAVE_CONFIG (deprecated).
    SaveConfiguration = 0x13, "SAVE_CONFIG";
    /// 0x14 ENABLE_UNSOLICITED.
    EnableUnsolicited = 0x14, "ENABLE_UNSOLICITED";
    /// 0x15 DISABLE_UNSOLICITED.
    DisableUnsolicited = 0x15, "DISABLE_UNSOLICITED";
    /// 0x16 ASSIGN_CLASS.
    AssignClass = 0x16, "ASSIGN_CLASS";
    /// 0x17 DELAY_MEASURE.
    DelayMeasure = 0x17, "DELAY_MEASURE";
    /// 0x18 RECORD_CURRENT_TIME.
    RecordCurrentTime = 0x18, "RECORD_CURRENT_TIME";
    /// 0x19 OPEN_FILE.
    OpenFile = 0x19, "OPEN_FILE";
    /// 0x1A CLOSE_FILE.
    CloseFile = 0x1a, "CLOSE_FILE";
    /// 0x1B DELETE_FILE.
    DeleteFile = 0x1b, "DELETE_FILE";
    /// 0x1C GET_FILE_INFO.
    GetFileInfo = 0x1c, "GET_FILE_INFO";
    /// 0x1D AUTHENTICATE_FILE.
    AuthenticateFile = 0x1d, "AUTHENTICATE_FILE";
    /// 0x1E ABORT_FILE.
    AbortFile = 0x1e, "ABORT_FILE";
    /// 0x1F ACTIVATE_CONFIG.
    ActivateConfig = 0x1f, "ACTIVATE_CONFIG";
    /// 0x20 AUTHENTICATE_REQ.
    AuthenticateRequest = 0x20, "AUTHENTICATE_REQ";
    /// 0x21 AUTH_REQ_NO_ACK.
    AuthenticateRequestNoAck = 0x21, "AUTH_REQ_NO_ACK";
    /// 0x81 RESPONSE.
    Response = 0x81, "RESPONSE";
    /// 0x82 UNSOLICITED_RESPONSE.
    UnsolicitedResponse = 0x82, "UNSOLICITED_RESPONSE";
    /// 0x83 AUTHENTICATE_RESP.
    AuthenticateResponse = 0x83, "AUTHENTICATE_RESP";
}

impl FunctionCode {
    /// Whether this is a response (carries IIN).
    pub const fn is_response(self) -> bool {
        matches!(
            self,
            FunctionCode::Response | FunctionCode::UnsolicitedResponse | FunctionCode::AuthenticateResponse
        )
    }

    /// Whether this is a defined request code (0x00–0x21).
    pub const fn is_request(self) -> bool {
        !self.is_response() && !matches!(self, FunctionCode::Unknown(_))
    }
}

/// Internal indications of a response (§4.2.2.6): IIN1 and IIN2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Iin {
    /// First octet (IIN1.0 … IIN1.7).
    pub iin1: u8,
    /// Second octet (IIN2.0 … IIN2.7).
    pub iin2: u8,
}

impl Iin {
    /// The 16 flags' names, IIN1.0 first.
    pub const NAMES: [&'static str; 16] = [
        "broadcast",
        "class_1_events",
        "class_2_events",
        "class_3_events",
        "need_time",
        "local_control",
        "device_trouble",
        "device_restart",
        "no_func_code_support",
        "object_unknown",
        "parameter_error",
        "event_buffer_overflow",
        "already_executing",
        "config_corrupt",
        "reserved_2",
        "reserved_1",
    ];

    /// The 16 bits, IIN1 in the low octet (bit `n` = IIN1.n, bit `8 + n` = IIN2.n).
    pub const fn bits(self) -> u16 {
        self.iin1 as u16 | (self.iin2 as u16) << 8
    }

    /// Whether flag `n` (0..16, index into [`Iin::NAMES`]) is set.
    pub const fn get(self, n: u8) -> bool {
        n < 16 && self.bits() & (1 << n) != 0
    }

    /// Names of the set flags.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Iin::NAMES.iter().enumerate().filter(move |(i, _)| self.get(*i as u8)).map(|(_, n)| *n)
    }
}

/// Object prefix code (qualifier bits 6–4, Table 4-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prefix {
    /// 0: objects packed without a prefix.
    None,
    /// 1–3: each object prefixed by a 1/2/4-octet index.
    Index(u8),
    /// 4–6: each object prefixed by a 1/2/4-octet object size.
    Size(u8),
    /// 7: reserved.
    Reserved,
}

/// The qualifier octet (§4.2.2.7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Qualifier(u8);

impl Qualifier {
    /// Wrap a qualifier octet.
    pub const fn new(b: u8) -> Qualifier {
        Qualifier(b)
    }
    /// The octet.
    pub const fn raw(self) -> u8 {
        self.0
    }
    /// Range specifier code (bits 3–0).
    pub const fn range_code(self) -> u8 {
        self.0 & 0x0f
    }
    /// Object prefix (bits 6–4).
    pub const fn prefix(self) -> Prefix {
        match (self.0 >> 4) & 0x07 {
            0 => Prefix::None,
            1 => Prefix::Index(1),
            2 => Prefix::Index(2),
            3 => Prefix::Index(4),
            4 => Prefix::Size(1),
            5 => Prefix::Size(2),
            6 => Prefix::Size(4),
            _ => Prefix::Reserved,
        }
    }
}

/// The range field of an object header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Range {
    /// Codes 0–5: start and stop index (or virtual address), inclusive.
    StartStop {
        /// First index.
        start: u32,
        /// Last index (≥ start).
        stop: u32,
    },
    /// Code 6: all objects, no range field.
    All,
    /// Codes 7–9 and 0xB: a count of objects.
    Count(u32),
}

impl Range {
    /// Number of objects the range denotes (0 for `All`).
    pub const fn count(self) -> u64 {
        match self {
            Range::StartStop { start, stop } => (stop as u64).saturating_sub(start as u64) + 1,
            Range::All => 0,
            Range::Count(n) => n as u64,
        }
    }
}

/// Analog value of any width (negative values stay negative).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Analog {
    /// 16-bit signed.
    I16(i16),
    /// 32-bit signed.
    I32(i32),
    /// Single-precision float.
    F32(f32),
    /// Double-precision float.
    F64(f64),
}

impl core::fmt::Display for Analog {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Analog::I16(v) => write!(f, "{v}"),
            Analog::I32(v) => write!(f, "{v}"),
            Analog::F32(v) => write!(f, "{v}"),
            Analog::F64(v) => write!(f, "{v}"),
        }
    }
}

/// Width/type of an analog value in the object table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnalogType {
    /// i16.
    I16,
    /// i32.
    I32,
    /// f32.
    F32,
    /// f64.
    F64,
}

impl AnalogType {
    const fn size(self) -> usize {
        match self {
            AnalogType::I16 => 2,
            AnalogType::I32 | AnalogType::F32 => 4,
            AnalogType::F64 => 8,
        }
    }
}

/// How an object of a group/variation is laid out (Annex A). The table is
/// [`object_kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// One bit per point, packed (g1v1, g10v1, g12v3, g80v1).
    PackedBit,
    /// Two bits per point, packed (g3v1).
    PackedDoubleBit,
    /// Flags octet, state in bit 7 (g1v2, g2, g10v2, g11, g13), optionally
    /// with 48-bit absolute time or 16-bit relative time.
    Binary {
        /// Absolute time follows.
        time: bool,
        /// Relative time follows.
        relative: bool,
    },
    /// Flags octet, state in bits 7–6 (g3v2, g4).
    DoubleBit {
        /// Absolute time follows.
        time: bool,
        /// Relative time follows.
        relative: bool,
    },
    /// Control relay output block / pattern control block (g12v1, g12v2).
    Crob,
    /// Counter (g20–g23).
    Counter {
        /// Flags octet first.
        flags: bool,
        /// 32-bit (else 16-bit) value.
        wide: bool,
        /// 48-bit time last.
        time: bool,
    },
    /// Analog input/output status/event (g30–g33, g40, g42; g43 with the
    /// status octet first).
    Analog {
        /// Flags (or command status) octet first.
        flags: bool,
        /// Value type.
        ty: AnalogType,
        /// 48-bit time last.
        time: bool,
    },
    /// Analog output command: value then status octet (g41).
    AnalogCommand(AnalogType),
    /// Analog deadband, unsigned 16/32-bit or float (g34).
    Deadband(AnalogType),
    /// 48-bit absolute time (g50v1, g50v3, g51).
    Time,
    /// Time and 32-bit interval (g50v2).
    TimeInterval,
    /// Time delay, 16-bit (g52).
    Delay,
    /// Device attribute: data type, length, value (g0).
    Attribute,
    /// Octet string whose length is the variation (g110–g113).
    Octets(u8),
    /// Fixed size the decoder keeps raw (g50v4, g81, g102, g121, g122).
    Raw(u8),
    /// Variable size: only legal with a size prefix (g70, g82–g91, g120).
    Variable,
    /// No object data (g60 class data).
    NoData,
}

/// Layout of object size: fixed octets, packed bits, self-sized or needing
/// a size prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Size {
    Fixed(usize),
    Packed(usize),
    Attribute,
    Variable,
}

impl Kind {
    #[inline]
    const fn size(self) -> Size {
        match self {
            Kind::PackedBit => Size::Packed(1),
            Kind::PackedDoubleBit => Size::Packed(2),
            Kind::Binary { time, relative } | Kind::DoubleBit { time, relative } => {
                Size::Fixed(1 + if time { 6 } else { 0 } + if relative { 2 } else { 0 })
            }
            Kind::Crob => Size::Fixed(11),
            Kind::Counter { flags, wide, time } => {
                Size::Fixed(flags as usize + if wide { 4 } else { 2 } + if time { 6 } else { 0 })
            }
            Kind::Analog { flags, ty, time } => {
                Size::Fixed(flags as usize + ty.size() + if time { 6 } else { 0 })
            }
            Kind::AnalogCommand(ty) => Size::Fixed(ty.size() + 1),
            Kind::Deadband(ty) => Size::Fixed(ty.size()),
            Kind::Time => Size::Fixed(6),
            Kind::TimeInterval => Size::Fixed(10),
            Kind::Delay => Size::Fixed(2),
            Kind::Attribute => Size::Attribute,
            Kind::Octets(n) | Kind::Raw(n) => Size::Fixed(n as usize),
            Kind::Variable => Size::Variable,
            Kind::NoData => Size::Fixed(0),
        }
    }
}

/// The object table (IEEE 1815-2012 Annex A): the layout of every standard
/// group/variation, `None` for undefined ones.
// One `(group, variation)` pair per alternative keeps the table readable
// against Annex A; nesting the or-patterns would hide the pairs.
#[allow(clippy::unnested_or_patterns)]
pub const fn object_kind(group: u8, variation: u8) -> Option<Kind> {
    use AnalogType::{F32, F64, I16, I32};
    const fn an(flags: bool, ty: AnalogType, time: bool) -> Option<Kind> {
        Some(Kind::Analog { flags, ty, time })
    }
    const fn ctr(flags: bool, wide: bool, time: bool) -> Option<Kind> {
        Some(Kind::Counter { flags, wide, time })
    }
    const B: Option<Kind> = Some(Kind::Binary { time: false, relative: false });
    const BT: Option<Kind> = Some(Kind::Binary { time: true, relative: false });
    const BR: Option<Kind> = Some(Kind::Binary { time: false, relative: true });
    const D: Option<Kind> = Some(Kind::DoubleBit { time: false, relative: false });
    const DT: Option<Kind> = Some(Kind::DoubleBit { time: true, relative: false });
    const DR: Option<Kind> = Some(Kind::DoubleBit { time: false, relative: true });
    match (group, variation) {
        (0, 1..=255) => Some(Kind::Attribute),
        (1, 1) | (10, 1) | (12, 3) | (80, 1) => Some(Kind::PackedBit),
        (1, 2) | (10, 2) | (11, 1) | (13, 1) | (2, 1) => B,
        (2, 2) | (11, 2) | (13, 2) => BT,
        (2, 3) => BR,
        (3, 1) => Some(Kind::PackedDoubleBit),
        (3, 2) | (4, 1) => D,
        (4, 2) => DT,
        (4, 3) => DR,
        (12, 1) | (12, 2) => Some(Kind::Crob),
        // counters (g20), frozen counters (g21), events (g22, g23)
        (20..=23, 1) | (20..=23, 3) => ctr(true, true, false),
        (20..=23, 2) | (20..=23, 4) => ctr(true, false, false),
        (20, 5) | (20, 7) | (21, 9) | (21, 11) => ctr(false, true, false),
        (20, 6) | (20, 8) | (21, 10) | (21, 12) => ctr(false, false, false),
        (21..=23, 5) | (21..=23, 7) => ctr(true, true, true),
        (21..=23, 6) | (21..=23, 8) => ctr(true, false, true),
        // analog inputs
        (30, 1) | (31, 1) | (32, 1) | (33, 1) | (40, 1) | (42, 1) | (43, 1) => an(true, I32, false),
        (30, 2) | (31, 2) | (32, 2) | (33, 2) | (40, 2) | (42, 2) | (43, 2) => an(true, I16, false),
        (30, 3) | (31, 5) => an(false, I32, false),
        (30, 4) | (31, 6) => an(false, I16, false),
        (30, 5) | (31, 7) | (32, 5) | (33, 5) | (40, 3) | (42, 5) | (43, 5) => an(true, F32, false),
        (30, 6) | (31, 8) | (32, 6) | (33, 6) | (40, 4) | (42, 6) | (43, 6) => an(true, F64, false),
        (31, 3) | (32, 3) | (33, 3) | (42, 3) | (43, 3) => an(true, I32, true),
        (31, 4) | (32, 4) | (33, 4) | (42, 4) | (43, 4) => an(true, I16, true),
        (32, 7) | (33, 7) | (42, 7) | (43, 7) => an(true, F32, true),
        (32, 8) | (33, 8) | (42, 8) | (43, 8) => an(true, F64, true),
        (34, 1) => Some(Kind::Deadband(I16)),
        (34, 2) => Some(Kind::Deadband(I32)),
        (34, 3) => Some(Kind::Deadband(F32)),
        (41, 1) => Some(Kind::AnalogCommand(I32)),
        (41, 2) => Some(Kind::AnalogCommand(I16)),
        (41, 3) => Some(Kind::AnalogCommand(F32)),
        (41, 4) => Some(Kind::AnalogCommand(F64)),
        (50, 1) | (50, 3) | (51, 1) | (51, 2) => Some(Kind::Time),
        (50, 2) => Some(Kind::TimeInterval),
        (50, 4) => Some(Kind::Raw(11)),
        (52, 1) | (52, 2) => Some(Kind::Delay),
        (60, 1..=4) => Some(Kind::NoData),
        (70, 1..=8) => Some(Kind::Variable),
        (81, 1) => Some(Kind::Raw(3)),
        (82, 1) | (83, 1) | (83, 2) | (85, 1) | (86, 1..=3) | (87, 1) | (88, 1) | (90, 1) | (91, 1) => {
            Some(Kind::Variable)
        }
        (102, 1) => Some(Kind::Raw(1)),
        (110..=113, 1..=255) => Some(Kind::Octets(variation)),
        // SAv5: v3 aggressive mode request (CSQ u32, user u16) and v4 session
        // key status request (user u16) are fixed and sent with 0x07.
        (120, 3) => Some(Kind::Raw(6)),
        (120, 4) => Some(Kind::Raw(2)),
        (120, 1..=15) => Some(Kind::Variable),
        (121, 1) | (122, 1) => Some(Kind::Raw(7)),
        (122, 2) => Some(Kind::Raw(13)),
        _ => None,
    }
}

/// Variations below this are looked up in [`KIND_TABLE`].
const KIND_TABLE_VARIATIONS: usize = 16;

/// [`object_kind`] of every group for variations `0..KIND_TABLE_VARIATIONS`
/// (which cover every standard variation except those of g0, g110–g113),
/// computed at compile time: the per-header lookup of the fragment parse is
/// one load instead of the table's decision tree. 16 KiB.
static KIND_TABLE: [[Option<Kind>; KIND_TABLE_VARIATIONS]; 256] = {
    let mut t = [[None; KIND_TABLE_VARIATIONS]; 256];
    let mut g = 0;
    while g < 256 {
        let mut v = 0;
        while v < KIND_TABLE_VARIATIONS {
            t[g][v] = object_kind(g as u8, v as u8);
            v += 1;
        }
        g += 1;
    }
    t
};

/// [`object_kind`], from [`KIND_TABLE`] when the variation is in it.
#[inline]
fn kind_of(group: u8, variation: u8) -> Option<Kind> {
    match KIND_TABLE[usize::from(group)].get(usize::from(variation)) {
        Some(k) => *k,
        None => object_kind(group, variation),
    }
}

/// Whether objects of `group` carry data after their header under
/// `function` (a READ or FREEZE lists headers only; §4.4).
pub const fn carries_data(function: FunctionCode, group: u8) -> bool {
    use FunctionCode as F;
    match function {
        F::Read
        | F::ImmediateFreeze
        | F::ImmediateFreezeNoResponse
        | F::FreezeClear
        | F::FreezeClearNoResponse
        | F::EnableUnsolicited
        | F::DisableUnsolicited
        | F::AssignClass
        | F::Confirm
        | F::ColdRestart
        | F::WarmRestart
        | F::DelayMeasure
        | F::RecordCurrentTime
        | F::Unknown(_) => false,
        F::FreezeAtTime | F::FreezeAtTimeNoResponse => group == 50,
        _ => true,
    }
}

/// Whether `function` may be followed by object headers at all.
const fn takes_objects(function: FunctionCode) -> bool {
    !matches!(
        function,
        FunctionCode::Confirm
            | FunctionCode::ColdRestart
            | FunctionCode::WarmRestart
            | FunctionCode::DelayMeasure
            | FunctionCode::RecordCurrentTime
    )
}

/// One object header with its objects, borrowed from the fragment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ObjectHeader<'a> {
    /// Object group.
    pub group: u8,
    /// Object variation.
    pub variation: u8,
    /// Qualifier.
    pub qualifier: Qualifier,
    /// Range or count.
    pub range: Range,
    /// The layout used for the objects (`NoData` for header-only requests).
    pub kind: Kind,
    /// The octets after the header belonging to this header's objects
    /// (prefixes included).
    pub data: &'a [u8],
}

/// A validated application fragment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fragment<'a> {
    /// Application control.
    pub control: Control,
    /// Function code.
    pub function: FunctionCode,
    /// IIN, for responses.
    pub iin: Option<Iin>,
    /// Syntax anomalies found while validating the object area.
    pub flags: Flags,
    /// Number of object headers validated (iterable by [`Fragment::objects`]).
    pub object_count: usize,
    /// Whole fragment.
    raw: &'a [u8],
    /// The validated prefix of the object area.
    objects: &'a [u8],
    /// Offset within the object area where validation stopped (== its
    /// length when everything validated).
    stopped_at: usize,
}

impl<'a> Fragment<'a> {
    /// Parse the header and validate every object header in one pass.
    #[inline]
    pub fn parse(bytes: &'a [u8]) -> Result<Fragment<'a>, Error> {
        let [ac, fc, rest @ ..] = bytes else {
            return Err(Error::Incomplete { needed: 2usize.saturating_sub(bytes.len()) });
        };
        let control = Control::from_u8(*ac);
        let function = FunctionCode::from_u8(*fc);
        let (iin, area) = if function.is_response() {
            let [i1, i2, rest @ ..] = rest else {
                return Err(Error::Incomplete { needed: 4usize.saturating_sub(bytes.len()) });
            };
            (Some(Iin { iin1: *i1, iin2: *i2 }), rest)
        } else {
            (None, rest)
        };
        let mut flags = Flags::NONE;
        if matches!(function, FunctionCode::Unknown(_)) {
            flags |= Flags::UNKNOWN_FUNCTION;
        }
        if !area.is_empty() && !takes_objects(function) {
            flags |= Flags::UNEXPECTED_OBJECTS;
        }
        let mut pos = 0usize;
        let mut count = 0usize;
        if !matches!(function, FunctionCode::Unknown(_)) {
            while pos < area.len() {
                if count >= lim::APP_MAX_OBJECT_HEADERS {
                    flags |= Flags::TOO_MANY_OBJECTS;
                    break;
                }
                match parse_object(area, pos, function) {
                    Ok((hdr, next)) => {
                        if !carries_data(function, hdr.group)
                            && kind_of(hdr.group, hdr.variation).is_none()
                            && !(hdr.variation == 0 && group_known(hdr.group))
                        {
                            flags |= Flags::UNKNOWN_OBJECT;
                        }
                        pos = next;
                        count += 1;
                    }
                    Err(f) => {
                        flags |= f;
                        break;
                    }
                }
            }
        }
        Ok(Fragment {
            control,
            function,
            iin,
            flags,
            object_count: count,
            raw: bytes,
            objects: area.get(..pos).unwrap_or_default(),
            stopped_at: pos,
        })
    }

    /// The whole fragment's octets.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether the whole object area validated (no object flag).
    pub fn complete(&self) -> bool {
        self.stopped_at == self.raw.len().saturating_sub(if self.iin.is_some() { 4 } else { 2 })
    }

    /// Lazily iterate the validated object headers.
    pub fn objects(&self) -> Objects<'a> {
        Objects { area: self.objects, pos: 0, function: self.function }
    }

    /// Semantic checks, separate from parsing: UNS against the function,
    /// FIR/FIN of single-fragment messages, a master sending IIN, an
    /// outstation sending a request, IIN reserved bits. `from_master` is the
    /// link DIR bit when known.
    #[inline]
    pub fn check(&self, from_master: Option<bool>) -> Flags {
        use FunctionCode as F;
        let mut f = Flags::NONE;
        let c = self.control;
        match self.function {
            F::UnsolicitedResponse => {
                if !c.uns {
                    f |= Flags::BAD_UNS;
                }
            }
            F::Confirm => {}
            _ => {
                if c.uns {
                    f |= Flags::BAD_UNS;
                }
            }
        }
        // Requests and unsolicited responses are single fragments (§4.2.2.4).
        let single = self.function.is_request() || self.function == F::UnsolicitedResponse;
        if single && !(c.fir && c.fin) {
            f |= Flags::BAD_FIR_FIN;
        }
        if matches!(self.function, F::Unknown(_)) {
            f |= Flags::UNKNOWN_FUNCTION;
        }
        match from_master {
            Some(true) if self.function.is_response() => f |= Flags::UNEXPECTED_IIN,
            Some(false) if self.function.is_request() && self.function != F::Confirm => {
                f |= Flags::REQUEST_FROM_OUTSTATION;
            }
            _ => {}
        }
        if self.iin.is_some_and(|iin| iin.iin2 & 0xc0 != 0) {
            f |= Flags::IIN_RESERVED_BITS;
        }
        f
    }
}

/// Whether any variation of `group` is defined (used for variation 0,
/// "any variation", in READ requests).
const fn group_known(group: u8) -> bool {
    matches!(group, 0..=4 | 10..=13 | 20..=23 | 30..=34 | 40..=43 | 50..=52 | 60 | 70 | 80..=83 | 85..=88 | 90 | 91 | 101 | 102 | 110..=113 | 120..=122)
}

fn read_uint(b: &[u8], pos: usize, width: u8) -> Option<u32> {
    Some(match width {
        1 => *b.get(pos)? as u32,
        2 => u16::from_le_bytes(*b.get(pos..)?.first_chunk::<2>()?) as u32,
        _ => u32::from_le_bytes(*b.get(pos..)?.first_chunk::<4>()?),
    })
}

/// Read one object header at `area[pos..]` and the extent of its objects.
/// Returns the header and the offset after its objects, or the flag that
/// stops validation.
#[inline]
fn parse_object(area: &[u8], pos: usize, function: FunctionCode) -> Result<(ObjectHeader<'_>, usize), Flags> {
    let hdr = area.get(pos..).unwrap_or_default();
    let [group, variation, qual, ..] = *hdr else {
        return Err(Flags::TRUNCATED_OBJECT);
    };
    let qualifier = Qualifier(qual);
    let mut p = pos + 3;
    let range = match qualifier.range_code() {
        code @ 0..=5 => {
            let w = [1u8, 2, 4][(code % 3) as usize];
            let start = read_uint(area, p, w).ok_or(Flags::TRUNCATED_OBJECT)?;
            let stop = read_uint(area, p + w as usize, w).ok_or(Flags::TRUNCATED_OBJECT)?;
            p += 2 * w as usize;
            if start > stop {
                return Err(Flags::BAD_RANGE);
            }
            Range::StartStop { start, stop }
        }
        6 => Range::All,
        code @ (7..=9 | 0x0b) => {
            let w = match code {
                8 => 2,
                9 => 4,
                _ => 1,
            };
            let n = read_uint(area, p, w).ok_or(Flags::TRUNCATED_OBJECT)?;
            p += w as usize;
            Range::Count(n)
        }
        _ => return Err(Flags::BAD_QUALIFIER),
    };
    let prefix = qualifier.prefix();
    // Legal prefix/range combinations (Table 4-5).
    match (prefix, range) {
        (Prefix::Reserved, _) => return Err(Flags::BAD_QUALIFIER),
        (Prefix::None, _) if qualifier.range_code() == 0x0b => return Err(Flags::BAD_QUALIFIER),
        (Prefix::Index(_) | Prefix::Size(_), Range::StartStop { .. } | Range::All) => {
            return Err(Flags::BAD_QUALIFIER);
        }
        _ => {}
    }
    let kind = if carries_data(function, group) {
        kind_of(group, variation).ok_or(Flags::UNKNOWN_OBJECT)?
    } else {
        Kind::NoData
    };
    let start = p;
    let n = range.count();
    let rest_len = area.len().saturating_sub(start) as u64;
    let end = match prefix {
        Prefix::None => match (kind.size(), range) {
            (Size::Fixed(0), _) => start,
            (_, Range::All) => return Err(Flags::BAD_QUALIFIER),
            (Size::Fixed(s), _) => {
                let len =
                    n.checked_mul(s as u64).filter(|&l| l <= rest_len).ok_or(Flags::TRUNCATED_OBJECT)?;
                start + len as usize
            }
            (Size::Packed(bits), _) => {
                let len = n.checked_mul(bits as u64).map(|b| b.div_ceil(8)).filter(|&l| l <= rest_len);
                start + len.ok_or(Flags::TRUNCATED_OBJECT)? as usize
            }
            (Size::Attribute, _) => walk(area, start, n, 0, attribute_len)?,
            (Size::Variable, _) => return Err(Flags::BAD_QUALIFIER),
        },
        Prefix::Index(w) => match kind.size() {
            Size::Fixed(s) => {
                let len = n
                    .checked_mul(s as u64 + w as u64)
                    .filter(|&l| l <= rest_len)
                    .ok_or(Flags::TRUNCATED_OBJECT)?;
                start + len as usize
            }
            Size::Attribute => walk(area, start, n, w as usize, attribute_len)?,
            Size::Packed(_) | Size::Variable => return Err(Flags::BAD_QUALIFIER),
        },
        Prefix::Size(w) => {
            let mut q = start;
            let mut i = 0u64;
            while i < n {
                let s = read_uint(area, q, w).ok_or(Flags::TRUNCATED_OBJECT)? as u64;
                let next = (q as u64).checked_add(w as u64 + s).filter(|&e| e <= area.len() as u64);
                q = next.ok_or(Flags::TRUNCATED_OBJECT)? as usize;
                i += 1;
            }
            q
        }
        Prefix::Reserved => return Err(Flags::BAD_QUALIFIER),
    };
    let data = area.get(start..end).ok_or(Flags::TRUNCATED_OBJECT)?;
    Ok((ObjectHeader { group, variation, qualifier, range, kind, data }, end))
}

/// Length of a g0 attribute object (type, length, value) at the start of `obj`.
fn attribute_len(obj: &[u8]) -> Option<usize> {
    let len = *obj.get(1)? as usize;
    let total = 2 + len;
    (obj.len() >= total).then_some(total)
}

/// Walk `n` self-sized objects each preceded by a `prefix`-octet index.
fn walk(
    area: &[u8],
    start: usize,
    n: u64,
    prefix: usize,
    len: impl Fn(&[u8]) -> Option<usize>,
) -> Result<usize, Flags> {
    let mut q = start;
    let mut i = 0u64;
    while i < n {
        let obj =
            area.get(q + prefix..).filter(|_| q + prefix <= area.len()).ok_or(Flags::TRUNCATED_OBJECT)?;
        let l = len(obj).ok_or(Flags::TRUNCATED_OBJECT)?;
        q += prefix + l; // ≥ 2 octets per object: bounded by the area
        i += 1;
    }
    Ok(q)
}

/// Iterator over the validated object headers of a fragment.
#[derive(Debug, Clone)]
pub struct Objects<'a> {
    area: &'a [u8],
    pos: usize,
    function: FunctionCode,
}

impl<'a> Iterator for Objects<'a> {
    type Item = ObjectHeader<'a>;

    fn next(&mut self) -> Option<ObjectHeader<'a>> {
        if self.pos >= self.area.len() {
            return None;
        }
        // Validated by Fragment::parse: cannot fail; stop if it ever did.
        match parse_object(self.area, self.pos, self.function) {
            Ok((h, next)) => {
                self.pos = next;
                Some(h)
            }
            Err(_) => {
                self.pos = self.area.len();
                None
            }
        }
    }
}

/// Decoded value of one object.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// Packed single bit (g1v1, g10v1, g12v3, g80v1).
    Bit(bool),
    /// Packed double bit, 0..=3 (g3v1).
    DoubleBit(u8),
    /// Binary with flags (state = bit 7), optional time.
    Binary {
        /// Flags octet.
        flags: u8,
        /// Absolute time (ms since 1970), if present.
        time: Option<u64>,
        /// Relative time (ms after the CTO), if present.
        relative: Option<u16>,
    },
    /// Double-bit binary with flags (state = bits 7–6), optional time.
    DoubleBitBinary {
        /// Flags octet.
        flags: u8,
        /// Absolute time, if present.
        time: Option<u64>,
        /// Relative time, if present.
        relative: Option<u16>,
    },
    /// Control relay output block / pattern control block.
    Crob {
        /// Control code (op type, TCC, clear, queue).
        code: u8,
        /// Count.
        count: u8,
        /// On time, ms.
        on_ms: u32,
        /// Off time, ms.
        off_ms: u32,
        /// Status code.
        status: u8,
    },
    /// Counter.
    Counter {
        /// Flags, when the variation has them.
        flags: Option<u8>,
        /// Value.
        value: u32,
        /// Time, when present.
        time: Option<u64>,
    },
    /// Analog input/output (g30–g33, g40, g42; g43 where `flags` is the
    /// command status).
    Analog {
        /// Flags (or status), when the variation has them.
        flags: Option<u8>,
        /// Value.
        value: Analog,
        /// Time, when present.
        time: Option<u64>,
    },
    /// Analog output command (g41): value and status.
    AnalogCommand {
        /// Value.
        value: Analog,
        /// Status code.
        status: u8,
    },
    /// Analog deadband (g34; 16/32-bit are unsigned).
    Deadband(Analog),
    /// Absolute time, ms since 1970-01-01 UTC (g50v1, g50v3, g51).
    Time(u64),
    /// Time and interval (g50v2).
    TimeInterval {
        /// Time, ms.
        time: u64,
        /// Interval, ms.
        interval: u32,
    },
    /// Time delay (g52: v1 s, v2 ms).
    Delay(u16),
    /// Device attribute (g0).
    Attribute {
        /// Data type code.
        data_type: u8,
        /// Value octets.
        value: &'a [u8],
    },
    /// Octet strings, variable and raw objects.
    Bytes(&'a [u8]),
    /// Header-only object (an index in a request, g60).
    None,
}

impl Value<'_> {
    /// The binary state where the value has one (bits and binary flags).
    pub const fn state(&self) -> Option<u8> {
        match *self {
            Value::Bit(b) => Some(b as u8),
            Value::DoubleBit(d) => Some(d),
            Value::Binary { flags, .. } => Some(flags >> 7),
            Value::DoubleBitBinary { flags, .. } => Some(flags >> 6),
            _ => None,
        }
    }
}

/// One object (point) of a header.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point<'a> {
    /// Point index: start + i for ranges, the prefix for index-prefixed
    /// objects, the position otherwise.
    pub index: u32,
    /// Decoded value.
    pub value: Value<'a>,
}

impl<'a> ObjectHeader<'a> {
    /// Number of objects the range/count denotes.
    pub const fn count(&self) -> u64 {
        self.range.count()
    }

    /// Lazily iterate the objects (empty for header-only ranges).
    pub fn points(&self) -> Points<'a> {
        let n = match (self.qualifier.prefix(), self.kind.size()) {
            (Prefix::None, Size::Fixed(0)) => 0,
            _ => self.range.count(),
        };
        let first = match self.range {
            Range::StartStop { start, .. } => start,
            _ => 0,
        };
        Points {
            data: self.data,
            kind: self.kind,
            prefix: self.qualifier.prefix(),
            size: self.kind.size(),
            pos: 0,
            i: 0,
            n,
            first,
        }
    }
}

/// Iterator over the objects of one header.
#[derive(Debug, Clone)]
pub struct Points<'a> {
    data: &'a [u8],
    kind: Kind,
    // Decided once per header, not per point.
    prefix: Prefix,
    size: Size,
    pos: usize,
    i: u64,
    n: u64,
    first: u32,
}

fn le48(b: &[u8]) -> u64 {
    let mut t = [0u8; 8];
    if let (Some(dst), Some(src)) = (t.get_mut(..6), b.get(..6)) {
        dst.copy_from_slice(src);
    }
    u64::from_le_bytes(t)
}

fn analog(ty: AnalogType, b: &[u8]) -> Analog {
    match ty {
        AnalogType::I16 => Analog::I16(i16::from_le_bytes(arr(b))),
        AnalogType::I32 => Analog::I32(i32::from_le_bytes(arr(b))),
        AnalogType::F32 => Analog::F32(f32::from_le_bytes(arr(b))),
        AnalogType::F64 => Analog::F64(f64::from_le_bytes(arr(b))),
    }
}

fn arr<const N: usize>(b: &[u8]) -> [u8; N] {
    b.first_chunk::<N>().copied().unwrap_or([0; N])
}

/// Decode an object of `kind` whose octets are exactly `b`.
#[inline]
fn decode(kind: Kind, b: &[u8]) -> Value<'_> {
    let tail = |off: usize| b.get(off..).unwrap_or_default();
    let first = b.first().copied().unwrap_or(0);
    match kind {
        Kind::Binary { time, relative } | Kind::DoubleBit { time, relative } => {
            let t = time.then(|| le48(tail(1)));
            let r = relative.then(|| u16::from_le_bytes(arr(tail(1))));
            if matches!(kind, Kind::Binary { .. }) {
                Value::Binary { flags: first, time: t, relative: r }
            } else {
                Value::DoubleBitBinary { flags: first, time: t, relative: r }
            }
        }
        Kind::Crob => Value::Crob {
            code: first,
            count: b.get(1).copied().unwrap_or(0),
            on_ms: u32::from_le_bytes(arr(tail(2))),
            off_ms: u32::from_le_bytes(arr(tail(6))),
            status: b.get(10).copied().unwrap_or(0),
        },
        Kind::Counter { flags, wide, time } => {
            let off = flags as usize;
            let value = if wide {
                u32::from_le_bytes(arr(tail(off)))
            } else {
                u16::from_le_bytes(arr(tail(off))) as u32
            };
            let t = time.then(|| le48(tail(off + if wide { 4 } else { 2 })));
            Value::Counter { flags: flags.then_some(first), value, time: t }
        }
        Kind::Analog { flags, ty, time } => {
            let off = flags as usize;
            let t = time.then(|| le48(tail(off + ty.size())));
            Value::Analog { flags: flags.then_some(first), value: analog(ty, tail(off)), time: t }
        }
        Kind::AnalogCommand(ty) => {
            Value::AnalogCommand { value: analog(ty, b), status: b.get(ty.size()).copied().unwrap_or(0) }
        }
        Kind::Deadband(ty) => Value::Deadband(match ty {
            AnalogType::I16 => Analog::I32(u16::from_le_bytes(arr(b)) as i32),
            AnalogType::I32 => Analog::F64(u32::from_le_bytes(arr(b)) as f64),
            other => analog(other, b),
        }),
        Kind::Time => Value::Time(le48(b)),
        Kind::TimeInterval => {
            Value::TimeInterval { time: le48(b), interval: u32::from_le_bytes(arr(tail(6))) }
        }
        Kind::Delay => Value::Delay(u16::from_le_bytes(arr(b))),
        Kind::Attribute => Value::Attribute { data_type: first, value: tail(2) },
        Kind::Octets(_) | Kind::Raw(_) | Kind::Variable => Value::Bytes(b),
        Kind::NoData | Kind::PackedBit | Kind::PackedDoubleBit => Value::None,
    }
}

impl<'a> Iterator for Points<'a> {
    type Item = Point<'a>;

    #[inline]
    fn next(&mut self) -> Option<Point<'a>> {
        if self.i >= self.n {
            return None;
        }
        let data = self.data;
        let kind = self.kind;
        let i = self.i;
        self.i += 1;
        let seq_index = self.first.wrapping_add(i as u32);
        let point = match (self.prefix, self.size) {
            (Prefix::None, Size::Packed(1)) => {
                let byte = *data.get((i / 8) as usize)?;
                Point { index: seq_index, value: Value::Bit((byte >> (i % 8)) & 1 != 0) }
            }
            (Prefix::None, Size::Packed(bits)) => {
                let bit = i.checked_mul(bits as u64)?;
                let byte = *data.get((bit / 8) as usize)?;
                let v = (byte >> (bit % 8)) & if bits == 2 { 3 } else { 1 };
                let value = if bits == 2 { Value::DoubleBit(v) } else { Value::Bit(v != 0) };
                Point { index: seq_index, value }
            }
            (Prefix::None, Size::Fixed(s)) => {
                let b = data.get(self.pos..self.pos + s)?;
                self.pos += s;
                Point { index: seq_index, value: decode(kind, b) }
            }
            (Prefix::None, Size::Attribute) => {
                let l = attribute_len(data.get(self.pos..)?)?;
                let b = data.get(self.pos..self.pos + l)?;
                self.pos += l;
                Point { index: seq_index, value: decode(kind, b) }
            }
            (Prefix::Index(w), size) => {
                let index = read_uint(data, self.pos, w)?;
                let at = self.pos + w as usize;
                let l = match size {
                    Size::Fixed(s) => s,
                    Size::Attribute => attribute_len(data.get(at..)?)?,
                    Size::Packed(_) | Size::Variable => return None,
                };
                let b = data.get(at..at + l)?;
                self.pos = at + l;
                Point { index, value: decode(kind, b) }
            }
            (Prefix::Size(w), size) => {
                let l = read_uint(data, self.pos, w)? as usize;
                let at = self.pos + w as usize;
                let b = data.get(at..at.checked_add(l)?)?;
                self.pos = at + l;
                let value = match size {
                    Size::Fixed(s) if s == l && s > 0 => decode(kind, b),
                    Size::Attribute => decode(kind, b),
                    _ => Value::Bytes(b),
                };
                Point { index: i as u32, value }
            }
            (Prefix::None, Size::Variable) | (Prefix::Reserved, _) => return None,
        };
        Some(point)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn control_and_function_round_trip() {
        for b in 0..=255u8 {
            assert_eq!(Control::from_u8(b).to_u8(), b);
            assert_eq!(FunctionCode::from_u8(b).to_u8(), b);
        }
        assert_eq!(FunctionCode::from_u8(0x21), FunctionCode::AuthenticateRequestNoAck);
        assert_eq!(FunctionCode::from_u8(0x22), FunctionCode::Unknown(0x22));
        assert_eq!(FunctionCode::from_u8(0x83).name(), "AUTHENTICATE_RESP");
    }

    #[test]
    fn iin_names() {
        let iin = Iin { iin1: 0x90, iin2: 0x02 };
        let names: [&str; 3] = {
            let mut it = iin.names();
            [it.next().unwrap_or(""), it.next().unwrap_or(""), it.next().unwrap_or("")]
        };
        assert_eq!(names, ["need_time", "device_restart", "object_unknown"]);
    }

    #[test]
    fn every_table_entry_has_a_size() {
        for g in 0..=255u8 {
            for v in 0..=255u8 {
                if let Some(k) = object_kind(g, v) {
                    match k.size() {
                        Size::Fixed(s) => assert!(s > 0 || k == Kind::NoData, "g{g}v{v}"),
                        Size::Packed(b) => assert!(b == 1 || b == 2),
                        Size::Attribute | Size::Variable => {}
                    }
                }
            }
        }
        assert_eq!(object_kind(12, 1).map(Kind::size), Some(Size::Fixed(11)));
        assert_eq!(object_kind(32, 8).map(Kind::size), Some(Size::Fixed(15)));
        assert_eq!(object_kind(21, 5).map(Kind::size), Some(Size::Fixed(11)));
        assert_eq!(object_kind(43, 2).map(Kind::size), Some(Size::Fixed(3)));
        assert_eq!(object_kind(99, 1), None);
        for g in 0..=255u8 {
            for v in 0..=255u8 {
                assert_eq!(kind_of(g, v), object_kind(g, v), "g{g}v{v}");
            }
        }
    }
}
