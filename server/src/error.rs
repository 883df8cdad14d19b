//! The API's errors, answered in the style of Django REST Framework.

use std::time::Duration;

use app::api::FieldErrors;
use axum::response::{IntoResponse, Response};
use axum::Json;
use cookieless::SessionError;
use http::header::RETRY_AFTER;
use http::{HeaderValue, StatusCode};

use crate::notes::NoteStoreError;
use crate::password::HashError;
use crate::users::UserStoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 with messages by field: `{"username": ["..."]}`.
    #[error("invalid fields")]
    Invalid(FieldErrors),
    /// A request that cannot be understood: `{"detail": "..."}`.
    #[error("{1}")]
    Detail(StatusCode, String),
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Users(#[from] UserStoreError),
    #[error(transparent)]
    Notes(#[from] NoteStoreError),
    #[error(transparent)]
    Hash(#[from] HashError),
    /// Too many failed logins lately: wait this long (429).
    #[error("too many failed attempts")]
    TooManyAttempts(Duration),
}

impl ApiError {
    pub fn detail(status: StatusCode, detail: impl Into<String>) -> Self {
        ApiError::Detail(status, detail.into())
    }

    /// 400 with `messages` for one field: `{"field": ["..."]}`.
    pub fn field(field: &str, messages: Vec<String>) -> Self {
        ApiError::Invalid(FieldErrors::from([(field.to_string(), messages)]))
    }

    pub fn not_found() -> Self {
        ApiError::detail(StatusCode::NOT_FOUND, "Not found.")
    }

    pub fn unauthenticated() -> Self {
        ApiError::detail(
            StatusCode::UNAUTHORIZED,
            "Authentication credentials were not provided.",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Invalid(errors) => (StatusCode::BAD_REQUEST, Json(errors)).into_response(),
            ApiError::Detail(status, detail) => detail_response(status, &detail),
            ApiError::Session(error) => error.into_response(),
            ApiError::Users(UserStoreError::Taken) => field_response(
                StatusCode::CONFLICT,
                "username",
                "A user with that username already exists.",
            ),
            ApiError::Users(UserStoreError::Missing) => {
                detail_response(StatusCode::NOT_FOUND, "Not found.")
            }
            ApiError::Users(error @ UserStoreError::Unavailable(_)) => {
                tracing::error!(%error, "user store failed");
                detail_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The user store is unavailable. Try again shortly.",
                )
            }
            ApiError::Notes(error) => {
                tracing::error!(%error, "note store failed");
                detail_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The note store is unavailable. Try again shortly.",
                )
            }
            ApiError::Hash(HashError::Busy) => {
                tracing::warn!(
                    event = "hashing_busy",
                    "a password check was refused: every hashing thread is busy"
                );
                retry_after(
                    detail_response(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "The server is busy checking passwords. Try again in a moment.",
                    ),
                    Duration::from_secs(1),
                )
            }
            ApiError::Hash(error) => {
                tracing::error!(%error, "password hashing failed");
                detail_response(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong.")
            }
            ApiError::TooManyAttempts(wait) => {
                let seconds = whole_seconds(wait);
                retry_after(
                    detail_response(
                        StatusCode::TOO_MANY_REQUESTS,
                        &format!("Too many failed attempts. Try again in {seconds} seconds."),
                    ),
                    wait,
                )
            }
        }
    }
}

/// A wait in whole seconds, rounded up, at least one: what `Retry-After` says.
fn whole_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

fn retry_after(mut response: Response, wait: Duration) -> Response {
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(whole_seconds(wait)));
    response
}

/// `{"detail": "..."}`: DRF's shape for an error that is not about one field.
fn detail_response(status: StatusCode, detail: &str) -> Response {
    (status, Json(serde_json::json!({ "detail": detail }))).into_response()
}

/// `{"field": ["..."]}`: DRF's shape for one field's error.
fn field_response(status: StatusCode, field: &str, message: &str) -> Response {
    let errors = FieldErrors::from([(field.to_string(), vec![message.to_string()])]);
    (status, Json(errors)).into_response()
}
