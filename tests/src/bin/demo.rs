//! The demo behind `scripts/demo`: two users, alice on qBittorrent and bob
//! on Transmission, each with their own tracker-backed client on this
//! machine, set up upseed and post; then each client shows what it seeds.
//! Usage: demo PATH-TO-UPSEED-BINARY

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use upseed_core::{InfoHash, TorrentClient};
use upseed_tests::conformance::{Node, wait_seeding};
use upseed_tests::qbittorrent::{QbDaemon, QbOptions};
use upseed_tests::tracker::Tracker;
use upseed_tests::transmission::TrDaemon;

fn run(upseed: &Path, home: &Path, password: &str, args: &[&str]) -> String {
    println!("$ upseed {}", args.join(" "));
    let out = Command::new(upseed)
        .arg("--config")
        .arg(home.join("config.toml"))
        .args(args)
        .env("UPSEED_CLIENT_PASSWORD", password)
        .output()
        .expect("run upseed");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    print!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "upseed {} failed", args.join(" "));
    stdout
}

async fn user<N: Node>(
    upseed: &Path,
    name: &str,
    node: &N,
    kind: &str,
    url: &str,
    password: &str,
    tracker: &Tracker,
    text: &str,
) {
    println!("\n== {name}, on {kind}");
    let home = tempfile::tempdir().expect("temporary folder");
    let posts = node.posts_dir().to_string_lossy().into_owned();
    let downloads = node.downloads_dir().to_string_lossy().into_owned();
    let announce = tracker.announce_url();
    run(
        upseed,
        home.path(),
        password,
        &[
            "init",
            "--client",
            kind,
            "--url",
            url,
            "--username",
            "tester",
            "--posts-dir",
            &posts,
            "--downloads-dir",
            &downloads,
            "--tracker",
            &announce,
        ],
    );
    let out = run(
        upseed,
        home.path(),
        password,
        &[
            "post",
            "--title",
            &format!("hello from {name}"),
            "--community",
            "demo",
            text,
        ],
    );
    let hash: InfoHash = out
        .lines()
        .next()
        .expect("an infohash")
        .parse()
        .expect("an infohash");
    tracker.allow(&[hash]).await;
    let status = wait_seeding(&node.client(), hash, Duration::from_secs(30)).await;
    println!(
        "{kind} reports {hash}: {:?}, progress {:.0} %, tags {:?}",
        status.state,
        status.progress * 100.0,
        status.tags
    );
    let all = node.client().list(None).await.expect("list");
    println!(
        "{kind} lists {} upseed torrent(s), all seeding: {}",
        all.len(),
        all.iter().all(|t| t.state.is_seeding())
    );
}

#[tokio::main]
async fn main() {
    let upseed = std::env::args().nth(1).expect("usage: demo PATH-TO-UPSEED");
    let upseed = Path::new(&upseed);
    let tracker = Tracker::start(upseed_tests::host()).await;
    println!("opentracker at {}", tracker.announce_url());
    let qb = QbDaemon::start(QbOptions::default()).await;
    println!("qbittorrent-nox at {}", qb.url());
    let tr = TrDaemon::start(upseed_tests::host()).await;
    println!("transmission-daemon at {}", tr.url());
    user(
        upseed,
        "alice",
        &qb,
        "qbittorrent",
        qb.url().as_str(),
        qb.password(),
        &tracker,
        "Torrents are immutable; so is this post.",
    )
    .await;
    user(
        upseed,
        "bob",
        &tr,
        "transmission",
        tr.url().as_str(),
        tr.password(),
        &tracker,
        "Seeding is my upvote.",
    )
    .await;
    println!("\nthe daemons stop now; their temporary profiles are removed");
}
