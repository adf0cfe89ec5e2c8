//! The WeCom app's HTTP API, as far as xiaoer needs it: one shared access token (from
//! `gettoken`, refreshed before it expires and fetched again when WeCom calls it invalid)
//! and `message/send` as the app. WeCom reports errors as HTTP 200 with an `errcode`, so
//! every answer is checked.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

/// WeCom's error codes that mean "the token is no good": fetch a new one and retry once.
const TOKEN_ERRORS: [i64; 3] = [40001, 40014, 42001];

/// Refresh this long before WeCom's stated expiry, so no request carries a token that
/// lapses on the way.
const REFRESH_EARLY: Duration = Duration::from_secs(300);

/// A text message holds at most 2,048 bytes.
pub const MAX_TEXT_BYTES: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("wecom api: {0}")]
    Transport(String),
    #[error("wecom api: errcode {code}: {message}")]
    Refused { code: i64, message: String },
}

/// What the app sends one member of staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "msgtype", rename_all = "lowercase")]
pub enum Outgoing {
    Text {
        text: TextBody,
    },
    /// A card with a title, a short description and a button to a link.
    Textcard {
        textcard: Card,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TextBody {
    pub content: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Card {
    pub title: String,
    pub description: String,
    pub url: String,
    pub btntxt: String,
}

impl Outgoing {
    pub fn text(content: &str) -> Outgoing {
        Outgoing::Text {
            text: TextBody {
                content: content.to_string(),
            },
        }
    }
}

pub struct Api {
    http: reqwest::Client,
    base: String,
    corp_id: String,
    secret: String,
    agent_id: i64,
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
    pub fn new(base: &str, corp_id: &str, secret: &str, agent_id: i64) -> Api {
        Api {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            base: base.trim_end_matches('/').to_string(),
            corp_id: corp_id.to_string(),
            secret: secret.to_string(),
            agent_id,
            token: Mutex::new(None),
        }
    }

    /// An answer read and checked. Errors are stripped of the URL: `gettoken`'s carries
    /// the secret.
    async fn checked(request: reqwest::RequestBuilder) -> Result<Answer, ApiError> {
        let answer: Answer = request
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
        let request = self
            .http
            .get(format!("{}/cgi-bin/gettoken", self.base))
            .query(&[("corpid", &self.corp_id), ("corpsecret", &self.secret)]);
        let answer = Api::checked(request).await?;
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

    /// Sends `message` to the member of staff `user` (their WeCom UserID) as the app.
    pub async fn send(&self, user: &str, message: &Outgoing) -> Result<(), ApiError> {
        let mut body = serde_json::to_value(message)
            .map_err(|e| ApiError::Transport(format!("message not encodable: {e}")))?;
        body["touser"] = user.into();
        body["agentid"] = self.agent_id.into();
        let post = |token: &str| {
            self.http
                .post(format!("{}/cgi-bin/message/send", self.base))
                .query(&[("access_token", token)])
                .json(&body)
        };
        let token = self.token(None).await?;
        match Api::checked(post(&token)).await {
            Err(ApiError::Refused { code, .. }) if TOKEN_ERRORS.contains(&code) => {
                let fresh = self.token(Some(&token)).await?;
                Api::checked(post(&fresh)).await.map(|_| ())
            }
            other => other.map(|_| ()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_shaped_as_wecom_expects() {
        let card = Outgoing::Textcard {
            textcard: Card {
                title: "工单 #3".into(),
                description: "d".into(),
                url: "https://x/staff".into(),
                btntxt: "认领".into(),
            },
        };
        let v = serde_json::to_value(&card).unwrap();
        assert_eq!(v["msgtype"], "textcard");
        assert_eq!(v["textcard"]["btntxt"], "认领");
        let v = serde_json::to_value(Outgoing::text("hi")).unwrap();
        assert_eq!(v["msgtype"], "text");
        assert_eq!(v["text"]["content"], "hi");
    }
}
