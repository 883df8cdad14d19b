//! Lua scripts run on Redis by their hash, sent whole only to a node that does not know them.
//!
//! Why it exists: `redis::Script` loads an unknown script with `SCRIPT LOAD`, which a cluster
//! client sends to every node; after a failover that includes the dead master, so the call waits
//! out its timeout and the request fails although the slot's new master is up. `EVAL` is routed
//! by the script's first key, to that slot's master only, and leaves the script cached there.

use std::sync::Arc;

use redis::{Cmd, ErrorKind, FromRedisValue, RedisResult, ServerErrorKind, ToRedisArgs};

use crate::redis_pool::RedisConnection;

/// A script and its SHA-1, as `EVALSHA` names it.
#[derive(Clone)]
pub(crate) struct Lua {
    code: &'static str,
    hash: Arc<str>,
}

/// One run of a [`Lua`] script: its keys (all of one cluster slot) and arguments.
pub(crate) struct LuaCall<'a> {
    lua: &'a Lua,
    keys: Vec<Vec<u8>>,
    args: Vec<Vec<u8>>,
}

impl Lua {
    pub(crate) fn new(code: &'static str) -> Self {
        Lua {
            code,
            hash: redis::Script::new(code).get_hash().into(),
        }
    }

    /// A run of the script whose first key is `key`.
    pub(crate) fn key(&self, key: impl ToRedisArgs) -> LuaCall<'_> {
        LuaCall {
            lua: self,
            keys: key.to_redis_args(),
            args: Vec::new(),
        }
    }
}

impl LuaCall<'_> {
    pub(crate) fn key(&mut self, key: impl ToRedisArgs) -> &mut Self {
        self.keys.extend(key.to_redis_args());
        self
    }

    pub(crate) fn arg(&mut self, arg: impl ToRedisArgs) -> &mut Self {
        self.args.extend(arg.to_redis_args());
        self
    }

    pub(crate) async fn invoke_async<T: FromRedisValue>(
        &self,
        connection: &mut RedisConnection,
    ) -> RedisResult<T> {
        match self
            .command("EVALSHA", &self.lua.hash)
            .query_async(connection)
            .await
        {
            Err(error) if error.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                self.command("EVAL", self.lua.code)
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
