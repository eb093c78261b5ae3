//! The current-count rule: which of several swarm counts for one torrent
//! (the user's client's, and each tracker's) a reader believes.

use std::collections::HashMap;

use crate::InfoHash;

/// The source name of counts that come from the user's client.
pub const CLIENT_SOURCE: &str = "client";

/// One swarm count, from one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwarmCount {
    /// The torrent.
    pub infohash: InfoHash,
    /// [`CLIENT_SOURCE`], or the tracker's announce URL.
    pub source: String,
    /// Seeders, if known.
    pub seeders: Option<u32>,
    /// Leechers, if known.
    pub leechers: Option<u32>,
    /// Completed downloads, if known.
    pub completed: Option<u32>,
}

/// What one batch of counts says of a torrent now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Current {
    /// Who seeds it.
    pub seeders: u32,
    /// How many finished downloading it: its reads.
    pub downloads: u32,
}

/// The current counts of each torrent in one batch: for seeders and for
/// downloads, the highest count any tracker reports, or the client's
/// count when no tracker reported the torrent. Trackers win because a
/// client repeats what a tracker told it at its last announce, which may
/// be half an hour old.
pub fn current_counts(counts: &[SwarmCount]) -> HashMap<InfoHash, Current> {
    let mut trackers: HashMap<InfoHash, Current> = HashMap::new();
    let mut client: HashMap<InfoHash, Current> = HashMap::new();
    for c in counts {
        let map = if c.source == CLIENT_SOURCE {
            &mut client
        } else {
            &mut trackers
        };
        let Some(seeders) = c.seeders else { continue };
        let entry = map.entry(c.infohash).or_default();
        entry.seeders = entry.seeders.max(seeders);
        entry.downloads = entry.downloads.max(c.completed.unwrap_or(0));
    }
    for (hash, current) in client {
        trackers.entry(hash).or_insert(current);
    }
    trackers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(source: &str, seeders: Option<u32>, completed: Option<u32>) -> SwarmCount {
        SwarmCount {
            infohash: InfoHash::from_bytes([1; 20]),
            source: source.into(),
            seeders,
            leechers: Some(0),
            completed,
        }
    }

    #[test]
    fn the_highest_tracker_count_beats_the_client() {
        let now = current_counts(&[
            count(CLIENT_SOURCE, Some(9), Some(9)),
            count("http://a/announce", Some(2), Some(5)),
            count("udp://b:1", Some(3), Some(1)),
        ]);
        assert_eq!(
            now[&InfoHash::from_bytes([1; 20])],
            Current {
                seeders: 3,
                downloads: 5
            }
        );
    }

    #[test]
    fn the_client_counts_when_no_tracker_answered() {
        let now = current_counts(&[
            count(CLIENT_SOURCE, Some(4), None),
            count("http://a/announce", None, None),
        ]);
        assert_eq!(
            now[&InfoHash::from_bytes([1; 20])],
            Current {
                seeders: 4,
                downloads: 0
            }
        );
        assert!(current_counts(&[count("http://a/announce", None, Some(3))]).is_empty());
    }
}
