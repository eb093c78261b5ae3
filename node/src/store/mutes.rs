//! The reader's mutes: one row per entry, and a generation that every
//! change to them bumps, so that a long-lived front end reloads its
//! matcher only when the list changed.

use std::collections::HashSet;

use rusqlite::{OptionalExtension, params};
use upseed_core::mute::{MuteJson, MuteKind, MuteTarget, Mutes};
use upseed_core::{InfoHash, PublicKey};

use super::{Store, StoreError};

/// The migration that adds the mutes.
pub(super) const MIGRATION: &str = r#"
-- What the reader muted: kind, canonical value, since and until (NULL:
-- never expires). Private: nothing here is published.
CREATE TABLE mutes (
    kind  TEXT NOT NULL CHECK (kind IN ('author', 'thread', 'community', 'word')),
    value TEXT NOT NULL,
    since INTEGER NOT NULL,
    until INTEGER,
    PRIMARY KEY (kind, value)
) STRICT;
-- Bumped by every change to the mutes.
CREATE TABLE mutes_generation (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
) STRICT;
INSERT INTO mutes_generation (id, generation) VALUES (1, 0);
CREATE TRIGGER mutes_added AFTER INSERT ON mutes BEGIN
    UPDATE mutes_generation SET generation = generation + 1;
END;
CREATE TRIGGER mutes_changed AFTER UPDATE ON mutes BEGIN
    UPDATE mutes_generation SET generation = generation + 1;
END;
CREATE TRIGGER mutes_removed AFTER DELETE ON mutes BEGIN
    UPDATE mutes_generation SET generation = generation + 1;
END;
-- Records discovery fetched and dropped because their author is muted
-- (z-base-32): not fetched again while the mute holds.
CREATE TABLE muted_records (
    infohash BLOB PRIMARY KEY CHECK (length(infohash) = 20),
    author   TEXT NOT NULL,
    seen_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX muted_records_by_author ON muted_records (author);
"#;

/// The reader's mutes.
impl Store {
    /// Mutes `target` from `now` until `until` (never if `None`); muting
    /// it again replaces its expiry. Returns whether it was new.
    pub fn mute(
        &mut self,
        target: &MuteTarget,
        now: u64,
        until: Option<u64>,
    ) -> Result<bool, StoreError> {
        let existed = self.muted(target)?.is_some();
        self.conn
            .execute(
                "INSERT INTO mutes (kind, value, since, until) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (kind, value) DO UPDATE SET until = excluded.until",
                params![
                    target.kind().as_str(),
                    target.value(),
                    now as i64,
                    until.map(|u| i64::try_from(u).unwrap_or(i64::MAX))
                ],
            )
            .map_err(self.sqlite())?;
        Ok(!existed)
    }

    /// Mutes every entry of `entries` (a target and its expiry) from `now`,
    /// in one transaction, as [`Store::mute`] does each.
    pub fn mute_all(
        &mut self,
        entries: &[(MuteTarget, Option<u64>)],
        now: u64,
    ) -> Result<(), StoreError> {
        let sqlite = super::sqlite_error(&self.path);
        let tx = self.conn.transaction().map_err(&sqlite)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO mutes (kind, value, since, until) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (kind, value) DO UPDATE SET until = excluded.until",
                )
                .map_err(&sqlite)?;
            for (target, until) in entries {
                insert
                    .execute(params![
                        target.kind().as_str(),
                        target.value(),
                        now as i64,
                        until.map(|u| i64::try_from(u).unwrap_or(i64::MAX))
                    ])
                    .map_err(&sqlite)?;
            }
        }
        tx.commit().map_err(&sqlite)
    }

    /// Unmutes `target`; returns whether it was muted.
    pub fn unmute(&mut self, target: &MuteTarget) -> Result<bool, StoreError> {
        self.conn
            .execute(
                "DELETE FROM mutes WHERE kind = ?1 AND value = ?2",
                params![target.kind().as_str(), target.value()],
            )
            .map(|n| n > 0)
            .map_err(self.sqlite())
    }

    /// The entry for `target`, if muted (expired or not).
    pub fn muted(&self, target: &MuteTarget) -> Result<Option<MuteJson>, StoreError> {
        self.conn
            .prepare_cached("SELECT since, until FROM mutes WHERE kind = ?1 AND value = ?2")
            .and_then(|mut s| {
                s.query_row(params![target.kind().as_str(), target.value()], |r| {
                    Ok(MuteJson {
                        kind: target.kind(),
                        value: target.value(),
                        since: r.get::<_, i64>(0)?.unsigned_abs(),
                        until: r.get::<_, Option<i64>>(1)?.map(i64::unsigned_abs),
                    })
                })
                .optional()
            })
            .map_err(self.sqlite())
    }

    /// Every entry that has not expired by `now`, by kind then value. A row
    /// that no longer parses (edited by hand) is skipped.
    pub fn mutes(&self, now: u64) -> Result<Vec<MuteJson>, StoreError> {
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT kind, value, since, until FROM mutes
                 WHERE until IS NULL OR until > ?1 ORDER BY kind, value",
            )
            .map_err(self.sqlite())?;
        let rows = statement
            .query_map(params![i64::try_from(now).unwrap_or(i64::MAX)], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                ))
            })
            .map_err(self.sqlite())?;
        let mut out = Vec::new();
        for row in rows {
            let (kind, value, since, until) = row.map_err(self.sqlite())?;
            let Some(kind) = MuteKind::parse(&kind) else {
                continue;
            };
            if let Ok(target) = MuteTarget::parse(kind, &value) {
                out.push(MuteJson {
                    kind,
                    value: target.value(),
                    since: since.unsigned_abs(),
                    until: until.map(i64::unsigned_abs),
                });
            }
        }
        Ok(out)
    }

    /// The matcher over every entry that has not expired by `now`: ours,
    /// then those of the lists we subscribe to, which never mute `me` or
    /// the keys we follow. A row not in canonical form (edited by hand) is
    /// skipped.
    pub fn mute_set(&self, now: u64, me: Option<PublicKey>) -> Result<Mutes, StoreError> {
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT kind, value, until FROM mutes WHERE until IS NULL OR until > ?1",
            )
            .map_err(self.sqlite())?;
        let mut rows = statement
            .query(params![i64::try_from(now).unwrap_or(i64::MAX)])
            .map_err(self.sqlite())?;
        let mut mutes = Mutes::default();
        while let Some(row) = rows.next().map_err(self.sqlite())? {
            let kind = row.get_ref(0).map_err(self.sqlite())?.as_str().ok();
            let value = row.get_ref(1).map_err(self.sqlite())?.as_str().ok();
            let until = row.get::<_, Option<i64>>(2).map_err(self.sqlite())?;
            if let (Some(kind), Some(value)) = (kind.and_then(MuteKind::parse), value) {
                mutes.insert_canonical(kind, value, until.map(i64::unsigned_abs));
            }
        }
        drop(rows);
        self.add_list_mutes(&mut mutes, now)?;
        if let Some(me) = me {
            mutes.exempt(me);
        }
        Ok(mutes)
    }

    /// Deletes the entries that expired by `now`; returns how many.
    pub fn prune_mutes(&mut self, now: u64) -> Result<usize, StoreError> {
        self.conn
            .execute(
                "DELETE FROM mutes WHERE until IS NOT NULL AND until <= ?1",
                params![i64::try_from(now).unwrap_or(i64::MAX)],
            )
            .map_err(self.sqlite())
    }

    /// Remembers that discovery dropped `infohash` because its `author`
    /// is muted.
    pub fn put_muted_record(
        &mut self,
        infohash: InfoHash,
        author: PublicKey,
        now: u64,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO muted_records (infohash, author, seen_at) VALUES (?1, ?2, ?3)",
                params![infohash.as_bytes(), author.to_z32(), now as i64],
            )
            .map(drop)
            .map_err(self.sqlite())
    }

    /// The records discovery dropped whose author is still muted at `now`.
    pub fn muted_records(&self, now: u64) -> Result<HashSet<InfoHash>, StoreError> {
        Ok(self
            .hashes(
                "SELECT r.infohash FROM muted_records r JOIN mutes m
                 ON m.kind = 'author' AND m.value = r.author
                 WHERE m.until IS NULL OR m.until > ?1
                 UNION
                 SELECT r.infohash FROM muted_records r JOIN list_mutes m
                 ON m.kind = 'author' AND m.value = r.author
                 WHERE (m.until IS NULL OR m.until > ?1)",
                params![i64::try_from(now).unwrap_or(i64::MAX)],
            )?
            .into_iter()
            .collect())
    }

    /// A number that changes whenever the mutes change.
    pub fn mutes_generation(&self) -> Result<i64, StoreError> {
        self.conn
            .prepare_cached("SELECT generation FROM mutes_generation WHERE id = 1")
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .map_err(self.sqlite())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use upseed_core::{PostDraft, SecretKey};

    const NOW: u64 = 1_763_683_200;

    #[test]
    fn mutes_round_trip_expire_and_bump_the_generation() {
        let dir = tempfile::tempdir().expect("dir");
        let mut store = Store::open(&dir.path().join("store.db")).expect("open");
        let start = store.mutes_generation().expect("generation");
        let word = MuteTarget::word("Spoilers").expect("word");
        let key = SecretKey::from_seed(&[2; 32]).public_key();
        assert!(store.mute(&word, NOW, Some(NOW + 60)).expect("mute"));
        assert!(
            store
                .mute(&MuteTarget::Author(key), NOW, None)
                .expect("mute")
        );
        assert!(!store.mute(&word, NOW, Some(NOW + 120)).expect("again"));
        assert!(store.mutes_generation().expect("generation") > start);
        let listed = store.mutes(NOW).expect("list");
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[1].value, "spoilers");
        assert_eq!(listed[1].until, Some(NOW + 120));

        let post = PostDraft::new("no spoilers here")
            .expect("post")
            .sign(&SecretKey::from_seed(&[1; 32]), NOW)
            .expect("sign");
        assert!(
            store
                .mute_set(NOW, None)
                .expect("set")
                .check(&post, NOW)
                .is_some()
        );
        // Expired: listed no more, matches nothing, and pruned.
        assert_eq!(store.mutes(NOW + 120).expect("list").len(), 1);
        assert_eq!(
            store
                .mute_set(NOW + 120, None)
                .expect("set")
                .check(&post, NOW + 120),
            None
        );
        assert_eq!(store.prune_mutes(NOW + 120).expect("prune"), 1);
        let before = store.mutes_generation().expect("generation");
        assert!(store.unmute(&MuteTarget::Author(key)).expect("unmute"));
        assert!(!store.unmute(&MuteTarget::Author(key)).expect("again"));
        assert!(store.mutes_generation().expect("generation") > before);
        assert!(store.mutes(NOW).expect("list").is_empty());
    }

    #[test]
    fn a_hand_edited_row_is_skipped() {
        let dir = tempfile::tempdir().expect("dir");
        let mut store = Store::open(&dir.path().join("store.db")).expect("open");
        store
            .conn
            .execute(
                "INSERT INTO mutes (kind, value, since) VALUES ('author', 'garbage', 1)",
                [],
            )
            .expect("insert");
        store
            .mute(&MuteTarget::word("kept").expect("word"), NOW, None)
            .expect("mute");
        let listed = store.mutes(NOW).expect("list");
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].value, "kept");
    }
}
