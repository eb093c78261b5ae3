//! `show`, `upvote`, `unvote`, `sync` and `doctor` against two real
//! qBittorrents and a real opentracker: reads leave nothing behind, votes
//! seed and unseed, torrents that are not upseed records are refused and
//! remembered, and every failure says what to do.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Output;

use common::{holds, init, text, upseed};
use std::time::Duration;

use sha1::Digest;
use upseed_core::{AddTorrent, InfoHash, TorrentClient};
use upseed_node::store::{Store, Vote};
use upseed_tests::conformance::{Node, wait_seeding};
use upseed_tests::qbittorrent::{QbDaemon, QbOptions};
use upseed_tests::tracker::Tracker;
use upseed_tests::{have, host};

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

fn qb_init(home: &Path, daemon: &QbDaemon, tracker: &Tracker, extra: &[&str]) {
    let url = daemon.url().to_string();
    init(
        home,
        daemon,
        "qbittorrent",
        &url,
        daemon.password(),
        tracker,
        extra,
    );
}

/// A plain single-file torrent of `len` bytes, seeded by `daemon`.
async fn plain_torrent(daemon: &QbDaemon, tracker: &Tracker, len: usize) -> InfoHash {
    let name = format!("plain-{len}.bin");
    let data: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
    std::fs::write(daemon.posts_dir().join(&name), &data).unwrap();
    let mut pieces = Vec::new();
    for chunk in data.chunks(16384) {
        pieces.extend_from_slice(&sha1::Sha1::digest(chunk));
    }
    let mut info = format!(
        "d6:lengthi{len}e4:name{}:{name}12:piece lengthi16384e6:pieces{}:",
        name.len(),
        pieces.len()
    )
    .into_bytes();
    info.extend_from_slice(&pieces);
    info.push(b'e');
    let mut torrent = format!(
        "d8:announce{}:{}4:info",
        tracker.announce_url().len(),
        tracker.announce_url()
    )
    .into_bytes();
    torrent.extend_from_slice(&info);
    torrent.push(b'e');
    let add = AddTorrent::from_torrent(torrent, daemon.posts_dir().to_string_lossy())
        .unwrap()
        .with_data_present();
    let hash = add.infohash;
    tracker.allow(&[hash]).await;
    daemon.client().add(&[add]).await.unwrap();
    wait_seeding(&daemon.client(), hash, Duration::from_secs(20)).await;
    hash
}

#[tokio::test]
async fn show_upvote_unvote_and_refusals() {
    if !have("qbittorrent-nox") || !have("opentracker") {
        return;
    }
    let tracker = Tracker::start(host()).await;
    let alice_qb = QbDaemon::start(QbOptions::default()).await;
    let mut bob_qb = QbDaemon::start(QbOptions::default()).await;
    let (alice, bob) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (alice.path(), bob.path());
    qb_init(a, &alice_qb, &tracker, &[]);
    qb_init(b, &bob_qb, &tracker, &[]);
    let (apw, bpw) = (alice_qb.password().to_owned(), bob_qb.password().to_owned());

    let out = ok(&upseed(
        a,
        &apw,
        &["post", "--json", "read me, keep me, drop me"],
    ));
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let post: InfoHash = json["infohash"].as_str().unwrap().parse().unwrap();
    let name = json["record"]["name"].as_str().unwrap().to_owned();
    tracker.allow(&[post]).await;
    alice_qb.client().announce_now(&[post]).await.unwrap();
    let hex = post.to_string();

    // show: fetched, verified, stored, printed, and not left seeding.
    let shown = ok(&upseed(b, &bpw, &["show", &hex]));
    assert!(shown.contains("read me, keep me, drop me"), "{shown}");
    assert!(
        !holds(&bob_qb, post).await,
        "a read left the torrent behind"
    );
    assert!(
        !bob_qb.downloads_dir().join(&hex).join(&name).exists()
            && !bob_qb.downloads_dir().join(&name).exists(),
        "a read left its file behind"
    );
    // Again by prefix, from the store, as JSON.
    let again = ok(&upseed(b, &bpw, &["show", "--json", &hex[..8]]));
    let again: serde_json::Value = serde_json::from_str(&again).unwrap();
    assert_eq!(again["body"], "read me, keep me, drop me");

    // upvote: seeded from the stored body, tagged, recorded.
    ok(&upseed(b, &bpw, &["upvote", &hex[..10]]));
    let seeding = wait_seeding(&bob_qb.client(), post, Duration::from_secs(20)).await;
    assert!(
        bob_qb.downloads_dir().join(&hex).join(&name).is_file(),
        "an upvote seeds from the post's own folder"
    );
    assert!(
        seeding.tags.iter().any(|t| t == "upseed-vote"),
        "{:?}",
        seeding.tags
    );
    assert_eq!(
        Store::open(&b.join("store.db"))
            .unwrap()
            .vote(post)
            .unwrap(),
        Some(Vote::Upvoted)
    );
    // unvote: out of the client, file deleted, vote forgotten.
    ok(&upseed(b, &bpw, &["unvote", &hex]));
    assert!(!holds(&bob_qb, post).await);
    upseed_tests::eventually("the file to go", Duration::from_secs(10), || async {
        (!bob_qb.downloads_dir().join(&hex).join(&name).exists()).then_some(())
    })
    .await;
    assert_eq!(
        Store::open(&b.join("store.db"))
            .unwrap()
            .vote(post)
            .unwrap(),
        None
    );

    // Unvoting your own post needs --force, and keeps your file.
    let refused = upseed(a, &apw, &["unvote", &hex]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("--force"),
        "{}",
        text(&refused.stderr)
    );
    assert!(holds(&alice_qb, post).await);
    ok(&upseed(a, &apw, &["unvote", "--force", &hex]));
    assert!(!holds(&alice_qb, post).await);
    assert!(
        alice_qb.posts_dir().join(&name).exists(),
        "the author's file is kept"
    );

    // Nobody seeds it: a clear timeout, and nothing left in the client.
    let nobody = upseed_tests::conformance::new_post("unseeded").infohash();
    let out = upseed(b, &bpw, &["show", "--timeout", "3", &nobody.to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("did not arrive within 3 s"),
        "{}",
        text(&out.stderr)
    );
    assert!(!holds(&bob_qb, nobody).await);
    let out = upseed(b, &bpw, &["show", "abcdef12"]);
    assert!(
        text(&out.stderr).contains("no post or comment in your store starts with"),
        "{}",
        text(&out.stderr)
    );

    // Torrents that are not upseed records: exit 65, removed, remembered.
    let big = plain_torrent(&alice_qb, &tracker, 200_000).await;
    let small = plain_torrent(&alice_qb, &tracker, 300).await;
    for (hash, words) in [
        (big, "more than any post"),
        (small, "not a valid upseed post"),
    ] {
        let out = upseed(b, &bpw, &["show", "--timeout", "60", &hash.to_string()]);
        assert_eq!(out.status.code(), Some(65), "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains(words), "{}", text(&out.stderr));
        assert!(!holds(&bob_qb, hash).await);
    }
    // sync counts known posts from the tracker and does not fetch the
    // foreign torrents again.
    let report = ok(&upseed(b, &bpw, &["sync", "--json"]));
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["discovered"], 0, "{report}");
    assert_eq!(report["trackers"][0]["full_scrape"], true, "{report}");
    assert!(report["trackers"][0]["error"].is_null(), "{report}");

    // doctor: all good for bob; a wrong path mapping is caught with the fix.
    let out = ok(&upseed(b, &bpw, &["doctor"]));
    assert!(!out.contains("FAIL"), "{out}");
    let carol = tempfile::tempdir().unwrap();
    let local = bob_qb.posts_dir();
    qb_init(
        carol.path(),
        &bob_qb,
        &tracker,
        &[
            "--path-local",
            &local.parent().unwrap().to_string_lossy(),
            "--path-remote",
            "/nonexistent/upseed",
        ],
    );
    let out = upseed(carol.path(), &bpw, &["doctor", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let checks: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(checks["failed"], 1, "{checks}");
    let visibility = checks["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "client sees the posts folder")
        .expect("the visibility check");
    assert_eq!(visibility["outcome"], "fail");
    assert!(
        visibility["detail"].as_str().unwrap().contains("[paths]"),
        "{visibility}"
    );

    // With the client down: sync exits 69 and doctor names the client.
    bob_qb.stop();
    let out = upseed(b, &bpw, &["sync"]);
    assert_eq!(out.status.code(), Some(69), "{}", text(&out.stderr));
    let out = upseed(b, &bpw, &["doctor"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("FAIL  client: cannot reach qBittorrent"),
        "{}",
        text(&out.stdout)
    );
}
