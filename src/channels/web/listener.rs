//! Accepting connections so that one client cannot take the service down: a cap on
//! connections in all and per address, a header-read timeout that also closes idle
//! keep-alive connections (hyper starts it whenever it waits for a request head), and the
//! descriptor limit raised at start. axum's own `serve` has neither caps nor a timer.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::config::WebConfig;

/// What `serve` enforces, from `[web]`.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub max_per_address: usize,
    pub header_read_timeout: Duration,
    /// Addresses the per-address cap does not apply to (trusted proxies carry everyone).
    pub exempt: Vec<IpAddr>,
}

impl ConnectionLimits {
    pub fn from_config(web: &WebConfig) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: web.max_connections.max(1),
            max_per_address: web.max_connections_per_address.max(1),
            header_read_timeout: Duration::from_secs(web.header_read_timeout_secs.max(1)),
            exempt: web.trusted_proxies.clone(),
        }
    }
}

/// Raises the soft limit on open files to the hard limit, so the connection cap, not the
/// operating system, is what turns clients away. Returns the limit now in force.
pub fn raise_descriptor_limit() -> Option<u64> {
    rlimit::increase_nofile_limit(u64::MAX).ok()
}

/// Serves `app` on `listener` until `shutdown` completes. A connection over a cap is
/// closed at once, before anything is read from it.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let total = Arc::new(Semaphore::new(limits.max_connections));
    let per_address = super::slots::Slots::default();
    let mut last_complaint: Option<Instant> = None;
    let mut complain = |what: &str, detail: String| {
        // At most one line a second: a flood must not become a flood of log lines.
        if last_complaint.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
            tracing::warn!(%detail, "{what}");
            last_complaint = Some(Instant::now());
        }
    };
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors, most likely: wait for some to close.
                    complain("accept failed", e.to_string());
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = total.clone().try_acquire_owned() else {
            complain(
                "connection cap reached; closing new connections",
                peer.to_string(),
            );
            continue;
        };
        let slot = if limits.exempt.contains(&peer.ip()) {
            None
        } else {
            match per_address.take(&peer.ip().to_string(), limits.max_per_address) {
                Some(s) => Some(s),
                None => {
                    complain("per-address connection cap reached", peer.ip().to_string());
                    continue;
                }
            }
        };
        let app = app.clone();
        let timeout = limits.header_read_timeout;
        tokio::spawn(async move {
            let _held = (permit, slot);
            serve_connection(stream, peer, app, timeout).await;
        });
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    app: Router,
    header_read_timeout: Duration,
) {
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        app.clone().oneshot(req)
    });
    let result = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .serve_connection(TokioIo::new(stream), service)
        .await;
    if let Err(e) = result {
        // Timeouts and resets are a client's business, not an operator's.
        tracing::debug!(%peer, error = %e, "connection ended");
    }
}
