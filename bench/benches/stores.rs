//! The store operations on their own: `load`, `save` (a new session, and an update of an existing
//! one) and `delete`, for each store, on a store already holding many sessions. Redis is measured
//! when `REDIS_URL` names a server (`scripts/bench` starts one).
//!
//! `cargo bench -p bench --bench stores`

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cookieless::store::{now_millis, Data, Record, Saved, SessionKey, SessionStore, Token};
use cookieless::{MemoryStore, RedisStore, SledStore};
use criterion::{criterion_group, criterion_main, Criterion};
use tokio::runtime::Runtime;

/// Sessions in each store before measuring, so that lookups are not into an empty map.
const PRELOADED: usize = 10_000;

fn record(version: u64) -> Record {
    let now = now_millis();
    let mut data = Data::new();
    data.insert("counter", version.into());
    data.insert("user", "ada".into());
    Record {
        version,
        created: now,
        last_seen: now,
        expires: now + 3_600_000,
        data: data.into(),
        principal: None,
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) bench".into()),
        rotated: false,
        authenticated_at: None,
    }
}

/// A store with [`PRELOADED`] sessions at version 1, and their keys.
struct Filled {
    store: Arc<dyn SessionStore>,
    keys: Vec<SessionKey>,
    versions: Vec<AtomicU64>,
    next: AtomicUsize,
}

impl Filled {
    async fn new(store: Arc<dyn SessionStore>) -> Self {
        let keys: Vec<SessionKey> = (0..PRELOADED).map(|_| Token::generate().key()).collect();
        // Concurrently, so that sled's group commit fills it in seconds rather than minutes.
        let mut tasks = tokio::task::JoinSet::new();
        for chunk in keys.chunks(PRELOADED / 64) {
            let (store, chunk) = (store.clone(), chunk.to_vec());
            tasks.spawn(async move {
                for key in chunk {
                    store.save(&key, &record(1), None).await.unwrap();
                }
            });
        }
        tasks.join_all().await;
        let versions = keys.iter().map(|_| AtomicU64::new(1)).collect();
        Filled {
            store,
            keys,
            versions,
            next: AtomicUsize::new(0),
        }
    }

    /// The next preloaded session, round-robin.
    fn pick(&self) -> usize {
        self.next.fetch_add(7919, Ordering::Relaxed) % self.keys.len()
    }
}

fn store_operations(c: &mut Criterion) {
    let runtime = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut stores: Vec<(&str, Arc<dyn SessionStore>)> =
        vec![("memory", Arc::new(MemoryStore::new()))];
    runtime.block_on(async {
        let db = sled::open(dir.path()).unwrap();
        stores.push(("sled", Arc::new(SledStore::new(&db).unwrap())));
        match std::env::var("REDIS_URL") {
            Ok(url) => {
                let prefix = format!("bench:{}:", std::process::id());
                let redis = RedisStore::connect(&url, prefix).await.unwrap();
                stores.push(("redis", Arc::new(redis)));
            }
            Err(_) => eprintln!("REDIS_URL is not set: skipping the Redis store"),
        }
    });

    for (name, store) in stores {
        let filled = Arc::new(runtime.block_on(Filled::new(store)));
        let mut group = c.benchmark_group(name);
        group.measurement_time(Duration::from_secs(3));
        group.warm_up_time(Duration::from_secs(1));

        group.bench_function("load", |b| {
            b.to_async(&runtime).iter(|| async {
                let index = filled.pick();
                let loaded = filled.store.load(&filled.keys[index]).await.unwrap();
                assert!(loaded.is_some());
            })
        });
        group.bench_function("save a new session", |b| {
            b.to_async(&runtime).iter(|| async {
                let key = Token::generate().key();
                let saved = filled.store.save(&key, &record(1), None).await.unwrap();
                assert_eq!(saved, Saved::Written);
            })
        });
        group.bench_function("save an update", |b| {
            b.to_async(&runtime).iter(|| async {
                let index = filled.pick();
                let version = filled.versions[index].fetch_add(1, Ordering::Relaxed);
                let saved = filled
                    .store
                    .save(&filled.keys[index], &record(version + 1), Some(version))
                    .await
                    .unwrap();
                assert_eq!(saved, Saved::Written);
            })
        });
        group.bench_function("delete", |b| {
            b.to_async(&runtime).iter_custom(|iterations| {
                let store = filled.store.clone();
                async move {
                    let keys: Vec<SessionKey> =
                        (0..iterations).map(|_| Token::generate().key()).collect();
                    for key in &keys {
                        store.save(key, &record(1), None).await.unwrap();
                    }
                    let started = Instant::now();
                    for key in &keys {
                        store.delete(key).await.unwrap();
                    }
                    started.elapsed()
                }
            })
        });
        group.finish();
    }
}

criterion_group!(benches, store_operations);
criterion_main!(benches);
