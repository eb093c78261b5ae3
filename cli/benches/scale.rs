//! Popularity at scale, on real daemons (run through `bench/scale`).
//!
//! N posts are seeded by a real qBittorrent and N more by a real
//! Transmission, all announced to a real opentracker. Two users, one on
//! each client, know all 2N posts; for each, N are in their own client and
//! N are known only through the tracker. Each user's `upseed sync` runs
//! against the tracker three ways: one HTTP full scrape, HTTP batches of
//! 64, and UDP packets of 74; twice each, the second time with nothing
//! changed. Reported: wall time, peak memory (the child's maximum resident
//! set), requests to the client and to the tracker, history rows written,
//! the store's size, and each client's memory per 1,000 seeded posts.
//!
//! Beside them, in the same run, N more posts are seeded by upseed's
//! embedded engine, held by an `upseed daemon`: its memory per 1,000 posts,
//! the time until all seed after the last add, every client's CPU while
//! idle-seeding, and how long a qBittorrent reader takes to fetch one post
//! the engine seeds.
//!
//! `bench/scale [N]` (default 10,000). Transmission checks about 10 new
//! torrents a second, so N = 10,000 takes about 20 minutes to set up.

#![allow(missing_docs, clippy::unwrap_used, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use upseed_core::{InfoHash, Record, TorrentClient};
use upseed_node::store::Store;
use upseed_tests::conformance::{Node, new_post, seedable};
use upseed_tests::qbittorrent::{QbDaemon, QbOptions};
use upseed_tests::tracker::Tracker;
use upseed_tests::transmission::TrDaemon;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("measure") {
        measure(&args[2..]);
    }
    // `cargo bench` passes `--bench`; the first number is N.
    let n = args
        .iter()
        .skip(1)
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(10_000);
    tokio::runtime::Runtime::new().unwrap().block_on(run(n));
}

/// Runs a command as this process's only child, then prints its peak
/// resident set on standard error.
fn measure(command: &[String]) -> ! {
    let status = Command::new(&command[0])
        .args(&command[1..])
        .status()
        .unwrap();
    let usage =
        nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN).unwrap();
    eprintln!("peak_rss_kib {}", usage.max_rss());
    std::process::exit(status.code().unwrap_or(1));
}

fn rss_kib(pid: Option<u32>) -> u64 {
    let Some(pid) = pid else { return 0 };
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn file_size(path: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .map(|suffix| {
            std::fs::metadata(format!("{}{suffix}", path.display())).map_or(0, |m| m.len())
        })
        .sum()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Seconds of CPU (user and system) the process `pid` has used.
fn cpu_s(pid: Option<u32>) -> f64 {
    let Some(pid) = pid else { return 0.0 };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the whole line.
    (ticks(11) + ticks(12)) / 100.0
}

/// Seconds until every one of `posts` seeds, from the first add; the
/// seconds the adds took are printed.
async fn add_and_seed<N: Node>(name: &str, node: &N, tracker: &Tracker, posts: &[Record]) -> f64 {
    add_and_seed_timed(name, node, tracker, posts).await.1
}

/// The seconds the adds took, and the seconds until every one of `posts`
/// seeds, both from the first add.
async fn add_and_seed_timed<N: Node>(
    name: &str,
    node: &N,
    tracker: &Tracker,
    posts: &[Record],
) -> (f64, f64) {
    let client = node.client();
    client.info().await.unwrap();
    let adds: Vec<_> = posts.iter().map(|r| seedable(node, r, tracker)).collect();
    let start = Instant::now();
    client.add(&adds).await.unwrap();
    let added = start.elapsed().as_secs_f64();
    eprintln!("{name}: added {} in {added:.1} s", posts.len());
    let hashes: Vec<InfoHash> = posts.iter().map(Record::infohash).collect();
    loop {
        let list = client.list(Some(&hashes)).await.unwrap();
        let seeding = list.iter().filter(|t| t.state.is_seeding()).count();
        if seeding == posts.len() {
            break;
        }
        eprintln!(
            "{name}: {seeding}/{} seeding after {:.0} s",
            posts.len(),
            start.elapsed().as_secs_f64()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    (added, start.elapsed().as_secs_f64())
}

struct Run {
    user: &'static str,
    mode: &'static str,
    pass: usize,
    wall_s: f64,
    peak_rss_kib: u64,
    report: serde_json::Value,
}

fn sync(upseed: &Path, home: &Path, tracker: &str, full: bool) -> (f64, u64, serde_json::Value) {
    let start = Instant::now();
    let out = Command::new(std::env::current_exe().unwrap())
        .arg("measure")
        .arg(upseed)
        .arg("--config")
        .arg(home.join("config.toml"))
        .args(["sync", "--json", "--fetch-limit", "0"])
        .env("UPSEED_TRACKERS_URLS", tracker)
        .env("UPSEED_TRACKERS_FULL_SCRAPE", full.to_string())
        .env("UPSEED_DHT_ENABLED", "false")
        .output()
        .unwrap();
    let wall = start.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "sync failed: {stderr}");
    let peak = stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak_rss_kib "))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (wall, peak, serde_json::from_slice(&out.stdout).unwrap())
}

async fn run(n: usize) {
    let upseed = PathBuf::from(
        std::env::var("UPSEED_BENCH_BIN")
            .expect("set UPSEED_BENCH_BIN to a release build of upseed; bench/scale does this"),
    );
    let host = upseed_tests::host();
    let tracker = Tracker::start(host).await;
    let qb = QbDaemon::start(QbOptions::default()).await;
    let tr = TrDaemon::start(host).await;
    let (engine_home, engine) =
        upseed_tests::story::engine_user("engine", &upseed, &tracker, false).await;
    let qb_rss0 = rss_kib(qb.instance().pid());
    let tr_rss0 = rss_kib(tr.instance().pid());
    let engine_rss0 = rss_kib(engine.pid());

    let started = Instant::now();
    let a: Vec<Record> = (0..n).map(|i| new_post(&format!("qb post {i}"))).collect();
    let b: Vec<Record> = (0..n).map(|i| new_post(&format!("tr post {i}"))).collect();
    let c: Vec<Record> = (0..n)
        .map(|i| new_post(&format!("engine post {i}")))
        .collect();
    eprintln!(
        "signed {} posts in {:.1} s",
        2 * n,
        started.elapsed().as_secs_f64()
    );
    let all: Vec<Record> = a.iter().chain(&b).cloned().collect();
    let hashes: Vec<InfoHash> = all.iter().map(Record::infohash).collect();
    let engine_hashes: Vec<InfoHash> = c.iter().map(Record::infohash).collect();
    tracker
        .allow(
            &hashes
                .iter()
                .chain(&engine_hashes)
                .copied()
                .collect::<Vec<_>>(),
        )
        .await;
    // Large whitelists take opentracker a moment longer to reload.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let (qb_seed_s, tr_seed_s, (engine_add_s, engine_seed_s)) = tokio::join!(
        add_and_seed("qbittorrent", &qb, &tracker, &a),
        add_and_seed("transmission", &tr, &tracker, &b),
        add_and_seed_timed("embedded engine", &engine, &tracker, &c)
    );
    let qb_rss1 = rss_kib(qb.instance().pid());
    let tr_rss1 = rss_kib(tr.instance().pid());
    let engine_rss1 = rss_kib(engine.pid());

    // Idle seeding: CPU over a minute with nothing asked of any client.
    let pids = [qb.instance().pid(), tr.instance().pid(), engine.pid()];
    let cpu0 = pids.map(cpu_s);
    let idle = Duration::from_secs(60);
    tokio::time::sleep(idle).await;
    let cpu1 = pids.map(cpu_s);
    let idle_percent = |i: usize| (cpu1[i] - cpu0[i]) / idle.as_secs_f64() * 100.0;

    // A qBittorrent reader fetches a post the engine seeds.
    let read = &c[n / 2];
    let reader = qb.client();
    let started = Instant::now();
    reader
        .add(&[upseed_core::AddTorrent::from_magnet(
            upseed_core::Magnet::for_record(read, &[tracker.announce_url()]),
            qb.downloads_dir().to_string_lossy(),
        )])
        .await
        .unwrap();
    upseed_tests::conformance::wait_seeding(&reader, read.infohash(), Duration::from_secs(120))
        .await;
    let qb_fetch_s = started.elapsed().as_secs_f64();

    // Wait until the tracker counts every post.
    let announce = tracker.announce_url();
    loop {
        let listed = upseed_node::scrape::full_scrape(&announce, Duration::from_secs(30))
            .await
            .unwrap();
        let seeded = hashes
            .iter()
            .filter(|h| listed.get(h).is_some_and(|c| c.seeders > 0))
            .count();
        if seeded == hashes.len() {
            break;
        }
        eprintln!("tracker: {seeded}/{} seeded", hashes.len());
        tokio::time::sleep(Duration::from_secs(10)).await;
    }

    let mut runs = Vec::new();
    let mut stores = Vec::new();
    for (user, kind, url, password) in [
        (
            "qbittorrent",
            "qbittorrent",
            qb.url().to_string(),
            qb.password().to_owned(),
        ),
        (
            "transmission",
            "transmission",
            tr.url().to_string(),
            tr.password().to_owned(),
        ),
    ] {
        let home = if user == "qbittorrent" {
            upseed_tests::story::home_with_password_file(
                &upseed, &qb, kind, &url, &password, &tracker,
            )
        } else {
            upseed_tests::story::home_with_password_file(
                &upseed, &tr, kind, &url, &password, &tracker,
            )
        };
        let store_path = home.path().join("store.db");
        let start = Instant::now();
        Store::open(&store_path)
            .unwrap()
            .put_records(&all, now())
            .unwrap();
        let filled = start.elapsed().as_secs_f64();
        let size_before = file_size(&store_path);
        for (mode, tracker_url, full) in [
            ("http full scrape", announce.clone(), true),
            ("http batches of 64", announce.clone(), false),
            ("udp packets of 74", tracker.udp_announce_url(), false),
        ] {
            for pass in 1..=2 {
                let (wall_s, peak_rss_kib, report) = sync(&upseed, home.path(), &tracker_url, full);
                assert_eq!(report["live_posts"], 2 * n, "{user} {mode}: {report}");
                runs.push(Run {
                    user,
                    mode,
                    pass,
                    wall_s,
                    peak_rss_kib,
                    report,
                });
            }
        }
        let store = Store::open(&store_path).unwrap();
        let seeded = store
            .signals(None, None)
            .unwrap()
            .iter()
            .filter(|s| s.seeders > 0)
            .count();
        assert_eq!(
            seeded,
            2 * n,
            "{user}: every post has a seeder in the store"
        );
        stores.push((user, filled, size_before, file_size(&store_path)));
        drop(home);
    }

    println!(
        "\n## upseed sync at scale: {n} posts per client, {} known to each user\n",
        2 * n
    );
    println!(
        "| user's client | tracker | pass | wall s | sync's own ms | peak RSS MiB | client requests | tracker requests | counts | history rows |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for r in &runs {
        println!(
            "| {} | {} | {} | {:.2} | {} | {:.1} | {} | {} | {} | {} |",
            r.user,
            r.mode,
            r.pass,
            r.wall_s,
            r.report["elapsed_ms"],
            r.peak_rss_kib as f64 / 1024.0,
            r.report["client_requests"],
            r.report["tracker_requests"],
            r.report["counts"],
            r.report["changed_counts"],
        );
    }
    println!(
        "\n| store | fill {} records s | size before sync MiB | after 6 syncs MiB |",
        2 * n
    );
    println!("|---|---|---|---|");
    for (user, filled, before, after) in &stores {
        println!(
            "| {user} | {filled:.1} | {:.1} | {:.1} |",
            *before as f64 / 1_048_576.0,
            *after as f64 / 1_048_576.0
        );
    }
    let per_1000 = |before: u64, after: u64| {
        (after.saturating_sub(before)) as f64 / 1024.0 / (n as f64 / 1000.0)
    };
    println!(
        "\n| client | add + all seeding s | RSS before MiB | RSS seeding {n} MiB | MiB per 1,000 posts |"
    );
    println!("|---|---|---|---|---|");
    println!(
        "| qBittorrent | {qb_seed_s:.1} | {:.1} | {:.1} | {:.1} |",
        qb_rss0 as f64 / 1024.0,
        qb_rss1 as f64 / 1024.0,
        per_1000(qb_rss0, qb_rss1)
    );
    println!(
        "| Transmission | {tr_seed_s:.1} | {:.1} | {:.1} | {:.1} |",
        tr_rss0 as f64 / 1024.0,
        tr_rss1 as f64 / 1024.0,
        per_1000(tr_rss0, tr_rss1)
    );
    println!(
        "| embedded engine (`upseed daemon`) | {engine_seed_s:.1} | {:.1} | {:.1} | {:.1} |",
        engine_rss0 as f64 / 1024.0,
        engine_rss1 as f64 / 1024.0,
        per_1000(engine_rss0, engine_rss1)
    );
    println!(
        "\n| embedded engine | adds took s | all seeding s after the last add | qBittorrent reader's fetch of one post s |"
    );
    println!("|---|---|---|---|");
    println!(
        "| {n} posts | {engine_add_s:.1} | {:.1} | {qb_fetch_s:.2} |",
        engine_seed_s - engine_add_s
    );
    println!(
        "\n| client | CPU while idle-seeding {n} posts, % of one core over {} s |",
        idle.as_secs()
    );
    println!("|---|---|");
    for (i, name) in ["qBittorrent", "Transmission", "embedded engine"]
        .iter()
        .enumerate()
    {
        println!("| {name} | {:.2} |", idle_percent(i));
    }
    drop(engine_home);
}
