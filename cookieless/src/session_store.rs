//! The storage interface every session store implements, the errors stores report, and the
//! leases a store that several processes share implements so that one session's requests run one
//! at a time across all of them.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use crate::expiry::Millis;
use crate::record::Record;
use crate::token::SessionKey;

/// Any error a store's backend reports, boxed so that the cause travels in the source chain.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A store failed: the session could not be read or written. The layer answers 503 and the
/// client keeps its token.
///
/// ```
/// use cookieless::store::StoreError;
///
/// let error = StoreError::backend(std::io::Error::other("disk full"));
/// assert_eq!(error.to_string(), "the session store failed: disk full");
/// assert!(std::error::Error::source(&error).is_some());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend (a database, a server, a background task) failed or could not be reached.
    #[error("the session store failed: {0}")]
    Backend(#[source] BoxError),
    /// The backend did not answer within the store's time bound.
    #[error("the session store did not answer within {0:?}")]
    Timeout(Duration),
    /// The disk is below the store's free space floor, so writes are refused until space is
    /// freed (see `SledStore::with_free_space_floor`).
    #[error("the disk has {free} bytes free, below the floor of {floor}: writes are refused")]
    DiskFull {
        /// Bytes free when the write was refused.
        free: u64,
        /// The floor, in bytes.
        floor: u64,
    },
}

impl StoreError {
    /// A [`StoreError::Backend`] caused by `error`.
    pub fn backend(error: impl Into<BoxError>) -> Self {
        StoreError::Backend(error.into())
    }
}

/// Whether a conditional write happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Saved {
    /// The record was written.
    Written,
    /// The stored version was not the expected one: someone else wrote or deleted the session
    /// since it was read. Nothing was written.
    Conflict,
}

/// Where sessions live. Keys are hashes of tokens, never tokens.
///
/// Stores keep records as they are given; deciding what is expired, valid or too large is the
/// layer's work. A store must tolerate being called from many tasks at once. `Arc<S>` is a store
/// whenever `S` is, so an application can keep a handle to the store it gives the layer.
///
/// # Errors
///
/// Every method fails with a [`StoreError`] when the backend cannot do what it is asked; the
/// layer then answers 503 and saves nothing.
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

    /// The store's leases, if several processes share it: then the layer serialises each
    /// session's requests across all of them (see [`SessionLeases`]). A store only one process
    /// uses needs none, which is the default.
    fn leases(&self) -> Option<&dyn SessionLeases> {
        None
    }
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

    fn leases(&self) -> Option<&dyn SessionLeases> {
        (**self).leases()
    }
}

/// Who holds a lease: drawn at random for each request, so that a save can tell its own lease
/// from a later holder's (a fencing value).
///
/// ```
/// use cookieless::store::LeaseId;
///
/// let (a, b) = (LeaseId::generate(), LeaseId::generate());
/// assert_ne!(a, b);
/// assert_eq!(a.to_string().len(), 32);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LeaseId(u128);

impl LeaseId {
    /// A fresh, random holder.
    pub fn generate() -> Self {
        LeaseId(rand::random())
    }
}

impl fmt::Display for LeaseId {
    /// 32 lowercase hex digits, as a store keeps it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl fmt::Debug for LeaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LeaseId({self})")
    }
}

/// What [`SessionLeases::load_leased`] got.
#[derive(Debug)]
pub enum Leased {
    /// The lease is the caller's, and this is the record as read under it (`None`: no record).
    Granted(Option<Record>),
    /// Another request held the lease for all the time the caller would wait; it is expected to be
    /// free after `retry_after`.
    Busy {
        /// When the holder's lease runs out at the latest.
        retry_after: Duration,
    },
}

/// A store shared by several processes, that can hold a session for one request at a time.
///
/// A lease has a deadline kept by the store (and renewed by it while its request runs), so that a
/// process that dies holding one blocks its session for no longer than that. A save made under a
/// lease is refused once another request holds the session, so that a request whose lease ran
/// out cannot overwrite a newer save.
///
/// # Errors
///
/// Every method fails with a [`StoreError`] when the backend cannot do what it is asked.
#[async_trait]
pub trait SessionLeases: Send + Sync {
    /// Takes the lease on `key` for `lease` and loads the record under it, in one step. If
    /// another request holds it, waits for its release, at most `wait` in all.
    async fn load_leased(
        &self,
        key: &SessionKey,
        lease: LeaseId,
        wait: Duration,
    ) -> Result<Leased, StoreError>;

    /// Writes `record` as [`SessionStore::save`] does, and releases the lease, in one step. Also
    /// answers [`Saved::Conflict`], writing nothing, when another request holds the lease now.
    async fn save_leased(
        &self,
        key: &SessionKey,
        record: &Record,
        expected: Option<u64>,
        lease: LeaseId,
    ) -> Result<Saved, StoreError>;

    /// Removes the record under `key` and releases the lease, in one step, if the stored version
    /// is `expected` and no other request holds the lease; else answers [`Saved::Conflict`] and
    /// removes nothing. A rotation ends the session it replaces this way, so that it neither
    /// brings back a session ended meanwhile nor drops what a later holder wrote.
    async fn delete_leased(
        &self,
        key: &SessionKey,
        expected: u64,
        lease: LeaseId,
    ) -> Result<Saved, StoreError>;

    /// Releases the lease if `lease` still holds it.
    async fn release(&self, key: &SessionKey, lease: LeaseId) -> Result<(), StoreError>;
}
