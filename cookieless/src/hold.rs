//! A request's hold on its session: the process's lock, and the store's lease when the layer
//! takes leases, let go together.
//!
//! Why it exists: a lease must be released however a request ends (a save that released it, a
//! handler error, a dropped future), and the next request of this process must be let in only
//! after that release, or it would find the lease still held and wait for a wake-up. Leases
//! themselves (what a store shared by several processes implements) are in `session_store.rs`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::locks::SessionLock;
use crate::session_store::{LeaseId, SessionStore};
use crate::token::SessionKey;

/// A request's hold on a stored session: the process's lock, and the store's lease if the layer
/// takes leases. Dropping it without a save that released the lease releases it in the
/// background, and lets the next request of this process in only after that.
pub(crate) struct SessionHold {
    lock: Option<SessionLock>,
    lease: Option<HeldLease>,
}

pub(crate) struct HeldLease {
    store: Arc<dyn SessionStore>,
    key: SessionKey,
    id: LeaseId,
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
