//! The engine alone, in process: memory and time for N seeded posts, and
//! its CPU while it idles with them. `bench/engine [N]` runs it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use upseed_core::{AddTorrent, InfoHash, PostDraft, Record, SecretKey, TorrentClient};
use upseed_embedded::{Embedded, EngineConfig};

/// How long the idle CPU is sampled.
const IDLE: Duration = Duration::from_secs(30);

fn post(i: usize) -> Record {
    PostDraft::new(&format!("bench post {i}: {}", "words ".repeat(40)))
        .unwrap()
        .sign(
            &SecretKey::from_seed(&[9; 32]),
            1_700_000_000_000 + i as u64,
        )
        .unwrap()
}

fn seedable(record: &Record, dir: &Path, trackers: &[String]) -> AddTorrent {
    std::fs::write(dir.join(record.name()), record.body().unwrap().as_bytes()).unwrap();
    AddTorrent::from_torrent(record.torrent_bytes(trackers), dir.to_str().unwrap())
        .unwrap()
        .with_data_present()
        .with_tags(["upseed-own"])
}

/// This process's resident memory, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// This process's CPU time so far (user and system), in clock ticks.
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(n));
}

async fn run(n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let posts_dir = dir.path().join("posts");
    std::fs::create_dir_all(&posts_dir).unwrap();
    let posts: Vec<Record> = (0..n).map(post).collect();
    // `UPSEED_BENCH_TRACKER`: an announce URL every post names, so that
    // the engine's tracker announces are measured too.
    let trackers: Vec<String> = std::env::var("UPSEED_BENCH_TRACKER").into_iter().collect();
    let adds: Vec<AddTorrent> = posts
        .iter()
        .map(|r| seedable(r, &posts_dir, &trackers))
        .collect();
    let hashes: Vec<InfoHash> = posts.iter().map(Record::infohash).collect();
    drop(posts);

    let config = EngineConfig::new(dir.path().join("engine"));
    let engine = Embedded::start(config.clone()).await.unwrap();
    let rss0 = rss_kib();
    let started = Instant::now();
    for chunk in adds.chunks(500) {
        engine.add(chunk).await.unwrap();
    }
    let added = started.elapsed();
    let seeding = wait_seeding(&engine, &hashes).await;
    let rss1 = rss_kib();
    let ticks0 = cpu_ticks();
    tokio::time::sleep(IDLE).await;
    let idle_ticks = cpu_ticks() - ticks0;
    let rss2 = rss_kib();
    engine.stop().await;
    drop(engine);

    let restarted = Instant::now();
    let engine = Embedded::start(config).await.unwrap();
    wait_seeding(&engine, &hashes).await;
    let resumed = restarted.elapsed();
    engine.stop().await;

    let ticks_per_s = 100.0;
    let per_1000 = |kib: u64| (kib.saturating_sub(rss0)) as f64 / 1024.0 / (n as f64 / 1000.0);
    println!("| embedded engine, {n} posts | figure |");
    println!("|---|---|");
    println!(
        "| memory before the adds | {:.1} MiB |",
        rss0 as f64 / 1024.0
    );
    println!("| memory seeding all | {:.1} MiB |", rss1 as f64 / 1024.0);
    println!("| memory per 1,000 seeded | {:.1} MiB |", per_1000(rss1));
    println!(
        "| memory per 1,000 after {} s idle | {:.1} MiB |",
        IDLE.as_secs(),
        per_1000(rss2)
    );
    println!("| adds took | {:.1} s |", added.as_secs_f64());
    println!(
        "| all seeding after the last add | {:.2} s |",
        seeding.as_secs_f64()
    );
    println!(
        "| idle CPU | {:.1} % of one core |",
        idle_ticks as f64 / ticks_per_s / IDLE.as_secs_f64() * 100.0
    );
    println!(
        "| restart to all seeding | {:.1} s |",
        resumed.as_secs_f64()
    );
}

/// Waits until every hash seeds; returns how long that took.
async fn wait_seeding(engine: &Embedded, hashes: &[InfoHash]) -> Duration {
    let started = Instant::now();
    loop {
        let listed = engine.list(Some(hashes)).await.unwrap();
        if listed.len() == hashes.len() && listed.iter().all(|s| s.state.is_seeding()) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(1200),
            "not all seeding"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
