//! Edits and deletes: every valid supersede record seen, by target. The
//! one in force for a target is chosen by the protocol's rule
//! ([`Supersede::overrides`]), whatever order they arrived in. A record
//! named as a replacement never ranks on its own: its `post_stats` row is
//! dropped (or never written), so feeds show it only through its target.

use rusqlite::{Transaction, params};
use upseed_core::supersede::Supersede;
use upseed_core::{InfoHash, PublicKey};

use super::{Store, StoreError};

/// The migration that adds supersede records.
pub(super) const MIGRATION: &str = r#"
-- Supersede records (edits and deletes), kept whole and verified again
-- when read. `replacement` is empty for a delete.
CREATE TABLE supersedes (
    target      BLOB NOT NULL CHECK (length(target) = 20),
    seq         INTEGER NOT NULL,
    replacement BLOB NOT NULL,
    author      BLOB NOT NULL,
    encoded     BLOB NOT NULL,
    seen_at     INTEGER NOT NULL,
    PRIMARY KEY (target, seq, replacement)
) STRICT;
CREATE INDEX supersedes_by_replacement ON supersedes (replacement);
CREATE INDEX supersedes_by_author ON supersedes (author);
-- When sync last looked for edits and deletes of each upvoted record.
CREATE TABLE supersede_checks (
    infohash   BLOB PRIMARY KEY CHECK (length(infohash) = 20),
    checked_at INTEGER NOT NULL
) STRICT;
"#;

/// Whether `infohash` is named as a replacement, inside a transaction.
pub(super) fn is_replacement(tx: &Transaction<'_>, infohash: InfoHash) -> rusqlite::Result<bool> {
    tx.prepare_cached("SELECT 1 FROM supersedes WHERE replacement = ?1 LIMIT 1")?
        .exists(params![infohash.as_bytes()])
}

/// Edits and deletes.
impl Store {
    /// Keeps `record`, checked by the caller against its target's author;
    /// returns whether it was new. Its replacement, if stored, stops
    /// ranking on its own.
    pub fn put_supersede(&mut self, record: &Supersede, now: u64) -> Result<bool, StoreError> {
        let sqlite = super::sqlite_error(&self.path);
        let tx = self.conn.transaction().map_err(&sqlite)?;
        let replacement = record.replacement().map(|r| r.as_bytes().to_vec());
        let new = tx
            .prepare_cached(
                "INSERT INTO supersedes (target, seq, replacement, author, encoded, seen_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
            )
            .and_then(|mut s| {
                s.execute(params![
                    record.target().as_bytes(),
                    record.seq() as i64,
                    replacement.clone().unwrap_or_default(),
                    record.author().as_bytes(),
                    record.encode(),
                    now as i64,
                ])
            })
            .map_err(&sqlite)?
            > 0;
        if let Some(replacement) = replacement {
            tx.prepare_cached("DELETE FROM post_stats WHERE infohash = ?1")
                .and_then(|mut s| s.execute(params![replacement]))
                .map_err(&sqlite)?;
        }
        tx.commit().map_err(&sqlite)?;
        Ok(new)
    }

    /// Every valid supersede record of `target`, lowest `seq` first. A row
    /// that no longer verifies (the file was altered) is left out.
    pub fn supersede_history(&self, target: InfoHash) -> Result<Vec<Supersede>, StoreError> {
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT encoded FROM supersedes WHERE target = ?1 ORDER BY seq, replacement",
            )
            .map_err(self.sqlite())?;
        let rows = statement
            .query_map(params![target.as_bytes()], |r| r.get::<_, Vec<u8>>(0))
            .map_err(self.sqlite())?;
        let mut out = Vec::new();
        for row in rows {
            if let Ok(record) = Supersede::decode(&row.map_err(self.sqlite())?)
                && record.target() == target
            {
                out.push(record);
            }
        }
        Ok(out)
    }

    /// The supersede record in force for `target`, if any.
    pub fn supersede(&self, target: InfoHash) -> Result<Option<Supersede>, StoreError> {
        let history = self.supersede_history(target)?;
        Ok(upseed_core::supersede::in_force(&history).cloned())
    }

    /// Every record with a supersede record: what a page checks its
    /// records against before reading their edits one by one.
    pub fn supersede_targets(&self) -> Result<std::collections::HashSet<InfoHash>, StoreError> {
        Ok(self
            .hashes("SELECT DISTINCT target FROM supersedes", [])?
            .into_iter()
            .collect())
    }

    /// The target `infohash` is a replacement for, if it is one.
    pub fn replaced(&self, infohash: InfoHash) -> Result<Option<InfoHash>, StoreError> {
        Ok(self
            .hashes(
                "SELECT target FROM supersedes WHERE replacement = ?1 LIMIT 1",
                params![infohash.as_bytes()],
            )?
            .into_iter()
            .next())
    }

    /// The encoded supersede records `author` signed, oldest first.
    pub fn supersedes_by(&self, author: PublicKey) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT encoded FROM supersedes WHERE author = ?1 ORDER BY seen_at, seq",
            )
            .map_err(self.sqlite())?;
        let rows = statement
            .query_map(params![author.as_bytes()], |r| r.get::<_, Vec<u8>>(0))
            .map_err(self.sqlite())?;
        rows.collect::<Result<_, _>>().map_err(self.sqlite())
    }

    /// Up to `limit` records we upvoted, those checked longest ago (or
    /// never) for edits and deletes first.
    pub fn supersede_checks(&self, limit: usize) -> Result<Vec<InfoHash>, StoreError> {
        self.hashes(
            "SELECT v.infohash FROM votes v LEFT JOIN supersede_checks c ON c.infohash = v.infohash
             WHERE v.reason = 'upvoted' ORDER BY coalesce(c.checked_at, 0), v.infohash LIMIT ?1",
            params![i64::try_from(limit).unwrap_or(i64::MAX)],
        )
    }

    /// Records that `infohash` was checked for edits and deletes at `now`.
    pub fn supersede_checked(&mut self, infohash: InfoHash, now: u64) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO supersede_checks (infohash, checked_at) VALUES (?1, ?2)
                 ON CONFLICT (infohash) DO UPDATE SET checked_at = excluded.checked_at",
                params![infohash.as_bytes(), now as i64],
            )
            .map(drop)
            .map_err(self.sqlite())
    }

    /// Every version no longer in force: each superseded target, and each
    /// replacement a later edit or a delete replaced. What nobody should
    /// keep seeding.
    pub fn stale_versions(&self) -> Result<Vec<InfoHash>, StoreError> {
        let targets = self.supersede_targets()?;
        let mut out = Vec::new();
        for target in targets {
            let history = self.supersede_history(target)?;
            let kept = upseed_core::supersede::in_force(&history).and_then(Supersede::replacement);
            out.push(target);
            for record in &history {
                if let Some(replacement) = record.replacement()
                    && Some(replacement) != kept
                    && !out.contains(&replacement)
                {
                    out.push(replacement);
                }
            }
        }
        Ok(out)
    }
}
