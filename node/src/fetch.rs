//! Fetching posts and comments through the user's client: magnet links
//! with our trackers, watched until complete, then verified from the
//! client's own metainfo and the downloaded body.
//!
//! A read leaves nothing behind: unless the caller keeps it (an upvote),
//! a torrent this module added is removed with its data once read, or
//! once it fails. A torrent whose metadata announces more data than the
//! largest post is dropped as soon as its size is known.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use upseed_core::index::{Index, IndexError, MAX_INDEX_BODY};
use upseed_core::mute_list::{MAX_MUTE_LIST_LEN, MuteList, MuteListError};
use upseed_core::text::MAX_POST_BODY;
use upseed_core::{
    AddTorrent, Added, ClientError, InfoHash, Magnet, Metainfo, Record, Torrent, TorrentClient,
    TorrentState, TorrentStatus, VerifyError,
};

use crate::config::Config;
use crate::events::{Events, Task};

/// The tag on torrents fetched to be read, removed once read.
pub const READ_TAG: &str = "upseed-read";
/// The tag on torrents we upvoted.
pub const VOTE_TAG: &str = "upseed-vote";

/// Why one torrent could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Nobody delivered it in time.
    #[error(
        "{infohash} did not arrive within {seconds} s ({state}); nobody seeding it may be online: try again later or pass a longer --timeout"
    )]
    TimedOut {
        /// The torrent.
        infohash: InfoHash,
        /// How long we waited.
        seconds: u64,
        /// Where it got to.
        state: String,
    },
    /// The torrent is far larger than what was expected: not ours.
    #[error(
        "{infohash} holds {size} bytes, more than any {what} ({max}); it is not an upseed {what} and was removed"
    )]
    TooLarge {
        /// The torrent.
        infohash: InfoHash,
        /// Its size.
        size: u64,
        /// What was expected.
        what: &'static str,
        /// The largest that can be.
        max: u64,
    },
    /// The metainfo or body does not verify.
    #[error("{infohash} is not a valid upseed post or comment: {reason}")]
    Invalid {
        /// The torrent.
        infohash: InfoHash,
        /// Why (in the message, so not a source: it would print twice).
        reason: VerifyError,
    },
    /// The metainfo or body is not a valid outbox index.
    #[error("{infohash} is not a valid outbox index: {reason}")]
    InvalidIndex {
        /// The torrent.
        infohash: InfoHash,
        /// Why (in the message, so not a source: it would print twice).
        reason: IndexError,
    },
    /// The metainfo or body is not a valid mute list.
    #[error("{infohash} is not a valid mute list: {reason}")]
    InvalidMuteList {
        /// The torrent.
        infohash: InfoHash,
        /// Why (in the message, so not a source: it would print twice).
        reason: MuteListError,
    },
    /// A file the client wrote cannot be read here.
    #[error(
        "cannot read {path} ({reason}), which the client reported for {infohash}; if the client runs elsewhere, map its folders in [paths]"
    )]
    Unreadable {
        /// The torrent.
        infohash: InfoHash,
        /// The local path tried.
        path: String,
        /// The IO error.
        reason: String,
    },
    /// The client reported a file outside upseed's folders.
    #[error(
        "the client reported {path} for {infohash}, outside upseed's downloads and posts folders; upseed reads nothing there. If the client sees the folders elsewhere, map them in [paths]"
    )]
    Outside {
        /// The torrent.
        infohash: InfoHash,
        /// The local path it named.
        path: String,
    },
    /// The client holds it outside upseed's category, so upseed leaves it alone.
    #[error(
        "the client already has {infohash} outside upseed's category; upseed does not touch it"
    )]
    NotOurs {
        /// The torrent.
        infohash: InfoHash,
    },
    /// The client vanished or refused.
    #[error(transparent)]
    Client(#[from] ClientError),
}

impl FetchError {
    /// Whether the torrent proved not to be an upseed record, so that it
    /// need not be tried again.
    pub fn is_foreign(&self) -> bool {
        matches!(
            self,
            Self::TooLarge { .. }
                | Self::Invalid { .. }
                | Self::InvalidIndex { .. }
                | Self::InvalidMuteList { .. }
        )
    }
}

/// What a fetch reads: a record, or a version of an outbox index.
pub trait Readable: Sized {
    /// What it is, in messages.
    const WHAT: &'static str;
    /// The largest body it may have; a larger torrent is dropped as soon
    /// as its size is known.
    const MAX_SIZE: u64;
    /// Verifies the client's metainfo and the downloaded body.
    fn verify(
        infohash: InfoHash,
        metainfo: &[u8],
        body: &[u8],
        now: u64,
    ) -> Result<Self, FetchError>;
    /// Its infohash, which must be the one asked for.
    fn infohash(&self) -> InfoHash;
}

impl Readable for Record {
    const WHAT: &'static str = "post";
    const MAX_SIZE: u64 = MAX_POST_BODY as u64;

    fn verify(
        infohash: InfoHash,
        metainfo: &[u8],
        body: &[u8],
        now: u64,
    ) -> Result<Self, FetchError> {
        let invalid = |reason| FetchError::Invalid { infohash, reason };
        Torrent::parse(metainfo, now)
            .and_then(|t| t.record.with_body(body))
            .map_err(invalid)
    }

    fn infohash(&self) -> InfoHash {
        Self::infohash(self)
    }
}

impl Readable for Index {
    const WHAT: &'static str = "outbox index";
    const MAX_SIZE: u64 = MAX_INDEX_BODY as u64;

    fn verify(
        infohash: InfoHash,
        metainfo: &[u8],
        body: &[u8],
        now: u64,
    ) -> Result<Self, FetchError> {
        Self::verify(metainfo, body, now)
            .map_err(|reason| FetchError::InvalidIndex { infohash, reason })
    }

    fn infohash(&self) -> InfoHash {
        Self::infohash(self)
    }
}

impl Readable for MuteList {
    const WHAT: &'static str = "mute list";
    const MAX_SIZE: u64 = MAX_MUTE_LIST_LEN as u64;

    fn verify(
        infohash: InfoHash,
        metainfo: &[u8],
        body: &[u8],
        now: u64,
    ) -> Result<Self, FetchError> {
        Self::verify_torrent(metainfo, body, now)
            .map_err(|reason| FetchError::InvalidMuteList { infohash, reason })
    }

    fn infohash(&self) -> InfoHash {
        Self::infohash(self)
    }
}

/// What to fetch and how.
pub struct Fetch<'a, C> {
    /// The user's client.
    pub client: &'a C,
    /// The config: trackers, downloads folder, path mapping.
    pub config: &'a Config,
    /// Keep seeding what was fetched (an upvote) instead of removing it.
    pub keep: bool,
    /// Give up on a torrent after this long.
    pub timeout: Duration,
    /// The time, for verification.
    pub now: u64,
    /// Where progress goes.
    pub events: Events,
}

/// One torrent being watched.
struct Pending {
    /// We added it, so we remove it unless kept.
    added: bool,
}

impl<'a, C: TorrentClient> Fetch<'a, C> {
    /// Fetches to read, not to seed, reporting no progress: what discovery does.
    pub fn quiet(client: &'a C, config: &'a Config, timeout: Duration, now: u64) -> Self {
        Self {
            client,
            config,
            keep: false,
            timeout,
            now,
            events: Events::none(),
        }
    }

    /// Fetches `hashes` together, returning each one's outcome in order.
    /// Fails as a whole only when the client cannot be used at all.
    pub async fn run<T: Readable>(
        &self,
        hashes: &[InfoHash],
    ) -> Result<Vec<(InfoHash, Result<T, FetchError>)>, ClientError> {
        let mut outcomes: HashMap<InfoHash, Result<T, FetchError>> = HashMap::new();
        let mut pending: HashMap<InfoHash, Pending> = HashMap::new();
        let unique: Vec<InfoHash> = {
            let mut seen = HashSet::new();
            hashes.iter().copied().filter(|h| seen.insert(*h)).collect()
        };
        let held: HashSet<InfoHash> = self
            .client
            .list(Some(&unique))
            .await?
            .iter()
            .map(|t| t.infohash)
            .collect();
        let tag = if self.keep { VOTE_TAG } else { READ_TAG };
        let adds: Vec<AddTorrent> = unique
            .iter()
            .filter(|h| !held.contains(h))
            .map(|h| {
                let magnet = Magnet {
                    infohash: *h,
                    name: None,
                    trackers: self.config.trackers.urls.clone(),
                };
                AddTorrent::from_magnet(
                    magnet,
                    self.config.client_path(&own_folder(self.config, *h)),
                )
                .with_tags([tag])
            })
            .collect();
        let added = self.client.add(&adds).await?;
        for (add, how) in adds.iter().zip(added) {
            pending.insert(
                add.infohash,
                Pending {
                    added: how == Added::New,
                },
            );
        }
        for hash in &held {
            pending.insert(*hash, Pending { added: false });
            if self.keep {
                self.client
                    .add_tags(&[*hash], &[VOTE_TAG.to_owned()])
                    .await?;
            }
        }

        let task = self.events.task(Task::Fetch, Some(unique.len()));
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut pause = Duration::from_millis(100);
        let mut last: HashMap<InfoHash, TorrentStatus> = HashMap::new();
        while !pending.is_empty() {
            let waiting: Vec<InfoHash> = pending.keys().copied().collect();
            let listed = self.client.list(Some(&waiting)).await?;
            let listed: HashMap<InfoHash, TorrentStatus> =
                listed.into_iter().map(|t| (t.infohash, t)).collect();
            for hash in waiting {
                let Some(status) = listed.get(&hash) else {
                    pending.remove(&hash);
                    outcomes.insert(hash, Err(FetchError::NotOurs { infohash: hash }));
                    continue;
                };
                if let Some(size) = status.size.filter(|s| *s > T::MAX_SIZE) {
                    outcomes.insert(
                        hash,
                        Err(FetchError::TooLarge {
                            infohash: hash,
                            size,
                            what: T::WHAT,
                            max: T::MAX_SIZE,
                        }),
                    );
                } else if status.progress >= 1.0
                    && status.size.is_some()
                    && !matches!(status.state, TorrentState::Checking)
                {
                    outcomes.insert(hash, self.read(status).await);
                } else {
                    last.insert(hash, status.clone());
                    continue;
                }
                if let Some(done) = pending.remove(&hash) {
                    let failed = outcomes.get(&hash).is_some_and(Result::is_err);
                    if done.added && (!self.keep || failed) {
                        self.drop_read(status).await?;
                    }
                }
                task.advance(1);
            }
            task.status(describe(&last, &pending));
            if pending.is_empty() {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                for (hash, state) in pending.drain() {
                    if state.added
                        && let Some(status) = self.client.list(Some(&[hash])).await?.first()
                    {
                        self.drop_read(status).await?;
                    }
                    let where_ = last
                        .get(&hash)
                        .map_or_else(|| "not started".to_owned(), state_words);
                    outcomes.insert(
                        hash,
                        Err(FetchError::TimedOut {
                            infohash: hash,
                            seconds: self.timeout.as_secs(),
                            state: where_,
                        }),
                    );
                }
                break;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
        drop(task);
        Ok(unique
            .into_iter()
            .filter_map(|h| outcomes.remove(&h).map(|o| (h, o)))
            .collect())
    }

    /// Removes a torrent this fetch added, unless a concurrent upvote
    /// tagged it meanwhile (then it stays, to seed). Its data goes only
    /// from its own folder (see [`remove`]).
    async fn drop_read(&self, status: &TorrentStatus) -> Result<(), ClientError> {
        if !self.keep && status.tags.iter().any(|t| t == VOTE_TAG) {
            return Ok(());
        }
        remove(self.client, self.config, std::slice::from_ref(status)).await
    }

    /// Fetches one torrent.
    pub async fn one<T: Readable>(&self, hash: InfoHash) -> Result<T, FetchError> {
        match self.run(&[hash]).await?.into_iter().next() {
            Some((_, outcome)) => outcome,
            None => Err(FetchError::Client(ClientError::Invalid(format!(
                "the client did not report {hash}; retry"
            )))),
        }
    }

    /// Reads and verifies a complete torrent from the client's metainfo and
    /// the body on disk.
    async fn read<T: Readable>(&self, status: &TorrentStatus) -> Result<T, FetchError> {
        let infohash = status.infohash;
        let metainfo = match self.client.metainfo(infohash).await? {
            Some(Metainfo::Bytes(bytes)) => bytes,
            Some(Metainfo::File(path)) => {
                self.read_file(infohash, &path, upseed_core::MAX_TORRENT_LEN as u64, false)?
            }
            None => {
                return Err(FetchError::Client(ClientError::Invalid(format!(
                    "the client lists {infohash} as complete but has no metainfo for it; retry"
                ))));
            }
        };
        let body = self.read_file(infohash, &status.content_path, T::MAX_SIZE, true)?;
        let read = T::verify(infohash, &metainfo, &body, self.now)?;
        if read.infohash() != infohash {
            return Err(FetchError::Client(ClientError::Invalid(format!(
                "the client returned the metainfo of {} for {infohash}",
                read.infohash()
            ))));
        }
        Ok(read)
    }

    /// Reads a file the client reported, as upseed sees it: a regular
    /// file (no symlink, device or FIFO) of at most `cap` bytes and, when
    /// `confined`, inside upseed's downloads or posts folder.
    fn read_file(
        &self,
        infohash: InfoHash,
        client_path: &str,
        cap: u64,
        confined: bool,
    ) -> Result<Vec<u8>, FetchError> {
        let path = self.config.local_path(client_path);
        let unreadable = |reason: String| FetchError::Unreadable {
            infohash,
            path: path.display().to_string(),
            reason,
        };
        if confined {
            let real = path.canonicalize().map_err(|e| unreadable(e.to_string()))?;
            let inside = [&self.config.posts.downloads, &self.config.posts.dir]
                .iter()
                .filter_map(|d| d.canonicalize().ok())
                .any(|d| real.starts_with(d));
            if !inside {
                return Err(FetchError::Outside {
                    infohash,
                    path: path.display().to_string(),
                });
            }
        }
        crate::files::read_regular(&path, cap).map_err(|e| unreadable(e.to_string()))
    }
}

/// The folder a fetched torrent is saved in, as upseed sees it:
/// `downloads/<infohash>`. Each torrent has its own, so that no torrent,
/// whatever name its metadata gives its file, shares a file with another.
pub fn own_folder(config: &Config, hash: InfoHash) -> std::path::PathBuf {
    config.posts.downloads.join(hash.to_hex())
}

/// Whether the client saves `status`'s data in the torrent's own folder.
pub fn in_own_folder(config: &Config, status: &TorrentStatus) -> bool {
    let own = config.client_path(&own_folder(config, status.infohash));
    status.save_path.trim_end_matches('/') == own.trim_end_matches('/')
}

/// Removes torrents from the client. Data is deleted only for a torrent
/// saved in its own folder (see [`own_folder`]): a torrent anywhere else
/// may name the file of another (a hostile torrent can reuse an upvoted
/// post's file name), so it is removed and its data left alone.
pub async fn remove<C: TorrentClient>(
    client: &C,
    config: &Config,
    torrents: &[TorrentStatus],
) -> Result<(), ClientError> {
    let (own, shared): (Vec<&TorrentStatus>, Vec<&TorrentStatus>) =
        torrents.iter().partition(|t| in_own_folder(config, t));
    let hashes = |ts: &[&TorrentStatus]| ts.iter().map(|t| t.infohash).collect::<Vec<_>>();
    if !own.is_empty() {
        client.remove(&hashes(&own), true).await?;
        for t in &own {
            // Best effort: the client may still be deleting the file.
            let _ = std::fs::remove_dir(own_folder(config, t.infohash));
        }
    }
    if !shared.is_empty() {
        client.remove(&hashes(&shared), false).await?;
    }
    Ok(())
}

fn state_words(status: &TorrentStatus) -> String {
    match &status.state {
        TorrentState::FetchingMetadata => "still fetching the metadata: no peer answered".into(),
        TorrentState::Downloading => format!("{:.0} % downloaded", status.progress * 100.0),
        TorrentState::QueuedToDownload => {
            "queued by the client; raise its active downloads limit".into()
        }
        TorrentState::Stopped => "stopped in the client".into(),
        TorrentState::Error(e) => format!("client error: {e}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

fn describe(
    last: &HashMap<InfoHash, TorrentStatus>,
    pending: &HashMap<InfoHash, Pending>,
) -> String {
    let metadata = pending
        .keys()
        .filter(|h| {
            last.get(h)
                .is_none_or(|s| matches!(s.state, TorrentState::FetchingMetadata))
        })
        .count();
    format!(
        "{metadata} waiting for metadata, {} downloading",
        pending.len() - metadata
    )
}
