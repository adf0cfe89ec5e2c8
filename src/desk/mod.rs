//! The desk: who owns each conversation (bot, queue, commissioner), tickets with case
//! briefs, claim / reply / release / hand back / close, claim timeouts, office hours, staff
//! accounts and web sessions. Pure domain logic over the `Store`; every state change is
//! one transaction with an audit record, made durable before the caller acknowledges it.

mod hours;
pub mod model;
mod routing;
mod stats;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::broadcast;

pub use hours::OfficeHours;
pub use model::*;
pub use stats::{Stats, UnansweredGroup};

use crate::answer::{Kind, Reply};
use crate::engine::Engine;
use crate::store::{Store, StoreError, Table, Txn, decode, encode};
use crate::text::{Lang, detect_lang};

/// Desk settings (`[desk]` in the config).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeskConfig {
    pub office_hours: OfficeHours,
    /// A claimed ticket with no reply for this long goes back to the queue, flagged.
    pub claim_timeout_secs: u64,
    /// A commissioner counts as online this long after their last request.
    pub online_window_secs: u64,
    /// Districts and industries each commissioner covers (besides what their account says).
    pub commissioners: Vec<CommissionerCoverage>,
}

/// `[[desk.commissioners]] name = "alice" regions = ["新吴区"] industries = ["集成电路"]`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CommissionerCoverage {
    pub name: String,
    pub regions: Vec<String>,
    pub industries: Vec<String>,
}

impl Default for DeskConfig {
    fn default() -> DeskConfig {
        DeskConfig {
            office_hours: OfficeHours::default(),
            claim_timeout_secs: 600,
            online_window_secs: 120,
            commissioners: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0} not found")]
    NotFound(String),
    #[error("ticket {ticket} is already claimed by {by}")]
    AlreadyClaimed { ticket: u64, by: String },
    #[error("ticket {ticket} is claimed by {by}, not you")]
    NotYours { ticket: u64, by: String },
    #[error("ticket {0} must be claimed first")]
    NotClaimed(u64),
    #[error("ticket {0} is closed")]
    Closed(u64),
    #[error("{0}")]
    Invalid(String),
}

/// A staff action's change to a ticket and its conversation: returns the audit line and
/// an optional message to append to the conversation.
type StaffChange<'a> = dyn Fn(
        &mut Ticket,
        &mut Conversation,
        Millis,
    ) -> Result<(String, Option<(Author, String)>), DeskError>
    + 'a;

/// Something happened in a conversation; live views refresh on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeskEvent {
    pub conversation: String,
    pub ticket: Option<u64>,
    pub kind: &'static str,
}

/// What an investor's message led to.
#[derive(Debug, Clone, Serialize)]
pub struct Inbound {
    pub conversation: String,
    pub state: &'static str,
    pub reply: Option<Reply>,
    #[serde(skip)]
    pub ticket_opened: Option<u64>,
    /// The stored bot message carrying `reply` (for feedback buttons).
    #[serde(skip)]
    pub reply_seq: Option<u64>,
}

pub struct Desk {
    engine: Arc<Engine>,
    store: Arc<dyn Store>,
    config: DeskConfig,
    events: broadcast::Sender<DeskEvent>,
    online: Mutex<HashMap<String, Instant>>,
    clock: Box<dyn Fn() -> Millis + Send + Sync>,
}

fn message_key(conversation: &str, seq: u64) -> Vec<u8> {
    let mut k = conversation.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

fn message_prefix(conversation: &str) -> Vec<u8> {
    let mut k = conversation.as_bytes().to_vec();
    k.push(0);
    k
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// 256 random bits, hex: unguessable session ids and staff tokens.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    hex::encode(bytes)
}

fn is_cancel(text: &str) -> bool {
    let t: String = text
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect();
    matches!(
        t.as_str(),
        "取消"
            | "取消转人工"
            | "不用了"
            | "不需要人工了"
            | "撤回"
            | "cancel"
            | "nevermind"
            | "never mind"
    )
}

fn get<T: serde::de::DeserializeOwned>(
    t: &dyn Txn,
    table: Table,
    key: &[u8],
) -> Result<Option<T>, StoreError> {
    t.get(table, key)?.map(|b| decode(table, &b)).transpose()
}

fn audit(
    t: &dyn Txn,
    at: Millis,
    who: &str,
    what: &str,
    conversation: Option<&str>,
    ticket: Option<u64>,
) -> Result<(), StoreError> {
    let id = t.next_id("audit")?;
    let record = AuditRecord {
        at,
        who: who.to_string(),
        what: what.to_string(),
        conversation: conversation.map(str::to_string),
        ticket,
    };
    t.put(Table::Audit, &id.to_be_bytes(), &encode(&record))
}

fn append(
    t: &dyn Txn,
    conv: &mut Conversation,
    at: Millis,
    author: Author,
    text: &str,
    reply: Option<Reply>,
) -> Result<u64, StoreError> {
    let seq = conv.next_seq + 1;
    conv.next_seq = seq;
    conv.updated_at = at;
    let msg = Message {
        seq,
        at,
        author,
        text: text.to_string(),
        reply,
        feedback: None,
    };
    t.put(Table::Messages, &message_key(&conv.id, seq), &encode(&msg))?;
    Ok(seq)
}

impl Desk {
    pub fn new(engine: Arc<Engine>, store: Arc<dyn Store>, config: DeskConfig) -> Desk {
        Desk::with_clock(engine, store, config, Box::new(now_ms))
    }

    /// A desk whose notion of "now" is `clock` (tests move time forward).
    pub fn with_clock(
        engine: Arc<Engine>,
        store: Arc<dyn Store>,
        config: DeskConfig,
        clock: Box<dyn Fn() -> Millis + Send + Sync>,
    ) -> Desk {
        let (events, _) = broadcast::channel(1024);
        Desk {
            engine,
            store,
            config,
            events,
            online: Mutex::new(HashMap::new()),
            clock,
        }
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    pub fn config(&self) -> &DeskConfig {
        &self.config
    }

    pub fn now(&self) -> Millis {
        (self.clock)()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<DeskEvent> {
        self.events.subscribe()
    }

    fn emit(&self, conversation: &str, ticket: Option<u64>, kind: &'static str) {
        let _ = self.events.send(DeskEvent {
            conversation: conversation.to_string(),
            ticket,
            kind,
        });
    }

    pub fn conversation(&self, id: &str) -> Result<Option<Conversation>, DeskError> {
        Ok(self
            .store
            .get(Table::Conversations, id.as_bytes())?
            .map(|b| decode(Table::Conversations, &b))
            .transpose()?)
    }

    /// Messages of a conversation with `seq > after`, oldest first.
    pub fn messages(&self, conversation: &str, after: u64) -> Result<Vec<Message>, DeskError> {
        let rows = self.store.scan_from(
            Table::Messages,
            &message_prefix(conversation),
            &message_key(conversation, after.saturating_add(1)),
            10_000,
        )?;
        rows.iter()
            .map(|(_, v)| decode(Table::Messages, v).map_err(DeskError::from))
            .collect()
    }

    pub fn ticket(&self, id: u64) -> Result<Ticket, DeskError> {
        self.store
            .get(Table::Tickets, &id.to_be_bytes())?
            .map(|b| decode(Table::Tickets, &b))
            .transpose()?
            .ok_or_else(|| DeskError::NotFound(format!("ticket {id}")))
    }

    /// Every ticket not yet closed, oldest first.
    pub fn open_tickets(&self) -> Result<Vec<Ticket>, DeskError> {
        let mut out: Vec<Ticket> = self
            .store
            .scan_prefix(Table::Tickets, b"")?
            .iter()
            .map(|(_, v)| decode::<Ticket>(Table::Tickets, v))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(Ticket::is_open)
            .collect();
        out.sort_by_key(|t| t.opened_at);
        Ok(out)
    }

    pub fn all_tickets(&self) -> Result<Vec<Ticket>, DeskError> {
        Ok(self
            .store
            .scan_prefix(Table::Tickets, b"")?
            .iter()
            .map(|(_, v)| decode::<Ticket>(Table::Tickets, v))
            .collect::<Result<Vec<_>, _>>()?)
    }

    /// An investor's message, on any channel. Stored (with the bot's reply, and a ticket
    /// when the bot hands off) and on disk before this returns.
    pub fn investor_message(
        &self,
        channel: &str,
        chat: &str,
        text: &str,
        info: &InvestorInfo,
    ) -> Result<Inbound, DeskError> {
        let id = format!("{channel}:{chat}");
        let lang = info
            .language
            .as_deref()
            .map(Lang::parse)
            .filter(|_| text.trim().is_empty())
            .unwrap_or_else(|| detect_lang(text));
        // The owner can change between our read and our write (a commissioner claims);
        // then we decide again. Searching happens outside the transaction.
        for _ in 0..5 {
            let existing = self.conversation(&id)?;
            let owner = existing
                .as_ref()
                .map(|c| c.owner.clone())
                .unwrap_or(Owner::Bot);
            let reply = match &owner {
                Owner::Bot => Some(self.engine.ask(text)),
                Owner::Waiting { .. } if is_cancel(text) => Some(cancelled_reply(text, lang)),
                Owner::Waiting { .. } => {
                    let r = self.engine.ask(text);
                    Some(if r.kind == Kind::Answer && r.reason.is_none() {
                        r
                    } else {
                        waiting_reply(text, lang)
                    })
                }
                Owner::Staff { .. } => None,
            };
            let history = match &reply {
                Some(r) if r.kind == Kind::Handoff && owner == Owner::Bot => {
                    self.messages(&id, 0)?
                }
                _ => Vec::new(),
            };
            let staff = if matches!(&reply, Some(r) if r.kind == Kind::Handoff) {
                self.staff_accounts()?
            } else {
                Vec::new()
            };
            let online = self.online_names();
            let now = self.now();
            let result = std::cell::RefCell::new(None);
            let outcome = self.store.transaction(&|t| {
                let mut conv: Conversation = get(t, Table::Conversations, id.as_bytes())?
                    .unwrap_or_else(|| Conversation {
                        id: id.clone(),
                        channel: channel.to_string(),
                        chat: chat.to_string(),
                        owner: Owner::Bot,
                        next_seq: 0,
                        investor: InvestorInfo::default(),
                        created_at: now,
                        updated_at: now,
                        after_hours_notice_at: None,
                    });
                if conv.owner != owner {
                    *result.borrow_mut() = Some(None);
                    return Ok(());
                }
                conv.investor.merge(info);
                append(t, &mut conv, now, Author::Investor, text, None)?;
                let mut reply = reply.clone();
                let mut opened = None;
                let mut reply_seq = None;
                match &owner {
                    Owner::Bot => {
                        let r = reply
                            .as_mut()
                            .expect("the bot answers when it owns the chat");
                        if r.kind == Kind::Handoff {
                            let ticket = self.open_ticket(
                                t, &mut conv, text, &history, r, &staff, &online, now,
                            )?;
                            opened = Some(ticket);
                            let hours = &self.config.office_hours;
                            // Told once per closed period: again only after the office
                            // has been open since the last notice.
                            let not_told = conv
                                .after_hours_notice_at
                                .is_none_or(|at| hours.next_open(at).timestamp_millis() <= now);
                            if !hours.is_open(now) && not_told {
                                r.text.push_str("\n\n");
                                r.text
                                    .push_str(&self.config.office_hours.closed_notice(now, lang));
                                conv.after_hours_notice_at = Some(now);
                            }
                        }
                        reply_seq = Some(append(
                            t,
                            &mut conv,
                            now,
                            Author::Bot,
                            &r.text.clone(),
                            Some(r.clone()),
                        )?);
                    }
                    Owner::Waiting { ticket } => {
                        let mut tk: Ticket = get(t, Table::Tickets, &ticket.to_be_bytes())?
                            .ok_or_else(|| {
                                StoreError::Backend(format!("ticket {ticket} missing"))
                            })?;
                        let r = reply.as_ref().expect("waiting replies");
                        if r.reason.as_deref() == Some("cancelled") {
                            tk.state = TicketState::Closed {
                                by: "investor".into(),
                                at: now,
                                outcome: Outcome::Cancelled,
                            };
                            conv.owner = Owner::Bot;
                            audit(
                                t,
                                now,
                                "investor",
                                "cancelled the hand-off",
                                Some(&conv.id),
                                Some(*ticket),
                            )?;
                        } else {
                            tk.last_investor_message_at = Some(now);
                        }
                        t.put(Table::Tickets, &ticket.to_be_bytes(), &encode(&tk))?;
                        reply_seq = Some(append(
                            t,
                            &mut conv,
                            now,
                            Author::Bot,
                            &r.text,
                            Some(r.clone()),
                        )?);
                    }
                    Owner::Staff { ticket, .. } => {
                        if let Some(mut tk) =
                            get::<Ticket>(t, Table::Tickets, &ticket.to_be_bytes())?
                        {
                            tk.last_investor_message_at = Some(now);
                            t.put(Table::Tickets, &ticket.to_be_bytes(), &encode(&tk))?;
                        }
                    }
                }
                t.put(Table::Conversations, conv.id.as_bytes(), &encode(&conv))?;
                *result.borrow_mut() = Some(Some(Inbound {
                    conversation: conv.id.clone(),
                    state: conv.owner.state(),
                    reply,
                    ticket_opened: opened,
                    reply_seq,
                }));
                Ok(())
            });
            outcome?;
            if let Some(Some(inbound)) = result.into_inner() {
                self.store.durable()?;
                self.emit(
                    &inbound.conversation,
                    owner.ticket().or(inbound.ticket_opened),
                    "message",
                );
                if let Some(t) = inbound.ticket_opened {
                    self.emit(&inbound.conversation, Some(t), "ticket_opened");
                }
                return Ok(inbound);
            }
        }
        Err(DeskError::Invalid(
            "the conversation kept changing; try again".into(),
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn open_ticket(
        &self,
        t: &dyn Txn,
        conv: &mut Conversation,
        question: &str,
        history: &[Message],
        reply: &Reply,
        staff: &[StaffAccount],
        online: &[String],
        now: Millis,
    ) -> Result<u64, StoreError> {
        let id = t.next_id("ticket")?;
        let before: Vec<BriefLine> = history
            .iter()
            .rev()
            .take(6)
            .rev()
            .map(|m| BriefLine {
                from: match &m.author {
                    Author::Investor => "investor".into(),
                    Author::Bot => "bot".into(),
                    Author::Staff { name } => name.clone(),
                    Author::System => "system".into(),
                },
                text: m.text.chars().take(500).collect(),
            })
            .collect();
        let context: String = history
            .iter()
            .filter(|m| m.author == Author::Investor)
            .map(|m| m.text.as_str())
            .chain([question])
            .collect::<Vec<_>>()
            .join("\n");
        let (region, industry) = routing::classify(&conv.investor, &context);
        // Coverage comes from the accounts (`staff add --regions/--industries`) and from
        // `[[desk.commissioners]]` in the config, whichever names the commissioner.
        let covers = |name: &str, regions: &[String], industries: &[String]| {
            let from_config = self.config.commissioners.iter().filter(|c| c.name == name);
            let mut all_regions: Vec<&String> = regions.iter().collect();
            let mut all_industries: Vec<&String> = industries.iter().collect();
            for c in from_config {
                all_regions.extend(&c.regions);
                all_industries.extend(&c.industries);
            }
            region.as_ref().is_some_and(|r| all_regions.contains(&r))
                || industry
                    .as_ref()
                    .is_some_and(|i| all_industries.contains(&i))
        };
        let mut names: Vec<(String, Vec<String>, Vec<String>)> = staff
            .iter()
            .map(|s| (s.name.clone(), s.regions.clone(), s.industries.clone()))
            .collect();
        for c in &self.config.commissioners {
            if !names.iter().any(|(n, _, _)| *n == c.name) {
                names.push((c.name.clone(), Vec::new(), Vec::new()));
            }
        }
        let matching: Vec<String> = names
            .iter()
            .filter(|(n, r, i)| covers(n, r, i))
            .map(|(n, _, _)| n.clone())
            .filter(|n| online.contains(n))
            .collect();
        let ticket = Ticket {
            id,
            conversation: conv.id.clone(),
            opened_at: now,
            state: TicketState::Open,
            brief: CaseBrief {
                question: question.chars().take(2000).collect(),
                before,
                found: reply
                    .sources
                    .iter()
                    .map(|s| BriefSource {
                        id: s.id.clone(),
                        title: s.title.clone(),
                        score: s.score,
                        in_force: s.in_force,
                    })
                    .collect(),
                reason: reply.reason.clone().unwrap_or_default(),
                confidence: reply.confidence,
                investor: conv.investor.clone(),
                language: detect_lang(question).as_str().to_string(),
            },
            flagged: false,
            first_reply_at: None,
            last_staff_reply_at: None,
            last_investor_message_at: Some(now),
            region,
            industry,
            routed_to: matching,
        };
        t.put(Table::Tickets, &id.to_be_bytes(), &encode(&ticket))?;
        conv.owner = Owner::Waiting { ticket: id };
        audit(
            t,
            now,
            "bot",
            &format!("handed off: {}", ticket.brief.reason),
            Some(&conv.id),
            Some(id),
        )?;
        Ok(id)
    }

    /// Runs one staff action on a ticket as a transaction: `f` changes the ticket and the
    /// conversation and returns the audit line and any message to append.
    fn staff_action(
        &self,
        ticket_id: u64,
        who: &str,
        f: &StaffChange<'_>,
    ) -> Result<Ticket, DeskError> {
        let now = self.now();
        let failure = std::cell::RefCell::new(None);
        let done = std::cell::RefCell::new(None);
        self.store.transaction(&|t| {
            let Some(mut ticket) = get::<Ticket>(t, Table::Tickets, &ticket_id.to_be_bytes())?
            else {
                *failure.borrow_mut() = Some(DeskError::NotFound(format!("ticket {ticket_id}")));
                return Ok(());
            };
            let Some(mut conv) =
                get::<Conversation>(t, Table::Conversations, ticket.conversation.as_bytes())?
            else {
                *failure.borrow_mut() = Some(DeskError::NotFound(format!(
                    "conversation {}",
                    ticket.conversation
                )));
                return Ok(());
            };
            match f(&mut ticket, &mut conv, now) {
                Err(e) => {
                    *failure.borrow_mut() = Some(e);
                    Ok(())
                }
                Ok((what, message)) => {
                    if let Some((author, text)) = message {
                        append(t, &mut conv, now, author, &text, None)?;
                    }
                    t.put(Table::Tickets, &ticket.id.to_be_bytes(), &encode(&ticket))?;
                    t.put(Table::Conversations, conv.id.as_bytes(), &encode(&conv))?;
                    audit(t, now, who, &what, Some(&conv.id), Some(ticket.id))?;
                    *done.borrow_mut() = Some(ticket);
                    Ok(())
                }
            }
        })?;
        if let Some(e) = failure.into_inner() {
            return Err(e);
        }
        let ticket = done
            .into_inner()
            .ok_or_else(|| DeskError::Invalid("no change".into()))?;
        self.store.durable()?;
        self.emit(&ticket.conversation, Some(ticket.id), "ticket_changed");
        Ok(ticket)
    }

    /// Claims are atomic: of two commissioners claiming at once, exactly one wins.
    pub fn claim(&self, ticket: u64, who: &str) -> Result<Ticket, DeskError> {
        self.touch(who);
        self.staff_action(ticket, who, &|t, conv, now| {
            match &t.state {
                TicketState::Closed { .. } => return Err(DeskError::Closed(t.id)),
                TicketState::Claimed { by, .. } if by != who => {
                    return Err(DeskError::AlreadyClaimed {
                        ticket: t.id,
                        by: by.clone(),
                    });
                }
                _ => {}
            }
            t.state = TicketState::Claimed {
                by: who.to_string(),
                at: now,
            };
            conv.owner = Owner::Staff {
                ticket: t.id,
                commissioner: who.to_string(),
            };
            Ok(("claimed".into(), None))
        })
    }

    fn must_hold(t: &Ticket, who: &str) -> Result<(), DeskError> {
        match &t.state {
            TicketState::Claimed { by, .. } if by == who => Ok(()),
            TicketState::Claimed { by, .. } => Err(DeskError::NotYours {
                ticket: t.id,
                by: by.clone(),
            }),
            TicketState::Open => Err(DeskError::NotClaimed(t.id)),
            TicketState::Closed { .. } => Err(DeskError::Closed(t.id)),
        }
    }

    /// A commissioner's reply, delivered in the investor's own conversation.
    pub fn reply(
        &self,
        ticket: u64,
        who: &str,
        text: &str,
    ) -> Result<(Ticket, Conversation), DeskError> {
        self.touch(who);
        let text = text.trim();
        if text.is_empty() {
            return Err(DeskError::Invalid("the reply is empty".into()));
        }
        let t = self.staff_action(ticket, who, &|t, _conv, now| {
            Desk::must_hold(t, who)?;
            t.first_reply_at.get_or_insert(now);
            t.last_staff_reply_at = Some(now);
            Ok((
                "replied".into(),
                Some((
                    Author::Staff {
                        name: who.to_string(),
                    },
                    text.to_string(),
                )),
            ))
        })?;
        let conv = self
            .conversation(&t.conversation)?
            .ok_or_else(|| DeskError::NotFound(t.conversation.clone()))?;
        Ok((t, conv))
    }

    /// Back to the queue for another commissioner.
    pub fn release(&self, ticket: u64, who: &str) -> Result<Ticket, DeskError> {
        self.staff_action(ticket, who, &|t, conv, _| {
            Desk::must_hold(t, who)?;
            t.state = TicketState::Open;
            conv.owner = Owner::Waiting { ticket: t.id };
            Ok(("released".into(), None))
        })
    }

    /// The bot answers again; the ticket is done.
    pub fn handback(&self, ticket: u64, who: &str) -> Result<Ticket, DeskError> {
        self.finish(ticket, who, Outcome::HandedBack)
    }

    pub fn close(&self, ticket: u64, who: &str) -> Result<Ticket, DeskError> {
        self.finish(ticket, who, Outcome::Closed)
    }

    fn finish(&self, ticket: u64, who: &str, outcome: Outcome) -> Result<Ticket, DeskError> {
        self.staff_action(ticket, who, &|t, conv, now| {
            if !matches!(t.state, TicketState::Open) {
                Desk::must_hold(t, who)?;
            }
            t.state = TicketState::Closed {
                by: who.to_string(),
                at: now,
                outcome,
            };
            conv.owner = Owner::Bot;
            let lang = Lang::parse(&t.brief.language);
            let note = match (outcome, lang) {
                (Outcome::HandedBack, Lang::Zh) => "专员已将对话交还给小二，您可以继续提问。",
                (Outcome::HandedBack, Lang::En) => {
                    "The commissioner has handed the chat back to xiaoer; ask away."
                }
                (_, Lang::Zh) => "本次人工服务已结束，小二会继续为您解答。",
                (_, Lang::En) => {
                    "This conversation with a commissioner is closed; xiaoer will keep answering."
                }
            };
            let what = match outcome {
                Outcome::HandedBack => "handed back to the bot",
                Outcome::Closed => "closed",
                Outcome::Cancelled => "cancelled",
            };
            Ok((what.into(), Some((Author::System, note.to_string()))))
        })
    }

    /// The investor withdraws their request for a person.
    pub fn cancel(&self, conversation: &str) -> Result<Option<Ticket>, DeskError> {
        let Some(conv) = self.conversation(conversation)? else {
            return Ok(None);
        };
        let Owner::Waiting { ticket } = conv.owner else {
            return Ok(None);
        };
        let lang = Lang::parse(&self.ticket(ticket)?.brief.language);
        self.staff_action(ticket, "investor", &|t, conv, now| {
            if !matches!(t.state, TicketState::Open) {
                return Err(DeskError::Invalid(
                    "a commissioner already took this request".into(),
                ));
            }
            t.state = TicketState::Closed {
                by: "investor".into(),
                at: now,
                outcome: Outcome::Cancelled,
            };
            conv.owner = Owner::Bot;
            Ok((
                "cancelled the hand-off".into(),
                Some((Author::System, cancelled_reply("", lang).text)),
            ))
        })
        .map(Some)
    }

    /// The investor can no longer be reached (blocked the bot): close their open ticket so
    /// nobody keeps answering into the void.
    pub fn investor_gone(&self, conversation: &str) -> Result<(), DeskError> {
        let Some(conv) = self.conversation(conversation)? else {
            return Ok(());
        };
        let Some(ticket) = conv.owner.ticket() else {
            return Ok(());
        };
        self.staff_action(ticket, "system", &|t, conv, now| {
            t.state = TicketState::Closed {
                by: "system".into(),
                at: now,
                outcome: Outcome::Closed,
            };
            conv.owner = Owner::Bot;
            Ok(("closed: the investor can no longer be reached".into(), None))
        })?;
        Ok(())
    }

    /// Claims with no reply within the timeout go back to the queue, flagged. Timers are
    /// timestamps in the tickets, so they survive a restart.
    pub fn sweep_timers(&self) -> Result<Vec<u64>, DeskError> {
        let now = self.now();
        let timeout = self.config.claim_timeout_secs as i64 * 1000;
        let mut returned = Vec::new();
        for t in self.open_tickets()? {
            if let TicketState::Claimed { by, at } = &t.state {
                let replied_since_claim = t.last_staff_reply_at.is_some_and(|r| r >= *at);
                if !replied_since_claim && now - at >= timeout {
                    let by = by.clone();
                    let r = self.staff_action(t.id, "timer", &|t, conv, _| {
                        if !matches!(&t.state, TicketState::Claimed { by: b, .. } if *b == by) {
                            return Err(DeskError::Invalid("changed".into()));
                        }
                        t.state = TicketState::Open;
                        t.flagged = true;
                        conv.owner = Owner::Waiting { ticket: t.id };
                        Ok((format!("claim by {by} timed out; back to the queue"), None))
                    });
                    if r.is_ok() {
                        returned.push(t.id);
                    }
                }
            }
        }
        Ok(returned)
    }

    pub fn feedback(&self, conversation: &str, seq: u64, vote: Vote) -> Result<(), DeskError> {
        let failure = std::cell::RefCell::new(None);
        let now = self.now();
        self.store.transaction(&|t| {
            let key = message_key(conversation, seq);
            let Some(mut m) = get::<Message>(t, Table::Messages, &key)? else {
                *failure.borrow_mut() = Some(DeskError::NotFound(format!("message {seq}")));
                return Ok(());
            };
            if m.author != Author::Bot {
                *failure.borrow_mut() = Some(DeskError::Invalid(
                    "only the bot's answers take feedback".into(),
                ));
                return Ok(());
            }
            m.feedback = Some(vote);
            t.put(Table::Messages, &key, &encode(&m))?;
            audit(
                t,
                now,
                "investor",
                &format!("feedback {vote:?} on message {seq}"),
                Some(conversation),
                None,
            )
        })?;
        if let Some(e) = failure.into_inner() {
            return Err(e);
        }
        self.store.durable()?;
        Ok(())
    }

    // ---- staff accounts ----

    pub fn staff_accounts(&self) -> Result<Vec<StaffAccount>, DeskError> {
        Ok(self
            .store
            .scan_prefix(Table::Staff, b"")?
            .iter()
            .map(|(_, v)| decode(Table::Staff, v))
            .collect::<Result<Vec<_>, _>>()?)
    }

    /// Creates an account and returns its token (shown once; only its hash is stored).
    pub fn add_staff(
        &self,
        name: &str,
        role: Role,
        regions: &[String],
        industries: &[String],
    ) -> Result<String, DeskError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
            return Err(DeskError::Invalid(
                "a staff name is 1–64 printable characters".into(),
            ));
        }
        let token = random_token();
        let account = StaffAccount {
            name: name.to_string(),
            role,
            token_hash: hash_token(&token),
            regions: regions.to_vec(),
            industries: industries.to_vec(),
            created_at: self.now(),
        };
        let exists = std::cell::Cell::new(false);
        let now = self.now();
        self.store.transaction(&|t| {
            if t.get(Table::Staff, name.as_bytes())?.is_some() {
                exists.set(true);
                return Ok(());
            }
            t.put(Table::Staff, name.as_bytes(), &encode(&account))?;
            audit(
                t,
                now,
                "admin",
                &format!("added staff {name} ({role:?})"),
                None,
                None,
            )
        })?;
        if exists.get() {
            return Err(DeskError::Invalid(format!("staff {name} already exists")));
        }
        self.store.durable()?;
        Ok(token)
    }

    /// The account a token belongs to; marks it online.
    pub fn authenticate(&self, token: &str) -> Result<Option<StaffAccount>, DeskError> {
        if token.is_empty() || token.len() > 256 {
            return Ok(None);
        }
        let hash = hash_token(token);
        let account = self
            .staff_accounts()?
            .into_iter()
            .find(|a| a.token_hash == hash);
        if let Some(a) = &account {
            self.touch(&a.name);
        }
        Ok(account)
    }

    fn touch(&self, name: &str) {
        self.online
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), Instant::now());
    }

    pub fn online_names(&self) -> Vec<String> {
        let window = Duration::from_secs(self.config.online_window_secs);
        self.online
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(_, at)| at.elapsed() < window)
            .map(|(n, _)| n.clone())
            .collect()
    }

    // ---- web sessions ----

    /// A new investor session: (secret token for the cookie, conversation chat id).
    pub fn new_session(&self) -> Result<(String, String), DeskError> {
        let token = random_token();
        let chat = random_token()[..24].to_string();
        let key = hash_token(&token);
        self.store
            .transaction(&|t| t.put(Table::Sessions, key.as_bytes(), chat.as_bytes()))?;
        Ok((token, chat))
    }

    /// The chat id a session token names.
    pub fn session_chat(&self, token: &str) -> Result<Option<String>, DeskError> {
        if token.is_empty() || token.len() > 256 {
            return Ok(None);
        }
        Ok(self
            .store
            .get(Table::Sessions, hash_token(token).as_bytes())?
            .and_then(|v| String::from_utf8(v).ok()))
    }

    pub fn audit_trail(&self) -> Result<Vec<AuditRecord>, DeskError> {
        Ok(self
            .store
            .scan_prefix(Table::Audit, b"")?
            .iter()
            .map(|(_, v)| decode(Table::Audit, v))
            .collect::<Result<Vec<_>, _>>()?)
    }

    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
}

fn waiting_reply(question: &str, lang: Lang) -> Reply {
    let text = match lang {
        Lang::Zh => {
            "您的问题已转给招商护商专员，正在排队，专员接手后会在这里回复您。发送“取消”可撤回人工请求。"
        }
        Lang::En => {
            "Your question is with the commissioners' queue; one will reply here. Send \"cancel\" to withdraw the request."
        }
    };
    Reply {
        question: question.chars().take(200).collect(),
        kind: Kind::Handoff,
        text: text.to_string(),
        confidence: 0.0,
        reason: Some("waiting".into()),
        sources: Vec::new(),
        options: Vec::new(),
    }
}

fn cancelled_reply(question: &str, lang: Lang) -> Reply {
    let text = match lang {
        Lang::Zh => "已取消人工服务请求，小二继续为您解答。",
        Lang::En => "Your request for a person is withdrawn; xiaoer is answering again.",
    };
    Reply {
        question: question.chars().take(200).collect(),
        kind: Kind::Answer,
        text: text.to_string(),
        confidence: 1.0,
        reason: Some("cancelled".into()),
        sources: Vec::new(),
        options: Vec::new(),
    }
}
