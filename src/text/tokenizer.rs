//! The tantivy tokenizer: our analyzer behind tantivy's `Tokenizer` trait.

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

use super::analyzer::{Analyzer, TermText};
use super::cut::Cut;
use super::normalize::normalize_into;
use super::stopwords::Stopwords;

/// The name under which the tokenizer is registered on every opened index (tantivy does
/// not store tokenizers in the index).
pub const TOKENIZER_NAME: &str = "xiaoer_jieba";

/// A normalisation buffer above this many bytes is not kept for the next text.
const BUFFER_KEPT: usize = 1 << 20;

/// Cloned by tantivy on every lookup, so it holds only an `Arc` to the analyzer and a
/// buffer that is reused for the normalised form of the texts it tokenizes.
#[derive(Debug)]
pub struct JiebaTokenizer {
    analyzer: Analyzer,
    /// The normalised text when it differs from the input: reused from text to text, so
    /// that a long text does not cost a fresh allocation (and its page faults) each time.
    buffer: String,
    /// The token the stream hands out, kept with its text's allocation from stream to
    /// stream, as tantivy's own tokenizers do.
    token: Token,
}

impl Clone for JiebaTokenizer {
    fn clone(&self) -> JiebaTokenizer {
        JiebaTokenizer::new(self.analyzer.clone())
    }
}

impl JiebaTokenizer {
    pub fn new(analyzer: Analyzer) -> JiebaTokenizer {
        JiebaTokenizer {
            analyzer,
            buffer: String::new(),
            token: Token::default(),
        }
    }
}

/// Filters jieba's cut of the normalised text as tantivy pulls tokens, with no term list
/// of our own in between (that second pass cost a fifth of the tokenizer's time).
pub struct JiebaTokenStream<'a> {
    analyzer: &'a Analyzer,
    stopwords: &'static Stopwords,
    /// jieba's cut, not yet looked at.
    tokens: Cut<'a>,
    position: usize,
    token: &'a mut Token,
}

impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = JiebaTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> JiebaTokenStream<'a> {
        let JiebaTokenizer {
            analyzer,
            buffer,
            token,
        } = self;
        token.reset();
        if buffer.capacity() > BUFFER_KEPT {
            *buffer = String::new();
        }
        let normalized: &'a str = if normalize_into(text, buffer) {
            buffer
        } else {
            text
        };
        JiebaTokenStream {
            analyzer,
            stopwords: Stopwords::get(),
            tokens: analyzer.cut(normalized),
            position: 0,
            token,
        }
    }
}

impl TokenStream for JiebaTokenStream<'_> {
    /// Inlined into the trait's `process`, which tantivy's indexer calls.
    #[inline]
    fn advance(&mut self) -> bool {
        for piece in self.tokens.by_ref() {
            let text = &mut self.token.text;
            let kept = self.analyzer.with_term(piece.word, self.stopwords, |term| {
                text.clear();
                text.push_str(match term {
                    TermText::Slice => piece.word,
                    TermText::Owned(stem) => stem,
                });
            });
            if kept {
                self.token.offset_from = piece.from;
                self.token.offset_to = piece.to();
                self.token.position = self.position;
                self.token.position_length = 1;
                self.position += 1;
                return true;
            }
        }
        false
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::dict::Dictionary;

    #[test]
    fn streams_the_analyzers_terms_with_offsets_and_positions() {
        let dict = Dictionary::parse_words("招商护商专员 20000\n", "user.dict").unwrap();
        let analyzer = Analyzer::new(&dict);
        let text = "外资企业在无锡注册公司需要哪些材料？Work Permits，ＨＮＴＥ。联系招商护商专员\n"
            .repeat(50);
        let mut tokenizer = JiebaTokenizer::new(analyzer.clone());
        let mut stream = tokenizer.token_stream(&text);
        let mut streamed = Vec::new();
        while stream.advance() {
            let t = stream.token();
            assert_eq!(t.position, streamed.len());
            streamed.push((t.text.clone(), t.offset_from, t.offset_to));
        }
        let expected: Vec<(String, usize, usize)> = analyzer
            .terms(&text)
            .into_iter()
            .map(|t| (t.text, t.from, t.to))
            .collect();
        assert_eq!(streamed, expected);
        assert!(streamed.iter().any(|t| t.0 == "permit"));
        assert!(streamed.iter().any(|t| t.0 == "hnte"));
    }

    #[test]
    fn empty_and_punctuation_only_texts_give_no_terms() {
        let dict = Dictionary::parse_words("", "user.dict").unwrap();
        let mut tokenizer = JiebaTokenizer::new(Analyzer::new(&dict));
        for text in ["", "。。 ，！", "🙂"] {
            assert!(!tokenizer.token_stream(text).advance(), "{text:?}");
        }
    }
}
