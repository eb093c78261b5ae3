//! The engine on loopback: seeding from bytes, fetching by magnet over a
//! test DHT with no tracker, resuming after a restart, the gate, the
//! local socket, and the errors a bad start gives.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use upseed_core::{
    AddTorrent, Added, ClientError, InfoHash, Magnet, Metainfo, PostDraft, Record, SecretKey,
    TorrentClient, TorrentState, TorrentStatus,
};
use upseed_embedded::{DhtConfig, Embedded, EngineConfig, EngineError, Remote};

fn post(text: &str) -> Record {
    PostDraft::new(text)
        .unwrap()
        .sign(&SecretKey::from_seed(&[7; 32]), 1_700_000_000_000)
        .unwrap()
}

/// Writes the body where the torrent expects it, and returns the add.
fn seedable(record: &Record, dir: &Path) -> AddTorrent {
    std::fs::create_dir_all(dir).unwrap();
    let body = record.body().unwrap().as_bytes();
    std::fs::write(dir.join(record.name()), body).unwrap();
    AddTorrent::from_torrent(record.torrent_bytes::<&str>(&[]), dir.to_str().unwrap())
        .unwrap()
        .with_data_present()
        .with_tags(["upseed-own"])
}

fn config(dir: &Path, bootstrap: &[String]) -> EngineConfig {
    let mut config = EngineConfig::new(dir.join("engine"));
    if !bootstrap.is_empty() {
        config.dht = Some(DhtConfig {
            port: 0,
            bootstrap: bootstrap.to_vec(),
        });
    }
    config
}

async fn wait_for(
    client: &impl TorrentClient,
    hash: InfoHash,
    within: Duration,
    done: impl Fn(&TorrentStatus) -> bool,
) -> TorrentStatus {
    let started = Instant::now();
    loop {
        let listed = client.list(Some(&[hash])).await.unwrap();
        if let Some(status) = listed.into_iter().next() {
            if done(&status) {
                return status;
            }
            if started.elapsed() > within {
                panic!("{hash} is still {:?} after {within:?}", status.state);
            }
        } else if started.elapsed() > within {
            panic!("{hash} is not listed after {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn downloads(dir: &Path) -> PathBuf {
    let path = dir.join("downloads");
    std::fs::create_dir_all(&path).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn a_post_seeded_from_bytes_is_fetched_by_magnet_over_the_dht_alone() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
    let testnet = mainline::Testnet::builder(5).build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("alice"), dir.path().join("bob"));
    let alice = Embedded::start(config(&a, &testnet.bootstrap))
        .await
        .unwrap();
    let record = post("seeded by the engine, found through the DHT");
    let add = seedable(&record, &a.join("posts"));
    let started = Instant::now();
    assert_eq!(
        alice.add(std::slice::from_ref(&add)).await.unwrap(),
        [Added::New]
    );
    let seeding = wait_for(&alice, record.infohash(), Duration::from_secs(10), |s| {
        s.state.is_seeding()
    })
    .await;
    eprintln!("post -> seeding in {:?}", started.elapsed());
    assert_eq!(seeding.tags, ["upseed-own"]);
    assert_eq!(seeding.size, Some(record.length()));
    assert_eq!(
        Path::new(&seeding.content_path),
        a.join("posts").join(record.name())
    );
    assert_eq!(
        alice.add(&[add]).await.unwrap(),
        [Added::AlreadyPresent],
        "adding again is idempotent"
    );

    let bob = Embedded::start(config(&b, &testnet.bootstrap))
        .await
        .unwrap();
    let magnet = Magnet::for_record::<&str>(&record, &[]);
    let fetch =
        AddTorrent::from_magnet(magnet, downloads(&b).to_str().unwrap()).with_tags(["upseed-read"]);
    let started = Instant::now();
    bob.add(&[fetch]).await.unwrap();
    let done = wait_for(&bob, record.infohash(), Duration::from_secs(60), |s| {
        s.state.is_seeding()
    })
    .await;
    eprintln!("magnet -> complete over the DHT in {:?}", started.elapsed());
    assert_eq!(done.tags, ["upseed-read"]);
    assert_eq!(
        std::fs::read(&done.content_path).unwrap(),
        record.body().unwrap().as_bytes()
    );
    let Some(Metainfo::Bytes(metainfo)) = bob.metainfo(record.infohash()).await.unwrap() else {
        panic!("no metainfo from the engine");
    };
    assert_eq!(
        upseed_core::Torrent::parse(&metainfo, u64::MAX / 2)
            .unwrap()
            .record
            .infohash(),
        record.infohash()
    );

    bob.remove(&[record.infohash()], true).await.unwrap();
    assert!(bob.list(None).await.unwrap().is_empty());
    assert!(!Path::new(&done.content_path).exists(), "data removed");
    assert!(a.join("posts").join(record.name()).exists());
    alice.stop().await;
    bob.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_resumes_seeding_with_tags_and_no_fetch() {
    let dir = tempfile::tempdir().unwrap();
    let record = post("still here after a restart");
    {
        let engine = Embedded::start(config(dir.path(), &[])).await.unwrap();
        engine
            .add(&[seedable(&record, &dir.path().join("posts"))])
            .await
            .unwrap();
        wait_for(&engine, record.infohash(), Duration::from_secs(10), |s| {
            s.state.is_seeding()
        })
        .await;
        engine
            .add_tags(&[record.infohash()], &["upseed-vote".into()])
            .await
            .unwrap();
        engine.stop().await;
    }
    let engine = Embedded::start(config(dir.path(), &[])).await.unwrap();
    let status = wait_for(&engine, record.infohash(), Duration::from_secs(10), |s| {
        s.state.is_seeding()
    })
    .await;
    assert_eq!(status.tags, ["upseed-own", "upseed-vote"]);
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gate_refuses_a_torrent_before_any_data_is_written() {
    let testnet = mainline::Testnet::builder(5).build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("alice"), dir.path().join("bob"));
    let alice = Embedded::start(config(&a, &testnet.bootstrap))
        .await
        .unwrap();
    let record = post("a torrent the reader's gate refuses");
    alice
        .add(&[seedable(&record, &a.join("posts"))])
        .await
        .unwrap();
    let mut gated = config(&b, &testnet.bootstrap);
    gated.gate = Some(std::sync::Arc::new(|bytes: &[u8]| {
        Err(format!("{} bytes of metainfo: not wanted", bytes.len()))
    }));
    let bob = Embedded::start(gated).await.unwrap();
    let into = downloads(&b);
    bob.add(&[AddTorrent::from_magnet(
        Magnet::for_record::<&str>(&record, &[]),
        into.to_str().unwrap(),
    )])
    .await
    .unwrap();
    let refused = wait_for(&bob, record.infohash(), Duration::from_secs(60), |s| {
        matches!(s.state, TorrentState::Error(_))
    })
    .await;
    assert!(
        matches!(&refused.state, TorrentState::Error(e) if e.contains("not wanted")),
        "{:?}",
        refused.state
    );
    assert_eq!(
        std::fs::read_dir(&into).unwrap().count(),
        0,
        "nothing written"
    );
    assert_eq!(bob.metainfo(record.infohash()).await.unwrap(), None);
    bob.remove(&[record.infohash()], true).await.unwrap();
    assert!(bob.list(None).await.unwrap().is_empty());
    alice.stop().await;
    bob.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn one_process_holds_the_engine_and_others_reach_it_by_its_socket() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &[]);
    let remote = Remote::new(config.socket());
    let error = remote.list(None).await.unwrap_err();
    assert!(matches!(error, ClientError::NotRunning { .. }), "{error}");
    assert!(error.to_string().contains("upseed daemon"), "{error}");

    let engine = Embedded::start(config.clone()).await.unwrap();
    let second = Embedded::start(config.clone()).await.unwrap_err();
    assert!(matches!(second, EngineError::Held { .. }), "{second}");
    let serving = upseed_embedded::serve(engine.clone()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(config.socket())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    let record = post("posted through the socket");
    let added = remote
        .add(&[seedable(&record, &dir.path().join("posts"))])
        .await
        .unwrap();
    assert_eq!(added, [Added::New]);
    let status = wait_for(&remote, record.infohash(), Duration::from_secs(10), |s| {
        s.state.is_seeding()
    })
    .await;
    assert_eq!(status.tags, ["upseed-own"]);
    assert_eq!(
        remote.metainfo(record.infohash()).await.unwrap(),
        engine.metainfo(record.infohash()).await.unwrap()
    );
    let bad = remote
        .add(&[AddTorrent::from_torrent(record.torrent_bytes::<&str>(&[]), "relative").unwrap()])
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("not absolute"), "{bad}");
    assert!(remote.requests_sent() >= 4);

    drop(serving);
    let error = remote.list(None).await.unwrap_err();
    assert!(matches!(error, ClientError::NotRunning { .. }), "{error}");
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_taken_port_and_an_unusable_folder_say_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut on_taken = config(dir.path(), &[]);
    on_taken.listen = taken.local_addr().unwrap();
    let error = Embedded::start(on_taken).await.unwrap_err();
    assert!(matches!(error, EngineError::PortInUse { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains(&taken.local_addr().unwrap().port().to_string()),
        "{error}"
    );

    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a folder").unwrap();
    let error = Embedded::start(EngineConfig::new(file.join("engine")))
        .await
        .unwrap_err();
    assert!(matches!(error, EngineError::StateDir { .. }), "{error}");
    assert!(error.to_string().contains("writable"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_of_adds_all_seed_each_with_its_own_torrent() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Embedded::start(config(dir.path(), &[])).await.unwrap();
    let posts: Vec<Record> = (0..300).map(|i| post(&format!("batch post {i}"))).collect();
    let adds: Vec<AddTorrent> = posts
        .iter()
        .map(|r| seedable(r, &dir.path().join("posts")))
        .collect();
    let started = Instant::now();
    let added = engine.add(&adds).await.unwrap();
    eprintln!("300 adds took {:?}", started.elapsed());
    assert!(added.iter().all(|a| *a == Added::New), "{added:?}");
    let hashes: Vec<InfoHash> = posts.iter().map(Record::infohash).collect();
    loop {
        let listed = engine.list(Some(&hashes)).await.unwrap();
        assert_eq!(listed.len(), posts.len(), "every add is its own torrent");
        if listed.iter().all(|s| s.state.is_seeding()) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "not all seeding"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!("300 seeding after {:?}", started.elapsed());
    engine.stop().await;
}

/// A BitTorrent handshake for `hash` from peer `-XX0100-…`.
fn handshake(hash: [u8; 20]) -> Vec<u8> {
    let mut bytes = vec![19u8];
    bytes.extend_from_slice(b"BitTorrent protocol");
    bytes.extend_from_slice(&[0, 0, 0, 0, 0, 0x10, 0, 0]);
    bytes.extend_from_slice(&hash);
    bytes.extend_from_slice(b"-XX0100-abcdefghijkl");
    bytes
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_handshakes_do_not_hold_up_the_next_peer() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let engine = Embedded::start(config(dir.path(), &[])).await.unwrap();
    let record = post("answered whatever came before");
    engine
        .add(&[seedable(&record, &dir.path().join("posts"))])
        .await
        .unwrap();
    wait_for(&engine, record.infohash(), Duration::from_secs(10), |s| {
        s.state.is_seeding()
    })
    .await;
    let at = ("127.0.0.1", engine.listen_addr().unwrap().port());
    // Hundreds of peers at once ask for torrents the engine does not have
    // (as a tracker listing the engine to itself makes it do, or as a
    // hostile peer does); each is turned away.
    let mut knocks = Vec::new();
    for i in 0..300u16 {
        knocks.push(async move {
            let mut unknown = [0xee; 20];
            unknown[..2].copy_from_slice(&i.to_be_bytes());
            let mut peer = tokio::net::TcpStream::connect(at).await.unwrap();
            peer.write_all(&handshake(unknown)).await.unwrap();
            peer
        });
    }
    let knocked = futures_util::future::join_all(knocks).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The next peer, for a torrent it has, is answered at once.
    let mut peer = tokio::net::TcpStream::connect(at).await.unwrap();
    peer.write_all(&handshake(*record.infohash().as_bytes()))
        .await
        .unwrap();
    let mut answer = [0u8; 68];
    let answered = tokio::time::timeout(Duration::from_secs(5), peer.read_exact(&mut answer)).await;
    assert!(
        matches!(answered, Ok(Ok(_))),
        "a peer after failed handshakes got no answer: {answered:?}"
    );
    assert_eq!(&answer[28..48], record.infohash().as_bytes());
    drop(knocked);
    engine.stop().await;
}
