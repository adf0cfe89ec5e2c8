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

pub struct JiebaTokenStream {
    tokens: Vec<Token>,
    index: usize,
}

impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = JiebaTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> JiebaTokenStream {
        let tokens = self
            .analyzer
            .terms(text)
            .into_iter()
            .enumerate()
            .map(|(position, term)| Token {
                offset_from: term.from,
                offset_to: term.to,
                position,
                text: term.text,
                position_length: 1,
            })
            .collect();
        JiebaTokenStream { tokens, index: 0 }
    }
}

impl TokenStream for JiebaTokenStream {
    fn advance(&mut self) -> bool {
        if self.index < self.tokens.len() {
            self.index += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        &self.tokens[self.index - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.index - 1]
    }
}
