//! `upseed status`: what the daemon last did and will do next, read from
//! the store (never from the logs), so it works from any terminal.

use crate::store::{StepRecord, Store, StoreError};

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
pub fn read(store: &Store, max_torrents: usize, now: u64) -> Result<Status, StoreError> {
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

/// One torrent of the seeded set, as `upseed serve`'s page lists it.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct SeededItem {
    /// The torrent.
    pub infohash: upseed_core::InfoHash,
    /// `authored` or `upvoted`.
    pub reason: String,
    /// Since when, unix seconds.
    pub since: u64,
    /// Whether it is pinned.
    pub pinned: bool,
    /// Its record, when stored.
    pub record: Option<upseed_core::RecordJson>,
}

/// The seeded set, newest first.
pub fn seeded_set(store: &Store) -> Result<Vec<SeededItem>, StoreError> {
    let mut items = Vec::new();
    for seeded in store.seeded()? {
        let reason = match seeded.reason {
            upseed_core::retention::SeedReason::Authored => "authored",
            upseed_core::retention::SeedReason::Upvoted => "upvoted",
        };
        items.push(SeededItem {
            infohash: seeded.infohash,
            reason: reason.to_owned(),
            since: seeded.since,
            pinned: seeded.pinned,
            record: store.record(seeded.infohash)?.map(|r| r.to_json()),
        });
    }
    items.sort_by(|a, b| b.since.cmp(&a.since).then(a.infohash.cmp(&b.infohash)));
    Ok(items)
}
