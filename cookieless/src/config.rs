//! What every request's session takes from the layer that made it.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::expiry::Expiry;
use crate::locks::SessionLocks;
use crate::metrics::Metrics;
use crate::new_sessions::NewSessionBudget;
use crate::session_store::{SessionLeases, SessionStore};
use crate::transport::Transport;

/// The layer's settings and the lock table, shared by every request through one pointer.
pub(crate) struct LayerConfig {
    pub(crate) store: Arc<dyn SessionStore>,
    pub(crate) expiry: Expiry,
    pub(crate) clock: Clock,
    /// The cap on a session's serialised data, in bytes.
    pub(crate) max_size: usize,
    /// One table for every service the layer wraps, so that requests to different routes on the
    /// same session are serialised too.
    pub(crate) locks: Arc<SessionLocks>,
    /// The budget of new sessions per client address, if the layer has one. Shared like `locks`.
    pub(crate) new_sessions: Option<Arc<NewSessionBudget>>,
    /// How many live sessions one principal may have; a login beyond it ends the least recently
    /// used.
    pub(crate) max_sessions_per_principal: Option<usize>,
    /// How long a request waits for a lease held by another, when the store has leases and the
    /// layer takes them (`None`: it does not, and relies on the conditional write alone).
    pub(crate) lease_wait: Option<Duration>,
    pub(crate) metrics: Metrics,
    pub(crate) transport: Transport,
}

impl LayerConfig {
    /// The store's leases and how long a request waits for one, when the store has leases and
    /// the layer takes them.
    pub(crate) fn leases(&self) -> Option<(&dyn SessionLeases, Duration)> {
        Some((self.store.leases()?, self.lease_wait?))
    }
}
