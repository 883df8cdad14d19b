//! Errors a handler can meet when it uses the session, and how they answer the client.

use axum::response::{IntoResponse, Response};
use http::StatusCode;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the session would exceed its size limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the session changed concurrently too often to save this request's changes")]
    Contention,
    #[error("a session value could not be converted: {0}")]
    Value(#[from] serde_json::Error),
    #[error("no session layer is installed in front of this handler")]
    MissingLayer,
}

impl SessionError {
    pub fn status(&self) -> StatusCode {
        match self {
            SessionError::Store(_) | SessionError::Contention => StatusCode::SERVICE_UNAVAILABLE,
            SessionError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            SessionError::Value(_) | SessionError::MissingLayer => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

impl IntoResponse for SessionError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "session error");
        }
        let detail = match &self {
            SessionError::Store(_) => "The session store is unavailable. Try again shortly.".into(),
            SessionError::Contention => "The session is busy. Try again.".into(),
            other => other.to_string(),
        };
        detail_response(status, &detail)
    }
}

/// A JSON error in the style the demo API uses: `{"detail": "..."}`.
pub fn detail_response(status: StatusCode, detail: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "detail": detail }))).into_response()
}
