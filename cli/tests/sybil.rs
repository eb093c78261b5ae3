//! The sybil attack on real daemons: honest users, each with a real
//! qBittorrent, follow each other, post and upvote on mainline's loopback
//! test network and a real opentracker. An attacker then seeds one post
//! of its own from a real qBittorrent, has throwaway keys publish signed
//! upvotes of it, announces fake seeders for it from one process on many
//! ports, and floods the community board with entries that prove no work.
//!
//! The reader's trusted ranking and the board's real entries must come
//! through unchanged; the swarm's seeder count does not, and says so.
//!
//! By default this is the small version the test suite runs (4 honest
//! users, 20 keys, 30 fake seeders, 140 board entries). `bench/sybil`
//! runs it at full size (`UPSEED_SYBIL=full`: 20 users, 1,000 keys, 1,000
//! seeders, 10,000 entries) and prints the report.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::net::Ipv4Addr;

use futures_util::future::join_all;
use std::time::{Duration, Instant};

use upseed_core::item::{self, BoardEntry, Outbox};
use upseed_core::rank::{Basis, Sort, Window};
use upseed_core::{ClientKind, InfoHash, Password, PublicKey, SecretKey, TorrentClient};
use upseed_node::config::DhtSection;
use upseed_node::dht::Dht;
use upseed_node::sync::SyncOptions;
use upseed_node::{FeedQuery, Home, Node, PostInput, Vars, keyfile};
use upseed_qbittorrent::Qbittorrent;
use upseed_tests::qbittorrent::{QbDaemon, QbOptions};
use upseed_tests::tracker::Tracker;
use upseed_tests::{have, host};

/// How big the attack is.
#[derive(Debug, Clone, Copy)]
struct Scale {
    honest: usize,
    sybils: usize,
    fake_seeders: usize,
    flood: usize,
}

impl Scale {
    fn from_env() -> Self {
        if std::env::var("UPSEED_SYBIL").as_deref() == Ok("full") {
            Self {
                honest: 20,
                sybils: 1_000,
                fake_seeders: 1_000,
                flood: 10_000,
            }
        } else {
            Self {
                honest: 4,
                sybils: 20,
                fake_seeders: 30,
                flood: 4 * item::BOARD_CAPACITY,
            }
        }
    }
}

struct User {
    _home: tempfile::TempDir,
    qb: QbDaemon,
    node: Node<Qbittorrent>,
    key: PublicKey,
}

async fn user(bootstrap: &[String], tracker: &Tracker) -> User {
    let qb = QbDaemon::start(QbOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let home = Home::in_dir(dir.path());
    let secret = SecretKey::generate().unwrap();
    keyfile::create(&home.identity, &secret).unwrap();
    let mut config = upseed_node::fake::config(dir.path());
    config.client.kind = ClientKind::Qbittorrent;
    config.client.url = qb.url().clone();
    config.trackers.urls = vec![tracker.announce_url()];
    config.trackers.full_scrape = false;
    config.dht = DhtSection {
        enabled: true,
        bootstrap: bootstrap.to_vec(),
        bind: Some(Ipv4Addr::LOCALHOST),
        ..DhtSection::default()
    };
    config.verify.posts_per_sync = 64;
    config.verify.peers_per_post = 8;
    config.verify.timeout = Duration::from_secs(3);
    let (url, password) = (qb.url().clone(), qb.password().to_owned());
    let node = Node::new(home, Vars::default(), move |_, _| {
        let config =
            upseed_qbittorrent::Config::new(url.clone(), "tester", Some(Password::new(&password)));
        Ok(Qbittorrent::new(config)?)
    })
    .with_config(config);
    User {
        _home: dir,
        qb,
        node,
        key: secret.public_key(),
    }
}

fn options() -> SyncOptions {
    SyncOptions {
        fetch_limit: 64,
        fetch_timeout: Duration::from_secs(10),
        scrape_timeout: Duration::from_secs(2),
    }
}

/// Lets the tracker serve what `user` seeds (its posts, upvotes and
/// outbox index), and has its client announce them at once.
async fn serve(tracker: &Tracker, user: &User) {
    let client = user.qb.client();
    let held: Vec<InfoHash> = client
        .list(None)
        .await
        .unwrap()
        .iter()
        .map(|t| t.infohash)
        .collect();
    tracker.allow(&held).await;
    client.announce_now(&held).await.unwrap();
}

/// The reader's top posts of all time by `by`, with each one's counts:
/// (infohash, trusted, verified, seeders).
async fn top(reader: &User, by: Basis) -> Vec<(InfoHash, u32, u32, u32)> {
    let feed = reader
        .node
        .feed(&FeedQuery {
            sort: Sort::Top(Window::All),
            limit: 10,
            by: Some(by),
            ..FeedQuery::default()
        })
        .await
        .unwrap();
    feed.items
        .iter()
        .map(|i| (i.record.infohash, i.trusted, i.verified, i.seeders))
        .collect()
}

/// `reader`'s feed of `rust`, which reads the community's boards and
/// fetches what they name, waiting up to a minute.
async fn community_feed(reader: &User) -> upseed_node::FeedJson {
    reader
        .node
        .feed(&FeedQuery {
            community: Some("rust".into()),
            timeout: Duration::from_secs(60),
            ..FeedQuery::default()
        })
        .await
        .unwrap()
}

/// A sync of every user at once.
async fn sync_all(users: &[User]) {
    let options = options();
    for report in join_all(users.iter().map(|u| u.node.sync(&options))).await {
        report.unwrap();
    }
}

fn table(title: &str, rows: &[(InfoHash, u32, u32, u32)], attacker: InfoHash) {
    eprintln!("{title}");
    eprintln!("  rank  post                trusted  verified  seeders");
    for (i, (hash, trusted, verified, seeders)) in rows.iter().enumerate() {
        let who = if *hash == attacker {
            "ATTACKER"
        } else {
            "honest"
        };
        eprintln!(
            "  {:>4}  {who:<8} {}  {trusted:>7}  {verified:>8}  {seeders:>7}",
            i + 1,
            &hash.to_string()[..8]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sybil_attack_moves_neither_trusted_counts_nor_the_board() {
    if !have("qbittorrent-nox") || !have("opentracker") {
        return;
    }
    let scale = Scale::from_env();
    let begun = Instant::now();
    let phase = |what: &str| eprintln!("[{:>6.1} s] {what}", begun.elapsed().as_secs_f64());
    let testnet = mainline::Testnet::builder(8).build().unwrap();
    let tracker = Tracker::start(host()).await;
    let mut honest = Vec::new();
    for _ in 0..scale.honest {
        honest.push(user(&testnet.bootstrap, &tracker).await);
    }
    let n = honest.len();
    phase("users started");

    // Each user posts in `rust`, and follows the next three.
    let keys: Vec<PublicKey> = honest.iter().map(|u| u.key).collect();
    let keys = &keys;
    let posts: Vec<InfoHash> = join_all(honest.iter().enumerate().map(|(i, u)| async move {
        let posted = u
            .node
            .post(&PostInput {
                text: format!("honest post {i}"),
                title: Some(format!("honest {i}")),
                community: Some("rust".into()),
            })
            .await
            .unwrap();
        for step in 1..=3.min(n - 1) {
            u.node.follow(keys[(i + step) % n], true).await.unwrap();
        }
        posted.record.infohash()
    }))
    .await;
    for u in &honest {
        serve(&tracker, u).await;
    }
    phase("posted and followed");
    // Each syncs (reading the outboxes it follows), then upvotes the
    // posts of the next `i % 3 + 1` users, so counts differ.
    sync_all(&honest).await;
    let posts = &posts;
    join_all(honest.iter().enumerate().map(|(i, u)| async move {
        for step in 1..=(i % 3 + 1).min(n - 1) {
            let post = posts[(i + step) % n].to_string();
            u.node.upvote(&post, Duration::from_secs(60)).await.unwrap();
        }
    }))
    .await;
    for u in &honest {
        serve(&tracker, u).await;
    }
    phase("upvoted");
    let reader = &honest[0];
    sync_all(&honest).await;
    reader.node.sync(&options()).await.unwrap();
    // The reader browses the community, so that it knows every honest
    // post before the attack.
    let rust_feed = community_feed(reader).await;
    phase("synced");
    eprintln!(
        "before the attack the reader's community feed lists {} of the {n} honest posts",
        rust_feed.items.len()
    );
    assert!(
        rust_feed.items.len() == n.min(25) || scale.honest > 4,
        "every honest post: {rust_feed:?}"
    );
    let trusted_before = top(reader, Basis::Trusted).await;
    assert!(
        trusted_before.iter().any(|(_, trusted, _, _)| *trusted > 1),
        "the web of trust counts upvotes: {trusted_before:?}"
    );

    // The attack. Its post is real, seeded by the attacker's own client,
    // and carries the board's work: one post costs little.
    let mallory = user(&testnet.bootstrap, &tracker).await;
    let attack = Instant::now();
    let target = mallory
        .node
        .post(&PostInput {
            text: "buy my agenda".into(),
            title: Some("the agenda".into()),
            community: Some("rust".into()),
        })
        .await
        .unwrap()
        .record;
    let target_hash = target.infohash();
    serve(&tracker, &mallory).await;
    let dht = Dht::join(&mallory.node.config().unwrap().dht)
        .await
        .unwrap()
        .unwrap();

    // Throwaway keys publish signed upvotes of it, and follow each other.
    let started = Instant::now();
    let sybils: Vec<SecretKey> = (0..scale.sybils)
        .map(|_| SecretKey::generate().unwrap())
        .collect();
    let outboxes: Vec<(usize, Outbox)> = (0..sybils.len())
        .map(|i| {
            let follows = (1..=8)
                .map(|step| sybils[(i + step) % sybils.len()].public_key())
                .collect();
            let outbox = Outbox {
                upvotes: vec![target_hash],
                follows,
                ..Outbox::default()
            };
            (i, outbox)
        })
        .collect();
    for batch in outboxes.chunks(8) {
        let puts = batch
            .iter()
            .map(|(i, outbox)| dht.publish_outbox(&sybils[*i], outbox));
        for put in join_all(puts).await {
            put.unwrap();
        }
    }
    let sybil_time = started.elapsed();

    // Fake seeders, announced from one process on many ports.
    let started = Instant::now();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let escaped: String = target_hash
        .as_bytes()
        .iter()
        .map(|b| format!("%{b:02X}"))
        .collect();
    for i in 0..scale.fake_seeders {
        let port = 20_000 + i;
        let url = format!(
            "{}?info_hash={escaped}&peer_id=-XX0001-{i:012}&port={port}&uploaded=0&downloaded=0&left=0&compact=1&event=started",
            tracker.announce_url()
        );
        assert!(http.get(&url).send().await.unwrap().status().is_success());
    }
    let announce_time = started.elapsed();

    // The flood: entries without work on every shard of today's board.
    let started = Instant::now();
    let rust = target.community().unwrap().clone();
    let bucket = item::bucket_of(target.created());
    let junk: Vec<BoardEntry> = (0..scale.flood as u64)
        .map(|n| BoardEntry {
            hash: InfoHash::of_info(&n.to_be_bytes()),
            nonce: n,
        })
        .filter(|e| !e.proves_work())
        .collect();
    let flooded = junk.len();
    // Each shard's board is written in turn, the shards at once.
    let shards = item::SHARDS as usize;
    let (rust, dht_ref) = (&rust, &dht);
    // A write that loses a race (the DHT's compare-and-swap) is tried
    // again, as a flooder would.
    let lost: usize = join_all((0..shards).map(|shard| {
        let mine: Vec<BoardEntry> = junk.iter().skip(shard).step_by(shards).copied().collect();
        async move {
            let board = item::community_board(rust, bucket, shard as u8);
            let mut lost = 0;
            for chunk in mine.chunks(item::BOARD_CAPACITY) {
                let mut tries = 0;
                while let Err(e) = dht_ref.append_board(&board, chunk).await {
                    tries += 1;
                    if tries == 3 {
                        eprintln!("a flood write failed three times: {e}");
                        lost += chunk.len();
                        break;
                    }
                }
            }
            lost
        }
    }))
    .await
    .into_iter()
    .sum();
    let flooded = flooded - lost;
    let flood_time = started.elapsed();
    let attack_time = attack.elapsed();
    phase("attacked");

    // Everyone goes on as usual, the attacker too: a sync each, which
    // puts their board entries back.
    sync_all(&honest).await;
    mallory.node.sync(&options()).await.unwrap();
    phase("honest users synced");
    // The reader browses the community, which reads its boards and
    // fetches what they name: the attacker's post with it.
    let synced = Instant::now();
    // Its swarm lists many fake seeders, which can hide the one real
    // seeder from the reader's client: it tries a few times.
    let mut reached = false;
    for _ in 0..3 {
        let rust_feed = community_feed(reader).await;
        reached = rust_feed
            .items
            .iter()
            .any(|i| i.record.infohash == target_hash);
        if reached {
            break;
        }
    }
    eprintln!("the attacker's post reached the reader's community feed: {reached}");
    assert!(
        reached || scale.honest > 4,
        "the attacker's post reached the community feed"
    );
    let report = reader.node.sync(&options()).await.unwrap();
    let reader_sync = synced.elapsed();
    phase("reader synced");

    let by_seeders = top(reader, Basis::Seeders).await;
    let trusted_after = top(reader, Basis::Trusted).await;
    let by_verified = top(reader, Basis::Verified).await;
    let mut on_board = 0;
    for (hash, u) in posts.iter().zip(&honest) {
        let record = u.node.store().unwrap().record(*hash).unwrap().unwrap();
        let board = item::community_board(
            record.community().unwrap(),
            item::bucket_of(record.created()),
            item::shard_of(*hash),
        );
        if dht.read_board(&board.public_key()).await.contains(hash) {
            on_board += 1;
        }
    }

    eprintln!(
        "sybil: {} honest users, {} sybil keys, {} fake seeders, {flooded} flood entries",
        scale.honest, scale.sybils, scale.fake_seeders
    );
    eprintln!(
        "attacker's cost: {:.1} s in all: outboxes {:.1} s, announces {:.1} s, flood {:.1} s; one post's work",
        attack_time.as_secs_f64(),
        sybil_time.as_secs_f64(),
        announce_time.as_secs_f64(),
        flood_time.as_secs_f64()
    );
    eprintln!(
        "reader: two syncs after the attack took {:.1} s; the first probed {} peers ({} verified, {} unreachable, {} failed)",
        reader_sync.as_secs_f64(),
        report.verify.probed,
        report.verify.verified,
        report.verify.unreachable,
        report.verify.failed
    );
    table("top 10 by raw seeders", &by_seeders, target_hash);
    table(
        "top 10 by trusted count, before the attack",
        &trusted_before,
        target_hash,
    );
    table(
        "top 10 by trusted count, after",
        &trusted_after,
        target_hash,
    );
    table("top 10 by verified seeders", &by_verified, target_hash);
    eprintln!("honest posts on the board after the flood: {on_board} of {n}");
    let store = reader.node.store().unwrap();
    for hash in posts.iter().chain([&target_hash]) {
        let probes = store.probes(*hash).unwrap();
        let outcomes: Vec<String> = probes
            .iter()
            .map(|p| {
                format!(
                    "{} {}",
                    p.outcome.as_str(),
                    p.detail.as_deref().unwrap_or("")
                )
            })
            .collect();
        eprintln!("probes of {}: {outcomes:?}", &hash.to_string()[..8]);
    }
    drop(store);

    // The swarm's count is fooled, and says so.
    if reached {
        assert_eq!(by_seeders[0].0, target_hash, "{by_seeders:?}");
        assert!(
            by_seeders[0].3 as usize > scale.fake_seeders,
            "{by_seeders:?}"
        );
    }
    // The trusted ranking is what it was: the attacker's post has no
    // trusted upvote, and only enters below every honest one.
    let honest_after: Vec<_> = trusted_after
        .iter()
        .filter(|(h, ..)| *h != target_hash)
        .map(|(h, t, ..)| (*h, *t))
        .collect();
    let honest_before: Vec<_> = trusted_before.iter().map(|(h, t, ..)| (*h, *t)).collect();
    assert_eq!(
        honest_after[..honest_before.len().min(honest_after.len())],
        honest_before[..honest_before.len().min(honest_after.len())],
        "{trusted_after:?}"
    );
    if let Some((_, trusted, ..)) = trusted_after.iter().find(|(h, ..)| *h == target_hash) {
        assert_eq!(*trusted, 0, "{trusted_after:?}");
    }
    // No fake seeder verifies: at most the attacker's own client does.
    if let Some((_, _, verified, _)) = by_verified.iter().find(|(h, ..)| *h == target_hash) {
        assert!(*verified <= 1, "{by_verified:?}");
    }
    assert!(
        by_verified[0].0 != target_hash || by_verified[0].2 <= 1,
        "{by_verified:?}"
    );
    // The board kept its real entries.
    assert_eq!(on_board, n, "the honest posts are back on the board");
    drop(mallory);
}
