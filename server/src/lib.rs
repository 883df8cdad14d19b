//! The demo server: the JSON API with cookieless sessions, and the SPA that uses it.

pub mod api;
pub mod config;
mod error;
mod flash;
mod json;
pub mod notes;
mod password;
mod redis_calls;
mod spa;
mod state;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use axum::routing::{any, get};
use axum::{Json, Router};
use cookieless::store::RedisPool;
use cookieless::{cors_layer, Expiry, MemoryStore, RedisStore, SessionLayer, SledStore};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

pub use crate::config::{Config, StoreKind};
use crate::notes::{MemoryNotes, NoteStore, RedisNotes, SledNotes};
use crate::state::AppState;
use crate::users::{MemoryUsers, RedisUsers, SledUsers, UserStore};

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
}

/// The server, built from its configuration, with its stores open.
pub struct App {
    pub router: Router,
    db: Option<sled::Db>,
}

impl App {
    /// Opens the stores and builds the routes. Must run inside a Tokio runtime: it starts the
    /// background sweep of expired sessions.
    pub async fn build(config: &Config) -> Result<Self, StartError> {
        let Stores {
            sessions,
            users,
            notes,
            db,
        } = Stores::open(config).await?;
        let expiry = Expiry {
            idle: config.idle_timeout,
            absolute: config.absolute_timeout,
        };
        let session_layer = sessions.with_expiry(expiry);
        session_layer.spawn_sweeper(sweep_period(expiry));
        // Only the API is behind the session layer: static files and the health check neither
        // need a session nor should answer 400 to a bad `X-Session`. `Router::layer` costs a boxed
        // clone per request over wrapping a whole router (docs/benchmarks.md), which a demo can
        // spend; wrapping the API in a service of its own would box it once more all the same.
        let mut router = Router::new()
            .route("/healthz", get(healthz))
            .merge(api::router().layer(session_layer))
            .route("/api", any(api::not_found))
            .route("/api/{*rest}", any(api::not_found))
            .with_state(AppState { users, notes });
        router = match &config.static_dir {
            Some(dir) => router.fallback_service(spa::service(dir)?),
            None => router.fallback(api::not_found),
        };
        if !config.cors_origins.is_empty() {
            router = router.layer(cors_layer(config.cors_origins.iter().cloned()));
        }
        Ok(App {
            router: router.layer(TraceLayer::new_for_http()),
            db,
        })
    }

    /// Serves until SIGINT or SIGTERM, then finishes the requests in flight and flushes the
    /// database.
    pub async fn serve(self, listener: TcpListener) -> Result<(), StartError> {
        let served = axum::serve(listener, self.router)
            .with_graceful_shutdown(shutdown_signal())
            .await;
        if let Some(db) = self.db {
            if let Err(error) = db.flush_async().await {
                tracing::error!(%error, "could not flush the database on shutdown");
            }
        }
        tracing::info!("stopped");
        served.map_err(StartError::Serve)
    }
}

/// Where sessions and the demo's users live, as `--store` says.
struct Stores {
    /// The session layer over the session store.
    sessions: SessionLayer,
    users: Arc<dyn UserStore>,
    notes: Arc<dyn NoteStore>,
    /// The sled database to flush on shutdown, with `--store sled`.
    db: Option<sled::Db>,
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
                let sessions = SledStore::new(&db)?;
                let users = SledUsers::new(&db, sessions.group_flush()).map_err(database_error)?;
                let notes = SledNotes::new(&db, sessions.group_flush()).map_err(database_error)?;
                Ok(Stores {
                    sessions: SessionLayer::new(sessions),
                    users: Arc::new(users),
                    notes: Arc::new(notes),
                    db: Some(db),
                })
            }
            StoreKind::Memory => Ok(Stores {
                sessions: SessionLayer::new(MemoryStore::new()),
                users: Arc::new(MemoryUsers::default()),
                notes: Arc::new(MemoryNotes::default()),
                db: None,
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
                let prefix = &config.redis_prefix;
                let sessions = RedisStore::new(pool.clone(), prefix.clone());
                let users = RedisUsers::new(pool.clone(), prefix);
                let notes = RedisNotes::new(pool, prefix);
                Ok(Stores {
                    sessions: SessionLayer::new(sessions),
                    users: Arc::new(users),
                    notes: Arc::new(notes),
                    db: None,
                })
            }
        }
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
    }
}
