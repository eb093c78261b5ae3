//! What read commands print: wrapped text for people, one JSON document
//! for programs. The JSON shapes have schemas in `docs/schema/`.

use anyhow::{Context, Result};
use upseed_core::rank::{self, Sort};
use upseed_core::{Community, InfoHash, Record, RecordJson};

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
pub fn known(store: &Store, hash: InfoHash) -> Result<Record> {
    store
        .record(hash)?
        .with_context(|| format!("{hash} is not in your store yet; only posts and comments you have seen can be answered or shown"))
}

/// The feed of `sort` as of `now`: the best `limit` posts, optionally of one community.
pub fn build_feed(
    store: &Store,
    sort: Sort,
    community: Option<&Community>,
    limit: usize,
    now: u64,
) -> Result<FeedJson> {
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
pub fn build_thread(store: &Store, hash: InfoHash, sort: ThreadSort) -> Result<ThreadJson> {
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

/// Styling for a terminal, off for pipes and with `NO_COLOR`.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Use ANSI bold and dim.
    pub color: bool,
    /// Wrap text at this many columns.
    pub width: usize,
}

impl Style {
    /// The style for standard output: color only on a terminal without `NO_COLOR`.
    pub fn detect() -> Self {
        use std::io::IsTerminal;
        let tty = std::io::stdout().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(80);
        Self {
            color: tty && !no_color,
            width: width.clamp(40, 120),
        }
    }

    /// Plain text at 80 columns, for tests and pipes.
    pub fn plain() -> Self {
        Self {
            color: false,
            width: 80,
        }
    }

    fn bold(&self, text: &str) -> String {
        if self.color {
            format!("\x1b[1m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    fn dim(&self, text: &str) -> String {
        if self.color {
            format!("\x1b[2m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

/// "5 minutes ago", "in the future" for clock skew.
pub fn relative(then: u64, now: u64) -> String {
    let Some(age) = now.checked_sub(then) else {
        return "just now".into();
    };
    let (n, unit) = match age {
        0..60 => return "just now".into(),
        60..3_600 => (age / 60, "minute"),
        3_600..86_400 => (age / 3_600, "hour"),
        86_400..2_629_746 => (age / 86_400, "day"),
        2_629_746..31_557_600 => (age / 2_629_746, "month"),
        _ => (age / 31_557_600, "year"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

fn short(hash: &InfoHash) -> String {
    hash.to_hex()[..12].to_owned()
}

fn author(record: &RecordJson) -> String {
    record.author.to_z32()[..12].to_owned()
}

fn wrap(text: &str, width: usize, indent: &str) -> String {
    let options = textwrap::Options::new(width.saturating_sub(indent.len()).max(20));
    text.lines()
        .map(|line| {
            if line.trim().is_empty() {
                indent.trim_end().to_owned()
            } else {
                textwrap::wrap(line, &options)
                    .iter()
                    .map(|l| format!("{indent}{l}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A feed for people.
pub fn feed_text(feed: &FeedJson, style: Style) -> String {
    if feed.items.is_empty() {
        return "no posts yet\n".into();
    }
    let mut out = String::new();
    for item in &feed.items {
        let r = &item.record;
        let title = r.title.clone().unwrap_or_else(|| {
            r.body
                .as_deref()
                .unwrap_or("")
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(60)
                .collect()
        });
        out.push_str(&format!("{:>3}. {}\n", item.rank, style.bold(&title)));
        let community = r
            .community
            .as_ref()
            .map(|c| format!(" in {c}"))
            .unwrap_or_default();
        let reads = if item.downloads > 0 {
            format!(" · {}", plural(item.downloads as usize, "read", "reads"))
        } else {
            String::new()
        };
        out.push_str(&style.dim(&format!(
            "     {}{reads} · {} · by {}{} · {} · {}",
            plural(item.seeders as usize, "seeder", "seeders"),
            plural(item.comments, "comment", "comments"),
            author(r),
            community,
            relative(r.created, feed.now),
            short(&r.infohash),
        )));
        out.push('\n');
        if r.title.is_some()
            && let Some(body) = &r.body
        {
            let first: String = body
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(200)
                .collect();
            out.push_str(&wrap(&first, style.width, "     "));
            out.push('\n');
        }
    }
    out
}

fn record_block(record: &RecordJson, seeders: u32, now: u64, indent: &str, style: Style) -> String {
    let mut out = String::new();
    if let Some(title) = &record.title {
        out.push_str(&format!("{indent}{}\n", style.bold(title)));
    }
    out.push_str(&style.dim(&format!(
        "{indent}{} · by {} · {} · {}",
        plural(seeders as usize, "seeder", "seeders"),
        author(record),
        relative(record.created, now),
        short(&record.infohash),
    )));
    out.push('\n');
    match &record.body {
        Some(body) => out.push_str(&wrap(body, style.width, indent)),
        None => out.push_str(&format!("{indent}(text not downloaded)")),
    }
    out.push('\n');
    out
}

/// A thread for people: the post, then its comments indented by depth.
pub fn thread_text(thread: &ThreadJson, now: u64, style: Style) -> String {
    let mut out = record_block(&thread.post.record, thread.post.seeders, now, "", style);
    out.push_str(&format!(
        "\n{}\n",
        plural(thread.comments.len(), "comment", "comments")
    ));
    for comment in &thread.comments {
        out.push('\n');
        out.push_str(&record_block(
            &comment.record,
            comment.seeders,
            now,
            &"  ".repeat(comment.depth),
            style,
        ));
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times() {
        assert_eq!(relative(100, 100), "just now");
        assert_eq!(relative(200, 100), "just now");
        assert_eq!(relative(0, 60), "1 minute ago");
        assert_eq!(relative(0, 7_200), "2 hours ago");
        assert_eq!(relative(0, 86_400 * 3), "3 days ago");
        assert_eq!(relative(0, 31_557_600 * 2), "2 years ago");
    }

    #[test]
    fn color_only_when_asked() {
        let plain = Style::plain();
        assert_eq!(plain.bold("x"), "x");
        let color = Style {
            color: true,
            width: 80,
        };
        assert_eq!(color.bold("x"), "\x1b[1mx\x1b[0m");
    }
}
