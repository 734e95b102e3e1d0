//! Running a parsed [`Query`] against the index (text, addresses, dates) and
//! the store (threads, tags): the matching message rows, sorted.
//!
//! Text terms go through the same tokenizer as the index
//! ([`crate::tokenizer::analyze_query`]): several tokens become a phrase, a
//! one-character CJK token a prefix match. Store-side predicates (`thread:`,
//! `tag:`) are resolved to row-id sets with bound SQL parameters and joined to
//! the index query as term sets on the `id` field.

use super::ast::{Field as QField, Query};
use crate::archive::Archive;
use crate::index::{self, Fields};
use crate::store::Store;
use crate::tokenizer::{QueryTokenKind, analyze_query};
use anyhow::{Context, Result, bail};
use std::ops::Bound;
use tantivy::collector::{Collector, Count, SegmentCollector, TopDocs};
use tantivy::columnar::Column;
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, EnableScoring, Explanation, Occur, PhrasePrefixQuery,
    PhraseQuery, Query as TQuery, RangeQuery, Scorer, TermQuery, Weight,
};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, DocSet, Index, IndexReader, ReloadPolicy, Score, SegmentReader, Term};

/// An open archive, ready to answer queries.
pub struct Searcher {
    pub index: Index,
    pub reader: IndexReader,
    pub fields: Fields,
    pub store: Store,
}

/// A matching message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Message row id.
    pub id: i64,
    /// Unix seconds.
    pub date: i64,
    pub score: f32,
}

/// Result order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Newest,
    Oldest,
    Relevance,
}

impl Searcher {
    /// Opens the archive read-only. Refuses an index built by another version.
    pub fn open(archive: &Archive) -> Result<Searcher> {
        let store = Store::open_ro(archive)?;
        if let Some(v) = store.meta("index_version")?
            && v != index::INDEX_VERSION.to_string()
        {
            bail!(
                "the index of {} was built by another version of kura (index version {v}, this kura reads {}): run `kura reindex`",
                archive.root.display(),
                index::INDEX_VERSION
            );
        }
        let index = index::open_existing(&archive.index_dir())?;
        let fields = index::fields_of(&index)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .context("cannot open an index reader")?;
        Ok(Searcher {
            index,
            reader,
            fields,
            store,
        })
    }

    /// The tantivy query for `q`.
    pub fn build(&self, q: &Query) -> Result<Box<dyn TQuery>> {
        let f = &self.fields;
        Ok(match q {
            Query::All => Box::new(AllQuery),
            Query::And(parts) => {
                let mut clauses: Vec<(Occur, Box<dyn TQuery>)> = Vec::new();
                let mut positive = false;
                for p in parts {
                    match p {
                        Query::Not(inner) => {
                            clauses.push((Occur::MustNot, forward_only(self.build(inner)?)))
                        }
                        other => {
                            positive = true;
                            clauses.push((Occur::Must, self.build(other)?));
                        }
                    }
                }
                if !positive {
                    clauses.push((Occur::Must, Box::new(AllQuery)));
                }
                Box::new(BooleanQuery::new(clauses))
            }
            Query::Or(parts) => {
                let clauses = parts
                    .iter()
                    .map(|p| Ok((Occur::Should, self.build(p)?)))
                    .collect::<Result<Vec<_>>>()?;
                Box::new(BooleanQuery::new(clauses))
            }
            Query::Not(inner) => Box::new(BooleanQuery::new(vec![
                (Occur::Must, Box::new(AllQuery) as Box<dyn TQuery>),
                (Occur::MustNot, forward_only(self.build(inner)?)),
            ])),
            Query::Term { field, text } | Query::Phrase { field, text } => {
                let targets = match field {
                    QField::Any => vec![f.subject, f.body, f.from, f.to, f.cc, f.attachment],
                    QField::From => vec![f.from],
                    QField::To => vec![f.to],
                    QField::Cc => vec![f.cc],
                    QField::Subject => vec![f.subject],
                    QField::Body => vec![f.body],
                    QField::Attachment => vec![f.attachment],
                };
                let mut clauses = Vec::new();
                for t in targets {
                    if let Some(q) = text_query(t, text)? {
                        clauses.push((Occur::Should, q));
                    }
                }
                let words: Box<dyn TQuery> = if clauses.is_empty() {
                    Box::new(EmptyQuery)
                } else if clauses.len() == 1 {
                    clauses
                        .pop()
                        .map(|(_, q)| q)
                        .unwrap_or_else(|| Box::new(EmptyQuery))
                } else {
                    Box::new(BooleanQuery::new(clauses))
                };
                // A whole address after from:/to:/cc: is that address, not
                // every address ending in it (`yamaguchi@x.jp` is not
                // `k.yamaguchi@x.jp`): the words must match in the field and
                // the address itself must be one of the message's.
                match whole_address(*field, text) {
                    Some(address) => Box::new(BooleanQuery::new(vec![
                        (Occur::Must, words),
                        (Occur::Must, raw_term(f.addr, &address)),
                    ])),
                    None => words,
                }
            }
            Query::Date { start, end } => {
                let lo = match start {
                    Some(s) => Bound::Included(Term::from_field_i64(f.date, s.timestamp())),
                    None => Bound::Unbounded,
                };
                let hi = match end {
                    Some(e) => Bound::Excluded(Term::from_field_i64(f.date, e.timestamp())),
                    None => Bound::Unbounded,
                };
                Box::new(RangeQuery::new(lo, hi))
            }
            Query::Customer(v) | Query::Domain(v) => {
                let v = v.trim().trim_start_matches('@').to_lowercase();
                raw_term(f.addr, &v)
            }
            Query::Id(id) => {
                let id = id.trim().trim_start_matches('<').trim_end_matches('>');
                index::id_set_query(
                    &self.rows("SELECT id FROM messages WHERE message_id = ?1", id)?,
                )
            }
            Query::HasAttachment => raw_term(f.has, "attachment"),
            Query::MimeType(m) => raw_term(f.mimetype, &m.trim().to_lowercase()),
            Query::Thread(t) => {
                let ids = match parse_thread_id(t) {
                    Some(t) => self.rows("SELECT id FROM messages WHERE thread = ?1", t)?,
                    None => Vec::new(),
                };
                index::id_set_query(&ids)
            }
            Query::Tag(tag) => index::id_set_query(
                &self.rows("SELECT message FROM tags WHERE tag = ?1", tag.as_str())?,
            ),
        })
    }

    /// The message rows `sql` (one parameter) selects.
    fn rows(&self, sql: &str, param: impl rusqlite::ToSql) -> Result<Vec<i64>> {
        let mut q = self.store.conn.prepare_cached(sql)?;
        let ids = q
            .query_map([param], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }

    /// Number of matching messages.
    pub fn count(&self, q: &Query) -> Result<usize> {
        let tq = self.build(q)?;
        Ok(self.reader.searcher().search(tq.as_ref(), &Count)?)
    }

    /// Matching messages in `order`, `offset` skipped, at most `limit`.
    pub fn search(
        &self,
        q: &Query,
        order: Order,
        offset: usize,
        limit: Option<usize>,
    ) -> Result<Vec<Hit>> {
        let tq = self.build(q)?;
        let searcher = self.reader.searcher();
        if order == Order::Relevance {
            let want = limit.map(|l| l + offset).unwrap_or(usize::MAX / 2).max(1);
            let want = want.min(searcher.num_docs() as usize).max(1);
            let top = searcher.search(tq.as_ref(), &TopDocs::with_limit(want).order_by_score())?;
            let mut hits = Vec::with_capacity(top.len());
            for (score, addr) in top.into_iter().skip(offset) {
                let seg = searcher.segment_reader(addr.segment_ord);
                let id = seg.fast_fields().u64("id")?.first(addr.doc_id).unwrap_or(0) as i64;
                let date = seg
                    .fast_fields()
                    .i64("date")?
                    .first(addr.doc_id)
                    .unwrap_or(0);
                hits.push(Hit { id, date, score });
            }
            return Ok(hits);
        }
        let mut hits = searcher.search(tq.as_ref(), &IdDateCollector)?;
        match order {
            Order::Oldest => hits.sort_unstable_by_key(|h| (h.date, h.id)),
            _ => {
                hits.sort_unstable_by_key(|h| (std::cmp::Reverse(h.date), std::cmp::Reverse(h.id)))
            }
        }
        let end = limit.map_or(hits.len(), |l| offset.saturating_add(l).min(hits.len()));
        let start = offset.min(end);
        Ok(hits[start..end].to_vec())
    }
}

/// A thread id as typed (`1234`, or the zero-padded form kura prints).
pub fn parse_thread_id(t: &str) -> Option<i64> {
    t.trim().parse::<i64>().ok()
}

/// The address typed after `from:`, `to:` or `cc:` when it is a whole one
/// (`local@domain.tld`, nothing else), lower-cased as in the `addr` field.
fn whole_address(field: QField, text: &str) -> Option<String> {
    if !matches!(field, QField::From | QField::To | QField::Cc) {
        return None;
    }
    let text = text.trim();
    let text = text
        .strip_prefix('<')
        .and_then(|t| t.strip_suffix('>'))
        .unwrap_or(text);
    let (local, domain) = text.rsplit_once('@')?;
    let plain = |s: &str| {
        !s.is_empty()
            && !s
                .chars()
                .any(|c| c.is_whitespace() || "<>()\",;@".contains(c))
    };
    (plain(local) && plain(domain) && domain.contains('.')).then(|| text.to_lowercase())
}

fn raw_term(field: tantivy::schema::Field, value: &str) -> Box<dyn TQuery> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, value),
        IndexRecordOption::Basic,
    ))
}

/// The query for `text` in one text field: a term, a phrase, or a prefix
/// match for a one-character CJK token. `None` when the text has no token.
fn text_query(field: tantivy::schema::Field, text: &str) -> Result<Option<Box<dyn TQuery>>> {
    let tokens = analyze_query(text);
    if tokens.is_empty() {
        return Ok(None);
    }
    let term = |s: &str| Term::from_field_text(field, s);
    if tokens.len() == 1 {
        let t = &tokens[0];
        return Ok(Some(match t.kind {
            QueryTokenKind::CjkSingle => prefix_query(field, &t.text)?,
            _ => Box::new(TermQuery::new(term(&t.text), IndexRecordOption::WithFreqs)),
        }));
    }
    // A one-character CJK token in the middle of a query ends a run in any
    // matching text, so its tail unigram is indexed: an exact term works.
    let with_offsets: Vec<(usize, Term)> =
        tokens.iter().map(|t| (t.position, term(&t.text))).collect();
    if tokens
        .last()
        .is_some_and(|t| t.kind == QueryTokenKind::CjkSingle)
    {
        let mut q = PhrasePrefixQuery::new_with_offset(with_offsets);
        q.set_max_expansions(10_000);
        return Ok(Some(Box::new(q)));
    }
    Ok(Some(Box::new(PhraseQuery::new_with_offset(with_offsets))))
}

/// Terms starting with `prefix` (a one-character CJK token: every character
/// of an indexed run starts some bigram or the run's tail unigram).
fn prefix_query(field: tantivy::schema::Field, prefix: &str) -> Result<Box<dyn TQuery>> {
    // All terms from `prefix` (included) to the next code point (excluded).
    let mut chars: Vec<char> = prefix.chars().collect();
    let Some(last) = chars.pop() else {
        return Ok(Box::new(EmptyQuery));
    };
    let upper = char::from_u32(last as u32 + 1).unwrap_or(char::MAX);
    chars.push(upper);
    let upper: String = chars.into_iter().collect();
    Ok(Box::new(RangeQuery::new(
        Bound::Included(Term::from_field_text(field, prefix)),
        Bound::Excluded(Term::from_field_text(field, &upper)),
    )))
}

/// Wraps an excluded query so that it is only ever moved forward.
///
/// An exclusion asks its set "is doc N in you?" for each candidate N in
/// turn, through `seek_danger`. tantivy's phrase scorer asserts (in debug
/// builds) that such a target is never below its current document, which a
/// fresh phrase scorer positioned on its first match breaks at once:
/// `-"a phrase"` or `-from:a@example.jp` panicked. This wrapper answers
/// `seek_danger` with plain forward `seek`s (the trait's default), which are
/// valid for every scorer.
fn forward_only(q: Box<dyn TQuery>) -> Box<dyn TQuery> {
    Box::new(ForwardOnly(q))
}

#[derive(Debug)]
struct ForwardOnly(Box<dyn TQuery>);

impl Clone for ForwardOnly {
    fn clone(&self) -> Self {
        ForwardOnly(self.0.box_clone())
    }
}

impl TQuery for ForwardOnly {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(ForwardOnlyWeight(self.0.weight(scoring)?)))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.0.query_terms(visitor)
    }
}

struct ForwardOnlyWeight(Box<dyn Weight>);

impl Weight for ForwardOnlyWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(ForwardOnlyScorer(self.0.scorer(reader, boost)?)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.0.explain(reader, doc)
    }

    fn count(&self, reader: &SegmentReader) -> tantivy::Result<u32> {
        self.0.count(reader)
    }
}

/// Forwards everything but `seek_danger`, which keeps the safe default.
struct ForwardOnlyScorer(Box<dyn Scorer>);

impl DocSet for ForwardOnlyScorer {
    fn advance(&mut self) -> DocId {
        self.0.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        self.0.seek(target)
    }

    fn doc(&self) -> DocId {
        self.0.doc()
    }

    fn size_hint(&self) -> u32 {
        self.0.size_hint()
    }

    fn cost(&self) -> u64 {
        self.0.cost()
    }
}

impl Scorer for ForwardOnlyScorer {
    fn score(&mut self) -> Score {
        self.0.score()
    }
}

/// Collects (row id, date) of every matching document from fast fields.
struct IdDateCollector;

struct IdDateSegment {
    ids: Column<u64>,
    dates: Column<i64>,
    hits: Vec<Hit>,
}

impl Collector for IdDateCollector {
    type Fruit = Vec<Hit>;
    type Child = IdDateSegment;

    fn for_segment(&self, _ord: u32, segment: &SegmentReader) -> tantivy::Result<IdDateSegment> {
        Ok(IdDateSegment {
            ids: segment.fast_fields().u64("id")?,
            dates: segment.fast_fields().i64("date")?,
            hits: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<Hit>>) -> tantivy::Result<Vec<Hit>> {
        Ok(fruits.into_iter().flatten().collect())
    }
}

impl SegmentCollector for IdDateSegment {
    type Fruit = Vec<Hit>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        let id = self.ids.first(doc).unwrap_or(0) as i64;
        let date = self.dates.first(doc).unwrap_or(0);
        self.hits.push(Hit {
            id,
            date,
            score: 0.0,
        });
    }

    fn harvest(self) -> Vec<Hit> {
        self.hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_addresses_after_address_fields_only() {
        assert_eq!(
            whole_address(QField::From, "Yamaguchi@Yamato-Shokuhin.co.jp"),
            Some("yamaguchi@yamato-shokuhin.co.jp".to_string())
        );
        assert_eq!(
            whole_address(QField::Cc, "<k.yamaguchi@x.co.jp>"),
            Some("k.yamaguchi@x.co.jp".to_string())
        );
        for (field, text) in [
            (QField::From, "yamaguchi"),
            (QField::From, "@yamato-shokuhin.co.jp"),
            (QField::From, "yamaguchi@"),
            (QField::To, "yamaguchi@localhost"),
            (QField::To, "田中 誠 <tanaka@kyowa.co.jp>"),
            (QField::Subject, "tanaka@kyowa.co.jp"),
            (QField::Any, "tanaka@kyowa.co.jp"),
        ] {
            assert_eq!(whole_address(field, text), None, "{text}");
        }
    }
}
