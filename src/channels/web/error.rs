//! The API's error type: each variant is an HTTP status with a JSON body `{"error"}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::desk::DeskError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("sign in first (Authorization: Bearer TOKEN)")]
    Unauthorized,
    #[error("your role may not do this")]
    Forbidden,
    #[error("cross-site request refused: staff and admin writes must be JSON sent from this site")]
    CrossSite,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("too many messages; wait a minute and try again")]
    RateLimited,
    #[error("too many open event streams for this session; close another tab first")]
    TooManyStreams,
    /// The store does not take writes (a full disk): nothing was stored or acknowledged.
    #[error(
        "暂时无法保存消息，请稍后再试。The service cannot store messages right now; nothing was saved, please try again shortly."
    )]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

impl From<DeskError> for ApiError {
    fn from(e: DeskError) -> ApiError {
        match e {
            DeskError::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            e @ (DeskError::AlreadyClaimed { .. }
            | DeskError::NotYours { .. }
            | DeskError::NotClaimed(_)
            | DeskError::Closed(_)) => ApiError::Conflict(e.to_string()),
            DeskError::Invalid(m) => ApiError::BadRequest(m),
            DeskError::Store(e) => ApiError::Unavailable(e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden | ApiError::CrossSite => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited | ApiError::TooManyStreams => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(detail) => {
                tracing::warn!(%detail, "store unavailable");
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal(detail) => {
                // The detail goes to the log, not to the client.
                tracing::error!(%detail, "request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}

/// Turns the framework's own rejections (a body over the limit: 413, a missing JSON content
/// type: 415, a body of the wrong shape: 422, a bad query string: 400, an unknown route or
/// method) into the API's `{"error": "..."}` shape, keeping their status and their text.
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let text = match axum::body::to_bytes(response.into_body(), 4096).await {
        Ok(bytes) if !bytes.is_empty() => String::from_utf8_lossy(&bytes).trim().to_string(),
        _ => status
            .canonical_reason()
            .unwrap_or("request rejected")
            .to_lowercase(),
    };
    (status, Json(serde_json::json!({ "error": text }))).into_response()
}
