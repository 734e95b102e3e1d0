//! Message-IDs out of `References`, `In-Reply-To` and `Message-ID` header values.
//!
//! Real headers are messier than RFC 5322: folded lines, comments such as
//! `(John's message of ...)`, MH-style `In-Reply-To: Your message of "Mon, 1 Jan" <id@x>`,
//! empty `<>` and unterminated `<abc`. These functions keep the ids and drop
//! the rest. Ids stay case-sensitive.

/// Extracts the Message-IDs of a `References` or `In-Reply-To` header value
/// (decoded text, possibly still folded), in order, without duplicates (the
/// first occurrence is kept), without angle brackets.
///
/// Every `<...>` token counts, with surrounding whitespace inside the brackets
/// trimmed; tokens that are empty, contain whitespace or another `<`, or are
/// never closed are dropped. Balanced `(comments)` and `"quoted strings"`
/// outside brackets are skipped, so the address in
/// `(message from John <john@example.com>)` is not taken for an id. If the
/// value contains no `<` at all, whitespace-separated words containing `@`
/// (with surrounding punctuation trimmed) are taken instead.
pub fn message_ids(raw: &str) -> Vec<String> {
    if raw.contains('<') && !raw.contains(['(', '"']) {
        bracketed_ids(raw)
    } else {
        any_ids(raw)
    }
}

/// [`message_ids`] of a value with `<` and neither comments nor quoted
/// strings (nearly every References and In-Reply-To): the bracketed ids,
/// found by byte search.
fn bracketed_ids(raw: &str) -> Vec<String> {
    let bytes = raw.as_bytes();
    let mut ids = UniqueIds::default();
    let mut open = memchr::memchr(b'<', bytes);
    while let Some(i) = open {
        let rest = bytes.get(i + 1..).unwrap_or_default();
        match memchr::memchr2(b'>', b'<', rest) {
            Some(k) if rest.get(k) == Some(&b'>') => {
                // `<` and `>` are ASCII: the slice is on character boundaries.
                let id = raw.get(i + 1..i + 1 + k).unwrap_or_default().trim();
                if !id.is_empty() && !id.contains(char::is_whitespace) {
                    ids.push(id);
                }
                let after = i + 2 + k;
                open =
                    memchr::memchr(b'<', bytes.get(after..).unwrap_or_default()).map(|n| after + n);
            }
            // A new `<` before this one closes: drop this one.
            Some(k) => open = Some(i + 1 + k),
            None => break,
        }
    }
    ids.into_vec()
}

/// [`message_ids`] in general: comments, quoted strings, and words with `@`
/// when nothing is bracketed.
fn any_ids(raw: &str) -> Vec<String> {
    let bracketed = raw.contains('<');
    let chars: Vec<char> = raw.chars().collect();
    let mut ids = UniqueIds::default();
    let mut word = String::new();
    // Once a comment or quoted string is found unterminated, no later one
    // can be skipped either; remembering this keeps the scan linear.
    let mut comments_balanced = true;
    let mut quotes_balanced = true;
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        match c {
            '<' if bracketed => {
                let close = chars
                    .get(i + 1..)
                    .and_then(|rest| rest.iter().position(|&d| d == '>' || d == '<'))
                    .map(|p| p + i + 1);
                match close {
                    Some(j) if chars.get(j) == Some(&'>') => {
                        let inner: String =
                            chars.get(i + 1..j).unwrap_or_default().iter().collect();
                        let id = inner.trim();
                        if !id.is_empty() && !id.contains(char::is_whitespace) {
                            ids.push(id);
                        }
                        i = j + 1;
                    }
                    // Unterminated, or a new `<` starts before this one closes:
                    // drop this one and rescan from the next `<`.
                    Some(j) => i = j,
                    None => break,
                }
            }
            '(' if comments_balanced => match skip_comment(&chars, i) {
                Some(end) => {
                    flush_word(&mut word, &mut ids, bracketed);
                    i = end;
                }
                None => {
                    comments_balanced = false;
                    word.push(c);
                    i += 1;
                }
            },
            '"' if quotes_balanced => match skip_quoted(&chars, i) {
                Some(end) => {
                    flush_word(&mut word, &mut ids, bracketed);
                    i = end;
                }
                None => {
                    quotes_balanced = false;
                    word.push(c);
                    i += 1;
                }
            },
            c if c.is_whitespace() => {
                flush_word(&mut word, &mut ids, bracketed);
                i += 1;
            }
            c => {
                if !bracketed {
                    word.push(c);
                }
                i += 1;
            }
        }
    }
    flush_word(&mut word, &mut ids, bracketed);
    ids.into_vec()
}

/// The Message-IDs a message with Message-ID `own` references, as threading
/// reads them: its References then its In-Reply-To (`ids`), each once,
/// without `own`.
pub fn thread_refs<I>(own: &str, ids: I) -> Vec<String>
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    let mut out = UniqueIds::default();
    for id in ids {
        let id = id.as_ref();
        if id != own {
            out.push(id);
        }
    }
    out.into_vec()
}

/// Normalises the value of a `Message-ID` header: the text inside the first
/// `<...>` (or the whole value when there is no `<`), with all whitespace
/// (from folding) and angle brackets removed. `None` when nothing is left.
pub fn normalize_id(raw: &str) -> Option<String> {
    // Fast path for the usual already-clean ASCII id.
    let clean = |b: u8| b > b' ' && b < 0x80 && b != b'<' && b != b'>';
    if !raw.is_empty() && raw.bytes().all(clean) {
        return Some(raw.to_string());
    }
    let inner = match raw.find('<') {
        Some(start) => {
            let rest = raw.get(start + 1..).unwrap_or_default();
            rest.find('>')
                .and_then(|end| rest.get(..end))
                .unwrap_or(rest)
        }
        None => raw,
    };
    let id: String = inner
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '<' && *c != '>')
        .collect();
    (!id.is_empty()).then_some(id)
}

/// Ids in first-seen order, each once. Header values hold a handful of ids,
/// for which a linear check is fastest; past `LINEAR_IDS` ids a set keeps a
/// header with thousands of ids linear (100k ids took 20 s, checked linearly).
#[derive(Debug, Default)]
pub struct UniqueIds {
    ids: Vec<String>,
    seen: rustc_hash::FxHashSet<String>,
}

/// Ids checked for repeats one by one, before [`UniqueIds`] builds a set.
const LINEAR_IDS: usize = 32;

impl UniqueIds {
    /// Adds `id` unless it is there already.
    pub fn push(&mut self, id: &str) {
        if self.ids.len() < LINEAR_IDS {
            if self.ids.iter().any(|known| known == id) {
                return;
            }
        } else {
            if self.seen.is_empty() {
                self.seen.extend(self.ids.iter().cloned());
            }
            if !self.seen.insert(id.to_string()) {
                return;
            }
        }
        self.ids.push(id.to_string());
    }

    pub fn into_vec(self) -> Vec<String> {
        self.ids
    }
}

/// In fallback mode (no `<` in the value), turns a finished word into an id
/// if it looks like one; always empties `word`.
fn flush_word(word: &mut String, ids: &mut UniqueIds, bracketed: bool) {
    if !bracketed {
        let token = word.trim_matches(|c: char| {
            matches!(c, '"' | '\'' | '(' | ')' | ',' | ';' | ':' | '[' | ']')
        });
        let looks_like_id = token
            .find('@')
            .is_some_and(|at| at > 0 && at + 1 < token.len());
        if looks_like_id {
            ids.push(token);
        }
    }
    word.clear();
}

/// The index just past the `)` closing the comment opened at `start`
/// (comments nest; `\` escapes), or `None` if it is never closed.
fn skip_comment(chars: &[char], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = start;
    while let Some(&c) = chars.get(i) {
        match c {
            '\\' => i += 1,
            '(' => depth += 1,
            ')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The index just past the `"` closing the quoted string opened at `start`
/// (`\` escapes), or `None` if it is never closed.
fn skip_quoted(chars: &[char], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while let Some(&c) = chars.get(i) {
        match c {
            '\\' => i += 1,
            '"' => return Some(i + 1),
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(raw: &str) -> Vec<String> {
        message_ids(raw)
    }

    /// Repeats are dropped in first-seen order on both sides of the switch
    /// to a set, and a References header of 100,000 ids (a mail loop, a
    /// broken client) is read in linear time: checked pairwise, this one
    /// took 20 s to parse and as long again to thread.
    #[test]
    fn repeated_ids_are_dropped_in_order_however_many_there_are() {
        let n = |i: usize| format!("<r{i}@example.jp>");
        let raw: Vec<String> = (0..40).chain([3, 35, 39, 0]).map(n).collect();
        let want: Vec<String> = (0..40).map(|i| format!("r{i}@example.jp")).collect();
        assert_eq!(ids(&raw.join(" ")), want);
        assert_eq!(ids(&format!("(comment) {}", raw.join(" "))), want);
        let many: Vec<String> = (0..100_000).chain(0..100_000).map(n).collect();
        let got = ids(&many.join("\r\n "));
        assert_eq!(got.len(), 100_000);
        assert_eq!(got.last().map(String::as_str), Some("r99999@example.jp"));
    }

    #[test]
    fn references_in_order_without_duplicates() {
        let raw = "<20090101.1234@mail.example.co.jp> <CAF=abc+def@mail.gmail.com>\r\n\t<20090101.1234@mail.example.co.jp> <87zk.fsf@vertex.dottedmag>";
        assert_eq!(
            ids(raw),
            vec![
                "20090101.1234@mail.example.co.jp",
                "CAF=abc+def@mail.gmail.com",
                "87zk.fsf@vertex.dottedmag",
            ]
        );
    }

    proptest::proptest! {
        /// The byte-search path finds what the general one finds.
        #[test]
        fn bracketed_ids_agree_with_the_general_scan(
            raw in "[<> \t\r\na@.x日]{0,40}"
        ) {
            if raw.contains('<') {
                proptest::prop_assert_eq!(bracketed_ids(&raw), any_ids(&raw));
            }
        }
    }

    #[test]
    fn ids_without_separating_space_and_case_kept() {
        assert_eq!(ids("<A@X><a@x>"), vec!["A@X", "a@x"]);
    }

    #[test]
    fn in_reply_to_with_text_and_comments() {
        assert_eq!(
            ids(
                "Your message of \"Mon, 1 Jan 2001 10:00:00 +0900.\"\n <200101010100.AA01234@mx.example.jp>"
            ),
            vec!["200101010100.AA01234@mx.example.jp"]
        );
        assert_eq!(
            ids(
                "<4B1C0C1E.5000404@example.com> (John's message of \"Sun, 06 Dec 2009 12:00:00 +0100\")"
            ),
            vec!["4B1C0C1E.5000404@example.com"]
        );
        // The address inside a comment or quoted string is not an id.
        assert_eq!(
            ids("(message from John Doe <john@example.com> on Mon) <id-1@host>"),
            vec!["id-1@host"]
        );
        assert_eq!(
            ids("\"John <john@example.com>\" <id-2@host>"),
            vec!["id-2@host"]
        );
    }

    #[test]
    fn garbage_produces_no_garbage_ids() {
        assert!(ids("").is_empty());
        assert!(ids("<>").is_empty());
        assert!(ids("< >").is_empty());
        assert!(ids("<abc").is_empty());
        assert!(ids("(John's message of Mon, 1 Jan 2001)").is_empty());
        assert!(ids("(unbalanced comment <x").is_empty());
        assert!(ids("<Your message of Mon, 1 Jan>").is_empty());
        assert_eq!(ids("<abc <def@x>"), vec!["def@x"]);
        assert_eq!(ids("<> <ok@x> <"), vec!["ok@x"]);
        assert_eq!(ids("< padded@x >"), vec!["padded@x"]);
        assert_eq!(ids("<<double@x>>"), vec!["double@x"]);
        assert_eq!(ids("(a) (b <c@d>) \"unbalanced <e@f>"), vec!["e@f"]);
    }

    #[test]
    fn fallback_without_brackets() {
        assert_eq!(
            ids("abc@example.com, def@example.com (comment x@y) junk @ a@ @b"),
            vec!["abc@example.com", "def@example.com"]
        );
        assert!(ids("Your message of Mon, 1 Jan 2001").is_empty());
    }

    #[test]
    fn japanese_text_around_ids() {
        assert_eq!(
            ids("山田様のメッセージ <20240401.ABC@example.co.jp> について"),
            vec!["20240401.ABC@example.co.jp"]
        );
    }

    #[test]
    fn long_garbage_is_handled_in_linear_time() {
        let raw = format!(
            "{}{}{}",
            "(".repeat(50_000),
            "\"".repeat(50_000),
            "<".repeat(50_000)
        );
        let start = std::time::Instant::now();
        assert!(ids(&raw).is_empty());
        assert!(start.elapsed().as_secs() < 5);
    }

    #[test]
    fn normalize_id_cases() {
        assert_eq!(normalize_id(" <abc@x> ").as_deref(), Some("abc@x"));
        assert_eq!(normalize_id("<abc@\r\n x>").as_deref(), Some("abc@x"));
        assert_eq!(normalize_id("abc@x").as_deref(), Some("abc@x"));
        assert_eq!(normalize_id("<ABC@x> (comment)").as_deref(), Some("ABC@x"));
        assert_eq!(normalize_id("<abc@x").as_deref(), Some("abc@x"));
        assert_eq!(normalize_id("<>"), None);
        assert_eq!(normalize_id("  "), None);
        assert_eq!(normalize_id(""), None);
    }
}
