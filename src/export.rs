//! One customer's complete history, exported: the original messages as an
//! mbox, the message objects as JSON/JSONL, a CSV listing, or one
//! self-contained HTML page; optional redaction of addresses, phone numbers
//! and postal codes; attachments saved to a directory; and the audit trail
//! every export leaves in the archive.
//!
//! Everything is written message by message: only the list of rows (and, for
//! HTML, the per-month counts) is held in memory, never the messages.

use crate::archive::Archive;
use crate::cli::ExportFormat;
use crate::customers::{self, Classifier, CustomerMessage, Direction};
use crate::output::{sanitize, sanitize_text, write_into_dir};
use crate::pack::PackReader;
use crate::store::{MessageView, Store, format_date};
use anyhow::{Context, Result, bail};
use rusqlite::{OptionalExtension, params};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::PathBuf;

/// One message of a history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    pub row: i64,
    pub thread: i64,
    /// Unix seconds.
    pub date: i64,
    /// Known for the messages with the customer in From/To/Cc; computed from
    /// the addresses for the other messages of their threads.
    pub direction: Option<Direction>,
}

/// The history of a customer: `mine`, every message with the customer in
/// From/To/Cc ([`customers::messages_of`]), plus every other message of the
/// same threads, plus the rows `mentions` (internal mail that mentions the
/// customer: see [`crate::query::Query::mentioning`]), oldest first (ties
/// by row).
pub fn history(store: &Store, mine: &[CustomerMessage], mentions: &[i64]) -> Result<Vec<Item>> {
    let mut seen: HashSet<i64> = mine.iter().map(|m| m.row).collect();
    let mut items: Vec<Item> = mine
        .iter()
        .map(|m| Item {
            row: m.row,
            thread: m.thread,
            date: m.date,
            direction: Some(m.direction),
        })
        .collect();
    let threads: std::collections::BTreeSet<i64> = mine.iter().map(|m| m.thread).collect();
    let mut q = store
        .conn
        .prepare_cached("SELECT id, date FROM messages WHERE thread = ?1")?;
    for t in threads {
        let rows = q.query_map([t], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
        for x in rows {
            let (row, date) = x?;
            if seen.insert(row) {
                items.push(Item {
                    row,
                    thread: t,
                    date,
                    direction: None,
                });
            }
        }
    }
    let mut q = store
        .conn
        .prepare_cached("SELECT thread, date FROM messages WHERE id = ?1")?;
    for &row in mentions {
        if !seen.insert(row) {
            continue;
        }
        let found = q
            .query_row([row], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
            .optional()?;
        if let Some((thread, date)) = found {
            items.push(Item {
                row,
                thread,
                date,
                direction: Some(Direction::Internal),
            });
        }
    }
    items.sort_unstable_by_key(|m| (m.date, m.row));
    Ok(items)
}

/// What to write, and how.
#[derive(Debug, Clone)]
pub struct Options {
    pub format: ExportFormat,
    /// CSV: a byte order mark and CRLF line ends.
    pub excel: bool,
    /// Mask addresses, phone numbers and postal codes in everything written.
    pub redact: bool,
    /// Save the attachments here.
    pub attachments: Option<PathBuf>,
    pub utc: bool,
    /// The customer key (for the HTML title and summary).
    pub key: String,
}

/// What an export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    pub messages: usize,
    pub attachments: usize,
}

/// A message as JSON/JSONL exports write it: the search fields plus the
/// direction and the decoded text.
#[derive(Debug, serde::Serialize)]
struct Record<'a> {
    #[serde(flatten)]
    view: &'a MessageView,
    direction: Direction,
    body: &'a str,
}

/// Writes the history `items` (oldest first) of one customer to `out`.
/// `progress` is called once per message written. Stops at the first error;
/// what was written until then stays written.
pub fn write(
    archive: &Archive,
    store: &Store,
    classifier: &Classifier,
    items: &[Item],
    opts: &Options,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(),
) -> Result<Written> {
    if opts.redact && opts.format == ExportFormat::Mbox {
        bail!("--redact does not apply to mbox, which keeps the original bytes");
    }
    let mut w = Writer {
        store,
        classifier,
        packs: PackReader::new(&archive.originals_dir()),
        opts,
        written: Written::default(),
    };
    match opts.format {
        ExportFormat::Mbox => {
            for it in items {
                w.mbox_one(it, out)?;
                progress();
            }
        }
        ExportFormat::Jsonl | ExportFormat::Json => {
            let array = opts.format == ExportFormat::Json;
            if array {
                out.write_all(b"[")?;
            }
            for (i, it) in items.iter().enumerate() {
                if array && i > 0 {
                    out.write_all(b",\n")?;
                }
                w.json_one(it, out)?;
                if !array {
                    out.write_all(b"\n")?;
                }
                progress();
            }
            if array {
                out.write_all(b"]\n")?;
            }
        }
        ExportFormat::Csv => {
            let eol: &[u8] = if opts.excel { b"\r\n" } else { b"\n" };
            if opts.excel {
                out.write_all("\u{feff}".as_bytes())?;
            }
            out.write_all(b"date,direction,from,to,subject,thread,attachments")?;
            out.write_all(eol)?;
            for it in items {
                w.csv_one(it, out)?;
                out.write_all(eol)?;
                progress();
            }
        }
        ExportFormat::Html => w.html(items, out, progress)?,
    }
    out.flush()?;
    Ok(w.written)
}

struct Writer<'a> {
    store: &'a Store,
    classifier: &'a Classifier,
    packs: PackReader,
    opts: &'a Options,
    written: Written,
}

impl Writer<'_> {
    fn view(&self, row: i64) -> Result<MessageView> {
        self.store
            .message_view(row, self.opts.utc)?
            .with_context(|| format!("message {row} vanished from the archive"))
    }

    fn raw(&mut self, row: i64) -> Result<Vec<u8>> {
        let (r, size, hash) = self
            .store
            .original_ref(row)?
            .with_context(|| format!("message {row} has no stored original"))?;
        self.packs.read(r, size, &hash)
    }

    fn direction(&self, it: &Item, v: &MessageView) -> Direction {
        it.direction.unwrap_or_else(|| {
            let from = Some(v.from.address.as_str()).filter(|a| !a.is_empty());
            self.classifier.direction(
                from,
                v.to.iter().chain(v.cc.iter()).map(|a| a.address.as_str()),
                v.reply_to.iter().map(|a| a.address.as_str()),
            )
        })
    }

    /// Text from mail as written: redacted when asked.
    fn text(&self, s: &str) -> String {
        if self.opts.redact {
            redact(s)
        } else {
            s.to_string()
        }
    }

    /// Saves the attachments of a message when asked.
    fn save_attachments(&mut self, v: &MessageView, raw: &[u8]) -> Result<()> {
        let Some(dir) = &self.opts.attachments else {
            return Ok(());
        };
        for n in 1..=v.attachments.len() {
            if let Some((name, bytes)) = crate::parse::attachment_bytes(raw, n) {
                let fallback = format!("attachment-{}-{n}", v.row);
                write_into_dir(dir, &name, &fallback, &bytes)?;
                self.written.attachments += 1;
            }
        }
        Ok(())
    }

    /// The original, for the formats that need it (always for mbox and the
    /// text formats with a body, else only for attachments).
    fn raw_if(&mut self, v: &MessageView, needed: bool) -> Result<Option<Vec<u8>>> {
        let wanted = needed || (self.opts.attachments.is_some() && !v.attachments.is_empty());
        if wanted {
            Ok(Some(self.raw(v.row)?))
        } else {
            Ok(None)
        }
    }

    fn mbox_one(&mut self, it: &Item, out: &mut dyn Write) -> Result<()> {
        let v = self.view(it.row)?;
        let raw = self.raw(it.row)?;
        let mut buf = Vec::with_capacity(raw.len() + 128);
        mbox_entry(&v.from.address, it.date, &raw, &mut buf);
        out.write_all(&buf)?;
        self.save_attachments(&v, &raw)?;
        self.written.messages += 1;
        Ok(())
    }

    fn json_one(&mut self, it: &Item, out: &mut dyn Write) -> Result<()> {
        let mut v = self.view(it.row)?;
        let direction = self.direction(it, &v);
        let raw = self.raw(it.row)?;
        let mut body = crate::parse::display_text(&raw);
        self.save_attachments(&v, &raw)?;
        if self.opts.redact {
            redact_view(&mut v);
            body = redact(&body);
        }
        v.snippet = crate::output::snippet(&body, &[], 120).0;
        let rec = Record {
            view: &v,
            direction,
            body: &body,
        };
        serde_json::to_writer(&mut *out, &rec)?;
        self.written.messages += 1;
        Ok(())
    }

    fn csv_one(&mut self, it: &Item, out: &mut dyn Write) -> Result<()> {
        let v = self.view(it.row)?;
        let direction = self.direction(it, &v);
        if let Some(raw) = self.raw_if(&v, false)? {
            self.save_attachments(&v, &raw)?;
        }
        let to: Vec<String> =
            v.to.iter()
                .chain(v.cc.iter())
                .map(|a| crate::output::mailbox_label(&a.name, &a.address))
                .collect();
        let files: Vec<&str> = v.attachments.iter().map(|a| a.filename.as_str()).collect();
        let cells = [
            v.date.clone(),
            direction.as_str().to_string(),
            self.text(&crate::output::mailbox_label(&v.from.name, &v.from.address)),
            self.text(&to.join("; ")),
            self.text(&v.subject),
            v.thread.clone(),
            self.text(&files.join("; ")),
        ];
        let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        out.write_all(line.join(",").as_bytes())?;
        self.written.messages += 1;
        Ok(())
    }

    fn html(
        &mut self,
        items: &[Item],
        out: &mut dyn Write,
        progress: &mut dyn FnMut(),
    ) -> Result<()> {
        // Pass 1, metadata only: the summary, and the threads newest first.
        let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
        let mut staff: HashMap<String, (String, usize)> = HashMap::new();
        let mut dates = Vec::with_capacity(items.len());
        let mut by_thread: HashMap<i64, Vec<usize>> = HashMap::new();
        let mut attachments = 0usize;
        for (i, it) in items.iter().enumerate() {
            let v = self.view(it.row)?;
            let d = self.direction(it, &v);
            *counts.entry(d.as_str()).or_default() += 1;
            dates.push(it.date);
            attachments += v.attachments.len();
            by_thread.entry(it.thread).or_default().push(i);
            let mut here: HashSet<&str> = HashSet::new();
            // An inbound message's From is no staff member, also when it
            // is internal: a web form's, sent for its Reply-To. Nor is the
            // shared address (as `customers` says).
            let from = (d != Direction::Inbound).then_some(&v.from);
            for a in from.into_iter().chain(v.to.iter()).chain(v.cc.iter()) {
                if !a.address.is_empty()
                    && self.classifier.is_internal(&a.address)
                    && !self.classifier.is_shared(&a.address)
                    && here.insert(a.address.as_str())
                {
                    let e = staff
                        .entry(a.address.to_lowercase())
                        .or_insert_with(|| (String::new(), 0));
                    if e.0.is_empty() {
                        e.0 = a.name.clone();
                    }
                    e.1 += 1;
                }
            }
        }
        let mut threads: Vec<(i64, Vec<usize>)> = by_thread.into_iter().collect();
        // Newest last message first; each thread's messages oldest first.
        threads.sort_by_key(|(t, v)| {
            let last = v.last().and_then(|&i| items.get(i)).map_or(0, |it| it.date);
            (std::cmp::Reverse(last), *t)
        });
        let mut staff: Vec<(String, String, usize)> =
            staff.into_iter().map(|(a, (n, c))| (a, n, c)).collect();
        staff.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));

        let key = self.text(&self.opts.key);
        let utc = self.opts.utc;
        let mut head = String::new();
        head.push_str("<!DOCTYPE html>\n<html lang=\"ja\">\n<head>\n<meta charset=\"utf-8\">\n");
        head.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n");
        head.push_str("<meta name=\"referrer\" content=\"no-referrer\">\n");
        head.push_str(&format!(
            "<title>{} — kura export</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
            esc(&key)
        ));
        head.push_str(&format!(
            "<header class=\"summary\">\n<h1>{}</h1>\n<dl>\n",
            esc(&key)
        ));
        let dl = |h: &mut String, k: &str, v: &str| {
            h.push_str(&format!("<dt>{}</dt><dd>{}</dd>\n", esc(k), esc(v)));
        };
        dl(&mut head, "Messages", &items.len().to_string());
        for d in ["inbound", "outbound", "internal"] {
            dl(
                &mut head,
                d,
                &counts.get(d).copied().unwrap_or(0).to_string(),
            );
        }
        dl(&mut head, "Conversations", &threads.len().to_string());
        dl(&mut head, "Attachments", &attachments.to_string());
        if let (Some(first), Some(last)) = (dates.first(), dates.last()) {
            dl(&mut head, "First contact", &format_date(*first, utc));
            dl(&mut head, "Last contact", &format_date(*last, utc));
        }
        head.push_str("</dl>\n");
        if !staff.is_empty() {
            head.push_str("<h2>Staff</h2>\n<ul class=\"staff\">\n");
            for (address, name, n) in &staff {
                head.push_str(&format!(
                    "<li>{} <span class=\"n\">({n})</span></li>\n",
                    esc(&self.text(&crate::output::mailbox_label(name, address)))
                ));
            }
            head.push_str("</ul>\n");
        }
        head.push_str(&month_chart(&customers::monthly(&dates, utc)));
        head.push_str("</header>\n<main>\n");
        out.write_all(head.as_bytes())?;
        drop(dates);

        // Pass 2: the conversations, message by message.
        for (thread, idx) in &threads {
            let first = idx.first().and_then(|&i| items.get(i));
            let subject = match first {
                Some(it) => self.view(it.row)?.subject,
                None => String::new(),
            };
            out.write_all(
                format!(
                    "<section class=\"thread\" id=\"t{thread}\">\n<h2>{} <span class=\"n\">({} messages)</span></h2>\n",
                    esc(&self.text(&subject)),
                    idx.len()
                )
                .as_bytes(),
            )?;
            for &i in idx {
                let Some(it) = items.get(i) else { continue };
                self.html_one(it, out)?;
                progress();
            }
            out.write_all(b"</section>\n")?;
        }
        out.write_all(b"</main>\n</body>\n</html>\n")?;
        Ok(())
    }

    fn html_one(&mut self, it: &Item, out: &mut dyn Write) -> Result<()> {
        let v = self.view(it.row)?;
        let direction = self.direction(it, &v);
        let raw = self.raw(it.row)?;
        let body = crate::parse::display(&raw);
        self.save_attachments(&v, &raw)?;
        drop(raw);
        let label = |a: &crate::store::AddressView| {
            esc(&self.text(&crate::output::mailbox_label(&a.name, &a.address)))
        };
        let mut h = format!(
            "<article class=\"message {}\" id=\"m{}\">\n<dl class=\"headers\">\n",
            direction.as_str(),
            it.row
        );
        h.push_str(&format!("<dt>From</dt><dd>{}</dd>\n", label(&v.from)));
        for (name, list) in [("To", &v.to), ("Cc", &v.cc)] {
            if !list.is_empty() {
                let joined: Vec<String> = list.iter().map(label).collect();
                h.push_str(&format!("<dt>{name}</dt><dd>{}</dd>\n", joined.join(", ")));
            }
        }
        h.push_str(&format!(
            "<dt>Date</dt><dd>{}</dd>\n<dt>Subject</dt><dd>{}</dd>\n<dt>Direction</dt><dd>{}</dd>\n",
            esc(&v.date),
            esc(&self.text(&v.subject)),
            direction.as_str()
        ));
        if !v.attachments.is_empty() {
            let files: Vec<String> = v
                .attachments
                .iter()
                .map(|a| format!("{} ({} bytes)", esc(&self.text(&a.filename)), a.size))
                .collect();
            h.push_str(&format!(
                "<dt>Attachments</dt><dd>{}</dd>\n",
                files.join(", ")
            ));
        }
        h.push_str("</dl>\n<pre class=\"body\">");
        // What the message quotes from earlier mail is greyed.
        for part in body.parts() {
            let text = esc(&sanitize_text(&self.text(part.text), false));
            if part.quoted {
                h.push_str(&format!("<span class=\"quoted\">{text}</span>"));
            } else {
                h.push_str(&text);
            }
        }
        h.push_str("</pre>\n</article>\n");
        out.write_all(h.as_bytes())?;
        self.written.messages += 1;
        Ok(())
    }
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;max-width:60em;color:#222}\
dl{display:grid;grid-template-columns:max-content auto;gap:.1em 1em;margin:.5em 0}\
dt{font-weight:bold;color:#555}dd{margin:0}\
.thread{border-top:2px solid #888;margin-top:2em}\
.message{border-left:4px solid #ccc;padding-left:1em;margin:1em 0}\
.message.inbound{border-color:#4a8}.message.outbound{border-color:#48c}.message.internal{border-color:#aaa}\
pre.body{white-space:pre-wrap;word-break:break-word;font-family:inherit}\
.quoted{color:#777}\
.n{color:#777;font-weight:normal}svg rect{fill:#48c}svg text{font-size:10px;fill:#555}";

/// An inline SVG bar chart of messages per month.
fn month_chart(months: &[(String, usize)]) -> String {
    if months.is_empty() {
        return String::new();
    }
    let bar = 14usize;
    let gap = 4usize;
    let height = 100usize;
    let width = months.len() * (bar + gap) + gap;
    let max = months.iter().map(|m| m.1).max().unwrap_or(1).max(1);
    let mut s = format!(
        "<h2>Messages per month</h2>\n<svg class=\"months\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{}\" viewBox=\"0 0 {width} {}\" role=\"img\">\n",
        height + 16,
        height + 16
    );
    for (i, (month, n)) in months.iter().enumerate() {
        let h = n * height / max;
        let x = gap + i * (bar + gap);
        s.push_str(&format!(
            "<rect x=\"{x}\" y=\"{}\" width=\"{bar}\" height=\"{h}\"><title>{}: {n}</title></rect>\n",
            height - h,
            esc(month)
        ));
    }
    if let (Some(first), Some(last)) = (months.first(), months.last()) {
        s.push_str(&format!(
            "<text x=\"{gap}\" y=\"{}\">{}</text>\n",
            height + 12,
            esc(&first.0)
        ));
        if months.len() > 1 {
            s.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n",
                width - gap,
                height + 12,
                esc(&last.0)
            ));
        }
    }
    s.push_str("</svg>\n");
    s
}

/// HTML-escapes text (for element content and quoted attribute values).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One CSV cell: control characters removed, formula injection neutralised
/// (a cell starting with `=`, `+`, `-` or `@` gets a leading `'`), quoted
/// per RFC 4180 when it contains a comma, a quote or a line break.
pub fn csv_cell(s: &str) -> String {
    let mut s = sanitize(s);
    if s.starts_with(['=', '+', '-', '@']) {
        s.insert(0, '\'');
    }
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// Appends one mbox entry: a `From_` line with the sender and the date in
/// asctime form (UTC), the mboxrd-quoted original, and the blank line that
/// ends it; [`crate::sources::MboxReader`] reads the original back.
pub fn mbox_entry(sender: &str, date: i64, raw: &[u8], out: &mut Vec<u8>) {
    use chrono::TimeZone;
    let sender = if sender.is_empty()
        || sender
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || !c.is_ascii())
    {
        "MAILER-DAEMON"
    } else {
        sender
    };
    let when = chrono::Utc
        .timestamp_opt(date, 0)
        .single()
        .unwrap_or_default()
        .format("%a %b %e %H:%M:%S %Y");
    out.extend_from_slice(format!("From {sender} {when}\n").as_bytes());
    crate::sources::mboxrd_quote(raw, out);
    if !raw.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.push(b'\n');
}

fn redact_view(v: &mut MessageView) {
    v.message_id = redact(&v.message_id);
    for a in std::iter::once(&mut v.from)
        .chain(v.to.iter_mut())
        .chain(v.cc.iter_mut())
        .chain(v.reply_to.iter_mut())
    {
        a.name = redact(&a.name);
        a.address = redact(&a.address);
    }
    v.subject = redact(&v.subject);
    for a in &mut v.attachments {
        a.filename = redact(&a.filename);
    }
}

// ---------------------------------------------------------------------------
// Redaction

/// Masks e-mail addresses (`[email]`), Japanese phone numbers (`[phone]`:
/// 03-1234-5678, 090-1234-5678, 0120-123-456, (03)1234-5678, +81 3-1234-5678,
/// full-width digits too) and postal codes (`〒[postal code]`: 〒123-4567).
/// Dates (2024-03-05) and order numbers (INV-2024-0117) are left alone: a
/// phone number starts with 0 or +81, has 10 or 11 digits, and is not glued
/// to a preceding letter, digit or hyphen.
pub fn redact(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if let Some(end) = email_at(&chars, i) {
            out.push_str("[email]");
            i = end;
        } else if let Some(end) = postal_at(&chars, i) {
            out.push_str("〒[postal code]");
            i = end;
        } else if let Some(end) = phone_at(&chars, i) {
            out.push_str("[phone]");
            i = end;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn is_local_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._%+-!#$&'*/=?^`{|}~".contains(c)
}

fn is_domain_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '.'
}

/// An address starting at `i` (where a run of local-part characters starts):
/// the index after it.
fn email_at(chars: &[char], i: usize) -> Option<usize> {
    let first = *chars.get(i)?;
    if !is_local_char(first) || first == '.' {
        return None;
    }
    if i > 0 && chars.get(i - 1).is_some_and(|&p| is_local_char(p)) {
        return None;
    }
    let mut j = i;
    while chars.get(j).is_some_and(|&c| is_local_char(c)) {
        j += 1;
    }
    if chars.get(j) != Some(&'@') || j == i {
        return None;
    }
    let start = j + 1;
    let mut k = start;
    while chars.get(k).is_some_and(|&c| is_domain_char(c)) {
        k += 1;
    }
    // No trailing dots or hyphens (end of a sentence).
    while k > start && chars.get(k - 1).is_some_and(|&c| c == '.' || c == '-') {
        k -= 1;
    }
    let domain: String = chars.get(start..k)?.iter().collect();
    let labels: Vec<&str> = domain.split('.').collect();
    let tld_ok = labels
        .last()
        .is_some_and(|t| t.len() >= 2 && t.chars().all(|c| c.is_ascii_alphabetic()));
    if labels.len() < 2 || labels.iter().any(|l| l.is_empty()) || !tld_ok {
        return None;
    }
    Some(k)
}

/// The value of an ASCII or full-width digit.
fn digit(c: char) -> Option<u32> {
    match c {
        '0'..='9' => c.to_digit(10),
        '０'..='９' => Some(c as u32 - '０' as u32),
        _ => None,
    }
}

fn is_dash(c: char) -> bool {
    matches!(c, '-' | '－' | '‐' | '‑' | '–' | '—' | '−' | 'ー')
}

/// Characters that may separate the groups of a phone number.
fn is_phone_sep(c: char) -> bool {
    is_dash(c) || matches!(c, ' ' | '(' | ')' | '（' | '）' | '\u{3000}')
}

/// Letters and digits (ASCII and full-width) that a number must not be glued to.
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || ('０'..='９').contains(&c)
        || ('Ａ'..='ｚ').contains(&c)
        || c == '_'
}

/// A postal code `〒123-4567` (or `〒1234567`, full-width digits too) at `i`.
fn postal_at(chars: &[char], i: usize) -> Option<usize> {
    if *chars.get(i)? != '〒' {
        return None;
    }
    let mut j = i + 1;
    while chars.get(j).is_some_and(|&c| c == ' ' || c == '\u{3000}') {
        j += 1;
    }
    let run = |j: &mut usize| {
        let s = *j;
        while chars.get(*j).and_then(|&c| digit(c)).is_some() {
            *j += 1;
        }
        *j - s
    };
    match run(&mut j) {
        3 if chars.get(j).is_some_and(|&c| is_dash(c)) => {
            j += 1;
            (run(&mut j) == 4).then_some(j)
        }
        7 => Some(j),
        _ => None,
    }
}

/// A phone number at `i`: the index after it.
fn phone_at(chars: &[char], i: usize) -> Option<usize> {
    let c = *chars.get(i)?;
    if i > 0 {
        let p = *chars.get(i - 1)?;
        if is_word_char(p) || is_dash(p) || matches!(p, '.' | '/' | '+' | '＋' | ',') {
            return None;
        }
    }
    let mut j = i;
    let international = c == '+' || c == '＋';
    if international {
        j += 1;
        if chars.get(j).and_then(|&c| digit(c)) != Some(8)
            || chars.get(j + 1).and_then(|&c| digit(c)) != Some(1)
        {
            return None;
        }
        j += 2;
        // "+81 (0)3-..." : the trunk 0 in parentheses is dropped.
        let mut k = j;
        while chars.get(k).is_some_and(|&c| c == ' ' || is_dash(c)) {
            k += 1;
        }
        if chars.get(k) == Some(&'(')
            && chars.get(k + 1).and_then(|&c| digit(c)) == Some(0)
            && chars.get(k + 2) == Some(&')')
        {
            j = k + 3;
        }
    } else if digit(c) != Some(0) && !matches!(c, '(' | '（') {
        return None;
    }
    // Groups of digits separated by at most two separator characters.
    let mut digits = 0usize;
    let mut groups = 0usize;
    let mut first_digit = None;
    loop {
        let mut k = j;
        let mut seps = 0;
        while seps < 2 && chars.get(k).is_some_and(|&c| is_phone_sep(c)) {
            k += 1;
            seps += 1;
        }
        if groups > 0 && seps == 0 {
            break;
        }
        if chars.get(k).and_then(|&c| digit(c)).is_none() {
            break;
        }
        let s = k;
        while let Some(d) = chars.get(k).and_then(|&c| digit(c)) {
            if first_digit.is_none() {
                first_digit = Some(d);
            }
            k += 1;
        }
        digits += k - s;
        groups += 1;
        j = k;
        if groups > 4 {
            return None;
        }
    }
    if groups == 0 {
        return None;
    }
    if chars.get(j).is_some_and(|&c| is_word_char(c)) {
        return None;
    }
    let ok = if international {
        (9..=10).contains(&digits) && first_digit != Some(0)
    } else {
        first_digit == Some(0) && (10..=11).contains(&digits)
    };
    ok.then_some(j)
}

// ---------------------------------------------------------------------------
// Audit

const AUDIT_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS audit (
    time        INTEGER NOT NULL,   -- unix seconds
    os_user     TEXT NOT NULL,
    customer    TEXT NOT NULL,
    query       TEXT NOT NULL,
    format      TEXT NOT NULL,
    count       INTEGER NOT NULL,
    destination TEXT NOT NULL
)";

/// One recorded export.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    /// RFC 3339 (in the JSON output); unix seconds in the table.
    pub time: String,
    pub os_user: String,
    pub customer: String,
    pub query: String,
    pub format: String,
    pub count: i64,
    pub destination: String,
}

/// The user running kura: `$USER`, else `$LOGNAME`, else `uid N`.
pub fn os_user() -> String {
    for var in ["USER", "LOGNAME"] {
        if let Ok(u) = std::env::var(var)
            && !u.is_empty()
        {
            return u;
        }
    }
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata("/proc/self") {
        Ok(m) => format!("uid {}", m.uid()),
        Err(_) => "unknown".to_string(),
    }
}

/// Records an export in the archive's `audit` table (created if needed).
pub fn record_audit(archive: &Archive, entry: &AuditEntry, time: i64) -> Result<()> {
    insert_audit(&Store::open_rw(archive)?, entry, time)
}

/// Records `entry` in the `audit` table of `store` (created if needed), in
/// the transaction the caller may have begun.
pub fn insert_audit(store: &Store, entry: &AuditEntry, time: i64) -> Result<()> {
    store
        .conn
        .execute_batch(AUDIT_SCHEMA)
        .context("cannot create the audit table")?;
    store
        .conn
        .execute(
            "INSERT INTO audit (time, os_user, customer, query, format, count, destination)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                time,
                entry.os_user,
                entry.customer,
                entry.query,
                entry.format,
                entry.count,
                entry.destination
            ],
        )
        .context("cannot record the export in the audit table")?;
    Ok(())
}

/// The recorded exports, newest first (none when nothing was ever exported).
pub fn audit_entries(store: &Store, utc: bool, limit: Option<usize>) -> Result<Vec<AuditEntry>> {
    if !store.has_table("audit")? {
        return Ok(Vec::new());
    }
    let limit = limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
    let mut q = store.conn.prepare(
        "SELECT time, os_user, customer, query, format, count, destination FROM audit
         ORDER BY time DESC, rowid DESC LIMIT ?1",
    )?;
    let rows = q.query_map([limit], |r| {
        Ok(AuditEntry {
            time: format_date(r.get(0)?, utc),
            os_user: r.get(1)?,
            customer: r.get(2)?,
            query: r.get(3)?,
            format: r.get(4)?,
            count: r.get(5)?,
            destination: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_addresses_phones_and_postal_codes() {
        let cases = [
            (
                "担当: tanaka.hiroshi@kyowa-shoji.co.jp まで",
                "担当: [email] まで",
            ),
            ("<ito@tokyo.kyowa-shoji.co.jp>.", "<[email]>."),
            ("TEL: 03-1234-5678", "TEL: [phone]"),
            (
                "携帯090-1234-5678までお電話ください",
                "携帯[phone]までお電話ください",
            ),
            ("フリーダイヤル 0120-123-456", "フリーダイヤル [phone]"),
            ("(03)1234-5678", "[phone]"),
            (
                "TEL +81 3-1234-5678 / +81-90-1234-5678",
                "TEL [phone] / [phone]",
            ),
            ("+81 (0)3-1234-5678", "[phone]"),
            ("電話：０３－１２３４－５６７８", "電話：[phone]"),
            ("０９０１２３４５６７８", "[phone]"),
            (
                "〒105-0011 東京都港区芝公園",
                "〒[postal code] 東京都港区芝公園",
            ),
            ("〒１０５－００１１", "〒[postal code]"),
            ("03 1234 5678", "[phone]"),
        ];
        for (input, want) in cases {
            assert_eq!(redact(input), want, "{input}");
        }
    }

    #[test]
    fn leaves_dates_order_numbers_and_amounts_alone() {
        for s in [
            "2024-03-05 に納品予定",
            "注文番号 INV-2024-0117 の件",
            "PO-0312-3456-789",
            "2024年3月5日 10:00～17:00",
            "金額 ¥1,234,567（税込）",
            "version 1.2.3, build 0123456789012",
            "伝票 A0312345678",
            "期限 2024/03/31",
            "a@b は住所ではありません",
            "〒 は記号",
        ] {
            assert_eq!(redact(s), s);
        }
    }

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        assert_eq!(csv_cell("請求書の件"), "請求書の件");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+81 3"), "'+81 3");
        assert_eq!(csv_cell("-1"), "'-1");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("line1\nline2\u{1b}[31m"), "line1 line2");
    }

    #[test]
    fn html_escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
    }

    #[test]
    fn mbox_entries_read_back_exactly() {
        let msgs: [&[u8]; 3] = [
            b"From: a@example.com\nSubject: x\n\nFrom here on\n>From quoted\n",
            b"From: b@example.com\r\nSubject: y\r\n\r\nbody\r\n",
            "From: c@example.com\nSubject: 請求書\n\n本文\n\n".as_bytes(),
        ];
        let mut buf = Vec::new();
        for (i, m) in msgs.iter().enumerate() {
            mbox_entry("a@example.com", 1_709_776_939 + i as i64, m, &mut buf);
        }
        assert!(buf.starts_with(b"From a@example.com Thu Mar  7 02:02:19 2024\n"));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.mbox");
        std::fs::write(&p, &buf).unwrap();
        let back: Vec<Vec<u8>> = crate::sources::MboxReader::open(&p, false, 0)
            .unwrap()
            .map(|m| m.unwrap().bytes)
            .collect();
        assert_eq!(back, msgs.iter().map(|m| m.to_vec()).collect::<Vec<_>>());
    }

    #[test]
    fn month_chart_has_one_bar_per_month() {
        let svg = month_chart(&[
            ("2024-01".to_string(), 3),
            ("2024-02".to_string(), 0),
            ("2024-03".to_string(), 6),
        ]);
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(svg.contains("height=\"100\"><title>2024-03: 6"), "{svg}");
        assert!(svg.contains("height=\"50\"><title>2024-01: 3"), "{svg}");
    }
}
