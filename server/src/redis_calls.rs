//! Calls to Redis for the demo's own data, bounded in time so that an outage answers 503 quickly
//! instead of holding requests.

use cookieless::REDIS_TIMEOUT;

use crate::users::UserStoreError;

pub fn unavailable(error: impl std::fmt::Display) -> UserStoreError {
    UserStoreError::Unavailable(error.to_string())
}

pub async fn bounded<T>(
    call: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, UserStoreError> {
    tokio::time::timeout(REDIS_TIMEOUT, call)
        .await
        .map_err(|_| unavailable(format!("no answer from Redis within {REDIS_TIMEOUT:?}")))?
        .map_err(unavailable)
}
