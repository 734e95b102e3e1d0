//! `kura report`: how customers were answered: inbound messages, answered
//! and unanswered, response times, late replies and double answers. See
//! [`crate::status`].

use crate::archive::ExitError;
use crate::cli::{GlobalArgs, ListFormat, ReportArgs, ReportBy};
use crate::commands::customers::csv_field;
use crate::customers::Classifier;
use crate::hours::Clock;
use crate::output::{self, sanitize, truncate_columns};
use crate::status::{self, Inbound};
use crate::store::{Store, format_date, thread_label};
use anyhow::Result;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;

/// Counts over a set of inbound messages (JSON schema version 1).
#[derive(Debug, Serialize)]
pub struct GroupView {
    pub group: String,
    pub inbound: usize,
    pub answered: usize,
    pub unanswered: usize,
    pub median_seconds: Option<i64>,
    pub p90_seconds: Option<i64>,
    pub late: usize,
    pub double_answers: usize,
}

/// A staff reply within the window.
#[derive(Debug, Serialize)]
pub struct ReplyView {
    pub staff: String,
    pub date: String,
}

/// An inbound message answered by two or more staff.
#[derive(Debug, Serialize)]
pub struct DoubleView {
    pub thread: String,
    pub customer: String,
    pub inbound_date: String,
    pub replies: Vec<ReplyView>,
}

/// The whole report.
#[derive(Debug, Serialize)]
pub struct ReportView {
    pub since: Option<String>,
    pub until: Option<String>,
    pub late_seconds: i64,
    pub window_seconds: i64,
    /// The working hours response times count (`09:00-18:00 Mon-Fri, 16
    /// holidays`); `null`: wall-clock time.
    pub working_hours: Option<String>,
    pub total: GroupView,
    pub groups: Vec<GroupView>,
    pub double_answers: Vec<DoubleView>,
}

fn bad(option: &str, e: impl std::fmt::Display) -> anyhow::Error {
    ExitError {
        code: 2,
        message: format!("{option}: {e}"),
    }
    .into()
}

/// Counts over `items`.
pub fn group(name: &str, items: &[&Inbound], late: i64, clock: Clock<'_>) -> GroupView {
    let mut times: Vec<i64> = items
        .iter()
        .filter_map(|i| i.response_time(clock))
        .collect();
    times.sort_unstable();
    GroupView {
        group: name.to_string(),
        inbound: items.len(),
        answered: times.len(),
        unanswered: items.len() - times.len(),
        median_seconds: status::median(&times),
        p90_seconds: status::percentile(&times, 90),
        late: times.iter().filter(|t| **t > late).count(),
        double_answers: items.iter().filter(|i| i.is_double_answer()).count(),
    }
}

pub fn run(global: &GlobalArgs, args: &ReportArgs) -> Result<i32> {
    let archive = super::archive(global)?;
    let config = super::config(global, Some(&archive))?;
    let classifier = Classifier::new(&config);
    let clock = Clock::of(&config, args.wall_clock);
    let late = clock
        .parse_duration(&args.late)
        .map_err(|e| bad("--late", format!("{e:#}")))?;
    let window =
        status::parse_duration(&args.window).map_err(|e| bad("--window", format!("{e:#}")))?;
    let (since, until) =
        crate::query::date_range(args.since.as_deref(), args.until.as_deref(), args.utc).map_err(
            |e| ExitError {
                code: 2,
                message: format!("{e:#}"),
            },
        )?;
    let format = args.format.resolve();
    let store = Store::open_ro(&archive)?;
    let analysis = status::analyse(&store, &classifier, window)?;
    let items: Vec<&Inbound> = analysis
        .inbound
        .iter()
        .filter(|i| since.is_none_or(|s| i.date >= s) && until.is_none_or(|u| i.date < u))
        .collect();
    let mut groups: BTreeMap<String, Vec<&Inbound>> = BTreeMap::new();
    if let Some(by) = args.by {
        for i in &items {
            let key = match by {
                ReportBy::Staff => i
                    .first_reply
                    .as_ref()
                    .map_or_else(|| "-".to_string(), |r| r.staff.clone()),
                // `-` for a message that names no customer (no From), as
                // for the unanswered by staff.
                ReportBy::Customer if i.customer.is_empty() => "-".to_string(),
                ReportBy::Customer => i.customer.clone(),
                ReportBy::Month => output::short_date(i.date, args.utc)
                    .get(..7)
                    .unwrap_or("-")
                    .to_string(),
            };
            groups.entry(key).or_default().push(i);
        }
    }
    let mut doubles: Vec<&&Inbound> = items.iter().filter(|i| i.is_double_answer()).collect();
    doubles.sort_by_key(|i| (i.date, i.thread));
    let report = ReportView {
        since: since.map(|s| format_date(s, args.utc)),
        until: until.map(|u| format_date(u, args.utc)),
        late_seconds: late,
        window_seconds: window,
        working_hours: clock.working_hours(),
        total: group("total", &items, late, clock),
        groups: groups
            .iter()
            .map(|(k, v)| group(k, v, late, clock))
            .collect(),
        double_answers: doubles
            .iter()
            .map(|i| DoubleView {
                thread: thread_label(i.thread),
                customer: i.customer.clone(),
                inbound_date: format_date(i.date, args.utc),
                replies: i
                    .window_replies
                    .iter()
                    .map(|r| ReplyView {
                        staff: r.staff.clone(),
                        date: format_date(r.date, args.utc),
                    })
                    .collect(),
            })
            .collect(),
    };
    print(&report, format, clock)?;
    Ok(0)
}

fn print(r: &ReportView, format: ListFormat, clock: Clock<'_>) -> Result<()> {
    let dur = |s: Option<i64>| s.map_or_else(|| "-".to_string(), |s| clock.format(s));
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let rows: Vec<&GroupView> = r.groups.iter().chain(std::iter::once(&r.total)).collect();
    match format {
        ListFormat::Json => {
            serde_json::to_writer(&mut out, r)?;
            writeln!(out)?;
        }
        ListFormat::Jsonl => {
            // Each line says which clock counted its seconds.
            for g in &rows {
                let mut v = serde_json::to_value(g)?;
                if let Some(o) = v.as_object_mut() {
                    o.insert("working_hours".into(), r.working_hours.clone().into());
                }
                serde_json::to_writer(&mut out, &v)?;
                writeln!(out)?;
            }
            for d in &r.double_answers {
                let mut v = serde_json::to_value(d)?;
                if let Some(o) = v.as_object_mut() {
                    o.insert("double_answer".into(), true.into());
                }
                serde_json::to_writer(&mut out, &v)?;
                writeln!(out)?;
            }
        }
        ListFormat::Csv => {
            writeln!(
                out,
                "group,inbound,answered,unanswered,median_seconds,p90_seconds,late,double_answers,working_hours"
            )?;
            let opt = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
            for g in &rows {
                writeln!(
                    out,
                    "{},{},{},{},{},{},{},{},{}",
                    csv_field(&sanitize(&g.group)),
                    g.inbound,
                    g.answered,
                    g.unanswered,
                    opt(g.median_seconds),
                    opt(g.p90_seconds),
                    g.late,
                    g.double_answers,
                    csv_field(r.working_hours.as_deref().unwrap_or_default())
                )?;
            }
        }
        ListFormat::Table | ListFormat::Auto | ListFormat::Text => {
            let table = format != ListFormat::Text;
            if table {
                let mut t = output::plain_table(vec![
                    "group",
                    "inbound",
                    "answered",
                    "unanswered",
                    "median",
                    "90%",
                    "late",
                    "double",
                ]);
                for g in &rows {
                    t.add_row(vec![
                        truncate_columns(&sanitize(&g.group), 32),
                        g.inbound.to_string(),
                        g.answered.to_string(),
                        g.unanswered.to_string(),
                        dur(g.median_seconds),
                        dur(g.p90_seconds),
                        g.late.to_string(),
                        g.double_answers.to_string(),
                    ]);
                }
                writeln!(out, "{t}")?;
            } else {
                for g in &rows {
                    writeln!(
                        out,
                        "{}  inbound {}  answered {}  unanswered {}  median {}  90% {}  late {}  double {}",
                        sanitize(&g.group),
                        g.inbound,
                        g.answered,
                        g.unanswered,
                        dur(g.median_seconds),
                        dur(g.p90_seconds),
                        g.late,
                        g.double_answers
                    )?;
                }
            }
            if let Some(w) = &r.working_hours {
                writeln!(out, "times in working hours: {w}")?;
            }
            if !r.double_answers.is_empty() {
                writeln!(out, "\ndouble answers:")?;
                for d in &r.double_answers {
                    let replies: Vec<String> = d
                        .replies
                        .iter()
                        .map(|x| format!("{} {}", sanitize(&x.staff), x.date))
                        .collect();
                    writeln!(
                        out,
                        "  thread:{}  {}  {}  -> {}",
                        d.thread,
                        sanitize(&d.customer),
                        d.inbound_date,
                        replies.join(", ")
                    )?;
                }
            }
        }
    }
    out.flush()?;
    Ok(())
}
