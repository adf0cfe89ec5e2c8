//! The desk's records: conversations and their owner, messages, tickets with case briefs,
//! staff accounts, and the audit trail.

use serde::{Deserialize, Serialize};

use crate::answer::Reply;

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

pub fn now_ms() -> Millis {
    chrono::Utc::now().timestamp_millis()
}

/// Who answers the investor right now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "owner", rename_all = "snake_case")]
pub enum Owner {
    Bot,
    /// In the queue: a ticket is open and no commissioner has claimed it.
    Waiting {
        ticket: u64,
    },
    Staff {
        ticket: u64,
        commissioner: String,
    },
}

impl Owner {
    /// `bot`, `waiting` or `staff`: the API's `state`.
    pub fn state(&self) -> &'static str {
        match self {
            Owner::Bot => "bot",
            Owner::Waiting { .. } => "waiting",
            Owner::Staff { .. } => "staff",
        }
    }

    pub fn ticket(&self) -> Option<u64> {
        match self {
            Owner::Bot => None,
            Owner::Waiting { ticket } | Owner::Staff { ticket, .. } => Some(*ticket),
        }
    }
}

/// What is known of the investor (given in the chat or by the channel).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvestorInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub industry: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// The most characters a profile field may hold (a name, a company, a district).
pub const MAX_PROFILE_FIELD_CHARS: usize = 200;

impl InvestorInfo {
    /// Rejects a field longer than `MAX_PROFILE_FIELD_CHARS`, naming it.
    pub fn validate(&self) -> Result<(), String> {
        let fields = [
            ("name", &self.name),
            ("company", &self.company),
            ("industry", &self.industry),
            ("district", &self.district),
            ("language", &self.language),
        ];
        for (name, value) in fields {
            if value
                .as_deref()
                .is_some_and(|v| v.chars().count() > MAX_PROFILE_FIELD_CHARS)
            {
                return Err(format!(
                    "profile.{name} is too long: at most {MAX_PROFILE_FIELD_CHARS} characters"
                ));
            }
        }
        Ok(())
    }

    /// Fills fields this one lacks from `other`.
    pub fn merge(&mut self, other: &InvestorInfo) {
        let fill = |a: &mut Option<String>, b: &Option<String>| {
            if a.is_none() {
                a.clone_from(b);
            }
        };
        fill(&mut self.name, &other.name);
        fill(&mut self.company, &other.company);
        fill(&mut self.industry, &other.industry);
        fill(&mut self.district, &other.district);
        fill(&mut self.language, &other.language);
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// `channel:chat`, e.g. `web:3f2a…` or `telegram:12345`.
    pub id: String,
    pub channel: String,
    pub chat: String,
    pub owner: Owner,
    pub next_seq: u64,
    pub investor: InvestorInfo,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// When the investor was last told that no one is in the office (told once per
    /// closed period).
    #[serde(default)]
    pub after_hours_notice_at: Option<Millis>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Author {
    Investor,
    Bot,
    Staff { name: String },
    System,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Vote {
    Up,
    Down,
}

/// A channel's message id already taken in (`Table::Received`): the conversation it went
/// to and the bot's reply to it, to answer a redelivery with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Received {
    pub conversation: String,
    pub reply_seq: Option<u64>,
    pub at: Millis,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub seq: u64,
    pub at: Millis,
    pub author: Author,
    pub text: String,
    /// The bot's full reply (sources, options) when the bot wrote this message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<Reply>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<Vote>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TicketState {
    Open,
    Claimed {
        by: String,
        at: Millis,
    },
    Closed {
        by: String,
        at: Millis,
        outcome: Outcome,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    HandedBack,
    Closed,
    Cancelled,
}

/// What a commissioner needs to pick up the conversation without reading all of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseBrief {
    pub question: String,
    /// The messages before the question (oldest first, at most a few).
    pub before: Vec<BriefLine>,
    /// What the bot found, best first.
    pub found: Vec<BriefSource>,
    /// Why the bot stopped (`asked_for_person`, `low_confidence`, …).
    pub reason: String,
    pub confidence: f32,
    pub investor: InvestorInfo,
    pub language: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BriefLine {
    pub from: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BriefSource {
    pub id: String,
    pub title: String,
    pub score: f32,
    pub in_force: bool,
    /// What the record disagrees with the question on (`Source::disagrees`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disagrees: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: u64,
    pub conversation: String,
    pub opened_at: Millis,
    pub state: TicketState,
    pub brief: CaseBrief,
    /// Went back to the queue because a claim got no reply in time.
    #[serde(default)]
    pub flagged: bool,
    #[serde(default)]
    pub first_reply_at: Option<Millis>,
    #[serde(default)]
    pub last_staff_reply_at: Option<Millis>,
    #[serde(default)]
    pub last_investor_message_at: Option<Millis>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub industry: Option<String>,
    /// Commissioners it was routed to first (empty: everyone).
    #[serde(default)]
    pub routed_to: Vec<String>,
}

impl Ticket {
    pub fn is_open(&self) -> bool {
        !matches!(self.state, TicketState::Closed { .. })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Commissioner,
    Admin,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffAccount {
    pub name: String,
    pub role: Role,
    /// SHA-256 of the token, hex. The token itself is shown once and never stored.
    pub token_hash: String,
    /// Argon2id hash (PHC string) of the console password, when one was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    /// A disabled account signs in neither with its token nor its password.
    #[serde(default)]
    pub disabled: bool,
    #[serde(default)]
    pub regions: Vec<String>,
    #[serde(default)]
    pub industries: Vec<String>,
    pub created_at: Millis,
    /// The commissioner's WeCom UserID: new tickets reach them in WeCom, and what that
    /// user writes to the app acts as this account. Absent in records from before WeCom.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wecom_user: Option<String>,
}

/// One line of the audit trail: who did what, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub at: Millis,
    pub who: String,
    pub what: String,
    pub conversation: Option<String>,
    pub ticket: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_records_from_before_wecom_still_load() {
        let old = r#"{"name":"alice","role":"commissioner","token_hash":"ab","regions":[],"industries":[],"created_at":1}"#;
        let a: StaffAccount = serde_json::from_str(old).unwrap();
        assert_eq!(a.wecom_user, None);
        // And a record without one is written as before.
        assert!(!serde_json::to_string(&a).unwrap().contains("wecom"));
    }
}
