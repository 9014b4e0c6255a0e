//! Streaming DNS tunnelling / exfiltration detector.
//!
//! Per query: features of the name ([`features`]) give a *tunnel-likeness*
//! `t` and an *information estimate* (bytes) of the part of the subdomain
//! that is new relative to the previous unique name of the same pair
//! (an incremental, bounded, Paxson-style "how much could this carry").
//! Per (client, registered domain) pair: exponentially decaying windows
//! (τ = 1 min, 1 h, 24 h) of that information, counts, qtype mix, NXDOMAIN
//! ratio, bytes, timing regularity, and whether the client ever opened a flow
//! to an address the domain resolved to. A documented score combines them
//! (see `docs/DETECTION.md`); one alert per (client, domain) episode, updated.
//!
//! Memory: two tiers. Every pair has a small *light* record (timing, counts);
//! a pair becomes a *suspect* (exact unique-name sets, windows, samples,
//! episode) only when one of its names looks encoded or its timing is
//! regular. Both tiers and the resolved-address table have caps; hitting a
//! cap evicts the oldest entries and is counted.
//!
//! Architecture invariant: no clock, no I/O, no randomness; iteration over
//! hash maps uses a fixed hasher, so a replay gives byte-identical alerts.

mod allowlist;
mod features;
mod ngram_table;
mod resolved;

use crate::{DetectConfig, DnsObservation, config::DnsExfilConfig};
use allowlist::Allowlist;
use centinela_events::{Alert, CommunityId, Event, EventBody, Timestamp};
use features::{QueryFeatures, Shape, fp};
use resolved::Resolved;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::net::IpAddr;

pub(crate) use features::default_internal_suffixes;

/// Unique subdomain hashes remembered per suspect and generation (two
/// generations: the set is exact for the last 256..512 unique names).
pub const SEEN_GEN_CAP: usize = 256;
/// Sample names kept per suspect (first two and the latest two).
pub const SAMPLE_CAP: usize = 4;
/// Longest sample name kept (characters).
pub const SAMPLE_MAX_CHARS: usize = 120;
/// Tunnel-likeness from which a name counts in the 24 h window: long,
/// clearly encoded names only (content hashes are capped at 0.5).
pub const STRONG_TUNNEL: f32 = 0.55;
/// Smoothing of the interval mean / mean-absolute-deviation estimates
/// (EWMA weight 1/16: steady enough that a Poisson series, whose ratio is
/// 2/e ≈ 0.74, does not dip into the beacon range by chance).
const TIMING_EWMA_N: f32 = 16.0;
/// Prefix of the previous unique subdomain kept for the novelty estimate.
const PREV_PREFIX: usize = 24;

/// Signature id range reserved for this detector: 9100000..=9100099 (gid 1).
pub mod sid {
    /// High-rate encoded data to one domain (1-minute window).
    pub const BURST: u32 = 9_100_001;
    /// Sustained encoded data (1-hour window).
    pub const SUSTAINED: u32 = 9_100_002;
    /// Low-and-slow encoded data (24-hour window).
    pub const SLOW: u32 = 9_100_003;
    /// Periodic beacon to one domain.
    pub const BEACON: u32 = 9_100_004;
    /// iodine-like tunnel.
    pub const IODINE: u32 = 9_100_011;
    /// dns2tcp-like tunnel.
    pub const DNS2TCP: u32 = 9_100_012;
    /// dnscat2-like tunnel.
    pub const DNSCAT2: u32 = 9_100_013;
    /// DNSExfiltrator-like exfiltration.
    pub const DNSEXFILTRATOR: u32 = 9_100_014;
    /// Cobalt-Strike-like DNS beacon.
    pub const COBALT_STRIKE: u32 = 9_100_015;
}

/// Signature text of a detector sid (stable).
pub fn signature_text(id: u32) -> &'static str {
    match id {
        sid::BURST => "CENTINELA DNS tunnel: high-rate encoded data to one domain",
        sid::SUSTAINED => "CENTINELA DNS exfiltration: sustained encoded data to one domain",
        sid::SLOW => "CENTINELA DNS exfiltration: low-and-slow encoded data to one domain",
        sid::BEACON => "CENTINELA DNS C2: periodic beacon to one domain",
        sid::IODINE => "CENTINELA DNS tunnel: iodine-like",
        sid::DNS2TCP => "CENTINELA DNS tunnel: dns2tcp-like",
        sid::DNSCAT2 => "CENTINELA DNS tunnel: dnscat2-like",
        sid::DNSEXFILTRATOR => "CENTINELA DNS exfiltration: DNSExfiltrator-like",
        sid::COBALT_STRIKE => "CENTINELA DNS C2: Cobalt-Strike-like DNS beacon",
        _ => "CENTINELA DNS exfiltration",
    }
}

/// FxHash-style hasher: fast and deterministic (iteration order of the
/// tables depends only on the input sequence).
#[derive(Debug, Default, Clone, Copy)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(b));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl FxHasher {
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type Fx = BuildHasherDefault<FxHasher>;

/// Grouping-key hash of a name: its registered domain (or pseudo-domain),
/// `lower` being the lower-case name.
fn domain_hash(f: &QueryFeatures, lower: &[u8]) -> u64 {
    match f.pseudo_domain {
        Some(p) => name_hash(p.as_bytes()),
        None => name_hash(lower.get(lower.len().saturating_sub(f.reg_len)..).unwrap_or(&[])),
    }
}

/// 64-bit FNV-1a with a final avalanche, for names (stable across runs).
fn name_hash(b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &c in b {
        h ^= u64::from(c);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

type PairKey = (IpAddr, u64);

fn micros(ts: Timestamp) -> i64 {
    ts.as_micros()
}

fn ts_of(us: i64) -> Timestamp {
    Timestamp::from_micros(us.div_euclid(1_000_000), us.rem_euclid(1_000_000) as u32)
}

/// Light per-pair record (every pair).
#[derive(Debug)]
struct Pair {
    first_us: i64,
    last_us: i64,
    last_q_us: i64,
    queries: u32,
    mean_iv: f32,
    dev_iv: f32,
    n_iv: u32,
    suspect: Option<Box<Suspect>>,
}

/// Exponentially decaying sums (τ = 60 s, 3600 s, 86400 s).
#[derive(Debug, Default, Clone, Copy)]
struct Windows {
    info: [f32; 3],
    uniq: [f32; 3],
    strong: f32,
    /// Unique random-looking (not structured) names, τ = 60 s.
    uniq_random: f32,
    last_us: i64,
}

const TAUS: [f32; 3] = [60.0, 3600.0, 86400.0];

impl Windows {
    fn decay_to(&mut self, now_us: i64) {
        let dt = (now_us.saturating_sub(self.last_us).max(0) as f64 / 1e6) as f32;
        if dt > 0.0 {
            // One exponential per time constant (the 24 h and 1 min factors
            // also decay `strong` and `uniq_random`).
            let k = TAUS.map(|tau| (-dt / tau).exp());
            for ((info, uniq), k) in self.info.iter_mut().zip(self.uniq.iter_mut()).zip(k) {
                *info *= k;
                *uniq *= k;
            }
            self.strong *= k[2];
            self.uniq_random *= k[0];
        }
        self.last_us = self.last_us.max(now_us);
    }
}

#[derive(Debug, Clone)]
struct LastFlow {
    flow_id: u64,
    community_id: CommunityId,
    server: IpAddr,
    client_port: u16,
    pcap_cnt: Option<u64>,
}

#[derive(Debug, Clone, Copy)]
struct Episode {
    id: u64,
    sid: u32,
    first_alert_us: i64,
    last_emit_us: i64,
    severity: u8,
    emits: u32,
    queries_at_emit: u64,
}

/// Full state of a pair whose names or timing look suspicious.
#[derive(Debug)]
struct Suspect {
    domain: Box<str>,
    allow_domain: bool,
    allow_label_hits: u64,
    internal: bool,
    win: Windows,
    seen: [HashSet<u32, Fx>; 2],
    prev: [u8; PREV_PREFIX],
    prev_len: u8,
    queries: u64,
    responses: u64,
    nx: u64,
    unique: u64,
    q_bytes: u64,
    r_bytes: u64,
    rdata_bytes: u64,
    qtypes: [u64; 8],
    shapes: [u64; 6],
    non_ldh_queries: u64,
    est_bytes: f64,
    t_sum: f64,
    r_sum: f64,
    ent_sum: f64,
    ngram_sum: f64,
    feat_n: u64,
    max_len: usize,
    max_label: usize,
    fp_bits: u8,
    dnscat_hits: u64,
    uniq_random_total: u64,
    suspicious_unique: u64,
    answers_addr: u64,
    answers_bogon: u64,
    connected: bool,
    first_susp_us: i64,
    last_susp_us: i64,
    samples: Vec<Box<str>>,
    last: LastFlow,
    last_score: f32,
    episode: Option<Episode>,
}

const QTYPE_NAMES: [&str; 8] = ["A", "AAAA", "TXT", "NULL", "CNAME", "MX", "KEY", "other"];

fn qtype_slot(q: u16) -> usize {
    match q {
        1 => 0,
        28 => 1,
        16 => 2,
        10 => 3,
        5 => 4,
        15 => 5,
        25 => 6,
        _ => 7,
    }
}

fn shape_slot(s: Shape) -> usize {
    match s {
        Shape::Empty => 0,
        Shape::Ldh => 1,
        Shape::Hex => 2,
        Shape::Base32 => 3,
        Shape::Base64 => 4,
        Shape::Base128 => 5,
    }
}

const SHAPES: [Shape; 6] =
    [Shape::Empty, Shape::Ldh, Shape::Hex, Shape::Base32, Shape::Base64, Shape::Base128];

fn is_bogon(a: &IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => {
            v.is_unspecified() || v.is_loopback() || v.is_private() || v.is_link_local() || v.octets()[0] == 0
        }
        IpAddr::V6(v) => v.is_unspecified() || v.is_loopback(),
    }
}

/// Score components of one pair at one moment.
#[derive(Debug, Default, Clone, Copy)]
struct Score {
    burst: f32,
    hour: f32,
    day: f32,
    beacon: f32,
    unique: f32,
    fp_corroborated: f32,
    fp: f32,
    qtype: f32,
    nx: f32,
    no_connect: f32,
    allow: f32,
    internal: f32,
    total: f32,
}

impl Score {
    fn dominant_sid(&self, fp_bits: u8) -> u32 {
        let tool = [sid::IODINE, sid::DNS2TCP, sid::DNSCAT2, sid::DNSEXFILTRATOR, sid::COBALT_STRIKE];
        if self.fp > 0.0
            && let Some(i) = (0..5).find(|i| fp_bits & (1 << i) != 0)
        {
            return tool[i];
        }
        // Named after the fastest window that is at least half-way to its
        // threshold (the 24 h window always holds at least as much).
        if self.burst >= 0.5 || self.unique >= 0.5 {
            sid::BURST
        } else if self.hour >= 0.5 {
            sid::SUSTAINED
        } else if self.day >= self.beacon {
            sid::SLOW
        } else {
            sid::BEACON
        }
    }
}

/// Counters for the stats event.
#[derive(Debug, Default, Clone)]
struct Stats {
    queries: u64,
    responses: u64,
    pairs_created: u64,
    pairs_expired: u64,
    pairs_evicted: u64,
    suspects_created: u64,
    suspects_evicted: u64,
    suspect_cap_refused: u64,
    resolved_rotations: u64,
    alerts: u64,
    episodes_opened: u64,
    episodes_closed: u64,
    connections_matched: u64,
}

/// The detector; one instance per worker (see the crate docs).
#[derive(Debug)]
pub struct DnsExfilDetector {
    cfg: DnsExfilConfig,
    allow: Allowlist,
    pairs: HashMap<PairKey, Pair, Fx>,
    suspects: usize,
    resolved: Resolved,
    lower: Vec<u8>,
    scratch: Vec<u8>,
    cache: features::FeatureCache,
    now_us: i64,
    last_sweep_us: i64,
    stats: Stats,
}

impl DnsExfilDetector {
    /// Build a detector from the `[detect]` configuration.
    pub fn new(cfg: &DetectConfig) -> Self {
        let c = cfg.dns_exfil.clone();
        Self {
            allow: Allowlist::new(c.allowlist_enabled, &c.allowlist_add, &c.allowlist_remove),
            cfg: c,
            pairs: HashMap::default(),
            suspects: 0,
            resolved: Resolved::default(),
            lower: Vec::with_capacity(features::MAX_NAME_BYTES),
            scratch: Vec::with_capacity(features::MAX_NAME_BYTES),
            cache: features::FeatureCache::default(),
            now_us: i64::MIN,
            last_sweep_us: i64::MIN,
            stats: Stats::default(),
        }
    }

    /// Every DNS query/response the app layer observed (packet-time order
    /// within the worker).
    pub fn observe(&mut self, obs: &DnsObservation, out: &mut Vec<Event>) {
        if !self.cfg.enabled {
            return;
        }
        let now = micros(obs.ts);
        self.now_us = self.now_us.max(now);
        if obs.is_response {
            self.stats.responses += 1;
        } else {
            self.stats.queries += 1;
        }
        let (f, dom_hash) = self.cache.analyze(
            &obs.qname,
            &self.cfg.internal_suffixes,
            &mut self.lower,
            &mut self.scratch,
            !obs.is_response,
            domain_hash,
        );
        let reg_start = self.lower.len().saturating_sub(f.reg_len);
        let key = (obs.client, dom_hash);
        if obs.is_response {
            self.on_response(obs, key);
            return;
        }
        if self.pairs.len() >= self.cfg.max_pairs && !self.pairs.contains_key(&key) {
            self.evict_pairs();
        }
        // One lookup: the entry (same growth as `insert`: both reserve one).
        let stats = &mut self.stats;
        let pair = self.pairs.entry(key).or_insert_with(|| {
            stats.pairs_created += 1;
            Pair {
                first_us: now,
                last_us: now,
                last_q_us: now,
                queries: 0,
                mean_iv: 0.0,
                dev_iv: 0.0,
                n_iv: 0,
                suspect: None,
            }
        });
        pair.last_us = pair.last_us.max(now);
        pair.queries = pair.queries.saturating_add(1);
        // Timing: intervals >= 0.3 s (retries and bursts are not beats).
        if pair.queries > 1 {
            let iv = (now.saturating_sub(pair.last_q_us).max(0) as f64 / 1e6) as f32;
            if iv >= 0.3 {
                if pair.n_iv == 0 {
                    pair.mean_iv = iv;
                    pair.dev_iv = 0.0;
                } else {
                    let d = (iv - pair.mean_iv).abs();
                    pair.mean_iv += (iv - pair.mean_iv) / TIMING_EWMA_N;
                    pair.dev_iv += (d - pair.dev_iv) / TIMING_EWMA_N;
                }
                pair.n_iv = pair.n_iv.saturating_add(1);
                pair.last_q_us = now;
            }
        } else {
            pair.last_q_us = now;
        }
        let regular = pair.n_iv >= 8 && pair.mean_iv > 0.0 && pair.dev_iv / pair.mean_iv <= 0.5;
        let promote = f.tunnel >= 0.15 || f.fingerprints != 0 || f.non_ldh > 0 || regular;
        let pair = if pair.suspect.is_none() && promote {
            let reg = match f.pseudo_domain {
                Some(p) => p.as_bytes(),
                None => self.lower.get(reg_start..).unwrap_or(&[]),
            };
            let reg_s = String::from_utf8_lossy(reg).into_owned().into_boxed_str();
            let allow_domain = self.allow.domain_matches(reg);
            if self.suspects >= self.cfg.max_suspects && !self.evict_suspects() {
                self.stats.suspect_cap_refused += 1;
            } else if let Some(pair) = self.pairs.get_mut(&key) {
                pair.suspect = Some(Box::new(Suspect::new(reg_s, allow_domain, f.internal, obs, now)));
                self.suspects += 1;
                self.stats.suspects_created += 1;
            }
            // Eviction may have run: look the pair up again.
            let Some(pair) = self.pairs.get_mut(&key) else { return };
            pair
        } else {
            pair
        };
        if pair.suspect.is_none() {
            return;
        }
        let label_allow = self.allow.label_matches(&self.lower);
        let (n_iv, mean_iv, dev_iv) = (pair.n_iv, pair.mean_iv, pair.dev_iv);
        let first_us = pair.first_us;
        let Some(s) = pair.suspect.as_deref_mut() else { return };
        s.update_query(obs, &f, &self.scratch, label_allow, now);
        let sc = s.score(&self.cfg, n_iv, mean_iv, dev_iv);
        s.last_score = sc.total;
        if let Some(ev) = s.maybe_alert(&self.cfg, &sc, obs, now, first_us, (n_iv, mean_iv, dev_iv), key.0) {
            if s.episode.is_some_and(|e| e.emits == 1) {
                self.stats.episodes_opened += 1;
            }
            self.stats.alerts += 1;
            out.push(ev);
        }
    }

    fn on_response(&mut self, obs: &DnsObservation, key: PairKey) {
        let Some(pair) = self.pairs.get_mut(&key) else { return };
        let Some(s) = pair.suspect.as_deref_mut() else {
            // Light pairs still learn their addresses (connection check for
            // a later promotion) — cheap: one table insert per address.
            self.learn_addresses(obs, key);
            return;
        };
        s.responses += 1;
        s.r_bytes += u64::from(obs.message_len);
        s.rdata_bytes += u64::from(obs.answer_rdata_len);
        if obs.rcode == 3 {
            s.nx += 1;
        }
        if !obs.answer_addrs.is_empty() {
            s.answers_addr += 1;
            if obs.answer_addrs.iter().all(is_bogon) {
                s.answers_bogon += 1;
            }
        }
        self.learn_addresses(obs, key);
    }

    /// Remember the first addresses of a response for pair `key`.
    fn learn_addresses(&mut self, obs: &DnsObservation, key: PairKey) {
        for a in obs.answer_addrs.iter().take(4) {
            if self.resolved.insert(self.cfg.max_resolved, key.0, *a, key.1) {
                self.stats.resolved_rotations += 1;
            }
        }
    }

    /// Every new non-DNS flow: marks the (client, domain) pairs whose
    /// resolved addresses the client connects to.
    pub fn on_flow_start(&mut self, ts: Timestamp, client: IpAddr, server: IpAddr, server_port: u16) {
        let _ = server_port;
        self.now_us = self.now_us.max(micros(ts));
        if let Some(domain) = self.resolved.get(client, server) {
            let key = (client, domain);
            if let Some(s) = self.pairs.get_mut(&key).and_then(|p| p.suspect.as_deref_mut()) {
                s.connected = true;
            }
            self.stats.connections_matched += 1;
        }
    }

    /// Called at least once per second of packet time and at shutdown:
    /// expires idle pairs, closes idle episodes (with a final update when
    /// their figures changed since the last alert).
    pub fn tick(&mut self, now: Timestamp, final_flush: bool, out: &mut Vec<Event>) {
        let now_us = micros(now).max(self.now_us);
        self.now_us = now_us;
        if !final_flush
            && self.last_sweep_us != i64::MIN
            && now_us.saturating_sub(self.last_sweep_us) < 60_000_000
        {
            return;
        }
        self.last_sweep_us = now_us;
        let ep_idle =
            i64::try_from(self.cfg.episode_idle_s).unwrap_or(i64::MAX / 2).saturating_mul(1_000_000);
        let pair_idle = i64::try_from(self.cfg.pair_idle_s).unwrap_or(i64::MAX / 2).saturating_mul(1_000_000);
        let mut keys: Vec<(PairKey, bool)> = Vec::new();
        for (k, p) in &self.pairs {
            let idle = now_us.saturating_sub(p.last_us);
            let open = p.suspect.as_ref().and_then(|s| s.episode).is_some();
            let ep_idle_hit =
                p.suspect.as_ref().is_some_and(|s| now_us.saturating_sub(s.last_susp_us) >= ep_idle);
            if idle >= pair_idle || (open && (final_flush || ep_idle_hit)) {
                keys.push((*k, idle >= pair_idle));
            }
        }
        keys.sort_unstable_by_key(|((ip, h), _)| (*ip, *h));
        for (k, expire) in keys {
            let Some(p) = self.pairs.get_mut(&k) else { continue };
            let (n_iv, mean_iv, dev_iv, first_us) = (p.n_iv, p.mean_iv, p.dev_iv, p.first_us);
            if let Some(s) = p.suspect.as_deref_mut() {
                let closing = s.episode.is_some()
                    && (expire || final_flush || now_us.saturating_sub(s.last_susp_us) >= ep_idle);
                if closing {
                    if let Some(ev) =
                        s.final_update(&self.cfg, now_us, first_us, (n_iv, mean_iv, dev_iv), k.0)
                    {
                        self.stats.alerts += 1;
                        out.push(ev);
                    }
                    if !final_flush {
                        s.episode = None;
                        self.stats.episodes_closed += 1;
                    }
                }
            }
            if expire {
                if self.pairs.remove(&k).is_some_and(|p| p.suspect.is_some()) {
                    self.suspects = self.suspects.saturating_sub(1);
                }
                self.stats.pairs_expired += 1;
            }
        }
        if final_flush {
            self.stats.episodes_closed += self
                .pairs
                .values()
                .filter(|p| p.suspect.as_ref().is_some_and(|s| s.episode.is_some()))
                .count() as u64;
        }
    }

    /// Evict the oldest 1/16 of the pairs without an open episode.
    fn evict_pairs(&mut self) {
        let mut times: Vec<i64> = self
            .pairs
            .values()
            .filter(|p| p.suspect.as_ref().is_none_or(|s| s.episode.is_none()))
            .map(|p| p.last_us)
            .collect();
        if times.is_empty() {
            return;
        }
        let n = (times.len() / 16).max(1).min(times.len() - 1);
        let (_, cut, _) = times.select_nth_unstable(n);
        let cut = *cut;
        let before = self.pairs.len();
        let mut freed_suspects = 0usize;
        self.pairs.retain(|_, p| {
            let keep = p.last_us > cut || p.suspect.as_ref().is_some_and(|s| s.episode.is_some());
            if !keep && p.suspect.is_some() {
                freed_suspects += 1;
            }
            keep
        });
        self.suspects = self.suspects.saturating_sub(freed_suspects);
        self.stats.pairs_evicted += (before - self.pairs.len()) as u64;
    }

    /// Demote the lowest-scoring 1/16 of suspects without an open episode.
    /// Returns whether room was made.
    fn evict_suspects(&mut self) -> bool {
        let mut scores: Vec<(f32, i64)> = self
            .pairs
            .values()
            .filter_map(|p| p.suspect.as_deref())
            .filter(|s| s.episode.is_none())
            .map(|s| (s.last_score, s.last_susp_us))
            .collect();
        if scores.is_empty() {
            return false;
        }
        let n = (scores.len() / 16).max(1).min(scores.len() - 1);
        scores.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let cut = scores[n];
        let mut freed = 0usize;
        for p in self.pairs.values_mut() {
            if p.suspect
                .as_deref()
                .is_some_and(|s| s.episode.is_none() && (s.last_score, s.last_susp_us) <= cut)
            {
                p.suspect = None;
                freed += 1;
            }
        }
        self.suspects = self.suspects.saturating_sub(freed);
        self.stats.suspects_evicted += freed as u64;
        freed > 0
    }

    /// Counters for the stats event.
    pub fn stats(&self) -> Value {
        let s = &self.stats;
        json!({
            "queries": s.queries,
            "responses": s.responses,
            "pairs": self.pairs.len(),
            "suspects": self.suspects,
            "pairs_created": s.pairs_created,
            "pairs_expired": s.pairs_expired,
            "pairs_evicted": s.pairs_evicted,
            "suspects_created": s.suspects_created,
            "suspects_evicted": s.suspects_evicted,
            "suspect_cap_refused": s.suspect_cap_refused,
            "resolved_entries": self.resolved.len(),
            "resolved_rotations": s.resolved_rotations,
            "connections_matched": s.connections_matched,
            "alerts": s.alerts,
            "episodes_opened": s.episodes_opened,
            "episodes_closed": s.episodes_closed,
            "memory_bytes": self.memory(),
        })
    }

    /// Bytes held (tables at their capacity plus suspects' heap), an
    /// estimate within a few percent of the allocator's view.
    pub fn memory(&self) -> usize {
        let pair_slot = std::mem::size_of::<(PairKey, Pair)>() + 1;
        let mut m = self.pairs.capacity() * pair_slot + self.resolved.memory();
        m += self.lower.capacity() + self.scratch.capacity();
        for p in self.pairs.values() {
            if let Some(s) = p.suspect.as_deref() {
                m += s.heap_size();
            }
        }
        m
    }

    /// Upper bound of [`memory`](Self::memory) for a configuration: every
    /// table at its cap (hash tables at their bucket count for that cap) and
    /// every suspect at its largest (full unique-name sets, longest samples).
    pub fn worst_case_memory(cfg: &DetectConfig) -> usize {
        fn buckets(items: usize) -> usize {
            // hashbrown: capacity / (7/8), rounded up to a power of two.
            (items.saturating_mul(8) / 7 + 1).next_power_of_two()
        }
        let c = &cfg.dns_exfil;
        let pair_slot = std::mem::size_of::<(PairKey, Pair)>() + 1;
        let suspect = std::mem::size_of::<Suspect>()
            + 2 * buckets(SEEN_GEN_CAP) * 5
            + SAMPLE_CAP * (SAMPLE_MAX_CHARS * 4 + 16)
            + 253
            + 64;
        buckets(c.max_pairs) * pair_slot
            + Resolved::worst_case_memory(c.max_resolved, buckets)
            + c.max_suspects * suspect
            + 2 * features::MAX_NAME_BYTES
    }

    /// Hits and misses of the recent-names feature cache (a repeated name
    /// is analysed once; results are identical either way). Kept out of
    /// [`stats`](Self::stats), whose content is stable.
    pub fn feature_cache_counts(&self) -> (u64, u64) {
        self.cache.counts()
    }

    /// Number of tracked pairs (light records).
    pub fn pairs(&self) -> usize {
        self.pairs.len()
    }
}

impl Suspect {
    fn new(domain: Box<str>, allow_domain: bool, internal: bool, obs: &DnsObservation, now: i64) -> Self {
        Self {
            domain,
            allow_domain,
            allow_label_hits: 0,
            internal,
            win: Windows { last_us: now, ..Windows::default() },
            seen: [HashSet::default(), HashSet::default()],
            prev: [0; PREV_PREFIX],
            prev_len: 0,
            queries: 0,
            responses: 0,
            nx: 0,
            unique: 0,
            q_bytes: 0,
            r_bytes: 0,
            rdata_bytes: 0,
            qtypes: [0; 8],
            shapes: [0; 6],
            non_ldh_queries: 0,
            est_bytes: 0.0,
            t_sum: 0.0,
            r_sum: 0.0,
            ent_sum: 0.0,
            ngram_sum: 0.0,
            feat_n: 0,
            max_len: 0,
            max_label: 0,
            fp_bits: 0,
            dnscat_hits: 0,
            uniq_random_total: 0,
            suspicious_unique: 0,
            answers_addr: 0,
            answers_bogon: 0,
            connected: false,
            first_susp_us: now,
            last_susp_us: now,
            samples: Vec::new(),
            last: LastFlow {
                flow_id: obs.flow_id,
                community_id: obs.community_id,
                server: obs.server,
                client_port: obs.client_port,
                pcap_cnt: obs.pcap_cnt,
            },
            last_score: 0.0,
            episode: None,
        }
    }

    fn heap_size(&self) -> usize {
        std::mem::size_of::<Suspect>()
            + self.domain.len()
            + (self.seen[0].capacity() + self.seen[1].capacity()) * 5
            + self.samples.iter().map(|s| s.len() + 16).sum::<usize>()
    }

    fn update_query(
        &mut self,
        obs: &DnsObservation,
        f: &QueryFeatures,
        sub: &[u8],
        label_allow: bool,
        now: i64,
    ) {
        self.win.decay_to(now);
        self.queries += 1;
        self.q_bytes += u64::from(obs.message_len);
        self.qtypes[qtype_slot(obs.qtype)] += 1;
        self.shapes[shape_slot(f.shape)] += 1;
        if f.non_ldh > 0 {
            self.non_ldh_queries += 1;
        }
        if label_allow {
            self.allow_label_hits += 1;
        }
        self.fp_bits |= f.fingerprints & !fp::DNSCAT2;
        if f.fingerprints & fp::DNSCAT2 != 0 {
            self.dnscat_hits += 1;
        }
        // The dnscat2 header layout matches 1 random hex name in 64: it
        // counts only when it holds for most of the pair's encoded names.
        if self.dnscat_hits >= 3 && self.dnscat_hits * 2 >= self.feat_n.max(1) {
            self.fp_bits |= fp::DNSCAT2;
        }
        self.max_len = self.max_len.max(obs.qname.len());
        self.max_label = self.max_label.max(f.longest_label);
        if f.sub_len > 0 {
            self.feat_n += 1;
            self.t_sum += f64::from(f.tunnel);
            // Structured names (embedded addresses, hashes) are not random
            // identifiers chosen by a program: they do not count as such.
            self.r_sum += if f.structured { 0.0 } else { f64::from(f.randomness) };
            self.ent_sum += f64::from(f.entropy);
            self.ngram_sum += f64::from(f.ngram_cost);
        }
        if obs.flow_id != self.last.flow_id {
            self.last.flow_id = obs.flow_id;
            self.last.community_id = obs.community_id;
        }
        self.last.server = obs.server;
        self.last.client_port = obs.client_port;
        self.last.pcap_cnt = obs.pcap_cnt;
        // Novelty: exact over the last 256..512 unique subdomains.
        let h = name_hash(sub) as u32;
        if sub.is_empty() || self.seen[0].contains(&h) || self.seen[1].contains(&h) {
            return;
        }
        if self.seen[0].len() >= SEEN_GEN_CAP {
            self.seen.swap(0, 1);
            self.seen[0].clear();
        }
        self.seen[0].insert(h);
        self.unique += 1;
        let lcp = self.prev[..usize::from(self.prev_len)].iter().zip(sub).take_while(|(a, b)| a == b).count();
        let novel = sub.iter().skip(lcp).filter(|&&c| c != b'.').count();
        let n = sub.len().min(PREV_PREFIX);
        self.prev[..n].copy_from_slice(&sub[..n]);
        self.prev_len = n as u8;
        let info = features::info_bytes(f, novel);
        if f.randomness >= 0.5 && !f.structured && f.sub_len >= 8 {
            self.win.uniq_random += 1.0;
            self.uniq_random_total += 1;
        }
        let w = f.tunnel;
        for i in 0..3 {
            self.win.info[i] += w * info;
            self.win.uniq[i] += 1.0;
        }
        if w >= STRONG_TUNNEL {
            self.win.strong += w * info;
        }
        if w >= 0.3 {
            self.est_bytes += f64::from(info);
            self.last_susp_us = now;
            self.suspicious_unique += 1;
            // Samples: the first ones, then the latest every 16th name.
            if self.samples.len() < SAMPLE_CAP || self.suspicious_unique.is_multiple_of(16) {
                self.push_sample(&obs.qname);
            }
        }
        if self.samples.is_empty() {
            self.push_sample(&obs.qname);
        }
    }

    fn push_sample(&mut self, name: &str) {
        let s: String = name.chars().take(SAMPLE_MAX_CHARS).collect();
        if self.samples.len() < SAMPLE_CAP {
            self.samples.push(s.into_boxed_str());
        } else {
            // Keep the first two, rotate the latest two.
            self.samples.swap(2, 3);
            if let Some(last) = self.samples.last_mut() {
                *last = s.into_boxed_str();
            }
        }
    }

    fn score(&self, cfg: &DnsExfilConfig, n_iv: u32, mean_iv: f32, dev_iv: f32) -> Score {
        let mut s = Score {
            burst: self.win.info[0] / cfg.burst_bytes as f32,
            hour: self.win.info[1] / cfg.hour_bytes as f32,
            day: self.win.strong / cfg.day_bytes as f32,
            ..Score::default()
        };
        let q = self.queries.max(1) as f32;
        let r_avg = if self.feat_n > 0 { (self.r_sum / self.feat_n as f64) as f32 } else { 0.0 };
        let nx_ratio = self.nx as f32 / self.responses.max(1) as f32;
        let bogon_ratio = self.answers_bogon as f32 / self.answers_addr.max(1) as f32;
        let no_connect = if self.connected { 0.0 } else { 1.0 };
        // Beacon: many regular intervals (coefficient of variation of the
        // mean absolute deviation), period 0.5 s .. 2 h, plus evidence that
        // the lookups are not ordinary name resolution.
        if n_iv >= cfg.beacon_min_intervals / 2 && (0.5..=7200.0).contains(&mean_iv) {
            let p = (n_iv as f32 / cfg.beacon_min_intervals.max(1) as f32).min(1.0);
            let cv = dev_iv / mean_iv.max(1e-3);
            let reg = ((0.45 - cv) / 0.2).clamp(0.0, 1.0);
            let fp_e = if self.fp_bits != 0 { 0.2 } else { 0.0 };
            let e = (0.5 * no_connect + 0.4 * r_avg + 0.3 * bogon_ratio + 0.15 * nx_ratio + fp_e).min(1.5);
            s.beacon = p * reg * e * 1.4;
        }
        s.unique = self.win.uniq_random / cfg.burst_unique_names as f32;
        // A high-specificity tool artefact (iodine's codec check text,
        // dns2tcp control labels or padding, DNSExfiltrator's init name,
        // Cobalt Strike staging) corroborated by a few random-looking names.
        let strong_fp =
            self.fp_bits & (fp::IODINE | fp::DNS2TCP | fp::DNSEXFILTRATOR | fp::COBALT_STRIKE) != 0;
        if strong_fp && self.uniq_random_total >= 3 {
            s.fp_corroborated = 0.65;
        }
        let base = s.burst.max(s.hour).max(s.day).max(s.beacon).max(s.unique).max(s.fp_corroborated);
        if base >= 0.35 {
            if self.fp_bits != 0 {
                s.fp = 0.35;
            }
            let odd_qtypes = (self.qtypes[2]
                + self.qtypes[3]
                + self.qtypes[4]
                + self.qtypes[5]
                + self.qtypes[6]
                + self.qtypes[7]) as f32;
            if odd_qtypes / q >= 0.5 {
                s.qtype = 0.1;
            }
            if self.responses > 0 && nx_ratio >= 0.5 {
                s.nx = 0.1;
            }
            if !self.connected {
                s.no_connect = 0.1;
            }
        }
        s.allow = if self.allow_domain || self.allow_label_hits * 2 > self.queries {
            cfg.allowlist_factor as f32
        } else {
            1.0
        };
        s.internal = if self.internal { cfg.internal_factor as f32 } else { 1.0 };
        s.total = (base + s.fp + s.qtype + s.nx + s.no_connect) * s.allow * s.internal;
        s
    }

    fn severity(cfg: &DnsExfilConfig, sc: &Score) -> u8 {
        if f64::from(sc.total) >= cfg.high_threshold { 1 } else { 2 }
    }

    #[allow(clippy::too_many_arguments)]
    fn maybe_alert(
        &mut self,
        cfg: &DnsExfilConfig,
        sc: &Score,
        obs: &DnsObservation,
        now: i64,
        first_us: i64,
        timing: (u32, f32, f32),
        client: IpAddr,
    ) -> Option<Event> {
        let crossed = f64::from(sc.total) >= cfg.alert_threshold;
        let upd = i64::try_from(cfg.update_interval_s).unwrap_or(i64::MAX / 2).saturating_mul(1_000_000);
        let sev = Self::severity(cfg, sc);
        match self.episode.as_mut() {
            None if crossed => {
                self.episode = Some(Episode {
                    id: name_hash(format!("{client}|{}|{now}", self.domain).as_bytes()),
                    sid: sc.dominant_sid(self.fp_bits),
                    first_alert_us: now,
                    last_emit_us: now,
                    severity: sev,
                    emits: 1,
                    queries_at_emit: self.queries,
                });
            }
            Some(e)
                if (sev < e.severity)
                    || (now.saturating_sub(e.last_emit_us) >= upd && self.queries > e.queries_at_emit) =>
            {
                e.severity = e.severity.min(sev);
                e.last_emit_us = now;
                e.emits += 1;
                e.queries_at_emit = self.queries;
            }
            _ => return None,
        }
        let _ = obs;
        Some(self.build_alert(cfg, sc, now, first_us, timing, client))
    }

    fn final_update(
        &mut self,
        cfg: &DnsExfilConfig,
        now: i64,
        first_us: i64,
        timing: (u32, f32, f32),
        client: IpAddr,
    ) -> Option<Event> {
        let e = self.episode.as_mut()?;
        if self.queries <= e.queries_at_emit {
            return None;
        }
        e.emits += 1;
        e.queries_at_emit = self.queries;
        e.last_emit_us = now;
        self.win.decay_to(now);
        let sc = self.score(cfg, timing.0, timing.1, timing.2);
        Some(self.build_alert(cfg, &sc, now, first_us, timing, client))
    }

    fn build_alert(
        &self,
        cfg: &DnsExfilConfig,
        sc: &Score,
        now: i64,
        first_us: i64,
        timing: (u32, f32, f32),
        client: IpAddr,
    ) -> Event {
        let Some(e) = self.episode else {
            // Only called with an open episode; an empty alert is impossible.
            return self.event(
                now,
                client,
                Alert {
                    action: "allowed".into(),
                    gid: 1,
                    signature_id: sid::BURST,
                    rev: 1,
                    signature: signature_text(sid::BURST).into(),
                    category: "Attempted Information Leak".into(),
                    severity: 2,
                    metadata: None,
                    explanation: None,
                },
            );
        };
        let r2 = |x: f32| (f64::from(x) * 100.0).round() / 100.0;
        let mut fired = Vec::new();
        let mut fire = |feature: &str, value: f64, threshold: f64, window: &str| {
            fired.push(json!({"feature": feature, "value": (value * 100.0).round() / 100.0, "threshold": threshold, "window": window}));
        };
        if sc.burst >= 0.35 {
            fire("encoded_info_bytes", f64::from(self.win.info[0]), cfg.burst_bytes, "1m");
        }
        if sc.hour >= 0.35 {
            fire("encoded_info_bytes", f64::from(self.win.info[1]), cfg.hour_bytes, "1h");
        }
        if sc.day >= 0.35 {
            fire("strongly_encoded_info_bytes", f64::from(self.win.strong), cfg.day_bytes, "24h");
        }
        if sc.unique >= 0.35 {
            fire("unique_random_names", f64::from(self.win.uniq_random), cfg.burst_unique_names, "1m");
        }
        if sc.fp_corroborated > 0.0 {
            fire("tool_fingerprint_with_random_names", self.uniq_random_total as f64, 3.0, "episode");
        }
        if sc.beacon >= 0.35 {
            fire("beacon_score", f64::from(sc.beacon), 1.0, "intervals");
        }
        let fps: Vec<&str> = (0..5).filter(|i| self.fp_bits & (1 << i) != 0).map(|i| fp::NAMES[i]).collect();
        let qtypes: serde_json::Map<String, Value> = QTYPE_NAMES
            .iter()
            .zip(self.qtypes)
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| ((*k).to_string(), json!(n)))
            .collect();
        let shapes: serde_json::Map<String, Value> = SHAPES
            .iter()
            .zip(self.shapes)
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| (k.name().to_string(), json!(n)))
            .collect();
        let fnn = self.feat_n.max(1) as f64;
        let (n_iv, mean_iv, dev_iv) = timing;
        let explanation = json!({
            "detector": "dns_exfil",
            "client": client,
            "domain": &*self.domain,
            "episode_id": e.id,
            "update": e.emits - 1,
            "score": r2(sc.total),
            "threshold": cfg.alert_threshold,
            "components": {
                "burst_1m": r2(sc.burst), "unique_random_1m": r2(sc.unique), "sustained_1h": r2(sc.hour), "slow_24h": r2(sc.day), "beacon": r2(sc.beacon), "fingerprint_corroborated": r2(sc.fp_corroborated),
                "fingerprint": r2(sc.fp), "qtype_mix": r2(sc.qtype), "nxdomain": r2(sc.nx), "no_connection": r2(sc.no_connect),
            },
            "factors": {"allowlist": r2(sc.allow), "internal_suffix": r2(sc.internal)},
            "fired": fired,
            "windows": {
                "1m": {"encoded_info_bytes": r2(self.win.info[0]), "unique_names": r2(self.win.uniq[0]), "unique_random_names": r2(self.win.uniq_random)},
                "1h": {"encoded_info_bytes": r2(self.win.info[1]), "unique_names": r2(self.win.uniq[1])},
                "24h": {"encoded_info_bytes": r2(self.win.info[2]), "strongly_encoded_info_bytes": r2(self.win.strong), "unique_names": r2(self.win.uniq[2])},
            },
            "features": {
                "max_qname_len": self.max_len,
                "max_label_len": self.max_label,
                "mean_entropy_bits": (self.ent_sum / fnn * 100.0).round() / 100.0,
                "mean_ngram_bits_per_char": (self.ngram_sum / fnn * 100.0).round() / 100.0,
                "mean_randomness": (self.r_sum / fnn * 100.0).round() / 100.0,
                "mean_tunnel_likeness": (self.t_sum / fnn * 100.0).round() / 100.0,
                "shapes": shapes,
                "non_ldh_queries": self.non_ldh_queries,
            },
            "qtypes": qtypes,
            "nxdomain_ratio": r2(self.nx as f32 / self.responses.max(1) as f32),
            "bytes_queries": self.q_bytes,
            "bytes_responses": self.r_bytes,
            "answer_rdata_bytes": self.rdata_bytes,
            "timing": {"intervals": n_iv, "mean_interval_s": r2(mean_iv), "cv": r2(dev_iv / mean_iv.max(1e-3))},
            "connected_to_resolved": self.connected,
            "fingerprints": fps,
            "sample_names": self.samples.iter().map(|s| &**s).collect::<Vec<_>>(),
            "query_count": self.queries,
            "unique_names": self.unique,
            "estimated_bytes_exfiltrated": self.est_bytes.round(),
            "first_seen": ts_of(first_us),
            "first_suspicious": ts_of(self.first_susp_us),
            "last_seen": ts_of(self.last_susp_us.max(now.min(self.win.last_us))),
            "first_alert": ts_of(e.first_alert_us),
        });
        let beacon = matches!(e.sid, sid::BEACON | sid::COBALT_STRIKE);
        self.event(
            now,
            client,
            Alert {
                action: "allowed".into(),
                gid: 1,
                signature_id: e.sid,
                rev: 1,
                signature: signature_text(e.sid).into(),
                category: if beacon {
                    "A Network Trojan was detected".into()
                } else {
                    "Attempted Information Leak".into()
                },
                severity: e.severity,
                metadata: Some(json!({"mitre_attack": ["T1071.004", "T1048.003"], "detector": "dns_exfil"})),
                explanation: Some(explanation),
            },
        )
    }

    fn event(&self, now: i64, client: IpAddr, alert: Alert) -> Event {
        Event {
            timestamp: ts_of(now),
            flow_id: Some(self.last.flow_id),
            in_iface: None,
            pcap_cnt: self.last.pcap_cnt,
            src_ip: Some(client),
            src_port: Some(self.last.client_port),
            dest_ip: Some(self.last.server),
            dest_port: Some(53),
            proto: None,
            app_proto: Some("dns".into()),
            vlan: Vec::new(),
            community_id: if self.last.community_id.is_empty() {
                None
            } else {
                Some(std::sync::Arc::from(self.last.community_id.as_str()))
            },
            host: None,
            body: EventBody::Alert { alert },
        }
    }
}

#[cfg(test)]
mod tests;
