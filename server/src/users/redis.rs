use async_trait::async_trait;
use cookieless::store::{RedisPool, RedisScript};
use redis::AsyncCommands;

use crate::redis_calls::bounded;

use super::{new_secret, User, UserStore, UserStoreError};

/// Users as JSON under `{prefix}user:{username}`, so that every instance sees every account.
/// Accounts are the application's data: unlike sessions, they do not expire.
pub struct RedisUsers {
    pool: RedisPool,
    prefix: String,
}

impl RedisUsers {
    pub fn new(pool: RedisPool, prefix: &str) -> Self {
        RedisUsers {
            pool,
            prefix: prefix.to_string(),
        }
    }

    fn key(&self, username: &str) -> String {
        format!("{}user:{username}", self.prefix)
    }

    /// Changes an existing user with the Lua statement `change` (on `user`, with `args` as
    /// `ARGV`), in one script, so that two changes at once both count. The user's `created`
    /// (milliseconds, 13 digits) survives cjson's 14 significant digits.
    async fn update(
        &self,
        username: &str,
        change: &str,
        args: &[&str],
    ) -> Result<User, UserStoreError> {
        // Sent whole to a node that lacks it: `redis::Script` would load it on every node of a
        // cluster, and wait on a dead master after a failover.
        let script = RedisScript::new(format!(
            r"local json = redis.call('GET', KEYS[1])
              if not json then return false end
              local user = cjson.decode(json)
              {change}
              json = cjson.encode(user)
              redis.call('SET', KEYS[1], json)
              return json"
        ));
        let mut invocation = script.key(self.key(username));
        for arg in args {
            invocation.arg(*arg);
        }
        let mut connection = self.pool.get();
        let updated: Option<String> = bounded(invocation.invoke_async(&mut connection)).await?;
        let updated = updated.ok_or(UserStoreError::Missing)?;
        serde_json::from_str(&updated).map_err(UserStoreError::unavailable)
    }
}

#[async_trait]
impl UserStore for RedisUsers {
    async fn create(&self, user: &User) -> Result<(), UserStoreError> {
        let value = serde_json::to_string(user).map_err(UserStoreError::unavailable)?;
        let mut connection = self.pool.get();
        let created: bool = bounded(connection.set_nx(self.key(&user.username), value)).await?;
        if created {
            Ok(())
        } else {
            Err(UserStoreError::Taken)
        }
    }

    async fn set_password_hash(&self, username: &str, hash: &str) -> Result<User, UserStoreError> {
        self.update(username, "user.password_hash = ARGV[1]", &[hash])
            .await
    }

    async fn raise_sessions_epoch(&self, username: &str) -> Result<User, UserStoreError> {
        let raise = "user.sessions_epoch = (user.sessions_epoch or 0) + 1";
        self.update(username, raise, &[]).await
    }

    async fn secret(&self, name: &str) -> Result<[u8; 32], UserStoreError> {
        let key = format!("{}secret:{name}", self.prefix);
        let mut connection = self.pool.get();
        // Whichever instance asks first makes it; the others read what it made.
        let _: bool = bounded(connection.set_nx(&key, &new_secret()[..])).await?;
        let kept: Vec<u8> = bounded(connection.get(&key)).await?;
        kept.try_into()
            .map_err(|_| UserStoreError::unavailable(format!("the secret {name} is damaged")))
    }

    async fn find(&self, username: &str) -> Result<Option<User>, UserStoreError> {
        let mut connection = self.pool.get();
        let value: Option<String> = bounded(connection.get(self.key(username))).await?;
        value
            .map(|value| serde_json::from_str(&value).map_err(UserStoreError::unavailable))
            .transpose()
    }
}
