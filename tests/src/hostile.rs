//! Hostile swarms against real clients: a forged torrent that reuses the
//! file name of a post people seed must not cost them their copy.

use std::path::Path;
use std::time::Duration;

use upseed_core::{AddTorrent, InfoHash, Metainfo, TorrentClient};

use crate::conformance::{Node, wait_seeding};
use crate::qbittorrent::{QbDaemon, QbOptions};
use crate::story::new_user;
use crate::tracker::Tracker;
use crate::transmission::TrDaemon;

/// `torrent` with its header's `created` one second later: the same file
/// name, length and pieces, another infohash, and a signature that no
/// longer verifies.
pub fn forge(torrent: &[u8]) -> Vec<u8> {
    let key = b"7:createdi";
    let at = torrent
        .windows(key.len())
        .position(|w| w == key)
        .expect("a signed header")
        + key.len();
    let end = at
        + torrent[at..]
            .iter()
            .position(|&b| b == b'e')
            .expect("an integer");
    let created: u64 = std::str::from_utf8(&torrent[at..end])
        .expect("digits")
        .parse()
        .expect("a number");
    let mut forged = torrent[..at].to_vec();
    forged.extend_from_slice((created + 1).to_string().as_bytes());
    forged.extend_from_slice(&torrent[end..]);
    forged
}

/// alice (qBittorrent) posts P; bob (Transmission) and carol
/// (qBittorrent) upvote it. alice's client, as a plain client, also seeds
/// a forgery of P with P's file name. bob's `show` of the forgery and
/// carol's `sync`, which discovers it through the tracker, refuse it;
/// both keep seeding P, and their files of P are untouched.
pub async fn forged_name(upseed: &Path) {
    let tracker = Tracker::start(crate::host()).await;
    let alice_qb = QbDaemon::start(QbOptions::default()).await;
    let carol_qb = QbDaemon::start(QbOptions::default()).await;
    let bob_tr = TrDaemon::start(crate::host()).await;
    let alice = new_user("alice", &alice_qb, alice_qb.password(), upseed, false);
    alice.init("qbittorrent", alice_qb.url().as_str(), &tracker);
    let bob = new_user("bob", &bob_tr, bob_tr.password(), upseed, false);
    bob.init("transmission", bob_tr.url().as_str(), &tracker);
    let carol = new_user("carol", &carol_qb, carol_qb.password(), upseed, false);
    carol.init("qbittorrent", carol_qb.url().as_str(), &tracker);

    let post = alice
        .publish(&["post", "a post worth keeping"], &tracker)
        .await;
    let hex = post.to_string();
    bob.run(&["upvote", &hex]);
    carol.run(&["upvote", &hex]);
    wait_seeding(&bob_tr.client(), post, Duration::from_secs(60)).await;
    wait_seeding(&carol_qb.client(), post, Duration::from_secs(60)).await;
    let bob_file = content_path(&bob_tr.client(), post).await;
    let carol_file = content_path(&carol_qb.client(), post).await;

    // The forgery, seeded by alice's client from the same file.
    let Some(Metainfo::Bytes(torrent)) = alice_qb.client().metainfo(post).await.expect("metainfo")
    else {
        panic!("qBittorrent returns metainfo bytes");
    };
    let forged = forge(&torrent);
    let add = AddTorrent::from_torrent(forged, alice_qb.posts_dir().to_string_lossy())
        .expect("a torrent")
        .with_data_present();
    let fake: InfoHash = add.infohash;
    alice_qb
        .client()
        .add(&[add])
        .await
        .expect("add the forgery");
    wait_seeding(&alice_qb.client(), fake, Duration::from_secs(30)).await;
    tracker.allow(&[fake]).await;
    alice_qb
        .client()
        .announce_now(&[fake])
        .await
        .expect("announce");

    let refused = bob
        .try_run(&["show", "--timeout", "60", &fake.to_string()])
        .expect_err("the forgery is refused");
    assert!(refused.contains("exit status: 65"), "{refused}");
    let synced = carol.json(&["sync"]);
    assert!(
        synced["foreign"].as_u64().unwrap_or(0) >= 1,
        "carol's sync refuses the forgery: {synced}"
    );

    for (who, file, held) in [
        ("bob", &bob_file, bob.holds(post).await),
        ("carol", &carol_file, carol.holds(post).await),
    ] {
        assert!(held, "{who}'s client no longer holds the post");
        assert_eq!(
            std::fs::read_to_string(file).unwrap_or_default(),
            "a post worth keeping",
            "{who}'s copy of the post at {} was deleted",
            file.display()
        );
    }
    assert!(!bob.holds(fake).await && !carol.holds(fake).await);
    wait_seeding(&bob_tr.client(), post, Duration::from_secs(30)).await;
    wait_seeding(&carol_qb.client(), post, Duration::from_secs(30)).await;
}

/// Where `client` keeps the file of `hash`.
async fn content_path<C: TorrentClient>(client: &C, hash: InfoHash) -> std::path::PathBuf {
    let listed = client.list(Some(&[hash])).await.expect("list");
    let status = listed.first().expect("the client holds it");
    assert!(
        Path::new(&status.content_path).is_file(),
        "{}",
        status.content_path
    );
    status.content_path.clone().into()
}

/// bob (Transmission) reads alice's posts and upvotes each at once: every
/// upvote counts at the tracker, and keeps counting. Transmission sends
/// the read's `stopped` announce after the upvote's `started` unless the
/// upvote waits for the removal to settle.
pub async fn upvote_right_after_read(upseed: &Path) {
    let tracker = Tracker::start(crate::host()).await;
    let alice_qb = QbDaemon::start(QbOptions::default()).await;
    let bob_tr = TrDaemon::start(crate::host()).await;
    let alice = new_user("alice", &alice_qb, alice_qb.password(), upseed, false);
    alice.init("qbittorrent", alice_qb.url().as_str(), &tracker);
    let bob = new_user("bob", &bob_tr, bob_tr.password(), upseed, false);
    bob.init("transmission", bob_tr.url().as_str(), &tracker);

    for n in 0..3 {
        let post = alice
            .publish(
                &["post", &format!("read, then upvoted at once ({n})")],
                &tracker,
            )
            .await;
        let hex = post.to_string();
        bob.run(&["show", &hex]);
        bob.run(&["upvote", &hex]);
        wait_seeding(&bob_tr.client(), post, Duration::from_secs(30)).await;
        let seeders = || {
            alice.run(&["sync"]);
            alice.json(&["thread", &hex])["post"]["seeders"]
                .as_u64()
                .unwrap_or(0)
        };
        let start = std::time::Instant::now();
        while seeders() < 2 {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "post {n}: bob's upvote never reached the tracker"
            );
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        // A late `stopped` would take bob off the tracker again.
        tokio::time::sleep(Duration::from_secs(6)).await;
        assert_eq!(seeders(), 2, "post {n}: bob's upvote stopped counting");
    }
}
