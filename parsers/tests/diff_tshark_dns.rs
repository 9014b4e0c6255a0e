//! Differential test of the DNS decoder against Wireshark's `tshark`.
//!
//! Every DNS frame of the project captures (`pcaps/`) and of the shared
//! corpus (files whose MANIFEST `dns_frames` > 0) is decoded by both; the
//! fields compared are the header (id, flags and each flag bit, counts),
//! every question (name, type, class), every resource record (owner, type,
//! class, TTL, rdlength) and the rdata of A, AAAA, CNAME, NS, PTR, MX, TXT,
//! SRV, SOA, NULL, KEY/DNSKEY, OPT (payload size, extended rcode, version,
//! DO, option codes) and SVCB/HTTPS (priority, target).
//!
//! To keep the runtime low, the captures are concatenated once with
//! `mergecap -a` into a temporary pcapng and tshark runs once on it; our side
//! reads the same merged file, so frame numbers agree by construction.
//!
//! Frames where tshark raises an expert warning/error or a malformed marker
//! ("hostile" frames: tunnels, Ripple20, SIGred…) are decoded too (no panic)
//! and reported in their own table, but only frames tshark decodes cleanly
//! must agree 100%, except the allowlisted cases below, each with the spec
//! clause that makes tshark's reading wrong.
//!
//! Names whose labels hold octets outside printable ASCII (or a `.` inside a
//! label) are not compared: tshark prints those octets raw and its text
//! cannot be mapped back to octets. They are counted and reported.
#![cfg(feature = "dns")]

mod common;
mod dns_support;

use centinela_parsers::dns::{Anomalies, Message, Name, RData, TcpFramer};
use centinela_parsers::stream::drive;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// tshark's marker for a name over 255 octets, and ours for a refused
/// pointer (tshark: "<Name contains a pointer that loops>", normalised).
const NAME_TOO_LONG: &str = "<Name too long>";
const NAME_BAD_POINTER: &str = "<bad pointer>";
const THEIR_LOOP: &str = "<Name contains a pointer that loops>";

/// tshark fields, in output order.
const FIELDS: &[&str] = &[
    "frame.number",
    "_ws.expert.severity",
    "_ws.malformed",
    "dns.id",
    "dns.flags",
    "dns.flags.response",
    "dns.flags.opcode",
    "dns.flags.authoritative",
    "dns.flags.truncated",
    "dns.flags.recdesired",
    "dns.flags.recavail",
    "dns.flags.z",
    "dns.flags.rcode",
    "dns.count.queries",
    "dns.count.answers",
    "dns.count.auth_rr",
    "dns.count.add_rr",
    "dns.count.zones",
    "dns.count.prerequisites",
    "dns.count.updates",
    "dns.qry.name",
    "dns.qry.type",
    "dns.qry.class",
    "dns.resp.name",
    "dns.resp.type",
    "dns.resp.class",
    "dns.resp.ttl",
    "dns.resp.len",
    "dns.a",
    "dns.aaaa",
    "dns.cname",
    "dns.ns",
    "dns.ptr.domain_name",
    "dns.mx.preference",
    "dns.mx.mail_exchange",
    "dns.txt.length",
    "dns.txt",
    "dns.srv.service",
    "dns.srv.proto",
    "dns.srv.name",
    "dns.srv.priority",
    "dns.srv.weight",
    "dns.srv.port",
    "dns.srv.target",
    "dns.soa.mname",
    "dns.soa.rname",
    "dns.soa.serial_number",
    "dns.null",
    "dns.key.algorithm",
    "dns.dnskey.algorithm",
    "dns.rr.udp_payload_size",
    "dns.resp.ext_rcode",
    "dns.resp.edns0_version",
    "dns.resp.z.do",
    "dns.opt.code",
    "dns.svcb.svcpriority",
    "dns.svcb.targetname",
];

/// Field separator and occurrence aggregator (control characters that no
/// comparable value contains).
const SEP: char = '\u{1e}';
const AGG: char = '\u{1f}';

/// Expert severities at or above PI_WARN (epan/proto.h: 0x00600000) make a
/// frame "not clean".
const PI_WARN: u64 = 0x0060_0000;

/// Disagreements where tshark is wrong: (corpus-relative file, frame, field, why).
const ALLOWLIST: &[(&str, u64, &str, &str)] = &[
    (
        "suricata-verify/tests/dns/dns-forward-pointer/input.pcap",
        1,
        "dns.qry.name",
        "the first question's name is a pointer to a *later* offset; RFC 1035 §4.1.4 \
         defines a pointer as referring to a prior occurrence of the name, so we refuse it \
         (name_bad_pointer) where tshark follows it",
    ),
    (
        "collections/Malcolm-PCAP/pcaps/plugins/ripple20/dns_variant_2.pcap",
        2,
        "dns.cname",
        "Ripple20 (CVE-2020-11901): the CNAME's name runs past its RDLENGTH of 10; \
         RFC 1035 §4.1.3 makes RDLENGTH the length of RDATA and §3.3.1 CNAME RDATA a \
         single <domain-name>, so the rdata is malformed (rdata_malformed); tshark reads \
         the name beyond the record",
    ),
    (
        "zeek/Traces/dns-svcb-rdlength-mismatch.pcap",
        1,
        "dns.svcb.svcpriority",
        "the SVCB RDLENGTH is 2: the priority alone, no TargetName; RFC 9460 §2.2 puts \
         SvcPriority and TargetName inside RDATA, so the rdata is malformed; tshark takes \
         the next record's root owner octet as the TargetName and reports both",
    ),
    (
        "zeek/Traces/dns-svcb-rdlength-mismatch.pcap",
        1,
        "dns.svcb.targetname",
        "same record: the TargetName tshark shows is the OPT record's owner octet, read \
         past RDLENGTH (RFC 1035 §4.1.3, RFC 9460 §2.2)",
    ),
];

/// Our rendering of the compared fields for the DNS messages of one frame.
#[derive(Debug, Default)]
struct Ours {
    fields: BTreeMap<&'static str, Vec<String>>,
    /// Fields that hold a name or text we cannot compare (binary octets).
    incomparable: Vec<&'static str>,
}

impl Ours {
    fn push(&mut self, f: &'static str, v: &dyn ToString) {
        self.fields.entry(f).or_default().push(v.to_string());
    }

    fn name(&mut self, f: &'static str, n: &Name<'_>) {
        // Names both sides refuse: tshark prints a marker instead.
        if n.anomalies().intersects(Anomalies::NAME_TOO_LONG | Anomalies::NAME_TOO_MANY_LABELS) {
            return self.push(f, &NAME_TOO_LONG);
        }
        if n.anomalies().intersects(Anomalies::NAME_BAD_POINTER) {
            return self.push(f, &NAME_BAD_POINTER);
        }
        if n.is_root() {
            return self.push(f, &"<Root>");
        }
        let mut s = String::new();
        for (i, l) in n.labels().enumerate() {
            if i > 0 {
                s.push('.');
            }
            if l.iter().any(|&b| !(0x20..=0x7e).contains(&b) || b == b'.') {
                self.incomparable.push(f);
            }
            s.extend(l.iter().map(|&b| b as char));
        }
        self.push(f, &s);
    }

    fn message(&mut self, m: &Message<'_>) {
        let h = m.header();
        let b = |v: bool| u8::from(v);
        self.push("dns.id", &format!("0x{:04x}", h.id()));
        self.push("dns.flags", &format!("0x{:04x}", h.flags()));
        self.push("dns.flags.response", &b(h.is_response()));
        self.push("dns.flags.opcode", &h.opcode().code());
        if h.is_response() {
            self.push("dns.flags.authoritative", &b(h.authoritative()));
        }
        self.push("dns.flags.truncated", &b(h.truncated()));
        self.push("dns.flags.recdesired", &b(h.recursion_desired()));
        if h.is_response() {
            self.push("dns.flags.recavail", &b(h.recursion_available()));
        }
        self.push("dns.flags.z", &b(h.z()));
        if h.is_response() {
            self.push("dns.flags.rcode", &h.rcode().code());
        }
        // RFC 2136 §2.2: UPDATE renames the sections (and tshark their counts).
        if h.opcode() == centinela_parsers::dns::Opcode::Update {
            self.push("dns.count.zones", &h.qdcount());
            self.push("dns.count.prerequisites", &h.ancount());
            self.push("dns.count.updates", &h.nscount());
        } else {
            self.push("dns.count.queries", &h.qdcount());
            self.push("dns.count.answers", &h.ancount());
            self.push("dns.count.auth_rr", &h.nscount());
        }
        self.push("dns.count.add_rr", &h.arcount());
        for q in m.questions() {
            self.name("dns.qry.name", &q.name);
            self.push("dns.qry.type", &q.qtype.code());
            self.push("dns.qry.class", &format!("0x{:04x}", q.qclass.code()));
        }
        for r in m.records() {
            if r.rtype == centinela_parsers::dns::Type::Srv && r.name.label_count() >= 3 {
                // tshark splits an SRV owner into _service._proto.name (RFC 2782).
                let l: Vec<&[u8]> = r.name.labels().collect();
                let text = |l: &[u8]| l.iter().map(|&b| b as char).collect::<String>();
                if r.name.labels().flatten().any(|&b| !(0x20..=0x7e).contains(&b) || b == b'.') {
                    self.incomparable.extend(["dns.srv.service", "dns.srv.proto", "dns.srv.name"]);
                }
                self.push("dns.srv.service", &text(l[0]));
                self.push("dns.srv.proto", &text(l[1]));
                self.push("dns.srv.name", &l[2..].iter().map(|x| text(x)).collect::<Vec<_>>().join("."));
            } else {
                self.name("dns.resp.name", &r.name);
            }
            self.push("dns.resp.type", &r.rtype.code());
            // tshark files the types of an NSEC/NSEC3 type bitmap under
            // `dns.resp.type` too (RFC 4034 §4.1.2, RFC 5155 §3.2.1).
            for t in bitmap_types(r.rtype.code(), r.rdata()) {
                self.push("dns.resp.type", &t);
            }
            self.push("dns.resp.len", &r.rdata().len());
            let data = r.data();
            if !matches!(data, RData::Opt(_)) {
                self.push("dns.resp.class", &format!("0x{:04x}", r.class.code()));
                self.push("dns.resp.ttl", &r.ttl);
            }
            match data {
                RData::A(a) => self.push("dns.a", &a),
                RData::Aaaa(a) => self.push("dns.aaaa", &a),
                RData::Cname(n) => self.name("dns.cname", &n),
                RData::Ns(n) => self.name("dns.ns", &n),
                RData::Ptr(n) => self.name("dns.ptr.domain_name", &n),
                RData::Mx { preference, exchange } => {
                    self.push("dns.mx.preference", &preference);
                    self.name("dns.mx.mail_exchange", &exchange);
                }
                RData::Txt(t) => {
                    for s in t {
                        self.push("dns.txt.length", &s.len());
                        if s.iter().any(|&b| !(0x20..=0x7e).contains(&b)) {
                            self.incomparable.push("dns.txt");
                        }
                        self.push("dns.txt", &s.iter().map(|&b| b as char).collect::<String>());
                    }
                }
                RData::Srv { priority, weight, port, target } => {
                    self.push("dns.srv.priority", &priority);
                    self.push("dns.srv.weight", &weight);
                    self.push("dns.srv.port", &port);
                    self.name("dns.srv.target", &target);
                }
                RData::Soa(s) => {
                    self.name("dns.soa.mname", &s.mname);
                    self.name("dns.soa.rname", &s.rname);
                    self.push("dns.soa.serial_number", &s.serial);
                }
                RData::Null(d) if !d.is_empty() => self.push("dns.null", &dns_support::hexs(d)),
                RData::Key(k) if r.rtype == centinela_parsers::dns::Type::Key => {
                    self.push("dns.key.algorithm", &k.algorithm);
                }
                RData::Key(k) => self.push("dns.dnskey.algorithm", &k.algorithm),
                RData::Opt(e) => {
                    self.push("dns.rr.udp_payload_size", &e.udp_payload_size);
                    self.push("dns.resp.ext_rcode", &format!("0x{:02x}", e.extended_rcode));
                    self.push("dns.resp.edns0_version", &e.version);
                    self.push("dns.resp.z.do", &b(e.dnssec_ok));
                    for o in e.options {
                        self.push("dns.opt.code", &o.code);
                    }
                }
                RData::Svcb(s) => {
                    self.push("dns.svcb.svcpriority", &s.priority);
                    self.name("dns.svcb.targetname", &s.target);
                }
                _ => {}
            }
        }
    }
}

/// Types listed in the type bitmap of NSEC (47) / NSEC3 (50) rdata.
fn bitmap_types(rtype: u16, rdata: &[u8]) -> Vec<u16> {
    let start = match rtype {
        // Next domain name: uncompressed (RFC 4034 §4.1.1).
        47 => {
            let mut i = 0;
            while let Some(&l) = rdata.get(i) {
                i += 1 + usize::from(l);
                if l == 0 || l >= 0x40 {
                    break;
                }
            }
            i
        }
        50 => {
            let salt = usize::from(*rdata.get(4).unwrap_or(&0));
            let hash_at = 5 + salt;
            hash_at + 1 + usize::from(*rdata.get(hash_at).unwrap_or(&0))
        }
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    let mut b = rdata.get(start..).unwrap_or_default();
    while let [window, len, rest @ ..] = b {
        let Some(bits) = rest.get(..usize::from(*len)) else { break };
        for (i, byte) in bits.iter().enumerate() {
            for bit in 0..8 {
                if byte & (0x80 >> bit) != 0 {
                    out.push(u16::from(*window) * 256 + (i * 8 + bit) as u16);
                }
            }
        }
        b = &rest[usize::from(*len)..];
    }
    out
}

/// tshark's values for one frame.
#[derive(Debug)]
struct Theirs {
    clean: bool,
    fields: BTreeMap<&'static str, Vec<String>>,
}

fn run_tshark(merged: &Path) -> BTreeMap<u64, Theirs> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(merged).args([
        "-n",
        "-o",
        "tcp.desegment_tcp_streams:FALSE",
        "-o",
        "tcp.analyze_sequence_numbers:FALSE",
        "-Y",
        "dns",
        "-T",
        "fields",
        "-E",
        "occurrence=a",
    ]);
    cmd.arg("-E").arg(format!("separator={SEP}"));
    cmd.arg("-E").arg(format!("aggregator={AGG}"));
    for f in FIELDS {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("run tshark");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut frames = BTreeMap::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.split(SEP).collect();
        if cols.len() != FIELDS.len() {
            continue;
        }
        let Ok(frame) = cols[0].parse::<u64>() else { continue };
        let sev_bad = cols[1].split(AGG).filter_map(|s| s.parse::<u64>().ok()).any(|s| s >= PI_WARN);
        let malformed = !cols[2].is_empty();
        let mut fields = BTreeMap::new();
        for (f, v) in FIELDS.iter().zip(&cols).skip(3) {
            if !v.is_empty() {
                fields.insert(
                    *f,
                    v.split(AGG)
                        .map(|x| if x == THEIR_LOOP { NAME_BAD_POINTER } else { x })
                        .map(str::to_string)
                        .collect(),
                );
            }
        }
        // An empty column is either no occurrence or one empty string: a
        // lone empty TXT string shows as a `dns.txt.length` of 0 only.
        if !fields.contains_key("dns.txt")
            && let Some(n) = fields.get("dns.txt.length").map(Vec::len)
        {
            fields.insert("dns.txt", vec![String::new(); n]);
        }
        frames.insert(frame, Theirs { clean: !sev_bad && !malformed, fields });
    }
    frames
}

/// The corpus captures that hold DNS (MANIFEST `dns_frames` > 0).
fn corpus_dns_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(manifest) = std::fs::read_to_string(dir.join("MANIFEST.tsv")) else {
        return common::find_captures(dir);
    };
    let mut lines = manifest.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    let Some(col) = header.iter().position(|h| *h == "dns_frames") else { return common::find_captures(dir) };
    let wanted: std::collections::BTreeSet<PathBuf> = lines
        .filter_map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            (c.get(col)?.parse::<u64>().ok()? > 0).then(|| dir.join(c[0]))
        })
        .collect();
    common::find_captures(dir).into_iter().filter(|p| wanted.contains(p)).collect()
}

#[test]
fn dns_agrees_with_tshark() {
    if !common::have_tshark() || Command::new("mergecap").arg("-v").output().is_err() {
        eprintln!("tshark not found: differential test NOT RUN");
        assert!(
            std::env::var("CENTINELA_REQUIRE_TSHARK").as_deref() != Ok("1"),
            "CENTINELA_REQUIRE_TSHARK=1"
        );
        return;
    }
    let mut files = common::project_pcaps();
    let corpus = common::corpus_dir();
    if let Some(dir) = &corpus {
        files.extend(corpus_dns_files(dir));
    }
    if files.is_empty() {
        eprintln!("no captures: differential test NOT RUN");
        return;
    }
    // Concatenate, remembering each file's first frame.
    let tmp = std::env::temp_dir().join(format!("centinela-diff-dns-{}.pcapng", std::process::id()));
    let status =
        Command::new("mergecap").arg("-a").args(["-F", "pcapng", "-w"]).arg(&tmp).args(&files).status();
    assert!(status.is_ok_and(|s| s.success()), "mergecap failed");
    let mut starts: Vec<(u64, &Path)> = Vec::new();
    let mut next = 1u64;
    for f in &files {
        starts.push((next, f.as_path()));
        next += common::read_packets(f).len() as u64;
    }
    let theirs = run_tshark(&tmp);
    let packets = common::read_packets(&tmp);
    let _ = std::fs::remove_file(&tmp);
    if next - 1 != packets.len() as u64 {
        eprintln!(
            "warning: per-file frame counts ({}) differ from the merged file ({})",
            next - 1,
            packets.len()
        );
    }
    let locate = |frame: u64| -> String {
        let i = starts.partition_point(|(s, _)| *s <= frame).saturating_sub(1);
        let (s, f) = starts[i];
        let root = corpus.as_deref().unwrap_or(Path::new("/"));
        format!("{}#{}", f.strip_prefix(root).unwrap_or(f).display(), frame - s + 1)
    };

    let mut clean = common::Agreement::default();
    let mut hostile = common::Agreement::default();
    let mut unexplained = Vec::new();
    let (mut n_clean, mut n_hostile, mut skipped_transport, mut skipped_partial, mut incomparable) =
        (0, 0, 0, 0, 0);
    for p in &packets {
        let Some(t) = theirs.get(&p.frame) else { continue };
        let Some(tr) = common::transport(p) else {
            skipped_transport += 1;
            continue;
        };
        if !(dns_support::is_dns_port(tr.src_port) || dns_support::is_dns_port(tr.dst_port)) || tr.fragmented
        {
            // DNS inside another protocol (DoH, Teredo…) or an IP fragment.
            skipped_transport += 1;
            continue;
        }
        let mut ours = Ours::default();
        if tr.tcp {
            let mut f = TcpFramer::new();
            let mut msgs = Vec::new();
            let (used, _) = drive(&mut f, tr.payload, |fr| msgs.push(fr), |_, _| {});
            if msgs.is_empty() || used < tr.payload.len() {
                // A TCP segment holding part of a message: tshark shows what
                // it can of it, we wait for the rest (desegmentation off).
                skipped_partial += 1;
                continue;
            }
            for m in msgs {
                if let Ok(m) = Message::parse(m) {
                    ours.message(&m);
                }
            }
        } else if let Ok(m) = Message::parse(tr.payload) {
            ours.message(&m);
        }
        let ctx = locate(p.frame);
        let table = if t.clean { &mut clean } else { &mut hostile };
        if t.clean {
            n_clean += 1;
        } else {
            n_hostile += 1;
        }
        for f in FIELDS.iter().skip(3) {
            if ours.incomparable.contains(f) {
                incomparable += 1;
                continue;
            }
            let a = ours.fields.get(f).cloned().unwrap_or_default();
            let b = t.fields.get(f).cloned().unwrap_or_default();
            if a.is_empty() && b.is_empty() {
                continue;
            }
            table.check(f, &a, &b, &ctx);
            if t.clean
                && a != b
                && !ALLOWLIST.iter().any(|(file, fr, field, _)| ctx == format!("{file}#{fr}") && field == f)
            {
                unexplained.push(format!("{ctx}: {f}: ours={a:?} tshark={b:?}"));
            }
        }
    }
    clean.print(&format!("DNS, {n_clean} frames tshark decodes cleanly"));
    hostile.print(&format!("DNS, {n_hostile} frames with tshark expert warnings/errors (not asserted)"));
    eprintln!(
        "skipped: {skipped_transport} DNS frames not on a DNS port (DoH, Teredo…) or IP fragments, \
         {skipped_partial} partial TCP segments; {incomparable} binary name/text fields not compared"
    );
    let mut by_field: BTreeMap<&str, usize> = BTreeMap::new();
    for u in &unexplained {
        *by_field.entry(u.split(": ").nth(1).unwrap_or("?")).or_default() += 1;
    }
    eprintln!("unexplained disagreements on clean frames by field: {by_field:?}");
    for u in unexplained.iter().step_by((unexplained.len() / 40).max(1)).take(40) {
        eprintln!("  UNEXPLAINED {}", &u[..u.len().min(300)]);
    }
    eprintln!("allowlisted (tshark wrong, see ALLOWLIST): {}", ALLOWLIST.len());
    assert!(n_clean > 0 || corpus.is_none(), "no clean DNS frame compared");
    assert!(
        unexplained.is_empty(),
        "{} disagreements on clean frames:\n{}",
        unexplained.len(),
        unexplained.iter().take(60).cloned().collect::<Vec<_>>().join("\n")
    );
}
