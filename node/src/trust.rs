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
    let cap = config.trust.rule().max_list;
    let follows = store.follows()?;
    let mut report = TrustReport {
        lists_over_cap: store
            .follow_lists(&follows)?
            .into_iter()
            .filter(|(_, list)| list.len() > cap)
            .map(|(owner, list)| {
                format!(
                    "{owner} follows {} keys: only {cap} of them count toward trust",
                    list.len()
                )
            })
            .collect(),
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
