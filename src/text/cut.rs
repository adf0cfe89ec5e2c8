//! jieba's search-mode cut of normalised text, token for token, with long runs of plain
//! ASCII (English sentences, figures, web addresses) cut here instead of by jieba.
//!
//! Why: jieba walks ASCII a character at a time through its dictionary trie and its HMM
//! code, so on our corpus it spends about a quarter of its time on the seventh of the
//! bytes that are English. For ASCII that holds no dictionary word, what jieba does
//! reduces to a few fixed rules (below), which are cheap to apply directly. The output
//! is the same token sequence; `tests::matches_jieba_*` hold it to that. The rules are
//! jieba-rs 0.11's (Cargo.lock pins the release): a new release must pass those tests.
//! A long text is cut a piece of about `PIECE_LEN` at a time, each ending after a
//! separator, so that memory stays bounded however long the text (unless it runs on
//! for pages without a separator: a piece cannot end inside a run of Han characters).

use std::ops::Range;

use jieba_rs::Jieba;

/// One token of the cut: the word and its byte offset in the cut text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece<'a> {
    pub word: &'a str,
    pub from: usize,
}

/// ASCII runs shorter than this (after trimming to word boundaries) stay with jieba:
/// each run cut here splits jieba's input, and a split costs about what jieba spends on
/// a dozen ASCII characters.
const MIN_ISLAND: usize = 16;

// `find_island` looks at every eighth byte, so it finds every ASCII run of 15 or more.
const _: () = assert!(MIN_ISLAND >= 15);

/// Which pairs of ASCII bytes start a word added to the jieba dictionary (from the
/// user dictionary; jieba's built-in dictionary holds no pure-ASCII word without `+`,
/// `#` or `&`, and blocks with those go to jieba anyway; its words that start with
/// ASCII and go on in Han, such as `a股`, cannot occur in an ASCII block). A block
/// holding such a pair is left to jieba, whose dictionary may keep the word whole.
#[derive(Debug, Clone)]
pub struct AsciiWordStarts {
    /// A bit per pair `(first << 7) | second`.
    pairs: Box<[u64; 256]>,
    /// Whether any bit is set (most dictionaries have no ASCII word).
    any: bool,
}

impl Default for AsciiWordStarts {
    fn default() -> AsciiWordStarts {
        AsciiWordStarts {
            pairs: Box::new([0u64; 256]),
            any: false,
        }
    }
}

impl AsciiWordStarts {
    /// Notes a word added to jieba beyond its built-in dictionary. One-byte words need
    /// no entry: jieba's route leaves every character of a block single either way.
    pub fn insert(&mut self, word: &str) {
        if let [b0, b1, ..] = *word.as_bytes()
            && b0.is_ascii()
            && b1.is_ascii()
        {
            let pair = (usize::from(b0) << 7) | usize::from(b1);
            self.pairs[pair / 64] |= 1 << (pair % 64);
            self.any = true;
        }
    }

    /// May a dictionary word start somewhere in this ASCII block?
    #[inline]
    fn any_in(&self, block: &[u8]) -> bool {
        self.any
            && block.windows(2).any(|w| {
                // Blocks here are ASCII; the mask only keeps the index in range.
                let pair = (usize::from(w[0] & 0x7F) << 7) | usize::from(w[1] & 0x7F);
                self.pairs[pair / 64] & (1 << (pair % 64)) != 0
            })
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

/// What jieba makes of a byte: a separator it hands out alone, or part of a block (a
/// run it segments), and of which kind. Non-ASCII bytes count as block bytes: they may
/// belong to a Han character, which joins adjacent ASCII into its block.
const SEPARATOR: u8 = 0;
const ALPHANUMERIC: u8 = 1;
/// `.`, `_`, `-`: join alphanumerics into one word.
const CONNECTOR: u8 = 2;
const PERCENT: u8 = 4;
/// `+`, `#`, `&`: found only in jieba's built-in ASCII words (`c++`, `c#`, `AT&T`).
const IN_DICTIONARY_WORDS: u8 = 8;
const NON_ASCII: u8 = 16;

const CLASS: [u8; 256] = {
    let mut class = [SEPARATOR; 256];
    let mut b = 0;
    while b < 256 {
        class[b] = match b as u8 {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => ALPHANUMERIC,
            b'.' | b'_' | b'-' => CONNECTOR,
            b'%' => PERCENT,
            b'+' | b'#' | b'&' => IN_DICTIONARY_WORDS,
            0x80.. => NON_ASCII,
            _ => SEPARATOR,
        };
        b += 1;
    }
    class
};

#[inline]
fn is_block_byte(b: u8) -> bool {
    CLASS[usize::from(b)] != SEPARATOR
}

/// The next ASCII island at or after `from`: a run of ASCII bytes that starts and ends
/// where jieba's blocks do (at a separator, or at the text's ends) and is at least
/// `MIN_ISLAND` long. Non-ASCII text is skipped eight bytes at a time.
fn find_island(bytes: &[u8], from: usize) -> Option<Range<usize>> {
    const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
    let mut i = from;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        if word & HIGH_BITS != 0 {
            i += 8;
            continue;
        }
        // Every run of 15 or more ASCII bytes holds one of these eight-byte chunks.
        let mut start = i;
        while start > from && bytes[start - 1] < 0x80 {
            start -= 1;
        }
        let mut end = i + 8;
        while let Some(chunk) = bytes.get(end..end + 8) {
            if u64::from_le_bytes(chunk.try_into().expect("eight bytes")) & HIGH_BITS != 0 {
                break;
            }
            end += 8;
        }
        while end < bytes.len() && bytes[end] < 0x80 {
            end += 1;
        }
        if let Some(island) = trim_to_blocks(bytes, start..end)
            && island.len() >= MIN_ISLAND
        {
            return Some(island);
        }
        i = end;
    }
    None
}

/// The part of ASCII run `run` that jieba would cut the same way on its own: from its
/// first separator to just past its last one, except at the text's ends, because the
/// ASCII next to a Han character is in that character's block. Any non-ASCII neighbour
/// is treated so (`is_block_byte`), though jieba separates at `，` or `é`: that only
/// leaves a word or two more to jieba.
fn trim_to_blocks(bytes: &[u8], run: Range<usize>) -> Option<Range<usize>> {
    let at_block_start = |i: usize| i == 0 || !is_block_byte(bytes[i - 1]);
    let start = if at_block_start(run.start) {
        run.start
    } else {
        run.clone().find(|&i| !is_block_byte(bytes[i]))?
    };
    let end = if run.end == bytes.len() {
        run.end
    } else {
        (start..run.end).rfind(|&i| !is_block_byte(bytes[i]))? + 1
    };
    (start < end).then_some(start..end)
}

/// Cuts ASCII island `range` of `text` into `out` as jieba's search mode would:
/// separators alone (`\r\n` together), and each block by `cut_plain_block`, or by
/// jieba when it may hold a dictionary word.
fn cut_island<'a>(
    jieba: &Jieba,
    word_starts: &AsciiWordStarts,
    text: &'a str,
    range: Range<usize>,
    out: &mut Vec<Piece<'a>>,
) {
    let bytes = text.as_bytes();
    // English runs about three pieces (a word, a space) to ten bytes: room for all at
    // once rather than growing a piece at a time.
    out.reserve(range.len() / 3);
    let mut i = range.start;
    while i < range.end {
        if !is_block_byte(bytes[i]) {
            // Normalised text has no `\r` (control characters become spaces), but the
            // rule is jieba's and costs nothing.
            let len = if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                2
            } else {
                1
            };
            out.push(Piece {
                word: &text[i..i + len],
                from: i,
            });
            i += len;
            continue;
        }
        let start = i;
        let mut kinds = 0;
        while i < range.end && CLASS[usize::from(bytes[i])] != SEPARATOR {
            kinds |= CLASS[usize::from(bytes[i])];
            i += 1;
        }
        let block = &text[start..i];
        if kinds & IN_DICTIONARY_WORDS != 0 || word_starts.any_in(block.as_bytes()) {
            out.extend(
                jieba
                    .cut_for_search(block, true)
                    .into_iter()
                    .map(|t| Piece {
                        word: t.word,
                        from: start + t.byte_start,
                    }),
            );
        } else if kinds == ALPHANUMERIC {
            // The common case, a plain word: one token.
            out.push(Piece {
                word: block,
                from: start,
            });
        } else {
            cut_plain_block(block, start, out);
        }
    }
}

/// Cuts a block of ASCII letters, digits and `._%-` that holds no dictionary word, as
/// jieba does: its route leaves every character single, so the whole block goes to its
/// HMM step, which for non-Chinese text splits off alphanumeric runs (joined by one
/// `.`, `_` or `-` between alphanumerics, and ending in an optional `%`) and hands out
/// what lies between them as it is. Search mode then adds, before a word with those
/// connectors, each part of two or more bytes with a letter in it.
fn cut_plain_block<'a>(block: &'a str, base: usize, out: &mut Vec<Piece<'a>>) {
    let bytes = block.as_bytes();
    let mut push_word = |from: usize, to: usize| {
        let word = &block[from..to];
        if word.bytes().any(|b| CLASS[usize::from(b)] == CONNECTOR) {
            let mut offset = from;
            for part in word.split(['.', '_', '-']) {
                if part.len() >= 2 && part.bytes().any(|b| b.is_ascii_alphabetic()) {
                    out.push(Piece {
                        word: part,
                        from: base + offset,
                    });
                }
                offset += part.len() + 1;
            }
        }
        out.push(Piece {
            word,
            from: base + from,
        });
    };
    let mut i = 0;
    while i < bytes.len() {
        let gap_start = i;
        while i < bytes.len() && !bytes[i].is_ascii_alphanumeric() {
            i += 1;
        }
        if i > gap_start {
            push_word(gap_start, i);
        }
        if i < bytes.len() {
            let word_start = i;
            i = alphanumeric_word_end(bytes, i);
            push_word(word_start, i);
        }
    }
}

/// The end of the alphanumeric word starting at `start`: alphanumeric runs joined by a
/// single connector, then an optional `%`.
fn alphanumeric_word_end(bytes: &[u8], start: usize) -> usize {
    let mut end = start;
    loop {
        while end < bytes.len() && bytes[end].is_ascii_alphanumeric() {
            end += 1;
        }
        match bytes.get(end..end + 2) {
            Some([c, next])
                if CLASS[usize::from(*c)] == CONNECTOR && next.is_ascii_alphanumeric() =>
            {
                end += 1
            }
            _ => break,
        }
    }
    if bytes.get(end) == Some(&b'%') {
        end += 1;
    }
    end
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

    #[test]
    fn finds_islands_only_between_separators() {
        let text = "外资企业2024 work permits are issued in wuxi 新吴区";
        let island = find_island(text.as_bytes(), 0).unwrap();
        assert_eq!(&text[island], " work permits are issued in wuxi ");
        assert_eq!(find_island("外资 short 企业".as_bytes(), 0), None);
        assert_eq!(
            find_island("外资企业在无锡注册公司需要哪些材料".as_bytes(), 0),
            None
        );
    }

    #[test]
    fn builtin_dictionary_has_no_short_plain_ascii_word() {
        // `cut_island` relies on it: a plain ASCII block is cut without the
        // dictionary. Every string of two or three letters, digits and connectors, and
        // of four letters, covers the words most likely to appear in a new jieba release.
        let jieba = Jieba::new();
        let letters: Vec<char> = ('a'..='z').collect();
        let plain: Vec<char> = ('a'..='z')
            .chain('0'..='9')
            .chain(['.', '_', '-', '%'])
            .collect();
        let mut words = vec![String::new()];
        let mut found = Vec::new();
        for (len, alphabet) in [(1, &plain), (2, &plain), (3, &plain), (4, &letters)] {
            words = words
                .iter()
                .filter(|w| w.chars().all(|c| alphabet.contains(&c)))
                .flat_map(|w| alphabet.iter().map(move |c| format!("{w}{c}")))
                .collect();
            if len > 1 {
                found.extend(words.iter().filter(|w| jieba.has_word(w)).cloned());
            }
        }
        assert!(
            found.is_empty(),
            "plain ASCII words in jieba's dictionary: {found:?}"
        );
    }
}
