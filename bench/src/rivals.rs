//! The rival session crates' apps, each serving the same two endpoints as ours (read a
//! per-session counter, increment it) over one of the stores their users deploy: in memory, in
//! SQLite for sessions that survive a restart, and in Redis for sessions that several instances
//! share.
//!
//! Every handler answers 500 when its store fails, so that a failed write is never counted as
//! an acknowledged one.

use std::path::Path;
use std::str::FromStr;

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::contenders::{wrap, App};

type Answer = Result<Json<Value>, StatusCode>;

/// How a contender's SQLite database commits a write.
#[derive(Clone, Copy, Debug)]
pub enum Sqlite {
    /// A write-ahead log synced on every commit (`journal_mode=WAL`, `synchronous=FULL`): a write
    /// is on disk before its response, as with our sled store, at SQLite's best speed for that.
    WalFull,
    /// SQLx's defaults: SQLite's rollback journal (`journal_mode=DELETE`) and `synchronous=FULL`,
    /// durable too, with more syncs per commit.
    Default,
}

/// The connection options for the SQLite file at `$path` in the mode `$sqlite`, for a version of
/// SQLx (`$sqlx` is its crate): the rivals build on two, whose types differ.
macro_rules! sqlite_options {
    ($($sqlx:ident)::+, $path:expr, $sqlite:expr) => {{
        use $($sqlx)::+::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", $path.display()))?
            .create_if_missing(true);
        match $sqlite {
            Sqlite::WalFull => options
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full),
            Sqlite::Default => options,
        }
    }};
}

/// The two endpoints for a version of tower-sessions (`$ts` is its crate), whose `Session`
/// type differs from one version to the next.
macro_rules! tower_sessions_routes {
    ($ts:ident) => {{
        async fn read(session: $ts::Session) -> Answer {
            let value: u64 = session
                .get("counter")
                .await
                .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?
                .unwrap_or(0);
            Ok(Json(json!({ "value": value })))
        }
        async fn increment(session: $ts::Session) -> Answer {
            let value = session
                .get::<u64>("counter")
                .await
                .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?
                .unwrap_or(0)
                + 1;
            session
                .insert("counter", value)
                .await
                .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
            Ok(Json(json!({ "value": value })))
        }
        Router::new()
            .route("/counter", get(read))
            .route("/counter/increment", post(increment))
    }};
}

/// tower-sessions with its memory store and its cookie transport.
pub fn tower_sessions() -> impl App {
    use tower_sessions::{MemoryStore, SessionManagerLayer};
    wrap(
        tower_sessions_routes!(tower_sessions),
        SessionManagerLayer::new(MemoryStore::default()).with_secure(false),
    )
}

/// tower-sessions (0.14, the version its stores are published for) with its SQLite store, the
/// database at `path`.
pub async fn tower_sessions_sqlite(
    path: &Path,
    sqlite: Sqlite,
) -> Result<impl App, Box<dyn std::error::Error>> {
    use tower_sessions_014::SessionManagerLayer;
    use tower_sessions_sqlx_store::sqlx::sqlite::SqlitePool;
    use tower_sessions_sqlx_store::SqliteStore;

    let options = sqlite_options!(tower_sessions_sqlx_store::sqlx, path, sqlite);
    let store = SqliteStore::new(SqlitePool::connect_with(options).await?);
    store.migrate().await?;
    Ok(wrap(
        tower_sessions_routes!(tower_sessions_014),
        SessionManagerLayer::new(store).with_secure(false),
    ))
}

/// tower-sessions (0.14, the version its stores are published for) with its Redis store, on a
/// pool of six connections as in its documentation.
pub async fn tower_sessions_redis(url: &str) -> Result<impl App, Box<dyn std::error::Error>> {
    use tower_sessions_014::SessionManagerLayer;
    use tower_sessions_redis_store::fred::prelude::{ClientLike, Config, Pool};
    use tower_sessions_redis_store::RedisStore;

    let pool = Pool::new(Config::from_url(url)?, None, None, None, 6)?;
    pool.connect();
    pool.wait_for_connect().await?;
    Ok(wrap(
        tower_sessions_routes!(tower_sessions_014),
        SessionManagerLayer::new(RedisStore::new(pool)).with_secure(false),
    ))
}

/// The two endpoints for axum_session over the database pool `P`.
fn axum_session_routes<P>() -> Router
where
    P: axum_session::DatabasePool + Clone + std::fmt::Debug + Sync + Send + 'static,
{
    use axum_session::Session;

    // axum_session keeps its sessions in an in-memory table, saved to the database before the
    // response on every change: its reads and writes cannot fail in the handler.
    async fn read<P>(session: Session<P>) -> Answer
    where
        P: axum_session::DatabasePool + Clone + std::fmt::Debug + Sync + Send + 'static,
    {
        let value: u64 = session.get("counter").unwrap_or(0);
        Ok(Json(json!({ "value": value })))
    }
    async fn increment<P>(session: Session<P>) -> Answer
    where
        P: axum_session::DatabasePool + Clone + std::fmt::Debug + Sync + Send + 'static,
    {
        let value = session.get::<u64>("counter").unwrap_or(0) + 1;
        session.set("counter", value);
        Ok(Json(json!({ "value": value })))
    }
    Router::new()
        .route("/counter", get(read::<P>))
        .route("/counter/increment", post(increment::<P>))
}

/// axum_session's configuration in every row: its `rest_mode` header, named as ours is, so the
/// load script carries both alike.
fn axum_session_config() -> axum_session::SessionConfig {
    axum_session::SessionConfig::default().with_session_name("x-session")
}

/// axum_session over `pool`.
async fn axum_session_over<P>(pool: Option<P>) -> Result<impl App, axum_session::SessionError>
where
    P: axum_session::DatabasePool + Clone + std::fmt::Debug + Sync + Send + 'static,
{
    let store = axum_session::SessionStore::<P>::new(pool, axum_session_config()).await?;
    Ok(wrap(
        axum_session_routes::<P>(),
        axum_session::SessionLayer::new(store),
    ))
}

/// axum_session in `rest_mode` (the id travels in a header) with no database behind its
/// in-memory table.
pub async fn axum_session() -> Result<impl App, axum_session::SessionError> {
    axum_session_over::<axum_session::SessionNullPool>(None).await
}

/// axum_session with its SQLite pool, the database at `path`.
pub async fn axum_session_sqlite(
    path: &Path,
    sqlite: Sqlite,
) -> Result<impl App, Box<dyn std::error::Error>> {
    use axum_session_sqlx::SessionSqlitePool;
    use sqlx::sqlite::SqlitePool;

    let options = sqlite_options!(sqlx, path, sqlite);
    let pool = SqlitePool::connect_with(options).await?;
    Ok(axum_session_over(Some(SessionSqlitePool::from(pool))).await?)
}

/// axum_session with its Redis pool, on `redis_pool`'s default pool of connections.
pub async fn axum_session_redis(url: &str) -> Result<impl App, Box<dyn std::error::Error>> {
    use axum_session_redispool::SessionRedisPool;
    use redis_pool::RedisPool;

    let pool = RedisPool::from(redis::Client::open(url)?);
    Ok(axum_session_over(Some(SessionRedisPool::from(pool))).await?)
}
