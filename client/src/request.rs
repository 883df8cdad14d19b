//! When a request may leave, and with which token.
//!
//! A session starts on the server when a request without a token writes to it; the answer carries
//! the new token. Two such requests in flight at once would start two sessions, and the second
//! answer, stale by then, would be ignored: its write (a click, an item added to a cart) would be
//! lost in a session nobody holds. So while no token is held, a request that may write waits for
//! the one already starting a session and then carries the token it brought back.
//!
//! Under [`TabScope::Shared`](crate::TabScope::Shared) the same holds across the site's tabs:
//! a tab that is starting a session makes the others wait for it, and they then carry the token
//! it brought back. A tab that has just opened first waits (briefly, see
//! [`ASK_WAIT`](crate::ASK_WAIT)) for the tabs already open to tell it their token.
//!
//! The wait is bounded by [`START_WAIT`]: a tokenless write that takes longer than that (a long
//! poll, a stalled connection) must not stall the page, so after it the others go on without a
//! token, at the risk the order exists to avoid.

use std::time::Duration;

use futures_util::future::{self, Either};
use futures_util::lock::{Mutex, MutexGuard};
use gloo_net::http::Method;
use gloo_timers::future::TimeoutFuture;
use send_wrapper::SendWrapper;

use crate::header::{is_rotation_refusal, local_deadline, X_SESSION, X_SESSION_EXPIRES};
use crate::tabs::{self, StartClaim, START_WAIT};
use crate::tokens;

/// Held by the one tokenless request that may start a session.
static STARTING: Mutex<()> = Mutex::new(());

/// How long a request refused because a rotation retired its token waits for the new token
/// before it is sent again; the answer that brings it is normally on its way already.
pub const ROTATION_WAIT: Duration = Duration::from_secs(5);

/// A request on its way: the token it carries and, if it may start the session, the right to.
///
/// The crate's REST calls and its server-function client send every request through one; do the
/// same for requests sent by other means: [`SessionRequest::begin`] before sending, put
/// [`SessionRequest::token`] in the [`X_SESSION`](crate::X_SESSION) header, and hand the answer's
/// status and headers to [`SessionRequest::finish_response`]; if it says the token was retired
/// by a rotation, send the request once more (the first attempt did not run).
///
/// ```no_run
/// use cookieless_client::{SessionRequest, X_SESSION};
/// use gloo_net::http::{Method, Request};
///
/// async fn ping() -> Result<u16, gloo_net::Error> {
///     let session = SessionRequest::begin(&Method::POST).await;
///     let mut request = Request::post("/api/ping");
///     if let Some(token) = session.token() {
///         request = request.header(X_SESSION, token);
///     }
///     let response = request.send().await?;
///     let status = response.status();
///     session.finish_response(status, |name| response.headers().get(name));
///     Ok(status)
/// }
/// ```
#[must_use = "a request that starts a session holds back the others until it is finished"]
pub struct SessionRequest {
    sent: Option<String>,
    /// Its number among the page's requests, in the order they began.
    began: u64,
    _starting: Option<MutexGuard<'static, ()>>,
    _claim: Option<StartClaim>,
}

impl SessionRequest {
    /// Waits until a request with this `method` may be sent. With a token held, that is at once.
    /// Without one, it waits for any request that is starting a session, for at most
    /// [`START_WAIT`]; the safe methods of RFC 9110 (`GET`, `HEAD`, `OPTIONS`, `TRACE`) are taken
    /// not to write and never hold others back.
    pub async fn begin(method: &Method) -> Self {
        // Leptos requires server functions' futures to be `Send`; the browser's futures are not,
        // and need not be: the page runs on one thread.
        SendWrapper::new(Self::begin_here(method)).await
    }

    async fn begin_here(method: &Method) -> Self {
        tokens::ready().await;
        if let Some(token) = tokens::current() {
            return SessionRequest {
                sent: Some(token),
                began: tokens::begin_request(),
                _starting: None,
                _claim: None,
            };
        }
        let started_at = js_sys::Date::now();
        let waited: u32 = START_WAIT.as_millis().try_into().unwrap_or(u32::MAX);
        let timer = TimeoutFuture::new(waited);
        let starting = match future::select(STARTING.lock(), timer).await {
            Either::Left((starting, _)) => Some(starting),
            Either::Right(_) => None,
        };
        let may_write = !method.is_safe();
        let mut claim = None;
        if starting.is_some() && may_write && tokens::current().is_none() {
            let left = (f64::from(waited) - (js_sys::Date::now() - started_at)).max(0.0) as u32;
            claim = Some(tabs::claim_start(left, || tokens::current().is_none()).await);
        }
        let sent = tokens::current();
        let starts = sent.is_none() && may_write;
        SessionRequest {
            began: tokens::begin_request(),
            _starting: starting.filter(|_| starts),
            _claim: claim.filter(|_| starts),
            sent,
        }
    }

    /// The token to send in the `X-Session` header, if any.
    pub fn token(&self) -> Option<&str> {
        self.sent.as_deref()
    }

    /// Applies the answer's `X-Session` header (`None` when it had none), then lets the
    /// requests waiting on this one go.
    ///
    /// A request that got no answer is simply dropped: the next one may then start the session.
    pub fn finish(self, header: Option<&str>) {
        tokens::apply(self.sent.as_deref(), header, None, self.began);
    }

    /// [`SessionRequest::finish`] for an answer with `status`: a 401 also tells whoever watches
    /// the session that the server does not take this client as logged in
    /// ([`SessionEvent::Unauthorized`](crate::SessionEvent::Unauthorized)).
    pub fn finish_with_status(self, status: u16, header: Option<&str>) {
        let session = |name: &str| {
            (name == X_SESSION)
                .then(|| header.map(str::to_string))
                .flatten()
        };
        let _ = self.finish_response(status, session);
    }

    /// [`SessionRequest::finish_with_status`] that also reads the session's deadline from
    /// `X-Session-Expires` (see [`expires`](crate::expires)). `header` looks a response header
    /// up by name. Returns what the answer means for the request: sent again or not.
    pub fn finish_response(self, status: u16, header: impl Fn(&str) -> Option<String>) -> Answer {
        let session = header(X_SESSION);
        let rotated = is_rotation_refusal(status, self.sent.is_some(), session.as_deref());
        let expires = header(X_SESSION_EXPIRES).and_then(|expires| {
            local_deadline(&expires, header("Date").as_deref(), js_sys::Date::now())
        });
        let sent = self.sent.clone();
        // A refusal of a token already replaced (a logout and a login since, in any tab) says
        // nothing of the session held now.
        let of_the_token_held = sent == tokens::current();
        tokens::apply(sent.as_deref(), session.as_deref(), expires, self.began);
        drop(self);
        if status == 401 && of_the_token_held {
            tokens::report_unauthorized();
        }
        if rotated {
            Answer::Rotated { sent }
        } else {
            Answer::Final
        }
    }
}

/// What an answer means for the request that got it.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Answer {
    /// The answer stands: hand it to the caller.
    Final,
    /// The server refused the token the request carried, because a rotation (a login, a
    /// password change) retired it moments ago; the request did not run. Send it once more with
    /// the token [`Answer::retry_token`] gives.
    Rotated {
        /// The token the refused request carried.
        sent: Option<String>,
    },
}

impl Answer {
    /// For [`Answer::Rotated`]: waits for the token that replaced the refused one (its answer is
    /// normally on its way, in this tab or another) for at most [`ROTATION_WAIT`], and returns
    /// it; `None` when none came, and the refusal is the answer.
    pub async fn retry_token(&self) -> Option<String> {
        let Answer::Rotated { sent } = self else {
            return None;
        };
        SendWrapper::new(tokens::replacement_of(sent.as_deref(), ROTATION_WAIT))
            .await
            .filter(|token| Some(token) != sent.as_ref())
    }
}
