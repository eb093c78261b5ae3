//! The upseed protocol: signed post and comment torrents.
//!
//! A post or comment is a small v1 single-file torrent whose info dict holds
//! a signed `upseed` header. This crate builds such torrents deterministically,
//! verifies received ones into [`Record`]s, and knows nothing of networks or
//! disks: every function here is pure.
//!
//! ```
//! use upseed_core::{CommentDraft, PostDraft, Record, SecretKey, Torrent};
//!
//! let alice = SecretKey::from_seed(&[1; 32]);
//! let post = PostDraft::new("hello, swarm")?.title("first")?.sign(&alice, 1_700_000_000)?;
//! let bytes = post.torrent_bytes(&["http://127.0.0.1:6969/announce"]);
//!
//! let now = 1_700_000_100;
//! let received = Torrent::parse(&bytes, now)?.record.with_body(b"hello, swarm")?;
//! assert_eq!(received, post);
//!
//! let reply = CommentDraft::reply_to("welcome", &received)?.sign(&alice, now)?;
//! assert_eq!(reply.root(), Some(post.infohash()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod announce;
mod bencode;
mod client;
pub mod counts;
mod header;
pub mod index;
mod infohash;
pub mod item;
mod json;
mod key;
pub mod lead;
mod magnet;
pub mod mute;
pub mod mute_list;
pub mod peer_wire;
pub mod pow;
pub mod rank;
mod record;
pub mod retention;
pub mod scrape;
mod secret;
pub mod supersede;
pub mod text;
mod torrent;
pub mod trust;
mod verify;

pub use bencode::{BencodeError, MAX_DEPTH, check_canonical};
pub use client::{
    AddTorrent, Added, ClientError, ClientInfo, ClientKind, Metainfo, QueueReport, Source,
    TorrentClient, TorrentState, TorrentStatus, redact_url,
};
pub use header::{Context, Kind, PROTOCOL_VERSION, SIGNING_DOMAIN};
pub use infohash::{INFOHASH_LEN, InfoHash, InfoHashError};
pub use json::{RecordJson, record_schema};
pub use key::{KeyError, PUBLIC_KEY_LEN, PublicKey, SecretKey};
pub use magnet::{Magnet, MagnetError};
pub use record::{BuildError, CommentDraft, MAX_FUTURE_SKEW, PIECE_LENGTH, PostDraft, Record};
pub use secret::Password;
pub use text::{Body, Community, TextError, Title};
pub use torrent::{MAX_TORRENT_LEN, Torrent, single_file};
pub use verify::{MAX_INFO_LEN, VerifyError};
