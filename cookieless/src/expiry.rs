//! When a session dies: an idle timeout (shorter before login) and an absolute timeout, enforced
//! together.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch: the unit every stored timestamp uses.
pub type Millis = u64;

/// The system clock's time in [`Millis`] (0 before the epoch).
pub fn now_millis() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

/// How long a session lives: it dies at the earlier of its idle and absolute deadlines. A session
/// with no principal (nobody logged in) has an idle timeout of its own, shorter by default, so
/// that sessions begun by a flood of anonymous requests leave the store soon.
///
/// ```
/// use std::time::Duration;
/// use cookieless::Expiry;
///
/// let expiry = Expiry {
///     idle: Duration::from_secs(30 * 60),
///     ..Expiry::default()
/// };
/// assert_eq!(expiry.absolute, Duration::from_secs(30 * 24 * 60 * 60));
/// assert_eq!(expiry.anonymous_idle, Duration::from_secs(24 * 60 * 60));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expiry {
    /// A session with a principal not used for this long is dead.
    pub idle: Duration,
    /// A session without a principal not used for this long is dead (capped by `idle`).
    pub anonymous_idle: Duration,
    /// A session this old is dead, however busy it has been.
    pub absolute: Duration,
}

impl Default for Expiry {
    fn default() -> Self {
        Expiry {
            idle: Duration::from_secs(14 * 24 * 60 * 60),
            anonymous_idle: Duration::from_secs(24 * 60 * 60),
            absolute: Duration::from_secs(30 * 24 * 60 * 60),
        }
    }
}

impl Expiry {
    /// The idle timeout of a session with a principal (`signed_in`) or without one.
    ///
    /// ```
    /// use std::time::Duration;
    /// use cookieless::Expiry;
    ///
    /// let expiry = Expiry::default();
    /// assert_eq!(expiry.idle_for(false), Duration::from_secs(24 * 60 * 60));
    /// assert_eq!(expiry.idle_for(true), expiry.idle);
    /// ```
    pub fn idle_for(&self, signed_in: bool) -> Duration {
        if signed_in {
            self.idle
        } else {
            self.anonymous_idle.min(self.idle)
        }
    }

    /// The moment a session created at `created` and last used at `last_seen` dies, with a
    /// principal (`signed_in`) or without one.
    ///
    /// ```
    /// use std::time::Duration;
    /// use cookieless::Expiry;
    ///
    /// let expiry = Expiry {
    ///     idle: Duration::from_millis(100),
    ///     anonymous_idle: Duration::from_millis(10),
    ///     absolute: Duration::from_millis(1_000),
    /// };
    /// assert_eq!(expiry.deadline(0, 0, true), 100);
    /// assert_eq!(expiry.deadline(0, 0, false), 10);
    /// assert_eq!(expiry.deadline(0, 950, true), 1_000);
    /// ```
    pub fn deadline(&self, created: Millis, last_seen: Millis, signed_in: bool) -> Millis {
        let idle = self.idle_for(signed_in).as_millis() as Millis;
        let idle_end = last_seen.saturating_add(idle);
        let absolute_end = created.saturating_add(self.absolute.as_millis() as Millis);
        idle_end.min(absolute_end)
    }

    /// How stale `last_seen` may get before a read-only request writes it back. Refreshing on every
    /// read would turn every read into a durable write; this bounds the error in the idle deadline
    /// to a sixteenth of the idle timeout, and never more than a minute.
    ///
    /// ```
    /// use cookieless::Expiry;
    ///
    /// assert_eq!(Expiry::default().touch_interval(true), 60_000);
    /// ```
    pub fn touch_interval(&self, signed_in: bool) -> Millis {
        (self.idle_for(signed_in).as_millis() as Millis / 16).min(60_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earlier_of_idle_and_absolute_wins() {
        let expiry = Expiry {
            idle: Duration::from_millis(100),
            anonymous_idle: Duration::from_millis(10),
            absolute: Duration::from_millis(1_000),
        };
        assert_eq!(expiry.deadline(0, 0, true), 100);
        assert_eq!(expiry.deadline(0, 950, true), 1_000);
        assert_eq!(expiry.deadline(0, 0, false), 10);
        assert_eq!(expiry.deadline(0, 995, false), 1_000);
    }

    #[test]
    fn the_anonymous_idle_timeout_never_outlasts_the_signed_in_one() {
        let expiry = Expiry {
            idle: Duration::from_millis(100),
            anonymous_idle: Duration::from_millis(500),
            absolute: Duration::from_millis(1_000),
        };
        assert_eq!(expiry.deadline(0, 0, false), 100);
    }

    #[test]
    fn touch_interval_is_bounded() {
        assert_eq!(Expiry::default().touch_interval(true), 60_000);
        assert_eq!(Expiry::default().touch_interval(false), 60_000);
        let short = Expiry {
            idle: Duration::from_secs(2),
            anonymous_idle: Duration::from_secs(1),
            absolute: Duration::from_secs(10),
        };
        assert_eq!(short.touch_interval(true), 125);
        assert_eq!(short.touch_interval(false), 62);
    }
}
