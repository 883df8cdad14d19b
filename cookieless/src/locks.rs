//! One lock per live session, so that requests on the same session within this process run their
//! session work one after another.
//!
//! Why it exists: without it, two concurrent read-modify-writes of one session (two quick
//! clicks on a counter) would both read the same value and one update would be lost, or merge
//! by key across the conditional write and still lose it. The table holds only the locks in use,
//! so it neither grows with the number of sessions nor allocates on the uncontended path, which
//! the layer benchmark measures.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::token::SessionKey;
use crate::waiters::{self, Waiters};

/// The sessions whose lock is held right now, and nothing else: a request that finds its
/// session's entry absent takes the lock by adding it, without allocating (the table keeps its
/// capacity), and removes it when done. Waiting, which is rare, is what costs.
#[derive(Default)]
pub(crate) struct SessionLocks {
    // Any request can add a key here, but only while it is in flight, and the seeded hasher
    // keeps those keys from being aimed at one bucket.
    held: Mutex<HashMap<SessionKey, Waiters, foldhash::fast::RandomState>>,
}

/// The lock on one session; dropping it lets the next request on that session in.
pub(crate) struct SessionLock {
    locks: Arc<SessionLocks>,
    key: SessionKey,
}

impl SessionLocks {
    pub(crate) async fn lock(self: &Arc<Self>, key: SessionKey) -> SessionLock {
        loop {
            let notify = match self.try_lock(key) {
                Ok(lock) => return lock,
                Err(notify) => notify,
            };
            waiters::wait(&notify, || self.is_waiting_on(key, &notify)).await;
        }
    }

    /// The lock if nobody holds it, else what to wait on.
    pub(crate) fn try_lock(self: &Arc<Self>, key: SessionKey) -> Result<SessionLock, Arc<Notify>> {
        match self.table().entry(key) {
            Entry::Vacant(entry) => {
                entry.insert(Waiters::default());
                Ok(SessionLock {
                    locks: self.clone(),
                    key,
                })
            }
            Entry::Occupied(mut entry) => Err(entry.get_mut().join()),
        }
    }

    fn is_waiting_on(&self, key: SessionKey, notify: &Arc<Notify>) -> bool {
        matches!(self.table().get(&key), Some(waiters) if waiters.handed_out(notify))
    }

    fn table(&self) -> MutexGuard<'_, HashMap<SessionKey, Waiters, foldhash::fast::RandomState>> {
        // Nothing panics while holding it, and a table that saw a panic is still consistent.
        self.held
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for SessionLock {
    fn drop(&mut self) {
        let waiters = self.locks.table().remove(&self.key);
        if let Some(waiters) = waiters {
            // Every waiter tries again and one wins; the others wait on the winner's entry.
            waiters.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::token::Token;

    #[tokio::test]
    async fn the_same_key_is_exclusive_and_released_keys_leave_the_table() {
        let locks = Arc::new(SessionLocks::default());
        let key = Token::generate().key();
        let guard = locks.lock(key).await;
        let second = tokio::time::timeout(Duration::from_millis(50), locks.lock(key));
        assert!(second.await.is_err(), "a second holder got the lock");
        let other = locks.lock(Token::generate().key()).await;
        drop(guard);
        drop(locks.lock(key).await);
        drop(other);
        assert!(locks.table().is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn waiters_all_get_the_lock_one_at_a_time() {
        let locks = Arc::new(SessionLocks::default());
        let key = Token::generate().key();
        let inside = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (locks, inside) = (locks.clone(), inside.clone());
                tokio::spawn(async move {
                    for _ in 0..50 {
                        let _lock = locks.lock(key).await;
                        assert_eq!(inside.fetch_add(1, std::sync::atomic::Ordering::SeqCst), 0);
                        tokio::task::yield_now().await;
                        inside.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for task in tasks {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("a waiter was never woken")
                .unwrap();
        }
        assert!(locks.table().is_empty());
    }
}
