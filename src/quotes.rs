//! Which lines of a message's text quote earlier mail.
//!
//! A reply carries the mail it answers, in one of two ways:
//! - `>`-quoted lines (also `＞`) under an attribution line such as
//!   `2024年4月10日(水) 19:13 青木 亮 <r.aoki@example.co.jp>:` or
//!   `On Wed, Apr 10, 2024 at 7:13 PM … wrote:`;
//! - the whole earlier message below a banner, as Outlook replies and as
//!   mailers forward: `-----Original Message-----`, `-----元のメッセージ-----`,
//!   `---------- Forwarded message ---------`, `Begin forwarded message:`,
//!   Lotus Notes' `----- Forwarded by … on <date> -----`, a line of
//!   underscores before `From:`/`差出人:`, or a bare header block
//!   (`差出人:`, `送信日時:`, `宛先:` and `件名:`, as Outlook's HTML mail
//!   converted to text shows it), or an attribution over text without `>`
//!   (`2024/04/10 19:13、岡田 <okada@example.jp>のメール:`). Everything from
//!   there on is quoted.
//!
//! The text of messages forwarded as attachments is quoted too
//! ([`parts_of`]).
//!
//! The index keeps quoted text in a field of its own, so that `unquoted:`
//! finds what a message itself says (a past answer to reuse, not the
//! question it quotes) and `quoted:` what it quotes; a plain word and `body:`
//! still find both. `show --unquoted`, `thread --unquoted` and `answers`
//! leave quoted lines out, `thread --body` dims them, the HTML export greys
//! them.
//!
//! The rules look at a line and at most a few lines around it; a line of the
//! message's own text that happens to look like an attribution (ends with a
//! colon and holds a date or an address, right above a quoted line) is
//! counted as quoted, and one in the very form of an attribution over
//! unmarked text (`2024/04/10 19:13 岡田 <okada@example.jp>:`: a date, a time
//! and the address last) quotes all the text below it.

/// A run of consecutive lines that are all quoted or all not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part<'a> {
    pub quoted: bool,
    /// The lines, each with its line end.
    pub text: &'a str,
}

/// `text` cut into runs of the message's own lines and quoted lines, in
/// order: the runs together are `text`.
pub fn parts(text: &str) -> Vec<Part<'_>> {
    let lines = lines_of(text);
    let quoted = classify(&lines);
    let mut parts: Vec<Part<'_>> = Vec::new();
    let (mut run_start, mut end) = (0, 0);
    for (i, line) in lines.iter().enumerate() {
        if i > 0 && quoted[i] != quoted[i - 1] {
            parts.push(Part {
                quoted: quoted[i - 1],
                text: &text[run_start..end],
            });
            run_start = end;
        }
        end += line.len();
    }
    if let Some(&last) = quoted.last() {
        parts.push(Part {
            quoted: last,
            text: &text[run_start..end],
        });
    }
    parts
}

/// The lines of `text`, each with its line end: LF, CRLF, or a bare CR (old
/// Mac mail).
fn lines_of(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut lines = Vec::new();
    let mut start = 0;
    while let Some(off) = memchr::memchr2(b'\n', b'\r', &bytes[start..]) {
        let at = start + off;
        let end = if bytes[at] == b'\r' && bytes.get(at + 1) == Some(&b'\n') {
            at + 2
        } else {
            at + 1
        };
        lines.push(&text[start..end]);
        start = end;
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// [`parts`] of `text` up to `forwarded_at`, then what follows (the text
/// of the messages it forwards as attachments) as one quoted part.
pub fn parts_of(text: &str, forwarded_at: usize) -> Vec<Part<'_>> {
    let Some((own, forwarded)) = text.split_at_checked(forwarded_at) else {
        return parts(text);
    };
    let mut out = parts(own);
    if forwarded.is_empty() {
        return out;
    }
    match out.last_mut() {
        // The quoted lines at the end of the text run on into it.
        Some(last) if last.quoted => {
            let start = forwarded_at - last.text.len();
            last.text = &text[start..];
        }
        _ => out.push(Part {
            quoted: true,
            text: forwarded,
        }),
    }
    out
}

/// Whether each line is quoted.
fn classify(lines: &[&str]) -> Vec<bool> {
    let mut quoted = vec![false; lines.len()];
    for i in 0..lines.len() {
        if starts_earlier_message(lines, i) {
            quoted[i..].fill(true);
            if i > 0 && is_first_half(lines[i - 1], lines[i].trim()) {
                quoted[i - 1] = true;
            }
            break;
        }
        if !is_quote_line(lines[i]) {
            continue;
        }
        quoted[i] = true;
        if i > 0 && !quoted[i - 1] {
            mark_attribution(lines, i, &mut quoted);
        }
    }
    quoted
}

/// A `>` line: the first character that is not a space is `>` or `＞`.
fn is_quote_line(line: &str) -> bool {
    matches!(
        line.trim_start_matches([' ', '\t', '\u{3000}'])
            .chars()
            .next(),
        Some('>' | '＞')
    )
}

/// Marks the attribution above the quote block starting at line `first`:
/// the line right above it (or above one blank line), when it ends with a
/// colon and holds a date, an address or `wrote`; with the line above it
/// when the attribution takes two lines: `On <date>` / `Name <addr> wrote:`,
/// or a date and name / the address alone (Gmail wraps a long Japanese
/// attribution so: `2024年4月10日(水) 19:13 営業部 青木 亮 <` /
/// `r.aoki@example.co.jp>:`).
fn mark_attribution(lines: &[&str], first: usize, quoted: &mut [bool]) {
    let mut j = first - 1;
    if lines[j].trim().is_empty() {
        if j == 0 {
            return;
        }
        j -= 1;
    }
    let t = lines[j].trim();
    let ends_with_colon = t.ends_with(':') || t.ends_with('：');
    let lower = t.to_ascii_lowercase();
    let looks_like = t.contains('@')
        || t.bytes().any(|b| b.is_ascii_digit())
        || lower.contains("wrote")
        || t.contains("書き");
    if quoted[j] || !ends_with_colon || !looks_like {
        return;
    }
    quoted[j..first].fill(true);
    if j > 0 && !quoted[j - 1] && is_first_half(lines[j - 1], t) {
        quoted[j - 1] = true;
    }
}

/// Whether `above` is the first half of the attribution `t` ends:
/// `On <date>` / `Name <addr> wrote:`, or a date and name / the address
/// alone (`2024年4月10日(水) 19:13 営業部 青木 亮 <` / `r.aoki@example.co.jp>:`).
fn is_first_half(above: &str, t: &str) -> bool {
    let on = |s: &str| s.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("on "));
    let above = above.trim();
    let digit = above.bytes().any(|b| b.is_ascii_digit());
    if t.get(t.len().saturating_sub(6)..)
        .is_some_and(|e| e.eq_ignore_ascii_case("wrote:"))
    {
        // `On` and a date: a line of own text may start with `On` too.
        return !on(t) && on(above) && digit;
    }
    let address_alone = t.starts_with('<') || (t.contains('>') && !t.contains('<'));
    address_alone && digit
}

/// Banners before an earlier message: the whole text between the dashes or
/// underscores of the line, compared lower-case (mutt's `Forwarded message
/// from …` may name the sender after it).
const BANNERS: &[&str] = &[
    "original message",
    "元のメッセージ",
    "元のメール",
    "オリジナル メッセージ",
    "オリジナルメッセージ",
    "forwarded message",
    "転送メッセージ",
    "転送されたメッセージ",
    "転送メール",
    "転送されたメール",
    "原始邮件",
    "原始郵件",
    "ursprüngliche nachricht",
    "weitergeleitete nachricht",
    "message d'origine",
    "message transféré",
    "mensaje original",
    "messaggio originale",
];

/// Lines that start a forwarded message by themselves (Apple Mail).
const FORWARD_LINES: &[&str] = &[
    "begin forwarded message:",
    "転送されたメッセージ:",
    "転送されたメッセージ：",
];

/// Whether line `i` starts an earlier message quoted whole to the end.
fn starts_earlier_message(lines: &[&str], i: usize) -> bool {
    let t = lines[i].trim();
    let Some(first) = t.chars().next() else {
        return false;
    };
    // An attribution over an earlier message that no `>` marks (Outlook and
    // phone mailers quote so); one over `>` lines is [`mark_attribution`]'s,
    // and one on a `>` line is quoted with it (a reply that cut the quote
    // below it goes on with its own text).
    if t.ends_with([':', '：'])
        && !is_quote_line(t)
        && is_attribution(t)
        && next_non_blank(lines, i).is_some_and(|l| !is_quote_line(l))
    {
        return true;
    }
    if !may_start_earlier_message(first) {
        return false;
    }
    if is_rule(first) {
        let inner = t.trim_matches(|c: char| is_rule(c) || c.is_whitespace());
        if inner.is_empty() {
            // A line of underscores before a `From:` line (Outlook).
            return t.chars().filter(|&c| c == '_').count() >= 8
                && next_non_blank(lines, i).is_some_and(|l| header_is(l, FROM));
        }
        // A banner stands alone between its rules: a line such as
        // `- the original message went astray` is the message's own text.
        let inner = inner.to_lowercase();
        if let Some(rest) = inner.strip_prefix("forwarded by ") {
            // Lotus Notes: `----- Forwarded by Taro Yamada/Tokyo/ACME on
            // 2024/04/10 19:13 -----`, wrapped after the date or not.
            return t.starts_with("-----")
                && rest
                    .split(" on ")
                    .skip(1)
                    .any(|w| w.starts_with(|c: char| c.is_ascii_digit()));
        }
        if inner == "original" {
            // Foxmail's, above the earlier message's `From:`; alone, the word
            // heads the text a translation is asked for or given beside.
            return next_non_blank(lines, i)
                .is_some_and(|l| header_is(l, FROM) || header_is(l, &["发件人"]));
        }
        return BANNERS.iter().any(|b| {
            inner
                .strip_prefix(b)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(" from "))
        });
    }
    if FORWARD_LINES.iter().any(|f| t.eq_ignore_ascii_case(f)) {
        return true;
    }
    // A header block: From, then a date within 4 lines, recipients and a
    // subject within 6 (Outlook writes all four; a phone memo's `From:`,
    // `日時:` and `件名:` name no recipient).
    let below = || lines[i + 1..].iter().take(6);
    header_is(t, FROM)
        && lines[i + 1..].iter().take(4).any(|l| header_is(l, DATE))
        && below().any(|l| header_is(l, TO))
        && below().any(|l| header_is(l, SUBJECT))
}

/// An attribution line that is one without a `>` line below it:
/// `On Wed, Apr 10, 2024 at 7:13 PM Okada <okada@example.jp> wrote:`,
/// `2024/04/10 19:13、岡田 花子のメール:`, Lotus Notes' `Okada
/// <okada@example.jp> wrote on 04/10/2024 07:13:00 PM:`, or a date, a time
/// and an address in `<>` at the end: `2024年4月10日(水) 19:13 岡田
/// <okada@example.jp>:`. Not any line with a digit, an `@` and a colon: a
/// bounce's `MAIL FROM:<a@example.jp> SIZE=2779:` or a patch's `@@
/// -1540,7 +1541,6 @@ out:` is the message's own.
fn is_attribution(t: &str) -> bool {
    let Some(body) = t.strip_suffix(':').or_else(|| t.strip_suffix('：')) else {
        return false;
    };
    let body = body.trim_end();
    let ends = |s: &str| {
        body.get(body.len().saturating_sub(s.len())..)
            .is_some_and(|e| e.eq_ignore_ascii_case(s))
    };
    let worded = ends("wrote")
        || ends("schrieb")
        || ends("a écrit")
        || ends("escribió")
        || ends("ha scritto")
        || ends("escreveu")
        || ends("geschreven")
        || body.ends_with("書きました")
        || body.ends_with("写道")
        || body.ends_with("寫道")
        || body.ends_with("님이 작성")
        || body.ends_with("のメール")
        || body.ends_with("のメッセージ");
    if t.chars().count() > 200 {
        return false;
    }
    if worded {
        // With the sender's address or the time: `社長からのメッセージ:` opens
        // a newsletter's own text, and so do a count, a year or a day
        // (`要点を3つ書きました:`, `社長からの2024年のメッセージ:`,
        // `4月10日のメール:`).
        return body.contains('@') || holds_time(body);
    }
    // German and Dutch put the verb before the sender: `Am 10.04.2024 um
    // 19:13 schrieb Okada <okada@example.jp>:`, `Okada schrieb am
    // 10.04.2024 um 19:13:`, `Op wo 10 apr 2024 om 19:13 schreef Okada
    // <okada@example.jp>:`; the time and the date make it one (Thunderbird
    // writes the year in two digits: `Am 16.05.22 um 19:13 schrieb Okada:`).
    if (body.starts_with("Am ") && body.contains(" schrieb "))
        || body.contains(" schrieb am ")
        || (body.starts_with("Op ") && body.contains(" schreef "))
    {
        return holds_time(body) && (holds_date(body) || holds_dotted_date(body));
    }
    if let Some((_, when)) = body.split_once(" wrote on ") {
        // Lotus Notes: the date and time alone after it.
        return holds_time(when)
            && holds_date(when)
            && when
                .bytes()
                .all(|b| b.is_ascii_digit() || b" /.-:APM".contains(&b));
    }
    // Gmail: the address last, the time's colon the first; not
    // `注文日時: 2024/04/10 19:13 <order@shop.example>:` nor `2024/04/10 19:13
    // に 岡田 <okada@example.jp> 様よりお問い合わせがありました:`.
    let b = body.as_bytes();
    let time_first = body.find([':', '：']).is_some_and(|c| {
        c > 0
            && b[c - 1].is_ascii_digit()
            && b.get(c + 1..c + 3)
                .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    });
    // Nor a support log's `2024/04/10 19:13 岡田様 <okada@example.jp>:`: no
    // mailer calls the sender 様 or さん. (Not 殿, which ends surnames
    // such as 鵜殿.)
    let honoured = |name: &str| {
        let name = name.trim_end();
        name.ends_with('様') || name.ends_with("さん")
    };
    body.ends_with('>')
        && body
            .rfind('<')
            .is_some_and(|lt| body[lt..].contains('@') && !honoured(&body[..lt]))
        && time_first
        && holds_date(body)
}

/// Whether `s` holds a time: `19:13`, `7:13`.
fn holds_time(s: &str) -> bool {
    let b = s.as_bytes();
    (1..b.len().saturating_sub(2)).any(|i| {
        b[i] == b':'
            && b[i - 1].is_ascii_digit()
            && b[i + 1].is_ascii_digit()
            && b[i + 2].is_ascii_digit()
    })
}

/// Whether `s` holds a date: a year of four digits, or a month and day
/// (`4/10`, `4月10日`).
fn holds_date(s: &str) -> bool {
    let b = s.as_bytes();
    let digits_at = |i: usize, n: usize| {
        b.get(i..i + n)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    s.contains('月')
        || (0..b.len()).any(|i| {
            digits_at(i, 4) || (b[i] == b'/' && i > 0 && digits_at(i - 1, 1) && digits_at(i + 1, 1))
        })
}

/// Whether `s` holds a German short date, the day, the month and the year
/// between dots: `16.05.22`, `1.5.2024`.
fn holds_dotted_date(s: &str) -> bool {
    let b = s.as_bytes();
    // The length of the run of digits at `i`.
    let digits = |i: usize| {
        b.get(i..)
            .map_or(0, |r| r.iter().take_while(|c| c.is_ascii_digit()).count())
    };
    (0..b.len()).any(|i| {
        let day = digits(i);
        let month = digits(i + day + 1);
        (i == 0 || !b[i - 1].is_ascii_digit())
            && (1..=2).contains(&day)
            && b.get(i + day) == Some(&b'.')
            && (1..=2).contains(&month)
            && b.get(i + day + 1 + month) == Some(&b'.')
            && digits(i + day + month + 2) >= 2
    })
}

/// A character of the lines banners are drawn with.
fn is_rule(c: char) -> bool {
    matches!(c, '-' | '－' | '─' | '―' | '=' | '_' | '＿')
}

/// A cheap first look at a line's first character (this runs on every line
/// of every message): a rule, the first letter of a [`FROM`] header or a
/// [`FORWARD_LINES`] line, or the `*` of a bold header.
fn may_start_earlier_message(first: char) -> bool {
    is_rule(first)
        || matches!(
            first.to_ascii_lowercase(),
            'b' | 'f' | 'v' | 'd' | '*' | '転' | '差' | '送'
        )
}

const FROM: &[&str] = &["from", "差出人", "送信者", "送信元", "von", "de"];
const DATE: &[&str] = &[
    "sent",
    "date",
    "送信日時",
    "日付",
    "日時",
    "gesendet",
    "envoyé",
];
const TO: &[&str] = &["to", "宛先", "an", "à"];
const SUBJECT: &[&str] = &["subject", "件名", "betreff", "objet"];

/// Whether `line` is a header `Name: …` (or `Name：…`) with one of `names`
/// (ASCII names in any case; `*` around the name, as Outlook bolds it in
/// HTML mail converted to text, is allowed).
fn header_is(line: &str, names: &[&str]) -> bool {
    let t = line.trim().trim_start_matches('*');
    // Header names are short: the colon is among the first characters.
    let Some((colon, _)) = t
        .char_indices()
        .take(12)
        .find(|&(_, c)| c == ':' || c == '：')
    else {
        return false;
    };
    let name = t[..colon].trim_end_matches('*').trim();
    names.iter().any(|n| name.eq_ignore_ascii_case(n))
}

/// The next line after `i` that is not blank.
fn next_non_blank<'a>(lines: &[&'a str], i: usize) -> Option<&'a str> {
    lines[i + 1..]
        .iter()
        .find(|l| !l.trim().is_empty())
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The quoted text and the own text of `text`, each joined.
    fn split(text: &str) -> (String, String) {
        let (mut own, mut quoted) = (String::new(), String::new());
        for p in parts(text) {
            if p.quoted {
                quoted.push_str(p.text);
            } else {
                own.push_str(p.text);
            }
        }
        (own, quoted)
    }

    #[test]
    fn parts_put_together_are_the_text() {
        for text in [
            "",
            "one line",
            "a\n> b\nc\n",
            "a\r\n> b\r\n\r\n-----Original Message-----\r\nx",
            "> only quoted",
        ] {
            let joined: String = parts(text).iter().map(|p| p.text).collect();
            assert_eq!(joined, text);
            let ps = parts(text);
            assert!(ps.windows(2).all(|w| w[0].quoted != w[1].quoted), "{ps:?}");
        }
    }

    #[test]
    fn forwarded_text_is_one_quoted_part_after_the_own_lines() {
        let text = "見てください。\n> 前の話\n転送された本文\n";
        let at = text.find("転送").unwrap();
        let ps = parts_of(text, at);
        assert_eq!(
            ps,
            [
                Part {
                    quoted: false,
                    text: "見てください。\n"
                },
                Part {
                    quoted: true,
                    text: "> 前の話\n転送された本文\n"
                },
            ]
        );
        let ps = parts_of("a\nb\n", 2);
        assert_eq!(
            ps[1],
            Part {
                quoted: true,
                text: "b\n"
            }
        );
        // At the end, or not at a character's boundary: the lines alone.
        assert_eq!(parts_of("a\n", 2), parts("a\n"));
        assert_eq!(parts_of("あ\n", 1), parts("あ\n"));
    }

    #[test]
    fn a_gmail_reply_in_japanese_quotes_under_its_attribution() {
        let text = "青木様\n\n代替品を至急手配いたします。\n\n\
                    2024年4月10日(水) 19:13 青木 亮 <r.aoki@example.co.jp>:\n\
                    > 不良品が混入しておりました。\n>\n> よろしくお願いいたします。\n";
        let (own, quoted) = split(text);
        assert_eq!(own, "青木様\n\n代替品を至急手配いたします。\n\n");
        assert!(quoted.starts_with("2024年4月10日(水)"), "{quoted}");
        assert!(quoted.contains("不良品"));
    }

    #[test]
    fn a_japanese_attribution_wrapped_before_its_address_is_quoted_whole() {
        for wrapped in [
            "2024年4月10日(水) 19:13 株式会社ヒビキ物産 営業部 青木 亮 <\nr.aoki@example.co.jp>:",
            "2024年4月10日(水) 19:13 株式会社ヒビキ物産 営業部 青木 亮\n<r.aoki@example.co.jp>:",
        ] {
            let text = format!("承知しました。\n\n{wrapped}\n> 納期を教えてください。\n");
            let (own, quoted) = split(&text);
            assert_eq!(own, "承知しました。\n\n", "{wrapped}");
            assert!(quoted.starts_with("2024年4月10日(水)"), "{quoted}");
        }
        // Own text above an attribution on one line stays own.
        let text = "4月11日に出荷します。\nr.aoki@example.co.jp さん:\n> 納期は?\n";
        assert_eq!(split(text).0, "4月11日に出荷します。\n");
    }

    #[test]
    fn an_attribution_on_two_lines_is_quoted_whole() {
        let text = "Thanks, shipped today.\n\nOn Tue, 5 Mar 2024 10:00:00 +0900\n\
                    Taro <taro@example.com> wrote:\n> Where is my order?\n";
        let (own, quoted) = split(text);
        assert_eq!(own, "Thanks, shipped today.\n\n");
        assert!(quoted.starts_with("On Tue"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// Whatever the lines, the parts put together are the text, and no
        /// two parts in a row are of the same kind.
        #[test]
        fn parts_of_any_lines_are_the_text(
            lines in proptest::collection::vec(
                proptest::collection::vec(
                    proptest::sample::select(vec![
                        "> ", "＞", "\r", "\r\n", " ", "On ", "wrote:", ":", "：", "@", "2024",
                        "-----", "Original Message", "元のメッセージ", "____________",
                        "From: ", "差出人: ", "送信日時: ", "件名: ",
                        "Begin forwarded message:", "éö", "請求書", "*",
                    ]),
                    0..4,
                ),
                0..12,
            )
        ) {
            let text = lines.iter().map(|l| l.concat()).collect::<Vec<_>>().join("\n");
            let ps = parts(&text);
            let joined: String = ps.iter().map(|p| p.text).collect();
            proptest::prop_assert_eq!(&joined, &text);
            proptest::prop_assert!(ps.windows(2).all(|w| w[0].quoted != w[1].quoted));
        }
    }

    #[test]
    fn the_first_look_lets_every_from_header_and_forward_line_through() {
        for word in FROM.iter().chain(FORWARD_LINES) {
            for w in [word.to_string(), word.to_uppercase()] {
                let first = w.chars().next().unwrap();
                assert!(may_start_earlier_message(first), "{w}");
            }
        }
    }

    #[test]
    fn any_text_is_cut_without_a_panic() {
        // Multi-byte characters where the rules look at a few bytes.
        for text in [
            "éö\nX <x@example.com> wrote:\n> a\n",
            "あ\n日付: 2024\n> b\n",
            "差出人：\n",
            "＊\n**From:**\n",
            "\u{3000}＞全角\n",
        ] {
            let joined: String = parts(text).iter().map(|p| p.text).collect();
            assert_eq!(joined, text);
        }
    }

    #[test]
    fn lines_end_with_lf_crlf_or_a_bare_cr() {
        assert_eq!(lines_of("a\nb\r\nc\rd"), ["a\n", "b\r\n", "c\r", "d"]);
        assert_eq!(lines_of("\r\n\r"), ["\r\n", "\r"]);
        let text = "Thanks.\rOn Tue, Taro <t@example.com> wrote:\r> Where?\r";
        assert_eq!(
            split(text),
            (
                "Thanks.\r".into(),
                "On Tue, Taro <t@example.com> wrote:\r> Where?\r".into()
            )
        );
    }

    #[test]
    fn inline_answers_between_quotes_are_own_text() {
        let text = "> 納期はいつですか。\n来週月曜です。\n> 単価は？\n据え置きです。\n";
        let ps = parts(text);
        let flags: Vec<bool> = ps.iter().map(|p| p.quoted).collect();
        assert_eq!(flags, [true, false, true, false]);
        assert_eq!(ps[1].text, "来週月曜です。\n");
    }

    #[test]
    fn a_line_ending_in_a_colon_without_date_or_address_stays_own() {
        let text = "ご質問への回答は以下の通りです:\n> 納期は？\n";
        let (own, _) = split(text);
        assert_eq!(own, "ご質問への回答は以下の通りです:\n");
    }

    #[test]
    fn outlook_banners_quote_everything_below() {
        for banner in [
            "-----Original Message-----",
            "----- Original Message -----",
            "-----元のメッセージ-----",
            "---------- Forwarded message ---------",
            "-------- 転送メッセージ --------",
            "Begin forwarded message:",
            "-----Ursprüngliche Nachricht-----",
        ] {
            let text = format!(
                "承知いたしました。\n\n{banner}\n差出人: 青木 <a@example.jp>\n件名: 納期\n\n不良品の件\n"
            );
            let (own, quoted) = split(&text);
            assert_eq!(own, "承知いたしました。\n\n", "{banner}");
            assert!(quoted.starts_with(banner) && quoted.ends_with("不良品の件\n"));
        }
    }

    #[test]
    fn a_banner_word_in_a_line_of_own_text_is_not_a_banner() {
        for text in [
            "Hi,\n- the original message was sent to the wrong address\n- please resend it\n",
            "各位\n－ 転送メッセージの件は別途連絡します －\n本日の議題\n",
            "お知らせ\n======== 転送メッセージの扱いについて ========\n上長に確認\n",
        ] {
            assert_eq!(split(text).1, "", "{text}");
        }
        let text = "FYI\n----- Forwarded message from Taro <t@example.com> -----\nold\n";
        assert_eq!(split(text).0, "FYI\n");
    }

    #[test]
    fn a_line_of_underscores_counts_only_before_a_from_line() {
        let text = "Noted.\n________________________________\nFrom: Taro <t@example.com>\nSent: Tuesday\nold text\n";
        let (own, quoted) = split(text);
        assert_eq!(own, "Noted.\n");
        assert!(quoted.ends_with("old text\n"));
        // A rule under a heading is own text.
        let text = "Price list\n________________\nA4 paper 500 yen\n";
        assert_eq!(split(text).1, "");
    }

    #[test]
    fn a_header_block_of_html_mail_converted_starts_the_earlier_message() {
        let text = "了解です。\n\n差出人: 青木 亮 <a@example.jp>\n送信日時: 2024年4月10日 19:13\n\
                    宛先: info@example.jp\n件名: 検品結果\n\n不良品が\n";
        let (own, quoted) = split(text);
        assert_eq!(own, "了解です。\n\n");
        assert!(quoted.contains("不良品が"));
        // `From:` alone (a visit report naming who called) is own text, and
        // so is a phone memo that names no recipient.
        let text = "From: 青木様からお電話\n内容: 納期の確認\n";
        assert_eq!(split(text).1, "");
        let text = "From: 青木様（明星建設）\n日時: 4/10 14:00\n件名: 納期の件\n\n来週に延期\n";
        assert_eq!(split(text).1, "");
    }

    #[test]
    fn an_attribution_over_unmarked_text_quotes_everything_below() {
        for (attribution, above) in [
            (
                "On Wed, Apr 10, 2024 at 7:13 PM Okada <okada@example.jp> wrote:",
                "",
            ),
            ("2024年4月10日(水) 19:13 岡田 <okada@example.jp>:", ""),
            (
                "2024/04/10 19:13、岡田 花子 <okada@example.jp>のメール:",
                "",
            ),
            ("2024/04/10 19:13 に 岡田 花子 さんは書きました:", ""),
            (
                "Okada <okada@example.jp> wrote:",
                "On Wed, 10 Apr 2024 19:13:00 +0900\n",
            ),
            // Thunderbird in German and Dutch, Outlook for Mac in German.
            ("Am 10.04.2024 um 19:13 schrieb Okada:", ""),
            ("Okada schrieb am 10.04.2024 um 19:13:", ""),
            (
                "Op wo 10 apr 2024 om 19:13 schreef Okada <okada@example.jp>:",
                "",
            ),
            (
                "Op 10 apr. 2024 om 19:13 heeft Okada <okada@example.jp> het volgende geschreven:",
                "",
            ),
        ] {
            let text =
                format!("承知しました。\n\n{above}{attribution}\n納期をご確認ください。\n\n岡田\n");
            let (own, quoted) = split(&text);
            assert_eq!(own, "承知しました。\n\n", "{attribution}");
            assert!(quoted.ends_with("岡田\n"), "{quoted}");
        }
        for banner in [
            "----- 元のメール -----",
            "------------------ Original ------------------\nFrom: \"Okada\"<okada@example.jp>;",
        ] {
            let text = format!("了解です。\n{banner}\n納期の件\n");
            assert_eq!(split(&text).0, "了解です。\n", "{banner}");
        }
    }

    /// Thunderbird in German writes the date short, the year in two digits
    /// (`Am 16.05.22 um 19:13 schrieb Okada:`): as much an attribution as
    /// with four.
    #[test]
    fn a_german_attribution_with_a_two_digit_year_is_quoted() {
        for attribution in [
            "Am 16.05.22 um 19:13 schrieb Okada:",
            "Am 1.5.22 um 9:13 schrieb Okada <okada@example.jp>:",
            "Okada schrieb am 16.05.22 um 19:13:",
        ] {
            let text = format!("承知しました。\n\n{attribution}\n納期をご確認ください。\n\n岡田\n");
            let (own, quoted) = split(&text);
            assert_eq!(own, "承知しました。\n\n", "{attribution}");
            assert!(quoted.ends_with("岡田\n"), "{quoted}");
        }
        // Without the date it stays own text.
        for text in [
            "Am 16.05. um 19:13 schrieb der Kunde:\nDie Lieferung fehlt.\n",
            "Am Montag um 19:13 schrieb der Kunde:\nDie Lieferung fehlt.\n",
        ] {
            assert_eq!(split(text).1, "", "{text}");
        }
    }

    #[test]
    fn a_line_like_an_attribution_in_own_text_stays_own() {
        for text in [
            // No address, no date.
            "回答は以下の通りです:\n1. 納期は来週です\n",
            "社長からのメッセージ:\n今期もよろしくお願いします\n",
            "Here is what Okada wrote:\nnothing yet\n",
            // An address and a count, no date.
            "Send these 3 to okada@example.jp:\n- invoice\n- quote\n",
            // A bounce, a patch, an attribution in no known form (from real
            // mail).
            "SMTP error from remote mail server after MAIL FROM:<a@example.ru> SIZE=2779:\n\
             host mx.example.jp [198.51.100.225]: 501 5.1.8 Sender address rejected\n",
            "A message from <error+1826111378@example.com> to:\n-> k@example.com\nwas spam\n",
            "--- a/arch/x86/kernel/apic/apic.c\n@@ -1540,7 +1541,6 @@ out:\n pr_info(\"x\");\n",
            "Twas brillig at 14:00:54 17.11.2009 UTC-05 when lars@example.edu did gyre and gimble:\n\n\
             LK> Resulted in errors\n\nSee the patch just posted here.\n",
        ] {
            assert_eq!(split(text).1, "", "{text}");
        }
        // A line starting with `On` above a one-line attribution is the
        // message's own.
        let text = "On Monday we ship.\nOn Wed, Apr 10, 2024 Okada <o@example.jp> wrote:\nold\n";
        assert_eq!(split(text).0, "On Monday we ship.\n");
    }

    #[test]
    fn a_worded_line_with_a_count_or_a_year_but_no_time_is_own_text() {
        for text in [
            "要点を3つ書きました：\n1. 納期\n2. 価格\n\nご確認ください。\n",
            "各位\n\n社長からの2024年 年頭のメッセージ:\n今年もよろしくお願いします。\n",
            "先日の4月10日のメール:\n単価の件は撤回します。\n",
            "In 2023 our president wrote:\nQuality first.\nWe still believe it.\n",
            // German word order without a time, or without a date.
            "Am Montag schrieb der Kunde:\nDie Lieferung fehlt.\n",
            "Op maandag schreef de klant:\nDe levering ontbreekt.\n",
            "Okada schrieb am Montag um 19:13:\nDie Lieferung fehlt.\n",
        ] {
            assert_eq!(split(text).1, "", "{text}");
        }
        // Evolution's, with the time and no address.
        let text =
            "了解です。\n\n2006-11-08 (水) の 11:31 +0100 に 岡田 さんは書きました:\n納期の件\n";
        assert_eq!(split(text).0, "了解です。\n\n");
    }

    #[test]
    fn a_date_a_time_and_an_address_make_an_attribution_only_in_its_form() {
        // A label before the time, or words after the address.
        for text in [
            "ご注文ありがとうございます。\n\n注文日時: 2024/04/10 19:13 <order@shop.example>:\n商品A 2点\n",
            "お問い合わせがありました。\n\n2024/04/10 19:13 に 岡田 花子 <okada@example.jp> \
             様より以下のお問い合わせがありました:\n\n不良品の交換をお願いしたい\n\n対応をお願いします。\n",
            // A support log: the customer is 様 to staff, never to a mailer.
            "対応記録\n2024/04/10 19:13 岡田様 <okada@example.jp>:\n電話あり、納期の確認\n             2024/04/11 10:02 岡田 さん <okada@example.jp>：\n折り返し済み\n",
        ] {
            assert_eq!(split(text).1, "", "{text}");
        }
        // Gmail's in Japanese from a sender whose surname ends with 殿; in
        // Chinese, Portuguese and Korean; and Lotus Notes'.
        for attribution in [
            "2024年4月10日(水) 19:13 鵜殿 <udono@example.jp>:",
            "Okada <okada@example.jp> 于2024年4月10日周三 19:13写道：",
            "Okada <okada@example.jp> 於 2024年4月10日 週三 下午7:13寫道：",
            "Em qua., 10 de abr. de 2024 às 19:13, Okada <okada@example.jp> escreveu:",
            "2024년 4월 10일 (수) 오후 7:13, Okada <okada@example.jp>님이 작성:",
            "Okada <okada@example.jp> wrote on 04/10/2024 07:13:00 PM:",
            "Hanako Okada/Tokyo/ACME@ACME wrote on 2024/04/10 19:13:00:",
        ] {
            let text = format!("了解です。\n\n{attribution}\n\n納期の件\n");
            assert_eq!(split(&text).0, "了解です。\n\n", "{attribution}");
        }
    }

    #[test]
    fn original_alone_between_rules_is_a_banner_only_above_a_from_line() {
        let text = "翻訳をお願いします。\n\n----- Original -----\nPlease ship by Friday.\n\
                    ----- 訳 -----\n金曜までに発送してください。\n";
        assert_eq!(split(text).1, "");
        let text = "了解です。\n------------------ Original ------------------\n\
                    From:  \"Okada\"<okada@example.jp>;\nDate:  Wed, Apr 10, 2024 07:13 PM\n納期の件\n";
        assert_eq!(split(text).0, "了解です。\n");
    }

    #[test]
    fn a_quoted_attribution_above_own_text_hides_nothing_below() {
        // The replier cut the quote below the attribution it quotes.
        for attribution in [
            "> 2024/04/10 19:13、岡田 花子 <okada@example.jp>のメール:",
            "> On Wed, Apr 10, 2024 at 7:13 PM Okada <okada@example.jp> wrote:",
        ] {
            let text =
                format!("> 了解です。\n>\n{attribution}\n\n承知しました。こちらで対応します。\n");
            let (own, _) = split(&text);
            assert_eq!(
                own, "\n承知しました。こちらで対応します。\n",
                "{attribution}"
            );
        }
    }

    #[test]
    fn a_line_starting_with_on_without_a_date_is_no_half_of_an_attribution() {
        for below in ["When?\n", "> When?\n"] {
            let text = format!(
                "We ship today.\nOn Monday we invoice.\nOkada <o@example.jp> wrote:\n{below}"
            );
            assert!(
                split(&text)
                    .0
                    .starts_with("We ship today.\nOn Monday we invoice.\n"),
                "{text}"
            );
        }
    }

    #[test]
    fn lotus_notes_forwarding_banner_starts_the_earlier_message() {
        for banner in [
            "----- Forwarded by Taro Yamada/Tokyo/ACME on 2024/04/10 19:13 -----",
            // Wrapped as Notes wraps it.
            "---------------------- Forwarded by Taro Yamada/Tokyo/ACME on 04/10/2024\n07:13 PM ---------------------------",
        ] {
            let text = format!(
                "FYI\n\n{banner}\n\nOkada <okada@example.jp>\n2024/04/10 18:00\n\n納期の件\n"
            );
            assert_eq!(split(&text).0, "FYI\n\n", "{banner}");
        }
        // Words between dashes that only start so are own text.
        let text = "Notes\n----- forwarded by hand, see below -----\nitem\n";
        assert_eq!(split(text).1, "");
    }

    #[test]
    fn dashes_without_a_banner_word_are_own_text() {
        let text = "-- \n株式会社ひびき物産\n----------\n中村\n";
        assert_eq!(split(text).1, "");
    }
}
