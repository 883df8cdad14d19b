//! The contenders of the load table: what each one is, what it needs to start, and whether its
//! writes are on disk before their responses.

use clap::ValueEnum;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Kind {
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
    /// tower-sessions with its SQLite store, in WAL mode with `synchronous=FULL`.
    TowerSessionsSqlite,
    /// tower-sessions with its SQLite store on SQLx's defaults.
    TowerSessionsSqliteDefault,
    /// tower-sessions with its Redis store.
    TowerSessionsRedis,
    /// axum_session in `rest_mode` (the id travels in a header) with no database behind its
    /// in-memory table.
    AxumSession,
    /// axum_session with its SQLite pool, in WAL mode with `synchronous=FULL`.
    AxumSessionSqlite,
    /// axum_session with its SQLite pool on SQLx's defaults.
    AxumSessionSqliteDefault,
    /// axum_session with its Redis pool.
    AxumSessionRedis,
}

impl Kind {
    /// The name on the command line and in the table.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Bare => "bare",
            Kind::EmptyLayer => "empty-layer",
            Kind::Bare1us => "bare-1us",
            Kind::Memory => "memory",
            Kind::Sled => "sled",
            Kind::Redis => "redis",
            Kind::RedisNoLease => "redis-no-lease",
            Kind::TowerSessions => "tower-sessions",
            Kind::TowerSessionsSqlite => "tower-sessions-sqlite",
            Kind::TowerSessionsSqliteDefault => "tower-sessions-sqlite-default",
            Kind::TowerSessionsRedis => "tower-sessions-redis",
            Kind::AxumSession => "axum-session",
            Kind::AxumSessionSqlite => "axum-session-sqlite",
            Kind::AxumSessionSqliteDefault => "axum-session-sqlite-default",
            Kind::AxumSessionRedis => "axum-session-redis",
        }
    }

    /// Whether it keeps its sessions in a file, given with `--data-dir`.
    pub fn needs_data_dir(self) -> bool {
        self.on_disk().is_some()
    }

    /// Whether it keeps its sessions in Redis, given with `--redis`.
    pub fn needs_redis(self) -> bool {
        matches!(
            self,
            Kind::Redis | Kind::RedisNoLease | Kind::TowerSessionsRedis | Kind::AxumSessionRedis
        )
    }

    fn on_disk(self) -> Option<&'static str> {
        match self {
            Kind::Sled => Some("yes: fsync before the response, shared by concurrent writes"),
            Kind::TowerSessionsSqlite | Kind::AxumSessionSqlite => {
                Some("yes: WAL synced on every commit (synchronous=FULL)")
            }
            Kind::TowerSessionsSqliteDefault | Kind::AxumSessionSqliteDefault => Some(
                "yes: rollback journal, synced on every commit (SQLx's default, synchronous=FULL)",
            ),
            _ => None,
        }
    }

    /// Whether a write is on disk before its response, and how.
    pub fn durability(self) -> &'static str {
        if let Some(on_disk) = self.on_disk() {
            return on_disk;
        }
        if self.needs_redis() {
            return "no: Redis's memory (the bench Redis runs without AOF or snapshots)";
        }
        match self {
            Kind::Bare | Kind::EmptyLayer | Kind::Bare1us => "no: a map in the process",
            _ => "no: the process's memory",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_named_as_on_the_command_line() {
        for kind in Kind::value_variants() {
            let value = kind.to_possible_value().unwrap();
            assert_eq!(value.get_name(), kind.name());
            assert_eq!(Kind::from_str(kind.name(), false), Ok(*kind));
        }
    }

    #[test]
    fn only_the_file_stores_are_durable() {
        let durable: Vec<&str> = Kind::value_variants()
            .iter()
            .filter(|kind| kind.durability().starts_with("yes"))
            .map(|kind| kind.name())
            .collect();
        assert_eq!(
            durable,
            [
                "sled",
                "tower-sessions-sqlite",
                "tower-sessions-sqlite-default",
                "axum-session-sqlite",
                "axum-session-sqlite-default"
            ]
        );
    }
}
