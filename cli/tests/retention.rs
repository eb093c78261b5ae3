//! Popularity, fading and retention on real daemons: `sync` costs the
//! client the same whatever the number of posts and scrapes in batches of
//! 64; a post nobody seeds fades from the feed; `gc` bounds the seeded set
//! (dry run first, pins respected) and deletes what has faded for long
//! enough.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::{TwoUsers, holds, init, text, two_users, upseed};
use serde_json::Value;
use upseed_core::{InfoHash, Record, TorrentClient};
use upseed_node::store::{Store, Vote};
use upseed_tests::conformance::{Node, new_post, seedable, wait_seeding};
use upseed_tests::qbittorrent::{QbDaemon, QbOptions};
use upseed_tests::tracker::Tracker;
use upseed_tests::transmission::TrDaemon;
use upseed_tests::{have, host};

fn json(out: &Output) -> Value {
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Replaces `key = …` lines of the config at `home`.
fn set_config(home: &Path, settings: &[(&str, &str)]) {
    let path = home.join("config.toml");
    let mut config = std::fs::read_to_string(&path).unwrap();
    for (key, value) in settings {
        let start = config
            .find(&format!("\n{key} = "))
            .unwrap_or_else(|| panic!("{key} is not in the config"));
        let end = config[start + 1..].find('\n').unwrap() + start + 1;
        config.replace_range(start + 1..end, &format!("{key} = {value}"));
    }
    std::fs::write(path, config).unwrap();
}

/// Adds `posts` to `node`'s client and to the user's store at `home`.
async fn seed_and_know<N: Node>(node: &N, tracker: &Tracker, home: &Path, posts: &[Record]) {
    let hashes: Vec<InfoHash> = posts.iter().map(Record::infohash).collect();
    tracker.allow(&hashes).await;
    let adds: Vec<_> = posts.iter().map(|r| seedable(node, r, tracker)).collect();
    node.client().add(&adds).await.unwrap();
    Store::open(&home.join("store.db"))
        .unwrap()
        .put_records(posts, 1)
        .unwrap();
}

async fn sync_cost_is_constant<N: Node>(node: &N, kind: &str, url: &str, password: &str) {
    let tracker = Tracker::start(host()).await;
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    init(h, node, kind, url, password, &tracker, &[]);
    set_config(h, &[("full_scrape", "false")]);
    let mut requests = Vec::new();
    let mut known: usize = 0;
    for n in [10, 290] {
        let posts: Vec<Record> = (0..n).map(|i| new_post(&format!("post {i}"))).collect();
        seed_and_know(node, &tracker, h, &posts).await;
        known += n;
        let report = json(&upseed(
            h,
            password,
            &["sync", "--json", "--fetch-limit", "0"],
        ));
        assert_eq!(report["client_torrents"], known, "{report}");
        assert_eq!(
            report["tracker_requests"],
            known.div_ceil(64),
            "batches of 64: {report}"
        );
        assert_eq!(report["counts"].as_u64().unwrap(), 2 * known as u64);
        requests.push(report["client_requests"].as_u64().unwrap());
    }
    assert_eq!(
        requests[0], requests[1],
        "{kind}: 10 and 300 torrents cost the client the same requests"
    );
    assert!(requests[0] <= 4, "{kind}: {requests:?}");
}

#[tokio::test]
async fn sync_costs_the_client_the_same_for_10_or_300_posts() {
    if !have("qbittorrent-nox") || !have("transmission-daemon") || !have("opentracker") {
        return;
    }
    let qb = QbDaemon::start(QbOptions::default()).await;
    let tr = TrDaemon::start(host()).await;
    let (qb_url, tr_url) = (qb.url().to_string(), tr.url().to_string());
    tokio::join!(
        sync_cost_is_constant(&qb, "qbittorrent", &qb_url, qb.password()),
        sync_cost_is_constant(&tr, "transmission", &tr_url, tr.password()),
    );
}

fn hashes(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v[field].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn posts_fade_and_gc_bounds_what_we_seed() {
    if !have("qbittorrent-nox") || !have("opentracker") {
        return;
    }
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
    set_config(
        a,
        &[
            ("fade_after_refreshes", "2"),
            ("grace", "\"0s\""),
            ("keep", "\"0s\""),
            ("max_torrents", "3"),
        ],
    );

    // Bob writes three posts; alice discovers them through the tracker.
    let mut posts = Vec::new();
    for text in ["first", "second", "third"] {
        let out = json(&upseed(b, &bpw, &["post", "--json", text]));
        posts.push(out["infohash"].as_str().unwrap().to_owned());
    }
    let hashes_of: Vec<InfoHash> = posts.iter().map(|p| p.parse().unwrap()).collect();
    tracker.allow(&hashes_of).await;
    bob_qb.client().announce_now(&hashes_of).await.unwrap();
    upseed_tests::eventually(
        "alice to discover bob's posts",
        Duration::from_secs(60),
        || async {
            let report = json(&upseed(a, &apw, &["sync", "--json"]));
            (report["live_posts"] == 3).then_some(())
        },
    )
    .await;

    // Alice upvotes all three, oldest first, and posts her own.
    for (i, post) in posts.iter().enumerate() {
        let out = upseed(a, &apw, &["upvote", post]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        wait_seeding(&alice_qb.client(), hashes_of[i], Duration::from_secs(60)).await;
        // Distinct vote times, so that "oldest" is well defined.
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    let own = json(&upseed(a, &apw, &["post", "--json", "alice's own"]));
    let own: InfoHash = own["infohash"].as_str().unwrap().parse().unwrap();
    tracker.allow(&[own]).await;
    alice_qb.client().announce_now(&[own]).await.unwrap();

    // Four seeded, three allowed: the dry run names the oldest upvote and changes nothing.
    let plan = json(&upseed(a, &apw, &["gc", "--dry-run", "--json"]));
    assert_eq!(plan["dry_run"], true);
    assert_eq!(
        hashes(&plan["stopped"], "infohash"),
        vec![posts[0].clone()],
        "{plan}"
    );
    assert!(
        holds(&alice_qb, hashes_of[0]).await,
        "a dry run changes nothing"
    );

    // Pinning the oldest moves the bound to the next one.
    let out = upseed(a, &apw, &["pin", &posts[0]]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let done = json(&upseed(a, &apw, &["gc", "--json"]));
    assert_eq!(
        hashes(&done["stopped"], "infohash"),
        vec![posts[1].clone()],
        "{done}"
    );
    assert_eq!(done["seeded"], 3);
    assert!(
        !holds(&alice_qb, hashes_of[1]).await,
        "gc stopped seeding it"
    );
    assert!(
        holds(&alice_qb, hashes_of[0]).await,
        "the pin keeps seeding"
    );
    let store = Store::open(&a.join("store.db")).unwrap();
    assert_eq!(store.vote(hashes_of[1]).unwrap(), None);
    assert_eq!(store.vote(hashes_of[0]).unwrap(), Some(Vote::Upvoted));
    drop(store);

    // Bob stops seeding the second post too: nobody seeds it, and it fades.
    let out = upseed(b, &bpw, &["unvote", "--force", &posts[1]]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    upseed_tests::eventually(
        "the unseeded post to fade",
        Duration::from_secs(60),
        || async {
            let report = json(&upseed(a, &apw, &["sync", "--json", "--fetch-limit", "0"]));
            (report["faded_posts"] == 1).then_some(())
        },
    )
    .await;
    let feed = json(&upseed(a, &apw, &["feed", "--sort", "new", "--json"]));
    let shown: Vec<String> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["record"]["infohash"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(shown.len(), 3, "{feed}");
    assert!(!shown.contains(&posts[1]), "the faded post left the feed");

    // With `keep = 0s` it has expired: the dry run lists it, gc deletes it.
    let plan = json(&upseed(a, &apw, &["gc", "--dry-run", "--json"]));
    assert_eq!(
        hashes(&plan["deleted"], "infohash"),
        vec![posts[1].clone()],
        "{plan}"
    );
    let done = json(&upseed(a, &apw, &["gc", "--json"]));
    assert_eq!(done["records_deleted"], 1, "{done}");
    let store = Store::open(&a.join("store.db")).unwrap();
    assert!(store.record(hashes_of[1]).unwrap().is_none());
    assert!(store.record(hashes_of[0]).unwrap().is_some());
}
