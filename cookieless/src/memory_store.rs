//! A store in process memory: for tests, and for single-process apps that may lose sessions on
//! restart.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::expiry::Millis;
use crate::record::Record;
use crate::store::{Saved, SessionStore, StoreError};
use crate::token::SessionKey;

#[derive(Debug, Default)]
pub struct MemoryStore {
    records: Mutex<HashMap<SessionKey, Record>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn records(&self) -> std::sync::MutexGuard<'_, HashMap<SessionKey, Record>> {
        // No code path panics while holding the lock, and a poisoned map is still consistent.
        self.records
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<Record>, StoreError> {
        Ok(self.records().get(key).cloned())
    }

    async fn save(
        &self,
        key: &SessionKey,
        record: &Record,
        expected: Option<u64>,
    ) -> Result<Saved, StoreError> {
        let mut records = self.records();
        if records.get(key).map(|stored| stored.version) != expected {
            return Ok(Saved::Conflict);
        }
        records.insert(*key, record.clone());
        Ok(Saved::Written)
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.records().remove(key);
        Ok(())
    }

    async fn delete_expired(&self, now: Millis) -> Result<u64, StoreError> {
        let mut records = self.records();
        let before = records.len();
        records.retain(|_, record| !record.is_expired(now));
        Ok((before - records.len()) as u64)
    }
}
