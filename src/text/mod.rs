//! Text analysis shared by indexing and querying: normalisation, jieba tokenization with the
//! user dictionary, stopwords, English stemming, synonyms, typo tolerance, the names a question and a record
//! must agree on, and the tantivy tokenizer.

mod analyzer;
mod asking_words;
mod asks;
mod bigram;
mod cut;
pub mod dict;
mod english_words;
mod focus;
mod names;
mod normalize;
mod script;
mod spelling;
mod stopwords;
mod synonyms;
mod tokenizer;

pub use analyzer::{Analyzer, Term, TermInfo, is_single_han};
pub use asking_words::{ASKING_WORD_WEIGHT, is_asking_word};
pub use asks::{Asks, asks, wrong_kind};
pub use bigram::{BIGRAM_TOKENIZER_NAME, BigramTokenizer, bigrams};
pub use dict::Dictionary;
pub use english_words::english_weight;
pub use focus::{focus_clause, story_clauses};
pub use names::{AskedNames, Gazetteer, NameConflict, PLACES_FILE, PlacesFile};
pub use normalize::{Lang, detect_lang, is_han, normalize};
pub use spelling::{Homophones, one_letter_slips};
pub use synonyms::Synonyms;
pub use tokenizer::{JiebaTokenizer, TOKENIZER_NAME};
