//! `kura answers`: past staff answers to customer messages like a query,
//! the replies to reuse.
//!
//! The query finds customers' (inbound) messages; each is shown with the
//! first staff message after it in its conversation that is addressed to
//! that customer ([`crate::status::Inbound::first_reply`]: a forward to a
//! supplier is passed over), cut to what the reply writes itself
//! ([`crate::parse::DisplayText::unquoted`]).

use crate::cli::{AnswersArgs, AnswersFormat, GlobalArgs};
use crate::customers::Classifier;
use crate::output::{self, mailbox_label, sanitize, sanitize_text, short_date};
use crate::pack::PackReader;
use crate::query::exec::Order;
use crate::status;
use crate::store::{MessageView, Store};
use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::io::Write;

/// A customer's message and the staff reply to it (JSON schema version 1).
#[derive(Debug, Serialize)]
pub struct AnswerView {
    /// The customer's message, with its snippet.
    pub question: MessageView,
    /// The first staff reply to its customer after it in its conversation.
    pub answer: MessageView,
    /// What the reply writes itself (not what it quotes or forwards).
    pub answer_text: String,
}

pub fn run(global: &GlobalArgs, args: &AnswersArgs) -> Result<i32> {
    let archive = super::archive(global)?;
    let config = super::config(global, Some(&archive))?;
    let classifier = Classifier::new(&config);
    classifier.require_company("answers")?;
    let q = super::search::parse_query(&args.query)?;
    let searcher = super::searcher(global, &archive, &q)?;
    let hits = searcher.search(&q, Order::Newest, 0, None)?;
    let store = &searcher.store;
    // Each inbound message's answer, by row.
    let replies: HashMap<i64, i64> = status::analyse(store, &classifier, 0)?
        .inbound
        .into_iter()
        .filter_map(|i| Some((i.row, i.first_reply?.row)))
        .collect();
    let limit = args.limit.or(if output::stdout_is_terminal() {
        Some(10)
    } else {
        None
    });
    let mut shown = HashSet::new();
    let mut answered = hits
        .iter()
        .filter_map(|h| Some((h.id, *replies.get(&h.id)?)))
        .filter(|&(_, reply)| shown.insert(reply));
    let pairs: Vec<(i64, i64)> = answered
        .by_ref()
        .take(limit.unwrap_or(usize::MAX))
        .collect();
    // Something was answered even when --limit 0 leaves nothing to print.
    let any = !pairs.is_empty() || answered.next().is_some();
    let terms = super::search::highlight_terms(&q);
    let lines = super::search::snippet_lines(&q);
    let mut packs = PackReader::new(&archive.originals_dir());
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    // The JSON array is written as it goes, so that memory stays flat.
    if args.format == AnswersFormat::Json {
        write!(out, "[")?;
    }
    for (i, &(question, answer)) in pairs.iter().enumerate() {
        let v = view(
            store,
            &mut packs,
            (question, answer),
            (&terms, lines),
            args.query.utc,
        )?;
        match args.format {
            AnswersFormat::Json => {
                if i > 0 {
                    write!(out, ",")?;
                }
                serde_json::to_writer(&mut out, &v)?;
            }
            AnswersFormat::Jsonl => {
                serde_json::to_writer(&mut out, &v)?;
                writeln!(out)?;
            }
            AnswersFormat::Auto | AnswersFormat::Text => print(&mut out, &v, args.query.utc)?,
        }
    }
    if args.format == AnswersFormat::Json {
        writeln!(out, "]")?;
    }
    out.flush()?;
    Ok(if any { 0 } else { 1 })
}

/// The question and the answer at rows `(question, answer)`, the question
/// with its snippet of `terms` (cut from `lines`, as in `search`:
/// [`super::search::snippet_lines`]).
fn view(
    store: &Store,
    packs: &mut PackReader,
    (question, answer): (i64, i64),
    (terms, lines): (&[String], Option<bool>),
    utc: bool,
) -> Result<AnswerView> {
    let message = |row: i64| {
        store
            .message_view(row, utc)?
            .context("message vanished from the archive")
    };
    let mut q = message(question)?;
    let text = crate::parse::display(&super::show::original(store, packs, question)?);
    q.snippet = super::search::snippet_of(&text, terms, lines, 120).0;
    let a = message(answer)?;
    let answer_text =
        crate::parse::display(&super::show::original(store, packs, answer)?).unquoted();
    Ok(AnswerView {
        question: q,
        answer: a,
        answer_text,
    })
}

/// One answer as text: the question's date, sender, subject and snippet,
/// then the reply's date, sender and subject over its own text.
fn print(out: &mut impl Write, v: &AnswerView, utc: bool) -> Result<()> {
    let head = |m: &MessageView| {
        format!(
            "{}  {}  {}",
            short_date(m.timestamp, utc),
            sanitize(&mailbox_label(&m.from.name, &m.from.address)),
            sanitize(&m.subject)
        )
    };
    writeln!(out, "{}  thread:{}", head(&v.question), v.question.thread)?;
    writeln!(out, "    {}", sanitize(&v.question.snippet))?;
    writeln!(out, "  answer: {}", head(&v.answer))?;
    for line in sanitize_text(&v.answer_text, false).lines() {
        writeln!(out, "    {line}")?;
    }
    writeln!(out)?;
    Ok(())
}
