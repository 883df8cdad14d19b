//! Carrying out a [`Decision`] against the store: the conditional write, and its replay onto a
//! record that another process wrote meanwhile.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use compact_str::CompactString;

use crate::config::LayerConfig;
use crate::data::Data;
use crate::decide::{Decision, Outcome};
use crate::error::SessionError;
use crate::expiry::Millis;
use crate::metrics::{Ended, Save};
use crate::new_sessions::Charge;
use crate::record::Record;
use crate::session_store::{LeaseId, Leased, Saved, StoreError};
use crate::state::{SessionState, Stored};
use crate::token::{SessionKey, Token};

/// Times a change is replayed onto a record another process wrote meanwhile before giving up.
const SAVE_ATTEMPTS: usize = 4;

/// What a request that begins a session ([`Decision::Create`]) brings to it.
#[derive(Default)]
pub(crate) struct Newcomer {
    /// The request's `User-Agent`, recorded with the session.
    pub(crate) user_agent: Option<Arc<str>>,
    /// Whether the request has paid for a brand-new session yet.
    pub(crate) charge: Charge,
}

/// Writes what `decision` asks for, returning what the response tells the client. A decision
/// that needs no store ([`Decision::Nothing`], [`Decision::Refuse`]) is answered as decided.
pub(crate) async fn commit(
    config: &LayerConfig,
    state: SessionState,
    decision: Decision,
    newcomer: Newcomer,
) -> Result<Outcome, SessionError> {
    match (decision, state.stored()) {
        (Decision::Nothing(outcome), _) => Ok(outcome),
        (Decision::Refuse(outcome), _) => {
            config.metrics.saved(Save::Refused);
            Ok(outcome)
        }
        (Decision::Create, _) => create(config, &state, newcomer).await,
        (Decision::Delete, Some(stored)) => {
            let started = Instant::now();
            config.store.delete(&stored.key).await?;
            config.metrics.store_call("delete", started);
            state.lease_released();
            config.metrics.ended(Ended::Logout, 1);
            Ok(Outcome::Clear)
        }
        (Decision::Touch, Some(stored)) => Ok(touch(config, &state, stored).await),
        (Decision::Update, Some(stored)) => update(config, &state, stored).await,
        // `decide` asks for these only of a stored session; without one there is nothing to
        // write back, and no token worth keeping.
        (Decision::Delete | Decision::Touch | Decision::Update, None) => Ok(Outcome::Clear),
    }
}

/// Stores the session under a new token, begun by the browser making this request, and ends the
/// session it replaces.
async fn create(
    config: &LayerConfig,
    state: &SessionState,
    newcomer: Newcomer,
) -> Result<Outcome, SessionError> {
    if let (None, Some(budget), Charge::Due(client)) =
        (state.stored(), &config.new_sessions, newcomer.charge)
    {
        budget.charge(client)?;
    }
    // No size check here: `insert` refuses any value that would pass the cap, and a session
    // read back unchanged must stay readable even if the cap was lowered since it was written.
    let token = Token::generate();
    let now = config.clock.now();
    let identity = Identity {
        principal: state.principal().cloned(),
        user_agent: newcomer.user_agent,
        authenticated_at: state.authenticated_at(),
    };
    let record = new_record(config, 1, now, now, state.data().clone(), identity);
    let started = Instant::now();
    let saved = config.store.save(&token.key(), &record, None).await?;
    config.metrics.store_call("save", started);
    if saved == Saved::Conflict {
        config.metrics.saved(Save::Conflict);
        return Err(SessionError::Contention);
    }
    config.metrics.saved(Save::Written);
    match state.stored() {
        Some(previous) => {
            if end_replaced(config, state, previous).await? == Saved::Conflict {
                // Another request took the session after this one's lease ran out, or ended it:
                // the rotation must neither drop what that request wrote nor bring back an
                // ended session.
                config.store.delete(&token.key()).await?;
                return match config.store.load(&previous.key).await? {
                    None => Ok(Outcome::Clear),
                    Some(latest) if latest.is_expired(now) => Ok(Outcome::Clear),
                    // Rotated by another request meanwhile: this rotation is undone, and the
                    // client may send it again with the token that request's answer brings.
                    Some(_) => Err(SessionError::Contention),
                };
            }
            config.metrics.rotated();
        }
        None => config.metrics.created(),
    }
    end_sessions_over_cap(config, state, &token.key()).await;
    Ok(Outcome::Set(token, record.expires))
}

/// Ends the session a rotation replaces: under the request's lease if it holds one, only if
/// nobody wrote it or took the lease since it was read. A rotation leaves a tombstone under the
/// old token for the grace window, so that requests sent with it meanwhile are told to retry
/// (`409`) rather than losing their writes; a logout (`destroy`) leaves nothing.
async fn end_replaced(
    config: &LayerConfig,
    state: &SessionState,
    previous: &Stored,
) -> Result<Saved, StoreError> {
    let grace = config.expiry.rotation_grace;
    let tombstone = (!state.destroyed() && !grace.is_zero()).then(|| {
        let now = config.clock.now();
        let expires = now.saturating_add(u64::try_from(grace.as_millis()).unwrap_or(u64::MAX));
        Record::tombstone(previous.version + 1, now, expires)
    });
    let (key, version) = (&previous.key, previous.version);
    let ended = match (config.store.leases(), &tombstone) {
        (Some(leases), tombstone) => {
            // Without a lease of its own (leases turned off), under an id nobody holds: still
            // only at the version read, and never while another request holds the session.
            let lease = state.lease().unwrap_or_else(LeaseId::generate);
            match tombstone {
                Some(tombstone) => {
                    leases
                        .save_leased(key, tombstone, Some(version), lease)
                        .await?
                }
                None => leases.delete_leased(key, version, lease).await?,
            }
        }
        (None, Some(tombstone)) => config.store.save(key, tombstone, Some(version)).await?,
        (None, None) => {
            config.store.delete(key).await?;
            Saved::Written
        }
    };
    if ended == Saved::Written {
        state.lease_released();
    }
    Ok(ended)
}

/// When the request bound the session to a principal, ends that principal's least recently used
/// sessions beyond the layer's cap, never `current`.
async fn end_sessions_over_cap(config: &LayerConfig, state: &SessionState, current: &SessionKey) {
    let (Some(max), Some(principal), true) = (
        config.max_sessions_per_principal,
        state.principal(),
        state.principal_changed(),
    ) else {
        return;
    };
    let ended = async {
        let mut sessions = config
            .store
            .principal_sessions(principal, config.clock.now())
            .await?;
        sessions.retain(|(key, _)| key != current);
        // Room for `current` as well.
        let excess = (sessions.len() + 1).saturating_sub(max);
        sessions.sort_by_key(|(_, record)| record.last_seen);
        for (key, _) in &sessions[..excess] {
            config.store.delete(key).await?;
            config.metrics.ended(Ended::OverCap, 1);
        }
        Ok::<usize, StoreError>(excess)
    }
    .await;
    match ended {
        Ok(0) => {}
        Ok(ended) => tracing::info!(
            event = "sessions_over_cap_ended",
            principal = %principal,
            ended,
            "a login ended the principal's least recently used sessions"
        ),
        // The login itself succeeded; the next one tries again.
        Err(error) => tracing::warn!(%error, "could not end sessions over the principal's cap"),
    }
}

/// Writes back when an unchanged session was last used.
async fn touch(config: &LayerConfig, state: &SessionState, stored: &Stored) -> Outcome {
    let record = new_record(
        config,
        stored.version + 1,
        stored.created,
        stored.read_at,
        state.data().clone(),
        Identity::of(state),
    );
    // A lost refresh only shortens the idle deadline by the touch interval, so a failure here
    // must not fail a request that read its session successfully.
    match save_under_lease(config, state, &stored.key, &record, stored.version).await {
        Ok(Saved::Written) => Outcome::Set(stored.token.clone(), record.expires),
        // Another request holds or wrote the session; the deadline as read still stands.
        Ok(Saved::Conflict) => Outcome::Set(stored.token.clone(), stored.expires),
        Err(error) => {
            tracing::warn!(%error, "could not refresh a session's last use");
            Outcome::Set(stored.token.clone(), stored.expires)
        }
    }
}

/// Writes the request's changes back under the session's own token; if another process wrote
/// the session since it was read, replays them key by key onto what it wrote.
async fn update(
    config: &LayerConfig,
    state: &SessionState,
    stored: &Stored,
) -> Result<Outcome, SessionError> {
    let (key, now) = (&stored.key, stored.read_at);
    let limit = config.max_size;
    let (mut version, mut created, mut data, mut identity) = (
        stored.version,
        stored.created,
        state.data().clone(),
        Identity::of(state),
    );
    for _ in 0..SAVE_ATTEMPTS {
        let record = new_record(config, version + 1, created, now, data, identity.clone());
        if save_under_lease(config, state, key, &record, version).await? == Saved::Written {
            end_sessions_over_cap(config, state, key).await;
            return Ok(Outcome::Set(stored.token.clone(), record.expires));
        }
        // Another request wrote or ended the session since it was read: one on an instance that
        // takes no leases, or one that took the session after this request's lease ran out. The
        // conditional write is the safety net: read the session again (under the lease again,
        // so that nobody else writes in between) and replay this request's changes onto it.
        let latest = reload(config, state, key).await?;
        let Some(latest) = latest.filter(|latest| !latest.is_expired(now)) else {
            // It was ended elsewhere: an ended session stays ended.
            return Ok(Outcome::Clear);
        };
        if latest.rotated {
            // Another request of this client moved the session to a new token, which its own
            // answer brings; this request cannot follow it there (a tombstone never leads to the
            // new token), and a tombstone never comes back to life as a session. Its changes
            // are dropped, and the client keeps what it holds.
            tracing::warn!(
                event = "changes_dropped",
                "a request's session changes were dropped: another request rotated the session meanwhile"
            );
            return Ok(Outcome::Leave);
        }
        data = Arc::new(replay(
            state.data(),
            state.changed(),
            Arc::unwrap_or_clone(latest.data),
        ));
        if Record::data_size(&data) > limit {
            return Err(SessionError::TooLarge { limit });
        }
        // A proof belongs with the principal it was made for: whichever side's principal is
        // kept brings its proof, unless this request renewed the proof for its own principal.
        let principal_moved = !state.principal_changed() && latest.principal != identity.principal;
        if !state.principal_changed() {
            identity.principal = latest.principal;
        }
        if !state.authentication_changed() || principal_moved {
            identity.authenticated_at = latest.authenticated_at;
        }
        identity.user_agent = latest.user_agent;
        (version, created) = (latest.version, latest.created);
    }
    Err(SessionError::Contention)
}

/// Reads the session again after a refused save, taking the request's lease again if it had one.
async fn reload(
    config: &LayerConfig,
    state: &SessionState,
    key: &SessionKey,
) -> Result<Option<Record>, SessionError> {
    let (Some(id), Some((leases, wait))) = (state.lease_id(), config.leases()) else {
        return Ok(config.store.load(key).await?);
    };
    match leases.load_leased(key, id, wait).await? {
        Leased::Granted(record) => {
            if record.is_some() {
                state.lease_reacquired();
            }
            Ok(record)
        }
        Leased::Busy { retry_after } => Err(SessionError::Busy { retry_after }),
    }
}

/// Writes `record` over version `expected`, with the release of the request's lease if it holds
/// one.
async fn save_under_lease(
    config: &LayerConfig,
    state: &SessionState,
    key: &SessionKey,
    record: &Record,
    expected: u64,
) -> Result<Saved, StoreError> {
    let started = Instant::now();
    let saved = match config.store.leases() {
        Some(leases) => {
            // Holding no lease (a request that never used its session, or leases turned off):
            // a holder id nobody has, so that the write is refused while any request holds the
            // session, and releases nothing.
            let lease = state.lease().unwrap_or_else(LeaseId::generate);
            let saved = leases
                .save_leased(key, record, Some(expected), lease)
                .await?;
            if saved == Saved::Written {
                state.lease_released();
            }
            saved
        }
        None => config.store.save(key, record, Some(expected)).await?,
    };
    config.metrics.store_call("save", started);
    config.metrics.saved(Save::of(saved));
    Ok(saved)
}

/// This request's changes, key by key, on top of a newer record.
fn replay(ours: &Data, changed: &BTreeSet<CompactString>, mut latest: Data) -> Data {
    for key in changed {
        match ours.get(key) {
            Some(value) => latest.insert(key, value.clone()),
            None => latest.remove(key),
        };
    }
    latest
}

/// Who a session belongs to and what began it: kept with the record, outside its data.
#[derive(Clone)]
struct Identity {
    principal: Option<Arc<str>>,
    user_agent: Option<Arc<str>>,
    authenticated_at: Option<Millis>,
}

impl Identity {
    /// The identity of the session as the request left it.
    fn of(state: &SessionState) -> Self {
        Identity {
            principal: state.principal().cloned(),
            user_agent: state.user_agent().cloned(),
            authenticated_at: state.authenticated_at(),
        }
    }
}

fn new_record(
    config: &LayerConfig,
    version: u64,
    created: Millis,
    now: Millis,
    data: Arc<Data>,
    identity: Identity,
) -> Record {
    Record {
        version,
        created,
        last_seen: now,
        expires: config
            .expiry
            .deadline(created, now, identity.principal.is_some()),
        data,
        principal: identity.principal,
        user_agent: identity.user_agent,
        rotated: false,
        authenticated_at: identity.authenticated_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_applies_inserts_and_removals_over_newer_data() {
        let ours: Data = [("a", serde_json::json!(1))].into_iter().collect();
        let changed = ["a".into(), "b".into()].into();
        let latest: Data = [("b", serde_json::json!(2)), ("c", serde_json::json!(3))]
            .into_iter()
            .collect();
        let merged = replay(&ours, &changed, latest);
        assert_eq!(merged.get("a"), Some(&serde_json::json!(1)));
        assert_eq!(merged.get("b"), None);
        assert_eq!(merged.get("c"), Some(&serde_json::json!(3)));
    }
}
