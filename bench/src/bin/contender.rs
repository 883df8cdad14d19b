//! One contender of the load benchmark: the same two endpoints (read a per-session counter,
//! increment it) behind a given session mechanism. Prints `listening on http://ADDR` when ready.

use std::time::Duration;

use axum::extract::Request;
use axum::ServiceExt;
use bench::contenders::{
    axum_session, bare, bare_with_work, empty_layer, ours, tower_sessions, App,
};
use clap::{Parser, ValueEnum};
use cookieless::{MemoryStore, RedisStore, SessionLayer, SledStore};

#[derive(Parser)]
struct Args {
    #[arg(long, value_enum)]
    kind: Kind,
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: String,
    /// For `sled`: where the database goes.
    #[arg(long)]
    data_dir: Option<std::path::PathBuf>,
    /// For `redis` and `redis-no-lease`: the server, e.g. redis://127.0.0.1:6379/.
    #[arg(long)]
    redis: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    /// No session layer: the counter lives in a process-global map keyed by the header (the
    /// ceiling any session layer can reach).
    Bare,
    /// `bare` behind a layer that does only what any header-session layer must: take the
    /// request's header and put it, with `Cache-Control: no-store`, on the response. What it costs
    /// over `bare` no session layer of this shape can avoid.
    EmptyLayer,
    /// `bare` plus one microsecond of pure CPU time per request: what a microsecond of work
    /// costs in the load table.
    #[value(name = "bare-1us")]
    Bare1us,
    Memory,
    Sled,
    /// Requests on one session serialised across instances by a lease in Redis.
    Redis,
    /// The same store without leases: concurrent requests on one session at several instances
    /// are merged key by key on save.
    RedisNoLease,
    /// tower-sessions with its memory store and its cookie transport.
    TowerSessions,
    /// axum_session in `rest_mode` (the id travels in a header) with no database behind its
    /// in-memory table.
    AxumSession,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(&args.addr).await?;
    match args.kind {
        Kind::Bare => serve(listener, bare()).await?,
        Kind::EmptyLayer => serve(listener, empty_layer()).await?,
        Kind::Bare1us => serve(listener, bare_with_work(Duration::from_micros(1))).await?,
        Kind::Memory => serve(listener, ours(SessionLayer::new(MemoryStore::new()))).await?,
        Kind::Sled => {
            let dir = args.data_dir.ok_or("--data-dir is needed with sled")?;
            let db = sled::open(dir)?;
            serve(listener, ours(SessionLayer::new(SledStore::new(&db)?))).await?
        }
        Kind::Redis | Kind::RedisNoLease => {
            let url = args.redis.ok_or("--redis is needed with redis")?;
            let prefix = format!("bench:{}:", std::process::id());
            let layer = SessionLayer::new(RedisStore::connect(&url, prefix).await?);
            let layer = match args.kind {
                Kind::RedisNoLease => layer.without_leases(),
                _ => layer,
            };
            serve(listener, ours(layer)).await?
        }
        Kind::TowerSessions => serve(listener, tower_sessions()).await?,
        Kind::AxumSession => serve(listener, axum_session().await?).await?,
    }
    Ok(())
}

async fn serve(listener: tokio::net::TcpListener, app: impl App) -> std::io::Result<()> {
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, ServiceExt::<Request>::into_make_service(app)).await
}
