//! `kura rejects`: inputs that could not be imported, with the reason;
//! `--retry` parses them again (after an upgrade of kura) and imports those
//! that are mail now.

use crate::archive::{Archive, tighten_permissions};
use crate::cli::{Format, GlobalArgs, RejectsArgs};
use crate::erase::{self, Erased};
use crate::index;
use crate::output::{self, sanitize};
use crate::pack::{PackReader, PackRef};
use crate::parse;
use crate::store::{Place, SourcePath, Store, recorded_path};
use anyhow::{Context, Result};
use rusqlite::OptionalExtension;
use std::io::Write;

#[derive(Debug, serde::Serialize)]
struct Reject {
    source: String,
    mbox_offset: Option<i64>,
    reason: String,
    size: i64,
    time: String,
}

pub fn run(global: &GlobalArgs, args: &RejectsArgs) -> Result<i32> {
    let format = output::resolve_format_without_ids(args.format, "kura rejects")?;
    let archive = super::archive(global)?;
    if args.retry {
        archive.require()?;
        let _lock = archive.lock_for_writing(args.wait)?;
        let summary = retry(&archive)?;
        if !global.quiet {
            match format {
                Format::Json | Format::Jsonl => {
                    output::print_line(serde_json::to_string(&summary)?)?;
                }
                _ => eprintln!("{summary}"),
            }
        }
        return Ok(0);
    }
    let store = Store::open_ro(&archive)?;
    let mut q = store.conn.prepare(
        "SELECT source, mbox_offset, reason, size, time FROM rejects ORDER BY source, mbox_offset",
    )?;
    let rows = q
        .query_map([], |r| {
            Ok(Reject {
                source: crate::output::path_text(&recorded_path(r, 0)?),
                mbox_offset: r.get(1)?,
                reason: r.get(2)?,
                size: r.get(3)?,
                time: crate::store::format_date(r.get(4)?, false),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match format {
        Format::Json | Format::Jsonl => output::write_json_rows(&mut out, format, &rows)?,
        Format::Table => {
            let mut t = output::plain_table(vec!["source", "offset", "size", "reason"]);
            for r in &rows {
                t.add_row(vec![
                    sanitize(&r.source),
                    r.mbox_offset.map(|o| o.to_string()).unwrap_or_default(),
                    r.size.to_string(),
                    sanitize(&r.reason),
                ]);
            }
            writeln!(out, "{t}")?;
        }
        _ => {
            for r in &rows {
                let place = match r.mbox_offset {
                    Some(o) => format!("{}@{o}", r.source),
                    None => r.source.clone(),
                };
                writeln!(out, "{}\t{}", sanitize(&place), sanitize(&r.reason))?;
            }
        }
    }
    out.flush()?;
    Ok(0)
}

/// What `kura rejects --retry` did.
#[derive(Debug, Default, serde::Serialize)]
pub struct RetrySummary {
    /// Rejects parsed again.
    pub retried: u64,
    /// Of those, now imported (new, duplicates and conflicts together).
    pub imported: u64,
    pub new: u64,
    pub duplicates: u64,
    pub conflicts: u64,
    /// Still not mail (their reason is brought up to date).
    pub still_rejected: u64,
    /// Stored bytes that no longer match their hash (left in place; see `kura check`).
    pub damaged: u64,
    /// Messages `kura erase` erased: not imported, and their bytes are
    /// overwritten with zeros and the reject dropped.
    pub erased: u64,
}

impl std::fmt::Display for RetrySummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "rejects: {} retried, {} imported ({} new, {} duplicates, {} conflicts), {} still rejected",
            self.retried,
            self.imported,
            self.new,
            self.duplicates,
            self.conflicts,
            self.still_rejected
        )?;
        if self.erased > 0 {
            write!(f, ", {} erased before (dropped)", self.erased)?;
        }
        if self.damaged > 0 {
            write!(f, ", {} damaged (kura check)", self.damaged)?;
        }
        Ok(())
    }
}

/// A `rejects` row with where its bytes are.
struct StoredReject {
    id: i64,
    source: std::path::PathBuf,
    mbox_offset: Option<i64>,
    reason: String,
    size: usize,
    raw_hash: Vec<u8>,
    pack: PackRef,
}

/// Parses every reject again; those that parse now are imported like an
/// import would (deduplicated by Message-ID, threaded, indexed) and leave the
/// `rejects` table. Their bytes are already in the pack and are not copied.
/// Those that are messages `kura erase` erased are not imported: their bytes
/// are overwritten with zeros and the reject dropped. The caller holds the
/// import lock.
pub fn retry(archive: &Archive) -> Result<RetrySummary> {
    let store = Store::open_rw(archive)?;
    let idx = index::open_or_create(&archive.index_dir())?;
    let fields = index::fields_of(&idx)?;
    crate::import::record_index_version(&store, &fields)?;
    let mut writer = index::writer(&idx)?;
    // Bring the index level with the store first, as an import does.
    crate::import::recover(archive, &store, &mut writer, &fields)?;
    // An erasure a kill interrupted is finished before anything is added.
    erase::finish(archive, &store, &mut writer)?;
    let erased = Erased::load(&store)?;

    let rejects = {
        let mut q = store.conn.prepare(
            "SELECT id, source, mbox_offset, reason, size, raw_hash, pack, pack_offset, pack_len
             FROM rejects ORDER BY id",
        )?;
        q.query_map([], |r| {
            Ok(StoredReject {
                id: r.get(0)?,
                source: recorded_path(r, 1)?,
                mbox_offset: r.get(2)?,
                reason: r.get(3)?,
                size: r.get::<_, i64>(4)? as usize,
                raw_hash: r.get(5)?,
                pack: crate::store::pack_ref(r, 6)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?
    };
    let mut summary = RetrySummary::default();
    let mut reader = PackReader::new(&archive.originals_dir());
    let batch = store.meta_i64("batch")? + 1;
    // By the subject as the archive is threaded (the last import's options).
    let opts = store.recorded_thread_options()?;
    store.begin()?;
    for rj in &rejects {
        summary.retried += 1;
        let (Ok(raw), Ok(hash)) = (
            reader.read(rj.pack, rj.size, &rj.raw_hash),
            <[u8; 32]>::try_from(rj.raw_hash.as_slice()),
        ) else {
            // Damaged in the pack (`kura check` says how): leave it alone.
            summary.damaged += 1;
            continue;
        };
        // The file's time is the date of last resort, as at import (for an
        // mbox message, import prefers its `From ` line's date, which the
        // stored bytes do not hold).
        let file_time = std::fs::metadata(&rj.source)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs() as i64);
        let m = match parse::parse_message(&raw, file_time) {
            Ok(m) => m,
            Err(e) => {
                summary.still_rejected += 1;
                if e.reason != rj.reason {
                    store.conn.execute(
                        "UPDATE rejects SET reason = ?1 WHERE id = ?2",
                        rusqlite::params![e.reason, rj.id],
                    )?;
                }
                continue;
            }
        };
        if erased.contains(&m) {
            store
                .conn
                .execute("DELETE FROM rejects WHERE id = ?1", [rj.id])?;
            erase::list_reject(&store, rj.pack)?;
            summary.erased += 1;
            continue;
        }
        let kind: String = match store
            .conn
            .query_row(
                "SELECT kind FROM files WHERE path = ?1",
                [SourcePath(&rj.source)],
                |r| r.get(0),
            )
            .optional()?
        {
            Some(k) => k,
            None if rj.mbox_offset.is_some() => "mbox".into(),
            None if rj.source.extension().is_some_and(|e| e == "eml") => "eml".into(),
            None => "maildir".into(),
        };
        let place = Place {
            source: &rj.source,
            kind: &kind,
            mbox_offset: rj.mbox_offset.map(|o| o as u64),
        };
        match store.find_message(&m.message_id)? {
            None => {
                let thread = store.assign_thread(&m.message_id, &m.thread_refs())?;
                let row = store.insert_message(&m, rj.size, &hash, rj.pack, thread, batch)?;
                store.subject_fallback(row, &m, thread, opts)?;
                store.add_location(row, &place, 0, &hash, rj.size, None, batch)?;
                let mut doc = index::document(&fields, &m);
                index::set_id(&mut doc, &fields, row);
                writer.add_document(doc)?;
                summary.new += 1;
            }
            Some((row, content))
                if store.copy_known(row, &place, content == m.content_hash, &hash)? => {}
            Some((row, content)) if content == m.content_hash => {
                store.add_location(row, &place, 1, &hash, rj.size, None, batch)?;
                summary.duplicates += 1;
            }
            Some((row, _)) => {
                store.add_location(row, &place, 2, &hash, rj.size, Some(rj.pack), batch)?;
                summary.duplicates += 1;
                summary.conflicts += 1;
            }
        }
        store
            .conn
            .execute("DELETE FROM rejects WHERE id = ?1", [rj.id])?;
        summary.imported += 1;
    }
    // The erased messages' bytes are listed in `erasing` by the transaction
    // that drops their rejects, and zeroed once it is committed: a kill
    // before that leaves them to the next writer. (Zeroed before the
    // commit, a kill in between left rejects of zeros that no command
    // could drop, damaged for `kura check` for good.)
    if summary.imported > 0 {
        store.set_meta("batch", &batch.to_string())?;
        store.commit()?;
        index::commit(&mut writer, batch)?;
    } else {
        store.commit()?;
    }
    // A testing aid: `KURA_TEST_ABORT_AT=retry-committed` stops here, as
    // `kill -9` would.
    if erase::abort_requested("retry-committed") {
        std::process::abort();
    }
    erase::finish(archive, &store, &mut writer)?;
    index::finish(writer).context("the index merge failed")?;
    tighten_permissions(&archive.root)?;
    Ok(summary)
}
