//! `kura tag` and `kura tags`: tags on messages.
//!
//! Tags live only in the metadata store (the `tags` table: message row, tag
//! name), so they survive re-imports (import never deletes them) and index
//! rebuilds; the query `tag:NAME` resolves them through the store.
//!
//! Tagging resolves the query to message rows, then writes every change in one
//! SQLite transaction. It never takes the import lock: a running import
//! commits a batch at a time, and the store's busy timeout waits for the
//! current batch instead of failing.
//!
//! `--dump` writes one line per tagged message, `<message-id> tag1 tag2 ...`,
//! sorted by Message-ID; `--restore` reads that format and replaces the tags
//! of the messages it lists.

use crate::archive::{Archive, ExitError, private_file_options};
use crate::cli::{Format, GlobalArgs, QueryArgs, TagArgs, TagsArgs};
use crate::output::{self, sanitize};
use crate::query::exec::Order;
use crate::store::Store;
use anyhow::{Context, Result};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

/// The longest tag name, in bytes.
pub const MAX_TAG_BYTES: usize = 64;

/// At most this many unknown Message-IDs are named by `--restore`.
const UNKNOWN_SHOWN: usize = 10;

/// One operation of `kura tag`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagOp {
    /// `+NAME`
    Add(String),
    /// `-NAME`
    Remove(String),
}

impl TagOp {
    /// The tag name operated on.
    pub fn name(&self) -> &str {
        match self {
            TagOp::Add(n) | TagOp::Remove(n) => n,
        }
    }
}

/// Checks a tag name: 1 to [`MAX_TAG_BYTES`] bytes, no whitespace, no
/// control characters. The error says what is wrong.
pub fn check_tag_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() {
        return Err("a tag name cannot be empty".into());
    }
    if name.chars().any(char::is_control) {
        return Err(format!(
            "tag name {:?} contains a control character",
            sanitize(name)
        ));
    }
    if name.chars().any(char::is_whitespace) {
        return Err(format!("tag name {name:?} contains whitespace"));
    }
    if name.len() > MAX_TAG_BYTES {
        return Err(format!(
            "tag name {name:?} is {} bytes long (at most {MAX_TAG_BYTES})",
            name.len()
        ));
    }
    Ok(())
}

/// Splits the words of `kura tag` into the tag operations and the query
/// words. `options` are the operations of `--add` and `--remove`; then come
/// the leading `+NAME` and `-NAME` words, up to the first other word or a
/// `--` that follows an operation. A `--` before any operation only ends the
/// options (`kura tag -- -q QUERY` removes the tag `q`). At least one
/// operation and one query word are required; the error is a usage message.
pub fn split_words(
    options: Vec<TagOp>,
    words: &[String],
) -> std::result::Result<(Vec<TagOp>, Vec<String>), String> {
    for op in &options {
        check_tag_name(op.name()).map_err(|e| format!("{e} (in --add or --remove)"))?;
    }
    if let Some(both) = options.iter().find(|op| {
        matches!(op, TagOp::Add(_)) && options.contains(&TagOp::Remove(op.name().to_string()))
    }) {
        return Err(format!(
            "the tag {:?} is both added (--add) and removed (--remove)",
            sanitize(both.name())
        ));
    }
    let mut ops = options;
    let mut rest = words;
    while let Some((word, tail)) = rest.split_first() {
        if word == "--" {
            rest = tail;
            if ops.is_empty() {
                continue;
            }
            break;
        }
        if word.starts_with("--") {
            return Err(misplaced_option(word));
        }
        let op = if let Some(name) = word.strip_prefix('+') {
            TagOp::Add(name.to_string())
        } else if let Some(name) = word.strip_prefix('-') {
            TagOp::Remove(name.to_string())
        } else {
            break;
        };
        check_tag_name(op.name()).map_err(|e| format!("{e} (in `{}`)", sanitize(word)))?;
        ops.push(op);
        rest = tail;
    }
    // `kura tag +a tag:x --quiet`: clap hands the option over as a query word,
    // where it would silently change which messages are tagged.
    if let Some(word) = rest.iter().find(|w| w.starts_with("--") && w.len() > 2) {
        return Err(misplaced_option(word));
    }
    if ops.is_empty() {
        return Err(
            "no tag operation: give +TAG (add) or -TAG (remove) before the query, \
             or --add TAG or --remove TAG, e.g. kura tag +done thread:42"
                .into(),
        );
    }
    if rest.is_empty() {
        return Err(
            "no query: give the messages to tag after the tag operations \
             (`*` for every message; put -- before a query that starts with -)"
                .into(),
        );
    }
    Ok((ops, rest.to_vec()))
}

/// The words of `kura tag` as typed: clap keeps the words after a leading
/// `--` apart (`after_separator`), and a later `--` among `words`.
pub fn typed_words(args: &TagArgs) -> Vec<String> {
    let mut all = args.words.clone();
    if !args.after_separator.is_empty() {
        all.push("--".to_string());
        all.extend(args.after_separator.iter().cloned());
    }
    all
}

fn misplaced_option(word: &str) -> String {
    format!(
        "`{}`: options go before the tag operations (kura tag [OPTIONS] +TAG|-TAG... [--] QUERY...)",
        sanitize(word)
    )
}

/// The operations with the same effect, one per tag name: the last operation
/// on a name wins, as when applied in order. Counting the rows each one
/// changes then counts real changes (`+a -a` changes nothing).
pub fn normalize_ops(ops: &[TagOp]) -> Vec<TagOp> {
    let mut out: Vec<TagOp> = Vec::with_capacity(ops.len());
    for op in ops.iter().rev() {
        if !out.iter().any(|o| o.name() == op.name()) {
            out.push(op.clone());
        }
    }
    out.reverse();
    out
}

fn usage(message: String) -> anyhow::Error {
    ExitError { code: 2, message }.into()
}

/// `kura tag`: applies tag operations to the matches of a query, or dumps or
/// restores all tags.
pub fn run(global: &GlobalArgs, args: &TagArgs) -> Result<i32> {
    if let Some(path) = &args.dump {
        let archive = super::archive(global)?;
        return dump_to(&archive, path, global.quiet);
    }
    if let Some(path) = &args.restore {
        let archive = super::archive(global)?;
        return restore_from(&archive, path, global.quiet);
    }
    let options = args
        .add
        .iter()
        .map(|t| TagOp::Add(t.clone()))
        .chain(args.remove.iter().map(|t| TagOp::Remove(t.clone())))
        .collect();
    let (ops, words) = split_words(options, &typed_words(args)).map_err(|e| {
        // `kura tag -q '*'`: clap took -q for --quiet.
        if global.quiet && e.starts_with("no tag operation") {
            usage(format!(
                "{e} (-q is --quiet: to remove the tag q, write kura tag -- -q QUERY or --remove q)"
            ))
        } else {
            usage(e)
        }
    })?;
    let q = super::search::parse_query(&QueryArgs {
        query: words,
        utc: args.utc,
    })?;
    let archive = super::archive(global)?;
    let mut rows: Vec<i64> = {
        let searcher = super::searcher(global, &archive, &q)?;
        searcher
            .search(&q, Order::Newest, 0, None)?
            .iter()
            .map(|h| h.id)
            .collect()
    };
    // Row order is the order of the tags table's key: writes stay local.
    rows.sort_unstable();
    rows.dedup();
    let mut store = Store::open_rw(&archive)?;
    let changed = apply(&mut store, &rows, &ops)?;
    if !global.quiet {
        eprintln!("tag: {changed} messages changed");
    }
    Ok(0)
}

/// Applies `ops` to the message `rows` in one transaction; returns the number
/// of messages whose tags changed.
pub fn apply(store: &mut Store, rows: &[i64], ops: &[TagOp]) -> Result<usize> {
    let ops = normalize_ops(ops);
    let tx = store
        .conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .context("cannot start writing tags to the store")?;
    let mut changed = 0;
    {
        let mut add = tx.prepare("INSERT OR IGNORE INTO tags(message, tag) VALUES (?1, ?2)")?;
        let mut remove = tx.prepare("DELETE FROM tags WHERE message = ?1 AND tag = ?2")?;
        for &row in rows {
            let mut n = 0;
            for op in &ops {
                n += match op {
                    TagOp::Add(t) => add.execute(params![row, t])?,
                    TagOp::Remove(t) => remove.execute(params![row, t])?,
                };
            }
            if n > 0 {
                changed += 1;
            }
        }
    }
    tx.commit().context("cannot commit the tags to the store")?;
    Ok(changed)
}

/// Writes the dump format (one line per tagged message, sorted by
/// Message-ID, tags sorted); returns the number of messages written.
pub fn dump(store: &Store, out: &mut impl Write) -> Result<usize> {
    let mut q = store.conn.prepare(
        "SELECT m.message_id, t.tag FROM tags t JOIN messages m ON m.id = t.message \
         ORDER BY m.message_id, t.tag",
    )?;
    let mut rows = q.query([])?;
    let mut current: Option<String> = None;
    let mut n = 0;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let tag: String = r.get(1)?;
        if current.as_deref() != Some(id.as_str()) {
            if current.is_some() {
                writeln!(out)?;
            }
            write!(out, "<{id}>")?;
            n += 1;
            current = Some(id);
        }
        write!(out, " {tag}")?;
    }
    if current.is_some() {
        writeln!(out)?;
    }
    Ok(n)
}

fn is_stdio(path: &Path) -> bool {
    path.as_os_str() == "-"
}

fn dump_to(archive: &Archive, path: &Path, quiet: bool) -> Result<i32> {
    let store = Store::open_ro(archive)?;
    let n = if is_stdio(path) {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        let n = dump(&store, &mut out)?;
        out.flush()?;
        n
    } else {
        // Message-IDs and tags are as private as the archive.
        let file = private_file_options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let mut out = std::io::BufWriter::new(file);
        let n =
            dump(&store, &mut out).with_context(|| format!("cannot write {}", path.display()))?;
        out.flush()
            .with_context(|| format!("cannot write {}", path.display()))?;
        n
    };
    if !quiet {
        let to = if is_stdio(path) {
            "standard output".to_string()
        } else {
            path.display().to_string()
        };
        eprintln!("tag: dumped the tags of {n} messages to {}", sanitize(&to));
    }
    Ok(0)
}

/// Parses the dump format: `(Message-ID without <>, tags)` in file order,
/// lines for the same message merged. Blank lines and lines starting with `#`
/// are ignored; the error of a malformed line names its number (from 1).
pub fn parse_dump(bytes: &[u8]) -> std::result::Result<Vec<(String, Vec<String>)>, String> {
    let mut merged: BTreeMap<String, (usize, Vec<String>)> = BTreeMap::new();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let number = i + 1;
        let line = std::str::from_utf8(raw)
            .map_err(|_| format!("line {number}: not valid UTF-8"))?
            .trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        let Some(first) = words.next() else { continue };
        let id = parse_id(first).ok_or_else(|| {
            format!(
                "line {number}: `{}` is not a Message-ID (expected `<message-id> tag1 tag2 ...`)",
                sanitize(first)
            )
        })?;
        let next = merged.len();
        let (_, tags) = merged.entry(id.to_string()).or_insert((next, Vec::new()));
        for tag in words {
            check_tag_name(tag).map_err(|e| format!("line {number}: {e}"))?;
            if !tags.iter().any(|t| t == tag) {
                tags.push(tag.to_string());
            }
        }
    }
    let mut out: Vec<(usize, String, Vec<String>)> = merged
        .into_iter()
        .map(|(id, (order, tags))| (order, id, tags))
        .collect();
    out.sort_by_key(|(order, _, _)| *order);
    Ok(out.into_iter().map(|(_, id, tags)| (id, tags)).collect())
}

/// `<id>` or `id`: the Message-ID, which has no angle brackets inside.
fn parse_id(word: &str) -> Option<&str> {
    let id = match word.strip_prefix('<') {
        Some(rest) => rest.strip_suffix('>')?,
        None => word,
    };
    (!id.is_empty() && !id.contains(['<', '>'])).then_some(id)
}

/// What a restore did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restored {
    /// Messages whose tags were replaced.
    pub messages: usize,
    /// Listed Message-IDs that are not in the archive.
    pub unknown: Vec<String>,
}

/// Replaces the tags of every listed message that is in the archive, in one
/// transaction; the others are returned as unknown.
pub fn restore(store: &mut Store, entries: &[(String, Vec<String>)]) -> Result<Restored> {
    let tx = store
        .conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .context("cannot start writing tags to the store")?;
    let mut done = Restored::default();
    {
        let mut find = tx.prepare("SELECT id FROM messages WHERE message_id = ?1")?;
        let mut clear = tx.prepare("DELETE FROM tags WHERE message = ?1")?;
        let mut add = tx.prepare("INSERT OR IGNORE INTO tags(message, tag) VALUES (?1, ?2)")?;
        for (id, tags) in entries {
            let row: Option<i64> = find.query_row([id], |r| r.get(0)).optional()?;
            let Some(row) = row else {
                done.unknown.push(id.clone());
                continue;
            };
            clear.execute([row])?;
            for tag in tags {
                add.execute(params![row, tag])?;
            }
            done.messages += 1;
        }
    }
    tx.commit().context("cannot commit the tags to the store")?;
    Ok(done)
}

fn restore_from(archive: &Archive, path: &Path, quiet: bool) -> Result<i32> {
    let mut bytes = Vec::new();
    let name = if is_stdio(path) {
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .context("cannot read standard input")?;
        "standard input".to_string()
    } else {
        bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        path.display().to_string()
    };
    let entries = parse_dump(&bytes).map_err(|e| usage(format!("{}: {e}", sanitize(&name))))?;
    archive.require()?;
    let mut store = Store::open_rw(archive)?;
    let done = restore(&mut store, &entries)?;
    if !quiet {
        eprintln!(
            "tag: restored the tags of {} messages, {} unknown Message-IDs",
            done.messages,
            done.unknown.len()
        );
        for id in done.unknown.iter().take(UNKNOWN_SHOWN) {
            eprintln!("tag: not in this archive: <{}>", sanitize(id));
        }
        if done.unknown.len() > UNKNOWN_SHOWN {
            eprintln!(
                "tag: ... and {} more not in this archive",
                done.unknown.len() - UNKNOWN_SHOWN
            );
        }
    }
    Ok(0)
}

/// A tag and the number of messages that have it (`kura tags` JSON).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TagCount {
    pub tag: String,
    pub messages: i64,
}

/// Every tag in use with its message count, by name.
pub fn tag_counts(store: &Store) -> Result<Vec<TagCount>> {
    let mut q = store
        .conn
        .prepare("SELECT tag, count(*) FROM tags GROUP BY tag ORDER BY tag")?;
    let rows = q
        .query_map([], |r| {
            Ok(TagCount {
                tag: r.get(0)?,
                messages: r.get(1)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// `kura tags`: the tags in use, with message counts.
pub fn list(global: &GlobalArgs, args: &TagsArgs) -> Result<i32> {
    let archive = super::archive(global)?;
    let store = Store::open_ro(&archive)?;
    let tags = tag_counts(&store)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let format = output::resolve_format(args.format);
    match format {
        Format::Json | Format::Jsonl => output::write_json_rows(&mut out, format, &tags)?,
        Format::Ids => {
            for t in &tags {
                writeln!(out, "{}", sanitize(&t.tag))?;
            }
        }
        Format::Table => {
            let mut table = output::plain_table(vec!["tag", "messages"]);
            for t in &tags {
                table.add_row(vec![sanitize(&t.tag), t.messages.to_string()]);
            }
            writeln!(out, "{table}")?;
        }
        _ => {
            for t in &tags {
                writeln!(out, "{}\t{}", sanitize(&t.tag), t.messages)?;
            }
        }
    }
    out.flush()?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn tag_names_are_checked() {
        assert!(check_tag_name("done").is_ok());
        assert!(check_tag_name("要対応").is_ok());
        assert!(check_tag_name("a/b:c-d_e.f").is_ok());
        assert!(check_tag_name(&"x".repeat(64)).is_ok());
        // 22 three-byte characters: 66 bytes.
        let long = "あ".repeat(22);
        assert!(check_tag_name(&long).unwrap_err().contains("66 bytes"));
        assert!(check_tag_name(&"x".repeat(65)).is_err());
        assert!(check_tag_name("").unwrap_err().contains("empty"));
        assert!(check_tag_name("a b").unwrap_err().contains("whitespace"));
        assert!(
            check_tag_name("a\u{3000}b")
                .unwrap_err()
                .contains("whitespace")
        );
        assert!(check_tag_name("a\tb").unwrap_err().contains("control"));
        assert!(
            check_tag_name("a\u{1b}[31m")
                .unwrap_err()
                .contains("control")
        );
    }

    #[test]
    fn words_split_into_operations_and_query() {
        let (ops, q) = split_words(vec![], &words("+done -todo from:tanaka 請求書")).unwrap();
        assert_eq!(
            ops,
            vec![TagOp::Add("done".into()), TagOp::Remove("todo".into())]
        );
        assert_eq!(q, words("from:tanaka 請求書"));
        // `--` ends the operations: the query may start with `-`.
        let (ops, q) = split_words(vec![], &words("+spam -- -domain:example.com")).unwrap();
        assert_eq!(ops, vec![TagOp::Add("spam".into())]);
        assert_eq!(q, words("-domain:example.com"));
        // Without `--`, a leading `-word` is an operation.
        assert!(
            split_words(vec![], &words("+spam -domain:example.com"))
                .unwrap_err()
                .contains("no query")
        );
    }

    #[test]
    fn options_and_a_leading_separator() {
        let add = |t: &str| TagOp::Add(t.into());
        let remove = |t: &str| TagOp::Remove(t.into());
        // A `--` before any operation only ends the options.
        let (ops, q) = split_words(vec![], &words("-- -q *")).unwrap();
        assert_eq!((ops, q), (vec![remove("q")], words("*")));
        let (ops, q) = split_words(vec![], &words("-- +a -- -spam")).unwrap();
        assert_eq!((ops, q), (vec![add("a")], words("-spam")));
        // After --add or --remove, a `--` ends the operations.
        let (ops, q) = split_words(vec![remove("urgent")], &words("-- -spam")).unwrap();
        assert_eq!((ops, q), (vec![remove("urgent")], words("-spam")));
        // The options come first, then the words' operations, in order.
        let (ops, q) = split_words(
            vec![add("done"), remove("todo")],
            &words("-urgent +x thread:4"),
        )
        .unwrap();
        assert_eq!(
            (ops, q),
            (
                vec![add("done"), remove("todo"), remove("urgent"), add("x")],
                words("thread:4")
            )
        );
        let (ops, q) = split_words(vec![add("done")], &words("*")).unwrap();
        assert_eq!((ops, q), (vec![add("done")], words("*")));
        for (options, w, why) in [
            (vec![add("a"), remove("a")], "*", "both added"),
            (vec![add("")], "*", "empty"),
            (vec![add("a b")], "*", "whitespace"),
            (vec![remove("urgent")], "-spam", "no query"),
            (vec![remove("urgent")], "--", "no query"),
            (vec![], "-- thread:4", "no tag operation"),
        ] {
            let e = split_words(options, &words(w)).unwrap_err();
            assert!(e.contains(why), "{w}: {e}");
        }
    }

    #[test]
    fn bad_words_are_usage_errors() {
        assert!(
            split_words(vec![], &words("thread:4"))
                .unwrap_err()
                .contains("no tag operation")
        );
        assert!(
            split_words(vec![], &words("+done"))
                .unwrap_err()
                .contains("no query")
        );
        assert!(
            split_words(vec![], &words("+done --"))
                .unwrap_err()
                .contains("no query")
        );
        assert!(
            split_words(vec![], &words("+ thread:4"))
                .unwrap_err()
                .contains("empty")
        );
        assert!(
            split_words(vec![], &words("- thread:4"))
                .unwrap_err()
                .contains("empty")
        );
        let long = format!("+{} thread:4", "x".repeat(65));
        assert!(
            split_words(vec![], &words(&long))
                .unwrap_err()
                .contains("65 bytes")
        );
        assert!(
            split_words(vec![], &words("+a\u{7}b thread:4"))
                .unwrap_err()
                .contains("control")
        );
        for misplaced in ["+done thread:4 --quiet", "+done --utc date:2024"] {
            assert!(
                split_words(vec![], &words(misplaced))
                    .unwrap_err()
                    .contains("options go before"),
                "{misplaced}"
            );
        }
    }

    #[test]
    fn the_last_operation_on_a_tag_wins() {
        let ops = vec![
            TagOp::Add("a".into()),
            TagOp::Remove("b".into()),
            TagOp::Remove("a".into()),
            TagOp::Add("c".into()),
        ];
        assert_eq!(
            normalize_ops(&ops),
            vec![
                TagOp::Remove("b".into()),
                TagOp::Remove("a".into()),
                TagOp::Add("c".into())
            ]
        );
    }

    #[test]
    fn dump_lines_are_parsed() {
        let text = "# tags of the shared mailbox\n\
                    <b@example.com> done 要対応\r\n\
                    \n\
                    a@example.com urgent\n\
                    <b@example.com> done later\n\
                    <c@example.com>\n";
        let entries = parse_dump(text.as_bytes()).unwrap();
        assert_eq!(
            entries,
            vec![
                (
                    "b@example.com".to_string(),
                    vec!["done".to_string(), "要対応".into(), "later".into()]
                ),
                ("a@example.com".to_string(), vec!["urgent".to_string()]),
                ("c@example.com".to_string(), vec![]),
            ]
        );
    }

    #[test]
    fn malformed_dump_lines_are_named() {
        let bad = |text: &[u8]| parse_dump(text).unwrap_err();
        assert!(bad(b"<a@x> ok\n<b@x bad\n").starts_with("line 2:"));
        assert!(bad(b"\n\n<>\n").starts_with("line 3:"));
        assert!(bad(b"# c\n<a@x> ok\nx<y@z> t\n").starts_with("line 3:"));
        let long = format!("<a@x> {}\n", "t".repeat(65));
        assert!(bad(long.as_bytes()).starts_with("line 1:"));
        let e = bad(b"<a@x> ok\n<b@x> \xff\n");
        assert!(e.starts_with("line 2:") && e.contains("UTF-8"), "{e}");
        assert!(bad(b"<a@x> t\x01\n").contains("control"));
    }
}
