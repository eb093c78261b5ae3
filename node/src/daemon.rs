//! `upseed daemon`: one long-running process that refreshes counts, applies
//! the seeding rules and the retention policy on a schedule, and keeps
//! going through whatever fails.
//!
//! Three steps run in turn: `sync` (counts and discovery), `seed` (the
//! `[[daemon.seed_top]]` and `[daemon.rescue]` rules, right after each
//! sync) and `gc`. Each step opens the store for itself, so a store that
//! another command holds fails one step, not the daemon. A failed step is
//! retried with an exponential back-off (5 s doubling, at most its
//! interval) and a log line that says why. Every change is one store
//! transaction, so a `kill -9` loses nothing stored: the next start reads
//! the schedule back from the store, and removes torrents that a fetch it
//! interrupted left behind.
//!
//! The loop stops when its stop channel says so: the current step has
//! half a second to finish, then is cancelled (its store writes are
//! transactions, and the torrents its fetch added are swept), so a stop
//! never waits out a fetch. Signals are the front end's to turn into that.
//! At each start, a step's next run is recomputed from its last run and
//! the config's interval, and every step logs when the next one runs.

use std::time::Duration;

use tokio::sync::watch;
use tracing::{error, info, warn};
use upseed_core::rank::Sort;
use upseed_core::{Community, InfoHash, TorrentClient};

use crate::api::Node;
use crate::config::Config;
use crate::fetch::{READ_TAG, VOTE_TAG};
use crate::gc::GcOptions;
use crate::store::{StepRecord, Store, StoreError};
use crate::sync::SyncOptions;
use crate::{Error, error_chain, now};

/// The shortest back-off after a failure.
const FIRST_BACKOFF: Duration = Duration::from_secs(5);

/// After a stop signal, how long a running step may take to finish before
/// it is cancelled. Every store write is one transaction, so a cancelled
/// step loses nothing; the torrents its fetch added are swept at once.
const STOP_GRACE: Duration = Duration::from_millis(500);

/// How long the sweep after a cancelled step may take.
const SWEEP_LIMIT: Duration = Duration::from_secs(1);

/// A step of the daemon's loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Sync,
    Seed,
    Gc,
}

impl Step {
    const ALL: [Self; 3] = [Self::Sync, Self::Seed, Self::Gc];

    fn name(self) -> &'static str {
        match self {
            Self::Sync => "sync",
            Self::Seed => "seed",
            Self::Gc => "gc",
        }
    }

    fn interval(self, config: &Config) -> Duration {
        match self {
            Self::Sync | Self::Seed => config.daemon.sync_every,
            Self::Gc => config.daemon.gc_every,
        }
    }
}

/// A random delay of up to `jitter`.
fn jitter(jitter: Duration) -> u64 {
    let mut bytes = [0u8; 8];
    if jitter.is_zero() || getrandom::fill(&mut bytes).is_err() {
        return 0;
    }
    u64::from_le_bytes(bytes) % jitter.as_secs().saturating_add(1)
}

/// The back-off after `failures` failures in a row, at most `interval`.
fn backoff(failures: u32, interval: Duration) -> Duration {
    let doubled = FIRST_BACKOFF.saturating_mul(1 << failures.saturating_sub(1).min(16));
    doubled.min(interval.max(FIRST_BACKOFF))
}

impl<C: TorrentClient> Node<C> {
    /// Runs the daemon's loop until `stop` turns true: the current step
    /// has half a second to finish, then is cancelled.
    pub async fn daemon(&self, stop: watch::Receiver<bool>) -> Result<(), Error> {
        let config = self.config()?;
        let client = self.client()?;
        Daemon {
            node: self,
            config,
            client,
            steps: Vec::new(),
        }
        .run(stop)
        .await
    }
}

/// The daemon's loop and its schedule.
struct Daemon<'a, C> {
    node: &'a Node<C>,
    config: &'a Config,
    client: &'a crate::credentials::Guarded<C>,
    steps: Vec<StepRecord>,
}

impl<'a, C: TorrentClient> Daemon<'a, C> {
    fn store(&self) -> Result<crate::api::PooledStore<'a>, Error> {
        self.node.store()
    }

    async fn run(mut self, mut stop: watch::Receiver<bool>) -> Result<(), Error> {
        self.start().await?;
        'outer: loop {
            let started = now();
            for step in Step::ALL {
                if *stop.borrow() {
                    break;
                }
                let due = self.record(step).next_at.is_none_or(|at| at <= started);
                // `seed` follows each successful sync.
                if due && step != Step::Seed {
                    let Some(ok) = self.step_or_stop(step, &mut stop).await else {
                        break 'outer;
                    };
                    if step == Step::Sync
                        && ok
                        && self.step_or_stop(Step::Seed, &mut stop).await.is_none()
                    {
                        break 'outer;
                    }
                }
            }
            self.best_effort("heartbeat", |s| s.set_daemon_state("heartbeat", now()));
            if *stop.borrow() {
                break;
            }
            let next = self
                .steps
                .iter()
                .filter(|s| s.step != Step::Seed.name())
                .filter_map(|s| s.next_at)
                .min()
                .unwrap_or(0);
            // Wake at least every 30 s, for the heartbeat.
            let wait = Duration::from_secs(next.saturating_sub(now()).clamp(1, 30));
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                break;
            }
        }
        self.best_effort("stop time", |s| s.set_daemon_state("stopped", now()));
        info!("stopped");
        Ok(())
    }

    /// Runs `step`, unless a stop comes first: then, after [`STOP_GRACE`],
    /// the step is cancelled, what its fetch added is swept, and `None`
    /// says so.
    async fn step_or_stop(&mut self, step: Step, stop: &mut watch::Receiver<bool>) -> Option<bool> {
        let stopping = async {
            while !*stop.borrow_and_update() {
                if stop.changed().await.is_err() {
                    // Nobody can ask us to stop any more.
                    std::future::pending::<()>().await;
                }
            }
            tokio::time::sleep(STOP_GRACE).await;
        };
        tokio::select! {
            ok = self.run_step(step) => return Some(ok),
            () = stopping => {}
        }
        warn!(
            step = step.name(),
            "stopping during this step: it was cancelled, and runs again at the next start"
        );
        match tokio::time::timeout(SWEEP_LIMIT, self.leftover_reads()).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => info!(torrents = n, "removed what the cancelled fetch had added"),
            Ok(Err(e)) => warn!("cannot sweep the cancelled fetch: {}", error_chain(&e)),
            Err(_) => warn!("the client did not answer the sweep in time; the next start sweeps"),
        }
        None
    }

    /// Logs when each step runs next.
    fn log_schedule(&self) {
        let now = now();
        for s in &self.steps {
            if s.step == Step::Seed.name() {
                continue;
            }
            match s.next_at {
                Some(at) if at > now => info!(
                    step = %s.step,
                    next_at = at,
                    "next {} in {} s",
                    s.step,
                    at - now
                ),
                _ => info!(step = %s.step, "next {} now", s.step),
            }
        }
    }

    /// Reads the schedule back, records this run, and cleans up after an
    /// interrupted fetch. A step whose interval changed in the config runs
    /// on the new interval from its last run.
    async fn start(&mut self) -> Result<(), Error> {
        let mut store = self.store()?;
        self.steps = store.steps()?;
        for step in Step::ALL {
            if !self.steps.iter().any(|s| s.step == step.name()) {
                self.steps.push(StepRecord {
                    step: step.name().to_owned(),
                    ..StepRecord::default()
                });
            }
        }
        for s in &self.steps {
            if let (Some(started), finished) = (s.started, s.finished)
                && finished.is_none_or(|f| f < started)
            {
                warn!(step = %s.step, "the previous daemon stopped during this step; running it again");
            }
        }
        for s in &mut self.steps {
            let interval = Step::ALL
                .into_iter()
                .find(|step| step.name() == s.step)
                .map(|step| step.interval(self.config));
            // An interrupted step keeps its schedule: it runs again now.
            let interrupted = s.started.zip(s.finished).is_some_and(|(st, f)| f < st);
            if let (Some(interval), Some(finished), Some("ok"), false) =
                (interval, s.finished, s.outcome.as_deref(), interrupted)
            {
                let next = Some(finished.saturating_add(interval.as_secs()));
                if s.next_at != next {
                    s.next_at = next;
                    // `status` reads the schedule from the store.
                    store.step_finished(s)?;
                }
            }
        }
        let now = now();
        store.set_daemon_state("pid", u64::from(std::process::id()))?;
        store.set_daemon_state("started", now)?;
        store.set_daemon_state("heartbeat", now)?;
        drop(store);
        info!(
            client = %self.config.client.kind,
            sync_every = %crate::config::duration_text(self.config.daemon.sync_every),
            gc_every = %crate::config::duration_text(self.config.daemon.gc_every),
            rules = self.config.daemon.seed_top.len()
                + usize::from(self.config.daemon.rescue.is_some())
                + usize::from(self.config.daemon.seed_followed.is_some()),
            "started"
        );
        match self.leftover_reads().await {
            Ok(0) => {}
            Ok(n) => info!(
                torrents = n,
                "removed reads an interrupted fetch left in the client"
            ),
            Err(e) => warn!(
                "cannot check the client for leftover reads: {}",
                error_chain(&e)
            ),
        }
        self.log_schedule();
        Ok(())
    }

    /// Removes read-only torrents (tagged for reading, not voting) that a
    /// killed fetch left in the client. Only our category is listed.
    async fn leftover_reads(&self) -> Result<usize, Error> {
        let left: Vec<_> = self
            .client
            .list(None)
            .await?
            .into_iter()
            .filter(|t| {
                t.tags.iter().any(|g| g == READ_TAG) && !t.tags.iter().any(|g| g == VOTE_TAG)
            })
            .collect();
        if !left.is_empty() {
            crate::fetch::remove(self.client, self.config, &left).await?;
        }
        Ok(left.len())
    }

    fn record(&mut self, step: Step) -> &mut StepRecord {
        let at = self
            .steps
            .iter()
            .position(|s| s.step == step.name())
            .unwrap_or_else(|| {
                self.steps.push(StepRecord {
                    step: step.name().to_owned(),
                    ..StepRecord::default()
                });
                self.steps.len() - 1
            });
        &mut self.steps[at]
    }

    /// Writes to the store, logging instead of failing: the daemon's own
    /// bookkeeping must never stop it.
    fn best_effort(&self, what: &str, write: impl FnOnce(&mut Store) -> Result<(), StoreError>) {
        if let Err(e) = self.store().and_then(|mut s| Ok(write(&mut s)?)) {
            warn!("cannot record the {what}: {}", error_chain(&e));
        }
    }

    /// Runs one step and schedules the next; returns whether it succeeded.
    async fn run_step(&mut self, step: Step) -> bool {
        let started = now();
        self.best_effort("step start", |s| s.step_started(step.name(), started));
        let outcome = match step {
            Step::Sync => self.sync().await,
            Step::Seed => self.seed().await,
            Step::Gc => self.gc().await,
        };
        let finished = now();
        let interval = step.interval(self.config);
        let jitter_secs = jitter(self.config.daemon.jitter);
        let record = self.record(step);
        record.started = Some(started);
        record.finished = Some(finished);
        record.runs += 1;
        let ok = match outcome {
            Ok(summary) => {
                let next = finished
                    .saturating_add(interval.as_secs())
                    .saturating_add(jitter_secs);
                info!(
                    step = step.name(),
                    seconds = finished - started,
                    next_at = next,
                    "{summary}; next {} in {} s",
                    step.name(),
                    next - finished
                );
                record.outcome = Some("ok".into());
                record.summary = Some(summary);
                record.failures = 0;
                record.next_at = Some(next);
                true
            }
            Err(e) => {
                record.errors += 1;
                record.failures += 1;
                let wait = backoff(record.failures, interval);
                let why = error_chain(&e);
                error!(
                    step = step.name(),
                    failures = record.failures,
                    retry_in = wait.as_secs(),
                    "{why}; retrying in {} s",
                    wait.as_secs()
                );
                record.outcome = Some("failed".into());
                record.summary = Some(why);
                record.next_at = Some(finished.saturating_add(wait.as_secs()));
                false
            }
        };
        let record = record.clone();
        self.best_effort("step outcome", |s| s.step_finished(&record));
        ok
    }

    async fn sync(&self) -> Result<String, Error> {
        let options = SyncOptions {
            fetch_limit: self.config.daemon.fetch_limit,
            fetch_timeout: self.config.daemon.fetch_timeout,
            scrape_timeout: Duration::from_secs(5),
        };
        let report = self.node.sync(&options).await?;
        if let Some(e) = &report.dht_error {
            warn!("dht: {e}");
        }
        if let Some(d) = &report.dht {
            for e in &d.index_errors {
                warn!("dht: a followed outbox index was not read: {e}");
            }
            if let Some(e) = d.publish.as_ref().and_then(|p| p.index_error.as_ref()) {
                warn!("dht: our outbox index was not updated: {e}");
            }
        }
        for t in report.trackers.iter().filter(|t| t.error.is_some()) {
            warn!(tracker = %t.tracker, "tracker failed: {}", t.error.as_deref().unwrap_or(""));
        }
        for t in &report.trackers {
            if let Some(e) = &t.full_scrape_error {
                warn!(tracker = %t.tracker, "full scrape failed, so nothing new is discovered through it: {e}");
            }
        }
        for f in &report.failed {
            warn!(infohash = %f.infohash, "fetch failed: {}", f.error);
        }
        Ok(format!(
            "synced: {} posts live, {} faded; {} new, {} faded now; {} client requests, {} tracker requests; {} of {} trackers answered",
            report.live_posts,
            report.faded_posts,
            report.fetched.len(),
            report.faded,
            report.client_requests,
            report.tracker_requests,
            report.trackers.iter().filter(|t| t.error.is_none()).count(),
            report.trackers.len()
        ))
    }

    /// Applies the seeding rules within the seeded-set bound.
    async fn seed(&self) -> Result<String, Error> {
        let mut store = self.store()?;
        let max = self.config.seeding.max_torrents;
        let mut seeded = store.seeded()?.len();
        let mut wanted: Vec<(InfoHash, &'static str, bool)> = Vec::new();
        // Nothing muted is seeded by a rule.
        let mutes = self.node.mutes_in(&store)?;
        for rule in &self.config.daemon.seed_top {
            let community = rule
                .community
                .as_deref()
                .map(Community::normalize)
                .transpose()?;
            let view = crate::feed::View {
                mutes: &mutes,
                show_muted: false,
            };
            let feed = crate::feed::build_feed_in(
                &store,
                (Sort::Top(rule.window), rule.by),
                community.as_ref(),
                rule.count,
                now(),
                view,
            )?;
            for item in feed.items {
                wanted.push((item.record.infohash, "top", rule.dry_run));
            }
        }
        if let Some(rule) = &self.config.daemon.seed_followed {
            for hash in store.unseeded_by_followed(max.saturating_sub(seeded))? {
                wanted.push((hash, "followed", rule.dry_run));
            }
        }
        if let Some(rescue) = &self.config.daemon.rescue {
            let room = rescue.budget.saturating_sub(store.votes_from("rescue")?);
            for hash in store.rescue_candidates(rescue.below, room)? {
                wanted.push((hash, "rescue", rescue.dry_run));
            }
        }
        let (mut added, mut would, mut skipped, mut failed, mut muted) = (0, 0, 0, 0, 0);
        for (hash, rule, dry_run) in wanted {
            if store.vote(hash)?.is_some() {
                continue;
            }
            if let Some(record) = store.record(hash)?
                && mutes.check(&record, now()).is_some()
            {
                muted += 1;
                continue;
            }
            if dry_run {
                info!(rule, infohash = %hash, "dry run: would seed");
                would += 1;
                continue;
            }
            if seeded >= max {
                skipped += 1;
                continue;
            }
            match crate::vote::upvote(
                &mut store,
                self.config,
                self.client,
                hash,
                self.config.daemon.fetch_timeout,
                now(),
                rule,
                crate::Events::none(),
            )
            .await
            {
                Ok(_) => {
                    info!(rule, infohash = %hash, "seeding");
                    added += 1;
                    seeded += 1;
                }
                Err(e) => {
                    // One post that cannot be seeded does not stop the others,
                    // unless the client itself is gone.
                    if matches!(
                        e.client(),
                        Some(upseed_core::ClientError::Unreachable { .. })
                    ) {
                        return Err(e);
                    }
                    warn!(rule, infohash = %hash, "cannot seed: {}", error_chain(&e));
                    failed += 1;
                }
            }
        }
        if skipped > 0 {
            warn!(
                skipped,
                max_torrents = max,
                "the seeded set is full; raise [seeding] max_torrents or let gc make room"
            );
        }
        if failed > 0 {
            return Err(Error::SeedFailed { failed, added });
        }
        Ok(format!(
            "rules: {added} seeded, {would} would be (dry run), {skipped} over the bound, {muted} muted; {seeded} seeded in all"
        ))
    }

    async fn gc(&self) -> Result<String, Error> {
        let options = GcOptions {
            dry_run: false,
            include_authored: false,
        };
        let report = self.node.gc(options).await?;
        Ok(format!(
            "gc: {} threads ({} records) and {} history rows deleted; {} torrents stopped; {} seeded",
            report.deleted.len(),
            report.records_deleted,
            report.history_deleted,
            report.stopped.len(),
            report.seeded
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_interval() {
        let hour = Duration::from_secs(3600);
        let waits: Vec<u64> = (1..=12).map(|n| backoff(n, hour).as_secs()).collect();
        assert_eq!(&waits[..5], &[5, 10, 20, 40, 80]);
        assert_eq!(waits[11], 3600);
        assert_eq!(
            backoff(3, Duration::from_secs(1)).as_secs(),
            5,
            "never below 5 s"
        );
        assert!(jitter(Duration::from_secs(10)) <= 10);
        assert_eq!(jitter(Duration::ZERO), 0);
    }
}
