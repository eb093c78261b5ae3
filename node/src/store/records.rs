//! Records: the posts and comments the store knows, verified again when
//! loaded, and the torrents that proved not to be records.

use std::collections::{HashMap, HashSet};

use rusqlite::{OptionalExtension, params};
use upseed_core::{InfoHash, Kind, PublicKey, Record};

use super::{Store, StoreError, hash_from, sqlite_error};

/// Inserts one record and updates its thread's stats, inside `tx`.
pub(super) fn insert_record(
    tx: &rusqlite::Transaction<'_>,
    record: &Record,
    now: u64,
) -> rusqlite::Result<()> {
    let kind = match record.kind() {
        Kind::Post => "post",
        Kind::Comment => "comment",
    };
    let body = record.body().map(|b| b.as_bytes().to_vec());
    tx.prepare_cached("DELETE FROM fetch_failures WHERE infohash = ?1")?
        .execute(params![record.infohash().as_bytes()])?;
    let new = !tx
        .prepare_cached("SELECT 1 FROM records WHERE infohash = ?1")?
        .exists(params![record.infohash().as_bytes()])?;
    if new {
        // A trusted author counts once in their record's trusted count.
        tx.prepare_cached(
            "INSERT INTO trusted_counts (infohash, trusted)
             SELECT ?1, 1 WHERE EXISTS (SELECT 1 FROM trust WHERE key = ?2)
             ON CONFLICT (infohash) DO UPDATE SET trusted = trusted + 1",
        )?
        .execute(params![
            record.infohash().as_bytes(),
            record.author().as_bytes()
        ])?;
    }
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
    super::search::index_record(tx, record)?;
    // A new version of another record ranks, and counts as a reply, only
    // through the record it replaces.
    if super::supersedes::is_replacement(tx, record.infohash())? {
        return Ok(());
    }
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

/// How long discovery leaves a torrent alone after its `failures`-th
/// failed fetch: 30 seconds, doubling, at most a day. A post whose seeder
/// was away a moment is soon tried again; junk that a tracker or a board
/// lists costs a fetch a few times a day at most.
pub fn fetch_backoff(failures: u64) -> u64 {
    let doubled = 30u64.saturating_mul(1 << failures.saturating_sub(1).min(16));
    doubled.min(86_400)
}

/// Records whose info dict this process has verified, by infohash: a
/// load whose stored dict is byte for byte the one verified reuses that
/// verification instead of checking the signature again, which would
/// otherwise be most of a page's cost. A changed dict is verified anew.
static VERIFIED: std::sync::LazyLock<std::sync::Mutex<HashMap<InfoHash, Record>>> =
    std::sync::LazyLock::new(Default::default);

/// At most this many verified records are remembered (a few MiB).
const VERIFIED_KEPT: usize = 10_000;

/// The verified record of `infohash`, if its info dict was `info`.
fn verified(infohash: InfoHash, info: &[u8]) -> Option<Record> {
    let cache = VERIFIED.lock().ok()?;
    cache
        .get(&infohash)
        .filter(|r| r.info_bytes() == info)
        .cloned()
}

/// Remembers a record whose info dict was just verified (without its body).
fn remember_verified(record: &Record) {
    if let Ok(mut cache) = VERIFIED.lock() {
        if cache.len() >= VERIFIED_KEPT {
            cache.clear();
        }
        cache.insert(record.infohash(), record.clone());
    }
}

/// Records and foreign torrents.
impl Store {
    /// Why a torrent proved not to be an upseed record, if it did.
    pub fn foreign(&self, infohash: InfoHash) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT reason FROM foreign_torrents WHERE infohash = ?1",
                params![infohash.as_bytes()],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.sqlite())
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
        let mut record = match verified(infohash, &info) {
            Some(record) => record,
            None => {
                // The record was verified when stored; only its own clock
                // matters now.
                let record = Record::from_info(&info, u64::MAX / 2).map_err(corrupt)?;
                if record.infohash() != infohash {
                    return Err(StoreError::Corrupt {
                        infohash,
                        reason: "the info dict hashes to another infohash".into(),
                    });
                }
                remember_verified(&record);
                record
            }
        };
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
            .prepare_cached("SELECT infohash FROM records WHERE root = ?1 ORDER BY created")
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

    /// Records that fetching `infohash` failed at `now`; returns when
    /// discovery may try it again (see [`fetch_backoff`]).
    pub fn fetch_failed(
        &mut self,
        infohash: InfoHash,
        reason: &str,
        now: u64,
    ) -> Result<u64, StoreError> {
        let failures: i64 = self
            .conn
            .query_row(
                "SELECT failures FROM fetch_failures WHERE infohash = ?1",
                params![infohash.as_bytes()],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.sqlite())?
            .unwrap_or(0)
            + 1;
        let next_at = now.saturating_add(fetch_backoff(failures.unsigned_abs()));
        self.conn
            .execute(
                "INSERT INTO fetch_failures (infohash, failures, next_at, reason) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (infohash) DO UPDATE SET failures = excluded.failures,
                 next_at = excluded.next_at, reason = excluded.reason",
                params![
                    infohash.as_bytes(),
                    failures,
                    i64::try_from(next_at).unwrap_or(i64::MAX),
                    reason
                ],
            )
            .map_err(self.sqlite())?;
        Ok(next_at)
    }

    /// Notes that a read removed `infohash` from the client at `at_ms`
    /// (milliseconds since the epoch).
    pub fn note_read_removal(&mut self, infohash: InfoHash, at_ms: u64) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO read_removals (infohash, at_ms) VALUES (?1, ?2)
                 ON CONFLICT (infohash) DO UPDATE SET at_ms = excluded.at_ms",
                params![
                    infohash.as_bytes(),
                    i64::try_from(at_ms).unwrap_or(i64::MAX)
                ],
            )
            .map(drop)
            .map_err(self.sqlite())
    }

    /// When a read last removed `infohash` from the client, in milliseconds.
    pub fn read_removal(&self, infohash: InfoHash) -> Result<Option<u64>, StoreError> {
        self.conn
            .query_row(
                "SELECT at_ms FROM read_removals WHERE infohash = ?1",
                params![infohash.as_bytes()],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map(|t| t.map(i64::unsigned_abs))
            .map_err(self.sqlite())
    }

    /// Torrents whose last fetch failed and whose back-off has not run
    /// out at `now`.
    pub fn backing_off(&self, now: u64) -> Result<HashSet<InfoHash>, StoreError> {
        Ok(self
            .hashes(
                "SELECT infohash FROM fetch_failures WHERE next_at > ?1",
                params![i64::try_from(now).unwrap_or(i64::MAX)],
            )?
            .into_iter()
            .collect())
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

    /// How many comments a thread has.
    pub fn comment_count(&self, root: InfoHash) -> Result<usize, StoreError> {
        self.count(
            "SELECT count(*) FROM records WHERE root = ?1",
            params![root.as_bytes()],
        )
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

    /// The communities with posts in the store, busiest first, with how
    /// many posts each has: at most `limit`.
    pub fn communities(&self, limit: usize) -> Result<Vec<(String, usize)>, StoreError> {
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT community, count(*) FROM records
                 WHERE kind = 'post' AND community IS NOT NULL
                 GROUP BY community ORDER BY count(*) DESC, community LIMIT ?1",
            )
            .map_err(self.sqlite())?;
        let rows = statement
            .query_map(params![limit as i64], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })
            .map_err(self.sqlite())?;
        let mut out = Vec::new();
        for row in rows {
            let (name, count) = row.map_err(self.sqlite())?;
            out.push((name, usize::try_from(count).unwrap_or(0)));
        }
        Ok(out)
    }

    /// The posts `author` wrote, newest first: at most `limit`.
    pub fn posts_by(&self, author: PublicKey, limit: usize) -> Result<Vec<InfoHash>, StoreError> {
        self.hashes(
            "SELECT infohash FROM records WHERE author = ?1 AND kind = 'post'
             ORDER BY created DESC LIMIT ?2",
            params![author.as_bytes(), limit as i64],
        )
    }
}
