use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{new_secret, User, UserStore, UserStoreError};

/// Users in process memory, for `--store memory`.
#[derive(Default)]
pub struct MemoryUsers {
    users: Mutex<HashMap<String, User>>,
    secrets: Mutex<HashMap<String, [u8; 32]>>,
}

impl MemoryUsers {
    fn users(&self) -> std::sync::MutexGuard<'_, HashMap<String, User>> {
        self.users
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl UserStore for MemoryUsers {
    async fn create(&self, user: &User) -> Result<(), UserStoreError> {
        let mut users = self.users();
        if users.contains_key(&user.username) {
            return Err(UserStoreError::Taken);
        }
        users.insert(user.username.clone(), user.clone());
        Ok(())
    }

    async fn find(&self, username: &str) -> Result<Option<User>, UserStoreError> {
        Ok(self.users().get(username).cloned())
    }

    async fn set_password_hash(&self, username: &str, hash: &str) -> Result<User, UserStoreError> {
        let mut users = self.users();
        let user = users.get_mut(username).ok_or(UserStoreError::Missing)?;
        user.password_hash = hash.to_string();
        Ok(user.clone())
    }

    async fn raise_sessions_epoch(&self, username: &str) -> Result<User, UserStoreError> {
        let mut users = self.users();
        let user = users.get_mut(username).ok_or(UserStoreError::Missing)?;
        user.sessions_epoch += 1;
        Ok(user.clone())
    }

    async fn secret(&self, name: &str) -> Result<[u8; 32], UserStoreError> {
        let mut secrets = self
            .secrets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(*secrets.entry(name.to_string()).or_insert_with(new_secret))
    }
}
