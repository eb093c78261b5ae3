//! What we seed and why: votes, pins, the seeded set, and the threads
//! whose retention has run out.

use rusqlite::{OptionalExtension, params};
use upseed_core::retention::{FadePolicy, Life, SeedReason, Seeded, Silence};
use upseed_core::{InfoHash, PublicKey};

use super::{Store, StoreError, hash_from, sqlite_error};

/// Why we seed a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vote {
    /// We wrote it.
    Authored,
    /// We chose to seed it.
    Upvoted,
}

impl Vote {
    /// The stored reason; the schema allows only these two.
    fn parse(reason: &str) -> Self {
        if reason == "authored" {
            Self::Authored
        } else {
            Self::Upvoted
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Authored => "authored",
            Self::Upvoted => "upvoted",
        }
    }
}

/// A faded post whose retention has run out, and what deleting it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired {
    /// The post.
    pub infohash: InfoHash,
    /// Comments stored in its thread, deleted with it.
    pub comments: usize,
    /// When a refresh first saw it unseeded.
    pub silent_since: u64,
}

/// What pruning removed, or would remove.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Pruned {
    /// Torrents remembered as not records.
    pub foreign: usize,
    /// Back-offs of failed fetches that have long run out.
    pub fetch_failures: usize,
    /// Board entries, and board read times.
    pub board_entries: usize,
    /// Comments whose thread never arrived.
    pub orphans: usize,
}

/// Votes, pins and retention.
impl Store {
    /// Records that we seed it, and why.
    pub fn set_vote(&mut self, infohash: InfoHash, vote: Vote, now: u64) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO votes (infohash, reason, since) VALUES (?1, ?2, ?3)
                 ON CONFLICT (infohash) DO UPDATE SET reason = CASE WHEN votes.reason = 'authored' THEN 'authored' ELSE excluded.reason END",
                params![infohash.as_bytes(), vote.as_str(), now as i64],
            )
            .map(drop)
            .map_err(self.sqlite())
    }

    /// Stores a record we wrote with its `authored` vote, in one
    /// transaction: a record of ours is never without its vote.
    pub fn put_authored(
        &mut self,
        record: &upseed_core::Record,
        now: u64,
    ) -> Result<(), StoreError> {
        let sqlite = sqlite_error(&self.path);
        let tx = self.conn.transaction().map_err(&sqlite)?;
        super::records::insert_record(&tx, record, now).map_err(&sqlite)?;
        tx.execute(
            "INSERT INTO votes (infohash, reason, since) VALUES (?1, 'authored', ?2)
             ON CONFLICT (infohash) DO UPDATE SET reason = 'authored'",
            params![record.infohash().as_bytes(), now as i64],
        )
        .map_err(&sqlite)?;
        tx.commit().map_err(&sqlite)
    }

    /// Forgets our vote; returns whether there was one.
    pub fn remove_vote(&mut self, infohash: InfoHash) -> Result<bool, StoreError> {
        self.remove_votes(&[infohash]).map(|n| n > 0)
    }

    /// Forgets our votes, in one transaction; returns how many there were.
    pub fn remove_votes(&mut self, hashes: &[InfoHash]) -> Result<usize, StoreError> {
        let sqlite = sqlite_error(&self.path);
        let tx = self.conn.transaction().map_err(&sqlite)?;
        let mut removed = 0;
        {
            let mut delete = tx
                .prepare_cached("DELETE FROM votes WHERE infohash = ?1")
                .map_err(&sqlite)?;
            for hash in hashes {
                removed += delete.execute(params![hash.as_bytes()]).map_err(&sqlite)?;
            }
        }
        tx.commit().map_err(&sqlite)?;
        Ok(removed)
    }

    /// Why we seed a record, if we do.
    pub fn vote(&self, infohash: InfoHash) -> Result<Option<Vote>, StoreError> {
        let reason: Option<String> = self
            .conn
            .query_row(
                "SELECT reason FROM votes WHERE infohash = ?1",
                params![infohash.as_bytes()],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.sqlite())?;
        Ok(reason.as_deref().map(Vote::parse))
    }

    /// Our votes, by infohash.
    pub fn votes(&self) -> Result<Vec<(InfoHash, Vote)>, StoreError> {
        let mut statement = self
            .conn
            .prepare_cached("SELECT infohash, reason FROM votes")
            .map_err(self.sqlite())?;
        let rows = statement
            .query_map([], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(self.sqlite())?;
        let mut out = Vec::new();
        for row in rows {
            let (hash, reason) = row.map_err(self.sqlite())?;
            out.extend(hash_from(&hash).map(|h| (h, Vote::parse(&reason))));
        }
        Ok(out)
    }

    /// Pins a stored record, so that neither the seeded-set bounds nor
    /// retention remove it.
    pub fn pin(&mut self, infohash: InfoHash, now: u64) -> Result<(), StoreError> {
        self.set_member("pins", "infohash", infohash.as_bytes(), Some(now))
            .map(drop)
    }

    /// Unpins a record; returns whether it was pinned.
    pub fn unpin(&mut self, infohash: InfoHash) -> Result<bool, StoreError> {
        self.set_member("pins", "infohash", infohash.as_bytes(), None)
    }

    /// Whether a record is pinned.
    pub fn pinned(&self, infohash: InfoHash) -> Result<bool, StoreError> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM pins WHERE infohash = ?1)",
                params![infohash.as_bytes()],
                |r| r.get(0),
            )
            .map_err(self.sqlite())
    }

    /// Everything we seed, with why, since when, and whether it is pinned.
    pub fn seeded(&self) -> Result<Vec<Seeded>, StoreError> {
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT v.infohash, v.reason, v.since, p.infohash IS NOT NULL
                 FROM votes v LEFT JOIN pins p ON p.infohash = v.infohash",
            )
            .map_err(self.sqlite())?;
        let rows = statement
            .query_map([], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, bool>(3)?,
                ))
            })
            .map_err(self.sqlite())?;
        let mut out = Vec::new();
        for row in rows {
            let (hash, reason, since, pinned) = row.map_err(self.sqlite())?;
            if let Some(infohash) = hash_from(&hash) {
                out.push(Seeded {
                    infohash,
                    reason: match Vote::parse(&reason) {
                        Vote::Authored => SeedReason::Authored,
                        Vote::Upvoted => SeedReason::Upvoted,
                    },
                    since: since.unsigned_abs(),
                    pinned,
                });
            }
        }
        Ok(out)
    }

    /// Faded posts past their retention at `now`, oldest silence first,
    /// leaving out every thread in which `me` wrote, or that holds a
    /// record we seed or pinned.
    pub fn expired(
        &self,
        fade: &FadePolicy,
        now: u64,
        me: Option<PublicKey>,
    ) -> Result<Vec<Expired>, StoreError> {
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT s.infohash, s.silent_refreshes, s.silent_since,
                    (SELECT count(*) FROM records c WHERE c.root = s.infohash)
                 FROM post_stats s
                 WHERE s.faded = 1 AND NOT EXISTS (
                     SELECT 1 FROM records r
                     WHERE (r.infohash = s.infohash OR r.root = s.infohash)
                     AND (r.author IS ?1
                          OR EXISTS (SELECT 1 FROM votes v WHERE v.infohash = r.infohash)
                          OR EXISTS (SELECT 1 FROM pins p WHERE p.infohash = r.infohash)))
                 ORDER BY s.silent_since, s.infohash",
            )
            .map_err(self.sqlite())?;
        let me = me.map(|k| k.as_bytes().to_vec());
        let rows = statement
            .query_map(params![me], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .map_err(self.sqlite())?;
        let mut out = Vec::new();
        for row in rows {
            let (hash, refreshes, since, comments) = row.map_err(self.sqlite())?;
            let silence = Silence {
                refreshes: u32::try_from(refreshes).unwrap_or(u32::MAX),
                since: since.map(i64::unsigned_abs),
            };
            if let (Some(infohash), Some(silent_since), Life::Expired) =
                (hash_from(&hash), silence.since, fade.life(silence, now))
            {
                out.push(Expired {
                    infohash,
                    comments: usize::try_from(comments).unwrap_or(0),
                    silent_since,
                });
            }
        }
        Ok(out)
    }

    /// Deletes posts with their threads and counts, in one transaction.
    /// Returns how many records went.
    pub fn delete_threads(&mut self, posts: &[InfoHash]) -> Result<usize, StoreError> {
        let sqlite = sqlite_error(&self.path);
        let tx = self.conn.transaction().map_err(&sqlite)?;
        let mut deleted = 0;
        {
            let mut members = tx
                .prepare_cached("SELECT infohash FROM records WHERE infohash = ?1 OR root = ?1")
                .map_err(&sqlite)?;
            let mut each = Vec::new();
            for table in ["post_stats", "swarm", "swarm_latest", "pins", "votes"] {
                each.push(
                    tx.prepare_cached(&format!("DELETE FROM {table} WHERE infohash = ?1"))
                        .map_err(&sqlite)?,
                );
            }
            let mut record = tx
                .prepare_cached("DELETE FROM records WHERE infohash = ?1")
                .map_err(&sqlite)?;
            for post in posts {
                let hashes: Vec<Vec<u8>> = members
                    .query_map(params![post.as_bytes()], |r| r.get(0))
                    .map_err(&sqlite)?
                    .collect::<Result<_, _>>()
                    .map_err(&sqlite)?;
                for hash in hashes {
                    for statement in &mut each {
                        statement.execute(params![hash]).map_err(&sqlite)?;
                    }
                    deleted += record.execute(params![hash]).map_err(&sqlite)?;
                }
            }
        }
        tx.commit().map_err(&sqlite)?;
        Ok(deleted)
    }

    /// Records a vote cast by `origin` (`user`, or a daemon rule's name).
    pub fn set_vote_from(
        &mut self,
        infohash: InfoHash,
        vote: Vote,
        origin: &str,
        now: u64,
    ) -> Result<(), StoreError> {
        self.set_vote(infohash, vote, now)?;
        self.conn
            .execute(
                "UPDATE votes SET origin = ?2 WHERE infohash = ?1 AND reason = 'upvoted'",
                params![infohash.as_bytes(), origin],
            )
            .map(drop)
            .map_err(self.sqlite())
    }

    /// How many of our votes `origin` cast.
    pub fn votes_from(&self, origin: &str) -> Result<usize, StoreError> {
        self.count(
            "SELECT count(*) FROM votes WHERE origin = ?1",
            params![origin],
        )
    }

    /// Posts we hold the text of and do not seed, with fewer than `below`
    /// seeders and not faded, fewest seeders first, then newest.
    pub fn rescue_candidates(&self, below: u32, limit: usize) -> Result<Vec<InfoHash>, StoreError> {
        self.hashes(
            "SELECT s.infohash FROM post_stats s JOIN records r ON r.infohash = s.infohash
             WHERE s.seeders < ?1 AND s.faded = 0 AND r.body IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM votes v WHERE v.infohash = s.infohash)
             ORDER BY s.seeders, s.created DESC LIMIT ?2",
            params![below, limit as i64],
        )
    }

    /// Records by the keys we follow that we do not seed, newest first.
    pub fn unseeded_by_followed(&self, limit: usize) -> Result<Vec<InfoHash>, StoreError> {
        self.hashes(
            "SELECT r.infohash FROM records r JOIN follows f ON f.key = r.author
             WHERE NOT EXISTS (SELECT 1 FROM votes v WHERE v.infohash = r.infohash)
             ORDER BY r.created DESC LIMIT ?1",
            params![limit as i64],
        )
    }

    /// Forgets, when `delete`, what discovery noted before `before`:
    /// foreign torrents, run-out back-offs, board entries and read times,
    /// and comments whose thread never arrived (unless `me` wrote them, or
    /// we seed or pinned them). Counts them either way.
    pub fn prune(
        &mut self,
        before: u64,
        me: Option<PublicKey>,
        delete: bool,
    ) -> Result<Pruned, StoreError> {
        let before = i64::try_from(before).unwrap_or(i64::MAX);
        let me = me.map(|k| k.as_bytes().to_vec());
        let sqlite = sqlite_error(&self.path);
        let tx = self.conn.transaction().map_err(&sqlite)?;
        let orphans = "SELECT c.infohash FROM records c
             WHERE c.root IS NOT NULL AND c.first_seen < ?1 AND c.author IS NOT ?2
             AND NOT EXISTS (SELECT 1 FROM records p WHERE p.infohash = c.root)
             AND NOT EXISTS (SELECT 1 FROM votes v WHERE v.infohash = c.infohash)
             AND NOT EXISTS (SELECT 1 FROM pins p WHERE p.infohash = c.infohash)";
        let count = |sql: &str, args: &[&dyn rusqlite::ToSql]| -> Result<usize, StoreError> {
            tx.query_row(&format!("SELECT count(*) FROM ({sql})"), args, |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| usize::try_from(n).unwrap_or(0))
            .map_err(&sqlite)
        };
        let pruned = Pruned {
            foreign: count(
                "SELECT 1 FROM foreign_torrents WHERE seen_at < ?1",
                &[&before],
            )?,
            fetch_failures: count(
                "SELECT 1 FROM fetch_failures WHERE next_at < ?1",
                &[&before],
            )?,
            board_entries: count(
                "SELECT 1 FROM board_entries WHERE seen_at < ?1
                 UNION ALL SELECT 1 FROM board_reads WHERE read_at < ?1",
                &[&before],
            )?,
            orphans: count(orphans, &[&before, &me])?,
        };
        if delete {
            for sql in [
                "DELETE FROM foreign_torrents WHERE seen_at < ?1",
                "DELETE FROM fetch_failures WHERE next_at < ?1",
                "DELETE FROM board_entries WHERE seen_at < ?1",
                "DELETE FROM board_reads WHERE read_at < ?1",
            ] {
                tx.execute(sql, params![before]).map_err(&sqlite)?;
            }
            for table in ["swarm", "swarm_latest", "records"] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE infohash IN ({orphans})"),
                    params![before, me],
                )
                .map_err(&sqlite)?;
            }
        }
        tx.commit().map_err(&sqlite)?;
        Ok(pruned)
    }
}
