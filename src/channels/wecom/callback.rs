//! The app's callback (`GET`/`POST /wecom`): the URL check with its encrypted `echostr`,
//! and commissioners' messages, each signature-checked and opened with the same envelope
//! as WeChat's safe mode (sealed to the CorpID), taken in once however often WeCom
//! redelivers, acted on through the desk, and answered through `message/send`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::api::Outgoing;
use super::command::{Command, HELP};
use super::config::WecomConfig;
use super::mailer::Mailer;
use crate::channels::wechat::crypto::{AesKey, CryptoError, verify};
use crate::channels::wechat::message::Incoming;
use crate::desk::{Desk, DeskError, Role, StaffAccount, TicketState};

/// Callback bodies are small XML documents.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The answer to a WeCom user who is not an active commissioner.
pub const REFUSAL: &str =
    "抱歉，您的企业微信账号没有绑定可用的招商护商专员账号，无法处理工单。如需开通，请联系管理员。";

pub struct WecomState {
    desk: Arc<Desk>,
    token: String,
    corp_id: String,
    key: AesKey,
    mailer: Arc<Mailer>,
}

impl WecomState {
    /// `None` while WeCom is not configured; an unreadable EncodingAESKey is an error, so
    /// a typo is found at start rather than at the first message.
    pub fn new(
        desk: Arc<Desk>,
        config: &WecomConfig,
        mailer: Arc<Mailer>,
    ) -> Result<Option<WecomState>, CryptoError> {
        if !config.enabled() {
            return Ok(None);
        }
        let key = AesKey::from_encoding_key(config.encoding_aes_key.as_deref().unwrap_or(""))?;
        Ok(Some(WecomState {
            desk,
            token: config.token.clone().unwrap_or_default(),
            corp_id: config.corp_id.clone().unwrap_or_default(),
            key,
            mailer,
        }))
    }
}

pub fn router(state: Arc<WecomState>) -> Router {
    Router::new()
        .route("/wecom", get(handshake).post(callback))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Signed {
    msg_signature: String,
    timestamp: String,
    nonce: String,
    echostr: String,
}

fn refused(why: CryptoError) -> Response {
    // The body may hold an investor's case: the log names the reason only.
    tracing::warn!("wecom callback refused: {why}");
    (StatusCode::UNAUTHORIZED, format!("wecom: {why}")).into_response()
}

fn unreadable(why: &str) -> Response {
    tracing::warn!("wecom callback refused as unreadable: {why}");
    (StatusCode::BAD_REQUEST, why.to_string()).into_response()
}

fn plain(text: String) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
}

/// The URL check when the callback is saved: `echostr` is itself sealed; its plaintext is
/// the answer.
async fn handshake(State(state): State<Arc<WecomState>>, Query(q): Query<Signed>) -> Response {
    // Base64 has no spaces: a "+" sent unescaped arrives decoded as one.
    let echostr = q.echostr.replace(' ', "+");
    if let Err(e) = verify(
        &[&state.token, &q.timestamp, &q.nonce, &echostr],
        &q.msg_signature,
    ) {
        return refused(e);
    }
    match state.key.decrypt(&echostr, &state.corp_id) {
        Ok(plaintext) => plain(plaintext),
        Err(e) => refused(e),
    }
}

async fn callback(
    State(state): State<Arc<WecomState>>,
    Query(q): Query<Signed>,
    body: Bytes,
) -> Response {
    let Ok(body) = std::str::from_utf8(&body) else {
        return unreadable("wecom: body is not UTF-8");
    };
    // Parse errors are not passed on: they may quote the text they choked on.
    let Ok(outer) = Incoming::parse(body) else {
        return unreadable("wecom: the body is not readable XML");
    };
    let Some(sealed) = outer.encrypt.as_deref().filter(|s| !s.trim().is_empty()) else {
        return unreadable("wecom: no Encrypt field");
    };
    if let Err(e) = verify(
        &[&state.token, &q.timestamp, &q.nonce, sealed],
        &q.msg_signature,
    ) {
        return refused(e);
    }
    let message = match state.key.decrypt(sealed, &state.corp_id) {
        Ok(xml) => match Incoming::parse(&xml) {
            Ok(m) => m,
            Err(_) => return unreadable("wecom: the decrypted message is not readable XML"),
        },
        Err(e) => return refused(e),
    };
    // Entering the app, reading a card: nothing to answer.
    if message.msg_type == "event" || message.from_user_name.trim().is_empty() {
        return plain(String::new());
    }
    // Answered at once (WeCom redelivers after 5 s); the outcome follows as a message.
    tokio::spawn(handle(state, message));
    plain(String::new())
}

/// Acts on one message and tells its sender the outcome.
async fn handle(state: Arc<WecomState>, message: Incoming) {
    let user = message.from_user_name.clone();
    let desk = state.desk.clone();
    let delivery = format!("wecom:msg:{}", message.delivery_id());
    // Pictures, voice, files: not commands, so the sender gets the list of them.
    let text = if message.msg_type == "text" {
        message.content.clone()
    } else {
        String::new()
    };
    let from = user.clone();
    let answer = tokio::task::spawn_blocking(move || -> Result<Option<String>, DeskError> {
        // Of redeliveries (and of several instances), one acts.
        if !desk.announce_once(&delivery)? {
            return Ok(None);
        }
        match desk.staff_by_wecom_user(&from)? {
            Some(account) if is_active_commissioner(&account) => {
                let command = in_the_only_thread(&desk, &account.name, &text)?;
                Ok(Some(act(&desk, &account.name, command)))
            }
            _ => {
                tracing::info!(
                    "wecom message from a user with no active commissioner account; refused"
                );
                Ok(Some(REFUSAL.to_string()))
            }
        }
    })
    .await;
    match answer {
        Ok(Ok(Some(answer))) => {
            for part in
                crate::channels::wechat::api::split_bytes(&answer, super::api::MAX_TEXT_BYTES)
            {
                state.mailer.send(&user, Outgoing::text(&part));
            }
        }
        Ok(Ok(None)) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "wecom message not acted on");
            state.mailer.send(
                &user,
                Outgoing::text("未完成：服务暂时不可用，请稍后再试。"),
            );
        }
        Err(e) => tracing::warn!(error = %e, "wecom message task failed"),
    }
}

fn is_active_commissioner(a: &StaffAccount) -> bool {
    a.role == Role::Commissioner && !a.disabled
}

/// What `text` from commissioner `who` asks for. A message that is no command, from a
/// commissioner who holds exactly one ticket, continues that ticket's conversation: the
/// app's chat with them is then the ticket's thread, and writing the number every time
/// would only be in the way. With none or several held, they get the list of commands.
fn in_the_only_thread(desk: &Desk, who: &str, text: &str) -> Result<Command, DeskError> {
    let command = Command::parse(text);
    if command != Command::Help || text.trim().is_empty() {
        return Ok(command);
    }
    let held: Vec<u64> = desk
        .open_tickets()?
        .into_iter()
        .filter(|t| matches!(&t.state, TicketState::Claimed { by, .. } if by == who))
        .map(|t| t.id)
        .collect();
    Ok(match held[..] {
        [only] => Command::Reply(only, text.trim().to_string()),
        _ => Command::Help,
    })
}

/// Carries out `command` as commissioner `who`; the outcome, or why not, as text.
fn act(desk: &Desk, who: &str, command: Command) -> String {
    let done = match command {
        Command::Claim(t) => desk
            .claim(t, who)
            .map(|ticket| format!("已认领工单 #{t}\n问题：{}", ticket.brief.question)),
        Command::Reply(t, text) => desk
            .reply(t, who, &text)
            .map(|_| format!("已回复工单 #{t}")),
        Command::Handback(t) => desk
            .handback(t, who)
            .map(|_| format!("工单 #{t} 已交还小二")),
        Command::Release(t) => desk
            .release(t, who)
            .map(|_| format!("工单 #{t} 已退回队列")),
        Command::Close(t) => desk.close(t, who).map(|_| format!("工单 #{t} 已结束")),
        Command::Help => return HELP.to_string(),
    };
    done.unwrap_or_else(|e| format!("未完成：{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tencents_wecom_url_check_sample_opens_with_the_corp_id() {
        // The URL-check case of Tencent's WeCom callback sample code (WXBizMsgCrypt).
        let (token, corp_id) = ("QDG6eK", "wx5823bf96d3bd56c7");
        let key = AesKey::from_encoding_key("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C").unwrap();
        let echostr = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";
        verify(
            &[token, "1409659589", "263014780", echostr],
            "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
        )
        .unwrap();
        assert_eq!(
            key.decrypt(echostr, corp_id).unwrap(),
            "1616140317555161061"
        );
        assert_eq!(
            key.decrypt(echostr, "wx0000000000000000"),
            Err(CryptoError::WrongAppId)
        );
    }
}
