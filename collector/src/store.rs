//! Event storage behind a small trait ([`Store`] for the single writer,
//! [`QueryStore`] for readers), with the embedded SQLite implementation.
//!
//! # SQLite choices
//! - WAL journal: readers (query API) never block the writer and vice versa.
//! - `synchronous = FULL`: in WAL mode this fsyncs the WAL at every commit, so
//!   a 200 is only sent for a batch that survives a power loss. `NORMAL` would
//!   fsync only at checkpoints: no corruption, but the last commits could be
//!   lost after the sensor deleted them from its spool — a silent loss we do
//!   not accept. The cost is amortised by **group commit**: the writer thread
//!   commits every batch waiting in its queue in one transaction.
//! - `(sensor, seq)` is the primary key of `batches`; it is checked and
//!   inserted inside the same transaction as the events, so a batch is either
//!   stored once with its dedupe row or not at all.
//! - Indexes: `ts`, `(sensor, ts)`, `(event_type, ts)`, `signature_id`,
//!   `src_ip`, `dest_ip`.
//! - **Checkpoints off the commit path**: copying WAL frames into the database
//!   file (and its fsync) was 13 % of the writer's time when SQLite's automatic
//!   checkpoint ran inside the committing transaction. A checkpointer thread
//!   with its own connection runs a `PASSIVE` checkpoint after each commit
//!   (coalesced); PASSIVE never blocks the writer. The writer keeps an
//!   automatic checkpoint at [`WAL_CAP_PAGES`] as the bound on the WAL: when
//!   it fires, most frames are already backfilled, so it only finishes the
//!   tail, and the next transaction restarts the WAL from its beginning.
//!   Durability is unchanged: a commit is durable when the WAL is fsynced.
//! - Rows are inserted 32 per statement (multi-row `VALUES`),
//!   the per-batch values bound once per batch.
//! - The writer's page cache is [`WRITER_CACHE_KIB`]: every transaction
//!   touches index leaf pages all over each index. New databases use
//!   [`PAGE_SIZE`] (16 KiB) pages.

use centinela_events::wire::BatchAck;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::Value;
use std::path::Path;
use std::sync::Mutex;

/// One parsed record ready to store.
#[derive(Debug, Clone)]
pub struct Row {
    /// Event time, µs since the epoch.
    pub ts_us: i64,
    /// `event_type`.
    pub event_type: String,
    /// `alert.signature_id`.
    pub signature_id: Option<i64>,
    /// `alert.severity`.
    pub severity: Option<i64>,
    /// `src_ip`.
    pub src_ip: Option<String>,
    /// `dest_ip`.
    pub dest_ip: Option<String>,
    /// The record as received.
    pub json: String,
}

/// A validated batch.
#[derive(Debug, Clone)]
pub struct IncomingBatch {
    /// Authenticated sensor id.
    pub sensor: String,
    /// Site label from the configuration.
    pub site: Option<String>,
    /// Batch sequence.
    pub seq: u64,
    /// Records.
    pub rows: Vec<Row>,
    /// Latest heartbeat body in the batch, if any.
    pub heartbeat: Option<Value>,
}

/// Retention and silence policy for [`Store::sweep`].
#[derive(Debug, Clone, Copy)]
pub struct SweepPolicy {
    /// Delete events received before this (µs), if set.
    pub older_than_us: Option<i64>,
    /// In-use database bytes cap (0 = none).
    pub max_bytes: u64,
    /// Heartbeat age (µs) after which a sensor is silent.
    pub silent_after_us: i64,
}

/// What a sweep did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SweepReport {
    /// Events deleted by age or size.
    pub deleted: u64,
    /// `sensor_silent` events raised.
    pub silent_raised: Vec<String>,
}

/// The writer side of a store.
pub trait Store: Send {
    /// Commits batches durably, in one transaction; a `(sensor, seq)` already
    /// present is acknowledged as a duplicate and not stored again.
    fn commit(&mut self, batches: &[IncomingBatch], now_us: i64) -> Result<Vec<BatchAck>, String>;
    /// Retention and `sensor_silent` detection.
    fn sweep(&mut self, now_us: i64, policy: &SweepPolicy) -> Result<SweepReport, String>;
}

/// Filters of `GET /api/v1/events`.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// Sensor id.
    pub sensor: Option<String>,
    /// Site label.
    pub site: Option<String>,
    /// `event_type`.
    pub event_type: Option<String>,
    /// `alert.signature_id`.
    pub signature_id: Option<i64>,
    /// Alerts at least this severe (severity ≤ value; 1 is the most severe).
    pub severity: Option<i64>,
    /// Source or destination address.
    pub address: Option<String>,
    /// Event time ≥ (µs).
    pub since_us: Option<i64>,
    /// Event time < (µs).
    pub until_us: Option<i64>,
    /// Return events with id > this (keyset pagination).
    pub after_id: i64,
    /// Page size.
    pub limit: i64,
}

/// The reader side of a store.
pub trait QueryStore: Send + Sync {
    /// Events matching the filters, ordered by id; `(events, next after_id)`.
    fn events(&self, q: &EventQuery) -> Result<(Vec<Value>, Option<i64>), String>;
    /// Every sensor with its state (`status` computed from heartbeat age).
    fn sensors(&self, now_us: i64, late_us: i64, silent_us: i64) -> Result<Vec<Value>, String>;
    /// Counts: events by type, alerts by signature, events by sensor.
    fn summary(&self) -> Result<Value, String>;
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events(
  id INTEGER PRIMARY KEY,
  sensor TEXT NOT NULL,
  site TEXT,
  ts INTEGER NOT NULL,
  received INTEGER NOT NULL,
  event_type TEXT NOT NULL,
  signature_id INTEGER,
  severity INTEGER,
  src_ip TEXT,
  dest_ip TEXT,
  batch_seq INTEGER NOT NULL,
  json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_ts ON events(ts);
CREATE INDEX IF NOT EXISTS events_sensor_ts ON events(sensor, ts);
CREATE INDEX IF NOT EXISTS events_type_ts ON events(event_type, ts);
CREATE INDEX IF NOT EXISTS events_sid ON events(signature_id) WHERE signature_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_src ON events(src_ip);
CREATE INDEX IF NOT EXISTS events_dest ON events(dest_ip);
CREATE TABLE IF NOT EXISTS batches(
  sensor TEXT NOT NULL, seq INTEGER NOT NULL, received INTEGER NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY(sensor, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sensors(
  sensor TEXT PRIMARY KEY, site TEXT, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,
  last_seq INTEGER NOT NULL, batches INTEGER NOT NULL DEFAULT 0, events INTEGER NOT NULL DEFAULT 0,
  last_heartbeat INTEGER, heartbeat TEXT, silent_raised INTEGER NOT NULL DEFAULT 0);
";

/// Page cache of the writer connection, KiB (SQLite's default is 2 MiB).
pub const WRITER_CACHE_KIB: i64 = 64 * 1024;
/// Page size of a new database. 16 KiB rather than SQLite's 4 KiB: a quarter
/// of the WAL frames, `pwrite`s and checkpoint copies for the same data, and
/// shallower trees (writer CPU −15 %, writer + checkpointer −19 % in
/// `store_bench`, same bytes written; 64 KiB pages write 20 % more bytes).
pub const PAGE_SIZE: i64 = 16 * 1024;
/// WAL size (pages) at which the writer checkpoints itself (the bound on the
/// WAL when the background checkpointer falls behind): 64 MiB.
pub const WAL_CAP_PAGES: i64 = (64 << 20) / PAGE_SIZE;

/// Rows per multi-row `INSERT` (statement and cursor set-up amortised over
/// them); 4 + 7 × 32 = 228 parameters, far below SQLite's limit.
const INSERT_ROWS: usize = 32;

/// `INSERT OR FAIL`: with the default `ABORT`, a multi-row statement that
/// may fail halfway needs a statement journal (SQLite copied every page a
/// statement first touched to a temporary file: 16 % of the writer's time).
/// `FAIL` keeps the rows already inserted by the failing statement, but any
/// error fails [`Store::commit`], whose transaction is then rolled back
/// whole, so a batch is still stored entirely or not at all.
///
/// `INSERT OR FAIL INTO events` for one row and for [`INSERT_ROWS`] rows. Parameters
/// `?1`–`?4` are per batch (sensor, site, received, batch_seq); row `k` uses
/// `?(5 + 7k)` … `?(11 + 7k)` (see [`bind_row`]).
static INSERT_SQL: std::sync::LazyLock<[String; 2]> = std::sync::LazyLock::new(|| {
    let sql = |rows: usize| {
        let tuples: Vec<String> = (0..rows)
            .map(|k| {
                let p = 5 + 7 * k;
                format!(
                    "(?1, ?2, ?{}, ?3, ?{}, ?{}, ?{}, ?{}, ?{}, ?4, ?{})",
                    p,
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4,
                    p + 5,
                    p + 6
                )
            })
            .collect();
        format!(
            "INSERT OR FAIL INTO events(sensor, site, ts, received, event_type, signature_id, severity, src_ip, dest_ip, batch_seq, json) VALUES {}",
            tuples.join(", ")
        )
    };
    [sql(1), sql(INSERT_ROWS)]
});

/// Binds row `r` as the `k`-th tuple of an [`INSERT_SQL`] statement.
fn bind_row(st: &mut rusqlite::Statement<'_>, k: usize, r: &Row) -> rusqlite::Result<()> {
    let p = 5 + 7 * k;
    st.raw_bind_parameter(p, r.ts_us)?;
    st.raw_bind_parameter(p + 1, &r.event_type)?;
    st.raw_bind_parameter(p + 2, r.signature_id)?;
    st.raw_bind_parameter(p + 3, r.severity)?;
    st.raw_bind_parameter(p + 4, &r.src_ip)?;
    st.raw_bind_parameter(p + 5, &r.dest_ip)?;
    st.raw_bind_parameter(p + 6, &r.json)
}

#[allow(clippy::needless_pass_by_value)] // used as `map_err(e2s)`
fn e2s(e: rusqlite::Error) -> String {
    format!("sqlite: {e}")
}

/// Opens a connection with the durability settings above.
fn connect(path: &Path) -> Result<Connection, String> {
    let c = Connection::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    c.busy_timeout(std::time::Duration::from_secs(10)).map_err(e2s)?;
    // Takes effect only when this connection creates the database (before WAL).
    c.pragma_update(None, "page_size", PAGE_SIZE).map_err(e2s)?;
    c.pragma_update(None, "journal_mode", "WAL").map_err(e2s)?;
    c.pragma_update(None, "synchronous", "FULL").map_err(e2s)?;
    Ok(c)
}

/// The SQLite writer.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    /// Wakes the checkpointer after a commit (capacity 1: kicks coalesce).
    kick: Option<std::sync::mpsc::SyncSender<()>>,
}

/// The checkpointer thread body: one PASSIVE checkpoint per (coalesced) kick,
/// until the store is dropped.
fn checkpointer(conn: &Connection, kicks: &std::sync::mpsc::Receiver<()>) {
    let mut failures = 0u64;
    while kicks.recv().is_ok() {
        while kicks.try_recv().is_ok() {}
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            failures += 1;
            if failures.is_power_of_two() {
                eprintln!("centinela-collector: background checkpoint failed ({failures} so far): {e}");
            }
        }
    }
}

impl SqliteStore {
    /// Opens (creating) the database and its schema.
    pub fn open(path: &Path) -> Result<SqliteStore, String> {
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
        let conn = connect(path)?;
        conn.execute_batch(SCHEMA).map_err(e2s)?;
        // The indexes' leaf pages are touched all over by every transaction:
        // keep them in the writer's cache instead of re-reading them from the OS.
        conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB).map_err(e2s)?;
        conn.pragma_update(None, "wal_autocheckpoint", WAL_CAP_PAGES).map_err(e2s)?;
        let ck = connect(path)?;
        let (kick, kicks) = std::sync::mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("collector-ckpt".into())
            .spawn(move || checkpointer(&ck, &kicks))
            .map_err(|e| format!("cannot start the checkpointer thread: {e}"))?;
        Ok(SqliteStore { conn, kick: Some(kick) })
    }

    fn silent_event(sensor: &str, now_us: i64, last_us: i64) -> String {
        let ts = centinela_events::Timestamp::from_micros(
            now_us.div_euclid(1_000_000),
            now_us.rem_euclid(1_000_000) as u32,
        );
        let last = centinela_events::Timestamp::from_micros(
            last_us.div_euclid(1_000_000),
            last_us.rem_euclid(1_000_000) as u32,
        );
        serde_json::json!({
            "timestamp": ts, "host": "centinela-collector", "event_type": "sensor_silent",
            "sensor_silent": {"sensor": sensor, "last_heard": last, "silent_for_s": (now_us - last_us) / 1_000_000}
        })
        .to_string()
    }
}

impl Store for SqliteStore {
    fn commit(&mut self, batches: &[IncomingBatch], now_us: i64) -> Result<Vec<BatchAck>, String> {
        let tx = self.conn.transaction().map_err(e2s)?;
        let mut acks = Vec::with_capacity(batches.len());
        {
            let mut seen =
                tx.prepare_cached("SELECT 1 FROM batches WHERE sensor = ?1 AND seq = ?2").map_err(e2s)?;
            let mut add_batch = tx
                .prepare_cached("INSERT INTO batches(sensor, seq, received, count) VALUES (?1, ?2, ?3, ?4)")
                .map_err(e2s)?;
            let mut add_one = tx.prepare_cached(&INSERT_SQL[0]).map_err(e2s)?;
            let mut add_many = tx.prepare_cached(&INSERT_SQL[1]).map_err(e2s)?;
            let mut upd = tx
                .prepare_cached(
                    "INSERT INTO sensors(sensor, site, first_seen, last_seen, last_seq, batches, events) VALUES (?1, ?2, ?3, ?3, ?4, 1, ?5)
                     ON CONFLICT(sensor) DO UPDATE SET site = coalesce(?2, site), last_seen = ?3, last_seq = max(last_seq, ?4),
                       batches = batches + 1, events = events + ?5",
                )
                .map_err(e2s)?;
            let mut hb = tx
                .prepare_cached("UPDATE sensors SET last_heartbeat = ?2, heartbeat = ?3, silent_raised = 0 WHERE sensor = ?1")
                .map_err(e2s)?;
            for b in batches {
                let seq = i64::try_from(b.seq).map_err(|_| "seq out of range".to_string())?;
                let dup =
                    seen.query_row(params![b.sensor, seq], |_| Ok(())).optional().map_err(e2s)?.is_some();
                if dup {
                    acks.push(BatchAck { sensor: b.sensor.clone(), seq: b.seq, stored: 0, duplicate: true });
                    continue;
                }
                add_batch.execute(params![b.sensor, seq, now_us, b.rows.len() as i64]).map_err(e2s)?;
                // Per-batch values are bound once (bindings survive the reset
                // after each execution); rows go in [`INSERT_ROWS`] per
                // statement, the remainder one by one.
                for st in [&mut add_one, &mut add_many] {
                    st.raw_bind_parameter(1, &b.sensor).map_err(e2s)?;
                    st.raw_bind_parameter(2, &b.site).map_err(e2s)?;
                    st.raw_bind_parameter(3, now_us).map_err(e2s)?;
                    st.raw_bind_parameter(4, seq).map_err(e2s)?;
                }
                for chunk in b.rows.chunks(INSERT_ROWS) {
                    if chunk.len() == INSERT_ROWS {
                        for (k, r) in chunk.iter().enumerate() {
                            bind_row(&mut add_many, k, r).map_err(e2s)?;
                        }
                        add_many.raw_execute().map_err(e2s)?;
                    } else {
                        for r in chunk {
                            bind_row(&mut add_one, 0, r).map_err(e2s)?;
                            add_one.raw_execute().map_err(e2s)?;
                        }
                    }
                }
                upd.execute(params![b.sensor, b.site, now_us, seq, b.rows.len() as i64]).map_err(e2s)?;
                if let Some(h) = &b.heartbeat {
                    hb.execute(params![b.sensor, now_us, h.to_string()]).map_err(e2s)?;
                }
                acks.push(BatchAck {
                    sensor: b.sensor.clone(),
                    seq: b.seq,
                    stored: b.rows.len() as u64,
                    duplicate: false,
                });
            }
        }
        tx.commit().map_err(e2s)?;
        if let Some(k) = &self.kick {
            let _ = k.try_send(());
        }
        Ok(acks)
    }

    fn sweep(&mut self, now_us: i64, p: &SweepPolicy) -> Result<SweepReport, String> {
        let mut rep = SweepReport::default();
        if let Some(cut) = p.older_than_us {
            rep.deleted +=
                self.conn.execute("DELETE FROM events WHERE received < ?1", params![cut]).map_err(e2s)?
                    as u64;
            self.conn.execute("DELETE FROM batches WHERE received < ?1", params![cut]).map_err(e2s)?;
        }
        if p.max_bytes > 0 {
            for _ in 0..1000 {
                let used: i64 = self
                    .conn
                    .query_row(
                        "SELECT (SELECT page_count FROM pragma_page_count()) - (SELECT freelist_count FROM pragma_freelist_count()),
                                (SELECT page_size FROM pragma_page_size())",
                        [],
                        |r| Ok(r.get::<_, i64>(0)? * r.get::<_, i64>(1)?),
                    )
                    .map_err(e2s)?;
                if used as u64 <= p.max_bytes {
                    break;
                }
                let n = self
                    .conn
                    .execute(
                        "DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT 10000)",
                        [],
                    )
                    .map_err(e2s)?;
                rep.deleted += n as u64;
                if n == 0 {
                    break;
                }
            }
        }
        let cutoff = now_us - p.silent_after_us;
        let silent: Vec<(String, Option<String>, i64)> = {
            let mut st = self
                .conn
                .prepare(
                    "SELECT sensor, site, coalesce(last_heartbeat, last_seen) FROM sensors
                     WHERE silent_raised = 0 AND coalesce(last_heartbeat, last_seen) < ?1",
                )
                .map_err(e2s)?;
            st.query_map(params![cutoff], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(e2s)?
                .collect::<Result<_, _>>()
                .map_err(e2s)?
        };
        if !silent.is_empty() {
            let tx = self.conn.transaction().map_err(e2s)?;
            for (sensor, site, last) in &silent {
                tx.execute(
                    "INSERT INTO events(sensor, site, ts, received, event_type, batch_seq, json) VALUES (?1, ?2, ?3, ?3, 'sensor_silent', 0, ?4)",
                    params![sensor, site, now_us, Self::silent_event(sensor, now_us, *last)],
                )
                .map_err(e2s)?;
                tx.execute("UPDATE sensors SET silent_raised = 1 WHERE sensor = ?1", params![sensor])
                    .map_err(e2s)?;
                rep.silent_raised.push(sensor.clone());
            }
            tx.commit().map_err(e2s)?;
        }
        Ok(rep)
    }
}

/// A read-only connection for the query API.
#[derive(Debug)]
pub struct SqliteReader {
    conn: Mutex<Connection>,
}

impl SqliteReader {
    /// Opens a reader on a database the writer created.
    pub fn open(path: &Path) -> Result<SqliteReader, String> {
        Ok(SqliteReader { conn: Mutex::new(connect(path)?) })
    }
}

impl QueryStore for SqliteReader {
    fn events(&self, q: &EventQuery) -> Result<(Vec<Value>, Option<i64>), String> {
        let conn = self.conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut sql = String::from("SELECT id, sensor, site, json FROM events WHERE id > ?");
        let mut args: Vec<rusqlite::types::Value> = vec![q.after_id.into()];
        let mut f = |cond: &str, v: rusqlite::types::Value| {
            sql.push_str(" AND ");
            sql.push_str(cond);
            args.push(v);
        };
        if let Some(v) = &q.sensor {
            f("sensor = ?", v.clone().into());
        }
        if let Some(v) = &q.site {
            f("site = ?", v.clone().into());
        }
        if let Some(v) = &q.event_type {
            f("event_type = ?", v.clone().into());
        }
        if let Some(v) = q.signature_id {
            f("signature_id = ?", v.into());
        }
        if let Some(v) = q.severity {
            f("severity <= ?", v.into());
        }
        if let Some(v) = q.since_us {
            f("ts >= ?", v.into());
        }
        if let Some(v) = q.until_us {
            f("ts < ?", v.into());
        }
        if let Some(v) = &q.address {
            sql.push_str(" AND (src_ip = ? OR dest_ip = ?)");
            args.push(v.clone().into());
            args.push(v.clone().into());
        }
        sql.push_str(" ORDER BY id LIMIT ?");
        args.push(q.limit.into());
        let mut st = conn.prepare(&sql).map_err(e2s)?;
        let rows = st
            .query_map(rusqlite::params_from_iter(args), |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(e2s)?;
        let mut out = Vec::new();
        let mut last = None;
        for row in rows {
            let (id, sensor, site, json) = row.map_err(e2s)?;
            let ev: Value = serde_json::from_str(&json).unwrap_or(Value::String(json));
            out.push(serde_json::json!({"id": id, "sensor": sensor, "site": site, "event": ev}));
            last = Some(id);
        }
        let next = if out.len() as i64 >= q.limit { last } else { None };
        Ok((out, next))
    }

    fn sensors(&self, now_us: i64, late_us: i64, silent_us: i64) -> Result<Vec<Value>, String> {
        let conn = self.conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut st = conn
            .prepare("SELECT sensor, site, first_seen, last_seen, last_seq, batches, events, last_heartbeat, heartbeat FROM sensors ORDER BY sensor")
            .map_err(e2s)?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, Option<i64>>(7)?,
                    r.get::<_, Option<String>>(8)?,
                ))
            })
            .map_err(e2s)?;
        let mut out = Vec::new();
        for row in rows {
            let (sensor, site, first, last, seq, batches, events, last_hb, hb) = row.map_err(e2s)?;
            let heard = last_hb.unwrap_or(last);
            let age = now_us - heard;
            let status = if age >= silent_us {
                "silent"
            } else if age >= late_us {
                "late"
            } else {
                "ok"
            };
            let hb: Value = hb.and_then(|h| serde_json::from_str(&h).ok()).unwrap_or(Value::Null);
            out.push(serde_json::json!({
                "sensor": sensor, "site": site, "status": status,
                "first_seen_us": first, "last_seen_us": last, "last_seen_age_s": (now_us - last) / 1_000_000,
                "last_heartbeat_age_s": last_hb.map(|t| (now_us - t) / 1_000_000),
                "last_batch_seq": seq, "batches": batches, "events": events,
                "version": hb.get("version"), "spool_depth": hb.get("spool_depth"),
                "lag_s": hb.get("oldest_unacked_age_s"), "drops": hb.get("drops"), "packets": hb.get("packets"),
                "heartbeat": hb,
            }));
        }
        Ok(out)
    }

    fn summary(&self) -> Result<Value, String> {
        let conn = self.conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let pairs = |sql: &str| -> Result<serde_json::Map<String, Value>, String> {
            let mut st = conn.prepare(sql).map_err(e2s)?;
            let rows =
                st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))).map_err(e2s)?;
            let mut m = serde_json::Map::new();
            for row in rows {
                let (k, n) = row.map_err(e2s)?;
                m.insert(k, n.into());
            }
            Ok(m)
        };
        let by_type =
            pairs("SELECT event_type, count(*) FROM events GROUP BY event_type ORDER BY event_type")?;
        let by_sensor = pairs("SELECT sensor, count(*) FROM events GROUP BY sensor ORDER BY sensor")?;
        let mut st = conn
            .prepare(
                "SELECT signature_id, max(json_extract(json, '$.alert.signature')), min(severity), count(*) FROM events
                 WHERE event_type = 'alert' GROUP BY signature_id ORDER BY count(*) DESC LIMIT 1000",
            )
            .map_err(e2s)?;
        let alerts: Vec<Value> = st
            .query_map([], |r| {
                Ok(serde_json::json!({
                    "signature_id": r.get::<_, Option<i64>>(0)?, "signature": r.get::<_, Option<String>>(1)?,
                    "severity": r.get::<_, Option<i64>>(2)?, "count": r.get::<_, i64>(3)?,
                }))
            })
            .map_err(e2s)?
            .collect::<Result<_, _>>()
            .map_err(e2s)?;
        Ok(
            serde_json::json!({"events_by_type": by_type, "events_by_sensor": by_sensor, "alerts_by_signature": alerts}),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(i: i64, et: &str) -> Row {
        Row {
            ts_us: 1_000_000 + i,
            event_type: et.into(),
            signature_id: (et == "alert").then_some(7),
            severity: (et == "alert").then_some(1),
            src_ip: Some("10.0.0.1".into()),
            dest_ip: Some(format!("10.0.0.{}", 2 + i % 2)),
            json: format!(r#"{{"i":{i},"event_type":"{et}"}}"#),
        }
    }

    #[test]
    fn commit_dedupes_and_queries_filter() {
        let d = tempfile::tempdir().unwrap();
        let db = d.path().join("e.db");
        let mut s = SqliteStore::open(&db).unwrap();
        let b1 = IncomingBatch {
            sensor: "s1".into(),
            site: Some("a".into()),
            seq: 1,
            rows: (0..10).map(|i| row(i, "flow")).collect(),
            heartbeat: None,
        };
        let b2 = IncomingBatch {
            sensor: "s1".into(),
            site: Some("a".into()),
            seq: 2,
            rows: vec![row(100, "alert")],
            heartbeat: Some(serde_json::json!({"version":"0.1","spool_depth":3})),
        };
        let acks = s.commit(&[b1.clone(), b2.clone(), b1.clone()], 5).unwrap();
        assert_eq!(
            acks.iter().map(|a| (a.stored, a.duplicate)).collect::<Vec<_>>(),
            vec![(10, false), (1, false), (0, true)]
        );
        let acks = s.commit(&[b2], 6).unwrap();
        assert!(acks[0].duplicate);
        let r = SqliteReader::open(&db).unwrap();
        let all = |q: EventQuery| r.events(&EventQuery { limit: 1000, ..q }).unwrap().0.len();
        assert_eq!(all(EventQuery::default()), 11);
        assert_eq!(all(EventQuery { event_type: Some("alert".into()), ..Default::default() }), 1);
        assert_eq!(all(EventQuery { signature_id: Some(7), ..Default::default() }), 1);
        assert_eq!(all(EventQuery { severity: Some(2), ..Default::default() }), 1);
        assert_eq!(all(EventQuery { address: Some("10.0.0.3".into()), ..Default::default() }), 5);
        assert_eq!(all(EventQuery { site: Some("b".into()), ..Default::default() }), 0);
        assert_eq!(
            all(EventQuery { since_us: Some(1_000_005), until_us: Some(1_000_007), ..Default::default() }),
            2
        );
        let (page, next) = r.events(&EventQuery { limit: 4, ..Default::default() }).unwrap();
        assert_eq!(page.len(), 4);
        let (page2, _) =
            r.events(&EventQuery { limit: 4, after_id: next.unwrap(), ..Default::default() }).unwrap();
        assert_ne!(page[0]["id"], page2[0]["id"]);
        let sensors = r.sensors(10, 100, 1000).unwrap();
        assert_eq!(sensors[0]["status"], "ok");
        assert_eq!(sensors[0]["spool_depth"], 3);
        assert_eq!(sensors[0]["events"], 11);
        let sum = r.summary().unwrap();
        assert_eq!(sum["events_by_type"]["flow"], 10);
        assert_eq!(sum["events_by_sensor"]["s1"], 11);
        assert_eq!(sum["alerts_by_signature"][0]["signature_id"], 7);
        assert_eq!(sum["alerts_by_signature"][0]["count"], 1);
    }

    #[test]
    fn multi_row_inserts_store_every_row_in_order_with_its_values() {
        let d = tempfile::tempdir().unwrap();
        let db = d.path().join("e.db");
        let mut s = SqliteStore::open(&db).unwrap();
        let n = 2 * INSERT_ROWS as i64 + 11;
        let rows: Vec<Row> = (0..n).map(|i| row(i, if i % 5 == 0 { "alert" } else { "flow" })).collect();
        let b = IncomingBatch {
            sensor: "s9".into(),
            site: Some("x".into()),
            seq: 7,
            rows: rows.clone(),
            heartbeat: None,
        };
        assert_eq!(s.commit(&[b], 42).unwrap()[0].stored, n as u64);
        use rusqlite::types::Value as V;
        let got: Vec<Vec<V>> = s
            .conn
            .prepare(
                "SELECT sensor, site, ts, received, event_type, signature_id, severity, src_ip, dest_ip, batch_seq, json
                 FROM events ORDER BY id",
            )
            .unwrap()
            .query_map([], |r| (0..11).map(|i| r.get::<_, V>(i)).collect())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(got.len(), rows.len());
        let opt_i = |v: Option<i64>| v.map_or(V::Null, V::Integer);
        let opt_s = |v: &Option<String>| v.clone().map_or(V::Null, V::Text);
        for (g, r) in got.iter().zip(&rows) {
            let want = vec![
                V::Text("s9".into()),
                V::Text("x".into()),
                V::Integer(r.ts_us),
                V::Integer(42),
                V::Text(r.event_type.clone()),
                opt_i(r.signature_id),
                opt_i(r.severity),
                opt_s(&r.src_ip),
                opt_s(&r.dest_ip),
                V::Integer(7),
                V::Text(r.json.clone()),
            ];
            assert_eq!(g, &want);
        }
    }

    #[test]
    fn a_statement_failing_halfway_stores_nothing_of_the_group() {
        let d = tempfile::tempdir().unwrap();
        let db = d.path().join("e.db");
        let mut s = SqliteStore::open(&db).unwrap();
        // A failure on the 40th row, inside the second multi-row statement:
        // OR FAIL keeps the statement's earlier rows, the transaction must not.
        s.conn
            .execute_batch(
                "CREATE TRIGGER boom BEFORE INSERT ON events WHEN NEW.json LIKE '%\"i\":39,%'
                 BEGIN SELECT RAISE(FAIL, 'boom'); END;",
            )
            .unwrap();
        let batch = |seq, rows: std::ops::Range<i64>| IncomingBatch {
            sensor: "s1".into(),
            site: None,
            seq,
            rows: rows.map(|i| row(i, "flow")).collect(),
            heartbeat: None,
        };
        let e = s.commit(&[batch(1, 100..110), batch(2, 0..70)], 1).unwrap_err();
        assert!(e.contains("boom"), "{e}");
        let count = |s: &SqliteStore, t: &str| -> i64 {
            s.conn.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0)).unwrap()
        };
        assert_eq!((count(&s, "events"), count(&s, "batches"), count(&s, "sensors")), (0, 0, 0));
        s.conn.execute_batch("DROP TRIGGER boom").unwrap();
        // The retry of the same sequences is stored, not taken for a duplicate.
        let acks = s.commit(&[batch(1, 100..110), batch(2, 0..70)], 2).unwrap();
        assert_eq!(
            acks.iter().map(|a| (a.stored, a.duplicate)).collect::<Vec<_>>(),
            vec![(10, false), (70, false)]
        );
        assert_eq!(count(&s, "events"), 80);
    }

    #[test]
    fn background_checkpointer_backfills_the_database_file() {
        let d = tempfile::tempdir().unwrap();
        let db = d.path().join("e.db");
        let mut s = SqliteStore::open(&db).unwrap();
        let before = std::fs::metadata(&db).unwrap().len();
        for seq in 1..=4 {
            let b = IncomingBatch {
                sensor: "s1".into(),
                site: None,
                seq,
                rows: (0..500).map(|i| row(i, "flow")).collect(),
                heartbeat: None,
            };
            s.commit(&[b], 1).unwrap();
        }
        // Far below WAL_CAP_PAGES, so only the checkpointer copies pages into the file.
        let wal = std::fs::metadata(d.path().join("e.db-wal")).unwrap().len();
        assert!(wal < (WAL_CAP_PAGES * PAGE_SIZE) as u64, "{wal}");
        let t0 = std::time::Instant::now();
        while std::fs::metadata(&db).unwrap().len() <= before + 64 * 1024 {
            assert!(t0.elapsed() < std::time::Duration::from_secs(20), "no background checkpoint");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let r = SqliteReader::open(&db).unwrap();
        assert_eq!(r.events(&EventQuery { limit: 10_000, ..Default::default() }).unwrap().0.len(), 2000);
        let ps: i64 = s.conn.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
        assert_eq!(ps, PAGE_SIZE);
    }

    #[test]
    fn sweep_raises_silent_once_and_applies_retention() {
        let d = tempfile::tempdir().unwrap();
        let db = d.path().join("e.db");
        let mut s = SqliteStore::open(&db).unwrap();
        let b = IncomingBatch {
            sensor: "s1".into(),
            site: None,
            seq: 1,
            rows: vec![row(0, "flow")],
            heartbeat: Some(serde_json::json!({})),
        };
        s.commit(&[b], 1_000_000).unwrap();
        let p = SweepPolicy { older_than_us: None, max_bytes: 0, silent_after_us: 10_000_000 };
        assert!(s.sweep(5_000_000, &p).unwrap().silent_raised.is_empty());
        assert_eq!(s.sweep(20_000_000, &p).unwrap().silent_raised, vec!["s1".to_string()]);
        assert!(s.sweep(30_000_000, &p).unwrap().silent_raised.is_empty(), "once per episode");
        let r = SqliteReader::open(&db).unwrap();
        let (ev, _) = r
            .events(&EventQuery { event_type: Some("sensor_silent".into()), limit: 10, ..Default::default() })
            .unwrap();
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0]["event"]["sensor_silent"]["sensor"], "s1");
        let p = SweepPolicy { older_than_us: Some(2_000_000), ..p };
        assert_eq!(s.sweep(40_000_000, &p).unwrap().deleted, 1);
    }
}
