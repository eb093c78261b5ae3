//! qBittorrent's torrent objects and their states, in upseed's terms.

use upseed_core::{InfoHash, TorrentState, TorrentStatus};

/// The fields of `torrents/info` (and of `sync/maindata` torrents) we read.
/// Missing fields default, so older versions and partial updates parse.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(default)]
pub(crate) struct QbTorrent {
    pub(crate) hash: String,
    pub(crate) name: String,
    pub(crate) state: String,
    pub(crate) progress: f64,
    /// Swarm seeders from the tracker; -1 when unknown.
    pub(crate) num_complete: i64,
    /// Swarm leechers from the tracker; -1 when unknown.
    pub(crate) num_incomplete: i64,
    /// Joined with ", ".
    pub(crate) tags: String,
    pub(crate) category: String,
    pub(crate) save_path: String,
    pub(crate) content_path: String,
    /// Bytes of all files; 0 or -1 before a magnet's metadata arrives.
    pub(crate) total_size: i64,
}

/// Maps a qBittorrent state name, from any version, onto upseed's states.
pub(crate) fn state(name: &str) -> TorrentState {
    match name {
        "uploading" | "stalledUP" | "forcedUP" => TorrentState::Seeding,
        "queuedUP" => TorrentState::QueuedToSeed,
        "downloading" | "stalledDL" | "forcedDL" => TorrentState::Downloading,
        "metaDL" | "forcedMetaDL" => TorrentState::FetchingMetadata,
        "queuedDL" => TorrentState::QueuedToDownload,
        "checkingUP" | "checkingDL" | "checkingResumeData" | "allocating" => TorrentState::Checking,
        // 5.0 renamed paused* to stopped*.
        "pausedUP" | "pausedDL" | "stoppedUP" | "stoppedDL" => TorrentState::Stopped,
        "error" | "missingFiles" => TorrentState::Error(name.to_owned()),
        other => TorrentState::Other(other.to_owned()),
    }
}

fn count(value: i64) -> Option<u32> {
    u32::try_from(value).ok()
}

impl QbTorrent {
    /// Converts to the shared status, or `None` when the hash is not a v1 infohash.
    pub(crate) fn status(&self) -> Option<TorrentStatus> {
        Some(TorrentStatus {
            infohash: self.hash.parse::<InfoHash>().ok()?,
            name: self.name.clone(),
            state: state(&self.state),
            progress: self.progress,
            seeders: count(self.num_complete),
            leechers: count(self.num_incomplete),
            // Only `torrents/trackers` has it, one call per torrent: left to tracker scrapes.
            completed: None,
            tags: self
                .tags
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            save_path: self.save_path.clone(),
            content_path: self.content_path.clone(),
            size: u64::try_from(self.total_size)
                .ok()
                .filter(|size| *size > 0 && state(&self.state) != TorrentState::FetchingMetadata),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_of_every_version() {
        assert_eq!(state("stalledUP"), TorrentState::Seeding);
        assert_eq!(state("queuedUP"), TorrentState::QueuedToSeed);
        assert_eq!(state("pausedUP"), TorrentState::Stopped);
        assert_eq!(state("stoppedUP"), TorrentState::Stopped);
        assert_eq!(
            state("missingFiles"),
            TorrentState::Error("missingFiles".into())
        );
        assert_eq!(state("moving"), TorrentState::Other("moving".into()));
    }

    #[test]
    fn unknown_counts_and_tags() {
        let t = QbTorrent {
            hash: "a9993e364706816aba3e25717850c26c9cd0d89d".into(),
            num_complete: -1,
            num_incomplete: 3,
            tags: "upseed-post, mine".into(),
            ..QbTorrent::default()
        };
        let s = t.status().unwrap();
        assert_eq!((s.seeders, s.leechers), (None, Some(3)));
        assert_eq!(s.tags, vec!["upseed-post", "mine"]);
        assert!(
            QbTorrent {
                hash: "v2hash".into(),
                ..t
            }
            .status()
            .is_none()
        );
    }
}
