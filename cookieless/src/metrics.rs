//! What the layer counts, through the `metrics` facade (feature `metrics`), for whatever exporter
//! the application installs. Without the feature every count is a no-op.
//!
//! Labels name the store (its type) and an outcome, never a token, a principal or an address.
//! The metrics and their labels are listed in the crate's README ("Metrics").

use std::time::Instant;

/// Why a session ended.
#[derive(Clone, Copy)]
pub(crate) enum Ended {
    /// Its own request destroyed or emptied it.
    Logout,
    /// Another session of its principal ended it.
    Revoked,
    /// It was found past its deadline.
    Expired,
    /// A login beyond the principal's cap ended it.
    OverCap,
}

#[derive(Clone, Copy)]
pub(crate) enum Load {
    Hit,
    Miss,
    Busy,
    /// A token a rotation retired, still in its grace window.
    Rotated,
}

#[derive(Clone, Copy)]
pub(crate) enum Save {
    Written,
    Conflict,
    Refused,
}

impl Save {
    pub(crate) fn of(saved: crate::session_store::Saved) -> Self {
        match saved {
            crate::session_store::Saved::Written => Save::Written,
            crate::session_store::Saved::Conflict => Save::Conflict,
        }
    }
}

/// The counts of one layer, labelled with its store's name.
#[derive(Clone, Copy)]
pub(crate) struct Metrics {
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    store: &'static str,
}

impl Metrics {
    /// Counts for a store of type `S`, named by the type (`RedisStore`, `Arc<SledStore>`: `SledStore`).
    pub(crate) fn for_store<S: ?Sized>() -> Self {
        let name = std::any::type_name::<S>().trim_end_matches('>');
        Metrics {
            store: name.rsplit("::").next().unwrap_or(name),
        }
    }

    pub(crate) fn created(&self) {
        self.count("cookieless_sessions_created_total", None);
    }

    pub(crate) fn rotated(&self) {
        self.count("cookieless_sessions_rotated_total", None);
    }

    pub(crate) fn ended(&self, reason: Ended, how_many: u64) {
        let reason = match reason {
            Ended::Logout => "logout",
            Ended::Revoked => "revoked",
            Ended::Expired => "expired",
            Ended::OverCap => "over_cap",
        };
        self.add(
            "cookieless_sessions_ended_total",
            Some(("reason", reason)),
            how_many,
        );
    }

    pub(crate) fn loaded(&self, outcome: Load) {
        let outcome = match outcome {
            Load::Hit => "hit",
            Load::Miss => "miss",
            Load::Busy => "busy",
            Load::Rotated => "rotated",
        };
        self.count("cookieless_loads_total", Some(("outcome", outcome)));
    }

    pub(crate) fn saved(&self, outcome: Save) {
        let outcome = match outcome {
            Save::Written => "written",
            Save::Conflict => "conflict",
            Save::Refused => "refused",
        };
        self.count("cookieless_saves_total", Some(("outcome", outcome)));
    }

    /// Records how long a store call begun at `started` took.
    pub(crate) fn store_call(&self, call: &'static str, started: Instant) {
        #[cfg(feature = "metrics")]
        ::metrics::histogram!("cookieless_store_call_seconds", "store" => self.store, "call" => call)
            .record(started.elapsed().as_secs_f64());
        #[cfg(not(feature = "metrics"))]
        let _ = (call, started);
    }

    fn count(&self, name: &'static str, label: Option<(&'static str, &'static str)>) {
        self.add(name, label, 1);
    }

    fn add(&self, name: &'static str, label: Option<(&'static str, &'static str)>, by: u64) {
        #[cfg(feature = "metrics")]
        match label {
            Some((key, value)) => {
                ::metrics::counter!(name, "store" => self.store, key => value).increment(by)
            }
            None => ::metrics::counter!(name, "store" => self.store).increment(by),
        }
        #[cfg(not(feature = "metrics"))]
        let _ = (name, label, by);
    }
}

/// Counts a wait for another request's lease, for a store that keeps leases.
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) fn lease_waited(store: &'static str) {
    #[cfg(feature = "metrics")]
    ::metrics::counter!("cookieless_lease_waits_total", "store" => store).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = store;
}
