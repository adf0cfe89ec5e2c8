//! Citation metadata stored with each indexed record, so a hit can be cited without
//! reading the corpus files again.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::corpus::{Faq, Policy, in_force};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Meta {
    /// For a FAQ: the title of the first policy it rests on.
    #[serde(default)]
    pub source_title: String,
    #[serde(default)]
    pub issuer: String,
    #[serde(default)]
    pub doc_no: String,
    #[serde(default)]
    pub issued: Option<NaiveDate>,
    #[serde(default)]
    pub effective: Option<NaiveDate>,
    #[serde(default)]
    pub expires: Option<NaiveDate>,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub region: String,
    /// 0-based passage number within its policy (0 for FAQs).
    #[serde(default)]
    pub passage: usize,
    /// Where the record starts in the corpus, for admins: `policies/x.md:12`.
    #[serde(default)]
    pub location: String,
    /// FAQ: the policy ids it rests on.
    #[serde(default)]
    pub cites: Vec<String>,
    /// FAQ: the id of the answer it is one language of (its `same_as`, or its own id).
    /// Empty for passages and in indexes built before counterparts existed.
    #[serde(default)]
    pub group: String,
    /// FAQ: an honest "no verified figure" (`Faq::declines`).
    #[serde(default)]
    pub declines: bool,
}

impl Meta {
    pub fn for_passage(policy: &Policy, passage: usize) -> Meta {
        Meta {
            source_title: policy.title.clone(),
            issuer: policy.issuer.clone(),
            doc_no: policy.doc_no.clone(),
            issued: policy.issued,
            effective: policy.effective,
            expires: policy.expires,
            url: policy.url.clone(),
            region: policy.region.clone(),
            passage,
            location: format!(
                "{}:{}",
                policy.path.display(),
                policy.passages.get(passage).map(|p| p.line).unwrap_or(1)
            ),
            cites: Vec::new(),
            group: String::new(),
            declines: false,
        }
    }

    /// A FAQ is cited through the policies it rests on. It counts as in force while any
    /// of them is (a FAQ may explain that one programme ended and another replaced it).
    pub fn for_faq(faq: &Faq, cited: &[&Policy]) -> Meta {
        let primary = cited.first();
        let today = chrono::Local::now().date_naive();
        let live = cited
            .iter()
            .find(|p| in_force(p.effective, p.expires, today))
            .or(primary);
        Meta {
            source_title: primary.map(|p| p.title.clone()).unwrap_or_default(),
            issuer: primary.map(|p| p.issuer.clone()).unwrap_or_default(),
            doc_no: primary.map(|p| p.doc_no.clone()).unwrap_or_default(),
            issued: primary.and_then(|p| p.issued),
            effective: live.and_then(|p| p.effective),
            expires: if cited.iter().any(|p| p.expires.is_none()) {
                None
            } else {
                cited.iter().filter_map(|p| p.expires).max()
            },
            url: primary.map(|p| p.url.clone()).unwrap_or_default(),
            region: primary.map(|p| p.region.clone()).unwrap_or_default(),
            passage: 0,
            location: format!("{}:{}", faq.path.display(), faq.line),
            cites: faq.sources.clone(),
            group: faq.answer_key().to_string(),
            declines: faq.declines,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(s: &str) -> Meta {
        serde_json::from_str(s).unwrap_or_default()
    }

    pub fn in_force(&self, today: NaiveDate) -> bool {
        in_force(self.effective, self.expires, today)
    }
}
