//! A store wrapper that remembers whether writes are failing (a full disk, a broken
//! device), so health checks can say so and recover by themselves once writes succeed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{Lease, Record, Store, StoreError, Table, Txn};

pub struct Watched {
    inner: Arc<dyn Store>,
    failing: AtomicBool,
}

/// The counter a readiness probe writes: a real write through the same path as messages.
const PROBE: &str = "readiness-probe";

impl Watched {
    pub fn new(inner: Arc<dyn Store>) -> Arc<Watched> {
        Arc::new(Watched {
            inner,
            failing: AtomicBool::new(false),
        })
    }

    /// Whether the store takes writes. After a failure this tries one durable write, so
    /// the answer turns back to yes as soon as space returns, without a restart.
    pub fn ready(&self) -> bool {
        if !self.failing.load(Ordering::SeqCst) {
            return true;
        }
        let probe = self
            .transaction(&|t| t.next_id(PROBE).map(|_| ()))
            .and_then(|()| self.durable());
        probe.is_ok()
    }

    fn note<T>(&self, r: Result<T, StoreError>) -> Result<T, StoreError> {
        match &r {
            Ok(_) => self.failing.store(false, Ordering::SeqCst),
            Err(e) => {
                if !self.failing.swap(true, Ordering::SeqCst) {
                    tracing::error!(error = %e, "store writes failing; answering 503 until they succeed");
                }
            }
        }
        r
    }
}

impl Store for Watched {
    fn transaction(
        &self,
        f: &dyn Fn(&dyn Txn) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.note(self.inner.transaction(f))
    }

    fn durable(&self) -> Result<(), StoreError> {
        self.note(self.inner.durable())
    }

    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(table, key)
    }

    fn scan_prefix(&self, table: Table, prefix: &[u8]) -> Result<Vec<Record>, StoreError> {
        self.inner.scan_prefix(table, prefix)
    }

    fn scan_from(
        &self,
        table: Table,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        self.inner.scan_from(table, prefix, from, limit)
    }

    fn shared(&self) -> bool {
        self.inner.shared()
    }

    fn reads_are_local(&self) -> bool {
        self.inner.reads_are_local()
    }

    fn publish(&self, message: &str) {
        self.inner.publish(message)
    }

    fn listen(&self, deliver: Box<dyn Fn(String) + Send + Sync>) {
        self.inner.listen(deliver)
    }

    fn try_lead(&self, role: &str) -> Result<Option<Lease>, StoreError> {
        self.inner.try_lead(role)
    }
}
