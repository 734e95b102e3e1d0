//! One module per subcommand. Each `run` returns the process exit status.

pub mod check;
pub mod completions;
pub mod config;
pub mod customers;
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
use anyhow::Result;

/// The archive named by the global options.
pub fn archive(global: &GlobalArgs) -> Result<Archive> {
    Archive::locate(global.archive.as_deref())
}

/// The configuration named by the global options (or found beside the archive).
pub fn config(global: &GlobalArgs, archive: Option<&Archive>) -> Result<Config> {
    Config::load(global.config.as_deref(), archive)
}
