//! `upseed gc`: applies the retention policy. Deletes expired threads from
//! the store, trims old count history, and stops seeding what the seeded
//! set's bounds leave out. A dry run reports the same plan and changes
//! nothing.
//!
//! The steps run in that order, so a dry run lists exactly what a real run
//! does: upvotes stopped now become eligible for deletion on a later run,
//! once their posts have faded for the retention period.

use upseed_core::retention::{SeedReason, StopReason};
use upseed_core::{InfoHash, PublicKey, TorrentClient};

use crate::Error;
use crate::config::Config;
use crate::events::{Events, Task};
use crate::store::{Store, Vote};

/// How `gc` runs.
#[derive(Debug, Clone, Copy)]
pub struct GcOptions {
    /// Only report what would go.
    pub dry_run: bool,
    /// Let the bounds stop seeding the user's own posts too (files are kept).
    pub include_authored: bool,
}

/// A torrent that stops seeding.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct Stopped {
    /// The torrent, as 40 hex digits.
    pub infohash: String,
    /// `authored` or `upvoted`.
    pub vote: String,
    /// Why it stops.
    pub reason: String,
}

/// A thread deleted from the store.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct Deleted {
    /// The post, as 40 hex digits.
    pub infohash: String,
    /// Its comments, deleted with it.
    pub comments: usize,
    /// When a refresh first counted no seeder for it, unix seconds.
    pub silent_since: u64,
}

/// What `gc` did, or would do, as `upseed gc --json` prints it.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct GcReport {
    /// Nothing was changed.
    pub dry_run: bool,
    /// Threads deleted from the store: faded for longer than `[retention] keep`.
    pub deleted: Vec<Deleted>,
    /// Records (posts and comments) deleted.
    pub records_deleted: usize,
    /// Count history rows older than `[retention] keep` that were deleted.
    pub history_deleted: usize,
    /// What discovery noted longer ago than `[retention] keep`, forgotten.
    pub pruned: crate::store::Pruned,
    /// Torrents that stop seeding.
    pub stopped: Vec<Stopped>,
    /// Torrents seeded after gc.
    pub seeded: usize,
    /// How many of those are over `[seeding] max_torrents`, because they are
    /// pinned or yours.
    pub over_bound: usize,
}

/// Why the retention policy stops seeding a torrent, for people.
fn stop_reason(reason: &StopReason) -> String {
    match reason {
        StopReason::TooOld { max_age } => format!(
            "seeded for longer than {}",
            crate::config::duration_text(std::time::Duration::from_secs(*max_age))
        ),
        StopReason::OverBound { max_torrents } => {
            format!("among the oldest beyond {max_torrents} seeded torrents")
        }
    }
}

/// Runs gc on `store` at `now`. The client is asked for (`client`) and
/// contacted only when something must stop seeding.
pub async fn gc<'c, C: TorrentClient + 'c>(
    store: &mut Store,
    config: &Config,
    client: impl FnOnce() -> Result<&'c C, Error>,
    me: Option<PublicKey>,
    options: GcOptions,
    events: &Events,
    now: u64,
) -> Result<GcReport, Error> {
    let fade = config.retention.policy();
    let expired = store.expired(&fade, now, me)?;
    let mut records_deleted = expired.iter().map(|e| 1 + e.comments).sum();
    let before = now.saturating_sub(fade.retention);
    if !options.dry_run {
        let bar = events.task(Task::DeleteThreads, Some(expired.len()));
        records_deleted = 0;
        // A few hundred threads per transaction keeps each one short, so
        // a concurrent command waits little for the store.
        for chunk in expired.chunks(256) {
            let hashes: Vec<InfoHash> = chunk.iter().map(|e| e.infohash).collect();
            records_deleted += store.delete_threads(&hashes)?;
            bar.advance(chunk.len());
        }
        drop(bar);
    }
    let history_deleted = store.old_history(before, !options.dry_run)?;
    let pruned = store.prune(before, me, !options.dry_run)?;

    let seeded = store.seeded()?;
    let plan = config
        .seeding
        .policy()
        .plan(&seeded, now, options.include_authored);
    let authored: std::collections::HashSet<InfoHash> = seeded
        .iter()
        .filter(|s| s.reason == SeedReason::Authored)
        .map(|s| s.infohash)
        .collect();
    let vote_of = |h: &InfoHash| {
        if authored.contains(h) {
            Vote::Authored
        } else {
            Vote::Upvoted
        }
    };
    let mut reasons: Vec<String> = plan.stop.iter().map(|(_, r)| stop_reason(r)).collect();
    let mut stop: Vec<(InfoHash, Vote)> = plan.stop.iter().map(|(h, _)| (*h, vote_of(h))).collect();
    // Versions their author edited or deleted stop, whatever the bounds.
    let stale = store.stale_versions()?;
    for s in &seeded {
        if stale.contains(&s.infohash) && !stop.iter().any(|(h, _)| *h == s.infohash) {
            stop.push((s.infohash, vote_of(&s.infohash)));
            reasons.push("edited or deleted by its author".to_owned());
        }
    }
    if !options.dry_run && !stop.is_empty() {
        let client = client()?;
        let bar = events.task(
            Task::StopSeeding {
                torrents: stop.len(),
            },
            None,
        );
        crate::vote::stop_seeding(store, config, client, &stop).await?;
        drop(bar);
    }
    let stopped = stop
        .iter()
        .zip(reasons)
        .map(|((hash, vote), reason)| Stopped {
            infohash: hash.to_string(),
            vote: match vote {
                Vote::Authored => "authored",
                Vote::Upvoted => "upvoted",
            }
            .to_owned(),
            reason,
        })
        .collect();
    Ok(GcReport {
        dry_run: options.dry_run,
        deleted: expired
            .iter()
            .map(|e| Deleted {
                infohash: e.infohash.to_string(),
                comments: e.comments,
                silent_since: e.silent_since,
            })
            .collect(),
        records_deleted,
        history_deleted,
        pruned,
        stopped,
        seeded: seeded.len().saturating_sub(stop.len()),
        over_bound: plan.over_bound,
    })
}
