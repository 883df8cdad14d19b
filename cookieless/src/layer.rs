//! The tower layer that gives every request a [`Session`] and answers with its token.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::Request;
use pin_project_lite::pin_project;
use tokio::task::JoinHandle;
use tower::{Layer, Service};

use crate::clock::Clock;
use crate::config::LayerConfig;
use crate::decide::Outcome;
use crate::error::SessionError;
use crate::expiry::Expiry;
use crate::finish::{finish, stamp, Finish};
use crate::locks::SessionLocks;
use crate::metrics::Metrics;
use crate::new_sessions::{Charge, NewSessionBudget, NewSessionLimit};
use crate::request_header::{read_request, Presented};
use crate::session::Session;
use crate::session_store::SessionStore;
use crate::sweep;
use crate::transport::{cross_site_refusal, from_own_pages, Transport};

/// Adds cookieless sessions to a service.
///
/// ```no_run
/// use axum::{extract::Request, routing::get, Router, ServiceExt};
/// use cookieless::{MemoryStore, Session, SessionError, SessionLayer};
/// use tower::Layer;
///
/// async fn visits(session: Session) -> Result<String, SessionError> {
///     let visits: u64 = session.get("visits").await?.unwrap_or(0) + 1;
///     session.insert("visits", visits).await?;
///     Ok(visits.to_string())
/// }
///
/// # async fn run() -> std::io::Result<()> {
/// let routes = Router::new().route("/visits", get(visits));
/// let app = SessionLayer::new(MemoryStore::new()).layer(routes);
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// axum::serve(listener, ServiceExt::<Request>::into_make_service(app)).await
/// # }
/// ```
///
/// `Router::layer(SessionLayer::new(..))` works too, but costs more: axum then boxes the layered
/// service of each route and clones it on every request, which took a tenth of a read's
/// throughput in `docs/benchmarks.md`. Around the whole router, the layer runs once per request,
/// before routing.
///
/// A browser app on another origin must be allowed to send and read the header: see
/// [`cors_layer`](crate::cors_layer).
#[derive(Clone)]
pub struct SessionLayer {
    store: Arc<dyn SessionStore>,
    expiry: Expiry,
    clock: Clock,
    max_size: usize,
    // One table for every service this layer wraps, so that requests to different routes on the
    // same session are serialised too.
    locks: Arc<SessionLocks>,
    new_sessions: Option<(NewSessionLimit, Arc<NewSessionBudget>)>,
    max_sessions_per_principal: Option<usize>,
    lease_wait: Option<Duration>,
    metrics: Metrics,
    transport: Transport,
}

impl SessionLayer {
    /// The default cap on a session's serialised data: 64 KiB.
    pub const DEFAULT_MAX_SIZE: usize = 64 * 1024;

    /// How long, by default, a request waits for another request's lease on its session before it
    /// is answered `503`: see [`SessionLayer::with_lease_wait`].
    // Longer than `RedisStore::DEFAULT_LEASE_DEADLINE`, so that a request that comes just after
    // an instance died holding its session outlasts the dead lease.
    pub const DEFAULT_LEASE_WAIT: Duration = Duration::from_secs(6);

    /// Sessions kept in `store`. To keep a handle on the store as well (to use it elsewhere),
    /// pass an `Arc` of it: `Arc<S>` is a store whenever `S` is.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use cookieless::{MemoryStore, SessionLayer};
    ///
    /// let store = Arc::new(MemoryStore::new());
    /// let layer = SessionLayer::new(store.clone());
    /// ```
    pub fn new<S: SessionStore>(store: S) -> Self {
        SessionLayer {
            metrics: Metrics::for_store::<S>(),
            transport: Transport::default(),
            store: Arc::new(store),
            expiry: Expiry::default(),
            clock: Clock::default(),
            max_size: Self::DEFAULT_MAX_SIZE,
            locks: Arc::default(),
            new_sessions: None,
            max_sessions_per_principal: None,
            lease_wait: Some(Self::DEFAULT_LEASE_WAIT),
        }
    }

    /// Sets the idle and absolute timeouts (default: 2 weeks idle, 1 day idle for a session
    /// nobody is logged in to, 30 days absolute) and the grace window of a rotated token (default
    /// 30 seconds).
    ///
    /// ```
    /// use std::time::Duration;
    /// use cookieless::{Expiry, MemoryStore, SessionLayer};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new()).with_expiry(Expiry {
    ///     idle: Duration::from_secs(30 * 60),
    ///     anonymous_idle: Duration::from_secs(10 * 60),
    ///     absolute: Duration::from_secs(12 * 60 * 60),
    ///     rotation_grace: Duration::from_secs(10),
    /// });
    /// ```
    pub fn with_expiry(mut self, expiry: Expiry) -> Self {
        self.expiry = expiry;
        self
    }

    /// Judges expiry, and refills the budget of new sessions, by `clock` instead of the system
    /// clock: for tests that move time forward.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self.new_sessions = self.new_sessions.take().map(|(limit, _)| {
            let budget = Arc::new(NewSessionBudget::new(&limit, self.clock.clone()));
            (limit, budget)
        });
        self
    }

    /// Limits how many sessions one client address may begin (default: no limit).
    ///
    /// A request that writes (any method but `GET`, `HEAD`, `OPTIONS` and `TRACE`) without a live
    /// token takes one from its address's budget before its handler runs: at once when it presents
    /// no token, once its session is loaded when it presents one that turns out dead. Beyond the
    /// budget it is answered `429` with `Retry-After` and `{"detail"}`, and its handler does not
    /// run. A read that stores a value without a live token takes one when it is saved, and is
    /// answered the same way, with nothing stored, if there is none left.
    ///
    /// The client's address comes from axum's `ConnectInfo<SocketAddr>` (serve the app with
    /// `into_make_service_with_connect_info::<SocketAddr>()`), or from a proxy's header
    /// ([`ClientAddress`](crate::ClientAddress)). Requests without an address share one budget.
    ///
    /// ```
    /// use cookieless::{MemoryStore, NewSessionLimit, SessionLayer};
    ///
    /// let limit = NewSessionLimit::per_minute(60).expect("not zero");
    /// let layer = SessionLayer::new(MemoryStore::new()).with_new_session_limit(limit);
    /// ```
    pub fn with_new_session_limit(mut self, limit: NewSessionLimit) -> Self {
        let budget = Arc::new(NewSessionBudget::new(&limit, self.clock.clone()));
        self.new_sessions = Some((limit, budget));
        self
    }

    /// Caps the live sessions of one principal (default: no cap). When a session is bound to a
    /// principal that already has `max` (a login on yet another device), that principal's least
    /// recently used session ends.
    ///
    /// ```
    /// use cookieless::{MemoryStore, SessionLayer};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new()).with_max_sessions_per_principal(100);
    /// ```
    pub fn with_max_sessions_per_principal(mut self, max: usize) -> Self {
        self.max_sessions_per_principal = Some(max.max(1));
        self
    }

    /// Bounds how long a request waits for its session while another request, on this instance or
    /// another that shares the store, holds it (default [`SessionLayer::DEFAULT_LEASE_WAIT`], a
    /// little longer than the Redis store's default lease deadline). Past it the request is
    /// answered `503` with `Retry-After`, and nothing it did to its session is saved.
    ///
    /// With a store that several instances share ([`RedisStore`](crate::RedisStore)), every
    /// request that uses its session holds a lease on it in the store from its load to its save, so
    /// that one session's requests run one at a time across every instance, as they do within
    /// one. Stores that one process uses alone need no lease, and this setting does not apply.
    ///
    /// ```
    /// use std::time::Duration;
    /// use cookieless::{MemoryStore, SessionLayer};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new()).with_lease_wait(Duration::from_secs(2));
    /// ```
    pub fn with_lease_wait(mut self, wait: Duration) -> Self {
        self.lease_wait = Some(wait);
        self
    }

    /// Takes no leases, even on a store that several instances share: requests on one session
    /// that reach different instances at once are no longer serialised, and their changes are
    /// merged key by key on save (two changes of the same key at once keep the later). It saves
    /// the call that releases a lease after a request that only read its session (a write
    /// releases its lease in the call that saves); see `docs/benchmarks.md` for what that costs.
    ///
    /// ```
    /// use cookieless::{MemoryStore, SessionLayer};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new()).without_leases();
    /// ```
    pub fn without_leases(mut self) -> Self {
        self.lease_wait = None;
        self
    }

    /// Starts removing this layer's expired sessions from its store every `period`, on the
    /// current Tokio runtime. Expired sessions are refused whether or not this runs; it only
    /// reclaims their space. Abort the returned handle to stop it.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime, as `tokio::spawn` does.
    ///
    /// ```
    /// use std::time::Duration;
    /// use cookieless::{MemoryStore, SessionLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let layer = SessionLayer::new(MemoryStore::new());
    /// let sweeper = layer.spawn_sweeper(Duration::from_secs(60));
    /// # sweeper.abort();
    /// # }
    /// ```
    pub fn spawn_sweeper(&self, period: Duration) -> JoinHandle<()> {
        sweep::spawn_sweeper(self.store.clone(), self.clock.clone(), period, self.metrics)
    }

    /// How the token travels (default: [`Transport::HeaderOnly`], no cookie ever); see
    /// [`Transport::HeaderOrCookie`] for the cookie beside the header, and what it costs.
    ///
    /// ```
    /// use cookieless::{MemoryStore, SessionLayer, Transport};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new()).with_transport(Transport::header_or_cookie());
    /// ```
    pub fn with_transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// Caps a session's serialised data, in bytes (default: [`SessionLayer::DEFAULT_MAX_SIZE`]).
    /// An insert past the cap fails with [`SessionError::TooLarge`](crate::SessionError) (413).
    ///
    /// ```
    /// use cookieless::{MemoryStore, SessionLayer};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new()).with_max_size(4 * 1024);
    /// ```
    pub fn with_max_size(mut self, max_size: usize) -> Self {
        self.max_size = max_size;
        self
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionService {
            inner,
            config: Arc::new(LayerConfig {
                store: self.store.clone(),
                expiry: self.expiry,
                clock: self.clock.clone(),
                max_size: self.max_size,
                locks: self.locks.clone(),
                new_sessions: self.new_sessions.as_ref().map(|(_, budget)| budget.clone()),
                max_sessions_per_principal: self.max_sessions_per_principal,
                lease_wait: self.lease_wait,
                metrics: self.metrics,
                transport: self.transport.clone(),
            }),
        }
    }
}

/// A service wrapped by [`SessionLayer`]: every request it handles carries a [`Session`].
#[derive(Clone)]
pub struct SessionService<S> {
    inner: S,
    config: Arc<LayerConfig>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SessionService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    ResBody::Error: Into<axum::BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = SessionFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let transport = &self.config.transport;
        let presented = match read_request(request.headers()) {
            Ok(Presented::Nothing) => match transport.read_cookie(request.headers()) {
                Some(presented) => {
                    // Sent by the browser by itself, perhaps from another site's page.
                    let unsafe_method = !request.method().is_safe();
                    let session_cookie = matches!(presented, Presented::Token(_));
                    if unsafe_method && session_cookie && !from_own_pages(request.headers()) {
                        tracing::warn!(
                            event = "cross_site_request",
                            "an unsafe request carried the session cookie from another site"
                        );
                        return SessionFuture::refused(cross_site_refusal());
                    }
                    presented
                }
                None => Presented::Nothing,
            },
            Ok(presented) => presented,
            Err(refusal) => {
                tracing::debug!(event = "token_refused", reason = ?refusal, "a request's X-Session header was refused");
                return SessionFuture::refused(refusal.into_response());
            }
        };
        if matches!(presented, Presented::Malformed) {
            tracing::debug!(
                event = "token_refused",
                reason = "malformed",
                "a token was refused"
            );
        }
        let writes = !request.method().is_safe();
        let charge = match &self.config.new_sessions {
            None => Charge::Free,
            Some(budget) => {
                let client = budget.client(&request);
                if matches!(presented, Presented::Token(_)) || !writes {
                    Charge::Due(client)
                } else {
                    match budget.charge(client) {
                        Ok(()) => Charge::Paid,
                        Err(error) => return SessionFuture::refused(error.into_response()),
                    }
                }
            }
        };
        let user_agent = request.headers().get(http::header::USER_AGENT).cloned();
        let load_first = writes && matches!(presented, Presented::Token(_));
        let session = Session::new(self.config.clone(), presented, user_agent, charge);
        request.extensions_mut().insert(session.clone());

        // The clone may not be ready; the instance that `poll_ready` prepared is the one to call.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        if load_first {
            // A write with a token: whether its token was retired by a rotation, and (under a
            // budget) whether it begins a session, are known only once the session is loaded,
            // and must be settled before the handler runs.
            let checked = session.clone();
            return SessionFuture {
                step: Step::Checking {
                    check: Box::pin(async move {
                        match checked.load_before_handler().await {
                            Ok(()) => Ok(inner.call(request)),
                            // Refused for its dead token, which the client should forget.
                            Err(error @ SessionError::RateLimited { .. }) => {
                                Err(stamp(error.into_response(), Outcome::Clear))
                            }
                            Err(error) => Err(error.into_response()),
                        }
                    }),
                    session,
                },
                cookie: None,
            }
            .with_cookie_of(&self.config.transport);
        }
        SessionFuture {
            step: Step::Handling {
                handler: inner.call(request),
                session,
            },
            cookie: None,
        }
        .with_cookie_of(&self.config.transport)
    }
}

pin_project! {
    /// The response of a [`SessionService`]: the handler's, stamped with the session's token once
    /// what it changed is saved.
    pub struct SessionFuture<F> {
        #[pin]
        step: Step<F>,
        // Set only when the token travels in a cookie too.
        cookie: Option<Transport>,
    }
}

pin_project! {
    #[project = StepProjection]
    enum Step<F> {
        Checking {
            check: Pin<Box<dyn Future<Output = Result<F, Response<Body>>> + Send>>,
            session: Session,
        },
        Handling {
            #[pin]
            handler: F,
            session: Session,
        },
        Answering {
            answer: Pin<Box<dyn Future<Output = Response<Body>> + Send>>,
        },
    }
}

impl<F> SessionFuture<F> {
    /// A request the layer answers itself, without running the handler.
    fn refused(response: Response<Body>) -> Self {
        SessionFuture {
            step: Step::Answering {
                answer: Box::pin(std::future::ready(response)),
            },
            cookie: None,
        }
    }

    /// The same future, mirroring the answer's token into the cookie of `transport`, if it has one.
    fn with_cookie_of(mut self, transport: &Transport) -> Self {
        if transport.cookie_name().is_some() {
            self.cookie = Some(transport.clone());
        }
        self
    }
}

impl<F, ResBody, E> Future for SessionFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    ResBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    ResBody::Error: Into<axum::BoxError>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut step = this.step;
        let mut response = loop {
            match step.as_mut().project() {
                StepProjection::Checking { check, session } => {
                    match ready!(check.as_mut().poll(cx)) {
                        Ok(handler) => {
                            let session = session.clone();
                            step.set(Step::Handling { handler, session });
                        }
                        Err(refusal) => break refusal,
                    }
                }
                StepProjection::Handling { handler, session } => {
                    let response = ready!(handler.poll(cx))?.map(Body::new);
                    match finish(session, response) {
                        Finish::Now(response) => break response,
                        Finish::Later(answer) => step.set(Step::Answering { answer }),
                    }
                }
                StepProjection::Answering { answer } => break ready!(answer.as_mut().poll(cx)),
            }
        };
        if let Some(transport) = this.cookie {
            transport.set_cookie(&mut response);
        }
        Poll::Ready(Ok(response))
    }
}
