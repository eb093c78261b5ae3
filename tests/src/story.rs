//! The end-to-end story, shared by the test and the demo: alice on
//! qBittorrent posts; bob on Transmission shows, upvotes and comments;
//! alice's thread shows bob's comment and two seeders; bob's top feed of
//! the day ranks alice's post above carol's, which fewer people seed; and
//! bob's unvote removes it from his client.
//!
//! Every step runs the real `upseed` binary against real daemons. Debian's
//! opentracker is whitelist-only: after each post the story allows the new
//! hash, as a community tracker's operator would, and asks the client to
//! announce again.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use upseed_core::{InfoHash, TorrentClient};

use crate::conformance::{Node, wait_seeding};
use crate::embedded::EngineDaemon;
use crate::eventually;
use crate::qbittorrent::{QbDaemon, QbOptions};
use crate::tracker::Tracker;
use crate::transmission::TrDaemon;

/// One user: an upseed home beside a client.
pub(crate) struct User<'a, N: Node> {
    name: &'static str,
    pub(crate) node: &'a N,
    password: String,
    pub(crate) home: tempfile::TempDir,
    upseed: PathBuf,
    narrate: bool,
}

impl<N: Node> User<'_, N> {
    /// Runs `upseed ARGS` as this user; returns stdout, or panics with stderr.
    pub(crate) fn try_run(&self, args: &[&str]) -> Result<String, String> {
        if self.narrate {
            println!("{}$ upseed {}", self.name, args.join(" "));
        }
        let out = Command::new(&self.upseed)
            .arg("--config")
            .arg(self.home.path().join("config.toml"))
            .args(args)
            .env("UPSEED_CLIENT_PASSWORD", &self.password)
            .env("UPSEED_DHT_ENABLED", "false")
            .env("NO_COLOR", "1")
            .env_remove("UPSEED_HOME")
            .output()
            .expect("run upseed");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if out.status.success() {
            if self.narrate && !args.contains(&"--json") {
                print!("{stdout}");
            }
            Ok(stdout)
        } else {
            Err(format!(
                "{}: upseed {} failed with {}:\n{stderr}",
                self.name,
                args.join(" "),
                out.status
            ))
        }
    }

    pub(crate) fn run(&self, args: &[&str]) -> String {
        match self.try_run(args) {
            Ok(out) => out,
            Err(error) => panic!("{error}\n{}", self.node.log_tail()),
        }
    }

    pub(crate) fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.push("--json");
        serde_json::from_str(&self.run(&args)).expect("JSON output")
    }

    pub(crate) fn init(&self, kind: &str, url: &str, tracker: &Tracker) {
        let args = init_args(self.node, kind, url, tracker);
        self.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    }

    /// Publishes with `args` (post or comment), lets the tracker accept the
    /// new hash, and has the client announce it.
    pub(crate) async fn publish(&self, args: &[&str], tracker: &Tracker) -> InfoHash {
        let out = self.json(args);
        let hash: InfoHash = out["infohash"]
            .as_str()
            .and_then(|h| h.parse().ok())
            .expect("infohash");
        tracker.allow(&[hash]).await;
        let client = self.node.client();
        wait_seeding(&client, hash, Duration::from_secs(30)).await;
        client.announce_now(&[hash]).await.expect("announce");
        hash
    }

    pub(crate) async fn holds(&self, hash: InfoHash) -> bool {
        !self
            .node
            .client()
            .list(Some(&[hash]))
            .await
            .expect("list")
            .is_empty()
    }
}

/// `upseed init` arguments for a user of `node`'s client at `url`, with
/// the node's folders and the tracker.
/// The embedded engine has no URL and no login: `kind` "embedded" leaves
/// both out.
pub fn init_args<N: Node>(node: &N, kind: &str, url: &str, tracker: &Tracker) -> Vec<String> {
    let login: &[&str] = if kind == "embedded" {
        &[]
    } else {
        &["--url", url, "--username", "tester"]
    };
    ["init", "--client", kind]
        .into_iter()
        .chain(login.iter().copied())
        .chain([
            "--posts-dir",
            &node.posts_dir().to_string_lossy(),
            "--downloads-dir",
            &node.downloads_dir().to_string_lossy(),
            "--tracker",
            &tracker.announce_url(),
        ])
        .map(str::to_owned)
        .collect()
}

/// An upseed home for `node`, initialised by the `upseed` binary at
/// `upseed`, whose client password is in a file of mode 0600: what a
/// process with none of upseed's environment (the client's completion
/// hook, a benchmark's children) needs.
pub fn home_with_password_file<N: Node>(
    upseed: &Path,
    node: &N,
    kind: &str,
    url: &str,
    password: &str,
    tracker: &Tracker,
) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().expect("a temporary folder");
    let password_file = home.path().join("client-password");
    std::fs::write(&password_file, password).expect("the password file");
    std::fs::set_permissions(&password_file, std::fs::Permissions::from_mode(0o600))
        .expect("the password file's mode");
    let out = std::process::Command::new(upseed)
        .arg("--config")
        .arg(home.path().join("config.toml"))
        .args(init_args(node, kind, url, tracker))
        .arg("--password-file")
        .arg(&password_file)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run upseed init");
    assert!(
        out.status.success(),
        "upseed init failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    home
}

pub(crate) fn new_user<'a, N: Node>(
    name: &'static str,
    node: &'a N,
    password: &str,
    upseed: &Path,
    narrate: bool,
) -> User<'a, N> {
    if narrate {
        println!("\n== {name}");
    }
    User {
        name,
        node,
        password: password.to_owned(),
        home: tempfile::tempdir().expect("temporary folder"),
        upseed: upseed.to_owned(),
        narrate,
    }
}

/// A user on the embedded engine: `upseed init --client embedded` in a
/// fresh home, then `upseed daemon`, which holds the engine; every later
/// command hands its work to that daemon.
pub async fn engine_user(
    name: &'static str,
    upseed: &Path,
    tracker: &Tracker,
    narrate: bool,
) -> (tempfile::TempDir, EngineDaemon) {
    if narrate {
        println!("\n== {name}");
    }
    let (home, mut engine) = engine_home(upseed, tracker, narrate.then_some(name));
    if narrate {
        println!("{name}$ upseed daemon &");
    }
    engine.start(&[("UPSEED_DHT_ENABLED", "false")]).await;
    (home, engine)
}

/// A home set up for the embedded engine by `upseed init` (narrated as
/// `narrate`'s when given), its engine not yet held: start a holder with
/// [`EngineDaemon::start_holder`].
pub fn engine_home(
    upseed: &Path,
    tracker: &Tracker,
    narrate: Option<&str>,
) -> (tempfile::TempDir, EngineDaemon) {
    let home = tempfile::tempdir().expect("temporary folder");
    let engine = EngineDaemon::new(home.path(), upseed);
    let args = init_args(&engine, "embedded", "", tracker);
    if let Some(name) = narrate {
        println!("{name}$ upseed {}", args.join(" "));
    }
    let out = Command::new(upseed)
        .arg("--config")
        .arg(home.path().join("config.toml"))
        .args(&args)
        .env("UPSEED_DHT_ENABLED", "false")
        .env_remove("UPSEED_HOME")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run upseed init");
    assert!(
        out.status.success(),
        "upseed init failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    if narrate.is_some() {
        print!("{}", String::from_utf8_lossy(&out.stderr));
    }
    (home, engine)
}

fn user_at<'a, N: Node>(
    name: &'static str,
    node: &'a N,
    home: tempfile::TempDir,
    upseed: &Path,
    narrate: bool,
) -> User<'a, N> {
    User {
        name,
        node,
        password: String::new(),
        home,
        upseed: upseed.to_owned(),
        narrate,
    }
}

/// Runs the whole story with the `upseed` binary at `upseed`, printing
/// each command and its output when `narrate`. Panics on the first step
/// that does not do what it should.
pub async fn run(upseed: &Path, narrate: bool) {
    let tracker = Tracker::start(crate::host()).await;
    let alice_qb = QbDaemon::start(QbOptions::default()).await;
    let carol_qb = QbDaemon::start(QbOptions::default()).await;
    let bob_tr = TrDaemon::start(crate::host()).await;

    let alice = new_user("alice", &alice_qb, alice_qb.password(), upseed, narrate);
    alice.init("qbittorrent", alice_qb.url().as_str(), &tracker);
    let carol = new_user("carol", &carol_qb, carol_qb.password(), upseed, narrate);
    carol.init("qbittorrent", carol_qb.url().as_str(), &tracker);
    let bob = new_user("bob", &bob_tr, bob_tr.password(), upseed, narrate);
    bob.init("transmission", bob_tr.url().as_str(), &tracker);
    bob.run(&["doctor"]);

    steps(&tracker, &alice, &bob, &carol, narrate).await;
    drop((tracker, alice_qb, carol_qb));
}

/// The same story with every user on the embedded engine, each engine
/// held by the user's own `upseed daemon`: no BitTorrent client, no root,
/// no namespace.
pub async fn run_embedded(upseed: &Path, narrate: bool) {
    let tracker = Tracker::start(crate::host()).await;
    let (alice_home, alice_engine) = engine_user("alice", upseed, &tracker, narrate).await;
    let (carol_home, carol_engine) = engine_user("carol", upseed, &tracker, narrate).await;
    let (bob_home, bob_engine) = engine_user("bob", upseed, &tracker, narrate).await;
    let alice = user_at("alice", &alice_engine, alice_home, upseed, narrate);
    let carol = user_at("carol", &carol_engine, carol_home, upseed, narrate);
    let bob = user_at("bob", &bob_engine, bob_home, upseed, narrate);
    steps(&tracker, &alice, &bob, &carol, narrate).await;
}

/// The story's steps, whatever clients the users run.
async fn steps<A: Node, B: Node, C: Node>(
    tracker: &Tracker,
    alice: &User<'_, A>,
    bob: &User<'_, B>,
    carol: &User<'_, C>,
    narrate: bool,
) {
    bob.run(&["doctor"]);
    // carol's fixture posts: only carol seeds them.
    let mut fixtures = Vec::new();
    for text in ["Fixture one: seeded by its author alone.", "Fixture two."] {
        fixtures.push(carol.publish(&["post", text], tracker).await);
    }

    // 1. alice posts.
    let post = alice
        .publish(
            &[
                "post",
                "--title",
                "Torrents are immutable",
                "So is this post. Seed it if you like it.",
            ],
            tracker,
        )
        .await;
    let post_hex = post.to_string();

    // 2. bob shows it by infohash: fetched, verified, printed, not kept.
    let shown = bob.run(&["show", &post_hex]);
    assert!(shown.contains("So is this post."), "{shown}");
    assert!(
        !bob.holds(post).await,
        "reading without upvoting left the torrent in bob's client"
    );

    // 3. bob upvotes: his client seeds it.
    bob.run(&["upvote", &post_hex]);
    wait_seeding(&bob.node.client(), post, Duration::from_secs(60)).await;
    bob.node
        .client()
        .announce_now(&[post])
        .await
        .expect("announce");

    // 4. bob comments.
    let comment = bob
        .publish(&["comment", &post_hex, "Seeding is my upvote."], tracker)
        .await;

    // 5. alice's thread shows bob's comment and two seeders.
    let thread = eventually(
        "alice to see bob's comment and 2 seeders",
        Duration::from_secs(180),
        || async {
            alice.try_run(&["sync", "--json"]).ok()?;
            let thread = alice.json(&["thread", &post_hex]);
            let has_comment = thread["comments"]
                .as_array()?
                .iter()
                .any(|c| c["record"]["infohash"] == comment.to_string());
            (has_comment && thread["post"]["seeders"] == 2).then_some(thread)
        },
    )
    .await;
    assert_eq!(
        thread["comments"][0]["record"]["author"]
            .as_str()
            .map(str::len),
        Some(52)
    );
    if narrate {
        alice.run(&["thread", &post_hex]);
    }

    // 6. bob's top feed of the day ranks alice's post above carol's.
    let feed = eventually(
        "bob's feed to list all three posts with counts",
        Duration::from_secs(180),
        || async {
            bob.try_run(&["sync", "--json"]).ok()?;
            let feed = bob.json(&["feed", "--sort", "top", "--window", "day"]);
            let items = feed["items"].as_array()?;
            let seeders = |hash: InfoHash| {
                items
                    .iter()
                    .find(|i| i["record"]["infohash"] == hash.to_string())
                    .and_then(|i| i["seeders"].as_u64())
            };
            let ready = seeders(post) == Some(2) && fixtures.iter().all(|f| seeders(*f) == Some(1));
            ready.then_some(feed)
        },
    )
    .await;
    assert_eq!(feed["items"][0]["record"]["infohash"], post_hex);
    assert_eq!(feed["items"].as_array().map(Vec::len), Some(3));
    if narrate {
        bob.run(&["feed", "--sort", "top", "--window", "day"]);
    }

    // 7. bob unvotes: gone from his client, with its file.
    bob.run(&["unvote", &post_hex]);
    assert!(
        !bob.holds(post).await,
        "unvote left the torrent in bob's client"
    );
    assert!(bob.holds(comment).await, "bob still seeds his own comment");
}
