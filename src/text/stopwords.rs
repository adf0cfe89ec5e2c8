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

/// Stopwords are at most three Han characters or seven ASCII letters, so each packs into
/// one `u64`, looked up in a small open-addressing table: this runs for every token, and
/// jieba itself spends only ~40 ns per token, so the check must cost a few nanoseconds.
pub fn is_stopword(word: &str) -> bool {
    const SLOTS: usize = 1024;
    // Most tokens start with a character no stopword starts with: one bit test rejects them.
    static FIRST: OnceLock<Vec<u64>> = OnceLock::new();
    let first_chars = FIRST.get_or_init(|| {
        let mut bits = vec![0u64; 0x1_0000 / 64];
        for w in STOPWORDS {
            if let Some(c) = w.chars().next().filter(|c| (*c as u32) < 0x1_0000) {
                bits[c as usize / 64] |= 1 << (c as usize % 64);
            }
        }
        bits
    });
    match word.chars().next() {
        Some(c) if (c as u32) < 0x1_0000 => {
            if first_chars[c as usize / 64] & (1 << (c as usize % 64)) == 0 {
                return false;
            }
        }
        _ => return false,
    }
    static TABLE: OnceLock<Vec<u64>> = OnceLock::new();
    let Some(key) = stopword_key(word) else {
        return false;
    };
    let table = TABLE.get_or_init(|| {
        let mut t = vec![0u64; SLOTS];
        for w in STOPWORDS {
            if let Some(k) = stopword_key(w) {
                let mut i = slot(k, SLOTS);
                while t[i] != 0 && t[i] != k {
                    i = (i + 1) % SLOTS;
                }
                t[i] = k;
            }
        }
        t
    });
    let mut i = slot(key, SLOTS);
    loop {
        match table[i] {
            0 => return false,
            k if k == key => return true,
            _ => i = (i + 1) % SLOTS,
        }
    }
}

fn slot(key: u64, slots: usize) -> usize {
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54) as usize % slots
}

fn stopword_key(word: &str) -> Option<u64> {
    if word.is_ascii() {
        if word.len() > 7 {
            return None;
        }
        let mut key = 1u64 << 63;
        for (i, b) in word.bytes().enumerate() {
            key |= (b as u64) << (8 * i);
        }
        Some(key)
    } else {
        let mut key = 0u64;
        for (i, c) in word.chars().enumerate() {
            if i >= 3 {
                return None;
            }
            key |= (c as u64) << (21 * i);
        }
        Some(key)
    }
}
