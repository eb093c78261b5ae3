//! Tracker scrape messages: BEP 48 over HTTP and BEP 15 over UDP, as pure
//! functions over bytes. The CLI sends them.
//!
//! A scrape asks a tracker how many seed, leech and have completed each
//! torrent. HTTP scrapes carry at most [`HTTP_BATCH`] infohashes per request
//! (opentracker's cap) and UDP scrapes at most [`UDP_BATCH`] per packet
//! (BEP 15). A full scrape asks for every torrent the tracker knows.

use std::collections::HashMap;

use crate::InfoHash;
use crate::bencode;

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

/// A forward-only reader of the bencode in a scrape answer: it keeps
/// nothing but the counts, so that a hostile answer of many megabytes
/// costs no more memory than the counts it names.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn malformed(&self, what: &str) -> ScrapeError {
        ScrapeError::Malformed(format!("{what} at byte {}", self.pos))
    }

    fn peek(&self) -> Result<u8, ScrapeError> {
        self.buf
            .get(self.pos)
            .copied()
            .ok_or_else(|| self.malformed("the answer ends early"))
    }

    /// Consumes `e` and returns true at the end of a list or dict.
    fn at_end(&mut self) -> Result<bool, ScrapeError> {
        let end = self.peek()? == b'e';
        self.pos += usize::from(end);
        Ok(end)
    }

    fn expect(&mut self, byte: u8) -> Result<(), ScrapeError> {
        if self.peek()? != byte {
            return Err(self.malformed(&format!("expected `{}`", byte as char)));
        }
        self.pos += 1;
        Ok(())
    }

    fn bytes(&mut self) -> Result<&'a [u8], ScrapeError> {
        let colon = self.buf[self.pos..]
            .iter()
            .take(21)
            .position(|b| *b == b':')
            .ok_or_else(|| self.malformed("expected a byte string"))?;
        let len: usize = std::str::from_utf8(&self.buf[self.pos..self.pos + colon])
            .ok()
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| self.malformed("expected a byte string length"))?;
        let start = self.pos + colon + 1;
        let end = start
            .checked_add(len)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| self.malformed("a byte string runs past the end"))?;
        self.pos = end;
        Ok(&self.buf[start..end])
    }

    fn int(&mut self) -> Result<i64, ScrapeError> {
        self.expect(b'i')?;
        let end = self.buf[self.pos..]
            .iter()
            .take(21)
            .position(|b| *b == b'e')
            .ok_or_else(|| self.malformed("expected an integer"))?;
        let value = std::str::from_utf8(&self.buf[self.pos..self.pos + end])
            .ok()
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| self.malformed("expected an integer"))?;
        self.pos += end + 1;
        Ok(value)
    }

    fn skip(&mut self, depth: usize) -> Result<(), ScrapeError> {
        if depth > bencode::MAX_DEPTH {
            return Err(self.malformed("values nest too deep"));
        }
        match self.peek()? {
            b'i' => self.int().map(drop),
            b'l' => {
                self.pos += 1;
                while !self.at_end()? {
                    self.skip(depth + 1)?;
                }
                Ok(())
            }
            b'd' => {
                self.pos += 1;
                while !self.at_end()? {
                    self.bytes()?;
                    self.skip(depth + 1)?;
                }
                Ok(())
            }
            _ => self.bytes().map(drop),
        }
    }

    /// One torrent's counts dict: `complete`, `incomplete`, `downloaded`.
    fn counts(&mut self) -> Result<SwarmCounts, ScrapeError> {
        let mut counts = SwarmCounts::default();
        self.expect(b'd')?;
        while !self.at_end()? {
            let key = self.bytes()?;
            let slot = match key {
                b"complete" => Some(&mut counts.seeders),
                b"incomplete" => Some(&mut counts.leechers),
                b"downloaded" => Some(&mut counts.completed),
                _ => None,
            };
            match slot {
                Some(slot) if self.peek()? == b'i' => {
                    *slot = u32::try_from(self.int()?).unwrap_or(0);
                }
                _ => self.skip(1)?,
            }
        }
        Ok(counts)
    }
}

/// Reads an HTTP scrape answer: `d5:filesd<20-byte hash>d8:completei…e…ee`.
/// Keys may come in any order; hashes the tracker does not know are absent,
/// and so are those it lists with no peer and no download (the same
/// thing), so that memory follows the torrents that count.
pub fn parse_http(body: &[u8]) -> Result<HashMap<InfoHash, SwarmCounts>, ScrapeError> {
    let mut cursor = Cursor { buf: body, pos: 0 };
    if cursor.peek()? != b'd' {
        return Err(ScrapeError::Malformed("not a dictionary".into()));
    }
    cursor.pos += 1;
    let mut out = HashMap::new();
    let mut files = false;
    while !cursor.at_end()? {
        match cursor.bytes()? {
            b"failure reason" if cursor.peek()? != b'd' => {
                let reason = cursor.bytes()?;
                return Err(ScrapeError::Failure(
                    String::from_utf8_lossy(reason).into_owned(),
                ));
            }
            b"files" if cursor.peek()? == b'd' => {
                files = true;
                cursor.pos += 1;
                while !cursor.at_end()? {
                    let key = cursor.bytes()?;
                    let hash = <[u8; 20]>::try_from(key);
                    match hash {
                        Ok(hash) if cursor.peek()? == b'd' => {
                            let counts = cursor.counts()?;
                            if counts != SwarmCounts::default() {
                                out.insert(InfoHash::from_bytes(hash), counts);
                            }
                        }
                        _ => cursor.skip(1)?,
                    }
                }
            }
            _ => cursor.skip(1)?,
        }
    }
    if !files {
        return Err(ScrapeError::Malformed("no `files` dictionary".into()));
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
pub(crate) fn udp_check(packet: &[u8], action: u32, transaction: u32) -> Result<(), ScrapeError> {
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
        // Listed with no peer and no download: the same as not listed.
        let mut idle = b"d5:filesd20:".to_vec();
        idle.extend_from_slice(a.as_bytes());
        idle.extend_from_slice(b"de20:");
        idle.extend_from_slice(b.as_bytes());
        idle.extend_from_slice(b"d8:completei0e5:extrali1eeeee");
        assert!(parse_http(&idle).unwrap().is_empty());
        // Unknown keys, a non-dict entry and a short key are skipped.
        assert!(
            parse_http(b"d8:intervali60e5:filesd3:abcd8:completei1eee5:flagsdee")
                .unwrap()
                .is_empty()
        );
        for bad in [
            &b"d5:filesd20:"[..],
            b"d5:filesd99999999999:x",
            b"d5:filesdee",
            b"de",
            b"",
            b"d5:files",
        ] {
            let parsed = parse_http(bad);
            assert!(
                bad == b"d5:filesdee" && parsed.as_ref().is_ok_and(HashMap::is_empty)
                    || parsed.is_err(),
                "{:?}: {parsed:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let mut deep = b"d5:filesde3:key".to_vec();
        deep.extend(std::iter::repeat_n(b'l', 10_000));
        assert!(parse_http(&deep).is_err(), "deep nesting is refused");
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
