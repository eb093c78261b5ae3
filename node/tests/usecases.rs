//! The use cases in-process, on an in-memory client: no daemon, no
//! network. The real-daemon tests in `cli/tests` prove the same against
//! qBittorrent and Transmission.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use upseed_core::{AddTorrent, PostDraft, Record, SecretKey, TorrentClient};
use upseed_node::Config;
use upseed_node::fake::FakeClient;
use upseed_node::fetch::{READ_TAG, VOTE_TAG};
use upseed_node::gc::GcOptions;
use upseed_node::store::Vote;
use upseed_node::sync::SyncOptions;
use upseed_node::{Error, FeedQuery, Home, Node, PostInput, Upvoted, Vars, keyfile};

/// One user: a temporary home with an identity, a config, and a node on
/// `client`.
struct User {
    dir: tempfile::TempDir,
    node: Node<FakeClient>,
    client: FakeClient,
    key: SecretKey,
}

fn user_with(client: FakeClient, edit: impl FnOnce(&mut Config)) -> User {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::in_dir(dir.path());
    let key = SecretKey::generate().unwrap();
    keyfile::create(&home.identity, &key).unwrap();
    let mut config = upseed_node::fake::config(dir.path());
    edit(&mut config);
    let shared = client.clone();
    let node = Node::new(home, Vars::default(), move |_, _| Ok(shared.clone())).with_config(config);
    User {
        dir,
        node,
        client,
        key,
    }
}

fn user() -> User {
    user_with(FakeClient::new(), |_| {})
}

fn now() -> u64 {
    upseed_node::now()
}

/// A stranger's post, offered by the swarm of `client`.
fn offered(client: &FakeClient, text: &str) -> Record {
    let post = PostDraft::new(text)
        .unwrap()
        .sign(&SecretKey::generate().unwrap(), now())
        .unwrap();
    client.offer(&post.torrent_bytes::<&str>(&[]), text.as_bytes());
    post
}

#[tokio::test]
async fn a_post_is_seeded_stored_and_in_the_feed() {
    let alice = user();
    let posted = alice
        .node
        .post(&PostInput {
            text: "hello, swarm".into(),
            title: Some("first".into()),
            community: Some("Rust".into()),
        })
        .await
        .unwrap();
    let hash = posted.record.infohash();
    assert_eq!(posted.record.author(), alice.key.public_key());
    assert_eq!(posted.magnet.infohash, hash);

    // The client seeds it from the file in the posts folder.
    let held = alice.client.torrents();
    assert_eq!(held.len(), 1);
    assert!(held[0].state.is_seeding(), "{:?}", held[0].state);
    assert_eq!(held[0].tags, vec!["upseed-post".to_owned()]);
    let file = alice.dir.path().join("posts").join(posted.record.name());
    assert_eq!(std::fs::read_to_string(file).unwrap(), "hello, swarm");

    let store = alice.node.store().unwrap();
    assert_eq!(store.vote(hash).unwrap(), Some(Vote::Authored));
    drop(store);
    let feed = alice
        .node
        .feed(&FeedQuery {
            community: Some("rust".into()),
            ..FeedQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(feed.items.len(), 1);
    assert_eq!(feed.items[0].record.infohash, hash);
    assert_eq!(feed.community.as_deref(), Some("rust"));

    // A comment on it, by prefix, lands in its thread.
    let reply = alice
        .node
        .comment(&hash.to_hex()[..10], "and a reply")
        .await
        .unwrap();
    let thread = alice
        .node
        .thread(
            &hash.to_hex(),
            upseed_node::ThreadSort::New,
            Duration::from_secs(30),
            false,
        )
        .await
        .unwrap();
    assert_eq!(thread.comments.len(), 1);
    assert_eq!(thread.comments[0].record.infohash, reply.record.infohash());
}

#[tokio::test]
async fn an_upvote_downloads_and_seeds_and_an_unvote_removes_it() {
    let bob = user();
    let post = offered(&bob.client, "worth keeping");
    let hash = post.infohash();
    let (got, how) = bob
        .node
        .upvote(&hash.to_hex(), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!((got, how), (hash, Upvoted::Downloaded));
    let held = bob.client.torrents();
    assert_eq!(held.len(), 1);
    assert!(
        held[0].tags.contains(&VOTE_TAG.to_owned()),
        "{:?}",
        held[0].tags
    );
    let store = bob.node.store().unwrap();
    assert_eq!(store.vote(hash).unwrap(), Some(Vote::Upvoted));
    assert_eq!(store.record(hash).unwrap().unwrap(), post);
    drop(store);

    let gone = bob.node.unvote(&hash.to_hex()[..8], false).await.unwrap();
    assert_eq!(gone, hash);
    assert!(!bob.client.holds(hash));
    assert_eq!(bob.client.removals(), vec![(hash, true)]);
    assert_eq!(bob.node.store().unwrap().vote(hash).unwrap(), None);

    // From the store, a second upvote needs no download.
    let (_, how) = bob
        .node
        .upvote(&hash.to_hex(), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(how, Upvoted::FromStore);
    assert!(bob.client.holds(hash));
}

#[tokio::test]
async fn unvoting_your_own_post_needs_force_and_keeps_the_file() {
    let alice = user();
    let posted = alice
        .node
        .post(&PostInput {
            text: "mine".into(),
            ..PostInput::default()
        })
        .await
        .unwrap();
    let hash = posted.record.infohash();
    let refused = alice.node.unvote(&hash.to_hex(), false).await.unwrap_err();
    assert!(matches!(refused, Error::Authored(h) if h == hash));
    assert!(refused.to_string().contains("--force"), "{refused}");
    assert!(alice.client.holds(hash));
    alice.node.unvote(&hash.to_hex(), true).await.unwrap();
    assert_eq!(alice.client.removals(), vec![(hash, false)]);
    assert!(
        alice
            .dir
            .path()
            .join("posts")
            .join(posted.record.name())
            .exists()
    );
}

/// A single-file torrent that is not an upseed record.
fn foreign_torrent(length: u64) -> Vec<u8> {
    let mut info =
        format!("d6:lengthi{length}e4:name7:foreign12:piece lengthi16384e6:pieces20:").into_bytes();
    info.extend_from_slice(&[7; 20]);
    info.extend_from_slice(b"e");
    let mut torrent = b"d4:info".to_vec();
    torrent.extend_from_slice(&info);
    torrent.push(b'e');
    torrent
}

#[tokio::test]
async fn fetches_refuse_what_is_too_large_not_a_record_or_never_arrives() {
    let carol = user();
    let hash_of = |t: &[u8]| AddTorrent::from_torrent(t.to_vec(), "/").unwrap().infohash;

    let big = foreign_torrent(50_000_000);
    carol.client.offer(&big, b"not really");
    let error = carol
        .node
        .show(&hash_of(&big).to_hex(), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(error.is_invalid_record(), "{error}");
    assert!(error.to_string().contains("more than any post"), "{error}");

    let small = foreign_torrent(5);
    carol.client.offer(&small, b"hello");
    let error = carol
        .node
        .show(&hash_of(&small).to_hex(), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(error.is_invalid_record(), "{error}");

    let nobody = PostDraft::new("unseeded")
        .unwrap()
        .sign(&SecretKey::generate().unwrap(), now())
        .unwrap()
        .infohash();
    let error = carol
        .node
        .show(&nobody.to_hex(), Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(!error.is_invalid_record());
    assert!(error.to_string().contains("did not arrive"), "{error}");

    // A refused torrent is refused again at once, from the store, with
    // nothing added to the client.
    let adds = carol.client.adds().len();
    let again = carol
        .node
        .show(&hash_of(&small).to_hex(), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(matches!(again, Error::Foreign { .. }), "{again}");
    assert!(again.is_invalid_record());
    assert_eq!(carol.client.adds().len(), adds);
    let again = carol
        .node
        .upvote(&hash_of(&big).to_hex(), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(matches!(again, Error::Foreign { .. }), "{again}");
    assert_eq!(carol.client.adds().len(), adds);

    // Nothing is left in the client; the two torrents that are not
    // records are remembered, the missing one is not.
    assert!(carol.client.torrents().is_empty());
    let known = carol.node.store().unwrap().known_hashes().unwrap();
    assert!(known.contains(&hash_of(&big)) && known.contains(&hash_of(&small)));
    assert!(!known.contains(&nobody));
}

#[tokio::test]
async fn sync_counts_what_the_client_reports_without_a_tracker() {
    let dave = user();
    let post = offered(&dave.client, "counted");
    let hash = post.infohash();
    dave.node
        .upvote(&hash.to_hex(), Duration::from_secs(5))
        .await
        .unwrap();
    dave.client.set_counts(hash, 4, 9);
    let options = SyncOptions {
        fetch_limit: 10,
        fetch_timeout: Duration::from_secs(1),
        scrape_timeout: Duration::from_secs(1),
    };
    let report = dave.node.sync(&options).await.unwrap();
    assert_eq!(report.client_torrents, 1);
    assert!(report.trackers.is_empty());
    assert!(report.missing_from_client.is_empty());
    let current = dave.node.store().unwrap().current(hash).unwrap();
    assert_eq!((current.seeders, current.downloads), (4, 9));

    // A torrent the client lost is reported.
    dave.client.remove(&[hash], true).await.unwrap();
    let report = dave.node.sync(&options).await.unwrap();
    assert_eq!(report.missing_from_client, vec![hash.to_string()]);

    // A client that is down fails the refresh with its own error.
    dave.client.set_down(true);
    let error = dave.node.sync(&options).await.unwrap_err();
    assert!(
        matches!(
            error.client(),
            Some(upseed_core::ClientError::Unreachable { .. })
        ),
        "{error}"
    );
}

#[tokio::test]
async fn gc_plans_then_stops_what_the_seeding_bound_leaves_out() {
    let erin = user_with(FakeClient::new(), |c| c.seeding.max_torrents = 1);
    let first = offered(&erin.client, "older");
    let second = offered(&erin.client, "newer");
    for post in [&first, &second] {
        erin.node
            .upvote(&post.infohash().to_hex(), Duration::from_secs(5))
            .await
            .unwrap();
        // Votes are ordered by their second.
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    let plan = erin
        .node
        .gc(GcOptions {
            dry_run: true,
            include_authored: false,
        })
        .await
        .unwrap();
    assert_eq!(plan.stopped.len(), 1);
    assert_eq!(plan.stopped[0].infohash, first.infohash().to_string());
    assert!(
        erin.client.holds(first.infohash()),
        "a dry run changes nothing"
    );

    let done = erin
        .node
        .gc(GcOptions {
            dry_run: false,
            include_authored: false,
        })
        .await
        .unwrap();
    assert_eq!(done.stopped.len(), 1);
    assert_eq!(done.seeded, 1);
    assert!(!erin.client.holds(first.infohash()));
    assert!(erin.client.holds(second.infohash()));
}

/// Runs `node`'s daemon until a step's record satisfies `done` (or 10 s
/// pass), then stops it, and checks that it stopped cleanly.
async fn daemon_until(
    node: &Node<FakeClient>,
    done: impl Fn(&upseed_node::store::StepRecord) -> bool,
) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let watcher = async {
        for _ in 0..200 {
            if node.status().unwrap().steps.iter().any(&done) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        stop.send(true).unwrap();
    };
    let (ran, ()) = tokio::join!(node.daemon(stopped), watcher);
    ran.unwrap();
}

#[tokio::test]
async fn the_daemon_survives_a_failing_client_and_stops_when_told() {
    let frank = user_with(FakeClient::new(), |c| {
        c.daemon.jitter = Duration::ZERO;
        c.daemon.seed_followed = Some(upseed_node::config::FollowedRule { dry_run: false });
    });
    frank.client.set_down(true);
    let node = &frank.node;
    // Until the first sync has failed and been scheduled again.
    daemon_until(node, |s| {
        s.step == "sync" && s.outcome.as_deref() == Some("failed")
    })
    .await;
    let status = node.status().unwrap();
    let sync = status.steps.iter().find(|s| s.step == "sync").unwrap();
    assert_eq!(sync.outcome.as_deref(), Some("failed"));
    assert_eq!((sync.errors, sync.failures), (1, 1));
    assert!(
        sync.summary.as_deref().unwrap().contains("cannot reach"),
        "{sync:?}"
    );
    let retry = sync.next_at.unwrap() - sync.finished.unwrap();
    assert_eq!(retry, 5, "the first back-off is 5 s");
    assert!(status.stopped.is_some(), "a clean stop is recorded");
    assert!(
        !frank
            .client
            .torrents()
            .iter()
            .any(|t| t.tags.iter().any(|g| g == READ_TAG))
    );
}

#[tokio::test]
async fn paths_a_client_reports_are_confined_to_upseeds_folders() {
    let grace = user();
    let outside = tempfile::tempdir().unwrap();
    let decoy = outside.path().join("secret.txt");
    std::fs::write(&decoy, "not yours").unwrap();
    let downloads = grace.dir.path().join("downloads");
    let inside = downloads.join("inside.txt");
    std::fs::write(&inside, "a post").unwrap();
    std::os::unix::fs::symlink(&inside, downloads.join("link.txt")).unwrap();
    let _socket = std::os::unix::net::UnixListener::bind(downloads.join("socket")).unwrap();
    let outside_folders = "outside upseed's downloads and posts folders";
    for (lie, expected) in [
        ("/dev/zero".to_owned(), outside_folders),
        (decoy.display().to_string(), outside_folders),
        (
            format!("{}/../../../../dev/zero", downloads.display()),
            outside_folders,
        ),
        (
            downloads.join("link.txt").display().to_string(),
            "not a regular file",
        ),
        (
            downloads.join("socket").display().to_string(),
            "not a regular file",
        ),
    ] {
        let post = offered(&grace.client, "a post");
        grace.client.lie_about_path(post.infohash(), &lie);
        let error = grace
            .node
            .show(&post.infohash().to_hex(), Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(error.to_string().contains(expected), "{lie}: {error}");
        assert!(!grace.client.holds(post.infohash()), "the read is removed");
    }
    assert_eq!(std::fs::read_to_string(&decoy).unwrap(), "not yours");
}

/// A tracker on 127.0.0.1 whose every scrape lists `hashes` with 5
/// seeders; returns its announce URL.
async fn listing_tracker(hashes: Vec<upseed_core::InfoHash>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut body = b"d5:filesd".to_vec();
    let mut sorted = hashes;
    sorted.sort();
    for hash in sorted {
        body.extend_from_slice(b"20:");
        body.extend_from_slice(hash.as_bytes());
        body.extend_from_slice(b"d8:completei5e10:downloadedi0e10:incompletei0ee");
    }
    body.extend_from_slice(b"ee");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let head = format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&body).await;
            });
        }
    });
    format!("http://127.0.0.1:{port}/announce")
}

#[tokio::test]
async fn discovery_backs_off_what_it_could_not_fetch() {
    let junk = upseed_core::InfoHash::from_bytes([0x5a; 20]);
    let real = PostDraft::new("a stranger's post")
        .unwrap()
        .sign(&SecretKey::generate().unwrap(), now())
        .unwrap();
    let tracker = listing_tracker(vec![junk, real.infohash()]).await;
    let client = FakeClient::new();
    client.offer(&real.torrent_bytes::<&str>(&[]), b"a stranger's post");
    let henry = user_with(client, |c| c.trackers.urls = vec![tracker]);
    let options = SyncOptions {
        fetch_limit: 10,
        fetch_timeout: Duration::from_millis(500),
        scrape_timeout: Duration::from_secs(2),
    };
    let first = henry.node.sync(&options).await.unwrap();
    assert_eq!(first.discovered, 2, "{first:?}");
    assert_eq!(first.fetched, vec![real.infohash().to_string()]);
    assert_eq!(first.failed.len(), 1);
    let adds = henry.client.adds().len();

    // The junk that nobody serves waits out its back-off: the next sync
    // does not try it again.
    let second = henry.node.sync(&options).await.unwrap();
    assert_eq!(second.discovered, 0, "{second:?}");
    assert!(second.failed.is_empty());
    assert_eq!(henry.client.adds().len(), adds);
    assert!(
        henry
            .node
            .store()
            .unwrap()
            .backing_off(now())
            .unwrap()
            .contains(&junk)
    );
    assert!(
        !henry
            .node
            .store()
            .unwrap()
            .backing_off(now() + 31)
            .unwrap()
            .contains(&junk),
        "the first back-off is 30 s"
    );
}

#[tokio::test]
async fn a_post_the_client_refused_leaves_nothing_and_a_lost_one_is_seeded_again() {
    let ivy = user();
    ivy.client.set_down(true);
    let input = PostInput {
        text: "not yet".into(),
        ..PostInput::default()
    };
    let error = ivy.node.post(&input).await.unwrap_err();
    assert!(error.client().is_some(), "{error}");
    let store = ivy.node.store().unwrap();
    assert!(store.record_hashes().unwrap().is_empty(), "rolled back");
    assert!(store.votes().unwrap().is_empty());
    drop(store);
    let posts = ivy.dir.path().join("posts");
    assert_eq!(
        std::fs::read_dir(&posts).unwrap().count(),
        0,
        "no orphan file"
    );

    ivy.client.set_down(false);
    let posted = ivy.node.post(&input).await.unwrap();
    let hash = posted.record.infohash();
    // The client loses it, file and all (removed by hand, or a crash
    // between the store and the client): the next sync seeds it again.
    ivy.client.remove(&[hash], false).await.unwrap();
    std::fs::remove_file(posts.join(posted.record.name())).unwrap();
    let options = SyncOptions {
        fetch_limit: 10,
        fetch_timeout: Duration::from_secs(1),
        scrape_timeout: Duration::from_secs(1),
    };
    let report = ivy.node.sync(&options).await.unwrap();
    assert_eq!(report.reseeded, vec![hash.to_string()]);
    assert!(report.missing_from_client.is_empty());
    assert!(
        ivy.client
            .torrents()
            .iter()
            .any(|t| t.infohash == hash && t.state.is_seeding())
    );
    assert_eq!(
        std::fs::read_to_string(posts.join(posted.record.name())).unwrap(),
        "not yet"
    );
}

/// A post by `author`, offered by the swarm of `client`.
fn offered_by(client: &FakeClient, author: &SecretKey, text: &str) -> Record {
    let post = PostDraft::new(text).unwrap().sign(author, now()).unwrap();
    client.offer(&post.torrent_bytes::<&str>(&[]), text.as_bytes());
    post
}

#[tokio::test]
async fn the_daemons_rules_never_seed_what_is_muted() {
    let henry = user_with(FakeClient::new(), |c| {
        c.daemon.jitter = Duration::ZERO;
        c.daemon.seed_top = vec![upseed_node::config::SeedTopRule {
            community: None,
            window: upseed_core::rank::Window::All,
            count: 10,
            by: upseed_core::rank::Basis::Seeders,
            dry_run: false,
        }];
    });
    let bob = SecretKey::generate().unwrap();
    let muted = offered_by(&henry.client, &bob, "bob's post");
    let spoiler = offered(&henry.client, "the finale SPOILERS inside");
    let kept = offered(&henry.client, "a fine post");
    for post in [&muted, &spoiler, &kept] {
        henry
            .node
            .show(&post.infohash().to_string(), Duration::from_secs(5))
            .await
            .unwrap();
        assert!(!henry.client.holds(post.infohash()), "a read is not kept");
    }
    let node = &henry.node;
    let author = node
        .mute_target(
            upseed_core::mute::MuteKind::Author,
            &bob.public_key().to_z32(),
        )
        .unwrap();
    node.mute(&author, None, false).await.unwrap();
    let word = upseed_core::mute::MuteTarget::word("spoilers").unwrap();
    node.mute(&word, Some(Duration::from_secs(3600)), false)
        .await
        .unwrap();

    daemon_until(node, |s| s.step == "seed" && s.outcome.is_some()).await;
    let status = node.status().unwrap();
    let seed = status.steps.iter().find(|s| s.step == "seed").unwrap();
    // The top feed the rule reads leaves the muted posts out.
    assert!(
        seed.summary
            .as_deref()
            .unwrap()
            .starts_with("rules: 1 seeded"),
        "{seed:?}"
    );
    assert!(henry.client.holds(kept.infohash()));
    assert!(!henry.client.holds(muted.infohash()));
    assert!(!henry.client.holds(spoiler.infohash()));
}

#[tokio::test]
async fn a_seed_top_rule_by_trusted_count_seeds_what_trusted_keys_wrote_over_a_crowd() {
    let ivy = user_with(FakeClient::new(), |c| {
        c.daemon.jitter = Duration::ZERO;
        c.daemon.seed_top = vec![upseed_node::config::SeedTopRule {
            community: None,
            window: upseed_core::rank::Window::All,
            count: 1,
            by: upseed_core::rank::Basis::Trusted,
            dry_run: false,
        }];
    });
    let friend = SecretKey::generate().unwrap();
    let trusted = offered_by(&ivy.client, &friend, "a friend's quiet post");
    let crowded = offered(&ivy.client, "a seedbox's favourite");
    let node = &ivy.node;
    node.follow(friend.public_key(), true).await.unwrap();
    for post in [&trusted, &crowded] {
        node.show(&post.infohash().to_string(), Duration::from_secs(5))
            .await
            .unwrap();
    }
    let mut store = node.store().unwrap();
    store
        .put_counts(
            &[upseed_core::counts::SwarmCount {
                infohash: crowded.infohash(),
                source: "http://tracker.example/announce".into(),
                seeders: Some(1_000),
                leechers: Some(0),
                completed: Some(1_000),
            }],
            now(),
            &upseed_core::retention::FadePolicy::default(),
        )
        .unwrap();
    assert_eq!(store.trusted_count(trusted.infohash()).unwrap(), 1);
    drop(store);

    daemon_until(node, |s| s.step == "seed" && s.outcome.is_some()).await;
    assert!(
        ivy.client.holds(trusted.infohash()),
        "the followed author's post"
    );
    assert!(
        !ivy.client.holds(crowded.infohash()),
        "a thousand seeders count for nothing by trusted count"
    );
}

#[tokio::test]
async fn a_seed_top_rule_by_verified_seeders_seeds_what_peers_proved_over_a_claim() {
    use upseed_core::peer_wire::Outcome;
    let kim = user_with(FakeClient::new(), |c| {
        c.daemon.jitter = Duration::ZERO;
        c.daemon.seed_top = vec![upseed_node::config::SeedTopRule {
            community: None,
            window: upseed_core::rank::Window::All,
            count: 1,
            by: upseed_core::rank::Basis::Verified,
            dry_run: false,
        }];
    });
    let proved = offered(&kim.client, "served to a probe");
    let claimed = offered(&kim.client, "announced by a seedbox");
    let node = &kim.node;
    for post in [&proved, &claimed] {
        node.show(&post.infohash().to_string(), Duration::from_secs(5))
            .await
            .unwrap();
    }
    let mut store = node.store().unwrap();
    let count = |infohash, seeders| upseed_core::counts::SwarmCount {
        infohash,
        source: "http://tracker.example/announce".into(),
        seeders: Some(seeders),
        leechers: Some(0),
        completed: Some(seeders),
    };
    store
        .put_counts(
            &[
                count(claimed.infohash(), 1_000),
                count(proved.infohash(), 2),
            ],
            now(),
            &upseed_core::retention::FadePolicy::default(),
        )
        .unwrap();
    let probe = |peer: &str, outcome| upseed_node::store::ProbeRecord {
        peer: peer.parse().unwrap(),
        outcome,
        detail: None,
        at: now(),
    };
    store
        .put_probes(
            proved.infohash(),
            2,
            &[
                probe("192.0.2.1:6881", Outcome::Verified),
                probe("192.0.2.2:6881", Outcome::Verified),
            ],
            0,
            now(),
        )
        .unwrap();
    store
        .put_probes(
            claimed.infohash(),
            1_000,
            &[
                probe("192.0.2.3:6881", Outcome::Failed),
                probe("192.0.2.4:6881", Outcome::Unreachable),
            ],
            0,
            now(),
        )
        .unwrap();
    drop(store);

    daemon_until(node, |s| s.step == "seed" && s.outcome.is_some()).await;
    assert!(kim.client.holds(proved.infohash()), "the post peers served");
    assert!(
        !kim.client.holds(claimed.infohash()),
        "a thousand claimed seeders count for nothing by verified seeders"
    );
}

#[tokio::test]
async fn boards_bring_at_most_a_days_worth_of_one_untrusted_authors_records() {
    use upseed_core::lead::Expect;
    let jay = user();
    let flooder = SecretKey::generate().unwrap();
    let rust = upseed_core::Community::normalize("rust").unwrap();
    let posts: Vec<Record> = (0..30)
        .map(|i| {
            let text = format!("flood {i}");
            let post = PostDraft::new(&text)
                .unwrap()
                .community("rust")
                .unwrap()
                .sign(&flooder, now())
                .unwrap();
            jay.client
                .offer(&post.torrent_bytes::<&str>(&[]), text.as_bytes());
            post
        })
        .collect();
    let leads: Vec<(upseed_core::InfoHash, Expect)> = posts
        .iter()
        .map(|p| {
            let bucket = upseed_core::item::bucket_of(p.created());
            (p.infohash(), Expect::Community(rust.clone(), bucket))
        })
        .collect();
    let config = jay.node.config().unwrap().clone();
    let fetch =
        upseed_node::fetch::Fetch::quiet(&jay.client, &config, Duration::from_secs(5), now());
    let mut store = jay.node.store().unwrap();
    let leads = upseed_node::discover::follow_leads(&mut store, &fetch, leads, 100)
        .await
        .unwrap();
    assert_eq!(
        (leads.stored.len(), leads.over_author_limit),
        (upseed_node::discover::BOARD_RECORDS_PER_AUTHOR, 6),
        "{leads:?}"
    );
    drop(store);
    // Followed, the author's outbox brings the rest: the limit is on what
    // strangers' boards bring.
    jay.node.follow(flooder.public_key(), true).await.unwrap();
    let mut store = jay.node.store().unwrap();
    let more: Vec<(upseed_core::InfoHash, Expect)> = posts
        .iter()
        .map(|p| (p.infohash(), Expect::Author(flooder.public_key())))
        .collect();
    let again = upseed_node::discover::follow_leads(&mut store, &fetch, more, 100)
        .await
        .unwrap();
    assert_eq!(again.stored.len(), 6, "{again:?}");
}

#[tokio::test]
async fn discovery_never_fetches_a_muted_authors_records_again() {
    use upseed_core::lead::Expect;
    let iris = user();
    let bob = SecretKey::generate().unwrap();
    let carol = SecretKey::generate().unwrap();
    let named = offered_by(&iris.client, &bob, "named in bob's outbox");
    let reply = {
        let parent = offered_by(&iris.client, &carol, "carol's thread");
        let comment = upseed_core::CommentDraft::reply_to("bob replies", &parent)
            .unwrap()
            .sign(&bob, now())
            .unwrap();
        iris.client
            .offer(&comment.torrent_bytes::<&str>(&[]), b"bob replies");
        (parent, comment)
    };
    let theirs = offered_by(&iris.client, &carol, "carol's own");
    let target = upseed_core::mute::MuteTarget::Author(bob.public_key());
    iris.node.mute(&target, None, false).await.unwrap();

    let leads = || {
        vec![
            (named.infohash(), Expect::Author(bob.public_key())),
            (reply.1.infohash(), Expect::Root(reply.0.infohash())),
            (theirs.infohash(), Expect::Author(carol.public_key())),
        ]
    };
    let config = iris.node.config().unwrap().clone();
    let follow = async |n: &Node<FakeClient>| {
        let fetch =
            upseed_node::fetch::Fetch::quiet(&iris.client, &config, Duration::from_secs(5), now());
        let mut store = n.store().unwrap();
        upseed_node::discover::follow_leads(&mut store, &fetch, leads(), 10)
            .await
            .unwrap()
    };
    let fetched = |hash| {
        iris.client
            .adds()
            .iter()
            .filter(|a| a.infohash == hash)
            .count()
    };
    let first = follow(&iris.node).await;
    assert_eq!(first.stored, vec![theirs.infohash().to_string()]);
    assert_eq!(first.muted, 1, "the reply is by bob: learnt once fetched");
    assert_eq!(
        fetched(named.infohash()),
        0,
        "a muted author's lead is never fetched"
    );
    assert_eq!(fetched(reply.1.infohash()), 1);
    let store = iris.node.store().unwrap();
    assert!(store.record(reply.1.infohash()).unwrap().is_none());
    drop(store);

    let again = follow(&iris.node).await;
    assert_eq!((again.new, again.muted), (0, 0), "{again:?}");
    assert_eq!(fetched(reply.1.infohash()), 1, "not fetched again");

    assert!(iris.node.unmute(&target).unwrap().removed);
    let after = follow(&iris.node).await;
    assert_eq!(after.stored.len(), 2, "{after:?}");
    assert!(
        iris.node
            .store()
            .unwrap()
            .record(named.infohash())
            .unwrap()
            .is_some()
    );
}
