//! Password hashing with argon2 on a bounded pool of threads of its own.
//!
//! A hash takes tens of milliseconds of CPU and 19 MiB. On tokio's blocking pool (512 threads)
//! a login flood would take gigabytes, and sled's flushes and the session sweep, which share
//! that pool, would queue behind it. Here at most `threads` hashes run at once, `queue` more
//! wait, and anything beyond is refused at once: peak memory is `threads` × 19 MiB.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::oneshot;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every hashing thread is busy and the queue is full.
    #[error("too many password checks at once")]
    Busy,
    #[error("password hashing failed: {0}")]
    Failed(String),
}

/// OWASP's minimum for argon2id: 19 MiB, two passes, one lane. Each hash records them, so that a
/// later, stronger setting can tell old hashes apart.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP's argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

type Job = Box<dyn FnOnce() + Send>;

/// The pool that hashes and checks passwords. Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct Hasher {
    jobs: SyncSender<Job>,
}

impl Hasher {
    /// `threads` hashing threads, and room for `queue` waiting jobs.
    pub fn new(threads: usize, queue: usize) -> Self {
        let (jobs, waiting) = sync_channel::<Job>(queue);
        let waiting = Arc::new(Mutex::new(waiting));
        for index in 0..threads.max(1) {
            let waiting = waiting.clone();
            std::thread::Builder::new()
                .name(format!("password-hash-{index}"))
                .spawn(move || run_jobs(&waiting))
                .expect("the OS starts a hashing thread");
        }
        Hasher { jobs }
    }

    /// A PHC-string argon2id hash of `password`, with a fresh salt.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon2()
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|error| HashError::Failed(error.to_string()))
        })
        .await?
    }

    /// Whether `password` matches `hash`. Without a hash (no such user) it still spends the time
    /// of a real check, so that response times do not tell which usernames exist.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, HashError> {
        self.run(move || {
            let hash = hash.as_deref().unwrap_or_else(|| decoy_hash());
            PasswordHash::new(hash).is_ok_and(|parsed| {
                argon2()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move || {
            // The caller may have gone (its request was dropped); the work is done all the same.
            let _ = answer.send(work());
        });
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(HashError::Busy),
            Err(TrySendError::Disconnected(_)) => {
                return Err(HashError::Failed("the hashing threads have stopped".into()))
            }
        }
        answered
            .await
            .map_err(|_| HashError::Failed("a hashing thread failed".into()))
    }
}

fn run_jobs(waiting: &Mutex<Receiver<Job>>) {
    loop {
        let job = {
            let waiting = waiting
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            waiting.recv()
        };
        match job {
            // A panic in one hash must not take a thread from the pool for good: its caller sees
            // the answer channel close and reports the failure.
            Ok(job) => {
                if std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).is_err() {
                    tracing::error!("a password hash panicked");
                }
            }
            // Every `Hasher` is gone.
            Err(_) => return,
        }
    }
}

fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(b"no user has this password", &salt)
            .map(|hash| hash.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hasher = Hasher::new(2, 4);
        let hashed = hasher.hash("correct horse".into()).await.unwrap();
        assert!(hashed.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(hasher
            .verify("correct horse".into(), Some(hashed.clone()))
            .await
            .unwrap());
        assert!(!hasher
            .verify("wrong horse".into(), Some(hashed))
            .await
            .unwrap());
        assert!(!hasher.verify("correct horse".into(), None).await.unwrap());
        assert!(!hasher
            .verify("x".into(), Some("not a hash".into()))
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn beyond_the_threads_and_the_queue_it_refuses_at_once() {
        let hasher = Hasher::new(1, 1);
        let (started, thread_busy) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let hold: Job = Box::new(move || {
            started.send(()).unwrap();
            released.recv().ok();
        });
        hasher.jobs.try_send(hold).unwrap();
        thread_busy.recv().unwrap();
        hasher.jobs.try_send(Box::new(|| {})).unwrap();
        assert!(matches!(
            hasher.hash("password".into()).await,
            Err(HashError::Busy)
        ));
        release.send(()).unwrap();
    }
}
