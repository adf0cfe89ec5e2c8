//! The tantivy tokenizer: our analyzer behind tantivy's `Tokenizer` trait.

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

use super::analyzer::Analyzer;

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

/// Terms are collected as one text buffer plus ranges, so a document costs a few
/// allocations rather than one per term; `advance` copies each term into a reused token.
pub struct JiebaTokenStream {
    buffer: String,
    spans: Vec<(usize, usize, usize, usize)>,
    index: usize,
    token: Token,
}

impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = JiebaTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> JiebaTokenStream {
        let mut buffer = String::with_capacity(text.len());
        let mut spans = Vec::new();
        self.analyzer.for_each_term(text, |term, from, to| {
            let start = buffer.len();
            buffer.push_str(term);
            spans.push((start, buffer.len(), from, to));
        });
        JiebaTokenStream {
            buffer,
            spans,
            index: 0,
            token: Token::default(),
        }
    }
}

impl TokenStream for JiebaTokenStream {
    fn advance(&mut self) -> bool {
        let Some(&(start, end, from, to)) = self.spans.get(self.index) else {
            return false;
        };
        self.token.text.clear();
        self.token.text.push_str(&self.buffer[start..end]);
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
