//! The store on sled 0.34: one tree per table, multi-tree transactions, and group commit
//! (one background flush serves every caller waiting at that moment).

use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use sled::{Db, Transactional, Tree};

use super::{Record, Store, StoreError, Table, Txn};

pub struct SledStore {
    db: Db,
    trees: Vec<Tree>,
    flusher: Mutex<mpsc::Sender<mpsc::Sender<Result<(), String>>>>,
    /// The group-commit thread, joined on drop: it holds a handle on the database, and
    /// sled's lock on the directory lasts until every handle is gone.
    flush_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Drop for SledStore {
    fn drop(&mut self) {
        let _ = self.db.flush();
        // Closing the channel ends the thread's loop; then it lets go of the database.
        let (closed, _) = mpsc::channel();
        drop(std::mem::replace(
            self.flusher.get_mut().unwrap_or_else(|e| e.into_inner()),
            closed,
        ));
        if let Some(thread) = self
            .flush_thread
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            let _ = thread.join();
        }
    }
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn index(table: Table) -> usize {
    Table::ALL.iter().position(|t| *t == table).unwrap_or(0)
}

impl SledStore {
    pub fn open(dir: &Path) -> Result<Arc<SledStore>, StoreError> {
        std::fs::create_dir_all(dir).map_err(backend)?;
        let db = sled::Config::new()
            .path(dir)
            .mode(sled::Mode::HighThroughput)
            .open()
            .map_err(backend)?;
        let trees = Table::ALL
            .iter()
            .map(|t| db.open_tree(t.name()).map_err(backend))
            .collect::<Result<Vec<_>, _>>()?;
        let (tx, rx) = mpsc::channel::<mpsc::Sender<Result<(), String>>>();
        let flush_db = db.clone();
        let flush_thread = std::thread::Builder::new()
            .name("xiaoer-flush".into())
            .spawn(move || {
                // Group commit: wait for one request, take every other one queued behind
                // it, flush once, answer them all.
                while let Ok(first) = rx.recv() {
                    let mut waiters = vec![first];
                    waiters.extend(rx.try_iter());
                    let result = flush_db.flush().map(|_| ()).map_err(|e| e.to_string());
                    for w in waiters {
                        let _ = w.send(result.clone());
                    }
                }
            })
            .map_err(backend)?;
        Ok(Arc::new(SledStore {
            db,
            trees,
            flusher: Mutex::new(tx),
            flush_thread: Mutex::new(Some(flush_thread)),
        }))
    }
}

struct SledTxn<'a> {
    trees: &'a [TransactionalTree],
}

fn abort(e: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(e)
}

impl Txn for SledTxn<'_> {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.trees[index(table)]
            .get(key)
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(backend)
    }

    fn put(&self, table: Table, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.trees[index(table)]
            .insert(key, value)
            .map(|_| ())
            .map_err(backend)
    }

    fn remove(&self, table: Table, key: &[u8]) -> Result<(), StoreError> {
        self.trees[index(table)]
            .remove(key)
            .map(|_| ())
            .map_err(backend)
    }

    fn next_id(&self, counter: &str) -> Result<u64, StoreError> {
        let tree = &self.trees[index(Table::Counters)];
        let current = tree
            .get(counter.as_bytes())
            .map_err(backend)?
            .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes))
            .unwrap_or(0);
        let next = current + 1;
        tree.insert(counter.as_bytes(), &next.to_be_bytes())
            .map_err(backend)?;
        Ok(next)
    }
}

impl Store for SledStore {
    fn transaction(
        &self,
        f: &dyn Fn(&dyn Txn) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let result = self.trees.as_slice().transaction(|trees| {
            let txn = SledTxn { trees };
            f(&txn).map_err(abort)
        });
        match result {
            Ok(()) => Ok(()),
            Err(TransactionError::Abort(e)) => Err(e),
            Err(TransactionError::Storage(e)) => Err(backend(e)),
        }
    }

    fn durable(&self) -> Result<(), StoreError> {
        let (tx, rx) = mpsc::channel();
        self.flusher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(tx)
            .map_err(|_| backend("flusher stopped"))?;
        rx.recv()
            .map_err(|_| backend("flusher stopped"))?
            .map_err(StoreError::Backend)
    }

    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.trees[index(table)]
            .get(key)
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(backend)
    }

    fn scan_prefix(&self, table: Table, prefix: &[u8]) -> Result<Vec<Record>, StoreError> {
        self.trees[index(table)]
            .scan_prefix(prefix)
            .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(backend))
            .collect()
    }

    fn scan_from(
        &self,
        table: Table,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        // Start at the prefix when `from` sorts before it: the keys in between do not
        // start with it and would end the scan before it began.
        let start = from.max(prefix);
        self.trees[index(table)]
            .range(start..)
            .take_while(|r| {
                r.as_ref()
                    .map(|(k, _)| k.starts_with(prefix))
                    .unwrap_or(true)
            })
            .take(limit)
            .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(backend))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_the_store_lets_go_of_the_directory_at_once() {
        let dir = tempfile::tempdir().unwrap();
        for _ in 0..3 {
            let store = SledStore::open(dir.path()).unwrap();
            store.transaction(&|t| t.next_id("n").map(|_| ())).unwrap();
            store.durable().unwrap();
            drop(store);
            // What `store copy` and `staff` do next: open it in another handle at once.
            let file = std::fs::File::open(dir.path().join("db")).unwrap();
            assert!(file.try_lock().is_ok(), "sled's lock outlived the store");
        }
    }

    #[test]
    fn transactions_are_atomic_and_counters_count() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        store
            .transaction(&|t| {
                assert_eq!(t.next_id("ticket")?, 1);
                t.put(Table::Tickets, b"1", b"{}")?;
                t.put(Table::Audit, b"a", b"x")
            })
            .unwrap();
        let failed = store.transaction(&|t| {
            t.put(Table::Tickets, b"2", b"{}")?;
            Err(StoreError::Backend("changed my mind".into()))
        });
        assert!(failed.is_err());
        assert!(store.get(Table::Tickets, b"2").unwrap().is_none());
        store.durable().unwrap();
        store
            .transaction(&|t| {
                assert_eq!(t.next_id("ticket")?, 2);
                Ok(())
            })
            .unwrap();
    }
}
