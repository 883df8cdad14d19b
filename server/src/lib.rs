//! The demo server: the JSON API with cookieless sessions, and the SPA that uses it.

pub mod api;
mod body_deadline;
pub mod config;
mod credential;
mod device_name;
mod error;
mod flash;
mod json;
pub mod login_throttle;
mod metrics;
pub mod notes;
mod password;
mod readiness;
mod redis_calls;
mod security_headers;
pub mod serve;
mod spa;
mod state;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use cookieless::store::RedisPool;
use cookieless::{
    cors_layer, ClientAddress, Clock, Expiry, MemoryStore, NewSessionLimit, RedisStore,
    SessionLayer, SledStore, Transport,
};
use http::StatusCode;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::predicate::SizeAbove;
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

pub use crate::config::{Config, StoreKind, TransportKind};
use crate::credential::CredentialKey;
use crate::login_throttle::LoginThrottle;
use crate::notes::{MemoryNotes, NoteStore, RedisNotes, SledNotes};
use crate::password::Hasher;
use crate::readiness::{Readiness, StoreProbe};
use crate::security_headers::ContentSecurityPolicy;
use crate::serve::ConnectionLimits;
use crate::state::AppState;
use crate::users::{MemoryUsers, RedisUsers, SledUsers, UserStore, UserStoreError};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the database in {path}: {source}")]
    Database {
        path: std::path::PathBuf,
        source: sled::Error,
    },
    #[error(transparent)]
    Store(#[from] cookieless::store::StoreError),
    #[error("cannot reach Redis at {url}: {reason}")]
    Redis { url: String, reason: String },
    #[error(transparent)]
    StaticDir(#[from] spa::MissingIndex),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("the server failed: {0}")]
    Serve(std::io::Error),
    #[error("cannot read the server's secret: {0}")]
    Secret(#[from] UserStoreError),
    #[error("cannot read {path}: {source}")]
    Index {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// The largest request body the JSON API reads: a note of 10,000 characters, in the widest
/// UTF-8, escaped, with room to spare.
const MAX_API_BODY: usize = 64 * 1024;

/// API answers at least this large (in bytes) are compressed for clients that accept it.
const MIN_COMPRESSED: u16 = 1024;

/// The server, built from its configuration, with its stores open.
pub struct App {
    pub router: Router,
    db: Option<sled::Db>,
    limits: ConnectionLimits,
}

impl App {
    /// Opens the stores and builds the routes. Must run inside a Tokio runtime: it starts the
    /// background sweep of expired sessions. It also starts compiling, on a thread of its own, the
    /// rules that name devices.
    pub async fn build(config: &Config) -> Result<Self, StartError> {
        Self::build_with_clock(config, Clock::default()).await
    }

    /// [`App::build`] on `clock`, one clock for the session layer and the login throttle, which
    /// a test moves forward instead of waiting.
    pub async fn build_with_clock(config: &Config, clock: Clock) -> Result<Self, StartError> {
        device_name::warm_up();
        let Stores {
            sessions,
            users,
            notes,
            db,
            readiness,
        } = Stores::open(config).await?;
        let expiry = Expiry {
            idle: config.idle_timeout,
            anonymous_idle: config.anonymous_idle_timeout,
            absolute: config.absolute_timeout,
            rotation_grace: config.rotation_grace,
        };
        let client_address = match &config.client_ip_header {
            Some(header) => {
                ClientAddress::forwarded_for(header.clone(), usize::from(config.trusted_hops))
            }
            None => ClientAddress::Peer,
        };
        let mut session_layer = sessions
            .with_clock(clock.clone())
            .with_expiry(expiry)
            .with_max_sessions_per_principal(config.max_sessions_per_user as usize)
            .with_transport(match config.transport {
                TransportKind::HeaderOnly => Transport::HeaderOnly,
                TransportKind::HeaderOrCookie => Transport::header_or_cookie(),
            });
        if let Some(limit) = NewSessionLimit::per_minute(config.new_sessions_per_minute) {
            session_layer = session_layer.with_new_session_limit(
                limit
                    .with_burst(config.new_sessions_burst)
                    .with_client_address(client_address.clone()),
            );
        }
        session_layer.spawn_sweeper(sweep_period(expiry));
        let hashing_threads = config.hashing_threads.map_or_else(
            || std::thread::available_parallelism().map_or(2, usize::from),
            usize::from,
        );
        let state = AppState {
            credentials: CredentialKey::new(users.secret("session-credential").await?),
            users,
            notes,
            hasher: Hasher::new(hashing_threads, config.hashing_queue),
            login_throttle: Arc::new(LoginThrottle::new(
                clock.clone(),
                LoginThrottle::DEFAULT_MAX_KEYS,
            )),
            clock,
            client_address,
            reauth_after: config.reauth_after,
            transport: config.transport,
        };
        // Only the API is behind the session layer: static files and the health checks neither
        // need a session nor should answer 400 to a bad `X-Session`. `Router::layer` costs a boxed
        // clone per request over wrapping a whole router (docs/benchmarks.md), which a demo can
        // spend; wrapping the API in a service of its own would box it once more all the same.
        // A panic inside is a 500 the session layer sees, so the request saves nothing.
        let api = api::router()
            .layer(DefaultBodyLimit::max(MAX_API_BODY))
            .layer(CatchPanicLayer::custom(panic_response))
            .layer(session_layer)
            // Small answers cost more to compress than they save on the wire.
            .layer(CompressionLayer::new().compress_when(SizeAbove::new(MIN_COMPRESSED)));
        metrics::install();
        let mut router: Router = Router::new()
            .route("/healthz", get(healthz))
            .route("/readyz", get(readiness::readyz).with_state(readiness))
            .merge(api)
            .route("/api", any(api::not_found))
            .route("/api/{*rest}", any(api::not_found))
            .with_state(state);
        router = match config.metrics_addr {
            None => router.merge(metrics::router()),
            // Served apart: not here, not even by the SPA's fallback.
            Some(_) => router.route("/metrics", any(api::not_found)),
        };
        let page = match &config.static_dir {
            Some(dir) => {
                let index = dir.join("index.html");
                let page = std::fs::read_to_string(&index).map_err(|source| StartError::Index {
                    path: index,
                    source,
                });
                router = router.fallback_service(spa::service(dir)?.into_service());
                page?
            }
            None => {
                router = router.fallback(api::not_found);
                String::new()
            }
        };
        let policy = ContentSecurityPolicy::for_page(&page, &config.frame_ancestors);
        if !config.cors_origins.is_empty() {
            router = router.layer(cors_layer(config.cors_origins.iter().cloned()));
        }
        let body_timeout = config.body_timeout;
        let router = security_headers::on_every_response(router)
            .layer(policy.layer())
            .layer(tower::util::MapRequestLayer::new(move |request| {
                body_deadline::with_deadline(request, body_timeout)
            }))
            .layer(CatchPanicLayer::custom(panic_response))
            .layer(TraceLayer::new_for_http());
        Ok(App {
            router,
            db,
            limits: ConnectionLimits {
                header_timeout: config.header_timeout,
                max_connections: config.max_connections as usize,
                // Behind a proxy every connection has the proxy's address.
                max_per_peer: match (&config.client_ip_header, config.max_connections_per_client) {
                    (None, 0) | (Some(_), _) => None,
                    (None, max) => Some(max as usize),
                },
            },
        })
    }

    /// Serves until SIGINT or SIGTERM, then finishes the requests in flight and flushes the
    /// database.
    pub async fn serve(self, listener: TcpListener) -> Result<(), StartError> {
        serve::serve(listener, self.router, self.limits, shutdown_signal()).await;
        if let Some(db) = self.db {
            if let Err(error) = db.flush_async().await {
                tracing::error!(%error, "could not flush the database on shutdown");
            }
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// A handler's panic, answered as any server error: logged once, nothing saved.
fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message");
    tracing::error!(event = "handler_panicked", panic = %message, "a handler panicked");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(serde_json::json!({ "detail": "Something went wrong." })),
    )
        .into_response()
}

/// Where sessions and the demo's users live, as `--store` says.
struct Stores {
    /// The session layer over the session store.
    sessions: SessionLayer,
    users: Arc<dyn UserStore>,
    notes: Arc<dyn NoteStore>,
    /// The sled database to flush on shutdown, with `--store sled`.
    db: Option<sled::Db>,
    readiness: Readiness,
}

impl Stores {
    async fn open(config: &Config) -> Result<Self, StartError> {
        match &config.store {
            StoreKind::Sled => {
                let database_error = |source| StartError::Database {
                    path: config.data_dir.clone(),
                    source,
                };
                let db = sled::open(&config.data_dir).map_err(database_error)?;
                let sessions = SledStore::new(&db)?.with_free_space_floor(
                    &config.data_dir,
                    config.min_free_disk_mib.saturating_mul(1024 * 1024),
                );
                let users = SledUsers::new(&db, sessions.group_flush()).map_err(database_error)?;
                let notes = SledNotes::new(&db, sessions.group_flush()).map_err(database_error)?;
                let sessions_flush = sessions.group_flush();
                Ok(Stores {
                    sessions: SessionLayer::new(sessions),
                    users: Arc::new(users),
                    notes: Arc::new(notes),
                    readiness: Readiness::new(
                        StoreProbe::sled(&db, sessions_flush).map_err(database_error)?,
                    ),
                    db: Some(db),
                })
            }
            StoreKind::Memory => Ok(Stores {
                sessions: SessionLayer::new(MemoryStore::new()),
                users: Arc::new(MemoryUsers::default()),
                notes: Arc::new(MemoryNotes::default()),
                db: None,
                readiness: Readiness::new(StoreProbe::Memory),
            }),
            StoreKind::Redis(url) => {
                let redis_error = |reason: String| StartError::Redis {
                    url: redact_password(url),
                    reason,
                };
                // One pool for the sessions and the demo's own data.
                let pool =
                    RedisPool::connect(url, RedisPool::DEFAULT_SIZE, RedisStore::DEFAULT_TIMEOUT)
                        .await
                        .map_err(|error| redis_error(error.to_string()))?;
                warn_of_eviction(&pool).await;
                let prefix = &config.redis_prefix;
                let sessions = RedisStore::new(pool.clone(), prefix.clone())
                    .with_lease_deadline(config.session_lease_deadline);
                let sessions = if config.no_session_leases {
                    SessionLayer::new(sessions).without_leases()
                } else {
                    SessionLayer::new(sessions).with_lease_wait(config.session_lease_wait)
                };
                let users = RedisUsers::new(pool.clone(), prefix);
                let notes = RedisNotes::new(pool.clone(), prefix);
                Ok(Stores {
                    sessions,
                    users: Arc::new(users),
                    notes: Arc::new(notes),
                    db: None,
                    readiness: Readiness::new(StoreProbe::Redis(pool)),
                })
            }
        }
    }
}

/// Redis with an eviction policy that may drop keys without an expiry drops users, notes and
/// entries of the index of sessions silently. Sessions and passwords stay correct (a session's
/// credential is checked against the user on every request), but the operator should know.
async fn warn_of_eviction(pool: &RedisPool) {
    let mut connection = pool.get();
    let answer: Result<Vec<String>, _> = redis_calls::bounded(
        redis::cmd("CONFIG")
            .arg("GET")
            .arg("maxmemory-policy")
            .query_async(&mut connection),
    )
    .await;
    match answer.as_deref() {
        Ok([_, policy]) if policy == "noeviction" || policy.starts_with("volatile-") => {}
        Ok([_, policy]) => tracing::warn!(
            event = "redis_eviction_policy",
            %policy,
            "Redis may evict keys without an expiry (users, notes, the index of sessions, and \
             the server's secret, without which every session is logged out): set \
             maxmemory-policy to noeviction or a volatile-* policy"
        ),
        // Managed services often refuse CONFIG; nothing to tell then.
        _ => tracing::debug!("could not read Redis's maxmemory-policy"),
    }
}

/// A Redis URL fit for a log line: any password in it is replaced.
fn redact_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://***{}", &url[..scheme_end], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// Binds, announces the URL and serves: what `main` does.
pub async fn run(config: Config) -> Result<(), StartError> {
    let app = App::build(&config).await?;
    let listener = TcpListener::bind(config.addr)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.addr,
            source,
        })?;
    if let Some(metrics_addr) = config.metrics_addr {
        let metrics_listener =
            TcpListener::bind(metrics_addr)
                .await
                .map_err(|source| StartError::Bind {
                    addr: metrics_addr,
                    source,
                })?;
        tracing::info!("metrics on http://{metrics_addr}/metrics");
        tokio::spawn(serve::serve(
            metrics_listener,
            metrics::router(),
            app.limits,
            std::future::pending(),
        ));
    }
    let addr = listener.local_addr().map_err(StartError::Serve)?;
    tracing::info!(store = %store_name(&config.store), data_dir = %config.data_dir.display(), "listening on http://{addr}");
    println!("Serving the demo at http://{addr}/");
    app.serve(listener).await
}

fn store_name(store: &StoreKind) -> String {
    match store {
        StoreKind::Sled => "sled".into(),
        StoreKind::Memory => "memory".into(),
        StoreKind::Redis(url) => redact_password(url),
    }
}

/// Often enough that expired sessions do not pile up, rarely enough to cost nothing.
fn sweep_period(expiry: Expiry) -> Duration {
    (expiry.idle / 4).clamp(Duration::from_millis(100), Duration::from_secs(60))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::routing::post;
    use cookieless::Session;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn a_panicking_handler_answers_500_json_and_saves_nothing() {
        async fn boom(session: Session) -> StatusCode {
            session.insert("counter", 1).await.unwrap();
            panic!("boom");
        }
        let app = Router::new()
            .route("/boom", post(boom))
            .layer(CatchPanicLayer::custom(panic_response))
            .layer(SessionLayer::new(MemoryStore::new()));
        let request = http::Request::post("/boom").body(Body::empty()).unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(response.headers().get("x-session").is_none());
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(&body[..], br#"{"detail":"Something went wrong."}"#);
        // The server lives on.
        let request = http::Request::post("/boom").body(Body::empty()).unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn passwords_stay_out_of_logged_urls() {
        assert_eq!(
            super::redact_password("redis://:hunter2@127.0.0.1:6379/0"),
            "redis://***@127.0.0.1:6379/0"
        );
        assert_eq!(
            super::redact_password("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
        assert_eq!(
            super::redact_password("redis+cluster://u:hunter2@10.0.0.1:7000,10.0.0.2:7000"),
            "redis+cluster://***@10.0.0.1:7000,10.0.0.2:7000"
        );
    }
}
