//! What can go wrong in a use case, each with what to do about it.
//!
//! Errors of the layers below (the store, the client, fetching, the DHT,
//! the protocol) pass through unchanged, so a front end can tell them
//! apart (an unreachable client, a record that does not verify, a broken
//! config) and map them to its own codes.

use std::path::PathBuf;

use upseed_core::index::IndexError;
use upseed_core::item::ItemError;
use upseed_core::{
    BencodeError, BuildError, ClientError, InfoHash, KeyError, MagnetError, TextError, VerifyError,
};

use crate::config::{ConfigError, PasswordError};
use crate::dht::DhtError;
use crate::fetch::FetchError;
use crate::keyfile::KeyfileError;
use crate::store::StoreError;

/// A use case failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The config is missing or wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The client password could not be read.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// The identity could not be read or written.
    #[error(transparent)]
    Keyfile(#[from] KeyfileError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The client failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A fetch failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The DHT failed.
    #[error(transparent)]
    Dht(#[from] DhtError),
    /// An outbox index is not valid, or does not extend the one kept.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// A DHT item does not fit or does not parse.
    #[error(transparent)]
    Item(#[from] ItemError),
    /// A record does not verify.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// A text is not what a post or comment may hold.
    #[error(transparent)]
    Text(#[from] TextError),
    /// A record could not be built.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// A magnet link is malformed.
    #[error(transparent)]
    Magnet(#[from] MagnetError),
    /// A torrent's bencode is malformed.
    #[error(transparent)]
    Bencode(#[from] BencodeError),
    /// A public key is malformed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A file could not be written.
    #[error("cannot write {}; check that the posts folder is writable", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A folder could not be created.
    #[error("cannot create {}", path.display())]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The client already runs another program when a torrent finishes.
    #[error(
        "your client already runs `{0}` when a torrent finishes, and upseed leaves it; pass --replace to run upseed's hook instead, or have that program also run `upseed ingest HASH`"
    )]
    HookTaken(String),
    /// A search query could not be understood.
    #[error(transparent)]
    Search(#[from] crate::search::SearchError),
    /// A mute's value is not valid.
    #[error(transparent)]
    Mute(#[from] upseed_core::mute::MuteError),
    /// No known author has the display name.
    #[error(
        "no author you know is named `{0}`; give their key (z-base-32, as `upseed whoami` prints it), or follow them first so their name is known"
    )]
    NoAuthorNamed(String),
    /// Several known authors have the display name.
    #[error(
        "several authors are named `{name}` ({}); names are claims, not identities: give the key",
        keys.join(", ")
    )]
    AmbiguousName {
        /// The name.
        name: String,
        /// Their keys.
        keys: Vec<String>,
    },
    /// A supersede record was refused.
    #[error(transparent)]
    Supersede(#[from] upseed_core::supersede::SupersedeError),
    /// A mute list was refused.
    #[error(transparent)]
    MuteList(#[from] upseed_core::mute_list::MuteListError),
    /// A mute list held or named by a key's item is signed by another key.
    #[error(
        "the mute list under {key}'s item is signed by {signer}; it is not {key}'s list and was refused"
    )]
    MuteListSigner {
        /// The key subscribed to.
        key: String,
        /// Who signed the list.
        signer: String,
    },
    /// Subscribing to one's own list.
    #[error("{0} is your own key; your own mutes apply already")]
    OwnMuteList(String),
    /// Only a record's author can edit or delete it.
    #[error("{0} is someone else's; only its author can edit or delete it")]
    NotYours(InfoHash),
    /// The record was deleted, which is final.
    #[error("{0} was deleted, and a delete is final; post anew instead")]
    Deleted(InfoHash),
    /// The reference names a later version, not the record's id.
    #[error("{version} is a later version of {target}; edit or delete {target} itself")]
    NotTheFirstVersion {
        /// The version named.
        version: InfoHash,
        /// The record it is a version of.
        target: InfoHash,
    },
    /// A reference is neither an infohash, a prefix nor a magnet link.
    #[error("`{0}` is not an infohash, a prefix of 6 or more hex digits, or a magnet link")]
    BadReference(String),
    /// No stored record starts with the prefix.
    #[error(
        "no post or comment in your store starts with `{0}`; a prefix only finds stored records, so give the full 40-digit infohash or the magnet link to fetch it"
    )]
    NoMatch(String),
    /// Several stored records start with the prefix.
    #[error(
        "`{prefix}` matches several records ({}); give more digits",
        list_hashes(matches)
    )]
    Ambiguous {
        /// The prefix.
        prefix: String,
        /// The first few records it matches.
        matches: Vec<InfoHash>,
    },
    /// The record is not stored, and the use case needs it stored.
    #[error(
        "{0} is not in your store yet; `upseed show {0}` fetches it, and then it can be answered"
    )]
    Unknown(InfoHash),
    /// The torrent proved not to be a record before, and is not fetched again.
    #[error("{reason}; it was refused before, and upseed does not fetch it again")]
    Foreign {
        /// The torrent.
        infohash: InfoHash,
        /// Why it was refused.
        reason: String,
    },
    /// Pinning needs the record in the store.
    #[error("{0} is not in your store; `upseed show {0}` fetches it first")]
    NotStored(InfoHash),
    /// Unvoting our own record needs force.
    #[error(
        "you wrote {0}; unvoting it stops the only copy you seed. Pass --force to stop seeding it (your file is kept)"
    )]
    Authored(InfoHash),
    /// A followed outbox names an index signed by someone else.
    #[error(
        "outbox index {index}, named by the outbox of {author}, is signed by another key; it was ignored"
    )]
    IndexSigner {
        /// The index version.
        index: InfoHash,
        /// The outbox's key, as `upseed key show` prints it.
        author: String,
    },
    /// A followed outbox names an index version older than the one kept.
    #[error(
        "outbox index {index} is older than the version {kept} kept for its author: a replay, ignored"
    )]
    IndexRollback {
        /// The version named.
        index: InfoHash,
        /// The newer version kept.
        kept: InfoHash,
    },
    /// A followed index's history is longer than one read fetches.
    #[error(
        "outbox index {index}: {read} segments read so far; the older ones are fetched at the next sync"
    )]
    IndexIncomplete {
        /// The newest version.
        index: InfoHash,
        /// Segments kept so far.
        read: usize,
    },
    /// Some of the seeding rules' picks could not be seeded.
    #[error("{failed} post(s) could not be seeded ({added} were)")]
    SeedFailed {
        /// How many failed.
        failed: usize,
        /// How many were seeded.
        added: usize,
    },
}

impl Error {
    /// The client's error, if this is one, directly or through a fetch.
    pub fn client(&self) -> Option<&ClientError> {
        match self {
            Self::Client(c) | Self::Fetch(FetchError::Client(c)) => Some(c),
            _ => None,
        }
    }

    /// Whether the input proved not to be a valid upseed record.
    pub fn is_invalid_record(&self) -> bool {
        matches!(
            self,
            Self::Verify(_)
                | Self::Foreign { .. }
                | Self::Fetch(FetchError::Invalid { .. } | FetchError::TooLarge { .. })
        )
    }
}

/// An error and its causes, joined by `: `: the whole story on one line.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// Up to [`AMBIGUOUS_SHOWN`] infohashes, comma-separated, and whether
/// there are more.
fn list_hashes(hashes: &[InfoHash]) -> String {
    let shown: Vec<String> = hashes
        .iter()
        .take(AMBIGUOUS_SHOWN)
        .map(ToString::to_string)
        .collect();
    if hashes.len() > AMBIGUOUS_SHOWN {
        format!("{}, and more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// How many matches an ambiguous prefix's error lists.
pub(crate) const AMBIGUOUS_SHOWN: usize = 5;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ambiguous_prefix_lists_its_matches() {
        let hashes: Vec<InfoHash> = (1..=6u8).map(|i| InfoHash::from_bytes([i; 20])).collect();
        let two = Error::Ambiguous {
            prefix: "010101".into(),
            matches: hashes[..2].to_vec(),
        }
        .to_string();
        assert!(
            two.contains(&hashes[0].to_string()) && two.contains(&hashes[1].to_string()),
            "{two}"
        );
        assert!(!two.contains("and more"), "{two}");
        let many = Error::Ambiguous {
            prefix: "010101".into(),
            matches: hashes.clone(),
        }
        .to_string();
        assert!(
            many.contains("and more") && !many.contains(&hashes[5].to_string()),
            "{many}"
        );
    }
}
