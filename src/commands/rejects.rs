//! `kura rejects`.

use crate::cli::GlobalArgs;
use anyhow::Result;
use crate::cli::RejectsArgs;

pub fn run(_global: &GlobalArgs, _args: &RejectsArgs) -> Result<i32> {
    anyhow::bail!("not yet")
}
