//! Login, rotation and logout on the durable sled store.
//!
//! `POST /login/{name}` binds the session to a user and rotates its token (so a token known
//! before the login is worthless after it); `GET /me` says who is logged in; `POST /logout`
//! destroys the session and answers an empty `X-Session`, which tells the client to forget its
//! token. Sessions are on disk in `./example-data`, so they survive a restart.
//!
//! A real app checks a password before `set_principal`: see the demo server's `api/auth.rs`.
//!
//! ```sh
//! cargo run -p cookieless --example login
//! curl -si -X POST http://127.0.0.1:3000/login/ada           # a token in X-Session
//! curl -s -H 'X-Session: <token>' http://127.0.0.1:3000/me    # ada
//! curl -si -X POST -H 'X-Session: <token>' http://127.0.0.1:3000/logout   # X-Session: (empty)
//! ```

use axum::extract::{Path, Request};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Router, ServiceExt};
use cookieless::{Session, SessionError, SessionLayer, SledStore};
use tower::Layer;

async fn login(session: Session, Path(name): Path<String>) -> Result<String, SessionError> {
    // Rotate on every change of privilege: a token planted before the login (session fixation)
    // dies with it.
    session.rotate().await?;
    session.set_principal(Some(&name)).await?;
    Ok(format!("logged in as {name}"))
}

async fn me(session: Session) -> Result<(StatusCode, String), SessionError> {
    Ok(match session.principal().await? {
        Some(name) => (StatusCode::OK, name),
        None => (StatusCode::UNAUTHORIZED, "not logged in".into()),
    })
}

async fn logout(session: Session) -> Result<StatusCode, SessionError> {
    session.destroy().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let db = sled::open("./example-data")?;
    let layer = SessionLayer::new(SledStore::new(&db)?);
    // Expired sessions are refused anyway; the sweeper reclaims their disk space.
    layer.spawn_sweeper(std::time::Duration::from_secs(60));
    let routes = Router::new()
        .route("/login/{name}", post(login))
        .route("/me", get(me))
        .route("/logout", post(logout));
    let app = layer.layer(routes);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, ServiceExt::<Request>::into_make_service(app)).await?;
    Ok(())
}
