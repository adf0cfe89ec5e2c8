//! The question's focus: the clause that asks, apart from the context an investor gives
//! about their company first ("我们是一家日资企业，……，要准备哪些材料？").

/// Words that mark a clause as the one asking (Chinese question words and particles,
/// English question words). Matched on the lower-cased clause.
const CUES_ZH: &[&str] = &[
    "吗",
    "么",
    "什么",
    "怎么",
    "怎样",
    "如何",
    "多少",
    "多久",
    "多长",
    "哪",
    "几",
    "是否",
    "能否",
    "可否",
    "有没有",
    "是不是",
    "能不能",
    "可不可以",
    "要不要",
    "需不需要",
    "呢",
    "？",
    "?",
];
const CUES_EN: &[&str] = &[
    "what", "how", "when", "which", "where", "who", "why", "can ", "could ", "do ", "does ", "is ",
    "are ", "should ", "must ", "will ", "any ", "?",
];

/// The last clause that asks, or the whole question when it has one clause or none asks.
/// Clauses end at sentence punctuation and at Chinese commas; an English sentence ends at
/// ". " (so "RMB 1.5 million" stays whole).
pub fn focus_clause(question: &str) -> &str {
    let mut clauses = Vec::new();
    let mut start = 0;
    let bytes = question.as_bytes();
    for (i, c) in question.char_indices() {
        let end = match c {
            '。' | '！' | '？' | '；' | '，' | '!' | '?' | ';' | '\n' => true,
            '.' => bytes.get(i + 1).is_none_or(|b| b.is_ascii_whitespace()),
            _ => false,
        };
        if end {
            let clause_end = i + c.len_utf8();
            clauses.push(&question[start..clause_end]);
            start = clause_end;
        }
    }
    clauses.push(&question[start..]);
    let clauses: Vec<&str> = clauses
        .into_iter()
        .filter(|c| c.chars().any(char::is_alphanumeric))
        .collect();
    if clauses.len() <= 1 {
        return question;
    }
    let asks = |c: &&str| {
        let lower = c.to_lowercase();
        CUES_ZH.iter().any(|q| lower.contains(q))
            || CUES_EN.iter().any(|q| {
                lower.contains(q) && (q.ends_with(' ') || q.len() == 1 || word_in(&lower, q))
            })
    };
    let chosen = clauses.iter().rev().find(|c| asks(c)).or(clauses.last());
    chosen.map(|c| c.trim()).unwrap_or(question)
}

/// `word` occurs in `text` as a whole word (not inside "somewhat").
fn word_in(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

#[cfg(test)]
mod tests {
    use super::focus_clause;

    #[test]
    fn the_asking_clause_is_taken_apart_from_the_story_before_it() {
        assert_eq!(
            focus_clause("我们是一家日资企业，想在无锡新吴区设立独资公司，要准备哪些材料？"),
            "要准备哪些材料？"
        );
        assert_eq!(
            focus_clause(
                "We're a small Swiss design firm in Wuxi with 12 staff and RMB 1.5 million profit. Do we qualify for the reduced rate?"
            ),
            "Do we qualify for the reduced rate?"
        );
    }

    #[test]
    fn a_one_clause_question_is_its_own_focus() {
        assert_eq!(focus_clause("高企税率多少"), "高企税率多少");
        assert_eq!(
            focus_clause("WFOE registered capital"),
            "WFOE registered capital"
        );
        assert_eq!(focus_clause(""), "");
        assert_eq!(focus_clause("？？"), "？？");
    }

    #[test]
    fn without_a_question_word_the_last_clause_is_the_focus() {
        assert_eq!(
            focus_clause("我们是外资企业，想了解研发费用加计扣除"),
            "想了解研发费用加计扣除"
        );
    }
}
