//! A DHT round in-process: posts and comments travel through community
//! and reply boards on mainline's loopback test network, and records reach
//! the reader through an in-memory client.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use upseed_core::{PostDraft, SecretKey};
use upseed_node::config::DhtSection;
use upseed_node::fake::FakeClient;
use upseed_node::{Event, Events, FeedQuery, Home, Node, PostInput, ThreadSort, Vars, keyfile};

fn node(
    dir: &std::path::Path,
    bootstrap: &[String],
    client: &FakeClient,
    events: Events,
) -> Node<FakeClient> {
    let home = Home::in_dir(dir);
    keyfile::create(&home.identity, &SecretKey::generate().unwrap()).unwrap();
    let mut config = upseed_node::fake::config(dir);
    config.dht = DhtSection {
        enabled: true,
        bootstrap: bootstrap.to_vec(),
        bind: Some(std::net::Ipv4Addr::LOCALHOST),
        ..DhtSection::default()
    };
    let shared = client.clone();
    Node::new(home, Vars::default(), move |_, _| Ok(shared.clone()))
        .with_config(config)
        .with_events(events)
}

/// A sync that waits 2 s for a fetch and 1 s for a scrape.
fn sync_options() -> upseed_node::sync::SyncOptions {
    upseed_node::sync::SyncOptions {
        fetch_limit: 10,
        fetch_timeout: Duration::from_secs(2),
        scrape_timeout: Duration::from_secs(1),
    }
}

/// Peers deliver `record` to `client`.
fn offer(client: &FakeClient, record: &upseed_core::Record) {
    client.offer(
        &record.torrent_bytes::<&str>(&[]),
        record.body().unwrap().as_bytes(),
    );
}

/// `node`'s feed of the community `rust`, read until it lists a post
/// (at most 10 reads, half a second apart).
async fn rust_feed(node: &Node<FakeClient>) -> Vec<upseed_node::FeedItem> {
    let query = FeedQuery {
        community: Some("rust".into()),
        ..FeedQuery::default()
    };
    let mut found = Vec::new();
    for _ in 0..10 {
        found = node.feed(&query).await.unwrap().items;
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_and_comments_travel_through_the_boards() {
    let testnet = mainline::Testnet::builder(8).build().unwrap();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (alice_client, bob_client) = (FakeClient::new(), FakeClient::new());
    let warnings = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = warnings.clone();
    let events = Events::new(move |e| {
        if let Event::Warning(w) = e {
            seen.lock().unwrap().push(w.to_string());
        }
    });
    let alice = node(a.path(), &testnet.bootstrap, &alice_client, events.clone());
    let bob = node(b.path(), &testnet.bootstrap, &bob_client, events);

    let posted = alice
        .post(&PostInput {
            text: "hello, rust".into(),
            title: None,
            community: Some("rust".into()),
        })
        .await
        .unwrap();
    // A valid post by a stranger in another community, put on rust's board
    // for the same bucket: not what the board claims, so dropped.
    let stranger = PostDraft::new("elsewhere")
        .unwrap()
        .community("go")
        .unwrap()
        .sign(&SecretKey::generate().unwrap(), posted.record.created())
        .unwrap();
    let dht = upseed_node::dht::Dht::join(&alice.config().unwrap().dht)
        .await
        .unwrap()
        .unwrap();
    let board = upseed_core::item::community_board(
        posted.record.community().unwrap(),
        upseed_core::item::bucket_of(posted.record.created()),
        upseed_core::item::shard_of(posted.record.infohash()),
    );
    dht.append_board(
        &board,
        &[upseed_core::item::BoardEntry::solve(stranger.infohash())],
    )
    .await
    .unwrap();

    // Bob's swarm has both; he finds alice's post through the board.
    for record in [&posted.record, &stranger] {
        offer(&bob_client, record);
    }
    let found = rust_feed(&bob).await;
    assert_eq!(found.len(), 1, "{:?}", warnings.lock().unwrap());
    assert_eq!(found[0].record.infohash, posted.record.infohash());
    assert!(
        bob.store()
            .unwrap()
            .record(stranger.infohash())
            .unwrap()
            .is_none(),
        "what the board did not claim is not stored"
    );
    assert!(
        !bob.store()
            .unwrap()
            .known_hashes()
            .unwrap()
            .contains(&stranger.infohash()),
        "a valid record on the wrong board is not barred for good"
    );
    assert!(
        warnings
            .lock()
            .unwrap()
            .iter()
            .any(|w| w.contains("were not what they claimed")),
        "{:?}",
        warnings.lock().unwrap()
    );

    // Bob's comment reaches alice's thread through the reply board.
    let hash = posted.record.infohash().to_hex();
    let reply = bob.comment(&hash, "welcome").await.unwrap();
    offer(&alice_client, &reply.record);
    let mut comments = Vec::new();
    for _ in 0..10 {
        comments = alice
            .thread(&hash, ThreadSort::New, Duration::from_secs(30), false)
            .await
            .unwrap()
            .comments;
        if !comments.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].record.infohash, reply.record.infohash());
    // Seeing it, alice republished her outbox at once: its `r` names the
    // reply, for readers who find the reply board erased.
    let alice_key = alice.identity().unwrap().public_key();
    let (outbox, _) = dht.read_outbox(&alice_key).await.expect("alice's outbox");
    assert_eq!(outbox.replies, vec![reply.record.infohash()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_board_overflows_and_is_still_read() {
    let testnet = mainline::Testnet::builder(8).build().unwrap();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (alice_client, bob_client) = (FakeClient::new(), FakeClient::new());
    let alice = node(a.path(), &testnet.bootstrap, &alice_client, Events::none());
    let bob = node(b.path(), &testnet.bootstrap, &bob_client, Events::none());

    // Anyone can derive a board's key: a vandal freezes this bucket's
    // boards of `rust` with the highest seq there is.
    let created = upseed_node::now();
    let rust = upseed_core::Community::normalize("rust").unwrap();
    let vandal = mainline::Dht::builder()
        .bootstrap(&testnet.bootstrap)
        .bind_address(std::net::Ipv4Addr::LOCALHOST)
        .build()
        .unwrap()
        .as_async();
    for shard in 0..upseed_core::item::SHARDS {
        let board =
            upseed_core::item::community_board(&rust, upseed_core::item::bucket_of(created), shard);
        let signer = mainline::SigningKey::from_bytes(&board.to_seed());
        let item = mainline::MutableItem::new(
            signer,
            b"u1",
            i64::MAX,
            Some(upseed_core::item::BOARD_SALT),
        );
        vandal.put_mutable(item, None).await.unwrap();
    }

    let posted = alice
        .post(&PostInput {
            text: "still here".into(),
            title: None,
            community: Some("rust".into()),
        })
        .await
        .unwrap();
    offer(&bob_client, &posted.record);
    let found = rust_feed(&bob).await;
    assert_eq!(found.len(), 1, "the post went to the overflow item");
    assert_eq!(found[0].record.infohash, posted.record.infohash());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_older_outbox_does_not_roll_a_follower_back() {
    // Two test networks: on `old` the DHT still answers alice's first
    // outbox, as a replaying node would; on `new`, her current one.
    let old = mainline::Testnet::builder(5).build().unwrap();
    let new = mainline::Testnet::builder(5).build().unwrap();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (alice_client, bob_client) = (FakeClient::new(), FakeClient::new());
    let alice_old = node(a.path(), &old.bootstrap, &alice_client, Events::none());
    let stranger = PostDraft::new("upvoted, then not")
        .unwrap()
        .sign(&SecretKey::generate().unwrap(), upseed_node::now())
        .unwrap();
    offer(&alice_client, &stranger);
    let hash = stranger.infohash();
    // Her first outbox, with the upvote, on the old network.
    alice_old
        .upvote(&hash.to_hex(), Duration::from_secs(5))
        .await
        .unwrap();
    alice_old.unvote(&hash.to_hex(), false).await.unwrap();
    // Her newer outbox, without it, on the new network (a later second).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let home = upseed_node::Home::in_dir(a.path());
    let mut config = alice_old.config().unwrap().clone();
    config.dht.bootstrap = new.bootstrap.clone();
    let shared = alice_client.clone();
    let alice_new =
        Node::new(home, Vars::default(), move |_, _| Ok(shared.clone())).with_config(config);
    alice_new.profile(Some("alice".into()), None).await.unwrap();

    let bob_new = node(b.path(), &new.bootstrap, &bob_client, Events::none());
    let key = alice_new.identity().unwrap().public_key();
    bob_new.follow(key, true).await.unwrap();
    let options = upseed_node::sync::SyncOptions {
        fetch_limit: 10,
        fetch_timeout: Duration::from_secs(1),
        scrape_timeout: Duration::from_secs(1),
    };
    let report = bob_new.sync(&options).await.unwrap();
    assert_eq!(report.dht.unwrap().outboxes, 1);
    assert_eq!(bob_new.store().unwrap().signed_votes(hash).unwrap(), 0);

    let mut config = bob_new.config().unwrap().clone();
    config.dht.bootstrap = old.bootstrap.clone();
    let shared = bob_client.clone();
    let bob_old = Node::new(
        upseed_node::Home::in_dir(b.path()),
        Vars::default(),
        move |_, _| Ok(shared.clone()),
    )
    .with_config(config);
    let report = bob_old.sync(&options).await.unwrap().dht.unwrap();
    assert_eq!((report.outboxes, report.outboxes_replayed), (1, 1));
    assert_eq!(
        bob_old.store().unwrap().signed_votes(hash).unwrap(),
        0,
        "the withdrawn upvote does not come back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_joins_the_dht_and_names_the_socket() {
    let testnet = mainline::Testnet::builder(4).build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let alice = node(
        dir.path(),
        &testnet.bootstrap,
        &FakeClient::new(),
        Events::none(),
    );
    let checks = alice.doctor().await.unwrap();
    let dht = checks.iter().find(|c| c.name == "dht").unwrap();
    assert_eq!(dht.outcome, upseed_node::doctor::Outcome::Ok, "{dht:?}");
    assert!(
        dht.detail
            .starts_with("joined; listening on UDP 127.0.0.1:"),
        "{dht:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_and_deletes_reach_readers_who_do_not_follow() {
    let testnet = mainline::Testnet::builder(8).build().unwrap();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (alice_client, bob_client) = (FakeClient::new(), FakeClient::new());
    let alice = node(a.path(), &testnet.bootstrap, &alice_client, Events::none());
    let bob = node(b.path(), &testnet.bootstrap, &bob_client, Events::none());
    let posted = alice
        .post(&PostInput {
            text: "the first words".into(),
            title: Some("Draft".into()),
            community: None,
        })
        .await
        .unwrap();
    let id = posted.record.infohash();
    offer(&bob_client, &posted.record);
    bob.upvote(&id.to_string(), Duration::from_secs(5))
        .await
        .unwrap();
    assert!(bob_client.holds(id));

    // Alice edits: bob, reading the thread, finds the edit on the post's
    // own item and fetches the new version.
    let edit = alice
        .edit(&id.to_string(), "the better words", None)
        .await
        .unwrap();
    let new = edit.replacement.unwrap();
    let replacement = alice.store().unwrap().record(new).unwrap().unwrap();
    offer(&bob_client, &replacement);
    let thread = bob
        .thread(
            &id.to_string(),
            ThreadSort::New,
            Duration::from_secs(20),
            false,
        )
        .await
        .unwrap();
    let shown = thread.post.edit.expect("the edit is read from the DHT");
    assert_eq!(
        shown.latest.unwrap().body.as_deref(),
        Some("the better words")
    );
    assert_eq!(thread.post.record.infohash, id, "the id stays");

    // A forged delete under another key is never taken.
    let mallory = SecretKey::generate().unwrap();
    let forged = upseed_core::supersede::Supersede::sign(&mallory, id, None, 99).unwrap();
    let taken = upseed_node::discover::take_supersedes(
        &mut bob.store().unwrap(),
        posted.record.author(),
        [forged],
        upseed_node::now(),
    )
    .unwrap();
    assert!(taken.is_empty());
    assert!(
        !bob.store()
            .unwrap()
            .supersede(id)
            .unwrap()
            .unwrap()
            .is_delete()
    );

    // Alice deletes: bob's sync reads it for what he upvoted, and gc
    // stops seeding the deleted post.
    alice.delete(&id.to_string()).await.unwrap();
    let options = sync_options();
    let report = bob.sync(&options).await.unwrap().dht.unwrap();
    assert!(report.supersedes >= 1, "{report:?}");
    assert!(
        bob.store()
            .unwrap()
            .supersede(id)
            .unwrap()
            .unwrap()
            .is_delete()
    );
    let gc = bob
        .gc(upseed_node::gc::GcOptions {
            dry_run: false,
            include_authored: false,
        })
        .await
        .unwrap();
    assert!(
        gc.stopped
            .iter()
            .any(|s| s.infohash == id.to_string() && s.reason.contains("deleted")),
        "{:?}",
        gc.stopped
    );
    assert!(!bob_client.holds(id));
}

/// The bodies in `node`'s feed, and how many posts its mutes hid.
async fn feed_of(node: &Node<FakeClient>, show_muted: bool) -> (Vec<String>, usize) {
    let feed = node
        .feed(&FeedQuery {
            sort: upseed_core::rank::Sort::New,
            show_muted,
            ..FeedQuery::default()
        })
        .await
        .unwrap();
    let bodies = feed
        .items
        .iter()
        .map(|i| i.record.body.clone().unwrap_or_default())
        .collect();
    (bodies, feed.hidden)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscribed_mute_list_hides_updates_and_spares_whom_you_follow() {
    let testnet = mainline::Testnet::builder(8).build().unwrap();
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let clients: Vec<FakeClient> = (0..3).map(|_| FakeClient::new()).collect();
    let [bob, carol, dave] = [0, 1, 2].map(|i| {
        node(
            dirs[i].path(),
            &testnet.bootstrap,
            &clients[i],
            Events::none(),
        )
    });
    let dave_client = &clients[2];
    let bob_key = bob.identity().unwrap().public_key();
    let carol_key = carol.identity().unwrap().public_key();
    let posted = bob
        .post(&PostInput {
            text: "bob speaks".into(),
            title: None,
            community: None,
        })
        .await
        .unwrap();
    offer(dave_client, &posted.record);
    dave.upvote(
        &posted.record.infohash().to_string(),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert_eq!(feed_of(&dave, false).await, (vec!["bob speaks".into()], 0));

    // Carol mutes bob and publishes her list; dave subscribes.
    let target = carol
        .mute_target(upseed_core::mute::MuteKind::Author, &bob_key.to_z32())
        .unwrap();
    carol.mute(&target, None, false).await.unwrap();
    let published = carol.publish_mutes().await.unwrap();
    assert!(published.announced && published.published, "{published:?}");
    assert_eq!((published.entries, published.torrent), (1, None));
    let subscribed = dave.subscribe_mutes(carol_key).await.unwrap();
    assert!(subscribed.new);
    assert_eq!(subscribed.list.entries, 1, "{subscribed:?}");
    assert_eq!(subscribed.unseeded, [posted.record.infohash()]);
    assert!(
        !dave_client.holds(posted.record.infohash()),
        "what a list mutes is not seeded"
    );
    assert_eq!(feed_of(&dave, false).await, (vec![], 1));
    let shown = dave
        .feed(&FeedQuery {
            show_muted: true,
            ..FeedQuery::default()
        })
        .await
        .unwrap();
    let by = shown.items[0].muted.clone().expect("marked muted");
    assert_eq!(by.list, Some(carol_key.to_z32()), "says which list hid it");

    // Carol unmutes bob: after her sync and his, the removal reaches dave.
    let options = sync_options();
    carol.unmute(&target).unwrap();
    carol.sync(&options).await.unwrap();
    let report = dave.sync(&options).await.unwrap().dht.unwrap();
    assert_eq!(report.mute_lists.updated, 1, "{:?}", report.mute_lists);
    assert_eq!(feed_of(&dave, false).await, (vec!["bob speaks".into()], 0));

    // Muted again, in a list too long for an item: dave fetches its
    // torrent through his client.
    let strangers: Vec<_> = (0..100)
        .map(|_| {
            let key = SecretKey::generate().unwrap().public_key();
            (upseed_core::mute::MuteTarget::Author(key), None)
        })
        .collect();
    carol
        .store()
        .unwrap()
        .mute_all(&strangers, upseed_node::now())
        .unwrap();
    carol.mute(&target, None, false).await.unwrap();
    carol.sync(&options).await.unwrap();
    let encoded = carol.store().unwrap().own_mute_list().unwrap().1.unwrap();
    let list = upseed_core::mute_list::MuteList::decode(&encoded, upseed_node::now()).unwrap();
    assert_eq!(list.entries().len(), 101);
    assert!(
        clients[1].holds(list.infohash()),
        "carol's client seeds her long list"
    );
    dave_client.offer(&list.torrent_bytes::<&str>(&[]), list.encoded());
    let report = dave.sync(&options).await.unwrap().dht.unwrap();
    assert_eq!(report.mute_lists.updated, 1, "{:?}", report.mute_lists);
    assert_eq!(feed_of(&dave, false).await, (vec![], 1));

    // Dave follows bob: carol's list no longer hides him.
    dave.follow(bob_key, true).await.unwrap();
    assert_eq!(feed_of(&dave, false).await, (vec!["bob speaks".into()], 0));
    // Unsubscribing drops the list.
    assert!(dave.unsubscribe_mutes(carol_key).unwrap().removed);
    assert!(dave.mutes().unwrap().lists.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_counts_take_votes_from_follows_of_follows_and_not_a_lone_sybil() {
    let testnet = mainline::Testnet::builder(8).build().unwrap();
    let dirs: Vec<_> = (0..5).map(|_| tempfile::tempdir().unwrap()).collect();
    let clients: Vec<FakeClient> = (0..5).map(|_| FakeClient::new()).collect();
    let [alice, bob, carol, dave, mallory] = [0, 1, 2, 3, 4].map(|i| {
        node(
            dirs[i].path(),
            &testnet.bootstrap,
            &clients[i],
            Events::none(),
        )
    });
    let key = |n: &Node<FakeClient>| n.identity().unwrap().public_key();
    let sign = |text: &str| {
        PostDraft::new(text)
            .unwrap()
            .sign(&SecretKey::generate().unwrap(), upseed_node::now())
            .unwrap()
    };
    let (liked, pushed) = (sign("dave likes this"), sign("mallory pushes this"));
    for client in &clients {
        offer(client, &liked);
        offer(client, &pushed);
    }
    // Bob and carol both follow dave; only carol follows mallory.
    bob.follow(key(&dave), true).await.unwrap();
    carol.follow(key(&dave), true).await.unwrap();
    carol.follow(key(&mallory), true).await.unwrap();
    dave.upvote(&liked.infohash().to_string(), Duration::from_secs(5))
        .await
        .unwrap();
    mallory
        .upvote(&pushed.infohash().to_string(), Duration::from_secs(5))
        .await
        .unwrap();

    alice.follow(key(&bob), true).await.unwrap();
    alice.follow(key(&carol), true).await.unwrap();
    for post in [&liked, &pushed] {
        alice
            .show(&post.infohash().to_string(), Duration::from_secs(5))
            .await
            .unwrap();
    }
    let options = sync_options();
    let report = alice.sync(&options).await.unwrap().dht.unwrap();
    assert_eq!(
        (report.trust.size.follows, report.trust.size.second_hop),
        (2, 1),
        "{:?}",
        report.trust
    );
    assert_eq!(report.trust.outboxes_read, 1, "dave's outbox is read");
    let store = alice.store().unwrap();
    assert_eq!(store.trusted_count(liked.infohash()).unwrap(), 1);
    assert_eq!(
        store.trusted_count(pushed.infohash()).unwrap(),
        0,
        "one follow of mallory is not enough"
    );
    drop(store);
    let feed = alice
        .feed(&FeedQuery {
            by: Some(upseed_core::rank::Basis::Trusted),
            sort: upseed_core::rank::Sort::Top(upseed_core::rank::Window::Day),
            ..FeedQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(feed.by, upseed_core::rank::Basis::Trusted);
    assert_eq!(feed.items[0].record.infohash, liked.infohash(), "{feed:?}");
    assert_eq!(feed.items[0].trusted, 1);

    // Alice mutes dave: his vote stops counting.
    let target = alice
        .mute_target(upseed_core::mute::MuteKind::Author, &key(&dave).to_z32())
        .unwrap();
    alice.mute(&target, None, false).await.unwrap();
    assert_eq!(
        alice
            .store()
            .unwrap()
            .trusted_count(liked.infohash())
            .unwrap(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_without_work_is_never_fetched_and_an_honest_sync_clears_it() {
    let testnet = mainline::Testnet::builder(8).build().unwrap();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (alice_client, bob_client) = (FakeClient::new(), FakeClient::new());
    let alice = node(a.path(), &testnet.bootstrap, &alice_client, Events::none());
    let bob = node(b.path(), &testnet.bootstrap, &bob_client, Events::none());
    let posted = alice
        .post(&PostInput {
            text: "a real post".into(),
            title: None,
            community: Some("rust".into()),
        })
        .await
        .unwrap();
    offer(&bob_client, &posted.record);
    let board = upseed_core::item::community_board(
        posted.record.community().unwrap(),
        upseed_core::item::bucket_of(posted.record.created()),
        upseed_core::item::shard_of(posted.record.infohash()),
    );
    // A vandal fills the board with entries that prove no work, pushing
    // the real one out of the item.
    let junk: Vec<upseed_core::item::BoardEntry> = (0..upseed_core::item::BOARD_CAPACITY as u64)
        .map(|n| upseed_core::item::BoardEntry {
            hash: upseed_core::InfoHash::of_info(&n.to_be_bytes()),
            nonce: n,
        })
        .filter(|e| !e.proves_work())
        .collect();
    let dht = upseed_node::dht::Dht::join(&alice.config().unwrap().dht)
        .await
        .unwrap()
        .unwrap();
    dht.append_board(&board, &junk).await.unwrap();
    assert!(
        dht.read_board(&board.public_key()).await.is_empty(),
        "the junk is ignored, and the real entry is gone from the item"
    );
    let query = FeedQuery {
        community: Some("rust".into()),
        ..FeedQuery::default()
    };
    assert!(bob.feed(&query).await.unwrap().items.is_empty());
    assert!(
        bob_client.adds().is_empty(),
        "nothing of the flood was fetched"
    );
    // Alice's sync puts her post back, and drops the junk from the item.
    let options = sync_options();
    alice.sync(&options).await.unwrap();
    assert_eq!(
        dht.read_board(&board.public_key()).await,
        [posted.record.infohash()]
    );
    let found = rust_feed(&bob).await;
    assert_eq!(found[0].record.infohash, posted.record.infohash());
}
