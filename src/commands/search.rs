//! `kura search` and `kura count`.

use crate::archive::{Archive, ExitError};
use crate::cli::{CountArgs, Format, GlobalArgs, QueryArgs, SearchArgs, Sort};
use crate::output::{self, mailbox_label, sanitize, short_date, truncate_columns};
use crate::pack::PackReader;
use crate::parse::DisplayText;
use crate::query::exec::{Hit, Order, Searcher};
use crate::query::{self, Field, Query};
use crate::store::{MessageView, OriginalRef, thread_label};
use anyhow::Result;
use serde::Serialize;
use std::collections::HashMap;
use std::io::Write;

/// Parses the query words; a bad query is exit status 2 with the bad part shown.
pub fn parse_query(args: &QueryArgs) -> Result<Query> {
    let text = args.query.join(" ");
    query::parse(&text, chrono::Utc::now(), args.utc).map_err(|e| {
        ExitError {
            code: 2,
            message: format!("bad query: {e}\n{}", e.render(&text)),
        }
        .into()
    })
}

/// The folded words of a query's positive text terms, for snippets.
pub fn highlight_terms(q: &Query) -> Vec<String> {
    fn walk(q: &Query, out: &mut Vec<String>) {
        match q {
            Query::And(v) | Query::Or(v) => v.iter().for_each(|x| walk(x, out)),
            Query::Term { text, .. } => {
                // The letters around a wildcard's stars: `invoi*` marks
                // the invoi of invoice.
                let f = crate::tokenizer::fold(text);
                for w in f.split(|c: char| c.is_whitespace() || c == '*') {
                    if w.chars().any(char::is_alphanumeric) {
                        out.push(w.to_string());
                    }
                }
            }
            Query::Phrase { text, .. } => {
                let f = crate::tokenizer::fold(text);
                for w in f.split_whitespace() {
                    out.push(w.to_string());
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(q, &mut out);
    out.sort_by_key(|t| std::cmp::Reverse(t.len()));
    out.dedup();
    out
}

/// Which text a snippet is cut from: `Some(false)` when every positive term
/// of the query that searches the text is `unquoted:` (the message's own
/// lines), `Some(true)` when every one is `quoted:`, else `None` (the whole
/// text). Terms on headers (`to:`, `subject:`…) do not count.
pub(crate) fn snippet_lines(q: &Query) -> Option<bool> {
    fn walk(q: &Query, out: &mut Vec<Field>) {
        match q {
            Query::And(v) | Query::Or(v) => v.iter().for_each(|x| walk(x, out)),
            Query::Term { field, .. } | Query::Phrase { field, .. }
                if matches!(
                    field,
                    Field::Any | Field::Body | Field::Unquoted | Field::Quoted
                ) =>
            {
                out.push(*field)
            }
            _ => {}
        }
    }
    let mut fields = Vec::new();
    walk(q, &mut fields);
    match fields.first()? {
        Field::Unquoted if fields.iter().all(|f| *f == Field::Unquoted) => Some(false),
        Field::Quoted if fields.iter().all(|f| *f == Field::Quoted) => Some(true),
        _ => None,
    }
}

pub fn run(global: &GlobalArgs, args: &SearchArgs) -> Result<i32> {
    let archive = super::archive(global)?;
    let q = parse_query(&args.query)?;
    let searcher = super::searcher(global, &archive, &q)?;
    let format = output::resolve_format(args.format);
    let limit = args.limit.or(if output::stdout_is_terminal() {
        Some(50)
    } else {
        None
    });
    let order = match args.sort {
        Sort::Newest => Order::Newest,
        Sort::Oldest => Order::Oldest,
        Sort::Relevance => Order::Relevance,
    };
    let utc = args.query.utc;
    if args.threads {
        let all = searcher.search(&q, order, 0, None)?;
        let threads = group_threads(&searcher, &all, order, utc)?;
        let found = !threads.is_empty();
        let end = limit.map_or(threads.len(), |l| {
            args.offset.saturating_add(l).min(threads.len())
        });
        // `kura search --threads X | head`: the status still says whether
        // anything matched.
        output::unless_broken_pipe(print_threads(&threads[args.offset.min(end)..end], format))?;
        return Ok(if found { 0 } else { 1 });
    }
    let hits = searcher.search(&q, order, args.offset, limit)?;
    // A reader that stops early does not change what the status says.
    output::unless_broken_pipe(print_hits(&searcher, &archive, &q, &hits, format, utc))?;
    // Something matched even when --offset or --limit 0 left nothing to print.
    let any = !hits.is_empty() || searcher.count(&q)? > 0;
    Ok(if any { 0 } else { 1 })
}

/// Prints the messages `hits` found, with snippets, in `format`.
fn print_hits(
    searcher: &Searcher,
    archive: &Archive,
    q: &Query,
    hits: &[Hit],
    format: Format,
    utc: bool,
) -> Result<()> {
    let terms = highlight_terms(q);
    let lines = snippet_lines(q);
    let originals = archive.originals_dir();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let color = output::color_enabled();
    let mut table_rows = Vec::new();
    let mut json = match format {
        Format::Json | Format::Jsonl => Some(output::JsonStream::start(
            &mut out,
            format == Format::Jsonl,
        )?),
        _ => None,
    };
    // In chunks, so that output streams and memory stays flat; snippets (read
    // the original, decode, find the words) are computed on all cores.
    for chunk in hits.chunks(256) {
        let mut views = Vec::with_capacity(chunk.len());
        for hit in chunk {
            if let Some(v) = searcher.store.message_view(hit.id, utc)? {
                let original = searcher.store.original_ref(hit.id)?;
                views.push((v, original));
            }
        }
        if format == Format::Ids {
            for (v, _) in &views {
                writeln!(out, "{}", sanitize(&v.message_id))?;
            }
            continue;
        }
        let snippets = snippets(&originals, &views, &terms, lines);
        for ((mut v, _), (snip, ranges)) in views.into_iter().zip(snippets) {
            v.snippet = snip.clone();
            if let Some(json) = &mut json {
                json.push(&mut out, &v)?;
                continue;
            }
            match format {
                Format::Table => {
                    let snip = if color {
                        output::highlight(&snip, &ranges)
                    } else {
                        snip
                    };
                    table_rows.push((v, snip));
                }
                _ => writeln!(out, "{}", text_line(&v))?,
            }
        }
    }
    if let Some(json) = json {
        json.finish(&mut out)?;
    }
    if format == Format::Table && !table_rows.is_empty() {
        writeln!(out, "{}", table(&table_rows, utc))?;
    }
    out.flush()?;
    Ok(())
}

/// One line per message: date, sender, subject, thread.
pub(crate) fn text_line(v: &MessageView) -> String {
    format!(
        "{}  {}  {}  [thread {}] <{}>",
        v.date,
        sanitize(&mailbox_label(&v.from.name, &v.from.address)),
        sanitize(&v.subject),
        v.thread,
        sanitize(&v.message_id)
    )
}

fn table(rows: &[(MessageView, String)], utc: bool) -> comfy_table::Table {
    let mut t = output::plain_table(vec!["date", "from", "subject", "snippet"]);
    for (v, snip) in rows {
        let from = if v.from.name.is_empty() {
            &v.from.address
        } else {
            &v.from.name
        };
        t.add_row(vec![
            short_date(v.timestamp, utc),
            truncate_columns(&sanitize(from), 20),
            truncate_columns(&sanitize(&v.subject), 40),
            snip.clone(),
        ]);
    }
    t
}

type Snippet = (String, Vec<(usize, usize)>);

/// Snippets of messages from the decoded text of their originals, computed
/// on all cores. A message whose original cannot be read gets an empty one.
fn snippets(
    originals: &std::path::Path,
    views: &[(MessageView, Option<OriginalRef>)],
    terms: &[String],
    lines: Option<bool>,
) -> Vec<Snippet> {
    on_all_cores(originals, views, |packs, (_, original)| {
        let text = original
            .as_ref()
            .and_then(|(r, size, hash)| packs.read(*r, *size, hash).ok())
            .map(|raw| crate::parse::display(&raw))
            .unwrap_or_default();
        snippet_of(&text, terms, lines, 80)
    })
}

/// `f` of each item, in order, computed on all cores (at most 8), each
/// thread with its own reader of the originals: for the work that reads and
/// decodes stored originals, which a search's or an answer list's hits
/// wait on. A thread that panics gives `T::default()` for its items.
pub(crate) fn on_all_cores<I: Sync, T: Send + Default>(
    originals: &std::path::Path,
    items: &[I],
    f: impl Fn(&mut PackReader, &I) -> T + Sync,
) -> Vec<T> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    let per = items.len().div_ceil(threads).max(8);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(per)
            .map(|part| {
                let n = part.len();
                let h = scope.spawn(move || {
                    let mut packs = PackReader::new(originals);
                    part.iter()
                        .map(|item| f(&mut packs, item))
                        .collect::<Vec<_>>()
                });
                (n, h)
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|(n, h)| {
                h.join()
                    .unwrap_or_else(|_| std::iter::repeat_with(T::default).take(n).collect())
            })
            .collect()
    })
}

/// The snippet of `text` (about `width` characters), cut from its quoted
/// lines or its own lines when `lines` says so and the words are found there
/// ([`snippet_lines`]).
pub(crate) fn snippet_of(
    text: &DisplayText,
    terms: &[String],
    lines: Option<bool>,
    width: usize,
) -> Snippet {
    if let Some(quoted) = lines {
        let some: String = text
            .parts()
            .iter()
            .filter(|p| p.quoted == quoted)
            .map(|p| p.text)
            .collect();
        let snippet = output::snippet(&some, terms, width);
        if !snippet.1.is_empty() {
            return snippet;
        }
    }
    output::snippet(&text.text, terms, width)
}

/// A thread in `search --threads` output.
#[derive(Debug, Clone, Serialize)]
pub struct ThreadSummary {
    pub thread: String,
    pub first_date: String,
    pub last_date: String,
    #[serde(skip)]
    pub last_ts: i64,
    pub matched: usize,
    pub total: usize,
    pub participants: Vec<String>,
    pub subject: String,
}

/// The threads of `hits`, in `order`: by their latest message (newest or
/// oldest first), or by their best-ranked hit for relevance.
pub fn group_threads(
    searcher: &Searcher,
    hits: &[Hit],
    order: Order,
    utc: bool,
) -> Result<Vec<ThreadSummary>> {
    let conn = &searcher.store.conn;
    let mut matched: HashMap<i64, usize> = HashMap::new();
    let mut first_seen: Vec<i64> = Vec::new();
    {
        let mut q = conn.prepare_cached("SELECT thread FROM messages WHERE id = ?1")?;
        for h in hits {
            let t: i64 = q.query_row([h.id], |r| r.get(0))?;
            let e = matched.entry(t).or_insert(0);
            if *e == 0 {
                first_seen.push(t);
            }
            *e += 1;
        }
    }
    let mut out = Vec::with_capacity(first_seen.len());
    let mut q = conn
        .prepare_cached("SELECT min(date), max(date), count(*) FROM messages WHERE thread = ?1")?;
    let mut first_subject = conn.prepare_cached(
        "SELECT subject FROM messages WHERE thread = ?1 ORDER BY date, id LIMIT 1",
    )?;
    let mut people = conn.prepare_cached(
        "SELECT from_name, from_addr FROM messages WHERE thread = ?1 GROUP BY from_addr ORDER BY min(date)",
    )?;
    for t in first_seen {
        let (first, last, total): (i64, i64, i64) =
            q.query_row([t], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        let subject: String = first_subject.query_row([t], |r| r.get(0))?;
        let participants = people
            .query_map([t], |r| {
                let n: String = r.get(0)?;
                let a: String = r.get(1)?;
                Ok(if n.is_empty() { a } else { n })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        out.push(ThreadSummary {
            thread: thread_label(t),
            first_date: crate::store::format_date(first, utc),
            last_date: crate::store::format_date(last, utc),
            last_ts: last,
            matched: matched.get(&t).copied().unwrap_or(0),
            total: total as usize,
            participants,
            subject,
        });
    }
    match order {
        Order::Newest => out.sort_by_key(|s| std::cmp::Reverse(s.last_ts)),
        Order::Oldest => out.sort_by_key(|s| s.last_ts),
        // Already in the order of each thread's best hit.
        Order::Relevance => {}
    }
    Ok(out)
}

fn print_threads(threads: &[ThreadSummary], format: Format) -> Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match format {
        Format::Json => {
            serde_json::to_writer(&mut out, threads)?;
            writeln!(out)?;
        }
        Format::Jsonl => {
            for t in threads {
                serde_json::to_writer(&mut out, t)?;
                writeln!(out)?;
            }
        }
        Format::Ids => {
            for t in threads {
                writeln!(out, "{}", t.thread)?;
            }
        }
        Format::Table => {
            let mut tb = output::plain_table(vec![
                "thread",
                "last",
                "messages",
                "participants",
                "subject",
            ]);
            for t in threads {
                tb.add_row(vec![
                    t.thread.clone(),
                    t.last_date
                        .get(..16)
                        .unwrap_or(&t.last_date)
                        .replace('T', " "),
                    format!("{}/{}", t.matched, t.total),
                    truncate_columns(&sanitize(&t.participants.join(", ")), 30),
                    truncate_columns(&sanitize(&t.subject), 50),
                ]);
            }
            writeln!(out, "{tb}")?;
        }
        _ => {
            for t in threads {
                writeln!(
                    out,
                    "thread {}  {}  [{}/{}]  {}; {}",
                    t.thread,
                    t.last_date,
                    t.matched,
                    t.total,
                    sanitize(&t.participants.join(", ")),
                    sanitize(&t.subject)
                )?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

pub fn count(global: &GlobalArgs, args: &CountArgs) -> Result<i32> {
    let archive = super::archive(global)?;
    let q = parse_query(&args.query)?;
    let searcher = super::searcher(global, &archive, &q)?;
    let n = if args.threads {
        let hits = searcher.search(&q, Order::Newest, 0, None)?;
        let mut q = searcher
            .store
            .conn
            .prepare_cached("SELECT thread FROM messages WHERE id = ?1")?;
        let mut set = std::collections::HashSet::new();
        for h in &hits {
            set.insert(q.query_row([h.id], |r| r.get::<_, i64>(0))?);
        }
        set.len()
    } else {
        searcher.count(&q)?
    };
    output::unless_broken_pipe(output::print_line(n))?;
    Ok(if n > 0 { 0 } else { 1 })
}
