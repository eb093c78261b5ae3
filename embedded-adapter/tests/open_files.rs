//! A user's soft limit on open files (often 1,024) must not cap how many
//! posts the engine seeds: librqbit keeps each torrent's file open. This
//! test lowers the limit for its own process, so it runs alone in its own
//! binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use rlimit::Resource;
use upseed_core::{AddTorrent, InfoHash, PostDraft, Record, SecretKey, TorrentClient};
use upseed_embedded::{Embedded, EngineConfig};

#[tokio::test(flavor = "multi_thread")]
async fn more_posts_than_the_soft_open_file_limit_all_seed() {
    let dir = tempfile::tempdir().unwrap();
    let posts_dir = dir.path().join("posts");
    std::fs::create_dir_all(&posts_dir).unwrap();
    let posts: Vec<Record> = (0..300)
        .map(|i| {
            PostDraft::new(&format!("post {i} of more than the limit allows open"))
                .unwrap()
                .sign(&SecretKey::from_seed(&[3; 32]), 1_700_000_000_000)
                .unwrap()
        })
        .collect();
    let adds: Vec<AddTorrent> = posts
        .iter()
        .map(|r| {
            std::fs::write(posts_dir.join(r.name()), r.body().unwrap().as_bytes()).unwrap();
            AddTorrent::from_torrent(r.torrent_bytes::<&str>(&[]), posts_dir.to_str().unwrap())
                .unwrap()
                .with_data_present()
        })
        .collect();

    let (_, hard) = rlimit::getrlimit(Resource::NOFILE).unwrap();
    assert!(
        hard >= 1024,
        "the hard limit ({hard}) leaves no room to test"
    );
    rlimit::setrlimit(Resource::NOFILE, 128, hard).unwrap();
    let engine = Embedded::start(EngineConfig::new(dir.path().join("engine")))
        .await
        .unwrap();
    let (soft, _) = rlimit::getrlimit(Resource::NOFILE).unwrap();
    assert_eq!(
        soft, hard,
        "the engine raises the soft limit to the hard one"
    );

    engine.add(&adds).await.unwrap();
    let hashes: Vec<InfoHash> = posts.iter().map(Record::infohash).collect();
    let started = Instant::now();
    loop {
        let listed = engine.list(Some(&hashes)).await.unwrap();
        let failed: Vec<_> = listed.iter().filter(|s| !s.state.is_seeding()).collect();
        if listed.len() == hashes.len() && failed.is_empty() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{} of 300 are not seeding, e.g. {:?}",
            failed.len(),
            failed.first().map(|s| &s.state)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    engine.stop().await;
}
