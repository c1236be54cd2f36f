//! commands: one module per verb. They orchestrate the library's stages, own all I/O and are
//! the only code that prints: data to stdout, everything else to stderr.

mod completions;
mod diff;
mod explain;
mod init;
mod krm;
mod package;
mod promote;
mod render;
mod schema;
mod validate;

use std::io::{self, Write};

use crate::cli::{Cli, Command, PluginCommand};
use crate::diagnostics::Diagnostic;

/// Exit codes (SPEC §4).
pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILURE: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

/// A failure a command reports at the edge.
#[derive(Debug)]
pub struct CommandError {
    pub exit: u8,
    pub message: String,
    pub hint: Option<String>,
}

impl CommandError {
    pub fn failure(message: impl Into<String>) -> Self {
        CommandError {
            exit: EXIT_FAILURE,
            message: message.into(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl From<io::Error> for CommandError {
    fn from(e: io::Error) -> Self {
        CommandError::failure(e.to_string())
    }
}

pub type CommandResult = Result<u8, CommandError>;

/// Runs a parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> u8 {
    let result = match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Schema => schema::run(),
        Command::Render(args) => render::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Krm(args) => krm::run(&args),
        Command::Plugin(PluginCommand::Install(args)) => krm::install_plugin(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Package(args) => package::run(&args),
        Command::Verify(args) => package::verify(&args),
        Command::Promote(args) => promote::run(&args),
        Command::Init(args) => init::run(&args),
        Command::Completions(args) => completions::completions(&args),
        Command::Man => completions::man(),
    };
    match result {
        Ok(code) => code,
        Err(e) if e.message.is_empty() => e.exit,
        Err(e) => {
            let mut err = io::stderr().lock();
            let _ = writeln!(err, "error: {}", e.message);
            if let Some(hint) = e.hint {
                let _ = writeln!(err, "  hint: {hint}");
            }
            e.exit
        }
    }
}

/// Writes data to stdout. A closed pipe (`tenantgen schema | head`) ends the command quietly.
pub fn print_data(text: &str) -> Result<(), CommandError> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(CommandError {
            exit: EXIT_OK,
            message: String::new(),
            hint: None,
        }),
        other => Ok(other?),
    }
}

/// Standard output written in pieces (a long stream, never held whole), buffered, with the
/// same broken-pipe rule as `print_data`: a reader that stops early is not an error.
pub struct Stdout(io::BufWriter<io::StdoutLock<'static>>);

impl Stdout {
    pub fn locked() -> Self {
        Stdout(io::BufWriter::with_capacity(1 << 16, io::stdout().lock()))
    }

    pub fn write(&mut self, text: &str) -> Result<(), CommandError> {
        self.0.write_all(text.as_bytes()).map_err(output_error)
    }

    pub fn finish(mut self) -> Result<(), CommandError> {
        self.0.flush().map_err(output_error)
    }
}

fn output_error(e: io::Error) -> CommandError {
    if e.kind() == io::ErrorKind::BrokenPipe {
        CommandError {
            exit: EXIT_OK,
            message: String::new(),
            hint: None,
        }
    } else {
        CommandError::from(e)
    }
}

/// Prints problems to stderr, one block each, then a count line.
pub fn print_problems(problems: &[Diagnostic]) {
    let mut err = io::stderr().lock();
    for d in problems {
        let _ = writeln!(err, "{d}");
    }
}

/// Reports a catalog that was refused and returns the error that ends the command: the
/// problems, then a summary. A file that could not be read at all is not called an invalid
/// catalog: its one problem becomes the error, with its hint. `after` ends the summary
/// (e.g. "; nothing was written").
pub fn refused_catalog(file: &str, problems: &[Diagnostic], after: &str) -> CommandError {
    if let [d] = problems
        && crate::source::UNREADABLE.contains(&d.code)
    {
        let e = CommandError::failure(format!("`{}`: {}", d.file, d.message));
        return match &d.hint {
            Some(h) => e.hint(h.clone()),
            None => e,
        };
    }
    print_problems(problems);
    let errors = problems.iter().filter(|d| d.is_error()).count();
    CommandError::failure(format!(
        "`{file}` is not a valid catalog: {}{after}",
        count(errors, "error")
    ))
}

/// `1 error`, `3 warnings`: for summary lines.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
