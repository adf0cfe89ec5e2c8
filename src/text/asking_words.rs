//! Words that say what kind of answer is wanted, not what the question is about: 第几, 多少,
//! 啥时候, "how many", "date". Investors type them in every question, records state the
//! answer instead ("自2020-01-01起施行" holds no 什么时候), so a record that lacks them has
//! not missed anything asked. Coverage counts them for little (`ASKING_WORD_WEIGHT`);
//! retrieval still matches them, as a FAQ's own question may hold the same words.

use std::collections::HashSet;
use std::sync::OnceLock;

/// What an asking word keeps of its weight in coverage. Not zero: "多少" in a FAQ's
/// question that also asks "多少" is still a small sign the two ask alike.
pub const ASKING_WORD_WEIGHT: f32 = 0.15;

/// Interrogatives, answer-type words and the filler around them, as jieba cuts them.
const ZH: &[&str] = &[
    "第几",
    "几月",
    "几号",
    "几天",
    "几个",
    "几年",
    "几种",
    "几家",
    "几次",
    "几成",
    "几",
    "哪几种",
    "哪几",
    "哪几个",
    "哪一年",
    "哪年",
    "哪天",
    "哪个",
    "哪家",
    "哪一个",
    "哪类",
    "哪种",
    "多少",
    "多久",
    "多长",
    "多大",
    "多高",
    "多少钱",
    "多少天",
    "多少家",
    "啥时候",
    "什么时候",
    "时候",
    "何时",
    "怎么办",
    "怎么弄",
    "怎么搞",
    "咋办",
    "咋弄",
    "什么样",
    "算不算",
    "受不受",
    "要不要",
    "需不需要",
    "可不可以",
    "行不行",
    "不行",
    "对不对",
    "来着",
    "还要",
    "一下",
    "大概",
    "大约",
    "左右",
    "到底",
    "究竟",
    "是从",
    "从哪天",
    "开始",
    "的话",
    "这种",
    "那种",
    // How investors talk around the question: hearsay, hedges, pointing words.
    "听说",
    "据说",
    "好像",
    "真的",
    "真的假的",
    "啥意思",
    "意思",
    "那边",
    "这边",
    "里面",
    "要是",
    "能干",
    "干啥",
    "一共",
    "总共",
    "叫什么",
    "名字",
];

/// English asking words, stemmed at first use by the index's stemmer.
const EN: &[&str] = &[
    "many",
    "much",
    "long",
    "date",
    "number",
    "deadline",
    "exact",
    "exactly",
    "current",
    "currently",
    "still",
    "already",
    "also",
    "besides",
    "thing",
    "kind",
    "pls",
    "plz",
    "thanks",
    "thank",
    "actually",
    "really",
    "just",
    "roughly",
    "approximately",
    "around",
    "whats",
    "hi",
    "hello",
    "hey",
    "ok",
    "okay",
    "again",
    "true",
    "so",
];

/// Whether `term`, as the index holds it (English stemmed), is an asking word.
pub fn is_asking_word(term: &str, stem: impl Fn(&str) -> String) -> bool {
    static SET: OnceLock<HashSet<String>> = OnceLock::new();
    SET.get_or_init(|| {
        ZH.iter()
            .map(|w| w.to_string())
            .chain(EN.iter().map(|w| stem(w)))
            .collect()
    })
    .contains(term)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::Analyzer;

    #[test]
    fn question_words_are_asking_words_and_topic_words_are_not() {
        let analyzer = Analyzer::new(&crate::text::Dictionary::default());
        let asking = |w: &str| is_asking_word(w, |x| analyzer.stem(x));
        for w in ["第几", "多少", "啥时候", "mani", "date", "deadlin"] {
            assert!(asking(w), "{w}");
        }
        for w in ["税率", "外商投资法", "permit", "vat", "2020"] {
            assert!(!asking(w), "{w}");
        }
    }
}
