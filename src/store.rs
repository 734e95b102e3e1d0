//! The SQLite metadata store: one row per unique message, every place it was
//! found, rejected inputs, threads, tags and the import history.
//!
//! SQLite is the archive's source of truth; the tantivy index is derived from
//! it (and from the stored originals) and can always be rebuilt. Each import
//! batch is one transaction stamped with a batch number; the index commits
//! the same number afterwards, so after a crash the messages of batches the
//! index has not committed are re-indexed (see [`crate::import`]).

use crate::archive::Archive;
use crate::pack::PackRef;
use crate::parse::{Attachment, DateSource, Mailbox, ParsedMessage};
use anyhow::{Context, Result, bail};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, OptionalExtension, ToSql, params};
use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// Meta key: the messages with an id below it were stored before the
/// archive had a `signatures` table, by a kura that did not read them
/// ([`crate::signature`]); `kura reindex` reads them and sets it to 0.
pub const SIGNATURES_SINCE: &str = "signatures_since";

/// Version of the SQLite schema this build writes.
pub const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- One row per unique message (identity: Message-ID, or a content hash).
CREATE TABLE IF NOT EXISTS messages (
    id            INTEGER PRIMARY KEY,      -- also the document id in the index
    message_id    TEXT NOT NULL UNIQUE,     -- without <>
    synthetic_id  INTEGER NOT NULL,         -- 1: the mail had no Message-ID
    date          INTEGER NOT NULL,         -- unix seconds
    date_source   TEXT NOT NULL,            -- date | date-local | received | file | unknown
    from_name     TEXT NOT NULL,
    from_addr     TEXT NOT NULL,
    subject       TEXT NOT NULL,
    subject_norm  TEXT NOT NULL,
    is_reply      INTEGER NOT NULL,
    is_forward    INTEGER NOT NULL,
    in_reply_to   TEXT NOT NULL,            -- space-separated ids
    refs          TEXT NOT NULL,            -- space-separated ids, oldest first
    size          INTEGER NOT NULL,         -- bytes of the original
    raw_hash      BLOB NOT NULL,            -- BLAKE3 of the original
    content_hash  BLOB NOT NULL,            -- see parse::ParsedMessage::content_hash
    pack          INTEGER NOT NULL,
    pack_offset   INTEGER NOT NULL,
    pack_len      INTEGER NOT NULL,
    thread        INTEGER NOT NULL,
    batch         INTEGER NOT NULL,         -- import batch that added it
    attachments   INTEGER NOT NULL          -- number of attachments
);
CREATE INDEX IF NOT EXISTS messages_thread ON messages(thread, date);
CREATE INDEX IF NOT EXISTS messages_subject ON messages(subject_norm, date);

-- Replies without References/In-Reply-To, for the subject fallback of threading.
CREATE TABLE IF NOT EXISTS refless_replies (
    subject_norm TEXT NOT NULL,
    date         INTEGER NOT NULL,
    message      INTEGER NOT NULL,
    PRIMARY KEY (subject_norm, date, message)
) WITHOUT ROWID;

-- From (role 0), To (1), Cc (2), Reply-To (3), in header order.
CREATE TABLE IF NOT EXISTS addresses (
    message  INTEGER NOT NULL REFERENCES messages(id),
    role     INTEGER NOT NULL,
    position INTEGER NOT NULL,
    name     TEXT NOT NULL,
    address  TEXT NOT NULL,
    PRIMARY KEY (message, role, position)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS attachments (
    message  INTEGER NOT NULL REFERENCES messages(id),
    position INTEGER NOT NULL,
    filename TEXT NOT NULL,
    mime     TEXT NOT NULL,
    size     INTEGER NOT NULL,
    PRIMARY KEY (message, position)
) WITHOUT ROWID;

-- The organisation a message's signature names (signature::organisation),
-- for the messages whose signature names one: the names customers go by.
CREATE TABLE IF NOT EXISTS signatures (
    message      INTEGER PRIMARY KEY REFERENCES messages(id),
    organisation TEXT NOT NULL
);

-- Every place a message was found. kind: maildir | mbox | eml. Paths here,
-- in rejects and in files are text, or a BLOB of the path's bytes when they
-- are not UTF-8 (see SourcePath).
-- status: 0 the copy that was imported, 1 a duplicate, 2 a conflict (same
-- Message-ID, other content; its bytes are kept in the pack too).
CREATE TABLE IF NOT EXISTS locations (
    id          INTEGER PRIMARY KEY,
    message     INTEGER NOT NULL REFERENCES messages(id),
    source      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    mbox_offset INTEGER,
    status      INTEGER NOT NULL,
    raw_hash    BLOB NOT NULL,
    size        INTEGER NOT NULL,
    pack        INTEGER,
    pack_offset INTEGER,
    pack_len    INTEGER,
    batch       INTEGER NOT NULL
);
-- A copy is looked up by its place (Store::copy_known); an index of the
-- message alone made each copy of a Message-ID met thousands of times read
-- all those recorded before it.
CREATE INDEX IF NOT EXISTS locations_place ON locations(message, source, ifnull(mbox_offset, -1));
DROP INDEX IF EXISTS locations_message;

-- Inputs that could not be imported, with the reason; raw bytes kept.
CREATE TABLE IF NOT EXISTS rejects (
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,
    mbox_offset INTEGER,
    reason      TEXT NOT NULL,
    size        INTEGER NOT NULL,
    raw_hash    BLOB NOT NULL,
    pack        INTEGER NOT NULL,
    pack_offset INTEGER NOT NULL,
    pack_len    INTEGER NOT NULL,
    time        INTEGER NOT NULL,
    batch       INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS rejects_place ON rejects(source, ifnull(mbox_offset, -1));

-- Source files already imported: skipped when unchanged, mbox resumed when grown.
CREATE TABLE IF NOT EXISTS files (
    path        TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    size        INTEGER NOT NULL,
    mtime_ns    INTEGER NOT NULL,
    messages    INTEGER NOT NULL,   -- messages read from it so far
    resume      INTEGER NOT NULL,   -- mbox: offset where the next import starts
    head_hash   BLOB                -- mbox: hash of the bytes before `resume`
) WITHOUT ROWID;

-- Thread of Message-IDs that messages referenced but that were never received
-- (ghosts). A stored message's thread is in `messages`; a ghost that arrives
-- later keeps its row here, in the same thread. (Archives written by earlier
-- builds list every Message-ID here; both tables are kept in step by merges.)
CREATE TABLE IF NOT EXISTS thread_ids (
    msgid  TEXT PRIMARY KEY,
    thread INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS thread_ids_thread ON thread_ids(thread);

CREATE TABLE IF NOT EXISTS tags (
    message INTEGER NOT NULL REFERENCES messages(id),
    tag     TEXT NOT NULL,
    PRIMARY KEY (message, tag)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tags_tag ON tags(tag);

-- Messages erased by `kura erase`: the BLAKE3 key of their Message-ID
-- (erase::key), so that an import seeing them again skips them; nothing
-- readable is kept.
CREATE TABLE IF NOT EXISTS erased (
    key  BLOB PRIMARY KEY,
    time INTEGER NOT NULL
) WITHOUT ROWID;

-- Erasures committed in this table but not yet carried out in the index
-- and the packs (a killed `kura erase`; the next import or erase finishes
-- them): the message row and each stored copy's place in a pack (row 0: the
-- original of a reject that is an erased message, dropped by `rejects --retry`).
CREATE TABLE IF NOT EXISTS erasing (
    message     INTEGER NOT NULL,
    pack        INTEGER NOT NULL,
    pack_offset INTEGER NOT NULL,
    pack_len    INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS import_log (
    id         INTEGER PRIMARY KEY,
    started    INTEGER NOT NULL,
    finished   INTEGER,
    seen       INTEGER NOT NULL DEFAULT 0,
    new        INTEGER NOT NULL DEFAULT 0,
    duplicates INTEGER NOT NULL DEFAULT 0,
    conflicts  INTEGER NOT NULL DEFAULT 0,
    rejected   INTEGER NOT NULL DEFAULT 0,
    unchanged  INTEGER NOT NULL DEFAULT 0,
    status     TEXT NOT NULL,
    paths      TEXT NOT NULL,
    incomplete INTEGER NOT NULL DEFAULT 0,  -- added after schema 1 (see ADDED_COLUMNS)
    erased     INTEGER NOT NULL DEFAULT 0   -- added after schema 1 (see ADDED_COLUMNS)
);
"#;

/// How [`ParsedMessage::content_hash`] is computed (meta `content_hash`):
/// 2 compares headers as decoded; 3 as decoded since 8-bit text that is
/// neither UTF-8 nor Japanese reads as windows-1252 and broken Japanese under
/// a UTF-8 label as Japanese (version 2 read both as U+FFFD, so a raw
/// Latin-1 Subject hashed otherwise); 4 as decoded since Japanese and UTF-8
/// under a Latin label (ISO-8859-1) read as such, not as Latin-1, and with
/// the Date as kura reads it (`10:00 JST` is `01:00 +0000`); 5 with dates
/// not in RFC 5322's form read (`2024/01/15 10:00`, ISO 8601, asctime,
/// `GMT+0900`); 6 with the headers and body after a Date mail-parser ran
/// past (`… 10:00:00 Z`) read, not lost (see [`crate::parse::parser`]).
/// Archives written before hold the earlier version's hashes until
/// [`Store::open_rw`] upgrades them.
pub const CONTENT_HASH_VERSION: i64 = 6;

/// Columns added to schema 1 after archives were written with it: `(table,
/// column, declaration)`. [`Store::open_rw`] adds those an archive lacks. Each
/// has a default, so a kura that predates the column still writes rows (and
/// reads the archive), which is why they do not bump [`SCHEMA_VERSION`];
/// readers of a not yet upgraded archive use [`Store::has_column`].
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("import_log", "incomplete", "INTEGER NOT NULL DEFAULT 0"),
    ("import_log", "erased", "INTEGER NOT NULL DEFAULT 0"),
];

/// What threading reads of a stored message (see [`Store::each_thread_facts`]).
#[derive(Debug, Clone)]
pub struct ThreadFacts {
    pub row: i64,
    /// The ids it references, as [`ParsedMessage::thread_refs`] gives them.
    pub refs: Vec<String>,
    /// The thread it is in.
    pub thread: i64,
    /// Its normalised subject and date, when it is a reply without
    /// References or In-Reply-To (for the subject fallback).
    pub refless_reply: Option<(String, i64)>,
}

/// A message row as needed to rebuild its index document.
#[derive(Debug, Clone)]
pub struct StoredMessage {
    pub id: i64,
    pub pack: PackRef,
    pub size: usize,
    /// The date the store holds (the index must agree with it).
    pub date: i64,
    pub raw_hash: Vec<u8>,
    /// The import batch that stored it.
    pub batch: i64,
    /// The date is a Date: without a zone, read in the local zone of the
    /// import that stored it ([`DateSource::LocalHeader`]).
    pub local_date: bool,
}

/// What the store recorded of a message's headers that a reindex compares
/// with a new reading of its original (see [`Store::recorded_headers`]).
#[derive(Debug, Clone)]
pub struct RecordedHeaders {
    pub message_id: String,
    /// The message had no Message-ID (as read when it was stored).
    pub synthetic_id: bool,
    pub subject: String,
    pub content_hash: Vec<u8>,
    pub date: i64,
    /// As [`crate::parse::DateSource::as_str`] writes it.
    pub date_source: String,
    /// The ids of References and of In-Reply-To, space-separated.
    pub references: String,
    pub in_reply_to: String,
}

/// A copy of a message recorded from an mbox (see [`Store::copies_in`]).
#[derive(Debug, Clone)]
pub struct RecordedCopy {
    /// The location's id.
    pub id: i64,
    pub offset: Option<u64>,
    /// 0: where the message was first imported from; 1: a duplicate; 2: a
    /// conflicting copy (its own bytes kept).
    pub status: i64,
    pub raw_hash: Vec<u8>,
}

/// Where a message's original is: pack location, size, BLAKE3 hash.
pub type OriginalRef = (PackRef, usize, Vec<u8>);

/// What an earlier import recorded of a source file (its `files` row).
#[derive(Debug, Clone, PartialEq)]
pub struct KnownFile {
    pub size: u64,
    pub mtime_ns: i64,
    /// Messages read from it so far.
    pub messages: u64,
    /// mbox: the offset the next import resumes at.
    pub resume: u64,
    /// mbox: the hash of the bytes before `resume`.
    pub head_hash: Option<Vec<u8>>,
    /// Whether it was read as an mbox (else as one message).
    pub mbox: bool,
}

/// The `files` table as an import's planner reads it: a lookup per path on a
/// read-only connection of its own (the planner runs beside the writer), so
/// that an import's memory does not grow with the files the archive knows.
/// Each lookup sees what the writer has committed so far.
pub struct KnownFiles {
    /// `None` when the archive knew no file as the import began: nothing to
    /// look up.
    conn: Option<Connection>,
}

impl KnownFiles {
    pub fn open(archive: &Archive) -> Result<KnownFiles> {
        let path = archive.db_path();
        let conn = open_read_only(&path)?;
        configure(&conn)?;
        let any: bool = conn
            .query_row("SELECT EXISTS (SELECT 1 FROM files)", [], |r| r.get(0))
            .with_context(|| format!("cannot read {}", path.display()))?;
        Ok(KnownFiles {
            conn: any.then_some(conn),
        })
    }

    /// What the archive knows of the file at `path`.
    pub fn get(&self, path: &Path) -> Result<Option<KnownFile>> {
        let Some(conn) = &self.conn else {
            return Ok(None);
        };
        let row = conn
            .prepare_cached(
                "SELECT size, mtime_ns, messages, resume, head_hash, kind = 'mbox' FROM files WHERE path = ?1",
            )?
            .query_row([SourcePath(path)], |r| known_file(r, 0))
            .optional()?;
        Ok(row)
    }

    /// The known files whose path is `prefix` or `prefix` followed by `:`,
    /// `;` or `!` and more (a Maildir file's name, with or without its
    /// `:2,` info, or the `;2,` or `!2,` of a Maildir kept on Windows), in
    /// path order; and, since the range is of bytes, some that follow
    /// `prefix` with another byte before `<` (the caller tells them apart).
    pub fn with_maildir_name(&self, prefix: &Path) -> Result<Vec<(PathBuf, KnownFile)>> {
        let Some(conn) = &self.conn else {
            return Ok(Vec::new());
        };
        // Paths sort by their bytes (text by its UTF-8): `!`, then `:`, then
        // `;`, then `<`.
        let mut end = prefix.as_os_str().to_owned();
        end.push("<");
        let rows = conn
            .prepare_cached(
                "SELECT path, size, mtime_ns, messages, resume, head_hash, kind = 'mbox' FROM files
                 WHERE path >= ?1 AND path < ?2 ORDER BY path",
            )?
            .query_map([SourcePath(prefix), SourcePath(Path::new(&end))], |r| {
                Ok((recorded_path(r, 0)?, known_file(r, 1)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}

/// The [`KnownFile`] in the columns of `r` from `at` on.
fn known_file(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<KnownFile> {
    Ok(KnownFile {
        size: r.get::<_, i64>(at)? as u64,
        mtime_ns: r.get(at + 1)?,
        messages: r.get::<_, i64>(at + 2)? as u64,
        resume: r.get::<_, i64>(at + 3)? as u64,
        head_hash: r.get(at + 4)?,
        mbox: r.get(at + 5)?,
    })
}

/// A message's mailboxes by role: From, To, Cc, Reply-To (the `addresses`
/// table's roles are their positions here).
pub type Mailboxes<'a> = [&'a [Mailbox]; 4];

/// The mailboxes of `m` by role.
pub fn mailboxes(m: &ParsedMessage) -> Mailboxes<'_> {
    const _: () = assert!(ROLE_FROM == 0 && ROLE_TO == 1 && ROLE_CC == 2 && ROLE_REPLY_TO == 3);
    [m.from.as_slice(), &m.to, &m.cc, &m.reply_to]
}

/// Address roles in the `addresses` table.
pub const ROLE_FROM: i64 = 0;
pub const ROLE_TO: i64 = 1;
pub const ROLE_CC: i64 = 2;
pub const ROLE_REPLY_TO: i64 = 3;

/// The metadata store.
pub struct Store {
    pub conn: Connection,
    /// The next unused thread id, once looked up (0: not yet). Only an
    /// import (which holds the archive lock) creates threads.
    next_thread: std::cell::Cell<i64>,
    /// The highest thread id merged away by this store: never handed out
    /// again, so that [`IdCache`] can follow merges by id.
    merged_max: std::cell::Cell<i64>,
    /// Hashes of the subjects in `refless_replies`, once loaded: most
    /// messages have a subject no reference-less reply shares, and need no
    /// query for them.
    refless_subjects: std::cell::RefCell<Option<std::collections::HashSet<u64>>>,
    /// What an import learnt about Message-IDs (see [`IdCache`]).
    ids: std::cell::RefCell<IdCache>,
}

/// The Message-IDs an import has stored or referenced, with their threads,
/// so that its per-message lookups (is this a duplicate? which thread do its
/// references belong to?) mostly skip SQLite.
///
/// Every entry was written through this [`Store`] (a stored message: its
/// row and content hash; a ghost: none), so a hit is always the truth once
/// the threads merged since are followed (`merged`, fed by
/// [`Store::merge_threads`]). A miss is the truth too when the archive had
/// neither messages nor ghosts when the cache started (`complete`: a first
/// import); otherwise SQLite answers it. The cache turns itself off for
/// good beyond [`IdCache::MAX_IDS`] ids, so that an import's memory does
/// not grow with the mailbox.
#[derive(Default)]
enum IdCache {
    #[default]
    Unstarted,
    On {
        /// By [`id_key`].
        ids: rustc_hash::FxHashMap<[u64; 2], CachedId>,
        merged: HashMap<i64, i64>,
        complete: bool,
    },
    Off,
}

#[derive(Clone, Copy)]
struct CachedId {
    thread: i64,
    /// Row and content hash, for a stored message.
    message: Option<(i64, [u8; 32])>,
}

impl IdCache {
    /// Beyond this many ids the cache is dropped. An entry takes 73 bytes
    /// (no allocation of its own), in a table at most 8/7 times as long as
    /// a power of two: ~38 MB at this size, enough for the new messages of
    /// a first import of about 350,000 messages and the ids they reference.
    const MAX_IDS: usize = 400_000;

    /// The cache's answer about `id`: `Some(entry or None)` when it knows,
    /// `None` when SQLite must be asked.
    fn lookup(&self, id: &str) -> Option<Option<CachedId>> {
        let IdCache::On {
            ids,
            merged,
            complete,
        } = self
        else {
            return None;
        };
        match ids.get(&id_key(id)) {
            Some(e) => {
                let mut thread = e.thread;
                while let Some(&into) = merged.get(&thread) {
                    thread = into;
                }
                Some(Some(CachedId {
                    thread,
                    message: e.message,
                }))
            }
            None if *complete => Some(None),
            None => None,
        }
    }

    /// Records `id` (a stored message when `message` is given, else a ghost
    /// that has no entry yet).
    fn record(&mut self, id: &str, thread: i64, message: Option<(i64, [u8; 32])>) {
        let IdCache::On { ids, .. } = self else {
            return;
        };
        let key = id_key(id);
        if ids.len() >= Self::MAX_IDS && !ids.contains_key(&key) {
            *self = IdCache::Off;
            return;
        }
        let entry = CachedId { thread, message };
        if message.is_some() {
            ids.insert(key, entry);
        } else {
            ids.entry(key).or_insert(entry);
        }
    }

    fn merge(&mut self, from: i64, into: i64) {
        if let IdCache::On { merged, .. } = self {
            merged.insert(from, into);
        }
    }
}

/// A Message-ID's key in [`IdCache`]: 128 bits of its BLAKE3 hash (as two
/// u64, which align to 8 bytes where a u128 would take 16). Two of an
/// import's ids sharing one is as likely as two messages sharing a content
/// hash: for a million ids, about 10^-27.
fn id_key(id: &str) -> [u64; 2] {
    let hash = blake3::hash(id.as_bytes());
    let mut halves = [[0u8; 8]; 2];
    halves[0].copy_from_slice(&hash.as_bytes()[..8]);
    halves[1].copy_from_slice(&hash.as_bytes()[8..16]);
    halves.map(u64::from_le_bytes)
}

/// Reads the database header and schema once, so that a file that is not an
/// SQLite database, or one damaged at its start, is reported by name here
/// rather than by the first query.
///
/// A database a killed writer left with a hot rollback journal (the first
/// import, killed while it switched the new database to WAL) cannot be read
/// until a writer plays the journal back, which a read-only connection may
/// not do: that is said as such, not as an unreadable database.
fn probe(conn: &Connection, path: &Path) -> Result<()> {
    match conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.extended_code == rusqlite::ffi::SQLITE_READONLY_ROLLBACK =>
        {
            bail!(
                "{} was left half-written by a kura that was stopped: the next `kura import` puts it right",
                path.display()
            )
        }
        r => r.with_context(|| format!("{} is not a readable kura database", path.display()))?,
    };
    Ok(())
}

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    // The import writer alone uses ~20 statements per message; re-preparing
    // evicted ones was a large share of import time.
    conn.set_prepared_statement_cache_capacity(128);
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    // Plans must not depend on bound values: with STAT4 compiled in, SQLite
    // otherwise re-prepares some statements on every new binding (the
    // subject-fallback lookup ran the SQL parser once per imported message).
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

/// The place in a pack that columns `first`, `first + 1` and `first + 2`
/// of `r` give (`pack`, `pack_offset`, `pack_len`, as every table that
/// refers to an original names them).
pub fn pack_ref(r: &rusqlite::Row, first: usize) -> rusqlite::Result<PackRef> {
    Ok(PackRef {
        pack: r.get(first)?,
        offset: r.get::<_, i64>(first + 1)? as u64,
        len: r.get(first + 2)?,
    })
}

/// Whether the database `conn` has table `name`.
fn table_exists(conn: &Connection, name: &str) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [name],
        |r| r.get(0),
    )?)
}

impl Store {
    fn new(conn: Connection) -> Store {
        Store {
            conn,
            next_thread: std::cell::Cell::new(0),
            merged_max: std::cell::Cell::new(0),
            refless_subjects: std::cell::RefCell::new(None),
            ids: std::cell::RefCell::new(IdCache::Unstarted),
        }
    }

    /// Opens (creating if needed) the store of `archive` for writing.
    pub fn open_rw(archive: &Archive) -> Result<Store> {
        let path = archive.db_path();
        let conn =
            Connection::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
        probe(&conn, &path)?;
        configure(&conn)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // Imports touch B-trees keyed by Message-IDs all over: a bigger page
        // cache than SQLite's 2 MB default saves re-reading pages.
        conn.pragma_update(None, "cache_size", -64 * 1024)?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // Checkpoint the WAL every 64 MB instead of SQLite's 4 MB: the index
        // pages an import touches all over are then copied back once per
        // checkpoint rather than at almost every commit (an import of 100k
        // messages spent 2% of its CPU in checkpoints).
        conn.pragma_update(None, "wal_autocheckpoint", 16384)?;
        let before_signatures =
            table_exists(&conn, "messages")? && !table_exists(&conn, "signatures")?;
        // One transaction: a kill while the first import creates the archive
        // leaves every table or none (see `open_ro`).
        conn.execute_batch(&format!("BEGIN; {SCHEMA} COMMIT;"))
            .with_context(|| format!("cannot create the schema in {}", path.display()))?;
        if before_signatures {
            // The messages stored so far were stored by a kura that did not
            // read signatures: a reindex reads them.
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value)
                 SELECT ?1, MAX(id) + 1 FROM messages WHERE id IS NOT NULL HAVING COUNT(*) > 0",
                [SIGNATURES_SINCE],
            )
            .with_context(|| format!("cannot write to {}", path.display()))?;
        }
        // From here on, every index document written carries the terms that
        // say which header an address is in; older ones may not.
        conn.execute(
            "INSERT OR IGNORE INTO meta (key, value)
             SELECT ?1, IFNULL(MAX(id), 0) + 1 FROM messages",
            [crate::index::ROLE_TERMS_SINCE],
        )
        .with_context(|| format!("cannot write to {}", path.display()))?;
        let store = Store::new(conn);
        store.upgrade_content_hashes(archive)?;
        for (table, column, declaration) in ADDED_COLUMNS {
            if !store.has_column(table, column)? {
                store
                    .conn
                    .execute_batch(&format!(
                        "ALTER TABLE {table} ADD COLUMN {column} {declaration}"
                    ))
                    .with_context(|| {
                        format!("cannot add {table}.{column} to {}", path.display())
                    })?;
            }
        }
        match store.meta("schema_version")? {
            None => store.set_meta("schema_version", &SCHEMA_VERSION.to_string())?,
            Some(v) if v == SCHEMA_VERSION.to_string() => {}
            Some(v) => bail!(
                "{} was written by another version of kura (schema {v}, this kura reads {SCHEMA_VERSION})",
                path.display()
            ),
        }
        Ok(store)
    }

    /// Opens the store read-only (searching works while an import writes, and
    /// on a read-only archive directory).
    pub fn open_ro(archive: &Archive) -> Result<Store> {
        archive.require()?;
        let path = archive.db_path();
        let conn = open_read_only(&path)?;
        probe(&conn, &path)?;
        configure(&conn)?;
        if !table_exists(&conn, "meta")? {
            bail!(
                "the archive at {} is not complete: the import that created it was stopped before it wrote its tables; run `kura import PATH...` again",
                archive.root.display()
            );
        }
        Ok(Store::new(conn))
    }

    /// Recomputes the content hash of every stored message from its original
    /// when the archive's were computed another way (meta `content_hash`
    /// below [`CONTENT_HASH_VERSION`]), so that a later copy of a stored
    /// message is still a duplicate, not a conflict. Once per archive; an
    /// archive without messages only records the version. An original that
    /// cannot be read or parsed keeps its hash (`kura check` reports it).
    fn upgrade_content_hashes(&self, archive: &Archive) -> Result<()> {
        let version = CONTENT_HASH_VERSION.to_string();
        if self.meta("content_hash")?.as_deref() == Some(version.as_str()) {
            return Ok(());
        }
        let messages = self.stored_messages()?;
        let mut reader = crate::pack::PackReader::new(&archive.originals_dir());
        self.begin()?;
        {
            let mut update = self
                .conn
                .prepare("UPDATE messages SET content_hash = ?1 WHERE id = ?2")?;
            for m in messages {
                let Ok(raw) = reader.read(m.pack, m.size, &m.raw_hash) else {
                    continue;
                };
                if let Ok(p) = crate::parse::parse_message(&raw, Some(m.date)) {
                    update.execute(params![&p.content_hash[..], m.id])?;
                }
            }
        }
        self.set_meta("content_hash", &version)?;
        self.commit()
            .context("cannot record the upgraded content hashes")
    }

    /// Every message row, by id.
    pub fn stored_messages(&self) -> Result<Vec<StoredMessage>> {
        let mut q = self.conn.prepare(
            "SELECT id, pack, pack_offset, pack_len, size, date, raw_hash, batch, date_source
             FROM messages ORDER BY id",
        )?;
        let rows = q
            .query_map([], |r| {
                Ok(StoredMessage {
                    id: r.get(0)?,
                    pack: pack_ref(r, 1)?,
                    size: r.get::<_, i64>(4)? as usize,
                    date: r.get(5)?,
                    raw_hash: r.get(6)?,
                    batch: r.get(7)?,
                    local_date: r.get_ref(8)?.as_str()? == DateSource::LocalHeader.as_str(),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Whether `table` has `column` (an archive written before the column was
    /// added lacks it until a command opens it for writing).
    pub fn has_column(&self, table: &str, column: &str) -> Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2",
                [table, column],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Whether the database has table `name` (an archive no command of this
    /// kura has written to may lack the newer ones).
    pub fn has_table(&self, name: &str) -> Result<bool> {
        table_exists(&self.conn, name)
    }

    /// How many stored messages were stored by a kura that did not read
    /// signatures (see [`SIGNATURES_SINCE`]): until a reindex reads them,
    /// their customers go by the names in their headers.
    pub fn messages_without_signatures(&self) -> Result<u64> {
        let since: i64 = if self.has_table("signatures")? {
            match self.meta(SIGNATURES_SINCE)? {
                Some(v) => v.parse().unwrap_or(0),
                None => return Ok(0),
            }
        } else {
            i64::MAX
        };
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM messages WHERE id < ?1",
            [since],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    /// Writes the database afresh (`VACUUM`): free pages and the stale
    /// copies of cells that earlier writes left in pages go.
    pub fn vacuum(&self) -> Result<()> {
        self.conn
            .execute_batch("VACUUM")
            .context("cannot vacuum the database")
    }

    /// Writes the WAL back into the database and empties it; false when a
    /// reader's snapshot kept part of it from being written back (after the
    /// busy timeout).
    pub fn truncate_wal(&self) -> Result<bool> {
        // The checkpoint reports (busy, log, checkpointed) as a row.
        let busy: i64 = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
            .context("cannot checkpoint the database")?;
        Ok(busy == 0)
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// Records `opts` as how the archive is threaded (by the last import,
    /// or by a reindex told otherwise). The fallback off keeps the window
    /// recorded before, for `--subject-threading` to turn it back on with.
    pub fn record_thread_options(&self, opts: ThreadOptions) -> Result<()> {
        let (value, window) = match opts.subject_fallback {
            true => (opts.window.to_string(), opts.window),
            false => ("off".to_string(), self.recorded_thread_options()?.window),
        };
        self.set_meta(SUBJECT_WINDOW, &window.to_string())?;
        self.set_meta(SUBJECT_THREADING, &value)
    }

    /// The options [`Store::record_thread_options`] recorded; the defaults
    /// when none were (an archive an earlier version wrote), and the
    /// default window with an `off` an earlier version recorded.
    pub fn recorded_thread_options(&self) -> Result<ThreadOptions> {
        let default = ThreadOptions::default();
        Ok(match self.meta(SUBJECT_THREADING)?.as_deref() {
            Some("off") => ThreadOptions {
                subject_fallback: false,
                window: self
                    .meta(SUBJECT_WINDOW)?
                    .and_then(|w| w.parse().ok())
                    .unwrap_or(default.window),
            },
            Some(window) => ThreadOptions {
                window: window.parse().unwrap_or(default.window),
                ..default
            },
            None => default,
        })
    }

    pub fn meta_i64(&self, key: &str) -> Result<i64> {
        Ok(self.meta(key)?.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    /// Message row id by Message-ID.
    pub fn message_row(&self, message_id: &str) -> Result<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached("SELECT id FROM messages WHERE message_id = ?1")?
            .query_row([message_id], |r| r.get(0))
            .optional()?)
    }

    /// Where a message's original lives, and its size and hash.
    pub fn original_ref(&self, id: i64) -> Result<Option<OriginalRef>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT pack, pack_offset, pack_len, size, raw_hash FROM messages WHERE id = ?1",
            )?
            .query_row([id], |r| {
                Ok((pack_ref(r, 0)?, r.get::<_, i64>(3)? as usize, r.get(4)?))
            })
            .optional()?)
    }
}

/// Opens a database read-only. On a read-only directory a WAL database cannot
/// create its shared-memory file, so it is opened as immutable instead.
fn open_read_only(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let dir_writable = path
        .parent()
        .map(|d| rustix::fs::access(d, rustix::fs::Access::WRITE_OK).is_ok())
        .unwrap_or(false);
    let conn = if dir_writable {
        Connection::open_with_flags(path, flags)
    } else {
        let uri = format!("file:{}?immutable=1", uri_escape(path));
        Connection::open_with_flags(uri, flags)
    };
    conn.with_context(|| format!("cannot open {}", path.display()))
}

fn uri_escape(path: &Path) -> String {
    let mut out = String::new();
    for b in path.as_os_str().as_encoded_bytes() {
        match b {
            b'/' | b'-' | b'_' | b'.' | b'~' | b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => {
                out.push(*b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// What the writer decided about an incoming message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    New(i64),
    Duplicate(i64),
    Conflict(i64),
}

/// A source file's path as the store records it (`files.path`,
/// `locations.source`, `rejects.source`): text when it is UTF-8, as nearly
/// every path is, else its raw bytes (a BLOB), so that a name that is not
/// UTF-8 (a folder named in CP932, as a zip made on Windows unpacks) stays
/// the name it is: two such names are two files, and the path read back
/// ([`recorded_path`]) opens the file. Text sorts before any BLOB and
/// compares with none, so a lookup or a range of one kind meets only paths
/// of its kind. (Earlier versions recorded such paths as text, with U+FFFD
/// for each byte that is not UTF-8.)
#[derive(Debug, Clone, Copy)]
pub struct SourcePath<'a>(pub &'a Path);

impl ToSql for SourcePath<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        let bytes = self.0.as_os_str().as_bytes();
        Ok(ToSqlOutput::Borrowed(match std::str::from_utf8(bytes) {
            Ok(_) => ValueRef::Text(bytes),
            Err(_) => ValueRef::Blob(bytes),
        }))
    }
}

/// The path recorded in column `i` of `r` (see [`SourcePath`]).
pub fn recorded_path(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<PathBuf> {
    let bytes = r.get_ref(i)?.as_bytes()?;
    Ok(PathBuf::from(OsString::from_vec(bytes.to_vec())))
}

/// A place a message was read from.
#[derive(Debug, Clone)]
pub struct Place<'a> {
    pub source: &'a Path,
    pub kind: &'a str,
    pub mbox_offset: Option<u64>,
}

impl Place<'_> {
    /// The offset as queries match it (`ifnull(mbox_offset, -1)`): -1 for a
    /// whole file.
    fn offset_key(&self) -> i64 {
        self.mbox_offset.map_or(-1, |o| o as i64)
    }
}

/// Threading options for the writer.
#[derive(Debug, Clone, Copy)]
pub struct ThreadOptions {
    /// Join reference-less replies to a thread with the same subject.
    pub subject_fallback: bool,
    /// Window for the subject fallback, seconds.
    pub window: i64,
}

/// `meta` key: the largest thread id merged away or dropped by
/// [`crate::threads::rethread`], so that no later thread gets it (a user may
/// have noted `thread:42`; it must not name another conversation later).
const THREAD_HIGH: &str = "thread_high";

/// `meta` key: how the last import threaded by subject: `off`, or the
/// window in seconds ([`Store::record_thread_options`]).
const SUBJECT_THREADING: &str = "subject_threading";

/// `meta` key: the window in seconds, kept while `subject_threading` is
/// `off` (a key of its own: earlier versions read anything but `off` there
/// as a window, and a window they cannot read as the default one, on).
const SUBJECT_WINDOW: &str = "subject_window";

impl Default for ThreadOptions {
    fn default() -> Self {
        ThreadOptions {
            subject_fallback: true,
            window: 30 * 86_400,
        }
    }
}

/// Writes within the current transaction; see [`crate::import`] for batching.
impl Store {
    pub fn begin(&self) -> Result<()> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(())
    }

    /// Begins a read transaction and takes its snapshot now (a deferred
    /// transaction takes it at its first read). It lasts until the store is
    /// dropped: for read-only stores that answer many lookups.
    pub fn begin_read(&self) -> Result<()> {
        self.conn.execute_batch("BEGIN")?;
        self.conn
            .query_row("SELECT count(*) FROM meta", [], |_| Ok(()))
            .context("cannot read the store")?;
        Ok(())
    }

    pub fn commit(&self) -> Result<()> {
        let path = self.conn.path().unwrap_or("the store").to_string();
        match self.conn.execute_batch("COMMIT") {
            Ok(()) => Ok(()),
            Err(e @ rusqlite::Error::SqliteFailure(f, _))
                if f.code == rusqlite::ErrorCode::DiskFull =>
            {
                // Say it as the system would: "database or disk is full" hides which.
                Err(e).with_context(|| format!("cannot commit to {path}: no space left on device"))
            }
            Err(e) => Err(e).with_context(|| format!("cannot commit to {path}")),
        }
    }

    /// Looks up an existing message by Message-ID: (row, content hash).
    pub fn find_message(&self, message_id: &str) -> Result<Option<(i64, Vec<u8>)>> {
        if let Some(known) = self.cached_id(message_id)? {
            return Ok(known
                .and_then(|e| e.message)
                .map(|(row, hash)| (row, hash.to_vec())));
        }
        Ok(self
            .conn
            .prepare_cached("SELECT id, content_hash FROM messages WHERE message_id = ?1")?
            .query_row([message_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    /// Inserts a new message and its addresses/attachments; returns its row id.
    /// Its thread is assigned by [`Store::assign_thread`] afterwards.
    #[allow(clippy::too_many_arguments)]
    pub fn insert_message(
        &self,
        m: &ParsedMessage,
        size: usize,
        raw_hash: &[u8; 32],
        pack: PackRef,
        thread: i64,
        batch: i64,
    ) -> Result<i64> {
        let from = m.from.clone().unwrap_or_default();
        self.conn
            .prepare_cached(
                "INSERT INTO messages (message_id, synthetic_id, date, date_source, from_name, from_addr,
                    subject, subject_norm, is_reply, is_forward, in_reply_to, refs, size, raw_hash,
                    content_hash, pack, pack_offset, pack_len, thread, batch, attachments)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21)",
            )?
            .execute(params![
                m.message_id,
                m.synthetic_id,
                m.date,
                m.date_source.as_str(),
                from.name,
                from.address,
                m.subject,
                m.subject_info.normalized,
                m.subject_info.is_reply,
                m.subject_info.is_forward,
                m.in_reply_to.join(" "),
                m.references.join(" "),
                size as i64,
                &raw_hash[..],
                &m.content_hash[..],
                pack.pack,
                pack.offset as i64,
                pack.len,
                thread,
                batch,
                m.attachments.len() as i64,
            ])?;
        let id = self.conn.last_insert_rowid();
        self.ids
            .borrow_mut()
            .record(&m.message_id, thread, Some((id, m.content_hash)));
        self.insert_mailboxes(id, mailboxes(m))?;
        self.insert_attachments(id, &m.attachments)?;
        self.replace_organisation(id, m.organisation.as_deref())?;
        Ok(id)
    }

    /// The organisation recorded as the one `message`'s signature names.
    pub fn recorded_organisation(&self, message: i64) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT organisation FROM signatures WHERE message = ?1")?
            .query_row([message], |r| r.get(0))
            .optional()?)
    }

    /// Records `organisation` as the one `message`'s signature names (none:
    /// no record).
    pub fn replace_organisation(&self, message: i64, organisation: Option<&str>) -> Result<()> {
        match organisation {
            Some(org) => self
                .conn
                .prepare_cached(
                    "INSERT OR REPLACE INTO signatures (message, organisation) VALUES (?1, ?2)",
                )?
                .execute(params![message, org])?,
            None => self
                .conn
                .prepare_cached("DELETE FROM signatures WHERE message = ?1")?
                .execute([message])?,
        };
        Ok(())
    }

    fn insert_mailboxes(&self, message: i64, lists: Mailboxes<'_>) -> Result<()> {
        let mut addr = self
            .conn
            .prepare_cached("INSERT OR IGNORE INTO addresses (message, role, position, name, address) VALUES (?1,?2,?3,?4,?5)")?;
        for (role, list) in lists.iter().enumerate() {
            for (i, mb) in list.iter().enumerate() {
                addr.execute(params![message, role as i64, i as i64, mb.name, mb.address])?;
            }
        }
        Ok(())
    }

    /// The mailboxes recorded for `message`, by role.
    pub fn recorded_mailboxes(&self, message: i64) -> Result<[Vec<Mailbox>; 4]> {
        let mut lists: [Vec<Mailbox>; 4] = Default::default();
        let mut q = self.conn.prepare_cached(
            "SELECT role, name, address FROM addresses WHERE message = ?1 ORDER BY role, position",
        )?;
        let rows = q.query_map([message], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                Mailbox {
                    name: r.get(1)?,
                    address: r.get(2)?,
                },
            ))
        })?;
        for row in rows {
            let (role, mb) = row?;
            if let Some(list) = usize::try_from(role).ok().and_then(|r| lists.get_mut(r)) {
                list.push(mb);
            }
        }
        Ok(lists)
    }

    /// Replaces the mailboxes recorded for `message` (and its From).
    pub fn replace_mailboxes(&self, message: i64, lists: Mailboxes<'_>) -> Result<()> {
        self.conn
            .prepare_cached("DELETE FROM addresses WHERE message = ?1")?
            .execute([message])?;
        self.insert_mailboxes(message, lists)?;
        let from = lists[ROLE_FROM as usize]
            .first()
            .cloned()
            .unwrap_or_default();
        self.conn
            .prepare_cached("UPDATE messages SET from_name = ?2, from_addr = ?3 WHERE id = ?1")?
            .execute(params![message, from.name, from.address])?;
        Ok(())
    }

    /// The Subject, content hash and date recorded for `message`.
    pub fn recorded_headers(&self, message: i64) -> Result<RecordedHeaders> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT subject, content_hash, date, date_source, message_id, synthetic_id,
                        refs, in_reply_to
                 FROM messages WHERE id = ?1",
            )?
            .query_row([message], |r| {
                Ok(RecordedHeaders {
                    subject: r.get(0)?,
                    content_hash: r.get(1)?,
                    date: r.get(2)?,
                    date_source: r.get(3)?,
                    message_id: r.get(4)?,
                    synthetic_id: r.get(5)?,
                    references: r.get(6)?,
                    in_reply_to: r.get(7)?,
                })
            })?;
        Ok(row)
    }

    /// Replaces the Subject and date recorded for `message` with those of
    /// `m` (the message read anew), with what threading by subject reads of
    /// the Subject, and threads it by subject as an import would (with the
    /// default [`ThreadOptions`]; the date decides which mail is near
    /// enough): a reference-less reply joins the thread of its original, and
    /// an original the reference-less replies imported before it (merging
    /// threads, never splitting them). Its row among the reference-less
    /// replies follows: gone if it is not one any more.
    pub fn replace_subject_and_date(&self, message: i64, m: &ParsedMessage) -> Result<()> {
        let info = &m.subject_info;
        self.conn
            .prepare_cached(
                "UPDATE messages SET subject = ?2, subject_norm = ?3, is_reply = ?4, is_forward = ?5,
                 date = ?6, date_source = ?7 WHERE id = ?1",
            )?
            .execute(params![
                message,
                m.subject,
                info.normalized,
                info.is_reply,
                info.is_forward,
                m.date,
                m.date_source.as_str()
            ])?;
        self.conn
            .prepare_cached("DELETE FROM refless_replies WHERE message = ?1")?
            .execute([message])?;
        let thread: i64 = self
            .conn
            .prepare_cached("SELECT thread FROM messages WHERE id = ?1")?
            .query_row([message], |r| r.get(0))?;
        self.subject_fallback(message, m, thread, ThreadOptions::default())?;
        Ok(())
    }

    /// Names `message`, stored under a synthetic id, by its Message-ID `id`
    /// (an earlier version did not read it), unless another message has
    /// that id; its thread and that of the mail that referenced `id` become
    /// one. Whether it was renamed.
    pub fn name_by_message_id(&self, message: i64, id: &str) -> Result<bool> {
        let taken: bool = self
            .conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM messages WHERE message_id = ?1)")?
            .query_row([id], |r| r.get(0))?;
        if taken {
            return Ok(false);
        }
        let thread: i64 = self
            .conn
            .prepare_cached(
                "UPDATE messages SET message_id = ?2, synthetic_id = 0 WHERE id = ?1 RETURNING thread",
            )?
            .query_row(params![message, id], |r| r.get(0))?;
        if let Some(referenced) = self.ghost_thread(id)? {
            self.merge_threads(referenced.max(thread), referenced.min(thread))?;
        }
        Ok(true)
    }

    /// Replaces the References and In-Reply-To ids recorded for `message`
    /// (threads follow them when they are worked out again:
    /// [`crate::threads::rethread`]).
    pub fn replace_references(
        &self,
        message: i64,
        references: &[String],
        in_reply_to: &[String],
    ) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE messages SET refs = ?2, in_reply_to = ?3 WHERE id = ?1")?
            .execute(params![
                message,
                references.join(" "),
                in_reply_to.join(" ")
            ])?;
        Ok(())
    }

    /// Replaces the content hash recorded for `message` (which tells a later
    /// copy's duplicate from a conflict).
    pub fn replace_content_hash(&self, message: i64, hash: &[u8; 32]) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE messages SET content_hash = ?2 WHERE id = ?1")?
            .execute(params![message, &hash[..]])?;
        Ok(())
    }

    /// The attachment list recorded for `message`.
    pub fn recorded_attachments(&self, message: i64) -> Result<Vec<Attachment>> {
        let list = self
            .conn
            .prepare_cached(
                "SELECT filename, mime, size FROM attachments WHERE message = ?1 ORDER BY position",
            )?
            .query_map([message], |r| {
                Ok(Attachment {
                    filename: r.get(0)?,
                    mime: r.get(1)?,
                    size: r.get::<_, i64>(2)?.max(0) as u64,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(list)
    }

    fn insert_attachments(&self, message: i64, list: &[Attachment]) -> Result<()> {
        let mut att = self
            .conn
            .prepare_cached("INSERT INTO attachments (message, position, filename, mime, size) VALUES (?1,?2,?3,?4,?5)")?;
        for (i, a) in list.iter().enumerate() {
            att.execute(params![
                message,
                i as i64,
                a.filename,
                a.mime,
                a.size as i64
            ])?;
        }
        Ok(())
    }

    /// Replaces the attachment list recorded for `message` (and its count).
    pub fn replace_attachments(&self, message: i64, list: &[Attachment]) -> Result<()> {
        self.conn
            .prepare_cached("DELETE FROM attachments WHERE message = ?1")?
            .execute([message])?;
        self.insert_attachments(message, list)?;
        self.conn
            .prepare_cached("UPDATE messages SET attachments = ?2 WHERE id = ?1")?
            .execute(params![message, list.len() as i64])?;
        Ok(())
    }

    /// Records where a message was found.
    #[allow(clippy::too_many_arguments)]
    pub fn add_location(
        &self,
        message: i64,
        place: &Place<'_>,
        status: i64,
        raw_hash: &[u8; 32],
        size: usize,
        pack: Option<PackRef>,
        batch: i64,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO locations (message, source, kind, mbox_offset, status, raw_hash, size,
                    pack, pack_offset, pack_len, batch) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
            )?
            .execute(params![
                message,
                SourcePath(place.source),
                place.kind,
                place.mbox_offset.map(|o| o as i64),
                status,
                &raw_hash[..],
                size as i64,
                pack.map(|p| p.pack),
                pack.map(|p| p.offset as i64),
                pack.map(|p| p.len),
                batch,
            ])?;
        Ok(())
    }

    /// Records that source files were renamed (`(old path, new path)`, same
    /// size and mtime): the `files` rows, places and rejects that named an
    /// old path name the new one. One pass over `locations` (which has no
    /// index by source) for all of them.
    pub fn rename_sources(&self, renames: &[(PathBuf, PathBuf)]) -> Result<()> {
        if renames.is_empty() {
            return Ok(());
        }
        self.conn.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS renamed (old TEXT PRIMARY KEY, new TEXT NOT NULL);
             DELETE FROM temp.renamed;",
        )?;
        {
            let mut insert = self
                .conn
                .prepare_cached("INSERT OR REPLACE INTO temp.renamed (old, new) VALUES (?1, ?2)")?;
            for (old, new) in renames {
                insert.execute([SourcePath(old), SourcePath(new)])?;
            }
        }
        self.conn
            .execute_batch(
                "UPDATE files SET path = r.new FROM temp.renamed AS r WHERE files.path = r.old;
                 UPDATE locations SET source = r.new FROM temp.renamed AS r WHERE locations.source = r.old;
                 UPDATE rejects SET source = r.new FROM temp.renamed AS r WHERE rejects.source = r.old;
                 DELETE FROM temp.renamed;",
            )
            .context("cannot record renamed source files")?;
        Ok(())
    }

    /// True when this copy of `message` (bytes hashing to `raw_hash`) was
    /// already recorded at `place`. With the message's own content
    /// (`same_content`), any copy recorded there is this one, whatever its
    /// bytes (a mail client may have rewritten a `Status:` header); a
    /// conflicting copy only if it is those very bytes (a place rewritten with
    /// other content holds a new copy to keep).
    pub fn copy_known(
        &self,
        message: i64,
        place: &Place<'_>,
        same_content: bool,
        raw_hash: &[u8; 32],
    ) -> Result<bool> {
        let raw_hash = (!same_content).then_some(&raw_hash[..]);
        let off = place.offset_key();
        let known: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT 1 FROM locations WHERE message = ?1 AND source = ?2 AND ifnull(mbox_offset, -1) = ?3
                 AND (?4 IS NULL OR raw_hash = ?4)",
            )?
            .query_row(
                params![message, SourcePath(place.source), off, raw_hash],
                |r| r.get(0),
            )
            .optional()?;
        Ok(known.is_some())
    }

    /// The copies of `message` recorded from the mbox `source` in batches
    /// before `batch`, primary first, then by offset.
    pub fn copies_in(&self, message: i64, source: &Path, batch: i64) -> Result<Vec<RecordedCopy>> {
        let copies = self
            .conn
            .prepare_cached(
                "SELECT id, mbox_offset, status, raw_hash FROM locations
                 WHERE message = ?1 AND source = ?2 AND batch < ?3
                 ORDER BY status, mbox_offset",
            )?
            .query_map(params![message, SourcePath(source), batch], |r| {
                Ok(RecordedCopy {
                    id: r.get(0)?,
                    offset: r.get::<_, Option<i64>>(1)?.map(|o| o as u64),
                    status: r.get(2)?,
                    raw_hash: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(copies)
    }

    /// The extra copies (not the place a message was first imported from)
    /// recorded from `source`: their location ids.
    pub fn extra_copies_from(&self, source: &Path) -> Result<Vec<i64>> {
        let ids = self
            .conn
            .prepare_cached("SELECT id FROM locations WHERE source = ?1 AND status != 0")?
            .query_map([SourcePath(source)], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }

    /// Sets the mbox offset of the location `id` (a copy that moved when its
    /// mbox was rewritten).
    pub fn move_location(&self, id: i64, offset: u64) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE locations SET mbox_offset = ?1 WHERE id = ?2")?
            .execute(params![offset as i64, id])?;
        Ok(())
    }

    /// Forgets the location `id` (an extra copy its rewritten mbox no longer holds).
    pub fn forget_location(&self, id: i64) -> Result<()> {
        self.conn
            .prepare_cached("DELETE FROM locations WHERE id = ?1")?
            .execute([id])?;
        Ok(())
    }

    /// Whether this reject (bytes hashing to `raw_hash`) is already recorded
    /// at `place`. A place rewritten with other bytes that still cannot be
    /// imported (a file, or an offset of a rewritten mbox) is not: its old
    /// reject row is dropped, for the caller to record the place as it is now.
    pub fn reject_known(&self, place: &Place<'_>, raw_hash: &[u8; 32]) -> Result<bool> {
        let off = place.offset_key();
        let known: Option<Vec<u8>> = self
            .conn
            .prepare_cached(
                "SELECT raw_hash FROM rejects WHERE source = ?1 AND ifnull(mbox_offset, -1) = ?2",
            )?
            .query_row(params![SourcePath(place.source), off], |r| r.get(0))
            .optional()?;
        match known {
            None => Ok(false),
            Some(h) if h == raw_hash => Ok(true),
            Some(_) => {
                self.forget_reject(place)?;
                Ok(false)
            }
        }
    }

    /// Sources of the rejects that are whole files (not mbox messages).
    pub fn rejected_files(&self) -> Result<std::collections::HashSet<PathBuf>> {
        let mut q = self
            .conn
            .prepare("SELECT source FROM rejects WHERE mbox_offset IS NULL")?;
        let rows = q
            .query_map([], |r| recorded_path(r, 0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Drops the reject recorded at `place`, if any (the place now holds
    /// something else: a fixed file, or other bytes to record).
    pub fn forget_reject(&self, place: &Place<'_>) -> Result<()> {
        let off = place.offset_key();
        self.conn
            .prepare_cached(
                "DELETE FROM rejects WHERE source = ?1 AND ifnull(mbox_offset, -1) = ?2",
            )?
            .execute(params![SourcePath(place.source), off])?;
        Ok(())
    }

    /// Moves a reject of the same bytes from the same mbox to `place`, for a
    /// re-read of a rewritten file: an unreadable message whose offset changed
    /// (an earlier message was removed) stays one reject, at its new offset.
    /// Rejects at offsets in `met` (already found again in this read) stay
    /// where they are. False when there is none to move.
    pub fn move_reject(
        &self,
        place: &Place<'_>,
        raw_hash: &[u8; 32],
        met: &std::collections::HashSet<u64>,
    ) -> Result<bool> {
        let Some(to) = place.mbox_offset else {
            return Ok(false);
        };
        let candidates: Vec<(i64, i64)> = self
            .conn
            .prepare_cached(
                "SELECT id, mbox_offset FROM rejects
                 WHERE source = ?1 AND raw_hash = ?2 AND mbox_offset IS NOT NULL
                 ORDER BY mbox_offset",
            )?
            .query_map(params![SourcePath(place.source), &raw_hash[..]], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let Some((id, _)) = candidates
            .into_iter()
            .find(|&(_, offset)| offset as u64 != to && !met.contains(&(offset as u64)))
        else {
            return Ok(false);
        };
        self.conn
            .prepare_cached("UPDATE rejects SET mbox_offset = ?1 WHERE id = ?2")?
            .execute(params![to as i64, id])?;
        Ok(true)
    }

    #[allow(clippy::too_many_arguments)]
    pub fn add_reject(
        &self,
        place: &Place<'_>,
        reason: &str,
        size: usize,
        raw_hash: &[u8; 32],
        pack: PackRef,
        batch: i64,
    ) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "INSERT OR IGNORE INTO rejects (source, mbox_offset, reason, size, raw_hash, pack, pack_offset,
                    pack_len, time, batch) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
            )?
            .execute(params![
                SourcePath(place.source),
                place.mbox_offset.map(|o| o as i64),
                reason,
                size as i64,
                &raw_hash[..],
                pack.pack,
                pack.offset as i64,
                pack.len,
                chrono::Utc::now().timestamp(),
                batch,
            ])?;
        Ok(n > 0)
    }

    /// What the import's id cache knows about `id` (see [`IdCache`]),
    /// starting the cache on first use.
    fn cached_id(&self, id: &str) -> Result<Option<Option<CachedId>>> {
        let mut cache = self.ids.borrow_mut();
        if matches!(*cache, IdCache::Unstarted) {
            let empty: bool = self.conn.query_row(
                "SELECT NOT EXISTS (SELECT 1 FROM messages) AND NOT EXISTS (SELECT 1 FROM thread_ids)",
                [],
                |r| r.get(0),
            )?;
            *cache = IdCache::On {
                ids: Default::default(),
                merged: HashMap::new(),
                complete: empty,
            };
        }
        Ok(cache.lookup(id))
    }

    /// The thread of each Message-ID: a stored message's, else a ghost's
    /// (an id some message referenced), else `None`.
    pub fn threads_of(&self, ids: &[&str]) -> Result<Vec<Option<i64>>> {
        let mut q = self
            .conn
            .prepare_cached("SELECT thread FROM messages WHERE message_id = ?1")?;
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(known) = self.cached_id(id)? {
                found.push(known.map(|e| e.thread));
                continue;
            }
            let t = match q.query_row([id], |r| r.get(0)).optional()? {
                Some(t) => Some(t),
                None => self.ghost_thread(id)?,
            };
            found.push(t);
        }
        Ok(found)
    }

    /// The thread of a ghost (a Message-ID referenced but not stored as a
    /// message when it was first referenced).
    pub fn ghost_thread(&self, message_id: &str) -> Result<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached("SELECT thread FROM thread_ids WHERE msgid = ?1")?
            .query_row([message_id], |r| r.get(0))
            .optional()?)
    }

    /// The thread of a new message with Message-ID `message_id` referencing
    /// `refs`: the thread of any id among them already known (merging the
    /// threads the message joins), else a new thread. Records referenced ids
    /// never received as ghosts. Call before inserting the message.
    pub fn assign_thread(&self, message_id: &str, refs: &[String]) -> Result<i64> {
        let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
        // A new message's own id can only be known as a ghost.
        let own = match self.cached_id(message_id)? {
            Some(known) => known.map(|e| e.thread),
            None => self.ghost_thread(message_id)?,
        };
        let mut known = vec![own];
        known.extend(self.threads_of(&refs)?);
        let mut threads: Vec<i64> = Vec::new();
        for t in known.iter().flatten() {
            if !threads.contains(t) {
                threads.push(*t);
            }
        }
        let thread = match threads.iter().copied().min() {
            Some(t) => t,
            None => self.new_thread()?,
        };
        for &other in threads.iter().filter(|&&t| t != thread) {
            self.merge_threads(other, thread)?;
        }
        for (id, t) in refs.iter().zip(&known[1..]) {
            if t.is_none() {
                self.add_ghost(id, thread)?;
                self.ids.borrow_mut().record(id, thread, None);
            }
        }
        Ok(thread)
    }

    /// A thread id not used yet.
    pub fn new_thread(&self) -> Result<i64> {
        let mut next = self.next_thread.get();
        if next == 0 {
            next = self.max_thread()? + 1;
        }
        // Not an id merged away (the largest may have been).
        next = next.max(self.merged_max.get() + 1);
        self.next_thread.set(next + 1);
        Ok(next)
    }

    /// The largest thread id handed out so far: of a message or a ghost, or
    /// merged away (`THREAD_HIGH`); 0 when there is none.
    pub fn max_thread(&self) -> Result<i64> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT max(coalesce((SELECT max(thread) FROM messages), 0),
                            coalesce((SELECT max(thread) FROM thread_ids), 0),
                            coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?1), 0))",
            )?
            .query_row([THREAD_HIGH], |r| r.get(0))?)
    }

    /// Records that thread ids up to `id` were handed out (`THREAD_HIGH`).
    pub fn raise_thread_high(&self, id: i64) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO meta (key, value) VALUES (?1, CAST(?2 AS TEXT))
                 ON CONFLICT(key) DO UPDATE
                 SET value = CAST(max(CAST(value AS INTEGER), ?2) AS TEXT)",
            )?
            .execute(params![THREAD_HIGH, id])?;
        Ok(())
    }

    /// Every stored message's row, Message-ID and thread, in row order.
    pub fn each_message_thread(
        &self,
        mut visit: impl FnMut(i64, &str, i64) -> Result<()>,
    ) -> Result<()> {
        let mut q = self
            .conn
            .prepare("SELECT id, message_id, thread FROM messages ORDER BY id")?;
        let mut rows = q.query([])?;
        while let Some(r) = rows.next()? {
            visit(r.get(0)?, r.get_ref(1)?.as_str()?, r.get(2)?)?;
        }
        Ok(())
    }

    /// What threading reads of each stored message, in row order, one at a
    /// time (an archive's worth at once would hold every reference).
    pub fn each_thread_facts(
        &self,
        mut visit: impl FnMut(ThreadFacts) -> Result<()>,
    ) -> Result<()> {
        let mut q = self.conn.prepare(
            "SELECT id, message_id, refs, in_reply_to, thread, is_reply, is_forward, subject_norm, date
             FROM messages ORDER BY id",
        )?;
        let mut rows = q.query([])?;
        while let Some(r) = rows.next()? {
            let message_id: &str = r.get_ref(1)?.as_str()?;
            // Stored space-separated (ids hold no whitespace).
            let (references, in_reply_to) = (r.get_ref(2)?.as_str()?, r.get_ref(3)?.as_str()?);
            let (is_reply, is_forward): (bool, bool) = (r.get(5)?, r.get(6)?);
            let referenced = !(references.trim().is_empty() && in_reply_to.trim().is_empty());
            let subject: &str = r.get_ref(7)?.as_str()?;
            let refless_reply = refless_reply(subject, is_reply, is_forward, referenced)
                .then(|| Ok::<_, rusqlite::Error>((subject.to_string(), r.get(8)?)))
                .transpose()?;
            visit(ThreadFacts {
                row: r.get(0)?,
                refs: crate::threads::refs::thread_refs(
                    message_id,
                    references
                        .split_whitespace()
                        .chain(in_reply_to.split_whitespace()),
                ),
                thread: r.get(4)?,
                refless_reply,
            })?;
        }
        Ok(())
    }

    /// Records threads worked out afresh ([`crate::threads::rethread`]):
    /// each message `(row, thread)` of `moved` goes to its thread, and the
    /// ghosts (`(Message-ID, thread)`) and reference-less replies
    /// (`(normalised subject, date, row)`) recorded are these and no others.
    pub fn rewrite_threads(
        &self,
        moved: &[(i64, i64)],
        ghosts: &[(&str, i64)],
        refless_replies: &[(&str, i64, i64)],
    ) -> Result<()> {
        let mut q = self
            .conn
            .prepare_cached("UPDATE messages SET thread = ?2 WHERE id = ?1")?;
        for (row, thread) in moved {
            q.execute(params![row, thread])?;
        }
        self.conn
            .execute_batch("DELETE FROM thread_ids; DELETE FROM refless_replies;")?;
        for (id, thread) in ghosts {
            self.add_ghost(id, *thread)?;
        }
        for (subject, date, row) in refless_replies {
            self.add_refless_reply(subject, *date, *row)?;
        }
        // What this store remembered of threads is stale now.
        *self.ids.borrow_mut() = IdCache::Unstarted;
        *self.refless_subjects.borrow_mut() = None;
        self.next_thread.set(0);
        Ok(())
    }

    /// Records `id`, referenced but not stored, as in `thread` (unless it is
    /// recorded already).
    fn add_ghost(&self, id: &str, thread: i64) -> Result<()> {
        self.conn
            .prepare_cached("INSERT OR IGNORE INTO thread_ids (msgid, thread) VALUES (?1, ?2)")?
            .execute(params![id, thread])?;
        Ok(())
    }

    /// Records message `row` as a reference-less reply ([`refless_reply`]).
    fn add_refless_reply(&self, subject: &str, date: i64, row: i64) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT OR IGNORE INTO refless_replies (subject_norm, date, message) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![subject, date, row])?;
        Ok(())
    }

    /// Moves every message and id of thread `from` into thread `into`.
    pub fn merge_threads(&self, from: i64, into: i64) -> Result<()> {
        if from == into {
            return Ok(());
        }
        self.ids.borrow_mut().merge(from, into);
        if from > self.merged_max.get() {
            self.merged_max.set(from);
            self.raise_thread_high(from)?;
        }
        self.conn
            .prepare_cached("UPDATE thread_ids SET thread = ?1 WHERE thread = ?2")?
            .execute(params![into, from])?;
        self.conn
            .prepare_cached("UPDATE messages SET thread = ?1 WHERE thread = ?2")?
            .execute(params![into, from])?;
        Ok(())
    }

    /// The subject fallback: joins a reference-less reply to the thread of the
    /// earlier message with the same normalised subject, within the window,
    /// that it most likely answers (by whom each is from and addressed to); and (in the
    /// other direction) pulls such replies imported before their original
    /// into this message's thread when this message is the one they answer,
    /// so that import order does not matter.
    pub fn subject_fallback(
        &self,
        row: i64,
        m: &ParsedMessage,
        thread: i64,
        opts: ThreadOptions,
    ) -> Result<i64> {
        let info = &m.subject_info;
        let subject = info.normalized.as_str();
        if !opts.subject_fallback || subject.is_empty() || info.is_forward {
            return Ok(thread);
        }
        let referenced = !(m.references.is_empty() && m.in_reply_to.is_empty());
        let mut thread = thread;
        if refless_reply(subject, info.is_reply, info.is_forward, referenced) {
            self.note_refless_subject(subject)?;
            self.add_refless_reply(subject, m.date, row)?;
            if let Some((_, ct)) = self.original_of(row, subject, m.date, opts)? {
                thread = self.join(thread, ct)?;
            }
        }
        // Reference-less replies imported before this message. (Two simple
        // queries: a join here was planned badly while the tables were empty.)
        if !self.may_have_refless(subject)? {
            return Ok(thread);
        }
        let mut q = self.conn.prepare_cached(
            "SELECT message FROM refless_replies
             WHERE subject_norm = ?1 AND date >= ?2 AND date <= ?3 AND message != ?4
             ORDER BY date, message LIMIT ?5",
        )?;
        let rows: Vec<i64> = q
            .query_map(
                params![
                    subject,
                    m.date,
                    m.date + opts.window,
                    row,
                    MAX_SUBJECT_CANDIDATES as i64
                ],
                |r| r.get(0),
            )?
            .collect::<rusqlite::Result<_>>()?;
        if rows.is_empty() {
            return Ok(thread);
        }
        let mine = self.parties(row)?;
        let mut q = self
            .conn
            .prepare_cached("SELECT thread, date FROM messages WHERE id = ?1")?;
        for rid in rows {
            let (rt, rdate): (i64, i64) = q.query_row([rid], |r| Ok((r.get(0)?, r.get(1)?)))?;
            if rt == thread {
                continue;
            }
            // Only a reply that this very message answers best: a reply to
            // someone else under the same subject stays where it is. It is
            // this message when the reply can answer it and none of the
            // candidates nearer the reply ([`Store::original_of`]'s order).
            let reply = self.parties(rid)?;
            if !can_answer(&reply, &mine) {
                continue;
            }
            let nearer = self.candidates(rid, subject, rdate, opts, Some((m.date, row)))?;
            if nearer.len() < MAX_SUBJECT_CANDIDATES
                && self.first_answered(&reply, nearer)?.is_none()
            {
                thread = self.join(thread, rt)?;
            }
        }
        Ok(thread)
    }

    /// The messages a reference-less reply (row `reply`, dated `date`) may
    /// answer, nearest first, at most [`MAX_SUBJECT_CANDIDATES`]: the same
    /// normalised subject, within the window, not a forward; only those
    /// nearer the reply than message `row` dated `date` when `nearer_than`
    /// is `(date, row)`. Each as (row, thread, sender). Of messages dated
    /// alike the one with the greater Message-ID is nearer (not the one
    /// stored later: the order mail came in makes no difference).
    fn candidates(
        &self,
        reply: i64,
        subject: &str,
        date: i64,
        opts: ThreadOptions,
        nearer_than: Option<(i64, i64)>,
    ) -> Result<Vec<(i64, i64, String)>> {
        let (after_date, after_row) = nearer_than.unwrap_or((i64::MIN, 0));
        let mut q = self.conn.prepare_cached(
            "SELECT id, thread, from_addr FROM messages
             WHERE subject_norm = ?1 AND date <= ?2 AND date >= ?3 AND id != ?4 AND is_forward = 0
               AND (date > ?5
                    OR (date = ?5 AND message_id > (SELECT message_id FROM messages WHERE id = ?6)))
             ORDER BY date DESC, message_id DESC LIMIT ?7",
        )?;
        let cands = q
            .query_map(
                params![
                    subject,
                    date,
                    date - opts.window,
                    reply,
                    after_date,
                    after_row,
                    MAX_SUBJECT_CANDIDATES as i64
                ],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?
            .collect::<rusqlite::Result<_>>()?;
        Ok(cands)
    }

    /// The message a reference-less reply (row `reply`, dated `date`) most
    /// likely answers, and its thread: the nearest earlier message with the
    /// same normalised subject within the window (not a forward) that the
    /// reply can answer by their From, To and Cc (see [`can_answer`]).
    pub(crate) fn original_of(
        &self,
        reply: i64,
        subject: &str,
        date: i64,
        opts: ThreadOptions,
    ) -> Result<Option<(i64, i64)>> {
        let me = self.parties(reply)?;
        self.first_answered(&me, self.candidates(reply, subject, date, opts, None)?)
    }

    /// The first of `candidates` ([`Store::candidates`], nearest first) that
    /// `reply` can answer, as (row, thread).
    fn first_answered(
        &self,
        reply: &Parties,
        candidates: Vec<(i64, i64, String)>,
    ) -> Result<Option<(i64, i64)>> {
        for (cid, ct, cfrom) in candidates {
            if can_answer(reply, &self.parties_from(cid, cfrom)?) {
                return Ok(Some((cid, ct)));
            }
        }
        Ok(None)
    }

    /// The sender (From, as recorded) of a message and its To and Cc
    /// addresses (each with whether it is in To).
    fn parties(&self, message: i64) -> Result<Parties> {
        let from: String = self
            .conn
            .prepare_cached("SELECT from_addr FROM messages WHERE id = ?1")?
            .query_row([message], |r| r.get(0))?;
        self.parties_from(message, from)
    }

    /// [`Store::parties`] of a message whose sender is known.
    fn parties_from(&self, message: i64, from: String) -> Result<Parties> {
        let recipients = self
            .conn
            .prepare_cached(
                "SELECT address, role = 1 FROM addresses WHERE message = ?1 AND role IN (1, 2)",
            )?
            .query_map([message], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<(String, bool)>>>()?;
        Ok(Parties { from, recipients })
    }

    /// Runs `f` on the set of subject hashes of `refless_replies`, loading
    /// it on first use.
    fn with_refless_subjects<T>(
        &self,
        f: impl FnOnce(&mut std::collections::HashSet<u64>) -> T,
    ) -> Result<T> {
        let mut cell = self.refless_subjects.borrow_mut();
        if cell.is_none() {
            let mut set = std::collections::HashSet::new();
            let mut q = self
                .conn
                .prepare_cached("SELECT DISTINCT subject_norm FROM refless_replies")?;
            let mut rows = q.query([])?;
            while let Some(r) = rows.next()? {
                set.insert(subject_hash(r.get_ref(0)?.as_str()?));
            }
            *cell = Some(set);
        }
        Ok(f(cell.get_or_insert_with(Default::default)))
    }

    fn note_refless_subject(&self, subject: &str) -> Result<()> {
        self.with_refless_subjects(|s| {
            s.insert(subject_hash(subject));
        })
    }

    /// False when no reference-less reply has this subject (true may be a
    /// hash collision: the query then finds nothing).
    fn may_have_refless(&self, subject: &str) -> Result<bool> {
        self.with_refless_subjects(|s| s.contains(&subject_hash(subject)))
    }

    /// Merges two threads into the older (smaller) id; returns it.
    fn join(&self, a: i64, b: i64) -> Result<i64> {
        let (into, from) = (a.min(b), a.max(b));
        self.merge_threads(from, into)?;
        Ok(into)
    }
}

/// The subject fallback looks at this many messages of a subject at most,
/// the nearest: candidates a reply may answer, replies a message may be
/// the original of.
const MAX_SUBJECT_CANDIDATES: usize = 50;

/// A 64-bit hash of a normalised subject (for the refless-subject set).
fn subject_hash(subject: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(subject)
}

/// Who a message is from and to, for the subject fallback.
struct Parties {
    from: String,
    /// To and Cc addresses, each with whether it is in To.
    recipients: Vec<(String, bool)>,
}

impl Parties {
    fn addressed_to(&self, address: &str) -> bool {
        self.recipients.iter().any(|(a, _)| a == address)
    }

    fn takes_part(&self, address: &str) -> bool {
        self.from == address || self.addressed_to(address)
    }
}

/// Whether a reference-less reply can answer an earlier message with the
/// same subject: it is addressed (To or Cc) to that message's sender; or
/// that message was addressed to the reply's sender, or is from the same
/// sender (a follow-up to one's own mail), and the reply's To holds nobody
/// but that message's participants. A shared mailbox holds one subject in
/// many conversations (`RE: 出荷遅延のお詫び` from one member of staff to
/// several customers, each with the shared address in Cc): a reply to one
/// customer does not answer the mail that member of staff sent another.
fn can_answer(reply: &Parties, other: &Parties) -> bool {
    if !other.from.is_empty() && reply.addressed_to(&other.from) {
        return true;
    }
    let linked =
        !reply.from.is_empty() && (other.from == reply.from || other.addressed_to(&reply.from));
    linked
        && reply
            .recipients
            .iter()
            .filter(|(_, to)| *to)
            .all(|(a, _)| other.takes_part(a))
}

/// Whether a message is a reply the subject fallback joins by its
/// (normalised) subject: a reply with a subject, and neither References nor
/// In-Reply-To (`referenced`).
fn refless_reply(subject: &str, is_reply: bool, is_forward: bool, referenced: bool) -> bool {
    is_reply && !is_forward && !referenced && !subject.is_empty()
}

/// A message as commands show it (JSON schema version 1, see the README).
#[derive(Debug, Clone, serde::Serialize)]
pub struct MessageView {
    #[serde(skip)]
    pub row: i64,
    pub message_id: String,
    pub thread: String,
    /// RFC 3339.
    pub date: String,
    #[serde(skip)]
    pub timestamp: i64,
    pub from: AddressView,
    pub to: Vec<AddressView>,
    pub cc: Vec<AddressView>,
    /// Reply-To: the customer of a web form's mail (see
    /// [`crate::customers::Direction`]).
    pub reply_to: Vec<AddressView>,
    pub subject: String,
    pub snippet: String,
    pub attachments: Vec<AttachmentView>,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct AddressView {
    pub name: String,
    pub address: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct AttachmentView {
    pub filename: String,
    pub mime: String,
    pub size: i64,
}

/// A place a message was found, as `show` lists it (JSON schema version 1).
#[derive(Debug, Clone, serde::Serialize)]
pub struct LocationView {
    /// The source file (a path that is not UTF-8 with U+FFFD for its bad
    /// bytes).
    pub path: String,
    /// `maildir`, `mbox` or `eml`.
    pub kind: String,
    /// The byte offset of the message's `From ` line in an mbox.
    pub offset: Option<u64>,
    /// `imported` (the copy whose bytes the archive holds as the message's
    /// original), `duplicate` (the same message again) or `conflict` (the
    /// same Message-ID with other content, its bytes kept too).
    pub copy: &'static str,
}

/// Thread ids as printed and accepted by `thread:`.
pub fn thread_label(thread: i64) -> String {
    thread.to_string()
}

impl Store {
    /// Every place `message` was found, in the order they were recorded.
    pub fn locations(&self, message: i64) -> Result<Vec<LocationView>> {
        let rows = self
            .conn
            .prepare_cached(
                "SELECT source, kind, mbox_offset, status FROM locations WHERE message = ?1 ORDER BY id",
            )?
            .query_map([message], |r| {
                Ok(LocationView {
                    path: crate::output::path_text(&recorded_path(r, 0)?),
                    kind: r.get(1)?,
                    offset: r.get::<_, Option<i64>>(2)?.map(|o| o as u64),
                    copy: match r.get::<_, i64>(3)? {
                        0 => "imported",
                        1 => "duplicate",
                        _ => "conflict",
                    },
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Loads a message for display (the snippet is left empty: it needs the text).
    pub fn message_view(&self, row: i64, utc: bool) -> Result<Option<MessageView>> {
        let base = self
            .conn
            .prepare_cached(
                "SELECT message_id, thread, date, from_name, from_addr, subject FROM messages WHERE id = ?1",
            )?
            .query_row([row], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })
            .optional()?;
        let Some((message_id, thread, date, from_name, from_addr, subject)) = base else {
            return Ok(None);
        };
        let [_, to, cc, reply_to] = self.recorded_mailboxes(row)?.map(|list| {
            list.into_iter()
                .map(|mb| AddressView {
                    name: mb.name,
                    address: mb.address,
                })
                .collect::<Vec<_>>()
        });
        let attachments = self
            .recorded_attachments(row)?
            .into_iter()
            .map(|a| AttachmentView {
                filename: a.filename,
                mime: a.mime,
                size: a.size as i64,
            })
            .collect();
        let tags = self
            .conn
            .prepare_cached("SELECT tag FROM tags WHERE message = ?1 ORDER BY tag")?
            .query_map([row], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(Some(MessageView {
            row,
            message_id,
            thread: thread_label(thread),
            date: format_date(date, utc),
            timestamp: date,
            from: AddressView {
                name: from_name,
                address: from_addr,
            },
            to,
            cc,
            reply_to,
            subject,
            snippet: String::new(),
            attachments,
            tags,
        }))
    }
}

/// RFC 3339 in the local zone (or UTC).
pub fn format_date(ts: i64, utc: bool) -> String {
    use chrono::TimeZone;
    match chrono::Utc.timestamp_opt(ts, 0).single() {
        Some(d) if utc => d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        Some(d) => d
            .with_timezone(&chrono::Local)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// The Message-ID numbered `n`: from 5 on, those below 5 in capitals
    /// (ids differ in their case alone: another message each).
    fn msgid(n: usize) -> String {
        if n < 5 {
            format!("m{n}@t.example")
        } else {
            format!("M{}@T.EXAMPLE", n - 5)
        }
    }

    /// A mail [`msgid`] `id` referencing `refs`, from one of two senders to
    /// both (so that the subject fallback finds overlapping participants).
    fn mail(id: usize, refs: &[usize], subject: &str, body: usize) -> ParsedMessage {
        let refs: Vec<String> = refs.iter().map(|&r| format!("<{}>", msgid(r))).collect();
        let refs = if refs.is_empty() {
            String::new()
        } else {
            format!("References: {}\n", refs.join(" "))
        };
        let raw = format!(
            "Message-ID: <{}>\n{refs}From: a{}@t.example\nTo: a0@t.example, a1@t.example\n\
             Subject: {subject}\nDate: Mon, 2 Mar 2026 10:{:02}:00 +0900\n\nbody {body}\n",
            msgid(id),
            id % 2,
            id % 60,
        );
        crate::parse::parse_message(raw.as_bytes(), None).expect("a test mail parses")
    }

    #[derive(Clone, Copy, PartialEq, Debug)]
    enum Cache {
        On,
        Off,
        /// Turned off before the later import's mail of this index, as
        /// [`IdCache::MAX_IDS`] turns it off.
        OffAfter(usize),
    }

    /// Imports `mails` the way the import writer does, into a fresh store
    /// (after `earlier` mails, imported and committed by another [`Store`]:
    /// its cache then starts incomplete), and returns every id's
    /// thread as a partition of ids, with what each lookup said.
    fn import(
        earlier: &[(usize, Vec<usize>, &str, usize)],
        mails: &[(usize, Vec<usize>, &str, usize)],
        cache: Cache,
    ) -> (Vec<Vec<String>>, Vec<String>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let archive = Archive {
            root: dir.path().to_path_buf(),
        };
        let outcomes = import_into(&archive, earlier, mails, cache);
        (partition(&archive), outcomes)
    }

    /// [`import`] into `archive`: what each lookup said.
    fn import_into(
        archive: &Archive,
        earlier: &[(usize, Vec<usize>, &str, usize)],
        mails: &[(usize, Vec<usize>, &str, usize)],
        cache: Cache,
    ) -> Vec<String> {
        let mut outcomes = Vec::new();
        for (step, list) in [earlier, mails].into_iter().enumerate() {
            // The later mails come in another import, as in another process.
            let store = Store::open_rw(archive).expect("store");
            store.begin().expect("begin");
            if step == 1 && cache == Cache::Off {
                *store.ids.borrow_mut() = IdCache::Off;
            }
            for (i, (id, refs, subject, body)) in list.iter().enumerate() {
                if step == 1 && cache == Cache::OffAfter(i) {
                    *store.ids.borrow_mut() = IdCache::Off;
                }
                let m = mail(*id, refs, subject, *body);
                let pack = PackRef {
                    pack: 1,
                    offset: i as u64,
                    len: 1,
                };
                match store.find_message(&m.message_id).expect("find") {
                    Some((row, hash)) => outcomes.push(format!(
                        "{} {}",
                        row,
                        if hash == m.content_hash {
                            "dup"
                        } else {
                            "conflict"
                        }
                    )),
                    None => {
                        let thread = store
                            .assign_thread(&m.message_id, &m.thread_refs())
                            .expect("assign");
                        let row = store
                            .insert_message(&m, 1, &[0; 32], pack, thread, 1)
                            .expect("insert");
                        store
                            .subject_fallback(row, &m, thread, ThreadOptions::default())
                            .expect("fallback");
                        outcomes.push(format!("{row} new"));
                    }
                }
            }
            store.commit().expect("commit");
        }
        outcomes
    }

    /// Every id's thread in `archive`, as a partition of ids.
    fn partition(archive: &Archive) -> Vec<Vec<String>> {
        let store = Store::open_rw(archive).expect("store");
        let mut by_thread: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        let mut q = store
            .conn
            .prepare("SELECT message_id, thread FROM messages UNION SELECT msgid, thread FROM thread_ids")
            .expect("query");
        let rows = q
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .expect("rows");
        for row in rows {
            let (id, thread) = row.expect("row");
            by_thread.entry(thread).or_default().push(id);
        }
        let mut partition: Vec<Vec<String>> = by_thread
            .into_values()
            .map(|mut ids| {
                ids.sort();
                ids.dedup();
                ids
            })
            .collect();
        partition.sort();
        partition
    }

    fn mails() -> impl Strategy<Value = Vec<(usize, Vec<usize>, &'static str, usize)>> {
        let one = (
            0usize..10,
            proptest::collection::vec(0usize..10, 0..3),
            proptest::sample::select(vec!["見積", "Re: 見積", "RE: 請求書", "請求書"]),
            0usize..2,
        );
        proptest::collection::vec(one, 1..16)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The id cache changes no answer: duplicates, conflicts, ghosts and
        /// threads (merges, subject fallback) come out as SQLite alone gives
        /// them, on a first import and on a later one, and when the cache
        /// turns off part way (its limit). Ids that differ in case alone are
        /// other messages.
        #[test]
        fn the_id_cache_gives_what_sqlite_gives(
            earlier in mails(),
            later in mails(),
            off_after in 0usize..16,
        ) {
            let uncached = import(&[], &later, Cache::Off);
            prop_assert_eq!(&import(&[], &later, Cache::On), &uncached);
            prop_assert_eq!(&import(&[], &later, Cache::OffAfter(off_after)), &uncached);
            let uncached = import(&earlier, &later, Cache::Off);
            prop_assert_eq!(&import(&earlier, &later, Cache::On), &uncached);
            prop_assert_eq!(&import(&earlier, &later, Cache::OffAfter(off_after)), &uncached);
        }
    }

    /// `earlier` then `later` imported (as [`import`] does, with the id
    /// cache), and then threaded afresh twice: the partition after the
    /// import, after threading afresh, and what the second time changed.
    fn rethreaded(
        earlier: &[(usize, Vec<usize>, &str, usize)],
        later: &[(usize, Vec<usize>, &str, usize)],
    ) -> (
        Vec<Vec<String>>,
        Vec<Vec<String>>,
        crate::threads::rethread::Rethreaded,
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        let archive = Archive {
            root: dir.path().to_path_buf(),
        };
        import_into(&archive, earlier, later, Cache::On);
        let imported = partition(&archive);
        let afresh = |archive: &Archive| {
            let store = Store::open_rw(archive).expect("store");
            crate::threads::rethread::rethread(&store, ThreadOptions::default()).expect("rethread")
        };
        afresh(&archive);
        let fresh = partition(&archive);
        (imported, fresh, afresh(&archive))
    }

    proptest! {
        // Each case makes three archives: 64 take about 15 s.
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Threads worked out afresh depend on the mails, not on the order
        /// they came in, and are those of an import in date order; they
        /// only split what imports merged (an import
        /// joins a reply to the original it can see, and keeps it there when
        /// a nearer one comes); and a second time changes nothing.
        #[test]
        fn threads_worked_out_afresh_depend_on_the_mails_not_their_order(
            mails in mails(),
            split in 0usize..16,
        ) {
            let mut seen = std::collections::HashSet::new();
            let unique: Vec<_> = mails.into_iter().filter(|m| seen.insert(m.0)).collect();
            let split = split.min(unique.len());
            let (imported, fresh, again) = rethreaded(&unique[..split], &unique[split..]);
            let reversed: Vec<_> = unique.iter().rev().cloned().collect();
            let (_, fresh_reversed, _) = rethreaded(&reversed, &[]);
            prop_assert_eq!(&fresh, &fresh_reversed);
            // Imported in date order (a mail's minute is its number), each
            // reply finds its original among the mail before it.
            let mut by_date = unique.clone();
            by_date.sort_by_key(|m| m.0);
            let (in_date_order, _, _) = rethreaded(&by_date, &[]);
            prop_assert_eq!(&fresh, &in_date_order);
            for t in &fresh {
                prop_assert!(
                    imported.iter().any(|i| t.iter().all(|id| i.contains(id))),
                    "{:?} joins threads the import kept apart: {:?}", t, imported
                );
            }
            prop_assert_eq!(again.moved, 0);
            prop_assert_eq!(again.threads, fresh.len() as u64);
        }

        /// After threads are worked out afresh, a thread whose messages are
        /// those of a thread before keeps its id, and a later import
        /// (duplicates and conflicts included) threads as it does after an
        /// import of the same mail in date order, giving its new threads
        /// ids no thread has.
        #[test]
        fn an_import_after_threading_afresh_threads_as_after_one_in_date_order(
            mails in mails(),
            later in mails(),
            split in 0usize..16,
        ) {
            let mut seen = std::collections::HashSet::new();
            let unique: Vec<_> = mails.into_iter().filter(|m| seen.insert(m.0)).collect();
            let split = split.min(unique.len());
            let dir = tempfile::tempdir().expect("temp dir");
            let archive = Archive {
                root: dir.path().to_path_buf(),
            };
            import_into(&archive, &unique[..split], &unique[split..], Cache::On);
            let before = threads_by_id(&archive);
            {
                let store = Store::open_rw(&archive).expect("store");
                crate::threads::rethread::rethread(&store, ThreadOptions::default())
                    .expect("rethread");
            }
            let after = threads_by_id(&archive);
            for (id, messages) in &after {
                if let Some((old, _)) = before.iter().find(|(_, m)| *m == messages) {
                    prop_assert_eq!(id, old, "{:?} changed id: {:?}", messages, before);
                }
            }
            import_into(&archive, &[], &later, Cache::On);
            let last = threads_by_id(&archive);
            for (id, messages) in &last {
                if let Some(kept) = after.get(id) {
                    prop_assert!(
                        kept.iter().all(|m| messages.contains(m)),
                        "thread {} went from {:?} to {:?}", id, kept, messages
                    );
                }
            }

            let by_date_dir = tempfile::tempdir().expect("temp dir");
            let by_date_archive = Archive {
                root: by_date_dir.path().to_path_buf(),
            };
            let mut by_date = unique.clone();
            by_date.sort_by_key(|m| m.0);
            import_into(&by_date_archive, &by_date, &later, Cache::On);
            prop_assert_eq!(partition(&archive), partition(&by_date_archive));
        }
    }

    /// The messages of each thread of `archive` (ghosts left out), by id.
    fn threads_by_id(archive: &Archive) -> BTreeMap<i64, Vec<String>> {
        let store = Store::open_rw(archive).expect("store");
        let mut q = store
            .conn
            .prepare("SELECT thread, message_id FROM messages ORDER BY message_id")
            .expect("query");
        let mut threads: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        for row in q
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .expect("rows")
        {
            let (thread, id) = row.expect("row");
            threads.entry(thread).or_default().push(id);
        }
        threads
    }

    /// A thread id merged away is not handed out by a later import either
    /// (another [`Store`]): `thread:2` must not come to name another
    /// conversation.
    #[test]
    fn a_thread_id_merged_away_stays_unused_in_later_imports() {
        let dir = tempfile::tempdir().expect("temp dir");
        let archive = Archive {
            root: dir.path().to_path_buf(),
        };
        let thread_of = |n: usize| -> i64 {
            let store = Store::open_rw(&archive).expect("store");
            store
                .conn
                .query_row(
                    "SELECT thread FROM messages WHERE message_id = ?1",
                    [msgid(n)],
                    |r| r.get(0),
                )
                .expect("a stored message")
        };
        let earlier = [(0, vec![], "見積", 0), (1, vec![], "請求書", 0)];
        import_into(
            &archive,
            &earlier,
            &[(2, vec![0, 1], "Re: 見積", 0)],
            Cache::On,
        );
        assert_eq!((thread_of(0), thread_of(1), thread_of(2)), (1, 1, 1));
        import_into(&archive, &[], &[(3, vec![], "納期", 0)], Cache::On);
        assert_eq!(thread_of(3), 3);
    }

    /// Found by the proptest: a merge in a later import, before its first
    /// new thread, had made the merged-away id the next one handed out, and
    /// the cache followed the merge for the new thread too.
    #[test]
    fn a_thread_id_merged_away_is_not_handed_out_again() {
        let earlier = [(2, vec![6], "見積", 0), (5, vec![9], "見積", 0)];
        let later = [
            (3, vec![2], "RE: 請求書", 0),
            (9, vec![], "RE: 請求書", 0),
            (4, vec![7], "見積", 0),
            (7, vec![], "見積", 0),
        ];
        let (partition, _) = import(&earlier, &later, Cache::On);
        assert_eq!(partition, import(&earlier, &later, Cache::Off).0);
        assert_eq!(partition.len(), 2, "{partition:?}");
    }

    #[test]
    fn an_id_cache_entry_is_as_large_as_its_limit_assumes() {
        // 72 bytes and a control byte per bucket (see IdCache::MAX_IDS).
        assert_eq!(std::mem::size_of::<([u64; 2], CachedId)>(), 72);
    }

    #[test]
    fn the_id_cache_turns_off_beyond_its_limit() {
        let mut cache = IdCache::On {
            ids: Default::default(),
            merged: HashMap::new(),
            complete: true,
        };
        cache.record("a", 1, None);
        cache.merge(1, 2);
        assert_eq!(cache.lookup("a").flatten().map(|e| e.thread), Some(2));
        assert!(matches!(cache.lookup("b"), Some(None)));
        for i in 0..IdCache::MAX_IDS {
            cache.record(&i.to_string(), 3, None);
        }
        assert!(matches!(cache, IdCache::Off));
        assert!(cache.lookup("a").is_none());
    }
}
