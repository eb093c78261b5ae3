//! The signed header of a record and the exact bytes its signature covers.

use sha2::{Digest, Sha256};

use crate::bencode::{DictWriter, Writer};
use crate::text::{Community, Title};
use crate::{InfoHash, PublicKey};

/// The protocol version this crate writes and verifies.
pub const PROTOCOL_VERSION: i64 = 1;

/// Prefix of every signed message: keeps record signatures apart from any
/// other message signed with the same key (BEP 44 items begin `3:seq` or
/// `4:salt`, and later upseed formats use their own prefix).
pub const SIGNING_DOMAIN: &[u8] = b"upseed/record/v1\0";

/// Whether a record is a post or a comment.
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
pub enum Kind {
    /// A top-level post.
    Post,
    /// A reply to a post or to another comment.
    Comment,
}

impl Kind {
    /// The value of the header's `kind` key.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Post => "post",
            Self::Comment => "comment",
        }
    }
}

/// What only posts or only comments carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Context {
    /// A post, with its optional title and community.
    Post {
        /// Optional one-line title.
        title: Option<Title>,
        /// Optional community name.
        community: Option<Community>,
    },
    /// A comment, naming what it answers.
    Comment {
        /// The post or comment this one answers.
        parent: InfoHash,
        /// The post at the top of the thread (equal to `parent` for a top-level comment).
        root: InfoHash,
    },
}

impl Context {
    /// The kind this context belongs to.
    pub const fn kind(&self) -> Kind {
        match self {
            Self::Post { .. } => Kind::Post,
            Self::Comment { .. } => Kind::Comment,
        }
    }
}

/// Every header field except the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unsigned {
    pub(crate) author: PublicKey,
    pub(crate) created: i64,
    pub(crate) context: Context,
    /// SHA-256 of the body.
    pub(crate) sha256: [u8; 32],
    /// Body length in bytes (the info dict's `length`).
    pub(crate) length: i64,
    /// SHA-1 of each 16 KiB piece of the body (the info dict's `pieces`).
    pub(crate) pieces: Vec<u8>,
}

/// Which of the two header dictionaries to write.
enum Form<'a> {
    /// The message that is signed: adds `length` and `pieces`, omits `sig`.
    Signed,
    /// The `upseed` value in the info dict: adds `sig`, omits `length`.
    Stored(&'a [u8; 64]),
}

impl Unsigned {
    /// Writes the header keys in ascending order, interleaving `length`,
    /// `pieces` or `sig` as `form` asks.
    fn write(&self, d: &mut DictWriter<'_>, form: &Form<'_>) {
        d.key(b"author").bytes(self.author.as_bytes());
        if let Context::Post {
            community: Some(c), ..
        } = &self.context
        {
            d.key(b"community").bytes(c.as_str().as_bytes());
        }
        d.key(b"created").int(self.created);
        d.key(b"kind")
            .bytes(self.context.kind().as_str().as_bytes());
        if let Form::Signed = form {
            d.key(b"length").int(self.length);
        }
        if let Context::Comment { parent, .. } = &self.context {
            d.key(b"parent").bytes(parent.as_bytes());
        }
        if let Form::Signed = form {
            d.key(b"pieces").bytes(&self.pieces);
        }
        if let Context::Comment { root, .. } = &self.context {
            d.key(b"root").bytes(root.as_bytes());
        }
        d.key(b"sha256").bytes(&self.sha256);
        if let Form::Stored(sig) = form {
            d.key(b"sig").bytes(sig.as_slice());
        }
        if let Context::Post { title: Some(t), .. } = &self.context {
            d.key(b"title").bytes(t.as_str().as_bytes());
        }
        d.key(b"version").int(PROTOCOL_VERSION);
    }

    /// The exact bytes the author signs: [`SIGNING_DOMAIN`] then the bencoded
    /// header with `length` and `pieces` and without `sig`. Every byte of the
    /// info dict is thus signed or derived from signed data.
    pub(crate) fn signed_message(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(512);
        w.raw(SIGNING_DOMAIN);
        w.dict(|d| self.write(d, &Form::Signed));
        w.into_bytes()
    }

    /// The file name every client shows and saves the body under:
    /// `upseed-` + the first 16 bytes of SHA-256(signed message) in hex + `.txt`.
    pub(crate) fn file_name(signed_message: &[u8]) -> String {
        let digest = Sha256::digest(signed_message);
        format!("upseed-{}.txt", hex::encode(&digest[..16]))
    }

    /// Writes the `upseed` dict of the info dict.
    pub(crate) fn write_stored(&self, d: &mut DictWriter<'_>, sig: &[u8; 64]) {
        d.key(b"upseed").dict(|h| self.write(h, &Form::Stored(sig)));
    }
}
