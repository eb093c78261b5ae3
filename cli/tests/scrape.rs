//! Tracker scrapes against a real opentracker, over HTTP and UDP, with a
//! post seeded by a real qBittorrent; and a dead tracker beside them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use upseed_core::{InfoHash, TorrentClient};
use upseed_node::scrape::scrape;
use upseed_tests::conformance::{new_post, seedable, wait_seeding};
use upseed_tests::qbittorrent::{QbDaemon, QbOptions};
use upseed_tests::tracker::Tracker;
use upseed_tests::{eventually, free_port, have, host};

#[tokio::test]
async fn batches_over_http_and_udp_and_a_dead_tracker_holds_up_nobody() {
    if !have("opentracker") || !have("qbittorrent-nox") {
        return;
    }
    let tracker = Tracker::start(host()).await;
    let daemon = QbDaemon::start(QbOptions::default()).await;
    let seeded = new_post("scraped");
    let others: Vec<InfoHash> = (0..149)
        .map(|i| new_post(&format!("unseeded {i}")).infohash())
        .collect();
    let mut all = vec![seeded.infohash()];
    all.extend(&others);
    tracker.allow(&all).await;
    daemon
        .client()
        .add(&[seedable(&daemon, &seeded, &tracker)])
        .await
        .unwrap();
    wait_seeding(&daemon.client(), seeded.infohash(), Duration::from_secs(20)).await;

    let dead_http = format!("http://{}:{}/announce", host(), free_port(host()));
    let dead_udp = format!("udp://{}:{}/announce", host(), free_port(host()));
    let trackers = vec![
        tracker.announce_url(),
        tracker.udp_announce_url(),
        dead_http.clone(),
        dead_udp.clone(),
    ];
    let report = eventually(
        "both scrapes to see the seeder",
        Duration::from_secs(20),
        || async {
            let report = scrape(&trackers, &all, Duration::from_millis(500)).await;
            let seen = report
                .counts
                .iter()
                .filter(|c| c.infohash == seeded.infohash() && c.seeders == Some(1))
                .count();
            (seen == 2).then_some(report)
        },
    )
    .await;

    // 150 hashes: 3 HTTP requests of at most 64, and for UDP one connect
    // plus 3 packets of at most 74, on each live tracker.
    let failed: Vec<_> = report.failures.iter().map(|f| f.tracker.clone()).collect();
    assert_eq!(failed, vec![dead_http, dead_udp], "{:?}", report.failures);
    assert!(report.failures.iter().all(|f| !f.error.is_empty()));
    assert!(report.requests >= 3 + 4, "{}", report.requests);
    // Unknown torrents are not reported as zero counts.
    assert_eq!(report.counts.len(), 2, "{:?}", report.counts);
    let live: Vec<_> = report.counts.iter().map(|c| c.source.as_str()).collect();
    assert!(
        live.contains(&tracker.announce_url().as_str())
            && live.contains(&tracker.udp_announce_url().as_str())
    );

    // The dead UDP tracker costs its timeout, not more: two tries of 0.5 s.
    let start = Instant::now();
    let only_dead = scrape(
        &[format!("udp://{}:{}/announce", host(), free_port(host()))],
        &all,
        Duration::from_millis(500),
    )
    .await;
    assert_eq!(only_dead.failures.len(), 1);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
}

/// 20,000 hashes: exactly ⌈N/64⌉ HTTP requests and 1 + ⌈N/74⌉ UDP packets,
/// none failing, five times in a row (opentracker closes each HTTP
/// connection, which once broke batches sent over kept-alive ones).
#[tokio::test]
async fn twenty_thousand_hashes_in_exact_batches() {
    if !have("opentracker") {
        return;
    }
    let tracker = Tracker::start(host()).await;
    let hashes: Vec<InfoHash> = (0..20_000u32)
        .map(|i| {
            let mut bytes = [7u8; 20];
            bytes[..4].copy_from_slice(&i.to_be_bytes());
            InfoHash::from_bytes(bytes)
        })
        .collect();
    tracker.allow(&hashes).await;
    for (url, requests) in [
        (tracker.announce_url(), 20_000usize.div_ceil(64)),
        (tracker.udp_announce_url(), 1 + 20_000usize.div_ceil(74)),
    ] {
        for _ in 0..5 {
            let report = scrape(std::slice::from_ref(&url), &hashes, Duration::from_secs(5)).await;
            assert!(report.failures.is_empty(), "{:?}", report.failures);
            assert_eq!(report.requests, requests, "{url}");
        }
    }
}

/// opentracker garbles the status line of a full scrape's answer of about
/// 8 to 50 KiB (some 120 to 700 torrents); the full scrape still reads it,
/// below, inside and above that range.
#[tokio::test]
async fn a_full_scrape_reads_every_size_opentracker_answers() {
    if !have("opentracker") {
        return;
    }
    let tracker = Tracker::start(host()).await;
    let hashes: Vec<InfoHash> = (0..1_000u32)
        .map(|i| {
            let mut bytes = [9u8; 20];
            bytes[..4].copy_from_slice(&i.to_be_bytes());
            InfoHash::from_bytes(bytes)
        })
        .collect();
    tracker.allow(&hashes).await;
    // opentracker closes each connection after one answer.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut announced = 0;
    for listed in [50, 150, 500, 1_000] {
        for hash in &hashes[announced..listed] {
            let escaped: String = hash
                .as_bytes()
                .iter()
                .map(|b| format!("%{b:02X}"))
                .collect();
            let url = format!(
                "{}?info_hash={escaped}&peer_id=-UP0001-000000000000&port=6881&left=0&compact=1",
                tracker.announce_url()
            );
            let answer = http.get(&url).send().await.unwrap();
            assert!(answer.status().is_success());
        }
        announced = listed;
        let map = upseed_node::scrape::full_scrape(&tracker.announce_url(), Duration::from_secs(5))
            .await
            .unwrap_or_else(|e| panic!("full scrape of {listed} torrents: {e}"));
        assert_eq!(map.len(), listed, "full scrape of {listed} torrents");
        assert!(hashes[..listed].iter().all(|h| map[h].seeders == 1));
    }
}

/// A fake seeder that shakes hands, claims every piece, unchokes, and
/// answers a request with bytes that are not the piece: a seedbox that
/// announces without holding the post.
async fn lying_peer() -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind((host(), 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut hello = [0; 68];
                s.read_exact(&mut hello).await?;
                s.write_all(&hello[..48]).await?;
                s.write_all(b"-XX0001-seedbox00000").await?;
                s.write_all(&[0, 0, 0, 2, 5, 0xff]).await?;
                loop {
                    let mut prefix = [0; 4];
                    s.read_exact(&mut prefix).await?;
                    let mut m = vec![0; u32::from_be_bytes(prefix) as usize];
                    s.read_exact(&mut m).await?;
                    match m.first() {
                        Some(2) => s.write_all(&[0, 0, 0, 1, 1]).await?,
                        Some(6) => {
                            let len = u32::from_be_bytes(m[9..13].try_into().unwrap());
                            let mut piece = (9 + len).to_be_bytes().to_vec();
                            piece.push(7);
                            piece.extend_from_slice(&m[1..9]);
                            piece.resize(13 + len as usize, b'?');
                            s.write_all(&piece).await?;
                        }
                        _ => {}
                    }
                }
                #[allow(unreachable_code)]
                Ok::<(), std::io::Error>(())
            });
        }
    });
    port
}

#[tokio::test]
async fn probes_verify_a_real_seeder_and_see_through_a_seedbox() {
    use upseed_core::peer_wire::Outcome;
    use upseed_core::rank::{Basis, Sort, Window};
    use upseed_node::feed::{View, build_feed_in};
    use upseed_node::store::Store;

    if !have("opentracker") || !have("qbittorrent-nox") {
        return;
    }
    let tracker = Tracker::start(host()).await;
    let daemon = QbDaemon::start(QbOptions::default()).await;
    let honest = new_post("seeded by a real client");
    let boxed = new_post("announced by a seedbox");
    tracker.allow(&[honest.infohash(), boxed.infohash()]).await;
    daemon
        .client()
        .add(&[seedable(&daemon, &honest, &tracker)])
        .await
        .unwrap();
    wait_seeding(&daemon.client(), honest.infohash(), Duration::from_secs(20)).await;

    // The seedbox announces 30 seeders from one process: 10 ports answer
    // with wrong bytes, 20 listen nowhere.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut ports = Vec::new();
    for _ in 0..10 {
        ports.push(lying_peer().await);
    }
    ports.extend((0..20).map(|_| free_port(host())));
    let escaped: String = boxed
        .infohash()
        .as_bytes()
        .iter()
        .map(|b| format!("%{b:02X}"))
        .collect();
    for (i, port) in ports.iter().enumerate() {
        let url = format!(
            "{}?info_hash={escaped}&peer_id=-XX0001-seedbox{i:05}&port={port}&uploaded=0&downloaded=0&left=0&compact=1&event=started",
            tracker.announce_url()
        );
        assert!(http.get(&url).send().await.unwrap().status().is_success());
    }

    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("store.db")).unwrap();
    let now = upseed_node::now();
    let mut config = upseed_node::fake::config(dir.path());
    config.trackers.urls = vec![tracker.announce_url(), tracker.udp_announce_url()];
    config.verify.peers_per_post = 40;
    config.verify.timeout = Duration::from_secs(5);
    for post in [&honest, &boxed] {
        store.put_record(post, now).unwrap();
    }
    let counts = eventually(
        "the scrape to count both swarms",
        Duration::from_secs(20),
        || async {
            let report = scrape(
                &[tracker.announce_url()],
                &[honest.infohash(), boxed.infohash()],
                Duration::from_secs(2),
            )
            .await;
            (report.counts.len() == 2).then_some(report.counts)
        },
    )
    .await;
    store
        .put_counts(&counts, now, &config.retention.policy())
        .unwrap();

    let report = upseed_node::verify::verify(&mut store, &config, Duration::from_secs(2), now)
        .await
        .unwrap();
    assert_eq!(report.posts, 2, "{report:?}");
    assert!(report.tracker_errors.is_empty(), "{report:?}");
    assert_eq!(
        report.listed, 31,
        "the real seeder and the seedbox's 30: {report:?}"
    );
    assert_eq!(report.probed, 31, "{report:?}");
    assert_eq!(report.verified, 1, "{report:?}");
    assert_eq!(report.failed, 10, "{report:?}");
    assert_eq!(report.unreachable, 20, "{report:?}");
    assert_eq!(store.verified_count(honest.infohash()).unwrap(), 1);
    assert_eq!(store.verified_count(boxed.infohash()).unwrap(), 0);
    let liars = store.probes(boxed.infohash()).unwrap();
    assert!(
        liars
            .iter()
            .filter(|p| p.outcome == Outcome::Failed)
            .all(|p| p.detail.as_deref().unwrap().contains("do not match")),
        "{liars:?}"
    );

    let rank = |by| {
        // Top of all time ranks by the count alone (hot cannot tell 1 from 0).
        build_feed_in(
            &store,
            (Sort::Top(Window::All), by),
            None,
            10,
            now,
            View::all(),
        )
        .unwrap()
        .items
        .iter()
        .map(|i| (i.record.infohash, i.seeders, i.verified))
        .collect::<Vec<_>>()
    };
    assert_eq!(
        rank(Basis::Seeders),
        [(boxed.infohash(), 30, 0), (honest.infohash(), 1, 1)]
    );
    assert_eq!(
        rank(Basis::Verified),
        [(honest.infohash(), 1, 1), (boxed.infohash(), 30, 0)]
    );

    // Within half of `valid_for`, a second round has nothing due.
    let again = upseed_node::verify::verify(&mut store, &config, Duration::from_secs(2), now + 60)
        .await
        .unwrap();
    assert_eq!(again.posts, 0, "{again:?}");
    // The probes' own announces were withdrawn: nobody is left downloading.
    eventually(
        "the probes to leave the swarm",
        Duration::from_secs(10),
        || async {
            let after = scrape(
                &[tracker.announce_url()],
                &[honest.infohash()],
                Duration::from_secs(2),
            )
            .await;
            (after.counts.len() == 1 && after.counts[0].leechers == Some(0)).then_some(())
        },
    )
    .await;
}
