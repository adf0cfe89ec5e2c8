//! The web channel (axum): the investor chat at `/`, the staff console at `/staff`, the
//! admin page at `/admin`, and the JSON API under `/api/`. Pages are embedded in the
//! binary; no JavaScript build step.

mod admin;
mod csrf;
mod error;
mod investor;
mod limits;
mod listener;
mod slots;
mod staff;

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::Stream;
use serde::Deserialize;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use admin::*;
pub use error::ApiError;
use investor::*;
use limits::Limits;
pub use listener::{ConnectionLimits, raise_descriptor_limit, serve};
use staff::*;

use crate::config::WebConfig;
use crate::desk::{Desk, InvestorInfo, Role, StaffAccount, Vote};

const SESSION_COOKIE: &str = "xiaoer_session";
const STAFF_COOKIE: &str = "xiaoer_staff";
const WEB: &str = "web";

pub struct WebState {
    pub desk: Arc<Desk>,
    pub web: WebConfig,
    /// Where admin "draft FAQ" files are written (`<corpus>/faqs/drafts/`).
    pub corpus_dir: std::path::PathBuf,
    limits: Limits,
    streams: slots::Slots,
}

impl WebState {
    pub fn new(desk: Arc<Desk>, web: WebConfig, corpus_dir: std::path::PathBuf) -> Arc<WebState> {
        Arc::new(WebState {
            desk,
            limits: Limits::new(&web),
            streams: Default::default(),
            web,
            corpus_dir,
        })
    }
}

type AppState = Arc<WebState>;
type ApiResult = Result<Json<serde_json::Value>, ApiError>;

/// The whole web application.
pub fn app(state: AppState) -> Router {
    let max_body = state.web.max_body_bytes;
    Router::new()
        .route("/", get(|| page(include_str!("assets/chat.html"))))
        .route("/staff", get(|| page(include_str!("assets/staff.html"))))
        .route("/admin", get(|| page(include_str!("assets/admin.html"))))
        .route("/api/health", get(health))
        .route("/api/messages", post(post_message).get(get_messages))
        .route("/api/feedback", post(post_feedback))
        .route("/api/cancel", post(post_cancel))
        .route("/api/events", get(investor_events))
        .route("/api/staff/login", post(staff_login))
        .route("/api/staff/logout", post(staff_logout))
        .route("/api/me", get(me))
        .route("/api/tickets", get(list_tickets))
        .route("/api/tickets/{id}", get(get_ticket))
        .route("/api/tickets/{id}/claim", post(claim))
        .route("/api/tickets/{id}/reply", post(reply))
        .route("/api/tickets/{id}/release", post(release))
        .route("/api/tickets/{id}/handback", post(handback))
        .route("/api/tickets/{id}/close", post(close))
        .route("/api/staff/events", get(staff_events))
        .route("/api/admin/reindex", post(reindex))
        .route("/api/admin/unanswered", get(unanswered))
        .route("/api/admin/drafts", post(draft_faq))
        .route("/api/admin/stats", get(stats))
        .route("/api/admin/staff", get(list_staff))
        .route("/api/admin/staff/{name}/disable", post(disable_staff))
        .route("/api/admin/staff/{name}/enable", post(enable_staff))
        .route(
            "/api/admin/staff/{name}/rotate-token",
            post(rotate_staff_token),
        )
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn(csrf::same_origin_writes))
        .layer(axum::middleware::map_response(error::json_errors))
        .with_state(state)
}

/// Ready when the store takes writes; 503 otherwise, so a balancer stops sending investors
/// here until space returns (the probe write in `store_ready` notices by itself).
async fn health(State(state): State<AppState>) -> Response {
    let desk = state.desk.clone();
    let ready = tokio::task::spawn_blocking(move || desk.store_ready())
        .await
        .unwrap_or(false);
    let body = Json(serde_json::json!({
        "ok": ready,
        "store": if ready { "ready" } else { "unavailable" },
        // Behind a balancer, which index each instance serves (they switch one by one).
        "generation": state.desk.engine().generation().name,
    }));
    if ready {
        body.into_response()
    } else {
        (axum::http::StatusCode::SERVICE_UNAVAILABLE, body).into_response()
    }
}

/// Pages: no caching of stale assets, and a policy that runs only our own inline script
/// (a message containing markup is shown as text, and could not load scripts anyway).
async fn page(html: &'static str) -> Response {
    let mut r = Html(html).into_response();
    let h = r.headers_mut();
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self'; connect-src 'self'; frame-ancestors 'none'",
        ),
    );
    r
}

/// Runs blocking desk work (transactions, fsync, search) off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn set_cookie(name: &str, value: &str, max_age_secs: u64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The client's address (`limits::client_address`), when the server was started with
/// connection info.
struct ClientAddr(Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(ClientAddr(limits::client_address(
            peer,
            &parts.headers,
            &state.web.trusted_proxies,
        )))
    }
}

/// Content type check used by tests of the pages.
pub fn is_html(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}
