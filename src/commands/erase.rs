//! `kura erase`: erases the messages matching a query for good (see
//! [`crate::erase`] for what that removes and how a kill is survived), after
//! a question on a terminal or with `--yes`; `--dry-run` lists them. Each
//! erasure is recorded in the audit trail.

use super::search::{parse_query, text_line};
use crate::archive::ExitError;
use crate::cli::{EraseArgs, GlobalArgs, ReportFormat};
use crate::erase::{self, Erasure};
use crate::export::{self, AuditEntry};
use crate::import::{record_index_version, recover};
use crate::index;
use crate::output::sanitize;
use crate::query::exec::Order;
use crate::store::{MessageView, Store};
use anyhow::{Context, Result};
use std::io::{BufRead, IsTerminal, Write};

pub fn run(global: &GlobalArgs, args: &EraseArgs) -> Result<i32> {
    let q = parse_query(&args.query)?;
    let archive = super::archive(global)?;
    archive.require()?;
    let _lock = archive.lock_for_writing(args.wait)?;
    let store = Store::open_rw(&archive)?;
    let dir = archive.index_dir();
    index::settle_swap(&dir)?;
    let index = index::open_existing(&dir)?;
    let fields = index::fields_of(&index)?;
    record_index_version(&store, &fields)?;
    let mut writer = index::writer(&index)?;
    // Every message the store holds must be found by the query: the index
    // catches up with a killed import, and a killed erasure is finished.
    recover(&archive, &store, &mut writer, &fields)?;
    erase::finish(&archive, &store, &mut writer)?;
    // A repack an earlier erase owes is tried again; one that cannot be
    // done (a damaged original) does not keep this erasure from being done.
    if let Err(e) = erase::finish_repack(&archive, &store) {
        eprintln!("erase: warning: {e:#}");
    }

    // --dry-run lists them: one line each, or in the JSON summary.
    let mut listed = Vec::new();
    let mut rows: Vec<i64> = {
        let searcher = super::searcher(global, &archive, &q)?;
        let hits = searcher.search(&q, Order::Oldest, 0, None)?;
        if args.dry_run {
            for hit in &hits {
                if let Some(v) = searcher.store.message_view(hit.id, args.query.utc)? {
                    listed.push(v);
                }
            }
        }
        hits.iter().map(|h| h.id).collect()
    };
    if args.format == ReportFormat::Text {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for v in &listed {
            writeln!(out, "{}", text_line(v))?;
        }
        out.flush()?;
    }
    rows.sort_unstable();
    let query = args.query.query.join(" ");
    if rows.is_empty() {
        if args.format == ReportFormat::Json {
            // A script reads the same object, with nothing in it; status 1
            // says so also to a reader that stopped reading.
            crate::output::unless_broken_pipe(summary(
                global,
                args,
                &Erasure::default(),
                args.dry_run.then_some(&listed[..]),
            ))?;
        } else if !global.quiet {
            eprintln!("erase: nothing matched {}", sanitize(&query));
        }
        index::finish(writer)?;
        return Ok(1);
    }
    if args.dry_run {
        summary(global, args, &dry_run_count(&store, &rows)?, Some(&listed))?;
        index::finish(writer)?;
        return Ok(0);
    }
    if !args.yes {
        let n = rows.len();
        let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        if !interactive {
            return Err(ExitError {
                code: 2,
                message: format!(
                    "{n} messages match; pass --yes to erase them for good (--dry-run lists them)"
                ),
            }
            .into());
        }
        eprint!("Erase {n} messages for good? They cannot be brought back. [y/N] ");
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .context("cannot read the answer")?;
        if !matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
            eprintln!("erase: nothing erased");
            index::finish(writer)?;
            return Ok(1);
        }
    }

    let audit = AuditEntry {
        time: String::new(),
        os_user: export::os_user(),
        customer: String::new(),
        query,
        format: "erase".to_string(),
        count: 0,
        destination: "-".to_string(),
    };
    let done = erase::erase(&archive, &store, &mut writer, &rows, &audit)?;
    drop(store);
    index::finish(writer).context("the index merge failed")?;
    summary(global, args, &done, None)?;
    if done.vacuum_pending {
        return Err(ExitError {
            code: 75,
            message: "the database's files still hold old bytes of the erased messages: another process was reading it (a kura search?); kura erase, kura import or kura check --repair overwrites them once it is done".to_string(),
        }
        .into());
    }
    Ok(0)
}

/// What erasing `rows` would erase (for `--dry-run`).
fn dry_run_count(store: &Store, rows: &[i64]) -> Result<Erasure> {
    let mut copies = store
        .conn
        .prepare_cached("SELECT count(*) FROM locations WHERE message = ?1")?;
    let mut done = Erasure {
        messages: rows.len() as u64,
        ..Default::default()
    };
    for &row in rows {
        done.copies += copies.query_row([row], |r| r.get::<_, i64>(0))? as u64;
    }
    Ok(done)
}

/// The summary: one line on stderr, or a JSON object on stdout. `listed`:
/// the messages a dry run lists (in the JSON object as `listed`, the objects
/// of `kura search --format json`).
fn summary(
    global: &GlobalArgs,
    args: &EraseArgs,
    done: &Erasure,
    listed: Option<&[MessageView]>,
) -> Result<()> {
    let dry_run = listed.is_some();
    match args.format {
        ReportFormat::Json => {
            let mut v = serde_json::to_value(done)?;
            v["dry_run"] = dry_run.into();
            if let Some(listed) = listed {
                v["listed"] = serde_json::to_value(listed)?;
            }
            let mut out = std::io::stdout().lock();
            serde_json::to_writer(&mut out, &v)?;
            writeln!(out)?;
        }
        ReportFormat::Text if global.quiet => {}
        ReportFormat::Text if dry_run => eprintln!(
            "erase: {} messages ({} copies) would be erased; nothing was (--yes erases them)",
            done.messages, done.copies
        ),
        ReportFormat::Text => eprintln!(
            "erase: {} messages erased ({} copies, {} of stored originals overwritten{})",
            done.messages,
            done.copies,
            super::stats::human_size(done.original_bytes),
            if done.dictionary_replaced {
                "; the compression dictionary held their addresses: every original recompressed with a new one"
            } else {
                ""
            }
        ),
    }
    Ok(())
}
