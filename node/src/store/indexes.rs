//! Verified versions of outbox indexes: ours, and those of followed keys.

use rusqlite::{OptionalExtension, params};
use upseed_core::index::Index;
use upseed_core::{InfoHash, PublicKey};

use super::{Store, StoreError, sqlite_error};

/// Outbox index versions and heads.
impl Store {
    /// Keeps a verified outbox index version.
    pub fn put_index(&mut self, index: &Index, now: u64) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO indexes (infohash, author, older, torrent, body, seen_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    index.infohash().as_bytes(),
                    index.author().as_bytes(),
                    index.older().map(|h| h.as_bytes().to_vec()),
                    index.torrent_bytes::<&str>(&[]),
                    index.body(),
                    now as i64
                ],
            )
            .map(drop)
            .map_err(self.sqlite())
    }

    /// A kept index version, verified again.
    pub fn index(&self, hash: InfoHash) -> Result<Option<Index>, StoreError> {
        let row: Option<(Vec<u8>, Vec<u8>)> = self
            .conn
            .query_row(
                "SELECT torrent, body FROM indexes WHERE infohash = ?1",
                params![hash.as_bytes()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(self.sqlite())?;
        let Some((torrent, body)) = row else {
            return Ok(None);
        };
        // Verified when stored; only its own clock matters now.
        let index =
            Index::verify(&torrent, &body, u64::MAX / 2).map_err(|e| StoreError::Corrupt {
                infohash: hash,
                reason: e.to_string(),
            })?;
        if index.infohash() != hash {
            return Err(StoreError::Corrupt {
                infohash: hash,
                reason: "the index hashes to another infohash".into(),
            });
        }
        Ok(Some(index))
    }

    /// The newest index version kept for `author`.
    pub fn index_head(&self, author: PublicKey) -> Result<Option<Index>, StoreError> {
        let head: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT infohash FROM index_heads WHERE author = ?1",
                params![author.as_bytes()],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.sqlite())?;
        match head.and_then(|h| <[u8; 20]>::try_from(h).ok()) {
            Some(h) => self.index(InfoHash::from_bytes(h)),
            None => Ok(None),
        }
    }

    /// Makes `index` (already kept) its author's newest version, and drops
    /// the version it replaces unless that one closed a segment.
    pub fn set_index_head(&mut self, index: &Index) -> Result<(), StoreError> {
        let old = self.index_head(index.author())?;
        let sqlite = sqlite_error(&self.path);
        let tx = self.conn.transaction().map_err(&sqlite)?;
        tx.execute(
            "INSERT INTO index_heads (author, infohash) VALUES (?1, ?2)
             ON CONFLICT (author) DO UPDATE SET infohash = excluded.infohash",
            params![index.author().as_bytes(), index.infohash().as_bytes()],
        )
        .map_err(&sqlite)?;
        if let Some(old) =
            old.filter(|o| o.infohash() != index.infohash() && index.older() != Some(o.infohash()))
        {
            tx.execute(
                "DELETE FROM indexes WHERE infohash = ?1",
                params![old.infohash().as_bytes()],
            )
            .map_err(&sqlite)?;
        }
        tx.commit().map_err(&sqlite)
    }

    /// `head` and the older segments kept for it, newest first, and the
    /// first older segment not kept, if any.
    pub fn index_chain(&self, head: Index) -> Result<(Vec<Index>, Option<InfoHash>), StoreError> {
        let mut chain = vec![head];
        while let Some(older) = chain.last().and_then(Index::older) {
            if chain.len() > upseed_core::index::MAX_SEGMENTS {
                break;
            }
            match self.index(older)? {
                Some(index) => chain.push(index),
                None => return Ok((chain, Some(older))),
            }
        }
        Ok((chain, None))
    }
}
