//! The web page in a real browser: Debian's chromium, driven through
//! chromedriver by fantoccini, on `upseed serve` over a real qBittorrent.
//! A user posts, comments, upvotes from the feed, follows an author,
//! searches and subscribes in qBittorrent, at a phone's size and a
//! desktop's, and each page is checked for what it shows.
//!
//! Screenshots go to `$CARGO_TARGET_TMPDIR/screenshots/`; with
//! `UPSEED_TEST_BLESS=1` the README's are refreshed in `docs/screenshots/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{Running, serve, text, two_users, upseed};
use fantoccini::{Client, ClientBuilder, Locator};
use upseed_core::{InfoHash, TorrentClient};
use upseed_tests::have;

const PHONE: (u32, u32) = (390, 844);
const DESKTOP: (u32, u32) = (1280, 900);
/// The screenshots the README shows, in `docs/screenshots/`.
const README_SHOTS: &[&str] = &["feed-phone", "thread-phone", "feed-desktop"];

fn installed() -> bool {
    have("chromium") && have("chromedriver") && have("qbittorrent-nox") && have("opentracker")
}

/// chromedriver on a free port, and its URL once it answers.
async fn chromedriver() -> (Running, String) {
    let port = upseed_tests::free_port(std::net::Ipv4Addr::LOCALHOST);
    let child = std::process::Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    upseed_tests::eventually(
        "chromedriver to answer",
        Duration::from_secs(20),
        || async {
            http.get(format!("{url}/status"))
                .send()
                .await
                .ok()
                .map(drop)
        },
    )
    .await;
    (Running(child), url)
}

/// A headless chromium session with a profile of its own.
async fn browser(driver: &str, profile: &std::path::Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--hide-scrollbars",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    ClientBuilder::rustls()
        .unwrap()
        .capabilities(caps)
        .connect(driver)
        .await
        .expect("a chromium session through chromedriver")
}

/// Where screenshots go.
fn shots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Sizes the viewport to `size` (the window's outer size is set to fit).
async fn resize(page: &Client, (width, height): (u32, u32)) {
    page.set_window_size(width, height).await.unwrap();
    let inner = page
        .execute("return [window.innerWidth, window.innerHeight];", vec![])
        .await
        .unwrap();
    let dw = width.saturating_sub(inner[0].as_u64().unwrap() as u32);
    let dh = height.saturating_sub(inner[1].as_u64().unwrap() as u32);
    page.set_window_size(width + dw, height + dh).await.unwrap();
}

/// Saves a screenshot of the page as `name`, and refreshes the README's
/// copy under bless.
async fn shot(page: &Client, name: &str) {
    let png = page.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "{name} is a PNG");
    std::fs::write(shots().join(format!("{name}.png")), &png).unwrap();
    if std::env::var_os("UPSEED_TEST_BLESS").is_some() && README_SHOTS.contains(&name) {
        let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::write(docs.join(format!("{name}.png")), &png).unwrap();
    }
}

/// Whether the page fits its viewport's width: nothing to scroll sideways.
async fn fits(page: &Client) -> bool {
    page.execute(
        "return document.documentElement.scrollWidth <= window.innerWidth;",
        vec![],
    )
    .await
    .unwrap()
    .as_bool()
    .unwrap()
}

/// The page's text; while a click's navigation is under way, the next
/// page's.
async fn body_text(page: &Client) -> String {
    for _ in 0..50 {
        if let Ok(body) = page.find(Locator::Css("body")).await
            && let Ok(text) = body.text().await
        {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the page has no body");
}

/// The element `css` selects, once the page has one.
async fn find_soon(page: &Client, css: &str) -> fantoccini::elements::Element {
    upseed_tests::eventually(
        &format!("the page to have {css}"),
        Duration::from_secs(20),
        || async { page.find(Locator::Css(css)).await.ok() },
    )
    .await
}

/// Waits until the page shows `words`, and returns its text.
async fn shows(page: &Client, words: &str) -> String {
    upseed_tests::eventually(
        &format!("the page to show {words:?}"),
        Duration::from_secs(20),
        || async {
            let text = body_text(page).await;
            text.contains(words).then_some(text)
        },
    )
    .await
}

#[tokio::test]
async fn a_user_posts_comments_votes_follows_searches_and_subscribes_in_a_browser() {
    if !installed() {
        return;
    }
    let users = two_users().await;
    // Bob posts; alice reads it, so her store and page know him.
    let out = upseed(
        users.bob.path(),
        &users.bpw,
        &[
            "post",
            "--json",
            "--community",
            "garden",
            "--title",
            "Compost in winter",
            "Keep the heap covered and turn it less often.",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let bobs: InfoHash = doc["infohash"].as_str().unwrap().parse().unwrap();
    let bob_key = doc["record"]["author"].as_str().unwrap().to_owned();
    users.tracker.allow(&[bobs]).await;
    users.bob_qb.client().announce_now(&[bobs]).await.unwrap();
    let read = upseed(users.alice.path(), &users.apw, &["show", &bobs.to_string()]);
    assert!(read.status.success(), "{}", text(&read.stderr));

    let (_server, base) = serve(users.alice.path(), &users.apw);
    let http = reqwest::Client::new();
    upseed_tests::eventually("the page to answer", Duration::from_secs(20), || async {
        http.get(format!("{base}/")).send().await.ok().map(drop)
    })
    .await;
    let (_driver, driver_url) = chromedriver().await;
    let profile = tempfile::tempdir().unwrap();
    let page = browser(&driver_url, profile.path()).await;
    resize(&page, PHONE).await;

    // The feed, at a phone's size.
    page.goto(&format!("{base}/?sort=new")).await.unwrap();
    let feed = body_text(&page).await;
    assert!(feed.contains("Compost in winter"), "{feed}");
    assert!(fits(&page).await, "the feed scrolls sideways on a phone");
    shot(&page, "feed-phone").await;

    // Post from the submit form.
    page.find(Locator::LinkText("submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    find_soon(&page, "main form textarea").await;
    let form = page.form(Locator::Css("main form")).await.unwrap();
    form.set_by_name("title", "Typed in a browser")
        .await
        .unwrap()
        .set_by_name(
            "text",
            "Posted from a phone-sized page, seeded by qBittorrent.",
        )
        .await
        .unwrap()
        .set_by_name("community", "garden")
        .await
        .unwrap()
        .submit()
        .await
        .unwrap();
    let url = upseed_tests::eventually(
        "the new post's page to open",
        Duration::from_secs(20),
        || async {
            let url = page.current_url().await.ok()?;
            url.path().starts_with("/t/").then_some(url)
        },
    )
    .await;
    let mine: InfoHash = url.path().trim_start_matches("/t/").parse().unwrap();
    let heading = page
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(heading, "Typed in a browser");
    upseed_tests::conformance::wait_seeding(
        &users.alice_qb.client(),
        mine,
        Duration::from_secs(20),
    )
    .await;

    // Comment in the thread.
    let form = page
        .form(Locator::Css("form[action$='/reply']"))
        .await
        .unwrap();
    form.set_by_name("text", "A first comment, from the same browser.")
        .await
        .unwrap()
        .submit()
        .await
        .unwrap();
    shows(&page, "A first comment, from the same browser.").await;
    assert!(fits(&page).await, "the thread scrolls sideways on a phone");
    shot(&page, "thread-phone").await;

    // Upvote bob's post from the feed: alice's qBittorrent seeds it.
    page.goto(&format!("{base}/?sort=new")).await.unwrap();
    page.find(Locator::Css(&format!(
        "form[action='/upvote/{bobs}'] button"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    upseed_tests::eventually(
        "the upvote to reach the client",
        Duration::from_secs(30),
        || async { common::holds(&users.alice_qb, bobs).await.then_some(()) },
    )
    .await;
    page.goto(&format!("{base}/seeded")).await.unwrap();
    shows(&page, "Compost in winter").await;

    // Follow bob from his author page.
    page.goto(&format!("{base}/?sort=new")).await.unwrap();
    find_soon(&page, &format!("a[href='/a/{bob_key}']"))
        .await
        .click()
        .await
        .unwrap();
    page.find(Locator::Css(&format!(
        "form[action='/follow/{bob_key}'] button"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    shows(&page, "you follow them").await;
    let follows = upseed(
        users.alice.path(),
        &users.apw,
        &["follow", "--json", &bob_key],
    );
    let doc: serde_json::Value = serde_json::from_slice(&follows.stdout).unwrap();
    assert_eq!(doc["changed"], false, "the page's follow is in the store");

    // Search from the header's box.
    page.form(Locator::Css("header form.search"))
        .await
        .unwrap()
        .set_by_name("q", "heap community:garden")
        .await
        .unwrap()
        .submit_direct()
        .await
        .unwrap();
    let marked = page
        .find(Locator::Css("mark"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(marked.to_lowercase(), "heap");
    let results = body_text(&page).await;
    assert!(results.contains("Compost in winter"), "{results}");
    assert!(!results.contains("Typed in a browser"), "{results}");
    shot(&page, "search-phone").await;

    // Subscribe qBittorrent's RSS reader to the garden.
    page.goto(&format!("{base}/?sort=new&community=garden"))
        .await
        .unwrap();
    find_soon(&page, "form[action='/subscribe'] button")
        .await
        .click()
        .await
        .unwrap();
    // The answer is a new page: wait for it, not for the one clicked on.
    shows(&page, "Your client's RSS reader now follows").await;
    let items = users
        .alice_qb
        .api("rss/items", &[("withData", "false")])
        .await;
    assert!(items.contains("community=garden"), "{items}");

    // The same pages at a desktop's size.
    resize(&page, DESKTOP).await;
    page.goto(&format!("{base}/?sort=new")).await.unwrap();
    assert!(fits(&page).await);
    shot(&page, "feed-desktop").await;
    page.goto(&format!("{base}/t/{mine}")).await.unwrap();
    shot(&page, "thread-desktop").await;
    page.close().await.unwrap();
}
