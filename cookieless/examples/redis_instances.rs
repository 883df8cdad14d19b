//! Two instances of one app sharing sessions through Redis, as behind a load balancer.
//!
//! Both instances run in this one process here, on ports 3001 and 3002, each with its own
//! `RedisStore` (as separate processes or machines would have); a session started on one is
//! known to the other, and a logout on one ends it on both. Two increments of one session sent
//! to both at once both count: each request holds a lease on its session in Redis from its load
//! to its save. Needs a Redis server (`redis-server` on 127.0.0.1:6379, or `REDIS_URL`: a
//! `redis+cluster://host:port,...` URL names a Redis Cluster) and the `redis` feature.
//!
//! ```sh
//! redis-server --port 6379 &
//! cargo run -p cookieless --example redis_instances --features redis
//! curl -si -X POST http://127.0.0.1:3001/count                          # 1, a token
//! curl -s -X POST -H 'X-Session: <token>' http://127.0.0.1:3002/count   # 2, on the other one
//! ```

use axum::extract::Request;
use axum::routing::post;
use axum::{Router, ServiceExt};
use cookieless::{RedisStore, Session, SessionError, SessionLayer};
use tower::Layer;

async fn increment(session: Session) -> Result<String, SessionError> {
    let count: u64 = session.get("count").await?.unwrap_or(0) + 1;
    session.insert("count", count).await?;
    Ok(count.to_string())
}

async fn instance(url: &str, port: u16) -> Result<(), Box<dyn std::error::Error>> {
    // Every key the store writes starts with the prefix: one Redis can serve several apps.
    let store = RedisStore::connect(url, "example:").await?;
    let app = SessionLayer::new(store).layer(Router::new().route("/count", post(increment)));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("instance on http://{}/count", listener.local_addr()?);
    axum::serve(listener, ServiceExt::<Request>::into_make_service(app)).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    let (first, second) = tokio::join!(instance(&url, 3001), instance(&url, 3002));
    first.and(second)
}
