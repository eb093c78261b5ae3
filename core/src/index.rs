//! The outbox index: a signed torrent holding a user's whole outbox
//! history as an append-only list of entries, chained to its previous
//! version.
//!
//! The BEP 44 outbox item (see [`crate::item`]) holds only what fits in
//! 996 bytes, plus the infohash of the newest index. The index holds
//! everything: every post and comment written, every upvote and unvote,
//! follow and unfollow, reply seen, and profile change, oldest first.
//!
//! Versions form segments. Within a segment each version's body is the
//! previous version's entries with new ones appended, so a reader holding
//! an earlier version can check that nothing was rewritten. When a body
//! would pass [`MAX_INDEX_BODY`], a new segment starts: its `older` names
//! the last version of the segment before. A reader gets the whole history
//! from the newest version and the `older` chain; an author keeps seeding
//! the newest version and the last version of each closed segment.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::bencode::{self, Value, Writer};
use crate::item::{MAX_ABOUT, MAX_NAME, Outbox};
use crate::record::{MAX_FUTURE_SKEW, PIECE_LENGTH, piece_count, pieces_of};
use crate::verify::{Fields, MAX_INFO_LEN};
use crate::{InfoHash, PublicKey, SecretKey, VerifyError};

/// Prefix of every signed index message, apart from records' and BEP 44's.
pub const INDEX_SIGNING_DOMAIN: &[u8] = b"upseed/index/v1\0";

/// The info-dict key of an index's signed header.
pub const INDEX_KEY: &str = "upseed-index";

/// The largest index body, in bytes (about 11,000 infohash entries). A
/// version that would be larger starts a new segment.
pub const MAX_INDEX_BODY: usize = 256 * 1024;

/// The most segments a reader walks through `older` (16 MiB of history).
pub const MAX_SEGMENTS: usize = 64;

/// The header version this crate writes and reads.
const INDEX_VERSION: i64 = 1;

/// One entry of an index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Entry {
    /// `p`: a post or comment the user wrote.
    Post(InfoHash),
    /// `u`: a record the user upvotes (seeds).
    Upvote(InfoHash),
    /// `-u`: an upvote withdrawn.
    Unvote(InfoHash),
    /// `f`: a key the user follows.
    Follow(PublicKey),
    /// `-f`: a key no longer followed.
    Unfollow(PublicKey),
    /// `r`: a comment on one of the user's posts, seen by the user.
    Reply(InfoHash),
    /// `n`: the display name from now on (empty: none).
    Name(String),
    /// `a`: the about text from now on (empty: none).
    About(String),
    /// `s`: a supersede record the user signed: an edit or a delete of
    /// one of their records (PROTOCOL.md §19), in its encoded form.
    Supersede(Vec<u8>),
    /// `m`: the user's published mute list from now on (PROTOCOL.md §20):
    /// the value of their mute list item, the list or its torrent.
    MuteList(Vec<u8>),
    /// A tag this version does not know, kept for later versions.
    Other {
        /// The tag.
        tag: Vec<u8>,
        /// Its value.
        value: Vec<u8>,
    },
}

impl Entry {
    fn tag_and_value(&self) -> (&[u8], &[u8]) {
        match self {
            Self::Post(h) => (b"p", h.as_bytes()),
            Self::Upvote(h) => (b"u", h.as_bytes()),
            Self::Unvote(h) => (b"-u", h.as_bytes()),
            Self::Follow(k) => (b"f", k.as_bytes()),
            Self::Unfollow(k) => (b"-f", k.as_bytes()),
            Self::Reply(h) => (b"r", h.as_bytes()),
            Self::Name(t) => (b"n", t.as_bytes()),
            Self::About(t) => (b"a", t.as_bytes()),
            Self::Supersede(encoded) => (b"s", encoded),
            Self::MuteList(item) => (b"m", item),
            Self::Other { tag, value } => (tag, value),
        }
    }

    fn write(&self, w: &mut Writer) {
        let (tag, value) = self.tag_and_value();
        w.list(|l| {
            l.bytes(tag);
            l.bytes(value);
        });
    }

    fn encoded_len(&self) -> usize {
        let mut w = Writer::with_capacity(64);
        self.write(&mut w);
        w.into_bytes().len()
    }

    fn parse(tag: &[u8], value: &[u8]) -> Result<Self, String> {
        let hash = || {
            <[u8; 20]>::try_from(value)
                .map(InfoHash::from_bytes)
                .map_err(|_| {
                    format!(
                        "a `{}` entry holds {} bytes, not 20",
                        tag_text(tag),
                        value.len()
                    )
                })
        };
        let key = || {
            <[u8; 32]>::try_from(value)
                .map_err(|_| {
                    format!(
                        "a `{}` entry holds {} bytes, not 32",
                        tag_text(tag),
                        value.len()
                    )
                })
                .and_then(|k| PublicKey::from_bytes(&k).map_err(|e| e.to_string()))
        };
        let text = |max: usize| {
            let text = std::str::from_utf8(value)
                .map_err(|_| format!("a `{}` entry is not UTF-8", tag_text(tag)))?;
            if text.len() > max {
                return Err(format!(
                    "a `{}` entry is {} bytes, over {max}",
                    tag_text(tag),
                    text.len()
                ));
            }
            Ok(text.to_owned())
        };
        Ok(match tag {
            b"p" => Self::Post(hash()?),
            b"u" => Self::Upvote(hash()?),
            b"-u" => Self::Unvote(hash()?),
            b"f" => Self::Follow(key()?),
            b"-f" => Self::Unfollow(key()?),
            b"r" => Self::Reply(hash()?),
            b"n" => Self::Name(text(MAX_NAME)?),
            b"a" => Self::About(text(MAX_ABOUT)?),
            b"s" => {
                crate::supersede::Supersede::decode(value)
                    .map_err(|e| format!("an `s` entry is not a supersede record: {e}"))?;
                Self::Supersede(value.to_vec())
            }
            b"m" => {
                if value.len() > crate::item::MAX_ITEM_VALUE {
                    return Err(format!(
                        "an `m` entry is {} bytes, over {}",
                        value.len(),
                        crate::item::MAX_ITEM_VALUE
                    ));
                }
                crate::mute_list::ListItem::decode(value)
                    .map_err(|e| format!("an `m` entry is not a mute list item: {e}"))?;
                Self::MuteList(value.to_vec())
            }
            _ => Self::Other {
                tag: tag.to_vec(),
                value: value.to_vec(),
            },
        })
    }
}

fn tag_text(tag: &[u8]) -> String {
    String::from_utf8_lossy(tag).chars().take(16).collect()
}

/// What is wrong with an index, or with building one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// The torrent around the index is malformed or its signature fails.
    #[error("the outbox index is not valid: {0}")]
    Verify(VerifyError),
    /// The info dict has no `upseed-index` header.
    #[error("the torrent has no `upseed-index` header: it is not an outbox index")]
    NotAnIndex,
    /// A header version this implementation does not know.
    #[error("the outbox index uses version {0}; this upseed reads version 1 only, so upgrade it")]
    UnsupportedVersion(i64),
    /// The body is over [`MAX_INDEX_BODY`].
    #[error(
        "the outbox index body is {0} bytes, over the {MAX_INDEX_BODY}-byte limit of one segment"
    )]
    TooLarge(i64),
    /// `older` without `prev`, or a name that is not the derived one.
    #[error("the outbox index header is inconsistent: {0}")]
    Header(&'static str),
    /// An entry of the body cannot be read.
    #[error("entry {position} of the outbox index is malformed: {reason}")]
    Entry {
        /// Its position, from 0.
        position: usize,
        /// What is wrong.
        reason: String,
    },
    /// The body is not a list of entries.
    #[error("the outbox index body is malformed: {0}")]
    Body(String),
    /// A newer version does not keep an earlier one's entries.
    #[error(
        "outbox index {newer} does not extend {earlier} of the same segment: its author rewrote history; the earlier version stays"
    )]
    Rewritten {
        /// The version refused.
        newer: InfoHash,
        /// The version it should extend.
        earlier: InfoHash,
    },
    /// A segment in the `older` chain is by another key.
    #[error("outbox index {0} in the chain is signed by another key; the chain is refused")]
    WrongAuthor(InfoHash),
    /// The `older` chain is longer than [`MAX_SEGMENTS`].
    #[error("the outbox index chain has more than {MAX_SEGMENTS} segments; it is refused")]
    ChainTooLong,
    /// The clock is outside the range of header times.
    #[error("the time {0} is outside the range of index times; check the system clock")]
    TimeOutOfRange(u64),
}

// By hand, not `#[from]`: the cause is in the message, and a source too
// would print it twice in a chain of causes.
impl From<VerifyError> for IndexError {
    fn from(error: VerifyError) -> Self {
        Self::Verify(error)
    }
}

/// The signed header fields, without the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Header {
    author: PublicKey,
    created: i64,
    older: Option<InfoHash>,
    prev: Option<InfoHash>,
    sha256: [u8; 32],
    length: i64,
    pieces: Vec<u8>,
}

impl Header {
    fn signed_message(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(256 + self.pieces.len());
        w.raw(INDEX_SIGNING_DOMAIN);
        w.dict(|d| {
            d.key(b"author").bytes(self.author.as_bytes());
            d.key(b"created").int(self.created);
            d.key(b"length").int(self.length);
            if let Some(older) = self.older {
                d.key(b"older").bytes(older.as_bytes());
            }
            d.key(b"pieces").bytes(&self.pieces);
            if let Some(prev) = self.prev {
                d.key(b"prev").bytes(prev.as_bytes());
            }
            d.key(b"sha256").bytes(&self.sha256);
            d.key(b"version").int(INDEX_VERSION);
        });
        w.into_bytes()
    }

    fn info_bytes(&self, signature: &[u8; 64], name: &str) -> Vec<u8> {
        let mut w = Writer::with_capacity(512 + self.pieces.len());
        w.dict(|d| {
            d.key(b"length").int(self.length);
            d.key(b"name").bytes(name.as_bytes());
            d.key(b"piece length").int(PIECE_LENGTH);
            d.key(b"pieces").bytes(&self.pieces);
            d.key(b"upseed-index").dict(|h| {
                h.key(b"author").bytes(self.author.as_bytes());
                h.key(b"created").int(self.created);
                if let Some(older) = self.older {
                    h.key(b"older").bytes(older.as_bytes());
                }
                if let Some(prev) = self.prev {
                    h.key(b"prev").bytes(prev.as_bytes());
                }
                h.key(b"sha256").bytes(&self.sha256);
                h.key(b"sig").bytes(signature);
                h.key(b"version").int(INDEX_VERSION);
            });
        });
        w.into_bytes()
    }
}

/// `upseed-index-<first 16 bytes of SHA-256(signed message), hex>.bin`.
fn file_name(message: &[u8]) -> String {
    format!(
        "upseed-index-{}.bin",
        hex::encode(&Sha256::digest(message)[..16])
    )
}

/// A verified (or freshly signed) version of a user's outbox index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    header: Header,
    signature: [u8; 64],
    name: String,
    info: Vec<u8>,
    infohash: InfoHash,
    body: Vec<u8>,
    entries: Vec<Entry>,
}

fn encode_body(entries: &[Entry]) -> Vec<u8> {
    let mut w = Writer::with_capacity(entries.len() * 28 + 2);
    w.list(|l| {
        for entry in entries {
            entry.write(l);
        }
    });
    w.into_bytes()
}

impl Index {
    /// Appends `entries` after `head` (our newest version, if any), signed
    /// by `key` at `created`. Returns the new versions, oldest first: one,
    /// or more when the entries start new segments. Nothing to append
    /// returns nothing.
    pub fn append(
        key: &SecretKey,
        head: Option<&Self>,
        entries: &[Entry],
        created: u64,
    ) -> Result<Vec<Self>, IndexError> {
        Self::append_within(key, head, entries, created, MAX_INDEX_BODY)
    }

    fn append_within(
        key: &SecretKey,
        head: Option<&Self>,
        entries: &[Entry],
        created: u64,
        max_body: usize,
    ) -> Result<Vec<Self>, IndexError> {
        let created = i64::try_from(created).map_err(|_| IndexError::TimeOutOfRange(created))?;
        let mut out: Vec<Self> = Vec::new();
        let mut rest = entries;
        while !rest.is_empty() {
            let last = out.last().or(head);
            // Continue the head's segment when the result fits, else start one.
            let (mut body_entries, older) = match last {
                Some(last) => (last.entries.clone(), last.header.older),
                None => (Vec::new(), None),
            };
            let mut len = encode_body(&body_entries).len();
            let continuing = last.is_some() && len + rest[0].encoded_len() <= max_body;
            let older = if continuing {
                older
            } else {
                body_entries.clear();
                len = 2;
                last.map(|l| l.infohash)
            };
            let mut taken = 0;
            for entry in rest {
                let grown = len + entry.encoded_len();
                if grown > max_body && taken > 0 {
                    break;
                }
                len = grown;
                body_entries.push(entry.clone());
                taken += 1;
            }
            rest = &rest[taken..];
            let next = Self::sign(key, created, last.map(|l| l.infohash), older, body_entries);
            out.push(next);
        }
        Ok(out)
    }

    fn sign(
        key: &SecretKey,
        created: i64,
        prev: Option<InfoHash>,
        older: Option<InfoHash>,
        entries: Vec<Entry>,
    ) -> Self {
        let body = encode_body(&entries);
        let header = Header {
            author: key.public_key(),
            created,
            older,
            prev,
            sha256: Sha256::digest(&body).into(),
            // Bodies are capped far below i64::MAX.
            length: body.len() as i64,
            pieces: pieces_of(&body),
        };
        let message = header.signed_message();
        let signature = key.sign(&message);
        let name = file_name(&message);
        let info = header.info_bytes(&signature, &name);
        Self {
            infohash: InfoHash::of_info(&info),
            header,
            signature,
            name,
            info,
            body,
            entries,
        }
    }

    /// Verifies a fetched index: the .torrent (or bare info dict) bytes
    /// and the body, against the reader's clock `now`.
    pub fn verify(torrent: &[u8], body: &[u8], now: u64) -> Result<Self, IndexError> {
        let info = crate::torrent::info_of(torrent)?;
        Self::verify_info(info, body, now)
    }

    fn verify_info(info: &[u8], body: &[u8], now: u64) -> Result<Self, IndexError> {
        if info.len() > MAX_INFO_LEN {
            return Err(VerifyError::TooLarge {
                what: "info dict",
                len: info.len(),
                max: MAX_INFO_LEN,
            }
            .into());
        }
        let value = bencode::decode(info).map_err(VerifyError::bencode("info dict"))?;
        let fields = Fields::new("info", &value)?;
        if !fields.has(INDEX_KEY) {
            return Err(IndexError::NotAnIndex);
        }
        fields.only(&["length", "name", "piece length", "pieces", INDEX_KEY])?;
        let h = Fields::new("upseed-index", fields.required(INDEX_KEY)?)?;
        h.only(&[
            "author", "created", "older", "prev", "sha256", "sig", "version",
        ])?;
        let version = h.int("version")?;
        if version != INDEX_VERSION {
            return Err(IndexError::UnsupportedVersion(version));
        }
        let length = fields.int("length")?;
        if !(1..=MAX_INDEX_BODY as i64).contains(&length) {
            return Err(IndexError::TooLarge(length));
        }
        if fields.int("piece length")? != PIECE_LENGTH {
            return Err(VerifyError::PieceLength(fields.int("piece length")?).into());
        }
        let pieces = fields.bytes("pieces")?;
        if pieces.len() != piece_count(length) * 20 {
            return Err(VerifyError::PiecesLength {
                length,
                expected: piece_count(length) * 20,
                found: pieces.len(),
            }
            .into());
        }
        let author =
            PublicKey::from_bytes(&h.fixed::<32>("author")?).map_err(VerifyError::BadAuthor)?;
        let created = h.int("created")?;
        if created < 0 {
            return Err(VerifyError::TimeOutOfRange(created).into());
        }
        if created.unsigned_abs() > now.saturating_add(MAX_FUTURE_SKEW) {
            return Err(VerifyError::FromTheFuture { created, now }.into());
        }
        let hash = |key| -> Result<Option<InfoHash>, IndexError> {
            if h.has(key) {
                Ok(Some(InfoHash::from_bytes(h.fixed::<20>(key)?)))
            } else {
                Ok(None)
            }
        };
        let (older, prev) = (hash("older")?, hash("prev")?);
        if older.is_some() && prev.is_none() {
            return Err(IndexError::Header("`older` without `prev`"));
        }
        let header = Header {
            author,
            created,
            older,
            prev,
            sha256: h.fixed("sha256")?,
            length,
            pieces: pieces.to_vec(),
        };
        let signature = h.fixed::<64>("sig")?;
        let message = header.signed_message();
        if !author.verify_strict(&message, &signature) {
            return Err(VerifyError::BadSignature(author.to_z32()).into());
        }
        let name = file_name(&message);
        if fields.bytes("name")? != name.as_bytes() {
            return Err(IndexError::Header(
                "the file name is not the one derived from the header",
            ));
        }
        if header.info_bytes(&signature, &name) != info {
            return Err(VerifyError::NotCanonical.into());
        }

        if body.len() as i64 != length {
            return Err(VerifyError::BodyLengthMismatch {
                expected: length.unsigned_abs(),
                found: body.len(),
            }
            .into());
        }
        if <[u8; 32]>::from(Sha256::digest(body)) != header.sha256 {
            return Err(VerifyError::BodyHashMismatch.into());
        }
        if let Some(i) = pieces
            .chunks(20)
            .zip(pieces_of(body).chunks(20))
            .position(|(a, b)| a != b)
        {
            return Err(VerifyError::PiecesMismatch(i).into());
        }
        let entries = decode_body(body)?;
        Ok(Self {
            infohash: InfoHash::of_info(info),
            header,
            signature,
            name,
            info: info.to_vec(),
            body: body.to_vec(),
            entries,
        })
    }

    /// The infohash.
    pub fn infohash(&self) -> InfoHash {
        self.infohash
    }

    /// Who signed it.
    pub fn author(&self) -> PublicKey {
        self.header.author
    }

    /// When it was signed (unix seconds).
    pub fn created(&self) -> u64 {
        self.header.created.unsigned_abs()
    }

    /// The version before this one, if any.
    pub fn prev(&self) -> Option<InfoHash> {
        self.header.prev
    }

    /// The last version of the segment before this one's, if any.
    pub fn older(&self) -> Option<InfoHash> {
        self.header.older
    }

    /// This segment's entries, oldest first.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The body file's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The body bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The info dict bytes.
    pub fn info_bytes(&self) -> &[u8] {
        &self.info
    }

    /// The .torrent file, with `trackers` as in [`crate::Record::torrent_bytes`].
    pub fn torrent_bytes<S: AsRef<str>>(&self, trackers: &[S]) -> Vec<u8> {
        crate::torrent::wrap_info(&self.info, trackers)
    }

    /// Checks that this version may follow `earlier`, a version by the same
    /// author that the reader saw before: in the same segment it must keep
    /// all of `earlier`'s entries, in order, at its start. A version of a
    /// later segment cannot be checked against it here.
    pub fn check_extends(&self, earlier: &Self) -> Result<(), IndexError> {
        let rewritten = Err(IndexError::Rewritten {
            newer: self.infohash,
            earlier: earlier.infohash,
        });
        if earlier.author() != self.author() {
            return Err(IndexError::WrongAuthor(self.infohash));
        }
        if self.infohash == earlier.infohash || self.older() != earlier.older() {
            return Ok(());
        }
        if self.entries.len() < earlier.entries.len()
            || self.entries[..earlier.entries.len()] != earlier.entries[..]
        {
            return rewritten;
        }
        Ok(())
    }
}

fn decode_body(body: &[u8]) -> Result<Vec<Entry>, IndexError> {
    let value = bencode::decode(body).map_err(|e| IndexError::Body(e.to_string()))?;
    let Value::List(items) = value else {
        return Err(IndexError::Body(format!(
            "it is a {}, not a list",
            value.type_name()
        )));
    };
    items
        .iter()
        .enumerate()
        .map(|(position, item)| {
            let malformed = |reason: String| IndexError::Entry { position, reason };
            match item {
                Value::List(pair) => match pair.as_slice() {
                    [Value::Bytes(tag), Value::Bytes(value)] => {
                        Entry::parse(tag, value).map_err(malformed)
                    }
                    _ => Err(malformed("it is not a tag and a value".into())),
                },
                other => Err(malformed(format!(
                    "it is a {}, not a list",
                    other.type_name()
                ))),
            }
        })
        .collect()
}

/// The outbox that a whole history of entries (oldest first, every segment
/// in order) describes: lists newest first, the last name and about.
pub fn fold<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> Outbox {
    let mut seq = 0_u64;
    let mut posts = HashMap::new();
    let mut upvotes = HashMap::new();
    let mut follows = HashMap::new();
    let mut replies = HashMap::new();
    let mut out = Outbox::default();
    for entry in entries {
        seq += 1;
        match entry {
            Entry::Post(h) => {
                posts.entry(*h).or_insert(seq);
            }
            Entry::Upvote(h) => {
                upvotes.entry(*h).or_insert(seq);
            }
            Entry::Unvote(h) => {
                upvotes.remove(h);
            }
            Entry::Follow(k) => {
                follows.entry(*k).or_insert(seq);
            }
            Entry::Unfollow(k) => {
                follows.remove(k);
            }
            Entry::Reply(h) => {
                replies.entry(*h).or_insert(seq);
            }
            Entry::Name(n) => out.name = Some(n.clone()).filter(|n| !n.is_empty()),
            Entry::About(a) => out.about = Some(a.clone()).filter(|a| !a.is_empty()),
            Entry::Supersede(_) | Entry::MuteList(_) | Entry::Other { .. } => {}
        }
    }
    fn newest_first<T: Copy>(map: HashMap<T, u64>) -> Vec<T> {
        let mut v: Vec<(T, u64)> = map.into_iter().collect();
        v.sort_by_key(|t| std::cmp::Reverse(t.1));
        v.into_iter().map(|(t, _)| t).collect()
    }
    out.posts = newest_first(posts);
    out.upvotes = newest_first(upvotes);
    out.follows = newest_first(follows);
    out.replies = newest_first(replies);
    out
}

/// The entries that take the outbox `from` to `to`, oldest first: what an
/// author appends to the index when its outbox has changed. Posts and
/// replies are never withdrawn; upvotes and follows are.
pub fn changes(from: &Outbox, to: &Outbox) -> Vec<Entry> {
    let mut out = Vec::new();
    if from.name != to.name {
        out.push(Entry::Name(to.name.clone().unwrap_or_default()));
    }
    if from.about != to.about {
        out.push(Entry::About(to.about.clone().unwrap_or_default()));
    }
    fn added<T: Copy + Eq + std::hash::Hash>(from: &[T], to: &[T]) -> Vec<T> {
        let had: std::collections::HashSet<&T> = from.iter().collect();
        to.iter()
            .rev()
            .filter(|t| !had.contains(t))
            .copied()
            .collect()
    }
    out.extend(
        added(&to.follows, &from.follows)
            .into_iter()
            .rev()
            .map(Entry::Unfollow),
    );
    out.extend(
        added(&from.follows, &to.follows)
            .into_iter()
            .map(Entry::Follow),
    );
    out.extend(
        added(&to.upvotes, &from.upvotes)
            .into_iter()
            .rev()
            .map(Entry::Unvote),
    );
    out.extend(
        added(&from.upvotes, &to.upvotes)
            .into_iter()
            .map(Entry::Upvote),
    );
    out.extend(added(&from.posts, &to.posts).into_iter().map(Entry::Post));
    out.extend(
        added(&from.replies, &to.replies)
            .into_iter()
            .map(Entry::Reply),
    );
    out
}

/// Checks that `chain` (newest first: a head, then each `older` in turn)
/// is one author's unbroken history, and folds it.
pub fn fold_chain(chain: &[Index]) -> Result<Outbox, IndexError> {
    if chain.len() > MAX_SEGMENTS {
        return Err(IndexError::ChainTooLong);
    }
    let Some(head) = chain.first() else {
        return Ok(Outbox::default());
    };
    for pair in chain.windows(2) {
        if pair[1].author() != head.author() {
            return Err(IndexError::WrongAuthor(pair[1].infohash));
        }
        if pair[0].older() != Some(pair[1].infohash) {
            return Err(IndexError::Header(
                "a segment's `older` does not name the next one given",
            ));
        }
    }
    Ok(fold(chain.iter().rev().flat_map(|i| i.entries.iter())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(n: u16) -> InfoHash {
        let mut b = [0; 20];
        b[..2].copy_from_slice(&n.to_be_bytes());
        InfoHash::from_bytes(b)
    }

    fn key() -> SecretKey {
        SecretKey::from_seed(&[9; 32])
    }

    const NOW: u64 = 1_700_000_000;

    fn reverify(index: &Index) -> Index {
        Index::verify(
            &index.torrent_bytes(&["http://t/announce"]),
            index.body(),
            NOW,
        )
        .unwrap()
    }

    #[test]
    fn versions_chain_append_and_verify() {
        let friend = SecretKey::from_seed(&[2; 32]).public_key();
        let first = Outbox {
            name: Some("ann".into()),
            posts: vec![h(2), h(1)],
            follows: vec![friend],
            upvotes: vec![h(7)],
            ..Outbox::default()
        };
        let v1 = Index::append(&key(), None, &changes(&Outbox::default(), &first), NOW).unwrap();
        assert_eq!(v1.len(), 1);
        let v1 = reverify(&v1[0]);
        assert_eq!((v1.prev(), v1.older()), (None, None));
        assert_eq!(fold(v1.entries()), first);

        let second = Outbox {
            posts: vec![h(3), h(2), h(1)],
            follows: vec![],
            upvotes: vec![h(8)],
            replies: vec![h(9)],
            ..first.clone()
        };
        let v2 = Index::append(&key(), Some(&v1), &changes(&first, &second), NOW + 1).unwrap();
        let v2 = reverify(&v2[0]);
        assert_eq!(v2.prev(), Some(v1.infohash()));
        assert!(v2.entries().starts_with(v1.entries()));
        v2.check_extends(&v1).unwrap();
        assert_eq!(fold(v2.entries()), second);
        assert!(v2.entries().contains(&Entry::Unfollow(friend)));
        assert!(v2.entries().contains(&Entry::Unvote(h(7))));
        assert!(changes(&second, &second).is_empty());

        // A rewrite of the same segment is caught.
        let forged = Index::append(&key(), None, &[Entry::Post(h(5))], NOW).unwrap();
        assert!(matches!(
            forged[0].check_extends(&v1),
            Err(IndexError::Rewritten { .. })
        ));
    }

    #[test]
    fn full_segments_chain_through_older() {
        let entries: Vec<Entry> = (0..200).map(|n| Entry::Post(h(n))).collect();
        let versions = Index::append_within(&key(), None, &entries[..150], NOW, 1_000).unwrap();
        assert!(
            versions.len() > 1,
            "150 entries of 27 bytes need several 1000-byte segments"
        );
        for pair in versions.windows(2) {
            assert_eq!(pair[1].prev(), Some(pair[0].infohash()));
            assert_eq!(pair[1].older(), Some(pair[0].infohash()));
            assert!(pair[0].body().len() <= 1_000);
        }
        let head = versions.last().unwrap();
        let more =
            Index::append_within(&key(), Some(head), &entries[150..152], NOW, 1_000).unwrap();
        let mut chain = vec![more.last().unwrap().clone()];
        while let Some(older) = chain.last().unwrap().older() {
            chain.push(
                versions
                    .iter()
                    .find(|v| v.infohash() == older)
                    .unwrap()
                    .clone(),
            );
        }
        let folded = fold_chain(&chain).unwrap();
        assert_eq!(folded.posts.len(), 152);
        assert_eq!(folded.posts[0], h(151), "newest first");
        chain.swap(0, 1);
        assert!(fold_chain(&chain).is_err());
    }

    #[test]
    fn tampering_is_refused() {
        let v = Index::append(
            &key(),
            None,
            &[Entry::Post(h(1)), Entry::Name("x".into())],
            NOW,
        )
        .unwrap()
        .remove(0);
        let torrent = v.torrent_bytes::<&str>(&[]);
        let mut body = v.body().to_vec();
        body[8] ^= 1;
        assert!(matches!(
            Index::verify(&torrent, &body, NOW),
            Err(IndexError::Verify(VerifyError::BodyHashMismatch))
        ));
        let mut info = v.info_bytes().to_vec();
        let at = info.len() - 20;
        info[at] ^= 1;
        assert!(matches!(
            Index::verify(
                &crate::torrent::wrap_info::<&str>(&info, &[]),
                v.body(),
                NOW
            ),
            Err(IndexError::Verify(VerifyError::BadSignature(_)))
        ));
        assert!(matches!(
            Index::verify(&torrent, v.body(), v.created() - MAX_FUTURE_SKEW - 1),
            Err(IndexError::Verify(VerifyError::FromTheFuture { .. }))
        ));
        let post = crate::PostDraft::new("hi")
            .unwrap()
            .sign(&key(), NOW)
            .unwrap();
        assert_eq!(
            Index::verify(&post.torrent_bytes::<&str>(&[]), b"hi", NOW),
            Err(IndexError::NotAnIndex)
        );
        assert!(matches!(
            decode_body(b"l1:pe"),
            Err(IndexError::Entry { position: 0, .. })
        ));
        assert!(matches!(
            decode_body(b"ll1:p3:abcee"),
            Err(IndexError::Entry { position: 0, .. })
        ));
        assert_eq!(
            decode_body(b"ll1:z1:?ee").unwrap(),
            vec![Entry::Other {
                tag: b"z".to_vec(),
                value: b"?".to_vec()
            }]
        );
    }

    #[test]
    fn golden_index_vector() {
        let friend = SecretKey::from_seed(&[2; 32]).public_key();
        let v = Index::append(
            &key(),
            None,
            &[
                Entry::Name("ann".into()),
                Entry::Follow(friend),
                Entry::Post(h(1)),
                Entry::Upvote(h(2)),
            ],
            NOW,
        )
        .unwrap()
        .remove(0);
        insta::assert_snapshot!(
            "index_v1",
            format!(
                "infohash {}\nname {}\ntorrent {}\nbody {}",
                v.infohash(),
                v.name(),
                hex::encode(v.torrent_bytes(&["http://127.0.0.1:6969/announce"])),
                hex::encode(v.body())
            )
        );
    }
}
