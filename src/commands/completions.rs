//! `tenantgen completions` and `tenantgen man`: shell completions and the man page, generated
//! from the same clap definitions as `--help`, so they never drift from the real flags.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};

use super::{CommandResult, EXIT_OK};

pub fn completions(args: &CompletionsArgs) -> CommandResult {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "tenantgen", &mut out);
    std::io::stdout().write_all(&out)?;
    Ok(EXIT_OK)
}

pub fn man() -> CommandResult {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    std::io::stdout().write_all(&out)?;
    Ok(EXIT_OK)
}
