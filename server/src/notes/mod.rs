//! The demo's per-user notes: the application's own data, behind a small trait with a store per
//! backend, next to the users.

mod memory;
mod redis;
mod sled;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use self::memory::MemoryNotes;
pub use self::redis::RedisNotes;
pub use self::sled::SledNotes;
use crate::redis_calls::RedisCallError;

/// A stored note. Times are milliseconds since the Unix epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredNote {
    pub id: u64,
    pub owner: String,
    pub title: String,
    pub body: String,
    pub created: u64,
    pub updated: u64,
}

impl StoredNote {
    /// A note written now.
    pub fn new(id: u64, owner: &str, title: &str, body: &str) -> Self {
        let now = cookieless::store::now_millis();
        StoredNote {
            id,
            owner: owner.to_string(),
            title: title.to_string(),
            body: body.to_string(),
            created: now,
            updated: now,
        }
    }

    /// Replaces the title and body, as of now.
    pub fn edit(&mut self, title: &str, body: &str) {
        self.title = title.to_string();
        self.body = body.to_string();
        self.updated = cookieless::store::now_millis();
    }
}

/// The note store could not be reached, or what it holds could not be read.
#[derive(Debug, thiserror::Error)]
#[error("the note store is unavailable: {0}")]
pub struct NoteStoreError(String);

impl NoteStoreError {
    pub fn unavailable(reason: impl std::fmt::Display) -> Self {
        NoteStoreError(reason.to_string())
    }
}

impl From<RedisCallError> for NoteStoreError {
    fn from(error: RedisCallError) -> Self {
        NoteStoreError::unavailable(error)
    }
}

#[async_trait]
pub trait NoteStore: Send + Sync + 'static {
    /// A new note id, larger than every id before it.
    async fn next_id(&self) -> Result<u64, NoteStoreError>;

    /// Adds a note under a new id.
    async fn create(
        &self,
        owner: &str,
        title: &str,
        body: &str,
    ) -> Result<StoredNote, NoteStoreError> {
        let note = StoredNote::new(self.next_id().await?, owner, title, body);
        self.put(&note).await?;
        Ok(note)
    }

    /// How many notes `owner` has, and up to `limit` of them after skipping `offset`, newest first.
    async fn page(
        &self,
        owner: &str,
        offset: usize,
        limit: usize,
    ) -> Result<(u64, Vec<StoredNote>), NoteStoreError>;

    /// The note with `id` if `owner` owns it.
    async fn get(&self, owner: &str, id: u64) -> Result<Option<StoredNote>, NoteStoreError>;

    /// Writes `note` whole, in place of the note with its id.
    async fn put(&self, note: &StoredNote) -> Result<(), NoteStoreError>;

    /// Replaces the title and body of `owner`'s note `id`; `None` if there is no such note.
    async fn update(
        &self,
        owner: &str,
        id: u64,
        title: &str,
        body: &str,
    ) -> Result<Option<StoredNote>, NoteStoreError> {
        let Some(mut note) = self.get(owner, id).await? else {
            return Ok(None);
        };
        note.edit(title, body);
        self.put(&note).await?;
        Ok(Some(note))
    }

    /// Removes `owner`'s note `id`; whether there was one.
    async fn delete(&self, owner: &str, id: u64) -> Result<bool, NoteStoreError>;
}
