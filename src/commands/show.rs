//! `kura show`: one message, decoded; `--raw` the original; `--part` an attachment.

use crate::archive::ExitError;
use crate::cli::{GlobalArgs, ShowArgs, ShowFormat};
use crate::output::{self, mailbox_label, sanitize, sanitize_text};
use crate::pack::PackReader;
use crate::store::{LocationView, MessageView, Store};
use anyhow::{Context, Result};
use std::io::Write;

/// Finds a message row by Message-ID (`<id>`, `id`, or `id:id`); exit 2 when unknown.
pub fn resolve(store: &Store, id: &str) -> Result<i64> {
    let id = id.trim();
    let id = id.strip_prefix("id:").unwrap_or(id);
    let id = id.trim_start_matches('<').trim_end_matches('>');
    store.message_row(id)?.ok_or_else(|| {
        ExitError {
            code: 2,
            message: format!(
                "no message with Message-ID <{}> in the archive",
                sanitize(id)
            ),
        }
        .into()
    })
}

/// The original bytes of a message row.
pub fn original(store: &Store, packs: &mut PackReader, row: i64) -> Result<Vec<u8>> {
    let (r, size, hash) = store
        .original_ref(row)?
        .context("message vanished from the archive")?;
    packs.read(r, size, &hash)
}

pub fn run(global: &GlobalArgs, args: &ShowArgs) -> Result<i32> {
    let archive = super::archive(global)?;
    let store = Store::open_ro(&archive)?;
    let row = resolve(&store, &args.id)?;
    let mut packs = PackReader::new(&archive.originals_dir());
    let raw = original(&store, &mut packs, row)?;
    let mut out = std::io::stdout().lock();
    if args.raw {
        out.write_all(&raw)?;
        return Ok(0);
    }
    if let Some(n) = args.part {
        let (name, bytes) = crate::parse::attachment_bytes(&raw, n).ok_or_else(|| ExitError {
            code: 2,
            message: format!("the message has no attachment {n}"),
        })?;
        let target = args.output.as_deref().context("--part needs --output")?;
        if target.as_os_str() == "-" {
            out.write_all(&bytes)?;
            out.flush()?;
            if !global.quiet {
                eprintln!(
                    "saved attachment {n} ({} bytes) to standard output",
                    bytes.len()
                );
            }
            return Ok(0);
        }
        let written = if target.is_dir() {
            // A nameless forwarded message is saved as a mail file.
            let forwarded = store
                .message_view(row, false)?
                .and_then(|v| v.attachments.into_iter().nth(n.saturating_sub(1)))
                .is_some_and(|a| a.mime == "message/rfc822");
            let fallback = if forwarded {
                format!("attachment-{n}.eml")
            } else {
                format!("attachment-{n}")
            };
            output::write_into_dir(target, &name, &fallback, &bytes)?
        } else {
            std::fs::write(target, &bytes)
                .with_context(|| format!("cannot write {}", target.display()))?;
            target.to_path_buf()
        };
        if !global.quiet {
            eprintln!(
                "saved attachment {n} ({} bytes) to {}",
                bytes.len(),
                written.display()
            );
        }
        return Ok(0);
    }
    let view = store
        .message_view(row, false)?
        .context("message vanished from the archive")?;
    let display = crate::parse::display(&raw);
    let text = if args.unquoted {
        display.unquoted()
    } else {
        display.text
    };
    let locations = store.locations(row)?;
    match args.format {
        ShowFormat::Json | ShowFormat::Jsonl => {
            #[derive(serde::Serialize)]
            struct Full<'a> {
                #[serde(flatten)]
                view: &'a MessageView,
                body: &'a str,
                locations: &'a [LocationView],
            }
            serde_json::to_writer(
                &mut out,
                &Full {
                    view: &view,
                    body: &text,
                    locations: &locations,
                },
            )?;
            writeln!(out)?;
        }
        ShowFormat::Auto | ShowFormat::Text => print_message(&mut out, &view, &locations, &text)?,
    }
    Ok(0)
}

fn print_message(
    out: &mut impl Write,
    v: &MessageView,
    locations: &[LocationView],
    text: &str,
) -> Result<()> {
    let list = |l: &[crate::store::AddressView]| {
        l.iter()
            .map(|a| mailbox_label(&a.name, &a.address))
            .collect::<Vec<_>>()
            .join(", ")
    };
    writeln!(out, "Date:       {}", v.date)?;
    writeln!(
        out,
        "From:       {}",
        sanitize(&mailbox_label(&v.from.name, &v.from.address))
    )?;
    if !v.to.is_empty() {
        writeln!(out, "To:         {}", sanitize(&list(&v.to)))?;
    }
    if !v.cc.is_empty() {
        writeln!(out, "Cc:         {}", sanitize(&list(&v.cc)))?;
    }
    writeln!(out, "Subject:    {}", sanitize(&v.subject))?;
    writeln!(out, "Message-ID: <{}>", sanitize(&v.message_id))?;
    writeln!(out, "Thread:     {}", v.thread)?;
    if !v.tags.is_empty() {
        writeln!(out, "Tags:       {}", sanitize(&v.tags.join(" ")))?;
    }
    for (i, a) in v.attachments.iter().enumerate() {
        writeln!(
            out,
            "Attachment: [{}] {} ({}, {} bytes)",
            i + 1,
            sanitize(&a.filename),
            sanitize(&a.mime),
            a.size
        )?;
    }
    for l in locations {
        let offset = l
            .offset
            .map(|o| format!(" at byte {o}"))
            .unwrap_or_default();
        let copy = match l.copy {
            "imported" => String::new(),
            other => format!(" ({other})"),
        };
        writeln!(out, "Found in:   {}{offset}{copy}", sanitize(&l.path))?;
    }
    writeln!(out)?;
    writeln!(out, "{}", sanitize_text(text, false))?;
    Ok(())
}
