//! Answers of Transmission versions other than the test daemon's 3.00, and
//! failures a real daemon cannot show on demand, replayed by a local HTTP
//! server. Every other behaviour is tested against the real daemon in
//! `tests/tests/transmission.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use upseed_core::{
    AddTorrent, Added, ClientError, PostDraft, SecretKey, TorrentClient, TorrentState,
};
use upseed_transmission::{Config, Password, Transmission};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

const SID: &str = "X-Transmission-Session-Id";

/// Matches an RPC call by method name (either spelling) and session id.
struct Rpc {
    method: &'static str,
    session: &'static str,
}

impl Match for Rpc {
    fn matches(&self, request: &Request) -> bool {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        body["method"] == self.method
            && request.headers.get(SID).and_then(|v| v.to_str().ok()) == Some(self.session)
    }
}

/// Answers calls that lack the current session id with 409.
struct WithoutSession(&'static str);

impl Match for WithoutSession {
    fn matches(&self, request: &Request) -> bool {
        request.headers.get(SID).and_then(|v| v.to_str().ok()) != Some(self.0)
    }
}

async fn handshake(server: &MockServer, session: &'static str, rpc_version: Option<&str>) {
    let mut conflict = ResponseTemplate::new(409).insert_header(SID, session);
    if let Some(version) = rpc_version {
        conflict = conflict.insert_header("X-Transmission-Rpc-Version", version);
    }
    Mock::given(WithoutSession(session))
        .respond_with(conflict)
        .mount(server)
        .await;
}

async fn answer(
    server: &MockServer,
    method: &'static str,
    session: &'static str,
    body: Value,
    times: u64,
) {
    Mock::given(Rpc { method, session })
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(times)
        .mount(server)
        .await;
}

fn client(server: &MockServer) -> Transmission {
    let url = format!("{}/transmission/rpc", server.uri())
        .parse()
        .unwrap();
    Transmission::new(Config::new(url, Some("u".into()), Some(Password::new("p")))).unwrap()
}

fn post_add() -> AddTorrent {
    let record = PostDraft::new("hi")
        .unwrap()
        .sign(&SecretKey::from_seed(&[4; 32]), 1)
        .unwrap();
    AddTorrent::from_torrent(record.torrent_bytes::<&str>(&[]), "/posts")
        .unwrap()
        .with_data_present()
}

#[tokio::test]
async fn v4_0_sends_labels_with_the_add_and_no_torrent_set() {
    let server = MockServer::start().await;
    handshake(&server, "s40", None).await;
    answer(
        &server,
        "session-get",
        "s40",
        json!({"result":"success","arguments":{"rpc-version":17,"version":"4.0.6"}}),
        1,
    )
    .await;
    let add = post_add();
    let hash = add.infohash.to_hex();
    Mock::given(Rpc { method: "torrent-add", session: "s40" })
        .and(LabelsAndPriority)
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"result":"success","arguments":{"torrent-added":{"hashString":hash,"id":1,"name":"x"}}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    answer(
        &server,
        "torrent-set",
        "s40",
        json!({"result":"success","arguments":{}}),
        0,
    )
    .await;
    assert_eq!(client(&server).add(&[add]).await.unwrap(), vec![Added::New]);
}

/// The add carries our label and high priority for data we wrote.
struct LabelsAndPriority;

impl Match for LabelsAndPriority {
    fn matches(&self, request: &Request) -> bool {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let args = &body["arguments"];
        args["labels"] == json!(["upseed"])
            && args["bandwidthPriority"] == 1
            && args["download-dir"] == "/posts"
    }
}

#[tokio::test]
async fn v4_1_speaks_json_rpc_with_snake_case() {
    let server = MockServer::start().await;
    handshake(&server, "s41", Some("18")).await;
    answer(
        &server,
        "session-get",
        "s41",
        json!({"result":"success","arguments":{"rpc-version":18,"version":"4.1.0"}}),
        1,
    )
    .await;
    let add = post_add();
    let hash = add.infohash.to_hex();
    Mock::given(Rpc { method: "torrent_add", session: "s41" })
        .and(JsonRpc(&["download_dir", "metainfo", "bandwidth_priority", "labels"]))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"jsonrpc":"2.0","id":1,"result":{"torrent_duplicate":{"hash_string":hash,"id":1,"name":"x"}}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(Rpc { method: "torrent_get", session: "s41" })
        .and(JsonRpc(&["fields", "format", "ids"]))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"jsonrpc":"2.0","id":2,"result":{"torrents":[
            ["id","hash_string","name","status","percent_done","labels","error","error_string","download_dir","tracker_stats"],
            [1, hash, "x.txt", 6, 1.0, ["upseed"], 0, "", "/posts", [{"seeder_count":3,"leecher_count":0,"download_count":9,"downloader_count":0}]]
        ]}})))
        .mount(&server)
        .await;
    let client = client(&server);
    assert_eq!(
        client.add(std::slice::from_ref(&add)).await.unwrap(),
        vec![Added::AlreadyPresent]
    );
    let list = client.list(Some(&[add.infohash])).await.unwrap();
    assert_eq!(list[0].state, TorrentState::Seeding);
    assert_eq!((list[0].seeders, list[0].completed), (Some(3), Some(9)));
    assert_eq!(client.info().await.unwrap().api_version, "18");
}

/// A JSON-RPC 2.0 request whose params use these snake_case keys.
struct JsonRpc(&'static [&'static str]);

impl Match for JsonRpc {
    fn matches(&self, request: &Request) -> bool {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        body["jsonrpc"] == "2.0"
            && self.0.iter().all(|k| body["params"].get(*k).is_some())
            && body["params"]["fields"].as_array().is_none_or(|f| {
                f.iter()
                    .all(|f| !f.as_str().unwrap_or("").contains(char::is_uppercase))
            })
    }
}

#[tokio::test]
async fn json_rpc_errors_are_reported() {
    let server = MockServer::start().await;
    handshake(&server, "e41", Some("18")).await;
    answer(
        &server,
        "session-get",
        "e41",
        json!({"result":"success","arguments":{"rpc-version":18,"version":"4.1.0"}}),
        1,
    )
    .await;
    answer(&server, "torrent_add", "e41", json!({"jsonrpc":"2.0","id":1,"error":{"code":7,"message":"unrecognized info","data":{"error_string":"invalid or corrupt torrent file"}}}), 1).await;
    match client(&server).add(&[post_add()]).await {
        Err(ClientError::Rejected { reason, .. }) => {
            assert!(reason.contains("invalid or corrupt"), "{reason}")
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn a_rotated_session_id_is_picked_up() {
    let server = MockServer::start().await;
    // The id changes after the first call: every call can meet a 409.
    Mock::given(WithoutSession("first"))
        .respond_with(ResponseTemplate::new(409).insert_header(SID, "first"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(Rpc {
        method: "session-get",
        session: "first",
    })
    .respond_with(
        ResponseTemplate::new(200).set_body_json(
            json!({"result":"success","arguments":{"rpc-version":16,"version":"3.00"}}),
        ),
    )
    .up_to_n_times(1)
    .mount(&server)
    .await;
    Mock::given(Rpc {
        method: "session-get",
        session: "first",
    })
    .respond_with(ResponseTemplate::new(409).insert_header(SID, "second"))
    .mount(&server)
    .await;
    answer(
        &server,
        "session-get",
        "second",
        json!({"result":"success","arguments":{"seed-queue-enabled":false,"seed-queue-size":10}}),
        1,
    )
    .await;
    let client = client(&server);
    client.info().await.unwrap();
    assert!(!client.queue_report().await.unwrap().queueing);
}

#[tokio::test]
async fn host_whitelist_and_server_errors_name_the_fix() {
    for (status, expect) in [
        (421, "rpc-host-whitelist"),
        (401, "username or password"),
        (500, "log"),
    ] {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(ResponseTemplate::new(status).set_body_string("<h1>nope</h1>"))
            .mount(&server)
            .await;
        let error = client(&server).info().await.unwrap_err();
        assert!(error.to_string().contains(expect), "{status}: {error}");
    }
}

#[tokio::test]
async fn garbage_is_a_decode_error() {
    let server = MockServer::start().await;
    handshake(&server, "g", None).await;
    Mock::given(Rpc {
        method: "session-get",
        session: "g",
    })
    .respond_with(ResponseTemplate::new(200).set_body_string("<html>a router login page</html>"))
    .mount(&server)
    .await;
    assert!(matches!(
        client(&server).info().await,
        Err(ClientError::Decode { .. })
    ));
    // A 409 without the header is not Transmission.
    let other = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(409))
        .mount(&other)
        .await;
    assert!(matches!(
        client(&other).info().await,
        Err(ClientError::Decode { .. })
    ));
}

#[tokio::test]
async fn calls_that_act_on_all_torrents_without_ids_are_never_sent() {
    let server = MockServer::start().await;
    handshake(&server, "ids", None).await;
    answer(
        &server,
        "session-get",
        "ids",
        json!({"result":"success","arguments":{"rpc-version":16,"version":"3.00"}}),
        1,
    )
    .await;
    // Nothing of ours among the hashes: no torrent-remove may go out.
    answer(
        &server,
        "torrent-get",
        "ids",
        json!({"result":"success","arguments":{"torrents":[["id","hashString","labels"]]}}),
        1,
    )
    .await;
    answer(
        &server,
        "torrent-remove",
        "ids",
        json!({"result":"success","arguments":{}}),
        0,
    )
    .await;
    let client = client(&server);
    client.remove(&[post_add().infohash], true).await.unwrap();
    client.remove(&[], true).await.unwrap();
}
