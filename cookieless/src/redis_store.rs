//! Sessions in Redis, on one server or a cluster, shared by every server instance. Redis's own
//! expiry removes dead sessions: each session key expires when its session does.
//!
//! Every key of one session (its record and its lease) carries the session's hash as a hash tag,
//! so that they share a cluster slot and each script touches one slot, named in `KEYS`. A
//! principal's index of sessions lives in the principal's own slot: it is written before the
//! session it lists and checked against the sessions when read, so that a session bound to a
//! principal is always listed; an entry left behind is skipped, and leaves when its score (the
//! session's expiry) passes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures_util::StreamExt;
use redis::AsyncCommands;
use tokio::sync::Notify;

use crate::expiry::Millis;
use crate::record::Record;
use crate::redis_pool::RedisPool;
use crate::redis_script::RedisScript;
use crate::session_store::{LeaseId, Leased, Saved, SessionLeases, SessionStore, StoreError};
use crate::token::SessionKey;

/// The latest expiry Redis accepts comfortably (the year 9999); later ones are clamped.
const LATEST_EXPIRY: Millis = 253_402_300_799_000;

/// Takes the lease on a stored session and reads it, unless another holder has it; a missing
/// session is read as nothing and not leased. A waiter marks the lease (`w`) so that its release
/// is published.
///
/// KEYS: session, lease. ARGV: holder, deadline in ms.
/// Returns `{0}` (no session), `{1, ms left}` (held by another), `{2, record}` (leased).
const LOAD_LEASED: &str = r"
local record = redis.call('HGET', KEYS[1], 'r')
if not record then return {0} end
local holder = redis.call('HGET', KEYS[2], 'h')
if holder and holder ~= ARGV[1] then
  redis.call('HSET', KEYS[2], 'w', '1')
  return {1, redis.call('PTTL', KEYS[2])}
end
redis.call('HSET', KEYS[2], 'h', ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return {2, record}
";

/// Writes the record only if the stored version is the expected one (`''` for none) and, when
/// the write is made under a lease, no other holder has the lease; sets the key to expire with
/// the session; releases the caller's lease, publishing the release if someone waits for it.
///
/// KEYS: session, lease. ARGV: expected version, new version, record, expiry, principal (`''`
/// for none), holder (`''`: no lease), channel, the session key's hex.
/// Returns `{0, ''}` (not written) or `{1, previous principal}`.
const SAVE: &str = r"
local holder = redis.call('HGET', KEYS[2], 'h')
if ARGV[6] ~= '' and holder and holder ~= ARGV[6] then return {0, ''} end
local stored = redis.call('HGET', KEYS[1], 'v')
if (stored or '') ~= ARGV[1] then return {0, ''} end
local previous = redis.call('HGET', KEYS[1], 'p') or ''
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'r', ARGV[3], 'p', ARGV[5])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
if ARGV[6] ~= '' and holder == ARGV[6] then
  local waiting = redis.call('HGET', KEYS[2], 'w')
  redis.call('DEL', KEYS[2])
  if waiting then redis.call('PUBLISH', ARGV[7], ARGV[8]) end
end
return {1, previous}
";

/// Removes a session and its lease, publishing the release if someone waits for it; when given
/// an expected version (`''`: any) and a holder (`''`: no lease), only if the stored version is
/// that one and no other holder has the lease.
///
/// KEYS: session, lease. ARGV: expected version, holder, channel, the session key's hex.
/// Returns `{0, ''}` (refused) or `{1, previous principal}`.
const DELETE: &str = r"
local holder = redis.call('HGET', KEYS[2], 'h')
if ARGV[2] ~= '' and holder and holder ~= ARGV[2] then return {0, ''} end
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return {0, ''} end
local previous = redis.call('HGET', KEYS[1], 'p') or ''
local waiting = redis.call('HGET', KEYS[2], 'w')
redis.call('DEL', KEYS[1], KEYS[2])
if waiting then redis.call('PUBLISH', ARGV[3], ARGV[4]) end
return {1, previous}
";

/// Releases a lease if the caller still holds it, publishing the release if someone waits.
///
/// KEYS: lease. ARGV: holder, channel, the session key's hex.
const RELEASE: &str = r"
if redis.call('HGET', KEYS[1], 'h') ~= ARGV[1] then return 0 end
local waiting = redis.call('HGET', KEYS[1], 'w')
redis.call('DEL', KEYS[1])
if waiting then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return 1
";

/// Pushes a lease's deadline back if the caller still holds it.
///
/// KEYS: lease. ARGV: holder, deadline in ms. Returns whether it was renewed.
const RENEW: &str = r"
if redis.call('HGET', KEYS[1], 'h') ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
";

/// Lists a session in its principal's index (a sorted set of session keys scored by expiry, that
/// itself expires with its last session), never shortening an entry, and drops expired entries.
///
/// KEYS: index. ARGV: expiry, the session key's hex, now.
const INDEX: &str = r"
redis.call('ZADD', KEYS[1], 'GT', ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then redis.call('PEXPIREAT', KEYS[1], last[2]) end
return 1
";

/// Sessions as Redis hashes under `{prefix}session:{sha256 of the token}`, shared by every
/// server instance that uses the same Redis (one server, or a cluster) and prefix.
///
/// Requests on one session are serialised across every instance by a lease kept in Redis beside
/// the session (see [`SessionLeases`]); a lease runs out after
/// [`RedisStore::DEFAULT_LEASE_DEADLINE`] unless its request is still running, so an instance
/// that dies holding one blocks that session no longer than that.
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
    lease_deadline: Duration,
    scripts: Scripts,
    leases: Arc<LeaseTable>,
}

#[derive(Clone)]
struct Scripts {
    load_leased: RedisScript,
    save: RedisScript,
    delete: RedisScript,
    release: RedisScript,
    renew: RedisScript,
    index: RedisScript,
}

/// This process's side of the leases: those it holds (renewed while their requests run), and
/// those it waits for (woken by the releases Redis publishes).
#[derive(Default)]
struct LeaseTable {
    held: Mutex<HashMap<SessionKey, (LeaseId, Instant)>>,
    waiting: Mutex<HashMap<SessionKey, (Arc<Notify>, usize)>>,
    /// Set once the renewer and the subscriber run.
    started: OnceLock<()>,
}

impl RedisStore {
    /// How long a Redis call may take, by default, before the request gets a 503 instead of
    /// waiting.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

    /// How long a lease lasts, by default, unless its request is still running.
    pub const DEFAULT_LEASE_DEADLINE: Duration = Duration::from_secs(5);

    /// The longest a waiter sleeps between tries when no release is heard (a lost message, a
    /// holder that died): the release it waits for is normally published.
    const LONGEST_NAP: Duration = Duration::from_millis(200);

    /// Connects a pool of [`RedisPool::DEFAULT_SIZE`] connections to `url`: one server
    /// (`redis://host:port/db`) or a cluster (`redis+cluster://host:port,host:port`, any of its
    /// nodes). Once connected, the store reconnects by itself whenever Redis comes back after an
    /// outage, and follows a cluster's failovers.
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

    /// Keeps sessions through `pool`, which the application may share for its own data. The
    /// prefix must not contain `{`: the keys' cluster hash tags follow it.
    pub fn new(pool: RedisPool, prefix: impl Into<String>) -> Self {
        RedisStore {
            pool,
            prefix: prefix.into(),
            timeout: Self::DEFAULT_TIMEOUT,
            lease_deadline: Self::DEFAULT_LEASE_DEADLINE,
            scripts: Scripts {
                load_leased: RedisScript::new(LOAD_LEASED),
                save: RedisScript::new(SAVE),
                delete: RedisScript::new(DELETE),
                release: RedisScript::new(RELEASE),
                renew: RedisScript::new(RENEW),
                index: RedisScript::new(INDEX),
            },
            leases: Arc::default(),
        }
    }

    /// Bounds every Redis call (default [`RedisStore::DEFAULT_TIMEOUT`]).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), cookieless::store::StoreError> {
    /// use std::time::Duration;
    /// let store = cookieless::RedisStore::connect("redis://127.0.0.1:6379/0", "myapp:")
    ///     .await?
    ///     .with_timeout(Duration::from_millis(500));
    /// # Ok(()) }
    /// ```
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long a lease lasts unless renewed (default [`RedisStore::DEFAULT_LEASE_DEADLINE`]):
    /// the longest an instance that dies mid-request blocks its session. Leases of running
    /// requests are renewed every third of it.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), cookieless::store::StoreError> {
    /// use std::time::Duration;
    /// let store = cookieless::RedisStore::connect("redis://127.0.0.1:6379/0", "myapp:")
    ///     .await?
    ///     .with_lease_deadline(Duration::from_secs(2));
    /// # Ok(()) }
    /// ```
    pub fn with_lease_deadline(mut self, deadline: Duration) -> Self {
        self.lease_deadline = deadline.max(Duration::from_millis(30));
        self
    }

    fn key(&self, key: &SessionKey) -> String {
        format!("{}session:{{{}}}", self.prefix, key.to_hex())
    }

    fn lease_key(&self, key: &SessionKey) -> String {
        format!("{}lease:{{{}}}", self.prefix, key.to_hex())
    }

    fn index_key(&self, principal: &str) -> String {
        format!("{}principal:{principal}", self.prefix)
    }

    /// Where releases are published, for every instance's subscriber.
    fn channel(&self) -> String {
        format!("{}lease-released", self.prefix)
    }

    fn deadline_ms(&self) -> u64 {
        self.lease_deadline.as_millis() as u64
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

    /// Writes `record`, under `lease` if given, keeping the principal's index in step.
    async fn write(
        &self,
        key: &SessionKey,
        record: &Record,
        expected: Option<u64>,
        lease: Option<LeaseId>,
    ) -> Result<Saved, StoreError> {
        let mut connection = self.pool.get();
        let hex = key.to_hex();
        let expires = record.expires.min(LATEST_EXPIRY);
        let principal = record.principal.as_deref().unwrap_or_default();
        if !principal.is_empty() {
            self.index(principal, expires, &hex).await?;
        }
        let mut save = self.scripts.save.key(self.key(key));
        save.key(self.lease_key(key))
            .arg(expected.map(|v| v.to_string()).unwrap_or_default())
            .arg(record.version.to_string())
            .arg(record.encode())
            .arg(expires)
            .arg(principal)
            .arg(lease.map(|lease| lease.to_string()).unwrap_or_default())
            .arg(self.channel())
            .arg(&hex);
        let (written, previous): (i64, Option<String>) =
            self.bounded(save.invoke_async(&mut connection)).await?;
        if written != 1 {
            return Ok(Saved::Conflict);
        }
        if let Some(lease) = lease {
            self.leases.forget(key, lease);
        }
        if let Some(previous) = previous.filter(|p| !p.is_empty() && p != principal) {
            self.unindex(&previous, &hex).await;
        }
        Ok(Saved::Written)
    }

    /// Removes a session and its lease, and its entry in its principal's index; given `fence`
    /// (the version read and the caller's lease), only at that version and while nobody else
    /// holds the lease.
    async fn remove(
        &self,
        key: &SessionKey,
        fence: Option<(u64, LeaseId)>,
    ) -> Result<Saved, StoreError> {
        let mut connection = self.pool.get();
        let hex = key.to_hex();
        let mut invocation = self.scripts.delete.key(self.key(key));
        invocation
            .key(self.lease_key(key))
            .arg(
                fence
                    .map(|(expected, _)| expected.to_string())
                    .unwrap_or_default(),
            )
            .arg(
                fence
                    .map(|(_, lease)| lease.to_string())
                    .unwrap_or_default(),
            )
            .arg(self.channel())
            .arg(&hex);
        let (removed, previous): (i64, String) = self
            .bounded(invocation.invoke_async(&mut connection))
            .await?;
        if removed != 1 {
            return Ok(Saved::Conflict);
        }
        // The lease went with the session, whoever held it.
        self.leases.held().remove(key);
        if !previous.is_empty() {
            self.unindex(&previous, &hex).await;
        }
        Ok(Saved::Written)
    }

    /// Lists a session in its principal's index, with `expires` as its score at least.
    async fn index(&self, principal: &str, expires: Millis, hex: &str) -> Result<(), StoreError> {
        let mut connection = self.pool.get();
        let mut index = self.scripts.index.key(self.index_key(principal));
        index.arg(expires).arg(hex).arg(crate::expiry::now_millis());
        let _: i64 = self.bounded(index.invoke_async(&mut connection)).await?;
        Ok(())
    }

    /// Drops a session from a principal's index. A failure leaves an entry that listing skips
    /// until its score (the session's expiry) passes.
    async fn unindex(&self, principal: &str, hex: &str) {
        let mut connection = self.pool.get();
        let removed: Result<i64, _> = self
            .bounded(connection.zrem(self.index_key(principal), hex))
            .await;
        if let Err(error) = removed {
            tracing::debug!(%error, "could not drop a session from its principal's index");
        }
    }

    /// One try at the lease: the record if granted, or how long the holder may keep it.
    async fn try_lease(
        &self,
        key: &SessionKey,
        lease: LeaseId,
    ) -> Result<Result<Option<Record>, Duration>, StoreError> {
        let mut connection = self.pool.get();
        let mut invocation = self.scripts.load_leased.key(self.key(key));
        invocation
            .key(self.lease_key(key))
            .arg(lease.to_string())
            .arg(self.deadline_ms());
        let answer: Vec<redis::Value> = self
            .bounded(invocation.invoke_async(&mut connection))
            .await?;
        let unexpected = || StoreError::backend("unexpected answer to the lease script");
        match answer.as_slice() {
            [redis::Value::Int(0)] => Ok(Ok(None)),
            [redis::Value::Int(1), redis::Value::Int(left)] => {
                // -1 or -2: the lease was just released, or has no deadline (never set so).
                Ok(Err(Duration::from_millis((*left).max(1) as u64)))
            }
            [redis::Value::Int(2), redis::Value::BulkString(bytes)] => {
                self.leases.hold(*key, lease);
                Ok(Ok(decode(bytes)))
            }
            _ => Err(unexpected()),
        }
    }

    /// Starts, once per store, the task that renews held leases and the one that hears releases.
    fn start_background(&self) {
        self.leases.started.get_or_init(|| {
            let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                return;
            };
            runtime.spawn(renew_held_leases(
                Arc::downgrade(&self.leases),
                self.pool.clone(),
                self.scripts.renew.clone(),
                self.prefix.clone(),
                self.lease_deadline,
            ));
            runtime.spawn(hear_releases(
                Arc::downgrade(&self.leases),
                self.pool.clone(),
                self.channel(),
            ));
        });
    }
}

fn decode(bytes: &[u8]) -> Option<Record> {
    match Record::decode(bytes) {
        Ok(record) => Some(record),
        Err(error) => {
            tracing::warn!(%error, "dropping an undecodable session record");
            None
        }
    }
}

impl LeaseTable {
    fn held(&self) -> MutexGuard<'_, HashMap<SessionKey, (LeaseId, Instant)>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn waiting(&self) -> MutexGuard<'_, HashMap<SessionKey, (Arc<Notify>, usize)>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn hold(&self, key: SessionKey, lease: LeaseId) {
        self.held().insert(key, (lease, Instant::now()));
    }

    fn forget_if_since(&self, key: &SessionKey, lease: LeaseId, since: Instant) {
        let mut held = self.held();
        if matches!(held.get(key), Some(entry) if *entry == (lease, since)) {
            held.remove(key);
        }
    }

    fn forget(&self, key: &SessionKey, lease: LeaseId) {
        let mut held = self.held();
        if matches!(held.get(key), Some((id, _)) if *id == lease) {
            held.remove(key);
        }
    }

    /// Starts waiting for releases of `key`'s lease.
    fn watch(self: &Arc<Self>, key: SessionKey) -> Watch {
        let notify = {
            let mut waiting = self.waiting();
            let entry = waiting.entry(key).or_insert_with(|| (Arc::default(), 0));
            entry.1 += 1;
            entry.0.clone()
        };
        Watch {
            table: self.clone(),
            key,
            notify,
        }
    }

    fn wake(&self, key: &SessionKey) {
        if let Some((notify, _)) = self.waiting().get(key) {
            notify.notify_waiters();
        }
    }

    fn wake_all(&self) {
        for (notify, _) in self.waiting().values() {
            notify.notify_waiters();
        }
    }
}

/// A waiter's interest in one session's releases.
struct Watch {
    table: Arc<LeaseTable>,
    key: SessionKey,
    notify: Arc<Notify>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        let mut waiting = self.table.waiting();
        if let Some(entry) = waiting.get_mut(&self.key) {
            entry.1 -= 1;
            if entry.1 == 0 {
                waiting.remove(&self.key);
            }
        }
    }
}

/// Every third of the deadline, pushes back the deadline of each lease held for longer than that.
/// Ends with the store.
async fn renew_held_leases(
    table: Weak<LeaseTable>,
    pool: RedisPool,
    renew: RedisScript,
    prefix: String,
    deadline: Duration,
) {
    let period = deadline / 3;
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let due: Vec<(SessionKey, LeaseId, Instant)> = {
            let Some(table) = table.upgrade() else { return };
            let held = table.held();
            held.iter()
                .filter(|(_, (_, since))| since.elapsed() >= period)
                .map(|(key, (lease, since))| (*key, *lease, *since))
                .collect()
        };
        // At once, not one after another: a slow node must not hold up the others' renewals.
        let renewals = due.into_iter().map(|(key, lease, since)| {
            let (pool, renew, prefix, table) = (&pool, &renew, &prefix, &table);
            async move {
                let mut connection = pool.get();
                let mut invocation = renew.key(format!("{prefix}lease:{{{}}}", key.to_hex()));
                invocation
                    .arg(lease.to_string())
                    .arg(deadline.as_millis() as u64);
                let renewed =
                    tokio::time::timeout(period, invocation.invoke_async::<i64>(&mut connection))
                        .await;
                match renewed {
                    Ok(Ok(1)) => {}
                    // Released meanwhile, or taken by another after it ran out; unless the
                    // request took it again since (its entry is then newer).
                    Ok(Ok(_)) => {
                        if let Some(table) = table.upgrade() {
                            table.forget_if_since(&key, lease, since);
                        }
                    }
                    Ok(Err(error)) => tracing::warn!(%error, "could not renew a session's lease"),
                    Err(_) => tracing::warn!("could not renew a session's lease in time"),
                }
            }
        });
        futures_util::future::join_all(renewals).await;
    }
}

/// Subscribes to the releases every instance publishes and wakes this process's waiters. While
/// it cannot listen, waiters try again after a short nap instead. Ends with the store.
async fn hear_releases(table: Weak<LeaseTable>, pool: RedisPool, channel: String) {
    let nodes = pool.nodes().to_vec();
    let mut attempt = 0usize;
    loop {
        if table.strong_count() == 0 {
            return;
        }
        let node = &nodes[attempt % nodes.len()];
        attempt += 1;
        let subscribed = async {
            let mut pubsub = node.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(pubsub.into_on_message())
        };
        let mut messages = match tokio::time::timeout(Duration::from_secs(2), subscribed).await {
            Ok(Ok(messages)) => messages,
            Ok(Err(error)) => {
                tracing::debug!(%error, "cannot hear lease releases yet");
                tokio::time::sleep(RedisStore::LONGEST_NAP).await;
                continue;
            }
            Err(_) => continue,
        };
        // Anything released while nobody listened was missed: every waiter looks again.
        if let Some(table) = table.upgrade() {
            table.wake_all();
        }
        // Wakes now and then to see whether the store is gone.
        loop {
            match tokio::time::timeout(Duration::from_secs(5), messages.next()).await {
                Ok(Some(message)) => {
                    let Some(table) = table.upgrade() else { return };
                    let key = message
                        .get_payload::<String>()
                        .ok()
                        .and_then(|hex| SessionKey::from_hex(&hex));
                    if let Some(key) = key {
                        table.wake(&key);
                    }
                }
                Ok(None) => break,
                Err(_) if table.strong_count() == 0 => return,
                Err(_) => {}
            }
        }
        if let Some(table) = table.upgrade() {
            table.wake_all();
        }
        // Lost: try again, but not in a tight loop should the server keep closing it.
        tokio::time::sleep(RedisStore::LONGEST_NAP).await;
    }
}

#[async_trait]
impl SessionStore for RedisStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<Record>, StoreError> {
        let mut connection = self.pool.get();
        let bytes: Option<Vec<u8>> = self.bounded(connection.hget(self.key(key), "r")).await?;
        Ok(bytes.and_then(|bytes| decode(&bytes)))
    }

    async fn save(
        &self,
        key: &SessionKey,
        record: &Record,
        expected: Option<u64>,
    ) -> Result<Saved, StoreError> {
        self.write(key, record, expected, None).await
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.remove(key, None).await?;
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
        let index = self.index_key(principal);
        let _: i64 = self
            .bounded(connection.zrembyscore(&index, "-inf", now))
            .await?;
        let members: Vec<String> = self.bounded(connection.zrange(&index, 0, -1)).await?;
        let mut sessions = Vec::new();
        for member in members {
            let Some(key) = SessionKey::from_hex(&member) else {
                self.unindex(principal, &member).await;
                continue;
            };
            // An entry whose session is missing, or bound to someone else, is skipped, not
            // dropped: it may be a login's entry written just before its session. Entries leave
            // with their session's deletion, or with their score.
            if let Some(record) = self.load(&key).await? {
                if record.principal.as_deref() == Some(principal) && !record.is_expired(now) {
                    sessions.push((key, record));
                }
            }
        }
        Ok(sessions)
    }

    fn leases(&self) -> Option<&dyn SessionLeases> {
        Some(self)
    }
}

#[async_trait]
impl SessionLeases for RedisStore {
    async fn load_leased(
        &self,
        key: &SessionKey,
        lease: LeaseId,
        wait: Duration,
    ) -> Result<Leased, StoreError> {
        self.start_background();
        // Released unless this returns it granted: a try whose answer timed out, or that was
        // dropped with its request, may have taken the lease in Redis all the same.
        let mut pending = PendingLease {
            store: Some(self.clone()),
            key: *key,
            lease,
        };
        let leased = self.wait_for_lease(key, lease, wait).await;
        // Granted, it is the layer's; busy, no try took it.
        if leased.is_ok() {
            pending.store = None;
        }
        leased
    }

    async fn save_leased(
        &self,
        key: &SessionKey,
        record: &Record,
        expected: Option<u64>,
        lease: LeaseId,
    ) -> Result<Saved, StoreError> {
        self.write(key, record, expected, Some(lease)).await
    }

    async fn delete_leased(
        &self,
        key: &SessionKey,
        expected: u64,
        lease: LeaseId,
    ) -> Result<Saved, StoreError> {
        self.remove(key, Some((expected, lease))).await
    }

    async fn release(&self, key: &SessionKey, lease: LeaseId) -> Result<(), StoreError> {
        self.leases.forget(key, lease);
        let mut connection = self.pool.get();
        let mut invocation = self.scripts.release.key(self.lease_key(key));
        invocation
            .arg(lease.to_string())
            .arg(self.channel())
            .arg(key.to_hex());
        let _: i64 = self
            .bounded(invocation.invoke_async(&mut connection))
            .await?;
        Ok(())
    }
}

/// A lease that may have been taken in Redis but was not handed to the layer: released in the
/// background when dropped, unless disarmed.
struct PendingLease {
    store: Option<RedisStore>,
    key: SessionKey,
    lease: LeaseId,
}

impl Drop for PendingLease {
    fn drop(&mut self) {
        let Some(store) = self.store.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (key, lease) = (self.key, self.lease);
        runtime.spawn(async move {
            if let Err(error) = store.release(&key, lease).await {
                tracing::debug!(%error, "could not release a lease a request gave up on");
            }
        });
    }
}

impl RedisStore {
    /// Takes the lease, waiting for its release while another holds it, at most `wait`.
    async fn wait_for_lease(
        &self,
        key: &SessionKey,
        lease: LeaseId,
        wait: Duration,
    ) -> Result<Leased, StoreError> {
        let started = Instant::now();
        if let Ok(record) = self.try_lease(key, lease).await? {
            return Ok(Leased::Granted(record));
        }
        crate::metrics::lease_waited("RedisStore");
        // Watching before trying again, so that a release between the tries is not missed.
        let watch = self.leases.watch(*key);
        loop {
            let released = watch.notify.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            let left = match self.try_lease(key, lease).await? {
                Ok(record) => return Ok(Leased::Granted(record)),
                Err(left) => left,
            };
            let Some(patience) = wait.checked_sub(started.elapsed()) else {
                return Ok(Leased::Busy { retry_after: left });
            };
            let nap = patience.min(left).min(Self::LONGEST_NAP);
            let _ = tokio::time::timeout(nap, released).await;
            if started.elapsed() >= wait {
                // One last look before giving up.
                return match self.try_lease(key, lease).await? {
                    Ok(record) => Ok(Leased::Granted(record)),
                    Err(left) => Ok(Leased::Busy { retry_after: left }),
                };
            }
        }
    }
}
