//! Which jieba tokens are terms: stopwords, punctuation, spaces and symbols are dropped,
//! decided per token with a bit test or two.

use std::sync::OnceLock;

/// Function words that carry no topic: dropping them keeps "什么/怎么/what/how", which
/// every FAQ question contains, from making unrelated FAQs look alike.
const STOPWORDS: &[&str] = &[
    "的",
    "了",
    "吗",
    "呢",
    "吧",
    "啊",
    "呀",
    "嘛",
    "哦",
    "么",
    "是",
    "在",
    "我",
    "我们",
    "你",
    "您",
    "你们",
    "他",
    "她",
    "它",
    "他们",
    "这",
    "那",
    "这个",
    "那个",
    "这些",
    "那些",
    "什么",
    "怎么",
    "怎么样",
    "怎样",
    "如何",
    "哪些",
    "哪",
    "哪里",
    "哪儿",
    "可以",
    "能",
    "能否",
    "能不能",
    "是否",
    "是不是",
    "有没有",
    "有",
    "和",
    "与",
    "及",
    "或",
    "或者",
    "就",
    "都",
    "也",
    "还",
    "还是",
    "会",
    "请问",
    "请",
    "一下",
    "想",
    "想问",
    "问",
    "问一下",
    "知道",
    "一个",
    "个",
    "给",
    "让",
    "被",
    "把",
    "对",
    "从",
    "到",
    "又",
    "要",
    "得",
    "地",
    "着",
    "过",
    "之",
    "其",
    "而",
    "等",
    "以及",
    "如果",
    "因为",
    "所以",
    "但是",
    "然后",
    "谁",
    "为什么",
    "为啥",
    "啥",
    "咋",
    "呗",
    "哈",
    "嗯",
    "啦",
    "多",
    "该",
    "应该",
    "一般",
    "现在",
    "目前",
    "具体",
    "a",
    "an",
    "the",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "am",
    "do",
    "does",
    "did",
    "of",
    "to",
    "in",
    "on",
    "at",
    "for",
    "by",
    "with",
    "from",
    "as",
    "and",
    "or",
    "what",
    "how",
    "which",
    "who",
    "whom",
    "when",
    "where",
    "why",
    "i",
    "we",
    "you",
    "my",
    "our",
    "your",
    "me",
    "us",
    "it",
    "its",
    "this",
    "that",
    "these",
    "those",
    "can",
    "could",
    "would",
    "should",
    "will",
    "shall",
    "may",
    "might",
    "there",
    "here",
    "please",
    "any",
    "some",
    "about",
    "if",
    "so",
    "get",
    "need",
    "want",
    "tell",
    "know",
    "s",
    "t",
];

/// The stopword set, built once, laid out so that the check run for every token costs a
/// few nanoseconds (jieba itself spends only ~70 ns per token).
pub struct Stopwords {
    /// Two bits per character of the Basic Multilingual Plane, kept side by side so that
    /// one load fetches both (see `CharBits`).
    chars: Vec<CharBits>,
    /// Longer stopwords as their UTF-8 bytes packed into a `u128`, open addressing.
    table: Vec<u128>,
    /// The byte length of the longest of them: a longer token needs no lookup.
    longest: usize,
    /// A bit per residue modulo 2048 of the characters U+4000–9FFF (lead bytes E4–E9)
    /// whose `drop` or `first` bit is set. Clear for most Han characters, so most tokens
    /// are settled by it, with fewer steps than `chars` takes (measured: 2% fewer
    /// instructions for the whole tokenizer on Chinese text).
    han_may_stop: [u64; 32],
}

/// The bits of 64 consecutive characters.
#[derive(Clone, Copy, Default)]
struct CharBits {
    /// Set when the character alone is not a term: a one-character stopword,
    /// punctuation, a space, a symbol.
    drop: u64,
    /// Set when a longer stopword starts with the character.
    first: u64,
}

const SLOTS: usize = 512;

impl Stopwords {
    /// The process-wide set.
    pub fn get() -> &'static Stopwords {
        static SET: OnceLock<Stopwords> = OnceLock::new();
        SET.get_or_init(Stopwords::build)
    }

    fn build() -> Stopwords {
        let mut chars = vec![CharBits::default(); 0x1_0000 / 64];
        for c in (0..0x1_0000u32).filter_map(char::from_u32) {
            if !is_word_char(c) || is_cjk_punctuation_block(c) {
                chars[c as usize / 64].drop |= 1 << (c as usize % 64);
            }
        }
        let mut table = vec![0u128; SLOTS];
        for w in STOPWORDS {
            let mut letters = w.chars();
            let Some(c) = letters.next() else { continue };
            let c = c as usize;
            assert!(
                c < 0x1_0000 && w.len() <= 15,
                "stopword {w:?} cannot be looked up"
            );
            if letters.next().is_none() {
                chars[c / 64].drop |= 1 << (c % 64);
                continue;
            }
            chars[c / 64].first |= 1 << (c % 64);
            let key = key(w);
            let mut i = slot(key);
            while table[i] != 0 && table[i] != key {
                i = (i + 1) % SLOTS;
            }
            table[i] = key;
        }
        let longest = STOPWORDS.iter().map(|w| w.len()).max().unwrap_or(0);
        let mut han_may_stop = [0u64; 32];
        for c in 0x4000..=0x9FFF {
            let bits = chars[c / 64];
            if (bits.drop | bits.first) & (1 << (c % 64)) != 0 {
                han_may_stop[(c >> 6) & 31] |= 1 << (c % 64);
            }
        }
        Stopwords {
            han_may_stop,
            chars,
            table,
            longest,
        }
    }

    /// Is this jieba token a term: not whitespace, punctuation or a symbol, not a
    /// stopword? Runs for every token, so it decodes only the first character and
    /// settles almost every token with one load: most Han tokens by `han_may_stop`; the
    /// rest, a one-character token by its `drop` bit, a longer one because it starts
    /// with a word character no stopword starts with. Tokens of mixed kinds are
    /// interleaved at random in text, so the fewer branches here the fewer
    /// mispredictions.
    #[inline(always)]
    pub fn keeps(&self, word: &str) -> bool {
        let bytes = word.as_bytes();
        let (c, width) = match *bytes {
            [b, ..] if b < 0x80 => (usize::from(b), 1),
            [b0 @ 0xE0..=0xEF, b1, b2, ..] => {
                let c = (usize::from(b0 & 0x0F) << 12)
                    | (usize::from(b1 & 0x3F) << 6)
                    | usize::from(b2 & 0x3F);
                if (0xE4..=0xE9).contains(&b0)
                    && self.han_may_stop[(c >> 6) & 31] & (1 << (c % 64)) == 0
                {
                    return true;
                }
                (c, 3)
            }
            [] => return false,
            _ => return self.keeps_rare(word),
        };
        let bits = self.chars[c / 64];
        let bit = 1u64 << (c % 64);
        if bytes.len() == width {
            return bits.drop & bit == 0;
        }
        if (bits.drop | bits.first) & bit == 0 {
            return true;
        }
        self.keeps_longer(word, c)
    }

    /// `keeps` for a token whose first character takes two or four bytes (Latin-1 to
    /// Cyrillic, emoji, rare Han).
    #[cold]
    fn keeps_rare(&self, word: &str) -> bool {
        let first = word.chars().next().map_or(0, |ch| ch as usize);
        if first >= 0x1_0000 {
            // Outside the BMP: emoji and rare Han extensions; no stopword lives there.
            return word.chars().any(is_word_char);
        }
        if word.len() == char::from_u32(first as u32).map_or(1, char::len_utf8) {
            return self.chars[first / 64].drop & (1 << (first % 64)) == 0;
        }
        self.keeps_longer(word, first)
    }

    /// `keeps` for a token of two or more characters, starting with `c`, that is not
    /// settled by `c` alone: it starts with what is not a term by itself, or with the
    /// first character of a longer stopword.
    #[inline(never)]
    fn keeps_longer(&self, word: &str, c: usize) -> bool {
        // A longer token must hold a word character somewhere (jieba joins `+#&._%-` to
        // letters and digits, so `-5` is a term and `--` is not). A set `drop` bit may
        // still be a word character that is a stopword alone (`的` of `的确`).
        let starts_a_word = self.chars[c / 64].drop & (1 << (c % 64)) == 0
            || char::from_u32(c as u32).is_some_and(is_word_char);
        if !starts_a_word && !word.chars().any(is_word_char) {
            return false;
        }
        !self.is_long_stopword(c, word)
    }

    /// Is `word`, of two or more characters and starting with character `c`, a stopword?
    #[inline]
    fn is_long_stopword(&self, c: usize, word: &str) -> bool {
        if self.chars[c / 64].first & (1 << (c % 64)) == 0 || word.len() > self.longest {
            return false;
        }
        let key = key(word);
        let mut i = slot(key);
        loop {
            match self.table[i] {
                0 => return false,
                k if k == key => return true,
                _ => i = (i + 1) % SLOTS,
            }
        }
    }
}

/// A letter, digit or Han character (what a term needs at least one of). Han is checked
/// first by range: the Unicode tables behind `is_alphanumeric` are slow.
fn is_word_char(c: char) -> bool {
    super::normalize::is_han(c)
        || c.is_ascii_alphanumeric()
        || (!c.is_ascii() && c.is_alphanumeric())
}

/// The blocks of CJK symbols and punctuation, full-width punctuation and general
/// punctuation: a lone character from them is never a term, even the few that count as
/// letters or digits (〇, 々).
fn is_cjk_punctuation_block(c: char) -> bool {
    matches!(c,
        '\u{2000}'..='\u{206F}'
        | '\u{3000}'..='\u{303F}'
        | '\u{FF00}'..='\u{FF0F}'
        | '\u{FF1A}'..='\u{FF20}'
        | '\u{FF3B}'..='\u{FF40}'
        | '\u{FF5B}'..='\u{FF65}')
}

/// A word of at most 15 bytes as one integer: its bytes, then its length. A word of 4
/// to 15 bytes (most: a Han character takes three) is built from two overlapping loads
/// with no loop; shorter ones a byte at a time. Runs for every token that starts like a
/// stopword.
fn key(word: &str) -> u128 {
    let bytes = word.as_bytes();
    let len = bytes.len();
    let packed = match len {
        4..=8 => {
            // Bytes 0..4, then bytes 4..len from the last four.
            let low = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            let high = u32::from_le_bytes([
                bytes[len - 4],
                bytes[len - 3],
                bytes[len - 2],
                bytes[len - 1],
            ]);
            u128::from(low) | u128::from(u64::from(high) >> (8 * (8 - len))) << 32
        }
        9..=15 => {
            let low = u64::from_le_bytes(bytes[..8].try_into().expect("eight bytes"));
            let high = u64::from_le_bytes(bytes[len - 8..].try_into().expect("eight bytes"));
            u128::from(low) | u128::from(high >> (8 * (16 - len))) << 64
        }
        _ => bytes
            .iter()
            .take(15)
            .enumerate()
            .fold(0, |key, (i, &b)| key | u128::from(b) << (8 * i)),
    };
    packed | (len as u128) << 120
}

fn slot(key: u128) -> usize {
    let folded = (key as u64) ^ ((key >> 64) as u64).rotate_left(29);
    (folded.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 55) as usize % SLOTS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_stopword(word: &str) -> bool {
        !Stopwords::get().keeps(word)
    }

    #[test]
    fn every_listed_word_is_found_and_others_are_not() {
        for w in STOPWORDS {
            assert!(is_stopword(w), "{w}");
        }
        for w in [
            "无锡",
            "企业",
            "tax",
            "permit",
            "补贴",
            "高新技术企业",
            "专员",
        ] {
            assert!(!is_stopword(w), "{w}");
        }
    }

    #[test]
    fn a_key_holds_the_bytes_in_order_then_the_length() {
        let word = "abcdefghijklmno";
        for len in 0..=15 {
            let expected = word.as_bytes()[..len]
                .iter()
                .enumerate()
                .fold((len as u128) << 120, |k, (i, &b)| {
                    k | u128::from(b) << (8 * i)
                });
            assert_eq!(key(&word[..len]), expected, "{len}");
        }
        assert_ne!(key("我们"), key("我门"));
        assert_ne!(key("我"), key("我\0"));
    }

    #[test]
    fn every_han_character_alone_and_leading_a_word_is_judged_by_the_list() {
        // The quick test on U+4000–9FFF must agree with the list, character by
        // character (hexagram symbols U+4DC0–4DFF are not words).
        let filter = Stopwords::get();
        for c in (0x4000..=0x9FFF).filter_map(char::from_u32) {
            let alone = c.to_string();
            let word_char = is_word_char(c);
            assert_eq!(
                filter.keeps(&alone),
                word_char && !STOPWORDS.contains(&alone.as_str()),
                "{c}"
            );
            for next in ['们', '么', '企'] {
                let word = format!("{c}{next}");
                let expected = !STOPWORDS.contains(&word.as_str());
                assert_eq!(filter.keeps(&word), expected, "{word}");
            }
        }
    }

    #[test]
    fn punctuation_spaces_and_symbols_are_not_terms_but_words_with_them_are() {
        let filter = Stopwords::get();
        for w in [
            " ", "，", "。", "\"", "*", "(", "🙂", "——", "...", "\r\n", "",
        ] {
            assert!(!filter.keeps(w), "{w:?} kept");
        }
        for w in ["c++", "r&d", "5.4", "-5", "高", "é", "𠀀", "A1", "ｗ", "ー"] {
            assert!(filter.keeps(w), "{w:?} dropped");
        }
    }
}
