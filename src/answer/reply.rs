//! The reply an investor sees, in the question's language, and its JSON shape (one line
//! of `ask --json`; other tools read it, so keep it stable).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::decide::{Decision, HandoffReason};
use super::smalltalk::SmallTalk;
use crate::search::{Hit, Retrieval};
use crate::text::Lang;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Answer,
    Clarify,
    Handoff,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub id: String,
    /// The text quoted: a FAQ's answer or the passage.
    pub passage: String,
    pub title: String,
    pub issuer: String,
    pub doc_no: String,
    pub issued: Option<NaiveDate>,
    pub url: String,
    pub in_force: bool,
    pub score: f32,
    /// What the record disagrees with the question on ("place 深圳", "year 2024", …), for
    /// the commissioner reading the case brief: why the bot doubted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disagrees: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClarifyOption {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub question: String,
    pub kind: Kind,
    pub text: String,
    pub confidence: f32,
    pub reason: Option<String>,
    pub sources: Vec<Source>,
    pub options: Vec<ClarifyOption>,
}

/// The reason an answer carries when its FAQ declines (`Faq::declines`).
pub const NO_VERIFIED_FIGURE: &str = "no_verified_figure";

/// How many sources a reply lists (best first).
const MAX_SOURCES: usize = 5;

pub fn smalltalk(question: &str, kind: SmallTalk, lang: Lang) -> Reply {
    let text = match (kind, lang) {
        (SmallTalk::Empty, Lang::Zh) => {
            "请输入您的问题，例如：“外资企业注册需要哪些材料？”如需人工服务，请发送“转人工”。"
        }
        (SmallTalk::Empty, Lang::En) => {
            "Please type your question, e.g. \"How do I register a foreign-invested company?\" To talk to a person, send \"human\"."
        }
        (SmallTalk::Greeting, Lang::Zh) => {
            "您好！我是投资服务助手小二，可以解答企业开办、外资、税收、用地、人才、签证等政策问题，并注明出处。需要人工服务请发送“转人工”。"
        }
        (SmallTalk::Greeting, Lang::En) => {
            "Hello! I'm xiaoer, the investment-service assistant. Ask me about company set-up, foreign investment, tax, land, talent or visas; I cite my sources. To talk to a commissioner, send \"human\"."
        }
        (SmallTalk::Thanks, Lang::Zh) => "不客气！还有其他问题随时问我。",
        (SmallTalk::Thanks, Lang::En) => "You're welcome! Ask me anything else any time.",
        (SmallTalk::Goodbye, Lang::Zh) => "再见，祝您投资顺利！",
        (SmallTalk::Goodbye, Lang::En) => "Goodbye, and good luck with your investment!",
    };
    Reply {
        question: question.to_string(),
        kind: Kind::Answer,
        text: text.to_string(),
        confidence: 1.0,
        reason: Some(kind.reason().to_string()),
        sources: Vec::new(),
        options: Vec::new(),
    }
}

pub fn compose(
    question: &str,
    lang: Lang,
    retrieval: &Retrieval,
    decision: &Decision,
    today: NaiveDate,
) -> Reply {
    let sources: Vec<Source> = sources_of(retrieval, today);
    let (kind, text, reason, options) = match decision {
        Decision::Answer { hit, .. } => {
            let h = &retrieval.hits[*hit];
            // The chosen record leads the sources even if a higher-scoring one was skipped
            // (an expired passage).
            // A FAQ that declines is still the answer the investor reads, but says why.
            let reason = h.meta.declines.then(|| NO_VERIFIED_FIGURE.to_string());
            (Kind::Answer, answer_text(h, lang), reason, Vec::new())
        }
        Decision::Clarify { hits, .. } => {
            let options: Vec<ClarifyOption> = hits
                .iter()
                .map(|&i| {
                    let h = &retrieval.hits[i];
                    ClarifyOption {
                        id: h.id.clone(),
                        title: option_title(h),
                    }
                })
                .collect();
            let mut text = match lang {
                Lang::Zh => "您的问题可能涉及以下几项，请回复序号选择最接近的一项：".to_string(),
                Lang::En => "Your question could mean several things. Reply with the number of the closest one:".to_string(),
            };
            for (n, o) in options.iter().enumerate() {
                text.push_str(&format!("\n{}. {}", n + 1, o.title));
            }
            (Kind::Clarify, text, Some("close_call".to_string()), options)
        }
        Decision::Handoff { reason, .. } => (
            Kind::Handoff,
            handoff_text(*reason, lang).to_string(),
            Some(reason.as_str().to_string()),
            Vec::new(),
        ),
    };
    let mut sources = sources;
    if let Decision::Answer { hit, .. } = decision {
        let chosen = &retrieval.hits[*hit];
        if let Some(pos) = sources
            .iter()
            .position(|s| s.id == chosen.id && s.passage == chosen.body)
        {
            let s = sources.remove(pos);
            sources.insert(0, s);
        }
    }
    Reply {
        question: question.to_string(),
        kind,
        text,
        confidence: decision.confidence(),
        reason,
        sources,
        options,
    }
}

impl Source {
    /// One line naming the source for a person: 《title》，文号，issuer，date，in force or not.
    pub fn citation(&self, zh: bool) -> String {
        let mut parts = vec![format!("《{}》", self.title)];
        for p in [&self.doc_no, &self.issuer] {
            if !p.is_empty() {
                parts.push(p.clone());
            }
        }
        if let Some(d) = self.issued {
            parts.push(d.to_string());
        }
        parts.push(
            match (self.in_force, zh) {
                (true, true) => "现行有效",
                (false, true) => "已失效",
                (true, false) => "in force",
                (false, false) => "expired",
            }
            .to_string(),
        );
        parts.join("，")
    }
}

pub fn handoff_text(reason: HandoffReason, lang: Lang) -> &'static str {
    match (reason, lang) {
        (HandoffReason::AskedForPerson, Lang::Zh) => {
            "好的，正在为您转接招商护商专员。专员接手后会在本对话中直接回复您。"
        }
        (HandoffReason::AskedForPerson, Lang::En) => {
            "Sure, I'm handing you over to an investment commissioner, who will reply in this chat."
        }
        (HandoffReason::ExpiredOnly, Lang::Zh) => {
            "我找到的相关政策已经失效。为避免误导，已为您转接招商护商专员核实现行规定，专员会在本对话中回复您。"
        }
        (HandoffReason::ExpiredOnly, Lang::En) => {
            "The policies I found on this have expired. To avoid misleading you, I'm handing you over to an investment commissioner to confirm the current rules; they will reply in this chat."
        }
        (_, Lang::Zh) => {
            "这个问题我没有把握准确回答。为避免误导，已为您转接招商护商专员，专员会在本对话中回复您。"
        }
        (_, Lang::En) => {
            "I'm not sure I can answer this accurately. To avoid misleading you, I'm handing you over to an investment commissioner, who will reply in this chat."
        }
    }
}

fn answer_text(h: &Hit, lang: Lang) -> String {
    if h.is_faq {
        return h.body.clone();
    }
    let doc_no = if h.meta.doc_no.is_empty() {
        String::new()
    } else {
        format!("（{}）", h.meta.doc_no)
    };
    match lang {
        Lang::Zh => format!(
            "根据《{}》{}{}：\n{}",
            h.title,
            doc_no,
            heading_suffix(h),
            h.body
        ),
        Lang::En => format!(
            "From 《{}》{}{}:\n{}",
            h.title,
            doc_no,
            heading_suffix(h),
            h.body
        ),
    }
}

fn heading_suffix(h: &Hit) -> String {
    if h.heading.is_empty() {
        String::new()
    } else {
        format!(" {}", h.heading)
    }
}

fn option_title(h: &Hit) -> String {
    if h.is_faq || h.heading.is_empty() {
        h.title.clone()
    } else {
        format!("{} {}", h.title, h.heading)
    }
}

fn sources_of(r: &Retrieval, today: NaiveDate) -> Vec<Source> {
    let mut seen = std::collections::HashSet::new();
    r.hits
        .iter()
        .filter(|h| seen.insert((h.id.as_str(), h.meta.passage)))
        .take(MAX_SOURCES)
        .map(|h| Source {
            id: h.id.clone(),
            passage: h.body.clone(),
            title: if h.is_faq && !h.meta.source_title.is_empty() {
                h.meta.source_title.clone()
            } else {
                h.title.clone()
            },
            issuer: h.meta.issuer.clone(),
            doc_no: h.meta.doc_no.clone(),
            issued: h.meta.issued,
            url: h.meta.url.clone(),
            in_force: h.meta.in_force(today),
            score: (h.score * 1000.0).round() / 1000.0,
            disagrees: h.disagreement(),
        })
        .collect()
}
