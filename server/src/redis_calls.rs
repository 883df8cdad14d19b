//! Calls to Redis for the demo's own data, bounded in time so that an outage answers 503 quickly
//! instead of holding requests.

use cookieless::RedisStore;

/// A call to Redis that failed or did not answer in time; each store turns it into its own error.
#[derive(Debug, thiserror::Error)]
pub enum RedisCallError {
    #[error("no answer from Redis within {:?}", RedisStore::DEFAULT_TIMEOUT)]
    Timeout,
    #[error(transparent)]
    Redis(#[from] redis::RedisError),
}

pub async fn bounded<T>(
    call: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, RedisCallError> {
    let answer = tokio::time::timeout(RedisStore::DEFAULT_TIMEOUT, call)
        .await
        .map_err(|_| RedisCallError::Timeout)?;
    Ok(answer?)
}
