//! diagnostics: the one problem type shared by the terminal, `validate` and KRM results.

use std::fmt;

/// How bad a problem is. Errors stop the pipeline; warnings are reported and let it go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A 1-based line and column, plus the byte offset it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
    #[serde(skip)]
    pub offset: usize,
}

/// A problem found in a user's file: where, which field, what is wrong, how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A short, stable name of the rule broken (`duplicate-host`); fixtures and docs use it.
    pub code: &'static str,
    pub file: String,
    pub pos: Option<Pos>,
    /// The field in catalog notation (`spec.clients[2].image`), empty for whole-file problems.
    pub field: String,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            file: String::new(),
            pos: None,
            field: String::new(),
            message: message.into(),
            hint: None,
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    pub fn at(mut self, file: &str, pos: Option<Pos>) -> Self {
        file.clone_into(&mut self.file);
        self.pos = pos;
        self
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Order for reports: by file position, so problems read top to bottom.
    pub fn sort_key(&self) -> (String, Option<Pos>, String, &'static str) {
        (self.file.clone(), self.pos, self.field.clone(), self.code)
    }
}

/// `path:line:col: field: message` then an indented `hint:` line (the format editors jump to).
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(pos) = self.pos {
            write!(f, ":{}:{}", pos.line, pos.col)?;
        }
        f.write_str(": ")?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        if self.severity == Severity::Warning {
            f.write_str("warning: ")?;
        }
        write!(f, "{} [{}]", self.message, self.code)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Sorts problems into reading order and drops exact repeats (one cause, one line).
pub fn normalize(diags: &mut Vec<Diagnostic>) {
    diags.sort_by_key(Diagnostic::sort_key);
    diags.dedup();
}

pub fn has_errors(diags: &[Diagnostic]) -> bool {
    diags.iter().any(Diagnostic::is_error)
}
