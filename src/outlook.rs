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
//! - strings are UTF-16LE (type `001F`), or in the message's code page (type
//!   `001E`, written by Outlook before 2003 and by tools that still write
//!   "ANSI" files: code page 932, Shift_JIS, in Japan);
//! - the text is the plain-text body, else the HTML body converted by
//!   [`crate::html::to_text`]. A message holding only an RTF body (rare:
//!   Outlook writes the plain text beside it) gives its subject and sender
//!   alone.
//!
//! Reading never fails loudly: a damaged or hostile file gives `None` (or
//! less text), and a panic inside the reader is caught, as for mail-parser.
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
const BODY: u16 = 0x1000;
const HTML: u16 = 0x1013;
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
    /// Lower-cased SMTP address; empty when the file has only an Exchange one.
    pub from_address: String,
    /// The plain-text body, else the HTML body as text.
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
    if !is_compound_file(bytes) {
        return None;
    }
    std::panic::catch_unwind(|| {
        let mut file = cfb::CompoundFile::open(Cursor::new(bytes)).ok()?;
        read_message(&mut file, "/", depth)
    })
    .ok()
    .flatten()
}

type File<'a> = cfb::CompoundFile<Cursor<&'a [u8]>>;

/// The message whose properties are in the storage `dir` (the root, or an
/// attachment's embedded message).
fn read_message(file: &mut File<'_>, dir: &str, depth: usize) -> Option<OutlookMessage> {
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
    let message_cp = integer_property(file, dir, header, MESSAGE_CODEPAGE);
    let internet_cp = integer_property(file, dir, header, INTERNET_CODEPAGE);
    let (codepage, body_cp) = (message_cp.or(internet_cp), internet_cp.or(message_cp));
    let string = |file: &mut File<'_>, id| string_property(file, dir, id, codepage);
    let subject = string(file, SUBJECT).unwrap_or_default();
    let from_name = string(file, SENDER_NAME)
        .or_else(|| string(file, SENT_REPRESENTING_NAME))
        .unwrap_or_default();
    let from_address = [
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
    let text = match string_property(file, dir, BODY, body_cp).filter(|t| !t.trim().is_empty()) {
        Some(text) => text,
        None => html_body(file, dir, body_cp).unwrap_or_default(),
    };
    let mut attached = Vec::new();
    if depth > 0 {
        let attachments = names
            .iter()
            .filter(|n| n.starts_with("__attach_version1.0_"));
        for name in attachments {
            let storage = child(dir, name);
            if let Some(m) = attached_message(file, &storage, depth - 1) {
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
fn attached_message(file: &mut File<'_>, storage: &str, depth: usize) -> Option<OutlookMessage> {
    let embedded = child(storage, &stream_name(ATTACH_DATA, OBJECT));
    if file.is_storage(&embedded) {
        return read_message(file, &embedded, depth);
    }
    let data = stream(file, &child(storage, &stream_name(ATTACH_DATA, BINARY)))?;
    is_compound_file(&data)
        .then(|| read(&data, depth))
        .flatten()
}

/// The HTML body as text: binary in `codepage` (the Internet code page), or
/// a UTF-16 string.
fn html_body(file: &mut File<'_>, dir: &str, codepage: Option<u16>) -> Option<String> {
    let html = match stream(file, &child(dir, &stream_name(HTML, BINARY))) {
        Some(bytes) => charset::decode_text(trim_nuls(&bytes, 1), encoding_label(codepage)),
        None => string_property(file, dir, HTML, None)?,
    };
    Some(crate::html::to_text(&html)).filter(|t| !t.trim().is_empty())
}

/// A string property: UTF-16LE, else 8-bit in the code page.
fn string_property(
    file: &mut File<'_>,
    dir: &str,
    id: u16,
    codepage: Option<u16>,
) -> Option<String> {
    if let Some(bytes) = stream(file, &child(dir, &stream_name(id, UNICODE))) {
        let units: Vec<u16> = trim_nuls(&bytes, 2)
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        return Some(String::from_utf16_lossy(&units));
    }
    let bytes = stream(file, &child(dir, &stream_name(id, STRING8)))?;
    Some(charset::decode_text(
        trim_nuls(&bytes, 1),
        encoding_label(codepage),
    ))
}

/// A 32-bit integer property from the fixed-size properties stream of the
/// storage `dir`, whose header is `header` bytes long; each property after
/// it is 16 bytes: tag (type, id), flags, value.
fn integer_property(file: &mut File<'_>, dir: &str, header: usize, id: u16) -> Option<u16> {
    let props = stream(file, &child(dir, "__properties_version1.0"))?;
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

/// A stream's bytes; `None` when it is missing, too long or unreadable.
fn stream(file: &mut File<'_>, path: &str) -> Option<Vec<u8>> {
    let mut s = file.open_stream(path).ok()?;
    if s.len() > MAX_STREAM {
        return None;
    }
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
