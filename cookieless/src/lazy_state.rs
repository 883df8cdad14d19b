//! A request's session state: loaded on first use, by one task while any others wait, and taken
//! out when the response is ready.
//!
//! Why it exists: a handler may clone its `Session` into several tasks, which must all see one
//! load and one set of changes; without it two clones would each load the session and one's
//! changes would be lost. It replaces an async mutex, which cost more per request in the
//! in-process layer benchmark (see [`LazyState`]).

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::waiters::{self, Waiters};

/// Holds a value that costs a load to get.
///
/// An async mutex would serve, but every request takes this once or twice and almost never
/// contends for it: a plain mutex held only for the caller's closure costs a fraction, and waiting
/// (for a clone of the session loading in another task) is what pays for a `Notify`.
pub(crate) struct LazyState<T> {
    slot: Mutex<Slot<T>>,
}

struct Slot<T> {
    value: Option<T>,
    loading: bool,
    /// Those waiting for the load under way.
    waiters: Waiters,
}

/// A load was under way, so there was nothing to take yet.
pub(crate) struct StillLoading;

impl<T> LazyState<T> {
    pub(crate) fn new() -> Self {
        LazyState {
            slot: Mutex::new(Slot {
                value: None,
                loading: false,
                waiters: Waiters::default(),
            }),
        }
    }

    /// Runs `use_value` on the value, loading it with `load` first if there is none. If another
    /// task is loading it, waits for that load instead; if that load fails, loads anew.
    pub(crate) async fn with<R, E, Load>(
        &self,
        load: impl FnOnce() -> Load,
        use_value: impl FnOnce(&mut T) -> R,
    ) -> Result<R, E>
    where
        Load: Future<Output = Result<T, E>>,
    {
        loop {
            let waiters = {
                let mut slot = self.slot();
                if let Some(value) = slot.value.as_mut() {
                    return Ok(use_value(value));
                }
                if slot.loading {
                    Some(slot.waiters.join())
                } else {
                    slot.loading = true;
                    None
                }
            };
            let Some(waiters) = waiters else {
                // Declared before `slot` below, so dropped after it: the flag is cleared, and
                // waiters woken, once the value is in place, or if this future is dropped.
                let _loading = Loading(self);
                let value = load().await?;
                let mut slot = self.slot();
                return Ok(use_value(slot.value.insert(value)));
            };
            self.wait(&waiters).await;
        }
    }

    /// Takes the value out, unless a load is under way.
    pub(crate) fn try_take(&self) -> Result<Option<T>, StillLoading> {
        let mut slot = self.slot();
        if slot.loading {
            return Err(StillLoading);
        }
        Ok(slot.value.take())
    }

    /// Takes the value out once no load is under way.
    pub(crate) async fn take(&self) -> Option<T> {
        loop {
            let notify = {
                let mut slot = self.slot();
                if !slot.loading {
                    return slot.value.take();
                }
                slot.waiters.join()
            };
            self.wait(&notify).await;
        }
    }

    /// Waits until the load that handed out `notify` is over.
    async fn wait(&self, notify: &Arc<Notify>) {
        waiters::wait(notify, || {
            let slot = self.slot();
            slot.loading && slot.waiters.handed_out(notify)
        })
        .await;
    }

    fn slot(&self) -> MutexGuard<'_, Slot<T>> {
        // Nothing panics while holding it but the caller's closure, after which the slot is
        // still consistent.
        self.slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A load under way: when it ends, however it ends, the waiters are let in.
struct Loading<'a, T>(&'a LazyState<T>);

impl<T> Drop for Loading<'_, T> {
    fn drop(&mut self) {
        let waiters = {
            let mut slot = self.0.slot();
            slot.loading = false;
            std::mem::take(&mut slot.waiters)
        };
        waiters.wake();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_users_share_one_load() {
        let state = Arc::new(LazyState::<usize>::new());
        let loads = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (state, loads) = (state.clone(), loads.clone());
                tokio::spawn(async move {
                    let load = || async {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok::<_, ()>(loads.fetch_add(1, Ordering::SeqCst) + 100)
                    };
                    state.with(load, |value| *value).await.unwrap()
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap(), 100);
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        assert_eq!(state.try_take().ok(), Some(Some(100)));
        assert_eq!(state.try_take().ok(), Some(None));
    }

    #[tokio::test]
    async fn a_failed_or_abandoned_load_lets_the_next_user_load() {
        let state = LazyState::<u32>::new();
        let failed = state.with(|| async { Err::<u32, _>("store down") }, |_| ());
        assert_eq!(failed.await, Err("store down"));

        let abandoned = state.with(std::future::pending::<Result<u32, ()>>, |_| ());
        assert!(tokio::time::timeout(Duration::from_millis(10), abandoned)
            .await
            .is_err());

        let loaded = state.with(
            || async { Ok::<_, ()>(7) },
            |value| {
                *value += 1;
                *value
            },
        );
        assert_eq!(loaded.await, Ok(8));
        assert_eq!(state.take().await, Some(8));
    }

    #[tokio::test]
    async fn taking_waits_for_a_load_under_way() {
        let state = Arc::new(LazyState::<u32>::new());
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let loader = {
            let state = state.clone();
            tokio::spawn(async move {
                let load = || async {
                    released.await.unwrap();
                    Ok::<_, ()>(5)
                };
                state.with(load, |_| ()).await
            })
        };
        while state.try_take().is_ok() {
            tokio::task::yield_now().await;
        }
        let taker = {
            let state = state.clone();
            tokio::spawn(async move { state.take().await })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!taker.is_finished(), "took while a load was under way");
        release.send(()).unwrap();
        loader.await.unwrap().unwrap();
        assert_eq!(taker.await.unwrap(), Some(5));
    }
}
