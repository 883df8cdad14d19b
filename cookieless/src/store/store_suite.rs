//! The contract of [`SessionStore`] as checks that any store can run: the tests this crate runs
//! against its own stores, for testing a store of your own the same way (feature `test-util`).
//!
//! [`run`] runs every check, each on a fresh store from the closure it is given, and panics at the
//! first broken promise; the panic's message says what was expected, and the check's name is
//! printed after it. Each check is also public, so that a test per check names the broken one
//! in the test report:
//!
//! ```
//! use cookieless::store::store_suite;
//! use cookieless::MemoryStore;
//!
//! // In a test: `#[tokio::test] async fn my_store_keeps_the_contract()`.
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! store_suite::run(|| async { MemoryStore::new() }).await;
//!
//! // Or one check at a time.
//! store_suite::saves_are_conditional_on_the_version(&MemoryStore::new()).await;
//! # }
//! ```
//!
//! A store shared with other tests (a database server, say) should give each fresh store a
//! namespace of its own, such as a key prefix: the checks count what they find, and
//! [`delete_expired_removes_exactly_the_expired`] sweeps everything expired. The checks take a
//! few hundred milliseconds of real time, since one waits for sessions to expire, and need a
//! Tokio runtime with the time driver, as the crate's stores do.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::data::Data;
use crate::expiry::now_millis;
use crate::record::Record;
use crate::session_store::{LeaseId, Leased, Saved, SessionStore};
use crate::token::Token;

/// Runs every check of the suite, each on a store of its own made by `make`.
pub async fn run<S, F, Fut>(make: F)
where
    S: SessionStore,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    // Each name is made from its call, so that the two cannot drift apart.
    macro_rules! each_on_a_fresh_store {
        ($($check:ident),*) => {
            $(named(stringify!($check), $check(&make().await)).await;)*
        };
    }
    each_on_a_fresh_store!(
        a_missing_session_loads_as_none,
        every_field_of_a_record_comes_back,
        saves_are_conditional_on_the_version,
        delete_removes_and_tolerates_missing_sessions,
        delete_expired_removes_exactly_the_expired,
        sessions_are_listed_by_principal,
        the_principal_index_follows_changes_deletes_and_expiry,
        leases_are_exclusive_fenced_and_released_by_saves
    );
}

async fn named(name: &'static str, check: impl Future<Output = ()>) {
    let _failing = NameOnPanic(name);
    check.await
}

/// Prints the check's name if it panics: the panic's own location is in this module, the same for
/// every check.
struct NameOnPanic(&'static str);

impl Drop for NameOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("the store suite's check `{}` failed", self.0);
        }
    }
}

/// A session at `version`, holding `counter`, that expires at `expires`.
fn record(version: u64, expires: u64, counter: u64) -> Record {
    let data: Data = [("counter", json!(counter))].into_iter().collect();
    Record {
        version,
        created: 1,
        last_seen: 1,
        expires,
        data: Arc::new(data),
        principal: None,
        user_agent: None,
        rotated: false,
        authenticated_at: None,
    }
}

fn owned_by(principal: &str, version: u64, expires: u64) -> Record {
    Record {
        principal: Some(principal.into()),
        user_agent: Some("test".into()),
        rotated: false,
        authenticated_at: None,
        ..record(version, expires, 0)
    }
}

/// A key never saved loads as `None`, not as an error.
pub async fn a_missing_session_loads_as_none<S: SessionStore + ?Sized>(store: &S) {
    assert!(store
        .load(&Token::generate().key())
        .await
        .unwrap()
        .is_none());
}

/// A record loads back as it was saved, every field included: a tombstone must load as one (or
/// its retired token would pass for an empty live session), and a proof of who the user is must
/// keep its moment (or sensitive actions would ask again, or not at all).
pub async fn every_field_of_a_record_comes_back<S: SessionStore + ?Sized>(store: &S) {
    let key = Token::generate().key();
    let session = Record {
        created: 1_000,
        last_seen: 2_000,
        authenticated_at: Some(1_500),
        ..owned_by("ada", 1, u64::MAX)
    };
    assert_eq!(
        store.save(&key, &session, None).await.unwrap(),
        Saved::Written
    );
    assert_eq!(store.load(&key).await.unwrap(), Some(session));

    let tombstone = Record::tombstone(2, 3_000, u64::MAX);
    assert_eq!(
        store.save(&key, &tombstone, Some(1)).await.unwrap(),
        Saved::Written
    );
    assert_eq!(store.load(&key).await.unwrap(), Some(tombstone));
}

/// `save` writes only over the expected version (`None`: only where nothing is stored), and a
/// refused write changes nothing.
pub async fn saves_are_conditional_on_the_version<S: SessionStore + ?Sized>(store: &S) {
    let key = Token::generate().key();
    assert_eq!(
        store
            .save(&key, &record(1, u64::MAX, 1), Some(0))
            .await
            .unwrap(),
        Saved::Conflict
    );
    assert_eq!(
        store
            .save(&key, &record(1, u64::MAX, 1), None)
            .await
            .unwrap(),
        Saved::Written
    );
    assert_eq!(
        store
            .save(&key, &record(1, u64::MAX, 9), None)
            .await
            .unwrap(),
        Saved::Conflict
    );
    assert_eq!(
        store.load(&key).await.unwrap(),
        Some(record(1, u64::MAX, 1))
    );
    assert_eq!(
        store
            .save(&key, &record(2, u64::MAX, 2), Some(1))
            .await
            .unwrap(),
        Saved::Written
    );
    assert_eq!(
        store
            .save(&key, &record(3, u64::MAX, 9), Some(1))
            .await
            .unwrap(),
        Saved::Conflict
    );
    assert_eq!(
        store.load(&key).await.unwrap(),
        Some(record(2, u64::MAX, 2))
    );
}

/// `delete` removes a session, deleting a missing one is no error, and a deleted key can be
/// written again as new.
pub async fn delete_removes_and_tolerates_missing_sessions<S: SessionStore + ?Sized>(store: &S) {
    let key = Token::generate().key();
    store
        .save(&key, &record(1, u64::MAX, 1), None)
        .await
        .unwrap();
    store.delete(&key).await.unwrap();
    assert!(store.load(&key).await.unwrap().is_none());
    store.delete(&key).await.unwrap();
    assert_eq!(
        store
            .save(&key, &record(1, u64::MAX, 1), None)
            .await
            .unwrap(),
        Saved::Written
    );
}

/// `delete_expired` removes the expired sessions and only them.
///
/// Stores with an expiry of their own (Redis) may have removed the expired records before the
/// call; what matters is which records are left.
pub async fn delete_expired_removes_exactly_the_expired<S: SessionStore + ?Sized>(store: &S) {
    let now = now_millis();
    let keys: Vec<_> = (0..6).map(|_| Token::generate().key()).collect();
    for (i, key) in keys.iter().enumerate() {
        let expires = if i < 3 { now - 1_000 } else { now + 60_000 };
        store.save(key, &record(1, expires, 0), None).await.unwrap();
    }
    let removed = store.delete_expired(now).await.unwrap();
    assert!(removed <= 3, "removed {removed} of 3 expired sessions");
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(
            store.load(key).await.unwrap().is_some(),
            i >= 3,
            "session {i}"
        );
    }
    assert_eq!(store.delete_expired(now).await.unwrap(), 0);
}

/// `principal_sessions` lists exactly the sessions bound to the principal.
pub async fn sessions_are_listed_by_principal<S: SessionStore + ?Sized>(store: &S) {
    let now = now_millis();
    let (ada_one, ada_two, grace) = (
        Token::generate().key(),
        Token::generate().key(),
        Token::generate().key(),
    );
    store
        .save(&ada_one, &owned_by("ada", 1, now + 60_000), None)
        .await
        .unwrap();
    store
        .save(&ada_two, &owned_by("ada", 1, now + 60_000), None)
        .await
        .unwrap();
    store
        .save(&grace, &owned_by("grace", 1, now + 60_000), None)
        .await
        .unwrap();
    store
        .save(&Token::generate().key(), &record(1, now + 60_000, 0), None)
        .await
        .unwrap();

    let mut listed: Vec<_> = store
        .principal_sessions("ada", now)
        .await
        .unwrap()
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    listed.sort();
    let mut expected = vec![ada_one, ada_two];
    expected.sort();
    assert_eq!(listed, expected);
    assert_eq!(
        store.principal_sessions("grace", now).await.unwrap().len(),
        1
    );
    assert!(store
        .principal_sessions("nobody", now)
        .await
        .unwrap()
        .is_empty());
}

/// The index by principal follows a session rebound to another principal, unbound, deleted or
/// expired.
pub async fn the_principal_index_follows_changes_deletes_and_expiry<S: SessionStore + ?Sized>(
    store: &S,
) {
    let now = now_millis();
    let (moved, deleted, expiring) = (
        Token::generate().key(),
        Token::generate().key(),
        Token::generate().key(),
    );
    store
        .save(&moved, &owned_by("ada", 1, now + 60_000), None)
        .await
        .unwrap();
    store
        .save(&deleted, &owned_by("ada", 1, now + 60_000), None)
        .await
        .unwrap();
    store
        .save(&expiring, &owned_by("ada", 1, now + 300), None)
        .await
        .unwrap();
    assert_eq!(store.principal_sessions("ada", now).await.unwrap().len(), 3);

    store
        .save(&moved, &owned_by("grace", 2, now + 60_000), Some(1))
        .await
        .unwrap();
    store.delete(&deleted).await.unwrap();
    assert_eq!(store.principal_sessions("ada", now).await.unwrap().len(), 1);
    assert_eq!(
        store.principal_sessions("grace", now).await.unwrap().len(),
        1
    );

    tokio::time::sleep(Duration::from_millis(400)).await;
    let later = now_millis();
    store.delete_expired(later).await.unwrap();
    assert!(store
        .principal_sessions("ada", later)
        .await
        .unwrap()
        .is_empty());

    store
        .save(&moved, &record(3, now + 60_000, 0), Some(2))
        .await
        .unwrap();
    assert!(
        store
            .principal_sessions("grace", later)
            .await
            .unwrap()
            .is_empty(),
        "an unbound session stayed listed"
    );
}

/// For a store with leases ([`SessionStore::leases`]; others pass at once): a missing session is
/// granted without a lease; a leased session is refused to a second holder until released; a save
/// or a delete under a lease another request took over is refused and changes nothing; a save
/// under the lease releases it; a delete under it removes the session only at the version read.
pub async fn leases_are_exclusive_fenced_and_released_by_saves<S: SessionStore + ?Sized>(
    store: &S,
) {
    let Some(leases) = store.leases() else {
        return;
    };
    let key = Token::generate().key();
    let (first, second) = (LeaseId::generate(), LeaseId::generate());
    let no_wait = Duration::ZERO;
    assert!(matches!(
        leases.load_leased(&key, first, no_wait).await.unwrap(),
        Leased::Granted(None)
    ));
    store
        .save(&key, &record(1, u64::MAX, 1), None)
        .await
        .unwrap();

    let granted = leases.load_leased(&key, first, no_wait).await.unwrap();
    assert!(matches!(granted, Leased::Granted(Some(ref r)) if *r == record(1, u64::MAX, 1)));
    assert!(
        matches!(
            leases.load_leased(&key, second, no_wait).await.unwrap(),
            Leased::Busy { retry_after } if retry_after > Duration::ZERO
        ),
        "a second holder got a leased session"
    );
    leases.release(&key, first).await.unwrap();
    assert!(matches!(
        leases.load_leased(&key, second, no_wait).await.unwrap(),
        Leased::Granted(Some(_))
    ));

    // `first` lost the lease to `second`: neither its save nor its delete may land.
    assert_eq!(
        leases
            .save_leased(&key, &record(2, u64::MAX, 7), Some(1), first)
            .await
            .unwrap(),
        Saved::Conflict
    );
    assert_eq!(
        leases.delete_leased(&key, 1, first).await.unwrap(),
        Saved::Conflict
    );
    assert!(store.load(&key).await.unwrap().is_some());
    leases.release(&key, first).await.unwrap();
    assert_eq!(
        leases
            .save_leased(&key, &record(2, u64::MAX, 2), Some(1), second)
            .await
            .unwrap(),
        Saved::Written
    );
    assert_eq!(
        store.load(&key).await.unwrap(),
        Some(record(2, u64::MAX, 2))
    );
    assert!(
        matches!(
            leases.load_leased(&key, first, no_wait).await.unwrap(),
            Leased::Granted(Some(_))
        ),
        "the save did not release the lease"
    );
    assert_eq!(
        leases.delete_leased(&key, 1, first).await.unwrap(),
        Saved::Conflict,
        "a delete at a stale version removed the session"
    );
    assert_eq!(
        leases.delete_leased(&key, 2, first).await.unwrap(),
        Saved::Written
    );
    assert!(store.load(&key).await.unwrap().is_none());
    assert!(matches!(
        leases.load_leased(&key, second, no_wait).await.unwrap(),
        Leased::Granted(None)
    ));
    assert_eq!(
        leases.delete_leased(&key, 2, second).await.unwrap(),
        Saved::Conflict,
        "a missing session counts as changed"
    );
}
