//! The web of trust: whose signed upvotes a reader counts (PROTOCOL.md
//! §15). A key is trusted when it is the reader's own, a key they follow,
//! or a key that at least `min_followers` of their follows follow; a key
//! the reader muted is not. A post's trusted count is the number of
//! distinct trusted keys that upvote it in their outboxes, its author
//! included when trusted. A farm of fresh keys gets nothing until that
//! many real follows of the reader follow it.

use std::collections::{HashMap, HashSet};

use crate::PublicKey;

/// How far trust reaches, and the caps that bound its cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustRule {
    /// How many of the reader's follows must follow a key for it to be
    /// trusted at the second hop.
    pub min_followers: usize,
    /// The most second-hop keys trusted: those followed by the most
    /// follows first.
    pub max_second_hop: usize,
    /// The most keys read from one follow list; a longer list counts only
    /// this many.
    pub max_list: usize,
}

impl Default for TrustRule {
    fn default() -> Self {
        Self {
            min_followers: 2,
            max_second_hop: 10_000,
            max_list: 2_000,
        }
    }
}

/// How a key came to be trusted.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Hop {
    /// The reader.
    Me,
    /// A key the reader follows.
    Follow,
    /// A key enough of the reader's follows follow.
    Second,
}

impl Hop {
    /// Its stored number: 0, 1 or 2.
    pub fn number(self) -> u8 {
        match self {
            Self::Me => 0,
            Self::Follow => 1,
            Self::Second => 2,
        }
    }

    /// The hop stored as `n`.
    pub fn from_number(n: u8) -> Option<Self> {
        match n {
            0 => Some(Self::Me),
            1 => Some(Self::Follow),
            2 => Some(Self::Second),
            _ => None,
        }
    }
}

/// One trusted key: how it came to be, and for the second hop how many
/// of the reader's follows follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedKey {
    /// The key.
    pub key: PublicKey,
    /// How it came to be trusted.
    pub hop: Hop,
    /// How many of the reader's follows follow it (0 for the reader).
    pub followers: usize,
}

/// The web of trust of a reader who is `me` (if they have a key) and
/// follows `follows`, given the follow lists of those follows (`lists`,
/// keyed by the follow), leaving out every key `muted` says is muted.
/// Follows come first, then second-hop keys by how many follows follow
/// them (most first), then by key; the reader first of all.
pub fn web_of_trust(
    me: Option<PublicKey>,
    follows: &[PublicKey],
    lists: &HashMap<PublicKey, Vec<PublicKey>>,
    muted: impl Fn(&PublicKey) -> bool,
    rule: TrustRule,
) -> Vec<TrustedKey> {
    let mut out = Vec::new();
    let mut taken: HashSet<[u8; 32]> = HashSet::new();
    if let Some(me) = me {
        taken.insert(*me.as_bytes());
        out.push(TrustedKey {
            key: me,
            hop: Hop::Me,
            followers: 0,
        });
    }
    // Keys are counted by reference into `lists`: a key costs the map two
    // pointers and a count, not its decoded point.
    let mut counts: HashMap<&[u8; 32], (&PublicKey, usize)> = HashMap::new();
    let mut seen: HashSet<&[u8; 32]> = HashSet::new();
    for follow in follows {
        if let Some(list) = lists.get(follow) {
            seen.clear();
            for key in list.iter().take(rule.max_list) {
                if key != follow && seen.insert(key.as_bytes()) {
                    counts.entry(key.as_bytes()).or_insert((key, 0)).1 += 1;
                }
            }
        }
    }
    for follow in follows {
        if muted(follow) || !taken.insert(*follow.as_bytes()) {
            continue;
        }
        out.push(TrustedKey {
            key: *follow,
            hop: Hop::Follow,
            followers: counts.get(follow.as_bytes()).map_or(0, |c| c.1),
        });
    }
    let mut second: Vec<(&PublicKey, usize)> = counts
        .into_values()
        .filter(|(key, n)| {
            *n >= rule.min_followers.max(1) && !taken.contains(key.as_bytes()) && !muted(key)
        })
        .collect();
    second.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then_with(|| a.0.as_bytes().cmp(b.0.as_bytes()))
    });
    second.truncate(rule.max_second_hop);
    out.extend(second.into_iter().map(|(key, followers)| TrustedKey {
        key: *key,
        hop: Hop::Second,
        followers,
    }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SecretKey;

    fn key(n: u16) -> PublicKey {
        let mut seed = [0u8; 32];
        seed[..2].copy_from_slice(&n.to_be_bytes());
        SecretKey::from_seed(&seed).public_key()
    }

    fn hops(trust: &[TrustedKey]) -> Vec<(PublicKey, Hop)> {
        trust.iter().map(|t| (t.key, t.hop)).collect()
    }

    #[test]
    fn second_hop_keys_need_enough_follows_and_a_sybil_farm_gets_nothing() {
        let me = key(0);
        let (alice, bob, carol) = (key(1), key(2), key(3));
        let (dave, erin) = (key(4), key(5));
        let farm: Vec<PublicKey> = (1000..2000).map(key).collect();
        let mut lists = HashMap::new();
        lists.insert(alice, vec![dave, erin, bob]);
        lists.insert(bob, vec![dave, alice]);
        // Carol follows the whole farm: one follow is not enough.
        let mut carols = farm.clone();
        carols.push(dave);
        lists.insert(carol, carols);
        let trust = web_of_trust(
            Some(me),
            &[alice, bob, carol],
            &lists,
            |_| false,
            TrustRule::default(),
        );
        assert_eq!(
            hops(&trust),
            [
                (me, Hop::Me),
                (alice, Hop::Follow),
                (bob, Hop::Follow),
                (carol, Hop::Follow),
                (dave, Hop::Second),
            ]
        );
        assert_eq!(trust[4].followers, 3);
        // The farm's own follows of each other count for nothing either.
        for member in &farm[..10] {
            lists.insert(*member, farm.clone());
        }
        let trust = web_of_trust(
            Some(me),
            &[alice, bob, carol],
            &lists,
            |_| false,
            TrustRule::default(),
        );
        assert!(!trust.iter().any(|t| farm.contains(&t.key)));
    }

    #[test]
    fn muted_keys_and_caps_bound_the_web() {
        let me = key(0);
        let follows: Vec<PublicKey> = (1..=3).map(key).collect();
        let others: Vec<PublicKey> = (10..20).map(key).collect();
        let lists: HashMap<PublicKey, Vec<PublicKey>> =
            follows.iter().map(|f| (*f, others.clone())).collect();
        let muted = others[0];
        let rule = TrustRule {
            min_followers: 3,
            max_second_hop: 4,
            max_list: 6,
        };
        let trust = web_of_trust(
            Some(me),
            &follows,
            &lists,
            |k| *k == muted || *k == follows[0],
            rule,
        );
        assert!(!trust.iter().any(|t| t.key == muted || t.key == follows[0]));
        let second: Vec<PublicKey> = trust
            .iter()
            .filter(|t| t.hop == Hop::Second)
            .map(|t| t.key)
            .collect();
        assert_eq!(second.len(), 4, "capped");
        assert!(
            second.iter().all(|k| others[..6].contains(k)),
            "only the first 6 of each list count"
        );
        assert_eq!(web_of_trust(None, &[], &lists, |_| false, rule), Vec::new());
    }
}
