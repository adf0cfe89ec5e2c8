//! Errors that point at a place in a file: a corpus or dictionary mistake names its file and line.

use std::fmt;
use std::path::{Path, PathBuf};

/// A mistake in an input file, located as precisely as we can (line 0 = the whole file).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SourceError {
    pub path: PathBuf,
    pub line: usize,
    pub message: String,
}

impl SourceError {
    pub fn new(path: impl AsRef<Path>, line: usize, message: impl Into<String>) -> SourceError {
        SourceError {
            path: path.as_ref().to_path_buf(),
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: {}", self.path.display(), self.line, self.message)
        } else {
            write!(f, "{}: {}", self.path.display(), self.message)
        }
    }
}

impl std::error::Error for SourceError {}

/// 1-based line number of a byte offset in `text`.
pub fn line_of(text: &str, byte_offset: usize) -> usize {
    let end = byte_offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}
