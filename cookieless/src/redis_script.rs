//! Lua scripts run on Redis by their hash, sent whole only to a node that does not know them.
//! Public (`cookieless::store::RedisScript`) so that an application sharing the store's pool runs
//! its own scripts the same way.
//!
//! Why it exists: `redis::Script` loads an unknown script with `SCRIPT LOAD`, which a cluster
//! client sends to every node; after a failover that includes the dead master, so the call waits
//! out its timeout and the request fails although the slot's new master is up. `EVAL` is routed
//! by the script's first key, to that slot's master only, and leaves the script cached there.

use std::sync::Arc;

use redis::{Cmd, ErrorKind, FromRedisValue, RedisResult, ServerErrorKind, ToRedisArgs};

use crate::redis_pool::RedisConnection;

/// A Lua script for Redis, run by its SHA-1 (`EVALSHA`) and sent whole (`EVAL`) to a node that
/// does not know it yet. Unlike `redis::Script`, it never sends `SCRIPT LOAD` to every node of a
/// cluster, which after a failover waits out its timeout on the dead master.
///
/// ```no_run
/// use cookieless::store::{RedisPool, RedisScript};
///
/// # async fn run(pool: RedisPool) -> redis::RedisResult<()> {
/// let bump = RedisScript::new("return redis.call('INCRBY', KEYS[1], ARGV[1])");
/// let mut connection = pool.get();
/// let value: i64 = bump.key("app:{user}:visits").arg(1).invoke_async(&mut connection).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisScript {
    code: Arc<str>,
    hash: Arc<str>,
}

/// One run of a [`RedisScript`]: its keys (all of one cluster slot) and arguments.
pub struct RedisScriptCall<'a> {
    lua: &'a RedisScript,
    keys: Vec<Vec<u8>>,
    args: Vec<Vec<u8>>,
}

impl RedisScript {
    /// The script `code`.
    pub fn new(code: impl Into<Arc<str>>) -> Self {
        let code = code.into();
        RedisScript {
            hash: redis::Script::new(&code).get_hash().into(),
            code,
        }
    }

    /// A run of the script whose first key is `key`: the cluster sends it to that key's slot.
    pub fn key(&self, key: impl ToRedisArgs) -> RedisScriptCall<'_> {
        RedisScriptCall {
            lua: self,
            keys: key.to_redis_args(),
            args: Vec::new(),
        }
    }
}

impl RedisScriptCall<'_> {
    /// Another key, in the same slot as the first (give them one hash tag).
    pub fn key(&mut self, key: impl ToRedisArgs) -> &mut Self {
        self.keys.extend(key.to_redis_args());
        self
    }

    /// An argument (`ARGV`).
    pub fn arg(&mut self, arg: impl ToRedisArgs) -> &mut Self {
        self.args.extend(arg.to_redis_args());
        self
    }

    /// Runs the script and converts its answer.
    ///
    /// # Errors
    ///
    /// What Redis or the connection reports: a script error, a refused connection, a cluster
    /// that is down.
    pub async fn invoke_async<T: FromRedisValue>(
        &self,
        connection: &mut RedisConnection,
    ) -> RedisResult<T> {
        match self
            .command("EVALSHA", &self.lua.hash)
            .query_async(connection)
            .await
        {
            Err(error) if error.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                self.command("EVAL", &self.lua.code)
                    .query_async(connection)
                    .await
            }
            answer => answer,
        }
    }

    fn command(&self, verb: &str, script: &str) -> Cmd {
        let mut command = redis::cmd(verb);
        command.arg(script).arg(self.keys.len());
        for part in self.keys.iter().chain(&self.args) {
            command.arg(part.as_slice());
        }
        command
    }
}
