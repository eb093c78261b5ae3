//! Upvotes cast in the client's own window: a user who opens a post's
//! magnet link in qBittorrent or Transmission downloads and seeds it.
//! The client runs `upseed ingest` when a torrent completes; a torrent
//! that is a valid record is stored and claimed (upseed's category or
//! label, and the vote tag) as an upvote. Any other torrent is left
//! exactly as it was.

use std::path::{Path, PathBuf};

use upseed_core::{InfoHash, Metainfo, Record, TorrentClient};

use crate::api::Node;
use crate::fetch::{FetchError, Readable, VOTE_TAG};
use crate::hook::{HOOK_FILE, HookState, hook_path, hook_script, hook_state};
use crate::store::Vote;
use crate::{Error, now};

/// Who cast a vote that came through the client's window, in the store.
pub const ORIGIN: &str = "client";

/// What `ingest` did with a torrent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingested {
    /// A valid record: stored, and claimed as an upvote.
    Claimed(Box<Record>),
    /// Already one of ours (a post, an upvote or a read): nothing to do.
    AlreadyOurs(InfoHash),
    /// Not an upseed record; left untouched.
    NotARecord {
        /// The torrent.
        infohash: InfoHash,
        /// Why it is not one.
        reason: String,
    },
    /// Still downloading; the client runs the hook again when it completes.
    Incomplete(InfoHash),
    /// The client does not hold it.
    NotHeld(InfoHash),
}

impl<C: TorrentClient> Node<C> {
    /// Claims the completed torrent `hash` as an upvote if it is a valid
    /// record; leaves any other torrent untouched.
    pub async fn ingest(&self, hash: InfoHash) -> Result<Ingested, Error> {
        let mut store = self.store()?;
        if store.vote(hash)?.is_some() {
            return Ok(Ingested::AlreadyOurs(hash));
        }
        let config = self.config()?;
        let client = self.client()?;
        let Some((status, metainfo)) = client.any_torrent(hash).await? else {
            return Ok(Ingested::NotHeld(hash));
        };
        let not_a_record = |reason: String| {
            Ok(Ingested::NotARecord {
                infohash: hash,
                reason,
            })
        };
        if status
            .size
            .is_some_and(|s| s > upseed_core::text::MAX_POST_BODY as u64)
        {
            return not_a_record(format!(
                "it holds {} bytes, more than any post or comment",
                status.size.unwrap_or_default()
            ));
        }
        if status.progress < 1.0 {
            return Ok(Ingested::Incomplete(hash));
        }
        let metainfo = match metainfo {
            Some(Metainfo::Bytes(bytes)) => bytes,
            Some(Metainfo::File(path)) => {
                let local = config.local_path(&path);
                match crate::files::read_regular(&local, upseed_core::MAX_TORRENT_LEN as u64) {
                    Ok(bytes) => bytes,
                    Err(e) => {
                        return not_a_record(format!(
                            "its metainfo at {} cannot be read: {e}",
                            local.display()
                        ));
                    }
                }
            }
            None => return Ok(Ingested::Incomplete(hash)),
        };
        let local = config.local_path(&status.content_path);
        let body = match crate::files::read_regular(&local, upseed_core::text::MAX_POST_BODY as u64)
        {
            Ok(body) => body,
            Err(e) => {
                return not_a_record(format!("its file {} cannot be read: {e}", local.display()));
            }
        };
        // The same verification a fetch makes.
        let record = match <Record as Readable>::verify(hash, &metainfo, &body, now()) {
            Ok(record) if record.infohash() == hash => record,
            Ok(_) => return not_a_record("the client returned another torrent's metainfo".into()),
            Err(FetchError::Invalid { reason, .. }) => return not_a_record(reason.to_string()),
            Err(e) => return not_a_record(e.to_string()),
        };
        store.put_record(&record, now())?;
        client.claim(hash, &[VOTE_TAG.to_owned()]).await?;
        store.set_vote_from(hash, Vote::Upvoted, ORIGIN, now())?;
        Ok(Ingested::Claimed(Box::new(record)))
    }

    /// Where the hook script goes: beside the config.
    pub fn hook_path(&self) -> PathBuf {
        hook_path(&self.home)
    }

    /// Whether the client runs this user's hook, another program or none.
    pub async fn hook_state(&self) -> Result<HookState, Error> {
        let config = self.config()?;
        Ok(hook_state(&self.home, config, self.client()?).await?)
    }

    /// Writes the hook script that runs `program` (this upseed) on this
    /// config, and has the client run it when a torrent completes. A
    /// client that runs another program keeps it unless `replace`.
    pub async fn install_hook(&self, program: &Path, replace: bool) -> Result<PathBuf, Error> {
        if let HookState::Other(other) = self.hook_state().await?
            && !replace
        {
            return Err(Error::HookTaken(other));
        }
        let path = self.hook_path();
        let config = std::path::absolute(&self.home.config).unwrap_or(self.home.config.clone());
        let script = hook_script(program, &config);
        crate::files::write_file(
            path.parent().unwrap_or(Path::new(".")),
            HOOK_FILE,
            script.as_bytes(),
        )?;
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).map_err(
                |source| Error::Write {
                    path: path.clone(),
                    source,
                },
            )?;
        }
        let config = self.config()?;
        self.client()?
            .set_completion_hook(&config.client_path(&path))
            .await?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use crate::hook::hook_script;
    use std::path::Path;

    #[test]
    fn the_hook_script_quotes_its_paths() {
        let script = hook_script(
            Path::new("/opt/it's/upseed"),
            Path::new("/home/a b/config.toml"),
        );
        assert!(
            script.contains(
                r"exec '/opt/it'\''s/upseed' --config '/home/a b/config.toml' --quiet ingest"
            ),
            "{script}"
        );
    }
}
