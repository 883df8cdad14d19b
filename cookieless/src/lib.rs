//! Cookieless sessions for axum.
//!
//! The server hands the client an opaque token in an `X-Session` response header; the client sends
//! it back in an `X-Session` request header. By default ([`Transport::HeaderOnly`]) nothing is put
//! in a cookie, so the sessions work where cookies are blocked, and since a browser never attaches
//! the header on its own, requests forged by other sites carry no session (no CSRF by
//! construction).
//!
//! ```no_run
//! use axum::{extract::Request, routing::post, Router, ServiceExt};
//! use cookieless::{MemoryStore, Session, SessionError, SessionLayer};
//!
//! async fn increment(session: Session) -> Result<String, SessionError> {
//!     let count: u64 = session.get("count").await?.unwrap_or(0) + 1;
//!     session.insert("count", count).await?;
//!     Ok(count.to_string())
//! }
//!
//! # #[tokio::main]
//! # async fn main() -> std::io::Result<()> {
//! let routes = Router::new().route("/count", post(increment));
//! let app = tower::Layer::layer(&SessionLayer::new(MemoryStore::new()), routes);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, ServiceExt::<Request>::into_make_service(app)).await
//! # }
//! ```
//!
//! - [`SessionLayer`] wraps the routes that use sessions; handlers take a [`Session`].
//! - Sessions live in a store: [`MemoryStore`], [`SledStore`] (durable and embedded, feature
//!   `sled`, on by default), or [`RedisStore`] (feature `redis`: shared by several server
//!   instances). [`store`] has what it takes to write another.
//! - [`cors_layer`] lets a browser app on another origin send and read the header.
//! - [`Transport::HeaderOrCookie`] (opt-in) also carries the token in a cookie, for links the
//!   browser follows by itself, and refuses unsafe requests that the cookie carried from another
//!   site.
//! - [`Session::require_recent_auth`] asks for a recent proof of who the user is (step-up) before
//!   a sensitive action.
//!
//! | Feature | Default | What it adds |
//! | --- | --- | --- |
//! | `sled` | yes | [`SledStore`], sessions on disk in an embedded database |
//! | `redis` | no | [`RedisStore`], sessions shared by every instance through Redis |
//! | `test-util` | no | `store::store_suite`, the contract tests to run against a store of your own |
//! | `metrics` | no | counts of sessions, loads, saves, lease waits and store latency, through the [`metrics`](https://docs.rs/metrics) facade |
//!
//! `docs/protocol.md` in the repository states the protocol rule by rule, and the
//! `examples/` directory has a runnable program for each use.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod client_address;
mod clock;
mod commit;
mod config;
mod cors;
mod data;
mod decide;
mod error;
mod expiry;
mod finish;
mod hold;
mod layer;
mod lazy_state;
mod locks;
mod memory_store;
mod metrics;
mod new_sessions;
mod record;
#[cfg(feature = "sled")]
mod record_cache;
#[cfg(feature = "redis")]
mod redis_pool;
#[cfg(feature = "redis")]
mod redis_script;
#[cfg(feature = "redis")]
mod redis_store;
mod request_header;
mod session;
mod session_store;
#[cfg(feature = "sled")]
mod sled_store;
mod state;
pub mod store;
mod sweep;
mod token;
mod transport;
mod waiters;

pub use client_address::ClientAddress;
pub use clock::Clock;
pub use cors::cors_layer;
pub use error::{SessionError, REAUTHENTICATION_REQUIRED, SESSION_ROTATED};
pub use expiry::Expiry;
pub use finish::X_SESSION_EXPIRES;
pub use layer::{SessionFuture, SessionLayer, SessionService};
pub use memory_store::MemoryStore;
pub use new_sessions::NewSessionLimit;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis_store::RedisStore;
pub use request_header::X_SESSION;
pub use session::{Session, SessionInfo};
#[cfg(feature = "sled")]
#[cfg_attr(docsrs, doc(cfg(feature = "sled")))]
pub use sled_store::SledStore;
pub use transport::{Transport, CROSS_SITE_REQUEST};

// The crate README's example is compiled as a doctest, so that it cannot go stale.
#[cfg(all(doctest, feature = "sled"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
