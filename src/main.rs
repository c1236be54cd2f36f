use std::process::ExitCode;

use clap::Parser;

// Rendering makes and drops millions of small strings and maps; mimalloc serves them about
// a third faster than the system allocator (scripts/bench-scale, render to memory).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = tenantgen::cli::Cli::parse();
    ExitCode::from(tenantgen::commands::run(cli))
}
