//! The user's sessions, one per device or browser: list them, end one, end all but this one; and
//! keep this one alive.

use app::api::{paths, SessionSummary, SessionTransport};
use axum::extract::State;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use cookieless::{Session, SessionInfo};
use http::StatusCode;

use super::client_ip::ClientIp;
use super::logged_in::LoggedIn;
use super::params::PathId;
use super::rfc3339;
use crate::credential;
use crate::device_name;
use crate::error::ApiError;
use crate::state::AppState;
use crate::users::User;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::SESSIONS, get(list))
        .route(&format!("{}/{{id}}", paths::SESSIONS), delete(end_one))
        .route(paths::REVOKE_OTHER_SESSIONS, post(end_others))
        .route(paths::TOUCH_SESSION, post(touch))
        .route(paths::SESSION_TRANSPORT, get(transport))
}

async fn transport(State(state): State<AppState>) -> Json<SessionTransport> {
    Json(SessionTransport {
        transport: state.transport.name().to_string(),
    })
}

/// "Stay signed in": the session's idle deadline starts again now, whoever holds it. The answer
/// carries the new deadline in `X-Session-Expires`.
async fn touch(session: Session) -> Result<StatusCode, ApiError> {
    session.touch().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list(LoggedIn { session, .. }: LoggedIn) -> Result<Json<Vec<SessionSummary>>, ApiError> {
    let sessions = session.principal_sessions().await?;
    // A listing soon after the start may wait for the rules that name devices to compile, which
    // must not hold up a thread of the runtime.
    let summaries =
        tokio::task::spawn_blocking(move || sessions.into_iter().map(summary).collect())
            .await
            .map_err(|error| {
                tracing::error!(%error, "naming the devices failed");
                ApiError::detail(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong.")
            })?;
    Ok(Json(summaries))
}

/// Logging a device out needs a recent proof of the password, as a stolen token must not be
/// enough to lock the owner out.
async fn end_one(
    State(state): State<AppState>,
    LoggedIn { username, session }: LoggedIn,
    ClientIp(client): ClientIp,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    session.require_recent_auth(state.reauth_after).await?;
    if session.end_principal_session(&id).await? {
        tracing::info!(event = "session_revoked", %username, client = ?client, "a device was logged out");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found())
    }
}

/// Every other session ends by its credential, whatever the index of sessions lists; those it
/// lists are removed at once as well.
async fn end_others(
    State(state): State<AppState>,
    LoggedIn { username, session }: LoggedIn,
    ClientIp(client): ClientIp,
) -> Result<StatusCode, ApiError> {
    session.require_recent_auth(state.reauth_after).await?;
    let user = state.users.raise_sessions_epoch(&username).await?;
    let ended = keep_only_this_session(&state, &session, &user).await?;
    tracing::info!(event = "other_sessions_revoked", %username, client = ?client, ended, "every other device was logged out");
    Ok(StatusCode::NO_CONTENT)
}

/// After a change to `user` that every other session's credential no longer matches (a new
/// password, a raised epoch): gives this session the new credential, and removes the others the
/// index lists, returning how many. The others are dead already by their credential, so a
/// failure to remove them does not fail the request, which would leave this session's new
/// credential unsaved and so log the caller out too.
pub(super) async fn keep_only_this_session(
    state: &AppState,
    session: &Session,
    user: &User,
) -> Result<usize, ApiError> {
    session
        .insert(credential::SESSION_KEY, state.credentials.of(user))
        .await?;
    Ok(match session.end_other_principal_sessions().await {
        Ok(ended) => ended,
        Err(error) => {
            tracing::warn!(%error, "could not remove the other sessions now; they end on their next request");
            0
        }
    })
}

fn summary(info: SessionInfo) -> SessionSummary {
    SessionSummary {
        id: info.id,
        created: rfc3339(info.created),
        last_seen: rfc3339(info.last_seen),
        device_name: info.user_agent.as_deref().and_then(device_name::of),
        user_agent: info.user_agent,
        current: info.current,
    }
}
