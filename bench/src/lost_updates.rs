//! Lost updates: increments a contender acknowledged that its counters do not show afterwards.
//!
//! Clients increment counters on randomly chosen sessions, many at once, as the load does, but
//! each waits for its answer before the next: unlike a wrk run cut off at its deadline, no
//! increment is left in flight, so the count of acknowledged increments is exact and can be set
//! against the counters read before and after.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{HeaderName, HeaderValue};
use rand::Rng;

/// One session, as the request header that carries it.
pub type Carrier = (HeaderName, HeaderValue);

/// What one probe of a contender counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LostUpdates {
    /// Increments answered with a success.
    pub acknowledged: u64,
    /// How much the counters of all the sessions grew meanwhile.
    pub applied: u64,
    /// Increments answered with an error, or not at all.
    pub failed: u64,
}

impl LostUpdates {
    /// Acknowledged increments the counters do not show (negative if some were applied twice).
    pub fn lost(&self) -> i64 {
        self.acknowledged as i64 - self.applied as i64
    }
}

/// Increments counters on `sessions` of the contender at `url` from `clients` concurrent clients
/// for `duration`, and counts the increments lost.
pub async fn probe(
    url: &str,
    sessions: &[Carrier],
    clients: usize,
    duration: Duration,
) -> Result<LostUpdates, Box<dyn std::error::Error>> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()?;
    let before = total(&http, url, sessions).await?;
    let deadline = Instant::now() + duration;
    let increment = format!("{url}/counter/increment");
    let shared: Arc<[Carrier]> = sessions.into();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (http, url, sessions) = (http.clone(), increment.clone(), shared.clone());
        tasks.spawn(async move {
            let (mut acknowledged, mut failed) = (0, 0);
            while Instant::now() < deadline {
                let (name, value) = &sessions[rand::rng().random_range(0..sessions.len())];
                let answer = http.post(&url).header(name, value).send().await;
                match answer {
                    Ok(response) if response.status().is_success() => acknowledged += 1,
                    _ => failed += 1,
                }
            }
            (acknowledged, failed)
        });
    }
    let mut counted = LostUpdates::default();
    while let Some(task) = tasks.join_next().await {
        let (acknowledged, failed) = task?;
        counted.acknowledged += acknowledged;
        counted.failed += failed;
    }
    let after = total(&http, url, sessions).await?;
    counted.applied = after.saturating_sub(before);
    Ok(counted)
}

/// The sum of the counters of `sessions`.
async fn total(
    http: &reqwest::Client,
    url: &str,
    sessions: &[Carrier],
) -> Result<u64, Box<dyn std::error::Error>> {
    let read = format!("{url}/counter");
    let mut sum = 0;
    for (name, value) in sessions {
        let response = http
            .get(&read)
            .header(name, value)
            .send()
            .await?
            .error_for_status()?;
        let body: serde_json::Value = response.json().await?;
        sum += body["value"]
            .as_u64()
            .ok_or_else(|| format!("no counter in {body}"))?;
    }
    Ok(sum)
}
