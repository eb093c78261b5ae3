//! The embedded engine against real qBittorrent and Transmission: the
//! conformance suite engine to engine, and with each client both ways
//! (Transmission never dials 127.0.0.0/8, so its pairing runs in the
//! private namespace); then the engine's holder killed, stopped, serving
//! the web page, on a taken port, and on a folder it cannot write.

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
    // qBittorrent, seeding, hears of the engine's completion only at its
    // next announce, and the engine keeps no counts: the tracker's own.
    conformance::transfer(&tracker, &qb, &engine, Duration::from_secs(60)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn conformance_embedded_and_transmission_both_ways() {
    logs();
    if netns::reexec("conformance_embedded_and_transmission_both_ways")
        || !have("transmission-daemon")
        || !have("opentracker")
    {
        return;
    }
    let tracker = Tracker::start(host()).await;
    let engine = EngineNode::start().await;
    let tr = TrDaemon::start(host()).await;
    conformance::swarm(&tracker, &engine, &tr, Duration::from_secs(90)).await;
    // Transmission scrapes its tracker only now and then, and the engine
    // not at all: the tracker's own count stands in for theirs.
    conformance::transfer(&tracker, &tr, &engine, Duration::from_secs(90)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopping_engine_tells_its_trackers_it_no_longer_seeds() {
    use upseed_core::TorrentClient;
    use upseed_tests::conformance::{Node, new_post, seedable, wait_seeding};
    if !have("opentracker") {
        return;
    }
    let tracker = Tracker::start(host()).await;
    let engine = EngineNode::start().await;
    let record = new_post("seeded until the engine stops");
    let hash = record.infohash();
    tracker.allow(&[hash]).await;
    engine
        .client()
        .add(&[seedable(&engine, &record, &tracker)])
        .await
        .unwrap();
    wait_seeding(&engine.client(), hash, Duration::from_secs(30)).await;
    let started = std::time::Instant::now();
    while tracker.seeders(hash).await == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never announced"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(tracker.seeders(hash).await, 1);
    engine.engine().stop().await;
    // Straight after the stop, not at the tracker's timeout.
    assert_eq!(tracker.seeders(hash).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_holds_the_engine_for_the_page_and_every_command() {
    use upseed_core::TorrentClient;
    use upseed_tests::conformance::{Node, wait_seeding};
    if !have("opentracker") {
        return;
    }
    let tracker = Tracker::start(host()).await;
    let bin = upseed_tests::upseed_binary();
    let (home, mut engine) = upseed_tests::story::engine_home(&bin, &tracker, None);
    let port = upseed_tests::free_port(std::net::Ipv4Addr::LOCALHOST);
    let listen = format!("127.0.0.1:{port}");
    engine
        .start_holder(
            &["serve", "--listen", &listen],
            &[("UPSEED_DHT_ENABLED", "false")],
        )
        .await;

    // A one-shot command hands its post to the engine `serve` holds.
    let hash = posted(home.path(), "posted while upseed serve holds the engine");
    tracker.allow(&[hash]).await;
    engine.client().announce_now(&[hash]).await.unwrap();
    let seeded = wait_seeding(&engine.client(), hash, Duration::from_secs(30)).await;
    assert!(
        seeded.tags.iter().any(|t| t == "upseed-post"),
        "{:?}",
        seeded.tags
    );
    // The page lists it in the feed, and among what this engine seeds.
    for path in ["/", "/seeded"] {
        let page = reqwest::get(format!("http://{listen}{path}"))
            .await
            .and_then(reqwest::Response::error_for_status)
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("posted while upseed serve holds the engine"),
            "{path}: {page}"
        );
    }
    let started = std::time::Instant::now();
    while tracker.seeders(hash).await == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never announced"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Stopped as a user stops it, it lets the engine go: the tracker
    // hears at once, and a command says plainly that nothing holds it.
    engine.stop();
    assert_eq!(tracker.seeders(hash).await, 0);
    let out = upseed(home.path(), &["post", "nobody holds the engine now"]);
    assert_eq!(
        out.status.code(),
        Some(69),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("upseed daemon"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `upseed ARGS` on the home at `home`.
fn upseed(home: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(upseed_tests::upseed_binary())
        .arg("--config")
        .arg(home.join("config.toml"))
        .args(args)
        .env("UPSEED_DHT_ENABLED", "false")
        .env_remove("UPSEED_HOME")
        .output()
        .expect("run upseed")
}

fn posted(home: &std::path::Path, text: &str) -> upseed_core::InfoHash {
    let out = upseed(home, &["post", text, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json["infohash"].as_str().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_holder_resumes_every_post_and_vote_and_leaves_no_half_read() {
    use upseed_core::TorrentClient;
    use upseed_tests::conformance::{Node, wait_seeding};
    if !have("opentracker") {
        return;
    }
    let tracker = Tracker::start(host()).await;
    let env = [("UPSEED_DHT_ENABLED", "false")];
    let bin = upseed_tests::upseed_binary();
    let (alice_home, mut alice) =
        upseed_tests::story::engine_user("alice", &bin, &tracker, false).await;
    let (bob_home, mut bob) = upseed_tests::story::engine_user("bob", &bin, &tracker, false).await;

    let voted = posted(alice_home.path(), "seeded by alice, upvoted by bob");
    let unseeded = posted(alice_home.path(), "alice goes away before bob reads this");
    let own = posted(bob_home.path(), "bob's own post");
    tracker.allow(&[voted, unseeded, own]).await;
    alice
        .client()
        .announce_now(&[voted, unseeded])
        .await
        .unwrap();
    let out = upseed(bob_home.path(), &["upvote", &voted.to_string()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Mid-seed: bob's holder dies at once; its next start seeds both again.
    bob.kill();
    let refused = upseed(bob_home.path(), &["upvote", &voted.to_string()]);
    assert_eq!(refused.status.code(), Some(69));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("upseed daemon"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    bob.start(&env).await;
    for hash in [voted, own] {
        wait_seeding(&bob.client(), hash, Duration::from_secs(30)).await;
    }

    // Mid-fetch: nobody seeds the post bob reads, and his holder dies while
    // the read waits for it.
    alice.stop();
    let reader = std::process::Command::new(&bin)
        .arg("--config")
        .arg(bob_home.path().join("config.toml"))
        .args(["show", &unseeded.to_string(), "--timeout", "60"])
        .env("UPSEED_DHT_ENABLED", "false")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    upseed_tests::eventually(
        "bob's read to reach his engine",
        Duration::from_secs(20),
        || async {
            let held = bob.client().list(Some(&[unseeded])).await.ok()?;
            (!held.is_empty()).then_some(())
        },
    )
    .await;
    bob.kill();
    bob.start(&env).await;
    let reader = reader.wait_with_output().unwrap();
    assert!(
        !reader.status.success(),
        "the read cannot finish without its holder"
    );
    upseed_tests::eventually(
        "the restarted holder to drop the half-read torrent",
        Duration::from_secs(30),
        || async {
            let listed = bob.client().list(None).await.ok()?;
            let hashes: Vec<_> = listed.iter().map(|t| t.infohash).collect();
            (!hashes.contains(&unseeded) && hashes.contains(&voted) && hashes.contains(&own))
                .then_some(())
        },
    )
    .await;
    assert!(
        std::fs::read_dir(bob.downloads_dir())
            .unwrap()
            .flatten()
            .all(|e| !e.path().to_string_lossy().contains(&unseeded.to_string())),
        "no file of the half-read torrent is left"
    );
    drop((alice_home, bob_home));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_holder_on_a_taken_port_or_an_unwritable_folder_says_what_to_fix() {
    use upseed_tests::conformance::Node;
    if !have("opentracker") {
        return;
    }
    let tracker = Tracker::start(host()).await;
    let bin = upseed_tests::upseed_binary();
    let (home, mut engine) = upseed_tests::story::engine_user("dan", &bin, &tracker, false).await;
    engine.stop();
    let taken = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let daemon = |env: &[(&str, &str)]| {
        std::process::Command::new(&bin)
            .arg("--config")
            .arg(home.path().join("config.toml"))
            .arg("daemon")
            .env("UPSEED_DHT_ENABLED", "false")
            .envs(env.iter().copied())
            .env_remove("UPSEED_HOME")
            .output()
            .unwrap()
    };
    let out = daemon(&[("UPSEED_ENGINE_PORT", port.as_str())]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(
        err.contains(&format!("port {port}")) && err.contains("[engine] port"),
        "{err}"
    );

    // The engine's folder is a file: nothing can be written there.
    let engine_dir = home.path().join("engine");
    std::fs::remove_dir_all(&engine_dir).unwrap();
    std::fs::write(&engine_dir, b"not a folder").unwrap();
    let out = daemon(&[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(err.contains("writable"), "{err}");
    assert_eq!(
        std::fs::read(&engine_dir).unwrap(),
        b"not a folder",
        "nothing of the user's is touched"
    );
}
