//! Staff routes: sign-in, the ticket queue and the actions on a ticket, live events.
//! Every one needs a commissioner (or admin) token.

use super::*;

/// A signed-in staff member (Bearer token or the console's cookie).
pub(super) struct StaffUser(pub(super) StaffAccount);

impl FromRequestParts<AppState> for StaffUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let bearer = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_string());
        let desk = state.desk.clone();
        let account = match (bearer, cookie(&parts.headers, STAFF_COOKIE)) {
            // Tools: the API token itself.
            (Some(token), _) => blocking(move || Ok(desk.authenticate(&token)?)).await?,
            // The console: a server-side session the cookie names.
            (None, Some(session)) => blocking(move || Ok(desk.console_session(&session)?)).await?,
            (None, None) => None,
        };
        account.map(StaffUser).ok_or(ApiError::Unauthorized)
    }
}

/// An admin (403 for a commissioner).
pub(super) struct AdminUser(pub(super) StaffAccount);

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

/// `{"token"}` (an API token) or `{"name", "password"}`.
#[derive(Deserialize)]
pub(super) struct Login {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

pub(super) async fn staff_login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Json(l): Json<Login>,
) -> Result<Response, ApiError> {
    // Guessing passwords or tokens costs a minute per few tries from one address.
    if !state.limits.sign_in(addr) {
        return Err(ApiError::RateLimited);
    }
    let desk = state.desk.clone();
    let (account, session) = blocking(move || {
        let account = match (&l.token, &l.name, &l.password) {
            (Some(token), _, _) if !token.trim().is_empty() => desk.authenticate(token.trim())?,
            (_, Some(name), Some(password)) => desk.sign_in(name, password)?,
            _ => None,
        };
        let Some(account) = account else {
            return Ok((None, String::new()));
        };
        let session = desk.open_console_session(&account)?;
        Ok((Some(account), session))
    })
    .await?;
    let account = account.ok_or(ApiError::Unauthorized)?;
    let mut r =
        Json(serde_json::json!({"name": account.name, "role": account.role})).into_response();
    let hours = state.desk.config().console_session_hours;
    r.headers_mut().insert(
        SET_COOKIE,
        staff_cookie(&session, hours * 3600, served_over_https(&headers)),
    );
    Ok(r)
}

/// Signing out ends the server-side session: the cookie stops working everywhere, not
/// only in this browser.
pub(super) async fn staff_logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(session) = cookie(&headers, STAFF_COOKIE) {
        let desk = state.desk.clone();
        blocking(move || Ok(desk.close_console_session(&session)?)).await?;
    }
    let mut r = Json(serde_json::json!({"ok": true})).into_response();
    r.headers_mut()
        .insert(SET_COOKIE, staff_cookie("", 0, served_over_https(&headers)));
    Ok(r)
}

/// Whether the browser reached us over HTTPS (through a proxy that says so): then the
/// console cookie is `Secure` and never travels over plain HTTP.
fn served_over_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

fn staff_cookie(value: &str, max_age_secs: u64, secure: bool) -> HeaderValue {
    let c = set_cookie(STAFF_COOKIE, value, max_age_secs);
    if !secure {
        return c;
    }
    HeaderValue::from_str(&format!("{}; Secure", c.to_str().unwrap_or_default())).unwrap_or(c)
}

pub(super) async fn me(StaffUser(a): StaffUser) -> Json<serde_json::Value> {
    Json(
        serde_json::json!({"name": a.name, "role": a.role, "regions": a.regions, "industries": a.industries}),
    )
}

pub(super) async fn list_tickets(
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
) -> ApiResult {
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

pub(super) async fn get_ticket(
    State(state): State<AppState>,
    _: StaffUser,
    Path(id): Path<u64>,
) -> ApiResult {
    let desk = state.desk.clone();
    blocking(move || {
        let t = desk.ticket(id)?;
        let messages = desk.messages(&t.conversation, 0)?;
        // Replies the channel refused (WeChat's closed 48-hour window), until the
        // investor writes again.
        let undelivered = desk.undelivered_in(&t.conversation, &messages)?;
        Ok(Json(
            serde_json::json!({ "ticket": t, "messages": messages, "undelivered": undelivered }),
        ))
    })
    .await
}

/// A ticket action that takes no body: run it as the signed-in commissioner.
pub(super) async fn ticket_action(
    state: AppState,
    me: StaffAccount,
    id: u64,
    action: fn(&Desk, u64, &str) -> Result<crate::desk::Ticket, crate::desk::DeskError>,
) -> ApiResult {
    let desk = state.desk.clone();
    blocking(move || {
        Ok(Json(
            serde_json::json!({ "ticket": action(&desk, id, &me.name)? }),
        ))
    })
    .await
}

pub(super) async fn claim(
    State(s): State<AppState>,
    StaffUser(me): StaffUser,
    Path(id): Path<u64>,
) -> ApiResult {
    ticket_action(s, me, id, Desk::claim).await
}

pub(super) async fn release(
    State(s): State<AppState>,
    StaffUser(me): StaffUser,
    Path(id): Path<u64>,
) -> ApiResult {
    ticket_action(s, me, id, Desk::release).await
}

pub(super) async fn handback(
    State(s): State<AppState>,
    StaffUser(me): StaffUser,
    Path(id): Path<u64>,
) -> ApiResult {
    ticket_action(s, me, id, Desk::handback).await
}

pub(super) async fn close(
    State(s): State<AppState>,
    StaffUser(me): StaffUser,
    Path(id): Path<u64>,
) -> ApiResult {
    ticket_action(s, me, id, Desk::close).await
}

#[derive(Deserialize)]
pub(super) struct ReplyBody {
    text: String,
}

pub(super) async fn reply(
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    Path(id): Path<u64>,
    Json(b): Json<ReplyBody>,
) -> ApiResult {
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

/// Live updates for the console: every ticket and message event.
pub(super) async fn staff_events(
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let slot = state
        .streams
        .take(
            &format!("staff:{}", me.name),
            state.web.max_streams_per_session,
        )
        .ok_or(ApiError::TooManyStreams)?;
    let stream = BroadcastStream::new(state.desk.subscribe()).map(move |e| {
        // The slot lives as long as the stream: the client closing it frees the place.
        let _slot = &slot;
        let data = match e {
            Ok(e) => serde_json::to_string(&e).unwrap_or_default(),
            Err(_) => "{\"kind\":\"refresh\"}".to_string(),
        };
        Ok(Event::default().event("desk").data(data))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
