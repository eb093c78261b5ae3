//! The BitTorrent v1 infohash: SHA-1 of the raw bencoded info dict.

use std::fmt;
use std::str::FromStr;

use sha1::{Digest, Sha1};

/// Length of an infohash in bytes.
pub const INFOHASH_LEN: usize = 20;

/// A v1 infohash. Its text form is 40 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InfoHash([u8; INFOHASH_LEN]);

/// A string that is not an infohash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an infohash: give 40 hex digits")]
pub struct InfoHashError(pub String);

impl InfoHash {
    /// Wraps 20 raw bytes.
    pub const fn from_bytes(bytes: [u8; INFOHASH_LEN]) -> Self {
        Self(bytes)
    }

    /// The infohash of raw info-dict bytes: SHA-1 over exactly those bytes.
    pub fn of_info(info: &[u8]) -> Self {
        Self(Sha1::digest(info).into())
    }

    /// The 20 raw bytes.
    pub const fn as_bytes(&self) -> &[u8; INFOHASH_LEN] {
        &self.0
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for InfoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for InfoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InfoHash({})", self.to_hex())
    }
}

impl FromStr for InfoHash {
    type Err = InfoHashError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut bytes = [0u8; INFOHASH_LEN];
        hex::decode_to_slice(text.trim(), &mut bytes)
            .map_err(|_| InfoHashError(text.chars().take(80).collect()))?;
        Ok(Self(bytes))
    }
}

impl serde::Serialize for InfoHash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for InfoHash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for InfoHash {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "InfoHash".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A BitTorrent v1 infohash: 40 lowercase hex digits.",
            "type": "string",
            "pattern": "^[0-9a-f]{40}$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_of_raw_bytes() {
        // SHA-1("abc"), FIPS 180 test vector.
        assert_eq!(
            InfoHash::of_info(b"abc").to_hex(),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }

    #[test]
    fn parses_hex_in_either_case() {
        let hash = InfoHash::of_info(b"abc");
        assert_eq!(hash.to_hex().to_uppercase().parse::<InfoHash>(), Ok(hash));
        assert!("xyz".parse::<InfoHash>().is_err());
        assert!("a9993e36".parse::<InfoHash>().is_err());
    }
}
