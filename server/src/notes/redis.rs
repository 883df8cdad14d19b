use async_trait::async_trait;
use cookieless::store::RedisPool;
use redis::AsyncCommands;

use crate::redis_calls::bounded;

use super::{NoteStore, NoteStoreError, StoredNote};

/// Notes as JSON under `{prefix}note:{{owner}}:{id}`, each owner's ids in a sorted set
/// `{prefix}notes:{{owner}}`, ids from the counter `{prefix}note-ids`. Application data: no
/// expiry. The owner is the keys' cluster hash tag, so that a note and its owner's list change
/// together in one slot.
pub struct RedisNotes {
    pool: RedisPool,
    prefix: String,
}

impl RedisNotes {
    pub fn new(pool: RedisPool, prefix: &str) -> Self {
        RedisNotes {
            pool,
            prefix: prefix.to_string(),
        }
    }

    fn note_key(&self, owner: &str, id: u64) -> String {
        format!("{}note:{{{owner}}}:{id}", self.prefix)
    }

    fn owner_key(&self, owner: &str) -> String {
        format!("{}notes:{{{owner}}}", self.prefix)
    }
}

#[async_trait]
impl NoteStore for RedisNotes {
    async fn next_id(&self) -> Result<u64, NoteStoreError> {
        let mut connection = self.pool.get();
        Ok(bounded(connection.incr(format!("{}note-ids", self.prefix), 1)).await?)
    }

    async fn page(
        &self,
        owner: &str,
        offset: usize,
        limit: usize,
    ) -> Result<(u64, Vec<StoredNote>), NoteStoreError> {
        let mut connection = self.pool.get();
        let key = self.owner_key(owner);
        let count: u64 = bounded(connection.zcard(&key)).await?;
        // Redis ranks are signed: an offset past them, or past the count, has no notes.
        let (Ok(start), Ok(stop)) = (
            isize::try_from(offset),
            isize::try_from(offset.saturating_add(limit).saturating_sub(1)),
        ) else {
            return Ok((count, Vec::new()));
        };
        if limit == 0 || offset as u64 >= count {
            return Ok((count, Vec::new()));
        }
        let ids: Vec<u64> = bounded(connection.zrevrange(&key, start, stop)).await?;
        let mut notes = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(note) = self.get(owner, id).await? {
                notes.push(note);
            }
        }
        Ok((count, notes))
    }

    async fn get(&self, owner: &str, id: u64) -> Result<Option<StoredNote>, NoteStoreError> {
        let mut connection = self.pool.get();
        let value: Option<String> = bounded(connection.get(self.note_key(owner, id))).await?;
        let note = value
            .map(|value| {
                serde_json::from_str::<StoredNote>(&value).map_err(NoteStoreError::unavailable)
            })
            .transpose()?;
        Ok(note.filter(|note| note.owner == owner))
    }

    async fn put(&self, note: &StoredNote) -> Result<(), NoteStoreError> {
        let value = serde_json::to_string(note).map_err(NoteStoreError::unavailable)?;
        let mut connection = self.pool.get();
        bounded(
            redis::pipe()
                .atomic()
                .set(self.note_key(&note.owner, note.id), value)
                .ignore()
                .zadd(self.owner_key(&note.owner), note.id, note.id)
                .ignore()
                .query_async::<()>(&mut connection),
        )
        .await?;
        Ok(())
    }

    async fn delete(&self, owner: &str, id: u64) -> Result<bool, NoteStoreError> {
        if self.get(owner, id).await?.is_none() {
            return Ok(false);
        }
        let mut connection = self.pool.get();
        bounded(
            redis::pipe()
                .atomic()
                .del(self.note_key(owner, id))
                .ignore()
                .zrem(self.owner_key(owner), id)
                .ignore()
                .query_async::<()>(&mut connection),
        )
        .await?;
        Ok(true)
    }
}
