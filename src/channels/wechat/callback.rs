//! The service account's callback (`GET`/`POST /wechat`): every request's signature checked,
//! safe-mode envelopes opened, each message taken in once however often WeChat redelivers
//! it, and the bot's answer given as the passive reply when it is ready in time.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::api::Api;
use super::choices::{self, Choice};
use super::config::WechatConfig;
use super::crypto::{AesKey, CryptoError, Keys, signature, verify};
use super::message::{Incoming, encrypted_reply, text_reply};
use crate::answer::Reply;
use crate::desk::{Desk, DeskError, InvestorInfo};

/// The channel name conversations are kept under (`wechat:<OpenID>`).
pub const CHANNEL: &str = "wechat";

/// WeChat waits 5 s for a reply, then redelivers; a reply ready within this is passive.
const PASSIVE_REPLY_WITHIN: Duration = Duration::from_secs(4);

/// A passive reply is one message of at most 2,048 bytes.
const MAX_REPLY_BYTES: usize = 2048;

/// Callback bodies are small XML documents.
const MAX_BODY_BYTES: usize = 64 * 1024;

pub struct WechatState {
    desk: Arc<Desk>,
    token: String,
    app_id: String,
    keys: Option<Keys>,
    /// Sends an answer that missed the passive-reply window (`with_api`).
    api: Option<Arc<Api>>,
    /// How long an answer may take to be the passive reply.
    reply_within: Duration,
}

impl WechatState {
    /// `None` when the config lacks what callbacks need (token and AppID); an unreadable
    /// EncodingAESKey is an error, so a typo is not discovered at the first message.
    pub fn new(desk: Arc<Desk>, config: &WechatConfig) -> Result<Option<WechatState>, CryptoError> {
        if !config.enabled() {
            return Ok(None);
        }
        let key = |k: &Option<String>| {
            k.as_deref()
                .filter(|k| !k.trim().is_empty())
                .map(AesKey::from_encoding_key)
                .transpose()
        };
        let keys = match key(&config.encoding_aes_key)? {
            Some(current) => Some(Keys {
                current,
                previous: key(&config.previous_encoding_aes_key)?,
            }),
            None => None,
        };
        Ok(Some(WechatState {
            desk,
            token: config.token.clone().unwrap_or_default(),
            app_id: config.app_id.clone().unwrap_or_default(),
            keys,
            api: None,
            reply_within: PASSIVE_REPLY_WITHIN,
        }))
    }

    /// With the customer-service API: an answer not ready for the passive reply is sent
    /// through it when it is.
    pub fn with_api(mut self, api: Arc<Api>) -> WechatState {
        self.api = Some(api);
        self
    }

    /// How long an answer may take to go back as the passive reply (4 s; tests shorten it).
    pub fn reply_within(mut self, within: Duration) -> WechatState {
        self.reply_within = within;
        self
    }
}

pub fn router(state: Arc<WechatState>) -> Router {
    Router::new()
        .route("/wechat", get(handshake).post(callback))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Signed {
    signature: String,
    timestamp: String,
    nonce: String,
    echostr: String,
    encrypt_type: String,
    msg_signature: String,
}

fn refused(why: CryptoError) -> Response {
    // The body may hold an investor's words: the log names the reason only.
    tracing::warn!("wechat callback refused: {why}");
    (StatusCode::UNAUTHORIZED, format!("wechat: {why}")).into_response()
}

fn plain(text: String) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
}

/// The server-configuration check: echo `echostr` when the signature is right.
async fn handshake(State(state): State<Arc<WechatState>>, Query(q): Query<Signed>) -> Response {
    match verify(&[&state.token, &q.timestamp, &q.nonce], &q.signature) {
        Ok(()) => plain(q.echostr),
        Err(e) => refused(e),
    }
}

async fn callback(
    State(state): State<Arc<WechatState>>,
    Query(q): Query<Signed>,
    body: Bytes,
) -> Response {
    if let Err(e) = verify(&[&state.token, &q.timestamp, &q.nonce], &q.signature) {
        return refused(e);
    }
    let Ok(body) = std::str::from_utf8(&body) else {
        return (StatusCode::BAD_REQUEST, "wechat: body is not UTF-8").into_response();
    };
    let safe_mode = q.encrypt_type.eq_ignore_ascii_case("aes");
    let message = match open(&state, &q, body, safe_mode) {
        Ok(m) => m,
        Err(Opened::Refused(e)) => return refused(e),
        Err(Opened::Unreadable(e)) => return (StatusCode::BAD_REQUEST, e).into_response(),
    };
    if is_subscribe(&message) {
        // WeChat does not say the follower's language: the greeting is in both.
        return passive(&state, &q, safe_mode, &message, &greeting());
    }
    let Some(text) = what_the_investor_said(&message) else {
        return plain("success".into());
    };
    let desk = state.desk.clone();
    let (openid, delivery) = (message.from_user_name.clone(), message.delivery_id());
    let work = tokio::task::spawn_blocking(move || -> Result<Outcome, DeskError> {
        let conversation = format!("{CHANNEL}:{openid}");
        let text = match choice_of(&desk, &conversation, &text)? {
            Choice::Rating { seq, vote } => {
                // Rating the same answer twice (a redelivery) just sets the same vote.
                desk.feedback(&conversation, seq, vote)?;
                return Ok(Outcome::Rated);
            }
            Choice::Option(title) => title,
            Choice::Text => text,
        };
        desk.investor_message_once(
            CHANNEL,
            &openid,
            &text,
            &InvestorInfo::default(),
            Some(&delivery),
        )
        .map(|inbound| Outcome::Taken(Box::new(inbound)))
    });
    let mut work = work;
    // A zero window means "never passive" (the timer's millisecond tick would otherwise let
    // a quick answer through).
    let waited = if state.reply_within.is_zero() {
        None
    } else {
        tokio::time::timeout(state.reply_within, &mut work)
            .await
            .ok()
    };
    let outcome = match waited {
        Some(Ok(Ok(outcome))) => outcome,
        Some(Ok(Err(e))) => {
            // Not acknowledged: WeChat redelivers, and the desk takes it in once.
            tracing::warn!("wechat message not taken in: {e}");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
        }
        Some(Err(e)) => {
            tracing::warn!("wechat message task failed: {e}");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
        }
        // Still working: acknowledged now, the answer follows through the API (and a
        // redelivery meanwhile gets the stored answer, once it is stored).
        None => {
            if let Some(api) = state.api.clone() {
                let openid = message.from_user_name.clone();
                tokio::spawn(async move {
                    // "Typing…" until the answer comes (WeChat shows it up to 15 s).
                    if let Err(e) = api.typing(&openid).await {
                        tracing::debug!(error = %e, "wechat typing indicator not shown");
                    }
                    let text = match work.await {
                        Ok(Ok(Outcome::Taken(inbound))) => inbound.reply.as_ref().map(reply_text),
                        Ok(Ok(Outcome::Rated)) => Some(choices::thanks().to_string()),
                        _ => None,
                    };
                    for part in text
                        .iter()
                        .flat_map(|t| super::api::split_bytes(t, MAX_REPLY_BYTES))
                    {
                        if let Err(e) = api.send_text(&openid, &part).await {
                            tracing::warn!(error = %e, "wechat answer not delivered");
                            break;
                        }
                    }
                });
            }
            return plain("success".into());
        }
    };
    let inbound = match outcome {
        Outcome::Taken(inbound) => *inbound,
        Outcome::Rated => return passive(&state, &q, safe_mode, &message, choices::thanks()),
    };
    let Some(reply) = inbound.reply else {
        // A commissioner owns the conversation: the bot stays silent.
        return plain("success".into());
    };
    passive(&state, &q, safe_mode, &message, &reply_text(&reply))
}

/// What became of an investor's message.
enum Outcome {
    /// Taken in by the desk (answered, handed off, or waiting for a person).
    Taken(Box<crate::desk::Inbound>),
    /// A rating of the bot's last answer, recorded.
    Rated,
}

/// Whether `text` answers the bot's last message (a clarify number, a rating). Only short
/// texts can, so a question costs no read of the conversation.
fn choice_of(desk: &Desk, conversation: &str, text: &str) -> Result<Choice, DeskError> {
    if text.trim().chars().count() > 12 {
        return Ok(Choice::Text);
    }
    let messages = desk.messages(conversation, 0)?;
    Ok(choices::read(text, &messages))
}

/// `text` as the passive reply to `message`, sealed in safe mode.
fn passive(
    state: &WechatState,
    q: &Signed,
    safe_mode: bool,
    message: &Incoming,
    text: &str,
) -> Response {
    let now = chrono::Utc::now().timestamp().max(0) as u64;
    let xml = text_reply(&message.from_user_name, &message.to_user_name, now, text);
    match (&state.keys, safe_mode) {
        (Some(keys), true) => {
            let sealed = keys.current.encrypt(&xml, &state.app_id);
            let sig = signature(&[&state.token, &q.timestamp, &q.nonce, &sealed]);
            xml_response(encrypted_reply(&sealed, &sig, &q.timestamp, &q.nonce))
        }
        _ => xml_response(xml),
    }
}

fn is_subscribe(m: &Incoming) -> bool {
    m.msg_type == "event" && m.event.eq_ignore_ascii_case("subscribe")
}

/// The bot's greeting in Chinese, then in English.
fn greeting() -> String {
    use crate::answer::SmallTalk;
    use crate::text::Lang;
    let zh = crate::answer::reply::smalltalk("", SmallTalk::Greeting, Lang::Zh).text;
    let en = crate::answer::reply::smalltalk("", SmallTalk::Greeting, Lang::En).text;
    format!("{zh}\n\n{en}")
}

fn xml_response(xml: String) -> Response {
    (
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        xml,
    )
        .into_response()
}

enum Opened {
    Refused(CryptoError),
    Unreadable(String),
}

/// The message a callback carries, out of its safe-mode envelope when it has one.
fn open(state: &WechatState, q: &Signed, body: &str, safe_mode: bool) -> Result<Incoming, Opened> {
    let outer = Incoming::parse(body).map_err(Opened::Unreadable)?;
    if !safe_mode {
        return Ok(outer);
    }
    let (Some(keys), Some(sealed)) = (&state.keys, outer.encrypt.as_deref()) else {
        return Err(Opened::Unreadable(
            "wechat: safe mode needs an EncodingAESKey and an Encrypt field".into(),
        ));
    };
    verify(
        &[&state.token, &q.timestamp, &q.nonce, sealed],
        &q.msg_signature,
    )
    .map_err(Opened::Refused)?;
    let inner = keys
        .decrypt(sealed, &state.app_id)
        .map_err(Opened::Refused)?;
    Incoming::parse(&inner).map_err(Opened::Unreadable)
}

/// The text the desk should take: a text message's content, "转人工" for the menu's
/// hand-off button, a greeting request on subscribe; `None` for what needs no answer.
fn what_the_investor_said(m: &Incoming) -> Option<String> {
    match m.msg_type.as_str() {
        "text" => Some(m.content.clone()),
        "event" => match m.event.to_ascii_lowercase().as_str() {
            "click" if is_person_key(&m.event_key) => Some("转人工".into()),
            "click" if !m.event_key.trim().is_empty() => Some(m.event_key.clone()),
            _ => None,
        },
        // Pictures, voice, locations: the bot reads text; the desk still tells them so.
        _ => Some(String::new()),
    }
}

fn is_person_key(key: &str) -> bool {
    matches!(
        key.trim().to_ascii_lowercase().as_str(),
        "转人工" | "human" | "handoff"
    )
}

/// The reply as plain text: the answer, then its first sources with their links, cut at a
/// sentence end to fit one passive reply.
fn reply_text(reply: &Reply) -> String {
    let mut text = reply.text.clone();
    if reply.kind == crate::answer::Kind::Answer {
        let zh = crate::text::detect_lang(&reply.text) == crate::text::Lang::Zh;
        let mut shown: Vec<String> = Vec::new();
        for s in &reply.sources {
            // A FAQ and the policy passage it rests on cite the same document: once.
            let citation = s.citation(zh);
            if shown.contains(&citation) {
                continue;
            }
            if shown.len() == 2 {
                break;
            }
            shown.push(citation.clone());
            let mut line = format!("\n{}{citation}", if zh { "来源：" } else { "Source: " });
            if !s.url.is_empty() {
                line.push(' ');
                line.push_str(&s.url);
            }
            text.push_str(&line);
        }
        if !reply.sources.is_empty() {
            text.push('\n');
            text.push_str(choices::rating_hint(zh));
        }
    }
    fit_bytes(&text, MAX_REPLY_BYTES)
}

/// `text` within `max` UTF-8 bytes: its first piece as `split_bytes` cuts it (after a
/// sentence end where one fits), with an ellipsis when something was left out.
fn fit_bytes(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let first = super::api::split_bytes(text, max - "…".len())
        .into_iter()
        .next()
        .unwrap_or_default();
    format!("{first}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_replies_are_cut_at_a_sentence_end_within_2048_bytes() {
        let text = "这是一句话。".repeat(200);
        let cut = fit_bytes(&text, MAX_REPLY_BYTES);
        assert!(cut.len() <= MAX_REPLY_BYTES, "{}", cut.len());
        assert!(cut.ends_with("。…"), "{cut}");
        assert_eq!(fit_bytes("short", MAX_REPLY_BYTES), "short");
        let unbroken = "字".repeat(1000);
        assert!(fit_bytes(&unbroken, MAX_REPLY_BYTES).len() <= MAX_REPLY_BYTES);
    }

    #[test]
    fn menu_clicks_and_subscriptions_become_what_the_desk_reads() {
        let event = |event: &str, key: &str| Incoming {
            msg_type: "event".into(),
            event: event.into(),
            event_key: key.into(),
            ..Incoming::default()
        };
        assert_eq!(
            what_the_investor_said(&event("CLICK", "转人工")).as_deref(),
            Some("转人工")
        );
        assert_eq!(
            what_the_investor_said(&event("CLICK", "HUMAN")).as_deref(),
            Some("转人工")
        );
        assert!(is_subscribe(&event("subscribe", "")));
        assert!(greeting().contains("转人工") && greeting().contains("human"));
        assert_eq!(what_the_investor_said(&event("unsubscribe", "")), None);
        assert_eq!(what_the_investor_said(&event("VIEW", "")), None);
    }
}
