//! The corpus: policy documents (TOML front matter + Markdown, split into passages), FAQs
//! (TOML) and the dictionary, read from a directory into typed records.

pub mod import;
mod load;
mod model;
mod passages;

pub use load::{DICT_DIR, FAQS_DIR, POLICIES_DIR, load, parse_faqs, parse_policy};
pub use model::{Corpus, Faq, Passage, Policy, in_force};
pub use passages::split as split_passages;
