//! The tantivy tokenizer that makes Japanese and English mail searchable.
//!
//! Registered under [`TOKENIZER_NAME`] (see [`register`]). Text is NFKC-folded
//! (full-width and half-width forms become one), lowercased, and split into:
//! - runs of letters/digits of non-CJK scripts: one token per run (a word);
//!   words longer than [`MAX_WORD_BYTES`] (base64, garbage) are dropped but
//!   still take a position;
//! - runs of CJK characters (kanji, hiragana, katakana, ー, 々, 〆, hangul): one
//!   token per overlapping bigram. A single-character run is one unigram.
//!   A run at the end of a hard-wrapped line goes on with the CJK text that
//!   starts the next line (see [`WRAP_MIN_COLUMNS`]): mail clients wrap
//!   Japanese anywhere, so 請求 / 書 on two lines is the word 請求書.
//!
//! Everything else (spaces, punctuation such as 、。「」, symbols, emoji,
//! `@ . - _`) separates tokens.
//!
//! Positions: a word or a unigram takes one position. In a run of n > 1
//! characters starting at position p, the bigram starting at character i has
//! position p+2i ([`BIGRAM_STEP`]), and the next token after the run comes at
//! p+2n-1, one further than another bigram would. So a query 請求書 is the
//! phrase 請求 求書 two positions apart and matches exactly the texts that
//! contain it; the extra position at a run's end keeps 東京、京都 from
//! matching 東京都; and as the bigrams of one run are an even number of
//! positions apart, a token three positions after a bigram is never of the
//! same run, which lets a phrase require a bigram to end its run (below).
//! A bigram spans three positions (`position_length`), up to where the
//! next token would come if it ended its run: the index starts the next
//! value of a multi-valued field (attachment names, the names in To) one
//! past the end of the last token, so the values 東京 and 京都 are not 東京都.
//!
//! A run's last character has no token of its own (it is the second half of
//! the last bigram): one unigram per run was ~9% of the tokens of Japanese
//! mail, and indexing every token is most of an import's work. So a
//! one-character query matches the terms that start or end with it (see
//! [`QueryTokenKind::CjkSingle`]).
//!
//! Offsets (`offset_from`/`offset_to`) are byte offsets into the original
//! text. Where a stretch had to be normalised (e.g. half-width ｶﾞ, a letter
//! with a combining accent), every character produced from it carries the
//! offsets of the whole stretch: approximate, but always char boundaries of
//! the original and never decreasing.
//!
//! Speed matters: this runs on every byte of every imported message. ASCII
//! runs are lowercased in place without normalisation, common Japanese
//! characters are recognised as NFKC-stable by a range check, and only
//! stretches that the NFKC quick check rejects are normalised, into a buffer
//! that is reused like the token's own text.
//!
//! How the query side uses [`analyze_query`] (`crate::query::exec` builds
//! the queries; the tests here run them on an index):
//! - `Word` and `CjkBigram` are exact terms; several tokens form a phrase
//!   using the tokens' positions (which are the index's positions).
//! - `CjkSingle` (a one-character run `X`) depends on where it stands:
//!   - alone: any term holding `X` (the regex `X.?|.X`): a unigram, a bigram
//!     it starts or a bigram it ends;
//!   - between two tokens: exact (in any matching text `X` is then a run of
//!     its own, indexed as a unigram);
//!   - last, after other tokens: a term starting with `X` (`X` starts its run
//!     in any matching text);
//!   - first, before other tokens: `X` ends its run in any matching text, so
//!     either the run is `X` alone (the unigram, then the next token), or a
//!     bigram ends with `X` (the regex `.X`, then the gap of the run's last
//!     character, then the next token).

use std::iter;

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};
use unicode_normalization::char::{
    canonical_combining_class, decompose_compatible, is_combining_mark,
};
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

/// Name under which the tokenizer is registered in the index.
pub const TOKENIZER_NAME: &str = "kura";

/// Positions from one bigram of a CJK run to the next (a word or a unigram
/// takes one; see the module docs for why two).
pub const BIGRAM_STEP: usize = 2;

/// Words (after folding) longer than this many bytes are not indexed.
pub const MAX_WORD_BYTES: usize = 64;

/// A line at least this many columns wide (a kana or kanji takes two) that
/// ends inside a CJK run whose next line goes straight on with CJK text was
/// hard-wrapped by the sender's mail client: the run goes on across the
/// line break (see `KuraTokenStream::wrapped_run_goes_on`). Clients wrap
/// at 72 to 76 columns; a shorter line is more likely a line of its own
/// (a list, an address block).
pub const WRAP_MIN_COLUMNS: usize = 40;

/// Registers [`KuraTokenizer`] under [`TOKENIZER_NAME`] on the index's
/// tokenizer manager. Call it on every opened or created index before
/// writing or searching.
pub fn register(index: &tantivy::Index) {
    index
        .tokenizers()
        .register(TOKENIZER_NAME, KuraTokenizer::default());
}

/// The index-time tokenizer. Cheap to clone; reuses its buffers.
#[derive(Clone, Default)]
pub struct KuraTokenizer {
    token: Token,
    /// Folded characters of the stretch being normalised.
    pending: String,
}

/// What a query-side token stands for (see [`analyze_query`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryTokenKind {
    /// A word of a non-CJK script: an exact term.
    Word,
    /// A CJK bigram: an exact term.
    CjkBigram,
    /// A CJK run of one character: matched by the terms that hold it, which
    /// ones depending on the tokens around it (see the module docs).
    CjkSingle,
}

/// A token of a query text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryToken {
    /// The folded term text.
    pub text: String,
    /// Position relative to the first token, counted exactly as the index
    /// counts (see the module docs).
    pub position: usize,
    /// How the token is to be matched.
    pub kind: QueryTokenKind,
    /// Byte offsets of the token in the query text (see the module docs).
    pub from: usize,
    pub to: usize,
    /// The token is the first of a CJK run (a unigram always is).
    pub run_start: bool,
}

impl QueryToken {
    /// A bigram or a unigram of a CJK run.
    pub fn is_cjk(&self) -> bool {
        self.kind != QueryTokenKind::Word
    }
}

/// Query-side analysis: the same folding, splitting and positions as the
/// index (without joining hard-wrapped lines: a query has none). A
/// one-character CJK run yields one [`QueryTokenKind::CjkSingle`] token.
pub fn analyze_query(text: &str) -> Vec<QueryToken> {
    let mut token = Token::default();
    let mut pending = String::new();
    let mut stream = KuraTokenStream::new(text, &mut token, &mut pending, true);
    let mut out: Vec<QueryToken> = Vec::new();
    while stream.advance() {
        let (position, kind) = (stream.token.position, stream.kind);
        // Bigrams of one run follow each other BIGRAM_STEP apart; after a
        // run's last bigram the next token comes one further.
        let run_start = match (kind, out.last()) {
            (QueryTokenKind::Word, _) => false,
            (QueryTokenKind::CjkSingle, _) => true,
            (QueryTokenKind::CjkBigram, Some(prev)) => {
                prev.kind != QueryTokenKind::CjkBigram || position != prev.position + BIGRAM_STEP
            }
            (QueryTokenKind::CjkBigram, None) => true,
        };
        out.push(QueryToken {
            text: stream.token.text.clone(),
            position,
            kind,
            from: stream.token.offset_from,
            to: stream.token.offset_to,
            run_start,
        });
    }
    out
}

/// NFKC + lowercase, the folding every token gets. Used for snippets and
/// highlighting so they agree with the index.
pub fn fold(text: &str) -> String {
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    let mut pending = String::new();
    let mut folder = Folder::new(text, &mut pending);
    let mut out = String::with_capacity(text.len());
    while let Some(unit) = folder.next(true) {
        out.push(unit.c);
    }
    out
}

/// The characters indexed as CJK bigrams (checked after folding): 々 〆 〇,
/// hiragana, katakana (incl. ヵ ヶ, ー ヽ ヾ ヿ and the phonetic extensions),
/// CJK ideographs (extension A, unified, compatibility), hangul syllables.
/// Sorted, inclusive.
const CJK_RANGES: &[(u32, u32)] = &[
    (0x3005, 0x3007),
    (0x3041, 0x3096),
    (0x309D, 0x309F),
    (0x30A1, 0x30FA),
    (0x30FC, 0x30FF),
    (0x31F0, 0x31FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xAC00, 0xD7A3),
    (0xF900, 0xFAFF),
];

/// CJK characters outside the Basic Multilingual Plane: kana supplement and
/// extensions, CJK extensions B..H and the compatibility supplement.
const CJK_SUPPLEMENTARY: &[(u32, u32)] = &[(0x1B000, 0x1B16F), (0x20000, 0x323AF)];

/// Characters that are NFKC-stable, starters, never combine with what
/// precedes them and have no case: the bulk of Japanese text (、。々〆〇「」『』,
/// hiragana, katakana with ・ and ー, kanji, hangul), decided without the
/// Unicode tables. Sorted, inclusive, all in the Basic Multilingual Plane.
const FAST_STABLE_RANGES: &[(u32, u32)] = &[
    (0x3001, 0x3002),
    (0x3005, 0x3007),
    (0x300C, 0x300F),
    (0x3041, 0x3096),
    (0x30A1, 0x30FC),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xAC00, 0xD7A3),
];

/// Membership of Basic Multilingual Plane code points in a set of ranges, as
/// two table lookups without branches (the tokenizer asks this for every
/// character): each 256-code-point block names one of a few 256-bit maps;
/// map 0 is empty, map 1 full, the others are the blocks a range only
/// partly covers.
struct BmpSet {
    blocks: [u8; 256],
    maps: [[u64; 4]; 8],
}

impl BmpSet {
    /// Builds the set of `ranges` (inclusive, below 0x10000, at most 6
    /// blocks partly covered: the build fails otherwise).
    const fn new(ranges: &[(u32, u32)]) -> BmpSet {
        let mut set = BmpSet {
            blocks: [0; 256],
            maps: [[0; 4]; 8],
        };
        set.maps[1] = [u64::MAX; 4];
        let mut used = 2;
        let mut block = 0;
        while block < 256 {
            let (lo, hi) = (block as u32 * 256, block as u32 * 256 + 255);
            let mut full = false;
            let mut touched = false;
            let mut i = 0;
            while i < ranges.len() {
                let (a, b) = ranges[i];
                full |= a <= lo && hi <= b;
                touched |= a <= hi && lo <= b;
                i += 1;
            }
            if full {
                set.blocks[block] = 1;
            } else if touched {
                let mut u = lo;
                while u <= hi {
                    if in_ranges(u, ranges) {
                        set.maps[used][(u as usize & 0xFF) >> 6] |= 1 << (u & 63);
                    }
                    u += 1;
                }
                set.blocks[block] = used as u8;
                used += 1;
            }
            block += 1;
        }
        set
    }

    /// Whether `u` (below 0x10000) is in the set.
    fn contains(&self, u: u32) -> bool {
        let map = &self.maps[usize::from(self.blocks[(u as usize >> 8) & 0xFF])];
        (map[(u as usize >> 6) & 3] >> (u & 63)) & 1 != 0
    }
}

/// Whether `u` is in one of `ranges` (inclusive).
const fn in_ranges(u: u32, ranges: &[(u32, u32)]) -> bool {
    let mut i = 0;
    while i < ranges.len() {
        if ranges[i].0 <= u && u <= ranges[i].1 {
            return true;
        }
        i += 1;
    }
    false
}

static CJK_BMP: BmpSet = BmpSet::new(CJK_RANGES);
static FAST_STABLE_BMP: BmpSet = BmpSet::new(FAST_STABLE_RANGES);

/// True for the characters indexed as CJK bigrams (checked after folding):
/// [`CJK_RANGES`] and [`CJK_SUPPLEMENTARY`].
pub(crate) fn is_cjk(c: char) -> bool {
    let u = u32::from(c);
    if u < 0x10000 {
        CJK_BMP.contains(u)
    } else {
        in_ranges(u, CJK_SUPPLEMENTARY)
    }
}

/// True for the characters of [`FAST_STABLE_RANGES`].
fn is_fast_stable(c: char) -> bool {
    let u = u32::from(c);
    u < 0x10000 && FAST_STABLE_BMP.contains(u)
}

/// The NFKC form of a full-width ASCII character (Ａ, ０, （, ：) or of the
/// ideographic space, which are common in Japanese mail: one ASCII character.
fn fullwidth_ascii(c: char) -> Option<char> {
    match u32::from(c) {
        0x3000 => Some(' '),
        u @ 0xFF01..=0xFF5E => char::from_u32(u - 0xFEE0),
        _ => None,
    }
}

/// NFKC properties of one non-ASCII character: whether it is NFKC as it
/// stands (quick check "yes"), and whether it must be normalised together
/// with the character before it (a combining mark, a character that can be
/// the second half of a composition, or one that decomposes into such, like
/// the half-width voiced mark ﾞ).
fn classify(c: char) -> (bool, bool) {
    if is_fast_stable(c) {
        return (true, false);
    }
    if fullwidth_ascii(c).is_some() {
        return (false, false);
    }
    let ccc = canonical_combining_class(c);
    match is_nfkc_quick(iter::once(c)) {
        IsNormalized::Yes => (true, ccc != 0),
        IsNormalized::Maybe => (false, true),
        IsNormalized::No => {
            let mut first = None;
            decompose_compatible(c, |d| {
                if first.is_none() {
                    first = Some(d);
                }
            });
            let attaches = ccc != 0
                || first.is_some_and(|f| {
                    canonical_combining_class(f) != 0
                        || is_nfkc_quick(iter::once(f)) == IsNormalized::Maybe
                });
            (false, attaches)
        }
    }
}

/// The character encoded in three bytes at `at` (U+0800..U+FFFF), if that
/// is what starts there. `bytes` must be valid UTF-8 (a `str`'s bytes).
fn three_byte_char(bytes: &[u8], at: usize) -> Option<char> {
    match bytes.get(at..at + 3)? {
        &[b0 @ 0xE0..=0xEF, b1, b2] => char::from_u32(
            (u32::from(b0 & 0x0F) << 12) | (u32::from(b1 & 0x3F) << 6) | u32::from(b2 & 0x3F),
        ),
        _ => None,
    }
}

/// One folded character and the original byte range it came from.
#[derive(Debug, Clone, Copy)]
struct Unit {
    c: char,
    from: usize,
    to: usize,
    /// The original bytes are `c` itself (nothing was folded), so a token
    /// can copy them.
    verbatim: bool,
}

/// Walks the original text and yields folded characters with their original
/// offsets. Text is cut into groups: a character plus the characters that
/// attach to it (see [`classify`]). A group of one NFKC-stable character is
/// only lowercased; any other group is NFKC-normalised as a whole into
/// `pending`, and all its output carries the group's offsets.
struct Folder<'a> {
    text: &'a str,
    /// Byte offset of the next unread character of `text`.
    pos: usize,
    pending: &'a mut String,
    pending_idx: usize,
    pending_from: usize,
    pending_to: usize,
    /// Quick-check result of the character at this byte offset, computed
    /// while looking ahead, so no character is classified twice.
    cached: Option<(usize, bool)>,
    /// The character at this byte offset, found [`is_fast_stable`] while
    /// looking ahead, so that [`Folder::next_plain`] decodes it only once.
    plain_ahead: Option<(usize, char)>,
}

impl<'a> Folder<'a> {
    fn new(text: &'a str, pending: &'a mut String) -> Self {
        pending.clear();
        Folder {
            text,
            pos: 0,
            pending,
            pending_idx: 0,
            pending_from: 0,
            pending_to: 0,
            cached: None,
            plain_ahead: None,
        }
    }

    fn pending_empty(&self) -> bool {
        self.pending_idx >= self.pending.len()
    }

    fn peek_byte(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn char_at(&self, at: usize) -> Option<char> {
        self.text.get(at..).and_then(|s| s.chars().next())
    }

    /// Whether the text ends at `pos` or has an ASCII separator there that
    /// nothing after it attaches to (the next character is ASCII too).
    fn at_plain_separator(&self) -> bool {
        let bytes = self.text.as_bytes();
        match bytes.get(self.pos) {
            None => true,
            Some(b) => {
                b.is_ascii()
                    && !b.is_ascii_alphanumeric()
                    && bytes.get(self.pos + 1).is_none_or(u8::is_ascii)
            }
        }
    }

    /// Moves past ASCII characters that are neither letters nor digits.
    /// Only meaningful when nothing is pending.
    fn skip_ascii_separators(&mut self) {
        let bytes = self.text.as_bytes();
        while bytes
            .get(self.pos)
            .is_some_and(|b| b.is_ascii() && !b.is_ascii_alphanumeric())
        {
            self.pos += 1;
        }
    }

    /// End of the run of ASCII letters/digits at `pos` that can be taken
    /// verbatim (lowercased). If a combining character follows the run, its
    /// last letter is left out so that it is normalised with it.
    /// Only meaningful when nothing is pending.
    fn ascii_word_end(&mut self) -> usize {
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let mut end = start;
        while bytes.get(end).is_some_and(u8::is_ascii_alphanumeric) {
            end += 1;
        }
        if end > start
            && bytes.get(end).is_some_and(|b| *b >= 0x80)
            && let Some(d) = self.char_at(end)
        {
            let (yes, attaches) = classify(d);
            if attaches {
                end -= 1;
            } else {
                self.cached = Some((end, yes));
            }
        }
        end
    }

    /// The next folded character: [`Folder::next_plain`] when it applies,
    /// else [`Folder::next_unit`]. `fast` off takes the general path always
    /// (tests compare the two).
    #[inline(always)]
    fn next(&mut self, fast: bool) -> Option<Unit> {
        if fast && let Some(u) = self.next_plain() {
            return Some(u);
        }
        self.next_unit()
    }

    /// The fast path of the bulk of Japanese text: when nothing is pending
    /// and the character at `pos` is a three-byte character that
    /// [`is_fast_stable`] accepts (kana, kanji, 、。「」) and the character
    /// after it does not attach to it, that character as it stands, without
    /// [`Folder::next_unit`]'s general grouping. `None` (and nothing read)
    /// otherwise.
    #[inline(always)]
    fn next_plain(&mut self) -> Option<Unit> {
        if !self.pending_empty() {
            return None;
        }
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let c = match self.plain_ahead {
            Some((at, c)) if at == start => c,
            _ => three_byte_char(bytes, start).filter(|c| is_fast_stable(*c))?,
        };
        let end = start + 3;
        if let Some(&b) = bytes.get(end)
            && b >= 0x80
        {
            match three_byte_char(bytes, end).filter(|d| is_fast_stable(*d)) {
                Some(d) => self.plain_ahead = Some((end, d)),
                None => {
                    let d = self.char_at(end)?;
                    let (yes, attaches) = classify(d);
                    if attaches {
                        return None;
                    }
                    self.cached = Some((end, yes));
                }
            }
        }
        self.pos = end;
        Some(Unit {
            c,
            from: start,
            to: end,
            verbatim: true,
        })
    }

    /// The next folded character, or `None` at the end of the text.
    #[inline(never)]
    fn next_unit(&mut self) -> Option<Unit> {
        loop {
            if let Some(c) = self
                .pending
                .get(self.pending_idx..)
                .and_then(|s| s.chars().next())
            {
                self.pending_idx += c.len_utf8();
                return Some(Unit {
                    c,
                    from: self.pending_from,
                    to: self.pending_to,
                    verbatim: false,
                });
            }
            let start = self.pos;
            let c = self.char_at(start)?;
            let mut end = start + c.len_utf8();
            let head_yes = if c.is_ascii() {
                true
            } else {
                match self.cached {
                    Some((at, yes)) if at == start => yes,
                    _ => classify(c).0,
                }
            };
            let mut grouped = false;
            while let Some(d) = self.char_at(end) {
                if d.is_ascii() {
                    break;
                }
                let (yes, attaches) = classify(d);
                if !attaches {
                    self.cached = Some((end, yes));
                    break;
                }
                grouped = true;
                end += d.len_utf8();
            }
            self.pos = end;
            if !grouped && head_yes {
                if c.is_ascii() {
                    return Some(Unit {
                        c: c.to_ascii_lowercase(),
                        from: start,
                        to: end,
                        verbatim: false,
                    });
                }
                if let Some(a) = fullwidth_ascii(c) {
                    return Some(Unit {
                        c: a.to_ascii_lowercase(),
                        from: start,
                        to: end,
                        verbatim: false,
                    });
                }
                if is_fast_stable(c) {
                    return Some(Unit {
                        c,
                        from: start,
                        to: end,
                        verbatim: true,
                    });
                }
                let mut lower = c.to_lowercase();
                let Some(first) = lower.next() else {
                    continue;
                };
                self.pending.clear();
                self.pending.extend(lower);
                self.pending_idx = 0;
                self.pending_from = start;
                self.pending_to = end;
                return Some(Unit {
                    c: first,
                    from: start,
                    to: end,
                    verbatim: false,
                });
            }
            self.pending.clear();
            self.pending_idx = 0;
            self.pending_from = start;
            self.pending_to = end;
            if let Some(group) = self.text.get(start..end) {
                for n in group.nfkc() {
                    if n.is_ascii() {
                        self.pending.push(n.to_ascii_lowercase());
                    } else {
                        self.pending.extend(n.to_lowercase());
                    }
                }
            }
        }
    }
}

/// The last character seen of the current CJK run.
#[derive(Debug, Clone, Copy)]
struct RunChar {
    c: char,
    from: usize,
    to: usize,
    position: usize,
    /// The run has only this character so far.
    solo: bool,
    /// See [`Unit::verbatim`].
    verbatim: bool,
}

/// Token stream of [`KuraTokenizer`] (and of [`analyze_query`]).
pub struct KuraTokenStream<'a> {
    folder: Folder<'a>,
    token: &'a mut Token,
    /// A folded character that ended a word or run and is yet to be handled.
    held: Option<Unit>,
    /// The open CJK run, if any.
    prev: Option<RunChar>,
    /// Position of the next word or run.
    next_pos: usize,
    /// Query mode: hard-wrapped lines are not joined (a query has none).
    query: bool,
    kind: QueryTokenKind,
    /// Take the fast paths (always, except in tests that compare them with
    /// the general path).
    fast: bool,
}

impl Tokenizer for KuraTokenizer {
    type TokenStream<'a> = KuraTokenStream<'a>;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> KuraTokenStream<'a> {
        self.token.reset();
        KuraTokenStream::new(text, &mut self.token, &mut self.pending, false)
    }
}

impl<'a> KuraTokenStream<'a> {
    fn new(text: &'a str, token: &'a mut Token, pending: &'a mut String, query: bool) -> Self {
        KuraTokenStream {
            folder: Folder::new(text, pending),
            token,
            held: None,
            prev: None,
            next_pos: 0,
            query,
            kind: QueryTokenKind::Word,
            fast: true,
        }
    }

    fn set_token(&mut self, from: usize, to: usize, position: usize, kind: QueryTokenKind) {
        self.token.offset_from = from;
        self.token.offset_to = to;
        self.token.position = position;
        self.token.position_length = 1;
        self.kind = kind;
    }

    /// Closes a CJK run whose last character is `last`: a run of one
    /// character is emitted as a unigram; a longer run has no more tokens
    /// (its last bigram ended it), but its last character keeps its
    /// position. Returns whether a token was emitted.
    fn finish_run(&mut self, last: RunChar) -> bool {
        self.next_pos = last.position + 1;
        if !last.solo {
            return false;
        }
        self.token.text.clear();
        self.token.text.push(last.c);
        self.set_token(last.from, last.to, last.position, QueryTokenKind::CjkSingle);
        true
    }

    /// Where an open CJK run goes on when the folder stands at the end of a
    /// hard-wrapped line: the offset of the next line's first character.
    /// That is: an optional space (a `format=flowed` soft break), a line
    /// break, the same quote prefix (`> `) as the line before, then a CJK
    /// character; and the line before is at least [`WRAP_MIN_COLUMNS`] wide.
    /// So 請求 at the end of a wrapped line and 書 at the start of the next
    /// are indexed as 請求書.
    fn wrapped_run_goes_on(&self) -> Option<usize> {
        let text = self.folder.text;
        let bytes = text.as_bytes();
        let line_end = self.folder.pos;
        let mut at = line_end;
        for expected in [b' ', b'\r'] {
            if bytes.get(at) == Some(&expected) {
                at += 1;
            }
        }
        if bytes.get(at) != Some(&b'\n') {
            return None;
        }
        at += 1;
        let line_start = memchr::memrchr(b'\n', bytes.get(..line_end)?).map_or(0, |n| n + 1);
        let line = bytes.get(line_start..line_end)?;
        let prefix_len = line
            .iter()
            .take_while(|b| matches!(b, b'>' | b' ' | b'\t'))
            .count();
        if !bytes.get(at..)?.starts_with(line.get(..prefix_len)?) {
            return None;
        }
        at += prefix_len;
        // Half-width katakana (ｾｲｷｭｳ) is CJK once folded.
        let half_width_kana = |c: char| ('\u{FF66}'..='\u{FF9F}').contains(&c);
        if !three_byte_char(bytes, at).is_some_and(|c| is_cjk(c) || half_width_kana(c)) {
            return None;
        }
        let half_width = |c: char| c < '\u{1100}' || ('\u{FF61}'..='\u{FFDC}').contains(&c);
        let columns: usize = text
            .get(line_start + prefix_len..line_end)?
            .chars()
            .map(|c| if half_width(c) { 1 } else { 2 })
            .sum();
        (columns >= WRAP_MIN_COLUMNS).then_some(at)
    }

    /// Reads a word that starts with `first` (already read) or at the
    /// folder's position. Returns whether a token was emitted.
    fn read_word(&mut self, first: Option<Unit>) -> bool {
        self.token.text.clear();
        let mut too_long = false;
        let mut from = usize::MAX;
        let mut to = 0;
        if let Some(u) = first {
            from = u.from;
            to = u.to;
            self.token.text.push(u.c);
        }
        loop {
            if self.folder.pending_empty() {
                let start = self.folder.pos;
                let end = self.folder.ascii_word_end();
                if end > start {
                    if from == usize::MAX {
                        from = start;
                    }
                    to = end;
                    self.folder.pos = end;
                    if !too_long {
                        if self.token.text.len() + (end - start) > MAX_WORD_BYTES {
                            too_long = true;
                        } else if let Some(chunk) = self.folder.text.get(start..end) {
                            let old = self.token.text.len();
                            self.token.text.push_str(chunk);
                            if let Some(added) = self.token.text.get_mut(old..) {
                                added.make_ascii_lowercase();
                            }
                        }
                    }
                    continue;
                }
                if self.fast && self.folder.at_plain_separator() {
                    // Ends at an ASCII separator, left for the caller.
                    break;
                }
            }
            let Some(u) = self.folder.next(self.fast) else {
                break;
            };
            let continues = !is_cjk(u.c)
                && (u.c.is_alphanumeric()
                    || (from != usize::MAX
                        && !u.c.is_ascii()
                        && is_combining_mark(u.c)
                        && canonical_combining_class(u.c) != 0));
            if !continues {
                self.held = Some(u);
                break;
            }
            if from == usize::MAX {
                from = u.from;
            }
            to = u.to;
            if !too_long {
                if self.token.text.len() + u.c.len_utf8() > MAX_WORD_BYTES {
                    too_long = true;
                } else {
                    self.token.text.push(u.c);
                }
            }
        }
        if from == usize::MAX {
            return false;
        }
        let position = self.next_pos;
        self.next_pos += 1;
        if too_long {
            return false;
        }
        self.set_token(from, to, position, QueryTokenKind::Word);
        true
    }
}

impl TokenStream for KuraTokenStream<'_> {
    fn advance(&mut self) -> bool {
        loop {
            // (`is_some` first: a `take` of `None` on every character cost a
            // store-forwarding stall.)
            let unit = match self.held {
                Some(u) => {
                    self.held = None;
                    Some(u)
                }
                None => {
                    if self.folder.pending_empty()
                        && let Some(b) = self.folder.peek_byte()
                        && b.is_ascii()
                    {
                        if matches!(b, b'\n' | b'\r' | b' ')
                            && self.prev.is_some()
                            && !self.query
                            && let Some(next) = self.wrapped_run_goes_on()
                        {
                            self.folder.pos = next;
                            continue;
                        }
                        if !b.is_ascii_alphanumeric() {
                            // ASCII separators: skip them wholesale.
                            self.folder.skip_ascii_separators();
                        }
                        if let Some(last) = self.prev.take() {
                            if self.finish_run(last) {
                                return true;
                            }
                            continue;
                        }
                        if b.is_ascii_alphanumeric() && self.read_word(None) {
                            return true;
                        }
                        continue;
                    }
                    self.folder.next(self.fast)
                }
            };
            let Some(u) = unit else {
                return match self.prev.take() {
                    Some(last) => self.finish_run(last),
                    None => false,
                };
            };
            if is_cjk(u.c) {
                match self.prev.take() {
                    Some(p) => {
                        self.token.text.clear();
                        // Two characters as they stand: their original bytes.
                        match self.folder.text.get(p.from..u.to) {
                            Some(both) if p.verbatim && u.verbatim && p.to == u.from => {
                                if both.len() == 6 {
                                    // Two kana/kanji: a copy of known length is
                                    // inlined, where any other is a call.
                                    self.token.text.push_str(&both[..6]);
                                } else {
                                    self.token.text.push_str(both);
                                }
                            }
                            _ => {
                                self.token.text.push(p.c);
                                self.token.text.push(u.c);
                            }
                        }
                        self.set_token(p.from, u.to, p.position, QueryTokenKind::CjkBigram);
                        // Up to the position after the run, were this its last
                        // bigram: the index starts another value of a field
                        // (attachment names, addresses) one past the end of
                        // the last token, so 東京 | 京都 is not 東京都.
                        self.token.position_length = BIGRAM_STEP + 1;
                        self.prev = Some(RunChar {
                            c: u.c,
                            from: u.from,
                            to: u.to,
                            position: p.position + BIGRAM_STEP,
                            solo: false,
                            verbatim: u.verbatim,
                        });
                        return true;
                    }
                    None => {
                        self.prev = Some(RunChar {
                            c: u.c,
                            from: u.from,
                            to: u.to,
                            position: self.next_pos,
                            solo: true,
                            verbatim: u.verbatim,
                        });
                        continue;
                    }
                }
            }
            if let Some(last) = self.prev.take() {
                self.held = Some(u);
                if self.finish_run(last) {
                    return true;
                }
                continue;
            }
            // (Japanese punctuation is fast-stable: spare it the Unicode tables.)
            if !is_fast_stable(u.c) && u.c.is_alphanumeric() && self.read_word(Some(u)) {
                return true;
            }
        }
    }
    fn token(&self) -> &Token {
        self.token
    }
    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;
    use tantivy::collector::DocSetCollector;
    use tantivy::query::{PhrasePrefixQuery, Query};
    use tantivy::schema::{
        Field, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions, Value,
    };
    use tantivy::{Index, IndexWriter, TantivyDocument, Term, doc};

    use super::*;

    /// (text, position, from, to) of every index token.
    fn tokens(text: &str) -> Vec<(String, usize, usize, usize)> {
        let mut tokenizer = KuraTokenizer::default();
        let mut stream = tokenizer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            let t = stream.token();
            out.push((t.text.clone(), t.position, t.offset_from, t.offset_to));
        }
        out
    }

    /// [`tokens`] with the fast paths off: the general path alone.
    fn tokens_general(text: &str, query: bool) -> Vec<(String, usize, usize, usize)> {
        let mut token = Token::default();
        let mut pending = String::new();
        let mut stream = KuraTokenStream::new(text, &mut token, &mut pending, query);
        stream.fast = false;
        let mut out = Vec::new();
        while stream.advance() {
            let t = stream.token();
            out.push((t.text.clone(), t.position, t.offset_from, t.offset_to));
        }
        out
    }

    /// The fast paths give exactly what the general path gives, in index and
    /// in query mode.
    fn check_fast_paths(text: &str) {
        assert_eq!(tokens(text), tokens_general(text, false), "{text:?}");
        let query: Vec<_> = analyze_query(text).into_iter().map(|q| q.text).collect();
        let general: Vec<_> = tokens_general(text, true)
            .into_iter()
            .map(|t| t.0)
            .collect();
        assert_eq!(query, general, "{text:?}");
    }

    #[test]
    fn fast_paths_agree_on_edge_cases() {
        for text in [
            "① ᅡ",           // a separator a combining character attaches to
            "𐩠 \u{cd5}",    // after a word of another script
            "e\u{301}t",    // an ASCII letter with a combining accent
            "か\u{3099}き", // kana with a combining voiced mark
            "ｶﾞ請求書",      // half-width kana with a voiced mark
            "請求書。PDF、添付「見積書」・ご確認ください",
            "abc, def\n請求",
        ] {
            check_fast_paths(text);
            check_invariants(text);
        }
    }

    fn texts(text: &str) -> Vec<String> {
        tokens(text).into_iter().map(|t| t.0).collect()
    }

    fn tok(text: &str, position: usize, from: usize, to: usize) -> (String, usize, usize, usize) {
        (text.to_string(), position, from, to)
    }

    /// Checks the offset/position invariants and that every token is found in
    /// the folding of the original text it points at.
    fn check_invariants(text: &str) {
        let toks = tokens(text);
        let mut last_from = 0;
        let mut last_pos = 0;
        for (t, pos, from, to) in &toks {
            assert!(from <= to, "{t:?} {from}..{to} in {text:?}");
            assert!(text.is_char_boundary(*from) && text.is_char_boundary(*to));
            assert!(*from >= last_from, "offsets decrease at {t:?} in {text:?}");
            assert!(*pos >= last_pos, "positions decrease at {t:?} in {text:?}");
            assert!(!t.is_empty() && t.len() <= MAX_WORD_BYTES);
            let mut folded = fold(&text[*from..*to]);
            if text[*from..*to].contains('\n') {
                // A bigram across a hard-wrapped line break.
                folded.retain(|c| !matches!(c, '\n' | '\r' | '>' | ' ' | '\t'));
            }
            assert!(
                folded.contains(t.as_str()),
                "{t:?} not in fold of {:?}",
                &text[*from..*to]
            );
            last_from = *from;
            last_pos = *pos;
        }
        // Query tokens are a subset of the index tokens, at the same positions
        // (unless the index joined a hard-wrapped line, which a query never does).
        if toks.iter().any(|t| text[t.2..t.3].contains('\n')) {
            return;
        }
        let index: HashSet<(String, usize)> = toks.into_iter().map(|t| (t.0, t.1)).collect();
        for q in analyze_query(text) {
            assert!(
                index.contains(&(q.text.clone(), q.position)),
                "{q:?} not indexed for {text:?}"
            );
        }
    }

    // ---- token level ----

    #[test]
    fn cjk_run_gives_overlapping_bigrams() {
        assert_eq!(
            tokens("今月の請求書"),
            vec![
                tok("今月", 0, 0, 6),
                tok("月の", 2, 3, 9),
                tok("の請", 4, 6, 12),
                tok("請求", 6, 9, 15),
                tok("求書", 8, 12, 18),
            ]
        );
        // A run of one character is a unigram.
        assert_eq!(tokens("請"), vec![tok("請", 0, 0, 3)]);
        assert_eq!(
            tokens("御社 様"),
            vec![tok("御社", 0, 0, 6), tok("様", 3, 7, 10)]
        );
    }

    #[test]
    fn words_and_runs_share_positions_in_text_order() {
        assert_eq!(
            tokens("ABC株式会社 Invoice"),
            vec![
                tok("abc", 0, 0, 3),
                tok("株式", 1, 3, 9),
                tok("式会", 3, 6, 12),
                tok("会社", 5, 9, 15),
                tok("invoice", 8, 16, 23),
            ]
        );
        assert_eq!(texts("2024年3月"), ["2024", "年", "3", "月"]);
        assert_eq!(
            tokens("請求書PDF送付")
                .into_iter()
                .map(|t| (t.0, t.1))
                .collect::<Vec<_>>(),
            [
                ("請求".to_string(), 0),
                ("求書".to_string(), 2),
                ("pdf".to_string(), 5),
                ("送付".to_string(), 6),
            ]
        );
    }

    #[test]
    fn separators_split_tokens() {
        assert_eq!(
            texts("tanaka.taro@example.co.jp snake_case re-send"),
            [
                "tanaka", "taro", "example", "co", "jp", "snake", "case", "re", "send"
            ]
        );
        assert_eq!(texts("「請求」、見積。"), ["請求", "見積"]);
        assert_eq!(
            texts("お世話に🙇なります"),
            ["お世", "世話", "話に", "なり", "りま", "ます"]
        );
        assert!(tokens("").is_empty());
        assert!(tokens("、。「」!?@.-_ \t\n　・…★").is_empty());
    }

    #[test]
    fn folding_width_case_and_compatibility_forms() {
        assert_eq!(texts("ＩＮＶＯＩＣＥ Invoice iNvOiCe"), ["invoice"; 3]);
        assert_eq!(texts("ｾｲｷｭｳ"), texts("セイキュウ"));
        assert_eq!(texts("ｶﾞｽ代"), ["ガス", "ス代"]);
        assert_eq!(texts("ﾊﾟｿｺﾝ"), texts("パソコン"));
        assert_eq!(texts("２０２４年"), ["2024", "年"]);
        assert_eq!(texts("①"), ["1"]);
        assert_eq!(texts("㈱"), ["株"]);
        assert_eq!(texts("ÉCOLE Straße"), ["école", "straße"]);
        // A diacritic that composes with nothing stays in its word; a keycap
        // or variation selector does not.
        assert_eq!(texts("q\u{301}x 1\u{fe0f}\u{20e3}"), ["q\u{301}x", "1"]);
        assert_eq!(fold("ＡＢＣ ｶﾞｽ Ünï"), "abc ガス ünï");
        assert_eq!(fold("か\u{3099}"), "が");
        assert_eq!(fold("plain ascii TEXT"), "plain ascii text");
    }

    #[test]
    fn offsets_point_into_the_original_after_normalisation() {
        // ｶﾞ (6 bytes) folds to ガ; ス is 3 bytes.
        assert_eq!(tokens("ｶﾞｽ"), vec![tok("ガス", 0, 0, 9)]);
        // e + combining acute is one stretch; the ASCII letters before it are verbatim.
        assert_eq!(
            tokens("cafe\u{301} ok"),
            vec![tok("café", 0, 0, 6), tok("ok", 1, 7, 9)]
        );
        assert_eq!(tokens("か\u{3099}ん"), vec![tok("がん", 0, 0, 9)]);
        for text in [
            "ｾｲｷｭｳｼｮ（ﾊﾝｶｸ）のご確認",
            "Ａ社　御中　ｶﾞｲﾄﾞ",
            "e\u{301}\u{302}\u{303}x a\u{323}\u{302}",
            "\u{301}\u{301}abc\u{301}",
            "ﾞﾞｶﾞﾞ",
            "㍻３１年 ㌔ ﬀ",
            "İstanbul ΣΊΣΥΦΟΣ",
            "\u{1100}\u{1161}\u{11A8}한국어",
        ] {
            check_invariants(text);
        }
    }

    #[test]
    fn overlong_words_are_dropped_but_take_a_position() {
        let kept = "k".repeat(MAX_WORD_BYTES);
        let dropped = "d".repeat(MAX_WORD_BYTES + 1);
        let text = format!("{kept} {dropped} next");
        let toks = tokens(&text);
        assert_eq!(toks.len(), 2);
        assert_eq!((toks[0].0.as_str(), toks[0].1), (kept.as_str(), 0));
        assert_eq!((toks[1].0.as_str(), toks[1].1), ("next", 2));
        // Same for a non-ASCII word.
        let text = format!("{} 次", "é".repeat(40));
        assert_eq!(
            tokens(&text)
                .into_iter()
                .map(|t| (t.0, t.1))
                .collect::<Vec<_>>(),
            [("次".to_string(), 1)]
        );
    }

    #[test]
    fn huge_inputs() {
        let kanji: String = (0..34_000u32)
            .map(|i| char::from_u32(0x4E00 + i % 20_000).unwrap_or('字'))
            .collect();
        assert!(kanji.len() > 100_000);
        let toks = tokens(&kanji);
        assert_eq!(toks.len(), 33_999);
        assert_eq!(toks.last().map(|t| t.1), Some(2 * 33_998));
        // Long stretches that all need normalising as one.
        check_invariants(&"\u{301}".repeat(300_000));
        check_invariants(&format!("a{}", "\u{301}\u{316}".repeat(100_000)));
        check_invariants(&"ｶﾞ".repeat(100_000));
        let word = "QUJD".repeat(256 * 1024);
        assert_eq!(
            tokens(&format!("{word} 件名"))
                .into_iter()
                .map(|t| (t.0, t.1))
                .collect::<Vec<_>>(),
            [("件名".to_string(), 1)]
        );
    }

    #[test]
    fn query_analysis_kinds_and_positions() {
        fn summary(text: &str) -> Vec<(String, usize, QueryTokenKind, &str, bool)> {
            analyze_query(text)
                .into_iter()
                .map(|t| {
                    let original = &text[t.from..t.to];
                    (t.text, t.position, t.kind, original, t.run_start)
                })
                .collect()
        }
        use QueryTokenKind::{CjkBigram, CjkSingle, Word};
        assert_eq!(
            summary("請求書"),
            [
                ("請求".into(), 0, CjkBigram, "請求", true),
                ("求書".into(), 2, CjkBigram, "求書", false),
            ]
        );
        assert_eq!(summary("請"), [("請".into(), 0, CjkSingle, "請", true)]);
        assert_eq!(
            summary("ＡＢＣ株式会社 Invoice"),
            [
                ("abc".into(), 0, Word, "ＡＢＣ", false),
                ("株式".into(), 1, CjkBigram, "株式", true),
                ("式会".into(), 3, CjkBigram, "式会", false),
                ("会社".into(), 5, CjkBigram, "会社", false),
                ("invoice".into(), 8, Word, "Invoice", false),
            ]
        );
        assert_eq!(
            summary("見積 請求、書"),
            [
                ("見積".into(), 0, CjkBigram, "見積", true),
                ("請求".into(), 3, CjkBigram, "請求", true),
                ("書".into(), 6, CjkSingle, "書", true),
            ]
        );
        assert!(analyze_query("、。!?").is_empty());
    }

    #[test]
    fn fullwidth_ascii_matches_nfkc() {
        for u in iter::once(0x3000).chain(0xFF01..=0xFF5E) {
            let c = char::from_u32(u).unwrap();
            let expected: String = iter::once(c).nfkc().collect();
            assert_eq!(
                fullwidth_ascii(c).map(String::from),
                Some(expected),
                "{c:?}"
            );
        }
        assert_eq!(fullwidth_ascii('ｶ'), None);
        assert_eq!(fold("Ｅ\u{301}（ＴＥＬ）"), "é(tel)");
    }

    #[test]
    fn range_tables_agree_with_their_ranges() {
        for u in 0..=0x10FFFF {
            let Some(c) = char::from_u32(u) else { continue };
            let cjk = in_ranges(u, CJK_RANGES) || in_ranges(u, CJK_SUPPLEMENTARY);
            assert_eq!(is_cjk(c), cjk, "{u:#x}");
            assert_eq!(
                is_fast_stable(c),
                in_ranges(u, FAST_STABLE_RANGES),
                "{u:#x}"
            );
        }
        assert!(is_cjk('請') && is_cjk('ぁ') && is_cjk('ヿ') && is_cjk('\u{20B9F}'));
        assert!(!is_cjk('・') && !is_cjk('、') && !is_cjk('a') && !is_cjk('\u{4DC0}'));
        assert!(is_fast_stable('・') && is_fast_stable('ー') && is_fast_stable('』'));
        assert!(!is_fast_stable('ヽ') && !is_fast_stable('\u{F900}') && !is_fast_stable('ｶ'));
    }

    #[test]
    fn fast_stable_ranges_really_are_stable() {
        for u in (0x3000..0xA000u32).chain(0xAC00..0xD7A4) {
            let Some(c) = char::from_u32(u) else { continue };
            if is_fast_stable(c) {
                assert_eq!(is_nfkc_quick(iter::once(c)), IsNormalized::Yes, "{c:?}");
                assert_eq!(canonical_combining_class(c), 0, "{c:?}");
                assert!(c.to_lowercase().eq(iter::once(c)), "{c:?}");
            }
        }
    }

    // ---- against a real index ----

    struct TestIndex {
        index: Index,
        body: Field,
    }

    impl TestIndex {
        fn new(docs: &[&str]) -> TestIndex {
            let mut builder = Schema::builder();
            let indexing = TextFieldIndexing::default()
                .set_tokenizer(TOKENIZER_NAME)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions);
            let options = TextOptions::default().set_indexing_options(indexing) | STORED;
            let body = builder.add_text_field("body", options);
            let index = Index::create_in_ram(builder.build());
            register(&index);
            let mut writer: IndexWriter = index.writer_with_num_threads(1, 20_000_000).unwrap();
            for d in docs {
                writer.add_document(doc!(body => *d)).unwrap();
            }
            writer.commit().unwrap();
            TestIndex { index, body }
        }

        fn search(&self, query: &dyn Query) -> Vec<String> {
            let searcher = self.index.reader().unwrap().searcher();
            let hits = searcher.search(query, &DocSetCollector).unwrap();
            let mut out: Vec<String> = hits
                .into_iter()
                .map(|addr| {
                    let d: TantivyDocument = searcher.doc(addr).unwrap();
                    d.get_first(self.body)
                        .and_then(|v| v.as_str())
                        .unwrap_or_default()
                        .to_string()
                })
                .collect();
            out.sort();
            out
        }

        /// The query search builds for `text` in this field.
        fn query(&self, text: &str) -> Box<dyn Query> {
            crate::query::exec::text_query(
                self.body,
                text,
                false,
                &crate::query::exec::Regexes::default(),
            )
            .unwrap()
            .unwrap_or_else(|| panic!("no tokens in {text:?}"))
        }

        fn find(&self, text: &str) -> Vec<String> {
            self.search(&*self.query(text))
        }
    }

    fn strs(v: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    }

    /// A line of `n` kanji/kana (2n columns) ending in `end`.
    fn wide_line(n: usize, end: &str) -> String {
        let mut line = "お世話になっております。".repeat(n / 12 + 1);
        line.truncate(line.char_indices().nth(n - end.chars().count()).unwrap().0);
        line + end
    }

    #[test]
    fn hard_wrapped_cjk_runs_go_on_across_the_line_break() {
        let joined = |text: &str| texts(text).contains(&"求書".to_string());
        let long = wide_line(30, "請求");
        for text in [
            format!("{long}\n書を送ります"),
            format!("{long}\r\n書を送ります"),
            format!("{long} \r\n書を送ります"),
            format!("> {long}\n> 書を送ります"),
            format!(">> {long}\n>> 書を送ります"),
        ] {
            assert!(joined(&text), "{text:?}: {:?}", texts(&text));
            check_invariants(&text);
        }
        // Half-width katakana (as Shift_JIS mail has it) is 1 column wide,
        // and goes on across the break as its full-width form does.
        let kana = |text: &str| texts(text).contains(&"ュウ".to_string());
        let half = format!("{}ｾｲｷｭ", "ｱ".repeat(56));
        assert!(
            kana(&format!("{half}\nｳｼｮ")),
            "{:?}",
            texts(&format!("{half}\nｳｼｮ"))
        );
        assert!(
            !kana(&format!("{}ｾｲｷｭ\nｳｼｮ", "ｱ".repeat(20))),
            "24 columns: a line of its own"
        );
        for text in [
            // A short line is a line of its own (a list, a heading).
            "請求\n書類".to_string(),
            format!("{}\n書を送ります", wide_line(19, "請求")),
            // Not a wrap: a blank line, another quote depth, indentation,
            // two spaces, or text that does not go straight on.
            format!("{long}\n\n書を送ります"),
            format!("> {long}\n>> 書を送ります"),
            format!("{long}\n 書を送ります"),
            format!("{long}  \n書を送ります"),
            format!("{long}\n「書」"),
        ] {
            assert!(!joined(&text), "{text:?}: {:?}", texts(&text));
        }
        // Positions go on as within a line; the bigram's offsets span the break.
        let text = format!("{long}\n書 ok");
        let toks = tokens(&text);
        let [.., before, bigram, next] = &toks[..] else {
            panic!("{toks:?}")
        };
        let (p, from) = (before.1, text.find("請求").unwrap());
        assert_eq!(before, &tok("請求", p, from, from + 6));
        assert_eq!(bigram, &tok("求書", p + 2, from + 3, text.len() - 3));
        assert_eq!(next, &tok("ok", p + 5, text.len() - 2, text.len()));
        // Queries never join (they have no wrapped lines).
        let q: Vec<String> = analyze_query(&format!("{long}\n書"))
            .into_iter()
            .map(|t| t.text)
            .collect();
        assert!(!q.contains(&"求書".to_string()), "{q:?}");
        // And so the index finds the word.
        let wrapped = format!("{long}\n書をお送りします");
        let ix = TestIndex::new(&[&wrapped, "請求\n書類"]);
        assert_eq!(ix.find("請求書"), strs(&[&wrapped]));
    }

    #[test]
    fn index_cjk_phrases_and_single_characters() {
        let ix = TestIndex::new(&[
            "今月の請求書を送ります",
            "要求書",
            "請求の書類",
            "お見積もりの件",
            "申請",
            "ご確認ください",
        ]);
        assert_eq!(ix.find("請求書"), strs(&["今月の請求書を送ります"]));
        assert_eq!(ix.find("見積もり"), strs(&["お見積もりの件"]));
        assert_eq!(
            ix.find("請"),
            strs(&["今月の請求書を送ります", "請求の書類", "申請"])
        );
        assert_eq!(
            ix.find("書"),
            strs(&["今月の請求書を送ります", "要求書", "請求の書類"])
        );
        assert_eq!(ix.find("確認"), strs(&["ご確認ください"]));
        assert!(ix.find("認証").is_empty());
    }

    #[test]
    fn one_character_tokens_at_either_end_of_a_phrase() {
        let ix = TestIndex::new(&[
            "御社 B",
            "社 B",
            "社様 B",
            "御社、様 B",
            "A 社様",
            "A 社",
            "A 御社",
            "A 社 B",
            "A 社様 B",
            "東京、京都",
            "東京都",
        ]);
        assert_eq!(ix.find("社 B"), strs(&["A 社 B", "御社 B", "社 B"]));
        assert_eq!(
            ix.find("A 社"),
            strs(&["A 社", "A 社 B", "A 社様", "A 社様 B"])
        );
        assert_eq!(ix.find("A 社 B"), strs(&["A 社 B"]));
        // Between two CJK runs, a separator may also be left out.
        assert_eq!(
            ix.find("社、様 B"),
            strs(&["A 社様 B", "御社、様 B", "社様 B"])
        );
        assert_eq!(
            ix.find("社 様"),
            strs(&["A 社様", "A 社様 B", "御社、様 B", "社様 B"])
        );
        assert_eq!(ix.find("東京都"), strs(&["東京都"]));
        assert_eq!(ix.find("東京 京都"), strs(&["東京、京都"]));
        assert_eq!(ix.find("京"), strs(&["東京、京都", "東京都"]));
    }

    /// The words and CJK runs of a text, separators dropped (`true`: CJK).
    fn segments(text: &str) -> Vec<(bool, String)> {
        let mut out: Vec<(bool, String)> = Vec::new();
        let mut open = false;
        for c in fold(text).chars() {
            let kind = if is_cjk(c) {
                true
            } else if c.is_alphanumeric() {
                false
            } else {
                open = false;
                continue;
            };
            match out.last_mut() {
                Some((k, s)) if open && *k == kind => s.push(c),
                _ => out.push((kind, c.to_string())),
            }
            open = true;
        }
        out
    }

    /// Whether `doc` contains `query`, word by word and run by run, where
    /// each of the first [`MAX_JOINED_SEPARATORS`] separators between two
    /// CJK runs of the query may also be left out.
    fn contains(doc: &str, query: &str) -> bool {
        let q = segments(query);
        let joints: Vec<usize> = (1..q.len())
            .filter(|&i| q[i - 1].0 && q[i].0)
            .take(crate::query::exec::MAX_JOINED_SEPARATORS)
            .collect();
        (0..1u32 << joints.len()).any(|joined| {
            let mut variant: Vec<(bool, String)> = Vec::new();
            for (i, seg) in q.iter().enumerate() {
                let join = joints
                    .iter()
                    .position(|&j| j == i)
                    .is_some_and(|n| joined & (1 << n) != 0);
                match variant.last_mut() {
                    Some(last) if join => last.1.push_str(&seg.1),
                    _ => variant.push(seg.clone()),
                }
            }
            contains_as_typed(&segments(doc), &variant)
        })
    }

    /// [`contains`] with every separator of the query kept: a one-segment
    /// query is a word of the text or part of a CJK run; a longer one is
    /// consecutive segments, where a CJK run at the start may end a longer
    /// run and one at the end may start one.
    fn contains_as_typed(d: &[(bool, String)], q: &[(bool, String)]) -> bool {
        let k = q.len();
        if k == 0 || k > d.len() {
            return false;
        }
        (0..=d.len() - k).any(|j| {
            q.iter().enumerate().all(|(i, (cjk, qs))| {
                let (dcjk, ds) = &d[j + i];
                if cjk != dcjk {
                    return false;
                }
                if !cjk {
                    return ds == qs;
                }
                match (k, i) {
                    (1, _) => ds.contains(qs.as_str()),
                    (_, 0) => ds.ends_with(qs.as_str()),
                    _ if i == k - 1 => ds.starts_with(qs.as_str()),
                    _ => ds == qs,
                }
            })
        })
    }

    fn tiny_text() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec!["請", "求", "書", "社", "a", "b", " ", "、"]);
        prop::collection::vec(pieces, 0..12).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Every query finds exactly the texts that contain it: queries cut
        /// from the texts themselves and queries made up.
        #[test]
        fn queries_find_exactly_the_texts_that_contain_them(
            docs in prop::collection::vec(tiny_text(), 1..8),
            made_up in prop::collection::vec(tiny_text(), 1..8),
            cuts in prop::collection::vec((any::<prop::sample::Index>(), 0..8usize, 1..6usize), 1..8),
        ) {
            let refs: Vec<&str> = docs.iter().map(String::as_str).collect();
            let ix = TestIndex::new(&refs);
            let mut queries = made_up;
            for (which, start, len) in cuts {
                let chars: Vec<char> = which.get(&docs).chars().collect();
                let start = start.min(chars.len());
                let end = (start + len).min(chars.len());
                queries.push(chars[start..end].iter().collect());
            }
            for q in queries {
                if segments(&q).is_empty() {
                    continue;
                }
                let mut expected: Vec<String> =
                    docs.iter().filter(|d| contains(d, &q)).cloned().collect();
                expected.sort();
                prop_assert_eq!(ix.find(&q), expected, "query {:?}", q);
            }
        }
    }

    #[test]
    fn phrase_prefix_default_expansion_limit_loses_hits() {
        let docs: Vec<String> = (0..60u32)
            .map(|i| format!("no 請{}", char::from_u32(0x4E00 + i).unwrap()))
            .collect();
        let refs: Vec<&str> = docs.iter().map(String::as_str).collect();
        let ix = TestIndex::new(&refs);
        let terms = vec![
            Term::from_field_text(ix.body, "no"),
            Term::from_field_text(ix.body, "請"),
        ];
        let default = PhrasePrefixQuery::new(terms);
        assert_eq!(ix.search(&default).len(), 50);
        assert_eq!(ix.find("no 請").len(), 60);
        assert_eq!(ix.find("請").len(), 60);
    }

    #[test]
    fn index_width_case_and_mixed_script() {
        let ix = TestIndex::new(&[
            "ｾｲｷｭｳ ﾃﾞｰﾀ",
            "セイキュウ処理",
            "Please find the invoice attached",
            "ＩＮＶＯＩＣＥ ＮＯ．１２",
            "A社の担当者様",
            "ABC株式会社 御中",
            "2024年3月分のご請求",
            "2023年3月分",
            "2024年度 予算",
        ]);
        let both = strs(&["ｾｲｷｭｳ ﾃﾞｰﾀ", "セイキュウ処理"]);
        assert_eq!(ix.find("ｾｲｷｭｳ"), both);
        assert_eq!(ix.find("セイキュウ"), both);
        assert_eq!(ix.find("データ"), strs(&["ｾｲｷｭｳ ﾃﾞｰﾀ"]));
        let invoices = strs(&[
            "Please find the invoice attached",
            "ＩＮＶＯＩＣＥ ＮＯ．１２",
        ]);
        assert_eq!(ix.find("ＩＮＶＯＩＣＥ"), invoices);
        assert_eq!(ix.find("Invoice"), invoices);
        assert_eq!(ix.find("no 12"), strs(&["ＩＮＶＯＩＣＥ ＮＯ．１２"]));
        assert_eq!(ix.find("A社"), strs(&["A社の担当者様"]));
        assert_eq!(ix.find("ＡＢＣ株式会社"), strs(&["ABC株式会社 御中"]));
        assert_eq!(ix.find("株式会社"), strs(&["ABC株式会社 御中"]));
        assert_eq!(ix.find("2024年3月"), strs(&["2024年3月分のご請求"]));
        assert_eq!(
            ix.find("２０２４年"),
            strs(&["2024年3月分のご請求", "2024年度 予算"])
        );
        assert_eq!(
            ix.find("3月"),
            strs(&["2023年3月分", "2024年3月分のご請求"])
        );
    }

    // ---- robustness ----

    fn mail_like() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            "請求",
            "書",
            "ｾｲｷｭｳ",
            "ｶﾞ",
            "ﾞ",
            "ﾟ",
            "ＡＢＣ",
            "abc",
            "Ünï",
            "e\u{301}",
            "\u{301}",
            "\u{3099}",
            "か",
            "お願い",
            "「",
            "」",
            "・",
            "ー",
            "々",
            "、",
            "。",
            " ",
            "　",
            "@",
            ".",
            "①",
            "㍻",
            "ﬀ",
            "İ",
            "🙇",
            "\u{1100}",
            "\u{1161}",
            "\u{11A8}",
            "한",
            "2024",
            "x",
            "\u{0}",
            "\r\n",
        ]);
        prop::collection::vec(pieces, 0..40).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn arbitrary_text_keeps_invariants(text in any::<String>()) {
            check_invariants(&text);
        }

        #[test]
        fn mail_like_text_keeps_invariants(text in mail_like()) {
            check_invariants(&text);
        }

        #[test]
        fn fast_paths_agree_with_the_general_path(text in mail_like()) {
            check_fast_paths(&text);
        }

        #[test]
        fn fast_paths_agree_on_arbitrary_text(text in any::<String>()) {
            check_fast_paths(&text);
        }
    }
}
