//! Mute lists: the ones the reader subscribes to (their signed items and
//! the entries of the version held) and whether the reader publishes
//! their own.

use rusqlite::{OptionalExtension, params};
use upseed_core::PublicKey;
use upseed_core::mute::{MuteJson, MuteKind, Mutes};
use upseed_core::mute_list::MuteList;

use super::{Store, StoreError, StoredItem};

/// The migration that adds mute lists.
pub(super) const MIGRATION: &str = r#"
-- The mute lists we subscribe to, by author. `created` is that of the
-- version held (NULL before the first read): an older one is a replay.
-- The signed item is kept to put it again, as anyone may.
CREATE TABLE mute_subscriptions (
    author    BLOB PRIMARY KEY CHECK (length(author) = 32),
    since     INTEGER NOT NULL,
    created   INTEGER,
    read_at   INTEGER,
    error     TEXT,
    seq       INTEGER,
    signature BLOB,
    value     BLOB
) STRICT;
-- The entries of the version held of each subscribed list.
CREATE TABLE list_mutes (
    list  BLOB NOT NULL,
    kind  TEXT NOT NULL CHECK (kind IN ('author', 'thread', 'community', 'word')),
    value TEXT NOT NULL,
    until INTEGER,
    PRIMARY KEY (list, kind, value)
) STRICT, WITHOUT ROWID;
-- Whether we publish our mutes, and the list we published last.
CREATE TABLE own_mute_list (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    published INTEGER NOT NULL CHECK (published IN (0, 1)),
    encoded   BLOB
) STRICT;
-- A list's entries and the keys we follow (whom lists never mute) change
-- what the matcher hides.
CREATE TRIGGER list_mutes_added AFTER INSERT ON list_mutes BEGIN
    UPDATE mutes_generation SET generation = generation + 1;
END;
CREATE TRIGGER list_mutes_removed AFTER DELETE ON list_mutes BEGIN
    UPDATE mutes_generation SET generation = generation + 1;
END;
CREATE TRIGGER follows_added AFTER INSERT ON follows BEGIN
    UPDATE mutes_generation SET generation = generation + 1;
END;
CREATE TRIGGER follows_removed AFTER DELETE ON follows BEGIN
    UPDATE mutes_generation SET generation = generation + 1;
END;
"#;

/// A subscribed list, as `upseed mutes` shows it.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Subscription {
    /// The list's author, z-base-32.
    pub author: String,
    /// When we subscribed, unix seconds.
    pub since: u64,
    /// When the version held was made; `null` before the first read.
    pub created: Option<u64>,
    /// How many of its entries are in force.
    pub entries: usize,
    /// When it was last read, unix seconds.
    pub read_at: Option<u64>,
    /// Why the last read failed, if it did.
    pub error: Option<String>,
}

fn secs(value: Option<i64>) -> Option<u64> {
    value.map(i64::unsigned_abs)
}

fn stamp(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Subscribed lists and our own.
impl Store {
    /// Subscribes to `author`'s list; returns whether it was new.
    pub fn subscribe_mutes(&mut self, author: PublicKey, now: u64) -> Result<bool, StoreError> {
        self.conn
            .execute(
                "INSERT INTO mute_subscriptions (author, since) VALUES (?1, ?2)
                 ON CONFLICT DO NOTHING",
                params![author.as_bytes(), stamp(now)],
            )
            .map(|n| n > 0)
            .map_err(self.sqlite())
    }

    /// Unsubscribes from `author`'s list, dropping its entries; returns
    /// whether we were subscribed.
    pub fn unsubscribe_mutes(&mut self, author: PublicKey) -> Result<bool, StoreError> {
        let sqlite = super::sqlite_error(&self.path);
        let tx = self.conn.transaction().map_err(&sqlite)?;
        tx.execute(
            "DELETE FROM list_mutes WHERE list = ?1",
            params![author.as_bytes()],
        )
        .map_err(&sqlite)?;
        let removed = tx
            .execute(
                "DELETE FROM mute_subscriptions WHERE author = ?1",
                params![author.as_bytes()],
            )
            .map_err(&sqlite)?;
        tx.commit().map_err(&sqlite)?;
        Ok(removed > 0)
    }

    /// The lists we subscribe to, oldest first, with their entries in force
    /// at `now`.
    pub fn mute_subscriptions(&self, now: u64) -> Result<Vec<Subscription>, StoreError> {
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT s.author, s.since, s.created, s.read_at, s.error,
                        (SELECT count(*) FROM list_mutes m WHERE m.list = s.author
                         AND (m.until IS NULL OR m.until > ?1))
                 FROM mute_subscriptions s ORDER BY s.since, s.author",
            )
            .map_err(self.sqlite())?;
        let rows = statement
            .query_map(params![stamp(now)], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            })
            .map_err(self.sqlite())?;
        let mut out = Vec::new();
        for row in rows {
            let (author, since, created, read_at, error, entries) = row.map_err(self.sqlite())?;
            let Some(author) = super::key_from(&author) else {
                continue;
            };
            out.push(Subscription {
                author: author.to_z32(),
                since: since.unsigned_abs(),
                created: secs(created),
                entries: usize::try_from(entries).unwrap_or(0),
                read_at: secs(read_at),
                error,
            });
        }
        Ok(out)
    }

    /// The authors of the lists we subscribe to.
    pub fn subscribed_lists(&self) -> Result<Vec<PublicKey>, StoreError> {
        self.keys(
            "SELECT author FROM mute_subscriptions ORDER BY since, author",
            [],
        )
    }

    /// The `created` of the version held of `author`'s list, if any.
    pub fn mute_list_created(&self, author: PublicKey) -> Result<Option<u64>, StoreError> {
        self.conn
            .query_row(
                "SELECT created FROM mute_subscriptions WHERE author = ?1",
                params![author.as_bytes()],
                |r| r.get::<_, Option<i64>>(0),
            )
            .optional()
            .map(|c| secs(c.flatten()))
            .map_err(self.sqlite())
    }

    /// Holds `list` in place of the version held of its author's list, with
    /// its signed `item` if it came from one: every entry of the old
    /// version goes, so a removal is honoured. Returns `false`, changing
    /// nothing, when we do not subscribe to it or hold a version made at
    /// the same time or later (a replay).
    pub fn put_mute_list(
        &mut self,
        list: &MuteList,
        item: Option<&StoredItem>,
        now: u64,
    ) -> Result<bool, StoreError> {
        let author = list.author();
        match self.conn.query_row(
            "SELECT created FROM mute_subscriptions WHERE author = ?1",
            params![author.as_bytes()],
            |r| r.get::<_, Option<i64>>(0),
        ) {
            Ok(Some(held)) if held.unsigned_abs() >= list.created() => return Ok(false),
            Ok(_) => {}
            Err(rusqlite::Error::QueryReturnedNoRows) => return Ok(false),
            Err(e) => return Err(self.sqlite()(e)),
        }
        let sqlite = super::sqlite_error(&self.path);
        let tx = self.conn.transaction().map_err(&sqlite)?;
        tx.execute(
            "DELETE FROM list_mutes WHERE list = ?1",
            params![author.as_bytes()],
        )
        .map_err(&sqlite)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO list_mutes (list, kind, value, until)
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(&sqlite)?;
            for entry in list.live(now) {
                insert
                    .execute(params![
                        author.as_bytes(),
                        entry.target.kind().as_str(),
                        entry.target.value(),
                        entry.until.map(stamp)
                    ])
                    .map_err(&sqlite)?;
            }
        }
        tx.execute(
            "UPDATE mute_subscriptions SET created = ?2, read_at = ?3, error = NULL,
                 seq = coalesce(?4, seq), signature = coalesce(?5, signature),
                 value = coalesce(?6, value)
             WHERE author = ?1",
            params![
                author.as_bytes(),
                stamp(list.created()),
                stamp(now),
                item.map(|i| i.seq),
                item.map(|i| i.signature.to_vec()),
                item.map(|i| i.value.clone()),
            ],
        )
        .map_err(&sqlite)?;
        tx.commit().map_err(&sqlite)?;
        Ok(true)
    }

    /// Records a read of `author`'s list at `now`, and why it failed, if it
    /// did; the version held stays.
    pub fn mute_list_read(
        &mut self,
        author: PublicKey,
        error: Option<&str>,
        now: u64,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE mute_subscriptions SET read_at = ?2, error = ?3 WHERE author = ?1",
                params![author.as_bytes(), stamp(now), error],
            )
            .map(drop)
            .map_err(self.sqlite())
    }

    /// The signed item kept of `author`'s list, to put it again.
    pub fn mute_list_item(&self, author: PublicKey) -> Result<Option<StoredItem>, StoreError> {
        let row: Option<ItemRow> = self
            .conn
            .query_row(
                "SELECT seq, signature, value FROM mute_subscriptions WHERE author = ?1",
                params![author.as_bytes()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(self.sqlite())?;
        Ok(match row {
            Some((Some(seq), Some(signature), Some(value))) => <[u8; 64]>::try_from(signature)
                .ok()
                .map(|signature| StoredItem {
                    key: author,
                    seq,
                    signature,
                    value,
                }),
            _ => None,
        })
    }

    /// The entries in force at `now` of `author`'s list, by kind then value.
    pub fn list_mutes(&self, author: PublicKey, now: u64) -> Result<Vec<MuteJson>, StoreError> {
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT m.kind, m.value, s.created, m.until FROM list_mutes m
                 JOIN mute_subscriptions s ON s.author = m.list
                 WHERE m.list = ?1 AND (m.until IS NULL OR m.until > ?2)
                 ORDER BY m.kind, m.value",
            )
            .map_err(self.sqlite())?;
        let rows = statement
            .query_map(params![author.as_bytes(), stamp(now)], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                ))
            })
            .map_err(self.sqlite())?;
        let mut out = Vec::new();
        for row in rows {
            let (kind, value, created, until) = row.map_err(self.sqlite())?;
            if let Some(kind) = MuteKind::parse(&kind) {
                out.push(MuteJson {
                    kind,
                    value,
                    since: secs(created).unwrap_or(0),
                    until: secs(until),
                });
            }
        }
        Ok(out)
    }

    /// Adds the subscribed lists' entries in force at `now` to `mutes`, and
    /// exempts the keys we follow from them.
    pub(super) fn add_list_mutes(&self, mutes: &mut Mutes, now: u64) -> Result<(), StoreError> {
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT list, kind, value, until FROM list_mutes
                 WHERE until IS NULL OR until > ?1 ORDER BY list",
            )
            .map_err(self.sqlite())?;
        let mut rows = statement
            .query(params![stamp(now)])
            .map_err(self.sqlite())?;
        let mut list: Option<(Vec<u8>, Option<PublicKey>)> = None;
        while let Some(row) = rows.next().map_err(self.sqlite())? {
            let raw = row.get_ref(0).map_err(self.sqlite())?.as_blob().ok();
            let author = match (&list, raw) {
                (Some((held, author)), Some(raw)) if held.as_slice() == raw => *author,
                (_, Some(raw)) => {
                    let author = super::key_from(raw);
                    list = Some((raw.to_vec(), author));
                    author
                }
                (_, None) => None,
            };
            let kind = row.get_ref(1).map_err(self.sqlite())?.as_str().ok();
            let value = row.get_ref(2).map_err(self.sqlite())?.as_str().ok();
            let until = row.get::<_, Option<i64>>(3).map_err(self.sqlite())?;
            if let (Some(author), Some(kind), Some(value)) =
                (author, kind.and_then(MuteKind::parse), value)
            {
                mutes.insert_listed(author, kind, value, secs(until));
            }
        }
        for key in self.follows()? {
            mutes.exempt(key);
        }
        Ok(())
    }

    /// Whether we publish our mutes, and the encoded list we published
    /// last.
    pub fn own_mute_list(&self) -> Result<(bool, Option<Vec<u8>>), StoreError> {
        self.conn
            .query_row(
                "SELECT published, encoded FROM own_mute_list WHERE id = 1",
                [],
                |r| Ok((r.get::<_, i64>(0)? == 1, r.get(1)?)),
            )
            .optional()
            .map(|row| row.unwrap_or((false, None)))
            .map_err(self.sqlite())
    }

    /// Records whether we publish our mutes, and the list last published.
    pub fn set_own_mute_list(
        &mut self,
        published: bool,
        encoded: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO own_mute_list (id, published, encoded) VALUES (1, ?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET published = excluded.published,
                 encoded = excluded.encoded",
                params![i64::from(published), encoded],
            )
            .map(drop)
            .map_err(self.sqlite())
    }
}

/// A kept item's `seq`, signature and value, each absent before a read.
type ItemRow = (Option<i64>, Option<Vec<u8>>, Option<Vec<u8>>);

#[cfg(test)]
mod tests {
    use super::*;
    use upseed_core::SecretKey;
    use upseed_core::mute::MuteTarget;
    use upseed_core::mute_list::ListEntry;

    const NOW: u64 = 1_763_683_200;

    fn list(created: u64, words: &[&str]) -> MuteList {
        let entries = words.iter().map(|w| ListEntry {
            target: MuteTarget::word(w).expect("word"),
            until: None,
        });
        MuteList::sign(&SecretKey::from_seed(&[7; 32]), created, entries).expect("sign")
    }

    #[test]
    fn a_newer_list_replaces_the_held_one_whole_and_a_replay_changes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(&dir.path().join("store.db")).expect("open");
        let author = SecretKey::from_seed(&[7; 32]).public_key();
        assert!(!store.put_mute_list(&list(NOW, &["a"]), None, NOW).unwrap());
        assert!(store.subscribe_mutes(author, NOW).unwrap());
        let before = store.mutes_generation().unwrap();
        assert!(
            store
                .put_mute_list(&list(NOW, &["a", "b"]), None, NOW)
                .unwrap()
        );
        assert!(store.mutes_generation().unwrap() > before);
        assert!(
            store
                .put_mute_list(&list(NOW + 5, &["b"]), None, NOW)
                .unwrap()
        );
        assert!(
            !store
                .put_mute_list(&list(NOW + 1, &["a"]), None, NOW)
                .unwrap()
        );
        let held: Vec<String> = store
            .list_mutes(author, NOW)
            .unwrap()
            .into_iter()
            .map(|m| m.value)
            .collect();
        assert_eq!(held, ["b"]);
        assert_eq!(store.mute_subscriptions(NOW).unwrap()[0].entries, 1);
        assert!(store.unsubscribe_mutes(author).unwrap());
        assert!(store.mute_set(NOW, None).unwrap().is_empty());
    }
}
