//! jieba's rules for runs of plain ASCII, applied without jieba: where such a run (an
//! island) begins and ends, and how jieba would cut it. See the parent module for why.

use std::ops::Range;

use jieba_rs::Jieba;

use super::Piece;

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
pub(super) fn is_block_byte(b: u8) -> bool {
    CLASS[usize::from(b)] != SEPARATOR
}

/// The next ASCII island at or after `from`: a run of ASCII bytes that starts and ends
/// where jieba's blocks do (at a separator, or at the text's ends) and is at least
/// `MIN_ISLAND` long. Non-ASCII text is skipped eight bytes at a time.
pub(super) fn find_island(bytes: &[u8], from: usize) -> Option<Range<usize>> {
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
pub(super) fn cut_island<'a>(
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
