//! The local store, in SQLite: known records, our votes, swarm counts over
//! time, the daemon's schedule, and what the DHT side keeps.
//!
//! Durability: WAL with `synchronous=FULL`, and one transaction per logical
//! change, so a change that returned is on disk and a process killed at
//! any point loses nothing acknowledged. Records are kept as their raw
//! info dict and body and verified again when loaded, so a damaged or
//! hand-edited database cannot smuggle in a record that does not verify.
//!
//! One file per concern: `records`, `counts`, `seeding`,
//! `schedule`, `social`, `indexes`, `search`, `mutes`, `mute_lists`,
//! `supersedes`, `trust`, `probes` and `logins`, each adding methods to [`Store`].

mod counts;
mod indexes;
mod logins;
mod mute_lists;
mod mutes;
mod probes;
mod records;
mod schedule;
mod search;
mod seeding;
mod social;
mod supersedes;
mod trust;

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, params};
use rusqlite_migration::{M, Migrations};
use upseed_core::{InfoHash, PublicKey};

pub use counts::CountsWritten;
pub use mute_lists::Subscription;
pub use probes::ProbeRecord;
pub use records::fetch_backoff;
pub use schedule::StepRecord;
pub use search::{HIT_END, HIT_START, RELEVANCE_WINDOW, SearchOrder, StoreSearch, StoredHit};
pub use seeding::{Expired, Pruned, Vote};
pub use social::{MAX_BOARD_ENTRIES, StoredItem};
pub use trust::TrustSize;
pub use upseed_core::counts::{CLIENT_SOURCE, Current, SwarmCount, current_counts};

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
    r#"
-- Torrents whose fetch failed (nobody seeds them, or too slowly), so that
-- discovery backs off instead of trying them on every run.
CREATE TABLE fetch_failures (
    infohash BLOB PRIMARY KEY CHECK (length(infohash) = 20),
    failures INTEGER NOT NULL,
    next_at  INTEGER NOT NULL,
    reason   TEXT NOT NULL
) STRICT;
CREATE INDEX board_entries_by_time ON board_entries (board, seen_at);
-- When a read last removed each torrent from the client, in milliseconds:
-- a new add of it waits until the removal's announce has gone out.
CREATE TABLE read_removals (
    infohash BLOB PRIMARY KEY CHECK (length(infohash) = 20),
    at_ms    INTEGER NOT NULL
) STRICT;
"#,
    r#"
-- Credentials the client refused, as salted PBKDF2 fingerprints (never the
-- password): upseed does not send them again, so repeated runs cannot get
-- this machine banned.
CREATE TABLE refused_logins (
    fingerprint BLOB PRIMARY KEY CHECK (length(fingerprint) = 32),
    at          INTEGER NOT NULL
) STRICT;
-- This store's random salt for those fingerprints.
CREATE TABLE store_salt (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    salt BLOB NOT NULL CHECK (length(salt) = 16)
) STRICT;
"#,
    search::MIGRATION,
    r#"
-- Ranking reads every candidate post's signals: these indexes hold them
-- all, so the read never visits the table.
CREATE INDEX post_stats_ranking ON post_stats
    (faded, created, seeders, last_comment, downloads, infohash);
CREATE INDEX post_stats_community_ranking ON post_stats
    (community, faded, created, seeders, last_comment, downloads, infohash);
DROP INDEX post_stats_by_created;
DROP INDEX post_stats_by_community_created;
"#,
    mutes::MIGRATION,
    supersedes::MIGRATION,
    mute_lists::MIGRATION,
    trust::MIGRATION,
    social::BOARD_NONCES,
    probes::MIGRATION,
];

/// The migration that adds the search index; its hook indexes the records
/// already stored.
const SEARCH_MIGRATION: usize = 10;

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
    /// The store's files cannot be made private.
    #[error(
        "cannot make the store at {path} readable by its owner only: {source}; check the folder's permissions"
    )]
    Permissions {
        /// The database file.
        path: String,
        /// What the file system said.
        source: std::io::Error,
    },
    /// The system's random source failed.
    #[error("cannot read random bytes from the system: {0}; check /dev/urandom")]
    Random(String),
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

/// Creates the store file with mode 0600 when it is new, and takes the
/// other users' permissions off the store, its WAL and its shared-memory
/// file when an older upseed left them readable. SQLite creates the WAL
/// and shared-memory files with the store's own mode.
fn private_files(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if !path.exists() {
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)?;
    }
    for suffix in ["", "-wal", "-shm"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        if let Ok(meta) = std::fs::metadata(&file)
            && meta.permissions().mode() & 0o077 != 0
        {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
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

/// The public key stored as `bytes`, if they are one.
fn key_from(bytes: &[u8]) -> Option<PublicKey> {
    <[u8; 32]>::try_from(bytes)
        .ok()
        .and_then(|b| PublicKey::from_bytes(&b).ok())
}

impl Store {
    /// Opens (creating if needed) and migrates the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let name = path.display().to_string();
        let sqlite = |source| StoreError::Sqlite {
            path: name.clone(),
            source,
        };
        private_files(path).map_err(|e| StoreError::Permissions {
            path: name.clone(),
            source: e,
        })?;
        let mut conn = Connection::open(path).map_err(sqlite)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(sqlite)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sqlite)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sqlite)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(sqlite)?;
        // Reads map the file instead of copying each page, and each
        // connection keeps up to 16 MiB of pages.
        conn.pragma_update(None, "mmap_size", 256i64 << 20)
            .map_err(sqlite)?;
        conn.pragma_update(None, "cache_size", -16_384i64)
            .map_err(sqlite)?;
        conn.set_prepared_statement_cache_capacity(64);
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
        let migrations = Migrations::new(
            MIGRATIONS
                .iter()
                .enumerate()
                .map(|(i, sql)| {
                    if i == SEARCH_MIGRATION {
                        M::up_with_hook(sql, search::index_stored)
                    } else {
                        M::up(sql)
                    }
                })
                .collect(),
        );
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

    /// The infohashes in the first column of `sql`'s rows, bound to `args`.
    fn hashes(&self, sql: &str, args: impl rusqlite::Params) -> Result<Vec<InfoHash>, StoreError> {
        self.blobs(sql, args, hash_from)
    }

    /// The public keys that `sql`, bound to `args`, selects in its first
    /// column; a value that is not a valid key is skipped.
    fn keys(&self, sql: &str, args: impl rusqlite::Params) -> Result<Vec<PublicKey>, StoreError> {
        self.blobs(sql, args, key_from)
    }

    /// The first column of `sql`'s rows, bound to `args`, each read by
    /// `read`; a value it refuses is skipped.
    fn blobs<T>(
        &self,
        sql: &str,
        args: impl rusqlite::Params,
        read: fn(&[u8]) -> Option<T>,
    ) -> Result<Vec<T>, StoreError> {
        let mut statement = self.conn.prepare_cached(sql).map_err(self.sqlite())?;
        let rows = statement
            .query_map(args, |r| r.get::<_, Vec<u8>>(0))
            .map_err(self.sqlite())?;
        let mut out = Vec::new();
        for row in rows {
            out.extend(read(&row.map_err(self.sqlite())?));
        }
        Ok(out)
    }

    /// The count that `sql`, bound to `args`, selects.
    /// A count per record from `sql`'s rows of (infohash, count).
    fn counts_by_hash(
        &self,
        sql: &str,
    ) -> Result<std::collections::HashMap<InfoHash, u32>, StoreError> {
        let mut statement = self.conn.prepare_cached(sql).map_err(self.sqlite())?;
        let rows = statement
            .query_map([], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?)))
            .map_err(self.sqlite())?;
        let mut out = std::collections::HashMap::new();
        for row in rows {
            let (hash, n) = row.map_err(self.sqlite())?;
            if let Ok(hash) = <[u8; 20]>::try_from(hash.as_slice()) {
                out.insert(
                    InfoHash::from_bytes(hash),
                    u32::try_from(n).unwrap_or(u32::MAX),
                );
            }
        }
        Ok(out)
    }

    fn count(&self, sql: &str, args: impl rusqlite::Params) -> Result<usize, StoreError> {
        self.conn
            .query_row(sql, args, |r| r.get::<_, i64>(0))
            .map(|n| usize::try_from(n).unwrap_or(0))
            .map_err(self.sqlite())
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
            let mut insert = tx.prepare_cached(sql).map_err(&sqlite)?;
            for hash in hashes {
                insert
                    .execute(params![owner, hash.as_bytes(), now as i64])
                    .map_err(&sqlite)?;
            }
        }
        tx.commit().map_err(&sqlite)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use upseed_core::retention::FadePolicy;
    use upseed_core::{CommentDraft, PostDraft, Record, SecretKey};

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
    fn the_store_and_its_journal_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let mut store = Store::open(&path).unwrap();
        store
            .put_foreign(InfoHash::from_bytes([1; 20]), "x", 1)
            .unwrap();
        let mode = |p: &str| {
            std::fs::metadata(dir.path().join(p))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("store.db"), 0o600);
        assert_eq!(mode("store.db-wal"), 0o600);
        assert_eq!(mode("store.db-shm"), 0o600);
        drop(store);
        // An older upseed's readable store is tightened when opened.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(Store::open(&path).unwrap());
        assert_eq!(mode("store.db"), 0o600);
    }

    #[test]
    fn board_entries_are_bounded_and_old_discovery_notes_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("store.db")).unwrap();
        let board = SecretKey::from_seed(&[9; 32]).public_key();
        let flood: Vec<InfoHash> = (0..200u16)
            .map(|n| {
                let mut b = [0u8; 20];
                b[..2].copy_from_slice(&n.to_be_bytes());
                InfoHash::from_bytes(b)
            })
            .collect();
        let kept = store.board_seen(board, &flood[..100], 10).unwrap();
        assert_eq!(kept.len(), 100);
        let kept = store.board_seen(board, &flood[100..], 20).unwrap();
        assert_eq!(kept.len(), MAX_BOARD_ENTRIES);
        assert!(
            flood[100..].iter().all(|h| kept.contains(h)),
            "the newest stay"
        );

        let (junk, slow) = (
            InfoHash::from_bytes([0xee; 20]),
            InfoHash::from_bytes([0xef; 20]),
        );
        store.put_foreign(junk, "junk", 10).unwrap();
        store.fetch_failed(slow, "timed out", 10).unwrap();
        let orphan = CommentDraft::reply_to("a reply to nothing we have", &post("gone", None))
            .unwrap()
            .sign(&SecretKey::from_seed(&[6; 32]), 1_500)
            .unwrap();
        store.put_record(&orphan, 10).unwrap();
        let planned = store.prune(15, None, false).unwrap();
        assert_eq!(
            planned.board_entries,
            MAX_BOARD_ENTRIES - 100,
            "the older entries kept, seen at 10"
        );
        assert_eq!((planned.foreign, planned.orphans), (1, 1));
        assert_eq!(planned.fetch_failures, 0, "its back-off runs until 40");
        assert!(
            store.record(orphan.infohash()).unwrap().is_some(),
            "a plan changes nothing"
        );
        let pruned = store.prune(1_000, None, true).unwrap();
        assert_eq!(
            (pruned.foreign, pruned.fetch_failures, pruned.orphans),
            (1, 1, 1)
        );
        assert!(store.record(orphan.infohash()).unwrap().is_none());
        assert!(store.known_hashes().unwrap().is_empty());
        assert!(store.board_seen(board, &[], 2_000).unwrap().is_empty());
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
