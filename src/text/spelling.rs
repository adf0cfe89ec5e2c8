//! Typo tolerance: a question word that no record contains is read as the corpus word it
//! was probably meant to be. Chinese typos are mostly homophones typed through a pinyin
//! input method (家计扣除 for 加计扣除, 高心 for 高新, 投述 for 投诉), so a Chinese word is
//! matched by its toneless pinyin, with the sounds southern speakers merge (zh/z, ch/c,
//! sh/s, -ng/-n) taken as one; an English word by one slipped letter (certifcate, helth).
//! Only words that are not common words themselves are corrected (`Analyzer::is_rare_word`):
//! 今年 sounds like 青年, but an investor who typed 今年 meant it.

use std::collections::HashMap;

use pinyin::ToPinyinMulti;

use super::normalize::is_han;

/// At most this many pinyin spellings of one word are tried (each heteronym multiplies).
const MAX_READINGS: usize = 32;

/// Corpus words of two to four Han characters, by how they sound.
#[derive(Debug, Default)]
pub struct Homophones {
    /// Sound key → (word, records containing it), most common first.
    by_sound: HashMap<String, Vec<(String, u64)>>,
}

impl Homophones {
    /// Indexes `words` (a corpus's vocabulary with document frequencies).
    pub fn new(words: impl IntoIterator<Item = (String, u64)>) -> Homophones {
        let mut by_sound: HashMap<String, Vec<(String, u64)>> = HashMap::new();
        for (word, df) in words {
            if !is_candidate(&word) {
                continue;
            }
            // A corpus word is indexed by its common reading only: rare readings (青 as
            // jing, 家 as jie) would make unrelated words sound alike.
            if let Some(key) = common_sound(&word) {
                by_sound.entry(key).or_default().push((word.clone(), df));
            }
        }
        for list in by_sound.values_mut() {
            list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            list.dedup_by(|a, b| a.0 == b.0);
        }
        Homophones { by_sound }
    }

    /// The most common corpus word that sounds like `word`, if `word` is a Chinese word of
    /// two to four characters. The caller asks only for words no record contains.
    pub fn correct(&self, word: &str) -> Option<&str> {
        if !is_candidate(word) {
            return None;
        }
        sound_keys(word)
            .iter()
            .filter_map(|k| self.by_sound.get(k))
            .flatten()
            .filter(|(w, _)| w != word)
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
            .map(|(w, _)| w.as_str())
    }

    pub fn len(&self) -> usize {
        self.by_sound.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_sound.is_empty()
    }
}

fn is_candidate(word: &str) -> bool {
    let n = word.chars().count();
    (2..=4).contains(&n) && word.chars().all(is_han)
}

/// `word` read with each character's most common reading.
fn common_sound(word: &str) -> Option<String> {
    let mut key = String::new();
    for c in word.chars() {
        let first = c.to_pinyin_multi()?.into_iter().next()?;
        key.push_str(&fuzzy(first.plain()));
        key.push(' ');
    }
    Some(key)
}

/// Every way `word` may be read (heteronyms: 曾 is ceng or zeng), each a sequence of fuzzy
/// syllables. A character without a reading gives no keys.
fn sound_keys(word: &str) -> Vec<String> {
    let mut keys = vec![String::new()];
    for c in word.chars() {
        let Some(multi) = c.to_pinyin_multi() else {
            return Vec::new();
        };
        let mut readings: Vec<String> = multi.into_iter().map(|p| fuzzy(p.plain())).collect();
        readings.sort();
        readings.dedup();
        let mut next = Vec::with_capacity(keys.len() * readings.len());
        for k in &keys {
            for r in &readings {
                if next.len() < MAX_READINGS {
                    next.push(format!("{k}{r} "));
                }
            }
        }
        keys = next;
    }
    keys
}

/// A toneless syllable with the commonly merged sounds folded together.
fn fuzzy(syllable: &str) -> String {
    let s = syllable.replace('ü', "v");
    let s = match s.get(..2) {
        Some("zh" | "ch" | "sh") => format!("{}{}", &s[..1], &s[2..]),
        _ => s,
    };
    if let Some(stem) = s.strip_suffix("ng") {
        format!("{stem}n")
    } else {
        s
    }
}

/// What `word` may have been before one slip of the fingers: a letter left out (helth,
/// forign) or two neighbours swapped (investmnet, yera), in a fixed order. Only these two:
/// a replaced or extra letter turns too many real words into other real words (truck and
/// track, former and form). A left-out letter only in words of five letters or more, for
/// the same reason; a swap from four (yera, whne), as few four-letter swaps are words.
pub fn one_letter_slips(word: &str) -> Vec<String> {
    if word.len() < 4 || !word.bytes().all(|b| b.is_ascii_lowercase()) {
        return Vec::new();
    }
    let b = word.as_bytes();
    let mut out = Vec::new();
    let s = |v: Vec<u8>| String::from_utf8(v).unwrap_or_default();
    for i in 0..b.len() - 1 {
        let mut v = b.to_vec();
        v.swap(i, i + 1);
        out.push(s(v));
    }
    for i in (0..=b.len()).take_while(|_| b.len() >= 5) {
        for c in b'a'..=b'z' {
            let mut v = b.to_vec();
            v.insert(i, c);
            out.push(s(v));
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> Homophones {
        Homophones::new(
            [
                ("加计", 12),
                ("高新", 30),
                ("投诉", 8),
                ("增值税", 20),
                ("登记", 15),
                ("注册", 25),
                ("税率", 9),
                ("家具", 1),
            ]
            .map(|(w, df)| (w.to_string(), df)),
        )
    }

    #[test]
    fn homophones_find_the_corpus_word() {
        let h = corpus();
        assert_eq!(h.correct("家计"), Some("加计"));
        assert_eq!(h.correct("高心"), Some("高新"));
        // sh and s are one sound to many speakers.
        assert_eq!(h.correct("投述"), Some("投诉"));
        // 曾 reads zeng as well as ceng.
        assert_eq!(h.correct("曾值税"), Some("增值税"));
        assert_eq!(h.correct("等记"), Some("登记"));
        assert_eq!(h.correct("注测"), Some("注册"));
        assert_eq!(h.correct("税律"), Some("税率"));
    }

    #[test]
    fn unrelated_words_and_non_chinese_are_left_alone() {
        let h = corpus();
        assert_eq!(h.correct("火锅"), None);
        assert_eq!(h.correct("加计"), None, "a corpus word is not its own typo");
        assert_eq!(h.correct("wfoe"), None);
        assert_eq!(h.correct("税"), None);
    }

    #[test]
    fn one_letter_slips_insert_and_swap() {
        let slips = one_letter_slips("helth");
        for w in ["health", "hetlh"] {
            assert!(slips.contains(&w.to_string()), "{w}");
        }
        assert!(!slips.contains(&"heath".to_string()));
        assert!(one_letter_slips("tax").is_empty());
        assert_eq!(one_letter_slips("yera"), ["eyra", "year", "yrea"]);
    }
}
