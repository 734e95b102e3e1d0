//! `kura export`: one customer's history to a file or standard output, and
//! `kura audit`: the exports recorded in the archive. See [`crate::export`].

use crate::archive::ExitError;
use crate::cli::{AuditArgs, ExportArgs, ExportFormat, Format, GlobalArgs};
use crate::customers::{self, Classifier};
use crate::export::{self, AuditEntry, Options};
use crate::output::{self, sanitize};
use crate::store::Store;
use anyhow::{Context, Result};
use std::io::{IsTerminal, Write};

fn usage(message: String) -> anyhow::Error {
    ExitError { code: 2, message }.into()
}

pub fn run(global: &GlobalArgs, args: &ExportArgs) -> Result<i32> {
    if args.redact && args.format == ExportFormat::Mbox {
        return Err(usage(
            "--redact works with the text formats (jsonl, json, csv, html); mbox keeps the original bytes"
                .to_string(),
        ));
    }
    if args.excel && args.format != ExportFormat::Csv {
        return Err(usage("--excel goes with --format csv".to_string()));
    }
    let archive = super::archive(global)?;
    archive.require()?;
    let config = super::config(global, Some(&archive))?;
    let classifier = Classifier::new(&config);
    if let Some(why) = classifier.not_a_customer(&args.customer) {
        return Err(usage(why));
    }
    let key = classifier
        .key_from_input(&args.customer)
        .ok_or_else(|| usage(format!("'{}' is not a customer key", args.customer)))?;
    let (start, end) =
        crate::query::date_range(args.since.as_deref(), args.until.as_deref(), args.utc)
            .map_err(|e| usage(format!("{e:#}")))?;
    let (store, only) = super::store_and_matches(global, &archive, &args.query, args.utc)?;
    // Its messages, and the internal mail that mentions the customer by the
    // names it goes by.
    let (mine, mentions) = if args.no_mentions {
        (
            customers::messages_of(&store, &classifier, &key)?,
            Vec::new(),
        )
    } else {
        super::warn_unread_signatures(global, &store)?;
        let (mine, names) = customers::messages_and_names(&store, &classifier, &key)?;
        let mentions: Vec<i64> = super::mentions(&archive, &classifier, &names)
            .map_err(|e| {
                usage(format!(
                    "cannot search the internal mail that mentions {} ({e:#}); \
                     --no-mentions exports its history without it",
                    sanitize(&key)
                ))
            })?
            .iter()
            .map(|h| h.id)
            .collect();
        (mine, mentions)
    };
    let mut items = export::history(&store, &mine, &mentions)?;
    items.retain(|it| {
        only.as_ref().is_none_or(|o| o.contains(&it.row))
            && start.is_none_or(|s| it.date >= s)
            && end.is_none_or(|e| it.date < e)
    });
    if !items.is_empty()
        && let Some(dir) = &args.attachments
    {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    // `-o -` is standard output, as no option at all.
    let output = args.output.as_ref().filter(|p| p.as_os_str() != "-");
    let mut out: Box<dyn Write> = match output {
        Some(p) => Box::new(std::io::BufWriter::new(
            crate::archive::private_file_options()
                .write(true)
                .create(true)
                .truncate(true)
                .open(p)
                .with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let opts = Options {
        format: args.format,
        excel: args.excel,
        redact: args.redact,
        attachments: args.attachments.clone(),
        utc: args.utc,
        key: key.clone(),
    };
    if items.is_empty() {
        // The format's empty document, as search prints `[]`: a script
        // reads an empty history, not a broken file (nothing is audited:
        // nothing of the customer left the archive).
        // Status 1 says it, also to a reader that stopped reading.
        output::unless_broken_pipe(
            export::write(
                &archive,
                &store,
                &classifier,
                &[],
                &opts,
                &mut out,
                &mut || {},
            )
            .and_then(|_| Ok(out.flush()?)),
        )
        .context("cannot write the export")?;
        if !global.quiet {
            eprintln!(
                "export: no messages of customer {} to export",
                sanitize(&key)
            );
        }
        return Ok(1);
    }
    let bar = if !global.quiet && std::io::stderr().is_terminal() {
        let pb = indicatif::ProgressBar::new(items.len() as u64);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("export {bar:30} {pos}/{len} ({eta})")
        {
            pb.set_style(style);
        }
        pb
    } else {
        indicatif::ProgressBar::hidden()
    };
    let done = std::cell::Cell::new(0usize);
    let mut tick = || {
        done.set(done.get() + 1);
        bar.inc(1);
    };
    let result = export::write(
        &archive,
        &store,
        &classifier,
        &items,
        &opts,
        &mut out,
        &mut tick,
    );
    let flushed = out.flush();
    drop(out);
    bar.finish_and_clear();
    drop(store);

    // The audit trail records what left the archive, even a partial export.
    let written = done.get();
    let mut query = args.query.join(" ");
    for (name, v) in [("since", &args.since), ("until", &args.until)] {
        if let Some(v) = v {
            query.push_str(&format!(" --{name} {v}"));
        }
    }
    let mut destination = match output {
        Some(p) => std::path::absolute(p)
            .unwrap_or_else(|_| p.clone())
            .display()
            .to_string(),
        None => "-".to_string(),
    };
    if let Some(dir) = &args.attachments {
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.clone());
        destination.push_str(&format!(" (attachments: {})", dir.display()));
    }
    let mut format = args.format.as_str().to_string();
    if args.redact {
        format.push_str(" redacted");
    }
    if args.excel {
        format.push_str(" excel");
    }
    let entry = AuditEntry {
        time: String::new(),
        os_user: export::os_user(),
        customer: key.clone(),
        query: query.trim().to_string(),
        format,
        count: written as i64,
        destination,
    };
    export::record_audit(&archive, &entry, chrono::Utc::now().timestamp())?;
    let w = result?;
    flushed.context("cannot write the export")?;
    if !global.quiet {
        let mut msg = format!("exported {} messages of {}", w.messages, sanitize(&key));
        if w.attachments > 0 {
            msg.push_str(&format!(" and {} attachments", w.attachments));
        }
        eprintln!("{msg}");
    }
    Ok(0)
}

/// `kura audit`: the recorded exports, newest first.
pub fn audit(global: &GlobalArgs, args: &AuditArgs) -> Result<i32> {
    let format = output::resolve_format_without_ids(args.format, "kura audit")?;
    let archive = super::archive(global)?;
    archive.require()?;
    let store = Store::open_ro(&archive)?;
    let entries = export::audit_entries(&store, false, args.limit)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match format {
        f @ (Format::Json | Format::Jsonl) => output::write_json_rows(&mut out, f, &entries)?,
        Format::Table => {
            let mut t = output::plain_table(vec![
                "time",
                "user",
                "customer",
                "format",
                "count",
                "query",
                "destination",
            ]);
            for e in &entries {
                t.add_row(vec![
                    sanitize(&e.time),
                    sanitize(&e.os_user),
                    sanitize(&e.customer),
                    sanitize(&e.format),
                    e.count.to_string(),
                    sanitize(&e.query),
                    sanitize(&e.destination),
                ]);
            }
            writeln!(out, "{t}")?;
        }
        _ => {
            for e in &entries {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    sanitize(&e.time),
                    sanitize(&e.os_user),
                    sanitize(&e.customer),
                    sanitize(&e.format),
                    e.count,
                    sanitize(&e.query),
                    sanitize(&e.destination)
                )?;
            }
        }
    }
    Ok(0)
}
