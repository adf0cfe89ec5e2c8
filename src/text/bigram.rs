//! Character bigrams of Chinese text (Latin words kept whole): a second, segmentation-free
//! view of the text, so that a question and a document that jieba cut differently
//! (新吴 / 新吴区, 清退 / 清退低效) still share evidence.

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

use super::normalize::{is_han, normalize_cow};

pub const BIGRAM_TOKENIZER_NAME: &str = "xiaoer_bigram";

/// Overlapping bigrams of each run of Han characters (a lone character stays a unigram);
/// each run of letters or digits is one lowercased token.
pub fn bigrams(text: &str) -> Vec<String> {
    let normalized = normalize_cow(text);
    let mut out = Vec::new();
    let mut han: Vec<char> = Vec::new();
    let mut word = String::new();
    let flush_han = |han: &mut Vec<char>, out: &mut Vec<String>| {
        match han.len() {
            0 => {}
            1 => out.push(han[0].to_string()),
            _ => out.extend(han.windows(2).map(|w| w.iter().collect::<String>())),
        }
        han.clear();
    };
    for c in normalized.chars() {
        if is_han(c) {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            han.push(c);
        } else if c.is_alphanumeric() {
            flush_han(&mut han, &mut out);
            word.push(c);
        } else {
            flush_han(&mut han, &mut out);
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
        }
    }
    flush_han(&mut han, &mut out);
    if !word.is_empty() {
        out.push(word);
    }
    out
}

#[derive(Clone, Debug, Default)]
pub struct BigramTokenizer;

pub struct BigramTokenStream {
    tokens: Vec<Token>,
    index: usize,
}

impl Tokenizer for BigramTokenizer {
    type TokenStream<'a> = BigramTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> BigramTokenStream {
        let tokens = bigrams(text)
            .into_iter()
            .enumerate()
            .map(|(position, text)| Token {
                offset_from: 0,
                offset_to: 0,
                position,
                text,
                position_length: 1,
            })
            .collect();
        BigramTokenStream { tokens, index: 0 }
    }
}

impl TokenStream for BigramTokenStream {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bigrams_of_mixed_text() {
        assert_eq!(bigrams("新吴区WFOE注册"), ["新吴", "吴区", "wfoe", "注册"]);
        assert_eq!(bigrams("税"), ["税"]);
        assert!(bigrams("🙂 \" : *").is_empty());
    }
}
