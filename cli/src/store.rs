//! The local store: known records, our votes, and swarm counts over time,
//! in SQLite.
//!
//! Durability: WAL with `synchronous=FULL`, and one transaction per logical
//! change, so a change that returned is on disk and a process killed at
//! any point loses nothing acknowledged. Records are kept as their raw
//! info dict and body and verified again when loaded, so a damaged or
//! hand-edited database cannot smuggle in a record that does not verify.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use rusqlite_migration::{M, Migrations};
use upseed_core::index::Index;
use upseed_core::rank::Signals;
use upseed_core::retention::{FadePolicy, Life, SeedReason, Seeded, Silence};
use upseed_core::{InfoHash, Kind, PublicKey, Record};

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
    r#"
-- Reads (completed downloads) for `best`, and the silence that fades a post.
ALTER TABLE post_stats ADD COLUMN downloads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE post_stats ADD COLUMN silent_refreshes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE post_stats ADD COLUMN silent_since INTEGER;
ALTER TABLE post_stats ADD COLUMN faded INTEGER NOT NULL DEFAULT 0;

-- The latest count per torrent and source. `swarm` keeps the history, one
-- row per change, so that unchanged counts do not grow the store.
CREATE TABLE swarm_latest (
    infohash  BLOB NOT NULL,
    source    TEXT NOT NULL,
    seeders   INTEGER,
    leechers  INTEGER,
    completed INTEGER,
    seen_at   INTEGER NOT NULL,
    PRIMARY KEY (infohash, source)
) STRICT, WITHOUT ROWID;
INSERT INTO swarm_latest (infohash, source, seeders, leechers, completed, seen_at)
    SELECT infohash, source, seeders, leechers, completed, max(seen_at)
    FROM swarm GROUP BY infohash, source;
CREATE INDEX swarm_by_time ON swarm (seen_at);

-- Records the user keeps whatever the retention policy says.
CREATE TABLE pins (
    infohash BLOB PRIMARY KEY REFERENCES records (infohash),
    since    INTEGER NOT NULL
) STRICT;
"#,
    r#"
-- Who cast a vote: the user, or one of the daemon's rules.
ALTER TABLE votes ADD COLUMN origin TEXT NOT NULL DEFAULT 'user';

-- What `upseed daemon` did last and will do next, for `upseed status`.
CREATE TABLE daemon_steps (
    step       TEXT PRIMARY KEY,
    started    INTEGER,
    finished   INTEGER,
    outcome    TEXT,
    summary    TEXT,
    runs       INTEGER NOT NULL DEFAULT 0,
    errors     INTEGER NOT NULL DEFAULT 0,
    failures   INTEGER NOT NULL DEFAULT 0,
    next_at    INTEGER
) STRICT;
CREATE TABLE daemon_state (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;
"#,
    r#"
-- Keys we follow.
CREATE TABLE follows (
    key   BLOB PRIMARY KEY CHECK (length(key) = 32),
    since INTEGER NOT NULL
) STRICT;
-- Every entry seen on a DHT board, so that an erased board loses nothing.
CREATE TABLE board_entries (
    board    BLOB NOT NULL,
    infohash BLOB NOT NULL,
    seen_at  INTEGER NOT NULL,
    PRIMARY KEY (board, infohash)
) STRICT, WITHOUT ROWID;
-- The latest signed outbox item of each followed key, to republish.
CREATE TABLE outbox_items (
    key       BLOB PRIMARY KEY,
    seq       INTEGER NOT NULL,
    signature BLOB NOT NULL,
    value     BLOB NOT NULL,
    seen_at   INTEGER NOT NULL
) STRICT;
-- Upvotes signed in followed outboxes: one per voter and record.
CREATE TABLE signed_votes (
    voter    BLOB NOT NULL,
    infohash BLOB NOT NULL,
    seen_at  INTEGER NOT NULL,
    PRIMARY KEY (voter, infohash)
) STRICT, WITHOUT ROWID;
-- Our display name and about text.
CREATE TABLE profile (
    key   TEXT PRIMARY KEY CHECK (key IN ('name', 'about')),
    value TEXT NOT NULL
) STRICT;
"#,
    r#"
-- Verified versions of outbox indexes: ours, and those of followed keys.
-- Kept: each author's newest version and the last of each closed segment.
CREATE TABLE indexes (
    infohash BLOB PRIMARY KEY,
    author   BLOB NOT NULL,
    older    BLOB,
    torrent  BLOB NOT NULL,
    body     BLOB NOT NULL,
    seen_at  INTEGER NOT NULL
) STRICT;
-- The newest index version known for each author.
CREATE TABLE index_heads (
    author   BLOB PRIMARY KEY,
    infohash BLOB NOT NULL REFERENCES indexes (infohash)
) STRICT;
"#,
    r#"
-- When each board was last read from the DHT.
CREATE TABLE board_reads (
    board   BLOB PRIMARY KEY,
    read_at INTEGER NOT NULL
) STRICT;
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
    /// The store was written by a newer upseed.
    #[error(
        "the store at {path} was written by a newer upseed (schema {found}, this one knows {known}); run that version or a later one"
    )]
    Newer {
        /// The database file.
        path: String,
        /// Its schema version.
        found: usize,
        /// The newest this build knows.
        known: usize,
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

/// What one batch of counts says of a torrent now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Current {
    /// Who seeds it.
    pub seeders: u32,
    /// How many finished downloading it: its reads.
    pub downloads: u32,
}

/// The current counts of each torrent in one batch: for seeders and for
/// downloads, the highest count any tracker reports, or the client's
/// count when no tracker reported the torrent. Trackers win because a
/// client repeats what a tracker told it at its last announce, which may
/// be half an hour old.
pub fn current_counts(counts: &[SwarmCount]) -> HashMap<InfoHash, Current> {
    let mut trackers: HashMap<InfoHash, Current> = HashMap::new();
    let mut client: HashMap<InfoHash, Current> = HashMap::new();
    for c in counts {
        let map = if c.source == CLIENT_SOURCE {
            &mut client
        } else {
            &mut trackers
        };
        let Some(seeders) = c.seeders else { continue };
        let entry = map.entry(c.infohash).or_default();
        entry.seeders = entry.seeders.max(seeders);
        entry.downloads = entry.downloads.max(c.completed.unwrap_or(0));
    }
    for (hash, current) in client {
        trackers.entry(hash).or_insert(current);
    }
    trackers
}

/// What one batch of counts changed in the feeds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CountsWritten {
    /// Rows added to the history: counts that changed since last seen.
    pub changes: usize,
    /// Posts that left the feeds with this batch.
    pub faded: usize,
    /// Faded posts that someone seeds again.
    pub revived: usize,
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

/// Maps SQLite's errors to ours, naming the store file.
fn sqlite_error(path: &str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |source| StoreError::Sqlite {
        path: path.to_owned(),
        source,
    }
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
        let found: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(sqlite)?;
        let found = usize::try_from(found).unwrap_or(0);
        if found > MIGRATIONS.len() {
            return Err(StoreError::Newer {
                path: name,
                found,
                known: MIGRATIONS.len(),
            });
        }
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
        sqlite_error(&self.path)
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
        self.hashes(
            "SELECT infohash FROM records WHERE hex(infohash) LIKE ?1 LIMIT ?2",
            params![format!("{}%", prefix.to_ascii_uppercase()), limit as i64],
        )
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
        self.remove_votes(&[infohash]).map(|n| n > 0)
    }

    /// Forgets our votes, in one transaction; returns how many there were.
    pub fn remove_votes(&mut self, hashes: &[InfoHash]) -> Result<usize, StoreError> {
        let sqlite = sqlite_error(&self.path);
        let tx = self.conn.transaction().map_err(&sqlite)?;
        let mut removed = 0;
        {
            let mut delete = tx
                .prepare("DELETE FROM votes WHERE infohash = ?1")
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

    /// Stores a batch of counts seen at `now` and updates each post's
    /// current counts (see [`current_counts`]) and silence (see
    /// [`upseed_core::retention`]), in one transaction. Call it once per
    /// refresh: each call is one refresh for fading.
    pub fn put_counts(
        &mut self,
        counts: &[SwarmCount],
        now: u64,
        fade: &FadePolicy,
    ) -> Result<CountsWritten, StoreError> {
        let sqlite = sqlite_error(&self.path);
        let mut written = CountsWritten::default();
        let tx = self.conn.transaction().map_err(&sqlite)?;
        {
            // History only where the count changed since its source last said.
            let mut history = tx
                .prepare(
                    "INSERT OR REPLACE INTO swarm (infohash, source, seeders, leechers, completed, seen_at)
                     SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE NOT EXISTS (
                         SELECT 1 FROM swarm_latest WHERE infohash = ?1 AND source = ?2
                         AND seeders IS ?3 AND leechers IS ?4 AND completed IS ?5)",
                )
                .map_err(&sqlite)?;
            let mut latest = tx
                .prepare(
                    "INSERT INTO swarm_latest (infohash, source, seeders, leechers, completed, seen_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (infohash, source) DO UPDATE SET seeders = excluded.seeders,
                     leechers = excluded.leechers, completed = excluded.completed,
                     seen_at = excluded.seen_at",
                )
                .map_err(&sqlite)?;
            for c in counts {
                let row = params![
                    c.infohash.as_bytes(),
                    c.source,
                    c.seeders,
                    c.leechers,
                    c.completed,
                    now as i64
                ];
                written.changes += history.execute(row).map_err(&sqlite)?;
                latest.execute(row).map_err(&sqlite)?;
            }
            let mut silence = tx
                .prepare(
                    "SELECT silent_refreshes, silent_since, faded FROM post_stats WHERE infohash = ?1",
                )
                .map_err(&sqlite)?;
            let mut stats = tx
                .prepare(
                    "UPDATE post_stats SET seeders = ?2, downloads = ?3, silent_refreshes = ?4,
                     silent_since = ?5, faded = ?6 WHERE infohash = ?1",
                )
                .map_err(&sqlite)?;
            for (hash, current) in current_counts(counts) {
                let Some((refreshes, since, was_faded)) = silence
                    .query_row(params![hash.as_bytes()], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, Option<i64>>(1)?,
                            r.get::<_, bool>(2)?,
                        ))
                    })
                    .optional()
                    .map_err(&sqlite)?
                else {
                    // A comment: counted, never ranked.
                    continue;
                };
                let before = Silence {
                    refreshes: u32::try_from(refreshes).unwrap_or(u32::MAX),
                    since: since.map(i64::unsigned_abs),
                };
                let after = before.after(current.seeders, now);
                let faded = fade.life(after, now) != Life::Live;
                written.faded += usize::from(faded && !was_faded);
                written.revived += usize::from(!faded && was_faded);
                stats
                    .execute(params![
                        hash.as_bytes(),
                        current.seeders,
                        current.downloads,
                        after.refreshes,
                        after.since.map(|s| s as i64),
                        faded
                    ])
                    .map_err(&sqlite)?;
            }
        }
        tx.commit().map_err(&sqlite)?;
        Ok(written)
    }

    /// The latest counts of a record, per source.
    pub fn counts(&self, infohash: InfoHash) -> Result<Vec<(SwarmCount, u64)>, StoreError> {
        let mut statement = self
            .conn
            .prepare(
                "SELECT source, seeders, leechers, completed, seen_at FROM swarm_latest
                 WHERE infohash = ?1 ORDER BY source",
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
    /// answered for it (see [`current_counts`]).
    pub fn seeders(&self, infohash: InfoHash) -> Result<u32, StoreError> {
        Ok(self.current(infohash)?.seeders)
    }

    /// A record's current seeders and downloads, by the rule of
    /// [`current_counts`] over each source's latest answer. Of the
    /// trackers, only those that answered last count.
    pub fn current(&self, infohash: InfoHash) -> Result<Current, StoreError> {
        let counts = self.counts(infohash)?;
        let latest = |client: bool| {
            let rows = counts
                .iter()
                .filter(|(c, _)| (c.source == CLIENT_SOURCE) == client);
            let newest = rows.clone().map(|(_, at)| *at).max()?;
            let rows: Vec<SwarmCount> = rows
                .filter(|(_, at)| *at == newest)
                .map(|(c, _)| c.clone())
                .collect();
            current_counts(&rows).remove(&infohash)
        };
        Ok(latest(false).or_else(|| latest(true)).unwrap_or_default())
    }

    /// Every stored record's infohash.
    pub fn record_hashes(&self) -> Result<Vec<InfoHash>, StoreError> {
        self.hashes("SELECT infohash FROM records", [])
    }

    /// Infohashes that need no fetching: stored records and known foreign torrents.
    pub fn known_hashes(&self) -> Result<HashSet<InfoHash>, StoreError> {
        Ok(self
            .hashes(
                "SELECT infohash FROM records UNION ALL SELECT infohash FROM foreign_torrents",
                [],
            )?
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

    /// The infohashes in the first column of `sql`'s rows, bound to `args`.
    fn hashes(&self, sql: &str, args: impl rusqlite::Params) -> Result<Vec<InfoHash>, StoreError> {
        let mut statement = self.conn.prepare_cached(sql).map_err(self.sqlite())?;
        let rows = statement
            .query_map(args, |r| r.get::<_, Vec<u8>>(0))
            .map_err(self.sqlite())?;
        let mut out = Vec::new();
        for row in rows {
            out.extend(hash_from(&row.map_err(self.sqlite())?));
        }
        Ok(out)
    }

    /// The count that `sql`, bound to `args`, selects.
    fn count(&self, sql: &str, args: impl rusqlite::Params) -> Result<usize, StoreError> {
        self.conn
            .query_row(sql, args, |r| r.get::<_, i64>(0))
            .map(|n| usize::try_from(n).unwrap_or(0))
            .map_err(self.sqlite())
    }

    /// How many comments a thread has.
    pub fn comment_count(&self, root: InfoHash) -> Result<usize, StoreError> {
        self.count(
            "SELECT count(*) FROM records WHERE root = ?1",
            params![root.as_bytes()],
        )
    }

    /// What ranking needs of every post created at `since` or later (all
    /// posts when `None`), optionally in one community. Faded posts are
    /// left out.
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
                "SELECT infohash, created, seeders, last_comment, downloads FROM post_stats
                 WHERE community = ?1 AND created >= ?2 AND faded = 0"
            }
            (Some(_), None) => {
                "SELECT infohash, created, seeders, last_comment, downloads FROM post_stats
                 WHERE community = ?1 AND ?2 IS NOT NULL AND faded = 0"
            }
            (None, Some(_)) => {
                "SELECT infohash, created, seeders, last_comment, downloads FROM post_stats
                 WHERE ?1 IS NULL AND created >= ?2 AND faded = 0"
            }
            (None, None) => {
                "SELECT infohash, created, seeders, last_comment, downloads FROM post_stats
                 WHERE ?1 IS NULL AND ?2 IS NOT NULL AND faded = 0"
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
                    r.get::<_, i64>(4)?,
                ))
            })
            .map_err(self.sqlite())?;
        let mut out = Vec::new();
        for row in rows {
            let (hash, created, seeders, last, downloads) = row.map_err(self.sqlite())?;
            if let Some(infohash) = hash_from(&hash) {
                out.push(Signals {
                    infohash,
                    created: created.unsigned_abs(),
                    seeders: u32::try_from(seeders).unwrap_or(0),
                    downloads: u32::try_from(downloads).unwrap_or(0),
                    last_comment: last.map(i64::unsigned_abs),
                });
            }
        }
        Ok(out)
    }

    /// The creation time of the `n`-th newest post that has not faded
    /// (1-based), optionally in one community; `None` when there are fewer.
    pub fn nth_newest(&self, community: Option<&str>, n: usize) -> Result<Option<u64>, StoreError> {
        if n == 0 {
            return Ok(None);
        }
        self.conn
            .prepare_cached(match community {
                Some(_) => {
                    "SELECT created FROM post_stats WHERE community = ?1 AND faded = 0
                     ORDER BY created DESC LIMIT 1 OFFSET ?2"
                }
                None => {
                    "SELECT created FROM post_stats WHERE ?1 IS NULL AND faded = 0
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
        let sqlite = sqlite_error(&self.path);
        let tx = self.conn.transaction().map_err(&sqlite)?;
        for record in records {
            insert_record(&tx, record, now).map_err(&sqlite)?;
        }
        tx.commit().map_err(&sqlite)
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

/// Retention: pins, the seeded set, and deleting what has expired.
impl Store {
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

    /// Adds `value` to the set `table` (keyed by `column`, with a `since`)
    /// when `since` is given, else removes it; returns whether that
    /// changed anything. `table` and `column` are this file's constants.
    fn set_member(
        &mut self,
        table: &str,
        column: &str,
        value: &[u8],
        since: Option<u64>,
    ) -> Result<bool, StoreError> {
        let changed = match since {
            Some(now) => self.conn.execute(
                &format!(
                    "INSERT INTO {table} ({column}, since) VALUES (?1, ?2) ON CONFLICT ({column}) DO NOTHING"
                ),
                params![value, now as i64],
            ),
            None => self.conn.execute(
                &format!("DELETE FROM {table} WHERE {column} = ?1"),
                params![value],
            ),
        };
        changed.map(|n| n > 0).map_err(self.sqlite())
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
            .prepare(
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
            .prepare(
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
                .prepare("SELECT infohash FROM records WHERE infohash = ?1 OR root = ?1")
                .map_err(&sqlite)?;
            let mut each = Vec::new();
            for table in ["post_stats", "swarm", "swarm_latest", "pins", "votes"] {
                each.push(
                    tx.prepare(&format!("DELETE FROM {table} WHERE infohash = ?1"))
                        .map_err(&sqlite)?,
                );
            }
            let mut record = tx
                .prepare("DELETE FROM records WHERE infohash = ?1")
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

    /// Count history rows older than `before`; with `delete`, deletes them.
    /// The latest count of every source stays.
    pub fn old_history(&mut self, before: u64, delete: bool) -> Result<usize, StoreError> {
        let before = i64::try_from(before).unwrap_or(i64::MAX);
        let sql = if delete {
            "DELETE FROM swarm WHERE seen_at < ?1"
        } else {
            "SELECT count(*) FROM swarm WHERE seen_at < ?1"
        };
        let result = if delete {
            self.conn.execute(sql, params![before])
        } else {
            self.conn
                .query_row(sql, params![before], |r| r.get::<_, i64>(0))
                .map(|n| usize::try_from(n).unwrap_or(0))
        };
        result.map_err(self.sqlite())
    }

    /// How many posts are in the feeds, and how many have faded.
    pub fn post_counts(&self) -> Result<(usize, usize), StoreError> {
        self.conn
            .query_row(
                "SELECT count(*) - coalesce(sum(faded), 0), coalesce(sum(faded), 0) FROM post_stats",
                [],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
            )
            .map(|(live, faded)| {
                (
                    usize::try_from(live).unwrap_or(0),
                    usize::try_from(faded).unwrap_or(0),
                )
            })
            .map_err(self.sqlite())
    }
}

/// What the daemon last did in one of its steps, and when it runs next.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct StepRecord {
    /// `sync`, `seed` or `gc`.
    pub step: String,
    /// When the last run started, unix seconds.
    pub started: Option<u64>,
    /// When the last run finished, unix seconds; before `started` while it runs.
    pub finished: Option<u64>,
    /// `ok` or `failed`.
    pub outcome: Option<String>,
    /// One line on what it did, or why it failed.
    pub summary: Option<String>,
    /// Runs so far.
    pub runs: u64,
    /// Failed runs so far, all survived.
    pub errors: u64,
    /// Failures in a row, which set the back-off.
    pub failures: u32,
    /// When it runs next, unix seconds.
    pub next_at: Option<u64>,
}

/// The daemon's bookkeeping, read by `upseed status`.
impl Store {
    /// Marks a step as started.
    pub fn step_started(&mut self, step: &str, now: u64) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO daemon_steps (step, started) VALUES (?1, ?2)
                 ON CONFLICT (step) DO UPDATE SET started = excluded.started",
                params![step, now as i64],
            )
            .map(drop)
            .map_err(self.sqlite())
    }

    /// Records how a step ended and when it runs next.
    pub fn step_finished(&mut self, record: &StepRecord) -> Result<(), StoreError> {
        let int = |v: Option<u64>| v.map(|v| v as i64);
        self.conn
            .execute(
                "INSERT INTO daemon_steps (step, started, finished, outcome, summary, runs, errors, failures, next_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (step) DO UPDATE SET started = excluded.started, finished = excluded.finished,
                 outcome = excluded.outcome, summary = excluded.summary, runs = excluded.runs,
                 errors = excluded.errors, failures = excluded.failures, next_at = excluded.next_at",
                params![
                    record.step,
                    int(record.started),
                    int(record.finished),
                    record.outcome,
                    record.summary,
                    record.runs as i64,
                    record.errors as i64,
                    record.failures,
                    int(record.next_at)
                ],
            )
            .map(drop)
            .map_err(self.sqlite())
    }

    /// Every step the daemon has recorded, by name.
    pub fn steps(&self) -> Result<Vec<StepRecord>, StoreError> {
        let mut statement = self
            .conn
            .prepare(
                "SELECT step, started, finished, outcome, summary, runs, errors, failures, next_at
                 FROM daemon_steps ORDER BY step",
            )
            .map_err(self.sqlite())?;
        let unsigned = |v: Option<i64>| v.map(i64::unsigned_abs);
        let rows = statement
            .query_map([], |r| {
                Ok(StepRecord {
                    step: r.get(0)?,
                    started: unsigned(r.get(1)?),
                    finished: unsigned(r.get(2)?),
                    outcome: r.get(3)?,
                    summary: r.get(4)?,
                    runs: r.get::<_, i64>(5)?.unsigned_abs(),
                    errors: r.get::<_, i64>(6)?.unsigned_abs(),
                    failures: u32::try_from(r.get::<_, i64>(7)?).unwrap_or(u32::MAX),
                    next_at: unsigned(r.get(8)?),
                })
            })
            .map_err(self.sqlite())?;
        rows.collect::<Result<_, _>>().map_err(self.sqlite())
    }

    /// Sets a daemon fact: `pid`, `started`, `heartbeat` or `stopped`.
    pub fn set_daemon_state(&mut self, key: &str, value: u64) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO daemon_state (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value as i64],
            )
            .map(drop)
            .map_err(self.sqlite())
    }

    /// A daemon fact, if recorded.
    pub fn daemon_state(&self, key: &str) -> Result<Option<u64>, StoreError> {
        self.conn
            .query_row(
                "SELECT value FROM daemon_state WHERE key = ?1",
                params![key],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map(|v| v.map(i64::unsigned_abs))
            .map_err(self.sqlite())
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
}

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

/// What the DHT side keeps: follows, boards seen, outboxes, signed votes.
impl Store {
    /// Follows `key`; returns whether it was new.
    pub fn follow(&mut self, key: PublicKey, now: u64) -> Result<bool, StoreError> {
        self.set_member("follows", "key", key.as_bytes(), Some(now))
    }

    /// Stops following `key`; returns whether we did.
    pub fn unfollow(&mut self, key: PublicKey) -> Result<bool, StoreError> {
        self.set_member("follows", "key", key.as_bytes(), None)
    }

    /// The keys we follow, oldest first.
    pub fn follows(&self) -> Result<Vec<PublicKey>, StoreError> {
        let mut statement = self
            .conn
            .prepare("SELECT key FROM follows ORDER BY since, key")
            .map_err(self.sqlite())?;
        let rows = statement
            .query_map([], |r| r.get::<_, Vec<u8>>(0))
            .map_err(self.sqlite())?;
        let mut out = Vec::new();
        for row in rows {
            let bytes = row.map_err(self.sqlite())?;
            if let Some(key) = <[u8; 32]>::try_from(bytes.as_slice())
                .ok()
                .and_then(|b| PublicKey::from_bytes(&b).ok())
            {
                out.push(key);
            }
        }
        Ok(out)
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

    /// Runs `sql` with (`owner`, each hash, `now`), in one transaction.
    fn insert_each(
        &mut self,
        sql: &str,
        owner: &[u8],
        hashes: &[InfoHash],
        now: u64,
    ) -> Result<(), StoreError> {
        let sqlite = sqlite_error(&self.path);
        let tx = self.conn.transaction().map_err(&sqlite)?;
        {
            let mut insert = tx.prepare(sql).map_err(&sqlite)?;
            for hash in hashes {
                insert
                    .execute(params![owner, hash.as_bytes(), now as i64])
                    .map_err(&sqlite)?;
            }
        }
        tx.commit().map_err(&sqlite)
    }

    /// How many distinct followed keys signed an upvote of `infohash`.
    pub fn signed_votes(&self, infohash: InfoHash) -> Result<usize, StoreError> {
        self.count(
            "SELECT count(DISTINCT voter) FROM signed_votes WHERE infohash = ?1",
            params![infohash.as_bytes()],
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

#[cfg(test)]
mod tests {
    use super::*;
    use upseed_core::retention::FadePolicy;
    use upseed_core::{CommentDraft, PostDraft, SecretKey};

    #[test]
    fn index_heads_keep_segment_ends_and_drop_replaced_versions() {
        use upseed_core::index::{Entry, Index};
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("store.db")).unwrap();
        let key = SecretKey::from_seed(&[3; 32]);
        let me = key.public_key();
        assert!(store.index_head(me).unwrap().is_none());
        let h = |n: u8| InfoHash::from_bytes([n; 20]);
        let v1 = Index::append(&key, None, &[Entry::Post(h(1))], 1_000)
            .unwrap()
            .remove(0);
        store.put_index(&v1, 1_000).unwrap();
        store.set_index_head(&v1).unwrap();
        assert_eq!(store.outbox(me).unwrap().index, Some(v1.infohash()));
        let v2 = Index::append(&key, Some(&v1), &[Entry::Post(h(2))], 1_001)
            .unwrap()
            .remove(0);
        store.put_index(&v2, 1_001).unwrap();
        store.set_index_head(&v2).unwrap();
        assert_eq!(store.index_head(me).unwrap(), Some(v2.clone()));
        assert!(
            store.index(v1.infohash()).unwrap().is_none(),
            "a replaced version of the same segment is dropped"
        );
        let (chain, missing) = store.index_chain(v2.clone()).unwrap();
        assert_eq!((chain.len(), missing), (1, None));

        // A head whose older segment is not kept says which one is missing.
        let other = SecretKey::from_seed(&[4; 32]);
        let mut big = Vec::new();
        for n in 0..=255u8 {
            for m in 0..45u8 {
                let mut b = [n; 20];
                b[0] = m;
                big.push(Entry::Post(InfoHash::from_bytes(b)));
            }
        }
        let versions = Index::append(&other, None, &big, 1_000).unwrap();
        assert_eq!(versions.len(), 2, "11,520 entries need two segments");
        let head = versions[1].clone();
        store.put_index(&head, 1_000).unwrap();
        let (chain, missing) = store.index_chain(head.clone()).unwrap();
        assert_eq!((chain.len(), missing), (1, Some(versions[0].infohash())));
        store.put_index(&versions[0], 1_000).unwrap();
        store.set_index_head(&head).unwrap();
        let (chain, missing) = store.index_chain(head).unwrap();
        assert_eq!((chain.len(), missing), (2, None));
        assert_eq!(
            upseed_core::index::fold_chain(&chain).unwrap().posts.len(),
            big.len()
        );
    }

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
            .put_counts(
                &[count("client", 2), count("http://t/announce", 3)],
                20,
                &FadePolicy::default(),
            )
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
            .put_counts(
                &[count("client", 5), count("http://t/announce", 1)],
                30,
                &FadePolicy::default(),
            )
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
                &FadePolicy::default(),
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
    fn unseeded_posts_fade_come_back_and_expire_unless_protected() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("store.db")).unwrap();
        let fade = FadePolicy {
            refreshes: 2,
            grace: 100,
            retention: 1_000,
        };
        let me = SecretKey::from_seed(&[5; 32]).public_key();
        let stranger = |text: &str| {
            PostDraft::new(text)
                .unwrap()
                .sign(&SecretKey::from_seed(&[7; 32]), 1_000)
                .unwrap()
        };
        let (quiet, kept, pinned, mine) = (
            stranger("quiet"),
            stranger("kept"),
            stranger("pinned"),
            post("mine", None),
        );
        let reply = CommentDraft::reply_to("a reply", &quiet)
            .unwrap()
            .sign(&SecretKey::from_seed(&[8; 32]), 1_001)
            .unwrap();
        store
            .put_records(
                &[
                    quiet.clone(),
                    kept.clone(),
                    pinned.clone(),
                    mine.clone(),
                    reply.clone(),
                ],
                1,
            )
            .unwrap();
        store.set_vote(kept.infohash(), Vote::Upvoted, 1).unwrap();
        store.pin(pinned.infohash(), 1).unwrap();
        let zero = |r: &Record, source: &str| SwarmCount {
            infohash: r.infohash(),
            source: source.into(),
            seeders: Some(0),
            leechers: Some(0),
            completed: Some(4),
        };
        let all = |source: &str| -> Vec<SwarmCount> {
            [&quiet, &kept, &pinned, &mine, &reply]
                .iter()
                .map(|r| zero(r, source))
                .collect()
        };
        let written = store.put_counts(&all("t"), 2_000, &fade).unwrap();
        assert_eq!((written.faded, written.changes), (0, 5));
        assert_eq!(store.post_counts().unwrap(), (4, 0));
        // Two refreshes, but not yet the grace period.
        let written = store.put_counts(&all("t"), 2_050, &fade).unwrap();
        assert_eq!(
            (written.faded, written.changes),
            (0, 0),
            "unchanged counts add no history"
        );
        let written = store.put_counts(&all("t"), 2_100, &fade).unwrap();
        assert_eq!(written.faded, 4);
        assert!(
            store.signals(None, None).unwrap().is_empty(),
            "faded posts leave the feeds"
        );
        assert_eq!(store.nth_newest(None, 1).unwrap(), None);
        assert_eq!(store.current(quiet.infohash()).unwrap().downloads, 4);

        // A seeder brings a post back at once.
        let mut back = zero(&kept, "t");
        back.seeders = Some(1);
        let written = store.put_counts(&[back], 2_200, &fade).unwrap();
        assert_eq!(written.revived, 1);
        assert_eq!(store.signals(None, None).unwrap().len(), 1);

        assert!(store.expired(&fade, 3_099, Some(me)).unwrap().is_empty());
        let expired = store.expired(&fade, 3_100, Some(me)).unwrap();
        assert_eq!(
            expired,
            vec![Expired {
                infohash: quiet.infohash(),
                comments: 1,
                silent_since: 2_000
            }],
            "the pinned post and mine stay; the upvoted one is live again"
        );
        assert_eq!(
            store.expired(&fade, 3_100, None).unwrap().len(),
            2,
            "without knowing who I am, my unvoted post is not protected"
        );
        assert_eq!(store.old_history(2_001, false).unwrap(), 5);
        assert_eq!(store.delete_threads(&[quiet.infohash()]).unwrap(), 2);
        assert!(store.record(quiet.infohash()).unwrap().is_none());
        assert!(store.record(reply.infohash()).unwrap().is_none());
        assert!(store.counts(reply.infohash()).unwrap().is_empty());
        assert_eq!(store.old_history(2_001, true).unwrap(), 3);
        assert_eq!(store.old_history(2_001, false).unwrap(), 0);
        assert_eq!(
            store.counts(mine.infohash()).unwrap().len(),
            1,
            "the latest count outlives the history"
        );
        assert!(store.unpin(pinned.infohash()).unwrap());
        assert!(!store.pinned(pinned.infohash()).unwrap());
    }

    #[test]
    fn a_store_from_a_newer_upseed_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        drop(Store::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", MIGRATIONS.len() as i64 + 1)
            .unwrap();
        drop(conn);
        let error = Store::open(&path).err().unwrap().to_string();
        assert!(error.contains("newer upseed"), "{error}");
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
