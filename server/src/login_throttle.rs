//! Failed logins slow down further tries: per account from one address, per account from
//! anywhere, and per address.
//!
//! Each key has a count of recent failures. The first few are free; after them every try must
//! wait twice as long as the last since the latest failure, up to a ceiling. The hard limit is on
//! one account from one address, where the guesser is; the limit on an account from anywhere is
//! looser (more free tries, a ceiling of a minute), so that guessing one account from many
//! addresses slows down without anyone being able to lock its owner out: at worst the owner waits
//! a minute between tries. The limit per address slows guessing many accounts from one place.
//!
//! A try is counted as a failure when it begins, and taken back when it succeeds: counting only
//! after the hash would let every try sent in parallel through the same open slot.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use cookieless::store::Millis;
use cookieless::{ClientAddress, Clock};

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
    /// One account from one address: five tries, then 1 s, 2 s, 4 s ... up to five minutes.
    pub const ACCOUNT_FROM_ADDRESS: Policy = Policy {
        free: 5,
        first_wait: Duration::from_secs(1),
        max_wait: Duration::from_secs(5 * 60),
        forget_after: Duration::from_secs(15 * 60),
    };

    /// One account from anywhere: twenty tries, then waits up to a minute.
    pub const ACCOUNT: Policy = Policy {
        free: 20,
        max_wait: Duration::from_secs(60),
        ..Policy::ACCOUNT_FROM_ADDRESS
    };

    /// One address, which many people may share behind a NAT: twenty tries before any wait.
    pub const ADDRESS: Policy = Policy {
        free: 20,
        ..Policy::ACCOUNT_FROM_ADDRESS
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
    AccountFrom(String, Option<IpAddr>),
    Account(String),
    Address(IpAddr),
}

impl Key {
    fn policy(&self) -> &'static Policy {
        match self {
            Key::AccountFrom(..) => &Policy::ACCOUNT_FROM_ADDRESS,
            Key::Account(_) => &Policy::ACCOUNT,
            Key::Address(_) => &Policy::ADDRESS,
        }
    }
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
    /// Keys tracked at once by default (about 15 MiB).
    pub const DEFAULT_MAX_KEYS: usize = 100_000;

    pub fn new(clock: Clock, max_keys: usize) -> Self {
        LoginThrottle {
            failures: Mutex::new(HashMap::new()),
            clock,
            max_keys: max_keys.max(1),
        }
    }

    /// Begins a try at `username` from `address`: counted as a failure from now on, unless
    /// [`LoginThrottle::succeeded`] takes it back. Refused with the time left to wait when a try
    /// is due only later.
    pub fn begin(&self, username: &str, address: Option<IpAddr>) -> Result<(), Duration> {
        let now = self.clock.now();
        let keys = keys(username, address);
        let mut failures = self.lock();
        let wait = keys
            .iter()
            .map(|key| required_wait(failures.get(key), key.policy(), now))
            .max()
            .unwrap_or_default();
        if !wait.is_zero() {
            return Err(wait);
        }
        for key in keys {
            self.count(&mut failures, key, now);
        }
        Ok(())
    }

    /// The try proved the password: the account's failures are forgotten, and the address's
    /// count loses the one its try added (not more: an attacker's own account would otherwise
    /// clear the address).
    pub fn succeeded(&self, username: &str, address: Option<IpAddr>) {
        let mut failures = self.lock();
        for key in keys(username, address) {
            match key {
                Key::Address(_) => {
                    if let Some(entry) = failures.get_mut(&key) {
                        entry.count = entry.count.saturating_sub(1);
                    }
                }
                account => {
                    failures.remove(&account);
                }
            }
        }
    }

    fn count(&self, failures: &mut HashMap<Key, Failures>, key: Key, now: Millis) {
        if !failures.contains_key(&key) && failures.len() >= self.max_keys {
            make_room(failures, now, self.max_keys);
        }
        let policy = key.policy();
        let entry = failures
            .entry(key)
            .or_insert(Failures { count: 0, last: 0 });
        if now.saturating_sub(entry.last) >= policy.forget_after.as_millis() as Millis {
            entry.count = 0;
        }
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Failures>> {
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// How long a key with these failures must still wait at `now`.
fn required_wait(failures: Option<&Failures>, policy: &Policy, now: Millis) -> Duration {
    let Some(failures) = failures else {
        return Duration::ZERO;
    };
    if now.saturating_sub(failures.last) >= policy.forget_after.as_millis() as Millis {
        return Duration::ZERO;
    }
    let until = failures
        .last
        .saturating_add(policy.wait_after(failures.count).as_millis() as Millis);
    Duration::from_millis(until.saturating_sub(now))
}

/// The keys a try at `username` from `address` counts under; an address as the session layer
/// counts it (an IPv6 client by its /64).
fn keys(username: &str, address: Option<IpAddr>) -> Vec<Key> {
    let end = username
        .char_indices()
        .nth(MAX_KEY_LEN)
        .map_or(username.len(), |(index, _)| index);
    let account = username[..end].to_lowercase();
    let address = address.map(ClientAddress::counted_as);
    let mut keys = vec![
        Key::AccountFrom(account.clone(), address),
        Key::Account(account),
    ];
    keys.extend(address.map(Key::Address));
    keys
}

/// Forgets keys quiet long enough to start over; if that is not enough, the tenth quiet longest,
/// so that a full table is not walked again on the very next try.
fn make_room(failures: &mut HashMap<Key, Failures>, now: Millis, max_keys: usize) {
    failures.retain(|key, failures| {
        now.saturating_sub(failures.last) < key.policy().forget_after.as_millis() as Millis
    });
    if failures.len() >= max_keys {
        let mut by_age: Vec<(Millis, Key)> = failures
            .iter()
            .map(|(key, failures)| (failures.last, key.clone()))
            .collect();
        by_age.sort_unstable_by_key(|(last, _)| *last);
        for (_, key) in by_age.into_iter().take(max_keys.div_ceil(10)) {
            failures.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([192, 0, 2, last]))
    }

    /// A try that fails.
    fn fail(throttle: &LoginThrottle, username: &str, address: Option<IpAddr>) {
        throttle.begin(username, address).unwrap();
    }

    #[test]
    fn one_address_guessing_one_account_waits_longer_after_each_failure() {
        let clock = Clock::default();
        let throttle = LoginThrottle::new(clock.clone(), 100);
        for _ in 0..6 {
            fail(&throttle, "ada", address(1));
        }
        let first = throttle.begin("ada", address(1)).unwrap_err();
        assert!(first <= Duration::from_secs(1) && first > Duration::ZERO);
        // Other spellings of the same name count alike, and so would an unknown name.
        assert!(throttle.begin("ADA", address(1)).is_err());
        clock.advance(Duration::from_secs(1));
        fail(&throttle, "ada", address(1));
        assert!(throttle.begin("ada", address(1)).unwrap_err() > Duration::from_secs(1));
        // The owner, elsewhere, is not held back by it.
        assert!(throttle.begin("ada", address(2)).is_ok());
    }

    #[test]
    fn tries_in_parallel_are_counted_before_they_are_checked() {
        let throttle = LoginThrottle::new(Clock::default(), 100);
        // Six tries begin before any answer: the sixth is the first refused.
        let begun = (0..10)
            .filter(|_| throttle.begin("ada", address(1)).is_ok())
            .count();
        assert_eq!(begun, 6);
    }

    #[test]
    fn guessing_one_account_from_everywhere_never_locks_its_owner_out_for_long() {
        let clock = Clock::default();
        let throttle = LoginThrottle::new(clock.clone(), 1_000);
        for n in 0..200 {
            let _ = throttle.begin("ada", address(n));
        }
        let wait = throttle.begin("ada", address(250)).unwrap_err();
        assert!(wait <= Policy::ACCOUNT.max_wait, "{wait:?}");
        clock.advance(Policy::ACCOUNT.max_wait);
        throttle.begin("ada", address(250)).unwrap();
        throttle.succeeded("ada", address(250));
        throttle.begin("ada", address(250)).unwrap();
    }

    #[test]
    fn the_wait_is_capped_and_decays_and_success_resets_the_account() {
        let clock = Clock::default();
        let throttle = LoginThrottle::new(clock.clone(), 100);
        for _ in 0..40 {
            throttle.begin("ada", None).unwrap();
            clock.advance(Policy::ACCOUNT_FROM_ADDRESS.max_wait);
        }
        throttle.begin("ada", None).unwrap();
        assert_eq!(
            throttle.begin("ada", None).unwrap_err(),
            Policy::ACCOUNT_FROM_ADDRESS.max_wait
        );
        clock.advance(Policy::ACCOUNT_FROM_ADDRESS.forget_after);
        throttle.begin("ada", None).unwrap();
        throttle.succeeded("ada", None);
        for _ in 0..5 {
            fail(&throttle, "ada", None);
        }
        throttle.begin("ada", None).unwrap();
        throttle.succeeded("ada", None);
        fail(&throttle, "ada", None);
    }

    #[test]
    fn an_address_guessing_many_accounts_slows_down() {
        let throttle = LoginThrottle::new(Clock::default(), 1_000);
        for n in 0..21 {
            fail(&throttle, &format!("user{n}"), address(1));
        }
        assert!(throttle.begin("someone_new", address(1)).is_err());
        assert!(throttle.begin("someone_new", address(2)).is_ok());
    }

    #[test]
    fn ipv6_clients_count_by_their_64() {
        let throttle = LoginThrottle::new(Clock::default(), 1_000);
        for n in 0..21u16 {
            let address = IpAddr::from([0x2001, 0xdb8, 0, 1, n, 0, 0, 1]);
            fail(&throttle, &format!("user{n}"), Some(address));
        }
        let same_64 = IpAddr::from([0x2001, 0xdb8, 0, 1, 0xffff, 0, 0, 9]);
        assert!(throttle.begin("someone_new", Some(same_64)).is_err());
    }

    #[test]
    fn the_table_stays_bounded() {
        let throttle = LoginThrottle::new(Clock::default(), 30);
        for n in 0..1_000 {
            let _ = throttle.begin(&format!("user{n}"), None);
        }
        assert!(throttle.lock().len() <= 30);
    }
}
