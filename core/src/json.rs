//! The JSON form of a verified record, for `--json` output and other tools.
//!
//! Its JSON Schema is generated from these types and committed as
//! `docs/schema/record.schema.json`; a test fails when that file is stale.

use crate::{InfoHash, Kind, PublicKey, Record};

/// A verified record as JSON. Every key is always present; absent values are `null`.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct RecordJson {
    /// The record's id: SHA-1 of its info dict, 40 hex digits.
    pub infohash: InfoHash,
    /// Protocol version of the signed header.
    pub version: u32,
    /// `post` or `comment`.
    pub kind: Kind,
    /// The author's public key.
    pub author: PublicKey,
    /// Creation time the author signed, unix seconds.
    pub created: u64,
    /// A post's title.
    #[schemars(required, schema_with = "nullable_string")]
    pub title: Option<String>,
    /// A post's community.
    #[schemars(required, schema_with = "nullable_string")]
    pub community: Option<String>,
    /// What a comment answers.
    #[schemars(required, schema_with = "nullable_infohash")]
    pub parent: Option<InfoHash>,
    /// The post at the top of a comment's thread.
    #[schemars(required, schema_with = "nullable_infohash")]
    pub root: Option<InfoHash>,
    /// The torrent's file name.
    pub name: String,
    /// Body length in bytes.
    pub length: u64,
    /// SHA-256 of the body, 64 hex digits.
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub body_sha256: String,
    /// The ed25519 signature, 128 hex digits.
    #[schemars(regex(pattern = r"^[0-9a-f]{128}$"))]
    pub signature: String,
    /// The body text, once downloaded and checked.
    #[schemars(required, schema_with = "nullable_string")]
    pub body: Option<String>,
}

/// A string, or `null` when absent.
fn nullable_string(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": ["string", "null"] })
}

/// An infohash (40 hex digits), or `null` when absent.
fn nullable_infohash(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": ["string", "null"], "pattern": "^[0-9a-f]{40}$" })
}

impl Record {
    /// The JSON form.
    pub fn to_json(&self) -> RecordJson {
        RecordJson {
            infohash: self.infohash(),
            version: 1,
            kind: self.kind(),
            author: self.author(),
            created: self.created(),
            title: self.title().map(|t| t.as_str().to_owned()),
            community: self.community().map(|c| c.as_str().to_owned()),
            parent: self.parent(),
            root: self.root(),
            name: self.name().to_owned(),
            length: self.length(),
            body_sha256: hex::encode(self.body_sha256()),
            signature: hex::encode(self.signature()),
            body: self.body().map(|b| b.as_str().to_owned()),
        }
    }
}

/// The JSON Schema of [`RecordJson`], pretty-printed with a final newline.
pub fn record_schema() -> String {
    let schema = schemars::schema_for!(RecordJson);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
