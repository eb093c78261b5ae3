//! The local store: known records, our votes, and swarm counts over time,
//! in SQLite.
//!
//! Durability: WAL with `synchronous=FULL`, and one transaction per logical
//! change, so a change that returned is on disk and a process killed at
//! any point loses nothing acknowledged. Records are kept as their raw
//! info dict and body and verified again when loaded, so a damaged or
//! hand-edited database cannot smuggle in a record that does not verify.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use rusqlite_migration::{M, Migrations};
use upseed_core::rank::Signals;
use upseed_core::{InfoHash, Kind, Record};

/// Schema versions, oldest first. Never edit one that has shipped: add another.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE records (
    infohash   BLOB PRIMARY KEY CHECK (length(infohash) = 20),
    kind       TEXT NOT NULL CHECK (kind IN ('post', 'comment')),
    author     BLOB NOT NULL,
    created    INTEGER NOT NULL,
    community  TEXT,
    parent     BLOB,
    root       BLOB,
    info       BLOB NOT NULL,
    body       BLOB,
    first_seen INTEGER NOT NULL
) STRICT;
CREATE INDEX records_by_root ON records (root);
CREATE INDEX records_by_community ON records (community, created);

-- Posts we wrote or upvoted, so keep seeding.
CREATE TABLE votes (
    infohash BLOB PRIMARY KEY REFERENCES records (infohash),
    reason   TEXT NOT NULL CHECK (reason IN ('authored', 'upvoted')),
    since    INTEGER NOT NULL
) STRICT;

-- Every swarm count seen, from the client or a tracker, with its time.
CREATE TABLE swarm (
    infohash  BLOB NOT NULL,
    source    TEXT NOT NULL,
    seeders   INTEGER,
    leechers  INTEGER,
    completed INTEGER,
    seen_at   INTEGER NOT NULL,
    PRIMARY KEY (infohash, source, seen_at)
) STRICT;

-- What ranking reads, kept current in the same transactions as the above.
CREATE TABLE post_stats (
    infohash     BLOB PRIMARY KEY REFERENCES records (infohash),
    created      INTEGER NOT NULL,
    community    TEXT,
    seeders      INTEGER NOT NULL DEFAULT 0,
    last_comment INTEGER
) STRICT;
CREATE INDEX post_stats_by_community ON post_stats (community);
"#,
    r#"
-- Torrents found on a tracker that proved not to be upseed records, so
-- that discovery does not fetch them again.
CREATE TABLE foreign_torrents (
    infohash BLOB PRIMARY KEY CHECK (length(infohash) = 20),
    reason   TEXT NOT NULL,
    seen_at  INTEGER NOT NULL
) STRICT;
"#,
    r#"
-- Feeds read only the posts that can still rank: by creation time.
CREATE INDEX post_stats_by_created ON post_stats (created);
CREATE INDEX post_stats_by_community_created ON post_stats (community, created);
DROP INDEX post_stats_by_community;
"#,
];

/// The source name of counts that come from the user's client.
pub const CLIENT_SOURCE: &str = "client";

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

/// One swarm count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwarmCount {
    /// The torrent.
    pub infohash: InfoHash,
    /// `client`, or the tracker's announce URL.
    pub source: String,
    /// Seeders, if known.
    pub seeders: Option<u32>,
    /// Leechers, if known.
    pub leechers: Option<u32>,
    /// Completed downloads, if known.
    pub completed: Option<u32>,
}

/// Store errors: the database could not be opened, migrated or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error(
        "the store at {path} failed: {source}; if another upseed holds it, wait for it to finish"
    )]
    Sqlite {
        /// The database file.
        path: String,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The schema could not be brought up to date.
    #[error(
        "cannot update the store at {path} to this version of upseed: {reason}; back the file up and report this"
    )]
    Migration {
        /// The database file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// A stored record no longer verifies.
    #[error(
        "the stored record {infohash} no longer verifies ({reason}); the store file was altered"
    )]
    Corrupt {
        /// The record.
        infohash: InfoHash,
        /// The verification error.
        reason: String,
    },
}

/// The current seeders of each torrent in one batch of counts: the highest
/// count any tracker reports, or the client's count when no tracker
/// reported the torrent. Trackers win because a client repeats what a
/// tracker told it at its last announce, which may be half an hour old.
pub fn current_seeders(counts: &[SwarmCount]) -> std::collections::HashMap<InfoHash, u32> {
    let mut trackers = std::collections::HashMap::new();
    let mut client = std::collections::HashMap::new();
    for c in counts {
        let Some(seeders) = c.seeders else { continue };
        let map = if c.source == CLIENT_SOURCE {
            &mut client
        } else {
            &mut trackers
        };
        let entry: &mut u32 = map.entry(c.infohash).or_default();
        *entry = (*entry).max(seeders);
    }
    for (hash, seeders) in client {
        trackers.entry(hash).or_insert(seeders);
    }
    trackers
}

/// Inserts one record and updates its thread's stats, inside `tx`.
fn insert_record(
    tx: &rusqlite::Transaction<'_>,
    record: &Record,
    now: u64,
) -> rusqlite::Result<()> {
    let kind = match record.kind() {
        Kind::Post => "post",
        Kind::Comment => "comment",
    };
    let body = record.body().map(|b| b.as_bytes().to_vec());
    tx.prepare_cached("INSERT INTO records (infohash, kind, author, created, community, parent, root, info, body, first_seen)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (infohash) DO UPDATE SET body = COALESCE(records.body, excluded.body)")?.execute(params![
                record.infohash().as_bytes(),
                kind,
                record.author().as_bytes(),
                record.created() as i64,
                record.community().map(|c| c.as_str()),
                record.parent().map(|p| p.as_bytes().to_vec()),
                record.root().map(|r| r.as_bytes().to_vec()),
                record.info_bytes(),
                body,
                now as i64,
            ])?;
    match record.root() {
        None => {
            tx.prepare_cached(
                "INSERT INTO post_stats (infohash, created, community) VALUES (?1, ?2, ?3)
                     ON CONFLICT (infohash) DO NOTHING",
            )?
            .execute(params![
                record.infohash().as_bytes(),
                record.created() as i64,
                record.community().map(|c| c.as_str())
            ])?;
        }
        Some(root) => {
            tx.prepare_cached("UPDATE post_stats SET last_comment = max(coalesce(last_comment, 0), ?2) WHERE infohash = ?1")?.execute(params![root.as_bytes(), record.created() as i64])?;
        }
    }
    Ok(())
}

/// The local store.
pub struct Store {
    conn: Connection,
    path: String,
}

fn hash_from(bytes: &[u8]) -> Option<InfoHash> {
    <[u8; 20]>::try_from(bytes).ok().map(InfoHash::from_bytes)
}

impl Store {
    /// Opens (creating if needed) and migrates the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let name = path.display().to_string();
        let sqlite = |source| StoreError::Sqlite {
            path: name.clone(),
            source,
        };
        let mut conn = Connection::open(path).map_err(sqlite)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(sqlite)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sqlite)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sqlite)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(sqlite)?;
        let migrations = Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect());
        migrations
            .to_latest(&mut conn)
            .map_err(|e| StoreError::Migration {
                path: name.clone(),
                reason: e.to_string(),
            })?;
        Ok(Self { conn, path: name })
    }

    fn sqlite(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Stores a verified record, or adds its body to the stored one. For a
    /// comment, the thread's last-comment time moves forward. One transaction.
    pub fn put_record(&mut self, record: &Record, now: u64) -> Result<(), StoreError> {
        self.put_records(std::slice::from_ref(record), now)
    }

    /// A stored record, verified again, with its body if we have it.
    pub fn record(&self, infohash: InfoHash) -> Result<Option<Record>, StoreError> {
        let row: Option<(Vec<u8>, Option<Vec<u8>>)> = self
            .conn
            .query_row(
                "SELECT info, body FROM records WHERE infohash = ?1",
                params![infohash.as_bytes()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(self.sqlite())?;
        let Some((info, body)) = row else {
            return Ok(None);
        };
        let corrupt = |e: upseed_core::VerifyError| StoreError::Corrupt {
            infohash,
            reason: e.to_string(),
        };
        // The record was verified when stored; only its own clock matters now.
        let mut record = Record::from_info(&info, u64::MAX / 2).map_err(corrupt)?;
        if record.infohash() != infohash {
            return Err(StoreError::Corrupt {
                infohash,
                reason: "the info dict hashes to another infohash".into(),
            });
        }
        if let Some(body) = body {
            record = record.with_body(&body).map_err(corrupt)?;
        }
        Ok(Some(record))
    }

    /// Infohashes whose hex starts with `prefix` (at most `limit`).
    pub fn find_prefix(&self, prefix: &str, limit: usize) -> Result<Vec<InfoHash>, StoreError> {
        let prefix = prefix.to_ascii_lowercase();
        let mut statement = self
            .conn
            .prepare("SELECT infohash FROM records WHERE hex(infohash) LIKE ?1 LIMIT ?2")
            .map_err(self.sqlite())?;
        let rows = statement
            .query_map(
                params![format!("{}%", prefix.to_ascii_uppercase()), limit as i64],
                |r| r.get::<_, Vec<u8>>(0),
            )
            .map_err(self.sqlite())?;
        let mut out = Vec::new();
        for row in rows {
            out.extend(hash_from(&row.map_err(self.sqlite())?));
        }
        Ok(out)
    }

    /// The comments of a thread, verified.
    pub fn thread(&self, root: InfoHash) -> Result<Vec<Record>, StoreError> {
        let mut statement = self
            .conn
            .prepare("SELECT infohash FROM records WHERE root = ?1 ORDER BY created")
            .map_err(self.sqlite())?;
        let hashes: Vec<Vec<u8>> = statement
            .query_map(params![root.as_bytes()], |r| r.get(0))
            .map_err(self.sqlite())?
            .collect::<Result<_, _>>()
            .map_err(self.sqlite())?;
        let mut out = Vec::with_capacity(hashes.len());
        for hash in hashes.iter().filter_map(|h| hash_from(h)) {
            out.extend(self.record(hash)?);
        }
        Ok(out)
    }

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

    /// Forgets our vote; returns whether there was one.
    pub fn remove_vote(&mut self, infohash: InfoHash) -> Result<bool, StoreError> {
        self.conn
            .execute(
                "DELETE FROM votes WHERE infohash = ?1",
                params![infohash.as_bytes()],
            )
            .map(|n| n > 0)
            .map_err(self.sqlite())
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

    /// Stores a batch of counts seen at `now`, and updates each post's
    /// current seeders (see [`current_seeders`]), in one transaction.
    pub fn put_counts(&mut self, counts: &[SwarmCount], now: u64) -> Result<(), StoreError> {
        let path = self.path.clone();
        let sqlite = move |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(&sqlite)?;
        {
            let mut insert = tx
                .prepare(
                    "INSERT OR REPLACE INTO swarm (infohash, source, seeders, leechers, completed, seen_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(&sqlite)?;
            let mut stats = tx
                .prepare("UPDATE post_stats SET seeders = max(?2, 0) WHERE infohash = ?1")
                .map_err(&sqlite)?;
            for c in counts {
                insert
                    .execute(params![
                        c.infohash.as_bytes(),
                        c.source,
                        c.seeders,
                        c.leechers,
                        c.completed,
                        now as i64
                    ])
                    .map_err(&sqlite)?;
            }
            let best = current_seeders(counts);
            for (hash, seeders) in best {
                stats
                    .execute(params![hash.as_bytes(), seeders])
                    .map_err(&sqlite)?;
            }
        }
        tx.commit().map_err(&sqlite)
    }

    /// The latest counts of a record, per source.
    pub fn counts(&self, infohash: InfoHash) -> Result<Vec<(SwarmCount, u64)>, StoreError> {
        let mut statement = self
            .conn
            .prepare(
                "SELECT source, seeders, leechers, completed, max(seen_at) FROM swarm
                 WHERE infohash = ?1 GROUP BY source ORDER BY source",
            )
            .map_err(self.sqlite())?;
        let rows = statement
            .query_map(params![infohash.as_bytes()], |r| {
                Ok((
                    SwarmCount {
                        infohash,
                        source: r.get(0)?,
                        seeders: r.get(1)?,
                        leechers: r.get(2)?,
                        completed: r.get(3)?,
                    },
                    r.get::<_, i64>(4)?.unsigned_abs(),
                ))
            })
            .map_err(self.sqlite())?;
        rows.collect::<Result<_, _>>().map_err(self.sqlite())
    }

    /// Who seeds a record now: the highest count among the trackers'
    /// latest answers, or the client's latest count when no tracker
    /// answered for it (see [`current_seeders`]).
    pub fn seeders(&self, infohash: InfoHash) -> Result<u32, StoreError> {
        let counts = self.counts(infohash)?;
        let latest = |client: bool| {
            let rows = counts
                .iter()
                .filter(|(c, _)| (c.source == CLIENT_SOURCE) == client);
            let newest = rows.clone().map(|(_, at)| *at).max()?;
            rows.filter(|(_, at)| *at == newest)
                .filter_map(|(c, _)| c.seeders)
                .max()
        };
        Ok(latest(false).or_else(|| latest(true)).unwrap_or(0))
    }

    /// Every stored record's infohash.
    pub fn record_hashes(&self) -> Result<Vec<InfoHash>, StoreError> {
        self.hashes("SELECT infohash FROM records")
    }

    /// Infohashes that need no fetching: stored records and known foreign torrents.
    pub fn known_hashes(&self) -> Result<std::collections::HashSet<InfoHash>, StoreError> {
        Ok(self
            .hashes("SELECT infohash FROM records UNION ALL SELECT infohash FROM foreign_torrents")?
            .into_iter()
            .collect())
    }

    /// Our votes, by infohash.
    pub fn votes(&self) -> Result<Vec<(InfoHash, Vote)>, StoreError> {
        let mut statement = self
            .conn
            .prepare("SELECT infohash, reason FROM votes")
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

    /// Remembers that a torrent is not an upseed record.
    pub fn put_foreign(
        &mut self,
        infohash: InfoHash,
        reason: &str,
        now: u64,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO foreign_torrents (infohash, reason, seen_at) VALUES (?1, ?2, ?3)",
                params![infohash.as_bytes(), reason, now as i64],
            )
            .map(drop)
            .map_err(self.sqlite())
    }

    fn hashes(&self, sql: &str) -> Result<Vec<InfoHash>, StoreError> {
        let mut statement = self.conn.prepare(sql).map_err(self.sqlite())?;
        let rows = statement
            .query_map([], |r| r.get::<_, Vec<u8>>(0))
            .map_err(self.sqlite())?;
        let mut out = Vec::new();
        for row in rows {
            out.extend(hash_from(&row.map_err(self.sqlite())?));
        }
        Ok(out)
    }

    /// How many comments a thread has.
    pub fn comment_count(&self, root: InfoHash) -> Result<usize, StoreError> {
        self.conn
            .query_row(
                "SELECT count(*) FROM records WHERE root = ?1",
                params![root.as_bytes()],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| usize::try_from(n).unwrap_or(0))
            .map_err(self.sqlite())
    }

    /// What ranking needs of every post created at `since` or later (all
    /// posts when `None`), optionally in one community.
    pub fn signals(
        &self,
        community: Option<&str>,
        since: Option<u64>,
    ) -> Result<Vec<Signals>, StoreError> {
        // One statement per case, so that SQLite picks the right plan for
        // each: an `OR` on the community would scan every post, and a range
        // from the beginning of time would walk the whole index.
        let sql = match (community, since) {
            (Some(_), Some(_)) => {
                "SELECT infohash, created, seeders, last_comment FROM post_stats
                 WHERE community = ?1 AND created >= ?2"
            }
            (Some(_), None) => {
                "SELECT infohash, created, seeders, last_comment FROM post_stats
                 WHERE community = ?1 AND ?2 IS NOT NULL"
            }
            (None, Some(_)) => {
                "SELECT infohash, created, seeders, last_comment FROM post_stats
                 WHERE ?1 IS NULL AND created >= ?2"
            }
            (None, None) => {
                "SELECT infohash, created, seeders, last_comment FROM post_stats
                 WHERE ?1 IS NULL AND ?2 IS NOT NULL"
            }
        };
        let mut statement = self.conn.prepare_cached(sql).map_err(self.sqlite())?;
        let since = since.map_or(i64::MIN, |s| i64::try_from(s).unwrap_or(i64::MAX));
        let rows = statement
            .query_map(params![community, since], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                ))
            })
            .map_err(self.sqlite())?;
        let mut out = Vec::new();
        for row in rows {
            let (hash, created, seeders, last) = row.map_err(self.sqlite())?;
            if let Some(infohash) = hash_from(&hash) {
                out.push(Signals {
                    infohash,
                    created: created.unsigned_abs(),
                    seeders: u32::try_from(seeders).unwrap_or(0),
                    last_comment: last.map(i64::unsigned_abs),
                });
            }
        }
        Ok(out)
    }

    /// The creation time of the `n`-th newest post (1-based), optionally in
    /// one community; `None` when there are fewer.
    pub fn nth_newest(&self, community: Option<&str>, n: usize) -> Result<Option<u64>, StoreError> {
        if n == 0 {
            return Ok(None);
        }
        self.conn
            .prepare_cached(match community {
                Some(_) => {
                    "SELECT created FROM post_stats WHERE community = ?1
                     ORDER BY created DESC LIMIT 1 OFFSET ?2"
                }
                None => {
                    "SELECT created FROM post_stats WHERE ?1 IS NULL
                     ORDER BY created DESC LIMIT 1 OFFSET ?2"
                }
            })
            .and_then(|mut s| {
                s.query_row(params![community, (n - 1) as i64], |r| r.get::<_, i64>(0))
                    .optional()
            })
            .map(|c| c.map(i64::unsigned_abs))
            .map_err(self.sqlite())
    }

    /// Stores many verified records in one transaction (see [`Self::put_record`]).
    pub fn put_records(&mut self, records: &[Record], now: u64) -> Result<(), StoreError> {
        let path = self.path.clone();
        let sqlite = move |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(&sqlite)?;
        for record in records {
            insert_record(&tx, record, now).map_err(&sqlite)?;
        }
        tx.commit().map_err(&sqlite)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use upseed_core::{CommentDraft, PostDraft, SecretKey};

    fn post(text: &str, community: Option<&str>) -> Record {
        let mut draft = PostDraft::new(text).unwrap();
        if let Some(c) = community {
            draft = draft.community(c).unwrap();
        }
        draft.sign(&SecretKey::from_seed(&[5; 32]), 1_000).unwrap()
    }

    #[test]
    fn records_round_trip_and_bodies_fill_in() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("store.db")).unwrap();
        let full = post("hello", Some("rust"));
        let bare = Record::from_info(full.info_bytes(), 2_000).unwrap();
        store.put_record(&bare, 2_000).unwrap();
        assert!(
            store
                .record(full.infohash())
                .unwrap()
                .unwrap()
                .body()
                .is_none()
        );
        store.put_record(&full, 2_001).unwrap();
        assert_eq!(store.record(full.infohash()).unwrap().unwrap(), full);
        store.put_record(&bare, 2_002).unwrap();
        assert!(
            store
                .record(full.infohash())
                .unwrap()
                .unwrap()
                .body()
                .is_some(),
            "a body is never lost"
        );
        let prefix = &full.infohash().to_hex()[..8];
        assert_eq!(store.find_prefix(prefix, 5).unwrap(), vec![full.infohash()]);
    }

    #[test]
    fn threads_votes_counts_and_signals() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("store.db")).unwrap();
        let p = post("thread", Some("rust"));
        store.put_record(&p, 10).unwrap();
        let c = CommentDraft::reply_to("reply", &p)
            .unwrap()
            .sign(&SecretKey::from_seed(&[6; 32]), 1_500)
            .unwrap();
        store.put_record(&c, 11).unwrap();
        assert_eq!(store.thread(p.infohash()).unwrap(), vec![c.clone()]);

        store.set_vote(p.infohash(), Vote::Authored, 10).unwrap();
        store.set_vote(p.infohash(), Vote::Upvoted, 11).unwrap();
        assert_eq!(
            store.vote(p.infohash()).unwrap(),
            Some(Vote::Authored),
            "authorship is not downgraded"
        );
        assert!(store.remove_vote(p.infohash()).unwrap());
        assert_eq!(store.vote(p.infohash()).unwrap(), None);

        let count = |source: &str, seeders| SwarmCount {
            infohash: p.infohash(),
            source: source.into(),
            seeders: Some(seeders),
            leechers: Some(0),
            completed: None,
        };
        store
            .put_counts(&[count("client", 2), count("http://t/announce", 3)], 20)
            .unwrap();
        let signals = store.signals(Some("rust"), None).unwrap();
        assert_eq!(signals.len(), 1);
        assert_eq!(
            (signals[0].seeders, signals[0].last_comment),
            (3, Some(1_500))
        );
        assert!(store.signals(Some("go"), None).unwrap().is_empty());
        assert_eq!(store.signals(None, None).unwrap().len(), 1);
        assert_eq!(store.counts(p.infohash()).unwrap().len(), 2);
        // A tracker's fresh answer beats the client's stale one.
        store
            .put_counts(&[count("client", 5), count("http://t/announce", 1)], 30)
            .unwrap();
        assert_eq!(store.seeders(p.infohash()).unwrap(), 1);
        assert_eq!(store.signals(None, None).unwrap()[0].seeders, 1);
        // With no tracker answer, the client's count stands.
        let c_hash = c.infohash();
        store
            .put_counts(
                &[SwarmCount {
                    infohash: c_hash,
                    ..count("client", 4)
                }],
                31,
            )
            .unwrap();
        assert_eq!(store.seeders(c_hash).unwrap(), 4);
        store
            .put_foreign(InfoHash::from_bytes([9; 20]), "too large", 32)
            .unwrap();
        let known = store.known_hashes().unwrap();
        assert!(known.contains(&InfoHash::from_bytes([9; 20])) && known.contains(&c_hash));
        assert_eq!(store.record_hashes().unwrap().len(), 2);
    }

    #[test]
    fn an_altered_record_is_refused_when_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let mut store = Store::open(&path).unwrap();
        let p = post("original", None);
        store.put_record(&p, 1).unwrap();
        store
            .conn
            .execute("UPDATE records SET body = ?1", params![b"forged".to_vec()])
            .unwrap();
        assert!(matches!(
            store.record(p.infohash()),
            Err(StoreError::Corrupt { .. })
        ));
    }
}
