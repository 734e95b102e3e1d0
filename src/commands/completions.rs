//! `kura completions SHELL`: shell completions from the clap definitions.

use crate::cli::{Cli, CompletionsArgs};
use anyhow::Result;
use clap::CommandFactory;

pub fn run(args: &CompletionsArgs) -> Result<i32> {
    let mut cmd = Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "kura", &mut std::io::stdout());
    Ok(0)
}
