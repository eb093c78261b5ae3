//! The daemon's bookkeeping: each step's last run and next time, and the
//! facts `upseed status` reads (pid, start, heartbeat, stop).

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError};

/// What the daemon last did in one of its steps, and when it runs next.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct StepRecord {
    /// `sync`, `seed` or `gc`.
    pub step: String,
    /// When the last run started, unix seconds.
    pub started: Option<u64>,
    /// When the last run finished, unix seconds; before `started` while it runs.
    pub finished: Option<u64>,
    /// `ok` or `failed`.
    pub outcome: Option<String>,
    /// One line on what it did, or why it failed.
    pub summary: Option<String>,
    /// Runs so far.
    pub runs: u64,
    /// Failed runs so far, all survived.
    pub errors: u64,
    /// Failures in a row, which set the back-off.
    pub failures: u32,
    /// When it runs next, unix seconds.
    pub next_at: Option<u64>,
}

/// The daemon's schedule, read by `upseed status`.
impl Store {
    /// Marks a step as started.
    pub fn step_started(&mut self, step: &str, now: u64) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO daemon_steps (step, started) VALUES (?1, ?2)
                 ON CONFLICT (step) DO UPDATE SET started = excluded.started",
                params![step, now as i64],
            )
            .map(drop)
            .map_err(self.sqlite())
    }

    /// Records how a step ended and when it runs next.
    pub fn step_finished(&mut self, record: &StepRecord) -> Result<(), StoreError> {
        let int = |v: Option<u64>| v.map(|v| v as i64);
        self.conn
            .execute(
                "INSERT INTO daemon_steps (step, started, finished, outcome, summary, runs, errors, failures, next_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (step) DO UPDATE SET started = excluded.started, finished = excluded.finished,
                 outcome = excluded.outcome, summary = excluded.summary, runs = excluded.runs,
                 errors = excluded.errors, failures = excluded.failures, next_at = excluded.next_at",
                params![
                    record.step,
                    int(record.started),
                    int(record.finished),
                    record.outcome,
                    record.summary,
                    record.runs as i64,
                    record.errors as i64,
                    record.failures,
                    int(record.next_at)
                ],
            )
            .map(drop)
            .map_err(self.sqlite())
    }

    /// Every step the daemon has recorded, by name.
    pub fn steps(&self) -> Result<Vec<StepRecord>, StoreError> {
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT step, started, finished, outcome, summary, runs, errors, failures, next_at
                 FROM daemon_steps ORDER BY step",
            )
            .map_err(self.sqlite())?;
        let unsigned = |v: Option<i64>| v.map(i64::unsigned_abs);
        let rows = statement
            .query_map([], |r| {
                Ok(StepRecord {
                    step: r.get(0)?,
                    started: unsigned(r.get(1)?),
                    finished: unsigned(r.get(2)?),
                    outcome: r.get(3)?,
                    summary: r.get(4)?,
                    runs: r.get::<_, i64>(5)?.unsigned_abs(),
                    errors: r.get::<_, i64>(6)?.unsigned_abs(),
                    failures: u32::try_from(r.get::<_, i64>(7)?).unwrap_or(u32::MAX),
                    next_at: unsigned(r.get(8)?),
                })
            })
            .map_err(self.sqlite())?;
        rows.collect::<Result<_, _>>().map_err(self.sqlite())
    }

    /// Sets a daemon fact: `pid`, `started`, `heartbeat` or `stopped`.
    pub fn set_daemon_state(&mut self, key: &str, value: u64) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO daemon_state (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value as i64],
            )
            .map(drop)
            .map_err(self.sqlite())
    }

    /// A daemon fact, if recorded.
    pub fn daemon_state(&self, key: &str) -> Result<Option<u64>, StoreError> {
        self.conn
            .query_row(
                "SELECT value FROM daemon_state WHERE key = ?1",
                params![key],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map(|v| v.map(i64::unsigned_abs))
            .map_err(self.sqlite())
    }
}
