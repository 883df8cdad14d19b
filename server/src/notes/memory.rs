use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{NoteStore, NoteStoreError, StoredNote};

/// Notes in process memory, for `--store memory`.
#[derive(Default)]
pub struct MemoryNotes {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    last_id: u64,
    notes: BTreeMap<(String, u64), StoredNote>,
}

impl MemoryNotes {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl NoteStore for MemoryNotes {
    async fn next_id(&self) -> Result<u64, NoteStoreError> {
        let mut state = self.state();
        state.last_id += 1;
        Ok(state.last_id)
    }

    async fn page(
        &self,
        owner: &str,
        offset: usize,
        limit: usize,
    ) -> Result<(u64, Vec<StoredNote>), NoteStoreError> {
        let state = self.state();
        let owned = state
            .notes
            .range((owner.to_string(), 0)..=(owner.to_string(), u64::MAX))
            .map(|(_, note)| note);
        let count = owned.clone().count() as u64;
        Ok((
            count,
            owned.rev().skip(offset).take(limit).cloned().collect(),
        ))
    }

    async fn get(&self, owner: &str, id: u64) -> Result<Option<StoredNote>, NoteStoreError> {
        Ok(self.state().notes.get(&(owner.to_string(), id)).cloned())
    }

    async fn put(&self, note: &StoredNote) -> Result<(), NoteStoreError> {
        self.state()
            .notes
            .insert((note.owner.clone(), note.id), note.clone());
        Ok(())
    }

    async fn delete(&self, owner: &str, id: u64) -> Result<bool, NoteStoreError> {
        Ok(self
            .state()
            .notes
            .remove(&(owner.to_string(), id))
            .is_some())
    }
}
