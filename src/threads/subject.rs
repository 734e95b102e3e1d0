//! Subject normalisation for the reply-subject threading fallback.
//!
//! A subject is first NFKC-folded, so full-width forms (`Ｒｅ：`, `［ｋｕｒａ：００４２］`)
//! become their ASCII equivalents. Then any run of reply/forward prefixes
//! (`Re:`, `AW:`, `返信:`, `Fwd[2]:`, ...) and mailing-list tags (`[kura:0042]`)
//! is stripped from the start; what remains, with whitespace collapsed and
//! lowercased, is the normalised subject.

use unicode_normalization::UnicodeNormalization;

/// What a subject says about the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectInfo {
    /// The subject with reply/forward prefixes, list tags like `[foo:123]`,
    /// and surrounding whitespace removed, NFKC-folded and lowercased.
    pub normalized: String,
    /// Starts with a reply prefix: Re:, RE:, AW:, SV:, 返信:, Ｒｅ：, `Re[2]:`, `Re^2:`, ...
    pub is_reply: bool,
    /// Starts with a forward prefix: Fw:, Fwd:, FW:, WG:, 転送:, ...
    pub is_forward: bool,
}

/// Which kind of prefix a subject starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prefix {
    Reply,
    Forward,
}

/// Reply prefixes written in ASCII letters, lowercase (compared case-insensitively).
/// Re (Latin), AW (German "Antwort"), SV (Scandinavian "svar"), VS (Finnish
/// "vastaus"), Antw (Dutch), Ref (French/Spanish), RES (Portuguese), Odp (Polish).
const ASCII_REPLY: &[&str] = &["re", "aw", "sv", "vs", "antw", "ref", "res", "odp"];

/// Forward prefixes written in ASCII letters, lowercase. WG is German
/// "Weitergeleitet", TR French "transféré", RV Spanish "reenviado".
const ASCII_FORWARD: &[&str] = &["fw", "fwd", "wg", "tr", "rv"];

/// Prefixes in other scripts (after NFKC), longest first so `返信` wins over `返`.
const OTHER_PREFIXES: &[(&str, Prefix)] = &[
    ("返信", Prefix::Reply),
    ("回复", Prefix::Reply),
    ("回覆", Prefix::Reply),
    ("答复", Prefix::Reply),
    ("転送", Prefix::Forward),
    ("转发", Prefix::Forward),
    ("轉寄", Prefix::Forward),
    ("返", Prefix::Reply),
];

/// Longest list tag we accept, in characters between the brackets.
const MAX_TAG_CHARS: usize = 64;

/// Analyses a subject: strips leading reply/forward prefixes and list tags,
/// and says whether the first prefix marked a reply or a forward.
///
/// Words that merely begin with a prefix's letters ("Rebate offer", "Fwdx")
/// are left alone: a prefix must be followed, after optional spaces and an
/// optional counter (`[2]`, `^2`, `(2)`), by a colon.
pub fn analyze(subject: &str) -> SubjectInfo {
    let folded: String = subject.nfkc().collect();
    let mut rest = folded.as_str();
    let mut first: Option<Prefix> = None;
    loop {
        rest = rest.trim_start();
        if let Some((kind, after)) = strip_prefix(rest) {
            first.get_or_insert(kind);
            rest = after;
        } else if let Some(after) = strip_list_tag(rest) {
            rest = after;
        } else {
            break;
        }
    }
    let collapsed = rest.split_whitespace().collect::<Vec<_>>().join(" ");
    SubjectInfo {
        normalized: collapsed.to_lowercase(),
        is_reply: first == Some(Prefix::Reply),
        is_forward: first == Some(Prefix::Forward),
    }
}

/// Strips one reply/forward prefix (`Re:`, `re :`, `Re[2]:`, `Fwd^3:`, `返信:`)
/// from the start of an NFKC-folded, left-trimmed subject.
fn strip_prefix(s: &str) -> Option<(Prefix, &str)> {
    let word_len = s
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(s.len());
    let (kind, after_word) = if word_len > 0 {
        let word = s.get(..word_len)?.to_ascii_lowercase();
        let kind = if ASCII_REPLY.contains(&word.as_str()) {
            Prefix::Reply
        } else if ASCII_FORWARD.contains(&word.as_str()) {
            Prefix::Forward
        } else {
            return None;
        };
        (kind, s.get(word_len..)?)
    } else {
        OTHER_PREFIXES
            .iter()
            .find_map(|(p, kind)| s.strip_prefix(p).map(|after| (*kind, after)))?
    };
    let after_counter = strip_counter(after_word.trim_start());
    let after_colon = after_counter.trim_start().strip_prefix(':')?;
    Some((kind, after_colon))
}

/// Strips a reply counter (`[2]`, `(2)`, `^2`) if there is one.
fn strip_counter(s: &str) -> &str {
    let (close, body) = if let Some(b) = s.strip_prefix('[') {
        (Some(']'), b)
    } else if let Some(b) = s.strip_prefix('(') {
        (Some(')'), b)
    } else if let Some(b) = s.strip_prefix('^') {
        (None, b)
    } else {
        return s;
    };
    let digits = body
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(body.len());
    if digits == 0 {
        return s;
    }
    let Some(after_digits) = body.get(digits..) else {
        return s;
    };
    match close {
        None => after_digits,
        Some(c) => after_digits.strip_prefix(c).unwrap_or(s),
    }
}

/// Strips one mailing-list tag from the start: `[kura:0042]`, `[list-name 123]`,
/// `[0042]`, or a bare ASCII name like `[kura-users]` / `[SPAM]`.
///
/// Bracketed text with spaces in it (`[PATCH v2 1/3]`, `[Fwd: ...]`) and bare
/// non-ASCII words (`[重要]`, "important") are part of the subject and stay.
fn strip_list_tag(s: &str) -> Option<&str> {
    let body = s.strip_prefix('[')?;
    let close = body.find(']')?;
    let inner = body.get(..close)?;
    let after = body.get(close + 1..)?;
    if inner.is_empty() || inner.chars().count() > MAX_TAG_CHARS || inner.contains('[') {
        return None;
    }
    let name = inner.trim_end_matches(|c: char| c.is_ascii_digit());
    let has_number = name.len() < inner.len();
    if has_number {
        // `[name:123]`, `[name 123]`, `[name#123]`, `[123]`, `[name-123]`.
        let name = name.trim_end_matches([':', ' ', '#', '-', '_']);
        let plain = name.chars().all(|c| !c.is_whitespace() && c != ':');
        plain.then_some(after)
    } else {
        let ascii_name = inner
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        let has_letter = inner.chars().any(|c| c.is_ascii_alphabetic());
        (ascii_name && has_letter).then_some(after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        analyze(s).normalized
    }

    #[test]
    fn plain_subject_is_lowercased_and_collapsed() {
        let info = analyze("  Quarterly   Invoice\tNo. 42  ");
        assert_eq!(info.normalized, "quarterly invoice no. 42");
        assert!(!info.is_reply);
        assert!(!info.is_forward);
    }

    #[test]
    fn latin_reply_prefixes() {
        for s in [
            "Re: Invoice",
            "RE: Invoice",
            "re : Invoice",
            "Re:Invoice",
            "Re[2]: Invoice",
            "Re^2: Invoice",
            "Re(2): Invoice",
            "Re [3] : Invoice",
            "AW: Invoice",
            "SV: Invoice",
            "VS: Invoice",
            "Antw: Invoice",
            "Ref: Invoice",
        ] {
            let info = analyze(s);
            assert_eq!(info.normalized, "invoice", "{s}");
            assert!(info.is_reply, "{s}");
            assert!(!info.is_forward, "{s}");
        }
    }

    #[test]
    fn forward_prefixes() {
        for s in [
            "Fw: Invoice",
            "Fwd: Invoice",
            "FW: Invoice",
            "WG: Invoice",
            "TR: Invoice",
            "Fwd[2]: Invoice",
            "転送: Invoice",
            "転送：Invoice",
        ] {
            let info = analyze(s);
            assert_eq!(info.normalized, "invoice", "{s}");
            assert!(info.is_forward, "{s}");
            assert!(!info.is_reply, "{s}");
        }
    }

    #[test]
    fn japanese_and_full_width_prefixes() {
        for s in [
            "返信: お見積りの件",
            "返信：お見積りの件",
            "返: お見積りの件",
            "Ｒｅ：お見積りの件",
            "ＲＥ：　お見積りの件",
            "Re： お見積りの件",
        ] {
            let info = analyze(s);
            assert_eq!(info.normalized, "お見積りの件", "{s}");
            assert!(info.is_reply, "{s}");
        }
        // NFKC folds half-width katakana and full-width letters in the body too.
        assert_eq!(norm("Re: ｵﾐﾂﾓﾘ ＡＢＣ"), "オミツモリ abc");
    }

    #[test]
    fn first_prefix_decides_reply_or_forward() {
        let fwd = analyze("Fwd: Re: Delivery delay");
        assert!(fwd.is_forward && !fwd.is_reply);
        assert_eq!(fwd.normalized, "delivery delay");
        let re = analyze("Re: Fwd: Delivery delay");
        assert!(re.is_reply && !re.is_forward);
        assert_eq!(re.normalized, "delivery delay");
        let mixed = analyze("AW: WG: RE: 返信: Ｆｗ： 見積");
        assert!(mixed.is_reply);
        assert_eq!(mixed.normalized, "見積");
    }

    #[test]
    fn list_tags_are_stripped_anywhere_in_the_prefix_run() {
        assert_eq!(norm("[kura:0042] Order status"), "order status");
        assert_eq!(norm("Re: [kura:0043] Re: Order status"), "order status");
        assert_eq!(norm("[list-name 123] Re: Order status"), "order status");
        assert_eq!(norm("［ｋｕｒａ：００４２］ご注文"), "ご注文");
        assert_eq!(norm("[kura-users] Order status"), "order status");
        let tagged = analyze("[kura:0042] Re: Order status");
        assert!(
            tagged.is_reply,
            "a tag is not a prefix; the reply after it counts"
        );
    }

    #[test]
    fn brackets_that_are_part_of_the_subject_stay() {
        assert_eq!(norm("[重要] 請求書の送付"), "[重要] 請求書の送付");
        assert_eq!(
            norm("[PATCH v2 1/3] fix parser"),
            "[patch v2 1/3] fix parser"
        );
        assert_eq!(norm("Re: 【至急】納期"), "【至急】納期");
        assert_eq!(norm("[unterminated tag"), "[unterminated tag");
    }

    #[test]
    fn words_that_merely_start_with_prefix_letters_stay() {
        for (s, n) in [
            ("Rebate offer", "rebate offer"),
            ("Fwdx: test", "fwdx: test"),
            ("Reply needed", "reply needed"),
            ("Trade show: Tokyo", "trade show: tokyo"),
            ("返品について", "返品について"),
            ("Re-order", "re-order"),
            ("Re 2: nope", "re 2: nope"),
            ("Re[x]: nope", "re[x]: nope"),
        ] {
            let info = analyze(s);
            assert_eq!(info.normalized, n, "{s}");
            assert!(!info.is_reply && !info.is_forward, "{s}");
        }
    }

    #[test]
    fn degenerate_subjects() {
        assert_eq!(
            analyze(""),
            SubjectInfo {
                normalized: String::new(),
                is_reply: false,
                is_forward: false
            }
        );
        let only = analyze("Re:");
        assert!(only.is_reply);
        assert_eq!(only.normalized, "");
        assert_eq!(norm("Re: Re: Re: Re:"), "");
        assert_eq!(norm("[kura:0042]"), "");
        // Colons later in the subject are left alone.
        assert_eq!(norm("Re: Meeting: agenda"), "meeting: agenda");
    }
}
