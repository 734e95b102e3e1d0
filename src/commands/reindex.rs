//! `kura reindex`: rebuilds the full-text index from the stored originals.
//!
//! The new index is built in `index.new/` beside the current one, which keeps
//! answering searches; once it is committed (with the store's batch number as
//! payload, like an import), it is swapped in: `index` → `index.old`,
//! `index.new` → `index`, `index.old` removed. A kill at any point leaves a
//! usable index ([`index::open_existing`] and [`index::settle_swap`] handle
//! the leftovers). Then the messages are grouped into threads anew
//! ([`rethread`], one transaction). The import lock is held throughout.

use crate::archive::{Archive, tighten_permissions};
use crate::cli::{GlobalArgs, ReindexArgs};
use crate::index::{self, Fields};
use crate::pack::PackReader;
use crate::parse::{self, Attachment, DateSource, Mailbox, ParsedMessage};
use crate::store::{Store, StoredMessage};
use crate::threads::rethread::rethread;
use anyhow::{Context, Result};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tantivy::TantivyDocument;

/// The index document of a stored message, rebuilt from its original, and
/// what `store` recorded of the message brought up to date with the same
/// reading (see `Refresh`), so that the two agree. Fails when the original
/// cannot be read, does not match its recorded hash, or no longer parses.
pub fn document_from_original(
    store: &Store,
    reader: &mut PackReader,
    fields: &Fields,
    m: &StoredMessage,
) -> Result<TantivyDocument> {
    let (doc, parsed) = reparse_original(reader, fields, m)?;
    if let Some(r) = Refresh::of(store, m.id, parsed)? {
        r.apply(store)?;
    }
    Ok(doc)
}

/// A stored message read anew from its original, as this version reads
/// mail: its index document and the message.
fn reparse_original(
    reader: &mut PackReader,
    fields: &Fields,
    m: &StoredMessage,
) -> Result<(TantivyDocument, ParsedMessage)> {
    let raw = reader
        .read(m.pack, m.size, &m.raw_hash)
        .with_context(|| format!("message {}", m.id))?;
    // The store's date stands in for the file time: a date the original does
    // not name came from where the message was filed, and stays.
    let mut parsed = parse::parse_message(&raw, Some(m.date)).map_err(|e| {
        anyhow::anyhow!(
            "the original of message {} no longer parses: {}",
            m.id,
            e.reason
        )
    })?;
    // A Date without a zone that the import read in its local zone keeps
    // that reading: this process's zone may be another.
    if m.local_date && parsed.date_source == DateSource::LocalHeader {
        parsed.date = m.date;
    }
    let mut doc = index::document(fields, &parsed);
    index::set_id(&mut doc, fields, m.id);
    Ok((doc, parsed))
}

/// What the store recorded of a message otherwise than this version reads
/// its original (an earlier version recorded it): brought up to date by a
/// rebuild, so that what `show` and `customers` list is what is indexed.
struct Refresh {
    id: i64,
    attachments: Option<Vec<Attachment>>,
    mailboxes: Option<[Vec<Mailbox>; 4]>,
    /// The message as read now (without its text), when its Subject or the
    /// date its headers give is not what was recorded: both are recorded
    /// anew, and the message threaded by subject again.
    headers: Option<Box<ParsedMessage>>,
    subject_changed: bool,
    date_changed: bool,
    /// Computed from the headers as decoded: follows their reading.
    content_hash: Option<[u8; 32]>,
    /// The Message-ID an earlier version did not read (it named the message
    /// by a synthetic id: [`ParsedMessage::earlier_id`]).
    message_id: Option<String>,
    /// The ids of References and In-Reply-To, read otherwise than recorded.
    references: Option<(Vec<String>, Vec<String>)>,
    /// The organisation its signature names, when another was recorded (or
    /// none: an earlier version did not read signatures).
    organisation: Option<Option<String>>,
}

impl Refresh {
    /// What of `parsed` (message `id`) differs from what `store` recorded;
    /// `None` when nothing does.
    fn of(store: &Store, id: i64, mut parsed: ParsedMessage) -> Result<Option<Refresh>> {
        parsed.text = String::new();
        let recorded = store.recorded_headers(id)?;
        let subject_changed = recorded.subject != parsed.subject;
        // A date the headers give (Date:, else Received:) replaces what was
        // recorded; one they do not give was the recorded date (the file
        // time) and stays as recorded, with where it came from (as does a
        // zone-less one read in the import's zone: `reparse_original`).
        let date_changed = matches!(
            parsed.date_source,
            DateSource::Header | DateSource::LocalHeader | DateSource::Received
        ) && (recorded.date, recorded.date_source.as_str())
            != (parsed.date, parsed.date_source.as_str());
        let headers = (subject_changed || date_changed).then(|| {
            let mut m = Box::new(parsed.clone());
            if !date_changed {
                m.date = recorded.date;
                m.date_source =
                    DateSource::from_name(&recorded.date_source).unwrap_or(m.date_source);
            }
            m
        });
        let content_hash =
            (recorded.content_hash[..] != parsed.content_hash[..]).then_some(parsed.content_hash);
        let message_id = (recorded.synthetic_id
            && !parsed.synthetic_id
            && parsed.earlier_id.as_ref() == Some(&recorded.message_id))
        .then(|| parsed.message_id.clone());
        let references = (recorded.references != parsed.references.join(" ")
            || recorded.in_reply_to != parsed.in_reply_to.join(" "))
        .then(|| (parsed.references.clone(), parsed.in_reply_to.clone()));
        let attachments =
            (store.recorded_attachments(id)? != parsed.attachments).then_some(parsed.attachments);
        let organisation = (store.recorded_organisation(id)? != parsed.organisation)
            .then_some(parsed.organisation);
        let recorded = store.recorded_mailboxes(id)?;
        let now = [
            parsed.from.into_iter().collect(),
            parsed.to,
            parsed.cc,
            parsed.reply_to,
        ];
        let mailboxes = (recorded != now).then_some(now);
        let refresh = Refresh {
            id,
            attachments,
            mailboxes,
            headers,
            subject_changed,
            date_changed,
            content_hash,
            message_id,
            references,
            organisation,
        };
        Ok((refresh.attachments.is_some()
            || refresh.organisation.is_some()
            || refresh.message_id.is_some()
            || refresh.references.is_some()
            || refresh.mailboxes.is_some()
            || refresh.headers.is_some()
            || refresh.content_hash.is_some())
        .then_some(refresh))
    }

    /// Records the new reading in `store`; whether the message was named
    /// by its Message-ID.
    fn apply(&self, store: &Store) -> Result<bool> {
        if let Some(list) = &self.attachments {
            store.replace_attachments(self.id, list)?;
        }
        if let Some(lists) = &self.mailboxes {
            store.replace_mailboxes(self.id, lists.each_ref().map(Vec::as_slice))?;
        }
        if let Some(m) = &self.headers {
            store.replace_subject_and_date(self.id, m)?;
        }
        if let Some((references, in_reply_to)) = &self.references {
            store.replace_references(self.id, references, in_reply_to)?;
        }
        if let Some(hash) = &self.content_hash {
            store.replace_content_hash(self.id, hash)?;
        }
        if let Some(org) = &self.organisation {
            store.replace_organisation(self.id, org.as_deref())?;
        }
        match &self.message_id {
            Some(id) => store.name_by_message_id(self.id, id),
            None => Ok(false),
        }
    }
}

/// What a rebuild did.
#[derive(Debug, Default, serde::Serialize)]
pub struct ReindexSummary {
    pub indexed: u64,
    /// Messages whose recorded attachments were not what this version reads
    /// in their original (recorded by an earlier version): updated.
    pub attachments_updated: u64,
    /// The same for the From, To, Cc and Reply-To addresses and names.
    pub addresses_updated: u64,
    /// The same for the Subject.
    pub subjects_updated: u64,
    /// The same for the date the Date: or Received: headers give.
    pub dates_updated: u64,
    /// The same for the ids of References and In-Reply-To.
    pub references_updated: u64,
    /// The same for the organisation its signature names.
    pub signatures_updated: u64,
    /// Messages named by a synthetic id because an earlier version did not
    /// read their Message-ID: named by it now (unless another message has
    /// it).
    pub ids_updated: u64,
    /// Messages whose original could not be read or parsed (left out).
    pub failed: Vec<String>,
}

/// Rebuilds the index of `archive` (the caller holds the import lock).
pub fn rebuild(archive: &Archive, store: &Store, progress: bool) -> Result<ReindexSummary> {
    let dir = archive.index_dir();
    index::settle_swap(&dir)?;
    let (new_dir, old_dir) = index::swap_dirs(&dir);
    let index = index::create_or_open_here(&new_dir)?;
    let fields = index::fields_of(&index)?;
    let mut writer = index::rebuild_writer(&index)?;
    let batch = store.meta_i64("batch")?;
    let messages = store.stored_messages()?;

    let pb = if progress {
        let pb = indicatif::ProgressBar::new(messages.len() as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} reindex {bar:30} {pos}/{len} ({eta})",
        ) {
            pb.set_style(style);
        }
        pb.enable_steady_tick(Duration::from_millis(200));
        pb
    } else {
        indicatif::ProgressBar::hidden()
    };

    // Parsing is the expensive part: one worker per core, each with its own
    // pack reader and store connection (to compare what the store recorded),
    // all feeding the (shared, thread-safe) index writer.
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 8);
    let next = AtomicUsize::new(0);
    let indexed = AtomicU64::new(0);
    let failed = Mutex::new(Vec::new());
    let changed = Mutex::new(Vec::new());
    let originals = archive.originals_dir();
    std::thread::scope(|scope| -> Result<()> {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| -> Result<()> {
                    let mut reader = PackReader::new(&originals);
                    let recorded = Store::open_ro(archive)?;
                    while let Some(m) = messages.get(next.fetch_add(1, Ordering::Relaxed)) {
                        match reparse_original(&mut reader, &fields, m) {
                            Ok((doc, parsed)) => {
                                writer.add_document(doc)?;
                                if let Some(r) = Refresh::of(&recorded, m.id, parsed)?
                                    && let Ok(mut c) = changed.lock()
                                {
                                    c.push(r);
                                }
                                indexed.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => {
                                if let Ok(mut f) = failed.lock() {
                                    f.push((m.id, format!("{e:#}")));
                                }
                            }
                        }
                        pb.inc(1);
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("a reindex thread panicked"))??;
        }
        Ok(())
    })?;
    let mut failed = failed
        .into_inner()
        .map_err(|_| anyhow::anyhow!("a reindex thread panicked"))?;
    failed.sort();
    let changed: Vec<Refresh> = changed
        .into_inner()
        .map_err(|_| anyhow::anyhow!("a reindex thread panicked"))?;
    let mut summary = ReindexSummary {
        indexed: indexed.into_inner(),
        attachments_updated: changed.iter().filter(|r| r.attachments.is_some()).count() as u64,
        addresses_updated: changed.iter().filter(|r| r.mailboxes.is_some()).count() as u64,
        subjects_updated: changed.iter().filter(|r| r.subject_changed).count() as u64,
        dates_updated: changed.iter().filter(|r| r.date_changed).count() as u64,
        references_updated: changed.iter().filter(|r| r.references.is_some()).count() as u64,
        signatures_updated: changed.iter().filter(|r| r.organisation.is_some()).count() as u64,
        ids_updated: 0,
        failed: failed.into_iter().map(|(_, e)| e).collect(),
    };
    index::commit(&mut writer, batch)?;
    index::finish(writer).context("the merge of the new index failed")?;
    // The store follows the new reading too (what `show` lists is what it
    // extracts). Before the swap: a kill between the two leaves the old
    // index, whose documents only lack the newer reading.
    if !changed.is_empty() {
        store.begin()?;
        for r in &changed {
            summary.ids_updated += u64::from(r.apply(store)?);
        }
        store.commit()?;
    }
    drop(index);
    pb.finish_and_clear();

    // The swap: from here on, a kill leaves `index.old` and a complete `index.new`.
    let had_index = dir.exists();
    if had_index {
        std::fs::rename(&dir, &old_dir)
            .with_context(|| format!("cannot rename {} to {}", dir.display(), old_dir.display()))?;
    }
    std::fs::rename(&new_dir, &dir)
        .with_context(|| format!("cannot rename {} to {}", new_dir.display(), dir.display()))?;
    sync_dir(&archive.root);
    store.set_meta("index_version", &index::INDEX_VERSION.to_string())?;
    // Every document now says which header each address is in.
    store.set_meta(index::ROLE_TERMS_SINCE, "0")?;
    // And every message's signature has been read.
    store.set_meta(crate::store::SIGNATURES_SINCE, "0")?;
    if had_index {
        std::fs::remove_dir_all(&old_dir)
            .with_context(|| format!("cannot remove {}", old_dir.display()))?;
    }
    tighten_permissions(&archive.root)?;
    Ok(summary)
}

/// `, the WHAT of N brought up to date`, or nothing for none.
fn brought_up_to_date(what: &str, n: u64) -> String {
    match n {
        0 => String::new(),
        n => format!(", the {what} of {n} brought up to date"),
    }
}

/// Makes renames in `dir` durable (best effort).
fn sync_dir(dir: &std::path::Path) {
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.sync_all();
    }
}

pub fn run(global: &GlobalArgs, args: &ReindexArgs) -> Result<i32> {
    let archive = super::archive(global)?;
    archive.require()?;
    let _lock = archive.lock_for_writing(args.wait)?;
    let store = Store::open_rw(&archive)?;
    let progress = !global.quiet && std::io::stderr().is_terminal();
    let started = Instant::now();
    let summary = rebuild(&archive, &store, progress)?;
    // As the archive is threaded, unless told otherwise (then from now on).
    let recorded = store.recorded_thread_options()?;
    let opts = args.threading.options(recorded, || Ok(recorded))?;
    let threads = rethread(&store, opts).context("cannot group the messages into threads anew")?;
    for f in &summary.failed {
        eprintln!("kura: {}", crate::output::sanitize(f));
    }
    if !global.quiet || !summary.failed.is_empty() {
        eprintln!(
            "reindex: {} messages indexed{}{}{}{}{}{}{}{}{}, {:.1} s",
            summary.indexed,
            brought_up_to_date("Message-IDs", summary.ids_updated),
            brought_up_to_date("references", summary.references_updated),
            brought_up_to_date("threads", threads.moved),
            brought_up_to_date("attachments", summary.attachments_updated),
            brought_up_to_date("addresses", summary.addresses_updated),
            brought_up_to_date("subjects", summary.subjects_updated),
            brought_up_to_date("dates", summary.dates_updated),
            brought_up_to_date("signatures", summary.signatures_updated),
            if summary.failed.is_empty() {
                String::new()
            } else {
                format!(
                    ", {} left out (unreadable originals: run `kura check`)",
                    summary.failed.len()
                )
            },
            started.elapsed().as_secs_f64()
        );
    }
    Ok(if summary.failed.is_empty() { 0 } else { 2 })
}
