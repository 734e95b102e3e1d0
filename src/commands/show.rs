//! `kura show`.

use crate::cli::GlobalArgs;
use anyhow::Result;
use crate::cli::ShowArgs;

pub fn run(_global: &GlobalArgs, _args: &ShowArgs) -> Result<i32> {
    anyhow::bail!("not yet")
}
