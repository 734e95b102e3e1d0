//! `kura log`: the import history (the `import_log` table), newest first.

use crate::cli::{Format, GlobalArgs, LogArgs};
use crate::output::{self, sanitize};
use crate::store::{Store, format_date};
use anyhow::Result;
use std::io::Write;

/// One import, as `kura log --format json` prints it.
#[derive(Debug, serde::Serialize)]
pub struct LogEntry {
    pub id: i64,
    /// RFC 3339.
    pub started: String,
    /// RFC 3339; null while running (or when the import was killed).
    pub finished: Option<String>,
    pub seconds: Option<i64>,
    /// `ok`, `failed`, or `running` (still running, or killed).
    pub status: String,
    pub seen: i64,
    pub new: i64,
    pub duplicates: i64,
    pub conflicts: i64,
    pub rejected: i64,
    pub unchanged: i64,
    /// Messages left for the next import (an mbox still being written).
    pub incomplete: i64,
    /// Messages skipped because `kura erase` erased them.
    pub erased: i64,
    pub paths: Vec<String>,
}

/// The newest `limit` imports (all when `None`), newest first.
pub fn entries(store: &Store, limit: Option<usize>) -> Result<Vec<LogEntry>> {
    let limit = limit.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
    // An archive no import of this kura has written to yet lacks the columns.
    let column = |name: &'static str| -> Result<&'static str> {
        Ok(if store.has_column("import_log", name)? {
            name
        } else {
            "0"
        })
    };
    let (incomplete, erased) = (column("incomplete")?, column("erased")?);
    let mut q = store.conn.prepare(&format!(
        "SELECT id, started, finished, status, seen, new, duplicates, conflicts, rejected,
            unchanged, paths, {incomplete}, {erased} FROM import_log ORDER BY id DESC LIMIT ?1"
    ))?;
    let rows = q
        .query_map([limit], |r| {
            let started: i64 = r.get(1)?;
            let finished: Option<i64> = r.get(2)?;
            let paths: String = r.get(10)?;
            Ok(LogEntry {
                id: r.get(0)?,
                started: format_date(started, false),
                finished: finished.map(|f| format_date(f, false)),
                seconds: finished.map(|f| f - started),
                status: r.get(3)?,
                seen: r.get(4)?,
                new: r.get(5)?,
                duplicates: r.get(6)?,
                conflicts: r.get(7)?,
                rejected: r.get(8)?,
                unchanged: r.get(9)?,
                incomplete: r.get(11)?,
                erased: r.get(12)?,
                paths: paths
                    .lines()
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect(),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn run(global: &GlobalArgs, args: &LogArgs) -> Result<i32> {
    let archive = super::archive(global)?;
    let store = Store::open_ro(&archive)?;
    let rows = entries(&store, args.limit)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let format = output::resolve_format(args.format);
    match format {
        Format::Json | Format::Jsonl => output::write_json_rows(&mut out, format, &rows)?,
        Format::Table => {
            let mut t = output::plain_table(vec![
                "started", "status", "seen", "new", "dup", "rej", "unch", "time", "paths",
            ]);
            for r in &rows {
                t.add_row(vec![
                    r.started.clone(),
                    r.status.clone(),
                    r.seen.to_string(),
                    r.new.to_string(),
                    r.duplicates.to_string(),
                    r.rejected.to_string(),
                    r.unchanged.to_string(),
                    r.seconds.map(|s| format!("{s} s")).unwrap_or_default(),
                    sanitize(&r.paths.join(" ")),
                ]);
            }
            writeln!(out, "{t}")?;
        }
        Format::Ids => {
            for r in &rows {
                writeln!(out, "{}", r.id)?;
            }
        }
        Format::Text | Format::Auto => {
            for r in &rows {
                let mut more = String::new();
                if r.erased > 0 {
                    more.push_str(&format!(", {} erased before", r.erased));
                }
                if r.incomplete > 0 {
                    more.push_str(&format!(", {} left for the next import", r.incomplete));
                }
                writeln!(
                    out,
                    "{}\t{}\t{} seen, {} new, {} duplicates ({} conflicts), {} rejected, {} unchanged{more}\t{}",
                    r.started,
                    r.status,
                    r.seen,
                    r.new,
                    r.duplicates,
                    r.conflicts,
                    r.rejected,
                    r.unchanged,
                    sanitize(&r.paths.join(" "))
                )?;
            }
        }
    }
    out.flush()?;
    Ok(0)
}
