//! `upseed serve` under load (run through `bench/serve`): the feed, a
//! thread, search and an Atom feed, over the synthetic store of N posts
//! (see `synthetic.rs`), each driven by `wrk` for 10 s with 8 connections
//! on two threads, on the same machine as the server. The ranked pages
//! (feeds and Atom) run twice: as the page's one-second cache serves them,
//! and with a query of its own on every request, so each is rendered.
//! Reported per page: requests a second, and the median and 99th-percentile
//! latency; then the server's resident set, now and at its peak.
//!
//! `bench/serve [N ...]` (default 100,000 and 1,000,000). Building a store
//! of 1,000,000 posts takes some minutes, once; it is kept in
//! `target/bench-data/N/`.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::print_stderr,
    clippy::print_stdout
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use upseed_node::store::{SearchOrder, Store, StoreSearch};

mod synthetic;

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![100_000, 1_000_000]
    } else {
        sizes
    };
    let bin = std::env::var_os("UPSEED_BENCH_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/upseed"),
        PathBuf::from,
    );
    println!("| posts | page | requests/s | p50 | p99 |");
    println!("|---:|---|---:|---:|---:|");
    let mut memory = Vec::new();
    for n in sizes {
        memory.push((n, run(&bin, n)));
    }
    println!();
    println!("| posts | server RSS after the runs | peak RSS |");
    println!("|---:|---:|---:|");
    for (n, (rss, peak)) in memory {
        println!(
            "| {n} | {:.1} MiB | {:.1} MiB |",
            rss as f64 / 1024.0,
            peak as f64 / 1024.0
        );
    }
}

/// A config for the store's folder: the pages need no client.
fn configure(bin: &Path, home: &Path) {
    let config = home.join("config.toml");
    if config.exists() {
        return;
    }
    let out = Command::new(bin)
        .arg("--config")
        .arg(&config)
        .args([
            "init",
            "--offline",
            "--client",
            "qbittorrent",
            "--url",
            "http://127.0.0.1:9/",
            "--username",
            "admin",
            "--tracker",
            "http://127.0.0.1:9/announce",
        ])
        .env("UPSEED_CLIENT_PASSWORD", "unused")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The server's resident set and its peak, in KiB.
fn rss(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// `wrk`'s latency figure (`870.12us`, `12.30ms`, `1.02s`) in milliseconds.
fn millis(text: &str) -> f64 {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (value, unit) = text.split_at(split);
    let value: f64 = value.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => value / 1000.0,
        "ms" => value,
        "s" => value * 1000.0,
        "m" => value * 60_000.0,
        _ => f64::NAN,
    }
}

/// A wrk script that gives each request a query of its own, so that no
/// answer comes from the page's one-second cache.
const UNCACHED: &str = r#"
request = function()
  return wrk.format(nil, wrk.path .. "&r=" .. math.random(1, 1000000000))
end
"#;

/// Runs wrk on `url` (each request rendered anew when `uncached`):
/// requests a second, p50 and p99 in milliseconds, and how many answers
/// were not 2xx or 3xx.
fn wrk(url: &str, uncached: bool) -> (f64, f64, f64, u64) {
    let mut command = Command::new("wrk");
    command.args(["-t2", "-c8", "-d10s", "--latency"]);
    if uncached {
        let script = std::env::temp_dir().join("upseed-bench-uncached.lua");
        std::fs::write(&script, UNCACHED).unwrap();
        command.arg("-s").arg(script);
    }
    let out = command
        .arg(url)
        .output()
        .expect("wrk (scripts/install-deps installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_owned()))
    };
    let rate = field("Requests/sec:")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let p50 = field("50%").map_or(f64::NAN, |v| millis(&v));
    let p99 = field("99%").map_or(f64::NAN, |v| millis(&v));
    let bad = field("Non-2xx or 3xx responses:")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (rate, p50, p99, bad)
}

fn run(bin: &Path, n: usize) -> (u64, u64) {
    let start = Instant::now();
    let store_path = synthetic::store(n);
    eprintln!(
        "store of {n} posts ready in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let home = synthetic::home(n);
    configure(bin, &home);
    // A post with a thread, for the thread page.
    let store = Store::open(&store_path).unwrap();
    let hit = store
        .search(&StoreSearch {
            matching: Some("\"comment\"".into()),
            order: SearchOrder::New,
            limit: 1,
            ..StoreSearch::default()
        })
        .unwrap();
    let thread = store
        .record(hit[0].infohash)
        .unwrap()
        .unwrap()
        .root()
        .unwrap();
    let author = store.record(thread).unwrap().unwrap().author().to_string();
    drop(store);

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(bin)
        .arg("--config")
        .arg(home.join("config.toml"))
        .args(["--quiet", "serve", "--no-daemon", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .env("UPSEED_CLIENT_PASSWORD", "unused")
        .env("UPSEED_DHT_ENABLED", "false")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The ranked pages, as the cache serves them and rendered every time.
    let ranked = [
        ("feed, hot", "/?sort=hot"),
        ("feed, top of the week", "/?sort=top&window=week"),
        ("feed, page 3 of new", "/?sort=new&page=3"),
        ("community feed, new", "/?sort=new&community=rust"),
        ("Atom, a community", "/feed.atom?sort=new&community=rust"),
    ];
    for (name, path) in ranked {
        for (how, uncached) in [("cached", false), ("rendered", true)] {
            let (rate, p50, p99, bad) = wrk(&format!("{base}{path}"), uncached);
            assert_eq!(bad, 0, "{name}: {bad} answers were errors");
            println!("| {n} | {name} ({how}) | {rate:.0} | {p50:.1} ms | {p99:.1} ms |");
        }
    }
    let pages = [
        ("thread, 30 comments", format!("/t/{thread}")),
        ("search, one rare word", "/search?q=title+4242".to_owned()),
        (
            "search, a word in every post",
            "/search?q=sentences".to_owned(),
        ),
        (
            "search, every post, best match first",
            "/search?q=sentences&order=relevance".to_owned(),
        ),
        (
            "search, an author's posts",
            format!("/search?q=ordinary+author:{}", &author[..8]),
        ),
    ];
    for (name, path) in pages {
        let (rate, p50, p99, bad) = wrk(&format!("{base}{path}"), false);
        assert_eq!(bad, 0, "{name}: {bad} answers were errors");
        println!("| {n} | {name} | {rate:.0} | {p50:.1} ms | {p99:.1} ms |");
    }
    let memory = rss(server.id());
    let _ = server.kill();
    let _ = server.wait();
    memory
}
