//! The social graph and what the DHT side keeps: follows, boards seen,
//! followed outbox items, signed votes, our profile and our outbox.

use std::collections::{HashMap, HashSet};

use rusqlite::{OptionalExtension, params};
use upseed_core::{InfoHash, PublicKey};

use super::{Store, StoreError};

/// The migration that keeps our records' board proofs of work.
pub(super) const BOARD_NONCES: &str = r#"
-- The nonce that proves work for each of our records on its board, found
-- once: sync puts the record back on its board for 12 hours.
CREATE TABLE board_nonces (
    infohash BLOB PRIMARY KEY CHECK (length(infohash) = 20),
    nonce    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
"#;

/// The most entries kept for one board: four boards' worth.
pub const MAX_BOARD_ENTRIES: usize = 4 * upseed_core::item::BOARD_CAPACITY;

/// A signed DHT item as it was read, to put again unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredItem {
    /// The signer.
    pub key: PublicKey,
    /// Its sequence number.
    pub seq: i64,
    /// The signer's signature over salt, seq and value.
    pub signature: [u8; 64],
    /// The value.
    pub value: Vec<u8>,
}

/// Follows, boards, outboxes and signed votes.
impl Store {
    /// Follows `key`; returns whether it was new. Records dropped because a
    /// mute list muted `key` may be fetched again: lists never mute whom we
    /// follow.
    pub fn follow(&mut self, key: PublicKey, now: u64) -> Result<bool, StoreError> {
        self.conn
            .execute(
                "DELETE FROM muted_records WHERE author = ?1",
                params![key.to_z32()],
            )
            .map_err(self.sqlite())?;
        self.set_member("follows", "key", key.as_bytes(), Some(now))
    }

    /// Stops following `key`; returns whether we did.
    pub fn unfollow(&mut self, key: PublicKey) -> Result<bool, StoreError> {
        self.set_member("follows", "key", key.as_bytes(), None)
    }

    /// The keys we follow, oldest first.
    pub fn follows(&self) -> Result<Vec<PublicKey>, StoreError> {
        self.keys("SELECT key FROM follows ORDER BY since, key", [])
    }

    /// Remembers the entries seen on a board; returns all it ever listed,
    /// newest first.
    pub fn board_seen(
        &mut self,
        board: PublicKey,
        entries: &[InfoHash],
        now: u64,
    ) -> Result<Vec<InfoHash>, StoreError> {
        self.insert_each(
            "INSERT INTO board_entries (board, infohash, seen_at) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
            board.as_bytes(),
            entries,
            now,
        )?;
        // A board holds at most 49 entries: keeping four boards' worth of
        // the newest bounds what a vandal can make a reader store.
        self.conn
            .execute(
                "DELETE FROM board_entries WHERE board = ?1 AND infohash NOT IN (
                     SELECT infohash FROM board_entries WHERE board = ?1
                     ORDER BY seen_at DESC LIMIT ?2)",
                params![board.as_bytes(), MAX_BOARD_ENTRIES as i64],
            )
            .map_err(self.sqlite())?;
        self.hashes(
            "SELECT infohash FROM board_entries WHERE board = ?1 ORDER BY seen_at DESC",
            params![board.as_bytes()],
        )
    }

    /// When `board` was last read from the DHT.
    pub fn board_read_at(&self, board: PublicKey) -> Result<Option<u64>, StoreError> {
        self.conn
            .query_row(
                "SELECT read_at FROM board_reads WHERE board = ?1",
                params![board.as_bytes()],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map(|t| t.map(i64::unsigned_abs))
            .map_err(self.sqlite())
    }

    /// Records that `board` was read from the DHT at `now`.
    pub fn set_board_read(&mut self, board: PublicKey, now: u64) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO board_reads (board, read_at) VALUES (?1, ?2)
                 ON CONFLICT (board) DO UPDATE SET read_at = excluded.read_at",
                params![board.as_bytes(), now as i64],
            )
            .map(drop)
            .map_err(self.sqlite())
    }

    /// The proof-of-work nonce kept for our record `hash`'s board entry.
    pub fn board_nonce(&self, hash: InfoHash) -> Result<Option<u64>, StoreError> {
        self.conn
            .query_row(
                "SELECT nonce FROM board_nonces WHERE infohash = ?1",
                params![hash.as_bytes()],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map(|n| n.map(|n| n as u64))
            .map_err(self.sqlite())
    }

    /// Keeps the proof-of-work nonce of our record `hash`'s board entry.
    pub fn put_board_nonce(&mut self, hash: InfoHash, nonce: u64) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO board_nonces (infohash, nonce) VALUES (?1, ?2)",
                params![hash.as_bytes(), nonce as i64],
            )
            .map(drop)
            .map_err(self.sqlite())
    }

    /// Keeps a followed key's signed outbox item, to republish it.
    pub fn put_outbox_item(
        &mut self,
        key: PublicKey,
        seq: i64,
        signature: &[u8; 64],
        value: &[u8],
        now: u64,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO outbox_items (key, seq, signature, value, seen_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (key) DO UPDATE SET seq = excluded.seq, signature = excluded.signature,
                 value = excluded.value, seen_at = excluded.seen_at WHERE excluded.seq > outbox_items.seq",
                params![key.as_bytes(), seq, signature.to_vec(), value, now as i64],
            )
            .map(drop)
            .map_err(self.sqlite())
    }

    /// The kept outbox item of `key`, to republish it.
    pub fn outbox_item(&self, key: PublicKey) -> Result<Option<StoredItem>, StoreError> {
        let row: Option<(i64, Vec<u8>, Vec<u8>)> = self
            .conn
            .query_row(
                "SELECT seq, signature, value FROM outbox_items WHERE key = ?1",
                params![key.as_bytes()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(self.sqlite())?;
        Ok(row.and_then(|(seq, signature, value)| {
            Some(StoredItem {
                key,
                seq,
                signature: signature.try_into().ok()?,
                value,
            })
        }))
    }

    /// Records upvotes signed by `voter` in their outbox.
    pub fn put_signed_votes(
        &mut self,
        voter: PublicKey,
        hashes: &[InfoHash],
        now: u64,
    ) -> Result<(), StoreError> {
        self.insert_each(
            "INSERT INTO signed_votes (voter, infohash, seen_at) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
            voter.as_bytes(),
            hashes,
            now,
        )
    }

    /// Withdraws `voter`'s signed votes that are not in `current`, the
    /// upvotes of their whole outbox history; returns how many.
    pub fn retract_signed_votes(
        &mut self,
        voter: PublicKey,
        current: &[InfoHash],
    ) -> Result<usize, StoreError> {
        let keep: HashSet<InfoHash> = current.iter().copied().collect();
        let gone: Vec<InfoHash> = self
            .hashes(
                "SELECT infohash FROM signed_votes WHERE voter = ?1",
                params![voter.as_bytes()],
            )?
            .into_iter()
            .filter(|h| !keep.contains(h))
            .collect();
        for hash in &gone {
            self.conn
                .execute(
                    "DELETE FROM signed_votes WHERE voter = ?1 AND infohash = ?2",
                    params![voter.as_bytes(), hash.as_bytes()],
                )
                .map_err(self.sqlite())?;
        }
        Ok(gone.len())
    }

    /// How many distinct followed keys signed an upvote of `infohash`.
    pub fn signed_votes(&self, infohash: InfoHash) -> Result<usize, StoreError> {
        self.count(
            "SELECT count(DISTINCT voter) FROM signed_votes WHERE infohash = ?1",
            params![infohash.as_bytes()],
        )
    }

    /// The display names in the outboxes kept for followed keys.
    pub fn outbox_names(&self) -> Result<HashMap<PublicKey, String>, StoreError> {
        let mut statement = self
            .conn
            .prepare_cached("SELECT key, value FROM outbox_items")
            .map_err(self.sqlite())?;
        let rows = statement
            .query_map([], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .map_err(self.sqlite())?;
        let mut names = HashMap::new();
        for row in rows {
            let (key, value) = row.map_err(self.sqlite())?;
            // An outbox that no longer decodes gives no name.
            let Ok(key) = <[u8; 32]>::try_from(key.as_slice()) else {
                continue;
            };
            if let (Ok(key), Ok(outbox)) = (
                PublicKey::from_bytes(&key),
                upseed_core::item::Outbox::decode(&value),
            ) && let Some(name) = outbox.name.filter(|n| !n.trim().is_empty())
            {
                names.insert(key, name);
            }
        }
        Ok(names)
    }

    /// The comment on one of `me`'s posts that the store saw last, by
    /// others: when it changes, our outbox's `r` has something new.
    pub fn newest_reply_to(&self, me: PublicKey) -> Result<Option<InfoHash>, StoreError> {
        Ok(self
            .hashes(
                "SELECT c.infohash FROM records c JOIN records p ON p.infohash = c.root
                 WHERE p.author = ?1 AND c.author IS NOT ?1
                 ORDER BY c.first_seen DESC, c.created DESC LIMIT 1",
                params![me.as_bytes()],
            )?
            .into_iter()
            .next())
    }

    /// Our display name, if set.
    pub fn profile_name(&self) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row("SELECT value FROM profile WHERE key = 'name'", [], |r| {
                r.get::<_, String>(0)
            })
            .optional()
            .map_err(self.sqlite())
    }

    /// Sets or clears a profile field (`name` or `about`).
    pub fn set_profile(&mut self, key: &str, value: Option<&str>) -> Result<(), StoreError> {
        match value {
            Some(v) => self.conn.execute(
                "INSERT INTO profile (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, v],
            ),
            None => self
                .conn
                .execute("DELETE FROM profile WHERE key = ?1", params![key]),
        }
        .map(drop)
        .map_err(self.sqlite())
    }

    /// Our outbox as the store has it: profile, our records and upvotes
    /// newest first, follows, and the comments on our posts.
    pub fn outbox(&self, me: PublicKey) -> Result<upseed_core::item::Outbox, StoreError> {
        let profile = |key: &str| {
            self.conn
                .query_row(
                    "SELECT value FROM profile WHERE key = ?1",
                    params![key],
                    |r| r.get::<_, String>(0),
                )
                .optional()
                .map_err(self.sqlite())
        };
        let hashes = |sql: &str| self.hashes(sql, params![me.as_bytes()]);
        Ok(upseed_core::item::Outbox {
            name: profile("name")?,
            about: profile("about")?,
            posts: hashes("SELECT infohash FROM records WHERE author = ?1 ORDER BY created DESC")?,
            upvotes: hashes(
                "SELECT v.infohash FROM votes v JOIN records r ON r.infohash = v.infohash
                 WHERE v.reason = 'upvoted' AND r.author IS NOT ?1 ORDER BY v.since DESC",
            )?,
            follows: self.follows()?,
            replies: hashes(
                "SELECT c.infohash FROM records c JOIN records p ON p.infohash = c.root
                 WHERE p.author = ?1 AND c.author IS NOT ?1 ORDER BY c.created DESC",
            )?,
            index: self.index_head(me)?.map(|i| i.infohash()),
        })
    }
}
