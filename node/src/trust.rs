//! The reader's web of trust (PROTOCOL.md §15): computed from the follow
//! lists of the keys they follow, as sync reads them, again whenever
//! their follows or mutes change; the outboxes of second-hop keys read a
//! few at a time, so that their upvotes count; and each record's trusted
//! count kept for feeds that rank by it.

use futures_util::future::join_all;
use upseed_core::PublicKey;
use upseed_core::trust::{Hop, TrustedKey, web_of_trust};

use crate::Error;
use crate::config::Config;
use crate::dht::Dht;
use crate::store::{Store, TrustSize};

/// How many second-hop outboxes one sync reads: the least recently read
/// first, so that every one is read within a few syncs.
pub const SECOND_HOP_READS: usize = 32;

/// What one sync did with the web of trust.
#[derive(
    Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct TrustReport {
    /// How many keys the web holds.
    pub size: TrustSize,
    /// Second-hop outboxes read.
    pub outboxes_read: usize,
    /// Second-hop keys with no outbox on the DHT: their votes read before
    /// stand.
    pub outboxes_missing: usize,
    /// Followed keys whose follow list is over the cap, one line each:
    /// only that many of its keys count.
    #[serde(default)]
    pub lists_over_cap: Vec<String>,
}

/// Computes the web of trust of the user (`me`, if they have a key) from
/// what the store holds, keeps it, and counts each record's trusted
/// upvotes again.
pub fn recompute(
    store: &mut Store,
    config: &Config,
    me: Option<PublicKey>,
    now: u64,
) -> Result<Vec<TrustedKey>, Error> {
    let follows = store.follows()?;
    let lists = store.follow_lists(&follows)?;
    let mutes = store.mute_set(now, me)?;
    let web = web_of_trust(
        me,
        &follows,
        &lists,
        |k| mutes.author(k, now),
        config.trust.rule(),
    );
    store.set_trust(&web)?;
    Ok(web)
}

/// The followed keys whose follow list is over `[trust]`'s cap, each
/// with what that means: only the first keys of its list count.
pub fn lists_over_cap(store: &Store, config: &Config) -> Result<Vec<String>, Error> {
    let cap = config.trust.rule().max_list;
    Ok(store
        .follow_lists(&store.follows()?)?
        .into_iter()
        .filter(|(_, list)| list.len() > cap)
        .map(|(owner, list)| {
            format!(
                "{owner} follows {} keys, over the cap of {cap}: only {cap} of them count toward trust",
                list.len()
            )
        })
        .collect())
}

/// The trust step of a sync: the web computed again, then up to
/// [`SECOND_HOP_READS`] second-hop outboxes read, whose listed upvotes
/// replace the votes kept of each.
pub async fn refresh(
    dht: &Dht,
    store: &mut Store,
    config: &Config,
    me: Option<PublicKey>,
    now: u64,
) -> Result<TrustReport, Error> {
    let web = recompute(store, config, me, now)?;
    let mut report = TrustReport {
        lists_over_cap: lists_over_cap(store, config)?,
        ..TrustReport::default()
    };
    if web.iter().any(|t| t.hop == Hop::Second) {
        let keys = store.second_hop_to_read(SECOND_HOP_READS)?;
        let read = join_all(keys.iter().map(|k| dht.read_outbox(k))).await;
        for (key, found) in keys.into_iter().zip(read) {
            match found {
                Some((outbox, _)) => {
                    store.put_second_hop_votes(key, Some(&outbox.upvotes), now)?;
                    report.outboxes_read += 1;
                }
                None => {
                    store.put_second_hop_votes(key, None, now)?;
                    report.outboxes_missing += 1;
                }
            }
        }
        store.count_trusted()?;
    }
    report.size = store.trust_size()?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use upseed_core::SecretKey;
    use upseed_core::trust::TrustRule;

    #[test]
    fn a_follow_list_over_the_cap_counts_only_its_first_keys_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let config = crate::fake::config(dir.path());
        let mut store = Store::open(&dir.path().join("store.db")).unwrap();
        let cap = TrustRule::default().max_list;
        let [me, big, small] = [1u8, 2, 3].map(|n| SecretKey::from_seed(&[n; 32]).public_key());
        let many: Vec<PublicKey> = (0..=cap as u32)
            .map(|i| {
                let mut seed = [0u8; 32];
                seed[..4].copy_from_slice(&i.to_be_bytes());
                seed[31] = 9;
                SecretKey::from_seed(&seed).public_key()
            })
            .collect();
        for (owner, list) in [(big, many.clone()), (small, vec![many[cap]])] {
            store.follow(owner, 1).unwrap();
            store.set_follow_list(owner, &list).unwrap();
        }
        let over = lists_over_cap(&store, &config).unwrap();
        assert_eq!(over.len(), 1, "{over:?}");
        assert!(over[0].starts_with(&big.to_string()), "{over:?}");
        assert!(
            over[0].contains(&format!("follows {} keys", cap + 1)),
            "{over:?}"
        );
        // With one follower enough, the big list alone brings keys in:
        // only `cap` of them.
        let mut config = config;
        config.trust.min_followers = 1;
        store.set_follow_list(small, &[]).unwrap();
        let web = recompute(&mut store, &config, Some(me), 1).unwrap();
        let second = web.iter().filter(|t| t.hop == Hop::Second).count();
        assert_eq!(second, cap);
        // Nothing stored is lost: the whole list is kept.
        assert_eq!(store.follow_lists(&[big]).unwrap()[&big].len(), cap + 1);
    }
}
