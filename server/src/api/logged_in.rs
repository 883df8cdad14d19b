//! The handler argument for routes that need a login.

use axum::extract::FromRequestParts;
use cookieless::Session;
use http::request::Parts;

use crate::error::ApiError;

/// The logged-in user (the session's principal) and their session. Extracting it answers 401
/// to a visitor who is not logged in, before the handler runs or its body is read.
pub struct LoggedIn {
    pub username: String,
    pub session: Session,
}

impl<S: Send + Sync> FromRequestParts<S> for LoggedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state).await?;
        let username = session
            .principal()
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        Ok(LoggedIn { username, session })
    }
}
