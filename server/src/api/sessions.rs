//! The user's sessions, one per device or browser: list them, end one, end all but this one.

use std::time::{Duration, UNIX_EPOCH};

use app::api::{paths, SessionSummary};
use axum::extract::Path;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use cookieless::{Session, SessionInfo};
use http::StatusCode;

use super::auth::logged_in_user;
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::SESSIONS, get(list))
        .route(&format!("{}/{{id}}", paths::SESSIONS), delete(end_one))
        .route(paths::REVOKE_OTHER_SESSIONS, post(end_others))
}

async fn list(session: Session) -> Result<Json<Vec<SessionSummary>>, ApiError> {
    logged_in_user(&session).await?;
    let sessions = session.principal_sessions().await?;
    Ok(Json(sessions.into_iter().map(summary).collect()))
}

async fn end_one(session: Session, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    logged_in_user(&session).await?;
    if session.end_principal_session(&id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::detail(StatusCode::NOT_FOUND, "Not found."))
    }
}

async fn end_others(session: Session) -> Result<StatusCode, ApiError> {
    logged_in_user(&session).await?;
    session.end_other_principal_sessions().await?;
    Ok(StatusCode::NO_CONTENT)
}

fn summary(info: SessionInfo) -> SessionSummary {
    let time = |millis| {
        humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(millis)).to_string()
    };
    SessionSummary {
        id: info.id,
        created: time(info.created),
        last_seen: time(info.last_seen),
        user_agent: info.user_agent,
        current: info.current,
    }
}
