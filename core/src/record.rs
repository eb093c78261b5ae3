//! Records: building, signing and holding a verified post or comment.

use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::bencode::Writer;
use crate::header::{Context, Kind, Unsigned};
use crate::text::{Body, Community, TextError, Title};
use crate::{InfoHash, PublicKey, SecretKey};

/// Every record's piece length: 16 KiB, the smallest Transmission accepts.
pub const PIECE_LENGTH: i64 = 16_384;

/// How far in the future a record's `created` time may lie, in seconds, to
/// allow for clock skew between author and reader.
pub const MAX_FUTURE_SKEW: u64 = 600;

/// A draft could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The creation time is beyond what a bencoded integer can hold.
    #[error("creation time {0} is out of range; pass unix seconds such as the current time")]
    TimeOutOfRange(u64),
}

/// A post waiting to be signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostDraft {
    body: Body,
    title: Option<Title>,
    community: Option<Community>,
}

impl PostDraft {
    /// Starts a post. CRLF becomes LF; the text rules apply.
    pub fn new(body: &str) -> Result<Self, TextError> {
        Ok(Self {
            body: Body::new(body, Kind::Post)?,
            title: None,
            community: None,
        })
    }

    /// Sets the one-line title.
    pub fn title(mut self, title: &str) -> Result<Self, TextError> {
        self.title = Some(Title::new(title)?);
        Ok(self)
    }

    /// Sets the community, lowercasing ASCII letters as users type them.
    pub fn community(mut self, name: &str) -> Result<Self, TextError> {
        self.community = Some(Community::normalize(name)?);
        Ok(self)
    }

    /// Signs the post as of `created` (unix seconds). Deterministic.
    pub fn sign(&self, key: &SecretKey, created: u64) -> Result<Record, BuildError> {
        let context = Context::Post {
            title: self.title.clone(),
            community: self.community.clone(),
        };
        Record::sign(key, created, context, self.body.clone())
    }
}

/// A comment waiting to be signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentDraft {
    body: Body,
    parent: InfoHash,
    root: InfoHash,
}

impl CommentDraft {
    /// A comment on `parent` in the thread of `root`. For a top-level comment
    /// both are the post's infohash.
    pub fn new(body: &str, parent: InfoHash, root: InfoHash) -> Result<Self, TextError> {
        Ok(Self {
            body: Body::new(body, Kind::Comment)?,
            parent,
            root,
        })
    }

    /// A comment answering a verified record: its root is taken from it.
    pub fn reply_to(body: &str, parent: &Record) -> Result<Self, TextError> {
        Self::new(
            body,
            parent.infohash(),
            parent.root().unwrap_or(parent.infohash()),
        )
    }

    /// Signs the comment as of `created` (unix seconds). Deterministic.
    pub fn sign(&self, key: &SecretKey, created: u64) -> Result<Record, BuildError> {
        let context = Context::Comment {
            parent: self.parent,
            root: self.root,
        };
        Record::sign(key, created, context, self.body.clone())
    }
}

/// A verified post or comment.
///
/// The only ways to get one are signing a draft or verifying received bytes,
/// so holding a `Record` means its signature, layout and text rules hold.
/// The body is present once it has been checked against the signed hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub(crate) header: Unsigned,
    pub(crate) signature: [u8; 64],
    pub(crate) name: String,
    pub(crate) info: Vec<u8>,
    pub(crate) infohash: InfoHash,
    pub(crate) body: Option<Body>,
}

/// SHA-1 of each 16 KiB piece, concatenated.
pub(crate) fn pieces_of(body: &[u8]) -> Vec<u8> {
    body.chunks(PIECE_LENGTH as usize)
        .flat_map(|piece| <[u8; 20]>::from(Sha1::digest(piece)))
        .collect()
}

/// Number of pieces for a body of `length` bytes.
pub(crate) fn piece_count(length: i64) -> usize {
    usize::try_from(length.max(0).unsigned_abs().div_ceil(PIECE_LENGTH as u64))
        .unwrap_or(usize::MAX)
}

/// The canonical info dict for a header, its signature and its name.
pub(crate) fn info_bytes(header: &Unsigned, signature: &[u8; 64], name: &str) -> Vec<u8> {
    let mut w = Writer::with_capacity(512);
    w.dict(|d| {
        d.key(b"length").int(header.length);
        d.key(b"name").bytes(name.as_bytes());
        d.key(b"piece length").int(PIECE_LENGTH);
        d.key(b"pieces").bytes(&header.pieces);
        header.write_stored(d, signature);
    });
    w.into_bytes()
}

impl Record {
    fn sign(
        key: &SecretKey,
        created: u64,
        context: Context,
        body: Body,
    ) -> Result<Self, BuildError> {
        let created = i64::try_from(created).map_err(|_| BuildError::TimeOutOfRange(created))?;
        let bytes = body.as_bytes();
        let header = Unsigned {
            author: key.public_key(),
            created,
            context,
            sha256: Sha256::digest(bytes).into(),
            // Bodies are capped far below i64::MAX.
            length: bytes.len() as i64,
            pieces: pieces_of(bytes),
        };
        let message = header.signed_message();
        let signature = key.sign(&message);
        let name = Unsigned::file_name(&message);
        let info = info_bytes(&header, &signature, &name);
        Ok(Self {
            infohash: InfoHash::of_info(&info),
            header,
            signature,
            name,
            info,
            body: Some(body),
        })
    }

    /// The infohash: the record's id everywhere.
    pub fn infohash(&self) -> InfoHash {
        self.infohash
    }

    /// Post or comment.
    pub fn kind(&self) -> Kind {
        self.header.context.kind()
    }

    /// The author's key.
    pub fn author(&self) -> PublicKey {
        self.header.author
    }

    /// Creation time, unix seconds, as the author claims it.
    pub fn created(&self) -> u64 {
        // Verified non-negative on every path that builds a Record.
        self.header.created.unsigned_abs()
    }

    /// Post or comment specifics.
    pub fn context(&self) -> &Context {
        &self.header.context
    }

    /// A post's title.
    pub fn title(&self) -> Option<&Title> {
        match &self.header.context {
            Context::Post { title, .. } => title.as_ref(),
            Context::Comment { .. } => None,
        }
    }

    /// A post's community.
    pub fn community(&self) -> Option<&Community> {
        match &self.header.context {
            Context::Post { community, .. } => community.as_ref(),
            Context::Comment { .. } => None,
        }
    }

    /// What a comment answers.
    pub fn parent(&self) -> Option<InfoHash> {
        match self.header.context {
            Context::Comment { parent, .. } => Some(parent),
            Context::Post { .. } => None,
        }
    }

    /// The post at the top of a comment's thread.
    pub fn root(&self) -> Option<InfoHash> {
        match self.header.context {
            Context::Comment { root, .. } => Some(root),
            Context::Post { .. } => None,
        }
    }

    /// The body, once checked.
    pub fn body(&self) -> Option<&Body> {
        self.body.as_ref()
    }

    /// Body length in bytes.
    pub fn length(&self) -> u64 {
        self.header.length.unsigned_abs()
    }

    /// How many 16 KiB pieces the body has.
    pub fn piece_count(&self) -> u32 {
        u32::try_from(self.header.pieces.len() / 20).unwrap_or(u32::MAX)
    }

    /// Piece `index`: its length and the SHA-1 the author signed, or
    /// `None` past the last piece.
    pub fn piece(&self, index: u32) -> Option<(u32, [u8; 20])> {
        let at = usize::try_from(index).ok()?.checked_mul(20)?;
        let hash = <[u8; 20]>::try_from(self.header.pieces.get(at..at + 20)?).ok()?;
        let start = u64::from(index) * PIECE_LENGTH as u64;
        let len = self.length().saturating_sub(start).min(PIECE_LENGTH as u64);
        Some((u32::try_from(len).ok()?, hash))
    }

    /// SHA-256 of the body, as signed.
    pub fn body_sha256(&self) -> &[u8; 32] {
        &self.header.sha256
    }

    /// The ed25519 signature.
    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }

    /// The torrent's file name, which is also the body's file name on disk.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The raw info dict, whose SHA-1 is the infohash.
    pub fn info_bytes(&self) -> &[u8] {
        &self.info
    }

    /// The exact message the signature covers.
    pub fn signed_message(&self) -> Vec<u8> {
        self.header.signed_message()
    }
}
