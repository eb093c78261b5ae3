//! Mutes: what a reader chose not to see or seed, and the matcher that
//! tells whether a record is muted and by which entry.
//!
//! Four kinds: an author (their key), a thread (a post's or comment's
//! infohash: the record, its replies, and for a post its whole thread), a
//! community, and a word or phrase. Words match whole words only,
//! case-insensitively: a text is split into runs of letters and digits,
//! lowercased, and a phrase matches where its words appear in a row. An
//! entry may expire; an expired entry matches nothing.

use std::collections::HashMap;
use std::fmt;

use crate::{Community, InfoHash, PublicKey, Record};

/// The longest word or phrase a mute may hold, in bytes.
pub const MAX_PHRASE_LEN: usize = 200;

/// The most words a muted phrase may hold.
pub const MAX_PHRASE_WORDS: usize = 8;

/// What a mute names.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum MuteKind {
    /// An author, by key.
    Author,
    /// A post or comment and everything under it.
    Thread,
    /// A community.
    Community,
    /// A whole word or phrase.
    Word,
}

impl MuteKind {
    /// Every kind, in the order lists show them.
    pub const ALL: [Self; 4] = [Self::Author, Self::Thread, Self::Community, Self::Word];

    /// Its name: `author`, `thread`, `community` or `word`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Author => "author",
            Self::Thread => "thread",
            Self::Community => "community",
            Self::Word => "word",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for MuteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A mute's target, in its canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MuteTarget {
    /// An author.
    Author(PublicKey),
    /// A post or comment and what is under it.
    Thread(InfoHash),
    /// A community.
    Community(Community),
    /// A phrase: its words, lowercased, joined by single spaces.
    Word(String),
}

/// Why a mute's value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MuteError {
    /// The phrase holds no letters or digits.
    #[error("the phrase {0:?} has no letters or digits to match; mute a word")]
    NoWords(String),
    /// The phrase is too long.
    #[error(
        "the phrase {phrase:?} is too long ({words} words, {len} bytes); mute at most {MAX_PHRASE_WORDS} words and {MAX_PHRASE_LEN} bytes"
    )]
    TooLong {
        /// What was given.
        phrase: String,
        /// Its words.
        words: usize,
        /// Its length in bytes.
        len: usize,
    },
    /// The value is not a key, an infohash or a community name.
    #[error("{value:?} is not a valid {kind}: {reason}")]
    Invalid {
        /// The kind it was given as.
        kind: MuteKind,
        /// What was given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl MuteTarget {
    /// A word or phrase, as its words lowercased and joined by spaces.
    pub fn word(phrase: &str) -> Result<Self, MuteError> {
        let words: Vec<String> = words(phrase).collect();
        if words.is_empty() {
            return Err(MuteError::NoWords(phrase.to_owned()));
        }
        let joined = words.join(" ");
        if words.len() > MAX_PHRASE_WORDS || joined.len() > MAX_PHRASE_LEN {
            return Err(MuteError::TooLong {
                phrase: phrase.chars().take(80).collect(),
                words: words.len(),
                len: joined.len(),
            });
        }
        Ok(Self::Word(joined))
    }

    /// The target of kind `kind` written as `value`: a z-base-32 key, a
    /// hex infohash, a community name or a phrase.
    pub fn parse(kind: MuteKind, value: &str) -> Result<Self, MuteError> {
        let invalid = |reason: String| MuteError::Invalid {
            kind,
            value: value.chars().take(80).collect(),
            reason,
        };
        match kind {
            MuteKind::Author => value
                .parse::<PublicKey>()
                .map(Self::Author)
                .map_err(|e| invalid(e.to_string())),
            MuteKind::Thread => value
                .parse::<InfoHash>()
                .map(Self::Thread)
                .map_err(|e| invalid(e.to_string())),
            MuteKind::Community => Community::normalize(value)
                .map(Self::Community)
                .map_err(|e| invalid(e.to_string())),
            MuteKind::Word => Self::word(value),
        }
    }

    /// Its kind.
    pub fn kind(&self) -> MuteKind {
        match self {
            Self::Author(_) => MuteKind::Author,
            Self::Thread(_) => MuteKind::Thread,
            Self::Community(_) => MuteKind::Community,
            Self::Word(_) => MuteKind::Word,
        }
    }

    /// Its value as lists and the store write it.
    pub fn value(&self) -> String {
        match self {
            Self::Author(key) => key.to_z32(),
            Self::Thread(hash) => hash.to_string(),
            Self::Community(c) => c.as_str().to_owned(),
            Self::Word(phrase) => phrase.clone(),
        }
    }
}

/// One entry as a list shows it.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct MuteJson {
    /// What it names.
    pub kind: MuteKind,
    /// A key, an infohash, a community or a phrase, in canonical form.
    pub value: String,
    /// When it was muted, unix seconds.
    pub since: u64,
    /// When it stops, unix seconds; `null` for never.
    pub until: Option<u64>,
}

/// Why a record is hidden: the entry that matched.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct MutedBy {
    /// The kind of the entry.
    pub kind: MuteKind,
    /// Its value.
    pub value: String,
}

impl fmt::Display for MutedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            MuteKind::Word => write!(f, "the muted word \"{}\"", self.value),
            kind => write!(f, "the muted {kind} {}", self.value),
        }
    }
}

/// The lowercased words of `text`: its runs of letters and digits.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    words_in(text).map(std::borrow::Cow::into_owned)
}

/// [`words`], borrowing the words that are lowercase already.
fn words_in(text: &str) -> impl Iterator<Item = std::borrow::Cow<'_, str>> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            if w.chars().any(char::is_uppercase) {
                std::borrow::Cow::Owned(w.to_lowercase())
            } else {
                std::borrow::Cow::Borrowed(w)
            }
        })
}

/// A set of mutes, ready to match records against. Building it is linear
/// in its entries; matching a record costs a few hash lookups per word of
/// its text, whatever the number of entries.
#[derive(Debug, Clone, Default)]
pub struct Mutes {
    authors: HashMap<[u8; 32], Option<u64>>,
    threads: HashMap<InfoHash, Option<u64>>,
    communities: HashMap<String, Option<u64>>,
    words: HashMap<String, Option<u64>>,
    longest_phrase: usize,
}

impl Mutes {
    /// The set of `entries`; each is a target and when it expires.
    pub fn new(entries: impl IntoIterator<Item = (MuteTarget, Option<u64>)>) -> Self {
        let mut mutes = Self::default();
        for (target, until) in entries {
            mutes.insert(target, until);
        }
        mutes
    }

    /// Adds `target`, expiring at `until` (never if `None`).
    pub fn insert(&mut self, target: MuteTarget, until: Option<u64>) {
        match target {
            MuteTarget::Author(key) => {
                self.authors.insert(*key.as_bytes(), until);
            }
            MuteTarget::Thread(hash) => {
                self.threads.insert(hash, until);
            }
            MuteTarget::Community(c) => {
                self.communities.insert(c.as_str().to_owned(), until);
            }
            MuteTarget::Word(phrase) => self.insert_phrase(phrase, until),
        }
    }

    fn insert_phrase(&mut self, phrase: String, until: Option<u64>) {
        let n = phrase.split(' ').count();
        self.longest_phrase = self.longest_phrase.max(n);
        self.words.insert(phrase, until);
    }

    /// Adds an entry of `kind` as a store keeps it: `value` already in its
    /// canonical form ([`MuteTarget::value`]). Cheaper than
    /// [`MuteTarget::parse`] (a key is not decompressed, a phrase not split
    /// again); returns `false` for a value that is not in canonical form.
    pub fn insert_canonical(&mut self, kind: MuteKind, value: &str, until: Option<u64>) -> bool {
        match kind {
            MuteKind::Author => match PublicKey::z32_bytes(value) {
                Some(bytes) => {
                    self.authors.insert(bytes, until);
                    true
                }
                None => false,
            },
            MuteKind::Thread => match value.parse::<InfoHash>() {
                Ok(hash) => {
                    self.threads.insert(hash, until);
                    true
                }
                Err(_) => false,
            },
            MuteKind::Community => {
                let ok = !value.is_empty() && value.len() <= crate::text::MAX_COMMUNITY;
                if ok {
                    self.communities.insert(value.to_owned(), until);
                }
                ok
            }
            MuteKind::Word => {
                let ok = !value.is_empty()
                    && value.len() <= MAX_PHRASE_LEN
                    && words(value).collect::<Vec<_>>().join(" ") == value;
                if ok {
                    self.insert_phrase(value.to_owned(), until);
                }
                ok
            }
        }
    }

    /// Whether there is no entry at all.
    pub fn is_empty(&self) -> bool {
        self.authors.is_empty()
            && self.threads.is_empty()
            && self.communities.is_empty()
            && self.words.is_empty()
    }

    /// How many entries there are, expired ones included.
    pub fn len(&self) -> usize {
        self.authors.len() + self.threads.len() + self.communities.len() + self.words.len()
    }

    /// Whether `key` is muted as of `now`.
    pub fn author(&self, key: &PublicKey, now: u64) -> bool {
        live(self.authors.get(key.as_bytes()), now)
    }

    /// Whether the thread or record `hash` is muted as of `now`.
    pub fn thread(&self, hash: &InfoHash, now: u64) -> bool {
        live(self.threads.get(hash), now)
    }

    /// Whether `community` is muted as of `now`.
    pub fn community(&self, community: &str, now: u64) -> bool {
        live(self.communities.get(community), now)
    }

    /// The entry that mutes `record` as of `now`, if any: its author, its
    /// thread (itself, its parent or its root), its community, then the
    /// first muted word or phrase in its title and body.
    pub fn check(&self, record: &Record, now: u64) -> Option<MutedBy> {
        if self.is_empty() {
            return None;
        }
        let by = |kind, value: String| Some(MutedBy { kind, value });
        let author = record.author();
        if self.author(&author, now) {
            return by(MuteKind::Author, author.to_z32());
        }
        for hash in [Some(record.infohash()), record.parent(), record.root()]
            .into_iter()
            .flatten()
        {
            if self.thread(&hash, now) {
                return by(MuteKind::Thread, hash.to_string());
            }
        }
        if let Some(c) = record.community()
            && self.community(c.as_str(), now)
        {
            return by(MuteKind::Community, c.as_str().to_owned());
        }
        if self.words.is_empty() {
            return None;
        }
        let title = record.title().map_or("", |t| t.as_str());
        let body = record.body().map_or("", |b| b.as_str());
        [title, body]
            .into_iter()
            .find_map(|text| self.phrase_in(text, now))
            .and_then(|phrase| by(MuteKind::Word, phrase))
    }

    /// The first muted phrase in `text`, as of `now`.
    pub fn phrase_in(&self, text: &str, now: u64) -> Option<String> {
        if self.words.is_empty() {
            return None;
        }
        let words: Vec<std::borrow::Cow<'_, str>> = words_in(text).collect();
        if self.longest_phrase <= 1 {
            return words
                .iter()
                .find(|w| live(self.words.get(w.as_ref()), now))
                .map(|w| w.to_string());
        }
        let mut phrase = String::new();
        for start in 0..words.len() {
            phrase.clear();
            for (n, word) in words[start..].iter().take(self.longest_phrase).enumerate() {
                if n > 0 {
                    phrase.push(' ');
                }
                phrase.push_str(word);
                if live(self.words.get(phrase.as_str()), now) {
                    return Some(phrase);
                }
            }
        }
        None
    }
}

/// Whether an entry found with expiry `until` holds at `now`.
fn live(until: Option<&Option<u64>>, now: u64) -> bool {
    match until {
        Some(Some(until)) => now < *until,
        Some(None) => true,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CommentDraft, PostDraft, SecretKey};

    const NOW: u64 = 1_763_683_200;

    fn post(text: &str, community: Option<&str>) -> Record {
        let mut draft = PostDraft::new(text)
            .expect("body")
            .title("A title")
            .expect("title");
        if let Some(c) = community {
            draft = draft.community(c).expect("community");
        }
        draft
            .sign(&SecretKey::from_seed(&[1; 32]), NOW)
            .expect("sign")
    }

    fn word(phrase: &str) -> Mutes {
        Mutes::new([(MuteTarget::word(phrase).expect("phrase"), None)])
    }

    #[test]
    fn words_match_whole_and_case_insensitively() {
        let record = post("I like Rust, and crabs. Ünïcode WÖRDS too.", None);
        for muted in ["rust", "RUST", "crabs", "wörds", "like rust", "title"] {
            assert!(word(muted).check(&record, NOW).is_some(), "{muted}");
        }
        for kept in ["rus", "rusty", "crab", "rust crabs", "like  and"] {
            assert_eq!(word(kept).check(&record, NOW), None, "{kept}");
        }
        assert_eq!(
            word("Like   RUST!").check(&record, NOW),
            Some(MutedBy {
                kind: MuteKind::Word,
                value: "like rust".to_owned()
            })
        );
    }

    #[test]
    fn expired_entries_match_nothing() {
        let record = post("spoilers ahead", None);
        let target = MuteTarget::word("spoilers").expect("word");
        let mutes = Mutes::new([(target, Some(NOW + 10))]);
        assert!(mutes.check(&record, NOW + 9).is_some());
        assert_eq!(mutes.check(&record, NOW + 10), None);
    }

    #[test]
    fn authors_threads_and_communities_match_their_records() {
        let alice = SecretKey::from_seed(&[1; 32]).public_key();
        let bob = SecretKey::from_seed(&[2; 32]);
        let root = post("a post", Some("rust"));
        let reply = CommentDraft::reply_to("a reply", &root)
            .expect("reply")
            .sign(&bob, NOW)
            .expect("sign");
        let nested = CommentDraft::reply_to("nested", &reply)
            .expect("nested")
            .sign(&bob, NOW)
            .expect("sign");
        let by_author = Mutes::new([(MuteTarget::Author(alice), None)]);
        assert!(by_author.check(&root, NOW).is_some());
        assert_eq!(by_author.check(&reply, NOW), None);
        let by_thread = Mutes::new([(MuteTarget::Thread(root.infohash()), None)]);
        for r in [&root, &reply, &nested] {
            assert!(by_thread.check(r, NOW).is_some());
        }
        let by_reply = Mutes::new([(MuteTarget::Thread(reply.infohash()), None)]);
        assert_eq!(by_reply.check(&root, NOW), None);
        assert!(by_reply.check(&nested, NOW).is_some());
        let community = Community::normalize("Rust").expect("community");
        let by_community = Mutes::new([(MuteTarget::Community(community), None)]);
        assert_eq!(
            by_community.check(&root, NOW),
            Some(MutedBy {
                kind: MuteKind::Community,
                value: "rust".to_owned()
            })
        );
    }

    #[test]
    fn bad_phrases_are_refused_with_the_fix() {
        assert!(matches!(
            MuteTarget::word("!!! ..."),
            Err(MuteError::NoWords(_))
        ));
        let long = "word ".repeat(MAX_PHRASE_WORDS + 1);
        assert!(matches!(
            MuteTarget::word(&long),
            Err(MuteError::TooLong { .. })
        ));
        let huge = "x".repeat(MAX_PHRASE_LEN + 1);
        assert!(matches!(
            MuteTarget::word(&huge),
            Err(MuteError::TooLong { .. })
        ));
        let err = MuteTarget::parse(MuteKind::Author, "not-a-key").expect_err("bad key");
        assert!(err.to_string().contains("not a valid author"), "{err}");
    }

    #[test]
    fn targets_round_trip_through_their_values() {
        let key = SecretKey::from_seed(&[3; 32]).public_key();
        let targets = [
            MuteTarget::Author(key),
            MuteTarget::Thread(post("x", None).infohash()),
            MuteTarget::Community(Community::normalize("Rust").expect("community")),
            MuteTarget::word("Two Words").expect("word"),
        ];
        let record = post("two words", Some("rust"));
        for target in targets {
            let back = MuteTarget::parse(target.kind(), &target.value()).expect("parse");
            assert_eq!(back, target);
            let mut stored = Mutes::default();
            assert!(stored.insert_canonical(target.kind(), &target.value(), None));
            let parsed = Mutes::new([(target.clone(), None)]);
            assert_eq!(stored.check(&record, NOW), parsed.check(&record, NOW));
        }
        let mut stored = Mutes::default();
        for (kind, value) in [
            (MuteKind::Author, "not-a-key"),
            (MuteKind::Thread, "zz"),
            (MuteKind::Word, "Not Canonical"),
            (MuteKind::Community, ""),
        ] {
            assert!(
                !stored.insert_canonical(kind, value, None),
                "{kind} {value}"
            );
        }
        assert!(stored.is_empty());
    }
}
