//! What seeding probes found: each peer's latest outcome per record, and
//! when each record was last probed, so rounds rotate through the feed.

use std::collections::HashMap;
use std::net::SocketAddr;

use rusqlite::params;
use upseed_core::InfoHash;
use upseed_core::peer_wire::Outcome;

use super::{Store, StoreError};

pub(super) const MIGRATION: &str = r#"
-- Each probed peer's latest outcome for a record (PROTOCOL.md §21).
CREATE TABLE probes (
    infohash BLOB NOT NULL CHECK (length(infohash) = 20),
    peer     TEXT NOT NULL,
    outcome  TEXT NOT NULL CHECK (outcome IN
                 ('verified', 'not_seeding', 'unreachable', 'choked', 'failed')),
    detail   TEXT,
    at       INTEGER NOT NULL,
    PRIMARY KEY (infohash, peer)
) STRICT, WITHOUT ROWID;
CREATE INDEX probes_by_time ON probes (at);

-- When each record was last probed, and how many peers its trackers listed.
CREATE TABLE probe_rounds (
    infohash BLOB PRIMARY KEY CHECK (length(infohash) = 20),
    at       INTEGER NOT NULL,
    listed   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
"#;

/// One peer's probe, as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRecord {
    /// The peer, as its tracker listed it.
    pub peer: SocketAddr,
    /// What the probe found.
    pub outcome: Outcome,
    /// Why, when it was not verified.
    pub detail: Option<String>,
    /// When, unix seconds.
    pub at: u64,
}

impl Store {
    /// Keeps one round of probes of `infohash`, whose trackers listed
    /// `listed` peers, and drops every result from before `keep_since`:
    /// a proof stands only so long.
    pub fn put_probes(
        &mut self,
        infohash: InfoHash,
        listed: usize,
        probes: &[ProbeRecord],
        keep_since: u64,
        now: u64,
    ) -> Result<(), StoreError> {
        let sqlite = super::sqlite_error(&self.path);
        let tx = self.conn.transaction().map_err(&sqlite)?;
        {
            let mut put = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO probes (infohash, peer, outcome, detail, at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(&sqlite)?;
            for p in probes {
                put.execute(params![
                    infohash.as_bytes(),
                    p.peer.to_string(),
                    p.outcome.as_str(),
                    p.detail,
                    p.at as i64
                ])
                .map_err(&sqlite)?;
            }
        }
        tx.execute(
            "INSERT OR REPLACE INTO probe_rounds (infohash, at, listed) VALUES (?1, ?2, ?3)",
            params![infohash.as_bytes(), now as i64, listed as i64],
        )
        .map_err(&sqlite)?;
        tx.execute(
            "DELETE FROM probes WHERE at < ?1",
            params![keep_since as i64],
        )
        .map_err(&sqlite)?;
        tx.commit().map_err(&sqlite)
    }

    /// The posts to probe next: live ones that someone claims to seed,
    /// never probed or probed before `before`, the least lately probed
    /// first and then the most seeded.
    pub fn probe_candidates(&self, before: u64, limit: usize) -> Result<Vec<InfoHash>, StoreError> {
        self.hashes(
            "SELECT s.infohash FROM post_stats s
             LEFT JOIN probe_rounds r ON r.infohash = s.infohash
             WHERE s.faded = 0 AND s.seeders > 0 AND coalesce(r.at, 0) < ?1
             ORDER BY coalesce(r.at, 0), s.seeders DESC, s.infohash
             LIMIT ?2",
            params![before as i64, limit as i64],
        )
    }

    /// Every kept probe of `infohash`, newest first.
    pub fn probes(&self, infohash: InfoHash) -> Result<Vec<ProbeRecord>, StoreError> {
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT peer, outcome, detail, at FROM probes WHERE infohash = ?1
                 ORDER BY at DESC, peer",
            )
            .map_err(self.sqlite())?;
        let rows = statement
            .query_map(params![infohash.as_bytes()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .map_err(self.sqlite())?;
        let mut out = Vec::new();
        for row in rows {
            let (peer, outcome, detail, at) = row.map_err(self.sqlite())?;
            if let (Ok(peer), Some(outcome)) = (peer.parse(), Outcome::parse(&outcome)) {
                out.push(ProbeRecord {
                    peer,
                    outcome,
                    detail,
                    at: at.max(0) as u64,
                });
            }
        }
        Ok(out)
    }

    /// Verified seeders per record: peers whose latest probe, still
    /// standing, served a piece that checked.
    pub fn verified_counts(&self) -> Result<HashMap<InfoHash, u32>, StoreError> {
        self.counts_by_hash(
            "SELECT infohash, count(*) FROM probes
             WHERE outcome = 'verified' GROUP BY infohash",
        )
    }

    /// The verified seeders of `infohash`.
    pub fn verified_count(&self, infohash: InfoHash) -> Result<u32, StoreError> {
        let n = self.count(
            "SELECT count(*) FROM probes WHERE infohash = ?1 AND outcome = 'verified'",
            params![infohash.as_bytes()],
        )?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use upseed_core::{PostDraft, SecretKey};

    const NOW: u64 = 1_800_000_000;

    fn probe(peer: &str, outcome: Outcome, at: u64) -> ProbeRecord {
        ProbeRecord {
            peer: peer.parse().unwrap(),
            outcome,
            detail: None,
            at,
        }
    }

    #[test]
    fn verified_seeders_are_counted_while_their_proof_stands() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("store.db")).unwrap();
        let key = SecretKey::from_seed(&[1; 32]);
        let post = PostDraft::new("probed").unwrap().sign(&key, NOW).unwrap();
        store.put_record(&post, NOW).unwrap();
        let hash = post.infohash();
        store
            .put_probes(
                hash,
                3,
                &[
                    probe("127.0.0.1:1", Outcome::Verified, NOW - 100),
                    probe("127.0.0.1:2", Outcome::Failed, NOW - 100),
                    probe("127.0.0.1:3", Outcome::Unreachable, NOW - 100),
                ],
                NOW - 3600,
                NOW,
            )
            .unwrap();
        assert_eq!(store.verified_count(hash).unwrap(), 1);
        assert_eq!(store.verified_counts().unwrap()[&hash], 1);
        // A peer probed again keeps only its latest outcome.
        store
            .put_probes(
                hash,
                3,
                &[probe("127.0.0.1:1", Outcome::Failed, NOW)],
                NOW - 3600,
                NOW,
            )
            .unwrap();
        assert_eq!(store.verified_count(hash).unwrap(), 0);
        assert_eq!(store.probes(hash).unwrap().len(), 3);
        assert_eq!(
            store.probe_candidates(NOW, 10).unwrap(),
            [] as [InfoHash; 0],
            "no seeders counted"
        );
        // Results past their time are dropped by a later round.
        store.put_probes(hash, 0, &[], NOW + 1, NOW + 3600).unwrap();
        assert!(store.probes(hash).unwrap().is_empty());
        assert_eq!(store.verified_counts().unwrap().len(), 0);
    }
}
