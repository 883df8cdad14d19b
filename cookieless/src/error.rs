//! Errors a handler can meet when it uses the session, and how they answer the client.

use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, StatusCode};

use crate::session_store::StoreError;

/// Why a [`Session`](crate::Session) method failed.
///
/// It is a response: a handler that returns `Result<_, SessionError>` (or converts it into its
/// own error) answers with [`SessionError::status`] and a JSON body `{"detail": "..."}`.
///
/// ```
/// use axum::response::IntoResponse;
/// use cookieless::SessionError;
///
/// let response = SessionError::TooLarge { limit: 1024 }.into_response();
/// assert_eq!(response.status(), 413);
///
/// let wait = std::time::Duration::from_millis(1_500);
/// let response = SessionError::RateLimited { retry_after: wait }.into_response();
/// assert_eq!(response.status(), 429);
/// assert_eq!(response.headers()["retry-after"], "2");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The store could not be read or written (503).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An insert would take the session past the layer's size cap (413); none of the request's
    /// changes are saved.
    #[error("the session would exceed its size limit of {limit} bytes")]
    TooLarge {
        /// The cap, in bytes of serialised data.
        limit: usize,
    },
    /// Other requests changed the session so often that this one's changes could not be merged
    /// in (503).
    #[error("the session changed concurrently too often to save this request's changes")]
    Contention,
    /// Another request held the session, on this instance or another sharing the store, for all
    /// the time this one would wait (503 with `Retry-After`). See
    /// [`SessionLayer::with_lease_wait`](crate::SessionLayer::with_lease_wait).
    #[error("the session is busy with another request; retry in {} s", retry_after_secs(*.retry_after))]
    Busy {
        /// How long before trying again: until the holder's lease runs out at the latest, or, if
        /// the wait was for this instance's own requests on the session, that wait.
        retry_after: Duration,
    },
    /// A value could not be serialised, or a stored value is not of the type asked for (500).
    #[error("a session value could not be converted: {0}")]
    Value(#[from] serde_json::Error),
    /// The client has begun too many sessions lately (429): a request that would begin another
    /// is refused, and nothing of it is stored. See
    /// [`SessionLayer::with_new_session_limit`](crate::SessionLayer::with_new_session_limit).
    #[error("too many new sessions from this address; retry in {} s", retry_after_secs(*.retry_after))]
    RateLimited {
        /// How long until the client's budget allows another session.
        retry_after: Duration,
    },
    /// The request carried a token that a rotation (a login, say) retired moments ago, within
    /// [`Expiry::rotation_grace`](crate::Expiry::rotation_grace): it was sent before its client
    /// learned the new token (409, `{"detail", "code": "session_rotated"}`, no `X-Session`).
    /// Nothing of the request is saved; a client retries it with the token it holds now.
    #[error("the session's token was replaced by a rotation; retry with the new token")]
    Rotated,
    /// The action needs a recent proof of who the user is, and the session's is older or
    /// missing ([`Session::require_recent_auth`](crate::Session::require_recent_auth)): 403,
    /// `{"detail", "code": "reauthentication_required"}`.
    #[error("the user must confirm their password for this")]
    ReauthenticationRequired,
    /// The handler was reached without going through a [`SessionLayer`](crate::SessionLayer)
    /// (500): a mistake in how the app is assembled.
    #[error("no session layer is installed in front of this handler")]
    MissingLayer,
}

impl SessionError {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            SessionError::Store(_) | SessionError::Contention | SessionError::Busy { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            SessionError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            SessionError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            SessionError::Rotated => StatusCode::CONFLICT,
            SessionError::ReauthenticationRequired => StatusCode::FORBIDDEN,
            SessionError::Value(_) | SessionError::MissingLayer => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

impl IntoResponse for SessionError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let SessionError::Busy { .. } = self {
            tracing::warn!(error = %self, "session error");
        } else if status.is_server_error() {
            tracing::error!(error = %self, "session error");
        }
        let detail = match &self {
            SessionError::Store(_) => "The session store is unavailable. Try again shortly.".into(),
            SessionError::Contention => "The session is busy. Try again.".into(),
            SessionError::Busy { .. } => {
                "The session is busy with another request. Try again.".into()
            }
            SessionError::RateLimited { retry_after } => format!(
                "Too many new sessions from your address. Try again in {} seconds.",
                retry_after_secs(*retry_after)
            ),
            SessionError::Rotated => {
                return json_error_with_code(
                    status,
                    "This request was sent with a session token that was just replaced. Send it again with the new one.",
                    SESSION_ROTATED,
                );
            }
            SessionError::ReauthenticationRequired => {
                return json_error_with_code(
                    status,
                    "Please confirm your password to continue.",
                    REAUTHENTICATION_REQUIRED,
                );
            }
            other => other.to_string(),
        };
        let mut response = json_error(status, &detail);
        if let SessionError::RateLimited { retry_after } | SessionError::Busy { retry_after } = self
        {
            response.headers_mut().insert(
                RETRY_AFTER,
                HeaderValue::from(retry_after_secs(retry_after)),
            );
        }
        response
    }
}

/// A wait as `Retry-After` gives it: whole seconds, rounded up, at least one.
fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// The `code` of the answer to a request sent with a token a rotation retired
/// ([`SessionError::Rotated`]), for clients to recognise it by.
pub const SESSION_ROTATED: &str = "session_rotated";

/// The `code` of the answer to an action that needs a more recent proof of who the user is
/// ([`SessionError::ReauthenticationRequired`]).
pub const REAUTHENTICATION_REQUIRED: &str = "reauthentication_required";

/// The body of every answer the library gives by itself: `{"detail": "..."}`.
pub(crate) fn json_error(status: StatusCode, detail: &str) -> Response {
    json_body(status, serde_json::json!({ "detail": detail }))
}

/// `{"detail": "...", "code": "..."}`, for an answer a client must tell apart from others with
/// the same status.
pub(crate) fn json_error_with_code(status: StatusCode, detail: &str, code: &str) -> Response {
    json_body(
        status,
        serde_json::json!({ "detail": detail, "code": code }),
    )
}

fn json_body(status: StatusCode, body: serde_json::Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
