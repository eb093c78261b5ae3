//! The .torrent file around a record: tracker URLs outside the info dict.

use crate::Record;
use crate::bencode::{self, Value, Writer};
use crate::verify::VerifyError;

/// Largest .torrent file accepted, in bytes; refused before decoding.
pub const MAX_TORRENT_LEN: usize = 64 * 1024;

/// A verified record with the tracker URLs its .torrent file named.
///
/// Tracker URLs sit outside the info dict: they are unsigned hints that do
/// not change the infohash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Torrent {
    /// The verified record.
    pub record: Record,
    /// Tracker URLs in order of preference, duplicates removed.
    pub trackers: Vec<String>,
}

impl Torrent {
    /// Parses and verifies .torrent bytes against the reader's clock `now`.
    ///
    /// Top-level keys other than `announce`, `announce-list` and `info` are
    /// ignored (clients add `created by`, `comment` and the like), and so
    /// are malformed tracker hints, but the whole file must be canonical
    /// bencode.
    pub fn parse(bytes: &[u8], now: u64) -> Result<Self, VerifyError> {
        let (trackers, info) = split(bytes)?;
        Ok(Self {
            record: Record::from_info(info, now)?,
            trackers,
        })
    }
}

/// The tracker URLs and the exact info-dict bytes of a .torrent file.
fn split(bytes: &[u8]) -> Result<(Vec<String>, &[u8]), VerifyError> {
    if bytes.len() > MAX_TORRENT_LEN {
        return Err(VerifyError::TooLarge {
            what: "torrent",
            len: bytes.len(),
            max: MAX_TORRENT_LEN,
        });
    }
    let Some(top) = bencode::decode_dict_keeping_raw(bytes, b"info")
        .map_err(VerifyError::bencode("torrent"))?
    else {
        let found = bencode::decode(bytes).map_err(VerifyError::bencode("torrent"))?;
        return Err(VerifyError::WrongType {
            key: "torrent".into(),
            expected: "dictionary",
            found: found.type_name(),
        });
    };
    // Tracker URLs are unsigned hints: a malformed one (not a byte
    // string, not UTF-8, a tier that is not a list) is skipped, and never
    // decides whether the record is valid.
    let mut trackers: Vec<String> = Vec::new();
    let mut add = |url: &Value<'_>| {
        if let Value::Bytes(url) = url
            && let Ok(url) = std::str::from_utf8(url)
            && !trackers.iter().any(|t| t == url)
        {
            trackers.push(url.to_owned());
        }
    };
    for (key, value) in &top.pairs {
        match (*key, value) {
            (b"announce", url) => add(url),
            (b"announce-list", Value::List(tiers)) => {
                for tier in tiers {
                    if let Value::List(urls) = tier {
                        urls.iter().for_each(&mut add);
                    }
                }
            }
            _ => {}
        }
    }
    let info = top.raw.ok_or(VerifyError::MissingInfo)?;
    if info.first() != Some(&b'd') {
        let found = bencode::decode(info).map_or("value", |v| v.type_name());
        return Err(VerifyError::WrongType {
            key: "info".into(),
            expected: "dictionary",
            found,
        });
    }
    Ok((trackers, info))
}

/// The exact info-dict bytes of a .torrent file.
pub(crate) fn info_of(bytes: &[u8]) -> Result<&[u8], VerifyError> {
    split(bytes).map(|(_, info)| info)
}

impl Record {
    /// The .torrent file: `announce` is the first tracker and `announce-list`
    /// puts each tracker in a tier of its own, in order. With no trackers the
    /// file holds the info dict alone.
    pub fn torrent_bytes<S: AsRef<str>>(&self, trackers: &[S]) -> Vec<u8> {
        wrap_info(self.info_bytes(), trackers)
    }
}

/// A .torrent file around `info`: `announce` is the first tracker and
/// `announce-list` puts each tracker in a tier of its own.
pub(crate) fn wrap_info<S: AsRef<str>>(info: &[u8], trackers: &[S]) -> Vec<u8> {
    let mut w = Writer::with_capacity(info.len() + 128);
    w.dict(|d| {
        if let Some(first) = trackers.first() {
            d.key(b"announce").bytes(first.as_ref().as_bytes());
            d.key(b"announce-list").list(|tiers| {
                for url in trackers {
                    tiers.list(|tier| tier.bytes(url.as_ref().as_bytes()));
                }
            });
        }
        d.key(b"info").raw(info);
    });
    w.into_bytes()
}

/// The `name` and `length` of a single-file torrent's info dict, whatever
/// else it holds: what any client knows of a torrent. `None` for a
/// multi-file torrent, or bytes that are not a torrent.
pub fn single_file(bytes: &[u8]) -> Option<(String, u64)> {
    let info = bencode::decode_lenient(info_of(bytes).ok()?).ok()?;
    let Value::Dict(pairs) = info else {
        return None;
    };
    let get = |key: &[u8]| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| v);
    match (get(b"name"), get(b"length")) {
        (Some(Value::Bytes(name)), Some(Value::Int(length))) => Some((
            String::from_utf8(name.to_vec()).ok()?,
            u64::try_from(*length).ok()?,
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PostDraft, SecretKey};

    #[test]
    fn malformed_tracker_hints_are_skipped_not_fatal() {
        let post = PostDraft::new("hints")
            .unwrap()
            .sign(&SecretKey::from_seed(&[2; 32]), 1_000)
            .unwrap();
        let info = post.info_bytes();
        for (head, trackers) in [
            (&b"d8:announcei5e"[..], vec![]),
            (
                b"d8:announce3:url13:announce-listl1:x1:yl3:urlee",
                vec!["url"],
            ),
            (b"d13:announce-listi7e", vec![]),
            (b"d8:announce2:\xff\xfe", vec![]),
        ] {
            let mut bytes = head.to_vec();
            bytes.extend_from_slice(b"4:info");
            bytes.extend_from_slice(info);
            bytes.push(b'e');
            let parsed = Torrent::parse(&bytes, 2_000).unwrap();
            assert_eq!(parsed.record.infohash(), post.infohash());
            assert_eq!(
                parsed.trackers,
                trackers,
                "{}",
                String::from_utf8_lossy(head)
            );
        }
    }
}
