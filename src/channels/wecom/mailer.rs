//! What the app sends staff, one queue per recipient: WeCom lets an app send one person 30
//! messages a minute and refuses the rest, so a burst of new tickets would lose cards.
//! Each recipient's messages wait their turn instead (`window`), in order, and the wait is
//! logged.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::api::{Api, Outgoing};
use super::window::SendWindow;

/// WeCom's limit: messages an app may send one person in `WINDOW`.
pub const PER_MINUTE: usize = 30;
const WINDOW: Duration = Duration::from_secs(60);

struct Queue {
    tx: mpsc::UnboundedSender<Outgoing>,
    /// Messages handed in and not yet sent (or failed).
    pending: Arc<AtomicUsize>,
}

pub struct Mailer {
    api: Arc<Api>,
    limit: usize,
    window: Duration,
    queues: Mutex<HashMap<String, Queue>>,
}

impl Mailer {
    /// WeCom's own limit: 30 a minute per person.
    pub fn new(api: Arc<Api>) -> Arc<Mailer> {
        Mailer::with_limit(api, PER_MINUTE, WINDOW)
    }

    /// At most `limit` messages per recipient in any `window` (tests use a small one).
    pub fn with_limit(api: Arc<Api>, limit: usize, window: Duration) -> Arc<Mailer> {
        Arc::new(Mailer {
            api,
            limit: limit.max(1),
            window,
            queues: Mutex::new(HashMap::new()),
        })
    }

    /// Queues `message` for `user` (a WeCom UserID); it is sent as soon as the limit
    /// allows. Must be called within the runtime (a new recipient gets a sending task).
    pub fn send(&self, user: &str, message: Outgoing) {
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        let queue = queues.entry(user.to_string()).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            let pending = Arc::new(AtomicUsize::new(0));
            tokio::spawn(deliver(
                self.api.clone(),
                user.to_string(),
                rx,
                pending.clone(),
                self.limit,
                self.window,
            ));
            Queue { tx, pending }
        });
        queue.pending.fetch_add(1, Ordering::SeqCst);
        if queue.tx.send(message).is_err() {
            // The task is gone only if the runtime is shutting down.
            queue.pending.fetch_sub(1, Ordering::SeqCst);
            tracing::warn!("wecom message not sent: the sender has stopped");
        }
    }

    /// Messages for `user` not yet sent.
    pub fn pending(&self, user: &str) -> usize {
        self.queues
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(user)
            .map_or(0, |q| q.pending.load(Ordering::SeqCst))
    }
}

/// Sends one recipient's messages in order, never more than `limit` in a `window`.
async fn deliver(
    api: Arc<Api>,
    user: String,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    pending: Arc<AtomicUsize>,
    limit: usize,
    window: Duration,
) {
    let mut sent = SendWindow::new(limit, window);
    while let Some(message) = rx.recv().await {
        let wait = sent.wait(Instant::now());
        if !wait.is_zero() {
            tracing::info!(
                recipient = %user,
                queued = pending.load(Ordering::SeqCst),
                wait_ms = wait.as_millis() as u64,
                "wecom message queued: the per-person limit ({limit} per {}s) is reached",
                window.as_secs()
            );
            tokio::time::sleep(wait).await;
        }
        if let Err(e) = api.send(&user, &message).await {
            tracing::warn!(recipient = %user, error = %e, "wecom message not delivered");
        }
        sent.record(Instant::now());
        pending.fetch_sub(1, Ordering::SeqCst);
    }
}
