use async_trait::async_trait;
use cookieless::store::GroupFlush;

use super::{NoteStore, NoteStoreError, StoredNote};

/// Notes in the `notes` tree of the same sled database as the sessions and users, keyed by
/// owner (length-prefixed) then id (big-endian), so that one owner's notes sort by id.
pub struct SledNotes {
    db: sled::Db,
    tree: sled::Tree,
    flush: GroupFlush,
}

impl SledNotes {
    pub fn new(db: &sled::Db, flush: GroupFlush) -> Result<Self, sled::Error> {
        Ok(SledNotes {
            db: db.clone(),
            tree: db.open_tree("notes")?,
            flush,
        })
    }

    fn prefix(owner: &str) -> Vec<u8> {
        let length = u16::try_from(owner.len()).unwrap_or(u16::MAX);
        let mut prefix = length.to_be_bytes().to_vec();
        prefix.extend_from_slice(&owner.as_bytes()[..usize::from(length)]);
        prefix
    }

    fn key(owner: &str, id: u64) -> Vec<u8> {
        let mut key = Self::prefix(owner);
        key.extend_from_slice(&id.to_be_bytes());
        key
    }
}

fn unavailable(error: impl std::fmt::Display) -> NoteStoreError {
    NoteStoreError::unavailable(error)
}

fn decode(bytes: &[u8]) -> Result<StoredNote, NoteStoreError> {
    serde_json::from_slice(bytes).map_err(unavailable)
}

#[async_trait]
impl NoteStore for SledNotes {
    async fn next_id(&self) -> Result<u64, NoteStoreError> {
        // sled's ids grow monotonically, across restarts too; making one may write.
        self.flush.ensure_room().map_err(unavailable)?;
        Ok(self.db.generate_id().map_err(unavailable)? + 1)
    }

    async fn page(
        &self,
        owner: &str,
        offset: usize,
        limit: usize,
    ) -> Result<(u64, Vec<StoredNote>), NoteStoreError> {
        let prefix = Self::prefix(owner);
        let count = self.tree.scan_prefix(&prefix).count() as u64;
        let notes = self
            .tree
            .scan_prefix(&prefix)
            .rev()
            .skip(offset)
            .take(limit)
            .map(|entry| decode(&entry.map_err(unavailable)?.1))
            .collect::<Result<_, _>>()?;
        Ok((count, notes))
    }

    async fn get(&self, owner: &str, id: u64) -> Result<Option<StoredNote>, NoteStoreError> {
        self.tree
            .get(Self::key(owner, id))
            .map_err(unavailable)?
            .map(|bytes| decode(&bytes))
            .transpose()
    }

    async fn put(&self, note: &StoredNote) -> Result<(), NoteStoreError> {
        self.flush.ensure_room().map_err(unavailable)?;
        let value = serde_json::to_vec(note).map_err(unavailable)?;
        self.tree
            .insert(Self::key(&note.owner, note.id), value)
            .map_err(unavailable)?;
        self.flush.flush().await.map_err(unavailable)
    }

    async fn delete(&self, owner: &str, id: u64) -> Result<bool, NoteStoreError> {
        self.flush.ensure_room_to_delete().map_err(unavailable)?;
        let removed = self
            .tree
            .remove(Self::key(owner, id))
            .map_err(unavailable)?
            .is_some();
        if removed {
            self.flush.flush().await.map_err(unavailable)?;
        }
        Ok(removed)
    }
}
