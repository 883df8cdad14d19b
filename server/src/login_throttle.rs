//! Failed logins slow down further tries: per account from one address, per account from
//! anywhere, and per address.
//!
//! Each key has a count of recent failures. The first few are free; after them every try must
//! wait twice as long as the last since the latest failure, up to a ceiling. The hard limit is on
//! one account from one address, where the guesser is. The limit on an account from anywhere is
//! looser (a ceiling of a minute), and does not apply where the owner is known to be: from an
//! address that logged in to the account before, or to a caller already logged in to it (a
//! password change). So guessing one account from many addresses slows down, and nobody can lock
//! its owner out. The limit per address slows guessing many accounts from one place.
//!
//! A try is counted as a failure when it begins, and taken back unless it turns out to be one (a
//! success, or no answer at all: a busy hasher, a store error, a dropped request). Counting only
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
    /// One account from one address: five failures, then 1 s, 2 s, 4 s ... up to five minutes.
    pub const ACCOUNT_FROM_ADDRESS: Policy = Policy {
        free: 5,
        first_wait: Duration::from_secs(1),
        max_wait: Duration::from_secs(5 * 60),
        forget_after: Duration::from_secs(15 * 60),
    };

    /// One account from anywhere but where its owner is known: twenty failures, then waits up to
    /// a minute.
    pub const ACCOUNT: Policy = Policy {
        free: 20,
        max_wait: Duration::from_secs(60),
        ..Policy::ACCOUNT_FROM_ADDRESS
    };

    /// One address, which many people may share behind a NAT: twenty failures before any wait.
    pub const ADDRESS: Policy = Policy {
        free: 20,
        ..Policy::ACCOUNT_FROM_ADDRESS
    };

    fn wait_after(&self, failures: u32) -> Duration {
        let Some(doublings) = failures.checked_sub(self.free) else {
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
    AccountFrom(String, IpAddr),
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

/// Who is trying the password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// Someone logging in.
    Anonymous,
    /// The account's own session (a password change): the owner, by definition.
    Owner,
}

#[derive(Default)]
struct Table {
    failures: HashMap<Key, Failures>,
    /// When an account was last logged in to from an address: where its owner is known to be.
    known: HashMap<(String, IpAddr), Millis>,
}

/// The counts of recent failures, and where owners logged in from, bounded in size.
pub struct LoginThrottle {
    table: Mutex<Table>,
    clock: Clock,
    max_keys: usize,
}

/// The longest username kept as a key: anything longer is not a username of ours anyway.
const MAX_KEY_LEN: usize = 64;

/// How long an address where an account logged in counts as its owner's.
const KNOWN_FOR: Duration = Duration::from_secs(30 * 24 * 60 * 60);

impl LoginThrottle {
    /// Keys tracked at once by default, each of failures and of known places (about 30 MiB).
    pub const DEFAULT_MAX_KEYS: usize = 100_000;

    pub fn new(clock: Clock, max_keys: usize) -> Self {
        LoginThrottle {
            table: Mutex::default(),
            clock,
            max_keys: max_keys.max(1),
        }
    }

    /// Begins a try at `username`'s password from `address`, counted as a failure from now on
    /// unless the returned [`Attempt`] says otherwise. Refused with the time left to wait when a
    /// try is due only later.
    pub fn begin(
        &self,
        username: &str,
        address: Option<IpAddr>,
        caller: Caller,
    ) -> Result<Attempt<'_>, Duration> {
        let now = self.clock.now();
        let account = account(username);
        let address = address.map(ClientAddress::counted_as);
        let mut table = self.lock();
        let owner_known = caller == Caller::Owner
            || address.is_some_and(|address| {
                table
                    .known
                    .get(&(account.clone(), address))
                    .is_some_and(|&at| now.saturating_sub(at) < KNOWN_FOR.as_millis() as Millis)
            });
        let mut keys = Vec::with_capacity(3);
        if let Some(address) = address {
            keys.push(Key::AccountFrom(account.clone(), address));
            keys.push(Key::Address(address));
        }
        if !owner_known {
            keys.push(Key::Account(account.clone()));
        }
        let wait = keys
            .iter()
            .map(|key| required_wait(table.failures.get(key), key.policy(), now))
            .max()
            .unwrap_or_default();
        if !wait.is_zero() {
            return Err(wait);
        }
        for key in &keys {
            self.count(&mut table.failures, key.clone(), now);
        }
        Ok(Attempt {
            throttle: self,
            account,
            address,
            keys,
        })
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

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A try under way, counted as a failure unless it is taken back: only a wrong password, or a try
/// cut short (a client that hangs up still had its hash computed), counts.
pub struct Attempt<'a> {
    throttle: &'a LoginThrottle,
    account: String,
    address: Option<IpAddr>,
    keys: Vec<Key>,
}

impl Attempt<'_> {
    /// The password was wrong: the try stays counted.
    pub fn failed(self) {}

    /// No verdict was reached (the hashing threads were busy, a store failed): the try is taken
    /// back, so that the owner's retries during an outage do not count against them.
    pub fn abandon(self) {
        let mut table = self.throttle.lock();
        for key in &self.keys {
            take_back(&mut table.failures, key);
        }
    }

    /// The password was right: the account's failures are forgotten, the address becomes a
    /// place its owner is known to be, and the address's count loses this try (only this one:
    /// an attacker's own account must not clear the address).
    pub fn succeeded(self) {
        let now = self.throttle.clock.now();
        let mut table = self.throttle.lock();
        for key in &self.keys {
            match key {
                Key::Address(_) => take_back(&mut table.failures, key),
                account => {
                    table.failures.remove(account);
                }
            }
        }
        table.failures.remove(&Key::Account(self.account.clone()));
        if let Some(address) = self.address {
            remember_place(
                &mut table.known,
                &self.account,
                address,
                now,
                self.throttle.max_keys,
            );
        }
    }
}

/// Records that `account` logged in from `address`. An address keeps at most
/// [`PLACES_PER_ADDRESS`] accounts, so that logging in to many accounts of one's own from one
/// place cannot push the owners' places out of a full table.
fn remember_place(
    known: &mut HashMap<(String, IpAddr), Millis>,
    account: &str,
    address: IpAddr,
    now: Millis,
    max_keys: usize,
) {
    let key = (account.to_string(), address);
    if !known.contains_key(&key) {
        let mut here: Vec<(Millis, String)> = known
            .iter()
            .filter(|((_, at), _)| *at == address)
            .map(|((account, _), &seen)| (seen, account.clone()))
            .collect();
        if here.len() >= PLACES_PER_ADDRESS {
            here.sort_unstable();
            known.remove(&(here[0].1.clone(), address));
        } else if known.len() >= max_keys {
            forget_oldest_places(known, max_keys);
        }
    }
    known.insert(key, now);
}

/// Accounts one address is remembered for.
const PLACES_PER_ADDRESS: usize = 4;

fn take_back(failures: &mut HashMap<Key, Failures>, key: &Key) {
    if let Some(entry) = failures.get_mut(key) {
        entry.count = entry.count.saturating_sub(1);
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

/// The account a username names, as keys hold it.
fn account(username: &str) -> String {
    let end = username
        .char_indices()
        .nth(MAX_KEY_LEN)
        .map_or(username.len(), |(index, _)| index);
    username[..end].to_lowercase()
}

/// Makes room for a key: forgets those quiet long enough to start over, then, if that is not
/// enough, a tenth of the table, those that hold nobody back first and the quietest among them,
/// so that flooding the table with fresh keys does not wipe out the counts that matter, and a
/// full table is not walked on every try.
fn make_room(failures: &mut HashMap<Key, Failures>, now: Millis, max_keys: usize) {
    failures.retain(|key, failures| {
        now.saturating_sub(failures.last) < key.policy().forget_after.as_millis() as Millis
    });
    if failures.len() < max_keys {
        return;
    }
    let mut candidates: Vec<(bool, Millis, Key)> = failures
        .iter()
        .map(|(key, entry)| {
            let holds_back = !required_wait(Some(entry), key.policy(), now).is_zero()
                || entry.count >= key.policy().free;
            (holds_back, entry.last, key.clone())
        })
        .collect();
    candidates.sort_unstable_by_key(|(holds_back, last, _)| (*holds_back, *last));
    for (_, _, key) in candidates.into_iter().take(max_keys.div_ceil(10)) {
        failures.remove(&key);
    }
}

/// Forgets the tenth of the known places seen longest ago.
fn forget_oldest_places(known: &mut HashMap<(String, IpAddr), Millis>, max_keys: usize) {
    let mut by_age: Vec<(Millis, (String, IpAddr))> = known
        .iter()
        .map(|(place, &at)| (at, place.clone()))
        .collect();
    by_age.sort_unstable_by_key(|(at, _)| *at);
    for (_, place) in by_age.into_iter().take(max_keys.div_ceil(10)) {
        known.remove(&place);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([192, 0, 2, last]))
    }

    /// A try with a wrong password.
    fn fail(throttle: &LoginThrottle, username: &str, address: Option<IpAddr>) {
        throttle
            .begin(username, address, Caller::Anonymous)
            .unwrap()
            .failed();
    }

    fn refused(throttle: &LoginThrottle, username: &str, address: Option<IpAddr>) -> Duration {
        match throttle.begin(username, address, Caller::Anonymous) {
            Ok(_) => panic!("a try at {username} was let through"),
            Err(wait) => wait,
        }
    }

    #[test]
    fn one_address_guessing_one_account_waits_longer_after_each_failure() {
        let clock = Clock::default();
        let throttle = LoginThrottle::new(clock.clone(), 100);
        for _ in 0..5 {
            fail(&throttle, "ada", address(1));
        }
        let first = refused(&throttle, "ada", address(1));
        assert!(first <= Duration::from_secs(1) && first > Duration::ZERO);
        // Other spellings of the same name count alike, and so would an unknown name.
        refused(&throttle, "ADA", address(1));
        clock.advance(Duration::from_secs(1));
        fail(&throttle, "ada", address(1));
        assert!(refused(&throttle, "ada", address(1)) > Duration::from_secs(1));
        // The owner, elsewhere, is not held back by it.
        throttle
            .begin("ada", address(2), Caller::Anonymous)
            .unwrap()
            .succeeded();
    }

    #[test]
    fn tries_in_parallel_are_counted_before_they_are_answered() {
        let throttle = LoginThrottle::new(Clock::default(), 100);
        let begun: Vec<_> = (0..10)
            .filter_map(|_| throttle.begin("ada", address(1), Caller::Anonymous).ok())
            .collect();
        assert_eq!(begun.len(), 5);
        for attempt in begun {
            attempt.failed();
        }
    }

    #[test]
    fn tries_without_a_verdict_are_taken_back_and_tries_cut_short_are_not() {
        let throttle = LoginThrottle::new(Clock::default(), 100);
        for _ in 0..50 {
            // A busy hasher, a store error.
            throttle
                .begin("ada", address(1), Caller::Anonymous)
                .unwrap()
                .abandon();
        }
        for _ in 0..5 {
            // A client that hangs up once its hash is under way.
            drop(
                throttle
                    .begin("ada", address(1), Caller::Anonymous)
                    .unwrap(),
            );
        }
        refused(&throttle, "ada", address(1));
    }

    #[test]
    fn one_address_cannot_push_owners_places_out() {
        let clock = Clock::default();
        let throttle = LoginThrottle::new(clock.clone(), 10);
        throttle
            .begin("ada", address(1), Caller::Anonymous)
            .unwrap()
            .succeeded();
        for n in 0..100 {
            clock.advance(Duration::from_secs(1));
            throttle
                .begin(&format!("own{n}"), address(9), Caller::Anonymous)
                .unwrap()
                .succeeded();
        }
        let table = throttle.lock();
        let ada = ("ada".to_string(), IpAddr::from([192, 0, 2, 1]));
        assert!(table.known.contains_key(&ada));
        assert!(table.known.len() <= 1 + PLACES_PER_ADDRESS);
    }

    #[test]
    fn guessers_everywhere_slow_an_account_down_but_never_lock_its_owner_out() {
        let clock = Clock::default();
        let throttle = LoginThrottle::new(clock.clone(), 1_000);
        throttle
            .begin("ada", address(250), Caller::Anonymous)
            .unwrap()
            .succeeded();
        for n in 0..200 {
            if let Ok(attempt) = throttle.begin("ada", address(n), Caller::Anonymous) {
                attempt.failed();
            }
        }
        // A new place waits, at most a minute.
        let wait = refused(&throttle, "ada", address(251));
        assert!(wait <= Policy::ACCOUNT.max_wait, "{wait:?}");
        // Where the owner logged in before, and from the owner's own session, no wait at all.
        throttle
            .begin("ada", address(250), Caller::Anonymous)
            .unwrap()
            .succeeded();
        throttle
            .begin("ada", address(251), Caller::Owner)
            .unwrap()
            .failed();
    }

    #[test]
    fn the_wait_is_capped_and_decays_and_success_resets_the_account() {
        let clock = Clock::default();
        let throttle = LoginThrottle::new(clock.clone(), 100);
        for _ in 0..40 {
            fail(&throttle, "ada", address(1));
            clock.advance(Policy::ACCOUNT_FROM_ADDRESS.max_wait);
        }
        fail(&throttle, "ada", address(1));
        // The clock runs on with real time between the failure and the check: the wait is the
        // cap, less the milliseconds that passed meanwhile.
        let wait = refused(&throttle, "ada", address(1));
        let cap = Policy::ACCOUNT_FROM_ADDRESS.max_wait;
        assert!(
            wait <= cap && wait > cap - Duration::from_secs(1),
            "{wait:?}"
        );
        clock.advance(Policy::ACCOUNT_FROM_ADDRESS.forget_after);
        throttle
            .begin("ada", address(1), Caller::Anonymous)
            .unwrap()
            .succeeded();
        for _ in 0..5 {
            fail(&throttle, "ada", address(1));
        }
        refused(&throttle, "ada", address(1));
    }

    #[test]
    fn an_address_guessing_many_accounts_slows_down() {
        let throttle = LoginThrottle::new(Clock::default(), 1_000);
        for n in 0..20 {
            fail(&throttle, &format!("user{n}"), address(1));
        }
        refused(&throttle, "someone_new", address(1));
        throttle
            .begin("someone_new", address(2), Caller::Anonymous)
            .unwrap()
            .failed();
    }

    #[test]
    fn ipv6_clients_count_by_their_64() {
        let throttle = LoginThrottle::new(Clock::default(), 1_000);
        for n in 0..20u16 {
            let address = IpAddr::from([0x2001, 0xdb8, 0, 1, n, 0, 0, 1]);
            fail(&throttle, &format!("user{n}"), Some(address));
        }
        let same_64 = IpAddr::from([0x2001, 0xdb8, 0, 1, 0xffff, 0, 0, 9]);
        refused(&throttle, "someone_new", Some(same_64));
    }

    #[test]
    fn flooding_the_table_keeps_the_counts_that_hold_someone_back() {
        let throttle = LoginThrottle::new(Clock::default(), 40);
        for _ in 0..5 {
            fail(&throttle, "ada", address(1));
        }
        for n in 0..1_000 {
            if let Ok(attempt) = throttle.begin(&format!("user{n}"), None, Caller::Anonymous) {
                attempt.failed();
            }
        }
        assert!(throttle.lock().failures.len() <= 40);
        refused(&throttle, "ada", address(1));
    }
}
