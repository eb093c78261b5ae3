//! What the engine seeds, kept by the engine itself: one small file per
//! torrent, written once when it is added and removed with it.
//!
//! librqbit's own session store rewrites one JSON file holding every
//! torrent on each add (ten thousand adds wrote gigabytes), and keeps a
//! second open file per torrent for its resume bitfield. An upseed
//! torrent is one piece, so checking it again at start costs one small
//! read, less than the open file its resume data would hold all along.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use upseed_core::InfoHash;

/// The folder of saved torrents, inside the engine's folder.
#[derive(Debug, Clone)]
pub(crate) struct Seeded {
    dir: PathBuf,
}

/// One saved torrent: its metainfo and where its data lives.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Saved {
    /// The folder the torrent's file is in.
    pub(crate) save_path: String,
    /// The metainfo (a `.torrent` file's bytes), base64.
    #[serde(with = "base64_bytes")]
    pub(crate) metainfo: Vec<u8>,
    /// Trackers besides the metainfo's own: a magnet link's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) trackers: Vec<String>,
}

impl Seeded {
    /// The saved torrents in `dir`, which is created if missing.
    pub(crate) fn open(dir: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    fn path(&self, hash: InfoHash) -> PathBuf {
        self.dir.join(format!("{hash}.json"))
    }

    /// Saves one torrent, replacing the file whole (written aside, then
    /// renamed), so a crash leaves the old file or the new one.
    pub(crate) fn save(&self, hash: InfoHash, saved: &Saved) -> std::io::Result<()> {
        let path = self.path(hash);
        let aside = path.with_extension("json.tmp");
        std::fs::write(&aside, serde_json::to_vec(saved)?)?;
        std::fs::rename(&aside, &path)
    }

    /// Forgets one torrent; one never saved is no error.
    pub(crate) fn forget(&self, hash: InfoHash) -> std::io::Result<()> {
        match std::fs::remove_file(self.path(hash)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Every saved torrent. A file that does not parse, or whose name is
    /// not an infohash, is skipped with a warning and left in place: the
    /// engine never deletes what it cannot read.
    pub(crate) fn load(&self) -> std::io::Result<Vec<(InfoHash, Saved)>> {
        let mut all = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let path = entry?.path();
            let Some(hash) = hash_of(&path) else {
                continue;
            };
            let read = std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string()));
            match read {
                Ok(saved) => all.push((hash, saved)),
                Err(error) => tracing::warn!(
                    path = %path.display(),
                    %error,
                    "skipped a saved torrent that does not read; remove the file, and upseed adds the torrent again if it still seeds it"
                ),
            }
        }
        all.sort_by_key(|(hash, _)| *hash);
        Ok(all)
    }
}

/// The infohash a saved torrent's file is named for.
fn hash_of(path: &Path) -> Option<InfoHash> {
    let name = path.file_name()?.to_str()?;
    name.strip_suffix(".json")?.parse().ok()
}

mod base64_bytes {
    use base64::Engine as _;

    pub(super) fn serialize<S: serde::Serializer>(
        bytes: &[u8],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::BASE64.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<u8>, D::Error> {
        let text: String = serde::Deserialize::deserialize(deserializer)?;
        super::BASE64.decode(text).map_err(serde::de::Error::custom)
    }
}

const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn saved_torrents_come_back_and_an_unreadable_one_is_skipped_not_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let seeded = Seeded::open(dir.path().join("torrents")).unwrap();
        let (a, b) = (InfoHash::from_bytes([1; 20]), InfoHash::from_bytes([2; 20]));
        for hash in [a, b] {
            let saved = Saved {
                save_path: "/posts".into(),
                metainfo: vec![b'd', hash.as_bytes()[0], b'e'],
                trackers: vec![format!("http://tracker.test/{}", hash.as_bytes()[0])],
            };
            seeded.save(hash, &saved).unwrap();
        }
        let broken = dir
            .path()
            .join("torrents")
            .join(format!("{}.json", InfoHash::from_bytes([3; 20])));
        std::fs::write(&broken, b"{cut short").unwrap();
        std::fs::write(dir.path().join("torrents").join("notes.txt"), b"mine").unwrap();

        let loaded = seeded.load().unwrap();
        let hashes: Vec<InfoHash> = loaded.iter().map(|(h, _)| *h).collect();
        assert_eq!(hashes, [a, b]);
        assert_eq!(loaded[1].1.metainfo, [b'd', 2, b'e']);
        assert_eq!(loaded[1].1.save_path, "/posts");
        assert_eq!(loaded[1].1.trackers, ["http://tracker.test/2"]);
        assert!(broken.exists(), "an unreadable file is left for the user");

        seeded.forget(a).unwrap();
        seeded.forget(a).unwrap();
        let hashes: Vec<InfoHash> = seeded.load().unwrap().into_iter().map(|(h, _)| h).collect();
        assert_eq!(hashes, [b]);
    }
}
