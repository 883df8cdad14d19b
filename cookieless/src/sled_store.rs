//! The embedded, durable store: sessions in a tree of a sled database, flushed to disk before the
//! response that changed them is sent.

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};

use crate::expiry::Millis;
use crate::record::Record;
use crate::store::{Saved, SessionStore, StoreError};
use crate::token::SessionKey;

const TREE: &str = "sessions";

/// Sessions in the `sessions` tree of a sled database, which the application may share for its
/// own trees.
///
/// Must be created inside a Tokio runtime: it starts the task that batches flushes.
#[derive(Clone)]
pub struct SledStore {
    tree: sled::Tree,
    flush: GroupFlush,
}

impl SledStore {
    pub fn new(db: &sled::Db) -> Result<Self, StoreError> {
        Ok(SledStore {
            tree: db.open_tree(TREE).map_err(StoreError::new)?,
            flush: GroupFlush::start(db.clone()),
        })
    }

    /// A handle that makes writes to this store's database durable, batched with the store's own
    /// flushes; for applications that keep their data in the same database.
    pub fn group_flush(&self) -> GroupFlush {
        self.flush.clone()
    }

    fn stored_version(bytes: &[u8]) -> Result<u64, StoreError> {
        Record::decode(bytes)
            .map(|record| record.version)
            .map_err(StoreError::new)
    }
}

#[async_trait]
impl SessionStore for SledStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<Record>, StoreError> {
        let Some(bytes) = self.tree.get(key.as_bytes()).map_err(StoreError::new)? else {
            return Ok(None);
        };
        match Record::decode(&bytes) {
            Ok(record) => Ok(Some(record)),
            Err(error) => {
                // An unreadable record cannot be trusted as a session; treating it as absent lets
                // the client start afresh instead of being locked out.
                tracing::warn!(%error, ?key, "dropping an undecodable session record");
                Ok(None)
            }
        }
    }

    async fn save(
        &self,
        key: &SessionKey,
        record: &Record,
        expected: Option<u64>,
    ) -> Result<Saved, StoreError> {
        let current = self.tree.get(key.as_bytes()).map_err(StoreError::new)?;
        let current_version = current.as_deref().map(Self::stored_version).transpose()?;
        if current_version != expected {
            return Ok(Saved::Conflict);
        }
        let swapped = self
            .tree
            .compare_and_swap(key.as_bytes(), current, Some(record.encode()))
            .map_err(StoreError::new)?;
        if swapped.is_err() {
            return Ok(Saved::Conflict);
        }
        self.flush.flush().await?;
        Ok(Saved::Written)
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        if self
            .tree
            .remove(key.as_bytes())
            .map_err(StoreError::new)?
            .is_some()
        {
            self.flush.flush().await?;
        }
        Ok(())
    }

    async fn delete_expired(&self, now: Millis) -> Result<u64, StoreError> {
        let tree = self.tree.clone();
        tokio::task::spawn_blocking(move || {
            let mut removed = 0;
            for entry in tree.iter() {
                let (key, value) = entry.map_err(StoreError::new)?;
                let expired = Record::encoded_expiry(&value).is_none_or(|expires| expires <= now);
                // Compare-and-swap so that a session refreshed since the scan read it survives.
                if expired
                    && tree
                        .compare_and_swap(&key, Some(&value), None::<&[u8]>)
                        .map_err(StoreError::new)?
                        .is_ok()
                {
                    removed += 1;
                }
            }
            Ok(removed)
        })
        .await
        .map_err(StoreError::new)?
    }
}

/// Group commit for a sled database: callers that ask for a flush while one is running share the
/// next one, so many concurrent writers pay for a few fsyncs instead of one each.
#[derive(Clone)]
pub struct GroupFlush {
    requests: mpsc::UnboundedSender<oneshot::Sender<Result<(), String>>>,
}

impl GroupFlush {
    fn start(db: sled::Db) -> Self {
        let (requests, mut pending) = mpsc::unbounded_channel::<oneshot::Sender<_>>();
        tokio::spawn(async move {
            while let Some(first) = pending.recv().await {
                // Everyone queued so far wrote before queueing, so one flush that starts now
                // covers them all.
                let mut waiters = vec![first];
                while let Ok(next) = pending.try_recv() {
                    waiters.push(next);
                }
                let db = db.clone();
                let result = match tokio::task::spawn_blocking(move || db.flush()).await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(error)) => Err(error.to_string()),
                    Err(error) => Err(error.to_string()),
                };
                for waiter in waiters {
                    let _ = waiter.send(result.clone());
                }
            }
        });
        GroupFlush { requests }
    }

    /// Returns once every write made to the database before the call is on disk.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let (done, result) = oneshot::channel();
        self.requests
            .send(done)
            .map_err(|_| StoreError::new("the flush task has stopped"))?;
        result
            .await
            .map_err(|_| StoreError::new("the flush task has stopped"))?
            .map_err(StoreError)
    }
}
