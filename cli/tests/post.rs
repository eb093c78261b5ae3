//! `upseed init` and `upseed post` against real clients: the post ends up
//! seeding in the user's own qBittorrent or Transmission, and failures map
//! to the documented exit codes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::{init, text, upseed};
use std::time::Duration;

use upseed_core::{InfoHash, TorrentClient};
use upseed_node::store::{Store, Vote};
use upseed_tests::conformance::{Node, wait_seeding};
use upseed_tests::qbittorrent::{QbDaemon, QbOptions};
use upseed_tests::tracker::Tracker;
use upseed_tests::transmission::TrDaemon;
use upseed_tests::{have, host};

async fn post_and_check<N: Node>(home: &Path, node: &N, password: &str) -> InfoHash {
    let out = upseed(
        home,
        password,
        &[
            "post",
            "--title",
            "hello",
            "--community",
            "Rust",
            "--json",
            "first post\r\nover BitTorrent",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hash: InfoHash = json["infohash"].as_str().unwrap().parse().unwrap();
    assert!(
        json["magnet"]
            .as_str()
            .unwrap()
            .starts_with(&format!("magnet:?xt=urn:btih:{hash}"))
    );
    assert_eq!(json["record"]["community"], "rust");
    assert_eq!(json["record"]["body"], "first post\nover BitTorrent");

    let seeding = wait_seeding(&node.client(), hash, Duration::from_secs(20)).await;
    assert!(seeding.tags.iter().any(|t| t == "upseed-post"));
    let name = json["record"]["name"].as_str().unwrap();
    assert_eq!(
        std::fs::read(node.posts_dir().join(name)).unwrap(),
        b"first post\nover BitTorrent"
    );

    let store = Store::open(&home.join("store.db")).unwrap();
    let stored = store.record(hash).unwrap().expect("the post is stored");
    assert_eq!(
        stored.body().unwrap().as_str(),
        "first post\nover BitTorrent"
    );
    assert_eq!(store.vote(hash).unwrap(), Some(Vote::Authored));
    hash
}

#[tokio::test]
async fn post_seeds_on_qbittorrent() {
    if !have("qbittorrent-nox") || !have("opentracker") {
        return;
    }
    let tracker = Tracker::start(host()).await;
    let daemon = QbDaemon::start(QbOptions::default()).await;
    let home = tempfile::tempdir().unwrap();
    init(
        home.path(),
        &daemon,
        "qbittorrent",
        daemon.url().as_str(),
        daemon.password(),
        &tracker,
        &[],
    );
    post_and_check(home.path(), &daemon, daemon.password()).await;

    // A wrong password is exit 77; the daemon still takes the right one.
    let out = upseed(home.path(), "wrong", &["post", "denied"]);
    assert_eq!(out.status.code(), Some(77), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr)
            .contains("refused user `tester` with the password from UPSEED_CLIENT_PASSWORD"),
        "{}",
        text(&out.stderr)
    );
    assert!(daemon.client().info().await.is_ok());
}

#[tokio::test]
async fn post_seeds_on_transmission() {
    if !have("transmission-daemon") || !have("opentracker") {
        return;
    }
    let tracker = Tracker::start(host()).await;
    let mut daemon = TrDaemon::start(host()).await;
    let home = tempfile::tempdir().unwrap();
    init(
        home.path(),
        &daemon,
        "transmission",
        daemon.url().as_str(),
        daemon.password(),
        &tracker,
        &[],
    );
    post_and_check(home.path(), &daemon, daemon.password()).await;

    // With the client down: exit 69, naming the URL, and nothing stored.
    let password = daemon.password().to_owned();
    daemon.stop();
    let out = upseed(home.path(), &password, &["post", "nobody hears this"]);
    assert_eq!(out.status.code(), Some(69), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("cannot reach Transmission"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn config_problems_exit_78_and_binary_text_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let out = upseed(home.path(), "", &["post", "no config yet"]);
    assert_eq!(out.status.code(), Some(78), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("upseed init"),
        "{}",
        text(&out.stderr)
    );

    std::fs::write(
        home.path().join("config.toml"),
        "[client]\nkind = \"deluge\"\n",
    )
    .unwrap();
    let out = upseed(home.path(), "", &["post", "bad config"]);
    assert_eq!(out.status.code(), Some(78), "{}", text(&out.stderr));

    let init = upseed(
        home.path(),
        "",
        &["init", "--client", "transmission", "--force", "--offline"],
    );
    assert!(init.status.success(), "{}", text(&init.stderr));
    let mut child = Command::new(env!("CARGO_BIN_EXE_upseed"))
        .arg("--config")
        .arg(home.path().join("config.toml"))
        .arg("post")
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"\x89PNG\r\n\x1a\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("not valid UTF-8"),
        "{}",
        text(&out.stderr)
    );
}
