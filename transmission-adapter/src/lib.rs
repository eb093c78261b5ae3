//! Drives Transmission 3.00 to 4.1 through its RPC, so that the user's own
//! client seeds upseed's torrents.
//!
//! Every call that acts on torrents names them by infohash: an RPC call
//! without `ids` acts on *every* torrent, and integer ids change across
//! restarts. Ours carry the label `upseed` (configurable), since
//! Transmission has no categories; nothing else is listed or changed.
//!
//! ## Getting fresh posts to seed fast
//!
//! Transmission verifies every added torrent before it seeds. Verification
//! is one queue, processed one torrent at a time, and 3.00 pauses 100 ms at
//! the start of each: about 10 torrents a second, however small. The queue
//! is ordered by bandwidth priority first. So a torrent whose data we wrote
//! ourselves ([`AddTorrent::data_present`]) is added with high priority: it
//! jumps ahead of any backlog (downloads, bulk re-adds) and seeds within a
//! fraction of a second. From 4.0 on, Transmission also skips the full check
//! when the files' mtime predates the add, so writers should date post files
//! at least a second back.

mod names;
mod rpc;
mod torrent;

use std::collections::{BTreeMap, HashMap};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::future::try_join_all;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use upseed_core::{
    AddTorrent, Added, ClientError, ClientInfo, ClientKind, InfoHash, Metainfo, QueueReport,
    Source, TorrentClient, TorrentStatus,
};

pub use upseed_core::Password;

use rpc::Rpc;
use torrent::{LIST_FIELDS, TrTorrent};

/// Adds in flight at once: Transmission answers RPC on one thread, so a few
/// concurrent requests hide latency without queueing much.
const ADD_CONCURRENCY: usize = 8;

/// How to reach one Transmission RPC endpoint.
#[derive(Debug, Clone)]
pub struct Config {
    /// The RPC URL, such as `http://127.0.0.1:9091/transmission/rpc`.
    pub url: url::Url,
    /// The RPC user name, when `rpc-authentication-required` is on.
    pub username: Option<String>,
    /// The RPC password.
    pub password: Option<Password>,
    /// The label every upseed torrent carries and is listed by.
    pub label: String,
}

impl Config {
    /// A config for `url` with the default label `upseed`.
    pub fn new(url: url::Url, username: Option<String>, password: Option<Password>) -> Self {
        Self {
            url,
            username,
            password,
            label: "upseed".to_owned(),
        }
    }
}

/// Changes since the previous call of [`Transmission::changes`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    /// Our torrents that were active in the last minute, with their state.
    pub changed: Vec<TorrentStatus>,
    /// Torrents removed since, among those seen before.
    pub removed: Vec<InfoHash>,
}

/// A Transmission RPC endpoint.
pub struct Transmission {
    rpc: Rpc,
    /// Integer ids seen, to name removed torrents by hash.
    ids: Mutex<HashMap<i64, InfoHash>>,
}

impl std::fmt::Debug for Transmission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transmission")
            .field("config", self.rpc.config())
            .finish_non_exhaustive()
    }
}

fn hash_ids(hashes: &[InfoHash]) -> Value {
    hashes
        .iter()
        .map(InfoHash::to_hex)
        .collect::<Vec<_>>()
        .into()
}

/// Labels may not be empty, contain a comma, or repeat.
fn clean_labels(labels: impl IntoIterator<Item = String>) -> Result<Vec<String>, ClientError> {
    let mut out: Vec<String> = Vec::new();
    for label in labels {
        let label = label.trim().to_owned();
        if label.is_empty() || label.contains(',') {
            return Err(ClientError::Invalid(format!(
                "`{label}` cannot be a Transmission label: labels are non-empty and have no commas"
            )));
        }
        if !out.contains(&label) {
            out.push(label);
        }
    }
    Ok(out)
}

impl Transmission {
    /// A client for `config`. Nothing is sent until the first call.
    pub fn new(config: Config) -> Result<Self, ClientError> {
        Ok(Self {
            rpc: Rpc::new(config)?,
            ids: Mutex::new(HashMap::new()),
        })
    }

    fn label(&self) -> &str {
        &self.rpc.config().label
    }

    /// `torrent-get` with `fields`, in the compact table form.
    async fn get(
        &self,
        ids: Option<Value>,
        fields: &[&str],
    ) -> Result<(Vec<TrTorrent>, Vec<i64>), ClientError> {
        let mut arguments = json!({"fields": fields, "format": "table"});
        if let Some(ids) = ids {
            arguments["ids"] = ids;
        }
        let answer = self.rpc.call("torrent-get", arguments).await?;
        let torrents = torrent::rows(&answer["torrents"])
            .map_err(|e| self.rpc.decode_error("torrent-get", &e))?;
        let removed = answer["removed"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default();
        let mut ids = self.ids.lock().await;
        for t in &torrents {
            if let (Some(id), Ok(hash)) = (t.id, t.hash_string.parse()) {
                ids.insert(id, hash);
            }
        }
        Ok((torrents, removed))
    }

    /// Ours among `hashes`, with their labels.
    async fn ours(&self, hashes: &[InfoHash]) -> Result<Vec<TrTorrent>, ClientError> {
        if hashes.is_empty() {
            return Ok(Vec::new());
        }
        let (torrents, _) = self
            .get(Some(hash_ids(hashes)), &["id", "hashString", "labels"])
            .await?;
        Ok(torrents
            .into_iter()
            .filter(|t| t.labels.iter().any(|l| l == self.label()))
            .collect())
    }

    async fn add_one(
        &self,
        torrent: &AddTorrent,
        labels: &[String],
        labels_on_add: bool,
    ) -> Result<Added, ClientError> {
        let mut arguments = json!({
            "download-dir": torrent.save_path,
            "paused": false,
            // Our own data jumps the verification queue (see the crate docs).
            "bandwidthPriority": if torrent.data_present { 1 } else { 0 },
        });
        match &torrent.source {
            Source::Torrent(bytes) => arguments["metainfo"] = STANDARD.encode(bytes).into(),
            Source::Magnet(magnet) => arguments["filename"] = magnet.to_string().into(),
        }
        if labels_on_add {
            arguments["labels"] = labels.into();
        }
        let answer = match self.rpc.call("torrent-add", arguments).await {
            Ok(answer) => answer,
            Err(ClientError::Api { body, .. }) => {
                return Err(ClientError::Rejected {
                    client: ClientKind::Transmission,
                    infohash: torrent.infohash,
                    reason: body,
                });
            }
            Err(error) => return Err(error),
        };
        if answer.get("torrent_duplicate").is_some() {
            return Ok(Added::AlreadyPresent);
        }
        if answer.get("torrent_added").is_none() {
            return Err(self
                .rpc
                .decode_error("torrent-add", "neither torrent-added nor torrent-duplicate"));
        }
        if !labels_on_add {
            // 3.00 ignores labels on add: set them right after.
            self.rpc
                .call(
                    "torrent-set",
                    json!({"ids": hash_ids(&[torrent.infohash]), "labels": labels}),
                )
                .await?;
        }
        Ok(Added::New)
    }

    /// Our torrents active in the last minute, and those removed since the
    /// previous listing: a cheap refresh between full listings.
    pub async fn changes(&self) -> Result<Changes, ClientError> {
        let (torrents, removed) = self
            .get(Some("recently-active".into()), LIST_FIELDS)
            .await?;
        let ids = self.ids.lock().await;
        let removed = removed
            .iter()
            .filter_map(|id| ids.get(id).copied())
            .collect();
        let changed = torrents
            .iter()
            .filter(|t| t.labels.iter().any(|l| l == self.label()))
            .filter_map(TrTorrent::status)
            .collect();
        Ok(Changes { changed, removed })
    }

    /// The server's version text and RPC version.
    pub async fn version(&self) -> Result<(String, u32), ClientError> {
        let server = self.rpc.server().await?;
        Ok((server.version.clone(), server.rpc_version))
    }
}

impl TorrentClient for Transmission {
    async fn info(&self) -> Result<ClientInfo, ClientError> {
        let server = self.rpc.server().await?;
        Ok(ClientInfo {
            kind: ClientKind::Transmission,
            version: server.version.clone(),
            api_version: server.rpc_version.to_string(),
            tags_on_add: server.rpc_version >= 17,
            // 4.0's fast verification skips data older than the add.
            skip_check: server.rpc_version >= 17,
            incremental_sync: true,
        })
    }

    async fn add(&self, torrents: &[AddTorrent]) -> Result<Vec<Added>, ClientError> {
        AddTorrent::check_paths(torrents, ClientKind::Transmission)?;
        let labels_on_add = self.rpc.server().await?.rpc_version >= 17;
        let mut jobs = Vec::with_capacity(torrents.len());
        for torrent in torrents {
            let labels = clean_labels(
                std::iter::once(self.label().to_owned()).chain(torrent.tags.iter().cloned()),
            )?;
            jobs.push((torrent, labels));
        }
        let mut added = Vec::with_capacity(jobs.len());
        for chunk in jobs.chunks(ADD_CONCURRENCY) {
            let calls = chunk
                .iter()
                .map(|(torrent, labels)| self.add_one(torrent, labels, labels_on_add));
            added.extend(try_join_all(calls).await?);
        }
        Ok(added)
    }

    async fn list(&self, hashes: Option<&[InfoHash]>) -> Result<Vec<TorrentStatus>, ClientError> {
        let ids = match hashes {
            Some([]) => return Ok(Vec::new()),
            Some(hashes) => Some(hash_ids(hashes)),
            None => {
                // No label filter on the server: find ours from two cheap fields.
                let (all, _) = self.get(None, &["id", "hashString", "labels"]).await?;
                let ours: Vec<InfoHash> = all
                    .iter()
                    .filter(|t| t.labels.iter().any(|l| l == self.label()))
                    .filter_map(|t| t.hash_string.parse().ok())
                    .collect();
                if ours.is_empty() {
                    return Ok(Vec::new());
                }
                Some(hash_ids(&ours))
            }
        };
        let (torrents, _) = self.get(ids, LIST_FIELDS).await?;
        let mut list: Vec<TorrentStatus> = torrents
            .iter()
            .filter(|t| t.labels.iter().any(|l| l == self.label()))
            .filter_map(TrTorrent::status)
            .collect();
        list.sort_by_key(|t| t.infohash);
        Ok(list)
    }

    async fn remove(&self, hashes: &[InfoHash], delete_data: bool) -> Result<(), ClientError> {
        self.ours_call(
            "torrent-remove",
            hashes,
            json!({"delete-local-data": delete_data}),
        )
        .await
    }

    async fn add_tags(&self, hashes: &[InfoHash], tags: &[String]) -> Result<(), ClientError> {
        self.relabel(hashes, |labels| labels.extend(tags.iter().cloned()))
            .await
    }

    async fn remove_tags(&self, hashes: &[InfoHash], tags: &[String]) -> Result<(), ClientError> {
        self.relabel(hashes, |labels| labels.retain(|l| !tags.contains(l)))
            .await
    }

    async fn queue_report(&self) -> Result<QueueReport, ClientError> {
        let session = self
            .rpc
            .call(
                "session-get",
                json!({"fields": ["seed-queue-enabled", "seed-queue-size"]}),
            )
            .await?;
        Ok(QueueReport {
            queueing: session["seed_queue_enabled"].as_bool().unwrap_or(false),
            max_active_uploads: session["seed_queue_size"].as_i64(),
            max_active_torrents: None,
        })
    }

    async fn metainfo(&self, hash: InfoHash) -> Result<Option<Metainfo>, ClientError> {
        let (torrents, _) = self
            .get(
                Some(hash_ids(&[hash])),
                &[
                    "hashString",
                    "labels",
                    "metadataPercentComplete",
                    "torrentFile",
                ],
            )
            .await?;
        // The RPC cannot return the metainfo itself, only where the daemon keeps it.
        Ok(torrents
            .into_iter()
            .find(|t| t.labels.iter().any(|l| l == self.label()))
            .filter(|t| t.has_metadata() && !t.torrent_file.is_empty())
            .map(|t| Metainfo::File(t.torrent_file)))
    }

    async fn announce_now(&self, hashes: &[InfoHash]) -> Result<(), ClientError> {
        self.ours_call("torrent-reannounce", hashes, json!({}))
            .await
    }

    async fn force_start(&self, hashes: &[InfoHash]) -> Result<(), ClientError> {
        self.ours_call("torrent-start-now", hashes, json!({})).await
    }

    async fn any_torrent(
        &self,
        hash: InfoHash,
    ) -> Result<Option<(TorrentStatus, Option<Metainfo>)>, ClientError> {
        let mut fields = LIST_FIELDS.to_vec();
        fields.extend(["metadataPercentComplete", "torrentFile"]);
        let (torrents, _) = self.get(Some(hash_ids(&[hash])), &fields).await?;
        let Some(torrent) = torrents
            .into_iter()
            .find(|t| t.hash_string.parse::<InfoHash>().ok() == Some(hash))
        else {
            return Ok(None);
        };
        let metainfo = (torrent.has_metadata() && !torrent.torrent_file.is_empty())
            .then(|| Metainfo::File(torrent.torrent_file.clone()));
        Ok(torrent.status().map(|status| (status, metainfo)))
    }

    async fn claim(&self, hash: InfoHash, tags: &[String]) -> Result<(), ClientError> {
        let (torrents, _) = self
            .get(Some(hash_ids(&[hash])), &["id", "hashString", "labels"])
            .await?;
        let Some(torrent) = torrents.first() else {
            return Ok(());
        };
        let mut labels = torrent.labels.clone();
        for label in std::iter::once(self.label()).chain(tags.iter().map(String::as_str)) {
            if !labels.iter().any(|l| l == label) {
                labels.push(label.to_owned());
            }
        }
        let labels = clean_labels(labels)?;
        self.rpc
            .call(
                "torrent-set",
                json!({"ids": hash_ids(&[hash]), "labels": labels}),
            )
            .await
            .map(drop)
    }

    async fn completion_hook(&self) -> Result<Option<String>, ClientError> {
        let session = self
            .rpc
            .call(
                "session-get",
                json!({"fields": ["script-torrent-done-enabled", "script-torrent-done-filename"]}),
            )
            .await?;
        let enabled = session["script_torrent_done_enabled"]
            .as_bool()
            .unwrap_or(false);
        Ok(session["script_torrent_done_filename"]
            .as_str()
            .filter(|p| enabled && !p.is_empty())
            .map(str::to_owned))
    }

    async fn set_completion_hook(&self, program: &str) -> Result<(), ClientError> {
        // Transmission runs the file with no arguments and the torrent's
        // infohash in `TR_TORRENT_HASH`.
        self.rpc
            .call(
                "session-set",
                json!({
                    "script-torrent-done-enabled": true,
                    "script-torrent-done-filename": program,
                }),
            )
            .await
            .map(drop)
    }

    async fn subscribe_rss(&self, _url: &str, _name: &str) -> Result<(), ClientError> {
        // Transmission has no RSS reader (transmission/transmission#718).
        Err(ClientError::Unsupported {
            client: ClientKind::Transmission,
            what: "follow an RSS feed (it has no RSS reader)",
            instead: "pair it with FlexGet or transmission-rss, which add each new item to Transmission",
        })
    }

    fn requests_sent(&self) -> u64 {
        self.rpc.requests_sent()
    }
}

impl Transmission {
    /// Calls `method` on those of `hashes` that are ours, with `arguments`
    /// plus their ids; sends nothing when none are.
    async fn ours_call(
        &self,
        method: &str,
        hashes: &[InfoHash],
        mut arguments: Value,
    ) -> Result<(), ClientError> {
        let ours: Vec<InfoHash> = self
            .ours(hashes)
            .await?
            .iter()
            .filter_map(|t| t.hash_string.parse().ok())
            .collect();
        if ours.is_empty() {
            return Ok(());
        }
        arguments["ids"] = hash_ids(&ours);
        self.rpc.call(method, arguments).await.map(drop)
    }

    /// `torrent-set labels` replaces the whole list: compute each torrent's
    /// new list, keep our own label, and send one call per distinct list.
    async fn relabel(
        &self,
        hashes: &[InfoHash],
        change: impl Fn(&mut Vec<String>),
    ) -> Result<(), ClientError> {
        let mut groups: BTreeMap<Vec<String>, Vec<InfoHash>> = BTreeMap::new();
        for torrent in self.ours(hashes).await? {
            let mut labels = torrent.labels.clone();
            change(&mut labels);
            labels.insert(0, self.label().to_owned());
            let labels = clean_labels(labels)?;
            if let Ok(hash) = torrent.hash_string.parse() {
                groups.entry(labels).or_default().push(hash);
            }
        }
        for (labels, hashes) in groups {
            self.rpc
                .call(
                    "torrent-set",
                    json!({"ids": hash_ids(&hashes), "labels": labels}),
                )
                .await?;
        }
        Ok(())
    }
}
