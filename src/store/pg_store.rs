//! The PostgreSQL store: the same tables of byte keys and JSON values as sled, in one
//! `records` table shared by every `serve` instance on the database, so several instances
//! behind a balancer are one desk.
//!
//! The `Store` trait is synchronous (the desk runs on blocking threads), the driver is
//! async (tokio-postgres with a deadpool pool). The store owns a small runtime of its own
//! and every call is a task on it that the caller waits for, so a call works from any
//! thread, a runtime's own included, and never needs the caller's runtime. Transactions
//! are in `pg_txn` (locks on keys: two instances claiming one ticket take turns, and the
//! second sees it taken); notifications and leases in `pg_events`.

use std::future::Future;
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use super::pg_txn::{backend, driver};
use super::{Lease, Record, Store, StoreError, Table, Txn};
use super::{migrations, pg_events, pg_txn};

/// Connections per instance: enough for the desk's blocking threads to overlap their
/// round trips, few enough that many instances fit PostgreSQL's default 100. On two cores
/// shared with PostgreSQL, 8 gave slightly more than 16 (fewer backends to schedule).
const POOL_SIZE: usize = 8;
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
    publisher: pg_events::Publisher,
}

/// The URL with its password replaced, for logs and messages: in the user info
/// (`user:PASSWORD@`) and as a parameter (`?password=…`, or `password=…` in the key=value
/// form tokio-postgres also reads).
pub fn redacted_url(url: &str) -> String {
    let url = match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    };
    let mut out = String::with_capacity(url.len());
    let mut rest = url.as_str();
    while let Some(i) = rest.find("password=") {
        let value = i + "password=".len();
        out.push_str(&rest[..value]);
        out.push_str("***");
        let end = rest[value..]
            .find(['&', ' '])
            .map_or(rest.len(), |e| value + e);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
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
            // Its tasks only wait on the network; one thread is enough and leaves the
            // cores to answering and to PostgreSQL.
            .worker_threads(1)
            .thread_name("xiaoer-pg")
            .enable_all()
            .build()
            .map_err(driver)?;
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
            .map_err(driver)?;
        let instance = crate::desk::random_token()[..16].to_string();
        let publisher =
            pg_events::Publisher::start(runtime.handle(), pool.clone(), instance.clone());
        let store = PgStore {
            handle: runtime.handle().clone(),
            runtime: Some(runtime),
            pool,
            config,
            instance,
            publisher,
        };
        let pool = store.pool.clone();
        store.run(async move {
            let mut client = pool.get().await.map_err(driver)?;
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

async fn scan(
    pool: &Pool,
    table: Table,
    prefix: &[u8],
    from: &[u8],
    limit: i64,
) -> Result<Vec<Record>, StoreError> {
    let client = pool.get().await.map_err(driver)?;
    let from = if from > prefix { from } else { prefix };
    let rows = match prefix_end(prefix) {
        Some(end) => {
            let scan = client
                .prepare_cached(
                    "SELECT key, value FROM records WHERE tbl = $1 AND key >= $2 AND key < $3 \
                     ORDER BY key LIMIT $4",
                )
                .await
                .map_err(driver)?;
            client
                .query(&scan, &[&table.name(), &from, &end, &limit])
                .await
        }
        None => {
            let scan = client
                .prepare_cached(
                    "SELECT key, value FROM records WHERE tbl = $1 AND key >= $2 \
                     ORDER BY key LIMIT $3",
                )
                .await
                .map_err(driver)?;
            client.query(&scan, &[&table.name(), &from, &limit]).await
        }
    }
    .map_err(driver)?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

impl Store for PgStore {
    fn shared(&self) -> bool {
        true
    }

    fn reads_are_local(&self) -> bool {
        false
    }

    /// NOTIFY, sent without waiting: events are hints to re-read, and a desk action must
    /// not wait on them. Committed data is visible before the notification is.
    fn publish(&self, message: &str) {
        self.publisher.publish(message)
    }

    fn listen(&self, deliver: Box<dyn Fn(String) + Send + Sync>) {
        self.handle.spawn(pg_events::listen_forever(
            self.config.clone(),
            self.instance.clone(),
            deliver,
        ));
    }

    /// A session advisory lock on a connection taken out of the pool: held while that
    /// connection lives, released by PostgreSQL the moment it dies (with the instance).
    fn try_lead(&self, role: &str) -> Result<Option<Lease>, StoreError> {
        pg_events::try_lead(&self.handle, &self.pool, role)
    }

    fn transaction(
        &self,
        f: &dyn Fn(&dyn Txn) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        for attempt in 0..RETRIES {
            match pg_txn::try_transaction(&self.handle, &self.pool, f) {
                Ok(()) => return Ok(()),
                Err(Some(e)) => return Err(e),
                Err(None) => {
                    // Back off a little, more each time, so racing instances spread out.
                    std::thread::sleep(Duration::from_millis(1 + (attempt as u64 % 10)));
                }
            }
        }
        Err(backend(format!(
            "transaction deadlocked with others {RETRIES} times in a row"
        )))
    }

    /// A commit in PostgreSQL is on disk when it returns (`synchronous_commit` on).
    fn durable(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let (pool, key) = (self.pool.clone(), key.to_vec());
        self.run(async move {
            let client = pool.get().await.map_err(driver)?;
            let get = client
                .prepare_cached("SELECT value FROM records WHERE tbl = $1 AND key = $2")
                .await
                .map_err(driver)?;
            let row = client
                .query_opt(&get, &[&table.name(), &key])
                .await
                .map_err(driver)?;
            Ok(row.map(|r| r.get(0)))
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
        assert_eq!(
            redacted_url("postgres://db.local/desk?user=x&password=s3cret&sslmode=disable"),
            "postgres://db.local/desk?user=x&password=***&sslmode=disable"
        );
        assert_eq!(
            redacted_url("host=db.local password=s3cret dbname=desk"),
            "host=db.local password=*** dbname=desk"
        );
    }
}
