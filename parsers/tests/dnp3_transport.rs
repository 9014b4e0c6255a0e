//! DNP3 transport layer: header fixtures, the assembler (multi-segment,
//! sequence wrap, out-of-sequence, missing FIR, overflow, reset, zero copy),
//! and the whole link → transport → application pipeline over every DNP3
//! capture. With `CENTINELA_FUZZ_SEEDS=<fuzz/corpus dir>` it also writes the
//! fuzzers' seed corpora (dnp3_link, dnp3_transport, dnp3_app).
#![cfg(feature = "dnp3")]
#![allow(clippy::unwrap_used)]

#[allow(clippy::unnested_or_patterns, clippy::collapsible_if)]
mod common;
mod dnp3_support;

use centinela_parsers::dnp3::transport::{self, Assembler, Error, Header};
use centinela_parsers::dnp3::{Flags, app, link};
use dnp3_support as sup;
use std::collections::BTreeMap;

#[test]
fn header_fixtures() {
    // 0xc5: FIN FIR seq 5; 0x3f: seq 63 alone; 0x80: FIN seq 0.
    assert_eq!(Header::from_u8(0xc5), Header { fin: true, fir: true, seq: 5 });
    assert_eq!(Header::from_u8(0x3f), Header { fin: false, fir: false, seq: 63 });
    assert_eq!(Header::from_u8(0x80), Header { fin: true, fir: false, seq: 0 });
    assert_eq!(Header { fin: false, fir: true, seq: 12 }.to_u8(), 0x4c);
    assert_eq!(Header::parse(&[]), Err(Error::Incomplete { needed: 1 }));
}

fn fragment(len: usize) -> Vec<u8> {
    let mut f = vec![0xc0, 0x81, 0x00, 0x00];
    while f.len() < len {
        f.extend_from_slice(&[0x01, 0x02, 0x00, 0x00, 0x00, 0x81]);
    }
    f.truncate(len);
    f
}

/// Segments (link user data) of a fragment cut into `max`-octet pieces.
fn segments(frag: &[u8], seq: u8, max: usize) -> Vec<Vec<u8>> {
    let mut out = [0u8; link::MAX_USER_DATA];
    sup::frames_for_fragment(frag, seq, false, max)
        .iter()
        .map(|f| link::Frame::parse(f, &mut out).unwrap().1.to_vec())
        .collect()
}

#[test]
fn multi_segment_fragment_with_sequence_wrap() {
    let frag = fragment(1000);
    let segs = segments(&frag, 62, 249);
    assert_eq!(segs.len(), 5);
    let mut a = Assembler::default();
    assert_eq!(a.capacity(), 2048);
    for s in &segs[..4] {
        assert_eq!(a.push(s), Ok(None));
        assert!(a.in_progress());
    }
    assert_eq!(a.push(&segs[4]).unwrap().unwrap(), &frag[..]);
    assert!(!a.in_progress());
    assert_eq!(a.stats().fragments, 1);
}

#[test]
fn out_of_sequence_missing_fir_overflow_and_reset() {
    let frag = fragment(600);
    let segs = segments(&frag, 0, 249);
    let mut a = Assembler::new(2048);
    // Missing FIR: a middle segment first.
    assert_eq!(a.push(&segs[1]), Err(Error::MissingFir { seq: 1 }));
    // Out of order: 0 then 2.
    assert_eq!(a.push(&segs[0]), Ok(None));
    assert_eq!(a.push(&segs[2]), Err(Error::OutOfSequence { expected: 1, got: 2 }));
    assert!(!a.in_progress());
    // Duplicate segment (retransmission at the link layer) is out of sequence too.
    assert_eq!(a.push(&segs[0]), Ok(None));
    assert_eq!(a.push(&segs[0][..]).map(|_| ()), Ok(())); // a new FIR restarts
    assert_eq!(a.stats().abandoned, 1);
    assert_eq!(a.push(&segs[1]), Ok(None));
    assert_eq!(a.push(&segs[2]).unwrap().unwrap(), &frag[..]);
    // Overflow with a small buffer; then the assembler recovers.
    let mut small = Assembler::new(300);
    assert_eq!(small.push(&segs[0]), Ok(None));
    assert_eq!(small.push(&segs[1]), Err(Error::Overflow { capacity: 300 }));
    assert_eq!(small.push(&segs[2]), Err(Error::MissingFir { seq: 2 }));
    let one = segments(&fragment(100), 7, 249);
    assert_eq!(small.push(&one[0]).unwrap().unwrap(), &fragment(100)[..]);
    // Reset drops a partial fragment.
    assert_eq!(small.push(&segs[0]), Ok(None));
    small.reset();
    assert_eq!(small.push(&segs[1]), Err(Error::MissingFir { seq: 1 }));
    let s = small.stats();
    assert_eq!((s.overflow, s.missing_fir, s.fragments), (1, 2, 1));
    assert_eq!(Error::OutOfSequence { expected: 1, got: 2 }.flag(), Flags::TRANSPORT_OUT_OF_SEQUENCE);
    assert_eq!(Error::MissingFir { seq: 0 }.flag().names().next(), Some("transport_missing_fir"));
    assert_eq!(Error::Overflow { capacity: 1 }.flag(), Flags::TRANSPORT_OVERFLOW);
}

#[test]
fn every_split_size_reassembles() {
    let frag = fragment(2048);
    for max in [1, 2, 15, 16, 17, 100, 248, 249] {
        let mut a = Assembler::new(2048);
        let segs = segments(&frag, 33, max);
        let mut got = None;
        for s in &segs {
            if let Some(f) = a.push(s).unwrap() {
                got = Some(f.to_vec());
            }
        }
        assert_eq!(got.as_deref(), Some(&frag[..]), "max {max}");
    }
    // One octet more than the capacity overflows.
    let mut a = Assembler::new(2047);
    let errs: Vec<_> = segments(&frag, 0, 249).iter().filter_map(|s| a.push(s).err()).collect();
    assert_eq!(errs.first(), Some(&Error::Overflow { capacity: 2047 }));
}

#[test]
fn capture_pipeline_link_transport_app() {
    let caps = sup::captures();
    let seeds = std::env::var_os("CENTINELA_FUZZ_SEEDS").map(std::path::PathBuf::from);
    let (mut frames, mut fragments, mut headers, mut points) = (0u64, 0u64, 0u64, 0u64);
    let mut flag_counts: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut seed_n = 0usize;
    let debug = std::env::var_os("DNP3_DEBUG").is_some();
    let mut out = [0u8; link::MAX_USER_DATA];
    for path in &caps {
        let pkts = sup::dnp3_packets(path);
        let mut asm: BTreeMap<(bool, (u16, u16)), Assembler> = BTreeMap::new();
        for (si, stream) in sup::tcp_streams(&pkts).iter().enumerate() {
            if let Some(dir) = &seeds {
                write_seed(
                    dir,
                    "dnp3_link",
                    &format!("{seed_n}-{si}"),
                    &[&[7u8][..], &stream[..stream.len().min(4096)]].concat(),
                );
            }
        }
        for p in &pkts {
            let a = asm.entry((p.tcp, p.key)).or_default();
            for f in link::frames(&p.payload) {
                let f = match f {
                    Ok(f) => f,
                    Err(e) => {
                        for n in e.flag().names() {
                            *flag_counts.entry(n).or_default() += 1;
                        }
                        continue;
                    }
                };
                frames += 1;
                let ud = f.copy_user_data(&mut out);
                if ud.is_empty() || !f.header().control.function.has_user_data() {
                    continue;
                }
                if let Some(dir) = &seeds {
                    let mut s = vec![255u8, ud.len() as u8];
                    s.extend_from_slice(ud);
                    write_seed(dir, "dnp3_transport", &format!("{seed_n}"), &s);
                }
                let dir_master = f.header().control.dir;
                match a.push(ud) {
                    Ok(Some(frag)) => {
                        fragments += 1;
                        if let Some(dir) = &seeds {
                            write_seed(dir, "dnp3_app", &format!("{seed_n}"), frag);
                        }
                        seed_n += 1;
                        let Ok(fr) = app::Fragment::parse(frag) else {
                            *flag_counts.entry("app_incomplete").or_default() += 1;
                            continue;
                        };
                        let all = fr.flags | fr.check(Some(dir_master));
                        if debug && !fr.flags.is_empty() {
                            eprintln!(
                                "{} #{}: {} {:02x?}",
                                path.display(),
                                p.frame,
                                fr.flags,
                                &frag[..frag.len().min(40)]
                            );
                        }
                        for n in all.names() {
                            *flag_counts.entry(n).or_default() += 1;
                        }
                        let mut hs = 0;
                        for h in fr.objects() {
                            hs += 1;
                            points += h.points().count() as u64;
                        }
                        assert_eq!(hs, fr.object_count);
                        headers += hs as u64;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        for n in e.flag().names() {
                            *flag_counts.entry(n).or_default() += 1;
                        }
                    }
                }
            }
        }
    }
    eprintln!(
        "dnp3 pipeline: {} captures, {frames} frames, {fragments} fragments, {headers} object headers, {points} points",
        caps.len()
    );
    eprintln!("dnp3 pipeline flags: {flag_counts:?}");
    if common::corpus_dir().is_some() {
        assert!(frames > 4000 && fragments > 2500 && points > 1000, "corpus decode too small");
    }
}

fn write_seed(dir: &std::path::Path, target: &str, name: &str, bytes: &[u8]) {
    let d = dir.join(target);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join(format!("seed-{name}")), bytes).unwrap();
}

#[test]
fn max_capacity_is_bounded() {
    assert_eq!(Assembler::new(1 << 30).capacity(), transport::MAX_CAPACITY);
}
