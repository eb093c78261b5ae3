//! The daemon loop on an in-memory client: a stop signal during a fetch
//! that can never finish ends the loop at once and sweeps what the fetch
//! added; a changed interval applies at the next start.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use upseed_core::InfoHash;
use upseed_node::fake::{self, FakeClient};
use upseed_node::store::Store;
use upseed_node::{Home, Node, Vars};

/// An HTTP tracker on 127.0.0.1 whose full scrape lists `hash` with one
/// seeder, who never delivers; returns its announce URL.
async fn tracker_listing(hash: InfoHash) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut body = b"d5:filesd20:".to_vec();
    body.extend_from_slice(hash.as_bytes());
    body.extend_from_slice(b"d8:completei1e10:downloadedi0e10:incompletei0eeee");
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let body = body.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&body).await;
            });
        }
    });
    format!("http://127.0.0.1:{port}/announce")
}

fn node(
    dir: &std::path::Path,
    client: &FakeClient,
    edit: impl FnOnce(&mut upseed_node::Config),
) -> Node<FakeClient> {
    let mut config = fake::config(dir);
    edit(&mut config);
    let shared = client.clone();
    Node::new(Home::in_dir(dir), Vars::default(), move |_, _| {
        Ok(shared.clone())
    })
    .with_config(config)
}

#[tokio::test]
async fn a_stop_during_a_dead_fetch_ends_the_loop_and_sweeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let client = FakeClient::new();
    let dead = InfoHash::from_bytes([7; 20]);
    let tracker = tracker_listing(dead).await;
    let node = node(dir.path(), &client, |c| {
        c.trackers.urls = vec![tracker];
        c.daemon.fetch_timeout = Duration::from_secs(120);
        c.daemon.jitter = Duration::ZERO;
    });
    let (tx, rx) = watch::channel(false);
    let control = async {
        // The sync's fetch of the lead has begun, and can never finish.
        let deadline = Instant::now() + Duration::from_secs(30);
        while !client.holds(dead) {
            assert!(
                Instant::now() < deadline,
                "the daemon never fetched the lead"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tx.send(true).unwrap();
        Instant::now()
    };
    let (stopped, signalled) = tokio::join!(node.daemon(rx), control);
    let took = signalled.elapsed();
    stopped.unwrap();
    assert!(
        took < Duration::from_secs(10),
        "the daemon took {took:?} to stop, not the fetch's 120 s"
    );
    assert!(
        !client.holds(dead),
        "the cancelled fetch's torrent is swept"
    );
    assert!(client.removals().iter().any(|(h, _)| *h == dead));
}

/// Runs the daemon at `dir` with `sync_every` until one round is done.
async fn one_round(dir: &std::path::Path, client: &FakeClient, sync_every: u64) {
    let node = node(dir, client, |c| {
        c.daemon.sync_every = Duration::from_secs(sync_every);
        c.daemon.jitter = Duration::ZERO;
    });
    let (tx, rx) = watch::channel(false);
    let control = async {
        let store = dir.join("store.db");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let done = store.exists()
                && Store::open(&store).is_ok_and(|s| {
                    s.steps().unwrap().iter().any(|s| {
                        s.step == "gc" && s.finished.is_some_and(|f| f + 1 >= upseed_node::now())
                    })
                });
            if done {
                break;
            }
            assert!(Instant::now() < deadline, "no round finished");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tx.send(true).unwrap();
    };
    let (stopped, ()) = tokio::join!(node.daemon(rx), control);
    stopped.unwrap();
}

/// How long after its last run the next sync is due.
fn sync_wait(dir: &std::path::Path) -> u64 {
    let store = Store::open(&dir.join("store.db")).unwrap();
    let sync = store
        .steps()
        .unwrap()
        .into_iter()
        .find(|s| s.step == "sync")
        .unwrap();
    sync.next_at.unwrap() - sync.finished.unwrap()
}

#[tokio::test]
async fn a_changed_interval_applies_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let client = FakeClient::new();
    one_round(dir.path(), &client, 3600).await;
    assert_eq!(sync_wait(dir.path()), 3600);
    // A restart with a shorter interval does not wait out the old one: the
    // next sync is due 60 s after the last, as `status` reads.
    let node = node(dir.path(), &client, |c| {
        c.daemon.sync_every = Duration::from_secs(60);
        c.daemon.jitter = Duration::ZERO;
    });
    let (tx, rx) = watch::channel(true);
    drop(tx);
    node.daemon(rx).await.unwrap();
    assert_eq!(sync_wait(dir.path()), 60);
}
