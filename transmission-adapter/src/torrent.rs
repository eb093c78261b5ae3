//! Transmission's torrent fields and statuses, in upseed's terms.

use serde_json::{Map, Value};
use upseed_core::{InfoHash, TorrentState, TorrentStatus};

use crate::names::snake;

/// The fields a listing asks for, in the legacy spelling.
pub(crate) const LIST_FIELDS: &[&str] = &[
    "id",
    "hashString",
    "name",
    "status",
    "percentDone",
    "labels",
    "error",
    "errorString",
    "downloadDir",
    "trackerStats",
    "metadataPercentComplete",
    "totalSize",
];

/// One tracker's view of the swarm; -1 means unknown.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct TrackerStat {
    pub(crate) seeder_count: i64,
    pub(crate) leecher_count: i64,
    pub(crate) download_count: i64,
}

/// A torrent as `torrent-get` returns it, keys folded to snake_case.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct TrTorrent {
    pub(crate) id: Option<i64>,
    pub(crate) hash_string: String,
    pub(crate) name: String,
    pub(crate) status: i64,
    pub(crate) percent_done: f64,
    pub(crate) labels: Vec<String>,
    /// 0 ok, 1 tracker warning, 2 tracker error, 3 local error.
    pub(crate) error: i64,
    pub(crate) error_string: String,
    pub(crate) download_dir: String,
    pub(crate) tracker_stats: Vec<TrackerStat>,
    /// 0.0 to 1.0; below 1 while a magnet link's metadata is being fetched.
    pub(crate) metadata_percent_complete: Option<f64>,
    pub(crate) total_size: i64,
    /// Where the daemon keeps the .torrent file, on its own disk.
    pub(crate) torrent_file: String,
}

/// Reads `torrents` in either form: a table (first row the field names) or objects.
pub(crate) fn rows(torrents: &Value) -> Result<Vec<TrTorrent>, String> {
    let Some(items) = torrents.as_array() else {
        return Err("`torrents` is not a list".into());
    };
    let objects: Vec<Value> = match items.first() {
        Some(Value::Array(header)) => {
            let names: Vec<String> = header
                .iter()
                .map(|n| snake(n.as_str().unwrap_or_default()))
                .collect();
            items[1..]
                .iter()
                .map(|row| {
                    let cells = row.as_array().cloned().unwrap_or_default();
                    Value::Object(names.iter().cloned().zip(cells).collect::<Map<_, _>>())
                })
                .collect()
        }
        _ => items.clone(),
    };
    objects
        .into_iter()
        .map(|o| serde_json::from_value(o).map_err(|e| e.to_string()))
        .collect()
}

fn count(values: impl Iterator<Item = i64>) -> Option<u32> {
    values
        .filter(|v| *v >= 0)
        .max()
        .and_then(|v| u32::try_from(v).ok())
}

impl TrTorrent {
    /// Whether the metadata is complete (assumed so when not asked for).
    pub(crate) fn has_metadata(&self) -> bool {
        self.metadata_percent_complete.is_none_or(|m| m >= 1.0)
    }

    /// What the torrent is doing.
    pub(crate) fn state(&self) -> TorrentState {
        if self.error == 3 {
            return TorrentState::Error(self.error_string.clone());
        }
        if !self.has_metadata() && matches!(self.status, 3 | 4) {
            return TorrentState::FetchingMetadata;
        }
        match self.status {
            0 => TorrentState::Stopped,
            1 | 2 => TorrentState::Checking,
            3 => TorrentState::QueuedToDownload,
            4 => TorrentState::Downloading,
            5 => TorrentState::QueuedToSeed,
            6 => TorrentState::Seeding,
            other => TorrentState::Other(format!("status {other}")),
        }
    }

    /// The shared status, or `None` for a hash that is not a v1 infohash.
    pub(crate) fn status(&self) -> Option<TorrentStatus> {
        let dir = self.download_dir.trim_end_matches('/');
        Some(TorrentStatus {
            infohash: self.hash_string.parse::<InfoHash>().ok()?,
            name: self.name.clone(),
            state: self.state(),
            progress: self.percent_done,
            seeders: count(self.tracker_stats.iter().map(|t| t.seeder_count)),
            leechers: count(self.tracker_stats.iter().map(|t| t.leecher_count)),
            completed: count(self.tracker_stats.iter().map(|t| t.download_count)),
            tags: self.labels.clone(),
            save_path: self.download_dir.clone(),
            content_path: format!("{dir}/{}", self.name),
            size: u64::try_from(self.total_size)
                .ok()
                .filter(|size| *size > 0 && self.has_metadata()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_and_objects_read_alike() {
        let table = serde_json::json!([
            ["id", "hashString", "status", "percentDone", "labels", "trackerStats"],
            [3, "a9993e364706816aba3e25717850c26c9cd0d89d", 6, 1.0, ["upseed"], [{"seeder_count": 2, "leecher_count": -1, "download_count": 5}]]
        ]);
        let objects = serde_json::json!([{
            "id": 3, "hash_string": "a9993e364706816aba3e25717850c26c9cd0d89d", "status": 6, "percent_done": 1.0,
            "labels": ["upseed"], "tracker_stats": [{"seeder_count": 2, "leecher_count": -1, "download_count": 5}]
        }]);
        for torrents in [table, objects] {
            let t = &rows(&torrents).unwrap()[0];
            let s = t.status().unwrap();
            assert_eq!(s.state, TorrentState::Seeding);
            assert_eq!(
                (s.seeders, s.leechers, s.completed),
                (Some(2), None, Some(5))
            );
        }
    }

    #[test]
    fn statuses() {
        let t = |status, error| TrTorrent {
            status,
            error,
            error_string: "No data found".into(),
            ..TrTorrent::default()
        };
        assert_eq!(t(5, 0).state(), TorrentState::QueuedToSeed);
        assert_eq!(t(2, 0).state(), TorrentState::Checking);
        assert_eq!(
            t(6, 1).state(),
            TorrentState::Seeding,
            "a tracker warning does not stop seeding"
        );
        assert_eq!(t(0, 3).state(), TorrentState::Error("No data found".into()));
        let magnet = TrTorrent {
            status: 4,
            metadata_percent_complete: Some(0.5),
            total_size: 0,
            hash_string: "a9993e364706816aba3e25717850c26c9cd0d89d".into(),
            ..TrTorrent::default()
        };
        assert_eq!(magnet.state(), TorrentState::FetchingMetadata);
        assert_eq!(magnet.status().unwrap().size, None);
    }
}
