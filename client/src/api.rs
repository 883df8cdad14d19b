//! A typed JSON client for REST calls that carries the session: the counterpart of an Angular
//! HTTP interceptor, over gloo-net's request builder.

use gloo_net::http::{Method, Request, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::request::SessionRequest;
use crate::tokens;

/// The header the token travels in.
pub const X_SESSION: &str = "X-Session";

/// What went wrong with a call.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// No answer: the network or the browser refused (CORS, offline).
    #[error("the server could not be reached: {0}")]
    Network(String),
    /// The server said no. `detail` is its `{"detail"}` message; `fields` its messages by field.
    #[error("{}", .detail.clone().unwrap_or_else(|| format!("the server answered {status}")))]
    Status {
        status: u16,
        detail: Option<String>,
        fields: std::collections::BTreeMap<String, Vec<String>>,
    },
    /// The answer was not what the caller expected.
    #[error("the server's answer could not be read: {0}")]
    Decode(String),
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The messages the server gave for `field`.
    pub fn field(&self, field: &str) -> &[String] {
        match self {
            ApiError::Status { fields, .. } => fields.get(field).map_or(&[], Vec::as_slice),
            _ => &[],
        }
    }
}

/// Where the API is, when it is not on the page's own origin (for example
/// `http://localhost:3000`). Empty means the page's origin.
pub fn set_base_url(base: &str) {
    BASE.with(|cell| *cell.borrow_mut() = base.trim_end_matches('/').to_string());
}

pub fn base_url() -> String {
    BASE.with(|cell| cell.borrow().clone())
}

thread_local! {
    static BASE: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    send(Method::GET, path, None::<&()>).await
}

pub async fn post<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> Result<T, ApiError> {
    send(Method::POST, path, Some(body)).await
}

/// A POST with no body, for actions such as logout.
pub async fn post_empty<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    send(Method::POST, path, None::<&()>).await
}

pub async fn put<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> Result<T, ApiError> {
    send(Method::PUT, path, Some(body)).await
}

pub async fn delete<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    send(Method::DELETE, path, None::<&()>).await
}

async fn send<B: Serialize, T: DeserializeOwned>(
    method: Method,
    path: &str,
    body: Option<&B>,
) -> Result<T, ApiError> {
    let session = SessionRequest::begin(&method).await;
    let mut builder = RequestBuilder::new(&format!("{}{path}", base_url()))
        .method(method)
        .header("Accept", "application/json");
    if let Some(token) = session.token() {
        builder = builder.header(X_SESSION, token);
    }
    let request: Request = match body {
        Some(body) => builder
            .json(body)
            .map_err(|error| ApiError::Decode(error.to_string()))?,
        None => builder
            .build()
            .map_err(|error| ApiError::Network(error.to_string()))?,
    };
    let response = request
        .send()
        .await
        .map_err(|error| ApiError::Network(error.to_string()))?;
    session.finish(response.headers().get(X_SESSION).as_deref());
    read(response).await
}

async fn read<T: DeserializeOwned>(response: Response) -> Result<T, ApiError> {
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|error| ApiError::Decode(error.to_string()))?;
    if response.ok() {
        // A 204 has no body; callers that expect nothing ask for `()`.
        let text = if text.is_empty() {
            "null"
        } else {
            text.as_str()
        };
        return serde_json::from_str(text).map_err(|error| ApiError::Decode(error.to_string()));
    }
    if status == 401 {
        tokens::report_unauthorized();
    }
    Err(error_from(status, &text))
}

/// Reads a Django REST Framework style error body: `{"detail"}` or messages by field.
pub fn error_from(status: u16, body: &str) -> ApiError {
    let value: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let detail = value
        .get("detail")
        .and_then(|detail| detail.as_str())
        .map(str::to_string);
    let fields = value
        .as_object()
        .map(|object| {
            object
                .iter()
                .filter_map(|(field, messages)| {
                    let messages: Vec<String> = serde_json::from_value(messages.clone()).ok()?;
                    Some((field.clone(), messages))
                })
                .collect()
        })
        .unwrap_or_default();
    ApiError::Status {
        status,
        detail,
        fields,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detail_errors_read_as_detail() {
        let error = error_from(401, r#"{"detail": "Invalid username or password."}"#);
        assert_eq!(error.status(), Some(401));
        assert_eq!(error.to_string(), "Invalid username or password.");
        assert!(error.field("username").is_empty());
    }

    #[test]
    fn field_errors_read_by_field() {
        let error = error_from(400, r#"{"username": ["Too short.", "Bad characters."]}"#);
        assert_eq!(error.field("username"), ["Too short.", "Bad characters."]);
        assert_eq!(error.to_string(), "the server answered 400");
    }

    #[test]
    fn bodies_that_are_not_json_still_give_a_status() {
        assert_eq!(error_from(502, "<html>").status(), Some(502));
    }
}
