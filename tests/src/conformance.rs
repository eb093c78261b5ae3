//! The conformance suite: one test body that every adapter must pass
//! against its real daemon, alone and in swarms with other clients.

use std::path::PathBuf;
use std::time::Duration;

use upseed_core::{
    AddTorrent, Added, ClientError, InfoHash, Magnet, Metainfo, PostDraft, Record, SecretKey,
    Torrent, TorrentClient, TorrentStatus,
};

use crate::eventually;
use crate::process::Instance;
use crate::tracker::Tracker;

/// A client under test, seen through its adapter.
pub trait Node {
    /// The adapter type.
    type Client: TorrentClient;
    /// An adapter with the right credentials.
    fn client(&self) -> Self::Client;
    /// Folder where posts are written for this client to seed.
    fn posts_dir(&self) -> PathBuf;
    /// Folder where this client saves downloads.
    fn downloads_dir(&self) -> PathBuf;
    /// Stops the client.
    fn stop(&mut self);
    /// The client's recent output, for failure messages.
    fn log_tail(&self) -> String;
}

/// A client that runs as a daemon of its own, behind a login.
pub trait DaemonNode: Node {
    /// An adapter that sends a wrong password.
    fn client_with_password(&self, password: &str) -> Self::Client;
    /// The daemon and its folders.
    fn instance(&self) -> &Instance;
    /// The daemon and its folders, to stop it.
    fn instance_mut(&mut self) -> &mut Instance;
}

/// Both daemons expose the same inherent methods; the traits forward to them.
macro_rules! node {
    ($daemon:ty, $client:ty) => {
        impl Node for $daemon {
            type Client = $client;
            fn client(&self) -> Self::Client {
                Self::client(self)
            }
            fn posts_dir(&self) -> PathBuf {
                Self::instance(self).posts_dir()
            }
            fn downloads_dir(&self) -> PathBuf {
                Self::instance(self).downloads_dir()
            }
            fn stop(&mut self) {
                Self::instance_mut(self).stop();
            }
            fn log_tail(&self) -> String {
                Self::instance(self).log_tail()
            }
        }
        impl DaemonNode for $daemon {
            fn client_with_password(&self, password: &str) -> Self::Client {
                Self::client_with_password(self, password)
            }
            fn instance(&self) -> &Instance {
                Self::instance(self)
            }
            fn instance_mut(&mut self) -> &mut Instance {
                Self::instance_mut(self)
            }
        }
    };
}

node!(
    crate::qbittorrent::QbDaemon,
    upseed_qbittorrent::Qbittorrent
);
node!(
    crate::transmission::TrDaemon,
    upseed_transmission::Transmission
);

/// A fresh signed post with unique text.
pub fn new_post(text: &str) -> Record {
    let key = SecretKey::generate().expect("key");
    let body = format!("{text} ({})", crate::random_hex(6));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    PostDraft::new(&body)
        .expect("post")
        .sign(&key, now)
        .expect("sign")
}

/// Writes the post's body where `node` seeds from, and returns the add request.
pub fn seedable<N: Node>(node: &N, record: &Record, tracker: &Tracker) -> AddTorrent {
    let dir = node.posts_dir();
    let body = record.body().expect("a signed record has its body");
    std::fs::write(dir.join(record.name()), body.as_bytes()).expect("write the post body");
    AddTorrent::from_torrent(
        record.torrent_bytes(&[tracker.announce_url()]),
        dir.to_string_lossy(),
    )
    .expect("own torrent")
    .with_tags(["upseed-post"])
    .with_data_present()
}

async fn status<C: TorrentClient>(client: &C, hash: InfoHash) -> Option<TorrentStatus> {
    client
        .list(Some(&[hash]))
        .await
        .expect("list")
        .into_iter()
        .next()
}

/// Waits until `client` seeds `hash`.
pub async fn wait_seeding<C: TorrentClient>(
    client: &C,
    hash: InfoHash,
    limit: Duration,
) -> TorrentStatus {
    eventually("the torrent to seed", limit, || async {
        status(client, hash)
            .await
            .filter(|s| s.state.is_seeding() && s.progress >= 1.0)
    })
    .await
}

/// A post seeded by `seeder` is downloaded by `leecher` through the tracker;
/// both report it complete and seeding, the swarm counts reach 2 seeders,
/// and removing it with its data deletes the files.
pub async fn swarm<S: Node, L: Node>(
    tracker: &Tracker,
    seeder: &S,
    leecher: &L,
    transfer_limit: Duration,
) {
    exchange(tracker, seeder, leecher, transfer_limit, true).await;
}

/// [`swarm`] for a pair neither of which reports swarm counts soon (the
/// embedded engine keeps none; Transmission scrapes now and then): the
/// tracker's own scrape must count both as seeders instead.
pub async fn transfer<S: Node, L: Node>(
    tracker: &Tracker,
    seeder: &S,
    leecher: &L,
    transfer_limit: Duration,
) {
    exchange(tracker, seeder, leecher, transfer_limit, false).await;
}

async fn exchange<S: Node, L: Node>(
    tracker: &Tracker,
    seeder: &S,
    leecher: &L,
    transfer_limit: Duration,
    counts: bool,
) {
    let record = new_post("conformance");
    let hash = record.infohash();
    tracker.allow(&[hash]).await;

    let seeding = seeder.client();
    let add = seedable(seeder, &record, tracker);
    assert_eq!(
        seeding
            .add(std::slice::from_ref(&add))
            .await
            .expect("add to seeder"),
        vec![Added::New]
    );
    let seeded = wait_seeding(&seeding, hash, Duration::from_secs(30)).await;
    assert!(
        seeded.tags.iter().any(|t| t == "upseed-post"),
        "{:?}",
        seeded.tags
    );
    // Adding again is a success, not an error.
    assert_eq!(
        seeding.add(&[add]).await.expect("re-add"),
        vec![Added::AlreadyPresent]
    );

    let leeching = leecher.client();
    let download = AddTorrent::from_magnet(
        Magnet::for_record(&record, &[tracker.announce_url()]),
        leecher.downloads_dir().to_string_lossy(),
    );
    assert_eq!(
        leeching.add(&[download]).await.expect("add to leecher"),
        vec![Added::New]
    );
    let done = tokio::time::timeout(
        transfer_limit,
        wait_seeding(&leeching, hash, transfer_limit),
    )
    .await;
    assert!(
        done.is_ok(),
        "the leecher did not complete within {transfer_limit:?}\n{}\n{}",
        seeder.log_tail(),
        leecher.log_tail()
    );
    // The metadata came from the seeder, byte for byte.
    let metainfo = match leeching.metainfo(hash).await.expect("metainfo") {
        Some(Metainfo::Bytes(bytes)) => bytes,
        Some(Metainfo::File(path)) => std::fs::read(&path).expect("the client's .torrent file"),
        None => panic!("no metainfo for a complete torrent"),
    };
    let fetched = Torrent::parse(&metainfo, u64::MAX / 2).expect("the fetched metainfo verifies");
    assert_eq!(fetched.record.info_bytes(), record.info_bytes());
    let listed = status(&leeching, hash).await.expect("listed");
    assert_eq!(listed.size, Some(record.length()));
    assert_eq!(
        leeching
            .metainfo(new_post("never added").infohash())
            .await
            .expect("metainfo"),
        None,
        "a torrent the client does not have has no metainfo"
    );
    let body = std::fs::read(leecher.downloads_dir().join(record.name())).expect("downloaded body");
    let verified = Record::from_info(record.info_bytes(), u64::MAX / 2)
        .and_then(|r| r.with_body(&body))
        .expect("the downloaded body verifies");
    assert_eq!(verified, record);

    if !counts {
        eventually(
            "the tracker to count 2 seeders",
            Duration::from_secs(30),
            || async { (tracker.seeders(hash).await >= 2).then_some(()) },
        )
        .await;
    } else {
        eventually(
            "the swarm to count 2 seeders",
            Duration::from_secs(60),
            || async {
                let a = status(&seeding, hash)
                    .await
                    .and_then(|s| s.seeders)
                    .unwrap_or(0);
                let b = status(&leeching, hash)
                    .await
                    .and_then(|s| s.seeders)
                    .unwrap_or(0);
                (a.max(b) >= 2).then_some(())
            },
        )
        .await;
    }

    assert!(seeder.posts_dir().join(record.name()).exists());
    assert!(leecher.downloads_dir().join(record.name()).exists());
    seeding
        .remove(&[hash], true)
        .await
        .expect("remove from seeder");
    leeching
        .remove(&[hash], true)
        .await
        .expect("remove from leecher");
    for (client_has, path) in [
        (
            status(&seeding, hash).await,
            seeder.posts_dir().join(record.name()),
        ),
        (
            status(&leeching, hash).await,
            leecher.downloads_dir().join(record.name()),
        ),
    ] {
        assert!(client_has.is_none(), "still listed after removal");
        eventually(
            "the data to be deleted",
            Duration::from_secs(10),
            || async { (!path.exists()).then_some(()) },
        )
        .await;
    }
}

/// A wrong password is an auth error, is never retried, and does not get
/// the IP banned: the right password still works afterwards.
pub async fn auth<N: DaemonNode>(node: &N) {
    let wrong = node.client_with_password("wrong-password");
    for _ in 0..8 {
        match wrong.info().await {
            Err(ClientError::Unauthorized { .. }) => {}
            other => panic!("expected an auth error, got {other:?}"),
        }
    }
    node.client()
        .info()
        .await
        .expect("the right password still works: no ban");
}

/// With the daemon down, the error says it is unreachable.
pub async fn down<N: DaemonNode>(node: &mut N) {
    let client = node.client();
    node.stop();
    match client.info().await {
        Err(error @ ClientError::Unreachable { .. }) => {
            let text = error.to_string();
            assert!(text.contains("cannot reach"), "{text}");
        }
        other => panic!("expected unreachable, got {other:?}"),
    }
}
