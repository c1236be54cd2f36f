//! source: reads a user's file into text, keeping its path for every later diagnostic.

use std::path::{Path, PathBuf};

use crate::diagnostics::{Diagnostic, Pos};

/// Files larger than this are refused before parsing: a catalog of 10,000 clients is a few MB.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// A file's text and the name to show for it.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    /// The path as the user should see it in messages.
    pub name: String,
    pub text: String,
}

impl Source {
    pub fn from_text(name: impl Into<String>, text: impl Into<String>) -> Self {
        let name = name.into();
        Source {
            path: PathBuf::from(&name),
            name,
            text: text.into(),
        }
    }

    /// Reads `path`; non-UTF-8 bytes and oversized files are user errors with a position.
    pub fn read(path: &Path) -> Result<Self, Box<Diagnostic>> {
        let name = path.display().to_string();
        let meta = fs_err::metadata(path).map_err(|e| {
            Box::new(
                Diagnostic::error("read-failed", format!("cannot read the catalog: {e}"))
                    .at(&name, None)
                    .hint("pass the catalog path as the first argument or with `--catalog FILE`"),
            )
        })?;
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
        let mut bytes = Vec::new();
        fs_err::File::open(path)
            .and_then(|f| {
                std::io::Read::read_to_end(
                    &mut std::io::Read::take(f, MAX_FILE_BYTES + 1),
                    &mut bytes,
                )
            })
            .map_err(|e| {
                Diagnostic::error("read-failed", format!("cannot read the catalog: {e}"))
                    .at(&name, None)
            })?;
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
                Ok(Source { path, name, text })
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
