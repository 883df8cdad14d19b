//! Cookieless sessions for axum.
//!
//! The server hands the client an opaque token in an `X-Session` response header; the client sends
//! it back in an `X-Session` request header. Nothing is ever put in a cookie, so the sessions work
//! where cookies are blocked, and since a browser never attaches the header on its own, requests
//! forged by other sites carry no session (no CSRF by construction).
//!
//! - [`SessionLayer`] wraps the routes that use sessions; handlers take a [`Session`].
//! - [`SessionStore`] is where sessions live: [`MemoryStore`], [`SledStore`] (durable, the
//!   default), or `RedisStore` (feature `redis`: shared by several server instances).
//! - `docs/protocol.md` in the repository states the protocol exactly.

mod clock;
mod cors;
mod data;
mod error;
mod expiry;
mod layer;
mod lazy_state;
mod locks;
mod memory_store;
mod protocol;
mod record;
#[cfg(feature = "sled")]
mod record_cache;
#[cfg(feature = "redis")]
mod redis_pool;
#[cfg(feature = "redis")]
mod redis_store;
mod session;
#[cfg(feature = "sled")]
mod sled_store;
mod store;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod store_suite;
mod sweep;
mod token;
mod waiters;

pub use clock::Clock;
pub use cors::cors_layer;
pub use data::Data;
pub use error::{detail_response, SessionError};
pub use expiry::{now_millis, Expiry, Millis};
pub use layer::{SessionFuture, SessionLayer, SessionService, DEFAULT_MAX_SIZE};
pub use memory_store::MemoryStore;
pub use protocol::{MAX_HEADER_LEN, X_SESSION};
pub use record::Record;
#[cfg(feature = "redis")]
pub use redis_pool::RedisPool;
#[cfg(feature = "redis")]
pub use redis_store::{RedisStore, DEFAULT_TIMEOUT as REDIS_TIMEOUT};
pub use session::{Session, SessionInfo};
#[cfg(feature = "sled")]
pub use sled_store::{GroupFlush, SledStore, DEFAULT_CACHE_CAPACITY as SLED_CACHE_CAPACITY};
pub use store::{Saved, SessionStore, StoreError};
pub use token::{SessionKey, Token, MAX_TOKEN_LEN, MIN_TOKEN_LEN};
