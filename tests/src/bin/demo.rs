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

/// One demo user and the client they run.
struct User<'a> {
    name: &'a str,
    kind: &'a str,
    url: &'a str,
    password: &'a str,
    text: &'a str,
}

async fn user<N: Node>(upseed: &Path, node: &N, tracker: &Tracker, who: User<'_>) {
    let User {
        name,
        kind,
        url,
        password,
        text,
    } = who;
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
    let alice = User {
        name: "alice",
        kind: "qbittorrent",
        url: qb.url().as_str(),
        password: qb.password(),
        text: "Torrents are immutable; so is this post.",
    };
    user(upseed, &qb, &tracker, alice).await;
    let bob = User {
        name: "bob",
        kind: "transmission",
        url: tr.url().as_str(),
        password: tr.password(),
        text: "Seeding is my upvote.",
    };
    user(upseed, &tr, &tracker, bob).await;
    println!("\nthe daemons stop now; their temporary profiles are removed");
}
