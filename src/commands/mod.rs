//! One module per subcommand. Each `run` returns the process exit status.

pub mod answers;
pub mod check;
pub mod completions;
pub mod config;
pub mod customers;
pub mod erase;
pub mod export;
pub mod gc;
pub mod import;
pub mod log;
pub mod pending;
pub mod reindex;
pub mod rejects;
pub mod report;
pub mod search;
pub mod show;
pub mod stats;
pub mod tag;
pub mod thread;

use crate::archive::Archive;
use crate::cli::GlobalArgs;
use crate::config::Config;
use crate::customers::Classifier;
use crate::query::Query;
use crate::query::exec::Searcher;
use anyhow::Result;

/// The archive named by the global options.
pub fn archive(global: &GlobalArgs) -> Result<Archive> {
    Archive::locate(global.archive.as_deref())
}

/// The configuration named by the global options (or found beside the archive).
pub fn config(global: &GlobalArgs, archive: Option<&Archive>) -> Result<Config> {
    Config::load(global.config.as_deref(), archive)
}

/// A searcher of the archive for the query `q`, with the configuration read
/// when the query needs it (`is:`, `history:`), so that other queries work
/// whatever the configuration holds.
pub fn searcher(global: &GlobalArgs, archive: &Archive, q: &Query) -> Result<Searcher> {
    let searcher = Searcher::open(archive)?;
    if q.has_history() {
        // Its mentions go by the signatures.
        warn_unread_signatures(global, &searcher.store)?;
    }
    Ok(if q.needs_configuration() {
        let config = config(global, Some(archive))?;
        let classifier = Classifier::new(&config);
        if !global.quiet {
            // A history term that can find nothing is a mistake to point
            // out, once however often the query names it.
            let mut named = std::collections::HashSet::new();
            for input in q.histories() {
                if !named.insert(input) {
                    continue;
                }
                if let Some(why) = classifier.not_a_customer(input) {
                    let warning = format!("history:{input} finds nothing: {why}");
                    eprintln!("kura: {}", crate::output::sanitize(&warning));
                }
            }
        }
        searcher.with_classifier(classifier)
    } else {
        searcher
    })
}

/// The rows of the internal mail that mentions a customer by `names`
/// ([`crate::query::Query::mentioning`]), oldest first.
pub fn mentions(
    archive: &Archive,
    classifier: &Classifier,
    names: &[String],
) -> Result<Vec<crate::query::exec::Hit>> {
    let Some(q) = Query::mentioning(classifier, names) else {
        return Ok(Vec::new());
    };
    Searcher::open(archive)?
        .with_classifier(classifier.clone())
        .search(&q, crate::query::exec::Order::Oldest, 0, None)
}

/// The store, and the rows of the messages matching `query` (`None` when no
/// query was given: every message). For commands that work on the store but
/// take a query to narrow what they look at.
pub fn store_and_matches(
    global: &GlobalArgs,
    archive: &Archive,
    query: &[String],
    utc: bool,
) -> Result<(crate::store::Store, Option<std::collections::HashSet<i64>>)> {
    if query.is_empty() {
        return Ok((crate::store::Store::open_ro(archive)?, None));
    }
    let q = search::parse_query(&crate::cli::QueryArgs {
        query: query.to_vec(),
        utc,
    })?;
    let searcher = searcher(global, archive, &q)?;
    let rows = searcher
        .search(&q, crate::query::exec::Order::Newest, 0, None)?
        .into_iter()
        .map(|h| h.id)
        .collect();
    Ok((searcher.store, Some(rows)))
}

/// Warns (unless `--quiet`) when messages stored by an earlier kura have not
/// had their signatures read: until a reindex, their customers go by the
/// names in their headers, and reports do not mention them by name. Once
/// per command, however many of its steps read them.
pub fn warn_unread_signatures(global: &GlobalArgs, store: &crate::store::Store) -> Result<()> {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if global.quiet || WARNED.load(std::sync::atomic::Ordering::Relaxed) {
        return Ok(());
    }
    let n = store.messages_without_signatures()?;
    if n > 0 && !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        eprintln!(
            "kura: the signatures of {n} messages stored by an earlier kura are not read yet: \
             customers go by their senders' names until `kura reindex` reads them"
        );
    }
    Ok(())
}
