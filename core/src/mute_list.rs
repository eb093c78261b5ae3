//! Published mute lists: a user's mutes, signed, so that others can
//! subscribe to them (PROTOCOL.md §20).
//!
//! A list is one signed dict: its author, when it was made, and its
//! entries (authors, threads, communities, words), each with an optional
//! expiry. A newer list replaces an older one whole, so an entry left out
//! is a removal. A short list is the value of a BEP 44 item under its
//! author's key; a long one is a small torrent, which the item names.

use sha2::{Digest, Sha256};

use crate::bencode::{self, Value, Writer};
use crate::mute::{MuteKind, MuteTarget};
use crate::record::{PIECE_LENGTH, piece_count, pieces_of};
use crate::{Community, InfoHash, MAX_FUTURE_SKEW, PublicKey, SecretKey, VerifyError};

/// Prefix of every signed mute list message.
pub const MUTE_LIST_SIGNING_DOMAIN: &[u8] = b"upseed/mutes/v1\0";

/// The format version this crate writes and reads.
pub const MUTE_LIST_VERSION: i64 = 1;

/// The salt of a user's mute list item, under their own key.
pub const MUTE_LIST_SALT: &[u8] = b"upseed/mutes/1";

/// The largest encoded list a reader accepts: 1 MiB.
pub const MAX_MUTE_LIST_LEN: usize = 1 << 20;

/// The most entries a list may hold.
pub const MAX_MUTE_LIST_ENTRIES: usize = 20_000;

use crate::item::MAX_ITEM_VALUE;

/// Why a mute list or its item was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MuteListError {
    /// The bytes are not a mute list.
    #[error("not a mute list: {0}")]
    Malformed(String),
    /// A version this crate does not know.
    #[error("mute list version {0} is unknown; a newer upseed may read it")]
    Version(i64),
    /// Over a size cap.
    #[error(
        "the mute list holds {found} {what}, over the limit of {max}; a reader refuses it whole (its author should shorten it)"
    )]
    TooLarge {
        /// Bytes or entries.
        what: &'static str,
        /// How many it has.
        found: usize,
        /// The cap.
        max: usize,
    },
    /// An entry of a known tag whose value is not valid.
    #[error("entry {index} of the mute list is malformed: {reason}")]
    BadEntry {
        /// Its position.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// The signature does not verify.
    #[error("the mute list is not signed by {0}; it was forged or altered")]
    Signature(String),
    /// Made in the future.
    #[error(
        "the mute list was made at {created}, after the reader's clock ({now}); check the clock"
    )]
    FromTheFuture {
        /// Its `created`.
        created: u64,
        /// The reader's clock.
        now: u64,
    },
    /// The list torrent does not match its body.
    #[error("the mute list torrent does not match its body: {0}")]
    Torrent(String),
}

/// One entry of a list: what it mutes and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    /// What it mutes.
    pub target: MuteTarget,
    /// When it stops, unix seconds; `None` for never.
    pub until: Option<u64>,
}

impl ListEntry {
    fn tag(&self) -> &'static [u8] {
        match self.target.kind() {
            MuteKind::Author => b"a",
            MuteKind::Community => b"c",
            MuteKind::Thread => b"t",
            MuteKind::Word => b"w",
        }
    }

    fn value_bytes(&self) -> Vec<u8> {
        match &self.target {
            MuteTarget::Author(key) => key.as_bytes().to_vec(),
            MuteTarget::Thread(hash) => hash.as_bytes().to_vec(),
            MuteTarget::Community(c) => c.as_str().as_bytes().to_vec(),
            MuteTarget::Word(phrase) => phrase.as_bytes().to_vec(),
        }
    }

    /// Reads the entry `[tag, value]` or `[tag, value, until]`; `None` for
    /// an unknown tag, which readers keep (it is signed) and ignore.
    fn decode(index: usize, value: &Value<'_>) -> Result<Option<Self>, MuteListError> {
        let bad = |reason: String| MuteListError::BadEntry { index, reason };
        let Value::List(parts) = value else {
            return Err(bad(format!("a {}, not a list", value.type_name())));
        };
        let (tag, bytes, until) = match parts.as_slice() {
            [Value::Bytes(tag), Value::Bytes(bytes)] => (*tag, *bytes, None),
            [Value::Bytes(tag), Value::Bytes(bytes), Value::Int(until)] => {
                let until = u64::try_from(*until)
                    .ok()
                    .filter(|u| *u > 0)
                    .ok_or_else(|| bad(format!("the expiry {until} is not positive")))?;
                (*tag, *bytes, Some(until))
            }
            _ => {
                return Err(bad(
                    "not a tag and a value, with an optional expiry".to_owned()
                ));
            }
        };
        let text =
            || std::str::from_utf8(bytes).map_err(|_| bad("its value is not UTF-8".to_owned()));
        let target = match tag {
            b"a" => {
                let key = <[u8; 32]>::try_from(bytes)
                    .map_err(|_| bad(format!("a key of {} bytes, not 32", bytes.len())))?;
                MuteTarget::Author(PublicKey::from_bytes(&key).map_err(|e| bad(e.to_string()))?)
            }
            b"t" => MuteTarget::Thread(InfoHash::from_bytes(
                <[u8; 20]>::try_from(bytes)
                    .map_err(|_| bad(format!("an infohash of {} bytes, not 20", bytes.len())))?,
            )),
            b"c" => {
                let name = text()?;
                let community = Community::normalize(name).map_err(|e| bad(e.to_string()))?;
                if community.as_str() != name {
                    return Err(bad(format!("the community {name:?} is not in lowercase")));
                }
                MuteTarget::Community(community)
            }
            b"w" => {
                let phrase = text()?;
                let target = MuteTarget::word(phrase).map_err(|e| bad(e.to_string()))?;
                if target.value() != phrase {
                    return Err(bad(format!(
                        "the phrase {phrase:?} is not lowercase words joined by single spaces"
                    )));
                }
                target
            }
            _ => return Ok(None),
        };
        Ok(Some(Self { target, until }))
    }
}

/// A verified, signed mute list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MuteList {
    author: PublicKey,
    created: u64,
    entries: Vec<ListEntry>,
    unknown: usize,
    encoded: Vec<u8>,
}

impl MuteList {
    /// `key`'s list of `entries` as of `created`. Entries are sorted and
    /// duplicates dropped (the later expiry kept).
    pub fn sign(
        key: &SecretKey,
        created: u64,
        entries: impl IntoIterator<Item = ListEntry>,
    ) -> Result<Self, MuteListError> {
        let mut entries: Vec<ListEntry> = entries.into_iter().collect();
        entries.sort_by(|a, b| {
            (a.tag(), a.value_bytes())
                .cmp(&(b.tag(), b.value_bytes()))
                .then_with(|| {
                    b.until
                        .map_or(u64::MAX, |u| u)
                        .cmp(&a.until.map_or(u64::MAX, |u| u))
                })
        });
        entries.dedup_by(|later, first| first.target == later.target);
        if entries.len() > MAX_MUTE_LIST_ENTRIES {
            return Err(MuteListError::TooLarge {
                what: "entries",
                found: entries.len(),
                max: MAX_MUTE_LIST_ENTRIES,
            });
        }
        let created = created.min(i64::MAX as u64);
        let author = key.public_key();
        let raw = encode_entries(&entries);
        let signature = key.sign(&signed_message(&author, created, &raw));
        let encoded = encode(&author, created, &raw, Some(&signature));
        if encoded.len() > MAX_MUTE_LIST_LEN {
            return Err(MuteListError::TooLarge {
                what: "bytes",
                found: encoded.len(),
                max: MAX_MUTE_LIST_LEN,
            });
        }
        Ok(Self {
            author,
            created,
            entries,
            unknown: 0,
            encoded,
        })
    }

    /// Reads and verifies an encoded list against the reader's clock `now`:
    /// canonical bencode, exactly the keys of §20, entries in order with
    /// valid values, under the caps, and its author's signature. Entries of
    /// unknown tags are kept in the signed bytes and otherwise ignored.
    pub fn decode(bytes: &[u8], now: u64) -> Result<Self, MuteListError> {
        let malformed = |reason: String| MuteListError::Malformed(reason);
        if bytes.len() > MAX_MUTE_LIST_LEN {
            return Err(MuteListError::TooLarge {
                what: "bytes",
                found: bytes.len(),
                max: MAX_MUTE_LIST_LEN,
            });
        }
        let dict = bencode::decode_dict_keeping_raw(bytes, b"entries")
            .map_err(|e| malformed(e.to_string()))?
            .ok_or_else(|| malformed("it is not a dictionary".to_owned()))?;
        let (mut author, mut created, mut sig, mut version) = (None, None, None, None);
        for (key, value) in &dict.pairs {
            let name = String::from_utf8_lossy(key);
            match (*key, value) {
                (b"author", Value::Bytes(b)) => author = Some(*b),
                (b"created", Value::Int(n)) => created = Some(*n),
                (b"sig", Value::Bytes(b)) => sig = Some(*b),
                (b"version", Value::Int(n)) => version = Some(*n),
                (b"author" | b"created" | b"sig" | b"version", other) => {
                    return Err(malformed(format!("`{name}` is a {}", other.type_name())));
                }
                _ => return Err(malformed(format!("unknown key `{name}`"))),
            }
        }
        let missing = |key: &str| malformed(format!("`{key}` is missing"));
        let version = version.ok_or_else(|| missing("version"))?;
        if version != MUTE_LIST_VERSION {
            return Err(MuteListError::Version(version));
        }
        let author = author.ok_or_else(|| missing("author"))?;
        let author = <[u8; 32]>::try_from(author)
            .map_err(|_| malformed(format!("`author` is {} bytes, not 32", author.len())))
            .and_then(|b| PublicKey::from_bytes(&b).map_err(|e| malformed(e.to_string())))?;
        let created = created.ok_or_else(|| missing("created"))?;
        let created = u64::try_from(created)
            .map_err(|_| malformed(format!("`created` {created} is negative")))?;
        if created > now.saturating_add(MAX_FUTURE_SKEW) {
            return Err(MuteListError::FromTheFuture { created, now });
        }
        let sig = sig.ok_or_else(|| missing("sig"))?;
        let sig = <[u8; 64]>::try_from(sig)
            .map_err(|_| malformed(format!("`sig` is {} bytes, not 64", sig.len())))?;
        let raw = dict.raw.ok_or_else(|| missing("entries"))?;
        let Value::List(items) = bencode::decode(raw).map_err(|e| malformed(e.to_string()))? else {
            return Err(malformed("`entries` is not a list".to_owned()));
        };
        if items.len() > MAX_MUTE_LIST_ENTRIES {
            return Err(MuteListError::TooLarge {
                what: "entries",
                found: items.len(),
                max: MAX_MUTE_LIST_ENTRIES,
            });
        }
        if !author.verify_strict(&signed_message(&author, created, raw), &sig) {
            return Err(MuteListError::Signature(author.to_z32()));
        }
        let mut entries = Vec::with_capacity(items.len());
        let mut unknown = 0;
        let mut previous: Option<(&[u8], &[u8])> = None;
        for (index, item) in items.iter().enumerate() {
            if let Value::List(parts) = item
                && let [Value::Bytes(tag), Value::Bytes(value), ..] = parts.as_slice()
            {
                if previous.is_some_and(|p| p >= (*tag, *value)) {
                    return Err(MuteListError::BadEntry {
                        index,
                        reason: "entries are not in ascending order of tag and value, or repeat"
                            .to_owned(),
                    });
                }
                previous = Some((*tag, *value));
            }
            match ListEntry::decode(index, item)? {
                Some(entry) => entries.push(entry),
                None => unknown += 1,
            }
        }
        Ok(Self {
            author,
            created,
            entries,
            unknown,
            encoded: bytes.to_vec(),
        })
    }

    /// The message its author signed: the domain, then the dict without
    /// `sig`.
    pub fn signed_message(&self) -> Vec<u8> {
        let raw = bencode::decode_dict_keeping_raw(&self.encoded, b"entries")
            .ok()
            .flatten()
            .and_then(|d| d.raw)
            .unwrap_or(b"le");
        signed_message(&self.author, self.created, raw)
    }

    /// Who signed it.
    pub fn author(&self) -> PublicKey {
        self.author
    }

    /// When it was made, unix seconds: a newer list replaces an older one.
    pub fn created(&self) -> u64 {
        self.created
    }

    /// Its entries, expired ones included, sorted.
    pub fn entries(&self) -> &[ListEntry] {
        &self.entries
    }

    /// The entries still in force at `now`.
    pub fn live(&self, now: u64) -> impl Iterator<Item = &ListEntry> {
        self.entries
            .iter()
            .filter(move |e| e.until.is_none_or(|u| now < u))
    }

    /// How many entries had a tag this version does not know.
    pub fn unknown(&self) -> usize {
        self.unknown
    }

    /// Its canonical encoded form, signature included.
    pub fn encoded(&self) -> &[u8] {
        &self.encoded
    }

    /// The value of its author's item: the list itself when it fits, else
    /// a pointer to its torrent.
    pub fn item(&self) -> ListItem {
        let inline = ListItem::Inline(self.encoded.clone());
        if inline.encode().len() <= MAX_ITEM_VALUE {
            inline
        } else {
            ListItem::Torrent {
                created: self.created,
                infohash: self.infohash(),
            }
        }
    }

    /// The name of its torrent's file.
    pub fn file_name(&self) -> String {
        format!(
            "upseed-mutes-{}.bin",
            hex::encode(&Sha256::digest(&self.encoded)[..16])
        )
    }

    /// The info dict of its torrent: the encoded list is the body.
    pub fn info_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(256 + self.encoded.len() / 800);
        let length = self.encoded.len() as i64;
        w.dict(|d| {
            d.key(b"length").int(length);
            d.key(b"name").bytes(self.file_name().as_bytes());
            d.key(b"piece length").int(PIECE_LENGTH);
            d.key(b"pieces").bytes(&pieces_of(&self.encoded));
        });
        debug_assert_eq!(piece_count(length), pieces_of(&self.encoded).len() / 20);
        w.into_bytes()
    }

    /// Its torrent's infohash.
    pub fn infohash(&self) -> InfoHash {
        InfoHash::of_info(&self.info_bytes())
    }

    /// Its .torrent file, with `trackers` as for records.
    pub fn torrent_bytes<S: AsRef<str>>(&self, trackers: &[S]) -> Vec<u8> {
        crate::torrent::wrap_info(&self.info_bytes(), trackers)
    }

    /// Verifies a fetched list torrent: the .torrent (or bare info dict)
    /// bytes must be the info dict rebuilt from the body, which must be a
    /// valid list.
    pub fn verify_torrent(torrent: &[u8], body: &[u8], now: u64) -> Result<Self, MuteListError> {
        let info = crate::torrent::info_of(torrent)
            .map_err(|e: VerifyError| MuteListError::Torrent(e.to_string()))?;
        let list = Self::decode(body, now)?;
        if list.info_bytes() != info {
            return Err(MuteListError::Torrent(
                "its info dict is not the one built from the list".to_owned(),
            ));
        }
        Ok(list)
    }
}

/// The value of a user's mute list item, and of their outbox index's `m`
/// entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListItem {
    /// The encoded list itself.
    Inline(Vec<u8>),
    /// The list's torrent, for a list too long for an item.
    Torrent {
        /// The list's `created`, so that a reader can skip an old one
        /// without fetching it.
        created: u64,
        /// The infohash of the list's torrent.
        infohash: InfoHash,
    },
}

impl ListItem {
    /// Its canonical bencoded form: `d1:l<list>e` or
    /// `d1:ci<created>e1:t20:<infohash>e`.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(64);
        w.dict(|d| match self {
            Self::Inline(list) => {
                d.key(b"l").bytes(list);
            }
            Self::Torrent { created, infohash } => {
                d.key(b"c").int(*created as i64);
                d.key(b"t").bytes(infohash.as_bytes());
            }
        });
        w.into_bytes()
    }

    /// Reads an item value; the inline list is checked by
    /// [`MuteList::decode`].
    pub fn decode(bytes: &[u8]) -> Result<Self, MuteListError> {
        let malformed = |reason: &str| MuteListError::Malformed(format!("its item {reason}"));
        let Ok(Value::Dict(pairs)) = bencode::decode(bytes) else {
            return Err(malformed("is not a canonical bencoded dictionary"));
        };
        match pairs.as_slice() {
            [(b"l", Value::Bytes(list))] => Ok(Self::Inline(list.to_vec())),
            [(b"c", Value::Int(created)), (b"t", Value::Bytes(hash))] => Ok(Self::Torrent {
                created: u64::try_from(*created).map_err(|_| malformed("has a negative `c`"))?,
                infohash: <[u8; 20]>::try_from(*hash)
                    .map(InfoHash::from_bytes)
                    .map_err(|_| malformed("has a `t` that is not 20 bytes"))?,
            }),
            _ => Err(malformed("holds neither `l` nor `c` and `t`")),
        }
    }

    /// The `created` of the list it holds or names, if it can be read.
    pub fn created(&self, now: u64) -> Option<u64> {
        match self {
            Self::Inline(list) => MuteList::decode(list, now).ok().map(|l| l.created()),
            Self::Torrent { created, .. } => Some(*created),
        }
    }
}

fn encode_entries(entries: &[ListEntry]) -> Vec<u8> {
    let mut w = Writer::with_capacity(entries.len() * 48 + 2);
    w.list(|l| {
        for entry in entries {
            l.list(|e| {
                e.bytes(entry.tag());
                e.bytes(&entry.value_bytes());
                if let Some(until) = entry.until {
                    e.int(until.min(i64::MAX as u64) as i64);
                }
            });
        }
    });
    w.into_bytes()
}

fn write_dict(
    w: &mut Writer,
    author: &PublicKey,
    created: u64,
    raw: &[u8],
    sig: Option<&[u8; 64]>,
) {
    w.dict(|d| {
        d.key(b"author").bytes(author.as_bytes());
        d.key(b"created").int(created as i64);
        d.key(b"entries").raw(raw);
        if let Some(sig) = sig {
            d.key(b"sig").bytes(sig);
        }
        d.key(b"version").int(MUTE_LIST_VERSION);
    });
}

/// The domain, then the dict without `sig`.
fn signed_message(author: &PublicKey, created: u64, raw: &[u8]) -> Vec<u8> {
    let mut w = Writer::with_capacity(raw.len() + 128);
    w.raw(MUTE_LIST_SIGNING_DOMAIN);
    write_dict(&mut w, author, created, raw, None);
    w.into_bytes()
}

fn encode(author: &PublicKey, created: u64, raw: &[u8], sig: Option<&[u8; 64]>) -> Vec<u8> {
    let mut w = Writer::with_capacity(raw.len() + 192);
    write_dict(&mut w, author, created, raw, sig);
    w.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_763_683_200;

    fn key(seed: u8) -> SecretKey {
        SecretKey::from_seed(&[seed; 32])
    }

    fn entry(kind: MuteKind, value: &str, until: Option<u64>) -> ListEntry {
        ListEntry {
            target: MuteTarget::parse(kind, value).expect("target"),
            until,
        }
    }

    fn sample() -> Vec<ListEntry> {
        vec![
            entry(MuteKind::Word, "Spoilers", None),
            entry(MuteKind::Author, &key(2).public_key().to_z32(), None),
            entry(MuteKind::Community, "Crypto", Some(NOW + 60)),
            entry(MuteKind::Thread, &"ab".repeat(20), None),
            entry(MuteKind::Word, "spoilers", Some(NOW + 5)),
        ]
    }

    #[test]
    fn a_signed_list_round_trips_sorted_and_without_repeats() {
        let list = MuteList::sign(&key(1), NOW, sample()).expect("sign");
        assert_eq!(list.entries().len(), 4);
        let tags: Vec<_> = list.entries().iter().map(ListEntry::tag).collect();
        assert_eq!(tags, [b"a", b"c", b"t", b"w"]);
        // The repeat that never expires is the one kept.
        assert_eq!(list.entries()[3].until, None);
        let back = MuteList::decode(list.encoded(), NOW).expect("decode");
        assert_eq!(back, list);
        assert_eq!(back.live(NOW + 60).count(), 3);
        assert!(matches!(list.item(), ListItem::Inline(_)));
        assert_eq!(
            ListItem::decode(&list.item().encode()).expect("item"),
            list.item()
        );
    }

    #[test]
    fn forged_or_altered_lists_are_refused() {
        let list = MuteList::sign(&key(1), NOW, sample()).expect("sign");
        let mut altered = list.encoded().to_vec();
        let at = altered
            .windows(8)
            .position(|w| w == b"spoilers")
            .expect("word");
        altered[at] = b'x';
        assert!(matches!(
            MuteList::decode(&altered, NOW),
            Err(MuteListError::Signature(_))
        ));
        assert!(matches!(
            MuteList::decode(list.encoded(), list.created() - MAX_FUTURE_SKEW - 1),
            Err(MuteListError::FromTheFuture { .. })
        ));
        assert!(matches!(
            MuteList::decode(b"d1:xi1ee", NOW),
            Err(MuteListError::Malformed(_))
        ));
    }

    #[test]
    fn malformed_entries_and_disorder_are_refused_and_unknown_tags_ignored() {
        let author = key(1).public_key();
        let signed = |raw: &[u8]| {
            let sig = key(1).sign(&signed_message(&author, NOW, raw));
            encode(&author, NOW, raw, Some(&sig))
        };
        let bad_key = signed(b"ll1:a3:abcee");
        assert!(matches!(
            MuteList::decode(&bad_key, NOW),
            Err(MuteListError::BadEntry { index: 0, .. })
        ));
        let upper = signed(b"ll1:w4:Wordee");
        assert!(matches!(
            MuteList::decode(&upper, NOW),
            Err(MuteListError::BadEntry { .. })
        ));
        let disorder = signed(b"ll1:w1:bel1:w1:aee");
        assert!(matches!(
            MuteList::decode(&disorder, NOW),
            Err(MuteListError::BadEntry { index: 1, .. })
        ));
        let unknown = signed(b"ll1:w4:wordel1:z3:newee");
        let list = MuteList::decode(&unknown, NOW).expect("unknown tag kept");
        assert_eq!((list.entries().len(), list.unknown()), (1, 1));
    }

    #[test]
    fn long_lists_go_in_a_torrent_that_verifies_against_its_body() {
        let entries = (0..200u8).map(|i| ListEntry {
            target: MuteTarget::Author(key(i.wrapping_add(3)).public_key()),
            until: None,
        });
        let list = MuteList::sign(&key(1), NOW, entries).expect("sign");
        let ListItem::Torrent { created, infohash } = list.item() else {
            panic!("a long list is not inline");
        };
        assert_eq!((created, infohash), (NOW, list.infohash()));
        let torrent = list.torrent_bytes(&["http://127.0.0.1:1/announce"]);
        let back = MuteList::verify_torrent(&torrent, list.encoded(), NOW).expect("verify");
        assert_eq!(back, list);
        let other = MuteList::sign(&key(1), NOW + 1, []).expect("sign");
        assert!(matches!(
            MuteList::verify_torrent(&torrent, other.encoded(), NOW + 1),
            Err(MuteListError::Torrent(_))
        ));
    }

    #[test]
    fn lists_over_the_caps_are_refused() {
        let too_many = (0..=MAX_MUTE_LIST_ENTRIES).map(|i| ListEntry {
            target: MuteTarget::Thread(InfoHash::of_info(&i.to_be_bytes())),
            until: None,
        });
        assert!(matches!(
            MuteList::sign(&key(1), NOW, too_many),
            Err(MuteListError::TooLarge {
                what: "entries",
                ..
            })
        ));
        let huge = vec![b'l'; MAX_MUTE_LIST_LEN + 1];
        assert!(matches!(
            MuteList::decode(&huge, NOW),
            Err(MuteListError::TooLarge { what: "bytes", .. })
        ));
    }
}
