//! Persistence behind a small trait: named tables of byte keys and JSON values, atomic
//! transactions across tables, and a durability barrier callers wait on before they
//! acknowledge anything. `SledStore` is the embedded default; `PgStore` puts the same
//! tables in PostgreSQL so several `serve` instances share one desk. `open` picks one
//! from the configured location.

pub mod copy;
mod migrations;
mod pg_events;
mod pg_store;
mod pg_txn;
mod sled_store;
mod watched;

pub use pg_store::{PgStore, redacted_url};
pub use sled_store::SledStore;
pub use watched::Watched;

/// Opens the configured store: PostgreSQL at `url` when given, else sled in `data`.
pub fn open(
    url: Option<&str>,
    data: &std::path::Path,
) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    match url {
        Some(url) => Ok(PgStore::open(url)?),
        None => Ok(SledStore::open(data)?),
    }
}

/// Where `open` puts the store, for messages and logs (no password).
pub fn location(url: Option<&str>, data: &std::path::Path) -> String {
    match url {
        Some(url) => redacted_url(url),
        None => data.display().to_string(),
    }
}

/// A key and its value.
pub type Record = (Vec<u8>, Vec<u8>);

/// The tables the desk keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    Conversations,
    Messages,
    Tickets,
    Audit,
    Staff,
    Sessions,
    ConsoleSessions,
    Counters,
    /// Channel message ids already taken in (WeChat redelivers a message it got no reply
    /// to in 5 s): the message is answered and stored once.
    Received,
    /// How far each conversation's replies have gone out to its channel, and which
    /// announcements were made: with several instances, each is sent by one of them, once.
    Deliveries,
}

impl Table {
    pub const ALL: [Table; 10] = [
        Table::Conversations,
        Table::Messages,
        Table::Tickets,
        Table::Audit,
        Table::Staff,
        Table::Sessions,
        Table::ConsoleSessions,
        Table::Counters,
        Table::Received,
        Table::Deliveries,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::Conversations => "conversations",
            Table::Messages => "messages",
            Table::Tickets => "tickets",
            Table::Audit => "audit",
            Table::Staff => "staff",
            Table::Sessions => "sessions",
            Table::ConsoleSessions => "console_sessions",
            Table::Counters => "counters",
            Table::Received => "received",
            Table::Deliveries => "deliveries",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: {0}")]
    Backend(String),
    #[error("store: corrupt record in {table}: {message}")]
    Corrupt {
        table: &'static str,
        message: String,
    },
}

/// Reads and writes inside one transaction. A transaction may run more than once when it
/// conflicts with another, so the closure must not have side effects outside it.
pub trait Txn {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    fn put(&self, table: Table, key: &[u8], value: &[u8]) -> Result<(), StoreError>;
    fn remove(&self, table: Table, key: &[u8]) -> Result<(), StoreError>;
    /// The next value of a named counter (1, 2, 3, …), in the same transaction.
    fn next_id(&self, counter: &str) -> Result<u64, StoreError>;
}

pub trait Store: Send + Sync + 'static {
    /// Runs `f` atomically: all of its writes land, or none do.
    fn transaction(&self, f: &dyn Fn(&dyn Txn) -> Result<(), StoreError>)
    -> Result<(), StoreError>;
    /// Returns once everything committed so far is on disk.
    fn durable(&self) -> Result<(), StoreError>;
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// All records whose key starts with `prefix`, in key order.
    fn scan_prefix(&self, table: Table, prefix: &[u8]) -> Result<Vec<Record>, StoreError>;
    /// Records with key >= `from` (and starting with `prefix`), in key order, at most `limit`.
    fn scan_from(
        &self,
        table: Table,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> Result<Vec<Record>, StoreError>;

    /// Whether other instances share this store (PostgreSQL); with sled one process owns
    /// the directory, so there is nobody to tell and nothing to encode for them.
    fn shared(&self) -> bool {
        false
    }

    /// Whether a read is a lookup in this process's memory (sled's memory-mapped pages),
    /// cheap enough for an async thread, rather than a round trip to a server.
    fn reads_are_local(&self) -> bool {
        true
    }

    /// Tells every other instance sharing this store (a desk event, a re-index). sled has
    /// no others: one process owns its directory.
    fn publish(&self, _message: &str) {}

    /// Calls `deliver` with each message another instance publishes, for as long as the
    /// store lives. Messages sent while the link was down are lost: they are hints to
    /// refresh, and every reader re-reads the store.
    fn listen(&self, _deliver: Box<dyn Fn(String) + Send + Sync>) {}

    /// Tries to become the one instance doing `role` (Telegram long polling, which the Bot
    /// API allows only once per bot). `None` while another instance holds it. With sled
    /// the only process is always the one.
    fn try_lead(&self, _role: &str) -> Result<Option<Lease>, StoreError> {
        Ok(Some(Lease::forever()))
    }
}

/// A role held by this instance until dropped, or until `held` turns false (the
/// connection that held it broke, and another instance may have it now).
pub struct Lease {
    held: std::sync::Arc<std::sync::atomic::AtomicBool>,
    _guard: Option<Box<dyn Send + Sync>>,
}

impl Lease {
    pub fn forever() -> Lease {
        Lease {
            held: std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true)),
            _guard: None,
        }
    }

    /// A lease that lasts while `held` stays true and `guard` lives (dropping the guard
    /// gives the role up).
    pub fn new(
        held: std::sync::Arc<std::sync::atomic::AtomicBool>,
        guard: Box<dyn Send + Sync>,
    ) -> Lease {
        Lease {
            held,
            _guard: Some(guard),
        }
    }

    pub fn held(&self) -> bool {
        self.held.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// JSON (de)serialisation helpers for typed records.
pub fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

pub fn decode<T: serde::de::DeserializeOwned>(table: Table, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        table: table.name(),
        message: e.to_string(),
    })
}

/// Every record of `table`, decoded, in key order.
pub fn decode_all<T: serde::de::DeserializeOwned>(
    store: &dyn Store,
    table: Table,
) -> Result<Vec<T>, StoreError> {
    store
        .scan_prefix(table, b"")?
        .iter()
        .map(|(_, v)| decode(table, v))
        .collect()
}
