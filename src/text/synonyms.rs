//! Synonym groups (高企 = 高新技术企业 = HNTE), expanded at query time.

use std::collections::HashMap;

/// Each group holds its variants as analysed terms; any variant's term finds the group.
#[derive(Debug, Clone, Default)]
pub struct Synonyms {
    groups: Vec<Vec<String>>,
    by_term: HashMap<String, usize>,
}

impl Synonyms {
    /// `analyze` turns a written variant into terms; a Chinese word that jieba's search mode
    /// also splits into parts is kept as its longest term (the whole word). A phrase of
    /// several English words cannot be one term and is skipped.
    pub fn build(groups: &[Vec<String>], analyze: impl Fn(&str) -> Vec<String>) -> Synonyms {
        let mut out = Synonyms::default();
        for group in groups {
            let mut variants: Vec<String> = Vec::new();
            for written in group {
                if written.split_whitespace().count() > 1 {
                    continue;
                }
                let terms = analyze(written);
                let key = terms.iter().max_by_key(|t| t.chars().count()).cloned();
                // Only a variant that is one whole token can stand for the group
                // (`r&d` analyses to `r` + `d`, and `r` must not become 研发).
                let whole: String = crate::text::normalize(written)
                    .chars()
                    .filter(|c| c.is_alphanumeric())
                    .collect();
                let key =
                    key.filter(|k| terms.len() == 1 || k.chars().count() == whole.chars().count());
                if let Some(key) = key
                    && !variants.contains(&key)
                {
                    variants.push(key);
                }
            }
            if variants.len() < 2 {
                continue;
            }
            let id = out.groups.len();
            for v in &variants {
                out.by_term.entry(v.clone()).or_insert(id);
            }
            out.groups.push(variants);
        }
        out
    }

    pub fn group_of(&self, term: &str) -> Option<usize> {
        self.by_term.get(term).copied()
    }

    pub fn variants(&self, group: usize) -> &[String] {
        &self.groups[group]
    }

    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
}
