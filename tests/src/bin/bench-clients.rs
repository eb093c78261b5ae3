//! The client benchmark (run through `bench/clients`): upseed's adapter
//! against Python's client library, each on a fresh real daemon.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use upseed_core::{AddTorrent, InfoHash, Record, TorrentClient};
use upseed_tests::conformance::{new_post, seedable};
use upseed_tests::qbittorrent::{QbDaemon, QbOptions};
use upseed_tests::tracker::Tracker;

fn posts(n: usize) -> Vec<Record> {
    (0..n)
        .map(|i| new_post(&format!("bench post {i}")))
        .collect()
}

async fn upseed_qbittorrent(tracker: &Tracker, n: usize) -> [Duration; 3] {
    let daemon = QbDaemon::start(QbOptions::default()).await;
    let client = daemon.client();
    client.info().await.expect("daemon answers"); // log in outside the timing
    let records = posts(n);
    let hashes: Vec<InfoHash> = records.iter().map(Record::infohash).collect();
    tracker.allow(&hashes).await;
    let adds: Vec<AddTorrent> = records
        .iter()
        .map(|r| seedable(&daemon, r, tracker))
        .collect();
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

fn python_qbittorrent(daemon: &QbDaemon, torrents: &Path, save: &Path) -> [Duration; 3] {
    let out = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/clients.py"))
        .arg("qbittorrent")
        .args([
            "--url",
            daemon.url().as_str(),
            "--username",
            "tester",
            "--password",
            daemon.password(),
        ])
        .arg("--torrents")
        .arg(torrents)
        .arg("--save")
        .arg(save)
        .output()
        .expect("run bench/clients.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| -> Duration {
        let at = text.find(&format!("\"{name}\": ")).expect("field") + name.len() + 4;
        let end = text[at..].find([',', '}']).expect("end") + at;
        Duration::from_secs_f64(text[at..end].trim().parse().expect("seconds"))
    };
    [field("add"), field("until_seeding"), field("read")]
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let tracker = Tracker::start(upseed_tests::host()).await;

    let ours = upseed_qbittorrent(&tracker, n).await;

    let daemon = QbDaemon::start(QbOptions::default()).await;
    let records = posts(n);
    tracker
        .allow(&records.iter().map(Record::infohash).collect::<Vec<_>>())
        .await;
    let torrents = tempfile::tempdir().expect("temporary folder");
    for record in &records {
        let _ = seedable(&daemon, record, &tracker); // writes the body
        let path = torrents
            .path()
            .join(format!("{}.torrent", record.infohash()));
        std::fs::write(path, record.torrent_bytes(&[tracker.announce_url()]))
            .expect("write torrent");
    }
    let theirs = python_qbittorrent(&daemon, torrents.path(), &daemon.posts_dir());

    println!("qBittorrent 4.5.2, {n} post torrents, fresh daemon each");
    println!(
        "{:<28} {:>10} {:>16} {:>10}",
        "", "add", "until seeding", "read all"
    );
    for (name, t) in [
        ("upseed-qbittorrent", ours),
        ("qbittorrent-api (Python)", theirs),
    ] {
        println!(
            "{name:<28} {:>9.3}s {:>15.3}s {:>9.3}s",
            t[0].as_secs_f64(),
            t[1].as_secs_f64(),
            t[2].as_secs_f64()
        );
    }
    let speedup = |i: usize| theirs[i].as_secs_f64() / ours[i].as_secs_f64();
    println!(
        "speed-up: add {:.1}x, until seeding {:.1}x, add+read {:.1}x",
        speedup(0),
        speedup(1),
        (theirs[0] + theirs[2]).as_secs_f64() / (ours[0] + ours[2]).as_secs_f64()
    );
}
