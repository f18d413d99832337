//! The JSON file store: atomic writes, mode 0600, an advisory lock shared across processes,
//! recovery of a set a writer left behind.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pinterest_oauth_core::{DocumentError, TokenDocument};
use zeroize::Zeroizing;

use crate::{Attempt, StoreError, StoreLock, TokenStore, recovery};

/// A token document in a JSON file (see [`pinterest_oauth_core::document`]).
///
/// * Writes are atomic: a temporary file in the same directory, created with mode 0600,
///   fsynced, renamed over the old file, then the directory fsynced.
/// * `<file>.lock` beside it carries an advisory lock (`flock`), taken by [`lock`](Self::lock):
///   two processes never interleave writes or refresh at once. It is opened without following
///   symlinks and must be a regular file.
/// * A newer complete document left in a temporary file (a writer killed between writing and
///   renaming, or a rename that failed) is put in place the next time the lock is taken;
///   incomplete ones are removed.
/// * A corrupt, unreadable or newer-version file is an error, and [`save`](Self::save) refuses
///   to replace it; so does a path that is not a regular file (a FIFO would otherwise hang
///   every reader).
/// * A token file readable by others is reported (a `warn` log) and, when it is ours, made
///   private again on load.
/// * A missing directory is created with mode 0700.
///
/// # Examples
///
/// ```
/// # mod pinterest_oauth_ureq { pub use pinterest_oauth_core::*; pub use pinterest_oauth_store::*; }
/// use pinterest_oauth_ureq::FileStore;
///
/// let store = FileStore::new("/tmp/pinterest/token.json");
/// assert_eq!(store.lock_path().to_str(), Some("/tmp/pinterest/token.json.lock"));
/// ```
#[derive(Debug, Clone)]
pub struct FileStore {
    path: PathBuf,
    lock_path: PathBuf,
    lock_timeout: Duration,
    sealing: Option<crate::seal::Sealing>,
}

/// How long [`FileStore::lock`](TokenStore::lock) waits by default: longer than a refresh with
/// the default timeouts takes.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(120);

/// The random letters or digits after a temporary file's prefix (tempfile's default).
const TEMP_RANDOM: usize = 6;

/// The largest token file read: a document is well under 4 KiB.
const MAX_FILE: u64 = 1024 * 1024;

impl FileStore {
    /// A store at `path`; nothing is touched until it is used.
    pub fn new(path: impl Into<PathBuf>) -> FileStore {
        let path = path.into();
        let mut lock_path = path.clone().into_os_string();
        lock_path.push(".lock");
        FileStore {
            path,
            lock_path: PathBuf::from(lock_path),
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            sealing: None,
        }
    }

    /// Seals every document this store writes (its temporary files included) under
    /// `sealing`'s first key, and opens sealed ones with any of its keys. Plain documents
    /// already stored stay readable; the next save seals them.
    #[must_use]
    pub fn with_sealing(mut self, sealing: crate::seal::Sealing) -> FileStore {
        self.sealing = Some(sealing);
        self
    }

    /// The sealing, if documents are sealed.
    pub fn sealing(&self) -> Option<&crate::seal::Sealing> {
        self.sealing.as_ref()
    }

    /// The id of the key the stored document is sealed under; `None` when it is plain or there
    /// is none. Needs no key.
    ///
    /// Errors: what reading the file can fail with ([`StoreError::Io`],
    /// [`StoreError::NotRegularFile`], [`StoreError::Corrupt`] for an oversized file).
    pub fn sealed_under(&self) -> Result<Option<String>, StoreError> {
        Ok(self
            .read_path(&self.path)?
            .and_then(|bytes| crate::seal::sealed_kid(&bytes)))
    }

    /// Waits at most this long for the lock (default 2 minutes), then fails with
    /// [`StoreError::LockTimeout`].
    #[must_use]
    pub fn with_lock_timeout(mut self, timeout: Duration) -> FileStore {
        self.lock_timeout = timeout;
        self
    }

    /// The token file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The lock file beside it.
    pub fn lock_path(&self) -> &Path {
        &self.lock_path
    }

    fn dir(&self) -> &Path {
        match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        }
    }

    /// Prefix of this store's temporary files.
    fn temp_prefix(&self) -> String {
        let name = self
            .path
            .file_name()
            .map_or_else(|| "token".into(), |n| n.to_string_lossy().into_owned());
        format!(".{name}.tmp-")
    }

    fn ensure_dir(&self) -> Result<(), StoreError> {
        let dir = self.dir();
        if dir.is_dir() {
            return self.check_dir(dir);
        }
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(dir)
            .map_err(io_error("create directory", dir))
    }

    /// Refuses a directory another user owns (they could replace or remove the token file);
    /// warns about one every user can write to without the sticky bit.
    #[cfg(unix)]
    fn check_dir(&self, dir: &Path) -> Result<(), StoreError> {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta = fs::metadata(dir).map_err(io_error("inspect directory", dir))?;
        check_owner(dir, meta.uid())?;
        let mode = meta.permissions().mode();
        if mode & 0o002 != 0 && mode & 0o1000 == 0 {
            tracing::warn!(dir = %dir.display(), "every user can write to the token file's directory (and it is not sticky): another user could replace the token file");
        }
        Ok(())
    }

    #[cfg(not(unix))]
    fn check_dir(&self, _dir: &Path) -> Result<(), StoreError> {
        Ok(())
    }

    /// Opens the lock file: never through a symlink, and only a regular file.
    fn open_lock(&self) -> Result<File, StoreError> {
        self.ensure_dir()?;
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
        }
        let file = options.open(&self.lock_path).map_err(|e| {
            if is_symlink_refusal(&e) {
                StoreError::NotRegularFile {
                    path: self.lock_path.clone(),
                }
            } else {
                io_error("open lock file", &self.lock_path)(e)
            }
        })?;
        let meta = file
            .metadata()
            .map_err(io_error("inspect lock file", &self.lock_path))?;
        if !meta.is_file() {
            return Err(StoreError::NotRegularFile {
                path: self.lock_path.clone(),
            });
        }
        #[cfg(unix)]
        check_owner(&self.lock_path, std::os::unix::fs::MetadataExt::uid(&meta))?;
        Ok(file)
    }

    /// A lock taken on `file`, as the [`StoreLock`] guard [`confirm`](TokenStore::confirm)
    /// recognises.
    fn held(&self, file: File) -> HeldLock {
        HeldLock {
            file,
            path: self.lock_path.clone(),
        }
    }

    /// Whether `file` is still the file at the lock path (not removed or replaced since it
    /// was opened).
    fn is_current_lock(&self, file: &File) -> Result<bool, StoreError> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let open = file
                .metadata()
                .map_err(io_error("inspect lock file", &self.lock_path))?;
            match fs::symlink_metadata(&self.lock_path) {
                Ok(now) => Ok(now.dev() == open.dev() && now.ino() == open.ino()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(io_error("inspect lock file", &self.lock_path)(e)),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = file;
            Ok(true)
        }
    }

    /// The file's bytes (wiped when dropped), or `None` when there is no file. Refuses
    /// anything but a regular file without blocking on it.
    fn read_path(&self, path: &Path) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        let mut options = OpenOptions::new();
        options.read(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
        let file = match options.open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("read", path)(e)),
        };
        let meta = file.metadata().map_err(io_error("inspect", path))?;
        if !meta.is_file() {
            return Err(StoreError::NotRegularFile {
                path: path.to_path_buf(),
            });
        }
        // Another user's file may hold someone else's tokens (planted in a shared directory).
        #[cfg(unix)]
        check_owner(path, std::os::unix::fs::MetadataExt::uid(&meta))?;
        if meta.len() > MAX_FILE {
            return Err(StoreError::Corrupt {
                location: path.display().to_string(),
                problem: DocumentError::TooLarge,
            });
        }
        let mut bytes = Zeroizing::new(Vec::with_capacity(meta.len() as usize));
        file.take(MAX_FILE)
            .read_to_end(&mut bytes)
            .map_err(io_error("read", path))?;
        Ok(Some(bytes))
    }

    fn parse(&self, path: &Path, bytes: &[u8]) -> Result<TokenDocument, StoreError> {
        crate::seal::read_document(bytes, self.sealing.as_ref())
            .map_err(|problem| StoreError::Sealed {
                location: path.display().to_string(),
                problem,
            })?
            .map_err(|problem| StoreError::Corrupt {
                location: path.display().to_string(),
                problem,
            })
    }

    fn read_document(&self) -> Result<Option<TokenDocument>, StoreError> {
        match self.read_path(&self.path)? {
            Some(bytes) => self.parse(&self.path, &bytes).map(Some),
            None => Ok(None),
        }
    }

    fn temps(&self) -> Vec<PathBuf> {
        let prefix = self.temp_prefix();
        let Ok(entries) = fs::read_dir(self.dir()) else {
            return Vec::new();
        };
        // Exactly the names `write` makes: the prefix and six random letters or digits. A
        // longer name with the same start is another file's (a grant named
        // `alice.token.json.tmp-1` has temporary files that start like `alice`'s).
        entries
            .flatten()
            .filter(|e| {
                e.file_name().to_str().is_some_and(|name| {
                    name.strip_prefix(&prefix).is_some_and(|rest| {
                        rest.len() == TEMP_RANDOM && rest.bytes().all(|b| b.is_ascii_alphanumeric())
                    })
                })
            })
            .map(|e| e.path())
            .collect()
    }

    /// Called with the lock held, when no writer can be active: a complete document left in a
    /// temporary file by a writer that died or could not rename is put in place when it is in
    /// the stored set's own lineage (see [`TokenDocument::supersedes`]).
    ///
    /// Only a temporary file this user could have written is read: a regular file (not a
    /// link), owned by this user, mode 0600 (see [`recovery::read_private`]); anything else,
    /// such as a file another user planted in a shared directory, is left alone and reported.
    /// Of this user's own files, incomplete ones and those the stored set made obsolete are
    /// removed; one of another lineage is left alone and reported. Nothing happens while the
    /// stored file cannot be read (it may be the only copy of something).
    fn restore_temps(&self) -> Result<(), StoreError> {
        let temps = self.temps();
        if temps.is_empty() {
            return Ok(());
        }
        let mut stored = match self.read_document() {
            Ok(stored) => stored,
            Err(_) => return Ok(()),
        };
        let mut kept: Vec<(PathBuf, TokenDocument)> = Vec::new();
        for temp in temps {
            match recovery::read_private(&temp) {
                Ok(bytes) => match crate::seal::read_document(&bytes, self.sealing.as_ref()) {
                    Ok(Ok(doc)) => kept.push((temp, doc)),
                    // A write of ours cut short.
                    Ok(Err(_)) => {
                        let _ = fs::remove_file(&temp);
                    }
                    // Sealed under a key not given: maybe the only copy of a set.
                    Err(why) => {
                        tracing::warn!(temp = %temp.display(), %why, "a sealed temporary token file could not be opened; it was left alone");
                    }
                },
                Err(why) => {
                    tracing::warn!(temp = %temp.display(), %why, "a temporary token file beside the token file was left alone");
                }
            }
        }
        // A chain (a set kept, then its successor kept too) is restored in order.
        while let Some(at) = kept
            .iter()
            .position(|(_, doc)| doc.supersedes(stored.as_ref()))
        {
            let (temp, doc) = kept.swap_remove(at);
            let doc = doc.after(stored.as_ref());
            self.write(&doc)?;
            let _ = fs::remove_file(&temp);
            tracing::warn!(path = %self.path.display(), revision = doc.revision(), "restored a token set an earlier run could not put in place");
            stored = Some(doc);
        }
        for (temp, doc) in kept {
            match &stored {
                Some(current) if doc.obsoleted_by(current) => {
                    tracing::debug!(temp = %temp.display(), "removed a temporary token file the stored set made obsolete");
                    let _ = fs::remove_file(temp);
                }
                _ => {
                    tracing::warn!(temp = %temp.display(), "a temporary token file is not in the stored set's lineage; it was left alone");
                }
            }
        }
        Ok(())
    }

    /// Writes `document` atomically (temporary file, fsync, rename, fsync of the directory).
    /// When the rename fails, the complete set stays in its temporary file (restored later).
    fn write(&self, document: &TokenDocument) -> Result<(), StoreError> {
        let dir = self.dir();
        let prefix = self.temp_prefix();
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).rand_bytes(TEMP_RANDOM);
        private(&mut builder);
        let mut temp = builder
            .tempfile_in(dir)
            .map_err(io_error("create a temporary file in", dir))?;
        let bytes =
            crate::seal::write_document(document, self.sealing.as_ref()).map_err(|problem| {
                StoreError::Sealed {
                    location: self.path.display().to_string(),
                    problem,
                }
            })?;
        temp.write_all(&bytes)
            .and_then(|()| temp.as_file().sync_all())
            .map_err(io_error("write", temp.path()))?;
        if let Err(e) = temp.persist(&self.path) {
            // The complete set is in the temporary file: keep it, it is restored later.
            let kept = e.file.into_temp_path();
            let kept_in = kept.to_path_buf();
            let _ = kept.keep();
            return Err(StoreError::Unsaved {
                source: Box::new(StoreError::Io {
                    action: "put in place",
                    path: self.path.clone(),
                    source: e.error,
                }),
                kept_in: Some(kept_in),
            });
        }
        sync_dir(dir)?;
        tracing::debug!(path = %self.path.display(), revision = document.revision(), "token document saved");
        Ok(())
    }

    /// Reports a token file others can read, and makes it private when it is ours.
    #[cfg(unix)]
    fn check_private(&self) {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let Ok(meta) = fs::metadata(&self.path) else {
            return;
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 == 0 {
            return;
        }
        let ours = meta.uid() == rustix::process::geteuid().as_raw();
        let fixed =
            ours && fs::set_permissions(&self.path, fs::Permissions::from_mode(0o600)).is_ok();
        tracing::warn!(
            path = %self.path.display(),
            mode = format!("{mode:o}"),
            fixed,
            "the token file was readable by other users{}",
            if fixed { "; it is now 0600" } else { "; make it 0600" }
        );
    }

    #[cfg(not(unix))]
    fn check_private(&self) {}
}

/// What a [`FileStore`]'s [`StoreLock`] holds: the locked lock file, and its path.
#[derive(Debug)]
struct HeldLock {
    file: File,
    path: PathBuf,
}

impl TokenStore for FileStore {
    fn lock(&self) -> Result<StoreLock, StoreError> {
        let deadline = Instant::now() + self.lock_timeout;
        let mut pause = Duration::from_millis(1);
        let mut file = self.open_lock()?;
        loop {
            match file.try_lock() {
                // Locked, but the lock file was replaced meanwhile (removed by a cleaner):
                // a lock on the old one excludes nobody. Open the current one and lock that,
                // within the same deadline.
                Ok(()) if !self.is_current_lock(&file)? => {
                    drop(file);
                    if Instant::now() >= deadline {
                        return Err(StoreError::LockTimeout {
                            location: self.lock_path.display().to_string(),
                            waited: self.lock_timeout,
                        });
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(25));
                    file = self.open_lock()?;
                }
                Ok(()) => {
                    self.restore_temps()?;
                    return Ok(StoreLock::new(self.held(file)));
                }
                Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(25));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(StoreError::LockTimeout {
                        location: self.lock_path.display().to_string(),
                        waited: self.lock_timeout,
                    });
                }
                Err(fs::TryLockError::Error(e)) => {
                    return Err(io_error("lock", &self.lock_path)(e));
                }
            }
        }
    }

    fn try_lock(&self) -> Result<Option<StoreLock>, StoreError> {
        let file = self.open_lock()?;
        match file.try_lock() {
            // The lock file was replaced meanwhile: as if busy (the caller holds a valid token).
            Ok(()) if !self.is_current_lock(&file)? => Ok(None),
            Ok(()) => {
                self.restore_temps()?;
                Ok(Some(StoreLock::new(self.held(file))))
            }
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(e)) => Err(io_error("lock", &self.lock_path)(e)),
        }
    }

    fn load(&self) -> Result<Option<TokenDocument>, StoreError> {
        let document = self.read_document()?;
        if document.is_some() {
            self.check_private();
        }
        Ok(document)
    }

    fn save(&self, _lock: &StoreLock, document: &TokenDocument) -> Result<(), StoreError> {
        // Never write what could not be read back.
        document
            .check_storable()
            .map_err(|problem| StoreError::Corrupt {
                location: self.location(),
                problem,
            })?;
        self.ensure_dir()?;
        // Never replace what we cannot read back (it may be the only copy of a token), nor a
        // newer revision (another writer's set).
        if let Some(stored) = self.read_document()?
            && stored.revision() >= document.revision()
            && stored != *document
        {
            return Err(StoreError::Conflict {
                location: self.location(),
                stored: stored.revision(),
                attempted: document.revision(),
            });
        }
        self.write(document)
    }

    fn reserve(&self, _lock: &StoreLock) -> Result<(), StoreError> {
        self.ensure_dir()?;
        // Whatever is stored must be replaceable (readable, not newer, a regular file).
        self.read_document()?;
        let dir = self.dir();
        let prefix = self.temp_prefix();
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).rand_bytes(TEMP_RANDOM);
        private(&mut builder);
        let mut probe = builder
            .tempfile_in(dir)
            .map_err(io_error("create a temporary file in", dir))?;
        // As large as a document with long tokens: the disk must have room for the real one.
        probe
            .write_all(&[b' '; 4096])
            .and_then(|()| probe.as_file().sync_all())
            .map_err(io_error("write", probe.path()))?;
        probe
            .close()
            .map_err(io_error("remove a temporary file in", dir))
    }

    /// The lock is an advisory lock held on an open file, which cannot run out; it is lost
    /// only if the lock file was removed or replaced while held (a careless cleaner), since a
    /// second holder then locks another file: [`StoreError::LockLost`]. A lock this store did
    /// not make is [`StoreError::NotLocked`].
    fn confirm(&self, lock: &StoreLock, _attempt: &Attempt) -> Result<(), StoreError> {
        match lock.guard::<HeldLock>() {
            Some(held) if held.path == self.lock_path => {
                if self.is_current_lock(&held.file)? {
                    Ok(())
                } else {
                    Err(StoreError::LockLost {
                        location: self.lock_path.display().to_string(),
                    })
                }
            }
            _ => Err(StoreError::NotLocked),
        }
    }

    fn clear(&self, _lock: &StoreLock) -> Result<(), StoreError> {
        // Left-over temporary files go too: a revoked set must never be restored.
        for temp in self.temps() {
            let _ = fs::remove_file(temp);
        }
        match fs::remove_file(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_error("remove", &self.path)(e)),
        }
        sync_dir(self.dir())
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }

    /// The file's canonical directory and its name: the same for `t.json`, `./t.json`, an
    /// absolute path, a path through a linked directory, from any working directory. Where the
    /// directory does not exist yet, its absolute path.
    fn identity(&self) -> String {
        let name = self.path.file_name().unwrap_or(self.path.as_os_str());
        let dir = self.dir();
        let dir = fs::canonicalize(dir)
            .or_else(|_| std::path::absolute(dir))
            .unwrap_or_else(|_| dir.to_path_buf());
        format!("file:{}", dir.join(name).display())
    }
    fn sealing(&self) -> Option<&crate::seal::Sealing> {
        FileStore::sealing(self)
    }
}

fn io_error<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// A file or directory of this process's user, or of root, is trusted; another user's is not.
#[cfg(unix)]
fn check_owner(path: &Path, owner: u32) -> Result<(), StoreError> {
    let me = rustix::process::geteuid().as_raw();
    if owner == me || owner == 0 {
        Ok(())
    } else {
        Err(StoreError::NotOwned {
            path: path.to_path_buf(),
            owner,
        })
    }
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error("sync directory", dir))
}

#[cfg(unix)]
fn private(builder: &mut tempfile::Builder<'_, '_>) {
    use std::os::unix::fs::PermissionsExt;
    builder.permissions(fs::Permissions::from_mode(0o600));
}

#[cfg(not(unix))]
fn private(_builder: &mut tempfile::Builder<'_, '_>) {}

/// `O_NOFOLLOW` on a symlink fails with `ELOOP` (Linux, BSDs) or `EMLINK` (some BSDs).
fn is_symlink_refusal(error: &io::Error) -> bool {
    #[cfg(unix)]
    {
        matches!(error.raw_os_error(), Some(code) if code == libc::ELOOP || code == libc::EMLINK)
    }
    #[cfg(not(unix))]
    {
        let _ = error;
        false
    }
}
