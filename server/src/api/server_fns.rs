//! The app's Leptos server functions, served under the same session layer as the REST API.

use app::server_fns::{ResetCounter, PREFIX};
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use http::StatusCode;

use crate::error::ApiError;
use crate::json::body_refusal;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    // Registered by name, so that the server functions are linked in whatever the linker keeps.
    leptos::server_fn::axum::register_explicit::<ResetCounter>();
    Router::new().route(&format!("{PREFIX}/{{*name}}"), post(serve))
}

/// Leptos answers every failure with a `500`, a body it could not read or arguments it could not
/// decode included. Those are the client's mistakes: they are answered `4xx` with a JSON body
/// like the rest of the API (and, as `4xx`, they are no server error for the session layer).
async fn serve(request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = match Bytes::from_request(Request::from_parts(parts.clone(), body), &()).await {
        Ok(bytes) => bytes,
        Err(rejection) => return body_refusal(&rejection).into_response(),
    };
    let response = leptos_axum::handle_server_fns(Request::from_parts(parts, Body::from(bytes)))
        .await
        .into_response();
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (parts, body) = response.into_parts();
    let error = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    match client_mistake(&error) {
        Some(detail) => ApiError::detail(StatusCode::BAD_REQUEST, detail).into_response(),
        None => Response::from_parts(parts, Body::from(error)),
    }
}

/// What was wrong with the request, when a server function's error says it was the request:
/// Leptos writes its errors as `Kind|message`.
fn client_mistake(error: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(error).ok()?;
    let (kind, message) = text.split_once('|')?;
    matches!(kind, "Deserialization" | "Args" | "MissingArg")
        .then(|| format!("Invalid arguments: {message}"))
}

#[cfg(test)]
mod tests {
    use super::client_mistake;

    #[test]
    fn only_errors_about_the_request_are_the_client_s() {
        assert_eq!(
            client_mistake(b"Args|query string ended before expected").as_deref(),
            Some("Invalid arguments: query string ended before expected")
        );
        assert!(client_mistake(b"Deserialization|invalid utf-8").is_some());
        assert_eq!(client_mistake(b"ServerError|the store failed"), None);
        assert_eq!(client_mistake(b"not an error of theirs"), None);
    }
}
