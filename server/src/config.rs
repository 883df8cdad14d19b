//! The server's settings, from flags or environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use http::{HeaderName, HeaderValue};

#[derive(Clone, Debug, Parser)]
#[command(
    version,
    about = "The cookieless-sessions demo: a JSON API and the SPA that uses it."
)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "COOKIELESS_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,

    /// Serve `/metrics` on this address only (e.g. `127.0.0.1:9100`), instead of beside the app.
    #[arg(long, env = "COOKIELESS_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,

    /// Folder of the sled database that holds sessions and users.
    #[arg(long, env = "COOKIELESS_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// With sled: writes are refused (503) while the disk holding --data-dir has fewer MiB free,
    /// and work again once space is freed; reads go on.
    #[arg(long, env = "COOKIELESS_MIN_FREE_DISK_MIB", default_value_t = 64)]
    pub min_free_disk_mib: u64,

    /// Where sessions and users live: `sled` (durable, in --data-dir), `memory` (lost on exit), a
    /// Redis URL such as `redis://127.0.0.1:6379/0`, or a Redis Cluster's, such as
    /// `redis+cluster://10.0.0.1:7000,10.0.0.2:7000` (any of its nodes). Redis is shared by every
    /// instance pointed at it.
    #[arg(long, env = "COOKIELESS_STORE", default_value = "sled", value_parser = StoreKind::parse)]
    pub store: StoreKind,

    /// Prefix of every Redis key this server writes, so that several apps can share a database.
    #[arg(long, env = "COOKIELESS_REDIS_PREFIX", default_value = "cookieless:", value_parser = redis_prefix)]
    pub redis_prefix: String,

    /// On Redis, how long a request waits for its session while a request on another instance
    /// holds it, before it is answered 503.
    #[arg(long, env = "COOKIELESS_SESSION_LEASE_WAIT", default_value = "6s", value_parser = positive_duration)]
    pub session_lease_wait: Duration,

    /// On Redis, the longest an instance that dies mid-request keeps its session from the others
    /// (running requests renew their lease every third of it).
    #[arg(long, env = "COOKIELESS_SESSION_LEASE_DEADLINE", default_value = "5s", value_parser = positive_duration)]
    pub session_lease_deadline: Duration,

    /// On Redis, take no leases: requests on one session at several instances at once are then
    /// merged key by key on save instead of run one after another.
    #[arg(long, env = "COOKIELESS_NO_SESSION_LEASES")]
    pub no_session_leases: bool,

    /// A session unused for this long ends (e.g. `30m`, `2s`, `14days`).
    #[arg(long, env = "COOKIELESS_IDLE_TIMEOUT", default_value = "14days", value_parser = positive_duration)]
    pub idle_timeout: Duration,

    /// A session nobody is logged in to ends when unused this long (at most --idle-timeout).
    #[arg(long, env = "COOKIELESS_ANONYMOUS_IDLE_TIMEOUT", default_value = "1day", value_parser = positive_duration)]
    pub anonymous_idle_timeout: Duration,

    /// A session ends this long after it began, however busy (e.g. `12h`, `30days`).
    #[arg(long, env = "COOKIELESS_ABSOLUTE_TIMEOUT", default_value = "30days", value_parser = positive_duration)]
    pub absolute_timeout: Duration,

    /// How long a token that a login retired is still recognised, so that a request sent with it
    /// meanwhile is answered 409 and retried by the client with the new token (`0s`: not at all).
    #[arg(long, env = "COOKIELESS_ROTATION_GRACE", default_value = "30s", value_parser = humantime::parse_duration)]
    pub rotation_grace: Duration,

    /// How recent a proof of the password (a login, or the password entered again) must be to
    /// log out other devices or delete a note. A change of password needs none: it asks for the
    /// current password itself, a proof of that moment.
    #[arg(long, env = "COOKIELESS_REAUTH_AFTER", default_value = "10m", value_parser = positive_duration)]
    pub reauth_after: Duration,

    /// How the session token travels: `header-only` (no cookie, ever) or `header-or-cookie` (a
    /// `__Host-session` cookie beside the header, for links the browser follows by itself; unsafe
    /// requests carried by the cookie must come from the app's own pages).
    #[arg(long, env = "COOKIELESS_TRANSPORT", default_value = "header-only", value_parser = TransportKind::parse)]
    pub transport: TransportKind,

    /// An origin allowed to call the API from the browser, e.g. `http://localhost:8080`
    /// (repeatable; in the environment, comma-separated). None: same origin only.
    #[arg(long = "cors-origin", env = "COOKIELESS_CORS_ORIGINS", value_delimiter = ',', value_parser = origin)]
    pub cors_origins: Vec<HeaderValue>,

    /// Folder of the built SPA, served at `/` with `index.html` for client-side routes.
    #[arg(long, env = "COOKIELESS_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,

    /// New sessions one client address may begin per minute (`0`: no limit, for load tests).
    #[arg(long, env = "COOKIELESS_NEW_SESSIONS_PER_MINUTE", default_value_t = 60)]
    pub new_sessions_per_minute: u32,

    /// How many new sessions a client address may begin at once.
    #[arg(long, env = "COOKIELESS_NEW_SESSIONS_BURST", default_value_t = 120)]
    pub new_sessions_burst: u32,

    /// Behind a reverse proxy: the header it writes the client's address in, such as
    /// `X-Forwarded-For`. Unset: the TCP peer's address, and the header is ignored.
    #[arg(long, env = "COOKIELESS_CLIENT_IP_HEADER")]
    pub client_ip_header: Option<HeaderName>,

    /// How many proxies in front of the server append to --client-ip-header.
    #[arg(long, env = "COOKIELESS_TRUSTED_HOPS", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub trusted_hops: u16,

    /// Live sessions one user may have; a login beyond it ends their least recently used one.
    #[arg(long, env = "COOKIELESS_MAX_SESSIONS_PER_USER", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_sessions_per_user: u32,

    /// Password hashes computed at once (each takes 19 MiB). Default: the number of cores.
    #[arg(long, env = "COOKIELESS_HASHING_THREADS", value_parser = clap::value_parser!(u16).range(1..))]
    pub hashing_threads: Option<u16>,

    /// Password hashes that may wait for a thread; beyond them a login is answered 503 at once.
    #[arg(long, env = "COOKIELESS_HASHING_QUEUE", default_value_t = 16)]
    pub hashing_queue: usize,

    /// A connection that has not sent a request's headers within this long is closed; so is a
    /// kept-alive connection idle this long between requests.
    #[arg(long, env = "COOKIELESS_HEADER_TIMEOUT", default_value = "10s", value_parser = positive_duration)]
    pub header_timeout: Duration,

    /// A request whose body has not all arrived within this long after the request came in is
    /// answered 408: a client that sends its body a byte at a time cannot hold it for longer.
    #[arg(long, env = "COOKIELESS_BODY_TIMEOUT", default_value = "30s", value_parser = positive_duration)]
    pub body_timeout: Duration,

    /// Connections served at once; more wait in the kernel's backlog until one closes.
    #[arg(long, env = "COOKIELESS_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Connections one peer address may hold at once; more are closed at once (`0`: no limit).
    /// Not applied with --client-ip-header, where every connection comes from the proxy.
    #[arg(
        long,
        env = "COOKIELESS_MAX_CONNECTIONS_PER_CLIENT",
        default_value_t = 64
    )]
    pub max_connections_per_client: u32,

    /// An origin allowed to show the SPA in a frame, e.g. `https://partner.example` (repeatable;
    /// in the environment, comma-separated). None: no site may frame it.
    #[arg(long = "frame-ancestor", env = "COOKIELESS_FRAME_ANCESTORS", value_delimiter = ',', value_parser = origin)]
    pub frame_ancestors: Vec<HeaderValue>,
}

/// The `--transport` choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportKind {
    HeaderOnly,
    HeaderOrCookie,
}

impl TransportKind {
    fn parse(text: &str) -> Result<Self, String> {
        match text {
            "header-only" => Ok(TransportKind::HeaderOnly),
            "header-or-cookie" => Ok(TransportKind::HeaderOrCookie),
            other => Err(format!(
                "`{other}` is not a transport: use header-only or header-or-cookie"
            )),
        }
    }

    /// The name `--transport` gives it, as the API reports it.
    pub fn name(self) -> &'static str {
        match self {
            TransportKind::HeaderOnly => "header-only",
            TransportKind::HeaderOrCookie => "header-or-cookie",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreKind {
    Sled,
    Memory,
    Redis(String),
}

impl StoreKind {
    fn parse(text: &str) -> Result<Self, String> {
        match text {
            "sled" => Ok(StoreKind::Sled),
            "memory" => Ok(StoreKind::Memory),
            url if ["redis://", "rediss://", "redis+cluster://"]
                .iter()
                .any(|scheme| url.starts_with(scheme)) =>
            {
                Ok(StoreKind::Redis(url.to_string()))
            }
            _ => Err("must be `sled`, `memory`, a redis:// or a redis+cluster:// URL".into()),
        }
    }
}

/// A Redis key prefix: the session keys' cluster hash tags follow it, so it has no `{`.
fn redis_prefix(text: &str) -> Result<String, String> {
    if text.contains('{') {
        return Err("must not contain `{` (keys put their cluster hash tag after it)".into());
    }
    Ok(text.to_string())
}

fn positive_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text).map_err(|error| error.to_string())?;
    if duration.is_zero() {
        return Err("must be longer than zero".into());
    }
    Ok(duration)
}

/// An exact origin: scheme, host and optional port, nothing else. A wildcard would let any site
/// read the session header.
fn origin(text: &str) -> Result<HeaderValue, String> {
    let rest = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"))
        .ok_or("must start with http:// or https://")?;
    let valid_host = !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if !valid_host {
        return Err("must be an origin such as https://app.example.com:8443, with no path".into());
    }
    HeaderValue::from_str(text).map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_readme() {
        let config = Config::parse_from(["server"]);
        assert_eq!(config.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(config.data_dir, PathBuf::from("./data"));
        assert_eq!(config.store, StoreKind::Sled);
        assert_eq!(config.idle_timeout, Duration::from_secs(14 * 86_400));
        assert_eq!(config.absolute_timeout, Duration::from_secs(30 * 86_400));
        assert!(config.cors_origins.is_empty());
        assert!(config.static_dir.is_none());
        assert_eq!(config.anonymous_idle_timeout, Duration::from_secs(86_400));
        assert_eq!(config.rotation_grace, Duration::from_secs(30));
        assert_eq!(config.reauth_after, Duration::from_secs(600));
        assert_eq!(config.transport, TransportKind::HeaderOnly);
        let cookie = Config::parse_from(["server", "--transport", "header-or-cookie"]);
        assert_eq!(cookie.transport, TransportKind::HeaderOrCookie);
        assert!(Config::try_parse_from(["server", "--transport", "cookie"]).is_err());
        assert_eq!(config.new_sessions_per_minute, 60);
        assert_eq!(config.new_sessions_burst, 120);
        assert_eq!(config.client_ip_header, None);
        assert_eq!(config.max_sessions_per_user, 100);
        assert_eq!(config.header_timeout, Duration::from_secs(10));
        assert!(config.frame_ancestors.is_empty());
        assert_eq!(config.session_lease_wait, Duration::from_secs(6));
        assert_eq!(config.session_lease_deadline, Duration::from_secs(5));
        assert!(!config.no_session_leases);
        assert_eq!(config.metrics_addr, None);
    }

    #[test]
    fn a_cluster_url_is_a_redis_store() {
        let url = "redis+cluster://127.0.0.1:7000,127.0.0.1:7001";
        let config = Config::parse_from(["server", "--store", url, "--no-session-leases"]);
        assert_eq!(config.store, StoreKind::Redis(url.into()));
        assert!(config.no_session_leases);
    }

    #[test]
    fn flags_parse() {
        let config = Config::parse_from([
            "server",
            "--store",
            "redis://127.0.0.1:6379/2",
            "--idle-timeout",
            "2s",
            "--absolute-timeout",
            "30m",
            "--cors-origin",
            "http://localhost:8080",
            "--cors-origin",
            "https://app.example.com",
        ]);
        assert_eq!(
            config.store,
            StoreKind::Redis("redis://127.0.0.1:6379/2".into())
        );
        assert_eq!(config.idle_timeout, Duration::from_secs(2));
        assert_eq!(config.absolute_timeout, Duration::from_secs(1800));
        assert_eq!(config.cors_origins.len(), 2);
    }

    #[test]
    fn bad_values_are_refused() {
        for args in [
            ["server", "--cors-origin", "*"],
            ["server", "--cors-origin", "http://a.example/path"],
            ["server", "--cors-origin", "a.example"],
            ["server", "--idle-timeout", "0s"],
            ["server", "--idle-timeout", "soon"],
            ["server", "--store", "floppy"],
            ["server", "--store", "http://redis.example"],
            ["server", "--trusted-hops", "0"],
            ["server", "--max-sessions-per-user", "0"],
            ["server", "--frame-ancestor", "*"],
            ["server", "--client-ip-header", "bad header"],
            ["server", "--redis-prefix", "app{1}:"],
            ["server", "--session-lease-wait", "0s"],
        ] {
            assert!(
                Config::try_parse_from(args).is_err(),
                "{args:?} was accepted"
            );
        }
    }
}
