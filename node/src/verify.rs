//! The verification round of a refresh: for the posts least lately
//! probed, ask the trackers who is in each swarm, probe a sample of those
//! peers for one piece each, and keep what they proved. A post's verified
//! seeders are the peers whose latest probe, within `[verify] valid_for`,
//! served a piece that matched its signed hash (PROTOCOL.md §21).

use std::collections::HashMap;
use std::net::SocketAddr;

use futures_util::future::join_all;
use upseed_core::peer_wire::{Outcome, peer_id};

use crate::Error;
use crate::config::Config;
use crate::probe::probe;
use crate::store::{ProbeRecord, Store};

/// What one verification round did, as `sync --json` reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct VerifyReport {
    /// Posts whose swarms were asked for.
    pub posts: usize,
    /// Peers the trackers listed for them, and that a probe may dial.
    pub listed: usize,
    /// Listed addresses no probe may dial: loopback or private ones from
    /// a tracker that is neither.
    pub refused: usize,
    /// Peers probed.
    pub probed: usize,
    /// Peers that served a piece that checked.
    pub verified: usize,
    /// Peers that hold no copy.
    pub not_seeding: usize,
    /// Peers that could not be dialled, or did not shake hands in time.
    pub unreachable: usize,
    /// Peers that answered but did not serve the piece in time.
    pub choked: usize,
    /// Peers that broke the protocol or sent wrong bytes.
    pub failed: usize,
    /// Trackers that did not answer an announce, with why.
    pub tracker_errors: Vec<String>,
}

/// One verification round, as `[verify]` bounds it: at most
/// `posts_per_sync` posts and `peers_per_post` probes each, in
/// `timeout` plus the trackers' `tracker_timeout`.
pub async fn verify(
    store: &mut Store,
    config: &Config,
    tracker_timeout: std::time::Duration,
    now: u64,
) -> Result<VerifyReport, Error> {
    let section = &config.verify;
    let mut report = VerifyReport::default();
    if !section.enabled || config.trackers.urls.is_empty() || section.peers_per_post == 0 {
        return Ok(report);
    }
    let valid_for = section.valid_for.as_secs();
    let keep_since = now.saturating_sub(valid_for);
    // A post is probed again once half its proof's time has passed.
    let due = now.saturating_sub(valid_for / 2);
    let mut posts = Vec::new();
    for hash in store.probe_candidates(due.max(1), section.posts_per_sync)? {
        if let Some(record) = store.record(hash)? {
            let before: HashMap<SocketAddr, u64> = store
                .probes(hash)?
                .into_iter()
                .map(|p| (p.peer, p.at))
                .collect();
            posts.push((record, before));
        }
    }
    let mut random = [0u8; 20];
    if getrandom::fill(&mut random).is_err() {
        random[..8].copy_from_slice(&now.to_le_bytes());
    }
    let (seed, rest) = random.split_at(8);
    let mut seed = u64::from_le_bytes(seed.try_into().unwrap_or_default()) | 1;
    let id = peer_id(rest.try_into().unwrap_or_default());
    // The port the announces give, from the dynamic range.
    let port = 49_152 + (xorshift(seed) % 16_384) as u16;
    let trackers = &crate::peers::Trackers::resolve(&config.trackers.urls, tracker_timeout).await;
    let rounds = posts.iter().map(|(record, before)| {
        let hash = record.infohash();
        // A piece at random, so a peer cannot keep just the first.
        seed = xorshift(seed);
        let index = (seed % u64::from(record.piece_count().max(1))) as u32;
        let piece = record.piece(index);
        seed = xorshift(seed);
        let mut order = seed;
        async move {
            let swarm = trackers.swarm((hash, record.length()), (id, port)).await;
            // Peers with no standing result first, in random order.
            let mut fresh: Vec<SocketAddr> = swarm
                .peers
                .iter()
                .copied()
                .filter(|p| before.get(p).is_none_or(|at| *at < due))
                .collect();
            shuffle(&mut fresh, &mut order);
            fresh.truncate(section.peers_per_post);
            let probes =
                match piece {
                    Some((len, sha1)) => {
                        join_all(fresh.iter().map(|peer| {
                            probe(*peer, hash, (index, len, sha1), id, section.timeout)
                        }))
                        .await
                    }
                    None => Vec::new(),
                };
            (hash, swarm, fresh, probes)
        }
    });
    for (hash, swarm, peers, probes) in join_all(rounds).await {
        report.posts += 1;
        report.listed += swarm.peers.len();
        report.refused += swarm.refused;
        report.tracker_errors.extend(
            swarm
                .failures
                .into_iter()
                .map(|f| format!("{}: {}", f.tracker, f.error)),
        );
        let records: Vec<ProbeRecord> = peers
            .into_iter()
            .zip(probes)
            .map(|(peer, probed)| {
                *match probed.outcome {
                    Outcome::Verified => &mut report.verified,
                    Outcome::NotSeeding => &mut report.not_seeding,
                    Outcome::Unreachable => &mut report.unreachable,
                    Outcome::Choked => &mut report.choked,
                    Outcome::Failed => &mut report.failed,
                } += 1;
                ProbeRecord {
                    peer,
                    outcome: probed.outcome,
                    detail: probed.detail,
                    at: now,
                }
            })
            .collect();
        report.probed += records.len();
        store.put_probes(hash, swarm.peers.len(), &records, keep_since, now)?;
    }
    report.tracker_errors.sort();
    report.tracker_errors.dedup();
    Ok(report)
}

fn xorshift(mut x: u64) -> u64 {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}

fn shuffle<T>(items: &mut [T], seed: &mut u64) {
    for i in (1..items.len()).rev() {
        *seed = xorshift(*seed);
        let j = (*seed % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}
