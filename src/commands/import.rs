//! `kura import`: Maildir, mbox and .eml exports into the archive.

use crate::cli::{GlobalArgs, ImportArgs};
use crate::import::{self, ImportOptions};
use crate::store::{Store, ThreadOptions};
use anyhow::Result;
use std::io::IsTerminal;

pub fn run(global: &GlobalArgs, args: &ImportArgs) -> Result<i32> {
    let archive = super::archive(global)?;
    let abort_after = std::env::var("KURA_TEST_ABORT_AFTER")
        .ok()
        .and_then(|v| v.parse().ok());
    let opts = ImportOptions {
        paths: args.paths.clone(),
        wait: args.wait,
        // The defaults unless told otherwise; `--subject-threading`, the
        // window the archive last used (read before the import locks it:
        // an import finishing meanwhile may record another).
        threads: args
            .threading
            .options(ThreadOptions::default(), || match archive.exists() {
                true => Store::open_ro(&archive)?.recorded_thread_options(),
                false => Ok(ThreadOptions::default()),
            })?,
        batch_size: args.batch_size.max(1),
        progress: !global.quiet && std::io::stderr().is_terminal(),
        jobs: args.jobs,
        abort_after,
        index_commit_delay: std::env::var("KURA_TEST_INDEX_COMMIT_DELAY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map(std::time::Duration::from_millis),
        no_threading: std::env::var_os("KURA_BENCH_NO_THREADING").is_some(),
    };
    let summary = import::run(&archive, &opts)?;
    if args.verbose && !global.quiet {
        for (path, why) in &summary.ignored {
            eprintln!(
                "import: passed over {}: {why}",
                crate::output::sanitize(&crate::output::path_text(path))
            );
        }
        eprintln!(
            "import: threading took {:.2} s of {:.2} s",
            summary.threading_seconds, summary.seconds
        );
    }
    if args.json {
        // An import with errors exits 2, also when the reader of its
        // summary stopped reading.
        crate::output::unless_broken_pipe(crate::output::print_line(serde_json::to_string(
            &summary,
        )?))?;
    } else if !global.quiet {
        eprintln!("{summary}");
    }
    if summary.errors > 0 {
        return Ok(2);
    }
    Ok(0)
}
