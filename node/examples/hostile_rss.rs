//! Peak memory of one hostile answer, for `bench/hostile`: runs the case
//! named on the command line against a tracker on 127.0.0.1 and prints
//! the process's peak resident set (VmHWM) afterwards.
//!
//! Cases: `endless-batch` (a batched scrape answered without end),
//! `endless-full` (a full scrape answered without end), `full-live` (an
//! 8 MiB full scrape of 200,000 torrents that all have peers), `full-idle`
//! (the same size of torrents with none).

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use upseed_core::InfoHash;

async fn serve(head: Vec<u8>, body: Vec<u8>, endless: bool) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let port = listener.local_addr().expect("an address").port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (head, body) = (head.clone(), body.clone());
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let _ = socket.write_all(&head).await;
                let _ = socket.write_all(&body).await;
                let chunk = vec![b'x'; 64 * 1024];
                while endless && socket.write_all(&chunk).await.is_ok() {}
            });
        }
    });
    format!("http://127.0.0.1:{port}/announce")
}

fn full_scrape_body(torrents: u32, live: bool) -> Vec<u8> {
    let mut body = b"d5:filesd".to_vec();
    for n in 0..torrents {
        let mut hash = [0u8; 20];
        hash[..4].copy_from_slice(&n.to_be_bytes());
        body.extend_from_slice(b"20:");
        body.extend_from_slice(&hash);
        body.extend_from_slice(if live { b"d8:completei1ee" } else { b"de" });
    }
    body.extend_from_slice(b"ee");
    body
}

fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let case = std::env::args().nth(1).unwrap_or_default();
    let before = peak_kib();
    let start = Instant::now();
    let timeout = Duration::from_secs(10);
    let outcome = match case.as_str() {
        "endless-batch" => {
            let url = serve(b"HTTP/1.1 200 OK\r\n\r\n".to_vec(), Vec::new(), true).await;
            let report =
                upseed_node::scrape::scrape(&[url], &[InfoHash::from_bytes([1; 20])], timeout)
                    .await;
            format!("{:?}", report.failures.first().map(|f| &f.error))
        }
        "endless-full" => {
            let url = serve(b"HTTP/1.0 200 OK\r\n\r\n".to_vec(), Vec::new(), true).await;
            format!(
                "{:?}",
                upseed_node::scrape::full_scrape(&url, timeout).await.err()
            )
        }
        "full-live" | "full-idle" => {
            // 200,000 entries of 38 bytes (live) are 7.6 MiB: under the cap.
            let live = case == "full-live";
            let body = full_scrape_body(if live { 200_000 } else { 300_000 }, live);
            let head = format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
            let size = body.len();
            let url = serve(head.into_bytes(), body, false).await;
            match upseed_node::scrape::full_scrape(&url, timeout).await {
                Ok(map) => format!("{} torrents with peers from {size} bytes", map.len()),
                Err(e) => e,
            }
        }
        other => {
            eprintln!("unknown case `{other}`");
            std::process::exit(2);
        }
    };
    println!(
        "{case}: peak RSS {} KiB (at start {before} KiB), {:.2} s: {outcome}",
        peak_kib(),
        start.elapsed().as_secs_f64()
    );
}
