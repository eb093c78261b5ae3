//! Full-text search over the stored records with SQLite's FTS5: the words
//! of titles and bodies, narrowed by author and community.
//!
//! The index `search` is keyed by `search_docs.id`, an `INTEGER PRIMARY
//! KEY` that VACUUM never renumbers, and that grows in the order records
//! were indexed: newest first is `ORDER BY rowid DESC`, which FTS5 walks
//! without sorting. A record is indexed whenever it is stored (again, once
//! its body arrives), and a trigger drops it from the index when the
//! record is deleted, so no path that deletes records can leave it behind.

use rusqlite::{OptionalExtension, Transaction, params, params_from_iter, types::Value};
use upseed_core::{InfoHash, PublicKey, Record};

use super::{Store, StoreError, hash_from};

/// The migration that adds the index; its hook indexes what is stored.
pub(super) const MIGRATION: &str = r#"
-- Full-text search: one row per indexed record, and the FTS5 index over
-- their titles and bodies, keyed by that row's id.
CREATE TABLE search_docs (
    id       INTEGER PRIMARY KEY,
    infohash BLOB NOT NULL UNIQUE
) STRICT;
CREATE VIRTUAL TABLE search USING fts5 (
    title, body, author, tokenize = 'unicode61 remove_diacritics 2'
);
-- Author pages and `author:` searches find an author's records directly.
CREATE INDEX records_by_author ON records (author, created);
CREATE TRIGGER records_leave_search AFTER DELETE ON records BEGIN
    DELETE FROM search WHERE rowid = (SELECT id FROM search_docs WHERE infohash = old.infohash);
    DELETE FROM search_docs WHERE infohash = old.infohash;
END;
"#;

/// The marks around a matched word in a snippet: control characters,
/// which no record's text may contain.
pub const HIT_START: char = '\u{1}';
/// See [`HIT_START`].
pub const HIT_END: char = '\u{2}';

/// Indexes the records stored before the index existed: the migration's hook.
pub(super) fn index_stored(tx: &Transaction<'_>) -> rusqlite_migration::HookResult {
    let mut rows = tx.prepare("SELECT info, body FROM records ORDER BY first_seen")?;
    let stored: Vec<(Vec<u8>, Option<Vec<u8>>)> = rows
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (info, body) in stored {
        // A record that no longer verifies is not indexed; loading it
        // reports the damage.
        if let Ok(record) = Record::from_info(&info, u64::MAX / 2) {
            let body = body.as_deref().and_then(|b| std::str::from_utf8(b).ok());
            index(tx, &record, body)?;
        }
    }
    Ok(())
}

/// Indexes (again) `record` with its stored body, inside `tx`.
pub(super) fn index_record(tx: &Transaction<'_>, record: &Record) -> rusqlite::Result<()> {
    let body: Option<Vec<u8>> = tx
        .prepare_cached("SELECT body FROM records WHERE infohash = ?1")?
        .query_row(params![record.infohash().as_bytes()], |r| r.get(0))?;
    let body = body.as_deref().and_then(|b| std::str::from_utf8(b).ok());
    index(tx, record, body)
}

fn index(tx: &Transaction<'_>, record: &Record, body: Option<&str>) -> rusqlite::Result<()> {
    let hash = record.infohash();
    tx.prepare_cached("INSERT INTO search_docs (infohash) VALUES (?1) ON CONFLICT DO NOTHING")?
        .execute(params![hash.as_bytes()])?;
    let id: i64 = tx
        .prepare_cached("SELECT id FROM search_docs WHERE infohash = ?1")?
        .query_row(params![hash.as_bytes()], |r| r.get(0))?;
    tx.prepare_cached("DELETE FROM search WHERE rowid = ?1")?
        .execute(params![id])?;
    tx.prepare_cached("INSERT INTO search (rowid, title, body, author) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![
            id,
            record.title().map(|t| t.as_str()),
            body.unwrap_or(""),
            record.author().to_z32(),
        ])?;
    Ok(())
}

/// How search results are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchOrder {
    /// The most recently stored first.
    #[default]
    New,
    /// The best match first (FTS5's bm25), then the newest, among the
    /// [`RELEVANCE_WINDOW`] most recently stored matches.
    Relevance,
}

/// How many of the most recently stored matches a search by relevance
/// ranks: scoring every match of a word in every post would cost seconds
/// on a large store.
pub const RELEVANCE_WINDOW: usize = 1_000;

/// What [`Store::search`] looks for: every condition given must hold.
#[derive(Debug, Clone, Default)]
pub struct StoreSearch {
    /// An FTS5 query over titles and bodies: built by the caller from
    /// the user's words, each quoted.
    pub matching: Option<String>,
    /// Records by one of these authors only.
    pub authors: Option<Vec<PublicKey>>,
    /// Posts in this community, and the comments in their threads.
    pub community: Option<String>,
    /// The order.
    pub order: SearchOrder,
    /// At most this many.
    pub limit: usize,
    /// After skipping this many.
    pub offset: usize,
}

/// One record that matched, with the snippet of its text that did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredHit {
    /// The record.
    pub infohash: InfoHash,
    /// Words around the match, the matched ones between [`HIT_START`] and
    /// [`HIT_END`]; `None` when the search had no words.
    pub snippet: Option<String>,
}

/// The matched record and its snippet: of the body where words matched
/// there, else of the title.
const SELECT_WITH_SNIPPET: &str = concat!("SELECT r.infohash, ", snippet_of_search!());

/// The snippet of the current `search` row: of the body where words
/// matched there, else of the title.
macro_rules! snippet_of_search {
    () => {
        "CASE
    WHEN instr(snippet(search, 1, char(1), char(2), '…', 24), char(1)) > 0
    THEN snippet(search, 1, char(1), char(2), '…', 24)
    ELSE snippet(search, 0, char(1), char(2), '…', 24) END"
    };
}
use snippet_of_search;

/// The community a record belongs to: its own, or its thread's post's.
const COMMUNITY_OF_R: &str =
    "coalesce(r.community, (SELECT p.community FROM records p WHERE p.infohash = r.root))";

/// Search.
impl Store {
    /// The authors of stored records whose key's text form starts with
    /// `prefix` (z-base-32), at most 64.
    pub fn authors_with_prefix(&self, prefix: &str) -> Result<Vec<PublicKey>, StoreError> {
        let Some((low, high)) = PublicKey::z32_prefix_range(prefix) else {
            return Ok(Vec::new());
        };
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT DISTINCT author FROM records WHERE author BETWEEN ?1 AND ?2 LIMIT 64",
            )
            .map_err(self.sqlite())?;
        let rows = statement
            .query_map(params![low.to_vec(), high.to_vec()], |r| {
                r.get::<_, Vec<u8>>(0)
            })
            .map_err(self.sqlite())?;
        let mut keys = Vec::new();
        for row in rows {
            let bytes = row.map_err(self.sqlite())?;
            if let Some(key) = <[u8; 32]>::try_from(bytes.as_slice())
                .ok()
                .and_then(|b| PublicKey::from_bytes(&b).ok())
            {
                keys.push(key);
            }
        }
        Ok(keys)
    }

    /// The stored records that match `query`.
    pub fn search(&self, query: &StoreSearch) -> Result<Vec<StoredHit>, StoreError> {
        let mut args: Vec<Value> = Vec::new();
        let mut conditions: Vec<String> = Vec::new();
        // An author filter with words is part of the full-text query,
        // which intersects the word's and the author's lists at once.
        let by_author = |authors: &[PublicKey]| {
            let keys: Vec<String> = authors
                .iter()
                .map(|k| format!("\"{}\"", k.to_z32()))
                .collect();
            format!("author : ({})", keys.join(" OR "))
        };
        let (select, from, order) = match &query.matching {
            Some(matching) => {
                let mut matching = format!("{{title body}} : ({matching})");
                if let Some(authors) = &query.authors {
                    if authors.is_empty() {
                        return Ok(Vec::new());
                    }
                    matching = format!("{matching} AND {}", by_author(authors));
                }
                args.push(Value::Text(matching.clone()));
                conditions.push("search MATCH ?1".into());
                let order = match query.order {
                    SearchOrder::New => "search.rowid DESC",
                    SearchOrder::Relevance => return self.by_relevance(&matching, query),
                };
                (
                    SELECT_WITH_SNIPPET,
                    "search JOIN search_docs d ON d.id = search.rowid
                     JOIN records r ON r.infohash = d.infohash",
                    order,
                )
            }
            None => (
                "SELECT r.infohash, NULL",
                "records r",
                "r.created DESC, r.infohash",
            ),
        };
        if let (Some(authors), None) = (&query.authors, &query.matching) {
            let mut marks = Vec::with_capacity(authors.len());
            for author in authors {
                args.push(Value::Blob(author.as_bytes().to_vec()));
                marks.push(format!("?{}", args.len()));
            }
            if marks.is_empty() {
                return Ok(Vec::new());
            }
            conditions.push(format!("r.author IN ({})", marks.join(", ")));
        }
        if let Some(community) = &query.community {
            args.push(Value::Text(community.clone()));
            conditions.push(format!("{COMMUNITY_OF_R} = ?{}", args.len()));
        }
        args.push(Value::Integer(
            i64::try_from(query.limit).unwrap_or(i64::MAX),
        ));
        let limit = args.len();
        args.push(Value::Integer(
            i64::try_from(query.offset).unwrap_or(i64::MAX),
        ));
        let offset = args.len();
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "{select} FROM {from} {filter} ORDER BY {order} LIMIT ?{limit} OFFSET ?{offset}"
        );
        let mut statement = self.conn.prepare_cached(&sql).map_err(self.sqlite())?;
        let rows = statement
            .query_map(params_from_iter(args), |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Option<String>>(1)?))
            })
            .map_err(self.sqlite())?;
        let mut hits = Vec::new();
        for row in rows {
            let (hash, snippet) = row.map_err(self.sqlite())?;
            if let Some(infohash) = hash_from(&hash) {
                hits.push(StoredHit { infohash, snippet });
            }
        }
        Ok(hits)
    }
}

impl Store {
    /// A search by relevance: FTS5's bm25 over the [`RELEVANCE_WINDOW`]
    /// most recently stored matches, found in two steps so that SQLite
    /// scores only those: the window's oldest match first, then the
    /// window's matches, materialized, scored, filtered and ordered.
    /// Snippets are made for the page of results only.
    fn by_relevance(
        &self,
        matching: &str,
        query: &StoreSearch,
    ) -> Result<Vec<StoredHit>, StoreError> {
        let oldest: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT rowid FROM search WHERE search MATCH ?1
                 ORDER BY rowid DESC LIMIT 1 OFFSET ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![matching, RELEVANCE_WINDOW as i64 - 1], |r| r.get(0))
                    .optional()
            })
            .map_err(self.sqlite())?;
        let community = match &query.community {
            Some(_) => format!("WHERE {COMMUNITY_OF_R} = ?5"),
            None => "WHERE ?5 IS NULL".to_owned(),
        };
        let sql = format!(
            "WITH m AS MATERIALIZED (
                 SELECT rowid AS id, rank AS score FROM search
                 WHERE search MATCH ?1 AND rowid >= ?2
             )
             SELECT r.infohash, m.id FROM m
             JOIN search_docs d ON d.id = m.id JOIN records r ON r.infohash = d.infohash
             {community}
             ORDER BY m.score, m.id DESC LIMIT ?3 OFFSET ?4"
        );
        let found: Vec<(Vec<u8>, i64)> = self
            .conn
            .prepare_cached(&sql)
            .and_then(|mut s| {
                s.query_map(
                    params![
                        matching,
                        oldest.unwrap_or(0),
                        i64::try_from(query.limit).unwrap_or(i64::MAX),
                        i64::try_from(query.offset).unwrap_or(i64::MAX),
                        query.community,
                    ],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?
                .collect()
            })
            .map_err(self.sqlite())?;
        let mut snippet = self
            .conn
            .prepare_cached(concat!(
                "SELECT ",
                snippet_of_search!(),
                " FROM search WHERE search MATCH ?1 AND rowid = ?2"
            ))
            .map_err(self.sqlite())?;
        let mut hits = Vec::with_capacity(found.len());
        for (hash, id) in found {
            let text: Option<String> = snippet
                .query_row(params![matching, id], |r| r.get(0))
                .optional()
                .map_err(self.sqlite())?;
            if let Some(infohash) = hash_from(&hash) {
                hits.push(StoredHit {
                    infohash,
                    snippet: text,
                });
            }
        }
        Ok(hits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use upseed_core::{PostDraft, SecretKey};

    fn post(
        key: &SecretKey,
        created: u64,
        title: &str,
        body: &str,
        community: Option<&str>,
    ) -> Record {
        let mut draft = PostDraft::new(body).unwrap().title(title).unwrap();
        if let Some(c) = community {
            draft = draft.community(c).unwrap();
        }
        draft.sign(key, created).unwrap()
    }

    fn words(q: &str) -> StoreSearch {
        StoreSearch {
            matching: Some(q.into()),
            limit: 10,
            ..StoreSearch::default()
        }
    }

    #[test]
    fn words_authors_and_communities_narrow_the_search_and_deletes_leave_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("store.db")).unwrap();
        let alice = SecretKey::from_seed(&[1; 32]);
        let bob = SecretKey::from_seed(&[2; 32]);
        let a = post(
            &alice,
            1_000,
            "Compost heaps",
            "Turning the compost weekly",
            Some("garden"),
        );
        let b = post(
            &bob,
            2_000,
            "Bread",
            "Sourdough and compost do not mix",
            Some("kitchen"),
        );
        let c = post(&bob, 3_000, "Café notes", "Nothing to see", None);
        store
            .put_records(&[a.clone(), b.clone(), c.clone()], 10)
            .unwrap();

        let found = store.search(&words("\"compost\"")).unwrap();
        let hashes: Vec<InfoHash> = found.iter().map(|h| h.infohash).collect();
        assert_eq!(
            hashes,
            vec![b.infohash(), a.infohash()],
            "newest stored first"
        );
        let snippet = found[0].snippet.as_deref().unwrap();
        assert!(snippet.contains("\u{1}compost\u{2}"), "{snippet}");

        // Diacritics fold: "cafe" finds "Café".
        let cafe = store.search(&words("\"cafe\"")).unwrap();
        assert_eq!(cafe.len(), 1);
        assert_eq!(cafe[0].infohash, c.infohash());

        let by_alice = StoreSearch {
            authors: Some(vec![alice.public_key()]),
            ..words("\"compost\"")
        };
        let hits = store.search(&by_alice).unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].infohash, a.infohash());

        let in_kitchen = StoreSearch {
            community: Some("kitchen".into()),
            ..words("\"compost\"")
        };
        assert_eq!(store.search(&in_kitchen).unwrap()[0].infohash, b.infohash());

        // No words: everything by bob, newest first, without a snippet.
        let all_bob = StoreSearch {
            authors: Some(vec![bob.public_key()]),
            limit: 10,
            ..StoreSearch::default()
        };
        let hits = store.search(&all_bob).unwrap();
        assert_eq!(
            hits.iter().map(|h| h.infohash).collect::<Vec<_>>(),
            vec![c.infohash(), b.infohash()]
        );
        assert!(hits.iter().all(|h| h.snippet.is_none()));

        // Key prefixes find their authors.
        let text = bob.public_key().to_string();
        assert_eq!(
            store.authors_with_prefix(&text[..7]).unwrap(),
            vec![bob.public_key()]
        );
        assert_eq!(
            store.authors_with_prefix(&text).unwrap(),
            vec![bob.public_key()]
        );

        // Best match first: bob's bread post says compost once in a long
        // body, alice's twice in a short one (title and body).
        let relevance = StoreSearch {
            order: SearchOrder::Relevance,
            ..words("\"compost\"")
        };
        let ranked: Vec<InfoHash> = store
            .search(&relevance)
            .unwrap()
            .iter()
            .map(|h| h.infohash)
            .collect();
        assert_eq!(ranked, vec![a.infohash(), b.infohash()]);
        let hits = store
            .search(&StoreSearch {
                community: Some("kitchen".into()),
                ..relevance.clone()
            })
            .unwrap();
        assert_eq!(hits.len(), 1);
        assert!(
            hits[0]
                .snippet
                .as_deref()
                .unwrap()
                .contains("\u{1}compost\u{2}")
        );

        // Storing a record again does not index it twice.
        store.put_record(&a, 20).unwrap();
        assert_eq!(store.search(&words("\"weekly\"")).unwrap().len(), 1);

        // A deleted record leaves the index.
        store
            .conn
            .execute(
                "DELETE FROM post_stats WHERE infohash = ?1",
                params![a.infohash().as_bytes()],
            )
            .unwrap();
        store
            .conn
            .execute(
                "DELETE FROM records WHERE infohash = ?1",
                params![a.infohash().as_bytes()],
            )
            .unwrap();
        assert!(store.search(&words("\"weekly\"")).unwrap().is_empty());
        let left: i64 = store
            .conn
            .query_row("SELECT count(*) FROM search_docs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 2);
    }

    #[test]
    fn records_stored_before_the_index_existed_are_indexed_by_the_migration() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let key = SecretKey::from_seed(&[3; 32]);
        let old = post(&key, 1_000, "Older", "stored before search", None);
        {
            let mut store = Store::open(&path).unwrap();
            store.put_record(&old, 10).unwrap();
            // Back to the schema before the index (and the later migrations).
            store
                .conn
                .execute_batch(&format!(
                    "DROP TRIGGER records_leave_search; DROP TABLE search; DROP TABLE search_docs;
                     DROP INDEX records_by_author;
                     DROP INDEX post_stats_ranking; DROP INDEX post_stats_community_ranking;
                     CREATE INDEX post_stats_by_created ON post_stats (created);
                     CREATE INDEX post_stats_by_community_created ON post_stats (community, created);
                     DROP TABLE mutes; DROP TABLE mutes_generation; DROP TABLE muted_records;
                     DROP TABLE supersedes; DROP TABLE supersede_checks;
                     DROP TABLE mute_subscriptions; DROP TABLE list_mutes; DROP TABLE own_mute_list;
                     DROP TRIGGER follows_added; DROP TRIGGER follows_removed;
                     DROP TABLE follow_lists; DROP TABLE trust; DROP TABLE trust_reads; DROP TABLE trusted_counts;
                     DROP TABLE board_nonces; DROP TABLE probes; DROP TABLE probe_rounds;
                     PRAGMA user_version = {};",
                    super::super::SEARCH_MIGRATION
                ))
                .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let hits = store.search(&words("\"before\"")).unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].infohash, old.infohash());
    }
}
