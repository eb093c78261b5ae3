//! Tracker scrape messages: BEP 48 over HTTP and BEP 15 over UDP, as pure
//! functions over bytes. The CLI sends them.
//!
//! A scrape asks a tracker how many seed, leech and have completed each
//! torrent. HTTP scrapes carry at most [`HTTP_BATCH`] infohashes per request
//! (opentracker's cap) and UDP scrapes at most [`UDP_BATCH`] per packet
//! (BEP 15). A full scrape asks for every torrent the tracker knows.

use std::collections::HashMap;

use crate::InfoHash;
use crate::bencode::{self, Value};

/// Infohashes per HTTP scrape request.
pub const HTTP_BATCH: usize = 64;
/// Infohashes per UDP scrape packet.
pub const UDP_BATCH: usize = 74;
/// BEP 15's protocol id, sent in every connect request.
pub const UDP_MAGIC: u64 = 0x0417_2710_1980;

/// One torrent's counts, as a tracker reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SwarmCounts {
    /// Peers with the whole torrent.
    pub seeders: u32,
    /// Peers still downloading.
    pub leechers: u32,
    /// Completed downloads the tracker has seen.
    pub completed: u32,
}

/// A scrape answer that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScrapeError {
    /// The announce URL has no scrape counterpart.
    #[error("the tracker `{0}` has no scrape URL: its path does not end in `announce`")]
    NoScrapeUrl(String),
    /// The tracker said no.
    #[error("the tracker refused the scrape: {0}")]
    Failure(String),
    /// Not a scrape answer.
    #[error("the tracker's scrape answer is malformed: {0}")]
    Malformed(String),
}

/// The scrape URL of an HTTP announce URL (BEP 48): the last path segment
/// must start with `announce`, which becomes `scrape`.
pub fn scrape_url(announce: &str) -> Result<String, ScrapeError> {
    let no = || ScrapeError::NoScrapeUrl(announce.to_owned());
    let (head, query) = announce
        .split_once('?')
        .map_or((announce, None), |(h, q)| (h, Some(q)));
    let slash = head.rfind('/').ok_or_else(no)?;
    let last = &head[slash + 1..];
    let rest = last.strip_prefix("announce").ok_or_else(no)?;
    let mut url = format!("{}/scrape{rest}", &head[..slash]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    Ok(url)
}

/// The query string for an HTTP scrape of `hashes` (one batch): each
/// infohash as a percent-encoded `info_hash` parameter.
pub fn http_query(hashes: &[InfoHash]) -> String {
    let mut query = String::with_capacity(hashes.len() * 72);
    for (i, hash) in hashes.iter().enumerate() {
        if i > 0 {
            query.push('&');
        }
        query.push_str("info_hash=");
        for byte in hash.as_bytes() {
            query.push_str(&format!("%{byte:02X}"));
        }
    }
    query
}

fn get<'v, 'a>(pairs: &'v [(&'a [u8], Value<'a>)], key: &[u8]) -> Option<&'v Value<'a>> {
    pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
}

fn count(value: Option<&Value<'_>>) -> u32 {
    match value {
        Some(Value::Int(i)) => u32::try_from(*i).unwrap_or(0),
        _ => 0,
    }
}

/// Reads an HTTP scrape answer: `d5:filesd<20-byte hash>d8:completei…e…ee`.
/// Keys may come in any order; hashes the tracker does not know are absent.
pub fn parse_http(body: &[u8]) -> Result<HashMap<InfoHash, SwarmCounts>, ScrapeError> {
    let value = bencode::decode_lenient(body).map_err(|e| ScrapeError::Malformed(e.to_string()))?;
    let Value::Dict(top) = value else {
        return Err(ScrapeError::Malformed("not a dictionary".into()));
    };
    if let Some(Value::Bytes(reason)) = get(&top, b"failure reason") {
        return Err(ScrapeError::Failure(
            String::from_utf8_lossy(reason).into_owned(),
        ));
    }
    let Some(Value::Dict(files)) = get(&top, b"files") else {
        return Err(ScrapeError::Malformed("no `files` dictionary".into()));
    };
    let mut out = HashMap::with_capacity(files.len());
    for (key, value) in files {
        let (Ok(hash), Value::Dict(stats)) = (<[u8; 20]>::try_from(*key), value) else {
            continue;
        };
        out.insert(
            InfoHash::from_bytes(hash),
            SwarmCounts {
                seeders: count(get(stats.as_slice(), b"complete")),
                leechers: count(get(stats.as_slice(), b"incomplete")),
                completed: count(get(stats.as_slice(), b"downloaded")),
            },
        );
    }
    Ok(out)
}

/// BEP 15 connect request.
pub fn udp_connect(transaction: u32) -> [u8; 16] {
    let mut packet = [0u8; 16];
    packet[..8].copy_from_slice(&UDP_MAGIC.to_be_bytes());
    packet[12..].copy_from_slice(&transaction.to_be_bytes());
    packet
}

/// Reads a BEP 15 connect answer: the connection id, if it answers `transaction`.
pub fn udp_connected(packet: &[u8], transaction: u32) -> Result<u64, ScrapeError> {
    udp_check(packet, 0, transaction)?;
    let id = packet
        .get(8..16)
        .ok_or_else(|| ScrapeError::Malformed("short connect answer".into()))?;
    Ok(u64::from_be_bytes(id.try_into().map_err(|_| {
        ScrapeError::Malformed("short connect answer".into())
    })?))
}

/// BEP 15 scrape request for one batch (at most [`UDP_BATCH`] hashes).
pub fn udp_scrape(connection: u64, transaction: u32, hashes: &[InfoHash]) -> Vec<u8> {
    let mut packet = Vec::with_capacity(16 + hashes.len() * 20);
    packet.extend_from_slice(&connection.to_be_bytes());
    packet.extend_from_slice(&2u32.to_be_bytes());
    packet.extend_from_slice(&transaction.to_be_bytes());
    for hash in hashes.iter().take(UDP_BATCH) {
        packet.extend_from_slice(hash.as_bytes());
    }
    packet
}

/// Reads a BEP 15 scrape answer for `hashes`, in request order.
pub fn udp_scraped(
    packet: &[u8],
    transaction: u32,
    hashes: &[InfoHash],
) -> Result<HashMap<InfoHash, SwarmCounts>, ScrapeError> {
    udp_check(packet, 2, transaction)?;
    let body = &packet[8..];
    if body.len() < hashes.len() * 12 {
        return Err(ScrapeError::Malformed(format!(
            "{} bytes for {} torrents",
            body.len(),
            hashes.len()
        )));
    }
    let word = |at: usize| u32::from_be_bytes([body[at], body[at + 1], body[at + 2], body[at + 3]]);
    Ok(hashes
        .iter()
        .enumerate()
        .map(|(i, hash)| {
            let at = i * 12;
            (
                *hash,
                SwarmCounts {
                    seeders: word(at),
                    completed: word(at + 4),
                    leechers: word(at + 8),
                },
            )
        })
        .collect())
}

/// Checks action and transaction; turns an error answer (action 3) into its message.
fn udp_check(packet: &[u8], action: u32, transaction: u32) -> Result<(), ScrapeError> {
    if packet.len() < 8 {
        return Err(ScrapeError::Malformed("packet shorter than 8 bytes".into()));
    }
    let got = u32::from_be_bytes([packet[0], packet[1], packet[2], packet[3]]);
    let tid = u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]);
    if tid != transaction {
        return Err(ScrapeError::Malformed(
            "answer to another transaction".into(),
        ));
    }
    if got == 3 {
        return Err(ScrapeError::Failure(
            String::from_utf8_lossy(&packet[8..]).into_owned(),
        ));
    }
    if got != action {
        return Err(ScrapeError::Malformed(format!(
            "action {got}, expected {action}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrape_urls_follow_bep_48() {
        assert_eq!(
            scrape_url("http://t.example/announce").unwrap(),
            "http://t.example/scrape"
        );
        assert_eq!(
            scrape_url("http://t.example/x/announce.php?k=1").unwrap(),
            "http://t.example/x/scrape.php?k=1"
        );
        assert!(scrape_url("http://t.example/a").is_err());
    }

    #[test]
    fn http_answers_in_any_key_order() {
        let a = InfoHash::from_bytes([0xbb; 20]);
        let b = InfoHash::from_bytes([0xaa; 20]);
        let mut body = b"d5:filesd20:".to_vec();
        body.extend_from_slice(a.as_bytes());
        body.extend_from_slice(b"d8:completei3e10:downloadedi7e10:incompletei1ee20:");
        body.extend_from_slice(b.as_bytes());
        body.extend_from_slice(b"d10:incompletei0e8:completei1eeee");
        let counts = parse_http(&body).unwrap();
        assert_eq!(
            counts[&a],
            SwarmCounts {
                seeders: 3,
                leechers: 1,
                completed: 7
            }
        );
        assert_eq!(
            counts[&b],
            SwarmCounts {
                seeders: 1,
                leechers: 0,
                completed: 0
            }
        );
        assert_eq!(
            parse_http(b"d14:failure reason6:deniede"),
            Err(ScrapeError::Failure("denied".into()))
        );
        assert!(parse_http(b"<html>").is_err());
        assert_eq!(
            http_query(&[InfoHash::from_bytes([0x0f; 20])]).len(),
            "info_hash=".len() + 60
        );
    }

    #[test]
    fn udp_packets() {
        let connect = udp_connect(7);
        assert_eq!(&connect[..8], &UDP_MAGIC.to_be_bytes());
        let mut answer = vec![0, 0, 0, 0, 0, 0, 0, 7];
        answer.extend_from_slice(&99u64.to_be_bytes());
        assert_eq!(udp_connected(&answer, 7), Ok(99));
        assert!(udp_connected(&answer, 8).is_err());
        let hashes: Vec<InfoHash> = (0..100).map(|n| InfoHash::from_bytes([n; 20])).collect();
        assert_eq!(udp_scrape(99, 1, &hashes).len(), 16 + UDP_BATCH * 20);
        let mut scraped = vec![0, 0, 0, 2, 0, 0, 0, 1];
        for n in 0..2u32 {
            for v in [n + 1, 5, 2] {
                scraped.extend_from_slice(&v.to_be_bytes());
            }
        }
        let counts = udp_scraped(&scraped, 1, &hashes[..2]).unwrap();
        assert_eq!(
            counts[&hashes[1]],
            SwarmCounts {
                seeders: 2,
                completed: 5,
                leechers: 2
            }
        );
        let error = [0, 0, 0, 3, 0, 0, 0, 1, b'n', b'o'];
        assert_eq!(
            udp_scraped(&error, 1, &hashes[..1]),
            Err(ScrapeError::Failure("no".into()))
        );
    }
}
