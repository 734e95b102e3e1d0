//! `kura thread`.

use crate::cli::GlobalArgs;
use anyhow::Result;
use crate::cli::ThreadArgs;

pub fn run(_global: &GlobalArgs, _args: &ThreadArgs) -> Result<i32> {
    anyhow::bail!("not yet")
}
