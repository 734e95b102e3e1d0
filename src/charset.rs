//! Charset labels and Japanese decoding that mail-parser gets wrong.
//!
//! mail-parser 0.11 decodes the common labels, but silently mis-decodes labels
//! real Japanese mail uses (`cp932`, `CP50220`, `ISO-2022-JP-MS`, `eucjp`,
//! `Shift_JIS-2004`, ...), raw ISO-2022-JP or Shift_JIS bytes in headers, and
//! parts with no or a wrong charset. This module maps such labels to the right
//! encoding_rs decoder, guesses Japanese encodings when the declared one is
//! absent or wrong, and keeps carrier emoji (Shift_JIS user-defined area, mapped
//! to the Private Use Area as Windows does) and Windows characters (①, 髙, ～).
//!
//! Notes on the decoders used:
//! - encoding_rs's Shift_JIS is Windows-31J: NEC and IBM extensions, `～` for
//!   0x8160, and the user-defined area F040..F9FC mapped to U+E000..U+E757 as
//!   Windows CP932 does (docomo F89F → U+E63E), so carrier emoji survive.
//! - ISO-2022-JP is decoded here rather than by encoding_rs, which turns au
//!   emoji (JIS rows 0x75..0x7E) into U+FFFD or into unrelated IBM kanji. Each
//!   JIS X 0208 pair is mapped to its Shift_JIS code and decoded as such; au's
//!   e-mail rows are mapped to au's Shift_JIS emoji codes (F3..F7 leads) so an
//!   emoji gets the same Private Use code point in ISO-2022-JP and Shift_JIS
//!   mail. Rows 0x79..0x7C are ambiguous (Outlook writes 髙 there as NEC-selected
//!   IBM kanji, au writes emoji): they are read as kanji unless the same text
//!   also holds au-only rows.
//! - UTF-7 is decoded here (mail-parser's decoder drops the character after an
//!   unterminated base64 run).

use std::borrow::Cow;

use encoding_rs::{
    EUC_JP, Encoding, ISO_2022_JP, ISO_8859_15, REPLACEMENT, SHIFT_JIS, UTF_8, UTF_16BE, UTF_16LE,
    WINDOWS_1252,
};

/// Labels of 7-bit ASCII. WHATWG maps them to windows-1252, but mail labelled
/// `us-ascii` routinely carries UTF-8, so they are read as UTF-8 first.
const ASCII_LABELS: &[&str] = &[
    "us-ascii",
    "ascii",
    "ansi-x3.4-1968",
    "ansi-x3.4-1986",
    "iso646-us",
    "iso-646-us",
    "iso-ir-6",
    "us",
    "cp367",
    "ibm367",
    "csascii",
];

/// Labels of UTF-7, which encoding_rs does not implement.
const UTF7_LABELS: &[&str] = &[
    "utf-7",
    "csutf7",
    "unicode-1-1-utf-7",
    "x-unicode-2-0-utf-7",
];

/// Trims whitespace and quotes, lower-cases and turns `_` into `-`.
fn normalize_label(label: &str) -> String {
    label
        .trim_matches(|c: char| c.is_ascii_whitespace() || c == '"' || c == '\'')
        .chars()
        .map(|c| {
            if c == '_' {
                '-'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// Whether `label` names UTF-8.
pub fn is_utf8_label(label: &str) -> bool {
    matches!(normalize_label(label).as_str(), "utf-8" | "utf8")
}

/// The encoding a charset label names, with the aliases real Japanese mail uses.
/// `None` when the label is unknown (the caller then guesses).
pub fn encoding_for_label(label: &str) -> Option<&'static encoding_rs::Encoding> {
    let norm = normalize_label(label);
    if norm.is_empty() {
        return None;
    }
    let enc = match norm.as_str() {
        "cp932" | "ms932" | "windows-31j" | "x-sjis" | "sjis" | "shift-jis" | "shift-jis-2004"
        | "shift-jisx0213" | "x-ms-cp932" | "windows-932" | "ms-kanji" | "csshiftjis"
        | "sjis-win" | "sjis-open" | "sjis-mobile" | "x-sjis-open" | "cp943" | "cp943c"
        | "ibm-943" | "ibm943" | "x-ibm943" => SHIFT_JIS,
        "iso-2022-jp"
        | "cp50220"
        | "cp50221"
        | "cp50222"
        | "iso-2022-jp-ms"
        | "iso-2022-jp-1"
        | "iso-2022-jp-2"
        | "iso-2022-jp-3"
        | "iso-2022-jp-2004"
        | "csiso2022jp"
        | "csiso2022jp2"
        | "iso2022jp"
        | "jis"
        | "iso-2022-jp-ext"
        | "x-windows-iso2022jp" => ISO_2022_JP,
        "eucjp"
        | "euc-jp"
        | "x-euc-jp"
        | "euc-jis-2004"
        | "euc-jisx0213"
        | "eucjp-ms"
        | "eucjp-win"
        | "eucjp-open"
        | "cseucpkdfmtjapanese"
        | "x-eucjp"
        | "cp51932"
        | "ujis" => EUC_JP,
        "utf8" | "uft-8" | "utf-8" | "unicode-1-1-utf-8" | "x-utf-8" | "uft8" => UTF_8,
        s if ASCII_LABELS.contains(&s) => UTF_8,
        _ => {
            let trimmed = label.trim_matches(|c: char| c.is_ascii_whitespace() || c == '"');
            let found = Encoding::for_label(trimmed.as_bytes())
                .or_else(|| Encoding::for_label(norm.as_bytes()))?;
            if found == REPLACEMENT {
                return None;
            }
            found
        }
    };
    Some(enc)
}

/// Decodes a body part's bytes (already transfer-decoded) to text. `label` is
/// the declared charset, if any. Never fails: a missing or wrong label falls
/// back to UTF-8 if valid, then to the Japanese encodings, then to lossy text
/// (`utf8_or_latin1` the last resort).
pub fn decode_text(bytes: &[u8], label: Option<&str>) -> String {
    let Some(label) = label.filter(|l| !l.trim().is_empty()) else {
        return guess_or_lossy(bytes);
    };
    match encoding_for_label(label) {
        Some(enc) => decode_known(bytes, enc),
        None => {
            let norm = normalize_label(label);
            if UTF7_LABELS.contains(&norm.as_str()) {
                return decode_utf7(bytes);
            }
            if let Some(decoder) =
                mail_parser::decoders::charsets::map::charset_decoder(norm.as_bytes())
            {
                return decoder(bytes);
            }
            guess_or_lossy(bytes)
        }
    }
}

/// Guesses; when nothing decodes cleanly, lossy ISO-2022-JP if its escapes
/// are present, else lossy Japanese if it reads as Japanese, else
/// [`utf8_or_latin1`].
fn guess_or_lossy(bytes: &[u8]) -> String {
    if let Some(text) = guess_clean(bytes) {
        return text;
    }
    lossy_japanese(bytes).unwrap_or_else(|| utf8_or_latin1(bytes))
}

/// Japanese with a few broken sequences (a truncated character, a stray
/// byte), which reads better as Japanese with a U+FFFD than as lossy UTF-8
/// or Latin-1: lossy ISO-2022-JP if its escapes are present, else the
/// better of lossy Shift_JIS and EUC-JP if it looks Japanese.
fn lossy_japanese(bytes: &[u8]) -> Option<String> {
    if has_jis_escape(bytes) {
        return Some(decode_lossy(bytes, ISO_2022_JP));
    }
    let sjis = decode_lossy(bytes, SHIFT_JIS);
    let euc = decode_lossy(bytes, EUC_JP);
    let best = if lossy_score(&euc) > lossy_score(&sjis) {
        euc
    } else {
        sjis
    };
    looks_japanese(&best).then_some(best)
}

/// The last resort for 8-bit text that is not UTF-8 and that no Japanese
/// encoding reads: lossy UTF-8 when some of it is UTF-8 (a broken part), else
/// windows-1252 (Latin-1), which reads every byte. Text without a single
/// UTF-8 character is most likely Western mail from an old client
/// (`Frösche` in Latin-1 under a UTF-8 label, or in a raw 8-bit header), and
/// U+FFFD would leave its words unsearchable.
fn utf8_or_latin1(bytes: &[u8]) -> String {
    if utf8_counts(bytes).0 > 0 {
        String::from_utf8_lossy(bytes).into_owned()
    } else {
        WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0
            .into_owned()
    }
}

/// [`japanese_score`] with a penalty for each replacement character.
fn lossy_score(text: &str) -> i64 {
    let replaced = text.chars().filter(|&c| c == '\u{FFFD}').count();
    japanese_score(text) - 4 * i64::try_from(replaced).unwrap_or(i64::MAX / 8)
}

/// Whether a Shift_JIS or EUC-JP reading looks like Japanese rather than
/// Latin-1 or binary read by chance: more JIS characters than Private Use,
/// C1/Latin-1 and replacement characters (what a chance reading yields).
fn looks_japanese(text: &str) -> bool {
    let (mut jp, mut other) = (0usize, 0usize);
    for c in text.chars().filter(|c| !c.is_ascii()) {
        if matches!(c, '\u{80}'..='\u{FF}' | '\u{E000}'..='\u{F8FF}' | '\u{FFFD}') {
            other += 1;
        } else {
            jp += 1;
        }
    }
    jp > other
}

/// Decodes with a known encoding: strictly first, then by guessing when the
/// strict decode fails, then lossily with the label's decoder.
fn decode_known(bytes: &[u8], enc: &'static Encoding) -> String {
    if let Some(text) = decode_strict(bytes, enc) {
        // ISO-2022-JP mislabelled as us-ascii, UTF-8 or a Latin charset.
        if enc != ISO_2022_JP && enc != UTF_16LE && enc != UTF_16BE && has_jis_escape(bytes) {
            if bytes.is_ascii() {
                return decode_lossy(bytes, ISO_2022_JP);
            }
            if let Some(jis) = decode_strict(bytes, ISO_2022_JP) {
                return jis;
            }
        }
        if is_latin(enc)
            && !bytes.is_ascii()
            && let Some(japanese) = under_a_latin_label(bytes)
        {
            return japanese;
        }
        return text;
    }
    if enc == ISO_2022_JP && bytes.is_ascii() {
        // Broken 7-bit ISO-2022-JP: no other reading is better.
        return decode_lossy(bytes, enc);
    }
    if enc == UTF_8 && mostly_utf8(bytes) {
        // UTF-8 with a stray byte (a cut character, a bad gateway): only the
        // bad bytes are lost; guessing would garble all of it (UTF-8 kanji
        // often read as valid Shift_JIS).
        return decode_lossy(bytes, UTF_8);
    }
    if let Some(text) = guess_clean(bytes) {
        return text;
    }
    if enc == UTF_8 {
        // Under a UTF-8 or ASCII label, but not UTF-8: Japanese with a few
        // broken sequences (Shift_JIS from a misconfigured form, with a
        // stray byte) reads as Japanese, as without a label. Not UTF-8 with
        // junk in it, where a Japanese reading breaks about as often: it
        // must break far less often than UTF-8 does.
        let broken = |text: &String| text.chars().filter(|&c| c == '\u{FFFD}').count();
        if let Some(text) = lossy_japanese(bytes)
            .filter(|t| has_jis_escape(bytes) || 2 * broken(t) < utf8_counts(bytes).1)
        {
            return text;
        }
        return utf8_or_latin1(bytes);
    }
    decode_lossy(bytes, enc)
}

/// Whether `bytes` are UTF-8 apart from a few malformed sequences: more
/// well-formed non-ASCII characters than twice the malformed sequences (text
/// in another encoding read as UTF-8 is malformed nearly everywhere).
fn mostly_utf8(bytes: &[u8]) -> bool {
    let (good, bad) = utf8_counts(bytes);
    good > 2 * bad
}

/// The well-formed non-ASCII UTF-8 characters in `bytes`, and the malformed
/// sequences.
fn utf8_counts(bytes: &[u8]) -> (usize, usize) {
    let (mut good, mut bad) = (0usize, 0usize);
    for chunk in bytes.utf8_chunks() {
        good += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        bad += usize::from(!chunk.invalid().is_empty());
    }
    (good, bad)
}

/// Decodes `bytes` as `enc`; `None` when any sequence is malformed.
fn decode_strict(bytes: &[u8], enc: &'static Encoding) -> Option<String> {
    if enc == UTF_8 {
        let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        return std::str::from_utf8(body).ok().map(str::to_owned);
    }
    if enc == ISO_2022_JP {
        let (text, errors) = decode_iso2022jp(bytes);
        return (!errors).then_some(text);
    }
    if enc == UTF_16LE || enc == UTF_16BE {
        let (text, _, errors) = enc.decode(bytes);
        return (!errors).then(|| text.into_owned());
    }
    enc.decode_without_bom_handling_and_without_replacement(bytes)
        .map(Cow::into_owned)
}

/// Decodes `bytes` as `enc`, replacing malformed sequences with U+FFFD.
fn decode_lossy(bytes: &[u8], enc: &'static Encoding) -> String {
    if enc == ISO_2022_JP {
        return decode_iso2022jp(bytes).0;
    }
    if enc == UTF_8 {
        let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        return String::from_utf8_lossy(body).into_owned();
    }
    if enc == UTF_16LE || enc == UTF_16BE {
        return enc.decode(bytes).0.into_owned();
    }
    enc.decode_without_bom_handling(bytes).0.into_owned()
}

/// True when `bytes` hold an ISO-2022-JP designation (`ESC $ B`, `ESC $ @`,
/// `ESC ( J`, `ESC ( I`, `ESC $ ( Q`).
fn has_jis_escape(bytes: &[u8]) -> bool {
    memchr::memchr_iter(0x1B, bytes).any(|i| {
        let rest = bytes.get(i + 1..).unwrap_or_default();
        rest.starts_with(b"$B")
            || rest.starts_with(b"$@")
            || rest.starts_with(b"(J")
            || rest.starts_with(b"(I")
            || rest.starts_with(b"$(Q")
            || rest.starts_with(b"$(O")
    })
}

/// Decodes without a trustworthy label, returning `None` unless some encoding
/// reads the bytes without error: valid UTF-8 (or ASCII) as is, ISO-2022-JP
/// when its escapes are present, else Shift_JIS or EUC-JP, whichever decodes
/// cleanly into something that looks Japanese (the more Japanese-looking
/// result when both do).
fn guess_clean(bytes: &[u8]) -> Option<String> {
    let jis = has_jis_escape(bytes);
    if jis {
        if let Some(text) = decode_strict(bytes, ISO_2022_JP) {
            return Some(text);
        }
        if bytes.is_ascii() {
            // Broken ISO-2022-JP: no other reading is better.
            return None;
        }
    }
    if let Some(text) = decode_strict(bytes, UTF_8) {
        return Some(text);
    }
    clean_sjis_or_euc(bytes, |t| {
        !(jis && t.contains('\u{1b}')) && looks_japanese(t)
    })
}

/// The clean Shift_JIS and EUC-JP readings of `bytes` that `plausible`
/// accepts; the more Japanese-looking one when both are.
fn clean_sjis_or_euc(bytes: &[u8], plausible: impl Fn(&String) -> bool) -> Option<String> {
    let sjis = decode_strict(bytes, SHIFT_JIS).filter(&plausible);
    let euc = decode_strict(bytes, EUC_JP).filter(&plausible);
    match (sjis, euc) {
        (Some(s), Some(e)) => {
            if japanese_score(&e) > japanese_score(&s) {
                Some(e)
            } else {
                Some(s)
            }
        }
        (s, e) => s.or(e),
    }
}

/// Whether `enc` is a Latin charset: what `ISO-8859-1`, `latin1`,
/// `windows-1252` and `ISO-8859-15` labels name.
fn is_latin(enc: &'static Encoding) -> bool {
    enc == WINDOWS_1252 || enc == ISO_8859_15
}

/// Whether `label` names a Latin charset (`is_latin`), which reads any
/// bytes: mail-parser's reading under it is to be checked by
/// [`decode_text`] whenever it is not ASCII.
pub fn is_latin_label(label: &str) -> bool {
    encoding_for_label(label).is_some_and(is_latin)
}

/// Whether `text` holds characters a Latin reading gives bytes 0x80 to 0xFF:
/// the Latin-1 range (U+0080 to U+00FF) and windows-1252's punctuation for
/// 0x80 to 0x9F (`‚`, `Œ`, `“`). A Latin reading of Shift_JIS, EUC-JP or
/// UTF-8 bytes is full of them (`‚¨Œ©Ï‚è` for `お見積り`; `“Œ‹ž` for
/// `東京`, whose bytes are all 0x80 to 0x9F), so text mail-parser decoded is
/// to be decoded again by this module, which reads such bytes as Japanese.
pub fn has_latin1(text: &str) -> bool {
    /// What windows-1252 reads bytes 0x80 to 0x9F as (0x81, 0x8D, 0x8F,
    /// 0x90 and 0x9D, which it leaves undefined, are U+0081 and the like).
    const WINDOWS_1252_PUNCTUATION: &str = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ";
    // In UTF-8, U+0080 to U+00FF start with 0xC2 or 0xC3.
    // They lie between U+0152 (Œ) and U+2122 (™): a range check first
    // spares the list to the characters of Japanese text, all above it.
    const PUNCTUATION_RANGE: std::ops::RangeInclusive<char> = '\u{152}'..='\u{2122}';
    memchr::memchr2(0xC2, 0xC3, text.as_bytes()).is_some()
        || (!text.is_ascii()
            && text
                .chars()
                .any(|c| PUNCTUATION_RANGE.contains(&c) && WINDOWS_1252_PUNCTUATION.contains(c)))
}

/// Japanese (or UTF-8) text under a Latin label, as a misconfigured form
/// mailer or gateway sends it: valid UTF-8 that is not ASCII, else a clean
/// Shift_JIS or EUC-JP reading that [`reads_as_japanese_not_latin`].
fn under_a_latin_label(bytes: &[u8]) -> Option<String> {
    if let Some(text) = decode_strict(bytes, UTF_8) {
        return Some(text);
    }
    clean_sjis_or_euc(bytes, |t| reads_as_japanese_not_latin(t))
}

/// Whether a clean Shift_JIS or EUC-JP reading of bytes under a Latin
/// label is Japanese rather than Latin-1 text read so by chance. A Latin
/// charset reads any bytes, so only the reading tells. Latin-1 read as
/// Shift_JIS or EUC-JP gives kanji, half-width katakana and Private Use
/// characters (`é` and the letter after it make a kanji, `Ë` is `ﾋ`), beside
/// Latin letters, and kana next to never (their lead bytes are `‚`, `ƒ` and
/// `¤`, each followed by one more such character). So either full-width
/// kana are at least a fifth of the other characters that are not ASCII
/// (Japanese prose is a third kana or more), or the text is only kanji,
/// kana and Japanese punctuation, no Latin letter next to them, two or more
/// of them in a row (a name, `山田 太郎`, or a word, `Re: 見積書`). A word of
/// one accented letter and one more makes one kanji between spaces
/// (Swedish `är`, `än`, `år`, Catalan `és`), never two in a row.
fn reads_as_japanese_not_latin(text: &str) -> bool {
    let (mut kana, mut kanji, mut other) = (0usize, 0usize, 0usize);
    let mut latin_beside = false;
    let (mut run, mut longest_run) = (0usize, 0usize);
    let mut prev = ' ';
    for c in text.chars() {
        run = if c.is_ascii() { 0 } else { run + 1 };
        longest_run = longest_run.max(run);
        match c {
            '\u{3041}'..='\u{3096}' | '\u{30A1}'..='\u{30FA}' => kana += 1,
            '\u{4E00}'..='\u{9FFF}' | '\u{3000}'..='\u{303F}' | '\u{30FB}'..='\u{30FC}' => {
                kanji += 1
            }
            '\u{FF01}'..='\u{FF5E}' => kanji += 1,
            c if c.is_ascii() => {}
            _ => other += 1,
        }
        latin_beside |= (prev.is_ascii_alphabetic() && !c.is_ascii())
            || (!prev.is_ascii() && c.is_ascii_alphabetic());
        prev = c;
    }
    let prose = kana >= 2 && 4 * kana >= kanji + other;
    let words = other == 0 && longest_run >= 2 && !latin_beside;
    prose || words
}

/// How Japanese a decoded text looks: full-width kana, kanji and punctuation
/// count for it; half-width katakana and Private Use characters (what EUC-JP
/// read as Shift_JIS and the reverse tend to produce) count against it.
fn japanese_score(text: &str) -> i64 {
    text.chars()
        .map(|c| match c {
            '\u{3000}'..='\u{30FF}' | '\u{4E00}'..='\u{9FFF}' | '\u{FF01}'..='\u{FF5E}' => 2,
            '\u{FF61}'..='\u{FF9F}' => -3,
            '\u{E000}'..='\u{F8FF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}' => -1,
            _ => 0,
        })
        .sum()
}

/// Character sets an ISO-2022-JP stream switches between.
#[derive(Clone, Copy, PartialEq, Eq)]
enum JisMode {
    Ascii,
    Roman,
    Katakana,
    Jis0208,
    Jis0212,
}

/// Decodes ISO-2022-JP (and the CP5022x, JIS8 and SO/SI variants real mail
/// uses); returns the text and whether anything was malformed.
fn decode_iso2022jp(bytes: &[u8]) -> (String, bool) {
    if !bytes.iter().any(|&b| b >= 0x80 || b == 0x1B || b == 0x0E) {
        // Plain ASCII: no escapes, nothing to do.
        return (String::from_utf8_lossy(bytes).into_owned(), false);
    }
    let first = decode_iso2022jp_pass(bytes, false);
    if first.au_only_rows && first.ambiguous_rows {
        let second = decode_iso2022jp_pass(bytes, true);
        return (second.text, second.errors);
    }
    (first.text, first.errors)
}

/// Result of one ISO-2022-JP decoding pass.
struct JisPass {
    text: String,
    errors: bool,
    /// Saw JIS rows only au emoji use (0x75..=0x78, 0x7D..=0x7E).
    au_only_rows: bool,
    /// Saw JIS rows 0x79..=0x7C (NEC-selected IBM kanji, or au emoji).
    ambiguous_rows: bool,
}

fn decode_iso2022jp_pass(bytes: &[u8], au_rows: bool) -> JisPass {
    let mut out = JisPass {
        text: String::with_capacity(bytes.len() + bytes.len() / 2),
        errors: false,
        au_only_rows: false,
        ambiguous_rows: false,
    };
    let mut sjis: Vec<u8> = Vec::new();
    let mut mode = JisMode::Ascii;
    let mut shifted = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == 0x1B {
            flush_sjis(&mut sjis, &mut out);
            let rest = bytes.get(i + 1..).unwrap_or_default();
            let designations: [(&[u8], Option<JisMode>); 12] = [
                (b"(B", Some(JisMode::Ascii)),
                (b"(J", Some(JisMode::Roman)),
                (b"(H", Some(JisMode::Roman)),
                (b"(I", Some(JisMode::Katakana)),
                (b"$@", Some(JisMode::Jis0208)),
                (b"$B", Some(JisMode::Jis0208)),
                (b"$(B", Some(JisMode::Jis0208)),
                (b"$(@", Some(JisMode::Jis0208)),
                (b"$(Q", Some(JisMode::Jis0208)),
                (b"$(O", Some(JisMode::Jis0208)),
                (b"$(D", Some(JisMode::Jis0212)),
                (b"&@", None),
            ];
            match designations.iter().find(|(seq, _)| rest.starts_with(seq)) {
                Some((seq, next)) => {
                    if let Some(next) = next {
                        mode = *next;
                    }
                    shifted = false;
                    i += 1 + seq.len();
                }
                None => {
                    out.text.push('\u{FFFD}');
                    out.errors = true;
                    i += 1;
                }
            }
            continue;
        }
        if b == 0x0E || b == 0x0F {
            flush_sjis(&mut sjis, &mut out);
            shifted = b == 0x0E;
            i += 1;
            continue;
        }
        if b >= 0x80 {
            flush_sjis(&mut sjis, &mut out);
            if (0xA1..=0xDF).contains(&b) {
                // JIS8: 8-bit half-width katakana.
                out.text.push(halfwidth_katakana(b - 0x80));
            } else {
                out.text.push('\u{FFFD}');
                out.errors = true;
            }
            i += 1;
            continue;
        }
        let current = if shifted { JisMode::Katakana } else { mode };
        match current {
            JisMode::Ascii => {
                flush_sjis(&mut sjis, &mut out);
                out.text.push(char::from(b));
            }
            JisMode::Roman => {
                flush_sjis(&mut sjis, &mut out);
                out.text.push(match b {
                    0x5C => '\u{A5}',
                    0x7E => '\u{203E}',
                    _ => char::from(b),
                });
            }
            JisMode::Katakana => {
                flush_sjis(&mut sjis, &mut out);
                if (0x21..=0x5F).contains(&b) {
                    out.text.push(halfwidth_katakana(b));
                } else if b < 0x21 {
                    out.text.push(char::from(b));
                } else {
                    out.text.push('\u{FFFD}');
                    out.errors = true;
                }
            }
            JisMode::Jis0208 | JisMode::Jis0212 => {
                if !(0x21..=0x7E).contains(&b) {
                    // Controls and spaces inside a kanji run: kept (lenient).
                    flush_sjis(&mut sjis, &mut out);
                    out.text.push(char::from(b));
                    i += 1;
                    continue;
                }
                match bytes.get(i + 1) {
                    Some(&t) if (0x21..=0x7E).contains(&t) => {
                        if current == JisMode::Jis0212 {
                            flush_sjis(&mut sjis, &mut out);
                            out.text.push('\u{FFFD}');
                            out.errors = true;
                        } else {
                            match b {
                                0x75..=0x78 | 0x7D..=0x7E => out.au_only_rows = true,
                                0x79..=0x7C => out.ambiguous_rows = true,
                                _ => {}
                            }
                            sjis.extend_from_slice(&jis_to_sjis(b, t, au_rows));
                        }
                        i += 2;
                        continue;
                    }
                    _ => {
                        flush_sjis(&mut sjis, &mut out);
                        out.text.push('\u{FFFD}');
                        out.errors = true;
                    }
                }
            }
        }
        i += 1;
    }
    flush_sjis(&mut sjis, &mut out);
    out
}

/// Half-width katakana for a JIS X 0201 katakana byte (0x21..=0x5F).
fn halfwidth_katakana(b: u8) -> char {
    char::from_u32(0xFF61 + u32::from(b.saturating_sub(0x21))).unwrap_or('\u{FFFD}')
}

/// Decodes the pending Shift_JIS bytes of a kanji run into `out`.
fn flush_sjis(sjis: &mut Vec<u8>, out: &mut JisPass) {
    if sjis.is_empty() {
        return;
    }
    let (text, errors) = SHIFT_JIS.decode_without_bom_handling(sjis);
    out.text.push_str(&text);
    out.errors |= errors;
    sjis.clear();
}

/// The Shift_JIS code of a JIS X 0208 pair (both bytes in 0x21..=0x7E). Rows
/// 0x75..=0x7E are au's e-mail emoji rows: the unassigned ones always, and
/// 0x79..=0x7C when `au_rows`, go to au's Shift_JIS emoji leads.
fn jis_to_sjis(j1: u8, j2: u8, au_rows: bool) -> [u8; 2] {
    let row = j1.saturating_sub(0x21);
    let mut s1 = (row >> 1) + 0x81;
    if s1 > 0x9F {
        s1 += 0x40;
    }
    let s2 = if row & 1 == 0 {
        let t = j2 + 0x1F;
        if t >= 0x7F { t + 1 } else { t }
    } else {
        j2 + 0x7E
    };
    let au = matches!(j1, 0x75..=0x78 | 0x7D..=0x7E) || (au_rows && matches!(j1, 0x79..=0x7C));
    if au {
        s1 = match s1 {
            0xEB => 0xF6,
            0xEC => 0xF7,
            0xED => 0xF3,
            0xEE => 0xF4,
            _ => 0xF5,
        };
    }
    [s1, s2]
}

/// Decodes UTF-7 (RFC 2152). Malformed base64 runs become U+FFFD.
fn decode_utf7(bytes: &[u8]) -> String {
    fn b64(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let mut out = String::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        i += 1;
        if b != b'+' {
            if b < 0x80 {
                out.push(char::from(b));
            } else {
                out.push('\u{FFFD}');
            }
            continue;
        }
        if bytes.get(i) == Some(&b'-') {
            out.push('+');
            i += 1;
            continue;
        }
        let mut units: Vec<u16> = Vec::new();
        let mut acc: u32 = 0;
        let mut nbits = 0;
        while let Some(v) = bytes.get(i).and_then(|&c| b64(c)) {
            acc = (acc << 6) | v;
            nbits += 6;
            if nbits >= 16 {
                nbits -= 16;
                units.push(((acc >> nbits) & 0xFFFF) as u16);
            }
            acc &= (1 << nbits) - 1;
            i += 1;
        }
        out.extend(char::decode_utf16(units).map(|r| r.unwrap_or('\u{FFFD}')));
        if bytes.get(i) == Some(&b'-') {
            i += 1;
        }
    }
    out
}

/// B or Q, the two RFC 2047 encodings.
#[derive(Clone, Copy, PartialEq, Eq)]
enum WordEncoding {
    B,
    Q,
}

/// One well-formed RFC 2047 encoded word found in a header.
struct EncodedWord<'a> {
    /// The charset label, without any RFC 2231 `*lang` suffix.
    charset: &'a str,
    encoding: WordEncoding,
    text: &'a [u8],
    /// Offset just past the closing `?=`.
    end: usize,
}

/// Parses an encoded word starting at `start` (which holds `=?`).
fn parse_encoded_word(bytes: &[u8], start: usize) -> Option<EncodedWord<'_>> {
    let rest = bytes.get(start..)?.strip_prefix(b"=?")?;
    let q1 = rest.iter().take(80).position(|&c| c == b'?')?;
    let charset_full = rest.get(..q1)?;
    if charset_full.is_empty()
        || charset_full
            .iter()
            .any(|&c| c <= b' ' || c >= 0x7F || c == b'=' || c == b'"')
    {
        return None;
    }
    let charset_full = std::str::from_utf8(charset_full).ok()?;
    let charset = charset_full.split('*').next().unwrap_or(charset_full);
    if charset.is_empty() {
        return None;
    }
    let encoding = match rest.get(q1 + 1)? {
        b'B' | b'b' => WordEncoding::B,
        b'Q' | b'q' => WordEncoding::Q,
        _ => return None,
    };
    if rest.get(q1 + 2) != Some(&b'?') {
        return None;
    }
    let body = rest.get(q1 + 3..)?;
    let q2 = body.iter().position(|&c| c == b'?')?;
    if body.get(q2 + 1) != Some(&b'=') {
        return None;
    }
    let text = body.get(..q2)?;
    let valid = match encoding {
        WordEncoding::B => text
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=')),
        WordEncoding::Q => text.iter().all(|&c| c != b'\r' && c != b'\n'),
    };
    if !valid {
        return None;
    }
    Some(EncodedWord {
        charset,
        encoding,
        text,
        end: start + 2 + q1 + 3 + q2 + 2,
    })
}

/// Decodes Q-encoded text: `_` is a space, `=XX` a byte; a stray `=` is kept.
fn decode_q(text: &[u8]) -> Vec<u8> {
    fn hex(c: u8) -> Option<u8> {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    }
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while let Some(&c) = text.get(i) {
        match c {
            b'_' => out.push(b' '),
            b'=' => {
                if let (Some(h), Some(l)) = (
                    text.get(i + 1).copied().and_then(hex),
                    text.get(i + 2).copied().and_then(hex),
                ) {
                    out.push((h << 4) | l);
                    i += 3;
                    continue;
                }
                out.push(b'=');
            }
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// Adjacent encoded words with the same charset, decoded together so that a
/// character split across words is joined before charset decoding.
struct WordGroup<'a> {
    key: String,
    charset: &'a str,
    bytes: Vec<u8>,
    pending_b64: Vec<u8>,
    raw_start: usize,
    raw_end: usize,
    failed: bool,
}

impl<'a> WordGroup<'a> {
    fn new(word: &EncodedWord<'a>, start: usize) -> Self {
        let mut group = WordGroup {
            key: group_key(word.charset),
            charset: word.charset,
            bytes: Vec::new(),
            pending_b64: Vec::new(),
            raw_start: start,
            raw_end: start,
            failed: false,
        };
        group.push(word);
        group
    }

    fn push(&mut self, word: &EncodedWord<'a>) {
        match word.encoding {
            WordEncoding::B => {
                self.pending_b64.extend_from_slice(word.text);
                // Join base64 split mid-quantum across words; decode whole quanta.
                if self.pending_b64.len().is_multiple_of(4) {
                    self.flush_b64();
                }
            }
            WordEncoding::Q => {
                self.flush_b64();
                self.bytes.extend(decode_q(word.text));
            }
        }
        self.raw_end = word.end;
    }

    fn flush_b64(&mut self) {
        if self.pending_b64.is_empty() {
            return;
        }
        match mail_parser::decoders::base64::base64_decode(&self.pending_b64) {
            Some(decoded) => self.bytes.extend(decoded),
            None => self.failed = true,
        }
        self.pending_b64.clear();
    }

    /// The decoded text, or the raw words when they cannot be decoded.
    fn finish(mut self, raw: &[u8], out: &mut String) {
        self.flush_b64();
        let decoded = if self.failed {
            None
        } else {
            decode_word_bytes(&self.bytes, self.charset)
        };
        match decoded {
            Some(text) => out.push_str(&text),
            None => {
                let span = raw.get(self.raw_start..self.raw_end).unwrap_or_default();
                out.push_str(&String::from_utf8_lossy(span));
            }
        }
    }
}

/// What decides whether two encoded words share a charset.
fn group_key(charset: &str) -> String {
    match encoding_for_label(charset) {
        Some(enc) => enc.name().to_owned(),
        None => normalize_label(charset),
    }
}

/// Decodes an encoded word's bytes; `None` (keep the raw word) when neither
/// this module nor mail-parser knows the label and no guess reads the bytes.
fn decode_word_bytes(bytes: &[u8], charset: &str) -> Option<String> {
    let norm = normalize_label(charset);
    let known = encoding_for_label(charset).is_some()
        || UTF7_LABELS.contains(&norm.as_str())
        || mail_parser::decoders::charsets::map::charset_decoder(norm.as_bytes()).is_some();
    if known {
        Some(decode_text(bytes, Some(charset)))
    } else {
        guess_clean(bytes)
    }
}

/// Unfolds a header value: line breaks are removed, and the whitespace that
/// continues a folded line becomes a single space (none after whitespace).
fn unfold(raw: &[u8]) -> Cow<'_, [u8]> {
    if !raw.iter().any(|&b| b == b'\r' || b == b'\n') {
        return Cow::Borrowed(raw);
    }
    let mut out: Vec<u8> = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        if b != b'\r' && b != b'\n' {
            out.push(b);
            i += 1;
            continue;
        }
        while matches!(raw.get(i), Some(b'\r' | b'\n')) {
            i += 1;
        }
        let wsp_start = i;
        while matches!(raw.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        if i > wsp_start && !matches!(out.last(), Some(b' ' | b'\t')) {
            out.push(b' ');
        }
    }
    Cow::Owned(out)
}

/// Decodes header text outside encoded words (raw UTF-8, ISO-2022-JP,
/// Shift_JIS or EUC-JP).
fn decode_literal(bytes: &[u8], out: &mut String) {
    if bytes.is_empty() {
        return;
    }
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.contains('\u{1b}') => out.push_str(text),
        _ => out.push_str(&decode_text(bytes, None)),
    }
}

/// Decodes an unstructured header value as found in the raw message: RFC 2047
/// encoded words (any label known to [`encoding_for_label`]; adjacent encoded
/// words joined; B and Q), raw ISO-2022-JP escape sequences, and raw 8-bit
/// Shift_JIS/EUC-JP/UTF-8. Folding whitespace is unfolded.
pub fn decode_header(raw: &[u8]) -> String {
    let unfolded = unfold(raw);
    let bytes: &[u8] = &unfolded;
    let mut out = String::with_capacity(bytes.len());
    let mut group: Option<WordGroup<'_>> = None;
    let mut literal_start = 0;
    let mut after_word = false;
    let mut search = 0;
    while let Some(pos) =
        memchr::memmem::find(bytes.get(search..).unwrap_or_default(), b"=?").map(|p| p + search)
    {
        let Some(word) = parse_encoded_word(bytes, pos) else {
            search = pos + 1;
            continue;
        };
        let literal = bytes.get(literal_start..pos).unwrap_or_default();
        let only_space = literal.iter().all(|&c| c == b' ' || c == b'\t');
        if !(after_word && only_space) {
            if let Some(g) = group.take() {
                g.finish(bytes, &mut out);
            }
            decode_literal(literal, &mut out);
        }
        match group.as_mut() {
            Some(g) if g.key == group_key(word.charset) => g.push(&word),
            _ => {
                if let Some(g) = group.take() {
                    g.finish(bytes, &mut out);
                }
                group = Some(WordGroup::new(&word, pos));
            }
        }
        after_word = true;
        literal_start = word.end;
        search = word.end;
    }
    if let Some(g) = group.take() {
        g.finish(bytes, &mut out);
    }
    decode_literal(bytes.get(literal_start..).unwrap_or_default(), &mut out);
    let trimmed = out.trim();
    if trimmed.len() == out.len() {
        out
    } else {
        trimmed.to_owned()
    }
}

/// True when text decoded by mail-parser needs to be redone by this module:
/// it holds U+FFFD, undecoded encoded words (`=?...?=`) or ISO-2022-JP escapes.
pub fn needs_redecode(text: &str) -> bool {
    let bytes = text.as_bytes();
    // Byte searches: a `char` pattern would decode every character.
    if memchr::memchr(0x1b, bytes).is_some()
        || memchr::memmem::find(bytes, "\u{FFFD}".as_bytes()).is_some()
    {
        return true;
    }
    memchr::memmem::find_iter(bytes, b"=?").any(|pos| parse_encoded_word(bytes, pos).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::decoders::base64::base64_decode;

    fn b64(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        assert_eq!(base64_decode(out.as_bytes()).as_deref(), Some(bytes));
        out
    }

    fn sjis(text: &str) -> Vec<u8> {
        let (bytes, _, errors) = SHIFT_JIS.encode(text);
        assert!(!errors, "{text} not encodable in Shift_JIS");
        bytes.into_owned()
    }

    fn euc(text: &str) -> Vec<u8> {
        let (bytes, _, errors) = EUC_JP.encode(text);
        assert!(!errors, "{text} not encodable in EUC-JP");
        bytes.into_owned()
    }

    fn jis(text: &str) -> Vec<u8> {
        let (bytes, _, errors) = ISO_2022_JP.encode(text);
        assert!(!errors, "{text} not encodable in ISO-2022-JP");
        bytes.into_owned()
    }

    /// Inverse of the CP932 user-defined-area mapping, for round-trip checks.
    fn pua_to_sjis(c: char) -> Option<[u8; 2]> {
        let offset = u32::from(c).checked_sub(0xE000)?;
        if offset >= 1880 {
            return None;
        }
        let lead = 0xF0 + u8::try_from(offset / 188).ok()?;
        let index = u8::try_from(offset % 188).ok()?;
        let trail = if index < 0x3F {
            index + 0x40
        } else {
            index + 0x41
        };
        Some([lead, trail])
    }

    #[test]
    fn labels_map_to_japanese_encodings() {
        for label in [
            "cp932",
            "MS932",
            "Windows-31J",
            "x-sjis",
            "SJIS",
            "Shift_JIS",
            "shift-jis",
            "Shift_JIS-2004",
            "shift_jisx0213",
            "x-ms-cp932",
            "\"CP932\"",
        ] {
            assert_eq!(encoding_for_label(label), Some(SHIFT_JIS), "{label}");
        }
        for label in [
            "CP50220",
            "cp50221",
            "CP50222",
            "ISO-2022-JP-MS",
            "iso-2022-jp-1",
            "ISO-2022-JP-2",
            "iso-2022-jp-3",
            "ISO-2022-JP-2004",
            "csISO2022JP",
            "iso_2022_jp",
        ] {
            assert_eq!(encoding_for_label(label), Some(ISO_2022_JP), "{label}");
        }
        for label in [
            "eucjp",
            "EUC-JP",
            "x-euc-jp",
            "euc-jis-2004",
            "EUC-JISX0213",
            "eucJP-ms",
            "cseucpkdfmtjapanese",
        ] {
            assert_eq!(encoding_for_label(label), Some(EUC_JP), "{label}");
        }
        for label in [
            "utf8",
            "uft-8",
            "UTF-8",
            "unicode-1-1-utf-8",
            "us-ascii",
            "ASCII",
            "ANSI_X3.4-1968",
            " 'utf-8' ",
        ] {
            assert_eq!(encoding_for_label(label), Some(UTF_8), "{label}");
        }
        assert_eq!(encoding_for_label("iso-8859-1"), Some(WINDOWS_1252));
        assert_eq!(encoding_for_label("ISO_8859-1:1987"), Some(WINDOWS_1252));
        assert_eq!(
            encoding_for_label("koi8-r").map(Encoding::name),
            Some("KOI8-R")
        );
        assert_eq!(encoding_for_label("utf-7"), None);
        assert_eq!(encoding_for_label("x-unknown"), None);
        assert_eq!(encoding_for_label(""), None);
        // encoding_rs maps these to the replacement encoding, which loses text.
        assert_eq!(encoding_for_label("iso-2022-kr"), None);
    }

    #[test]
    fn cp932_windows_characters() {
        // ① (NEC row 13), 髙 (IBM extension FBFC), ～ (0x8160 is U+FF5E).
        let bytes = b"\x87\x40\xFB\xFC\x81\x60";
        for label in ["cp932", "Shift_JIS", "x-sjis", "windows-31j"] {
            assert_eq!(decode_text(bytes, Some(label)), "①髙～", "{label}");
        }
        assert!(!decode_text(bytes, Some("cp932")).contains('\u{301C}'));
        // 髙 as a NEC-selected IBM kanji (EEE0) too.
        assert_eq!(decode_text(b"\xEE\xE0\x8B\xB4", Some("cp932")), "髙橋");
        // ～ and 〜 round-trip text: what a CP932 sender typed as 〜 arrives as ～.
        assert_eq!(
            decode_text(&sjis("10時～12時"), Some("cp932")),
            "10時～12時"
        );
    }

    #[test]
    fn carrier_emoji_become_private_use_characters() {
        // docomo "sunny" F89F and "cloudy" F8A0, au F659, SoftBank F7C1.
        let cases: [(&[u8; 2], u32); 4] = [
            (b"\xF8\x9F", 0xE63E),
            (b"\xF8\xA0", 0xE63F),
            (b"\xF6\x59", 0xE000 + 6 * 188 + 0x19),
            (b"\xF7\xC1", 0xE000 + 7 * 188 + (0xC1 - 0x41)),
        ];
        let mut seen = Vec::new();
        for (bytes, expected) in cases {
            let text = decode_text(bytes, Some("Shift_JIS"));
            let c = text.chars().next().unwrap_or_default();
            assert_eq!(text.chars().count(), 1, "{bytes:x?}");
            assert_eq!(u32::from(c), expected, "{bytes:x?}");
            assert!(('\u{E000}'..='\u{F8FF}').contains(&c));
            assert_eq!(pua_to_sjis(c), Some(*bytes));
            assert!(!seen.contains(&c));
            seen.push(c);
        }
        // Inside Japanese text, labelled and unlabelled.
        let mut mail = sjis("今日は");
        mail.extend_from_slice(b"\xF8\x9F");
        mail.extend(sjis("です"));
        assert_eq!(decode_text(&mail, Some("sjis")), "今日は\u{E63E}です");
        assert_eq!(decode_text(&mail, None), "今日は\u{E63E}です");
    }

    #[test]
    fn iso2022jp_words_split_mid_character_are_joined() {
        let subject = "お見積もりのご依頼（株式会社山田商事）";
        let bytes = jis(subject);
        // Split after ESC $ B and 5 bytes: in the middle of the third character.
        let (a, b) = bytes.split_at(8);
        let header = format!(
            "=?ISO-2022-JP?B?{}?=\r\n =?iso-2022-jp?B?{}?=",
            b64(a),
            b64(b)
        );
        assert_eq!(decode_header(header.as_bytes()), subject);
        // Each word alone would not decode cleanly.
        assert!(
            decode_header(format!("=?ISO-2022-JP?B?{}?=", b64(a)).as_bytes()).contains('\u{FFFD}')
        );
    }

    #[test]
    fn utf8_words_split_mid_character_are_joined() {
        let subject = "日本語の件名";
        let bytes = subject.as_bytes();
        let (a, rest) = bytes.split_at(4);
        let (b, c) = rest.split_at(7);
        let header = format!(
            "Re: =?UTF-8?B?{}?= =?utf-8?B?{}?=\n\t=?UTF-8?Q?{}?= (2)",
            b64(a),
            b64(b),
            c.iter().map(|x| format!("={x:02X}")).collect::<String>()
        );
        assert_eq!(decode_header(header.as_bytes()), "Re: 日本語の件名 (2)");
    }

    #[test]
    fn base64_split_mid_quantum_is_joined() {
        // "こんにちは" in UTF-8 is 15 bytes = 20 base64 characters; split at 6.
        let text = b64("こんにちは".as_bytes());
        let (a, b) = text.split_at(6);
        let header = format!("=?utf-8?b?{a}?= =?utf-8?b?{b}?=");
        assert_eq!(decode_header(header.as_bytes()), "こんにちは");
    }

    #[test]
    fn shift_jis_words_with_various_labels() {
        let b = b64(&sjis("ご注文確認"));
        assert_eq!(
            decode_header(format!("=?x-sjis?B?{b}?=").as_bytes()),
            "ご注文確認"
        );
        assert_eq!(
            decode_header(format!("=?Shift_JIS?B?{b}?=").as_bytes()),
            "ご注文確認"
        );
        // Q with CP932 characters (① = 8740, 髙 = FBFC) and an underscore.
        let q = "=?cp932?Q?=87=40_=FB=FC=8B=B4=97=6C?=";
        assert_eq!(decode_header(q.as_bytes()), "① 髙橋様");
        assert_eq!(
            decode_header(b"=?UTF-8?Q?Caf=C3=A9_au_lait_=E2=98=95?="),
            "Café au lait ☕"
        );
        let u = b64("請求書".as_bytes());
        assert_eq!(
            decode_header(format!("=?uft-8?B?{u}?=").as_bytes()),
            "請求書"
        );
        // RFC 2231 language suffix.
        assert_eq!(
            decode_header(format!("=?UTF-8*ja?B?{u}?=").as_bytes()),
            "請求書"
        );
    }

    #[test]
    fn unlabelled_japanese_is_guessed() {
        let text = "明日の会議は午後三時からです。よろしくお願いします。";
        assert_eq!(decode_text(&euc(text), None), text);
        assert_eq!(decode_text(&sjis(text), None), text);
        assert_eq!(decode_text(&jis(text), None), text);
        assert_eq!(decode_text(text.as_bytes(), None), text);
        // Half-width katakana, which the two 8-bit encodings both can express.
        let kana = "ｶﾀｶﾅ と 漢字";
        assert_eq!(decode_text(&sjis(kana), None), kana);
        assert_eq!(decode_text(&euc(kana), None), kana);
        // Unknown label: same guessing.
        assert_eq!(decode_text(&euc(text), Some("x-unknown-8bit")), text);
    }

    #[test]
    fn wrong_label_falls_back_to_what_decodes() {
        let text = "お問い合わせありがとうございます";
        assert_eq!(decode_text(&sjis(text), Some("iso-2022-jp")), text);
        assert_eq!(decode_text(&euc(text), Some("shift_jis")), text);
        assert_eq!(decode_text(text.as_bytes(), Some("shift_jis")), text);
        assert_eq!(decode_text(&jis(text), Some("us-ascii")), text);
        assert_eq!(decode_text(&jis(text), Some("iso-8859-1")), text);
        assert_eq!(decode_text(&jis(text), Some("ISO-2022-JP")), text);
        assert_eq!(decode_text(&jis(text), Some("CP50220")), text);
        // 8-bit Latin-1 under an ASCII label reads as windows-1252.
        assert_eq!(
            decode_text(b"caf\xE9 cr\xE8me ", Some("us-ascii")),
            "café crème "
        );
        // Nothing decodes: lossy with the label's decoder; without a label
        // (or under a UTF-8 one), bytes that read as neither Japanese nor
        // UTF-8 read as windows-1252.
        let broken = b"abc\x82\xFF";
        assert_eq!(decode_text(broken, Some("shift_jis")), "abc\u{FFFD}");
        assert_eq!(decode_text(broken, None), "abc\u{201A}\u{FF}");
        // Latin-1 under a UTF-8 label (an old Netscape), and UTF-8 with a
        // stray byte, which stays UTF-8.
        assert_eq!(
            decode_text(b"Fr\xF6sche, \xFCber, mi\xDFlich", Some("UTF-8")),
            "Frösche, über, mißlich"
        );
        assert_eq!(
            decode_text(
                "Grüße aus Köln \u{2014} "
                    .as_bytes()
                    .iter()
                    .copied()
                    .chain([0xFF])
                    .collect::<Vec<u8>>()
                    .as_slice(),
                Some("utf-8")
            ),
            "Grüße aus Köln \u{2014} \u{FFFD}"
        );
        // A broken part with some UTF-8 in it stays UTF-8, its bad bytes lost.
        assert_eq!(
            decode_text(b"y\xC3\xB6t\xC3\xA4 vaan. \x8Ax\xE8 y\xFF", Some("utf-8")),
            "yötä vaan. \u{FFFD}x\u{FFFD} y\u{FFFD}"
        );
    }

    #[test]
    fn iso2022jp_variants() {
        // JIS X 0201 katakana by ESC ( I, and by SO/SI.
        assert_eq!(decode_text(b"\x1b(I6\x1b(B", Some("iso-2022-jp")), "ｶ");
        assert_eq!(decode_text(b"a\x0e6\x0fb", Some("CP50222")), "aｶb");
        // JIS X 0201 Roman.
        assert_eq!(
            decode_text(b"\x1b(J\\100\x1b(B", Some("iso-2022-jp")),
            "¥100"
        );
        // ① (NEC row 13, 0x2D21).
        assert_eq!(decode_text(b"\x1b$B-!\x1b(B", Some("iso-2022-jp")), "①");
        // 髙 as Outlook writes it (NEC-selected IBM row, 0x7C62).
        let mut outlook = b"\x1b$B|b".to_vec();
        outlook.extend(jis("橋様").get(3..).unwrap_or_default());
        assert_eq!(decode_text(&outlook, Some("iso-2022-jp")), "髙橋様");
        // Truncated pair and unknown escape are errors, not panics.
        assert_eq!(decode_text(b"\x1b$B$", Some("iso-2022-jp")), "\u{FFFD}");
        assert!(decode_text(b"\x1b$Zabc", Some("iso-2022-jp")).contains('\u{FFFD}'));
    }

    #[test]
    fn au_emoji_in_iso2022jp_match_shift_jis() {
        // 題名 + au emoji at JIS 0x765E (au Shift_JIS F6DC).
        let text = decode_text(b"\x1b$BBjL>v^\x1b(B", Some("iso-2022-jp"));
        assert_eq!(
            text,
            format!("題名{}", decode_text(b"\xF6\xDC", Some("sjis")))
        );
        assert_eq!(text, "題名\u{E503}");
        // With an au-only row present, rows 0x79..0x7C are emoji too:
        // 0x7B30 is au F44F.
        let mixed = decode_text(b"\x1b$Bv^{0\x1b(B", Some("iso-2022-jp"));
        let expected = decode_text(b"\xF6\xDC\xF4\x4F", Some("sjis"));
        assert_eq!(mixed, expected);
        assert!(
            mixed
                .chars()
                .all(|c| ('\u{E000}'..='\u{F8FF}').contains(&c))
        );
    }

    #[test]
    fn raw_bytes_in_headers() {
        let text = "【重要】ご契約内容の変更について";
        assert_eq!(decode_header(&jis(text)), text);
        let mut folded = b"Re: ".to_vec();
        folded.extend(jis("見積書"));
        folded.extend_from_slice(b"\r\n ");
        folded.extend(jis("送付の件"));
        assert_eq!(decode_header(&folded), "Re: 見積書 送付の件");
        assert_eq!(decode_header(&sjis(text)), text);
        assert_eq!(decode_header(&euc(text)), text);
        assert_eq!(decode_header(text.as_bytes()), text);
        // Raw text and an encoded word side by side.
        let mut mixed = sjis("件名：");
        mixed.extend_from_slice(format!(" =?UTF-8?B?{}?=", b64("確認".as_bytes())).as_bytes());
        assert_eq!(decode_header(&mixed), "件名： 確認");
    }

    #[test]
    fn utf7_label() {
        assert_eq!(
            decode_text(b"Hi Mom -+Jjo--!", Some("utf-7")),
            "Hi Mom -\u{263A}-!"
        );
        assert_eq!(
            decode_text(b"+ZeVnLIqe-", Some("UNICODE-1-1-UTF-7")),
            "日本語"
        );
        assert_eq!(decode_text(b"1 +- 1 = 2", Some("utf-7")), "1 + 1 = 2");
        // A base64 run ended by a space keeps the space.
        assert_eq!(decode_text(b"+ZeVnLIqe x", Some("utf-7")), "日本語 x");
        assert_eq!(decode_header(b"=?utf-7?Q?+ZeVnLIqe-?="), "日本語");
    }

    #[test]
    fn malformed_words_stay_literal() {
        assert_eq!(decode_header(b"=?foo?X?bar?="), "=?foo?X?bar?=");
        assert_eq!(decode_header(b"price =? 100"), "price =? 100");
        assert_eq!(
            decode_header(b"=?utf-8?B?not base64?="),
            "=?utf-8?B?not base64?="
        );
        assert_eq!(decode_header(b"=?utf-8?B?5pel"), "=?utf-8?B?5pel");
        // Unknown label whose bytes are not text: kept raw.
        assert_eq!(
            decode_header(b"=?x-foo?Q?=FF=FE=FF?="),
            "=?x-foo?Q?=FF=FE=FF?="
        );
        // Unknown label whose bytes are plain UTF-8: decoded.
        assert_eq!(decode_header(b"=?x-foo?Q?abc?="), "abc");
        // A stray '=' in Q text is kept.
        assert_eq!(decode_header(b"=?utf-8?Q?a=ZZb?="), "a=ZZb");
    }

    #[test]
    fn latin_text_is_told_from_japanese_text() {
        for c in "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸé\u{80}ÿ".chars()
        {
            assert!(has_latin1(&format!("請求書{c}送付")), "{c}");
        }
        for text in ["請求書①～髙", "Invoice", "―※→", "ﾃｽﾄ"] {
            assert!(!has_latin1(text), "{text}");
        }
    }

    #[test]
    fn latin1_is_not_taken_for_japanese() {
        // "Frösche" in Latin-1: ö (F6) + s would be a valid Shift_JIS
        // user-defined character, but the result does not look Japanese:
        // it is read as Latin-1.
        let decoded = decode_header(b"Die Hasen und die Fr\xF6sche");
        assert_eq!(decoded, "Die Hasen und die Frösche");
        assert!(
            !decoded
                .chars()
                .any(|c| ('\u{E000}'..='\u{F8FF}').contains(&c))
        );
        // Japanese cut in the middle of a character stays Japanese.
        let mut cut = sjis("お見積もりの件");
        cut.pop();
        assert_eq!(decode_text(&cut, None), "お見積もりの\u{FFFD}");
    }

    /// A Latin label on Japanese (a misconfigured form mailer or gateway):
    /// Shift_JIS, EUC-JP and UTF-8 read as Japanese, while Latin-1 text,
    /// whose accented letters Shift_JIS and EUC-JP read as kanji by chance,
    /// stays Latin-1.
    #[test]
    fn japanese_under_a_latin_label_is_read_as_japanese() {
        for japanese in [
            "お見積りのお願い。請求書を再発行してください。",
            "山田 太郎",
            "Re: 見積書",
        ] {
            for label in ["iso-8859-1", "ISO-8859-15", "latin1", "windows-1252"] {
                for enc in [SHIFT_JIS, EUC_JP, UTF_8] {
                    let (bytes, _, unmappable) = enc.encode(japanese);
                    assert!(!unmappable);
                    let read = decode_text(&bytes, Some(label));
                    assert_eq!(read, japanese, "{label} {enc:?}");
                }
            }
        }
        for latin in [
            "Die Hasen und die Frösche. Grüße aus Köln, Straße 5, 20 € – ÄÖÜäöüß",
            "Où êtes-vous ? Déjà à l'école, l'élève était très intéressé. Ça va, garçon ?",
            "Ærø, Øresund, Åland; señor, niño, ¿qué tal? ¡olé!",
            "Ëë Ïï Ÿÿ Œœ Šš Žž «»‹› “”‘’ ‚„ †‡ ‰ ƒ ¤ ¥ ©®",
            // Shift_JIS reads `’s`, `“Q` and `ço` as kanji, EUC-JP `Þó`.
            "It’s “Quoted",
            "Françoise",
            "Þórð",
            // One kanji each (`är` in Shift_JIS, `és` too), between spaces.
            "Servern är version 5, biblioteket är version 4.",
            "Fakturan är betald, men beloppet är fel",
            "El preu és fix i el termini és dilluns",
        ] {
            let (bytes, _, unmappable) = WINDOWS_1252.encode(latin);
            assert!(!unmappable);
            assert_eq!(decode_text(&bytes, Some("iso-8859-1")), latin);
        }
    }

    #[test]
    fn broken_japanese_under_a_utf8_or_ascii_label_stays_japanese() {
        // Shift_JIS, EUC-JP and ISO-2022-JP with a character cut off or a
        // stray byte, under the label of a misconfigured form mailer: read
        // as without a label, not as windows-1252 or lossy UTF-8.
        let text = "お見積もりの件について、ご確認をお願いします。";
        let mut cut = sjis(text);
        cut.pop();
        let mut stray = sjis("見積");
        stray.insert(2, 0xFF);
        let mut euc_cut = euc(text);
        euc_cut.pop();
        let mut jis_stray = jis("見積");
        jis_stray.push(0x80);
        for label in ["utf-8", "UTF8", "us-ascii"] {
            let l = Some(label);
            assert_eq!(decode_text(&cut, l), decode_text(&cut, None), "{label}");
            assert_eq!(
                decode_text(&cut, l),
                "お見積もりの件について、ご確認をお願いします\u{FFFD}"
            );
            assert_eq!(decode_text(&stray, l), "見\u{FFFD}積", "{label}");
            assert_eq!(
                decode_text(&euc_cut, l),
                "お見積もりの件について、ご確認をお願いします\u{FFFD}"
            );
            assert_eq!(decode_text(&jis_stray, l), "見積\u{FFFD}", "{label}");
        }
        // In an RFC 2047 word too.
        assert_eq!(
            decode_header(format!("=?utf-8?B?{}?=", b64(&cut)).as_bytes()),
            "お見積もりの件について、ご確認をお願いします\u{FFFD}"
        );
        // UTF-8 with junk in it, which a Japanese reading breaks about as
        // often (a base64 part with garbage after its end), stays UTF-8.
        assert_eq!(
            decode_text(
                b"y\xC3\xB6t\xC3\xA4 vaan.\n\x8A\t\xE8\xAD\xE7",
                Some("utf-8")
            ),
            "yötä vaan.\n\u{FFFD}\t\u{FFFD}\u{FFFD}"
        );
    }

    #[test]
    fn whitespace_and_empty_input() {
        assert_eq!(decode_text(b"", None), "");
        assert_eq!(decode_text(b"", Some("iso-2022-jp")), "");
        assert_eq!(decode_header(b""), "");
        assert_eq!(decode_header(b"  \r\n\t "), "");
        assert_eq!(decode_header(b" Hello,\r\n\tworld \r\n"), "Hello, world");
        assert_eq!(
            decode_header(b"=?ISO-8859-1?Q?Peslo=FCan?= \n\t<n@example.org>"),
            "Pesloüan <n@example.org>"
        );
        // Whitespace between a word and plain text is kept; between words, dropped.
        assert_eq!(
            decode_header(b"=?utf-8?Q?a?= b =?utf-8?Q?c?=   =?iso-8859-1?Q?d?="),
            "a b cd"
        );
        // UTF-8 BOM in a body is dropped.
        assert_eq!(decode_text(b"\xEF\xBB\xBFhello", Some("utf-8")), "hello");
        // UTF-8 with a stray byte stays UTF-8 (its bytes are also valid
        // Shift_JIS: 隲区ｱよ嶌縺ｧ縺劼); only the stray byte is lost.
        let stray = b"\xe8\xab\x8b\xe6\xb1\x82\xe6\x9b\xb8\xe3\x81\xa7\xe3\x81\x99\xa2\n";
        assert_eq!(decode_text(stray, Some("utf-8")), "請求書です\u{FFFD}\n");
        // Shift_JIS mislabelled as UTF-8 is still read as Shift_JIS.
        let sjis = b"\x90\xbf\x8b\x81\x8f\x91\x82\xc5\x82\xb7\n";
        assert_eq!(decode_text(sjis, Some("utf-8")), "請求書です\n");
    }

    #[test]
    fn needs_redecode_detects_leftovers() {
        assert!(needs_redecode("caf\u{FFFD}"));
        assert!(needs_redecode("Re: =?iso-2022-jp?B?GyRCJUYlOSVIGyhC?="));
        assert!(needs_redecode("\u{1b}$B%F%9%H\u{1b}(B"));
        assert!(!needs_redecode("テスト ①髙～ \u{E63E}"));
        assert!(!needs_redecode("a =? b ?= c"));
        assert!(!needs_redecode(""));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
                        label in "(utf-8|iso-2022-jp|sjis|euc-jp|utf-7|utf-16|x-foo|)") {
            let _ = decode_text(&bytes, Some(&label));
            let _ = decode_text(&bytes, None);
            let header = decode_header(&bytes);
            proptest::prop_assert_eq!(header.trim(), header.as_str());
        }

        #[test]
        fn utf8_words_round_trip(text in "\\PC{0,40}", split in 0usize..200) {
            let bytes = text.as_bytes();
            let at = split.min(bytes.len());
            let (a, b) = bytes.split_at(at);
            let header = format!("=?UTF-8?B?{}?= =?UTF-8?B?{}?=", b64(a), b64(b));
            let decoded = decode_header(header.as_bytes());
            proptest::prop_assert_eq!(decoded.as_str(), text.trim());
        }
    }

    /// Every Subject of the jpmobile fixtures (real carrier mail) decodes
    /// without replacement characters or leftover encoded words.
    #[test]
    fn jpmobile_subjects_decode() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/corpora/jpmobile-fixtures/cur"
        );
        let Ok(entries) = std::fs::read_dir(dir) else {
            eprintln!("skipping: {dir} not present");
            return;
        };
        let mut subjects = Vec::new();
        for entry in entries.flatten() {
            let Ok(raw) = std::fs::read(entry.path()) else {
                continue;
            };
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(subject) = raw_subject(&raw) {
                let decoded = decode_header(&subject);
                assert!(
                    !decoded.contains('\u{FFFD}') && !decoded.contains("=?"),
                    "{name}: {decoded:?}"
                );
                assert!(!needs_redecode(&decoded), "{name}: {decoded:?}");
                subjects.push((name, decoded));
            }
        }
        assert!(subjects.len() > 30, "only {} subjects", subjects.len());
        let find = |suffix: &str| {
            subjects
                .iter()
                .find(|(n, _)| n.contains(suffix))
                .map(|(_, s)| s.clone())
        };
        assert_eq!(
            find("email-fixtures_pc-mail-single").as_deref(),
            Some(
                "タイトルの長いメールの場合の対処を実装するためのテストケースとしてのメールに\
                 含まれている件名であるサブジェクト部分"
            )
        );
        assert_eq!(
            find("email-fixtures_docomo-emoji").as_deref(),
            Some("題名\u{E676}")
        );
        assert_eq!(
            find("email-fixtures_au-email").as_deref(),
            Some("※本文はこのままで送信してね")
        );
        assert_eq!(
            find("email-fixtures_iphone-circled-numbers-in-jis").as_deref(),
            Some("テスト①")
        );
    }

    /// The raw value of the first Subject header, continuation lines included.
    fn raw_subject(message: &[u8]) -> Option<Vec<u8>> {
        let mut lines = message.split(|&b| b == b'\n');
        let mut value: Option<Vec<u8>> = None;
        for line in lines.by_ref() {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                break;
            }
            match value.as_mut() {
                Some(v) if line.first().is_some_and(|&c| c == b' ' || c == b'\t') => {
                    v.extend_from_slice(b"\r\n");
                    v.extend_from_slice(line);
                }
                Some(_) => break,
                None => {
                    if line.len() > 8 && line[..8].eq_ignore_ascii_case(b"subject:") {
                        value = Some(line[8..].to_vec());
                    }
                }
            }
        }
        value
    }
}
