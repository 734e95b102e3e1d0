//! Finding and reading the mail an import is given: Maildir folders (with
//! `cur/` or `new/`, nested Maildir++ folders too), mbox files (mboxo and
//! mboxrd, also `.mbox.gz`) and single `.eml` files or folders of them.

use std::path::{Path, PathBuf};

/// What kind of source a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// One message per file inside a Maildir `cur/` or `new/` folder.
    MaildirFile,
    /// A single message file (`.eml`, or any file that is not mbox).
    Eml,
    /// An mbox file; `gzip` when it is `.mbox.gz` (or gzip magic).
    Mbox { gzip: bool },
}

/// One file found under the paths given to import.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub kind: SourceKind,
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i64,
}

/// Walks each path and lists the files to import, in a stable order (sorted by
/// path within each argument). An argument that does not exist or cannot be
/// read is an error naming it. Hidden files, `tmp/` of a Maildir, and files
/// kura itself writes (`.kura*`) are skipped.
/// Files to import, and files passed over with the reason.
#[derive(Debug, Default)]
pub struct Discovery {
    pub files: Vec<SourceFile>,
    pub ignored: Vec<(PathBuf, String)>,
}

pub fn discover(_paths: &[PathBuf]) -> anyhow::Result<Discovery> {
    todo!()
}

/// One message read from an mbox file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MboxMessage {
    /// Byte offset of the message's `From ` separator line in the (decompressed) file.
    pub offset: u64,
    /// The message bytes: what follows the `From ` line, `>From ` unquoted
    /// (mboxrd: one `>` removed from lines matching `^>+From `), and without the
    /// blank line that separates it from the next message. Line endings as in the file.
    pub bytes: Vec<u8>,
}

/// Streams the messages of an mbox, starting at byte `start` (0, or the offset
/// of a `From ` line where an earlier import stopped). Memory is bounded by the
/// largest message, not by the file.
pub struct MboxReader {
    _private: (),
}

impl MboxReader {
    /// Opens `path` (gzip-decompressing when `gzip`), positioned at `start`.
    pub fn open(_path: &Path, _gzip: bool, _start: u64) -> anyhow::Result<Self> {
        todo!()
    }

    /// The byte offset just past the last message returned (where a resume starts).
    pub fn position(&self) -> u64 {
        todo!()
    }
}

impl Iterator for MboxReader {
    type Item = anyhow::Result<MboxMessage>;
    fn next(&mut self) -> Option<Self::Item> {
        todo!()
    }
}

/// Quotes a message for an mboxrd file (`>` added to lines matching `^>*From `),
/// the inverse of what [`MboxReader`] does.
pub fn mboxrd_quote(_bytes: &[u8], _out: &mut Vec<u8>) {
    todo!()
}
