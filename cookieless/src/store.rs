//! What a store implementor needs: the [`SessionStore`] trait and the types it speaks in.
//!
//! Handlers never use this module; an application's `main` only picks one of the stores at the
//! crate root. Implement [`SessionStore`] to keep sessions somewhere else, and run the shared
//! contract tests against it (`store_suite`, feature `test-util`).
//!
//! ```
//! use async_trait::async_trait;
//! use cookieless::store::{Millis, Record, Saved, SessionKey, SessionStore, StoreError};
//!
//! /// A store that keeps nothing: every session is new on every request.
//! struct Forgetful;
//!
//! #[async_trait]
//! impl SessionStore for Forgetful {
//!     async fn load(&self, _: &SessionKey) -> Result<Option<Record>, StoreError> {
//!         Ok(None)
//!     }
//!     async fn save(&self, _: &SessionKey, _: &Record, _: Option<u64>) -> Result<Saved, StoreError> {
//!         Ok(Saved::Written)
//!     }
//!     async fn delete(&self, _: &SessionKey) -> Result<(), StoreError> {
//!         Ok(())
//!     }
//!     async fn delete_expired(&self, _: Millis) -> Result<u64, StoreError> {
//!         Ok(0)
//!     }
//!     async fn principal_sessions(
//!         &self,
//!         _: &str,
//!         _: Millis,
//!     ) -> Result<Vec<(SessionKey, Record)>, StoreError> {
//!         Ok(Vec::new())
//!     }
//! }
//!
//! let layer = cookieless::SessionLayer::new(Forgetful);
//! ```

pub use crate::data::Data;
pub use crate::expiry::{now_millis, Millis};
pub use crate::record::Record;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use crate::redis_pool::{RedisConnection, RedisPool};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use crate::redis_script::{RedisScript, RedisScriptCall};
#[cfg(feature = "sled")]
#[cfg_attr(docsrs, doc(cfg(feature = "sled")))]
pub use crate::sled_store::GroupFlush;
pub use crate::token::{SessionKey, Token};

pub use crate::session_store::{
    BoxError, LeaseId, Leased, Saved, SessionLeases, SessionStore, StoreError,
};
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod store_suite;
