//! Answers of qBittorrent versions other than the test daemon's 4.5.2, and
//! failures a real daemon cannot show on demand (5xx, bans, expired
//! sessions), replayed by a local HTTP server. Every other behaviour is
//! tested against the real daemon in `tests/tests/qbittorrent.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use upseed_core::{
    AddTorrent, Added, ClientError, InfoHash, PostDraft, SecretKey, TorrentClient, TorrentState,
};
use upseed_qbittorrent::{Config, Password, Qbittorrent};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Matches requests whose raw body contains these bytes (multipart bodies
/// carry binary torrents, which the string matchers refuse).
struct BodyHas(&'static str);

impl wiremock::Match for BodyHas {
    fn matches(&self, request: &wiremock::Request) -> bool {
        let needle = self.0.as_bytes();
        request.body.windows(needle.len()).any(|w| w == needle)
    }
}

const HASH: &str = "a9993e364706816aba3e25717850c26c9cd0d89d";

fn client(server: &MockServer) -> Qbittorrent {
    let url = format!("{}/", server.uri()).parse().unwrap();
    Qbittorrent::new(Config::new(url, "admin", Some(Password::new("secret")))).unwrap()
}

async fn version(server: &MockServer, api: &str) {
    Mock::given(method("GET"))
        .and(path("/api/v2/app/webapiVersion"))
        .respond_with(ResponseTemplate::new(200).set_body_string(api))
        .mount(server)
        .await;
}

async fn login_ok(server: &MockServer, cookie: &str, times: u64) {
    Mock::given(method("POST"))
        .and(path("/api/v2/auth/login"))
        .and(body_string_contains("password=secret"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string("Ok.")
                .insert_header("set-cookie", cookie),
        )
        .expect(times)
        .mount(server)
        .await;
}

fn torrent_json(state: &str) -> String {
    format!(
        r#"[{{"hash":"{HASH}","name":"p.txt","state":"{state}","progress":1,"num_complete":4,"num_incomplete":1,"tags":"upseed-post","category":"upseed","save_path":"/posts","content_path":"/posts/p.txt"}}]"#
    )
}

#[tokio::test]
async fn v5_0_stopped_states_and_stop_start_names() {
    let server = MockServer::start().await;
    version(&server, "2.11.2").await;
    login_ok(&server, "SID=s50; HttpOnly; path=/", 1).await;
    Mock::given(method("POST"))
        .and(path("/api/v2/torrents/info"))
        .respond_with(ResponseTemplate::new(200).set_body_string(torrent_json("stoppedUP")))
        .mount(&server)
        .await;
    for endpoint in ["/api/v2/torrents/stop", "/api/v2/torrents/start"] {
        Mock::given(method("POST"))
            .and(path(endpoint))
            .and(body_string_contains(HASH))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = client(&server);
    let hash: InfoHash = HASH.parse().unwrap();
    let list = client.list(Some(&[hash])).await.unwrap();
    assert_eq!(list[0].state, TorrentState::Stopped);
    assert_eq!((list[0].seeders, list[0].leechers), (Some(4), Some(1)));
    client.set_running(&[hash], false).await.unwrap();
    client.set_running(&[hash], true).await.unwrap();
}

#[tokio::test]
async fn v4_1_uses_pause_and_resume() {
    let server = MockServer::start().await;
    version(&server, "2.2.0").await;
    login_ok(&server, "SID=s41; HttpOnly; path=/", 1).await;
    Mock::given(method("POST"))
        .and(path("/api/v2/torrents/info"))
        .respond_with(ResponseTemplate::new(200).set_body_string(torrent_json("pausedUP")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/torrents/pause"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let hash: InfoHash = HASH.parse().unwrap();
    assert_eq!(
        client.list(Some(&[hash])).await.unwrap()[0].state,
        TorrentState::Stopped
    );
    client.set_running(&[hash], false).await.unwrap();
}

fn post_add() -> AddTorrent {
    let record = PostDraft::new("hi")
        .unwrap()
        .sign(&SecretKey::from_seed(&[9; 32]), 1)
        .unwrap();
    AddTorrent::from_torrent(record.torrent_bytes::<&str>(&[]), "/posts")
        .unwrap()
        .with_data_present()
}

#[tokio::test]
async fn v5_2_json_adds_409_duplicates_empty_204_and_custom_cookie_name() {
    let server = MockServer::start().await;
    version(&server, "2.15.1").await;
    // 5.2: success is a 2xx with an empty body; the cookie is QBT_SID_<port>.
    Mock::given(method("POST"))
        .and(path("/api/v2/auth/login"))
        .respond_with(
            ResponseTemplate::new(204)
                .insert_header("set-cookie", "QBT_SID_8080=c52; HttpOnly; path=/"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let add = post_add();
    let hash = add.infohash.to_hex();
    // The first listing (is it there already?) is empty: 204.
    Mock::given(method("POST"))
        .and(path("/api/v2/torrents/info"))
        .and(header("cookie", "QBT_SID_8080=c52"))
        .respond_with(ResponseTemplate::new(204))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    // Meanwhile someone added it: every torrent in the request failed.
    Mock::given(method("POST"))
        .and(path("/api/v2/torrents/add"))
        .and(BodyHas("name=\"seedMode\""))
        .and(BodyHas("name=\"skip_checking\""))
        .and(BodyHas("name=\"stopped\""))
        .and(BodyHas("name=\"paused\""))
        .and(BodyHas("name=\"category\"\r\n\r\nupseed"))
        .respond_with(ResponseTemplate::new(409).set_body_string(
            r#"{"success_count":0,"failure_count":1,"pending_count":0,"added_torrent_ids":[]}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/torrents/info"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(format!(r#"[{{"hash":"{hash}","state":"stalledUP"}}]"#)),
        )
        .mount(&server)
        .await;
    let client = client(&server);
    assert_eq!(
        client.add(&[add]).await.unwrap(),
        vec![Added::AlreadyPresent]
    );
}

#[tokio::test]
async fn v4_x_fails_body_for_a_torrent_that_never_appears_is_a_rejection() {
    let server = MockServer::start().await;
    version(&server, "2.8.19").await;
    login_ok(&server, "SID=s45; path=/", 1).await;
    Mock::given(method("POST"))
        .and(path("/api/v2/torrents/info"))
        .respond_with(ResponseTemplate::new(200).set_body_string("[]"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/torrents/add"))
        .respond_with(ResponseTemplate::new(200).set_body_string("Fails."))
        .mount(&server)
        .await;
    let client = client(&server);
    assert!(matches!(
        client.add(&[post_add()]).await,
        Err(ClientError::Rejected { .. })
    ));
}

async fn category_listing(server: &MockServer, hash: &str, times: u64) {
    Mock::given(method("POST"))
        .and(path("/api/v2/torrents/info"))
        .and(body_string_contains("category=upseed"))
        .respond_with(ResponseTemplate::new(200).set_body_string(format!(
            r#"[{{"hash":"{hash}","name":"p.txt","state":"downloading","category":"upseed"}}]"#
        )))
        .expect(times)
        .mount(server)
        .await;
}

async fn count(server: &MockServer, total: u32) {
    Mock::given(method("GET"))
        .and(path("/api/v2/torrents/count"))
        .respond_with(ResponseTemplate::new(200).set_body_string(total.to_string()))
        .mount(server)
        .await;
}

#[tokio::test]
async fn v4_6_lists_through_incremental_maindata_when_ours_dominate() {
    let server = MockServer::start().await;
    version(&server, "2.9.3").await;
    login_ok(&server, "SID=s46; path=/", 1).await;
    // The first listing is by category; it tells how many are ours.
    category_listing(&server, HASH, 1).await;
    count(&server, 2).await;
    let other = "b".repeat(40);
    Mock::given(method("GET"))
        .and(path("/api/v2/sync/maindata"))
        .and(wiremock::matchers::query_param("rid", "0"))
        .respond_with(ResponseTemplate::new(200).set_body_string(format!(
            r#"{{"rid":7,"full_update":true,"torrents":{{"{HASH}":{{"name":"p.txt","state":"downloading","progress":0.5,"category":"upseed","num_complete":1,"num_incomplete":0}},"{other}":{{"name":"iso","state":"stalledUP","category":"linux"}}}}}}"#
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/sync/maindata"))
        .and(wiremock::matchers::query_param("rid", "7"))
        .respond_with(ResponseTemplate::new(200).set_body_string(format!(
            r#"{{"rid":8,"torrents":{{"{HASH}":{{"state":"stalledUP","progress":1}}}}}}"#
        )))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    assert_eq!(
        client.list(None).await.unwrap()[0].state,
        TorrentState::Downloading
    );
    let first = client.list(None).await.unwrap();
    assert_eq!(first.len(), 1, "only our category");
    assert_eq!(first[0].state, TorrentState::Downloading);
    let second = client.list(None).await.unwrap();
    assert_eq!(second[0].state, TorrentState::Seeding);
    assert_eq!(
        second[0].name, "p.txt",
        "unchanged keys are kept from before"
    );
    assert_eq!(second[0].seeders, Some(1));
}

#[tokio::test]
async fn v4_6_never_pulls_every_torrent_of_a_big_library() {
    let server = MockServer::start().await;
    version(&server, "2.9.3").await;
    login_ok(&server, "SID=big; path=/", 1).await;
    category_listing(&server, HASH, 3).await;
    count(&server, 30_001).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/sync/maindata"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let client = client(&server);
    for _ in 0..3 {
        assert_eq!(client.list(None).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn a_refused_password_is_sent_once_only() {
    let server = MockServer::start().await;
    version(&server, "2.15.1").await;
    // 5.2 answers 401; older versions answer 200 `Fails.`. Both count.
    Mock::given(method("POST"))
        .and(path("/api/v2/auth/login"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    for _ in 0..6 {
        assert!(matches!(
            client.info().await,
            Err(ClientError::Unauthorized { .. })
        ));
    }
    let old = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/auth/login"))
        .respond_with(ResponseTemplate::new(200).set_body_string("Fails."))
        .expect(1)
        .mount(&old)
        .await;
    let client = self::client(&old);
    for _ in 0..6 {
        assert!(matches!(
            client.list(None).await,
            Err(ClientError::Unauthorized { .. })
        ));
    }
}

#[tokio::test]
async fn a_ban_is_reported_as_such() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/auth/login"))
        .respond_with(ResponseTemplate::new(403).set_body_string(
            "Your IP address has been banned after too many failed authentication attempts.",
        ))
        .mount(&server)
        .await;
    let error = client(&server).info().await.unwrap_err();
    assert!(matches!(error, ClientError::Banned { .. }));
    assert!(
        error.to_string().contains("wait for the ban to end"),
        "{error}"
    );
}

#[tokio::test]
async fn an_expired_session_logs_in_again_once() {
    let server = MockServer::start().await;
    version(&server, "2.8.19").await;
    login_ok(&server, "SID=fresh; path=/", 2).await;
    Mock::given(method("POST"))
        .and(path("/api/v2/torrents/info"))
        .respond_with(ResponseTemplate::new(403).set_body_string("Forbidden"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/torrents/info"))
        .respond_with(ResponseTemplate::new(200).set_body_string("[]"))
        .mount(&server)
        .await;
    assert!(
        client(&server)
            .list(Some(&[HASH.parse().unwrap()]))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn server_errors_and_garbage_are_typed() {
    let server = MockServer::start().await;
    version(&server, "2.8.19").await;
    login_ok(&server, "SID=x; path=/", 1).await;
    Mock::given(method("POST"))
        .and(path("/api/v2/torrents/info"))
        .and(body_string_contains("hashes"))
        .respond_with(ResponseTemplate::new(503).set_body_string("overloaded"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/app/preferences"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>not json</html>"))
        .mount(&server)
        .await;
    let client = client(&server);
    match client.list(Some(&[HASH.parse().unwrap()])).await {
        Err(ClientError::Api {
            status: 503, body, ..
        }) => assert_eq!(body, "overloaded"),
        other => panic!("expected a 503 API error, got {other:?}"),
    }
    assert!(matches!(
        client.queue_report().await,
        Err(ClientError::Decode { .. })
    ));
}

#[tokio::test]
async fn an_unreachable_client_names_the_url_and_the_web_ui() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/").parse().unwrap();
    let client =
        Qbittorrent::new(Config::new(url, "admin", Some(Password::new("secret")))).unwrap();
    let error = client.info().await.unwrap_err();
    assert!(matches!(error, ClientError::Unreachable { .. }));
    let text = error.to_string();
    assert!(
        text.contains(&format!("127.0.0.1:{port}")) && text.contains("Web UI"),
        "{text}"
    );
}
