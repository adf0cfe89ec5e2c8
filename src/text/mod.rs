//! Text analysis shared by indexing and querying: normalisation, jieba tokenization with the
//! user dictionary, stopwords, English stemming, synonyms, and the tantivy tokenizer.

mod analyzer;
pub mod dict;
mod normalize;
mod synonyms;
mod tokenizer;

pub use analyzer::{Analyzer, Term, is_single_han};
pub use dict::Dictionary;
pub use normalize::{Lang, detect_lang, is_han, normalize};
pub use synonyms::Synonyms;
pub use tokenizer::{JiebaTokenizer, TOKENIZER_NAME};
