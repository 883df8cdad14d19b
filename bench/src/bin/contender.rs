//! One contender of the load benchmark: the same two endpoints (read a per-session counter,
//! increment it) behind a given session mechanism. Prints `listening on http://ADDR` when ready.

use std::path::PathBuf;
use std::time::Duration;

use axum::extract::Request;
use axum::ServiceExt;
use bench::contenders::{bare, bare_with_work, empty_layer, ours, App};
use bench::kind::Kind;
use bench::rivals::{self, Sqlite};
use clap::Parser;
use cookieless::{MemoryStore, RedisStore, SessionLayer, SledStore};

#[derive(Parser)]
struct Args {
    #[arg(long, value_enum)]
    kind: Kind,
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: String,
    /// For the kinds on disk: where the database goes.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// For the kinds on Redis: the server, e.g. redis://127.0.0.1:6379/.
    #[arg(long)]
    redis: Option<String>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(&args.addr).await?;
    let data_dir = || {
        args.data_dir
            .clone()
            .ok_or_else(|| format!("--data-dir is needed with {}", args.kind.name()))
    };
    let redis = || {
        args.redis
            .clone()
            .ok_or_else(|| format!("--redis is needed with {}", args.kind.name()))
    };
    let sqlite_file = || -> Result<PathBuf, Box<dyn std::error::Error>> {
        let dir = data_dir()?;
        std::fs::create_dir_all(&dir)?;
        Ok(dir.join("sessions.sqlite"))
    };
    match args.kind {
        Kind::Bare => serve(listener, bare()).await?,
        Kind::EmptyLayer => serve(listener, empty_layer()).await?,
        Kind::Bare1us => serve(listener, bare_with_work(Duration::from_micros(1))).await?,
        Kind::Memory => serve(listener, ours(SessionLayer::new(MemoryStore::new()))).await?,
        Kind::Sled => {
            let db = sled::open(data_dir()?)?;
            serve(listener, ours(SessionLayer::new(SledStore::new(&db)?))).await?
        }
        Kind::Redis | Kind::RedisNoLease => {
            let prefix = format!("bench:{}:", std::process::id());
            let layer = SessionLayer::new(RedisStore::connect(&redis()?, prefix).await?);
            let layer = match args.kind {
                Kind::RedisNoLease => layer.without_leases(),
                _ => layer,
            };
            serve(listener, ours(layer)).await?
        }
        Kind::TowerSessions => serve(listener, rivals::tower_sessions()).await?,
        Kind::TowerSessionsSqlite | Kind::TowerSessionsSqliteDefault => {
            let sqlite = sqlite_mode(args.kind);
            let app = rivals::tower_sessions_sqlite(&sqlite_file()?, sqlite).await?;
            serve(listener, app).await?
        }
        Kind::TowerSessionsRedis => {
            serve(listener, rivals::tower_sessions_redis(&redis()?).await?).await?
        }
        Kind::AxumSession => serve(listener, rivals::axum_session().await?).await?,
        Kind::AxumSessionSqlite | Kind::AxumSessionSqliteDefault => {
            let sqlite = sqlite_mode(args.kind);
            let app = rivals::axum_session_sqlite(&sqlite_file()?, sqlite).await?;
            serve(listener, app).await?
        }
        Kind::AxumSessionRedis => {
            serve(listener, rivals::axum_session_redis(&redis()?).await?).await?
        }
    }
    Ok(())
}

fn sqlite_mode(kind: Kind) -> Sqlite {
    match kind {
        Kind::TowerSessionsSqliteDefault | Kind::AxumSessionSqliteDefault => Sqlite::Default,
        _ => Sqlite::WalFull,
    }
}

async fn serve(listener: tokio::net::TcpListener, app: impl App) -> std::io::Result<()> {
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, ServiceExt::<Request>::into_make_service(app)).await
}
