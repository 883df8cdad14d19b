//! Failed logins slow down further tries, per account and per client address.
//!
//! Each key (a username as typed, or an address) has a count of recent failures. The first few
//! are free; after them every try must wait twice as long as the last since the latest failure,
//! up to a ceiling, so that guessing one account from many addresses and many accounts from one
//! address both slow down, and the real user is never kept out for longer than the ceiling. A
//! quiet spell forgets the count, and a successful login resets its account's.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use cookieless::store::Millis;
use cookieless::Clock;

/// What one kind of key tolerates.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// Failures before any wait.
    pub free: u32,
    /// The first wait; each failure after it doubles the wait.
    pub first_wait: Duration,
    /// The longest wait.
    pub max_wait: Duration,
    /// A key with no failure for this long starts over.
    pub forget_after: Duration,
}

impl Policy {
    /// One account: five tries, then 1 s, 2 s, 4 s ... up to five minutes.
    pub const ACCOUNT: Policy = Policy {
        free: 5,
        first_wait: Duration::from_secs(1),
        max_wait: Duration::from_secs(5 * 60),
        forget_after: Duration::from_secs(15 * 60),
    };

    /// One address, which many people may share behind a NAT: twenty tries before any wait.
    pub const ADDRESS: Policy = Policy {
        free: 20,
        ..Policy::ACCOUNT
    };

    fn wait_after(&self, failures: u32) -> Duration {
        let Some(doublings) = failures.checked_sub(self.free + 1) else {
            return Duration::ZERO;
        };
        self.first_wait
            .checked_mul(1u32.checked_shl(doublings).unwrap_or(u32::MAX))
            .unwrap_or(self.max_wait)
            .min(self.max_wait)
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Address(IpAddr),
}

#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    last: Millis,
}

/// The counts of recent failures, bounded in size.
pub struct LoginThrottle {
    failures: Mutex<HashMap<Key, Failures>>,
    clock: Clock,
    max_keys: usize,
}

/// The longest username kept as a key: anything longer is not a username of ours anyway.
const MAX_KEY_LEN: usize = 64;

impl LoginThrottle {
    /// Keys tracked at once by default (about 10 MiB).
    pub const DEFAULT_MAX_KEYS: usize = 100_000;

    pub fn new(clock: Clock, max_keys: usize) -> Self {
        LoginThrottle {
            failures: Mutex::new(HashMap::new()),
            clock,
            max_keys: max_keys.max(1),
        }
    }

    /// How long the caller must wait before trying `username` from `address`, if at all.
    pub fn wait(&self, username: &str, address: Option<IpAddr>) -> Option<Duration> {
        let now = self.clock.now();
        let failures = self.lock();
        let wait_for = |key: &Key, policy: &Policy| -> Duration {
            let Some(failures) = failures.get(key) else {
                return Duration::ZERO;
            };
            let until = failures
                .last
                .saturating_add(policy.wait_after(failures.count).as_millis() as Millis);
            Duration::from_millis(until.saturating_sub(now))
        };
        let mut wait = wait_for(&account(username), &Policy::ACCOUNT);
        if let Some(address) = address {
            wait = wait.max(wait_for(&Key::Address(address), &Policy::ADDRESS));
        }
        (!wait.is_zero()).then_some(wait)
    }

    /// Counts a failed try at `username` from `address`.
    pub fn failed(&self, username: &str, address: Option<IpAddr>) {
        let now = self.clock.now();
        let mut failures = self.lock();
        let mut count = |key: Key, policy: &Policy| {
            if !failures.contains_key(&key) && failures.len() >= self.max_keys {
                make_room(&mut failures, now, policy, self.max_keys);
            }
            let entry = failures
                .entry(key)
                .or_insert(Failures { count: 0, last: 0 });
            if now.saturating_sub(entry.last) >= policy.forget_after.as_millis() as Millis {
                entry.count = 0;
            }
            entry.count = entry.count.saturating_add(1);
            entry.last = now;
        };
        count(account(username), &Policy::ACCOUNT);
        if let Some(address) = address {
            count(Key::Address(address), &Policy::ADDRESS);
        }
    }

    /// The account's owner proved the password: its failures are forgotten. The address's are
    /// not, or one account of the attacker's own would clear the address's count.
    pub fn succeeded(&self, username: &str) {
        self.lock().remove(&account(username));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Failures>> {
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn account(username: &str) -> Key {
    let end = username
        .char_indices()
        .nth(MAX_KEY_LEN)
        .map_or(username.len(), |(index, _)| index);
    Key::Account(username[..end].to_lowercase())
}

/// Forgets keys quiet long enough to start over; if none are, the one quiet longest.
fn make_room(failures: &mut HashMap<Key, Failures>, now: Millis, policy: &Policy, max_keys: usize) {
    let forget_after = policy.forget_after.as_millis() as Millis;
    failures.retain(|_, failures| now.saturating_sub(failures.last) < forget_after);
    if failures.len() >= max_keys {
        let oldest = failures
            .iter()
            .min_by_key(|(_, failures)| failures.last)
            .map(|(key, _)| key.clone());
        if let Some(oldest) = oldest {
            failures.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([192, 0, 2, last]))
    }

    #[test]
    fn an_account_waits_longer_after_each_failure_beyond_the_free_ones() {
        let clock = Clock::default();
        let throttle = LoginThrottle::new(clock.clone(), 100);
        for n in 0..5 {
            assert_eq!(throttle.wait("ada", address(n)), None);
            throttle.failed("ada", address(n));
        }
        assert_eq!(throttle.wait("ada", address(9)), None);
        throttle.failed("ada", address(9));
        let first = throttle.wait("ada", address(10)).unwrap();
        assert!(first <= Duration::from_secs(1) && first > Duration::ZERO);
        // Unknown usernames and other spellings of the same name count alike.
        assert!(throttle.wait("ADA", address(11)).is_some());
        clock.advance(Duration::from_secs(1));
        assert_eq!(throttle.wait("ada", address(12)), None);
        throttle.failed("ada", address(12));
        assert!(throttle.wait("ada", None).unwrap() > Duration::from_secs(1));
        assert_eq!(throttle.wait("grace", address(12)), None);
    }

    #[test]
    fn the_wait_is_capped_and_decays_and_success_resets_the_account() {
        let clock = Clock::default();
        let throttle = LoginThrottle::new(clock.clone(), 100);
        for _ in 0..40 {
            throttle.failed("ada", None);
        }
        assert_eq!(throttle.wait("ada", None), Some(Policy::ACCOUNT.max_wait));
        clock.advance(Policy::ACCOUNT.max_wait);
        assert_eq!(throttle.wait("ada", None), None);
        // The next failure after the cap waits the cap again, until a quiet spell forgets all.
        throttle.failed("ada", None);
        assert!(throttle.wait("ada", None).is_some());
        clock.advance(Policy::ACCOUNT.forget_after);
        throttle.failed("ada", None);
        assert_eq!(throttle.wait("ada", None), None);
        for _ in 0..10 {
            throttle.failed("ada", None);
        }
        throttle.succeeded("ada");
        assert_eq!(throttle.wait("ada", None), None);
    }

    #[test]
    fn an_address_guessing_many_accounts_slows_down() {
        let throttle = LoginThrottle::new(Clock::default(), 1_000);
        for n in 0..21 {
            throttle.failed(&format!("user{n}"), address(1));
        }
        assert!(throttle.wait("someone_new", address(1)).is_some());
        assert_eq!(throttle.wait("someone_new", address(2)), None);
        // Success on an account of the guesser's own does not clear the address.
        throttle.succeeded("user0");
        assert!(throttle.wait("someone_new", address(1)).is_some());
    }

    #[test]
    fn the_table_stays_bounded() {
        let throttle = LoginThrottle::new(Clock::default(), 10);
        for n in 0..1_000 {
            throttle.failed(&format!("user{n}"), None);
        }
        assert!(throttle.lock().len() <= 10);
    }
}
