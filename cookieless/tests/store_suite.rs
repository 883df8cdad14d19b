//! The contract of `SessionStore`, `cookieless::store::store_suite`, run against every store: once per
//! check, so that a failure names the check and the store, and once whole, as a store's author
//! would run it.

mod common;

use common::Fixture;
use cookieless::store::store_suite;

for_each_store!(
    a_missing_session_loads_as_none,
    every_field_of_a_record_comes_back,
    saves_are_conditional_on_the_version,
    delete_removes_and_tolerates_missing_sessions,
    delete_expired_removes_exactly_the_expired,
    sessions_are_listed_by_principal,
    the_principal_index_follows_changes_deletes_and_expiry,
    leases_are_exclusive_fenced_and_released_by_saves,
);

async fn a_missing_session_loads_as_none(fixture: Fixture) {
    store_suite::a_missing_session_loads_as_none(&*fixture.store).await
}

async fn every_field_of_a_record_comes_back(fixture: Fixture) {
    store_suite::every_field_of_a_record_comes_back(&*fixture.store).await
}

async fn saves_are_conditional_on_the_version(fixture: Fixture) {
    store_suite::saves_are_conditional_on_the_version(&*fixture.store).await
}

async fn delete_removes_and_tolerates_missing_sessions(fixture: Fixture) {
    store_suite::delete_removes_and_tolerates_missing_sessions(&*fixture.store).await
}

async fn delete_expired_removes_exactly_the_expired(fixture: Fixture) {
    store_suite::delete_expired_removes_exactly_the_expired(&*fixture.store).await
}

async fn sessions_are_listed_by_principal(fixture: Fixture) {
    store_suite::sessions_are_listed_by_principal(&*fixture.store).await
}

async fn the_principal_index_follows_changes_deletes_and_expiry(fixture: Fixture) {
    store_suite::the_principal_index_follows_changes_deletes_and_expiry(&*fixture.store).await
}

async fn leases_are_exclusive_fenced_and_released_by_saves(fixture: Fixture) {
    store_suite::leases_are_exclusive_fenced_and_released_by_saves(&*fixture.store).await
}

#[tokio::test]
async fn the_whole_suite_runs_on_fresh_stores() {
    store_suite::run(|| async { cookieless::MemoryStore::new() }).await
}
