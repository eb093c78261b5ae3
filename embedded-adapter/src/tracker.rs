//! The engine's own announces, where librqbit's say the wrong thing.
//!
//! - librqbit never announces `stopped`, so a tracker would go on counting
//!   a read or an unvoted post as seeded by this engine until the peer
//!   timed out (half an hour and more): [`announce`] with
//!   [`Event::Stopped`] on removal, and for everything when the engine
//!   stops.
//! - librqbit announces a finished download only at its next interval,
//!   half an hour on: until then a reader who has the whole post (an
//!   upvote) counts as a leecher. The engine announces
//!   [`Event::Completed`] as the download finishes.
//! - While it resolves a magnet link, librqbit announces `left=0`, since
//!   it knows no size yet: the tracker counts the reader as a seeder, and
//!   Transmission (with PEX off) then drops the reader's connection at
//!   once, as "both seeds". The engine announces `started` with bytes
//!   left itself, and hands librqbit the bare infohash (an add's own
//!   `disable_trackers` is not read by librqbit 9.1).
//!
//! HTTP (plain; over TLS the tracker's timeout does the work) and BEP 15
//! over UDP, each bounded in time and in what it reads.

use std::net::SocketAddr;
use std::time::Duration;

use upseed_core::InfoHash;
use upseed_core::announce::{Announce, Event};

/// How long one tracker may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The most of an HTTP answer read.
const MAX_ANSWER: usize = 64 << 10;

/// What identifies this engine to a tracker.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer {
    pub(crate) peer_id: [u8; 20],
    pub(crate) port: u16,
}

/// Announces `event` for `hash` to each of `trackers` at once, with
/// `left` bytes to go, and returns the peers they list (none for a stop).
pub(crate) async fn announce(
    trackers: &[url::Url],
    hash: InfoHash,
    peer: Peer,
    event: Event,
    left: u64,
) -> Vec<SocketAddr> {
    let ask = Announce {
        infohash: hash,
        peer_id: peer.peer_id,
        port: peer.port,
        left,
        event,
    };
    let mut asks = Vec::with_capacity(trackers.len());
    for tracker in trackers {
        asks.push(async move {
            let answered = match tracker.scheme() {
                "http" => tokio::time::timeout(TIMEOUT, http(tracker, &ask)).await,
                "udp" => tokio::time::timeout(TIMEOUT, udp(tracker, &ask)).await,
                _ => return Vec::new(),
            };
            match answered.map_err(|_| "no answer in time".to_owned()) {
                Ok(Ok(peers)) => peers,
                Ok(Err(error)) | Err(error) => {
                    tracing::debug!(%tracker, %hash, %error, "a tracker did not answer an announce");
                    Vec::new()
                }
            }
        });
    }
    futures_util::future::join_all(asks)
        .await
        .into_iter()
        .flatten()
        .collect()
}

async fn http(tracker: &url::Url, ask: &Announce) -> Result<Vec<SocketAddr>, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = tracker.host_str().ok_or("no host")?;
    let port = tracker.port_or_known_default().ok_or("no port")?;
    let query = match tracker.query() {
        Some(own) => format!("{own}&{}", ask.http_query()),
        None => ask.http_query(),
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
    let mut answer = Vec::new();
    stream
        .take(MAX_ANSWER as u64)
        .read_to_end(&mut answer)
        .await
        .map_err(|e| e.to_string())?;
    if ask.event == Event::Stopped {
        return Ok(Vec::new());
    }
    let body = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| &answer[at + 4..])
        .ok_or("an answer with no body")?;
    upseed_core::announce::parse_http(body).map_err(|e| e.to_string())
}

async fn udp(tracker: &url::Url, ask: &Announce) -> Result<Vec<SocketAddr>, String> {
    let host = tracker.host_str().ok_or("no host")?;
    let port = tracker.port().ok_or("no port")?;
    let socket = tokio::net::UdpSocket::bind("0.0.0.0:0")
        .await
        .map_err(|e| e.to_string())?;
    socket
        .connect((host, port))
        .await
        .map_err(|e| e.to_string())?;
    let transaction = u32::from_be_bytes([ask.peer_id[16], ask.peer_id[17], 0x5a, 0x17]);
    socket
        .send(&upseed_core::scrape::udp_connect(transaction))
        .await
        .map_err(|e| e.to_string())?;
    let mut answer = [0u8; 1500];
    let read = socket.recv(&mut answer).await.map_err(|e| e.to_string())?;
    let connection = upseed_core::scrape::udp_connected(&answer[..read], transaction)
        .map_err(|e| e.to_string())?;
    let transaction = transaction.wrapping_add(1);
    socket
        .send(&ask.udp_packet(connection, transaction, transaction.rotate_left(7)))
        .await
        .map_err(|e| e.to_string())?;
    if ask.event == Event::Stopped {
        return Ok(Vec::new());
    }
    let read = socket.recv(&mut answer).await.map_err(|e| e.to_string())?;
    upseed_core::announce::parse_udp(&answer[..read], transaction).map_err(|e| e.to_string())
}
