//! One evaluation question: the shapes it is read from, and which records count as its
//! right answer (expected ids, or key strings any record may state).

use serde::Deserialize;

use crate::search::Hit;

/// One evaluation question. Read from our format `{"q", "expect"}`, from ncp_policy_qa
/// (`{"query", "gold_docid", "answer_also_in", "answer", "oos"}`) or from bq_faq
/// (`{"query", "gold_faq_id", "known_wrong_faq_ids", "oos"}`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EvalQuestion {
    pub q: String,
    #[serde(default)]
    pub expect: Vec<String>,
    /// The gold answer text, when the data set has one (ncp_policy_qa).
    #[serde(default)]
    pub answer: Option<String>,
    /// Ids a person marked as a different intent (bq_faq).
    #[serde(default)]
    pub known_wrong: Vec<String>,
    /// Key strings a right answer must contain, each a `|`-separated list of spellings
    /// (`"2020-01-01|2020年1月1日"`): any record stating the fact counts as right.
    #[serde(default)]
    pub keys: Vec<String>,
    /// How the question is phrased (`long`, `colloquial`, `jargon`, `keywords`, `typo`,
    /// `mixed`, `plain`), for the per-style table.
    #[serde(default)]
    pub style: Option<String>,
    /// The question's language as labelled (`zh`, `en`, `mixed`).
    #[serde(default)]
    pub lang: Option<String>,
}

impl EvalQuestion {
    /// Reads one JSON line in any of the supported shapes.
    pub fn from_json(v: serde_json::Value) -> Result<EvalQuestion, String> {
        let strings = |v: &serde_json::Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let label = |key: &str| v.get(key).and_then(|x| x.as_str()).map(str::to_string);
        if let Some(q) = v.get("q").and_then(|q| q.as_str()) {
            return Ok(EvalQuestion {
                q: q.to_string(),
                expect: strings(&v["expect"]),
                answer: label("answer"),
                known_wrong: Vec::new(),
                keys: strings(&v["keys"]),
                style: label("style"),
                lang: label("lang"),
            });
        }
        let q = v
            .get("query")
            .and_then(|q| q.as_str())
            .ok_or("expected \"q\" or \"query\"")?
            .to_string();
        let oos = v.get("oos").and_then(|o| o.as_i64()).unwrap_or(0) != 0;
        let mut expect = Vec::new();
        if !oos {
            for key in ["gold_docid", "gold_faq_id"] {
                if let Some(id) = v.get(key).and_then(|x| x.as_str()) {
                    expect.push(id.to_string());
                }
            }
            expect.extend(strings(&v["answer_also_in"]));
        }
        Ok(EvalQuestion {
            q,
            expect,
            answer: if oos {
                None
            } else {
                v.get("answer").and_then(|a| a.as_str()).map(str::to_string)
            },
            known_wrong: strings(&v["known_wrong_faq_ids"]),
            ..EvalQuestion::default()
        })
    }
}

impl EvalQuestion {
    pub fn in_scope(&self) -> bool {
        !self.expect.is_empty() || !self.keys.is_empty()
    }

    /// Whether `hit` answers the question: it is one of the expected records, or it
    /// states every key string (in one of its spellings; case and spaces ignored).
    pub fn accepts(&self, hit: &Hit) -> bool {
        // A FAQ's counterpart in another language (`same_as`) is the same answer.
        if self
            .expect
            .iter()
            .any(|e| *e == hit.id || *e == hit.meta.group)
        {
            return true;
        }
        if self.keys.is_empty() {
            return false;
        }
        let text = squash(&format!("{} {} {}", hit.title, hit.heading, hit.body));
        self.keys.iter().all(|key| {
            key.split('|')
                .map(squash)
                .any(|k| !k.is_empty() && text.contains(&k))
        })
    }
}

/// Lower case, half width (punctuation too: ％ is %), no whitespace: how key strings
/// are compared.
fn squash(s: &str) -> String {
    crate::text::normalize(s)
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(id: &str, body: &str) -> Hit {
        Hit {
            id: id.to_string(),
            is_faq: true,
            lang: crate::text::Lang::Zh,
            title: "高新技术企业税率".to_string(),
            heading: String::new(),
            body: body.to_string(),
            meta: Default::default(),
            score: 1.0,
            coverage: 1.0,
            key_coverage: 1.0,
            missing: Vec::new(),
            missing_from_key: Vec::new(),
            key_recall: 1.0,
            conflict: None,
            wrong_kind: false,
        }
    }

    fn question(line: &str) -> EvalQuestion {
        EvalQuestion::from_json(serde_json::from_str(line).unwrap()).unwrap()
    }

    #[test]
    fn a_record_stating_every_key_in_any_spelling_is_right() {
        let q = question(
            r#"{"q": "高企税率", "keys": ["15%", "2008-01-01|2008年1月1日"], "style": "jargon", "lang": "zh"}"#,
        );
        assert!(q.in_scope());
        assert_eq!(q.style.as_deref(), Some("jargon"));
        assert!(q.accepts(&hit("a", "自 2008年 1月1日起，减按１５％的税率征收。")));
        assert!(
            !q.accepts(&hit("b", "减按15%的税率征收。")),
            "one key missing"
        );
        assert!(!q.accepts(&hit("c", "税率为25%，2008-01-01起施行")));
    }

    #[test]
    fn a_counterpart_of_an_expected_faq_is_right() {
        let q = question(r#"{"q": "x", "expect": ["faq-zh-1"]}"#);
        let mut en = hit("faq-en-1", "");
        en.meta.group = "faq-zh-1".to_string();
        assert!(q.accepts(&en));
    }

    #[test]
    fn expected_ids_still_count_and_out_of_scope_lines_accept_nothing() {
        let q = question(r#"{"q": "x", "expect": ["faq-1"]}"#);
        assert!(q.accepts(&hit("faq-1", "")));
        assert!(!q.accepts(&hit("faq-2", "")));
        let oos = question(r#"{"q": "苏州补贴", "expect": [], "style": "plain"}"#);
        assert!(!oos.in_scope());
        assert!(!oos.accepts(&hit("faq-1", "15%")));
    }
}
