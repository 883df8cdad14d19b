//! Removing expired sessions in the background.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::expiry::now_millis;
use crate::store::SessionStore;

/// Every `period`, removes the store's expired sessions. Expired sessions are refused whether or
/// not this runs; it only reclaims their space.
pub fn spawn_sweeper(store: Arc<dyn SessionStore>, period: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match store.delete_expired(now_millis()).await {
                Ok(0) => {}
                Ok(removed) => tracing::debug!(removed, "removed expired sessions"),
                Err(error) => tracing::warn!(%error, "could not sweep expired sessions"),
            }
        }
    })
}
