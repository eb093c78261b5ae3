//! Feeds and threads as the store ranks them: the typed values every
//! front end renders, with their JSON forms (schemas in `docs/schema/`).

use std::collections::HashMap;

use upseed_core::mute::{MutedBy, Mutes};
use upseed_core::rank::{self, Basis, Sort};
use upseed_core::{Community, InfoHash, PublicKey, Record, RecordJson};

use crate::Error;
use crate::store::Store;

/// One post in a feed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct FeedItem {
    /// 1 for the first post.
    pub rank: usize,
    /// Who seeds it now, the author included: its upvotes.
    pub seeders: u32,
    /// How many keys of the reader's web of trust upvote it, its author
    /// included when trusted.
    #[serde(default)]
    pub trusted: u32,
    /// How many peers proved they seed it: each served a probe a piece
    /// that matched its signed hash, lately (PROTOCOL.md §21).
    #[serde(default)]
    pub verified: u32,
    /// How many finished downloading it: its reads.
    pub downloads: u32,
    /// Comments known in its thread.
    pub comments: usize,
    /// The display name the author's outbox gives, if known: a claim, not
    /// an identity, so front ends show the key beside it.
    pub author_name: Option<String>,
    /// The mute that covers it, when muted posts are shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted: Option<MutedBy>,
    /// Its author's edit or delete in force, if any: front ends show the
    /// latest version (or that it was deleted) under this post's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit: Option<EditJson>,
    /// The post as first published: its id is this record's infohash.
    pub record: RecordJson,
}

/// What its author did to a post or comment since publishing it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct EditJson {
    /// Whether its author deleted it.
    pub deleted: bool,
    /// How many edits and deletes of it are known.
    pub versions: usize,
    /// The latest version's infohash, when edited.
    pub replacement: Option<InfoHash>,
    /// The latest version, when edited and fetched.
    pub latest: Option<RecordJson>,
    /// The versions between the first and the latest that the store holds,
    /// oldest first.
    #[serde(default)]
    pub earlier: Vec<RecordJson>,
}

/// The records with edits or deletes, read once for a page: most records
/// have none, and need no lookup of their own.
#[derive(Debug, Clone, Default)]
pub struct Edited(std::collections::HashSet<InfoHash>);

impl Edited {
    /// The targets `store` holds supersede records for.
    pub fn load(store: &Store) -> Result<Self, Error> {
        Ok(Self(store.supersede_targets()?))
    }

    /// The edit or delete in force for the stored `record`, if any.
    pub fn of(&self, store: &Store, record: &Record) -> Result<Option<EditJson>, Error> {
        Ok(self.with_latest(store, record)?.0)
    }

    /// [`Edited::of`], with the latest version's record when it is stored:
    /// what mutes check besides the first version.
    pub(crate) fn with_latest(
        &self,
        store: &Store,
        record: &Record,
    ) -> Result<(Option<EditJson>, Option<Record>), Error> {
        if self.0.contains(&record.infohash()) {
            Ok(match edit_in_force(store, record)? {
                Some((edit, latest)) => (Some(edit), latest),
                None => (None, None),
            })
        } else {
            Ok((None, None))
        }
    }
}

/// The edit or delete in force for the stored `record`, if any: one its
/// author signed, with a replacement that fits (PROTOCOL.md §19).
pub fn edit_of(store: &Store, record: &Record) -> Result<Option<EditJson>, Error> {
    Ok(edit_in_force(store, record)?.map(|(edit, _)| edit))
}

/// [`edit_of`], with the latest version's record when stored.
fn edit_in_force(
    store: &Store,
    record: &Record,
) -> Result<Option<(EditJson, Option<Record>)>, Error> {
    let history = store.supersede_history(record.infohash())?;
    let signed = history.iter().filter(|s| s.check_target(record).is_ok());
    let Some(current) = upseed_core::supersede::in_force(signed) else {
        return Ok(None);
    };
    let latest = match current.replacement() {
        Some(hash) => store
            .record(hash)?
            .filter(|r| current.check_replacement(record, r).is_ok()),
        None => None,
    };
    let mut earlier = Vec::new();
    for step in &history {
        if let Some(hash) = step.replacement()
            && Some(hash) != current.replacement()
            && step.check_target(record).is_ok()
            && let Some(version) = store.record(hash)?
            && step.check_replacement(record, &version).is_ok()
            && !earlier.iter().any(|e: &RecordJson| e.infohash == hash)
        {
            earlier.push(version.to_json());
        }
    }
    let edit = EditJson {
        deleted: current.is_delete(),
        versions: history.len(),
        replacement: current.replacement(),
        latest: latest.as_ref().map(Record::to_json),
        earlier,
    };
    Ok(Some((edit, latest)))
}

/// `upseed feed --json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct FeedJson {
    /// How the feed is ordered: `"sort"`, and for `top`, `"window"`.
    #[serde(flatten)]
    pub sort: Sort,
    /// The community, when the feed is one community's.
    pub community: Option<String>,
    /// Which count it ranks by: `seeders` or `trusted`.
    #[serde(default)]
    pub by: Basis,
    /// When the feed was ranked, unix seconds.
    pub now: u64,
    /// How many muted posts ranked among these: left out, or shown
    /// marked when asked.
    #[serde(default)]
    pub hidden: usize,
    /// The posts, best first.
    pub items: Vec<FeedItem>,
}

/// One comment in a thread.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ThreadComment {
    /// 1 for a comment on the post, 2 for a reply to it, and so on.
    pub depth: usize,
    /// Who seeds it now.
    pub seeders: u32,
    /// The display name the author's outbox gives, if known.
    pub author_name: Option<String>,
    /// The mute that covers it, when muted comments are shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted: Option<MutedBy>,
    /// Its author's edit or delete in force, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit: Option<EditJson>,
    /// The comment as first published.
    pub record: RecordJson,
}

/// `upseed thread --json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ThreadJson {
    /// The post; `muted` says when a mute covers it (a thread asked for
    /// by name is shown all the same).
    pub post: FeedItem,
    /// How many comments mutes cover, with the replies under them: left
    /// out, or shown marked when asked.
    #[serde(default)]
    pub hidden: usize,
    /// Its comments, depth first, siblings in the chosen order.
    pub comments: Vec<ThreadComment>,
}

/// Authors' display names: ours from our profile, others' from the
/// outboxes of the keys we follow.
#[derive(Debug, Clone, Default)]
pub struct Names(HashMap<PublicKey, String>);

impl Names {
    /// The names `store` knows; `me` is our key, when we have one.
    pub fn load(store: &Store, me: Option<PublicKey>) -> Result<Self, Error> {
        let mut names = store.outbox_names()?;
        if let (Some(me), Some(name)) = (me, store.profile_name()?) {
            names.insert(me, name);
        }
        Ok(Self(names))
    }

    /// The name of `key`, if known.
    pub fn get(&self, key: &PublicKey) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// The keys whose display name is `name`, case folded.
    pub fn named(&self, name: &str) -> Vec<PublicKey> {
        let name = name.to_lowercase();
        let mut keys: Vec<PublicKey> = self
            .0
            .iter()
            .filter(|(_, n)| n.to_lowercase() == name)
            .map(|(k, _)| *k)
            .collect();
        keys.sort_by_key(|k| *k.as_bytes());
        keys
    }

    /// Fills in the authors' names in `feed`.
    pub fn name_feed(&self, feed: &mut FeedJson) {
        for item in &mut feed.items {
            item.author_name = self.get(&item.record.author).map(str::to_owned);
        }
    }

    /// Fills in the authors' names in `thread`.
    pub fn name_thread(&self, thread: &mut ThreadJson) {
        let post = &mut thread.post;
        post.author_name = self.get(&post.record.author).map(str::to_owned);
        for comment in &mut thread.comments {
            comment.author_name = self.get(&comment.record.author).map(str::to_owned);
        }
    }
}

/// `upseed serve`'s author page: who they claim to be, and their posts.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct AuthorJson {
    /// Their key.
    pub key: PublicKey,
    /// The display name their outbox gives, if known.
    pub name: Option<String>,
    /// Whether we follow them.
    pub following: bool,
    /// Whether we muted them.
    #[serde(default)]
    pub muted: bool,
    /// Their posts in the store, newest first, as a feed.
    pub feed: FeedJson,
}

/// The posts of `author` in the store, newest first, at most `limit`;
/// muted ones are left out unless `view` shows them.
pub fn build_author(
    store: &Store,
    author: PublicKey,
    limit: usize,
    now: u64,
    view: View<'_>,
) -> Result<AuthorJson, Error> {
    let mut items = Vec::new();
    let mut hidden = 0;
    let edited = Edited::load(store)?;
    for hash in store.posts_by(author, limit)? {
        let record = known(store, hash)?;
        let (edit, latest) = edited.with_latest(store, &record)?;
        let Some(muted) = view.screen((&record, latest.as_ref()), now, &mut hidden) else {
            continue;
        };
        let current = store.current(hash)?;
        let counts = (current.seeders, current.downloads);
        items.push(item(
            store,
            items.len() + 1,
            &record,
            counts,
            (muted, edit),
        )?);
    }
    Ok(AuthorJson {
        key: author,
        name: None,
        following: store.follows()?.contains(&author),
        muted: view.mutes.author(&author, now),
        feed: FeedJson {
            sort: Sort::New,
            by: Basis::Seeders,
            community: None,
            now,
            hidden,
            items,
        },
    })
}

/// What a read leaves out: the mutes in force, and whether muted records
/// are shown (marked) instead of left out.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    /// The reader's mutes.
    pub mutes: &'a Mutes,
    /// Show muted records, marked, instead of leaving them out.
    pub show_muted: bool,
}

impl View<'_> {
    /// The mute that covers `record` as of `now`, in its first version or
    /// in its `latest` edit.
    pub(crate) fn muted_by(
        &self,
        (record, latest): (&Record, Option<&Record>),
        now: u64,
    ) -> Option<MutedBy> {
        self.mutes
            .check(record, now)
            .or_else(|| latest.and_then(|l| self.mutes.check(l, now)))
    }

    /// Whether `record` shows as of `now` (`None`: left out), with the
    /// mute that marks it; one a mute covers, in its first version or in
    /// its `latest` edit, is counted in `hidden`.
    pub(crate) fn screen(
        &self,
        (record, latest): (&Record, Option<&Record>),
        now: u64,
        hidden: &mut usize,
    ) -> Option<Option<MutedBy>> {
        let muted = self.muted_by((record, latest), now);
        if muted.is_some() {
            *hidden += 1;
            if !self.show_muted {
                return None;
            }
        }
        Some(muted)
    }
}

impl View<'static> {
    /// No mutes: everything is shown.
    pub fn all() -> Self {
        static NONE: std::sync::OnceLock<Mutes> = std::sync::OnceLock::new();
        Self {
            mutes: NONE.get_or_init(Mutes::default),
            show_muted: true,
        }
    }
}

/// A feed's entry for the stored post `record`, at `rank`, with its
/// seeders and downloads.
fn item(
    store: &Store,
    rank: usize,
    record: &Record,
    (seeders, downloads): (u32, u32),
    (muted, edit): (Option<MutedBy>, Option<EditJson>),
) -> Result<FeedItem, Error> {
    Ok(FeedItem {
        rank,
        seeders,
        trusted: store.trusted_count(record.infohash())?,
        verified: store.verified_count(record.infohash())?,
        downloads,
        comments: store.comment_count(record.infohash())?,
        author_name: None,
        muted,
        edit,
        record: record.to_json(),
    })
}

/// A stored record, or an error that says it is unknown.
pub fn known(store: &Store, hash: InfoHash) -> Result<Record, Error> {
    store.record(hash)?.ok_or(Error::Unknown(hash))
}

/// The feed of `sort` as of `now`: the best `limit` posts, optionally of
/// one community, with nothing muted.
pub fn build_feed(
    store: &Store,
    sort: Sort,
    community: Option<&Community>,
    limit: usize,
    now: u64,
) -> Result<FeedJson, Error> {
    build_feed_in(
        store,
        (sort, Basis::Seeders),
        community,
        limit,
        now,
        View::all(),
    )
}

/// The feed of `sort` as of `now` as `view` sees it: the best `limit`
/// posts that no mute covers (or all, marked, when it shows them). When
/// mutes leave a page short, more candidates are ranked, up to
/// [`MUTED_LOOKAHEAD`] times the page.
pub fn build_feed_in(
    store: &Store,
    (sort, by): (Sort, Basis),
    community: Option<&Community>,
    limit: usize,
    now: u64,
    view: View<'_>,
) -> Result<FeedJson, Error> {
    let community_name = community.map(Community::as_str);
    // By trusted count or verified seeders, that count is ranked; the
    // seeders shown stay the swarm's.
    let ranked_counts = match by {
        Basis::Trusted => Some(store.trusted_counts()?),
        Basis::Verified => Some(store.verified_counts()?),
        Basis::Seeders => None,
    };
    let most = limit.saturating_mul(MUTED_LOOKAHEAD).max(limit);
    // With mutes that may hide posts, rank two pages' worth from the
    // start: reading the candidates is most of a feed's cost, and a hot
    // or new feed needs more of them for a longer page.
    let hiding = !view.mutes.is_empty() && !view.show_muted;
    let mut want = if hiding {
        limit.saturating_mul(2).min(most)
    } else {
        limit
    };
    let mut read: Option<(Option<u64>, Vec<rank::Signals>)> = None;
    let edited = Edited::load(store)?;
    loop {
        let nth = store.nth_newest(community_name, want)?;
        let since = rank::candidates_since(sort, now, nth);
        // Read again only when the page needs older candidates.
        if read.as_ref().is_none_or(|(s, _)| *s != since) {
            let mut signals = store.signals(community_name, since)?;
            if let Some(counts) = &ranked_counts {
                for s in &mut signals {
                    s.seeders = counts.get(&s.infohash).copied().unwrap_or(0);
                }
            }
            read = Some((since, signals));
        }
        let signals = read.as_ref().map_or(&[][..], |(_, s)| s.as_slice());
        let ranked = rank::top_n(signals, sort, now, want);
        let mut items = Vec::new();
        let mut hidden = 0;
        for s in &ranked {
            if items.len() == limit {
                break;
            }
            let record = known(store, s.infohash)?;
            let (edit, latest) = edited.with_latest(store, &record)?;
            let Some(muted) = view.screen((&record, latest.as_ref()), now, &mut hidden) else {
                continue;
            };
            let seeders = match by {
                Basis::Seeders => s.seeders,
                Basis::Trusted | Basis::Verified => store.current(s.infohash)?.seeders,
            };
            items.push(item(
                store,
                items.len() + 1,
                &record,
                (seeders, s.downloads),
                (muted, edit),
            )?);
        }
        if items.len() == limit || ranked.len() < want || want >= most {
            return Ok(FeedJson {
                sort,
                by,
                community: community.map(|c| c.as_str().to_owned()),
                now,
                hidden,
                items,
            });
        }
        want = want.saturating_mul(2).max(limit + 2 * hidden).min(most);
    }
}

/// How far past a page a feed looks for posts no mute covers: at most
/// this many pages' worth of candidates are ranked.
pub const MUTED_LOOKAHEAD: usize = 16;

/// How comments under the same parent are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadSort {
    /// Most seeders first, then newest.
    Top,
    /// Newest first.
    New,
    /// Reddit's hot over seeders and age.
    Hot,
}

/// The thread that `hash` (a post, or any comment in it) belongs to, with
/// nothing muted.
pub fn build_thread(store: &Store, hash: InfoHash, sort: ThreadSort) -> Result<ThreadJson, Error> {
    build_thread_in(store, hash, sort, 0, View::all())
}

/// The thread that `hash` belongs to as `view` sees it at `now`: a muted
/// comment is left out with every reply under it (or all are shown,
/// marked). The post itself is always shown, marked if a mute covers it.
pub fn build_thread_in(
    store: &Store,
    hash: InfoHash,
    sort: ThreadSort,
    now: u64,
    view: View<'_>,
) -> Result<ThreadJson, Error> {
    let found = known(store, hash)?;
    let post = match found.root() {
        Some(root) => known(store, root)?,
        None => found,
    };
    let mut comments = Vec::new();
    for c in store.thread(post.infohash())? {
        // A new version shows only in place of the comment it replaces.
        if store.replaced(c.infohash())?.is_some() {
            continue;
        }
        let seeders = store.seeders(c.infohash())?;
        comments.push((c, seeders));
    }
    let order = |a: &Seeded, b: &Seeded| {
        match sort {
            ThreadSort::Top => b.1.cmp(&a.1).then(b.0.created().cmp(&a.0.created())),
            ThreadSort::New => b.0.created().cmp(&a.0.created()),
            ThreadSort::Hot => {
                rank::hot(b.1, b.0.created()).total_cmp(&rank::hot(a.1, a.0.created()))
            }
        }
        .then(a.0.infohash().cmp(&b.0.infohash()))
    };
    let records: HashMap<InfoHash, &Record> =
        comments.iter().map(|(c, _)| (c.infohash(), c)).collect();
    let edited = Edited::load(store)?;
    let mut hidden = 0;
    let mut shown = Vec::new();
    // The depth of a left-out comment, while walking the replies under it.
    let mut under: Option<usize> = None;
    for mut comment in tree(post.infohash(), &comments, order) {
        if let Some(depth) = under {
            if comment.depth > depth {
                hidden += 1;
                continue;
            }
            under = None;
        }
        if let Some(record) = records.get(&comment.record.infohash) {
            let (edit, latest) = edited.with_latest(store, record)?;
            comment.muted = view.muted_by((record, latest.as_ref()), now);
            comment.edit = edit;
        }
        if comment.muted.is_some() {
            hidden += 1;
            if !view.show_muted {
                under = Some(comment.depth);
                continue;
            }
        }
        shown.push(comment);
    }
    let current = store.current(post.infohash())?;
    let counts = (current.seeders, current.downloads);
    let (edit, latest) = edited.with_latest(store, &post)?;
    let muted = view.muted_by((&post, latest.as_ref()), now);
    let mut head = item(store, 1, &post, counts, (muted, edit))?;
    head.comments = comments.len();
    Ok(ThreadJson {
        post: head,
        hidden,
        comments: shown,
    })
}

/// A comment and who seeds it.
pub type Seeded = (Record, u32);

/// The comments under `root`, depth first, siblings ordered by `order`.
pub fn tree(
    root: InfoHash,
    comments: &[(Record, u32)],
    order: impl Fn(&(Record, u32), &(Record, u32)) -> std::cmp::Ordering,
) -> Vec<ThreadComment> {
    fn walk(
        parent: InfoHash,
        depth: usize,
        comments: &[Seeded],
        order: &dyn Fn(&Seeded, &Seeded) -> std::cmp::Ordering,
        out: &mut Vec<ThreadComment>,
    ) {
        let mut children: Vec<&Seeded> = comments
            .iter()
            .filter(|(c, _)| c.parent() == Some(parent))
            .collect();
        children.sort_by(|a, b| order(a, b));
        for (child, seeders) in children {
            out.push(ThreadComment {
                depth,
                seeders: *seeders,
                author_name: None,
                muted: None,
                edit: None,
                record: child.to_json(),
            });
            if depth < 64 {
                walk(child.infohash(), depth + 1, comments, order, out);
            }
        }
    }
    let mut out = Vec::with_capacity(comments.len());
    walk(root, 1, comments, &order, &mut out);
    out
}
