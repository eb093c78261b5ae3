//! The documents `--json` prints: one JSON object per command, on
//! standard output, with snake_case names, infohashes as 40 hex digits,
//! keys in z-base-32 and times in unix seconds. Each has a schema in
//! `docs/schema/<command>.schema.json`, generated from these types.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Serialize;
use upseed_core::{InfoHash, PublicKey, RecordJson};
use upseed_node::doctor::Check;

/// `upseed post --json` and `upseed comment --json`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PostedJson {
    /// The new record's infohash.
    pub infohash: InfoHash,
    /// Its magnet link, with your trackers.
    pub magnet: String,
    /// The client holds it back in its queue instead of seeding it.
    pub queued: bool,
    /// The signed record.
    pub record: RecordJson,
}

/// How an upvote was served.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum How {
    /// From the text already in the store.
    FromStore,
    /// Downloaded from the swarm.
    Downloaded,
    /// You wrote it, and seed it already.
    Authored,
}

/// `upseed upvote --json`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UpvoteJson {
    /// The record.
    pub infohash: InfoHash,
    /// Where the client's copy came from.
    pub how: How,
    /// The client holds it back in its queue instead of seeding it.
    pub queued: bool,
}

/// `upseed unvote --json`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UnvoteJson {
    /// The record your client no longer seeds.
    pub infohash: InfoHash,
}

/// `upseed pin --json` and `upseed unpin --json`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PinJson {
    /// The record.
    pub infohash: InfoHash,
    /// Whether it is pinned now.
    pub pinned: bool,
    /// Whether this command changed that.
    pub changed: bool,
}

/// `upseed follow --json` and `upseed unfollow --json`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FollowJson {
    /// The author.
    pub key: PublicKey,
    /// Whether you follow them now.
    pub following: bool,
    /// Whether this command changed that.
    pub changed: bool,
}

/// `upseed profile --json`: what your outbox now publishes.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ProfileJson {
    /// Your display name.
    pub name: Option<String>,
    /// Your about text.
    pub about: Option<String>,
}

/// `upseed key show --json` and `upseed key new --json`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct KeyJson {
    /// The public key, as others follow it.
    pub public_key: PublicKey,
    /// The same key in hex.
    pub hex: String,
    /// The secret key's file (its contents are never printed).
    pub file: PathBuf,
}

/// `upseed doctor --json`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DoctorJson {
    /// Every check, in order.
    pub checks: Vec<Check>,
    /// How many failed; the exit code is 1 when any did.
    pub failed: usize,
}

/// `upseed export --json`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ExportJson {
    /// The record.
    pub infohash: InfoHash,
    /// Its .torrent file.
    pub torrent: PathBuf,
    /// Its text file.
    pub body: PathBuf,
}

/// `upseed ingest --json`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct IngestJson {
    /// The torrent.
    pub infohash: InfoHash,
    /// `claimed` (a record, now an upvote), `already_ours`, `not_a_record`
    /// (left untouched) or `incomplete`.
    pub outcome: String,
    /// Why it is not a record.
    pub reason: Option<String>,
    /// The record claimed.
    pub record: Option<upseed_core::RecordJson>,
}

/// `upseed ingest --install --json`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct HookJson {
    /// The hook script written.
    pub hook: PathBuf,
    /// The upseed it runs.
    pub program: PathBuf,
}

/// `upseed config show --json`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ConfigJson {
    /// The config file read.
    pub file: PathBuf,
    /// Every setting, in the file's order.
    pub settings: Vec<upseed_node::config::Shown>,
    /// Where the client password comes from (never the password).
    pub password: upseed_node::config::PasswordSource,
}
