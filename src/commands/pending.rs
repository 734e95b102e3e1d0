//! `kura pending`: conversations whose latest customer message has no staff
//! reply after it. See [`crate::status`].

use crate::archive::ExitError;
use crate::cli::{GlobalArgs, ListFormat, PendingArgs, PendingSort};
use crate::commands::customers::csv_field;
use crate::customers::Classifier;
use crate::hours::Clock;
use crate::output::{self, sanitize, truncate_columns};
use crate::status::{self, Pending};
use crate::store::{Store, format_date, thread_label};
use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::HashSet;
use std::io::Write;

/// A pending conversation as printed (JSON schema version 1).
#[derive(Debug, Serialize)]
pub struct PendingView {
    pub thread: String,
    pub customer: String,
    pub subject: String,
    pub waiting_since: String,
    pub last_inbound: String,
    pub age_seconds: i64,
    pub age: String,
    pub unanswered: usize,
    pub handled_by: Option<String>,
    /// The working hours `age_seconds` counts (`09:00-18:00 Mon-Fri, 16
    /// holidays, UTC+09:00`); `null`: wall-clock time.
    pub working_hours: Option<String>,
}

pub fn run(global: &GlobalArgs, args: &PendingArgs) -> Result<i32> {
    let archive = super::archive(global)?;
    let config = super::config(global, Some(&archive))?;
    let classifier = Classifier::new(&config);
    let clock = Clock::of(&config, args.wall_clock);
    let older_than = args
        .older_than
        .as_deref()
        .map(|d| clock.parse_duration(d))
        .transpose()
        .map_err(|e| ExitError {
            code: 2,
            message: format!("--older-than: {e:#}"),
        })?;
    let format = args.format.resolve();
    let (store, rows) = super::store_and_matches(global, &archive, &args.query, args.utc)?;
    let threads = rows.map(|r| threads_of(&store, &r)).transpose()?;
    let analysis = status::analyse(&store, &classifier, 0)?;
    let now = chrono::Utc::now().timestamp();
    let mut list: Vec<Pending> = analysis
        .pending
        .into_iter()
        .filter(|p| threads.as_ref().is_none_or(|t| t.contains(&p.thread)))
        .filter(|p| older_than.is_none_or(|o| clock.elapsed(p.waiting_since, now) >= o))
        .collect();
    match args.sort {
        PendingSort::Oldest => list.sort_by_key(|p| (p.waiting_since, p.thread)),
        PendingSort::Newest => list.sort_by_key(|p| (std::cmp::Reverse(p.waiting_since), p.thread)),
    }
    let hours = clock.working_hours();
    let views = list
        .iter()
        .map(|p| view(&store, p, clock, &hours, now, args.utc))
        .collect::<Result<Vec<_>>>()?;
    // `kura pending -q --older-than 3d || mail-the-team`: with --quiet the
    // exit status says it, as for grep -q; a format asked for by name for
    // a script (json, jsonl, csv) is still printed.
    let quiet_lines = global.quiet && matches!(format, ListFormat::Text | ListFormat::Table);
    if !quiet_lines {
        // `kura pending | head -3` still says that something waits.
        output::unless_broken_pipe(print(&views, format))?;
    }
    Ok(if views.is_empty() { 0 } else { 1 })
}

/// The threads of the given message rows.
fn threads_of(store: &Store, rows: &HashSet<i64>) -> Result<HashSet<i64>> {
    let mut q = store.conn.prepare("SELECT id, thread FROM messages")?;
    let mut it = q.query([])?;
    let mut set = HashSet::new();
    while let Some(r) = it.next()? {
        if rows.contains(&r.get::<_, i64>(0)?) {
            set.insert(r.get::<_, i64>(1)?);
        }
    }
    Ok(set)
}

fn view(
    store: &Store,
    p: &Pending,
    clock: Clock<'_>,
    hours: &Option<String>,
    now: i64,
    utc: bool,
) -> Result<PendingView> {
    let subject: String = store
        .conn
        .query_row(
            "SELECT subject FROM messages WHERE id = ?1",
            [p.first_row],
            |r| r.get(0),
        )
        .with_context(|| format!("reading the subject of thread {}", p.thread))?;
    let age = clock.elapsed(p.waiting_since, now);
    Ok(PendingView {
        thread: thread_label(p.thread),
        customer: p.customer.clone(),
        subject,
        waiting_since: format_date(p.waiting_since, utc),
        last_inbound: format_date(p.last_inbound, utc),
        age_seconds: age,
        age: clock.format(age),
        unanswered: p.unanswered,
        handled_by: p.handled_by.clone(),
        working_hours: hours.clone(),
    })
}

fn print(views: &[PendingView], format: ListFormat) -> Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let since = |v: &PendingView| v.waiting_since.get(..16).unwrap_or("").replace('T', " ");
    match format {
        ListFormat::Json => output::write_json_rows(&mut out, crate::cli::Format::Json, views)?,
        ListFormat::Jsonl => output::write_json_rows(&mut out, crate::cli::Format::Jsonl, views)?,
        ListFormat::Csv => {
            writeln!(
                out,
                "thread,customer,subject,waiting_since,last_inbound,age_seconds,unanswered,handled_by,working_hours"
            )?;
            for v in views {
                let fields = [
                    v.thread.clone(),
                    sanitize(&v.customer),
                    sanitize(&v.subject),
                    v.waiting_since.clone(),
                    v.last_inbound.clone(),
                    v.age_seconds.to_string(),
                    v.unanswered.to_string(),
                    v.handled_by.as_deref().map(sanitize).unwrap_or_default(),
                    v.working_hours.clone().unwrap_or_default(),
                ];
                let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
                writeln!(out, "{}", line.join(","))?;
            }
        }
        ListFormat::Table | ListFormat::Auto => {
            let mut t = output::plain_table(vec![
                "customer",
                "subject",
                "waiting since",
                "age",
                "handled by",
                "thread",
            ]);
            for v in views {
                t.add_row(vec![
                    truncate_columns(&sanitize(customer_shown(v)), 32),
                    truncate_columns(&sanitize(&v.subject), 40),
                    since(v),
                    v.age.clone(),
                    truncate_columns(&sanitize(v.handled_by.as_deref().unwrap_or("-")), 30),
                    v.thread.clone(),
                ]);
            }
            writeln!(out, "{t}")?;
            // The hours ages count, said under the table.
            if let Some(w) = views.first().and_then(|v| v.working_hours.as_deref()) {
                writeln!(out, "ages in working hours: {w}")?;
            }
        }
        ListFormat::Text => {
            for v in views {
                writeln!(
                    out,
                    "{}  {}  {}  {}  {}  thread:{}",
                    since(v),
                    v.age,
                    sanitize(customer_shown(v)),
                    sanitize(v.handled_by.as_deref().unwrap_or("-")),
                    sanitize(&v.subject),
                    v.thread
                )?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// The customer as the table and the text show it: `-` when the messages
/// that wait name none (no From), so that no column of a text line is empty.
fn customer_shown(v: &PendingView) -> &str {
    match v.customer.as_str() {
        "" => "-",
        c => c,
    }
}
