//! The contract of `SessionStore`, run against every store.

mod common;

use common::{record, Fixture};
use cookieless::{Record, Saved, SessionStore, Token};

fn owned_by(principal: &str, version: u64, expires: u64) -> Record {
    Record {
        principal: Some(principal.into()),
        user_agent: Some("test".into()),
        ..record(version, expires, 0)
    }
}

for_each_store!(
    a_missing_session_loads_as_none,
    saves_are_conditional_on_the_version,
    delete_removes_and_tolerates_missing_sessions,
    delete_expired_removes_exactly_the_expired,
    sessions_are_listed_by_principal,
    the_principal_index_follows_changes_deletes_and_expiry,
);

async fn a_missing_session_loads_as_none(fixture: Fixture) {
    let store = fixture.store;
    assert!(store
        .load(&Token::generate().key())
        .await
        .unwrap()
        .is_none());
}

async fn saves_are_conditional_on_the_version(fixture: Fixture) {
    let store = fixture.store;
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

async fn delete_removes_and_tolerates_missing_sessions(fixture: Fixture) {
    let store = fixture.store;
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

/// Stores with an expiry of their own (Redis) may have removed the expired records before the
/// call; what matters is which records are left.
async fn delete_expired_removes_exactly_the_expired(fixture: Fixture) {
    let store = fixture.store;
    let now = cookieless::now_millis();
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

async fn sessions_are_listed_by_principal(fixture: Fixture) {
    let store = fixture.store;
    let now = cookieless::now_millis();
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

async fn the_principal_index_follows_changes_deletes_and_expiry(fixture: Fixture) {
    let store = fixture.store;
    let now = cookieless::now_millis();
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

    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let later = cookieless::now_millis();
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
