//! Accounts: register, log in, log out, and who am I.

use app::api::{paths, Credentials, Level, UserInfo};
use app::validation::registration_errors;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use cookieless::{now_millis, Session};
use http::StatusCode;

use crate::error::ApiError;
use crate::flash;
use crate::json::JsonBody;
use crate::password;
use crate::state::AppState;
use crate::users::User;

/// The session key of the logged-in user's name.
const USER: &str = "user";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::REGISTER, post(register))
        .route(paths::LOGIN, post(login))
        .route(paths::LOGOUT, post(logout))
        .route(paths::ME, get(me))
}

async fn register(
    State(state): State<AppState>,
    session: Session,
    JsonBody(credentials): JsonBody<Credentials>,
) -> Result<(StatusCode, Json<UserInfo>), ApiError> {
    let errors = registration_errors(&credentials);
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let Credentials { username, password } = credentials;
    let user = User {
        username: username.clone(),
        password_hash: password::hash(password).await?,
        created: now_millis(),
    };
    state.users.create(&user).await?;
    tracing::info!(%username, "registered");
    log_in(&session, &username).await?;
    flash::push(
        &session,
        Level::Success,
        format!("Welcome, {username}! Your account is ready."),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(UserInfo { username })))
}

async fn login(
    State(state): State<AppState>,
    session: Session,
    JsonBody(credentials): JsonBody<Credentials>,
) -> Result<Json<UserInfo>, ApiError> {
    let Credentials { username, password } = credentials;
    let user = state.users.find(&username).await?;
    if !password::verify(password, user.map(|user| user.password_hash)).await {
        return Err(ApiError::detail(
            StatusCode::UNAUTHORIZED,
            "Invalid username or password.",
        ));
    }
    log_in(&session, &username).await?;
    flash::push(
        &session,
        Level::Success,
        format!("Welcome back, {username}."),
    )
    .await?;
    Ok(Json(UserInfo { username }))
}

/// Binds the session to `username` under a new token, keeping what the visitor had before (a
/// token seen before login is worthless after it).
async fn log_in(session: &Session, username: &str) -> Result<(), ApiError> {
    session.rotate().await?;
    session.insert(USER, username).await?;
    Ok(())
}

async fn logout(session: Session) -> Result<StatusCode, ApiError> {
    session.destroy().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(session: Session) -> Result<Json<UserInfo>, ApiError> {
    let username = session
        .get(USER)
        .await?
        .ok_or_else(ApiError::unauthenticated)?;
    Ok(Json(UserInfo { username }))
}
