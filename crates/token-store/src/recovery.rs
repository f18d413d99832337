//! A last resort for a new token set no store would take.
//!
//! Pinterest has already rotated the refresh token when its answer arrives: if the store then
//! fails (a database gone, a disk that filled up between the record of the attempt and the
//! answer), the set must not vanish with the process. [`keep`] writes it, mode 0600, to
//! `<dir>/<store id>-<revision>-<unique>.json`; [`find`] gives back what is kept for a store, and
//! [`settle`] puts it in place the next time the store is locked, but only over the set it was
//! made to replace ([`TokenDocument::supersedes`]): never over a newer login, another
//! process's set, or into a store emptied meanwhile (a revoked grant, or a store that lost its
//! data: the set stays kept, for the user to judge, until a new set is stored). Nothing but
//! [`settle`] and the writer's own storage ever removes a kept set. The default directory is
//! `$XDG_STATE_HOME/pinterest-oauth/recovered` (`~/.local/state/…`; the local data directory
//! where there is no state directory).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use pinterest_oauth_core::TokenDocument;

use crate::{StoreError, StoreLock, TokenStore};

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

/// Where a set is kept when `dir` cannot be written (no home directory, a read-only one):
/// a private directory of this user's in the system's temporary directory.
pub fn fallback_dir() -> PathBuf {
    #[cfg(unix)]
    let user = rustix::process::getuid().as_raw().to_string();
    #[cfg(not(unix))]
    let user = "user".to_owned();
    std::env::temp_dir().join(format!("pinterest-oauth-recovered-{user}"))
}

/// Keeps `document` for the store at `location` in `dir` (created 0700), or, when `dir`
/// cannot be written, in [`fallback_dir`], as a file only the user can read. Returns its path.
pub fn keep(dir: &Path, location: &str, document: &TokenDocument) -> io::Result<PathBuf> {
    keep_in(dir, location, document).or_else(|first| {
        let fallback = fallback_dir();
        if fallback == dir {
            return Err(first);
        }
        keep_in(&fallback, location, document).map_err(|_| first)
    })
}

fn keep_in(dir: &Path, location: &str, document: &TokenDocument) -> io::Result<PathBuf> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    private_dir(dir)?;
    // Two kept sets never share a name (revisions alone may repeat across grants).
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let path = dir.join(format!(
        "{}-{}-{nanos:x}{:x}.json",
        store_id(location),
        document.revision(),
        std::process::id()
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

/// Refuses a directory that is a link, or that another user owns or can write to (the
/// fallback lives in a directory every user can write to).
#[cfg(unix)]
fn private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = fs::symlink_metadata(dir)?;
    let ours = meta.uid() == rustix::process::geteuid().as_raw();
    if !meta.is_dir() || !ours || meta.permissions().mode() & 0o022 != 0 {
        return Err(io::Error::other(format!(
            "{} is not a private directory of this user's",
            dir.display()
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn private_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// Whether `path` is a regular file of this user's.
#[cfg(unix)]
fn owned(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::symlink_metadata(path)
        .is_ok_and(|m| m.is_file() && m.uid() == rustix::process::geteuid().as_raw())
}

#[cfg(not(unix))]
fn owned(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.is_file())
}

/// The documents kept in `dir` (and in [`fallback_dir`]) for the store at `location`, newest
/// revision first.
pub fn find(dir: &Path, location: &str) -> Vec<(PathBuf, TokenDocument)> {
    let prefix = format!("{}-", store_id(location));
    let fallback = fallback_dir();
    let dirs: Vec<&Path> = if fallback == dir {
        vec![dir]
    } else {
        vec![dir, &fallback]
    };
    let mut found: Vec<(PathBuf, TokenDocument)> = dirs
        .into_iter()
        // Only from a private directory, only files of this user's: nobody else's set is
        // ever put in a store.
        .filter(|dir| private_dir(dir).is_ok())
        .filter_map(|dir| fs::read_dir(dir).ok())
        .flat_map(|entries| entries.flatten())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .filter(|e| owned(&e.path()))
        .filter_map(|e| {
            let bytes = zeroize::Zeroizing::new(fs::read(e.path()).ok()?);
            Some((e.path(), TokenDocument::from_bytes(&bytes).ok()?))
        })
        .collect();
    found.sort_by_key(|(_, doc)| std::cmp::Reverse(doc.revision()));
    found
}

/// With the store's lock held: the stored document, after putting in place, in order, every
/// document kept in `dir` for this store that supersedes what is stored (a set an earlier run
/// could not save, then its successors). Kept documents that replace nothing stored are
/// removed when a set is stored (a newer set is in place); when the store is empty they stay
/// (an empty store may mean the grant was revoked, or that the store lost its data: only the
/// user can tell, see [`find`]). Without a `dir`, just the stored document.
///
/// Errors: the store's own, reading or saving; a kept document that could not be saved stays
/// kept.
pub fn settle<S: TokenStore + ?Sized>(
    store: &S,
    lock: &StoreLock,
    dir: Option<&Path>,
) -> Result<Option<TokenDocument>, StoreError> {
    let mut stored = store.load()?;
    let Some(dir) = dir else {
        return Ok(stored);
    };
    let location = store.location();
    let mut kept = find(dir, &location);
    if kept.is_empty() {
        return Ok(stored);
    }
    while let Some(at) = kept
        .iter()
        .position(|(_, doc)| doc.supersedes(stored.as_ref()))
    {
        let (path, doc) = kept.swap_remove(at);
        let doc = doc.after(stored.as_ref());
        store.save(lock, &doc)?;
        let _ = fs::remove_file(&path);
        tracing::warn!(from = %path.display(), "restored a token set an earlier run could not save");
        stored = Some(doc);
    }
    for (path, _) in kept {
        if stored.is_none() {
            tracing::warn!(kept = %path.display(), "the store is empty and a rotated token set is kept aside: if the store lost its data (rather than the grant being revoked), that set is the live one");
            continue;
        }
        tracing::warn!(kept = %path.display(), "removed a kept token set that replaces nothing stored (a newer set is in place)");
        let _ = fs::remove_file(path);
    }
    Ok(stored)
}

/// Whether a kept document would be put in place over what is stored now (for a status).
pub fn pending<S: TokenStore + ?Sized>(
    store: &S,
    dir: &Path,
) -> Result<Option<PathBuf>, StoreError> {
    let stored = store.load()?;
    Ok(pending_over(stored.as_ref(), dir, &store.location()))
}

/// Whether a kept document would be put in place over `stored`, the document of the store at
/// `location` (already read).
pub fn pending_over(stored: Option<&TokenDocument>, dir: &Path, location: &str) -> Option<PathBuf> {
    find(dir, location)
        .into_iter()
        .find(|(_, doc)| doc.supersedes(stored))
        .map(|(path, _)| path)
}
