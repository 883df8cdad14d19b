//! Reading the one-shot messages.

use app::api::{paths, Message};
use axum::routing::get;
use axum::{Json, Router};
use cookieless::Session;

use crate::error::ApiError;
use crate::flash;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route(paths::MESSAGES, get(read_once))
}

async fn read_once(session: Session) -> Result<Json<Vec<Message>>, ApiError> {
    Ok(Json(flash::take(&session).await?))
}
