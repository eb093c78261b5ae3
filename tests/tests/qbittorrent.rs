//! The qBittorrent adapter against a real qbittorrent-nox (Debian's 4.5.2).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use upseed_core::{
    AddTorrent, Added, ClientError, ClientKind, InfoHash, Magnet, TorrentClient, TorrentState,
};
use upseed_tests::conformance::{self, Node, new_post, seedable, wait_seeding};
use upseed_tests::qbittorrent::{QbDaemon, QbOptions};
use upseed_tests::tracker::Tracker;
use upseed_tests::{eventually, have, host, netns};

fn daemons_installed() -> bool {
    have("qbittorrent-nox") && have("opentracker")
}

#[tokio::test]
async fn conformance_qbittorrent_to_qbittorrent() {
    if !daemons_installed() {
        return;
    }
    let tracker = Tracker::start(host()).await;
    let seeder = QbDaemon::start(QbOptions::default()).await;
    let leecher = QbDaemon::start(QbOptions::default()).await;
    conformance::swarm(&tracker, &seeder, &leecher, Duration::from_secs(60)).await;
}

#[tokio::test]
async fn conformance_in_a_private_network_namespace() {
    if netns::reexec("conformance_in_a_private_network_namespace") || !daemons_installed() {
        return;
    }
    let tracker = Tracker::start(host()).await;
    let seeder = QbDaemon::start(QbOptions::default()).await;
    let leecher = QbDaemon::start(QbOptions::default()).await;
    assert_ne!(
        seeder.url().host(),
        leecher.url().host(),
        "each daemon has its own address"
    );
    conformance::swarm(&tracker, &seeder, &leecher, Duration::from_secs(60)).await;
}

#[tokio::test]
async fn conformance_auth_and_down() {
    if !daemons_installed() {
        return;
    }
    let mut daemon = QbDaemon::start(QbOptions::default()).await;
    conformance::auth(&daemon).await;
    conformance::down(&mut daemon).await;
}

#[tokio::test]
async fn info_reports_version_and_capabilities() {
    if !daemons_installed() {
        return;
    }
    let daemon = QbDaemon::start(QbOptions::default()).await;
    let info = daemon.client().info().await.unwrap();
    assert_eq!(info.kind, ClientKind::Qbittorrent);
    assert!(info.version.starts_with('v'), "{info:?}");
    assert!(info.api_version.starts_with("2."), "{info:?}");
    assert!(info.skip_check);
}

#[tokio::test]
async fn bypassed_authentication_needs_no_password() {
    if !daemons_installed() {
        return;
    }
    let daemon = QbDaemon::start(QbOptions {
        require_login: false,
        ..QbOptions::default()
    })
    .await;
    let mut config = daemon.config();
    config.password = None;
    let client = upseed_qbittorrent::Qbittorrent::new(config).unwrap();
    assert!(client.info().await.is_ok());
    // Without bypass, no password is an auth error that says so.
    let strict = QbDaemon::start(QbOptions::default()).await;
    let mut config = strict.config();
    config.password = None;
    let client = upseed_qbittorrent::Qbittorrent::new(config).unwrap();
    assert!(matches!(
        client.info().await,
        Err(ClientError::Unauthorized { .. })
    ));
}

#[tokio::test]
async fn batch_add_is_idempotent_and_lists_only_ours() {
    if !daemons_installed() {
        return;
    }
    let tracker = Tracker::start(host()).await;
    let daemon = QbDaemon::start(QbOptions::default()).await;
    let client = daemon.client();
    let records: Vec<_> = (0..50).map(|i| new_post(&format!("batch {i}"))).collect();
    let hashes: Vec<InfoHash> = records.iter().map(|r| r.infohash()).collect();
    tracker.allow(&hashes).await;
    let adds: Vec<AddTorrent> = records
        .iter()
        .map(|r| seedable(&daemon, r, &tracker))
        .collect();
    assert_eq!(client.add(&adds).await.unwrap(), vec![Added::New; 50]);
    assert_eq!(
        client.add(&adds).await.unwrap(),
        vec![Added::AlreadyPresent; 50]
    );

    // A torrent of the user's own, outside our category, is neither listed nor removed.
    let foreign = new_post("not ours");
    std::fs::write(
        daemon.posts_dir().join(foreign.name()),
        foreign.body().unwrap().as_bytes(),
    )
    .unwrap();
    let mut other = upseed_qbittorrent::Config::new(daemon.url().clone(), "tester", None);
    other.password = daemon.config().password;
    other.category = "linux-isos".into();
    let user = upseed_qbittorrent::Qbittorrent::new(other).unwrap();
    let foreign_add = AddTorrent::from_torrent(
        foreign.torrent_bytes::<&str>(&[]),
        daemon.posts_dir().to_string_lossy(),
    )
    .unwrap()
    .with_data_present();
    user.add(&[foreign_add]).await.unwrap();

    let listed = eventually("all 50 to seed", Duration::from_secs(30), || async {
        let list = client.list(None).await.unwrap();
        (list.len() == 50 && list.iter().all(|t| t.state.is_seeding())).then_some(list)
    })
    .await;
    assert!(listed.iter().all(|t| hashes.contains(&t.infohash)));
    assert_eq!(
        client.sync_list().await.unwrap().len(),
        50,
        "maindata sees the same torrents"
    );

    client.remove(&[foreign.infohash()], true).await.unwrap();
    assert_eq!(
        user.list(Some(&[foreign.infohash()])).await.unwrap().len(),
        1,
        "the user's torrent survives"
    );
    assert!(daemon.posts_dir().join(foreign.name()).exists());

    client.remove(&hashes, false).await.unwrap();
    assert!(client.list(None).await.unwrap().is_empty());
    assert!(
        daemon.posts_dir().join(records[0].name()).exists(),
        "removed without data keeps files"
    );
}

#[tokio::test]
async fn tags_are_set_and_removed() {
    if !daemons_installed() {
        return;
    }
    let tracker = Tracker::start(host()).await;
    let daemon = QbDaemon::start(QbOptions::default()).await;
    let client = daemon.client();
    let record = new_post("tags");
    let hash = record.infohash();
    client
        .add(&[seedable(&daemon, &record, &tracker)])
        .await
        .unwrap();
    let tags = vec!["upvoted".to_owned(), "pinned".to_owned()];
    client.add_tags(&[hash], &tags).await.unwrap();
    let mut seen = client.list(Some(&[hash])).await.unwrap()[0].tags.clone();
    seen.sort();
    assert_eq!(seen, vec!["pinned", "upseed-post", "upvoted"]);
    client.remove_tags(&[hash], &tags[..1]).await.unwrap();
    let mut seen = client.list(Some(&[hash])).await.unwrap()[0].tags.clone();
    seen.sort();
    assert_eq!(seen, vec!["pinned", "upseed-post"]);
}

#[tokio::test]
async fn queueing_is_reported_and_force_start_makes_ours_seed() {
    if !daemons_installed() {
        return;
    }
    let tracker = Tracker::start(host()).await;
    let daemon = QbDaemon::start(QbOptions::default()).await;
    let client = daemon.client();
    assert!(!client.queue_report().await.unwrap().may_hold_back(1000));

    // Turn the queue on, with room for one seeding torrent.
    daemon
        .set_preferences(r#"{"queueing_enabled":true,"max_active_uploads":1,"max_active_torrents":1,"max_active_downloads":1}"#)
        .await;
    let report = client.queue_report().await.unwrap();
    assert!(report.queueing && report.may_hold_back(3), "{report:?}");

    let records: Vec<_> = (0..3).map(|i| new_post(&format!("queued {i}"))).collect();
    let hashes: Vec<InfoHash> = records.iter().map(|r| r.infohash()).collect();
    tracker.allow(&hashes).await;
    let adds: Vec<AddTorrent> = records
        .iter()
        .map(|r| seedable(&daemon, r, &tracker))
        .collect();
    client.add(&adds).await.unwrap();
    eventually(
        "some to be held in the queue",
        Duration::from_secs(20),
        || async {
            let list = client.list(None).await.unwrap();
            list.iter()
                .any(|t| t.state == TorrentState::QueuedToSeed)
                .then_some(())
        },
    )
    .await;
    client.force_start(&hashes).await.unwrap();
    for hash in hashes {
        wait_seeding(&client, hash, Duration::from_secs(20)).await;
    }
}

#[tokio::test]
async fn magnet_download_fetches_metadata_from_the_seeder() {
    if !daemons_installed() {
        return;
    }
    let tracker = Tracker::start(host()).await;
    let seeder = QbDaemon::start(QbOptions::default()).await;
    let leecher = QbDaemon::start(QbOptions::default()).await;
    let record = new_post("magnet");
    let hash = record.infohash();
    tracker.allow(&[hash]).await;
    seeder
        .client()
        .add(&[seedable(&seeder, &record, &tracker)])
        .await
        .unwrap();
    wait_seeding(&seeder.client(), hash, Duration::from_secs(30)).await;
    let magnet: Magnet = Magnet::for_record(&record, &[tracker.announce_url()]);
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
    if !daemons_installed() {
        return;
    }
    let daemon = QbDaemon::start(QbOptions::default()).await;
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
        Err(ClientError::Rejected { .. }) => {}
        other => panic!("expected a rejection, got {other:?}"),
    }
}
