//! The service account's HTTP API, as far as xiaoer needs it: the access token through
//! `stable_token`, the customer-service text message and the typing indicator, and which
//! refusals are worth retrying. Checking answers and sharing the token is
//! `channels::tencent`, as for WeCom.

pub use crate::channels::tencent::ApiError;
use crate::channels::tencent::{Answer, Client};

/// The 48-hour window since the investor last wrote has passed: only they can reopen it.
pub const WINDOW_CLOSED: i64 = 45015;
/// The account's customer-service quota is spent.
pub const QUOTA_SPENT: i64 = 45047;

/// Whether trying again later can help (not for a closed window or a spent quota).
pub fn retryable(e: &ApiError) -> bool {
    !matches!(e.code(), Some(WINDOW_CLOSED | QUOTA_SPENT))
}

pub struct Api {
    client: Client,
    base: String,
    app_id: String,
    secret: String,
}

impl Api {
    pub fn new(base: &str, app_id: &str, secret: &str) -> Api {
        Api {
            client: Client::new("wechat"),
            base: base.trim_end_matches('/').to_string(),
            app_id: app_id.to_string(),
            secret: secret.to_string(),
        }
    }

    /// A new access token from `stable_token` (forced when the old one was refused).
    async fn fetch_token(&self, force_refresh: bool) -> Result<Answer, ApiError> {
        let request = self
            .client
            .http()
            .post(format!("{}/cgi-bin/stable_token", self.base))
            .json(&serde_json::json!({
                "grant_type": "client_credential",
                "appid": self.app_id,
                "secret": self.secret,
                "force_refresh": force_refresh,
            }));
        self.client.checked(request).await
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

    /// POSTs `body` to the API at `path` with the access token.
    async fn call(&self, path: &str, body: &serde_json::Value) -> Result<(), ApiError> {
        let url = format!("{}{path}", self.base);
        let build = |token: &str| {
            self.client
                .http()
                .post(&url)
                .query(&[("access_token", token)])
                .json(body)
        };
        self.client
            .with_token(|force| self.fetch_token(force), build)
            .await
            .map(|_| ())
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
            api: "wechat",
            code,
            message: String::new(),
        };
        assert!(!retryable(&refused(WINDOW_CLOSED)));
        assert!(!retryable(&refused(QUOTA_SPENT)));
        assert!(retryable(&refused(-1)));
    }
}
