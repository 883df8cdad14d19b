//! What the sled store promises beyond the store contract: the records it keeps decoded in
//! memory never outlive a change made through any store over the same database.
#![cfg(feature = "sled")]

mod common;

use common::record;
use cookieless::store::{Saved, SessionKey, SessionStore, Token};
use cookieless::SledStore;

async fn version(store: &SledStore, key: &SessionKey) -> Option<u64> {
    store.load(key).await.unwrap().map(|record| record.version)
}

#[tokio::test]
async fn stores_over_one_database_see_each_others_changes() {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path()).unwrap();
    let (first, second) = (SledStore::new(&db).unwrap(), SledStore::new(&db).unwrap());
    let key = Token::generate().key();

    assert_eq!(
        first
            .save(&key, &record(1, u64::MAX, 1), None)
            .await
            .unwrap(),
        Saved::Written
    );
    assert_eq!(version(&first, &key).await, Some(1));
    assert_eq!(version(&second, &key).await, Some(1));

    assert_eq!(
        second
            .save(&key, &record(2, u64::MAX, 2), Some(1))
            .await
            .unwrap(),
        Saved::Written
    );
    assert_eq!(version(&first, &key).await, Some(2));

    second.delete(&key).await.unwrap();
    assert_eq!(version(&first, &key).await, None);
}

#[tokio::test]
async fn a_swept_session_is_gone_from_every_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path()).unwrap();
    let (first, second) = (SledStore::new(&db).unwrap(), SledStore::new(&db).unwrap());
    let (expired, live) = (Token::generate().key(), Token::generate().key());
    first.save(&expired, &record(1, 10, 1), None).await.unwrap();
    first
        .save(&live, &record(1, u64::MAX, 1), None)
        .await
        .unwrap();
    assert_eq!(version(&first, &expired).await, Some(1));

    assert_eq!(second.delete_expired(20).await.unwrap(), 1);
    assert_eq!(version(&first, &expired).await, None);
    assert_eq!(version(&first, &live).await, Some(1));
}

#[tokio::test]
async fn sessions_outlive_the_process_that_cached_them() {
    let dir = tempfile::tempdir().unwrap();
    let key = Token::generate().key();
    {
        let db = sled::open(dir.path()).unwrap();
        let store = SledStore::with_cache_capacity(&db, 10).unwrap();
        store
            .save(&key, &record(1, u64::MAX, 1), None)
            .await
            .unwrap();
        store
            .save(&key, &record(2, u64::MAX, 2), Some(1))
            .await
            .unwrap();
    }
    let db = reopen(dir.path()).await;
    let store = SledStore::new(&db).unwrap();
    assert_eq!(version(&store, &key).await, Some(2));
}

/// Opens the database once the last store's flush task, which ends soon after the store is
/// dropped, has let go of it.
async fn reopen(path: &std::path::Path) -> sled::Db {
    for _ in 0..200 {
        if let Ok(db) = sled::open(path) {
            return db;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the database stayed locked after its stores were dropped");
}

/// A store made outside any runtime works in one, and keeps working in the next runtime after the
/// first has shut down (its flush task is started again), as stores shared by tests do.
#[test]
fn a_store_made_outside_a_runtime_outlives_the_runtimes_that_use_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path()).unwrap();
    let store = SledStore::new(&db).unwrap();
    let key = Token::generate().key();
    for (version, expected) in [(1, None), (2, Some(1))] {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let saved = runtime.block_on(store.save(&key, &record(version, u64::MAX, 1), expected));
        assert_eq!(saved.unwrap(), Saved::Written, "in runtime {version}");
    }
}

#[tokio::test]
async fn below_the_free_space_floor_writes_are_refused_and_reads_go_on() {
    use cookieless::store::StoreError;

    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path()).unwrap();
    let roomy = SledStore::new(&db)
        .unwrap()
        .with_free_space_floor(dir.path(), 0);
    let key = Token::generate().key();
    roomy
        .save(&key, &record(1, u64::MAX, 1), None)
        .await
        .unwrap();

    // No disk has this much free: every write is refused before sled is touched.
    let full = SledStore::new(&db)
        .unwrap()
        .with_free_space_floor(dir.path(), u64::MAX);
    let refused = full.save(&key, &record(2, u64::MAX, 2), Some(1)).await;
    assert!(
        matches!(
            refused,
            Err(StoreError::DiskFull {
                floor: u64::MAX,
                ..
            })
        ),
        "{refused:?}"
    );
    assert!(matches!(
        full.delete(&key).await,
        Err(StoreError::DiskFull { .. })
    ));
    assert!(matches!(
        full.delete_expired(u64::MAX).await,
        Err(StoreError::DiskFull { .. })
    ));
    assert!(matches!(
        full.group_flush().ensure_room(),
        Err(StoreError::DiskFull { .. })
    ));
    assert_eq!(version(&full, &key).await, Some(1));

    // And the database was never broken: writes through a store with room go on.
    roomy
        .save(&key, &record(2, u64::MAX, 2), Some(1))
        .await
        .unwrap();
    assert_eq!(version(&full, &key).await, Some(2));
}
