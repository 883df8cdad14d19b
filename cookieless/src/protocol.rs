//! The `X-Session` protocol, as `docs/protocol.md` states it: what a request's header means, what
//! is saved when the handler is done, and what the response tells the client.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use compact_str::CompactString;
use http::header::CACHE_CONTROL;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::data::Data;
use crate::error::{detail_response, SessionError};
use crate::lazy_state::StillLoading;
use crate::record::Record;
use crate::session::{Loaded, Presented, Session, Stored};
use crate::store::Saved;
use crate::token::Token;

/// The one header that carries the session, both ways.
pub static X_SESSION: HeaderName = HeaderName::from_static("x-session");

/// Longer values are refused with 431 rather than treated as a bad token.
pub const MAX_HEADER_LEN: usize = 1024;

/// Times a change is replayed onto a record another process wrote meanwhile before giving up.
const SAVE_ATTEMPTS: usize = 4;

/// A request the layer answers itself, without running the handler.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    SeveralTokens,
    HeaderTooLarge,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::SeveralTokens => detail_response(
                StatusCode::BAD_REQUEST,
                "Send at most one X-Session header, holding one token.",
            ),
            Refusal::HeaderTooLarge => detail_response(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "The X-Session header is too large.",
            ),
        }
    }
}

/// Reads the request's `X-Session` header. Cookies, the query string and the body are never
/// consulted: the header is the only transport.
pub(crate) fn read_request(headers: &HeaderMap) -> Result<Presented, Refusal> {
    let mut values = headers.get_all(&X_SESSION).iter();
    let Some(value) = values.next() else {
        return Ok(Presented::Nothing);
    };
    if values.next().is_some() {
        return Err(Refusal::SeveralTokens);
    }
    let bytes = value.as_bytes();
    if bytes.len() > MAX_HEADER_LEN {
        return Err(Refusal::HeaderTooLarge);
    }
    if let Some(token) = Token::from_header(value) {
        return Ok(Presented::Token(token));
    }
    // Neither a comma nor whitespace can be part of a token, so these are only looked for in
    // headers that are not one.
    if bytes.contains(&b',') {
        return Err(Refusal::SeveralTokens);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Presented::Nothing);
    }
    Ok(Presented::Malformed)
}

/// What the response says about the client's token.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// No `X-Session` header: the client keeps what it has.
    Leave,
    /// The client must use this token from now on.
    Set(Token),
    /// The client must forget its token.
    Clear,
}

/// How the layer answers once the handler has.
pub(crate) enum Finish {
    /// Nothing needs the store: the answer is ready.
    Now(Response<Body>),
    /// The answer comes once the store is written (or read, or the state is free to take).
    Later(Pin<Box<dyn Future<Output = Response<Body>> + Send>>),
}

impl Finish {
    fn later(
        response: Response<Body>,
        committing: impl Future<Output = Result<Outcome, SessionError>> + Send + 'static,
    ) -> Self {
        Finish::Later(Box::pin(async move {
            match committing.await {
                Ok(outcome) => stamp(response, outcome),
                Err(error) => error.into_response(),
            }
        }))
    }

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

fn finish_with(session: &Session, state: Option<Loaded>, response: Response<Body>) -> Finish {
    if response.status().is_server_error() {
        // The handler failed, so its changes are not trusted; the client keeps its token.
        return Finish::Now(response);
    }
    let outcome = match state {
        Some(loaded) => match settled(session, &loaded) {
            Some(outcome) => outcome,
            None => {
                let session = session.clone();
                return Finish::later(response, async move { write(&session, loaded).await });
            }
        },
        None => match session.presented() {
            // A handler that never touched the session still gets a truthful answer about its
            // token.
            Presented::Token(_) => {
                let session = session.clone();
                return Finish::Later(Box::pin(async move {
                    match session.load().await {
                        Ok(loaded) => finish_with(&session, Some(loaded), response).answer().await,
                        Err(error) => error.into_response(),
                    }
                }));
            }
            Presented::Nothing | Presented::Malformed => answer_unchanged(session, None),
        },
    };
    Finish::Now(stamp(response, outcome))
}

/// Tells the client what became of its token.
fn stamp(mut response: Response<Body>, outcome: Outcome) -> Response<Body> {
    let value = match outcome {
        Outcome::Leave => return response,
        Outcome::Set(token) => token.header_value(),
        Outcome::Clear => HeaderValue::from_static(""),
    };
    let headers = response.headers_mut();
    headers.insert(X_SESSION.clone(), value);
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The answer when the store need not be written: nothing changed and nothing is due.
fn settled(session: &Session, loaded: &Loaded) -> Option<Outcome> {
    if loaded.refused {
        return Some(answer_unchanged(session, loaded.stored.as_ref()));
    }
    match &loaded.stored {
        None if loaded.is_empty() => Some(answer_unchanged(session, None)),
        Some(stored)
            if !loaded.rotate
                && !loaded.is_empty()
                && loaded.changed.is_empty()
                && !loaded.principal_changed
                && !touch_due(session, stored) =>
        {
            Some(Outcome::Set(stored.token.clone()))
        }
        _ => None,
    }
}

/// Whether a session read without changes was last seen so long ago that it is written back.
fn touch_due(session: &Session, stored: &Stored) -> bool {
    stored.read_at.saturating_sub(stored.last_seen) >= session.shared().expiry.touch_interval()
}

/// Writes what `settled` could not settle: a change, a new or rotated session, an emptied one,
/// or a refresh of when it was last seen.
async fn write(session: &Session, mut loaded: Loaded) -> Result<Outcome, SessionError> {
    let store = &session.shared().store;
    if loaded.is_empty() {
        if let Some(stored) = &loaded.stored {
            store.delete(&stored.key).await?;
        }
        return Ok(answer_unchanged(session, None));
    }
    // No size check here: `insert` refuses any value that would pass the cap, and a session
    // read back unchanged must stay readable even if the cap was lowered since it was written.
    match loaded.stored.take() {
        Some(stored) if !loaded.rotate => save_in_place(session, &loaded, stored).await,
        previous => {
            let token = Token::generate();
            let now = session.shared().clock.now();
            // A new token is a new session, begun by the browser making this request.
            let identity = Identity {
                principal: loaded.principal.clone(),
                user_agent: session.request_user_agent(),
            };
            let data = std::mem::take(&mut loaded.data);
            let record = new_record(session, 1, now, now, data, identity);
            if store.save(&token.key(), &record, None).await? == Saved::Conflict {
                return Err(SessionError::Contention);
            }
            if let Some(previous) = previous {
                store.delete(&previous.key).await?;
            }
            Ok(Outcome::Set(token))
        }
    }
}

/// The answer when nothing is saved: the live session's token if there is one, else an order to
/// forget whatever token the client sent.
fn answer_unchanged(session: &Session, live: Option<&Stored>) -> Outcome {
    match (live, session.presented()) {
        (Some(stored), _) => Outcome::Set(stored.token.clone()),
        (None, Presented::Nothing) => Outcome::Leave,
        (None, Presented::Malformed | Presented::Token(_)) => Outcome::Clear,
    }
}

/// Writes a live session back under its own token: the changed values if there are any, else the
/// time it was last seen, when that has grown stale.
async fn save_in_place(
    session: &Session,
    loaded: &Loaded,
    stored: Stored,
) -> Result<Outcome, SessionError> {
    let store = &session.shared().store;
    let now = stored.read_at;
    let identity = || Identity {
        principal: loaded.principal.clone(),
        user_agent: loaded.user_agent.clone(),
    };
    if loaded.changed.is_empty() && !loaded.principal_changed {
        // Nothing changed, so `settled` would have answered unless a refresh of when the
        // session was last seen is due.
        let record = new_record(
            session,
            stored.version + 1,
            stored.created,
            now,
            loaded.data.clone(),
            identity(),
        );
        // A lost refresh only shortens the idle deadline by the touch interval, so a failure
        // here must not fail a request that read its session successfully.
        if let Err(error) = store.save(&stored.key, &record, Some(stored.version)).await {
            tracing::warn!(%error, key = ?stored.key, "could not refresh a session's last use");
        }
        return Ok(Outcome::Set(stored.token));
    }

    let limit = session.shared().max_size;
    let (mut version, mut created, mut data, mut identity) = (
        stored.version,
        stored.created,
        loaded.data.clone(),
        identity(),
    );
    for _ in 0..SAVE_ATTEMPTS {
        let record = new_record(session, version + 1, created, now, data, identity.clone());
        if store.save(&stored.key, &record, Some(version)).await? == Saved::Written {
            return Ok(Outcome::Set(stored.token));
        }
        // Another process wrote or deleted the session since it was read.
        let latest = store.load(&stored.key).await?;
        let Some(latest) = latest.filter(|latest| !latest.is_expired(now)) else {
            // It was ended elsewhere: an ended session stays ended.
            return Ok(Outcome::Clear);
        };
        data = Arc::new(replay(
            &loaded.data,
            &loaded.changed,
            Arc::unwrap_or_clone(latest.data),
        ));
        if Record::data_size(&data) > limit {
            return Err(SessionError::TooLarge { limit });
        }
        if !loaded.principal_changed {
            identity.principal = latest.principal;
        }
        identity.user_agent = latest.user_agent;
        (version, created) = (latest.version, latest.created);
    }
    Err(SessionError::Contention)
}

/// This request's changes, key by key, on top of a newer record.
fn replay(ours: &Data, changed: &BTreeSet<CompactString>, mut latest: Data) -> Data {
    for key in changed {
        match ours.get(key) {
            Some(value) => latest.insert(key, value.clone()),
            None => latest.remove(key),
        };
    }
    latest
}

/// Who a session belongs to and what began it: kept with the record, outside its data.
#[derive(Clone)]
struct Identity {
    principal: Option<Arc<str>>,
    user_agent: Option<Arc<str>>,
}

fn new_record(
    session: &Session,
    version: u64,
    created: u64,
    now: u64,
    data: Arc<Data>,
    identity: Identity,
) -> Record {
    Record {
        version,
        created,
        last_seen: now,
        expires: session.shared().expiry.deadline(created, now),
        data,
        principal: identity.principal,
        user_agent: identity.user_agent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(&X_SESSION, HeaderValue::from_bytes(value).unwrap());
        }
        headers
    }

    #[test]
    fn reading_the_header() {
        assert!(matches!(
            read_request(&headers(&[])),
            Ok(Presented::Nothing)
        ));
        assert!(matches!(
            read_request(&headers(&[b""])),
            Ok(Presented::Nothing)
        ));
        let token = Token::generate();
        assert!(matches!(
            read_request(&headers(&[token.as_str().as_bytes()])),
            Ok(Presented::Token(t)) if t == token
        ));
        assert!(matches!(
            read_request(&headers(&[b"not a token"])),
            Ok(Presented::Malformed)
        ));
        assert!(matches!(
            read_request(&headers(&[b"caf\xe9caf\xe9caf\xe9caf\xe9caf\xe9caf\xe9"])),
            Ok(Presented::Malformed)
        ));
        assert!(matches!(
            read_request(&headers(&["a".repeat(200).as_bytes()])),
            Ok(Presented::Malformed)
        ));
        assert_eq!(
            read_request(&headers(&["a".repeat(MAX_HEADER_LEN + 1).as_bytes()])).err(),
            Some(Refusal::HeaderTooLarge)
        );
        let two = format!("{}, {}", token.as_str(), Token::generate().as_str());
        assert_eq!(
            read_request(&headers(&[two.as_bytes()])).err(),
            Some(Refusal::SeveralTokens)
        );
        assert_eq!(
            read_request(&headers(&[
                token.as_str().as_bytes(),
                token.as_str().as_bytes()
            ]))
            .err(),
            Some(Refusal::SeveralTokens)
        );
    }

    #[test]
    fn replay_applies_inserts_and_removals_over_newer_data() {
        let ours: Data = [("a", serde_json::json!(1))].into_iter().collect();
        let changed = ["a".into(), "b".into()].into();
        let latest: Data = [("b", serde_json::json!(2)), ("c", serde_json::json!(3))]
            .into_iter()
            .collect();
        let merged = replay(&ours, &changed, latest);
        assert_eq!(merged.get("a"), Some(&serde_json::json!(1)));
        assert_eq!(merged.get("b"), None);
        assert_eq!(merged.get("c"), Some(&serde_json::json!(3)));
    }
}
