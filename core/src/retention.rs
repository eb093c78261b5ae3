//! Fading and retention: when a post nobody seeds leaves the feeds, when a
//! store may forget it, and which of the user's own torrents stop seeding.
//!
//! Pure rules over numbers; the store keeps the numbers and applies them.
//!
//! **Fading.** Each refresh of swarm counts that finds no seeder for a post
//! extends its *silence*: the number of refreshes in a row that saw none,
//! and the time of the first of them. Any seeder ends the silence. A post
//! is [`Life::Faded`] once its silence has lasted at least
//! [`FadePolicy::refreshes`] refreshes and [`FadePolicy::grace`] seconds,
//! and leaves the feeds. It comes back the moment a refresh sees a seeder.
//!
//! **Retention.** A post faded for [`FadePolicy::retention`] seconds more
//! is [`Life::Expired`]: a store may delete it and its thread, unless the
//! user wrote, upvoted or pinned anything in that thread.
//!
//! **The seeded set.** What the user seeds is bounded by [`SeedPolicy`]:
//! upvotes older than [`SeedPolicy::upvote_max_age`] stop seeding, then
//! the oldest upvotes stop until at most [`SeedPolicy::max_torrents`] are
//! seeded. Pinned torrents never stop; the user's own posts stop only when
//! the caller asks for it explicitly.

use crate::InfoHash;

/// When a post with no seeders leaves the feeds, and when it may be forgotten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FadePolicy {
    /// Refreshes in a row that must see no seeder.
    pub refreshes: u32,
    /// Seconds the silence must last, from the first refresh that saw none.
    pub grace: u64,
    /// Seconds a faded post stays in the store before it may be deleted.
    pub retention: u64,
}

impl Default for FadePolicy {
    /// Three refreshes over at least a day; forgotten 30 days later.
    fn default() -> Self {
        Self {
            refreshes: 3,
            grace: 86_400,
            retention: 30 * 86_400,
        }
    }
}

/// The refreshes in a row that saw no seeder for a post.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Silence {
    /// How many refreshes in a row saw no seeder; 0 while it is seeded.
    pub refreshes: u32,
    /// When the first of them ran, unix seconds.
    pub since: Option<u64>,
}

impl Silence {
    /// The silence after one more refresh that counted `seeders` at `now`.
    #[must_use]
    pub fn after(self, seeders: u32, now: u64) -> Self {
        if seeders > 0 {
            return Self::default();
        }
        Self {
            refreshes: self.refreshes.saturating_add(1),
            since: Some(self.since.unwrap_or(now)),
        }
    }
}

/// Where a post is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Life {
    /// Seeded, or silent for less than the grace period: in the feeds.
    Live,
    /// Silent for long enough: out of the feeds, still in the store.
    Faded,
    /// Faded for longer than the retention period: may be deleted.
    Expired,
}

impl FadePolicy {
    /// Where a post with this silence is at `now`.
    pub fn life(&self, silence: Silence, now: u64) -> Life {
        let Some(since) = silence.since else {
            return Life::Live;
        };
        let quiet = now.saturating_sub(since);
        if silence.refreshes == 0 || silence.refreshes < self.refreshes || quiet < self.grace {
            Life::Live
        } else if quiet < self.grace.saturating_add(self.retention) {
            Life::Faded
        } else {
            Life::Expired
        }
    }
}

/// How much of other people's work the user keeps seeding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedPolicy {
    /// The most torrents to seed, the user's own posts and pins included.
    pub max_torrents: usize,
    /// Seconds after which an upvote stops seeding; `None`: never.
    pub upvote_max_age: Option<u64>,
}

impl Default for SeedPolicy {
    /// 1,000 torrents; upvotes seed for 90 days.
    fn default() -> Self {
        Self {
            max_torrents: 1_000,
            upvote_max_age: Some(90 * 86_400),
        }
    }
}

/// Why the user seeds a torrent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedReason {
    /// The user wrote it.
    Authored,
    /// The user upvoted it.
    Upvoted,
}

/// One torrent the user seeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seeded {
    /// The torrent.
    pub infohash: InfoHash,
    /// Why.
    pub reason: SeedReason,
    /// Since when, unix seconds.
    pub since: u64,
    /// Whether the user pinned it.
    pub pinned: bool,
}

/// Why a torrent should stop seeding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// Seeded for longer than the policy's age.
    TooOld {
        /// The age limit, in seconds.
        max_age: u64,
    },
    /// The seeded set is over its bound, and this is among the oldest.
    OverBound {
        /// The bound.
        max_torrents: usize,
    },
}

/// What to stop seeding, and what stays over the bound.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedPlan {
    /// Torrents to stop seeding, oldest first within each reason.
    pub stop: Vec<(InfoHash, StopReason)>,
    /// How many torrents stay over the bound because nothing more may stop.
    pub over_bound: usize,
}

impl SeedPolicy {
    /// What to stop seeding at `now`. Pinned torrents never stop; the
    /// user's own posts stop only with `include_authored`, and then follow
    /// the same rules as upvotes.
    pub fn plan(&self, seeded: &[Seeded], now: u64, include_authored: bool) -> SeedPlan {
        let may_stop =
            |s: &Seeded| !s.pinned && (s.reason == SeedReason::Upvoted || include_authored);
        let mut order: Vec<&Seeded> = seeded.iter().collect();
        order.sort_by_key(|s| (s.since, s.infohash));
        let mut stop = Vec::new();
        let mut kept = Vec::new();
        for s in order {
            match self.upvote_max_age {
                Some(max_age) if may_stop(s) && now.saturating_sub(s.since) > max_age => {
                    stop.push((s.infohash, StopReason::TooOld { max_age }));
                }
                _ => kept.push(s),
            }
        }
        let mut excess = kept.len().saturating_sub(self.max_torrents);
        for s in kept {
            if excess == 0 {
                break;
            }
            if may_stop(s) {
                stop.push((
                    s.infohash,
                    StopReason::OverBound {
                        max_torrents: self.max_torrents,
                    },
                ));
                excess -= 1;
            }
        }
        SeedPlan {
            stop,
            over_bound: excess,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;

    #[test]
    fn silence_grows_only_while_nobody_seeds() {
        let s = Silence::default().after(0, 100).after(0, 200);
        assert_eq!(
            s,
            Silence {
                refreshes: 2,
                since: Some(100)
            }
        );
        assert_eq!(s.after(1, 300), Silence::default());
    }

    #[test]
    fn a_post_fades_after_enough_refreshes_and_time_then_expires() {
        let policy = FadePolicy::default();
        let silent = |refreshes| Silence {
            refreshes,
            since: Some(0),
        };
        assert_eq!(policy.life(Silence::default(), 10 * DAY), Life::Live);
        assert_eq!(
            policy.life(silent(2), 10 * DAY),
            Life::Live,
            "too few refreshes"
        );
        assert_eq!(policy.life(silent(3), DAY - 1), Life::Live, "within grace");
        assert_eq!(policy.life(silent(3), DAY), Life::Faded);
        assert_eq!(policy.life(silent(9), 31 * DAY - 1), Life::Faded);
        assert_eq!(policy.life(silent(9), 31 * DAY), Life::Expired);
        let eager = FadePolicy {
            refreshes: 1,
            grace: 0,
            retention: 0,
        };
        assert_eq!(eager.life(silent(1), 0), Life::Expired);
    }

    fn seeded(n: u8, reason: SeedReason, since: u64, pinned: bool) -> Seeded {
        Seeded {
            infohash: InfoHash::from_bytes([n; 20]),
            reason,
            since,
            pinned,
        }
    }

    #[test]
    fn old_upvotes_stop_then_the_oldest_until_within_bound() {
        use SeedReason::{Authored, Upvoted};
        let policy = SeedPolicy {
            max_torrents: 3,
            upvote_max_age: Some(10 * DAY),
        };
        let now = 100 * DAY;
        let set = [
            seeded(1, Authored, 0, false),
            seeded(2, Upvoted, 50 * DAY, true),
            seeded(3, Upvoted, 80 * DAY, false),
            seeded(4, Upvoted, 95 * DAY, false),
            seeded(5, Upvoted, 96 * DAY, false),
            seeded(6, Upvoted, 97 * DAY, false),
        ];
        let plan = policy.plan(&set, now, false);
        let h = |n| InfoHash::from_bytes([n; 20]);
        assert_eq!(
            plan.stop,
            vec![
                (h(3), StopReason::TooOld { max_age: 10 * DAY }),
                (h(4), StopReason::OverBound { max_torrents: 3 }),
                (h(5), StopReason::OverBound { max_torrents: 3 }),
            ],
            "the pin and the user's own post stay; the oldest upvotes go"
        );
        assert_eq!(plan.over_bound, 0);

        let tight = SeedPolicy {
            max_torrents: 1,
            upvote_max_age: None,
        };
        let plan = tight.plan(&set, now, false);
        assert_eq!(plan.stop.len(), 4);
        assert_eq!(plan.over_bound, 1, "the pin and the own post exceed 1");
        let plan = tight.plan(&set, now, true);
        assert_eq!(
            plan.stop.first(),
            Some(&(h(1), StopReason::OverBound { max_torrents: 1 }))
        );
        assert_eq!(plan.over_bound, 0);
    }
}
