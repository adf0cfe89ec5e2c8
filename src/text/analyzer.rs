//! The analyzer: normalise, cut with jieba (search mode), drop stopwords and punctuation,
//! stem English words. One `Analyzer` per process; cloning it is cheap (an `Arc`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::collections::HashSet;
use std::sync::Arc;

use jieba_rs::Jieba;
use rust_stemmers::{Algorithm, Stemmer};

use super::cut::{AsciiWordStarts, Cut};
use super::dict::Dictionary;
use super::normalize::{is_han, normalize, normalize_cow};
use super::stopwords::Stopwords;
use super::synonyms::Synonyms;

/// What the part of speech says about a query word.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TermInfo {
    /// How much it counts in coverage.
    pub weight: f32,
    /// A proper name (place, person, organisation, other name).
    pub proper: bool,
}

/// One analysed term with its byte range in the *normalised* text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub text: String,
    pub from: usize,
    pub to: usize,
}

#[derive(Clone)]
pub struct Analyzer {
    inner: Arc<Inner>,
}

struct Inner {
    jieba: Jieba,
    /// Where a user-dictionary word may start in ASCII text (see `cut`).
    word_starts: AsciiWordStarts,
    stemmer: Stemmer,
    synonyms: Synonyms,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer").finish_non_exhaustive()
    }
}

impl Analyzer {
    /// Builds the jieba dictionary (embedded default plus the user dictionary) and the
    /// synonym table. Costs ~130 ms: do it once per process.
    pub fn new(dict: &Dictionary) -> Analyzer {
        let mut jieba = Jieba::new();
        let mut word_starts = AsciiWordStarts::default();
        for word in &dict.words {
            jieba.add_word(&word.word, word.freq, word.tag.as_deref());
            word_starts.insert(&word.word);
        }
        // Every Chinese synonym must be one token, or the group could not find it.
        for group in &dict.synonym_groups {
            for w in group {
                if w.chars().any(super::normalize::is_han) && !w.contains(char::is_whitespace) {
                    let w = normalize(w);
                    if !jieba.has_word(&w) {
                        jieba.add_word(&w, None, None);
                        word_starts.insert(&w);
                    }
                }
            }
        }
        let stemmer = Stemmer::create(Algorithm::English);
        let bare = Inner {
            jieba,
            word_starts,
            stemmer,
            synonyms: Synonyms::default(),
        };
        // Synonym variants are analysed by the same pipeline, so `高新技术企业` in the
        // synonyms file means exactly the term the index holds.
        let synonyms = Synonyms::build(&dict.synonym_groups, |text| {
            bare.terms(text).into_iter().map(|t| t.text).collect()
        });
        Analyzer {
            inner: Arc::new(Inner { synonyms, ..bare }),
        }
    }

    /// Analysed terms in text order (duplicates kept: tantivy needs term frequencies).
    pub fn terms(&self, text: &str) -> Vec<Term> {
        self.inner.terms(text)
    }

    /// Calls `f(term, from, to)` for each analysed term, allocating nothing per term.
    pub fn for_each_term(&self, text: &str, f: impl FnMut(&str, usize, usize)) {
        self.inner.for_each_term(text, f)
    }

    /// jieba's search-mode cut of already-normalised text, for the tantivy tokenizer.
    pub(super) fn cut<'a>(&'a self, normalized: &'a str) -> Cut<'a> {
        self.inner.cut(normalized)
    }

    /// The term one token of `cut` stands for (see `Inner::with_term`).
    #[inline]
    pub(super) fn with_term(
        &self,
        word: &str,
        stopwords: &Stopwords,
        f: impl FnOnce(TermText<'_>),
    ) -> bool {
        self.inner.with_term(word, stopwords, f)
    }

    /// The distinct terms of a text, in first-seen order.
    pub fn distinct_terms(&self, text: &str) -> Vec<String> {
        let mut seen = HashSet::new();
        self.terms(text)
            .into_iter()
            .filter_map(|t| seen.insert(t.text.clone()).then_some(t.text))
            .collect()
    }

    /// How much a query word should count when judging whether a record covers the
    /// question: nouns and names fully; verbs less; adverbs, pronouns, numerals and the
    /// like little (colloquial filler such as 现在, 大概, 多大 says nothing about the topic).
    pub fn term_weights(&self, text: &str) -> std::collections::HashMap<String, TermInfo> {
        let normalized = normalize_cow(text);
        let mut out = std::collections::HashMap::new();
        for tag in self.inner.jieba.tag(&normalized, true) {
            // Names of places, people, organisations: a question about 太原市 is not
            // answered by a document about 天津市, however much else they share.
            let proper = tag.tag.starts_with("nr") || matches!(tag.tag, "ns" | "nt" | "nz");
            let w = match tag.tag.chars().next() {
                Some('v') if tag.tag == "vn" => 1.0,
                Some('v') => 0.6,
                Some(
                    'a' | 'd' | 'r' | 'm' | 'q' | 'c' | 'p' | 'u' | 'y' | 'e' | 'o' | 'f' | 't',
                ) => 0.3,
                _ => 1.0,
            };
            out.insert(tag.word.trim().to_string(), TermInfo { weight: w, proper });
        }
        out
    }

    /// Whether jieba's dictionary holds `word` as a word of some currency. Typos (高心, 许克,
    /// 家计 for 加计) are not words or are rare ones (家计, "household budget", is seen 18
    /// times in jieba's corpus; 今年 about 10,000).
    pub fn is_rare_word(&self, word: &str) -> bool {
        // A word jieba does not hold at all is judged by its characters' frequencies
        // (高心 comes out at 25): not being a word is what makes it a typo candidate.
        !self.inner.jieba.has_word(word) || self.inner.jieba.suggest_freq(word) <= RARE_WORD_FREQ
    }

    /// The term an English word is indexed as (its stem), without the stem cache: for
    /// spelling candidates, which would only crowd it.
    pub fn stem(&self, word: &str) -> String {
        self.inner.stemmer.stem(word).into_owned()
    }

    pub fn synonyms(&self) -> &Synonyms {
        &self.inner.synonyms
    }

    /// Bare jieba, for benchmarks that compare our pipeline with it.
    pub fn jieba(&self) -> &Jieba {
        &self.inner.jieba
    }
}

/// jieba frequencies at or below this mark a word rare enough to be read as a typo.
const RARE_WORD_FREQ: usize = 20;

thread_local! {
    /// Snowball stemming allocates on every call; English words repeat, so remember them.
    static STEMS: RefCell<HashMap<String, String>> = RefCell::new(HashMap::new());
}
const STEM_CACHE_LIMIT: usize = 50_000;

impl Inner {
    fn with_stem(&self, word: &str, f: impl FnOnce(&str)) {
        STEMS.with(|cache| {
            let mut cache = cache.borrow_mut();
            if let Some(stem) = cache.get(word) {
                return f(stem);
            }
            let stem = self.stemmer.stem(word).into_owned();
            f(&stem);
            if cache.len() >= STEM_CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(word.to_string(), stem);
        })
    }

    fn terms(&self, text: &str) -> Vec<Term> {
        let mut out = Vec::new();
        self.for_each_term(text, |term, from, to| {
            out.push(Term {
                text: term.to_string(),
                from,
                to,
            })
        });
        out
    }

    /// The pipeline without allocating a string per term: `f(term, from, to)`.
    fn for_each_term(&self, text: &str, mut f: impl FnMut(&str, usize, usize)) {
        let normalized = normalize_cow(text);
        self.for_each_term_in(&normalized, |t, from, to| match t {
            TermText::Slice => f(&normalized[from..to], from, to),
            TermText::Owned(s) => f(s, from, to),
        });
    }

    /// Terms of already-normalised text: `Slice` when the term is `text[from..to]` itself
    /// (no copy needed), `Owned` when it was transformed (stemmed).
    fn for_each_term_in(&self, normalized: &str, mut f: impl FnMut(TermText<'_>, usize, usize)) {
        let stopwords = Stopwords::get();
        for piece in self.cut(normalized) {
            self.with_term(piece.word, stopwords, |term| {
                f(term, piece.from, piece.to())
            });
        }
    }

    /// jieba's search-mode cut (words and their dictionary sub-words), HMM on for words
    /// the dictionary lacks; long English runs cut without jieba, to the same tokens.
    fn cut<'a>(&'a self, normalized: &'a str) -> Cut<'a> {
        Cut::new(&self.jieba, &self.word_starts, normalized)
    }

    /// Hands `f` the term a jieba token stands for: the word itself, or its stem for an
    /// English word. False (and `f` not called) when the token is not a term: whitespace,
    /// punctuation, a stopword.
    #[inline]
    fn with_term(&self, word: &str, stopwords: &Stopwords, f: impl FnOnce(TermText<'_>)) -> bool {
        // jieba returns whitespace as tokens of its own, never around a word.
        if !stopwords.keeps(word) {
            return false;
        }
        // Words of one or two letters have no suffix to strip.
        if word.len() > 2 && word.bytes().all(|b| b.is_ascii_alphabetic()) {
            self.with_stem(word, |stem| {
                if stem == word {
                    f(TermText::Slice)
                } else {
                    f(TermText::Owned(stem))
                }
            });
        } else {
            f(TermText::Slice);
        }
        true
    }
}

/// A term as `for_each_term_in` reports it.
pub enum TermText<'a> {
    Slice,
    Owned(&'a str),
}

/// Is this term Chinese (for weighting: single Han characters are weak evidence)?
pub fn is_single_han(term: &str) -> bool {
    let mut chars = term.chars();
    matches!((chars.next(), chars.next()), (Some(c), None) if is_han(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::dict::Dictionary;

    fn analyzer() -> Analyzer {
        let dict = Dictionary::parse_words("招商护商专员 20000\n高企 20000\n", "user.dict")
            .unwrap()
            .with_synonyms_text("高新技术企业 = 高企 = hnte\n", "synonyms.txt")
            .unwrap();
        Analyzer::new(&dict)
    }

    fn words(a: &Analyzer, text: &str) -> Vec<String> {
        a.terms(text).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn a_typo_is_rare_and_a_common_word_is_not() {
        let a = analyzer();
        // 高心 is no word; its characters alone would make it look as common as a word.
        for typo in ["高心", "许克", "家计"] {
            assert!(a.is_rare_word(typo), "{typo}");
        }
        for word in ["今年", "登记", "企业"] {
            assert!(!a.is_rare_word(word), "{word}");
        }
    }

    #[test]
    fn cuts_a_real_question_into_topic_words() {
        let a = analyzer();
        let w = words(&a, "外资企业在无锡注册公司需要哪些材料？");
        for expected in ["外资", "企业", "无锡", "注册", "公司", "材料"] {
            assert!(
                w.contains(&expected.to_string()),
                "{expected} missing from {w:?}"
            );
        }
        assert!(!w.contains(&"哪些".to_string()), "stopword kept: {w:?}");
        assert!(!w.iter().any(|t| t == "？" || t == "?"));
    }

    #[test]
    fn user_dictionary_words_stay_whole() {
        let a = analyzer();
        let w = words(&a, "怎么联系招商护商专员");
        assert!(w.contains(&"招商护商专员".to_string()), "{w:?}");
    }

    #[test]
    fn english_is_lowercased_and_stemmed() {
        let a = analyzer();
        assert_eq!(
            words(&a, "Work Permits for Employees"),
            ["work", "permit", "employe"]
        );
    }

    #[test]
    fn full_width_and_half_width_match() {
        let a = analyzer();
        assert_eq!(words(&a, "ＨＮＴＥ"), words(&a, "hnte"));
    }

    #[test]
    fn emoji_punctuation_and_query_syntax_vanish() {
        let a = analyzer();
        assert!(words(&a, "🙂🙂 \" : * ( ) ^ ~").is_empty());
        assert_eq!(words(&a, "\"tax\" AND rate:*"), ["tax", "rate"]);
    }

    #[test]
    fn synonyms_map_to_one_group() {
        let a = analyzer();
        let s = a.synonyms();
        assert!(s.group_of("高企").is_some());
        assert_eq!(s.group_of("高企"), s.group_of("hnte"));
        assert!(s.group_of("税率").is_none());
    }
}
