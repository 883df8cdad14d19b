use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{User, UserStore, UserStoreError};

/// Users in process memory, for `--store memory`.
#[derive(Default)]
pub struct MemoryUsers {
    users: Mutex<HashMap<String, User>>,
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

    async fn set_password_hash(&self, username: &str, hash: &str) -> Result<(), UserStoreError> {
        let mut users = self.users();
        let user = users.get_mut(username).ok_or(UserStoreError::Missing)?;
        user.password_hash = hash.to_string();
        Ok(())
    }
}
