//! Reading: a record shown from the store or fetched through the client,
//! and feeds and threads, topped up first from the DHT's boards.

use std::time::Duration;

use upseed_core::rank::{Basis, Sort, Window};
use upseed_core::{Community, InfoHash, PublicKey, Record, TorrentClient};

use crate::api::Node;
use crate::dht::Dht;
use crate::discover::Expect;
use crate::events::Warning;
use crate::feed::{FeedJson, ThreadJson, ThreadSort, View};
use crate::fetch::Fetch;
use crate::store::Store;
use crate::{Error, error_chain, now};

/// How far back `feed --community` reads the community's boards: the
/// window, but at most a day back (the current bucket and the 4 before:
/// up to 20 boards, 3 waves of DHT queries; see `dht::MAX_QUERIES`).
const BOARD_LOOKBACK: u64 = 86_400;

/// Which feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedQuery {
    /// The order.
    pub sort: Sort,
    /// Only this community (normalised here).
    pub community: Option<String>,
    /// At most this many posts.
    pub limit: usize,
    /// How long a community's feed waits for the DHT's boards and the
    /// posts they name before showing what the store has.
    pub timeout: Duration,
    /// Show muted posts, marked, instead of leaving them out.
    pub show_muted: bool,
    /// Rank by seeders or by trusted count; `None`: by trusted count once
    /// the user follows `[trust] rank_after_follows` keys, else by seeders.
    pub by: Option<Basis>,
}

impl Default for FeedQuery {
    fn default() -> Self {
        Self {
            by: None,
            sort: Sort::Hot,
            community: None,
            limit: 25,
            timeout: Duration::from_secs(20),
            show_muted: false,
        }
    }
}

/// What [`Node::export`] wrote.
#[derive(Debug, Clone)]
pub struct Exported {
    /// The record.
    pub record: Record,
    /// Its .torrent file.
    pub torrent: std::path::PathBuf,
    /// Its text file.
    pub body: std::path::PathBuf,
}

impl<C: TorrentClient> Node<C> {
    /// The record `reference` names: from the store when it has the text,
    /// else fetched through the client (within `timeout`), verified and
    /// stored. A torrent that proves not to be a record is remembered as
    /// foreign.
    pub async fn show(&self, reference: &str, timeout: Duration) -> Result<Record, Error> {
        let before = self.newest_reply()?;
        let record = self.show_only(reference, timeout).await?;
        self.republish_if_replied(before).await;
        Ok(record)
    }

    /// The newest comment on our posts the store has, when we have an identity.
    fn newest_reply(&self) -> Result<Option<InfoHash>, Error> {
        let Some(key) = self.me()? else {
            return Ok(None);
        };
        if !self.home.store.exists() {
            return Ok(None);
        }
        Ok(self.store()?.newest_reply_to(key.public_key())?)
    }

    /// Publishes our outbox again when a comment on one of our posts was
    /// stored since `before` (PROTOCOL.md §17, recovering threads): its
    /// `r` names the new reply at once, not at the next sync.
    async fn republish_if_replied(&self, before: Option<InfoHash>) {
        if self.config_if_any().is_none_or(|c| !c.dht.enabled) {
            return;
        }
        let after = self.newest_reply().ok().flatten();
        if after.is_some() && after != before {
            // Failures are warnings, as every outbox publish's are.
            let _ = self.republish().await;
        }
    }

    async fn show_only(&self, reference: &str, timeout: Duration) -> Result<Record, Error> {
        let mut store = self.store()?;
        let hash = self.resolve_in(&store, reference)?;
        if let Some(record) = store.record(hash)?.filter(|r| r.body().is_some()) {
            return Ok(record);
        }
        if let Some(reason) = store.foreign(hash)? {
            return Err(Error::Foreign {
                infohash: hash,
                reason,
            });
        }
        let config = self.config()?;
        let fetch = Fetch {
            client: self.client()?,
            config,
            keep: false,
            timeout,
            now: now(),
            events: self.events.clone(),
        };
        let record = match fetch.one(hash).await {
            Ok(record) => record,
            Err(error) => {
                if error.is_foreign() {
                    store.put_foreign(hash, &error.to_string(), now())?;
                }
                return Err(error.into());
            }
        };
        store.put_record(&record, now())?;
        // The read was removed from the client: an upvote that follows at
        // once waits for the removal's announce (see `vote::upvote`).
        store.note_read_removal(hash, crate::now_ms())?;
        Ok(record)
    }

    /// Writes the record `reference` names (fetched if need be, as
    /// [`Node::show`] does) into `dir`: `<infohash>.torrent`, with the
    /// config's trackers, and its text file under its own name. Existing
    /// files are not replaced.
    pub async fn export(
        &self,
        reference: &str,
        dir: &std::path::Path,
        timeout: Duration,
    ) -> Result<Exported, Error> {
        let record = self.show(reference, timeout).await?;
        let torrent = dir.join(format!("{}.torrent", record.infohash()));
        let body = dir.join(record.name());
        let text = record.body().map(|b| b.as_str().as_bytes().to_vec());
        for (path, bytes) in [(&torrent, Some(self.torrent_bytes(&record))), (&body, text)] {
            if let Some(bytes) = bytes {
                crate::files::write_new(path, &bytes)?;
            }
        }
        Ok(Exported {
            record,
            torrent,
            body,
        })
    }

    /// The stored record `reference` names, and its `.torrent` with the
    /// config's trackers: what a feed's enclosure serves. Nothing is fetched.
    pub fn torrent(&self, reference: &str) -> Result<(Record, Vec<u8>), Error> {
        let store = self.store()?;
        let hash = self.resolve_in(&store, reference)?;
        let record = crate::feed::known(&store, hash)?;
        let bytes = self.torrent_bytes(&record);
        Ok((record, bytes))
    }

    fn torrent_bytes(&self, record: &Record) -> Vec<u8> {
        let trackers: &[String] = self
            .config_if_any()
            .map_or(&[], |c| c.trackers.urls.as_slice());
        record.torrent_bytes(trackers)
    }

    /// A ranked feed from the store; a community's feed reads its boards
    /// on the DHT first.
    pub async fn feed(&self, query: &FeedQuery) -> Result<FeedJson, Error> {
        let community = query
            .community
            .as_deref()
            .map(Community::normalize)
            .transpose()?;
        if let (Some(c), Some(config)) = (&community, self.config_if_any())
            && config.dht.enabled
        {
            let window = match query.sort {
                Sort::Top(window) => window,
                _ => Window::Day,
            };
            let back = window.seconds().unwrap_or(u64::MAX).min(BOARD_LOOKBACK);
            let since = now().saturating_sub(back);
            self.read_leads(query.timeout, async |dht, store| {
                crate::discover::community_leads(dht, store, c, since, now()).await
            })
            .await;
        }
        let store = self.store()?;
        let mutes = self.mutes_in(&store)?;
        let view = View {
            mutes: &mutes,
            show_muted: query.show_muted,
        };
        let community = community.as_ref();
        let by = match query.by {
            Some(by) => by,
            None => self.default_basis(&store)?,
        };
        let mut feed = crate::feed::build_feed_in(
            &store,
            (query.sort, by),
            community,
            query.limit,
            now(),
            view,
        )?;
        self.names(&store)?.name_feed(&mut feed);
        Ok(feed)
    }

    /// What feeds rank by when not told: trusted counts once the user
    /// follows `[trust] rank_after_follows` keys (3 by default), seeders
    /// before, and without a config.
    pub fn default_basis(&self, store: &Store) -> Result<Basis, Error> {
        Ok(match self.config_if_any() {
            Some(config) if store.follows()?.len() >= config.trust.rank_after_follows => {
                Basis::Trusted
            }
            _ => Basis::Seeders,
        })
    }

    /// An author's page: their name, whether we follow or muted them, and
    /// their posts in the store, newest first (muted ones left out unless
    /// `show_muted`).
    pub fn author(
        &self,
        key: PublicKey,
        limit: usize,
        show_muted: bool,
    ) -> Result<crate::feed::AuthorJson, Error> {
        let store = self.store()?;
        let mutes = self.mutes_in(&store)?;
        let view = View {
            mutes: &mutes,
            show_muted,
        };
        let mut author = crate::feed::build_author(&store, key, limit, now(), view)?;
        let names = self.names(&store)?;
        names.name_feed(&mut author.feed);
        author.name = names.get(&key).map(str::to_owned);
        Ok(author)
    }

    /// The thread `reference` belongs to, from the store alone: no DHT
    /// read, no fetch. What a page polls for new replies.
    pub fn stored_thread(
        &self,
        reference: &str,
        sort: ThreadSort,
        show_muted: bool,
    ) -> Result<ThreadJson, Error> {
        let store = self.store()?;
        let hash = self.resolve_in(&store, reference)?;
        self.thread_in(&store, hash, sort, show_muted)
    }

    /// The stored thread of `hash`, as the user's mutes leave it, named.
    fn thread_in(
        &self,
        store: &Store,
        hash: InfoHash,
        sort: ThreadSort,
        show_muted: bool,
    ) -> Result<ThreadJson, Error> {
        let mutes = self.mutes_in(store)?;
        let view = View {
            mutes: &mutes,
            show_muted,
        };
        let mut thread = crate::feed::build_thread_in(store, hash, sort, now(), view)?;
        self.names(store)?.name_thread(&mut thread);
        Ok(thread)
    }

    /// The stored records that match `query` (see [`crate::search`]): at
    /// most `limit`, after skipping `offset`, less the muted ones unless
    /// `show_muted`. Nothing is fetched.
    pub fn search(
        &self,
        query: &str,
        order: crate::SearchOrder,
        (limit, offset): (usize, usize),
        show_muted: bool,
    ) -> Result<crate::SearchJson, Error> {
        let store = self.store()?;
        let names = self.names(&store)?;
        let mutes = self.mutes_in(&store)?;
        let view = View {
            mutes: &mutes,
            show_muted,
        };
        crate::search::run(&store, &names, query, order, (limit, offset), view)
    }

    /// Authors' display names, as the store knows them.
    fn names(&self, store: &Store) -> Result<crate::feed::Names, Error> {
        let me = self.me()?.map(|k| k.public_key());
        crate::feed::Names::load(store, me)
    }

    /// The thread `reference` (a post or any comment in it) belongs to,
    /// after reading its reply board on the DHT. A record not yet stored
    /// is fetched first, as [`Node::show`] does (within `timeout`).
    pub async fn thread(
        &self,
        reference: &str,
        sort: ThreadSort,
        timeout: Duration,
        show_muted: bool,
    ) -> Result<ThreadJson, Error> {
        let hash = self.resolve(reference)?;
        let before = self.newest_reply()?;
        if self.store()?.record(hash)?.is_none() {
            let record = self.show_only(reference, timeout).await?;
            // A comment's thread needs its post.
            if let Some(root) = record.root()
                && self.store()?.record(root)?.is_none()
            {
                self.show_only(&root.to_string(), timeout).await?;
            }
        }
        if let Some(config) = self.config_if_any()
            && config.dht.enabled
        {
            let found = crate::feed::known(&*self.store()?, hash)?;
            let post = match found.root() {
                Some(root) => self.store()?.record(root)?,
                None => Some(found),
            };
            if let Some(post) = post {
                self.read_leads(timeout, async |dht, store| {
                    // The replies, and the post's edits and deletes.
                    let (leads, found) = futures_util::future::join(
                        crate::discover::reply_leads(dht, store, &post, now()),
                        dht.read_supersedes(post.author(), post.infohash()),
                    )
                    .await;
                    let mut leads = leads?;
                    leads.extend(crate::discover::take_supersedes(
                        store,
                        post.author(),
                        found,
                        now(),
                    )?);
                    Ok(leads)
                })
                .await;
            }
        }
        self.republish_if_replied(before).await;
        self.thread_in(&*self.store()?, hash, sort, show_muted)
    }

    /// Fetches what DHT leads name, for a read, within `timeout` in all:
    /// joining, reading the boards and fetching. Failures and a timeout
    /// are warnings, and the read goes on with what the store has.
    async fn read_leads(
        &self,
        timeout: Duration,
        gather: impl AsyncFnOnce(&Dht, &mut Store) -> Result<Vec<(InfoHash, Expect)>, Error>,
    ) {
        let deadline = tokio::time::Instant::now() + timeout;
        let late = || {
            Warning::LeadsFailed(format!(
                "the DHT did not answer within {} s (--timeout)",
                timeout.as_secs()
            ))
        };
        let task = self.events.task(crate::events::Task::ReadDht, None);
        let Ok(joined) = tokio::time::timeout_at(deadline, self.join_dht()).await else {
            self.events.warn(late());
            return;
        };
        let Some(dht) = joined else {
            return;
        };
        let outcome = async {
            let config = self.config()?;
            let mut store = self.store()?;
            let Ok(leads) = tokio::time::timeout_at(deadline, gather(&dht, &mut store)).await
            else {
                return Ok(None);
            };
            drop(task);
            let client = self.client()?;
            // The fetch ends by the deadline, and removes what it added.
            let left = deadline
                .saturating_duration_since(tokio::time::Instant::now())
                .max(Duration::from_secs(1));
            let fetch = Fetch {
                client,
                config,
                keep: false,
                timeout: left,
                now: now(),
                events: self.events.clone(),
            };
            crate::discover::follow_leads(&mut store, &fetch, leads?, config.daemon.fetch_limit)
                .await
                .map(Some)
        }
        .await;
        match outcome {
            Ok(Some(leads)) => {
                if !leads.rejected.is_empty() {
                    self.events
                        .warn(Warning::LeadsRejected(leads.rejected.len()));
                }
                if leads.failed > 0 {
                    self.events.warn(Warning::LeadsUnfetched(leads.failed));
                }
            }
            Ok(None) => self.events.warn(late()),
            Err(e) => self.events.warn(Warning::LeadsFailed(error_chain(&e))),
        }
    }
}
