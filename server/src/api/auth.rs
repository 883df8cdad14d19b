//! Accounts: register, log in, log out, who am I, and a new password. The logged-in user is the
//! session's principal, so that the session store can list a user's sessions.

use app::api::{paths, Credentials, FieldErrors, Level, PasswordChange, UserInfo};
use app::validation::{password_errors, registration_errors};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use cookieless::store::now_millis;
use cookieless::Session;
use http::StatusCode;

use super::logged_in::LoggedIn;
use crate::error::ApiError;
use crate::flash;
use crate::json::JsonBody;
use crate::password;
use crate::state::AppState;
use crate::users::User;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::REGISTER, post(register))
        .route(paths::LOGIN, post(login))
        .route(paths::LOGOUT, post(logout))
        .route(paths::ME, get(me))
        .route(paths::PASSWORD, post(change_password))
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
    session.set_principal(Some(username)).await?;
    Ok(())
}

async fn logout(session: Session) -> Result<StatusCode, ApiError> {
    session.destroy().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(LoggedIn { username, .. }: LoggedIn) -> Json<UserInfo> {
    Json(UserInfo { username })
}

/// A new password ends every other session of the user: whoever knew the old one is out.
async fn change_password(
    State(state): State<AppState>,
    LoggedIn { username, session }: LoggedIn,
    JsonBody(change): JsonBody<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let errors = password_errors(&change.new_password);
    if !errors.is_empty() {
        return Err(ApiError::Invalid(FieldErrors::from([(
            "new_password".to_string(),
            errors,
        )])));
    }
    let user = state.users.find(&username).await?;
    if !password::verify(change.current_password, user.map(|user| user.password_hash)).await {
        return Err(ApiError::detail(
            StatusCode::UNAUTHORIZED,
            "The current password is wrong.",
        ));
    }
    let hash = password::hash(change.new_password).await?;
    state.users.set_password_hash(&username, &hash).await?;
    let ended = session.end_other_principal_sessions().await?;
    tracing::info!(%username, ended, "password changed");
    flash::push(
        &session,
        Level::Success,
        "Your password is changed. Your other sessions have ended.",
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
