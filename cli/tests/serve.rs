//! `upseed serve`'s pages and forms in-process, through the router, on an
//! in-memory client: what each shows, the refusals (CSRF, another site,
//! the login off loopback), hostile text rendered inert, bad input shown
//! in place with nothing stored, and no request ever a 5xx.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt;
use upseed::client::AnyClient;
use upseed::serve::{App, Guard, router};
use upseed_core::{PostDraft, SecretKey};
use upseed_node::fake::FakeClient;
use upseed_node::{Home, Node, Vars, keyfile};

struct Site {
    app: App,
    csrf: String,
    client: FakeClient,
    _dir: tempfile::TempDir,
}

fn site_with(guard: Guard) -> Site {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::in_dir(dir.path());
    keyfile::create(&home.identity, &SecretKey::generate().unwrap()).unwrap();
    let client = FakeClient::new();
    let shared = client.clone();
    let node = Node::new(home, Vars::default(), move |_, _| {
        Ok(AnyClient::Fake(shared.clone()))
    })
    .with_config(upseed_node::fake::config(dir.path()));
    let csrf = guard.csrf().to_owned();
    Site {
        app: App::new(Arc::new(node), guard).with_fetch_timeout(std::time::Duration::from_secs(2)),
        csrf,
        client,
        _dir: dir,
    }
}

fn site() -> Site {
    site_with(Guard::open().unwrap())
}

/// A response's status, `Location` and body.
struct Page {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

async fn send(site: &Site, request: Request<Body>) -> Page {
    let response = router(site.app.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    Page {
        status,
        location,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn get(site: &Site, path: &str) -> Page {
    send(site, Request::get(path).body(Body::empty()).unwrap()).await
}

fn encode(fields: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

async fn post(site: &Site, path: &str, fields: &[(&str, &str)]) -> Page {
    let mut all = vec![("csrf", site.csrf.as_str())];
    all.extend_from_slice(fields);
    post_raw(site, path, encode(&all), &[]).await
}

async fn post_raw(site: &Site, path: &str, body: String, headers: &[(&str, &str)]) -> Page {
    let mut request =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    send(site, request.body(Body::from(body)).unwrap()).await
}

#[tokio::test]
async fn post_read_comment_and_vote_through_the_page() {
    let site = site();
    let feed = get(&site, "/").await;
    assert_eq!(feed.status, StatusCode::OK);
    assert!(feed.body.contains("No posts here yet."), "{}", feed.body);

    let form = get(&site, "/submit").await;
    assert!(
        form.body
            .contains(&format!("name=\"csrf\" value=\"{}\"", site.csrf))
    );
    let posted = post(
        &site,
        "/submit",
        &[
            ("title", "hello web"),
            ("community", "rust"),
            ("text", "from a browser"),
        ],
    )
    .await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
    let thread_path = posted.location.unwrap();
    let hash = thread_path.strip_prefix("/t/").unwrap().to_owned();
    assert_eq!(hash.len(), 40);

    let feed = get(&site, "/").await;
    assert!(
        feed.body.contains("hello web") && feed.body.contains("1 seeder"),
        "{}",
        feed.body
    );
    let community = get(&site, "/?sort=top&window=week&community=rust").await;
    assert!(community.body.contains("hello web"), "{}", community.body);
    assert!(
        get(&site, "/?community=go")
            .await
            .body
            .contains("No posts here yet.")
    );

    let replied = post(&site, &format!("/t/{hash}/reply"), &[("text", "a reply")]).await;
    assert_eq!(replied.status, StatusCode::SEE_OTHER, "{}", replied.body);
    let thread = get(&site, &thread_path).await;
    assert!(
        thread.body.contains("from a browser") && thread.body.contains("a reply"),
        "{}",
        thread.body
    );
    assert!(thread.body.contains("1 comment"), "{}", thread.body);

    // A stranger's post, upvoted and unvoted from its page.
    let stranger = PostDraft::new("theirs")
        .unwrap()
        .sign(&SecretKey::generate().unwrap(), upseed_node::now())
        .unwrap();
    site.client
        .offer(&stranger.torrent_bytes::<&str>(&[]), b"theirs");
    let theirs = stranger.infohash().to_string();
    let up = post(
        &site,
        &format!("/upvote/{theirs}"),
        &[("back", "/?sort=new")],
    )
    .await;
    assert_eq!(up.status, StatusCode::SEE_OTHER, "{}", up.body);
    assert_eq!(up.location.as_deref(), Some("/?sort=new"));
    assert!(site.client.holds(stranger.infohash()));
    let down = post(
        &site,
        &format!("/unvote/{theirs}"),
        &[("back", "//evil.example/")],
    )
    .await;
    assert_eq!(down.status, StatusCode::SEE_OTHER, "{}", down.body);
    assert_eq!(
        down.location.as_deref(),
        Some("/"),
        "never back to another site"
    );
    assert!(!site.client.holds(stranger.infohash()));
    assert!(get(&site, "/status").await.body.contains("daemon"));
}

#[tokio::test]
async fn forms_from_elsewhere_or_without_the_token_are_refused() {
    let site = site();
    let body = encode(&[("text", "forged")]);
    let missing = post_raw(&site, "/submit", body.clone(), &[]).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let wrong = post_raw(
        &site,
        "/submit",
        encode(&[("csrf", "0000"), ("text", "forged")]),
        &[],
    )
    .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let with_token = encode(&[("csrf", &site.csrf), ("text", "forged")]);
    for headers in [
        &[("sec-fetch-site", "cross-site")][..],
        &[
            ("origin", "http://evil.example"),
            ("host", "127.0.0.1:8780"),
        ],
    ] {
        let refused = post_raw(&site, "/submit", with_token.clone(), headers).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{headers:?}");
    }
    let same = post_raw(
        &site,
        "/submit",
        with_token,
        &[
            ("origin", "http://127.0.0.1:8780"),
            ("host", "127.0.0.1:8780"),
        ],
    )
    .await;
    assert_eq!(same.status, StatusCode::SEE_OTHER, "{}", same.body);
    assert_eq!(
        site.client.torrents().len(),
        1,
        "only the same-site post was made"
    );
}

#[tokio::test]
async fn hostile_text_renders_inert() {
    let site = site();
    // Records refuse bidirectional controls: said in place, the draft echoed inert.
    let bidi = post(
        &site,
        "/submit",
        &[("text", "<script>x</script> \u{202E}evil")],
    )
    .await;
    assert_eq!(bidi.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bidi.body.contains("bidirectional control U+202E"),
        "{}",
        bidi.body
    );
    assert!(!bidi.body.contains("<script>x") && bidi.body.contains("&lt;script&gt;x"));
    let hostile = "<script>alert(1)</script> \"><img src=x onerror=alert(2)> javascript:alert(3) "
        .to_owned()
        + &"x".repeat(5_000);
    let posted = post(
        &site,
        "/submit",
        &[
            ("title", "<b onmouseover=alert(4)>t</b>"),
            ("text", &hostile),
        ],
    )
    .await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
    let path = posted.location.unwrap();
    for page in [get(&site, "/").await, get(&site, &path).await] {
        for raw in ["<script>", "<img", "<b onmouseover", "href=\"javascript:"] {
            assert!(!page.body.contains(raw), "{raw} reached the page");
        }
        assert!(page.body.contains("&lt;script&gt;") || page.body.contains("&lt;b onmouseover"));
        assert!(page.body.contains("<bdi>"), "network text is isolated");
    }
}

#[tokio::test]
async fn bad_input_is_shown_in_place_and_nothing_is_stored() {
    let site = site();
    let empty = post(&site, "/submit", &[("title", "kept"), ("text", "")]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        empty
            .body
            .contains("the body is empty; write at least one character"),
        "{}",
        empty.body
    );
    assert!(
        empty.body.contains("value=\"kept\""),
        "the draft is kept: {}",
        empty.body
    );
    let long = "y".repeat(upseed_core::text::MAX_POST_BODY + 1);
    let too_long = post(&site, "/submit", &[("text", &long)]).await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    let binary = post(&site, "/submit", &[("text", "nul \u{0} byte")]).await;
    assert_eq!(
        binary.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        binary.body
    );
    let unknown = get(&site, "/t/ffffffffffffffffffffffffffffffffffffffff").await;
    assert!(!unknown.status.is_server_error());
    let bad = post(&site, "/t/zzz/reply", &[("text", "to nothing")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("is not an infohash"), "{}", bad.body);
    site.client.set_down(true);
    let down = post(&site, "/submit", &[("text", "while the client is down")]).await;
    assert_eq!(down.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(down.body.contains("cannot reach"), "{}", down.body);
    site.client.set_down(false);
    assert!(site.client.torrents().is_empty(), "nothing was published");
    assert!(get(&site, "/").await.body.contains("No posts here yet."));
}

#[tokio::test]
async fn off_loopback_a_login_is_required() {
    let anywhere: std::net::SocketAddr = "0.0.0.0:8780".parse().unwrap();
    let refused = Guard::for_listening(anywhere, &Vars::default(), None).unwrap_err();
    assert!(
        refused.to_string().contains("UPSEED_SERVE_PASSWORD"),
        "{refused}"
    );
    let vars = Vars::default().with("UPSEED_SERVE_PASSWORD", "open sesame");
    let site = site_with(Guard::for_listening(anywhere, &vars, None).unwrap());
    let denied = get(&site, "/").await;
    assert_eq!(denied.status, StatusCode::UNAUTHORIZED);
    assert!(!denied.body.contains("open sesame"));
    use base64::Engine;
    let auth = |password: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("me:{password}"))
        )
    };
    let wrong = send(
        &site,
        Request::get("/")
            .header(header::AUTHORIZATION, auth("guess"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let right = send(
        &site,
        Request::get("/")
            .header(header::AUTHORIZATION, auth("open sesame"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(right.status, StatusCode::OK);
    assert!(
        Guard::for_listening("127.0.0.1:8780".parse().unwrap(), &Vars::default(), None).is_ok()
    );
}

#[tokio::test]
async fn fuzzed_requests_never_get_a_server_error() {
    let site = site();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let paths = [
        "/",
        "/submit",
        "/t/abc/reply",
        "/upvote/abcdef",
        "/unvote/00",
        "/t/%ff",
        "/?sort=x&window=y&page=-1",
    ];
    let fields = ["text", "title", "community", "parent", "back", "csrf"];
    for _ in 0..300 {
        let path = paths[(next() % paths.len() as u64) as usize];
        let mut pairs: Vec<(String, String)> = vec![("csrf".into(), site.csrf.clone())];
        for _ in 0..(next() % 4) {
            let name = fields[(next() % fields.len() as u64) as usize];
            let len = (next() % 64) as usize;
            let value: String = (0..len)
                .map(|_| char::from_u32((next() % 0x3000) as u32).unwrap_or('?'))
                .collect();
            pairs.push((name.into(), value));
        }
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        let page = if next() % 3 == 0 {
            get(&site, path).await
        } else {
            post_raw(&site, path, body, &[]).await
        };
        assert!(
            !page.status.is_server_error(),
            "{path}: {}: {}",
            page.status,
            page.body
        );
    }
}

/// Python's feedparser on `document`: the entry count, or why it is bozo.
/// None when feedparser is missing (a failure under CI=true).
fn feedparser(document: &str) -> Option<Result<usize, String>> {
    let python = if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("feed.xml");
    std::fs::write(&file, document).unwrap();
    let out = std::process::Command::new(python)
        .args([
            "-c",
            "import sys, feedparser\nd = feedparser.parse(sys.argv[1])\nprint('BOZO', d.bozo_exception) if d.bozo else print(len(d.entries))",
        ])
        .arg(&file)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() {
        assert!(
            std::env::var_os("CI").is_none(),
            "feedparser is missing: run scripts/install-deps ({})",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    Some(text.parse().map_err(|_| text))
}

#[tokio::test]
async fn atom_and_rss_carry_each_post_with_its_torrent() {
    let site = site();
    for (title, community) in [("first", "rust"), ("second", "rust"), ("elsewhere", "go")] {
        let posted = post(
            &site,
            "/submit",
            &[
                ("title", title),
                ("community", community),
                ("text", "body & <text>"),
            ],
        )
        .await;
        assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
    }
    let atom = get(&site, "/feed.atom?sort=new&community=rust").await;
    assert_eq!(atom.status, StatusCode::OK);
    let feed: atom_syndication::Feed = atom.body.parse().unwrap();
    assert_eq!(feed.entries.len(), 2, "{}", atom.body);
    // Posted in the same second, they may rank either way.
    let entry = feed
        .entries
        .iter()
        .find(|e| e.title.value == "second")
        .expect("the second post");
    let hash = entry.id.strip_prefix("urn:btih:").unwrap().to_owned();
    let enclosure = entry.links.iter().find(|l| l.rel == "enclosure").unwrap();
    assert_eq!(
        enclosure.mime_type.as_deref(),
        Some("application/x-bittorrent")
    );
    assert!(
        entry
            .links
            .iter()
            .any(|l| l.href == format!("magnet:?xt=urn:btih:{hash}"))
    );
    assert_eq!(
        entry.content.as_ref().unwrap().value.as_deref(),
        Some("body & <text>")
    );

    let path = enclosure.href.split_once("://").unwrap().1;
    let path = &path[path.find('/').unwrap()..];
    let torrent = send(&site, Request::get(path).body(Body::empty()).unwrap()).await;
    assert_eq!(torrent.status, StatusCode::OK);
    let response = router(site.app.clone())
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let parsed = upseed_core::Torrent::parse(&bytes, upseed_node::now()).unwrap();
    assert_eq!(parsed.record.infohash().to_string(), hash);

    let rss = get(&site, "/feed.rss?sort=new&community=rust").await;
    let channel: rss::Channel = rss.body.parse().unwrap();
    assert_eq!(channel.items.len(), 2);
    let item = channel
        .items
        .iter()
        .find(|i| i.title.as_deref() == Some("second"))
        .expect("the second post");
    assert_eq!(
        item.guid.as_ref().unwrap().value,
        format!("urn:btih:{hash}")
    );
    assert_eq!(
        item.enclosure.as_ref().unwrap().mime_type,
        "application/x-bittorrent"
    );

    for document in [&atom.body, &rss.body] {
        if let Some(parsed) = feedparser(document) {
            assert_eq!(parsed, Ok(2), "{document}");
        }
    }

    // The same entries keep their date; new ones move it on.
    let before = feed.updated;
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let again: atom_syndication::Feed = get(&site, "/feed.atom?sort=new&community=rust")
        .await
        .body
        .parse()
        .unwrap();
    assert_eq!(again.updated, before);
    post(
        &site,
        "/submit",
        &[("community", "rust"), ("text", "third")],
    )
    .await;
    let after: atom_syndication::Feed = get(&site, "/feed.atom?sort=new&community=rust")
        .await
        .body
        .parse()
        .unwrap();
    assert!(after.updated > before, "{} then {}", before, after.updated);
    let channel_after: rss::Channel = get(&site, "/feed.rss?sort=new&community=rust")
        .await
        .body
        .parse()
        .unwrap();
    assert_ne!(channel_after.last_build_date, channel.last_build_date);
    assert!(
        get(
            &site,
            "/torrent/ffffffffffffffffffffffffffffffffffffffff.torrent"
        )
        .await
        .status
            == StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_view_subscribes_the_clients_rss_reader() {
    let site = site();
    let page = get(&site, "/?community=rust&sort=top&window=week").await;
    assert!(
        page.body.contains("subscribe in qBittorrent"),
        "{}",
        page.body
    );
    let done = post_raw(
        &site,
        "/subscribe",
        encode(&[
            ("csrf", &site.csrf),
            ("sort", "top"),
            ("window", "week"),
            ("community", "rust"),
        ]),
        &[("host", "box.local:8780")],
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(
        site.client.feeds(),
        vec![(
            "http://box.local:8780/feed.rss?sort=top&window=week&community=rust".to_owned(),
            "upseed rust (top)".to_owned()
        )]
    );
    let bad = post(&site, "/subscribe", &[("sort", "loud")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_seeded_set_communities_and_doctor() {
    let site = site();
    let posted = post(
        &site,
        "/submit",
        &[("title", "mine"), ("community", "rust"), ("text", "x")],
    )
    .await;
    let hash = posted
        .location
        .unwrap()
        .trim_start_matches("/t/")
        .to_owned();
    let seeded = get(&site, "/seeded").await;
    assert!(
        seeded.body.contains("mine") && seeded.body.contains("authored"),
        "{}",
        seeded.body
    );
    assert!(!seeded.body.contains("· pinned"));
    let pinned = post(&site, &format!("/pin/{hash}"), &[("back", "/seeded")]).await;
    assert_eq!(pinned.location.as_deref(), Some("/seeded"));
    assert!(get(&site, "/seeded").await.body.contains("· pinned"));
    post(&site, &format!("/unpin/{hash}"), &[("back", "/seeded")]).await;
    assert!(!get(&site, "/seeded").await.body.contains("· pinned"));
    let unknown = post(&site, "/pin/ffffffffffffffffffffffffffffffffffffffff", &[]).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown.body.contains("is not in your store"),
        "{}",
        unknown.body
    );
    let communities = get(&site, "/communities").await;
    assert!(
        communities.body.contains("rust") && communities.body.contains("1 post"),
        "{}",
        communities.body
    );
    let doctor = get(&site, "/doctor").await;
    assert_eq!(doctor.status, StatusCode::OK);
    assert!(
        doctor.body.contains("identity") && doctor.body.contains("client"),
        "{}",
        doctor.body
    );
}

#[tokio::test]
async fn an_author_page_with_follow_and_feeds() {
    let site = site();
    post(&site, "/submit", &[("title", "by me"), ("text", "x")]).await;
    let feed = get(&site, "/").await;
    let link = feed
        .body
        .split("href=\"/a/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the author links to their page")
        .to_owned();
    let page = get(&site, &format!("/a/{link}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("by me") && page.body.contains(">follow<"),
        "{}",
        page.body
    );
    let stranger = SecretKey::generate().unwrap().public_key().to_z32();
    let followed = post(&site, &format!("/follow/{stranger}"), &[]).await;
    assert_eq!(
        followed.location.as_deref(),
        Some(format!("/a/{stranger}").as_str())
    );
    let theirs = get(&site, &format!("/a/{stranger}")).await;
    assert!(
        theirs.body.contains(">unfollow<") && theirs.body.contains("No posts of theirs"),
        "{}",
        theirs.body
    );
    post(&site, &format!("/unfollow/{stranger}"), &[]).await;
    assert!(
        get(&site, &format!("/a/{stranger}"))
            .await
            .body
            .contains(">follow<")
    );
    let atom: atom_syndication::Feed = get(&site, &format!("/a/{link}/feed.atom"))
        .await
        .body
        .parse()
        .unwrap();
    assert_eq!(atom.entries.len(), 1);
    let rss = get(&site, &format!("/a/{link}/feed.rss")).await;
    if let Some(parsed) = feedparser(&rss.body) {
        assert_eq!(parsed, Ok(1), "{}", rss.body);
    }
    assert_eq!(
        get(&site, "/a/not-a-key").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_thread_polls_for_new_replies_under_a_strict_policy() {
    let site = site();
    let posted = post(&site, "/submit", &[("text", "polled")]).await;
    let path = posted.location.unwrap();
    let page = router(site.app.clone())
        .oneshot(Request::get(path.as_str()).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let csp = page.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe"),
        "{csp}"
    );
    let body = axum::body::to_bytes(page.into_body(), usize::MAX)
        .await
        .unwrap();
    let body = String::from_utf8_lossy(&body);
    assert!(
        body.contains(&format!("hx-get=\"{path}/comments?have=0\"")),
        "{body}"
    );
    assert!(body.contains("<script src=\"/htmx.min.js\" defer></script>"));
    let script = get(&site, "/htmx.min.js").await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(script.body.contains("htmx"));

    // Nothing new: 204, and the page keeps what it shows.
    let same = get(&site, &format!("{path}/comments?have=0")).await;
    assert_eq!(same.status, StatusCode::NO_CONTENT);
    post(&site, &format!("{path}/reply"), &[("text", "arrived")]).await;
    let fresh = get(&site, &format!("{path}/comments?have=0")).await;
    assert_eq!(fresh.status, StatusCode::OK);
    assert!(
        fresh.body.starts_with("<section id=\"comments\""),
        "{}",
        fresh.body
    );
    assert!(
        fresh.body.contains("arrived") && fresh.body.contains("comments?have=1"),
        "{}",
        fresh.body
    );
    assert!(!fresh.body.contains("<html"), "a fragment, not a page");
    assert_eq!(
        get(&site, &format!("{path}/comments?have=1")).await.status,
        StatusCode::NO_CONTENT
    );
}

fn search_path(q: &str) -> String {
    format!("/search?{}", encode(&[("q", q)]))
}

#[tokio::test]
async fn search_marks_matches_and_refuses_bad_queries_in_place() {
    let site = site();
    let empty = get(&site, "/search").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty.body.contains("name=\"q\""), "{}", empty.body);
    for (title, text) in [
        ("Compost", "Turn the <b>heap</b> weekly"),
        ("Bread", "Sourdough is not for the heap"),
    ] {
        let posted = post(
            &site,
            "/submit",
            &[("title", title), ("text", text), ("community", "garden")],
        )
        .await;
        assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
    }
    let found = get(&site, &search_path("heap")).await;
    assert_eq!(found.status, StatusCode::OK);
    assert!(found.body.contains("<mark>heap</mark>"), "{}", found.body);
    assert!(found.body.contains("Compost") && found.body.contains("Bread"));
    assert!(!found.body.contains("<b>heap"), "the body's markup is text");
    let narrowed = get(&site, &search_path("sourdough community:garden")).await;
    assert!(narrowed.body.contains("Bread") && !narrowed.body.contains("Compost"));
    let none = get(&site, &search_path("community:kitchen heap")).await;
    assert!(
        none.body.contains("Nothing in your store matches"),
        "{}",
        none.body
    );
    // A bad query says why, in the command line's words, and keeps what was typed.
    let bad = get(&site, &search_path("community:a community:<i>b")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("is given twice"), "{}", bad.body);
    assert!(
        bad.body
            .contains("value=\"community:a community:&lt;i&gt;b\""),
        "{}",
        bad.body
    );
    // Fuzzed queries never get a server error.
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..200 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = (seed % 40) as usize;
        let q: String = (0..len)
            .map(|i| {
                let pick = seed.rotate_left(i as u32 * 5) % 40;
                ['"', '*', '(', ')', ':', '-', '^', 'a', ' ', 'é'][(pick % 10) as usize]
            })
            .collect();
        let order = if seed.is_multiple_of(2) {
            "new"
        } else {
            "relevance"
        };
        let page = get(
            &site,
            &format!("{}&order={order}&page={}", search_path(&q), seed % 5),
        )
        .await;
        assert!(
            !page.status.is_server_error(),
            "{q:?}: {}: {}",
            page.status,
            page.body
        );
    }
}

#[tokio::test]
async fn the_feed_is_ranked_once_a_second_and_a_form_shows_at_once() {
    let site = site();
    let before = get(&site, "/?sort=new").await;
    assert!(before.body.contains("No posts here yet"), "{}", before.body);
    // Another process stores a post behind the page's back.
    let elsewhere = upseed_core::PostDraft::new("stored by another command")
        .unwrap()
        .sign(&SecretKey::generate().unwrap(), upseed_node::now())
        .unwrap();
    upseed_node::store::Store::open(&site._dir.path().join("store.db"))
        .unwrap()
        .put_record(&elsewhere, upseed_node::now())
        .unwrap();
    let cached = get(&site, "/?sort=new").await;
    assert_eq!(cached.body, before.body, "served again within the second");
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let fresh = get(&site, "/?sort=new").await;
    assert!(
        fresh.body.contains("stored by another command"),
        "{}",
        fresh.body
    );
    // A form sent to the page shows on the next view at once.
    let posted = post(&site, "/submit", &[("text", "sent through the page")]).await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
    let after = get(&site, "/?sort=new").await;
    assert!(
        after.body.contains("sent through the page"),
        "{}",
        after.body
    );
}

#[tokio::test]
async fn mutes_from_the_page_hide_and_come_back() {
    let site = site();
    let bob = SecretKey::generate().unwrap();
    let theirs = PostDraft::new("bob's heap")
        .unwrap()
        .title("Bob on heaps")
        .unwrap()
        .sign(&bob, upseed_node::now())
        .unwrap();
    site.client
        .offer(&theirs.torrent_bytes::<&str>(&[]), b"bob's heap");
    let hash = theirs.infohash().to_string();
    assert_eq!(
        get(&site, &format!("/t/{hash}")).await.status,
        StatusCode::OK
    );
    post(
        &site,
        "/submit",
        &[("title", "Mine"), ("text", "my own heap")],
    )
    .await;
    let key = bob.public_key().to_z32();
    let author = get(&site, &format!("/a/{key}")).await;
    assert!(author.body.contains(">mute author<"), "{}", author.body);

    let muted = post(
        &site,
        "/mute",
        &[("kind", "author"), ("value", &key), ("back", "/")],
    )
    .await;
    assert_eq!(muted.location.as_deref(), Some("/"));
    let feed = get(&site, "/").await;
    assert!(!feed.body.contains("Bob on heaps"), "{}", feed.body);
    assert!(feed.body.contains("1 post hidden by your"), "{}", feed.body);
    assert!(
        feed.body.contains("href=\"/?sort=hot&amp;muted=show\""),
        "{}",
        feed.body
    );
    let shown = get(&site, "/?sort=hot&muted=show").await;
    assert!(
        shown.body.contains("Bob on heaps") && shown.body.contains("[muted: the muted author"),
        "{}",
        shown.body
    );
    let atom: atom_syndication::Feed = get(&site, "/feed.atom").await.body.parse().unwrap();
    assert_eq!(
        atom.entries.len(),
        1,
        "a subscribed client never fetches a muted post"
    );
    let author = get(&site, &format!("/a/{key}")).await;
    assert!(
        author.body.contains(">unmute author<") && author.body.contains("1 post hidden"),
        "{}",
        author.body
    );

    let word = post(
        &site,
        "/mute",
        &[
            ("kind", "word"),
            ("value", "Heap"),
            ("duration", "7days"),
            ("back", "/mutes"),
        ],
    )
    .await;
    assert_eq!(word.location.as_deref(), Some("/mutes"));
    let list = get(&site, "/mutes").await;
    assert!(
        list.body.contains(&key) && list.body.contains("heap"),
        "{}",
        list.body
    );
    assert!(list.body.contains(" until "), "{}", list.body);
    let found = get(&site, "/search?q=heap").await;
    assert!(found.body.contains("2 results hidden"), "{}", found.body);

    for (kind, value) in [("author", key.as_str()), ("word", "heap")] {
        let back = post(
            &site,
            "/unmute",
            &[
                ("kind", kind),
                ("value", value),
                ("back", "//elsewhere.example/"),
            ],
        )
        .await;
        assert_eq!(back.location.as_deref(), Some("/"), "never off the site");
    }
    assert!(get(&site, "/").await.body.contains("Bob on heaps"));
    assert!(get(&site, "/mutes").await.body.contains("Nothing muted."));

    for fields in [
        &[("kind", "everything"), ("value", "x")][..],
        &[("kind", "word"), ("value", "!!!")],
        &[
            ("kind", "word"),
            ("value", "x"),
            ("duration", "forever-ish"),
        ],
        &[("kind", "author"), ("value", "nobody")],
    ] {
        let refused = post(&site, "/mute", fields).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{fields:?}: {}",
            refused.body
        );
    }
    assert!(get(&site, "/mutes").await.body.contains("Nothing muted."));
}

#[tokio::test]
async fn own_posts_are_edited_and_deleted_from_their_page() {
    let site = site();
    let posted = post(
        &site,
        "/submit",
        &[("title", "Draft"), ("text", "first words")],
    )
    .await;
    let path = posted.location.expect("the new post's page");
    let hash = path.trim_start_matches("/t/").to_owned();
    let page = get(&site, &path).await;
    assert!(page.body.contains("edit or delete"), "{}", page.body);

    let edited = post(
        &site,
        &format!("/edit/{hash}"),
        &[("title", "Final"), ("text", "better words")],
    )
    .await;
    assert_eq!(edited.location.as_deref(), Some(path.as_str()));
    let page = get(&site, &path).await;
    assert!(
        page.body.contains("better words")
            && page.body.contains("Final")
            && page.body.contains("edited (1 change)"),
        "{}",
        page.body
    );
    let (shown, history) = page.body.split_once("the first version").unwrap();
    assert!(
        !shown.contains("first words") && history.contains("first words"),
        "{}",
        page.body
    );
    let atom: atom_syndication::Feed = get(&site, "/feed.atom").await.body.parse().unwrap();
    assert_eq!(atom.entries.len(), 1, "one post, not two");
    assert_eq!(atom.entries[0].id, format!("urn:btih:{hash}"));
    assert_eq!(atom.entries[0].title.as_str(), "Final");
    let enclosure = &atom.entries[0]
        .links
        .iter()
        .find(|l| l.rel == "enclosure")
        .unwrap()
        .href;
    assert!(
        !enclosure.contains(&hash),
        "the enclosure is the new version: {enclosure}"
    );

    let deleted = post(&site, &format!("/delete/{hash}"), &[]).await;
    assert_eq!(deleted.location.as_deref(), Some(path.as_str()));
    let page = get(&site, &path).await;
    assert!(page.body.contains("deleted by its author"), "{}", page.body);
    assert!(!page.body.contains("better words") && !page.body.contains("edit or delete"));
    let atom: atom_syndication::Feed = get(&site, "/feed.atom").await.body.parse().unwrap();
    assert!(atom.entries.is_empty(), "a deleted post leaves the feeds");
    let again = post(&site, &format!("/edit/{hash}"), &[("text", "undead")]).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.body.contains("a delete is final"), "{}", again.body);

    // A stranger's post has no such forms, and refuses them.
    let theirs = PostDraft::new("theirs")
        .unwrap()
        .sign(&SecretKey::generate().unwrap(), upseed_node::now())
        .unwrap();
    site.client
        .offer(&theirs.torrent_bytes::<&str>(&[]), b"theirs");
    let page = get(&site, &format!("/t/{}", theirs.infohash())).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("edit or delete"), "{}", page.body);
    let refused = post(&site, &format!("/delete/{}", theirs.infohash()), &[]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("only its author"), "{}", refused.body);
}

#[tokio::test]
async fn mute_lists_are_published_subscribed_and_named_on_what_they_hide() {
    let site = site();
    let bob = SecretKey::generate().unwrap();
    let theirs = PostDraft::new("bob's heap")
        .unwrap()
        .title("Bob on heaps")
        .unwrap()
        .sign(&bob, upseed_node::now())
        .unwrap();
    site.client
        .offer(&theirs.torrent_bytes::<&str>(&[]), b"bob's heap");
    get(&site, &format!("/t/{}", theirs.infohash())).await;

    let page = get(&site, "/mutes").await;
    assert!(
        page.body.contains("publish my mutes as a list"),
        "{}",
        page.body
    );
    let published = post(&site, "/mutes/publish", &[]).await;
    assert_eq!(published.location.as_deref(), Some("/mutes"));
    assert!(get(&site, "/mutes").await.body.contains("stop publishing"));

    // Carol's list, as a sync would have stored it, mutes bob.
    let carol = SecretKey::generate().unwrap();
    let list = upseed_core::mute_list::MuteList::sign(
        &carol,
        upseed_node::now(),
        [upseed_core::mute_list::ListEntry {
            target: upseed_core::mute::MuteTarget::Author(bob.public_key()),
            until: None,
        }],
    )
    .unwrap();
    let carol_key = carol.public_key().to_z32();
    let subscribed = post(&site, "/mutes/subscribe", &[("author", &carol_key)]).await;
    assert_eq!(subscribed.location.as_deref(), Some("/mutes"));
    {
        let home = Home::in_dir(site._dir.path());
        let mut store = upseed_node::store::Store::open(&home.store).unwrap();
        assert!(
            store
                .put_mute_list(&list, None, upseed_node::now())
                .unwrap()
        );
    }
    let page = get(&site, "/mutes").await;
    assert!(
        page.body.contains(&carol_key) && page.body.contains("1 entry"),
        "{}",
        page.body
    );
    let feed = get(&site, "/").await;
    assert!(!feed.body.contains("Bob on heaps"), "{}", feed.body);
    let shown = get(&site, "/?sort=hot&muted=show").await;
    assert!(
        shown.body.contains(&format!(
            "on the mute list of <a href=\"/a/{carol_key}\">{}</a>",
            &carol_key[..12]
        )),
        "{}",
        shown.body
    );

    let refused = post(&site, "/mutes/subscribe", &[("author", "nobody")]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.body.contains("nobody"), "{}", refused.body);

    let gone = post(&site, "/mutes/unsubscribe", &[("author", &carol_key)]).await;
    assert_eq!(gone.location.as_deref(), Some("/mutes"));
    assert!(get(&site, "/").await.body.contains("Bob on heaps"));
    post(&site, "/mutes/unpublish", &[]).await;
    let page = get(&site, "/mutes").await;
    assert!(
        page.body.contains("publish my mutes as a list") && page.body.contains("None."),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn the_feed_ranks_by_trusted_count_verified_seeders_or_seeders_on_request() {
    let site = site();
    post(&site, "/submit", &[("title", "Mine"), ("text", "my words")]).await;
    let by_default = get(&site, "/").await;
    assert!(
        by_default.body.contains("ranked by seeders") && by_default.body.contains("by=trusted"),
        "{}",
        by_default.body
    );
    let trusted = get(&site, "/?sort=top&window=day&by=trusted").await;
    assert!(
        trusted.body.contains("ranked by trusted count") && trusted.body.contains("1 trusted · "),
        "{}",
        trusted.body
    );
    let verified = get(&site, "/?by=verified").await;
    assert!(
        verified.body.contains("ranked by verified seeders")
            && verified.body.contains("0 verified · ")
            && verified.body.contains("by=trusted")
            && verified.body.contains("by=seeders"),
        "{}",
        verified.body
    );
    let refused = get(&site, "/?by=crowd").await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.body.contains("trusted, verified or seeders"),
        "{}",
        refused.body
    );
}
