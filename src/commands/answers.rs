//! `kura answers`: past staff answers to customer messages like a query,
//! the replies to reuse.
//!
//! The query finds customers' (inbound) messages; each is shown with the
//! first staff message after it in its conversation that is addressed to
//! that customer ([`crate::status::Inbound::first_reply`]: a forward to a
//! supplier is passed over), cut to what the reply writes itself
//! ([`crate::parse::DisplayText::unquoted`]).

use crate::archive::Archive;
use crate::cli::{AnswersArgs, AnswersFormat, GlobalArgs};
use crate::customers::Classifier;
use crate::output::{self, mailbox_label, sanitize, sanitize_text, short_date};
use crate::pack::PackReader;
use crate::query::Query;
use crate::query::exec::Order;
use crate::status;
use crate::store::{MessageView, OriginalRef, Store};
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
    // A question is what the customer wrote: a reply that only quotes the
    // words (staff's own earlier answer, as most replies do in full) is no
    // question about them.
    let searcher = super::searcher(global, &archive, &q)?.in_own_words();
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
    // A reader that stops early does not change what the status says.
    // The snippet is cut from the lines words were looked for in.
    let lines = super::search::snippet_lines(&q).or(searcher.keeps_quotes_apart().then_some(false));
    output::unless_broken_pipe(print_answers(&archive, store, &q, lines, &pairs, args))?;
    Ok(if any { 0 } else { 1 })
}

/// Prints the (question, answer) rows `pairs` in the format `args` asks for,
/// each question's snippet cut from `lines` (see
/// [`super::search::snippet_lines`]).
fn print_answers(
    archive: &Archive,
    store: &Store,
    q: &Query,
    lines: Option<bool>,
    pairs: &[(i64, i64)],
    args: &AnswersArgs,
) -> Result<()> {
    let terms = super::search::highlight_terms(q);
    let originals = archive.originals_dir();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut json = match args.format {
        AnswersFormat::Json | AnswersFormat::Jsonl => Some(output::JsonStream::start(
            &mut out,
            args.format == AnswersFormat::Jsonl,
        )?),
        AnswersFormat::Auto | AnswersFormat::Text => None,
    };
    // In chunks, as `search` does: the texts (read the originals, decode,
    // cut) on all cores, the rest from the database. Small ones: an answer's
    // text may be up to a MiB, and a chunk's are all held at once.
    for chunk in pairs.chunks(64) {
        let mut refs = Vec::with_capacity(chunk.len());
        for &(question, answer) in chunk {
            refs.push((original_ref(store, question)?, original_ref(store, answer)?));
        }
        let texts = super::search::on_all_cores(&originals, &refs, |packs, (q, a)| {
            Some(texts(packs, q, a, (&terms, lines)))
        });
        for (&(question, answer), texts) in chunk.iter().zip(texts) {
            let (snippet, answer_text) = texts.context("reading the originals failed")??;
            let message = |row: i64| {
                store
                    .message_view(row, args.query.utc)?
                    .context("message vanished from the archive")
            };
            let mut q = message(question)?;
            q.snippet = snippet;
            let v = AnswerView {
                question: q,
                answer: message(answer)?,
                answer_text,
            };
            match &mut json {
                Some(json) => json.push(&mut out, &v)?,
                None => print(&mut out, &v, args.query.utc)?,
            }
        }
    }
    if let Some(json) = json {
        json.finish(&mut out)?;
    }
    out.flush()?;
    Ok(())
}

fn original_ref(store: &Store, row: i64) -> Result<OriginalRef> {
    store
        .original_ref(row)?
        .context("message vanished from the archive")
}

/// The question's snippet of `terms` (cut from `lines`, as in `search`:
/// [`super::search::snippet_lines`]) and what the answer writes itself,
/// from their originals.
fn texts(
    packs: &mut PackReader,
    (qr, qsize, qhash): &OriginalRef,
    (ar, asize, ahash): &OriginalRef,
    (terms, lines): (&[String], Option<bool>),
) -> Result<(String, String)> {
    let question = crate::parse::display(&packs.read(*qr, *qsize, qhash)?);
    let snippet = super::search::snippet_of(&question, terms, lines, 120).0;
    let answer = crate::parse::display(&packs.read(*ar, *asize, ahash)?).unquoted();
    Ok((snippet, answer))
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
