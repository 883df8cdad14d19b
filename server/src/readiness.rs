//! `/readyz`: whether this instance can serve, for a load balancer to stop sending traffic when
//! its store cannot be written or reached. `/healthz` stays a liveness check.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use cookieless::store::RedisPool;
use http::StatusCode;

/// What the instance depends on.
#[derive(Clone)]
pub enum Readiness {
    /// Nothing outside the process (`--store memory`).
    Memory,
    /// The sled database: a small write in a tree of its own, made durable.
    Sled(sled::Tree),
    /// Redis: a `PING`.
    Redis(RedisPool),
}

impl Readiness {
    pub fn sled(db: &sled::Db) -> Result<Self, sled::Error> {
        Ok(Readiness::Sled(db.open_tree("readiness")?))
    }

    async fn check(&self) -> Result<(), String> {
        match self {
            Readiness::Memory => Ok(()),
            Readiness::Sled(tree) => {
                let now = cookieless::store::now_millis().to_be_bytes();
                tree.insert("probe", &now)
                    .map_err(|error| error.to_string())?;
                tree.flush_async()
                    .await
                    .map_err(|error| error.to_string())?;
                Ok(())
            }
            Readiness::Redis(pool) => {
                let mut connection = pool.get();
                crate::redis_calls::bounded(
                    redis::cmd("PING").query_async::<String>(&mut connection),
                )
                .await
                .map(drop)
                .map_err(|error| error.to_string())
            }
        }
    }
}

pub async fn readyz(State(readiness): State<Readiness>) -> Response {
    match readiness.check().await {
        Ok(()) => Json(serde_json::json!({ "status": "ready" })).into_response(),
        Err(reason) => {
            tracing::warn!(event = "not_ready", %reason, "the store cannot be written or reached");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "detail": "The store cannot be written or reached." })),
            )
                .into_response()
        }
    }
}
