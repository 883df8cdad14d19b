//! The JSON API under `/api`, one module per resource.

mod auth;
mod counter;
mod messages;
mod notes;
mod server_fns;
mod sessions;

use axum::Router;
use http::StatusCode;

use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(auth::router())
        .merge(counter::router())
        .merge(messages::router())
        .merge(server_fns::router())
        .merge(sessions::router())
        .merge(notes::router())
        .method_not_allowed_fallback(method_not_allowed)
}

pub async fn not_found() -> ApiError {
    ApiError::detail(StatusCode::NOT_FOUND, "Not found.")
}

async fn method_not_allowed() -> ApiError {
    ApiError::detail(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed.")
}
