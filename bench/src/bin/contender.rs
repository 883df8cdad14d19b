//! One contender of the load benchmark: the same two endpoints (read a per-session counter,
//! increment it) behind a given session mechanism. Prints `listening on http://ADDR` when ready.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use clap::{Parser, ValueEnum};
use cookieless::{MemoryStore, RedisStore, Session, SessionError, SessionLayer, SledStore};
use serde_json::json;

#[derive(Parser)]
struct Args {
    #[arg(long, value_enum)]
    kind: Kind,
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: String,
    /// For `sled`: where the database goes.
    #[arg(long)]
    data_dir: Option<std::path::PathBuf>,
    /// For `redis`: the server, e.g. redis://127.0.0.1:6379/.
    #[arg(long)]
    redis: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    /// No session layer: the counter lives in a process-global map keyed by the header (the
    /// ceiling any session layer can reach).
    Bare,
    /// `bare` behind a middleware that does only what any header-session layer must: read the
    /// request header, box the inner future, and add response headers. What it costs over `bare`
    /// no session layer of this shape can avoid.
    EmptyLayer,
    Memory,
    Sled,
    Redis,
    /// tower-sessions with its memory store and its cookie transport.
    TowerSessions,
    /// axum_session in `rest_mode` (the id travels in a header) with no database behind its
    /// in-memory table.
    AxumSession,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let app = match args.kind {
        Kind::Bare => bare(),
        Kind::EmptyLayer => bare().layer(axum::middleware::from_fn(empty_layer)),
        Kind::Memory => ours(SessionLayer::new(MemoryStore::new())),
        Kind::Sled => {
            let dir = args.data_dir.ok_or("--data-dir is needed with sled")?;
            let db = sled::open(dir)?;
            ours(SessionLayer::new(SledStore::new(&db)?))
        }
        Kind::Redis => {
            let url = args.redis.ok_or("--redis is needed with redis")?;
            let prefix = format!("bench:{}:", std::process::id());
            ours(SessionLayer::new(RedisStore::connect(&url, prefix).await?))
        }
        Kind::TowerSessions => tower_sessions_app(),
        Kind::AxumSession => axum_session_app().await?,
    };
    let listener = tokio::net::TcpListener::bind(&args.addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

fn ours(layer: SessionLayer) -> Router {
    async fn read(session: Session) -> Result<Json<serde_json::Value>, SessionError> {
        let value: u64 = session.get("counter").await?.unwrap_or(0);
        Ok(Json(json!({ "value": value })))
    }
    async fn increment(session: Session) -> Result<Json<serde_json::Value>, SessionError> {
        let value = session.get::<u64>("counter").await?.unwrap_or(0) + 1;
        session.insert("counter", value).await?;
        Ok(Json(json!({ "value": value })))
    }
    Router::new()
        .route("/counter", get(read))
        .route("/counter/increment", post(increment))
        .layer(layer)
}

fn tower_sessions_app() -> Router {
    use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

    async fn read(session: Session) -> Json<serde_json::Value> {
        let value: u64 = session.get("counter").await.ok().flatten().unwrap_or(0);
        Json(json!({ "value": value }))
    }
    async fn increment(session: Session) -> Json<serde_json::Value> {
        let value = session
            .get::<u64>("counter")
            .await
            .ok()
            .flatten()
            .unwrap_or(0)
            + 1;
        let _ = session.insert("counter", value).await;
        Json(json!({ "value": value }))
    }
    Router::new()
        .route("/counter", get(read))
        .route("/counter/increment", post(increment))
        .layer(SessionManagerLayer::new(MemoryStore::default()).with_secure(false))
}

async fn axum_session_app() -> Result<Router, axum_session::SessionError> {
    use axum_session::{Session, SessionConfig, SessionLayer, SessionNullPool, SessionStore};

    async fn read(session: Session<SessionNullPool>) -> Json<serde_json::Value> {
        let value: u64 = session.get("counter").unwrap_or(0);
        Json(json!({ "value": value }))
    }
    async fn increment(session: Session<SessionNullPool>) -> Json<serde_json::Value> {
        let value = session.get::<u64>("counter").unwrap_or(0) + 1;
        session.set("counter", value);
        Json(json!({ "value": value }))
    }
    // The same header name as ours, so the load script carries both alike.
    let config = SessionConfig::default().with_session_name("x-session");
    let store = SessionStore::<SessionNullPool>::new(None, config).await?;
    Ok(Router::new()
        .route("/counter", get(read))
        .route("/counter/increment", post(increment))
        .layer(SessionLayer::new(store)))
}

async fn empty_layer(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let presented = request.headers().get("x-session").cloned();
    let mut response = next.run(request).await;
    if let Some(token) = presented {
        let headers = response.headers_mut();
        headers.insert("x-session", token);
        headers.insert(
            axum::http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        );
    }
    response
}

#[derive(Clone, Default)]
struct Global {
    counters: Arc<Mutex<HashMap<String, u64>>>,
    next: Arc<AtomicU64>,
}

fn bare() -> Router {
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
