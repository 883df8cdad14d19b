//! The API's errors, answered in the style of Django REST Framework.

use app::api::FieldErrors;
use axum::response::{IntoResponse, Response};
use axum::Json;
use cookieless::SessionError;
use http::StatusCode;

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
}

impl ApiError {
    pub fn detail(status: StatusCode, detail: impl Into<String>) -> Self {
        ApiError::Detail(status, detail.into())
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
            ApiError::Hash(error) => {
                tracing::error!(%error, "password hashing failed");
                detail_response(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong.")
            }
        }
    }
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
