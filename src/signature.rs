//! The organisation a message's signature names, and the form other mail
//! mentions it by.
//!
//! Business mail is signed with the sender's company (`株式会社明星建設 購買部`,
//! `Riverside Electronics LLC`), while its From names a person. So a
//! customer's name is read off the signatures of the mail it sends
//! ([`organisation`], recorded per message when it is stored), and
//! [`mention_form`] gives what a visit or phone report writes for it
//! (`明星建設`, `Riverside Electronics`): how `customers --show` and `export`
//! find the internal mail about a customer.
//!
//! The signature is looked for in the message's own text (not what it quotes
//! or forwards), at the end of its last own lines: below a separator (`--`, a
//! rule of `-`, `━`, `=`, `_`, `*`) near the end, else in its last lines but
//! the first two (where Japanese mail names the *recipient*: `株式会社さくら貿易`
//! above `岡田様`). A line there names an organisation when it holds a legal
//! form (`株式会社`, `有限会社`, `(株)`, `㈱`, ... or `Inc.`, `Ltd`, `LLC`,
//! `GmbH`, `Co., Ltd.`, ...) and is not a sentence, an address, a phone or
//! postal number, or a line addressing someone (`御中`, `様`, or right above
//! a line that ends so).
//!
//! One message's reading can be wrong (a quoted signature that no quote
//! marker shows, a company named in a closing line); a customer's name is the
//! organisation most of its mail signs with ([`crate::customers`]).

use crate::quotes::Part;

/// Japanese legal forms, as they are written before or after the name.
const JA_FORMS: &[&str] = &[
    "株式会社",
    "有限会社",
    "合同会社",
    "合資会社",
    "合名会社",
    "一般社団法人",
    "一般財団法人",
    "公益社団法人",
    "公益財団法人",
    "社会福祉法人",
    "医療法人社団",
    "医療法人",
    "学校法人",
    "特定非営利活動法人",
    "独立行政法人",
    "(株)",
    "（株）",
    "㈱",
    "(有)",
    "（有）",
    "㈲",
];

/// Legal forms written as words after a Latin name, lowercase, without
/// dots (`Co., Ltd.` is the two words `co` and `ltd`).
const LATIN_FORMS: &[&str] = &[
    "inc",
    "incorporated",
    "ltd",
    "limited",
    "llc",
    "llp",
    "gmbh",
    "ag",
    "corp",
    "corporation",
    "co",
    "company",
    "plc",
    "pty",
    "pte",
    "sa",
    "spa",
    "bv",
    "nv",
    "kk",
    "sarl",
    "srl",
    "oy",
    "ab",
];

/// How many non-blank lines at the end of the text a signature is looked for
/// in.
const TAIL_LINES: usize = 12;

/// A line longer than this (in characters) is not a signature's company line.
const MAX_LINE_CHARS: usize = 48;

/// The organisation the signature of a message's own text names (`parts`:
/// its text as [`crate::quotes::parts_of`] cuts it), if any.
pub fn organisation(parts: &[Part<'_>]) -> Option<String> {
    let own = parts
        .iter()
        .rev()
        .find(|p| !p.quoted && !p.text.trim().is_empty())?;
    // Only the end of the text matters: its last lines (blank ones count
    // here, so twice as many), cut off on a line boundary.
    let text = own.text.trim_end();
    let mut cut = text.len();
    for _ in 0..TAIL_LINES * 2 {
        match text[..cut].rfind('\n') {
            Some(at) => cut = at,
            None => {
                cut = 0;
                break;
            }
        }
    }
    let from_start = cut == 0;
    let lines: Vec<&str> = text[cut..].lines().map(str::trim).collect();
    let filled: Vec<usize> = (0..lines.len()).filter(|&i| !lines[i].is_empty()).collect();
    let tail = *filled.get(filled.len().saturating_sub(TAIL_LINES))?;
    let start = match (tail..lines.len()).find(|&i| is_separator(lines[i])) {
        // Below the first separator of the tail (a signature between two
        // rules has its company right below the first).
        Some(i) => i + 1,
        // Else the last two paragraphs (a signature, and a disclaimer after
        // it), in the tail, not the two lines that open the message.
        None => {
            let mut start = lines.len();
            let mut paragraphs = 0;
            let mut i = lines.len();
            while i > 0 && paragraphs < 2 {
                while i > 0 && lines[i - 1].is_empty() {
                    i -= 1;
                }
                if i == 0 {
                    break;
                }
                while i > 0 && !lines[i - 1].is_empty() {
                    i -= 1;
                }
                start = i;
                paragraphs += 1;
            }
            let opening = match from_start {
                true => filled.get(2).copied().unwrap_or(lines.len()),
                false => 0,
            };
            start.max(tail).max(opening)
        }
    };
    let zone: Vec<&str> = lines
        .get(start..)?
        .iter()
        .copied()
        .filter(|l| !l.is_empty())
        .collect();
    (0..zone.len()).find_map(|i| {
        if zone.get(i + 1).copied().is_some_and(addresses_someone) {
            return None;
        }
        company_of_line(zone[i])
    })
}

/// The form of `organisation` that mail mentioning it writes: without its
/// legal form (`株式会社明星建設` → `明星建設`, `Riverside Electronics LLC` →
/// `Riverside Electronics`). The whole name when what is left is too short
/// to tell it from common words (under 3 kanji or kana, or one Latin word
/// under 5 letters); `None` for an empty name.
pub fn mention_form(organisation: &str) -> Option<String> {
    let org = organisation.trim();
    if org.is_empty() {
        return None;
    }
    let mut core = org.to_string();
    for form in JA_FORMS {
        core = core.replace(form, " ");
    }
    let words: Vec<&str> = core.split_whitespace().collect();
    let mut keep = words.len();
    while keep > 0 && is_latin_form(words[keep - 1]) {
        keep -= 1;
    }
    let core = words[..keep]
        .join(" ")
        .trim_end_matches([',', '.', '&', ' '])
        .to_string();
    let chars = core.chars().filter(|c| !c.is_whitespace()).count();
    let cjk = core.chars().any(crate::tokenizer::is_cjk);
    let long_enough = if cjk {
        chars >= 3
    } else {
        core.split_whitespace().count() > 1 || chars >= 5
    };
    Some(if long_enough { core } else { org.to_string() })
}

/// A signature separator: `--`, `-- `, or a rule of one drawing character.
fn is_separator(line: &str) -> bool {
    let mut chars = line.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    const RULE: &str = "-‐－—―─━=＝_＿*＊~〜～・.…#+";
    RULE.contains(first) && line.chars().count() >= 2 && line.chars().all(|c| RULE.contains(c))
}

/// A line that addresses the recipient: `田中様`, `営業部 御中`, `Dear Ms
/// Okada,`.
fn addresses_someone(line: &str) -> bool {
    let line = line.trim_end_matches([',', '、', ':', '：']);
    line.ends_with('様')
        || line.ends_with("さん")
        || line.ends_with('殿')
        || line.ends_with("御中")
        || line.ends_with("各位")
        || line
            .get(..5)
            .is_some_and(|p| p.eq_ignore_ascii_case("dear "))
}

/// The organisation one line names, if it names one.
fn company_of_line(line: &str) -> Option<String> {
    let line = line.trim_matches(|c: char| {
        c.is_whitespace() || "-‐－—―─━=＝_＿*＊~〜～#■□◆◇●○◎★☆|｜【】[]<>《》".contains(c)
    });
    if line.is_empty()
        || line.chars().count() > MAX_LINE_CHARS
        || addresses_someone(line)
        || line.starts_with(['・', '•', '※', '→', '⇒'])
        || line.contains(['@', '〒', '。', '、', '！', '!', '?', '？', '様'])
        || line.contains("御中")
        || line.contains("://")
        || line.contains("www.")
        || has_digit_run(line, 3)
    {
        return None;
    }
    if let Some(org) = japanese_company(line) {
        return Some(org);
    }
    latin_company(line)
}

/// Whether `line` holds `n` digits in a row (a phone number, a postal code,
/// a street number), half- or full-width.
fn has_digit_run(line: &str, n: usize) -> bool {
    let mut run = 0;
    for c in line.chars() {
        if c.is_ascii_digit() || ('０'..='９').contains(&c) {
            run += 1;
            if run >= n {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// `株式会社明星建設`, `明星建設株式会社`, `株式会社 明星建設`, `(株)明星建設` in a line,
/// without the department or person the line goes on with.
fn japanese_company(line: &str) -> Option<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| JA_FORMS.iter().any(|f| w.contains(f)))?;
    let word = words[at];
    if !JA_FORMS.contains(&word) {
        return Some(word.to_string());
    }
    // The form alone: the name is the word before it, else the one after.
    let name = if at > 0 && !is_latin_word_run(&words[..at]) {
        format!("{} {word}", words[at - 1])
    } else if let Some(next) = words.get(at + 1) {
        format!("{word} {next}")
    } else if at > 0 {
        format!("{} {word}", words[..at].join(" "))
    } else {
        return None;
    };
    Some(name)
}

/// Whether `words` are all Latin (a name such as `ABC Trading 株式会社`
/// keeps all of them).
fn is_latin_word_run(words: &[&str]) -> bool {
    words.len() > 1 && words.iter().all(|w| w.is_ascii())
}

/// `Riverside Electronics LLC`, `Kyowa Trading Co., Ltd.`: the words of the
/// line's segment (between `|`, `/`, `:`, ` - ` or a comma that is not part
/// of `Co., Ltd.`) up to its legal form, starting with a capital.
fn latin_company(line: &str) -> Option<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.len() > 8 {
        return None;
    }
    let form = words.iter().position(|w| is_latin_form(w))?;
    let mut end = form;
    while end + 1 < words.len() && is_latin_form(words[end + 1]) {
        end += 1;
    }
    // Back to the start of the segment.
    let mut start = form;
    while start > 0 {
        let prev = words[start - 1];
        if matches!(prev, "|" | "/" | "-" | "–" | "—" | "｜") || prev.ends_with(':') {
            break;
        }
        if prev.ends_with([',', ';', '|', '/']) && !is_latin_form(prev) {
            break;
        }
        start -= 1;
    }
    let name = &words[start..form];
    let first = name.first()?;
    if !first
        .chars()
        .next()
        .is_some_and(|c| c.is_uppercase() || c.is_ascii_digit())
    {
        return None;
    }
    // A sentence that happens to end in "Co." is not a company line.
    if name.len() > 5 {
        return None;
    }
    Some(
        words[start..=end]
            .join(" ")
            .trim_end_matches([',', ';'])
            .to_string(),
    )
}

/// `Inc.`, `LTD`, `Co.,`, `GmbH`: a legal form, whatever its case and dots.
fn is_latin_form(word: &str) -> bool {
    // The letters, lower case, in a buffer: the longest form has 12.
    let mut buf = [0u8; 12];
    let mut len = 0;
    for b in word.bytes().filter(u8::is_ascii_alphanumeric) {
        let Some(slot) = buf.get_mut(len) else {
            return false;
        };
        *slot = b.to_ascii_lowercase();
        len += 1;
    }
    if !word.is_ascii() || len == 0 {
        return false;
    }
    let w = &buf[..len];
    // "AG", "SA", "AB" alone are forms only when written in capitals.
    if matches!(w, b"ag" | b"sa" | b"ab" | b"oy" | b"nv" | b"bv" | b"kk") {
        return word
            .bytes()
            .filter(u8::is_ascii_alphabetic)
            .all(|b| b.is_ascii_uppercase());
    }
    LATIN_FORMS.iter().any(|f| f.as_bytes() == w)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(text: &str) -> Option<String> {
        organisation(&crate::quotes::parts(text))
    }

    #[test]
    fn a_japanese_signature_between_rules_names_the_company() {
        let text = "株式会社さくら貿易\n岡田様\n\nいつもお世話になっております。\n明星建設の田中です。\n\n\
                    納期の件、承知しました。\n\n----------------------------------\n\
                    明星建設株式会社\n購買部\n田中 太郎\nTEL: 03-1234-5678\n\
                    ----------------------------------\n";
        assert_eq!(org(text).as_deref(), Some("明星建設株式会社"));
    }

    #[test]
    fn the_company_the_mail_is_addressed_to_is_not_the_senders() {
        // No signature: the opening lines name the recipient.
        let text =
            "株式会社さくら貿易\n営業部 岡田様\n\nお世話になっております。\n承知しました。\n";
        assert_eq!(org(text), None);
        let text = "株式会社さくら貿易 御中\n\n見積書を送付します。\nよろしくお願いします。\n";
        assert_eq!(org(text), None);
    }

    #[test]
    fn forms_before_after_and_apart_from_the_name() {
        for (line, want) in [
            ("株式会社明星建設 購買部", "株式会社明星建設"),
            ("株式会社 明星建設 購買部 田中", "株式会社 明星建設"),
            ("明星建設 株式会社", "明星建設 株式会社"),
            ("(株)明星建設", "(株)明星建設"),
            ("㈱明星建設　資材部", "㈱明星建設"),
            ("有限会社山田工務店", "有限会社山田工務店"),
            ("ABC Trading 株式会社", "ABC Trading 株式会社"),
        ] {
            assert_eq!(company_of_line(line).as_deref(), Some(want), "{line}");
        }
    }

    #[test]
    fn latin_companies_end_with_their_legal_form() {
        for (line, want) in [
            ("Riverside Electronics LLC", "Riverside Electronics LLC"),
            ("Atlantic Supply GmbH", "Atlantic Supply GmbH"),
            ("Kyowa Trading Co., Ltd.", "Kyowa Trading Co., Ltd."),
            ("Purchasing Manager, Apex Systems Inc.", "Apex Systems Inc."),
            ("Sales | Crescent Supply Pty Ltd", "Crescent Supply Pty Ltd"),
            ("Nordic Parts AB", "Nordic Parts AB"),
        ] {
            assert_eq!(company_of_line(line).as_deref(), Some(want), "{line}");
        }
        for line in [
            "Best regards,",
            "Purchasing Manager",
            "we look forward to working with your company",
            "Tel: +81-3-1234-5678",
            "1-2-3 Nihonbashi, Chuo-ku, Tokyo 103-0027, Japan",
            "E-mail: j.smith@riverside.example",
            "Kind regards from the whole team at our company and all of us here",
            "Abba",
        ] {
            assert_eq!(company_of_line(line), None, "{line}");
        }
    }

    #[test]
    fn an_english_signature_without_a_rule() {
        let text = "Dear Ms Okada,\n\nThank you for the quick delivery.\n\n\
                    Best regards,\nJohn Patel\nPurchasing Manager\nRiverside Electronics LLC\n";
        assert_eq!(org(text).as_deref(), Some("Riverside Electronics LLC"));
    }

    #[test]
    fn quoted_signatures_are_not_the_senders() {
        let text = "了解しました。\n\n--\n山田\n\n-----Original Message-----\n\
                    From: tanaka@meisei.example\n\n----\n明星建設株式会社\n田中\n";
        assert_eq!(org(text), None);
        // A top-posted reply signs above the quote.
        let text = "承知しました。\n\n--\n株式会社協和商事\n山田 花子\n\n\
                    2024年4月10日(水) 19:13 田中 <t@meisei.example>:\n> 明星建設株式会社\n";
        assert_eq!(org(text).as_deref(), Some("株式会社協和商事"));
    }

    #[test]
    fn a_report_naming_a_customer_is_not_signed_by_it() {
        // A visit report: the customer's company in its body, not at its end.
        let text = "【日報】３月６日 小林\n\n■ 訪問先\n  株式会社協和商事 本社（購買部 田中様）\n\n\
                    ■ 内容\n  ・請求書の再発行についてお詫び。\n\n以上\n";
        assert_eq!(org(text), None);
        let text = "【日報】３月１３日 小林\n\n■ 訪問先\n  株式会社丸栄物流 本社（営業課）\n\n\
                    ■ 内容\n  ・配送料金改定の説明を受けた\n\n■ 次回アクション\n  ・料金表を共有\n\n以上\n";
        assert_eq!(org(text), None);
        let text = "・9:00-10:00 株式会社明星建設 田中様 定例打ち合わせ\n";
        assert_eq!(company_of_line(text), None);
    }

    #[test]
    fn a_disclaimer_after_the_signature() {
        let text = "Hello,\n\nPlease find the order attached.\n\nBest regards,\nJohn Patel\n\
                    Riverside Electronics LLC\n\nThis e-mail may contain confidential information.\n\
                    If you are not the intended recipient, please delete it.\n";
        assert_eq!(org(text).as_deref(), Some("Riverside Electronics LLC"));
    }

    #[test]
    fn sentences_and_body_lines_are_not_signatures() {
        let text = "お世話になっております。\n株式会社さくら貿易の岡田です。\n先日の件、\n\
                    株式会社明星建設様にもご連絡済みです。\nよろしくお願いします。\n";
        assert_eq!(org(text), None);
    }

    #[test]
    fn mention_forms_drop_the_legal_form_unless_too_short() {
        for (org, want) in [
            ("株式会社明星建設", "明星建設"),
            ("明星建設株式会社", "明星建設"),
            ("株式会社 明星建設", "明星建設"),
            ("(株)明星建設", "明星建設"),
            ("Riverside Electronics LLC", "Riverside Electronics"),
            ("Kyowa Trading Co., Ltd.", "Kyowa Trading"),
            ("Crescent Supply Pty Ltd", "Crescent Supply"),
            // Too short to tell from common words: the whole name.
            ("株式会社大和", "株式会社大和"),
            ("Apex Inc.", "Apex Inc."),
            ("Siemens AG", "Siemens"),
        ] {
            assert_eq!(mention_form(org).as_deref(), Some(want), "{org}");
        }
        assert_eq!(mention_form("  "), None);
    }
}
