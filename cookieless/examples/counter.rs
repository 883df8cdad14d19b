//! A per-visitor counter on the memory store: the smallest app with sessions.
//!
//! The first `POST /count` starts a session and answers with its token in `X-Session`; send the
//! token back and the count goes on; send nothing and you are a new visitor.
//!
//! ```sh
//! cargo run -p cookieless --example counter
//! curl -si -X POST http://127.0.0.1:3000/count                      # 1, and an X-Session token
//! curl -si -X POST -H 'X-Session: <token>' http://127.0.0.1:3000/count  # 2
//! ```

use axum::extract::Request;
use axum::routing::get;
use axum::{Router, ServiceExt};
use cookieless::{MemoryStore, Session, SessionError, SessionLayer, SessionService};
use tower::Layer;

async fn show(session: Session) -> Result<String, SessionError> {
    let count: u64 = session.get("count").await?.unwrap_or(0);
    Ok(count.to_string())
}

async fn increment(session: Session) -> Result<String, SessionError> {
    let count: u64 = session.get("count").await?.unwrap_or(0) + 1;
    session.insert("count", count).await?;
    Ok(count.to_string())
}

/// The routes, wrapped once in the session layer: around the whole router, so that it runs once
/// per request, before routing.
pub fn app() -> SessionService<Router> {
    let routes = Router::new().route("/count", get(show).post(increment));
    SessionLayer::new(MemoryStore::new()).layer(routes)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("counting on http://{}/count", listener.local_addr()?);
    axum::serve(listener, ServiceExt::<Request>::into_make_service(app())).await
}
