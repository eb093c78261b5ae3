//! Hostile swarms against real qBittorrent and Transmission, in a private
//! network namespace so that Transmission dials qBittorrent. The steps are
//! in `upseed_tests::hostile`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use upseed_tests::{have, hostile, netns, upseed_binary};

#[tokio::test]
async fn a_forged_torrent_with_a_posts_file_name_deletes_nobodys_copy() {
    if netns::reexec("a_forged_torrent_with_a_posts_file_name_deletes_nobodys_copy")
        || !have("qbittorrent-nox")
        || !have("transmission-daemon")
        || !have("opentracker")
    {
        return;
    }
    hostile::forged_name(&upseed_binary()).await;
}

#[tokio::test]
async fn an_upvote_right_after_a_read_counts_on_transmission() {
    if netns::reexec("an_upvote_right_after_a_read_counts_on_transmission")
        || !have("qbittorrent-nox")
        || !have("transmission-daemon")
        || !have("opentracker")
    {
        return;
    }
    hostile::upvote_right_after_read(&upseed_binary()).await;
}
