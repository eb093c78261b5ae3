//! The Transmission adapter against a real transmission-daemon (Debian's
//! 3.00), alone and in cross-client swarms with qBittorrent.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use upseed_core::{
    AddTorrent, Added, ClientError, ClientKind, InfoHash, Magnet, TorrentClient, TorrentState,
};
use upseed_tests::conformance::{self, Node, new_post, seedable, wait_seeding};
use upseed_tests::qbittorrent::{QbDaemon, QbOptions};
use upseed_tests::tracker::Tracker;
use upseed_tests::transmission::{TrDaemon, TrOptions};
use upseed_tests::{eventually, have, host, netns};

fn installed() -> bool {
    have("transmission-daemon") && have("opentracker")
}

#[tokio::test]
async fn conformance_transmission_to_qbittorrent() {
    if netns::reexec("conformance_transmission_to_qbittorrent")
        || !installed()
        || !have("qbittorrent-nox")
    {
        return;
    }
    let tracker = Tracker::start(host()).await;
    let seeder = TrDaemon::start(host()).await;
    let leecher = QbDaemon::start(QbOptions::default()).await;
    conformance::swarm(&tracker, &seeder, &leecher, Duration::from_secs(90)).await;
}

#[tokio::test]
async fn conformance_qbittorrent_to_transmission() {
    if netns::reexec("conformance_qbittorrent_to_transmission")
        || !installed()
        || !have("qbittorrent-nox")
    {
        return;
    }
    let tracker = Tracker::start(host()).await;
    let seeder = QbDaemon::start(QbOptions::default()).await;
    let leecher = TrDaemon::start(host()).await;
    conformance::swarm(&tracker, &seeder, &leecher, Duration::from_secs(90)).await;
}

#[tokio::test]
async fn conformance_auth_and_down() {
    if !installed() {
        return;
    }
    let mut daemon = TrDaemon::start(host()).await;
    conformance::auth(&daemon).await;
    conformance::down(&mut daemon).await;
}

#[tokio::test]
async fn info_reports_the_legacy_protocol_of_3_00() {
    if !installed() {
        return;
    }
    let daemon = TrDaemon::start(host()).await;
    let info = daemon.client().info().await.unwrap();
    assert_eq!(info.kind, ClientKind::Transmission);
    assert!(info.version.starts_with("3.00"), "{info:?}");
    assert_eq!(info.api_version, "16");
    assert!(!info.tags_on_add, "3.00 ignores labels on add");
}

#[tokio::test]
async fn add_is_idempotent_labels_follow_and_only_ours_are_touched() {
    if !installed() {
        return;
    }
    let tracker = Tracker::start(host()).await;
    let daemon = TrDaemon::start(host()).await;
    let client = daemon.client();
    let records: Vec<_> = (0..20)
        .map(|i| new_post(&format!("tr batch {i}")))
        .collect();
    let hashes: Vec<InfoHash> = records.iter().map(|r| r.infohash()).collect();
    tracker.allow(&hashes).await;
    let adds: Vec<AddTorrent> = records
        .iter()
        .map(|r| seedable(&daemon, r, &tracker))
        .collect();
    assert_eq!(client.add(&adds).await.unwrap(), vec![Added::New; 20]);
    assert_eq!(
        client.add(&adds).await.unwrap(),
        vec![Added::AlreadyPresent; 20]
    );

    // The user's own torrent, without our label.
    let foreign = new_post("not ours");
    std::fs::write(
        daemon.posts_dir().join(foreign.name()),
        foreign.body().unwrap().as_bytes(),
    )
    .unwrap();
    let mut other = daemon.config();
    other.label = "linux-isos".into();
    let user = upseed_transmission::Transmission::new(other).unwrap();
    let foreign_add = AddTorrent::from_torrent(
        foreign.torrent_bytes::<&str>(&[]),
        daemon.posts_dir().to_string_lossy(),
    )
    .unwrap()
    .with_data_present();
    user.add(&[foreign_add]).await.unwrap();

    let listed = eventually("all 20 to seed", Duration::from_secs(30), || async {
        let list = client.list(None).await.unwrap();
        (list.len() == 20 && list.iter().all(|t| t.state.is_seeding())).then_some(list)
    })
    .await;
    for status in &listed {
        assert!(hashes.contains(&status.infohash));
        assert_eq!(
            status.tags,
            vec!["upseed", "upseed-post"],
            "labels set after the add on 3.00"
        );
        assert!(status.content_path.ends_with(&status.name));
    }

    client.remove(&[foreign.infohash()], true).await.unwrap();
    assert_eq!(
        user.list(Some(&[foreign.infohash()])).await.unwrap().len(),
        1,
        "the user's torrent survives"
    );
    client.force_start(&[foreign.infohash()]).await.unwrap();
    // Removing nothing of ours sends nothing: no call without ids.
    client.remove(&[], true).await.unwrap();
    assert_eq!(user.list(None).await.unwrap().len(), 1);

    client.remove(&hashes, true).await.unwrap();
    assert!(client.list(None).await.unwrap().is_empty());
    eventually(
        "the data to be deleted",
        Duration::from_secs(10),
        || async { (!daemon.posts_dir().join(records[0].name()).exists()).then_some(()) },
    )
    .await;
    assert!(daemon.posts_dir().join(foreign.name()).exists());
}

#[tokio::test]
async fn labels_are_added_and_removed() {
    if !installed() {
        return;
    }
    let tracker = Tracker::start(host()).await;
    let daemon = TrDaemon::start(host()).await;
    let client = daemon.client();
    let record = new_post("labels");
    let hash = record.infohash();
    client
        .add(&[seedable(&daemon, &record, &tracker)])
        .await
        .unwrap();
    let tags = vec!["upvoted".to_owned(), "pinned".to_owned()];
    client.add_tags(&[hash], &tags).await.unwrap();
    assert_eq!(
        client.list(Some(&[hash])).await.unwrap()[0].tags,
        vec!["upseed", "upseed-post", "upvoted", "pinned"]
    );
    client.remove_tags(&[hash], &tags[..1]).await.unwrap();
    assert_eq!(
        client.list(Some(&[hash])).await.unwrap()[0].tags,
        vec!["upseed", "upseed-post", "pinned"]
    );
    // Our own label stays, even when asked to remove it.
    client
        .remove_tags(&[hash], &["upseed".to_owned()])
        .await
        .unwrap();
    assert_eq!(client.list(Some(&[hash])).await.unwrap().len(), 1);
    assert!(matches!(
        client.add_tags(&[hash], &["a,b".to_owned()]).await,
        Err(ClientError::Invalid(_))
    ));
}

#[tokio::test]
async fn seed_queue_is_reported_and_force_start_makes_ours_seed() {
    if !installed() {
        return;
    }
    let tracker = Tracker::start(host()).await;
    let daemon = TrDaemon::start(host()).await;
    let client = daemon.client();
    assert!(!client.queue_report().await.unwrap().may_hold_back(100));
    let raw = Raw::new(&daemon).await;
    raw.call(
        r#"{"method":"session-set","arguments":{"seed-queue-enabled":true,"seed-queue-size":1}}"#,
    )
    .await;
    let report = client.queue_report().await.unwrap();
    assert!(report.queueing && report.may_hold_back(3), "{report:?}");

    let records: Vec<_> = (0..3)
        .map(|i| new_post(&format!("tr queued {i}")))
        .collect();
    let hashes: Vec<InfoHash> = records.iter().map(|r| r.infohash()).collect();
    tracker.allow(&hashes).await;
    let adds: Vec<AddTorrent> = records
        .iter()
        .map(|r| seedable(&daemon, r, &tracker))
        .collect();
    client.add(&adds).await.unwrap();
    eventually(
        "some to wait in the seed queue",
        Duration::from_secs(20),
        || async {
            let list = client.list(None).await.unwrap();
            list.iter()
                .any(|t| t.state == TorrentState::QueuedToSeed)
                .then_some(())
        },
    )
    .await;
    // A start request that lands while a torrent is being checked is
    // forgotten by 3.00, which then queues it again: repeat, as the daemon's
    // periodic fix does, until every one seeds.
    eventually(
        "all three to seed despite the queue",
        Duration::from_secs(30),
        || async {
            client.force_start(&hashes).await.unwrap();
            let list = client.list(Some(&hashes)).await.unwrap();
            (list.len() == 3 && list.iter().all(|t| t.state.is_seeding())).then_some(())
        },
    )
    .await;
    assert!(
        client.queue_report().await.unwrap().queueing,
        "the queue is still on"
    );
}

#[tokio::test]
async fn a_fresh_post_jumps_the_verification_queue() {
    if !installed() {
        return;
    }
    let tracker = Tracker::start(host()).await;
    let daemon = TrDaemon::start(host()).await;
    let client = daemon.client();
    // A backlog: 60 torrents whose data is present but not ours to trust
    // (downloads being re-checked), so at normal priority. 3.00 verifies
    // about 10 a second.
    let backlog: Vec<_> = (0..60).map(|i| new_post(&format!("backlog {i}"))).collect();
    let backlog_adds: Vec<AddTorrent> = backlog
        .iter()
        .map(|r| {
            let mut add = seedable(&daemon, r, &tracker);
            add.data_present = false;
            add
        })
        .collect();
    client.add(&backlog_adds).await.unwrap();
    let post = new_post("fresh");
    let start = Instant::now();
    client
        .add(&[seedable(&daemon, &post, &tracker)])
        .await
        .unwrap();
    wait_seeding(&client, post.infohash(), Duration::from_secs(20)).await;
    let fresh = start.elapsed();
    let still_checking = client
        .list(None)
        .await
        .unwrap()
        .iter()
        .filter(|t| matches!(t.state, TorrentState::Checking))
        .count();
    println!(
        "fresh post seeding after {fresh:?} with {still_checking} of 60 backlog torrents still in verification"
    );
    assert!(
        still_checking >= 30,
        "the post waited for the backlog ({still_checking} left, {fresh:?})"
    );
    assert!(fresh < Duration::from_secs(3), "{fresh:?}");
}

#[tokio::test]
async fn recently_active_reports_changes_and_removals() {
    if !installed() {
        return;
    }
    let tracker = Tracker::start(host()).await;
    let daemon = TrDaemon::start(host()).await;
    let client = daemon.client();
    let record = new_post("changes");
    let hash = record.infohash();
    client
        .add(&[seedable(&daemon, &record, &tracker)])
        .await
        .unwrap();
    wait_seeding(&client, hash, Duration::from_secs(20)).await;
    let changes = client.changes().await.unwrap();
    assert!(
        changes.changed.iter().any(|t| t.infohash == hash),
        "{changes:?}"
    );
    client.remove(&[hash], false).await.unwrap();
    let changes = client.changes().await.unwrap();
    assert_eq!(changes.removed, vec![hash]);
}

#[tokio::test]
async fn magnet_download_from_a_qbittorrent_seeder() {
    if netns::reexec("magnet_download_from_a_qbittorrent_seeder")
        || !installed()
        || !have("qbittorrent-nox")
    {
        return;
    }
    let tracker = Tracker::start(host()).await;
    let seeder = QbDaemon::start(QbOptions::default()).await;
    let leecher = TrDaemon::start(host()).await;
    let record = new_post("magnet to transmission");
    let hash = record.infohash();
    tracker.allow(&[hash]).await;
    seeder
        .client()
        .add(&[seedable(&seeder, &record, &tracker)])
        .await
        .unwrap();
    wait_seeding(&seeder.client(), hash, Duration::from_secs(30)).await;
    let magnet = Magnet::for_record(&record, &[tracker.announce_url()]);
    let add = AddTorrent::from_magnet(magnet, leecher.downloads_dir().to_string_lossy());
    assert_eq!(
        leecher.client().add(&[add]).await.unwrap(),
        vec![Added::New]
    );
    wait_seeding(&leecher.client(), hash, Duration::from_secs(90)).await;
    let body = std::fs::read(leecher.downloads_dir().join(record.name())).unwrap();
    assert_eq!(body, record.body().unwrap().as_bytes());
}

#[tokio::test]
async fn bad_requests_are_typed_errors() {
    if !installed() {
        return;
    }
    let daemon = TrDaemon::start(host()).await;
    let client = daemon.client();
    let record = new_post("relative");
    let relative = AddTorrent::from_torrent(record.torrent_bytes::<&str>(&[]), "posts").unwrap();
    assert!(matches!(
        client.add(&[relative]).await,
        Err(ClientError::Invalid(_))
    ));
    let mut garbage = AddTorrent::from_torrent(record.torrent_bytes::<&str>(&[]), "/tmp").unwrap();
    garbage.source = upseed_core::Source::Torrent(b"d4:infod6:lengthi1eee".to_vec());
    match client.add(&[garbage]).await {
        Err(ClientError::Rejected { reason, .. }) => {
            assert!(reason.contains("invalid"), "{reason}")
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn an_address_outside_the_whitelist_gets_the_fix() {
    if !installed() {
        return;
    }
    let options = TrOptions {
        whitelist: "10.99.0.1".into(),
        ..TrOptions::default()
    };
    let daemon = TrDaemon::start_with(options).await;
    match daemon.client().info().await {
        Err(error @ ClientError::Api { status: 403, .. }) => {
            assert!(error.to_string().contains("rpc-whitelist"), "{error}");
        }
        other => panic!("expected 403, got {other:?}"),
    }
}

/// Plain RPC calls for test set-up, outside the adapter.
struct Raw {
    http: reqwest::Client,
    url: url::Url,
    password: String,
    id: String,
}

impl Raw {
    async fn new(daemon: &TrDaemon) -> Self {
        let http = reqwest::Client::new();
        let answer = http
            .post(daemon.url().clone())
            .basic_auth("tester", Some(daemon.password()))
            .send()
            .await
            .unwrap();
        let id = answer.headers()["X-Transmission-Session-Id"]
            .to_str()
            .unwrap()
            .to_owned();
        Self {
            http,
            url: daemon.url().clone(),
            password: daemon.password().to_owned(),
            id,
        }
    }

    async fn call(&self, body: &'static str) {
        let answer = self
            .http
            .post(self.url.clone())
            .basic_auth("tester", Some(&self.password))
            .header("X-Transmission-Session-Id", &self.id)
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(answer.text().await.unwrap().contains("success"));
    }
}
