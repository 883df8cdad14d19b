//! The storage interface every session store implements.

use async_trait::async_trait;

use crate::expiry::Millis;
use crate::record::Record;
use crate::token::SessionKey;

/// A store failed: the session could not be read or written. The layer answers 503.
#[derive(Debug, thiserror::Error)]
#[error("session store unavailable: {0}")]
pub struct StoreError(pub String);

impl StoreError {
    pub fn new(error: impl std::fmt::Display) -> Self {
        StoreError(error.to_string())
    }
}

/// Whether a conditional write happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Saved {
    Written,
    /// The stored version was not the expected one: someone else wrote or deleted the session
    /// since it was read. Nothing was written.
    Conflict,
}

/// Where sessions live. Keys are hashes of tokens, never tokens.
///
/// Stores keep records as they are given; deciding what is expired, valid or too large is the
/// layer's work. A store must tolerate being called from many tasks at once.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// The record under `key`, expired or not.
    async fn load(&self, key: &SessionKey) -> Result<Option<Record>, StoreError>;

    /// Writes `record` under `key` if the stored record's version is `expected`, where `None` means
    /// no record is stored. When this returns `Written`, the write is as durable as the store can
    /// make it.
    async fn save(
        &self,
        key: &SessionKey,
        record: &Record,
        expected: Option<u64>,
    ) -> Result<Saved, StoreError>;

    /// Removes the record under `key`; removing a missing record is not an error.
    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError>;

    /// Removes every record whose expiry is at or before `now`, returning how many went.
    async fn delete_expired(&self, now: Millis) -> Result<u64, StoreError>;

    /// Every live session whose record names `principal`, as of `now`. Stores keep an index by
    /// principal, maintained by `save` and `delete` and cleared of expired entries, so that this
    /// does not scan every session.
    async fn principal_sessions(
        &self,
        principal: &str,
        now: Millis,
    ) -> Result<Vec<(SessionKey, Record)>, StoreError>;
}

#[async_trait]
impl<S: SessionStore + ?Sized> SessionStore for std::sync::Arc<S> {
    async fn load(&self, key: &SessionKey) -> Result<Option<Record>, StoreError> {
        (**self).load(key).await
    }

    async fn save(
        &self,
        key: &SessionKey,
        record: &Record,
        expected: Option<u64>,
    ) -> Result<Saved, StoreError> {
        (**self).save(key, record, expected).await
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        (**self).delete(key).await
    }

    async fn delete_expired(&self, now: Millis) -> Result<u64, StoreError> {
        (**self).delete_expired(now).await
    }

    async fn principal_sessions(
        &self,
        principal: &str,
        now: Millis,
    ) -> Result<Vec<(SessionKey, Record)>, StoreError> {
        (**self).principal_sessions(principal, now).await
    }
}
