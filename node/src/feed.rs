//! Feeds and threads as the store ranks them: the typed values every
//! front end renders, with their JSON forms (schemas in `docs/schema/`).

use std::collections::HashMap;

use upseed_core::rank::{self, Sort};
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
    /// How many finished downloading it: its reads.
    pub downloads: u32,
    /// Comments known in its thread.
    pub comments: usize,
    /// The display name the author's outbox gives, if known: a claim, not
    /// an identity, so front ends show the key beside it.
    pub author_name: Option<String>,
    /// The post.
    pub record: RecordJson,
}

/// `upseed feed --json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct FeedJson {
    /// How the feed is ordered: `"sort"`, and for `top`, `"window"`.
    #[serde(flatten)]
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
    /// The display name the author's outbox gives, if known.
    pub author_name: Option<String>,
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
    /// Their posts in the store, newest first, as a feed.
    pub feed: FeedJson,
}

/// The posts of `author` in the store, newest first, at most `limit`.
pub fn build_author(
    store: &Store,
    author: PublicKey,
    limit: usize,
    now: u64,
) -> Result<AuthorJson, Error> {
    let mut items = Vec::new();
    for (i, hash) in store.posts_by(author, limit)?.into_iter().enumerate() {
        let current = store.current(hash)?;
        items.push(FeedItem {
            rank: i + 1,
            seeders: current.seeders,
            downloads: current.downloads,
            comments: store.comment_count(hash)?,
            author_name: None,
            record: known(store, hash)?.to_json(),
        });
    }
    Ok(AuthorJson {
        key: author,
        name: None,
        following: store.follows()?.contains(&author),
        feed: FeedJson {
            sort: Sort::New,
            community: None,
            now,
            items,
        },
    })
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
            author_name: None,
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
            author_name: None,
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
                author_name: None,
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
