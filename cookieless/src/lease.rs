//! Leases: one request at a time on a session across every process that shares its store.
//!
//! Why it exists: the lock table (`locks.rs`) serialises one process's requests on a session; a
//! store shared by several instances (Redis) would otherwise let two instances read the same
//! version, and the later save could only merge key by key, losing one of two increments of the
//! same value. A store that is shared implements [`SessionLeases`]; the layer then loads under a
//! lease and saves with its release.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::locks::SessionLock;
use crate::record::Record;
use crate::session_store::{Saved, SessionStore, StoreError};
use crate::token::SessionKey;

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

/// A request's hold on a stored session: the process's lock, and the store's lease if the layer
/// takes leases. Dropping it without a save that released the lease releases it in the
/// background, and lets the next request of this process in only after that.
pub(crate) struct SessionHold {
    lock: Option<SessionLock>,
    lease: Option<HeldLease>,
}

pub(crate) struct HeldLease {
    pub(crate) store: Arc<dyn SessionStore>,
    pub(crate) key: SessionKey,
    pub(crate) id: LeaseId,
    released: AtomicBool,
}

impl HeldLease {
    pub(crate) fn new(store: Arc<dyn SessionStore>, key: SessionKey, id: LeaseId) -> Self {
        HeldLease {
            store,
            key,
            id,
            released: AtomicBool::new(false),
        }
    }
}

impl SessionHold {
    pub(crate) fn new(lock: SessionLock, lease: Option<HeldLease>) -> Self {
        SessionHold {
            lock: Some(lock),
            lease,
        }
    }

    /// The lease to save under, unless it was released already.
    pub(crate) fn lease(&self) -> Option<LeaseId> {
        self.lease
            .as_ref()
            .filter(|lease| !lease.released.load(Ordering::Relaxed))
            .map(|lease| lease.id)
    }

    /// The lease's holder id, released or not: to take the lease again under it.
    pub(crate) fn id(&self) -> Option<LeaseId> {
        self.lease.as_ref().map(|lease| lease.id)
    }

    /// Records that a save or a delete released the lease in the store.
    pub(crate) fn released(&self) {
        if let Some(lease) = &self.lease {
            lease.released.store(true, Ordering::Relaxed);
        }
    }

    /// Records that the lease was taken again (to replay a refused save under it).
    pub(crate) fn reacquired(&self) {
        if let Some(lease) = &self.lease {
            lease.released.store(false, Ordering::Relaxed);
        }
    }
}

impl Drop for SessionHold {
    fn drop(&mut self) {
        let Some(lease) = self.lease.take() else {
            return;
        };
        if lease.released.load(Ordering::Relaxed) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime to release it on: the store's deadline frees the session.
            return;
        };
        let lock = self.lock.take();
        runtime.spawn(async move {
            if let Some(leases) = lease.store.leases() {
                if let Err(error) = leases.release(&lease.key, lease.id).await {
                    tracing::warn!(%error, "could not release a session's lease; its deadline will");
                }
            }
            drop(lock);
        });
    }
}
