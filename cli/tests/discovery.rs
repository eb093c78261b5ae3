//! Discovery without a server, on the `mainline` crate's loopback test
//! network and real qBittorrents: a stranger's community post reaches the
//! feed, a stranger's comment reaches the thread, following an author
//! brings their posts; an erased board is recovered from what readers saw
//! and from the author's outbox; a forged board entry is dropped; an
//! oversized profile is refused; an unreachable DHT leaves the feed
//! rendering from the store. Prints the post-to-feed and comment-to-thread
//! latencies.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use common::{TwoUsers, init, text, two_users, upseed, upseed_env};
use serde_json::Value;
use upseed_core::item::{self, encode_board};
use upseed_core::{Community, InfoHash, TorrentClient};
use upseed_node::store::Store;
use upseed_tests::qbittorrent::{QbDaemon, QbOptions};
use upseed_tests::tracker::Tracker;
use upseed_tests::{free_port, have, host};

struct Net {
    bootstrap: String,
}

/// A loopback test network of 8 nodes, and the settings that use it.
fn testnet() -> (mainline::Testnet, Net) {
    let testnet = mainline::Testnet::builder(8).build().unwrap();
    let net = Net {
        bootstrap: testnet.bootstrap.join(","),
    };
    (testnet, net)
}

impl Net {
    fn run(&self, home: &Path, password: &str, args: &[&str]) -> Output {
        upseed_env(
            home,
            password,
            args,
            &[
                ("UPSEED_DHT_ENABLED", "true"),
                ("UPSEED_DHT_BOOTSTRAP", &self.bootstrap),
                ("UPSEED_TRACKERS_FULL_SCRAPE", "false"),
            ],
        )
    }

    fn json(&self, home: &Path, password: &str, args: &[&str]) -> Value {
        let out = self.run(home, password, args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// Publishes a record with `args` and makes the tracker serve it.
async fn publish(
    net: &Net,
    home: &Path,
    qb: &QbDaemon,
    tracker: &Tracker,
    args: &[&str],
) -> String {
    let started = Instant::now();
    let out = net.json(home, qb.password(), args);
    eprintln!("{} took {:.1} s", args[0], started.elapsed().as_secs_f64());
    let hash: InfoHash = out["infohash"].as_str().unwrap().parse().unwrap();
    let mut serve = common::index_heads(home);
    serve.push(hash);
    tracker.allow(&serve).await;
    qb.client().announce_now(&serve).await.unwrap();
    hash.to_string()
}

fn items(feed: &Value) -> Vec<String> {
    feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["record"]["infohash"].as_str().unwrap().to_owned())
        .collect()
}

fn comments(thread: &Value) -> Vec<String> {
    thread["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["record"]["infohash"].as_str().unwrap().to_owned())
        .collect()
}

/// Polls `check` every half second for up to 30 s; returns the time it
/// took, and prints how long each attempt took.
fn until(what: &str, mut check: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    let mut attempts = Vec::new();
    loop {
        let attempt = Instant::now();
        let done = check();
        attempts.push(format!("{:.1}", attempt.elapsed().as_secs_f64()));
        if done {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!(
        "{what}: {:.1} s, attempts of [{}] s",
        start.elapsed().as_secs_f64(),
        attempts.join(", ")
    );
    start.elapsed()
}

#[tokio::test]
async fn strangers_and_followed_authors_are_found_on_the_dht() {
    if !have("qbittorrent-nox") || !have("opentracker") {
        return;
    }
    let (testnet, net) = testnet();
    let TwoUsers {
        tracker,
        alice_qb,
        bob_qb,
        alice,
        bob,
        apw,
        bpw,
    } = two_users().await;
    let (a, b) = (alice.path(), bob.path());
    let vandal = mainline::Dht::builder()
        .bootstrap(&testnet.bootstrap)
        .bind_address(std::net::Ipv4Addr::LOCALHOST)
        .build()
        .unwrap()
        .as_async();

    // A stranger's community post reaches alice's feed through the board:
    // first when alice has never read the community, then again once her
    // settled boards are no longer read.
    let mut post_to_feed = Vec::new();
    let mut posts = Vec::new();
    for (text, what) in [
        ("hello, rust", "bob's post in alice's rust feed"),
        ("hello again", "bob's second post in alice's rust feed"),
    ] {
        let start = Instant::now();
        let hash = publish(
            &net,
            b,
            &bob_qb,
            &tracker,
            &["post", "--json", "--community", "rust", text],
        )
        .await;
        until(what, || {
            items(&net.json(
                a,
                &apw,
                &["feed", "--community", "rust", "--sort", "new", "--json"],
            ))
            .contains(&hash)
        });
        post_to_feed.push(start.elapsed());
        posts.push(hash);
    }
    let post = posts.remove(0);

    // A stranger's comment reaches the author's thread through the reply board.
    let own = publish(
        &net,
        a,
        &alice_qb,
        &tracker,
        &["post", "--json", "alice asks"],
    )
    .await;
    let shown = net.run(b, &bpw, &["show", &own]);
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    let start = Instant::now();
    let reply = publish(
        &net,
        b,
        &bob_qb,
        &tracker,
        &["comment", "--json", &own, "bob answers"],
    )
    .await;
    until("bob's comment in alice's thread", || {
        comments(&net.json(a, &apw, &["thread", &own, "--json"])).contains(&reply)
    });
    let comment_to_thread = start.elapsed();

    // Following bob brings a post of his that no board lists.
    let quiet = publish(
        &net,
        b,
        &bob_qb,
        &tracker,
        &["post", "--json", "for followers"],
    )
    .await;
    let bob_key = String::from_utf8(
        std::process::Command::new(common::bin())
            .args([
                "--config",
                &b.join("config.toml").display().to_string(),
                "key",
                "show",
            ])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_owned();
    let out = net.run(a, &apw, &["follow", &bob_key]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    until("the followed author's post fetched by sync", || {
        let report = net.json(a, &apw, &["sync", "--json"]);
        assert_eq!(report["dht"]["outboxes"], 1, "{report}");
        Store::open(&a.join("store.db"))
            .unwrap()
            .record(quiet.parse().unwrap())
            .unwrap()
            .is_some()
    });
    // That sync also republished alice's outbox with the reply she has seen.

    // Bob writes more than his outbox item can hold. Alice still gets his
    // whole history: the item names his outbox index, which lists it all.
    let mut history = Vec::new();
    for i in 0..52 {
        let out = upseed(b, &bpw, &["post", "--json", &format!("history {i}")]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        history.push(
            json["infohash"]
                .as_str()
                .unwrap()
                .parse::<InfoHash>()
                .unwrap(),
        );
    }
    let report = net.json(b, &bpw, &["sync", "--json"]);
    let head: InfoHash = report["dht"]["publish"]["index"]
        .as_str()
        .unwrap_or_else(|| panic!("bob's index is published: {report}"))
        .parse()
        .unwrap();
    let mut serve = history.clone();
    serve.push(head);
    tracker.allow(&serve).await;
    bob_qb.client().announce_now(&serve).await.unwrap();
    let bob_public: upseed_core::PublicKey = bob_key.parse().unwrap();
    let in_item = vandal
        .get_mutable_most_recent(bob_public.as_bytes(), Some(item::OUTBOX_SALT))
        .await
        .map(|i| item::Outbox::decode(i.value()).unwrap())
        .unwrap();
    assert_eq!(in_item.index, Some(head));
    assert!(
        in_item.posts.len() < history.len(),
        "the item holds {} posts: the test needs more",
        in_item.posts.len()
    );
    until("bob's whole history in alice's store", || {
        let report = net.json(a, &apw, &["sync", "--json", "--fetch-limit", "100"]);
        assert_eq!(
            report["dht"]["index_errors"],
            serde_json::json!([]),
            "{report}"
        );
        let store = Store::open(&a.join("store.db")).unwrap();
        history.iter().all(|h| store.record(*h).unwrap().is_some())
    });

    // Bob's client lost his index, files and all: his next sync seeds it again.
    bob_qb.client().remove(&[head], true).await.unwrap();
    assert!(
        bob_qb
            .client()
            .list(Some(&[head]))
            .await
            .unwrap()
            .is_empty()
    );
    let report = net.json(b, &bpw, &["sync", "--json"]);
    assert_eq!(
        report["dht"]["publish"]["index"],
        head.to_string(),
        "{report}"
    );
    let back = bob_qb.client().list(Some(&[head])).await.unwrap();
    assert_eq!(back.len(), 1, "the index is seeded again");

    // A vandal erases the reply board; a new reader still finds the reply
    // in the author's outbox.
    let erase = |board: upseed_core::SecretKey| {
        let vandal = &vandal;
        async move {
            let key = mainline::SigningKey::from_bytes(&board.to_seed());
            let public = key.verifying_key().to_bytes();
            let newest = vandal
                .get_mutable_most_recent(&public, Some(item::BOARD_SALT))
                .await;
            let seq = newest.as_ref().map_or(1, |i| i.seq() + 1);
            let value = encode_board(&[]);
            let item = mainline::MutableItem::new(key, &value, seq, Some(item::BOARD_SALT));
            vandal
                .put_mutable(item, newest.map(|i| i.seq()))
                .await
                .unwrap();
        }
    };
    erase(item::reply_board(own.parse().unwrap())).await;
    let carol_qb = QbDaemon::start(QbOptions::default()).await;
    let carol = tempfile::tempdir().unwrap();
    let c = carol.path();
    let carol_url = carol_qb.url().to_string();
    init(
        c,
        &carol_qb,
        "qbittorrent",
        &carol_url,
        carol_qb.password(),
        &tracker,
        &[],
    );
    let out = net.run(c, carol_qb.password(), &["show", &own]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    until("the reply recovered from alice's outbox", || {
        let thread = net.json(c, carol_qb.password(), &["thread", &own, "--json"]);
        comments(&thread).contains(&reply)
    });

    // Alice, who read the community board before it was erased, keeps its entries.
    let rust = Community::normalize("rust").unwrap();
    let record = Store::open(&b.join("store.db"))
        .unwrap()
        .record(post.parse().unwrap())
        .unwrap()
        .unwrap();
    let board = item::community_board(
        &rust,
        item::bucket_of(record.created()),
        item::shard_of(record.infohash()),
    );
    erase(board.clone()).await;
    let feed = net.json(a, &apw, &["feed", "--community", "rust", "--json"]);
    assert!(items(&feed).contains(&post));
    let seen = Store::open(&a.join("store.db"))
        .unwrap()
        .board_seen(board.public_key(), &[], 0)
        .unwrap();
    assert!(
        seen.contains(&record.infohash()),
        "the union outlives the erase"
    );

    // A forged entry: a real post of another community, written onto the rust board.
    let go = publish(
        &net,
        b,
        &bob_qb,
        &tracker,
        &["post", "--json", "--community", "go", "hello, go"],
    )
    .await;
    let go_hash: InfoHash = go.parse().unwrap();
    let now_bucket = item::bucket_of(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    );
    let forged_board = item::community_board(&rust, now_bucket, 0);
    let key = mainline::SigningKey::from_bytes(&forged_board.to_seed());
    let public = key.verifying_key().to_bytes();
    let newest = vandal
        .get_mutable_most_recent(&public, Some(item::BOARD_SALT))
        .await;
    let item = mainline::MutableItem::new(
        key,
        &encode_board(&[item::BoardEntry::solve(go_hash)]),
        newest.as_ref().map_or(1, |i| i.seq() + 1),
        Some(item::BOARD_SALT),
    );
    vandal
        .put_mutable(item, newest.map(|i| i.seq()))
        .await
        .unwrap();
    // Nodes answer with what they hold; a reader sees the new version
    // within a few reads. The forged post never reaches the feed.
    until("the forged entry to be seen and dropped", || {
        let out = net.run(a, &apw, &["feed", "--community", "rust", "--json"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let feed: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(!items(&feed).contains(&go), "the forged entry is dropped");
        text(&out.stderr).contains("not what they claimed")
    });

    assert!(
        Store::open(&a.join("store.db"))
            .unwrap()
            .record(go_hash)
            .unwrap()
            .is_none()
    );

    // Too long for an outbox: refused, with the limit.
    let long = "x".repeat(400);
    let out = net.run(a, &apw, &["profile", "--about", &long]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("over the 280 bytes"),
        "{}",
        text(&out.stderr)
    );

    // No DHT at all: a clear warning, and the feed from the store.
    let dead = format!("{}:{}", host(), free_port(host()));
    let out = upseed_env(
        a,
        &apw,
        &["feed", "--community", "rust", "--json"],
        &[
            ("UPSEED_DHT_ENABLED", "true"),
            ("UPSEED_DHT_BOOTSTRAP", &dead),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("the DHT is unreachable"),
        "{}",
        text(&out.stderr)
    );
    let feed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        items(&feed).contains(&post),
        "the feed renders from the store"
    );

    eprintln!(
        "dht latency: post to a stranger's feed {:.1} s (first read of the community), {:.1} s (later), comment to the author's thread {:.1} s",
        post_to_feed[0].as_secs_f64(),
        post_to_feed[1].as_secs_f64(),
        comment_to_thread.as_secs_f64()
    );
}

/// Bob's key, as `upseed key show` prints it.
fn key_of(home: &Path) -> String {
    let out = std::process::Command::new(common::bin())
        .args([
            "--config",
            &home.join("config.toml").display().to_string(),
            "key",
            "show",
        ])
        .output()
        .unwrap();
    text(&out.stdout).trim().to_owned()
}

#[tokio::test]
async fn a_muted_author_is_unseeded_and_never_fetched_until_unmuted() {
    if !have("qbittorrent-nox") || !have("opentracker") {
        return;
    }
    let (_testnet, net) = testnet();
    let TwoUsers {
        tracker,
        alice_qb,
        bob_qb,
        alice,
        bob,
        apw,
        bpw,
    } = two_users().await;
    let (a, b) = (alice.path(), bob.path());
    let bob_key = key_of(b);

    // Alice reads and upvotes bob's post, then mutes him: her client stops
    // seeding it, and her feed leaves it out.
    let first = publish(
        &net,
        b,
        &bob_qb,
        &tracker,
        &["post", "--json", "--community", "rust", "bob's first"],
    )
    .await;
    until("bob's post in alice's rust feed", || {
        items(&net.json(
            a,
            &apw,
            &["feed", "--community", "rust", "--sort", "new", "--json"],
        ))
        .contains(&first)
    });
    let up = net.run(a, &apw, &["upvote", &first]);
    assert!(up.status.success(), "{}", text(&up.stderr));
    assert!(common::holds(&alice_qb, first.parse().unwrap()).await);
    let muted = net.json(a, &apw, &["mute", "author", &bob_key, "--json"]);
    assert_eq!(muted["unseeded"][0], first.as_str(), "{muted}");
    assert!(!common::holds(&alice_qb, first.parse().unwrap()).await);
    let feed = net.json(
        a,
        &apw,
        &["feed", "--community", "rust", "--sort", "new", "--json"],
    );
    assert!(!items(&feed).contains(&first), "{feed}");
    assert_eq!(feed["hidden"], 1, "{feed}");

    // Following him does not undo her mute: his outbox's posts are not
    // fetched, and a board's post by him is dropped once and not fetched again.
    let out = net.run(a, &apw, &["follow", &bob_key]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let quiet = publish(
        &net,
        b,
        &bob_qb,
        &tracker,
        &["post", "--json", "for followers"],
    )
    .await;
    let boarded = publish(
        &net,
        b,
        &bob_qb,
        &tracker,
        &["post", "--json", "--community", "rust", "bob's second"],
    )
    .await;
    let bob_sync = net.run(b, &bpw, &["sync"]);
    assert!(bob_sync.status.success(), "{}", text(&bob_sync.stderr));
    until("bob's outbox read by alice's sync", || {
        let report = net.json(a, &apw, &["sync", "--json"]);
        report["dht"]["outboxes"] == 1
    });
    let report = net.json(a, &apw, &["sync", "--json"]);
    assert_eq!(
        report["dht"]["leads"]["stored"],
        serde_json::json!([]),
        "{report}"
    );
    until("bob's board post seen and dropped", || {
        net.json(
            a,
            &apw,
            &["feed", "--community", "rust", "--sort", "new", "--json"],
        );
        let store = Store::open(&a.join("store.db")).unwrap();
        store
            .muted_records(upseed_node::now())
            .unwrap()
            .contains(&boarded.parse().unwrap())
    });
    let store = Store::open(&a.join("store.db")).unwrap();
    for hash in [&quiet, &boarded] {
        assert!(
            store.record(hash.parse().unwrap()).unwrap().is_none(),
            "{hash}"
        );
    }
    drop(store);

    // Unmuted, his posts come in with the next sync.
    let out = net.run(a, &apw, &["unmute", "author", &bob_key]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    until("bob's posts fetched once unmuted", || {
        net.json(a, &apw, &["sync", "--json"]);
        let store = Store::open(&a.join("store.db")).unwrap();
        store.record(quiet.parse().unwrap()).unwrap().is_some()
    });
    let feed = net.json(
        a,
        &apw,
        &["feed", "--community", "rust", "--sort", "new", "--json"],
    );
    assert!(items(&feed).contains(&boarded), "{feed}");
    assert_eq!(feed["hidden"], 0, "{feed}");
}

/// `home`'s rust feed, newest first, as JSON; with `show`, muted posts
/// are shown marked.
fn rust_feed(net: &Net, home: &Path, password: &str, show: bool) -> Value {
    let mut args = vec!["feed", "--community", "rust", "--sort", "new", "--json"];
    if show {
        args.push("--show-muted");
    }
    net.json(home, password, &args)
}

#[tokio::test]
async fn a_subscribed_mute_list_hides_until_its_author_drops_the_entry() {
    if !have("qbittorrent-nox") || !have("opentracker") {
        return;
    }
    let (_testnet, net) = testnet();
    // Alice plays carol, who publishes her list; dave subscribes to it.
    let TwoUsers {
        tracker,
        alice_qb: carol_qb,
        bob_qb,
        alice: carol,
        bob,
        apw: cpw,
        bpw: _,
    } = two_users().await;
    let dave_qb = QbDaemon::start(QbOptions::default()).await;
    let dave = tempfile::tempdir().unwrap();
    let dpw = dave_qb.password().to_owned();
    let url = dave_qb.url().to_string();
    init(
        dave.path(),
        &dave_qb,
        "qbittorrent",
        &url,
        &dpw,
        &tracker,
        &[],
    );
    let (c, b, d) = (carol.path(), bob.path(), dave.path());
    let (bob_key, carol_key) = (key_of(b), key_of(c));

    let post = publish(
        &net,
        b,
        &bob_qb,
        &tracker,
        &["post", "--json", "--community", "rust", "bob on lists"],
    )
    .await;
    until("bob's post in dave's rust feed", || {
        items(&rust_feed(&net, d, &dpw, false)).contains(&post)
    });

    // Carol mutes bob and publishes; dave subscribes, and bob is gone.
    net.json(c, &cpw, &["mute", "author", &bob_key, "--json"]);
    let published = net.json(c, &cpw, &["mutes", "publish", "--json"]);
    assert_eq!(
        (&published["announced"], &published["entries"]),
        (&Value::Bool(true), &Value::from(1)),
        "{published}"
    );
    let subscribed = net.json(d, &dpw, &["mutes", "subscribe", &carol_key, "--json"]);
    assert_eq!(subscribed["list"]["entries"], 1, "{subscribed}");
    let feed = rust_feed(&net, d, &dpw, false);
    assert!(!items(&feed).contains(&post), "{feed}");
    assert_eq!(feed["hidden"], 1, "{feed}");
    let shown = rust_feed(&net, d, &dpw, true);
    assert_eq!(
        shown["items"][0]["muted"]["list"],
        carol_key.as_str(),
        "{shown}"
    );

    // Carol unmutes bob: after her sync, dave's brings him back.
    net.json(c, &cpw, &["unmute", "author", &bob_key, "--json"]);
    let out = net.run(c, &cpw, &["sync"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    until("carol's unmute reaches dave", || {
        net.json(d, &dpw, &["sync", "--json"]);
        rust_feed(&net, d, &dpw, false)["hidden"] == 0
    });
    assert!(items(&rust_feed(&net, d, &dpw, false)).contains(&post));

    // Muted again, in a list too long for an item: carol's qBittorrent
    // seeds it and dave's fetches it.
    for i in 0..60 {
        let word = format!("noise{i}");
        let out = net.run(c, &cpw, &["mute", "word", &word]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    net.json(c, &cpw, &["mute", "author", &bob_key, "--json"]);
    let published = net.json(c, &cpw, &["mutes", "publish", "--json"]);
    let torrent: InfoHash = published["torrent"].as_str().unwrap().parse().unwrap();
    tracker.allow(&[torrent]).await;
    carol_qb.client().announce_now(&[torrent]).await.unwrap();
    until("carol's long list reaches dave", || {
        let report = net.json(d, &dpw, &["sync", "--json"]);
        eprintln!("{}", report["dht"]["mute_lists"]);
        rust_feed(&net, d, &dpw, false)["hidden"] == 1
    });
    let lists = net.json(d, &dpw, &["mutes", "--json"]);
    assert_eq!(lists["lists"][0]["entries"], 61, "{lists}");

    // Dave follows bob: carol's list no longer hides him from dave.
    let out = net.run(d, &dpw, &["follow", &bob_key]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let feed = rust_feed(&net, d, &dpw, false);
    assert!(items(&feed).contains(&post), "{feed}");
    assert_eq!(feed["hidden"], 0, "{feed}");
}

#[tokio::test]
async fn a_follower_sees_an_edit_and_stops_seeding_a_delete() {
    if !have("qbittorrent-nox") || !have("opentracker") {
        return;
    }
    let (_testnet, net) = testnet();
    let TwoUsers {
        tracker,
        alice_qb,
        bob_qb,
        alice,
        bob,
        apw,
        bpw,
    } = two_users().await;
    let (a, b) = (alice.path(), bob.path());
    let post = publish(
        &net,
        a,
        &alice_qb,
        &tracker,
        &["post", "--json", "--title", "Draft", "the first words"],
    )
    .await;
    let out = net.run(b, &bpw, &["follow", &key_of(a)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    until("alice's post in bob's store", || {
        net.json(b, &bpw, &["sync", "--json"]);
        Store::open(&b.join("store.db"))
            .unwrap()
            .record(post.parse().unwrap())
            .unwrap()
            .is_some()
    });
    let up = net.run(b, &bpw, &["upvote", &post]);
    assert!(up.status.success(), "{}", text(&up.stderr));

    // Alice edits: the new version and her index are served, and bob's
    // sync reads the edit from her history and fetches the new text.
    let edited = net.json(a, &apw, &["edit", "--json", &post, "the better words"]);
    let new: InfoHash = edited["replacement"].as_str().unwrap().parse().unwrap();
    let mut serve = common::index_heads(a);
    serve.push(new);
    tracker.allow(&serve).await;
    alice_qb.client().announce_now(&serve).await.unwrap();
    until("the edit in bob's thread", || {
        net.json(b, &bpw, &["sync", "--json"]);
        let thread = net.json(b, &bpw, &["thread", "--json", &post]);
        thread["post"]["edit"]["latest"]["body"] == "the better words"
    });
    let feed = net.json(b, &bpw, &["feed", "--json", "--sort", "new"]);
    assert_eq!(
        items(&feed),
        vec![post.clone()],
        "one post, under its id: {feed}"
    );

    // Alice deletes: bob's next sync learns it and his gc stops seeding.
    let out = net.run(a, &apw, &["delete", &post]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let serve = common::index_heads(a);
    tracker.allow(&serve).await;
    alice_qb.client().announce_now(&serve).await.unwrap();
    until("the delete in bob's store", || {
        net.json(b, &bpw, &["sync", "--json"]);
        let thread = net.json(b, &bpw, &["thread", "--json", &post]);
        thread["post"]["edit"]["deleted"] == true
    });
    assert!(common::holds(&bob_qb, post.parse().unwrap()).await);
    let gc = net.json(b, &bpw, &["gc", "--json"]);
    assert!(
        gc["stopped"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["infohash"] == post.as_str()),
        "{gc}"
    );
    assert!(!common::holds(&bob_qb, post.parse().unwrap()).await);
    assert!(!common::holds(&alice_qb, post.parse().unwrap()).await);
    assert!(!common::holds(&alice_qb, new).await);
}
