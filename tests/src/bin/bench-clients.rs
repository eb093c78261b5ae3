//! The client benchmark (run through `bench/clients`): upseed's adapters
//! against Python's client libraries, each on a fresh real daemon, adding
//! the same number of post torrents, waiting until all seed, and reading
//! their state back.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use upseed_core::{AddTorrent, InfoHash, Record, TorrentClient};
use upseed_tests::conformance::{Node, new_post, seedable};
use upseed_tests::qbittorrent::{QbDaemon, QbOptions};
use upseed_tests::tracker::Tracker;
use upseed_tests::transmission::TrDaemon;

/// add, until all seeding, read all.
type Timings = [Duration; 3];

fn posts(n: usize) -> Vec<Record> {
    (0..n)
        .map(|i| new_post(&format!("bench post {i}")))
        .collect()
}

async fn upseed<N: Node>(tracker: &Tracker, node: &N, n: usize) -> Timings {
    let client = node.client();
    client.info().await.expect("daemon answers"); // log in outside the timing
    let records = posts(n);
    let hashes: Vec<InfoHash> = records.iter().map(Record::infohash).collect();
    tracker.allow(&hashes).await;
    let adds: Vec<AddTorrent> = records.iter().map(|r| seedable(node, r, tracker)).collect();
    let start = Instant::now();
    client.add(&adds).await.expect("add");
    let added = start.elapsed();
    loop {
        let list = client.list(Some(&hashes)).await.expect("list");
        if list.len() == n && list.iter().all(|t| t.state.is_seeding()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seeding = start.elapsed();
    let read_start = Instant::now();
    let all = client.list(None).await.expect("read");
    let read = read_start.elapsed();
    assert_eq!(all.len(), n);
    [added, seeding, read]
}

async fn python<N: Node>(
    tracker: &Tracker,
    node: &N,
    kind: &str,
    url: &str,
    password: &str,
    n: usize,
) -> Timings {
    let records = posts(n);
    tracker
        .allow(&records.iter().map(Record::infohash).collect::<Vec<_>>())
        .await;
    let torrents = tempfile::tempdir().expect("temporary folder");
    for record in &records {
        let _ = seedable(node, record, tracker); // writes the body
        let path = torrents
            .path()
            .join(format!("{}.torrent", record.infohash()));
        std::fs::write(path, record.torrent_bytes(&[tracker.announce_url()]))
            .expect("write torrent");
    }
    let out = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/clients.py"))
        .arg(kind)
        .args(["--url", url, "--username", "tester"])
        .env("UPSEED_BENCH_PASSWORD", password)
        .arg("--torrents")
        .arg(torrents.path())
        .arg("--save")
        .arg(node.posts_dir())
        .output()
        .expect("run bench/clients.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let timings: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("bench/clients.py prints JSON");
    let field = |name: &str| Duration::from_secs_f64(timings[name].as_f64().expect("seconds"));
    [field("add"), field("until_seeding"), field("read")]
}

fn report(title: &str, n: usize, ours: Timings, theirs: Timings, library: &str) {
    println!("\n{title}, {n} post torrents, a fresh daemon for each side");
    println!(
        "{:<30} {:>10} {:>16} {:>10}",
        "", "add", "until seeding", "read all"
    );
    for (name, t) in [("upseed", ours), (library, theirs)] {
        println!(
            "{name:<30} {:>9.3}s {:>15.3}s {:>9.3}s",
            t[0].as_secs_f64(),
            t[1].as_secs_f64(),
            t[2].as_secs_f64()
        );
    }
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!(
        "speed-up: add {:.1}x, until seeding {:.1}x, read {:.1}x, add+read {:.1}x",
        ratio(theirs[0], ours[0]),
        ratio(theirs[1], ours[1]),
        ratio(theirs[2], ours[2]),
        ratio(theirs[0] + theirs[2], ours[0] + ours[2]),
    );
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let which = std::env::args().nth(2).unwrap_or_else(|| "both".into());
    let tracker = Tracker::start(upseed_tests::host()).await;
    if which != "transmission" {
        let ours = upseed(&tracker, &QbDaemon::start(QbOptions::default()).await, n).await;
        let daemon = QbDaemon::start(QbOptions::default()).await;
        let theirs = python(
            &tracker,
            &daemon,
            "qbittorrent",
            daemon.url().as_str(),
            daemon.password(),
            n,
        )
        .await;
        report(
            "qBittorrent 4.5.2",
            n,
            ours,
            theirs,
            "qbittorrent-api (Python)",
        );
    }
    if which != "qbittorrent" {
        let ours = upseed(&tracker, &TrDaemon::start(upseed_tests::host()).await, n).await;
        let daemon = TrDaemon::start(upseed_tests::host()).await;
        let theirs = python(
            &tracker,
            &daemon,
            "transmission",
            daemon.url().as_str(),
            daemon.password(),
            n,
        )
        .await;
        report(
            "Transmission 3.00",
            n,
            ours,
            theirs,
            "transmission-rpc (Python)",
        );
    }
}
