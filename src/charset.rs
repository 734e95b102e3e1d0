//! Charset labels and Japanese decoding that mail-parser gets wrong.
//!
//! mail-parser 0.11 decodes the common labels, but silently mis-decodes labels
//! real Japanese mail uses (`cp932`, `CP50220`, `ISO-2022-JP-MS`, `eucjp`,
//! `Shift_JIS-2004`, ...), raw ISO-2022-JP or Shift_JIS bytes in headers, and
//! parts with no or a wrong charset. This module maps such labels to the right
//! encoding_rs decoder, guesses Japanese encodings when the declared one is
//! absent or wrong, and keeps carrier emoji (Shift_JIS user-defined area, mapped
//! to the Private Use Area as Windows does) and Windows characters (①, 髙, ～).

/// The encoding a charset label names, with the aliases real Japanese mail uses.
/// `None` when the label is unknown (the caller then guesses).
pub fn encoding_for_label(_label: &str) -> Option<&'static encoding_rs::Encoding> {
    todo!()
}

/// Decodes a body part's bytes (already transfer-decoded) to text. `label` is
/// the declared charset, if any. Never fails: a missing or wrong label falls
/// back to UTF-8 if valid, then to the Japanese encodings, then to lossy text.
pub fn decode_text(_bytes: &[u8], _label: Option<&str>) -> String {
    todo!()
}

/// Decodes an unstructured header value as found in the raw message: RFC 2047
/// encoded words (any label known to [`encoding_for_label`]; adjacent encoded
/// words joined; B and Q), raw ISO-2022-JP escape sequences, and raw 8-bit
/// Shift_JIS/EUC-JP/UTF-8. Folding whitespace is unfolded.
pub fn decode_header(_raw: &[u8]) -> String {
    todo!()
}

/// True when text decoded by mail-parser needs to be redone by this module:
/// it holds U+FFFD, undecoded encoded words (`=?...?=`) or ISO-2022-JP escapes.
pub fn needs_redecode(_text: &str) -> bool {
    todo!()
}
