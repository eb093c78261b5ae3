//! One refresh of the local store: swarm counts from the client and the
//! trackers, and discovery of posts and comments that the trackers list
//! but the store does not know yet.
//!
//! Discovery reads a tracker's full scrape (one request for every torrent
//! it tracks). Hashes the store does not know are fetched through the
//! client, verified and stored; those that prove not to be upseed records
//! are remembered and never fetched again.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures_util::future::join_all;
use upseed_core::scrape::SwarmCounts;
use upseed_core::{InfoHash, SecretKey, TorrentClient};

use crate::Error;
use crate::config::Config;
use crate::events::{Events, Task};
use crate::fetch::Fetch;
use crate::scrape::{self, full_scrape};
use crate::store::{CLIENT_SOURCE, Store, SwarmCount, Vote};

/// How a refresh runs.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Fetch at most this many newly discovered torrents.
    pub fetch_limit: usize,
    /// Give up on a fetch after this long.
    pub fetch_timeout: Duration,
    /// Give up on a tracker request after this long.
    pub scrape_timeout: Duration,
}

/// One tracker's part in a refresh.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct TrackerSummary {
    /// Its announce URL.
    pub tracker: String,
    /// Whether it answered with a full scrape (else batches).
    pub full_scrape: bool,
    /// Requests sent: HTTP requests or UDP packets.
    pub requests: usize,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// Why its full scrape was refused, when batches were used instead:
    /// then this tracker discovers nothing new.
    pub full_scrape_error: Option<String>,
}

/// A torrent that could not be fetched.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct FetchFailure {
    /// The torrent, as 40 hex digits.
    pub infohash: String,
    /// What went wrong.
    pub error: String,
}

/// What one refresh did, as `upseed sync --json` prints it.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct SyncReport {
    /// Records in the store before the refresh.
    pub known: usize,
    /// Our torrents the client holds.
    pub client_torrents: usize,
    /// Each tracker.
    pub trackers: Vec<TrackerSummary>,
    /// Counts written to the store.
    pub counts: usize,
    /// Unknown torrents the trackers listed.
    pub discovered: usize,
    /// Newly stored posts and comments, as 40 hex digits.
    pub fetched: Vec<String>,
    /// Discovered torrents that proved not to be upseed records.
    pub foreign: usize,
    /// Fetches that failed.
    pub failed: Vec<FetchFailure>,
    /// Torrents we upvoted that the client no longer holds.
    pub missing_from_client: Vec<String>,
    /// Posts and comments we wrote that the client no longer held (a
    /// publish interrupted by a crash, a torrent removed by hand), given
    /// back to it from the store.
    pub reseeded: Vec<String>,
    /// HTTP requests this refresh sent to the client, fetches included.
    pub client_requests: u64,
    /// Requests sent to trackers: HTTP requests and UDP packets.
    pub tracker_requests: usize,
    /// Counts that changed since their source last gave them, kept as history.
    pub changed_counts: usize,
    /// Posts that left the feeds: nobody seeded them for long enough.
    pub faded: usize,
    /// Faded posts that someone seeds again.
    pub revived: usize,
    /// Posts in the feeds after the refresh.
    pub live_posts: usize,
    /// Faded posts still in the store.
    pub faded_posts: usize,
    /// How long the refresh took, in milliseconds.
    pub elapsed_ms: u64,
    /// The DHT round: followed outboxes, reply boards, our outbox.
    pub dht: Option<crate::discover::DhtReport>,
    /// Why the DHT round did not run, when `[dht]` is on.
    pub dht_error: Option<String>,
    /// The verification round: seeding probes (`[verify]`).
    pub verify: crate::verify::VerifyReport,
}

/// Asks one tracker: a full scrape where it answers one (and `full`),
/// else the batched scrape of `known`. Returns the counts it gave, if it
/// answered, and its summary.
async fn ask_tracker(
    tracker: &str,
    known: &[InfoHash],
    timeout: Duration,
    full: bool,
) -> (Option<HashMap<InfoHash, SwarmCounts>>, TrackerSummary) {
    let mut summary = TrackerSummary {
        tracker: tracker.to_owned(),
        full_scrape: false,
        requests: 0,
        error: None,
        full_scrape_error: None,
    };
    if full && (tracker.starts_with("http://") || tracker.starts_with("https://")) {
        summary.requests = 1;
        match full_scrape(tracker, timeout).await {
            Ok(all) => {
                summary.full_scrape = true;
                return (Some(all), summary);
            }
            Err(e) => summary.full_scrape_error = Some(e),
        }
    }
    let report = scrape::scrape(&[tracker.to_owned()], known, timeout).await;
    summary.requests += report.requests;
    if let Some(failure) = report.failures.into_iter().next() {
        summary.error = Some(failure.error);
        return (None, summary);
    }
    let counts = report
        .counts
        .into_iter()
        .filter_map(|c| {
            Some((
                c.infohash,
                SwarmCounts {
                    seeders: c.seeders?,
                    leechers: c.leechers?,
                    completed: c.completed?,
                },
            ))
        })
        .collect();
    (Some(counts), summary)
}

/// The DHT round of a refresh, added to `report`: needs `[dht]` on, and
/// our key for our own outbox and reply boards.
pub async fn sync_dht<C: TorrentClient>(
    report: &mut SyncReport,
    store: &mut Store,
    config: &Config,
    client: &C,
    key: impl FnOnce() -> Result<Option<SecretKey>, Error>,
    options: &SyncOptions,
    now: u64,
) -> Result<(), Error> {
    let dht = match crate::dht::Dht::join(&config.dht).await {
        Ok(Some(dht)) => dht,
        Ok(None) => {
            // No DHT: the web of trust from what the store holds.
            let me = key()?.map(|k| k.public_key());
            crate::trust::recompute(store, config, me, now)?;
            return Ok(());
        }
        Err(e) => {
            report.dht_error = Some(e.to_string());
            let me = key()?.map(|k| k.public_key());
            crate::trust::recompute(store, config, me, now)?;
            return Ok(());
        }
    };
    let key = key()?;
    report.dht = Some(
        crate::discover::sync_dht(
            &dht,
            store,
            config,
            client,
            key.as_ref(),
            (options.fetch_limit, options.fetch_timeout),
            now,
        )
        .await?,
    );
    Ok(())
}

/// Refreshes the store at `store` from the client and the config's trackers.
pub async fn sync<C: TorrentClient>(
    store: &mut Store,
    config: &Config,
    client: &C,
    options: &SyncOptions,
    events: &Events,
    now: u64,
) -> Result<SyncReport, Error> {
    let started = std::time::Instant::now();
    let requests_before = client.requests_sent();
    let known = store.record_hashes()?;
    let mut skip = store.known_hashes()?;
    // Torrents whose fetch failed lately wait out their back-off, so that
    // junk a tracker lists does not take every fetch on every run.
    skip.extend(store.backing_off(now)?);
    let step = events.task(Task::AskClient, None);
    let held = client.list(None).await?;
    drop(step);
    let held_set: HashSet<InfoHash> = held.iter().map(|t| t.infohash).collect();
    let mut counts: Vec<SwarmCount> = held
        .iter()
        .map(|t| SwarmCount {
            infohash: t.infohash,
            source: CLIENT_SOURCE.to_owned(),
            seeders: t.seeders,
            leechers: t.leechers,
            completed: t.completed,
        })
        .collect();

    let step = events.task(
        Task::Scrape {
            trackers: config.trackers.urls.len(),
        },
        None,
    );
    let answers = join_all(config.trackers.urls.iter().map(|t| {
        ask_tracker(
            t,
            &known,
            options.scrape_timeout,
            config.trackers.full_scrape,
        )
    }))
    .await;
    drop(step);
    let mut trackers = Vec::new();
    let mut listed: HashMap<InfoHash, (u32, Vec<SwarmCount>)> = HashMap::new();
    for (answer, summary) in answers {
        let tracker = &summary.tracker;
        if let Some(map) = answer {
            for hash in &known {
                // A tracker that does not list a torrent has no peers for it.
                let c = map.get(hash).copied().unwrap_or(SwarmCounts {
                    seeders: 0,
                    leechers: 0,
                    completed: 0,
                });
                counts.push(count(*hash, tracker, c));
            }
            for (hash, c) in map {
                if !skip.contains(&hash) && c.seeders > 0 {
                    let entry = listed.entry(hash).or_default();
                    entry.0 = entry.0.max(c.seeders);
                    entry.1.push(count(hash, tracker, c));
                }
            }
        }
        trackers.push(summary);
    }

    // The best-seeded first: those are the likeliest to arrive.
    let mut discovered: Vec<(InfoHash, u32)> = listed.iter().map(|(h, (s, _))| (*h, *s)).collect();
    discovered.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let wanted: Vec<InfoHash> = discovered
        .iter()
        .take(options.fetch_limit)
        .map(|(h, _)| *h)
        .collect();
    let mut fetched = Vec::new();
    let mut failed = Vec::new();
    let mut foreign = 0;
    if !wanted.is_empty() {
        let fetch = Fetch {
            client,
            config,
            keep: false,
            timeout: options.fetch_timeout,
            now,
            events: events.clone(),
        };
        for (hash, outcome) in fetch.run(&wanted).await? {
            match outcome {
                Ok(record) => {
                    store.put_record(&record, now)?;
                    if let Some((_, c)) = listed.remove(&hash) {
                        counts.extend(c);
                    }
                    fetched.push(hash.to_string());
                }
                Err(error) if error.is_foreign() => {
                    store.put_foreign(hash, &error.to_string(), now)?;
                    foreign += 1;
                }
                Err(error) => {
                    store.fetch_failed(hash, &error.to_string(), now)?;
                    failed.push(FetchFailure {
                        infohash: hash.to_string(),
                        error: error.to_string(),
                    });
                }
            }
        }
    }
    let step = events.task(
        Task::StoreCounts {
            counts: counts.len(),
        },
        None,
    );
    let written = store.put_counts(&counts, now, &config.retention.policy())?;
    drop(step);
    let (live_posts, faded_posts) = store.post_counts()?;
    let tracker_requests = trackers.iter().map(|t| t.requests).sum();
    let (lost_own, lost): (Vec<_>, Vec<_>) = store
        .votes()?
        .into_iter()
        .filter(|(h, _)| !held_set.contains(h))
        .partition(|(_, v)| *v == Vote::Authored);
    let missing_from_client = lost.iter().map(|(h, _)| h.to_string()).collect();
    let reseeded = reseed_own(store, config, client, &lost_own).await?;
    let step = events.task(Task::Verify, None);
    let verify = crate::verify::verify(store, config, options.scrape_timeout, now).await?;
    drop(step);
    Ok(SyncReport {
        known: known.len(),
        client_torrents: held.len(),
        trackers,
        counts: counts.len(),
        discovered: discovered.len(),
        fetched,
        foreign,
        failed,
        missing_from_client,
        reseeded,
        client_requests: client.requests_sent() - requests_before,
        tracker_requests,
        changed_counts: written.changes,
        faded: written.faded,
        revived: written.revived,
        live_posts,
        faded_posts,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        dht: None,
        dht_error: None,
        verify,
    })
}

/// Has the client seed again our own records it lost, writing their text
/// back into the posts folder if it is gone.
async fn reseed_own<C: TorrentClient>(
    store: &Store,
    config: &Config,
    client: &C,
    lost: &[(InfoHash, Vote)],
) -> Result<Vec<String>, Error> {
    let mut adds = Vec::new();
    for (hash, _) in lost {
        let Some(record) = store.record(*hash)?.filter(|r| r.body().is_some()) else {
            continue;
        };
        let file = config.posts.dir.join(record.name());
        if !file.exists() {
            crate::files::write_body(&config.posts.dir, &record)?;
        }
        adds.push(
            upseed_core::AddTorrent::from_torrent(
                record.torrent_bytes(&config.trackers.urls),
                config.client_path(&config.posts.dir),
            )?
            .with_tags([crate::files::own_tag(&record)])
            .with_data_present(),
        );
    }
    if !adds.is_empty() {
        client.add(&adds).await?;
    }
    Ok(adds.iter().map(|a| a.infohash.to_string()).collect())
}

fn count(infohash: InfoHash, tracker: &str, c: SwarmCounts) -> SwarmCount {
    SwarmCount {
        infohash,
        source: tracker.to_owned(),
        seeders: Some(c.seeders),
        leechers: Some(c.leechers),
        completed: Some(c.completed),
    }
}
