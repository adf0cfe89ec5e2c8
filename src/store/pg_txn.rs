//! One store transaction on PostgreSQL, as few round trips as the closure allows.
//!
//! Isolation is two-phase locking on keys: every key the closure reads or writes is locked
//! with a transaction-scoped advisory lock (on a hash of table and key) before it is read
//! or written, and held to the end, so transactions touching the same keys run one after
//! the other and any interleaving equals some serial order. The trait has no range reads
//! inside a transaction, so locking keys is enough, and a key that does not exist yet is
//! locked like any other (two instances announcing the same ticket: one waits, then sees
//! the other's record). SERIALIZABLE would give the same guarantee, but it tracks reads by
//! index page, and unrelated conversations on one page abort each other under load.
//!
//! Writes are kept in the transaction until commit and then sent together with COMMIT;
//! the first read goes out with BEGIN. A message that reads its conversation and writes
//! three records costs two round trips.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::mpsc as std_mpsc;

use deadpool_postgres::{Object, Pool};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio_postgres::Statement;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

use super::{StoreError, Table, Txn};

pub(super) fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("postgres: {e}"))
}

/// A driver or pool error with its causes: tokio-postgres says only "error connecting to
/// server" and keeps the reason (refused, bad password) in its source.
pub(super) fn driver(e: impl std::error::Error) -> StoreError {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !message.contains(&cause_text) {
            message.push_str(": ");
            message.push_str(&cause_text);
        }
        source = cause.source();
    }
    backend(message)
}

/// Whether PostgreSQL aborted the transaction only because of another one (a deadlock
/// between two lock orders): the closure may run again.
fn is_conflict(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
    )
}

/// The advisory lock of a key: 64 bits of a hash of table and key, the same in every
/// instance. Two keys sharing a hash only lock each other more than needed.
fn key_lock(table: Table, key: &[u8]) -> i64 {
    let mut h = Sha256::new();
    h.update(table.name().as_bytes());
    h.update([0]);
    h.update(key);
    let digest = h.finalize();
    i64::from_be_bytes(digest[..8].try_into().unwrap_or([0; 8]))
}

/// The statements a transaction uses, prepared once per pooled connection.
struct Statements {
    lock: Statement,
    get: Statement,
    lock_all: Statement,
    put_all: Statement,
    remove_all: Statement,
}

impl Statements {
    async fn prepare(client: &Object) -> Result<Statements, tokio_postgres::Error> {
        Ok(Statements {
            lock: client
                .prepare_cached("SELECT pg_advisory_xact_lock($1)")
                .await?,
            get: client
                .prepare_cached("SELECT value FROM records WHERE tbl = $1 AND key = $2")
                .await?,
            // In array order: the caller sorts, so two commits lock in the same order.
            lock_all: client
                .prepare_cached(
                    "SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) WITH ORDINALITY AS u(k, n) ORDER BY n",
                )
                .await?,
            put_all: client
                .prepare_cached(
                    "INSERT INTO records (tbl, key, value) \
                     SELECT * FROM unnest($1::text[], $2::bytea[], $3::bytea[]) \
                     ON CONFLICT (tbl, key) DO UPDATE SET value = EXCLUDED.value",
                )
                .await?,
            remove_all: client
                .prepare_cached(
                    "DELETE FROM records WHERE (tbl, key) IN \
                     (SELECT * FROM unnest($1::text[], $2::bytea[]))",
                )
                .await?,
        })
    }
}

/// A write kept until commit: the new value, or `None` for a removal.
type Writes = BTreeMap<(Table, Vec<u8>), Option<Vec<u8>>>;

enum Op {
    Get(Table, Vec<u8>),
    Commit(Writes),
}

type Reply = Result<Option<Vec<u8>>, tokio_postgres::Error>;

/// One try of `f` in one transaction. `Err(None)` means it lost to another transaction
/// (a deadlock) and may be tried again.
pub(super) fn try_transaction(
    handle: &tokio::runtime::Handle,
    pool: &Pool,
    f: &dyn Fn(&dyn Txn) -> Result<(), StoreError>,
) -> Result<(), Option<StoreError>> {
    let (ops, inbox) = mpsc::unbounded_channel::<(Op, std_mpsc::SyncSender<Reply>)>();
    let (started_tx, started_rx) = std_mpsc::sync_channel::<Result<(), StoreError>>(1);
    let pool = pool.clone();
    handle.spawn(async move {
        let client = match pool.get().await {
            Ok(c) => c,
            Err(e) => {
                let _ = started_tx.send(Err(driver(e)));
                return;
            }
        };
        let statements = match Statements::prepare(&client).await {
            Ok(s) => s,
            Err(e) => {
                let _ = started_tx.send(Err(driver(e)));
                return;
            }
        };
        let _ = started_tx.send(Ok(()));
        serve(&client, &statements, inbox).await;
    });
    started_rx
        .recv()
        .map_err(|_| Some(backend("the store's runtime stopped")))?
        .map_err(Some)?;
    let txn = PgTxn {
        ops,
        writes: RefCell::new(BTreeMap::new()),
        conflict: std::cell::Cell::new(false),
    };
    let outcome = f(&txn);
    if txn.conflict.get() {
        return Err(None);
    }
    outcome.map_err(Some)?;
    let writes = txn.writes.take();
    match txn.send(Op::Commit(writes)) {
        Ok(_) => Ok(()),
        Err(_) if txn.conflict.get() => Err(None),
        Err(e) => Err(Some(e)),
    }
}

/// The connection's side: runs the closure's reads and the final commit, then leaves the
/// connection outside any transaction for the pool.
async fn serve(
    client: &Object,
    st: &Statements,
    mut inbox: mpsc::UnboundedReceiver<(Op, std_mpsc::SyncSender<Reply>)>,
) {
    let mut begun = false;
    while let Some((op, reply)) = inbox.recv().await {
        let result = match op {
            Op::Get(table, key) => {
                let lock = key_lock(table, &key);
                let name = table.name();
                // BEGIN (the first time), the lock and the read go out together; the
                // read runs after the lock is granted, so it sees the latest commit.
                let begin = async {
                    if begun {
                        Ok(())
                    } else {
                        client.batch_execute("BEGIN").await
                    }
                };
                let (lock_params, get_params): (&[&(dyn ToSql + Sync)], &[&(dyn ToSql + Sync)]) =
                    (&[&lock], &[&name, &key]);
                let (b, l, row) = tokio::join!(
                    begin,
                    client.execute(&st.lock, lock_params),
                    client.query_opt(&st.get, get_params)
                );
                begun = true;
                b.and(l)
                    .and(row)
                    .map(|row| row.map(|r| r.get::<_, Vec<u8>>(0)))
            }
            Op::Commit(writes) => {
                let result = commit(client, st, begun, writes).await;
                let _ = reply.send(result.map(|()| None));
                return;
            }
        };
        let failed = result.is_err();
        let _ = reply.send(result);
        if failed {
            // PostgreSQL has aborted the transaction; end it and give up the connection.
            let _ = client.batch_execute("ROLLBACK").await;
            return;
        }
    }
    // The closure returned an error (or panicked): nothing it wrote was sent.
    if begun {
        let _ = client.batch_execute("ROLLBACK").await;
    }
}

/// Locks every written key (in key order), writes, and commits: one round trip.
async fn commit(
    client: &Object,
    st: &Statements,
    begun: bool,
    writes: Writes,
) -> Result<(), tokio_postgres::Error> {
    if writes.is_empty() {
        return if begun {
            client.batch_execute("COMMIT").await
        } else {
            Ok(())
        };
    }
    let mut locks: Vec<i64> = writes.keys().map(|(t, k)| key_lock(*t, k)).collect();
    locks.sort_unstable();
    locks.dedup();
    let (mut put_tables, mut put_keys, mut put_values) = (Vec::new(), Vec::new(), Vec::new());
    let (mut remove_tables, mut remove_keys) = (Vec::new(), Vec::new());
    for ((table, key), value) in &writes {
        match value {
            Some(v) => {
                put_tables.push(table.name());
                put_keys.push(key.as_slice());
                put_values.push(v.as_slice());
            }
            None => {
                remove_tables.push(table.name());
                remove_keys.push(key.as_slice());
            }
        }
    }
    let begin = async {
        if begun {
            Ok(())
        } else {
            client.batch_execute("BEGIN").await
        }
    };
    let lock_params: &[&(dyn ToSql + Sync)] = &[&locks];
    let put_params: &[&(dyn ToSql + Sync)] = &[&put_tables, &put_keys, &put_values];
    let remove_params: &[&(dyn ToSql + Sync)] = &[&remove_tables, &remove_keys];
    // Empty halves are not sent; the rest go out in this order, COMMIT last.
    let put = async {
        if put_tables.is_empty() {
            Ok(0)
        } else {
            client.execute(&st.put_all, put_params).await
        }
    };
    let remove = async {
        if remove_tables.is_empty() {
            Ok(0)
        } else {
            client.execute(&st.remove_all, remove_params).await
        }
    };
    let (b, l, p, r, c) = tokio::join!(
        begin,
        client.query(&st.lock_all, lock_params),
        put,
        remove,
        // After a failed statement PostgreSQL answers COMMIT with a rollback; the
        // statement's own error is what is reported.
        client.batch_execute("COMMIT"),
    );
    b?;
    l?;
    p?;
    r?;
    c
}

/// The caller's side of a transaction: reads are round trips to the task holding the
/// connection; writes wait in `writes` for the commit.
struct PgTxn {
    ops: mpsc::UnboundedSender<(Op, std_mpsc::SyncSender<Reply>)>,
    writes: RefCell<Writes>,
    /// Set when PostgreSQL reported a deadlock: the try is void.
    conflict: std::cell::Cell<bool>,
}

impl PgTxn {
    fn send(&self, op: Op) -> Result<Option<Vec<u8>>, StoreError> {
        if self.conflict.get() {
            return Err(backend("transaction conflicted; it will be retried"));
        }
        let (tx, rx) = std_mpsc::sync_channel(1);
        self.ops
            .send((op, tx))
            .map_err(|_| backend("the transaction ended"))?;
        match rx.recv().map_err(|_| backend("the transaction ended"))? {
            Ok(value) => Ok(value),
            Err(e) => {
                if is_conflict(&e) {
                    self.conflict.set(true);
                }
                Err(driver(e))
            }
        }
    }
}

impl Txn for PgTxn {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(written) = self.writes.borrow().get(&(table, key.to_vec())) {
            return Ok(written.clone());
        }
        self.send(Op::Get(table, key.to_vec()))
    }

    fn put(&self, table: Table, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.writes
            .borrow_mut()
            .insert((table, key.to_vec()), Some(value.to_vec()));
        Ok(())
    }

    fn remove(&self, table: Table, key: &[u8]) -> Result<(), StoreError> {
        self.writes.borrow_mut().insert((table, key.to_vec()), None);
        Ok(())
    }

    /// Counters are records of `Table::Counters` holding a big-endian u64, as in sled, so
    /// `store copy` moves them byte for byte.
    fn next_id(&self, counter: &str) -> Result<u64, StoreError> {
        let current = self
            .get(Table::Counters, counter.as_bytes())?
            .and_then(|v| v.as_slice().try_into().ok().map(u64::from_be_bytes))
            .unwrap_or(0);
        let next = current + 1;
        self.put(Table::Counters, counter.as_bytes(), &next.to_be_bytes())?;
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_locks_are_stable_and_tell_tables_apart() {
        assert_eq!(
            key_lock(Table::Tickets, b"\0\0\0\0\0\0\0\x01"),
            key_lock(Table::Tickets, b"\0\0\0\0\0\0\0\x01")
        );
        assert_ne!(
            key_lock(Table::Tickets, b"1"),
            key_lock(Table::Counters, b"1")
        );
    }
}
