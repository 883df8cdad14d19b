//! A store in process memory: for tests, and for single-process apps that may lose sessions on
//! restart.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::expiry::Millis;
use crate::record::Record;
use crate::session_store::{Saved, SessionStore, StoreError};
use crate::token::SessionKey;

/// Sessions in this process's memory: lost when it exits, and not shared with other instances.
///
/// ```
/// use cookieless::{MemoryStore, SessionLayer};
///
/// let layer = SessionLayer::new(MemoryStore::new());
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    // Keys are SHA-256 hashes of tokens the server made, so a fast hasher suffices: nobody can
    // choose which keys get stored.
    records: HashMap<SessionKey, Record, foldhash::fast::RandomState>,
    by_principal: HashMap<Arc<str>, HashSet<SessionKey>>,
}

impl State {
    fn remove(&mut self, key: &SessionKey) {
        if let Some(record) = self.records.remove(key) {
            unindex(&mut self.by_principal, key, &record);
        }
    }
}

fn unindex(
    by_principal: &mut HashMap<Arc<str>, HashSet<SessionKey>>,
    key: &SessionKey,
    record: &Record,
) {
    if let Some(principal) = &record.principal {
        if let Some(keys) = by_principal.get_mut(principal) {
            keys.remove(key);
            if keys.is_empty() {
                by_principal.remove(principal);
            }
        }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // No code path panics while holding the lock, and a poisoned map is still consistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<Record>, StoreError> {
        Ok(self.state().records.get(key).cloned())
    }

    async fn save(
        &self,
        key: &SessionKey,
        record: &Record,
        expected: Option<u64>,
    ) -> Result<Saved, StoreError> {
        let mut state = self.state();
        let State {
            records,
            by_principal,
        } = &mut *state;
        let previous = match records.entry(*key) {
            Entry::Occupied(mut entry) if Some(entry.get().version) == expected => {
                Some(entry.insert(record.clone()))
            }
            Entry::Vacant(entry) if expected.is_none() => {
                entry.insert(record.clone());
                None
            }
            _ => return Ok(Saved::Conflict),
        };
        let previous_principal = previous
            .as_ref()
            .and_then(|previous| previous.principal.as_ref());
        if previous_principal != record.principal.as_ref() {
            if let Some(previous) = &previous {
                unindex(by_principal, key, previous);
            }
            if let Some(principal) = &record.principal {
                by_principal
                    .entry(principal.clone())
                    .or_default()
                    .insert(*key);
            }
        }
        drop(state);
        // The replaced record is freed after the lock is released, not while others wait on it.
        drop(previous);
        Ok(Saved::Written)
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.state().remove(key);
        Ok(())
    }

    async fn delete_expired(&self, now: Millis) -> Result<u64, StoreError> {
        let mut state = self.state();
        let expired: Vec<SessionKey> = state
            .records
            .iter()
            .filter(|(_, record)| record.is_expired(now))
            .map(|(key, _)| *key)
            .collect();
        for key in &expired {
            state.remove(key);
        }
        Ok(expired.len() as u64)
    }

    async fn principal_sessions(
        &self,
        principal: &str,
        now: Millis,
    ) -> Result<Vec<(SessionKey, Record)>, StoreError> {
        let state = self.state();
        let keys = state.by_principal.get(principal);
        Ok(keys
            .into_iter()
            .flatten()
            .filter_map(|key| Some((*key, state.records.get(key)?.clone())))
            .filter(|(_, record)| !record.is_expired(now))
            .collect())
    }
}
