//! The desk: who owns each conversation (bot, queue, commissioner), tickets with case
//! briefs, claim / reply / release / hand back / close, claim timeouts, office hours, staff
//! accounts and web sessions. Pure domain logic over the `Store`; every state change is
//! one transaction with an audit record, made durable before the caller acknowledges it.

mod accounts;
mod hours;
mod inbound;
pub mod model;
mod outbound;
mod remote;
mod routing;
mod staff;
mod stats;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::broadcast;

pub use accounts::check_wecom_user;
pub use hours::OfficeHours;
pub use model::*;
pub use outbound::Undelivered;
pub use stats::{Stats, UnansweredGroup};

use crate::answer::{Kind, Reply};
use crate::engine::Engine;
use crate::store::{Store, StoreError, Table, Txn, Watched, decode, decode_all, encode};
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
    /// A web session unused for this long expires and is purged (its conversation stays).
    pub session_idle_days: u64,
    /// A staff console sign-in lasts this long (then sign in again).
    pub console_session_hours: u64,
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
            session_idle_days: 30,
            console_session_hours: 12,
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
    /// A channel delivered this message before (`Desk::investor_message_once`): nothing
    /// was stored now, and `reply` is what the first delivery was answered.
    #[serde(skip)]
    pub repeated: bool,
}

pub struct Desk {
    engine: Arc<Engine>,
    store: Arc<Watched>,
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
        store.listen(Box::new(remote::on_message(events.clone(), engine.clone())));
        Desk {
            engine,
            store: Watched::new(store),
            config,
            events,
            online: Mutex::new(HashMap::new()),
            clock,
        }
    }

    /// Whether reading the store is cheap enough for an async thread (sled), or a round
    /// trip that belongs on a blocking one (PostgreSQL).
    pub fn store_reads_are_local(&self) -> bool {
        self.store.reads_are_local()
    }

    /// Whether the store takes writes (see `Watched::ready`): what `/api/health` reports.
    pub fn store_ready(&self) -> bool {
        self.store.ready()
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

    /// Tells this instance's live views, and every other instance's through the store.
    fn emit(&self, conversation: &str, ticket: Option<u64>, kind: &'static str) {
        let event = DeskEvent {
            conversation: conversation.to_string(),
            ticket,
            kind,
        };
        self.store
            .publish(&remote::encode(&remote::Remote::Event(event.clone())));
        let _ = self.events.send(event);
    }

    /// Re-indexes the corpus (the old generation serves until the new one is ready) and
    /// tells the other instances on the store, so they switch too (`remote::on_message`).
    pub fn reindex(&self) -> Result<crate::search::BuildSummary, crate::engine::EngineError> {
        let summary = self.engine.reindex(&mut |_, _| {})?;
        self.store
            .publish(&remote::encode(&remote::Remote::Reindexed {
                generation: summary.generation.clone(),
            }));
        Ok(summary)
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
            .all_tickets()?
            .into_iter()
            .filter(Ticket::is_open)
            .collect();
        out.sort_by_key(|t| t.opened_at);
        Ok(out)
    }

    pub fn all_tickets(&self) -> Result<Vec<Ticket>, DeskError> {
        Ok(decode_all(&*self.store, Table::Tickets)?)
    }

    pub(crate) fn store(&self) -> &dyn Store {
        &*self.store
    }
}
