//! Rendering shared by commands: terminal-safe text, JSON message objects,
//! tables, colour decisions.

/// Removes control characters and terminal escape sequences from text that
/// came from mail, so that a Subject cannot drive the terminal. Tabs and
/// newlines become spaces when `single_line`, else newlines are kept.
pub fn sanitize_text(s: &str, single_line: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                // ESC [ ... final byte (CSI), ESC ] ... BEL/ST (OSC), or ESC + one char.
                match chars.peek() {
                    Some('[') => {
                        chars.next();
                        while let Some(&n) = chars.peek() {
                            chars.next();
                            if ('@'..='~').contains(&n) {
                                break;
                            }
                        }
                    }
                    Some(']') => {
                        chars.next();
                        while let Some(n) = chars.next() {
                            if n == '\u{7}' {
                                break;
                            }
                            if n == '\u{1b}' {
                                chars.next();
                                break;
                            }
                        }
                    }
                    Some(_) => {
                        chars.next();
                    }
                    None => {}
                }
            }
            '\n' if !single_line => out.push('\n'),
            '\t' | '\n' | '\r' => out.push(' '),
            c if c.is_control() => {}
            // Bidi overrides can disguise text on a terminal.
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {}
            c => out.push(c),
        }
    }
    out
}

/// [`sanitize_text`] on one line.
pub fn sanitize(s: &str) -> String {
    sanitize_text(s, true)
}

/// A path as text, for people and JSON. Each part of it that is not UTF-8
/// is read as Shift_JIS (CP932) when it is valid as that: a Windows zip
/// unpacked as it was keeps its Japanese file names in Shift_JIS
/// (`受信トレイ.mbox`, not `��M�g���C.mbox`). Bytes valid as neither become
/// U+FFFD, and so do those of a part that reads as Shift_JIS only through
/// its user-defined area (private-use characters, which no file name from
/// Windows holds but a Latin-1 one reads as: `Größe.mbox`). The archive
/// keeps the path's bytes as they are; this is only how it is shown.
pub fn path_text(path: &std::path::Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_os_str().as_bytes();
    if let Ok(s) = std::str::from_utf8(bytes) {
        return s.to_string();
    }
    let parts: Vec<String> = bytes
        .split(|&b| b == b'/')
        .map(|part| match std::str::from_utf8(part) {
            Ok(s) => s.to_string(),
            Err(_) => encoding_rs::SHIFT_JIS
                .decode_without_bom_handling_and_without_replacement(part)
                .filter(|s| !s.chars().any(|c| ('\u{e000}'..='\u{f8ff}').contains(&c)))
                .map(|s| s.into_owned())
                .unwrap_or_else(|| String::from_utf8_lossy(part).into_owned()),
        })
        .collect();
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_in_shift_jis_are_shown_as_japanese() {
        use std::os::unix::ffi::OsStrExt;
        let path = |b: &[u8]| std::path::PathBuf::from(std::ffi::OsStr::from_bytes(b));
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("受信トレイ.mbox");
        let mut p = "/home/山田/エクスポート/".as_bytes().to_vec();
        p.extend_from_slice(&sjis);
        assert_eq!(
            path_text(&path(&p)),
            "/home/山田/エクスポート/受信トレイ.mbox"
        );
        assert_eq!(
            path_text(&path("/a/請求書.eml".as_bytes())),
            "/a/請求書.eml"
        );
        // Neither UTF-8 nor Shift_JIS: the bad bytes are marked.
        assert_eq!(
            path_text(&path(b"/a/x\xff\xfe.eml")),
            "/a/x\u{fffd}\u{fffd}.eml"
        );
        // Latin-1 that Shift_JIS reads only as private-use characters
        // (`Größe`, `señor`): the bad bytes are marked, not hidden.
        assert_eq!(
            path_text(&path(b"/a/Gr\xf6\xdfe.mbox")),
            "/a/Gr\u{fffd}\u{fffd}e.mbox"
        );
        assert_eq!(path_text(&path(b"/a/se\xf1or.eml")), "/a/se\u{fffd}or.eml");
    }

    #[test]
    fn escapes_never_reach_the_terminal() {
        assert_eq!(sanitize("\u{1b}[31m請求書\u{1b}[0m の件"), "請求書 の件");
        assert_eq!(sanitize("a\u{1b}]0;title\u{7}b"), "ab");
        assert_eq!(sanitize("x\u{7}\u{8}y\r\nz"), "xy  z");
        assert_eq!(
            sanitize_text("line1\nline2\u{1b}[2J", false),
            "line1\nline2"
        );
    }
}

use crate::cli::Format;
use std::io::IsTerminal;

/// True when stdout is a terminal.
pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// True when `e` comes from writing to a reader that stopped reading
/// (`kura search | head`): not an error, and not a reason for another exit
/// status than the command's own.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe))
    })
}

/// `printed` with a reader that stopped reading taken for success: for a
/// command whose exit status says what it found (`kura pending`: 1, something
/// waits), which the output cut short does not change.
pub fn unless_broken_pipe(printed: anyhow::Result<()>) -> anyhow::Result<()> {
    match printed {
        Err(e) if is_broken_pipe(&e) => Ok(()),
        other => other,
    }
}

/// Writes `line` and a newline to stdout: `println!` without its panic when
/// the reader stopped reading (then an error [`is_broken_pipe`] knows).
pub fn print_line(line: impl std::fmt::Display) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}

/// Colour only on a terminal, and never with `NO_COLOR` set.
pub fn color_enabled() -> bool {
    stdout_is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// `Auto` resolved: a table on a terminal, text lines otherwise.
pub fn resolve_format(f: Format) -> Format {
    match f {
        Format::Auto if stdout_is_terminal() => Format::Table,
        Format::Auto => Format::Text,
        other => other,
    }
}

/// [`resolve_format`] for a listing whose items have no id to print: `ids`
/// is a usage error (exit 2) naming the command, not text lines.
pub fn resolve_format_without_ids(f: Format, command: &str) -> anyhow::Result<Format> {
    if f == Format::Ids {
        return Err(crate::archive::ExitError {
            code: 2,
            message: format!(
                "{command} has no ids to list: use --format text, table, json or jsonl"
            ),
        }
        .into());
    }
    Ok(resolve_format(f))
}

/// An excerpt of `text` around the first occurrence of any of `terms`
/// (already folded with [`crate::tokenizer::fold`]), at most about `width`
/// characters, whitespace collapsed, with the byte ranges of every term
/// occurrence inside the excerpt.
pub fn snippet(text: &str, terms: &[String], width: usize) -> (String, Vec<(usize, usize)>) {
    // Fold char by char, remembering where each folded byte came from.
    let mut folded = String::with_capacity(text.len());
    let mut origin: Vec<usize> = Vec::with_capacity(text.len());
    let mut buf = [0u8; 4];
    for (i, c) in text.char_indices() {
        let before = folded.len();
        if c.is_ascii() {
            folded.push(c.to_ascii_lowercase());
        } else if is_fold_stable(c) {
            folded.push(c);
        } else {
            folded.push_str(&crate::tokenizer::fold(c.encode_utf8(&mut buf)));
        }
        origin.resize(origin.len() + folded.len() - before, i);
    }
    origin.push(text.len());
    let mut matches: Vec<(usize, usize)> = Vec::new();
    for t in terms.iter().filter(|t| !t.is_empty()) {
        for (pos, _) in folded.match_indices(t.as_str()) {
            let s = origin[pos];
            let e = origin.get(pos + t.len()).copied().unwrap_or(text.len());
            let e = if e <= s { next_boundary(text, s) } else { e };
            matches.push((s, e));
        }
    }
    matches.sort_unstable();
    let first = matches.first().map_or(0, |m| m.0);
    // Start a little before the first match, on a char boundary.
    let lead = width / 4;
    let mut start = first;
    let mut n = 0;
    while start > 0 && n < lead {
        start -= 1;
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        if text[start..].starts_with('\n') && n > 0 {
            start += 1;
            break;
        }
        n += 1;
    }
    let mut out = String::new();
    let mut ranges = Vec::new();
    let mut count = 0;
    let mut space = false;
    let mut open: Option<usize> = None;
    let mut it = matches.iter().filter(|m| m.0 >= start).peekable();
    for (i, c) in text[start..].char_indices() {
        let abs = start + i;
        if let Some(m) = it.peek()
            && abs >= m.0
            && open.is_none()
        {
            if space && !out.is_empty() {
                out.push(' ');
                space = false;
            }
            open = Some(out.len());
        }
        if c.is_whitespace() {
            space = true;
        } else if !c.is_control() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
            count += 1;
        }
        if let (Some(o), Some(m)) = (open, it.peek())
            && abs + c.len_utf8() >= m.1
        {
            ranges.push((o, out.len()));
            open = None;
            it.next();
            while it.peek().is_some_and(|n| n.0 < abs + c.len_utf8()) {
                it.next();
            }
        }
        if count >= width {
            out.push('…');
            break;
        }
    }
    (sanitize(&out), ranges)
}

/// Characters that NFKC and lowercasing leave alone (kana, common kanji and
/// Japanese punctuation): the common case in Japanese mail, folded for free.
fn is_fold_stable(c: char) -> bool {
    matches!(c as u32, 0x3001..=0x303F | 0x3041..=0x3096 | 0x30A1..=0x30FA | 0x30FC | 0x4E00..=0x9FFF)
}

fn next_boundary(text: &str, i: usize) -> usize {
    let mut e = i + 1;
    while e < text.len() && !text.is_char_boundary(e) {
        e += 1;
    }
    e.min(text.len())
}

/// Wraps the highlighted ranges in bold yellow (for terminals).
pub fn highlight(s: &str, ranges: &[(usize, usize)]) -> String {
    let mut out = String::with_capacity(s.len() + ranges.len() * 12);
    let mut last = 0;
    for &(a, b) in ranges {
        if a < last || b > s.len() || !s.is_char_boundary(a) || !s.is_char_boundary(b) {
            continue;
        }
        out.push_str(&s[last..a]);
        out.push_str("\u{1b}[1;33m");
        out.push_str(&s[a..b]);
        out.push_str("\u{1b}[0m");
        last = b;
    }
    out.push_str(&s[last..]);
    out
}

/// Cuts `s` to at most `width` display columns (CJK counts double), adding `…`.
pub fn truncate_columns(s: &str, width: usize) -> String {
    let mut out = String::new();
    let mut cols = 0;
    for c in s.chars() {
        let w = char_width(c);
        if cols + w > width {
            out.push('…');
            return out;
        }
        cols += w;
        out.push(c);
    }
    out
}

/// Display width of a character: 2 for East Asian wide/full-width ones.
pub fn char_width(c: char) -> usize {
    let u = c as u32;
    let wide = (0x1100..=0x115F).contains(&u)
        || (0x2E80..=0x303E).contains(&u)
        || (0x3041..=0x33FF).contains(&u)
        || (0x3400..=0x4DBF).contains(&u)
        || (0x4E00..=0x9FFF).contains(&u)
        || (0xA000..=0xA4CF).contains(&u)
        || (0xAC00..=0xD7A3).contains(&u)
        || (0xF900..=0xFAFF).contains(&u)
        || (0xFE30..=0xFE4F).contains(&u)
        || (0xFF00..=0xFF60).contains(&u)
        || (0xFFE0..=0xFFE6).contains(&u)
        || (0x1F300..=0x1FAFF).contains(&u)
        || (0x20000..=0x3FFFD).contains(&u);
    if wide { 2 } else { 1 }
}

/// `Name <address>` or just the address.
pub fn mailbox_label(name: &str, address: &str) -> String {
    match (name.is_empty(), address.is_empty()) {
        (false, false) => format!("{name} <{address}>"),
        (false, true) => name.to_string(),
        _ => address.to_string(),
    }
}

/// Short local date for tables: `2024-03-05 10:12`.
pub fn short_date(ts: i64, utc: bool) -> String {
    use chrono::TimeZone;
    match chrono::Utc.timestamp_opt(ts, 0).single() {
        Some(d) if utc => d.format("%Y-%m-%d %H:%M").to_string(),
        Some(d) => d
            .with_timezone(&chrono::Local)
            .format("%Y-%m-%d %H:%M")
            .to_string(),
        None => "-".into(),
    }
}

#[cfg(test)]
mod snippet_tests {
    use super::*;

    #[test]
    fn snippet_centres_on_the_match_and_marks_it() {
        let text =
            "いつもお世話になっております。\n先月分の請求書を添付いたします。\nご確認ください。";
        let (s, r) = snippet(text, &["請求書".to_string()], 60);
        assert!(s.contains("請求書を添付"), "{s}");
        assert_eq!(r.len(), 1);
        assert_eq!(&s[r[0].0..r[0].1], "請求書");
    }

    #[test]
    fn snippet_matches_case_and_width_insensitively() {
        let (s, r) = snippet(
            "Please find the INVOICE attached.",
            &["invoice".to_string()],
            80,
        );
        assert_eq!(&s[r[0].0..r[0].1], "INVOICE");
        let (s, r) = snippet("ｾｲｷｭｳ書の件", &[crate::tokenizer::fold("セイキュウ")], 80);
        assert_eq!(r.len(), 1, "{s}");
        assert_eq!(&s[r[0].0..r[0].1], "ｾｲｷｭｳ");
    }

    #[test]
    fn widths() {
        assert_eq!(truncate_columns("請求書の件について", 8), "請求書の…");
        assert_eq!(truncate_columns("abc", 8), "abc");
    }
}

/// A file name from a mail made safe to create inside a directory: no path
/// separators, no `..`, no leading dots, no control or NUL characters, no
/// drive letters, at most 200 bytes. Empty names become `fallback`.
pub fn safe_file_name(name: &str, fallback: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => out.push('_'),
            c if c.is_control() => {}
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {}
            c => out.push(c),
        }
    }
    let trimmed = out.trim().trim_start_matches('.').trim().to_string();
    let mut s = if trimmed.is_empty() || trimmed.chars().all(|c| c == '.' || c == '_') {
        fallback.to_string()
    } else {
        trimmed
    };
    if s.len() > MAX_FILE_NAME {
        // Cut the stem, keeping a short extension so the file still opens.
        let ext = match s.rfind('.') {
            Some(i) if i > 0 && s.len() - i <= 16 => s.split_off(i),
            _ => String::new(),
        };
        let mut cut = MAX_FILE_NAME - ext.len();
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str(&ext);
    }
    s
}

/// Longest file name [`safe_file_name`] makes, in bytes (leaves room for a
/// `-N` suffix below the usual 255-byte limit).
const MAX_FILE_NAME: usize = 200;

/// Creates a new file named `name` (sanitised) inside `dir`, never following
/// a symlink and never replacing an existing file: `name`, `name-1`, ... .
/// Returns the path written.
pub fn write_into_dir(
    dir: &std::path::Path,
    name: &str,
    fallback: &str,
    bytes: &[u8],
) -> anyhow::Result<std::path::PathBuf> {
    use anyhow::Context;
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let safe = safe_file_name(name, fallback);
    let (stem, ext) = match safe.rfind('.') {
        Some(i) if i > 0 => (&safe[..i], &safe[i..]),
        _ => (safe.as_str(), ""),
    };
    for i in 0..10_000 {
        let candidate = if i == 0 {
            safe.clone()
        } else {
            format!("{stem}-{i}{ext}")
        };
        let path = dir.join(&candidate);
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(&path);
        match f {
            Ok(mut f) => {
                f.write_all(bytes)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
        }
    }
    anyhow::bail!(
        "cannot find a free file name for {safe} in {}",
        dir.display()
    )
}

#[cfg(test)]
mod file_name_tests {
    use super::*;

    #[test]
    fn hostile_names_are_tamed() {
        assert_eq!(safe_file_name("../../etc/passwd", "a"), "_.._etc_passwd");
        assert_eq!(safe_file_name("/etc/shadow", "a"), "_etc_shadow");
        assert_eq!(
            safe_file_name("C:\\Windows\\x.exe", "a"),
            "C__Windows_x.exe"
        );
        assert_eq!(safe_file_name("a\u{0}b\u{1b}[31m.pdf", "a"), "ab[31m.pdf");
        assert_eq!(safe_file_name("..", "attachment-1"), "attachment-1");
        assert_eq!(safe_file_name(".bashrc", "a"), "bashrc");
        assert_eq!(safe_file_name("請求書.pdf", "a"), "請求書.pdf");
    }

    #[test]
    fn long_names_keep_their_extension() {
        let long = format!("{}.pdf", "御見積書".repeat(30));
        let s = safe_file_name(&long, "a");
        assert!(s.len() <= 200, "{}", s.len());
        assert!(
            s.ends_with(".pdf") && s.starts_with("御見積書御見積書"),
            "{s}"
        );
        // No dot, or a "extension" too long to be one: plain cut on a char boundary.
        let s = safe_file_name(&"あ".repeat(100), "a");
        assert_eq!(s, "あ".repeat(66));
        let s = safe_file_name(&format!("a.{}", "b".repeat(300)), "a");
        assert_eq!(s.len(), 200);
        assert!(s.starts_with("a.bbb"));
    }

    #[test]
    fn never_follows_or_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("victim");
        std::fs::write(&target, b"keep").unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join("x.pdf")).unwrap();
        let p = write_into_dir(dir.path(), "x.pdf", "a", b"data").unwrap();
        assert_eq!(p, dir.path().join("x-1.pdf"));
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        let p = write_into_dir(dir.path(), "../x.pdf", "a", b"data").unwrap();
        assert!(p.starts_with(dir.path()));
    }
}

/// A borderless table, as every listing prints on a terminal.
pub fn plain_table(header: Vec<&str>) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::NOTHING);
    t.set_header(header);
    t
}

/// Writes values one at a time, as they are made, so that memory stays flat
/// however many there are: one JSON array, or one object per line (JSONL).
pub struct JsonStream {
    lines: bool,
    empty: bool,
}

impl JsonStream {
    /// Starts the output: `lines` for JSONL, else an array.
    pub fn start(out: &mut impl std::io::Write, lines: bool) -> anyhow::Result<JsonStream> {
        if !lines {
            write!(out, "[")?;
        }
        Ok(JsonStream { lines, empty: true })
    }

    pub fn push<T: serde::Serialize>(
        &mut self,
        out: &mut impl std::io::Write,
        value: &T,
    ) -> anyhow::Result<()> {
        if !self.lines && !self.empty {
            write!(out, ",")?;
        }
        serde_json::to_writer(&mut *out, value)?;
        if self.lines {
            writeln!(out)?;
        }
        self.empty = false;
        Ok(())
    }

    /// Ends the output (the array's `]`).
    pub fn finish(self, out: &mut impl std::io::Write) -> anyhow::Result<()> {
        if !self.lines {
            writeln!(out, "]")?;
        }
        Ok(())
    }
}

/// Writes `rows` as one JSON array (`Json`) or one object per line (`Jsonl`).
/// Other formats are the caller's: nothing is written.
pub fn write_json_rows<T: serde::Serialize>(
    out: &mut impl std::io::Write,
    format: Format,
    rows: &[T],
) -> anyhow::Result<()> {
    match format {
        Format::Json => {
            serde_json::to_writer(&mut *out, rows)?;
            writeln!(out)?;
        }
        Format::Jsonl => {
            for r in rows {
                serde_json::to_writer(&mut *out, r)?;
                writeln!(out)?;
            }
        }
        _ => {}
    }
    Ok(())
}
