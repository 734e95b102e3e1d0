//! `kura thread`: a conversation as an indented tree (or nested JSON).

use crate::archive::ExitError;
use crate::cli::{GlobalArgs, QueryArgs, ThreadArgs, ThreadFormat};
use crate::output::{self, sanitize, sanitize_text, short_date};
use crate::pack::PackReader;
use crate::query::exec::Order;
use crate::store::{MessageView, Store};
use crate::threads::jwz::{self, ThreadMessage, TreeNode};
use anyhow::Result;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::Write;

/// Trees deeper than this are printed flat below that depth.
const MAX_DEPTH: usize = 200;

/// The same for JSON, where each level nests twice (node, `children`): kept
/// well inside the nesting limits of common parsers (serde_json 128, jq 1.6 256).
const JSON_MAX_DEPTH: usize = 50;

/// The messages of a thread, for the tree builder.
pub fn thread_messages(store: &Store, thread: i64) -> Result<Vec<ThreadMessage>> {
    let mut q = store
        .conn
        .prepare_cached("SELECT id, message_id, refs, in_reply_to, date FROM messages WHERE thread = ?1 ORDER BY date, id")?;
    let rows = q
        .query_map([thread], |r| {
            let refs: String = r.get(2)?;
            let irt: String = r.get(3)?;
            Ok(ThreadMessage {
                key: r.get(0)?,
                message_id: r.get(1)?,
                references: references_then_in_reply_to(&refs, &irt),
                date: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The ids of References (space-separated, as stored) and then those of
/// In-Reply-To, each In-Reply-To id once, at its last place (the message's
/// own word on its parent is last), in time linear in their number.
fn references_then_in_reply_to(refs: &str, irt: &str) -> Vec<String> {
    let irt: Vec<&str> = irt.split_whitespace().collect();
    let last: HashMap<&str, usize> = irt.iter().enumerate().map(|(i, &id)| (id, i)).collect();
    let mut references: Vec<String> = refs
        .split_whitespace()
        .filter(|id| !last.contains_key(id))
        .map(str::to_string)
        .collect();
    for (i, &id) in irt.iter().enumerate() {
        if last.get(id) == Some(&i) {
            references.push(id.to_string());
        }
    }
    references
}

/// The thread named by a thread id or a Message-ID.
fn resolve_thread(store: &Store, id: &str) -> Result<i64> {
    let t = id.trim().strip_prefix("thread:").unwrap_or(id.trim());
    if let Some(n) = crate::query::exec::parse_thread_id(t) {
        let exists: Option<i64> = rusqlite::OptionalExtension::optional(store.conn.query_row(
            "SELECT thread FROM messages WHERE thread = ?1 LIMIT 1",
            [n],
            |r| r.get(0),
        ))?;
        if let Some(t) = exists {
            return Ok(t);
        }
    }
    let row = super::show::resolve(store, id).map_err(|_| ExitError {
        code: 2,
        message: format!("no thread or message `{}` in the archive", sanitize(id)),
    })?;
    Ok(store
        .conn
        .query_row("SELECT thread FROM messages WHERE id = ?1", [row], |r| {
            r.get(0)
        })?)
}

pub fn run(global: &GlobalArgs, args: &ThreadArgs) -> Result<i32> {
    let archive = super::archive(global)?;
    let store = Store::open_ro(&archive)?;
    let threads: Vec<i64> = match (&args.id, &args.query) {
        (_, Some(q)) => {
            let qa = QueryArgs {
                query: vec![q.clone()],
                utc: args.utc,
            };
            let parsed = super::search::parse_query(&qa)?;
            let searcher = super::searcher(global, &archive, &parsed)?;
            let hits = searcher.search(&parsed, Order::Newest, 0, None)?;
            let mut threads = Vec::new();
            let mut seen = std::collections::HashSet::new();
            let mut q = store
                .conn
                .prepare_cached("SELECT thread FROM messages WHERE id = ?1")?;
            for h in hits {
                let t: i64 = q.query_row([h.id], |r| r.get(0))?;
                if seen.insert(t) {
                    threads.push(t);
                }
            }
            threads
        }
        (Some(id), None) => vec![resolve_thread(&store, id)?],
        (None, None) => Vec::new(),
    };
    let format = args.format;
    if threads.is_empty() {
        // What a query found is an array, also when it found nothing (as
        // `search --format json` prints `[]`).
        if format == ThreadFormat::Json {
            output::unless_broken_pipe(output::print_line("[]"))?;
        }
        return Ok(1);
    }
    let mut packs = PackReader::new(&archive.originals_dir());
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut json_threads = Vec::new();
    let color = output::color_enabled();
    for t in threads {
        let msgs = thread_messages(&store, t)?;
        let forest = jwz::build(&msgs);
        let mut ctx = Render {
            store: &store,
            packs: &mut packs,
            body: args.body || args.unquoted,
            unquoted: args.unquoted,
            utc: args.utc,
            color,
        };
        match format {
            ThreadFormat::Ids => {
                for m in &msgs {
                    writeln!(out, "{}", sanitize(&m.message_id))?;
                }
            }
            ThreadFormat::Json | ThreadFormat::Jsonl => {
                let nodes = forest
                    .iter()
                    .map(|n| ctx.json(n, 0))
                    .collect::<Result<Vec<_>>>()?;
                let v = json!({ "thread": crate::store::thread_label(t), "messages": msgs.len(), "tree": nodes });
                if format == ThreadFormat::Jsonl {
                    serde_json::to_writer(&mut out, &v)?;
                    writeln!(out)?;
                } else {
                    json_threads.push(v);
                }
            }
            ThreadFormat::Auto | ThreadFormat::Text => {
                let plural = if msgs.len() == 1 { "" } else { "s" };
                writeln!(
                    out,
                    "thread {} ({} message{plural})",
                    crate::store::thread_label(t),
                    msgs.len()
                )?;
                for n in &forest {
                    ctx.text(&mut out, n, 0)?;
                }
            }
        }
    }
    if format == ThreadFormat::Json {
        // One thread named by its id is an object; what a query found, an array.
        let v = if args.query.is_none() && json_threads.len() == 1 {
            json_threads.remove(0)
        } else {
            Value::Array(json_threads)
        };
        serde_json::to_writer(&mut out, &v)?;
        writeln!(out)?;
    }
    out.flush()?;
    Ok(0)
}

struct Render<'a> {
    store: &'a Store,
    packs: &'a mut PackReader,
    body: bool,
    /// Only each message's own text ([`crate::parse::DisplayText::unquoted`]).
    unquoted: bool,
    utc: bool,
    color: bool,
}

impl Render<'_> {
    fn view(&self, key: i64) -> Result<Option<MessageView>> {
        self.store.message_view(key, self.utc)
    }

    fn body_text(&mut self, key: i64) -> Result<crate::parse::DisplayText> {
        let raw = super::show::original(self.store, self.packs, key)?;
        let mut text = crate::parse::display(&raw);
        if self.unquoted {
            text.text = text.unquoted();
            text.forwarded_at = text.text.len();
        }
        Ok(text)
    }

    fn json(&mut self, n: &TreeNode, depth: usize) -> Result<Value> {
        let mut children = Vec::new();
        for c in &n.children {
            if depth >= JSON_MAX_DEPTH {
                children.extend(self.json_flat(c)?);
            } else {
                children.push(self.json(c, depth + 1)?);
            }
        }
        let mut v = self.json_node(n)?;
        v["children"] = Value::Array(children);
        Ok(v)
    }

    /// A node and its descendants as sibling nodes without children, in tree
    /// order (past [`JSON_MAX_DEPTH`]).
    fn json_flat(&mut self, n: &TreeNode) -> Result<Vec<Value>> {
        let mut stack = vec![n];
        let mut flat = Vec::new();
        while let Some(x) = stack.pop() {
            let mut v = self.json_node(x)?;
            v["children"] = Value::Array(Vec::new());
            flat.push(v);
            stack.extend(x.children.iter().rev());
        }
        Ok(flat)
    }

    /// One node without its children: the message object (with its text
    /// under --body), or a placeholder for a message never imported.
    fn json_node(&mut self, n: &TreeNode) -> Result<Value> {
        Ok(match n.key {
            Some(k) => match self.view(k)? {
                Some(view) => {
                    let mut v = serde_json::to_value(&view)?;
                    if self.body {
                        v["body"] = Value::String(self.body_text(k)?.text);
                    }
                    v
                }
                None => json!({ "message_id": n.message_id }),
            },
            None => json!({ "message_id": n.message_id, "missing": true }),
        })
    }

    fn text(&mut self, out: &mut impl Write, root: &TreeNode, depth: usize) -> Result<()> {
        // Iterative, so that a very deep thread cannot overflow the stack.
        let mut stack = vec![(root, depth)];
        while let Some((n, depth)) = stack.pop() {
            let indent = "  ".repeat(depth.min(MAX_DEPTH));
            match n.key {
                Some(k) => self.text_message(out, k, &indent)?,
                None => writeln!(out, "{indent}[missing: <{}>]", sanitize(&n.message_id))?,
            }
            stack.extend(n.children.iter().rev().map(|c| (c, depth + 1)));
        }
        Ok(())
    }

    fn text_message(&mut self, out: &mut impl Write, k: i64, indent: &str) -> Result<()> {
        let Some(v) = self.view(k)? else {
            return Ok(());
        };
        let from = if v.from.name.is_empty() {
            &v.from.address
        } else {
            &v.from.name
        };
        writeln!(
            out,
            "{indent}{}  {}  {}",
            short_date(v.timestamp, self.utc),
            sanitize(from),
            sanitize(&v.subject)
        )?;
        if self.body {
            let text = self.body_text(k)?;
            for part in text.parts() {
                let part_text = sanitize_text(part.text, false);
                for line in part_text.lines() {
                    if part.quoted && self.color && !line.is_empty() {
                        writeln!(out, "{indent}    \u{1b}[2m{line}\u{1b}[0m")?;
                    } else {
                        writeln!(out, "{indent}    {line}")?;
                    }
                }
            }
            writeln!(out)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn in_reply_to_ids_come_last_once() {
        assert_eq!(references_then_in_reply_to("a b c", "b"), ["a", "c", "b"]);
        assert_eq!(references_then_in_reply_to("a b", ""), ["a", "b"]);
        assert_eq!(references_then_in_reply_to("", "x y x"), ["y", "x"]);
        assert_eq!(
            references_then_in_reply_to("a a b", "c"),
            ["a", "a", "b", "c"]
        );
    }

    /// A message with 50,000 ids in References and in In-Reply-To: each
    /// In-Reply-To id was taken out of all the others one by one, and
    /// `kura thread` took minutes.
    #[test]
    fn fifty_thousand_in_reply_to_ids_take_linear_time() {
        let ids: Vec<String> = (0..50_000).map(|i| format!("r{i}@x")).collect();
        let joined = ids.join(" ");
        let t = Instant::now();
        let refs = references_then_in_reply_to(&joined, &joined);
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        assert_eq!(refs, ids);
    }
}
