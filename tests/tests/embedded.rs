//! The embedded engine against real qBittorrent and Transmission: the
//! conformance suite in every pairing, both ways. Transmission never
//! dials 127.0.0.0/8, so its pairings run in the private namespace.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use upseed_tests::conformance;
use upseed_tests::embedded::EngineNode;
use upseed_tests::qbittorrent::{QbDaemon, QbOptions};
use upseed_tests::tracker::Tracker;
use upseed_tests::transmission::TrDaemon;
use upseed_tests::{have, host, netns};

/// The engine logs through the test's tracing: `RUST_LOG=librqbit=debug`.
fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

#[tokio::test(flavor = "multi_thread")]
async fn conformance_embedded_to_embedded() {
    logs();
    if !have("opentracker") {
        return;
    }
    let tracker = Tracker::start(host()).await;
    let seeder = EngineNode::start().await;
    let leecher = EngineNode::start().await;
    // Neither side reports swarm counts (librqbit keeps no scrape), so
    // the suite's count check needs a real client on one side; here the
    // transfer, metainfo, tags and removal are checked.
    conformance::transfer(&tracker, &seeder, &leecher, Duration::from_secs(60)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn conformance_embedded_and_qbittorrent_both_ways() {
    logs();
    if !have("qbittorrent-nox") || !have("opentracker") {
        return;
    }
    let tracker = Tracker::start(host()).await;
    let engine = EngineNode::start().await;
    let qb = QbDaemon::start(QbOptions::default()).await;
    conformance::swarm(&tracker, &engine, &qb, Duration::from_secs(60)).await;
    conformance::swarm(&tracker, &qb, &engine, Duration::from_secs(60)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn conformance_embedded_to_transmission() {
    logs();
    if netns::reexec("conformance_embedded_to_transmission")
        || !have("transmission-daemon")
        || !have("opentracker")
    {
        return;
    }
    let tracker = Tracker::start(host()).await;
    let engine = EngineNode::start().await;
    let tr = TrDaemon::start(host()).await;
    conformance::swarm(&tracker, &engine, &tr, Duration::from_secs(90)).await;
}
