//! Files upseed writes for the client to seed: written whole through a
//! temporary file, and dated back so that a client checking them sees a
//! settled file.

use std::path::Path;
use std::time::{Duration, SystemTime};

use upseed_core::Record;

use crate::Error;

/// The client tag of a record we wrote: `upseed-post` or `upseed-comment`.
pub fn own_tag(record: &Record) -> &'static str {
    match record.kind() {
        upseed_core::Kind::Post => "upseed-post",
        upseed_core::Kind::Comment => "upseed-comment",
    }
}

/// Writes a record's body where the client will seed it from, dated two
/// seconds back so that Transmission 4's fast check trusts it.
pub fn write_body(dir: &Path, record: &Record) -> Result<(), Error> {
    let body = record.body().ok_or(Error::Unknown(record.infohash()))?;
    write_file(dir, record.name(), body.as_bytes())
}

/// Writes `bytes` to `dir/name` through a temporary file, dated 2 s back
/// so that a client checking it sees a settled file.
pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), Error> {
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.tmp"));
    let failed = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Write { path, source }
    };
    std::fs::write(&tmp, bytes).map_err(failed(&tmp))?;
    let file = std::fs::File::options()
        .write(true)
        .open(&tmp)
        .map_err(failed(&tmp))?;
    file.set_modified(SystemTime::now() - Duration::from_secs(2))
        .map_err(failed(&tmp))?;
    file.sync_all().map_err(failed(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(failed(&path))?;
    Ok(())
}

/// Reads the regular file at `path` (a symlink, device or FIFO is
/// refused before it is opened), of at most `cap` bytes: reading stops
/// past the cap, so neither a huge file nor an endless one costs memory.
pub fn read_regular(path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let not_regular = || std::io::Error::other("it is not a regular file");
    if !std::fs::symlink_metadata(path)?.file_type().is_file() {
        return Err(not_regular());
    }
    let file = std::fs::File::open(path)?;
    if !file.metadata()?.file_type().is_file() {
        return Err(not_regular());
    }
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(std::io::Error::other(format!(
            "it holds more than {cap} bytes"
        )));
    }
    Ok(bytes)
}

/// Writes `bytes` to a new file at `path`. A file already there with the
/// same bytes is left as it is; any other file (or a symlink) is never
/// replaced.
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    let failed = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    match std::fs::File::options()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(mut file) => file.write_all(bytes).map_err(failed),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            match read_regular(path, bytes.len() as u64) {
                Ok(existing) if existing == bytes => Ok(()),
                _ => Err(failed(std::io::Error::other(
                    "another file is already there; move it, or choose another folder",
                ))),
            }
        }
        Err(e) => Err(failed(e)),
    }
}
