//! `upseed daemon` on real daemons, through faults: alice's daemon runs
//! while bob keeps posting and commenting, and alice's qBittorrent is
//! restarted, then down for a while; the tracker goes down; alice's
//! folders turn read-only; another command holds the store. The daemon
//! must never crash, lose or duplicate anything, or touch a torrent that
//! is not ours; it stops cleanly on SIGTERM, at once on a second signal,
//! and resumes after `kill -9`.
//!
//! `UPSEED_TEST_SOAK_SECS` sets the length of the soak (default 100 s).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Running, init, text, upseed, upseed_env};
use serde_json::Value;
use upseed_core::{InfoHash, TorrentClient};
use upseed_node::store::Store;
use upseed_tests::conformance::{Node, new_post, seedable};
use upseed_tests::qbittorrent::{QbDaemon, QbOptions};
use upseed_tests::tracker::Tracker;
use upseed_tests::{have, host};

const CONFIG: &str = r#"
[daemon]
sync_every = "3s"
gc_every = "20s"
jitter = "1s"
fetch_timeout = "20s"
fetch_limit = 20

[[daemon.seed_top]]
window = "day"
count = 3

[daemon.rescue]
below = 3
budget = 4

[daemon.seed_followed]
"#;

fn start_daemon(home: &Path, password: &str, log: &Path, dht: &str) -> Running {
    Running(
        Command::new(common::bin())
            .arg("--config")
            .arg(home.join("config.toml"))
            .args(["daemon", "--log-json"])
            .env("UPSEED_CLIENT_PASSWORD", password)
            .env("UPSEED_DHT_ENABLED", (!dht.is_empty()).to_string())
            .env("UPSEED_DHT_BOOTSTRAP", dht)
            .env_remove("UPSEED_HOME")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap(),
    )
}

/// `UPSEED_TEST_SOAK_SECS`, at least (and by default) 100 s.
fn soak_length() -> Duration {
    Duration::from_secs(
        std::env::var("UPSEED_TEST_SOAK_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(100)
            .max(100),
    )
}

/// Bob's records that alice's store does not hold `within` from now.
async fn until_all_arrive(alice: &Path, written: &[String], within: Duration) -> Vec<String> {
    let wanted: BTreeSet<String> = written.iter().cloned().collect();
    let deadline = Instant::now() + within;
    loop {
        let have: BTreeSet<String> = Store::open(&alice.join("store.db"))
            .and_then(|s| s.record_hashes())
            .map(|h| h.iter().map(ToString::to_string).collect())
            .unwrap_or_default();
        let missing: Vec<String> = wanted.difference(&have).cloned().collect();
        if missing.is_empty() || Instant::now() > deadline {
            return missing;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

fn signal(child: &Child, signal: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, signal).unwrap();
}

fn wait_exit(child: &mut Child, limit: Duration) -> Option<i32> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().or(Some(-1));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

fn status(home: &Path, password: &str) -> Value {
    let out = upseed(home, password, &["status", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn step<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == name)
        .unwrap_or(&Value::Null)
}

/// Makes `dirs` read-only with read-only bind mounts (`on`), or undoes
/// that; `false` when this process may not mount.
fn read_only(dirs: &[&Path], on: bool) -> bool {
    let run = |args: &[&str], dir: &Path| {
        Command::new(args[0])
            .args(&args[1..])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success())
    };
    dirs.iter().all(|dir| {
        if on {
            run(&["mount", "--bind", &dir.display().to_string()], dir)
                && run(&["mount", "-o", "remount,ro,bind"], dir)
        } else {
            run(&["umount"], dir)
        }
    })
}

/// The faults both soaks share: the user's folders turned read-only, and
/// the store held by another command's exclusive transaction.
struct Obstacles {
    dirs: Vec<std::path::PathBuf>,
    read_only: bool,
    locked: Option<rusqlite::Connection>,
}

impl Obstacles {
    fn new(dirs: Vec<std::path::PathBuf>) -> Self {
        Self {
            dirs,
            read_only: false,
            locked: None,
        }
    }

    fn dirs(&self) -> Vec<&Path> {
        self.dirs.iter().map(|d| d.as_path()).collect()
    }

    /// Makes the folders read-only, when this process may mount.
    fn folders_read_only(&mut self, faults: &mut Vec<&str>) {
        if read_only(&self.dirs(), true) {
            self.read_only = true;
            faults.push("folders read-only");
        }
    }

    /// Gives the folders back, and holds the store at `home`.
    fn lock_store(&mut self, home: &Path, faults: &mut Vec<&str>) {
        if self.read_only {
            assert!(
                read_only(&self.dirs(), false),
                "cannot undo the read-only mounts"
            );
            self.read_only = false;
        }
        let conn = rusqlite::Connection::open(home.join("store.db")).unwrap();
        conn.execute_batch("BEGIN EXCLUSIVE").unwrap();
        self.locked = Some(conn);
        faults.push("store locked");
    }

    /// Ends every obstacle still in place.
    fn clear(&mut self) {
        if let Some(conn) = self.locked.take() {
            conn.execute_batch("COMMIT").unwrap();
        }
        if self.read_only {
            read_only(&self.dirs(), false);
            self.read_only = false;
        }
    }
}

/// Bob posts (and now and then comments) and announces it, on the DHT at
/// `dht` too unless it is empty; returns the infohashes.
async fn bob_writes<N: Node>(
    bob: &Path,
    bob_client: &N,
    pw: &str,
    tracker: &Tracker,
    n: usize,
    dht: &str,
) -> Vec<String> {
    let env = [
        (
            "UPSEED_DHT_ENABLED",
            if dht.is_empty() { "false" } else { "true" },
        ),
        ("UPSEED_DHT_BOOTSTRAP", dht),
    ];
    let upseed = |home: &Path, pw: &str, args: &[&str]| upseed_env(home, pw, args, &env);
    let body = format!("bob's post number {n}");
    let out = if n % 3 == 2 {
        // Comment on his own first post: a thread grows.
        let first = Store::open(&bob.join("store.db"))
            .unwrap()
            .signals(None, None)
            .unwrap()
            .first()
            .map(|s| s.infohash.to_string());
        match first {
            Some(post) => upseed(bob, pw, &["comment", "--json", &post, &body]),
            None => upseed(bob, pw, &["post", "--json", &body]),
        }
    } else {
        upseed(bob, pw, &["post", "--json", &body])
    };
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let hash: InfoHash = json["infohash"].as_str().unwrap().parse().unwrap();
    // The test tracker serves only what it is told: the record, and the
    // outbox index version that now names it.
    let mut serve = common::index_heads(bob);
    serve.push(hash);
    tracker.allow(&serve).await;
    bob_client.client().announce_now(&serve).await.unwrap();
    vec![hash.to_string()]
}

#[tokio::test]
async fn the_daemon_survives_faults_and_loses_nothing() {
    if !have("qbittorrent-nox") || !have("opentracker") {
        return;
    }
    let soak = soak_length();
    let mut tracker = Tracker::start(host()).await;
    let mut alice_qb = QbDaemon::start(QbOptions::default()).await;
    let bob_qb = QbDaemon::start(QbOptions::default()).await;
    let (alice, bob) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (alice.path(), bob.path());
    let (apw, bpw) = (alice_qb.password().to_owned(), bob_qb.password().to_owned());
    let (alice_url, bob_url) = (alice_qb.url().to_string(), bob_qb.url().to_string());
    init(a, &alice_qb, "qbittorrent", &alice_url, &apw, &tracker, &[]);
    init(b, &bob_qb, "qbittorrent", &bob_url, &bpw, &tracker, &[]);
    let config = std::fs::read_to_string(a.join("config.toml")).unwrap();
    let config = config[..config.find("[daemon]").unwrap()].to_owned() + CONFIG;
    std::fs::write(a.join("config.toml"), config).unwrap();

    // A torrent in another category of alice's client: never to be touched.
    let mut other = alice_qb.config();
    other.category = "not-upseed".into();
    let other = upseed_qbittorrent::Qbittorrent::new(other).unwrap();
    let foreign = new_post("someone else's torrent");
    tracker.allow(&[foreign.infohash()]).await;
    other
        .add(&[seedable(&alice_qb, &foreign, &tracker)])
        .await
        .unwrap();

    // Alice follows bob on a loopback DHT, which goes away mid-soak.
    let mut testnet = Some(mainline::Testnet::builder(5).build().unwrap());
    let mut dht = testnet.as_ref().unwrap().bootstrap.join(",");
    let bob_key = text(&upseed(b, &bpw, &["key", "show"]).stdout)
        .trim()
        .to_owned();
    let env = [
        ("UPSEED_DHT_ENABLED", "true"),
        ("UPSEED_DHT_BOOTSTRAP", dht.as_str()),
    ];
    let out = upseed_env(a, &apw, &["follow", &bob_key], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let log = a.join("daemon.log");
    let mut daemon = start_daemon(a, &apw, &log, &dht);
    let started = Instant::now();
    let mut written: Vec<String> = Vec::new();
    let mut n = 0;
    let mut faults: Vec<&str> = Vec::new();
    let mut obstacles = Obstacles::new(vec![alice_qb.posts_dir(), alice_qb.downloads_dir()]);
    let writing_until = soak.saturating_sub(Duration::from_secs(20));
    let at = |s: u64| Duration::from_secs(s) * u32::try_from(soak.as_secs() / 100).unwrap().max(1);
    let plan = [at(15), at(30), at(50), at(62), at(72), at(80), at(85)];
    let mut next_fault = 0;
    while started.elapsed() < soak {
        assert!(
            daemon.try_wait().unwrap().is_none(),
            "the daemon exited:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        if started.elapsed() < writing_until {
            written.extend(bob_writes(b, &bob_qb, &bpw, &tracker, n, &dht).await);
            n += 1;
        }
        if testnet.is_some() && started.elapsed() >= at(40) {
            // Every node of the DHT stops: the daemon's DHT round fails.
            drop(testnet.take());
            dht.clear();
            faults.push("DHT unreachable");
        }
        if next_fault < plan.len() && started.elapsed() >= plan[next_fault] {
            match next_fault {
                0 => {
                    alice_qb.stop();
                    alice_qb.start_again().await;
                    faults.push("client restarted");
                }
                1 => {
                    alice_qb.stop();
                    faults.push("client down");
                }
                2 => alice_qb.start_again().await,
                3 => {
                    tracker.stop();
                    faults.push("tracker down");
                }
                4 => {
                    tracker.start_again().await;
                    // The tracker forgot its peers; bob announces again.
                    let hashes: Vec<InfoHash> =
                        written.iter().map(|h| h.parse().unwrap()).collect();
                    bob_qb.client().announce_now(&hashes).await.unwrap();
                    obstacles.folders_read_only(&mut faults);
                }
                5 => obstacles.lock_store(a, &mut faults),
                _ => obstacles.clear(),
            }
            next_fault += 1;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    obstacles.clear();

    // Everything bob wrote reaches alice's store: a longer soak leaves a
    // longer backlog of outages to catch up on.
    let missing = until_all_arrive(a, &written, Duration::from_secs(90).max(soak / 4)).await;
    if !missing.is_empty() {
        let logged = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = logged.lines().rev().take(40).collect();
        let kept = std::env::temp_dir().join(format!("upseed-soak-{}.log", std::process::id()));
        let _ = std::fs::write(&kept, &logged);
        eprintln!("the daemon's whole log: {}", kept.display());
        let foreign: Vec<&String> = missing
            .iter()
            .filter(|h| {
                Store::open(&a.join("store.db"))
                    .and_then(|s| s.known_hashes())
                    .is_ok_and(|k| k.contains(&h.parse().unwrap()))
            })
            .collect();
        panic!(
            "{} of {} records of bob's never reached alice's store: {missing:?}; remembered as foreign: {foreign:?}\nlast log lines:\n{}",
            missing.len(),
            written.len(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    assert!(daemon.try_wait().unwrap().is_none(), "the daemon exited");

    // Nothing lost or duplicated in the client; the foreign torrent untouched.
    let store = Store::open(&a.join("store.db")).unwrap();
    let votes = store.votes().unwrap();
    let held = alice_qb.client().list(None).await.unwrap();
    let held_set: BTreeSet<InfoHash> = held.iter().map(|t| t.infohash).collect();
    assert_eq!(held.len(), held_set.len(), "no torrent twice");
    for (hash, _) in &votes {
        assert!(held_set.contains(hash), "voted {hash} is not in the client");
    }
    assert!(!held_set.contains(&foreign.infohash()));
    let theirs = other.list(Some(&[foreign.infohash()])).await.unwrap();
    assert_eq!(
        theirs.len(),
        1,
        "the other category's torrent is still there"
    );
    assert_eq!(
        theirs[0].tags,
        vec!["upseed-post".to_owned()],
        "and its tags are as they were"
    );

    // What the daemon did, from another terminal.
    let report = status(a, &apw);
    assert_eq!(report["running"], true, "{report}");
    let sync = step(&report, "sync");
    assert!(sync["runs"].as_u64().unwrap() >= 5, "{report}");
    assert!(
        sync["errors"].as_u64().unwrap() >= 1,
        "the client outage was survived: {report}"
    );
    assert_eq!(sync["outcome"], "ok", "{report}");
    let seeded = votes.len();
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("retrying in"), "backoff is logged");
    assert!(
        logged.contains("the DHT is unreachable"),
        "the DHT outage is logged"
    );
    assert!(
        logged.contains(r#""rule":"followed""#),
        "the followed author's posts were seeded"
    );
    assert!(
        !logged.contains(&apw),
        "the password never appears in the log"
    );
    for line in logged.lines() {
        serde_json::from_str::<Value>(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
    }
    eprintln!(
        "soak {} s: {} posts and comments by bob, faults survived: {:?}; sync runs {}, errors {}; seed runs {}, gc runs {}, gc errors {}; {seeded} torrents seeded by alice",
        soak.as_secs(),
        written.len(),
        faults,
        sync["runs"],
        sync["errors"],
        step(&report, "seed")["runs"],
        step(&report, "gc")["runs"],
        step(&report, "gc")["errors"],
    );

    // SIGTERM: the current step finishes or is cancelled, then a clean exit.
    signal(&daemon, nix::sys::signal::Signal::SIGTERM);
    assert_eq!(wait_exit(&mut daemon, Duration::from_secs(60)), Some(0));
    let report = status(a, &apw);
    assert_eq!(report["running"], false, "{report}");
    let records_before = store.record_hashes().unwrap().len();
    drop(store);

    // kill -9 mid-run, then a restart resumes and loses nothing.
    let mut daemon = start_daemon(a, &apw, &a.join("daemon2.log"), "");
    tokio::time::sleep(Duration::from_secs(4)).await;
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    let mut daemon = start_daemon(a, &apw, &a.join("daemon3.log"), "");
    let runs_before = step(&status(a, &apw), "sync")["runs"].as_u64().unwrap_or(0);
    upseed_tests::eventually(
        "a sync after the restart",
        Duration::from_secs(60),
        || async {
            let s = status(a, &apw);
            (step(&s, "sync")["runs"].as_u64().unwrap_or(0) > runs_before
                && step(&s, "sync")["outcome"] == "ok")
                .then_some(())
        },
    )
    .await;
    let store = Store::open(&a.join("store.db")).unwrap();
    assert!(store.record_hashes().unwrap().len() >= records_before);

    // Two signals: out at once.
    signal(&daemon, nix::sys::signal::Signal::SIGTERM);
    signal(&daemon, nix::sys::signal::Signal::SIGINT);
    let code = wait_exit(&mut daemon, Duration::from_secs(10));
    assert!(matches!(code, Some(0 | 130)), "{code:?}");
}

/// The soak with both users on the embedded engine, each engine held by
/// its user's own `upseed daemon`: alice's daemon is killed mid-soak and
/// started again (her client and her daemon are one process), the
/// tracker goes down and comes back, the DHT goes away, her folders turn
/// read-only, and another command holds her store. Nothing bob writes is
/// lost, every vote seeds again, and a SIGTERM still ends it cleanly.
#[tokio::test]
async fn the_daemon_on_the_engine_survives_faults_and_loses_nothing() {
    if !have("opentracker") {
        return;
    }
    let soak = soak_length();
    let mut tracker = Tracker::start(host()).await;
    let bin = common::bin();
    let (alice, alice_engine) = upseed_tests::story::engine_home(&bin, &tracker, None);
    let (bob, mut bob_engine) = upseed_tests::story::engine_home(&bin, &tracker, None);
    let (a, b) = (alice.path(), bob.path());
    let config = std::fs::read_to_string(a.join("config.toml")).unwrap();
    let config = config[..config.find("[daemon]").unwrap()].to_owned() + CONFIG;
    std::fs::write(a.join("config.toml"), config).unwrap();
    bob_engine.start(&[("UPSEED_DHT_ENABLED", "false")]).await;

    let mut testnet = Some(mainline::Testnet::builder(5).build().unwrap());
    let mut dht = testnet.as_ref().unwrap().bootstrap.join(",");
    let holds = |engine: &upseed_tests::embedded::EngineDaemon| {
        let remote = engine.client();
        async move {
            upseed_tests::eventually(
                "alice's daemon to hold her engine",
                Duration::from_secs(30),
                || async { remote.is_held().await.then_some(()) },
            )
            .await;
        }
    };
    let log = a.join("daemon.log");
    let mut daemon = start_daemon(a, "", &log, &dht);
    holds(&alice_engine).await;
    let bob_key = text(&upseed(b, "", &["key", "show"]).stdout)
        .trim()
        .to_owned();
    let env = [
        ("UPSEED_DHT_ENABLED", "true"),
        ("UPSEED_DHT_BOOTSTRAP", dht.as_str()),
    ];
    let out = upseed_env(a, "", &["follow", &bob_key], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let started = Instant::now();
    let mut written: Vec<String> = Vec::new();
    let mut faults: Vec<&str> = Vec::new();
    let mut obstacles =
        Obstacles::new(vec![alice_engine.posts_dir(), alice_engine.downloads_dir()]);
    let writing_until = soak.saturating_sub(Duration::from_secs(20));
    let at = |s: u64| Duration::from_secs(s) * u32::try_from(soak.as_secs() / 100).unwrap().max(1);
    let plan = [at(15), at(30), at(45), at(55), at(70), at(80)];
    let mut next_fault = 0;
    let mut n = 0;
    while started.elapsed() < soak {
        assert!(
            daemon.try_wait().unwrap().is_none(),
            "alice's daemon exited:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        if started.elapsed() < writing_until {
            written.extend(bob_writes(b, &bob_engine, "", &tracker, n, &dht).await);
            n += 1;
        }
        if testnet.is_some() && started.elapsed() >= at(40) {
            drop(testnet.take());
            dht.clear();
            faults.push("DHT unreachable");
        }
        if next_fault < plan.len() && started.elapsed() >= plan[next_fault] {
            match next_fault {
                0 => {
                    // The engine goes with its holder, mid-whatever.
                    daemon.kill().unwrap();
                    daemon.wait().unwrap();
                    daemon = start_daemon(a, "", &a.join("daemon-again.log"), &dht);
                    holds(&alice_engine).await;
                    faults.push("holder killed and started again");
                }
                1 => {
                    tracker.stop();
                    faults.push("tracker down");
                }
                2 => {
                    tracker.start_again().await;
                    let hashes: Vec<InfoHash> =
                        written.iter().map(|h| h.parse().unwrap()).collect();
                    bob_engine.client().announce_now(&hashes).await.unwrap();
                    obstacles.folders_read_only(&mut faults);
                }
                3 => obstacles.lock_store(a, &mut faults),
                _ => obstacles.clear(),
            }
            next_fault += 1;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    obstacles.clear();

    let missing = until_all_arrive(a, &written, Duration::from_secs(90).max(soak / 4)).await;
    let logged = [log.clone(), a.join("daemon-again.log")]
        .iter()
        .map(|l| std::fs::read_to_string(l).unwrap_or_default())
        .collect::<String>();
    assert!(
        missing.is_empty(),
        "{} of {} records of bob's never reached alice's store: {missing:?}\nlast log lines:\n{}",
        missing.len(),
        written.len(),
        logged.lines().rev().take(40).collect::<Vec<_>>().join("\n")
    );
    assert!(
        daemon.try_wait().unwrap().is_none(),
        "alice's daemon exited"
    );

    // Every vote is in alice's engine, once, and seeds.
    let store = Store::open(&a.join("store.db")).unwrap();
    let votes = store.votes().unwrap();
    assert!(!votes.is_empty(), "alice's daemon seeded bob's posts");
    let held = alice_engine.client().list(None).await.unwrap();
    let held_set: BTreeSet<InfoHash> = held.iter().map(|t| t.infohash).collect();
    assert_eq!(held.len(), held_set.len(), "no torrent twice");
    for (hash, _) in &votes {
        let status = held.iter().find(|t| t.infohash == *hash);
        assert!(
            status.is_some_and(|s| s.state.is_seeding()),
            "voted {hash} is not seeding in alice's engine: {status:?}"
        );
    }
    let report = status(a, "");
    assert_eq!(report["running"], true, "{report}");
    assert_eq!(step(&report, "sync")["outcome"], "ok", "{report}");
    assert!(
        logged.contains(r#""rule":"followed""#),
        "the followed author's posts were seeded"
    );
    for line in logged.lines() {
        serde_json::from_str::<Value>(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
    }
    eprintln!(
        "soak on the engine {} s: {} posts and comments by bob, faults survived: {:?}; {} torrents seeded by alice",
        soak.as_secs(),
        written.len(),
        faults,
        votes.len()
    );

    // SIGTERM: a clean exit, and the engine lets go of its folder.
    signal(&daemon, nix::sys::signal::Signal::SIGTERM);
    assert_eq!(wait_exit(&mut daemon, Duration::from_secs(60)), Some(0));
    assert!(!alice_engine.client().is_held().await);
    drop((alice, bob));
}
