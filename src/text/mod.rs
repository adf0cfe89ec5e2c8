//! Text analysis shared by indexing and querying: normalisation, jieba tokenization with the
//! user dictionary, stopwords, English stemming, synonyms, and the tantivy tokenizer.

mod analyzer;
mod bigram;
mod cut;
pub mod dict;
mod focus;
mod normalize;
mod script;
mod stopwords;
mod synonyms;
mod tokenizer;

pub use analyzer::{Analyzer, Term, TermInfo, is_single_han};
pub use bigram::{BIGRAM_TOKENIZER_NAME, BigramTokenizer, bigrams};
pub use dict::Dictionary;
pub use focus::focus_clause;
pub use normalize::{Lang, detect_lang, is_han, normalize};
pub use synonyms::Synonyms;
pub use tokenizer::{JiebaTokenizer, TOKENIZER_NAME};
