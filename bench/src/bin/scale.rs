//! The sled store at scale: fills a database with many sessions (a tenth of them already expired)
//! through the store's own durable `save`, then reports the disk size, the latency of loading
//! random sessions, the time the expiry sweep takes, and the process's peak resident memory.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bench::cli::at_least;
use bench::targets::{self, Check};
use clap::Parser;
use cookieless::store::{now_millis, Data, Record, SessionKey, SessionStore, StoreError, Token};
use cookieless::SledStore;
use rand::seq::IndexedRandom;

#[derive(Parser)]
#[command(about = "The sled store with a million sessions: load latency, disk, memory, sweep.")]
struct Args {
    /// Sessions to fill the store with, a tenth of them expired (so at least ten).
    #[arg(long, default_value_t = 1_000_000, value_parser = at_least(10))]
    sessions: usize,
    /// Random loads to time, one after another.
    #[arg(long, default_value_t = 200_000, value_parser = at_least(1))]
    loads: usize,
    /// Concurrent writers while filling (their flushes are batched).
    #[arg(long, default_value_t = 256, value_parser = at_least(1))]
    writers: usize,
    /// Where the database goes (default: a temporary directory, removed afterwards).
    #[arg(long)]
    data_dir: Option<std::path::PathBuf>,
}

/// A session like the demo's after a login and some use.
fn record(number: usize, now: u64) -> Record {
    let mut data = Data::new();
    data.insert("counter", (number % 100).into());
    data.insert("user", format!("user{}", number % 50_000).into());
    // Every tenth session is already past its deadline, for the sweep to find.
    let expires = if number.is_multiple_of(10) {
        now - 1
    } else {
        now + 3_600_000
    };
    Record {
        version: 1,
        created: now,
        last_seen: now,
        expires,
        data: data.into(),
        principal: None,
        user_agent: Some(
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chromium/156.0"
                .into(),
        ),
        rotated: false,
        authenticated_at: None,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let temporary = tempfile::tempdir()?;
    let dir = args.data_dir.clone().unwrap_or(temporary.path().into());
    let db = sled::open(&dir)?;
    let store = Arc::new(SledStore::new(&db)?);

    let keys: Arc<Vec<SessionKey>> = Arc::new(
        (0..args.sessions)
            .map(|_| Token::generate().key())
            .collect(),
    );
    let started = Instant::now();
    let now = now_millis();
    let mut writers = tokio::task::JoinSet::new();
    for writer in 0..args.writers {
        let (store, keys, count) = (store.clone(), keys.clone(), args.writers);
        writers.spawn(async move {
            for number in (writer..keys.len()).step_by(count) {
                store
                    .save(&keys[number], &record(number, now), None)
                    .await?;
            }
            Ok::<_, StoreError>(())
        });
    }
    while let Some(result) = writers.join_next().await {
        result??;
    }
    let fill = started.elapsed();
    db.flush_async().await?;
    println!(
        "filled {} sessions in {:.1} s ({:.0} durable saves/s, {} concurrent writers)",
        args.sessions,
        fill.as_secs_f64(),
        args.sessions as f64 / fill.as_secs_f64(),
        args.writers
    );
    println!("disk: {:.0} MiB", mebibytes(directory_size(&dir)?));

    let live: Vec<&SessionKey> = keys
        .iter()
        .enumerate()
        .filter(|(number, _)| !number.is_multiple_of(10))
        .map(|(_, key)| key)
        .collect();
    let mut latencies = Vec::with_capacity(args.loads);
    let mut random = rand::rng();
    for _ in 0..args.loads {
        let key = *live.choose(&mut random).expect("some sessions are live");
        let started = Instant::now();
        let loaded = store.load(key).await?;
        latencies.push(started.elapsed());
        assert!(loaded.is_some(), "a saved session was not found");
    }
    latencies.sort();
    let p99 = percentile(&latencies, 0.99);
    println!(
        "load, {} random live sessions one after another: p50 {}, p99 {}, max {}",
        args.loads,
        micros(percentile(&latencies, 0.50)),
        micros(p99),
        micros(*latencies.last().unwrap_or(&Duration::ZERO)),
    );

    let started = Instant::now();
    let removed = store.delete_expired(now_millis()).await?;
    println!(
        "sweep: removed {removed} expired sessions of {} in {:.2} s",
        args.sessions,
        started.elapsed().as_secs_f64()
    );
    let peak_rss = peak_rss_bytes()?;
    println!("peak RSS: {:.0} MiB", mebibytes(peak_rss));
    // The targets are set for a million sessions; fewer would meet them too easily.
    if args.sessions >= 1_000_000 {
        let checks = [
            Check::under(
                "1,000,000 sessions in sled: p99 load under 1 ms",
                p99.as_secs_f64(),
                targets::SCALE_P99_LOAD.as_secs_f64(),
                micros(p99),
            ),
            Check::under(
                "1,000,000 sessions in sled: peak RSS under 1 GiB",
                peak_rss as f64,
                targets::SCALE_PEAK_RSS_BYTES as f64,
                format!("{:.0} MiB", mebibytes(peak_rss)),
            ),
        ];
        println!("\n{}", targets::table(&checks));
    }
    Ok(())
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let index = ((sorted.len() as f64 * fraction) as usize).min(sorted.len().saturating_sub(1));
    sorted.get(index).copied().unwrap_or_default()
}

fn micros(duration: Duration) -> String {
    format!("{:.1} µs", duration.as_secs_f64() * 1e6)
}

fn mebibytes(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn directory_size(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let metadata = entry.metadata()?;
        total += if metadata.is_dir() {
            directory_size(&entry.path())?
        } else {
            metadata.len()
        };
    }
    Ok(total)
}

/// The process's high-water mark of resident memory, from `/proc/self/status`.
fn peak_rss_bytes() -> Result<u64, Box<dyn std::error::Error>> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .ok_or("no VmHWM in /proc/self/status")?;
    let kibibytes: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kibibytes * 1024)
}
