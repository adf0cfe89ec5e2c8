//! The web channel (axum): the investor chat at `/`, the staff console at `/staff`, the
//! admin page at `/admin`, and the JSON API under `/api/`. Pages are embedded in the
//! binary; no JavaScript build step.

mod error;
mod limits;

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

pub use error::ApiError;
use limits::RateLimiter;

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
    limiter: RateLimiter,
}

impl WebState {
    pub fn new(desk: Arc<Desk>, web: WebConfig, corpus_dir: std::path::PathBuf) -> Arc<WebState> {
        Arc::new(WebState {
            desk,
            web,
            corpus_dir,
            limiter: RateLimiter::default(),
        })
    }
}

type AppState = Arc<WebState>;

/// The whole web application.
pub fn app(state: AppState) -> Router {
    let max_body = state.web.max_body_bytes;
    Router::new()
        .route("/", get(|| page(include_str!("assets/chat.html"))))
        .route("/staff", get(|| page(include_str!("assets/staff.html"))))
        .route("/admin", get(|| page(include_str!("assets/admin.html"))))
        .route(
            "/api/health",
            get(|| async { Json(serde_json::json!({"ok": true})) }),
        )
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
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
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

/// The client's address, when the server was started with connection info.
struct ClientAddr(Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

// ---- investors ----

#[derive(Deserialize)]
struct PostMessage {
    text: String,
    #[serde(default)]
    profile: Option<InvestorInfo>,
}

/// The session's chat id, if the cookie names a live session.
async fn session_chat(state: &AppState, headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    // A single key lookup in memory-mapped sled: cheap enough to run on the async thread.
    Ok(state.desk.session_chat(&token)?)
}

async fn post_message(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let msg: PostMessage = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("expected JSON {{\"text\": \"…\"}}: {e}")))?;
    let max = state.desk.engine().config().max_question_chars;
    if msg.text.chars().count() > max {
        return Err(ApiError::TooLarge(format!(
            "消息过长：最多 {max} 字。Message too long: at most {max} characters."
        )));
    }
    let (chat, new_cookie) = match session_chat(&state, &headers).await? {
        Some(chat) => (chat, None),
        None => {
            let desk = state.desk.clone();
            let (token, chat) = blocking(move || Ok(desk.new_session()?)).await?;
            (chat, Some(token))
        }
    };
    let limits = &state.web;
    if !state
        .limiter
        .allow(&format!("s:{chat}"), limits.session_messages_per_minute)
    {
        return Err(ApiError::RateLimited);
    }
    if let Some(ip) = addr
        && !state
            .limiter
            .allow(&format!("a:{ip}"), limits.address_messages_per_minute)
    {
        return Err(ApiError::RateLimited);
    }
    let desk = state.desk.clone();
    let profile = msg.profile.unwrap_or_default();
    let inbound =
        blocking(move || Ok(desk.investor_message(WEB, &chat, &msg.text, &profile)?)).await?;
    let mut response = Json(serde_json::json!({
        "conversation": inbound.conversation,
        "state": inbound.state,
        "reply": inbound.reply,
    }))
    .into_response();
    if let Some(token) = new_cookie {
        response.headers_mut().insert(
            SET_COOKIE,
            set_cookie(SESSION_COOKIE, &token, 30 * 24 * 3600),
        );
    }
    Ok(response)
}

#[derive(Deserialize)]
struct After {
    #[serde(default)]
    after: u64,
}

async fn get_messages(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<After>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Some(chat) = session_chat(&state, &headers).await? else {
        return Ok(Json(
            serde_json::json!({"conversation": null, "state": "bot", "messages": []}),
        ));
    };
    let desk = state.desk.clone();
    blocking(move || {
        let id = format!("{WEB}:{chat}");
        let state = desk
            .conversation(&id)?
            .map(|c| c.owner.state())
            .unwrap_or("bot");
        let messages = desk.messages(&id, q.after)?;
        Ok(Json(
            serde_json::json!({"conversation": id, "state": state, "messages": messages}),
        ))
    })
    .await
}

#[derive(Deserialize)]
struct Feedback {
    seq: u64,
    vote: Vote,
}

async fn post_feedback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(f): Json<Feedback>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let chat = session_chat(&state, &headers)
        .await?
        .ok_or(ApiError::NotFound("conversation".into()))?;
    let desk = state.desk.clone();
    blocking(move || {
        desk.feedback(&format!("{WEB}:{chat}"), f.seq, f.vote)?;
        Ok(Json(serde_json::json!({"ok": true})))
    })
    .await
}

async fn post_cancel(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let chat = session_chat(&state, &headers)
        .await?
        .ok_or(ApiError::NotFound("conversation".into()))?;
    let desk = state.desk.clone();
    blocking(move || {
        let t = desk.cancel(&format!("{WEB}:{chat}"))?;
        Ok(Json(
            serde_json::json!({"cancelled": t.is_some(), "state": "bot"}),
        ))
    })
    .await
}

/// Live updates for one investor: an event whenever their conversation changes.
async fn investor_events(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let chat = session_chat(&state, &headers)
        .await?
        .ok_or(ApiError::NotFound("conversation".into()))?;
    let id = format!("{WEB}:{chat}");
    let stream = BroadcastStream::new(state.desk.subscribe()).filter_map(move |e| match e {
        Ok(e) if e.conversation == id => Some(Ok(Event::default().event("message").data(e.kind))),
        // A lagging receiver missed events: tell the page to refresh everything.
        Err(_) => Some(Ok(Event::default().event("message").data("refresh"))),
        _ => None,
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

// ---- staff ----

/// A signed-in staff member (Bearer token or the console's cookie).
struct StaffUser(StaffAccount);

impl FromRequestParts<AppState> for StaffUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let bearer = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_string());
        let token = bearer
            .or_else(|| cookie(&parts.headers, STAFF_COOKIE))
            .ok_or(ApiError::Unauthorized)?;
        let desk = state.desk.clone();
        let account = blocking(move || Ok(desk.authenticate(&token)?)).await?;
        account.map(StaffUser).ok_or(ApiError::Unauthorized)
    }
}

/// An admin (403 for a commissioner).
struct AdminUser(StaffAccount);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let StaffUser(account) = StaffUser::from_request_parts(parts, state).await?;
        if account.role == Role::Admin {
            Ok(AdminUser(account))
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

#[derive(Deserialize)]
struct Login {
    token: String,
}

async fn staff_login(
    State(state): State<AppState>,
    Json(l): Json<Login>,
) -> Result<Response, ApiError> {
    let desk = state.desk.clone();
    let token = l.token.trim().to_string();
    let t2 = token.clone();
    let account = blocking(move || Ok(desk.authenticate(&t2)?))
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let mut r =
        Json(serde_json::json!({"name": account.name, "role": account.role})).into_response();
    r.headers_mut()
        .insert(SET_COOKIE, set_cookie(STAFF_COOKIE, &token, 12 * 3600));
    Ok(r)
}

async fn staff_logout() -> Response {
    let mut r = Json(serde_json::json!({"ok": true})).into_response();
    r.headers_mut()
        .insert(SET_COOKIE, set_cookie(STAFF_COOKIE, "", 0));
    r
}

async fn me(StaffUser(a): StaffUser) -> Json<serde_json::Value> {
    Json(
        serde_json::json!({"name": a.name, "role": a.role, "regions": a.regions, "industries": a.industries}),
    )
}

async fn list_tickets(
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
) -> Result<Json<serde_json::Value>, ApiError> {
    let desk = state.desk.clone();
    blocking(move || {
        let now = desk.now();
        let mut tickets = desk.open_tickets()?;
        // Tickets routed to me first, then everyone's, oldest first within each.
        tickets.sort_by_key(|t| (!t.routed_to.contains(&me.name), t.opened_at));
        let rows: Vec<serde_json::Value> = tickets
            .iter()
            .map(|t| {
                let mut v = serde_json::to_value(t).unwrap_or_default();
                v["waiting_secs"] = serde_json::json!((now - t.opened_at) / 1000);
                v["since_last_reply_secs"] =
                    serde_json::json!(t.last_staff_reply_at.map(|r| (now - r) / 1000));
                v
            })
            .collect();
        Ok(Json(
            serde_json::json!({ "tickets": rows, "online": desk.online_names() }),
        ))
    })
    .await
}

async fn get_ticket(
    State(state): State<AppState>,
    _: StaffUser,
    Path(id): Path<u64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let desk = state.desk.clone();
    blocking(move || {
        let t = desk.ticket(id)?;
        let messages = desk.messages(&t.conversation, 0)?;
        Ok(Json(
            serde_json::json!({ "ticket": t, "messages": messages }),
        ))
    })
    .await
}

async fn claim(
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    Path(id): Path<u64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let desk = state.desk.clone();
    blocking(move || {
        Ok(Json(
            serde_json::json!({ "ticket": desk.claim(id, &me.name)? }),
        ))
    })
    .await
}

#[derive(Deserialize)]
struct ReplyBody {
    text: String,
}

async fn reply(
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    Path(id): Path<u64>,
    Json(b): Json<ReplyBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if b.text.chars().count() > 4000 {
        return Err(ApiError::TooLarge(
            "a reply is at most 4000 characters".into(),
        ));
    }
    let desk = state.desk.clone();
    blocking(move || {
        let (t, _) = desk.reply(id, &me.name, &b.text)?;
        Ok(Json(serde_json::json!({ "ticket": t })))
    })
    .await
}

async fn release(
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    Path(id): Path<u64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let desk = state.desk.clone();
    blocking(move || {
        Ok(Json(
            serde_json::json!({ "ticket": desk.release(id, &me.name)? }),
        ))
    })
    .await
}

async fn handback(
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    Path(id): Path<u64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let desk = state.desk.clone();
    blocking(move || {
        Ok(Json(
            serde_json::json!({ "ticket": desk.handback(id, &me.name)? }),
        ))
    })
    .await
}

async fn close(
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    Path(id): Path<u64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let desk = state.desk.clone();
    blocking(move || {
        Ok(Json(
            serde_json::json!({ "ticket": desk.close(id, &me.name)? }),
        ))
    })
    .await
}

/// Live updates for the console: every ticket and message event.
async fn staff_events(
    State(state): State<AppState>,
    _: StaffUser,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stream = BroadcastStream::new(state.desk.subscribe()).map(|e| {
        let data = match e {
            Ok(e) => serde_json::to_string(&e).unwrap_or_default(),
            Err(_) => "{\"kind\":\"refresh\"}".to_string(),
        };
        Ok(Event::default().event("desk").data(data))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

// ---- admin ----

async fn reindex(
    State(state): State<AppState>,
    AdminUser(me): AdminUser,
) -> Result<Json<serde_json::Value>, ApiError> {
    let desk = state.desk.clone();
    blocking(move || {
        tracing::info!(admin = %me.name, "re-index requested");
        match desk.engine().reindex(&mut |_, _| {}) {
            Ok(s) => Ok(Json(serde_json::json!({
                "ok": true, "generation": s.generation, "documents": s.documents,
                "passages": s.passages, "faqs": s.faqs, "millis": s.millis, "errors": []
            }))),
            Err(crate::engine::EngineError::Corpus(errors)) => Ok(Json(serde_json::json!({
                "ok": false,
                "errors": errors.iter().map(|e| serde_json::json!({
                    "path": e.path.display().to_string(), "line": e.line, "message": e.message
                })).collect::<Vec<_>>(),
                "serving": desk.engine().generation().name,
            }))),
            Err(e) => Ok(Json(serde_json::json!({
                "ok": false,
                "errors": [{"path": "", "line": 0, "message": e.to_string()}],
                "serving": desk.engine().generation().name,
            }))),
        }
    })
    .await
}

async fn unanswered(
    State(state): State<AppState>,
    _: AdminUser,
) -> Result<Json<serde_json::Value>, ApiError> {
    let desk = state.desk.clone();
    blocking(move || Ok(Json(serde_json::json!({ "groups": desk.unanswered()? })))).await
}

async fn stats(
    State(state): State<AppState>,
    _: AdminUser,
) -> Result<Json<serde_json::Value>, ApiError> {
    let desk = state.desk.clone();
    blocking(move || {
        Ok(Json(
            serde_json::to_value(desk.stats()?).unwrap_or_default(),
        ))
    })
    .await
}

#[derive(Deserialize)]
struct Draft {
    question: String,
    #[serde(default)]
    alternatives: Vec<String>,
    answer: String,
}

/// Writes a draft FAQ under `corpus/faqs/drafts/` for review; drafts are not indexed until
/// an admin moves them into `corpus/faqs/` and re-indexes.
async fn draft_faq(
    State(state): State<AppState>,
    AdminUser(me): AdminUser,
    Json(d): Json<Draft>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if d.question.trim().is_empty() || d.answer.trim().is_empty() {
        return Err(ApiError::BadRequest(
            "a draft needs a question and an answer".into(),
        ));
    }
    let dir = state
        .corpus_dir
        .join(crate::corpus::FAQS_DIR)
        .join("drafts");
    let desk = state.desk.clone();
    blocking(move || {
        let id = format!("draft-{}", desk.now());
        #[derive(serde::Serialize)]
        struct Entry<'a> {
            id: &'a str,
            question: &'a str,
            alternatives: &'a [String],
            answer: &'a str,
            sources: Vec<String>,
            tags: Vec<String>,
            lang: &'a str,
        }
        #[derive(serde::Serialize)]
        struct File<'a> {
            faq: Vec<Entry<'a>>,
        }
        let file = File {
            faq: vec![Entry {
                id: &id,
                question: d.question.trim(),
                alternatives: &d.alternatives,
                answer: d.answer.trim(),
                sources: Vec::new(),
                tags: vec!["draft".into()],
                lang: crate::text::detect_lang(&d.question).as_str(),
            }],
        };
        let text = format!(
            "# Draft by {} from an unanswered question. Add `sources`, review, then move into corpus/faqs/ and re-index.\n{}",
            me.name,
            toml::to_string(&file).map_err(|e| ApiError::Internal(e.to_string()))?
        );
        std::fs::create_dir_all(&dir).map_err(|e| ApiError::Internal(e.to_string()))?;
        let path = dir.join(format!("{id}.toml"));
        std::fs::write(&path, text).map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(Json(serde_json::json!({ "id": id, "path": path.display().to_string() })))
    })
    .await
}

/// Content type check used by tests of the pages.
pub fn is_html(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}
