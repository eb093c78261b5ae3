//! Tags on the engine's torrents, which librqbit does not keep: a JSON
//! file beside its session, replaced atomically on every change.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use upseed_core::InfoHash;

/// Each torrent's tags, as saved.
#[derive(Debug)]
pub(crate) struct Tags {
    path: PathBuf,
    map: BTreeMap<InfoHash, BTreeSet<String>>,
}

impl Tags {
    /// The tags saved at `path`; none when the file is missing. A file
    /// that does not parse (cut short by a crash before the rename that
    /// guards it could not happen, but a user's edit could) loses its
    /// tags rather than stopping the engine.
    pub(crate) fn load(path: PathBuf) -> Self {
        let map = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        Self { path, map }
    }

    /// The tags of one torrent, sorted.
    pub(crate) fn of(&self, hash: &InfoHash) -> Vec<String> {
        self.map
            .get(hash)
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Adds tags to torrents.
    pub(crate) fn add(&mut self, hashes: &[InfoHash], tags: &[String]) {
        for hash in hashes {
            self.map
                .entry(*hash)
                .or_default()
                .extend(tags.iter().cloned());
        }
    }

    /// Removes tags from torrents.
    pub(crate) fn remove(&mut self, hashes: &[InfoHash], tags: &[String]) {
        for hash in hashes {
            if let Some(set) = self.map.get_mut(hash) {
                for tag in tags {
                    set.remove(tag);
                }
            }
        }
    }

    /// Forgets torrents.
    pub(crate) fn forget(&mut self, hashes: &[InfoHash]) {
        for hash in hashes {
            self.map.remove(hash);
        }
    }

    /// Writes the file: a temporary file, then a rename over the old one.
    pub(crate) fn save(&self) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(&self.map).map_err(std::io::Error::other)?;
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_survive_a_reload_and_a_torn_file_loses_only_tags() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tags.json");
        let a: InfoHash = "a".repeat(40).parse().unwrap();
        let b: InfoHash = "b".repeat(40).parse().unwrap();
        let mut tags = Tags::load(path.clone());
        tags.add(&[a, b], &["upseed-vote".into(), "x".into()]);
        tags.remove(&[b], &["x".into()]);
        tags.save().unwrap();
        let again = Tags::load(path.clone());
        assert_eq!(again.of(&a), ["upseed-vote", "x"]);
        assert_eq!(again.of(&b), ["upseed-vote"]);
        std::fs::write(&path, b"{\"aaaa").unwrap();
        assert!(Tags::load(path).of(&a).is_empty());
    }
}
