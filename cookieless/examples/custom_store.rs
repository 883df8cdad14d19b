//! A session store of your own: the `SessionStore` trait implemented over a map, served, and
//! checked against the contract tests that the crate's own stores pass.
//!
//! The store keeps records as it is given them; the layer decides what is expired or too large.
//! What a store must do is small: load, save only if the stored version is the expected one,
//! delete, sweep the expired, and list a principal's sessions through an index of its own.
//!
//! ```sh
//! cargo run -p cookieless --example custom_store
//! cargo test -p cookieless --example custom_store --features test-util   # the contract tests
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use axum::extract::Request;
use axum::routing::post;
use axum::{Router, ServiceExt};
use cookieless::store::{Millis, Record, Saved, SessionKey, SessionStore, StoreError};
use cookieless::{Session, SessionError, SessionLayer};
use tower::Layer;

/// Sessions in a sorted map, with an index of principal and session key beside it.
#[derive(Default)]
struct MapStore {
    maps: Mutex<Maps>,
}

#[derive(Default)]
struct Maps {
    records: BTreeMap<SessionKey, Record>,
    by_principal: BTreeSet<(Arc<str>, SessionKey)>,
}

impl Maps {
    fn remove(&mut self, key: &SessionKey) {
        if let Some(principal) = self.records.remove(key).and_then(|record| record.principal) {
            self.by_principal.remove(&(principal, *key));
        }
    }
}

impl MapStore {
    fn maps(&self) -> MutexGuard<'_, Maps> {
        // A panic elsewhere cannot leave the maps half-changed: every change is one call.
        self.maps
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl SessionStore for MapStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<Record>, StoreError> {
        Ok(self.maps().records.get(key).cloned())
    }

    async fn save(
        &self,
        key: &SessionKey,
        record: &Record,
        expected: Option<u64>,
    ) -> Result<Saved, StoreError> {
        let mut maps = self.maps();
        if maps.records.get(key).map(|stored| stored.version) != expected {
            return Ok(Saved::Conflict);
        }
        maps.remove(key);
        if let Some(principal) = &record.principal {
            maps.by_principal.insert((principal.clone(), *key));
        }
        maps.records.insert(*key, record.clone());
        Ok(Saved::Written)
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.maps().remove(key);
        Ok(())
    }

    async fn delete_expired(&self, now: Millis) -> Result<u64, StoreError> {
        let mut maps = self.maps();
        let expired: Vec<SessionKey> = maps
            .records
            .iter()
            .filter(|(_, record)| record.is_expired(now))
            .map(|(key, _)| *key)
            .collect();
        for key in &expired {
            maps.remove(key);
        }
        Ok(expired.len() as u64)
    }

    async fn principal_sessions(
        &self,
        principal: &str,
        now: Millis,
    ) -> Result<Vec<(SessionKey, Record)>, StoreError> {
        let maps = self.maps();
        Ok(maps
            .by_principal
            .iter()
            .filter(|(owner, _)| &**owner == principal)
            .filter_map(|(_, key)| Some((*key, maps.records.get(key)?.clone())))
            .filter(|(_, record)| !record.is_expired(now))
            .collect())
    }
}

async fn increment(session: Session) -> Result<String, SessionError> {
    let count: u64 = session.get("count").await?.unwrap_or(0) + 1;
    session.insert("count", count).await?;
    Ok(count.to_string())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let routes = Router::new().route("/count", post(increment));
    let app = SessionLayer::new(MapStore::default()).layer(routes);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("counting on http://{}/count", listener.local_addr()?);
    axum::serve(listener, ServiceExt::<Request>::into_make_service(app)).await
}

#[cfg(all(test, feature = "test-util"))]
mod tests {
    use cookieless::store::store_suite;

    use super::MapStore;

    #[tokio::test]
    async fn the_map_store_keeps_the_store_contract() {
        store_suite::run(|| async { MapStore::default() }).await;
    }
}
