//! The JSON file store: atomic writes, mode 0600, an advisory lock shared across processes.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pinterest_oauth_core::Token;

use crate::{StoreError, StoreLock, TokenStore};

/// A token set in a JSON file (the document of [`pinterest_oauth_core::persist`]).
///
/// * Writes are atomic: a temporary file in the same directory, created with mode 0600,
///   fsynced, renamed over the old file, then the directory fsynced.
/// * `<file>.lock` beside it carries an advisory lock (`flock`), taken by [`lock`](Self::lock):
///   two processes never interleave writes or refresh at once.
/// * A corrupt or unreadable file is an error, and [`save`](Self::save) refuses to replace it.
/// * A missing directory is created with mode 0700.
///
/// # Examples
///
/// ```
/// use pinterest_oauth_store::FileStore;
///
/// let store = FileStore::new("/tmp/pinterest/token.json");
/// assert_eq!(store.lock_path().to_str(), Some("/tmp/pinterest/token.json.lock"));
/// ```
#[derive(Debug, Clone)]
pub struct FileStore {
    path: PathBuf,
    lock_path: PathBuf,
    lock_timeout: Duration,
}

/// How long [`FileStore::lock`](TokenStore::lock) waits by default: longer than a refresh with
/// the default timeouts takes.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(120);

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
        }
    }

    /// Waits at most this long for the lock (default 2 minutes), then fails with
    /// [`StoreError::LockTimeout`].
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
            return Ok(());
        }
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(dir)
            .map_err(io_error("create directory", dir))
    }

    /// Removes temporary files left by writers that died mid-write. Called under the lock, when
    /// no writer can be active.
    fn remove_stale_temps(&self) {
        let prefix = self.temp_prefix();
        let Ok(entries) = fs::read_dir(self.dir()) else {
            return;
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    fn read(&self) -> Result<Option<Vec<u8>>, StoreError> {
        match fs::read(&self.path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("read", &self.path)(e)),
        }
    }

    fn parse(&self, bytes: &[u8]) -> Result<Token, StoreError> {
        Token::from_json(bytes).map_err(|problem| StoreError::Corrupt {
            path: self.path.clone(),
            problem,
        })
    }
}

impl TokenStore for FileStore {
    fn lock(&self) -> Result<StoreLock, StoreError> {
        self.ensure_dir()?;
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options
            .open(&self.lock_path)
            .map_err(io_error("open lock file", &self.lock_path))?;
        let deadline = Instant::now() + self.lock_timeout;
        let mut pause = Duration::from_millis(1);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(StoreLock::new(file)),
                Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(25));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(StoreError::LockTimeout {
                        path: self.lock_path.clone(),
                        waited: self.lock_timeout,
                    });
                }
                Err(fs::TryLockError::Error(e)) => {
                    return Err(io_error("lock", &self.lock_path)(e));
                }
            }
        }
    }

    fn load(&self) -> Result<Option<Token>, StoreError> {
        let Some(bytes) = self.read()? else {
            return Ok(None);
        };
        warn_if_not_private(&self.path);
        self.parse(&bytes).map(Some)
    }

    fn save(&self, _lock: &StoreLock, token: &Token) -> Result<(), StoreError> {
        self.ensure_dir()?;
        // Never replace what we cannot read back: it may be the only copy of a token.
        if let Some(bytes) = self.read()? {
            self.parse(&bytes)?;
        }
        self.remove_stale_temps();
        let dir = self.dir();
        let mut temp = tempfile::Builder::new()
            .prefix(&self.temp_prefix())
            .tempfile_in(dir)
            .map_err(io_error("create a temporary file in", dir))?;
        set_private(temp.as_file()).map_err(io_error("set permissions on", temp.path()))?;
        temp.write_all(&token.to_json())
            .and_then(|()| temp.as_file().sync_all())
            .map_err(io_error("write", temp.path()))?;
        temp.persist(&self.path)
            .map_err(|e| io_error("replace", &self.path)(e.error))?;
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_error("sync directory", dir))?;
        tracing::debug!(path = %self.path.display(), "token set saved");
        Ok(())
    }

    fn clear(&self, _lock: &StoreLock) -> Result<(), StoreError> {
        match fs::remove_file(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_error("remove", &self.path)(e)),
        }
        File::open(self.dir())
            .and_then(|d| d.sync_all())
            .map_err(io_error("sync directory", self.dir()))
    }
}

fn io_error<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(unix)]
fn set_private(file: &File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn set_private(_file: &File) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn warn_if_not_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), mode = format!("{:o}", meta.permissions().mode() & 0o777), "token file is readable by others; it should be 0600");
    }
}

#[cfg(not(unix))]
fn warn_if_not_private(_path: &Path) {}
