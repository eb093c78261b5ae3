//! Asking trackers who is in a swarm, for the seeding probe: one announce
//! as a reader with nothing (so the probe never counts as a seeder), then
//! one that says it stopped. Only the addresses a tracker lists, and that
//! [`may_probe`] allows for that tracker, are ever dialled.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures_util::future::join_all;
use upseed_core::InfoHash;
use upseed_core::announce::{self, Announce, Event, may_probe};
use upseed_core::scrape;

use crate::scrape::{
    TrackerFailure, chain, exchange, rand_bytes, read_capped, same_host, udp_socket,
};

/// The most an announce answer may hold: 200 peers take some 4 KiB.
pub const MAX_ANNOUNCE_ANSWER: usize = 64 << 10;

/// The peers the trackers list for one torrent, and the trackers that
/// failed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Swarm {
    /// Distinct addresses a probe may dial, in the order listed.
    pub peers: Vec<SocketAddr>,
    /// Addresses listed but not allowed (see [`may_probe`]).
    pub refused: usize,
    /// Trackers that did not answer.
    pub failures: Vec<TrackerFailure>,
}

/// The trackers a verification round asks, set up once for the round:
/// each one's address resolved (which decides whether it may list
/// loopback and private peers) and one HTTP client for all.
pub struct Trackers {
    trackers: Vec<(String, Option<IpAddr>)>,
    http: Result<reqwest::Client, String>,
    timeout: Duration,
}

impl Trackers {
    /// Resolves `urls` at once, each within `timeout`, which also bounds
    /// every announce.
    pub async fn resolve(urls: &[String], timeout: Duration) -> Self {
        let hosts = join_all(urls.iter().map(|url| tracker_ip(url, timeout))).await;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .pool_max_idle_per_host(0)
            .redirect(same_host())
            .build()
            .map_err(|e| format!("cannot set up HTTP: {e}"));
        Self {
            trackers: urls.iter().cloned().zip(hosts).collect(),
            http,
            timeout,
        }
    }

    /// Asks every tracker at once for the peers of `infohash` (`length`
    /// bytes), announcing `port`: a port nothing listens on, since the
    /// announce only asks and is withdrawn at once. A tracker may list the
    /// probe itself among the peers, so addresses with `port` are left out.
    pub async fn swarm(
        &self,
        (infohash, length): (InfoHash, u64),
        (peer_id, port): ([u8; 20], u16),
    ) -> Swarm {
        let ask = |event| Announce {
            infohash,
            peer_id,
            port,
            left: length,
            event,
        };
        let timeout = self.timeout;
        let answers = join_all(self.trackers.iter().map(|(tracker, host)| async move {
            let peers = match (tracker.strip_prefix("udp://"), &self.http) {
                (Some(address), _) => udp(address, ask, timeout).await,
                (None, Ok(http)) => announce_http(http, tracker, ask).await,
                (None, Err(e)) => Err(e.clone()),
            };
            (tracker, *host, peers)
        }))
        .await;
        let mut swarm = Swarm::default();
        for (tracker, host, peers) in answers {
            match peers {
                Ok(peers) => {
                    for peer in peers.into_iter().filter(|p| p.port() != port) {
                        if !may_probe(peer, host) {
                            swarm.refused += 1;
                        } else if !swarm.peers.contains(&peer) {
                            swarm.peers.push(peer);
                        }
                    }
                }
                Err(error) => swarm.failures.push(TrackerFailure {
                    tracker: tracker.clone(),
                    error,
                }),
            }
        }
        swarm
    }
}

/// The address a tracker's host resolves to.
async fn tracker_ip(tracker: &str, timeout: Duration) -> Option<IpAddr> {
    let url = url::Url::parse(tracker).ok()?;
    let host = url
        .host_str()?
        .trim_start_matches('[')
        .trim_end_matches(']');
    if let Ok(ip) = host.parse() {
        return Some(ip);
    }
    let port = url.port_or_known_default().unwrap_or(80);
    tokio::time::timeout(timeout, tokio::net::lookup_host((host, port)))
        .await
        .ok()?
        .ok()?
        .next()
        .map(|a| a.ip())
}

async fn announce_http(
    client: &reqwest::Client,
    tracker: &str,
    ask: impl Fn(Event) -> Announce,
) -> Result<Vec<SocketAddr>, String> {
    let join = if tracker.contains('?') { '&' } else { '?' };
    let get = |event| {
        let url = format!("{tracker}{join}{}", ask(event).http_query());
        let client = client.clone();
        async move {
            let response = client
                .get(&url)
                .send()
                .await
                .map_err(|e| format!("cannot reach {tracker}: {}", chain(e)))?;
            if !response.status().is_success() {
                return Err(format!("{tracker} answered HTTP {}", response.status()));
            }
            read_capped(response, MAX_ANNOUNCE_ANSWER, tracker, || {
                format!("{tracker} answered more than {MAX_ANNOUNCE_ANSWER} bytes to an announce")
            })
            .await
        }
    };
    let body = get(Event::Started).await?;
    let peers = announce::parse_http(&body).map_err(|e| format!("{tracker}: {e}"));
    // Off the list again, whatever the answer was.
    let _ = get(Event::Stopped).await;
    peers
}

async fn udp(
    address: &str,
    ask: impl Fn(Event) -> Announce,
    timeout: Duration,
) -> Result<Vec<SocketAddr>, String> {
    let host = address.split('/').next().unwrap_or(address);
    let socket = udp_socket(address, timeout).await?;
    let mut requests = 0;
    let mut transaction = u32::from_le_bytes(rand_bytes());
    let answer = exchange(
        &socket,
        &scrape::udp_connect(transaction),
        timeout,
        &mut requests,
    )
    .await?;
    let connection = scrape::udp_connected(&answer, transaction).map_err(|e| e.to_string())?;
    let key = transaction.rotate_left(7);
    transaction = transaction.wrapping_add(1);
    let answer = exchange(
        &socket,
        &ask(Event::Started).udp_packet(connection, transaction, key),
        timeout,
        &mut requests,
    )
    .await?;
    let peers = announce::parse_udp(&answer, transaction).map_err(|e| format!("udp://{host}: {e}"));
    transaction = transaction.wrapping_add(1);
    // BEP 15 sends no answer that matters to a stop; send it once.
    let _ = socket
        .send(&ask(Event::Stopped).udp_packet(connection, transaction, key))
        .await;
    peers
}
