//! What the library's integration tests share: a small app that exercises every part of the
//! protocol, and the stores to run it on.
#![allow(dead_code)]

#[cfg(feature = "redis")]
pub mod test_redis;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use cookieless::store::{
    Data, LeaseId, Leased, Millis, Record, Saved, SessionKey, SessionLeases, SessionStore,
    StoreError, Token,
};
#[cfg(feature = "redis")]
use cookieless::RedisStore;
#[cfg(feature = "sled")]
use cookieless::SledStore;
use cookieless::{Clock, MemoryStore, Session, SessionError, SessionLayer};
use serde_json::{json, Value};
use tokio::sync::Notify;
use tower::ServiceExt;

/// A session at `version`, holding `counter`, that expires at `expires`.
pub fn record(version: u64, expires: u64, counter: u64) -> Record {
    let data: Data = [("counter", json!(counter))].into_iter().collect();
    Record {
        version,
        created: 1,
        last_seen: 1,
        expires,
        data: data.into(),
        principal: None,
        user_agent: None,
        rotated: false,
        authenticated_at: None,
    }
}

/// A store under test, with whatever must outlive it.
pub struct Fixture {
    pub store: Arc<CountingStore>,
    pub dir: Option<tempfile::TempDir>,
    /// The clock of every layer made by [`Fixture::layer`], for tests to move forward.
    pub clock: Clock,
}

impl Fixture {
    fn over(store: impl SessionStore, dir: Option<tempfile::TempDir>) -> Self {
        Fixture {
            store: Arc::new(CountingStore::new(Arc::new(store))),
            dir,
            clock: Clock::default(),
        }
    }

    pub async fn memory() -> Self {
        Self::over(MemoryStore::new(), None)
    }

    #[cfg(feature = "sled")]
    pub async fn sled() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let store = SledStore::new(&db).unwrap();
        Self::over(store, Some(dir))
    }

    /// A store on the tests' Redis server (see `test_redis`), under a key prefix of its own so
    /// that tests do not see each other's sessions; `None` when the test is skipped for want of
    /// Redis.
    #[cfg(feature = "redis")]
    pub async fn redis() -> Option<Self> {
        let url = test_redis::url()?;
        let prefix = format!("test:{}:", &Token::generate().as_str()[..12]);
        let store = RedisStore::connect(&url, prefix).await.unwrap();
        Some(Self::over(store, None))
    }

    /// A store on the tests' Redis Cluster (see `test_redis`), under a key prefix of its own;
    /// `None` when the test is skipped for want of Redis.
    #[cfg(feature = "redis")]
    pub async fn redis_cluster() -> Option<Self> {
        let url = test_redis::cluster_url()?;
        let prefix = format!("test:{}:", &Token::generate().as_str()[..12]);
        let store = RedisStore::connect(&url, prefix).await.unwrap();
        Some(Self::over(store, None))
    }

    pub fn layer(&self) -> SessionLayer {
        SessionLayer::new(self.store.clone()).with_clock(self.clock.clone())
    }
}

/// Runs each named test once per store the crate's features include: `for_each_store!(a, b)`
/// makes `memory::a`, `sled::a`, `redis::a`, ...
#[macro_export]
macro_rules! for_each_store {
    ($($case:ident),* $(,)?) => {
        $crate::for_each_store!(@store memory, $($case),*);
        #[cfg(feature = "sled")]
        $crate::for_each_store!(@store sled, $($case),*);
        #[cfg(feature = "redis")]
        $crate::for_each_store!(@store redis, $($case),*);
        #[cfg(feature = "redis")]
        $crate::for_each_store!(@store redis_cluster, $($case),*);
    };
    (@store $store:ident, $($case:ident),*) => {
        mod $store {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                // Into an `Option`: the Redis fixture is `None` when the test is skipped.
                let fixture: Option<super::common::Fixture> =
                    super::common::Fixture::$store().await.into();
                let Some(fixture) = fixture else { return };
                super::$case(fixture).await
            })*
        }
    };
}

/// Runs each named test once per store the crate's features include and per transport: in-process with `oneshot`, and over
/// real HTTP on loopback. `for_each_store_and_transport!(a)` makes `oneshot::memory::a`,
/// `http::sled::a`, ...
#[macro_export]
macro_rules! for_each_store_and_transport {
    ($($case:ident),* $(,)?) => {
        $crate::for_each_store_and_transport!(@transport oneshot, Oneshot, $($case),*);
        $crate::for_each_store_and_transport!(@transport http, Http, $($case),*);
    };
    (@transport $module:ident, $transport:ident, $($case:ident),*) => {
        mod $module {
            $crate::for_each_store_and_transport!(@store memory, $transport, $($case),*);
            #[cfg(feature = "sled")]
            $crate::for_each_store_and_transport!(@store sled, $transport, $($case),*);
            #[cfg(feature = "redis")]
            $crate::for_each_store_and_transport!(@store redis, $transport, $($case),*);
            #[cfg(feature = "redis")]
            $crate::for_each_store_and_transport!(@store redis_cluster, $transport, $($case),*);
        }
    };
    (@store $store:ident, $transport:ident, $($case:ident),*) => {
        mod $store {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                // Into an `Option`: the Redis fixture is `None` when the test is skipped.
                let fixture: Option<super::super::common::Fixture> =
                    super::super::common::Fixture::$store().await.into();
                let Some(fixture) = fixture else { return };
                super::super::$case(fixture, super::super::common::Transport::$transport).await
            })*
        }
    };
}

#[derive(Clone, Copy, Debug)]
pub enum Transport {
    Oneshot,
    Http,
}

/// An app under test, reached the way its transport says.
#[derive(Clone)]
pub enum Target {
    Oneshot(Router),
    Http {
        base: String,
        client: reqwest::Client,
    },
}

impl Transport {
    pub async fn serve(self, app: Router) -> Target {
        match self {
            Transport::Oneshot => Target::Oneshot(app),
            Transport::Http => {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let base = format!("http://{}", listener.local_addr().unwrap());
                // With the peer's address, as the budget of new sessions reads it.
                let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
                tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
                Target::Http {
                    base,
                    client: reqwest::Client::new(),
                }
            }
        }
    }
}

/// What a test reads of a response.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The `X-Session` header: `None` when absent, `Some("")` when the client must forget.
    pub fn session(&self) -> Option<&str> {
        self.headers
            .get("x-session")
            .map(|value| value.to_str().unwrap())
    }

    /// The token the response hands out, which must be one.
    pub fn token(&self) -> String {
        let token = self.session().unwrap_or_else(|| {
            panic!(
                "the response carries no token: {} {}",
                self.status, self.body
            )
        });
        assert!(
            Token::parse(token.as_bytes()).is_some(),
            "not a token: {token}"
        );
        token.to_string()
    }
}

pub fn request(method: &str, path: &str, token: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        builder = builder.header("x-session", token);
    }
    builder.body(Body::empty()).unwrap()
}

impl Target {
    pub async fn send(&self, method: &str, path: &str, token: Option<&str>) -> Reply {
        self.call(request(method, path, token)).await
    }

    /// Sends `request` and checks what every response must satisfy: no cookie, and `no-store`
    /// wherever a token travels.
    pub async fn call(&self, request: Request<Body>) -> Reply {
        let reply = self.call_allowing_cookies(request).await;
        assert!(
            reply.headers.get(header::SET_COOKIE).is_none(),
            "a response set a cookie"
        );
        reply
    }

    /// [`Target::call`] for a layer whose transport sets a cookie.
    pub async fn call_allowing_cookies(&self, request: Request<Body>) -> Reply {
        let (status, headers, bytes) = match self {
            Target::Oneshot(app) => {
                let response = app.clone().oneshot(request).await.unwrap();
                let (parts, body) = response.into_parts();
                let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
                (parts.status, parts.headers, bytes.to_vec())
            }
            Target::Http { base, client } => {
                let (parts, body) = request.into_parts();
                let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
                let response = client
                    .request(parts.method, format!("{base}{}", parts.uri))
                    .headers(parts.headers)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let (status, headers) = (response.status(), response.headers().clone());
                (status, headers, response.bytes().await.unwrap().to_vec())
            }
        };
        if headers.contains_key("x-session") {
            assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        }
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
        }
    }
}

/// Passes everything to a real store and counts the loads, to prove that some requests never
/// reach the store.
pub struct CountingStore {
    inner: Arc<dyn SessionStore>,
    loads: AtomicUsize,
    saves: AtomicUsize,
}

impl CountingStore {
    pub fn new(inner: Arc<dyn SessionStore>) -> Self {
        CountingStore {
            inner,
            loads: AtomicUsize::new(0),
            saves: AtomicUsize::new(0),
        }
    }

    pub fn loads(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
    }

    pub fn saves(&self) -> usize {
        self.saves.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl SessionStore for CountingStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<Record>, StoreError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.inner.load(key).await
    }
    async fn save(
        &self,
        key: &SessionKey,
        record: &Record,
        expected: Option<u64>,
    ) -> Result<Saved, StoreError> {
        self.saves.fetch_add(1, Ordering::SeqCst);
        self.inner.save(key, record, expected).await
    }
    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.inner.delete(key).await
    }
    async fn delete_expired(&self, now: Millis) -> Result<u64, StoreError> {
        self.inner.delete_expired(now).await
    }
    async fn principal_sessions(
        &self,
        principal: &str,
        now: Millis,
    ) -> Result<Vec<(SessionKey, Record)>, StoreError> {
        self.inner.principal_sessions(principal, now).await
    }
    fn leases(&self) -> Option<&dyn SessionLeases> {
        self.inner.leases().map(|_| self as &dyn SessionLeases)
    }
}

/// A store's leases count as its loads and saves.
#[async_trait]
impl SessionLeases for CountingStore {
    async fn load_leased(
        &self,
        key: &SessionKey,
        lease: LeaseId,
        wait: Duration,
    ) -> Result<Leased, StoreError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        let leases = self
            .inner
            .leases()
            .expect("asked only of a store with leases");
        leases.load_leased(key, lease, wait).await
    }
    async fn save_leased(
        &self,
        key: &SessionKey,
        record: &Record,
        expected: Option<u64>,
        lease: LeaseId,
    ) -> Result<Saved, StoreError> {
        self.saves.fetch_add(1, Ordering::SeqCst);
        let leases = self
            .inner
            .leases()
            .expect("asked only of a store with leases");
        leases.save_leased(key, record, expected, lease).await
    }
    async fn delete_leased(
        &self,
        key: &SessionKey,
        expected: u64,
        lease: LeaseId,
    ) -> Result<Saved, StoreError> {
        let leases = self
            .inner
            .leases()
            .expect("asked only of a store with leases");
        leases.delete_leased(key, expected, lease).await
    }
    async fn release(&self, key: &SessionKey, lease: LeaseId) -> Result<(), StoreError> {
        let leases = self
            .inner
            .leases()
            .expect("asked only of a store with leases");
        leases.release(key, lease).await
    }
}

async fn counter(session: Session) -> Result<Json<Value>, SessionError> {
    let value: u64 = session.get("counter").await?.unwrap_or(0);
    Ok(Json(json!({ "value": value })))
}

async fn increment(session: Session) -> Result<Json<Value>, SessionError> {
    let value: u64 = session.get("counter").await?.unwrap_or(0) + 1;
    session.insert("counter", value).await?;
    Ok(Json(json!({ "value": value })))
}

/// A read-modify-write that yields between its read and its write, so that concurrent requests
/// would lose updates if the session were not serialised.
async fn slow_increment(session: Session) -> Result<Json<Value>, SessionError> {
    let value: u64 = session.get("counter").await?.unwrap_or(0) + 1;
    tokio::time::sleep(Duration::from_millis(5)).await;
    session.insert("counter", value).await?;
    Ok(Json(json!({ "value": value })))
}

/// Lets a test stop a request between loading its session and changing it.
#[derive(Clone, Default)]
pub struct Gate {
    loaded: Arc<Notify>,
    proceed: Arc<Notify>,
}

impl Gate {
    /// Waits until the gated request has loaded its session.
    pub async fn loaded(&self) {
        self.loaded.notified().await;
    }

    /// Lets the gated request go on.
    pub fn open(&self) {
        self.proceed.notify_one();
    }
}

/// Counts how many times the `/counted-write` handler ran, for tests of what the layer refuses
/// before a handler runs.
#[derive(Clone, Default)]
pub struct Runs(Arc<AtomicUsize>);

impl Runs {
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Work of its own (counted), then a value in the session: a handler whose effects outside the
/// session would be done twice if it ran for a request the client then sends again.
async fn counted_write(
    session: Session,
    Extension(runs): Extension<Runs>,
) -> Result<StatusCode, SessionError> {
    runs.0.fetch_add(1, Ordering::SeqCst);
    session.insert("written", true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets `key` once the test opens the gate, so that another process can change the session
/// between this request's read and its write.
async fn set_later(
    session: Session,
    Extension(gate): Extension<Gate>,
    Path(key): Path<String>,
) -> Result<StatusCode, SessionError> {
    session.get::<Value>(&key).await?;
    gate.loaded.notify_one();
    gate.proceed.notified().await;
    session.insert(&key, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set(session: Session, Path(key): Path<String>) -> Result<StatusCode, SessionError> {
    session.insert(&key, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn keys(session: Session) -> Result<Json<Value>, SessionError> {
    let mut present = Vec::new();
    for key in ["a", "b", "counter"] {
        if session.get::<Value>(key).await?.is_some() {
            present.push(key);
        }
    }
    Ok(Json(json!(present)))
}

async fn rotate(session: Session) -> Result<StatusCode, SessionError> {
    session.rotate().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn destroy(session: Session) -> Result<StatusCode, SessionError> {
    session.destroy().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn destroy_then_insert(session: Session) -> Result<StatusCode, SessionError> {
    session.destroy().await?;
    session.insert("counter", 100u64).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn clear(session: Session) -> Result<StatusCode, SessionError> {
    session.remove::<u64>("counter").await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn blob(session: Session, Path(size): Path<usize>) -> Result<StatusCode, SessionError> {
    session.insert("note", "small").await?;
    session.insert("blob", "x".repeat(size)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn fail(session: Session) -> Result<StatusCode, SessionError> {
    session.insert("counter", 999u64).await?;
    Ok(StatusCode::INTERNAL_SERVER_ERROR)
}

/// An action that needs a proof of who the user is from the last ten minutes.
async fn sensitive(session: Session) -> Result<StatusCode, SessionError> {
    session
        .require_recent_auth(Duration::from_secs(600))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The user entered their password again (the test takes it as right).
async fn confirm(session: Session) -> Result<StatusCode, SessionError> {
    session.record_authentication().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn touch(session: Session) -> Result<StatusCode, SessionError> {
    session.touch().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The session's absolute deadline, in seconds since the epoch.
async fn ends_by(session: Session) -> Result<Json<Value>, SessionError> {
    let ends_by = session.ends_by().await?;
    let seconds = ends_by
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    Ok(Json(json!({ "ends_by": seconds })))
}

async fn untouched() -> &'static str {
    "ok"
}

/// Logs in as `name`: rotates and binds the session to the principal.
async fn log_in(session: Session, Path(name): Path<String>) -> Result<StatusCode, SessionError> {
    session.rotate().await?;
    session.set_principal(Some(&name)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn sessions(session: Session) -> Result<Json<Value>, SessionError> {
    Ok(Json(json!(session.principal_sessions().await?)))
}

async fn end_session(session: Session, Path(id): Path<String>) -> Result<StatusCode, SessionError> {
    Ok(if session.end_principal_session(&id).await? {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    })
}

async fn end_others(session: Session) -> Result<Json<Value>, SessionError> {
    Ok(Json(json!(session.end_other_principal_sessions().await?)))
}

/// Every route the protocol tests drive.
pub fn app(layer: SessionLayer) -> Router {
    Router::new()
        .route("/counter", get(counter).post(increment))
        .route("/slow-increment", post(slow_increment))
        .route("/set/{key}", post(set))
        .route("/set-later/{key}", post(set_later))
        .route("/counted-write", post(counted_write))
        .route("/keys", get(keys))
        .route("/rotate", post(rotate))
        .route("/destroy", post(destroy))
        .route("/destroy-then-insert", post(destroy_then_insert))
        .route("/clear", post(clear))
        .route("/blob/{size}", post(blob))
        .route("/fail", post(fail))
        .route("/untouched", get(untouched))
        .route("/touch", post(touch))
        .route("/ends-by", get(ends_by))
        .route("/sensitive", post(sensitive))
        .route("/confirm", post(confirm))
        .route("/log-in/{name}", post(log_in))
        .route("/sessions", get(sessions))
        .route("/sessions/{id}", axum::routing::delete(end_session))
        .route("/sessions/end-others", post(end_others))
        .layer(layer)
}
