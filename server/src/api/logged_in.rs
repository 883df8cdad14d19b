//! The handler argument for routes that need a login.

use axum::extract::FromRequestParts;
use cookieless::Session;
use http::request::Parts;

use crate::credential;
use crate::error::ApiError;
use crate::state::AppState;

/// The logged-in user (the session's principal) and their session. Extracting it answers 401
/// to a visitor who is not logged in, before the handler runs or its body is read, and ends a
/// session made with a password that has since changed.
pub struct LoggedIn {
    pub username: String,
    pub session: Session,
}

impl FromRequestParts<AppState> for LoggedIn {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state).await?;
        let username = session
            .principal()
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        let credential: Option<String> = session.get(credential::SESSION_KEY).await?;
        let user = state.users.find(&username).await?;
        let current = match (&credential, &user) {
            (Some(credential), Some(user)) => state.credentials.matches(credential, user),
            _ => false,
        };
        if !current {
            tracing::info!(
                event = "session_credential_mismatch",
                username = %username,
                "a session made with another password, or for a user who is gone, was ended"
            );
            session.destroy().await?;
            return Err(ApiError::detail(
                http::StatusCode::UNAUTHORIZED,
                "Your session has ended. Log in again.",
            ));
        }
        Ok(LoggedIn { username, session })
    }
}
