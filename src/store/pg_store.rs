//! The PostgreSQL store: the same tables of byte keys and JSON values as sled, in one
//! `records` table shared by every `serve` instance on the database, so several instances
//! behind a balancer are one desk.
//!
//! The `Store` trait is synchronous (the desk runs on blocking threads), the driver is
//! async (tokio-postgres with a deadpool pool). The store owns a small runtime of its own
//! and every call is a task on it that the caller waits for, so a call works from any
//! thread, a runtime's own included, and never needs the caller's runtime. A transaction
//! is one task holding one pooled connection in a SERIALIZABLE transaction; the caller's
//! closure sends it reads and writes one by one. When PostgreSQL reports a serialization
//! failure (two instances claimed the same ticket at once), the whole closure runs again
//! on fresh data, as the trait allows: one claim wins, the other sees the ticket taken.

use std::cell::Cell;
use std::future::Future;
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::sync::mpsc;
use tokio_postgres::error::SqlState;
use tokio_postgres::{IsolationLevel, NoTls};

use super::migrations;
use super::{Lease, Record, Store, StoreError, Table, Txn};

/// Connections per instance: enough for the desk's blocking threads to overlap their
/// round trips, few enough that many instances fit PostgreSQL's default 100.
const POOL_SIZE: usize = 16;
/// How often a transaction that lost a serialization race is tried again.
const RETRIES: usize = 50;

pub struct PgStore {
    runtime: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
    pool: Pool,
    /// For the connection that LISTENs (not pooled: it stays open and idle).
    config: tokio_postgres::Config,
    /// Tells this instance's own notifications from the others'.
    instance: String,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("postgres: {e}"))
}

/// Whether PostgreSQL aborted the transaction only because another one got there first.
fn is_conflict(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    )
}

/// The URL with its password replaced, for logs and messages.
pub fn redacted_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// The smallest byte string greater than every key starting with `prefix`, or none when
/// no such bound exists (an empty prefix, or one of only 0xff bytes).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/db`) and applies the
    /// migrations the database lacks.
    pub fn open(url: &str) -> Result<Arc<PgStore>, StoreError> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| backend(format!("bad URL {}: {e}", redacted_url(url))))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("xiaoer-pg")
            .enable_all()
            .build()
            .map_err(backend)?;
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .create_timeout(Some(Duration::from_secs(10)))
            .wait_timeout(Some(Duration::from_secs(30)))
            .build()
            .map_err(backend)?;
        let store = PgStore {
            handle: runtime.handle().clone(),
            runtime: Some(runtime),
            pool,
            config,
            instance: crate::desk::random_token()[..16].to_string(),
        };
        let pool = store.pool.clone();
        store.run(async move {
            let mut client = pool.get().await.map_err(backend)?;
            migrations::apply(&mut client).await
        })?;
        Ok(Arc::new(store))
    }

    /// Runs `fut` on the store's runtime and waits for it.
    fn run<T: Send + 'static>(
        &self,
        fut: impl Future<Output = Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = std_mpsc::sync_channel(1);
        self.handle.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv()
            .map_err(|_| backend("the store's runtime stopped"))?
    }

    /// A connection-pool handle and runtime for the parts that talk to PostgreSQL beyond
    /// records (desk events over LISTEN/NOTIFY, advisory locks).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub fn handle(&self) -> &tokio::runtime::Handle {
        &self.handle
    }

    /// One try of `f` in one SERIALIZABLE transaction. `Err(None)` means it lost a race
    /// and may be tried again.
    fn try_transaction(
        &self,
        f: &dyn Fn(&dyn Txn) -> Result<(), StoreError>,
    ) -> Result<(), Option<StoreError>> {
        let (ops, mut inbox) = mpsc::unbounded_channel::<(Op, std_mpsc::SyncSender<OpResult>)>();
        let pool = self.pool.clone();
        let (started_tx, started_rx) = std_mpsc::sync_channel::<Result<(), StoreError>>(1);
        self.handle.spawn(async move {
            let mut client = match pool.get().await {
                Ok(c) => c,
                Err(e) => {
                    let _ = started_tx.send(Err(backend(e)));
                    return;
                }
            };
            let tx = match client
                .build_transaction()
                .isolation_level(IsolationLevel::Serializable)
                .start()
                .await
            {
                Ok(tx) => tx,
                Err(e) => {
                    let _ = started_tx.send(Err(backend(e)));
                    return;
                }
            };
            let _ = started_tx.send(Ok(()));
            while let Some((op, reply)) = inbox.recv().await {
                let result = match op {
                    Op::Commit => {
                        let _ = reply.send(tx.commit().await.map(|()| Done::Unit));
                        return;
                    }
                    Op::Get(table, key) => get(&*tx, table, &key).await.map(Done::Value),
                    Op::Put(table, key, value) => {
                        put(&*tx, table, &key, &value).await.map(|()| Done::Unit)
                    }
                    Op::Remove(table, key) => remove(&*tx, table, &key).await.map(|()| Done::Unit),
                    Op::NextId(counter) => next_id(&*tx, &counter).await.map(Done::Id),
                };
                let failed = result.is_err();
                let _ = reply.send(result);
                if failed {
                    // PostgreSQL has aborted the transaction; nothing more can run in it.
                    return;
                }
            }
            // The closure returned an error (or panicked): dropping `tx` rolls back.
        });
        started_rx
            .recv()
            .map_err(|_| Some(backend("the store's runtime stopped")))?
            .map_err(Some)?;
        let txn = PgTxn {
            ops,
            conflict: Cell::new(false),
        };
        let outcome = f(&txn);
        if txn.conflict.get() {
            return Err(None);
        }
        outcome.map_err(Some)?;
        match txn.send(Op::Commit) {
            Ok(_) => Ok(()),
            Err(_) if txn.conflict.get() => Err(None),
            Err(e) => Err(Some(e)),
        }
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // Dropped inside an async context (the end of `serve`), a blocking shutdown would
        // panic; nothing is in flight by now, so let the threads go.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Ends the task holding a lease (and so its connection and lock) when the lease goes.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

enum Op {
    Get(Table, Vec<u8>),
    Put(Table, Vec<u8>, Vec<u8>),
    Remove(Table, Vec<u8>),
    NextId(String),
    Commit,
}

enum Done {
    Unit,
    Value(Option<Vec<u8>>),
    Id(u64),
}

type OpResult = Result<Done, tokio_postgres::Error>;

/// The caller's side of a transaction: each call is a round trip to the task that holds
/// the connection.
struct PgTxn {
    ops: mpsc::UnboundedSender<(Op, std_mpsc::SyncSender<OpResult>)>,
    /// Set when PostgreSQL reported a serialization failure: the try is void.
    conflict: Cell<bool>,
}

impl PgTxn {
    fn send(&self, op: Op) -> Result<Done, StoreError> {
        if self.conflict.get() {
            return Err(backend("transaction conflicted; it will be retried"));
        }
        let (tx, rx) = std_mpsc::sync_channel(1);
        self.ops
            .send((op, tx))
            .map_err(|_| backend("the transaction ended"))?;
        match rx.recv().map_err(|_| backend("the transaction ended"))? {
            Ok(done) => Ok(done),
            Err(e) => {
                if is_conflict(&e) {
                    self.conflict.set(true);
                }
                Err(backend(e))
            }
        }
    }
}

impl Txn for PgTxn {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match self.send(Op::Get(table, key.to_vec()))? {
            Done::Value(v) => Ok(v),
            _ => Err(backend("unexpected reply to get")),
        }
    }

    fn put(&self, table: Table, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.send(Op::Put(table, key.to_vec(), value.to_vec()))
            .map(|_| ())
    }

    fn remove(&self, table: Table, key: &[u8]) -> Result<(), StoreError> {
        self.send(Op::Remove(table, key.to_vec())).map(|_| ())
    }

    fn next_id(&self, counter: &str) -> Result<u64, StoreError> {
        match self.send(Op::NextId(counter.to_string()))? {
            Done::Id(id) => Ok(id),
            _ => Err(backend("unexpected reply to next_id")),
        }
    }
}

async fn get(
    c: &impl tokio_postgres::GenericClient,
    table: Table,
    key: &[u8],
) -> Result<Option<Vec<u8>>, tokio_postgres::Error> {
    let row = c
        .query_opt(
            "SELECT value FROM records WHERE tbl = $1 AND key = $2",
            &[&table.name(), &key],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

async fn put(
    c: &impl tokio_postgres::GenericClient,
    table: Table,
    key: &[u8],
    value: &[u8],
) -> Result<(), tokio_postgres::Error> {
    c.execute(
        "INSERT INTO records (tbl, key, value) VALUES ($1, $2, $3) \
         ON CONFLICT (tbl, key) DO UPDATE SET value = EXCLUDED.value",
        &[&table.name(), &key, &value],
    )
    .await
    .map(|_| ())
}

async fn remove(
    c: &impl tokio_postgres::GenericClient,
    table: Table,
    key: &[u8],
) -> Result<(), tokio_postgres::Error> {
    c.execute(
        "DELETE FROM records WHERE tbl = $1 AND key = $2",
        &[&table.name(), &key],
    )
    .await
    .map(|_| ())
}

/// Counters are records of `Table::Counters` holding a big-endian u64, as in sled, so
/// `store copy` moves them byte for byte.
async fn next_id(
    c: &impl tokio_postgres::GenericClient,
    counter: &str,
) -> Result<u64, tokio_postgres::Error> {
    let current = get(c, Table::Counters, counter.as_bytes())
        .await?
        .and_then(|v| v.as_slice().try_into().ok().map(u64::from_be_bytes))
        .unwrap_or(0);
    let next = current + 1;
    put(c, Table::Counters, counter.as_bytes(), &next.to_be_bytes()).await?;
    Ok(next)
}

async fn scan(
    pool: &Pool,
    table: Table,
    prefix: &[u8],
    from: &[u8],
    limit: i64,
) -> Result<Vec<Record>, StoreError> {
    let client = pool.get().await.map_err(backend)?;
    let client: &tokio_postgres::Client = &client;
    let from = if from > prefix { from } else { prefix };
    let rows = match prefix_end(prefix) {
        Some(end) => {
            client
                .query(
                    "SELECT key, value FROM records WHERE tbl = $1 AND key >= $2 AND key < $3 \
                     ORDER BY key LIMIT $4",
                    &[&table.name(), &from, &end, &limit],
                )
                .await
        }
        None => {
            client
                .query(
                    "SELECT key, value FROM records WHERE tbl = $1 AND key >= $2 \
                     ORDER BY key LIMIT $3",
                    &[&table.name(), &from, &limit],
                )
                .await
        }
    }
    .map_err(backend)?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// The channel instances notify each other on.
const CHANNEL: &str = "xiaoer_events";

/// The advisory-lock key of a role: a stable 64-bit hash of its name.
fn role_key(role: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("xiaoer-role:{role}").as_bytes());
    i64::from_be_bytes(digest[..8].try_into().unwrap_or([0; 8]))
}

/// LISTENs on `CHANNEL` and hands others' messages to `deliver`, reconnecting (with a
/// pause) whenever the connection drops, until the runtime stops.
async fn listen_forever(
    config: tokio_postgres::Config,
    instance: String,
    deliver: Box<dyn Fn(String) + Send + Sync>,
) {
    use futures_util::StreamExt;
    let own = format!("{instance}:");
    loop {
        match config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let (tx, mut rx) = mpsc::unbounded_channel();
                let driver = tokio::spawn(async move {
                    let mut messages =
                        futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(message) = messages.next().await {
                        match message {
                            Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                                let _ = tx.send(n.payload().to_string());
                            }
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!(error = %e, "event connection to PostgreSQL lost");
                                return;
                            }
                        }
                    }
                });
                match client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
                    Ok(()) => {
                        while let Some(payload) = rx.recv().await {
                            // Our own were delivered locally when sent.
                            if payload.starts_with(&own) {
                                continue;
                            }
                            if let Some((_, message)) = payload.split_once(':') {
                                deliver(message.to_string());
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "could not LISTEN for desk events"),
                }
                driver.abort();
            }
            Err(e) => tracing::warn!(error = %e, "cannot reach PostgreSQL for desk events"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

impl Store for PgStore {
    /// NOTIFY, sent without waiting: events are hints to re-read, and a desk action must
    /// not wait on them. Committed data is visible before the notification is.
    fn publish(&self, message: &str) {
        let (pool, payload) = (self.pool.clone(), format!("{}:{message}", self.instance));
        self.handle.spawn(async move {
            let sent = async {
                let client = pool.get().await.map_err(backend)?;
                client
                    .execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload])
                    .await
                    .map_err(backend)
            };
            if let Err(e) = sent.await {
                tracing::warn!(error = %e, "desk event not sent to other instances");
            }
        });
    }

    fn listen(&self, deliver: Box<dyn Fn(String) + Send + Sync>) {
        self.handle.spawn(listen_forever(
            self.config.clone(),
            self.instance.clone(),
            deliver,
        ));
    }

    /// A session advisory lock on a connection taken out of the pool: held while that
    /// connection lives, released by PostgreSQL the moment it dies (with the instance).
    fn try_lead(&self, role: &str) -> Result<Option<Lease>, StoreError> {
        let (pool, key) = (self.pool.clone(), role_key(role));
        let held = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let watch = held.clone();
        let (tx, rx) = std_mpsc::sync_channel(1);
        let task = self.handle.spawn(async move {
            let attempt = async {
                let client = deadpool_postgres::Object::take(pool.get().await.map_err(backend)?);
                let row = client
                    .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
                    .await
                    .map_err(backend)?;
                Ok::<_, StoreError>(row.get::<_, bool>(0).then_some(client))
            };
            let client = match attempt.await {
                Ok(Some(client)) => {
                    let _ = tx.send(Ok(true));
                    client
                }
                other => {
                    let _ = tx.send(other.map(|_| false));
                    return;
                }
            };
            // Hold the connection, checking it: if it breaks, the lock is gone.
            loop {
                tokio::time::sleep(Duration::from_secs(2)).await;
                if client.simple_query("SELECT 1").await.is_err() {
                    watch.store(false, std::sync::atomic::Ordering::SeqCst);
                    return;
                }
            }
        });
        let got = rx
            .recv()
            .map_err(|_| backend("the store's runtime stopped"))??;
        if !got {
            return Ok(None);
        }
        Ok(Some(Lease::new(held, Box::new(AbortOnDrop(task)))))
    }

    fn transaction(
        &self,
        f: &dyn Fn(&dyn Txn) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        for attempt in 0..RETRIES {
            match self.try_transaction(f) {
                Ok(()) => return Ok(()),
                Err(Some(e)) => return Err(e),
                Err(None) => {
                    // Back off a little, more each time, so racing instances spread out.
                    std::thread::sleep(Duration::from_millis(1 + (attempt as u64 % 10)));
                }
            }
        }
        Err(backend(format!(
            "transaction lost {RETRIES} serialization races in a row"
        )))
    }

    /// A commit in PostgreSQL is on disk when it returns (`synchronous_commit` on).
    fn durable(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let (pool, key) = (self.pool.clone(), key.to_vec());
        self.run(async move {
            let client = pool.get().await.map_err(backend)?;
            get(&**client, table, &key).await.map_err(backend)
        })
    }

    fn scan_prefix(&self, table: Table, prefix: &[u8]) -> Result<Vec<Record>, StoreError> {
        let (pool, prefix) = (self.pool.clone(), prefix.to_vec());
        self.run(async move { scan(&pool, table, &prefix, &prefix, i64::MAX).await })
    }

    fn scan_from(
        &self,
        table: Table,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        let (pool, prefix, from) = (self.pool.clone(), prefix.to_vec(), from.to_vec());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(async move { scan(&pool, table, &prefix, &from, limit).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_is_the_next_byte_string() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
        assert_eq!(prefix_end(b""), None);
    }

    #[test]
    fn passwords_never_reach_a_log_line() {
        assert_eq!(
            redacted_url("postgres://xiaoer:s3cret@db.local:5432/desk"),
            "postgres://xiaoer:***@db.local:5432/desk"
        );
        assert_eq!(
            redacted_url("postgres://db.local/desk"),
            "postgres://db.local/desk"
        );
    }
}
