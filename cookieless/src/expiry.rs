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

/// `millis` as an RFC 3339 timestamp in UTC, to the second (rounded down), as
/// `X-Session-Expires` gives it; past the year 9999 it says the last second of that year.
pub(crate) fn rfc3339(millis: Millis) -> [u8; 20] {
    // 9999-12-31T23:59:59Z.
    const LAST: u64 = 253_402_300_799;
    let seconds = (millis / 1_000).min(LAST);
    let (days, of_day) = (seconds / 86_400, seconds % 86_400);
    // Howard Hinnant's days-to-civil conversion, for days since 1970-01-01 that are never negative.
    let shifted = days + 719_468;
    let (era, of_era) = (shifted / 146_097, shifted % 146_097);
    let year_of_era = (of_era - of_era / 1_460 + of_era / 36_524 - of_era / 146_096) / 365;
    let day_of_year = of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    // Written digit by digit rather than with `format!`: it goes out on every response.
    let mut text = *b"0000-00-00T00:00:00Z";
    let mut put = |at: usize, width: usize, mut value: u64| {
        for digit in text[at..at + width].iter_mut().rev() {
            *digit = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, month);
    put(8, 2, day);
    put(11, 2, of_day / 3_600);
    put(14, 2, of_day / 60 % 60);
    put(17, 2, of_day % 60);
    text
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
/// assert_eq!(expiry.rotation_grace, Duration::from_secs(30));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expiry {
    /// A session with a principal not used for this long is dead.
    pub idle: Duration,
    /// A session without a principal not used for this long is dead (capped by `idle`).
    pub anonymous_idle: Duration,
    /// A session this old is dead, however busy it has been.
    pub absolute: Duration,
    /// How long a token that a rotation (a login) retired is still recognised, so that a request
    /// sent with it while the rotation was under way is answered `409` (`session_rotated`), which
    /// a client retries with the new token, rather than treated as unknown. Zero turns it off.
    /// The old token never leads to the new session.
    pub rotation_grace: Duration,
}

impl Default for Expiry {
    fn default() -> Self {
        Expiry {
            idle: Duration::from_secs(14 * 24 * 60 * 60),
            anonymous_idle: Duration::from_secs(24 * 60 * 60),
            absolute: Duration::from_secs(30 * 24 * 60 * 60),
            rotation_grace: Duration::from_secs(30),
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
    ///     ..Expiry::default()
    /// };
    /// assert_eq!(expiry.deadline(0, 0, true), 100);
    /// assert_eq!(expiry.deadline(0, 0, false), 10);
    /// assert_eq!(expiry.deadline(0, 950, true), 1_000);
    /// ```
    pub fn deadline(&self, created: Millis, last_seen: Millis, signed_in: bool) -> Millis {
        let idle = self.idle_for(signed_in).as_millis() as Millis;
        let idle_end = last_seen.saturating_add(idle);
        idle_end.min(self.absolute_end(created))
    }

    /// The moment a session created (or last rotated) at `created` dies however busy it is.
    pub(crate) fn absolute_end(&self, created: Millis) -> Millis {
        let absolute = Millis::try_from(self.absolute.as_millis()).unwrap_or(Millis::MAX);
        created.saturating_add(absolute)
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
            ..Expiry::default()
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
            ..Expiry::default()
        };
        assert_eq!(expiry.deadline(0, 0, false), 100);
    }

    #[test]
    fn timestamps_are_rfc_3339_in_utc() {
        assert_eq!(&rfc3339(0), b"1970-01-01T00:00:00Z");
        assert_eq!(&rfc3339(951_782_400_999), b"2000-02-29T00:00:00Z");
        assert_eq!(&rfc3339(1_796_244_332_000), b"2026-12-02T20:45:32Z");
        assert_eq!(&rfc3339(4_102_444_799_000), b"2099-12-31T23:59:59Z");
        assert_eq!(&rfc3339(u64::MAX), b"9999-12-31T23:59:59Z");
    }

    #[test]
    fn touch_interval_is_bounded() {
        assert_eq!(Expiry::default().touch_interval(true), 60_000);
        assert_eq!(Expiry::default().touch_interval(false), 60_000);
        let short = Expiry {
            idle: Duration::from_secs(2),
            anonymous_idle: Duration::from_secs(1),
            absolute: Duration::from_secs(10),
            ..Expiry::default()
        };
        assert_eq!(short.touch_interval(true), 125);
        assert_eq!(short.touch_interval(false), 62);
    }
}
