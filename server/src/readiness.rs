//! `/readyz`: whether this instance can serve, for a load balancer to stop sending traffic when
//! its store cannot be written or reached. `/healthz` stays a liveness check.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use cookieless::store::{GroupFlush, RedisPool};
use http::StatusCode;
use tokio::time::Instant;

/// The instance's readiness, checked at most once a [`CHECK_INTERVAL`]: `/readyz` needs no login,
/// and a flood of it must not become a flood of flushes.
#[derive(Clone)]
pub struct Readiness {
    store: Arc<StoreProbe>,
    last: Arc<tokio::sync::Mutex<Option<Checked>>>,
}

/// A check's result, and when it was made.
struct Checked {
    at: Instant,
    result: Result<(), String>,
}

const CHECK_INTERVAL: Duration = Duration::from_secs(1);

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

impl Readiness {
    pub fn new(store: StoreProbe) -> Self {
        Readiness {
            store: Arc::new(store),
            last: Arc::default(),
        }
    }

    async fn check(&self) -> Result<(), String> {
        // Held across the check, so that concurrent callers wait for one check, not make their own.
        let mut last = self.last.lock().await;
        if let Some(checked) = last.as_ref() {
            if checked.at.elapsed() < CHECK_INTERVAL {
                return checked.result.clone();
            }
        }
        // Bounded, since callers wait on it: a store that hangs is not ready.
        let result = tokio::time::timeout(CHECK_TIMEOUT, self.store.check())
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {CHECK_TIMEOUT:?}")));
        *last = Some(Checked {
            at: Instant::now(),
            result: result.clone(),
        });
        result
    }
}

/// What the instance depends on.
pub enum StoreProbe {
    /// Nothing outside the process (`--store memory`).
    Memory,
    /// The sled database: room on its disk, then a small write in a tree of its own, made
    /// durable.
    Sled(sled::Tree, GroupFlush),
    /// Redis: a `PING`.
    Redis(RedisPool),
}

impl StoreProbe {
    pub fn sled(db: &sled::Db, flush: GroupFlush) -> Result<Self, sled::Error> {
        Ok(StoreProbe::Sled(db.open_tree("readiness")?, flush))
    }

    async fn check(&self) -> Result<(), String> {
        match self {
            StoreProbe::Memory => Ok(()),
            StoreProbe::Sled(tree, flush) => {
                // Checked first: a write that meets a full disk would break sled until a restart.
                flush.ensure_room().map_err(|error| error.to_string())?;
                let now = cookieless::store::now_millis().to_be_bytes();
                tree.insert("probe", &now)
                    .map_err(|error| error.to_string())?;
                flush.flush().await.map_err(|error| error.to_string())
            }
            StoreProbe::Redis(pool) => {
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
