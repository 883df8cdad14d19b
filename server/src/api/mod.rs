//! The JSON API under `/api`, one module per resource.

mod auth;
mod client_ip;
mod counter;
mod logged_in;
mod messages;
mod notes;
mod params;
mod server_fns;
mod sessions;

use std::time::{Duration, UNIX_EPOCH};

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
    ApiError::not_found()
}

async fn method_not_allowed() -> ApiError {
    ApiError::detail(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed.")
}

/// A stored time, in milliseconds since the Unix epoch, as the API shows it: RFC 3339 in UTC,
/// to the second.
fn rfc3339(millis: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(millis)).to_string()
}
