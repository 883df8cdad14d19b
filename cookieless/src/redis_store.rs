//! Sessions in Redis, shared by every server instance. Redis's own expiry removes dead sessions:
//! each session key expires when its session does.

use std::time::Duration;

use async_trait::async_trait;
use redis::AsyncCommands;

use crate::expiry::Millis;
use crate::record::Record;
use crate::redis_pool::RedisPool;
use crate::session_store::{Saved, SessionStore, StoreError};
use crate::token::SessionKey;

/// The latest expiry Redis accepts comfortably (the year 9999); later ones are clamped.
const LATEST_EXPIRY: Millis = 253_402_300_799_000;

/// Writes the record only if the stored version is the expected one (`''` for none), sets the key
/// to expire with the session, and keeps the principal's index (a sorted set of session keys
/// scored by expiry, itself expiring with its last session) in step.
///
/// ARGV: expected version, new version, record, expiry, principal (`''` for none), the session
/// key's hex, the index keys' prefix, now.
const SAVE_IF_VERSION: &str = r"
local stored = redis.call('HGET', KEYS[1], 'v')
if (stored or '') ~= ARGV[1] then
  return 0
end
local previous = redis.call('HGET', KEYS[1], 'p')
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'r', ARGV[3], 'p', ARGV[5])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
if previous and previous ~= '' and previous ~= ARGV[5] then
  redis.call('ZREM', ARGV[7] .. previous, ARGV[6])
end
if ARGV[5] ~= '' then
  local index = ARGV[7] .. ARGV[5]
  redis.call('ZADD', index, ARGV[4], ARGV[6])
  redis.call('ZREMRANGEBYSCORE', index, '-inf', ARGV[8])
  local last = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', index, last[2])
end
return 1
";

/// Removes a session and its entry in its principal's index. ARGV: the session key's hex, the
/// index keys' prefix.
const DELETE: &str = r"
local previous = redis.call('HGET', KEYS[1], 'p')
redis.call('DEL', KEYS[1])
if previous and previous ~= '' then
  redis.call('ZREM', ARGV[2] .. previous, ARGV[1])
end
return 1
";

/// Sessions as Redis hashes under `{prefix}session:{sha256 of the token}`, shared by every
/// server instance that uses the same Redis and prefix.
///
/// ```no_run
/// use cookieless::{RedisStore, SessionLayer};
///
/// # async fn run() -> Result<(), cookieless::store::StoreError> {
/// let store = RedisStore::connect("redis://127.0.0.1:6379/0", "myapp:").await?;
/// let layer = SessionLayer::new(store);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    pool: RedisPool,
    prefix: String,
    timeout: Duration,
    save_script: redis::Script,
    delete_script: redis::Script,
}

impl RedisStore {
    /// How long a Redis call may take, by default, before the request gets a 503 instead of
    /// waiting.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

    /// Connects a pool of [`RedisPool::DEFAULT_SIZE`] connections to `url`
    /// (`redis://host:port/db`). Once connected, the store reconnects by itself whenever Redis
    /// comes back after an outage.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] for a malformed URL or a refused connection, and
    /// [`StoreError::Timeout`] when Redis does not answer within
    /// [`RedisStore::DEFAULT_TIMEOUT`].
    pub async fn connect(url: &str, prefix: impl Into<String>) -> Result<Self, StoreError> {
        let pool = RedisPool::connect(url, RedisPool::DEFAULT_SIZE, Self::DEFAULT_TIMEOUT).await?;
        Ok(Self::new(pool, prefix))
    }

    /// Keeps sessions through `pool`, which the application may share for its own data.
    pub fn new(pool: RedisPool, prefix: impl Into<String>) -> Self {
        RedisStore {
            pool,
            prefix: prefix.into(),
            timeout: Self::DEFAULT_TIMEOUT,
            save_script: redis::Script::new(SAVE_IF_VERSION),
            delete_script: redis::Script::new(DELETE),
        }
    }

    /// Bounds every Redis call (default [`RedisStore::DEFAULT_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn key(&self, key: &SessionKey) -> String {
        format!("{}session:{}", self.prefix, key.to_hex())
    }

    fn index_prefix(&self) -> String {
        format!("{}principal:", self.prefix)
    }

    async fn bounded<T>(
        &self,
        call: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result.map_err(StoreError::backend),
            Err(_) => Err(StoreError::Timeout(self.timeout)),
        }
    }
}

#[async_trait]
impl SessionStore for RedisStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<Record>, StoreError> {
        let mut connection = self.pool.get();
        let bytes: Option<Vec<u8>> = self.bounded(connection.hget(self.key(key), "r")).await?;
        Ok(bytes.and_then(|bytes| match Record::decode(&bytes) {
            Ok(record) => Some(record),
            Err(error) => {
                tracing::warn!(%error, "dropping an undecodable session record");
                None
            }
        }))
    }

    async fn save(
        &self,
        key: &SessionKey,
        record: &Record,
        expected: Option<u64>,
    ) -> Result<Saved, StoreError> {
        let mut connection = self.pool.get();
        let mut invocation = self.save_script.key(self.key(key));
        invocation
            .arg(
                expected
                    .map(|version| version.to_string())
                    .unwrap_or_default(),
            )
            .arg(record.version.to_string())
            .arg(record.encode())
            .arg(record.expires.min(LATEST_EXPIRY))
            .arg(record.principal.as_deref().unwrap_or_default())
            .arg(key.to_hex())
            .arg(self.index_prefix())
            .arg(crate::expiry::now_millis());
        let written: i64 = self
            .bounded(invocation.invoke_async(&mut connection))
            .await?;
        Ok(if written == 1 {
            Saved::Written
        } else {
            Saved::Conflict
        })
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        let mut connection = self.pool.get();
        let mut invocation = self.delete_script.key(self.key(key));
        invocation.arg(key.to_hex()).arg(self.index_prefix());
        let _: i64 = self
            .bounded(invocation.invoke_async(&mut connection))
            .await?;
        Ok(())
    }

    /// Nothing to do: Redis removes every session key when its session expires, and every
    /// principal's index when its last session does.
    async fn delete_expired(&self, _now: Millis) -> Result<u64, StoreError> {
        Ok(0)
    }

    async fn principal_sessions(
        &self,
        principal: &str,
        now: Millis,
    ) -> Result<Vec<(SessionKey, Record)>, StoreError> {
        let mut connection = self.pool.get();
        let index = format!("{}{principal}", self.index_prefix());
        let _: i64 = self
            .bounded(connection.zrembyscore(&index, "-inf", now))
            .await?;
        let members: Vec<String> = self.bounded(connection.zrange(&index, 0, -1)).await?;
        let mut sessions = Vec::new();
        for key in members
            .iter()
            .filter_map(|member| SessionKey::from_hex(member))
        {
            if let Some(record) = self.load(&key).await? {
                if !record.is_expired(now) && record.principal.as_deref() == Some(principal) {
                    sessions.push((key, record));
                }
            }
        }
        Ok(sessions)
    }
}
