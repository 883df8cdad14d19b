//! A per-session counter that works before login and survives it: the "cart before login" case.

use app::api::session_keys::COUNTER;
use app::api::{paths, Counter};
use axum::routing::{get, post};
use axum::{Json, Router};
use cookieless::Session;

use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::COUNTER, get(read))
        .route(paths::COUNTER_INCREMENT, post(increment))
}

async fn read(session: Session) -> Result<Json<Counter>, ApiError> {
    let value = session.get(COUNTER).await?.unwrap_or(0);
    Ok(Json(Counter { value }))
}

async fn increment(session: Session) -> Result<Json<Counter>, ApiError> {
    let value = session
        .get::<u64>(COUNTER)
        .await?
        .unwrap_or(0)
        .saturating_add(1);
    session.insert(COUNTER, value).await?;
    Ok(Json(Counter { value }))
}
