//! Outlook `.msg` attachments: the forwarded mail inside them, as text.
//!
//! Outlook forwards a mail "as an attachment" (and staff drag a mail from
//! Outlook into a new one) as a `.msg` file: a Compound File (OLE) holding
//! the mail's MAPI properties ([MS-OXMSG]), not MIME. A customer's mail
//! forwarded this way to the shared address must be found by its words like
//! a mail forwarded as message/rfc822, so [`crate::parse`] indexes and shows
//! what [`read`] gives: its subject, its sender, its text, and the same of
//! the mails attached to it in turn.
//!
//! The compound file is read by the `cfb` crate. The properties read here:
//! - strings are UTF-16LE (type `001F`), or 8-bit (type `001E`, written by
//!   Outlook before 2003 and by tools that still write "ANSI" files: code
//!   page 932, Shift_JIS, in Japan) in the message's code page, the body in
//!   the Internet code page (a Japanese Outlook keeps a French mail's body
//!   in 1252);
//! - the sender's address is its SMTP address, else the From of the header
//!   the mail was received with (PidTagTransportMessageHeaders): a mail
//!   from inside the sender's Exchange organisation often names its sender
//!   by an Exchange address (`/O=...`) alone;
//! - the text is the plain-text body, else the HTML body converted by
//!   [`crate::html::to_text`], else the text of the compressed RTF body
//!   (PidTagRtfCompressed, read by [`crate::rtf`]; the HTML a mail had when
//!   Outlook keeps it encapsulated in RTF), which some messages hold alone.
//!
//! Reading never fails loudly: a damaged or hostile file gives `None` (or
//! less text), and a panic inside the reader is caught, as for mail-parser.
//! Nor does it take long: the streams of a compound file may all point at
//! the same bytes (and a `.msg` attached to one be read once for each that
//! points at it, on every level), so what one [`read`] reads and keeps is
//! bounded (see `Budget`).
//!
//! [MS-OXMSG]: https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxmsg/

use std::io::{Cursor, Read};

use crate::charset;

/// The first bytes of every Compound File.
const MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// No property stream read here is trusted beyond this many bytes (the
/// whole attachment is under the message size limit anyway).
const MAX_STREAM: u64 = 16 << 20;

/// Property ids ([MS-OXPROPS]).
const SUBJECT: u16 = 0x0037;
const SENDER_NAME: u16 = 0x0C1A;
const SENDER_EMAIL: u16 = 0x0C1F;
const SENDER_SMTP: u16 = 0x5D01;
const SENT_REPRESENTING_NAME: u16 = 0x0042;
const SENT_REPRESENTING_EMAIL: u16 = 0x0065;
const SENT_REPRESENTING_SMTP: u16 = 0x5D02;
const TRANSPORT_HEADERS: u16 = 0x007D;
const BODY: u16 = 0x1000;
const HTML: u16 = 0x1013;
const RTF_COMPRESSED: u16 = 0x1009;
const ATTACH_DATA: u16 = 0x3701;
const MESSAGE_CODEPAGE: u16 = 0x3FFD;
const INTERNET_CODEPAGE: u16 = 0x3FDE;

/// Property types.
const UNICODE: u16 = 0x001F;
const STRING8: u16 = 0x001E;
const BINARY: u16 = 0x0102;
const INTEGER32: u16 = 0x0003;
const OBJECT: u16 = 0x000D;

/// What a `.msg` holds that kura indexes and shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutlookMessage {
    pub subject: String,
    pub from_name: String,
    /// Lower-cased SMTP address; empty when the file has only an Exchange
    /// one, and no transport headers with a From.
    pub from_address: String,
    /// The plain-text body, else the HTML body, else the RTF body, as text.
    pub text: String,
    /// The mails attached to this one (embedded, or `.msg` files), as deep as
    /// the caller allowed.
    pub attached: Vec<OutlookMessage>,
}

/// Whether `bytes` may be an Outlook message (a Compound File; what it holds
/// is only known by [`read`]). Cheap: for every attachment of every mail.
pub fn is_compound_file(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}

/// Reads an Outlook message; `None` when `bytes` is not one (another
/// Compound File: a Word or Excel 97 document) or is too damaged to read.
/// Attached mails are read `depth` levels down.
pub fn read(bytes: &[u8], depth: usize) -> Option<OutlookMessage> {
    let mut budget = Budget {
        bytes: (bytes.len() as u64).saturating_mul(READ_PER_BYTE),
        text: crate::parse::MAX_INDEXED_TEXT,
        rtf: crate::parse::MAX_INDEXED_TEXT.saturating_mul(RTF_PER_TEXT),
    };
    read_within(bytes, depth, &mut budget)
}

/// What one [`read`] may still read and keep. A well-formed `.msg` reads
/// each of its bytes once, and those of an attached `.msg` once more for each
/// level it is nested (rarely more than two); text beyond what is indexed
/// is neither shown nor found.
struct Budget {
    /// Bytes of streams still to read.
    bytes: u64,
    /// Bytes of text still to keep.
    text: usize,
    /// Bytes of RTF still to decompress: RTF bodies that hold no text (a
    /// hostile file's, all streams over the same bytes) are not
    /// decompressed over and over.
    rtf: usize,
}

/// The RTF of a mail is many times its text: font, colour and style
/// tables, 8 bytes (`\'82\'a0`) for each character of Japanese text (3 in
/// UTF-8), the markup of the HTML it encapsulates. At most this many bytes
/// of RTF are decompressed for each byte of text still to keep.
const RTF_PER_TEXT: usize = 16;

/// A [`read`] reads at most this many bytes of streams for each byte of the
/// file.
const READ_PER_BYTE: u64 = 8;

fn read_within(bytes: &[u8], depth: usize, budget: &mut Budget) -> Option<OutlookMessage> {
    if !is_compound_file(bytes) {
        return None;
    }
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut file = cfb::CompoundFile::open(Cursor::new(bytes)).ok()?;
        read_message(&mut file, "/", depth, budget)
    }))
    .ok()
    .flatten()
}

type File<'a> = cfb::CompoundFile<Cursor<&'a [u8]>>;

/// The message whose properties are in the storage `dir` (the root, or an
/// attachment's embedded message).
fn read_message(
    file: &mut File<'_>,
    dir: &str,
    depth: usize,
    budget: &mut Budget,
) -> Option<OutlookMessage> {
    // A message has property streams; anything else (a Word document, an
    // Excel sheet) is not one.
    let names: Vec<String> = file
        .read_storage(dir)
        .ok()?
        .map(|e| e.name().to_owned())
        .collect();
    if !names.iter().any(|n| n.starts_with("__substg1.0_")) {
        return None;
    }
    // The root's properties stream has a 32-byte header, an embedded
    // message's 24.
    let header = if dir == "/" { 32 } else { 24 };
    // 8-bit strings are in the message's code page, but for the body,
    // which is in the Internet code page (an English Outlook keeps a
    // Japanese mail's body in 932 or 65001 under a message code page 1252).
    let props = stream(file, &child(dir, "__properties_version1.0"), budget).unwrap_or_default();
    let message_cp = integer_property(&props, header, MESSAGE_CODEPAGE);
    let internet_cp = integer_property(&props, header, INTERNET_CODEPAGE);
    let (codepage, body_cp) = (message_cp.or(internet_cp), internet_cp.or(message_cp));
    let mut string = |file: &mut File<'_>, id| string_property(file, dir, id, codepage, budget);
    let subject = string(file, SUBJECT).unwrap_or_default();
    let mut from_name = string(file, SENDER_NAME)
        .or_else(|| string(file, SENT_REPRESENTING_NAME))
        .unwrap_or_default();
    let mut from_address = [
        SENDER_SMTP,
        SENDER_EMAIL,
        SENT_REPRESENTING_SMTP,
        SENT_REPRESENTING_EMAIL,
    ]
    .into_iter()
    .filter_map(|id| string(file, id))
    .find(|a| a.contains('@'))
    .map(|a| crate::parse::clean_address(&a))
    .unwrap_or_default();
    // A mail from inside the sender's Exchange organisation may name its
    // sender by an Exchange address alone; the From of the header it was
    // received with has the SMTP one.
    if from_address.is_empty()
        && let Some(sender) = string(file, TRANSPORT_HEADERS)
            .and_then(|block| crate::parse::header_block_sender(&block))
    {
        from_address = sender.address;
        if from_name.trim().is_empty() {
            from_name = sender.name;
        }
    }
    let text = if budget.text == 0 {
        String::new()
    } else {
        match string_property(file, dir, BODY, body_cp, budget).filter(|t| !t.trim().is_empty()) {
            Some(text) => text,
            None => html_body(file, dir, body_cp, budget)
                .or_else(|| rtf_body(file, dir, body_cp, budget))
                .unwrap_or_default(),
        }
    };
    budget.text = budget.text.saturating_sub(text.len());
    let mut attached = Vec::new();
    if depth > 0 {
        let attachments = names
            .iter()
            .filter(|n| n.starts_with("__attach_version1.0_"));
        for name in attachments {
            let storage = child(dir, name);
            if let Some(m) = attached_message(file, &storage, depth - 1, budget) {
                attached.push(m);
            }
        }
    }
    Some(OutlookMessage {
        subject: crate::parse::clean_line(&subject),
        from_name: crate::parse::clean_line(&from_name),
        from_address,
        text,
        attached,
    })
}

/// The mail an attachment storage holds: an embedded message (a storage), or
/// a `.msg` file attached as bytes.
fn attached_message(
    file: &mut File<'_>,
    storage: &str,
    depth: usize,
    budget: &mut Budget,
) -> Option<OutlookMessage> {
    let embedded = child(storage, &stream_name(ATTACH_DATA, OBJECT));
    if file.is_storage(&embedded) {
        return read_message(file, &embedded, depth, budget);
    }
    // Only a Compound File may be a `.msg`: its first bytes say so, without
    // reading a PDF or a picture whole.
    let path = child(storage, &stream_name(ATTACH_DATA, BINARY));
    let mut magic = [0; MAGIC.len()];
    file.open_stream(&path).ok()?.read_exact(&mut magic).ok()?;
    if !is_compound_file(&magic) {
        return None;
    }
    let data = stream(file, &path, budget)?;
    read_within(&data, depth, budget)
}

/// The HTML body as text: binary in `codepage` (the Internet code page), or
/// a UTF-16 string.
fn html_body(
    file: &mut File<'_>,
    dir: &str,
    codepage: Option<u16>,
    budget: &mut Budget,
) -> Option<String> {
    let html = match stream(file, &child(dir, &stream_name(HTML, BINARY)), budget) {
        Some(bytes) => charset::decode_text(trim_nuls(&bytes, 1), encoding_label(codepage)),
        None => string_property(file, dir, HTML, None, budget)?,
    };
    Some(crate::html::to_text(&html)).filter(|t| !t.trim().is_empty())
}

/// The compressed RTF body as text ([`crate::rtf`]); `codepage` (the
/// Internet code page) is that of its 8-bit text when the RTF names none.
fn rtf_body(
    file: &mut File<'_>,
    dir: &str,
    codepage: Option<u16>,
    budget: &mut Budget,
) -> Option<String> {
    let compressed = stream(
        file,
        &child(dir, &stream_name(RTF_COMPRESSED, BINARY)),
        budget,
    )?;
    let limit = budget.rtf.min(budget.text.saturating_mul(RTF_PER_TEXT));
    let rtf = crate::rtf::decompress(&compressed, limit)?;
    budget.rtf = budget.rtf.saturating_sub(rtf.len());
    Some(crate::rtf::to_text(&rtf, codepage, budget.text)).filter(|t| !t.trim().is_empty())
}

/// A string property: UTF-16LE, else 8-bit in the code page.
fn string_property(
    file: &mut File<'_>,
    dir: &str,
    id: u16,
    codepage: Option<u16>,
    budget: &mut Budget,
) -> Option<String> {
    if let Some(bytes) = stream(file, &child(dir, &stream_name(id, UNICODE)), budget) {
        let units: Vec<u16> = trim_nuls(&bytes, 2)
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        return Some(String::from_utf16_lossy(&units));
    }
    let bytes = stream(file, &child(dir, &stream_name(id, STRING8)), budget)?;
    Some(charset::decode_text(
        trim_nuls(&bytes, 1),
        encoding_label(codepage),
    ))
}

/// A 32-bit integer property from `props`, a storage's fixed-size
/// properties stream, whose header is `header` bytes long; each property
/// after it is 16 bytes: tag (type, id), flags, value.
fn integer_property(props: &[u8], header: usize, id: u16) -> Option<u16> {
    let tag = (u32::from(id) << 16) | u32::from(INTEGER32);
    props
        .get(header..)?
        .chunks_exact(16)
        .find(|p| u32::from_le_bytes([p[0], p[1], p[2], p[3]]) == tag)
        .and_then(|p| u16::try_from(u32::from_le_bytes([p[8], p[9], p[10], p[11]])).ok())
}

/// The label of a Windows code page's encoding, for [`charset::decode_text`]
/// (`None`: unknown, guessed from the bytes, Japanese first).
fn encoding_label(codepage: Option<u16>) -> Option<&'static str> {
    codepage
        .and_then(codepage::to_encoding_no_replacement)
        .map(|e| e.name())
}

/// A stream's bytes; `None` when it is missing, too long, unreadable or
/// beyond the budget.
fn stream(file: &mut File<'_>, path: &str, budget: &mut Budget) -> Option<Vec<u8>> {
    let mut s = file.open_stream(path).ok()?;
    if s.len() > MAX_STREAM || s.len() > budget.bytes {
        return None;
    }
    budget.bytes -= s.len();
    let mut bytes = Vec::with_capacity(usize::try_from(s.len()).ok()?);
    s.read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

fn stream_name(id: u16, kind: u16) -> String {
    format!("__substg1.0_{id:04X}{kind:04X}")
}

/// The path of `name` inside the storage `dir`.
fn child(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// `bytes` without the NUL characters (of `width` bytes) that end it.
fn trim_nuls(bytes: &[u8], width: usize) -> &[u8] {
    let mut end = bytes.len() - bytes.len() % width;
    while end >= width && bytes[end - width..end].iter().all(|&b| b == 0) {
        end -= width;
    }
    &bytes[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_compound_files_are_read() {
        assert_eq!(read(b"From: a@b.example\r\n\r\nhello", 8), None);
        assert_eq!(read(&MAGIC, 8), None);
        let mut garbage = MAGIC.to_vec();
        garbage.resize(4096, 0xFF);
        assert_eq!(read(&garbage, 8), None);
    }

    /// A `.msg` with `copies` attachments whose data streams all point at the
    /// same sectors, which hold `inner` (as a hostile file may have them: the
    /// Compound File's directory allows it).
    fn aliased(inner: &[u8], copies: usize) -> Vec<u8> {
        use std::io::Write;
        let mut file = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
        file.create_stream("/__properties_version1.0")
            .unwrap()
            .write_all(&[0; 32])
            .unwrap();
        let subject: Vec<u8> = "level".encode_utf16().flat_map(u16::to_le_bytes).collect();
        file.create_stream("/__substg1.0_0037001F")
            .unwrap()
            .write_all(&subject)
            .unwrap();
        for n in 0..copies {
            let storage = format!("/__attach_version1.0_#{n:08X}");
            file.create_storage(&storage).unwrap();
            let data = if n == 0 { inner } else { &[][..] };
            file.create_stream(format!("{storage}/__substg1.0_37010102"))
                .unwrap()
                .write_all(data)
                .unwrap();
        }
        file.flush().unwrap();
        let mut bytes = file.into_inner().into_inner();
        // Directory entries are 128 bytes: the name in UTF-16 first, the
        // start sector at 116 and the size at 120. Those of `inner` (inside
        // the first stream) have other sizes.
        let name: Vec<u8> = "__substg1.0_37010102"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let size = |bytes: &[u8], at: usize| {
            u64::from_le_bytes(bytes[at + 120..at + 128].try_into().unwrap())
        };
        let entries: Vec<usize> = (0..bytes.len() / 128)
            .map(|i| i * 128)
            .filter(|&at| bytes[at..].starts_with(&name))
            .filter(|&at| [0, inner.len() as u64].contains(&size(&bytes, at)))
            .collect();
        assert_eq!(entries.len(), copies);
        let target = entries
            .iter()
            .find(|&&at| size(&bytes, at) != 0)
            .map(|&at| bytes[at + 116..at + 128].to_vec());
        for (at, target) in entries.iter().zip(std::iter::repeat(target).flatten()) {
            bytes[at + 116..at + 128].copy_from_slice(&target);
        }
        bytes
    }

    fn messages(m: &OutlookMessage) -> usize {
        1 + m.attached.iter().map(messages).sum::<usize>()
    }

    /// Eight levels of `.msg` files, each attached four times over the same
    /// bytes: 21,845 messages to read without a bound, in a file of 160 kB
    /// (and as many as one likes, in more levels or more copies).
    #[test]
    fn streams_that_share_their_bytes_are_not_read_over_and_over() {
        let mut file = aliased(&[], 0);
        for _ in 0..7 {
            file = aliased(&file, 4);
        }
        let inner = read(&aliased(&[], 0), 0).unwrap();
        assert_eq!(inner.subject, "level");
        let started = std::time::Instant::now();
        let m = read(&file, 7).unwrap();
        assert_eq!(m.subject, "level");
        // The first branch is read all the way down.
        let mut deepest = &m;
        let mut depth = 0;
        while let Some(next) = deepest.attached.first() {
            (deepest, depth) = (next, depth + 1);
        }
        assert_eq!(depth, 7);
        let read = messages(&m);
        assert!(read < 200, "{read} messages read from {} bytes", file.len());
        assert!(started.elapsed().as_secs() < 2, "{:?}", started.elapsed());
    }

    #[test]
    fn strings_end_at_their_nuls_whole_characters_only() {
        assert_eq!(trim_nuls(b"ab\0\0", 1), b"ab");
        assert_eq!(trim_nuls(&[0x42, 0x30, 0, 0, 0, 0], 2), &[0x42, 0x30]);
        // U+3000 (0x00 0x30 little-endian) ends in no NUL character.
        assert_eq!(trim_nuls(&[0x00, 0x30], 2), &[0x00, 0x30]);
        // An odd byte left over is no character.
        assert_eq!(trim_nuls(&[0x42, 0x30, 0x00], 2), &[0x42, 0x30]);
        assert_eq!(trim_nuls(&[0, 0], 2), b"");
    }
}
