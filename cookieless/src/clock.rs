//! The time the layer judges expiry by.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::expiry::{now_millis, Millis};

/// The system clock, which a test may move forward so that expiry can be checked without
/// sleeping through it (sleeps make such tests slow, and flaky on a loaded machine).
///
/// It only ever runs ahead of the system clock, so a store that also keeps time of its own
/// (Redis key TTLs) keeps every session at least as long as the layer does.
///
/// ```
/// use std::time::Duration;
/// use cookieless::{Clock, MemoryStore, SessionLayer};
///
/// let clock = Clock::default();
/// let layer = SessionLayer::new(MemoryStore::new()).with_clock(clock.clone());
/// // ... make a request, then jump past the idle timeout:
/// clock.advance(Duration::from_secs(15 * 24 * 60 * 60));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Clock {
    ahead: Arc<AtomicU64>,
}

impl Clock {
    /// Milliseconds since the Unix epoch, plus however far the clock was advanced.
    pub fn now(&self) -> Millis {
        now_millis().saturating_add(self.ahead.load(Ordering::Relaxed))
    }

    /// Moves this clock, and every clone of it, forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.ahead
            .fetch_add(by.as_millis() as u64, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_advance_together() {
        let clock = Clock::default();
        let clone = clock.clone();
        let before = clock.now();
        clone.advance(Duration::from_secs(3600));
        assert!(clock.now() >= before + 3_600_000);
        assert!(clock.now() < now_millis() + 3_700_000);
    }
}
