//! Ranking: pure functions that order posts for the feeds.
//!
//! A post's score is its seeders: everyone who keeps seeding it, the author
//! included. Seeding is the upvote, and a post nobody seeds scores 0.
//!
//! | sort | key, highest first |
//! |---|---|
//! | `hot` | `log10(max(score, 1)) + (created − 1134028003) / 45000`: Reddit's hot, so a tenfold score is worth 12.5 hours of age |
//! | `new` | `created` |
//! | `active` | hot, with the time of the newest comment in place of `created` (Lemmy's "active") |
//! | `top` | `score`, among posts created within the window; newer first on ties |
//! | `best` | the Wilson lower bound (z = 1.281551565545, 80 %) of seeders out of readers |
//!
//! `best` asks how sure we can be that readers keep a post: of the
//! `downloads + 1` people who hold a copy (each completed download is a
//! read, and the author's own copy counts as one), `min(seeders,
//! downloads + 1)` still seed it. A post read by many and kept by few sinks below a
//! post kept by nearly everyone who read it, whatever their ages.
//!
//! Windows follow Plebbit: day 86,400 s, week 604,800 s, month 2,629,746 s
//! (a twelfth of a Gregorian year), year 31,557,600 s (a Julian year), all.
//! Every sort breaks remaining ties by infohash, so feeds are stable.

use std::cmp::Ordering;

use crate::InfoHash;

/// Reddit's epoch for `hot` (2005-12-08T19:46:43Z).
const HOT_EPOCH: i64 = 1_134_028_003;
/// Seconds of age that one power of ten of score makes up for.
const HOT_DECAY: f64 = 45_000.0;

/// A time window for `top`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Window {
    /// The last 24 hours.
    Day,
    /// The last 7 days.
    Week,
    /// The last 1/12 year.
    Month,
    /// The last year.
    Year,
    /// Ever.
    All,
}

impl Window {
    /// The window's length in seconds, or `None` for all time.
    pub const fn seconds(self) -> Option<u64> {
        match self {
            Self::Day => Some(86_400),
            Self::Week => Some(604_800),
            Self::Month => Some(2_629_746),
            Self::Year => Some(31_557_600),
            Self::All => None,
        }
    }
}

/// How a feed is ordered.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase", tag = "sort", content = "window")]
pub enum Sort {
    /// Score, decayed by age.
    Hot,
    /// Newest first.
    New,
    /// Score, decayed by the age of the newest comment.
    Active,
    /// Highest score within a window.
    Top(Window),
    /// Highest share of readers who keep seeding (Wilson lower bound).
    Best,
}

/// Which count a feed ranks by: the swarm's seeders, which a seedbox can
/// inflate; the trusted count, the distinct keys of the reader's web of
/// trust that upvote the post (PROTOCOL.md §15); or the verified seeders,
/// the peers that served a piece of it to a probe (§21).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Basis {
    /// Who seeds it now.
    #[default]
    Seeders,
    /// How many trusted keys upvote it.
    Trusted,
    /// How many peers proved they seed it.
    Verified,
}

impl Basis {
    /// Its name: `seeders` or `trusted`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Seeders => "seeders",
            Self::Trusted => "trusted",
            Self::Verified => "verified",
        }
    }
}

/// What ranking knows of one post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signals {
    /// The post.
    pub infohash: InfoHash,
    /// When the author says it was created, unix seconds.
    pub created: u64,
    /// Who seeds it now, the author included.
    pub seeders: u32,
    /// How many finished downloading it: its reads.
    pub downloads: u32,
    /// When its newest comment was created, if it has any.
    pub last_comment: Option<u64>,
}

/// The z of an 80 % confidence, as Reddit's `best` uses.
const WILSON_Z: f64 = 1.281_551_565_545;

/// The Wilson score interval's lower bound for `kept` successes out of
/// `held` trials (0 when there are no trials). `kept` is capped at `held`.
pub fn wilson(kept: u32, held: u32) -> f64 {
    if held == 0 {
        return 0.0;
    }
    let n = f64::from(held);
    let p = f64::from(kept.min(held)) / n;
    let z2 = WILSON_Z * WILSON_Z;
    (p + z2 / (2.0 * n) - WILSON_Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt())
        / (1.0 + z2 / n)
}

/// `best`'s key: the share of a post's holders (its readers and its
/// author) who still seed it, as a Wilson lower bound.
pub fn best(seeders: u32, downloads: u32) -> f64 {
    wilson(seeders, downloads.saturating_add(1))
}

/// Reddit's hot formula over `score` and a time.
pub fn hot(score: u32, at: u64) -> f64 {
    let order = f64::from(score.max(1)).log10();
    let seconds = i64::try_from(at)
        .unwrap_or(i64::MAX)
        .saturating_sub(HOT_EPOCH);
    order + seconds as f64 / HOT_DECAY
}

fn key(sort: Sort, s: &Signals) -> f64 {
    match sort {
        Sort::Hot => hot(s.seeders, s.created),
        Sort::Active => hot(
            s.seeders,
            s.last_comment.map_or(s.created, |c| c.max(s.created)),
        ),
        Sort::New => s.created as f64,
        Sort::Top(_) => f64::from(s.seeders),
        Sort::Best => best(s.seeders, s.downloads),
    }
}

/// Whether a post belongs to the feed at all: `top` keeps its window.
pub fn in_feed(sort: Sort, s: &Signals, now: u64) -> bool {
    match sort {
        Sort::Top(window) => window
            .seconds()
            .is_none_or(|w| s.created >= now.saturating_sub(w)),
        _ => true,
    }
}

/// No post can outrank, in `hot`, a post created this many seconds after
/// it: the most seeders there can be (`u32::MAX`) are worth
/// `log10(u32::MAX) × 45000` ≈ 433,483 seconds of age, about 5 days.
pub const HOT_HORIZON: u64 = 433_484;

/// The oldest creation time a post can have and still make the best
/// `limit` of `sort`, given `nth_newest`, the creation time of the
/// `limit`-th newest post (`None` when there are fewer). Older posts need
/// not be read at all; `None` means every post is a candidate.
pub fn candidates_since(sort: Sort, now: u64, nth_newest: Option<u64>) -> Option<u64> {
    match sort {
        Sort::Top(window) => window.seconds().map(|w| now.saturating_sub(w)),
        // The `limit` newest outrank anything older by the horizon or more.
        Sort::Hot => nth_newest.map(|c| c.saturating_sub(HOT_HORIZON)),
        Sort::New => nth_newest,
        // A new comment can lift a post of any age, and `best` ignores age.
        Sort::Active | Sort::Best => None,
    }
}

/// Orders two posts: the better one first.
pub fn compare(sort: Sort, a: &Signals, b: &Signals) -> Ordering {
    key(sort, b)
        .total_cmp(&key(sort, a))
        .then(b.created.cmp(&a.created))
        .then(a.infohash.cmp(&b.infohash))
}

/// The best `limit` posts for `sort` as of `now`, in order. Each post's key
/// is computed once, and the best are selected before sorting, so a large
/// store ranks in linear time.
pub fn top_n(posts: &[Signals], sort: Sort, now: u64, limit: usize) -> Vec<Signals> {
    if limit == 0 {
        return Vec::new();
    }
    let mut keyed: Vec<(f64, &Signals)> = posts
        .iter()
        .filter(|s| in_feed(sort, s, now))
        .map(|s| (key(sort, s), s))
        .collect();
    let order = |a: &(f64, &Signals), b: &(f64, &Signals)| {
        b.0.total_cmp(&a.0)
            .then(b.1.created.cmp(&a.1.created))
            .then(a.1.infohash.cmp(&b.1.infohash))
    };
    if keyed.len() > limit {
        keyed.select_nth_unstable_by(limit - 1, order);
        keyed.truncate(limit);
    }
    keyed.sort_by(order);
    keyed.into_iter().map(|(_, s)| *s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_763_683_200;

    fn post(n: u8, created: u64, seeders: u32) -> Signals {
        Signals {
            infohash: InfoHash::from_bytes([n; 20]),
            created,
            seeders,
            downloads: 0,
            last_comment: None,
        }
    }

    fn order(posts: &[Signals], sort: Sort) -> Vec<u8> {
        top_n(posts, sort, NOW, 10)
            .iter()
            .map(|s| s.infohash.as_bytes()[0])
            .collect()
    }

    #[test]
    fn hot_trades_a_tenfold_score_for_12_5_hours() {
        let a = hot(10, NOW);
        let b = hot(1, NOW + 45_000);
        assert!((a - b).abs() < 1e-9);
        assert_eq!(
            hot(0, NOW),
            hot(1, NOW),
            "nobody seeding scores like one seeder"
        );
    }

    #[test]
    fn sorts() {
        let posts = [
            post(1, NOW - 3_600, 2),
            post(2, NOW - 2 * 86_400, 50),
            post(3, NOW - 60, 1),
            post(4, NOW - 400 * 86_400, 500),
        ];
        assert_eq!(order(&posts, Sort::New), vec![3, 1, 2, 4]);
        assert_eq!(order(&posts, Sort::Top(Window::Day)), vec![1, 3]);
        assert_eq!(order(&posts, Sort::Top(Window::Week)), vec![2, 1, 3]);
        assert_eq!(order(&posts, Sort::Top(Window::All)), vec![4, 2, 1, 3]);
        // Two days of age outweigh 25 times the seeders.
        assert_eq!(order(&posts, Sort::Hot), vec![1, 3, 2, 4]);
    }

    #[test]
    fn active_counts_the_newest_comment() {
        let mut old = post(1, NOW - 5 * 86_400, 3);
        let fresh = post(2, NOW - 3_600, 3);
        assert_eq!(order(&[old, fresh], Sort::Active), vec![2, 1]);
        old.last_comment = Some(NOW - 60);
        assert_eq!(order(&[old, fresh], Sort::Active), vec![1, 2]);
    }

    #[test]
    fn ties_are_stable_and_limits_hold() {
        let posts: Vec<_> = (0..50).map(|n| post(n, NOW, 1)).collect();
        let first = top_n(&posts, Sort::Hot, NOW, 5);
        assert_eq!(first.len(), 5);
        assert_eq!(
            first
                .iter()
                .map(|s| s.infohash.as_bytes()[0])
                .collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 4]
        );
        assert!(top_n(&posts, Sort::Hot, NOW, 0).is_empty());
    }

    #[test]
    fn selection_agrees_with_a_full_sort() {
        let posts: Vec<_> = (0..200u32)
            .map(|n| {
                post(
                    (n % 250) as u8,
                    NOW - u64::from(n * 7919 % 86_400),
                    n * 31 % 17,
                )
            })
            .map(|mut s| {
                s.downloads = s.seeders * 3 % 11;
                s
            })
            .collect();
        for sort in [
            Sort::Hot,
            Sort::New,
            Sort::Active,
            Sort::Top(Window::Day),
            Sort::Best,
        ] {
            let mut all: Vec<_> = posts
                .iter()
                .filter(|s| in_feed(sort, s, NOW))
                .copied()
                .collect();
            all.sort_by(|a, b| compare(sort, a, b));
            all.truncate(20);
            assert_eq!(top_n(&posts, sort, NOW, 20), all, "{sort:?}");
        }
    }

    #[test]
    fn best_prefers_posts_their_readers_keep() {
        // Reddit's published values for z = 1.281551565545.
        assert!((wilson(1, 1) - 0.378).abs() < 1e-3);
        assert!((wilson(10, 10) - 0.859).abs() < 1e-3);
        assert_eq!(wilson(0, 0), 0.0);
        assert_eq!(wilson(7, 3), wilson(3, 3), "seeders are capped at holders");
        assert!(best(5, 4) > best(5, 100), "read by many, kept by few");
        assert!(best(20, 19) > best(1, 0), "more evidence, more confidence");
        let mut kept = post(1, NOW - 400 * 86_400, 10);
        kept.downloads = 9;
        let mut dropped = post(2, NOW - 60, 10);
        dropped.downloads = 500;
        assert_eq!(order(&[dropped, kept], Sort::Best), vec![1, 2]);
        assert_eq!(candidates_since(Sort::Best, NOW, Some(5)), None);
    }

    #[test]
    fn nothing_older_than_the_horizon_outranks_in_hot() {
        let old = hot(u32::MAX, NOW);
        assert!(old < hot(1, NOW + HOT_HORIZON));
        assert!(old > hot(1, NOW + HOT_HORIZON - 60), "the horizon is tight");
        assert_eq!(
            candidates_since(Sort::Hot, NOW, Some(NOW - 10)),
            Some(NOW - 10 - HOT_HORIZON)
        );
        assert_eq!(candidates_since(Sort::Hot, NOW, None), None);
        assert_eq!(
            candidates_since(Sort::Top(Window::Week), NOW, Some(0)),
            Some(NOW - 7 * 86_400)
        );
        assert_eq!(candidates_since(Sort::Top(Window::All), NOW, Some(5)), None);
        assert_eq!(candidates_since(Sort::Active, NOW, Some(5)), None);
    }
}
