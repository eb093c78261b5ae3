//! Reading and writing the secret key file: owner-only from the first byte.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use upseed_core::{KeyError, SecretKey};

/// The key file cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyfileError {
    /// The file is not there, or not readable.
    #[error("cannot read the key file {}; create one with `upseed key new`", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Other users may read it.
    #[error("refusing to use {}", path.display())]
    Refused {
        /// The file.
        path: PathBuf,
        /// What is wrong with its mode, with the fix.
        #[source]
        source: KeyError,
    },
    /// It does not hold a key.
    #[error("in {}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: KeyError,
    },
    /// A key is there already.
    #[error(
        "{} already holds a key; move it away first if you really want a new identity",
        path.display()
    )]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// A file operation failed: `what` the file.
    #[error("cannot {what} {}", path.display())]
    Io {
        /// What was tried.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> KeyfileError {
    let path = path.to_owned();
    move |source| KeyfileError::Io { what, path, source }
}

/// Writes a new key file with mode 0600. Never overwrites an existing key:
/// losing an identity cannot be undone.
pub fn create(path: &Path, key: &SecretKey) -> Result<(), KeyfileError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(io("create the folder", dir))?;
    }
    if path.exists() {
        return Err(KeyfileError::Exists {
            path: path.to_owned(),
        });
    }
    // Write to a private temporary file, then link it into place: the key is
    // never readable by others, and a crash never leaves half a key behind.
    let tmp = path.with_extension("tmp");
    // A leftover from a crash holds a key that was never put in place.
    if tmp.exists() {
        fs::remove_file(&tmp).map_err(io("remove the stale", &tmp))?;
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io("create", &tmp))?;
    let written = file
        .write_all(key.to_key_file().as_bytes())
        .and_then(|()| file.sync_all());
    drop(file);
    if let Err(error) = written.and_then(|()| fs::hard_link(&tmp, path)) {
        let _ = fs::remove_file(&tmp);
        return Err(io("write", path)(error));
    }
    fs::remove_file(&tmp).map_err(io("remove", &tmp))?;
    Ok(())
}

/// Reads a key file, refusing one that other users can read.
pub fn load(path: &Path) -> Result<SecretKey, KeyfileError> {
    let meta = fs::metadata(path).map_err(|source| KeyfileError::Missing {
        path: path.to_owned(),
        source,
    })?;
    SecretKey::check_file_mode(meta.permissions().mode()).map_err(|source| {
        KeyfileError::Refused {
            path: path.to_owned(),
            source,
        }
    })?;
    let text = zeroize::Zeroizing::new(fs::read_to_string(path).map_err(io("read", path))?);
    SecretKey::from_key_file(&text).map_err(|source| KeyfileError::Malformed {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_with_mode_0600_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/identity.key");
        let key = SecretKey::generate().unwrap();
        create(&path, &key).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(load(&path).unwrap().public_key(), key.public_key());
        assert!(!path.with_extension("tmp").exists());
    }

    #[test]
    fn a_stale_temporary_file_does_not_block_creation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("identity.key");
        fs::write(path.with_extension("tmp"), "half a key").unwrap();
        let key = SecretKey::generate().unwrap();
        create(&path, &key).unwrap();
        assert_eq!(load(&path).unwrap().public_key(), key.public_key());
    }

    #[test]
    fn never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("identity.key");
        let first = SecretKey::generate().unwrap();
        create(&path, &first).unwrap();
        let error = create(&path, &SecretKey::generate().unwrap()).unwrap_err();
        assert!(error.to_string().contains("already holds a key"), "{error}");
        assert_eq!(load(&path).unwrap().public_key(), first.public_key());
    }

    #[test]
    fn refuses_a_readable_key_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("identity.key");
        create(&path, &SecretKey::generate().unwrap()).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let error = crate::error_chain(&load(&path).unwrap_err());
        assert!(error.contains("chmod 600"), "{error}");
        assert!(error.contains("0644"), "{error}");
    }
}
