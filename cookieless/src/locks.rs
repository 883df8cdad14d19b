//! One lock per live session, so that requests on the same session within this process run their
//! session work one after another.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

use crate::token::SessionKey;

#[derive(Default)]
pub(crate) struct SessionLocks {
    table: Mutex<Table>,
}

#[derive(Default)]
struct Table {
    locks: HashMap<SessionKey, Weak<AsyncMutex<()>>>,
    prune_above: usize,
}

impl SessionLocks {
    pub(crate) async fn lock(&self, key: SessionKey) -> OwnedMutexGuard<()> {
        let mutex = {
            let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
            table.mutex_for(key)
        };
        mutex.lock_owned().await
    }
}

impl Table {
    fn mutex_for(&mut self, key: SessionKey) -> Arc<AsyncMutex<()>> {
        if let Some(mutex) = self.locks.get(&key).and_then(Weak::upgrade) {
            return mutex;
        }
        let mutex = Arc::new(AsyncMutex::new(()));
        self.locks.insert(key, Arc::downgrade(&mutex));
        // Entries die with their last holder; sweeping when the table doubles keeps it
        // proportional to the sessions in use at a constant cost per lock.
        if self.locks.len() > self.prune_above {
            self.locks.retain(|_, lock| lock.strong_count() > 0);
            self.prune_above = (self.locks.len() * 2).max(64);
        }
        mutex
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::Token;

    #[tokio::test]
    async fn the_same_key_is_exclusive_and_dead_entries_are_pruned() {
        let locks = SessionLocks::default();
        let key = Token::generate().key();
        let guard = locks.lock(key).await;
        let second = tokio::time::timeout(std::time::Duration::from_millis(50), locks.lock(key));
        assert!(second.await.is_err(), "a second holder got the lock");
        drop(guard);
        drop(locks.lock(key).await);

        for _ in 0..1000 {
            drop(locks.lock(Token::generate().key()).await);
        }
        assert!(locks.table.lock().unwrap().locks.len() <= 128);
    }
}
