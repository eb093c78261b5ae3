//! Identities: ed25519 key pairs, their shareable text form and the key-file format.
//!
//! The secret key never prints: `Debug` and `Display` show only the public key.
//! Reading and writing key files is IO and lives in the CLI; this module owns
//! the file's text and the permission rule it must obey.

use std::fmt;
use std::str::FromStr;

use data_encoding::{Encoding, Specification};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

/// Length of a public key in bytes.
pub const PUBLIC_KEY_LEN: usize = 32;

/// The z-base-32 alphabet, as used by pkarr and Mainline DHT tooling.
const ZBASE32_SYMBOLS: &str = "ybndrfg8ejkmcpqxot1uwisza345h769";

/// First line of every key file: names the format and its version.
const KEY_FILE_TAG: &str = "upseed-secret-key-v1";

fn zbase32() -> Encoding {
    let mut spec = Specification::new();
    spec.symbols.push_str(ZBASE32_SYMBOLS);
    // The alphabet is a constant, so this cannot fail at run time.
    #[allow(clippy::expect_used)]
    spec.encoding()
        .expect("the z-base-32 alphabet is a valid specification")
}

/// Errors from creating, parsing and storing keys.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// The operating system gave no randomness.
    #[error("the system random number generator failed ({0}); check that /dev/urandom is readable")]
    Random(String),
    /// A public key string is neither 52 z-base-32 characters nor 64 hex digits.
    #[error(
        "`{0}` is not a public key: give 52 z-base-32 characters (as `upseed` prints them) or 64 hex digits"
    )]
    BadPublicKeyText(String),
    /// The 32 bytes are not a point on the curve.
    #[error("public key {0} is not a valid ed25519 point; ask its owner for the key again")]
    InvalidPoint(String),
    /// The key has small order, so anything verifies under it.
    #[error("public key {0} is a weak (small-order) ed25519 key and is refused")]
    WeakKey(String),
    /// The key file does not start with the expected tag.
    #[error(
        "this is not an upseed key file: its first non-comment line must be `{KEY_FILE_TAG} <64 hex digits>`"
    )]
    NotAKeyFile,
    /// The secret in a key file is not 64 hex digits.
    #[error("the secret key in the key file is not 64 hex digits; restore the file from a backup")]
    BadSecret,
    /// The key file's public-key comment names another key than its secret.
    #[error(
        "the key file says its public key is {stated}, but its secret belongs to {actual}; restore the file from a backup"
    )]
    PublicKeyMismatch {
        /// What the file's comment claims.
        stated: String,
        /// What the secret derives.
        actual: String,
    },
    /// The key file can be read by other users.
    #[error(
        "the secret key file has mode {mode:04o}, which lets other users read it; run `chmod 600` on it"
    )]
    FileTooOpen {
        /// The permission bits found.
        mode: u32,
    },
}

/// A public key: the author's identity, shared as 52 z-base-32 characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Parses 32 raw bytes, refusing points off the curve and weak keys.
    pub fn from_bytes(bytes: &[u8; PUBLIC_KEY_LEN]) -> Result<Self, KeyError> {
        let key = VerifyingKey::from_bytes(bytes)
            .map_err(|_| KeyError::InvalidPoint(hex::encode(bytes)))?;
        if key.is_weak() {
            return Err(KeyError::WeakKey(hex::encode(bytes)));
        }
        Ok(Self(key))
    }

    /// The 32 raw bytes.
    pub fn to_bytes(&self) -> [u8; PUBLIC_KEY_LEN] {
        self.0.to_bytes()
    }

    /// The 32 raw bytes, borrowed.
    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_LEN] {
        self.0.as_bytes()
    }

    /// The z-base-32 text form (52 characters).
    pub fn to_z32(&self) -> String {
        zbase32().encode(self.as_bytes())
    }

    /// The 32 bytes a z-base-32 key text spells, without checking that
    /// they are a valid key: for matching against keys already checked.
    pub fn z32_bytes(text: &str) -> Option<[u8; PUBLIC_KEY_LEN]> {
        if text.len() != 52 {
            return None;
        }
        zbase32()
            .decode(text.to_ascii_lowercase().as_bytes())
            .ok()
            .and_then(|b| b.try_into().ok())
    }

    /// The smallest and largest keys whose text form starts with
    /// `prefix` (z-base-32, case folded), or `None` when it is not
    /// z-base-32 or is longer than a key's text form.
    pub fn z32_prefix_range(prefix: &str) -> Option<([u8; PUBLIC_KEY_LEN], [u8; PUBLIC_KEY_LEN])> {
        if prefix.len() > 52 {
            return None;
        }
        let mut low = [0u8; PUBLIC_KEY_LEN];
        let mut high = [0xffu8; PUBLIC_KEY_LEN];
        for (i, c) in prefix.chars().enumerate() {
            let value = ZBASE32_SYMBOLS.find(c.to_ascii_lowercase())?;
            for bit in 0..5 {
                let at = i * 5 + bit;
                if at >= PUBLIC_KEY_LEN * 8 {
                    break;
                }
                let mask = 0x80u8 >> (at % 8);
                if value & (0x10 >> bit) != 0 {
                    low[at / 8] |= mask;
                } else {
                    high[at / 8] &= !mask;
                }
            }
        }
        Some((low, high))
    }

    /// Lowercase hex (64 characters).
    pub fn to_hex(&self) -> String {
        hex::encode(self.as_bytes())
    }

    /// Checks `signature` over `message` with the strict rules of RFC 8032
    /// (no malleable signatures, no small-order components).
    pub(crate) fn verify_strict(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let signature = Signature::from_bytes(signature);
        self.0.verify_strict(message, &signature).is_ok()
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_z32())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_z32())
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;

    /// Accepts the z-base-32 form or hex, in either case.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        let bad = || KeyError::BadPublicKeyText(trimmed.chars().take(80).collect());
        let bytes: Vec<u8> = match trimmed.len() {
            52 => zbase32()
                .decode(trimmed.to_ascii_lowercase().as_bytes())
                .map_err(|_| bad())?,
            64 => hex::decode(trimmed).map_err(|_| bad())?,
            _ => return Err(bad()),
        };
        let bytes: [u8; PUBLIC_KEY_LEN] = bytes.try_into().map_err(|_| bad())?;
        Self::from_bytes(&bytes)
    }
}

impl serde::Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_z32())
    }
}

impl<'de> serde::Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for PublicKey {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PublicKey".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "An ed25519 public key in z-base-32 (52 characters).",
            "type": "string",
            "pattern": "^[ybndrfg8ejkmcpqxot1uwisza345h769]{52}$"
        })
    }
}

/// A secret signing key. Zeroed on drop; never printed.
#[derive(Clone)]
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// Draws a new key from the operating system's random number generator.
    pub fn generate() -> Result<Self, KeyError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(Self::from_seed(&seed))
    }

    /// Builds the key from its 32-byte seed (the RFC 8032 secret key).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(SigningKey::from_bytes(seed))
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// The 32-byte seed. Handle with care: this is the secret.
    pub fn to_seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// Signs `message`. Ed25519 signatures are deterministic.
    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }

    /// The text of a key file holding this key.
    ///
    /// ```text
    /// # upseed identity. Keep this file secret: mode 0600.
    /// # public key: <z-base-32>
    /// upseed-secret-key-v1 <64 hex digits of the seed>
    /// ```
    pub fn to_key_file(&self) -> Zeroizing<String> {
        let seed = self.to_seed();
        let hex_seed = Zeroizing::new(hex::encode(seed.as_ref()));
        Zeroizing::new(format!(
            "# upseed identity. Keep this file secret: mode 0600.\n# public key: {}\n{KEY_FILE_TAG} {}\n",
            self.public_key(),
            hex_seed.as_str()
        ))
    }

    /// Parses the text of a key file written by [`SecretKey::to_key_file`].
    pub fn from_key_file(text: &str) -> Result<Self, KeyError> {
        let mut stated = None;
        let mut secret = None;
        for line in text.lines().map(str::trim) {
            if let Some(comment) = line.strip_prefix('#') {
                if let Some(key) = comment.trim().strip_prefix("public key:") {
                    stated = Some(key.trim().to_owned());
                }
            } else if line.is_empty() {
                continue;
            } else if let Some(rest) = line.strip_prefix(KEY_FILE_TAG) {
                if secret.is_some() {
                    return Err(KeyError::NotAKeyFile);
                }
                secret = Some(rest.trim());
            } else {
                return Err(KeyError::NotAKeyFile);
            }
        }
        let secret = secret.ok_or(KeyError::NotAKeyFile)?;
        let mut seed = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(secret, seed.as_mut()).map_err(|_| KeyError::BadSecret)?;
        let key = Self::from_seed(&seed);
        if let Some(stated) = stated {
            let actual = key.public_key().to_z32();
            if stated != actual {
                return Err(KeyError::PublicKeyMismatch { stated, actual });
            }
        }
        Ok(key)
    }

    /// Checks the Unix permission bits of a key file: only its owner may read it.
    pub fn check_file_mode(mode: u32) -> Result<(), KeyError> {
        if mode & 0o077 != 0 {
            return Err(KeyError::FileTooOpen {
                mode: mode & 0o7777,
            });
        }
        Ok(())
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(public: {})", self.public_key())
    }
}

impl fmt::Display for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "secret key for {}", self.public_key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretKey {
        SecretKey::from_seed(&[7u8; 32])
    }

    #[test]
    fn debug_and_display_never_show_the_secret() {
        let key = key();
        let seed_hex = hex::encode([7u8; 32]);
        for shown in [format!("{key:?}"), format!("{key}"), format!("{key:#?}")] {
            assert!(!shown.contains(&seed_hex), "{shown}");
            assert!(shown.contains(&key.public_key().to_z32()), "{shown}");
        }
    }

    #[test]
    fn z32_prefixes_bound_the_keys_that_start_with_them() {
        for seed in 0..20u8 {
            let key = SecretKey::from_seed(&[seed; 32]).public_key();
            let text = key.to_z32();
            for len in [1, 6, 7, 13, 51, 52] {
                let (low, high) = PublicKey::z32_prefix_range(&text[..len]).unwrap();
                assert!(low <= key.to_bytes() && key.to_bytes() <= high, "{len}");
                let low_text = zbase32().encode(&low);
                let high_text = zbase32().encode(&high);
                assert!(low_text.starts_with(&text[..len]), "{low_text} {len}");
                assert!(high_text.starts_with(&text[..len]), "{high_text} {len}");
            }
            let (low, high) = PublicKey::z32_prefix_range(&text.to_uppercase()[..8]).unwrap();
            assert!(low <= key.to_bytes() && key.to_bytes() <= high);
        }
        assert!(PublicKey::z32_prefix_range("l0").is_none(), "not z-base-32");
    }

    #[test]
    fn z32_and_hex_round_trip() {
        let public = key().public_key();
        let z32 = public.to_z32();
        assert_eq!(z32.len(), 52);
        assert_eq!(z32.parse::<PublicKey>(), Ok(public));
        assert_eq!(z32.to_uppercase().parse::<PublicKey>(), Ok(public));
        assert_eq!(public.to_hex().parse::<PublicKey>(), Ok(public));
    }

    #[test]
    fn bad_public_key_text_is_refused() {
        for text in ["", "abc", &"z".repeat(52), &"g".repeat(64)] {
            assert!(matches!(
                text.parse::<PublicKey>(),
                Err(KeyError::BadPublicKeyText(_))
            ));
        }
    }

    #[test]
    fn weak_keys_are_refused() {
        // The identity point encodes as 1 followed by zeros: small order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(matches!(
            PublicKey::from_bytes(&identity),
            Err(KeyError::WeakKey(_))
        ));
    }

    #[test]
    fn key_file_round_trips() {
        let key = key();
        let text = key.to_key_file();
        let back = SecretKey::from_key_file(&text).unwrap();
        assert_eq!(back.public_key(), key.public_key());
    }

    #[test]
    fn key_file_rejects_garbage_and_mismatch() {
        assert_eq!(
            SecretKey::from_key_file("hello").unwrap_err(),
            KeyError::NotAKeyFile
        );
        assert_eq!(
            SecretKey::from_key_file("upseed-secret-key-v1 zz").unwrap_err(),
            KeyError::BadSecret
        );
        let other = SecretKey::from_seed(&[8u8; 32]).public_key();
        let forged = key()
            .to_key_file()
            .replace(&key().public_key().to_z32(), &other.to_z32());
        assert!(matches!(
            SecretKey::from_key_file(&forged),
            Err(KeyError::PublicKeyMismatch { .. })
        ));
    }

    #[test]
    fn file_mode_rule() {
        assert!(SecretKey::check_file_mode(0o100600).is_ok());
        assert!(SecretKey::check_file_mode(0o400).is_ok());
        assert_eq!(
            SecretKey::check_file_mode(0o100644),
            Err(KeyError::FileTooOpen { mode: 0o644 })
        );
        assert!(SecretKey::check_file_mode(0o606).is_err());
    }

    #[test]
    fn generated_keys_differ() {
        let a = SecretKey::generate().unwrap();
        let b = SecretKey::generate().unwrap();
        assert_ne!(a.public_key(), b.public_key());
    }
}
