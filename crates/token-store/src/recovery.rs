//! A last resort for a new token set no store would take.
//!
//! Pinterest has already rotated the refresh token when its answer arrives: if the store then
//! fails (a database gone, a disk that filled up between the record of the attempt and the
//! answer), the set must not vanish with the process. [`keep`] writes it, mode 0600, to
//! `<dir>/<store id>-<revision>.json`; [`find`] gives back what is kept for a store, and token
//! sources adopt it the next time they lock the store. The default directory is
//! `$XDG_STATE_HOME/pinterest-oauth/recovered` (`~/.local/state/…`; the local data directory
//! where there is no state directory).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use pinterest_oauth_core::TokenDocument;

/// The default recovery directory, if the platform has one.
pub fn default_dir() -> Option<PathBuf> {
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .map(|dir| dir.join("pinterest-oauth").join("recovered"))
}

/// A file-name-safe id for a store location (FNV-1a of its text), so that no path or key
/// appears in the file name.
fn store_id(location: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in location.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// Keeps `document` for the store at `location` in `dir` (created 0700), as a file only the
/// user can read. Returns its path.
pub fn keep(dir: &Path, location: &str, document: &TokenDocument) -> io::Result<PathBuf> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    let path = dir.join(format!(
        "{}-{}.json",
        store_id(location),
        document.revision()
    ));
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path)?;
    file.write_all(&document.to_bytes())?;
    file.sync_all()?;
    Ok(path)
}

/// The documents kept in `dir` for the store at `location`, newest revision first.
pub fn find(dir: &Path, location: &str) -> Vec<(PathBuf, TokenDocument)> {
    let prefix = format!("{}-", store_id(location));
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(PathBuf, TokenDocument)> = entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .filter_map(|e| {
            let bytes = zeroize::Zeroizing::new(fs::read(e.path()).ok()?);
            Some((e.path(), TokenDocument::from_bytes(&bytes).ok()?))
        })
        .collect();
    found.sort_by_key(|(_, doc)| std::cmp::Reverse(doc.revision()));
    found
}

/// Removes the documents kept for the store at `location` (once one was saved to the store).
pub fn forget(dir: &Path, location: &str) {
    for (path, _) in find(dir, location) {
        let _ = fs::remove_file(path);
    }
}
