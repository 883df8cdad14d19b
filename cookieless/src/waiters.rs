//! Waiting for something another task holds (a session's lock, a session being loaded), with a
//! `Notify` made only when someone has to wait.
//!
//! Why it exists: the lock table and the lazy state are taken on every request and almost never
//! contended; allocating a `Notify` per entry showed in the benchmark, so one is made only for
//! the rare waiter. Without the check in [`wait`], a waiter could miss its wake-up and hang.

use std::pin::pin;
use std::sync::Arc;

use tokio::sync::Notify;

/// The tasks waiting for one holder to let go: nothing, and no allocation, until the first waits.
///
/// Kept beside what is held, under the same mutex: a waiter [`join`](Waiters::join)s under it,
/// then [`wait`]s with a check that takes it again; the holder, letting go under it, takes the
/// waiters out and [`wake`](Waiters::wake)s them.
#[derive(Default)]
pub(crate) struct Waiters(Option<Arc<Notify>>);

impl Waiters {
    /// What a new waiter waits on.
    pub(crate) fn join(&mut self) -> Arc<Notify> {
        self.0.get_or_insert_default().clone()
    }

    /// Whether these are the waiters that handed out `notify`, so the holder has not let go.
    pub(crate) fn handed_out(&self, notify: &Arc<Notify>) -> bool {
        matches!(&self.0, Some(current) if Arc::ptr_eq(current, notify))
    }

    /// Wakes every waiter: each looks again, and those that lose wait anew.
    pub(crate) fn wake(self) {
        if let Some(notify) = self.0 {
            notify.notify_waiters();
        }
    }
}

/// Waits on `notify` (from [`Waiters::join`]) unless `still_held` says the holder has let go.
/// `still_held` is asked after the wait is registered: a holder that let go before then woke
/// nobody, and waiting would never end.
pub(crate) async fn wait(notify: &Notify, still_held: impl FnOnce() -> bool) {
    let mut released = pin!(notify.notified());
    released.as_mut().enable();
    if still_held() {
        released.await;
    }
}
