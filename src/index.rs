//! The tantivy full-text index: its schema (defined here, once), how a parsed
//! message becomes a document, and the writer/reader kura uses.
//!
//! The index stores no text (originals live in the packs): only postings and
//! fast fields. Documents are keyed by the store's message row id (`id`).
//! Each commit carries the number of the last store batch it covers as its
//! payload, so [`committed_batch`] tells how far the index is behind the store.

mod merge;

pub use merge::{finish, merge_segments, purge_deleted};

use crate::parse::ParsedMessage;
use crate::tokenizer::{self, TOKENIZER_NAME};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tantivy::indexer::PreparedCommit;
use tantivy::query::doc_predicate_query::{
    ConstOrVariableSegmentPredicate, DocPredicate, DocPredicateQuery, SegmentDocPredicate,
};
use tantivy::query::{AllScorer, EmptyQuery, Query};
use tantivy::schema::{
    FAST, Field, IndexRecordOption, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::{DocId, Index, IndexWriter, SegmentReader, TantivyDocument};

/// Version of the schema and tokenizer (store meta `index_version`); an
/// index built with a version this build does not read
/// ([`check_version`]) must be rebuilt (`kura reindex`) before it can be
/// searched.
/// 2: a CJK run's last character no longer has a unigram of its own.
/// 3: quoted text in a field of its own ([`Fields::quoted`]). This build
/// still reads and writes version 2 (all text in `body`), so that an
/// archive keeps working until its `kura reindex`; a build that knows only
/// version 2 refuses version 3, whose quoted text it would not write apart.
pub const INDEX_VERSION: i64 = 3;

/// The version an index of `fields` is ([`INDEX_VERSION`], or 2 when it
/// has no `quoted` field).
pub fn version_of(fields: &Fields) -> i64 {
    if fields.quoted.is_some() {
        INDEX_VERSION
    } else {
        2
    }
}

/// Refuses an index of a version this build does not read (`recorded`:
/// the store's `index_version`, `None` before the first import).
pub fn check_version(recorded: Option<&str>) -> Result<()> {
    match recorded {
        None | Some("2") => Ok(()),
        Some(v) if v == INDEX_VERSION.to_string() => Ok(()),
        Some(v) => anyhow::bail!(
            "the index was built by another version of kura (index version {v}, this kura reads 2 and {INDEX_VERSION}): run `kura reindex`"
        ),
    }
}

/// Memory budget of the index writer, shared by its threads.
pub const WRITER_MEMORY: usize = 192 << 20;

/// Name of the field holding the message row id.
pub const ID_FIELD: &str = "id";

/// Handles of the schema's fields.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// Message row id in the store (u64, a fast field only: documents are
    /// found by id with [`id_set_query`]; indexes written by earlier builds
    /// also index it, unused).
    pub id: Field,
    /// Unix seconds (i64, a fast field: date ranges and sorting read the
    /// column; indexes written by earlier builds also index it, unused).
    pub date: Field,
    pub subject: Field,
    /// The message's own text: what it does not quote ([`crate::quotes`]).
    pub body: Field,
    /// The text it quotes from earlier mail, and the text of the messages
    /// it forwards as attachments. `None` in an index written by a build
    /// before this field, where `body` holds all the text (`kura reindex`
    /// adds it).
    pub quoted: Option<Field>,
    pub from: Field,
    pub to: Field,
    pub cc: Field,
    /// Attachment file names.
    pub attachment: Field,
    /// Raw: every address (from/to/cc) and every domain and parent domain of
    /// them; and each address with its header ([`role_address_term`]).
    pub addr: Field,
    /// Raw: `type/subtype` and `subtype` of every attachment.
    pub mimetype: Field,
    /// Raw: `attachment` when the message has one.
    pub has: Field,
}

/// The schema, defined in one place.
///
/// No field holds a term unique to one message (a Message-ID, a date, a row
/// id as a term): each would give every segment a term dictionary as long as
/// its document count, a cost paid at every segment flush and merge. `id:`
/// queries are answered by the store, dates and row ids are fast fields.
/// Indexes written by earlier builds also have a raw `msgid` field, no longer
/// written or read.
pub fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER_NAME)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        id: b.add_u64_field(ID_FIELD, FAST),
        date: b.add_i64_field("date", FAST),
        subject: b.add_text_field("subject", text.clone()),
        body: b.add_text_field("body", text.clone()),
        quoted: Some(b.add_text_field("quoted", text.clone())),
        from: b.add_text_field("from", text.clone()),
        to: b.add_text_field("to", text.clone()),
        cc: b.add_text_field("cc", text.clone()),
        attachment: b.add_text_field("attachment", text),
        addr: b.add_text_field("addr", STRING),
        mimetype: b.add_text_field("mimetype", STRING),
        has: b.add_text_field("has", STRING),
    };
    (b.build(), fields)
}

/// Fields of an opened index (looked up by name, so they match its schema).
pub fn fields_of(index: &Index) -> Result<Fields> {
    let s = index.schema();
    let f = |name: &str| {
        s.get_field(name)
            .with_context(|| format!("the index has no field `{name}`: run `kura reindex`"))
    };
    Ok(Fields {
        id: f(ID_FIELD)?,
        date: f("date")?,
        subject: f("subject")?,
        body: f("body")?,
        quoted: s.get_field("quoted").ok(),
        from: f("from")?,
        to: f("to")?,
        cc: f("cc")?,
        attachment: f("attachment")?,
        addr: f("addr")?,
        mimetype: f("mimetype")?,
        has: f("has")?,
    })
}

/// `(dir.new, dir.old)`: where `kura reindex` builds a new index beside the
/// current one, and where the current one goes for the instant of the swap.
pub fn swap_dirs(dir: &Path) -> (PathBuf, PathBuf) {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "index".to_string());
    (
        dir.with_file_name(format!("{name}.new")),
        dir.with_file_name(format!("{name}.old")),
    )
}

/// Finishes or undoes what an interrupted `kura reindex` left behind. Only
/// for a process that holds the import lock.
///
/// The swap is `dir` → `dir.old`, `dir.new` → `dir`, then `dir.old` is
/// removed; `dir.new` is complete before the first rename. So: no `dir` but a
/// `dir.old` means the swap was cut short after its first step (finish it with
/// `dir.new`, or put `dir.old` back); a `dir` beside `dir.new` or `dir.old`
/// means a rebuild that never reached the swap, or a swap that did not clean
/// up (remove the leftover).
pub fn settle_swap(dir: &Path) -> Result<()> {
    let (new, old) = swap_dirs(dir);
    let has_meta = |d: &Path| d.join("meta.json").is_file();
    if !has_meta(dir) && old.is_dir() {
        let from = if has_meta(&new) { &new } else { &old };
        if dir.exists() {
            std::fs::remove_dir_all(dir)
                .with_context(|| format!("cannot remove {}", dir.display()))?;
        }
        std::fs::rename(from, dir)
            .with_context(|| format!("cannot rename {} to {}", from.display(), dir.display()))?;
    }
    for leftover in [&new, &old] {
        if leftover.exists() {
            std::fs::remove_dir_all(leftover)
                .with_context(|| format!("cannot remove {}", leftover.display()))?;
        }
    }
    Ok(())
}

/// Opens the index in `dir`, creating it when absent, with kura's tokenizer
/// registered. Settles an interrupted `kura reindex` first ([`settle_swap`]):
/// call it only with the import lock held.
pub fn open_or_create(dir: &Path) -> Result<Index> {
    settle_swap(dir)?;
    create_or_open_here(dir)
}

/// Opens the index in `dir`, creating it when absent (no swap settling: for
/// building a new index in `index.new`).
pub fn create_or_open_here(dir: &Path) -> Result<Index> {
    let exists = dir.join("meta.json").is_file();
    let index = if exists {
        Index::open_in_dir(dir)
            .with_context(|| format!("cannot open the index in {}", dir.display()))?
    } else {
        crate::archive::create_private_dir(dir)?;
        Index::create_in_dir(dir, schema().0)
            .with_context(|| format!("cannot create the index in {}", dir.display()))?
    };
    tokenizer::register(&index);
    Ok(index)
}

/// Opens an existing index for searching. While `kura reindex` swaps a new
/// index in (or when it was killed in the middle of the swap), `dir` may be
/// missing for a moment: then the complete index beside it is used, the new
/// one if the swap had begun, else the old one.
pub fn open_existing(dir: &Path) -> Result<Index> {
    let (new, old) = swap_dirs(dir);
    let mut candidates = vec![dir.to_path_buf()];
    if old.is_dir() {
        // The first rename of the swap happened: `new` is complete.
        candidates.extend([new, old]);
    }
    let mut last_err = None;
    for d in &candidates {
        if !d.join("meta.json").is_file() {
            continue;
        }
        match open_for_reading(d) {
            Ok(index) => {
                tokenizer::register(&index);
                return Ok(index);
            }
            // Renamed away between the test and the open: try the next one.
            Err(e) => last_err = Some((d.clone(), e)),
        }
    }
    match last_err {
        Some((d, e)) => Err(e).with_context(|| format!("cannot open the index in {}", d.display())),
        None => bail!(
            "the archive has no index at {}: run `kura reindex`",
            dir.display()
        ),
    }
}

/// Opens the index in `dir` for searching. On a directory kura may not write
/// to (a read-only mount, a copy owned by someone else), tantivy cannot create
/// the lock file its readers take, so the index is opened through
/// [`ReadOnlyDir`], which takes no lock: nothing can change such an index.
fn open_for_reading(dir: &Path) -> tantivy::Result<Index> {
    let lock_file = dir.join(tantivy::directory::META_LOCK.filepath.as_path());
    let writable = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(lock_file)
        .is_ok();
    if writable {
        Index::open_in_dir(dir)
    } else {
        let inner = tantivy::directory::MmapDirectory::open(dir)?;
        Index::open(ReadOnlyDir(inner))
    }
}

/// An index directory opened only to read: locks are granted without a lock
/// file, and every write fails.
#[derive(Debug, Clone)]
struct ReadOnlyDir(tantivy::directory::MmapDirectory);

impl ReadOnlyDir {
    fn refuse(path: &Path) -> std::io::Error {
        std::io::Error::new(
            std::io::ErrorKind::ReadOnlyFilesystem,
            format!(
                "the index is open read-only: cannot write {}",
                path.display()
            ),
        )
    }
}

impl tantivy::Directory for ReadOnlyDir {
    fn get_file_handle(
        &self,
        path: &Path,
    ) -> std::result::Result<
        std::sync::Arc<dyn tantivy::directory::FileHandle>,
        tantivy::directory::error::OpenReadError,
    > {
        self.0.get_file_handle(path)
    }

    fn delete(
        &self,
        path: &Path,
    ) -> std::result::Result<(), tantivy::directory::error::DeleteError> {
        Err(tantivy::directory::error::DeleteError::IoError {
            io_error: std::sync::Arc::new(Self::refuse(path)),
            filepath: path.to_path_buf(),
        })
    }

    fn exists(
        &self,
        path: &Path,
    ) -> std::result::Result<bool, tantivy::directory::error::OpenReadError> {
        self.0.exists(path)
    }

    fn open_write(
        &self,
        path: &Path,
    ) -> std::result::Result<tantivy::directory::WritePtr, tantivy::directory::error::OpenWriteError>
    {
        Err(tantivy::directory::error::OpenWriteError::IoError {
            io_error: std::sync::Arc::new(Self::refuse(path)),
            filepath: path.to_path_buf(),
        })
    }

    fn atomic_read(
        &self,
        path: &Path,
    ) -> std::result::Result<Vec<u8>, tantivy::directory::error::OpenReadError> {
        self.0.atomic_read(path)
    }

    fn atomic_write(&self, path: &Path, _data: &[u8]) -> std::io::Result<()> {
        Err(Self::refuse(path))
    }

    fn sync_directory(&self) -> std::io::Result<()> {
        Ok(())
    }

    fn acquire_lock(
        &self,
        _lock: &tantivy::directory::Lock,
    ) -> std::result::Result<tantivy::directory::DirectoryLock, tantivy::directory::error::LockError>
    {
        Ok(tantivy::directory::DirectoryLock::from(Box::new(())))
    }

    fn watch(
        &self,
        watch_callback: tantivy::directory::WatchCallback,
    ) -> tantivy::Result<tantivy::directory::WatchHandle> {
        self.0.watch(watch_callback)
    }
}

/// The last store batch the index has committed (0 for a new index).
pub fn committed_batch(index: &Index) -> Result<i64> {
    let metas = index
        .load_metas()
        .context("cannot read the index metadata")?;
    Ok(metas
        .payload
        .as_deref()
        .and_then(|p| p.strip_prefix("batch:"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0))
}

/// Opens the writer of an import ([`indexing_threads`] threads,
/// [`WRITER_MEMORY`]). The threads that feed it should call
/// [`defer_to_indexing`].
pub fn writer(index: &Index) -> Result<IndexWriter> {
    open_writer(index, indexing_threads(cores()))
}

/// Opens the writer of a rebuild (`kura reindex`): one indexing thread per
/// core, 1 to 4. A rebuild ends with one commit of every document, whose
/// segments are written out by as many threads as the writer has: with one
/// thread on 2 cores a 100,000 message rebuild took 11% to 18% longer.
pub fn rebuild_writer(index: &Index) -> Result<IndexWriter> {
    open_writer(index, cores().clamp(1, 4))
}

/// Every writer leaves merging to [`finish`] (see [`merge`]).
///
/// A writer first removes the files a killed one left that no commit names:
/// tantivy writes a segment's deletes to a file named after the segment and
/// the commit's opstamp before meta.json names it, and a writer that
/// replays the same operations from the same commit (the next command that
/// finishes an erasure, or re-indexes stale documents) writes the same name,
/// which tantivy refuses to overwrite: every later commit failed with
/// `FileAlreadyExists`. Segments a killed commit wrote go too.
fn open_writer(index: &Index, threads: usize) -> Result<IndexWriter> {
    let writer = index
        .writer_with_num_threads(threads, WRITER_MEMORY)
        .context("cannot open the index writer (is another import running?)")?;
    merge::no_background_merges(&writer);
    writer
        .garbage_collect_files()
        .wait()
        .context("cannot remove the index files a killed writer left")?;
    Ok(writer)
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

/// Indexing threads of an import's writer on a machine of `cores` cores:
/// half of them, 1 to 4. Parsing takes about as much CPU as indexing, so
/// the other half parses. On 2 cores one indexing thread (whose feeders run
/// at a lower priority, see [`defer_to_indexing`]) took 8% to 16% less CPU
/// for a 100,000 message import than two, and 4% to 12% less wall time (in
/// alternating runs): one segment per commit instead of two to write out,
/// one term table in the caches instead of two.
pub fn indexing_threads(cores: usize) -> usize {
    (cores / 2).clamp(1, 4)
}

/// How much lower [`defer_to_indexing`] sets a thread's priority (nice).
pub const FEEDER_NICENESS: i32 = 10;

/// Lowers the calling thread's scheduling priority by [`FEEDER_NICENESS`]
/// (at most to nice 19): for the threads that parse mail for the index
/// writer. The writer's indexing threads are the narrowest stage of an
/// import; at the same priority as the parse threads they get only their
/// share of the cores and the import waits on them (5% more wall time with
/// one indexing thread on 2 cores), while at a lower priority the parse
/// threads use what CPU the indexing leaves. Linux only (elsewhere the
/// priority is the whole process's, and nothing is changed); a failure
/// changes nothing either.
pub fn defer_to_indexing() {
    #[cfg(target_os = "linux")]
    {
        // On Linux, PRIO_PROCESS with no pid is the calling thread.
        use rustix::process::{getpriority_process, setpriority_process};
        if let Ok(nice) = getpriority_process(None) {
            let _ = setpriority_process(None, (nice + FEEDER_NICENESS).min(19));
        }
    }
}

/// Commits the writer, recording `batch` as the last store batch it covers.
pub fn commit(writer: &mut IndexWriter, batch: i64) -> Result<()> {
    prepare(writer, batch)?
        .commit()
        .context("cannot commit the index")?;
    Ok(())
}

/// The first and long part of [`commit`]: the documents added so far are
/// written out as segments, which searches do not see until the returned
/// commit is published (`commit()`; dropping it instead abandons them).
pub fn prepare(writer: &mut IndexWriter, batch: i64) -> Result<PreparedCommit<'_>> {
    let mut prepared = writer
        .prepare_commit()
        .context("cannot prepare the index commit")?;
    prepared.set_payload(&format!("batch:{batch}"));
    Ok(prepared)
}

/// Deletes the documents of messages `ids` (ids without one are ignored).
/// Deletes apply to documents added before the call: delete first, then add
/// the new documents. One call for many ids: each call is a pass over the id
/// column of every segment that may hold one of them.
pub fn delete_ids(writer: &IndexWriter, ids: &[i64]) -> Result<()> {
    if let Some(q) = IdSet::new(ids) {
        writer
            .delete_query(Box::new(DocPredicateQuery::from(q)))
            .context("cannot delete from the index")?;
    }
    Ok(())
}

/// A query matching the documents of messages `ids` (row ids).
pub fn id_set_query(ids: &[i64]) -> Box<dyn Query> {
    match IdSet::new(ids) {
        Some(q) => Box::new(DocPredicateQuery::from(q)),
        None => Box::new(EmptyQuery),
    }
}

/// A set of message row ids, matched against the `id` fast field. Row ids
/// are dense, so the set is usually a bitmap over `lo..=hi` (every message of
/// an archive of a million is 125 KB); ids spread thinly over a wide range
/// are a sorted list instead, so that no set costs more than a few times its
/// own size.
#[derive(Debug, Clone)]
struct IdSet {
    lo: u64,
    hi: u64,
    members: Arc<Members>,
}

#[derive(Debug)]
enum Members {
    /// Bit `i - lo` is set for each id `i`.
    Bits(Vec<u64>),
    Sorted(Vec<u64>),
}

impl IdSet {
    /// `None` for an empty set. Negative ids (never a row id) are ignored.
    fn new(ids: &[i64]) -> Option<IdSet> {
        let mut ids: Vec<u64> = ids.iter().filter_map(|&i| u64::try_from(i).ok()).collect();
        let lo = ids.iter().copied().min()?;
        let hi = ids.iter().copied().max()?;
        let words = (hi - lo) / 64 + 1;
        let members = if words <= 1024 + 4 * ids.len() as u64 {
            let mut bits = vec![0u64; words as usize];
            for i in ids {
                let o = i - lo;
                bits[(o / 64) as usize] |= 1 << (o % 64);
            }
            Members::Bits(bits)
        } else {
            ids.sort_unstable();
            ids.dedup();
            Members::Sorted(ids)
        };
        Some(IdSet {
            lo,
            hi,
            members: Arc::new(members),
        })
    }

    fn contains(&self, id: u64) -> bool {
        if id < self.lo || id > self.hi {
            return false;
        }
        match &*self.members {
            Members::Bits(bits) => {
                let o = id - self.lo;
                bits[(o / 64) as usize] & (1 << (o % 64)) != 0
            }
            Members::Sorted(ids) => ids.binary_search(&id).is_ok(),
        }
    }
}

impl DocPredicate for IdSet {
    type SegmentDocPredicate = IdSetInSegment;

    fn doc_predicate(
        &self,
        segment: &SegmentReader,
    ) -> tantivy::Result<ConstOrVariableSegmentPredicate<IdSetInSegment>> {
        let column = segment.fast_fields().u64(ID_FIELD)?;
        if column.max_value() < self.lo || column.min_value() > self.hi {
            return Ok(ConstOrVariableSegmentPredicate::Const(false));
        }
        Ok(ConstOrVariableSegmentPredicate::Variable {
            predicate: IdSetInSegment {
                set: self.clone(),
                column,
            },
            necessary_condition: Box::new(AllScorer::new(segment.max_doc())),
        })
    }
}

/// [`IdSet`] over one segment's id column.
struct IdSetInSegment {
    set: IdSet,
    column: tantivy::columnar::Column<u64>,
}

impl SegmentDocPredicate for IdSetInSegment {
    fn eval(&mut self, doc: DocId) -> bool {
        self.column
            .first(doc)
            .is_some_and(|id| self.set.contains(id))
    }

    fn cost(&self) -> u64 {
        // A column read and a bit test.
        4
    }
}

/// The document for a message, without its `id` (added by [`set_id`] once the
/// store has assigned the row).
pub fn document(fields: &Fields, m: &ParsedMessage) -> TantivyDocument {
    let mut doc = TantivyDocument::new();
    doc.add_i64(fields.date, m.date);
    if !m.subject.is_empty() {
        doc.add_text(fields.subject, &m.subject);
    }
    add_text(&mut doc, fields, m);
    let mut addrs: Vec<String> = Vec::new();
    let mut mailbox_field =
        |field: Field,
         role: AddressRole,
         list: &mut dyn Iterator<Item = &crate::parse::Mailbox>| {
            for mb in list {
                if !mb.name.is_empty() {
                    doc.add_text(field, &mb.name);
                    if let Some(joined) = joined_cjk_name(&mb.name) {
                        doc.add_text(field, &joined);
                    }
                }
                if !mb.address.is_empty() {
                    doc.add_text(field, &mb.address);
                    addr_terms(&mb.address, &mut addrs);
                    addrs.push(role_address_term(role, &mb.address));
                }
            }
        };
    mailbox_field(fields.from, AddressRole::From, &mut m.from.iter());
    mailbox_field(fields.to, AddressRole::To, &mut m.to.iter());
    mailbox_field(fields.cc, AddressRole::Cc, &mut m.cc.iter());
    addrs.sort();
    addrs.dedup();
    for a in &addrs {
        doc.add_text(fields.addr, a);
    }
    let mut mimes: Vec<String> = Vec::new();
    for a in &m.attachments {
        if !a.filename.is_empty() {
            doc.add_text(fields.attachment, &a.filename);
        }
        mimes.push(a.mime.clone());
        if let Some((_, sub)) = a.mime.split_once('/') {
            mimes.push(sub.to_string());
        }
    }
    mimes.sort();
    mimes.dedup();
    for mt in &mimes {
        doc.add_text(fields.mimetype, mt);
    }
    if !m.attachments.is_empty() {
        doc.add_text(fields.has, "attachment");
    }
    doc
}

/// The message's text: its own lines in `body`, what it quotes or forwards
/// in `quoted`, each run of lines a value of its own (so that no phrase
/// spans the quote between two runs).
fn add_text(doc: &mut TantivyDocument, fields: &Fields, m: &ParsedMessage) {
    let Some(quoted) = fields.quoted else {
        if !m.text.is_empty() {
            doc.add_text(fields.body, &m.text);
        }
        return;
    };
    for part in m.parts() {
        if !part.text.trim().is_empty() {
            doc.add_text(if part.quoted { quoted } else { fields.body }, part.text);
        }
    }
}

/// A Japanese name written with a space between family and given name
/// (`田中 誠`, `田中　誠`, `ﾀﾅｶ ﾏｺﾄ`) also without it, folded as the
/// tokenizer folds (`田中誠`), so that `from:田中誠` finds it: staff type names
/// both ways, and the bigram `中誠` exists only in the joined form. `None`
/// when no space sits between two characters indexed as CJK bigrams.
fn joined_cjk_name(name: &str) -> Option<String> {
    if name.is_ascii() || !name.contains(char::is_whitespace) {
        return None;
    }
    let chars: Vec<char> = tokenizer::fold(name.trim()).chars().collect();
    let cjk = |c: &char| tokenizer::is_cjk(*c);
    let mut out = String::with_capacity(name.len());
    let mut joined = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            let end = chars[i..]
                .iter()
                .position(|c| !c.is_whitespace())
                .map_or(chars.len(), |n| i + n);
            let between = i > 0 && cjk(&chars[i - 1]) && chars.get(end).is_some_and(cjk);
            if between {
                joined = true;
            } else {
                out.extend(&chars[i..end]);
            }
            i = end;
        } else {
            out.push(c);
            i += 1;
        }
    }
    joined.then_some(out)
}

/// Sets the document's message row id.
pub fn set_id(doc: &mut TantivyDocument, fields: &Fields, id: i64) {
    doc.add_u64(fields.id, id as u64);
}

/// The header an address is in, for [`role_address_term`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressRole {
    From,
    To,
    Cc,
}

/// The raw term of the `addr` field that says `address` is in the header
/// `role`: `\u{1}from\u{1}tanaka@x.jp` (lower-cased; the control character
/// keeps these apart from the addresses and domains `customer:` looks up).
/// `from:tanaka@x.jp` is this one term. Documents written before these terms
/// existed have none: see [`ROLE_TERMS_SINCE`].
pub fn role_address_term(role: AddressRole, address: &str) -> String {
    let role = match role {
        AddressRole::From => "from",
        AddressRole::To => "to",
        AddressRole::Cc => "cc",
    };
    format!("\u{1}{role}\u{1}{}", address.trim().to_lowercase())
}

/// Store meta key: the lowest message row id whose index document is known
/// to carry [`role_address_term`]s. Recorded by the first command of this
/// version that opens the archive for writing (the next row id then), and
/// set to 0 by `kura reindex`. Documents of lower rows may lack them: a
/// whole-address query checks those in the store.
pub const ROLE_TERMS_SINCE: &str = "addr_roles_since";

/// The most labels a parent domain in the `addr` field has. Real host names
/// have far fewer; an address whose domain has thousands of labels (a run of
/// dots) would otherwise give thousands of copies of its domain.
pub const MAX_DOMAIN_LABELS: usize = 16;

/// The raw terms an address contributes to the `addr` field: the address, its
/// domain and every parent domain with at least two labels and at most
/// [`MAX_DOMAIN_LABELS`]
/// (`a@tokyo.kyowa.co.jp` → `a@tokyo.kyowa.co.jp`, `tokyo.kyowa.co.jp`, `kyowa.co.jp`, `co.jp`).
/// Their length is linear in the address's.
pub fn addr_terms(address: &str, out: &mut Vec<String>) {
    let address = address.trim().to_lowercase();
    if address.is_empty() {
        return;
    }
    out.push(address.clone());
    if let Some((_, domain)) = address.rsplit_once('@') {
        if domain.contains('.') {
            out.push(domain.to_string());
        }
        // A parent starts after a dot with another one after it: from the
        // right, after the second dot two labels, after the third three...
        let starts: Vec<usize> = domain
            .rmatch_indices('.')
            .skip(1)
            .take(MAX_DOMAIN_LABELS - 1)
            .map(|(i, _)| i + 1)
            .collect();
        for &start in starts.iter().rev() {
            out.push(domain[start..].to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::collector::Count;

    /// An in-memory index with documents for `ids`, one segment per slice.
    fn index_with(segments: &[&[i64]]) -> (Index, IndexWriter) {
        let index = Index::create_in_ram(schema().0);
        tokenizer::register(&index);
        let fields = fields_of(&index).unwrap();
        let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for ids in segments {
            for &id in *ids {
                let mut doc = TantivyDocument::new();
                doc.add_text(fields.subject, "請求書");
                set_id(&mut doc, &fields, id);
                writer.add_document(doc).unwrap();
            }
            writer.commit().unwrap();
        }
        (index, writer)
    }

    #[test]
    fn half_the_cores_index_one_to_four_of_them() {
        let threads: Vec<usize> = [1, 2, 3, 4, 6, 8, 16, 64]
            .into_iter()
            .map(indexing_threads)
            .collect();
        assert_eq!(threads, [1, 1, 1, 2, 3, 4, 4, 4]);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_feeding_thread_lowers_its_own_priority_only() {
        use rustix::process::getpriority_process;
        let before = getpriority_process(None).unwrap();
        let (was, is) = std::thread::spawn(|| {
            let was = getpriority_process(None).unwrap();
            defer_to_indexing();
            (was, getpriority_process(None).unwrap())
        })
        .join()
        .unwrap();
        assert_eq!(was, before);
        assert_eq!(is, (was + FEEDER_NICENESS).min(19));
        assert!(is > was || was == 19);
        // The other threads (here, this one) keep their priority.
        assert_eq!(getpriority_process(None).unwrap(), before);
    }

    fn count(index: &Index, ids: &[i64]) -> usize {
        let searcher = index.reader().unwrap().searcher();
        searcher.search(id_set_query(ids).as_ref(), &Count).unwrap()
    }

    #[test]
    fn id_sets_match_exactly_their_rows_in_every_segment() {
        let low: Vec<i64> = (1..=100).collect();
        let high: Vec<i64> = (1000..=1100).collect();
        let (index, _) = index_with(&[&low, &high]);
        assert_eq!(index.searchable_segment_ids().unwrap().len(), 2);
        assert_eq!(count(&index, &[]), 0);
        assert_eq!(count(&index, &[7]), 1);
        // Ids between, beside and beyond the segments' ranges match nothing.
        assert_eq!(count(&index, &[0, 101, 500, 999, 1101, -3]), 0);
        assert_eq!(count(&index, &[1, 64, 65, 100, 1000, 1063, 1064, 1100]), 8);
        assert_eq!(count(&index, &low), 100);
        let all: Vec<i64> = (0..2000).collect();
        assert_eq!(count(&index, &all), 201);
        // Thinly spread over a wide range: a sorted list, same answers.
        assert!(matches!(
            *IdSet::new(&[3, i64::MAX]).unwrap().members,
            Members::Sorted(_)
        ));
        assert_eq!(count(&index, &[3, 1050, 1051, i64::MAX]), 3);
        assert_eq!(count(&index, &[2, 99, 5_000_000, 1 << 40]), 2);
    }

    #[test]
    fn deleting_ids_removes_their_documents_and_no_others() {
        let (index, mut writer) = index_with(&[&[1, 2, 3], &[10, 11]]);
        delete_ids(&writer, &[2, 11, 50]).unwrap();
        // A document added after the delete is kept, even with a deleted id.
        let fields = fields_of(&index).unwrap();
        let mut doc = TantivyDocument::new();
        set_id(&mut doc, &fields, 2);
        writer.add_document(doc).unwrap();
        writer.commit().unwrap();
        let reader = index.reader().unwrap();
        assert_eq!(reader.searcher().num_docs(), 4);
        assert_eq!(count(&index, &[2]), 1);
        assert_eq!(count(&index, &[11]), 0);
        assert_eq!(count(&index, &[1, 3, 10]), 3);
    }

    #[test]
    fn japanese_names_are_also_joined_without_their_space() {
        assert_eq!(joined_cjk_name("田中 誠").as_deref(), Some("田中誠"));
        assert_eq!(joined_cjk_name("田中　誠").as_deref(), Some("田中誠"));
        assert_eq!(
            joined_cjk_name("青葉商事 中村  健 (営業部)").as_deref(),
            Some("青葉商事中村健 (営業部)")
        );
        assert_eq!(joined_cjk_name("Tanaka Makoto"), None);
        assert_eq!(joined_cjk_name("田中誠"), None);
        assert_eq!(joined_cjk_name("田中 Makoto"), None);
        assert_eq!(joined_cjk_name("ﾀﾅｶ ﾏｺﾄ").as_deref(), Some("タナカマコト"));
        assert_eq!(joined_cjk_name("José Ñúñez"), None);
        assert_eq!(joined_cjk_name(""), None);
    }

    #[test]
    fn address_terms_cover_parent_domains() {
        let mut v = Vec::new();
        addr_terms("Tanaka@Tokyo.Kyowa-Shoji.co.jp", &mut v);
        assert_eq!(
            v,
            [
                "tanaka@tokyo.kyowa-shoji.co.jp",
                "tokyo.kyowa-shoji.co.jp",
                "kyowa-shoji.co.jp",
                "co.jp"
            ]
        );
    }

    /// A domain of thousands of labels (a run of dots) gives terms of a
    /// length linear in the address's, not a copy of it for each label.
    #[test]
    fn address_terms_of_a_domain_of_thousands_of_labels_are_bounded() {
        for domain in ["a.".repeat(5_000) + "jp", ".".repeat(10_000)] {
            let address = format!("x@{domain}");
            let mut v = Vec::new();
            addr_terms(&address, &mut v);
            let bytes: usize = v.iter().map(String::len).sum();
            assert!(
                bytes <= (MAX_DOMAIN_LABELS + 2) * address.len(),
                "{bytes} bytes of terms for an address of {}",
                address.len()
            );
        }
        let mut v = Vec::new();
        addr_terms("x@a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.co.jp", &mut v);
        assert!(v.contains(&"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.co.jp".to_string()));
        assert!(v.contains(&"co.jp".to_string()));
        assert!(v.contains(&"f.g.h.i.j.k.l.m.n.o.p.q.r.s.co.jp".to_string()));
        assert!(!v.contains(&"e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.co.jp".to_string()));
    }
}
