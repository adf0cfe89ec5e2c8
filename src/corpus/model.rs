//! Typed corpus records: policy documents split into passages, and curated FAQs.

use std::path::PathBuf;

use chrono::NaiveDate;

use crate::text::{Dictionary, Lang};

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub id: String,
    pub title: String,
    pub issuer: String,
    pub doc_no: String,
    pub issued: Option<NaiveDate>,
    pub effective: Option<NaiveDate>,
    pub expires: Option<NaiveDate>,
    pub region: String,
    pub industries: Vec<String>,
    pub url: String,
    pub lang: Lang,
    pub passages: Vec<Passage>,
    pub path: PathBuf,
}

/// One citable piece of a policy: an article, a numbered item or a headed section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passage {
    pub heading: String,
    pub text: String,
    /// 1-based line in the source file where the passage starts.
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Faq {
    pub id: String,
    pub question: String,
    pub alternatives: Vec<String>,
    pub answer: String,
    pub sources: Vec<String>,
    pub tags: Vec<String>,
    pub lang: Lang,
    /// The FAQ this one says the same as in another language: the two are one answer,
    /// so one is never the other's rival (margin, clarify options).
    pub same_as: Option<String>,
    /// The answer is an honest "no verified figure": the office does not publish what is
    /// asked (land prices, tariffs, a phone number), so the FAQ says so, says who does, and
    /// offers a commissioner. Answering with it declines; it never answers right.
    pub declines: bool,
    pub path: PathBuf,
    pub line: usize,
}

impl Faq {
    /// The answer this FAQ gives, shared with its `same_as` counterpart: the FAQ it names,
    /// or its own id.
    pub fn answer_key(&self) -> &str {
        self.same_as.as_deref().unwrap_or(&self.id)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Corpus {
    pub policies: Vec<Policy>,
    pub faqs: Vec<Faq>,
    pub dictionary: Dictionary,
}

impl Corpus {
    pub fn passage_count(&self) -> usize {
        self.policies.iter().map(|p| p.passages.len()).sum()
    }

    pub fn policy(&self, id: &str) -> Option<&Policy> {
        self.policies.iter().find(|p| p.id == id)
    }
}

/// Whether a document is in force on `today`: started, and not yet expired.
pub fn in_force(
    effective: Option<NaiveDate>,
    expires: Option<NaiveDate>,
    today: NaiveDate,
) -> bool {
    effective.is_none_or(|d| d <= today) && expires.is_none_or(|d| d >= today)
}
