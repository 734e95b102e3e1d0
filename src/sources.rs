//! Finding and reading the mail an import is given: Maildir folders (with
//! `cur/` or `new/`, nested Maildir++ folders too), mbox files (mboxo and
//! mboxrd, also `.mbox.gz`) and single `.eml` files or folders of them.
//!
//! Discovery never drops a file silently: everything it sees and does not
//! import is listed in [`Discovery::ignored`] with a short reason.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::{self, File, Metadata};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use crate::parse::{UTF8_BOM, past_bom_and_blank_lines};
use anyhow::Context;
use walkdir::WalkDir;

/// What kind of source a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// One message per file inside a Maildir `cur/` or `new/` folder.
    MaildirFile,
    /// A single message file (`.eml`, or any file that is not mbox).
    Eml,
    /// An mbox file; `gzip` when it is `.mbox.gz` (or gzip magic).
    Mbox { gzip: bool },
}

/// One file found under the paths given to import.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as reached from the argument (not canonicalised).
    pub path: PathBuf,
    /// How to read it.
    pub kind: SourceKind,
    /// Size in bytes on disk (compressed size for a gzip mbox).
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i64,
}

/// What [`discover`] found: the files to import and, so that nothing is
/// dropped silently, every file or folder it saw and skipped, with a reason.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// The files to import, in a stable order.
    pub files: Vec<SourceFile>,
    /// Skipped paths with a short reason (e.g. `"symbolic link (not followed)"`).
    pub ignored: Vec<(PathBuf, String)>,
}

/// How many bytes of a file's head are sniffed to decide what it is.
const SNIFF_LEN: usize = 4096;
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];

/// Walks each path and lists the files to import.
///
/// - A directory containing `cur/`, or `new/` with `tmp/` or alone (see
///   `is_maildir_outside_one`), is a Maildir: the regular files
///   of `cur/` and `new/` are [`SourceKind::MaildirFile`] (but for one
///   named like an mbox that starts like one); `tmp/` is ignored;
///   subfolders that are themselves Maildirs (Maildir++ `.Sent`,
///   `.Archive.2024`, and also verbatim `Sent/` layouts) are included; anything
///   else in the Maildir folder (`SOURCES.tsv`, `expected-json/`, ...) is
///   ignored with a reason, not walked as mail.
/// - Any other directory is walked recursively and its regular files are
///   sniffed: gzip magic (decompressed head starting with `From `) is
///   `Mbox { gzip: true }`, `From ` is `Mbox { gzip: false }`, an RFC 5322
///   header line ([`looks_like_mail`]) is [`SourceKind::Eml`], anything else
///   is ignored as not mail. Hidden files and folders (name starting with
///   `.`, which covers the `.kura*` files kura writes) and symbolic links
///   (never followed) are ignored. A file that cannot be read inside a walked
///   folder is ignored with the error as its reason. A kura archive found in
///   the walk (the archive kept beside the exports) is ignored whole; one
///   named as an argument is an error.
/// - A Maildir's `cur/` or `new/` folder named as an argument is listed as
///   in its Maildir: its files are [`SourceKind::MaildirFile`].
/// - A file named as an argument is sniffed the same way; an argument itself
///   may be a symbolic link and may be hidden (it was named explicitly).
///
/// Order is stable: sorted by path within each argument, arguments in the
/// order given. The same file reached twice (even spelled differently) is
/// listed once, where it is first reached. An argument that does not exist or
/// cannot be read is an error naming it.
pub fn discover(paths: &[PathBuf]) -> anyhow::Result<Discovery> {
    let mut files = Vec::new();
    let ignored = discover_each(paths, |f| {
        files.push(f);
        true
    })?;
    Ok(Discovery { files, ignored })
}

/// Opens message files ahead of the parse threads and asks the kernel to
/// start reading them into the page cache, so that the parse thread that
/// reads one later does not wait for the disk. The import's planner calls
/// [`Prefetcher::open`] as it queues each message file, up to its job queue
/// (~1000 files) ahead of the parse threads: reads then overlap instead of
/// waiting one after the other (a first import of 100k files whose pages had
/// left the page cache took 50% longer than one whose pages were cached).
///
/// The open file travels with its job, so a file is opened once, not once
/// to prefetch and again to read (`openat` and `close` were ~1.5% of an
/// import's CPU). Files held open this way are limited to half the process's
/// open-file limit: past that, a file is prefetched, closed, and opened
/// again by its reader, as before.
#[derive(Debug, Clone)]
pub struct Prefetcher {
    held: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    max_held: usize,
}

/// A message file the [`Prefetcher`] opened, counted until it is dropped.
#[derive(Debug)]
pub struct OpenedFile {
    file: File,
    held: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Prefetcher {
    /// Most files held open: half the soft open-file limit, at most `cap`.
    pub fn new(cap: usize) -> Prefetcher {
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile)
            .current
            .unwrap_or(u64::MAX);
        Prefetcher {
            held: Default::default(),
            max_held: usize::try_from(limit / 2).unwrap_or(usize::MAX).min(cap),
        }
    }

    /// Opens `path` and starts reading it into the page cache. `None` when the
    /// file could not be opened (reading it reports why) or too many files are
    /// held open already (the file is still prefetched).
    pub fn open(&self, path: &Path) -> Option<OpenedFile> {
        use std::sync::atomic::Ordering;
        let file = File::open(path).ok()?;
        let _ = rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::WillNeed);
        if self.held.fetch_add(1, Ordering::Relaxed) >= self.max_held {
            self.held.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        Some(OpenedFile {
            file,
            held: self.held.clone(),
        })
    }

    /// Files held open now.
    pub fn held(&self) -> usize {
        self.held.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Drop for OpenedFile {
    fn drop(&mut self) {
        self.held.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Reads a whole message file of `size` bytes (as the walk saw it), at most
/// `limit + 1` bytes, from `opened` or else by opening `path`. A file still
/// `size` bytes long is read by one `read` call; one that changed size since
/// the walk is read to its end as it is now.
pub fn read_message_file(
    path: &Path,
    size: u64,
    opened: Option<OpenedFile>,
    limit: usize,
) -> anyhow::Result<Vec<u8>> {
    let reopened;
    let mut file: &File = match &opened {
        Some(o) => &o.file,
        None => {
            reopened = File::open(path)
                .with_context(|| format!("cannot open {}", crate::output::path_text(path)))?;
            &reopened
        }
    };
    let want = usize::try_from(size).unwrap_or(usize::MAX).min(limit) + 1;
    let mut buf = Vec::with_capacity(want);
    // One call that returns exactly the size the walk saw, with room left
    // in the buffer, has reached the end; anything else (a file that grew or
    // shrank, a short read, EINTR) is read on to its end by `read_to_end`.
    if let Ok(n) = rustix::io::read(file, rustix::buffer::spare_capacity(&mut buf))
        && n as u64 == size
        && n < want
    {
        return Ok(buf);
    }
    let room = (limit + 1).saturating_sub(buf.len()) as u64;
    (&mut file)
        .take(room)
        .read_to_end(&mut buf)
        .with_context(|| format!("cannot read {}", crate::output::path_text(path)))?;
    Ok(buf)
}

/// [`discover`], streaming: hands each file to `on_file` as soon as it is
/// found (in the same order `discover` lists them), so that importing can
/// start while a large export is still being walked; returns the ignored
/// paths. `on_file` returns false to stop the walk. Every argument is
/// checked before any file is handed out, so a missing one fails first.
pub fn discover_each(
    paths: &[PathBuf],
    mut on_file: impl FnMut(SourceFile) -> bool,
) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let canonical = check_sources(paths)?;
    let mut ignored = Vec::new();
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let mut stopped = false;
    for (n, (arg, canon)) in paths.iter().zip(&canonical).enumerate() {
        let key = |p: &Path| match p.strip_prefix(arg) {
            Ok(rel) if rel.as_os_str().is_empty() => canon.clone(),
            Ok(rel) => canon.join(rel),
            Err(_) => p.to_path_buf(),
        };
        // A walk lists each path once: only paths of other arguments can
        // repeat one, so the first argument checks none and the last records
        // none (a single argument, the usual case, needs no set at all).
        let (check, record) = (n > 0, n + 1 < paths.len());
        let mut new_path = |p: &Path| {
            if !check && !record {
                return true;
            }
            let k = key(p);
            if check && seen.contains(&k) {
                return false;
            }
            if record {
                seen.insert(k);
            }
            true
        };
        // The walks visit folders depth first with entries sorted by name,
        // which is the order of the paths themselves.
        let mut sink = |f: SourceFile| {
            if !stopped && new_path(&f.path) {
                stopped = !on_file(f);
            }
        };
        let mut found = Found {
            sink: &mut sink,
            ignored: Vec::new(),
        };
        discover_one(arg, &mut found)?;
        let mut found_ignored = found.ignored;
        found_ignored.sort();
        for (p, why) in found_ignored {
            if new_path(&p) {
                ignored.push((p, why));
            }
        }
        if stopped {
            break;
        }
    }
    Ok(ignored)
}

/// Checks that every argument exists and can be resolved; returns their
/// canonical paths. An import calls it before it starts (before it creates
/// its archive), so that a mistyped path, or a kura archive named as the
/// mail to import, fails at once, naming it.
pub fn check_sources(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut canonical = Vec::with_capacity(paths.len());
    for arg in paths {
        let md = fs::metadata(arg)
            .with_context(|| format!("cannot read source path {}", arg.display()))?;
        if md.is_dir() && crate::archive::is_archive(arg) {
            anyhow::bail!(
                "{} is a kura archive, not mail to import (an archive is named with --archive)",
                arg.display()
            );
        }
        canonical.push(
            fs::canonicalize(arg)
                .with_context(|| format!("cannot resolve source path {}", arg.display()))?,
        );
    }
    Ok(canonical)
}

/// What a walk finds: files go to the sink as they are found.
struct Found<'a> {
    sink: &'a mut dyn FnMut(SourceFile),
    ignored: Vec<(PathBuf, String)>,
}

impl Found<'_> {
    fn file(&mut self, f: SourceFile) {
        (self.sink)(f);
    }
}

/// Discovers one command-line argument into `out`.
fn discover_one(arg: &Path, out: &mut Found<'_>) -> anyhow::Result<()> {
    let md =
        fs::metadata(arg).with_context(|| format!("cannot read source path {}", arg.display()))?;
    if md.is_dir() {
        if is_maildir_outside_one(arg) {
            fs::read_dir(arg).with_context(|| format!("cannot read Maildir {}", arg.display()))?;
            walk_maildir(arg, out);
        } else if is_maildir_messages(arg) {
            fs::read_dir(arg).with_context(|| format!("cannot read Maildir {}", arg.display()))?;
            walk_maildir_messages(arg, out);
        } else {
            walk_dir(arg, out)?;
        }
    } else if md.is_file() {
        let mut file =
            File::open(arg).with_context(|| format!("cannot open source {}", arg.display()))?;
        match sniff(&mut file).with_context(|| format!("cannot read source {}", arg.display()))? {
            Ok(kind) => out.file(source_file(arg.to_path_buf(), kind, &md)),
            Err(_) if is_empty_mbox(arg, &md) => out.file(source_file(
                arg.to_path_buf(),
                SourceKind::Mbox { gzip: false },
                &md,
            )),
            // A file named on the command line is imported whatever it holds:
            // if it is not mail, import rejects it with the reason.
            Err(_) => out.file(source_file(arg.to_path_buf(), SourceKind::Eml, &md)),
        }
    } else {
        // A pipe, socket or device named on the command line (e.g. `<(zcat
        // x.mbox.gz)`) cannot be read again to resume or verify it.
        anyhow::bail!(
            "{} is not a regular file or folder (save the mail to a file and import that)",
            arg.display()
        );
    }
    Ok(())
}

/// Whether `dir`, a subfolder of a Maildir, is a Maildir++ folder: it has a
/// `cur/` or `new/` folder (not a link).
fn is_maildir(dir: &Path) -> bool {
    has_folder(dir, "cur") || has_folder(dir, "new")
}

/// Whether `dir` holds a folder (not a link to one) named `name`.
fn has_folder(dir: &Path, name: &str) -> bool {
    fs::symlink_metadata(dir.join(name)).is_ok_and(|m| m.is_dir())
}

/// Whether `dir`, named as an argument or found in a folder that is not a
/// Maildir, is a Maildir: it has a `cur/` folder, or a `new/` folder with
/// `tmp/` beside it or nothing else beside it (hidden entries, such as
/// Maildir++ folders, and the files a mail server keeps in a Maildir aside
/// ([`is_mail_server_file`]): a Maildir exported without its empty `cur/`
/// and `tmp/`). A folder that
/// holds a `new/` among other things (`exports/`, with `2023.mbox` and the
/// latest exports in `new/`) is walked as any folder is: in a Maildir, its
/// files would be passed over and the mbox files in `new/` read as one
/// message each. (Inside a Maildir, a subfolder with `cur/` or `new/` is a
/// Maildir++ folder: [`is_maildir`].)
fn is_maildir_outside_one(dir: &Path) -> bool {
    if has_folder(dir, "cur") {
        return true;
    }
    if !has_folder(dir, "new") {
        return false;
    }
    has_folder(dir, "tmp")
        || fs::read_dir(dir).is_ok_and(|entries| {
            entries.flatten().all(|e| {
                let name = e.file_name();
                name == "new" || is_hidden(&name) || is_mail_server_file(&name)
            })
        })
}

/// Whether `name` is that of a file (or folder) a mail server keeps in a
/// Maildir beside `cur/`, `new/` and `tmp/`: Dovecot's (`dovecot-uidlist`,
/// `dovecot.index.log`, ...), Courier's (`courierimapuiddb`, ...), and
/// `subscriptions`, `maildirfolder`, `maildirsize`.
fn is_mail_server_file(name: &OsStr) -> bool {
    let name = name.as_encoded_bytes();
    name.starts_with(b"dovecot")
        || name.starts_with(b"courier")
        || matches!(name, b"subscriptions" | b"maildirfolder" | b"maildirsize")
}

/// Whether `dir` is the `cur/` or `new/` folder of a Maildir (named as an
/// argument by itself): its files are Maildir files, which a mail client
/// renames, not single message files. Its parent must hold another of a
/// Maildir's folders (`cur/`, `new/` or `tmp/`) beside it: a folder that is
/// merely named `new` (`exports/new`, holding mbox files and subfolders) is
/// walked as any folder is.
fn is_maildir_messages(dir: &Path) -> bool {
    let Some(name) = dir.file_name().and_then(OsStr::to_str) else {
        return false;
    };
    let Some(parent) = dir.parent() else {
        return false;
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    matches!(name, "cur" | "new")
        && ["cur", "new", "tmp"]
            .iter()
            .any(|&sibling| sibling != name && has_folder(parent, sibling))
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.as_encoded_bytes().first() == Some(&b'.')
}

fn source_file(path: PathBuf, kind: SourceKind, md: &Metadata) -> SourceFile {
    SourceFile {
        path,
        kind,
        size: md.len(),
        mtime_ns: mtime_ns(md),
    }
}

fn mtime_ns(md: &Metadata) -> i64 {
    match md.modified() {
        Ok(t) => match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
            Err(e) => i64::try_from(e.duration().as_nanos()).map_or(i64::MIN, |n| -n),
        },
        Err(_) => 0,
    }
}

/// Lists a Maildir folder: `cur/` and `new/` files, nested Maildirs; the rest
/// is ignored with a reason. Errors below the argument become ignored entries.
fn walk_maildir(dir: &Path, out: &mut Found<'_>) {
    let entries = match sorted_entries(dir) {
        Ok(e) => e,
        Err(e) => {
            out.ignored
                .push((dir.to_path_buf(), format!("unreadable: {e}")));
            return;
        }
    };
    for Entry { name, ft } in entries {
        let path = dir.join(&*name);
        let name_str = name.to_string_lossy();
        if ft.is_symlink() {
            out.ignored
                .push((path, "symbolic link (not followed)".into()));
        } else if !ft.is_dir() {
            out.ignored.push((
                path,
                "not mail: file in a Maildir folder, outside cur/ and new/".into(),
            ));
        } else if name_str == "cur" || name_str == "new" {
            walk_maildir_messages(&path, out);
        } else if name_str == "tmp" {
            // Mail still being delivered; an empty tmp/ hides nothing.
            let files = fs::read_dir(&path).map_or(1, |d| d.take(1).count());
            if files > 0 {
                out.ignored
                    .push((path, "Maildir tmp/ (mail still being delivered)".into()));
            }
        } else if is_maildir(&path) {
            walk_maildir(&path, out);
        } else if is_hidden(&name) {
            out.ignored.push((
                path,
                "hidden folder in a Maildir (not a Maildir++ folder)".into(),
            ));
        } else {
            out.ignored.push((
                path,
                "not mail: folder in a Maildir that is not a Maildir".into(),
            ));
        }
    }
}

/// Lists the message files of a Maildir `cur/` or `new/` folder.
fn walk_maildir_messages(dir: &Path, out: &mut Found<'_>) {
    let entries = match sorted_entries(dir) {
        Ok(e) => e,
        Err(e) => {
            out.ignored
                .push((dir.to_path_buf(), format!("unreadable: {e}")));
            return;
        }
    };
    for Entry { name, ft } in entries {
        let path = dir.join(&*name);
        if ft.is_symlink() {
            out.ignored
                .push((path, "symbolic link (not followed)".into()));
        } else if ft.is_dir() {
            out.ignored
                .push((path, "folder inside Maildir cur/ or new/".into()));
        } else if !ft.is_file() {
            out.ignored.push((path, "not a regular file".into()));
        } else if is_hidden(&name) {
            out.ignored.push((path, "hidden file".into()));
        } else {
            // A file named like an mbox (someone put `2024.mbox` here) is
            // read as one if it is: as a Maildir file, its messages after
            // the first would be taken for the first one's body. Maildir
            // files are never so named, and only those are sniffed.
            let kind = |md: &Metadata| -> io::Result<SourceKind> {
                if !named_like_an_mbox(&path) {
                    return Ok(SourceKind::MaildirFile);
                }
                if is_empty_mbox(&path, md) {
                    // An empty folder exported, as anywhere else.
                    return Ok(SourceKind::Mbox { gzip: false });
                }
                Ok(match sniff(&mut File::open(&path)?)? {
                    Ok(mbox @ SourceKind::Mbox { .. }) => mbox,
                    _ => SourceKind::MaildirFile,
                })
            };
            match fs::symlink_metadata(&path).and_then(|md| Ok((kind(&md)?, md))) {
                Ok((kind, md)) => out.file(source_file(path, kind, &md)),
                Err(e) => out.ignored.push((path, format!("unreadable: {e}"))),
            }
        }
    }
}

/// One entry of a folder listing: its name and type only. A Maildir `cur/`
/// may hold a million files, and its listing lives while they are
/// imported: about 70 bytes per file, where the path and the `DirEntry`
/// took about 280.
struct Entry {
    name: Box<OsStr>,
    ft: fs::FileType,
}

/// The entries of one folder, sorted by name, without following links.
/// (A plain `read_dir`: a one-level listing of a Maildir `cur/` with 100k
/// files is on the import's path; names are compared as bytes, once each.)
fn sorted_entries(dir: &Path) -> io::Result<Vec<Entry>> {
    let mut v = Vec::new();
    for e in fs::read_dir(dir)? {
        let dirent = e?;
        v.push(Entry {
            ft: dirent.file_type()?,
            name: dirent.file_name().into_boxed_os_str(),
        });
    }
    v.shrink_to_fit();
    v.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    Ok(v)
}

/// Walks a folder that is not a Maildir, sniffing regular files and handing
/// Maildirs found inside to [`walk_maildir`].
fn walk_dir(root: &Path, out: &mut Found<'_>) -> anyhow::Result<()> {
    let mut it = WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter();
    while let Some(entry) = it.next() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) if e.depth() == 0 => {
                return Err(anyhow::Error::new(e))
                    .with_context(|| format!("cannot read source folder {}", root.display()));
            }
            Err(e) => {
                let path = e.path().unwrap_or(root).to_path_buf();
                let why = match e.io_error() {
                    Some(io) => format!("unreadable: {io}"),
                    None => format!("unreadable: {e}"),
                };
                out.ignored.push((path, why));
                continue;
            }
        };
        let path = entry.path();
        let ft = entry.file_type();
        if entry.depth() == 0 {
            continue;
        }
        if ft.is_symlink() {
            out.ignored
                .push((path.to_path_buf(), "symbolic link (not followed)".into()));
        } else if is_hidden(entry.file_name()) {
            let why = if ft.is_dir() {
                "hidden folder"
            } else {
                "hidden file"
            };
            out.ignored.push((path.to_path_buf(), why.into()));
            if ft.is_dir() {
                it.skip_current_dir();
            }
        } else if ft.is_dir() {
            if crate::archive::is_archive(path) {
                // An archive kept beside the exports: its files are no mail.
                out.ignored
                    .push((path.to_path_buf(), "a kura archive (not walked)".into()));
                it.skip_current_dir();
            } else if is_maildir_outside_one(path) {
                walk_maildir(path, out);
                it.skip_current_dir();
            }
        } else if ft.is_file() {
            let sniffed = entry
                .metadata()
                .map_err(io::Error::from)
                .and_then(|md| Ok((md, File::open(path)?)))
                .and_then(|(md, mut f)| Ok((md, sniff(&mut f)?)));
            match sniffed {
                Ok((md, Ok(kind))) => out.file(source_file(path.to_path_buf(), kind, &md)),
                Ok((md, Err(_))) if is_empty_mbox(path, &md) => out.file(source_file(
                    path.to_path_buf(),
                    SourceKind::Mbox { gzip: false },
                    &md,
                )),
                // A message file by its name (`.eml`, ...) that is empty or
                // garbage is still taken, so import rejects it with the reason.
                Ok((md, Err(_))) if has_mail_extension(path) => {
                    out.file(source_file(path.to_path_buf(), SourceKind::Eml, &md))
                }
                Ok((_, Err(why))) => out.ignored.push((path.to_path_buf(), why)),
                Err(e) => out
                    .ignored
                    .push((path.to_path_buf(), format!("unreadable: {e}"))),
            }
        } else {
            out.ignored
                .push((path.to_path_buf(), "not a regular file".into()));
        }
    }
    Ok(())
}

/// File name extensions that say "an mbox".
const MBOX_EXTENSIONS: &[&str] = &["mbox", "mbx"];

/// File name extensions that say "one message" (or an mbox).
const MAIL_EXTENSIONS: &[&str] = &["eml", "msg", "mail", "mbox", "mbx", "emlx"];

fn has_mail_extension(path: &Path) -> bool {
    has_extension(path, MAIL_EXTENSIONS)
}

/// Whether `path` is named like an mbox file: `*.mbox`, `*.mbx`, also
/// gzipped (`*.mbox.gz`).
fn named_like_an_mbox(path: &Path) -> bool {
    has_extension(path, MBOX_EXTENSIONS)
        || (has_extension(path, &["gz"])
            && path
                .file_stem()
                .is_some_and(|s| has_extension(Path::new(s), MBOX_EXTENSIONS)))
}

/// Whether the extension of `path` is one of `extensions`, in any case.
fn has_extension(path: &Path, extensions: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| extensions.iter().any(|m| e.eq_ignore_ascii_case(m)))
}

/// Whether `path` is named like an Apple Mail message file (`*.emlx`, also
/// `*.partial.emlx`), which [`emlx_message`] unwraps.
pub fn is_emlx(path: &Path) -> bool {
    has_extension(path, &["emlx"])
}

/// The message inside an Apple Mail `.emlx` file: the file starts with a line
/// holding the message's length in bytes (padded with spaces), then holds the
/// message, then an XML property list of Apple Mail's flags, which is not
/// mail. `None` when `bytes` do not start with such a line. A message shorter
/// than its line says (a file cut short) is what there is of it. When the
/// length is wrong (the property list does not start where it says: a file
/// whose line ends were converted), the message ends where the last
/// property list starts, else at the end of the file: nothing of the mail
/// is cut off, and no property list is read as mail.
pub fn emlx_message(bytes: &[u8]) -> Option<&[u8]> {
    let head = bytes.get(..bytes.len().min(32)).unwrap_or_default();
    let nl = memchr::memchr(b'\n', head)?;
    let digits = head.get(..nl)?.trim_ascii();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let len: usize = std::str::from_utf8(digits).ok()?.parse().ok()?;
    let message = bytes.get(nl + 1..)?;
    // The length is right when the property list, or the end of the file,
    // comes right after it.
    if let Some((m, rest)) = message.split_at_checked(len)
        && !m.is_empty()
        && (rest.trim_ascii().is_empty() || rest.trim_ascii_start().starts_with(b"<?xml"))
    {
        return Some(m);
    }
    Some(
        memchr::memmem::rfind(message, b"<?xml")
            .and_then(|at| message.get(..at))
            .unwrap_or(message),
    )
}

/// An empty file named `*.mbox` or `*.mbx` is an mbox without messages (an
/// empty folder exported), not an empty message to reject.
fn is_empty_mbox(path: &Path, md: &Metadata) -> bool {
    md.len() == 0 && has_extension(path, MBOX_EXTENSIONS)
}

/// Reads up to `SNIFF_LEN` bytes (fewer only at end of input).
fn read_head(r: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(SNIFF_LEN);
    r.take(SNIFF_LEN as u64).read_to_end(&mut head)?;
    Ok(head)
}

/// Decides what a file is from its head. The outer error is an I/O error
/// reading the file; the inner `Err` is the reason it is not importable.
fn sniff(file: &mut File) -> io::Result<Result<SourceKind, String>> {
    let head = read_head(file)?;
    if head.is_empty() {
        return Ok(Err("empty file".into()));
    }
    if head.starts_with(GZIP_MAGIC) {
        let rest = io::Cursor::new(head).chain(file);
        // What decompresses before damage counts: a damaged .mbox.gz is an
        // mbox (its readable messages are imported and the damage reported
        // as an error), not a file to pass over.
        let mut inner = Vec::with_capacity(SNIFF_LEN);
        let read = GzMembers::new(rest)
            .take(SNIFF_LEN as u64)
            .read_to_end(&mut inner);
        return Ok(if starts_like_an_mbox(&inner) {
            Ok(SourceKind::Mbox { gzip: true })
        } else if let Err(e) = read {
            Err(format!("not mail: unreadable gzip data ({e})"))
        } else if looks_like_mail(&inner) {
            Err("gzip-compressed single message (only gzip mbox files are read)".into())
        } else {
            Err("not mail: gzip data that is not an mbox".into())
        });
    }
    Ok(if starts_like_an_mbox(&head) {
        Ok(SourceKind::Mbox { gzip: false })
    } else if looks_like_mail(&head) {
        Ok(SourceKind::Eml)
    } else {
        Err("not mail: does not start with a header line".into())
    })
}

/// Whether `head` (the first bytes of a file) starts like an mbox: a `From `
/// line after an optional UTF-8 BOM and blank lines, or after NUL bytes (the
/// padding a mail client that crashed while writing leaves, which
/// [`MboxReader`] passes over before a dated `From ` line).
fn starts_like_an_mbox(head: &[u8]) -> bool {
    let s = past_bom_and_blank_lines(head);
    let nuls = s.iter().take_while(|&&b| b == 0).count();
    s.get(nuls..).is_some_and(|s| s.starts_with(b"From "))
}

/// Whether `head` (the first bytes of a file) starts like an RFC 5322
/// message: after an optional UTF-8 BOM and blank lines, a header line
/// `Name:` where `Name` is one or more printable ASCII characters other than
/// `:` and space. An mbox `From ` line is not a header line.
pub fn looks_like_mail(head: &[u8]) -> bool {
    let s = past_bom_and_blank_lines(head);
    let name_len = s
        .iter()
        .position(|&b| b == b':' || !(0x21..=0x7e).contains(&b));
    matches!(name_len, Some(n) if n > 0 && s.get(n) == Some(&b':'))
}

/// Whether `line` (with its line ending) looks like an mbox `From_` line:
/// `From `, a non-empty sender token, then something containing a time
/// `dd:dd` or a 4-digit year.
fn is_from_line(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"From ") else {
        return false;
    };
    let rest = trim_start_spaces(rest);
    let sender_len = rest
        .iter()
        .position(|b| b.is_ascii_whitespace())
        .unwrap_or(rest.len());
    if sender_len == 0 {
        return false;
    }
    let date = rest.get(sender_len..).unwrap_or_default();
    has_time(date) || has_year(date)
}

/// Whether `line` is a `From ` line with a sender and nothing else
/// (`From tanaka@example.jp`, `From MAILER-DAEMON`): a separator some
/// exporters write without the date, when a message's headers follow it
/// (see [`starts_a_header_block`]).
fn is_dateless_from_line(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"From ") else {
        return false;
    };
    let mut words = rest
        .split(u8::is_ascii_whitespace)
        .filter(|w| !w.is_empty());
    words.next().is_some() && words.next().is_none()
}

/// Whether `line` is a header that mail starts with, by name: the common
/// trace, origin and MIME headers, and `X-`, `ARC-`, `DKIM-`, `List-` and
/// `Resent-` ones. (Not any `Name:` line: body text like `Note: ...` after a
/// line `From Tanaka` must stay text.)
fn starts_a_header_block(line: &[u8]) -> bool {
    const NAMES: [&[u8]; 18] = [
        b"return-path",
        b"received",
        b"delivered-to",
        b"envelope-to",
        b"x-original-to",
        b"from",
        b"to",
        b"cc",
        b"subject",
        b"date",
        b"message-id",
        b"mime-version",
        b"content-type",
        b"reply-to",
        b"sender",
        b"in-reply-to",
        b"references",
        b"authentication-results",
    ];
    const PREFIXES: [&[u8]; 5] = [b"x-", b"arc-", b"dkim-", b"list-", b"resent-"];
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return false;
    };
    let name = &line[..colon];
    if name.is_empty() || !name.iter().all(|&b| b.is_ascii_graphic()) {
        return false;
    }
    let name = name.to_ascii_lowercase();
    NAMES.contains(&name.as_slice()) || PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The date of a `From_` line written the way mail systems write it,
/// `From SENDER Www Mmm dd hh:mm[:ss] [ZONE] yyyy` (asctime, with an optional
/// zone such as `+0900` or `JST`), as unix seconds (UTC unless a numeric zone
/// says otherwise). `None` for anything less complete.
fn from_line_date(line: &[u8]) -> Option<i64> {
    let rest = std::str::from_utf8(line.strip_prefix(b"From ")?).ok()?;
    let words: Vec<&str> = rest.split_ascii_whitespace().skip(1).collect();
    let [weekday, month, day, time, tail @ ..] = words.as_slice() else {
        return None;
    };
    const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    if !WEEKDAYS.iter().any(|w| w.eq_ignore_ascii_case(weekday)) {
        return None;
    }
    let month = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(month))? + 1;
    let day: u32 = day.parse().ok()?;
    let mut hms = time.split(':').map(|n| n.parse::<u32>().ok());
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next().unwrap_or(Some(0))?);
    let (zone, year) = match tail {
        [year] => (0, year),
        [zone, year] => {
            let offset = match zone.as_bytes() {
                [sign @ (b'+' | b'-'), digits @ ..] if digits.len() == 4 => {
                    let n: i64 = zone.get(1..)?.parse().ok()?;
                    let minutes = (n / 100) * 60 + n % 100;
                    if *sign == b'-' { -minutes } else { minutes }
                }
                z if z.iter().all(u8::is_ascii_alphabetic) => 0,
                _ => return None,
            };
            (offset, year)
        }
        _ => return None,
    };
    let year: i32 = year.parse().ok().filter(|_| year.len() == 4)?;
    let t = chrono::NaiveDate::from_ymd_opt(year, month as u32, day)?
        .and_hms_opt(h, m, sec)?
        .and_utc()
        .timestamp();
    Some(t - zone * 60)
}

fn trim_start_spaces(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
    s.get(n..).unwrap_or_default()
}

fn has_time(s: &[u8]) -> bool {
    s.windows(5).any(|w| {
        matches!(w, [a, b, b':', c, d] if a.is_ascii_digit() && b.is_ascii_digit()
            && c.is_ascii_digit() && d.is_ascii_digit())
    })
}

fn has_year(s: &[u8]) -> bool {
    s.split(|b| !b.is_ascii_digit()).any(|run| run.len() == 4)
}

fn is_blank_line(line: &[u8]) -> bool {
    line == b"\n" || line == b"\r\n" || line == b"\r"
}

/// One message read from an mbox file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MboxMessage {
    /// Byte offset of the message's `From ` separator line in the (decompressed) file.
    pub offset: u64,
    /// The date of that `From ` line, when it has a complete one (the
    /// delivery date: the fallback for a message with no usable header date).
    pub envelope_date: Option<i64>,
    /// The message bytes: what follows the `From ` line, `>From ` unquoted
    /// (mboxrd: one `>` removed from lines matching `^>+From `), and without the
    /// blank line that separates it from the next message. Line endings as in the file.
    pub bytes: Vec<u8>,
}

/// Streams the messages of an mbox, starting at byte `start` (0, or the offset
/// of a `From ` line where an earlier import stopped). Memory is bounded by the
/// largest message, not by the file.
///
/// A UTF-8 byte order mark at the start of the file is skipped.
/// A separator is a line that is at the start (of the file, or at `start`) or
/// follows an empty line (`\n` or `\r\n`), and looks like a `From_` line:
/// `From `, a non-empty sender token, then a time `dd:dd` or a 4-digit year.
/// A complete `From_` line (`From SENDER Www Mmm dd hh:mm:ss yyyy`, see
/// `from_line_date`) is a separator even without the empty line before it
/// (mbox files joined with `cat` whose first did not end with one).
/// A `From ` line with a sender and no date (`From tanaka@example.jp`, as
/// some exporters write) is a separator too, where a separator may be, when
/// the next line is a header mail starts with (`Return-Path:`, `Received:`,
/// `From:`, `Subject:`, `X-...:`; see `starts_a_header_block`).
/// Any other line starting with `From ` is body text (mboxo files contain
/// unquoted ones). The empty line before a separator, and one empty line at
/// the end of the file, are not part of a message.
///
/// Bytes before the first separator that are not only blank lines are
/// returned as they are (not unquoted) as a message at the offset where
/// reading started, so nothing is dropped; an empty file yields nothing.
/// After an I/O error the iterator ends.
///
/// A message over [`MAX_MESSAGE_SIZE`](crate::parse::MAX_MESSAGE_SIZE) comes
/// back cut one byte past the limit (as a Maildir file is read), so that it is
/// rejected as too large without the whole of it ever being in memory; lines
/// are read in chunks of at most [`LINE_CHUNK`] bytes for the same reason.
pub struct MboxReader {
    reader: Box<dyn BufRead + Send>,
    /// Offset of the next unread byte of the (decompressed) stream.
    pos: u64,
    /// Offset and date of a separator already read, starting the next message.
    next_sep: Option<(u64, Option<i64>)>,
    /// Whether reading has begun (the first call looks for a preamble).
    started: bool,
    /// Set at end of input or after an error.
    done: bool,
    /// Whether a bare CR ends a line too (an old Mac mbox), besides LF and
    /// CRLF (mail a later client appended to it).
    bare_cr: bool,
    line: Vec<u8>,
    /// Whether `line` starts a line (the chunk before it ended one).
    line_start: bool,
    /// Whether the last line of the input was blank (set at its end).
    ended_blank: bool,
    /// The first line of the next message, read to tell that the dateless
    /// `From ` line before it was a separator.
    carry: Option<Vec<u8>>,
}

/// The decompressed bytes of a gzip file: its members one after another, as
/// `gzip -d` reads them. Zero bytes after the last member (padding that tape
/// and some archivers add) end the data, as they do for gzip; any other bytes
/// there are an error. (flate2's `MultiGzDecoder` takes the padding for a
/// damaged next member, which lost the message before it.)
struct GzMembers<R: Read> {
    /// The member being read; `None` once the data has ended.
    member: Option<flate2::bufread::GzDecoder<BufReader<R>>>,
}

impl<R: Read> GzMembers<R> {
    fn new(inner: R) -> Self {
        GzMembers {
            member: Some(flate2::bufread::GzDecoder::new(BufReader::new(inner))),
        }
    }
}

impl<R: Read> Read for GzMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(member) = self.member.as_mut() else {
                return Ok(0);
            };
            let n = member.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            // This member has ended: another one, padding, or the end.
            let Some(mut rest) = self.member.take().map(|m| m.into_inner()) else {
                return Ok(0);
            };
            let head = rest.fill_buf()?;
            // A member starts with 1f 8b; a buffer may end between the two.
            if head.first() == Some(&GZIP_MAGIC[0])
                && head.get(1).is_none_or(|&b| b == GZIP_MAGIC[1])
            {
                self.member = Some(flate2::bufread::GzDecoder::new(rest));
                continue;
            }
            let mut trailing = 0u64;
            loop {
                let chunk = rest.fill_buf()?;
                if chunk.is_empty() {
                    return Ok(0);
                }
                if chunk.iter().any(|&b| b != 0) {
                    let at = trailing + chunk.iter().take_while(|&&b| b == 0).count() as u64;
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("bytes that are not gzip data {at} bytes after its end"),
                    ));
                }
                let n = chunk.len();
                trailing += n as u64;
                rest.consume(n);
            }
        }
    }
}

/// The longest piece of a line [`MboxReader`] holds at once.
pub const LINE_CHUNK: u64 = 1 << 20;

impl MboxReader {
    /// Opens `path` (gzip-decompressing when `gzip`), positioned at `start`.
    /// Offsets count bytes of the decompressed stream; for gzip, the first
    /// `start` bytes are decompressed and skipped.
    pub fn open(path: &Path, gzip: bool, start: u64) -> anyhow::Result<Self> {
        let mut file = File::open(path)
            .with_context(|| format!("cannot open mbox {}", crate::output::path_text(path)))?;
        let (mut reader, mut pos): (Box<dyn BufRead + Send>, u64) = if gzip {
            let mut r = BufReader::new(GzMembers::new(file));
            let skipped =
                io::copy(&mut (&mut r).take(start), &mut io::sink()).with_context(|| {
                    format!("cannot decompress mbox {}", crate::output::path_text(path))
                })?;
            (Box::new(r), skipped)
        } else {
            let pos = file.seek(SeekFrom::Start(start)).with_context(|| {
                format!("cannot seek in mbox {}", crate::output::path_text(path))
            })?;
            (Box::new(BufReader::new(file)), pos)
        };
        if pos == 0 {
            // A byte order mark before the first `From ` line is not part of it.
            let head = reader
                .fill_buf()
                .with_context(|| format!("cannot read mbox {}", crate::output::path_text(path)))?;
            if head.starts_with(UTF8_BOM) {
                reader.consume(UTF8_BOM.len());
                pos = UTF8_BOM.len() as u64;
            }
        }
        // An old Mac mbox (Eudora, Mac OS 9) ends its lines with a bare CR:
        // read as one line, it was one `From ` line, and every message in it
        // was lost. Its head holds CRs and no LF, which no other mbox's does.
        let head = reader
            .fill_buf()
            .with_context(|| format!("cannot read mbox {}", crate::output::path_text(path)))?;
        let bare_cr =
            memchr::memchr(b'\n', head).is_none() && memchr::memchr(b'\r', head).is_some();
        Ok(MboxReader {
            reader,
            pos,
            bare_cr,
            next_sep: None,
            started: false,
            done: false,
            line: Vec::new(),
            line_start: true,
            ended_blank: false,
            carry: None,
        })
    }

    /// The offset where a later resume should start: the offset of the next
    /// separator after the last message returned, or the end of the file once
    /// the last message has been returned (`start` before the first message).
    pub fn position(&self) -> u64 {
        self.next_sep.map_or(self.pos, |(offset, _)| offset)
    }

    /// Whether the input ended inside its last message: in the middle of a
    /// line, or without the blank line that ends a message in an mbox. Once
    /// the iterator is done, a sign that the last message may be cut short,
    /// e.g. read while a delivery was still appending it (which writes the
    /// blank line last).
    pub fn ended_inside_a_message(&self) -> bool {
        self.done && (!self.line_start || !self.ended_blank)
    }

    /// Reads one line, or the next [`LINE_CHUNK`] bytes of a longer one, into
    /// `self.line`; returns its offset, or `None` at EOF.
    fn read_line(&mut self) -> io::Result<Option<u64>> {
        self.line_start = self
            .line
            .last()
            .is_none_or(|&b| b == b'\n' || (self.bare_cr && b == b'\r'));
        self.line.clear();
        let offset = self.pos;
        let n = if self.bare_cr {
            read_through_cr_or_lf(&mut *self.reader, LINE_CHUNK, &mut self.line)?
        } else {
            (&mut self.reader)
                .take(LINE_CHUNK)
                .read_until(b'\n', &mut self.line)?
        };
        if n == 0 {
            return Ok(None);
        }
        self.pos += n as u64;
        Ok(Some(offset))
    }

    fn read_message(&mut self) -> io::Result<Option<MboxMessage>> {
        let mut d = match self.next_sep.take() {
            Some((off, date)) => Draft::new(off, date, false),
            None if self.started => return Ok(None),
            None => Draft::new(self.pos, None, true),
        };
        self.started = true;
        if let Some(first) = self.carry.take() {
            d.bytes.extend_from_slice(&first);
            d.blank_len = None;
        }
        // A dateless `From ` line where a separator may be, until the next
        // line says whether it was one: its offset, and the length of
        // `bytes` before it and the blank line before it (`None` when past
        // the limit: nothing to take off).
        let mut pending: Option<(u64, Option<usize>)> = None;
        loop {
            let Some(line_off) = self.read_line()? else {
                // A dateless `From ` line was the last line: a separator,
                // as a dated one there is. The message it starts is empty
                // (or still being written), and the one before it ends
                // without it.
                if let Some((sep_off, before)) = pending.take()
                    && let Some(m) = d.end_at(before, sep_off, None)
                {
                    self.next_sep = Some((sep_off, None));
                    return Ok(Some(m));
                }
                self.done = true;
                // (Blank lines alone are no message to end.)
                self.ended_blank = d.blank_len.is_some_and(|n| n > 0) || d.is_blank_preamble();
                if d.is_blank_preamble() {
                    return Ok(None);
                }
                // The end of input ends the message as a separator would.
                let keep = d.keep_before_blank();
                return Ok(d.end_at(keep, self.pos, None));
            };
            // NUL bytes before a `From ` line are the padding a mail client
            // that crashed while writing (or a file system that lost a
            // write) leaves: part of neither message, and no reason to take
            // the separator for text (a dateless one needs no blank line
            // before it then).
            let nuls = if self.line_start {
                self.line.iter().take_while(|&&b| b == 0).count()
            } else {
                0
            };
            let from_line = self.line.get(nuls..).unwrap_or_default();
            let date = if self.line_start {
                from_line_date(from_line)
            } else {
                None
            };
            if self.line_start
                && (date.is_some() || (d.blank_len.is_some() && is_from_line(from_line)))
            {
                let sep_off = line_off + nuls as u64;
                let keep = d.keep_before_blank();
                match d.end_at(keep, sep_off, date) {
                    // Nothing but blank lines before the first separator.
                    None => continue,
                    Some(m) => {
                        self.next_sep = Some((sep_off, date));
                        return Ok(Some(m));
                    }
                }
            }
            if let Some((sep_off, before)) = pending.take()
                && self.line_start
                && starts_a_header_block(&self.line)
                && let Some(m) = d.end_at(before, sep_off, None)
            {
                // (Or only blank lines came before: the draft starts over
                // at the separator, and this line is its first.)
                self.next_sep = Some((sep_off, None));
                self.carry = Some(self.line.clone());
                return Ok(Some(m));
            }
            if (d.blank_len.is_some() || nuls > 0)
                && self.line_start
                && is_dateless_from_line(from_line)
            {
                let blank = d.blank_len.unwrap_or(0);
                let before = (!d.cut).then(|| d.bytes.len().saturating_sub(blank));
                pending = Some((line_off + nuls as u64, before));
            }
            let line = &self.line;
            d.blank_len = (self.line_start && is_blank_line(line)).then_some(line.len());
            let unquoted = match line.iter().position(|&b| b != b'>') {
                Some(n) if self.line_start && !d.preamble && n > 0 => {
                    line.get(n..).is_some_and(|l| l.starts_with(b"From "))
                }
                _ => false,
            };
            let line = if unquoted {
                line.get(1..).unwrap_or_default()
            } else {
                line
            };
            // Past the limit, one byte more than it is kept: enough to reject
            // the message as too large; the rest is skipped, not held.
            let room = (crate::parse::MAX_MESSAGE_SIZE + 1).saturating_sub(d.bytes.len());
            let kept = room.min(line.len());
            d.cut |= kept < line.len();
            d.bytes
                .extend_from_slice(line.get(..kept).unwrap_or_default());
        }
    }
}

/// Reads into `line` through the first line end, LF, CRLF or a bare CR, or
/// `limit` bytes if none comes before; returns how many bytes were read (0
/// at the end of input).
fn read_through_cr_or_lf(r: &mut dyn BufRead, limit: u64, line: &mut Vec<u8>) -> io::Result<usize> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut n = 0;
    let mut after_cr = false;
    loop {
        let buf = match r.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if after_cr {
            // An LF right after the CR is part of its line end.
            if buf.first() == Some(&b'\n') && n < limit {
                line.push(b'\n');
                r.consume(1);
                n += 1;
            }
            return Ok(n);
        }
        let chunk = buf.get(..buf.len().min(limit - n)).unwrap_or_default();
        if chunk.is_empty() {
            return Ok(n);
        }
        let (take, ends) = match memchr::memchr2(b'\n', b'\r', chunk) {
            Some(i) => (i + 1, chunk.get(i).copied()),
            None => (chunk.len(), None),
        };
        line.extend_from_slice(chunk.get(..take).unwrap_or_default());
        r.consume(take);
        n += take;
        match ends {
            Some(b'\n') => return Ok(n),
            Some(_) => after_cr = true,
            None => {}
        }
    }
}

/// The message [`MboxReader::read_message`] is reading.
struct Draft {
    offset: u64,
    envelope_date: Option<i64>,
    /// Reading began here, not at a separator: what comes before the first
    /// separator (kept as a message of its own unless only blank lines).
    preamble: bool,
    bytes: Vec<u8>,
    /// Length of the blank line that ends `bytes`, if the last line was
    /// blank; at the very start, a separator needs no blank line before it.
    blank_len: Option<usize>,
    /// Whether bytes past the limit were dropped: then `bytes` (one byte
    /// over the limit) ends with none of the blank line to take off.
    cut: bool,
}

impl Draft {
    fn new(offset: u64, envelope_date: Option<i64>, preamble: bool) -> Draft {
        Draft {
            offset,
            envelope_date,
            preamble,
            bytes: Vec::new(),
            blank_len: preamble.then_some(0),
            cut: false,
        }
    }

    /// Only blank lines so far, before the first separator of a read.
    fn is_blank_preamble(&self) -> bool {
        self.preamble && self.bytes.iter().all(u8::is_ascii_whitespace)
    }

    /// The length of `bytes` without the blank line that ends them (`None`:
    /// nothing to take off).
    fn keep_before_blank(&self) -> Option<usize> {
        self.blank_len
            .filter(|_| !self.cut)
            .map(|n| self.bytes.len().saturating_sub(n))
    }

    /// A separator at `sep_off` (with its date, if any) ends the message:
    /// its bytes are cut to `keep` (what came before the separator and the
    /// blank line before it) and it is returned. When only blank lines came
    /// before the first separator, there is no message: the draft starts
    /// over at the separator, and `None` is returned.
    fn end_at(
        &mut self,
        keep: Option<usize>,
        sep_off: u64,
        date: Option<i64>,
    ) -> Option<MboxMessage> {
        if let Some(n) = keep {
            self.bytes.truncate(n);
        }
        if self.is_blank_preamble() {
            *self = Draft::new(sep_off, date, false);
            return None;
        }
        Some(MboxMessage {
            offset: self.offset,
            envelope_date: self.envelope_date,
            bytes: std::mem::take(&mut self.bytes),
        })
    }
}

impl Iterator for MboxReader {
    type Item = anyhow::Result<MboxMessage>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.read_message() {
            Ok(Some(m)) => Some(Ok(m)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(
                    anyhow::Error::new(e).context(format!("cannot read mbox at byte {}", self.pos))
                ))
            }
        }
    }
}

/// Quotes a message for an mboxrd file (`>` added to lines matching `^>*From `),
/// the inverse of what [`MboxReader`] does.
///
/// To write a message that reads back exactly: write a `From_` line (e.g.
/// `From sender Thu Jan  1 00:00:00 2024\n`), then the quoted bytes, then, if
/// the message does not end with `\n`, a line ending, then one empty line.
/// A message that ends with a newline reads back byte for byte; one that
/// does not (or that is empty) comes back with the line ending the writer
/// added, since an mbox cannot tell the two apart.
pub fn mboxrd_quote(bytes: &[u8], out: &mut Vec<u8>) {
    out.reserve(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        let end = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
        let Some((line, tail)) = rest.split_at_checked(end) else {
            break;
        };
        let gt = line.iter().take_while(|&&b| b == b'>').count();
        if line.get(gt..).is_some_and(|l| l.starts_with(b"From ")) {
            out.push(b'>');
        }
        out.extend_from_slice(line);
        rest = tail;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(path: &Path, bytes: &[u8]) {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).unwrap();
        }
        fs::write(path, bytes).unwrap();
    }

    fn rel(root: &Path, p: &Path) -> String {
        p.strip_prefix(root).unwrap().to_string_lossy().into_owned()
    }

    fn files_rel(root: &Path, d: &Discovery) -> Vec<(String, SourceKind)> {
        d.files
            .iter()
            .map(|f| (rel(root, &f.path), f.kind))
            .collect()
    }

    fn ignored_rel(root: &Path, d: &Discovery) -> Vec<(String, String)> {
        d.ignored
            .iter()
            .map(|(p, why)| (rel(root, p), why.clone()))
            .collect()
    }

    const EML: &[u8] = b"From: Tanaka <tanaka@example.jp>\nSubject: test\n\nbody\n";

    #[test]
    fn mbox_files_are_known_by_their_names() {
        for name in ["2024.mbox", "Inbox.MBX", "2024-03.mbox.gz", "a.b.Mbox.GZ"] {
            assert!(named_like_an_mbox(Path::new(name)), "{name}");
        }
        for name in [
            "1700000000.M1P2.host:2,S",
            "mbox",
            "x.gz",
            "mbox.gz",
            "a.eml",
            "a.mbox.zip",
        ] {
            assert!(!named_like_an_mbox(Path::new(name)), "{name}");
        }
    }

    #[test]
    fn maildir_plus_plus_tree() {
        let tmp = tempfile::tempdir().unwrap();
        let md = tmp.path().join("Mail");
        write(&md.join("cur/1700000000.1.host:2,S"), EML);
        write(&md.join("cur/1700000001.2.host:2,RS"), EML);
        write(&md.join("new/1700000002.3.host"), EML);
        write(&md.join("tmp/1700000003.4.host"), EML);
        write(&md.join(".Sent/cur/1700000004.5.host:2,S"), EML);
        write(&md.join(".Archive.2024/new/1700000005.6.host"), EML);
        write(&md.join(".Archive.2024/tmp/1700000006.7.host"), EML);
        write(&md.join(".Archive.2024/dovecot-uidlist"), b"3 V1 N2\n");
        write(&md.join("SOURCES.tsv"), b"file\torigin\n");
        write(&md.join("COPYING"), b"Permission is hereby granted\n");
        write(&md.join("expected-json/a.json"), b"{\"subject\": \"x\"}\n");
        fs::create_dir_all(md.join(".notes")).unwrap();
        write(&md.join(".notes/x.eml"), EML);
        write(&md.join("cur/.hidden"), EML);

        let d = discover(std::slice::from_ref(&md)).unwrap();
        let m = SourceKind::MaildirFile;
        assert_eq!(
            files_rel(&md, &d),
            vec![
                (".Archive.2024/new/1700000005.6.host".to_string(), m),
                (".Sent/cur/1700000004.5.host:2,S".to_string(), m),
                ("cur/1700000000.1.host:2,S".to_string(), m),
                ("cur/1700000001.2.host:2,RS".to_string(), m),
                ("new/1700000002.3.host".to_string(), m),
            ]
        );
        let ign = ignored_rel(&md, &d);
        let paths: Vec<&str> = ign.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                ".Archive.2024/dovecot-uidlist",
                ".Archive.2024/tmp",
                ".notes",
                "COPYING",
                "SOURCES.tsv",
                "cur/.hidden",
                "expected-json",
                "tmp",
            ]
        );
        assert!(ign.contains(&(
            "tmp".into(),
            "Maildir tmp/ (mail still being delivered)".into()
        )));
        // An empty tmp/ (every Maildir has one) is not worth a line.
        fs::remove_file(md.join("tmp/1700000003.4.host")).unwrap();
        let d = discover(std::slice::from_ref(&md)).unwrap();
        assert!(!ignored_rel(&md, &d).iter().any(|(p, _)| p == "tmp"));
        assert!(ign.iter().all(|(_, why)| !why.is_empty()));
        let f = &d.files[2];
        assert_eq!(f.size, EML.len() as u64);
        assert!(f.mtime_ns > 1_600_000_000 * 1_000_000_000);

        // A folder holding the Maildir finds the same messages.
        let d2 = discover(&[tmp.path().to_path_buf()]).unwrap();
        assert_eq!(d2.files.len(), 5);
        assert!(d2.files.iter().all(|f| f.kind == SourceKind::MaildirFile));
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn folder_of_eml_files() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("export");
        write(&root.join("b.eml"), EML);
        write(
            &root.join("a.eml"),
            b"\xEF\xBB\xBF\r\nReceived: from mx.example.jp\r\n\r\nx\r\n",
        );
        write(
            &root.join("2024/03/c.eml"),
            "Subject: =?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=\n\n本文\n".as_bytes(),
        );
        write(
            &root.join("README.txt"),
            b"This folder holds the export: do not edit.\n",
        );
        write(&root.join("empty.eml"), b"");
        write(&root.join(".kura-lock"), b"");
        write(&root.join(".git/config"), b"[core]\n");
        write(
            &root.join("inbox.mbox"),
            b"From a@example.jp Mon Jan  1 00:00:00 2024\nSubject: x\n\nhi\n",
        );
        write(
            &root.join("old.mbox.gz"),
            &gzip(b"From a@example.jp Mon Jan  1 00:00:00 2024\n\nhi\n"),
        );
        write(&root.join("one.eml.gz"), &gzip(EML));
        write(&root.join("data.gz"), &gzip(b"\x00\x01binary"));
        std::os::unix::fs::symlink(root.join("b.eml"), root.join("link.eml")).unwrap();

        let d = discover(std::slice::from_ref(&root)).unwrap();
        assert_eq!(
            files_rel(&root, &d),
            vec![
                ("2024/03/c.eml".to_string(), SourceKind::Eml),
                ("a.eml".to_string(), SourceKind::Eml),
                ("b.eml".to_string(), SourceKind::Eml),
                // Taken by its name, so that import rejects it with a reason.
                ("empty.eml".to_string(), SourceKind::Eml),
                ("inbox.mbox".to_string(), SourceKind::Mbox { gzip: false }),
                ("old.mbox.gz".to_string(), SourceKind::Mbox { gzip: true }),
            ]
        );
        let ign = ignored_rel(&root, &d);
        let want = [
            (".git", "hidden folder"),
            (".kura-lock", "hidden file"),
            ("README.txt", "not mail: does not start with a header line"),
            ("data.gz", "not mail: gzip data that is not an mbox"),
            ("link.eml", "symbolic link (not followed)"),
            (
                "one.eml.gz",
                "gzip-compressed single message (only gzip mbox files are read)",
            ),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(p, w)| (p.to_string(), w.to_string()))
            .collect();
        assert_eq!(ign, want);
    }

    #[test]
    fn files_stream_in_path_order() {
        // Maildir++ folders, cur/ and new/, plain folders, mbox files and
        // names that sort differently as strings and as paths ("a" < "a.b"
        // but "a/x" < "a.b" too): the walk order must be the sorted order.
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        for p in [
            "box/cur/2",
            "box/cur/1",
            "box/new/3",
            "box/.Sent/cur/9",
            "box/.A.b/new/8",
            "a/x.eml",
            "a.b/y.eml",
            "a-c/z.eml",
            "m/2024.mbox",
            "m/sub/1.eml",
            "0.eml",
        ] {
            let body: &[u8] = if p.ends_with(".mbox") {
                b"From a@b Mon Jan  1 00:00:00 2024\nSubject: x\n\nbody\n"
            } else {
                EML
            };
            write(&root.join(p), body);
        }
        let mut streamed = Vec::new();
        discover_each(&[root.to_path_buf()], |f| {
            streamed.push(f.path);
            true
        })
        .unwrap();
        let mut sorted = streamed.clone();
        sorted.sort();
        assert_eq!(streamed.len(), 11);
        assert_eq!(streamed, sorted);

        // Stopping the walk stops handing out files.
        let mut first = Vec::new();
        discover_each(&[root.to_path_buf()], |f| {
            first.push(f.path);
            first.len() < 3
        })
        .unwrap();
        assert_eq!(first, sorted[..3].to_vec());
    }

    #[test]
    fn arguments_order_duplicates_and_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        write(&root.join("z/m.eml"), EML);
        write(&root.join("z/n.eml"), EML);
        write(&root.join("a/x.eml"), EML);
        write(&root.join("notes.txt"), b"hello\n");
        let args = vec![
            root.join("z/n.eml"),
            root.join("z"),
            root.join("a"),
            root.join("z/../z/m.eml"),
            root.join("a"),
            root.join("notes.txt"),
        ];
        let d = discover(&args).unwrap();
        let got: Vec<String> = d.files.iter().map(|f| rel(root, &f.path)).collect();
        // A file named on the command line is taken even when it is not mail
        // (import then rejects it with the reason).
        assert_eq!(got, vec!["z/n.eml", "z/m.eml", "a/x.eml", "notes.txt"]);
        assert!(ignored_rel(root, &d).is_empty());

        let missing = root.join("no-such-export");
        let err = discover(&[root.join("a"), missing.clone()]).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains(&missing.display().to_string()), "{msg}");
    }

    #[test]
    fn unreadable_argument_is_an_error() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("locked.eml");
        write(&path, EML);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
        if fs::read(&path).is_ok() {
            eprintln!("skipping: permissions are not enforced for this user");
            return;
        }
        let msg = format!("{:#}", discover(std::slice::from_ref(&path)).unwrap_err());
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        // Inside a walked folder, the same file is reported, not fatal.
        let d = discover(&[tmp.path().to_path_buf()]).unwrap();
        assert!(d.files.is_empty());
        assert_eq!(d.ignored.len(), 1);
        assert!(d.ignored[0].1.starts_with("unreadable: "));
    }

    #[test]
    fn a_file_that_cannot_be_read_is_named_in_japanese_when_its_name_is_shift_jis() {
        use std::os::unix::ffi::OsStrExt;
        let tmp = tempfile::tempdir().unwrap();
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("受信トレイ.mbox");
        // Gone since the walk saw it.
        let gone = tmp.path().join(OsStr::from_bytes(&sjis));
        let e = format!("{:#}", read_message_file(&gone, 10, None, 100).unwrap_err());
        assert!(e.contains("/受信トレイ.mbox"), "{e}");
        let e = format!("{:#}", MboxReader::open(&gone, false, 0).err().unwrap());
        assert!(e.contains("/受信トレイ.mbox"), "{e}");
    }

    #[test]
    fn an_empty_mbox_is_an_mbox_without_messages() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("export");
        write(&root.join("Trash.mbox"), b"");
        write(&root.join("empty.eml"), b"");
        let d = discover(std::slice::from_ref(&root)).unwrap();
        assert_eq!(
            files_rel(&root, &d),
            vec![
                ("Trash.mbox".to_string(), SourceKind::Mbox { gzip: false }),
                ("empty.eml".to_string(), SourceKind::Eml),
            ]
        );
        let named = root.join("Trash.mbox");
        let d = discover(std::slice::from_ref(&named)).unwrap();
        assert_eq!(d.files[0].kind, SourceKind::Mbox { gzip: false });
        assert!(read_all(&named, false, 0).is_empty());
        // Also in a Maildir's cur/ or new/, where an empty Maildir file is
        // still one (rejected as an empty message).
        let md = tmp.path().join("Maildir");
        write(&md.join("cur/Trash.mbox"), b"");
        write(&md.join("cur/1700000000.1.host:2,S"), b"");
        let d = discover(std::slice::from_ref(&md)).unwrap();
        assert_eq!(
            files_rel(&md, &d),
            vec![
                (
                    "cur/1700000000.1.host:2,S".to_string(),
                    SourceKind::MaildirFile
                ),
                (
                    "cur/Trash.mbox".to_string(),
                    SourceKind::Mbox { gzip: false }
                ),
            ]
        );
    }

    #[test]
    fn looks_like_mail_cases() {
        assert!(looks_like_mail(b"Return-Path: <a@example.jp>\n"));
        assert!(looks_like_mail(b"\xEF\xBB\xBF\n\r\nX-Mailer:x"));
        assert!(looks_like_mail(b"Received:"));
        assert!(!looks_like_mail(
            b"From a@example.jp Mon Jan  1 00:00:00 2024\n"
        ));
        assert!(!looks_like_mail(b"Subject : obsolete spacing\n"));
        assert!(!looks_like_mail(b": empty name\n"));
        assert!(!looks_like_mail(b"Subject"));
        assert!(!looks_like_mail(b""));
        assert!(!looks_like_mail("件名: テスト\n".as_bytes()));
    }

    #[test]
    fn from_line_cases() {
        assert!(is_from_line(
            b"From MAILER-DAEMON  Wed Sep 17 22:25:40 2008\r\n"
        ));
        assert!(is_from_line(
            b"From a@example.jp Mon Jan  1 00:00:00 2024\n"
        ));
        assert!(is_from_line(b"From - 2024\n"));
        assert!(!is_from_line(b"From here on, things changed.\n"));
        assert!(!is_from_line(b"From  \n"));
        assert!(!is_from_line(b"From: a@example.jp 2024\n"));
        assert!(!is_from_line(b">From a Mon Jan  1 00:00:00 2024\n"));
    }

    /// Three messages: the first has an unquoted `From here` line after a
    /// non-empty line and an mboxo-style `From ` line after an empty line that
    /// is not a From_ line; the second has mboxrd-quoted lines.
    fn three_messages(nl: &str) -> (Vec<u8>, Vec<Vec<u8>>) {
        let m1 = format!(
            "From: a@example.jp{nl}Subject: one{nl}{nl}Hello{nl}From here we go{nl}{nl}From the team{nl}"
        );
        let m2 = format!(
            "From: b@example.jp{nl}Subject: two{nl}{nl}quoted:{nl}>From the top{nl}>>From deeper{nl}>not from{nl}"
        );
        let m3 = format!("From: c@example.jp{nl}Subject: three{nl}{nl}last{nl}");
        let file = format!(
            "From a@example.jp Mon Jan  1 00:00:00 2024{nl}{m1}{nl}\
             From b@example.jp Tue Jan  2 10:11:12 2024{nl}{m2}{nl}\
             From c@example.jp Wed Jan  3 00:00:00 2024{nl}{m3}{nl}"
        );
        let want2 = m2
            .replace(">From the top", "From the top")
            .replace(">>From deeper", ">From deeper");
        (
            file.into_bytes(),
            vec![m1.into_bytes(), want2.into_bytes(), m3.into_bytes()],
        )
    }

    fn read_all(path: &Path, gzip: bool, start: u64) -> Vec<MboxMessage> {
        MboxReader::open(path, gzip, start)
            .unwrap()
            .collect::<anyhow::Result<Vec<_>>>()
            .unwrap()
    }

    /// An Apple Mail `.emlx`: its length line, the message, a property
    /// list. A wrong length (line ends converted, a tool that wrote 0) cuts
    /// nothing off the message and reads no property list as mail.
    #[test]
    fn the_message_of_an_emlx_file() {
        let message = "From: a@x.example\r\nSubject: s\r\n\r\nbody\r\n";
        let plist = "<?xml version=\"1.0\"?>\n<plist version=\"1.0\"><dict/></plist>\n";
        let emlx = |len: usize, tail: &str| format!("{len:<10}\n{message}{tail}").into_bytes();
        let n = message.len();
        for (file, why) in [
            (emlx(n, plist), "right"),
            (emlx(n, ""), "right, without a property list"),
            (emlx(n - 8, plist), "too short"),
            (emlx(n + 8, plist), "too long"),
            (emlx(0, plist), "zero"),
            (
                emlx(n + 8, ""),
                "cut short, or too long without a property list",
            ),
        ] {
            assert_eq!(emlx_message(&file), Some(message.as_bytes()), "{why}");
        }
        assert_eq!(emlx_message(message.as_bytes()), None, "no length line");
    }

    /// Line ends in an old Mac mbox: a bare CR, and CRLF or LF in mail a
    /// later client appended, also when a buffer ends between CR and LF.
    #[test]
    fn lines_end_at_a_bare_cr_crlf_or_lf() {
        let text = b"one\rtwo\r\nthree\nfour\r\rlast";
        let want: [&[u8]; 6] = [b"one\r", b"two\r\n", b"three\n", b"four\r", b"\r", b"last"];
        for capacity in 1..9 {
            let mut r = BufReader::with_capacity(capacity, &text[..]);
            let mut lines = Vec::new();
            loop {
                let mut line = Vec::new();
                let n = read_through_cr_or_lf(&mut r, LINE_CHUNK, &mut line).unwrap();
                if n == 0 {
                    break;
                }
                assert_eq!(n, line.len());
                lines.push(line);
            }
            assert_eq!(lines, want, "capacity {capacity}");
        }
        // A line longer than the limit comes in pieces.
        let mut r = BufReader::new(&b"abcdef\r\n"[..]);
        let mut line = Vec::new();
        assert_eq!(read_through_cr_or_lf(&mut r, 4, &mut line).unwrap(), 4);
        assert_eq!(line, b"abcd");
    }

    /// An old Mac mbox (more than a read buffer of it: what tells it) to
    /// which later clients appended CRLF and LF mail (files joined with
    /// `cat`): every message of each part.
    #[test]
    fn an_old_mac_mbox_with_crlf_and_lf_mail_after_it() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("joined.mbx");
        let mut file = Vec::new();
        let mut want = Vec::new();
        for nl in [&["\r"; 40][..], &["\r\n", "\n"]].concat() {
            let (f, w) = three_messages(nl);
            file.extend(f);
            want.extend(w);
        }
        assert!(file.iter().take(8192).all(|&b| b != b'\n'));
        write(&path, &file);
        let msgs = read_all(&path, false, 0);
        let bytes: Vec<&[u8]> = msgs.iter().map(|m| m.bytes.as_slice()).collect();
        let want: Vec<&[u8]> = want.iter().map(Vec::as_slice).collect();
        assert_eq!(bytes, want);
    }

    /// A crashed mail client's padding: NUL bytes, then the next message's
    /// `From ` line. The message after them is one of its own, from its
    /// `From ` line, not text of the one before; the NULs belong to neither.
    #[test]
    fn nul_padding_before_a_from_line_separates_messages() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("Inbox");
        let message = |n: u32| {
            format!(
                "From - Sun Feb 11 10:00:0{n} 2024\nFrom: a{n}@x.example\nSubject: {n}\n\nbody {n}\n"
            )
        };
        let mut file = message(1).into_bytes();
        file.extend(b"\n");
        let padded = file.len() + 3000;
        file.resize(padded, 0);
        file.extend(message(2).as_bytes());
        file.extend(b"\n");
        file.extend(message(3).as_bytes());
        // NULs again, before a `From ` line without a date.
        let dateless = file.len() + 100;
        file.resize(dateless, 0);
        file.extend(b"From a4@x.example\nFrom: a4@x.example\nSubject: 4\n\nbody 4\n");
        write(&path, &file);
        let msgs = read_all(&path, false, 0);
        let subjects: Vec<String> = msgs
            .iter()
            .map(|m| String::from_utf8_lossy(&m.bytes).into_owned())
            .collect();
        assert_eq!(
            subjects,
            [1, 2, 3, 4].map(|n| format!("From: a{n}@x.example\nSubject: {n}\n\nbody {n}\n"))
        );
        assert_eq!(msgs[1].offset, padded as u64);
        assert!(msgs[1].envelope_date.is_some());
        assert_eq!(msgs[3].offset, dateless as u64);
    }

    #[test]
    fn mbox_lf_and_crlf() {
        // Also a bare CR, as old Mac mboxes end their lines.
        for nl in ["\n", "\r\n", "\r"] {
            let tmp = tempfile::tempdir().unwrap();
            let path = tmp.path().join("box.mbox");
            let (file, want) = three_messages(nl);
            write(&path, &file);
            let msgs = read_all(&path, false, 0);
            let bytes: Vec<&[u8]> = msgs.iter().map(|m| m.bytes.as_slice()).collect();
            let want_refs: Vec<&[u8]> = want.iter().map(Vec::as_slice).collect();
            assert_eq!(bytes, want_refs, "nl={nl:?}");
            assert_eq!(msgs[0].offset, 0);
            for (m, sender) in msgs.iter().zip(["a@", "b@", "c@"]) {
                let at = &file[m.offset as usize..];
                assert!(at.starts_with(format!("From {sender}").as_bytes()));
            }

            // Resume after the second message: only the third comes back.
            let mut r = MboxReader::open(&path, false, 0).unwrap();
            assert_eq!(r.position(), 0);
            r.next().unwrap().unwrap();
            r.next().unwrap().unwrap();
            let pos = r.position();
            assert_eq!(pos, msgs[2].offset);
            let rest = read_all(&path, false, pos);
            assert_eq!(rest, vec![msgs[2].clone()]);
            let mut r = MboxReader::open(&path, false, pos).unwrap();
            assert!(r.next().is_some());
            assert!(r.next().is_none());
            assert_eq!(r.position(), file.len() as u64);
            assert!(read_all(&path, false, file.len() as u64).is_empty());
        }
    }

    /// Separators written without a date (`From tanaka@example.jp`), as
    /// some exporters write them: each starts a message when a header mail
    /// starts with follows it; elsewhere such a line is text.
    #[test]
    fn dateless_separators_start_messages_when_headers_follow() {
        for nl in ["\n", "\r\n"] {
            let tmp = tempfile::tempdir().unwrap();
            let path = tmp.path().join("box.mbox");
            let m1 = format!(
                "Return-Path: <a@example.jp>{nl}From: a@example.jp{nl}Subject: one{nl}{nl}\
                 Regards,{nl}{nl}From Tanaka{nl}Thank you{nl}{nl}From Suzuki{nl}Note: not a header{nl}\
                 {nl}From x@y.jp more words{nl}From: z@y.jp{nl}"
            );
            let m2 = format!("Received: by mx{nl}Subject: two{nl}{nl}body{nl}");
            let m3 = format!("X-Mailer: m{nl}Subject: three{nl}{nl}last{nl}");
            let file = format!(
                "From a@example.jp{nl}{m1}{nl}From MAILER-DAEMON{nl}{m2}{nl}\
                 From c@example.jp   {nl}{m3}{nl}"
            );
            write(&path, file.as_bytes());
            let msgs = read_all(&path, false, 0);
            let bytes: Vec<String> = msgs
                .iter()
                .map(|m| String::from_utf8(m.bytes.clone()).unwrap())
                .collect();
            assert_eq!(bytes, [m1.clone(), m2.clone(), m3.clone()], "nl={nl:?}");
            let offsets: Vec<u64> = msgs.iter().map(|m| m.offset).collect();
            let second = file.find("From MAILER-DAEMON").unwrap() as u64;
            let third = file.find("From c@example.jp").unwrap() as u64;
            assert_eq!(offsets, [0, second, third]);
            assert!(msgs.iter().all(|m| m.envelope_date.is_none()));

            // Resumed at a dateless separator, the reader starts there.
            let mut r = MboxReader::open(&path, false, 0).unwrap();
            r.next().unwrap().unwrap();
            assert_eq!(r.position(), second);
            assert_eq!(read_all(&path, false, second), msgs[1..].to_vec());
            assert_eq!(read_all(&path, false, third), msgs[2..].to_vec());

            // Not where a separator may be (no blank line before): text. As
            // the last line of the file, with nothing after it: a separator,
            // as a dated one there is, of an empty message (the file ends
            // inside it).
            let text = format!(
                "From a@example.jp{nl}Subject: s{nl}{nl}x{nl}From b@x.jp{nl}Subject: t{nl}{nl}From c@x.jp{nl}"
            );
            write(&path, text.as_bytes());
            let mut r = MboxReader::open(&path, false, 0).unwrap();
            let msgs: Vec<MboxMessage> = r.by_ref().map(Result::unwrap).collect();
            assert!(r.ended_inside_a_message());
            assert_eq!(msgs.len(), 2, "nl={nl:?}: {msgs:?}");
            let want = format!("Subject: s{nl}{nl}x{nl}From b@x.jp{nl}Subject: t{nl}");
            assert_eq!(String::from_utf8_lossy(&msgs[0].bytes), want);
            let last = text.rfind("From c@x.jp").unwrap() as u64;
            assert_eq!((msgs[1].offset, msgs[1].bytes.len()), (last, 0));
            for alone in [format!("From c@x.jp{nl}"), "From c@x.jp".to_string()] {
                write(&path, alone.as_bytes());
                let msgs = read_all(&path, false, 0);
                assert_eq!(msgs.len(), 1, "{alone:?}: {msgs:?}");
                assert_eq!((msgs[0].offset, msgs[0].bytes.len()), (0, 0), "{alone:?}");
            }
        }
    }

    #[test]
    fn an_mbox_cut_inside_a_message_is_told_apart() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("box.mbox");
        let whole = "From a@x Mon Mar  4 10:00:00 2024\nSubject: a\n\nbody\n\n";
        for (text, cut) in [
            (whole.to_string(), false),
            (whole.replace('\n', "\r\n"), false),
            (whole[..whole.len() - 1].to_string(), true),
            (whole[..whole.len() - 2].to_string(), true),
            (
                "From a@x Mon Mar  4 10:00:00 2024\nSubject: a\n".into(),
                true,
            ),
            ("From a@x Mon Mar  4 10:00:00 2024\nSubj".into(), true),
            (String::new(), false),
        ] {
            write(&path, text.as_bytes());
            let mut r = MboxReader::open(&path, false, 0).unwrap();
            assert!(!r.ended_inside_a_message(), "not before the end: {text:?}");
            r.by_ref().for_each(drop);
            assert_eq!(r.ended_inside_a_message(), cut, "{text:?}");
        }
    }

    #[test]
    fn from_line_dates() {
        let d = |l: &str| from_line_date(l.as_bytes());
        // 2024-03-04 10:00:00 UTC
        assert_eq!(
            d("From a@x Mon Mar  4 10:00:00 2024\n"),
            Some(1_709_546_400)
        );
        assert_eq!(d("From a@x mon mar 4 10:00 2024\r\n"), Some(1_709_546_400));
        assert_eq!(
            d("From a@x Mon Mar  4 19:00:00 +0900 2024\n"),
            Some(1_709_546_400)
        );
        assert_eq!(
            d("From a@x Mon Mar  4 05:30:00 -0430 2024\n"),
            Some(1_709_546_400)
        );
        assert_eq!(
            d("From MAILER-DAEMON Mon Mar  4 10:00:00 JST 2024\n"),
            Some(1_709_546_400)
        );
        for not in [
            "From here on we ship on Mondays\n",
            "From a@x Mar  4 10:00:00 2024\n",
            "From a@x Mon Mar 32 10:00:00 2024\n",
            "From a@x Mon Mar  4 10:00:00 24\n",
            "From a@x Mon Mar  4 2024\n",
            "From a@x Mon Mar  4 10:00:00 2024 extra\n",
            "From: a@x Mon Mar  4 10:00:00 2024\n",
        ] {
            assert_eq!(d(not), None, "{not:?}");
        }
    }

    #[test]
    fn a_complete_from_line_separates_without_a_blank_line_before_it() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("joined.mbox");
        // Two mbox files joined with cat, the first without its final blank
        // line; a body line starting with "From " is still body text.
        let file = "From a@x Mon Mar  4 10:00:00 2024\nSubject: one\n\nbody one\nFrom here on, more\n\
                    From b@x Mon Mar  4 11:00:00 +0900 2024\nSubject: two\n\nbody two\n";
        write(&path, file.as_bytes());
        let msgs = read_all(&path, false, 0);
        let bytes: Vec<&[u8]> = msgs.iter().map(|m| m.bytes.as_slice()).collect();
        assert_eq!(
            bytes,
            [
                &b"Subject: one\n\nbody one\nFrom here on, more\n"[..],
                &b"Subject: two\n\nbody two\n"[..],
            ]
        );
        let dates: Vec<Option<i64>> = msgs.iter().map(|m| m.envelope_date).collect();
        assert_eq!(dates, [Some(1_709_546_400), Some(1_709_517_600)]);
        // Resuming at the second separator gives its date too.
        assert_eq!(
            read_all(&path, false, msgs[1].offset),
            vec![msgs[1].clone()]
        );
    }

    #[test]
    fn a_byte_order_mark_or_blank_lines_before_an_mbox_are_not_a_message() {
        let tmp = tempfile::tempdir().unwrap();
        let two = "From a@x Mon Mar  4 10:00:00 2024\r\nSubject: one\r\n\r\nbody\r\n\r\n\
                   From b@x Mon Mar  4 11:00:00 2024\r\nSubject: two\r\n\r\nbody\r\n";
        for (name, lead) in [
            ("bom.mbox", &b"\xEF\xBB\xBF"[..]),
            ("blank.mbox", b"\r\n\r\n"),
            ("both.mbox", b"\xEF\xBB\xBF\n"),
        ] {
            let path = tmp.path().join(name);
            let file = [lead, two.as_bytes()].concat();
            write(&path, &file);
            let mut f = File::open(&path).unwrap();
            assert_eq!(
                sniff(&mut f).unwrap(),
                Ok(SourceKind::Mbox { gzip: false }),
                "{name}"
            );
            let msgs = read_all(&path, false, 0);
            let subjects: Vec<&[u8]> = msgs.iter().map(|m| &m.bytes[..14]).collect();
            assert_eq!(
                subjects,
                [b"Subject: one\r\n", b"Subject: two\r\n"],
                "{name}"
            );
            // Offsets stay those of the file: each points at its separator.
            for m in &msgs {
                assert!(file[m.offset as usize..].starts_with(b"From "), "{name}");
            }
        }
    }

    /// A message whose body is `body_len` bytes of `line` repeated (the last
    /// line cut to fit, ending with a newline), after a short header.
    fn sized_message(from: &str, body_len: usize, line: &[u8]) -> Vec<u8> {
        let mut m = format!("From: {from}\nSubject: big\n\n").into_bytes();
        let start = m.len();
        while m.len() - start < body_len {
            let take = line.len().min(body_len - (m.len() - start));
            m.extend_from_slice(&line[..take]);
        }
        if let Some(last) = m.last_mut() {
            *last = b'\n';
        }
        m
    }

    #[test]
    fn mbox_messages_over_the_limit_come_back_cut_past_it() {
        let max = crate::parse::MAX_MESSAGE_SIZE;
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("box.mbox");
        let small = b"From: a@x\nSubject: s\n\nbody\n".to_vec();
        // Over the limit: 1000-byte lines, then one line longer than a chunk
        // holding a quoted From line at a chunk boundary, then more lines.
        let mut line = vec![b'x'; 999];
        line.push(b'\n');
        let mut huge = sized_message("b@x", max - 3 * LINE_CHUNK as usize, &line);
        huge.extend_from_slice(&vec![b'y'; LINE_CHUNK as usize]);
        huge.extend_from_slice(b">From the middle of a long line\n");
        huge.extend(sized_message("", 4 * LINE_CHUNK as usize, &line));
        // Exactly at the limit, ending with a newline: kept whole.
        let mut exact = sized_message("c@x", max, &line);
        exact.truncate(max - 1);
        exact.push(b'\n');
        assert_eq!(exact.len(), max);
        let mut file = Vec::new();
        for (i, m) in [&small, &huge, &exact, &small].iter().enumerate() {
            file.extend_from_slice(format!("From s{i} Thu Jan  1 00:00:00 2024\n").as_bytes());
            file.extend_from_slice(m);
            file.push(b'\n');
        }
        write(&path, &file);
        let msgs = read_all(&path, false, 0);
        assert_eq!(msgs.len(), 4);
        assert_eq!(msgs[0].bytes, small);
        assert_eq!(msgs[1].bytes.len(), max + 1);
        assert_eq!(msgs[1].bytes[..], huge[..max + 1]);
        assert_eq!(msgs[2].bytes, exact);
        assert_eq!(msgs[3].bytes, small);
        for (m, sender) in msgs.iter().zip(["s0", "s1", "s2", "s3"]) {
            let at = &file[m.offset as usize..];
            assert!(at.starts_with(format!("From {sender} ").as_bytes()));
        }
        assert!(crate::parse::parse_message(&msgs[1].bytes, None).is_err());
    }

    #[test]
    fn a_long_line_split_in_chunks_is_never_a_separator_or_unquoted() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("box.mbox");
        // A chunk of a long line that starts with ">From " or is only a
        // line ending is body text, neither unquoted nor a blank line.
        let mut body = vec![b'z'; LINE_CHUNK as usize - 1];
        body.push(b'\n'); // ends the first chunk exactly: a real line end
        body.extend_from_slice(&vec![b'w'; LINE_CHUNK as usize]);
        body.extend_from_slice(b">From inside\n");
        body.extend_from_slice(&vec![b'v'; LINE_CHUNK as usize]);
        body.extend_from_slice(b"\n");
        let mut m = b"From: a@x\nSubject: s\n\n".to_vec();
        m.extend_from_slice(&body);
        let mut file = b"From a Thu Jan  1 00:00:00 2024\n".to_vec();
        file.extend_from_slice(&m);
        write(&path, &file);
        let msgs = read_all(&path, false, 0);
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].bytes, m);
    }

    #[test]
    fn message_files_are_read_whole_however_their_size_changed_since_the_walk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cur/1.host:2,S");
        let mail = b"Subject: \x1b$B@A5a=q\x1b(B\n\nbody\n";
        write(&path, mail);
        let size = mail.len() as u64;
        let p = Prefetcher::new(8);
        // As walked, opened by the planner or by the reader.
        for opened in [p.open(&path), None] {
            assert_eq!(
                read_message_file(&path, size, opened, 1 << 20).unwrap(),
                mail
            );
        }
        assert_eq!(p.held(), 0, "a read file is no longer held");
        // Grown or shrunk after the walk: read as it is now.
        let grown = [&mail[..], b"more\n"].concat();
        write(&path, &grown);
        assert_eq!(
            read_message_file(&path, size, p.open(&path), 1 << 20).unwrap(),
            grown
        );
        write(&path, &mail[..10]);
        assert_eq!(
            read_message_file(&path, size, p.open(&path), 1 << 20).unwrap(),
            &mail[..10]
        );
        // Never more than the limit + 1 bytes (the reader rejects it as too big).
        write(&path, mail);
        assert_eq!(
            read_message_file(&path, size, p.open(&path), 5).unwrap(),
            &mail[..6]
        );
        let gone = dir.path().join("cur/gone");
        assert!(p.open(&gone).is_none());
        let err = read_message_file(&gone, 3, None, 1 << 20).unwrap_err();
        assert!(format!("{err:#}").contains("cur/gone"), "{err:#}");
    }

    #[test]
    fn the_prefetcher_holds_at_most_its_share_of_open_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.eml");
        write(&path, b"Subject: x\n\nbody\n");
        let p = Prefetcher::new(3);
        let held: Vec<_> = (0..5).map(|_| p.open(&path)).collect();
        assert_eq!(held.iter().filter(|f| f.is_some()).count(), 3);
        assert_eq!(p.held(), 3);
        drop(held);
        assert_eq!(p.held(), 0);
        assert!(p.open(&path).is_some(), "room again once files are read");
    }

    #[test]
    fn gzip_mbox_offsets_are_decompressed() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("box.mbox.gz");
        let (file, want) = three_messages("\n");
        write(&path, &gzip(&file));
        let d = discover(std::slice::from_ref(&path)).unwrap();
        assert_eq!(d.files[0].kind, SourceKind::Mbox { gzip: true });
        let msgs = read_all(&path, true, 0);
        assert_eq!(msgs.len(), 3);
        assert_eq!(msgs[1].bytes, want[1]);
        assert!(file[msgs[2].offset as usize..].starts_with(b"From c@"));
        let rest = read_all(&path, true, msgs[1].offset);
        assert_eq!(rest, msgs[1..].to_vec());
    }

    #[test]
    fn gzip_members_and_padding_are_read_as_gzip_reads_them() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("box.mbox.gz");
        let (file, want) = three_messages("\n");
        // Two members (as `cat a.gz b.gz` makes), then tape padding.
        let cut = file.len() / 2;
        let mut gz = gzip(&file[..cut]);
        gz.extend(gzip(&file[cut..]));
        gz.extend([0u8; 512]);
        write(&path, &gz);
        let d = discover(std::slice::from_ref(&path)).unwrap();
        assert_eq!(d.files[0].kind, SourceKind::Mbox { gzip: true });
        let msgs = read_all(&path, true, 0);
        let bytes: Vec<&[u8]> = msgs.iter().map(|m| m.bytes.as_slice()).collect();
        assert_eq!(bytes, want.iter().map(Vec::as_slice).collect::<Vec<_>>());

        // Other bytes after the data are an error, after what was complete.
        gz.extend(b"junk");
        write(&path, &gz);
        let mut r = MboxReader::open(&path, true, 0).unwrap();
        let first = r.next().map(|m| m.map(|m| m.bytes));
        assert_eq!(first.unwrap().unwrap(), want[0]);
        let err = r.find_map(Result::err).map(|e| format!("{e:#}"));
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("not gzip data 512 bytes after its end")),
            "{err:?}"
        );
    }

    #[test]
    fn garbage_before_first_from_is_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("box.mbox");
        let file = b"exported by tool v1\n>From kept as is\n\nFrom a@example.jp Mon Jan  1 00:00:00 2024\nSubject: x\n\nhi\n\n";
        write(&path, file);
        let msgs = read_all(&path, false, 0);
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].offset, 0);
        assert_eq!(msgs[0].bytes, b"exported by tool v1\n>From kept as is\n");
        assert_eq!(msgs[1].offset, 38);
        assert!(file[38..].starts_with(b"From a@"));
        assert_eq!(msgs[1].bytes, b"Subject: x\n\nhi\n");

        // Blank lines only before the first separator are not a message.
        write(
            &path,
            b"\n\r\nFrom a@example.jp Mon Jan  1 00:00:00 2024\nhi\n",
        );
        let msgs = read_all(&path, false, 0);
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].offset, 3);
        assert_eq!(msgs[0].bytes, b"hi\n");

        // An empty file yields nothing; a file without separator is one message.
        write(&path, b"");
        assert!(read_all(&path, false, 0).is_empty());
        write(&path, b"just text\n");
        let msgs = read_all(&path, false, 0);
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].bytes, b"just text\n");
    }

    /// Writes messages as an mboxrd file, following [`mboxrd_quote`]'s rules.
    fn write_mboxrd(msgs: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for m in msgs {
            out.extend_from_slice(b"From kura@example.jp Mon Jan  1 00:00:00 2024\n");
            mboxrd_quote(m, &mut out);
            if !m.is_empty() && !m.ends_with(b"\n") {
                out.push(b'\n');
            }
            out.push(b'\n');
        }
        out
    }

    #[test]
    fn mboxrd_round_trip() {
        let msgs: Vec<&[u8]> = vec![
            b"Subject: a\n\nFrom the start\n>From quoted\n>>From twice\nFrom here\n",
            b"Subject: b\r\n\r\nFrom crlf Mon Jan  1 00:00:00 2024\r\n\r\n>From x\r\n",
            b"Subject: c\n\nends with blank lines\n\n\n",
            b"From a line that looks like a header\nno final newline",
            "Subject: 日本語\n\n>>>From 本文\n".as_bytes(),
        ];
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("rt.mbox");
        let file = write_mboxrd(&msgs);
        write(&path, &file);
        let got = read_all(&path, false, 0);
        assert_eq!(got.len(), msgs.len());
        for (g, m) in got.iter().zip(&msgs) {
            if m.ends_with(b"\n") {
                assert_eq!(&g.bytes, m);
            } else {
                // No final newline: the reader returns the newline the writer added.
                let mut want = m.to_vec();
                want.push(b'\n');
                assert_eq!(g.bytes, want);
            }
        }
        let mut q = Vec::new();
        mboxrd_quote(b">From x\nFrom y\nx From z\n>>From", &mut q);
        assert_eq!(q, b">>From x\n>From y\nx From z\n>>From");
        q.clear();
        mboxrd_quote(b">>From ", &mut q);
        assert_eq!(q, b">>>From ");
    }

    #[test]
    fn shared_corpora() {
        let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpora"));
        if !root.is_dir() {
            eprintln!("skipping: {} not found", root.display());
            return;
        }
        let d = discover(&[root.to_path_buf()]).unwrap();
        let mut maildirs = 0;
        for e in fs::read_dir(root).unwrap() {
            let dir = e.unwrap().path();
            if !dir.join("cur").is_dir() {
                continue;
            }
            maildirs += 1;
            let mut want: Vec<PathBuf> = fs::read_dir(dir.join("cur"))
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            want.sort();
            let got: Vec<PathBuf> = d
                .files
                .iter()
                .filter(|f| f.path.starts_with(&dir))
                .map(|f| {
                    assert_eq!(f.kind, SourceKind::MaildirFile, "{}", f.path.display());
                    f.path.clone()
                })
                .collect();
            assert_eq!(got, want, "{}", dir.display());
        }
        assert!(maildirs >= 7);
        for name in ["mbox-0.mbox", "mbox-1.mbox"] {
            let p = root.join("sisimai-mbox").join(name);
            let f = d.files.iter().find(|f| f.path == p).unwrap();
            assert_eq!(f.kind, SourceKind::Mbox { gzip: false });
        }
        assert!(
            d.ignored
                .iter()
                .any(|(p, _)| *p == root.join("MANIFEST.md"))
        );

        let mbox0 = root.join("sisimai-mbox/mbox-0.mbox");
        let bytes = fs::read(&mbox0).unwrap();
        let msgs = read_all(&mbox0, false, 0);
        assert_eq!(msgs.len(), 37);
        // Every message is exactly: From_ line, bytes (no quoted lines in this
        // file), one CRLF blank line; up to the next separator or the end.
        let ends = msgs.iter().skip(1).map(|m| m.offset as usize);
        for (m, end) in msgs.iter().zip(ends.chain([bytes.len()])) {
            let at = &bytes[m.offset as usize..end];
            assert!(at.starts_with(b"From "));
            let from_len = at.iter().position(|&b| b == b'\n').unwrap() + 1;
            assert_eq!(&at[from_len..at.len() - 2], m.bytes.as_slice());
            assert!(at.ends_with(b"\r\n\r\n"));
            assert!(looks_like_mail(&m.bytes));
        }
    }
}

/// Property test of the mbox reader over random mixes of dated and dateless
/// `From ` lines, quoted ones, headers, body text and blank lines, LF and
/// CRLF: every message is its separator line, its bytes (unquoted) and at
/// most one blank line, offsets increase, resuming at any message gives the
/// same rest, and a gzip copy reads the same.
#[cfg(test)]
mod mbox_accounting {
    use super::*;
    use proptest::prelude::*;

    const LINES: &[&str] = &[
        "From a@x.jp",
        "From MAILER-DAEMON",
        "From a@x.jp Thu Jan  1 00:00:00 2024",
        "From a@x.jp 2024",
        "From Tanaka said",
        "From ",
        ">From a@x.jp",
        ">>From b",
        "Subject: s",
        "Received: by mx",
        "X-Foo: y",
        "Note: n",
        "body text",
        "From: z@y.jp",
        "From  a@x.jp",
        "From a@x.jp ",
        "From a@x.jp\r",
        " ",
        "Content-Type: text/plain",
        "",
        "",
        "",
    ];

    fn build(idx: &[usize], nl: &str, end_nl: bool) -> Vec<u8> {
        let mut s = String::new();
        for (k, &i) in idx.iter().enumerate() {
            s.push_str(LINES[i]);
            if k + 1 < idx.len() || end_nl {
                s.push_str(nl);
            }
        }
        s.into_bytes()
    }

    fn unquote_count(bytes: &[u8]) -> usize {
        // number of lines starting with >+From (each lost one '>')
        bytes
            .split_inclusive(|&b| b == b'\n')
            .filter(|l| {
                let n = l.iter().take_while(|&&b| b == b'>').count();
                n > 0 && l[n..].starts_with(b"From ")
            })
            .count()
    }

    fn read_all(path: &Path, gzip: bool, start: u64) -> Vec<MboxMessage> {
        MboxReader::open(path, gzip, start)
            .unwrap()
            .collect::<anyhow::Result<Vec<_>>>()
            .unwrap()
    }

    fn line_at(file: &[u8], off: usize) -> &[u8] {
        let end = file[off..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(file.len(), |p| off + p + 1);
        &file[off..end]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn accounting(idx in proptest::collection::vec(0usize..LINES.len(), 0..18), crlf: bool, end_nl: bool) {
            let nl = if crlf { "\r\n" } else { "\n" };
            let file = build(&idx, nl, end_nl);
            let tmp = tempfile::tempdir().unwrap();
            let path = tmp.path().join("b.mbox");
            std::fs::write(&path, &file).unwrap();
            let msgs = read_all(&path, false, 0);
            if let Some(m0) = msgs.first() { prop_assert!(file[..m0.offset as usize].iter().all(u8::is_ascii_whitespace), "lost before first: {:?}", String::from_utf8_lossy(&file)); }
            else { prop_assert!(file.iter().all(u8::is_ascii_whitespace), "all lost: {:?}", String::from_utf8_lossy(&file)); }
            // offsets increasing
            for w in msgs.windows(2) { prop_assert!(w[0].offset < w[1].offset, "{:?}", msgs); }
            for (i, m) in msgs.iter().enumerate() {
                let start = m.offset as usize;
                let end = msgs.get(i + 1).map_or(file.len(), |n| n.offset as usize);
                let region = &file[start..end];
                let sep = line_at(&file, start);
                let ok = |body_start: usize, unq: bool| -> bool {
                    let rest = &region[body_start..];
                    let got = m.bytes.len() + if unq { unquote_count(rest) } else { 0 };
                    let blank = rest.len() as isize - got as isize;
                    if !(0..=2).contains(&blank) { return false; }
                    let tail = &rest[rest.len() - blank as usize..];
                    let tail_ok = tail.is_empty() || tail == b"\n" || tail == b"\r\n";
                    // bytes must equal the rest minus tail, with unquoting
                    let mut want = Vec::new();
                    for l in rest[..rest.len() - blank as usize].split_inclusive(|&b| b == b'\n') {
                        let n = l.iter().take_while(|&&b| b == b'>').count();
                        if unq && n > 0 && l[n..].starts_with(b"From ") { want.extend_from_slice(&l[1..]); } else { want.extend_from_slice(l); }
                    }
                    tail_ok && want == m.bytes
                };
                let pass = (sep.starts_with(b"From ") && ok(sep.len(), true)) || (i == 0 && ok(0, false));
                prop_assert!(pass, "msg {} of {:?}: region {:?} bytes {:?}", i, String::from_utf8_lossy(&file), String::from_utf8_lossy(region), String::from_utf8_lossy(&m.bytes));
            }
            // resume at every separator offset gives the same suffix
            for i in 0..msgs.len() {
                if i == 0 && msgs[0].offset == 0 && !line_at(&file, 0).starts_with(b"From ") { continue; }
                if i == 0 { continue; }
                let again = read_all(&path, false, msgs[i].offset);
                prop_assert_eq!(&again[..], &msgs[i..], "resume at {} of {:?}", msgs[i].offset, String::from_utf8_lossy(&file));
            }
            // gzip same
            let gz = {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                std::io::Write::write_all(&mut e, &file).unwrap();
                e.finish().unwrap()
            };
            let gpath = tmp.path().join("b.mbox.gz");
            std::fs::write(&gpath, &gz).unwrap();
            prop_assert_eq!(read_all(&gpath, true, 0), msgs.clone());
            // crlf equivalence: same number of messages as LF version
            if crlf {
                let lf = build(&idx, "\n", end_nl);
                std::fs::write(&path, &lf).unwrap();
                let lfm = read_all(&path, false, 0);
                prop_assert_eq!(lfm.len(), msgs.len(), "{:?}", String::from_utf8_lossy(&file));
            }
        }
    }
}
