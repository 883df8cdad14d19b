//! What the library's integration tests share: a small app that exercises every part of the
//! protocol, and the stores to run it on.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use cookieless::{MemoryStore, Session, SessionError};
use cookieless::{
    Millis, Record, Saved, SessionKey, SessionLayer, SessionStore, SledStore, StoreError,
};
use serde_json::{json, Value};

/// A store under test, with whatever must outlive it.
pub struct Fixture {
    pub store: Arc<CountingStore>,
    pub dir: Option<tempfile::TempDir>,
}

impl Fixture {
    pub fn memory() -> Self {
        Fixture {
            store: Arc::new(CountingStore::new(Arc::new(MemoryStore::new()))),
            dir: None,
        }
    }

    pub fn sled() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let store = SledStore::new(&db).unwrap();
        Fixture {
            store: Arc::new(CountingStore::new(Arc::new(store))),
            dir: Some(dir),
        }
    }

    pub fn layer(&self) -> SessionLayer {
        SessionLayer::from_shared_store(self.store.clone())
    }
}

/// Runs each named test once per store: `for_each_store!(a, b)` makes `memory::a`, `sled::a`, ...
#[macro_export]
macro_rules! for_each_store {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                super::$case(super::common::Fixture::memory()).await
            })*
        }
        mod sled {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                super::$case(super::common::Fixture::sled()).await
            })*
        }
    };
}

/// Passes everything to a real store and counts the loads, to prove that some requests never
/// reach the store.
pub struct CountingStore {
    inner: Arc<dyn SessionStore>,
    loads: AtomicUsize,
}

impl CountingStore {
    pub fn new(inner: Arc<dyn SessionStore>) -> Self {
        CountingStore {
            inner,
            loads: AtomicUsize::new(0),
        }
    }

    pub fn loads(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl SessionStore for CountingStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<Record>, StoreError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.inner.load(key).await
    }
    async fn save(
        &self,
        key: &SessionKey,
        record: &Record,
        expected: Option<u64>,
    ) -> Result<Saved, StoreError> {
        self.inner.save(key, record, expected).await
    }
    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.inner.delete(key).await
    }
    async fn delete_expired(&self, now: Millis) -> Result<u64, StoreError> {
        self.inner.delete_expired(now).await
    }
}

async fn counter(session: Session) -> Result<Json<Value>, SessionError> {
    let value: u64 = session.get("counter").await?.unwrap_or(0);
    Ok(Json(json!({ "value": value })))
}

async fn increment(session: Session) -> Result<Json<Value>, SessionError> {
    let value: u64 = session.get("counter").await?.unwrap_or(0) + 1;
    session.insert("counter", value).await?;
    Ok(Json(json!({ "value": value })))
}

/// A read-modify-write that yields between its read and its write, so that concurrent requests
/// would lose updates if the session were not serialised.
async fn slow_increment(session: Session) -> Result<Json<Value>, SessionError> {
    let value: u64 = session.get("counter").await?.unwrap_or(0) + 1;
    tokio::time::sleep(Duration::from_millis(5)).await;
    session.insert("counter", value).await?;
    Ok(Json(json!({ "value": value })))
}

/// Sets `key` after a pause, to let another process change the session in between.
async fn set_later(session: Session, Path(key): Path<String>) -> Result<StatusCode, SessionError> {
    session.get::<Value>(&key).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    session.insert(&key, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set(session: Session, Path(key): Path<String>) -> Result<StatusCode, SessionError> {
    session.insert(&key, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn keys(session: Session) -> Result<Json<Value>, SessionError> {
    let mut present = Vec::new();
    for key in ["a", "b", "counter"] {
        if session.get::<Value>(key).await?.is_some() {
            present.push(key);
        }
    }
    Ok(Json(json!(present)))
}

async fn rotate(session: Session) -> Result<StatusCode, SessionError> {
    session.rotate().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn destroy(session: Session) -> Result<StatusCode, SessionError> {
    session.destroy().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn destroy_then_insert(session: Session) -> Result<StatusCode, SessionError> {
    session.destroy().await?;
    session.insert("counter", 100u64).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn clear(session: Session) -> Result<StatusCode, SessionError> {
    session.remove::<u64>("counter").await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn blob(session: Session, Path(size): Path<usize>) -> Result<StatusCode, SessionError> {
    session.insert("note", "small").await?;
    session.insert("blob", "x".repeat(size)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn fail(session: Session) -> Result<StatusCode, SessionError> {
    session.insert("counter", 999u64).await?;
    Ok(StatusCode::INTERNAL_SERVER_ERROR)
}

async fn untouched() -> &'static str {
    "ok"
}

/// Every route the protocol tests drive.
pub fn app(layer: SessionLayer) -> Router {
    Router::new()
        .route("/counter", get(counter).post(increment))
        .route("/slow-increment", post(slow_increment))
        .route("/set/{key}", post(set))
        .route("/set-later/{key}", post(set_later))
        .route("/keys", get(keys))
        .route("/rotate", post(rotate))
        .route("/destroy", post(destroy))
        .route("/destroy-then-insert", post(destroy_then_insert))
        .route("/clear", post(clear))
        .route("/blob/{size}", post(blob))
        .route("/fail", post(fail))
        .route("/untouched", get(untouched))
        .layer(layer)
}
