//! Asking trackers for swarm counts: HTTP (BEP 48) in batches of 64, at
//! most four requests at once per tracker; UDP (BEP 15) in packets of 74;
//! every tracker at once. A tracker that is down or slow is reported and
//! holds up nobody.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::future::join_all;
use tokio::net::UdpSocket;
use upseed_core::InfoHash;
use upseed_core::scrape::{self, HTTP_BATCH, SwarmCounts, UDP_BATCH};

use crate::store::SwarmCount;

/// A tracker that could not be scraped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerFailure {
    /// Its announce URL.
    pub tracker: String,
    /// What went wrong.
    pub error: String,
}

/// What one round of scraping found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScrapeReport {
    /// Counts per torrent and tracker, ready for the store.
    pub counts: Vec<SwarmCount>,
    /// Requests sent: HTTP requests plus UDP packets.
    pub requests: usize,
    /// Trackers that failed.
    pub failures: Vec<TrackerFailure>,
}

/// Scrapes `hashes` on every tracker at once, each within `timeout` per request.
pub async fn scrape(trackers: &[String], hashes: &[InfoHash], timeout: Duration) -> ScrapeReport {
    // No kept-alive connections: opentracker closes each one after its
    // answer, and reusing one it is closing fails the request.
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .pool_max_idle_per_host(0)
        .redirect(same_host())
        .build()
        .map_err(|e| format!("cannot set up HTTP: {e}"));
    let jobs = trackers.iter().map(|tracker| {
        let http = http.clone();
        async move {
            let mut requests = 0;
            let result = match (tracker.strip_prefix("udp://"), http) {
                (Some(address), _) => udp(address, hashes, timeout, &mut requests).await,
                (None, Ok(http)) => over_http(&http, tracker, hashes, &mut requests).await,
                (None, Err(e)) => Err(e),
            };
            (tracker, result, requests)
        }
    });
    let mut report = ScrapeReport::default();
    for (tracker, result, requests) in join_all(jobs).await {
        report.requests += requests;
        match result {
            Ok(counts) => report
                .counts
                .extend(counts.into_iter().map(|(infohash, c)| SwarmCount {
                    infohash,
                    source: tracker.clone(),
                    seeders: Some(c.seeders),
                    leechers: Some(c.leechers),
                    completed: Some(c.completed),
                })),
            Err(error) => report.failures.push(TrackerFailure {
                tracker: tracker.clone(),
                error,
            }),
        }
    }
    report
        .counts
        .sort_by(|a, b| (a.infohash, &a.source).cmp(&(b.infohash, &b.source)));
    report
}

/// Redirects are followed only within the tracker's own host, at most 4:
/// a tracker cannot send upseed to ask another host.
pub(crate) fn same_host() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first().and_then(|u| u.host_str());
        if attempt.previous().len() > 4 || attempt.url().host_str() != first {
            attempt.stop()
        } else {
            attempt.follow()
        }
    })
}

/// HTTP scrape requests in flight at once, per tracker.
pub const HTTP_CONCURRENCY: usize = 4;

async fn over_http(
    http: &reqwest::Client,
    announce: &str,
    hashes: &[InfoHash],
    requests: &mut usize,
) -> Result<HashMap<InfoHash, SwarmCounts>, String> {
    use futures_util::stream::{self, StreamExt, TryStreamExt};

    let url = scrape::scrape_url(announce).map_err(|e| e.to_string())?;
    let join = if url.contains('?') { '&' } else { '?' };
    let url = &url;
    let sent = &std::sync::atomic::AtomicUsize::new(0);
    let answers: Result<Vec<HashMap<InfoHash, SwarmCounts>>, String> =
        stream::iter(hashes.chunks(HTTP_BATCH))
            .map(|batch| async move {
                let query = format!("{url}{join}{}", scrape::http_query(batch));
                // A tracker may close a kept-alive connection just as it is
                // reused (opentracker does, under load): retry that once.
                let mut attempt = 0;
                let response = loop {
                    attempt += 1;
                    sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    match http.get(&query).send().await {
                        Ok(response) => break response,
                        Err(e) if attempt < 2 && !e.is_timeout() => {}
                        Err(e) => return Err(format!("cannot reach {url}: {}", chain(e))),
                    }
                };
                if !response.status().is_success() {
                    return Err(format!("{url} answered HTTP {}", response.status()));
                }
                let body = read_capped(response, MAX_BATCH_ANSWER, url, || {
                    format!(
                        "{url} answered more than {MAX_BATCH_ANSWER} bytes, which is not a scrape"
                    )
                })
                .await?;
                scrape::parse_http(&body).map_err(|e| e.to_string())
            })
            .buffer_unordered(HTTP_CONCURRENCY)
            .try_collect()
            .await;
    *requests += sent.load(std::sync::atomic::Ordering::Relaxed);
    Ok(answers?.into_iter().flatten().collect())
}

/// An HTTP error with its causes ("error sending request" alone does not
/// say whether the connection was refused, reset or timed out).
pub(crate) fn chain(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut out = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

/// The most a full scrape may return before it is abandoned for batches:
/// about 110,000 torrents, at some 70 bytes each. Reading and parsing one
/// that size peaks under 40 MiB.
pub const MAX_FULL_SCRAPE: usize = 8 << 20;

/// The most one batched scrape answer may hold: 64 torrents take some
/// 5 KiB, so more is not a scrape.
pub const MAX_BATCH_ANSWER: usize = 256 << 10;

/// Reads a body of at most `cap` bytes; a longer one is refused, with
/// `too_long`'s message, as soon as it passes the cap, so a tracker
/// streaming junk costs no memory.
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
    url: &str,
    too_long: impl FnOnce() -> String,
) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("{url}: {}", chain(e)))?
    {
        if body.len() + chunk.len() > cap {
            return Err(too_long());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Asks an HTTP tracker for every torrent it tracks (`/scrape` with no
/// infohash), which opentracker answers by default. Fails, so that the
/// caller falls back to batches, when the tracker refuses or the answer
/// is over [`MAX_FULL_SCRAPE`] bytes.
pub async fn full_scrape(
    announce: &str,
    timeout: Duration,
) -> Result<HashMap<InfoHash, SwarmCounts>, String> {
    let url = scrape::scrape_url(announce).map_err(|e| e.to_string())?;
    let body = if url.starts_with("http://") {
        tokio::time::timeout(timeout * 4, plain_get(&url, timeout))
            .await
            .unwrap_or_else(|_| Err(format!("{url} did not answer within {:?}", timeout * 4)))?
    } else {
        tls_get(&url, timeout).await?
    };
    scrape::parse_http(&body).map_err(|e| e.to_string())
}

async fn tls_get(url: &str, timeout: Duration) -> Result<Vec<u8>, String> {
    let http = reqwest::Client::builder()
        .timeout(timeout * 4)
        .connect_timeout(timeout)
        .redirect(same_host())
        .build()
        .map_err(|e| format!("cannot set up HTTP: {e}"))?;
    let response = http
        .get(url)
        .send()
        .await
        .map_err(|e| format!("cannot reach {url}: {}", chain(e)))?;
    if !response.status().is_success() {
        return Err(format!("{url} answered HTTP {}", response.status()));
    }
    read_capped(response, MAX_FULL_SCRAPE, url, || too_big(url)).await
}

fn too_big(url: &str) -> String {
    format!("{url} lists more than {MAX_FULL_SCRAPE} bytes of torrents")
}

/// One HTTP/1.0 GET over plain TCP, read to the end.
///
/// opentracker (as Debian ships it) overwrites the first 16 bytes of a full
/// scrape's answer, its status line, when the answer is between about 8
/// and 50 KiB (some 120 to 700 torrents): HTTP libraries refuse such an
/// answer ("invalid HTTP version"), and `sync` would discover nothing.
/// This reader tolerates exactly that: a first line that is not a status
/// line, followed by well-formed headers whose `Content-Length` matches
/// the body, which must then parse as a bencoded scrape.
async fn plain_get(url: &str, timeout: Duration) -> Result<Vec<u8>, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let parsed = url::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
    let host = parsed.host_str().unwrap_or_default().to_owned();
    let port = parsed.port_or_known_default().unwrap_or(80);
    let target = match parsed.query() {
        Some(q) => format!("{}?{q}", parsed.path()),
        None => parsed.path().to_owned(),
    };
    let mut stream = tokio::time::timeout(
        timeout,
        tokio::net::TcpStream::connect((host.as_str(), port)),
    )
    .await
    .map_err(|_| format!("cannot reach {url}: no connection within {timeout:?}"))?
    .map_err(|e| format!("cannot reach {url}: {e}"))?;
    let request =
        format!("GET {target} HTTP/1.0\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("cannot reach {url}: {e}"))?;
    let mut raw = Vec::new();
    let cap = MAX_FULL_SCRAPE + 64 * 1024;
    let read = (&mut stream)
        .take(cap as u64 + 1)
        .read_to_end(&mut raw)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if read > cap {
        return Err(too_big(url));
    }
    split_response(&raw).map_err(|e| format!("{url}: {e}"))
}

/// The body of a raw HTTP/1.x answer, tolerating a garbled status line
/// (see [`plain_get`]).
fn split_response(raw: &[u8]) -> Result<Vec<u8>, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("the answer has no end of headers")?;
    let (head, body) = (&raw[..end + 4], &raw[end + 4..]);
    let status = head.starts_with(b"HTTP/");
    if status {
        let code = head
            .split(|b| *b == b' ')
            .nth(1)
            .and_then(|c| std::str::from_utf8(c).ok())
            .and_then(|c| c.parse::<u16>().ok())
            .ok_or("the status line has no status code")?;
        if code != 200 {
            return Err(format!("answered HTTP {code}"));
        }
    }
    // The headers start after the first line; when that line is garbled
    // it may hold a newline byte of its own, so try each within the
    // overwritten stretch.
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut found = None;
    for start in head
        .iter()
        .enumerate()
        .take(if status { head.len() } else { 24 })
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i + 1)
    {
        let mut attempt = [httparse::EMPTY_HEADER; 32];
        if let Ok(httparse::Status::Complete((_, parsed))) =
            httparse::parse_headers(&head[start..], &mut attempt)
        {
            let n = parsed.len();
            headers[..n].clone_from_slice(parsed);
            found = Some(n);
            break;
        }
    }
    let headers = &headers[..found.ok_or("malformed headers")?];
    let header = |name: &str| {
        headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
    };
    if header("content-encoding").is_some_and(|e| !e.eq_ignore_ascii_case("identity")) {
        return Err("the answer is compressed, which was not asked for".into());
    }
    match header("content-length").map(str::parse::<usize>) {
        Some(Ok(len)) if len == body.len() => Ok(body.to_vec()),
        Some(Ok(len)) => Err(format!(
            "the answer says {len} bytes but holds {}",
            body.len()
        )),
        _ if status => Ok(body.to_vec()),
        _ => Err("garbled status line and no Content-Length: not an HTTP answer".into()),
    }
}

/// One request and its answer, tried twice.
pub(crate) async fn exchange(
    socket: &UdpSocket,
    packet: &[u8],
    timeout: Duration,
    requests: &mut usize,
) -> Result<Vec<u8>, String> {
    let mut buffer = vec![0u8; 8 + UDP_BATCH * 12];
    for _ in 0..2 {
        *requests += 1;
        socket.send(packet).await.map_err(|e| e.to_string())?;
        if let Ok(received) = tokio::time::timeout(timeout, socket.recv(&mut buffer)).await {
            let n = received.map_err(|e| e.to_string())?;
            return Ok(buffer[..n].to_vec());
        }
    }
    Err(format!("no answer within {timeout:?}, twice"))
}

async fn udp(
    address: &str,
    hashes: &[InfoHash],
    timeout: Duration,
    requests: &mut usize,
) -> Result<HashMap<InfoHash, SwarmCounts>, String> {
    let socket = udp_socket(address, timeout).await?;
    let mut transaction = u32::from_le_bytes(rand_bytes());
    let mut connection: Option<(u64, tokio::time::Instant)> = None;
    let mut out = HashMap::new();
    for batch in hashes.chunks(UDP_BATCH) {
        // A connection id is good for one minute (BEP 15).
        let id = match connection {
            Some((id, since)) if since.elapsed() < Duration::from_secs(55) => id,
            _ => {
                transaction = transaction.wrapping_add(1);
                let answer = exchange(
                    &socket,
                    &scrape::udp_connect(transaction),
                    timeout,
                    requests,
                )
                .await?;
                let id = scrape::udp_connected(&answer, transaction).map_err(|e| e.to_string())?;
                connection = Some((id, tokio::time::Instant::now()));
                id
            }
        };
        transaction = transaction.wrapping_add(1);
        let answer = exchange(
            &socket,
            &scrape::udp_scrape(id, transaction, batch),
            timeout,
            requests,
        )
        .await?;
        out.extend(scrape::udp_scraped(&answer, transaction, batch).map_err(|e| e.to_string())?);
    }
    // Like HTTP, report only torrents the tracker knows: UDP answers zeros
    // for the others.
    out.retain(|_, c| c.seeders > 0 || c.leechers > 0 || c.completed > 0);
    Ok(out)
}

/// A UDP socket connected to the tracker at `address` (`host:port`, as in
/// a `udp://` URL after its scheme), resolved within `timeout`.
pub(crate) async fn udp_socket(address: &str, timeout: Duration) -> Result<UdpSocket, String> {
    let host = address.split('/').next().unwrap_or(address);
    let target = tokio::time::timeout(timeout, tokio::net::lookup_host(host))
        .await
        .map_err(|_| format!("cannot resolve {host} within {timeout:?}"))?
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host} has no address"))?;
    let local = if target.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let socket = UdpSocket::bind(local).await.map_err(|e| e.to_string())?;
    socket.connect(target).await.map_err(|e| e.to_string())?;
    Ok(socket)
}

pub(crate) fn rand_bytes() -> [u8; 4] {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    (nanos ^ std::process::id().rotate_left(16)).to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::split_response;

    #[test]
    fn a_garbled_status_line_is_tolerated_only_with_matching_headers() {
        let body = b"d5:filesdee";
        let good = [
            b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\n".as_slice(),
            body,
        ]
        .concat();
        assert_eq!(split_response(&good).unwrap(), body);
        // What opentracker sends for a full scrape of 120 to 700 torrents.
        let mut garbled = good.clone();
        garbled[..16].copy_from_slice(b"\x92O\x99]\x05\x00\x00\x006\xa5\n\xb2\x1f\xd7\x13\xab");
        assert_eq!(split_response(&garbled).unwrap(), body);
        let short = [&garbled[..garbled.len() - 1]].concat();
        assert!(
            split_response(&short)
                .unwrap_err()
                .contains("says 11 bytes")
        );
        let refused = b"HTTP/1.0 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
        assert!(split_response(refused).unwrap_err().contains("403"));
        let junk = b"garbage\nnot: a header\r\n\r\nbody";
        assert!(split_response(junk).is_err());
        assert!(split_response(b"no end").is_err());
    }
}
