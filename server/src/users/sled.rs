use async_trait::async_trait;
use cookieless::store::GroupFlush;

use super::{User, UserStore, UserStoreError};

/// Users in the `users` tree of the same sled database as the sessions.
pub struct SledUsers {
    tree: sled::Tree,
    flush: GroupFlush,
}

impl SledUsers {
    pub fn new(db: &sled::Db, flush: GroupFlush) -> Result<Self, sled::Error> {
        Ok(SledUsers {
            tree: db.open_tree("users")?,
            flush,
        })
    }
}

fn unavailable(error: impl std::fmt::Display) -> UserStoreError {
    UserStoreError::Unavailable(error.to_string())
}

#[async_trait]
impl UserStore for SledUsers {
    async fn create(&self, user: &User) -> Result<(), UserStoreError> {
        let value = serde_json::to_vec(user).map_err(unavailable)?;
        self.tree
            .compare_and_swap(user.username.as_bytes(), None::<&[u8]>, Some(value))
            .map_err(unavailable)?
            .map_err(|_| UserStoreError::Taken)?;
        self.flush.flush().await.map_err(unavailable)
    }

    async fn set_password_hash(&self, username: &str, hash: &str) -> Result<(), UserStoreError> {
        let mut user = self.find(username).await?.ok_or(UserStoreError::Missing)?;
        user.password_hash = hash.to_string();
        let value = serde_json::to_vec(&user).map_err(unavailable)?;
        self.tree
            .insert(username.as_bytes(), value)
            .map_err(unavailable)?;
        self.flush.flush().await.map_err(unavailable)
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
