//! Drives qBittorrent 4.1 to 5.2 through its WebUI API v2, so that the
//! user's own client seeds upseed's torrents.
//!
//! ```no_run
//! use upseed_core::TorrentClient;
//! use upseed_qbittorrent::{Config, Password, Qbittorrent};
//!
//! # async fn run() -> Result<(), upseed_core::ClientError> {
//! let config = Config::new(
//!     "http://127.0.0.1:8080/".parse().unwrap(),
//!     "admin",
//!     Some(Password::new(std::env::var("QBT_PASSWORD").unwrap_or_default())),
//! );
//! let client = Qbittorrent::new(config)?;
//! println!("{:?}", client.info().await?);
//! # Ok(())
//! # }
//! ```

mod config;
mod session;
mod sync;
mod torrent;
mod version;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use reqwest::multipart::{Form, Part};
use tokio::sync::{Mutex, OnceCell};
use upseed_core::{
    AddTorrent, Added, ClientError, ClientInfo, ClientKind, InfoHash, Metainfo, QueueReport,
    Source, TorrentClient, TorrentStatus,
};

pub use config::{Config, Password};
pub use version::ApiVersion;

use session::{Body, Session};
use sync::{MainData, SyncState};
use torrent::QbTorrent;

/// Torrents per multipart add request. Records are under 1 KiB each, so a
/// batch stays far below qBittorrent's 64 MiB request limit.
const ADD_BATCH: usize = 1000;

/// A qBittorrent WebUI, as one logged-in session.
pub struct Qbittorrent {
    session: Session,
    version: OnceCell<ApiVersion>,
    sync: Mutex<SyncState>,
    /// How many torrents the last full listing found in our category.
    ours_seen: std::sync::atomic::AtomicUsize,
    add_timeout: Duration,
}

impl std::fmt::Debug for Qbittorrent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Qbittorrent")
            .field("config", self.session.config())
            .field("version", &self.version.get())
            .finish_non_exhaustive()
    }
}

fn join_hashes(hashes: &[InfoHash]) -> String {
    hashes
        .iter()
        .map(InfoHash::to_hex)
        .collect::<Vec<_>>()
        .join("|")
}

impl Qbittorrent {
    /// A client for `config`. Nothing is sent until the first call.
    pub fn new(config: Config) -> Result<Self, ClientError> {
        Ok(Self {
            session: Session::new(config)?,
            version: OnceCell::new(),
            sync: Mutex::new(SyncState::default()),
            ours_seen: std::sync::atomic::AtomicUsize::new(0),
            add_timeout: Duration::from_secs(30),
        })
    }

    /// Sets how long [`TorrentClient::add`] waits for added torrents to be listed.
    #[must_use]
    pub fn with_add_timeout(mut self, timeout: Duration) -> Self {
        self.add_timeout = timeout;
        self
    }

    /// The WebUI API version, asked once and remembered.
    pub async fn api_version(&self) -> Result<ApiVersion, ClientError> {
        self.version
            .get_or_try_init(|| async {
                let answer = self
                    .session
                    .call("app/webapiVersion", Body::Query(&[]))
                    .await?;
                ApiVersion::parse(&answer.text).ok_or_else(|| {
                    self.session.decode_error(
                        "app/webapiVersion",
                        &format!("`{}` is not a version", answer.text.trim()),
                    )
                })
            })
            .await
            .copied()
    }

    fn category(&self) -> &str {
        &self.session.config().category
    }

    /// Creates our category, which `torrents/setCategory` needs (an add
    /// creates it by itself). It being there already is fine.
    async fn ensure_category(&self) -> Result<(), ClientError> {
        match self
            .session
            .call(
                "torrents/createCategory",
                Body::Form(&[("category", self.category().to_owned())]),
            )
            .await
        {
            Ok(_) | Err(ClientError::Api { status: 409, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `torrents/info` for `hashes` (POSTed, so any number fits), in our
    /// category only when `ours_only`.
    async fn info_by_hashes(
        &self,
        hashes: Option<&[InfoHash]>,
        ours_only: bool,
    ) -> Result<Vec<QbTorrent>, ClientError> {
        let mut form = Vec::new();
        if let Some(hashes) = hashes {
            if hashes.is_empty() {
                return Ok(Vec::new());
            }
            form.push(("hashes", join_hashes(hashes)));
        }
        if ours_only {
            form.push(("category", self.category().to_owned()));
        }
        self.session.json("torrents/info", Body::Form(&form)).await
    }

    /// Those of `hashes` that are in our category.
    async fn ours(&self, hashes: &[InfoHash]) -> Result<Vec<InfoHash>, ClientError> {
        Ok(self
            .info_by_hashes(Some(hashes), true)
            .await?
            .iter()
            .filter_map(|t| t.hash.parse().ok())
            .collect())
    }

    async fn listed(&self, hashes: &[InfoHash]) -> Result<HashSet<InfoHash>, ClientError> {
        Ok(self
            .info_by_hashes(Some(hashes), false)
            .await?
            .iter()
            .filter_map(|t| t.hash.parse().ok())
            .collect())
    }

    /// Sends one multipart add. `Ok(false)`: qBittorrent took none of them.
    async fn add_batch(&self, batch: &[&AddTorrent]) -> Result<bool, ClientError> {
        let Some(first) = batch.first() else {
            return Ok(true);
        };
        let category = self.category().to_owned();
        let make = || {
            let mut form = Form::new();
            let mut urls = Vec::new();
            for torrent in batch {
                match &torrent.source {
                    // Any part with a file name is a torrent file; names must differ.
                    Source::Torrent(bytes) => {
                        let part = Part::bytes(bytes.clone())
                            .file_name(format!("{}.torrent", torrent.infohash));
                        form = form.part("torrents", part);
                    }
                    Source::Magnet(magnet) => urls.push(magnet.to_string()),
                }
            }
            if !urls.is_empty() {
                form = form.text("urls", urls.join("\n"));
            }
            let skip = if first.data_present { "true" } else { "false" };
            form.text("savepath", first.save_path.clone())
                .text("category", category.clone())
                .text("tags", first.tags.join(","))
                // 5.0 reads only `stopped`, 4.x only `paused`: send both.
                .text("stopped", "false")
                .text("paused", "false")
                .text("skip_checking", skip)
                .text("seedMode", skip)
                .text("autoTMM", "false")
                .text("contentLayout", "Original")
                .text("ratioLimit", "-1")
                .text("seedingTimeLimit", "-1")
        };
        match self
            .session
            .call("torrents/add", Body::Multipart(&make))
            .await
        {
            // ≤ 5.1: `Ok.` if any was taken, `Fails.` if none; 5.2: JSON counts.
            Ok(answer) => Ok(answer.text.trim() != "Fails."),
            // 5.2: every torrent failed, for example as duplicates.
            Err(ClientError::Api { status: 409, .. }) => Ok(false),
            Err(ClientError::Api {
                status: 415, body, ..
            }) => Err(ClientError::Rejected {
                client: ClientKind::Qbittorrent,
                infohash: first.infohash,
                reason: body,
            }),
            Err(error) => Err(error),
        }
    }

    /// Waits until every one of `hashes` is listed. Listing costs qBittorrent
    /// about 0.2 ms per torrent returned, so it first polls for the last hash
    /// alone (qBittorrent takes a request's torrents in order), then checks
    /// all of them once, and keeps polling only those still missing.
    async fn wait_listed(&self, hashes: &[InfoHash]) -> Result<(), ClientError> {
        let deadline = tokio::time::Instant::now() + self.add_timeout;
        let mut pause = Duration::from_millis(5);
        let mut missing: Vec<InfoHash> = hashes.last().copied().into_iter().collect();
        let mut checked_all = false;
        loop {
            let listed = self.listed(&missing).await?;
            missing.retain(|h| !listed.contains(h));
            if missing.is_empty() {
                if checked_all {
                    return Ok(());
                }
                checked_all = true;
                missing = hashes.to_vec();
                continue;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ClientError::AddTimedOut {
                    client: ClientKind::Qbittorrent,
                    infohash: missing[0],
                    seconds: self.add_timeout.as_secs(),
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(250));
        }
    }

    /// Our torrents through incremental `sync/maindata`: after the first
    /// call only changes travel. Works on every version; cheaper than
    /// `torrents/info` from 4.6 on.
    pub async fn sync_list(&self) -> Result<Vec<TorrentStatus>, ClientError> {
        let mut state = self.sync.lock().await;
        let query = [("rid", state.rid.to_string())];
        let data: MainData = match self
            .session
            .json("sync/maindata", Body::Query(&query))
            .await
        {
            Ok(data) => data,
            Err(error) => {
                state.reset();
                return Err(error);
            }
        };
        state.merge(data);
        let mut ours = Vec::new();
        for (hash, fields) in &state.torrents {
            let mut fields = fields.clone();
            fields.insert("hash".into(), hash.clone().into());
            let torrent: QbTorrent = serde_json::from_value(fields.into())
                .map_err(|e| self.session.decode_error("sync/maindata", &e.to_string()))?;
            if torrent.category == self.category() {
                ours.extend(torrent.status());
            }
        }
        ours.sort_by_key(|t| t.infohash);
        Ok(ours)
    }

    /// Stops or starts our torrents: `torrents/pause|resume` before 5.0,
    /// `torrents/stop|start` from 5.0 on (the other names give 404).
    /// Stopping and starting again also makes qBittorrent announce at once.
    pub async fn set_running(&self, hashes: &[InfoHash], running: bool) -> Result<(), ClientError> {
        let (stop, start) = self.api_version().await?.stop_start();
        let endpoint = format!("torrents/{}", if running { start } else { stop });
        self.hashes_call(&endpoint, hashes, &[]).await
    }

    /// Incremental `sync/maindata` beats `torrents/info?category=` from 4.6
    /// on, but it carries every torrent of the client, not only ours: a
    /// user with 30,000 other torrents would pull them all. So it is used
    /// only while ours are at least half of the client's torrents
    /// (`torrents/count`, 4.6.1+), as the last category listing found.
    async fn sync_is_cheaper(&self) -> Result<bool, ClientError> {
        if !self.api_version().await?.cheap_incremental_sync() {
            return Ok(false);
        }
        let ours = self.ours_seen.load(std::sync::atomic::Ordering::Relaxed);
        if ours == 0 {
            return Ok(false);
        }
        let total = match self.session.call("torrents/count", Body::Query(&[])).await {
            Ok(answer) => answer.text.trim().parse::<usize>().unwrap_or(usize::MAX),
            // 4.6.0 has no count: stay with the category listing.
            Err(ClientError::Api { status: 404, .. }) => return Ok(false),
            Err(error) => return Err(error),
        };
        Ok(total <= ours.saturating_mul(2))
    }

    async fn hashes_call(
        &self,
        endpoint: &str,
        hashes: &[InfoHash],
        extra: &[(&str, String)],
    ) -> Result<(), ClientError> {
        let ours = self.ours(hashes).await?;
        if ours.is_empty() {
            return Ok(());
        }
        let mut form = vec![("hashes", join_hashes(&ours))];
        form.extend(extra.iter().cloned());
        self.session
            .call(endpoint, Body::Form(&form))
            .await
            .map(drop)
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct Preferences {
    queueing_enabled: bool,
    autorun_enabled: bool,
    autorun_program: String,
    max_active_uploads: Option<i64>,
    max_active_torrents: Option<i64>,
}

impl TorrentClient for Qbittorrent {
    async fn info(&self) -> Result<ClientInfo, ClientError> {
        let api = self.api_version().await?;
        let version = self
            .session
            .call("app/version", Body::Query(&[]))
            .await?
            .text;
        Ok(ClientInfo {
            kind: ClientKind::Qbittorrent,
            version: version.trim().to_owned(),
            api_version: api.to_string(),
            tags_on_add: api.tags_on_add(),
            skip_check: true,
            incremental_sync: api.cheap_incremental_sync(),
        })
    }

    async fn add(&self, torrents: &[AddTorrent]) -> Result<Vec<Added>, ClientError> {
        AddTorrent::check_paths(torrents, ClientKind::Qbittorrent)?;
        let hashes: Vec<InfoHash> = torrents.iter().map(|t| t.infohash).collect();
        let present = self.listed(&hashes).await?;
        // One request per (folder, tags, trust) group, in batches.
        let mut groups: BTreeMap<(&str, Vec<String>, bool), Vec<&AddTorrent>> = BTreeMap::new();
        let mut seen = HashSet::new();
        for torrent in torrents {
            if !present.contains(&torrent.infohash) && seen.insert(torrent.infohash) {
                let key = (
                    torrent.save_path.as_str(),
                    torrent.tags.clone(),
                    torrent.data_present,
                );
                groups.entry(key).or_default().push(torrent);
            }
        }
        let mut refused = Vec::new();
        for group in groups.values() {
            for batch in group.chunks(ADD_BATCH) {
                if !self.add_batch(batch).await? {
                    refused.extend(batch.iter().map(|t| t.infohash));
                }
            }
        }
        let new: Vec<InfoHash> = seen
            .iter()
            .copied()
            .filter(|h| !refused.contains(h))
            .collect();
        // Adding is asynchronous on qBittorrent's side: wait until listed.
        self.wait_listed(&new).await?;
        if !refused.is_empty() {
            // Refused as duplicates added meanwhile, or as bad torrents.
            let listed = self.listed(&refused).await?;
            if let Some(hash) = refused.iter().find(|h| !listed.contains(h)) {
                return Err(ClientError::Rejected {
                    client: ClientKind::Qbittorrent,
                    infohash: *hash,
                    reason: "qBittorrent refused to add it; check its log".into(),
                });
            }
        }
        Ok(torrents
            .iter()
            .map(|t| {
                if present.contains(&t.infohash) || refused.contains(&t.infohash) {
                    Added::AlreadyPresent
                } else {
                    Added::New
                }
            })
            .collect())
    }

    async fn list(&self, hashes: Option<&[InfoHash]>) -> Result<Vec<TorrentStatus>, ClientError> {
        if hashes.is_none() && self.sync_is_cheaper().await? {
            return self.sync_list().await;
        }
        let mut list: Vec<TorrentStatus> = self
            .info_by_hashes(hashes, true)
            .await?
            .iter()
            .filter_map(QbTorrent::status)
            .collect();
        list.sort_by_key(|t| t.infohash);
        if hashes.is_none() {
            self.ours_seen
                .store(list.len(), std::sync::atomic::Ordering::Relaxed);
        }
        Ok(list)
    }

    async fn remove(&self, hashes: &[InfoHash], delete_data: bool) -> Result<(), ClientError> {
        let delete = if delete_data { "true" } else { "false" };
        self.hashes_call(
            "torrents/delete",
            hashes,
            &[("deleteFiles", delete.to_owned())],
        )
        .await
    }

    async fn add_tags(&self, hashes: &[InfoHash], tags: &[String]) -> Result<(), ClientError> {
        self.hashes_call("torrents/addTags", hashes, &[("tags", tags.join(","))])
            .await
    }

    async fn remove_tags(&self, hashes: &[InfoHash], tags: &[String]) -> Result<(), ClientError> {
        self.hashes_call("torrents/removeTags", hashes, &[("tags", tags.join(","))])
            .await
    }

    async fn queue_report(&self) -> Result<QueueReport, ClientError> {
        let prefs: Preferences = self
            .session
            .json("app/preferences", Body::Query(&[]))
            .await?;
        Ok(QueueReport {
            queueing: prefs.queueing_enabled,
            max_active_uploads: prefs.max_active_uploads,
            max_active_torrents: prefs.max_active_torrents,
        })
    }

    async fn metainfo(&self, hash: InfoHash) -> Result<Option<Metainfo>, ClientError> {
        let ours = self.info_by_hashes(Some(&[hash]), true).await?;
        if ours
            .first()
            .and_then(QbTorrent::status)
            .and_then(|t| t.size)
            .is_none()
        {
            return Ok(None);
        }
        let api = self.api_version().await?;
        if !api.export() {
            return Err(ClientError::Invalid(format!(
                "qBittorrent with Web API {api} cannot export torrents; reading posts through it needs qBittorrent 4.5 or later"
            )));
        }
        let form = [("hash", hash.to_string())];
        let answer = self
            .session
            .call("torrents/export", Body::Form(&form))
            .await?;
        Ok(Some(Metainfo::Bytes(answer.bytes)))
    }

    /// `torrents/reannounce` respects the tracker's minimum interval, so
    /// this stops and starts them instead, which announces at once.
    async fn announce_now(&self, hashes: &[InfoHash]) -> Result<(), ClientError> {
        self.set_running(hashes, false).await?;
        self.set_running(hashes, true).await
    }

    async fn force_start(&self, hashes: &[InfoHash]) -> Result<(), ClientError> {
        self.hashes_call(
            "torrents/setForceStart",
            hashes,
            &[("value", "true".to_owned())],
        )
        .await
    }

    async fn any_torrent(
        &self,
        hash: InfoHash,
    ) -> Result<Option<(TorrentStatus, Option<Metainfo>)>, ClientError> {
        let Some(status) = self
            .info_by_hashes(Some(&[hash]), false)
            .await?
            .first()
            .and_then(QbTorrent::status)
        else {
            return Ok(None);
        };
        if status.size.is_none() || !self.api_version().await?.export() {
            return Ok(Some((status, None)));
        }
        let form = [("hash", hash.to_string())];
        let answer = self
            .session
            .call("torrents/export", Body::Form(&form))
            .await?;
        Ok(Some((status, Some(Metainfo::Bytes(answer.bytes)))))
    }

    async fn claim(&self, hash: InfoHash, tags: &[String]) -> Result<(), ClientError> {
        if self.listed(&[hash]).await?.is_empty() {
            return Ok(());
        }
        self.ensure_category().await?;
        let hashes = hash.to_string();
        self.session
            .call(
                "torrents/setCategory",
                Body::Form(&[
                    ("hashes", hashes.clone()),
                    ("category", self.category().to_owned()),
                ]),
            )
            .await?;
        if !tags.is_empty() {
            self.session
                .call(
                    "torrents/addTags",
                    Body::Form(&[("hashes", hashes), ("tags", tags.join(","))]),
                )
                .await?;
        }
        Ok(())
    }

    async fn completion_hook(&self) -> Result<Option<String>, ClientError> {
        let prefs: Preferences = self
            .session
            .json("app/preferences", Body::Query(&[]))
            .await?;
        Ok(prefs
            .autorun_enabled
            .then_some(prefs.autorun_program)
            .filter(|p| !p.is_empty()))
    }

    async fn set_completion_hook(&self, program: &str) -> Result<(), ClientError> {
        // qBittorrent splits the command line itself and substitutes `%I`
        // with the v1 infohash.
        let prefs = serde_json::json!({
            "autorun_enabled": true,
            "autorun_program": format!("\"{program}\" \"%I\""),
        });
        self.session
            .call(
                "app/setPreferences",
                Body::Form(&[("json", prefs.to_string())]),
            )
            .await
            .map(drop)
    }

    async fn subscribe_rss(&self, url: &str, name: &str) -> Result<(), ClientError> {
        let prefs = r#"{"rss_processing_enabled":true,"rss_auto_downloading_enabled":true}"#;
        self.session
            .call(
                "app/setPreferences",
                Body::Form(&[("json", prefs.to_owned())]),
            )
            .await?;
        match self
            .session
            .call(
                "rss/addFeed",
                Body::Form(&[("url", url.to_owned()), ("path", name.to_owned())]),
            )
            .await
        {
            // 409: a feed with this URL or name is there already.
            Ok(_) | Err(ClientError::Api { status: 409, .. }) => {}
            Err(error) => return Err(error),
        }
        let rule = serde_json::json!({
            "enabled": true,
            "mustContain": "",
            "affectedFeeds": [url],
            "assignedCategory": self.session.config().category,
        });
        self.session
            .call(
                "rss/setRule",
                Body::Form(&[
                    ("ruleName", format!("upseed: {name}")),
                    ("ruleDef", rule.to_string()),
                ]),
            )
            .await
            .map(drop)
    }

    fn requests_sent(&self) -> u64 {
        self.session.requests_sent()
    }
}
