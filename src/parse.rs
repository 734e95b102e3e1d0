//! One raw message to the metadata kura stores and the text it indexes.
//!
//! mail-parser does the MIME work; [`crate::charset`] redoes what it decodes
//! wrong (Japanese labels, raw 8-bit or ISO-2022-JP headers, missing labels).
//! A message is rejected, with a reason, only when it cannot be mail at all
//! (empty, no header) or when it is over a limit: [`MAX_MESSAGE_SIZE`],
//! [`MAX_PARTS`], [`MAX_NESTING`], [`MAX_CONTINUATIONS`].
//!
//! mail-parser builds forwarded messages (message/rfc822) as a tree that it
//! drops recursively, and parses base64 or quoted-printable forwarded messages
//! recursively: a message nesting thousands of forwarded messages overflows
//! the stack and aborts the process. [`parse_mime`] measures the nesting before
//! (encoded parts, by a cheap scan of the raw bytes) and after (the tree,
//! without recursion) parsing, rejects what is too deep, and takes a rejected
//! tree apart without recursion.

use std::borrow::Cow;

use crate::charset;
use crate::threads::{refs, subject};
use crate::zone::Zone;
use mail_parser::{
    Address, HeaderName, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType,
};

/// Messages larger than this are rejected (stored raw, listed by `kura rejects`).
pub const MAX_MESSAGE_SIZE: usize = 64 << 20;
/// Text indexed per message is cut at this many bytes (the original is kept whole).
pub const MAX_INDEXED_TEXT: usize = 1 << 20;
/// Forwarded messages nested deeper than this are not indexed as text.
pub const MAX_NESTED_MESSAGES: usize = 8;
/// Messages with more parts than this are rejected (MIME bombs).
pub const MAX_PARTS: usize = 10_000;

/// Messages nesting forwarded messages (message/rfc822 inside message/rfc822
/// ...) deeper than this are rejected: mail-parser recurses once per level.
pub const MAX_NESTING: usize = 100;
/// Forwarded messages sent base64 or quoted-printable encoded (mail-parser
/// decodes and parses them recursively) are scanned before parsing; a message
/// with more such parts than this (at all levels) is rejected.
const MAX_ENCODED_MESSAGES: usize = 16;
/// Messages with more RFC 2231 continuations (`name*1=`, `name*2*=`...) than
/// this in one Content-Type or Content-Disposition field are rejected:
/// mail-parser joins each to all the value before it, in time quadratic in
/// their number (a long file name takes a few dozen).
pub const MAX_CONTINUATIONS: usize = 256;

/// Dates before this (1980-01-01) are taken as absurd.
const MIN_SANE_DATE: i64 = 315_532_800;

/// A mailbox: display name and address, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mailbox {
    pub name: String,
    /// Lower-cased address (`local@domain`); may be empty for a group or garbage.
    pub address: String,
}

/// One attachment's description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    pub mime: String,
    pub size: u64,
}

/// Where a message's date came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateSource {
    /// The Date: header.
    Header,
    /// The Date: header written without a zone, read in the local zone of
    /// the import (no Received: date to place it by): another zone would
    /// read another instant, so a reindex keeps the one recorded.
    LocalHeader,
    /// The newest Received: header (Date missing or absurd).
    Received,
    /// When the mail was filed: its mbox `From ` line's date, else the file's
    /// modification time (no usable header).
    FileTime,
    /// Nothing usable: date 0.
    Unknown,
}

impl DateSource {
    /// The source [`DateSource::as_str`] names.
    pub fn from_name(name: &str) -> Option<DateSource> {
        [
            DateSource::Header,
            DateSource::LocalHeader,
            DateSource::Received,
            DateSource::FileTime,
            DateSource::Unknown,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DateSource::Header => "date",
            DateSource::LocalHeader => "date-local",
            DateSource::Received => "received",
            DateSource::FileTime => "file",
            DateSource::Unknown => "unknown",
        }
    }
}

/// What kura keeps of a message besides its original bytes.
#[derive(Debug, Clone)]
pub struct ParsedMessage {
    /// Message-ID without angle brackets; synthetic when the mail has none.
    pub message_id: String,
    pub synthetic_id: bool,
    /// The id earlier versions gave this message, when it is another
    /// (`earlier_message_id`): a copy they stored is this message.
    pub earlier_id: Option<String>,
    /// Unix seconds.
    pub date: i64,
    pub date_source: DateSource,
    pub from: Option<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub reply_to: Vec<Mailbox>,
    pub subject: String,
    pub subject_info: subject::SubjectInfo,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// Decoded text: plain-text bodies (HTML converted when there is no plain
    /// text), and the headers and text of forwarded message/rfc822 parts.
    pub text: String,
    /// Where in `text` the forwarded message/rfc822 parts begin (all come
    /// after the message's own bodies); `text.len()` when there are none.
    pub forwarded_at: usize,
    /// `text` cut into the message's own lines and what it quotes or
    /// forwards ([`crate::quotes::parts_of`], worked out once): the end of
    /// each run, and whether it is quoted. See [`ParsedMessage::parts`].
    pub runs: Vec<(usize, bool)>,
    pub attachments: Vec<Attachment>,
    /// The organisation the signature of its own text names
    /// ([`crate::signature::organisation`]).
    pub organisation: Option<String>,
    /// Identity of the content, for telling a duplicate from a conflict:
    /// hash of From, To, Cc, Subject, Date and the body.
    pub content_hash: [u8; 32],
}

impl ParsedMessage {
    /// The text cut into the message's own lines and what it quotes or
    /// forwards, as [`crate::quotes::parts_of`] cuts it.
    pub fn parts(&self) -> Vec<crate::quotes::Part<'_>> {
        let mut parts = Vec::with_capacity(self.runs.len());
        let mut start = 0;
        for &(end, quoted) in &self.runs {
            match self.text.get(start..end) {
                Some(text) => parts.push(crate::quotes::Part { quoted, text }),
                // The text was changed after it was cut: cut it again.
                None => return crate::quotes::parts_of(&self.text, self.forwarded_at),
            }
            start = end;
        }
        if start != self.text.len() {
            return crate::quotes::parts_of(&self.text, self.forwarded_at);
        }
        parts
    }

    /// Referenced Message-IDs (References then In-Reply-To), deduplicated, without self.
    pub fn thread_refs(&self) -> Vec<String> {
        crate::threads::refs::thread_refs(
            &self.message_id,
            self.references.iter().chain(&self.in_reply_to),
        )
    }
}

/// Why a message was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub reason: String,
}

fn reject(reason: impl Into<String>) -> Reject {
    Reject {
        reason: reason.into(),
    }
}

/// The mail-parser configuration kura uses: the MIME headers (to read the
/// body), Subject and the address headers are parsed; every other header is
/// kept raw. Message-ID, References and In-Reply-To are read from their raw
/// bytes ([`refs`]), the Received dates only when Date is missing
/// (`received_date`), so parsing them on every message was wasted work. Date
/// is read from its raw bytes too (`read_date`), and must be: mail-parser's
/// date parser runs past the end of a Date that ends in a one-letter zone
/// (`Z`, military letters) and, on LF-ended mail, a two-letter word (`UT`,
/// `am`), and takes the next header line for part of the date, losing it
/// (the From, often). Built once: building it fills a hash map of header
/// parsers.
pub fn parser() -> &'static MessageParser {
    static PARSER: std::sync::LazyLock<MessageParser> = std::sync::LazyLock::new(|| {
        MessageParser::new()
            .with_minimal_headers()
            .header_raw(HeaderName::Date)
    });
    &PARSER
}

/// The configuration of earlier versions, which let mail-parser parse Date:
/// how they read a message whose Date mail-parser runs past is how they
/// named it ([`earlier_message_id`]).
fn parser_with_parsed_dates() -> &'static MessageParser {
    static PARSER: std::sync::LazyLock<MessageParser> =
        std::sync::LazyLock::new(|| MessageParser::new().with_minimal_headers());
    &PARSER
}

/// Parses `raw`. `file_time` (unix seconds) is the fallback date: when the
/// mail was filed (an mbox `From ` line's date, else the file's modification time).
pub fn parse_message(raw: &[u8], file_time: Option<i64>) -> Result<ParsedMessage, Reject> {
    if raw.len() > MAX_MESSAGE_SIZE {
        // Readers keep one byte past the limit, not the whole message.
        let mib = MAX_MESSAGE_SIZE >> 20;
        return Err(reject(format!(
            "message over the {mib} MiB limit (its first {mib} MiB are kept)"
        )));
    }
    if raw.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(reject("empty message"));
    }
    let normalized = mail_bytes(raw);
    let raw: &[u8] = &normalized;
    if !starts_with_header(raw) {
        if crate::outlook::is_compound_file(raw) {
            return Err(reject(if crate::outlook::read(raw, 0).is_some() {
                "an Outlook message (.msg), not MIME mail: save it from Outlook as \
                 .eml, or export the folder (PST files convert to mbox with readpst)"
            } else {
                "a Compound File (an Office 97 document?), not mail"
            }));
        }
        return Err(reject("no mail header at the start of the message"));
    }
    let msg = parse_mime(raw)?;
    let known = msg.headers().iter().any(|h| {
        matches!(
            h.name,
            HeaderName::From
                | HeaderName::To
                | HeaderName::Cc
                | HeaderName::Subject
                | HeaderName::Date
                | HeaderName::MessageId
                | HeaderName::Received
                | HeaderName::ContentType
                | HeaderName::Sender
                | HeaderName::ReturnPath
                | HeaderName::MimeVersion
        )
    });
    if !known {
        return Err(reject(
            "no mail header (From, To, Subject, Date, Message-ID, Received...)",
        ));
    }

    let subject = header_text(&msg, HeaderName::Subject).unwrap_or_default();
    let from = addresses(&msg, HeaderName::From).into_iter().next();
    let to = addresses(&msg, HeaderName::To);
    let cc = addresses(&msg, HeaderName::Cc);
    let reply_to = addresses(&msg, HeaderName::ReplyTo);
    let references = raw_header(&msg, HeaderName::References)
        .map(|v| refs::message_ids(&v))
        .unwrap_or_default();
    let in_reply_to = raw_header(&msg, HeaderName::InReplyTo)
        .map(|v| refs::message_ids(&v))
        .unwrap_or_default();

    let written_date = raw_header_bytes(&msg, HeaderName::Date).map(|v| (v, read_date(v)));
    let content_hash = content_hash(&msg, raw, &written_date, from.as_ref(), &to, &cc, &subject);
    let (message_id, synthetic_id) =
        match raw_header(&msg, HeaderName::MessageId).and_then(|v| refs::normalize_id(&v)) {
            Some(id) => (id, false),
            None => (synthetic_message_id(&synthetic_id_hash(&msg, raw)), true),
        };
    let earlier_id = earlier_message_id(&msg).filter(|id| *id != message_id);
    let (date, date_source) = message_date(&msg, written_date.and_then(|(_, d)| d), file_time);

    let mut text = String::new();
    let mut attachments = Vec::new();
    let mut forwarded_at = None;
    collect(&msg, &mut text, &mut attachments, &mut forwarded_at, 0);
    if text.len() > MAX_INDEXED_TEXT {
        let mut cut = MAX_INDEXED_TEXT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    let forwarded_at = forwarded_at.map_or(text.len(), |at| at.min(text.len()));
    let parts = crate::quotes::parts_of(&text, forwarded_at);
    let organisation = crate::signature::organisation(&parts);
    let mut end = 0;
    let runs = parts
        .iter()
        .map(|p| {
            end += p.text.len();
            (end, p.quoted)
        })
        .collect();

    Ok(ParsedMessage {
        message_id,
        synthetic_id,
        earlier_id,
        date,
        date_source,
        from,
        to,
        cc,
        reply_to,
        subject_info: subject::analyze(&subject),
        subject,
        in_reply_to,
        references,
        text,
        forwarded_at,
        runs,
        attachments,
        organisation,
        content_hash,
    })
}

/// The UTF-8 byte order mark.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// `raw` past a UTF-8 byte order mark and blank lines: what some Windows
/// tools and mailbox splitters leave before the first line of mail.
pub fn past_bom_and_blank_lines(raw: &[u8]) -> &[u8] {
    let s = raw.strip_prefix(UTF8_BOM).unwrap_or(raw);
    let start = s
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(s.len());
    &s[start..]
}

/// The bytes of an original as the MIME parser is given them: without a
/// UTF-8 byte order mark or blank lines before the first header (left by some
/// Windows tools and mailbox splitters; the parser would take a blank line for
/// the end of an empty header), and with bare-CR line ends made LF (see
/// [`cr_line_endings`]). The original itself is stored as it is.
pub fn mail_bytes(raw: &[u8]) -> Cow<'_, [u8]> {
    let raw = past_bom_and_blank_lines(raw);
    match cr_line_endings(raw) {
        Some(lf) => Cow::Owned(lf),
        None => Cow::Borrowed(raw),
    }
}

/// Old Mac mail ends lines with a bare CR, which mail-parser does not take for
/// a line end (the whole message becomes one header). When the first line
/// ends with a bare CR, returns a copy with every bare CR turned into LF.
pub fn cr_line_endings(raw: &[u8]) -> Option<Vec<u8>> {
    let first = memchr::memchr2(b'\r', b'\n', raw)?;
    if raw.get(first) != Some(&b'\r') || raw.get(first + 1) == Some(&b'\n') {
        return None;
    }
    let mut out = raw.to_vec();
    for i in memchr::memchr_iter(b'\r', raw) {
        if raw.get(i + 1) != Some(&b'\n')
            && let Some(b) = out.get_mut(i)
        {
            *b = b'\n';
        }
    }
    Some(out)
}

/// Parses `raw` with mail-parser, protected against what would crash it:
/// forwarded messages nested deeper than [`MAX_NESTING`] (also inside base64
/// or quoted-printable forwarded messages), more than [`MAX_PARTS`] parts, and
/// a panic inside mail-parser, are rejected with a reason.
pub fn parse_mime(raw: &[u8]) -> Result<Message<'_>, Reject> {
    parse_mime_with(parser(), raw)
}

/// [`parse_mime`] with the mail-parser configuration `mime_parser`.
fn parse_mime_with<'r>(mime_parser: &MessageParser, raw: &'r [u8]) -> Result<Message<'r>, Reject> {
    let mut budget = MAX_ENCODED_MESSAGES;
    let mut continuations = most_continuations(raw);
    let hidden = encoded_nesting(raw, 0, &mut budget, &mut continuations);
    if continuations > MAX_CONTINUATIONS {
        return Err(reject(format!(
            "more than {MAX_CONTINUATIONS} RFC 2231 continuations in one Content-Type or Content-Disposition field"
        )));
    }
    if hidden == usize::MAX {
        return Err(reject(format!(
            "more than {MAX_ENCODED_MESSAGES} base64 or quoted-printable forwarded messages"
        )));
    }
    if hidden > MAX_NESTING {
        return Err(reject(format!(
            "encoded forwarded messages nest more than {MAX_NESTING} messages"
        )));
    }
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| mime_parser.parse(raw)));
    let msg = match parsed {
        Ok(Some(m)) => m,
        Ok(None) => return Err(reject("not a mail message (no header could be parsed)")),
        Err(_) => return Err(reject("the MIME parser failed on this message")),
    };
    let depth = nesting(&msg);
    if depth > MAX_NESTING {
        dismantle(msg);
        return Err(reject(format!(
            "forwarded messages nested more than {MAX_NESTING} levels deep"
        )));
    }
    if msg.parts.len() > MAX_PARTS {
        dismantle(msg);
        return Err(reject(format!("more than {MAX_PARTS} MIME parts")));
    }
    Ok(msg)
}

/// How deep forwarded messages nest in `msg` (0: none), measured without
/// recursion.
fn nesting(msg: &Message<'_>) -> usize {
    let mut deepest = 0;
    let mut todo = vec![(msg, 0usize)];
    while let Some((m, depth)) = todo.pop() {
        deepest = deepest.max(depth);
        for part in &m.parts {
            if let PartType::Message(inner) = &part.body {
                todo.push((inner, depth + 1));
            }
        }
    }
    deepest
}

/// Drops a message tree without recursion (mail-parser's drop recurses once
/// per nested message).
fn dismantle(msg: Message<'_>) {
    let mut todo = vec![msg];
    while let Some(mut m) = todo.pop() {
        for part in &mut m.parts {
            if matches!(part.body, PartType::Message(_))
                && let PartType::Message(inner) =
                    std::mem::replace(&mut part.body, PartType::Text("".into()))
            {
                todo.push(inner);
            }
        }
    }
}

/// Lower-cased ASCII needles found case-insensitively.
///
/// The scan looks for the needle's first byte that is not a letter (`-` in
/// `content-transfer-encoding`, `/` in `multipart/digest`), which needs no
/// case folding and is rare in mail bodies (never in base64 but for `/`, never
/// inside UTF-8 or Japanese multi-byte text); a needle of letters only is
/// looked for by its first letter in both cases.
fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = needle.first()?;
    let matches = |at: usize| {
        hay.get(at..at + needle.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(needle))
    };
    if let Some(k) = needle.iter().position(|b| !b.is_ascii_alphabetic()) {
        let anchor = needle[k];
        return memchr::memchr_iter(anchor, hay)
            .filter_map(|i| i.checked_sub(k))
            .find(|&at| matches(at));
    }
    let mut from = 0;
    while let Some(i) = memchr::memchr2(*first, first.to_ascii_uppercase(), hay.get(from..)?) {
        let at = from + i;
        if matches(at) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Number of `message/rfc822` and `message/global` types in `bytes`.
fn message_types(bytes: &[u8]) -> usize {
    media_types(bytes).0
}

/// Number of `message/rfc822` and `message/global` types in `bytes`, and
/// whether `multipart/digest` is among them too: one pass over the slashes.
fn media_types(bytes: &[u8]) -> (usize, bool) {
    let mut messages = 0;
    let mut digest = false;
    for i in memchr::memchr_iter(b'/', bytes) {
        // Most slashes (base64, paths, dates) follow neither word's last
        // letter: one byte tells.
        if !i
            .checked_sub(1)
            .and_then(|p| bytes.get(p))
            .is_some_and(|b| matches!(b.to_ascii_lowercase(), b'e' | b't'))
        {
            continue;
        }
        let before = |n: usize| i.checked_sub(n).and_then(|s| bytes.get(s..i));
        let after = |n: usize| bytes.get(i + 1..i + 1 + n);
        if before(7).is_some_and(|w| w.eq_ignore_ascii_case(b"message"))
            && after(6).is_some_and(|w| {
                w.eq_ignore_ascii_case(b"rfc822") || w.eq_ignore_ascii_case(b"global")
            })
        {
            messages += 1;
        } else if !digest
            && before(9).is_some_and(|w| w.eq_ignore_ascii_case(b"multipart"))
            && after(6).is_some_and(|w| w.eq_ignore_ascii_case(b"digest"))
        {
            digest = true;
        }
    }
    (messages, digest)
}

/// How many forwarded messages hide inside base64 or quoted-printable
/// forwarded messages of `raw` (an upper bound of the nesting mail-parser
/// will build for them), or `usize::MAX` when there are more than
/// [`MAX_ENCODED_MESSAGES`] to scan. mail-parser decodes such parts three levels deep; so does this.
///
/// `raw` is cut into blocks at blank lines; a block that names a base64 or
/// quoted-printable transfer encoding and a message type (or no type at all,
/// in a multipart/digest) is a candidate header; what follows it is decoded
/// leniently to the end (a superset of what mail-parser decodes) and counted.
/// `budget` is how many more encoded parts may be decoded, at all levels;
/// `continuations` is raised to the [`most_continuations`] of what they decode to.
fn encoded_nesting(
    raw: &[u8],
    level: usize,
    budget: &mut usize,
    continuations: &mut usize,
) -> usize {
    if level >= 3 || find_ci(raw, b"content-transfer-encoding").is_none() {
        return 0;
    }
    let (messages, digest) = media_types(raw);
    if messages == 0 && !digest {
        return 0;
    }
    let mut total = 0;
    let mut start = 0;
    while start < raw.len() {
        let end = block_end(raw, start);
        let block = raw.get(start..end).unwrap_or_default();
        start = end.max(start + 1);
        let Some(enc) = transfer_encoding(block) else {
            continue;
        };
        let is_message =
            message_types(block) > 0 || (digest && find_ci(block, b"content-type").is_none());
        if !is_message {
            continue;
        }
        let Some(left) = budget.checked_sub(1) else {
            return usize::MAX;
        };
        *budget = left;
        let body = raw.get(end..).unwrap_or_default();
        let decoded = match enc {
            mail_parser::Encoding::Base64 => lenient_base64(body),
            _ => mail_parser::decoders::quoted_printable::quoted_printable_decode(body)
                .unwrap_or_else(|| body.to_vec()),
        };
        *continuations = (*continuations).max(most_continuations(&decoded));
        let inner = encoded_nesting(&decoded, level + 1, budget, continuations);
        if inner == usize::MAX {
            return inner;
        }
        total += 1 + message_types(&decoded) + inner;
        if total > MAX_NESTING {
            return total;
        }
    }
    total
}

/// The most RFC 2231 continuations in one Content-Type or Content-Disposition
/// field of `raw` (the message's or a part's), in one pass over its `*`s: a
/// `*` after a parameter name with a number other than 0 after it, then `=`
/// (with a `*` between for an encoded one). It counts what mail-parser keeps
/// as continuations, and may count more, never fewer.
fn most_continuations(raw: &[u8]) -> usize {
    let field_named = |at: usize| {
        let name = raw.get(at..).unwrap_or_default();
        [&b"content-type"[..], b"content-disposition"]
            .iter()
            .any(|n| {
                name.get(..n.len())
                    .is_some_and(|w| w.eq_ignore_ascii_case(n))
            })
    };
    let mut most = 0;
    let mut count = 0;
    let mut in_field = field_named(0);
    // The field starts before `scanned` are accounted for.
    let mut scanned = 0;
    for star in memchr::memchr_iter(b'*', raw) {
        if !is_continuation(raw, star) {
            continue;
        }
        // A field starts after a line end that no white space follows.
        let stretch = raw.get(scanned..star).unwrap_or_default();
        if let Some(start) = memchr::memrchr_iter(b'\n', stretch)
            .map(|nl| scanned + nl + 1)
            .find(|&at| !matches!(raw.get(at), Some(b' ' | b'\t')))
        {
            in_field = field_named(start);
            count = 0;
        }
        scanned = star;
        if in_field {
            count += 1;
            most = most.max(count);
        }
    }
    most
}

/// Whether the `*` at `star` in `raw` starts an RFC 2231 continuation number
/// (see [`most_continuations`]).
fn is_continuation(raw: &[u8], star: usize) -> bool {
    let named = star
        .checked_sub(1)
        .and_then(|p| raw.get(p))
        .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !named {
        return false;
    }
    let rest = raw.get(star + 1..).unwrap_or_default();
    // How many bytes from `at` on are `want`.
    let run = |at: usize, want: fn(&u8) -> bool| {
        rest.get(at..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| want(b))
            .count()
    };
    let blank: fn(&u8) -> bool = |b| matches!(b, b' ' | b'\t');
    let mut i = run(0, blank);
    let digits = run(i, u8::is_ascii_digit);
    let nonzero = rest
        .get(i..i + digits)
        .is_some_and(|d| d.iter().any(|&b| b != b'0'));
    if !nonzero {
        return false;
    }
    i += digits;
    i += run(i, blank);
    if rest.get(i) == Some(&b'*') {
        i += 1;
        i += run(i, blank);
    }
    rest.get(i) == Some(&b'=')
}

/// The end of the block starting at `start`: just after the next blank line
/// (`\n\n`, `\n\r\n`, or a line of white space), or the end of `raw`.
fn block_end(raw: &[u8], start: usize) -> usize {
    let rest = raw.get(start..).unwrap_or_default();
    for nl in memchr::memchr_iter(b'\n', rest) {
        let line_end = rest
            .get(nl + 1..)
            .and_then(|r| memchr::memchr(b'\n', r))
            .map(|e| nl + 1 + e);
        if let Some(e) = line_end
            && rest
                .get(nl + 1..e)
                .is_some_and(|l| l.iter().all(u8::is_ascii_whitespace))
        {
            return start + e + 1;
        }
    }
    raw.len()
}

/// The transfer encoding a header block names, when it is base64 or
/// quoted-printable.
fn transfer_encoding(block: &[u8]) -> Option<mail_parser::Encoding> {
    let at = find_ci(block, b"content-transfer-encoding")?;
    let rest = block.get(at..)?;
    let line = rest
        .get(..memchr::memchr(b'\n', rest).unwrap_or(rest.len()))
        .unwrap_or_default();
    if find_ci(line, b"base64").is_some() {
        Some(mail_parser::Encoding::Base64)
    } else if find_ci(line, b"quoted-printable").is_some() {
        Some(mail_parser::Encoding::QuotedPrintable)
    } else {
        None
    }
}

/// Decodes base64 up to the first byte that is neither base64 nor white space
/// (mail-parser gives up there too), ignoring padding.
fn lenient_base64(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut n = 0;
    for &b in body {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' | b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => break,
        };
        acc = (acc << 6) | u32::from(v);
        n += 1;
        if n == 4 {
            out.extend_from_slice(&acc.to_be_bytes()[1..]);
            acc = 0;
            n = 0;
        }
    }
    // A last, incomplete group: 2 or 3 characters give 1 or 2 bytes.
    if n >= 2 {
        let bytes = (acc << (6 * (4 - n))).to_be_bytes();
        out.extend_from_slice(bytes.get(1..n).unwrap_or_default());
    }
    out
}

/// True when the first line is a header line (`Name:`), an mbox `From ` line,
/// or a continuation of headers (in bytes as [`mail_bytes`] gives them).
fn starts_with_header(line: &[u8]) -> bool {
    let end = line.iter().position(|&b| b == b'\n').unwrap_or(line.len());
    let line = &line[..end];
    if line.starts_with(b"From ") {
        return true;
    }
    match line.iter().position(|&b| b == b':') {
        Some(colon) if colon > 0 => line[..colon]
            .iter()
            .all(|&b| b.is_ascii_graphic() && b != b':'),
        _ => false,
    }
}

/// A stable Message-ID for mail that has none: derived from its content, so the
/// same message delivered twice gets the same id.
pub fn synthetic_message_id(content_hash: &[u8; 32]) -> String {
    let mut hex = String::with_capacity(32);
    for b in &content_hash[..16] {
        hex.push_str(&format!("{b:02x}"));
    }
    format!("{hex}@kura.invalid")
}

/// Raw (undecoded) bytes of the first header `name`, as text (lossy only for
/// invalid UTF-8, which the callers redecode).
fn raw_header_bytes<'a>(msg: &'a Message<'_>, name: HeaderName<'_>) -> Option<&'a [u8]> {
    let h = msg.root_part().headers.iter().find(|h| h.name == name)?;
    msg.raw_message
        .get(h.offset_start as usize..h.offset_end as usize)
}

fn raw_header(msg: &Message<'_>, name: HeaderName<'_>) -> Option<String> {
    raw_header_bytes(msg, name).map(|b| String::from_utf8_lossy(b).into_owned())
}

/// A decoded unstructured header, redone by [`charset`] when mail-parser's
/// decoding left garbage or read Latin-1 (which may be Japanese under a
/// Latin label: [`charset::has_latin1`]).
fn header_text(msg: &Message<'_>, name: HeaderName<'_>) -> Option<String> {
    let parsed = msg
        .header(name.clone())
        .and_then(|v| v.as_text())
        .map(str::to_owned);
    let raw = raw_header_bytes(msg, name);
    let trusted = |p: &str| !charset::needs_redecode(p) && !charset::has_latin1(p);
    match (parsed, raw) {
        (Some(p), Some(r)) if trusted(&p) && r.is_ascii() => Some(clean_line(&p)),
        (_, Some(r)) => Some(clean_line(&charset::decode_header(r))),
        (p, None) => p.map(|p| clean_line(&p)),
    }
}

/// Unfolds and trims a header text.
pub(crate) fn clean_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.trim().chars() {
        if c == '\r' || c == '\n' || c == '\t' {
            space = true;
            continue;
        }
        if space && !out.ends_with(' ') {
            out.push(' ');
        }
        space = false;
        out.push(c);
    }
    out
}

/// The mailboxes of an address header, names decoded.
fn addresses(msg: &Message<'_>, name: HeaderName<'_>) -> Vec<Mailbox> {
    let raw = raw_header_bytes(msg, name.clone());
    let needs_redo = |a: &Address<'_>| {
        a.iter().any(|m| {
            m.name
                .as_deref()
                .is_some_and(|n| charset::needs_redecode(n) || charset::has_latin1(n))
        })
    };
    match msg.header(name.clone()) {
        Some(HeaderValue::Address(a)) if !needs_redo(a) && raw.is_none_or(|r| r.is_ascii()) => {
            mailboxes(a)
        }
        _ => match raw {
            // Decode the raw value ourselves, then let mail-parser split the
            // (now UTF-8) address list.
            Some(r) => {
                let decoded = charset::decode_header(r);
                let synthetic = format!("To: {}\n\n", decoded.replace(['\r', '\n'], " "));
                match parser().parse(synthetic.as_bytes()) {
                    Some(m) => match m.header(HeaderName::To) {
                        Some(HeaderValue::Address(a)) => mailboxes(a),
                        _ => Vec::new(),
                    },
                    None => Vec::new(),
                }
            }
            None => Vec::new(),
        },
    }
}

/// The sender (the first mailbox of From:, with an address) of `block`, a
/// mail's header block kept apart from it: the transport headers of an
/// Outlook message. The From is read as that of a mail; lines before the
/// first header line (Exchange 2003 starts the block with `Microsoft Mail
/// Internet Headers Version 2.0`) and anything after the block's end are
/// left out.
pub(crate) fn header_block_sender(block: &str) -> Option<Mailbox> {
    let mut start = 0;
    while let Some(line) = block.get(start..)
        && !line.is_empty()
        && !starts_with_header(line.as_bytes())
    {
        start += line.find('\n').map_or(line.len(), |n| n + 1);
    }
    let block = block.get(start..)?;
    let end = ["\r\n\r\n", "\n\n", "\n\r\n"]
        .into_iter()
        .filter_map(|blank| block.find(blank))
        .min()
        .unwrap_or(block.len());
    let mail = format!("{}\r\n\r\n", block.get(..end)?);
    let msg = parse_mime(mail.as_bytes()).ok()?;
    let sender = addresses(&msg, HeaderName::From)
        .into_iter()
        .find(|m| m.address.contains('@'));
    dismantle(msg);
    sender
}

/// An address as kura stores and indexes it: trimmed, lower-cased, without
/// control characters. Those have no place in an address; kept, one could
/// make an address's index term look like a header term (`\u{1}from\u{1}…`,
/// see `index::role_address_term`).
pub fn clean_address(address: &str) -> String {
    let kept: String = address.chars().filter(|c| !c.is_control()).collect();
    kept.trim().to_lowercase()
}

fn mailboxes(a: &Address<'_>) -> Vec<Mailbox> {
    a.iter()
        .filter_map(|m| {
            let address = clean_address(m.address.as_deref().unwrap_or(""));
            let name = m.name.as_deref().map(clean_line).unwrap_or_default();
            let name = name.trim_matches('"').trim().to_string();
            if address.is_empty() && name.is_empty() {
                None
            } else {
                Some(Mailbox { name, address })
            }
        })
        .collect()
}

/// Whether a parsed Date: names a real instant: a day the month has, a zone
/// within ±14:00, and the year as written. mail-parser checks fields one by
/// one (31 February passes and becomes 3 March; zones up to ±23:59 pass)
/// and reads any year below 100 as a two-digit one, so a written `0000` is
/// 2000: `written` (the date as written) is checked for a four-digit year
/// that is not the one read.
fn real_date(d: &mail_parser::DateTime, written: &str) -> bool {
    let day_exists =
        chrono::NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
            .is_some();
    let zone_minutes = u32::from(d.tz_hour) * 60 + u32::from(d.tz_minute);
    let written_year = {
        let mut words = written.split(|c: char| c.is_ascii_whitespace() || c == ',');
        words
            .find(|w| is_month_name(w))
            .and_then(|_| words.find(|w| !w.is_empty()))
            .filter(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|y| y.parse::<u16>().ok())
    };
    // mail-parser reads the hours of a zone modulo 24 (`+2500` as +01:00):
    // the zone as written must be one.
    let written_zone_real = written
        .split_ascii_whitespace()
        .filter(|w| {
            w.len() == 5 && w.starts_with(['+', '-']) && w[1..].bytes().all(|b| b.is_ascii_digit())
        })
        .all(|w| numeric_zone(w).is_some());
    d.is_valid()
        && day_exists
        && zone_minutes <= 14 * 60
        && written_zone_real
        && written_year.is_none_or(|y| y == d.year)
}

/// The message date and where it came from: `written` (the Date: header
/// as read), else the newest Received:, else the file time.
fn message_date(
    msg: &Message<'_>,
    written: Option<WrittenDate>,
    file_time: Option<i64>,
) -> (i64, DateSource) {
    let max_sane = chrono::Utc::now().timestamp() + 2 * 86_400;
    let sane = |t: i64| (MIN_SANE_DATE..=max_sane).contains(&t);
    let newest_received = || {
        msg.root_part()
            .headers
            .iter()
            .filter(|h| h.name == HeaderName::Received)
            .filter_map(|h| {
                msg.raw_message
                    .get(h.offset_start as usize..h.offset_end as usize)
            })
            .filter_map(|v| received_date(v, Zone::Local))
            .filter(|&t| sane(t))
            .max()
    };
    let header = match written {
        Some(WrittenDate::Instant(t)) => Some((t, DateSource::Header)),
        Some(WrittenDate::Wall(wall)) => zoneless_instant(wall, newest_received(), Zone::Local)
            .map(|(t, placed)| match placed {
                true => (t, DateSource::Header),
                false => (t, DateSource::LocalHeader),
            }),
        None => None,
    };
    if let Some(h) = header.filter(|&(t, _)| sane(t)) {
        return h;
    }
    if let Some(t) = newest_received() {
        return (t, DateSource::Received);
    }
    match file_time {
        Some(t) => (t, DateSource::FileTime),
        None => (0, DateSource::Unknown),
    }
}

/// The instant of a Date: written without a zone (`wall`), given the
/// newest Received: date (`received`). In the local zone when that reads as
/// written at most 2 hours before its receipt and not after it (15 minutes
/// of clock skew allowed): a mail client shows it so. Otherwise the local
/// zone is not the sender's (a form mailer on a server kept in UTC, read in
/// Japan, or the reverse): the zone, in quarter hours within ±14:00, that
/// puts it at or just before its receipt, so that the date does not depend
/// on the zone of whoever imports it. The local zone too when none does, or
/// when there is no Received: date. With whether its receipt placed it
/// (else only the local zone's reading says when it was).
fn zoneless_instant(
    wall: chrono::NaiveDateTime,
    received: Option<i64>,
    local: Zone,
) -> Option<(i64, bool)> {
    const QUARTER: i64 = 15 * 60;
    let in_local = local.instant(wall)?.timestamp();
    let Some(received) = received else {
        return Some((in_local, false));
    };
    if (received - 2 * 3600..=received + QUARTER).contains(&in_local) {
        return Some((in_local, true));
    }
    let as_utc = wall.and_utc().timestamp();
    // The smallest offset east of UTC that puts it at or before `received`.
    let offset = -(received - as_utc).div_euclid(QUARTER) * QUARTER;
    Some(if offset.abs() <= 14 * 3600 {
        (as_utc - offset, true)
    } else {
        (in_local, false)
    })
}

/// The date of a raw Received: value: what follows its last `;`
/// (RFC 5322 section 3.6.7), as unix seconds (a date without a zone in
/// `local`).
fn received_date(raw: &[u8], local: Zone) -> Option<i64> {
    let pos = raw.iter().rposition(|&b| b == b';')?;
    match read_date(raw.get(pos + 1..)?)? {
        WrittenDate::Instant(t) => Some(t),
        WrittenDate::Wall(wall) => local.instant(wall).map(|t| t.timestamp()),
    }
}

/// Zone names outside RFC 5322's list that mail is written with (PHP's
/// `date('T')` writes `JST`), as minutes east of UTC. mail-parser reads
/// RFC 5322's names (UT, GMT, Z and the North American ones) and takes any
/// other for +0000, which RFC 5322 (section 4.3) asks of a name whose meaning
/// is not known: so only names that mean one zone are here, not `IST` (India,
/// Ireland or Israel) or `CST` (North America in RFC 5322, China in Chinese
/// mail).
const NAMED_ZONES: &[(&str, i32)] = &[
    ("JST", 9 * 60),
    ("KST", 9 * 60),
    ("HKT", 8 * 60),
    ("SGT", 8 * 60),
    ("AWST", 8 * 60),
    ("ACST", 9 * 60 + 30),
    ("AEST", 10 * 60),
    ("AEDT", 11 * 60),
    ("NZST", 12 * 60),
    ("NZDT", 13 * 60),
    ("CET", 60),
    ("CEST", 2 * 60),
    ("MET", 60),
    ("MEST", 2 * 60),
    ("EET", 2 * 60),
    ("EEST", 3 * 60),
    ("WET", 0),
    ("WEST", 60),
    ("BST", 60),
    ("UTC", 0),
    ("HST", -10 * 60),
    ("AKST", -9 * 60),
    ("AKDT", -8 * 60),
];

/// A date as a Date: or Received: header writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WrittenDate {
    /// An instant (unix seconds): the date has a zone.
    Instant(i64),
    /// A wall-clock time without a zone (`Tue, 16 Jan 2024 11:00:00`, as
    /// form mailers write), which mail-parser does not read: its instant
    /// depends on whose clock it is ([`zoneless_instant`]).
    Wall(chrono::NaiveDateTime),
}

/// A date as written in a Date: or Received: header; `None` when it names
/// no real instant ([`real_date`]). mail-parser reads RFC 5322 dates; more
/// forms real mail carries are read here: a zone named outside RFC 5322's
/// list ([`NAMED_ZONES`]: `10:00:00 JST`, also `GMT+0900`), which
/// mail-parser takes for +0000 (nine hours off for `JST`), no zone at all
/// ([`WrittenDate::Wall`]), and dates not in RFC 5322's form
/// ([`other_date`]: ISO 8601, `2024/01/15 10:00`, asctime).
fn read_date(raw: &[u8]) -> Option<WrittenDate> {
    let text = String::from_utf8_lossy(raw).replace(['\r', '\n', '\t'], " ");
    let text = without_comments(&text);
    let text = text.trim();
    rfc_date(text).or_else(|| other_date(text))
}

/// A date in RFC 5322's form (`[Mon, ]15 Jan 2024 10:00[:00] zone`), the
/// zone named otherwise or left out as [`read_date`] says. A 12-hour clock
/// (`06:09:22 PM EDT`, as date(1) writes in an American locale) is no such
/// date: mail-parser would read the time without its `PM`.
fn rfc_date(text: &str) -> Option<WrittenDate> {
    if text
        .split([' ', ','])
        .any(|w| w.eq_ignore_ascii_case("am") || w.eq_ignore_ascii_case("pm"))
    {
        return None;
    }
    // Only a date in RFC 5322's order, a day, the month's name and the year
    // (`15 Jan 2024`), is mail-parser's to read: it reads others too, but
    // wrongly (`2024/01/15 10:00 +0900` as 19 October 2000, asctime's
    // `Mon Jan 15 10:00:00 +0900 2024` as 14 October 2000); those are
    // [`other_date`]'s.
    let number = |w: &str, len| number_of(w, len).is_some();
    let words: Vec<&str> = text.split([' ', ',']).filter(|w| !w.is_empty()).collect();
    if !words.windows(3).any(|w| {
        matches!(w, [day, month, year]
            if number(day, 1..=2)
                && is_month_name(month.trim_end_matches('.'))
                && number(year, 2..=4))
    }) {
        return None;
    }
    let read = |t: &str| mail_parser::DateTime::parse_rfc822(t).filter(|d| real_date(d, t));
    let (rest, last) = text.rsplit_once(' ').unwrap_or(("", text));
    // A name after a numeric zone (`+0900 JST`, PHP's `O T`) only names it:
    // the numeric zone says the offset, and mail-parser reads it so.
    let after_numeric_zone = rest.rsplit(' ').next().is_some_and(|w| {
        w.len() >= 5
            && w.starts_with(['+', '-'])
            && w[1..].bytes().all(|b| b.is_ascii_digit() || b == b':')
    });
    if !after_numeric_zone
        && last.starts_with(|c: char| c.is_ascii_alphabetic())
        && let Some(minutes) = zone_of_word(last)
    {
        let d = read(&format!("{rest} +0000"))?;
        return Some(WrittenDate::Instant(
            d.to_timestamp() - i64::from(minutes) * 60,
        ));
    }
    let is_time = last.contains(':') && last.bytes().all(|b| b.is_ascii_digit() || b == b':');
    if is_time {
        let d = read(&format!("{text} +0000"))?;
        let wall = chrono::DateTime::from_timestamp(d.to_timestamp(), 0)?.naive_utc();
        return Some(WrittenDate::Wall(wall));
    }
    read(text).map(|d| WrittenDate::Instant(d.to_timestamp()))
}

/// A date in a form other than RFC 5322's, as scripts and older mailers
/// write it: ISO 8601 (`2024-01-15T10:00:00+09:00`, `2024-01-15 10:00:00`),
/// slashed (`2024/01/15 10:00`; the `(月)` often after it is a comment,
/// already gone), asctime and date(1) (`Mon Jan 15 10:00:00 JST 2024`), and
/// IMAP's `15-Jan-2024 10:00:00 +0900`. Each word must be one of a weekday,
/// a month's name, a day, a four-digit year, a numeric or IMAP date (with a
/// time after `T`), a time (with a zone after it), a zone ([`zone_of_word`])
/// or AM/PM, each part given once, in any order; anything else, or a date
/// without its day, month, year or time, is no date. Without a zone it is a
/// [`WrittenDate::Wall`].
fn other_date(text: &str) -> Option<WrittenDate> {
    fn put<T>(slot: &mut Option<T>, value: T) -> Option<()> {
        slot.is_none().then(|| *slot = Some(value))
    }
    let (mut year, mut month, mut day) = (None, None, None);
    let (mut time, mut zone, mut pm) = (None, None, None);
    for word in text.split([' ', ',']).filter(|w| !w.is_empty()) {
        let lower = word.to_ascii_lowercase();
        if WEEKDAYS.iter().any(|d| lower == d[..3] || lower == *d) {
            continue;
        }
        if let Some(m) = month_number(&lower) {
            put(&mut month, m)?;
        } else if lower == "am" || lower == "pm" {
            put(&mut pm, lower == "pm")?;
        } else if word.bytes().all(|b| b.is_ascii_digit()) {
            match word.len() {
                1 | 2 => put(&mut day, word.parse().ok()?)?,
                4 => put(&mut year, word.parse().ok()?)?,
                _ => return None,
            }
        } else if let Some((t, z)) = time_of_word(word) {
            put(&mut time, t)?;
            if let Some(z) = z {
                put(&mut zone, z)?;
            }
        } else if let Some(z) = zone_of_word(word) {
            put(&mut zone, z)?;
        } else {
            // A date, perhaps with a time after `T`: ISO 8601 (`-`),
            // slashed, or IMAP's (`15-Jan-2024`). The `T` follows a digit:
            // the `t` of IMAP's `15-Oct-2024` starts no time.
            let t = word
                .bytes()
                .zip(word.bytes().skip(1))
                .position(|(d, t)| d.is_ascii_digit() && matches!(t, b'T' | b't'));
            let (date, at) = match t.map(|i| word.split_at(i + 1)) {
                Some((d, t)) => (d, t.get(1..)),
                None => (word, None),
            };
            let parts: Vec<&str> = date.split(['-', '/']).collect();
            let [a, b, c] = parts[..] else {
                return None;
            };
            let (y, m, d) = match month_number(&b.to_ascii_lowercase()) {
                Some(m) => (number_of(c, 4..=4)?, m, number_of(a, 1..=2)?),
                None => (
                    number_of(a, 4..=4)?,
                    number_of(b, 1..=2)?,
                    number_of(c, 1..=2)?,
                ),
            };
            put(&mut year, i32::try_from(y).ok()?)?;
            put(&mut month, m)?;
            put(&mut day, d)?;
            if let Some(at) = at {
                let (t, z) = time_of_word(at)?;
                put(&mut time, t)?;
                if let Some(z) = z {
                    put(&mut zone, z)?;
                }
            }
        }
    }
    let mut time: chrono::NaiveTime = time?;
    if let Some(pm) = pm {
        use chrono::Timelike;
        let hour = match time.hour() {
            0 | 13.. => return None,
            12 => 0,
            h => h,
        } + if pm { 12 } else { 0 };
        time = time.with_hour(hour)?;
    }
    let wall = chrono::NaiveDate::from_ymd_opt(year?, month?, day?)?.and_time(time);
    Some(match zone {
        Some(minutes) => WrittenDate::Instant(wall.and_utc().timestamp() - i64::from(minutes) * 60),
        None => WrittenDate::Wall(wall),
    })
}

/// The time a word starts with (`10:00`, `10:00:00`, `10:00:00.250`), and
/// the zone after it, if any (`Z`, `+09:00`, `+0900`).
fn time_of_word(word: &str) -> Option<(chrono::NaiveTime, Option<i32>)> {
    let end = word
        .find(|c: char| !(c.is_ascii_digit() || c == ':' || c == '.'))
        .unwrap_or(word.len());
    let (clock, zone) = word.split_at(end);
    let clock = clock.split('.').next()?;
    let mut fields = clock.split(':');
    let mut field = || -> Option<u32> {
        fields
            .next()
            .filter(|f| (1..=2).contains(&f.len()))
            .and_then(|f| f.parse().ok())
    };
    let (h, m) = (field()?, field()?);
    let s = match clock.matches(':').count() {
        1 => 0,
        2 => field()?,
        _ => return None,
    };
    let time = chrono::NaiveTime::from_hms_opt(h, m, s)?;
    let zone = match zone {
        "" => None,
        z if z.eq_ignore_ascii_case("z") => Some(0),
        z => Some(numeric_zone(z)?),
    };
    Some((time, zone))
}

/// The offset (minutes east of UTC) a zone word says: numeric (`+0900`,
/// `+09:00`, `+09`), a name ([`NAMED_ZONES`], RFC 5322's, `Z`), or a name
/// and a numeric offset (`GMT+0900`, `UTC+9`, `JST+0900`), which the offset
/// says.
fn zone_of_word(word: &str) -> Option<i32> {
    let (name, offset) = word.split_at(word.find(['+', '-']).unwrap_or(word.len()));
    match (name.is_empty(), offset.is_empty()) {
        (_, true) => zone_name(name),
        (true, false) => numeric_zone(offset),
        (false, false) => zone_name(name).and(numeric_zone(offset)),
    }
}

/// The offset of a zone name: [`NAMED_ZONES`] and RFC 5322's.
fn zone_name(name: &str) -> Option<i32> {
    const RFC_5322: &[(&str, i32)] = &[
        ("UT", 0),
        ("GMT", 0),
        ("Z", 0),
        ("EST", -5 * 60),
        ("EDT", -4 * 60),
        ("CST", -6 * 60),
        ("CDT", -5 * 60),
        ("MST", -7 * 60),
        ("MDT", -6 * 60),
        ("PST", -8 * 60),
        ("PDT", -7 * 60),
    ];
    NAMED_ZONES
        .iter()
        .chain(RFC_5322)
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, minutes)| minutes)
}

/// A numeric zone (`+0900`, `+09:00`, `+09`, `+9`) as minutes east of UTC,
/// within ±14:00.
fn numeric_zone(z: &str) -> Option<i32> {
    let sign = match z.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits = z[1..].replacen(':', "", usize::from(z[1..].len() == 5));
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (i32, i32) = match digits.len() {
        1 | 2 => (digits.parse().ok()?, 0),
        4 => (digits[..2].parse().ok()?, digits[2..].parse().ok()?),
        _ => return None,
    };
    (m < 60 && h * 60 + m <= 14 * 60).then_some(sign * (h * 60 + m))
}

/// English weekdays, Monday first, for [`other_date`] and working days
/// (their first three letters too).
pub(crate) const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// The number of an English month named in lower case, whole or by its
/// first three letters (`sept` too).
fn month_number(lower: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    (lower.len() >= 3)
        .then(|| MONTHS.iter().position(|m| m.starts_with(lower)))
        .flatten()
        .and_then(|i| u32::try_from(i + 1).ok())
}

/// Whether `word` is an English month's three-letter name.
fn is_month_name(word: &str) -> bool {
    word.len() == 3 && month_number(&word.to_ascii_lowercase()).is_some()
}

/// The number `word` writes in ASCII digits, `len` of them.
pub(crate) fn number_of(word: &str, len: std::ops::RangeInclusive<usize>) -> Option<u32> {
    (len.contains(&word.len()) && word.bytes().all(|b| b.is_ascii_digit()))
        .then(|| word.parse().ok())
        .flatten()
}

/// `text` without its RFC 5322 comments (`(JST)`, nested ones too); a
/// comment left open runs to the end.
fn without_comments(text: &str) -> Cow<'_, str> {
    if !text.contains('(') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut depth = 0usize;
    let mut escaped = false;
    for c in text.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if depth > 0 => escaped = true,
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    Cow::Owned(out)
}

/// Hash of what makes two copies "the same message": the From, To and Cc
/// addresses, the Subject, the Date and the body (a forwarded copy and a
/// cc'd copy differ in Received/Delivered-To headers). Headers count as
/// decoded, not as written: gateways fold, re-encode (RFC 2047) and rewrite
/// them (`a@x` as `<a@x>`, a `(JST)` comment, the same instant in another
/// zone). The body counts with line endings and trailing white space
/// normalised.
fn content_hash(
    msg: &Message<'_>,
    raw: &[u8],
    written_date: &Option<(&[u8], Option<WrittenDate>)>,
    from: Option<&Mailbox>,
    to: &[Mailbox],
    cc: &[Mailbox],
    subject: &str,
) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    for list in [from.map(std::slice::from_ref).unwrap_or_default(), to, cc] {
        for mb in list {
            h.update(mb.address.as_bytes());
            h.update(b"\x01");
        }
        h.update(b"\x00");
    }
    for word in subject.split_whitespace() {
        h.update(word.as_bytes());
        h.update(b" ");
    }
    h.update(b"\x00");
    // The Date as kura reads it (`10:00 JST` is `01:00 +0000`); one
    // without a zone as written (its instant depends on the reader's zone);
    // an unreadable one as written, in case two copies differ in it.
    match written_date {
        Some((_, Some(WrittenDate::Instant(t)))) => h.update(&t.to_le_bytes()),
        Some((_, Some(WrittenDate::Wall(wall)))) => {
            h.update(b"wall");
            h.update(&wall.and_utc().timestamp().to_le_bytes())
        }
        Some((v, None)) => h.update(v.trim_ascii()),
        None => h.update(b"-"),
    };
    h.update(b"\x00");
    hash_body(&mut h, msg, raw);
    *h.finalize().as_bytes()
}

/// The id earlier versions gave a message, when they read it otherwise:
/// they let mail-parser parse the Date, which runs past some Dates' end
/// ([`parser`]) and takes the next line with it. A Message-ID on that line
/// was not read (the message was named by [`synthetic_id_hash`]), and a
/// message without one was named after the headers and body as mail-parser
/// then bounded them. Only a message with such a Date is parsed again, as
/// they parsed it, and with the same limits ([`parse_mime`]: the lines a
/// Date takes can turn the body's first lines into header lines, and make
/// the body a forwarded message nested however deep); `None` for the
/// others, and for a message they rejected.
fn earlier_message_id(msg: &Message<'_>) -> Option<String> {
    let raw: &[u8] = &msg.raw_message;
    let runs_past = msg
        .root_part()
        .headers
        .iter()
        .filter(|h| h.name == HeaderName::Date)
        .any(|h| {
            let start = h.offset_start as usize;
            let mut stream =
                mail_parser::parsers::MessageStream::new(raw.get(start..).unwrap_or_default());
            stream.parse_date();
            start + stream.offset() != h.offset_end as usize
        });
    if !runs_past {
        return None;
    }
    let before = parse_mime_with(parser_with_parsed_dates(), raw).ok()?;
    Some(
        match raw_header(&before, HeaderName::MessageId).and_then(|v| refs::normalize_id(&v)) {
            Some(id) => id,
            None => synthetic_message_id(&synthetic_id_hash(&before, raw)),
        },
    )
}

/// The hash a message without a Message-ID is named after: its From, To,
/// Cc, Subject and Date headers as written and its body, with line endings
/// normalised. (Not [`content_hash`]: the names given by earlier versions
/// stay the names of the same mail.)
fn synthetic_id_hash(msg: &Message<'_>, raw: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    for name in [
        HeaderName::From,
        HeaderName::To,
        HeaderName::Cc,
        HeaderName::Subject,
        HeaderName::Date,
    ] {
        if let Some(v) = raw_header_bytes(msg, name) {
            hash_normalized(&mut h, v);
        }
        h.update(b"\x00");
    }
    hash_body(&mut h, msg, raw);
    *h.finalize().as_bytes()
}

/// Feeds the body of `msg` (the message `raw`) to `h`, normalised.
fn hash_body(h: &mut blake3::Hasher, msg: &Message<'_>, raw: &[u8]) {
    let body_start = (msg.root_part().offset_body as usize).min(raw.len());
    hash_normalized(h, &raw[body_start..]);
}

/// Feeds `bytes` with CR removed and trailing whitespace trimmed.
fn hash_normalized(h: &mut blake3::Hasher, bytes: &[u8]) {
    let mut end = bytes.len();
    while end > 0 && bytes[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    let bytes = &bytes[..end];
    let mut start = 0;
    for i in memchr::memchr_iter(b'\r', bytes) {
        h.update(&bytes[start..i]);
        start = i + 1;
    }
    h.update(&bytes[start..]);
}

/// The charset label of a part, if any.
fn charset_label<'a>(part: &'a MessagePart<'_>) -> Option<&'a str> {
    part.content_type().and_then(|ct| ct.attribute("charset"))
}

/// A text part's text, redecoded when mail-parser's decoding is not to be trusted.
fn part_text(msg: &Message<'_>, part: &MessagePart<'_>, decoded: &str) -> String {
    let label = charset_label(part);
    // mail-parser reads UTF-8 (and unlabelled text) as lossy UTF-8: right
    // whenever that lost nothing, which `needs_redecode` checks.
    let trusted_label = label.is_none_or(|l| {
        charset::is_utf8_label(l)
            || (mail_parser::decoders::charsets::map::charset_decoder(l.as_bytes()).is_some()
                && !mislabelled(l))
    });
    // A Latin label reads any bytes, so its reading is checked (Japanese
    // from a misconfigured form mailer is sent under one).
    // (The label first: the scan of the text is the dearer test.)
    let latin = label.is_some_and(charset::is_latin_label) && charset::has_latin1(decoded);
    if trusted_label && !latin && !charset::needs_redecode(decoded) {
        return decoded.to_owned();
    }
    match transfer_decoded(msg, part) {
        Some(b) => charset::decode_text(&b, label),
        None => decoded.to_owned(),
    }
}

/// A part's body with its transfer encoding (base64, quoted-printable)
/// undone: the bytes as sent, before any charset decoding. `None` when the
/// encoding is broken.
fn transfer_decoded(msg: &Message<'_>, part: &MessagePart<'_>) -> Option<Vec<u8>> {
    let body = raw_body(msg, part);
    match part.encoding {
        mail_parser::Encoding::Base64 => mail_parser::decoders::base64::base64_decode(body),
        mail_parser::Encoding::QuotedPrintable => {
            mail_parser::decoders::quoted_printable::quoted_printable_decode(body)
        }
        mail_parser::Encoding::None => Some(body.to_vec()),
    }
}

/// The body of a part as it is in the message (transfer encoding not undone).
fn raw_body<'a>(msg: &'a Message<'_>, part: &MessagePart<'_>) -> &'a [u8] {
    msg.raw_message
        .get(part.offset_body as usize..part.offset_end as usize)
        .unwrap_or_default()
}

/// The bytes of an attachment as sent: a text attachment's own bytes in
/// its own charset (mail-parser's reading of it is converted to UTF-8),
/// any other part's decoded contents.
fn attachment_contents(msg: &Message<'_>, part: &MessagePart<'_>) -> Vec<u8> {
    match &part.body {
        PartType::Text(_) | PartType::Html(_) => {
            transfer_decoded(msg, part).unwrap_or_else(|| part.contents().to_vec())
        }
        _ => part.contents().to_vec(),
    }
}

/// An attachment's size as sent (see [`attachment_contents`]).
fn attachment_size(msg: &Message<'_>, part: &MessagePart<'_>) -> u64 {
    match &part.body {
        PartType::Text(_) | PartType::Html(_) => attachment_contents(msg, part).len() as u64,
        _ => part.len() as u64,
    }
}

/// Labels mail-parser knows but decodes with the wrong table.
fn mislabelled(label: &str) -> bool {
    let l = label.trim().to_ascii_lowercase();
    l.starts_with("iso-2022-jp-")
        || l.starts_with("cp5022")
        || l.contains("2004")
        || l.contains("0213")
}

/// What a part of a message is to kura: which parts are its text and which
/// are listed as its attachments (numbered as `show` lists them).
struct Split {
    bodies: Vec<u32>,
    attachments: Vec<u32>,
}

/// Splits `msg` into text and attachments. mail-parser's split is taken,
/// with one correction: a text part that runs to the end of a multipart
/// whose closing boundary is missing (see [`unterminated_body`]) is text,
/// not an attachment. Such a plain-text part is text beside the others;
/// such an HTML part only when the message has no other text (else it is
/// most likely the HTML alternative of text already there).
fn split_parts(msg: &Message<'_>) -> Split {
    let mut plain = Vec::new();
    let mut html = Vec::new();
    for &id in &msg.attachments {
        match msg
            .parts
            .get(id as usize)
            .and_then(|p| unterminated_body(msg, id, p))
        {
            Some(TextKind::Plain) => plain.push(id),
            Some(TextKind::Html) => html.push(id),
            None => {}
        }
    }
    // Plain-text bodies; HTML ones only when a body has no plain-text alternative.
    let mut bodies: Vec<u32> = msg.text_body.clone();
    if bodies.is_empty() {
        bodies = msg.html_body.clone();
    }
    let moved = if bodies.is_empty() && plain.is_empty() {
        html
    } else {
        plain
    };
    bodies.extend_from_slice(&moved);
    let attachments = msg
        .attachments
        .iter()
        .copied()
        .filter(|id| !moved.contains(id))
        .collect();
    Split {
        bodies,
        attachments,
    }
}

/// Plain text or HTML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextKind {
    Plain,
    Html,
}

/// When `part` (number `id` of `msg`) is body text that mail-parser listed
/// as an attachment because the closing boundary of its multipart is
/// missing: what kind of text it is.
///
/// mail-parser looks for the boundary to the end of the message, does not
/// find it, and keeps the whole rest of the message as the part, marked as
/// an encoding problem: its transfer encoding is not undone, and it is
/// listed as an attachment whatever it is. Taken here for body text: a part
/// inside a multipart (not the message's own first part) that runs to the
/// end of the message, typed text/plain, text/html or not typed at all, with
/// no file name and not `Content-Disposition: attachment`.
fn unterminated_body(msg: &Message<'_>, id: u32, part: &MessagePart<'_>) -> Option<TextKind> {
    if id == 0
        || !part.is_encoding_problem
        || (part.offset_end as usize) < msg.raw_message.len()
        || !matches!(part.body, PartType::Text(_))
        || part
            .content_disposition()
            .is_some_and(|d| d.is_attachment())
        || !part_filename(msg, part).is_empty()
    {
        return None;
    }
    let Some(ct) = part.content_type() else {
        return Some(TextKind::Plain);
    };
    if !ct.ctype().eq_ignore_ascii_case("text") {
        return None;
    }
    match ct.subtype() {
        Some(s) if s.eq_ignore_ascii_case("plain") => Some(TextKind::Plain),
        Some(s) if s.eq_ignore_ascii_case("html") => Some(TextKind::Html),
        _ => None,
    }
}

/// The text of a part found by [`unterminated_body`]: mail-parser kept its
/// bytes with the transfer encoding (named in its header) not undone.
fn unterminated_text(msg: &Message<'_>, part: &MessagePart<'_>, decoded: &str) -> String {
    let encoding = part.content_transfer_encoding().map(str::trim);
    let is = |name: &str| encoding.is_some_and(|e| e.eq_ignore_ascii_case(name));
    if !is("base64") && !is("quoted-printable") {
        return part_text(msg, part, decoded);
    }
    let body = raw_body(msg, part);
    let bytes = if is("base64") {
        lenient_base64(body)
    } else {
        mail_parser::decoders::quoted_printable::quoted_printable_decode(body)
            .unwrap_or_else(|| body.to_vec())
    };
    charset::decode_text(&bytes, charset_label(part))
}

/// Whether a part is `text/plain; format=flowed` (RFC 3676), and if so
/// whether `delsp=yes`.
fn flowed(part: &MessagePart<'_>) -> Option<bool> {
    let ct = part.content_type()?;
    let plain = ct.ctype().eq_ignore_ascii_case("text")
        && ct
            .subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("plain"));
    let format = ct.attribute("format")?;
    if !plain || !format.trim().eq_ignore_ascii_case("flowed") {
        return None;
    }
    Some(
        ct.attribute("delsp")
            .is_some_and(|d| d.trim().eq_ignore_ascii_case("yes")),
    )
}

/// The plain text of a part, flowed lines joined when it is `format=flowed`.
fn plain_text(part: &MessagePart<'_>, text: String) -> String {
    match flowed(part) {
        Some(delsp) => unflow(&text, delsp),
        None => text,
    }
}

/// `format=flowed` text (RFC 3676) with its flowed lines joined, as its
/// writer meant it to read.
///
/// A line's quote depth is the number of `>` it starts with; past them, one
/// leading space is space-stuffing and is removed. A line that then ends
/// with a space is flowed: it goes on with the next line, without that
/// space when `delsp` (`delsp=yes`), with it otherwise. A flowed line does
/// not go on with a line of another quote depth, nor with a signature
/// separator (`-- `, which itself is never flowed); a flowed line at the
/// end just ends. Each line of the result carries its quote depth as one
/// `>` per level and a space (`>> text`), and ends as the last line joined
/// into it ended (CRLF or LF).
fn unflow(text: &str, delsp: bool) -> String {
    let mut out = String::with_capacity(text.len());
    // The quote depth of the line being joined, and how its last piece ended.
    let mut open: Option<(usize, &str)> = None;
    for line in text.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(b) => match b.strip_suffix('\r') {
                Some(b) => (b, "\r\n"),
                None => (b, "\n"),
            },
            None => (line, ""),
        };
        let depth = body.bytes().take_while(|&b| b == b'>').count();
        let content = body.get(depth..).unwrap_or_default();
        let content = content.strip_prefix(' ').unwrap_or(content);
        let signature = content == "-- ";
        let is_flowed = !signature && content.ends_with(' ');
        if let Some((d, e)) = open
            && (d != depth || signature)
        {
            out.push_str(e);
            open = None;
        }
        let content = match content.strip_suffix(' ') {
            Some(c) if is_flowed && delsp => c,
            _ => content,
        };
        if open.is_none() && depth > 0 {
            out.extend(std::iter::repeat_n('>', depth));
            if !content.is_empty() || is_flowed {
                out.push(' ');
            }
        }
        out.push_str(content);
        if is_flowed {
            open = Some((depth, end));
        } else {
            out.push_str(end);
            open = None;
        }
    }
    if let Some((_, e)) = open {
        out.push_str(e);
    }
    out
}

/// Collects the text and attachments of `msg` (and of forwarded messages
/// inside it, whose text starts at `forwarded_at`).
fn collect(
    msg: &Message<'_>,
    text: &mut String,
    attachments: &mut Vec<Attachment>,
    forwarded_at: &mut Option<usize>,
    depth: usize,
) {
    let split = split_parts(msg);
    for id in split.bodies {
        let Some(part) = msg.parts.get(id as usize) else {
            continue;
        };
        match (&part.body, unterminated_body(msg, id, part)) {
            (PartType::Text(t), Some(TextKind::Plain)) => {
                push_text(text, &plain_text(part, unterminated_text(msg, part, t)));
            }
            (PartType::Text(h), Some(TextKind::Html)) => {
                let h = unterminated_text(msg, part, h);
                push_text(text, &crate::html::to_text(&h));
            }
            (PartType::Text(t), _) => push_text(text, &plain_text(part, part_text(msg, part, t))),
            (PartType::Html(h), _) => {
                let h = part_text(msg, part, h);
                push_text(text, &crate::html::to_text(&h));
            }
            _ => {}
        }
    }
    for id in &split.attachments {
        let Some(part) = msg.parts.get(*id as usize) else {
            continue;
        };
        match &part.body {
            PartType::Message(inner) => {
                forwarded_at.get_or_insert(text.len());
                if depth < MAX_NESTED_MESSAGES {
                    if let Some(s) = header_text(inner, HeaderName::Subject) {
                        push_text(text, &s);
                    }
                    for m in addresses(inner, HeaderName::From) {
                        push_text(text, &format!("{} {}", m.name, m.address));
                    }
                    collect(inner, text, attachments, forwarded_at, depth + 1);
                }
                if depth == 0 {
                    attachments.push(Attachment {
                        filename: part_filename(msg, part),
                        mime: "message/rfc822".into(),
                        size: part.len() as u64,
                    });
                }
            }
            _ => {
                if let Some(forwarded) = outlook_message(part, depth) {
                    forwarded_at.get_or_insert(text.len());
                    push_outlook_text(text, &forwarded);
                }
                if depth > 0 {
                    continue;
                }
                let mime = part
                    .content_type()
                    .map(|ct| match ct.subtype() {
                        Some(sub) => format!("{}/{}", ct.ctype(), sub),
                        None => ct.ctype().to_string(),
                    })
                    .unwrap_or_else(|| "application/octet-stream".into())
                    .to_lowercase();
                let filename = part_filename(msg, part);
                attachments.push(Attachment {
                    filename,
                    mime,
                    size: attachment_size(msg, part),
                });
            }
        }
    }
}

/// The mail inside an attachment that is an Outlook `.msg` (forwarded "as an
/// attachment" by Outlook), read as deep as forwarded messages are.
fn outlook_message(part: &MessagePart<'_>, depth: usize) -> Option<crate::outlook::OutlookMessage> {
    let bytes = match &part.body {
        PartType::Binary(b) | PartType::InlineBinary(b) => b.as_ref(),
        _ => return None,
    };
    if depth >= MAX_NESTED_MESSAGES || !crate::outlook::is_compound_file(bytes) {
        return None;
    }
    crate::outlook::read(bytes, MAX_NESTED_MESSAGES - depth - 1)
}

/// An Outlook message's text as a forwarded message/rfc822 part's: its
/// subject, its sender, its text, then the mails attached to it.
fn push_outlook_text(text: &mut String, m: &crate::outlook::OutlookMessage) {
    push_text(text, &m.subject);
    push_text(text, format!("{} {}", m.from_name, m.from_address).trim());
    push_text(text, &m.text);
    for inner in &m.attached {
        push_outlook_text(text, inner);
    }
}

fn push_text(text: &mut String, s: &str) {
    if s.trim().is_empty() || text.len() > MAX_INDEXED_TEXT {
        return;
    }
    if !text.is_empty() {
        text.push('\n');
    }
    text.push_str(s);
}

/// The text of a stored original as [`display`] gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DisplayText {
    pub text: String,
    /// Where in `text` the forwarded message/rfc822 parts begin (as
    /// [`ParsedMessage::forwarded_at`]); `text.len()` when there are none.
    pub forwarded_at: usize,
}

impl DisplayText {
    /// The text cut into the message's own lines and what it quotes or
    /// forwards ([`crate::quotes::parts_of`]).
    pub fn parts(&self) -> Vec<crate::quotes::Part<'_>> {
        crate::quotes::parts_of(&self.text, self.forwarded_at)
    }

    /// Only the lines the message writes itself (`--unquoted`), without the
    /// blank lines left at its end.
    pub fn unquoted(&self) -> String {
        let mut own: String = self
            .parts()
            .iter()
            .filter(|p| !p.quoted)
            .map(|p| p.text)
            .collect();
        own.truncate(own.trim_end().len());
        own.push('\n');
        own
    }
}

/// The display text of a stored original (for `show`, `thread --body`, snippets).
/// Only the text is extracted (no hashes, addresses or dates): this runs for
/// every search hit shown. Lines end with LF, whatever the mail's line ends
/// (CRLF in mail from Windows clients and Gmail's exports, a bare CR in old
/// Mac text, also inside a base64 or quoted-printable part, which
/// [`mail_bytes`] does not see): the same text whichever copy was stored,
/// and no CR for a terminal to show.
pub fn display(raw: &[u8]) -> DisplayText {
    let normalized = mail_bytes(raw);
    let (text, forwarded_at) = match parse_mime(&normalized) {
        Ok(msg) => {
            let mut text = String::new();
            let mut attachments = Vec::new();
            let mut forwarded_at = None;
            collect(&msg, &mut text, &mut attachments, &mut forwarded_at, 0);
            dismantle(msg);
            (text, forwarded_at)
        }
        Err(_) => (String::from_utf8_lossy(raw).into_owned(), None),
    };
    let forwarded_at = forwarded_at
        .filter(|&at| text.is_char_boundary(at))
        .unwrap_or(text.len());
    if !text.contains('\r') {
        return DisplayText { text, forwarded_at };
    }
    // Each side on its own, so that the boundary moves with the text.
    let lf = |t: &str| t.replace("\r\n", "\n").replace('\r', "\n");
    let (own, forwarded) = text.split_at(forwarded_at);
    let mut lf_text = lf(own);
    let forwarded_at = lf_text.len();
    lf_text.push_str(&lf(forwarded));
    DisplayText {
        text: lf_text,
        forwarded_at,
    }
}

/// [`display`]'s text alone.
pub fn display_text(raw: &[u8]) -> String {
    display(raw).text
}

/// Attachment `n` (1-based, in the order `show` lists them) of a message:
/// its file name as found in the mail (unsanitised) and its bytes as sent
/// (transfer encoding undone; a text attachment keeps its own charset).
pub fn attachment_bytes(raw: &[u8], n: usize) -> Option<(String, Vec<u8>)> {
    let normalized = mail_bytes(raw);
    let msg = parse_mime(&normalized).ok()?;
    let id = *split_parts(&msg).attachments.get(n.checked_sub(1)?)?;
    let part = msg.parts.get(id as usize)?;
    Some((part_filename(&msg, part), attachment_contents(&msg, part)))
}

/// The file name of a part, decoded. mail-parser's reading is used when the
/// header is plain ASCII; otherwise (raw 8-bit or ISO-2022-JP names, RFC 2231
/// names in Japanese charsets, encoded words split mid-character) the raw
/// Content-Disposition / Content-Type parameters are decoded here.
pub fn part_filename(msg: &Message<'_>, part: &MessagePart<'_>) -> String {
    let parsed = part.attachment_name().map(clean_line).unwrap_or_default();
    let raw = msg
        .raw_message
        .get(part.offset_header as usize..part.offset_body as usize)
        .unwrap_or_default();
    let tricky = !raw.is_ascii()
        || memchr::memmem::find(raw, b"=?").is_some()
        || memchr::memmem::find(raw, b"*=").is_some()
        || charset::needs_redecode(&parsed);
    if !tricky {
        return parsed;
    }
    raw_filename(raw)
        .map(|n| clean_line(&n))
        .filter(|n| !n.is_empty())
        .unwrap_or(parsed)
}

/// `filename` (Content-Disposition) or `name` (Content-Type) from a raw MIME
/// header block, with RFC 2231 continuations and charsets and RFC 2047 words.
fn raw_filename(header: &[u8]) -> Option<String> {
    // Unfold: a line starting with white space continues the previous one.
    let mut fields: Vec<Vec<u8>> = Vec::new();
    for line in header.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
            if let Some(last) = fields.last_mut() {
                last.push(b' ');
                last.extend_from_slice(line.trim_ascii_start());
            }
        } else if !line.is_empty() {
            fields.push(line.to_vec());
        }
    }
    let field = |name: &[u8]| {
        fields.iter().find(|f| {
            f.len() > name.len()
                && f[..name.len()].eq_ignore_ascii_case(name)
                && f[name.len()] == b':'
        })
    };
    for (header_name, param) in [
        (&b"content-disposition"[..], "filename"),
        (&b"content-type"[..], "name"),
    ] {
        if let Some(f) = field(header_name)
            && let Some(v) = mime_param(&f[header_name.len() + 1..], param)
        {
            return Some(v);
        }
    }
    None
}

/// Splits `; a=b; c="d"` parameters, honouring quotes.
fn mime_params(value: &[u8]) -> Vec<(String, Vec<u8>, bool)> {
    let mut out = Vec::new();
    let mut i = 0;
    // Skip the main value (e.g. `attachment`).
    while i < value.len() && value[i] != b';' {
        i += 1;
    }
    while i < value.len() {
        i += 1; // ';'
        while i < value.len() && value[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while i < value.len() && value[i] != b'=' && value[i] != b';' {
            i += 1;
        }
        let key = String::from_utf8_lossy(&value[start..i])
            .trim()
            .to_ascii_lowercase();
        if i >= value.len() || value[i] == b';' {
            continue;
        }
        i += 1; // '='
        while i < value.len() && value[i] == b' ' {
            i += 1;
        }
        let mut v = Vec::new();
        let quoted = i < value.len() && value[i] == b'"';
        if quoted {
            i += 1;
            while i < value.len() && value[i] != b'"' {
                if value[i] == b'\\' && i + 1 < value.len() {
                    i += 1;
                }
                v.push(value[i]);
                i += 1;
            }
            i += 1; // closing quote
            while i < value.len() && value[i] != b';' {
                i += 1;
            }
        } else {
            while i < value.len() && value[i] != b';' {
                v.push(value[i]);
                i += 1;
            }
            while v.last().is_some_and(|b| b.is_ascii_whitespace()) {
                v.pop();
            }
        }
        out.push((key, v, quoted));
    }
    out
}

/// One parameter, decoded: RFC 2231 (`name*=charset'lang'%XX`, `name*0*=`,
/// `name*1=`...) or plain (RFC 2047 words, raw 8-bit or ISO-2022-JP bytes).
fn mime_param(value: &[u8], name: &str) -> Option<String> {
    let params = mime_params(value);
    // RFC 2231: name* or name*0, name*1 ... (each possibly with a trailing *).
    let mut pieces: Vec<(u32, bool, &[u8])> = Vec::new();
    for (k, v, _) in &params {
        let Some(rest) = k.strip_prefix(name).and_then(|r| r.strip_prefix('*')) else {
            continue;
        };
        if rest.is_empty() {
            pieces.push((0, true, v));
        } else {
            let (num, encoded) = match rest.strip_suffix('*') {
                Some(n) => (n, true),
                None => (rest, false),
            };
            if let Ok(n) = num.parse::<u32>() {
                pieces.push((n, encoded, v));
            }
        }
    }
    if !pieces.is_empty() {
        pieces.sort_by_key(|p| p.0);
        let mut charset: Option<String> = None;
        let mut bytes = Vec::new();
        for (i, (_, encoded, v)) in pieces.iter().enumerate() {
            let mut v: &[u8] = v;
            if i == 0 && *encoded {
                // charset'language'value
                let mut parts = v.splitn(3, |&b| b == b'\'');
                if let (Some(cs), Some(_lang), Some(rest)) =
                    (parts.next(), parts.next(), parts.next())
                {
                    charset = Some(String::from_utf8_lossy(cs).into_owned());
                    v = rest;
                }
            }
            if *encoded {
                bytes.extend(percent_decode(v));
            } else {
                bytes.extend_from_slice(v);
            }
        }
        return Some(charset::decode_text(
            &bytes,
            charset.as_deref().filter(|c| !c.is_empty()),
        ));
    }
    params
        .iter()
        .find(|(k, _, _)| k == name)
        .map(|(_, v, _)| charset::decode_header(v))
}

fn percent_decode(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        if v[i] == b'%'
            && i + 2 < v.len()
            && let (Some(h), Some(l)) = (hex(v[i + 1]), hex(v[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(v[i]);
        i += 1;
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod filename_tests {
    use super::*;

    fn name_of(header: &str) -> Option<String> {
        raw_filename(header.as_bytes())
    }

    #[test]
    fn rfc2231_in_japanese_charsets() {
        assert_eq!(
            name_of("Content-Disposition: attachment;\r\n filename*=UTF-8''%E8%AB%8B%E6%B1%82%E6%9B%B8.pdf\r\n").as_deref(),
            Some("請求書.pdf")
        );
        // Continuations, Shift_JIS.
        assert_eq!(
            name_of("Content-Disposition: attachment; filename*0*=shift_jis''%90%BF%8B%81; filename*1*=%8F%91.pdf\n").as_deref(),
            Some("請求書.pdf")
        );
    }

    #[test]
    fn encoded_words_split_mid_character_and_raw_bytes() {
        // 請求書 in ISO-2022-JP split over two encoded words.
        let h = "Content-Type: application/pdf;\n name=\"=?ISO-2022-JP?B?GyRCQEE1YRsoQg==?= =?ISO-2022-JP?B?GyRCPXEbKEI=?=.pdf\"\n";
        assert_eq!(name_of(h).as_deref(), Some("請求書.pdf"));
        // Raw Shift_JIS bytes in a quoted name.
        let mut raw = b"Content-Disposition: attachment; filename=\"".to_vec();
        raw.extend_from_slice(&[0x90, 0xBF, 0x8B, 0x81, 0x8F, 0x91]);
        raw.extend_from_slice(b".pdf\"\n");
        assert_eq!(raw_filename(&raw).as_deref(), Some("請求書.pdf"));
    }

    #[test]
    fn disposition_wins_and_garbage_is_harmless() {
        let h = "Content-Type: application/pdf; name=\"a.pdf\"\nContent-Disposition: attachment; filename=\"b.pdf\"\n";
        assert_eq!(name_of(h).as_deref(), Some("b.pdf"));
        assert_eq!(
            name_of("Content-Disposition: attachment; filename*0*=%ZZ%\n").as_deref(),
            Some("%ZZ%")
        );
        assert_eq!(name_of("Content-Type: text/plain\n"), None);
        assert_eq!(name_of("Content-Disposition: ;;;=;\"\n"), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwards(depth: usize) -> String {
        let mut m = String::from("From: a@example.jp\nSubject: fwd\nMIME-Version: 1.0\n");
        for i in 0..depth {
            m.push_str(&format!(
                "Content-Type: message/rfc822\n\nSubject: level {i}\n"
            ));
        }
        m.push_str("Content-Type: text/plain\n\nbottom\n");
        m
    }

    /// Runs `f` on a thread with the 2 MiB stack import workers have.
    fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap()
    }

    #[test]
    fn the_text_is_cut_into_own_and_quoted_lines_once_and_the_signature_read_off_it() {
        let raw = "From: =?UTF-8?B?55Sw5Lit?= <tanaka@meisei.example>\nTo: okada@sakura.example\n\
                   Subject: Re:納期\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n\
                   株式会社さくら貿易\n岡田様\n\n承知しました。\n\n--\n明星建設株式会社\n購買部 田中\n\n\
                   -----Original Message-----\nFrom: okada@sakura.example\n\n--\n株式会社さくら貿易\n";
        let m = kura_parse(raw).unwrap();
        assert_eq!(m.organisation.as_deref(), Some("明星建設株式会社"));
        assert_eq!(m.parts(), crate::quotes::parts_of(&m.text, m.forwarded_at));
        assert_eq!(m.parts().len(), 2, "{:?}", m.parts());
        // A text changed after it was cut is cut again, never sliced wrong.
        let mut changed = m.clone();
        changed.text = "新しい本文\n> 引用\n".to_string();
        changed.forwarded_at = changed.text.len();
        assert_eq!(
            changed.parts(),
            crate::quotes::parts_of(&changed.text, changed.forwarded_at)
        );
        changed.text.clear();
        assert!(changed.parts().is_empty());
    }

    #[test]
    fn deep_forwards_are_rejected_without_overflowing_the_stack() {
        let ok = kura_parse(&forwards(MAX_NESTING)).unwrap();
        assert!(ok.text.contains("level 0"), "{}", ok.text);
        for depth in [MAX_NESTING + 1, 20_000] {
            let raw = forwards(depth);
            let r = on_small_stack(move || parse_message(raw.as_bytes(), None));
            assert_eq!(
                r.unwrap_err().reason,
                format!("forwarded messages nested more than {MAX_NESTING} levels deep")
            );
        }
    }

    /// A Date that mail-parser's date parser runs past takes the blank line
    /// after the header with it, and in the reading of earlier versions the
    /// body's first lines become header lines: here those of a message
    /// forwarded 100,000 levels deep, which that reading must reject (as
    /// earlier versions did) rather than drop, recursively, on the import
    /// worker's stack. The message itself is one text part.
    #[test]
    fn a_deep_forward_only_the_earlier_reading_sees_does_not_overflow_the_stack() {
        let raw = format!(
            "Subject: fwd\nDate: Mon, 15 Jan 2024 10:00:00 Z\n\n{}",
            forwards(100_000)
        );
        let m = on_small_stack(move || parse_message(raw.as_bytes(), None)).unwrap();
        assert!(m.text.contains("level 0"), "{}", m.text.len());
        assert_eq!(m.earlier_id, None);
    }

    fn kura_parse(s: &str) -> Result<ParsedMessage, Reject> {
        parse_message(s.as_bytes(), None)
    }

    fn b64(bytes: &[u8]) -> String {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for (i, chunk) in bytes.chunks(3).enumerate() {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
            for j in 0..4 {
                out.push(if j <= chunk.len() {
                    char::from(A[((n >> (18 - 6 * j)) & 63) as usize])
                } else {
                    '='
                });
            }
            if i % 19 == 18 {
                out.push_str("\r\n");
            }
        }
        out
    }

    fn encoded_forward(inner: &str) -> String {
        format!(
            "From: b@example.jp\r\nSubject: encoded\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"xx\"\r\n\r\n--xx\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--xx\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--xx--\r\n",
            b64(inner.as_bytes())
        )
    }

    /// Text attachments come back as sent: a Shift_JIS CSV in base64, an
    /// ISO-2022-JP note in 7bit and an EUC-JP one in quoted-printable keep
    /// their charsets (they were converted to UTF-8), and their recorded
    /// sizes are those of the bytes as sent.
    #[test]
    fn text_attachments_are_their_own_bytes_not_converted_to_utf8() {
        let csv: &[u8] = b"\x90\xbf\x8b\x81\x8f\x91,1200\r\n\x87@,\x81`\r\n"; // 請求書 ① ～
        let jis: &[u8] = b"\x1b$B@A5a=q\x1b(B\r\nline 2";
        let euc: &[u8] = b"\xc0\xc1\xb5\xe1\xbd\xf1 =\r\n";
        let mut raw = String::from(
            "From: a@example.jp\r\nSubject: csv\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nbody\r\n",
        );
        raw.push_str(&format!(
            "--b\r\nContent-Type: text/csv; charset=Shift_JIS\r\n\
Content-Disposition: attachment; filename=\"a.csv\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            b64(csv)
        ));
        let mut raw = raw.into_bytes();
        raw.extend_from_slice(
            b"--b\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\n\
Content-Disposition: attachment; filename=\"b.txt\"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n",
        );
        raw.extend_from_slice(jis);
        raw.extend_from_slice(
            b"\r\n--b\r\nContent-Type: text/plain; charset=EUC-JP\r\n\
Content-Disposition: attachment; filename=\"c.txt\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
=C0=C1=B5=E1=BD=F1 =3D\r\n\r\n--b--\r\n",
        );
        let m = parse_message(&raw, None).unwrap();
        let sizes: Vec<u64> = m.attachments.iter().map(|a| a.size).collect();
        assert_eq!(
            sizes,
            [csv.len() as u64, jis.len() as u64, euc.len() as u64]
        );
        for (n, want) in [(1, csv), (2, jis), (3, euc)] {
            let (_, got) = attachment_bytes(&raw, n).unwrap();
            assert_eq!(
                got,
                want,
                "attachment {n}: {}",
                String::from_utf8_lossy(&got)
            );
        }
        // A binary attachment is still its decoded contents.
        let pdf = b"%PDF-1.4\n\xe2\xe3\xcf\xd3\n%%EOF\n";
        let raw = format!(
            "From: a@example.jp\nSubject: pdf\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n\n\
--b\nContent-Type: text/plain\n\nbody\n--b\nContent-Type: application/pdf; name=\"q.pdf\"\n\
Content-Transfer-Encoding: base64\n\n{}\n--b--\n",
            b64(pdf)
        );
        assert_eq!(attachment_bytes(raw.as_bytes(), 1).unwrap().1, pdf);
    }

    /// A text part labelled UTF-8 is taken as mail-parser read it only when
    /// that reading lost nothing; otherwise it is decoded again (here: base64
    /// Shift_JIS under a UTF-8 label, and UTF-8 with one stray byte).
    #[test]
    fn utf8_labelled_parts_are_redecoded_only_when_reading_them_lost_something() {
        let part = |body: &[u8]| {
            let mut raw = b"From: a@example.jp\r\nSubject: s\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=\"UTF-8\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                .to_vec();
            raw.extend_from_slice(b64(body).as_bytes());
            raw.extend_from_slice(b"\r\n");
            parse_message(&raw, None).unwrap().text
        };
        assert_eq!(part("請求書の件".as_bytes()).trim(), "請求書の件");
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("請求書をお送りします。");
        assert_eq!(part(&sjis).trim(), "請求書をお送りします。");
        let mut stray = "請求書を送付します".as_bytes().to_vec();
        stray.insert(9, 0xff);
        let text = part(&stray);
        assert!(text.starts_with("請求書\u{FFFD}を送付"), "{text}");
    }

    #[test]
    fn deep_nesting_inside_a_base64_forward_is_found_before_parsing() {
        // A shallow encoded forward is parsed and its text indexed.
        let p = kura_parse(&encoded_forward(&forwards(3))).unwrap();
        assert!(p.text.contains("bottom"), "{}", p.text);
        assert_eq!(
            encoded_nesting(encoded_forward(&forwards(3)).as_bytes(), 0, &mut 16, &mut 0),
            4
        );
        // A deep one would recurse in mail-parser: rejected first.
        let raw = encoded_forward(&forwards(20_000));
        let r = on_small_stack(move || parse_message(raw.as_bytes(), None));
        assert_eq!(
            r.unwrap_err().reason,
            format!("encoded forwarded messages nest more than {MAX_NESTING} messages")
        );
        // Too many encoded forwards to scan.
        let many = (0..MAX_ENCODED_MESSAGES + 1)
            .map(|_| encoded_forward("Subject: x\n\ny\n"))
            .collect::<String>();
        assert!(kura_parse(&many).unwrap_err().reason.contains("base64"));
        // Plain mail is not scanned at all.
        assert_eq!(
            encoded_nesting(b"Subject: x\n\nmessage/rfc822\n", 0, &mut 16, &mut 0),
            0
        );
    }

    /// A file name of `n` RFC 2231 continuations.
    fn continued_name(n: usize) -> String {
        let pieces: String = (0..n)
            .map(|i| format!(";\n filename*{i}*=%E3%81%82"))
            .collect();
        format!(
            "From: a@example.jp\nSubject: names\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=z\n\n--z\nContent-Type: text/plain\n\nhi\n--z\nContent-Type: application/octet-stream\nContent-Disposition: attachment{pieces}\n\nx\n--z--\n"
        )
    }

    /// mail-parser joins each continuation to all the value before it: a
    /// name of 300,000 pieces took seconds (a 64 MiB one, hours). Too many are rejected before
    /// parsing, also inside a base64 forward; a name of a few dozen is read.
    #[test]
    fn too_many_rfc2231_continuations_are_rejected_before_parsing() {
        let p = kura_parse(&continued_name(40)).unwrap();
        assert_eq!(p.attachments[0].filename, "あ".repeat(40));
        assert!(kura_parse(&continued_name(MAX_CONTINUATIONS)).is_ok());
        let started = std::time::Instant::now();
        let reason = |raw: &str| kura_parse(raw).unwrap_err().reason;
        let want = format!(
            "more than {MAX_CONTINUATIONS} RFC 2231 continuations in one Content-Type or Content-Disposition field"
        );
        assert_eq!(reason(&continued_name(300_000)), want);
        assert_eq!(reason(&encoded_forward(&continued_name(300_000))), want);
        // Some 1.6 s in a debug build, 2.5 s on a busy machine; joining
        // the continuations took minutes.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
        // Counted per field, and only in those two.
        let two_fields = continued_name(200).replace(
            "Content-Type: application/octet-stream",
            &format!(
                "Content-Type: application/octet-stream{}",
                (0..200)
                    .map(|i| format!("; name*{i}=a"))
                    .collect::<String>()
            ),
        );
        assert_eq!(most_continuations(two_fields.as_bytes()), 199);
        let subject = format!("Subject: {}\n", "a*1=".repeat(1000));
        assert_eq!(most_continuations(subject.as_bytes()), 0);
        assert!(is_continuation(b"name*1*=", 4));
        assert!(is_continuation(b"name* 12 =", 4));
        assert!(!is_continuation(b"name*0*=", 4));
        assert!(!is_continuation(b"name*=", 4));
        assert!(!is_continuation(b" *1=", 1));
    }

    #[test]
    fn dismantle_takes_apart_what_drop_would_recurse_into() {
        let raw = forwards(20_000);
        on_small_stack(move || {
            let msg = parser().parse(raw.as_bytes()).unwrap();
            assert_eq!(nesting(&msg), 20_000);
            dismantle(msg);
        });
    }

    #[test]
    fn helpers_of_the_scan() {
        assert_eq!(lenient_base64(b"aGVs\r\nbG8=\r\n--b"), b"hello");
        assert_eq!(lenient_base64(b"aGVsbA"), b"hell");
        assert_eq!(lenient_base64(b"*aGVs"), b"");
        assert_eq!(find_ci(b"xx Content-TYPE: a", b"content-type"), Some(3));
        assert_eq!(find_ci(b"content-typ", b"content-type"), None);
        // The anchor (`-`, `/`) may come first in places that do not match.
        assert_eq!(
            find_ci(b"-/ a-b x/y Content-Type", b"content-type"),
            Some(11)
        );
        assert_eq!(
            find_ci(b"multi/part MULTIPART/Digest", b"multipart/digest"),
            Some(11)
        );
        assert_eq!(find_ci(b"t-type", b"content-type"), None);
        assert_eq!(find_ci(b"encoding: BASE64", b"base64"), Some(10));
        assert_eq!(find_ci(b"Hello", b"hello"), Some(0));
        assert_eq!(
            message_types(b"Message/RFC822 message/global message/partial"),
            2
        );
        assert_eq!(media_types(b"/rfc822 message/ Multipart/DIGEST"), (0, true));
        assert_eq!(media_types(b"multipart/mixed message/rfc822"), (1, false));
        let raw = b"A: 1\r\nB: 2\r\n\r\nbody\n  \nrest";
        assert_eq!(block_end(raw, 0), 14);
        assert_eq!(block_end(raw, 14), 22);
        assert_eq!(block_end(raw, 22), raw.len());
    }

    #[test]
    fn a_byte_order_mark_and_blank_lines_before_the_header_are_skipped() {
        let mail = "From: =?UTF-8?B?5bGx55Sw?= <yamada@example.jp>\r\nSubject: \
                    =?UTF-8?B?6KuL5rGC5pu4?=\r\nMessage-ID: <lead@example.jp>\r\n\r\n\
                    請求書をお送りします。\r\n";
        for lead in [
            &b"\xEF\xBB\xBF"[..],
            b"\n\n",
            b"\r\n",
            b"\xEF\xBB\xBF\r\n\r\n",
        ] {
            let raw = [lead, mail.as_bytes()].concat();
            let m = parse_message(&raw, None).unwrap();
            assert_eq!(m.subject, "請求書", "{lead:?}");
            assert_eq!(m.message_id, "lead@example.jp", "{lead:?}");
            assert_eq!(m.from.as_ref().map(|f| f.name.as_str()), Some("山田"));
            assert!(
                display_text(&raw).contains("請求書をお送りします"),
                "{lead:?}"
            );
        }
        // Old Mac line ends after a byte order mark.
        let m = parse_message(
            b"\xEF\xBB\xBFSubject: mac\rFrom: a@x.example\r\rbody\r",
            None,
        )
        .unwrap();
        assert_eq!(m.subject, "mac");
        // What is not mail after them is still rejected.
        assert!(parse_message(b"\xEF\xBB\xBF\n\njust some text\n", None).is_err());
    }

    #[test]
    fn a_message_without_an_id_keeps_the_name_earlier_versions_gave_it() {
        let m = kura_parse(
            "From: =?UTF-8?B?55Sw5Lit?= <tanaka@example.jp>\nTo: info@example.co.jp\n\
             Subject: =?UTF-8?B?6KuL5rGC5pu4?=\n  folded\nDate: Mon, 4 Mar 2024 10:00:00 +0900\n\n\
             請求書をお送りします。\n",
        )
        .unwrap();
        assert!(m.synthetic_id);
        assert_eq!(
            m.message_id,
            "b1a0266b678dd3fb3bdc90bf9fd0ac17@kura.invalid"
        );
    }

    #[test]
    fn copies_rewritten_by_gateways_have_the_same_content() {
        let mail = |from: &str, subject: &str, date: &str, body: &str| {
            kura_parse(&format!(
                "From: {from}\nTo: info@example.co.jp, b@example.jp\nSubject: {subject}\n\
                 Message-ID: <same@example.jp>\nDate: {date}\n\n{body}"
            ))
            .unwrap()
            .content_hash
        };
        let date = "Mon, 4 Mar 2024 10:00:00 +0900";
        let first = mail(
            "田中 <tanaka@example.jp>",
            "請求書の件 について",
            date,
            "本文\n",
        );
        for (what, copy) in [
            (
                "folded, other name encoding",
                mail(
                    "=?ISO-2022-JP?B?GyRCRURDZhsoQg==?= <Tanaka@Example.jp>",
                    "=?UTF-8?B?6KuL5rGC5pu444Gu5Lu2?=\n  について",
                    date,
                    "本文\r\n\r\n",
                ),
            ),
            (
                "bare address, the date in UTC with a comment",
                mail(
                    "tanaka@example.jp",
                    "請求書の件  について",
                    "Mon, 4 Mar 2024 01:00:00 +0000 (UTC)",
                    "本文\n",
                ),
            ),
        ] {
            assert_eq!(copy, first, "{what}");
        }
        for (what, copy) in [
            (
                "sender",
                mail("suzuki@example.jp", "請求書の件 について", date, "本文\n"),
            ),
            (
                "subject",
                mail("tanaka@example.jp", "請求書の件", date, "本文\n"),
            ),
            (
                "date",
                mail(
                    "tanaka@example.jp",
                    "請求書の件 について",
                    "Mon, 4 Mar 2024 10:00:01 +0900",
                    "本文\n",
                ),
            ),
            (
                "body",
                mail(
                    "tanaka@example.jp",
                    "請求書の件 について",
                    date,
                    "本文です\n",
                ),
            ),
        ] {
            assert_ne!(copy, first, "{what}");
        }
    }

    #[test]
    fn bare_cr_line_ends_become_lines() {
        assert_eq!(
            cr_line_endings(b"Subject: a\rFrom: b\r\rbody\r\n").as_deref(),
            Some(&b"Subject: a\nFrom: b\n\nbody\r\n"[..])
        );
        // CRLF, LF, and a bare CR later in an LF message are left alone.
        assert_eq!(cr_line_endings(b"Subject: a\r\nX: y\r\n"), None);
        assert_eq!(cr_line_endings(b"Subject: a\nX: y\rz\n"), None);
        assert_eq!(cr_line_endings(b"no line end"), None);
        let p = kura_parse("From: a@example.jp\rSubject: old mac\r\rhello\r").unwrap();
        assert_eq!(p.subject, "old mac");
        assert_eq!(p.text.trim_end(), "hello");
        // The same message with CRLF is a duplicate, not a conflict.
        let q = kura_parse("From: a@example.jp\r\nSubject: old mac\r\n\r\nhello\r\n").unwrap();
        assert_eq!(p.content_hash, q.content_hash);
    }

    #[test]
    fn date_falls_back_to_the_newest_received() {
        // The date part of a folded Received: value.
        assert_eq!(
            received_date(b" from mx.example.jp (mx [192.0.2.1])\r\n\tby mail.example.jp;\r\n\tFri, 9 Apr 2021 02:50:30 +0900\r\n", Zone::Utc),
            Some(1_617_904_230)
        );
        assert_eq!(received_date(b" from a by b", Zone::Utc), None);
        assert_eq!(received_date(b" from a by b; not a date", Zone::Utc), None);
        let p = kura_parse(
            "Received: from a by b; Fri, 9 Apr 2021 02:50:30 +0900\n\
             Received: from c by a; Thu, 8 Apr 2021 10:00:00 +0900\n\
             From: a@example.jp\nSubject: no date\n\nbody\n",
        )
        .unwrap();
        assert_eq!(
            (p.date, p.date_source),
            (1_617_904_230, DateSource::Received)
        );
        // Date: wins when present.
        let q = kura_parse(
            "Received: from a by b; Fri, 9 Apr 2021 02:50:30 +0900\n\
             Date: Thu, 1 Apr 2021 09:00:00 +0900\n\
             From: a@example.jp\n\nbody\n",
        )
        .unwrap();
        assert_eq!((q.date, q.date_source), (1_617_235_200, DateSource::Header));
    }

    #[test]
    fn a_zoneless_date_without_a_receipt_is_recorded_as_read_in_the_local_zone() {
        let p = kura_parse("Date: 2024/01/15 10:00:00\nFrom: a@example.jp\n\nbody\n").unwrap();
        assert_eq!(p.date_source, DateSource::LocalHeader);
        assert_eq!(
            DateSource::from_name("date-local"),
            Some(DateSource::LocalHeader)
        );
        // Placed by its receipt, it is another zone's reading no more.
        let p = kura_parse(
            "Received: from a by b; Mon, 15 Jan 2024 10:05:00 +0900\n\
             Date: 2024/01/15 10:00:00\nFrom: a@example.jp\n\nbody\n",
        )
        .unwrap();
        assert_eq!(p.date_source, DateSource::Header);
        // A receipt days before it (a bounce quoting the date it bounced
        // from) places it nowhere: the local zone's reading.
        let p = kura_parse(
            "Received: from a by b; Thu, 29 Apr 2007 23:34:45 +0000\n\
             Date: Wed, 3 May 2007 23:34:45\nFrom: a@example.jp\n\nbody\n",
        )
        .unwrap();
        assert_eq!(p.date_source, DateSource::LocalHeader);
    }

    /// Shift_JIS words whose bytes are all 0x80 to 0x9F or ASCII (`東京` is
    /// 93 8C 8B 9E) in a Subject and a display name labelled ISO-8859-1 or
    /// windows-1252: mail-parser reads them as windows-1252 punctuation
    /// (`“Œ‹ž`), not the Latin-1 range, and they are Japanese all the same.
    #[test]
    fn japanese_under_a_latin_label_read_as_windows_1252_punctuation() {
        for label in ["ISO-8859-1", "windows-1252"] {
            let p = kura_parse(&format!(
                "From: =?{label}?Q?=93=8C=8B=9E?= <t@example.jp>\nTo: b@example.jp\n\
                 Subject: =?{label}?Q?=93=8C=8B=9E?=\nMessage-ID: <tokyo@x>\n\
                 Date: Mon, 15 Jan 2024 10:00:00 +0900\n\nx\n"
            ))
            .expect("parses");
            assert_eq!(p.subject, "東京", "{label}");
            assert_eq!(p.from.map(|m| m.name).as_deref(), Some("東京"), "{label}");
        }
    }

    /// Dates as PHP form mailers and old Japanese mailers write them: a zone
    /// named outside RFC 5322's list, or none at all (read in the local zone,
    /// here Japan's).
    #[test]
    fn dates_with_a_named_zone_or_none_are_read() {
        let jst = Zone::japan();
        // 2024-01-15 10:00 in Japan, and in UTC.
        let (japan, utc) = (1_705_280_400, 1_705_312_800);
        for (date, zone, t) in [
            ("Mon, 15 Jan 2024 10:00:00 JST", Zone::Utc, Some(japan)),
            ("Mon, 15 Jan 2024 10:00:00 jst", Zone::Utc, Some(japan)),
            (
                "Mon, 15 Jan 2024 10:00:00 +0900 (JST)",
                Zone::Utc,
                Some(japan),
            ),
            (
                "Mon, 15 Jan 2024 10:00:00 JST (Japan\\) time)",
                Zone::Utc,
                Some(japan),
            ),
            ("Mon, 15 Jan 2024 02:00:00 CET", Zone::Utc, Some(japan)),
            // A name after a numeric zone only names it (PHP's `O T`).
            (
                "Mon, 15 Jan 2024 10:00:00 +0900 JST",
                Zone::Utc,
                Some(japan),
            ),
            ("Mon, 15 Jan 2024 02:00:00 +0100 CET", jst, Some(japan)),
            (
                "Mon, 15 Jan 2024 10:00:00 +09:00 JST",
                Zone::Utc,
                Some(japan),
            ),
            ("Mon,\r\n 15 Jan 2024 10:00:00 KST", Zone::Utc, Some(japan)),
            ("Mon, 15 Jan 2024 10:00:00", jst, Some(japan)),
            ("15 Jan 2024 10:00", jst, Some(japan)),
            ("Mon, 15 Jan 2024 10:00:00", Zone::Utc, Some(utc)),
            // RFC 5322's names as mail-parser reads them; an unknown one is UTC.
            ("Sun, 14 Jan 2024 20:00:00 EST", jst, Some(japan)),
            ("Mon, 15 Jan 2024 10:00:00 GMT", jst, Some(utc)),
            ("Mon, 15 Jan 2024 10:00:00 XYZ", jst, Some(utc)),
            // A name with a numeric offset: the offset.
            ("Mon, 15 Jan 2024 10:00:00 GMT+0900", Zone::Utc, Some(japan)),
            (
                "Mon, 15 Jan 2024 10:00:00 GMT+09:00",
                Zone::Utc,
                Some(japan),
            ),
            ("Mon, 15 Jan 2024 10:00:00 UTC+9", Zone::Utc, Some(japan)),
            ("Mon, 15 Jan 2024 01:00:00 GMT", jst, Some(japan)),
            ("Sun, 14 Jan 2024 20:00:00 GMT-0500", jst, Some(japan)),
            // Not RFC 5322's form: ISO 8601, slashed, asctime and date(1),
            // IMAP's, spelt out.
            ("2024-01-15T10:00:00+09:00", Zone::Utc, Some(japan)),
            ("2024-01-15T01:00:00Z", jst, Some(japan)),
            ("2024-01-15T01:00:00.250Z", jst, Some(japan)),
            ("2024-01-15 10:00:00 +0900", Zone::Utc, Some(japan)),
            ("2024-01-15 10:00:00 JST", Zone::Utc, Some(japan)),
            ("2024-01-15 10:00:00", jst, Some(japan)),
            ("2024/01/15 10:00:00", jst, Some(japan)),
            ("2024/01/15(月) 10:00", jst, Some(japan)),
            ("2024/1/15 10:00", Zone::Utc, Some(utc)),
            ("Mon Jan 15 10:00:00 2024", jst, Some(japan)),
            ("Mon Jan 15 10:00:00 JST 2024", Zone::Utc, Some(japan)),
            ("Mon Jan 15 01:00:00 UTC 2024", jst, Some(japan)),
            ("15-Jan-2024 10:00:00 +0900", Zone::Utc, Some(japan)),
            ("Monday, January 15, 2024 10:00 AM", jst, Some(japan)),
            (
                "January 15, 2024 7:00 PM GMT+0900",
                Zone::Utc,
                Some(japan + 9 * 3600),
            ),
            (
                "Jan 15 2024 12:30 am",
                Zone::Utc,
                Some(utc - 10 * 3600 + 1800),
            ),
            ("Sun 14 Jan 2024 08:00:00 PM EST", jst, Some(japan)),
            (
                "Monday, January 15, 2024 9:00 AM",
                Zone::Utc,
                Some(utc - 3600),
            ),
            // No real instant, no time, a part twice or a word that is no
            // part of a date: not read.
            ("Wed, 31 Feb 2021 09:00:00 JST", jst, None),
            ("Wed, 31 Feb 2021 09:00:00", jst, None),
            ("2021-02-31 09:00:00", jst, None),
            ("2024-01-15 25:00:00", jst, None),
            ("2024-01-15 10:00:00 +1500", jst, None),
            ("2024-01-15", jst, None),
            ("10:00:00", jst, None),
            ("2024-01-15 10:00 11:00", jst, None),
            ("Jan 15 2024 10:00 +0900 +0900", jst, None),
            ("15 2024-01-15 10:00", jst, None),
            ("2024-01-15 13:00 PM", jst, None),
            ("2024-01-15 10:00 tomorrow", jst, None),
            ("24-01-15 10:00", jst, None),
            ("id 12345; 2024-01-15 10:00", jst, None),
        ] {
            let read = match read_date(date.as_bytes()) {
                Some(WrittenDate::Instant(t)) => Some(t),
                Some(WrittenDate::Wall(wall)) => zone.instant(wall).map(|t| t.timestamp()),
                None => None,
            };
            assert_eq!(read, t, "{date}");
        }
        assert_eq!(
            received_date(b"from a by b; Mon, 15 Jan 2024 10:00:00 JST", Zone::Utc),
            Some(japan)
        );
    }

    /// Only RFC 5322's order (`15 Jan 2024`) is read by mail-parser: the forms
    /// [`other_date`] reads are the dates they say with a zone too, where
    /// mail-parser read a slashed date with a zone as 19 October 2000 and
    /// asctime with a numeric zone (Ruby's `Time#to_s` of old, Twitter's) as
    /// 14 October 2000; without a year no date is read.
    #[test]
    fn only_rfc_5322s_order_is_read_by_mail_parser() {
        let jst = Zone::japan();
        let japan = 1_705_280_400;
        for (date, t) in [
            ("2024/01/15(月) 10:00:00 +0900", Some(japan)),
            ("2024/01/15 10:00 GMT+0900", Some(japan)),
            ("2024/01/15 01:00:00 -0000", Some(japan)),
            ("Mon Jan 15 10:00:00 +0900 2024", Some(japan)),
            ("Mon Jan 15 10:00:00 2024 +0900", Some(japan)),
            ("Mon Jan 15 10:00:00 2024 JST", Some(japan)),
            ("2024 Jan 15 10:00", Some(japan)),
            ("Mon, 15 Jan 2024 10:00:00 +0900", Some(japan)),
            ("Mon,15 Jan 24 10:00 JST", Some(japan)),
            ("15 Jan. 2024 10:00:00 +0900", Some(japan)),
            ("Mon Jan 15 10:00:00 +0900", None),
            ("Jan 15 10:00:00", None),
        ] {
            let read = match read_date(date.as_bytes()) {
                Some(WrittenDate::Instant(t)) => Some(t),
                Some(WrittenDate::Wall(wall)) => jst.instant(wall).map(|t| t.timestamp()),
                None => None,
            };
            assert_eq!(read, t, "{date}");
        }
    }

    /// IMAP's dates (`15-Oct-2024`) of every month are the dates RFC 5322's
    /// form says, with a time after a space or ISO 8601's `T`: the `t` of
    /// `Oct` starts no time.
    #[test]
    fn imap_dates_of_every_month_are_read() {
        let instant = |date: &str| match read_date(date.as_bytes()) {
            Some(WrittenDate::Instant(t)) => Some(t),
            _ => None,
        };
        for month in [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ] {
            let want = instant(&format!("15 {month} 2024 10:00:00 +0900"));
            assert!(want.is_some(), "{month}");
            for date in [
                format!("15-{month}-2024 10:00:00 +0900"),
                format!("15-{}-2024 10:00:00 +0900", month.to_lowercase()),
                format!("15-{month}-2024T10:00:00+09:00"),
            ] {
                assert_eq!(instant(&date), want, "{date}");
            }
        }
    }

    /// Copies of one mail whose Date a gateway rewrote in another zone, or
    /// with the zone's name for its offset, are the same message (a
    /// duplicate, not a conflict); another instant is not.
    #[test]
    fn the_content_hash_counts_the_date_as_read() {
        let hash = |date: &str| {
            kura_parse(&format!(
                "Date: {date}\nFrom: a@example.jp\nSubject: s\n\nbody\n"
            ))
            .unwrap()
            .content_hash
        };
        let one = hash("Mon, 15 Jan 2024 10:00:00 +0900");
        assert_eq!(hash("Mon, 15 Jan 2024 10:00:00 JST"), one);
        assert_eq!(hash("Mon, 15 Jan 2024 01:00:00 +0000 (UTC)"), one);
        assert_ne!(hash("Mon, 15 Jan 2024 10:00:00 +0000"), one);
        assert_ne!(hash("Mon, 15 Jan 2024 10:00:00"), one);
    }

    /// A Date without a zone beside a Received date: in the local zone when
    /// that reads as written just before its receipt, else in the zone that
    /// does (whatever the zone of whoever imports it).
    #[test]
    fn a_zoneless_date_is_read_in_the_zone_its_receipt_says() {
        let jst = Zone::japan();
        let wall = chrono::NaiveDate::from_ymd_opt(2024, 1, 15)
            .and_then(|d| d.and_hms_opt(10, 0, 0))
            .expect("a date");
        // 10:00 in Japan, and in UTC.
        let (japan, utc) = (1_705_280_400, 1_705_312_800);
        // With whether the receipt placed it (else it is the local zone's).
        for (received, local, want, why) in [
            (
                Some(japan + 5),
                Zone::Utc,
                (japan, true),
                "sent from Japan, read in UTC",
            ),
            (
                Some(japan + 5),
                jst,
                (japan, true),
                "sent from Japan, read in Japan",
            ),
            (
                Some(utc + 5),
                jst,
                (utc, true),
                "sent from a UTC server, read in Japan",
            ),
            (
                Some(japan + 3600),
                jst,
                (japan, true),
                "delivered an hour late",
            ),
            (
                Some(japan + 86_400),
                Zone::Utc,
                (utc, false),
                "no zone puts it near: local",
            ),
            (None, Zone::Utc, (utc, false), "no Received: local"),
            (None, jst, (japan, false), "no Received: local"),
        ] {
            assert_eq!(zoneless_instant(wall, received, local), Some(want), "{why}");
        }
        // Through parsing: a form mailer's zone-less Date, read in UTC.
        let p = kura_parse(
            "Received: from web by mx; Mon, 15 Jan 2024 10:00:05 +0900\n\
             Date: Mon, 15 Jan 2024 10:00:00\nFrom: form@example.jp\n\nbody\n",
        )
        .unwrap();
        assert_eq!(p.date_source, DateSource::Header);
        // (The test process's zone is whatever the machine's is: either
        // reading gives the instant in Japan.)
        assert_eq!(p.date, japan);
    }

    /// A Date: that names no real instant is absurd, like a missing one: the
    /// newest Received: date is used. (mail-parser reads year 0000 as 2000,
    /// accepts a zone of +23:59, reads +2500 as +01:00, and rolls 31
    /// February over to 3 March.)
    #[test]
    fn impossible_header_dates_fall_back_to_received() {
        for date in [
            "Mon, 1 Jan 0000 00:00:00 +0000",
            "Thu, 1 Apr 2021 09:00:00 +2359",
            "Thu, 1 Apr 2021 09:00:00 -1500",
            // Read modulo 24 hours by mail-parser: +01:00, -02:00.
            "Thu, 1 Apr 2021 09:00:00 +2500",
            "Thu, 1 Apr 2021 09:00:00 -2600",
            "Wed, 31 Feb 2021 09:00:00 +0900",
            "Thu, 31 Apr 2021 09:00:00 +0900",
            "Mon, 29 Feb 2021 09:00:00 +0900",
        ] {
            let p = kura_parse(&format!(
                "Received: from a by b; Fri, 9 Apr 2021 02:50:30 +0900\n\
                 Date: {date}\nFrom: a@example.jp\n\nbody\n"
            ))
            .unwrap();
            assert_eq!(
                (p.date, p.date_source),
                (1_617_904_230, DateSource::Received),
                "{date}"
            );
        }
        // Real edge cases stay: a leap day, the widest zones, 2-digit years.
        for (date, t) in [
            ("Mon, 29 Feb 2016 09:00:00 +0900", 1_456_704_000),
            ("Sat, 1 Jan 2000 00:00:00 +1400", 946_634_400),
            ("Sat, 1 Jan 2000 00:00:00 -1200", 946_728_000),
            ("Thu, 1 Apr 21 09:00:00 +0900", 1_617_235_200),
        ] {
            let p = kura_parse(&format!("Date: {date}\nFrom: a@example.jp\n\nbody\n")).unwrap();
            assert_eq!((p.date, p.date_source), (t, DateSource::Header), "{date}");
        }
    }

    /// The sender in a header block kept apart from its mail (an Outlook
    /// message's transport headers): its From, as a mail's own is read.
    #[test]
    fn the_sender_of_a_header_block_is_its_from() {
        let sender = |block: &str| header_block_sender(block).map(|m| (m.name, m.address));
        let pair = |name: &str, address: &str| Some((name.to_string(), address.to_string()));
        let block = "Received: from mx.aoba.example by ex.hibiki.example\r\n\
                     Subject: =?ISO-2022-JP?B?GyRCNmI3PxsoQg==?=\r\n\
                     From: =?ISO-2022-JP?B?GyRCQERNVRsoQiAbJEI8IU86GyhC?=\r\n\
                     \t<J.Aoba@Aoba.example>\r\nTo: x@hibiki.example\r\n\r\n";
        assert_eq!(sender(block), pair("青葉 次郎", "j.aoba@aoba.example"));
        // Exchange 2003's first line is no header; LF lines; UTF-8 names as
        // Outlook keeps them in its strings.
        let exchange = "Microsoft Mail Internet Headers Version 2.0\n\
                        From: \"松本 花子\" <matsumoto@kaede.example>\nSubject: x\n";
        assert_eq!(
            sender(exchange),
            pair("松本 花子", "matsumoto@kaede.example")
        );
        // What follows the block's end is not read; a From without an
        // address is no sender.
        assert_eq!(sender("Subject: x\n\nFrom: a@b.example\n"), None);
        assert_eq!(sender("From: undisclosed\nSubject: x\n"), None);
        assert_eq!(sender(""), None);
        assert_eq!(sender("\u{0}\u{FFFD}garbage without a header"), None);
    }
}

#[cfg(test)]
mod flowed_tests {
    use super::*;

    #[test]
    fn a_soft_break_is_joined_without_its_space_when_delsp_is_yes() {
        assert_eq!(
            unflow("見積と請求 \r\n書です\r\n", true),
            "見積と請求書です\r\n"
        );
        assert_eq!(unflow("見積と請求 \n書です\n", true), "見積と請求書です\n");
        // delsp=no: the space is part of the text.
        assert_eq!(unflow("hello \r\nworld\r\n", false), "hello world\r\n");
        assert_eq!(unflow("hello \nworld\n", false), "hello world\n");
        // Several soft breaks make one line; a hard break ends it.
        assert_eq!(
            unflow("one \ntwo \nthree\nfour\n", false),
            "one two three\nfour\n"
        );
        // A line ending without a space is not flowed.
        assert_eq!(unflow("見積と請求\n書です\n", true), "見積と請求\n書です\n");
        // Only a space makes a line flowed, and only one is removed.
        assert_eq!(unflow("a\t\nb\n", true), "a\t\nb\n");
        assert_eq!(unflow("a  \nb\n", true), "a b\n");
    }

    #[test]
    fn crlf_and_lf_read_alike() {
        let lf = "> 見積と請求 \n> 書です\n\n -- \nsig \nend";
        let crlf = lf.replace('\n', "\r\n");
        for delsp in [false, true] {
            assert_eq!(
                unflow(&crlf, delsp),
                unflow(lf, delsp).replace('\n', "\r\n")
            );
        }
        assert_eq!(unflow(lf, true), "> 見積と請求書です\n\n-- \nsigend");
    }

    #[test]
    fn quoted_lines_join_only_at_the_same_depth() {
        assert_eq!(unflow("> one \n> two\n", false), "> one two\n");
        assert_eq!(unflow(">one \n>two\n", true), "> onetwo\n");
        assert_eq!(unflow(">> a \n>>b\n", false), ">> a b\n");
        // Another depth ends the flowed line (it keeps its space without delsp).
        assert_eq!(unflow("> one \n>> two\n", false), "> one \n>> two\n");
        assert_eq!(unflow("> one \n>> two\n", true), "> one\n>> two\n");
        assert_eq!(unflow(">> a \nb\n", true), ">> a\nb\n");
        assert_eq!(unflow("a \n> b\n", true), "a\n> b\n");
        // An empty quoted line stays one.
        assert_eq!(unflow("> a\n>\n> b\n", true), "> a\n>\n> b\n");
    }

    #[test]
    fn space_stuffing_is_removed() {
        assert_eq!(
            unflow(" From here\n  indented\n >not a quote\n", false),
            "From here\n indented\n>not a quote\n"
        );
        // After the quote marks too.
        assert_eq!(unflow(">  indented\n", false), ">  indented\n");
        assert_eq!(unflow("> quoted\n", false), "> quoted\n");
    }

    #[test]
    fn the_signature_separator_is_never_flowed() {
        assert_eq!(unflow("-- \nName\n", true), "-- \nName\n");
        // A flowed line before it ends there.
        assert_eq!(unflow("text \n-- \nName\n", true), "text\n-- \nName\n");
        assert_eq!(unflow("text \n-- \nName\n", false), "text \n-- \nName\n");
        // Stuffed or quoted, it is still one.
        assert_eq!(unflow(" -- \nName\n", true), "-- \nName\n");
        assert_eq!(unflow("> -- \n> Name\n", true), "> -- \n> Name\n");
        // `--` with more after it is a flowed line like any other.
        assert_eq!(unflow("--  \nx\n", true), "-- x\n");
    }

    #[test]
    fn a_flowed_line_at_the_end_just_ends() {
        assert_eq!(unflow("a \r\nb \r\n", true), "ab\r\n");
        assert_eq!(unflow("a \nb ", true), "ab");
        assert_eq!(unflow("a \nb ", false), "a b ");
        assert_eq!(unflow("", true), "");
        assert_eq!(unflow("\n", true), "\n");
    }

    fn mail(content_type: &str, encoding: &str, body: &[u8]) -> Vec<u8> {
        let mut raw = format!(
            "From: a@example.jp\r\nSubject: flowed\r\nMIME-Version: 1.0\r\n\
             Content-Type: {content_type}\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n"
        )
        .into_bytes();
        raw.extend_from_slice(body);
        raw
    }

    /// Thunderbird's Japanese mail: ISO-2022-JP, flowed, delsp=yes; the
    /// text kura indexes and shows has the soft break undone, the original
    /// is not touched.
    #[test]
    fn flowed_parts_are_indexed_and_shown_joined() {
        let (jis, _, _) = encoding_rs::ISO_2022_JP.encode("見積と請求 \r\n書です。\r\n");
        let raw = mail(
            "text/plain; charset=ISO-2022-JP; format=flowed; delsp=yes",
            "7bit",
            &jis,
        );
        let m = parse_message(&raw, None).unwrap();
        assert_eq!(m.text.trim_end(), "見積と請求書です。");
        assert_eq!(display_text(&raw).trim_end(), "見積と請求書です。");
        // Quoted-printable UTF-8, the soft-break space written =20.
        let raw = mail(
            "text/plain; charset=utf-8; Format=Flowed",
            "quoted-printable",
            b"hello=20\r\nworld\r\n> =E8=AB=8B=E6=B1=82=20\r\n> =E6=9B=B8\r\n",
        );
        assert_eq!(
            parse_message(&raw, None).unwrap().text.trim_end(),
            "hello world\r\n> 請求 書"
        );
        // Without format=flowed (or in HTML) a trailing space is only a space.
        for ct in [
            "text/plain; charset=utf-8",
            "text/plain; charset=utf-8; format=fixed; delsp=yes",
        ] {
            let raw = mail(ct, "8bit", "見積と請求 \r\n書です\r\n".as_bytes());
            assert_eq!(
                parse_message(&raw, None).unwrap().text.trim_end(),
                "見積と請求 \r\n書です",
                "{ct}"
            );
        }
    }

    /// The text of a message forwarded as an attachment comes after the
    /// message's own text, and `forwarded_at` says where, also once CRLF
    /// line ends are made LF.
    #[test]
    fn display_says_where_the_forwarded_text_begins() {
        let raw = b"From: a@example.jp\r\nSubject: FW\r\nMIME-Version: 1.0\r\n\
            Content-Type: multipart/mixed; boundary=B\r\n\r\n\
            --B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nsee below\r\nplease\r\n\
            --B\r\nContent-Type: message/rfc822\r\n\r\n\
            From: c@example.com\r\nSubject: old\r\n\r\nold text\r\nline two\r\n--B--\r\n";
        let d = display(raw);
        assert!(!d.text.contains('\r'), "{:?}", d.text);
        let (own, forwarded) = d.text.split_at(d.forwarded_at);
        assert_eq!(own.trim_end(), "see below\nplease");
        assert!(forwarded.contains("old text\nline two"), "{forwarded:?}");
        assert_eq!(d.unquoted(), "see below\nplease\n");
        // Without a forwarded message, it is the end.
        let d = display(b"Subject: x\r\n\r\nbody\r\n");
        assert_eq!((d.text.as_str(), d.forwarded_at), ("body\n", 5));
    }

    /// Text an old Mac client wrote, with bare CR line ends, inside a base64
    /// part (which `mail_bytes` cannot see) or next to CRLF: shown with LF
    /// line ends, not as one line with a CR (a space on a terminal) between.
    #[test]
    fn bare_cr_inside_a_part_is_shown_as_line_ends() {
        // "line one\rline two\r"
        let raw = mail(
            "text/plain; charset=utf-8",
            "base64",
            b"bGluZSBvbmUNbGluZSB0d28N\r\n",
        );
        assert_eq!(display_text(&raw), "line one\nline two\n");
        let raw = mail(
            "text/plain; charset=utf-8",
            "8bit",
            b"one\rtwo\r\nthree\r\n",
        );
        assert_eq!(display_text(&raw), "one\ntwo\nthree\n");
    }
}

#[cfg(test)]
mod unterminated_tests {
    use super::*;

    const HEAD: &str = "From: a@x.example\nSubject: u\nMessage-ID: <u@x.example>\n\
                        Content-Type: multipart/mixed; boundary=Z\n\n";

    fn names(m: &ParsedMessage) -> Vec<(&str, &str)> {
        m.attachments
            .iter()
            .map(|a| (a.filename.as_str(), a.mime.as_str()))
            .collect()
    }

    /// mail-parser keeps a part whose multipart is never closed whole, but
    /// lists it as an attachment; it is the message's text.
    #[test]
    fn a_text_part_left_open_at_the_end_is_text() {
        let raw = format!("{HEAD}--Z\nContent-Type: text/plain; charset=utf-8\n\n請求書 です\n");
        let mp = parser().parse(raw.as_bytes()).unwrap();
        assert_eq!(mp.attachments, [1], "what mail-parser does");
        let m = parse_message(raw.as_bytes(), None).unwrap();
        assert_eq!(m.text.trim_end(), "請求書 です");
        assert!(m.attachments.is_empty(), "{:?}", m.attachments);
        assert_eq!(display_text(raw.as_bytes()).trim_end(), "請求書 です");
        assert_eq!(attachment_bytes(raw.as_bytes(), 1), None);
        // Untyped, after a closed-off text part, and flowed.
        let raw = format!(
            "{HEAD}--Z\nContent-Type: text/plain\n\nfirst\n--Z\n\nsecond\n--Z\n\
             Content-Type: text/plain; format=flowed; delsp=yes\n\n請求 \n書\n"
        );
        let m = parse_message(raw.as_bytes(), None).unwrap();
        assert_eq!(m.text.trim_end(), "first\nsecond\n請求書");
        assert!(m.attachments.is_empty());
    }

    /// Its transfer encoding, which mail-parser leaves, is undone, and its
    /// charset read.
    #[test]
    fn an_open_part_is_decoded_as_its_header_says() {
        let raw = format!(
            "{HEAD}--Z\nContent-Type: text/plain; charset=utf-8\n\
             Content-Transfer-Encoding: base64\n\n6KuL5rGC5pu4\n44Gn44GZ\n"
        );
        assert_eq!(
            parse_message(raw.as_bytes(), None).unwrap().text.trim_end(),
            "請求書です"
        );
        let raw = format!(
            "{HEAD}--Z\nContent-Type: text/plain; charset=iso-2022-jp\n\
             Content-Transfer-Encoding: quoted-printable\n\n=1B$B@A5a=3Dq=1B(B=\n!\n"
        );
        assert_eq!(
            parse_message(raw.as_bytes(), None).unwrap().text.trim_end(),
            "請求書!"
        );
    }

    /// Attachments stay attachments, numbered as before.
    #[test]
    fn open_attachments_stay_attachments() {
        for part in [
            "Content-Type: text/plain; name=\"memo.txt\"\n\n請求書\n",
            "Content-Type: text/plain\nContent-Disposition: attachment\n\n請求書\n",
            "Content-Type: text/csv\n\n請求書,1\n",
            "Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0x\n",
        ] {
            let raw = format!("{HEAD}--Z\nContent-Type: text/plain\n\nbody\n--Z\n{part}");
            let m = parse_message(raw.as_bytes(), None).unwrap();
            assert_eq!(m.text.trim_end(), "body", "{part}");
            assert_eq!(m.attachments.len(), 1, "{part}");
            assert!(attachment_bytes(raw.as_bytes(), 1).is_some(), "{part}");
        }
        // A real attachment before an open text part keeps its number.
        let raw = format!(
            "{HEAD}--Z\nContent-Type: text/plain\n\nbody\n--Z\n\
             Content-Type: application/pdf; name=\"q.pdf\"\nContent-Transfer-Encoding: base64\n\n\
             JVBERi0x\n--Z\nContent-Type: text/plain\n\nP.S. 請求書\n"
        );
        let m = parse_message(raw.as_bytes(), None).unwrap();
        assert_eq!(m.text.trim_end(), "body\nP.S. 請求書");
        assert_eq!(names(&m), [("q.pdf", "application/pdf")]);
        assert_eq!(
            attachment_bytes(raw.as_bytes(), 1),
            Some(("q.pdf".to_string(), b"%PDF-1".to_vec()))
        );
        assert_eq!(attachment_bytes(raw.as_bytes(), 2), None);
    }

    /// An open HTML part is the text only when there is no other: else it
    /// is the HTML alternative of the text.
    #[test]
    fn an_open_html_part_is_text_only_without_other_text() {
        let raw = format!("{HEAD}--Z\nContent-Type: text/html\n\n<p>請求書です</p>\n");
        let m = parse_message(raw.as_bytes(), None).unwrap();
        assert_eq!(m.text.trim(), "請求書です");
        assert!(m.attachments.is_empty());
        let alt = "From: a@x.example\nSubject: u\n\
                   Content-Type: multipart/alternative; boundary=Z\n\n\
                   --Z\nContent-Type: text/plain\n\nplain 請求書\n\
                   --Z\nContent-Type: text/html\n\n<p>html 請求書</p>\n";
        let m = parse_message(alt.as_bytes(), None).unwrap();
        assert_eq!(m.text.trim_end(), "plain 請求書");
        // The HTML first, the plain text left open: mail-parser takes the
        // plain text for the text of the alternative.
        let alt = "From: a@x.example\nSubject: u\n\
                   Content-Type: multipart/alternative; boundary=Z\n\n\
                   --Z\nContent-Type: text/html\n\n<p>html 請求書</p>\n\
                   --Z\nContent-Type: text/plain\n\nplain 請求書\n";
        let m = parse_message(alt.as_bytes(), None).unwrap();
        assert_eq!(m.text.trim_end(), "plain 請求書");
    }
}
