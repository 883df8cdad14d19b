use async_trait::async_trait;
use cookieless::store::GroupFlush;

use super::{new_secret, User, UserStore, UserStoreError};

/// Users in the `users` tree of the same sled database as the sessions.
pub struct SledUsers {
    tree: sled::Tree,
    /// Apart from the users, so that no username can name a secret.
    secrets: sled::Tree,
    flush: GroupFlush,
}

impl SledUsers {
    pub fn new(db: &sled::Db, flush: GroupFlush) -> Result<Self, sled::Error> {
        Ok(SledUsers {
            tree: db.open_tree("users")?,
            secrets: db.open_tree("secrets")?,
            flush,
        })
    }
}

impl SledUsers {
    /// Changes an existing user with `change`, atomically (a change made meanwhile by another
    /// request is read again and kept), and makes it durable.
    async fn update(
        &self,
        username: &str,
        change: impl Fn(&mut User),
    ) -> Result<User, UserStoreError> {
        self.flush.ensure_room().map_err(unavailable)?;
        loop {
            let current = self
                .tree
                .get(username.as_bytes())
                .map_err(unavailable)?
                .ok_or(UserStoreError::Missing)?;
            let mut user: User = serde_json::from_slice(&current).map_err(unavailable)?;
            change(&mut user);
            let value = serde_json::to_vec(&user).map_err(unavailable)?;
            let swapped = self
                .tree
                .compare_and_swap(username.as_bytes(), Some(current), Some(value))
                .map_err(unavailable)?;
            if swapped.is_ok() {
                self.flush.flush().await.map_err(unavailable)?;
                return Ok(user);
            }
        }
    }
}

fn unavailable(error: impl std::fmt::Display) -> UserStoreError {
    UserStoreError::Unavailable(error.to_string())
}

#[async_trait]
impl UserStore for SledUsers {
    async fn create(&self, user: &User) -> Result<(), UserStoreError> {
        self.flush.ensure_room().map_err(unavailable)?;
        let value = serde_json::to_vec(user).map_err(unavailable)?;
        self.tree
            .compare_and_swap(user.username.as_bytes(), None::<&[u8]>, Some(value))
            .map_err(unavailable)?
            .map_err(|_| UserStoreError::Taken)?;
        self.flush.flush().await.map_err(unavailable)
    }

    async fn set_password_hash(&self, username: &str, hash: &str) -> Result<User, UserStoreError> {
        self.update(username, |user| user.password_hash = hash.to_string())
            .await
    }

    async fn raise_sessions_epoch(&self, username: &str) -> Result<User, UserStoreError> {
        self.update(username, |user| user.sessions_epoch += 1).await
    }

    async fn secret(&self, name: &str) -> Result<[u8; 32], UserStoreError> {
        let new = new_secret();
        let kept = match self
            .secrets
            .compare_and_swap(name, None::<&[u8]>, Some(&new[..]))
            .map_err(unavailable)?
        {
            Ok(()) => {
                self.flush.flush().await.map_err(unavailable)?;
                new
            }
            Err(existing) => existing
                .current
                .as_deref()
                .and_then(|bytes| bytes.try_into().ok())
                .ok_or_else(|| unavailable(format!("the secret {name} is damaged")))?,
        };
        Ok(kept)
    }

    async fn find(&self, username: &str) -> Result<Option<User>, UserStoreError> {
        let Some(bytes) = self.tree.get(username.as_bytes()).map_err(unavailable)? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(unavailable)
    }
}
