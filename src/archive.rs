//! The archive directory: where it is, its layout, its permissions and its lock.
//!
//! An archive is complete on its own:
//! ```text
//! ARCHIVE/
//!   kura.sqlite        metadata (SQLite, WAL)            see [`crate::store`]
//!   index/             full-text index (tantivy)         see [`crate::index`]
//!   originals/         compressed original messages      see [`crate::pack`]
//!   import.lock        held exclusively while an import writes
//! ```
//! Everything is created owner-only (directories 0700, files 0600), whatever
//! the umask: mail is personal data.

use anyhow::{Context, Result, bail};
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Exit status for "the archive is busy" (EX_TEMPFAIL from sysexits.h).
pub const EXIT_LOCKED: i32 = 75;

/// The database's file name in an archive.
const DB_FILE: &str = "kura.sqlite";

/// Whether `dir` is an archive (it has a database, an SQLite file): an
/// import passes over one it finds among the exports it walks, and refuses
/// one it is given. A folder that merely holds a file of that name (empty,
/// or something else) is mail to walk like any other.
pub fn is_archive(dir: &Path) -> bool {
    use std::io::Read;
    const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";
    let mut head = [0u8; 16];
    std::fs::File::open(dir.join(DB_FILE))
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| &head == SQLITE_HEADER)
}

/// An error that carries the process exit status it should end with.
#[derive(Debug)]
pub struct ExitError {
    pub code: i32,
    pub message: String,
}

impl std::fmt::Display for ExitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExitError {}

/// Paths of an archive's parts.
#[derive(Debug, Clone)]
pub struct Archive {
    pub root: PathBuf,
}

impl Archive {
    /// The archive named by `--archive`/`KURA_ARCHIVE`, else `$XDG_DATA_HOME/kura`,
    /// else `~/.local/share/kura`.
    pub fn locate(explicit: Option<&Path>) -> Result<Archive> {
        if let Some(p) = explicit {
            return Ok(Archive {
                root: p.to_path_buf(),
            });
        }
        if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
            return Ok(Archive {
                root: PathBuf::from(x).join("kura"),
            });
        }
        let home = std::env::var_os("HOME")
            .filter(|v| !v.is_empty())
            .context("cannot find the archive: set --archive, KURA_ARCHIVE or HOME")?;
        Ok(Archive {
            root: PathBuf::from(home).join(".local/share/kura"),
        })
    }

    pub fn db_path(&self) -> PathBuf {
        self.root.join(DB_FILE)
    }
    pub fn index_dir(&self) -> PathBuf {
        self.root.join("index")
    }
    pub fn originals_dir(&self) -> PathBuf {
        self.root.join("originals")
    }
    pub fn lock_path(&self) -> PathBuf {
        self.root.join("import.lock")
    }

    /// True when the archive has been created (it has a database).
    pub fn exists(&self) -> bool {
        self.db_path().is_file()
    }

    /// Fails with a helpful message when the archive does not exist yet.
    pub fn require(&self) -> Result<()> {
        if !self.exists() {
            bail!(
                "no archive at {}: run `kura import PATH...` first, or name the archive with --archive or KURA_ARCHIVE",
                self.root.display()
            );
        }
        Ok(())
    }

    /// Creates the archive directories (owner-only) if they are missing.
    pub fn create_dirs(&self) -> Result<()> {
        for dir in [self.root.clone(), self.index_dir(), self.originals_dir()] {
            create_private_dir(&dir)?;
        }
        Ok(())
    }

    /// Takes the import lock. Without `wait`, a lock held by another process is
    /// an [`ExitError`] with [`EXIT_LOCKED`]; with `wait`, blocks until it is free.
    pub fn lock_for_writing(&self, wait: bool) -> Result<WriteLock> {
        let path = self.lock_path();
        let file = private_file_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open the lock file {}", path.display()))?;
        if wait {
            file.lock()
                .with_context(|| format!("cannot lock {}", path.display()))?;
        } else {
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(ExitError {
                        code: EXIT_LOCKED,
                        message: format!(
                            "another kura process is writing to the archive {} (lock {}); try again later or pass --wait",
                            self.root.display(),
                            path.display()
                        ),
                    }
                    .into());
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(e).with_context(|| format!("cannot lock {}", path.display()));
                }
            }
        }
        Ok(WriteLock { _file: file })
    }
}

/// Held while a process writes to the archive; released on drop.
pub struct WriteLock {
    _file: File,
}

/// Open options that create files owner-only (0600).
pub fn private_file_options() -> OpenOptions {
    let mut o = OpenOptions::new();
    o.mode(0o600);
    o
}

/// Creates `dir` (and parents) and makes it owner-only (0700).
pub fn create_private_dir(dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let perms = fs::Permissions::from_mode(0o700);
    fs::set_permissions(dir, perms)
        .with_context(|| format!("cannot make {} owner-only", dir.display()))?;
    Ok(())
}

/// Makes every file under the archive owner-only (files tantivy and SQLite
/// created behind our back, e.g. WAL files and segments).
pub fn tighten_permissions(root: &Path) -> Result<()> {
    for entry in walkdir::WalkDir::new(root).follow_links(false) {
        let entry = entry.with_context(|| format!("cannot read {}", root.display()))?;
        let ft = entry.file_type();
        let mode = if ft.is_dir() {
            0o700
        } else if ft.is_file() {
            0o600
        } else {
            continue;
        };
        let meta = entry.metadata()?;
        if meta.permissions().mode() & 0o777 != mode {
            fs::set_permissions(entry.path(), fs::Permissions::from_mode(mode))
                .with_context(|| format!("cannot chmod {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Sets the process umask to 077 so that every file the libraries create is
/// owner-only too. Called once at start-up.
pub fn restrict_umask() {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

/// Total size of the regular files under `path` (0 when absent).
pub fn dir_size(path: &Path) -> u64 {
    walkdir::WalkDir::new(path)
        .follow_links(false)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}
