//! Magnet links (BEP 9) for sharing a record: `xt`, `dn` and `tr`.

use std::fmt;
use std::str::FromStr;

use data_encoding::BASE32;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use crate::{InfoHash, Record};

/// Characters escaped in `dn` and `tr` values: everything but the RFC 3986
/// unreserved set.
const ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A magnet link that names a v1 infohash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Magnet {
    /// The infohash from `xt=urn:btih:`.
    pub infohash: InfoHash,
    /// The display name from `dn`, if any.
    pub name: Option<String>,
    /// Tracker URLs from `tr`, in order.
    pub trackers: Vec<String>,
}

/// A string that is not a usable magnet link.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MagnetError {
    /// Does not start with `magnet:?`.
    #[error("`{0}` is not a magnet link; it must start with `magnet:?`")]
    NotAMagnet(String),
    /// No `xt=urn:btih:` parameter.
    #[error("the magnet link has no `xt=urn:btih:` parameter; upseed needs a v1 infohash")]
    NoInfoHash,
    /// A `btih` that is neither 40 hex nor 32 base32 characters.
    #[error("`{0}` is not a v1 infohash: expected 40 hex or 32 base32 characters")]
    BadInfoHash(String),
    /// A value whose percent-escapes do not decode to UTF-8.
    #[error("the magnet parameter `{0}` is not valid percent-encoded UTF-8")]
    BadEscape(String),
}

impl Magnet {
    /// A magnet for `record` that tells clients where to find peers.
    pub fn for_record<S: AsRef<str>>(record: &Record, trackers: &[S]) -> Self {
        Self {
            infohash: record.infohash(),
            name: Some(record.name().to_owned()),
            trackers: trackers.iter().map(|t| t.as_ref().to_owned()).collect(),
        }
    }
}

impl fmt::Display for Magnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "magnet:?xt=urn:btih:{}", self.infohash)?;
        if let Some(name) = &self.name {
            write!(f, "&dn={}", utf8_percent_encode(name, ESCAPE))?;
        }
        for tracker in &self.trackers {
            write!(f, "&tr={}", utf8_percent_encode(tracker, ESCAPE))?;
        }
        Ok(())
    }
}

fn decode(key: &str, value: &str) -> Result<String, MagnetError> {
    // In a query string `+` stands for a space.
    percent_decode_str(&value.replace('+', " "))
        .decode_utf8()
        .map(|v| v.into_owned())
        .map_err(|_| MagnetError::BadEscape(key.to_owned()))
}

fn parse_btih(text: &str) -> Result<InfoHash, MagnetError> {
    let bad = || MagnetError::BadInfoHash(text.chars().take(64).collect());
    match text.len() {
        40 => text.parse().map_err(|_| bad()),
        32 => {
            let bytes = BASE32
                .decode(text.to_ascii_uppercase().as_bytes())
                .map_err(|_| bad())?;
            Ok(InfoHash::from_bytes(bytes.try_into().map_err(|_| bad())?))
        }
        _ => Err(bad()),
    }
}

impl FromStr for Magnet {
    type Err = MagnetError;

    /// Parses a magnet link. Unknown parameters (such as a v2 `urn:btmh:`)
    /// are ignored; the first `urn:btih:` wins.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let Some(query) = text.strip_prefix("magnet:?") else {
            return Err(MagnetError::NotAMagnet(text.chars().take(80).collect()));
        };
        let mut infohash = None;
        let mut name = None;
        let mut trackers = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "xt" if infohash.is_none() => {
                    if let Some(hash) = decode(key, value)?.strip_prefix("urn:btih:") {
                        infohash = Some(parse_btih(hash)?);
                    }
                }
                "dn" => name = Some(decode(key, value)?),
                "tr" => trackers.push(decode(key, value)?),
                _ => {}
            }
        }
        Ok(Self {
            infohash: infohash.ok_or(MagnetError::NoInfoHash)?,
            name,
            trackers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_escapes() {
        let magnet = Magnet {
            infohash: InfoHash::of_info(b"x"),
            name: Some("a b&c.txt".into()),
            trackers: vec![
                "http://127.0.0.1:6969/announce?x=1&y=2".into(),
                "udp://t.example:80".into(),
            ],
        };
        let text = magnet.to_string();
        assert!(text.contains("dn=a%20b%26c.txt"), "{text}");
        assert_eq!(text.parse::<Magnet>(), Ok(magnet));
    }

    #[test]
    fn accepts_base32_and_other_params() {
        let hash = InfoHash::of_info(b"x");
        let b32 = BASE32.encode(hash.as_bytes());
        let magnet: Magnet = format!("magnet:?xt=urn:btmh:1220abcd&xt=urn:btih:{b32}&xl=5&dn=a+b")
            .parse()
            .unwrap();
        assert_eq!(magnet.infohash, hash);
        assert_eq!(magnet.name.as_deref(), Some("a b"));
    }

    #[test]
    fn errors() {
        assert!(matches!(
            "http://x".parse::<Magnet>(),
            Err(MagnetError::NotAMagnet(_))
        ));
        assert_eq!(
            "magnet:?dn=x".parse::<Magnet>(),
            Err(MagnetError::NoInfoHash)
        );
        assert!(matches!(
            "magnet:?xt=urn:btih:1234".parse::<Magnet>(),
            Err(MagnetError::BadInfoHash(_))
        ));
        assert!(matches!(
            format!("magnet:?xt=urn:btih:{}&dn=%ff", InfoHash::of_info(b"x")).parse::<Magnet>(),
            Err(MagnetError::BadEscape(_))
        ));
    }
}
