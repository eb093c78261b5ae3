//! Feeds and threads as the store ranks them: the typed values every
//! front end renders, with their JSON forms (schemas in `docs/schema/`).

use upseed_core::rank::{self, Sort};
use upseed_core::{Community, InfoHash, Record, RecordJson};

use crate::Error;
use crate::store::Store;

/// One post in a feed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct FeedItem {
    /// 1 for the first post.
    pub rank: usize,
    /// Who seeds it now, the author included: its upvotes.
    pub seeders: u32,
    /// How many finished downloading it: its reads.
    pub downloads: u32,
    /// Comments known in its thread.
    pub comments: usize,
    /// The post.
    pub record: RecordJson,
}

/// `upseed feed --json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct FeedJson {
    /// How the feed is ordered.
    pub sort: Sort,
    /// The community, when the feed is one community's.
    pub community: Option<String>,
    /// When the feed was ranked, unix seconds.
    pub now: u64,
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
    /// The comment.
    pub record: RecordJson,
}

/// `upseed thread --json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ThreadJson {
    /// The post.
    pub post: FeedItem,
    /// Its comments, depth first, siblings in the chosen order.
    pub comments: Vec<ThreadComment>,
}

/// A stored record, or an error that says it is unknown.
pub fn known(store: &Store, hash: InfoHash) -> Result<Record, Error> {
    store.record(hash)?.ok_or(Error::Unknown(hash))
}

/// The feed of `sort` as of `now`: the best `limit` posts, optionally of one community.
pub fn build_feed(
    store: &Store,
    sort: Sort,
    community: Option<&Community>,
    limit: usize,
    now: u64,
) -> Result<FeedJson, Error> {
    let community_name = community.map(Community::as_str);
    let nth = store.nth_newest(community_name, limit)?;
    let signals = store.signals(community_name, rank::candidates_since(sort, now, nth))?;
    let mut items = Vec::new();
    for (i, s) in rank::top_n(&signals, sort, now, limit).iter().enumerate() {
        items.push(FeedItem {
            rank: i + 1,
            seeders: s.seeders,
            downloads: s.downloads,
            comments: store.comment_count(s.infohash)?,
            record: known(store, s.infohash)?.to_json(),
        });
    }
    Ok(FeedJson {
        sort,
        community: community.map(|c| c.as_str().to_owned()),
        now,
        items,
    })
}

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

/// The thread that `hash` (a post, or any comment in it) belongs to.
pub fn build_thread(store: &Store, hash: InfoHash, sort: ThreadSort) -> Result<ThreadJson, Error> {
    let found = known(store, hash)?;
    let post = match found.root() {
        Some(root) => known(store, root)?,
        None => found,
    };
    let current = store.current(post.infohash())?;
    let mut comments = Vec::new();
    for c in store.thread(post.infohash())? {
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
    let tree = tree(post.infohash(), &comments, order);
    Ok(ThreadJson {
        post: FeedItem {
            rank: 1,
            seeders: current.seeders,
            downloads: current.downloads,
            comments: comments.len(),
            record: post.to_json(),
        },
        comments: tree,
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
