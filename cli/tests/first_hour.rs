//! A new user's first hour on the real clients: a wrong password run
//! again and again does not get this machine banned, and a URL that points
//! at the wrong thing says what it should be.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Running, init, serve, text, upseed, upseed_env};
use upseed_tests::conformance::Node as _;
use upseed_tests::qbittorrent::{QbDaemon, QbOptions};
use upseed_tests::tracker::Tracker;
use upseed_tests::transmission::TrDaemon;
use upseed_tests::{have, host};

fn daemons_installed() -> bool {
    have("qbittorrent-nox") && have("transmission-daemon") && have("opentracker")
}

/// A tracker, a qBittorrent, and an upseed home initialised for it.
async fn qb_user() -> (Tracker, QbDaemon, tempfile::TempDir) {
    let tracker = Tracker::start(host()).await;
    let qb = QbDaemon::start(QbOptions::default()).await;
    let home = tempfile::tempdir().unwrap();
    let url = qb.url().to_string();
    init(
        home.path(),
        &qb,
        "qbittorrent",
        &url,
        qb.password(),
        &tracker,
        &[],
    );
    (tracker, qb, home)
}

#[tokio::test]
async fn six_runs_with_a_wrong_password_then_the_right_one_works_at_once() {
    if !daemons_installed() {
        return;
    }
    let (_tracker, qb, home) = qb_user().await;
    for run in 1..=6 {
        let out = upseed(home.path(), "not-the-password", &["sync"]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(77), "run {run}: {err}");
        assert!(
            err.contains("user `tester` with the password from UPSEED_CLIENT_PASSWORD"),
            "run {run}: {err}"
        );
        if run > 1 {
            assert!(err.contains("it was refused at"), "run {run}: {err}");
        }
    }
    // qBittorrent bans an address after 5 failed logins: had upseed sent
    // the wrong password six times, the right one would now be refused.
    let out = upseed(home.path(), qb.password(), &["sync"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[tokio::test]
async fn a_url_that_points_at_the_wrong_thing_says_what_it_should_be() {
    if !daemons_installed() {
        return;
    }
    let tracker = Tracker::start(host()).await;
    let qb = QbDaemon::start(QbOptions::default()).await;
    let tr = TrDaemon::start(host()).await;
    let home = tempfile::tempdir().unwrap();
    let qb_url = qb.url().to_string();
    init(
        home.path(),
        &qb,
        "qbittorrent",
        &qb_url,
        qb.password(),
        &tracker,
        &[],
    );
    let mut tr_root = tr.url().clone();
    tr_root.set_path("/");
    let cases = [
        // The API path, which upseed adds itself.
        (
            "qbittorrent",
            format!("{qb_url}api/v2/"),
            qb.password(),
            format!("url = \"{qb_url}\""),
        ),
        // Transmission's kind at qBittorrent's Web UI, at its root or at an RPC path.
        (
            "transmission",
            qb_url.clone(),
            qb.password(),
            "kind = \"qbittorrent\"".to_owned(),
        ),
        (
            "transmission",
            format!("{qb_url}transmission/rpc"),
            qb.password(),
            "kind = \"qbittorrent\"".to_owned(),
        ),
        // qBittorrent's kind at Transmission: not a refused password.
        (
            "qbittorrent",
            tr.url().to_string(),
            tr.password(),
            "kind = \"transmission\"".to_owned(),
        ),
        // Transmission at its web server's root, not its RPC.
        (
            "transmission",
            tr_root.to_string(),
            tr.password(),
            format!("url = \"{}\"", tr.url()),
        ),
    ];
    for (kind, url, password, fix) in cases {
        let out = upseed_env(
            home.path(),
            password,
            &["sync"],
            &[
                ("UPSEED_DHT_ENABLED", "false"),
                ("UPSEED_CLIENT_KIND", kind),
                ("UPSEED_CLIENT_URL", &url),
            ],
        );
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(78), "{kind} at {url}: {err}");
        assert!(err.contains(&fix), "{kind} at {url}: {err}");
    }
}

#[tokio::test]
async fn a_post_the_queue_holds_back_is_told_with_the_setting() {
    if !daemons_installed() {
        return;
    }
    let (_tracker, qb, home) = qb_user().await;
    let first = upseed(home.path(), qb.password(), &["post", "the first"]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(
        !text(&first.stderr).contains("queued"),
        "{}",
        text(&first.stderr)
    );

    // The queue on, with room for one seeding torrent: the first post's.
    qb.set_preferences(r#"{"queueing_enabled":true,"max_active_uploads":1,"max_active_torrents":1,"max_active_downloads":1}"#)
        .await;
    let second = upseed(home.path(), qb.password(), &["post", "the second"]);
    let err = text(&second.stderr);
    assert!(second.status.success(), "{err}");
    assert!(
        err.contains("qBittorrent queued it instead of seeding it")
            && err.contains("Torrent Queueing"),
        "{err}"
    );
}

/// Percent-encodes every byte, as a tracker's query wants binary values.
fn percent(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02x}")).collect()
}

#[tokio::test]
async fn sigterm_during_a_dead_fetch_stops_the_daemon_at_once_and_sweeps_it() {
    if !daemons_installed() {
        return;
    }
    let (tracker, qb, home) = qb_user().await;

    // A seeder announces a torrent, then is never there: the full scrape
    // lists it, and nobody can serve it.
    let dead = upseed_core::InfoHash::from_bytes([0x5a; 20]);
    tracker.allow(&[dead]).await;
    let announce = format!(
        "{}?info_hash={}&peer_id={}&port=9&uploaded=0&downloaded=0&left=0&compact=1&event=started",
        tracker.announce_url(),
        percent(dead.as_bytes()),
        percent(b"-XX0001-deadseeder00"),
    );
    let answer = reqwest::get(&announce).await.unwrap();
    assert!(answer.status().is_success());

    let log = home.path().join("daemon.log");
    let mut daemon = Running(
        std::process::Command::new(common::bin())
            .arg("--config")
            .arg(home.path().join("config.toml"))
            .arg("daemon")
            .env("UPSEED_CLIENT_PASSWORD", qb.password())
            .env("UPSEED_DHT_ENABLED", "false")
            .env("UPSEED_DAEMON_FETCH_TIMEOUT", "120s")
            .env_remove("UPSEED_HOME")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let client = qb.client();
    let held = upseed_tests::eventually(
        "the daemon to fetch the dead torrent",
        std::time::Duration::from_secs(60),
        || async {
            use upseed_core::TorrentClient;
            (!client.list(Some(&[dead])).await.unwrap().is_empty()).then_some(())
        },
    )
    .await;
    let () = held;
    let pid = nix::unistd::Pid::from_raw(i32::try_from(daemon.id()).unwrap());
    let signalled = std::time::Instant::now();
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = loop {
        if let Some(status) = daemon.try_wait().unwrap() {
            break status;
        }
        if signalled.elapsed() > std::time::Duration::from_secs(30) {
            let _ = daemon.kill();
            panic!(
                "the daemon did not stop: {}",
                std::fs::read_to_string(&log).unwrap()
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let took = signalled.elapsed();
    eprintln!(
        "the daemon stopped {} ms after SIGTERM, mid-fetch",
        took.as_millis()
    );
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(&log).unwrap()
    );
    assert!(
        took < std::time::Duration::from_secs(10),
        "{took:?}, not the fetch's 120 s"
    );
    use upseed_core::TorrentClient;
    assert!(
        client.list(Some(&[dead])).await.unwrap().is_empty(),
        "the cancelled fetch's torrent is swept"
    );
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("next sync now"),
        "each start logs the schedule: {logged}"
    );
}

#[tokio::test]
async fn the_web_page_posts_through_a_real_qbittorrent() {
    if !daemons_installed() {
        return;
    }
    let (_tracker, qb, home) = qb_user().await;
    let (mut server, base) = serve(home.path(), qb.password());
    let log = home.path().join("serve.log");
    let http = reqwest::Client::new();
    let form = upseed_tests::eventually(
        "the page to answer",
        std::time::Duration::from_secs(20),
        || async {
            http.get(format!("{base}/submit"))
                .send()
                .await
                .ok()?
                .text()
                .await
                .ok()
        },
    )
    .await;
    let csrf = form
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a CSRF token in the form")
        .to_owned();
    let posted = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{base}/submit"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("title", "from the web"),
            ("text", "seeded by qBittorrent"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        posted.status(),
        reqwest::StatusCode::SEE_OTHER,
        "{}",
        std::fs::read_to_string(&log).unwrap()
    );
    let location = posted.headers()["location"].to_str().unwrap().to_owned();
    let hash: upseed_core::InfoHash = location.trim_start_matches("/t/").parse().unwrap();
    upseed_tests::conformance::wait_seeding(&qb.client(), hash, std::time::Duration::from_secs(20))
        .await;
    let feed = http
        .get(format!("{base}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        feed.contains("from the web") && feed.contains("1 seeder"),
        "{feed}"
    );
    let pid = nix::unistd::Pid::from_raw(i32::try_from(server.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = server.wait().unwrap();
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(&log).unwrap()
    );
}

#[tokio::test]
async fn qbittorrents_rss_reader_upvotes_each_new_post_of_a_community() {
    if !daemons_installed() {
        return;
    }
    use upseed_core::TorrentClient;
    let (tracker, alice_qb, alice) = qb_user().await;
    let bob_qb = QbDaemon::start(QbOptions::default()).await;
    let (server, base) = serve(alice.path(), alice_qb.password());
    let http = reqwest::Client::new();
    upseed_tests::eventually(
        "the page to answer",
        std::time::Duration::from_secs(20),
        || async { http.get(format!("{base}/")).send().await.ok().map(drop) },
    )
    .await;

    // Bob subscribes his own qBittorrent to alice's page's feed of `rust`,
    // with a rule that downloads every new post into upseed's category.
    bob_qb
        .set_preferences(r#"{"rss_processing_enabled":true,"rss_auto_downloading_enabled":true,"rss_refresh_interval":1}"#)
        .await;
    let feed = format!("{base}/feed.rss?sort=new&community=rust");
    bob_qb
        .api("rss/addFeed", &[("url", &feed), ("path", "rust")])
        .await;
    let rule = serde_json::json!({
        "enabled": true,
        "mustContain": "",
        "affectedFeeds": [feed],
        "assignedCategory": "upseed",
        "savePath": bob_qb.downloads_dir(),
    })
    .to_string();
    bob_qb
        .api(
            "rss/setRule",
            &[("ruleName", "upseed rust"), ("ruleDef", &rule)],
        )
        .await;

    let posted = upseed(
        alice.path(),
        alice_qb.password(),
        &[
            "post",
            "--json",
            "--community",
            "rust",
            "--title",
            "subscribed",
            "hello RSS",
        ],
    );
    assert!(posted.status.success(), "{}", text(&posted.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&posted.stdout).unwrap();
    let hash: upseed_core::InfoHash = doc["infohash"].as_str().unwrap().parse().unwrap();

    // The test tracker serves only the torrents it is told of.
    tracker.allow(&[hash]).await;
    alice_qb.client().announce_now(&[hash]).await.unwrap();
    let bob = bob_qb.client();
    upseed_tests::eventually(
        "bob's qBittorrent to seed the new post",
        std::time::Duration::from_secs(90),
        || async {
            bob_qb.api("rss/refreshItem", &[("itemPath", "rust")]).await;
            bob.list(Some(&[hash]))
                .await
                .ok()?
                .first()
                .filter(|t| t.state.is_seeding())
                .map(drop)
        },
    )
    .await;
    // Alice's upseed counts him: one more seeder than her own.
    upseed_tests::eventually(
        "alice's sync to count two seeders",
        std::time::Duration::from_secs(60),
        || async {
            let _ = upseed(alice.path(), alice_qb.password(), &["sync"]);
            let out = upseed(
                alice.path(),
                alice_qb.password(),
                &["feed", "--json", "--sort", "new"],
            );
            let feed: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
            (feed["items"][0]["seeders"] == 2).then_some(())
        },
    )
    .await;
    drop(server);
}

/// Whether `hash` is in the store at `home`: its newest posts name it.
fn stored(home: &std::path::Path, password: &str, hash: upseed_core::InfoHash) -> bool {
    let out = upseed(home, password, &["feed", "--json", "--sort", "new"]);
    serde_json::from_slice::<serde_json::Value>(&out.stdout).is_ok_and(|doc| {
        doc["items"].as_array().is_some_and(|items| {
            items
                .iter()
                .any(|i| i["record"]["infohash"] == hash.to_string().as_str())
        })
    })
}

#[tokio::test]
async fn a_magnet_opened_in_the_clients_own_window_becomes_an_upvote() {
    if upseed_tests::netns::reexec("a_magnet_opened_in_the_clients_own_window_becomes_an_upvote")
        || !daemons_installed()
    {
        return;
    }
    use upseed_core::TorrentClient;
    let (tracker, alice_qb, alice) = qb_user().await;
    let bob_qb = QbDaemon::start(QbOptions::default()).await;
    let bob_tr = TrDaemon::start(host()).await;
    let on_qb = upseed_tests::story::home_with_password_file(
        &common::bin(),
        &bob_qb,
        "qbittorrent",
        bob_qb.url().as_str(),
        bob_qb.password(),
        &tracker,
    );
    let on_tr = upseed_tests::story::home_with_password_file(
        &common::bin(),
        &bob_tr,
        "transmission",
        bob_tr.url().as_str(),
        bob_tr.password(),
        &tracker,
    );
    for (home, password) in [(&on_qb, bob_qb.password()), (&on_tr, bob_tr.password())] {
        let doctor = upseed(home.path(), password, &["doctor"]);
        assert!(
            text(&doctor.stdout).contains("upseed ingest --install"),
            "{}",
            text(&doctor.stdout)
        );
        let out = upseed(home.path(), password, &["ingest", "--install"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let doctor = upseed(home.path(), password, &["doctor"]);
        assert!(
            text(&doctor.stdout).contains("count as upvotes"),
            "{}",
            text(&doctor.stdout)
        );
    }
    let hook = bob_qb.client().completion_hook().await.unwrap().unwrap();
    assert!(
        hook.contains("ingest-hook") && hook.contains("%I"),
        "{hook}"
    );
    let hook = bob_tr.client().completion_hook().await.unwrap().unwrap();
    assert!(hook.ends_with("ingest-hook"), "{hook}");

    let posted = upseed(
        alice.path(),
        alice_qb.password(),
        &[
            "post",
            "--json",
            "--title",
            "opened by hand",
            "from the client's own window",
        ],
    );
    assert!(posted.status.success(), "{}", text(&posted.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&posted.stdout).unwrap();
    let hash: upseed_core::InfoHash = doc["infohash"].as_str().unwrap().parse().unwrap();
    tracker.allow(&[hash]).await;
    alice_qb.client().announce_now(&[hash]).await.unwrap();

    // Bob pastes the magnet link into each client's own window: no upseed
    // category, no label.
    let magnet = format!(
        "magnet:?xt=urn:btih:{hash}&tr={}",
        percent(tracker.announce_url().as_bytes())
    );
    bob_qb.api("torrents/add", &[("urls", &magnet)]).await;
    bob_tr
        .rpc("torrent-add", serde_json::json!({"filename": magnet}))
        .await;

    for (home, password, name) in [
        (&on_qb, bob_qb.password(), "qBittorrent"),
        (&on_tr, bob_tr.password(), "Transmission"),
    ] {
        upseed_tests::eventually(
            &format!("{name}'s hook to store the post as bob's upvote"),
            std::time::Duration::from_secs(120),
            || async { stored(home.path(), password, hash).then_some(()) },
        )
        .await;
        let shown = upseed(home.path(), password, &["show", &hash.to_string()]);
        assert!(
            text(&shown.stdout).contains("from the client's own window"),
            "{}",
            text(&shown.stderr)
        );
    }
    // Both clients now hold it as upseed's, tagged as a vote.
    let on_qb_list = bob_qb.client().list(Some(&[hash])).await.unwrap();
    assert!(
        on_qb_list[0].tags.iter().any(|t| t == "upseed-vote"),
        "{on_qb_list:?}"
    );
    let on_tr_list = bob_tr.client().list(Some(&[hash])).await.unwrap();
    assert!(
        on_tr_list[0].tags.iter().any(|t| t == "upseed-vote"),
        "{on_tr_list:?}"
    );
}
