//! What every request's session takes from the layer that made it.

use std::sync::Arc;

use crate::clock::Clock;
use crate::expiry::Expiry;
use crate::locks::SessionLocks;
use crate::session_store::SessionStore;

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
}
