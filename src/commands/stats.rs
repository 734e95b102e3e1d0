//! `kura stats`: what the archive holds (messages, threads, rejects,
//! duplicates, conflicts, dates), how big each part is, and messages per month.

use crate::archive::Archive;
use crate::cli::{GlobalArgs, ReportFormat, StatsArgs};
use crate::output;
use crate::store::{Store, format_date};
use anyhow::Result;
use std::io::Write;

/// Bytes on disk of each part of the archive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Sizes {
    /// kura.sqlite with its WAL and shared-memory files.
    pub sqlite: u64,
    pub index: u64,
    pub originals: u64,
    pub total: u64,
}

/// The sizes of the archive's parts now.
pub fn sizes(archive: &Archive) -> Sizes {
    let db = archive.db_path();
    let sqlite = ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| {
            let mut p = db.clone().into_os_string();
            p.push(suffix);
            std::fs::metadata(p).ok()
        })
        .map(|m| m.len())
        .sum();
    let index = crate::archive::dir_size(&archive.index_dir());
    let originals = crate::archive::dir_size(&archive.originals_dir());
    Sizes {
        sqlite,
        index,
        originals,
        total: sqlite + index + originals,
    }
}

/// Messages in one month (`YYYY-MM`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Month {
    pub month: String,
    pub messages: i64,
}

/// `kura stats --format json`.
#[derive(Debug, serde::Serialize)]
pub struct Stats {
    pub messages: i64,
    pub threads: i64,
    pub rejected: i64,
    /// Extra copies of archived messages, conflicts included (locations
    /// with status 1 or 2), as import counts them.
    pub duplicates: i64,
    /// Of those, copies with the same Message-ID and other content (status 2).
    pub conflicts: i64,
    /// RFC 3339; null for an empty archive.
    pub first_date: Option<String>,
    pub last_date: Option<String>,
    pub size: Sizes,
    /// Every month from the first to the last message, empty ones included.
    pub months: Vec<Month>,
}

/// Gathers the statistics of `archive`.
pub fn gather(archive: &Archive, store: &Store, utc: bool) -> Result<Stats> {
    let one = |sql: &str| -> Result<i64> { Ok(store.conn.query_row(sql, [], |r| r.get(0))?) };
    let (first, last): (Option<i64>, Option<i64>) =
        store
            .conn
            .query_row("SELECT min(date), max(date) FROM messages", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
    // (Unix seconds are UTC already: SQLite's 'utc' modifier would shift them
    // the other way, as if they were local time.)
    let modifier = if utc { "+0 seconds" } else { "localtime" };
    let mut q = store.conn.prepare(
        "SELECT strftime('%Y-%m', date, 'unixepoch', ?1) AS m, count(*) FROM messages
         GROUP BY m ORDER BY m",
    )?;
    let counted = q
        .query_map([modifier], |r| {
            Ok(Month {
                month: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                messages: r.get(1)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Stats {
        messages: one("SELECT count(*) FROM messages")?,
        threads: one("SELECT count(DISTINCT thread) FROM messages")?,
        rejected: one("SELECT count(*) FROM rejects")?,
        duplicates: one("SELECT count(*) FROM locations WHERE status IN (1, 2)")?,
        conflicts: one("SELECT count(*) FROM locations WHERE status = 2")?,
        first_date: first.map(|d| format_date(d, utc)),
        last_date: last.map(|d| format_date(d, utc)),
        size: sizes(archive),
        months: fill_months(counted),
    })
}

/// Inserts the empty months between the first and the last one.
fn fill_months(counted: Vec<Month>) -> Vec<Month> {
    let parse = |m: &str| -> Option<(i32, u32)> {
        let (y, mo) = m.split_once('-')?;
        Some((y.parse().ok()?, mo.parse().ok()?))
    };
    let mut out: Vec<Month> = Vec::with_capacity(counted.len());
    for m in counted {
        if let (Some(prev), Some(cur)) = (out.last().and_then(|p| parse(&p.month)), parse(&m.month))
        {
            let (mut y, mut mo) = prev;
            loop {
                mo += 1;
                if mo > 12 {
                    mo = 1;
                    y += 1;
                }
                if (y, mo) >= cur {
                    break;
                }
                out.push(Month {
                    month: format!("{y:04}-{mo:02}"),
                    messages: 0,
                });
            }
        }
        out.push(m);
    }
    out
}

/// `1.2 MiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS.get(unit).copied().unwrap_or("B"))
    }
}

/// A bar of `value / max` of `width` cells, in eighths (▏▎▍▌▋▊▉█).
pub fn bar(value: i64, max: i64, width: usize) -> String {
    const PARTS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    if max <= 0 || value <= 0 {
        return String::new();
    }
    let eighths = ((value as f64 / max as f64) * (width * 8) as f64).round() as usize;
    let eighths = eighths.max(1);
    let mut s = "█".repeat(eighths / 8);
    if let Some(&c) = PARTS.get(eighths % 8)
        && !eighths.is_multiple_of(8)
    {
        s.push(c);
    }
    s
}

/// The text report; `chart`: bars of unicode blocks (on a terminal).
pub fn render_text(s: &Stats, chart: bool) -> String {
    let mut out = String::new();
    let mut line = |k: &str, v: String| out.push_str(&format!("{k:<12}{v}\n"));
    line("messages", s.messages.to_string());
    line("threads", s.threads.to_string());
    line("duplicates", s.duplicates.to_string());
    line("conflicts", s.conflicts.to_string());
    line("rejected", s.rejected.to_string());
    if let (Some(f), Some(l)) = (&s.first_date, &s.last_date) {
        line("dates", format!("{f} .. {l}"));
    }
    let size = |b: u64| {
        if chart { human_size(b) } else { b.to_string() }
    };
    line("size", size(s.size.total));
    line("  database", size(s.size.sqlite));
    line("  index", size(s.size.index));
    line("  originals", size(s.size.originals));
    if !s.months.is_empty() {
        out.push_str("per month\n");
    }
    let max = s.months.iter().map(|m| m.messages).max().unwrap_or(0);
    let digits = max.to_string().len();
    for m in &s.months {
        if chart {
            out.push_str(&format!(
                "  {} {:>digits$} {}\n",
                m.month,
                m.messages,
                bar(m.messages, max, 40)
            ));
        } else {
            out.push_str(&format!("  {} {}\n", m.month, m.messages));
        }
    }
    out
}

pub fn run(global: &GlobalArgs, args: &StatsArgs) -> Result<i32> {
    let archive = super::archive(global)?;
    let store = Store::open_ro(&archive)?;
    let stats = gather(&archive, &store, args.utc)?;
    let mut out = std::io::stdout().lock();
    match args.format {
        ReportFormat::Json => {
            serde_json::to_writer(&mut out, &stats)?;
            writeln!(out)?;
        }
        ReportFormat::Text => {
            out.write_all(render_text(&stats, output::stdout_is_terminal()).as_bytes())?;
        }
    }
    out.flush()?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_months_are_filled_across_a_year_end() {
        let m = |s: &str, n| Month {
            month: s.to_string(),
            messages: n,
        };
        let filled = fill_months(vec![m("2023-11", 3), m("2024-02", 5)]);
        let names: Vec<&str> = filled.iter().map(|x| x.month.as_str()).collect();
        assert_eq!(names, ["2023-11", "2023-12", "2024-01", "2024-02"]);
        assert_eq!(filled[1].messages, 0);
        assert_eq!(filled[3].messages, 5);
    }

    #[test]
    fn bars_scale_in_eighths() {
        assert_eq!(bar(10, 10, 4), "████");
        assert_eq!(bar(5, 10, 4), "██");
        assert_eq!(bar(1, 16, 2), "▏");
        assert_eq!(bar(3, 16, 2), "▍");
        assert_eq!(bar(0, 10, 4), "");
        // Small but present values still show.
        assert_eq!(bar(1, 1_000_000, 40), "▏");
    }

    #[test]
    fn sizes_are_human() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(3 << 30), "3.0 GiB");
    }
}
