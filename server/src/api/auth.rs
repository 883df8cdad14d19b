//! Accounts: register, log in, log out, who am I, a new password, and the password entered again
//! before a sensitive action. The logged-in user is the session's principal, so that the session
//! store can list a user's sessions; a login, or the password entered again, is the session's
//! proof of who the user is, which sensitive actions want recent (`--reauth-after`).

use std::net::IpAddr;
use std::time::{Duration, UNIX_EPOCH};

use app::api::{paths, Credentials, Level, PasswordChange, PasswordConfirmation, UserInfo};
use app::validation::{password_errors, registration_errors, username_errors, PASSWORD_MAX};
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use cookieless::store::now_millis;
use cookieless::Session;
use http::StatusCode;

use super::client_ip::ClientIp;
use super::logged_in::LoggedIn;
use super::sessions::keep_only_this_session;
use crate::credential;
use crate::error::ApiError;
use crate::flash;
use crate::json::JsonBody;
use crate::login_throttle::Caller;
use crate::state::AppState;
use crate::users::User;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::REGISTER, post(register))
        .route(paths::LOGIN, post(login))
        .route(paths::LOGOUT, post(logout))
        .route(paths::ME, get(me))
        .route(paths::PASSWORD, post(change_password))
        .route(paths::CONFIRM, post(confirm))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

/// The largest body these routes read: two passwords of the longest allowed, every character
/// escaped, and room to spare.
const MAX_BODY: usize = 16 * 1024;

async fn register(
    State(state): State<AppState>,
    session: Session,
    ClientIp(client): ClientIp,
    JsonBody(credentials): JsonBody<Credentials>,
) -> Result<(StatusCode, Json<UserInfo>), ApiError> {
    let errors = registration_errors(&credentials);
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let Credentials { username, password } = credentials;
    let user = User {
        username: username.clone(),
        password_hash: state.hasher.hash(password).await?,
        created: now_millis(),
        sessions_epoch: 0,
    };
    state.users.create(&user).await?;
    tracing::info!(event = "registered", %username, client = ?client, "registered");
    log_in(&state, &session, &user).await?;
    flash::push(
        &session,
        Level::Success,
        format!("Welcome, {username}! Your account is ready."),
    )
    .await?;
    let info = user_info(&state, &session, username).await?;
    Ok((StatusCode::CREATED, Json(info)))
}

async fn login(
    State(state): State<AppState>,
    session: Session,
    ClientIp(client): ClientIp,
    JsonBody(credentials): JsonBody<Credentials>,
) -> Result<Json<UserInfo>, ApiError> {
    let Credentials { username, password } = credentials;
    // Refused before hashing: argon2's cost grows with the input.
    if password.chars().count() > PASSWORD_MAX {
        return Err(ApiError::field(
            "password",
            vec![format!("Use at most {PASSWORD_MAX} characters.")],
        ));
    }
    // No account can have such a name, so refusing it at once tells nothing of who exists, and
    // keeps whatever was typed out of the log.
    if !username_errors(&username).is_empty() {
        tracing::warn!(event = "login_failed", client = ?client, "login failed: not a username");
        return Err(bad_credentials());
    }
    let Some(user) = check_password(&state, &username, password, client, Caller::Anonymous).await?
    else {
        tracing::warn!(event = "login_failed", %username, client = ?client, "login failed");
        return Err(bad_credentials());
    };
    tracing::info!(event = "login_succeeded", %username, client = ?client, "logged in");
    log_in(&state, &session, &user).await?;
    flash::push(
        &session,
        Level::Success,
        format!("Welcome back, {username}."),
    )
    .await?;
    Ok(Json(user_info(&state, &session, username).await?))
}

/// Who is logged in with `session`, and for how long at most.
async fn user_info(
    state: &AppState,
    session: &Session,
    username: String,
) -> Result<UserInfo, ApiError> {
    let now = UNIX_EPOCH + Duration::from_millis(state.clock.now());
    let ends_by = session.ends_by().await?;
    let login_ends_in = ends_by.duration_since(now).unwrap_or_default().as_secs();
    Ok(UserInfo {
        username,
        login_ends_in: Some(login_ends_in),
    })
}

/// Binds the session to `user` under a new token, keeping what the visitor had before (a token
/// seen before login is worthless after it), and records the password it was made with.
async fn log_in(state: &AppState, session: &Session, user: &User) -> Result<(), ApiError> {
    session.rotate().await?;
    session.set_principal(Some(&user.username)).await?;
    session
        .insert(credential::SESSION_KEY, state.credentials.of(user))
        .await?;
    Ok(())
}

async fn logout(session: Session, ClientIp(client): ClientIp) -> Result<StatusCode, ApiError> {
    if let Some(username) = session.principal().await? {
        tracing::info!(event = "logged_out", %username, client = ?client, "logged out");
    }
    session.destroy().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(
    State(state): State<AppState>,
    LoggedIn { username, session }: LoggedIn,
) -> Result<Json<UserInfo>, ApiError> {
    Ok(Json(user_info(&state, &session, username).await?))
}

/// A new password ends every session made with the old one (the credential check in `LoggedIn`
/// does it, whatever the index of sessions says); the caller's session moves to a new token and
/// stays logged in.
async fn change_password(
    State(state): State<AppState>,
    LoggedIn { username, session }: LoggedIn,
    ClientIp(client): ClientIp,
    JsonBody(change): JsonBody<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let errors = password_errors(&change.new_password);
    if !errors.is_empty() {
        return Err(ApiError::field("new_password", errors));
    }
    // The current password is the recent proof this change needs.
    let proof = Proof {
        caller: Caller::Owner,
        wrong: wrong_current_password,
        refused_event: "password_change_refused",
    };
    proof
        .check(&state, &session, &username, change.current_password, client)
        .await?;
    let new_hash = state.hasher.hash(change.new_password).await?;
    let user = state.users.set_password_hash(&username, &new_hash).await?;
    session.rotate().await?;
    let ended = keep_only_this_session(&state, &session, &user).await?;
    tracing::info!(event = "password_changed", %username, client = ?client, ended, "password changed");
    flash::push(
        &session,
        Level::Success,
        "Your password is changed. Your other sessions have ended.",
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The logged-in user's password, entered again: a fresh proof of who they are, for the sensitive
/// actions that ask for one. Throttled as a login is; a wrong one is a field error, not a 401,
/// which would tell the client that its session had ended.
async fn confirm(
    State(state): State<AppState>,
    LoggedIn { username, session }: LoggedIn,
    ClientIp(client): ClientIp,
    JsonBody(confirmation): JsonBody<PasswordConfirmation>,
) -> Result<StatusCode, ApiError> {
    // Counted against the account as a login is: whoever holds this session may have stolen
    // its token, and must not guess the password from many addresses.
    let proof = Proof {
        caller: Caller::Anonymous,
        wrong: || ApiError::field("password", vec!["The password is wrong.".to_string()]),
        refused_event: "reauthentication_failed",
    };
    proof
        .check(&state, &session, &username, confirmation.password, client)
        .await?;
    tracing::info!(event = "reauthenticated", %username, client = ?client, "password confirmed");
    Ok(StatusCode::NO_CONTENT)
}

/// The logged-in user's password entered again, as a proof of who they are.
struct Proof {
    /// Who the login throttle takes the caller for.
    caller: Caller,
    /// The answer to a wrong password: a field error, never a 401, which would tell the client
    /// that its session had ended.
    wrong: fn() -> ApiError,
    /// The security event a wrong password logs.
    refused_event: &'static str,
}

impl Proof {
    /// Checks `password` against `username`'s, and records the proof in `session`.
    async fn check(
        &self,
        state: &AppState,
        session: &Session,
        username: &str,
        password: String,
        client: Option<IpAddr>,
    ) -> Result<(), ApiError> {
        if password.is_empty() || password.chars().count() > PASSWORD_MAX {
            return Err((self.wrong)());
        }
        let checked = check_password(state, username, password, client, self.caller).await?;
        if checked.is_none() {
            tracing::warn!(event = self.refused_event, %username, client = ?client, "wrong password");
            return Err((self.wrong)());
        }
        session.record_authentication().await?;
        Ok(())
    }
}

/// Checks `password` against `username`'s under the login throttle: the user when it matches,
/// `None` when it does not (counted as a failure), `429` while the throttle says to wait. A check
/// that reaches no verdict (a busy hasher, a store error) is not counted.
async fn check_password(
    state: &AppState,
    username: &str,
    password: String,
    client: Option<IpAddr>,
    caller: Caller,
) -> Result<Option<User>, ApiError> {
    let attempt = state
        .login_throttle
        .begin(username, client, caller)
        .map_err(|wait| {
            tracing::warn!(event = "login_throttled", %username, client = ?client, "password check throttled");
            ApiError::TooManyAttempts(wait)
        })?;
    let verdict = async {
        let user = state.users.find(username).await?;
        let hash = user.as_ref().map(|user| user.password_hash.clone());
        Ok::<_, ApiError>((state.hasher.verify(password, hash).await?, user))
    }
    .await;
    match verdict {
        Err(error) => {
            attempt.abandon();
            Err(error)
        }
        Ok((true, Some(user))) => {
            attempt.succeeded();
            Ok(Some(user))
        }
        Ok(_) => {
            attempt.failed();
            Ok(None)
        }
    }
}

fn bad_credentials() -> ApiError {
    ApiError::detail(StatusCode::UNAUTHORIZED, "Invalid username or password.")
}

fn wrong_current_password() -> ApiError {
    ApiError::field(
        "current_password",
        vec!["The current password is wrong.".to_string()],
    )
}
