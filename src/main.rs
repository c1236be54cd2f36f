use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = tenantgen::cli::Cli::parse();
    ExitCode::from(tenantgen::commands::run(cli))
}
