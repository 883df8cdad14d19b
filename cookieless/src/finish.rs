//! The end of a request: take its session state, decide, commit, and tell the client what became
//! of its token.

use std::future::Future;
use std::pin::Pin;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::header::CACHE_CONTROL;
use http::{HeaderName, HeaderValue};

use crate::commit::{commit, Newcomer};
use crate::decide::{answer_unchanged, decide, Decision, Outcome};
use crate::error::SessionError;
use crate::expiry::rfc3339;
use crate::lazy_state::StillLoading;
use crate::request_header::{Presented, X_SESSION};
use crate::session::Session;
use crate::state::SessionState;

/// How the layer answers once the handler has.
pub(crate) enum Finish {
    /// Nothing needs the store: the answer is ready.
    Now(Response<Body>),
    /// The answer comes once the store is written (or read, or the state is free to take).
    Later(Pin<Box<dyn Future<Output = Response<Body>> + Send>>),
}

impl Finish {
    async fn answer(self) -> Response<Body> {
        match self {
            Finish::Now(response) => response,
            Finish::Later(answer) => answer.await,
        }
    }
}

/// Saves what the handler changed and stamps the response with the client's token. A request
/// that changed nothing is answered at once, so that reads carry no future of their own.
pub(crate) fn finish(session: &Session, mut response: Response<Body>) -> Finish {
    response.headers_mut().remove(&X_SESSION);
    // Taken even if the handler kept a clone of the session, so that later requests on it
    // proceed once this one is saved.
    match session.try_take_state() {
        Ok(state) => finish_with(session, state, response),
        Err(StillLoading) => {
            // A clone the handler kept is loading the session in another task.
            let session = session.clone();
            Finish::Later(Box::pin(async move {
                let state = session.take_state().await;
                finish_with(&session, state, response).answer().await
            }))
        }
    }
}

fn finish_with(session: &Session, state: Option<SessionState>, response: Response<Body>) -> Finish {
    if session.presented_rotated() && state.is_none() {
        // The handler met the retired token when it first used its session; whatever it made of
        // that, the client must send the request again with its new token.
        return Finish::Now(SessionError::Rotated.into_response());
    }
    if response.status().is_server_error() {
        // The handler failed, so its changes are not trusted; the client keeps its token.
        return Finish::Now(response);
    }
    let state = match (state, session.presented()) {
        (Some(state), _) => state,
        // A handler that never touched the session still gets a truthful answer about its token,
        // read without waiting for the requests that hold the session.
        (None, Presented::Token(_)) => {
            let session = session.clone();
            return Finish::Later(Box::pin(async move {
                match session.peek().await {
                    Ok(state) => finish_with(&session, Some(state), response).answer().await,
                    // A retired token, in a request that never needed its session: the answer
                    // stands, and says nothing about the token.
                    Err(SessionError::Rotated) => response,
                    // The handler's answer stands; the client keeps its token.
                    Err(error) => {
                        tracing::warn!(%error, "could not check the token of a request that never used its session");
                        stamp(response, Outcome::Leave)
                    }
                }
            }));
        }
        (None, presented @ (Presented::Nothing | Presented::Malformed)) => {
            return Finish::Now(stamp(response, answer_unchanged(None, presented)));
        }
    };
    let config = session.config();
    match decide(&state, session.presented(), &config.expiry) {
        Decision::Nothing(outcome) | Decision::Refuse(outcome) => {
            Finish::Now(stamp(response, outcome))
        }
        decision => {
            let session = session.clone();
            Finish::Later(Box::pin(async move {
                // Asked for only when this request begins a session.
                let newcomer = match decision {
                    Decision::Create => Newcomer {
                        user_agent: session.request_user_agent(),
                        charge: session.charge(),
                    },
                    _ => Newcomer::default(),
                };
                match commit(session.config(), state, decision, newcomer).await {
                    Ok(outcome) => stamp(response, outcome),
                    Err(error) => error.into_response(),
                }
            }))
        }
    }
}

/// The response header that says when the session of the token in `X-Session` dies unless it is
/// used again (the earlier of its idle and absolute deadlines), as an RFC 3339 timestamp in UTC.
pub static X_SESSION_EXPIRES: HeaderName = HeaderName::from_static("x-session-expires");

/// Tells the client what became of its token, and when a live one dies.
pub(crate) fn stamp(mut response: Response<Body>, outcome: Outcome) -> Response<Body> {
    let headers = response.headers_mut();
    headers.remove(&X_SESSION_EXPIRES);
    let value = match outcome {
        Outcome::Leave => return response,
        Outcome::Set(token, expires) => {
            // Only ASCII digits and punctuation.
            if let Ok(expires) = HeaderValue::from_bytes(&rfc3339(expires)) {
                headers.insert(X_SESSION_EXPIRES.clone(), expires);
            }
            token.header_value()
        }
        Outcome::Clear => HeaderValue::from_static(""),
    };
    headers.insert(X_SESSION.clone(), value);
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
