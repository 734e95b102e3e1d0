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

/// How many lines at the end of the text are looked at: the signature's
/// tail and the disclaimers below it.
const WINDOW_LINES: usize = 60;

/// A line longer than this (in characters) is no signature line.
const MAX_LINE_CHARS: usize = 160;

/// A part of a line (between `|`, tabs, ` / `, ` - `) longer than this is
/// not a company's name.
const MAX_SEGMENT_CHARS: usize = 64;

/// The organisation the signature of a message's own text names (`parts`:
/// its text as [`crate::quotes::parts_of`] cuts it), if any.
pub fn organisation(parts: &[Part<'_>]) -> Option<String> {
    let own = parts
        .iter()
        .rev()
        .find(|p| !p.quoted && !p.text.trim().is_empty())?;
    let (window, from_start) = last_lines(own.text.trim_end());
    let lines = &window[..without_disclaimers(&window)];
    let filled: Vec<usize> = (0..lines.len()).filter(|&i| !lines[i].is_empty()).collect();
    let tail = *filled.get(filled.len().saturating_sub(TAIL_LINES))?;
    let start = match (tail..lines.len()).find(|&i| is_separator(lines[i])) {
        // Below the first separator of the tail (a signature between two
        // rules has its company right below the first).
        Some(i) => i + 1,
        // Else the last two paragraphs (a signature, and a short closing
        // line after it), in the tail, not the two lines that open the
        // message.
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
        let org = company_of_line(zone[i])?;
        // The recipient's company, above the line naming the person
        // (`株式会社さくら貿易` / `営業部` / `岡田様`), or under a label
        // alone (`送付先：`).
        let recipient = zone[i + 1..].iter().take(2).any(|l| addresses_someone(l))
            || i.checked_sub(1).is_some_and(|p| is_bare_label(zone[p]));
        (!recipient).then_some(org)
    })
}

/// The last [`WINDOW_LINES`] lines of `text` (which does not end with a
/// line break), trimmed, and whether they are all of them. Read from the
/// end, so that a long message costs no more than a short one: this runs
/// on every message.
fn last_lines(text: &str) -> (Vec<&str>, bool) {
    let mut window: Vec<&str> = text
        .rsplit('\n')
        .take(WINDOW_LINES + 1)
        .map(str::trim)
        .collect();
    let from_start = window.len() <= WINDOW_LINES;
    window.truncate(WINDOW_LINES);
    window.reverse();
    (window, from_start)
}

/// Words of the disclaimers mail systems add below signatures.
const DISCLAIMER_WORDS: &[&str] = &[
    "confidential",
    "intended recipient",
    "intended solely",
    "intended only",
    "privileged",
    "disclaimer",
    "unauthorized",
    "unauthorised",
    "received this e-mail in error",
    "received this email in error",
    "received this message in error",
    "before printing",
    "機密",
    "秘密",
    "守秘",
    "誤って",
    "誤送信",
    "無断",
    "削除してください",
    "破棄してください",
    "印刷はお控え",
    "印刷する前",
];

/// A line of a disclaimer: a sentence (five words or more, or Japanese
/// with `。`, `、` or a sentence's end) with one of [`DISCLAIMER_WORDS`].
fn is_disclaimer(line: &str) -> bool {
    let sentence = line.bytes().filter(|&b| b == b' ').count() >= 4
        || line.contains(['。', '、'])
        || line.ends_with(['す', 'い']);
    if !sentence {
        return false;
    }
    let lower = line.to_ascii_lowercase();
    DISCLAIMER_WORDS.iter().any(|w| lower.contains(w))
}

/// How many of `lines` are left once the disclaimers at their end are taken
/// off: each paragraph (between blank lines) from the end that is one, or
/// the lines of the last paragraph from a disclaimer line on, and the rules
/// set above them.
fn without_disclaimers(lines: &[&str]) -> usize {
    let mut end = lines.len();
    let mut dropped = false;
    loop {
        while end > 0 && lines[end - 1].is_empty() {
            end -= 1;
        }
        let mut start = end;
        while start > 0 && !lines[start - 1].is_empty() {
            start -= 1;
        }
        if start == end {
            break;
        }
        let paragraph = &lines[start..end];
        match paragraph.iter().position(|l| is_disclaimer(l)) {
            // A paragraph that opens with one (below its rule): all of it.
            Some(k) if paragraph[..k].iter().all(|l| is_separator(l)) => {
                end = start;
                dropped = true;
            }
            // A signature running on into one.
            Some(k) => {
                end = start + k;
                dropped = true;
                break;
            }
            // The rule between a signature and the disclaimer dropped.
            None if dropped && paragraph.iter().all(|l| is_separator(l)) => end = start,
            None => break,
        }
    }
    if dropped {
        while end > 0 && (lines[end - 1].is_empty() || is_separator(lines[end - 1])) {
            end -= 1;
        }
    }
    end
}

/// The form of `organisation` that mail mentioning it writes: without its
/// legal form (`株式会社明星建設` → `明星建設`, `Riverside Electronics LLC` →
/// `Riverside Electronics`). The whole name when what is left would find
/// other mail than about it: under 3 kanji or kana, a single Latin word
/// (`Apex Inc.`, `Global Inc.`, `Siemens AG`), or words any company's name
/// is made of (`株式会社システム`, `東京建設株式会社`); `None` for an empty name.
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
        chars >= 3 && !is_generic_japanese(&core)
    } else {
        core.split_whitespace().count() > 1
    };
    Some(if long_enough { core } else { org.to_string() })
}

/// Words of Japanese company names that say what or where, not who: a name
/// of nothing else (`システム`, `東京建設`) is found in mail about anyone.
const GENERIC_JA: &[&str] = &[
    "サービス",
    "システムズ",
    "システム",
    "ジャパン",
    "テクノロジーズ",
    "テクノロジー",
    "テクノ",
    "ソリューションズ",
    "ソリューション",
    "エンジニアリング",
    "コーポレーション",
    "ホールディングス",
    "グループ",
    "トレーディング",
    "インターナショナル",
    "デザイン",
    "コンサルティング",
    "ネットワークス",
    "ネットワーク",
    "メディア",
    "プランニング",
    "マネジメント",
    "エンタープライズ",
    "クリエイト",
    "ビジネス",
    "サポート",
    "パートナーズ",
    "プロダクツ",
    "ワークス",
    "オフィス",
    "ライフ",
    "ホーム",
    "フーズ",
    "ロジスティクス",
    "エナジー",
    "エレクトロニクス",
    "マテリアル",
    "マーケティング",
    "日本",
    "東京",
    "大阪",
    "名古屋",
    "横浜",
    "京都",
    "神戸",
    "福岡",
    "札幌",
    "仙台",
    "広島",
    "関東",
    "関西",
    "東日本",
    "西日本",
    "中部",
    "九州",
    "北海道",
    "中央",
    "第一",
    "総合",
    "国際",
    "共同",
    "全国",
    "商事",
    "建設",
    "工業",
    "産業",
    "物産",
    "商会",
    "電機",
    "電気",
    "製作所",
    "運輸",
    "物流",
    "興業",
    "工務店",
    "技研",
    "通商",
    "貿易",
    "不動産",
    "開発",
    "企画",
    "設計",
    "販売",
    "商店",
    "製薬",
    "化学",
    "食品",
    "鉄工",
    "精機",
    "電子",
    "情報",
    "通信",
    "交通",
    "保険",
    "銀行",
    "証券",
    "印刷",
    "運送",
    "倉庫",
    "住宅",
    "環境",
];

/// Whether `name` holds a legal form (`株式会社`, `(株)`, `Inc.`, `Co., Ltd.`,
/// `GmbH`, ...): a company's name, not a person's. `customers` prefers such
/// a display name for a domain with no organisation signed.
pub fn has_legal_form(name: &str) -> bool {
    name.split_whitespace()
        .any(|w| ja_form_in(w).is_some() || is_latin_form(w))
}

/// Whether `core` is made of [`GENERIC_JA`] words alone.
fn is_generic_japanese(core: &str) -> bool {
    let mut rest: &str = &core.split_whitespace().collect::<String>();
    while !rest.is_empty() {
        let Some(w) = GENERIC_JA.iter().find(|w| rest.starts_with(**w)) else {
            return false;
        };
        rest = &rest[w.len()..];
    }
    true
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
        || line.ends_with("さま")
        || line.ends_with("さん")
        || line.ends_with('殿')
        || line.ends_with("御中")
        || line.ends_with("各位")
        || line
            .get(..5)
            .is_some_and(|p| p.eq_ignore_ascii_case("dear "))
}

/// The labels a signature names the sender's own company under.
const OWN_LABELS: &[&str] = &[
    "会社名",
    "社名",
    "会社",
    "所属",
    "所属先",
    "勤務先",
    "company",
    "company name",
    "organisation",
    "organization",
    "employer",
    "firm",
];

/// What `segment` says after its label (`会社名：`, `Company:`), itself when
/// it has none; `None` when the label says the company is another than the
/// sender's (`宛先：`, `訪問先：`, `Attn:`, `Bill to:`, `10:00`).
fn without_label(segment: &str) -> Option<&str> {
    // `【訪問先】株式会社協和商事`, `[To] …`: a label in brackets (its
    // opening one trimmed off the line as decoration).
    if let Some((label, rest)) = segment.split_once(['】', ']', '］', '》'])
        && !rest.trim().is_empty()
    {
        let label = label
            .trim_start_matches(['【', '[', '［', '《'])
            .trim()
            .to_lowercase();
        return OWN_LABELS.contains(&label.as_str()).then_some(rest.trim());
    }
    let Some(colon) = segment.find([':', '：']) else {
        return Some(segment);
    };
    let label = segment[..colon].trim().to_lowercase();
    let rest = &segment[colon..];
    let rest = rest
        .strip_prefix(':')
        .or_else(|| rest.strip_prefix('：'))
        .unwrap_or(rest);
    OWN_LABELS.contains(&label.as_str()).then_some(rest.trim())
}

/// A label alone on its line (`送付先：`, `Ship to:`), that the company below
/// it is named under: not one of [`OWN_LABELS`].
fn is_bare_label(line: &str) -> bool {
    let label = line.trim_end_matches([':', '：']);
    label.len() < line.len()
        && !label.is_empty()
        && label.chars().count() <= 20
        && !OWN_LABELS.contains(&label.trim().to_lowercase().as_str())
}

/// Decoration around a line or a part of it.
fn is_decoration(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '-' | '‐'
                | '－'
                | '—'
                | '―'
                | '─'
                | '━'
                | '='
                | '＝'
                | '_'
                | '＿'
                | '*'
                | '＊'
                | '~'
                | '〜'
                | '～'
                | '#'
                | '■'
                | '□'
                | '◆'
                | '◇'
                | '●'
                | '○'
                | '◎'
                | '★'
                | '☆'
                | '|'
                | '｜'
                | '【'
                | '】'
                | '['
                | ']'
                | '<'
                | '>'
                | '《'
                | '》'
        )
}

/// Ends of Japanese sentences written without `。`.
const JA_SENTENCE_ENDS: &[&str] = &[
    "です",
    "ます",
    "ました",
    "ません",
    "ください",
    "下さい",
    "でした",
    "ございます",
    "いたします",
    "致します",
    "します",
    "しました",
];

/// Where the company is another than the sender's or a sentence's subject:
/// `貴社`, `御社` (yours), `弊社`, `当社` (ours, in a sentence), `…宛`
/// (addressed to), `…の件`, `…について`, `…より`.
const JA_SENTENCE_WORDS: &[&str] = &[
    "弊社",
    "当社",
    "貴社",
    "御社",
    "宛",
    "の件",
    "について",
    "より",
];

/// The organisation one line names, if it names one.
fn company_of_line(line: &str) -> Option<String> {
    if !may_hold_form(line) {
        return None;
    }
    let line = line.trim_matches(is_decoration);
    if line.is_empty()
        || line.chars().count() > MAX_LINE_CHARS
        || addresses_someone(line)
        || line.starts_with(['・', '•', '※', '→', '⇒'])
        || line.contains(['。', '、', '！', '!', '?', '？', '様'])
        || line.contains("御中")
        || JA_SENTENCE_ENDS.iter().any(|e| line.ends_with(e))
        || JA_SENTENCE_WORDS.iter().any(|w| line.contains(w))
    {
        return None;
    }
    segments(line).find_map(|segment| {
        let segment = without_label(segment.trim())?;
        let segment = segment.trim_matches(is_decoration);
        if segment.is_empty()
            || segment.chars().count() > MAX_SEGMENT_CHARS
            || segment.contains(['@', '〒'])
            || segment.contains("://")
            || segment.contains("www.")
            || has_digit_run(segment, 3)
        {
            return None;
        }
        japanese_company(segment).or_else(|| latin_company(segment))
    })
}

/// A cheap first look (most lines of a signature name no company): whether
/// `line` has a character of a Japanese legal form or a word that is a
/// Latin one.
fn may_hold_form(line: &str) -> bool {
    if line.is_ascii() {
        return line.split_whitespace().any(is_latin_form);
    }
    line.contains(['社', '人', '株', '有', '㈱', '㈲'])
        || line
            .split_whitespace()
            .any(|w| w.is_ascii() && is_latin_form(w))
}

/// The parts of a signature line that each say one thing: between tabs (an
/// HTML signature's table cells), `|`, ` / `, ` - `, ` – `, ` — `, ` • `.
fn segments(line: &str) -> impl Iterator<Item = &str> {
    const APART: &[&str] = &[" / ", " - ", " – ", " — ", " • ", " · "];
    line.split(['\t', '|', '｜']).flat_map(|cell| {
        let mut rest = cell;
        std::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            let next = APART
                .iter()
                .filter_map(|sep| rest.find(sep).map(|at| (at, sep.len())))
                .min();
            let (piece, after) = match next {
                Some((at, len)) => (&rest[..at], &rest[at + len..]),
                None => (rest, ""),
            };
            rest = after;
            Some(piece)
        })
    })
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

/// What ends a company's name glued to what follows it (`株式会社明星建設/購買部`,
/// `明星建設株式会社（本社）`).
const JA_AFTER_NAME: &[char] = &[
    '/', '／', '(', '（', ')', '）', '[', '【', '<', '＜', '「', '『', '・', ',', '，', ':', '：',
];

/// What ends what is written before a company's name glued to it
/// (`本社／株式会社明星建設`, `田中 太郎（株式会社明星建設）`).
const JA_BEFORE_NAME: &[char] = &[
    '/', '／', '(', '（', ')', '）', ']', '】', '>', '＞', '」', '』', '・', ',', '，', ':', '：',
];

/// The first Japanese legal form in `word`: where it is, and how long (the
/// longest of those starting there).
fn ja_form_in(word: &str) -> Option<(usize, usize)> {
    word.char_indices()
        .filter(|&(_, c)| {
            matches!(
                c,
                '株' | '有'
                    | '合'
                    | '一'
                    | '公'
                    | '社'
                    | '医'
                    | '学'
                    | '特'
                    | '独'
                    | '('
                    | '（'
                    | '㈱'
                    | '㈲'
            )
        })
        .find_map(|(at, _)| {
            let rest = &word[at..];
            JA_FORMS
                .iter()
                .filter(|f| rest.starts_with(**f))
                .map(|f| f.len())
                .max()
                .map(|len| (at, len))
        })
}

/// `株式会社明星建設`, `明星建設株式会社`, `株式会社 明星建設`, `(株)明星建設` in a
/// segment, without the department or person it goes on with.
fn japanese_company(segment: &str) -> Option<String> {
    let words: Vec<&str> = segment.split_whitespace().collect();
    let (at, (pos, len)) = words
        .iter()
        .enumerate()
        .find_map(|(i, w)| ja_form_in(w).map(|f| (i, f)))?;
    let word = words[at];
    let form = &word[pos..pos + len];
    let before = &word[..pos];
    let before = &before[before.rfind(JA_BEFORE_NAME).map_or(0, |at| {
        at + before[at..].chars().next().map_or(0, char::len_utf8)
    })..];
    let after = &word[pos + len..];
    let after = &after[..after.find(JA_AFTER_NAME).unwrap_or(after.len())];
    let named = |name: &str| name.chars().any(char::is_alphanumeric);
    let name = match (before.is_empty(), after.is_empty()) {
        // `弊社は株式会社明星建設の…`: a sentence, or words glued past telling.
        (false, false) => return None,
        (false, true) => format!("{before}{form}"),
        (true, false) => format!("{form}{after}"),
        // The form alone: the name is the word before it, else the one after.
        (true, true) => {
            let prev = at.checked_sub(1).map(|p| words[p]);
            let next = words
                .get(at + 1)
                .map(|n| &n[..n.find(JA_AFTER_NAME).unwrap_or(n.len())]);
            if let Some(prev) = prev.filter(|_| !is_latin_word_run(&words[..at])) {
                format!("{prev} {form}")
            } else if let Some(next) = next.filter(|n| named(n)) {
                format!("{form} {next}")
            } else if at > 0 {
                format!("{} {form}", words[..at].join(" "))
            } else {
                return None;
            }
        }
    };
    let rest = name
        .get(..name.len() - form.len())
        .filter(|_| name.ends_with(form));
    let without_form = rest.or_else(|| name.strip_prefix(form)).unwrap_or(&name);
    named(without_form).then_some(name)
}

/// Whether `words` are all Latin (a name such as `ABC Trading 株式会社`
/// keeps all of them).
fn is_latin_word_run(words: &[&str]) -> bool {
    words.len() > 1 && words.iter().all(|w| w.is_ascii())
}

/// Small words a company's name has between capitalised ones (`Bank of
/// Yokohama`, `Smith & Sons`).
const NAME_LINKS: &[&str] = &[
    "of", "and", "&", "the", "de", "du", "des", "la", "le", "et", "y", "und", "für", "van", "von",
    "der", "den", "da", "di", "del", "+",
];

/// Words a company's name does not start with, that a sentence or a
/// recipient's line does (`We are Acme Inc.`, `Powered by …`, `Messrs. …`).
const NOT_NAME_START: &[&str] = &[
    "we",
    "i",
    "our",
    "my",
    "your",
    "this",
    "that",
    "it",
    "from",
    "to",
    "for",
    "by",
    "with",
    "at",
    "in",
    "on",
    "thanks",
    "thank",
    "please",
    "dear",
    "hi",
    "hello",
    "regards",
    "sincerely",
    "cheers",
    "property",
    "copyright",
    "powered",
    "sent",
    "contact",
    "visit",
    "about",
    "messrs",
    "attn",
    "attention",
    "via",
    "c/o",
];

/// `Riverside Electronics LLC`, `Kyowa Trading Co., Ltd.`: the words of the
/// segment (from a `:` or a comma that is not part of `Co., Ltd.`) up to its
/// legal form and ending with it, each capitalised (but for `of`, `&`, ...).
fn latin_company(segment: &str) -> Option<String> {
    let words: Vec<&str> = segment.split_whitespace().collect();
    if words.len() > 10 {
        return None;
    }
    let form = words.iter().position(|w| is_latin_form(w))?;
    let mut end = form;
    while end + 1 < words.len() && is_latin_form(words[end + 1]) {
        end += 1;
    }
    // Words after the form: a sentence or a phrase (`Time Limited Offer`,
    // `Acme Inc. All rights reserved`), not a name.
    if end + 1 < words.len() {
        return None;
    }
    // Back to the start of the segment.
    let mut start = form;
    while start > 0 {
        let prev = words[start - 1];
        if prev.ends_with(':') {
            break;
        }
        if prev.ends_with([',', ';']) && !is_latin_form(prev) {
            break;
        }
        start -= 1;
    }
    let name = &words[start..form];
    let first = name.first()?;
    let capital = |w: &str| {
        w.chars()
            .next()
            .is_some_and(|c| c.is_uppercase() || c.is_ascii_digit())
    };
    let lower = |w: &str| w.trim_end_matches([',', '.']).to_lowercase();
    if name.len() > 5
        || !capital(first)
        || NOT_NAME_START.contains(&lower(first).as_str())
        || !name
            .iter()
            .all(|w| capital(w) || NAME_LINKS.contains(&lower(w).as_str()))
    {
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
    fn the_window_is_the_last_lines_trimmed_and_says_whether_it_is_all() {
        let numbered = |n: usize| -> String {
            (1..=n)
                .map(|i| format!(" {i}\r"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let short = numbered(3);
        assert_eq!(last_lines(&short), (vec!["1", "2", "3"], true));
        let full = numbered(WINDOW_LINES);
        let (window, all) = last_lines(&full);
        assert!(all);
        assert_eq!((window.len(), window[0]), (WINDOW_LINES, "1"));
        let long = numbered(WINDOW_LINES + 1);
        let (window, all) = last_lines(&long);
        assert!(!all);
        assert_eq!(window.len(), WINDOW_LINES);
        assert_eq!(window[0], "2");
        assert_eq!(window[WINDOW_LINES - 1], (WINDOW_LINES + 1).to_string());
        assert_eq!(last_lines("a\n\n b"), (vec!["a", "", "b"], true));
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
    fn a_signature_on_one_line_or_in_table_cells() {
        for (text, want) in [
            (
                "Hi,\n\nPlease see attached.\n\nJohn Smith | Sales | Acme Trading Co., Ltd.\n",
                "Acme Trading Co., Ltd.",
            ),
            (
                "Hi,\n\nPlease see attached.\n\nJohn Smith, Sales Manager, Acme Trading Co., Ltd.\n",
                "Acme Trading Co., Ltd.",
            ),
            (
                "Hi,\n\nPlease see attached.\n\nJohn Smith - Purchasing - Acme Trading Co., Ltd. | +81 3 1234 5678\n",
                "Acme Trading Co., Ltd.",
            ),
            // An HTML signature laid out in a table: its cells apart by tabs.
            (
                "Hello,\nOrder attached.\nBest regards,\nJohn Smith\tSales Manager\tAcme Trading Co., Ltd.\nTel\t03-1234-5678\n",
                "Acme Trading Co., Ltd.",
            ),
            (
                "お世話になっております。\n承知しました。\n株式会社明星建設\t購買部\tTEL 03-1234-5678\n",
                "株式会社明星建設",
            ),
        ] {
            assert_eq!(org(text).as_deref(), Some(want), "{text}");
        }
    }

    #[test]
    fn a_long_disclaimer_after_the_signature_is_passed_over() {
        let text = "Dear Ms Okada,\n\nThank you for the quotation. We accept.\n\n\
                    Best regards,\nJohn Smith\nPurchasing Manager\nAcme Trading Co., Ltd.\n\n\
                    CONFIDENTIALITY NOTICE: This e-mail message, including any attachments,\n\
                    is for the sole use of the intended recipient(s) and may contain\n\
                    confidential and privileged information.\n\n\
                    Any unauthorized review, use, disclosure or distribution is prohibited.\n\
                    If you are not the intended recipient, please contact the sender by\n\
                    reply e-mail and destroy all copies of the original message.\n\n\
                    Please consider the environment before printing this e-mail.\n";
        assert_eq!(org(text).as_deref(), Some("Acme Trading Co., Ltd."));
        // Below a rule of underscores, as Outlook sets it apart.
        let text = "Hello,\n\nOrder attached.\n\nBest regards,\nJohn Smith\nAcme Trading Co., Ltd.\n\n\
                    ________________________________\n\
                    This email and any files transmitted with it are confidential and intended solely for the addressee.\n";
        assert_eq!(org(text).as_deref(), Some("Acme Trading Co., Ltd."));
        // Wrapped short, naming the company in its lines.
        let text = "Hello,\n\nOrder attached.\n\nThanks\nJohn\n\n\
                    The information in this email is confidential\nand the\nProperty of Acme Ltd.\n";
        assert_eq!(org(text), None);
        let text = "お世話になっております。\n承知しました。\n\n--\n株式会社明星建設\n購買部 田中\n\n\
                    本メールは機密情報を含む場合があります。\n誤って受信された場合は、\n\
                    お手数ですが送信者にご連絡のうえ\n削除してください。\n\n\
                    本メールの無断転載を禁じます\n\n環境のため印刷はお控えください\n";
        assert_eq!(org(text).as_deref(), Some("株式会社明星建設"));
        // A company whose name has a disclaimer's word is no disclaimer.
        let text = "お世話になっております。\n承知しました。\n\n株式会社北斗印刷\n購買部 田中\n";
        assert_eq!(org(text).as_deref(), Some("株式会社北斗印刷"));
    }

    #[test]
    fn the_company_is_cut_off_what_is_written_beside_it() {
        for (line, want) in [
            ("会社名：株式会社明星建設", "株式会社明星建設"),
            ("【会社名】株式会社明星建設", "株式会社明星建設"),
            ("田中 太郎（株式会社明星建設）", "株式会社明星建設"),
            ("株式会社明星建設/購買部", "株式会社明星建設"),
            ("明星建設株式会社（本社）", "明星建設株式会社"),
            ("株式会社　明星建設　購買部", "株式会社 明星建設"),
            ("（株）明星建設　購買部", "（株）明星建設"),
            ("【株式会社明星建設】", "株式会社明星建設"),
            ("■ 株式会社明星建設 購買部", "株式会社明星建設"),
            ("Company: Acme Inc.", "Acme Inc."),
            ("Bank of Yokohama Ltd.", "Bank of Yokohama Ltd."),
            ("Smith & Sons Ltd", "Smith & Sons Ltd"),
        ] {
            assert_eq!(company_of_line(line).as_deref(), Some(want), "{line}");
        }
    }

    #[test]
    fn lines_that_only_hold_a_legal_form_name_no_sender() {
        for line in [
            // What the company is to the mail, by its label.
            "宛先：株式会社さくら貿易",
            "訪問先：株式会社協和商事",
            "【訪問先】株式会社協和商事",
            "Attn: Mr. Okada, Sakura Trading Co., Ltd.",
            "Bill to: Sakura Trading Co., Ltd.",
            "Feed: Förvaltnings AB Malmöborg",
            "10:00 株式会社明星建設 見積提出",
            // Sentences, without a full stop.
            "弊社は株式会社明星建設の代理店です",
            "株式会社明星建設の田中です",
            "株式会社明星建設の件",
            "株式会社明星建設より見積",
            "株式会社さくら貿易宛",
            "株式会社明星建設について",
            "We are Acme Inc.",
            "Thanks to everyone at Acme Inc",
            "I work for Acme Ltd",
            "Thank you for choosing our Company",
            "Powered by Acme Inc.",
            "Property of Acme Ltd.",
            "Messrs. Sakura Trading Co., Ltd.",
            // A form in the middle of words that go on.
            "Time Limited Offer",
            "© Acme Inc. All rights reserved.",
        ] {
            assert_eq!(company_of_line(line), None, "{line}");
        }
    }

    #[test]
    fn the_recipient_named_at_the_end_is_not_the_sender() {
        for text in [
            "お世話になっております。\n見積書をお送りします。\n\n送付先：\n株式会社さくら貿易\n営業部\n岡田様\n",
            "お世話になっております。\n見積書をお送りします。\nよろしくお願いします。\n\n株式会社さくら貿易 御中\n",
            "お世話になっております。\n見積書をお送りします。\n\nさくら貿易 岡田様\n",
            "Hi,\n\nPlease ship to:\n\nAttn: Mr. Okada, Sakura Trading Co., Ltd.\n",
        ] {
            assert_eq!(org(text), None, "{text}");
        }
    }

    #[test]
    fn a_signature_quoted_without_markers_is_not_the_senders() {
        for text in [
            "Thanks, will do.\n\nJohn\n\nOn Wed, Apr 10, 2024 at 7:13 PM Okada <okada@sakura.example> wrote:\n\
             Please confirm the date.\n\nBest regards,\nHanako Okada\nSakura Trading Co., Ltd.\n",
            "承知しました。\n\n田中\n\n2024年4月10日(水) 19:13 岡田 <okada@sakura.example>:\n\
             納期をご確認ください。\n\n--\n株式会社さくら貿易\n岡田\n",
            "承知しました。\n\n田中\n\n----- 元のメール -----\n納期をご確認ください。\n\n--\n株式会社さくら貿易\n岡田\n",
        ] {
            assert_eq!(org(text), None, "{text}");
        }
        // Signed above the unmarked quote: the sender's own.
        let text = "Thanks, will do.\n\nJohn Smith\nAcme Trading Co., Ltd.\n\n\
                    On Wed, Apr 10, 2024 at 7:13 PM Okada <okada@sakura.example> wrote:\n\
                    Please confirm the date.\n\nBest regards,\nHanako Okada\nSakura Trading Co., Ltd.\n";
        assert_eq!(org(text).as_deref(), Some("Acme Trading Co., Ltd."));
    }

    #[test]
    fn mention_forms_drop_the_legal_form_unless_too_common() {
        for (org, want) in [
            ("株式会社明星建設", "明星建設"),
            ("明星建設株式会社", "明星建設"),
            ("株式会社 明星建設", "明星建設"),
            ("(株)明星建設", "明星建設"),
            ("Riverside Electronics LLC", "Riverside Electronics"),
            ("Kyowa Trading Co., Ltd.", "Kyowa Trading"),
            ("Crescent Supply Pty Ltd", "Crescent Supply"),
            ("東京ガス株式会社", "東京ガス"),
            // Too short to tell from common words: the whole name.
            ("株式会社大和", "株式会社大和"),
            ("Apex Inc.", "Apex Inc."),
            // One word, or words any company's name is made of: found in
            // mail about anything.
            ("Siemens AG", "Siemens AG"),
            ("Global Inc.", "Global Inc."),
            ("株式会社システム", "株式会社システム"),
            ("日本システム株式会社", "日本システム株式会社"),
            ("東京建設株式会社", "東京建設株式会社"),
        ] {
            assert_eq!(mention_form(org).as_deref(), Some(want), "{org}");
        }
        assert_eq!(mention_form("  "), None);
    }
}
