//! The demo's own application data: user accounts, behind a small trait with a store per backend.

mod memory;
mod redis;
mod sled;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use self::memory::MemoryUsers;
pub use self::redis::RedisUsers;
pub use self::sled::SledUsers;
use crate::redis_calls::RedisCallError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub username: String,
    /// An argon2 hash in PHC string form.
    pub password_hash: String,
    pub created: u64,
    /// Raised to end every session of the user but the one that raised it: sessions record the
    /// value they were made under (see `credential.rs`), so this holds even where the index of a
    /// user's sessions has lost an entry.
    #[serde(default)]
    pub sessions_epoch: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum UserStoreError {
    #[error("the username is taken")]
    Taken,
    #[error("no such user")]
    Missing,
    #[error("the user store is unavailable: {0}")]
    Unavailable(String),
}

impl UserStoreError {
    pub fn unavailable(reason: impl std::fmt::Display) -> Self {
        UserStoreError::Unavailable(reason.to_string())
    }
}

impl From<RedisCallError> for UserStoreError {
    fn from(error: RedisCallError) -> Self {
        UserStoreError::unavailable(error)
    }
}

#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    /// Adds a user whose username is not taken; durable when it returns.
    async fn create(&self, user: &User) -> Result<(), UserStoreError>;

    async fn find(&self, username: &str) -> Result<Option<User>, UserStoreError>;

    /// Replaces an existing user's password hash, atomically; durable when it returns. Returns
    /// the user as it now is.
    async fn set_password_hash(&self, username: &str, hash: &str) -> Result<User, UserStoreError>;

    /// Raises an existing user's `sessions_epoch` by one, atomically; durable when it returns.
    /// Returns the user as it now is.
    async fn raise_sessions_epoch(&self, username: &str) -> Result<User, UserStoreError>;

    /// The server's secret of this `name`, made at random the first time it is asked for and the
    /// same ever after, for every instance that shares the store.
    async fn secret(&self, name: &str) -> Result<[u8; 32], UserStoreError>;
}

/// A key must not be guessable: 32 bytes from a CSPRNG seeded by the OS.
fn new_secret() -> [u8; 32] {
    rand::random()
}
