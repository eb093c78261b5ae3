//! Mutes: what a reader chose not to see or seed, and the matcher that
//! tells whether a record is muted and by which entry.
//!
//! Four kinds: an author (their key), a thread (a post's or comment's
//! infohash: the record, its replies, and for a post its whole thread), a
//! community, and a word or phrase. Words match whole words only,
//! case-insensitively: a text is split into runs of letters and digits,
//! lowercased, and a phrase matches where its words appear in a row. An
//! entry may expire; an expired entry matches nothing.

use std::collections::{HashMap, HashSet};
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
    /// The subscribed mute list it came from (its author's key, z-base-32);
    /// absent for the reader's own mutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<String>,
}

impl fmt::Display for MutedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            MuteKind::Word => write!(f, "the muted word \"{}\"", self.value)?,
            kind => write!(f, "the muted {kind} {}", self.value)?,
        }
        match &self.list {
            Some(list) => write!(f, " on the mute list of {list}"),
            None => Ok(()),
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

/// One entry of a set: when it expires, and the subscribed list it came
/// from (an index into [`Mutes::lists`]), if not the reader's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Held {
    until: Option<u64>,
    list: Option<u32>,
}

/// A set of mutes, ready to match records against: the reader's own and
/// those of the lists they subscribe to. Building it is linear in its
/// entries; matching a record costs a few hash lookups per word of its
/// text, whatever the number of entries. A list's entries never hide a
/// record by an exempt author (the reader and whoever they follow); the
/// reader's own entries hide anything.
#[derive(Debug, Clone, Default)]
pub struct Mutes {
    authors: HashMap<[u8; 32], Held>,
    threads: HashMap<InfoHash, Held>,
    communities: HashMap<String, Held>,
    words: HashMap<String, Held>,
    longest_phrase: usize,
    lists: Vec<PublicKey>,
    exempt: HashSet<[u8; 32]>,
}

impl Mutes {
    /// The set of `entries`, the reader's own; each is a target and when it
    /// expires.
    pub fn new(entries: impl IntoIterator<Item = (MuteTarget, Option<u64>)>) -> Self {
        let mut mutes = Self::default();
        for (target, until) in entries {
            mutes.insert(target, until);
        }
        mutes
    }

    /// Adds the reader's own `target`, expiring at `until` (never if
    /// `None`). It replaces a list's entry for the same target.
    pub fn insert(&mut self, target: MuteTarget, until: Option<u64>) {
        let held = Held { until, list: None };
        match target {
            MuteTarget::Author(key) => {
                self.authors.insert(*key.as_bytes(), held);
            }
            MuteTarget::Thread(hash) => {
                self.threads.insert(hash, held);
            }
            MuteTarget::Community(c) => {
                self.communities.insert(c.as_str().to_owned(), held);
            }
            MuteTarget::Word(phrase) => self.insert_phrase(phrase, held, true),
        }
    }

    fn insert_phrase(&mut self, phrase: String, held: Held, replace: bool) {
        let n = phrase.split(' ').count();
        self.longest_phrase = self.longest_phrase.max(n);
        put(&mut self.words, phrase, held, replace);
    }

    /// Adds an entry of `kind` as a store keeps it: `value` already in its
    /// canonical form ([`MuteTarget::value`]), the reader's own. Cheaper
    /// than [`MuteTarget::parse`] (a key is not decompressed, a phrase not
    /// split again); returns `false` for a value that is not in canonical
    /// form.
    pub fn insert_canonical(&mut self, kind: MuteKind, value: &str, until: Option<u64>) -> bool {
        self.insert_held(kind, value, Held { until, list: None })
    }

    /// Adds an entry of the subscribed list `list`, as
    /// [`Mutes::insert_canonical`] does; an entry the reader holds already
    /// (their own, or another list's) is kept.
    pub fn insert_listed(
        &mut self,
        list: PublicKey,
        kind: MuteKind,
        value: &str,
        until: Option<u64>,
    ) -> bool {
        let index = match self.lists.iter().position(|l| *l == list) {
            Some(i) => i,
            None => {
                self.lists.push(list);
                self.lists.len() - 1
            }
        };
        let list = Some(u32::try_from(index).unwrap_or(u32::MAX));
        self.insert_held(kind, value, Held { until, list })
    }

    fn insert_held(&mut self, kind: MuteKind, value: &str, held: Held) -> bool {
        let replace = held.list.is_none();
        match kind {
            MuteKind::Author => match PublicKey::z32_bytes(value) {
                Some(bytes) => {
                    put(&mut self.authors, bytes, held, replace);
                    true
                }
                None => false,
            },
            MuteKind::Thread => match value.parse::<InfoHash>() {
                Ok(hash) => {
                    put(&mut self.threads, hash, held, replace);
                    true
                }
                Err(_) => false,
            },
            MuteKind::Community => {
                let ok = !value.is_empty() && value.len() <= crate::text::MAX_COMMUNITY;
                if ok {
                    put(&mut self.communities, value.to_owned(), held, replace);
                }
                ok
            }
            MuteKind::Word => {
                let ok = !value.is_empty()
                    && value.len() <= MAX_PHRASE_LEN
                    && words(value).collect::<Vec<_>>().join(" ") == value;
                if ok {
                    self.insert_phrase(value.to_owned(), held, replace);
                }
                ok
            }
        }
    }

    /// Exempts `key` from the subscribed lists: their entries never hide a
    /// record `key` wrote, nor `key` itself. For the reader and the keys
    /// they follow.
    pub fn exempt(&mut self, key: PublicKey) {
        self.exempt.insert(*key.as_bytes());
    }

    /// The subscribed lists whose entries the set holds, by their authors.
    pub fn lists(&self) -> &[PublicKey] {
        &self.lists
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
        let exempt = self.exempt.contains(key.as_bytes());
        hit(self.authors.get(key.as_bytes()), now, exempt).is_some()
    }

    /// Whether the thread or record `hash` is muted as of `now`.
    pub fn thread(&self, hash: &InfoHash, now: u64) -> bool {
        hit(self.threads.get(hash), now, false).is_some()
    }

    /// Whether `community` is muted as of `now`.
    pub fn community(&self, community: &str, now: u64) -> bool {
        hit(self.communities.get(community), now, false).is_some()
    }

    /// The entry that mutes `record` as of `now`, if any: its author, its
    /// thread (itself, its parent or its root), its community, then the
    /// first muted word or phrase in its title and body.
    pub fn check(&self, record: &Record, now: u64) -> Option<MutedBy> {
        if self.is_empty() {
            return None;
        }
        let author = record.author();
        let exempt = self.exempt.contains(author.as_bytes());
        let by = |kind, value: String, held: Held| {
            let list = held
                .list
                .and_then(|i| self.lists.get(i as usize))
                .map(PublicKey::to_z32);
            Some(MutedBy { kind, value, list })
        };
        if let Some(held) = hit(self.authors.get(author.as_bytes()), now, exempt) {
            return by(MuteKind::Author, author.to_z32(), held);
        }
        for hash in [Some(record.infohash()), record.parent(), record.root()]
            .into_iter()
            .flatten()
        {
            if let Some(held) = hit(self.threads.get(&hash), now, exempt) {
                return by(MuteKind::Thread, hash.to_string(), held);
            }
        }
        if let Some(c) = record.community()
            && let Some(held) = hit(self.communities.get(c.as_str()), now, exempt)
        {
            return by(MuteKind::Community, c.as_str().to_owned(), held);
        }
        if self.words.is_empty() {
            return None;
        }
        let title = record.title().map_or("", |t| t.as_str());
        let body = record.body().map_or("", |b| b.as_str());
        [title, body]
            .into_iter()
            .find_map(|text| self.phrase_hit(text, now, exempt))
            .and_then(|(phrase, held)| by(MuteKind::Word, phrase, held))
    }

    /// The first muted phrase in `text`, as of `now`.
    pub fn phrase_in(&self, text: &str, now: u64) -> Option<String> {
        self.phrase_hit(text, now, false).map(|(phrase, _)| phrase)
    }

    /// The first phrase in `text` muted as of `now` by an entry that counts
    /// (the reader's own only, when the author is `exempt`).
    fn phrase_hit(&self, text: &str, now: u64, exempt: bool) -> Option<(String, Held)> {
        if self.words.is_empty() {
            return None;
        }
        let words: Vec<std::borrow::Cow<'_, str>> = words_in(text).collect();
        if self.longest_phrase <= 1 {
            return words.iter().find_map(|w| {
                hit(self.words.get(w.as_ref()), now, exempt).map(|held| (w.to_string(), held))
            });
        }
        let mut phrase = String::new();
        for start in 0..words.len() {
            phrase.clear();
            for (n, word) in words[start..].iter().take(self.longest_phrase).enumerate() {
                if n > 0 {
                    phrase.push(' ');
                }
                phrase.push_str(word);
                if let Some(held) = hit(self.words.get(phrase.as_str()), now, exempt) {
                    return Some((phrase, held));
                }
            }
        }
        None
    }
}

/// Puts `held` under `key`: always when `replace`, else only where the
/// set holds nothing yet.
fn put<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Held>, key: K, held: Held, replace: bool) {
    if replace {
        map.insert(key, held);
    } else {
        map.entry(key).or_insert(held);
    }
}

/// The entry found, if it holds at `now` and counts: a list's entry does
/// not count against an `exempt` author.
fn hit(found: Option<&Held>, now: u64, exempt: bool) -> Option<Held> {
    found
        .filter(|h| h.until.is_none_or(|until| now < until))
        .filter(|h| !(exempt && h.list.is_some()))
        .copied()
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
                value: "like rust".to_owned(),
                list: None,
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
                value: "rust".to_owned(),
                list: None,
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

    #[test]
    fn lists_name_themselves_and_never_hide_exempt_authors() {
        let alice = SecretKey::from_seed(&[1; 32]).public_key();
        let list = SecretKey::from_seed(&[9; 32]).public_key();
        let record = post("a post about spoilers", Some("rust"));
        let mut mutes = Mutes::default();
        assert!(mutes.insert_listed(list, MuteKind::Word, "spoilers", None));
        assert!(mutes.insert_listed(list, MuteKind::Author, &alice.to_z32(), None));
        let by = mutes.check(&record, NOW).expect("muted by the list");
        assert_eq!(by.list, Some(list.to_z32()));
        assert!(
            by.to_string()
                .ends_with(&format!("on the mute list of {list}")),
            "{by}"
        );
        mutes.exempt(alice);
        assert_eq!(mutes.check(&record, NOW), None);
        assert!(!mutes.author(&alice, NOW));
        // The reader's own entry hides an exempt author, and a list does
        // not take it over.
        mutes.insert(MuteTarget::word("post").expect("word"), None);
        assert!(!mutes.insert_listed(list, MuteKind::Word, "Not Canonical", None));
        mutes.insert_listed(list, MuteKind::Word, "post", None);
        let own = mutes.check(&record, NOW).expect("own mute");
        assert_eq!((own.value.as_str(), own.list), ("post", None));
        assert_eq!(mutes.lists(), [list]);
    }
}
