//! The tantivy tokenizer: our analyzer behind tantivy's `Tokenizer` trait.

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

use super::analyzer::{Analyzer, TermText};
use super::normalize::normalize;

/// The name under which the tokenizer is registered on every opened index (tantivy does
/// not store tokenizers in the index).
pub const TOKENIZER_NAME: &str = "xiaoer_jieba";

/// Cloned by tantivy on every lookup, so it holds only an `Arc` to the analyzer.
#[derive(Clone, Debug)]
pub struct JiebaTokenizer {
    analyzer: Analyzer,
}

impl JiebaTokenizer {
    pub fn new(analyzer: Analyzer) -> JiebaTokenizer {
        JiebaTokenizer { analyzer }
    }
}

/// The normalised text plus, per term, where its text is: a range of the normalised text
/// (most terms) or of a side buffer (stemmed words). `advance` copies each term once, into
/// a reused token.
pub struct JiebaTokenStream {
    normalized: String,
    stems: String,
    /// (start, end, in_stems, offset_from, offset_to)
    spans: Vec<(usize, usize, bool, usize, usize)>,
    index: usize,
    token: Token,
}

impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = JiebaTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> JiebaTokenStream {
        let normalized = normalize(text);
        let mut stems = String::new();
        let mut spans = Vec::new();
        self.analyzer
            .for_each_term_in(&normalized, |term, from, to| match term {
                TermText::Slice => spans.push((from, to, false, from, to)),
                TermText::Owned(s) => {
                    let start = stems.len();
                    stems.push_str(s);
                    spans.push((start, stems.len(), true, from, to));
                }
            });
        JiebaTokenStream {
            normalized,
            stems,
            spans,
            index: 0,
            token: Token::default(),
        }
    }
}

impl TokenStream for JiebaTokenStream {
    fn advance(&mut self) -> bool {
        let Some(&(start, end, in_stems, from, to)) = self.spans.get(self.index) else {
            return false;
        };
        let source = if in_stems {
            &self.stems
        } else {
            &self.normalized
        };
        self.token.text.clear();
        self.token.text.push_str(&source[start..end]);
        self.token.offset_from = from;
        self.token.offset_to = to;
        self.token.position = self.index;
        self.token.position_length = 1;
        self.index += 1;
        true
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}
