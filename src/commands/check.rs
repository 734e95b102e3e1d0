//! `kura check`: verifies the archive, and with `--repair` fixes what can be
//! fixed from the store and the stored originals.
//!
//! Checked: the SQLite database (`PRAGMA integrity_check`, and no row of a
//! message that is gone: `PRAGMA foreign_key_check`); the index holds
//! every message exactly once and nothing else (the `id` fast field of every
//! live document against the `messages` rows); every stored original
//! (messages, conflicting copies, rejects) decompresses to bytes with the
//! recorded BLAKE3 hash; a message whose Message-ID is also recorded as a
//! ghost (`thread_ids`) is in the ghost's thread; the documents of rows from
//! [`index::ROLE_TERMS_SINCE`] on carry the terms that say which header an
//! address is in (an older kura writing to the archive leaves them out); no
//! erasure was left unfinished ([`erase::finish`]).
//! `--repair` finishes such an erasure, deletes the rows of messages that
//! are gone, re-indexes missing and such stale documents from their
//! originals, removes stray and doubled documents (re-adding one), joins
//! such threads (merging, never splitting them). A corrupt
//! original or database cannot be repaired: it is reported.

use super::reindex::{self, document_from_original};
use crate::archive::{Archive, ExitError, tighten_permissions};
use crate::cli::{CheckArgs, GlobalArgs, ReportFormat};
use crate::erase;
use crate::index;
use crate::output::sanitize;
use crate::pack::{PackReader, PackRef};
use crate::store::{ROLE_CC, ROLE_FROM, ROLE_TO, Store, StoredMessage, recorded_path};
use anyhow::{Context, Result};
use rusqlite::{OptionalExtension, params};
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::PathBuf;
use tantivy::schema::IndexRecordOption;
use tantivy::tokenizer::MAX_TOKEN_LEN;
use tantivy::{DocSet, Index, ReloadPolicy, TERMINATED};

/// One problem found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Problem {
    /// `database`, `database_orphan`, `index`, `index_missing`,
    /// `index_duplicate`, `index_orphan`, `index_stale`, `original`,
    /// `thread_mismatch`.
    pub kind: &'static str,
    /// The message row concerned, if any.
    pub row: Option<i64>,
    pub message_id: Option<String>,
    pub detail: String,
    /// Fixed by `--repair`.
    pub repaired: bool,
}

/// What was checked.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Checked {
    pub messages: u64,
    pub index_documents: u64,
    /// Stored originals verified (messages, conflicting copies, rejects).
    pub originals: u64,
    /// Messages of store batches the index has not committed yet (an import
    /// interrupted between its two commits: the next import indexes them).
    pub pending_index: u64,
}

/// `kura check --format json`.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CheckReport {
    /// No problem is left (none found, or all repaired).
    pub ok: bool,
    pub repair: bool,
    pub checked: Checked,
    pub problems: Vec<Problem>,
}

impl CheckReport {
    fn problem(
        &mut self,
        kind: &'static str,
        row: Option<i64>,
        message_id: Option<&str>,
        detail: String,
    ) -> usize {
        self.problems.push(Problem {
            kind,
            row,
            message_id: message_id.map(str::to_string),
            detail,
            repaired: false,
        });
        self.problems.len() - 1
    }

    fn mark_repaired(&mut self, i: usize) {
        if let Some(p) = self.problems.get_mut(i) {
            p.repaired = true;
        }
    }
}

/// The tables with rows referencing a message row that does not exist:
/// (table, its column naming the message, rows), by SQLite's own reading
/// of the schema's `REFERENCES messages(id)`.
fn orphan_rows(store: &Store) -> Result<Vec<(String, String, u64)>> {
    let mut counts: std::collections::BTreeMap<String, u64> = Default::default();
    {
        let mut q = store.conn.prepare("PRAGMA foreign_key_check")?;
        let mut rows = q.query([])?;
        while let Some(r) = rows.next()? {
            let (table, parent): (String, String) = (r.get(0)?, r.get(2)?);
            if parent == "messages" {
                *counts.entry(table).or_default() += 1;
            }
        }
    }
    let mut out = Vec::new();
    for (table, n) in counts {
        // Names from the schema itself; only plain ones are spliced in.
        let plain = |s: &str| s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !plain(&table) {
            continue;
        }
        let column: Option<String> = store
            .conn
            .prepare(
                "SELECT \"from\" FROM pragma_foreign_key_list(?1) WHERE \"table\" = 'messages'",
            )?
            .query_row([&table], |r| r.get(0))
            .optional()?;
        if let Some(column) = column.filter(|c| plain(c)) {
            out.push((table, column, n));
        }
    }
    Ok(out)
}

/// Reads the original at `r` and compares its hash.
fn verify_original(
    reader: &mut PackReader,
    r: PackRef,
    size: usize,
    hash: &[u8],
) -> std::result::Result<(), String> {
    reader
        .read(r, size, hash)
        .map(drop)
        .map_err(|e| format!("{e:#}"))
}

/// What the index's live documents are.
struct IndexDocs {
    /// The message row id of every document, with how often it occurs.
    ids: HashMap<i64, u32>,
    /// Documents without a row id.
    without_id: u64,
    /// For the rows of [`HeaderTermsNeeded`], how many of their header
    /// terms their documents have.
    header_terms_found: HashMap<i64, u32>,
}

fn index_docs(index: &Index, needed: &HeaderTermsNeeded) -> Result<IndexDocs> {
    let reader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()
        .context("cannot open an index reader")?;
    let fields = index::fields_of(index)?;
    let searcher = reader.searcher();
    let mut docs = IndexDocs {
        ids: HashMap::new(),
        without_id: 0,
        header_terms_found: HashMap::new(),
    };
    for seg in searcher.segment_readers() {
        let col = seg
            .fast_fields()
            .u64("id")
            .context("the index has no `id` fast field: run `kura reindex`")?;
        for doc in seg.doc_ids_alive() {
            match col.first(doc) {
                Some(id) => *docs.ids.entry(id as i64).or_default() += 1,
                None => docs.without_id += 1,
            }
        }
        if needed.rows.is_empty() {
            continue;
        }
        // The header terms are the `addr` terms that start with \u{1}; of
        // those, the ones of the addresses the rows have.
        let inverted = seg
            .inverted_index(fields.addr)
            .context("cannot read the index's address terms")?;
        let mut terms = inverted
            .terms()
            .range()
            .ge([1u8])
            .lt([2u8])
            .into_stream()
            .context("cannot read the index's address terms")?;
        while terms.advance() {
            let Some(rows) = needed.rows_by_term.get(terms.key()) else {
                continue;
            };
            let mut postings = inverted
                .read_postings_from_terminfo(terms.value(), IndexRecordOption::Basic)
                .context("cannot read the index's address terms")?;
            let mut doc = postings.doc();
            while doc != TERMINATED {
                if !seg.is_deleted(doc)
                    && let Some(id) = col.first(doc)
                    && rows.binary_search(&(id as i64)).is_ok()
                {
                    *docs.header_terms_found.entry(id as i64).or_default() += 1;
                }
                doc = postings.advance();
            }
        }
    }
    Ok(docs)
}

/// The header terms ([`index::role_address_term`]) the documents of the
/// rows from [`index::ROLE_TERMS_SINCE`] on must have: each row's document
/// the terms of its own From, To and Cc addresses, all of them (a document
/// written by an older kura has none; one whose addresses the store records
/// otherwise lacks some). Only these very terms count: an address stored by
/// an earlier version can itself begin with the control character header
/// terms begin with, and a document written without header terms then has
/// a term that looks like one. An address whose term is longer than the
/// index keeps ([`MAX_TOKEN_LEN`]: the term is dropped) asks for none.
#[derive(Default)]
struct HeaderTermsNeeded {
    /// Each header term with the rows that have it, in ascending order.
    rows_by_term: HashMap<Box<[u8]>, Vec<i64>>,
    /// Every row that needs header terms, with how many.
    rows: HashMap<i64, u32>,
}

fn header_terms_needed(store: &Store) -> Result<HeaderTermsNeeded> {
    let mut needed = HeaderTermsNeeded::default();
    // Read as search reads it: a value it cannot read has it look every
    // whole address up in the store, and no document needs the terms.
    let Some(since) = store
        .meta(index::ROLE_TERMS_SINCE)?
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return Ok(needed);
    };
    let mut q = store.conn.prepare(
        "SELECT message, role, address FROM addresses
         WHERE message >= ?1 AND role IN (?2, ?3, ?4) ORDER BY message",
    )?;
    let since = i64::try_from(since).unwrap_or(i64::MAX);
    let mut rows = q.query(params![since, ROLE_FROM, ROLE_TO, ROLE_CC])?;
    while let Some(r) = rows.next()? {
        let (message, role, address): (i64, i64, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
        // As index::document writes them, from the address as this version
        // reads it (an earlier one kept control characters).
        let address = crate::parse::clean_address(&address);
        if address.is_empty() {
            continue;
        }
        let role = match role {
            ROLE_FROM => index::AddressRole::From,
            ROLE_TO => index::AddressRole::To,
            _ => index::AddressRole::Cc,
        };
        let term = index::role_address_term(role, &address);
        if term.len() > MAX_TOKEN_LEN {
            continue;
        }
        let list = needed
            .rows_by_term
            .entry(term.into_bytes().into_boxed_slice())
            .or_default();
        if list.last() != Some(&message) {
            list.push(message);
            *needed.rows.entry(message).or_default() += 1;
        }
    }
    Ok(needed)
}

/// Checks (and with `repair`, repairs) `archive`; the caller holds the lock
/// when repairing.
pub fn check(archive: &Archive, repair: bool) -> Result<CheckReport> {
    let mut report = CheckReport {
        repair,
        ..Default::default()
    };
    let store = if repair {
        Store::open_rw(archive)?
    } else {
        Store::open_ro(archive)?
    };

    // 0. An erasure a kill interrupted: its documents are still in the
    // index, its originals in the packs, their rows gone; or only the
    // database's vacuum is left, which a reader can also keep from finishing.
    let mut erasing = erase::pending(&store)?;
    if erase::unfinished(&store)? {
        let what = if erasing.is_empty() {
            "the database's files still hold old bytes of erased messages (an interrupted kura erase, or a search reading meanwhile: kura import, kura erase or check --repair vacuums it)".to_string()
        } else {
            // Row 0 lists the originals of rejects a retry dropped as erased
            // messages ([`erase::list_reject`]).
            let rejects: i64 = store.conn.query_row(
                "SELECT count(*) FROM erasing WHERE message = 0",
                [],
                |r| r.get(0),
            )?;
            let messages = erasing.iter().filter(|&&row| row != 0).count();
            let mut what = Vec::new();
            if messages > 0 {
                what.push(format!(
                    "{messages} erased messages are still in the index and the packs"
                ));
            }
            if rejects > 0 {
                what.push(format!(
                    "the originals of {rejects} rejects of erased messages are still in the packs"
                ));
            }
            format!(
                "{} (an interrupted kura erase or rejects --retry: kura import, kura erase or check --repair finishes it)",
                what.join("; ")
            )
        };
        let p = report.problem("erase_pending", None, None, what);
        if repair {
            let dir = archive.index_dir();
            index::settle_swap(&dir)?;
            let mut writer = index::writer(&index::open_existing(&dir)?)?;
            let done = erase::finish(archive, &store, &mut writer)?;
            index::finish(writer).context("the index merge failed")?;
            if !done.vacuum_pending {
                report.mark_repaired(p);
            }
            erasing.clear();
        }
    }

    // The dictionary an erasure found its messages' addresses in, and that
    // a kill or a failure kept from being replaced.
    if erase::repack_pending(&store)? {
        let p = report.problem(
            "erase_pending",
            None,
            None,
            "the compression dictionary still holds addresses or Message-IDs of erased messages (an interrupted kura erase: kura erase, kura gc or check --repair replaces it)".to_string(),
        );
        if repair && erase::pending(&store)?.is_empty() {
            // A repack that cannot be done (a damaged original, reported
            // below) leaves the problem, not the check, unfinished.
            match erase::finish_repack(archive, &store) {
                Ok(_) => report.mark_repaired(p),
                Err(e) => report.problems[p].detail.push_str(&format!(": {e:#}")),
            }
        }
    }

    // 1. The database.
    {
        let mut q = store.conn.prepare("PRAGMA integrity_check")?;
        let lines = q
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for l in lines.into_iter().filter(|l| l != "ok") {
            report.problem("database", None, None, l);
        }
        // Rows of messages that are gone: an older kura's erase, which does
        // not know a table added since, leaves them, and what they say.
        for (table, column, rows) in orphan_rows(&store)? {
            let p = report.problem(
                "database_orphan",
                None,
                None,
                format!(
                    "{rows} rows of {table} belong to no message (an older kura erased their \
                     messages; check --repair deletes them)"
                ),
            );
            if repair {
                store
                    .conn
                    .execute(
                        &format!(
                            "DELETE FROM \"{table}\" WHERE \"{column}\" NOT IN (SELECT id FROM messages)"
                        ),
                        [],
                    )
                    .with_context(|| format!("cannot delete the rows of {table} left behind"))?;
                report.mark_repaired(p);
            }
        }
    }

    // 2. The originals.
    let messages = store.stored_messages()?;
    let msgids: HashMap<i64, String> = crate::import::message_ids(&store)?.into_iter().collect();
    report.checked.messages = messages.len() as u64;
    let mut reader = PackReader::new(&archive.originals_dir());
    let mut corrupt: HashSet<i64> = HashSet::new();
    for m in &messages {
        report.checked.originals += 1;
        if let Err(e) = verify_original(&mut reader, m.pack, m.size, &m.raw_hash) {
            corrupt.insert(m.id);
            report.problem(
                "original",
                Some(m.id),
                msgids.get(&m.id).map(String::as_str),
                format!("the original of message {} is damaged: {e}", m.id),
            );
        }
    }
    verify_copies(&store, &mut reader, &mut report)?;

    // 3. The index.
    check_index(
        archive,
        &store,
        &messages,
        &msgids,
        &corrupt,
        &erasing,
        &mut report,
    )?;

    // 4. Thread links.
    check_threads(&store, repair, &mut report)?;

    if repair {
        tighten_permissions(&archive.root)?;
    }
    report.ok = report.problems.iter().all(|p| p.repaired);
    Ok(report)
}

/// Conflicting copies kept in the pack, and rejects.
fn verify_copies(store: &Store, reader: &mut PackReader, report: &mut CheckReport) -> Result<()> {
    type Copy = (i64, i64, String, PackRef, usize, Vec<u8>, PathBuf);
    let mut q = store.conn.prepare(
        "SELECT l.id, l.message, m.message_id, l.pack, l.pack_offset, l.pack_len, l.size, l.raw_hash, l.source
         FROM locations l JOIN messages m ON m.id = l.message
         WHERE l.pack IS NOT NULL ORDER BY l.id",
    )?;
    let copies = q
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                crate::store::pack_ref(r, 3)?,
                r.get::<_, i64>(6)? as usize,
                r.get(7)?,
                recorded_path(r, 8)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<Copy>>>()?;
    for (loc, row, msgid, r, size, hash, source) in copies {
        report.checked.originals += 1;
        if let Err(e) = verify_original(reader, r, size, &hash) {
            report.problem(
                "original",
                Some(row),
                Some(&msgid),
                format!(
                    "the conflicting copy {loc} of message {row} (from {}) is damaged: {e}",
                    crate::output::path_text(&source)
                ),
            );
        }
    }
    let mut q = store.conn.prepare(
        "SELECT id, source, pack, pack_offset, pack_len, size, raw_hash FROM rejects ORDER BY id",
    )?;
    let rejects = q
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                recorded_path(r, 1)?,
                crate::store::pack_ref(r, 2)?,
                r.get::<_, i64>(5)? as usize,
                r.get::<_, Vec<u8>>(6)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (id, source, r, size, hash) in rejects {
        report.checked.originals += 1;
        if let Err(e) = verify_original(reader, r, size, &hash) {
            report.problem(
                "original",
                None,
                None,
                format!(
                    "the stored bytes of reject {id} (from {}) are damaged: {e}",
                    crate::output::path_text(&source)
                ),
            );
        }
    }
    Ok(())
}

fn check_index(
    archive: &Archive,
    store: &Store,
    messages: &[StoredMessage],
    msgids: &HashMap<i64, String>,
    corrupt: &HashSet<i64>,
    erasing: &HashSet<i64>,
    report: &mut CheckReport,
) -> Result<()> {
    let repair = report.repair;
    let dir = archive.index_dir();
    if repair {
        index::settle_swap(&dir)?;
    }
    let needed = header_terms_needed(store)?;
    let opened = index::open_existing(&dir).and_then(|i| {
        let docs = index_docs(&i, &needed)?;
        Ok((i, docs))
    });
    let (
        index,
        IndexDocs {
            ids,
            without_id,
            header_terms_found,
        },
    ) = match opened {
        Ok(x) => x,
        Err(e) => {
            let p = report.problem("index", None, None, format!("{e:#}"));
            if repair {
                let s = reindex::rebuild(archive, store, false)?;
                if s.failed.is_empty() {
                    report.mark_repaired(p);
                }
            }
            return Ok(());
        }
    };
    report.checked.index_documents = ids.values().map(|&n| u64::from(n)).sum::<u64>() + without_id;
    let mut missing: Vec<(usize, &StoredMessage)> = Vec::new();
    // Doubled and stale documents: built anew, replacing what is there.
    let mut replace: Vec<(usize, &StoredMessage)> = Vec::new();
    let indexed_batch = index::committed_batch(&index)?;
    for m in messages {
        let msgid = msgids.get(&m.id).map(String::as_str);
        let terms_needed = needed.rows.get(&m.id).copied().unwrap_or(0);
        let terms_found = header_terms_found.get(&m.id).copied().unwrap_or(0);
        match ids.get(&m.id).copied().unwrap_or(0) {
            1 if terms_found < terms_needed => {
                let detail = if terms_found == 0 {
                    format!(
                        "the index document of message {} does not say which header its addresses are in (written by an older kura): from:, to: and cc: with a whole address miss it",
                        m.id
                    )
                } else {
                    format!(
                        "the index document of message {} lacks {} of the {terms_needed} From, To and Cc addresses the database records for it: from:, to: and cc: with such an address miss it",
                        m.id,
                        terms_needed - terms_found
                    )
                };
                let p = report.problem("index_stale", Some(m.id), msgid, detail);
                replace.push((p, m));
            }
            1 => {}
            // Stored by a batch the index has not committed: not damage, the
            // state a kill or a full disk between the two commits leaves.
            0 if m.batch > indexed_batch && !repair => report.checked.pending_index += 1,
            0 => {
                let p = report.problem(
                    "index_missing",
                    Some(m.id),
                    msgid,
                    format!("message {} is not in the index", m.id),
                );
                missing.push((p, m));
            }
            n => {
                let p = report.problem(
                    "index_duplicate",
                    Some(m.id),
                    msgid,
                    format!("message {} is in the index {n} times", m.id),
                );
                replace.push((p, m));
            }
        }
    }
    let mut orphans: Vec<(usize, i64)> = Vec::new();
    let mut stray: Vec<i64> = ids
        .keys()
        .copied()
        // Documents of erased messages are the erasure's problem, not orphans.
        .filter(|id| !msgids.contains_key(id) && !erasing.contains(id))
        .collect();
    stray.sort_unstable();
    for id in stray {
        let p = report.problem(
            "index_orphan",
            Some(id),
            None,
            format!("the index has a document for message {id}, which the database does not have"),
        );
        orphans.push((p, id));
    }
    let no_id = if without_id > 0 {
        Some(report.problem(
            "index",
            None,
            None,
            format!("{without_id} index documents have no message id (`kura reindex` rebuilds the index)"),
        ))
    } else {
        None
    };
    if !repair || (missing.is_empty() && replace.is_empty() && orphans.is_empty()) {
        return Ok(());
    }
    if no_id.is_some() {
        // Documents that cannot be addressed: only a rebuild removes them.
        drop(index);
        let s = reindex::rebuild(archive, store, false)?;
        if s.failed.is_empty() {
            for p in report
                .problems
                .iter_mut()
                .filter(|p| p.kind.starts_with("index"))
            {
                p.repaired = true;
            }
        }
        return Ok(());
    }

    let fields = index::fields_of(&index)?;
    let mut writer = index::writer(&index)?;
    let mut reader = PackReader::new(&archive.originals_dir());
    let mut fixed = Vec::new();
    let mut delete: Vec<i64> = Vec::new();
    for (p, id) in &orphans {
        delete.push(*id);
        fixed.push(*p);
    }
    index::delete_ids(&writer, &delete)?;
    // A message indexed twice (or stale) loses its documents only once its
    // new one is built; deletes apply to documents added before them, so
    // the new documents are built first, then the old ones deleted, then
    // the new ones added: a chunk at a time, as every document is stale
    // after an older kura rebuilt the index. A missing message has nothing
    // to delete: its document is added as it is built.
    // What the store records of rebuilt messages follows their new reading
    // in one transaction.
    store.begin()?;
    let mut chunk: Vec<tantivy::TantivyDocument> = Vec::new();
    let mut chunk_ids: Vec<i64> = Vec::new();
    let mut chunk_bytes = 0usize;
    for (n, (p, m)) in replace.iter().enumerate() {
        if let Some(doc) = rebuild_document(store, &mut reader, &fields, m, corrupt, *p, report) {
            chunk_ids.push(m.id);
            chunk.push(doc);
            chunk_bytes += m.size;
            fixed.push(*p);
        }
        let last = n + 1 == replace.len();
        if last || chunk.len() >= REBUILD_CHUNK_DOCS || chunk_bytes >= REBUILD_CHUNK_BYTES {
            index::delete_ids(&writer, &chunk_ids)?;
            for doc in chunk.drain(..) {
                writer.add_document(doc)?;
            }
            chunk_ids.clear();
            chunk_bytes = 0;
        }
    }
    for (p, m) in &missing {
        if let Some(doc) = rebuild_document(store, &mut reader, &fields, m, corrupt, *p, report) {
            writer.add_document(doc)?;
            fixed.push(*p);
        }
    }
    store.commit()?;
    // The index covers every batch of the store again.
    let batch = store
        .meta_i64("batch")?
        .max(index::committed_batch(&index)?);
    index::commit(&mut writer, batch)?;
    index::finish(writer).context("the index merge failed")?;
    for p in fixed {
        report.mark_repaired(p);
    }
    Ok(())
}

/// At most this many documents replacing others are held at a time by
/// `--repair`, and built from at most about this many bytes of originals.
const REBUILD_CHUNK_DOCS: usize = 1000;
const REBUILD_CHUNK_BYTES: usize = 64 << 20;

/// Message `m`'s document built anew from its original for problem `p` (and
/// what `store` records of it brought up to date with the same reading), or
/// `None` with the reason added to the problem (its original is damaged or
/// no longer parses).
fn rebuild_document(
    store: &Store,
    reader: &mut PackReader,
    fields: &index::Fields,
    m: &StoredMessage,
    corrupt: &HashSet<i64>,
    p: usize,
    report: &mut CheckReport,
) -> Option<tantivy::TantivyDocument> {
    let why = if corrupt.contains(&m.id) {
        " (cannot be re-indexed: its original is damaged)".to_string()
    } else {
        match document_from_original(store, reader, fields, m) {
            Ok(doc) => return Some(doc),
            Err(e) => format!(" (cannot be re-indexed: {e:#})"),
        }
    };
    if let Some(x) = report.problems.get_mut(p) {
        x.detail.push_str(&why);
    }
    None
}

/// A Message-ID recorded as a ghost (in `thread_ids`) that is also a stored
/// message must be in that message's thread.
fn check_threads(store: &Store, repair: bool, report: &mut CheckReport) -> Result<()> {
    let mut q = store.conn.prepare(
        "SELECT m.id, m.message_id, m.thread, t.thread FROM thread_ids t
         JOIN messages m ON m.message_id = t.msgid
         WHERE t.thread != m.thread ORDER BY m.id",
    )?;
    let bad = q
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    drop(q);
    if bad.is_empty() {
        return Ok(());
    }
    let mut found = Vec::new();
    for (row, msgid, thread, linked) in &bad {
        found.push(report.problem(
            "thread_mismatch",
            Some(*row),
            Some(msgid),
            format!(
                "message {row} is in thread {thread}, its Message-ID is linked to thread {linked}"
            ),
        ));
    }
    if !repair {
        return Ok(());
    }
    store.begin()?;
    for (row, _, _, _) in &bad {
        // Threads may have been merged by an earlier fix: look again.
        let pair: Option<(i64, i64)> = store
            .conn
            .query_row(
                "SELECT m.thread, t.thread FROM messages m JOIN thread_ids t ON t.msgid = m.message_id
                 WHERE m.id = ?1",
                [row],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((thread, t)) = pair
            && t != thread
        {
            // Never split a conversation: join the two threads.
            store.merge_threads(t.max(thread), t.min(thread))?;
        }
    }
    store.commit()?;
    for p in found {
        report.mark_repaired(p);
    }
    Ok(())
}

/// The text report.
fn render_text(r: &CheckReport, quiet: bool) -> String {
    let mut out = String::new();
    for p in &r.problems {
        let mut line = format!("{}: {}", p.kind, p.detail);
        if let Some(id) = &p.message_id {
            line.push_str(&format!(" <{id}>"));
        }
        if p.repaired {
            line.push_str(" [repaired]");
        } else if r.repair {
            line.push_str(" [not repaired]");
        }
        out.push_str(&sanitize(&line));
        out.push('\n');
    }
    if !quiet || !r.ok {
        let c = &r.checked;
        let repaired = r.problems.iter().filter(|p| p.repaired).count();
        let left = r.problems.len() - repaired;
        let verdict = match (r.problems.len(), r.repair) {
            (0, _) => "no problems".to_string(),
            (n, false) => format!("{n} problems (`kura check --repair` fixes what can be fixed)"),
            (n, true) => format!("{n} problems, {repaired} repaired, {left} left"),
        };
        out.push_str(&format!(
            "check: {} messages, {} index documents, {} originals: {verdict}\n",
            c.messages, c.index_documents, c.originals
        ));
        if c.pending_index > 0 {
            out.push_str(&format!(
                "check: {} messages of an interrupted import are stored but not indexed yet; the next `kura import` (or `kura check --repair`) indexes them\n",
                c.pending_index
            ));
        }
    }
    out
}

pub fn run(global: &GlobalArgs, args: &CheckArgs) -> Result<i32> {
    let archive = super::archive(global)?;
    archive.require()?;
    // A check during an import would see the index behind the store: take
    // the lock. A read-only archive (no lock file possible) is checked as is.
    let _lock = match archive.lock_for_writing(args.wait) {
        Ok(l) => Some(l),
        Err(e) if !args.repair && e.downcast_ref::<ExitError>().is_none() => None,
        Err(e) => return Err(e),
    };
    let report = check(&archive, args.repair)?;
    // A damaged archive exits 2, also when the reader stopped reading.
    crate::output::unless_broken_pipe(print(&report, args.format, global.quiet))?;
    Ok(if report.ok { 0 } else { 2 })
}

/// Prints the report in `format`.
fn print(report: &CheckReport, format: ReportFormat, quiet: bool) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        ReportFormat::Json => {
            serde_json::to_writer(&mut out, report)?;
            writeln!(out)?;
        }
        ReportFormat::Text => out.write_all(render_text(report, quiet).as_bytes())?,
    }
    out.flush()?;
    Ok(())
}
