//! `centinela run`: live capture with libpcap.
//!
//! One capture thread (the caller's) reads every configured interface in
//! non-blocking mode: `dispatch` drains what the kernel ring holds, and
//! when no interface had packets it waits in `poll(2)` on their
//! descriptors for at most `capture.poll_timeout_ms` — the libpcap read
//! timeout alone never fires on a quiet TPACKET_V3 link. Immediate mode is
//! off (it falls back to fixed-size slots and drops under load) and the
//! kernel buffer is `capture.buffer_mib` (32 MiB by default; 2 MiB drops).
//! The capture thread never blocks on the workers: a full queue drops the
//! packet and counts it (`queue_full`). Kernel counters (`pcap_stats`) are
//! read once per second and reported in `stats`.
//!
//! AF_PACKET TPACKET_V3 with PACKET_FANOUT (one ring per worker) is not
//! implemented: libpcap's ring is the single capture path.

use crate::config::Config;
use crate::pipeline::{Pipeline, Start};
use crate::source::RawPacket;
use crate::writer::{EveSink, WriterSummary};
use centinela_events::Timestamp;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// Packets taken from one interface per `dispatch` call.
pub const DISPATCH_BATCH: usize = 4096;

/// Live capture options.
#[derive(Debug)]
pub struct LiveOpts {
    /// Configuration.
    pub cfg: Arc<Config>,
    /// Worker threads.
    pub workers: usize,
    /// EVE output.
    pub sink: EveSink,
    /// Forwarding.
    pub delivery: Option<centinela_forward::Delivery>,
    /// Stop flag.
    pub stop: Arc<AtomicBool>,
    /// Reopen flag.
    pub hup: Arc<AtomicBool>,
}

type Cap = pcap::Capture<pcap::Active>;

fn open_iface(cfg: &Config, name: &str) -> Result<Cap, String> {
    let c = &cfg.capture;
    let inactive =
        pcap::Capture::from_device(name).map_err(|e| format!("capture.interfaces: {name}: {e}"))?;
    let cap = inactive
        .promisc(c.promiscuous)
        .snaplen(c.snaplen as i32)
        .buffer_size((c.buffer_mib as i32).saturating_mul(1 << 20))
        .immediate_mode(false)
        .timeout(c.poll_timeout_ms as i32)
        .open()
        .map_err(|e| format!("capture.interfaces: {name}: {e} (needs CAP_NET_RAW and CAP_NET_ADMIN)"))?;
    let mut cap = cap.setnonblock().map_err(|e| format!("capture.interfaces: {name}: {e}"))?;
    if !c.bpf_filter.is_empty() {
        cap.filter(&c.bpf_filter, true).map_err(|e| format!("capture.bpf_filter: {e}"))?;
    }
    Ok(cap)
}

fn wall_now() -> Timestamp {
    let d = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    Timestamp::new(d.as_secs() as i64, d.subsec_nanos())
}

/// Capture until the stop flag is set; then drain and flush.
pub fn run(o: LiveOpts) -> Result<WriterSummary, String> {
    let names = o.cfg.capture.interfaces.clone();
    if names.is_empty() {
        return Err("capture.interfaces: no interface configured (e.g. interfaces = [\"eth1\"])".into());
    }
    let mut caps: Vec<(Cap, i32)> = Vec::with_capacity(names.len());
    for n in &names {
        let cap = open_iface(&o.cfg, n)?;
        let lt = cap.get_datalink().0;
        if !crate::decode::linktype::supported(lt) {
            return Err(format!("capture.interfaces: {n}: link type {lt} is not supported"));
        }
        caps.push((cap, lt));
    }
    let ifaces: Arc<[Arc<str>]> = names.iter().map(|s| Arc::<str>::from(s.as_str())).collect();
    let mut p = Pipeline::start(Start {
        cfg: Arc::clone(&o.cfg),
        workers: o.workers,
        live: true,
        ifaces,
        sink: o.sink,
        delivery: o.delivery,
        hup: o.hup,
    })
    .map_err(|e| format!("cannot start threads: {e}"))?;
    tracing::info!("capturing on {}", names.join(", "));
    let timeout = rustix::event::Timespec {
        tv_sec: i64::from(o.cfg.capture.poll_timeout_ms / 1000),
        tv_nsec: i64::from(o.cfg.capture.poll_timeout_ms % 1000) * 1_000_000,
    };
    let mut last_stats = Instant::now();
    let mut errors = 0u64;
    while !o.stop.load(Ordering::Relaxed) {
        let mut got = 0usize;
        for (i, (cap, lt)) in caps.iter_mut().enumerate() {
            let lt = *lt;
            let r = cap.dispatch(Some(DISPATCH_BATCH), |pkt| {
                let h = pkt.header;
                let ts = Timestamp::from_micros(h.ts.tv_sec, h.ts.tv_usec.clamp(0, 999_999) as u32);
                p.push(RawPacket { ts, linktype: lt, data: pkt.data, orig_len: h.len, iface: i as u16 });
            });
            match r {
                Ok(n) => got += n,
                Err(e) => {
                    errors += 1;
                    if errors <= 10 {
                        tracing::warn!("{}: capture error: {e}", names.get(i).map_or("?", String::as_str));
                    }
                }
            }
        }
        if p.dispatch.disconnected {
            break;
        }
        if got == 0 {
            let mut fds: Vec<rustix::event::PollFd<'_>> = caps
                .iter()
                .map(|(c, _)| {
                    rustix::event::PollFd::from_borrowed_fd(c.as_fd(), rustix::event::PollFlags::IN)
                })
                .collect();
            let _ = rustix::event::poll(&mut fds, Some(&timeout));
            drop(fds);
            p.dispatch.idle_tick(wall_now());
        }
        if last_stats.elapsed() >= Duration::from_secs(1) {
            last_stats = Instant::now();
            let (mut recv, mut drop, mut ifdrop) = (0u64, 0u64, 0u64);
            for (cap, _) in &mut caps {
                if let Ok(s) = cap.stats() {
                    recv += u64::from(s.received);
                    drop += u64::from(s.dropped);
                    ifdrop += u64::from(s.if_dropped);
                }
            }
            p.dispatch.counters.kernel = Some((recv, drop, ifdrop));
            p.dispatch.counters.errors = errors;
        }
    }
    tracing::info!("stopping: draining queues");
    Ok(p.finish())
}
