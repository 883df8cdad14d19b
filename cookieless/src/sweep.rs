//! Removing expired sessions in the background.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::clock::Clock;
use crate::metrics::{Ended, Metrics};
use crate::session_store::SessionStore;

pub(crate) fn spawn_sweeper(
    store: Arc<dyn SessionStore>,
    clock: Clock,
    period: Duration,
    metrics: Metrics,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match store.delete_expired(clock.now()).await {
                Ok(0) => {}
                Ok(removed) => {
                    metrics.ended(Ended::Expired, removed);
                    tracing::debug!(removed, "removed expired sessions");
                }
                Err(error) => tracing::warn!(%error, "could not sweep expired sessions"),
            }
        }
    })
}
