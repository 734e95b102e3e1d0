//! What each stage of an import costs per message, one stage after the
//! other on one thread: reading the file, parsing it (mail-parser and
//! kura's reading of it), building its index document, tokenizing that
//! document (with the tokens of each field), and compressing and hashing
//! the original with a dictionary trained as an import trains one.
//!
//! An import runs these stages on several threads at once, with SQLite and
//! tantivy's postings besides, so its wall time says little about any one
//! stage; these figures leave the other stages out, which makes them the
//! ones to compare before and after a change to a stage (on a shared
//! machine, take the lowest of a few runs: one run can be a third slower).
//!
//! ```sh
//! cargo run --release --example stage_costs -- DIR   # a Maildir or a folder of message files (not mbox)
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use kura::pack::{Compressor, DICT_SAMPLES, DictionaryTrainer};
use kura::tokenizer::{KuraTokenizer, TOKENIZER_NAME};
use tantivy::schema::{FieldType, Value};
use tantivy::tokenizer::{TokenStream, Tokenizer};

fn main() -> Result<()> {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        bail!("usage: stage_costs DIR (a Maildir or a folder of messages)");
    };
    let files = files_under(&dir)?;

    // The dictionary an import would train on its first messages, trained
    // before the clock runs (an import trains it once).
    let dict_dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let trainer = Arc::new(DictionaryTrainer::new(dict_dir.path(), DICT_SAMPLES)?);
    for path in files.iter().take(DICT_SAMPLES) {
        let raw = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        trainer.offer(&raw);
    }
    let mut compressor = Compressor::with_dictionaries(trainer.clone())?;

    let (schema, fields) = kura::index::schema();
    let mut tokenizer = KuraTokenizer::default();
    let mut tokens: BTreeMap<String, u64> = BTreeMap::new();
    let mut took = Stages::default();
    let (mut parsed, mut rejected, mut bytes) = (0u64, 0u64, 0u64);
    for path in &files {
        let started = Instant::now();
        let raw = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        took.read += started.elapsed();
        bytes += raw.len() as u64;

        let started = Instant::now();
        let message = kura::parse::parse_message(&raw, None);
        took.parse += started.elapsed();

        let started = Instant::now();
        let compressed = compressor.compress(&raw)?;
        took.compress += started.elapsed();
        std::hint::black_box(compressed);

        let Ok(message) = message else {
            rejected += 1;
            continue;
        };
        parsed += 1;
        let started = Instant::now();
        let doc = kura::index::document(&fields, &message);
        took.document += started.elapsed();

        let started = Instant::now();
        for (field, value) in doc.field_values() {
            let Some(text) = value.as_str() else {
                continue;
            };
            let tokenized = match schema.get_field_entry(field).field_type() {
                FieldType::Str(options) => options
                    .get_indexing_options()
                    .is_some_and(|o| o.tokenizer() == TOKENIZER_NAME),
                _ => false,
            };
            let n = if tokenized {
                let mut stream = tokenizer.token_stream(text);
                let mut n = 0;
                while stream.advance() {
                    n += 1;
                }
                n
            } else {
                // A raw field: the value is its one term.
                1
            };
            *tokens
                .entry(schema.get_field_name(field).to_string())
                .or_default() += n;
        }
        took.tokenize += started.elapsed();
    }

    let files_n = files.len() as f64;
    let per = |d: Duration, n: f64| d.as_secs_f64() * 1e6 / n.max(1.0);
    let all: u64 = tokens.values().sum();
    println!(
        "{} files ({:.1} MB): {parsed} parsed, {rejected} rejected; one thread, per message:",
        files.len(),
        bytes as f64 / 1e6
    );
    println!("  read      {:7.1} µs", per(took.read, files_n));
    println!(
        "  parse     {:7.1} µs   (mail-parser and kura's reading)",
        per(took.parse, files_n)
    );
    println!(
        "  document  {:7.1} µs   (the index document)",
        per(took.document, parsed as f64)
    );
    println!(
        "  tokenize  {:7.1} µs   ({:.0} tokens a message go to the index)",
        per(took.tokenize, parsed as f64),
        all as f64 / (parsed as f64).max(1.0)
    );
    println!(
        "  compress  {:7.1} µs   (zstd {}, and the BLAKE3 hash)",
        per(took.compress, files_n),
        match trainer.current() {
            Some(_) => "with the dictionary an import trains".to_string(),
            None =>
                format!("without a dictionary: an import trains one on {DICT_SAMPLES} messages"),
        }
    );
    let mut by_field: Vec<(&String, &u64)> = tokens.iter().collect();
    by_field.sort_by(|a, b| b.1.cmp(a.1));
    let shares: Vec<String> = by_field
        .iter()
        .map(|(field, n)| format!("{field} {:.1}", **n as f64 / (parsed as f64).max(1.0)))
        .collect();
    println!("tokens a message, by field: {}", shares.join(", "));
    Ok(())
}

/// The files under `dir`, in the order of their names: an error when it
/// cannot be read (or not all of it) or holds none.
fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        if entry.file_type().is_file() {
            files.push(entry.into_path());
        }
    }
    if files.is_empty() {
        bail!(
            "no files under {}: a Maildir or a folder of messages is wanted",
            dir.display()
        );
    }
    Ok(files)
}

/// Time spent in each stage, over all messages.
#[derive(Default)]
struct Stages {
    read: Duration,
    parse: Duration,
    document: Duration,
    tokenize: Duration,
    compress: Duration,
}

#[cfg(test)]
mod tests {
    use super::files_under;

    #[test]
    fn a_folder_it_cannot_read_or_without_files_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let missing = dir.path().join("missing");
        let e = format!("{:#}", files_under(&missing).expect_err("no such folder"));
        assert!(e.starts_with("cannot read "), "{e}");
        assert!(e.contains("No such file or directory"), "{e}");
        std::fs::create_dir_all(dir.path().join("cur")).expect("cur/");
        let e = format!("{:#}", files_under(dir.path()).expect_err("no files"));
        assert!(e.starts_with("no files under "), "{e}");
        std::fs::write(dir.path().join("cur").join("1"), "From: a@b.example\n\nx\n")
            .expect("a message");
        let files = files_under(dir.path()).expect("one message");
        assert_eq!(files, [dir.path().join("cur").join("1")]);
    }
}
