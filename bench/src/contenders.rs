//! The contenders' apps: the same two endpoints (read a per-session counter, increment it)
//! behind each session mechanism, shared by the `contender` binary that serves them over HTTP and
//! the in-process `layer` benchmark.
//!
//! Every layer goes around the whole router ([`wrap`]), the way `docs/benchmarks.md` recommends:
//! `Router::layer` boxes the layered service of each route and clones it on every request.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cookieless::{Session, SessionError, SessionLayer};
use serde_json::json;
use tower::util::MapRequestLayer;
use tower::{Layer, Service};

/// A contender's whole app, ready to serve: what `axum::serve` takes through
/// `axum::ServiceExt::into_make_service`.
pub trait App:
    Service<Request, Response = Response, Error = Infallible, Future: Send>
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<T> App for T where
    T: Service<Request, Response = Response, Error = Infallible, Future: Send>
        + Clone
        + Send
        + Sync
        + 'static
{
}

/// Puts `layer` around the whole router, once, rather than around each route as `Router::layer`
/// does. The routes are built first, as `Router::into_make_service` would.
pub fn wrap<L: Layer<Router>>(router: Router, layer: L) -> L::Service {
    layer.layer(router.with_state(()))
}

/// This library's layer, over whichever store `layer` holds.
pub fn ours(layer: SessionLayer) -> impl App {
    async fn read(session: Session) -> Result<Json<serde_json::Value>, SessionError> {
        let value: u64 = session.get("counter").await?.unwrap_or(0);
        Ok(Json(json!({ "value": value })))
    }
    async fn increment(session: Session) -> Result<Json<serde_json::Value>, SessionError> {
        let value = session.get::<u64>("counter").await?.unwrap_or(0) + 1;
        session.insert("counter", value).await?;
        Ok(Json(json!({ "value": value })))
    }
    let routes = Router::new()
        .route("/counter", get(read))
        .route("/counter/increment", post(increment));
    wrap(routes, layer)
}

/// The least any header-carried session layer does: take the request's header and put it, with
/// `Cache-Control: no-store`, on the response, in a future of its own (nothing boxed, no
/// session work).
#[derive(Clone)]
struct EchoLayer;

impl<S> Layer<S> for EchoLayer {
    type Service = Echo<S>;

    fn layer(&self, inner: S) -> Echo<S> {
        Echo(inner)
    }
}

#[derive(Clone)]
struct Echo<S>(S);

impl<S, B> Service<Request<B>> for Echo<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = EchoFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        EchoFuture {
            token: request.headers().get("x-session").cloned(),
            inner: self.0.call(request),
        }
    }
}

pin_project_lite::pin_project! {
    struct EchoFuture<F> {
        #[pin]
        inner: F,
        token: Option<HeaderValue>,
    }
}

impl<F, E> Future for EchoFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = ready!(this.inner.poll(cx))?;
        if let Some(token) = this.token.take() {
            let headers = response.headers_mut();
            headers.insert("x-session", token);
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        Poll::Ready(Ok(response))
    }
}

#[derive(Clone, Default)]
struct Global {
    counters: Arc<Mutex<HashMap<String, u64>>>,
    next: Arc<AtomicU64>,
}

/// No session layer: the counter lives in a process-global map keyed by the header (the
/// ceiling any session layer can reach).
pub fn bare() -> Router {
    async fn read(State(global): State<Global>, headers: HeaderMap) -> impl IntoResponse {
        let key = headers
            .get("x-session")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let value = global
            .counters
            .lock()
            .unwrap()
            .get(key)
            .copied()
            .unwrap_or(0);
        Json(json!({ "value": value }))
    }
    async fn increment(State(global): State<Global>, headers: HeaderMap) -> impl IntoResponse {
        let key = match headers.get("x-session").and_then(|v| v.to_str().ok()) {
            Some(key) => key.to_string(),
            None => format!("s{}", global.next.fetch_add(1, Ordering::Relaxed)),
        };
        let value = {
            let mut counters = global.counters.lock().unwrap();
            let value = counters.entry(key.clone()).or_insert(0);
            *value += 1;
            *value
        };
        let mut headers = HeaderMap::new();
        headers.insert("x-session", HeaderValue::from_str(&key).unwrap());
        (headers, Json(json!({ "value": value })))
    }
    Router::new()
        .route("/counter", get(read))
        .route("/counter/increment", post(increment))
        .with_state(Global::default())
}

/// `bare` behind [`EchoLayer`]: what it costs over `bare`, no session layer of this shape can
/// avoid.
pub fn empty_layer() -> impl App {
    wrap(bare(), EchoLayer)
}

/// `bare` plus `work` of pure CPU time per request (a spin on the clock, touching no memory): what
/// that much work costs in the load table, where it shows as more than itself (see
/// `docs/benchmarks.md`).
pub fn bare_with_work(work: Duration) -> impl App {
    let spin = move |request: Request| {
        let start = Instant::now();
        while start.elapsed() < work {
            std::hint::spin_loop();
        }
        request
    };
    wrap(bare(), MapRequestLayer::new(spin))
}

/// The request header that carries the session a response began: its `X-Session` sent back, or
/// the cookie its `Set-Cookie` set.
pub fn session_carrier(response: &HeaderMap) -> Option<(HeaderName, HeaderValue)> {
    if let Some(token) = response.get("x-session") {
        return Some((HeaderName::from_static("x-session"), token.clone()));
    }
    let cookie = response.get(header::SET_COOKIE)?.to_str().ok()?;
    let pair = cookie.split(';').next()?.trim();
    Some((header::COOKIE, HeaderValue::from_str(pair).ok()?))
}
