//! DHT items (BEP 44 mutable values): a user's outbox, community boards
//! and reply boards. Their byte formats, the keys and salts they live
//! under, and their limits; pure, so that any implementation can check
//! them against PROTOCOL.md §17.
//!
//! A board is a multi-writer item: its key pair is derived from public
//! facts (a community name and a time bucket, or a post's infohash), so
//! anyone may append to it, and anyone may erase it. Nobody can forge a
//! post through one: a board lists infohashes only, and every record it
//! names is verified like any other before it is stored.

use sha2::{Digest, Sha256};

use crate::bencode::{self, Value, Writer};
use crate::{Community, InfoHash, PublicKey, SecretKey};

/// The most bytes a DHT item's value may hold. BEP 44 allows 1,000 bytes
/// of bencoded value; a raw value of 996 bytes is 1,000 bencoded.
pub const MAX_ITEM_VALUE: usize = 996;

/// The salt of a user's outbox item, under the user's own key.
pub const OUTBOX_SALT: &[u8] = b"upseed/outbox/1";

/// The salt of every board item (community and reply boards).
pub const BOARD_SALT: &[u8] = b"upseed/board/1";

/// How many overflow items a board has, for when it is frozen.
pub const BOARD_OVERFLOWS: u8 = 3;

/// A board item whose `seq` is more than this many microseconds (a day)
/// ahead of the reader's clock is frozen: honest writers use the clock in
/// microseconds as `seq`, and nobody can append after a `seq` that high.
pub const FROZEN_AHEAD_MICROS: i64 = 86_400_000_000;

/// The salt of a board's item at overflow `level`: [`BOARD_SALT`] for 0,
/// then `upseed/board/1/1` up to [`BOARD_OVERFLOWS`]. Writers move to the
/// next level when the current one is frozen (see [`is_frozen`]); readers
/// read the next level whenever they find the current one frozen.
pub fn board_salt(level: u8) -> Vec<u8> {
    let mut salt = BOARD_SALT.to_vec();
    if level > 0 {
        salt.extend_from_slice(format!("/{level}").as_bytes());
    }
    salt
}

/// Whether an item with `seq` is frozen for a clock at `now_micros`: so far
/// in the future that appending after it is out of honest writers' reach.
pub fn is_frozen(seq: i64, now_micros: i64) -> bool {
    seq > now_micros.saturating_add(FROZEN_AHEAD_MICROS)
}

/// A community board covers posts created within one bucket of this many
/// seconds (6 hours).
pub const BUCKET_SECS: u64 = 6 * 3600;

/// Each bucket of a community is split over this many boards, by the
/// first byte of the post's infohash.
pub const SHARDS: u8 = 4;

/// The format tag at the start of a board's value.
const BOARD_TAG: &[u8] = b"u2";

/// The bytes of one board entry: an infohash and its 8-byte nonce.
pub const BOARD_ENTRY_LEN: usize = 28;

/// The most entries one board holds: (996 − 2) / 28.
pub const BOARD_CAPACITY: usize = (MAX_ITEM_VALUE - BOARD_TAG.len()) / BOARD_ENTRY_LEN;

/// One entry of a board: a record's infohash, and the nonce that proves
/// work for it (see [`crate::pow`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BoardEntry {
    /// The record it names.
    pub hash: InfoHash,
    /// Its proof of work.
    pub nonce: u64,
}

impl BoardEntry {
    /// The entry for `hash`, with the first nonce that reaches
    /// [`crate::pow::BOARD_DIFFICULTY`].
    pub fn solve(hash: InfoHash) -> Self {
        Self {
            hash,
            nonce: crate::pow::solve(hash, crate::pow::BOARD_DIFFICULTY),
        }
    }

    /// Whether its nonce proves the work a reader asks of a board entry.
    pub fn proves_work(&self) -> bool {
        crate::pow::work(self.hash, self.nonce) >= crate::pow::BOARD_DIFFICULTY
    }
}

/// Longest display name in an outbox, in bytes.
pub const MAX_NAME: usize = 64;

/// Longest "about" text in an outbox, in bytes.
pub const MAX_ABOUT: usize = 280;

/// What is wrong with a DHT item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ItemError {
    /// The value would not fit in a DHT item.
    #[error(
        "the {what} would be {len} bytes, over the {MAX_ITEM_VALUE}-byte limit of a DHT item; {fix}"
    )]
    TooLarge {
        /// Which item.
        what: &'static str,
        /// Its length.
        len: usize,
        /// How to make it fit.
        fix: &'static str,
    },
    /// A profile text is longer than an outbox allows.
    #[error("the {field} is {len} bytes, over the {max} bytes an outbox holds; shorten it")]
    TextTooLong {
        /// `display name` or `about text`.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The value is not in the item's format.
    #[error("the {what} is malformed ({reason}); it was written by something else, and is ignored")]
    Malformed {
        /// Which item.
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
}

fn derive(parts: &[&[u8]]) -> SecretKey {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u32).to_be_bytes());
        hash.update(part);
    }
    SecretKey::from_seed(&hash.finalize().into())
}

/// The time bucket of a creation time.
pub const fn bucket_of(created: u64) -> u64 {
    created / BUCKET_SECS
}

/// The shard of a post on its community's boards.
pub fn shard_of(post: InfoHash) -> u8 {
    post.as_bytes()[0] % SHARDS
}

/// The key pair of one community board: anyone can derive it from the
/// community's name, the bucket and the shard.
pub fn community_board(community: &Community, bucket: u64, shard: u8) -> SecretKey {
    derive(&[
        b"upseed/community-board/1",
        community.as_str().as_bytes(),
        &bucket.to_be_bytes(),
        &[shard],
    ])
}

/// The key pair of a post's reply board: anyone can derive it from the
/// post's infohash.
pub fn reply_board(post: InfoHash) -> SecretKey {
    derive(&[b"upseed/reply-board/1", post.as_bytes()])
}

/// A board's value: `u2` then up to [`BOARD_CAPACITY`] entries of 28
/// bytes (an infohash, then its nonce as 8 bytes big-endian), newest
/// first. Repeated infohashes are dropped, and the oldest beyond the
/// capacity.
pub fn encode_board(entries: &[BoardEntry]) -> Vec<u8> {
    let mut out = BOARD_TAG.to_vec();
    let mut seen = std::collections::HashSet::new();
    for entry in entries
        .iter()
        .filter(|e| seen.insert(e.hash))
        .take(BOARD_CAPACITY)
    {
        out.extend_from_slice(entry.hash.as_bytes());
        out.extend_from_slice(&entry.nonce.to_be_bytes());
    }
    out
}

/// The entries of a board's value, whatever their work: readers keep
/// those that prove it ([`BoardEntry::proves_work`]).
pub fn decode_board(value: &[u8]) -> Result<Vec<BoardEntry>, ItemError> {
    let malformed = |reason: &str| ItemError::Malformed {
        what: "board",
        reason: reason.to_owned(),
    };
    let rest = value
        .strip_prefix(BOARD_TAG)
        .ok_or_else(|| malformed("it does not start with `u2`"))?;
    if rest.len() % BOARD_ENTRY_LEN != 0 {
        return Err(malformed("its length is not a whole number of entries"));
    }
    Ok(rest
        .chunks_exact(BOARD_ENTRY_LEN)
        .filter_map(|c| {
            let hash = <[u8; 20]>::try_from(&c[..20]).ok()?;
            let nonce = <[u8; 8]>::try_from(&c[20..]).ok()?;
            Some(BoardEntry {
                hash: InfoHash::from_bytes(hash),
                nonce: u64::from_be_bytes(nonce),
            })
        })
        .collect())
}

/// `new` first, then `old`, each infohash once: what a writer puts back on
/// a board it appends to.
pub fn merge_entries(new: &[BoardEntry], old: &[BoardEntry]) -> Vec<BoardEntry> {
    let mut seen = std::collections::HashSet::new();
    new.iter()
        .chain(old)
        .filter(|e| seen.insert(e.hash))
        .copied()
        .collect()
}

/// BEP 44's signed message for a mutable item: `salt` (when not empty),
/// `seq` and `v`, as bencode dictionary entries. upseed's `v` is a byte
/// string holding the item's value.
pub fn signable(salt: &[u8], seq: i64, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + salt.len() + 32);
    if !salt.is_empty() {
        out.extend_from_slice(b"4:salt");
        out.extend_from_slice(salt.len().to_string().as_bytes());
        out.push(b':');
        out.extend_from_slice(salt);
    }
    out.extend_from_slice(b"3:seqi");
    out.extend_from_slice(seq.to_string().as_bytes());
    out.extend_from_slice(b"e1:v");
    out.extend_from_slice(value.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(value);
    out
}

/// `key`'s signature of the mutable item `salt`, `seq`, `value`: what a
/// DHT writer puts beside the value (see [`signable`]).
pub fn sign_item(key: &SecretKey, salt: &[u8], seq: i64, value: &[u8]) -> [u8; 64] {
    key.sign(&signable(salt, seq, value))
}

/// Whether `signature` is `key`'s strict ed25519 signature (no small-order
/// keys, no malleable signatures) of the mutable item `salt`, `seq`,
/// `value`: what readers check of every item, whatever the DHT library
/// accepted.
pub fn verify_item(
    key: &PublicKey,
    salt: &[u8],
    seq: i64,
    value: &[u8],
    signature: &[u8; 64],
) -> bool {
    key.verify_strict(&signable(salt, seq, value), signature)
}

/// `new` first, then `old`, without duplicates: what a writer puts back
/// on a board it appends to.
pub fn merge(new: &[InfoHash], old: &[InfoHash]) -> Vec<InfoHash> {
    let mut seen = std::collections::HashSet::new();
    new.iter()
        .chain(old)
        .filter(|h| seen.insert(**h))
        .copied()
        .collect()
}

/// A user's outbox: who they are, what they wrote and upvoted, whom they
/// follow, and the replies to their posts they have seen. Each list is
/// newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outbox {
    /// A display name.
    pub name: Option<String>,
    /// A few words about the user.
    pub about: Option<String>,
    /// Posts and comments the user wrote.
    pub posts: Vec<InfoHash>,
    /// Posts and comments the user upvotes (seeds).
    pub upvotes: Vec<InfoHash>,
    /// Keys the user follows.
    pub follows: Vec<PublicKey>,
    /// Comments on the user's posts, kept so that an erased reply board
    /// cannot erase a thread.
    pub replies: Vec<InfoHash>,
    /// The newest version of the user's outbox index (the signed torrent
    /// of the `index` module), which holds everything the lists here had
    /// to leave out.
    pub index: Option<InfoHash>,
}

fn concat<'a>(items: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    items.flatten().copied().collect()
}

impl Outbox {
    /// The canonical bencoded value: a dict with `a` (about), `f`
    /// (follows, 32-byte keys), `i` (the index infohash), `n` (name), `p` (posts), `r` (replies), `u`
    /// (upvotes), lists as concatenated fixed-size entries, empty ones
    /// left out. Lists are cut, oldest entries first, replies before
    /// upvotes before follows before posts, until the value fits.
    pub fn encode(&self) -> Result<Vec<u8>, ItemError> {
        for (field, text, max) in [
            ("display name", &self.name, MAX_NAME),
            ("about text", &self.about, MAX_ABOUT),
        ] {
            if let Some(text) = text
                && text.len() > max
            {
                return Err(ItemError::TextTooLong {
                    field,
                    len: text.len(),
                    max,
                });
            }
        }
        let mut fit = self.clone();
        loop {
            let value = fit.write();
            if value.len() <= MAX_ITEM_VALUE {
                return Ok(value);
            }
            if fit.replies.pop().is_none()
                && fit.upvotes.pop().is_none()
                && fit.follows.pop().is_none()
                && fit.posts.pop().is_none()
            {
                return Err(ItemError::TooLarge {
                    what: "outbox",
                    len: value.len(),
                    fix: "shorten the display name or the about text",
                });
            }
        }
    }

    fn write(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(MAX_ITEM_VALUE);
        let hashes = |list: &[InfoHash]| concat(list.iter().map(|h| h.as_bytes().as_slice()));
        let follows = concat(self.follows.iter().map(|k| k.as_bytes().as_slice()));
        w.dict(|d| {
            if let Some(about) = &self.about {
                d.key(b"a").bytes(about.as_bytes());
            }
            if !follows.is_empty() {
                d.key(b"f").bytes(&follows);
            }
            if let Some(index) = &self.index {
                d.key(b"i").bytes(index.as_bytes());
            }
            if let Some(name) = &self.name {
                d.key(b"n").bytes(name.as_bytes());
            }
            if !self.posts.is_empty() {
                d.key(b"p").bytes(&hashes(&self.posts));
            }
            if !self.replies.is_empty() {
                d.key(b"r").bytes(&hashes(&self.replies));
            }
            if !self.upvotes.is_empty() {
                d.key(b"u").bytes(&hashes(&self.upvotes));
            }
        });
        w.into_bytes()
    }

    /// Reads an outbox value. Unknown keys are ignored, for later versions.
    pub fn decode(value: &[u8]) -> Result<Self, ItemError> {
        let malformed = |reason: String| ItemError::Malformed {
            what: "outbox",
            reason,
        };
        let Value::Dict(pairs) = bencode::decode(value).map_err(|e| malformed(e.to_string()))?
        else {
            return Err(malformed("it is not a dictionary".into()));
        };
        let mut out = Self::default();
        for (key, value) in pairs {
            let Value::Bytes(bytes) = value else {
                return Err(malformed(format!(
                    "`{}` is a {}",
                    String::from_utf8_lossy(key),
                    value.type_name()
                )));
            };
            let text = || {
                String::from_utf8(bytes.to_vec())
                    .map_err(|_| malformed("a text is not UTF-8".into()))
            };
            let hashes = || -> Result<Vec<InfoHash>, ItemError> {
                if bytes.len() % 20 != 0 {
                    return Err(malformed("a list of infohashes has a partial entry".into()));
                }
                Ok(bytes
                    .chunks_exact(20)
                    .filter_map(|c| <[u8; 20]>::try_from(c).ok())
                    .map(InfoHash::from_bytes)
                    .collect())
            };
            match key {
                b"a" => out.about = Some(text()?),
                b"n" => out.name = Some(text()?),
                b"p" => out.posts = hashes()?,
                b"r" => out.replies = hashes()?,
                b"u" => out.upvotes = hashes()?,
                b"i" => {
                    out.index = Some(InfoHash::from_bytes(
                        <[u8; 20]>::try_from(bytes)
                            .map_err(|_| malformed("the index infohash is not 20 bytes".into()))?,
                    ));
                }
                b"f" => {
                    if bytes.len() % 32 != 0 {
                        return Err(malformed("the follows have a partial key".into()));
                    }
                    out.follows = bytes
                        .chunks_exact(32)
                        .filter_map(|c| <[u8; 32]>::try_from(c).ok())
                        .filter_map(|c| PublicKey::from_bytes(&c).ok())
                        .collect();
                }
                _ => {}
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_boards_overflow_to_salted_items() {
        assert_eq!(board_salt(0), BOARD_SALT);
        assert_eq!(board_salt(2), b"upseed/board/1/2");
        let now = 1_800_000_000_000_000;
        assert!(!is_frozen(now + FROZEN_AHEAD_MICROS, now));
        assert!(is_frozen(now + FROZEN_AHEAD_MICROS + 1, now));
        assert!(is_frozen(i64::MAX, now));
        assert!(!is_frozen(i64::MIN, i64::MAX), "no overflow at the edges");
    }

    #[test]
    fn the_signed_message_is_bep_44s_with_the_value_as_a_byte_string() {
        assert_eq!(
            signable(b"s", 7, b"u1"),
            b"4:salt1:s3:seqi7e1:v2:u1".to_vec()
        );
        assert_eq!(signable(b"", -1, b""), b"3:seqi-1e1:v0:".to_vec());
    }

    fn h(n: u8) -> InfoHash {
        InfoHash::from_bytes([n; 20])
    }

    fn e(n: u8) -> BoardEntry {
        BoardEntry {
            hash: h(n),
            nonce: u64::from(n) << 40,
        }
    }

    #[test]
    fn boards_round_trip_drop_duplicates_and_cap() {
        let value = encode_board(&[e(1), e(2), e(1)]);
        assert_eq!(value.len(), 2 + 2 * BOARD_ENTRY_LEN);
        assert_eq!(decode_board(&value).unwrap(), vec![e(1), e(2)]);
        let many: Vec<BoardEntry> = (0..=255).map(e).collect();
        let full = encode_board(&many);
        assert!(full.len() <= MAX_ITEM_VALUE);
        assert_eq!(decode_board(&full).unwrap().len(), BOARD_CAPACITY);
        assert_eq!(BOARD_CAPACITY, 35);
        assert!(decode_board(b"u2abc").is_err());
        assert!(decode_board(b"u1").is_err(), "a board of the old format");
        assert!(decode_board(b"xx").is_err());
        assert_eq!(
            merge_entries(&[e(3), e(1)], &[e(1), e(2)]),
            vec![e(3), e(1), e(2)]
        );
        assert_eq!(merge(&[h(3), h(1)], &[h(1), h(2)]), vec![h(3), h(1), h(2)]);
    }

    #[test]
    fn an_entry_proves_work_only_with_its_solved_nonce() {
        let entry = BoardEntry::solve(h(7));
        assert!(entry.proves_work());
        let forged = BoardEntry {
            nonce: entry.nonce + 1,
            ..entry
        };
        assert!(!forged.proves_work());
    }

    #[test]
    fn board_keys_are_derived_from_public_facts() {
        let rust = Community::normalize("rust").unwrap();
        let go = Community::normalize("go").unwrap();
        let a = community_board(&rust, 10, 0).public_key();
        assert_eq!(a, community_board(&rust, 10, 0).public_key());
        assert_ne!(a, community_board(&rust, 11, 0).public_key());
        assert_ne!(a, community_board(&rust, 10, 1).public_key());
        assert_ne!(a, community_board(&go, 10, 0).public_key());
        assert_ne!(
            reply_board(h(1)).public_key(),
            reply_board(h(2)).public_key()
        );
        assert_eq!(bucket_of(BUCKET_SECS * 3 + 5), 3);
        assert!(shard_of(h(7)) < SHARDS);
    }

    #[test]
    fn outboxes_round_trip_and_cut_to_fit() {
        let me = SecretKey::from_seed(&[1; 32]).public_key();
        let outbox = Outbox {
            name: Some("alice".into()),
            about: Some("writes about seeds".into()),
            posts: vec![h(1), h(2)],
            upvotes: vec![h(3)],
            follows: vec![me],
            replies: vec![h(4)],
            index: Some(h(5)),
        };
        let value = outbox.encode().unwrap();
        crate::check_canonical(&value).unwrap();
        assert_eq!(Outbox::decode(&value).unwrap(), outbox);

        let busy = Outbox {
            posts: (0..40).map(h).collect(),
            replies: (40..80).map(h).collect(),
            ..outbox.clone()
        };
        let value = busy.encode().unwrap();
        assert!(value.len() <= MAX_ITEM_VALUE);
        let back = Outbox::decode(&value).unwrap();
        assert_eq!(back.posts.len(), 40, "posts are cut last");
        assert!(back.replies.len() < 40);
        assert_eq!(back.replies[0], h(40), "the newest replies stay");

        let long = Outbox {
            about: Some("x".repeat(MAX_ABOUT + 1)),
            ..Outbox::default()
        };
        assert!(matches!(long.encode(), Err(ItemError::TextTooLong { .. })));
        assert!(Outbox::decode(b"i1e").is_err());
        assert!(Outbox::decode(b"d1:p3:abce").is_err());
        assert_eq!(Outbox::decode(b"d1:z1:?e").unwrap(), Outbox::default());
    }
}
