//! Supersede records: how an author edits or deletes a post or comment
//! of theirs while every record stays immutable (PROTOCOL.md §19).
//!
//! A supersede record names a target (the record's first infohash, which
//! stays its id), a replacement record or none for a delete, and a
//! sequence number, signed by the target's author. The latest sequence
//! wins; a delete is final. It is small enough to be the value of a
//! BEP 44 item, which lives under the author's key at a salt derived from
//! the target, so that any reader holding the target can look for it.

use crate::bencode::{self, Value, Writer};
use crate::{InfoHash, Kind, PublicKey, Record, SecretKey};

/// Prefix of every signed supersede message.
pub const SUPERSEDE_SIGNING_DOMAIN: &[u8] = b"upseed/supersede/v1\0";

/// The format version this crate writes and reads.
pub const SUPERSEDE_VERSION: i64 = 1;

/// The start of the salt of a target's supersede item; the target's
/// infohash in lowercase hex follows (59 bytes in all, under BEP 44's 64).
pub const SUPERSEDE_SALT_PREFIX: &[u8] = b"upseed/supersede/1/";

/// The largest encoded supersede record a reader accepts.
pub const MAX_SUPERSEDE_LEN: usize = 512;

/// Why a supersede record was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SupersedeError {
    /// The bytes are not a supersede record.
    #[error("not a supersede record: {0}")]
    Malformed(String),
    /// A version this crate does not know.
    #[error("supersede record version {0} is unknown; a newer upseed may read it")]
    Version(i64),
    /// The signature does not verify.
    #[error("the supersede record of {target} is not signed by {author}; it was forged or altered")]
    Signature {
        /// The record it claims to supersede.
        target: InfoHash,
        /// The key it claims, in z-base-32.
        author: String,
    },
    /// Signed by someone other than the target's author.
    #[error(
        "the supersede record of {target} is signed by {signer}, not by its author {author}; only the author can edit or delete it"
    )]
    NotTheAuthor {
        /// The record it claims to supersede.
        target: InfoHash,
        /// Who signed it, in z-base-32.
        signer: String,
        /// Who wrote the target, in z-base-32.
        author: String,
    },
    /// The replacement is not a fit version of the target.
    #[error("{replacement} cannot replace {target}: {reason}")]
    BadReplacement {
        /// The record superseded.
        target: InfoHash,
        /// The replacement named.
        replacement: InfoHash,
        /// What does not fit.
        reason: String,
    },
    /// A sequence number of zero, or a record that replaces itself.
    #[error("a supersede record needs {0}")]
    Invalid(&'static str),
}

/// A verified supersede record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supersede {
    author: PublicKey,
    target: InfoHash,
    replacement: Option<InfoHash>,
    seq: u64,
    signature: [u8; 64],
}

impl Supersede {
    /// `key`'s record that `replacement` (none: a delete) supersedes
    /// `target`, at `seq` (at least 1, higher than any before).
    pub fn sign(
        key: &SecretKey,
        target: InfoHash,
        replacement: Option<InfoHash>,
        seq: u64,
    ) -> Result<Self, SupersedeError> {
        if seq == 0 || i64::try_from(seq).is_err() {
            return Err(SupersedeError::Invalid(
                "a sequence number from 1 to 2^63 - 1",
            ));
        }
        if replacement == Some(target) {
            return Err(SupersedeError::Invalid(
                "a replacement other than its target",
            ));
        }
        let mut out = Self {
            author: key.public_key(),
            target,
            replacement,
            seq,
            signature: [0; 64],
        };
        out.signature = key.sign(&out.signed_message());
        Ok(out)
    }

    /// The message its author signs: the domain, then the signed dict.
    pub fn signed_message(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(160);
        w.raw(SUPERSEDE_SIGNING_DOMAIN);
        self.write(&mut w, false);
        w.into_bytes()
    }

    fn write(&self, w: &mut Writer, with_signature: bool) {
        w.dict(|d| {
            d.key(b"author").bytes(self.author.as_bytes());
            if let Some(replacement) = self.replacement {
                d.key(b"replacement").bytes(replacement.as_bytes());
            }
            d.key(b"seq").int(self.seq as i64);
            if with_signature {
                d.key(b"sig").bytes(&self.signature);
            }
            d.key(b"target").bytes(self.target.as_bytes());
            d.key(b"version").int(SUPERSEDE_VERSION);
        });
    }

    /// Its canonical bencoded form, signature included: what is stored,
    /// put on the DHT and listed in the outbox index.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(256);
        self.write(&mut w, true);
        w.into_bytes()
    }

    /// Reads and verifies an encoded record: canonical bencode, exactly
    /// the keys above, a known version, and its author's signature.
    pub fn decode(bytes: &[u8]) -> Result<Self, SupersedeError> {
        let malformed = |reason: String| SupersedeError::Malformed(reason);
        if bytes.len() > MAX_SUPERSEDE_LEN {
            return Err(malformed(format!(
                "{} bytes, over the {MAX_SUPERSEDE_LEN}-byte limit",
                bytes.len()
            )));
        }
        bencode::check_canonical(bytes).map_err(|e| malformed(e.to_string()))?;
        let Value::Dict(pairs) = bencode::decode(bytes).map_err(|e| malformed(e.to_string()))?
        else {
            return Err(malformed("it is not a dictionary".into()));
        };
        let (mut author, mut replacement, mut seq, mut sig, mut target, mut version) =
            (None, None, None, None, None, None);
        for (key, value) in pairs {
            let name = String::from_utf8_lossy(key);
            let fixed = |len: usize| match &value {
                Value::Bytes(b) if b.len() == len => Ok(*b),
                other => Err(malformed(format!(
                    "`{name}` is not {len} bytes ({})",
                    other.type_name()
                ))),
            };
            let int = || match &value {
                Value::Int(n) => Ok(*n),
                other => Err(malformed(format!("`{name}` is a {}", other.type_name()))),
            };
            match key {
                b"author" => author = Some(fixed(32)?),
                b"replacement" => replacement = Some(fixed(20)?),
                b"seq" => seq = Some(int()?),
                b"sig" => sig = Some(fixed(64)?),
                b"target" => target = Some(fixed(20)?),
                b"version" => version = Some(int()?),
                _ => return Err(malformed(format!("unknown key `{name}`"))),
            }
        }
        let missing = |key: &str| malformed(format!("`{key}` is missing"));
        let version = version.ok_or_else(|| missing("version"))?;
        if version != SUPERSEDE_VERSION {
            return Err(SupersedeError::Version(version));
        }
        let hash = |b: &[u8]| <[u8; 20]>::try_from(b).map(InfoHash::from_bytes).ok();
        let author = author
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| missing("author"))
            .and_then(|b| PublicKey::from_bytes(&b).map_err(|e| malformed(e.to_string())))?;
        let target = target.and_then(hash).ok_or_else(|| missing("target"))?;
        let seq = seq.ok_or_else(|| missing("seq"))?;
        let seq = u64::try_from(seq)
            .ok()
            .filter(|s| *s > 0)
            .ok_or_else(|| malformed(format!("`seq` {seq} is not positive")))?;
        let replacement = match replacement {
            Some(b) => Some(hash(b).ok_or_else(|| missing("replacement"))?),
            None => None,
        };
        if replacement == Some(target) {
            return Err(malformed("it replaces its target with itself".into()));
        }
        let signature = sig
            .and_then(|b| <[u8; 64]>::try_from(b).ok())
            .ok_or_else(|| missing("sig"))?;
        let out = Self {
            author,
            target,
            replacement,
            seq,
            signature,
        };
        if !author.verify_strict(&out.signed_message(), &signature) {
            return Err(SupersedeError::Signature {
                target,
                author: author.to_z32(),
            });
        }
        Ok(out)
    }

    /// Who signed it.
    pub fn author(&self) -> PublicKey {
        self.author
    }

    /// The record it supersedes: that record's id.
    pub fn target(&self) -> InfoHash {
        self.target
    }

    /// The new version, or `None` for a delete.
    pub fn replacement(&self) -> Option<InfoHash> {
        self.replacement
    }

    /// Whether it deletes its target.
    pub fn is_delete(&self) -> bool {
        self.replacement.is_none()
    }

    /// Its sequence number.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Its signature.
    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }

    /// Checks that `target` is the record it names and that its author
    /// signed this.
    pub fn check_target(&self, target: &Record) -> Result<(), SupersedeError> {
        if target.infohash() != self.target {
            return Err(SupersedeError::Invalid("the record it names as its target"));
        }
        if target.author() != self.author {
            return Err(SupersedeError::NotTheAuthor {
                target: self.target,
                signer: self.author.to_z32(),
                author: target.author().to_z32(),
            });
        }
        Ok(())
    }

    /// Checks that `replacement` can stand for `target`: the one this
    /// names, by the same author, of the same kind, and for a comment
    /// under the same parent in the same thread.
    pub fn check_replacement(
        &self,
        target: &Record,
        replacement: &Record,
    ) -> Result<(), SupersedeError> {
        self.check_target(target)?;
        let bad = |reason: &str| SupersedeError::BadReplacement {
            target: self.target,
            replacement: replacement.infohash(),
            reason: reason.to_owned(),
        };
        if Some(replacement.infohash()) != self.replacement {
            return Err(bad("it is not the replacement the record names"));
        }
        if replacement.author() != target.author() {
            return Err(bad("it has another author"));
        }
        if replacement.kind() != target.kind() {
            return Err(bad("a post and a comment cannot replace each other"));
        }
        if target.kind() == Kind::Comment
            && (replacement.parent() != target.parent() || replacement.root() != target.root())
        {
            return Err(bad("it answers another record"));
        }
        Ok(())
    }

    /// Whether this takes the place of `current`, the record in force for
    /// the same target. A delete is final and beats every edit, whatever
    /// their `seq`; between edits the higher `seq` wins. The outcome does
    /// not depend on the order records arrive in.
    pub fn overrides(&self, current: Option<&Self>) -> bool {
        match current {
            None => true,
            Some(current) if current.is_delete() => false,
            Some(_) if self.is_delete() => true,
            Some(current) => self.seq > current.seq,
        }
    }
}

/// The record in force among `records` (all of one target): folded with
/// [`Supersede::overrides`], so the order they come in does not matter.
pub fn in_force<'a>(records: impl IntoIterator<Item = &'a Supersede>) -> Option<&'a Supersede> {
    records.into_iter().fold(None, |current, record| {
        if record.overrides(current) {
            Some(record)
        } else {
            current
        }
    })
}

/// The salt of `target`'s supersede item, under its author's key.
pub fn item_salt(target: InfoHash) -> Vec<u8> {
    let mut salt = SUPERSEDE_SALT_PREFIX.to_vec();
    salt.extend_from_slice(target.to_hex().as_bytes());
    salt
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CommentDraft, PostDraft};

    const NOW: u64 = 1_763_683_200;

    fn alice() -> SecretKey {
        SecretKey::from_seed(&[1; 32])
    }

    fn post(text: &str) -> Record {
        PostDraft::new(text).unwrap().sign(&alice(), NOW).unwrap()
    }

    #[test]
    fn edits_and_deletes_round_trip_and_verify() {
        let (old, new) = (post("first"), post("second"));
        let edit = Supersede::sign(&alice(), old.infohash(), Some(new.infohash()), 1).unwrap();
        let bytes = edit.encode();
        assert!(bytes.len() < 300, "fits a DHT item: {}", bytes.len());
        let back = Supersede::decode(&bytes).unwrap();
        assert_eq!(back, edit);
        back.check_replacement(&old, &new).unwrap();
        let delete = Supersede::sign(&alice(), old.infohash(), None, 2).unwrap();
        assert!(Supersede::decode(&delete.encode()).unwrap().is_delete());
        assert_eq!(item_salt(old.infohash()).len(), 59);
    }

    #[test]
    fn the_latest_wins_and_a_delete_is_final() {
        let (old, new) = (post("first"), post("second"));
        let sign = |r, s| Supersede::sign(&alice(), old.infohash(), r, s).unwrap();
        let (one, two) = (sign(Some(new.infohash()), 1), sign(Some(new.infohash()), 2));
        assert!(one.overrides(None));
        assert!(two.overrides(Some(&one)));
        assert!(!one.overrides(Some(&two)), "an older edit never rolls back");
        assert!(!two.overrides(Some(&two)));
        let delete = sign(None, 3);
        assert!(delete.overrides(Some(&two)));
        for later in [sign(Some(new.infohash()), 9), sign(None, 10)] {
            assert!(!later.overrides(Some(&delete)), "a delete is final");
        }
        // Whatever the order they arrive in, a delete wins.
        let late_edit = sign(Some(new.infohash()), 9);
        let early_delete = sign(None, 1);
        assert!(early_delete.overrides(Some(&late_edit)));
        assert!(!late_edit.overrides(Some(&early_delete)));
        for order in [
            [&one, &delete, &two],
            [&two, &one, &delete],
            [&delete, &two, &one],
        ] {
            assert!(in_force(order).unwrap().is_delete());
        }
        assert_eq!(in_force([&two, &one]), Some(&two));
    }

    #[test]
    fn forgeries_and_misfits_are_refused() {
        let (old, new) = (post("first"), post("second"));
        let mallory = SecretKey::from_seed(&[6; 32]);
        let forged = Supersede::sign(&mallory, old.infohash(), None, 1).unwrap();
        assert!(matches!(
            forged.check_target(&old),
            Err(SupersedeError::NotTheAuthor { .. })
        ));
        // A flipped byte anywhere is refused.
        let bytes = Supersede::sign(&alice(), old.infohash(), Some(new.infohash()), 1)
            .unwrap()
            .encode();
        for i in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x01;
            assert!(Supersede::decode(&flipped).is_err(), "byte {i}");
        }
        let theirs = PostDraft::new("theirs")
            .unwrap()
            .sign(&mallory, NOW)
            .unwrap();
        let edit = Supersede::sign(&alice(), old.infohash(), Some(theirs.infohash()), 1).unwrap();
        assert!(matches!(
            edit.check_replacement(&old, &theirs),
            Err(SupersedeError::BadReplacement { .. })
        ));
        let comment = CommentDraft::reply_to("a comment", &old)
            .unwrap()
            .sign(&alice(), NOW)
            .unwrap();
        let edit = Supersede::sign(&alice(), old.infohash(), Some(comment.infohash()), 1).unwrap();
        assert!(edit.check_replacement(&old, &comment).is_err());
        assert!(Supersede::sign(&alice(), old.infohash(), None, 0).is_err());
        assert!(Supersede::sign(&alice(), old.infohash(), Some(old.infohash()), 1).is_err());
        assert!(matches!(
            Supersede::decode(&[b'x'; MAX_SUPERSEDE_LEN + 1]),
            Err(SupersedeError::Malformed(_))
        ));
    }
}
