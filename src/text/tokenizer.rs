//! The tantivy tokenizer: our analyzer behind tantivy's `Tokenizer` trait.

use self_cell::self_cell;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

use super::analyzer::{Analyzer, TermText};
use super::normalize::normalize_cow;
use super::stopwords::Stopwords;

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

type JiebaTokens<'a> = Vec<jieba_rs::Token<'a>>;

self_cell!(
    /// The normalised text and jieba's cut of it, which borrows from it: kept together so
    /// that `advance` filters jieba's tokens as tantivy pulls them, with no list of our
    /// own in between (that second pass cost a fifth of the tokenizer's time).
    struct Cut {
        owner: String,
        #[covariant]
        dependent: JiebaTokens,
    }
);

pub struct JiebaTokenStream {
    analyzer: Analyzer,
    stopwords: &'static Stopwords,
    cut: Cut,
    /// Index in the cut of the next jieba token to look at.
    next: usize,
    position: usize,
    token: Token,
}

impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = JiebaTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> JiebaTokenStream {
        let analyzer = self.analyzer.clone();
        let cut = Cut::new(normalize_cow(text).into_owned(), |normalized| {
            analyzer.cut(normalized)
        });
        JiebaTokenStream {
            analyzer,
            stopwords: Stopwords::get(),
            cut,
            next: 0,
            position: 0,
            token: Token::default(),
        }
    }
}

impl TokenStream for JiebaTokenStream {
    fn advance(&mut self) -> bool {
        let tokens = self.cut.borrow_dependent();
        while let Some(t) = tokens.get(self.next) {
            self.next += 1;
            let text = &mut self.token.text;
            let kept = self.analyzer.with_term(t.word, self.stopwords, |term| {
                text.clear();
                text.push_str(match term {
                    TermText::Slice => t.word,
                    TermText::Owned(stem) => stem,
                });
            });
            if kept {
                self.token.offset_from = t.byte_start;
                self.token.offset_to = t.byte_end;
                self.token.position = self.position;
                self.token.position_length = 1;
                self.position += 1;
                return true;
            }
        }
        false
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
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
