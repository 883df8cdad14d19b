//! Listing a user's sessions, one per device or browser, and logging the others out.
//!
//! `GET /sessions` lists the logged-in user's live sessions (a public `id`, when each began and
//! was last used, its `User-Agent`, and which is the current one); `DELETE /sessions/{id}` ends
//! one of them; `POST /sessions/end-others` ends all but the current one, as a "log out my other
//! devices" button or a password change would.
//!
//! ```sh
//! cargo run -p cookieless --example devices
//! curl -si -X POST http://127.0.0.1:3000/login/ada    # twice, for two "devices"
//! curl -s -H 'X-Session: <token>' http://127.0.0.1:3000/sessions
//! curl -s -X POST -H 'X-Session: <token>' http://127.0.0.1:3000/sessions/end-others
//! ```

use axum::extract::{Path, Request};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router, ServiceExt};
use cookieless::{MemoryStore, Session, SessionError, SessionInfo, SessionLayer};
use tower::Layer;

async fn login(session: Session, Path(name): Path<String>) -> Result<StatusCode, SessionError> {
    session.rotate().await?;
    session.set_principal(Some(&name)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list(session: Session) -> Result<Json<Vec<SessionInfo>>, SessionError> {
    // Empty for a visitor who is not logged in: only a principal's sessions are indexed.
    Ok(Json(session.principal_sessions().await?))
}

async fn end(session: Session, Path(id): Path<String>) -> Result<StatusCode, SessionError> {
    // Only the principal's own sessions can be named here; anything else is not found.
    Ok(if session.end_principal_session(&id).await? {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    })
}

async fn end_others(session: Session) -> Result<String, SessionError> {
    let ended = session.end_other_principal_sessions().await?;
    Ok(format!("{ended} other sessions ended"))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let routes = Router::new()
        .route("/login/{name}", post(login))
        .route("/sessions", get(list))
        .route("/sessions/{id}", delete(end))
        .route("/sessions/end-others", post(end_others));
    let app = SessionLayer::new(MemoryStore::new()).layer(routes);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, ServiceExt::<Request>::into_make_service(app)).await
}
