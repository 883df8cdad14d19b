//! A small pool of Redis connections that reconnect by themselves.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;

use crate::session_store::StoreError;

/// Connections handed out in turn. Each carries many requests at once (redis pipelines them)
/// and reconnects by itself after an outage, so a handful serve a busy server; several spread
/// the work of encoding and decoding over the runtime's threads.
#[derive(Clone)]
pub struct RedisPool {
    connections: Arc<[ConnectionManager]>,
    next: Arc<AtomicUsize>,
}

impl RedisPool {
    /// The connections a store opens by itself ([`RedisStore::connect`](crate::RedisStore::connect)).
    pub const DEFAULT_SIZE: usize = 4;

    /// Opens `size` connections to `url` (`redis://host:port/db`), failing if Redis does not
    /// answer within `timeout`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] for a malformed URL or a refused connection, and
    /// [`StoreError::Timeout`] when Redis does not answer in time.
    pub async fn connect(url: &str, size: usize, timeout: Duration) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(StoreError::backend)?;
        let mut connections = Vec::with_capacity(size.max(1));
        for _ in 0..size.max(1) {
            let connection = tokio::time::timeout(timeout, ConnectionManager::new(client.clone()))
                .await
                .map_err(|_| StoreError::Timeout(timeout))?
                .map_err(StoreError::backend)?;
            connections.push(connection);
        }
        Ok(RedisPool {
            connections: connections.into(),
            next: Arc::default(),
        })
    }

    /// The next connection in turn.
    pub fn get(&self) -> ConnectionManager {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.connections.len();
        self.connections[index].clone()
    }
}
