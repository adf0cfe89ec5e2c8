//! Investor routes: messages in the session's own conversation, feedback, cancel, and
//! the conversation's event stream.

use super::*;

#[derive(Deserialize)]
pub(super) struct PostMessage {
    text: String,
    #[serde(default)]
    profile: Option<InvestorInfo>,
}

/// The session's chat id, if the cookie names a live session.
pub(super) async fn session_chat(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<String>, ApiError> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    // A key lookup: in memory-mapped sled a few microseconds, cheaper than a hop to a
    // blocking thread; on PostgreSQL a round trip, which must not hold up async threads.
    if state.desk.store_reads_are_local() {
        return Ok(state.desk.session_chat(&token)?);
    }
    let desk = state.desk.clone();
    blocking(move || Ok(desk.session_chat(&token)?)).await
}

/// The desk's conversation id for a web chat.
fn conversation_of(chat: &str) -> String {
    format!("{WEB}:{chat}")
}

/// The conversation of the investor whose session cookie came with the request; for the
/// routes that make no sense without one.
async fn session_conversation(state: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    let chat = session_chat(state, headers)
        .await?
        .ok_or(ApiError::NotFound("conversation".into()))?;
    Ok(conversation_of(&chat))
}

pub(super) async fn post_message(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let msg: PostMessage = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("expected JSON {{\"text\": \"…\"}}: {e}")))?;
    if let Some(p) = &msg.profile {
        p.validate().map_err(ApiError::BadRequest)?;
    }
    let max = state.desk.engine().config().max_question_chars;
    if msg.text.chars().count() > max {
        return Err(ApiError::TooLarge(format!(
            "消息过长：最多 {max} 字。Message too long: at most {max} characters."
        )));
    }
    // Limits first, and a new session only for a message that passed them: a flood of
    // rejected cookie-less requests leaves nothing stored.
    let (chat, new_cookie) = match session_chat(&state, &headers).await? {
        Some(chat) => {
            if !state.limits.session_message(&chat) {
                return Err(ApiError::RateLimited);
            }
            (chat, None)
        }
        None => {
            if !state.limits.new_session(addr) {
                return Err(ApiError::RateLimited);
            }
            let desk = state.desk.clone();
            let (token, chat) = blocking(move || Ok(desk.new_session()?)).await?;
            // A new session's first message counts against it like any other.
            state.limits.session_message(&chat);
            (chat, Some(token))
        }
    };
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
pub(super) struct After {
    #[serde(default)]
    after: u64,
}

pub(super) async fn get_messages(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<After>,
) -> ApiResult {
    let Some(chat) = session_chat(&state, &headers).await? else {
        return Ok(Json(
            serde_json::json!({"conversation": null, "state": "bot", "messages": []}),
        ));
    };
    let desk = state.desk.clone();
    blocking(move || {
        let id = conversation_of(&chat);
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
pub(super) struct Feedback {
    seq: u64,
    vote: Vote,
}

pub(super) async fn post_feedback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(f): Json<Feedback>,
) -> ApiResult {
    let id = session_conversation(&state, &headers).await?;
    if !state.limits.feedback(&id) {
        return Err(ApiError::RateLimited);
    }
    let desk = state.desk.clone();
    blocking(move || {
        desk.feedback(&id, f.seq, f.vote)?;
        Ok(Json(serde_json::json!({"ok": true})))
    })
    .await
}

pub(super) async fn post_cancel(State(state): State<AppState>, headers: HeaderMap) -> ApiResult {
    let id = session_conversation(&state, &headers).await?;
    let desk = state.desk.clone();
    blocking(move || {
        let t = desk.cancel(&id)?;
        Ok(Json(
            serde_json::json!({"cancelled": t.is_some(), "state": "bot"}),
        ))
    })
    .await
}

/// Live updates for one investor: an event whenever their conversation changes.
pub(super) async fn investor_events(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let id = session_conversation(&state, &headers).await?;
    let slot = state
        .streams
        .take(&id, state.web.max_streams_per_session)
        .ok_or(ApiError::TooManyStreams)?;
    let stream = BroadcastStream::new(state.desk.subscribe()).filter_map(move |e| {
        // The slot lives as long as the stream: the page closing it frees the place.
        let _slot = &slot;
        match e {
            Ok(e) if e.conversation == id => {
                Some(Ok(Event::default().event("message").data(e.kind)))
            }
            // A lagging receiver missed events: tell the page to refresh everything.
            Err(_) => Some(Ok(Event::default().event("message").data("refresh"))),
            _ => None,
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
