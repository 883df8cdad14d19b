//! Password hashing with argon2 on a bounded pool of threads of its own.
//!
//! A hash takes tens of milliseconds of CPU and 19 MiB. On tokio's blocking pool (512 threads)
//! a login flood would take gigabytes, and sled's flushes and the session sweep, which share
//! that pool, would queue behind it. Here at most `threads` hashes run at once, `queue` more
//! wait, and anything beyond is refused at once. Each thread keeps its 19 MiB of argon2 memory
//! and reuses it: allocated afresh for every hash, glibc's allocator kept each one resident
//! (19 MiB more per login, measured), so memory is `threads` × 19 MiB however many logins come.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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

/// Work for a hashing thread, given the thread's argon2 memory to use.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

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
        self.run(move |memory| {
            let salt = SaltString::generate(&mut OsRng);
            new_hash(password.as_bytes(), salt.as_salt(), memory)
                .map_err(|error| HashError::Failed(error.to_string()))
        })
        .await?
    }

    /// Whether `password` matches `hash`. Without a hash (no such user) it still spends the time
    /// of a real check, so that response times do not tell which usernames exist.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, HashError> {
        self.run(move |memory| {
            let hash = hash.as_deref().unwrap_or_else(|| decoy_hash());
            matches(password.as_bytes(), hash, memory).unwrap_or(false)
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move |memory| {
            // The caller may have gone (its request was dropped); the work is done all the same.
            let _ = answer.send(work(memory));
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
    let mut memory = Vec::new();
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
                let work = std::panic::AssertUnwindSafe(|| job(&mut memory));
                if std::panic::catch_unwind(work).is_err() {
                    tracing::error!("a password hash panicked");
                }
            }
            // Every `Hasher` is gone.
            Err(_) => return,
        }
    }
}

/// argon2 of `password` and `salt` with `argon`'s settings, in `memory` (grown if it is short).
fn compute(
    argon: &Argon2<'_>,
    password: &[u8],
    salt: Salt<'_>,
    output_len: usize,
    memory: &mut Vec<Block>,
) -> argon2::password_hash::Result<Output> {
    let blocks = argon.params().block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let mut salt_bytes = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_bytes)?;
    Output::init_with(output_len, |out| {
        Ok(argon.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])?)
    })
}

/// A PHC string: argon2id with [`argon2`]'s settings, which it records.
fn new_hash(
    password: &[u8],
    salt: Salt<'_>,
    memory: &mut Vec<Block>,
) -> argon2::password_hash::Result<String> {
    let argon = argon2();
    let output = compute(&argon, password, salt, Params::DEFAULT_OUTPUT_LEN, memory)?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon.params())?,
        salt: Some(salt),
        hash: Some(output),
    };
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `hash`, with the settings `hash` records; compared
/// in constant time.
fn matches(
    password: &[u8],
    hash: &str,
    memory: &mut Vec<Block>,
) -> argon2::password_hash::Result<bool> {
    let parsed = PasswordHash::new(hash)?;
    let algorithm = Algorithm::try_from(parsed.algorithm)?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()?
        .unwrap_or_default();
    let params = Params::try_from(&parsed)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Ok(false);
    };
    // A stored hash decides how much memory and time its check takes: one far beyond our own
    // settings is refused rather than let it pin gigabytes in a thread or abort the process.
    let ours = argon2();
    let ours = ours.params();
    if params.m_cost() > ours.m_cost() * 4
        || params.t_cost() > ours.t_cost() * 8
        || params.p_cost() > ours.p_cost() * 4
    {
        tracing::error!("a stored password hash asks for far more than this server allows");
        return Ok(false);
    }
    let argon = Argon2::new(algorithm, version, params);
    let matched = compute(&argon, password, salt, expected.len(), memory)? == expected;
    // Back to our own size after a check of a larger, older hash.
    let ours = ours.block_count();
    if memory.len() > ours {
        memory.truncate(ours);
        memory.shrink_to_fit();
    }
    Ok(matched)
}

fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        new_hash(
            b"no user has this password",
            salt.as_salt(),
            &mut Vec::new(),
        )
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

    #[test]
    fn hashes_agree_with_the_argon2_crate_s_own() {
        use argon2::{PasswordHasher, PasswordVerifier};

        let mut memory = Vec::new();
        let salt = SaltString::generate(&mut OsRng);
        let ours = new_hash(b"correct horse", salt.as_salt(), &mut memory).unwrap();
        let theirs = argon2()
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        assert_eq!(ours, theirs);
        assert!(argon2()
            .verify_password(b"correct horse", &PasswordHash::new(&ours).unwrap())
            .is_ok());
        // A hash made with other settings is checked with its own.
        let weaker = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"old password", &salt)
        .unwrap()
        .to_string();
        assert!(matches(b"old password", &weaker, &mut memory).unwrap());
        assert!(!matches(b"other password", &weaker, &mut memory).unwrap());
    }

    #[tokio::test]
    async fn beyond_the_threads_and_the_queue_it_refuses_at_once() {
        let hasher = Hasher::new(1, 1);
        let (started, thread_busy) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let hold: Job = Box::new(move |_| {
            started.send(()).unwrap();
            released.recv().ok();
        });
        hasher.jobs.try_send(hold).unwrap();
        thread_busy.recv().unwrap();
        hasher.jobs.try_send(Box::new(|_| {})).unwrap();
        assert!(matches!(
            hasher.hash("password".into()).await,
            Err(HashError::Busy)
        ));
        release.send(()).unwrap();
    }
}
