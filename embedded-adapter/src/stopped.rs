//! Telling trackers that a removed torrent is gone: librqbit announces
//! `started` and periodic updates but never `stopped`, so a tracker would
//! go on counting a read or an unvoted post as seeded by this engine
//! until the peer timed out (half an hour and more). This sends the
//! `stopped` announce itself (HTTP, or BEP 15 over UDP), once, best-effort.

use std::time::Duration;

use upseed_core::InfoHash;
use upseed_core::announce::{Announce, Event};

/// How long one tracker may take to hear the stop.
const TIMEOUT: Duration = Duration::from_secs(5);

/// What identifies this engine to a tracker.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer {
    pub(crate) peer_id: [u8; 20],
    pub(crate) port: u16,
}

/// Announces `stopped` for `hash` to each of `trackers`, at once, and
/// returns when every tracker answered or gave up.
pub(crate) async fn announce(trackers: Vec<url::Url>, hash: InfoHash, peer: Peer) {
    let stop = Announce {
        infohash: hash,
        peer_id: peer.peer_id,
        port: peer.port,
        left: 0,
        event: Event::Stopped,
    };
    let mut sends = Vec::with_capacity(trackers.len());
    for tracker in trackers {
        sends.push(async move {
            let sent = match tracker.scheme() {
                "http" | "https" => tokio::time::timeout(TIMEOUT, http(&tracker, &stop)).await,
                "udp" => tokio::time::timeout(TIMEOUT, udp(&tracker, &stop)).await,
                _ => return,
            };
            if let Ok(Err(error)) | Err(error) = sent.map_err(|_| "no answer in time".to_owned()) {
                tracing::debug!(%tracker, %hash, %error, "a tracker did not hear the stop");
            }
        });
    }
    futures_util::future::join_all(sends).await;
}

async fn http(tracker: &url::Url, stop: &Announce) -> Result<(), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    if tracker.scheme() == "https" {
        // A stop is not worth a TLS stack of the adapter's own: the
        // tracker forgets the peer at its timeout instead.
        return Ok(());
    }
    let host = tracker.host_str().ok_or("no host")?;
    let port = tracker.port_or_known_default().ok_or("no port")?;
    let query = match tracker.query() {
        Some(own) => format!("{own}&{}", stop.http_query()),
        None => stop.http_query(),
    };
    let request = format!(
        "GET {}?{query} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: upseed\r\nConnection: close\r\n\r\n",
        tracker.path()
    );
    let mut stream = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| e.to_string())?;
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    // The answer does not matter; reading a little lets the tracker
    // finish before the connection closes.
    let mut answer = [0u8; 512];
    let _ = stream.read(&mut answer).await;
    Ok(())
}

async fn udp(tracker: &url::Url, stop: &Announce) -> Result<(), String> {
    let (host, port) = (
        tracker.host_str().ok_or("no host")?,
        tracker.port().ok_or("no port")?,
    );
    let socket = tokio::net::UdpSocket::bind("0.0.0.0:0")
        .await
        .map_err(|e| e.to_string())?;
    socket
        .connect((host, port))
        .await
        .map_err(|e| e.to_string())?;
    let transaction = u32::from_be_bytes([stop.peer_id[16], stop.peer_id[17], 0x5a, 0x17]);
    socket
        .send(&upseed_core::scrape::udp_connect(transaction))
        .await
        .map_err(|e| e.to_string())?;
    let mut answer = [0u8; 64];
    let read = socket.recv(&mut answer).await.map_err(|e| e.to_string())?;
    let connection = upseed_core::scrape::udp_connected(&answer[..read], transaction)
        .map_err(|e| e.to_string())?;
    socket
        .send(&stop.udp_packet(connection, transaction.wrapping_add(1), transaction))
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}
