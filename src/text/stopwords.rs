//! Stopwords: function words dropped from every text, checked per token cheaply.

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
    /// One-character stopwords, a bit per character of the Basic Multilingual Plane.
    single: Vec<u64>,
    /// First characters of the longer stopwords.
    first_chars: Vec<u64>,
    /// Longer stopwords as their UTF-8 bytes packed into a `u128`, open addressing.
    table: Vec<u128>,
}

const SLOTS: usize = 2048;

impl Stopwords {
    /// The process-wide set.
    pub fn get() -> &'static Stopwords {
        static SET: OnceLock<Stopwords> = OnceLock::new();
        SET.get_or_init(Stopwords::build)
    }

    fn build() -> Stopwords {
        let mut single = vec![0u64; 0x1_0000 / 64];
        let mut first_chars = vec![0u64; 0x1_0000 / 64];
        let mut table = vec![0u128; SLOTS];
        for w in STOPWORDS {
            let mut chars = w.chars();
            let Some(c) = chars.next() else { continue };
            let c = c as usize;
            assert!(
                c < 0x1_0000 && w.len() <= 15,
                "stopword {w:?} cannot be looked up"
            );
            if chars.next().is_none() {
                single[c / 64] |= 1 << (c % 64);
                continue;
            }
            first_chars[c / 64] |= 1 << (c % 64);
            let key = key(w);
            let mut i = slot(key);
            while table[i] != 0 && table[i] != key {
                i = (i + 1) % SLOTS;
            }
            table[i] = key;
        }
        Stopwords {
            single,
            first_chars,
            table,
        }
    }

    /// Is `word` a stopword? `first` is its first character, which the caller has
    /// already decoded. Two bit tests decide most tokens: a one-character token by the
    /// set of one-character stopwords, most longer ones because no stopword starts with
    /// their first character.
    #[inline]
    pub fn contains(&self, first: char, word: &str) -> bool {
        let c = first as usize;
        if c >= 0x1_0000 {
            return false;
        }
        if word.len() == first.len_utf8() {
            return self.single[c / 64] & (1 << (c % 64)) != 0;
        }
        if self.first_chars[c / 64] & (1 << (c % 64)) == 0 || word.len() > 15 {
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

/// A word of at most 15 bytes as one integer: its bytes, then its length.
fn key(word: &str) -> u128 {
    let mut bytes = [0u8; 16];
    bytes[..word.len()].copy_from_slice(word.as_bytes());
    bytes[15] = word.len() as u8;
    u128::from_le_bytes(bytes)
}

fn slot(key: u128) -> usize {
    let folded = (key as u64) ^ ((key >> 64) as u64).rotate_left(29);
    (folded.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 53) as usize % SLOTS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_stopword(word: &str) -> bool {
        Stopwords::get().contains(word.chars().next().unwrap(), word)
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
}
