//! A typed JSON client for REST calls that carries the session: the counterpart of an Angular
//! HTTP interceptor, over gloo-net's request builder.
//!
//! Every call sends the held token in the `X-Session` header, applies the answer's `X-Session`
//! header, and waits its turn while no session exists yet ([`SessionRequest`]). A call refused
//! because a login rotated the token while it was on its way did not run; it is sent once more
//! with the new token, and the caller never sees the refusal. Bodies go out and
//! come back as JSON; an answer that is not 2xx is an [`ApiError::Status`] with the body as the
//! server sent it, for the application to read in its API's own error shape.
//!
//! ```no_run
//! use cookieless_client::api::{self, ApiError};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize)]
//! struct Counter {
//!     value: u64,
//! }
//!
//! #[derive(Serialize)]
//! struct NoteInput<'a> {
//!     title: &'a str,
//!     body: &'a str,
//! }
//!
//! async fn demo() -> Result<(), ApiError> {
//!     // Only needed when the API is not on the page's own origin.
//!     api::set_base_url("http://localhost:3000");
//!     let counter: Counter = api::post_empty("/api/counter/increment").await?;
//!     println!("the counter is at {}", counter.value);
//!     let note = NoteInput { title: "", body: "" };
//!     match api::post::<_, serde_json::Value>("/api/notes", &note).await {
//!         Ok(created) => println!("created {created}"),
//!         Err(ApiError::Status { status: 400, body }) => println!("refused: {body}"),
//!         Err(other) => return Err(other),
//!     }
//!     Ok(())
//! }
//! ```

use std::cell::RefCell;

use gloo_net::http::{Method, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::header::X_SESSION;
use crate::request::SessionRequest;

/// What went wrong with a call, by the step that failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The request body could not be encoded as JSON: its `Serialize` implementation failed, or
    /// it is a map whose keys are not strings. Nothing was sent.
    #[error("the request body could not be encoded as JSON: {0}")]
    Encode(String),
    /// The browser would not build the request, for instance because a header value is not
    /// valid. Nothing was sent.
    #[error("the request could not be built: {0}")]
    Build(String),
    /// No answer: the browser could not send the request or refused to hand over the answer
    /// (offline, DNS, CORS, a blocked mixed-content URL).
    #[error("the server could not be reached: {0}")]
    Network(String),
    /// The server answered with a status outside 2xx. What it said is in `body`, as it sent it;
    /// [`ApiError::body_json`] reads it as JSON in whatever error shape the API uses.
    #[error("the server answered {status}")]
    Status {
        /// The answer's HTTP status.
        status: u16,
        /// The answer's body as text; empty when it had none.
        body: String,
    },
    /// A 2xx answer whose body could not be read, or was not the JSON the caller asked for.
    #[error("the server's answer could not be read: {0}")]
    Decode(String),
}

impl ApiError {
    /// The answer's HTTP status, when the server answered with one outside 2xx.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The body of an answer outside 2xx, as the server sent it.
    pub fn body(&self) -> Option<&str> {
        match self {
            ApiError::Status { body, .. } => Some(body),
            _ => None,
        }
    }

    /// The body of an answer outside 2xx read as JSON into `T`; `None` for other errors and for
    /// bodies that are not a `T`.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use cookieless_client::api::ApiError;
    ///
    /// let error = ApiError::Status { status: 404, body: r#"{"detail": "Not found."}"#.into() };
    /// let body: BTreeMap<String, String> = error.body_json().unwrap();
    /// assert_eq!(body["detail"], "Not found.");
    /// ```
    pub fn body_json<T: DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_str(self.body()?).ok()
    }
}

thread_local! {
    static BASE: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Where the API is, when it is not on the page's own origin (for example
/// `http://localhost:3000`); paths given to the calls are appended to it. Empty, the default,
/// means the page's origin.
pub fn set_base_url(base: &str) {
    BASE.with(|cell| *cell.borrow_mut() = base.trim_end_matches('/').to_string());
}

/// The base URL [`set_base_url`] set, without a trailing `/`; empty for the page's origin.
pub fn base_url() -> String {
    BASE.with(|cell| cell.borrow().clone())
}

/// `GET path`, reading the answer as JSON into `T`.
///
/// # Errors
///
/// [`ApiError::Network`] when no answer came, [`ApiError::Status`] for an answer outside 2xx,
/// [`ApiError::Decode`] when the answer is not a `T`, [`ApiError::Build`] when the browser would
/// not build the request.
pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    send(Method::GET, path, None::<&()>).await
}

/// `POST path` with `body` as JSON, reading the answer as JSON into `T`.
///
/// # Errors
///
/// [`ApiError::Encode`] when `body` cannot be encoded, and otherwise as [`get`].
pub async fn post<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> Result<T, ApiError> {
    send(Method::POST, path, Some(body)).await
}

/// `POST path` with no body, for actions such as logout, reading the answer as JSON into `T`.
///
/// # Errors
///
/// As [`get`].
pub async fn post_empty<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    send(Method::POST, path, None::<&()>).await
}

/// `PUT path` with `body` as JSON, reading the answer as JSON into `T`.
///
/// # Errors
///
/// [`ApiError::Encode`] when `body` cannot be encoded, and otherwise as [`get`].
pub async fn put<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> Result<T, ApiError> {
    send(Method::PUT, path, Some(body)).await
}

/// `DELETE path`, reading the answer as JSON into `T` (`()` for an empty answer).
///
/// # Errors
///
/// As [`get`].
pub async fn delete<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    send(Method::DELETE, path, None::<&()>).await
}

async fn send<B: Serialize, T: DeserializeOwned>(
    method: Method,
    path: &str,
    body: Option<&B>,
) -> Result<T, ApiError> {
    // Encoded before waiting for a turn, so that a body that cannot be sent holds nobody back.
    let body = body
        .map(serde_json::to_string)
        .transpose()
        .map_err(|error| ApiError::Encode(error.to_string()))?;
    let url = format!("{}{path}", base_url());
    let mut retried = false;
    loop {
        let session = SessionRequest::begin(&method).await;
        let mut builder = RequestBuilder::new(&url)
            .method(method.clone())
            .header("Accept", "application/json");
        if let Some(token) = session.token() {
            builder = builder.header(X_SESSION, token);
        }
        let request = match &body {
            Some(body) => builder
                .header("Content-Type", "application/json")
                .body(body.as_str()),
            None => builder.build(),
        }
        .map_err(|error| ApiError::Build(error.to_string()))?;
        let response = request
            .send()
            .await
            .map_err(|error| ApiError::Network(error.to_string()))?;
        let answer =
            session.finish_response(response.status(), |name| response.headers().get(name));
        if !retried && answer.retry_token().await.is_some() {
            retried = true;
            continue;
        }
        return read(response).await;
    }
}

async fn read<T: DeserializeOwned>(response: Response) -> Result<T, ApiError> {
    let text = response
        .text()
        .await
        .map_err(|error| ApiError::Decode(error.to_string()))?;
    if !response.ok() {
        return Err(ApiError::Status {
            status: response.status(),
            body: text,
        });
    }
    // A 204 has no body; callers that expect nothing ask for `()`.
    let text = if text.is_empty() { "null" } else { &text };
    serde_json::from_str(text).map_err(|error| ApiError::Decode(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(status: u16, body: &str) -> ApiError {
        ApiError::Status {
            status,
            body: body.into(),
        }
    }

    #[test]
    fn a_refusal_keeps_its_status_and_body() {
        let error = refusal(401, r#"{"detail": "Invalid username or password."}"#);
        assert_eq!(error.status(), Some(401));
        assert_eq!(
            error.body(),
            Some(r#"{"detail": "Invalid username or password."}"#)
        );
        assert_eq!(error.to_string(), "the server answered 401");
    }

    #[test]
    fn a_refusal_body_reads_as_json() {
        let error = refusal(400, r#"{"username": ["Too short."]}"#);
        let fields: std::collections::BTreeMap<String, Vec<String>> = error.body_json().unwrap();
        assert_eq!(fields["username"], ["Too short."]);
    }

    #[test]
    fn bodies_that_are_not_json_still_give_a_status() {
        let error = refusal(502, "<html>");
        assert_eq!(error.status(), Some(502));
        assert_eq!(error.body_json::<serde_json::Value>(), None);
    }

    #[test]
    fn errors_without_an_answer_have_no_status_or_body() {
        let error = ApiError::Network("offline".into());
        assert_eq!(error.status(), None);
        assert_eq!(error.body(), None);
        assert_eq!(error.body_json::<serde_json::Value>(), None);
    }
}
