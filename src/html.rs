//! HTML mail to text, for the index and for display.
//!
//! HTML-only mail (Outlook and web mailers send it; many Japanese business
//! mails are nothing else) is indexed and shown as text. The text keeps
//! what a reader sees as separate: every block (`<div>`, `<p>`, `<br>`,
//! `<li>`, `<tr>`, headings ...) starts a line, and table cells are apart,
//! so that words of two blocks are never glued into one
//! (`works.</div><div>Mori` is `works.` and `Mori`, not `works.Mori`,
//! which no search for `Mori` finds). What a reply quotes in a `<blockquote>` is given
//! `> ` at the start of its lines, as plain-text mail quotes it, so that
//! [`crate::quotes`] finds it; a list item starts with `- `, a `<hr>` is a
//! line of underscores (as Outlook writes it above a reply's header
//! block), `<pre>` keeps its lines and spaces (not a line end right after
//! `<pre>`, which HTML drops). `<head>`, `<style>`, `<script>`,
//! `<template>` and comments are left out (`<!-->` and `<!--->` are empty
//! comments, as in browsers).
//!
//! A table row is a line, its cells apart by a tab. The blocks in a cell
//! start lines only between the cell's text, not before or after it:
//! Outlook writes every cell's text as a paragraph (`<td><p
//! class=MsoNormal>品名</p></td>`), and the row still reads as one line; a
//! cell that holds more (a table laid out around the whole mail) keeps its
//! lines. The rows of a table in a cell are lines of their own.
//!
//! An image is its alt text, as text-mode browsers (w3m, lynx) show it: it
//! is what the mail shows in the image's place for a reader who does not
//! see the image, and what a search for it should find (Gmail writes emoji
//! as `<img alt="😀">`, a signature's logo has the company's name). An
//! image without alt text (a spacer, a tracking pixel) is nothing.
//!
//! Entities are decoded by mail-parser's table; as in browsers, the legacy
//! ones without their `;` too (`&amp`, `&nbsp`, `&copy` ...), and numbers
//! without it (`&#12354`), 128 to 159 read as Windows-1252 (`&#150;` is
//! `–`). A legacy name followed by a letter, digit or `=` is left as it is
//! written, as browsers leave it in an attribute value (in text they decode
//! it, and `&para=1` in a URL written in the text would read `¶=1`):
//! `AT&T`, `&notit`, `?a=1&copy=2` stay as they are.
//!
//! A single pass over the bytes, without a tree: time is linear and memory
//! is the text's, however deep hostile mail nests its elements (an HTML
//! parser building a DOM recurses, and a hundred thousand nested `<div>`s
//! overflow its stack).

/// Elements that start and end a line.
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "caption",
    "center",
    "dd",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "ul",
];

/// Elements of a table that end its row and start a line, in a cell too
/// (where other blocks start lines only between the cell's text).
const TABLE_PARTS: &[&str] = &["table", "tbody", "tfoot", "thead", "tr"];

/// Elements whose content is not text a reader sees, read as browsers read
/// `<script>` and `<style>`: up to their end tag, with no markup inside (a
/// `<` in a script, `if (i<n)`, opens no tag).
const HIDDEN: &[&str] = &["script", "style", "template", "title"];

/// Elements that may stand in `<head>`; any other start tag (or text) ends
/// it, as in browsers: a `<head>` that no `</head>` or `<body>` closes does
/// not hide the mail.
const IN_HEAD: &[&str] = &[
    "base", "basefont", "bgsound", "link", "meta", "noscript", "script", "style", "template",
    "title",
];

/// A `<hr>`, as Outlook writes it in the text of an HTML mail: above a
/// reply's header block, it is where [`crate::quotes`] sees the quoted
/// message begin.
const RULE: &str = "________________________________";

/// The most `> ` written before a line: deeper blockquotes are quoted as
/// deep as this (a hundred thousand nested blockquotes, each line prefixed
/// with all of them, made gigabytes of text of a megabyte of mail).
const MAX_QUOTE_PREFIX: usize = 32;

/// The longest entity name read (`CounterClockwiseContourIntegral` is 31
/// bytes).
const MAX_ENTITY: usize = 40;

/// The longest element name read: no element this module knows has a longer
/// one.
const MAX_NAME: usize = 16;

/// The named references browsers read without their `;` (HTML's legacy
/// ones, all of them Latin-1), in byte order, with their characters.
const LEGACY_ENTITIES: &[(&str, u8)] = &[
    ("AElig", 198),
    ("AMP", 38),
    ("Aacute", 193),
    ("Acirc", 194),
    ("Agrave", 192),
    ("Aring", 197),
    ("Atilde", 195),
    ("Auml", 196),
    ("COPY", 169),
    ("Ccedil", 199),
    ("ETH", 208),
    ("Eacute", 201),
    ("Ecirc", 202),
    ("Egrave", 200),
    ("Euml", 203),
    ("GT", 62),
    ("Iacute", 205),
    ("Icirc", 206),
    ("Igrave", 204),
    ("Iuml", 207),
    ("LT", 60),
    ("Ntilde", 209),
    ("Oacute", 211),
    ("Ocirc", 212),
    ("Ograve", 210),
    ("Oslash", 216),
    ("Otilde", 213),
    ("Ouml", 214),
    ("QUOT", 34),
    ("REG", 174),
    ("THORN", 222),
    ("Uacute", 218),
    ("Ucirc", 219),
    ("Ugrave", 217),
    ("Uuml", 220),
    ("Yacute", 221),
    ("aacute", 225),
    ("acirc", 226),
    ("acute", 180),
    ("aelig", 230),
    ("agrave", 224),
    ("amp", 38),
    ("aring", 229),
    ("atilde", 227),
    ("auml", 228),
    ("brvbar", 166),
    ("ccedil", 231),
    ("cedil", 184),
    ("cent", 162),
    ("copy", 169),
    ("curren", 164),
    ("deg", 176),
    ("divide", 247),
    ("eacute", 233),
    ("ecirc", 234),
    ("egrave", 232),
    ("eth", 240),
    ("euml", 235),
    ("frac12", 189),
    ("frac14", 188),
    ("frac34", 190),
    ("gt", 62),
    ("iacute", 237),
    ("icirc", 238),
    ("iexcl", 161),
    ("igrave", 236),
    ("iquest", 191),
    ("iuml", 239),
    ("laquo", 171),
    ("lt", 60),
    ("macr", 175),
    ("micro", 181),
    ("middot", 183),
    ("nbsp", 160),
    ("not", 172),
    ("ntilde", 241),
    ("oacute", 243),
    ("ocirc", 244),
    ("ograve", 242),
    ("ordf", 170),
    ("ordm", 186),
    ("oslash", 248),
    ("otilde", 245),
    ("ouml", 246),
    ("para", 182),
    ("plusmn", 177),
    ("pound", 163),
    ("quot", 34),
    ("raquo", 187),
    ("reg", 174),
    ("sect", 167),
    ("shy", 173),
    ("sup1", 185),
    ("sup2", 178),
    ("sup3", 179),
    ("szlig", 223),
    ("thorn", 254),
    ("times", 215),
    ("uacute", 250),
    ("ucirc", 251),
    ("ugrave", 249),
    ("uml", 168),
    ("uuml", 252),
    ("yacute", 253),
    ("yen", 165),
    ("yuml", 255),
];

/// The characters of the numeric references 128 to 159, as browsers read
/// them (Windows-1252's; the five it leaves out are the control characters
/// themselves).
const WINDOWS_1252: [char; 32] = [
    '\u{20AC}', '\u{81}', '\u{201A}', '\u{192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{2C6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8D}', '\u{17D}', '\u{8F}',
    '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{2DC}', '\u{2122}', '\u{161}', '\u{203A}', '\u{153}', '\u{9D}', '\u{17E}', '\u{178}',
];

/// The text of the HTML document `html`.
pub fn to_text(html: &str) -> String {
    let mut w = Writer {
        out: String::with_capacity(html.len() / 2),
        line_has_text: false,
        line_start: 0,
        text_start: 0,
        blank: false,
        space: false,
        space_ends_line: false,
        quote_depth: 0,
        pre_depth: 0,
        in_head: false,
        empty_paragraph: false,
        cells: 0,
        cell: Cell::Outside,
        tabs: 0,
        owed: Break::Nothing,
        entity: String::new(),
        no_end_tag_after: [usize::MAX; HIDDEN.len()],
        no_body_after: usize::MAX,
        no_quote_after: [usize::MAX; 2],
    };
    let bytes = html.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'<' => i = w.markup(html, i),
            b'&' => i = w.entity(html, i),
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => {
                w.whitespace(bytes[i]);
                i += 1;
            }
            _ => {
                let end = bytes[i..]
                    .iter()
                    .position(|b| matches!(b, b'<' | b'&' | b' ' | b'\t' | b'\n' | b'\r' | b'\x0c'))
                    .map_or(bytes.len(), |n| i + n);
                w.text(&html[i..end]);
                i = end;
            }
        }
    }
    w.finish()
}

/// Where the text is in a table cell.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cell {
    /// In no cell (or between two).
    Outside,
    /// In a cell that has had no text so far.
    Empty,
    /// In a cell that has had text.
    HasText,
}

/// A line end a block asked for in a cell, written when more of the cell's
/// text comes, left out when the cell ends first.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Break {
    Nothing,
    Line,
    /// The line's end and a blank line.
    Blank,
}

struct Writer {
    out: String,
    /// The line being written has text (not only a quote prefix).
    line_has_text: bool,
    /// Where the line being written starts in `out`.
    line_start: usize,
    /// Where its text starts, after its quote prefix.
    text_start: usize,
    /// A blank line is to come before the next line of text (none before
    /// the first).
    blank: bool,
    /// Whitespace came since the last text.
    space: bool,
    /// A line end was in that whitespace.
    space_ends_line: bool,
    quote_depth: usize,
    pre_depth: usize,
    /// In `<head>`, whose text is not shown.
    in_head: bool,
    /// In a `<p>` that has had no text so far.
    empty_paragraph: bool,
    /// Cells of the table row so far.
    cells: usize,
    cell: Cell,
    /// Tabs to write before the text of the cell: one for each cell before
    /// it in the row since the last text.
    tabs: usize,
    /// The line end to write before more of the cell's text.
    owed: Break,
    /// The character of a named entity, as mail-parser decodes it.
    entity: String,
    /// Where the mail has no more end tag of each [`HIDDEN`] element.
    no_end_tag_after: [usize; HIDDEN.len()],
    /// Where the mail has no more `<body`.
    no_body_after: usize,
    /// Where the mail has no more `"`, and no more `'`.
    no_quote_after: [usize; 2],
}

impl Writer {
    /// Writes text (no markup in it): in a cell, after the tabs or the line
    /// end the cell owes.
    fn text(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        self.in_head = false;
        self.empty_paragraph = false;
        match self.cell {
            Cell::Outside => {}
            Cell::Empty => {
                self.cell = Cell::HasText;
                if self.tabs > 0 {
                    self.space = false;
                    for _ in 0..self.tabs {
                        self.write("\t");
                    }
                    self.tabs = 0;
                }
            }
            Cell::HasText => match std::mem::replace(&mut self.owed, Break::Nothing) {
                Break::Nothing => {}
                Break::Line => self.close_line(),
                Break::Blank => {
                    self.close_line();
                    self.blank = true;
                }
            },
        }
        self.write(s);
    }

    /// Writes `s`, with the quote prefix at a line's start (after a blank
    /// line, if one is to come) and one space for any whitespace before it.
    fn write(&mut self, s: &str) {
        if !self.line_has_text {
            self.line_start = self.out.len();
            if self.blank && !self.out.is_empty() {
                self.out.push('\n');
            }
            self.blank = false;
            for _ in 0..self.quote_depth.min(MAX_QUOTE_PREFIX) {
                self.out.push_str("> ");
            }
            self.text_start = self.out.len();
            self.line_has_text = true;
        } else if self.space && !self.joins_wrapped_line(s) {
            self.out.push(' ');
        }
        self.space = false;
        self.space_ends_line = false;
        self.out.push_str(s);
    }

    /// Whether the whitespace before `s` is a line end of the HTML between
    /// two East Asian wide characters, which browsers render as nothing
    /// (CSS Text's segment break rule): Outlook wraps the lines of its HTML
    /// in the middle of Japanese words (`ご確` / `認`), and a space there
    /// splits the word for search.
    fn joins_wrapped_line(&self, s: &str) -> bool {
        self.space_ends_line
            && self.out.chars().next_back().is_some_and(is_wide)
            && s.chars().next().is_some_and(is_wide)
    }

    /// A space, tab, line end or form feed of the HTML.
    fn whitespace(&mut self, b: u8) {
        if self.pre_depth == 0 {
            self.space = true;
            self.space_ends_line |= matches!(b, b'\n' | b'\r');
            return;
        }
        match b {
            b'\n' => self.line_break(),
            b'\r' => {}
            b'\t' => self.text("\t"),
            _ => self.text(" "),
        }
    }

    /// Ends the line, without its trailing whitespace. A line of nothing but
    /// whitespace after its quote prefix is a blank line; any other is kept
    /// (a line of a `>` the mail wrote too).
    fn close_line(&mut self) {
        if self.line_has_text {
            let text = self.out.get(self.text_start..).unwrap_or_default();
            let end = self.text_start + text.trim_end().len();
            if end > self.text_start {
                self.out.truncate(end);
                self.out.push('\n');
            } else {
                self.out.truncate(self.line_start);
                self.blank = true;
            }
            self.line_has_text = false;
        }
        self.space = false;
        self.space_ends_line = false;
    }

    /// A block's start or end: ends the line, unless it is empty; in a
    /// cell, only when more of the cell's text comes.
    fn end_line(&mut self) {
        match self.cell {
            Cell::Outside => self.close_line(),
            Cell::Empty => {}
            Cell::HasText => self.owed = self.owed.max(Break::Line),
        }
    }

    /// A `<br>` (or a newline in `<pre>`): ends the line, an empty one too;
    /// in a cell, only when more of the cell's text comes.
    fn line_break(&mut self) {
        match self.cell {
            Cell::Outside if self.line_has_text => self.close_line(),
            Cell::Outside => {
                self.blank = true;
                self.space = false;
                self.space_ends_line = false;
            }
            Cell::Empty => {}
            Cell::HasText if self.owed == Break::Nothing => self.owed = Break::Line,
            Cell::HasText => self.owed = Break::Blank,
        }
    }

    /// Reads the markup at `start` (a `<`); returns where the text goes on.
    fn markup(&mut self, html: &str, start: usize) -> usize {
        let bytes = html.as_bytes();
        let rest = &bytes[start..];
        if rest.starts_with(b"<!--") {
            return comment_end(bytes, start + 4);
        }
        let closing = rest.get(1) == Some(&b'/');
        let name_at = start + 1 + usize::from(closing);
        let name_len = bytes[name_at.min(bytes.len())..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        let is_tag = name_len > 0 && bytes[name_at].is_ascii_alphabetic();
        if !is_tag && !matches!(rest.get(1), Some(b'!' | b'?')) {
            // A `<` that starts no tag (`a < b`) is text.
            self.text("<");
            return start + 1;
        }
        if !is_tag {
            // <!DOCTYPE ...>, <?xml ...?>, <![if !supportLists]>
            return memchr::memchr(b'>', rest).map_or(bytes.len(), |n| start + n + 1);
        }
        let name_end = name_at + name_len;
        let end = self.tag_end(bytes, name_end);
        let mut lower = [0; MAX_NAME];
        let name = match bytes.get(name_at..name_end) {
            Some(name) if name.len() <= MAX_NAME => {
                let lower = &mut lower[..name.len()];
                lower.copy_from_slice(name);
                lower.make_ascii_lowercase();
                std::str::from_utf8(lower).unwrap_or_default()
            }
            _ => "",
        };
        let self_closing = end >= 2 && bytes[end - 2] == b'/';
        if self.in_head {
            if closing {
                // `</head>` ends it; other end tags in it are dropped.
                self.in_head = name != "head" && name != "body" && name != "html";
                return end;
            }
            if !IN_HEAD.contains(&name) {
                self.in_head = false;
            }
        }
        if !closing
            && !self_closing
            && let Some(h) = HIDDEN.iter().position(|&h| h == name)
        {
            return self.raw_text_end(bytes, end, h);
        }
        match (name, closing) {
            ("head", false) => {
                self.in_head = !self_closing;
                end
            }
            ("img", false) => {
                // Not of a tag that the end of the mail cuts (browsers drop
                // it).
                let attributes = html.get(name_end..end).and_then(|a| a.strip_suffix('>'));
                if let Some(alt) = attributes.and_then(|a| attribute(a, "alt")) {
                    self.inline_text(alt);
                }
                end
            }
            ("pre", false) => {
                self.tag(name, closing);
                // A line end right after `<pre>` is not content (HTML drops
                // it, so that `<pre>` may stand on a line of its own).
                match bytes.get(end..end + 2) {
                    Some(b"\r\n") => end + 2,
                    _ => end + usize::from(matches!(bytes.get(end), Some(b'\n' | b'\r'))),
                }
            }
            _ => {
                self.tag(name, closing);
                end
            }
        }
    }

    /// What the tag `name` does to the text.
    fn tag(&mut self, name: &str, closing: bool) {
        match (name, closing) {
            ("br", _) => return self.line_break(),
            ("td" | "th", false) => {
                self.owed = Break::Nothing;
                self.tabs += usize::from(self.cells > 0);
                self.cells += 1;
                self.cell = Cell::Empty;
                return;
            }
            ("td" | "th", true) => {
                self.owed = Break::Nothing;
                self.cell = Cell::Outside;
                return;
            }
            _ => {}
        }
        if TABLE_PARTS.contains(&name) {
            self.cell = Cell::Outside;
            self.owed = Break::Nothing;
            self.tabs = 0;
            self.cells = 0;
            return self.close_line();
        }
        if !BLOCKS.contains(&name) {
            return;
        }
        self.end_line();
        match (name, closing) {
            ("blockquote", false) => self.quote_depth += 1,
            ("blockquote", true) => self.quote_depth = self.quote_depth.saturating_sub(1),
            ("pre", false) => self.pre_depth += 1,
            ("pre", true) => self.pre_depth = self.pre_depth.saturating_sub(1),
            // Outlook writes an empty line as a paragraph of a no-break
            // space (`<p class=MsoNormal><o:p>&nbsp;</o:p></p>`): a blank
            // line between paragraphs, as the mail shows it.
            ("p", false) => self.empty_paragraph = true,
            ("p", true) if self.empty_paragraph => {
                self.empty_paragraph = false;
                self.line_break();
            }
            ("li", false) => {
                self.text("-");
                self.space = true;
            }
            ("hr", false) => {
                self.text(RULE);
                self.end_line();
            }
            _ => {}
        }
    }

    /// Writes the value of an attribute shown in its element's place (an
    /// image's alt text): entities decoded, its whitespace spaces, no markup
    /// in it.
    fn inline_text(&mut self, value: &str) {
        let bytes = value.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'&' => i = self.entity(value, i),
                b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => {
                    self.space = true;
                    i += 1;
                }
                _ => {
                    let end = bytes[i..]
                        .iter()
                        .position(|b| matches!(b, b'&' | b' ' | b'\t' | b'\n' | b'\r' | b'\x0c'))
                        .map_or(bytes.len(), |n| i + n);
                    self.text(&value[i..end]);
                    i = end;
                }
            }
        }
    }

    /// The position just after the end tag of the hidden element
    /// `HIDDEN[h]` whose content starts at `from` (`</name` followed by a
    /// space, `/` or `>`, in any case). Without one, the element ends before
    /// the next `<body` (a `<style>` left open in `<head>`), else with the
    /// mail.
    fn raw_text_end(&mut self, bytes: &[u8], from: usize, h: usize) -> usize {
        let name = HIDDEN[h].as_bytes();
        // Each search runs to the end of the mail at most once.
        if from < self.no_end_tag_after[h] {
            let mut at = from;
            while let Some(lt) = find(bytes, at, b"</") {
                let name_at = lt + 2;
                let after = name_at + name.len();
                let named = bytes
                    .get(name_at..after)
                    .is_some_and(|n| n.eq_ignore_ascii_case(name));
                if named
                    && matches!(
                        bytes.get(after),
                        None | Some(b'>' | b'/' | b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
                    )
                {
                    return self.tag_end(bytes, after);
                }
                at = name_at;
            }
            self.no_end_tag_after[h] = from;
        }
        if from < self.no_body_after {
            let body = memchr::memmem::find_iter(&bytes[from..], b"<")
                .map(|n| from + n)
                .find(|&lt| {
                    bytes
                        .get(lt + 1..lt + 5)
                        .is_some_and(|n| n.eq_ignore_ascii_case(b"body"))
                });
            if let Some(body) = body {
                return body;
            }
            self.no_body_after = from;
        }
        bytes.len()
    }

    /// The position just after the `>` that ends the tag whose name ends
    /// before `from`, as browsers read it: a quote opens an attribute value
    /// only right after `=` (so `<font face="x"">` and `<a href=it's>` end at
    /// their `>`), and a quoted value may hold `>`. A value whose quote is
    /// never closed ends at the first `>` after it (browsers let it run to
    /// the end of the mail: one stray quote would hide all that follows).
    /// The end of `bytes` if no `>` comes.
    fn tag_end(&mut self, bytes: &[u8], from: usize) -> usize {
        let mut value_may_start = false;
        let mut i = from;
        while i < bytes.len() {
            let b = bytes[i];
            match b {
                b'>' => return i + 1,
                b'=' => value_may_start = true,
                b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => {}
                b'"' | b'\'' if value_may_start => {
                    let q = usize::from(b == b'\'');
                    let close = if i < self.no_quote_after[q] {
                        memchr::memchr(b, &bytes[i + 1..]).map(|n| i + 1 + n)
                    } else {
                        None
                    };
                    match close {
                        Some(close) => i = close,
                        None => {
                            // Each search runs to the end of the mail once.
                            self.no_quote_after[q] = self.no_quote_after[q].min(i);
                            return memchr::memchr(b'>', &bytes[i..])
                                .map_or(bytes.len(), |n| i + n + 1);
                        }
                    }
                    value_may_start = false;
                }
                _ => value_may_start = false,
            }
            i += 1;
        }
        bytes.len()
    }

    /// Reads the entity at `start` (a `&`); returns where the text goes on.
    fn entity(&mut self, html: &str, start: usize) -> usize {
        let bytes = html.as_bytes();
        let reference = match bytes.get(start + 1) {
            Some(b'#') => numeric_reference(bytes, start + 2),
            _ => self.named_reference(bytes, start + 1),
        };
        let Some((c, end)) = reference else {
            self.text("&");
            return start + 1;
        };
        // A no-break space is a space between words (`&nbsp;` pads table
        // cells and indents in Outlook's HTML).
        // `&#13;&#10;` and `&#9;` are whitespace as the characters are: a
        // line end written as it is would start a line without its quote
        // prefix. Other control characters are not seen.
        match c {
            '\u{A0}' => self.space = true,
            ' ' | '\t' | '\n' | '\r' | '\x0c' => self.whitespace(c as u8),
            _ if c.is_control() => {}
            _ => self.text(c.encode_utf8(&mut [0; 4])),
        }
        end
    }

    /// The character of the named reference whose name starts at `from`
    /// and where the text goes on after it; `None` if none is there.
    fn named_reference(&mut self, bytes: &[u8], from: usize) -> Option<(char, usize)> {
        let len = bytes[from..]
            .iter()
            .take(MAX_ENTITY)
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        if len == 0 {
            return None;
        }
        let name = &bytes[from..from + len];
        let after = from + len;
        match bytes.get(after) {
            Some(b';') => {
                self.entity.clear();
                mail_parser::decoders::html::add_html_token(
                    &mut self.entity,
                    &bytes[from - 1..=after],
                    false,
                );
                // An unknown name is written as it is.
                let mut chars = self.entity.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Some((c, after + 1)),
                    _ => None,
                }
            }
            Some(b'=') => None,
            _ => LEGACY_ENTITIES
                .binary_search_by(|(legacy, _)| legacy.as_bytes().cmp(name))
                .ok()
                .map(|i| (char::from(LEGACY_ENTITIES[i].1), after)),
        }
    }

    /// The text, without a line end at its end.
    fn finish(mut self) -> String {
        self.close_line();
        if self.out.ends_with('\n') {
            self.out.pop();
        }
        self.out
    }
}

/// The character of the numeric reference whose `x` or digits start at
/// `from` (after `&#`), and where the text goes on after it (and after its
/// `;`, which browsers do without); `None` without digits. As in browsers,
/// 128 to 159 are Windows-1252's characters, and a number that is no
/// character is U+FFFD.
fn numeric_reference(bytes: &[u8], from: usize) -> Option<(char, usize)> {
    let (radix, digits_at) = match bytes.get(from) {
        Some(b'x' | b'X') => (16, from + 1),
        _ => (10, from),
    };
    let mut value: u32 = 0;
    let mut i = digits_at;
    while let Some(digit) = bytes.get(i).and_then(|&b| char::from(b).to_digit(radix)) {
        value = value
            .saturating_mul(radix)
            .saturating_add(digit)
            .min(0x11_0000);
        i += 1;
    }
    if i == digits_at {
        return None;
    }
    if bytes.get(i) == Some(&b';') {
        i += 1;
    }
    let c = match value {
        0x80..=0x9F => WINDOWS_1252[value as usize - 0x80],
        _ => char::from_u32(value).unwrap_or(char::REPLACEMENT_CHARACTER),
    };
    Some((c, i))
}

/// The position just after the comment whose text starts at `from` (after
/// its `<!--`), as browsers end it: at `-->` or `--!>`, at once in `<!-->`
/// and `<!--->`; with the mail if nothing ends it.
fn comment_end(bytes: &[u8], from: usize) -> usize {
    let rest = bytes.get(from..).unwrap_or_default();
    if rest.starts_with(b">") {
        return from + 1;
    }
    if rest.starts_with(b"->") {
        return from + 2;
    }
    let mut at = from;
    while let Some(n) = bytes.get(at..).and_then(|b| memchr::memchr(b'>', b)) {
        let gt = at + n;
        let text = &bytes[from..gt];
        if text.ends_with(b"--") || text.ends_with(b"--!") {
            return gt + 1;
        }
        at = gt + 1;
    }
    bytes.len()
}

/// The value of the attribute `name` (in lower case) in `attributes`, the
/// text of a start tag after its name and before its `>`, read as browsers
/// read it: a value is quoted or runs to whitespace, the first of two
/// attributes of one name counts. `Some("")` for an attribute without a
/// value.
fn attribute<'a>(attributes: &'a str, name: &str) -> Option<&'a str> {
    let bytes = attributes.as_bytes();
    let is_space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c');
    let skip = |mut i: usize, skipped: &dyn Fn(u8) -> bool| {
        while bytes.get(i).is_some_and(|&b| skipped(b)) {
            i += 1;
        }
        i
    };
    let mut i = 0;
    loop {
        let name_at = skip(i, &|b| is_space(b) || b == b'/');
        if name_at >= bytes.len() {
            return None;
        }
        // A name runs to whitespace, `/` or `=`, though it starts with `=`.
        let name_end = skip(name_at + 1, &|b| !is_space(b) && b != b'/' && b != b'=');
        let mut value = name_end..name_end;
        i = skip(name_end, &is_space);
        if bytes.get(i) == Some(&b'=') {
            i = skip(i + 1, &is_space);
            match bytes.get(i) {
                Some(&q @ (b'"' | b'\'')) => {
                    let close =
                        memchr::memchr(q, &bytes[i + 1..]).map_or(bytes.len(), |n| i + 1 + n);
                    value = i + 1..close;
                    i = close + 1;
                }
                _ => {
                    let end = skip(i, &|b| !is_space(b));
                    value = i..end;
                    i = end;
                }
            }
        }
        if bytes[name_at..name_end].eq_ignore_ascii_case(name.as_bytes()) {
            return attributes.get(value);
        }
    }
}

/// An East Asian wide character of a script written without spaces
/// (Chinese characters, kana, their punctuation and full-width forms; not
/// Hangul, written with spaces).
fn is_wide(c: char) -> bool {
    matches!(c,
        '\u{2E80}'..='\u{312F}'
            | '\u{3190}'..='\u{A4CF}'
            | '\u{F900}'..='\u{FAFF}'
            | '\u{FE30}'..='\u{FE4F}'
            | '\u{FF00}'..='\u{FF60}'
            | '\u{FF61}'..='\u{FF9F}'
            | '\u{FFE0}'..='\u{FFE6}'
            | '\u{20000}'..='\u{3FFFD}')
}

/// Where `needle` first occurs in `bytes` from `from` on.
fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(bytes.get(from..)?, needle).map(|n| from + n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_make_lines_and_words_stay_apart() {
        let html = "<html><head><title>t</title><style>p{color:red}</style></head><body>\
            <div>Thanks, Friday works.</div><div>Mori</div>\
            <p>請求書を<b>送付</b>します。</p>line one<br>line two<br><br>after a blank\
            <ul><li>one</li><li>two</li></ul>\
            <table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>\
            <!-- a comment <div>hidden</div> --><script>var x = '<div>';</script>end</body></html>";
        assert_eq!(
            to_text(html),
            "Thanks, Friday works.\nMori\n請求書を送付します。\nline one\nline two\n\n\
             after a blank\n- one\n- two\na\tb\nc\td\nend"
        );
    }

    #[test]
    fn blockquotes_are_quoted_as_plain_text_mail_quotes() {
        let html = "<div>Yes, Friday.</div><div class=\"gmail_quote\">\
            <div class=\"gmail_attr\">On Mon, 4 Mar 2024 at 09:00, Yamada &lt;yamada@minato-shokai.co.jp&gt; wrote:<br></div>\
            <blockquote class=\"gmail_quote\" style=\"margin:0 0 0 .8ex\"><div>Can we ship on Friday?</div>\
            <blockquote>Earlier</blockquote><div>second line</div></blockquote></div>";
        let text = to_text(html);
        assert_eq!(
            text,
            "Yes, Friday.\nOn Mon, 4 Mar 2024 at 09:00, Yamada <yamada@minato-shokai.co.jp> wrote:\n\
             > Can we ship on Friday?\n> > Earlier\n> second line"
        );
        let parts = crate::quotes::parts(&text);
        let own: String = parts.iter().filter(|p| !p.quoted).map(|p| p.text).collect();
        assert_eq!(own.trim(), "Yes, Friday.");
    }

    #[test]
    fn entities_spaces_pre_and_stray_brackets() {
        assert_eq!(
            to_text("a&amp;b &lt;c&gt; &#x8acb;&#27714;書"),
            "a&b <c> 請求書"
        );
        assert_eq!(
            to_text("x&nbsp;&nbsp;y &unknown z & w &;"),
            "x y &unknown z & w &;"
        );
        // As browsers read it: `<` before a letter opens a tag, else it is text.
        assert_eq!(to_text("if a < b and 1<2 <3"), "if a < b and 1<2 <3");
        assert_eq!(to_text("c<d"), "c");
        assert_eq!(
            to_text("<pre>col1  col2\n  indented\n</pre>after"),
            "col1  col2\n  indented\nafter"
        );
        assert_eq!(
            to_text("<a href=\"x>y\" title='>'>link</a> text"),
            "link text"
        );
        assert_eq!(to_text("<!DOCTYPE html><?xml version=\"1.0\"?>ok"), "ok");
        assert_eq!(to_text("cut <div"), "cut");
        assert_eq!(to_text("<hr>below"), format!("{RULE}\nbelow"));
    }

    #[test]
    fn scripts_styles_and_head_end_as_in_browsers() {
        // A `<` in a script opens no tag, which would run over its end tag
        // and hide the rest of the mail.
        assert_eq!(
            to_text("<head><script>if (i<n) return;</script></head><body><p>shown</p></body>"),
            "shown"
        );
        assert_eq!(
            to_text("<div>a</div><script>s = \"</div>\"; if (a<b) {}</SCRIPT >\n<p>b</p>"),
            "a\nb"
        );
        // A `<head>` that nothing closes ends where the body's content
        // starts, as browsers end it.
        assert_eq!(
            to_text(
                "<html><head><meta charset=\"utf-8\"><title>t</title><div>Body text</div></html>"
            ),
            "Body text"
        );
        assert_eq!(
            to_text("<head><meta charset=utf-8>Plain text"),
            "Plain text"
        );
        // A `<style>` left open in `<head>` ends at `<body>`; else with the mail.
        assert_eq!(to_text("<head><style>p{}<body>shown"), "shown");
        assert_eq!(
            to_text("<style>p{}</stylex></style>shown<style>p{}"),
            "shown"
        );
    }

    #[test]
    fn stray_quotes_in_tags_hide_nothing() {
        // A quote opens a value only after `=`, as in browsers.
        assert_eq!(
            to_text(
                "<font face=\"MS Gothic\"\">Text</font> <a href=http://x.example/it's>one</a> two"
            ),
            "Text one two"
        );
        // A value whose quote is never closed ends at the next `>`.
        assert_eq!(
            to_text("<div>one <a href=\"http://x.example/>two</a> three</div><p>four</p>"),
            "one two three\nfour"
        );
        assert_eq!(to_text("<p title='it>a</p><p>b</p>"), "a\nb");
        assert_eq!(to_text("<a b=\"c>d"), "d");
        // Quoted values still hold `>`.
        assert_eq!(to_text("<a title=\"a>b\" x = '>'>link</a>"), "link");
        let n = 100_000;
        let html = "<a x=\">".repeat(n) + &"<b y='>".repeat(n) + "end";
        let started = std::time::Instant::now();
        assert_eq!(to_text(&html), "end");
        assert!(started.elapsed().as_secs() < 5);
    }

    #[test]
    fn whitespace_entities_are_whitespace() {
        let text =
            to_text("<blockquote>one&#13;&#10;two&#10;three&NewLine;four&#9;five</blockquote>");
        assert_eq!(text, "> one two three four five");
        assert_eq!(to_text("<pre>a&#10;b&#x9;c</pre>"), "a\nb\tc");
        assert_eq!(to_text("a&#0;b&#x1;c&#x7F;d"), "abcd");
    }

    #[test]
    fn a_line_end_between_japanese_characters_is_no_space() {
        let html = "<p class=MsoNormal>ご確\r\n認のほど、<span>よろしく</span>\nお願いいたします。\nThanks\nand 「見積」\n（再送）</p>\
            <p>請求書 送付</p><p>한국어\n문장</p>";
        assert_eq!(
            to_text(html),
            "ご確認のほど、よろしくお願いいたします。 Thanks and 「見積」（再送）\n請求書 送付\n한국어 문장"
        );
    }

    #[test]
    fn an_empty_outlook_paragraph_is_a_blank_line() {
        let html = "<p class=MsoNormal>山田様<o:p></o:p></p>\n\
            <p class=MsoNormal><o:p>&nbsp;</o:p></p>\n\
            <p class=MsoNormal>いつもお世話になっております。<o:p></o:p></p>\n\
            <p class=MsoNormal><o:p>&nbsp;</o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p>\n\
            <p class=MsoNormal>よろしくお願いいたします。</p><p></p>";
        assert_eq!(
            to_text(html),
            "山田様\n\nいつもお世話になっております。\n\nよろしくお願いいたします。"
        );
    }

    #[test]
    fn paragraphs_in_table_cells_keep_the_row_on_one_line() {
        // Outlook writes the text of every cell as a paragraph, and an empty
        // cell as a paragraph of a no-break space.
        let html = "<table><tr><td><p class=MsoNormal>品名<o:p></o:p></p></td>\n\
            <td><p class=MsoNormal>数量<o:p></o:p></p></td></tr>\n\
            <tr><td><div><p>ボルト</p></div></td><td><p><o:p>&nbsp;</o:p></p></td><td><p>400</p></td></tr></table>";
        assert_eq!(to_text(html), "品名\t数量\nボルト\t\t400");
        // The paragraphs of a cell that holds more are lines, as in a
        // table laid out around the whole mail.
        let html = "<table><tr><td>\n<p>Hello</p><p>&nbsp;</p><p>Body<br>text</p><br></td></tr></table>\
            <p>after</p><table><tr><td><p>a</p><p>b</p></td><td><p>c</p></td></tr></table>";
        assert_eq!(to_text(html), "Hello\n\nBody\ntext\nafter\na\nb\tc");
        // The rows of a table in a cell are lines of their own.
        let html = "<table><tr><td><p>A</p></td><td><table><tr><td><p>x</p></td><td>y</td></tr>\
            <tr><td>z</td><td>w</td></tr></table></td><td>B</td></tr><tr><td>C<table><tr><td>v</td></tr></table>D</td></tr></table>";
        assert_eq!(to_text(html), "A\nx\ty\nz\tw\nB\nC\nv\nD");
    }

    #[test]
    fn a_paragraph_of_a_quote_mark_is_kept() {
        // Plain text quoted by the sender's mailer, then sent as HTML: an
        // empty quoted line is `&gt;` alone.
        let html =
            "<p>Yes.</p><p>&gt; Can we ship?</p><p>&gt;</p><p>&gt; Thanks</p><p>&gt; &gt;</p>";
        assert_eq!(to_text(html), "Yes.\n> Can we ship?\n>\n> Thanks\n> >");
        assert_eq!(
            to_text("<blockquote>a<br><br>&gt;<br>b<pre>  \n</pre>c</blockquote>"),
            "> a\n\n> >\n> b\n\n> c"
        );
    }

    #[test]
    fn empty_comments_end_at_once() {
        assert_eq!(
            to_text(
                "<p>one<!-->two</p><p>three<!--->four</p><!-- x -- y --!>five<!---->six<!-- <p>x</p> -->."
            ),
            "onetwo\nthreefour\nfivesix."
        );
        assert_eq!(to_text("a<!-- never closed"), "a");
    }

    #[test]
    fn a_line_end_right_after_pre_is_not_content() {
        assert_eq!(
            to_text("<p>before</p><pre>\ncode\n  indented\n</pre>"),
            "before\ncode\n  indented"
        );
        assert_eq!(to_text("before<pre>\r\n\r\ncode</pre>"), "before\n\ncode");
        assert_eq!(to_text("before<PRE class=x>\n</pre>after"), "before\nafter");
    }

    #[test]
    fn legacy_entities_without_a_semicolon_are_decoded_as_browsers_do() {
        assert_eq!(
            to_text("&amp &lt;b&gt &quot;x&quot &copy 2024 &REG a&nbsp&nbsp;b 東京&nbsp大阪"),
            "& <b> \"x\" © 2024 ® a b 東京 大阪"
        );
        assert_eq!(to_text("&#12354&#x3044 &#x3046;&#12360x"), "あい うえx");
        // Not where browsers read on into a word or a value.
        assert_eq!(
            to_text("AT&T Q&A R&D &notit; &ampx http://x.example/?a=1&copy=2&para=3&param=4"),
            "AT&T Q&A R&D &notit; &ampx http://x.example/?a=1&copy=2&para=3&param=4"
        );
        assert_eq!(to_text("&# &#x; &#xZ &"), "&# &#x; &#xZ &");
        // Numbers as browsers read them: Windows-1252's for 128 to 159.
        assert_eq!(
            to_text("&#150; &#8211; &#x92;s &#99999999999999999999; &#xD800;"),
            "\u{2013} \u{2013} \u{2019}s \u{FFFD} \u{FFFD}"
        );
    }

    #[test]
    fn legacy_entities_are_those_of_the_html_table() {
        assert_eq!(LEGACY_ENTITIES.len(), 106);
        // In byte order, for the binary search.
        assert!(LEGACY_ENTITIES.windows(2).all(|w| w[0].0 < w[1].0));
        for (b, &c) in (0x80..=0x9F_u8).zip(&WINDOWS_1252) {
            let byte = [b];
            let (decoded, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(&byte);
            assert_eq!(decoded, c.to_string(), "{b:#x}");
        }
        for &(name, c) in LEGACY_ENTITIES {
            let mut decoded = String::new();
            let token = format!("&{name};");
            mail_parser::decoders::html::add_html_token(&mut decoded, token.as_bytes(), false);
            assert_eq!(decoded, char::from(c).to_string(), "{name}");
        }
    }

    #[test]
    fn images_are_their_alt_text() {
        // Gmail writes emoji as images; logos in signatures have their name.
        assert_eq!(
            to_text(
                "Thanks<img data-emoji=\"😀\" class=an1 alt=\"😀\" src=\"https://x.example/1f600.png\"> \
                 <img src=spacer.gif alt=\"\"><img src=a.png>Mori<br>\
                 <IMG title=\"alt=x\" ALT='Minato &amp; Co.\n logo' width=1><img alt=logo/>\
                 <img alt=\"a>b\"><img alt"
            ),
            "Thanks😀 Mori\nMinato & Co. logologo/a>b"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// Whatever the markup, the text has no whitespace at a line's end,
        /// no blank line at either end and no two in a row, and reading it
        /// does not panic (cut entities, tags, comments and attribute values,
        /// multi-byte characters next to them).
        #[test]
        fn any_markup_gives_tidy_lines(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    "<td>", "</td>", "<th>", "<tr>", "</tr>", "<table>", "</table>", "<p>", "</p>",
                    "<div>", "<br>", "<pre>", "</pre>", "<blockquote>", "</blockquote>", "<li>",
                    "<hr>", "<head>", "<style>", "</style>", "<!--", "<!-->", "-->", "--!>", "-",
                    "<img alt=", "<img src=x alt=\"", "\"", "'", ">", "<", "/", "=", "&", "&#", "#",
                    "x", ";", "amp", "nbsp", "gt", "12354", "&gt;", "&nbsp;", "&#10;", " ", "\t",
                    "\n", "\r\n", "\r", "あ", "é", "\u{3000}", "a", "請求書",
                ]),
                0..40,
            )
        ) {
            let text = to_text(&pieces.concat());
            proptest::prop_assert!(!text.starts_with('\n') && !text.ends_with('\n'), "{text:?}");
            proptest::prop_assert!(!text.contains("\n\n\n") && !text.contains('\r'), "{text:?}");
            for line in text.lines() {
                proptest::prop_assert_eq!(line, line.trim_end(), "{:?}", text);
            }
        }
    }

    #[test]
    fn hostile_markup_is_linear() {
        let n = 100_000;
        let started = std::time::Instant::now();
        let html = "<table><tr>".to_string() + &"<td><p>".repeat(n) + "x";
        assert_eq!(to_text(&html), "\t".repeat(n - 1) + "x");
        let html = "<table><tr><td>".repeat(n) + "x" + &"<p>y</td>".repeat(n);
        assert_eq!(to_text(&html).lines().count(), n + 1);
        assert_eq!(to_text(&("<!-- ".to_string() + &"-!>".repeat(n))), "");
        assert_eq!(to_text(&"&#".repeat(n)), "&#".repeat(n));
        assert_eq!(to_text(&("&#".to_string() + &"9".repeat(n))), "\u{FFFD}");
        let html = "&".to_string() + &"a".repeat(n);
        assert_eq!(to_text(&html), html);
        let html = "<img alt=\"".repeat(n) + "a";
        assert_eq!(to_text(&html), "");
        let html = "<img alt=\"".repeat(n) + ">";
        assert_eq!(to_text(&html), "<img alt=");
        let html = "<img alt=a title=\"b\" ".repeat(n) + ">";
        assert_eq!(to_text(&html), "a");
        assert!(started.elapsed().as_secs() < 5);
    }

    #[test]
    fn deep_nesting_is_linear() {
        let n = 100_000;
        let html = format!(
            "{}deep{}",
            "<div><blockquote>".repeat(n),
            "</blockquote></div>".repeat(n)
        );
        let started = std::time::Instant::now();
        let text = to_text(&html);
        assert_eq!(text, "> ".repeat(MAX_QUOTE_PREFIX) + "deep");
        assert!(started.elapsed().as_secs() < 5);
        // Every line of a deep quote is prefixed: the text stays the size of
        // the mail.
        let html = "<blockquote>".repeat(n) + &"a<br>".repeat(n);
        let text = to_text(&html);
        assert_eq!(text.lines().count(), n);
        assert!(
            text.len() <= n * (2 * MAX_QUOTE_PREFIX + 2),
            "{}",
            text.len()
        );
    }
}
