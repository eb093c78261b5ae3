//! Feeds and threads from a fixed store, as people and programs see them;
//! and the committed JSON Schemas of those documents.
//!
//! After a deliberate change to the JSON shapes, run `UPSEED_TEST_BLESS=1 cargo
//! test -p upseed --test read` and commit `docs/schema/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use upseed::render::{self, FeedJson, Style, ThreadJson, ThreadSort};
use upseed_core::rank::{Sort, Window};
use upseed_core::retention::FadePolicy;
use upseed_core::{CommentDraft, Community, PostDraft, Record, SecretKey};
use upseed_node::store::{Store, SwarmCount};

const NOW: u64 = 1_763_683_200;

fn key(n: u8) -> SecretKey {
    SecretKey::from_seed(&[n; 32])
}

/// Two posts and a small comment tree, with swarm counts.
fn store() -> (tempfile::TempDir, Store, Record) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("store.db")).unwrap();
    let a = PostDraft::new("Seeding is the upvote. What nobody seeds fades away, and that is a feature: the network forgets what nobody cares to keep.")
        .unwrap()
        .title("What fades, fades")
        .unwrap()
        .community("rust")
        .unwrap()
        .sign(&key(1), NOW - 7_200)
        .unwrap();
    let b = PostDraft::new("A post without a title.\nIts first line stands in for one.")
        .unwrap()
        .sign(&key(2), NOW - 600)
        .unwrap();
    let c1 = CommentDraft::reply_to("Agreed, but who keeps the archive?", &a)
        .unwrap()
        .sign(&key(2), NOW - 3_600)
        .unwrap();
    let c2 = CommentDraft::reply_to("Whoever seeds it.", &c1)
        .unwrap()
        .sign(&key(1), NOW - 1_800)
        .unwrap();
    let c3 = CommentDraft::reply_to("First!", &a)
        .unwrap()
        .sign(&key(3), NOW - 7_000)
        .unwrap();
    for r in [&a, &b, &c1, &c2, &c3] {
        store.put_record(r, NOW).unwrap();
    }
    let count = |r: &Record, seeders| SwarmCount {
        infohash: r.infohash(),
        source: "http://127.0.0.1:6969/announce".into(),
        seeders: Some(seeders),
        leechers: Some(0),
        completed: Some(seeders),
    };
    store
        .put_counts(
            &[count(&a, 3), count(&b, 1), count(&c1, 2), count(&c3, 1)],
            NOW,
            &FadePolicy::default(),
        )
        .unwrap();
    (dir, store, a)
}

#[test]
fn feeds_render_as_text_and_json() {
    let (_dir, store, _) = store();
    let hot = render::build_feed(&store, Sort::Hot, None, 10, NOW).unwrap();
    assert_eq!(hot.items.len(), 2);
    insta::assert_snapshot!("feed-hot-text", render::feed_text(&hot, Style::plain()));
    insta::assert_snapshot!("feed-hot-json", serde_json::to_string_pretty(&hot).unwrap());
    let rust = render::build_feed(
        &store,
        Sort::Top(Window::Day),
        Some(&Community::new("rust").unwrap()),
        10,
        NOW,
    )
    .unwrap();
    assert_eq!(rust.items.len(), 1);
    assert_eq!(rust.items[0].comments, 3);
    let new = render::build_feed(&store, Sort::New, None, 10, NOW).unwrap();
    assert_eq!(
        new.items[0].record.title, None,
        "the untitled post is newer"
    );
    let empty = render::build_feed(
        &store,
        Sort::Top(Window::Day),
        Some(&Community::new("go").unwrap()),
        10,
        NOW,
    )
    .unwrap();
    assert_eq!(render::feed_text(&empty, Style::plain()), "no posts yet\n");
}

#[test]
fn search_results_render_with_their_matches() {
    let (_dir, store, _) = store();
    let names = upseed_node::feed::Names::default();
    let found = upseed_node::search::run(
        &store,
        &names,
        "seeds",
        upseed_node::SearchOrder::New,
        (10, 0),
        upseed_node::View::all(),
    )
    .unwrap();
    assert_eq!(found.items.len(), 2, "the post and c2");
    insta::assert_snapshot!(
        "search-text",
        render::search_text(&found, NOW, Style::plain())
    );
    insta::assert_snapshot!("search-json", serde_json::to_string_pretty(&found).unwrap());
}

#[test]
fn threads_render_as_an_indented_tree() {
    let (_dir, store, post) = store();
    let top = render::build_thread(&store, post.infohash(), ThreadSort::Top).unwrap();
    let depths: Vec<usize> = top.comments.iter().map(|c| c.depth).collect();
    assert_eq!(
        depths,
        vec![1, 2, 1],
        "c1 (2 seeders) with its reply, then c3"
    );
    insta::assert_snapshot!(
        "thread-top-text",
        render::thread_text(&top, NOW, Style::plain())
    );
    insta::assert_snapshot!(
        "thread-top-json",
        serde_json::to_string_pretty(&top).unwrap()
    );
    let new = render::build_thread(&store, post.infohash(), ThreadSort::New).unwrap();
    assert_eq!(
        new.comments[0].record.body.as_deref(),
        Some("Agreed, but who keeps the archive?")
    );
    // Any comment leads to its whole thread.
    let from_reply =
        render::build_thread(&store, top.comments[1].record.infohash, ThreadSort::Top).unwrap();
    assert_eq!(from_reply, top);
}

fn check_schema(name: &str, schema: schemars::Schema) {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../docs/schema/{name}.schema.json"));
    let mut current = serde_json::to_string_pretty(&schema).unwrap();
    current.push('\n');
    if std::env::var_os("UPSEED_TEST_BLESS").is_some() {
        std::fs::write(&path, &current).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == current,
        "{} is stale; run `UPSEED_TEST_BLESS=1 cargo test -p upseed --test read` and commit it",
        path.display()
    );
}

#[test]
fn committed_schemas_are_current() {
    check_schema("feed", schemars::schema_for!(FeedJson));
    check_schema("thread", schemars::schema_for!(ThreadJson));
    check_schema("sync", schemars::schema_for!(upseed_node::sync::SyncReport));
    check_schema("gc", schemars::schema_for!(upseed_node::gc::GcReport));
    check_schema("status", schemars::schema_for!(upseed_node::status::Status));
    use upseed::json;
    check_schema("doctor", schemars::schema_for!(json::DoctorJson));
    check_schema("post", schemars::schema_for!(json::PostedJson));
    check_schema("upvote", schemars::schema_for!(json::UpvoteJson));
    check_schema("unvote", schemars::schema_for!(json::UnvoteJson));
    check_schema("pin", schemars::schema_for!(json::PinJson));
    check_schema("follow", schemars::schema_for!(json::FollowJson));
    check_schema("profile", schemars::schema_for!(json::ProfileJson));
    check_schema("key", schemars::schema_for!(json::KeyJson));
    check_schema("export", schemars::schema_for!(json::ExportJson));
    check_schema("config", schemars::schema_for!(json::ConfigJson));
    check_schema("search", schemars::schema_for!(upseed_node::SearchJson));
    check_schema("ingest", schemars::schema_for!(json::IngestJson));
    check_schema("hook", schemars::schema_for!(json::HookJson));
    check_schema("mute", schemars::schema_for!(upseed_node::MuteReport));
    check_schema("unmute", schemars::schema_for!(upseed_node::UnmuteReport));
    check_schema("mutes", schemars::schema_for!(upseed_node::MutesJson));
    check_schema("edit", schemars::schema_for!(upseed_node::SupersedeReport));
    check_schema(
        "mutes-publish",
        schemars::schema_for!(upseed_node::MuteListReport),
    );
    check_schema(
        "mutes-subscribe",
        schemars::schema_for!(upseed_node::SubscribeReport),
    );
    check_schema(
        "mutes-unsubscribe",
        schemars::schema_for!(upseed_node::UnsubscribeReport),
    );
}
