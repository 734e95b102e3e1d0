//! Erasing messages for good (`kura erase`): a customer's request to delete
//! their data, a retention period, mail that should never have been kept.
//!
//! An erased message leaves nothing readable behind: its rows (metadata,
//! addresses, attachments, places found, tags, and the record of each file
//! of its own, a Maildir file or `.eml`, whose name may be its subject) are
//! deleted with SQLite's
//! `secure_delete` on, so that the freed pages are zeroed, the database is
//! vacuumed (stale copies of cells in other pages go) and the WAL is
//! checkpointed and truncated; its index documents are deleted and the
//! segments that held them rewritten without them; the frames of its
//! original (and of any conflicting copy) are overwritten with zeros in
//! their packs. What is kept is a key per Message-ID ([`key`], a BLAKE3
//! hash, not the id), so that an import meeting the message again in an
//! export counts it as erased instead of bringing it back.
//!
//! Crash safety: one SQLite transaction deletes the rows, records the keys
//! and lists in `erasing` what the index and the packs still hold. Then the
//! index is changed, then the packs, then `erasing` is emptied. A kill in
//! between leaves the rest in `erasing`, and the next `kura import` or
//! `kura erase` finishes it ([`finish`]) before anything else; meanwhile
//! searches skip the documents whose rows are gone.

use crate::archive::Archive;
use crate::export::{self, AuditEntry};
use crate::index;
use crate::pack::{self, PackRef};
use crate::parse::ParsedMessage;
use crate::repack;
use crate::store::Store;
use anyhow::{Context, Result, bail};
use rusqlite::params;
use std::collections::HashSet;
use tantivy::IndexWriter;

/// The key recorded for an erased Message-ID (the id kura stored the
/// message under: the Message-ID without `<>`, or the id made from its
/// content when it had none).
pub fn key(message_id: &str) -> [u8; 32] {
    blake3::derive_key("kura erased Message-ID v1", message_id.as_bytes())
}

/// The keys of every erased message, for an import to skip them.
#[derive(Debug, Default)]
pub struct Erased {
    keys: HashSet<[u8; 32]>,
}

impl Erased {
    /// Loads the keys recorded in `store`.
    pub fn load(store: &Store) -> Result<Erased> {
        let mut q = store.conn.prepare("SELECT key FROM erased")?;
        let keys = q
            .query_map([], |r| r.get::<_, [u8; 32]>(0))?
            .collect::<rusqlite::Result<HashSet<_>>>()
            .context("cannot read the erased messages' keys")?;
        Ok(Erased { keys })
    }

    /// Whether `m` is a message that was erased (under its Message-ID, or
    /// under the id an earlier kura gave it).
    pub fn contains(&self, m: &ParsedMessage) -> bool {
        !self.keys.is_empty()
            && (self.keys.contains(&key(&m.message_id))
                || m.earlier_id
                    .as_deref()
                    .is_some_and(|id| self.keys.contains(&key(id))))
    }
}

/// What an erasure did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Erasure {
    /// Messages erased.
    pub messages: u64,
    /// Places they had been found (each copy in the exports imported).
    pub copies: u64,
    /// Bytes of compressed originals overwritten with zeros.
    pub original_bytes: u64,
    /// Index segments rewritten without the erased documents.
    pub segments_rewritten: usize,
    /// The compression dictionary held addresses or Message-IDs of the
    /// erased messages: every original was recompressed with a new one
    /// ([`crate::repack`]).
    pub dictionary_replaced: bool,
    /// The database's files still hold old bytes of the erased rows: a
    /// process reading it kept them from being overwritten ([`finish`]).
    #[serde(skip)]
    pub vacuum_pending: bool,
}

/// A testing aid: `KURA_TEST_ABORT_AT=erase-committed` aborts the process
/// right after the store's transaction, as `kill -9` would, leaving the
/// index and the packs to [`finish`]; `erase-index-committed` right after
/// [`finish`] committed the deletion of the index documents (and
/// `retry-committed` in `kura rejects --retry`).
pub(crate) fn abort_requested(step: &str) -> bool {
    std::env::var("KURA_TEST_ABORT_AT").is_ok_and(|v| v == step)
}

/// Erases the messages `rows` (the caller holds the import lock, and
/// `writer` is the archive's index writer), and records `audit` with the
/// number erased in the same transaction as the rows' deletion.
pub fn erase(
    archive: &Archive,
    store: &Store,
    writer: &mut IndexWriter,
    rows: &[i64],
    audit: &AuditEntry,
) -> Result<Erasure> {
    let mut done = Erasure::default();
    store
        .conn
        .pragma_update(None, "secure_delete", "ON")
        .context("cannot turn on secure_delete")?;
    store.begin()?;
    // The erased threads' ids stay used: a noted `thread:N` must not come
    // to name a conversation imported later.
    store.raise_thread_high(store.max_thread()?)?;
    store.conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS erase_rows (id INTEGER PRIMARY KEY);
         DELETE FROM temp.erase_rows;",
    )?;
    let now = chrono::Utc::now().timestamp();
    {
        let mut add = store
            .conn
            .prepare("INSERT OR IGNORE INTO temp.erase_rows (id) VALUES (?1)")?;
        let mut id_of = store
            .conn
            .prepare("SELECT message_id FROM messages WHERE id = ?1")?;
        let mut record = store
            .conn
            .prepare("INSERT OR IGNORE INTO erased (key, time) VALUES (?1, ?2)")?;
        for &row in rows {
            let id: Option<String> = id_of.query_map([row], |r| r.get(0))?.next().transpose()?;
            if let Some(id) = id {
                add.execute([row])?;
                record.execute(params![key(&id), now])?;
                done.messages += 1;
            }
        }
    }
    // The addresses of the erased messages: those no kept message has are
    // looked for in the compression dictionary afterwards.
    let mut addresses: HashSet<String> = {
        let mut q = store.conn.prepare(
            "SELECT DISTINCT address FROM addresses WHERE message IN (SELECT id FROM temp.erase_rows)",
        )?;
        q.query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?
    };
    let mut ghosts = HashSet::new();
    each_id(
        store,
        "WHERE id IN (SELECT id FROM temp.erase_rows)",
        |id| {
            ghosts.insert(id.to_string());
        },
    )?;
    done.copies = store.conn.query_row(
        "SELECT count(*) FROM locations WHERE message IN (SELECT id FROM temp.erase_rows)",
        [],
        |r| r.get::<_, i64>(0),
    )? as u64;
    store
        .conn
        .execute_batch(
            "INSERT INTO erasing (message, pack, pack_offset, pack_len)
               SELECT id, pack, pack_offset, pack_len FROM messages
               WHERE id IN (SELECT id FROM temp.erase_rows);
             INSERT INTO erasing (message, pack, pack_offset, pack_len)
               SELECT message, pack, pack_offset, pack_len FROM locations
               WHERE message IN (SELECT id FROM temp.erase_rows) AND pack IS NOT NULL;
             DELETE FROM addresses WHERE message IN (SELECT id FROM temp.erase_rows);
             DELETE FROM attachments WHERE message IN (SELECT id FROM temp.erase_rows);
             DELETE FROM signatures WHERE message IN (SELECT id FROM temp.erase_rows);
             DELETE FROM tags WHERE message IN (SELECT id FROM temp.erase_rows);
             DELETE FROM files WHERE kind <> 'mbox' AND path IN
               (SELECT source FROM locations
                WHERE message IN (SELECT id FROM temp.erase_rows) AND kind <> 'mbox');
             DELETE FROM locations WHERE message IN (SELECT id FROM temp.erase_rows);
             DELETE FROM refless_replies WHERE message IN (SELECT id FROM temp.erase_rows);
             DELETE FROM messages WHERE id IN (SELECT id FROM temp.erase_rows);
             DELETE FROM temp.erase_rows;",
        )
        .context("cannot delete the erased messages from the database")?;
    // The Message-IDs only erased messages referenced (or had) go from the
    // threads' record of ids: what is still referenced stays, so that a
    // message arriving later joins its thread.
    if !ghosts.is_empty() {
        each_id(store, "", |id| {
            ghosts.remove(id);
        })?;
        let mut forget = store
            .conn
            .prepare("DELETE FROM thread_ids WHERE msgid = ?1")?;
        for id in &ghosts {
            forget.execute([id])?;
        }
    }
    if !addresses.is_empty() {
        let mut q = store.conn.prepare("SELECT address FROM addresses")?;
        let mut rows = q.query([])?;
        while let Some(r) = rows.next()? {
            addresses.remove(r.get_ref(0)?.as_str()?);
        }
    }
    let traces: Vec<String> = addresses.into_iter().chain(ghosts).collect();
    let audit = AuditEntry {
        count: done.messages as i64,
        ..audit.clone()
    };
    export::insert_audit(store, &audit, now)?;
    // The dictionary was trained on the archive's first messages: if they
    // were among these, it holds pieces of them, and every frame needs it.
    // The repack that replaces it is recorded as owed with the deletion, so
    // that a kill or a failure before it is done leaves it to the next
    // erase, gc or check --repair ([`finish_repack`]).
    if pack::dictionaries_hold(&archive.originals_dir(), &traces)? {
        store.set_meta(repack::PENDING, "1")?;
    }
    store.commit()?;
    if abort_requested("erase-committed") {
        std::process::abort();
    }
    let finished = finish(archive, store, writer)?;
    done.original_bytes = finished.original_bytes;
    done.segments_rewritten = finished.segments_rewritten;
    done.vacuum_pending = finished.vacuum_pending;
    done.dictionary_replaced = finish_repack(archive, store)?;
    Ok(done)
}

/// Whether an erasure found its messages' addresses or Message-IDs in the
/// compression dictionary and the repack replacing it is still to do.
pub fn repack_pending(store: &Store) -> Result<bool> {
    Ok(store.meta(repack::PENDING)?.is_some())
}

/// Carries out the repack an erasure recorded as owed ([`repack_pending`]),
/// once its messages' erasure is finished ([`finish`]); true when it ran.
pub fn finish_repack(archive: &Archive, store: &Store) -> Result<bool> {
    if !repack_pending(store)? {
        return Ok(false);
    }
    if !pending(store)?.is_empty() {
        bail!("an erasure is left unfinished: the dictionary is replaced after it");
    }
    repack::repack(archive, store)?;
    Ok(true)
}

/// Whether an erasure is left unfinished: its messages ([`pending`]), or
/// the vacuum of the database ([`finish`]).
pub fn unfinished(store: &Store) -> Result<bool> {
    Ok(!pending(store)?.is_empty() || store.meta(VACUUM_PENDING)?.is_some())
}

/// The messages whose erasure was committed but not carried out (none in
/// an archive no erasing kura has opened for writing).
pub fn pending(store: &Store) -> Result<HashSet<i64>> {
    if !store.has_table("erasing")? {
        return Ok(HashSet::new());
    }
    let mut q = store.conn.prepare("SELECT DISTINCT message FROM erasing")?;
    let rows = q
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()
        .context("cannot read the erasures to finish")?;
    Ok(rows)
}

/// Calls `f` with each Message-ID the messages `filter` selects have or
/// reference.
fn each_id(store: &Store, filter: &str, mut f: impl FnMut(&str)) -> Result<()> {
    let mut q = store.conn.prepare(&format!(
        "SELECT message_id, refs, in_reply_to FROM messages {filter}"
    ))?;
    let mut rows = q.query([])?;
    while let Some(r) = rows.next()? {
        for i in 0..3 {
            r.get_ref(i)?.as_str()?.split_whitespace().for_each(&mut f);
        }
    }
    Ok(())
}

/// Lists the original of a reject that is an erased message (`kura rejects
/// --retry` drops the reject in the caller's transaction) for [`finish`] to
/// zero, as the row 0, which no message has.
pub fn list_reject(store: &Store, frame: PackRef) -> Result<()> {
    store
        .conn
        .execute(
            "INSERT INTO erasing (message, pack, pack_offset, pack_len) VALUES (0, ?1, ?2, ?3)",
            params![frame.pack, frame.offset as i64, frame.len],
        )
        .context("cannot record the reject's original to erase")?;
    Ok(())
}

/// Carries out what `erasing` lists (the erasure just committed, or one a
/// kill interrupted): deletes the documents from the index and rewrites the
/// segments that held them, zeroes the frames in the packs, then empties
/// `erasing`, vacuums the database and truncates the WAL. Does nothing when
/// nothing is listed or left to vacuum.
///
/// Emptying `erasing` records in the same transaction that the vacuum is
/// still to do (`VACUUM_PENDING`); that record goes once the vacuumed
/// database is written back and the WAL emptied. A process reading the
/// database (a `kura search`) keeps the checkpoint from writing pages back
/// that its snapshot still reads: the record then stays, the old bytes with
/// it, and [`Erasure::vacuum_pending`] says so; the next `finish` (by an
/// import, an erase or `check --repair`) vacuums again.
pub fn finish(archive: &Archive, store: &Store, writer: &mut IndexWriter) -> Result<Erasure> {
    let mut q = store
        .conn
        .prepare("SELECT message, pack, pack_offset, pack_len FROM erasing")?;
    let listed: Vec<(i64, PackRef)> = q
        .query_map([], |r| Ok((r.get(0)?, crate::store::pack_ref(r, 1)?)))?
        .collect::<rusqlite::Result<_>>()
        .context("cannot read the erasures to finish")?;
    drop(q);
    let mut done = Erasure::default();
    if listed.is_empty() && store.meta(VACUUM_PENDING)?.is_none() {
        return Ok(done);
    }
    store
        .conn
        .pragma_update(None, "secure_delete", "ON")
        .context("cannot turn on secure_delete")?;
    if !listed.is_empty() {
        let mut rows: Vec<i64> = listed.iter().map(|(row, _)| *row).collect();
        rows.sort_unstable();
        rows.dedup();
        index::delete_ids(writer, &rows)?;
        let batch = index::committed_batch(writer.index())?;
        index::commit(writer, batch)?;
        if abort_requested("erase-index-committed") {
            std::process::abort();
        }
        done.segments_rewritten = index::purge_deleted(writer)?;
        let frames: Vec<PackRef> = listed.iter().map(|(_, r)| *r).collect();
        done.original_bytes = pack::zero_frames(&archive.originals_dir(), &frames)?;
        store.begin()?;
        store
            .conn
            .execute("DELETE FROM erasing", [])
            .context("cannot record the erasure as done")?;
        store.set_meta(VACUUM_PENDING, "1")?;
        store.commit()?;
    }
    // secure_delete zeroed what the deletes freed, but pages keep stale
    // copies of cells that earlier writes moved (page splits, defragmenting):
    // VACUUM writes the database afresh. Then the WAL, which holds the old
    // pages too, is written back and emptied.
    store.vacuum()?;
    if store.truncate_wal()? {
        store
            .conn
            .execute("DELETE FROM meta WHERE key = ?1", [VACUUM_PENDING])
            .context("cannot record the erasure as done")?;
        store.truncate_wal()?;
    } else {
        done.vacuum_pending = true;
    }
    Ok(done)
}

/// The `meta` key recorded while an erasure's vacuum is still to do (see
/// [`finish`]).
const VACUUM_PENDING: &str = "erase_vacuum_pending";
