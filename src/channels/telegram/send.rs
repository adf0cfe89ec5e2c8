//! Sending to Telegram within its limits: long texts split, 429 `retry_after` waited out
//! and retried, a blocked bot (403) reported instead of retried.

use std::future::Future;
use std::time::Duration;

use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardMarkup, MessageId, ReplyParameters, ThreadId};
use teloxide::{ApiError, RequestError};

use super::text::{MAX_MESSAGE, split};

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the user blocked the bot")]
    Blocked,
    #[error("telegram: {0}")]
    Request(#[from] RequestError),
}

const MAX_TRIES: u32 = 6;

/// Runs a request, waiting out 429s (Telegram says how long) and retrying network errors
/// a few times.
pub async fn with_retry<T, F, Fut>(mut request: F) -> Result<T, SendError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, RequestError>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        match request().await {
            Ok(v) => return Ok(v),
            Err(RequestError::RetryAfter(wait)) if tries < MAX_TRIES => {
                tracing::warn!(seconds = wait.seconds(), "telegram rate limit; waiting");
                tokio::time::sleep(wait.duration()).await;
            }
            Err(RequestError::Network(e)) if tries < 3 => {
                tracing::warn!(error = %e, "telegram network error; retrying");
                tokio::time::sleep(Duration::from_millis(500 * tries as u64)).await;
            }
            Err(RequestError::Api(ApiError::BotBlocked)) => return Err(SendError::Blocked),
            Err(e) => return Err(e.into()),
        }
    }
}

/// Sends `text` (split if long); the keyboard goes on the last part.
pub async fn send_text(
    bot: &Bot,
    chat: ChatId,
    text: &str,
    keyboard: Option<InlineKeyboardMarkup>,
    reply_to: Option<MessageId>,
    thread: Option<ThreadId>,
) -> Result<Vec<Message>, SendError> {
    let parts = split(text, MAX_MESSAGE);
    let last = parts.len().saturating_sub(1);
    let mut sent = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        let keyboard = if i == last { keyboard.clone() } else { None };
        let m = with_retry(|| {
            let mut req = bot.send_message(chat, part.clone());
            if let Some(k) = keyboard.clone() {
                req = req.reply_markup(k);
            }
            if let Some(t) = thread {
                req = req.message_thread_id(t);
            }
            if let (Some(r), 0) = (reply_to, i) {
                req = req.reply_parameters(ReplyParameters::new(r).allow_sending_without_reply());
            }
            req.send()
        })
        .await?;
        sent.push(m);
    }
    Ok(sent)
}
