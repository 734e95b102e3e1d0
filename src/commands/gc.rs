//! `kura gc`: compacts the archive. The index segments are merged into one
//! (dropping deleted documents) and unused index files removed; with
//! `--repack`, the originals are rewritten into new packs with a new
//! dictionary ([`crate::repack`]); the database is vacuumed and its WAL
//! truncated. Reports the bytes reclaimed per part. The import lock is held
//! throughout; searches keep working.

use super::stats::{Sizes, human_size, sizes};
use crate::archive::{Archive, tighten_permissions};
use crate::cli::{GcArgs, GlobalArgs, ReportFormat};
use crate::erase;
use crate::index;
use crate::repack::Repack;
use crate::store::Store;
use anyhow::{Context, Result};
use std::io::Write;

/// What `kura gc` did.
#[derive(Debug, serde::Serialize)]
pub struct GcReport {
    pub before: Sizes,
    pub after: Sizes,
    /// Index segments before the merge.
    pub segments: usize,
    /// What `--repack` did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repack: Option<Repack>,
}

/// Compacts `archive`, repacking its originals when `repack` (the caller
/// holds the import lock).
pub fn compact(archive: &Archive, repack: bool) -> Result<GcReport> {
    let before = sizes(archive);
    let dir = archive.index_dir();
    index::settle_swap(&dir)?;
    let index = index::open_existing(&dir)?;
    let segments = index
        .searchable_segment_ids()
        .context("cannot list the index segments")?;
    let mut writer = index::writer(&index)?;
    // First the files left by a merge that failed or was killed: the room
    // they take may be what the merge needs.
    writer
        .garbage_collect_files()
        .wait()
        .context("cannot remove unused index files")?;
    if segments.len() > 1 {
        index::merge_segments(&mut writer, &segments)?;
    }
    writer
        .garbage_collect_files()
        .wait()
        .context("cannot remove unused index files")?;
    let store = Store::open_rw(archive)?;
    // A repack an interrupted erase still owes is done too.
    let repacked = if repack || erase::repack_pending(&store)? {
        // An erasure left unfinished still names frames of the old packs.
        erase::finish(archive, &store, &mut writer)?;
        Some(crate::repack::repack(archive, &store)?)
    } else {
        crate::repack::cleanup(&archive.originals_dir(), &store)?;
        None
    };
    writer
        .wait_merging_threads()
        .context("the index merge failed")?;

    store.vacuum()?;
    // A reader's snapshot may keep part of the WAL: the next checkpoint
    // writes it back.
    store.truncate_wal()?;
    drop(store);
    tighten_permissions(&archive.root)?;
    Ok(GcReport {
        before,
        after: sizes(archive),
        segments: segments.len(),
        repack: repacked,
    })
}

fn reclaimed(before: u64, after: u64) -> String {
    if after <= before {
        format!("{} reclaimed", human_size(before - after))
    } else {
        format!("{} grown", human_size(after - before))
    }
}

pub fn run(global: &GlobalArgs, args: &GcArgs) -> Result<i32> {
    let archive = super::archive(global)?;
    archive.require()?;
    let _lock = archive.lock_for_writing(args.wait)?;
    let report = compact(&archive, args.repack)?;
    let mut out = std::io::stdout().lock();
    match args.format {
        ReportFormat::Json => {
            serde_json::to_writer(&mut out, &report)?;
            writeln!(out)?;
        }
        ReportFormat::Text if !global.quiet => {
            let (b, a) = (&report.before, &report.after);
            let mut line = |name: &str, b: u64, a: u64| {
                writeln!(
                    out,
                    "{name:<10} {:>10} -> {:>10}  {}",
                    human_size(b),
                    human_size(a),
                    reclaimed(b, a)
                )
            };
            line("database", b.sqlite, a.sqlite)?;
            line("index", b.index, a.index)?;
            line("originals", b.originals, a.originals)?;
            line("total", b.total, a.total)?;
            if report.segments > 1 {
                writeln!(out, "index segments merged: {} -> 1", report.segments)?;
            }
            if let Some(r) = &report.repack {
                let dictionary = match r.dictionary {
                    Some(id) => format!("a new dictionary ({id})"),
                    None => "no dictionary (too little mail to train one)".to_string(),
                };
                writeln!(
                    out,
                    "originals repacked: {}, compressed with {dictionary}",
                    r.originals
                )?;
            }
        }
        ReportFormat::Text => {}
    }
    out.flush()?;
    Ok(0)
}
