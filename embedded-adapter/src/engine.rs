//! The engine itself: a librqbit session in upseed's data folder, driven
//! through [`TorrentClient`] like any other client.

use std::collections::HashMap;
use std::fs::File;
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use librqbit::api::TorrentIdOrHash;
use librqbit::dht::Id20;
use librqbit::{
    AddTorrentOptions, AddTorrentResponse, ListenerMode, ListenerOptions, ManagedTorrent, Session,
    SessionOptions, TorrentStatsState,
};
use upseed_core::announce::Event;
use upseed_core::{
    AddTorrent, Added, ClientError, ClientInfo, ClientKind, InfoHash, Magnet, Metainfo,
    QueueReport, Source, TorrentClient, TorrentState, TorrentStatus,
};

use crate::config::{EngineConfig, Gate};
use crate::error::EngineError;
use crate::peer_dht::PeerDht;
use crate::seeded::{Saved, Seeded};
use crate::tags::Tags;
use crate::tracker;

/// How often everything seeded is announced to the DHT again: its nodes
/// forget a peer after about half an hour.
const REANNOUNCE: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// How long the first attempt at a magnet link's metadata may take; each
/// later one waits twice as long, up to [`RESOLVE_LONGEST_WAIT`].
const RESOLVE_FIRST_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// The longest one attempt at a magnet link's metadata may take.
const RESOLVE_LONGEST_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// How often a download is looked at for its completion.
const COMPLETION_POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// The longest a stop spends telling trackers the engine leaves.
const FAREWELL: std::time::Duration = std::time::Duration::from_secs(5);

/// How long one DHT lookup for a magnet link's peers may take.
const LOOKUP: std::time::Duration = std::time::Duration::from_secs(10);

const KIND: ClientKind = ClientKind::Embedded;

/// The embedded engine: cheap to clone, every clone the same session.
#[derive(Clone)]
pub struct Embedded {
    inner: Arc<Inner>,
}

struct Inner {
    session: Arc<Session>,
    /// What the engine seeds, saved for the next start.
    seeded: Seeded,
    tags: Mutex<Tags>,
    /// Magnet links whose metadata has not been let in yet.
    pending: Mutex<HashMap<InfoHash, Pending>>,
    /// The next torrent id: librqbit's own is handed out twice to adds
    /// that run at once, and the second is then taken for a torrent
    /// already there.
    next_id: std::sync::atomic::AtomicUsize,
    gate: Option<Gate>,
    config: EngineConfig,
    /// This engine's peer id and port, as trackers know them.
    peer: tracker::Peer,
    /// The DHT node that finds peers, when the config has one.
    dht: Option<PeerDht>,
    /// The task that announces everything again, now and then.
    reannounce: Mutex<Option<tokio::task::AbortHandle>>,
    /// Held for the engine's life: one process per data folder.
    _lock: File,
}

/// Why one attempt at a magnet link's metadata came to nothing.
enum Resolve {
    /// No peer gave it (yet): try again with the next peers found.
    Failed(String),
    /// It came and was refused, by the gate or by librqbit: final.
    Refused(String),
}

/// A magnet link being resolved, or refused once resolved.
struct Pending {
    name: String,
    save_path: String,
    /// The magnet's trackers, told of this engine while it resolves.
    trackers: Vec<url::Url>,
    refused: Option<String>,
    task: tokio::task::AbortHandle,
}

impl std::fmt::Debug for Embedded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedded")
            .field("state_dir", &self.inner.config.state_dir)
            .field("listen", &self.listen_addr())
            .finish_non_exhaustive()
    }
}

impl Embedded {
    /// Starts the engine: takes the folder's lock, resumes every torrent
    /// saved there, and listens for peers.
    pub async fn start(config: EngineConfig) -> Result<Self, EngineError> {
        let dir = &config.state_dir;
        let state_error = |e: std::io::Error| EngineError::StateDir {
            path: dir.clone(),
            reason: e.to_string(),
        };
        create_private_dir(dir).map_err(state_error)?;
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("engine.lock"))
            .map_err(state_error)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(EngineError::Held { path: dir.clone() });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(state_error(e)),
        }
        // Bind here first: librqbit's own error for a taken port is a bare
        // "address in use", and for port 0 the port it picks is needed for
        // the announce (librqbit announces none for a loopback address).
        let listen = TcpListener::bind(config.listen)
            .and_then(|l| l.local_addr())
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AddrInUse => EngineError::PortInUse {
                    port: config.listen.port(),
                },
                _ => EngineError::Start {
                    reason: format!("cannot listen on {}: {e}", config.listen),
                },
            })?;
        // librqbit keeps each torrent's file open while it seeds, and a
        // soft limit of 1,024 open files (a common default) would refuse
        // every post past the thousandth: raise it to the hard limit.
        match librqbit::try_increase_nofile_limit() {
            Ok(limit) => tracing::debug!(limit, "open files allowed"),
            Err(e) => tracing::warn!(
                "cannot raise the open-file limit ({e:#}); past it, new torrents fail to open their files: raise `ulimit -n`"
            ),
        }
        let ipv4 = config.listen.is_ipv4();
        let bind = match config.listen.ip() {
            std::net::IpAddr::V4(ip) if !ip.is_unspecified() => Some(ip),
            _ => None,
        };
        let dht = config
            .dht
            .as_ref()
            .map(|d| PeerDht::start(d, bind))
            .transpose()?;
        let peer = tracker::Peer {
            peer_id: librqbit::generate_azereus_style(*b"US", (0, 1, 0, 0)).0,
            port: listen.port(),
        };
        let options = SessionOptions {
            dht: None,
            peer_id: Some(Id20::new(peer.peer_id)),
            // The engine keeps its torrents itself (see `seeded.rs`).
            persistence: None,
            fastresume: false,
            listen: Some(ListenerOptions {
                mode: ListenerMode::TcpOnly,
                listen_addr: listen,
                announce_port: Some(listen.port()),
                ipv4_only: ipv4,
                ..ListenerOptions::default()
            }),
            disable_local_service_discovery: true,
            // librqbit checks 3 new torrents at a time by default: ten
            // thousand tiny posts would wait minutes to start seeding.
            concurrent_init_limit: Some(config.add_concurrency.max(1)),
            ipv4_only: ipv4,
            client_name_and_version: Some(format!("upseed {}", env!("CARGO_PKG_VERSION"))),
            ..SessionOptions::default()
        };
        let session = Session::new_with_opts(dir.clone(), options)
            .await
            .map_err(|e| {
                let reason = format!("{e:#}");
                if reason.contains("in use") {
                    EngineError::PortInUse {
                        port: config.listen.port(),
                    }
                } else {
                    EngineError::Start { reason }
                }
            })?;
        let tags = Tags::load(dir.join("tags.json"));
        let seeded = Seeded::open(dir.join("torrents")).map_err(state_error)?;
        let saved = seeded.load().map_err(state_error)?;
        let engine = Self {
            inner: Arc::new(Inner {
                session,
                seeded,
                tags: Mutex::new(tags),
                pending: Mutex::new(HashMap::new()),
                next_id: std::sync::atomic::AtomicUsize::new(0),
                gate: config.gate.clone(),
                config,
                peer,
                dht,
                reannounce: Mutex::new(None),
                _lock: lock,
            }),
        };
        engine.restore(saved).await;
        if engine.inner.dht.is_some() {
            let again = engine.clone();
            let task = tokio::spawn(async move {
                loop {
                    again.announce_all().await;
                    tokio::time::sleep(REANNOUNCE).await;
                }
            });
            *lock_ignoring_poison(&engine.inner.reannounce) = Some(task.abort_handle());
        }
        Ok(engine)
    }

    /// Adds again every torrent saved by an earlier run. Each is checked
    /// (one small read) and seeds again; one that no longer adds is
    /// logged and left saved, so nothing is forgotten because of it.
    async fn restore(&self, saved: Vec<(InfoHash, Saved)>) {
        let limit = self.inner.config.add_concurrency.max(1);
        for chunk in saved.chunks(limit) {
            let mut adds = Vec::with_capacity(chunk.len());
            for (hash, saved) in chunk {
                adds.push(async move {
                    let added = self.add_bytes(*hash, saved, None).await;
                    match added {
                        Ok(_) => self.watch_completion(*hash, false),
                        Err(error) => {
                            tracing::warn!(%hash, %error, "a saved torrent did not start again");
                        }
                    }
                });
            }
            futures_util::future::join_all(adds).await;
        }
    }

    /// Adds a torrent from its metainfo, its data (whole, part or none)
    /// in its folder, announced to its metainfo's trackers and to its
    /// own.
    async fn add_bytes(
        &self,
        hash: InfoHash,
        torrent: &Saved,
        peers: Option<Vec<std::net::SocketAddr>>,
    ) -> Result<Added, ClientError> {
        let options = AddTorrentOptions {
            output_folder: Some(torrent.save_path.clone()),
            overwrite: true,
            preferred_id: Some(self.take_id()),
            initial_peers: peers,
            trackers: (!torrent.trackers.is_empty()).then(|| torrent.trackers.clone()),
            ..AddTorrentOptions::default()
        };
        let added = self
            .inner
            .session
            .add_torrent(
                librqbit::AddTorrent::from_bytes(torrent.metainfo.clone()),
                Some(options),
            )
            .await
            .map_err(|e| rejected(hash, &e))?;
        match added {
            AddTorrentResponse::AlreadyManaged(_, held) if held.info_hash() != id20(hash) => {
                Err(rejected(
                    hash,
                    &"librqbit gave its id to another torrent; add it again",
                ))
            }
            AddTorrentResponse::AlreadyManaged(..) => Ok(Added::AlreadyPresent),
            AddTorrentResponse::Added(id, held) if held.info_hash() != id20(hash) => {
                // Only a saved file renamed by hand gets here: what was
                // added is not what was asked for, so it does not stay.
                let other = held.info_hash().as_string();
                let _ = self
                    .inner
                    .session
                    .delete(TorrentIdOrHash::Id(id), false)
                    .await;
                Err(rejected(hash, &format!("its metainfo is for {other}")))
            }
            _ => {
                self.announce(hash);
                Ok(Added::New)
            }
        }
    }

    /// [`Self::add_bytes`], then saves a new torrent for the next start.
    async fn add_and_save(
        &self,
        hash: InfoHash,
        torrent: Saved,
        peers: Option<Vec<std::net::SocketAddr>>,
    ) -> Result<Added, ClientError> {
        let added = self.add_bytes(hash, &torrent, peers).await?;
        if added == Added::New {
            self.inner
                .seeded
                .save(hash, &torrent)
                .map_err(|e| self.unwritable("the torrents it seeds", &e))?;
        }
        Ok(added)
    }

    /// The error for state the engine cannot save.
    fn unwritable(&self, what: &str, error: &dyn std::fmt::Display) -> ClientError {
        ClientError::Invalid(format!(
            "cannot save {what} in the embedded engine's folder {} ({error}); check that it is writable",
            self.inner.config.state_dir.display()
        ))
    }

    /// Announces every torrent to the DHT, a few at a time.
    async fn announce_all(&self) {
        let (Some(dht), Some(port)) = (&self.inner.dht, self.port()) else {
            return;
        };
        let hashes: Vec<InfoHash> = self
            .handles()
            .iter()
            .map(|t| InfoHash::from_bytes(t.info_hash().0))
            .collect();
        let mut announces = Vec::with_capacity(hashes.len());
        for hash in hashes {
            announces.push(dht.announce(hash, port));
        }
        futures_util::future::join_all(announces).await;
    }

    /// Announces one torrent to the DHT, in the background.
    fn announce(&self, hash: InfoHash) {
        if let (Some(dht), Some(port)) = (self.inner.dht.clone(), self.port()) {
            tokio::spawn(async move { dht.announce(hash, port).await });
        }
    }

    fn port(&self) -> Option<u16> {
        self.inner
            .session
            .announce_port()
            .or_else(|| self.listen_addr().map(|a| a.port()))
    }

    /// The address peers reach this engine at.
    pub fn listen_addr(&self) -> Option<std::net::SocketAddr> {
        self.inner.session.listen_addr()
    }

    /// The engine's config.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// Stops every torrent and the session, telling their trackers (for
    /// at most 5 s), and keeping what is saved so that the next
    /// start seeds it all again.
    pub async fn stop(&self) {
        if let Some(task) = lock_ignoring_poison(&self.inner.reannounce).take() {
            task.abort();
        }
        let pending: Vec<(InfoHash, Pending)> = self.pending().drain().collect();
        let mut leaving: Vec<(InfoHash, Vec<url::Url>)> = Vec::new();
        for (hash, p) in pending {
            p.task.abort();
            leaving.push((hash, p.trackers));
        }
        leaving.extend(self.handles().iter().map(|t| {
            let trackers = t.shared().trackers.iter().cloned().collect();
            (InfoHash::from_bytes(t.info_hash().0), trackers)
        }));
        // librqbit says nothing to trackers as it stops: without this,
        // they would count this engine as a seeder for half an hour more.
        let farewell = async {
            let peer = self.inner.peer;
            for chunk in leaving.chunks(self.inner.config.add_concurrency.max(1)) {
                let mut stops = Vec::with_capacity(chunk.len());
                for (hash, trackers) in chunk.iter().filter(|(_, t)| !t.is_empty()) {
                    stops.push(tracker::announce(trackers, *hash, peer, Event::Stopped, 0));
                }
                futures_util::future::join_all(stops).await;
            }
        };
        if tokio::time::timeout(FAREWELL, farewell).await.is_err() {
            tracing::info!(
                "trackers were not all told this engine stopped within {FAREWELL:?}; they forget it at their timeout"
            );
        }
        self.inner.session.stop().await;
    }

    /// A torrent id no other torrent of this engine has had.
    fn take_id(&self) -> usize {
        self.inner
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    fn pending(&self) -> MutexGuard<'_, HashMap<InfoHash, Pending>> {
        lock_ignoring_poison(&self.inner.pending)
    }

    fn tags(&self) -> MutexGuard<'_, Tags> {
        lock_ignoring_poison(&self.inner.tags)
    }

    fn save_tags(&self, tags: &Tags) -> Result<(), ClientError> {
        tags.save().map_err(|e| self.unwritable("tags", &e))
    }

    fn handle(&self, hash: InfoHash) -> Option<Arc<ManagedTorrent>> {
        self.inner.session.get(TorrentIdOrHash::Hash(id20(hash)))
    }

    fn handles(&self) -> Vec<Arc<ManagedTorrent>> {
        self.inner
            .session
            .with_torrents(|all| all.map(|(_, t)| t.clone()).collect())
    }

    async fn add_one(&self, torrent: &AddTorrent) -> Result<Added, ClientError> {
        let hash = torrent.infohash;
        if self.handle(hash).is_some() || self.pending().contains_key(&hash) {
            return Ok(Added::AlreadyPresent);
        }
        match &torrent.source {
            Source::Torrent(bytes) => {
                let saved = Saved {
                    save_path: torrent.save_path.clone(),
                    metainfo: bytes.clone(),
                    trackers: Vec::new(),
                };
                self.add_and_save(hash, saved, None).await
            }
            Source::Magnet(magnet) => {
                let mut pending = self.pending();
                let engine = self.clone();
                // librqbit would announce the magnet's trackers itself
                // while it resolves, as a seeder (`left=0`): whatever an
                // add's options say, only a session-wide switch turns
                // that off. So it gets the bare infohash, the engine
                // announces with bytes left (`find_peers`), and the
                // trackers join the torrent once its metadata is in.
                let url = Magnet {
                    trackers: Vec::new(),
                    ..magnet.clone()
                }
                .to_string();
                let save_path = torrent.save_path.clone();
                let trackers: Vec<url::Url> = magnet
                    .trackers
                    .iter()
                    .filter_map(|t| url::Url::parse(t).ok())
                    .collect();
                let asked = trackers.clone();
                let task = tokio::spawn(async move {
                    engine.resolve(hash, url, asked, save_path).await;
                });
                pending.insert(
                    hash,
                    Pending {
                        name: magnet.name.clone().unwrap_or_else(|| hash.to_string()),
                        save_path: torrent.save_path.clone(),
                        trackers,
                        refused: None,
                        task: task.abort_handle(),
                    },
                );
                Ok(Added::New)
            }
        }
    }

    /// Fetches a magnet link's metadata without writing anything, lets it
    /// through the gate, then adds the torrent for its data.
    async fn resolve(
        &self,
        hash: InfoHash,
        url: String,
        trackers: Vec<url::Url>,
        save_path: String,
    ) {
        // Peers come from the engine's own announces and DHT lookups,
        // asked again before each attempt: librqbit would ask a magnet's
        // trackers once, as a seeder, and then wait out their interval
        // (see `tracker.rs`). Each attempt waits longer, until the
        // metadata arrives or the torrent is removed.
        let mut wait = RESOLVE_FIRST_WAIT;
        let outcome = loop {
            let peers = self.find_peers(hash, &trackers).await;
            // An attempt that ran out of time has waited already; one
            // with no peers, or whose peers all failed at once, waits.
            let mut timed_out = false;
            if !peers.is_empty() {
                let attempt = self.resolve_and_add(&url, &trackers, peers, &save_path);
                match tokio::time::timeout(wait, attempt).await {
                    Ok(Ok(())) => break Ok(()),
                    Ok(Err(Resolve::Refused(reason))) => break Err(reason),
                    Ok(Err(Resolve::Failed(reason))) => {
                        tracing::debug!(%hash, %reason, "no metadata from these peers yet");
                    }
                    Err(_) => timed_out = true,
                }
            }
            if !timed_out {
                tokio::time::sleep(wait).await;
            }
            wait = (wait * 2).min(RESOLVE_LONGEST_WAIT);
        };
        match outcome {
            Ok(()) => {
                self.pending().remove(&hash);
                self.announce(hash);
                // Fetched because the reader lacks it: complete is news,
                // however fast it came.
                self.watch_completion(hash, true);
            }
            Err(reason) => {
                tracker::announce(&trackers, hash, self.inner.peer, Event::Stopped, 0).await;
                if let Some(p) = self.pending().get_mut(&hash) {
                    tracing::info!(%hash, %reason, "refused a magnet link's torrent");
                    p.refused = Some(reason);
                }
            }
        }
    }

    /// Tells a downloading torrent's trackers when it completes, in the
    /// background: librqbit would say so only at its next announce, half
    /// an hour on, and until then they would count a reader who has the
    /// whole post (an upvote) as a leecher. Unless `fetched`, a torrent
    /// found complete at its first look is not announced; nor is one
    /// removed first.
    fn watch_completion(&self, hash: InfoHash, fetched: bool) {
        let engine = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut downloading = fetched;
            loop {
                // Only while the engine runs, and the torrent is in it.
                let Some(inner) = engine.upgrade() else {
                    return;
                };
                let Some(torrent) = inner.session.get(TorrentIdOrHash::Hash(id20(hash))) else {
                    return;
                };
                let stats = torrent.stats();
                match stats.state {
                    TorrentStatsState::Live if stats.finished => {
                        if downloading {
                            let trackers: Vec<url::Url> =
                                torrent.shared().trackers.iter().cloned().collect();
                            let peer = inner.peer;
                            drop((torrent, inner));
                            tracker::announce(&trackers, hash, peer, Event::Completed, 0).await;
                        }
                        return;
                    }
                    TorrentStatsState::Live => downloading = true,
                    TorrentStatsState::Error => return,
                    TorrentStatsState::Initializing { .. } | TorrentStatsState::Paused => {}
                }
                drop((torrent, inner));
                tokio::time::sleep(COMPLETION_POLL).await;
            }
        });
    }

    /// Peers that may have `hash`: from the DHT, and from `trackers`,
    /// told that this engine wants the torrent (bytes left, not a seed).
    async fn find_peers(&self, hash: InfoHash, trackers: &[url::Url]) -> Vec<std::net::SocketAddr> {
        let from_dht = async {
            match &self.inner.dht {
                Some(dht) => dht.peers(hash, LOOKUP).await,
                None => Vec::new(),
            }
        };
        let from_trackers = tracker::announce(trackers, hash, self.inner.peer, Event::Started, 1);
        let (mut peers, listed) = tokio::join!(from_dht, from_trackers);
        peers.extend(listed);
        peers.sort_unstable();
        peers.dedup();
        peers
    }

    async fn resolve_and_add(
        &self,
        url: &str,
        trackers: &[url::Url],
        peers: Vec<std::net::SocketAddr>,
        save_path: &str,
    ) -> Result<(), Resolve> {
        let session = &self.inner.session;
        let listed = session
            .add_torrent(
                librqbit::AddTorrent::from_url(url),
                Some(AddTorrentOptions {
                    list_only: true,
                    output_folder: Some(save_path.to_owned()),
                    initial_peers: Some(peers),
                    ..AddTorrentOptions::default()
                }),
            )
            .await
            .map_err(|e| Resolve::Failed(format!("{e:#}")))?;
        let AddTorrentResponse::ListOnly(listed) = listed else {
            return Ok(());
        };
        if let Some(gate) = &self.inner.gate {
            gate(&listed.torrent_bytes).map_err(Resolve::Refused)?;
        }
        let hash = InfoHash::from_bytes(listed.info_hash.0);
        let saved = Saved {
            save_path: save_path.to_owned(),
            metainfo: listed.torrent_bytes.to_vec(),
            trackers: trackers.iter().map(url::Url::to_string).collect(),
        };
        self.add_and_save(hash, saved, Some(listed.seen_peers))
            .await
            .map(|_| ())
            .map_err(|e| Resolve::Refused(e.to_string()))
    }

    fn status(&self, torrent: &ManagedTorrent) -> TorrentStatus {
        let hash = InfoHash::from_bytes(torrent.info_hash().0);
        let stats = torrent.stats();
        let state = match stats.state {
            TorrentStatsState::Initializing { .. } => TorrentState::Checking,
            TorrentStatsState::Paused => TorrentState::Stopped,
            TorrentStatsState::Error => {
                TorrentState::Error(stats.error.clone().unwrap_or_default())
            }
            TorrentStatsState::Live if stats.finished => TorrentState::Seeding,
            TorrentStatsState::Live => TorrentState::Downloading,
        };
        let folder = torrent.output_folder().to_path_buf();
        let content = torrent
            .with_metadata(|m| match m.file_infos.as_slice() {
                [one] => folder.join(&one.relative_filename),
                _ => folder.clone(),
            })
            .unwrap_or_else(|_| folder.clone());
        let progress = match stats.total_bytes {
            0 => 0.0,
            total => stats.progress_bytes as f64 / total as f64,
        };
        TorrentStatus {
            infohash: hash,
            name: torrent.name().unwrap_or_else(|| hash.to_string()),
            state,
            progress,
            seeders: None,
            leechers: None,
            completed: None,
            tags: self.tags().of(&hash),
            save_path: path_text(&folder),
            content_path: path_text(&content),
            size: Some(stats.total_bytes),
        }
    }

    fn pending_status(hash: InfoHash, pending: &Pending, tags: Vec<String>) -> TorrentStatus {
        TorrentStatus {
            infohash: hash,
            name: pending.name.clone(),
            state: match &pending.refused {
                Some(reason) => TorrentState::Error(reason.clone()),
                None => TorrentState::FetchingMetadata,
            },
            progress: 0.0,
            seeders: None,
            leechers: None,
            completed: None,
            tags,
            save_path: pending.save_path.clone(),
            content_path: pending.save_path.clone(),
            size: None,
        }
    }
}

impl TorrentClient for Embedded {
    async fn info(&self) -> Result<ClientInfo, ClientError> {
        Ok(ClientInfo {
            kind: KIND,
            version: format!("librqbit {LIBRQBIT}"),
            api_version: "1".into(),
            tags_on_add: true,
            skip_check: true,
            incremental_sync: false,
        })
    }

    async fn add(&self, torrents: &[AddTorrent]) -> Result<Vec<Added>, ClientError> {
        AddTorrent::check_paths(torrents, KIND)?;
        {
            let mut tags = self.tags();
            for t in torrents.iter().filter(|t| !t.tags.is_empty()) {
                tags.add(&[t.infohash], &t.tags);
            }
            self.save_tags(&tags)?;
        }
        let limit = self.inner.config.add_concurrency.max(1);
        let mut added = Vec::with_capacity(torrents.len());
        for chunk in torrents.chunks(limit) {
            let mut adds = Vec::with_capacity(chunk.len());
            for torrent in chunk {
                adds.push(self.add_one(torrent));
            }
            for outcome in futures_util::future::join_all(adds).await {
                added.push(outcome?);
            }
        }
        Ok(added)
    }

    async fn list(&self, hashes: Option<&[InfoHash]>) -> Result<Vec<TorrentStatus>, ClientError> {
        let asked: Option<std::collections::HashSet<InfoHash>> =
            hashes.map(|h| h.iter().copied().collect());
        let wanted = |hash: &InfoHash| asked.as_ref().is_none_or(|h| h.contains(hash));
        // The pending set is read first and held: a magnet that resolves
        // meanwhile is in the session before it leaves the set, so it is
        // listed once, one way or the other, never missed.
        let pending = self.pending();
        // One pass over the session: librqbit finds a torrent by hash
        // with a scan, which for each of many hashes would be quadratic.
        let mut out: Vec<TorrentStatus> = self
            .handles()
            .iter()
            .filter(|t| wanted(&InfoHash::from_bytes(t.info_hash().0)))
            .map(|t| self.status(t))
            .collect();
        let live: std::collections::HashSet<InfoHash> = out.iter().map(|s| s.infohash).collect();
        let tags = self.tags();
        out.extend(
            pending
                .iter()
                .filter(|(hash, _)| wanted(hash) && !live.contains(hash))
                .map(|(hash, p)| Self::pending_status(*hash, p, tags.of(hash))),
        );
        Ok(out)
    }

    async fn remove(&self, hashes: &[InfoHash], delete_data: bool) -> Result<(), ClientError> {
        for hash in hashes {
            let dropped = self.pending().remove(hash);
            if let Some(p) = dropped {
                p.task.abort();
                tracker::announce(&p.trackers, *hash, self.inner.peer, Event::Stopped, 0).await;
            }
            if let Some(torrent) = self.handle(*hash) {
                let trackers: Vec<url::Url> = torrent.shared().trackers.iter().cloned().collect();
                self.inner
                    .session
                    .delete(TorrentIdOrHash::Hash(id20(*hash)), delete_data)
                    .await
                    .map_err(|e| {
                        ClientError::Invalid(format!(
                            "the embedded engine could not remove {hash}: {e:#}"
                        ))
                    })?;
                tracker::announce(&trackers, *hash, self.inner.peer, Event::Stopped, 0).await;
            }
            self.inner
                .seeded
                .forget(*hash)
                .map_err(|e| self.unwritable("the torrents it seeds", &e))?;
        }
        let mut tags = self.tags();
        tags.forget(hashes);
        self.save_tags(&tags)
    }

    async fn add_tags(&self, hashes: &[InfoHash], tags: &[String]) -> Result<(), ClientError> {
        let mut saved = self.tags();
        saved.add(hashes, tags);
        self.save_tags(&saved)
    }

    async fn remove_tags(&self, hashes: &[InfoHash], tags: &[String]) -> Result<(), ClientError> {
        let mut saved = self.tags();
        saved.remove(hashes, tags);
        self.save_tags(&saved)
    }

    async fn queue_report(&self) -> Result<QueueReport, ClientError> {
        Ok(QueueReport {
            queueing: false,
            max_active_uploads: None,
            max_active_torrents: None,
        })
    }

    async fn metainfo(&self, hash: InfoHash) -> Result<Option<Metainfo>, ClientError> {
        Ok(self.handle(hash).and_then(|t| {
            t.metadata
                .load()
                .as_ref()
                .map(|m| Metainfo::Bytes(m.torrent_bytes.to_vec()))
        }))
    }

    async fn announce_now(&self, hashes: &[InfoHash]) -> Result<(), ClientError> {
        // librqbit announces when a torrent starts: a pause and a start
        // is an announce now, with no check in between.
        for t in hashes.iter().filter_map(|h| self.handle(*h)) {
            if t.is_paused() {
                continue;
            }
            let session = &self.inner.session;
            let restarted = match session.pause(&t).await {
                Ok(()) => session.unpause(&t).await,
                Err(e) => Err(e),
            };
            restarted.map_err(|e| {
                ClientError::Invalid(format!(
                    "the embedded engine could not restart {}: {e:#}",
                    t.info_hash().as_string()
                ))
            })?;
        }
        Ok(())
    }

    async fn force_start(&self, hashes: &[InfoHash]) -> Result<(), ClientError> {
        for t in hashes.iter().filter_map(|h| self.handle(*h)) {
            if t.is_paused() {
                self.inner.session.unpause(&t).await.map_err(|e| {
                    ClientError::Invalid(format!(
                        "the embedded engine could not start {}: {e:#}",
                        t.info_hash().as_string()
                    ))
                })?;
            }
        }
        Ok(())
    }

    async fn subscribe_rss(&self, _url: &str, _name: &str) -> Result<(), ClientError> {
        Err(ClientError::Unsupported {
            client: KIND,
            what: "follow an RSS feed (it has no RSS reader)",
            instead: "follow authors with `upseed follow`, which `upseed daemon` seeds by its [daemon] rules",
        })
    }

    async fn any_torrent(
        &self,
        hash: InfoHash,
    ) -> Result<Option<(TorrentStatus, Option<Metainfo>)>, ClientError> {
        let Some(status) = self.list(Some(&[hash])).await?.into_iter().next() else {
            return Ok(None);
        };
        Ok(Some((status, self.metainfo(hash).await?)))
    }

    async fn claim(&self, hash: InfoHash, tags: &[String]) -> Result<(), ClientError> {
        self.add_tags(&[hash], tags).await
    }

    async fn completion_hook(&self) -> Result<Option<String>, ClientError> {
        Ok(None)
    }

    async fn set_completion_hook(&self, _program: &str) -> Result<(), ClientError> {
        Err(ClientError::Unsupported {
            client: KIND,
            what: "run a program when a download completes",
            instead: "leave `upseed daemon` running: it holds the engine and sees completions itself",
        })
    }

    fn requests_sent(&self) -> u64 {
        0
    }
}

/// A torrent librqbit refused.
fn rejected(infohash: InfoHash, error: &dyn std::fmt::Display) -> ClientError {
    ClientError::Rejected {
        client: KIND,
        infohash,
        reason: format!("{error:#}"),
    }
}

fn lock_ignoring_poison<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn id20(hash: InfoHash) -> Id20 {
    Id20::new(*hash.as_bytes())
}

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The librqbit release this engine is built on (its Cargo.toml's).
const LIBRQBIT: &str = "9.1";

/// Creates `dir` and its parents, the last one readable only by this user.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    // A folder that can be listed but not written fails here, not later.
    let probe = dir.join(".write-check");
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}
