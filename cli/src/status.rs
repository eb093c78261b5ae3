//! `upseed status`: what the daemon last did and will do next, read from
//! the store (never from the logs), so it works from any terminal.

use anyhow::Result;

use crate::render::relative;
use crate::store::{StepRecord, Store};

/// A heartbeat older than this means the daemon is gone.
const STALE_AFTER: u64 = 90;

/// `upseed status --json`.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct Status {
    /// When this status was read, unix seconds.
    pub now: u64,
    /// Whether a daemon is running: its process exists and it wrote a
    /// heartbeat in the last 90 seconds.
    pub running: bool,
    /// The last daemon's process id.
    pub pid: Option<u64>,
    /// When the last daemon started, unix seconds.
    pub started: Option<u64>,
    /// Its last heartbeat, unix seconds.
    pub heartbeat: Option<u64>,
    /// When it last stopped cleanly, unix seconds.
    pub stopped: Option<u64>,
    /// Each step: the last run, its outcome, and the next.
    pub steps: Vec<StepRecord>,
    /// Posts in the feeds.
    pub live_posts: usize,
    /// Faded posts still in the store.
    pub faded_posts: usize,
    /// Torrents we seed: our posts, upvotes and the rules' picks.
    pub seeded: usize,
    /// The bound on them, `[seeding] max_torrents`.
    pub max_torrents: usize,
}

/// Reads the status from `store` at `now`.
pub fn read(store: &Store, max_torrents: usize, now: u64) -> Result<Status> {
    let pid = store.daemon_state("pid")?;
    let started = store.daemon_state("started")?;
    let heartbeat = store.daemon_state("heartbeat")?;
    let stopped = store.daemon_state("stopped")?;
    let alive = pid.is_some_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
    let fresh = heartbeat.is_some_and(|h| now.saturating_sub(h) <= STALE_AFTER);
    let stopped_since_start = matches!((stopped, started), (Some(s), Some(t)) if s >= t);
    let (live_posts, faded_posts) = store.post_counts()?;
    Ok(Status {
        now,
        running: alive && fresh && !stopped_since_start,
        pid,
        started,
        heartbeat,
        stopped,
        steps: store.steps()?,
        live_posts,
        faded_posts,
        seeded: store.seeded()?.len(),
        max_torrents,
    })
}

fn until(at: u64, now: u64) -> String {
    match at.checked_sub(now) {
        None | Some(0) => "now".into(),
        Some(s) if s < 60 => format!("in {s} s"),
        Some(s) if s < 3_600 => format!("in {} min", s / 60),
        Some(s) => format!("in {:.1} h", s as f64 / 3_600.0),
    }
}

impl Status {
    /// The status as lines of text.
    pub fn text(&self) -> String {
        let mut out = String::new();
        match (self.running, self.pid, self.started) {
            (true, Some(pid), Some(started)) => out.push_str(&format!(
                "daemon: running as pid {pid}, started {}\n",
                relative(started, self.now)
            )),
            (false, _, Some(_)) => out.push_str(&format!(
                "daemon: not running (last heard from {})\n",
                self.heartbeat
                    .map_or_else(|| "never".to_owned(), |h| relative(h, self.now))
            )),
            _ => out.push_str("daemon: has never run; start it with `upseed daemon`\n"),
        }
        for s in &self.steps {
            let last = match (s.started, s.finished) {
                (Some(st), f) if f.is_none_or(|f| f < st) && self.running => {
                    format!("running since {}", relative(st, self.now))
                }
                (_, Some(f)) => format!(
                    "{} {}",
                    s.outcome.as_deref().unwrap_or("?"),
                    relative(f, self.now)
                ),
                _ => "not run yet".to_owned(),
            };
            let next = if self.running {
                s.next_at
                    .map_or_else(|| "after the next sync".to_owned(), |n| until(n, self.now))
            } else {
                "when the daemon runs".to_owned()
            };
            out.push_str(&format!(
                "{:<5} {last}; next {next}; {} runs, {} errors survived\n",
                s.step, s.runs, s.errors
            ));
            if let Some(summary) = &s.summary {
                out.push_str(&format!("      {summary}\n"));
            }
        }
        out.push_str(&format!(
            "store: {} posts live, {} faded; seeding {} of at most {}\n",
            self.live_posts, self.faded_posts, self.seeded, self.max_torrents
        ));
        out
    }
}
