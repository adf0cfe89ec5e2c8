//! The service account's HTTP API, as far as xiaoer needs it: one shared access token
//! (fetched through `stable_token`, refreshed one caller at a time before it expires, and
//! fetched again when WeChat says it is invalid) and the customer-service text message.
//! WeChat reports errors as HTTP 200 with an `errcode`, so every answer is checked.

use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

/// WeChat's error codes that mean "the token is no good": fetch a new one and retry once.
const TOKEN_ERRORS: [i64; 3] = [40001, 40014, 42001];
/// The 48-hour window since the investor last wrote has passed: only they can reopen it.
pub const WINDOW_CLOSED: i64 = 45015;
/// The account's customer-service quota is spent.
pub const QUOTA_SPENT: i64 = 45047;

/// Refresh this long before WeChat's stated expiry, so no request carries a token that
/// lapses on the way.
const REFRESH_EARLY: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("wechat api: {0}")]
    Transport(String),
    #[error("wechat api: errcode {code}: {message}")]
    Refused { code: i64, message: String },
}

impl ApiError {
    /// Whether trying again later can help (not for a closed window or a spent quota).
    pub fn retryable(&self) -> bool {
        !matches!(self, ApiError::Refused { code, .. } if *code == WINDOW_CLOSED || *code == QUOTA_SPENT)
    }
}

pub struct Api {
    http: reqwest::Client,
    base: String,
    app_id: String,
    secret: String,
    token: Mutex<Option<(String, Instant)>>,
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl Api {
    pub fn new(base: &str, app_id: &str, secret: &str) -> Api {
        Api {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            base: base.trim_end_matches('/').to_string(),
            app_id: app_id.to_string(),
            secret: secret.to_string(),
            token: Mutex::new(None),
        }
    }

    async fn post(&self, path: &str, body: &serde_json::Value) -> Result<Answer, ApiError> {
        let answer: Answer = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .map_err(|e| ApiError::Transport(e.without_url().to_string()))?
            .json()
            .await
            .map_err(|e| ApiError::Transport(e.without_url().to_string()))?;
        if answer.errcode != 0 {
            return Err(ApiError::Refused {
                code: answer.errcode,
                message: answer.errmsg,
            });
        }
        Ok(answer)
    }

    /// The shared token; `stale` is one a request was just refused with. The lock makes
    /// concurrent callers wait for one fetch instead of each fetching its own.
    async fn token(&self, stale: Option<&str>) -> Result<String, ApiError> {
        let mut held = self.token.lock().await;
        if let Some((token, until)) = held.as_ref()
            && Instant::now() < *until
            && stale != Some(token.as_str())
        {
            return Ok(token.clone());
        }
        let answer = self
            .post(
                "/cgi-bin/stable_token",
                &serde_json::json!({
                    "grant_type": "client_credential",
                    "appid": self.app_id,
                    "secret": self.secret,
                    "force_refresh": stale.is_some(),
                }),
            )
            .await?;
        let token = answer
            .access_token
            .ok_or_else(|| ApiError::Transport("no access_token in the answer".into()))?;
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(7200));
        *held = Some((
            token.clone(),
            Instant::now() + lifetime.saturating_sub(REFRESH_EARLY),
        ));
        Ok(token)
    }

    /// Sends `text` to the investor `openid` as a customer-service message.
    pub async fn send_text(&self, openid: &str, text: &str) -> Result<(), ApiError> {
        let body = serde_json::json!({
            "touser": openid,
            "msgtype": "text",
            "text": { "content": text },
        });
        self.call("/cgi-bin/message/custom/send", &body).await
    }

    /// Shows the investor "typing…" while a slow answer is worked out (WeChat shows it
    /// for up to 15 s, or until the next message).
    pub async fn typing(&self, openid: &str) -> Result<(), ApiError> {
        let body = serde_json::json!({ "touser": openid, "command": "Typing" });
        self.call("/cgi-bin/message/custom/typing", &body).await
    }

    /// POSTs `body` to the API at `path` with the access token, fetching a new token once
    /// when WeChat says the one held is no longer valid.
    async fn call(&self, path: &str, body: &serde_json::Value) -> Result<(), ApiError> {
        let token = self.token(None).await?;
        let path = |t: &str| format!("{path}?access_token={t}");
        match self.post(&path(&token), body).await {
            Err(ApiError::Refused { code, .. }) if TOKEN_ERRORS.contains(&code) => {
                let fresh = self.token(Some(&token)).await?;
                self.post(&path(&fresh), body).await.map(|_| ())
            }
            other => other.map(|_| ()),
        }
    }
}

/// `text` in pieces of at most `max` UTF-8 bytes, each cut after a sentence end where one
/// fits (a customer-service text message holds 2,048 bytes).
pub fn split_bytes(text: &str, max: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut rest = text;
    while rest.len() > max {
        let mut cut = 0;
        let mut sentence = None;
        for (i, c) in rest.char_indices() {
            let end = i + c.len_utf8();
            if end > max {
                break;
            }
            cut = end;
            if matches!(c, '。' | '！' | '？' | '.' | '!' | '?' | '\n') {
                sentence = Some(end);
            }
        }
        let at = sentence.unwrap_or(cut).max(1);
        parts.push(rest[..at].trim().to_string());
        rest = &rest[at..];
    }
    if !rest.trim().is_empty() {
        parts.push(rest.trim().to_string());
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_split_under_2048_bytes_at_sentence_ends() {
        let text = "第一句话比较长。".repeat(150);
        let parts = split_bytes(&text, 2048);
        assert!(parts.len() >= 2);
        for p in &parts {
            assert!(p.len() <= 2048, "{}", p.len());
            assert!(p.ends_with('。'), "{p}");
        }
        assert_eq!(parts.concat(), text);
        assert_eq!(split_bytes("short", 2048), ["short"]);
    }

    #[test]
    fn a_closed_window_and_a_spent_quota_are_not_retried() {
        let refused = |code| ApiError::Refused {
            code,
            message: String::new(),
        };
        assert!(!refused(WINDOW_CLOSED).retryable());
        assert!(!refused(QUOTA_SPENT).retryable());
        assert!(refused(-1).retryable());
    }
}
