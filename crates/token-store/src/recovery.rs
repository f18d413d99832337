//! A last resort for a new token set no store would take.
//!
//! Pinterest has already rotated the refresh token when its answer arrives: if the store then
//! fails (a database gone, a disk that filled up between the record of the attempt and the
//! answer), the set must not vanish with the process. [`keep`] writes it, mode 0600, to
//! `<dir>/<store id>-<revision>-<unique>.json`; [`find`] gives back what is kept for a store, and
//! [`settle`] puts it in place the next time the store is locked, but only in the stored set's
//! own lineage ([`TokenDocument::supersedes`]): over the very set it was made to replace, never
//! over a newer login, another process's set, or into a store emptied meanwhile (a revoked
//! grant, or a store that lost its data: the set stays kept, for the user to judge, until a new
//! set is stored).
//!
//! Only what this user could have written is ever read: a regular file (never through a link)
//! owned by this user, mode 0600, in a directory of this user's that nobody else can write.
//! A kept set of another lineage is left where it is and reported; only one that the stored set
//! has made obsolete ([`TokenDocument::obsoleted_by`]) is removed.
//!
//! Sets are filed under the store's [`identity`](crate::TokenStore::identity), the same
//! however the store was named (for a file: its canonical directory and name), so a set kept
//! by `pinterest-oauth --token-file ./t.json` is found by a run naming the same file
//! `/home/me/t.json`, or through a linked directory.
//!
//! The default directory is `$XDG_STATE_HOME/pinterest-oauth/recovered` (`~/.local/state/…`;
//! the local data directory where there is no state directory). Where sets are kept is a
//! [`Keeper`]: [`RecoveryDir`] for a directory.

use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use pinterest_oauth_core::TokenDocument;
use zeroize::Zeroizing;

use crate::{StoreError, StoreLock, TokenStore};

/// The largest kept file read (a document is well under 4 KiB; a raw answer under the HTTP
/// body cap).
const MAX_KEPT: u64 = 1024 * 1024;

/// The identity raw answers of one-shot calls (made outside any store) are kept under.
pub const ONE_SHOT: &str = "one-shot calls";

/// The default recovery directory, if the platform has one.
pub fn default_dir() -> Option<PathBuf> {
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .map(|dir| dir.join("pinterest-oauth").join("recovered"))
}

/// A file-name-safe id for a store identity (FNV-1a of its text), so that no path or key
/// appears in the file name.
fn store_id(identity: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in identity.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// Where a set is kept when `dir` cannot be written (no home directory, a read-only one), in
/// the order tried: this user's runtime directory (`$XDG_RUNTIME_DIR`, which only this user
/// can write to), then a private directory of this user's in the system's temporary directory.
///
/// The second lives where every user can create names: another user can take the name first,
/// and such a directory is never used (see [`RecoveryDir`]); the first cannot be taken.
pub fn fallback_dirs() -> Vec<PathBuf> {
    #[cfg(unix)]
    let user = rustix::process::getuid().as_raw().to_string();
    #[cfg(not(unix))]
    let user = "user".to_owned();
    let mut dirs = Vec::with_capacity(2);
    if let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
    {
        dirs.push(runtime.join("pinterest-oauth").join("recovered"));
    }
    dirs.push(std::env::temp_dir().join(format!("pinterest-oauth-recovered-{user}")));
    dirs
}

/// Where sets no store would take are kept, and found again.
///
/// [`RecoveryDir`] keeps them as files; a test or an embedding may keep them elsewhere. Every
/// method is keyed by the store's [`identity`](crate::TokenStore::identity).
pub trait Keeper: Send + Sync + fmt::Debug + 'static {
    /// Keeps `document` for the store `identity`; returns where.
    ///
    /// Errors: the keeper could not write it (it is then nowhere but in memory).
    fn keep(&self, identity: &str, document: &TokenDocument) -> io::Result<PathBuf>;

    /// Keeps a token endpoint's raw answer for the store `identity` (a 2xx the client could
    /// not read whole: it may hold a refresh token); returns where.
    ///
    /// Errors: the keeper could not write it.
    fn keep_raw(&self, identity: &str, body: &[u8]) -> io::Result<PathBuf>;

    /// What is kept for the store `identity`: documents that are safe to read (see the module
    /// docs), newest revision first, each with where it is.
    fn find(&self, identity: &str) -> Vec<(PathBuf, TokenDocument)>;

    /// Raw answers kept for the store `identity`.
    fn find_raw(&self, identity: &str) -> Vec<PathBuf>;

    /// Forgets a kept document (it was put in place, or is obsolete).
    fn remove(&self, at: &Path);

    /// Reserves, before a refresh token is spent, `room` bytes to keep what it buys (a set, or
    /// Pinterest's answer as it came): whatever fills the disk meanwhile, the reservation can
    /// still be filled. Dropping it unused gives the room back.
    ///
    /// Errors: there is no room (a full disk, a directory that cannot be written).
    fn reserve(&self, identity: &str, room: usize) -> io::Result<Box<dyn Reservation>>;

    /// Removes rooms reserved for `identity` by processes that are gone (killed while they
    /// held one). Best effort.
    fn sweep(&self, identity: &str);
}

/// Room reserved by [`Keeper::reserve`]; given back when dropped unused.
pub trait Reservation: Send + fmt::Debug {
    /// Keeps `document` in the reserved room; returns where it is.
    ///
    /// Errors: writing in place failed, or the document is larger than the room.
    fn fill(self: Box<Self>, document: &TokenDocument) -> io::Result<PathBuf>;

    /// Keeps a raw answer in the reserved room; returns where it is.
    ///
    /// Errors: writing in place failed, or the answer is larger than the room.
    fn fill_raw(self: Box<Self>, body: &[u8]) -> io::Result<PathBuf>;
}

/// The room a set needs: larger than any document.
pub const SET_ROOM: usize = 16 * 1024;

/// A file of reserved bytes, written and synced, open: what is kept is written over it.
#[derive(Debug)]
struct ReservedFile {
    file: Option<fs::File>,
    path: PathBuf,
    room: usize,
    /// The store's file-name id.
    id: String,
    /// How the set kept here is sealed.
    sealing: Option<crate::seal::Sealing>,
}

impl ReservedFile {
    fn fill_with(&mut self, bytes: &[u8], name: String) -> io::Result<PathBuf> {
        use std::io::Seek;
        let mut file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("already filled"))?;
        if bytes.len() > self.room {
            let _ = fs::remove_file(&self.path);
            return Err(io::Error::other("larger than the reserved room"));
        }
        file.seek(io::SeekFrom::Start(0))?;
        file.write_all(bytes)?;
        file.set_len(bytes.len() as u64)?;
        file.sync_all()?;
        let kept = self.path.with_file_name(name);
        fs::rename(&self.path, &kept)?;
        if let Some(dir) = kept.parent() {
            let _ = fs::File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(kept)
    }
}

impl Reservation for ReservedFile {
    fn fill(mut self: Box<Self>, document: &TokenDocument) -> io::Result<PathBuf> {
        let name = unique(&format!("{}-{}", self.id, document.revision()), ".json");
        let bytes = crate::seal::write_document(document, self.sealing.as_ref())
            .map_err(io::Error::other)?;
        self.fill_with(&bytes, name)
    }

    fn fill_raw(mut self: Box<Self>, body: &[u8]) -> io::Result<PathBuf> {
        let name = unique(&format!("{}-answer", self.id), ".raw");
        self.fill_with(body, name)
    }
}

impl Drop for ReservedFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Sets kept as files in a directory (created 0700), or in the first of [`fallback_dirs`]
/// that takes them when it cannot be written. A directory is used only if it is this user's,
/// not a link, and writable by nobody else: one another user created first is passed over.
#[derive(Debug, Clone)]
pub struct RecoveryDir {
    dir: PathBuf,
    sealing: Option<crate::seal::Sealing>,
}

impl RecoveryDir {
    /// Keeps sets in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> RecoveryDir {
        RecoveryDir {
            dir: dir.into(),
            sealing: None,
        }
    }

    /// Seals the sets it keeps as the store they belong to seals its documents, and opens
    /// sealed ones with it (a plain set stays readable). Give it the store's
    /// [`sealing`](crate::TokenStore::sealing).
    #[must_use]
    pub fn with_sealing(mut self, sealing: Option<crate::seal::Sealing>) -> RecoveryDir {
        self.sealing = sealing;
        self
    }

    /// The bytes a kept `document` is written as: sealed when this directory seals.
    fn bytes_of(&self, document: &TokenDocument) -> io::Result<Zeroizing<Vec<u8>>> {
        crate::seal::write_document(document, self.sealing.as_ref()).map_err(io::Error::other)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The directories searched: this one and the fallbacks.
    fn dirs(&self) -> Vec<PathBuf> {
        let mut dirs = vec![self.dir.clone()];
        for fallback in fallback_dirs() {
            if !dirs.contains(&fallback) {
                dirs.push(fallback);
            }
        }
        dirs
    }

    /// Files in the searched directories whose name starts with `prefix`, read only from a
    /// private directory of this user's.
    fn files(&self, prefix: &str) -> Vec<PathBuf> {
        self.dirs()
            .into_iter()
            .filter(|dir| private_dir(dir).is_ok())
            .filter_map(|dir| fs::read_dir(dir).ok())
            .flat_map(|entries| entries.flatten())
            .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
            .map(|e| e.path())
            .collect()
    }

    /// Writes `name` in the first of the searched directories that takes it; the error names
    /// every directory tried and why each refused.
    fn write(&self, name: &str, bytes: &[u8]) -> io::Result<PathBuf> {
        let mut refused = Vec::new();
        let mut kind = None;
        for dir in self.dirs() {
            match write_in(&dir, name, bytes) {
                Ok(path) => return Ok(path),
                Err(e) => {
                    kind.get_or_insert(e.kind());
                    refused.push(format!("{}: {e}", dir.display()));
                }
            }
        }
        Err(io::Error::new(
            kind.unwrap_or(io::ErrorKind::Other),
            format!("no directory took the file ({})", refused.join("; ")),
        ))
    }
}

/// A name no other kept file has (revisions alone may repeat across grants): the prefix, the
/// process id, then the time, each separated.
fn unique(prefix: &str, suffix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{prefix}-{}-{nanos:x}{suffix}", std::process::id())
}

/// Whether the process `pid` is gone (where that can be told: Linux's `/proc`).
fn process_gone(pid: u32) -> bool {
    #[cfg(target_os = "linux")]
    {
        pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        false
    }
}

impl Keeper for RecoveryDir {
    fn keep(&self, identity: &str, document: &TokenDocument) -> io::Result<PathBuf> {
        let prefix = format!("{}-{}", store_id(identity), document.revision());
        self.write(&unique(&prefix, ".json"), &self.bytes_of(document)?)
    }

    fn keep_raw(&self, identity: &str, body: &[u8]) -> io::Result<PathBuf> {
        let prefix = format!("{}-answer", store_id(identity));
        self.write(&unique(&prefix, ".raw"), body)
    }

    fn find(&self, identity: &str) -> Vec<(PathBuf, TokenDocument)> {
        let prefix = format!("{}-", store_id(identity));
        let mut found: Vec<(PathBuf, TokenDocument)> = self
            .files(&prefix)
            .into_iter()
            .filter(|path| path.extension().is_some_and(|e| e == "json"))
            .filter_map(|path| match read_private(&path) {
                Ok(bytes) => match crate::seal::read_document(&bytes, self.sealing.as_ref()) {
                    Ok(document) => Some((path, document.ok()?)),
                    Err(why) => {
                        tracing::warn!(kept = %path.display(), %why, "a kept token set is sealed and does not open with the keys given; it was left alone");
                        None
                    }
                },
                Err(why) => {
                    tracing::warn!(kept = %path.display(), %why, "a kept token set was left alone");
                    None
                }
            })
            .collect();
        found.sort_by_key(|(_, doc)| std::cmp::Reverse(doc.revision()));
        found
    }

    fn find_raw(&self, identity: &str) -> Vec<PathBuf> {
        let prefix = format!("{}-answer", store_id(identity));
        self.files(&prefix)
            .into_iter()
            .filter(|path| read_private(path).is_ok())
            .collect()
    }

    fn remove(&self, at: &Path) {
        let _ = fs::remove_file(at);
    }

    fn reserve(&self, identity: &str, room: usize) -> io::Result<Box<dyn Reservation>> {
        let id = store_id(identity);
        let name = unique(&format!("{id}-reserved"), ".room");
        let path = self.write(&name, &vec![b' '; room])?;
        let file = fs::OpenOptions::new().write(true).open(&path)?;
        Ok(Box::new(ReservedFile {
            file: Some(file),
            path,
            room,
            id,
            sealing: self.sealing.clone(),
        }))
    }

    fn sweep(&self, identity: &str) {
        let prefix = format!("{}-reserved-", store_id(identity));
        for path in self.files(&prefix) {
            let pid = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix(&prefix))
                .and_then(|rest| rest.split('-').next())
                .and_then(|pid| pid.parse().ok());
            if pid.is_some_and(process_gone) {
                let _ = fs::remove_file(path);
            }
        }
    }
}

fn write_in(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<PathBuf> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    private_dir(dir)?;
    let path = dir.join(name);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    let mut file = options.open(&path)?;
    if let Err(e) = file.write_all(bytes).and_then(|()| file.sync_all()) {
        // Never leave a part of something behind (an empty answer would be listed as kept).
        drop(file);
        let _ = fs::remove_file(&path);
        return Err(e);
    }
    Ok(path)
}

/// Refuses a directory that is a link, or that another user owns or can write to (the
/// fallback lives in a directory every user can write to).
#[cfg(unix)]
fn private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = fs::symlink_metadata(dir)?;
    let why = if !meta.is_dir() {
        "it is a link or not a directory"
    } else if meta.uid() != rustix::process::geteuid().as_raw() {
        "another user owns it (and may have created it first to block this)"
    } else if meta.permissions().mode() & 0o022 != 0 {
        "others can write to it"
    } else {
        return Ok(());
    };
    Err(io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("not a private directory of this user's: {why}"),
    ))
}

#[cfg(not(unix))]
fn private_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// Why a file that may hold a token set is not read: it is not something this user wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotPrivate {
    /// A symbolic link, a directory, a FIFO or a device.
    #[error("it is not a regular file")]
    NotRegular,
    /// Another user owns it.
    #[error("another user owns it")]
    OtherOwner,
    /// Its mode is not 0600.
    #[error("its mode is not 0600")]
    Mode,
    /// It is larger than any set.
    #[error("it is too large")]
    TooLarge,
    /// It could not be opened or read.
    #[error("it could not be read")]
    Unreadable,
}

/// The bytes of `path` (wiped when dropped) if it is a regular file, not a link, owned by this
/// user and of mode 0600; opened without following a link and without blocking on a FIFO.
pub fn read_private(path: &Path) -> Result<Zeroizing<Vec<u8>>, NotPrivate> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(
        &mut options,
        libc::O_NOFOLLOW | libc::O_NONBLOCK,
    );
    let file = options.open(path).map_err(|e| {
        #[cfg(unix)]
        if matches!(e.raw_os_error(), Some(code) if code == libc::ELOOP || code == libc::EMLINK) {
            return NotPrivate::NotRegular;
        }
        let _ = e;
        NotPrivate::Unreadable
    })?;
    let meta = file.metadata().map_err(|_| NotPrivate::Unreadable)?;
    if !meta.is_file() {
        return Err(NotPrivate::NotRegular);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        if meta.uid() != rustix::process::geteuid().as_raw() {
            return Err(NotPrivate::OtherOwner);
        }
        if meta.permissions().mode() & 0o777 != 0o600 {
            return Err(NotPrivate::Mode);
        }
    }
    if meta.len() > MAX_KEPT {
        return Err(NotPrivate::TooLarge);
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(meta.len() as usize));
    file.take(MAX_KEPT)
        .read_to_end(&mut bytes)
        .map_err(|_| NotPrivate::Unreadable)?;
    Ok(bytes)
}

/// Writes `bytes` to `path` as a private file (mode 0600): into a new file of a random name in
/// the same directory (created exclusively, never through a link), then renamed over `path`
/// (which replaces a link planted there instead of writing through it). For small side files
/// next to a token file; read them back with [`read_private`].
///
/// Errors: the directory does not take the file, or the rename fails (nothing is left behind).
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".pinterest-oauth-side.tmp-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o600));
    }
    let mut temp = builder.tempfile_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Keeps `document` for the store whose [`identity`](crate::TokenStore::identity) is
/// `identity` in `dir` (created 0700), or, when `dir` cannot be written, in the first of [`fallback_dirs`] that takes it,
/// as a file only the user can read. Returns its path.
///
/// Errors: neither directory could take it.
pub fn keep(dir: &Path, identity: &str, document: &TokenDocument) -> io::Result<PathBuf> {
    RecoveryDir::new(dir).keep(identity, document)
}

/// The documents kept in `dir` (and in [`fallback_dirs`]) for the store whose identity is
/// `identity`, newest revision first.
pub fn find(dir: &Path, identity: &str) -> Vec<(PathBuf, TokenDocument)> {
    RecoveryDir::new(dir).find(identity)
}

/// With the store's lock held: the stored document, after putting in place what `dir` keeps
/// for it (see [`settle_with`]). Without a `dir`, just the stored document.
///
/// Errors: the store's own, reading or saving; a kept document that could not be saved stays
/// kept.
pub fn settle<S: TokenStore + ?Sized>(
    store: &S,
    lock: &StoreLock,
    dir: Option<&Path>,
) -> Result<Option<TokenDocument>, StoreError> {
    match dir {
        Some(dir) => settle_with(
            store,
            lock,
            &RecoveryDir::new(dir).with_sealing(store.sealing().cloned()),
        ),
        None => store.load(),
    }
}

/// With the store's lock held: the stored document, after putting in place, in order, every
/// document `keeper` holds for this store that supersedes what is stored (a set an earlier run
/// could not save, then its successors). Kept documents the stored one makes obsolete are
/// removed; any other is left where it is and reported (an empty store may mean the grant was
/// revoked, or that the store lost its data; a set of another lineage may be someone's
/// mistake: only the user can tell).
///
/// Errors: the store's own, reading or saving; a kept document that could not be saved stays
/// kept.
pub fn settle_with<S: TokenStore + ?Sized>(
    store: &S,
    lock: &StoreLock,
    keeper: &dyn Keeper,
) -> Result<Option<TokenDocument>, StoreError> {
    let mut stored = store.load()?;
    let mut kept = keeper.find(&store.identity());
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
        keeper.remove(&path);
        tracing::warn!(from = %path.display(), "restored a token set an earlier run could not save");
        stored = Some(doc);
    }
    for (path, doc) in kept {
        match &stored {
            Some(current) if doc.obsoleted_by(current) => {
                tracing::debug!(kept = %path.display(), "removed a kept token set the stored one made obsolete");
                keeper.remove(&path);
            }
            None => {
                tracing::warn!(kept = %path.display(), "the store is empty and a token set is kept aside: if the store lost its data (rather than the grant being revoked), that set is the live one");
            }
            Some(_) => {
                tracing::warn!(kept = %path.display(), "a kept token set is not in the stored set's lineage; it was left alone");
            }
        }
    }
    Ok(stored)
}

/// Whether a kept document would be put in place over what is stored now (for a status).
///
/// Errors: the store's own, reading.
pub fn pending<S: TokenStore + ?Sized>(
    store: &S,
    dir: &Path,
) -> Result<Option<PathBuf>, StoreError> {
    let stored = store.load()?;
    Ok(pending_over(
        stored.as_ref(),
        &RecoveryDir::new(dir).with_sealing(store.sealing().cloned()),
        &store.identity(),
    ))
}

/// Whether a kept document would be put in place over `stored`, the document of the store
/// whose identity is `identity` (already read).
pub fn pending_over(
    stored: Option<&TokenDocument>,
    keeper: &dyn Keeper,
    identity: &str,
) -> Option<PathBuf> {
    keeper
        .find(identity)
        .into_iter()
        .find(|(_, doc)| doc.supersedes(stored))
        .map(|(path, _)| path)
}
