//! `kura search`.

use crate::cli::GlobalArgs;
use anyhow::Result;
use crate::cli::{CountArgs, SearchArgs};

pub fn run(_global: &GlobalArgs, _args: &SearchArgs) -> Result<i32> {
    anyhow::bail!("not yet")
}

pub fn count(_global: &GlobalArgs, _args: &CountArgs) -> Result<i32> {
    anyhow::bail!("not yet")
}
