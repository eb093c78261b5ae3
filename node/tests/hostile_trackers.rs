//! Trackers that answer without end, or with junk: every scrape ends
//! with a typed error, reading no more than its cap.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use upseed_core::InfoHash;
use upseed_node::scrape::{MAX_BATCH_ANSWER, MAX_FULL_SCRAPE, full_scrape, scrape};

/// A tracker on 127.0.0.1 that answers every request with `head`, then
/// streams `filler` until the reader hangs up; returns its announce URL.
async fn endless(head: &'static [u8], filler: u8) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                if socket.write_all(head).await.is_err() {
                    return;
                }
                let chunk = vec![filler; 64 * 1024];
                while socket.write_all(&chunk).await.is_ok() {}
            });
        }
    });
    format!("http://127.0.0.1:{port}/announce")
}

#[tokio::test]
async fn a_tracker_that_never_stops_answering_is_cut_off() {
    let url = endless(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n", b'x').await;
    let report = scrape(
        std::slice::from_ref(&url),
        &[InfoHash::from_bytes([1; 20])],
        Duration::from_secs(10),
    )
    .await;
    assert!(report.counts.is_empty());
    let error = &report.failures[0].error;
    assert!(
        error.contains(&format!("more than {MAX_BATCH_ANSWER} bytes")),
        "{error}"
    );

    let error = full_scrape(&url, Duration::from_secs(10))
        .await
        .unwrap_err();
    assert!(
        error.contains(&format!("more than {MAX_FULL_SCRAPE} bytes")),
        "{error}"
    );
}

#[tokio::test]
async fn junk_and_refusals_are_typed_errors() {
    let url = endless(b"HTTP/1.0 200 OK\r\ncontent-length: 5\r\n\r\n<html", b' ').await;
    let report = scrape(
        std::slice::from_ref(&url),
        &[InfoHash::from_bytes([1; 20])],
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(report.failures.len(), 1, "{report:?}");
    assert!(full_scrape(&url, Duration::from_secs(5)).await.is_err());
}

#[tokio::test]
async fn a_udp_tracker_answering_junk_or_nothing_fails_in_time() {
    // One answers every packet with 64 KiB of junk, one never answers.
    let junk = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let junk_port = junk.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut buffer = [0u8; 2048];
        while let Ok((_, from)) = junk.recv_from(&mut buffer).await {
            let _ = junk.send_to(&[0xff; 65_000], from).await;
        }
    });
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let trackers = vec![
        format!("udp://127.0.0.1:{junk_port}/announce"),
        format!("udp://127.0.0.1:{silent_port}/announce"),
    ];
    let started = std::time::Instant::now();
    let report = scrape(
        &trackers,
        &[InfoHash::from_bytes([1; 20])],
        Duration::from_millis(300),
    )
    .await;
    assert_eq!(report.failures.len(), 2, "{report:?}");
    assert!(report.counts.is_empty());
    // Two tries of 300 ms each, with the trackers asked at once.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    drop(silent);
}
