//! The embedded, durable store: sessions in a tree of a sled database, flushed to disk before the
//! response that changed them is sent.

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};

use crate::expiry::Millis;
use crate::record::Record;
use crate::store::{Saved, SessionStore, StoreError};
use crate::token::SessionKey;

const TREE: &str = "sessions";
/// The index of sessions by principal: keys are the principal's length (u16, big-endian), the
/// principal, then the session key; values are empty.
const PRINCIPALS: &str = "session_principals";

/// Sessions in the `sessions` tree of a sled database, which the application may share for its
/// own trees.
///
/// Must be created inside a Tokio runtime: it starts the task that batches flushes.
#[derive(Clone)]
pub struct SledStore {
    tree: sled::Tree,
    principals: sled::Tree,
    flush: GroupFlush,
}

impl SledStore {
    pub fn new(db: &sled::Db) -> Result<Self, StoreError> {
        Ok(SledStore {
            tree: db.open_tree(TREE).map_err(StoreError::new)?,
            principals: db.open_tree(PRINCIPALS).map_err(StoreError::new)?,
            flush: GroupFlush::start(db.clone()),
        })
    }

    /// A handle that makes writes to this store's database durable, batched with the store's own
    /// flushes; for applications that keep their data in the same database.
    pub fn group_flush(&self) -> GroupFlush {
        self.flush.clone()
    }

    fn index_prefix(principal: &str) -> Vec<u8> {
        let length = u16::try_from(principal.len()).unwrap_or(u16::MAX);
        let mut prefix = length.to_be_bytes().to_vec();
        prefix.extend_from_slice(&principal.as_bytes()[..usize::from(length)]);
        prefix
    }

    fn index_key(principal: &str, key: &SessionKey) -> Vec<u8> {
        let mut index_key = Self::index_prefix(principal);
        index_key.extend_from_slice(key.as_bytes());
        index_key
    }

    fn unindex(principals: &sled::Tree, key: &SessionKey, bytes: &[u8]) -> Result<(), StoreError> {
        if let Some(principal) = Record::decode(bytes)
            .ok()
            .and_then(|record| record.principal)
        {
            principals
                .remove(Self::index_key(&principal, key))
                .map_err(StoreError::new)?;
        }
        Ok(())
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
        let current_record = current
            .as_deref()
            .map(Record::decode)
            .transpose()
            .map_err(StoreError::new)?;
        if current_record.as_ref().map(|record| record.version) != expected {
            return Ok(Saved::Conflict);
        }
        // Indexed before the write, so that a crash in between leaves at worst an entry whose
        // session is missing, which listing removes.
        if let Some(principal) = &record.principal {
            self.principals
                .insert(Self::index_key(principal, key), &[])
                .map_err(StoreError::new)?;
        }
        if let Some(previous) = current_record.and_then(|current| current.principal) {
            if record.principal.as_ref() != Some(&previous) {
                self.principals
                    .remove(Self::index_key(&previous, key))
                    .map_err(StoreError::new)?;
            }
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
        if let Some(removed) = self.tree.remove(key.as_bytes()).map_err(StoreError::new)? {
            Self::unindex(&self.principals, key, &removed)?;
            self.flush.flush().await?;
        }
        Ok(())
    }

    async fn delete_expired(&self, now: Millis) -> Result<u64, StoreError> {
        let tree = self.tree.clone();
        let principals = self.principals.clone();
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
                    if let Ok(bytes) = <[u8; 32]>::try_from(key.as_ref()) {
                        SledStore::unindex(&principals, &SessionKey::from_bytes(bytes), &value)?;
                    }
                    removed += 1;
                }
            }
            Ok(removed)
        })
        .await
        .map_err(StoreError::new)?
    }

    async fn principal_sessions(
        &self,
        principal: &str,
        now: Millis,
    ) -> Result<Vec<(SessionKey, Record)>, StoreError> {
        let prefix = Self::index_prefix(principal);
        let mut sessions = Vec::new();
        for entry in self.principals.scan_prefix(&prefix) {
            let (index_key, _) = entry.map_err(StoreError::new)?;
            let Ok(bytes) = <[u8; 32]>::try_from(&index_key[prefix.len()..]) else {
                continue;
            };
            let key = SessionKey::from_bytes(bytes);
            match self.load(&key).await? {
                Some(record)
                    if !record.is_expired(now)
                        && record.principal.as_deref() == Some(principal) =>
                {
                    sessions.push((key, record));
                }
                // A session that is gone or no longer this principal's leaves its entry behind
                // only after a crash or an expiry the sweep has not reached: drop it.
                _ => {
                    self.principals
                        .remove(&index_key)
                        .map_err(StoreError::new)?;
                }
            }
        }
        Ok(sessions)
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
