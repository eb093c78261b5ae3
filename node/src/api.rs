//! [`Node`]: the one facade every front end calls. It holds the user's
//! files, their config (read when first needed), their client (built by
//! the front end's constructor when first needed) and where events go,
//! and offers each use case as a method.
//!
//! Publishing, reading and the daemon loop each add methods to [`Node`]
//! from their own module (`publish`, `read`, `daemon`), which sit above
//! this one.

use std::sync::OnceLock;
use std::time::Duration;

use upseed_core::mute::Mutes;
use upseed_core::{InfoHash, Magnet, PublicKey, SecretKey, TorrentClient};

use crate::config::{Config, Home, Vars};
use crate::credentials::Guarded;
use crate::dht::Dht;
use crate::doctor::Check;
use crate::events::{Events, Warning};
use crate::gc::{GcOptions, GcReport};
use crate::status::Status;
use crate::store::Store;
use crate::sync::{SyncOptions, SyncReport};
use crate::vote::Upvoted;
use crate::{Error, keyfile, now};

/// How long [`Node::queued`] watches a queueing client's verdict.
pub(crate) const QUEUE_VERDICT: Duration = Duration::from_secs(3);

type Connect<C> = Box<dyn Fn(&Config, &Vars) -> Result<C, Error> + Send + Sync>;

/// One user's upseed: their files, config and client, and every use case.
pub struct Node<C> {
    pub(crate) home: Home,
    pub(crate) vars: Vars,
    config: OnceLock<Config>,
    client: OnceLock<Guarded<C>>,
    connect: Connect<C>,
    pub(crate) events: Events,
    /// Joining the DHT failed once: this node does not try again.
    dht_failed: std::sync::atomic::AtomicBool,
    /// Store connections to reuse: each keeps its page cache, schema and
    /// prepared statements, which a long-lived front end (the web page)
    /// would otherwise rebuild for every request.
    stores: std::sync::Mutex<Vec<Store>>,
    /// The mutes as last loaded, with the store's generation of them.
    pub(crate) mutes: MuteCache,
}

/// The matcher a node last loaded, and the store generation it reflects.
#[derive(Debug, Default)]
pub(crate) struct MuteCache(std::sync::Mutex<Option<(i64, std::sync::Arc<Mutes>)>>);

impl MuteCache {
    /// The matcher for `store`'s mutes: the cached one while the store's
    /// generation is unchanged, else loaded again for the user `me` gives
    /// (read only then).
    pub(crate) fn get(
        &self,
        store: &Store,
        me: impl FnOnce() -> Result<Option<PublicKey>, Error>,
    ) -> Result<std::sync::Arc<Mutes>, Error> {
        let generation = store.mutes_generation()?;
        if let Ok(cached) = self.0.lock()
            && let Some((seen, mutes)) = cached.as_ref()
            && *seen == generation
        {
            return Ok(std::sync::Arc::clone(mutes));
        }
        // Expired entries match nothing, so loading them all (time zero)
        // keeps the cache right as entries expire.
        let mutes = std::sync::Arc::new(store.mute_set(0, me()?)?);
        if let Ok(mut cached) = self.0.lock() {
            *cached = Some((generation, std::sync::Arc::clone(&mutes)));
        }
        Ok(mutes)
    }
}

/// How many idle store connections a node keeps.
const IDLE_STORES: usize = 8;

/// A store connection from a node's pool; it goes back when dropped.
pub struct PooledStore<'a> {
    store: Option<Store>,
    pool: &'a std::sync::Mutex<Vec<Store>>,
}

impl std::ops::Deref for PooledStore<'_> {
    type Target = Store;
    fn deref(&self) -> &Store {
        // Taken only in `drop`.
        #[allow(clippy::expect_used)]
        self.store
            .as_ref()
            .expect("a pooled store is held until dropped")
    }
}

impl std::ops::DerefMut for PooledStore<'_> {
    fn deref_mut(&mut self) -> &mut Store {
        #[allow(clippy::expect_used)]
        self.store
            .as_mut()
            .expect("a pooled store is held until dropped")
    }
}

impl Drop for PooledStore<'_> {
    fn drop(&mut self) {
        if let (Some(store), Ok(mut idle)) = (self.store.take(), self.pool.lock())
            && idle.len() < IDLE_STORES
        {
            idle.push(store);
        }
    }
}

impl<C> std::fmt::Debug for Node<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("home", &self.home)
            .field("config_loaded", &self.config.get().is_some())
            .field("client_built", &self.client.get().is_some())
            .finish_non_exhaustive()
    }
}

impl<C: TorrentClient> Node<C> {
    /// The user at `home`, with the environment `vars` (overrides and the
    /// client password). `connect` builds the client from the config the
    /// first time a use case needs it: the front end chooses the client.
    pub fn new(
        home: Home,
        vars: Vars,
        connect: impl Fn(&Config, &Vars) -> Result<C, Error> + Send + Sync + 'static,
    ) -> Self {
        Self {
            home,
            vars,
            config: OnceLock::new(),
            client: OnceLock::new(),
            connect: Box::new(connect),
            events: Events::none(),
            dht_failed: std::sync::atomic::AtomicBool::new(false),
            stores: std::sync::Mutex::new(Vec::new()),
            mutes: MuteCache::default(),
        }
    }

    /// Progress and warnings go to `events`.
    #[must_use]
    pub fn with_events(mut self, events: Events) -> Self {
        self.events = events;
        self
    }

    /// Uses `config` instead of reading the config file.
    #[must_use]
    pub fn with_config(self, config: Config) -> Self {
        let _ = self.config.set(config);
        self
    }

    /// The user's files.
    pub fn home(&self) -> &Home {
        &self.home
    }

    /// The config, read (with the environment's overrides) on first use.
    pub fn config(&self) -> Result<&Config, Error> {
        if let Some(config) = self.config.get() {
            return Ok(config);
        }
        let config = Config::load(&self.home.config, &self.vars)?;
        Ok(self.config.get_or_init(|| config))
    }

    /// The config when there is one that loads: reads work without it.
    pub fn config_if_any(&self) -> Option<&Config> {
        if !self.home.config.exists() && self.config.get().is_none() {
            return None;
        }
        self.config().ok()
    }

    /// The client, built on first use, unless its credentials were
    /// refused before (by this run or an earlier one: see
    /// [`crate::credentials`]).
    pub fn client(&self) -> Result<&Guarded<C>, Error> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let config = self.config()?;
        let checked = crate::credentials::check(
            config,
            config.password(&self.vars)?,
            config.password_source(&self.vars),
            &self.home.store,
        )?;
        let client = checked.guard((self.connect)(config, &self.vars)?, self.home.store.clone());
        Ok(self.client.get_or_init(|| client))
    }

    /// A connection to the store: an idle one of this node's, or a new
    /// one. Each use case takes its own, so that one held elsewhere fails
    /// that use case only.
    pub fn store(&self) -> Result<PooledStore<'_>, Error> {
        let idle = self.stores.lock().ok().and_then(|mut idle| idle.pop());
        let store = match idle {
            Some(store) => store,
            None => self.open_store()?,
        };
        Ok(PooledStore {
            store: Some(store),
            pool: &self.stores,
        })
    }

    /// Opens a new connection to the store, creating it if needed.
    fn open_store(&self) -> Result<Store, Error> {
        // Never set up: no store, and no config on disk or given.
        let configured = self.config.get().is_some() || self.home.config.exists();
        if !self.home.store.exists() && !configured {
            return Err(crate::ConfigError::NotSetUp {
                path: self.home.config.clone(),
            }
            .into());
        }
        if let Some(dir) = self.home.store.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|source| Error::CreateDir {
                path: dir.to_owned(),
                source,
            })?;
        }
        Ok(Store::open(&self.home.store)?)
    }

    /// Our secret key.
    pub fn identity(&self) -> Result<SecretKey, Error> {
        Ok(keyfile::load(&self.home.identity)?)
    }

    /// Our public key, when we have an identity; an unreadable one fails.
    pub(crate) fn me(&self) -> Result<Option<SecretKey>, Error> {
        if self.home.identity.exists() {
            self.identity().map(Some)
        } else {
            Ok(None)
        }
    }

    /// The infohash `reference` names, among the records in `store`.
    pub(crate) fn resolve_in(&self, store: &Store, reference: &str) -> Result<InfoHash, Error> {
        let reference = reference.trim();
        if reference.starts_with("magnet:") {
            return Ok(reference.parse::<Magnet>()?.infohash);
        }
        if let Ok(hash) = reference.parse::<InfoHash>() {
            return Ok(hash);
        }
        if reference.len() < 6 || !reference.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Error::BadReference(reference.to_owned()));
        }
        match store
            .find_prefix(reference, crate::error::AMBIGUOUS_SHOWN + 1)?
            .as_slice()
        {
            [hash] => Ok(*hash),
            [] => Err(Error::NoMatch(reference.to_owned())),
            matches => Err(Error::Ambiguous {
                prefix: reference.to_owned(),
                matches: matches.to_vec(),
            }),
        }
    }

    /// Joins the DHT when `[dht]` enables it; a failure is a warning, since
    /// every use case works without it.
    ///
    /// A failed join is not tried again by the same node, and warns once.
    pub(crate) async fn join_dht(&self) -> Option<Dht> {
        use std::sync::atomic::Ordering;
        let config = self.config().ok()?;
        if self.dht_failed.load(Ordering::Relaxed) {
            return None;
        }
        Dht::join(&config.dht).await.unwrap_or_else(|e| {
            if !self.dht_failed.swap(true, Ordering::Relaxed) {
                self.events.warn(Warning::DhtUnreachable(e.to_string()));
            }
            None
        })
    }

    /// Seeds the record `reference` names: from the stored text, or by
    /// having the client download it (within `timeout`). Our outbox is
    /// published again.
    pub async fn upvote(
        &self,
        reference: &str,
        timeout: Duration,
    ) -> Result<(InfoHash, Upvoted), Error> {
        let config = self.config()?;
        let mut store = self.store()?;
        let hash = self.resolve_in(&store, reference)?;
        let client = self.client()?;
        let how = crate::vote::upvote(
            &mut store,
            config,
            client,
            hash,
            timeout,
            now(),
            "user",
            self.events.clone(),
        )
        .await?;
        drop(store);
        self.republish().await?;
        Ok((hash, how))
    }

    /// Whether the client holds `hash` back in its queue instead of
    /// seeding it: then a warning names the setting that frees it. When
    /// the client queues at all, its verdict can take a moment, so this
    /// watches for up to 3 s; otherwise it answers at once.
    /// A client that cannot be asked counts as not queueing.
    pub async fn queued(&self, hash: InfoHash) -> bool {
        let Ok(client) = self.client() else {
            return false;
        };
        if !client.queue_report().await.is_ok_and(|q| q.queueing) {
            return false;
        }
        let deadline = tokio::time::Instant::now() + QUEUE_VERDICT;
        let queued = loop {
            let held = client.list(Some(&[hash])).await.is_ok_and(|listed| {
                listed
                    .iter()
                    .any(|t| t.state == upseed_core::TorrentState::QueuedToSeed)
            });
            if held || tokio::time::Instant::now() >= deadline {
                break held;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        if queued && let Ok(config) = self.config() {
            self.events.warn(Warning::Queued(config.client.kind));
        }
        queued
    }

    /// Has the client's own RSS reader follow the feed at `url`, shown as
    /// `name`, downloading each new item into upseed's category: each is
    /// then seeded, an upvote by the user's own client.
    pub async fn subscribe_rss(&self, url: &str, name: &str) -> Result<(), Error> {
        Ok(self.client()?.subscribe_rss(url, name).await?)
    }

    /// Stops seeding the record `reference` names; our own needs `force`.
    pub async fn unvote(&self, reference: &str, force: bool) -> Result<InfoHash, Error> {
        let config = self.config()?;
        let mut store = self.store()?;
        let hash = self.resolve_in(&store, reference)?;
        crate::vote::unvote(&mut store, config, self.client()?, hash, force).await?;
        Ok(hash)
    }

    /// Pins (`on`) or unpins a stored record; returns it, and whether
    /// that changed anything.
    pub fn pin(&self, reference: &str, on: bool) -> Result<(InfoHash, bool), Error> {
        let mut store = self.store()?;
        let hash = self.resolve_in(&store, reference)?;
        if store.record(hash)?.is_none() {
            return Err(Error::NotStored(hash));
        }
        let changed = if on {
            store.pin(hash, now())?;
            true
        } else {
            store.unpin(hash)?
        };
        Ok((hash, changed))
    }

    /// One refresh: counts from the client and the trackers, discovery
    /// through full scrapes, then the DHT round (followed outboxes, our
    /// posts' reply boards, our outbox and boards again).
    pub async fn sync(&self, options: &SyncOptions) -> Result<SyncReport, Error> {
        let config = self.config()?;
        let mut store = self.store()?;
        let client = self.client()?;
        let mut report =
            crate::sync::sync(&mut store, config, client, options, &self.events, now()).await?;
        crate::sync::sync_dht(
            &mut report,
            &mut store,
            config,
            client,
            || self.me(),
            options,
            now(),
        )
        .await?;
        Ok(report)
    }

    /// Applies the retention policy (a plan only, with `dry_run`).
    pub async fn gc(&self, options: GcOptions) -> Result<GcReport, Error> {
        let config = self.config()?;
        let mut store = self.store()?;
        // Without an identity nothing is ours; an unreadable one stops gc.
        let me = self.me()?.map(|k| k.public_key());
        crate::gc::gc(
            &mut store,
            config,
            || self.client(),
            me,
            options,
            &self.events,
            now(),
        )
        .await
    }

    /// Every check of the setup, each with the fix when it fails.
    pub async fn doctor(&self) -> Result<Vec<Check>, Error> {
        let config = self.config()?;
        Ok(crate::doctor::run(&self.home, config, self.client(), now()).await)
    }

    /// Everything we seed, newest first, with why and whether it is pinned.
    pub fn seeded_set(&self) -> Result<Vec<crate::status::SeededItem>, Error> {
        Ok(crate::status::seeded_set(&*self.store()?)?)
    }

    /// The communities the store has posts in, busiest first.
    pub fn communities(&self, limit: usize) -> Result<Vec<(String, usize)>, Error> {
        Ok(self.store()?.communities(limit)?)
    }

    /// What the daemon last did and will do next.
    pub fn status(&self) -> Result<Status, Error> {
        let config = self.config()?;
        let store = self.store()?;
        Ok(crate::status::read(
            &store,
            config.seeding.max_torrents,
            now(),
        )?)
    }
}
