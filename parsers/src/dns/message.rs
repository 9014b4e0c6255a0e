//! A whole DNS message: validated once by [`Message::parse`], then read with
//! lazy iterators that cannot fail.

use super::header::{HEADER_LEN, Header, Opcode, Rcode};
use super::name::{Name, Walk, walk, walk_known};
use super::rdata::{Edns, RData, RrFields, check, decode};
use super::{Anomalies, Class, Error, Type, be16, be32};
use crate::limits::dns::MAX_MESSAGE_LEN;

/// Fixed fields of a question after its name: QTYPE, QCLASS.
const QUESTION_FIXED: usize = 4;
/// Fixed fields of a resource record after its name: TYPE, CLASS, TTL, RDLENGTH.
const RR_FIXED: usize = 10;

/// The section a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    /// Answer.
    Answer,
    /// Authority.
    Authority,
    /// Additional.
    Additional,
}

/// A parsed DNS message. `Copy`, borrows the buffer, allocates nothing.
#[derive(Clone, Copy)]
pub struct Message<'a> {
    bytes: &'a [u8],
    header: Header,
    /// Offsets where the question, answer, authority and additional sections
    /// start, and where the last validated entry ends.
    starts: [usize; 4],
    end: usize,
    /// Entries validated per section (≤ the header counts).
    counts: [u16; 4],
    edns: Option<Edns<'a>>,
    anomalies: Anomalies,
    /// The walk of the first question's name, kept from validation so that
    /// [`Message::question`] does not walk it again (set when `counts[0] ≥ 1`).
    first_question: Option<Walk>,
}

impl<'a> Message<'a> {
    /// Validate the whole message once. Fails only when the 12-octet header
    /// is incomplete or the buffer exceeds 65 535 octets; everything else is
    /// an [`Anomalies`] flag, and the entries read before a fatal problem
    /// (truncation, an rdlength past the end, an in-place reserved label
    /// type) stay available.
    pub fn parse(bytes: &'a [u8]) -> Result<Message<'a>, Error> {
        if bytes.len() > MAX_MESSAGE_LEN {
            return Err(Error::TooLong { len: bytes.len() });
        }
        let header = Header::parse(bytes)
            .ok_or_else(|| Error::Incomplete { needed: HEADER_LEN.saturating_sub(bytes.len()) })?;
        let mut a = Anomalies::empty();
        if header.z() {
            a |= Anomalies::Z_FLAG_SET;
        }
        if matches!(header.opcode(), Opcode::Unknown(_)) {
            a |= Anomalies::UNKNOWN_OPCODE;
        }
        let announced = [header.qdcount(), header.ancount(), header.nscount(), header.arcount()];
        let mut starts = [HEADER_LEN; 4];
        let mut counts = [0u16; 4];
        let mut edns = None;
        let mut first_question = None;
        let mut pos = HEADER_LEN;
        let mut ok = true;
        for s in 0..4 {
            starts[s] = pos;
            if !ok {
                continue;
            }
            for _ in 0..announced[s] {
                let next = if s == 0 {
                    let (next, w) = skip_question(bytes, pos, &mut a);
                    if counts[0] == 0 && next.is_some() {
                        first_question = Some(w);
                    }
                    next
                } else {
                    let known = first_question.map(|w| (starts[0], w));
                    skip_record(bytes, pos, s, &mut a, &mut edns, known)
                };
                match next {
                    Some(n) => {
                        pos = n;
                        counts[s] += 1;
                    }
                    None => {
                        ok = false;
                        break;
                    }
                }
            }
        }
        if ok && pos < bytes.len() {
            a |= Anomalies::TRAILING_DATA;
        }
        Ok(Message { bytes, header, starts, end: pos, counts, edns, anomalies: a, first_question })
    }

    /// The header.
    pub fn header(&self) -> Header {
        self.header
    }

    /// Transaction id.
    #[inline]
    pub fn id(&self) -> u16 {
        self.header.id()
    }

    /// Whether this is a response (QR).
    #[inline]
    pub fn is_response(&self) -> bool {
        self.header.is_response()
    }

    /// The 12-bit RCODE: the header's 4 bits, extended by the OPT record's
    /// upper 8 bits when there is one (RFC 6891 §6.1.3).
    #[inline]
    pub fn rcode(&self) -> Rcode {
        let low = u16::from(self.header.rcode());
        let high = self.edns.map_or(0, |e| u16::from(e.extended_rcode));
        Rcode::from((high << 4) | low)
    }

    /// Everything validation flagged: message, names and rdata.
    #[inline]
    pub fn anomalies(&self) -> Anomalies {
        self.anomalies
    }

    /// The whole message.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Octets up to the end of the last validated entry.
    pub fn parsed_len(&self) -> usize {
        self.end
    }

    /// The EDNS(0) OPT record of the additional section, if any (the first
    /// one when there are several: flagged `multiple_opt`).
    pub fn edns(&self) -> Option<Edns<'a>> {
        self.edns
    }

    /// The questions that validated.
    #[inline]
    pub fn questions(&self) -> Questions<'a> {
        Questions { msg: self.bytes, pos: self.starts[0], remaining: self.counts[0] }
    }

    /// The first question, if any (most messages have exactly one): the
    /// same as `questions().next()`, without walking its name again.
    #[inline]
    pub fn question(&self) -> Option<Question<'a>> {
        let w = self.first_question.filter(|_| self.counts[0] > 0)?;
        question_at(self.bytes, self.starts[0], &w).map(|(q, _)| q)
    }

    /// The answer records that validated.
    #[inline]
    pub fn answers(&self) -> Records<'a> {
        self.section(1)
    }

    /// The authority records that validated.
    pub fn authorities(&self) -> Records<'a> {
        self.section(2)
    }

    /// The additional records that validated (OPT included).
    pub fn additionals(&self) -> Records<'a> {
        self.section(3)
    }

    /// Every record that validated, answer then authority then additional.
    pub fn records(&self) -> Records<'a> {
        Records {
            msg: self.bytes,
            pos: self.starts[1],
            index: 0,
            counts: [self.counts[1], self.counts[2], self.counts[3]],
            known: self.known_question(),
        }
    }

    #[inline]
    fn section(&self, s: usize) -> Records<'a> {
        let mut counts = [0u16; 3];
        counts[s - 1] = self.counts[s];
        // `index` starts at the first entry of section `s`.
        let index = counts[..s - 1].iter().map(|&c| usize::from(c)).sum();
        Records { msg: self.bytes, pos: self.starts[s], index, counts, known: self.known_question() }
    }

    /// The first question's offset and name walk, for [`walk_known`].
    #[inline]
    fn known_question(&self) -> Option<(usize, Walk)> {
        self.first_question.filter(|_| self.counts[0] > 0).map(|w| (self.starts[0], w))
    }

    /// Validated (question, answer, authority, additional) counts.
    pub fn counts(&self) -> [u16; 4] {
        self.counts
    }
}

impl core::fmt::Debug for Message<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Message")
            .field("header", &self.header)
            .field("counts", &self.counts)
            .field("len", &self.bytes.len())
            .field("anomalies", &self.anomalies)
            .finish_non_exhaustive()
    }
}

/// Validate the question at `pos`: the offset after it (`None` when it
/// does not fit) and its name's walk.
fn skip_question(msg: &[u8], pos: usize, a: &mut Anomalies) -> (Option<usize>, Walk) {
    let w = walk(msg, pos, msg.len());
    *a |= w.flags;
    let Some(end) = w.end else { return (None, w) };
    let next = end + QUESTION_FIXED;
    if next > msg.len() {
        *a |= Anomalies::TRUNCATED;
        return (None, w);
    }
    (Some(next), w)
}

/// The question at `pos` whose name walked as `w`, and the offset after it.
#[inline]
fn question_at<'a>(msg: &'a [u8], pos: usize, w: &Walk) -> Option<(Question<'a>, usize)> {
    let end = w.end?;
    let name = Name::from_walk(msg, pos, msg.len(), w);
    let qtype = Type::from(be16(msg, end)?);
    let qclass = Class::from(be16(msg, end + 2)?);
    Some((Question { name, qtype, qclass }, end + QUESTION_FIXED))
}

fn skip_record<'a>(
    msg: &'a [u8],
    pos: usize,
    section: usize,
    a: &mut Anomalies,
    edns: &mut Option<Edns<'a>>,
    known: Option<(usize, Walk)>,
) -> Option<usize> {
    let w = walk_known(msg, pos, msg.len(), known);
    *a |= w.flags;
    let end = w.end?;
    let fixed = read_rr_fixed(msg, end);
    let Some((rr, rdlen)) = fixed else {
        *a |= Anomalies::TRUNCATED;
        return None;
    };
    let rstart = end + RR_FIXED;
    let rend = rstart + usize::from(rdlen);
    if rend > msg.len() {
        *a |= Anomalies::TRUNCATED;
        return None;
    }
    if rr.rtype != Type::Opt {
        *a |= check(msg, rr, rstart, rend);
    } else {
        let (data, flags) = decode(msg, rr, rstart, rend);
        *a |= flags;
        if section != 3 {
            *a |= Anomalies::OPT_MISPLACED;
        } else if edns.is_some() {
            *a |= Anomalies::MULTIPLE_OPT;
        } else if let RData::Opt(e) = data {
            *edns = Some(e);
        } else {
            // Malformed options: keep the fixed fields, no options.
            *edns = msg.get(rstart..rstart).map(|empty| Edns::from_fields(rr.class, rr.ttl, empty));
        }
        if w.labels != 0 || !w.flags.is_empty() {
            *a |= Anomalies::OPT_BAD_NAME;
        }
    }
    Some(rend)
}

/// TYPE, CLASS, TTL, RDLENGTH of a resource record at `at`.
#[inline]
fn read_rr_fixed(msg: &[u8], at: usize) -> Option<(RrFields, u16)> {
    let rtype = Type::from(be16(msg, at)?);
    let class = be16(msg, at + 2)?;
    let ttl = be32(msg, at + 4)?;
    let rdlen = be16(msg, at + 8)?;
    Some((RrFields { rtype, class, ttl }, rdlen))
}

/// One question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Question<'a> {
    /// QNAME.
    pub name: Name<'a>,
    /// QTYPE.
    pub qtype: Type,
    /// QCLASS (raw 16 bits; mDNS puts the unicast-response bit on top).
    pub qclass: Class,
}

/// Iterator over the validated questions.
#[derive(Debug, Clone)]
pub struct Questions<'a> {
    msg: &'a [u8],
    pos: usize,
    remaining: u16,
}

impl<'a> Iterator for Questions<'a> {
    type Item = Question<'a>;
    #[inline]
    fn next(&mut self) -> Option<Question<'a>> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let w = walk(self.msg, self.pos, self.msg.len());
        let (q, next) = question_at(self.msg, self.pos, &w)?;
        self.pos = next;
        Some(q)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::from(self.remaining), Some(usize::from(self.remaining)))
    }
}

impl ExactSizeIterator for Questions<'_> {}

/// One resource record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    msg: &'a [u8],
    /// Section it came from.
    pub section: Section,
    /// Owner name.
    pub name: Name<'a>,
    /// TYPE.
    pub rtype: Type,
    /// CLASS, raw (for OPT it is the UDP payload size).
    pub class: Class,
    /// TTL (for OPT: extended RCODE, version, flags).
    pub ttl: u32,
    rdata_start: usize,
    rdata_end: usize,
}

impl<'a> Record<'a> {
    /// The raw rdata.
    #[inline]
    pub fn rdata(&self) -> &'a [u8] {
        self.msg.get(self.rdata_start..self.rdata_end).unwrap_or_default()
    }

    /// Offset of the rdata in the message.
    pub fn rdata_offset(&self) -> usize {
        self.rdata_start
    }

    #[inline]
    fn decoded(&self) -> (RData<'a>, Anomalies) {
        let rr = RrFields { rtype: self.rtype, class: self.class.code(), ttl: self.ttl };
        decode(self.msg, rr, self.rdata_start, self.rdata_end)
    }

    /// The decoded rdata.
    #[inline]
    pub fn data(&self) -> RData<'a> {
        self.decoded().0
    }

    /// Anomalies of this record: its owner name's and its rdata's.
    pub fn anomalies(&self) -> Anomalies {
        self.name.anomalies() | self.decoded().1
    }
}

/// Iterator over validated resource records.
#[derive(Debug, Clone)]
pub struct Records<'a> {
    msg: &'a [u8],
    pos: usize,
    /// Index of the next record counted from the first answer.
    index: usize,
    /// Records to yield per section (answer, authority, additional).
    counts: [u16; 3],
    /// The first question's offset and walk: owner names that merely point
    /// to it are not walked again.
    known: Option<(usize, Walk)>,
}

impl Records<'_> {
    #[inline]
    fn remaining(&self) -> usize {
        let total: usize = self.counts.iter().map(|&c| usize::from(c)).sum();
        total.saturating_sub(self.index)
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;
    #[inline]
    fn next(&mut self) -> Option<Record<'a>> {
        let [an, ns, _] = self.counts.map(usize::from);
        let section = if self.index < an {
            Section::Answer
        } else if self.index < an + ns {
            Section::Authority
        } else {
            Section::Additional
        };
        if self.remaining() == 0 {
            return None;
        }
        self.index += 1;
        let w = walk_known(self.msg, self.pos, self.msg.len(), self.known);
        let end = w.end?;
        let name = Name::from_walk(self.msg, self.pos, self.msg.len(), &w);
        let (rr, rdlen) = read_rr_fixed(self.msg, end)?;
        let rdata_start = end + RR_FIXED;
        let rdata_end = rdata_start + usize::from(rdlen);
        self.pos = rdata_end;
        Some(Record {
            msg: self.msg,
            section,
            name,
            rtype: rr.rtype,
            class: Class::from(rr.class),
            ttl: rr.ttl,
            rdata_start,
            rdata_end,
        })
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining(), Some(self.remaining()))
    }
}

impl ExactSizeIterator for Records<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    /// dig-style query for example.com A with EDNS (udp 1232, DO).
    const QUERY: &[u8] = b"\x12\x34\x01\x20\x00\x01\x00\x00\x00\x00\x00\x01\
        \x07example\x03com\x00\x00\x01\x00\x01\
        \x00\x00\x29\x04\xd0\x00\x00\x80\x00\x00\x00";

    #[test]
    fn parse_query() {
        let m = Message::parse(QUERY).expect("header");
        assert_eq!(m.id(), 0x1234);
        assert!(!m.is_response());
        assert!(m.anomalies().is_empty(), "{:?}", m.anomalies());
        let q = m.question().expect("question");
        assert!(q.name.eq_ignore_case(b"example.com"));
        assert_eq!((q.qtype, q.qclass), (Type::A, Class::In));
        let e = m.edns().expect("edns");
        assert_eq!((e.udp_payload_size, e.dnssec_ok, e.version), (1232, true, 0));
        assert_eq!(m.answers().len(), 0);
        assert_eq!(m.additionals().len(), 1);
        assert_eq!(m.records().next().map(|r| r.section), Some(Section::Additional));
        assert_eq!(m.parsed_len(), QUERY.len());
    }

    #[test]
    fn truncation_is_flagged_never_an_error_after_header() {
        for n in 0..QUERY.len() {
            match Message::parse(&QUERY[..n]) {
                Err(Error::Incomplete { needed }) => assert_eq!(needed, HEADER_LEN - n),
                Err(e) => panic!("{e:?}"),
                Ok(m) => {
                    assert!(n >= HEADER_LEN);
                    assert!(m.anomalies().contains(Anomalies::TRUNCATED));
                    assert_eq!(m.counts()[0], u16::from(n >= 29));
                }
            }
        }
    }

    /// What a question's accessors report, to compare two questions field
    /// by field (`Name`'s `==` is a case-insensitive label comparison).
    fn summary(q: Option<Question<'_>>) -> Option<(usize, usize, usize, Anomalies, Type, Class)> {
        q.map(|q| {
            (q.name.offset(), q.name.label_count(), q.name.wire_len(), q.name.anomalies(), q.qtype, q.qclass)
        })
    }

    #[test]
    fn first_question_kept_from_validation_matches_the_iterator() {
        // A query, a response whose question is compressed against nothing
        // (bad pointer), two questions, and every truncation of each.
        let mut two = QUERY.to_vec();
        two[5] = 2;
        two[11] = 0;
        two.truncate(29);
        two.extend_from_slice(b"\xc0\x0c\x00\x1c\x00\x01");
        let bad = b"\x00\x01\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x20\x00\x01\x00\x01";
        for msg in [QUERY, &two[..], &bad[..]] {
            for n in HEADER_LEN..=msg.len() {
                let m = Message::parse(&msg[..n]).expect("header");
                assert_eq!(summary(m.question()), summary(m.questions().next()), "{n}");
            }
        }
        let m = Message::parse(&two).expect("header");
        assert!(m.anomalies().is_empty(), "{:?}", m.anomalies());
        let qs: Vec<_> = m.questions().map(|q| q.qtype).collect();
        assert_eq!(qs, [Type::A, Type::Aaaa]);
        assert!(m.question().is_some_and(|q| q.name.eq_ignore_case(b"example.com")));
    }
}
