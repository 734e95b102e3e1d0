//! Running a parsed [`Query`] against the index (text, addresses, dates) and
//! the store (threads, tags): the matching message rows, sorted.
//!
//! Text terms go through the same tokenizer as the index
//! ([`crate::tokenizer::analyze_query`]): several tokens become a phrase, a
//! one-character CJK token a pattern over the terms holding it, and a word
//! with a `*` glued to it a pattern over the terms of the field's dictionary
//! (`text_query`). Store-side predicates (`thread:`,
//! `tag:`) are resolved to row-id sets with bound SQL parameters and joined to
//! the index query as term sets on the `id` field. So is a whole address
//! after `from:`/`to:`/`cc:`, checked against the store's address rows
//! (the index does not tell which header an address is in).

use super::ast::{Field as QField, Query};
use crate::archive::Archive;
use crate::customers::{self, Classifier, Direction};
use crate::index::{self, AddressRole, Fields};
use crate::store::{ROLE_CC, ROLE_FROM, ROLE_TO, Store};
use crate::tokenizer::{BIGRAM_STEP, QueryToken, QueryTokenKind, analyze_query};
use anyhow::{Context, Result, bail};
use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Bound;
use std::sync::Arc;
use tantivy::collector::{Collector, Count, SegmentCollector, TopDocs};
use tantivy::columnar::Column;
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, EnableScoring, Explanation, Occur, PhraseQuery,
    Query as TQuery, RangeQuery, RegexPhraseQuery, RegexQuery, Scorer, TermQuery, TermSetQuery,
    Weight,
};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, DocSet, Index, IndexReader, ReloadPolicy, Score, SegmentReader, Term};
use tantivy_fst::Regex;

/// An open archive, ready to answer queries.
pub struct Searcher {
    pub index: Index,
    pub reader: IndexReader,
    pub fields: Fields,
    pub store: Store,
    /// Tells staff from customers, for `is:` and `history:` terms
    /// ([`Searcher::with_classifier`]).
    pub classifier: Option<Classifier>,
    /// Messages erased whose documents an interrupted `kura erase` left in
    /// the index ([`crate::erase::pending`]): never matched.
    erasing: Vec<i64>,
    /// The rows of the customer histories `history:` terms named, by
    /// customer key ([`Searcher::history_rows`]): each gathered once,
    /// however often queries name it.
    histories: RefCell<HashMap<String, Arc<[i64]>>>,
    /// Words without a field are not looked for in quoted text
    /// ([`Searcher::in_own_words`]).
    own_words: bool,
    /// The patterns of the queries built, each compiled once ([`Regexes`]).
    regexes: Regexes,
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
        index::check_version(store.meta("index_version")?.as_deref())
            .with_context(|| format!("cannot search {}", archive.root.display()))?;
        let index = index::open_existing(&archive.index_dir())?;
        let fields = index::fields_of(&index)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .context("cannot open an index reader")?;
        // One read transaction for the searcher's life, begun once the index
        // reader is open: the store is never behind the index it answers
        // for, every lookup sees the same store, and SQLite takes its file
        // locks once, not around every statement (a whole-address filter
        // looks up thousands of rows: 16 ms of locking for 3,000).
        store.begin_read()?;
        let erasing = crate::erase::pending(&store)?.into_iter().collect();
        Ok(Searcher {
            index,
            reader,
            fields,
            store,
            classifier: None,
            erasing,
            histories: RefCell::default(),
            own_words: false,
            regexes: Regexes::default(),
        })
    }

    /// The searcher that looks for words without a field in what a message
    /// writes itself (its subject, own text, addresses and attachment
    /// names), not in what it quotes or forwards (`kura answers`: a
    /// customer's question is what the customer wrote, not the staff answer
    /// it quotes). `body:`, `quoted:` and the other fields keep their
    /// meaning. Without an index that keeps quoted text apart (see
    /// [`Searcher::keeps_quotes_apart`]) words are looked for in all the text.
    pub fn in_own_words(mut self) -> Searcher {
        self.own_words = true;
        self
    }

    /// Whether the index keeps quoted text apart (`quoted:`, `unquoted:`).
    pub fn keeps_quotes_apart(&self) -> bool {
        self.fields.quoted.is_some()
    }

    /// The searcher with the classifier `is:` and `history:` terms need
    /// (built from the configuration, which only such queries read).
    pub fn with_classifier(mut self, classifier: Classifier) -> Searcher {
        self.classifier = Some(classifier);
        // The histories gathered so far went by another one.
        self.histories = RefCell::default();
        self
    }

    /// How many customer histories `history:` terms have had gathered.
    pub fn histories_gathered(&self) -> usize {
        self.histories.borrow().len()
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
                // A `*` glued to a word (not in a phrase) is a wildcard:
                // `invoi*`, `*tion`, `in*ce`.
                let wildcards = matches!(q, Query::Term { .. });
                let quoted = || {
                    f.quoted.context(
                        "quoted: and unquoted: need an index that keeps quoted text apart, \
                         which this archive's predates: run `kura reindex`",
                    )
                };
                let targets = match field {
                    QField::Any => {
                        let mut v = vec![f.subject, f.body, f.from, f.to, f.cc, f.attachment];
                        if !self.own_words {
                            v.extend(f.quoted);
                        }
                        v
                    }
                    QField::From => vec![f.from],
                    QField::To => vec![f.to],
                    QField::Cc => vec![f.cc],
                    QField::Subject => vec![f.subject],
                    QField::Body => [Some(f.body), f.quoted].into_iter().flatten().collect(),
                    QField::Unquoted => {
                        quoted()?;
                        vec![f.body]
                    }
                    QField::Quoted => vec![quoted()?],
                    QField::Attachment => vec![f.attachment],
                };
                let mut clauses = Vec::new();
                for t in targets {
                    if let Some(q) = text_query(t, text, wildcards, &self.regexes)? {
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
                // `k.yamaguchi@x.jp`), in that header only; an address with
                // stars (`*@x.jp`) the addresses it matches whole.
                let glob = if wildcards { address_glob(text) } else { None };
                match (whole_address(*field, text), glob, field) {
                    (Some(address), _, _) => self.address_in_role(*field, &address, words)?,
                    (_, Some(glob), QField::From | QField::To | QField::Cc) => {
                        self.address_glob_in_role(*field, &glob)?
                    }
                    // Anywhere: also an address of any header it matches.
                    (_, Some(glob), QField::Any) => {
                        let anywhere = raw_glob(f.addr, &glob, &self.regexes)?;
                        Box::new(BooleanQuery::union(vec![words, anywhere]))
                    }
                    _ => words,
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
                raw_glob(f.addr, &v, &self.regexes)?
            }
            Query::History(v) => index::id_set_query(&self.history_rows(v)?),
            Query::Id(id) => {
                let id = id.trim().trim_start_matches('<').trim_end_matches('>');
                index::id_set_query(
                    &self.rows("SELECT id FROM messages WHERE message_id = ?1", id)?,
                )
            }
            Query::HasAttachment => raw_term(f.has, "attachment"),
            Query::Direction(d) => self.direction_query(*d)?,
            Query::MimeType(m) => raw_glob(f.mimetype, &m.trim().to_lowercase(), &self.regexes)?,
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

    /// The messages with `address` (a whole one, lower-cased) in the header
    /// `field` (from, to or cc), given `words`, the query for its words in
    /// that field.
    ///
    /// The index says it with one term ([`index::role_address_term`]).
    /// Documents written before those terms existed (rows below
    /// [`index::ROLE_TERMS_SINCE`]) lack it, and the rest of the index cannot
    /// tell: its `addr` field holds the addresses of all three headers
    /// together, and the words of `k.tanaka@x.jp` in `from` include those of
    /// `tanaka@x.jp`. For those, the messages that have the words in the field
    /// and the address in some header are the candidates, and the store's
    /// `addresses` rows decide (about 2 µs a candidate).
    fn address_in_role(
        &self,
        field: QField,
        address: &str,
        words: Box<dyn TQuery>,
    ) -> Result<Box<dyn TQuery>> {
        let index_role = address_role(field)?;
        let exact = raw_term(
            self.fields.addr,
            &index::role_address_term(index_role, address),
        );
        let candidates = BooleanQuery::new(vec![
            (Occur::Must, words),
            (Occur::Must, raw_term(self.fields.addr, address)),
        ]);
        self.in_role(field, exact, Box::new(candidates), |a| a == address)
    }

    /// The messages with an address that `glob` (lower-cased, `*` for any
    /// characters: `*@x.jp`, `tanaka@*.co.jp`) matches whole in the header
    /// `field` (from, to or cc): the header terms the glob matches, and for
    /// documents written before those terms, the store's rows, as
    /// [`Searcher::address_in_role`] does.
    fn address_glob_in_role(&self, field: QField, glob: &str) -> Result<Box<dyn TQuery>> {
        let index_role = address_role(field)?;
        let prefix = index::role_address_term(index_role, "");
        let pattern = format!("{}{}", regex_syntax::escape(&prefix), glob_regex(glob));
        let exact: Box<dyn TQuery> = Box::new(RegexQuery::from_regex(
            self.regexes
                .get(&pattern)
                .context("cannot search for an address with so many stars")?,
            self.fields.addr,
        ));
        let candidates = raw_glob(self.fields.addr, glob, &self.regexes)?;
        self.in_role(field, exact, candidates, |a| glob_matches(glob, a))
    }

    /// `exact`, the documents whose header terms say it, and of the documents
    /// written before those terms existed, the `candidates` with an address
    /// in the header `field` that the store says `keep`s (lower-cased).
    fn in_role(
        &self,
        field: QField,
        exact: Box<dyn TQuery>,
        candidates: Box<dyn TQuery>,
        keep: impl Fn(&str) -> bool,
    ) -> Result<Box<dyn TQuery>> {
        let role = match address_role(field)? {
            AddressRole::From => ROLE_FROM,
            AddressRole::To => ROLE_TO,
            AddressRole::Cc => ROLE_CC,
        };
        let since = self.role_terms_since()?;
        if since <= 1 {
            return Ok(exact);
        }
        let candidates = BooleanQuery::new(vec![
            (Occur::Must, candidates),
            (
                Occur::Must,
                Box::new(RangeQuery::new(
                    Bound::Unbounded,
                    Bound::Excluded(Term::from_field_u64(self.fields.id, since)),
                )),
            ),
        ]);
        let hits = self
            .reader
            .searcher()
            .search(&candidates, &IdDateCollector)
            .context("cannot search the index for an address")?;
        let mut q = self
            .store
            .conn
            .prepare_cached("SELECT address FROM addresses WHERE message = ?1 AND role = ?2")?;
        let mut kept = Vec::new();
        for hit in hits {
            let mut rows = q.query([hit.id, role])?;
            while let Some(row) = rows.next()? {
                let a: String = row.get(0)?;
                if keep(&a.trim().to_lowercase()) {
                    kept.push(hit.id);
                    break;
                }
            }
        }
        Ok(Box::new(BooleanQuery::new(vec![
            (Occur::Should, exact),
            (Occur::Should, index::id_set_query(&kept)),
        ])))
    }

    /// The rows of the history of the customer `input` names (a key, an
    /// address or a domain), as [`crate::export::history`] gathers it: its
    /// messages and their threads from the store, the mail that mentions it
    /// from the index. Gathered once per customer: a query may name it more
    /// than once, and `search` counts again what it found nothing of.
    fn history_rows(&self, input: &str) -> Result<Arc<[i64]>> {
        let classifier = self
            .classifier
            .as_ref()
            .context("history: terms need the configuration (internal error: no classifier)")?;
        let Some(key) = classifier.key_from_input(input) else {
            return Ok(Arc::new([]));
        };
        if let Some(rows) = self.histories.borrow().get(&key) {
            return Ok(Arc::clone(rows));
        }
        let (mine, names) = customers::messages_and_names(&self.store, classifier, &key)?;
        let mentions: Vec<i64> = match Query::mentioning(classifier, &names) {
            Some(q) => self
                .search(&q, Order::Oldest, 0, None)?
                .iter()
                .map(|h| h.id)
                .collect(),
            None => Vec::new(),
        };
        let mut rows: Vec<i64> = crate::export::history(&self.store, &mine, &mentions)?
            .iter()
            .map(|it| it.row)
            .collect();
        rows.sort_unstable();
        let rows: Arc<[i64]> = rows.into();
        self.histories.borrow_mut().insert(key, Arc::clone(&rows));
        Ok(rows)
    }

    /// The messages whose direction is `want` ([`customers`]: inbound when
    /// From is not staff, outbound when it is and some To or Cc is outside,
    /// inbound when not but a Reply-To is a customer's, or when From is a
    /// form of `form_senders` with one, internal otherwise), read off
    /// the header terms of the index and, for the Reply-To, the store
    /// ([`index::role_address_term`]): the From terms of staff addresses, and
    /// the To and Cc terms of addresses outside. The distinct addresses of a
    /// header are a few thousand, so classifying them all costs about a
    /// millisecond. Documents written before those terms existed (rows
    /// below [`index::ROLE_TERMS_SINCE`]) are classified from the store, as
    /// `kura customers` does.
    ///
    /// An address longer than the index keeps a term of
    /// ([`tantivy::tokenizer::MAX_TOKEN_LEN`]) has none and counts as absent.
    fn direction_query(&self, want: Direction) -> Result<Box<dyn TQuery>> {
        let classifier = self
            .classifier
            .as_ref()
            .context("is: terms need the configuration (internal error: no classifier)")?;
        classifier.require_company(&format!("is:{}", want.as_str()))?;
        let from_staff: Box<dyn TQuery> = Box::new(TermSetQuery::new(
            self.header_terms(&[AddressRole::From], |a| classifier.is_internal(a))?,
        ));
        let to_outside = || -> Result<Box<dyn TQuery>> {
            let terms = self.header_terms(&[AddressRole::To, AddressRole::Cc], |a| {
                classifier.is_outside(a)
            })?;
            Ok(Box::new(TermSetQuery::new(terms)))
        };
        // A web form's mail, from staff to staff for an outside Reply-To, is
        // inbound: the store knows them (the index has no Reply-To terms).
        let on_behalf = || -> Result<Box<dyn TQuery>> {
            Ok(index::id_set_query(&customers::sent_on_behalf(
                &self.store,
                classifier,
            )?))
        };
        let indexed: Box<dyn TQuery> = Box::new(BooleanQuery::new(match want {
            Direction::Inbound => {
                let not_staff: Box<dyn TQuery> = Box::new(BooleanQuery::new(vec![
                    (Occur::Must, Box::new(AllQuery) as Box<dyn TQuery>),
                    (Occur::MustNot, from_staff),
                ]));
                vec![(Occur::Should, not_staff), (Occur::Should, on_behalf()?)]
            }
            // Not a form's copy to the customer who filled it in.
            Direction::Outbound => vec![
                (Occur::Must, from_staff),
                (Occur::Must, to_outside()?),
                (Occur::MustNot, on_behalf()?),
            ],
            Direction::Internal => vec![
                (Occur::Must, from_staff),
                (Occur::MustNot, to_outside()?),
                (Occur::MustNot, on_behalf()?),
            ],
        }));
        let since = self.role_terms_since()?;
        if since <= 1 {
            return Ok(indexed);
        }
        // The rows below `since` by the store. Their documents have no header
        // terms: all of them pass "From is not staff" and none the others.
        let since = i64::try_from(since).unwrap_or(i64::MAX);
        let mut legacy = Vec::new();
        customers::scan(&self.store, classifier, |_, m| {
            let counted = match want {
                Direction::Inbound => m.direction != Direction::Inbound,
                _ => m.direction == want,
            };
            if m.row < since && counted {
                legacy.push(m.row);
            }
        })?;
        let legacy = index::id_set_query(&legacy);
        Ok(Box::new(BooleanQuery::new(match want {
            Direction::Inbound => vec![(Occur::Must, indexed), (Occur::MustNot, legacy)],
            _ => vec![(Occur::Should, indexed), (Occur::Should, legacy)],
        })))
    }

    /// The header terms of `roles` in the index whose address `keep` says
    /// yes to, each once.
    fn header_terms(
        &self,
        roles: &[AddressRole],
        keep: impl Fn(&str) -> bool,
    ) -> Result<Vec<Term>> {
        let mut terms = std::collections::BTreeSet::new();
        for &role in roles {
            self.header_terms_of(role, &keep, &mut terms)?;
        }
        Ok(terms
            .into_iter()
            .map(|t| Term::from_field_bytes(self.fields.addr, &t))
            .collect())
    }

    /// [`Searcher::header_terms`] of one role, added to `terms`.
    fn header_terms_of(
        &self,
        role: AddressRole,
        keep: &impl Fn(&str) -> bool,
        terms: &mut std::collections::BTreeSet<Vec<u8>>,
    ) -> Result<()> {
        let prefix = index::role_address_term(role, "");
        let mut end = prefix.clone().into_bytes();
        if let Some(last) = end.last_mut() {
            *last += 1;
        }
        for seg in self.reader.searcher().segment_readers() {
            let inverted = seg
                .inverted_index(self.fields.addr)
                .context("cannot read the index's address terms")?;
            let mut stream = inverted
                .terms()
                .range()
                .ge(prefix.as_bytes())
                .lt(&end)
                .into_stream()
                .context("cannot read the index's address terms")?;
            while stream.advance() {
                let key = stream.key();
                if terms.contains(key) {
                    continue;
                }
                if let Some(address) = key
                    .strip_prefix(prefix.as_bytes())
                    .and_then(|a| std::str::from_utf8(a).ok())
                    && keep(address)
                {
                    terms.insert(key.to_vec());
                }
            }
        }
        Ok(())
    }

    /// The lowest row whose document is known to have header terms
    /// ([`index::ROLE_TERMS_SINCE`]; `u64::MAX` when unrecorded: no kura that
    /// writes them has written to the archive).
    fn role_terms_since(&self) -> Result<u64> {
        Ok(self
            .store
            .meta(index::ROLE_TERMS_SINCE)?
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(u64::MAX))
    }

    /// The message rows `sql` (one parameter) selects.
    fn rows(&self, sql: &str, param: impl rusqlite::ToSql) -> Result<Vec<i64>> {
        let mut q = self.store.conn.prepare_cached(sql)?;
        let ids = q
            .query_map([param], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }

    /// The query run for `q`: [`Searcher::build`], without erased messages.
    fn top_query(&self, q: &Query) -> Result<Box<dyn TQuery>> {
        let tq = self.build(q)?;
        if self.erasing.is_empty() {
            return Ok(tq);
        }
        Ok(Box::new(BooleanQuery::new(vec![
            (Occur::Must, tq),
            (Occur::MustNot, index::id_set_query(&self.erasing)),
        ])))
    }

    /// Number of matching messages.
    pub fn count(&self, q: &Query) -> Result<usize> {
        let tq = self.top_query(q)?;
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
        let tq = self.top_query(q)?;
        let searcher = self.reader.searcher();
        if order == Order::Relevance {
            // Saturating: `--limit` may be as large as a usize can be.
            let want = limit.map_or(usize::MAX, |l| l.saturating_add(offset));
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

/// A thread id as typed (`1234`, or the zero-padded form kura prints; its
/// digits full-width too, as a Japanese keyboard types `ｔｈｒｅａｄ：４２`).
pub fn parse_thread_id(t: &str) -> Option<i64> {
    crate::hours::half_width(t.trim()).parse::<i64>().ok()
}

/// The address typed after `from:`, `to:` or `cc:` when it is a whole one
/// (`local@domain.tld`, nothing else), lower-cased as in the `addr` field.
fn whole_address(field: QField, text: &str) -> Option<String> {
    if !matches!(field, QField::From | QField::To | QField::Cc) {
        return None;
    }
    let text = typed_address(text, "*")?;
    let (_, domain) = text.rsplit_once('@')?;
    domain.contains('.').then(|| text.to_lowercase())
}

/// An address typed as `local@domain` or `<local@domain>`: its text
/// without the brackets, when neither part is empty or holds whitespace,
/// brackets, quotes, `,`, `;`, a second `@` or a character of `also`.
fn typed_address<'a>(text: &'a str, also: &str) -> Option<&'a str> {
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
                .any(|c| c.is_whitespace() || "<>()\",;@".contains(c) || also.contains(c))
    };
    (plain(local) && plain(domain)).then_some(text)
}

/// The header an address field is, for the `addr` field's header terms.
fn address_role(field: QField) -> Result<AddressRole> {
    Ok(match field {
        QField::From => AddressRole::From,
        QField::To => AddressRole::To,
        QField::Cc => AddressRole::Cc,
        _ => bail!("{field:?} is not an address header"),
    })
}

/// The text typed as a word when it is an address with stars
/// (`*@x.jp`, `tanaka@*.co.jp`, `*@*`), lower-cased as in the `addr` field.
pub(crate) fn address_glob(text: &str) -> Option<String> {
    let text = typed_address(text, "")?;
    text.contains('*').then(|| text.to_lowercase())
}

/// The regex of a glob: `*` for any characters, the rest as written.
fn glob_regex(glob: &str) -> String {
    glob.split('*')
        .map(regex_syntax::escape)
        .collect::<Vec<_>>()
        .join(".*")
}

/// Whether `glob` (`*` for any characters) matches the whole of `text`.
fn glob_matches(glob: &str, text: &str) -> bool {
    let mut parts = glob.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        // No star: the whole text.
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

fn raw_term(field: tantivy::schema::Field, value: &str) -> Box<dyn TQuery> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, value),
        IndexRecordOption::Basic,
    ))
}

/// The query for a raw field's `value`: the term, or with a `*` in it the
/// terms the glob matches (`*.go.jp`, `image/*`).
fn raw_glob(
    field: tantivy::schema::Field,
    value: &str,
    regexes: &Regexes,
) -> Result<Box<dyn TQuery>> {
    if !value.contains('*') {
        return Ok(raw_term(field, value));
    }
    let regex = regexes
        .get(&glob_regex(value))
        .context("cannot search for a value with so many stars")?;
    Ok(Box::new(RegexQuery::from_regex(regex, field)))
}

/// The compiled regexes of the patterns a searcher's queries use, by
/// pattern: each compiled once.
///
/// Compiling a pattern (to a DFA over UTF-8 bytes) costs far more than
/// running it over a small archive's terms, and the same patterns come
/// back many times in one query: a word is searched in seven text fields,
/// a phrase in up to 16 spellings (with and without the spaces between its
/// Japanese words), and each of them holds the same one-character
/// patterns (`株.?`, `.株`). Compiled anew each time, 400 copies of
/// `"株 式 会 社 ひ"` (10 KB) took 31 s on the sample mailbox.
#[derive(Default)]
pub(crate) struct Regexes(RefCell<HashMap<String, Arc<Regex>>>);

impl Regexes {
    /// The regex of `pattern`, compiled the first time it is asked for.
    pub(crate) fn get(&self, pattern: &str) -> Result<Arc<Regex>> {
        if let Some(regex) = self.0.borrow().get(pattern) {
            return Ok(Arc::clone(regex));
        }
        let regex = Arc::new(Regex::new(pattern)?);
        self.0
            .borrow_mut()
            .insert(pattern.to_string(), Arc::clone(&regex));
        Ok(regex)
    }
}

/// The query for `text` in one text field: a term, a phrase, or a pattern
/// match for a one-character CJK token (how each kind of token is matched is
/// in the [`crate::tokenizer`] module docs). With `wildcards` (a word, not a
/// quoted phrase), a `*` glued to a Latin word or number stands for any
/// letters there ([`Piece`]). `None` when the text has no token.
///
/// Japanese is written without spaces, so where the text puts a space or
/// punctuation between two CJK runs (`"株式会社 ひびき"`), mail with the two
/// runs written together (株式会社ひびき) matches too: the query is the union
/// of the text as typed and the text with such separators left out, for up
/// to [`MAX_JOINED_SEPARATORS`] of them (the rest stay as typed).
pub(crate) fn text_query(
    field: tantivy::schema::Field,
    text: &str,
    wildcards: bool,
    regexes: &Regexes,
) -> Result<Option<Box<dyn TQuery>>> {
    let tokens = analyze_query(text);
    if tokens.is_empty() {
        return Ok(None);
    }
    // Separators between the end of one CJK run and the start of the next.
    let separators: Vec<(usize, usize)> = tokens
        .windows(2)
        .filter(|w| w[0].is_cjk() && w[1].is_cjk() && w[1].run_start && w[0].to <= w[1].from)
        .map(|w| (w[0].to, w[1].from))
        .take(MAX_JOINED_SEPARATORS)
        .collect();
    if separators.is_empty() {
        return strict_query(field, &pieces(text, tokens, wildcards), regexes).map(Some);
    }
    let mut alternatives = Vec::with_capacity(1 << separators.len());
    for joined in 0..1u32 << separators.len() {
        let mut variant = String::with_capacity(text.len());
        let mut at = 0;
        for (n, &(from, to)) in separators.iter().enumerate() {
            if joined & (1 << n) != 0 {
                variant.push_str(&text[at..from]);
                at = to;
            }
        }
        variant.push_str(&text[at..]);
        let tokens = analyze_query(&variant);
        alternatives.push(strict_query(
            field,
            &pieces(&variant, tokens, wildcards),
            regexes,
        )?);
    }
    Ok(Some(Box::new(BooleanQuery::union(alternatives))))
}

/// Most separators between CJK runs of one query text that may also be
/// left out (each doubles the phrases to search).
pub(crate) const MAX_JOINED_SEPARATORS: usize = 4;

/// A query token, and the pattern its terms must match when it is a
/// wildcard.
struct Piece {
    token: QueryToken,
    /// For a Latin word or number with a `*` glued to it: the regex of the
    /// terms it stands for (`invoi*` → `invoi.*`, `*tion` → `.*tion`); two
    /// words with nothing but stars between them are one term (`in*ce` →
    /// `in.*ce`). CJK text needs no star (請求 already finds 請求書), so a
    /// star beside it is punctuation, as everywhere in a quoted phrase.
    pattern: Option<String>,
}

/// The tokens of `text` as [`Piece`]s: with `wildcards`, the stars glued
/// to words make them patterns.
fn pieces(text: &str, tokens: Vec<QueryToken>, wildcards: bool) -> Vec<Piece> {
    let is_star = |c: char| c == '*';
    let word = |t: &QueryToken| wildcards && t.kind == QueryTokenKind::Word;
    let mut out: Vec<Piece> = Vec::with_capacity(tokens.len());
    // Positions taken away from the tokens after two words joined into one.
    let mut joined = 0;
    for mut token in tokens {
        token.position -= joined;
        if !word(&token) {
            out.push(Piece {
                token,
                pattern: None,
            });
            continue;
        }
        let before = text.get(..token.from).is_some_and(|s| s.ends_with(is_star));
        let after = text.get(token.to..).is_some_and(|s| s.starts_with(is_star));
        let x = regex_syntax::escape(&token.text);
        let tail = if after { ".*" } else { "" };
        // `in*ce`: the word before ends where the stars before this one start.
        if before
            && let Some(prev) = out.last_mut()
            && word(&prev.token)
            && prev.token.to < token.from
            && text
                .get(prev.token.to..token.from)
                .is_some_and(|s| s.chars().all(is_star))
            && let Some(head) = prev.pattern.take()
        {
            prev.pattern = Some(format!("{head}{x}{tail}"));
            prev.token.to = token.to;
            joined += token.position - prev.token.position;
            continue;
        }
        let pattern = (before || after).then(|| {
            let lead = if before { ".*" } else { "" };
            format!("{lead}{x}{tail}")
        });
        out.push(Piece { token, pattern });
    }
    out
}

/// The query for `pieces` as they stand: a separator between two CJK runs
/// must be in the text too (see [`text_query`]).
fn strict_query(
    field: tantivy::schema::Field,
    pieces: &[Piece],
    regexes: &Regexes,
) -> Result<Box<dyn TQuery>> {
    let single = |p: &Piece| p.token.kind == QueryTokenKind::CjkSingle;
    match pieces {
        [] => Ok(Box::new(EmptyQuery)),
        [p] => Ok(match &p.pattern {
            Some(pattern) => Box::new(RegexQuery::from_regex(
                regexes
                    .get(pattern)
                    .context("cannot search for a word with so many stars")?,
                field,
            )),
            None if single(p) => {
                // A unigram, a bigram it starts or a bigram it ends.
                let x = regex_syntax::escape(&p.token.text);
                Box::new(RegexQuery::from_regex(
                    regexes
                        .get(&format!("{x}.?|.{x}"))
                        .context("cannot build a one-character query")?,
                    field,
                ))
            }
            None => Box::new(TermQuery::new(
                Term::from_field_text(field, &p.token.text),
                IndexRecordOption::WithFreqs,
            )),
        }),
        [first, ..] if single(first) => {
            // The character ends its run in any matching text: either the
            // run is the character alone, or a bigram ends with it.
            Ok(Box::new(BooleanQuery::union(vec![
                phrase(field, pieces, false, regexes)?,
                phrase(field, pieces, true, regexes)?,
            ])))
        }
        [..] => phrase(field, pieces, false, regexes),
    }
}

/// Several tokens as a phrase at their positions: exact terms, except a
/// wildcard, which matches its pattern, a one-character CJK token at the
/// end, which starts a term (`X.?`), and, with `ends_bigram`, the first
/// token, which is the end of a run's last bigram (`.X`): the next token
/// then comes [`BIGRAM_STEP`] + 1 positions on, where after a unigram it
/// comes 1 on (see the [`crate::tokenizer`] docs). Its patterns are
/// compiled here, so that one too complex for the index is an error that
/// says why.
fn phrase(
    field: tantivy::schema::Field,
    pieces: &[Piece],
    ends_bigram: bool,
    regexes: &Regexes,
) -> Result<Box<dyn TQuery>> {
    let last = pieces.len() - 1;
    let prefix_last = pieces[last].token.kind == QueryTokenKind::CjkSingle;
    let wild = pieces.iter().any(|p| p.pattern.is_some());
    if !ends_bigram && !prefix_last && !wild {
        let terms = pieces
            .iter()
            .map(|p| {
                (
                    p.token.position,
                    Term::from_field_text(field, &p.token.text),
                )
            })
            .collect();
        return Ok(Box::new(PhraseQuery::new_with_offset(terms)));
    }
    let shift = if ends_bigram { BIGRAM_STEP } else { 0 };
    // (Not tantivy's PhrasePrefixQuery: with two or more terms before the
    // prefix, it misses matches where a gap precedes the prefix.)
    let patterns = pieces
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let t = &p.token;
            let x = regex_syntax::escape(&t.text);
            let (position, pattern) = match &p.pattern {
                _ if i == 0 && ends_bigram => (t.position, format!(".{x}")),
                Some(pattern) => (t.position + shift, pattern.clone()),
                None if i == last && prefix_last => (t.position + shift, format!("{x}.?")),
                None => (t.position + shift, x),
            };
            let regex = regexes.get(&pattern).context(if p.pattern.is_some() {
                "cannot search for a word with so many stars"
            } else {
                "cannot build a phrase query"
            })?;
            Ok((position, pattern, regex))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut q = RegexPhraseQuery::from_regexes(field, patterns, 0);
    q.set_max_expansions(MAX_EXPANSIONS);
    Ok(Box::new(q))
}

/// Most terms a one-character token of a phrase may stand for (tantivy's
/// default would fail a query on a large archive; the terms holding one CJK
/// character are far fewer than this).
const MAX_EXPANSIONS: u32 = 1 << 20;

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

    /// A searcher may be moved to another thread (what it caches too).
    #[test]
    fn a_searcher_is_send() {
        fn send<T: Send>() {}
        send::<Searcher>();
    }

    /// `ｔｈｒｅａｄ：４２` as typed in full-width mode, the field now read
    /// as `thread:`: its number is 42 (it matched nothing, silently).
    #[test]
    fn thread_ids_typed_full_width_are_numbers() {
        assert_eq!(parse_thread_id("42"), Some(42));
        assert_eq!(parse_thread_id("４２"), Some(42));
        assert_eq!(parse_thread_id("０００４２"), Some(42));
        assert_eq!(parse_thread_id("４x"), None);
    }

    #[test]
    fn address_globs_match_whole_addresses() {
        assert_eq!(address_glob("*@X.jp"), Some("*@x.jp".to_string()));
        assert_eq!(
            address_glob("<tanaka@*.co.jp>"),
            Some("tanaka@*.co.jp".into())
        );
        for text in ["*tion", "tanaka@x.jp", "@*", "*@", "a b@*", "a@b@*"] {
            assert_eq!(address_glob(text), None, "{text}");
        }
        for (glob, text, want) in [
            ("*@x.jp", "tanaka@x.jp", true),
            ("*@x.jp", "tanaka@tokyo.x.jp", false),
            ("*@*x.jp", "tanaka@tokyo.x.jp", true),
            ("tanaka@*.co.jp", "tanaka@kyowa.co.jp", true),
            ("tanaka@*.co.jp", "k.tanaka@kyowa.co.jp", false),
            ("t*@*", "tanaka@x", true),
            ("a*a@x", "a@x", false),
            ("a*a@x", "aa@x", true),
            ("*a*b*@x", "xaxbx@x", true),
            ("*a*b*@x", "xbxax@x", false),
            ("no-star@x", "no-star@x", true),
            ("no-star@x", "no-star@xy", false),
        ] {
            assert_eq!(glob_matches(glob, text), want, "{glob} {text}");
            let re = regex_syntax::parse(&format!("^(?:{})$", glob_regex(glob))).is_ok();
            assert!(re, "{glob}");
        }
    }

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
