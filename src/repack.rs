//! Rewriting the packs of originals (`kura gc --repack`; `kura erase` when
//! the compression dictionary holds text of what it erased).
//!
//! Packs only grow: an erased original is zeroed in place
//! ([`crate::erase`]), and the zstd dictionary trained on the archive's
//! first messages ([`crate::pack`]) keeps pieces of them (addresses,
//! Message-IDs, header lines) for as long as any frame needs it. A repack
//! reads every original the archive still refers to (messages, conflicting
//! copies, rejects), checks it against its hash, and writes it again into
//! new packs, compressed with a dictionary trained afresh on a spread of
//! the archive's messages. Then the old packs and dictionaries go.
//!
//! Crash safety: the new packs are numbered after the last one and synced
//! before one SQLite transaction points every row at them and records what
//! is to be removed (`REPACKED_BELOW`, `REPACK_DICTIONARY`). A kill
//! before the commit leaves the archive as it was, with new pack files past
//! the last one and the new dictionary (`REPACK_NEW_DICTIONARY`), that
//! [`cleanup`] removes; a kill after it leaves old files
//! that [`cleanup`] removes (every writer calls it before writing). A
//! dictionary file is only ever removed once every frame was rewritten
//! without it.

use crate::archive::Archive;
use crate::pack::{self, Compressor, DictionaryTrainer, PackReader, PackRef, PackWriter};
use crate::store::Store;
use anyhow::{Context, Result};
use rusqlite::params;
use std::path::Path;
use std::sync::Arc;

/// `meta` key: pack files numbered below it are left over from a repack.
const REPACKED_BELOW: &str = "repacked_below";

/// `meta` key: the only dictionary frames use after a repack (0: none).
const REPACK_DICTIONARY: &str = "repack_dictionary";

/// `meta` key: the dictionary a repack is writing, recorded before its file
/// is created (when no such file was there): until the repack commits, the
/// file is left over and [`cleanup`] removes it, so that no import takes it
/// for the archive's dictionary.
const REPACK_NEW_DICTIONARY: &str = "repack_new_dictionary";

/// `meta` key: an erasure found addresses or Message-IDs of what it erased
/// in the dictionary and a repack is owed ([`crate::erase`]); the repack's
/// transaction removes it.
pub(crate) const PENDING: &str = "repack_pending";

/// The tables that refer to originals in packs, each with its columns of
/// the original's length and hash.
const TABLES: &[&str] = &["messages", "locations", "rejects"];

/// What a repack did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Repack {
    /// Originals rewritten.
    pub originals: u64,
    /// Bytes of the packs and dictionaries before and after.
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// The new dictionary's id (none when too little mail to train one).
    pub dictionary: Option<u32>,
}

/// One original to rewrite.
struct Frame {
    table: usize,
    row: i64,
    at: PackRef,
    size: usize,
    hash: Vec<u8>,
}

/// Rewrites every pack of `archive` (the caller holds the import lock and
/// has finished any pending erasure).
pub fn repack(archive: &Archive, store: &Store) -> Result<Repack> {
    let dir = archive.originals_dir();
    cleanup(&dir, store)?;
    rewrite(&dir, store).map_err(|e| {
        // What it wrote is removed at once, not by the next writer: a
        // repack that failed for want of room leaves the disk as it was.
        if !store.conn.is_autocommit() {
            let _ = store.conn.execute_batch("ROLLBACK");
        }
        match cleanup(&dir, store) {
            Ok(()) => e,
            Err(c) => e.context(format!("{c:#}")),
        }
    })
}

/// [`repack`] once what earlier repacks left is removed.
fn rewrite(dir: &Path, store: &Store) -> Result<Repack> {
    let mut done = Repack {
        bytes_before: originals_bytes(dir),
        ..Default::default()
    };
    let mut frames = Vec::new();
    for (table, name) in TABLES.iter().enumerate() {
        let mut q = store.conn.prepare(&format!(
            "SELECT id, pack, pack_offset, pack_len, size, raw_hash FROM {name} WHERE pack IS NOT NULL"
        ))?;
        let rows = q.query_map([], |r| {
            Ok(Frame {
                table,
                row: r.get(0)?,
                at: crate::store::pack_ref(r, 1)?,
                size: r.get::<_, i64>(4)? as usize,
                hash: r.get(5)?,
            })
        })?;
        for f in rows {
            frames.push(f?);
        }
    }
    // Read in the order of the packs, so that old and new files stream.
    frames.sort_by_key(|f| (f.at.pack, f.at.offset));
    let mut reader = PackReader::new(dir);
    let dict = train(dir, store, &frames, &mut reader)?;
    done.dictionary = dict.as_ref().map(|d| d.id());
    let mut compressor =
        Compressor::with_dictionaries(Arc::new(DictionaryTrainer::holding(dict.clone())))?;

    let first = u32::try_from(store.meta_i64("pack")?.max(1) + 1).context("too many packs")?;
    let mut writer = PackWriter::open(dir, first, 0)?;
    let mut moved: Vec<(usize, i64, PackRef)> = Vec::with_capacity(frames.len());
    for f in &frames {
        let raw = reader.read(f.at, f.size, &f.hash).with_context(|| {
            format!(
                "cannot repack: {} row {} (kura check)",
                TABLES[f.table], f.row
            )
        })?;
        let c = compressor.compress(&raw)?;
        moved.push((f.table, f.row, writer.append(&c.frame)?));
    }
    let (last, len) = writer.sync()?;
    // The new packs' names must be as durable as their bytes before the
    // store points at them.
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync {}", dir.display()))?;
    drop(frames);
    abort_if("repack-written");

    store.begin()?;
    for (table, name) in TABLES.iter().enumerate() {
        let mut update = store.conn.prepare(&format!(
            "UPDATE {name} SET pack = ?1, pack_offset = ?2, pack_len = ?3 WHERE id = ?4"
        ))?;
        for (_, row, at) in moved.iter().filter(|m| m.0 == table) {
            update.execute(params![at.pack, at.offset as i64, at.len, row])?;
        }
    }
    store.set_meta("pack", &last.to_string())?;
    store.set_meta("pack_len", &len.to_string())?;
    store.set_meta(REPACKED_BELOW, &first.to_string())?;
    store.set_meta(REPACK_DICTIONARY, &done.dictionary.unwrap_or(0).to_string())?;
    store.conn.execute(
        "DELETE FROM meta WHERE key IN (?1, ?2)",
        [PENDING, REPACK_NEW_DICTIONARY],
    )?;
    store.commit().context("cannot record the new packs")?;
    abort_if("repack-committed");
    done.originals = moved.len() as u64;
    cleanup(dir, store)?;
    done.bytes_after = originals_bytes(dir);
    Ok(done)
}

/// A testing aid: `KURA_TEST_ABORT_AT=repack-written` aborts the process
/// once the new packs are written and synced, `repack-committed` once the
/// store points at them, as `kill -9` would.
fn abort_if(step: &str) {
    if std::env::var("KURA_TEST_ABORT_AT").is_ok_and(|v| v == step) {
        std::process::abort();
    }
}

/// Trains the new dictionary on up to [`pack::DICT_SAMPLES`] messages spread
/// over the archive (rejects and conflicting copies are no samples).
fn train(
    dir: &Path,
    store: &Store,
    frames: &[Frame],
    reader: &mut PackReader,
) -> Result<Option<Arc<pack::Dictionary>>> {
    let messages: Vec<&Frame> = frames.iter().filter(|f| f.table == 0).collect();
    let step = messages.len().div_ceil(pack::DICT_SAMPLES).max(1);
    let mut data = Vec::new();
    let mut sizes = Vec::new();
    for f in messages.iter().step_by(step) {
        let raw = reader
            .read(f.at, f.size, &f.hash)
            .with_context(|| format!("cannot repack: message row {} (kura check)", f.row))?;
        let take = &raw[..raw.len().min(pack::DICT_SAMPLE_BYTES)];
        data.extend_from_slice(take);
        sizes.push(take.len());
    }
    if sizes.len() < 2 {
        return Ok(None);
    }
    let Some((bytes, dict)) = pack::trained_dictionary(&data, &sizes) else {
        return Ok(None);
    };
    if !pack::dict_path(dir, dict.id()).exists() {
        store.set_meta(REPACK_NEW_DICTIONARY, &dict.id().to_string())?;
    }
    pack::store_dictionary(dir, &bytes, dict).map(Some)
}

/// Removes what a repack left behind: pack files past the last one and the
/// dictionary it trained (a repack that did not commit; pack files also of
/// an import killed as it started a pack), and once a repack committed, the
/// packs before its first and every dictionary but its own. Cheap when
/// there is nothing to do.
pub fn cleanup(dir: &Path, store: &Store) -> Result<()> {
    let last = store.meta_i64("pack")?.max(1);
    let below = store
        .meta(REPACKED_BELOW)?
        .and_then(|v| v.parse::<i64>().ok());
    let keep_dict = store
        .meta(REPACK_DICTIONARY)?
        .and_then(|v| v.parse::<u32>().ok());
    // Recorded by a repack that did not commit (one that did removed it).
    let uncommitted_dict = store
        .meta(REPACK_NEW_DICTIONARY)?
        .and_then(|v| v.parse::<u32>().ok());
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
    };
    let mut removed = false;
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let stale = if let Some(n) = pack_number(&name) {
            n > last || below.is_some_and(|b| n < b)
        } else if let Some(id) = dict_id(&name) {
            keep_dict.is_some_and(|k| k != id)
                || (keep_dict.is_none() && uncommitted_dict == Some(id))
        } else {
            false
        };
        if stale {
            let path = entry.path();
            if dict_id(&name).is_some() {
                zero_file(&path)?;
            }
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
            removed = true;
        }
    }
    if removed {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("cannot sync {}", dir.display()))?;
    }
    if below.is_some() || keep_dict.is_some() || uncommitted_dict.is_some() {
        store.conn.execute(
            "DELETE FROM meta WHERE key IN (?1, ?2, ?3)",
            [REPACKED_BELOW, REPACK_DICTIONARY, REPACK_NEW_DICTIONARY],
        )?;
    }
    Ok(())
}

/// Overwrites the file at `path` with zeros and syncs it, before it is
/// removed: a dictionary holds pieces of the mail it was trained on (erased
/// mail among them, when an erasure replaced it), which the removal alone
/// would leave on the disk.
fn zero_file(path: &Path) -> Result<()> {
    use std::os::unix::fs::FileExt;
    let f = std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| {
            let len = f.metadata()?.len();
            f.write_all_at(&vec![0u8; len as usize], 0)?;
            f.sync_all()?;
            Ok(f)
        })
        .with_context(|| format!("cannot overwrite {}", path.display()))?;
    drop(f);
    Ok(())
}

/// `pack-000012.zst` → 12.
fn pack_number(name: &str) -> Option<i64> {
    name.strip_prefix("pack-")?
        .strip_suffix(".zst")?
        .parse()
        .ok()
}

/// `dict-0123456789.zdict` → 123456789.
fn dict_id(name: &str) -> Option<u32> {
    name.strip_prefix("dict-")?
        .strip_suffix(".zdict")?
        .parse()
        .ok()
}

/// Bytes of the packs and dictionaries.
fn originals_bytes(dir: &Path) -> u64 {
    crate::archive::dir_size(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_read_back() {
        assert_eq!(pack_number("pack-000012.zst"), Some(12));
        assert_eq!(pack_number("pack-000012.zst.tmp"), None);
        assert_eq!(dict_id("dict-0123456789.zdict"), Some(123_456_789));
        assert_eq!(dict_id("dict-0123456789.zdict.tmp"), None);
    }
}
