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
    /// ignored (clients add `created by`, `comment` and the like), but the
    /// whole file must be canonical bencode.
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
    let mut trackers = Vec::new();
    let mut add = |url: &[u8], key: &str| -> Result<(), VerifyError> {
        let url = std::str::from_utf8(url).map_err(|_| VerifyError::WrongType {
            key: key.into(),
            expected: "UTF-8 URL",
            found: "non-UTF-8 byte string",
        })?;
        if !trackers.iter().any(|t| t == url) {
            trackers.push(url.to_owned());
        }
        Ok(())
    };
    for (key, value) in &top.pairs {
        match (*key, value) {
            (b"announce", Value::Bytes(url)) => add(url, "announce")?,
            (b"announce-list", Value::List(tiers)) => {
                for tier in tiers {
                    let Value::List(urls) = tier else {
                        return Err(wrong_tracker_type(tier));
                    };
                    for url in urls {
                        let Value::Bytes(url) = url else {
                            return Err(wrong_tracker_type(url));
                        };
                        add(url, "announce-list")?;
                    }
                }
            }
            (b"announce" | b"announce-list", other) => {
                return Err(VerifyError::WrongType {
                    key: String::from_utf8_lossy(key).into_owned(),
                    expected: if *key == b"announce" {
                        "byte string"
                    } else {
                        "list"
                    },
                    found: other.type_name(),
                });
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

fn wrong_tracker_type(found: &Value<'_>) -> VerifyError {
    VerifyError::WrongType {
        key: "announce-list".into(),
        expected: "list of lists of URLs",
        found: found.type_name(),
    }
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
