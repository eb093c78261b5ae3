//! Swarm counts over time, the current counts of each post, and the
//! silence that fades a post: what ranking reads.

use rusqlite::{OptionalExtension, params};
use upseed_core::InfoHash;
use upseed_core::counts::{CLIENT_SOURCE, Current, SwarmCount, current_counts};
use upseed_core::rank::Signals;
use upseed_core::retention::{FadePolicy, Life, Silence};

use super::{Store, StoreError, hash_from, sqlite_error};

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

/// Counts, history and fading.
impl Store {
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
                .prepare_cached(
                    "INSERT OR REPLACE INTO swarm (infohash, source, seeders, leechers, completed, seen_at)
                     SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE NOT EXISTS (
                         SELECT 1 FROM swarm_latest WHERE infohash = ?1 AND source = ?2
                         AND seeders IS ?3 AND leechers IS ?4 AND completed IS ?5)",
                )
                .map_err(&sqlite)?;
            let mut latest = tx
                .prepare_cached(
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
                .prepare_cached(
                    "SELECT silent_refreshes, silent_since, faded FROM post_stats WHERE infohash = ?1",
                )
                .map_err(&sqlite)?;
            let mut stats = tx
                .prepare_cached(
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
            .prepare_cached(
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
