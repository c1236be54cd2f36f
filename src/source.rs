//! source: reads a user's file into text, keeping its path for every later diagnostic.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostics::{Diagnostic, Pos};

/// Files larger than this are refused before parsing: a catalog of 10,000 clients is a few MB.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// A file's text and the name to show for it.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    /// The path as the user should see it in messages.
    pub name: String,
    /// Shared: a document's source map keeps it to find positions when first asked.
    pub text: Arc<str>,
}

impl Source {
    pub fn from_text(name: impl Into<String>, text: impl Into<String>) -> Self {
        let name = name.into();
        Source {
            path: PathBuf::from(&name),
            name,
            text: Arc::from(text.into()),
        }
    }

    /// Reads `path`; non-UTF-8 bytes and oversized files are user errors with a position.
    pub fn read(path: &Path) -> Result<Self, Box<Diagnostic>> {
        let name = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|e| Box::new(unreadable(path, &e)))?;
        if meta.is_dir() {
            return Err(Box::new(directory(path)));
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(Box::new(
                Diagnostic::error(
                    "file-too-large",
                    format!(
                        "the file is {} bytes, more than the {} bytes a catalog may have",
                        meta.len(),
                        MAX_FILE_BYTES
                    ),
                )
                .at(&name, None)
                .hint("split the file or check that the right file was given"),
            ));
        }
        // Bounded even when the size above says nothing (a pipe, `/dev/zero`, a file that
        // grows while it is read).
        // Sized from the metadata (one spare byte to see the end), so that a large file is not
        // copied again each time the buffer doubles.
        let expected = usize::try_from(meta.len().min(MAX_FILE_BYTES)).unwrap_or(0);
        let mut bytes = Vec::with_capacity(expected.saturating_add(1));
        std::fs::File::open(path)
            .and_then(|f| {
                std::io::Read::read_to_end(
                    &mut std::io::Read::take(f, MAX_FILE_BYTES + 1),
                    &mut bytes,
                )
            })
            .map_err(|e| unreadable(path, &e))?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(Box::new(
                Diagnostic::error(
                    "file-too-large",
                    format!("the file has more than the {MAX_FILE_BYTES} bytes a catalog may have"),
                )
                .at(&name, None)
                .hint("split the file or check that the right file was given"),
            ));
        }
        Self::from_bytes(name, path.to_path_buf(), bytes)
    }

    pub fn from_bytes(
        name: String,
        path: PathBuf,
        bytes: Vec<u8>,
    ) -> Result<Self, Box<Diagnostic>> {
        match String::from_utf8(bytes) {
            Ok(mut text) => {
                if text.starts_with('\u{feff}') {
                    text.drain(..3);
                }
                Ok(Source {
                    path,
                    name,
                    text: Arc::from(text),
                })
            }
            Err(e) => {
                let offset = e.utf8_error().valid_up_to();
                let pos = pos_of(e.as_bytes(), offset);
                Err(Box::new(Diagnostic::error(
                    "not-utf8",
                    format!("the file is not valid UTF-8 (byte {offset} cannot start or continue a character)"),
                )
                .at(&name, Some(pos))
                .hint("save the file as UTF-8")))
            }
        }
    }
}

/// The codes of the problems that mean no catalog was read at all (as opposed to a catalog
/// that was read and found wrong), so that commands do not call a missing file invalid.
pub const UNREADABLE: [&str; 3] = ["not-found", "is-a-directory", "read-failed"];

/// Why the catalog at `path` could not be opened or read, said plainly, with a way out.
pub fn unreadable(path: &Path, e: &io::Error) -> Diagnostic {
    let name = path.display().to_string();
    match e.kind() {
        io::ErrorKind::NotFound => {
            Diagnostic::error("not-found", "the catalog file does not exist")
                .at(&name, None)
                .hint(match nearby(path) {
                    Some(p) => format!(
                        "did you mean `{}`? pass it as the first argument or with `--catalog FILE`",
                        p.display()
                    ),
                    None => "pass the catalog file as the first argument or with `--catalog FILE` \
                     (default `clients/clients.yaml`, relative to the working directory); \
                     `tenantgen init` creates a repository with one"
                        .into(),
                })
        }
        io::ErrorKind::IsADirectory => directory(path),
        io::ErrorKind::PermissionDenied => {
            Diagnostic::error("read-failed", "cannot read the catalog: permission denied")
                .at(&name, None)
                .hint("check the file's permissions, or run as a user that may read it")
        }
        _ => Diagnostic::error(
            "read-failed",
            format!("cannot read the catalog: {}", plain(e)),
        )
        .at(&name, None)
        .hint("check that the path names a readable catalog file"),
    }
}

/// A directory given where the catalog file was expected: names the catalog inside it, if any.
pub fn directory(path: &Path) -> Diagnostic {
    let name = path.display().to_string();
    let found = [path.join("clients/clients.yaml"), path.join("clients.yaml")]
        .into_iter()
        .find(|p| p.is_file());
    let hint = match found {
        Some(p) => format!("pass the catalog file itself: `{}` is there", p.display()),
        None => format!(
            "pass the catalog file, e.g. `{}`",
            path.join("clients/clients.yaml").display()
        ),
    };
    Diagnostic::error("is-a-directory", "a directory, not a catalog file")
        .at(&name, None)
        .hint(hint)
}

/// A catalog the user probably meant when `path` does not exist: the same name with the
/// other YAML extension, or, for a relative path, the same path from a parent directory
/// (run from inside the repository rather than at its top).
fn nearby(path: &Path) -> Option<PathBuf> {
    let other_ext = match path.extension().and_then(|e| e.to_str()) {
        Some("yaml") => Some(path.with_extension("yml")),
        Some("yml") => Some(path.with_extension("yaml")),
        _ => None,
    };
    if let Some(p) = other_ext.filter(|p| p.is_file()) {
        return Some(p);
    }
    if path.is_absolute() {
        return None;
    }
    let mut up = PathBuf::new();
    for _ in 0..8 {
        up.push("..");
        let candidate = up.join(path);
        if candidate.is_file() {
            return Some(candidate);
        }
    }
    None
}

/// An I/O error's text without the `(os error N)` suffix users cannot act on.
fn plain(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// Line and column (1-based, in characters) of a byte offset, for text that may not be UTF-8.
pub fn pos_of(bytes: &[u8], offset: usize) -> Pos {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let col = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    Pos { line, col, offset }
}
