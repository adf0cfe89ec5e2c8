//! What PostgreSQL carries between instances besides records: notifications (desk events
//! and re-indexes, over LISTEN/NOTIFY) and leases on roles only one instance may hold
//! (session advisory locks).

use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use deadpool_postgres::Pool;
use tokio::sync::mpsc;
use tokio_postgres::NoTls;

use super::pg_txn::{backend, driver};
use super::{Lease, StoreError};

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
pub(super) async fn listen_forever(
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

/// Sends this instance's notifications: one task, which takes every message queued while
/// the previous statement ran and NOTIFYs them in one statement (the same hint twice
/// once), so a busy desk costs PostgreSQL a statement per batch, not per event.
pub(super) struct Publisher {
    queue: mpsc::UnboundedSender<String>,
}

/// The most notifications one statement carries.
const BATCH: usize = 256;

impl Publisher {
    pub(super) fn start(
        handle: &tokio::runtime::Handle,
        pool: Pool,
        instance: String,
    ) -> Publisher {
        let (queue, mut inbox) = mpsc::unbounded_channel::<String>();
        handle.spawn(async move {
            while let Some(first) = inbox.recv().await {
                let mut batch = vec![first];
                while batch.len() < BATCH {
                    match inbox.try_recv() {
                        Ok(m) => batch.push(m),
                        Err(_) => break,
                    }
                }
                batch.sort_unstable();
                batch.dedup();
                let payloads: Vec<String> =
                    batch.iter().map(|m| format!("{instance}:{m}")).collect();
                let sent = async {
                    let client = pool.get().await.map_err(driver)?;
                    let notify = client
                        .prepare_cached("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p")
                        .await
                        .map_err(driver)?;
                    client
                        .execute(&notify, &[&CHANNEL, &payloads])
                        .await
                        .map_err(driver)
                };
                if let Err(e) = sent.await {
                    tracing::warn!(error = %e, events = payloads.len(), "desk events not sent to other instances");
                }
            }
        });
        Publisher { queue }
    }

    /// Queues `message` for the other instances; never waits.
    pub(super) fn publish(&self, message: &str) {
        let _ = self.queue.send(message.to_string());
    }
}

/// A lease on `role`, or none while another instance holds it.
pub(super) fn try_lead(
    handle: &tokio::runtime::Handle,
    pool: &Pool,
    role: &str,
) -> Result<Option<Lease>, StoreError> {
    let (pool, key) = (pool.clone(), role_key(role));
    let held = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let watch = held.clone();
    let (tx, rx) = std_mpsc::sync_channel(1);
    let task = handle.spawn(async move {
        let attempt = async {
            let client = deadpool_postgres::Object::take(pool.get().await.map_err(driver)?);
            let row = client
                .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
                .await
                .map_err(driver)?;
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

/// Ends the task holding a lease (and so its connection and lock) when the lease goes.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
