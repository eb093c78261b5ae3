//! The client trait: what upseed asks of a BitTorrent client, and the errors
//! every adapter reports in the same terms.
//!
//! Adapters know torrents, not posts: nothing here mentions records. The
//! trait is implemented over HTTP by `upseed-qbittorrent` and
//! `upseed-transmission`, and in process by `upseed-embedded`; this module
//! only declares it.

use std::fmt;
use std::future::Future;

use crate::{InfoHash, Magnet};

/// Which client an adapter drives.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ClientKind {
    /// qBittorrent, through its WebUI API v2.
    Qbittorrent,
    /// Transmission, through its RPC.
    Transmission,
    /// The engine inside upseed (librqbit), held by `upseed daemon` or
    /// `upseed serve`.
    Embedded,
}

impl fmt::Display for ClientKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Qbittorrent => "qBittorrent",
            Self::Transmission => "Transmission",
            Self::Embedded => "the embedded engine",
        })
    }
}

/// What a torrent is added from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The bytes of a .torrent file.
    Torrent(Vec<u8>),
    /// A magnet link; the client fetches the metadata from peers.
    Magnet(Magnet),
}

/// One torrent to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddTorrent {
    /// The torrent's infohash, by which adding is idempotent.
    pub infohash: InfoHash,
    /// Where it comes from.
    pub source: Source,
    /// Absolute folder, as the client sees it, that holds (or will hold) the data.
    pub save_path: String,
    /// Our tags or labels, besides the adapter's own category.
    pub tags: Vec<String>,
    /// The data is already complete on disk, written by us: the client may
    /// skip or shorten its hash check.
    pub data_present: bool,
}

impl AddTorrent {
    /// A torrent from .torrent bytes; the infohash is read from them.
    pub fn from_torrent(
        bytes: Vec<u8>,
        save_path: impl Into<String>,
    ) -> Result<Self, crate::BencodeError> {
        Ok(Self {
            infohash: crate::bencode::infohash_of_torrent(&bytes)?,
            source: Source::Torrent(bytes),
            save_path: save_path.into(),
            tags: Vec::new(),
            data_present: false,
        })
    }

    /// A torrent from a magnet link.
    pub fn from_magnet(magnet: Magnet, save_path: impl Into<String>) -> Self {
        Self {
            infohash: magnet.infohash,
            source: Source::Magnet(magnet),
            save_path: save_path.into(),
            tags: Vec::new(),
            data_present: false,
        }
    }

    /// Adds tags.
    #[must_use]
    pub fn with_tags<S: Into<String>>(mut self, tags: impl IntoIterator<Item = S>) -> Self {
        self.tags.extend(tags.into_iter().map(Into::into));
        self
    }

    /// Checks that every save path is absolute, as both clients require.
    pub fn check_paths(torrents: &[Self], client: ClientKind) -> Result<(), ClientError> {
        match torrents.iter().find(|t| !is_absolute(&t.save_path)) {
            Some(bad) => Err(ClientError::Invalid(format!(
                "the save path `{}` is not absolute; give {client} the full path as it sees it",
                bad.save_path
            ))),
            None => Ok(()),
        }
    }

    /// Marks the data as already complete on disk.
    #[must_use]
    pub fn with_data_present(mut self) -> Self {
        self.data_present = true;
        self
    }
}

/// A Unix path, or a Windows one with a drive letter.
fn is_absolute(path: &str) -> bool {
    path.starts_with('/') || path.get(1..3).is_some_and(|p| p == ":\\" || p == ":/")
}

/// How an add went, per torrent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// The client took the torrent.
    New,
    /// The client already had it; nothing changed.
    AlreadyPresent,
}

/// What a torrent is doing, in the same terms for every client.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case", tag = "state", content = "detail")]
pub enum TorrentState {
    /// Complete and announcing: peers can download from it.
    Seeding,
    /// Complete but held back by the client's queue: it does not seed.
    QueuedToSeed,
    /// Fetching data.
    Downloading,
    /// Fetching the metadata of a magnet link.
    FetchingMetadata,
    /// Waiting in the download queue.
    QueuedToDownload,
    /// Checking data against its hashes.
    Checking,
    /// Stopped by the user or the client.
    Stopped,
    /// The client reports an error, such as missing files.
    Error(String),
    /// A state this adapter does not know, with the client's own name.
    Other(String),
}

impl TorrentState {
    /// Whether peers can download from us right now.
    pub fn is_seeding(&self) -> bool {
        matches!(self, Self::Seeding)
    }
}

/// One torrent as the client reports it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct TorrentStatus {
    /// The v1 infohash.
    pub infohash: InfoHash,
    /// The torrent's name.
    pub name: String,
    /// What it is doing.
    pub state: TorrentState,
    /// Fraction downloaded, 0.0 to 1.0.
    pub progress: f64,
    /// Seeders in the swarm, from the client's last tracker answer, if known.
    pub seeders: Option<u32>,
    /// Leechers in the swarm, if known.
    pub leechers: Option<u32>,
    /// Completed downloads ever, if the tracker said.
    pub completed: Option<u32>,
    /// Its tags or labels.
    pub tags: Vec<String>,
    /// The folder holding its data, as the client sees it.
    pub save_path: String,
    /// The data's path (for a single-file torrent, the file), as the client sees it.
    pub content_path: String,
    /// The total size of the data in bytes, once the metadata is known.
    pub size: Option<u64>,
}

/// Where a torrent's metainfo (the .torrent file) can be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Metainfo {
    /// The client returned the bytes.
    Bytes(Vec<u8>),
    /// The client keeps the file at this path, as the client sees it: the
    /// caller reads it there, through its own path mapping.
    File(String),
}

/// The client's version and what it can do.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct ClientInfo {
    /// Which client.
    pub kind: ClientKind,
    /// The client's own version, such as `v4.5.2` or `3.00 (bb6b5a062e)`.
    pub version: String,
    /// The API version, such as `2.8.19` or `16`.
    pub api_version: String,
    /// Tags or labels can be set in the add call itself.
    pub tags_on_add: bool,
    /// The client can skip hash checks of data we wrote.
    pub skip_check: bool,
    /// Incremental state updates are cheaper than full listings.
    pub incremental_sync: bool,
}

/// Whether the client's queue lets our torrents seed.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct QueueReport {
    /// The client queues seeding torrents.
    pub queueing: bool,
    /// At most this many torrents seed at once, when queueing (negative: no limit).
    pub max_active_uploads: Option<i64>,
    /// At most this many torrents are active at once, when queueing (negative: no limit).
    pub max_active_torrents: Option<i64>,
}

impl QueueReport {
    /// Whether `ours` torrents could end up queued instead of seeding.
    pub fn may_hold_back(&self, ours: usize) -> bool {
        let limited =
            |limit: Option<i64>| limit.is_some_and(|l| l >= 0 && (l as u64) < ours as u64);
        self.queueing && (limited(self.max_active_uploads) || limited(self.max_active_torrents))
    }
}

/// What went wrong talking to a client. Every message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// Nothing answered at the URL.
    #[error("cannot reach {client} at {url} ({reason}); check that it is running and that {hint}")]
    Unreachable {
        /// Which client.
        client: ClientKind,
        /// The URL tried.
        url: String,
        /// The transport error.
        reason: String,
        /// What to enable or fix.
        hint: &'static str,
    },
    /// The username or password was refused. Not retried, so as not to provoke a ban.
    #[error("{client} at {url} refused {credentials}; {fix}")]
    Unauthorized {
        /// Which client.
        client: ClientKind,
        /// The URL.
        url: String,
        /// What was sent, and where it came from (never the password).
        credentials: String,
        /// What to do.
        fix: String,
    },
    /// The client banned our IP after failed logins.
    #[error(
        "{client} at {url} has banned this IP after too many failed logins; wait for the ban to end (qBittorrent: 1 hour by default) or restart the client, and fix the password first"
    )]
    Banned {
        /// Which client.
        client: ClientKind,
        /// The URL.
        url: String,
    },
    /// Something else answers at the URL: another client, or the right
    /// client at the wrong path.
    #[error("{url} is not {client}'s API: {found}; {fix}")]
    WrongUrl {
        /// The client the config names.
        client: ClientKind,
        /// The URL.
        url: String,
        /// What answers there instead.
        found: String,
        /// The config that fixes it.
        fix: String,
    },
    /// The client refused the request for a reason it states.
    #[error("{client} answered HTTP {status} to {endpoint}: {body}; {hint}")]
    Api {
        /// Which client.
        client: ClientKind,
        /// The API call.
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// The start of the answer.
        body: String,
        /// What to try.
        hint: &'static str,
    },
    /// The answer could not be understood.
    #[error(
        "cannot understand {client}'s answer to {endpoint} ({reason}); check that the URL points at {client} and that its version is supported"
    )]
    Decode {
        /// Which client.
        client: ClientKind,
        /// The API call.
        endpoint: String,
        /// What did not parse.
        reason: String,
    },
    /// The client refused a torrent.
    #[error("{client} refused torrent {infohash}: {reason}")]
    Rejected {
        /// Which client.
        client: ClientKind,
        /// The torrent.
        infohash: InfoHash,
        /// The client's words.
        reason: String,
    },
    /// An added torrent did not show up in time.
    #[error(
        "{client} accepted torrent {infohash} but did not list it within {seconds} s; check the client's log for errors"
    )]
    AddTimedOut {
        /// Which client.
        client: ClientKind,
        /// The torrent.
        infohash: InfoHash,
        /// How long we waited.
        seconds: u64,
    },
    /// The client cannot do this at all.
    #[error("{client} cannot {what}; {instead}")]
    Unsupported {
        /// Which client.
        client: ClientKind,
        /// What was asked.
        what: &'static str,
        /// What to use instead.
        instead: &'static str,
    },
    /// A request the adapter refuses to send.
    #[error("{0}")]
    Invalid(String),
    /// No process holds the embedded engine, so nothing would seed.
    #[error(
        "no upseed process holds the embedded engine (nothing listens on {socket}); start one with `upseed daemon` (or `upseed serve`) and leave it running, since posts are seeded only while it runs, then run this command again"
    )]
    NotRunning {
        /// The local socket the holder listens on.
        socket: String,
    },
}

impl ClientError {
    /// The client refused the credentials an adapter was given: the
    /// message names no source, which only the caller knows (see
    /// [`ClientError::Unauthorized`]).
    pub fn unauthorized(client: ClientKind, url: &str) -> Self {
        Self::Unauthorized {
            client,
            url: redact_url(url),
            credentials: "the username or password".into(),
            fix: "fix them in the upseed config (upseed does not retry a refused password, to avoid a ban)".into(),
        }
    }

    /// The client did not answer: `error` is the transport's error, whose
    /// whole chain of causes goes into the message.
    pub fn unreachable(
        client: ClientKind,
        url: &str,
        error: &dyn std::error::Error,
        hint: &'static str,
    ) -> Self {
        let mut reason = error.to_string();
        let mut source = error.source();
        while let Some(inner) = source {
            reason = format!("{reason}: {inner}");
            source = inner.source();
        }
        Self::Unreachable {
            client,
            url: redact_url(url),
            reason: redact_url(&reason),
            hint,
        }
    }
}

/// `text` with the credentials of every URL in it (`scheme://user:pass@`)
/// replaced by `***`, for messages and logs: a client URL may carry a
/// password, and transport errors repeat the URL.
pub fn redact_url(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| matches!(c, '/' | '?' | '#' | ')' | '"' | '\'') || c.is_whitespace())
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                out.push_str("***@");
                out.push_str(&authority[at + 1..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// A BitTorrent client driven over its API.
///
/// Every call names torrents by infohash, and an adapter only ever lists or
/// changes torrents in its own category or with its own label.
pub trait TorrentClient: Send + Sync {
    /// The client's version and capabilities.
    fn info(&self) -> impl Future<Output = Result<ClientInfo, ClientError>> + Send;

    /// Adds torrents, batching where the client allows. Adding a torrent
    /// that is already there succeeds with [`Added::AlreadyPresent`].
    /// Returns once every torrent is listed by the client.
    fn add(
        &self,
        torrents: &[AddTorrent],
    ) -> impl Future<Output = Result<Vec<Added>, ClientError>> + Send;

    /// Our torrents, or only those in `hashes` when given.
    fn list(
        &self,
        hashes: Option<&[InfoHash]>,
    ) -> impl Future<Output = Result<Vec<TorrentStatus>, ClientError>> + Send;

    /// Removes torrents, with their data or without. Unknown hashes are ignored.
    fn remove(
        &self,
        hashes: &[InfoHash],
        delete_data: bool,
    ) -> impl Future<Output = Result<(), ClientError>> + Send;

    /// Adds tags to torrents.
    fn add_tags(
        &self,
        hashes: &[InfoHash],
        tags: &[String],
    ) -> impl Future<Output = Result<(), ClientError>> + Send;

    /// Removes tags from torrents.
    fn remove_tags(
        &self,
        hashes: &[InfoHash],
        tags: &[String],
    ) -> impl Future<Output = Result<(), ClientError>> + Send;

    /// Whether the client's queue could stop our torrents from seeding.
    fn queue_report(&self) -> impl Future<Output = Result<QueueReport, ClientError>> + Send;

    /// The metainfo of one of our torrents whose metadata is complete, such
    /// as a magnet link's once fetched. `None` when the torrent is not ours
    /// or its metadata has not arrived yet.
    fn metainfo(
        &self,
        hash: InfoHash,
    ) -> impl Future<Output = Result<Option<Metainfo>, ClientError>> + Send;

    /// Makes the client announce torrents to their trackers now, for
    /// instance after a tracker that refused or missed them is back.
    fn announce_now(
        &self,
        hashes: &[InfoHash],
    ) -> impl Future<Output = Result<(), ClientError>> + Send;

    /// Makes torrents seed regardless of the queue. A torrent that is still
    /// being checked may be queued again when its check ends (Transmission
    /// 3.00 forgets the request): call again for those.
    fn force_start(
        &self,
        hashes: &[InfoHash],
    ) -> impl Future<Output = Result<(), ClientError>> + Send;

    /// Subscribes the client's own RSS reader to the feed at `url`, shown
    /// as `name`, with a rule that downloads every new item into our
    /// category or label (so that the rest of upseed counts them as
    /// votes). Subscribing again changes nothing. A client with no RSS
    /// reader says so.
    fn subscribe_rss(
        &self,
        url: &str,
        name: &str,
    ) -> impl Future<Output = Result<(), ClientError>> + Send;

    /// Any torrent the client holds, ours or not (such as one the user
    /// opened from a magnet link in the client's own window), with its
    /// metainfo once its metadata is complete. `None` when the client
    /// does not hold it.
    fn any_torrent(
        &self,
        hash: InfoHash,
    ) -> impl Future<Output = Result<Option<(TorrentStatus, Option<Metainfo>)>, ClientError>> + Send;

    /// Puts a torrent the client holds into our category or label, with
    /// `tags` besides: from then on it is one of ours. Its data stays
    /// where it is.
    fn claim(
        &self,
        hash: InfoHash,
        tags: &[String],
    ) -> impl Future<Output = Result<(), ClientError>> + Send;

    /// The program the client runs when a torrent finishes downloading,
    /// as the client shows it; `None` when it runs none.
    fn completion_hook(&self) -> impl Future<Output = Result<Option<String>, ClientError>> + Send;

    /// Has the client run `program` (an absolute path) when a torrent
    /// finishes downloading, with the torrent's infohash as its one
    /// argument (qBittorrent) or in `TR_TORRENT_HASH` (Transmission).
    fn set_completion_hook(
        &self,
        program: &str,
    ) -> impl Future<Output = Result<(), ClientError>> + Send;

    /// HTTP requests sent to the client so far, logins and handshakes
    /// included: what a caller's work cost the client.
    fn requests_sent(&self) -> u64;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_urls_are_redacted() {
        assert_eq!(
            redact_url("http://admin:hunter2@127.0.0.1:8080/"),
            "http://***@127.0.0.1:8080/"
        );
        assert_eq!(
            redact_url("error sending request for url (http://u:p@h/api/v2/x): refused"),
            "error sending request for url (http://***@h/api/v2/x): refused"
        );
        assert_eq!(
            redact_url("http://h:1/ and udp://t:2"),
            "http://h:1/ and udp://t:2"
        );
        assert_eq!(redact_url("no url here"), "no url here");
        let error = ClientError::unreachable(
            ClientKind::Qbittorrent,
            "http://me:secret@127.0.0.1:9/",
            &std::io::Error::other("for url (http://me:secret@127.0.0.1:9/api)"),
            "hint",
        );
        assert!(!error.to_string().contains("secret"), "{error}");
    }

    #[test]
    fn queue_report_flags_limits_below_our_count() {
        let off = QueueReport {
            queueing: false,
            max_active_uploads: Some(3),
            max_active_torrents: Some(5),
        };
        assert!(!off.may_hold_back(100));
        let on = QueueReport {
            queueing: true,
            ..off.clone()
        };
        assert!(on.may_hold_back(4));
        assert!(!on.may_hold_back(3));
        let unlimited = QueueReport {
            queueing: true,
            max_active_uploads: Some(-1),
            max_active_torrents: Some(-1),
        };
        assert!(!unlimited.may_hold_back(10_000));
    }

    #[test]
    fn save_paths_must_be_absolute() {
        let add = |path: &str| {
            AddTorrent::from_magnet(
                format!("magnet:?xt=urn:btih:{}", "a".repeat(40))
                    .parse()
                    .unwrap(),
                path,
            )
        };
        assert!(
            AddTorrent::check_paths(
                &[add("/srv/posts"), add("C:\\posts")],
                ClientKind::Qbittorrent
            )
            .is_ok()
        );
        let error = AddTorrent::check_paths(&[add("posts")], ClientKind::Transmission).unwrap_err();
        assert!(
            error.to_string().contains("`posts` is not absolute"),
            "{error}"
        );
    }

    #[test]
    fn add_from_torrent_reads_the_infohash() {
        let record = crate::PostDraft::new("x")
            .unwrap()
            .sign(&crate::SecretKey::from_seed(&[1; 32]), 1)
            .unwrap();
        let add =
            AddTorrent::from_torrent(record.torrent_bytes(&["http://t/announce"]), "/tmp").unwrap();
        assert_eq!(add.infohash, record.infohash());
        assert!(AddTorrent::from_torrent(b"garbage".to_vec(), "/tmp").is_err());
    }
}
