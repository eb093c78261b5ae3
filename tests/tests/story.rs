//! The end-to-end story on real daemons, in a private network namespace so
//! that Transmission dials qBittorrent: post, show, upvote, comment,
//! thread, feed, unvote. The steps are in `upseed_tests::story`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use upseed_tests::{have, netns, story, upseed_binary};

#[tokio::test]
async fn alice_posts_bob_reads_upvotes_comments_and_unvotes() {
    if netns::reexec("alice_posts_bob_reads_upvotes_comments_and_unvotes")
        || !have("qbittorrent-nox")
        || !have("transmission-daemon")
        || !have("opentracker")
    {
        return;
    }
    story::run(&upseed_binary(), true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn on_the_embedded_engine_with_no_client_and_no_namespace() {
    if !have("opentracker") {
        return;
    }
    story::run_embedded(&upseed_binary(), true).await;
}
