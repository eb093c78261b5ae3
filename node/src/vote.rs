//! Upvotes and unvotes: an upvote is seeding a post or comment, an unvote
//! is ceasing to.

use std::time::Duration;

use upseed_core::{AddTorrent, InfoHash, Record, TorrentClient};

use crate::Error;
use crate::config::Config;
use crate::events::Events;
use crate::fetch::{Fetch, VOTE_TAG};
use crate::store::{Store, Vote};

/// How long after a read's removal from the client its `stopped`
/// announce can still be on its way to the tracker.
const REMOVAL_SETTLES_MS: u64 = 3_000;

/// How an upvote went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upvoted {
    /// The body was in the store: the client seeds it at once.
    FromStore,
    /// The client downloaded it from the swarm.
    Downloaded,
    /// We wrote it; it is seeded already.
    Authored,
}

/// Seeds `hash`: from the stored body when we have it, else by having the
/// client download it (reporting to `events`). Records the vote, cast by
/// `origin` (`user` or a daemon rule), once the client holds it.
#[allow(clippy::too_many_arguments)]
pub async fn upvote<C: TorrentClient>(
    store: &mut Store,
    config: &Config,
    client: &C,
    hash: InfoHash,
    timeout: Duration,
    now: u64,
    origin: &str,
    events: Events,
) -> Result<Upvoted, Error> {
    if store.vote(hash)? == Some(Vote::Authored) {
        return Ok(Upvoted::Authored);
    }
    let how = match store.record(hash)?.filter(|r| r.body().is_some()) {
        Some(record) => {
            // A read just removed it: its `stopped` announce may reach the
            // tracker after this add's `started` and cancel it (Transmission
            // sends them in that order), so the add waits until the removal
            // is settled.
            if let Some(removed) = store.read_removal(hash)? {
                let settled = removed.saturating_add(REMOVAL_SETTLES_MS);
                let wait = settled.saturating_sub(crate::now_ms());
                if wait > 0 {
                    tokio::time::sleep(Duration::from_millis(wait.min(REMOVAL_SETTLES_MS))).await;
                }
            }
            seed_stored(config, client, &record).await?;
            Upvoted::FromStore
        }
        None => {
            if let Some(reason) = store.foreign(hash)? {
                return Err(Error::Foreign {
                    infohash: hash,
                    reason,
                });
            }
            let fetch = Fetch {
                client,
                config,
                keep: true,
                timeout,
                now,
                events,
            };
            let record = fetch.one(hash).await?;
            store.put_record(&record, now)?;
            Upvoted::Downloaded
        }
    };
    store.set_vote_from(hash, Vote::Upvoted, origin, now)?;
    Ok(how)
}

/// Writes a stored record's body into the downloads folder and has the
/// client seed it without downloading.
async fn seed_stored<C: TorrentClient>(
    config: &Config,
    client: &C,
    record: &Record,
) -> Result<(), Error> {
    let dir = &crate::fetch::own_folder(config, record.infohash());
    std::fs::create_dir_all(dir).map_err(|source| Error::CreateDir {
        path: dir.clone(),
        source,
    })?;
    crate::files::write_body(dir, record)?;
    let add = AddTorrent::from_torrent(
        record.torrent_bytes(&config.trackers.urls),
        config.client_path(dir),
    )?
    .with_tags([VOTE_TAG])
    .with_data_present();
    client.add(&[add]).await?;
    // Held already (say, mid-read): make sure it carries the vote tag.
    client
        .add_tags(&[record.infohash()], &[VOTE_TAG.to_owned()])
        .await?;
    Ok(())
}

/// Stops seeding `hash` and forgets the vote. The data goes too, except a
/// post or comment we wrote, whose file is kept; that needs `force`. A
/// torrent we hold no vote for is removed without its data.
pub async fn unvote<C: TorrentClient>(
    store: &mut Store,
    config: &Config,
    client: &C,
    hash: InfoHash,
    force: bool,
) -> Result<(), Error> {
    let vote = store.vote(hash)?;
    match vote {
        Some(Vote::Authored) if !force => Err(Error::Authored(hash)),
        Some(vote) => stop_seeding(store, config, client, &[(hash, vote)]).await,
        None => {
            client.remove(&[hash], false).await?;
            Ok(())
        }
    }
}

/// Removes torrents from the client and forgets their votes, in at most
/// three client calls: upvotes go with their data when the data is in the
/// torrent's own folder (see [`crate::fetch::remove`]), while the files of
/// posts and comments we wrote are kept.
pub async fn stop_seeding<C: TorrentClient>(
    store: &mut Store,
    config: &Config,
    client: &C,
    torrents: &[(InfoHash, Vote)],
) -> Result<(), Error> {
    let hashes = |own: bool| -> Vec<InfoHash> {
        torrents
            .iter()
            .filter(|(_, v)| (*v == Vote::Authored) == own)
            .map(|(h, _)| *h)
            .collect()
    };
    let (own, others) = (hashes(true), hashes(false));
    if !others.is_empty() {
        let held = client.list(Some(&others)).await?;
        crate::fetch::remove(client, config, &held).await?;
    }
    if !own.is_empty() {
        client.remove(&own, false).await?;
    }
    let hashes: Vec<InfoHash> = torrents.iter().map(|(h, _)| *h).collect();
    store.remove_votes(&hashes)?;
    Ok(())
}
