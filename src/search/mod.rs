//! Search: the tantivy schema, building index generations and switching between them
//! atomically, and retrieval (query built in code from analysed terms, never parsed).

mod coverage;
mod generation;
mod meta;
mod open;
mod retrieval;
mod retrieve;
mod schema;
mod spelling;

use std::path::{Path, PathBuf};

pub use generation::{
    ANALYSIS_VERSION, BuildSummary, CURRENT_FILE, ExtraFiles, build_and_switch, build_in_ram,
    current_generation, read_summary,
};
pub use meta::Meta;
pub use open::Generation;
pub use retrieval::Retrieval;
pub use retrieve::{Concept, Evidence, Hit, SearchOptions, retrieve};
pub use schema::{KIND_FAQ, KIND_PASSAGE};

use crate::error::SourceError;

/// Records retrieved per question: enough for sources, margins and clarify options.
pub const RETRIEVE_LIMIT: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("another re-index is running on this index directory")]
    ReindexRunning,
    #[error("new index failed its check: {0}")]
    Verify(String),
    #[error("index dictionary: {0}")]
    Dictionary(SourceError),
}

impl SearchError {
    pub fn io(path: &Path, source: std::io::Error) -> SearchError {
        SearchError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
