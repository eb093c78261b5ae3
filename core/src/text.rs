//! Text rules: what a body, a title and a community name may contain.
//!
//! Records carry text only. Bodies are UTF-8 with line feeds and tabs allowed;
//! titles are a single line; community names are short lowercase ASCII slugs.
//! Creation normalises CRLF to LF; verification accepts only normalised text.

use std::fmt;

use crate::Kind;

/// Largest post body, in bytes of UTF-8.
pub const MAX_POST_BODY: usize = 40_000;
/// Largest comment body, in bytes of UTF-8.
pub const MAX_COMMENT_BODY: usize = 10_000;
/// Largest title, in bytes of UTF-8.
pub const MAX_TITLE: usize = 300;
/// Largest community name, in bytes.
pub const MAX_COMMUNITY: usize = 48;

/// Which piece of text broke a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The body of a post or comment.
    Body,
    /// A post's title.
    Title,
    /// A post's community name.
    Community,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Body => "body",
            Self::Title => "title",
            Self::Community => "community name",
        })
    }
}

/// A text rule was broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TextError {
    /// Nothing to post.
    #[error("the {field} is empty; write at least one character")]
    Empty {
        /// The text in question.
        field: Field,
    },
    /// Over the size cap.
    #[error("the {field} is {len} bytes, over the limit of {max}; shorten it")]
    TooLong {
        /// The text in question.
        field: Field,
        /// Its size in bytes.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// Not UTF-8: binary data is refused.
    #[error(
        "the {field} is not valid UTF-8 (first bad byte at offset {offset}); upseed carries text only"
    )]
    NotUtf8 {
        /// The text in question.
        field: Field,
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
    /// A control character other than line feed or tab (or any, in a title).
    #[error(
        "the {field} contains control character U+{code:04X} at byte {offset}; remove it (only line feeds and tabs are allowed in a body)"
    )]
    ControlCharacter {
        /// The text in question.
        field: Field,
        /// Byte offset of the character.
        offset: usize,
        /// Its code point.
        code: u32,
    },
    /// A bidirectional embedding, override or isolate, which can make text
    /// display differently from what it says.
    #[error("the {field} contains bidirectional control U+{code:04X} at byte {offset}; remove it")]
    Bidi {
        /// The text in question.
        field: Field,
        /// Byte offset of the character.
        offset: usize,
        /// Its code point.
        code: u32,
    },
    /// A community name outside `[a-z0-9][a-z0-9_-]*`.
    #[error(
        "`{name}` is not a community name: use lowercase letters, digits, `-` and `_`, starting with a letter or digit"
    )]
    BadCommunity {
        /// The name given.
        name: String,
    },
}

/// Bidirectional embeddings, overrides and isolates (the "Trojan Source" set).
/// Marks such as U+200E stay allowed: right-to-left text needs them.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Checks the rules shared by all text fields.
fn check_chars(text: &str, field: Field, allow_lf_tab: bool) -> Result<(), TextError> {
    for (offset, c) in text.char_indices() {
        if c.is_control() && !(allow_lf_tab && (c == '\n' || c == '\t')) {
            return Err(TextError::ControlCharacter {
                field,
                offset,
                code: c as u32,
            });
        }
        if is_bidi_control(c) {
            return Err(TextError::Bidi {
                field,
                offset,
                code: c as u32,
            });
        }
    }
    Ok(())
}

fn check_len(len: usize, field: Field, max: usize) -> Result<(), TextError> {
    if len == 0 {
        return Err(TextError::Empty { field });
    }
    if len > max {
        return Err(TextError::TooLong { field, len, max });
    }
    Ok(())
}

/// Largest body a record of this kind may carry.
pub const fn max_body(kind: Kind) -> usize {
    match kind {
        Kind::Post => MAX_POST_BODY,
        Kind::Comment => MAX_COMMENT_BODY,
    }
}

/// A record's body: checked UTF-8 text within its kind's cap.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Body(String);

impl Body {
    /// Normalises CRLF to LF, then checks the rules for a body of `kind`.
    pub fn new(text: &str, kind: Kind) -> Result<Self, TextError> {
        let text = if text.contains('\r') {
            text.replace("\r\n", "\n")
        } else {
            text.to_owned()
        };
        Self::check(&text, kind)?;
        Ok(Self(text))
    }

    /// Checks received bytes exactly as they are, with no normalisation.
    pub fn from_bytes(bytes: &[u8], kind: Kind) -> Result<Self, TextError> {
        // Check the size first, so that oversized input is not scanned.
        check_len(bytes.len(), Field::Body, max_body(kind))?;
        let text = std::str::from_utf8(bytes).map_err(|e| TextError::NotUtf8 {
            field: Field::Body,
            offset: e.valid_up_to(),
        })?;
        Self::check(text, kind)?;
        Ok(Self(text.to_owned()))
    }

    fn check(text: &str, kind: Kind) -> Result<(), TextError> {
        check_len(text.len(), Field::Body, max_body(kind))?;
        check_chars(text, Field::Body, true)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text's bytes, exactly as they are seeded.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// A post's title: one line, at most [`MAX_TITLE`] bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Title(String);

impl Title {
    /// Checks a title. Tabs and line breaks are refused.
    pub fn new(text: &str) -> Result<Self, TextError> {
        check_len(text.len(), Field::Title, MAX_TITLE)?;
        check_chars(text, Field::Title, false)?;
        Ok(Self(text.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A community name: `[a-z0-9][a-z0-9_-]*`, at most [`MAX_COMMUNITY`] bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Community(String);

impl Community {
    /// Checks a community name exactly as given.
    pub fn new(name: &str) -> Result<Self, TextError> {
        check_len(name.len(), Field::Community, MAX_COMMUNITY)?;
        let bytes = name.as_bytes();
        let allowed =
            |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-' || *b == b'_';
        if !bytes.iter().all(allowed) || !bytes[0].is_ascii_alphanumeric() {
            return Err(TextError::BadCommunity {
                name: name.chars().take(80).collect(),
            });
        }
        Ok(Self(name.to_owned()))
    }

    /// Lowercases ASCII letters and trims, then checks: what a user types.
    pub fn normalize(name: &str) -> Result<Self, TextError> {
        Self::new(&name.trim().to_ascii_lowercase())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_becomes_lf_at_creation_only() {
        assert_eq!(Body::new("a\r\nb", Kind::Post).unwrap().as_str(), "a\nb");
        assert!(matches!(
            Body::from_bytes(b"a\r\nb", Kind::Post),
            Err(TextError::ControlCharacter { code: 0x0D, .. })
        ));
        // A lone CR is not a line ending we know how to normalise.
        assert!(Body::new("a\rb", Kind::Post).is_err());
    }

    #[test]
    fn caps_depend_on_kind() {
        let post = "x".repeat(MAX_POST_BODY);
        assert!(Body::new(&post, Kind::Post).is_ok());
        assert!(matches!(
            Body::new(&post, Kind::Comment),
            Err(TextError::TooLong {
                max: MAX_COMMENT_BODY,
                ..
            })
        ));
        assert!(Body::new(&format!("{post}x"), Kind::Post).is_err());
    }

    #[test]
    fn multibyte_text_counts_bytes() {
        // 3 bytes each: the cap is in bytes, not characters.
        let text = "€".repeat(MAX_TITLE / 3 + 1);
        assert!(matches!(Title::new(&text), Err(TextError::TooLong { .. })));
        assert!(Title::new("שלום \u{200F}world").is_ok());
    }

    #[test]
    fn control_and_bidi() {
        assert!(Body::new("tab\tand\nnewline", Kind::Post).is_ok());
        assert!(matches!(
            Title::new("two\nlines"),
            Err(TextError::ControlCharacter {
                code: 10,
                offset: 3,
                ..
            })
        ));
        assert!(matches!(
            Body::new("a\u{7f}", Kind::Post),
            Err(TextError::ControlCharacter { code: 0x7f, .. })
        ));
        assert!(matches!(
            Body::new("a\u{85}", Kind::Post),
            Err(TextError::ControlCharacter { code: 0x85, .. })
        ));
        assert!(matches!(
            Body::new("evil\u{202E}txt", Kind::Post),
            Err(TextError::Bidi { code: 0x202E, .. })
        ));
        assert!(matches!(
            Title::new("\u{2066}x"),
            Err(TextError::Bidi { code: 0x2066, .. })
        ));
    }

    #[test]
    fn binary_is_refused_with_offset() {
        assert_eq!(
            Body::from_bytes(b"ok\xff\xfe", Kind::Post),
            Err(TextError::NotUtf8 {
                field: Field::Body,
                offset: 2
            })
        );
    }

    #[test]
    fn community_names() {
        assert_eq!(Community::normalize(" Rust ").unwrap().as_str(), "rust");
        assert!(Community::new("rust-lang_2").is_ok());
        for bad in ["Rust", "-x", "a b", "ü", "a/b", "../x"] {
            assert!(
                matches!(Community::new(bad), Err(TextError::BadCommunity { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            Community::new(&"a".repeat(MAX_COMMUNITY + 1)),
            Err(TextError::TooLong { .. })
        ));
    }
}
