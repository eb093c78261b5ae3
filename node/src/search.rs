//! Search over everything in the store: the query language every front end
//! shares (words, `author:`, `community:`), and the results with the
//! snippets that matched.
//!
//! Words match whole words in titles and bodies, case and accents folded;
//! a word ending in `*` matches as a prefix. `author:` takes a display
//! name, a full key or the first 6 or more characters of one;
//! `community:` takes a community's name. Every condition must hold.

use upseed_core::{Community, PublicKey, RecordJson};

use crate::Error;
use crate::feed::Names;
use crate::store::{HIT_END, HIT_START, SearchOrder, Store, StoreSearch};

/// The shortest key prefix `author:` takes, in characters.
pub const MIN_KEY_PREFIX: usize = 6;

/// Most words a query may have: FTS5 work grows with each.
pub const MAX_WORDS: usize = 16;

/// A search query could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    /// Nothing to look for.
    #[error(
        "the search is empty; give words, `author:NAME` or `community:NAME`, for example `upseed search compost community:garden`"
    )]
    Empty,
    /// Too many words.
    #[error("the search has {0} words; give at most {MAX_WORDS}")]
    TooManyWords(usize),
    /// A filter was given twice.
    #[error("`{0}:` is given twice; give it once")]
    Twice(&'static str),
    /// A filter without a value.
    #[error("`{0}:` needs a value, as in `{0}:NAME`")]
    NoValue(&'static str),
    /// The community name is not one.
    #[error("`community:{name}` is not a community name: {reason}")]
    BadCommunity {
        /// What was given.
        name: String,
        /// Why it is not a name.
        reason: String,
    },
    /// A word has nothing a word is made of.
    #[error("`{0}` has no letters or digits to search for; leave it out")]
    NoWord(String),
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedQuery {
    /// The words, as typed.
    pub words: Vec<String>,
    /// `author:`'s value.
    pub author: Option<String>,
    /// `community:`'s value, normalized.
    pub community: Option<String>,
}

impl ParsedQuery {
    /// Parses what a user typed.
    pub fn parse(text: &str) -> Result<Self, SearchError> {
        let mut query = Self::default();
        for token in text.split_whitespace() {
            let (filter, slot) = if let Some(value) = token.strip_prefix("author:") {
                ("author", Some((value, &mut query.author)))
            } else if let Some(value) = token.strip_prefix("community:") {
                ("community", Some((value, &mut query.community)))
            } else {
                ("", None)
            };
            match slot {
                Some((value, slot)) => {
                    if value.is_empty() {
                        return Err(SearchError::NoValue(filter));
                    }
                    if slot.is_some() {
                        return Err(SearchError::Twice(filter));
                    }
                    *slot = Some(value.to_owned());
                }
                None => {
                    if !token.chars().any(char::is_alphanumeric) {
                        return Err(SearchError::NoWord(token.to_owned()));
                    }
                    query.words.push(token.to_owned());
                }
            }
        }
        if let Some(name) = query.community.take() {
            let normalized =
                Community::normalize(&name).map_err(|e| SearchError::BadCommunity {
                    name: name.clone(),
                    reason: e.to_string(),
                })?;
            query.community = Some(normalized.as_str().to_owned());
        }
        if query.words.len() > MAX_WORDS {
            return Err(SearchError::TooManyWords(query.words.len()));
        }
        if query.words.is_empty() && query.author.is_none() && query.community.is_none() {
            return Err(SearchError::Empty);
        }
        Ok(query)
    }

    /// The FTS5 query for the words: each one quoted, so nothing a user
    /// types is FTS5 syntax, and a trailing `*` kept as a prefix match.
    pub fn matching(&self) -> Option<String> {
        if self.words.is_empty() {
            return None;
        }
        let quoted: Vec<String> = self
            .words
            .iter()
            .map(|word| {
                let (stem, prefix) = match word.strip_suffix('*') {
                    Some(stem) if stem.chars().any(char::is_alphanumeric) => (stem, "*"),
                    _ => (word.as_str(), ""),
                };
                format!("\"{}\"{prefix}", stem.replace('"', "\"\""))
            })
            .collect();
        Some(quoted.join(" "))
    }
}

/// The keys `author` names: a full key, the keys whose text form starts
/// with it, or those whose display name is it (case folded).
fn authors(store: &Store, names: &Names, author: &str) -> Result<Vec<PublicKey>, Error> {
    if let Ok(key) = author.parse::<PublicKey>() {
        return Ok(vec![key]);
    }
    let mut keys = names.named(author);
    if author.len() >= MIN_KEY_PREFIX {
        for key in store.authors_with_prefix(author)? {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    Ok(keys)
}

/// One part of a snippet: matched words, or the text around them.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct SnippetPart {
    /// The text.
    pub text: String,
    /// Whether it is a matched word.
    pub hit: bool,
}

/// One record that matched.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct SearchHit {
    /// Who seeds it now.
    pub seeders: u32,
    /// The display name the author's outbox gives, if known.
    pub author_name: Option<String>,
    /// Where the words matched, in order; the start of the body when the
    /// search had no words.
    pub snippet: Vec<SnippetPart>,
    /// The mute that covers it, when muted results are shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted: Option<upseed_core::mute::MutedBy>,
    /// Its author's edit or delete in force, if any; the words may have
    /// matched the latest version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit: Option<crate::feed::EditJson>,
    /// The post or comment.
    pub record: RecordJson,
}

/// `upseed search --json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct SearchJson {
    /// The query as given.
    pub query: String,
    /// `"new"` (most recently stored first) or `"relevance"`.
    pub order: String,
    /// How many results were skipped: the page's start.
    pub offset: usize,
    /// How many results on this page mutes cover: left out, or shown
    /// marked when asked.
    #[serde(default)]
    pub hidden: usize,
    /// The results.
    pub items: Vec<SearchHit>,
}

/// Splits FTS5's marked snippet into parts.
fn parts(snippet: &str) -> Vec<SnippetPart> {
    let mut out = Vec::new();
    let mut hit = false;
    let mut text = String::new();
    for c in snippet.chars() {
        if c == HIT_START || c == HIT_END {
            if !text.is_empty() {
                out.push(SnippetPart {
                    text: std::mem::take(&mut text),
                    hit,
                });
            }
            hit = c == HIT_START;
        } else {
            text.push(c);
        }
    }
    if !text.is_empty() {
        out.push(SnippetPart { text, hit });
    }
    out
}

/// The first words of `text`, at most `chars` characters, on one line.
fn opening(text: &str, chars: usize) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= chars {
        return line;
    }
    let mut cut: String = line.chars().take(chars).collect();
    if let Some(space) = cut.rfind(' ') {
        cut.truncate(space);
    }
    cut.push('…');
    cut
}

/// The search as [`crate::Node::search`] runs it, on `store`, naming
/// authors from `names`: at most `limit` results after `offset`, of which
/// `view` leaves out (or marks) the muted ones.
pub fn run(
    store: &Store,
    names: &Names,
    text: &str,
    order: SearchOrder,
    (limit, offset): (usize, usize),
    view: crate::feed::View<'_>,
) -> Result<SearchJson, Error> {
    let parsed = ParsedQuery::parse(text)?;
    let authors = match &parsed.author {
        Some(author) => Some(authors(store, names, author)?),
        None => None,
    };
    let hits = store.search(&StoreSearch {
        matching: parsed.matching(),
        authors,
        community: parsed.community.clone(),
        order,
        limit,
        offset,
    })?;
    let mut items = Vec::with_capacity(hits.len());
    let mut seen = std::collections::HashSet::new();
    let mut hidden = 0;
    let now = crate::now();
    let edited = crate::feed::Edited::load(store)?;
    for hit in hits {
        // A new version is found under the record it replaces, once.
        let id = store.replaced(hit.infohash)?.unwrap_or(hit.infohash);
        if !seen.insert(id) {
            continue;
        }
        let record = crate::feed::known(store, id)?;
        let (edit, latest) = edited.with_latest(store, &record)?;
        let Some(muted) = view.screen((&record, latest.as_ref()), now, &mut hidden) else {
            continue;
        };
        let snippet = match &hit.snippet {
            Some(marked) => parts(marked),
            None => {
                let body = record.body().map(|b| b.as_str()).unwrap_or_default();
                let text = opening(body, 160);
                if text.is_empty() {
                    Vec::new()
                } else {
                    vec![SnippetPart { text, hit: false }]
                }
            }
        };
        items.push(SearchHit {
            edit,
            seeders: store.current(id)?.seeders,
            author_name: names.get(&record.author()).map(str::to_owned),
            snippet,
            muted,
            record: record.to_json(),
        });
    }
    Ok(SearchJson {
        query: text.trim().to_owned(),
        order: match order {
            SearchOrder::New => "new",
            SearchOrder::Relevance => "relevance",
        }
        .to_owned(),
        offset,
        hidden,
        items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_parse_into_words_and_filters() {
        let q = ParsedQuery::parse("  compost author:alice community:Garden heap* ").unwrap();
        assert_eq!(q.words, vec!["compost", "heap*"]);
        assert_eq!(q.author.as_deref(), Some("alice"));
        assert_eq!(q.community.as_deref(), Some("garden"));
        assert_eq!(q.matching().unwrap(), "\"compost\" \"heap\"*");
    }

    #[test]
    fn fts_syntax_in_words_is_only_text() {
        let q = ParsedQuery::parse("a\"b OR NEAR(x) *").unwrap_err();
        assert_eq!(q, SearchError::NoWord("*".into()));
        let q = ParsedQuery::parse("a\"b OR NEAR(x)").unwrap();
        assert_eq!(q.matching().unwrap(), "\"a\"\"b\" \"OR\" \"NEAR(x)\"");
    }

    #[test]
    fn bad_queries_say_what_to_give() {
        assert_eq!(ParsedQuery::parse("  "), Err(SearchError::Empty));
        assert_eq!(
            ParsedQuery::parse("author:"),
            Err(SearchError::NoValue("author"))
        );
        assert_eq!(
            ParsedQuery::parse("community:a community:b"),
            Err(SearchError::Twice("community"))
        );
        let many = vec!["w"; MAX_WORDS + 1].join(" ");
        assert_eq!(
            ParsedQuery::parse(&many),
            Err(SearchError::TooManyWords(MAX_WORDS + 1))
        );
        assert!(matches!(
            ParsedQuery::parse("community:no/slash"),
            Err(SearchError::BadCommunity { .. })
        ));
    }

    #[test]
    fn snippets_split_at_the_marks() {
        assert_eq!(
            parts("…the \u{1}compost\u{2} heap"),
            vec![
                SnippetPart {
                    text: "…the ".into(),
                    hit: false
                },
                SnippetPart {
                    text: "compost".into(),
                    hit: true
                },
                SnippetPart {
                    text: " heap".into(),
                    hit: false
                },
            ]
        );
        assert_eq!(opening("one  two\nthree", 9), "one two…");
        assert_eq!(opening("short", 9), "short");
    }
}
