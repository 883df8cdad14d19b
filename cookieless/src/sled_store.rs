//! The embedded, durable store: sessions in a tree of a sled database, flushed to disk before the
//! response that changed them is sent.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};

use crate::expiry::Millis;
use crate::record::Record;
use crate::record_cache::RecordCache;
use crate::session_store::{Saved, SessionStore, StoreError};
use crate::token::SessionKey;

const TREE: &str = "sessions";
/// The index of sessions by principal: keys are the principal's length (u16, big-endian), the
/// principal, then the session key; values are empty.
const PRINCIPALS: &str = "session_principals";

/// Sessions in the `sessions` tree of a sled database, which the application may share for its
/// own trees.
///
/// The records of recently used sessions are also kept decoded in memory (see
/// [`SledStore::with_cache_capacity`]), so that reading a session costs neither a tree lookup nor
/// parsing. Every store made over the same database in this process shares that cache, and every
/// change goes through it; the `sessions` tree must be written only by these stores.
#[derive(Clone)]
pub struct SledStore {
    tree: sled::Tree,
    principals: sled::Tree,
    flush: GroupFlush,
    cache: Arc<RecordCache>,
}

impl SledStore {
    /// Sessions whose decoded records are kept in memory, by default: a few hundred bytes each.
    pub const DEFAULT_CACHE_CAPACITY: usize = 100_000;

    /// Keeps sessions in `db`, in its `sessions` and `session_principals` trees.
    ///
    /// ```
    /// use cookieless::{SessionLayer, SledStore};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// let db = sled::open(dir.path())?;
    /// let layer = SessionLayer::new(SledStore::new(&db)?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when sled cannot open the trees.
    pub fn new(db: &sled::Db) -> Result<Self, StoreError> {
        Self::with_cache_capacity(db, Self::DEFAULT_CACHE_CAPACITY)
    }

    /// Keeps up to about `capacity` decoded records in memory (default
    /// [`SledStore::DEFAULT_CACHE_CAPACITY`]). The first store made over a database sets the
    /// capacity of the cache they all share.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when sled cannot open the trees.
    pub fn with_cache_capacity(db: &sled::Db, capacity: usize) -> Result<Self, StoreError> {
        let tree = db.open_tree(TREE).map_err(StoreError::backend)?;
        Ok(SledStore {
            cache: shared_cache(&tree, capacity),
            tree,
            principals: db.open_tree(PRINCIPALS).map_err(StoreError::backend)?,
            flush: GroupFlush::new(db.clone()),
        })
    }

    /// Refuses writes while the disk holding `dir` (the database's folder) has less than
    /// `min_free` bytes free (removals, which free space, down to half of it): they fail with
    /// [`StoreError::DiskFull`] (a `503`), reads go on, and writes work again once space is
    /// freed. Without it, sled meets a full disk in the middle of a write, and then fails every
    /// write until the process restarts. Set it before taking [`SledStore::group_flush`], whose
    /// handles share it.
    ///
    /// ```
    /// use cookieless::SledStore;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// let db = sled::open(dir.path())?;
    /// let store = SledStore::new(&db)?.with_free_space_floor(dir.path(), 64 << 20);
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_free_space_floor(mut self, dir: impl AsRef<Path>, min_free: u64) -> Self {
        self.flush.floor = Some(Arc::new(FreeSpaceFloor {
            dir: dir.as_ref().to_path_buf(),
            min_free,
        }));
        self
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
        if let Some(principal) = Record::decode_head(bytes)
            .ok()
            .and_then(|head| head.principal)
        {
            principals
                .remove(Self::index_key(&principal, key))
                .map_err(StoreError::backend)?;
        }
        Ok(())
    }
}

#[async_trait]
impl SessionStore for SledStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<Record>, StoreError> {
        self.cache.load(key, || {
            let Some(bytes) = self.tree.get(key.as_bytes()).map_err(StoreError::backend)? else {
                return Ok(None);
            };
            match Record::decode(&bytes) {
                Ok(record) => Ok(Some(record)),
                Err(error) => {
                    // An unreadable record cannot be trusted as a session; treating it as absent
                    // lets the client start afresh instead of being locked out.
                    tracing::warn!(%error, "dropping an undecodable session record");
                    Ok(None)
                }
            }
        })
    }

    async fn save(
        &self,
        key: &SessionKey,
        record: &Record,
        expected: Option<u64>,
    ) -> Result<Saved, StoreError> {
        self.flush.ensure_room()?;
        let current = self.tree.get(key.as_bytes()).map_err(StoreError::backend)?;
        let current_head = current
            .as_deref()
            .map(Record::decode_head)
            .transpose()
            .map_err(StoreError::backend)?;
        if current_head.as_ref().map(|head| head.version) != expected {
            return Ok(Saved::Conflict);
        }
        // Indexed before the write, so that a crash in between leaves at worst an entry whose
        // session is missing, which listing removes.
        if let Some(principal) = &record.principal {
            self.principals
                .insert(Self::index_key(principal, key), &[])
                .map_err(StoreError::backend)?;
        }
        if let Some(previous) = current_head.and_then(|current| current.principal) {
            if record.principal.as_deref() != Some(previous.as_str()) {
                self.principals
                    .remove(Self::index_key(&previous, key))
                    .map_err(StoreError::backend)?;
            }
        }
        let encoded = record.encode();
        {
            let change = self.cache.change();
            let swapped = self
                .tree
                .compare_and_swap(key.as_bytes(), current, Some(encoded))
                .map_err(StoreError::backend)?;
            if swapped.is_err() {
                return Ok(Saved::Conflict);
            }
            change.wrote(key, record);
        }
        self.flush.flush().await?;
        Ok(Saved::Written)
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.flush.ensure_room_to_delete()?;
        let removed = {
            let change = self.cache.change();
            let removed = self
                .tree
                .remove(key.as_bytes())
                .map_err(StoreError::backend)?;
            change.removed(key);
            removed
        };
        if let Some(removed) = removed {
            Self::unindex(&self.principals, key, &removed)?;
            self.flush.flush().await?;
        }
        Ok(())
    }

    async fn delete_expired(&self, now: Millis) -> Result<u64, StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut removed = 0;
            for (scanned, entry) in store.tree.iter().enumerate() {
                // The disk may fill while a long sweep runs: look again now and then.
                if scanned % 1024 == 0 {
                    store.flush.ensure_room_to_delete()?;
                }
                let (key, value) = entry.map_err(StoreError::backend)?;
                let expired = Record::encoded_expiry(&value).is_none_or(|expires| expires <= now);
                if !expired {
                    continue;
                }
                let change = store.cache.change();
                // Compare-and-swap so that a session refreshed since the scan read it survives.
                let swapped = store
                    .tree
                    .compare_and_swap(&key, Some(&value), None::<&[u8]>)
                    .map_err(StoreError::backend)?;
                if swapped.is_err() {
                    continue;
                }
                if let Ok(bytes) = <[u8; 32]>::try_from(key.as_ref()) {
                    let key = SessionKey::from_bytes(bytes);
                    change.removed(&key);
                    drop(change);
                    SledStore::unindex(&store.principals, &key, &value)?;
                }
                removed += 1;
            }
            Ok(removed)
        })
        .await
        .map_err(StoreError::backend)?
    }

    async fn principal_sessions(
        &self,
        principal: &str,
        now: Millis,
    ) -> Result<Vec<(SessionKey, Record)>, StoreError> {
        let prefix = Self::index_prefix(principal);
        let mut sessions = Vec::new();
        for entry in self.principals.scan_prefix(&prefix) {
            let (index_key, _) = entry.map_err(StoreError::backend)?;
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
                // only after a crash or an expiry the sweep has not reached: drop it, when the
                // disk has room (a later listing will otherwise).
                _ => {
                    if self.flush.ensure_room_to_delete().is_ok() {
                        self.principals
                            .remove(&index_key)
                            .map_err(StoreError::backend)?;
                    }
                }
            }
        }
        Ok(sessions)
    }
}

/// The cache of the stores over `tree`, made if there is none: a store that cached apart from
/// another over the same tree would go on serving sessions the other ended.
fn shared_cache(tree: &sled::Tree, capacity: usize) -> Arc<RecordCache> {
    // Each entry names its tree by address. A live cache is held only by stores that hold its
    // tree, so no other tree can have that address while the entry upgrades.
    static CACHES: Mutex<Vec<(usize, Weak<RecordCache>)>> = Mutex::new(Vec::new());
    let address = std::ptr::from_ref(&**tree).cast::<()>() as usize;
    let mut caches = CACHES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    caches.retain(|(_, cache)| cache.strong_count() > 0);
    let existing = caches
        .iter()
        .filter(|(tree, _)| *tree == address)
        .find_map(|(_, cache)| cache.upgrade());
    existing.unwrap_or_else(|| {
        let cache = Arc::new(RecordCache::new(capacity));
        caches.push((address, Arc::downgrade(&cache)));
        cache
    })
}

/// Group commit for a sled database: callers that ask for a flush while one is running share the
/// next one, so many concurrent writers pay for a few fsyncs instead of one each.
///
/// Its background task starts on the first flush, on the runtime that asks for it, so that a
/// store can be made anywhere; if that runtime has shut down since, the next flush starts it
/// again on its own.
#[derive(Clone)]
pub struct GroupFlush {
    db: sled::Db,
    requests: Arc<Mutex<Option<mpsc::UnboundedSender<FlushWaiter>>>>,
    floor: Option<Arc<FreeSpaceFloor>>,
}

/// The free space below which writes are refused: see [`SledStore::with_free_space_floor`].
struct FreeSpaceFloor {
    dir: PathBuf,
    min_free: u64,
}

/// Told how the flush that covered its writes went.
type FlushWaiter = oneshot::Sender<Result<(), Arc<dyn std::error::Error + Send + Sync>>>;

impl GroupFlush {
    fn new(db: sled::Db) -> Self {
        GroupFlush {
            db,
            requests: Arc::default(),
            floor: None,
        }
    }

    fn start(db: sled::Db) -> mpsc::UnboundedSender<FlushWaiter> {
        let (requests, mut pending) = mpsc::unbounded_channel::<FlushWaiter>();
        tokio::spawn(async move {
            while let Some(first) = pending.recv().await {
                // Requests that are ready to run go first, so that those about to write queue
                // for this flush rather than the next: under load a flush then covers many
                // writes, and when nothing else is ready it starts at once.
                tokio::task::yield_now().await;
                // Everyone queued so far wrote before queueing, so one flush that starts now
                // covers them all.
                let mut waiters = vec![first];
                while let Ok(next) = pending.try_recv() {
                    waiters.push(next);
                }
                let db = db.clone();
                let result = match tokio::task::spawn_blocking(move || db.flush()).await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(error)) => Err(Arc::new(error) as Arc<_>),
                    Err(error) => Err(Arc::new(error) as Arc<_>),
                };
                for waiter in waiters {
                    let _ = waiter.send(result.clone());
                }
            }
        });
        requests
    }

    /// The running flush task's queue, started anew if there is none.
    fn requests(&self) -> mpsc::UnboundedSender<FlushWaiter> {
        // Nothing panics while holding it.
        let mut requests = self
            .requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match &*requests {
            Some(running) if !running.is_closed() => running.clone(),
            _ => requests.insert(Self::start(self.db.clone())).clone(),
        }
    }

    /// Refuses, before anything is written, a write that could meet a full disk: when the store
    /// has a [free space floor](SledStore::with_free_space_floor) and the disk is below it.
    /// Applications that write their own trees in the same database call it before each write.
    ///
    /// ```
    /// use cookieless::SledStore;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// let db = sled::open(dir.path())?;
    /// let store = SledStore::new(&db)?.with_free_space_floor(dir.path(), 0);
    /// let flush = store.group_flush();
    /// flush.ensure_room()?;
    /// db.insert("my-key", "my-value")?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreError::DiskFull`] below the floor; [`StoreError::Backend`] when the free space
    /// cannot be read.
    pub fn ensure_room(&self) -> Result<(), StoreError> {
        self.ensure_free(1)
    }

    /// [`GroupFlush::ensure_room`] for a removal, which frees space once written: it may go on
    /// down to half the floor, so that logouts and revocations still work on a nearly full disk.
    ///
    /// ```
    /// use cookieless::SledStore;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// let db = sled::open(dir.path())?;
    /// let store = SledStore::new(&db)?.with_free_space_floor(dir.path(), 0);
    /// store.group_flush().ensure_room_to_delete()?;
    /// db.remove("my-key")?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreError::DiskFull`] below half the floor; [`StoreError::Backend`] when the free space
    /// cannot be read.
    pub fn ensure_room_to_delete(&self) -> Result<(), StoreError> {
        self.ensure_free(2)
    }

    /// Whether the disk has a `share` of the floor free.
    fn ensure_free(&self, share: u64) -> Result<(), StoreError> {
        let Some(floor) = &self.floor else {
            return Ok(());
        };
        let free = fs2::available_space(&floor.dir).map_err(StoreError::backend)?;
        let needed = floor.min_free / share;
        if free < needed {
            return Err(StoreError::DiskFull {
                free,
                floor: needed,
            });
        }
        Ok(())
    }

    /// Returns once every write made to the database before the call is on disk.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when sled cannot flush (a full or failing disk), or when the flush
    /// task has stopped.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime, when it has to start its task.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let (done, result) = oneshot::channel();
        let stopped = || StoreError::backend("the flush task has stopped");
        self.requests().send(done).map_err(|_| stopped())?;
        result
            .await
            .map_err(|_| stopped())?
            .map_err(StoreError::backend)
    }
}
