//! The web of trust as the store keeps it: the follow lists of the keys
//! we follow, the trusted keys as last computed, when each second-hop
//! key's outbox was last read, and each record's trusted count.

use std::collections::HashMap;

use rusqlite::params;
use upseed_core::trust::{Hop, TrustedKey};
use upseed_core::{InfoHash, PublicKey};

use super::{Store, StoreError};

/// The migration that adds the web of trust.
pub(super) const MIGRATION: &str = r#"
-- The follow lists of the keys we follow, from their outboxes and
-- histories: who `owner` follows.
CREATE TABLE follow_lists (
    owner BLOB NOT NULL,
    key   BLOB NOT NULL,
    PRIMARY KEY (owner, key)
) STRICT, WITHOUT ROWID;
-- The web of trust as last computed: hop 0 (us), 1 (our follows), 2
-- (keys enough of our follows follow), and how many follows follow each.
CREATE TABLE trust (
    key       BLOB PRIMARY KEY CHECK (length(key) = 32),
    hop       INTEGER NOT NULL CHECK (hop IN (0, 1, 2)),
    followers INTEGER NOT NULL
) STRICT;
-- When the outbox of a second-hop key was last read.
CREATE TABLE trust_reads (
    key     BLOB PRIMARY KEY,
    read_at INTEGER NOT NULL
) STRICT;
-- How many distinct trusted keys upvote each record in their outboxes,
-- its author included when trusted. Only records with at least one.
CREATE TABLE trusted_counts (
    infohash BLOB PRIMARY KEY,
    trusted  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
"#;

/// How many keys the web holds at each hop.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
pub struct TrustSize {
    /// Keys we follow that count (muted ones do not).
    pub follows: usize,
    /// Keys enough of our follows follow.
    pub second_hop: usize,
}

/// Follow lists, the trusted keys and trusted counts.
impl Store {
    /// Keeps `keys` as the follow list of `owner`, in place of the one kept.
    pub fn set_follow_list(
        &mut self,
        owner: PublicKey,
        keys: &[PublicKey],
    ) -> Result<(), StoreError> {
        let sqlite = super::sqlite_error(&self.path);
        let tx = self.conn.transaction().map_err(&sqlite)?;
        tx.execute(
            "DELETE FROM follow_lists WHERE owner = ?1",
            params![owner.as_bytes()],
        )
        .map_err(&sqlite)?;
        {
            let mut insert = tx
                .prepare_cached("INSERT OR IGNORE INTO follow_lists (owner, key) VALUES (?1, ?2)")
                .map_err(&sqlite)?;
            for key in keys {
                insert
                    .execute(params![owner.as_bytes(), key.as_bytes()])
                    .map_err(&sqlite)?;
            }
        }
        tx.commit().map_err(&sqlite)
    }

    /// The follow lists kept of `owners`.
    pub fn follow_lists(
        &self,
        owners: &[PublicKey],
    ) -> Result<HashMap<PublicKey, Vec<PublicKey>>, StoreError> {
        let mut out = HashMap::new();
        for owner in owners {
            let keys = self.keys(
                "SELECT key FROM follow_lists WHERE owner = ?1",
                params![owner.as_bytes()],
            )?;
            out.insert(*owner, keys);
        }
        Ok(out)
    }

    /// Keeps `trusted` as the web of trust, drops the signed votes of keys
    /// that are neither in it nor followed, and counts again each record's
    /// trusted upvotes.
    pub fn set_trust(&mut self, trusted: &[TrustedKey]) -> Result<(), StoreError> {
        let sqlite = super::sqlite_error(&self.path);
        let tx = self.conn.transaction().map_err(&sqlite)?;
        tx.execute("DELETE FROM trust", []).map_err(&sqlite)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO trust (key, hop, followers) VALUES (?1, ?2, ?3)",
                )
                .map_err(&sqlite)?;
            for t in trusted {
                insert
                    .execute(params![
                        t.key.as_bytes(),
                        i64::from(t.hop.number()),
                        i64::try_from(t.followers).unwrap_or(i64::MAX)
                    ])
                    .map_err(&sqlite)?;
            }
        }
        tx.execute(
            "DELETE FROM signed_votes WHERE voter NOT IN (SELECT key FROM trust)
             AND voter NOT IN (SELECT key FROM follows)",
            [],
        )
        .map_err(&sqlite)?;
        tx.execute(
            "DELETE FROM trust_reads WHERE key NOT IN (SELECT key FROM trust)",
            [],
        )
        .map_err(&sqlite)?;
        tx.commit().map_err(&sqlite)?;
        drop(sqlite);
        self.count_trusted()
    }

    /// Counts again each record's distinct trusted upvoters, its trusted
    /// author included.
    pub fn count_trusted(&mut self) -> Result<(), StoreError> {
        let sqlite = super::sqlite_error(&self.path);
        let tx = self.conn.transaction().map_err(&sqlite)?;
        tx.execute("DELETE FROM trusted_counts", [])
            .map_err(&sqlite)?;
        tx.execute(
            "INSERT INTO trusted_counts (infohash, trusted)
             SELECT infohash, count(*) FROM (
                 SELECT v.infohash, v.voter AS key FROM signed_votes v
                 JOIN trust t ON t.key = v.voter
                 UNION
                 SELECT r.infohash, r.author AS key FROM records r
                 JOIN trust t ON t.key = r.author
             ) GROUP BY infohash",
            [],
        )
        .map_err(&sqlite)?;
        tx.commit().map_err(&sqlite)
    }

    /// The web of trust as last computed: us, our follows, then the second
    /// hop by how many follows follow each key.
    pub fn trust(&self) -> Result<Vec<TrustedKey>, StoreError> {
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT key, hop, followers FROM trust ORDER BY hop, followers DESC, key",
            )
            .map_err(self.sqlite())?;
        let rows = statement
            .query_map([], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(self.sqlite())?;
        let mut out = Vec::new();
        for row in rows {
            let (key, hop, followers) = row.map_err(self.sqlite())?;
            let hop = u8::try_from(hop).ok().and_then(Hop::from_number);
            if let (Some(key), Some(hop)) = (super::key_from(&key), hop) {
                out.push(TrustedKey {
                    key,
                    hop,
                    followers: usize::try_from(followers).unwrap_or(0),
                });
            }
        }
        Ok(out)
    }

    /// How many records by `author` the store took in since `since`.
    pub fn records_by_since(&self, author: PublicKey, since: u64) -> Result<usize, StoreError> {
        self.count(
            "SELECT count(*) FROM records WHERE author = ?1 AND first_seen >= ?2",
            params![author.as_bytes(), i64::try_from(since).unwrap_or(i64::MAX)],
        )
    }

    /// Whether `key` is in the web of trust as last computed.
    pub fn trusts(&self, key: PublicKey) -> Result<bool, StoreError> {
        Ok(self.count(
            "SELECT count(*) FROM trust WHERE key = ?1",
            params![key.as_bytes()],
        )? > 0)
    }

    /// How many keys the web holds at each hop.
    pub fn trust_size(&self) -> Result<TrustSize, StoreError> {
        Ok(TrustSize {
            follows: self.count("SELECT count(*) FROM trust WHERE hop = 1", [])?,
            second_hop: self.count("SELECT count(*) FROM trust WHERE hop = 2", [])?,
        })
    }

    /// Up to `limit` second-hop keys whose outbox was read least recently
    /// (never first).
    pub fn second_hop_to_read(&self, limit: usize) -> Result<Vec<PublicKey>, StoreError> {
        self.keys(
            "SELECT t.key FROM trust t LEFT JOIN trust_reads r ON r.key = t.key
             WHERE t.hop = 2 ORDER BY coalesce(r.read_at, -1), t.followers DESC, t.key
             LIMIT ?1",
            params![i64::try_from(limit).unwrap_or(i64::MAX)],
        )
    }

    /// Records that the outbox of the second-hop key `key` was read at
    /// `now`, holding `upvotes` (its newest), which replace its signed
    /// votes; `None` when it was not found, which keeps them.
    pub fn put_second_hop_votes(
        &mut self,
        key: PublicKey,
        upvotes: Option<&[InfoHash]>,
        now: u64,
    ) -> Result<(), StoreError> {
        let sqlite = super::sqlite_error(&self.path);
        let tx = self.conn.transaction().map_err(&sqlite)?;
        if let Some(upvotes) = upvotes {
            tx.execute(
                "DELETE FROM signed_votes WHERE voter = ?1",
                params![key.as_bytes()],
            )
            .map_err(&sqlite)?;
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO signed_votes (voter, infohash, seen_at)
                     VALUES (?1, ?2, ?3)",
                )
                .map_err(&sqlite)?;
            for hash in upvotes {
                insert
                    .execute(params![key.as_bytes(), hash.as_bytes(), now as i64])
                    .map_err(&sqlite)?;
            }
        }
        tx.execute(
            "INSERT INTO trust_reads (key, read_at) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET read_at = excluded.read_at",
            params![key.as_bytes(), now as i64],
        )
        .map_err(&sqlite)?;
        tx.commit().map_err(&sqlite)
    }

    /// Every record's trusted count, for those with at least one.
    pub fn trusted_counts(&self) -> Result<HashMap<InfoHash, u32>, StoreError> {
        self.counts_by_hash("SELECT infohash, trusted FROM trusted_counts")
    }

    /// The trusted count of `infohash`: 0 when no trusted key upvotes it.
    pub fn trusted_count(&self, infohash: InfoHash) -> Result<u32, StoreError> {
        let n = self.count(
            "SELECT coalesce(max(trusted), 0) FROM trusted_counts WHERE infohash = ?1",
            params![infohash.as_bytes()],
        )?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use upseed_core::trust::{TrustRule, web_of_trust};
    use upseed_core::{PostDraft, SecretKey};

    const NOW: u64 = 1_763_683_200;

    #[test]
    fn trusted_counts_follow_the_web_and_its_votes() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("store.db")).unwrap();
        let keys: Vec<SecretKey> = (1..=5u8).map(|n| SecretKey::from_seed(&[n; 32])).collect();
        let [me, alice, bob, dave, mallory] = [0, 1, 2, 3, 4].map(|i| keys[i].public_key());
        let post = PostDraft::new("counted")
            .unwrap()
            .sign(&keys[3], NOW)
            .unwrap();
        store.put_record(&post, NOW).unwrap();
        let hash = post.infohash();
        for (owner, follows) in [(alice, vec![dave]), (bob, vec![dave, mallory])] {
            store.follow(owner, NOW).unwrap();
            store.set_follow_list(owner, &follows).unwrap();
        }
        store.put_signed_votes(alice, &[hash], NOW).unwrap();
        store.put_signed_votes(mallory, &[hash], NOW).unwrap();
        let lists = store.follow_lists(&[alice, bob]).unwrap();
        let trust = web_of_trust(
            Some(me),
            &[alice, bob],
            &lists,
            |_| false,
            TrustRule::default(),
        );
        store.set_trust(&trust).unwrap();
        // Alice's vote and dave, its trusted author; mallory's vote is not
        // trusted (one follow only), and is dropped.
        assert_eq!(store.trusted_count(hash).unwrap(), 2);
        assert_eq!(store.signed_votes(hash).unwrap(), 1);
        assert_eq!(
            store.trust_size().unwrap(),
            TrustSize {
                follows: 2,
                second_hop: 1
            }
        );
        assert_eq!(store.second_hop_to_read(5).unwrap(), [dave]);
        store
            .put_second_hop_votes(dave, Some(&[hash]), NOW)
            .unwrap();
        store.count_trusted().unwrap();
        assert_eq!(store.trusted_count(hash).unwrap(), 2, "a key counts once");
        assert_eq!(store.trusted_counts().unwrap().get(&hash), Some(&2));
    }
}
