//! Decoded records of recently used sessions, in front of a store that keeps them encoded.
//!
//! Why it exists: without it every read of a sled session is a tree lookup and a JSON parse; with
//! it a sled read costs about what a memory-store read costs (`docs/benchmarks.md`, "The sled
//! store keeps decoded records in memory"). What would break if it were done carelessly: a logout or revocation that a
//! cached copy outlives. Hence the coherence rule below.

use std::sync::{Mutex, MutexGuard};

use crate::record::Record;
use crate::token::SessionKey;

/// A bounded cache of records, kept coherent with the store behind it: every change to the store
/// goes through [`RecordCache::change`], and a record read from the store is cached only if no
/// change began while it was read, so that a session ended in the meantime cannot come back.
pub(crate) struct RecordCache {
    records: quick_cache::sync::Cache<SessionKey, Record>,
    /// How many changes have begun. Held while one runs, so that changes reach the cache in the
    /// order they reached the store.
    changes: Mutex<u64>,
}

/// A change to the store under way; loads cache nothing until it is dropped.
pub(crate) struct Change<'a> {
    cache: &'a RecordCache,
    _changes: MutexGuard<'a, u64>,
}

impl RecordCache {
    pub(crate) fn new(capacity: usize) -> Self {
        RecordCache {
            records: quick_cache::sync::Cache::new(capacity.max(1)),
            changes: Mutex::new(0),
        }
    }

    /// The record under `key`, from the cache, else from `read` (a read of the store).
    pub(crate) fn load<E>(
        &self,
        key: &SessionKey,
        read: impl FnOnce() -> Result<Option<Record>, E>,
    ) -> Result<Option<Record>, E> {
        if let Some(record) = self.records.get(key) {
            return Ok(Some(record));
        }
        let before = *self.changes();
        let record = read()?;
        if let Some(record) = &record {
            let changes = self.changes();
            if *changes == before {
                self.records.insert(*key, record.clone());
            }
        }
        Ok(record)
    }

    /// Begins a change to the store: make it, then say what it left with [`Change::wrote`] or
    /// [`Change::removed`].
    pub(crate) fn change(&self) -> Change<'_> {
        let mut changes = self.changes();
        *changes += 1;
        Change {
            cache: self,
            _changes: changes,
        }
    }

    fn changes(&self) -> MutexGuard<'_, u64> {
        // Nothing panics while holding it, and a counter is consistent whatever happened.
        self.changes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Change<'_> {
    /// The store now holds `record` under `key`.
    pub(crate) fn wrote(&self, key: &SessionKey, record: &Record) {
        self.cache.records.insert(*key, record.clone());
    }

    /// The store holds nothing under `key` any more.
    pub(crate) fn removed(&self, key: &SessionKey) {
        self.cache.records.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::data::Data;
    use crate::token::Token;

    fn record(version: u64) -> Record {
        Record {
            version,
            created: 1,
            last_seen: 1,
            expires: u64::MAX,
            data: Arc::new(Data::new()),
            principal: None,
            user_agent: None,
            rotated: false,
            authenticated_at: None,
        }
    }

    #[test]
    fn reads_the_store_once_then_serves_what_it_read_and_what_was_written() {
        let cache = RecordCache::new(10);
        let key = Token::generate().key();
        let mut reads = 0;
        for _ in 0..3 {
            let loaded = cache.load(&key, || {
                reads += 1;
                Ok::<_, ()>(Some(record(1)))
            });
            assert_eq!(loaded.unwrap().map(|record| record.version), Some(1));
        }
        assert_eq!(reads, 1);
        cache.change().wrote(&key, &record(2));
        let loaded = cache.load(&key, || Ok::<_, ()>(None));
        assert_eq!(loaded.unwrap().map(|record| record.version), Some(2));
        cache.change().removed(&key);
        assert_eq!(cache.load(&key, || Ok::<_, ()>(None)), Ok(None));
    }

    #[test]
    fn a_record_read_while_the_store_changed_is_not_kept() {
        let cache = RecordCache::new(10);
        let key = Token::generate().key();
        // The read sees the session; before the read returns, the session is deleted.
        let loaded = cache.load(&key, || {
            cache.change().removed(&key);
            Ok::<_, ()>(Some(record(1)))
        });
        assert!(loaded.unwrap().is_some());
        assert_eq!(cache.load(&key, || Ok::<_, ()>(None)), Ok(None));
    }

    #[test]
    fn holds_at_most_about_its_capacity() {
        let cache = RecordCache::new(100);
        for _ in 0..1000 {
            cache.change().wrote(&Token::generate().key(), &record(1));
        }
        assert!(
            cache.records.len() <= 110,
            "{} records",
            cache.records.len()
        );
    }
}
