//! Verification: from raw info bytes (and later the body) to a [`Record`].
//!
//! Checks run cheapest first, so that junk is refused before any hashing or
//! signature work: size, bencode, shape, field types and ranges, time, then
//! the signature, the name derived from the signed message, and last byte
//! equality with the canonical rebuild.

use sha2::{Digest, Sha256};

use crate::bencode::{self, BencodeError, Value};
use crate::header::{Context, Kind, PROTOCOL_VERSION, Unsigned};
use crate::record::{MAX_FUTURE_SKEW, PIECE_LENGTH, info_bytes, piece_count, pieces_of};
use crate::text::{self, Body, Community, TextError, Title};
use crate::{InfoHash, KeyError, PublicKey, Record};

/// Largest info dict accepted, in bytes. The largest valid one is under 1 KiB.
pub const MAX_INFO_LEN: usize = 4096;

/// Why bytes are not a valid upseed record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Too big to be a record; refused before decoding.
    #[error("the {what} is {len} bytes, over the limit of {max}; this is not an upseed record")]
    TooLarge {
        /// "torrent" or "info dict".
        what: &'static str,
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not canonical bencode.
    #[error("the {what} is not canonical bencode: {reason}")]
    Bencode {
        /// "torrent" or "info dict".
        what: &'static str,
        /// What is wrong with it (in the message, so not a source).
        reason: BencodeError,
    },
    /// A value of the wrong type.
    #[error("`{key}` must be a {expected}, found a {found}")]
    WrongType {
        /// Where: a key or dict name.
        key: String,
        /// The type required.
        expected: &'static str,
        /// The type found.
        found: &'static str,
    },
    /// A torrent without an info dict.
    #[error("the torrent has no `info` dictionary")]
    MissingInfo,
    /// A required key is absent.
    #[error("the {dict} dictionary lacks the key `{key}`")]
    MissingKey {
        /// "info" or "upseed".
        dict: &'static str,
        /// The key.
        key: &'static str,
    },
    /// A key the protocol does not allow.
    #[error("the {dict} dictionary has the key `{key}`, which upseed records must not carry")]
    UnexpectedKey {
        /// "info" or "upseed".
        dict: &'static str,
        /// The key, lossily decoded.
        key: String,
    },
    /// A multi-file torrent.
    #[error("the torrent has several files; an upseed record is a single text file")]
    MultiFile,
    /// The info dict has no `upseed` header: an ordinary torrent.
    #[error("the torrent has no `upseed` header: it is an ordinary torrent, not a post or comment")]
    NotARecord,
    /// A header version this implementation does not know.
    #[error(
        "the record uses protocol version {0}; this upseed understands version 1 only, so upgrade it"
    )]
    UnsupportedVersion(i64),
    /// A kind other than `post` or `comment`.
    #[error("the record's kind is `{0}`; expected `post` or `comment`")]
    UnknownKind(String),
    /// A fixed-size byte string of the wrong size.
    #[error("`{key}` must be {expected} bytes, found {found}")]
    BadLength {
        /// The key.
        key: &'static str,
        /// Required size.
        expected: usize,
        /// Actual size.
        found: usize,
    },
    /// The author key is unusable.
    #[error("the author key is unusable: {0}")]
    BadAuthor(KeyError),
    /// A comment that does not name its parent and root.
    #[error("the comment lacks `{0}`; a comment must name its parent and root infohashes")]
    CommentWithoutParent(&'static str),
    /// A post that names a parent or root.
    #[error("the post carries `{0}`, which only comments may carry")]
    PostWithParent(&'static str),
    /// A comment that carries a title or community.
    #[error("the comment carries `{0}`, which only posts may carry")]
    CommentWithPostField(&'static str),
    /// `length` is zero or negative.
    #[error("the body length is {0}; a record carries at least one byte")]
    EmptyBody(i64),
    /// `length` is over the cap for the kind.
    #[error("the body length is {length} bytes, over the {max}-byte limit for a {kind}")]
    BodyTooLong {
        /// The stated length.
        length: i64,
        /// The cap.
        max: usize,
        /// The record's kind.
        kind: &'static str,
    },
    /// A piece length other than 16384.
    #[error("the piece length is {0}; upseed records use 16384")]
    PieceLength(i64),
    /// `pieces` does not hold one SHA-1 per piece.
    #[error("`pieces` is {found} bytes; a {length}-byte body needs {expected}")]
    PiecesLength {
        /// Body length.
        length: i64,
        /// Required size.
        expected: usize,
        /// Actual size.
        found: usize,
    },
    /// A name that is not a plain `.txt` file name.
    #[error("the file name `{0}` is not a plain `upseed-<hex>.txt` name")]
    BadName(String),
    /// A name other than the one derived from the signed header.
    #[error(
        "the file name is `{found}`, but the signed header gives `{expected}`; the torrent was re-wrapped"
    )]
    NameMismatch {
        /// The derived name.
        expected: String,
        /// The name found.
        found: String,
    },
    /// A negative creation time.
    #[error("the creation time {0} is negative")]
    TimeOutOfRange(i64),
    /// A creation time too far ahead of the reader's clock.
    #[error(
        "the record claims to be created at {created}, more than {MAX_FUTURE_SKEW} s after now ({now}); check your clock, or wait"
    )]
    FromTheFuture {
        /// Claimed creation time.
        created: i64,
        /// The reader's clock.
        now: u64,
    },
    /// A title or community breaks a text rule.
    #[error(transparent)]
    Text(#[from] TextError),
    /// The signature does not verify under the author key.
    #[error("the signature does not verify under author {0}: the record was forged or altered")]
    BadSignature(String),
    /// Valid fields, but not in the one canonical encoding.
    #[error(
        "the info dict is not the canonical encoding of its own header; it was re-encoded or altered"
    )]
    NotCanonical,
    /// The body's size differs from the signed length.
    #[error(
        "the body is {found} bytes but the record says {expected}; the download is incomplete or altered"
    )]
    BodyLengthMismatch {
        /// Signed length.
        expected: u64,
        /// Actual size.
        found: usize,
    },
    /// The body's SHA-256 differs from the signed one.
    #[error("the body does not match the signed SHA-256; the file was altered")]
    BodyHashMismatch,
    /// The body does not match `pieces`.
    #[error("piece {0} of the body does not match the torrent's `pieces`")]
    PiecesMismatch(usize),
}

impl VerifyError {
    pub(crate) fn bencode(what: &'static str) -> impl FnOnce(BencodeError) -> Self {
        move |reason| Self::Bencode { what, reason }
    }
}

/// Reads dictionary pairs by key, refusing unknown keys.
pub(crate) struct Fields<'v, 'a> {
    dict: &'static str,
    pairs: &'v [(&'a [u8], Value<'a>)],
}

impl<'v, 'a> Fields<'v, 'a> {
    pub(crate) fn new(dict: &'static str, value: &'v Value<'a>) -> Result<Self, VerifyError> {
        match value {
            Value::Dict(pairs) => Ok(Self { dict, pairs }),
            other => Err(VerifyError::WrongType {
                key: dict.to_owned(),
                expected: "dictionary",
                found: other.type_name(),
            }),
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'v Value<'a>> {
        self.pairs
            .iter()
            .find(|(k, _)| *k == key.as_bytes())
            .map(|(_, v)| v)
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Refuses any key outside `allowed`.
    pub(crate) fn only(&self, allowed: &[&str]) -> Result<(), VerifyError> {
        match self
            .pairs
            .iter()
            .find(|(k, _)| !allowed.iter().any(|a| a.as_bytes() == *k))
        {
            Some((key, _)) => Err(VerifyError::UnexpectedKey {
                dict: self.dict,
                key: String::from_utf8_lossy(key).chars().take(64).collect(),
            }),
            None => Ok(()),
        }
    }

    pub(crate) fn required(&self, key: &'static str) -> Result<&'v Value<'a>, VerifyError> {
        self.get(key).ok_or(VerifyError::MissingKey {
            dict: self.dict,
            key,
        })
    }

    pub(crate) fn int(&self, key: &'static str) -> Result<i64, VerifyError> {
        match self.required(key)? {
            Value::Int(i) => Ok(*i),
            other => Err(wrong(key, "integer", other)),
        }
    }

    pub(crate) fn bytes(&self, key: &'static str) -> Result<&'a [u8], VerifyError> {
        self.required(key).and_then(|v| as_bytes(key, v))
    }

    pub(crate) fn fixed<const N: usize>(&self, key: &'static str) -> Result<[u8; N], VerifyError> {
        let bytes = self.bytes(key)?;
        bytes.try_into().map_err(|_| VerifyError::BadLength {
            key,
            expected: N,
            found: bytes.len(),
        })
    }

    fn text(&self, key: &'static str) -> Result<Option<&'a str>, VerifyError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let bytes = as_bytes(key, value)?;
        let field = if key == "title" {
            text::Field::Title
        } else {
            text::Field::Community
        };
        std::str::from_utf8(bytes).map(Some).map_err(|e| {
            VerifyError::Text(TextError::NotUtf8 {
                field,
                offset: e.valid_up_to(),
            })
        })
    }
}

fn wrong(key: &str, expected: &'static str, found: &Value<'_>) -> VerifyError {
    VerifyError::WrongType {
        key: key.to_owned(),
        expected,
        found: found.type_name(),
    }
}

fn as_bytes<'a>(key: &str, value: &Value<'a>) -> Result<&'a [u8], VerifyError> {
    match value {
        Value::Bytes(b) => Ok(b),
        other => Err(wrong(key, "byte string", other)),
    }
}

const INFO_KEYS: &[&str] = &["length", "name", "piece length", "pieces", "upseed"];
const POST_KEYS: &[&str] = &[
    "author",
    "community",
    "created",
    "kind",
    "sha256",
    "sig",
    "title",
    "version",
];
const COMMENT_KEYS: &[&str] = &[
    "author", "created", "kind", "parent", "root", "sha256", "sig", "version",
];

/// A name of the form `upseed-<32 lowercase hex>.txt`.
fn is_plain_name(name: &[u8]) -> bool {
    name.len() == 43
        && name.starts_with(b"upseed-")
        && name.ends_with(b".txt")
        && name[7..39]
            .iter()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn parse_context(header: &Fields<'_, '_>, kind: Kind) -> Result<Context, VerifyError> {
    let present = |keys: [&'static str; 2]| keys.into_iter().find(|k| header.has(k));
    let absent = |keys: [&'static str; 2]| keys.into_iter().find(|k| !header.has(k));
    match kind {
        Kind::Post => {
            if let Some(key) = present(["parent", "root"]) {
                return Err(VerifyError::PostWithParent(key));
            }
            header.only(POST_KEYS)?;
            Ok(Context::Post {
                title: header.text("title")?.map(Title::new).transpose()?,
                community: header.text("community")?.map(Community::new).transpose()?,
            })
        }
        Kind::Comment => {
            if let Some(key) = present(["title", "community"]) {
                return Err(VerifyError::CommentWithPostField(key));
            }
            if let Some(key) = absent(["parent", "root"]) {
                return Err(VerifyError::CommentWithoutParent(key));
            }
            header.only(COMMENT_KEYS)?;
            Ok(Context::Comment {
                parent: InfoHash::from_bytes(header.fixed("parent")?),
                root: InfoHash::from_bytes(header.fixed("root")?),
            })
        }
    }
}

impl Record {
    /// Verifies raw info-dict bytes (as in a .torrent file or fetched over
    /// BEP 9) against the reader's clock `now` (unix seconds).
    ///
    /// The body is not checked here; see [`Record::with_body`].
    pub fn from_info(info: &[u8], now: u64) -> Result<Self, VerifyError> {
        if info.len() > MAX_INFO_LEN {
            return Err(VerifyError::TooLarge {
                what: "info dict",
                len: info.len(),
                max: MAX_INFO_LEN,
            });
        }
        let value = bencode::decode(info).map_err(VerifyError::bencode("info dict"))?;
        let fields = Fields::new("info", &value)?;
        if fields.has("files") {
            return Err(VerifyError::MultiFile);
        }
        if !fields.has("upseed") {
            return Err(VerifyError::NotARecord);
        }
        fields.only(INFO_KEYS)?;
        let header = Fields::new("upseed", fields.required("upseed")?)?;

        let version = header.int("version")?;
        if version != PROTOCOL_VERSION {
            return Err(VerifyError::UnsupportedVersion(version));
        }
        let kind = match header.bytes("kind")? {
            b"post" => Kind::Post,
            b"comment" => Kind::Comment,
            other => {
                return Err(VerifyError::UnknownKind(
                    String::from_utf8_lossy(other).chars().take(32).collect(),
                ));
            }
        };
        let context = parse_context(&header, kind)?;

        let length = fields.int("length")?;
        if length < 1 {
            return Err(VerifyError::EmptyBody(length));
        }
        let max = text::max_body(kind);
        if length > max as i64 {
            return Err(VerifyError::BodyTooLong {
                length,
                max,
                kind: kind.as_str(),
            });
        }
        let piece_length = fields.int("piece length")?;
        if piece_length != PIECE_LENGTH {
            return Err(VerifyError::PieceLength(piece_length));
        }
        let pieces = fields.bytes("pieces")?;
        let expected = piece_count(length) * 20;
        if pieces.len() != expected {
            return Err(VerifyError::PiecesLength {
                length,
                expected,
                found: pieces.len(),
            });
        }
        let name = fields.bytes("name")?;
        if !is_plain_name(name) {
            return Err(VerifyError::BadName(
                String::from_utf8_lossy(name).chars().take(80).collect(),
            ));
        }

        let author_bytes = header.fixed::<32>("author")?;
        let author = PublicKey::from_bytes(&author_bytes).map_err(VerifyError::BadAuthor)?;
        let created = header.int("created")?;
        if created < 0 {
            return Err(VerifyError::TimeOutOfRange(created));
        }
        if created.unsigned_abs() > now.saturating_add(MAX_FUTURE_SKEW) {
            return Err(VerifyError::FromTheFuture { created, now });
        }
        let unsigned = Unsigned {
            author,
            created,
            context,
            sha256: header.fixed("sha256")?,
            length,
            pieces: pieces.to_vec(),
        };
        let signature = header.fixed::<64>("sig")?;

        let message = unsigned.signed_message();
        if !author.verify_strict(&message, &signature) {
            return Err(VerifyError::BadSignature(author.to_z32()));
        }
        let expected_name = Unsigned::file_name(&message);
        if name != expected_name.as_bytes() {
            return Err(VerifyError::NameMismatch {
                expected: expected_name,
                found: String::from_utf8_lossy(name).into_owned(),
            });
        }
        if info_bytes(&unsigned, &signature, &expected_name) != info {
            return Err(VerifyError::NotCanonical);
        }
        Ok(Self {
            infohash: InfoHash::of_info(info),
            header: unsigned,
            signature,
            name: expected_name,
            info: info.to_vec(),
            body: None,
        })
    }

    /// Checks a body against the signed length and SHA-256, the torrent's
    /// `pieces` and the text rules, and attaches it.
    pub fn with_body(mut self, body: &[u8]) -> Result<Self, VerifyError> {
        let expected = self.length();
        if body.len() as u64 != expected {
            return Err(VerifyError::BodyLengthMismatch {
                expected,
                found: body.len(),
            });
        }
        if <[u8; 32]>::from(Sha256::digest(body)) != self.header.sha256 {
            return Err(VerifyError::BodyHashMismatch);
        }
        let ours = pieces_of(body);
        if let Some(index) = self
            .header
            .pieces
            .chunks(20)
            .zip(ours.chunks(20))
            .position(|(a, b)| a != b)
        {
            return Err(VerifyError::PiecesMismatch(index));
        }
        self.body = Some(Body::from_bytes(body, self.kind())?);
        Ok(self)
    }
}
