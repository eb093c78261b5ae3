//! Asking a tracker who is in a swarm: the announce requests and answers
//! (BEP 3 over HTTP with BEP 23's compact peers and BEP 7's `peers6`, and
//! BEP 15 over UDP) that the seeding probe needs, and nothing else.
//!
//! A probe announces as a reader that has nothing yet (`left` is the whole
//! length) and at once says it stopped, so that it never counts as a
//! seeder. Addresses are read up to [`MAX_PEERS`]; the rest of a long
//! answer is ignored.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::InfoHash;
use crate::bencode::{self, Value};
use crate::scrape::ScrapeError;

/// Peers a probe asks a tracker for.
pub const NUM_WANT: u32 = 50;

/// The most peers read from one answer.
pub const MAX_PEERS: usize = 200;

/// What an announce says about the probe: starting, or stopping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The first announce, which asks for peers.
    Started,
    /// The announce that takes the probe off the tracker's list.
    Stopped,
    /// The announce that says a download finished: the tracker counts a
    /// seeder from then on.
    Completed,
}

/// One announce of the probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Announce {
    /// The torrent.
    pub infohash: InfoHash,
    /// The probe's peer id.
    pub peer_id: [u8; 20],
    /// The port the tracker lists; the probe never listens on it.
    pub port: u16,
    /// The torrent's length: all of it is left.
    pub left: u64,
    /// Started, stopped or completed.
    pub event: Event,
}

impl Announce {
    /// The query string to append to an HTTP announce URL.
    pub fn http_query(&self) -> String {
        let mut query = String::with_capacity(256);
        query.push_str("info_hash=");
        percent(&mut query, self.infohash.as_bytes());
        query.push_str("&peer_id=");
        percent(&mut query, &self.peer_id);
        let event = match self.event {
            Event::Started => "started",
            Event::Stopped => "stopped",
            Event::Completed => "completed",
        };
        query.push_str(&format!(
            "&port={}&uploaded=0&downloaded=0&left={}&compact=1&numwant={NUM_WANT}&event={event}",
            self.port, self.left
        ));
        query
    }

    /// A BEP 15 announce packet on `connection`.
    pub fn udp_packet(&self, connection: u64, transaction: u32, key: u32) -> [u8; 98] {
        let mut packet = [0u8; 98];
        packet[..8].copy_from_slice(&connection.to_be_bytes());
        packet[8..12].copy_from_slice(&1u32.to_be_bytes());
        packet[12..16].copy_from_slice(&transaction.to_be_bytes());
        packet[16..36].copy_from_slice(self.infohash.as_bytes());
        packet[36..56].copy_from_slice(&self.peer_id);
        // downloaded 56..64 = 0, left, uploaded 72..80 = 0
        packet[64..72].copy_from_slice(&self.left.to_be_bytes());
        let event: u32 = match self.event {
            Event::Completed => 1,
            Event::Started => 2,
            Event::Stopped => 3,
        };
        packet[80..84].copy_from_slice(&event.to_be_bytes());
        // IP 84..88 = 0: the sender's.
        packet[88..92].copy_from_slice(&key.to_be_bytes());
        packet[92..96].copy_from_slice(&(NUM_WANT as i32).to_be_bytes());
        packet[96..98].copy_from_slice(&self.port.to_be_bytes());
        packet
    }
}

fn percent(out: &mut String, bytes: &[u8]) {
    for byte in bytes {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(byte) {
            out.push(*byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
}

/// Reads an HTTP announce answer: the peers it lists, compact (`peers`
/// as a string, `peers6`) or as a list of dicts with `ip` and `port`.
pub fn parse_http(body: &[u8]) -> Result<Vec<SocketAddr>, ScrapeError> {
    let malformed = |what: String| ScrapeError::Malformed(what);
    let value = bencode::decode_lenient(body).map_err(|e| malformed(e.to_string()))?;
    let Value::Dict(fields) = value else {
        return Err(malformed(format!(
            "a {}, not a dictionary",
            value.type_name()
        )));
    };
    let mut peers = Vec::new();
    for (key, value) in &fields {
        match (*key, value) {
            (b"failure reason", Value::Bytes(reason)) => {
                return Err(ScrapeError::Failure(
                    String::from_utf8_lossy(reason).into_owned(),
                ));
            }
            (b"peers", Value::Bytes(compact)) => compact_v4(compact, &mut peers),
            (b"peers6", Value::Bytes(compact)) => compact_v6(compact, &mut peers),
            (b"peers", Value::List(list)) => {
                for peer in list {
                    if let Some(addr) = dict_peer(peer) {
                        peers.push(addr);
                    }
                }
            }
            _ => {}
        }
    }
    peers.truncate(MAX_PEERS);
    Ok(peers)
}

fn dict_peer(peer: &Value<'_>) -> Option<SocketAddr> {
    let Value::Dict(fields) = peer else {
        return None;
    };
    let mut ip = None;
    let mut port = None;
    for (key, value) in fields {
        match (*key, value) {
            (b"ip", Value::Bytes(text)) => {
                ip = std::str::from_utf8(text).ok()?.parse::<IpAddr>().ok();
            }
            (b"port", Value::Int(n)) => port = u16::try_from(*n).ok(),
            _ => {}
        }
    }
    Some(SocketAddr::new(ip?, port?))
}

fn compact_v4(bytes: &[u8], out: &mut Vec<SocketAddr>) {
    for chunk in bytes.chunks_exact(6).take(MAX_PEERS) {
        let ip = Ipv4Addr::new(chunk[0], chunk[1], chunk[2], chunk[3]);
        let port = u16::from_be_bytes([chunk[4], chunk[5]]);
        out.push(SocketAddr::new(IpAddr::V4(ip), port));
    }
}

fn compact_v6(bytes: &[u8], out: &mut Vec<SocketAddr>) {
    for chunk in bytes.chunks_exact(18).take(MAX_PEERS) {
        let mut ip = [0; 16];
        ip.copy_from_slice(&chunk[..16]);
        let port = u16::from_be_bytes([chunk[16], chunk[17]]);
        out.push(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), port));
    }
}

/// Reads a BEP 15 announce answer to `transaction`: its IPv4 peers.
pub fn parse_udp(packet: &[u8], transaction: u32) -> Result<Vec<SocketAddr>, ScrapeError> {
    crate::scrape::udp_check(packet, 1, transaction)?;
    if packet.len() < 20 {
        return Err(ScrapeError::Malformed(format!(
            "announce answer of {} bytes",
            packet.len()
        )));
    }
    let mut peers = Vec::new();
    compact_v4(&packet[20..], &mut peers);
    Ok(peers)
}

/// Whether a probe may dial `peer`, which a tracker at `tracker_host`
/// listed: never an address that no swarm can use, and a loopback or
/// private address only when the tracker is itself one, so that a tracker
/// on the internet cannot aim probes at the reader's own network.
pub fn may_probe(peer: SocketAddr, tracker_host: Option<IpAddr>) -> bool {
    let ip = peer.ip();
    if peer.port() == 0 || ip.is_unspecified() || ip.is_multicast() {
        return false;
    }
    if let IpAddr::V4(v4) = ip
        && v4.is_broadcast()
    {
        return false;
    }
    if local(ip) {
        return tracker_host.is_some_and(local);
    }
    true
}

fn local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local(),
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn announce(event: Event) -> Announce {
        Announce {
            infohash: InfoHash::from_bytes([0xab; 20]),
            peer_id: *b"-US0100-abcdefghijkl",
            port: 6881,
            left: 25,
            event,
        }
    }

    #[test]
    fn queries_name_the_probe_as_a_reader_with_nothing() {
        let q = announce(Event::Started).http_query();
        assert!(q.starts_with("info_hash=%AB%AB"), "{q}");
        assert!(
            q.contains("&peer_id=-US0100-abcdefghijkl&port=6881&"),
            "{q}"
        );
        assert!(
            q.contains("&left=25&compact=1&numwant=50&event=started"),
            "{q}"
        );
        assert!(
            announce(Event::Stopped)
                .http_query()
                .ends_with("event=stopped")
        );
        let packet = announce(Event::Stopped).udp_packet(7, 9, 11);
        assert_eq!(packet[..8], 7u64.to_be_bytes());
        assert_eq!(packet[8..12], 1u32.to_be_bytes());
        assert_eq!(packet[64..72], 25u64.to_be_bytes());
        assert_eq!(packet[80..84], 3u32.to_be_bytes());
        assert_eq!(packet[96..], 6881u16.to_be_bytes());
        // BEP 3's and BEP 15's names for a finished download.
        assert!(
            announce(Event::Completed)
                .http_query()
                .ends_with("event=completed")
        );
        let packet = announce(Event::Completed).udp_packet(7, 9, 11);
        assert_eq!(packet[80..84], 1u32.to_be_bytes());
    }

    #[test]
    fn answers_give_their_peers() {
        let mut body = b"d8:completei1e8:intervali60e5:peers12:".to_vec();
        body.extend_from_slice(&[127, 0, 0, 1, 0x1a, 0xe1, 10, 0, 0, 2, 0, 80]);
        body.extend_from_slice(b"6:peers618:");
        body.extend_from_slice(&[0; 15]);
        body.extend_from_slice(&[1, 0x1a, 0xe2]);
        body.push(b'e');
        let peers = parse_http(&body).unwrap();
        assert_eq!(
            peers,
            [
                "127.0.0.1:6881".parse().unwrap(),
                "10.0.0.2:80".parse().unwrap(),
                "[::1]:6882".parse().unwrap()
            ]
        );
        let listed =
            parse_http(b"d5:peersld2:ip9:127.0.0.14:porti7000eed2:ip3:bad4:porti1eeee").unwrap();
        assert_eq!(listed, ["127.0.0.1:7000".parse().unwrap()]);
        assert_eq!(
            parse_http(b"d14:failure reason4:nopee"),
            Err(ScrapeError::Failure("nope".into()))
        );
        assert!(parse_http(b"i3e").is_err());
        assert!(parse_http(b"d5:peers").is_err());

        let mut packet = vec![0, 0, 0, 1, 0, 0, 0, 9];
        packet.extend_from_slice(&[0; 12]);
        packet.extend_from_slice(&[127, 0, 0, 1, 0x1a, 0xe1, 1]);
        assert_eq!(
            parse_udp(&packet, 9).unwrap(),
            ["127.0.0.1:6881".parse().unwrap()]
        );
        assert!(parse_udp(&packet, 8).is_err());
        assert!(parse_udp(&[0, 0, 0, 3, 0, 0, 0, 9, b'n', b'o'], 9).is_err());
    }

    #[test]
    fn a_long_answer_is_read_up_to_the_cap() {
        let mut body = format!("d5:peers{}:", 6 * 1000).into_bytes();
        body.extend(std::iter::repeat_n([1, 2, 3, 4, 0, 80], 1000).flatten());
        body.push(b'e');
        assert_eq!(parse_http(&body).unwrap().len(), MAX_PEERS);
    }

    #[test]
    fn probes_stay_in_the_trackers_reach() {
        let local = Some("127.0.0.1".parse().unwrap());
        let public = Some("93.184.216.34".parse().unwrap());
        let peer = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert!(may_probe(peer("127.0.0.1:6881"), local));
        assert!(!may_probe(peer("127.0.0.1:6881"), public));
        assert!(!may_probe(peer("192.168.1.1:6881"), public));
        assert!(!may_probe(peer("[::1]:6881"), None));
        assert!(may_probe(peer("93.184.216.35:6881"), public));
        assert!(may_probe(peer("93.184.216.35:6881"), local));
        assert!(!may_probe(peer("93.184.216.35:0"), public));
        assert!(!may_probe(peer("0.0.0.0:6881"), public));
        assert!(!may_probe(peer("224.0.0.1:6881"), public));
        assert!(!may_probe(peer("255.255.255.255:6881"), public));
    }
}
