//! [`FakeClient`]: an in-memory BitTorrent client, for fast tests of the
//! use cases with no daemon, and for what a real daemon cannot show on
//! demand (a client that goes away, a hostile swarm).
//!
//! Like a real client it holds torrents with tags, states and counts, and
//! writes a completed download's file into its save path. Its "swarm" is
//! what the test offers: a magnet link for an infohash nobody offers
//! never gets its metadata. It knows torrents, not posts.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use upseed_core::{
    AddTorrent, Added, ClientError, ClientInfo, ClientKind, InfoHash, Metainfo, QueueReport,
    Source, TorrentClient, TorrentState, TorrentStatus,
};

/// A config for a user whose files are all in `dir` (its posts and
/// downloads folders created), on a [`FakeClient`]: no trackers, the DHT
/// off, every other setting its default.
pub fn config(dir: &std::path::Path) -> crate::Config {
    use crate::config::{
        ClientSection, Config, DaemonSection, DhtSection, PathsSection, PostsSection,
        RetentionSection, SeedingSection, TrackersSection,
    };
    let posts = PostsSection {
        dir: dir.join("posts"),
        downloads: dir.join("downloads"),
    };
    for folder in [&posts.dir, &posts.downloads] {
        let _ = std::fs::create_dir_all(folder);
    }
    Config {
        client: ClientSection {
            kind: ClientKind::Qbittorrent,
            url: url::Url::parse("http://fake.invalid/").expect("a fixed, valid URL"),
            username: None,
            password_file: None,
            category: "upseed".into(),
        },
        posts,
        paths: PathsSection::default(),
        trackers: TrackersSection::default(),
        retention: RetentionSection::default(),
        seeding: SeedingSection::default(),
        daemon: DaemonSection::default(),
        dht: DhtSection {
            enabled: false,
            ..DhtSection::default()
        },
        trust: crate::config::TrustSection::default(),
        verify: crate::config::VerifySection::default(),
        engine: crate::config::EngineSection::default(),
    }
}

/// What peers can deliver for one infohash.
#[derive(Debug, Clone)]
struct Offer {
    metainfo: Vec<u8>,
    name: String,
    body: Vec<u8>,
    /// The size the metadata claims, when it lies about the body.
    size: u64,
}

/// One torrent the client holds.
#[derive(Debug, Clone)]
struct Held {
    status: TorrentStatus,
    metainfo: Option<Vec<u8>>,
    /// List calls left before a magnet's download completes.
    polls_left: u32,
    /// The content path reported instead of the real one: a lying client.
    lie: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    held: BTreeMap<InfoHash, Held>,
    swarm: HashMap<InfoHash, Offer>,
    down: bool,
    refusing: bool,
    requests: u64,
    adds: Vec<AddTorrent>,
    removed: Vec<(InfoHash, bool)>,
    polls_to_complete: u32,
    queueing: Option<QueueReport>,
    lies: HashMap<InfoHash, String>,
    feeds: Vec<(String, String)>,
    /// Torrents the user added by hand, outside our category.
    outsiders: BTreeMap<InfoHash, Held>,
    /// The program run when a torrent completes.
    hook: Option<String>,
}

/// An in-memory client. Clones share one state.
#[derive(Debug, Clone, Default)]
pub struct FakeClient {
    state: Arc<Mutex<State>>,
}

impl FakeClient {
    /// An empty client, up, with an empty swarm.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Peers deliver this torrent: its .torrent bytes and its one file.
    pub fn offer(&self, torrent: &[u8], body: &[u8]) {
        let Some((name, size)) = upseed_core::single_file(torrent) else {
            return;
        };
        let Ok(add) = AddTorrent::from_torrent(torrent.to_vec(), "/") else {
            return;
        };
        self.state().swarm.insert(
            add.infohash,
            Offer {
                metainfo: torrent.to_vec(),
                name,
                body: body.to_vec(),
                size,
            },
        );
    }

    /// A magnet's download completes after this many list calls (0: at
    /// the first).
    pub fn set_download_polls(&self, polls: u32) {
        self.state().polls_to_complete = polls;
    }

    /// Reports `path` as the content path of `hash` once added, whatever
    /// the data's real place: a client whose answers are hostile.
    pub fn lie_about_path(&self, hash: InfoHash, path: &str) {
        self.state().lies.insert(hash, path.to_owned());
    }

    /// Every call fails as if the password were wrong, while `refusing`.
    pub fn set_refusing(&self, refusing: bool) {
        self.state().refusing = refusing;
    }

    /// The RSS feeds subscribed to, as (URL, name).
    pub fn feeds(&self) -> Vec<(String, String)> {
        self.state().feeds.clone()
    }

    /// Every call fails as if nothing answered, while `down`.
    pub fn set_down(&self, down: bool) {
        self.state().down = down;
    }

    /// The client queues torrents with these limits.
    pub fn set_queueing(&self, report: QueueReport) {
        self.state().queueing = Some(report);
    }

    /// Sets the swarm counts the client reports for `hash`.
    pub fn set_counts(&self, hash: InfoHash, seeders: u32, completed: u32) {
        if let Some(held) = self.state().held.get_mut(&hash) {
            held.status.seeders = Some(seeders);
            held.status.leechers = Some(0);
            held.status.completed = Some(completed);
        }
    }

    /// What the client holds now.
    pub fn torrents(&self) -> Vec<TorrentStatus> {
        self.state()
            .held
            .values()
            .map(|h| h.status.clone())
            .collect()
    }

    /// Whether the client holds `hash`.
    pub fn holds(&self, hash: InfoHash) -> bool {
        self.state().held.contains_key(&hash)
    }

    /// Every torrent added so far, in order.
    pub fn adds(&self) -> Vec<AddTorrent> {
        self.state().adds.clone()
    }

    /// The user opens `torrent` in the client's own window, outside our
    /// category, and it completes: its one file, `body`, is saved in `dir`.
    pub fn user_added(&self, torrent: &[u8], body: &[u8], dir: &std::path::Path) {
        let Some((name, size)) = upseed_core::single_file(torrent) else {
            return;
        };
        let Ok(add) = AddTorrent::from_torrent(torrent.to_vec(), dir.display().to_string()) else {
            return;
        };
        let mut status = status(add.infohash, &add, name, Some(size));
        if std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&status.content_path, body))
            .is_err()
        {
            return;
        }
        status.state = TorrentState::Seeding;
        status.progress = 1.0;
        self.state().outsiders.insert(
            add.infohash,
            Held {
                status,
                metainfo: Some(torrent.to_vec()),
                polls_left: 0,
                lie: None,
            },
        );
    }

    /// The program the client runs when a torrent completes.
    pub fn hook(&self) -> Option<String> {
        self.state().hook.clone()
    }

    /// Every removal so far: the torrent, and whether its data went too.
    pub fn removals(&self) -> Vec<(InfoHash, bool)> {
        self.state().removed.clone()
    }

    fn call(&self) -> Result<MutexGuard<'_, State>, ClientError> {
        let mut state = self.state();
        state.requests += 1;
        if state.refusing {
            return Err(ClientError::unauthorized(
                ClientKind::Qbittorrent,
                "http://fake.invalid/",
            ));
        }
        if state.down {
            return Err(ClientError::Unreachable {
                client: ClientKind::Qbittorrent,
                url: "http://fake.invalid/".into(),
                reason: "the fake client is down".into(),
                hint: "the test brings it back",
            });
        }
        Ok(state)
    }
}

fn status(hash: InfoHash, add: &AddTorrent, name: String, size: Option<u64>) -> TorrentStatus {
    let content_path = format!("{}/{name}", add.save_path.trim_end_matches('/'));
    TorrentStatus {
        infohash: hash,
        name,
        state: TorrentState::FetchingMetadata,
        progress: 0.0,
        seeders: None,
        leechers: None,
        completed: None,
        tags: add.tags.clone(),
        save_path: add.save_path.clone(),
        content_path,
        size,
    }
}

/// Moves a magnet's download on by one list call: metadata, then the file.
fn progress(held: &mut Held, swarm: &HashMap<InfoHash, Offer>) {
    if held.status.progress >= 1.0 {
        return;
    }
    let Some(offer) = swarm.get(&held.status.infohash) else {
        return;
    };
    held.metainfo = Some(offer.metainfo.clone());
    held.status.name.clone_from(&offer.name);
    held.status.size = Some(offer.size);
    held.status.content_path = format!(
        "{}/{}",
        held.status.save_path.trim_end_matches('/'),
        offer.name
    );
    if held.polls_left > 0 {
        held.polls_left -= 1;
        held.status.state = TorrentState::Downloading;
        return;
    }
    let path = PathBuf::from(&held.status.content_path);
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&path, &offer.body));
    held.status.state = match written {
        Ok(()) => {
            held.status.progress = 1.0;
            TorrentState::Seeding
        }
        Err(e) => TorrentState::Error(format!("cannot write {}: {e}", path.display())),
    };
}

impl TorrentClient for FakeClient {
    async fn info(&self) -> Result<ClientInfo, ClientError> {
        drop(self.call()?);
        Ok(ClientInfo {
            kind: ClientKind::Qbittorrent,
            version: "fake".into(),
            api_version: "0".into(),
            tags_on_add: true,
            skip_check: true,
            incremental_sync: false,
        })
    }

    async fn add(&self, torrents: &[AddTorrent]) -> Result<Vec<Added>, ClientError> {
        AddTorrent::check_paths(torrents, ClientKind::Qbittorrent)?;
        let mut state = self.call()?;
        let mut out = Vec::new();
        // A queue that allows this many seeding torrents holds back the rest.
        let room = state
            .queueing
            .as_ref()
            .filter(|q| q.queueing)
            .and_then(|q| q.max_active_uploads)
            .and_then(|n| usize::try_from(n).ok());
        for add in torrents {
            state.adds.push(add.clone());
            let seeding = state
                .held
                .values()
                .filter(|h| h.status.state.is_seeding())
                .count();
            if state.held.contains_key(&add.infohash) {
                out.push(Added::AlreadyPresent);
                continue;
            }
            let polls_left = state.polls_to_complete;
            let held = match &add.source {
                Source::Torrent(bytes) => {
                    let (name, size) =
                        upseed_core::single_file(bytes).ok_or_else(|| ClientError::Rejected {
                            client: ClientKind::Qbittorrent,
                            infohash: add.infohash,
                            reason: "not a single-file torrent".into(),
                        })?;
                    let mut status = status(add.infohash, add, name, Some(size));
                    let present =
                        std::fs::metadata(&status.content_path).is_ok_and(|m| m.len() == size);
                    if present {
                        status.state = if room.is_some_and(|n| seeding >= n) {
                            TorrentState::QueuedToSeed
                        } else {
                            TorrentState::Seeding
                        };
                        status.progress = 1.0;
                    } else {
                        status.state = TorrentState::Error("no data found".into());
                    }
                    Held {
                        status,
                        metainfo: Some(bytes.clone()),
                        polls_left,
                        lie: None,
                    }
                }
                Source::Magnet(_) => Held {
                    status: status(add.infohash, add, add.infohash.to_hex(), None),
                    metainfo: None,
                    polls_left,
                    lie: state.lies.get(&add.infohash).cloned(),
                },
            };
            state.held.insert(add.infohash, held);
            out.push(Added::New);
        }
        Ok(out)
    }

    async fn list(&self, hashes: Option<&[InfoHash]>) -> Result<Vec<TorrentStatus>, ClientError> {
        let mut state = self.call()?;
        let State { held, swarm, .. } = &mut *state;
        let mut out = Vec::new();
        for (hash, torrent) in held.iter_mut() {
            if hashes.is_none_or(|h| h.contains(hash)) {
                progress(torrent, swarm);
                let mut status = torrent.status.clone();
                if let Some(lie) = &torrent.lie {
                    status.content_path.clone_from(lie);
                }
                out.push(status);
            }
        }
        Ok(out)
    }

    async fn remove(&self, hashes: &[InfoHash], delete_data: bool) -> Result<(), ClientError> {
        let mut state = self.call()?;
        for hash in hashes {
            if let Some(held) = state.held.remove(hash) {
                state.removed.push((*hash, delete_data));
                if delete_data && held.status.progress > 0.0 {
                    let _ = std::fs::remove_file(&held.status.content_path);
                }
            }
        }
        Ok(())
    }

    async fn add_tags(&self, hashes: &[InfoHash], tags: &[String]) -> Result<(), ClientError> {
        let mut state = self.call()?;
        for hash in hashes {
            if let Some(held) = state.held.get_mut(hash) {
                for tag in tags {
                    if !held.status.tags.contains(tag) {
                        held.status.tags.push(tag.clone());
                    }
                }
            }
        }
        Ok(())
    }

    async fn remove_tags(&self, hashes: &[InfoHash], tags: &[String]) -> Result<(), ClientError> {
        let mut state = self.call()?;
        for hash in hashes {
            if let Some(held) = state.held.get_mut(hash) {
                held.status.tags.retain(|t| !tags.contains(t));
            }
        }
        Ok(())
    }

    async fn queue_report(&self) -> Result<QueueReport, ClientError> {
        let state = self.call()?;
        Ok(state.queueing.clone().unwrap_or(QueueReport {
            queueing: false,
            max_active_uploads: None,
            max_active_torrents: None,
        }))
    }

    async fn metainfo(&self, hash: InfoHash) -> Result<Option<Metainfo>, ClientError> {
        let state = self.call()?;
        Ok(state
            .held
            .get(&hash)
            .and_then(|h| h.metainfo.clone())
            .map(Metainfo::Bytes))
    }

    async fn announce_now(&self, _hashes: &[InfoHash]) -> Result<(), ClientError> {
        self.call().map(drop)
    }

    async fn subscribe_rss(&self, url: &str, name: &str) -> Result<(), ClientError> {
        let mut state = self.call()?;
        let feed = (url.to_owned(), name.to_owned());
        if !state.feeds.contains(&feed) {
            state.feeds.push(feed);
        }
        Ok(())
    }

    async fn force_start(&self, _hashes: &[InfoHash]) -> Result<(), ClientError> {
        self.call().map(drop)
    }

    async fn any_torrent(
        &self,
        hash: InfoHash,
    ) -> Result<Option<(TorrentStatus, Option<Metainfo>)>, ClientError> {
        let state = self.call()?;
        Ok(state
            .held
            .get(&hash)
            .or_else(|| state.outsiders.get(&hash))
            .map(|h| (h.status.clone(), h.metainfo.clone().map(Metainfo::Bytes))))
    }

    async fn claim(&self, hash: InfoHash, tags: &[String]) -> Result<(), ClientError> {
        let mut state = self.call()?;
        if let Some(mut held) = state.outsiders.remove(&hash) {
            held.status.tags.extend(tags.iter().cloned());
            state.held.insert(hash, held);
        }
        Ok(())
    }

    async fn completion_hook(&self) -> Result<Option<String>, ClientError> {
        Ok(self.call()?.hook.clone())
    }

    async fn set_completion_hook(&self, program: &str) -> Result<(), ClientError> {
        self.call()?.hook = Some(program.to_owned());
        Ok(())
    }

    fn requests_sent(&self) -> u64 {
        self.state().requests
    }
}
