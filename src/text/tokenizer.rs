//! The tantivy tokenizer: our analyzer behind tantivy's `Tokenizer` trait.

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

use super::analyzer::{Analyzer, TermText};
use std::borrow::Cow;

use super::normalize::normalize_cow;

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

/// The normalised text (borrowed when nothing needed folding) plus, per term, where its text is: a range of the normalised text
/// (most terms) or of a side buffer (stemmed words). `advance` copies each term once, into
/// a reused token.
pub struct JiebaTokenStream<'a> {
    normalized: Cow<'a, str>,
    /// Each term's byte range in the normalised text, in order.
    spans: Vec<(usize, usize)>,
    /// The few terms whose text is not their range of the normalised text (stems):
    /// (index in `spans`, range in `stems`), in order.
    transformed: Vec<(usize, usize, usize)>,
    stems: String,
    next_transformed: usize,
    index: usize,
    token: Token,
}

impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = JiebaTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> JiebaTokenStream<'a> {
        let normalized = normalize_cow(text);
        let mut stems = String::new();
        let mut spans = Vec::new();
        let mut transformed = Vec::new();
        self.analyzer
            .for_each_term_in(&normalized, |term, from, to| {
                if let TermText::Owned(s) = term {
                    let start = stems.len();
                    stems.push_str(s);
                    transformed.push((spans.len(), start, stems.len()));
                }
                spans.push((from, to));
            });
        JiebaTokenStream {
            normalized,
            spans,
            transformed,
            stems,
            next_transformed: 0,
            index: 0,
            token: Token::default(),
        }
    }
}

impl TokenStream for JiebaTokenStream<'_> {
    fn advance(&mut self) -> bool {
        let Some(&(from, to)) = self.spans.get(self.index) else {
            return false;
        };
        let text = match self.transformed.get(self.next_transformed) {
            Some(&(at, start, end)) if at == self.index => {
                self.next_transformed += 1;
                &self.stems[start..end]
            }
            _ => &self.normalized[from..to],
        };
        self.token.text.clear();
        self.token.text.push_str(text);
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
