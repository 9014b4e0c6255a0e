//! DNP3 emitters, one section per layer: link frames (header CRC and a CRC after
//! every 16 data bytes, CRC-16/DNP low byte first), transport segments (FIR/FIN and a
//! 6-bit sequence), application fragments (control, function, IIN) and object headers
//! for the objects Centinela's cases use. [`Association`] ties the three layers together
//! with sequence bookkeeping for a master/outstation pair.

/// Standard TCP/UDP port.
pub const PORT: u16 = 20000;
/// Maximum user data octets in one link frame.
pub const MAX_LINK_USER_DATA: usize = 250;
/// Maximum application bytes in one transport segment (250 minus the transport header).
pub const MAX_TRANSPORT_PAYLOAD: usize = 249;

const CRC: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_DNP);

/// CRC-16/DNP of `data`.
pub fn crc16(data: &[u8]) -> u16 {
    CRC.checksum(data)
}

/// Link-layer control octet values.
pub mod link {
    /// DIR bit: set on frames from the master.
    pub const DIR: u8 = 0x80;
    /// PRM bit: set on frames from the primary (initiating) station.
    pub const PRM: u8 = 0x40;
    /// Primary function: reset link states.
    pub const PRI_RESET_LINK_STATES: u8 = 0x00;
    /// Primary function: test link states.
    pub const PRI_TEST_LINK_STATES: u8 = 0x02;
    /// Primary function: confirmed user data.
    pub const PRI_CONFIRMED_USER_DATA: u8 = 0x03;
    /// Primary function: unconfirmed user data.
    pub const PRI_UNCONFIRMED_USER_DATA: u8 = 0x04;
    /// Primary function: request link status.
    pub const PRI_REQUEST_LINK_STATUS: u8 = 0x09;
    /// Secondary function: ACK.
    pub const SEC_ACK: u8 = 0x00;
    /// Secondary function: link status.
    pub const SEC_LINK_STATUS: u8 = 0x0B;
    /// Control octet of unconfirmed user data from a master.
    pub const MASTER_UNCONFIRMED: u8 = DIR | PRM | PRI_UNCONFIRMED_USER_DATA;
    /// Control octet of unconfirmed user data from an outstation.
    pub const OUTSTATION_UNCONFIRMED: u8 = PRM | PRI_UNCONFIRMED_USER_DATA;
}

/// A link frame: `05 64 LEN CTRL DST SRC CRC` then user data in blocks of up to 16
/// bytes, each followed by its CRC. `LEN` is `5 + user_data.len()`; callers wanting a
/// valid frame keep `user_data` within [`MAX_LINK_USER_DATA`] (longer data writes a
/// wrapped LEN, which is how malformed cases are made).
pub fn link_frame(ctrl: u8, dst: u16, src: u16, user_data: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(10 + user_data.len() + 2 * user_data.len().div_ceil(16));
    f.extend_from_slice(&[0x05, 0x64, (5 + user_data.len()) as u8, ctrl]);
    f.extend_from_slice(&dst.to_le_bytes());
    f.extend_from_slice(&src.to_le_bytes());
    let c = crc16(&f);
    f.extend_from_slice(&c.to_le_bytes());
    for block in user_data.chunks(16) {
        f.extend_from_slice(block);
        f.extend_from_slice(&crc16(block).to_le_bytes());
    }
    f
}

/// Flips the header CRC of a frame made by [`link_frame`] (no-op on a short buffer).
pub fn corrupt_header_crc(frame: &mut [u8]) {
    if let Some(b) = frame.get_mut(8) {
        *b ^= 0xFF;
    }
}

/// Flips the CRC of data block `block` (0-based) of a frame made by [`link_frame`]
/// (no-op when the frame has no such block).
pub fn corrupt_block_crc(frame: &mut [u8], block: usize) {
    let user_len = frame.get(2).map_or(0, |&l| usize::from(l).saturating_sub(5));
    let blocks = user_len.div_ceil(16);
    if block >= blocks {
        return;
    }
    let block_len = if block + 1 == blocks { user_len - 16 * block } else { 16 };
    let crc_at = 10 + 18 * block + block_len;
    if let Some(b) = frame.get_mut(crc_at) {
        *b ^= 0xFF;
    }
}

/// Transport header octet.
pub fn transport_header(fir: bool, fin: bool, seq: u8) -> u8 {
    (u8::from(fin) << 7) | (u8::from(fir) << 6) | (seq & 0x3F)
}

/// Splits an application fragment into transport segments (header + up to
/// [`MAX_TRANSPORT_PAYLOAD`] bytes), numbering them from `*seq` and advancing it.
/// An empty fragment still yields one segment.
pub fn transport_segments(app: &[u8], seq: &mut u8) -> Vec<Vec<u8>> {
    let chunks: Vec<&[u8]> =
        if app.is_empty() { vec![&[][..]] } else { app.chunks(MAX_TRANSPORT_PAYLOAD).collect() };
    let n = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let mut s = Vec::with_capacity(c.len() + 1);
            s.push(transport_header(i == 0, i + 1 == n, *seq));
            *seq = (*seq + 1) & 0x3F;
            s.extend_from_slice(c);
            s
        })
        .collect()
}

/// Link frames carrying `app` (concatenated as they appear on a TCP stream).
pub fn frames(ctrl: u8, dst: u16, src: u16, tp_seq: &mut u8, app: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for seg in transport_segments(app, tp_seq) {
        out.extend_from_slice(&link_frame(ctrl, dst, src, &seg));
    }
    out
}

/// Application function codes.
pub mod func {
    /// Confirm.
    pub const CONFIRM: u8 = 0;
    /// Read.
    pub const READ: u8 = 1;
    /// Write.
    pub const WRITE: u8 = 2;
    /// Select.
    pub const SELECT: u8 = 3;
    /// Operate.
    pub const OPERATE: u8 = 4;
    /// Direct operate.
    pub const DIRECT_OPERATE: u8 = 5;
    /// Direct operate, no response.
    pub const DIRECT_OPERATE_NR: u8 = 6;
    /// Immediate freeze.
    pub const IMMEDIATE_FREEZE: u8 = 7;
    /// Cold restart.
    pub const COLD_RESTART: u8 = 13;
    /// Warm restart.
    pub const WARM_RESTART: u8 = 14;
    /// Initialize application.
    pub const INITIALIZE_APPLICATION: u8 = 16;
    /// Start application.
    pub const START_APPLICATION: u8 = 17;
    /// Stop application.
    pub const STOP_APPLICATION: u8 = 18;
    /// Enable unsolicited responses.
    pub const ENABLE_UNSOLICITED: u8 = 20;
    /// Disable unsolicited responses.
    pub const DISABLE_UNSOLICITED: u8 = 21;
    /// Delay measurement.
    pub const DELAY_MEASURE: u8 = 23;
    /// Response.
    pub const RESPONSE: u8 = 129;
    /// Unsolicited response.
    pub const UNSOLICITED_RESPONSE: u8 = 130;
}

/// Internal indication bits (IIN1 in the low byte, IIN2 in the high byte).
pub mod iin {
    /// IIN1.0 broadcast received.
    pub const BROADCAST: u16 = 0x0001;
    /// IIN1.1 class 1 events available.
    pub const CLASS1_EVENTS: u16 = 0x0002;
    /// IIN1.2 class 2 events available.
    pub const CLASS2_EVENTS: u16 = 0x0004;
    /// IIN1.3 class 3 events available.
    pub const CLASS3_EVENTS: u16 = 0x0008;
    /// IIN1.4 need time.
    pub const NEED_TIME: u16 = 0x0010;
    /// IIN1.5 local control.
    pub const LOCAL_CONTROL: u16 = 0x0020;
    /// IIN1.6 device trouble.
    pub const DEVICE_TROUBLE: u16 = 0x0040;
    /// IIN1.7 device restart.
    pub const DEVICE_RESTART: u16 = 0x0080;
    /// IIN2.0 function code not supported.
    pub const NO_FUNC_CODE_SUPPORT: u16 = 0x0100;
    /// IIN2.1 object unknown.
    pub const OBJECT_UNKNOWN: u16 = 0x0200;
    /// IIN2.2 parameter error.
    pub const PARAMETER_ERROR: u16 = 0x0400;
}

/// Application control octet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppControl {
    /// First fragment.
    pub fir: bool,
    /// Final fragment.
    pub fin: bool,
    /// Confirmation requested.
    pub con: bool,
    /// Unsolicited.
    pub uns: bool,
    /// Sequence (4 bits).
    pub seq: u8,
}

impl AppControl {
    /// A single-fragment control (FIR and FIN set) with sequence `seq`.
    pub fn single(seq: u8) -> Self {
        Self { fir: true, fin: true, con: false, uns: false, seq }
    }

    /// The control octet.
    pub fn byte(self) -> u8 {
        (u8::from(self.fir) << 7)
            | (u8::from(self.fin) << 6)
            | (u8::from(self.con) << 5)
            | (u8::from(self.uns) << 4)
            | (self.seq & 0x0F)
    }
}

/// A request fragment: control, function, objects.
pub fn request(ctrl: AppControl, function: u8, objects: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(2 + objects.len());
    f.push(ctrl.byte());
    f.push(function);
    f.extend_from_slice(objects);
    f
}

/// A response fragment: control, function, IIN (little-endian: IIN1 then IIN2), objects.
pub fn response(ctrl: AppControl, function: u8, iin: u16, objects: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(4 + objects.len());
    f.push(ctrl.byte());
    f.push(function);
    f.extend_from_slice(&iin.to_le_bytes());
    f.extend_from_slice(objects);
    f
}

/// Object header range / qualifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// Qualifier 0x00: 8-bit start and stop.
    StartStop8(u8, u8),
    /// Qualifier 0x01: 16-bit start and stop.
    StartStop16(u16, u16),
    /// Qualifier 0x06: all objects, no range.
    All,
    /// Qualifier 0x07: 8-bit count.
    Count8(u8),
    /// Qualifier 0x08: 16-bit count.
    Count16(u16),
    /// Qualifier 0x17: 8-bit count, each object prefixed with an 8-bit index.
    CountIndex8(u8),
    /// Qualifier 0x28: 16-bit count, each object prefixed with a 16-bit index.
    CountIndex16(u16),
}

/// Appends an object header (group, variation, qualifier, range).
pub fn object_header(out: &mut Vec<u8>, group: u8, variation: u8, range: Range) {
    out.push(group);
    out.push(variation);
    match range {
        Range::StartStop8(a, b) => out.extend_from_slice(&[0x00, a, b]),
        Range::StartStop16(a, b) => {
            out.push(0x01);
            out.extend_from_slice(&a.to_le_bytes());
            out.extend_from_slice(&b.to_le_bytes());
        }
        Range::All => out.push(0x06),
        Range::Count8(n) => out.extend_from_slice(&[0x07, n]),
        Range::Count16(n) => {
            out.push(0x08);
            out.extend_from_slice(&n.to_le_bytes());
        }
        Range::CountIndex8(n) => out.extend_from_slice(&[0x17, n]),
        Range::CountIndex16(n) => {
            out.push(0x28);
            out.extend_from_slice(&n.to_le_bytes());
        }
    }
}

/// Point flags: ONLINE.
pub const FLAG_ONLINE: u8 = 0x01;
/// Binary flag bit carrying the state.
pub const FLAG_STATE: u8 = 0x80;

/// Class poll objects (group 60): variation 2, 3, 4 for classes 1..3 then variation 1
/// for class 0, each with qualifier 0x06, in that order, for each class selected.
pub fn class_poll(class0: bool, class1: bool, class2: bool, class3: bool) -> Vec<u8> {
    let mut o = Vec::new();
    for (on, var) in [(class1, 2), (class2, 3), (class3, 4), (class0, 1)] {
        if on {
            object_header(&mut o, 60, var, Range::All);
        }
    }
    o
}

fn range_for(start: u16, n: usize) -> Range {
    let stop = usize::from(start) + n.saturating_sub(1);
    match (u8::try_from(start), u8::try_from(stop)) {
        (Ok(a), Ok(b)) => Range::StartStop8(a, b),
        _ => Range::StartStop16(start, stop as u16),
    }
}

/// Binary inputs with flags (g1v2), a contiguous range starting at `start`.
pub fn binary_inputs(start: u16, values: &[bool]) -> Vec<u8> {
    let mut o = Vec::new();
    object_header(&mut o, 1, 2, range_for(start, values.len()));
    o.extend(values.iter().map(|&v| FLAG_ONLINE | if v { FLAG_STATE } else { 0 }));
    o
}

/// 32-bit analog inputs with flags (g30v1), signed.
pub fn analog_inputs_32(start: u16, values: &[i32]) -> Vec<u8> {
    let mut o = Vec::new();
    object_header(&mut o, 30, 1, range_for(start, values.len()));
    for v in values {
        o.push(FLAG_ONLINE);
        o.extend_from_slice(&v.to_le_bytes());
    }
    o
}

/// 16-bit analog inputs with flags (g30v2), signed.
pub fn analog_inputs_16(start: u16, values: &[i16]) -> Vec<u8> {
    let mut o = Vec::new();
    object_header(&mut o, 30, 2, range_for(start, values.len()));
    for v in values {
        o.push(FLAG_ONLINE);
        o.extend_from_slice(&v.to_le_bytes());
    }
    o
}

/// 32-bit counters with flags (g20v1).
pub fn counters_32(start: u16, values: &[u32]) -> Vec<u8> {
    let mut o = Vec::new();
    object_header(&mut o, 20, 1, range_for(start, values.len()));
    for v in values {
        o.push(FLAG_ONLINE);
        o.extend_from_slice(&v.to_le_bytes());
    }
    o
}

/// Binary input change events without time (g2v1), qualifier 0x17.
pub fn binary_events(events: &[(u8, bool)]) -> Vec<u8> {
    let mut o = Vec::new();
    object_header(&mut o, 2, 1, Range::CountIndex8(events.len() as u8));
    for &(i, v) in events {
        o.push(i);
        o.push(FLAG_ONLINE | if v { FLAG_STATE } else { 0 });
    }
    o
}

/// 32-bit analog change events without time (g32v1), qualifier 0x17.
pub fn analog_events(events: &[(u8, i32)]) -> Vec<u8> {
    let mut o = Vec::new();
    object_header(&mut o, 32, 1, Range::CountIndex8(events.len() as u8));
    for &(i, v) in events {
        o.push(i);
        o.push(FLAG_ONLINE);
        o.extend_from_slice(&v.to_le_bytes());
    }
    o
}

/// CROB control codes (g12v1 control field).
pub mod control_code {
    /// Pulse on.
    pub const PULSE_ON: u8 = 0x01;
    /// Latch on.
    pub const LATCH_ON: u8 = 0x03;
    /// Latch off.
    pub const LATCH_OFF: u8 = 0x04;
    /// Pulse on, close.
    pub const CLOSE_PULSE_ON: u8 = 0x41;
    /// Pulse on, trip.
    pub const TRIP_PULSE_ON: u8 = 0x81;
}

/// One control relay output block (g12v1) with qualifier 0x28 (16-bit index).
pub fn crob(index: u16, code: u8, count: u8, on_ms: u32, off_ms: u32, status: u8) -> Vec<u8> {
    let mut o = Vec::new();
    object_header(&mut o, 12, 1, Range::CountIndex16(1));
    o.extend_from_slice(&index.to_le_bytes());
    o.extend_from_slice(&[code, count]);
    o.extend_from_slice(&on_ms.to_le_bytes());
    o.extend_from_slice(&off_ms.to_le_bytes());
    o.push(status);
    o
}

/// One 16-bit analog output block (g41v2) with qualifier 0x28: index, value, status.
pub fn analog_output_16(index: u16, value: i16, status: u8) -> Vec<u8> {
    let mut o = Vec::new();
    object_header(&mut o, 41, 2, Range::CountIndex16(1));
    o.extend_from_slice(&index.to_le_bytes());
    o.extend_from_slice(&value.to_le_bytes());
    o.push(status);
    o
}

/// Time delay fine (g52v2), the object in a restart response.
pub fn time_delay_fine(ms: u16) -> Vec<u8> {
    let mut o = Vec::new();
    object_header(&mut o, 52, 2, Range::Count8(1));
    o.extend_from_slice(&ms.to_le_bytes());
    o
}

/// Absolute time (g50v1), e.g. a time-sync write; `ms` since the Unix epoch (48 bits).
pub fn time_and_date(ms: u64) -> Vec<u8> {
    let mut o = Vec::new();
    object_header(&mut o, 50, 1, Range::Count8(1));
    o.extend_from_slice(&ms.to_le_bytes()[..6]);
    o
}

/// Internal indications write clearing IIN1.7 "device restart" (g80v1 index 7 = 0).
pub fn clear_restart() -> Vec<u8> {
    let mut o = Vec::new();
    object_header(&mut o, 80, 1, Range::StartStop8(7, 7));
    o.push(0);
    o
}

/// A master/outstation pair with the sequence numbers each side keeps.
#[derive(Debug, Clone)]
pub struct Association {
    /// Master link address.
    pub master: u16,
    /// Outstation link address.
    pub outstation: u16,
    master_tp_seq: u8,
    outstation_tp_seq: u8,
    req_seq: u8,
    unsol_seq: u8,
}

impl Association {
    /// A fresh association; sequences start at 0.
    pub fn new(master: u16, outstation: u16) -> Self {
        Self { master, outstation, master_tp_seq: 0, outstation_tp_seq: 0, req_seq: 0, unsol_seq: 0 }
    }

    /// The application sequence the next request will carry.
    pub fn next_request_seq(&self) -> u8 {
        self.req_seq
    }

    /// Master → outstation request (link frames). The application sequence advances.
    pub fn request(&mut self, function: u8, objects: &[u8]) -> Vec<u8> {
        let app = request(AppControl::single(self.req_seq), function, objects);
        self.req_seq = (self.req_seq + 1) & 0x0F;
        self.master_frames(&app)
    }

    /// Outstation → master solicited response to the last request.
    pub fn response(&mut self, iin: u16, objects: &[u8]) -> Vec<u8> {
        let seq = self.req_seq.wrapping_sub(1) & 0x0F;
        let app = response(AppControl::single(seq), func::RESPONSE, iin, objects);
        self.outstation_frames(&app)
    }

    /// Outstation → master unsolicited response (CON set, UNS set).
    pub fn unsolicited(&mut self, iin: u16, objects: &[u8]) -> Vec<u8> {
        let ctrl = AppControl { fir: true, fin: true, con: true, uns: true, seq: self.unsol_seq };
        let app = response(ctrl, func::UNSOLICITED_RESPONSE, iin, objects);
        self.outstation_frames(&app)
    }

    /// Master → outstation confirm of the last unsolicited response.
    pub fn confirm_unsolicited(&mut self) -> Vec<u8> {
        let ctrl = AppControl { fir: true, fin: true, con: false, uns: true, seq: self.unsol_seq };
        self.unsol_seq = (self.unsol_seq + 1) & 0x0F;
        let app = request(ctrl, func::CONFIRM, &[]);
        self.master_frames(&app)
    }

    /// Link frames from the master carrying an arbitrary application fragment.
    pub fn master_frames(&mut self, app: &[u8]) -> Vec<u8> {
        frames(link::MASTER_UNCONFIRMED, self.outstation, self.master, &mut self.master_tp_seq, app)
    }

    /// Link frames from the outstation carrying an arbitrary application fragment.
    pub fn outstation_frames(&mut self, app: &[u8]) -> Vec<u8> {
        frames(link::OUTSTATION_UNCONFIRMED, self.master, self.outstation, &mut self.outstation_tp_seq, app)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_check_value() {
        assert_eq!(crc16(b"123456789"), 0xEA82);
    }

    #[test]
    fn reset_link_frame_bytes() {
        // Well-known frame: master 1 -> outstation 1024 "reset link states":
        // 05 64 05 C0 00 04 01 00 (CRC).
        let f = link_frame(link::DIR | link::PRM | link::PRI_RESET_LINK_STATES, 1024, 1, &[]);
        assert_eq!(&f[..8], &[0x05, 0x64, 0x05, 0xC0, 0x00, 0x04, 0x01, 0x00]);
        assert_eq!(f.len(), 10);
        assert_eq!(u16::from_le_bytes([f[8], f[9]]), crc16(&f[..8]));
    }

    #[test]
    fn blocks_of_sixteen() {
        let data: Vec<u8> = (0..40).collect();
        let f = link_frame(link::MASTER_UNCONFIRMED, 10, 1, &data);
        assert_eq!(f[2], 45);
        assert_eq!(f.len(), 10 + 16 + 2 + 16 + 2 + 8 + 2);
        assert_eq!(u16::from_le_bytes([f[26], f[27]]), crc16(&data[..16]));
        assert_eq!(u16::from_le_bytes([f[54], f[55]]), crc16(&data[32..]));
        let mut bad = f.clone();
        corrupt_block_crc(&mut bad, 2);
        assert_ne!(bad[54], f[54]);
        assert_eq!(bad[..54], f[..54]);
        let mut bad = f.clone();
        corrupt_header_crc(&mut bad);
        assert_ne!(bad[8], f[8]);
        let mut same = f.clone();
        corrupt_block_crc(&mut same, 3);
        assert_eq!(same, f);
    }

    #[test]
    fn transport_splits_long_fragments() {
        let app = vec![0xAB; 600];
        let mut seq = 62;
        let segs = transport_segments(&app, &mut seq);
        assert_eq!(segs.len(), 3);
        assert_eq!(segs[0][0], 0x40 | 62);
        assert_eq!(segs[1][0], 63);
        assert_eq!(segs[2][0], 0x80);
        assert_eq!(seq, 1);
        assert_eq!(segs.iter().map(|s| s.len() - 1).sum::<usize>(), 600);
        let mut s = 0;
        assert_eq!(transport_segments(&[], &mut s), vec![vec![0xC0]]);
    }

    #[test]
    fn integrity_poll_bytes() {
        let app = request(AppControl::single(3), func::READ, &class_poll(true, true, true, true));
        assert_eq!(app, [0xC3, 0x01, 60, 2, 6, 60, 3, 6, 60, 4, 6, 60, 1, 6]);
        let r =
            response(AppControl::single(3), func::RESPONSE, iin::DEVICE_RESTART, &analog_inputs_32(0, &[-5]));
        assert_eq!(r, [0xC3, 0x81, 0x80, 0x00, 30, 1, 0, 0, 0, 0x01, 0xFB, 0xFF, 0xFF, 0xFF]);
        assert_eq!(crob(7, control_code::LATCH_ON, 1, 100, 0, 0)[..7], [12, 1, 0x28, 1, 0, 7, 0]);
        assert_eq!(binary_inputs(300, &[true])[..7], [1, 2, 1, 0x2C, 1, 0x2C, 1]);
        assert_eq!(analog_output_16(2, -2, 0), [41, 2, 0x28, 1, 0, 2, 0, 0xFE, 0xFF, 0]);
        assert_eq!(crob(7, control_code::LATCH_ON, 1, 100, 0, 0).len(), 5 + 2 + 11);
    }

    #[test]
    fn association_sequences() {
        let mut a = Association::new(1, 10);
        let r1 = a.request(func::READ, &class_poll(true, false, false, false));
        // link header 10 bytes, then transport header, then app control.
        assert_eq!(r1[10], 0xC0);
        assert_eq!(r1[11], 0xC0);
        let resp = a.response(0, &[]);
        assert_eq!(resp[11], 0xC0);
        assert_eq!(&resp[4..8], &[1, 0, 10, 0]);
        let r2 = a.request(func::READ, &[]);
        assert_eq!(r2[10], 0xC1);
        assert_eq!(r2[11], 0xC1);
        let u = a.unsolicited(0, &[]);
        assert_eq!(u[11], 0xF0);
        let c = a.confirm_unsolicited();
        assert_eq!(&c[11..13], &[0xD0, 0x00]);
        assert_eq!(a.unsolicited(0, &[])[11], 0xF1);
    }
}
