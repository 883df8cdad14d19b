//! When a request may leave, and with which token.
//!
//! A session starts on the server when a request without a token writes to it; the answer carries
//! the new token. Two such requests in flight at once would start two sessions, and the second
//! answer, stale by then, would be ignored: its write (a click, an item added to a cart) would be
//! lost in a session nobody holds. So while no token is held, a request that may write waits for
//! the one already starting a session and then carries the token it brought back.
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

use crate::tokens;

/// Held by the one tokenless request that may start a session.
static STARTING: Mutex<()> = Mutex::new(());

/// How long a request without a token waits for another one to start the session before it
/// goes without.
pub const START_WAIT: Duration = Duration::from_secs(10);

/// A request on its way: the token it carries and, if it may start the session, the right to.
///
/// The crate's REST calls and its server-function client send every request through one; do the
/// same for requests sent by other means: [`SessionRequest::begin`] before sending, put
/// [`SessionRequest::token`] in the [`X_SESSION`](crate::X_SESSION) header, and hand the answer's
/// status and `X-Session` header to [`SessionRequest::finish_with_status`].
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
///     session.finish_with_status(status, response.headers().get(X_SESSION).as_deref());
///     Ok(status)
/// }
/// ```
#[must_use = "a request that starts a session holds back the others until it is finished"]
pub struct SessionRequest {
    sent: Option<String>,
    _starting: Option<MutexGuard<'static, ()>>,
}

impl SessionRequest {
    /// Waits until a request with this `method` may be sent. With a token held, that is at once.
    /// Without one, it waits for any request that is starting a session, for at most
    /// [`START_WAIT`]; the safe methods of RFC 9110 (`GET`, `HEAD`, `OPTIONS`, `TRACE`) are taken
    /// not to write and never hold others back.
    pub async fn begin(method: &Method) -> Self {
        if let Some(token) = tokens::current() {
            return SessionRequest {
                sent: Some(token),
                _starting: None,
            };
        }
        let waited = START_WAIT.as_millis().try_into().unwrap_or(u32::MAX);
        // Leptos requires server functions' futures to be `Send`; a browser timer is not, and need
        // not be: the page runs on one thread.
        let timer = SendWrapper::new(TimeoutFuture::new(waited));
        let starting = match future::select(STARTING.lock(), timer).await {
            Either::Left((starting, _)) => Some(starting),
            Either::Right(_) => None,
        };
        let sent = tokens::current();
        let may_write = !method.is_safe();
        SessionRequest {
            _starting: starting.filter(|_| sent.is_none() && may_write),
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
        tokens::apply_response(self.sent.as_deref(), header);
    }

    /// [`SessionRequest::finish`] for an answer with `status`: a 401 also tells whoever watches
    /// the session that the server does not take this client as logged in
    /// ([`SessionEvent::Unauthorized`](crate::SessionEvent::Unauthorized)).
    pub fn finish_with_status(self, status: u16, header: Option<&str>) {
        self.finish(header);
        if status == 401 {
            tokens::report_unauthorized();
        }
    }
}
