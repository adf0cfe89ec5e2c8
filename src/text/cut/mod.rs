//! jieba's search-mode cut of normalised text, token for token, with long runs of plain
//! ASCII (English sentences, figures, web addresses) cut by `ascii` instead of by jieba.
//!
//! Why: jieba walks ASCII a character at a time through its dictionary trie and its HMM
//! code, so on our corpus it spends about a quarter of its time on the seventh of the
//! bytes that are English. For ASCII that holds no dictionary word, what jieba does
//! reduces to a few fixed rules (`ascii`), which are cheap to apply directly. The output
//! is the same token sequence; `tests::matches_jieba_*` hold it to that. The rules are
//! jieba-rs 0.11's (Cargo.lock pins the release): a new release must pass those tests.
//! A long text is cut a piece of about `PIECE_LEN` at a time, each ending after a
//! separator, so that memory stays bounded however long the text (unless it runs on
//! for pages without a separator: a piece cannot end inside a run of Han characters).

mod ascii;

use std::ops::Range;

use jieba_rs::Jieba;

pub use ascii::AsciiWordStarts;
use ascii::{cut_island, find_island, is_block_byte};

/// One token of the cut: the word and its byte offset in the cut text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece<'a> {
    pub word: &'a str,
    pub from: usize,
}

impl Piece<'_> {
    /// The byte offset just past the word.
    pub fn to(&self) -> usize {
        self.from + self.word.len()
    }
}

/// Text between islands longer than this goes to jieba a piece at a time, each ending
/// just after a separator (where jieba's output is the same with or without the cut),
/// and so is cut a longer island. jieba hands back a whole call's tokens at once, 48
/// bytes each: cutting a long text in one call builds a vector larger than the text
/// several times over and reads it back from memory; pieces of this size keep it in the
/// cache and bound what a huge text costs in memory.
const PIECE_LEN: usize = 4096;

/// The cut of one normalised text, handed out a token at a time.
pub struct Cut<'a> {
    jieba: &'a Jieba,
    word_starts: &'a AsciiWordStarts,
    text: &'a str,
    /// What jieba cut from `text[jieba_base..]`, not yet handed out.
    jieba_tokens: std::vec::IntoIter<jieba_rs::Token<'a>>,
    jieba_base: usize,
    /// The ASCII run after jieba's part, cut here, and how many of it were handed out.
    island: Vec<Piece<'a>>,
    island_next: usize,
    /// The next island at or after `rest`, once looked for (`None` inside: there is none).
    island_ahead: Option<Option<Range<usize>>>,
    /// Where the text not yet cut begins.
    rest: usize,
    /// `PIECE_LEN`, smaller in tests.
    piece_len: usize,
}

impl<'a> Cut<'a> {
    pub fn new(jieba: &'a Jieba, word_starts: &'a AsciiWordStarts, text: &'a str) -> Cut<'a> {
        Cut {
            jieba,
            word_starts,
            text,
            jieba_tokens: Vec::new().into_iter(),
            jieba_base: 0,
            island: Vec::new(),
            island_next: 0,
            island_ahead: None,
            rest: 0,
            piece_len: PIECE_LEN,
        }
    }

    /// Cuts the next stretch: the text up to the next ASCII island goes to jieba (a
    /// piece at a time when it is long), the island is cut here. False when the text is
    /// used up.
    fn cut_next_stretch(&mut self) -> bool {
        let (text, rest) = (self.text, self.rest);
        if rest >= text.len() {
            return false;
        }
        let island = self
            .island_ahead
            .get_or_insert_with(|| find_island(text.as_bytes(), rest))
            .clone();
        let jieba_end = island.as_ref().map_or(text.len(), |r| r.start);
        if jieba_end > rest {
            let end = piece_end(text.as_bytes(), rest + self.piece_len, jieba_end);
            self.jieba_tokens = self
                .jieba
                .cut_for_search(&text[rest..end], true)
                .into_iter();
            self.jieba_base = rest;
            if end < jieba_end {
                self.rest = end;
                return true;
            }
        }
        self.island.clear();
        self.island_next = 0;
        self.island_ahead = None;
        match island {
            Some(range) => {
                // A long island is cut a piece at a time too. Its rest starts after a
                // separator, so it is found again as the next island, or, if short,
                // goes to jieba, which cuts it the same way.
                let end = piece_end(text.as_bytes(), range.start + self.piece_len, range.end);
                self.rest = end;
                cut_island(
                    self.jieba,
                    self.word_starts,
                    text,
                    range.start..end,
                    &mut self.island,
                );
            }
            None => self.rest = text.len(),
        }
        true
    }
}

/// Where a piece of text that may run to `end` should end when it is to be about as
/// long as `target` says: just after the first separator at or after `target`
/// that jieba cuts alone (an ASCII separator other than `\r`, which `\n` may follow and
/// join; CJK punctuation U+3000–303F; the full-width forms and specials U+FF00–FFFF, but
/// not the compatibility ideographs U+F900–FAFF just below them), or at `end`.
/// Byte by byte: lead bytes and ASCII never look like continuation bytes.
fn piece_end(bytes: &[u8], target: usize, end: usize) -> usize {
    let mut i = target;
    while i < end {
        match bytes[i] {
            b @ 0..0x80 if !is_block_byte(b) && b != b'\r' => return i + 1,
            0xE3 if bytes[i + 1] == 0x80 => return i + 3,
            0xEF if bytes[i + 1] >= 0xBC => return i + 3,
            _ => i += 1,
        }
    }
    end
}

impl<'a> Iterator for Cut<'a> {
    type Item = Piece<'a>;

    #[inline]
    fn next(&mut self) -> Option<Piece<'a>> {
        loop {
            if let Some(t) = self.jieba_tokens.next() {
                return Some(Piece {
                    word: t.word,
                    from: self.jieba_base + t.byte_start,
                });
            }
            if let Some(&piece) = self.island.get(self.island_next) {
                self.island_next += 1;
                return Some(piece);
            }
            if !self.cut_next_stretch() {
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jieba_pieces<'a>(jieba: &Jieba, text: &'a str) -> Vec<Piece<'a>> {
        jieba
            .cut_for_search(text, true)
            .into_iter()
            .map(|t| Piece {
                word: t.word,
                from: t.byte_start,
            })
            .collect()
    }

    /// Checks the cut, and the cut with a piece ending after every separator.
    fn assert_matches_jieba(jieba: &Jieba, starts: &AsciiWordStarts, text: &str) {
        let expected = jieba_pieces(jieba, text);
        let ours: Vec<Piece> = Cut::new(jieba, starts, text).collect();
        assert_eq!(ours, expected, "{text:?}");
        let in_tiny_pieces = in_pieces(Cut::new(jieba, starts, text), 0);
        assert_eq!(in_tiny_pieces, expected, "{text:?} in pieces");
    }

    /// `cut` with its text (jieba's part and islands) handed over in pieces of about
    /// `size` bytes; 0 ends a piece after every separator.
    fn in_pieces(mut cut: Cut<'_>, size: usize) -> Vec<Piece<'_>> {
        cut.piece_len = size;
        cut.collect()
    }

    #[test]
    fn matches_jieba_on_mixed_sentences() {
        let mut jieba = Jieba::new();
        jieba.add_word("wuxi-ic", Some(2000), None);
        let mut starts = AsciiWordStarts::default();
        starts.insert("wuxi-ic");
        for text in [
            "",
            "work permit",
            "foreign-invested enterprises in wuxi can apply for the r&d super-deduction of 100% since 2023.",
            "外资企业 work permits for foreign employees (category a) are valid for up to 5 years, see www.wuxi.gov.cn/zfxxgk/index.shtml 。",
            "年2024 apply online at https://example.gov.cn/a_b/c-d.html?x=1&y=2 or call 0510-12345678\r\nthen visit 新吴区",
            "c++ and c# developers, at&t, wuxi-ic park and wuxi-ic-park, v1.2.3-beta_4 -- ..x.. 50%% %50 a%b",
            "   leading spaces and trailing dots...   ",
            "the wuxi-ic industrial park is a national-level zone\r\n\r\nsecond paragraph",
        ] {
            assert_matches_jieba(&jieba, &starts, text);
        }
    }

    #[test]
    fn matches_jieba_on_every_short_string_of_tricky_bytes() {
        // Every string of up to five of these bytes, inside a long English run (cut
        // here), glued to a Han character on either side, and at the text's ends.
        let jieba = Jieba::new();
        let starts = AsciiWordStarts::default();
        let alphabet = b"a1.-_%+ \r\n";
        let mut tricky = Vec::new();
        for len in 1..=5u32 {
            for n in 0..alphabet.len().pow(len) {
                tricky.clear();
                let mut k = n;
                for _ in 0..len {
                    tricky.push(alphabet[k % alphabet.len()]);
                    k /= alphabet.len();
                }
                let tricky = std::str::from_utf8(&tricky).unwrap();
                for text in [
                    format!("the permit is {tricky} for staff 外资"),
                    format!("外资{tricky} then permits for staff"),
                    format!("permits for the staff of 外资 {tricky}外资"),
                    format!("{tricky} and permits for the staff"),
                ] {
                    assert_matches_jieba(&jieba, &starts, &text);
                }
            }
        }
    }

    #[test]
    fn matches_jieba_on_the_shipped_corpus_and_public_data() {
        // Every text of the shipped corpus, with its dictionary, and the Chinese, English
        // and traditional texts of the public datasets beside the project when they are
        // there (CI has them), cut both ways after normalisation.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let corpus = crate::corpus::load(&root.join("corpus")).unwrap();
        let analyzer = crate::text::Analyzer::new(&corpus.dictionary);
        let mut texts: Vec<String> = corpus
            .policies
            .iter()
            .flat_map(|p| p.passages.iter().map(|x| x.text.clone()))
            .chain(corpus.faqs.iter().flat_map(|f| {
                [&f.question, &f.answer]
                    .into_iter()
                    .chain(&f.alternatives)
                    .cloned()
            }))
            .collect();
        let data = root.join("../shared/data");
        for file in [
            "ncp_policy_qa/docs.jsonl",
            "ncp_policy_qa/queries_dev.jsonl",
            "taipei_gov_faq/faq.jsonl",
        ] {
            let Ok(lines) = std::fs::read_to_string(data.join(file)) else {
                continue;
            };
            for line in lines.lines() {
                let record: serde_json::Value = serde_json::from_str(line).unwrap();
                let strings = record.as_object().into_iter().flat_map(|o| o.values());
                texts.extend(strings.filter_map(|v| v.as_str().map(str::to_string)));
            }
        }
        let mut tokens = 0;
        for text in &texts {
            let normalized = crate::text::normalize(text);
            let ours: Vec<Piece> = analyzer.cut(&normalized).collect();
            assert_eq!(
                ours,
                jieba_pieces(analyzer.jieba(), &normalized),
                "{text:?}"
            );
            tokens += ours.len();
        }
        assert!(tokens > 100_000, "only {tokens} tokens compared");
    }

    #[test]
    fn matches_jieba_when_jiebas_part_goes_in_pieces() {
        // The whole shipped corpus as one text, and sentences with every kind of
        // separator, cut with pieces from none (a cut after every separator) up; and
        // Han-class characters next to the separator ranges (compatibility ideographs
        // U+F900–FAFF, Extension A), where a cut would change jieba's words.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let corpus = crate::corpus::load(&root.join("corpus")).unwrap();
        let analyzer = crate::text::Analyzer::new(&corpus.dictionary);
        let whole: String = corpus
            .policies
            .iter()
            .flat_map(|p| p.passages.iter().map(|x| x.text.as_str()))
            .chain(corpus.faqs.iter().map(|f| f.answer.as_str()))
            .collect::<Vec<_>>()
            .join("\n");
        let whole = crate::text::normalize(&whole);
        let expected = jieba_pieces(analyzer.jieba(), &whole);
        for size in [0, 100, PIECE_LEN] {
            assert_eq!(in_pieces(analyzer.cut(&whole), size), expected, "{size}");
        }
        for text in [
            "外资企业，在无锡。注册「公司」（需要）哪些材料？　高新技术企业",
            "外资\r\n企业\r\r\n\n注册 a b c\u{3007}\u{3006}〇々ー ｶﾀｶﾅ 𠀀𠀁 é——“高企”…",
            "c++，c#。at&t 2024年 50% v1.2-beta 新吴区;梁溪区:惠山区",
            // Pairs jieba's HMM joins: compatibility ideographs, then Extension A.
            "\u{F900}\u{F901}，a\u{F900}\u{F901}\u{F902}",
            "\u{3400}\u{3401}，a\u{3400}\u{3401}b",
        ] {
            for size in 0..12 {
                assert_eq!(
                    in_pieces(analyzer.cut(text), size),
                    jieba_pieces(analyzer.jieba(), text),
                    "{text:?} in pieces of {size}"
                );
            }
        }
    }

    #[test]
    fn pieces_end_just_after_a_separator() {
        let text = "外资企业，在无锡注册。公司 needs";
        let bytes = text.as_bytes();
        assert_eq!(&text[..piece_end(bytes, 1, text.len())], "外资企业，");
        assert_eq!(
            &text[..piece_end(bytes, 13, text.len())],
            "外资企业，在无锡注册。"
        );
        assert_eq!(
            &text[..piece_end(bytes, 31, text.len())],
            "外资企业，在无锡注册。公司 "
        );
        assert_eq!(piece_end(bytes, 40, text.len()), text.len());
        assert_eq!(piece_end(b"a\r\nb", 0, 4), 3);
    }
}
