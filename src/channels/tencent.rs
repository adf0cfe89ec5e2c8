//! What the WeChat and WeCom HTTP APIs share: errors come back as HTTP 200 with an
//! `errcode`, so every answer is checked; and each app has one access token, fetched one
//! caller at a time, refreshed before it expires, and fetched again (once per request)
//! when the API calls it invalid.

use std::future::Future;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

/// Error codes that mean "the token is no good": fetch a new one and retry once.
const TOKEN_ERRORS: [i64; 3] = [40001, 40014, 42001];

/// Refresh this long before the stated expiry, so no request carries a token that lapses
/// on the way.
const REFRESH_EARLY: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("{api} api: {message}")]
    Transport { api: &'static str, message: String },
    #[error("{api} api: errcode {code}: {message}")]
    Refused {
        api: &'static str,
        code: i64,
        message: String,
    },
}

impl ApiError {
    /// The API's error code, when it refused the request.
    pub fn code(&self) -> Option<i64> {
        match self {
            ApiError::Refused { code, .. } => Some(*code),
            ApiError::Transport { .. } => None,
        }
    }
}

/// The fields of an answer both APIs use.
#[derive(Debug, Deserialize)]
pub struct Answer {
    #[serde(default)]
    pub errcode: i64,
    #[serde(default)]
    pub errmsg: String,
    #[serde(default)]
    pub access_token: Option<String>,
    #[serde(default)]
    pub expires_in: Option<u64>,
}

/// An HTTP client for one app, with its token.
pub struct Client {
    http: reqwest::Client,
    /// Which API, for error messages ("wechat", "wecom").
    api: &'static str,
    token: Mutex<Option<(String, Instant)>>,
}

impl Client {
    pub fn new(api: &'static str) -> Client {
        Client {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            api,
            token: Mutex::new(None),
        }
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn transport(&self, message: impl std::fmt::Display) -> ApiError {
        ApiError::Transport {
            api: self.api,
            message: message.to_string(),
        }
    }

    /// Sends `request` and checks its answer. Errors are stripped of the URL: a token
    /// request's carries the secret.
    pub async fn checked(&self, request: reqwest::RequestBuilder) -> Result<Answer, ApiError> {
        let answer: Answer = request
            .send()
            .await
            .map_err(|e| self.transport(e.without_url()))?
            .json()
            .await
            .map_err(|e| self.transport(e.without_url()))?;
        if answer.errcode != 0 {
            return Err(ApiError::Refused {
                api: self.api,
                code: answer.errcode,
                message: answer.errmsg,
            });
        }
        Ok(answer)
    }

    /// The shared token; `stale` is one a request was just refused with. `fetch` asks for
    /// a new one (told whether the old one was refused). The lock makes concurrent
    /// callers wait for one fetch instead of each fetching its own.
    async fn token<F: Future<Output = Result<Answer, ApiError>>>(
        &self,
        stale: Option<&str>,
        fetch: impl FnOnce(bool) -> F,
    ) -> Result<String, ApiError> {
        let mut held = self.token.lock().await;
        if let Some((token, until)) = held.as_ref()
            && Instant::now() < *until
            && stale != Some(token.as_str())
        {
            return Ok(token.clone());
        }
        let answer = fetch(stale.is_some()).await?;
        let token = answer
            .access_token
            .ok_or_else(|| self.transport("no access_token in the answer"))?;
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(7200));
        *held = Some((
            token.clone(),
            Instant::now() + lifetime.saturating_sub(REFRESH_EARLY),
        ));
        Ok(token)
    }

    /// Sends the request `build` makes with the current token; when the API calls the
    /// token invalid, fetches a new one (`fetch`) and sends it once more.
    pub async fn with_token<F: Future<Output = Result<Answer, ApiError>>>(
        &self,
        fetch: impl Fn(bool) -> F,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<Answer, ApiError> {
        let token = self.token(None, &fetch).await?;
        match self.checked(build(&token)).await {
            Err(e) if e.code().is_some_and(|c| TOKEN_ERRORS.contains(&c)) => {
                let fresh = self.token(Some(&token), &fetch).await?;
                self.checked(build(&fresh)).await
            }
            other => other,
        }
    }
}
