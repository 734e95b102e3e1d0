//! The query parser: text typed by staff or scripts to a [`Query`].
//!
//! The language, in short:
//!
//! - `*` alone matches every message. Words are ANDed by default; `AND`, `OR`
//!   and `NOT` (upper case only) are operators, with precedence
//!   `NOT` > `AND` > `OR`; parentheses group. Lower-case `and`/`or`/`not` are
//!   ordinary words.
//! - `-word`, `-field:x`, `-"phrase"` and `-(...)` negate; so does a
//!   full-width `－` typed by a Japanese input method (`見積 －請求書`), or macOS's `−`. A
//!   `－` inside a word or standing alone is text.
//! - `"quoted phrases"` and `「かぎ括弧」` are phrases. The ideographic space
//!   U+3000 separates words like an ASCII space.
//! - Field prefixes (case-insensitive): `from:` `to:` `cc:` `subject:` `body:`
//!   `unquoted:` `quoted:` `attachment:` (text fields), `customer:` `domain:` `id:` `thread:` `tag:`
//!   `has:attachment` `is:inbound|outbound|internal` `mimetype:` `date:`. A prefix applies to a word, to a
//!   quoted phrase (`subject:"見積 依頼"`) and to a group
//!   (`from:(tanaka OR suzuki)`). A known prefix and the values of `is:`
//!   and `has:` may be typed in full width (`ｉｓ：ｉｎｔｅｒｎａｌ`).
//! - A word whose text before `:` is not purely ASCII letters (`10:30`,
//!   `請求:`), that looks like a URL (`https://…`) or whose prefix is a
//!   subject's reply/forward marker (`Re:見積`, `Fwd:`, `AW:`) is plain text;
//!   any other unknown prefix is an error.
//! - `date:` takes `YYYY`, `YYYY-MM`, `YYYY-MM-DD` (also with `/`), `today`,
//!   `yesterday`, a span back from now (`12h`, `7d`, `2w`, `3m`, `1y`) and
//!   ranges `A..B`, `A..`, `..B` whose end is inclusive of B's whole day,
//!   month or year.
//!
//! - A text word or phrase with nothing searchable in it (`&`, `・`, `、`, an
//!   all-punctuation phrase: nothing the index has a token for) is left out:
//!   `invoice &` is `invoice`, `invoice OR &` and `invoice -&` too. A group
//!   left with no part is left out the same way; a query with nothing left
//!   is an error.
//!
//! Errors carry the byte range of the offending text so that the command line
//! can underline it ([`ParseError::render`]).

use super::ast::{DateBound, Field, Query};
use crate::customers::Direction;
use crate::tokenizer;
use crate::zone::Zone;
use chrono::{DateTime, Days, Months, NaiveDate, TimeDelta, Utc};
use std::fmt;

/// The longest query accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 10_000;

/// The deepest nesting accepted (parentheses, field groups and negations).
pub const MAX_DEPTH: usize = 64;

/// How the hint of a bad date ends in a query (`--since` and `--until`,
/// which take one date, leave it out).
pub(crate) const RANGE_HINT: &str = " or a range A..B";

/// A query that cannot be parsed: a message and the byte range of the bad part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
    pub start: usize,
    pub end: usize,
}

impl ParseError {
    fn new(message: impl Into<String>, start: usize, end: usize) -> Self {
        ParseError {
            message: message.into(),
            start,
            end,
        }
    }

    /// Shows where the error is: two lines (no trailing newline), the query
    /// on one line (tabs and line breaks shown as spaces) and `^` marks under
    /// the bad part, aligned in terminal columns (CJK characters are two
    /// columns wide). The message itself is the [`Display`](fmt::Display)
    /// form; an empty span at the end of the query gets one `^` after it.
    pub fn render(&self, input: &str) -> String {
        let mut line = String::with_capacity(input.len());
        let mut lead = 0usize;
        let mut marked = 0usize;
        for (pos, c) in input.char_indices() {
            let shown = if c.is_control() { ' ' } else { c };
            line.push(shown);
            let w = char_width(shown);
            if pos < self.start {
                lead += w;
            } else if pos < self.end {
                marked += w;
            }
        }
        let marks = marked.max(1);
        format!("{line}\n{}{}", " ".repeat(lead), "^".repeat(marks))
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

/// The terminal width of a character: 2 for Han, kana, Hangul, full-width
/// forms and the common emoji blocks, 0 for combining marks and zero-width
/// characters, 1 otherwise.
fn char_width(c: char) -> usize {
    let u = u32::from(c);
    match u {
        0x0300..=0x036F | 0x200B..=0x200F | 0x3099..=0x309A | 0xFE00..=0xFE0F => 0,
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x3098
        | 0x309B..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA960..=0xA97F
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1F64F
        | 0x1F900..=0x1F9FF
        | 0x20000..=0x3FFFD => 2,
        _ => 1,
    }
}

/// Parses a query. `now` resolves relative dates (`today`, `7d`, ...); `utc`
/// chooses UTC instead of the local time zone for calendar dates.
///
/// The result is simplified: nested `And`/`Or` are flattened, a part that
/// repeats another of the same `And` or `Or` is left out, one-child groups
/// unwrapped, `*` is dropped from an `And` that has a positive part,
/// an `Or` containing `*` is `*`, and double negation cancels. Every `Not` in
/// the result is a direct child of an `And` that also has a non-negated child
/// (`All` when the query has nothing positive: `-spam` is
/// `And([All, Not(spam)])`), so it can always be run as "minus". Text with
/// nothing searchable is left out (see the module docs), so every `Term`
/// and `Phrase` has a searchable character, but for a `Term` that is an
/// address of stars alone (`cc:*@*`), which matches addresses.
pub fn parse(input: &str, now: DateTime<Utc>, utc: bool) -> Result<Query, ParseError> {
    let zone = if utc { Zone::Utc } else { Zone::Local };
    parse_in(input, now, zone)
}

/// Parses with an explicit zone (the tests use a fixed offset).
fn parse_in(input: &str, now: DateTime<Utc>, zone: Zone) -> Result<Query, ParseError> {
    if input.len() > MAX_QUERY_BYTES {
        let mut start = MAX_QUERY_BYTES;
        while !input.is_char_boundary(start) {
            start -= 1;
        }
        return Err(ParseError::new(
            format!(
                "query is too long: {} bytes (at most {MAX_QUERY_BYTES})",
                input.len()
            ),
            start,
            input.len(),
        ));
    }
    if input.trim().is_empty() {
        return Err(ParseError::new(
            "empty query: give words to search for, or * for every message",
            0,
            input.len(),
        ));
    }
    let tokens = lex(input)?;
    let mut p = Parser {
        toks: &tokens,
        pos: 0,
        depth: 0,
        end: input.len(),
        now,
        zone,
    };
    let q = p.parse_or(Ctx::Any)?;
    if let Some(t) = p.peek() {
        // parse_or stops only at `)` or the end.
        return Err(ParseError::new(
            "unmatched ')': no '(' before it",
            t.start,
            t.end,
        ));
    }
    let Some(q) = q else {
        let start = input.len() - input.trim_start().len();
        return Err(ParseError::new(
            "nothing to search for: the query's words are only punctuation or symbols, \
             which are not indexed",
            start,
            input.trim_end().len().max(start),
        ));
    };
    Ok(match q {
        Query::Not(_) => Query::And(vec![Query::All, q]),
        q => q,
    })
}

// ---------------------------------------------------------------------------
// Fields

/// What a field prefix restricts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// No prefix: plain text in any field.
    Any,
    Text(Field),
    Customer,
    History,
    Domain,
    Id,
    Thread,
    Tag,
    Has,
    Is,
    MimeType,
    Date,
}

/// The field prefixes, as typed (lower case), in the order they are listed
/// in error messages.
const FIELDS: &[(&str, Ctx)] = &[
    ("from", Ctx::Text(Field::From)),
    ("to", Ctx::Text(Field::To)),
    ("cc", Ctx::Text(Field::Cc)),
    ("subject", Ctx::Text(Field::Subject)),
    ("body", Ctx::Text(Field::Body)),
    ("unquoted", Ctx::Text(Field::Unquoted)),
    ("quoted", Ctx::Text(Field::Quoted)),
    ("attachment", Ctx::Text(Field::Attachment)),
    ("customer", Ctx::Customer),
    ("history", Ctx::History),
    ("domain", Ctx::Domain),
    ("id", Ctx::Id),
    ("thread", Ctx::Thread),
    ("tag", Ctx::Tag),
    ("has", Ctx::Has),
    ("is", Ctx::Is),
    ("mimetype", Ctx::MimeType),
    ("date", Ctx::Date),
];

/// Whether `word` starts with a field prefix (`tag:`, `From:`), as a
/// command line's arguments are checked for negated terms
/// ([`crate::cli::negated_terms_in_full_width`]).
pub fn starts_with_field(word: &str) -> bool {
    word.split_once(':')
        .is_some_and(|(name, _)| field_by_name(name).is_some())
}

fn field_by_name(name: &str) -> Option<Ctx> {
    FIELDS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, c)| c)
}

fn known_fields() -> String {
    FIELDS
        .iter()
        .map(|(n, _)| format!("{n}:"))
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    LParen,
    RParen,
    /// `-` directly before a word, phrase, prefix or group.
    Minus,
    Star,
    And,
    Or,
    Not,
    /// A bare word, or the value after a field prefix.
    Word(String),
    /// A quoted phrase's content, trimmed; `text_start..text_end` locate it.
    Phrase(String),
    /// A field prefix such as `from:`; the lexer guarantees that the next
    /// token is its value (a word, a phrase or `(`) with no space between.
    Field(Ctx),
}

#[derive(Debug, Clone)]
struct Tok {
    kind: Kind,
    start: usize,
    end: usize,
    /// For words and phrases: the byte range of the text itself.
    text_start: usize,
    text_end: usize,
}

fn tok(kind: Kind, start: usize, end: usize) -> Tok {
    Tok {
        kind,
        start,
        end,
        text_start: start,
        text_end: end,
    }
}

/// Characters that end a bare word.
fn ends_word(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '"' | '「')
}

/// The closing quote for an opening one.
fn closing_quote(c: char) -> Option<char> {
    match c {
        '"' => Some('"'),
        '「' => Some('」'),
        _ => None,
    }
}

fn lex(input: &str) -> Result<Vec<Tok>, ParseError> {
    let mut toks = Vec::new();
    let mut pos = 0usize;
    // After `-` or a field prefix, AND/OR/NOT and `*` are plain words.
    let mut literal = false;
    // After a field prefix the value is taken as typed (no nested prefix or `-`).
    let mut value = false;
    while let Some(c) = input.get(pos..).and_then(|s| s.chars().next()) {
        let clen = c.len_utf8();
        if c.is_whitespace() {
            pos += clen;
            continue;
        }
        let was_literal = std::mem::replace(&mut literal, false);
        let was_value = std::mem::replace(&mut value, false);
        match c {
            '(' => {
                toks.push(tok(Kind::LParen, pos, pos + clen));
                pos += clen;
            }
            ')' => {
                toks.push(tok(Kind::RParen, pos, pos + clen));
                pos += clen;
            }
            '"' | '「' => {
                let close = closing_quote(c).unwrap_or('"');
                let body_start = pos + clen;
                let rest = input.get(body_start..).unwrap_or("");
                let Some(rel) = rest.find(close) else {
                    return Err(ParseError::new(
                        format!("unterminated quote: no closing {close}"),
                        pos,
                        input.len(),
                    ));
                };
                let body_end = body_start + rel;
                let end = body_end + close.len_utf8();
                let raw = input.get(body_start..body_end).unwrap_or("");
                let lead = raw.len() - raw.trim_start().len();
                let text = raw.trim();
                if text.is_empty() {
                    return Err(ParseError::new("empty quoted phrase", pos, end));
                }
                toks.push(Tok {
                    kind: Kind::Phrase(text.to_string()),
                    start: pos,
                    end,
                    text_start: body_start + lead,
                    text_end: body_start + lead + text.len(),
                });
                pos = end;
            }
            // `－` (U+FF0D), as a Japanese input method types `-`, and `−`
            // (U+2212), as macOS's does, exclude as `-` does; alone
            // (`見積 － 請求書`, a separator in a pasted subject) they are
            // text.
            '-' | '－' | '−' if !was_value && followed_by_operand(input, pos + clen) => {
                toks.push(tok(Kind::Minus, pos, pos + clen));
                literal = true;
                pos += clen;
            }
            '-' if !was_value => {
                return Err(ParseError::new(
                    "'-' must be directly followed by a word, a phrase or '(' to exclude",
                    pos,
                    pos + clen,
                ));
            }
            _ => {
                let rest = input.get(pos..).unwrap_or("");
                let len = rest.find(ends_word).unwrap_or(rest.len());
                let word = rest.get(..len).unwrap_or("");
                let end = pos + len;
                if !was_value && !was_literal {
                    let op = match word {
                        "AND" => Some(Kind::And),
                        "OR" => Some(Kind::Or),
                        "NOT" => Some(Kind::Not),
                        _ => None,
                    };
                    if let Some(op) = op {
                        toks.push(tok(op, pos, end));
                        pos = end;
                        continue;
                    }
                }
                if !was_value && word == "*" {
                    toks.push(tok(Kind::Star, pos, end));
                    pos = end;
                    continue;
                }
                // `name:` typed in ASCII (an unknown name is an error), or
                // a known one with an input method's full-width letters or
                // colon (`ｆｒｏｍ：`; anything else so typed is text).
                let prefix = match word.split_once(':') {
                    Some((name, after))
                        if !name.is_empty()
                            && name.bytes().all(|b| b.is_ascii_alphabetic())
                            && !after.starts_with("//")
                            && !is_subject_marker(name) =>
                    {
                        Some((name.to_string(), name.len() + 1))
                    }
                    _ => wide_field_prefix(word),
                };
                if !was_value && let Some((name, prefix_len)) = prefix {
                    let prefix_end = pos + prefix_len;
                    let Some(ctx) = field_by_name(&name) else {
                        return Err(ParseError::new(
                            format!(
                                "unknown field '{name}:'; known fields are {}",
                                known_fields()
                            ),
                            pos,
                            prefix_end,
                        ));
                    };
                    let next = input.get(prefix_end..).and_then(|s| s.chars().next());
                    let has_value = match next {
                        Some('(' | '"' | '「') => true,
                        Some(n) => !ends_word(n),
                        None => false,
                    };
                    if !has_value {
                        return Err(ParseError::new(
                            format!("'{name}:' needs a value right after the colon (no space)"),
                            pos,
                            prefix_end,
                        ));
                    }
                    toks.push(tok(Kind::Field(ctx), pos, prefix_end));
                    value = true;
                    pos = prefix_end;
                    continue;
                }
                toks.push(tok(Kind::Word(word.to_string()), pos, end));
                pos = end;
            }
        }
    }
    Ok(toks)
}

/// Whether a word, a phrase, a prefix or a group starts at byte `at` of
/// `input` (not a space, `)` or the end): what a `-` there excludes.
fn followed_by_operand(input: &str, at: usize) -> bool {
    input
        .get(at..)
        .and_then(|s| s.chars().next())
        .is_some_and(|n| !n.is_whitespace() && n != ')')
}

/// A known field's prefix typed with an input method's full-width forms
/// (`from：`, `ｆｒｏｍ：`, `ｆｒｏｍ:`): its name in ASCII and the prefix's
/// length in bytes. `None` for anything else, which stays text (`注意：`,
/// `ＴＥＬ：03`, `Ｒｅ：見積`).
fn wide_field_prefix(word: &str) -> Option<(String, usize)> {
    let (at, colon) = word
        .char_indices()
        .find(|&(_, c)| matches!(c, ':' | '：'))?;
    let typed = word.get(..at)?;
    if colon == ':' && typed.is_ascii() {
        return None;
    }
    let name = ascii_letters(typed)?;
    field_by_name(&name)?;
    Some((name, at + colon.len_utf8()))
}

/// `text` in ASCII letters, an input method's full-width ones
/// (`ｉｎｂｏｕｎｄ`, `ＦＲＯＭ`) read as theirs; `None` when it holds
/// anything but letters.
fn ascii_letters(text: &str) -> Option<String> {
    text.chars()
        .map(|c| match c {
            'Ａ'..='Ｚ' | 'ａ'..='ｚ' => char::from_u32(u32::from(c) - 0xFEE0),
            c if c.is_ascii_alphabetic() => Some(c),
            _ => None,
        })
        .collect()
}

/// Reply and forward markers of subjects (`Re:`, `Fw:`, `Fwd:`, and the
/// German, Nordic and French ones mail clients write): pasted from a subject,
/// `Re:見積` is text, not a field.
fn is_subject_marker(name: &str) -> bool {
    ["re", "fw", "fwd", "aw", "wg", "sv", "vs", "tr"]
        .iter()
        .any(|m| name.eq_ignore_ascii_case(m))
}

// ---------------------------------------------------------------------------
// Parser

struct Parser<'a> {
    toks: &'a [Tok],
    pos: usize,
    depth: usize,
    /// The input's length: where "at the end" errors point.
    end: usize,
    now: DateTime<Utc>,
    zone: Zone,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&'a Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<&'a Tok> {
        let t = self.toks.get(self.pos);
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    fn descend(&mut self, t: &Tok) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::new(
                format!("query is nested more than {MAX_DEPTH} levels deep"),
                t.start,
                t.end,
            ));
        }
        Ok(())
    }

    /// `or := and (OR and)*`; stops before `)` or at the end.
    fn parse_or(&mut self, ctx: Ctx) -> Result<Part, ParseError> {
        let mut parts = vec![self.parse_and(ctx)?];
        while let Some(t) = self.peek() {
            if t.kind != Kind::Or {
                break;
            }
            self.pos += 1;
            self.expect_operand(t)?;
            parts.push(self.parse_and(ctx)?);
        }
        Ok(make_or(parts))
    }

    /// `and := unary (AND? unary)*`.
    fn parse_and(&mut self, ctx: Ctx) -> Result<Part, ParseError> {
        if let Some(t) = self.peek()
            && matches!(t.kind, Kind::And | Kind::Or)
        {
            return Err(ParseError::new(
                format!("'{}' needs something to its left", op_name(&t.kind)),
                t.start,
                t.end,
            ));
        }
        let mut parts = vec![self.parse_unary(ctx)?];
        loop {
            match self.peek() {
                None => break,
                Some(t) if matches!(t.kind, Kind::Or | Kind::RParen) => break,
                Some(t) if t.kind == Kind::And => {
                    self.pos += 1;
                    self.expect_operand(t)?;
                }
                Some(_) => {}
            }
            parts.push(self.parse_unary(ctx)?);
        }
        Ok(make_and(parts))
    }

    /// After operator `op`: fails unless something it can apply to follows.
    fn expect_operand(&self, op: &Tok) -> Result<(), ParseError> {
        match self.peek().map(|t| &t.kind) {
            None | Some(Kind::RParen | Kind::And | Kind::Or) => Err(ParseError::new(
                format!("'{}' needs something to its right", op_name(&op.kind)),
                op.start,
                op.end,
            )),
            Some(_) => Ok(()),
        }
    }

    /// `unary := (NOT | '-')* primary`.
    fn parse_unary(&mut self, ctx: Ctx) -> Result<Part, ParseError> {
        let saved = self.depth;
        let mut negations = 0usize;
        while let Some(t) = self.peek() {
            if !matches!(t.kind, Kind::Not | Kind::Minus) {
                break;
            }
            self.pos += 1;
            self.descend(t)?;
            if t.kind == Kind::Not {
                self.expect_operand(t)?;
            }
            negations += 1;
        }
        let mut q = self.parse_primary(ctx)?;
        for _ in 0..negations {
            q = q.map(make_not);
        }
        self.depth = saved;
        Ok(q)
    }

    fn parse_primary(&mut self, ctx: Ctx) -> Result<Part, ParseError> {
        let Some(t) = self.next() else {
            return Err(ParseError::new(
                "query ends where a word was expected",
                self.end,
                self.end,
            ));
        };
        match &t.kind {
            Kind::LParen => self.parse_group(t, ctx),
            Kind::Star => Ok(Some(Query::All)),
            Kind::Word(w) => self.value(ctx, w, false, t),
            Kind::Phrase(p) => self.value(ctx, p, true, t),
            Kind::Field(f) => {
                let f = *f;
                let Some(v) = self.next() else {
                    return Err(ParseError::new("field needs a value", t.start, t.end));
                };
                match &v.kind {
                    Kind::LParen => self.parse_group(v, f),
                    Kind::Word(w) => self.value(f, w, false, v),
                    Kind::Phrase(p) => self.value(f, p, true, v),
                    _ => Err(ParseError::new("field needs a value", t.start, t.end)),
                }
            }
            Kind::RParen => Err(ParseError::new(
                "unmatched ')': no '(' before it",
                t.start,
                t.end,
            )),
            Kind::And | Kind::Or | Kind::Not | Kind::Minus => Err(ParseError::new(
                format!("unexpected '{}'", op_name(&t.kind)),
                t.start,
                t.end,
            )),
        }
    }

    /// After `(`: the group's content and its `)`.
    fn parse_group(&mut self, open: &Tok, ctx: Ctx) -> Result<Part, ParseError> {
        let saved = self.depth;
        self.descend(open)?;
        match self.peek() {
            Some(t) if t.kind == Kind::RParen => {
                return Err(ParseError::new("empty parentheses", open.start, t.end));
            }
            None => {
                return Err(ParseError::new(
                    "unclosed '(': no ')' after it",
                    open.start,
                    open.end,
                ));
            }
            Some(_) => {}
        }
        let q = self.parse_or(ctx)?;
        match self.next() {
            Some(t) if t.kind == Kind::RParen => {}
            _ => {
                return Err(ParseError::new(
                    "unclosed '(': no ')' after it",
                    open.start,
                    open.end,
                ));
            }
        }
        self.depth = saved;
        Ok(q)
    }

    /// A word or phrase under field `ctx`; `None` for text with nothing
    /// searchable.
    fn value(&self, ctx: Ctx, text: &str, phrase: bool, t: &Tok) -> Result<Part, ParseError> {
        let empty = |what: &str| {
            Err(ParseError::new(
                format!("empty {what}"),
                t.text_start,
                t.text_end,
            ))
        };
        if matches!(ctx, Ctx::Any | Ctx::Text(_))
            && !phrase
            && let Some((from, to)) = star_inside_japanese(text)
        {
            let (before, after) = (text.get(..from).unwrap_or(""), text.get(to..).unwrap_or(""));
            let field = match ctx {
                Ctx::Text(_) => FIELDS
                    .iter()
                    .find(|(_, c)| *c == ctx)
                    .map(|(n, _)| format!("{n}:"))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            return Err(ParseError::new(
                format!(
                    "a * between Japanese characters cannot be searched for: Japanese is found \
                     inside words without it (請求 finds 請求書); to find both parts, give them \
                     as two words: {field}{before} {field}{after}"
                ),
                t.text_start + from,
                t.text_start + to,
            ));
        }
        Ok(Some(match ctx {
            Ctx::Any => return Ok(text_query(Field::Any, text, phrase)),
            Ctx::Text(f) => return Ok(text_query(f, text, phrase)),
            Ctx::Customer | Ctx::Domain | Ctx::History => {
                // `<a@x.jp>` as copied from a header is `a@x.jp`.
                let text = text.trim();
                let text = text
                    .strip_prefix('<')
                    .and_then(|t| t.strip_suffix('>'))
                    .unwrap_or(text);
                let v = text.trim_start_matches('@').to_lowercase();
                match ctx {
                    _ if v.is_empty() => {
                        return empty(match ctx {
                            Ctx::Domain => "domain",
                            Ctx::History => "customer history",
                            _ => "customer",
                        });
                    }
                    Ctx::Domain => Query::Domain(v),
                    Ctx::History if v.contains('*') => {
                        return Err(ParseError::new(
                            format!(
                                "history: takes one customer (a key, an address or a domain), \
                                 not '{text}'; customer: takes a pattern"
                            ),
                            t.text_start,
                            t.text_end,
                        ));
                    }
                    Ctx::History => Query::History(v),
                    _ => Query::Customer(v),
                }
            }
            Ctx::Id => {
                let v = text.strip_prefix('<').unwrap_or(text);
                let v = v.strip_suffix('>').unwrap_or(v);
                if v.is_empty() {
                    return empty("message id");
                }
                Query::Id(v.to_string())
            }
            Ctx::Thread => Query::Thread(text.to_string()),
            Ctx::Tag => Query::Tag(text.to_string()),
            Ctx::MimeType => Query::MimeType(crate::hours::half_width(text).to_lowercase()),
            // Values typed in full width too (`ｉｓ：ｉｎｔｅｒｎａｌ`);
            // an error quotes them as typed.
            Ctx::Has => {
                if ascii_letters(text).is_some_and(|v| v.eq_ignore_ascii_case("attachment")) {
                    Query::HasAttachment
                } else {
                    return Err(ParseError::new(
                        format!("unknown 'has:' value '{text}'; valid: has:attachment"),
                        t.text_start,
                        t.text_end,
                    ));
                }
            }
            Ctx::Is => match ascii_letters(text)
                .and_then(|v| Direction::from_name(&v.to_ascii_lowercase()))
            {
                Some(d) => Query::Direction(d),
                None => {
                    return Err(ParseError::new(
                        format!(
                            "unknown 'is:' value '{text}'; valid: is:inbound, is:outbound, is:internal"
                        ),
                        t.text_start,
                        t.text_end,
                    ));
                }
            },
            Ctx::Date => {
                let (start, end) = self.date(text, t.text_start)?;
                Query::Date { start, end }
            }
        }))
    }

    // -----------------------------------------------------------------------
    // Dates

    /// A `date:` value starting at byte `at` of the input, `typed` as typed:
    /// read in ASCII ([`ascii_date`]), quoted and marked in errors as typed.
    fn date(&self, typed: &str, at: usize) -> Result<(DateBound, DateBound), ParseError> {
        let (ascii, from) = ascii_date(typed);
        let lower = ascii.to_ascii_lowercase();
        // The text typed for `lower[start..end]`, and where it is in the input.
        let typed_part = |start: usize, end: usize| {
            let at_typed = |i: usize| from.get(i).copied().unwrap_or(typed.len());
            let (s, e) = (at_typed(start), at_typed(end));
            Typed {
                text: typed.get(s..e).unwrap_or(typed),
                start: at + s,
                end: at + e,
            }
        };
        let whole = |msg: String| ParseError::new(msg, at, at + typed.len());
        let Some((a, b)) = lower.split_once("..") else {
            let (s, e) = self.date_point(&lower, typed_part(0, lower.len()))?;
            // A span back from now (an instant, s == e) means "since then".
            return Ok((Some(s), if s == e { None } else { Some(e) }));
        };
        if b.contains("..") {
            return Err(whole(format!(
                "'{typed}' is not a date range; use A..B, A.. or ..B"
            )));
        }
        if a.is_empty() && b.is_empty() {
            return Err(whole(
                "a date range needs at least one end, e.g. 2024-06.. or ..2023".to_string(),
            ));
        }
        let start = if a.is_empty() {
            None
        } else {
            Some(self.date_point(a, typed_part(0, a.len()))?.0)
        };
        let end = if b.is_empty() {
            None
        } else {
            Some(self.date_point(b, typed_part(a.len() + 2, lower.len()))?.1)
        };
        if let (Some(s), Some(e)) = (start, end)
            && s >= e
        {
            return Err(whole(format!("date range '{typed}' ends before it starts")));
        }
        Ok((start, end))
    }

    /// One date (in ASCII, lower-cased), `shown` as typed: the instants
    /// its period starts and ends at. A span back from now (`7d`) is a
    /// single instant.
    fn date_point(
        &self,
        s: &str,
        shown: Typed<'_>,
    ) -> Result<(DateTime<Utc>, DateTime<Utc>), ParseError> {
        let Typed {
            text: shown,
            start,
            end,
        } = shown;
        let err = |msg: String| ParseError::new(msg, start, end);
        let out_of_range = || err(format!("date '{shown}' is out of range"));
        let today = self.zone.wall(self.now).date();
        let day = |d: NaiveDate| -> Result<(DateTime<Utc>, DateTime<Utc>), ParseError> {
            let next = d.checked_add_days(Days::new(1)).ok_or_else(out_of_range)?;
            self.period(d, next).ok_or_else(out_of_range)
        };
        match s {
            "today" => return day(today),
            "yesterday" => {
                return day(today
                    .checked_sub_days(Days::new(1))
                    .ok_or_else(out_of_range)?);
            }
            _ => {}
        }
        if let Some(unit) = s.chars().last()
            && matches!(unit, 'h' | 'd' | 'w' | 'm' | 'y')
        {
            let digits = s.get(..s.len() - 1).unwrap_or("");
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                let t = self
                    .ago(digits, unit)
                    .ok_or_else(|| err(format!("'{shown}' reaches too far back")))?;
                return Ok((t, t));
            }
        }
        let sep = if s.contains('/') { '/' } else { '-' };
        let parts: Vec<&str> = s.split(sep).collect();
        let numeric = |p: &&str, max_len: usize| {
            !p.is_empty() && p.len() <= max_len && p.bytes().all(|b| b.is_ascii_digit())
        };
        let shape_ok = match parts.as_slice() {
            [y] => y.len() == 4 && numeric(y, 4),
            [y, m] => y.len() == 4 && numeric(y, 4) && numeric(m, 2),
            [y, m, d] => y.len() == 4 && numeric(y, 4) && numeric(m, 2) && numeric(d, 2),
            _ => false,
        };
        if !shape_ok {
            return Err(err(format!(
                "'{shown}' is not a date; use YYYY, YYYY-MM, YYYY-MM-DD, today, yesterday, \
                 a span back from now (12h, 7d, 2w, 3m, 1y){RANGE_HINT}"
            )));
        }
        let num = |i: usize| {
            parts
                .get(i)
                .and_then(|p| p.parse::<u32>().ok())
                .unwrap_or(0)
        };
        let year = i32::try_from(num(0)).map_err(|_| out_of_range())?;
        let invalid = || err(format!("invalid date '{shown}'"));
        match parts.len() {
            1 => {
                let first = NaiveDate::from_ymd_opt(year, 1, 1).ok_or_else(invalid)?;
                let next = NaiveDate::from_ymd_opt(year + 1, 1, 1).ok_or_else(out_of_range)?;
                self.period(first, next).ok_or_else(out_of_range)
            }
            2 => {
                let first = NaiveDate::from_ymd_opt(year, num(1), 1).ok_or_else(invalid)?;
                let next = first
                    .checked_add_months(Months::new(1))
                    .ok_or_else(out_of_range)?;
                self.period(first, next).ok_or_else(out_of_range)
            }
            _ => day(NaiveDate::from_ymd_opt(year, num(1), num(2)).ok_or_else(invalid)?),
        }
    }

    /// Midnight of `first` to midnight of `next`, in the query's zone.
    fn period(&self, first: NaiveDate, next: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let s = self.zone.instant(first.and_hms_opt(0, 0, 0)?)?;
        let e = self.zone.instant(next.and_hms_opt(0, 0, 0)?)?;
        Some((s, e))
    }

    /// `now` minus `n` units; months and years by the calendar in the
    /// query's zone (a month before 31 March is the last day of February).
    fn ago(&self, digits: &str, unit: char) -> Option<DateTime<Utc>> {
        let n: u32 = digits.parse().ok()?;
        let back = |d: TimeDelta| self.now.checked_sub_signed(d);
        match unit {
            'h' => back(TimeDelta::try_hours(i64::from(n))?),
            'd' => back(TimeDelta::try_days(i64::from(n))?),
            'w' => back(TimeDelta::try_weeks(i64::from(n))?),
            'm' | 'y' => {
                let months = if unit == 'y' { n.checked_mul(12)? } else { n };
                let wall = self.zone.wall(self.now);
                let then = wall.checked_sub_months(Months::new(months))?;
                self.zone.instant(then)
            }
            _ => None,
        }
    }
}

/// Part of a `date:` value as typed, and its byte range in the input.
#[derive(Clone, Copy)]
struct Typed<'a> {
    text: &'a str,
    start: usize,
    end: usize,
}

/// A `date:` value as typed on a Japanese keyboard (`２０２４－０３`,
/// `２０２４／０３`, `２０２３〜２０２４`) in ASCII, and for each byte of
/// that (and its end) the byte of `typed` it was read from.
fn ascii_date(typed: &str) -> (String, Vec<usize>) {
    let mut ascii = String::with_capacity(typed.len());
    let mut from = Vec::with_capacity(typed.len() + 1);
    for (i, c) in typed.char_indices() {
        let read = match c {
            '〜' | '～' => "..".to_string(),
            '／' => "/".to_string(),
            c => crate::hours::half_width(c.encode_utf8(&mut [0; 4])),
        };
        from.extend(std::iter::repeat_n(i, read.len()));
        ascii.push_str(&read);
    }
    from.push(typed.len());
    (ascii, from)
}

fn op_name(k: &Kind) -> &'static str {
    match k {
        Kind::And => "AND",
        Kind::Or => "OR",
        Kind::Not => "NOT",
        Kind::Minus => "-",
        Kind::LParen => "(",
        Kind::RParen => ")",
        Kind::Star => "*",
        Kind::Word(_) | Kind::Phrase(_) | Kind::Field(_) => "word",
    }
}

/// The byte range of the first run of stars in `text` with a Japanese (CJK)
/// character right before and right after it (`請*書`): in an index of
/// bigrams, nothing stands for the characters between.
fn star_inside_japanese(text: &str) -> Option<(usize, usize)> {
    let cjk = |c: char| {
        tokenizer::fold(c.encode_utf8(&mut [0; 4]))
            .chars()
            .any(tokenizer::is_cjk)
    };
    let mut prev: Option<char> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '*' {
            prev = Some(c);
            continue;
        }
        let mut end = i + 1;
        while let Some(&(j, '*')) = chars.peek() {
            end = j + 1;
            chars.next();
        }
        let next = chars.peek().map(|&(_, n)| n);
        if prev.is_some_and(cjk) && next.is_some_and(cjk) {
            return Some((i, end));
        }
        prev = Some('*');
    }
    None
}

/// A text word or phrase; `None` when it has nothing searchable.
fn text_query(field: Field, text: &str, phrase: bool) -> Part {
    // An address of stars alone (`cc:*@*`: a Cc at all) has no word, but
    // matches the addresses.
    let address = !phrase
        && matches!(field, Field::Any | Field::From | Field::To | Field::Cc)
        && super::exec::address_glob(text).is_some();
    if !address && !searchable(text) {
        return None;
    }
    let text = text.to_string();
    Some(if phrase {
        Query::Phrase { field, text }
    } else {
        Query::Term { field, text }
    })
}

/// Whether `text` has something the index could hold: a token, or at least
/// a letter or digit (a word too long to be indexed is searchable text that
/// matches nothing, not punctuation to leave out).
fn searchable(text: &str) -> bool {
    !tokenizer::analyze_query(text).is_empty()
        || tokenizer::fold(text)
            .chars()
            .any(|c| c.is_alphanumeric() || tokenizer::is_cjk(c))
}

// ---------------------------------------------------------------------------
// Simplification

/// A parsed part of a query; `None` when it is void: text with nothing
/// searchable, or a group, negation or field group of only such text. A
/// void part is left out of the `And` or `Or` around it.
type Part = Option<Query>;

fn is_positive(q: &Query) -> bool {
    !matches!(q, Query::Not(_) | Query::All)
}

/// An `And` of `parts`: flattened, without repeats ([`without_repeats`]);
/// `*` dropped when something else is positive; one part unwrapped. Only negations: `*` first, except that a
/// lone negation stays bare so that an enclosing `NOT` can cancel it (the
/// caller or the top level adds the `*`). Void parts are left out; with
/// none left, the `And` is void.
fn make_and(parts: Vec<Part>) -> Part {
    let mut flat = Vec::with_capacity(parts.len());
    for p in parts.into_iter().flatten() {
        match p {
            Query::And(inner) => flat.extend(inner),
            p => flat.push(p),
        }
    }
    if flat.is_empty() {
        return None;
    }
    let mut flat = without_repeats(flat);
    let positive = flat.iter().any(is_positive);
    flat.retain(|q| *q != Query::All);
    if !positive && flat.len() != 1 {
        flat.insert(0, Query::All);
    }
    Some(match flat.len() {
        1 => flat.pop().unwrap_or(Query::All),
        _ => Query::And(flat),
    })
}

/// An `Or` of `parts`: flattened, without repeats ([`without_repeats`]);
/// `*` if any part is `*`; a bare negation
/// becomes `* AND NOT …`; one part unwrapped. Void parts are left out;
/// with none left, the `Or` is void.
fn make_or(parts: Vec<Part>) -> Part {
    let mut parts: Vec<Query> = parts.into_iter().flatten().collect();
    if parts.len() <= 1 {
        return parts.pop();
    }
    let mut flat = Vec::with_capacity(parts.len());
    for p in parts {
        match p {
            Query::Or(inner) => flat.extend(inner),
            Query::All => return Some(Query::All),
            n @ Query::Not(_) => flat.push(Query::And(vec![Query::All, n])),
            p => flat.push(p),
        }
    }
    let mut flat = without_repeats(flat);
    if flat.len() == 1 {
        return flat.pop();
    }
    Some(Query::Or(flat))
}

/// `parts` without those that repeat an earlier one (`a a`, `a OR a`):
/// each part is run on its own, and one that reads every term of its
/// fields (`*a`, a one-character kanji) or scans the store (`is:`,
/// `history:`) read them again for every copy. Quadratic, but a query of
/// 10,000 bytes has at most a few thousand parts.
fn without_repeats(parts: Vec<Query>) -> Vec<Query> {
    let mut kept: Vec<Query> = Vec::with_capacity(parts.len());
    for p in parts {
        if !kept.contains(&p) {
            kept.push(p);
        }
    }
    kept
}

/// `NOT q`, cancelling a double negation.
fn make_not(q: Query) -> Query {
    match q {
        Query::Not(inner) => *inner,
        q => Query::Not(Box::new(q)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Local, TimeZone};
    use proptest::prelude::*;
    use std::time::{Duration, Instant};

    /// A fixed "now": Friday 15 March 2024, 10:30 UTC.
    fn now() -> DateTime<Utc> {
        at(2024, 3, 15, 10, 30)
    }

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .expect("valid test instant")
    }

    fn day(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        at(y, m, d, 0, 0)
    }

    fn ok(input: &str) -> Query {
        ok_at(input, now())
    }

    fn ok_at(input: &str, now: DateTime<Utc>) -> Query {
        parse(input, now, true)
            .unwrap_or_else(|e| panic!("{input:?} failed: {e}\n{}", e.render(input)))
    }

    fn err(input: &str) -> ParseError {
        match parse(input, now(), true) {
            Ok(q) => panic!("{input:?} parsed as {q:?}, expected an error"),
            Err(e) => e,
        }
    }

    /// The error's span as text, to check spans readably.
    fn err_span(input: &str) -> (String, usize, usize) {
        let e = err(input);
        let text = input.get(e.start..e.end).expect("span on char boundaries");
        (text.to_string(), e.start, e.end)
    }

    fn t(field: Field, text: &str) -> Query {
        Query::Term {
            field,
            text: text.to_string(),
        }
    }

    fn w(text: &str) -> Query {
        t(Field::Any, text)
    }

    fn ph(field: Field, text: &str) -> Query {
        Query::Phrase {
            field,
            text: text.to_string(),
        }
    }

    fn not(q: Query) -> Query {
        Query::Not(Box::new(q))
    }

    fn and(v: Vec<Query>) -> Query {
        Query::And(v)
    }

    fn or(v: Vec<Query>) -> Query {
        Query::Or(v)
    }

    fn date(start: DateBound, end: DateBound) -> Query {
        Query::Date { start, end }
    }

    #[test]
    fn star_alone_is_all() {
        assert_eq!(ok("*"), Query::All);
        assert_eq!(ok("  *\u{3000}"), Query::All);
        assert_eq!(ok("* 見積"), w("見積"));
        assert_eq!(ok("* OR 見積"), Query::All);
        // `*` inside a word is text.
        assert_eq!(ok("見積*"), w("見積*"));
        assert_eq!(ok("*見積"), w("*見積"));
        assert_eq!(ok("in*ce"), w("in*ce"));
        assert_eq!(ok("A*社"), w("A*社"));
        assert_eq!(
            ok("\"請*書\""),
            Query::Phrase {
                field: Field::Any,
                text: "請*書".into()
            }
        );
    }

    #[test]
    fn a_star_between_japanese_characters_is_an_error() {
        for (q, span) in [
            ("請*書", "*"),
            ("見積 subject:請求**書", "**"),
            ("ｾｲ*ｷｭｳ", "*"),
            ("a*b 請求*書*", "*"),
        ] {
            let (text, _, _) = err_span(q);
            assert_eq!(text, span, "{q}");
            assert!(err(q).message.contains("two words"), "{q}");
        }
        let e = err("請求*書");
        assert!(e.message.ends_with("two words: 請求 書"), "{}", e.message);
        let e = err("subject:請求*書");
        assert!(
            e.message.ends_with("two words: subject:請求 subject:書"),
            "{}",
            e.message
        );
    }

    #[test]
    fn words_are_anded_and_fullwidth_space_separates() {
        assert_eq!(ok("見積 tanaka"), and(vec![w("見積"), w("tanaka")]));
        assert_eq!(
            ok("見積\u{3000}依頼\u{3000}\u{3000}至急"),
            and(vec![w("見積"), w("依頼"), w("至急")])
        );
        assert_eq!(ok("請求書"), w("請求書"));
        // Full-width parentheses are part of words: （株） is a common token.
        assert_eq!(
            ok("（株）山田商事 見積"),
            and(vec![w("（株）山田商事"), w("見積")])
        );
    }

    #[test]
    fn every_prefix() {
        let cases: Vec<(&str, Query)> = vec![
            (
                "from:tanaka@example.co.jp",
                t(Field::From, "tanaka@example.co.jp"),
            ),
            ("to:suzuki", t(Field::To, "suzuki")),
            ("cc:経理部", t(Field::Cc, "経理部")),
            ("subject:見積", t(Field::Subject, "見積")),
            ("body:納期", t(Field::Body, "納期")),
            ("attachment:請求書.pdf", t(Field::Attachment, "請求書.pdf")),
            (
                "customer:Tanaka@Example.CO.JP",
                Query::Customer("tanaka@example.co.jp".into()),
            ),
            (
                "customer:@Yamada-Shoji.jp",
                Query::Customer("yamada-shoji.jp".into()),
            ),
            (
                "customer:<Tanaka@Example.co.jp>",
                Query::Customer("tanaka@example.co.jp".into()),
            ),
            (
                "history:<Tanaka@Example.co.jp>",
                Query::History("tanaka@example.co.jp".into()),
            ),
            (
                "history:@Yamada-Shoji.jp",
                Query::History("yamada-shoji.jp".into()),
            ),
            (
                "domain:@Example.CO.JP",
                Query::Domain("example.co.jp".into()),
            ),
            ("domain:example.com", Query::Domain("example.com".into())),
            (
                "id:<20240305.1234@mail.example.co.jp>",
                Query::Id("20240305.1234@mail.example.co.jp".into()),
            ),
            ("id:abc@x", Query::Id("abc@x".into())),
            ("thread:t-00042", Query::Thread("t-00042".into())),
            ("tag:要対応", Query::Tag("要対応".into())),
            ("has:attachment", Query::HasAttachment),
            ("is:inbound", Query::Direction(Direction::Inbound)),
            ("is:outbound", Query::Direction(Direction::Outbound)),
            ("is:internal", Query::Direction(Direction::Internal)),
            (
                "mimetype:application/pdf",
                Query::MimeType("application/pdf".into()),
            ),
            ("mimetype:PDF", Query::MimeType("pdf".into())),
            (
                "date:2024",
                date(Some(day(2024, 1, 1)), Some(day(2025, 1, 1))),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(ok(input), expected, "{input}");
        }
    }

    #[test]
    fn field_names_are_case_insensitive() {
        assert_eq!(ok("FROM:Tanaka"), t(Field::From, "Tanaka"));
        assert_eq!(ok("Subject:見積"), t(Field::Subject, "見積"));
        assert_eq!(ok("HAS:Attachment"), Query::HasAttachment);
        assert_eq!(ok("IS:Outbound"), Query::Direction(Direction::Outbound));
    }

    /// An input method in full-width mode types `ｆｒｏｍ：` or `from：`: a
    /// known field so typed is that field; anything else so typed is text,
    /// as it was (a pasted `ＴＥＬ：03` or `Ｒｅ：見積` is no error).
    #[test]
    fn field_prefixes_typed_full_width_are_fields() {
        assert_eq!(ok("from：田中"), t(Field::From, "田中"));
        assert_eq!(ok("ｆｒｏｍ：田中"), t(Field::From, "田中"));
        assert_eq!(ok("ＳＵＢＪＥＣＴ:見積"), t(Field::Subject, "見積"));
        assert_eq!(ok("-subject：見積"), ok("-subject:見積"));
        assert_eq!(ok("ｔａｇ：done"), Query::Tag("done".into()));
        assert_eq!(ok("ＴＥＬ：03"), w("ＴＥＬ：03"));
        assert_eq!(ok("注意：請求書"), w("注意：請求書"));
        assert_eq!(ok("Ｒｅ：見積"), w("Ｒｅ：見積"));
        assert!(err("from：").message.contains("needs a value"));
    }

    /// A Japanese input method types `－` (U+FF0D) for `-`: before a word,
    /// a phrase, a field or a group it excludes as `-` does; inside a word,
    /// in a field's value or standing alone (`見積 － 請求書`, a separator
    /// in a pasted subject) it is text.
    #[test]
    fn a_full_width_minus_excludes_as_minus_does() {
        assert_eq!(ok("見積 －請求書"), ok("見積 -請求書"));
        assert_eq!(ok("見積　－請求書"), ok("見積 -請求書"));
        assert_eq!(ok("－請求書"), ok("-請求書"));
        assert_eq!(ok("見積 －from:田中"), ok("見積 -from:田中"));
        assert_eq!(ok("見積 －ｆｒｏｍ：田中"), ok("見積 -from:田中"));
        assert_eq!(ok("見積 －「御見積書」"), ok("見積 -「御見積書」"));
        assert_eq!(ok("見積 －\"御見積書\""), ok("見積 -\"御見積書\""));
        assert_eq!(
            ok("見積 －(請求書 OR 納品書)"),
            ok("見積 -(請求書 OR 納品書)")
        );
        assert_eq!(ok("見積 NOT －請求書"), ok("見積 NOT -請求書"));
        assert_eq!(ok("－－請求書"), w("請求書"));
        assert_eq!(ok("見積 －OR"), ok("見積 -OR"));
        assert_eq!(ok("見積－請求書"), w("見積－請求書"));
        assert_eq!(ok("from:－noreply"), t(Field::From, "－noreply"));
        assert_eq!(ok("見積 － 請求書"), and(vec![w("見積"), w("請求書")]));
        assert_eq!(ok("(見積 －)"), w("見積"));
        // The minus sign (U+2212) macOS's input method types.
        assert_eq!(ok("見積 −請求書"), ok("見積 -請求書"));
        assert_eq!(ok("見積−請求書"), w("見積−請求書"));
    }

    /// Other values typed in full width: relative dates and `today`, MIME
    /// types.
    #[test]
    fn date_and_mimetype_values_typed_full_width() {
        assert_eq!(ok("date:７ｄ"), ok("date:7d"));
        assert_eq!(ok("date:ｔｏｄａｙ"), ok("date:today"));
        assert_eq!(ok("mimetype:ＰＤＦ"), Query::MimeType("pdf".into()));
    }

    /// `is:` and `has:` values typed in full width are those values.
    #[test]
    fn is_and_has_values_typed_full_width() {
        assert_eq!(
            ok("ｉｓ：ｉｎｔｅｒｎａｌ"),
            Query::Direction(Direction::Internal)
        );
        assert_eq!(
            ok("is:ｉｎｂｏｕｎｄ"),
            Query::Direction(Direction::Inbound)
        );
        assert_eq!(
            ok("is：ＯＵＴＢＯＵＮＤ"),
            Query::Direction(Direction::Outbound)
        );
        assert_eq!(ok("has:ａｔｔａｃｈｍｅｎｔ"), Query::HasAttachment);
        assert_eq!(ok("ｈａｓ：Ａｔｔａｃｈｍｅｎｔ"), Query::HasAttachment);
        assert_eq!(ok("見積 －ｉｓ：ｉｎｔｅｒｎａｌ"), ok("見積 -is:internal"));
        // Another value is an error, which quotes and marks it as typed.
        let e = err("is:ｉｎｂｏｘ");
        assert!(e.message.contains("'ｉｎｂｏｘ'"), "{}", e.message);
        assert_eq!(err_span("is:ｉｎｂｏｘ").0, "ｉｎｂｏｘ");
        let e = err("has:ａｔｔａｃｈｍｅｎｔｓ");
        assert!(
            e.message.contains("'ａｔｔａｃｈｍｅｎｔｓ'"),
            "{}",
            e.message
        );
    }

    #[test]
    fn dates_typed_full_width_are_dates() {
        assert_eq!(ok("date:２０２４－０３"), ok("date:2024-03"));
        assert_eq!(ok("date：２０２３〜２０２４"), ok("date:2023..2024"));
        assert_eq!(
            ok("date:２０２４－０３－０５..2024-04"),
            ok("date:2024-03-05..2024-04")
        );
        // The error marks the value as typed.
        assert!(err("date:２０２４－１３").message.contains("invalid date"));
        assert_eq!(err_span("date:２０２４－１３").0, "２０２４－１３");
    }

    /// An error about a date typed in full width quotes it as typed (not
    /// as read in ASCII) and marks the part it is about.
    #[test]
    fn errors_about_full_width_dates_quote_them_as_typed() {
        for (q, quoted, span) in [
            ("date:２０２４－１３", "'２０２４－１３'", "２０２４－１３"),
            ("date:２０２４／１３", "'２０２４／１３'", "２０２４／１３"),
            (
                "date:２０２４－１３〜２０２５",
                "'２０２４－１３'",
                "２０２４－１３",
            ),
            (
                "date:2024〜２０２５－００",
                "'２０２５－００'",
                "２０２５－００",
            ),
            (
                "date:２０２４－１３..",
                "'２０２４－１３'",
                "２０２４－１３",
            ),
            (
                "date:２０２４－１－３２",
                "'２０２４－１－３２'",
                "２０２４－１－３２",
            ),
            (
                "date:２０２４－０３ｘ",
                "'２０２４－０３ｘ'",
                "２０２４－０３ｘ",
            ),
            ("date:１２３４５ｑ", "'１２３４５ｑ'", "１２３４５ｑ"),
            (
                "date:２０２５〜２０２４",
                "'２０２５〜２０２４'",
                "２０２５〜２０２４",
            ),
            ("date:２０２４〜〜", "'２０２４〜〜'", "２０２４〜〜"),
        ] {
            let e = err(q);
            assert!(e.message.contains(quoted), "{q}: {}", e.message);
            assert_eq!(err_span(q).0, span, "{q}");
        }
    }

    /// The other separator `date:` takes, typed full-width.
    #[test]
    fn dates_with_full_width_slashes_are_dates() {
        assert_eq!(ok("date:２０２４／０３"), ok("date:2024/03"));
        assert_eq!(ok("date:２０２４／３／５〜"), ok("date:2024/3/5.."));
    }

    #[test]
    fn field_values_are_taken_as_typed() {
        assert_eq!(ok("subject:OR"), t(Field::Subject, "OR"));
        assert_eq!(ok("from:-noreply"), t(Field::From, "-noreply"));
        assert_eq!(ok("subject:Re:見積"), t(Field::Subject, "Re:見積"));
        assert_eq!(ok("tag:*"), Query::Tag("*".into()));
    }

    #[test]
    fn phrase_versus_term() {
        assert_eq!(ok("\"見積 依頼\""), ph(Field::Any, "見積 依頼"));
        assert_eq!(ok("見積 依頼"), and(vec![w("見積"), w("依頼")]));
        assert_eq!(ok("subject:\"見積 依頼\""), ph(Field::Subject, "見積 依頼"));
        assert_eq!(ok("「見積　依頼」"), ph(Field::Any, "見積　依頼"));
        assert_eq!(
            ok("subject:「請求書 再送」"),
            ph(Field::Subject, "請求書 再送")
        );
        // A one-word phrase is still a phrase; operators inside quotes are text.
        assert_eq!(ok("\"tanaka\""), ph(Field::Any, "tanaka"));
        assert_eq!(ok("\"a OR b\""), ph(Field::Any, "a OR b"));
        // A quote ends a word.
        assert_eq!(
            ok("納品\"最終版\""),
            and(vec![w("納品"), ph(Field::Any, "最終版")])
        );
        assert_eq!(ok("tag:\"needs reply\""), Query::Tag("needs reply".into()));
    }

    #[test]
    fn precedence_not_and_or() {
        assert_eq!(ok("a OR b c"), or(vec![w("a"), and(vec![w("b"), w("c")])]));
        assert_eq!(ok("a b OR c"), or(vec![and(vec![w("a"), w("b")]), w("c")]));
        assert_eq!(
            ok("a AND b OR c AND d"),
            or(vec![and(vec![w("a"), w("b")]), and(vec![w("c"), w("d")])])
        );
        assert_eq!(ok("NOT a b"), and(vec![not(w("a")), w("b")]));
        assert_eq!(
            ok("NOT a OR b"),
            or(vec![and(vec![Query::All, not(w("a"))]), w("b")])
        );
        assert_eq!(
            ok("(a OR b) c"),
            and(vec![or(vec![w("a"), w("b")]), w("c")])
        );
        // Lower-case operators are words.
        assert_eq!(
            ok("a or b and not c"),
            and(vec![w("a"), w("or"), w("b"), w("and"), w("not"), w("c")])
        );
    }

    #[test]
    fn negation_forms() {
        assert_eq!(ok("-spam"), and(vec![Query::All, not(w("spam"))]));
        assert_eq!(
            ok("NOT tag:done"),
            and(vec![Query::All, not(Query::Tag("done".into()))])
        );
        assert_eq!(ok("見積 -spam"), and(vec![w("見積"), not(w("spam"))]));
        assert_eq!(
            ok("見積 -from:noreply@example.com"),
            and(vec![w("見積"), not(t(Field::From, "noreply@example.com"))])
        );
        assert_eq!(
            ok("見積 -(a OR b)"),
            and(vec![w("見積"), not(or(vec![w("a"), w("b")]))])
        );
        assert_eq!(
            ok("見積 -\"自動 返信\""),
            and(vec![w("見積"), not(ph(Field::Any, "自動 返信"))])
        );
        assert_eq!(
            ok("見積 -「自動返信」"),
            and(vec![w("見積"), not(ph(Field::Any, "自動返信"))])
        );
        assert_eq!(ok("-a -b"), and(vec![Query::All, not(w("a")), not(w("b"))]));
        assert_eq!(ok("* -spam"), and(vec![Query::All, not(w("spam"))]));
        assert_eq!(
            ok("a OR -b"),
            or(vec![w("a"), and(vec![Query::All, not(w("b"))])])
        );
        // Double negation cancels.
        assert_eq!(ok("NOT -a"), w("a"));
        assert_eq!(ok("--a"), w("a"));
        assert_eq!(ok("-(-a)"), w("a"));
        assert_eq!(
            ok("-(-a -b)"),
            and(vec![
                Query::All,
                not(and(vec![Query::All, not(w("a")), not(w("b"))]))
            ])
        );
        // After '-', operators are words; a hyphen inside a word is text.
        assert_eq!(ok("x -OR"), and(vec![w("x"), not(w("OR"))]));
        assert_eq!(ok("e-mail"), w("e-mail"));
    }

    #[test]
    fn field_applies_to_group() {
        assert_eq!(
            ok("from:(tanaka OR suzuki)"),
            or(vec![t(Field::From, "tanaka"), t(Field::From, "suzuki")])
        );
        assert_eq!(
            ok("from:(tanaka subject:見積)"),
            and(vec![t(Field::From, "tanaka"), t(Field::Subject, "見積")])
        );
        assert_eq!(
            ok("from:(\"田中 太郎\" OR suzuki -sato)"),
            or(vec![
                ph(Field::From, "田中 太郎"),
                and(vec![t(Field::From, "suzuki"), not(t(Field::From, "sato"))])
            ])
        );
        assert_eq!(
            ok("tag:(urgent OR 要対応)"),
            or(vec![
                Query::Tag("urgent".into()),
                Query::Tag("要対応".into())
            ])
        );
        assert_eq!(
            ok("見積 -from:(a OR b)"),
            and(vec![
                w("見積"),
                not(or(vec![t(Field::From, "a"), t(Field::From, "b")]))
            ])
        );
        assert_eq!(
            ok("date:(2023 OR 2024-06)"),
            or(vec![
                date(Some(day(2023, 1, 1)), Some(day(2024, 1, 1))),
                date(Some(day(2024, 6, 1)), Some(day(2024, 7, 1))),
            ])
        );
    }

    #[test]
    fn nested_groups_flatten() {
        assert_eq!(ok("a (b (c d))"), and(vec![w("a"), w("b"), w("c"), w("d")]));
        assert_eq!(ok("a OR (b OR c)"), or(vec![w("a"), w("b"), w("c")]));
        assert_eq!(ok("((a))"), w("a"));
        assert_eq!(
            ok("a (b OR c)"),
            and(vec![w("a"), or(vec![w("b"), w("c")])])
        );
    }

    #[test]
    fn colon_text_that_is_not_a_field() {
        assert_eq!(ok("10:30"), w("10:30"));
        assert_eq!(
            ok("https://example.co.jp/order?id=3"),
            w("https://example.co.jp/order?id=3")
        );
        assert_eq!(ok("請求:"), w("請求:"));
        assert_eq!(ok("会議:10:30"), w("会議:10:30"));
        assert_eq!(ok("a1:b"), w("a1:b"));
        assert_eq!(ok(":foo"), w(":foo"));
        // Reply/forward markers pasted from a subject.
        assert_eq!(ok("Re:見積"), w("Re:見積"));
        assert_eq!(ok("RE:"), w("RE:"));
        assert_eq!(
            ok("Fwd:請求書 from:tanaka"),
            and(vec![w("Fwd:請求書"), t(Field::From, "tanaka")])
        );
        // Any other unknown prefix is still an error.
        assert_eq!(err_span("foo:x").0, "foo:");
    }

    #[test]
    fn dates_days_months_years_utc() {
        assert_eq!(
            ok("date:2024-03-05"),
            date(Some(day(2024, 3, 5)), Some(day(2024, 3, 6)))
        );
        assert_eq!(
            ok("date:2024/3/5"),
            date(Some(day(2024, 3, 5)), Some(day(2024, 3, 6)))
        );
        // Month and year boundaries.
        assert_eq!(
            ok("date:2024-12"),
            date(Some(day(2024, 12, 1)), Some(day(2025, 1, 1)))
        );
        assert_eq!(
            ok("date:2023-12-31"),
            date(Some(day(2023, 12, 31)), Some(day(2024, 1, 1)))
        );
        assert_eq!(
            ok("date:2024-01-31"),
            date(Some(day(2024, 1, 31)), Some(day(2024, 2, 1)))
        );
        // Leap years.
        assert_eq!(
            ok("date:2024-02-29"),
            date(Some(day(2024, 2, 29)), Some(day(2024, 3, 1)))
        );
        assert_eq!(
            ok("date:2024-02"),
            date(Some(day(2024, 2, 1)), Some(day(2024, 3, 1)))
        );
        assert_eq!(
            ok("date:2023"),
            date(Some(day(2023, 1, 1)), Some(day(2024, 1, 1)))
        );
    }

    #[test]
    fn dates_ranges_and_open_ranges_utc() {
        assert_eq!(
            ok("date:2024-01..2024-03-31"),
            date(Some(day(2024, 1, 1)), Some(day(2024, 4, 1)))
        );
        assert_eq!(
            ok("date:2023-12..2024-01"),
            date(Some(day(2023, 12, 1)), Some(day(2024, 2, 1)))
        );
        assert_eq!(
            ok("date:2022..2023"),
            date(Some(day(2022, 1, 1)), Some(day(2024, 1, 1)))
        );
        assert_eq!(
            ok("date:2024-03..2024-03-05"),
            date(Some(day(2024, 3, 1)), Some(day(2024, 3, 6)))
        );
        assert_eq!(ok("date:2024-06.."), date(Some(day(2024, 6, 1)), None));
        assert_eq!(ok("date:..2023"), date(None, Some(day(2024, 1, 1))));
        assert_eq!(ok("date:..2024-02"), date(None, Some(day(2024, 3, 1))));
        assert_eq!(
            ok("date:\"2024-01..2024-01-15\""),
            date(Some(day(2024, 1, 1)), Some(day(2024, 1, 16)))
        );
    }

    #[test]
    fn dates_in_the_local_zone() {
        let local_midnight = |y, m, d| {
            Local
                .with_ymd_and_hms(y, m, d, 0, 0, 0)
                .earliest()
                .expect("local midnight exists")
                .with_timezone(&Utc)
        };
        let q = parse("date:2024-03-05", now(), false).expect("parses");
        assert_eq!(
            q,
            date(
                Some(local_midnight(2024, 3, 5)),
                Some(local_midnight(2024, 3, 6))
            )
        );
        let q = parse("date:..2023-12", now(), false).expect("parses");
        assert_eq!(q, date(None, Some(local_midnight(2024, 1, 1))));
    }

    #[test]
    fn dates_in_japan_time() {
        let parse_jst = |s: &str, now| parse_in(s, now, Zone::japan()).expect("parses");
        assert_eq!(
            parse_jst("date:2024-03-05", now()),
            date(Some(at(2024, 3, 4, 15, 0)), Some(at(2024, 3, 5, 15, 0)))
        );
        // 20:00 UTC on 31 December is already 1 January in Japan.
        let late = at(2023, 12, 31, 20, 0);
        assert_eq!(
            parse_jst("date:today", late),
            date(Some(at(2023, 12, 31, 15, 0)), Some(at(2024, 1, 1, 15, 0)))
        );
        assert_eq!(
            parse_jst("date:yesterday", late),
            date(Some(at(2023, 12, 30, 15, 0)), Some(at(2023, 12, 31, 15, 0)))
        );
    }

    #[test]
    fn relative_dates() {
        let end_of_march = at(2024, 3, 31, 10, 30);
        let since = |s: &str| ok_at(s, end_of_march);
        assert_eq!(since("date:12h"), date(Some(at(2024, 3, 30, 22, 30)), None));
        assert_eq!(since("date:7d"), date(Some(at(2024, 3, 24, 10, 30)), None));
        assert_eq!(since("date:2w"), date(Some(at(2024, 3, 17, 10, 30)), None));
        // Calendar months: a month before 31 March is 29 February (2024 is leap).
        assert_eq!(since("date:1m"), date(Some(at(2024, 2, 29, 10, 30)), None));
        assert_eq!(since("date:3m"), date(Some(at(2023, 12, 31, 10, 30)), None));
        assert_eq!(since("date:1y"), date(Some(at(2023, 3, 31, 10, 30)), None));
        assert_eq!(
            since("date:today"),
            date(Some(day(2024, 3, 31)), Some(day(2024, 4, 1)))
        );
        assert_eq!(
            since("date:TODAY"),
            date(Some(day(2024, 3, 31)), Some(day(2024, 4, 1)))
        );
        assert_eq!(
            since("date:yesterday"),
            date(Some(day(2024, 3, 30)), Some(day(2024, 3, 31)))
        );
        assert_eq!(
            ok_at("date:yesterday", at(2024, 1, 1, 5, 0)),
            date(Some(day(2023, 12, 31)), Some(day(2024, 1, 1)))
        );
        assert_eq!(
            since("date:30d..7d"),
            date(Some(at(2024, 3, 1, 10, 30)), Some(at(2024, 3, 24, 10, 30)))
        );
        assert_eq!(
            since("date:2024-03..yesterday"),
            date(Some(day(2024, 3, 1)), Some(day(2024, 3, 31)))
        );
    }

    #[test]
    fn date_errors_point_at_the_value() {
        let (text, s, e) = err_span("date:2023-02-29");
        assert_eq!((text.as_str(), s, e), ("2023-02-29", 5, 15));
        assert!(err("date:2023-02-29").message.contains("invalid date"));
        assert_eq!(err_span("date:2024-13-01").0, "2024-13-01");
        assert_eq!(err_span("date:2024-13").0, "2024-13");
        assert_eq!(err_span("見積 date:2024-02-30").1, 12);
        // In a range, the bad end.
        assert_eq!(
            err_span("date:2024-01..2023-02-29"),
            ("2023-02-29".to_string(), 14, 24)
        );
        let e = err("date:2024-03-05..2024-03-01");
        assert_eq!((e.start, e.end), (5, 27));
        assert!(e.message.contains("ends before it starts"), "{}", e.message);
        assert_eq!(err_span("date:..").0, "..");
        assert_eq!(err_span("date:last-week").0, "last-week");
        assert_eq!(err_span("date:24-03-05").0, "24-03-05");
        assert_eq!(err_span("date:99999999999d").0, "99999999999d");
        assert_eq!(err_span("date:7d..7d").0, "7d..7d");
        // The message quotes the value as typed, not lower-cased.
        for (q, quoted) in [
            ("date:2024-03-05T10:00", "'2024-03-05T10:00' is not a date"),
            ("date:2024..Last-Week", "'Last-Week' is not a date"),
            ("date:2024-02-30..2024", "invalid date '2024-02-30'"),
            ("date:99999999999D", "'99999999999D' reaches"),
        ] {
            let e = err(q);
            assert!(e.message.contains(quoted), "{q}: {}", e.message);
        }
    }

    #[test]
    fn has_rejects_other_values() {
        let e = err("has:pdf");
        assert_eq!((e.start, e.end), (4, 7));
        assert!(e.message.contains("has:attachment"), "{}", e.message);
    }

    #[test]
    fn is_takes_the_three_directions_only() {
        let e = err("見積 is:sent");
        assert_eq!((e.start, e.end), (10, 14));
        for d in ["is:inbound", "is:outbound", "is:internal"] {
            assert!(e.message.contains(d), "{}", e.message);
        }
        assert_eq!(
            ok("-is:inbound"),
            Query::And(vec![
                Query::All,
                Query::Not(Box::new(Query::Direction(Direction::Inbound)))
            ])
        );
        assert!(ok("見積 OR -is:internal").needs_configuration());
        assert!(!ok("見積 OR has:attachment").needs_configuration());
        assert!(ok("見積 (history:x.jp OR tag:a)").needs_configuration());
        assert!(!ok("customer:x.jp").needs_configuration());
        assert!(ok("見積 -(tag:a OR history:x.jp)").has_history());
        assert!(!ok("見積 is:internal").has_history());
        let e = err("history:*.co.jp");
        assert!(e.message.contains("one customer"), "{}", e.message);
        assert_eq!((e.start, e.end), (8, 15));
    }

    #[test]
    fn unknown_field_is_named_and_known_ones_listed() {
        let e = err("見積 foo:bar");
        assert_eq!((e.start, e.end), (7, 11));
        assert!(e.message.contains("'foo:'"), "{}", e.message);
        for f in [
            "from:",
            "subject:",
            "customer:",
            "date:",
            "has:",
            "mimetype:",
        ] {
            assert!(e.message.contains(f), "{} lacks {f}", e.message);
        }
        assert_eq!(err_span("Ref:見積").0, "Ref:");
    }

    #[test]
    fn structural_errors_have_exact_spans() {
        let cases: &[(&str, &str, usize, usize)] = &[
            ("(a OR b", "(", 0, 1),
            ("a (b (c)", "(", 2, 3),
            ("a OR b)", ")", 6, 7),
            (")", ")", 0, 1),
            ("\"見積", "\"見積", 0, 7),
            ("subject:「見積 依頼", "「見積 依頼", 8, 24),
            ("from:", "from:", 0, 5),
            ("from: tanaka", "from:", 0, 5),
            ("(from:)", "from:", 1, 6),
            ("見積 to:　田中", "to:", 7, 10),
            ("OR a", "OR", 0, 2),
            ("AND a", "AND", 0, 3),
            ("a OR", "OR", 2, 4),
            ("a AND", "AND", 2, 5),
            ("a NOT", "NOT", 2, 5),
            ("a OR OR b", "OR", 2, 4),
            ("a AND OR b", "AND", 2, 5),
            ("(OR a)", "OR", 1, 3),
            ("(a OR)", "OR", 3, 5),
            ("()", "()", 0, 2),
            ("from:()", "()", 5, 7),
            ("- a", "-", 0, 1),
            ("a -", "-", 2, 3),
            ("\"\"", "\"\"", 0, 2),
            ("「 」", "「 」", 0, 7),
        ];
        for &(input, text, start, end) in cases {
            assert_eq!(err_span(input), (text.to_string(), start, end), "{input}");
        }
    }

    /// A part that repeats another of its `And` or `Or` is left out: each
    /// is run on its own, so 3,333 copies of `*a` (every term of seven
    /// fields read for each) took 6 s on a synthetic archive of 12,000
    /// messages.
    #[test]
    fn a_repeated_part_is_searched_once() {
        assert_eq!(ok("invoice invoice"), w("invoice"));
        assert_eq!(ok("invoice OR invoice AND invoice"), w("invoice"));
        assert_eq!(ok(&["*a"; 3333].join(" ")), w("*a"));
        assert_eq!(
            ok("見積 -spam 見積 -spam OR (見積 -spam)"),
            and(vec![w("見積"), not(w("spam"))])
        );
        assert_eq!(
            ok("is:inbound (請求 OR 見積) is:inbound (見積 OR 請求)"),
            and(vec![
                Query::Direction(Direction::Inbound),
                or(vec![w("請求"), w("見積")]),
                or(vec![w("見積"), w("請求")]),
            ])
        );
        // Not the same: kept.
        assert_eq!(
            ok("subject:見積 見積 \"見積\""),
            and(vec![
                t(Field::Subject, "見積"),
                w("見積"),
                ph(Field::Any, "見積")
            ])
        );
    }

    #[test]
    fn text_with_nothing_searchable_is_left_out() {
        let invoice = w("invoice");
        for input in [
            "invoice &",
            "& invoice",
            "invoice -&",
            "invoice NOT ・",
            "invoice OR &",
            "invoice AND /",
            "invoice \"、\"",
            "invoice 「・」",
            "subject:・ invoice",
            "invoice (& OR ・)",
            "invoice -(& ・)",
            "invoice from:(& OR /)",
            "--& invoice",
        ] {
            assert_eq!(ok(input), invoice, "{input}");
        }
        assert_eq!(ok("請求書 ・ 見積"), and(vec![w("請求書"), w("見積")]));
        assert_eq!(ok("from:(& OR tanaka) -・"), t(Field::From, "tanaka"));
        assert_eq!(ok("-spam OR &"), and(vec![Query::All, not(w("spam"))]));
        assert_eq!(ok("NOT (-spam OR &)"), w("spam"));
        assert_eq!(ok("* &"), Query::All);
        assert_eq!(ok("* -&"), Query::All);
        // Searchable: symbols around a word, a one-character kanji, a
        // circled digit, an enclosed ideograph, an overlong word.
        for input in ["&invoice", "・株", "①", "㈱", &"x".repeat(100)] {
            assert!(
                matches!(ok(input), Query::Term { .. }),
                "{input}: {:?}",
                ok(input)
            );
        }
        // Not text: left as typed.
        assert_eq!(
            ok("invoice tag:&"),
            and(vec![invoice, Query::Tag("&".into())])
        );
    }

    #[test]
    fn a_query_with_nothing_searchable_is_an_error() {
        for (input, span) in [
            ("&", "&"),
            ("  ・ 、 ", "・ 、"),
            ("-&", "-&"),
            ("NOT /", "NOT /"),
            ("\"、\"", "\"、\""),
            ("subject:・", "subject:・"),
            ("(& OR /)", "(& OR /)"),
            ("from:(& ・) -、", "from:(& ・) -、"),
        ] {
            assert_eq!(err_span(input).0, span, "{input}");
            assert!(
                err(input).message.contains("nothing to search for"),
                "{input}"
            );
        }
    }

    #[test]
    fn empty_query_is_an_error() {
        for input in ["", "   ", "\u{3000}\u{3000}", "\t"] {
            let e = err(input);
            assert_eq!((e.start, e.end), (0, input.len()));
            assert!(e.message.contains("empty query"));
        }
    }

    #[test]
    fn nesting_limit() {
        let deep = |n: usize| format!("{}a{}", "(".repeat(n), ")".repeat(n));
        assert_eq!(ok(&deep(MAX_DEPTH)), w("a"));
        let e = err(&deep(MAX_DEPTH + 1));
        assert_eq!((e.start, e.end), (MAX_DEPTH, MAX_DEPTH + 1));
        assert!(e.message.contains("nested"), "{}", e.message);
        let nots = format!("{}a", "NOT ".repeat(MAX_DEPTH + 1));
        assert_eq!(err(&nots).start, 4 * MAX_DEPTH);
    }

    #[test]
    fn length_limit() {
        let exactly = "a ".repeat(MAX_QUERY_BYTES / 2);
        assert_eq!(exactly.len(), MAX_QUERY_BYTES);
        // (Its 5,000 words are one: repeats are left out.)
        assert_eq!(ok(&exactly), w("a"));
        let over = format!("{exactly}b");
        let e = err(&over);
        assert_eq!((e.start, e.end), (MAX_QUERY_BYTES, MAX_QUERY_BYTES + 1));
        // The span starts on a character boundary even inside a multi-byte character.
        let cjk = "見".repeat(MAX_QUERY_BYTES / 3 + 1);
        let e = err(&cjk);
        assert!(cjk.is_char_boundary(e.start) && e.start <= MAX_QUERY_BYTES);
        assert_eq!(e.end, cjk.len());
    }

    #[test]
    fn deeply_nested_10k_input_fails_fast() {
        let inputs = [
            "(".repeat(MAX_QUERY_BYTES),
            format!("{}a{}", "(".repeat(4999), ")".repeat(5000)),
            "-".repeat(MAX_QUERY_BYTES - 1) + "a",
            "NOT ".repeat(MAX_QUERY_BYTES / 4 - 1) + "a",
            "from:(".repeat(MAX_QUERY_BYTES / 6) + "a",
        ];
        for input in &inputs {
            assert!(input.len() <= MAX_QUERY_BYTES);
            let started = Instant::now();
            let e = err(input);
            assert!(started.elapsed() < Duration::from_secs(1));
            assert!(e.message.contains("nested"), "{}", e.message);
        }
    }

    #[test]
    fn render_underlines_in_display_columns() {
        let input = "見積 foo:bar";
        let e = err(input);
        assert_eq!(e.render(input), "見積 foo:bar\n     ^^^^");
        let input = "subject:「見積 from:田中";
        let e = err(input);
        assert_eq!(
            e.render(input),
            "subject:「見積 from:田中\n        ^^^^^^^^^^^^^^^^"
        );
        // Tabs and line breaks are shown as spaces so the columns line up.
        let input = "請求書\tdate:2023-02-29";
        let e = err(input);
        assert_eq!(
            e.render(input),
            "請求書 date:2023-02-29\n            ^^^^^^^^^^"
        );
        // An empty span at the end gets one mark after the text.
        let e = ParseError::new("x", 6, 6);
        assert_eq!(e.render("見積"), "見積\n    ^");
    }

    #[test]
    fn display_and_error() {
        let e = err("from:");
        assert_eq!(e.to_string(), e.message);
        assert!(e.to_string().contains("from:"));
        let boxed: Box<dyn std::error::Error> = Box::new(e);
        assert!(boxed.to_string().contains("value"));
    }

    /// Every `Not` is a direct child of an `And` with a non-negated child.
    fn check_negations(q: &Query, in_positive_and: bool) -> Result<(), String> {
        match q {
            Query::Not(inner) => {
                if !in_positive_and {
                    return Err(format!("bare Not: {q:?}"));
                }
                check_negations(inner, false)
            }
            Query::And(v) => {
                if v.len() < 2 {
                    return Err(format!("short And: {q:?}"));
                }
                let positive = v.iter().any(|c| !matches!(c, Query::Not(_)));
                v.iter().try_for_each(|c| check_negations(c, positive))
            }
            Query::Or(v) => {
                if v.len() < 2 {
                    return Err(format!("short Or: {q:?}"));
                }
                v.iter().try_for_each(|c| check_negations(c, false))
            }
            _ => Ok(()),
        }
    }

    fn check_result(input: &str) -> Result<(), TestCaseError> {
        match parse(input, now(), true) {
            Ok(q) => {
                check_negations(&q, false).map_err(TestCaseError::fail)?;
            }
            Err(e) => {
                prop_assert!(e.start <= e.end && e.end <= input.len(), "{e:?}");
                prop_assert!(input.is_char_boundary(e.start) && input.is_char_boundary(e.end));
                let shown = e.render(input);
                prop_assert_eq!(shown.lines().count(), 2);
            }
        }
        Ok(())
    }

    fn query_piece() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "a",
            "見積",
            "田中",
            "\"",
            "「",
            "」",
            "(",
            ")",
            ":",
            "-",
            " ",
            "\u{3000}",
            "\t",
            "AND",
            "OR",
            "NOT",
            "and",
            "*",
            "from:",
            "subject:",
            "has:",
            "date:",
            "tag:",
            "foo:",
            "2024",
            "-02-29",
            "..",
            "7d",
            "@",
            "<",
            ">",
            "10:30",
            "https://x",
        ])
    }

    proptest! {
        #[test]
        fn pieces_never_panic(pieces in prop::collection::vec(query_piece(), 0..40)) {
            check_result(&pieces.concat())?;
        }

        #[test]
        fn arbitrary_text_never_panics(input in "[a-zA-Z0-9 \"()「」:\\-.*@<>見積依頼　\\t]{0,60}") {
            check_result(&input)?;
        }

        #[test]
        fn any_unicode_never_panics(input in any::<String>()) {
            check_result(&input)?;
        }
    }
}
