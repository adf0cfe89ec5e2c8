//! What kind of answer a question wants: a procedure ("怎么办", "how do we"), a yes or no
//! ("能不能", "can we"), or something else. A FAQ that answers "can we work before the
//! permit arrives?" with "No" does not answer "how do we get a work permit?".

/// The kind of answer a question (or a FAQ's own question) asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asks {
    Procedure,
    YesNo,
    Other,
}

const PROCEDURE_ZH: &[&str] = &[
    "怎么办",
    "怎么申请",
    "怎么弄",
    "怎么做",
    "怎么搞",
    "怎样办",
    "怎样申请",
    "如何办",
    "如何申请",
    "如何办理",
    "怎么办理",
    "怎样办理",
    "流程",
    "步骤",
    "手续",
    "哪些材料",
    "什么材料",
    "要准备",
];
const PROCEDURE_EN: &[&str] = &[
    "how do",
    "how can",
    "how to",
    "how should",
    "how does one",
    "what is the procedure",
    "what's the procedure",
    "procedure",
    "process for",
    "steps",
    "what documents",
    "which documents",
];
const YES_NO_ZH: &[&str] = &[
    "能不能",
    "可不可以",
    "是不是",
    "要不要",
    "需不需要",
    "有没有",
    "能否",
    "可否",
    "是否",
];
/// English yes/no questions start with an auxiliary verb.
const YES_NO_EN: &[&str] = &[
    "can ", "could ", "is ", "are ", "do ", "does ", "did ", "should ", "will ", "may ", "must ",
    "have ", "has ",
];

/// The kind of answer `text` (one question) asks for. Procedure wins over yes/no: "能不能
/// 告诉我怎么办" wants the steps.
pub fn asks(text: &str) -> Asks {
    let t = text.trim().to_lowercase();
    if PROCEDURE_ZH
        .iter()
        .chain(PROCEDURE_EN)
        .any(|c| t.contains(c))
    {
        return Asks::Procedure;
    }
    let ends_with_ma = t
        .trim_end_matches(|c: char| c.is_ascii_punctuation() || "？！。 ".contains(c))
        .ends_with(['吗', '么']);
    let zh_yes_no = ends_with_ma && !t.contains("什么") && !t.contains("怎么")
        || YES_NO_ZH.iter().any(|c| t.contains(c));
    if zh_yes_no || YES_NO_EN.iter().any(|c| t.starts_with(c)) {
        return Asks::YesNo;
    }
    Asks::Other
}

/// Whether a record whose own question is `record_question` answers the wrong kind of
/// question for `question`: steps asked, a yes or no given.
pub fn wrong_kind(question: &str, record_question: &str) -> bool {
    asks(question) == Asks::Procedure && asks(record_question) == Asks::YesNo
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_procedures_from_yes_no() {
        assert_eq!(asks("外籍员工工作许可怎么办"), Asks::Procedure);
        assert_eq!(asks("How do we apply for a work permit?"), Asks::Procedure);
        assert_eq!(asks("工作许可下来之前能上班吗？"), Asks::YesNo);
        assert_eq!(
            asks("Can we start work before the permit arrives?"),
            Asks::YesNo
        );
        assert_eq!(asks("高企税率是多少"), Asks::Other);
        assert_eq!(asks("什么是高企？"), Asks::Other);
        assert!(wrong_kind("外籍员工工作许可怎么办", "许可下来之前能上班吗"));
        assert!(!wrong_kind(
            "许可下来之前能上班吗",
            "外籍员工工作许可怎么办"
        ));
    }
}
