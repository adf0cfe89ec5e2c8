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
    let clauses = clauses(question);
    if clauses.len() <= 1 {
        return question;
    }
    let chosen = clauses.iter().rev().find(|c| asks(c)).or(clauses.last());
    chosen.map(|c| c.trim()).unwrap_or(question)
}

/// How an investor starts telling about their company: "We are a Korean battery maker",
/// "Our Wuxi plant …", "我们是一家做电池材料的外资企业". Matched on the lower-cased clause.
const STORY_OPENERS: &[&str] = &[
    "we are ",
    "we're ",
    "we have ",
    "we've ",
    "we make ",
    "we run ",
    "we plan",
    "we own ",
    "our ",
    "i am ",
    "i'm ",
    "i run ",
    "i work ",
    "我们是",
    "我们在",
    "我们准备",
    "我们公司",
    "我们有",
    "我们做",
    "我们计划",
    "我司",
    "本公司",
    "我是",
    "我在",
    "我们是一家",
];

/// The clauses in which the investor tells about their company rather than asks: from a
/// clause that opens like a self-description up to the next clause that asks, within one
/// sentence or across several. What only they name (their nationality, their products)
/// is context; no record needs to hold it.
pub fn story_clauses(question: &str) -> Vec<&str> {
    let clauses = clauses(question);
    if clauses.len() <= 1 {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut in_story = false;
    for c in clauses {
        let clause = c.trim();
        let lower = clause.to_lowercase();
        let question_mark = clause.ends_with(['?', '？']);
        // "We are a …" holds "are ", an English asking cue: the opener is checked first.
        if STORY_OPENERS.iter().any(|o| lower.starts_with(o)) && !question_mark {
            in_story = true;
        } else if question_mark || asks(clause) {
            in_story = false;
        }
        if in_story {
            out.push(clause);
        }
    }
    out
}

/// The question cut at sentence punctuation and Chinese commas, empty clauses dropped.
fn clauses(question: &str) -> Vec<&str> {
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
    clauses
        .into_iter()
        .filter(|c| c.chars().any(char::is_alphanumeric))
        .collect()
}

/// Whether a clause asks (holds a question word or mark).
fn asks(clause: &str) -> bool {
    let lower = clause.to_lowercase();
    CUES_ZH.iter().any(|q| lower.contains(q))
        || CUES_EN
            .iter()
            .any(|q| lower.contains(q) && (q.ends_with(' ') || q.len() == 1 || word_in(&lower, q)))
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
    use super::{focus_clause, story_clauses};

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
    fn the_investors_story_is_told_apart_from_what_they_ask() {
        assert_eq!(
            story_clauses(
                "我们是一家做电池材料的外资企业，出口订单受影响，想在国内找买家。无锡的外企服务专班以前帮企业对接过这类需求吗？"
            ),
            [
                "我们是一家做电池材料的外资企业，",
                "出口订单受影响，",
                "想在国内找买家。"
            ]
        );
        assert_eq!(
            story_clauses(
                "We are a Japanese electronics maker in Wuxi. Does the city have a single coordinator?"
            ),
            ["We are a Japanese electronics maker in Wuxi."]
        );
        // No self-description, or a question that opens with "our": no story.
        assert!(story_clauses("外资企业年报什么时候报？逾期怎么办？").is_empty());
        assert!(
            story_clauses("Our HNTE certificate expires in May, can we renew early?").is_empty()
        );
        assert!(story_clauses("我们是高企吗").is_empty());
    }

    #[test]
    fn without_a_question_word_the_last_clause_is_the_focus() {
        assert_eq!(
            focus_clause("我们是外资企业，想了解研发费用加计扣除"),
            "想了解研发费用加计扣除"
        );
    }
}
