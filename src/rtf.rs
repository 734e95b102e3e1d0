//! RTF bodies of Outlook messages: compressed RTF, and the text in it.
//!
//! An Outlook `.msg` may hold its body only as RTF (PidTagRtfCompressed),
//! compressed as [MS-OXRTFCP] specifies: [`decompress`] undoes it (or takes
//! the uncompressed form Outlook also writes), and [`to_text`] gives the
//! text of the RTF: the HTML encapsulated in it ([MS-OXRTFEX], `\fromhtml1`:
//! how Outlook keeps an HTML mail as RTF) through [`crate::html::to_text`],
//! else the RTF's own text. Only what text needs is read: destinations that
//! hold none (the font, colour and style tables, pictures, objects, the
//! ignorable `\*` ones) are skipped, `\'hh` bytes are read in the code page
//! of the current font (its `\fcharset`) or of the document (`\ansicpg`),
//! `\uN` gives its character and skips its fallback (`\ucN`), paragraphs and
//! line breaks end lines.
//!
//! Both take a limit and never read or keep past it, whatever the header
//! claims, and no bytes make them panic: they read files that came in the
//! mail. The CRC of a compressed stream is not checked: a damaged stream
//! gives the text that decompresses from it, as a damaged mail does.
//!
//! [MS-OXRTFCP]: https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxrtfcp/
//! [MS-OXRTFEX]: https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxrtfex/

use std::borrow::Cow;
use std::collections::HashMap;

use crate::charset;

/// COMPTYPE of compressed RTF: "LZFu".
const COMPRESSED: u32 = 0x7546_5A4C;
/// COMPTYPE of uncompressed RTF: "MELA".
const UNCOMPRESSED: u32 = 0x414C_454D;
/// COMPSIZE, RAWSIZE, COMPTYPE, CRC.
const HEADER: usize = 16;

/// The dictionary's size, and what it holds before the first byte.
const DICTIONARY: usize = 4096;
const INITIAL_DICTIONARY: &[u8] = b"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}\
{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript \\fdecor MS Sans SerifSymbolArial\
Times New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par \
\\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx";

/// The RTF in `data`, a PidTagRtfCompressed stream: at most `limit` bytes
/// of it, and never more than its header's RAWSIZE. `None` when `data` is
/// not compressed RTF (too short, an unknown COMPTYPE, a COMPSIZE too small
/// for the header). A stream shorter than its COMPSIZE says is read as far
/// as it goes; bytes past it are not read.
pub fn decompress(data: &[u8], limit: usize) -> Option<Cow<'_, [u8]>> {
    let word = |at: usize| {
        let b = data.get(at..at + 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let (comp_size, raw_size, kind) = (word(0)?, word(4)?, word(8)?);
    // COMPSIZE counts the bytes after itself: RAWSIZE, COMPTYPE, CRC and
    // the data.
    let data_size = usize::try_from(comp_size).ok()?.checked_sub(HEADER - 4)?;
    let body = data.get(HEADER..)?;
    let body = body.get(..data_size).unwrap_or(body);
    let wanted = usize::try_from(raw_size).map_or(limit, |raw| raw.min(limit));
    match kind {
        UNCOMPRESSED => Some(Cow::Borrowed(body.get(..wanted).unwrap_or(body))),
        COMPRESSED => Some(Cow::Owned(lzfu(body, wanted))),
        _ => None,
    }
}

/// [MS-OXRTFCP]'s decompression of `input` (the data after the header):
/// runs of a control byte and eight literal bytes or 2-byte dictionary
/// references, up to the reference to the dictionary's write position
/// (the end) or `limit` bytes.
fn lzfu(input: &[u8], limit: usize) -> Vec<u8> {
    let mut dictionary = [0u8; DICTIONARY];
    dictionary[..INITIAL_DICTIONARY.len()].copy_from_slice(INITIAL_DICTIONARY);
    let mut write = INITIAL_DICTIONARY.len();
    // A byte of input gives at most 8.5 of output (a 17-byte reference in
    // two); RAWSIZE is not trusted for the allocation.
    let mut out = Vec::with_capacity(limit.min(input.len().saturating_mul(4)));
    let mut bytes = input.iter().copied();
    'runs: while let Some(control) = bytes.next() {
        for bit in 0..8 {
            if out.len() >= limit {
                break 'runs;
            }
            if control & (1 << bit) == 0 {
                let Some(b) = bytes.next() else {
                    break 'runs;
                };
                out.push(b);
                dictionary[write] = b;
                write = (write + 1) % DICTIONARY;
            } else {
                let (Some(high), Some(low)) = (bytes.next(), bytes.next()) else {
                    break 'runs;
                };
                let reference = u16::from_be_bytes([high, low]);
                let offset = usize::from(reference >> 4);
                if offset == write {
                    break 'runs;
                }
                // Byte by byte: a reference may read what it writes.
                for n in 0..usize::from(reference & 0xF) + 2 {
                    let b = dictionary[(offset + n) % DICTIONARY];
                    out.push(b);
                    dictionary[write] = b;
                    write = (write + 1) % DICTIONARY;
                }
            }
        }
    }
    out.truncate(limit);
    out
}

/// The text of the RTF document `rtf`, at most about `limit` bytes of it:
/// the text of the HTML it encapsulates, else its own. `codepage` is the
/// code page of its 8-bit text when it names none (`\ansicpg`); without
/// either, Windows-1252, RTF's own default.
pub fn to_text(rtf: &[u8], codepage: Option<u16>, limit: usize) -> String {
    let mut reader = Reader {
        rtf,
        at: 0,
        group: Group {
            destination: Destination::Text,
            htmlrtf: false,
            fallback: 1,
            codepage: None,
        },
        stack: Vec::new(),
        deeper: 0,
        html: false,
        ignorable: false,
        document_codepage: codepage.unwrap_or(1252),
        default_font: None,
        fonts: HashMap::new(),
        font_defined: None,
        bytes: Vec::new(),
        bytes_codepage: 0,
        high_surrogate: None,
        to_skip: 0,
        out: String::new(),
        limit,
    };
    reader.read();
    let mut text = if reader.html {
        crate::html::to_text(&reader.out)
    } else {
        reader.out
    };
    if text.len() > limit {
        let mut cut = limit;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

/// Encapsulated HTML kept for each byte of text it may give.
const HTML_PER_TEXT: usize = 8;

/// Groups nested deeper than this are read as part of the deepest (a
/// hostile file may open millions).
const MAX_DEPTH: usize = 256;

/// Fonts whose code page is kept (an RTF mail has a few dozen).
const MAX_FONTS: usize = 4096;

/// What the text of a group is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Destination {
    /// The document's text.
    Text,
    /// The font table: the fonts' code pages are read.
    FontTable,
    /// Encapsulated HTML markup (`\*\htmltag`).
    HtmlTag,
    /// No text (other tables, pictures, ignorable destinations).
    Skipped,
}

/// The state a group inherits and its end restores.
#[derive(Debug, Clone, Copy)]
struct Group {
    destination: Destination,
    /// `\htmlrtf`: RTF that was not in the encapsulated HTML.
    htmlrtf: bool,
    /// `\ucN`: the characters that stand for a `\uN` in readers without
    /// Unicode, skipped after it.
    fallback: u32,
    /// The code page of the current font, when it has one of its own.
    codepage: Option<u16>,
}

struct Reader<'a> {
    rtf: &'a [u8],
    at: usize,
    group: Group,
    stack: Vec<Group>,
    /// Groups opened past [`MAX_DEPTH`], still to close.
    deeper: usize,
    /// `\fromhtml`: the text is encapsulated HTML.
    html: bool,
    /// After `\*`: the destination its control word starts is skipped
    /// unless known.
    ignorable: bool,
    /// `\ansicpg`, else the caller's.
    document_codepage: u16,
    /// `\deffN`: the font `\plain` returns to.
    default_font: Option<i32>,
    /// Font number to code page, from the font table's `\fcharset`/`\cpg`.
    fonts: HashMap<i32, u16>,
    /// The font the font table is describing.
    font_defined: Option<i32>,
    /// 8-bit text not yet decoded, in `bytes_codepage`.
    bytes: Vec<u8>,
    bytes_codepage: u16,
    /// A `\uN` that was the first half of a surrogate pair.
    high_surrogate: Option<u16>,
    /// Fallback characters still to skip after a `\uN`.
    to_skip: u32,
    out: String,
    /// The bytes of text kept at most (see [`Reader::kept_at_most`]).
    limit: usize,
}

impl Reader<'_> {
    fn read(&mut self) {
        while let Some(&b) = self.rtf.get(self.at) {
            if self.out.len() + self.bytes.len() >= self.kept_at_most() {
                break;
            }
            self.at += 1;
            match b {
                b'{' => self.open(),
                b'}' => self.close(),
                b'\\' => self.control(),
                b'\r' | b'\n' | 0 => {}
                _ => {
                    self.ignorable = false;
                    self.byte(b);
                }
            }
        }
        self.flush();
    }

    /// How much text, or encapsulated HTML (its markup besides its text),
    /// is kept.
    fn kept_at_most(&self) -> usize {
        if self.html {
            self.limit.saturating_mul(HTML_PER_TEXT)
        } else {
            self.limit
        }
    }

    fn open(&mut self) {
        self.to_skip = 0;
        self.ignorable = false;
        if self.stack.len() < MAX_DEPTH {
            self.stack.push(self.group);
        } else {
            self.deeper += 1;
        }
    }

    fn close(&mut self) {
        self.to_skip = 0;
        self.ignorable = false;
        if self.deeper > 0 {
            self.deeper -= 1;
        } else if let Some(outer) = self.stack.pop() {
            if outer.destination != self.group.destination {
                self.flush();
            }
            self.group = outer;
        }
    }

    /// What follows a backslash.
    fn control(&mut self) {
        let Some(&b) = self.rtf.get(self.at) else {
            return;
        };
        self.at += 1;
        if b.is_ascii_alphabetic() {
            let start = self.at - 1;
            while self.rtf.get(self.at).is_some_and(u8::is_ascii_alphabetic) {
                self.at += 1;
            }
            let word = self.rtf.get(start..self.at).unwrap_or_default();
            let param = self.parameter();
            if self.rtf.get(self.at) == Some(&b' ') {
                self.at += 1;
            }
            self.word(word, param);
            return;
        }
        if b == b'*' {
            self.ignorable = true;
            return;
        }
        self.ignorable = false;
        match b {
            b'\'' => {
                let hex = self.rtf.get(self.at..self.at + 2).and_then(|h| {
                    let h = std::str::from_utf8(h).ok()?;
                    u8::from_str_radix(h, 16).ok()
                });
                if let Some(byte) = hex {
                    self.at += 2;
                    self.byte(byte);
                }
            }
            b'\\' | b'{' | b'}' => self.byte(b),
            b'~' => self.character('\u{A0}'),
            b'_' => self.character('-'),
            b'\r' | b'\n' => self.character('\n'),
            // An optional hyphen, a formula, an index entry: no text.
            _ => self.skip_one(),
        }
    }

    /// A control word's numeric parameter: an optional `-` and up to ten
    /// digits (more are read and dropped).
    fn parameter(&mut self) -> Option<i32> {
        let negative = self.rtf.get(self.at) == Some(&b'-')
            && self.rtf.get(self.at + 1).is_some_and(u8::is_ascii_digit);
        if negative {
            self.at += 1;
        }
        let mut value: i64 = 0;
        let mut digits = 0;
        while let Some(d) = self.rtf.get(self.at).filter(|d| d.is_ascii_digit()) {
            if digits < 10 {
                value = value * 10 + i64::from(d - b'0');
            }
            digits += 1;
            self.at += 1;
        }
        if digits == 0 {
            return None;
        }
        let value = if negative { -value } else { value };
        Some(i32::try_from(value).unwrap_or(if negative { i32::MIN } else { i32::MAX }))
    }

    fn word(&mut self, word: &[u8], param: Option<i32>) {
        if std::mem::take(&mut self.ignorable) {
            let destination = match word {
                b"htmltag" if self.html => Destination::HtmlTag,
                _ => Destination::Skipped,
            };
            if self.group.destination != Destination::Skipped {
                self.set_destination(destination);
            }
            return;
        }
        if word == b"bin" {
            // Binary data of `param` bytes, part of no text.
            let len = param.and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
            self.at = self.at.saturating_add(len).min(self.rtf.len());
            return;
        }
        match self.group.destination {
            Destination::Skipped => return,
            Destination::FontTable => {
                self.font_table_word(word, param);
                return;
            }
            Destination::Text | Destination::HtmlTag => {}
        }
        let codepage = || {
            param
                .and_then(|n| u16::try_from(n).ok())
                .filter(|&cp| cp > 0)
        };
        match word {
            b"fonttbl" => self.set_destination(Destination::FontTable),
            b"colortbl"
            | b"stylesheet"
            | b"info"
            | b"pict"
            | b"object"
            | b"themedata"
            | b"colorschememapping"
            | b"latentstyles"
            | b"datastore"
            | b"listtable"
            | b"listoverridetable"
            | b"revtbl"
            | b"rsidtbl"
            | b"generator"
            | b"xmlnstbl"
            | b"filetbl"
            | b"fldinst"
            | b"header"
            | b"headerl"
            | b"headerr"
            | b"headerf"
            | b"footer"
            | b"footerl"
            | b"footerr"
            | b"footerf"
            | b"pntext"
            | b"pntxta"
            | b"pntxtb"
            | b"listtext" => self.set_destination(Destination::Skipped),
            b"fromhtml" => {
                if self.out.is_empty() && self.bytes.is_empty() {
                    self.html = param != Some(0);
                }
            }
            b"ansicpg" => {
                if let Some(cp) = codepage() {
                    self.document_codepage = cp;
                }
            }
            b"mac" => self.document_codepage = 10000,
            b"pc" => self.document_codepage = 437,
            b"pca" => self.document_codepage = 850,
            b"deff" => self.default_font = param,
            b"f" => self.group.codepage = param.and_then(|n| self.fonts.get(&n).copied()),
            b"plain" => {
                self.group.codepage = self.default_font.and_then(|n| self.fonts.get(&n).copied());
            }
            b"uc" => self.group.fallback = param.map_or(1, |n| n.clamp(0, 8).unsigned_abs()),
            b"u" => {
                if let Some(n) = param {
                    self.unicode(n);
                }
            }
            b"htmlrtf" => self.group.htmlrtf = param != Some(0),
            b"par" | b"line" | b"sect" | b"page" | b"row" => self.character('\n'),
            b"tab" | b"cell" => self.character('\t'),
            b"emdash" => self.character('\u{2014}'),
            b"endash" => self.character('\u{2013}'),
            b"emspace" | b"enspace" | b"qmspace" => self.character(' '),
            b"bullet" => self.character('\u{2022}'),
            b"lquote" => self.character('\u{2018}'),
            b"rquote" => self.character('\u{2019}'),
            b"ldblquote" => self.character('\u{201C}'),
            b"rdblquote" => self.character('\u{201D}'),
            _ => self.skip_one(),
        }
    }

    /// A control word of the font table: which font, and its code page.
    fn font_table_word(&mut self, word: &[u8], param: Option<i32>) {
        let codepage = match (word, param) {
            (b"f", Some(n)) => {
                self.font_defined = Some(n);
                return;
            }
            (b"fcharset", Some(n)) => match charset_codepage(n) {
                Some(cp) => cp,
                None => return,
            },
            (b"cpg", Some(n)) => match u16::try_from(n) {
                Ok(cp) if cp > 0 => cp,
                _ => return,
            },
            _ => return,
        };
        if let Some(font) = self.font_defined
            && (self.fonts.len() < MAX_FONTS || self.fonts.contains_key(&font))
        {
            self.fonts.insert(font, codepage);
        }
    }

    fn set_destination(&mut self, destination: Destination) {
        if destination != self.group.destination {
            self.flush();
            self.group.destination = destination;
        }
    }

    /// Whether the current group's text is kept: the document's text (but
    /// for RTF an encapsulating writer added) and encapsulated HTML markup.
    fn keeps_text(&self) -> bool {
        match self.group.destination {
            Destination::Text => !self.group.htmlrtf,
            Destination::HtmlTag => true,
            Destination::FontTable | Destination::Skipped => false,
        }
    }

    /// The code page of 8-bit text here: that of the current font, but in
    /// encapsulated HTML markup, which is in the document's.
    fn codepage(&self) -> u16 {
        match self.group.destination {
            Destination::HtmlTag => self.document_codepage,
            _ => self.group.codepage.unwrap_or(self.document_codepage),
        }
    }

    /// One byte of 8-bit text (literal or `\'hh`): a fallback character,
    /// or text.
    fn byte(&mut self, b: u8) {
        if self.to_skip > 0 {
            self.to_skip -= 1;
            return;
        }
        if !self.keeps_text() {
            return;
        }
        let codepage = self.codepage();
        if codepage != self.bytes_codepage {
            self.flush();
            self.bytes_codepage = codepage;
        }
        self.bytes.push(b);
    }

    /// A character a control word stands for.
    fn character(&mut self, c: char) {
        if self.to_skip > 0 {
            self.to_skip -= 1;
            return;
        }
        if self.keeps_text() {
            self.flush();
            self.out.push(c);
        }
    }

    /// A control word or symbol without text: one fallback character.
    fn skip_one(&mut self) {
        self.to_skip = self.to_skip.saturating_sub(1);
    }

    /// `\uN`: a UTF-16 code unit as a signed 16-bit number, its fallback
    /// characters after it.
    fn unicode(&mut self, n: i32) {
        self.to_skip = self.group.fallback;
        if !self.keeps_text() {
            return;
        }
        self.decode_bytes();
        let Ok(unit) = u16::try_from(n.rem_euclid(0x1_0000)) else {
            return;
        };
        let units = match self.high_surrogate.take() {
            Some(high) => vec![high, unit],
            None if (0xD800..0xDC00).contains(&unit) => {
                self.high_surrogate = Some(unit);
                return;
            }
            None => vec![unit],
        };
        self.out
            .extend(char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)));
    }

    /// Ends the text read so far: a `\uN` that was half a surrogate pair is
    /// dropped, 8-bit text decoded.
    fn flush(&mut self) {
        self.high_surrogate = None;
        self.decode_bytes();
    }

    fn decode_bytes(&mut self) {
        if self.bytes.is_empty() {
            return;
        }
        let label = codepage::to_encoding_no_replacement(self.bytes_codepage).map(|e| e.name());
        self.out.push_str(&charset::decode_text(&self.bytes, label));
        self.bytes.clear();
    }
}

/// The code page of an RTF font's `\fcharsetN` (`None`: the document's).
fn charset_codepage(charset: i32) -> Option<u16> {
    Some(match charset {
        77 => 10000,
        128 => 932,
        129 => 949,
        130 => 1361,
        134 => 936,
        136 => 950,
        161 => 1253,
        162 => 1254,
        163 => 1258,
        177 => 1255,
        178 => 1256,
        186 => 1257,
        204 => 1251,
        222 => 874,
        238 => 1250,
        254 => 437,
        255 => 850,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [MS-OXRTFCP] 3.1.1, "Example 1: Simple Compressed RTF".
    const SIMPLE: &[u8] = &[
        0x2d, 0x00, 0x00, 0x00, 0x2b, 0x00, 0x00, 0x00, 0x4c, 0x5a, 0x46, 0x75, 0xf1, 0xc5, 0xc7,
        0xa7, 0x03, 0x00, 0x0a, 0x00, 0x72, 0x63, 0x70, 0x67, 0x31, 0x32, 0x35, 0x42, 0x32, 0x0a,
        0xf3, 0x20, 0x68, 0x65, 0x6c, 0x09, 0x00, 0x20, 0x62, 0x77, 0x05, 0xb0, 0x6c, 0x64, 0x7d,
        0x0a, 0x80, 0x0f, 0xa0,
    ];
    const SIMPLE_RTF: &[u8] = b"{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n";

    /// [MS-OXRTFCP] 3.1.2, "Example 2: Reading a Token from the Dictionary
    /// that Crosses WritePosition".
    const CROSSING: &[u8] = &[
        0x1a, 0x00, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x00, 0x4c, 0x5a, 0x46, 0x75, 0xe2, 0xd4, 0x4b,
        0x51, 0x41, 0x00, 0x04, 0x20, 0x57, 0x58, 0x59, 0x5a, 0x0d, 0x6e, 0x7d, 0x01, 0x0e, 0xb0,
    ];
    const CROSSING_RTF: &[u8] = b"{\\rtf1 WXYZWXYZWXYZWXYZWXYZ}";

    fn text(rtf: &str) -> String {
        to_text(rtf.as_bytes(), None, 1 << 20)
    }

    #[test]
    fn the_specifications_examples_decompress() {
        assert_eq!(INITIAL_DICTIONARY.len(), 207);
        assert_eq!(decompress(SIMPLE, 1 << 20).as_deref(), Some(SIMPLE_RTF));
        assert_eq!(decompress(CROSSING, 1 << 20).as_deref(), Some(CROSSING_RTF));
        assert_eq!(to_text(SIMPLE_RTF, None, 100), "hello world");
        // The uncompressed form.
        let mut mela = Vec::new();
        for word in [
            SIMPLE_RTF.len() as u32 + 12,
            SIMPLE_RTF.len() as u32,
            UNCOMPRESSED,
            0,
        ] {
            mela.extend_from_slice(&word.to_le_bytes());
        }
        mela.extend_from_slice(SIMPLE_RTF);
        assert_eq!(decompress(&mela, 1 << 20).as_deref(), Some(SIMPLE_RTF));
    }

    #[test]
    fn what_is_decompressed_is_bounded_by_the_limit_and_the_header() {
        assert_eq!(decompress(SIMPLE, 10).as_deref(), Some(&SIMPLE_RTF[..10]));
        // RAWSIZE says 5.
        let mut short = SIMPLE.to_vec();
        short[4] = 5;
        assert_eq!(
            decompress(&short, 1 << 20).as_deref(),
            Some(&SIMPLE_RTF[..5])
        );
        // RAWSIZE says 4 GiB: nothing is allocated for it.
        let mut huge = SIMPLE.to_vec();
        huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decompress(&huge, 1 << 20).as_deref(), Some(SIMPLE_RTF));
        // A stream cut short gives what it holds; COMPSIZE cuts a longer one.
        let cut = decompress(&SIMPLE[..30], 1 << 20).unwrap_or_default();
        assert!(cut.len() > 16 && SIMPLE_RTF.starts_with(&cut), "{cut:?}");
        let mut padded = SIMPLE.to_vec();
        padded.extend_from_slice(b"\x01\x00\x00");
        assert_eq!(decompress(&padded, 1 << 20).as_deref(), Some(SIMPLE_RTF));
        // Not compressed RTF.
        assert_eq!(decompress(&SIMPLE[..11], 1 << 20), None);
        let mut unknown = SIMPLE.to_vec();
        unknown[8] = b'X';
        assert_eq!(decompress(&unknown, 1 << 20), None);
        let mut tiny = SIMPLE.to_vec();
        tiny[0..4].copy_from_slice(&11u32.to_le_bytes());
        assert_eq!(decompress(&tiny, 1 << 20), None);
        // References of 17 bytes to the dictionary, 8.5 bytes for each one
        // read: 1 MiB of input stops at the limit.
        // (Each reference is to another place than the write position,
        // which would end the stream.)
        let mut body = Vec::new();
        let mut write = INITIAL_DICTIONARY.len();
        while body.len() < 1 << 20 {
            body.push(0xFF);
            for _ in 0..8 {
                let reference = (((write + 100) % DICTIONARY) << 4 | 0xF) as u16;
                body.extend_from_slice(&reference.to_be_bytes());
                write = (write + 17) % DICTIONARY;
            }
        }
        let mut bomb = Vec::new();
        for word in [body.len() as u32 + 12, u32::MAX, COMPRESSED, 0] {
            bomb.extend_from_slice(&word.to_le_bytes());
        }
        bomb.extend_from_slice(&body);
        assert_eq!(decompress(&bomb, 3 << 20).map(|d| d.len()), Some(3 << 20));
        assert_eq!(
            decompress(&bomb, 1 << 30).map(|d| d.len()),
            Some(body.len() / 17 * 8 * 17)
        );
    }

    /// A tiny deterministic generator (xorshift), for mutations.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn no_bytes_make_decompression_or_reading_panic() {
        let rtf_of = |data: &[u8]| {
            if let Some(rtf) = decompress(data, 1 << 16) {
                assert!(rtf.len() <= 1 << 16);
                to_text(&rtf, Some(932), 1 << 12);
            }
        };
        let mut state = 0x9E37_79B9_7F4A_7C15;
        for sample in [SIMPLE, CROSSING] {
            for cut in 0..sample.len() {
                rtf_of(&sample[..cut]);
            }
            for at in 0..sample.len() {
                for value in [0x00, 0xFF, 0x0F, 0xF0, sample[at] ^ 0x01, sample[at] ^ 0x80] {
                    let mut m = sample.to_vec();
                    m[at] = value;
                    rtf_of(&m);
                }
            }
            for _ in 0..2000 {
                let mut m = sample.to_vec();
                for _ in 0..1 + next(&mut state) % 4 {
                    let at = (next(&mut state) as usize) % m.len();
                    m[at] = next(&mut state) as u8;
                }
                rtf_of(&m);
            }
        }
        // Any tail after a valid header, and RTF of random bytes.
        for _ in 0..2000 {
            let len = (next(&mut state) % 300) as usize;
            let tail: Vec<u8> = (0..len).map(|_| next(&mut state) as u8).collect();
            rtf_of(&[&SIMPLE[..16], &tail].concat());
            to_text(&tail, None, 1 << 10);
            let rtf: Vec<u8> = tail
                .iter()
                .map(|&b| b"{}\\'u8a0 *x-\r"[usize::from(b) % 13])
                .collect();
            to_text(&rtf, Some(932), 1 << 10);
        }
    }

    #[test]
    fn the_text_of_rtf_is_its_text_without_its_tables() {
        let rtf = "{\\rtf1\\ansi\\ansicpg1252\\deff0{\\fonttbl{\\f0\\fswiss\\fcharset0 Arial;}}\
{\\colortbl;\\red0\\green0\\blue255;}{\\stylesheet{\\s0 Normal;}}\
{\\*\\generator Riched20 10.0.19041}\\viewkind4\\uc1\\pard\\f0\\fs20 \
Bonjour Mme Dubois,\\par\\par Le caf\\'e9 est arriv\\'e9 froid.\\line Merci\\tab !\\par}";
        assert_eq!(
            text(rtf),
            "Bonjour Mme Dubois,\n\nLe café est arrivé froid.\nMerci\t!\n"
        );
        // Escaped characters, a field's result without its instruction, a
        // picture and binary data skipped.
        let rtf = "{\\rtf1 a\\{b\\}c\\\\d {\\field{\\*\\fldinst HYPERLINK \"x\"}{\\fldrslt link}} \
{\\pict\\pngblip 89504e47}{\\*\\objdata 0102}x\\bin3 {}\\y}";
        assert_eq!(text(rtf), "a{b}c\\d link xy");
    }

    #[test]
    fn japanese_rtf_is_read_in_its_code_pages() {
        // \ansicpg932: Shift_JIS bytes, a trail byte written as it is (0x5C
        // escaped, 0x41 'A' left bare).
        let rtf = "{\\rtf1\\ansi\\ansicpg932\\deff0{\\fonttbl{\\f0\\fnil\\fcharset128 MS UI Gothic;}}\
\\f0 \\'8b\\'e0\\'8c\\'5e\\'82\\'cc\\'8f\\'43\\'97\\'9d\\'94\\'ef\\'97\\'70\\par \
\\'95\\\\\\'83A}";
        assert_eq!(text(rtf), "金型の修理費用\n表ア");
        // A Western document with a Japanese font: the font's code page.
        let rtf = "{\\rtf1\\ansi\\ansicpg1252\\deff0{\\fonttbl{\\f0\\fswiss Arial;}\
{\\f1\\fnil\\fcharset128 MS Gothic;}}\\f0 caf\\'e9 {\\f1 \\'8b\\'e0\\'8c\\'5e} caf\\'e9\\f1 \\'8c\\'5e\\plain\\'e9}";
        assert_eq!(text(rtf), "café 金型 café型é");
        // Without \ansicpg: the caller's code page.
        assert_eq!(to_text(b"{\\rtf1 \\'8b\\'e0}", Some(932), 100), "金");
        assert_eq!(to_text(b"{\\rtf1 \\'e9}", None, 100), "é");
    }

    #[test]
    fn unicode_characters_skip_their_fallback() {
        assert_eq!(text("{\\rtf1\\uc1 \\u37329?\\u22411?}"), "金型");
        assert_eq!(text("{\\rtf1\\uc2 \\u37329\\'8b\\'e0 x}"), "金 x");
        assert_eq!(text("{\\rtf1\\uc0 \\u37329\\u22411 x}"), "金型x");
        // Negative numbers, surrogate pairs, a lone half dropped.
        assert_eq!(text("{\\rtf1\\u-3913?}"), "\u{F0B7}");
        assert_eq!(text("{\\rtf1\\u-10179?\\u-8701?}"), "😃");
        assert_eq!(text("{\\rtf1\\u-10179? x}"), " x");
        // A group's end ends the fallback; \uc is the group's.
        assert_eq!(text("{\\rtf1{\\uc3\\u37329}ab{\\u22411 cd}}"), "金ab型d");
    }

    /// Outlook's RTF of an HTML mail ([MS-OXRTFEX]): the HTML in `\htmltag`
    /// groups and between them, but for the RTF marked `\htmlrtf`.
    #[test]
    fn encapsulated_html_is_read_as_html() {
        let rtf = "{\\rtf1\\ansi\\ansicpg932\\fromhtml1 \\fbidis \\deff0{\\fonttbl\
{\\f0\\fswiss\\fcharset128 MS PGothic;}{\\f1\\fmodern Courier New;}}\
{\\colortbl\\red0\\green0\\blue0;}\\uc1\\pard\\plain\\deftab360 \\f0\\fs24 \
{\\*\\htmltag19 <html>}{\\*\\htmltag34 <head>}{\\*\\htmltag177 <style>p \\{margin:0\\}</style>}\
{\\*\\htmltag41 </head>}{\\*\\htmltag2 \\par }{\\*\\htmltag50 <body>}\
{\\*\\htmltag64}\\htmlrtf {\\htmlrtf0 {\\*\\htmltag148 <div>}\\htmlrtf {\\htmlrtf0 \
\\'8b\\'e0\\'8c\\'5e\\'82\\'cc\\'8f\\'43\\'97\\'9d{\\*\\htmltag84 &amp;}\\htmlrtf &\\htmlrtf0 \\'8c\\'a9\\'90\\'cf\
\\htmlrtf\\par\\htmlrtf0 {\\*\\htmltag244 </div>}\\htmlrtf }\\htmlrtf0 \\htmlrtf }\\htmlrtf0 \
{\\*\\htmltag148 <div>}x{\\*\\htmltag84 &lt;}\\htmlrtf <\\htmlrtf0 y{\\*\\htmltag244 </div>}\
{\\*\\htmltag58 </body>}{\\*\\htmltag27 </html>}}";
        assert_eq!(text(rtf).trim_end(), "金型の修理&見積\nx<y");
        // \fromhtml only in the header: text before it is RTF's own.
        assert_eq!(text("{\\rtf1 a\\fromhtml1 {\\*\\htmltag <b>}b}"), "ab");
    }

    #[test]
    fn what_is_read_is_bounded() {
        let long = format!("{{\\rtf1 {}}}", "あいう ".repeat(100_000));
        assert_eq!(text(&long).len(), 1_000_000);
        assert_eq!(to_text(long.as_bytes(), None, 1000).len(), 1000);
        let html = format!("{{\\rtf1\\fromhtml1 {}}}", "<p>あいう</p>".repeat(100_000));
        assert!(to_text(html.as_bytes(), None, 1000).len() <= 1000);
        // A million groups open, a million words: no deep stack, no time.
        let started = std::time::Instant::now();
        let deep = format!("{{\\rtf1 {}x{}}}", "{".repeat(1 << 20), "}".repeat(1 << 20));
        assert_eq!(text(&deep), "x");
        let words = format!("{{\\rtf1 {}x}}", "\\b\\i\\f99999\\uc9 ".repeat(1 << 18));
        assert_eq!(text(&words), "x");
        assert!(started.elapsed().as_secs() < 2, "{:?}", started.elapsed());
    }
}
