//! The import pipeline: sources → parse (all cores) → one writer → store, packs, index.
//!
//! ```text
//! planner thread ──jobs──▶ parse workers (N) ──parsed──▶ writer (this thread)
//!   (skip unchanged files,    (read file, parse,            reorders by sequence number,
//!    read mbox messages)       compress, build document)    dedupes, writes store+pack+index
//! ```
//! The writer handles messages in input order, so an import is deterministic.
//! It hands documents to the index writer's indexing threads (half the cores,
//! see [`index::indexing_threads`]), the narrowest stage: the parse workers
//! run at a lower priority ([`index::defer_to_indexing`]) and use what CPU
//! the indexing leaves.
//! Every message seen ends as exactly one of: new, duplicate (incl. conflicts),
//! rejected, unchanged (already imported from that place), or erased (by
//! `kura erase`, see [`crate::erase`]).
//!
//! Crash safety: a batch is (1) originals appended to the pack and synced,
//! (2) one SQLite transaction stamped with the batch number, (3) a tantivy
//! commit whose payload is that number. A kill between (2) and (3) leaves the
//! store ahead of the index; the next import re-indexes those batches from the
//! stored originals before doing anything else ([`recover`]). A kill before (2)
//! loses nothing the store knows about, and the pack's uncommitted tail is cut.

use crate::archive::{Archive, tighten_permissions};
use crate::erase::{self, Erased};
use crate::index::{self, Fields};
use crate::pack::{self, Compressed, DictionaryTrainer, PackReader, PackRef, PackWriter};
use crate::parse::{self, ParsedMessage};
use crate::sources::{self, MboxReader, SourceFile, SourceKind};
use crate::store::{
    KnownFile, KnownFiles, Outcome, Place, RecordedCopy, SourcePath, Store, ThreadOptions,
};
use anyhow::{Context, Result, bail};
use crossbeam_channel::{Receiver, Sender, bounded};
use rusqlite::params;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tantivy::{IndexWriter, TantivyDocument};

/// New messages per store transaction / index commit.
pub const DEFAULT_BATCH: usize = 50_000;

/// Parsed messages that may wait for the writer (each holds its compressed
/// original and index document: about 4 KB to 40 KB of memory). A deeper
/// queue (4096) kept no more CPU busy and cost ~40 MB of peak memory.
const ITEM_QUEUE: usize = 1024;

/// Messages queued for the parse threads (their files are read ahead, see
/// [`sources::Prefetcher`]).
const JOB_QUEUE: usize = 1024;

/// Most message files the planner holds open for the parse threads (the
/// job queue, the batch being filled and one batch per parse thread; see
/// [`sources::Prefetcher`]).
const MAX_HELD_FILES: usize = 2 * JOB_QUEUE;

/// Jobs travel to the parse threads, and their items to the writer, in
/// batches of up to this many: a channel operation per message (and the
/// wake-up of a waiting thread it often costs) was ~4% of an import's CPU.
const JOB_BATCH: usize = 64;

/// An mbox batch is sent early once its messages hold this many bytes.
const JOB_BATCH_BYTES: usize = 8 << 20;

/// How an import runs.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub paths: Vec<PathBuf>,
    /// Wait for the archive lock instead of failing with exit code 75.
    pub wait: bool,
    pub threads: ThreadOptions,
    pub batch_size: usize,
    /// Show a progress bar (the caller decides: terminal, not quiet).
    pub progress: bool,
    /// Parse threads (0: one per core).
    pub jobs: usize,
    /// Testing aid: abort the process after this many messages were written
    /// (`KURA_TEST_ABORT_AFTER`), to prove crash safety.
    pub abort_after: Option<u64>,
    /// Testing aid (`KURA_TEST_INDEX_COMMIT_DELAY_MS`): each index commit
    /// starts this much later, so that the messages after a batch surely
    /// arrive while the index commits.
    pub index_commit_delay: Option<Duration>,
    /// Benchmark aid (`KURA_BENCH_NO_THREADING`): every message gets a
    /// thread of its own, so that the cost of threading can be measured. The
    /// archive's threads are then wrong: never for real mail.
    pub no_threading: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            paths: Vec::new(),
            wait: false,
            threads: ThreadOptions::default(),
            batch_size: DEFAULT_BATCH,
            progress: false,
            jobs: 0,
            abort_after: None,
            index_commit_delay: None,
            no_threading: false,
        }
    }
}

/// What an import did. `seen == new + duplicates + rejected + unchanged + erased`.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ImportSummary {
    pub seen: u64,
    pub new: u64,
    /// Copies of messages already in the archive (conflicts included).
    pub duplicates: u64,
    /// Duplicates whose content differs from the archived copy (kept as extra locations).
    pub conflicts: u64,
    pub rejected: u64,
    /// Messages skipped because their file (or mbox part) was imported before.
    pub unchanged: u64,
    /// Messages skipped because `kura erase` erased them.
    pub erased: u64,
    /// Messages left for the next import: the last message of an mbox that
    /// ends inside it (mid-line, or before the blank line that ends a
    /// message) and changed in the last [`SETTLE_SECONDS`] (a delivery may
    /// still be appending it). Not
    /// counted in `seen`: the next import reads them whole.
    pub incomplete: u64,
    /// Files that were not mail (listed with `--verbose`).
    pub ignored_files: u64,
    /// Those files, with the reason.
    #[serde(skip)]
    pub ignored: Vec<(PathBuf, String)>,
    /// Files that could not be read (each reported as an error).
    pub errors: u64,
    /// Messages re-indexed after an interrupted import.
    pub recovered: u64,
    /// Wall time of the whole import, with the index merges at its end.
    pub seconds: f64,
    /// Wall time spent assigning threads (Message-ID links and the subject
    /// fallback), part of `seconds`.
    pub threading_seconds: f64,
}

impl std::fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "import: {} seen, {} new, {} duplicates",
            self.seen, self.new, self.duplicates
        )?;
        if self.conflicts > 0 {
            let s = if self.conflicts == 1 { "" } else { "s" };
            write!(f, " ({} conflict{s})", self.conflicts)?;
        }
        write!(f, ", {} rejected", self.rejected)?;
        if self.rejected > 0 {
            write!(f, " (kura rejects)")?;
        }
        if self.unchanged > 0 {
            write!(f, ", {} unchanged", self.unchanged)?;
        }
        if self.erased > 0 {
            write!(f, ", {} erased before (skipped)", self.erased)?;
        }
        if self.incomplete > 0 {
            write!(
                f,
                ", {} left for the next import (still being written)",
                self.incomplete
            )?;
        }
        if self.errors > 0 {
            write!(f, ", {} unreadable files", self.errors)?;
        }
        if self.ignored_files > 0 {
            // Folders too: a hidden one, a kura archive kept beside the mail.
            let what = if self.ignored_files == 1 {
                "file or folder"
            } else {
                "files or folders"
            };
            write!(
                f,
                ", {} {what} passed over (-v says why)",
                self.ignored_files
            )?;
        }
        if self.recovered > 0 {
            write!(
                f,
                ", {} re-indexed after an interrupted import",
                self.recovered
            )?;
        }
        write!(f, ", {:.1} s", self.seconds)
    }
}

/// A unit of work for the parse workers.
enum Job {
    /// A whole file is one message (Maildir, .eml); `done` records the file
    /// once its message is written (not when it could not be read: the next
    /// import tries it again).
    File {
        seq: u64,
        file: SourceFile,
        done: FileRecord,
        /// The file, opened (and prefetched) by the planner.
        opened: Option<sources::OpenedFile>,
    },
    /// A message read from an mbox; `filed` is the date it was filed (its
    /// `From ` line's, else the mbox file's modification time), the date of a
    /// message without a usable header date.
    Mbox {
        seq: u64,
        path: Arc<Path>,
        offset: u64,
        filed: i64,
        bytes: Vec<u8>,
    },
}

/// What reaches the writer, in sequence order.
enum Item {
    Message(Box<Parsed>),
    /// All messages of a file were sent: record it in `files`.
    FileDone {
        seq: u64,
        record: FileRecord,
    },
    /// A file could not be read.
    Error {
        seq: u64,
        message: String,
    },
    /// A changed mbox is re-read from the start: forget its old locations.
    Reread {
        seq: u64,
        path: PathBuf,
    },
    /// A Maildir file imported before was renamed (moved from `new/` to
    /// `cur/`, or its flags changed), or a file an earlier version recorded
    /// by a lossy name is found ([`Planner::recorded_lossily`]): its records
    /// now name path `to`.
    Moved {
        seq: u64,
        from: PathBuf,
        to: PathBuf,
    },
}

impl Item {
    fn seq(&self) -> u64 {
        match self {
            Item::Message(p) => p.seq,
            Item::FileDone { seq, .. }
            | Item::Error { seq, .. }
            | Item::Reread { seq, .. }
            | Item::Moved { seq, .. } => *seq,
        }
    }
}

/// A parsed message on its way to the writer.
struct Parsed {
    seq: u64,
    source: Arc<Path>,
    kind: &'static str,
    mbox_offset: Option<u64>,
    compressed: Compressed,
    result: std::result::Result<(ParsedMessage, TantivyDocument), parse::Reject>,
    /// The file this message was the whole of, recorded once it is written.
    done: Option<FileRecord>,
}

/// A `files` row.
#[derive(Debug, Clone)]
struct FileRecord {
    path: PathBuf,
    kind: &'static str,
    size: u64,
    mtime_ns: i64,
    messages: u64,
    resume: u64,
    head_hash: Option<Vec<u8>>,
}

/// What identifies a Maildir message file across renames: its Maildir
/// folder and its unique name (the file name before the `:2,flags` info, see
/// [`maildir_info_at`]). `None` for a file that is not in a `cur/` or `new/`
/// folder.
fn maildir_name(path: &Path) -> Option<(&Path, &OsStr)> {
    let dir = path.parent()?;
    if !matches!(dir.file_name()?.to_str()?, "cur" | "new") {
        return None;
    }
    let file = path.file_name()?.as_bytes();
    let unique = file.get(..maildir_info_at(file).unwrap_or(file.len()))?;
    Some((dir.parent()?, OsStr::from_bytes(unique)))
}

/// Where the info of a Maildir file name (`:2,FLAGS`) starts: at its first
/// `:`; in a name without one, at a `!` or `;` followed by `2,` and flag
/// letters that end the name (`1700000000.M1P2.host!2,S`): the separator
/// that mail clients and sync tools write on Windows, whose file names
/// cannot hold a `:`, and that a Maildir copied from there keeps.
fn maildir_info_at(name: &[u8]) -> Option<usize> {
    if let Some(colon) = memchr::memchr(b':', name) {
        return Some(colon);
    }
    let sep = memchr::memrchr2(b'!', b';', name)?;
    let flags = name.get(sep + 1..)?.strip_prefix(b"2,")?;
    flags.iter().all(u8::is_ascii_alphabetic).then_some(sep)
}

fn kind_name(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::MaildirFile => "maildir",
        SourceKind::Eml => "eml",
        SourceKind::Mbox { .. } => "mbox",
    }
}

/// Hash that identifies the already-imported part of an mbox: its first 64 KiB
/// and the 4 KiB before `resume`.
fn mbox_head_hash(path: &Path, resume: u64) -> Result<Vec<u8>> {
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut h = blake3::Hasher::new();
    let head_len = resume.min(64 << 10) as usize;
    let mut buf = vec![0u8; head_len];
    f.read_exact_at(&mut buf, 0)
        .with_context(|| format!("cannot read {}", path.display()))?;
    h.update(&buf);
    let tail_start = resume.saturating_sub(4 << 10);
    let mut buf = vec![0u8; (resume - tail_start) as usize];
    f.read_exact_at(&mut buf, tail_start)
        .with_context(|| format!("cannot read {}", path.display()))?;
    h.update(&buf);
    h.update(&resume.to_le_bytes());
    Ok(h.finalize().as_bytes().to_vec())
}

/// Whether what follows `offset` in the mbox at `path` starts a message (a
/// `From ` line, after blank lines). When it does not, the message before
/// `offset` was cut short when the file was last read and has grown since:
/// the file is read again, not resumed in the middle of that message.
fn mbox_message_starts_at(path: &Path, offset: u64) -> bool {
    let Ok(f) = std::fs::File::open(path) else {
        return false;
    };
    let mut buf = [0u8; 4096];
    let Ok(n) = f.read_at(&mut buf, offset) else {
        return false;
    };
    let head = &buf[..n];
    let past_blank = head
        .iter()
        .position(|&b| b != b'\n' && b != b'\r')
        .map_or(&[][..], |i| &head[i..]);
    past_blank.starts_with(b"From ")
}

/// Imports `opts.paths` into `archive`.
pub fn run(archive: &Archive, opts: &ImportOptions) -> Result<ImportSummary> {
    run_inner(archive, opts).map_err(|e| explain_disk_full(e, archive))
}

/// A full disk is reported by SQLite as "database or disk is full" and by
/// the index without a path: say plainly that the disk of the archive is full.
fn explain_disk_full(e: anyhow::Error, archive: &Archive) -> anyhow::Error {
    let sqlite_full = e.chain().any(|c| {
        matches!(c.downcast_ref::<rusqlite::Error>(),
            Some(rusqlite::Error::SqliteFailure(f, _)) if f.code == rusqlite::ErrorCode::DiskFull)
    });
    let text = format!("{e:#}");
    let lower = text.to_lowercase();
    let io_full = text.contains("os error 28") || text.contains("No space left on device");
    let root = archive.root.display().to_string();
    if (sqlite_full || io_full) && !(lower.contains("no space left") && text.contains(&root)) {
        e.context(format!("no space left on device for the archive {root}"))
    } else {
        e
    }
}

fn run_inner(archive: &Archive, opts: &ImportOptions) -> Result<ImportSummary> {
    let started = Instant::now();
    // Canonical paths: the archive records where mail came from, and a later
    // import must recognise the same files however they are reached (from
    // another working directory, through `..` or a symbolic link). A
    // mistyped path fails here, before an archive is created for it.
    let paths = sources::check_sources(&opts.paths)?;
    archive.create_dirs()?;
    let _lock = archive.lock_for_writing(opts.wait)?;
    let store = Store::open_rw(archive)?;
    let index = index::open_or_create(&archive.index_dir())?;
    let fields = index::fields_of(&index)?;
    record_index_version(&store, &fields)?;
    let mut writer = index::writer(&index)?;

    let mut summary = ImportSummary {
        recovered: recover(archive, &store, &mut writer, &fields)?,
        ..Default::default()
    };
    // An erasure a kill interrupted is finished before anything is added,
    // and what a repack left is removed before a pack or dictionary is used.
    erase::finish(archive, &store, &mut writer)?;
    crate::repack::cleanup(&archive.originals_dir(), &store)?;

    let log_id = {
        let paths: Vec<String> = opts
            .paths
            .iter()
            .map(|p| crate::output::path_text(p))
            .collect();
        store.conn.execute(
            "INSERT INTO import_log (started, status, paths) VALUES (?1, 'running', ?2)",
            params![chrono::Utc::now().timestamp(), paths.join("\n")],
        )?;
        store.conn.last_insert_rowid()
    };

    let known = KnownFiles::open(archive)?;
    // The planner adds each file's size to the length as the walk finds it.
    let progress = if opts.progress {
        let pb = indicatif::ProgressBar::new(0);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} import {bar:30} {bytes}/{total_bytes} {msg} ({eta})",
        ) {
            pb.set_style(style);
        }
        pb.enable_steady_tick(Duration::from_millis(200));
        pb
    } else {
        indicatif::ProgressBar::hidden()
    };

    let jobs = if opts.jobs == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    } else {
        opts.jobs
    };
    let dictionaries = Arc::new(DictionaryTrainer::new(
        &archive.originals_dir(),
        dictionary_samples(),
    )?);
    let (job_tx, job_rx) = bounded::<Vec<Job>>(JOB_QUEUE / JOB_BATCH);
    // Room for parsed messages while the writer waits for the store's part
    // of a batch commit (the index's part does not hold it up).
    let (item_tx, item_rx) = bounded::<Vec<Item>>(ITEM_QUEUE / JOB_BATCH);

    let result = std::thread::scope(|scope| -> Result<()> {
        let planner_items = item_tx.clone();
        let planner_progress = progress.clone();
        let paths = &paths;
        let planner = std::thread::Builder::new()
            .name("kura-plan".into())
            .spawn_scoped(scope, move || {
                plan(paths, known, job_tx, planner_items, planner_progress)
            })
            .context("cannot start the import planner thread")?;
        for _ in 0..jobs {
            let rx = job_rx.clone();
            let tx = item_tx.clone();
            let dicts = dictionaries.clone();
            std::thread::Builder::new()
                .name("kura-parse".into())
                .spawn_scoped(scope, move || worker(rx, tx, fields, dicts))
                .context("cannot start a parse thread")?;
        }
        drop(job_rx);
        drop(item_tx);
        let mut w = Writer {
            scope,
            store: &store,
            writer: Some(&mut writer),
            committing: None,
            waiting_docs: Vec::new(),
            pack: open_pack(archive, &store)?,
            batch: store.meta_i64("batch")? + 1,
            in_batch: 0,
            opts,
            summary: &mut summary,
            progress: &progress,
            written: 0,
            abort_at: CommitStep::from_env(),
            first_commit: true,
            options_recorded: false,
            moved: Vec::new(),
            rejected_files: store.rejected_files()?,
            rereading: HashMap::new(),
            erased: Erased::load(&store)?,
        };
        let written = w.run(item_rx, &fields);
        // Whatever happened, let the planner finish (it stops when the channel closes).
        let planned = planner
            .join()
            .map_err(|_| anyhow::anyhow!("the import planner thread panicked"))?;
        written?;
        let Planned {
            unchanged,
            incomplete,
            ignored,
        } = planned?;
        w.summary.incomplete = incomplete;
        w.summary.ignored_files = ignored.len() as u64;
        w.summary.ignored = ignored;
        w.summary.unchanged += unchanged;
        w.summary.seen += unchanged;
        Ok(())
    });
    if let Some(e) = dictionaries.error() {
        summary.errors += 1;
        progress.suspend(|| eprintln!("kura: error: {e}"));
    }
    // Merge what the import added, so the index stays compact and its
    // garbage collected (seconds for a large import: the bar stays). A failed
    // import leaves its segments to the next one.
    let merged = if result.is_ok() {
        progress.set_message("(merging the index)");
        index::finish(writer).map(|_| ())
    } else {
        Ok(())
    };
    progress.finish_and_clear();
    // The log's times and the summary's are the whole import's, merges
    // included; the data is in before them, so a failed merge is still an
    // import `ok`.
    summary.seconds = started.elapsed().as_secs_f64();
    let status = if result.is_ok() { "ok" } else { "failed" };
    let logged = store.conn.execute(
        "UPDATE import_log SET finished = ?1, seen = ?2, new = ?3, duplicates = ?4, conflicts = ?5,
            rejected = ?6, unchanged = ?7, status = ?8, incomplete = ?9, erased = ?10
            WHERE id = ?11",
        params![
            chrono::Utc::now().timestamp(),
            summary.seen as i64,
            summary.new as i64,
            summary.duplicates as i64,
            summary.conflicts as i64,
            summary.rejected as i64,
            summary.unchanged as i64,
            status,
            summary.incomplete as i64,
            summary.erased as i64,
            log_id
        ],
    );
    // The import's own error comes first (a full disk fails all three).
    result?;
    merged.context("the index merge failed (the archive is consistent; run `kura gc` later)")?;
    logged.context("cannot record the import in the log")?;
    tighten_permissions(&archive.root)?;
    Ok(summary)
}

/// Messages the originals' zstd dictionary is trained on:
/// [`pack::DICT_SAMPLES`], or `KURA_TEST_DICT_SAMPLES` (a testing aid, so
/// that small test mailboxes get a dictionary too).
fn dictionary_samples() -> usize {
    std::env::var("KURA_TEST_DICT_SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(pack::DICT_SAMPLES)
}

/// Refuses an index of a version this build does not read, then records
/// the version of the index as opened: a new archive's, and that of an
/// index created afresh where the old one had gone (a version 2 archive's
/// new index is version 3, which builds that know only version 2 must
/// refuse rather than write quoted text into `body`).
pub fn record_index_version(store: &Store, fields: &index::Fields) -> Result<()> {
    let recorded = store.meta("index_version")?;
    index::check_version(recorded.as_deref())?;
    let version = index::version_of(fields).to_string();
    if recorded.as_deref() != Some(version.as_str()) {
        store.set_meta("index_version", &version)?;
    }
    Ok(())
}

fn open_pack(archive: &Archive, store: &Store) -> Result<PackWriter> {
    let pack = store.meta_i64("pack")?.max(1) as u32;
    let len = store.meta_i64("pack_len")? as u64;
    PackWriter::open(&archive.originals_dir(), pack, len)
}

/// Re-indexes the messages of store batches the index has not committed.
/// Returns how many were re-indexed.
pub fn recover(
    archive: &Archive,
    store: &Store,
    writer: &mut IndexWriter,
    fields: &Fields,
) -> Result<u64> {
    let store_batch = store.meta_i64("batch")?;
    let index_batch = index::committed_batch(writer.index())?;
    if index_batch >= store_batch {
        return Ok(0);
    }
    let mut reader = PackReader::new(&archive.originals_dir());
    let mut q = store.conn.prepare(
        "SELECT id, pack, pack_offset, pack_len, size, date, raw_hash FROM messages WHERE batch > ?1 ORDER BY id",
    )?;
    let rows: Vec<(i64, PackRef, usize, i64, Vec<u8>)> = q
        .query_map([index_batch], |r| {
            Ok((
                r.get(0)?,
                crate::store::pack_ref(r, 1)?,
                r.get::<_, i64>(4)? as usize,
                r.get(5)?,
                r.get(6)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    // The index's commits are atomic, so these rows have no document yet;
    // one delete for all of them makes sure before they are added (deletes
    // apply only to documents added before them).
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    index::delete_ids(writer, &ids)?;
    for (id, r, size, date, hash) in &rows {
        let raw = reader.read(*r, *size, hash)?;
        let mut parsed = parse::parse_message(&raw, None)
            .map_err(|e| anyhow::anyhow!("stored message {id} no longer parses: {}", e.reason))?;
        // The date the store recorded (it may have come from the file's time).
        parsed.date = *date;
        let mut doc = index::document(fields, &parsed);
        index::set_id(&mut doc, fields, *id);
        writer.add_document(doc)?;
    }
    index::commit(writer, store_batch)?;
    Ok(rows.len() as u64)
}

/// What the planner counted itself.
struct Planned {
    /// Messages skipped as unchanged.
    unchanged: u64,
    /// See [`ImportSummary::incomplete`].
    incomplete: u64,
    /// The paths the walk passed over, with the reason.
    ignored: Vec<(PathBuf, String)>,
}

/// How long after its last change an mbox that ends inside a message is
/// taken to be complete (see [`ImportSummary::incomplete`]). A delivery
/// appends a message in well under a second; a copy in progress keeps
/// changing the file.
pub const SETTLE_SECONDS: i64 = 60;

/// Whether `file` changed less than [`SETTLE_SECONDS`] ago (or, by the
/// clock, in the future).
fn still_being_written(file: &SourceFile) -> bool {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    now - file.mtime_ns.div_euclid(1_000_000_000) < SETTLE_SECONDS
}

/// The planner: walks the sources (see [`sources::discover_each`]), decides
/// per file whether to skip, resume or read it, and feeds the workers while
/// the walk goes on.
fn plan(
    paths: &[PathBuf],
    known: KnownFiles,
    jobs: Sender<Vec<Job>>,
    items: Sender<Vec<Item>>,
    progress: indicatif::ProgressBar,
) -> Result<Planned> {
    let mut planner = Planner {
        seq: 0,
        unchanged: 0,
        incomplete: 0,
        known,
        moved_away: HashSet::new(),
        lossy_names: LossyNames::default(),
        failed: None,
        jobs,
        batch: Vec::with_capacity(JOB_BATCH),
        batch_bytes: 0,
        items,
        progress,
        prefetcher: sources::Prefetcher::new(MAX_HELD_FILES),
    };
    let ignored = sources::discover_each(paths, |file| planner.file(file))?;
    // A writer that stopped listening has its own error to report.
    let _ = planner.flush();
    if let Some(e) = planner.failed {
        return Err(e);
    }
    Ok(Planned {
        unchanged: planner.unchanged,
        incomplete: planner.incomplete,
        ignored,
    })
}

struct Planner {
    /// Sequence number of the last job or item sent.
    seq: u64,
    unchanged: u64,
    /// See [`ImportSummary::incomplete`].
    incomplete: u64,
    known: KnownFiles,
    /// The known files found renamed so far (see [`Planner::moved_from`]).
    moved_away: HashSet<PathBuf>,
    /// Folders listed by [`Planner::recorded_lossily`].
    lossy_names: LossyNames,
    /// Why the walk was stopped (the archive's list of files could not be read).
    failed: Option<anyhow::Error>,
    jobs: Sender<Vec<Job>>,
    /// Jobs not sent yet (see [`JOB_BATCH`]).
    batch: Vec<Job>,
    batch_bytes: usize,
    items: Sender<Vec<Item>>,
    progress: indicatif::ProgressBar,
    prefetcher: sources::Prefetcher,
}

/// The names in folders, by their lossy text (U+FFFD for each byte that is
/// not UTF-8): which paths an earlier version of kura took for one.
#[derive(Default)]
struct LossyNames {
    /// Folder: its entries' names, by their lossy text (an empty map for a
    /// folder that cannot be listed).
    folders: HashMap<PathBuf, HashMap<String, Vec<std::ffi::OsString>>>,
}

impl LossyNames {
    /// Whether `path` is the one path on disk that reads as its lossy text:
    /// no name that is not UTF-8 along it has a neighbour of the same text
    /// that leads to another such path. False when a folder on the way
    /// cannot be listed (the answer is not known).
    fn only_path_reading_as(&mut self, path: &Path) -> bool {
        let mut found = vec![PathBuf::new()];
        for part in path.components() {
            let name = part.as_os_str();
            if name.to_str().is_some() {
                for p in &mut found {
                    p.push(name);
                }
                continue;
            }
            let text = name.to_string_lossy();
            let mut next = Vec::new();
            for dir in &found {
                let names = self.folders.entry(dir.clone()).or_insert_with(|| {
                    let mut names: HashMap<String, Vec<std::ffi::OsString>> = HashMap::new();
                    let listed = if dir.as_os_str().is_empty() {
                        Path::new(".")
                    } else {
                        dir
                    };
                    for e in std::fs::read_dir(listed).into_iter().flatten().flatten() {
                        let name = e.file_name();
                        names
                            .entry(name.to_string_lossy().into_owned())
                            .or_default()
                            .push(name);
                    }
                    names
                });
                for same in names.get(&*text).into_iter().flatten() {
                    next.push(dir.join(same));
                }
            }
            found = next;
        }
        found.retain(|p| std::fs::symlink_metadata(p).is_ok());
        found == [path]
    }
}

impl Planner {
    fn next(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// The known Maildir file that `file` is, renamed: same folder, same
    /// unique name (what comes before `:2,` and the flags), same size and
    /// modification time (a rename keeps them), and gone from its old place.
    /// A path that is not UTF-8 is also looked for as the lossy text an
    /// earlier version recorded it by (see [`Planner::recorded_lossily`]):
    /// a file renamed since that version's last import.
    fn moved_from(&mut self, file: &SourceFile) -> Result<Option<(PathBuf, KnownFile)>> {
        let Some((maildir, unique)) = maildir_name(&file.path) else {
            return Ok(None);
        };
        let mut prefixes: Vec<PathBuf> = ["cur", "new"]
            .iter()
            .map(|folder| maildir.join(folder).join(unique))
            .collect();
        let lossy: Vec<PathBuf> = prefixes
            .iter()
            .filter_map(|p| match p.to_string_lossy() {
                std::borrow::Cow::Owned(text) => Some(text.into()),
                std::borrow::Cow::Borrowed(_) => None,
            })
            .collect();
        prefixes.extend(lossy);
        for prefix in prefixes {
            for (old, was) in self.known.with_maildir_name(&prefix)? {
                // The same unique name: nothing or the `:2,` info after it.
                let same_name = old
                    .as_os_str()
                    .as_bytes()
                    .strip_prefix(prefix.as_os_str().as_bytes())
                    .is_some_and(|rest| rest.is_empty() || maildir_info_at(rest) == Some(0));
                if same_name
                    && was.size == file.size
                    && was.mtime_ns == file.mtime_ns
                    && !self.moved_away.contains(&old)
                    && std::fs::symlink_metadata(&old)
                        .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
                {
                    self.moved_away.insert(old.clone());
                    return Ok(Some((old, was)));
                }
            }
        }
        Ok(None)
    }

    /// The record of `file`, which the archive does not know by its path,
    /// under another path: the one an earlier version recorded it by
    /// ([`Planner::recorded_lossily`]), or, for a Maildir file a mail client
    /// renamed, its old place ([`Planner::moved_from`]).
    fn recorded_elsewhere(&mut self, file: &SourceFile) -> Result<Option<(PathBuf, KnownFile)>> {
        if let Some(found) = self.recorded_lossily(file)? {
            return Ok(Some(found));
        }
        if file.kind == SourceKind::MaildirFile {
            return self.moved_from(file);
        }
        Ok(None)
    }

    /// The record an earlier version of kura made of `file`, whose path is
    /// not UTF-8, under the path's lossy text (U+FFFD for each bad byte; see
    /// [`SourcePath`]), if the file has not changed since, no file has that
    /// very name, no other file claimed the record and no other file reads
    /// as the same text (that version recorded such files as one: the
    /// places of both under that name, which are not all this file's): it
    /// becomes the file's, by the path's own bytes.
    fn recorded_lossily(&mut self, file: &SourceFile) -> Result<Option<(PathBuf, KnownFile)>> {
        let std::borrow::Cow::Owned(lossy) = file.path.to_string_lossy() else {
            return Ok(None);
        };
        let lossy = PathBuf::from(lossy);
        let Some(was) = self.known.get(&lossy)? else {
            return Ok(None);
        };
        if was.size == file.size
            && was.mtime_ns == file.mtime_ns
            && !self.moved_away.contains(&lossy)
            && std::fs::symlink_metadata(&lossy)
                .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
            && self.lossy_names.only_path_reading_as(&file.path)
        {
            self.moved_away.insert(lossy.clone());
            return Ok(Some((lossy, was)));
        }
        Ok(None)
    }

    /// Queues a job; false once the writer has stopped listening.
    fn job(&mut self, job: Job) -> bool {
        if let Job::Mbox { bytes, .. } = &job {
            self.batch_bytes += bytes.len();
        }
        self.batch.push(job);
        if self.batch.len() >= JOB_BATCH || self.batch_bytes >= JOB_BATCH_BYTES {
            return self.flush();
        }
        true
    }

    /// Sends the queued jobs; false once the writer has stopped listening.
    fn flush(&mut self) -> bool {
        if self.batch.is_empty() {
            return true;
        }
        self.batch_bytes = 0;
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(JOB_BATCH));
        self.jobs.send(batch).is_ok()
    }

    /// Sends an item of the planner's own (the writer puts items back in
    /// sequence order); false once the writer has stopped listening.
    fn item(&self, item: Item) -> bool {
        self.items.send(vec![item]).is_ok()
    }

    /// Plans one file; false once the writer has stopped listening or the
    /// walk must stop ([`Planner::failed`]).
    fn file(&mut self, file: SourceFile) -> bool {
        match self.plan_file(file) {
            Ok(go_on) => go_on,
            Err(e) => {
                self.failed = Some(e);
                false
            }
        }
    }

    fn plan_file(&mut self, file: SourceFile) -> Result<bool> {
        self.progress.inc_length(file.size);
        let prior = self
            .known
            .get(&file.path)
            .context("cannot read the archive's list of imported files")?;
        if prior.is_none()
            && let Some((from, was)) = self.recorded_elsewhere(&file)?
        {
            self.unchanged += was.messages;
            let seq = self.next();
            return Ok(self.item(Item::Moved {
                seq,
                from,
                to: file.path,
            }));
        }
        let prior = prior.as_ref();
        // A file read before as one message that is now read as an mbox (an
        // mbox in a Maildir's cur/ or new/, which earlier versions read as
        // one message), or the other way round, is read again as it is now
        // read, even if it did not change: else the messages after its
        // first would stay unread, the file counted unchanged.
        let same = prior.is_some_and(|k| {
            k.size == file.size
                && k.mtime_ns == file.mtime_ns
                && k.mbox == matches!(file.kind, SourceKind::Mbox { .. })
        });
        match file.kind {
            SourceKind::MaildirFile | SourceKind::Eml => {
                if same {
                    self.unchanged += prior.map_or(1, |k| k.messages);
                    return Ok(true);
                }
                let done = FileRecord {
                    path: file.path.clone(),
                    kind: kind_name(file.kind),
                    size: file.size,
                    mtime_ns: file.mtime_ns,
                    messages: 1,
                    resume: 0,
                    head_hash: None,
                };
                let s = self.next();
                let opened = self.prefetcher.open(&file.path);
                if !self.job(Job::File {
                    seq: s,
                    file,
                    done,
                    opened,
                }) {
                    return Ok(false);
                }
            }
            SourceKind::Mbox { gzip } => {
                if same {
                    self.unchanged += prior.map_or(0, |k| k.messages);
                    return Ok(true);
                }
                // Resume a plain mbox that only grew; re-read anything else.
                let mut start = 0;
                let mut carried = 0;
                if let Some(k) = prior
                    && !gzip
                    && file.size > k.size
                    && k.resume > 0
                    && k.head_hash.is_some()
                    && mbox_head_hash(&file.path, k.resume).ok() == k.head_hash
                    && mbox_message_starts_at(&file.path, k.resume)
                {
                    start = k.resume;
                    carried = k.messages;
                    self.unchanged += k.messages;
                } else if prior.is_some() {
                    let s = self.next();
                    if !self.item(Item::Reread {
                        seq: s,
                        path: file.path.clone(),
                    }) {
                        return Ok(false);
                    }
                }
                let path: Arc<Path> = file.path.as_path().into();
                let mtime = file.mtime_ns.div_euclid(1_000_000_000);
                let mut count = 0u64;
                let reader = MboxReader::open(&file.path, gzip, start);
                let mut reader = match reader {
                    Ok(r) => r,
                    Err(e) => {
                        let s = self.next();
                        return Ok(self.item(Item::Error {
                            seq: s,
                            message: format!("{e:#}"),
                        }));
                    }
                };
                // Each message is sent once the next one has begun (or the
                // input ended): the last one may still be being written.
                let mut held: Option<sources::MboxMessage> = None;
                let mut send = |planner: &mut Self, m: sources::MboxMessage| {
                    count += 1;
                    let seq = planner.next();
                    planner.job(Job::Mbox {
                        seq,
                        path: path.clone(),
                        offset: m.offset,
                        filed: m.envelope_date.unwrap_or(mtime),
                        bytes: m.bytes,
                    })
                };
                for m in reader.by_ref() {
                    match m {
                        Ok(m) => {
                            if let Some(prev) = held.replace(m)
                                && !send(self, prev)
                            {
                                return Ok(false);
                            }
                        }
                        Err(e) => {
                            if let Some(prev) = held.take()
                                && !send(self, prev)
                            {
                                return Ok(false);
                            }
                            let s = self.next();
                            return Ok(self.item(Item::Error {
                                seq: s,
                                message: format!("{}: {e:#}", crate::output::path_text(&file.path)),
                            }));
                        }
                    }
                }
                let mut resume = reader.position();
                let mut deferred = false;
                if let Some(last) = held {
                    if !gzip && reader.ended_inside_a_message() && still_being_written(&file) {
                        // Left for the next import, which resumes here.
                        resume = last.offset;
                        deferred = true;
                        self.incomplete += 1;
                    } else if !send(self, last) {
                        return Ok(false);
                    }
                }
                if deferred && resume == 0 {
                    // Nothing taken from the file: the next import reads it anew.
                    return Ok(true);
                }
                let head_hash = if gzip {
                    None
                } else {
                    mbox_head_hash(&file.path, resume).ok()
                };
                let s = self.next();
                let record = FileRecord {
                    path: file.path.clone(),
                    kind: "mbox",
                    // The size read: a message left for the next import
                    // makes the file look changed to it, even if it is not.
                    size: if deferred { resume } else { file.size },
                    mtime_ns: file.mtime_ns,
                    messages: carried + count,
                    resume,
                    head_hash,
                };
                if !self.item(Item::FileDone { seq: s, record }) {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
}

/// A parse worker.
fn worker(
    jobs: Receiver<Vec<Job>>,
    items: Sender<Vec<Item>>,
    fields: Fields,
    dictionaries: Arc<DictionaryTrainer>,
) {
    index::defer_to_indexing();
    let mut zstd = match pack::Compressor::with_dictionaries(dictionaries) {
        Ok(c) => c,
        Err(e) => {
            let _ = items.send(vec![Item::Error {
                seq: 0,
                message: format!("{e:#}"),
            }]);
            return;
        }
    };
    for batch in jobs {
        let parsed = batch
            .into_iter()
            .map(|job| parse_job(&mut zstd, job, &fields))
            .collect();
        if items.send(parsed).is_err() {
            return;
        }
    }
}

/// Reads (for a file) and parses one job's message.
fn parse_job(zstd: &mut pack::Compressor, job: Job, fields: &Fields) -> Item {
    match job {
        Job::File {
            seq,
            file,
            done,
            opened,
        } => {
            match sources::read_message_file(&file.path, file.size, opened, parse::MAX_MESSAGE_SIZE)
            {
                Ok(bytes) => {
                    let mtime = file.mtime_ns.div_euclid(1_000_000_000);
                    let source: Arc<Path> = file.path.as_path().into();
                    // An Apple Mail `.emlx` holds the message between a line
                    // with its length and a property list: the message is
                    // what is imported and kept.
                    let message = match file.kind {
                        SourceKind::Eml if sources::is_emlx(&file.path) => {
                            sources::emlx_message(&bytes).unwrap_or(&bytes)
                        }
                        _ => &bytes,
                    };
                    let mut item = parse_one(
                        zstd,
                        seq,
                        source,
                        kind_name(file.kind),
                        None,
                        message,
                        Some(mtime),
                        fields,
                    );
                    if let Item::Message(p) = &mut item {
                        p.done = Some(done);
                    }
                    item
                }
                Err(e) => Item::Error {
                    seq,
                    message: format!("{e:#}"),
                },
            }
        }
        Job::Mbox {
            seq,
            path,
            offset,
            filed,
            bytes,
        } => parse_one(
            zstd,
            seq,
            path,
            "mbox",
            Some(offset),
            &bytes,
            Some(filed),
            fields,
        ),
    }
}

#[allow(clippy::too_many_arguments)]
fn parse_one(
    zstd: &mut pack::Compressor,
    seq: u64,
    source: Arc<Path>,
    kind: &'static str,
    mbox_offset: Option<u64>,
    bytes: &[u8],
    file_time: Option<i64>,
    fields: &Fields,
) -> Item {
    let compressed = match zstd.compress(bytes) {
        Ok(c) => c,
        Err(e) => {
            return Item::Error {
                seq,
                message: format!("{}: {e:#}", crate::output::path_text(&source)),
            };
        }
    };
    let result = parse::parse_message(bytes, file_time).map(|m| {
        let doc = index::document(fields, &m);
        (m, doc)
    });
    Item::Message(Box::new(Parsed {
        seq,
        source,
        kind,
        mbox_offset,
        compressed,
        result,
        done: None,
    }))
}

/// Index documents that may wait, at most, for an index commit in flight
/// (see [`Writer::commit_batch`]); each holds a message's text. Writing
/// out a batch of 50,000 messages takes the indexing thread most of a
/// second, in which the other core parses and stores several thousand.
const MAX_WAITING_DOCS: usize = 8192;

/// The single writer.
struct Writer<'s, 'a> {
    /// The import's thread scope, for index commits.
    scope: &'s std::thread::Scope<'s, 'a>,
    store: &'a Store,
    /// The index writer; `None` while a commit has it (`committing`).
    writer: Option<&'a mut IndexWriter>,
    /// The index commit in flight, if any.
    committing: Option<IndexCommit<'s, 'a>>,
    /// Documents of messages stored while the index commits: added once it
    /// is done.
    waiting_docs: Vec<TantivyDocument>,
    pack: PackWriter,
    batch: i64,
    in_batch: usize,
    opts: &'a ImportOptions,
    summary: &'a mut ImportSummary,
    progress: &'a indicatif::ProgressBar,
    written: u64,
    /// Testing aid: the step of the first batch commit to abort after.
    abort_at: Option<CommitStep>,
    /// No batch was committed yet by this run.
    first_commit: bool,
    /// This run's threading options are recorded as the archive's (when
    /// it stores its first message: an import that stores nothing leaves
    /// the archive's as they were).
    options_recorded: bool,
    /// Maildir files renamed since the last commit: (old path, new path).
    moved: Vec<(PathBuf, PathBuf)>,
    /// Files (not mbox messages) recorded as rejects: one that imports now
    /// is no longer listed.
    rejected_files: std::collections::HashSet<PathBuf>,
    /// Mbox files being re-read (see [`Item::Reread`]).
    rereading: HashMap<PathBuf, Reread>,
    /// The messages `kura erase` erased: met again, they are skipped.
    erased: Erased,
}

/// What a re-read of an mbox has found again so far of what earlier imports
/// recorded from it. A rewritten mbox (a mail client expunged or flagged
/// messages, or only its modification time changed) holds mostly the same
/// messages, some at other offsets: they are the copies recorded before,
/// counted unchanged, not new duplicates or conflicts. Only copies recorded
/// before the read (in an earlier batch) are found again, so two new copies
/// of a message are two duplicates.
///
/// A message's recorded copies are read from the store when the first of
/// its copies is met, and looked up in memory from then on, each in constant
/// time: reading and scanning them for every copy met was quadratic in the
/// copies of one Message-ID. A message is forgotten once all its copies are
/// found again but for its row id (in `done`): the memory a re-read holds is
/// that of the messages met, not of the copies.
struct Reread {
    /// Copies recorded in this batch and after are this read's.
    batch: i64,
    /// Offsets of the rejects met again (see [`Store::move_reject`]).
    rejects_met: HashSet<u64>,
    /// Messages met whose recorded copies are not all found again yet.
    recorded: HashMap<i64, Recorded>,
    /// Messages met whose recorded copies are all found again (or that have
    /// none in this file).
    done: HashSet<i64>,
    /// Extra copies recorded from the file before this read and not found
    /// again yet: those left when the file is done are no longer in it.
    stale: HashSet<i64>,
}

/// The copies of one message recorded from a re-read mbox, primary first,
/// then by offset; a slot is emptied when its copy is found again.
struct Recorded {
    copies: Vec<Option<RecordedCopy>>,
    /// Copies left.
    left: usize,
    /// Every slot before this one is empty.
    first: usize,
    /// The slot of the copy at an offset.
    at: HashMap<u64, usize>,
    /// The slots of the copies with the same bytes (a raw hash).
    with_bytes: HashMap<Vec<u8>, Slots>,
}

/// Some slots of [`Recorded::copies`], in order, and the first that may be
/// full.
#[derive(Default)]
struct Slots {
    slots: Vec<usize>,
    first: usize,
}

impl Slots {
    /// The first slot whose copy is not found again yet.
    fn first_left(&mut self, copies: &[Option<RecordedCopy>]) -> Option<usize> {
        while let Some(&slot) = self.slots.get(self.first) {
            if copies[slot].is_some() {
                return Some(slot);
            }
            self.first += 1;
        }
        None
    }
}

impl Recorded {
    fn new(copies: Vec<RecordedCopy>) -> Recorded {
        let mut recorded = Recorded {
            left: copies.len(),
            first: 0,
            at: HashMap::new(),
            with_bytes: HashMap::new(),
            copies: Vec::with_capacity(copies.len()),
        };
        for (slot, copy) in copies.into_iter().enumerate() {
            if let Some(offset) = copy.offset {
                recorded.at.insert(offset, slot);
            }
            let with_bytes = recorded.with_bytes.entry(copy.raw_hash.clone());
            with_bytes.or_default().slots.push(slot);
            recorded.copies.push(Some(copy));
        }
        recorded
    }

    /// The copy recorded at `offset` if it fits, else the first that does
    /// (see [`Reread::find_again`]), taken out.
    fn take(&mut self, offset: u64, same_content: bool, raw_hash: &[u8]) -> Option<RecordedCopy> {
        let copies = &self.copies;
        let fits = |slot: &usize| {
            copies[*slot]
                .as_ref()
                .is_some_and(|c| same_content || c.raw_hash[..] == raw_hash[..])
        };
        let slot = match self.at.get(&offset).copied().filter(fits) {
            Some(slot) => Some(slot),
            // With the message's content the first copy left fits.
            None if same_content => {
                while copies.get(self.first).is_some_and(Option::is_none) {
                    self.first += 1;
                }
                (self.first < copies.len()).then_some(self.first)
            }
            None => self
                .with_bytes
                .get_mut(raw_hash)
                .and_then(|s| s.first_left(copies)),
        };
        let copy = self.copies[slot?].take()?;
        self.left -= 1;
        Some(copy)
    }
}

impl Reread {
    /// Starts the re-read of `source`, whose messages are handled from
    /// `batch` on.
    fn begin(store: &Store, source: &Path, batch: i64) -> Result<Reread> {
        Ok(Reread {
            batch,
            rejects_met: HashSet::new(),
            recorded: HashMap::new(),
            done: HashSet::new(),
            stale: store.extra_copies_from(source)?.into_iter().collect(),
        })
    }

    /// Whether this copy of `row` (at `offset`, bytes hashing to `raw_hash`)
    /// is one recorded from the file before: the one at this offset, else
    /// one that moved here (an extra copy's offset is updated; the place a
    /// message was first imported from stays as it was recorded). With the
    /// message's own content (`same_content`), any copy of it is this one,
    /// whatever its bytes (a client may have rewritten its `Status:` header);
    /// a conflicting copy only if it has these very bytes.
    fn find_again(
        &mut self,
        store: &Store,
        row: i64,
        place: &Place<'_>,
        offset: u64,
        same_content: bool,
        raw_hash: &[u8; 32],
    ) -> Result<bool> {
        if self.done.contains(&row) {
            return Ok(false);
        }
        let recorded = match self.recorded.entry(row) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(Recorded::new(
                store.copies_in(row, place.source, self.batch)?,
            )),
        };
        let copy = recorded.take(offset, same_content, raw_hash);
        if recorded.left == 0 {
            self.recorded.remove(&row);
            self.done.insert(row);
        }
        let Some(copy) = copy else {
            return Ok(false);
        };
        if copy.status != 0 && copy.offset != Some(offset) {
            store.move_location(copy.id, offset)?;
        }
        self.stale.remove(&copy.id);
        Ok(true)
    }
}

/// The steps of a batch commit, in order (for `KURA_TEST_ABORT_AT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CommitStep {
    /// Originals appended and synced; the store does not know them yet.
    PackSynced,
    /// The store transaction committed; the index does not know the batch yet.
    StoreCommitted,
    /// The index committed the batch too.
    IndexCommitted,
}

impl CommitStep {
    /// Reads `KURA_TEST_ABORT_AT` (`pack-synced`, `store-committed` or
    /// `index-committed`): a testing aid that aborts the process right after
    /// that step of the first batch commit, as `kill -9` would.
    fn from_env() -> Option<CommitStep> {
        match std::env::var("KURA_TEST_ABORT_AT").ok()?.as_str() {
            "pack-synced" => Some(CommitStep::PackSynced),
            "store-committed" => Some(CommitStep::StoreCommitted),
            "index-committed" => Some(CommitStep::IndexCommitted),
            _ => None,
        }
    }
}

/// An index commit of a batch the store has committed, running on a thread
/// of its own (which gives the writer back when it is done).
struct IndexCommit<'s, 'a> {
    thread: std::thread::ScopedJoinHandle<'s, (&'a mut IndexWriter, Result<()>)>,
    /// Messages of the batch (for the error message).
    messages: usize,
    /// A test asked for a crash right after this commit.
    abort_after: bool,
}

impl<'s, 'a> Writer<'s, 'a> {
    /// Whether a test asked for a crash right after `step` of this batch
    /// commit (then the process aborts: no unwinding, no cleanup).
    fn aborts_after(&self, step: CommitStep) -> bool {
        self.first_commit && self.abort_at == Some(step)
    }

    fn run(&mut self, items: Receiver<Vec<Item>>, fields: &Fields) -> Result<()> {
        let mut pending: BTreeMap<u64, Item> = BTreeMap::new();
        let mut next = 1u64;
        self.store.begin()?;
        for item in items.into_iter().flatten() {
            pending.insert(item.seq(), item);
            while let Some(item) = pending.remove(&next) {
                next += 1;
                self.handle(item, fields)?;
            }
        }
        if !pending.is_empty() {
            bail!(
                "internal error: {} import items arrived out of sequence",
                pending.len()
            );
        }
        self.commit_batch()?;
        self.finish_index_commit()
    }

    /// Records a source file as imported (skipped while unchanged).
    fn record_file(&self, record: &FileRecord) -> Result<()> {
        self.store
            .conn
            .prepare_cached(
                "INSERT INTO files (path, kind, size, mtime_ns, messages, resume, head_hash)
                 VALUES (?1,?2,?3,?4,?5,?6,?7)
                 ON CONFLICT(path) DO UPDATE SET kind=excluded.kind, size=excluded.size,
                    mtime_ns=excluded.mtime_ns, messages=excluded.messages, resume=excluded.resume,
                    head_hash=excluded.head_hash",
            )?
            .execute(params![
                SourcePath(&record.path),
                record.kind,
                record.size as i64,
                record.mtime_ns,
                record.messages as i64,
                record.resume as i64,
                record.head_hash
            ])?;
        Ok(())
    }

    fn handle(&mut self, item: Item, fields: &Fields) -> Result<()> {
        match item {
            Item::Message(mut p) => {
                self.progress.inc(p.compressed.raw_len as u64);
                let done = p.done.take();
                self.message(*p, fields)?;
                if let Some(record) = done {
                    self.record_file(&record)?;
                }
                self.written += 1;
                if self.opts.abort_after.is_some_and(|n| self.written >= n) {
                    // Simulates `kill -9` at this point (tests of crash safety).
                    std::process::abort();
                }
                if self.in_batch >= self.opts.batch_size {
                    self.commit_batch()?;
                    self.store.begin()?;
                }
            }
            Item::FileDone { record, .. } => {
                if let Some(reread) = self.rereading.remove(&record.path) {
                    for id in reread.stale {
                        self.store.forget_location(id)?;
                    }
                }
                self.record_file(&record)?;
            }
            Item::Error { message, .. } => {
                self.summary.errors += 1;
                // It names a file, whose name may hold control characters.
                let message = crate::output::sanitize(&message);
                self.progress
                    .suspend(|| eprintln!("kura: error: {message}"));
            }
            Item::Moved { from, to, .. } => self.moved.push((from, to)),
            Item::Reread { path, .. } => {
                // The copies recorded from this mbox are found again as it is
                // re-read ([`Reread`]); the extra ones it no longer holds are
                // forgotten once it is done. The place a message was first
                // imported from (status 0) is kept even if the rewritten file
                // no longer holds it: it documents where the stored original
                // came from.
                if self.rejected_files.remove(&path) {
                    // A file rejected as one message before, read as an mbox
                    // now: its messages are imported or rejected one by one.
                    self.store.forget_reject(&Place {
                        source: &path,
                        kind: "mbox",
                        mbox_offset: None,
                    })?;
                }
                let reread = Reread::begin(self.store, &path, self.batch)?;
                self.rereading.insert(path, reread);
            }
        }
        Ok(())
    }

    fn message(&mut self, p: Parsed, fields: &Fields) -> Result<()> {
        self.summary.seen += 1;
        let place = Place {
            source: &p.source,
            kind: p.kind,
            mbox_offset: p.mbox_offset,
        };
        let c = &p.compressed;
        match p.result {
            Err(reject) => {
                let mut known = self.store.reject_known(&place, &c.hash)?;
                if let (Some(offset), Some(reread)) =
                    (p.mbox_offset, self.rereading.get_mut(&*p.source))
                {
                    // In a rewritten mbox, an unreadable message rejected
                    // before may have moved: it stays one reject.
                    let met = &mut reread.rejects_met;
                    known = known || self.store.move_reject(&place, &c.hash, met)?;
                    met.insert(offset);
                }
                if known {
                    self.summary.unchanged += 1;
                    return Ok(());
                }
                let r = self.pack.append(&c.frame)?;
                self.store
                    .add_reject(&place, &reject.reason, c.raw_len, &c.hash, r, self.batch)?;
                self.summary.rejected += 1;
            }
            Ok((m, mut doc)) => {
                if p.mbox_offset.is_none() && self.rejected_files.remove(&*p.source) {
                    // A file rejected before imports now (fixed, or a newer kura).
                    self.store.forget_reject(&place)?;
                }
                if self.erased.contains(&m) {
                    self.summary.erased += 1;
                    return Ok(());
                }
                match self.classify(&m)? {
                    Outcome::New(_) => {
                        if !self.opts.no_threading && !self.options_recorded {
                            // What `kura reindex` threads by unless told otherwise.
                            self.store.record_thread_options(self.opts.threads)?;
                            self.options_recorded = true;
                        }
                        let r = self.pack.append(&c.frame)?;
                        let started = Instant::now();
                        let thread = if self.opts.no_threading {
                            self.store.new_thread()?
                        } else {
                            self.store.assign_thread(&m.message_id, &m.thread_refs())?
                        };
                        let mut threading = started.elapsed();
                        let row = self
                            .store
                            .insert_message(&m, c.raw_len, &c.hash, r, thread, self.batch)?;
                        let started = Instant::now();
                        if !self.opts.no_threading {
                            self.store
                                .subject_fallback(row, &m, thread, self.opts.threads)?;
                        }
                        threading += started.elapsed();
                        self.summary.threading_seconds += threading.as_secs_f64();
                        self.store
                            .add_location(row, &place, 0, &c.hash, c.raw_len, None, self.batch)?;
                        index::set_id(&mut doc, fields, row);
                        self.add_document(doc)?;
                        self.summary.new += 1;
                        self.in_batch += 1;
                    }
                    // Already imported from this very place (an interrupted
                    // import), or found again in a re-read mbox: nothing to do.
                    o @ (Outcome::Duplicate(row) | Outcome::Conflict(row))
                        if self.copy_known(
                            row,
                            &place,
                            matches!(o, Outcome::Duplicate(_)),
                            &c.hash,
                        )? =>
                    {
                        self.summary.unchanged += 1;
                    }
                    Outcome::Duplicate(row) => {
                        self.store
                            .add_location(row, &place, 1, &c.hash, c.raw_len, None, self.batch)?;
                        self.summary.duplicates += 1;
                    }
                    Outcome::Conflict(row) => {
                        let r = self.pack.append(&c.frame)?;
                        self.store.add_location(
                            row,
                            &place,
                            2,
                            &c.hash,
                            c.raw_len,
                            Some(r),
                            self.batch,
                        )?;
                        self.summary.duplicates += 1;
                        self.summary.conflicts += 1;
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether this copy of `row` was recorded before (see
    /// [`Store::copy_known`] and, in a re-read mbox, [`Reread::find_again`]).
    fn copy_known(
        &mut self,
        row: i64,
        place: &Place<'_>,
        same_content: bool,
        raw_hash: &[u8; 32],
    ) -> Result<bool> {
        match (place.mbox_offset, self.rereading.get_mut(place.source)) {
            (Some(offset), Some(reread)) => {
                reread.find_again(self.store, row, place, offset, same_content, raw_hash)
            }
            _ => self.store.copy_known(row, place, same_content, raw_hash),
        }
    }

    fn classify(&self, m: &ParsedMessage) -> Result<Outcome> {
        let mut found = self.store.find_message(&m.message_id)?;
        // The copy an earlier version stored under the id it gave is this
        // message, also when another message has its Message-ID (stored
        // under it then, and left so by `reindex`): looked for unless a
        // message with the id is this one.
        if let Some(earlier) = &m.earlier_id
            && found
                .as_ref()
                .is_none_or(|(_, hash)| *hash != m.content_hash)
            && let Some(stored) = self.store.find_message(earlier)?
            && (found.is_none() || stored.1 == m.content_hash)
        {
            found = Some(stored);
        }
        Ok(match found {
            None => Outcome::New(0),
            Some((row, hash)) if hash == m.content_hash => Outcome::Duplicate(row),
            Some((row, _)) => Outcome::Conflict(row),
        })
    }

    /// Adds a new message's document to the index, or keeps it until the
    /// index commit in flight is done.
    fn add_document(&mut self, doc: TantivyDocument) -> Result<()> {
        if self
            .committing
            .as_ref()
            .is_some_and(|c| c.thread.is_finished())
            || self.waiting_docs.len() >= MAX_WAITING_DOCS
        {
            self.finish_index_commit()?;
        }
        match &self.writer {
            Some(w) => {
                w.add_document(doc)?;
            }
            None => self.waiting_docs.push(doc),
        }
        Ok(())
    }

    /// Waits for the index commit in flight, if any, and adds the documents
    /// that waited for it.
    fn finish_index_commit(&mut self) -> Result<()> {
        let Some(commit) = self.committing.take() else {
            return Ok(());
        };
        let (writer, committed) = commit
            .thread
            .join()
            .map_err(|_| anyhow::anyhow!("the index commit thread panicked"))?;
        committed.with_context(|| {
            format!(
                "{} messages were stored but not indexed (the next `kura import` indexes them)",
                commit.messages
            )
        })?;
        if commit.abort_after {
            std::process::abort();
        }
        for doc in self.waiting_docs.drain(..) {
            writer.add_document(doc)?;
        }
        self.writer = Some(writer);
        Ok(())
    }

    /// Ends the current batch: originals, then the store, then the index.
    /// The index writes its segments (the longest step) on a thread of its
    /// own while the pack and the store are synced, and publishes them only
    /// once the store has committed, so the index is never ahead of the
    /// store. The import goes on meanwhile: the store takes the next
    /// messages in its next transaction, and their documents wait for the
    /// index ([`Writer::add_document`]). A kill in between leaves the store
    /// ahead of the index, which the next import catches up ([`recover`]).
    fn commit_batch(&mut self) -> Result<()> {
        self.finish_index_commit()?;
        self.store.rename_sources(&self.moved)?;
        self.moved.clear();
        let batch = self.batch;
        let abort_when_synced = self.aborts_after(CommitStep::PackSynced);
        let abort_when_stored = self.aborts_after(CommitStep::StoreCommitted);
        let Some(writer) = self.writer.take() else {
            bail!("internal error: the index writer is not there");
        };
        // The store's verdict: publish the prepared segments, or not.
        let (verdict_tx, verdict_rx) = bounded::<bool>(1);
        let delay = self.opts.index_commit_delay;
        let thread = std::thread::Builder::new()
            .name("kura-index-commit".into())
            .spawn_scoped(self.scope, move || {
                if let Some(d) = delay {
                    std::thread::sleep(d);
                }
                let committed = index::prepare(writer, batch).and_then(|prepared| {
                    // A store that did not commit leaves the segments unpublished.
                    if verdict_rx.recv() == Ok(true) {
                        prepared.commit().context("cannot commit the index")?;
                    }
                    Ok(())
                });
                (writer, committed)
            })
            .context("cannot start the index commit thread")?;
        let stored = commit_store(&mut self.pack, self.store, batch, abort_when_synced);
        let _ = verdict_tx.send(stored.is_ok());
        self.committing = Some(IndexCommit {
            thread,
            messages: self.in_batch,
            abort_after: self.aborts_after(CommitStep::IndexCommitted),
        });
        if stored.is_err() {
            // Gives the writer back; the error is the store's.
            let _ = self.finish_index_commit();
        }
        stored?;
        if abort_when_stored {
            std::process::abort();
        }
        self.first_commit = false;
        self.batch += 1;
        self.in_batch = 0;
        Ok(())
    }
}

/// The store's part of [`Writer::commit_batch`]: the pack synced, then the
/// transaction (which records how far the pack goes) committed.
/// `abort_when_synced`: see [`CommitStep::from_env`].
fn commit_store(
    pack: &mut PackWriter,
    store: &Store,
    batch: i64,
    abort_when_synced: bool,
) -> Result<()> {
    let (pack, len) = pack.sync()?;
    if abort_when_synced {
        std::process::abort();
    }
    store.set_meta("pack", &pack.to_string())?;
    store.set_meta("pack_len", &len.to_string())?;
    store.set_meta("batch", &batch.to_string())?;
    store.commit()
}

/// Messages of the store by id: used by tests and `check`.
pub fn message_ids(store: &Store) -> Result<Vec<(i64, String)>> {
    let mut q = store
        .conn
        .prepare("SELECT id, message_id FROM messages ORDER BY id")?;
    let rows = q
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}
