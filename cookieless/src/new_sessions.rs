//! The budget of new sessions per client address, so that one client cannot fill the store.
//!
//! Any request that writes without a live token can begin a session, and any web page can make its
//! visitors' browsers send such requests (a cross-site POST without a body needs no preflight).
//! Each address gets a token bucket ([`governor`]'s GCRA); a request beyond it is answered `429`
//! before its handler runs, and nothing is stored.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::Clock as _;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};
use http::Request;

use crate::client_address::ClientAddress;
use crate::clock::Clock;
use crate::error::SessionError;

/// How many new sessions one client address may begin: a token bucket of `burst` sessions that
/// refills at `per_minute`.
///
/// ```
/// use cookieless::{ClientAddress, MemoryStore, NewSessionLimit, SessionLayer};
///
/// let limit = NewSessionLimit::per_minute(60)
///     .expect("not zero")
///     .with_burst(120)
///     .with_client_address(ClientAddress::forwarded_for("x-forwarded-for".parse()?, 1));
/// let layer = SessionLayer::new(MemoryStore::new()).with_new_session_limit(limit);
/// # Ok::<(), http::header::InvalidHeaderName>(())
/// ```
#[derive(Clone, Debug)]
pub struct NewSessionLimit {
    per_minute: NonZeroU32,
    burst: NonZeroU32,
    client_address: ClientAddress,
    max_tracked: usize,
}

impl NewSessionLimit {
    /// Addresses tracked at once by default: about 5 MiB of state.
    pub const DEFAULT_MAX_TRACKED: usize = 100_000;

    /// `per_minute` new sessions per address, in bursts of up to twice that; `None` for zero
    /// (no limit), so that a setting of 0 reads as "off".
    ///
    /// ```
    /// use cookieless::NewSessionLimit;
    ///
    /// assert!(NewSessionLimit::per_minute(60).is_some());
    /// assert!(NewSessionLimit::per_minute(0).is_none());
    /// ```
    pub fn per_minute(per_minute: u32) -> Option<Self> {
        let per_minute = NonZeroU32::new(per_minute)?;
        Some(NewSessionLimit {
            per_minute,
            burst: per_minute.saturating_mul(NonZeroU32::MIN.saturating_add(1)),
            client_address: ClientAddress::Peer,
            max_tracked: Self::DEFAULT_MAX_TRACKED,
        })
    }

    /// How many new sessions an address may begin at once, after a quiet spell (at least one).
    ///
    /// ```
    /// use cookieless::NewSessionLimit;
    ///
    /// // Ten a minute, but no more than three at once.
    /// let limit = NewSessionLimit::per_minute(10).expect("not zero").with_burst(3);
    /// ```
    pub fn with_burst(mut self, burst: u32) -> Self {
        self.burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        self
    }

    /// Where the client's address is read (default: [`ClientAddress::Peer`]).
    ///
    /// ```
    /// use cookieless::{ClientAddress, NewSessionLimit};
    ///
    /// let behind_proxy = ClientAddress::forwarded_for("x-forwarded-for".parse()?, 1);
    /// let limit = NewSessionLimit::per_minute(60)
    ///     .expect("not zero")
    ///     .with_client_address(behind_proxy);
    /// # Ok::<(), http::header::InvalidHeaderName>(())
    /// ```
    pub fn with_client_address(mut self, client_address: ClientAddress) -> Self {
        self.client_address = client_address;
        self
    }

    /// How many addresses are tracked at once (default: [`Self::DEFAULT_MAX_TRACKED`]). Past it,
    /// while it cannot forget addresses whose buckets are full again, every address is counted
    /// with its network (its /24, or IPv6 /48), and past twice as many keys all share one bucket,
    /// so that the limiter's memory stays bounded under a flood from many addresses.
    ///
    /// ```
    /// use cookieless::NewSessionLimit;
    ///
    /// let limit = NewSessionLimit::per_minute(60)
    ///     .expect("not zero")
    ///     .with_max_tracked(10_000);
    /// assert_eq!(NewSessionLimit::DEFAULT_MAX_TRACKED, 100_000);
    /// ```
    pub fn with_max_tracked(mut self, max_tracked: usize) -> Self {
        self.max_tracked = max_tracked.max(1);
        self
    }
}

type Limiter =
    RateLimiter<IpAddr, DashMapStateStore<IpAddr>, BudgetClock, NoOpMiddleware<Duration>>;

/// The layer's limiter, built from a [`NewSessionLimit`].
pub(crate) struct NewSessionBudget {
    limiter: Limiter,
    client_address: ClientAddress,
    max_tracked: usize,
    clock: Clock,
    /// When the limiter last dropped addresses whose buckets are full again.
    last_pruned: AtomicU64,
    warned_without_address: AtomicBool,
}

/// Whether a request has paid for the session it may begin.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) enum Charge {
    /// The layer has no budget of new sessions.
    #[default]
    Free,
    /// Charged before the handler ran: a tokenless write.
    Paid,
    /// Charged to this key if the request begins a session: it presented a token (which may turn
    /// out to be dead), or only reads.
    Due(IpAddr),
}

/// The key of addresses counted together: those that are not known, and those beyond the cap.
const SHARED: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

/// The network an address belongs to, for counting under a flood: its /24, or its IPv6 /48.
fn network_of(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from(u32::from(v4) & 0xffff_ff00)),
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 80) - 1))),
    }
}

/// Pruning walks every tracked address, so a flood may trigger it at most this often.
const PRUNE_INTERVAL_MS: u64 = 1_000;

impl NewSessionBudget {
    pub(crate) fn new(limit: &NewSessionLimit, clock: Clock) -> Self {
        let quota = Quota::per_minute(limit.per_minute).allow_burst(limit.burst);
        NewSessionBudget {
            limiter: RateLimiter::dashmap_with_clock(quota, BudgetClock(clock.clone())),
            client_address: limit.client_address.clone(),
            max_tracked: limit.max_tracked,
            clock,
            last_pruned: AtomicU64::new(0),
            warned_without_address: AtomicBool::new(false),
        }
    }

    /// The key `request` is counted under.
    pub(crate) fn client<B>(&self, request: &Request<B>) -> IpAddr {
        match self
            .client_address
            .of(request.headers(), request.extensions())
        {
            Some(address) => ClientAddress::counted_as(address),
            None => {
                if !self.warned_without_address.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        event = "client_address_unknown",
                        "a request has no client address: every such request shares one budget of \
                         new sessions; serve with `into_make_service_with_connect_info`"
                    );
                }
                SHARED
            }
        }
    }

    /// Takes one new session from `client`'s budget, or says how long until there is one.
    pub(crate) fn charge(&self, client: IpAddr) -> Result<(), SessionError> {
        let tracked = self.limiter.len();
        let key = if tracked < self.max_tracked || self.prune() {
            client
        } else if tracked < self.max_tracked.saturating_mul(2) {
            // Under a flood from many addresses, their networks share buckets, so that one
            // network's flood does not spend everyone else's budget.
            network_of(client)
        } else {
            SHARED
        };
        self.limiter.check_key(&key).map_err(|not_until| {
            let retry_after = not_until.wait_time_from(BudgetClock(self.clock.clone()).now());
            tracing::info!(
                event = "new_session_throttled",
                client = %client,
                retry_after_secs = retry_after.as_secs_f64(),
                "a client began too many sessions"
            );
            SessionError::RateLimited { retry_after }
        })
    }

    /// Drops addresses whose buckets are full again, at most once a [`PRUNE_INTERVAL_MS`];
    /// returns whether there is room for another address.
    fn prune(&self) -> bool {
        let now = self.clock.now();
        let last = self.last_pruned.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= PRUNE_INTERVAL_MS
            && self
                .last_pruned
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter.len() < self.max_tracked
    }
}

/// The layer's [`Clock`] as governor reads time, so that tests move both together.
#[derive(Clone)]
struct BudgetClock(Clock);

impl governor::clock::Clock for BudgetClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        Duration::from_millis(self.0.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_address_gets_its_burst_then_one_session_per_refill() {
        let clock = Clock::default();
        let limit = NewSessionLimit::per_minute(60).unwrap().with_burst(3);
        let budget = NewSessionBudget::new(&limit, clock.clone());
        let client = address("192.0.2.1");
        for _ in 0..3 {
            budget.charge(client).unwrap();
        }
        let Err(SessionError::RateLimited { retry_after }) = budget.charge(client) else {
            panic!("the fourth session in a burst of three was allowed");
        };
        assert!(retry_after <= Duration::from_secs(1), "{retry_after:?}");
        // Another address has a budget of its own.
        budget.charge(address("192.0.2.2")).unwrap();
        clock.advance(Duration::from_secs(1));
        budget.charge(client).unwrap();
        assert!(budget.charge(client).is_err());
    }

    #[test]
    fn zero_means_no_limit_and_the_default_burst_is_twice_the_rate() {
        assert!(NewSessionLimit::per_minute(0).is_none());
        let limit = NewSessionLimit::per_minute(60).unwrap();
        assert_eq!(limit.burst.get(), 120);
        assert_eq!(limit.clone().with_burst(0).burst.get(), 1);
    }

    #[test]
    fn beyond_the_tracked_addresses_networks_then_all_share_buckets() {
        let clock = Clock::default();
        let limit = NewSessionLimit::per_minute(1)
            .unwrap()
            .with_burst(2)
            .with_max_tracked(2);
        let budget = NewSessionBudget::new(&limit, clock.clone());
        budget.charge(address("192.0.2.1")).unwrap();
        budget.charge(address("192.0.2.2")).unwrap();
        // Both buckets are still draining, so nothing can be pruned: addresses count by network.
        budget.charge(address("192.0.2.3")).unwrap();
        budget.charge(address("192.0.2.4")).unwrap();
        assert!(budget.charge(address("192.0.2.5")).is_err());
        // Another network has a bucket of its own, until twice the cap: then all share one.
        budget.charge(address("198.51.100.1")).unwrap();
        budget.charge(address("203.0.113.1")).unwrap();
        budget.charge(address("203.0.113.1")).unwrap();
        assert!(budget.charge(address("100.64.0.1")).is_err());
        assert!(budget.limiter.len() <= 5);
        // Once the buckets are full again, the addresses are forgotten and room is made.
        clock.advance(Duration::from_secs(180));
        budget.charge(address("192.0.2.6")).unwrap();
        budget.charge(address("192.0.2.6")).unwrap();
        assert!(budget.charge(address("192.0.2.6")).is_err());
        assert!(budget.limiter.len() <= 2);
    }
}
