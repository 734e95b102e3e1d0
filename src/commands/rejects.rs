//! `kura rejects`: inputs that could not be imported, with the reason.

use crate::cli::{Format, GlobalArgs, RejectsArgs};
use crate::output::{self, sanitize};
use crate::store::Store;
use anyhow::Result;
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
    let archive = super::archive(global)?;
    let store = Store::open_ro(&archive)?;
    let mut q = store.conn.prepare(
        "SELECT source, mbox_offset, reason, size, time FROM rejects ORDER BY source, mbox_offset",
    )?;
    let rows = q
        .query_map([], |r| {
            Ok(Reject {
                source: r.get(0)?,
                mbox_offset: r.get(1)?,
                reason: r.get(2)?,
                size: r.get(3)?,
                time: crate::store::format_date(r.get(4)?, false),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match output::resolve_format(args.format) {
        Format::Json => {
            serde_json::to_writer(&mut out, &rows)?;
            writeln!(out)?;
        }
        Format::Jsonl => {
            for r in &rows {
                serde_json::to_writer(&mut out, r)?;
                writeln!(out)?;
            }
        }
        Format::Table => {
            let mut t = comfy_table::Table::new();
            t.load_style(comfy_table::presets::NOTHING);
            t.set_header(vec!["source", "offset", "size", "reason"]);
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
